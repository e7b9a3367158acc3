/* test_shutdown.c — how cancel and yank stop a tcp channel: a coroutine blocked
 * in a read (or a write the peer never drains) is released by
 * vmig_channel_shutdown() called from the loop or from another coroutine,
 * the channel then closes normally; a waiting accept or connect is cancelled
 * by co_cancel() and returns -ECANCELED. */
#include "chan_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

/* A connected tcp pair made with a listener. */
typedef struct pair {
    vmig_channel_t *c;  /* the connecting side */
    vmig_channel_t *s;  /* the accepted side */
} pair_t;

typedef struct accept_arg {
    vmig_listener_t *l;  /* where to accept */
    vmig_channel_t *ch;  /* the accepted channel */
    vmig_error_t err;    /* the accept's error */
    int result;          /* vmig_listener_accept()'s result */
} accept_arg_t;

static int accept_body(void *arg)
{
    accept_arg_t *a = arg;
    a->result = vmig_listener_accept(a->l, &a->ch, &a->err);
    return 0;
}

static void pair_open(pair_t *p)
{
    uv_loop_t *loop = chan_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    accept_arg_t acc = {.l = l};
    co_t *ac = co_create(loop, accept_body, &acc);
    co_enter(ac);
    assert_int_equal(vmig_channel_open(loop, vmig_listener_uri(l), VMIG_CHANNEL_OUTGOING, &p->c, &err), 0);
    assert_int_equal(co_join(ac, NULL), 0);
    assert_int_equal(acc.result, 0);
    p->s = acc.ch;
    vmig_listener_close(l);
}

/* A coroutine blocked in one read or in writing far more than fits. */
typedef struct blocked {
    vmig_channel_t *ch;  /* the channel it uses */
    bool write;          /* write `big` bytes instead of reading */
    size_t big;          /* bytes to write */
    ssize_t result;      /* what the call returned */
    bool returned;       /* it came back */
} blocked_t;

static int blocked_body(void *arg)
{
    blocked_t *b = arg;
    if (b->write) {
        uint8_t *buf = calloc(1, b->big);
        assert_non_null(buf);
        b->result = vmig_channel_write(b->ch, buf, b->big);
        free(buf);
    } else {
        char buf[128];
        b->result = vmig_channel_read(b->ch, buf, sizeof(buf));
    }
    b->returned = true;
    return 0;
}

static void shut_timer_cb(uv_timer_t *t)
{
    blocked_t *b = t->data;
    assert_false(b->returned); /* still blocked after 50 ms */
    assert_int_equal(vmig_channel_shutdown(b->ch, SHUT_RDWR), 0);
}

/* Shutdown from a timer callback, on the loop's own stack. */
static int read_from_loop_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
    pair_t p;
    pair_open(&p);
    blocked_t b = {.ch = p.s};
    co_t *rc = co_create(loop, blocked_body, &b);
    co_enter(rc);
    assert_false(b.returned);
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &b;
    uv_timer_start(&t, shut_timer_cb, 50, 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_true(b.returned);
    assert_true(b.result <= 0);
    co_close((uv_handle_t *)&t);

    /* Later calls fail fast or say end of stream; the peer sees the end too. */
    char c;
    assert_true(vmig_channel_read(p.s, &c, 1) <= 0);
    assert_true(vmig_channel_write(p.s, "x", 1) < 0);
    assert_int_equal(vmig_channel_read(p.c, &c, 1), 0);
    vmig_channel_close(p.s);
    vmig_channel_close(p.c);
    return 0;
}

static void test_shutdown_read_from_loop(void **state)
{
    assert_int_equal(chan_run(read_from_loop_body, NULL), 0);
}

/* Shutdown from another coroutine (what yank does) releases a reader and a
 * writer blocked on the same channel at once: the peer never writes, and
 * never reads the 64 MiB, so neither call can finish by itself. */
static int from_coroutine_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
    pair_t p;
    pair_open(&p);
    blocked_t rd = {.ch = p.c};
    blocked_t wr = {.ch = p.c, .write = true, .big = 64u * 1024 * 1024};
    co_t *rc = co_create(loop, blocked_body, &rd);
    co_t *wc = co_create(loop, blocked_body, &wr);
    co_enter(rc);
    co_enter(wc);
    assert_int_equal(co_sleep(50), 0);
    assert_false(rd.returned);
    assert_false(wr.returned);

    assert_int_equal(vmig_channel_shutdown(p.c, SHUT_RDWR), 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_int_equal(co_join(wc, NULL), 0);
    assert_true(rd.returned);
    assert_true(rd.result <= 0);
    assert_true(wr.returned);
    assert_int_equal(wr.result, -EPIPE);
    /* The message names the peer. */
    assert_non_null(strstr(p.c->err.msg, "127.0.0.1"));
    assert_true(p.c->bytes_written == 0);

    vmig_channel_close(p.s);
    vmig_channel_close(p.c);
    return 0;
}

static void test_shutdown_from_coroutine(void **state)
{
    assert_int_equal(chan_run(from_coroutine_body, NULL), 0);
}

/* A coroutine waiting for a connection returns -ECANCELED when cancelled;
 * the listener still works and closes. */
static int accept_cancel_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    accept_arg_t acc = {.l = l};
    co_t *ac = co_create(loop, accept_body, &acc);
    co_enter(ac);
    assert_int_equal(co_sleep(20), 0);
    assert_false(co_finished(ac));
    assert_int_equal(co_cancel(ac), 0); /* 0: a wait was cancelled now */
    assert_int_equal(co_join(ac, NULL), 0);
    assert_int_equal(acc.result, -ECANCELED);
    assert_null(acc.ch);
    assert_int_equal(acc.err.code, -ECANCELED);
    assert_non_null(strstr(acc.err.msg, "cancelled"));

    /* The listener is intact: a new accept gets the next connection. */
    accept_arg_t acc2 = {.l = l};
    co_t *ac2 = co_create(loop, accept_body, &acc2);
    co_enter(ac2);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_open(loop, vmig_listener_uri(l), VMIG_CHANNEL_OUTGOING, &c, &err), 0);
    assert_int_equal(co_join(ac2, NULL), 0);
    assert_int_equal(acc2.result, 0);
    vmig_channel_close(acc2.ch);
    vmig_channel_close(c);
    vmig_listener_close(l);
    return 0;
}

static void test_shutdown_accept_cancel(void **state)
{
    assert_int_equal(chan_run(accept_cancel_body, NULL), 0);
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
    ca->result = vmig_channel_open(chan_loop(), ca->uri, VMIG_CHANNEL_OUTGOING, &ca->ch, &ca->err);
    return 0;
}

static int connect_cancel_body(void *arg)
{
    uv_loop_t *loop = chan_loop();
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
    int r = chan_run(connect_cancel_body, NULL);
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
