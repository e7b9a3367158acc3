/* test_process.c — child processes from coroutines: exit status, death by a
 * signal, a failed spawn, waiting after the exit and a second waiter. */
#include "glue_test.h"

#include <signal.h>

typedef struct proc_result {
    const char *script; /* argument of /bin/sh -c, or NULL for the file */
    const char *file;   /* program to run when script is NULL */
    int spawn;          /* co_process_spawn() result */
    int wait;           /* co_process_wait() result */
    int64_t status;     /* exit status */
    int sig;            /* terminating signal */
} proc_result_t;

static int run_sh(void *p)
{
    proc_result_t *res = p;
    char *args[4] = {"/bin/sh", "-c", (char *)res->script, NULL};
    char *fargs[2] = {(char *)res->file, NULL};
    co_process_t proc;
    res->spawn = glue_spawn(&proc, res->script ? args : fargs);
    if (res->spawn < 0)
        return 0;
    res->status = -1;
    res->sig = -1;
    res->wait = co_process_wait(&proc, &res->status, &res->sig);
    co_process_close(&proc);
    return 0;
}

static void test_exit_status(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    proc_result_t res = {.script = "exit 3"};
    assert_int_equal(vt_run_on(&loop, run_sh, &res), 0);
    assert_int_equal(res.spawn, 0);
    assert_int_equal(res.wait, 0);
    assert_int_equal(res.status, 3);
    assert_int_equal(res.sig, 0);

    res = (proc_result_t){.script = "exit 0"};
    assert_int_equal(vt_run_on(&loop, run_sh, &res), 0);
    assert_int_equal(res.wait, 0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.sig, 0);
    vt_loop_done(&loop);
}

static void test_killed_by_signal(void **state)
{
    proc_result_t res = {.script = "kill -TERM $$; sleep 5"};
    assert_int_equal(vt_run(run_sh, &res), 0);
    assert_int_equal(res.spawn, 0);
    assert_int_equal(res.wait, 0);
    assert_int_equal(res.sig, SIGTERM);
}

static void test_spawn_failure(void **state)
{
    proc_result_t res = {.file = "/nonexistent/vmig-no-such-program"};
    /* vt_run() fails if the failed spawn left its handle open. */
    assert_int_equal(vt_run(run_sh, &res), 0);
    assert_int_equal(res.spawn, UV_ENOENT);
}

typedef struct late_ctx {
    co_process_t proc;  /* the child */
    int second;         /* a second waiter's result */
} late_ctx_t;

static int second_waiter(void *p)
{
    late_ctx_t *c = p;
    c->second = co_process_wait(&c->proc, NULL, NULL);
    return 0;
}

static int late_wait(void *p)
{
    late_ctx_t *c = p;
    char *args[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
    assert_int_equal(glue_spawn(&c->proc, args), 0);
    assert_true(c->proc.proc.pid > 0);
    /* Not waiting yet: the exit is recorded anyway. */
    for (int i = 0; i < 30000 && !c->proc.exited; i++)
        assert_int_equal(co_sleep(1), 0);
    assert_true(c->proc.exited);
    int64_t status = -1;
    int sig = -1;
    assert_int_equal(co_process_wait(&c->proc, &status, &sig), 0);
    assert_int_equal(sig, SIGKILL);
    /* Waiting twice is fine once it has exited. */
    assert_int_equal(co_process_wait(&c->proc, NULL, &sig), 0);
    assert_int_equal(sig, SIGKILL);
    co_process_close(&c->proc);
    return 0;
}

static void test_wait_after_exit(void **state)
{
    late_ctx_t c = {0};
    assert_int_equal(vt_run(late_wait, &c), 0);
}

static int two_waiters(void *p)
{
    late_ctx_t *c = p;
    char *args[] = {"/bin/sleep", "0.2", NULL};
    assert_int_equal(glue_spawn(&c->proc, args), 0);
    c->second = 1;
    co_t *first = co_create(co_loop(co_self()), second_waiter, c);
    co_enter(first);
    assert_int_equal(c->second, 1); /* waiting */
    int64_t status = -1;
    /* One waiter at a time. */
    assert_int_equal(co_process_wait(&c->proc, &status, NULL), -EBUSY);
    int r;
    assert_int_equal(co_join(first, &r), 0);
    assert_int_equal(c->second, 0);
    assert_int_equal(co_process_wait(&c->proc, &status, NULL), 0);
    assert_int_equal(status, 0);
    co_process_close(&c->proc);
    return 0;
}

static void test_one_waiter_at_a_time(void **state)
{
    late_ctx_t c = {0};
    assert_int_equal(vt_run(two_waiters, &c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_killed_by_signal),
        cmocka_unit_test(test_spawn_failure),
        cmocka_unit_test(test_wait_after_exit),
        cmocka_unit_test(test_one_waiter_at_a_time),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
