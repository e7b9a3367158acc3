/* test_stream_unix.c — co_stream_* over a unix socketpair opened as two libuv
 * pipes, a coroutine on each end: ping-pong, partial reads, one reader only. */
#include "glue_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Open p on a fresh loop and run fn(arg) there; fn must return 0, and the
 * loop must end with nothing left open. */
static void run_on_pair(glue_pair_t *p, co_fn fn, void *arg)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    glue_pair_init(&loop, p, 0);
    assert_int_equal(vt_run_on(&loop, fn, arg), 0);
    vt_loop_done(&loop);
}

/* ---- ping-pong --------------------------------------------------------------- */

#define ROUNDS 500

static int pinger(void *arg)
{
    glue_pair_t *p = arg;
    char msg[64], reply[64];
    for (int i = 0; i < ROUNDS; i++) {
        int len = snprintf(msg, sizeof(msg), "ping %d", i);
        uint8_t n = (uint8_t)len;
        uv_buf_t bufs[2] = {{.base = (char *)&n, .len = 1}, {.base = msg, .len = (size_t)len}};
        int r = co_stream_writev(&p->sa, bufs, 2);
        if (r < 0)
            return r;
        uint8_t rn = 0;
        if ((r = co_stream_read_exact(&p->sa, &rn, 1, NULL)) < 0)
            return r;
        if ((r = co_stream_read_exact(&p->sa, reply, rn, NULL)) < 0)
            return r;
        len = snprintf(msg, sizeof(msg), "pong %d", i);
        if (rn != len || memcmp(reply, msg, rn) != 0)
            return -EPROTO;
    }
    return co_stream_shutdown(&p->sa);
}

static int ponger(void *arg)
{
    glue_pair_t *p = arg;
    char msg[64], reply[64];
    int rounds = 0;
    for (;;) {
        uint8_t n = 0;
        size_t got = 9;
        int r = co_stream_read_exact(&p->sb, &n, 1, &got);
        if (r == -ENODATA && got == 0)
            break;
        if (r < 0)
            return r;
        if ((r = co_stream_read_exact(&p->sb, msg, n, NULL)) < 0)
            return r;
        int want = snprintf(reply, sizeof(reply), "ping %d", rounds);
        if (n != want || memcmp(msg, reply, n) != 0)
            return -EPROTO;
        int len = snprintf(reply, sizeof(reply), "pong %d", rounds);
        uint8_t rn = (uint8_t)len;
        uv_buf_t bufs[2] = {{.base = (char *)&rn, .len = 1}, {.base = reply, .len = (size_t)len}};
        if ((r = co_stream_writev(&p->sb, bufs, 2)) < 0)
            return r;
        rounds++;
    }
    return rounds;
}

static int pingpong_main(void *arg)
{
    glue_pair_t *p = arg;
    int rpong = -1, rping = -1;
    glue_both(ponger, p, pinger, p, &rpong, &rping);
    assert_int_equal(rping, 0);
    assert_int_equal(rpong, ROUNDS);
    glue_pair_close(p);
    return 0;
}

static void test_pingpong(void **state)
{
    glue_pair_t p;
    run_on_pair(&p, pingpong_main, &p);
}

/* ---- read returns what is there; a second reader is refused ------------------ */

typedef struct some_ctx {
    glue_pair_t p;      /* the connection */
    co_event_t wrote;   /* the writer sent its first 100 bytes */
    int second_read;    /* what the second reader's read returned */
    char second_byte;   /* the byte it got */
} some_ctx_t;

static int some_writer(void *arg)
{
    some_ctx_t *c = arg;
    char buf[100];
    memset(buf, 'q', sizeof(buf));
    int r = co_stream_write(&c->p.sa, buf, sizeof(buf));
    co_event_set(&c->wrote);
    if (r == 0)
        r = co_sleep(20);
    if (r == 0)
        r = co_stream_write(&c->p.sa, "tail", 4);
    if (r == 0)
        r = co_stream_shutdown(&c->p.sa);
    return r;
}

static int second_reader(void *arg)
{
    some_ctx_t *c = arg;
    c->second_read = (int)co_stream_read(&c->p.sb, &c->second_byte, 1);
    return 0;
}

static int some_reader(void *arg)
{
    some_ctx_t *c = arg;
    char buf[4096];
    assert_int_equal(co_event_wait(&c->wrote, -1), 0);
    /* Let the 100 bytes arrive: one read returns them, not 4096. */
    assert_int_equal(co_sleep(5), 0);
    ssize_t n = co_stream_read(&c->p.sb, buf, sizeof(buf));
    assert_int_equal(n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf[i], 'q');

    /* Another coroutine waits in a read until "tail" comes: a read from us
     * meanwhile is refused, not queued. */
    c->second_read = -1;
    co_t *second = co_create(co_loop(co_self()), second_reader, c);
    assert_non_null(second);
    co_enter(second);
    assert_false(co_finished(second));
    assert_int_equal(co_stream_read(&c->p.sb, buf, sizeof(buf)), -EBUSY);
    assert_int_equal(co_join(second, NULL), 0);
    assert_int_equal(c->second_read, 1);
    assert_int_equal(c->second_byte, 't');
    assert_int_equal(co_stream_read_exact(&c->p.sb, buf, 3, NULL), 0);
    assert_memory_equal(buf, "ail", 3);
    assert_int_equal(co_stream_read(&c->p.sb, buf, sizeof(buf)), 0);
    return 0;
}

static int some_main(void *arg)
{
    some_ctx_t *c = arg;
    int rr = -1, rw = -1;
    glue_both(some_reader, c, some_writer, c, &rr, &rw);
    assert_int_equal(rw, 0);
    assert_int_equal(rr, 0);
    glue_pair_close(&c->p);
    return 0;
}

static void test_read_some_and_one_reader(void **state)
{
    some_ctx_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    co_event_init(&c->wrote);
    run_on_pair(&c->p, some_main, c);
    free(c);
}

/* ---- 8 MiB both ways at once --------------------------------------------------- */

#define DUPLEX (8u << 20)

typedef struct duplex_arg {
    co_stream_t *s;  /* our end */
    uint8_t seed;    /* pattern of what we send */
    uint8_t peer;    /* pattern of what we expect */
    int result;      /* 0 when everything matched */
} duplex_arg_t;

static int duplex_send(void *arg)
{
    duplex_arg_t *a = arg;
    unsigned char *buf = malloc(DUPLEX);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < DUPLEX; i++)
        buf[i] = (unsigned char)(a->seed + i * 31 + (i >> 12));
    int r = co_stream_write(a->s, buf, DUPLEX);
    free(buf);
    return r;
}

static int duplex_end(void *arg)
{
    duplex_arg_t *a = arg;
    co_t *sender = co_create(co_loop(co_self()), duplex_send, a);
    co_enter(sender);
    unsigned char *buf = malloc(65536);
    size_t off = 0;
    int bad = 0;
    while (off < DUPLEX) {
        ssize_t n = co_stream_read(a->s, buf, 65536);
        if (n <= 0) {
            bad++;
            break;
        }
        for (ssize_t k = 0; k < n; k++, off++)
            if (buf[k] != (unsigned char)(a->peer + off * 31 + (off >> 12)))
                bad++;
    }
    free(buf);
    int sr = -1;
    co_join(sender, &sr);
    a->result = bad ? -EPROTO : sr;
    return 0;
}

static int duplex_main(void *arg)
{
    glue_pair_t *p = arg;
    duplex_arg_t da = {&p->sa, 1, 2, -1}, db = {&p->sb, 2, 1, -1};
    glue_both(duplex_end, &da, duplex_end, &db, NULL, NULL);
    assert_int_equal(da.result, 0);
    assert_int_equal(db.result, 0);
    glue_pair_close(p);
    return 0;
}

static void test_duplex(void **state)
{
    glue_pair_t p;
    run_on_pair(&p, duplex_main, &p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pingpong),
        cmocka_unit_test(test_read_some_and_one_reader),
        cmocka_unit_test(test_duplex),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
