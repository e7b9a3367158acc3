/* co_sync.c — synchronisation between the coroutines of one loop: wait queues,
 * a fair mutex, an event with timeout and a bounded queue with back-pressure. */
#include "co_internal.h"

#include <errno.h>
#include <stdlib.h>

/* ---- wait queues -------------------------------------------------------------- */

void co_waitq_init(co_waitq_t *q)
{
    q->head = NULL;
    q->tail = NULL;
    q->len = 0;
}

static void waitq_append(co_waitq_t *q, co_waiter_t *w)
{
    w->q = q;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    q->len++;
}

static void waitq_unlink(co_waiter_t *w)
{
    co_waitq_t *q = w->q;
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    q->len--;
    w->next = w->prev = NULL;
    w->q = NULL;
}

/* Take the oldest waiter off q (NULL if none). Its coroutine is still waiting:
 * the caller wakes it, after it has updated whatever the waiter will look at,
 * because a wake from the loop's stack runs the coroutine at once. */
static co_waiter_t *waitq_pop(co_waitq_t *q)
{
    co_waiter_t *w = q->head;
    if (w)
        waitq_unlink(w);
    return w;
}

static void waitq_cancel(co_t *co, void *data)
{
    co_waiter_t *w = data;
    /* Only a waiter still queued can be here: co_wake() clears the hook. */
    if (w->q)
        waitq_unlink(w);
    co_wake(co, -ECANCELED);
}

/* Queue the running coroutine as w on q and suspend; w is off q on return. */
static int waitq_wait_node(co_waitq_t *q, co_waiter_t *w)
{
    co_t *self = co_self();
    if (!self)
        co__panic("waiting on a co_waitq_t outside a coroutine");
    w->co = self;
    waitq_append(q, w);
    int r = co_wait(waitq_cancel, w);
    /* A pending cancel returns at once without suspending: still queued. */
    if (w->q)
        waitq_unlink(w);
    return r;
}

int co_waitq_wait(co_waitq_t *q)
{
    co_waiter_t w;
    return waitq_wait_node(q, &w);
}

bool co_waitq_wake_one(co_waitq_t *q)
{
    co_waiter_t *w = waitq_pop(q);
    if (!w)
        return false;
    co_wake(w->co, 0);
    return true;
}

size_t co_waitq_wake_all(co_waitq_t *q, int result)
{
    /* Move the waiters to a private list first. Woken from the loop's stack a
     * coroutine runs at once and may wait on q again: it must not be woken a
     * second time by this call. A waiter cancelled meanwhile unlinks itself
     * from the private list, since its node points there. */
    co_waitq_t batch;
    co_waitq_init(&batch);
    batch.head = q->head;
    batch.tail = q->tail;
    batch.len = q->len;
    for (co_waiter_t *w = batch.head; w; w = w->next)
        w->q = &batch;
    co_waitq_init(q);

    size_t n = 0;
    co_waiter_t *w;
    while ((w = waitq_pop(&batch))) {
        /* w lives on its coroutine's stack: do not touch it after the wake. */
        co_wake(w->co, result);
        n++;
    }
    return n;
}

/* ---- mutex -------------------------------------------------------------------- */

void co_mutex_init(co_mutex_t *m)
{
    m->owner = NULL;
    co_waitq_init(&m->waitq);
}

int co_mutex_lock(co_mutex_t *m)
{
    co_t *self = co_self();
    if (!self)
        co__panic("co_mutex_lock outside a coroutine");
    if (!m->owner) {
        m->owner = self;
        return 0;
    }
    /* Waiting for ourselves would never end; report it like an error-checking
     * pthread mutex rather than hang. */
    if (m->owner == self)
        return -EDEADLK;
    int r = co_waitq_wait(&m->waitq);
    if (r < 0)
        return r;
    /* co_mutex_unlock() made us the owner before waking us. */
    if (m->owner != self)
        co__panic("co_mutex_t woke a waiter without handing it the lock");
    return 0;
}

int co_mutex_trylock(co_mutex_t *m)
{
    co_t *self = co_self();
    if (!self)
        co__panic("co_mutex_trylock outside a coroutine");
    if (m->owner)
        return -EBUSY;
    m->owner = self;
    return 0;
}

void co_mutex_unlock(co_mutex_t *m)
{
    if (!m->owner || m->owner != co_self())
        co__panic("co_mutex_unlock by a coroutine that does not hold the mutex");
    /* Hand the lock over instead of freeing it: a coroutine that calls lock
     * between this wake and the waiter's turn to run must not barge in. */
    co_waiter_t *w = waitq_pop(&m->waitq);
    if (!w) {
        m->owner = NULL;
        return;
    }
    m->owner = w->co;
    co_wake(w->co, 0);
}

/* ---- event -------------------------------------------------------------------- */

void co_event_init(co_event_t *e)
{
    e->set = false;
    co_waitq_init(&e->waitq);
}

void co_event_set(co_event_t *e)
{
    e->set = true;
    co_waitq_wake_all(&e->waitq, 0);
}

void co_event_reset(co_event_t *e)
{
    e->set = false;
}

bool co_event_is_set(const co_event_t *e)
{
    return e->set;
}

/* A wait with a timeout, on the waiting coroutine's stack. */
typedef struct event_wait {
    co_waiter_t w;    /* our node on the event's wait queue */
    uv_timer_t timer; /* fires -ETIMEDOUT */
} event_wait_t;

static void event_timer_cb(uv_timer_t *timer)
{
    event_wait_t *ew = timer->data;
    /* Off the queue already: set() or a cancel woke us first. */
    if (!ew->w.q)
        return;
    waitq_unlink(&ew->w);
    co_wake(ew->w.co, -ETIMEDOUT);
}

int co_event_wait(co_event_t *e, int64_t timeout_ms)
{
    co_t *self = co_self();
    if (!self)
        co__panic("co_event_wait outside a coroutine");
    if (e->set)
        return 0;
    if (timeout_ms < 0)
        return co_waitq_wait(&e->waitq);
    /* Keep the timer handle out of the way of a pending cancel. */
    if (co_cancel_clear())
        return -ECANCELED;

    event_wait_t ew;
    int r = uv_timer_init(co_loop(self), &ew.timer);
    if (r < 0)
        return r;
    ew.timer.data = &ew;
    r = uv_timer_start(&ew.timer, event_timer_cb, (uint64_t)timeout_ms, 0);
    if (r == 0)
        r = waitq_wait_node(&e->waitq, &ew.w);
    /* The handle lives on this stack: libuv must be done with it first. */
    uv_timer_stop(&ew.timer);
    co_close((uv_handle_t *)&ew.timer);
    return r;
}

/* ---- bounded queue ------------------------------------------------------------ */

int co_queue_init(co_queue_t *q, size_t cap)
{
    if (cap == 0 || cap > SIZE_MAX / sizeof(void *))
        return -EINVAL;
    q->items = malloc(cap * sizeof(void *));
    if (!q->items)
        return -ENOMEM;
    q->cap = cap;
    q->head = 0;
    q->len = 0;
    q->closed = false;
    co_waitq_init(&q->pushers);
    co_waitq_init(&q->poppers);
    return 0;
}

void co_queue_destroy(co_queue_t *q)
{
    if (q->pushers.len || q->poppers.len)
        co__panic("co_queue_destroy with coroutines still waiting on it");
    free(q->items);
    q->items = NULL;
    q->cap = 0;
    q->len = 0;
}

int co_queue_try_push(co_queue_t *q, void *item)
{
    if (q->closed)
        return -EPIPE;
    if (q->len == q->cap)
        return -EAGAIN;
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    /* The woken popper re-checks the ring, so a stolen item is harmless. */
    co_waitq_wake_one(&q->poppers);
    return 0;
}

int co_queue_push(co_queue_t *q, void *item)
{
    for (;;) {
        int r = co_queue_try_push(q, item);
        if (r != -EAGAIN)
            return r;
        /* co_queue_close() wakes us with -EPIPE. */
        r = co_waitq_wait(&q->pushers);
        if (r < 0)
            return r;
    }
}

int co_queue_try_pop(co_queue_t *q, void **item)
{
    if (q->len == 0)
        return q->closed ? -EPIPE : -EAGAIN;
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    co_waitq_wake_one(&q->pushers);
    return 0;
}

int co_queue_pop(co_queue_t *q, void **item)
{
    for (;;) {
        int r = co_queue_try_pop(q, item);
        if (r != -EAGAIN)
            return r;
        /* Woken with -EPIPE by a close: the retry reports it (the ring was
         * empty while we waited, and a closed queue takes no more pushes). */
        r = co_waitq_wait(&q->poppers);
        if (r == -ECANCELED)
            return r;
    }
}

void co_queue_close(co_queue_t *q)
{
    q->closed = true;
    co_waitq_wake_all(&q->pushers, -EPIPE);
    co_waitq_wake_all(&q->poppers, -EPIPE);
}
