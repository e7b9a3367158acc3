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
    uv_loop_t *loop = chan_loop();
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
    assert_int_equal(chan_run(socketpair_body, NULL), 0);
}

static int pipe_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
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
    assert_int_equal(chan_run(pipe_body, NULL), 0);
}

/* A reader blocked on a pipe whose writer never writes is released by
 * shutdown, called here from a timer on the loop's own stack. */
typedef struct blocked {
    vmig_channel_t *ch;  /* the pipe's read end */
    ssize_t result;      /* what the blocked read returned */
    bool returned;       /* the read came back */
} blocked_t;

static int blocked_reader(void *arg)
{
    blocked_t *b = arg;
    char buf[64];
    b->result = vmig_channel_read(b->ch, buf, sizeof(buf));
    b->returned = true;
    return 0;
}

static void shut_timer_cb(uv_timer_t *t)
{
    blocked_t *b = t->data;
    assert_false(b->returned);
    assert_int_equal(vmig_channel_shutdown(b->ch, SHUT_RD), 0);
}

static int pipe_shutdown_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    vmig_error_t err = {0};
    blocked_t b = {0};
    assert_int_equal(vmig_channel_from_fd(loop, p[0], NULL, &b.ch, &err), 0);
    co_t *rc = co_create(loop, blocked_reader, &b);
    co_enter(rc);
    assert_false(b.returned);

    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &b;
    uv_timer_start(&t, shut_timer_cb, 50, 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_true(b.returned);
    assert_int_equal(b.result, 0); /* the end of the stream, not an error */
    char c;
    assert_int_equal(vmig_channel_read(b.ch, &c, 1), 0);
    co_close((uv_handle_t *)&t);
    vmig_channel_close(b.ch);
    close(p[1]);
    return 0;
}

static void test_fd_pipe_shutdown(void **state)
{
    assert_int_equal(chan_run(pipe_shutdown_body, NULL), 0);
}

/* fd:N of a regular file is a file channel reading from the current offset. */
static int file_fd_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = chan_loop();
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
    char dir[256];
    chan_tmpdir(dir, sizeof(dir));
    assert_int_equal(chan_run(file_fd_body, dir), 0);
    chan_rmtree(dir);
}

/* Numbers that are not open descriptors, or not numbers, are clear errors. */
static int bad_fd_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
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
    assert_int_equal(chan_run(bad_fd_body, NULL), 0);
}

/* fd:N of a connected TCP socket: shutdown(2) works on it like on tcp:. */
typedef struct accept_arg {
    vmig_listener_t *l;  /* where to accept */
    vmig_channel_t *ch;  /* the accepted channel */
    int result;          /* vmig_listener_accept()'s result */
} accept_arg_t;

static int accept_body(void *arg)
{
    accept_arg_t *a = arg;
    vmig_error_t err = {0};
    a->result = vmig_listener_accept(a->l, &a->ch, &err);
    return 0;
}

static int tcp_fd_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    int port = (int)strtol(vmig_listener_uri(l) + strlen("tcp:127.0.0.1:"), NULL, 10);
    accept_arg_t acc = {.l = l};
    co_t *ac = co_create(loop, accept_body, &acc);
    co_enter(ac);
    /* The embedder's own connected socket (a loopback connect completes at once). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_from_fd(loop, fd, "fd:tcp", &c, &err), 0);
    assert_int_equal(co_join(ac, NULL), 0);
    assert_int_equal(acc.result, 0);
    vmig_listener_close(l);

    chan_exchange(c, acc.ch, 256 * 1024);
    vmig_channel_close(c);
    vmig_channel_close(acc.ch);
    return 0;
}

static void test_fd_tcp_socket(void **state)
{
    assert_int_equal(chan_run(tcp_fd_body, NULL), 0);
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
