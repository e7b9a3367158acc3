/* test_stack_reuse.c — stacks are reused safely: a pooled stack and an
 * unmapped-then-remapped one start clean (under ASan: no stale redzones from
 * the frames the previous coroutine died with). */
#include "vmig_test.h"

static int deep_frames(void *arg)
{
    volatile char big[4096]; /* instrumented locals leave redzones behind */
    big[0] = (char)(intptr_t)arg;
    co_yield();
    return big[0];
}

static void run_many(size_t stack_size)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_attr_t attr = {.stack_size = stack_size};
    for (int i = 0; i < 200; i++) {
        co_t *co = co_create_ex(&loop, deep_frames, (void *)(intptr_t)(i & 0x7f), &attr);
        assert_non_null(co);
        co_enter(co);
        co_enter(co);
        int r;
        assert_int_equal(co_join(co, &r), 0);
        assert_int_equal(r, i & 0x7f);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Non-default sizes are unmapped at once: the next mmap often lands on the
 * same addresses. */
static void test_unmapped_stack_reused(void **state)
{
    run_many(64 * 1024);
}

/* Default-size stacks go back to the thread's pool. */
static void test_pooled_stack_reused(void **state)
{
    run_many(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unmapped_stack_reused),
        cmocka_unit_test(test_pooled_stack_reused),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
