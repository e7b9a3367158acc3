/* test_mutex.c — the coroutine mutex: FIFO fairness (lock order equals wait
 * order, no barging, round-robin on relock), mutual exclusion, trylock. */
#include "glue_test.h"

#define NCONT 8

typedef struct mutex_ctx {
    glue_held_t h;     /* the mutex under test, and go for its first holder */
    int order[NCONT];  /* contender ids in the order they got the lock */
    int n;             /* entries in order[] */
    int inside;        /* coroutines in the critical section now */
    int max_inside;    /* most ever at once */
    int barges;        /* trylock successes while contenders still queued */
    int barge_tries;   /* trylock attempts made by the barger */
    bool all_done;     /* every contender has unlocked */
} mutex_ctx_t;

typedef struct cont_arg {
    mutex_ctx_t *ctx; /* shared state */
    int id;           /* contender id, also its wait order */
} cont_arg_t;

static int contender_body(void *p)
{
    cont_arg_t *a = p;
    mutex_ctx_t *ctx = a->ctx;
    int r = co_mutex_lock(&ctx->h.m);
    if (r != 0)
        return r;
    if (++ctx->inside > ctx->max_inside)
        ctx->max_inside = ctx->inside;
    ctx->order[ctx->n++] = a->id;
    /* Hold the lock across loop iterations so others get to try. */
    r = co_pause();
    if (r == 0)
        r = co_sleep(1);
    ctx->inside--;
    co_mutex_unlock(&ctx->h.m);
    if (ctx->n == NCONT && !ctx->h.m.owner)
        ctx->all_done = true;
    return r;
}

static int barger_body(void *p)
{
    mutex_ctx_t *ctx = p;
    while (!ctx->all_done) {
        ctx->barge_tries++;
        if (co_mutex_trylock(&ctx->h.m) == 0) {
            if (ctx->n < NCONT)
                ctx->barges++;
            co_mutex_unlock(&ctx->h.m);
        }
        int r = co_pause();
        if (r < 0)
            return r;
    }
    return 0;
}

static void test_lock_order_is_wait_order(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    mutex_ctx_t ctx = {0};
    glue_held_init(&ctx.h);

    co_t *holder = vt_start(&loop, glue_holder_body, &ctx.h);
    assert_non_null(ctx.h.m.owner);
    cont_arg_t args[NCONT];
    co_t *cos[NCONT];
    for (int i = 0; i < NCONT; i++) {
        args[i] = (cont_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, contender_body, &args[i]);
        assert_int_equal(ctx.h.m.waitq.len, (size_t)(i + 1));
    }
    co_t *barger = vt_start(&loop, barger_body, &ctx);
    co_event_set(&ctx.h.go);
    uv_run(&loop, UV_RUN_DEFAULT);

    assert_int_equal(vt_join(holder), 0);
    for (int i = 0; i < NCONT; i++)
        assert_int_equal(vt_join(cos[i]), 0);
    assert_int_equal(vt_join(barger), 0);
    assert_int_equal(ctx.n, NCONT);
    for (int i = 0; i < NCONT; i++)
        assert_int_equal(ctx.order[i], i);
    assert_int_equal(ctx.max_inside, 1);
    assert_true(ctx.barge_tries > NCONT);
    assert_int_equal(ctx.barges, 0);
    assert_null(ctx.h.m.owner);
    assert_int_equal(ctx.h.m.waitq.len, 0);
    vt_loop_done(&loop);
}

/* Each contender locks again right after its unlock: with a direct handoff
 * it queues behind the others, so the lock goes round-robin. A mutex that
 * merely freed itself would let the unlocker take it straight back. */
typedef struct relock_ctx {
    glue_held_t h;        /* the mutex under test, and go for its first holder */
    int order[3 * NCONT]; /* contender ids in locking order */
    int n;                /* entries in order[] */
} relock_ctx_t;

typedef struct relock_arg {
    relock_ctx_t *ctx; /* shared state */
    int id;            /* contender id */
} relock_arg_t;

static int relock_body(void *p)
{
    relock_arg_t *a = p;
    for (int k = 0; k < 3; k++) {
        int r = co_mutex_lock(&a->ctx->h.m);
        if (r != 0)
            return r;
        a->ctx->order[a->ctx->n++] = a->id;
        r = co_pause();
        co_mutex_unlock(&a->ctx->h.m);
        if (r != 0)
            return r;
    }
    return 0;
}

static void test_relock_goes_round_robin(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    relock_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    glue_held_init(&ctx.h);
    co_t *holder = vt_start(&loop, glue_holder_body, &ctx.h);
    relock_arg_t args[NCONT];
    co_t *cos[NCONT];
    for (int i = 0; i < NCONT; i++) {
        args[i] = (relock_arg_t){&ctx, i};
        cos[i] = vt_start(&loop, relock_body, &args[i]);
    }
    co_event_set(&ctx.h.go);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(holder), 0);
    for (int i = 0; i < NCONT; i++)
        assert_int_equal(vt_join(cos[i]), 0);
    assert_int_equal(ctx.n, 3 * NCONT);
    for (int i = 0; i < 3 * NCONT; i++)
        assert_int_equal(ctx.order[i], i % NCONT);
    assert_null(ctx.h.m.owner);
    vt_loop_done(&loop);
}

typedef struct try_ctx {
    co_mutex_t m;  /* the mutex under test */
    co_t *a;       /* the first coroutine */
    int b_try;     /* trylock result seen by the second */
} try_ctx_t;

static int try_b(void *p)
{
    try_ctx_t *t = p;
    t->b_try = co_mutex_trylock(&t->m);
    return 0;
}

static int try_a(void *p)
{
    try_ctx_t *t = p;
    assert_int_equal(co_mutex_trylock(&t->m), 0);
    assert_ptr_equal(t->m.owner, t->a);
    /* Locking again from the holder would never return. */
    assert_int_equal(co_mutex_lock(&t->m), -EDEADLK);
    co_t *b = co_create(co_loop(co_self()), try_b, t);
    assert_non_null(b);
    co_enter(b);
    assert_int_equal(t->b_try, -EBUSY);
    assert_int_equal(co_join(b, NULL), 0);
    co_mutex_unlock(&t->m);
    assert_null(t->m.owner);
    co_enter((b = co_create(co_loop(co_self()), try_b, t)));
    assert_int_equal(t->b_try, 0);
    assert_ptr_equal(t->m.owner, b);
    assert_int_equal(co_join(b, NULL), 0);
    return 0;
}

static void test_trylock(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    try_ctx_t t = {0};
    co_mutex_init(&t.m);
    t.a = co_create(&loop, try_a, &t);
    assert_non_null(t.a);
    co_enter(t.a);
    assert_int_equal(vt_join(t.a), 0);
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_order_is_wait_order),
        cmocka_unit_test(test_relock_goes_round_robin),
        cmocka_unit_test(test_trylock),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
