/* hello.c — the smallest out-of-tree vmig program, built against an installed
 * vmig by tests/install/run.sh (once with pkg-config, once with find_package):
 * a coroutine sleeps 1 ms on a libuv loop and sets a flag. */
#include <stdio.h>
#include <uv.h>
#include <vmig/co.h>

static int body(void *arg)
{
    int *flag = arg;
    if (co_sleep(1) != 0)
        return -1;
    *flag = 1;
    return 0;
}

int main(void)
{
    uv_loop_t loop;
    int flag = 0;
    if (uv_loop_init(&loop) != 0) {
        fputs("hello: uv_loop_init failed\n", stderr);
        return 1;
    }
    if (co_spawn(&loop, body, &flag) != 0) {
        fputs("hello: co_spawn failed\n", stderr);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    co_thread_cleanup();
    if (!flag) {
        fputs("hello: the coroutine did not finish its sleep\n", stderr);
        return 1;
    }
    puts("hello from a vmig coroutine");
    return 0;
}
