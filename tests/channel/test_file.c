/* test_file.c — file:PATH channels: the source creates (or truncates) the file
 * with mode 0644 less the umask and writes exactly the bytes given, across
 * the 1 MiB pool chunks; the destination reads them back in odd sizes. */
#include "chan_test.h"

#include <fcntl.h>
#include <sys/stat.h>

#define LEN (5u * 1024 * 1024 + 333)

typedef struct file_case {
    char dir[256];   /* the test's directory */
    char uri[310];   /* file:DIR/NAME */
    char path[300];  /* DIR/NAME */
} file_case_t;

/* A fresh directory, and the path and URI of file name in it. */
static void file_case_init(file_case_t *fc, const char *name)
{
    chan_tmpdir(fc->dir, sizeof(fc->dir));
    snprintf(fc->path, sizeof(fc->path), "%s/%s", fc->dir, name);
    snprintf(fc->uri, sizeof(fc->uri), "file:%s", fc->path);
}

static int write_body(void *arg)
{
    file_case_t *fc = arg;
    uv_loop_t *loop = vt_loop();
    /* Something longer to truncate. */
    int fd = open(fc->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)LEN * 2), 0);
    close(fd);
    assert_int_equal(unlink(fc->path), 0); /* a fresh file gets the mode below */

    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, fc->uri, VMIG_CHANNEL_OUTGOING, &ch, &err), 0);
    assert_string_equal(vmig_channel_kind(ch), "file");
    assert_string_equal(ch->peer, fc->uri);

    /* One huge writev of many pieces (crosses chunks), then small writes. */
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    chan_pat_fill(42, 0, data, LEN);
    size_t big = 4u * 1024 * 1024 + 5;
    struct iovec iov[64];
    size_t off = 0;
    for (int i = 0; i < 64; i++) {
        size_t n = i == 63 ? big - off : (big / 64) + (size_t)(i % 3);
        iov[i].iov_base = data + off;
        iov[i].iov_len = n;
        off += n;
    }
    assert_int_equal(off, big);
    assert_int_equal(vmig_channel_writev(ch, iov, 64), 0);
    while (off < LEN) {
        size_t n = LEN - off < 4096 ? LEN - off : 4096;
        assert_int_equal(vmig_channel_write(ch, data + off, n), 0);
        off += n;
    }
    /* A zero-length write changes nothing. */
    assert_int_equal(vmig_channel_writev(ch, NULL, 0), 0);
    assert_int_equal(ch->bytes_written, LEN);
    /* The source's file is write-only. */
    char c;
    assert_int_equal(vmig_channel_read(ch, &c, 1), -EBADF);
    assert_non_null(strstr(ch->err.msg, fc->uri));
    vmig_channel_close(ch);

    struct stat st;
    assert_int_equal(stat(fc->path, &st), 0);
    assert_int_equal(st.st_size, LEN);
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0644 & ~um);

    fd = open(fc->path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    uint8_t *back = malloc(LEN);
    assert_non_null(back);
    size_t got = 0;
    while (got < LEN) {
        ssize_t n = read(fd, back + got, LEN - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fd);
    assert_memory_equal(back, data, LEN);
    free(back);
    free(data);
    return 0;
}

static int read_body(void *arg)
{
    file_case_t *fc = arg;
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, fc->uri, VMIG_CHANNEL_INCOMING, &ch, &err), 0);
    uint8_t buf[70001];
    size_t got = 0, step = 0;
    uint64_t sum = VT_FNV_INIT;
    for (;;) {
        size_t want = 1 + (step++ * 4099) % sizeof(buf);
        ssize_t n = vmig_channel_read(ch, buf, want);
        assert_true(n >= 0);
        if (n == 0)
            break;
        assert_true((size_t)n <= want);
        assert_int_equal(chan_pat_check(42, got, buf, (size_t)n), n);
        sum = vt_fnv(sum, buf, (size_t)n);
        got += (size_t)n;
    }
    assert_int_equal(got, LEN);
    assert_true(sum == chan_pat_sum(42, LEN));
    assert_int_equal(ch->bytes_read, LEN);
    /* The end stays the end. */
    assert_int_equal(vmig_channel_read(ch, buf, 10), 0);
    /* The destination's file is read-only. */
    assert_int_equal(vmig_channel_write(ch, "x", 1), -EBADF);
    vmig_channel_close(ch);

    /* Shutting the read side ends reading at once. */
    assert_int_equal(vmig_channel_open(loop, fc->uri, VMIG_CHANNEL_INCOMING, &ch, &err), 0);
    assert_int_equal(vmig_channel_read(ch, buf, 3), 3);
    assert_int_equal(vmig_channel_shutdown(ch, SHUT_RD), 0);
    assert_int_equal(vmig_channel_read(ch, buf, 3), 0);
    vmig_channel_close(ch);
    return 0;
}

static void test_file_roundtrip(void **state)
{
    file_case_t fc;
    file_case_init(&fc, "f");
    assert_int_equal(vt_run(write_body, &fc), 0);
    assert_int_equal(vt_run(read_body, &fc), 0);
    chan_rmtree(fc.dir);
}

/* Opening an existing file OUTGOING truncates it. */
static int truncate_body(void *arg)
{
    file_case_t *fc = arg;
    int fd = open(fc->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(vt_loop(), fc->uri, VMIG_CHANNEL_OUTGOING, &ch, &err), 0);
    assert_int_equal(vmig_channel_write(ch, "abc", 3), 0);
    vmig_channel_close(ch);
    struct stat st;
    assert_int_equal(stat(fc->path, &st), 0);
    assert_int_equal(st.st_size, 3);
    return 0;
}

static void test_file_truncates(void **state)
{
    file_case_t fc;
    file_case_init(&fc, "t");
    assert_int_equal(vt_run(truncate_body, &fc), 0);
    chan_rmtree(fc.dir);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_roundtrip),
        cmocka_unit_test(test_file_truncates),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
