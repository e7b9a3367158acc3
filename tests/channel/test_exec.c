/* test_exec.c — exec:CMD channels: the source feeds `cat > FILE` and the file
 * holds exactly the bytes, the destination reads `cat FILE`, and a command
 * that fails is an error that names it and its exit status. */
#include "chan_test.h"

#include <fcntl.h>
#include <sys/stat.h>

#define LEN (3u * 1024 * 1024 + 11)

/* The contents of path (malloc'd), its size in *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

static int outgoing_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char uri[512], path[300];
    snprintf(path, sizeof(path), "%s/out.bin", dir);
    snprintf(uri, sizeof(uri), "exec:cat > '%s'", path);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_OUTGOING, &ch, &err), 0);
    assert_string_equal(vmig_channel_kind(ch), "exec");
    assert_string_equal(ch->peer, uri);

    chan_writer_t w = {.ch = ch, .seed = 99, .total = LEN};
    assert_int_equal(chan_writer_body(&w), 0);
    assert_int_equal(ch->bytes_written, LEN);
    /* Closing ends cat's input and waits for it: the file is complete now. */
    assert_int_equal(vmig_channel_close_status(ch, &err), 0);
    assert_int_equal(err.code, 0);

    size_t len;
    uint8_t *data = slurp(path, &len);
    assert_int_equal(len, LEN);
    assert_int_equal(chan_pat_check(99, 0, data, len), len);
    free(data);
    return 0;
}

static void test_exec_outgoing(void **state)
{
    chan_run_in_tmpdir(outgoing_body);
}

static int incoming_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char uri[512], path[300];
    snprintf(path, sizeof(path), "%s/in.bin", dir);
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    chan_pat_fill(5, 0, data, LEN);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, LEN), LEN);
    close(fd);
    free(data);

    snprintf(uri, sizeof(uri), "exec:cat '%s'", path);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_INCOMING, &ch, &err), 0);
    chan_reader_t rd = {.ch = ch, .seed = 5};
    assert_int_equal(chan_reader_body(&rd), 0);
    assert_int_equal(rd.got, LEN);
    assert_true(rd.bad_at == SIZE_MAX);
    assert_true(rd.sum == chan_pat_sum(5, LEN));
    /* The end came after cat exited with 0. */
    char c;
    assert_int_equal(vmig_channel_read(ch, &c, 1), 0);
    /* The destination's channel takes no writes. */
    assert_int_equal(vmig_channel_write(ch, "x", 1), -EBADF);
    assert_non_null(strstr(ch->err.msg, "opened for reading"));
    vmig_channel_close(ch);
    return 0;
}

static void test_exec_incoming(void **state)
{
    chan_run_in_tmpdir(incoming_body);
}

/* The destination's command fails: the read at its end says so. */
static int incoming_fail_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char uri[512];
    snprintf(uri, sizeof(uri), "exec:printf partial; cat '%s/missing' 2>/dev/null", dir);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_INCOMING, &ch, &err), 0);
    char buf[64] = {0};
    assert_int_equal(chan_read_full(ch, buf, 7), 7);
    assert_string_equal(buf, "partial");
    ssize_t n = vmig_channel_read(ch, buf, sizeof(buf));
    assert_int_equal(n, -EIO);
    assert_non_null(strstr(ch->err.msg, "exited with status 1"));
    assert_non_null(strstr(ch->err.msg, "exec:printf partial"));
    /* The error sticks. */
    assert_int_equal(vmig_channel_read(ch, buf, sizeof(buf)), -EIO);
    vmig_channel_close(ch);
    return 0;
}

static void test_exec_incoming_fails(void **state)
{
    chan_run_in_tmpdir(incoming_fail_body);
}

/* The source's command fails: close_status reports its exit status. */
static int outgoing_fail_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, "exec:cat >/dev/null; exit 3", VMIG_CHANNEL_OUTGOING, &ch,
                                       &err), 0);
    assert_int_equal(vmig_channel_write(ch, "some bytes", 10), 0);
    assert_int_equal(vmig_channel_close_status(ch, &err), -EIO);
    assert_int_equal(err.code, -EIO);
    assert_string_equal(err.msg, "exec:cat >/dev/null; exit 3 exited with status 3");

    /* Killed by a signal is reported as such. */
    vmig_error_clear(&err);
    assert_int_equal(vmig_channel_open(loop, "exec:kill -9 $$", VMIG_CHANNEL_OUTGOING, &ch, &err), 0);
    assert_int_equal(vmig_channel_close_status(ch, &err), -EIO);
    assert_non_null(strstr(err.msg, "killed by signal 9"));
    return 0;
}

static void test_exec_outgoing_fails(void **state)
{
    assert_int_equal(vt_run(outgoing_fail_body, NULL), 0);
}

/* A command that never ends by itself: closing still returns (cancelling
 * the close kills it), and a shutdown releases a reader blocked on it. */
static int hang_closer(void *arg)
{
    chan_blocked_t *h = arg;
    vmig_error_t err = {0};
    int r = vmig_channel_close_status(h->ch, &err);
    assert_int_equal(r, -EIO);
    assert_non_null(strstr(err.msg, "killed by signal 9"));
    return 0;
}

static int hang_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    chan_blocked_t h = {0}; /* a read from exec:sleep ... */
    /* exec keeps the sleep in the shell's place: killing it ends it all. */
    assert_int_equal(vmig_channel_open(loop, "exec:exec sleep 60", VMIG_CHANNEL_INCOMING, &h.ch, &err), 0);
    co_t *rc = co_create(loop, chan_blocked_body, &h);
    co_enter(rc);
    assert_false(h.returned);
    assert_int_equal(co_sleep(20), 0);
    assert_int_equal(vmig_channel_shutdown(h.ch, SHUT_RDWR), 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_true(h.returned);
    assert_int_equal(h.result, 0);

    uint64_t t0 = uv_hrtime();
    co_t *cc = co_create(loop, hang_closer, &h);
    co_enter(cc); /* waits for sleep 60 */
    assert_false(co_finished(cc));
    assert_int_equal(co_sleep(20), 0);
    assert_false(co_finished(cc));
    assert_int_equal(co_cancel(cc), 0);
    assert_int_equal(co_join(cc, NULL), 0);
    assert_true((uv_hrtime() - t0) / 1000000000u < 30);
    return 0;
}

static void test_exec_close_kills_on_cancel(void **state)
{
    assert_int_equal(vt_run(hang_body, NULL), 0);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_outgoing),
        cmocka_unit_test(test_exec_incoming),
        cmocka_unit_test(test_exec_incoming_fails),
        cmocka_unit_test(test_exec_outgoing_fails),
        cmocka_unit_test(test_exec_close_kills_on_cancel),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
