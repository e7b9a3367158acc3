/* test_many.c — 10,000 coroutines alive at once, each suspended in a wait,
 * then all woken and joined; stacks are independent. */
#include "vmig_test.h"

#include <stdlib.h>

#define N 10000

typedef struct {
    co_t *co;      /* the coroutine */
    int id;        /* its index */
    int woke;      /* set once it resumed */
} item_t;

static int sleeper(void *arg)
{
    item_t *it = arg;
    volatile int canary = it->id * 7 + 1; /* on this coroutine's own stack */
    int r = co_wait(NULL, NULL);
    it->woke = r;
    return canary;
}

static void test_ten_thousand(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    item_t *items = calloc(N, sizeof(*items));
    assert_non_null(items);
    for (int i = 0; i < N; i++) {
        items[i].id = i;
        items[i].co = co_create(&loop, sleeper, &items[i]);
        assert_non_null(items[i].co);
        co_enter(items[i].co);
        assert_false(co_finished(items[i].co));
    }
    /* All 10,000 are suspended now. Wake in reverse order with distinct values. */
    for (int i = N - 1; i >= 0; i--)
        co_wake(items[i].co, i + 100);
    for (int i = 0; i < N; i++) {
        int r;
        assert_true(co_finished(items[i].co));
        assert_int_equal(co_join(items[i].co, &r), 0);
        assert_int_equal(r, i * 7 + 1);
        assert_int_equal(items[i].woke, i + 100);
    }
    free(items);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ten_thousand),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
