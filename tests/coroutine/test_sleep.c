/* test_sleep.c — timers and the loop as seen from coroutines: co_sleep
 * durations and wake order, co_pause letting the loop go round, co_close. */
#include "glue_test.h"

static int sleep_50(void *p)
{
    uint64_t *ms = p;
    uv_update_time(co_loop(co_self()));
    uint64_t t0 = uv_hrtime();
    int r = co_sleep(50);
    *ms = vt_ms_since(t0);
    return r;
}

static void test_sleep_duration(void **state)
{
    uint64_t ms = 0;
    assert_int_equal(vt_run(sleep_50, &ms), 0);
    assert_true(ms >= 45);
    assert_true(ms < 30000);
}

typedef struct order_ctx {
    int order[3]; /* sleep lengths in the order the sleeps ended */
    int n;        /* entries in order[] */
} order_ctx_t;

typedef struct order_arg {
    order_ctx_t *ctx; /* shared state */
    int ms;           /* how long to sleep */
} order_arg_t;

static int sleeper(void *p)
{
    order_arg_t *a = p;
    int r = co_sleep((uint64_t)a->ms);
    a->ctx->order[a->ctx->n++] = a->ms;
    return r;
}

static void test_sleep_order(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    order_ctx_t ctx = {{0}, 0};
    order_arg_t args[3] = {{&ctx, 60}, {&ctx, 0}, {&ctx, 25}};
    co_t *cos[3];
    for (int i = 0; i < 3; i++)
        cos[i] = vt_start(&loop, sleeper, &args[i]);
    /* Nobody wakes before the loop runs, not even the 0 ms sleep. */
    assert_int_equal(ctx.n, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(ctx.n, 3);
    assert_int_equal(ctx.order[0], 0);
    assert_int_equal(ctx.order[1], 25);
    assert_int_equal(ctx.order[2], 60);
    for (int i = 0; i < 3; i++)
        assert_int_equal(vt_join(cos[i]), 0);
    vt_loop_done(&loop);
}

typedef struct pause_ctx {
    bool fired;        /* the 20 ms timer ran */
    unsigned pauses;   /* co_pause() calls until then */
    int trace[8];      /* ids of the two pausers, in running order */
    int n;             /* entries in trace[] */
} pause_ctx_t;

static void flag_timer_cb(uv_timer_t *t)
{
    pause_ctx_t *c = t->data;
    c->fired = true;
}

static int pause_until_timer(void *p)
{
    pause_ctx_t *c = p;
    /* Start from a timer callback: that is where a 0 ms timer would starve. */
    int r = co_sleep(1);
    if (r < 0)
        return r;
    uv_timer_t t;
    uv_timer_init(co_loop(co_self()), &t);
    t.data = c;
    uv_timer_start(&t, flag_timer_cb, 20, 0);
    while (!c->fired) {
        if ((r = co_pause()) < 0)
            break;
        c->pauses++;
    }
    co_close((uv_handle_t *)&t);
    return r;
}

static void test_pause_lets_loop_run(void **state)
{
    pause_ctx_t c = {0};
    assert_int_equal(vt_run(pause_until_timer, &c), 0);
    assert_true(c.fired);
    assert_true(c.pauses >= 1);
}

typedef struct pauser_arg {
    pause_ctx_t *ctx; /* shared state */
    int id;           /* 0 or 1 */
} pauser_arg_t;

static int pauser(void *p)
{
    pauser_arg_t *a = p;
    for (int i = 0; i < 4; i++) {
        a->ctx->trace[a->ctx->n++] = a->id;
        int r = co_pause();
        if (r < 0)
            return r;
    }
    return 0;
}

static void test_pause_interleaves(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pause_ctx_t c = {0};
    pauser_arg_t a0 = {&c, 0}, a1 = {&c, 1};
    co_t *c0 = vt_start(&loop, pauser, &a0);
    co_t *c1 = vt_start(&loop, pauser, &a1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(c0), 0);
    assert_int_equal(vt_join(c1), 0);
    /* Each loop iteration runs both once (libuv runs close callbacks in no
     * promised order, so only the pairing is checked). */
    assert_int_equal(c.n, 8);
    for (int i = 0; i < 8; i += 2)
        assert_int_equal(c.trace[i] + c.trace[i + 1], 1);
    vt_loop_done(&loop);
}

typedef struct close_ctx {
    uv_timer_t a;      /* closed by co_close() itself */
    uv_timer_t b;      /* closed by the caller first */
    int b_cb_calls;    /* the caller's close callback ran */
    bool b_data_ok;    /* ... and saw its own handle->data */
    bool b_cb_before;  /* ... before co_close() returned */
    bool returned;     /* co_close(&b) has returned */
} close_ctx_t;

static void b_close_cb(uv_handle_t *h)
{
    close_ctx_t *c = h->data;
    c->b_cb_calls++;
    c->b_data_ok = c == (close_ctx_t *)((char *)h - offsetof(close_ctx_t, b));
    c->b_cb_before = !c->returned;
}

static void never_cb(uv_timer_t *t)
{
    fail_msg("a timer closed by co_close() fired");
}

static int close_body(void *p)
{
    close_ctx_t *c = p;
    uv_loop_t *loop = co_loop(co_self());
    uv_timer_init(loop, &c->a);
    uv_timer_init(loop, &c->b);
    c->a.data = c;
    c->b.data = c;
    uv_timer_start(&c->a, never_cb, 100000, 0);
    co_close((uv_handle_t *)&c->a);
    assert_true(uv_is_closing((uv_handle_t *)&c->a));
    assert_ptr_equal(c->a.data, c);
    uv_close((uv_handle_t *)&c->b, b_close_cb);
    co_close((uv_handle_t *)&c->b);
    c->returned = true;
    return 0;
}

static void test_close(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    close_ctx_t c = {0};
    co_t *co = vt_start(&loop, close_body, &c);
    assert_false(co_finished(co));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(co), 0);
    assert_int_equal(c.b_cb_calls, 1);
    assert_true(c.b_data_ok);
    assert_true(c.b_cb_before);
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleep_duration),
        cmocka_unit_test(test_sleep_order),
        cmocka_unit_test(test_pause_lets_loop_run),
        cmocka_unit_test(test_pause_interleaves),
        cmocka_unit_test(test_close),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
