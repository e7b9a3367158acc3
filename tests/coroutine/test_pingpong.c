/* test_pingpong.c — two coroutines hand control to each other through the
 * loop's stack; every switch keeps each one's locals intact. */
#include "vmig_test.h"

#include <string.h>

typedef struct {
    int *trace;    /* shared log of who ran */
    int *n;        /* entries in trace */
    int id;        /* 1 or 2 */
    int rounds;    /* how many times to log */
} player_t;

static int player(void *arg)
{
    player_t *p = arg;
    volatile int local = p->id * 1000; /* must survive every switch */
    for (int i = 0; i < p->rounds; i++) {
        p->trace[(*p->n)++] = p->id;
        local++;
        co_yield();
    }
    return local;
}

static void test_pingpong(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    int trace[64], n = 0;
    player_t a = {trace, &n, 1, 10}, b = {trace, &n, 2, 10};
    co_t *ca = co_create(&loop, player, &a);
    co_t *cb = co_create(&loop, player, &b);
    assert_non_null(ca);
    assert_non_null(cb);
    while (!co_finished(ca) || !co_finished(cb)) {
        if (!co_finished(ca))
            co_enter(ca);
        if (!co_finished(cb))
            co_enter(cb);
    }
    assert_int_equal(n, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(trace[i], i % 2 ? 2 : 1);
    int ra, rb;
    assert_int_equal(co_join(ca, &ra), 0);
    assert_int_equal(co_join(cb, &rb), 0);
    assert_int_equal(ra, 1010);
    assert_int_equal(rb, 2010);
    assert_null(co_self());
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Floating-point and vector registers used around a switch keep their values. */
static int fp_body(void *arg)
{
    double *d = arg;
    double x = *d;
    for (int i = 0; i < 100; i++) {
        x = x * 1.5 + 1.0;
        co_yield();
        x = (x - 1.0) / 1.5;
    }
    *d = x;
    return 0;
}

static void test_fp_preserved(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    double v = 3.25, mine = 7.5;
    co_t *co = co_create(&loop, fp_body, &v);
    assert_non_null(co);
    while (!co_finished(co)) {
        mine = mine * 2.0;
        co_enter(co);
        mine = mine / 2.0;
    }
    assert_true(mine == 7.5);
    assert_true(v > 3.2499 && v < 3.2501);
    assert_int_equal(co_join(co, NULL), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pingpong),
        cmocka_unit_test(test_fp_preserved),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
