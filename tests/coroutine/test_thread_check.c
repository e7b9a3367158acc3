/* test_thread_check.c — entering a coroutine from a thread other than its
 * creator's is caught in debug builds (the process aborts with a message). */
#include "vmig_test.h"

#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NDEBUG
static int body(void *arg)
{
    return 0;
}

static void *other_thread(void *arg)
{
    co_enter(arg); /* must abort */
    return NULL;
}
#endif

static void test_foreign_thread_aborts(void **state)
{
#ifndef NDEBUG
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        co_t *co = co_create(&loop, body, NULL);
        pthread_t th;
        pthread_create(&th, NULL, other_thread, co);
        pthread_join(th, NULL);
        _exit(0); /* reached only if nothing noticed */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

int main(void)
{
#ifdef NDEBUG
    /* Say so to ctest (SKIP_RETURN_CODE 77) rather than pass without checking. */
    puts("SKIP: the foreign-thread check is compiled into debug builds only (make asan runs it)");
    return 77;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_thread_aborts),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
