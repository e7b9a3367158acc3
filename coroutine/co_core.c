/* co_core.c — create, enter, yield, wait/wake, cancel and join: the scheduler
 * of one thread's coroutines, on top of the machine-context switch. */
#include "co_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(CO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

__thread co_thread_t co__tls __attribute__((tls_model("initial-exec")));

/* How many default-size coroutines a thread keeps for reuse. */
#define CO_POOL_MAX 1024u

static inline co_ctx_t *ctx_of(co_thread_t *t, co_t *co)
{
    return co ? &co->ctx : &t->root_ctx;
}

#if defined(CO_ASAN)
static inline co_stackinfo_t *si_of(co_thread_t *t, co_t *co)
{
    return co ? &co->si : &t->root_si;
}
#endif

/* Leave `from` for `to`; returns when someone switches back to `from`.
 * dying: `from` will never run again (ASan then drops its fake stack). */
static inline void co_switch(co_thread_t *t, co_t *from, co_t *to, bool dying)
{
#if defined(CO_ASAN)
    co_stackinfo_t *fs = si_of(t, from), *ts = si_of(t, to);
    t->switch_from = from;
    __sanitizer_start_switch_fiber(dying ? NULL : &fs->fake_stack, ts->bottom, ts->size);
#else
    (void)dying;
#endif
    co__ctx_switch(ctx_of(t, from), ctx_of(t, to));
#if defined(CO_ASAN)
    /* Back in `from`: whoever switched here told ASan its bounds; keep the
     * loop stack's, which is the one we cannot know in advance. */
    const void *bottom;
    size_t size;
    co_t *prev = co__tls.switch_from;
    __sanitizer_finish_switch_fiber(fs->fake_stack, &bottom, &size);
    if (!prev) {
        co__tls.root_si.bottom = bottom;
        co__tls.root_si.size = size;
    }
#endif
}

static void co_release(co_thread_t *t, co_t *co);
static void co_switch_out(co_thread_t *t, co_t *self, uint8_t state, bool dying);

static void co_main(void *p)
{
    co_t *co = p;
    co_thread_t *t = &co__tls;
#if defined(CO_ASAN)
    const void *bottom;
    size_t size;
    co_t *prev = t->switch_from;
    __sanitizer_finish_switch_fiber(NULL, &bottom, &size);
    if (!prev) {
        t->root_si.bottom = bottom;
        t->root_si.size = size;
    }
#endif
    co->result = co->fn(co->arg);
    /* Everything a return implies happens here, before the last switch, so
     * that whoever entered us needs no code after its switch (see co_enter). */
    if (co->joiner) {
        co_t *j = co->joiner;
        co->joiner = NULL;
        co_wake(j, 0);
    }
    bool detached = co->detached;
    co->state = CO_DONE;
    if (detached)
        co_release(t, co); /* pooled, or unmapped later: we still run on it */
    co_switch_out(t, co, CO_DONE, true);
    co__panic("a finished coroutine was entered again");
}

co_t *co_create_ex(uv_loop_t *loop, co_fn fn, void *arg, const co_attr_t *attr)
{
    co_thread_t *t = &co__tls;
    size_t want = attr && attr->stack_size ? attr->stack_size : CO_DEFAULT_STACK_SIZE;
    if (want < CO_MIN_STACK_SIZE)
        want = CO_MIN_STACK_SIZE;
    co_t *co;
    if (want == CO_DEFAULT_STACK_SIZE && t->pool) {
        co = t->pool;
        t->pool = co->pool_next;
        t->pool_len--;
#if defined(CO_ASAN)
        /* The last user died with frames (and their redzones) on this stack. */
        __asan_unpoison_memory_region(co->si.bottom, co->si.size);
#endif
    } else {
        co = co__alloc(want);
        if (!co)
            return NULL;
        co->poolable = want == CO_DEFAULT_STACK_SIZE;
    }
    co->caller = NULL;
    co->fn = fn;
    co->arg = arg;
    co->result = 0;
    co->wake_result = 0;
    co->state = CO_NEW;
    co->detached = attr ? attr->detached : false;
    co->cancel_pending = false;
    co->on_cancel = NULL;
    co->cancel_data = NULL;
    co->joiner = NULL;
    co->ready_next = NULL;
    co->pool_next = NULL;
    co->loop = loop;
    co->name = attr ? attr->name : NULL;
    co->si.fake_stack = NULL;
#if CO_DEBUG
    co->thread = pthread_self();
#endif
    co__ctx_make(&co->ctx, (char *)co->si.bottom, co->stack_size, co_main, co);
    return co;
}

co_t *co_create(uv_loop_t *loop, co_fn fn, void *arg)
{
    return co_create_ex(loop, fn, arg, NULL);
}

/* Unmap the last detached coroutine that could not be pooled, once we no
 * longer run on its stack. */
static inline void co_reap(co_thread_t *t)
{
    if (t->zombie && t->zombie != t->current) {
        co__free(t->zombie);
        t->zombie = NULL;
    }
}

static void co_release(co_thread_t *t, co_t *co)
{
    /* Only default-size stacks are pooled: one size keeps reuse trivial. */
    if (co->poolable && t->pool_len < CO_POOL_MAX) {
        co->pool_next = t->pool;
        t->pool = co;
        t->pool_len++;
        return;
    }
    /* co may be the running coroutine (a detached one returning): unmap it
     * only once we are on another stack. */
    co_reap(t);
    if (co == t->current)
        t->zombie = co;
    else
        co__free(co);
}

void co_thread_cleanup(void)
{
    co_thread_t *t = &co__tls;
    while (t->pool) {
        co_t *co = t->pool;
        t->pool = co->pool_next;
        co__free(co);
    }
    t->pool_len = 0;
    co_reap(t);
}

static void co_ready_push(co_thread_t *t, co_t *co)
{
    co->ready_next = NULL;
    if (t->ready_tail)
        t->ready_tail->ready_next = co;
    else
        t->ready_head = co;
    t->ready_tail = co;
}

static co_t *co_ready_pop(co_thread_t *t)
{
    co_t *co = t->ready_head;
    if (co) {
        t->ready_head = co->ready_next;
        if (!t->ready_head)
            t->ready_tail = NULL;
    }
    return co;
}

/* Leave the running coroutine `self` in `state`. Control goes back to whoever
 * entered it; when that is the loop's own stack and coroutines were woken
 * meanwhile, they run first, straight from here, so the loop's stack gets
 * control back only once nothing is ready (this is the "drain" of co_wake). */
static void co_switch_out(co_thread_t *t, co_t *self, uint8_t state, bool dying)
{
    co_t *next = self->caller;
    self->state = state;
    if (!next && t->ready_head) {
        next = co_ready_pop(t);
        next->caller = NULL;
        next->state = CO_RUNNING;
    }
    t->current = next;
    co_switch(t, self, next, dying);
}

static inline void co_check_thread(const co_t *co)
{
#if CO_DEBUG
    if (!pthread_equal(co->thread, pthread_self()))
        co__panic("coroutine %p (%s) used from a thread other than its creator's",
                  (const void *)co, co->name ? co->name : "unnamed");
#else
    (void)co;
#endif
}

/* The switch is the last thing co_enter does: the entered coroutine comes
 * back by jumping straight to our caller's return address, never through a
 * `ret` here, whose prediction would be wrong after a change of stacks (the
 * return stack buffer holds the other stack's calls). */
void co_enter(co_t *co)
{
    co_thread_t *t = &co__tls;
    co_check_thread(co);
    if (co->state != CO_NEW && co->state != CO_YIELDED)
        co__panic("co_enter on a coroutine that is %s",
                  co->state == CO_WAITING ? "waiting (use co_wake)"
                  : co->state == CO_DONE  ? "finished"
                                          : "running");
    co_reap(t);
    co_t *from = t->current;
    co->caller = from;
    co->state = CO_RUNNING;
    t->current = co;
    co_switch(t, from, co, false);
}

int co_spawn(uv_loop_t *loop, co_fn fn, void *arg)
{
    co_attr_t attr = {.detached = true};
    co_t *co = co_create_ex(loop, fn, arg, &attr);
    if (!co)
        return -ENOMEM;
    co_enter(co);
    return 0;
}

void co_yield(void)
{
    co_thread_t *t = &co__tls;
    co_t *self = t->current;
    if (!self)
        co__panic("co_yield outside a coroutine");
    co_switch_out(t, self, CO_YIELDED, false);
}

co_t *co_self(void)
{
    return co__tls.current;
}

bool co_in_coroutine(void)
{
    return co__tls.current != NULL;
}

uv_loop_t *co_loop(const co_t *co)
{
    return co->loop;
}

const char *co_name(const co_t *co)
{
    return co->name ? co->name : "coroutine";
}

bool co_finished(const co_t *co)
{
    return co->state == CO_DONE;
}

int co_wait(co_cancel_fn on_cancel, void *data)
{
    co_thread_t *t = &co__tls;
    co_t *self = t->current;
    if (!self)
        co__panic("co_wait outside a coroutine");
    if (on_cancel && self->cancel_pending) {
        self->cancel_pending = false;
        return -ECANCELED;
    }
    self->on_cancel = on_cancel;
    self->cancel_data = data;
    co_switch_out(t, self, CO_WAITING, false);
    return self->wake_result;
}

void co_wake(co_t *co, int result)
{
    co_thread_t *t = &co__tls;
    co_check_thread(co);
    if (co->state != CO_WAITING)
        co__panic("co_wake on a coroutine that is not waiting");
    co->wake_result = result;
    co->on_cancel = NULL;
    if (t->current) {
        /* Runs once the current chain of coroutines suspends. */
        co->state = CO_READY;
        co_ready_push(t, co);
        return;
    }
    /* On the loop's stack (a libuv callback): run it now; it runs whatever it
     * wakes before control comes back here. */
    co_reap(t);
    co->caller = NULL;
    co->state = CO_RUNNING;
    t->current = co;
    co_switch(t, NULL, co, false);
}

int co_cancel(co_t *co)
{
    co_check_thread(co);
    if (co->state == CO_DONE)
        return -EINVAL;
    if (co->state == CO_WAITING && co->on_cancel) {
        co_cancel_fn fn = co->on_cancel;
        co->on_cancel = NULL;
        fn(co, co->cancel_data);
        return 0;
    }
    co->cancel_pending = true;
    return 1;
}

bool co_cancel_clear(void)
{
    co_t *self = co__tls.current;
    if (!self)
        return false;
    bool was = self->cancel_pending;
    self->cancel_pending = false;
    return was;
}

static void co_join_cancel(co_t *joiner, void *data)
{
    co_t *target = data;
    target->joiner = NULL;
    co_wake(joiner, -ECANCELED);
}

int co_join(co_t *co, int *result)
{
    co_thread_t *t = &co__tls;
    co_check_thread(co);
    if (co->detached)
        return -EINVAL;
    if (co->state != CO_DONE) {
        if (!t->current)
            return -EBUSY;
        if (co->joiner || co == t->current)
            return -EINVAL;
        co->joiner = t->current;
        int r = co_wait(co_join_cancel, co);
        if (r < 0) {
            co->joiner = NULL;
            return r;
        }
    }
    if (result)
        *result = co->result;
    co_release(t, co);
    return 0;
}

void co_detach(co_t *co)
{
    co_check_thread(co);
    if (co->state == CO_DONE)
        co_release(&co__tls, co);
    else
        co->detached = true;
}
