/* test_event.c — events: set wakes every waiter (with or without a timeout),
 * reset, timeouts, and an already-set event returning at once. */
#include "glue_test.h"

typedef struct ev_ctx {
    co_event_t ev;       /* the event under test */
    int64_t timeout;     /* what the waiters pass */
    int results[8];      /* each waiter's result */
    uint64_t elapsed[8]; /* each waiter's wait, ms */
    int done;            /* waiters finished */
} ev_ctx_t;

typedef struct ev_arg {
    ev_ctx_t *ctx; /* shared state */
    int id;        /* index in the arrays */
} ev_arg_t;

static int ev_waiter(void *p)
{
    ev_arg_t *a = p;
    /* Odd waiters have no timeout, even ones a long one. */
    int64_t to = a->id % 2 ? -1 : a->ctx->timeout;
    uint64_t t0 = uv_hrtime();
    a->ctx->results[a->id] = co_event_wait(&a->ctx->ev, to);
    a->ctx->elapsed[a->id] = vt_ms_since(t0);
    a->ctx->done++;
    return 0;
}

static void set_timer_cb(uv_timer_t *t)
{
    co_event_set(t->data);
}

static void test_set_wakes_all(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ev_ctx_t ctx = {0};
    co_event_init(&ctx.ev);
    ctx.timeout = 60000;
    ev_arg_t args[6];
    co_t *cos[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (ev_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, ev_waiter, &args[i]);
    }
    assert_int_equal(ctx.ev.waitq.len, 6);
    assert_int_equal(ctx.done, 0);
    /* Set from a libuv callback, on the loop's own stack. */
    uv_timer_t t;
    assert_int_equal(uv_timer_init(&loop, &t), 0);
    t.data = &ctx.ev;
    /* The loop's clock is stale after the setup (slow under valgrind). */
    uv_update_time(&loop);
    assert_int_equal(uv_timer_start(&t, set_timer_cb, 20, 0), 0);
    uint64_t t0 = uv_hrtime();
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(vt_ms_since(t0) < 30000);
    assert_true(co_event_is_set(&ctx.ev));
    assert_int_equal(ctx.done, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ctx.results[i], 0);
        assert_true(ctx.elapsed[i] >= 15);
        assert_true(ctx.elapsed[i] < 30000);
        assert_int_equal(vt_join(cos[i]), 0);
    }
    assert_int_equal(ctx.ev.waitq.len, 0);
    uv_close((uv_handle_t *)&t, NULL);
    vt_loop_done(&loop);
}

static int set_reset_body(void *p)
{
    co_event_t *ev = p;
    /* Already set: returns at once, whatever the timeout. */
    co_event_set(ev);
    assert_true(co_event_is_set(ev));
    uint64_t t0 = uv_hrtime();
    assert_int_equal(co_event_wait(ev, -1), 0);
    assert_int_equal(co_event_wait(ev, 0), 0);
    assert_int_equal(co_event_wait(ev, 100000), 0);
    assert_true(vt_ms_since(t0) < 1000);
    /* A set with nobody waiting is remembered until reset. */
    co_event_reset(ev);
    assert_false(co_event_is_set(ev));
    assert_int_equal(co_event_wait(ev, 0), -ETIMEDOUT);
    co_event_set(ev);
    co_event_set(ev);
    assert_int_equal(co_event_wait(ev, 10), 0);
    co_event_reset(ev);
    co_event_reset(ev);
    assert_false(co_event_is_set(ev));
    assert_int_equal(ev->waitq.len, 0);
    return 0;
}

static void test_set_and_reset(void **state)
{
    co_event_t ev;
    co_event_init(&ev);
    assert_false(co_event_is_set(&ev));
    assert_int_equal(vt_run(set_reset_body, &ev), 0);
}

static int timeout_body(void *p)
{
    co_event_t *ev = p;
    uv_update_time(co_loop(co_self()));
    uint64_t t0 = uv_hrtime();
    int r = co_event_wait(ev, 50);
    uint64_t ms = vt_ms_since(t0);
    assert_int_equal(r, -ETIMEDOUT);
    assert_true(ms >= 45);
    assert_true(ms < 30000);
    /* The timed-out waiter left the queue. */
    assert_int_equal(ev->waitq.len, 0);
    assert_false(co_event_is_set(ev));
    return 0;
}

static void test_timeout(void **state)
{
    co_event_t ev;
    co_event_init(&ev);
    assert_int_equal(vt_run(timeout_body, &ev), 0);
}

static int setter_body(void *p)
{
    ev_ctx_t *ctx = p;
    int r = co_sleep(20);
    co_event_set(&ctx->ev);
    /* Woken from a coroutine: they run once we suspend. */
    assert_int_equal(ctx->done, 0);
    co_event_reset(&ctx->ev);
    return r;
}

static void test_set_from_coroutine_then_reset(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ev_ctx_t ctx = {0};
    co_event_init(&ctx.ev);
    ctx.timeout = 2000;
    ev_arg_t args[4];
    co_t *cos[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (ev_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, ev_waiter, &args[i]);
    }
    co_t *setter = vt_start(&loop, setter_body, &ctx);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(setter), 0);
    /* A set followed by a reset still releases those that were waiting,
     * before their timeouts. */
    assert_int_equal(ctx.done, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ctx.results[i], 0);
        assert_true(ctx.elapsed[i] < 2000);
        assert_int_equal(vt_join(cos[i]), 0);
    }
    assert_false(co_event_is_set(&ctx.ev));
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_wakes_all),
        cmocka_unit_test(test_set_and_reset),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_set_from_coroutine_then_reset),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
