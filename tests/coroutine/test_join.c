/* test_join.c — completion: join waits for the result and frees, detached
 * coroutines free themselves, join misuse is refused. */
#include "vmig_test.h"

#include <errno.h>

static int returns_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

static int waits_then_returns(void *arg)
{
    co_wait(NULL, NULL);
    return (int)(intptr_t)arg;
}

typedef struct {
    co_t *target;  /* coroutine to join */
    int got;       /* its result */
    int rc;        /* co_join's return */
} joiner_t;

static int joiner(void *arg)
{
    joiner_t *j = arg;
    j->rc = co_join(j->target, &j->got);
    return 0;
}

static void test_join_finished_from_loop(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_t *co = co_create(&loop, returns_arg, (void *)(intptr_t)17);
    int r = 0;
    assert_int_equal(co_join(co, &r), -EBUSY); /* not started: cannot wait here */
    co_enter(co);
    assert_int_equal(co_join(co, &r), 0);
    assert_int_equal(r, 17);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_join_waits(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_t *target = co_create(&loop, waits_then_returns, (void *)(intptr_t)-5);
    co_enter(target);
    joiner_t j = {target, 0, 1};
    co_t *jc = co_create(&loop, joiner, &j);
    co_enter(jc);
    assert_false(co_finished(jc));       /* waiting for target */
    co_wake(target, 0);                  /* target returns; joiner wakes and frees it */
    assert_true(co_finished(jc));
    assert_int_equal(j.rc, 0);
    assert_int_equal(j.got, -5);
    assert_int_equal(co_join(jc, NULL), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_join_cancelled(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_t *target = co_create(&loop, waits_then_returns, (void *)(intptr_t)9);
    co_enter(target);
    joiner_t j = {target, 0, 1};
    co_t *jc = co_create(&loop, joiner, &j);
    co_enter(jc);
    assert_int_equal(co_cancel(jc), 0);
    assert_true(co_finished(jc));
    assert_int_equal(j.rc, -ECANCELED);
    assert_false(co_finished(target));   /* untouched, still joinable */
    co_wake(target, 0);
    int r;
    assert_int_equal(co_join(target, &r), 0);
    assert_int_equal(r, 9);
    assert_int_equal(co_join(jc, NULL), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_detached_and_spawn(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_t *co = co_create(&loop, waits_then_returns, NULL);
    co_enter(co);
    co_detach(co);
    assert_int_equal(co_join(co, NULL), -EINVAL); /* detached: not joinable */
    co_wake(co, 0);                               /* returns and frees itself */
    assert_int_equal(co_spawn(&loop, returns_arg, NULL), 0);
    /* a finished coroutine detached later is freed at once */
    co_t *done = co_create(&loop, returns_arg, NULL);
    co_enter(done);
    co_detach(done);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int self_join(void *arg)
{
    return co_join(co_self(), NULL);
}

static void test_self_join_refused(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_t *co = co_create(&loop, self_join, NULL);
    co_enter(co);
    int r;
    assert_int_equal(co_join(co, &r), 0);
    assert_int_equal(r, -EINVAL);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_custom_stack_size(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    co_attr_t attr = {.stack_size = 1024 * 1024, .name = "big"};
    co_t *co = co_create_ex(&loop, returns_arg, (void *)(intptr_t)3, &attr);
    assert_non_null(co);
    assert_string_equal(co_name(co), "big");
    assert_ptr_equal(co_loop(co), &loop);
    co_enter(co);
    int r;
    assert_int_equal(co_join(co, &r), 0);
    assert_int_equal(r, 3);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_finished_from_loop),
        cmocka_unit_test(test_join_waits),
        cmocka_unit_test(test_join_cancelled),
        cmocka_unit_test(test_detached_and_spawn),
        cmocka_unit_test(test_self_join_refused),
        cmocka_unit_test(test_custom_stack_size),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
