/* test_nested.c — a coroutine creates and enters others from inside itself;
 * yields return to the creator, wakes from a coroutine run after it suspends. */
#include "vmig_test.h"

typedef struct {
    uv_loop_t *loop; /* loop to create children on */
    int depth;       /* how deep to go */
    int *order;      /* log of events */
    int *n;          /* its length */
} nest_t;

static int nested(void *arg)
{
    nest_t *p = arg;
    p->order[(*p->n)++] = p->depth;
    if (p->depth > 0) {
        nest_t child = {p->loop, p->depth - 1, p->order, p->n};
        co_t *c = co_create(p->loop, nested, &child);
        assert_non_null(c);
        co_enter(c);                 /* runs until it yields */
        p->order[(*p->n)++] = 100 + p->depth;
        if (!co_finished(c))
            co_enter(c);             /* only depth 0 yielded: finish it */
        int r;
        assert_int_equal(co_join(c, &r), 0);
        assert_int_equal(r, p->depth - 1);
    } else {
        co_yield();
    }
    if (p->depth > 0)
        return p->depth;
    return 0;
}

static void test_nested_create(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    int order[64], n = 0;
    nest_t top = {&loop, 5, order, &n};
    co_t *co = co_create(&loop, nested, &top);
    co_enter(co);
    /* Depth 0 yielded to depth 1, which logged 101 and re-entered it; the
     * chain then unwinds: 5,4,3,2,1,0,101,102,103,104,105. */
    int expect[] = {5, 4, 3, 2, 1, 0, 101, 102, 103, 104, 105};
    assert_int_equal(n, 11);
    for (int i = 0; i < 11; i++)
        assert_int_equal(order[i], expect[i]);
    assert_true(co_finished(co));
    int r;
    assert_int_equal(co_join(co, &r), 0);
    assert_int_equal(r, 5);
    assert_int_equal(uv_loop_close(&loop), 0);
}

typedef struct {
    co_t *other;  /* coroutine to wake */
    int *log;     /* event log */
    int *n;       /* its length */
} waker_t;

static int waiter_body(void *arg)
{
    waker_t *w = arg;
    w->log[(*w->n)++] = 1;
    int r = co_wait(NULL, NULL);
    w->log[(*w->n)++] = r;
    return 0;
}

static int waker_body(void *arg)
{
    waker_t *w = arg;
    co_wake(w->other, 42);          /* from a coroutine: runs after we suspend */
    w->log[(*w->n)++] = 2;
    return 0;
}

static void test_wake_from_coroutine_is_deferred(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    int log[8], n = 0;
    waker_t ww = {NULL, log, &n};
    co_t *w = co_create(&loop, waiter_body, &ww);
    co_enter(w);
    waker_t wk = {w, log, &n};
    co_t *k = co_create(&loop, waker_body, &wk);
    co_enter(k);
    assert_int_equal(n, 3);
    assert_int_equal(log[0], 1);
    assert_int_equal(log[1], 2);  /* waker finished its step first */
    assert_int_equal(log[2], 42); /* then the woken coroutine ran */
    assert_int_equal(co_join(w, NULL), 0);
    assert_int_equal(co_join(k, NULL), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_create),
        cmocka_unit_test(test_wake_from_coroutine_is_deferred),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
