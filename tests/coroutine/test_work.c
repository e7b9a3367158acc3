/* test_work.c — work on libuv's pool from coroutines: results of many items,
 * a per-job cap that is never exceeded, slots granted in request order. */
#include "glue_test.h"

#include <stdatomic.h>
#include <unistd.h>

typedef struct sum_item {
    uint64_t n;      /* sum 1..n */
    uint64_t sum;    /* written by the pool thread */
} sum_item_t;

static int sum_fn(void *arg)
{
    sum_item_t *it = arg;
    uint64_t s = 0;
    for (uint64_t i = 1; i <= it->n; i++)
        s += i;
    it->sum = s;
    return (int)(it->n % 1000);
}

#define NCO 48
#define PER_CO 8

typedef struct many_arg {
    int id;               /* coroutine index */
    co_work_limit_t *lim; /* NULL or a limit */
    int bad;              /* wrong results seen */
    int done;             /* items completed */
} many_arg_t;

static int many_body(void *p)
{
    many_arg_t *a = p;
    for (int k = 0; k < PER_CO; k++) {
        sum_item_t it = {.n = 1000u * (uint64_t)a->id + 37u * (uint64_t)k + 1, .sum = 0};
        int r = co_work(a->lim, sum_fn, &it, NULL);
        if (r < 0)
            return r;
        if (r != (int)(it.n % 1000) || it.sum != it.n * (it.n + 1) / 2)
            a->bad++;
        a->done++;
    }
    return 0;
}

static void test_many_results(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    many_arg_t args[NCO];
    co_t *cos[NCO];
    for (int i = 0; i < NCO; i++) {
        args[i] = (many_arg_t){i, NULL, 0, 0};
        cos[i] = vt_start(&loop, many_body, &args[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < NCO; i++) {
        assert_int_equal(vt_join(cos[i]), 0);
        assert_int_equal(args[i].bad, 0);
        assert_int_equal(args[i].done, PER_CO);
    }
    vt_loop_done(&loop);
}

typedef struct cap_ctx {
    atomic_int cur;       /* items inside fn now */
    atomic_int max;       /* most ever inside fn at once */
    atomic_int calls;     /* fn calls */
    co_work_limit_t lim;  /* the cap under test */
    unsigned max_inflight; /* most lim.inflight seen from the loop */
    int busy_close;       /* co_work_limit_close() while items were in flight */
} cap_ctx_t;

static int cap_fn(void *arg)
{
    cap_ctx_t *c = arg;
    int now = atomic_fetch_add(&c->cur, 1) + 1;
    int m = atomic_load(&c->max);
    while (now > m && !atomic_compare_exchange_weak(&c->max, &m, now))
        ;
    atomic_fetch_add(&c->calls, 1);
    usleep(2000);
    atomic_fetch_sub(&c->cur, 1);
    return 7;
}

static int cap_body(void *p)
{
    cap_ctx_t *c = p;
    for (int k = 0; k < 4; k++) {
        int r = co_work(&c->lim, cap_fn, c, NULL);
        if (r != 7)
            return r < 0 ? r : -1;
        if (c->lim.inflight > c->max_inflight)
            c->max_inflight = c->lim.inflight;
    }
    return 0;
}

static int watch_body(void *p)
{
    cap_ctx_t *c = p;
    while (atomic_load(&c->calls) < 64) {
        if (c->lim.inflight > c->max_inflight)
            c->max_inflight = c->lim.inflight;
        if (c->lim.inflight && co_work_limit_close(&c->lim) == -EBUSY)
            c->busy_close++;
        int r = co_sleep(1);
        if (r < 0)
            return r;
    }
    return 0;
}

static void test_cap_never_exceeded(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    cap_ctx_t c;
    memset(&c, 0, sizeof(c));
    atomic_init(&c.cur, 0);
    atomic_init(&c.max, 0);
    atomic_init(&c.calls, 0);
    assert_int_equal(co_work_limit_init(&c.lim, 0), -EINVAL);
    assert_int_equal(co_work_limit_init(&c.lim, 2), 0);
    co_t *cos[16];
    for (int i = 0; i < 16; i++)
        cos[i] = vt_start(&loop, cap_body, &c);
    co_t *watch = vt_start(&loop, watch_body, &c);
    /* The first two got slots, the rest wait for one. */
    assert_int_equal(c.lim.inflight, 2);
    assert_int_equal(c.lim.slots.len, 14);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 16; i++)
        assert_int_equal(vt_join(cos[i]), 0);
    assert_int_equal(vt_join(watch), 0);
    assert_int_equal(atomic_load(&c.calls), 64);
    /* libuv's pool has 4 threads: only the cap kept it to 2. */
    assert_int_equal(atomic_load(&c.max), 2);
    assert_true(c.max_inflight <= 2);
    assert_true(c.busy_close > 0);
    assert_int_equal(c.lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&c.lim), 0);
    vt_loop_done(&loop);
}

typedef struct order_ctx {
    co_work_limit_t lim;  /* cap of 1 */
    atomic_int next;      /* next index in ran[] */
    int ran[8];           /* ids in the order fn ran */
} order_ctx_t;

typedef struct order_item {
    order_ctx_t *ctx; /* shared state */
    int id;           /* request order */
} order_item_t;

static int order_fn(void *arg)
{
    order_item_t *it = arg;
    it->ctx->ran[atomic_fetch_add(&it->ctx->next, 1)] = it->id;
    usleep(500);
    return -EIO;
}

static int order_body(void *p)
{
    order_item_t *it = p;
    return co_work(&it->ctx->lim, order_fn, it, NULL);
}

static void test_slots_in_request_order(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    order_ctx_t c;
    memset(&c, 0, sizeof(c));
    atomic_init(&c.next, 0);
    assert_int_equal(co_work_limit_init(&c.lim, 1), 0);
    order_item_t items[8];
    co_t *cos[8];
    for (int i = 0; i < 8; i++) {
        items[i] = (order_item_t){&c, i};
        cos[i] = vt_start(&loop, order_body, &items[i]);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 8; i++) {
        /* fn's negative result comes back as it is. */
        assert_int_equal(vt_join(cos[i]), -EIO);
        assert_int_equal(c.ran[i], i);
    }
    assert_int_equal(atomic_load(&c.next), 8);
    assert_int_equal(co_work_limit_close(&c.lim), 0);
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_results),
        cmocka_unit_test(test_cap_never_exceeded),
        cmocka_unit_test(test_slots_in_request_order),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
