/* test_waitq.c — wait queues: FIFO wake order, wake_all results and counts,
 * deferred wakes from a coroutine, and waiters that wait again while woken. */
#include "glue_test.h"

typedef struct waitq_ctx {
    co_waitq_t q;       /* the queue under test */
    int order[16];      /* ids in the order their wait returned */
    int results[16];    /* what each id's wait returned */
    int n;              /* entries in order[] */
    int seq;            /* event counter, for before/after checks */
    int woken_seq;      /* seq when the woken coroutine ran */
    int waker_seq;      /* seq when the waker went on after its wake */
} waitq_ctx_t;

typedef struct waiter_arg {
    waitq_ctx_t *ctx; /* shared state */
    int id;           /* who we are */
} waiter_arg_t;

static int waiter_body(void *p)
{
    waiter_arg_t *a = p;
    int r = co_waitq_wait(&a->ctx->q);
    a->ctx->results[a->id] = r;
    a->ctx->order[a->ctx->n++] = a->id;
    return r;
}

static void test_wake_one_is_fifo(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    waitq_ctx_t ctx = {0};
    co_waitq_init(&ctx.q);
    waiter_arg_t args[6];
    co_t *cos[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (waiter_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, waiter_body, &args[i]);
        assert_false(co_finished(cos[i]));
    }
    assert_int_equal(ctx.q.len, 6);
    /* From the loop's stack a woken coroutine runs at once. */
    for (int i = 0; i < 6; i++) {
        assert_true(co_waitq_wake_one(&ctx.q));
        assert_int_equal(ctx.n, i + 1);
        assert_int_equal(ctx.order[i], i);
        assert_int_equal(ctx.q.len, (size_t)(5 - i));
    }
    assert_false(co_waitq_wake_one(&ctx.q));
    assert_null(ctx.q.head);
    assert_null(ctx.q.tail);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vt_join(cos[i]), 0);
    vt_loop_done(&loop);
}

static void test_wake_all_passes_result(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    waitq_ctx_t ctx = {0};
    co_waitq_init(&ctx.q);
    assert_int_equal(co_waitq_wake_all(&ctx.q, 0), 0);
    waiter_arg_t args[4];
    co_t *cos[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (waiter_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, waiter_body, &args[i]);
    }
    assert_int_equal(co_waitq_wake_all(&ctx.q, -EPIPE), 4);
    assert_int_equal(ctx.q.len, 0);
    assert_int_equal(ctx.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ctx.order[i], i);
        assert_int_equal(ctx.results[i], -EPIPE);
        assert_int_equal(vt_join(cos[i]), -EPIPE);
    }
    vt_loop_done(&loop);
}

static int seq_waiter(void *p)
{
    waitq_ctx_t *ctx = p;
    int r = co_waitq_wait(&ctx->q);
    ctx->woken_seq = ++ctx->seq;
    return r;
}

static int seq_waker(void *p)
{
    waitq_ctx_t *ctx = p;
    bool woke = co_waitq_wake_one(&ctx->q);
    /* The woken coroutine must not have run yet: we are still running. */
    ctx->waker_seq = ++ctx->seq;
    return woke ? 0 : -1;
}

static void test_wake_from_coroutine_is_deferred(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    waitq_ctx_t ctx = {0};
    co_waitq_init(&ctx.q);
    co_t *w = vt_start(&loop, seq_waiter, &ctx);
    co_t *k = vt_start(&loop, seq_waker, &ctx);
    /* co_enter() ran the ready list before returning. */
    assert_true(co_finished(w));
    assert_int_equal(ctx.waker_seq, 1);
    assert_int_equal(ctx.woken_seq, 2);
    assert_int_equal(vt_join(k), 0);
    assert_int_equal(vt_join(w), 0);
    vt_loop_done(&loop);
}

typedef struct rewait_arg {
    co_waitq_t *q; /* the queue */
    int wakes;     /* how many of our waits returned */
    int first;     /* result of the first wait */
} rewait_arg_t;

static int rewaiter(void *p)
{
    rewait_arg_t *a = p;
    a->first = co_waitq_wait(a->q);
    a->wakes++;
    int r = co_waitq_wait(a->q);
    a->wakes++;
    return r;
}

static void test_wake_all_skips_new_waiters(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_waitq_t q;
    co_waitq_init(&q);
    rewait_arg_t args[3];
    co_t *cos[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (rewait_arg_t){&q, 0, 1};
        cos[i] = vt_start(&loop, rewaiter, &args[i]);
    }
    /* Each waiter runs at once and waits on q again: it must be woken once. */
    assert_int_equal(co_waitq_wake_all(&q, 7), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(args[i].wakes, 1);
        assert_int_equal(args[i].first, 7);
    }
    assert_int_equal(q.len, 3);
    assert_int_equal(co_waitq_wake_all(&q, 9), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(args[i].wakes, 2);
        assert_int_equal(vt_join(cos[i]), 9);
    }
    assert_int_equal(q.len, 0);
    vt_loop_done(&loop);
}

static void test_cancel_unlinks_from_middle(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    waitq_ctx_t ctx = {0};
    co_waitq_init(&ctx.q);
    waiter_arg_t args[5];
    co_t *cos[5];
    for (int i = 0; i < 5; i++) {
        args[i] = (waiter_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, waiter_body, &args[i]);
    }
    assert_int_equal(co_cancel(cos[2]), 0);
    assert_int_equal(co_cancel(cos[0]), 0);
    assert_int_equal(co_cancel(cos[4]), 0);
    assert_int_equal(ctx.q.len, 2);
    assert_int_equal(co_waitq_wake_all(&ctx.q, 0), 2);
    int want_order[5] = {2, 0, 4, 1, 3};
    int want_result[5] = {-ECANCELED, 0, -ECANCELED, 0, -ECANCELED};
    assert_int_equal(ctx.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ctx.order[i], want_order[i]);
        assert_int_equal(vt_join(cos[i]), want_result[i]);
    }
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_one_is_fifo),
        cmocka_unit_test(test_wake_all_passes_result),
        cmocka_unit_test(test_wake_from_coroutine_is_deferred),
        cmocka_unit_test(test_wake_all_skips_new_waiters),
        cmocka_unit_test(test_cancel_unlinks_from_middle),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
