/* test_guard.c — a stack overflow hits the guard page below the stack: the
 * child process that overflows dies of SIGSEGV at that page, never silently. */
#include "vmig_test.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static char *g_guard_lo, *g_guard_hi; /* child-only: the range the fault must hit */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    char *a = si->si_addr;
    /* 42: the fault is in the guard page; 43: it is elsewhere. */
    _exit(a >= g_guard_lo && a < g_guard_hi ? 42 : 43);
}

static int recurse(int depth, volatile char *prev)
{
    volatile char buf[512];
    if (depth == -1) /* never true: keeps the compiler from calling it infinite */
        return 0;
    buf[0] = (char)depth;
    buf[511] = prev ? prev[0] : 0;
    return recurse(depth + 1, buf) + buf[0];
}

static int overflow(void *arg)
{
    return recurse(0, NULL);
}

static void test_overflow_hits_guard(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t loop;
        uv_loop_init(&loop);
        co_attr_t attr = {.stack_size = CO_MIN_STACK_SIZE};
        co_t *co = co_create_ex(&loop, overflow, NULL, &attr);
        assert_non_null(co);
        static char altstack[64 * 1024];
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
        sigaltstack(&ss, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        long page = sysconf(_SC_PAGESIZE);
        /* The coroutine object sits at the top of its mapping; the stack runs
         * down to one page above the mapping's start, the guard page. */
        uintptr_t obj = (uintptr_t)co;
        FILE *maps = fopen("/proc/self/maps", "r");
        char line[512];
        while (maps && fgets(line, sizeof(line), maps)) {
            unsigned long lo, hi;
            char perms[8];
            if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && obj >= lo && obj < hi) {
                /* the writable part; the guard page is the page just below it */
                g_guard_lo = (char *)lo - page;
                g_guard_hi = (char *)lo;
            }
        }
        if (maps)
            fclose(maps);
        co_enter(co);
        _exit(44); /* overflow returned: impossible */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_hits_guard),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
