/* co_process.c — child processes for coroutines: spawn on the running
 * coroutine's loop, wait for the exit (cancellable), close the handle. */
#include "co_internal.h"

#include <errno.h>
#include <stddef.h>

static void process_exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    co_process_t *p = (co_process_t *)((char *)proc - offsetof(co_process_t, proc));
    p->exited = true;
    p->exit_status = exit_status;
    p->term_signal = term_signal;
    co_t *waiter = p->waiter;
    p->waiter = NULL;
    if (waiter)
        co_wake(waiter, 0);
}

int co_process_spawn(co_process_t *p, const uv_process_options_t *opts)
{
    co_t *self = co_self();
    if (!self)
        co__panic("co_process_spawn outside a coroutine");
    if (!p || !opts)
        return -EINVAL;
    p->waiter = NULL;
    p->exited = false;
    p->exit_status = 0;
    p->term_signal = 0;
    /* The exit callback is ours: it is how co_process_wait() learns the end. */
    uv_process_options_t o = *opts;
    o.exit_cb = process_exit_cb;
    int r = uv_spawn(co_loop(self), &p->proc, &o);
    if (r < 0) {
        /* libuv has initialised the handle even though the spawn failed:
         * close it, or the loop could never be closed. */
        co_close((uv_handle_t *)&p->proc);
        return r;
    }
    p->proc.data = p;
    return 0;
}

static void process_wait_cancel(co_t *co, void *data)
{
    co_process_t *p = data;
    /* Stop waiting only: the child runs on, still owned by p. */
    p->waiter = NULL;
    co_wake(co, -ECANCELED);
}

int co_process_wait(co_process_t *p, int64_t *exit_status, int *term_signal)
{
    co_t *self = co_self();
    if (!self)
        co__panic("co_process_wait outside a coroutine");
    if (!p->exited) {
        if (p->waiter)
            return -EBUSY;
        p->waiter = self;
        int r = co_wait(process_wait_cancel, p);
        if (r < 0) {
            /* A pending cancel returns at once, without the hook. */
            p->waiter = NULL;
            return r;
        }
    }
    if (exit_status)
        *exit_status = p->exit_status;
    if (term_signal)
        *term_signal = p->term_signal;
    return 0;
}

void co_process_close(co_process_t *p)
{
    if (p->waiter)
        co__panic("co_process_close while a coroutine waits for the process");
    co_close((uv_handle_t *)&p->proc);
}
