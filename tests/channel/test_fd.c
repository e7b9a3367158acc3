/* test_fd.c — channels over inherited descriptors: a socketpair (both ways,
 * shutdown gives the peer EOF), a pipe (one way, EOF at close, a shutdown
 * releases a blocked reader), a TCP socket, a regular file through fd:N, and
 * bad numbers. */
#include "chan_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

static int socketpair_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vmig_error_t err = {0};
    vmig_channel_t *a, *b;
    assert_int_equal(vmig_channel_from_fd(loop, sv[0], NULL, &a, &err), 0);
    char uri[32];
    snprintf(uri, sizeof(uri), "fd:%d", sv[1]);
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_INCOMING, &b, &err), 0);
    assert_string_equal(vmig_channel_kind(a), "fd");
    assert_string_equal(vmig_channel_kind(b), "fd");
    char name[32];
    snprintf(name, sizeof(name), "fd:%d", sv[0]);
    assert_string_equal(a->peer, name);
    assert_string_equal(b->peer, uri);

    chan_exchange(a, b, 2u * 1024 * 1024);
    vmig_channel_close(a);
    vmig_channel_close(b);
    /* The channels owned the descriptors: both are closed now. */
    assert_int_equal(fcntl(sv[0], F_GETFD), -1);
    assert_int_equal(fcntl(sv[1], F_GETFD), -1);
    return 0;
}

static void test_fd_socketpair(void **state)
{
    assert_int_equal(vt_run(socketpair_body, NULL), 0);
}

static int pipe_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    vmig_error_t err = {0};
    vmig_channel_t *r, *w;
    assert_int_equal(vmig_channel_from_fd(loop, p[0], "pipe-in", &r, &err), 0);
    assert_int_equal(vmig_channel_from_fd(loop, p[1], "pipe-out", &w, &err), 0);
    assert_string_equal(r->peer, "pipe-in");

    size_t len = 1024 * 1024 + 17;
    chan_writer_t wr = {.ch = w, .seed = 7, .total = len};
    chan_reader_t rd = {.ch = r, .seed = 7};
    co_t *wc = co_create(loop, chan_writer_body, &wr);
    co_t *rc = co_create(loop, chan_reader_body, &rd);
    co_enter(rc);
    co_enter(wc);
    assert_int_equal(co_join(wc, NULL), 0);
    /* A pipe's end reaches the reader when the writer closes. */
    vmig_channel_close(w);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_int_equal(rd.result, 0);
    assert_int_equal(rd.got, len);
    assert_true(rd.bad_at == SIZE_MAX);
    assert_true(rd.sum == wr.sum);
    vmig_channel_close(r);
    return 0;
}

static void test_fd_pipe(void **state)
{
    assert_int_equal(vt_run(pipe_body, NULL), 0);
}

/* A reader blocked on a pipe whose writer never writes is released by
 * shutdown, called here from a timer on the loop's own stack. */
static int pipe_shutdown_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_from_fd(loop, p[0], NULL, &ch, &err), 0);
    /* The end of the stream, not an error. */
    assert_int_equal(chan_read_until_shutdown(ch, SHUT_RD), 0);
    char c;
    assert_int_equal(vmig_channel_read(ch, &c, 1), 0);
    vmig_channel_close(ch);
    close(p[1]);
    return 0;
}

static void test_fd_pipe_shutdown(void **state)
{
    assert_int_equal(vt_run(pipe_shutdown_body, NULL), 0);
}

/* fd:N of a regular file is a file channel reading from the current offset. */
static int file_fd_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char path[300];
    snprintf(path, sizeof(path), "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "skip:payload", 12), 12);
    assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
    char uri[32];
    snprintf(uri, sizeof(uri), "fd:%d", fd);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_INCOMING, &ch, &err), 0);
    assert_string_equal(vmig_channel_kind(ch), "file");
    char buf[32] = {0};
    assert_int_equal(chan_read_full(ch, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "payload");
    vmig_channel_close(ch);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    return 0;
}

static void test_fd_regular_file(void **state)
{
    chan_run_in_tmpdir(file_fd_body);
}

/* Numbers that are not open descriptors, or not numbers, are clear errors. */
static int bad_fd_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_channel_t *ch = (vmig_channel_t *)&err; /* must be reset to NULL */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(fd); /* a number certainly not open now */
    char uri[32];
    snprintf(uri, sizeof(uri), "fd:%d", fd);
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_INCOMING, &ch, &err), -EBADF);
    assert_null(ch);
    assert_non_null(strstr(err.msg, uri));
    assert_non_null(strstr(err.msg, "Bad file descriptor"));

    vmig_error_clear(&err);
    assert_int_equal(vmig_channel_open(loop, "fd:mon0", VMIG_CHANNEL_INCOMING, &ch, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "fd:mon0"));
    vmig_error_clear(&err);
    assert_int_equal(vmig_channel_open(loop, "fd:99999999999", VMIG_CHANNEL_INCOMING, &ch, &err), -EINVAL);

    /* /dev/null is a character device: neither stream nor file. */
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    vmig_error_clear(&err);
    assert_int_equal(vmig_channel_from_fd(loop, fd, NULL, &ch, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "neither a socket"));
    /* On failure the descriptor is still the caller's. */
    assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
    close(fd);
    return 0;
}

static void test_fd_bad(void **state)
{
    assert_int_equal(vt_run(bad_fd_body, NULL), 0);
}

/* fd:N of a connected TCP socket: shutdown(2) works on it like on tcp:. */
static int tcp_fd_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    int port = (int)strtol(vmig_listener_uri(l) + strlen("tcp:127.0.0.1:"), NULL, 10);
    chan_accept_t acc;
    co_t *ac = chan_accept_start(l, &acc);
    /* The embedder's own connected socket (a loopback connect completes at once). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_from_fd(loop, fd, "fd:tcp", &c, &err), 0);
    vmig_channel_t *s = chan_accept_join(ac, &acc);
    vmig_listener_close(l);

    chan_exchange(c, s, 256 * 1024);
    vmig_channel_close(c);
    vmig_channel_close(s);
    return 0;
}

static void test_fd_tcp_socket(void **state)
{
    assert_int_equal(vt_run(tcp_fd_body, NULL), 0);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_socketpair),
        cmocka_unit_test(test_fd_pipe),
        cmocka_unit_test(test_fd_pipe_shutdown),
        cmocka_unit_test(test_fd_regular_file),
        cmocka_unit_test(test_fd_bad),
        cmocka_unit_test(test_fd_tcp_socket),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
