/* test_shutdown.c — how cancel and yank stop a tcp channel: a coroutine blocked
 * in a read (or a write the peer never drains) is released by
 * vmig_channel_shutdown() called from the loop or from another coroutine,
 * the channel then closes normally; a waiting accept or connect is cancelled
 * by co_cancel() and returns -ECANCELED. */
#include "chan_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* A test on a connected tcp pair: c connected, s accepted; both are closed
 * after it returns. */
typedef void (*pair_test_fn)(vmig_channel_t *c, vmig_channel_t *s);

static int pair_body(void *arg)
{
    pair_test_fn fn = *(pair_test_fn *)arg;
    vmig_channel_t *c, *s;
    chan_tcp_pair(&c, &s);
    fn(c, s);
    vmig_channel_close(s);
    vmig_channel_close(c);
    return 0;
}

/* Run fn on a pair made on a fresh loop. */
static void run_on_pair(pair_test_fn fn)
{
    assert_int_equal(vt_run(pair_body, &fn), 0);
}

/* Shutdown from a timer callback, on the loop's own stack. */
static void read_from_loop(vmig_channel_t *c, vmig_channel_t *s)
{
    assert_true(chan_read_until_shutdown(s, SHUT_RDWR) <= 0);

    /* Later calls fail fast or say end of stream; the peer sees the end too. */
    char byte;
    assert_true(vmig_channel_read(s, &byte, 1) <= 0);
    assert_true(vmig_channel_write(s, "x", 1) < 0);
    assert_int_equal(vmig_channel_read(c, &byte, 1), 0);
}

static void test_shutdown_read_from_loop(void **state)
{
    run_on_pair(read_from_loop);
}

/* Shutdown from another coroutine (what yank does) releases a reader and a
 * writer blocked on the same channel at once: the peer never writes, and
 * never reads the 64 MiB, so neither call can finish by itself. */
static void from_coroutine(vmig_channel_t *c, vmig_channel_t *s)
{
    uv_loop_t *loop = vt_loop();
    chan_blocked_t rd = {.ch = c};
    chan_blocked_t wr = {.ch = c, .write = true, .big = 64u * 1024 * 1024};
    co_t *rc = co_create(loop, chan_blocked_body, &rd);
    co_t *wc = co_create(loop, chan_blocked_body, &wr);
    co_enter(rc);
    co_enter(wc);
    assert_int_equal(co_sleep(50), 0);
    assert_false(rd.returned);
    assert_false(wr.returned);

    assert_int_equal(vmig_channel_shutdown(c, SHUT_RDWR), 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_int_equal(co_join(wc, NULL), 0);
    assert_true(rd.returned);
    assert_true(rd.result <= 0);
    assert_true(wr.returned);
    assert_int_equal(wr.result, -EPIPE);
    /* The message names the peer. */
    assert_non_null(strstr(c->err.msg, "127.0.0.1"));
    assert_true(c->bytes_written == 0);
}

static void test_shutdown_from_coroutine(void **state)
{
    run_on_pair(from_coroutine);
}

/* A coroutine waiting for a connection returns -ECANCELED when cancelled;
 * the listener still works and closes. */
static int accept_cancel_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    chan_accept_t acc;
    co_t *ac = chan_accept_start(l, &acc);
    assert_int_equal(co_sleep(20), 0);
    assert_false(co_finished(ac));
    assert_int_equal(co_cancel(ac), 0); /* 0: a wait was cancelled now */
    assert_int_equal(co_join(ac, NULL), 0);
    assert_int_equal(acc.result, -ECANCELED);
    assert_null(acc.ch);
    assert_int_equal(acc.err.code, -ECANCELED);
    assert_non_null(strstr(acc.err.msg, "cancelled"));

    /* The listener is intact: a new accept gets the next connection. */
    chan_accept_t acc2;
    co_t *ac2 = chan_accept_start(l, &acc2);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_open(loop, vmig_listener_uri(l), VMIG_CHANNEL_OUTGOING, &c, &err), 0);
    vmig_channel_close(chan_accept_join(ac2, &acc2));
    vmig_channel_close(c);
    vmig_listener_close(l);
    return 0;
}

static void test_shutdown_accept_cancel(void **state)
{
    assert_int_equal(vt_run(accept_cancel_body, NULL), 0);
}

/* A connect that cannot complete (the listener's queue is full and it never
 * accepts) returns -ECANCELED when cancelled, and leaves nothing open. */
typedef struct connect_arg {
    char uri[64];         /* where to connect */
    vmig_channel_t *ch;   /* the channel, if it connected */
    vmig_error_t err;     /* the connect's error */
    int result;           /* vmig_channel_open()'s result */
} connect_arg_t;

static int connect_body(void *arg)
{
    connect_arg_t *ca = arg;
    ca->result = vmig_channel_open(vt_loop(), ca->uri, VMIG_CHANNEL_OUTGOING, &ca->ch, &ca->err);
    return 0;
}

static int connect_cancel_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    /* A plain socket with the smallest backlog, never accepted from. */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    socklen_t salen = sizeof(sa);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);

    /* Connect until one hangs: the first fill the queue. */
    enum { MAX = 16 };
    connect_arg_t ca[MAX];
    memset(ca, 0, sizeof(ca));
    int hung = -1;
    for (int i = 0; i < MAX && hung < 0; i++) {
        snprintf(ca[i].uri, sizeof(ca[i].uri), "tcp:127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
        co_t *co = co_create(loop, connect_body, &ca[i]);
        co_enter(co);
        assert_int_equal(co_sleep(100), 0);
        if (co_finished(co)) {
            assert_int_equal(co_join(co, NULL), 0);
            assert_int_equal(ca[i].result, 0);
            continue;
        }
        hung = i;
        assert_int_equal(co_cancel(co), 0);
        assert_int_equal(co_join(co, NULL), 0);
        assert_int_equal(ca[i].result, -ECANCELED);
        assert_null(ca[i].ch);
        assert_non_null(strstr(ca[i].err.msg, "cancelled"));
        assert_non_null(strstr(ca[i].err.msg, "127.0.0.1"));
    }
    if (hung < 0)
        print_message("no connect stayed pending: the cancel was not exercised\n");
    for (int i = 0; i < MAX; i++)
        if (ca[i].ch)
            vmig_channel_close(ca[i].ch);
    close(lfd);
    return hung < 0 ? 1 : 0;
}

static void test_shutdown_connect_cancel(void **state)
{
    int r = vt_run(connect_cancel_body, NULL);
    if (r == 1)
        skip();
    assert_int_equal(r, 0);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shutdown_read_from_loop),
        cmocka_unit_test(test_shutdown_from_coroutine),
        cmocka_unit_test(test_shutdown_accept_cancel),
        cmocka_unit_test(test_shutdown_connect_cancel),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
