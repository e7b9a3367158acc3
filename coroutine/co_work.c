/* co_work.c — run a function on libuv's thread pool from a coroutine, with a
 * per-job cap on items in flight and cancellation of queued or running work. */
#include "co_internal.h"

#include <errno.h>
#include <stdlib.h>

/* One item handed to the pool. On the heap: it outlives a cancelled caller. */
struct co_work_item {
    uv_work_t work;          /* the libuv request */
    co_work_fn fn;           /* runs on a pool thread */
    void *arg;               /* its argument */
    co_release_fn release;   /* frees arg of a dropped item, may be NULL */
    co_work_limit_t *limit;  /* slot to give back when done, may be NULL */
    int result;              /* fn's return, written by the pool thread; then the final result */
    co_t *co;                /* coroutine waiting in co_work_finish(), or NULL */
    bool done;               /* after_work_cb ran: result is final */
    bool dropped;            /* the owner gave it up: after_work_cb releases and frees */
};
typedef struct co_work_item co_work_req_t;

int co_work_limit_init(co_work_limit_t *lim, unsigned max)
{
    if (max == 0)
        return -EINVAL;
    lim->max = max;
    lim->inflight = 0;
    co_waitq_init(&lim->slots);
    return 0;
}

int co_work_limit_close(co_work_limit_t *lim)
{
    if (lim->inflight || lim->slots.len)
        return -EBUSY;
    return 0;
}

/* Take a slot: 0, or -ECANCELED without one. */
static int limit_acquire(co_work_limit_t *lim)
{
    /* Queue behind earlier waiters even when a slot looks free: it may be
     * promised to one of them already. */
    if (lim->inflight < lim->max && lim->slots.len == 0) {
        lim->inflight++;
        return 0;
    }
    /* limit_release() hands its slot over before it wakes us. */
    return co_waitq_wait(&lim->slots);
}

static void limit_release(co_work_limit_t *lim)
{
    /* Hand the slot to the oldest waiter, or free it. */
    if (!co_waitq_wake_one(&lim->slots))
        lim->inflight--;
}

static void work_cb(uv_work_t *w)
{
    co_work_req_t *req = (co_work_req_t *)w;
    req->result = req->fn(req->arg);
}

static void after_work_cb(uv_work_t *w, int status)
{
    co_work_req_t *req = (co_work_req_t *)w;
    /* Taken off libuv's queue by a cancel: fn never ran. (fn's own
     * -ECANCELED is just its result: arg stays the owner's.) */
    bool dequeued = status == UV_ECANCELED;
    int result = dequeued ? -ECANCELED : status < 0 ? status : req->result;
    req->done = true;
    req->result = result;
    co_work_limit_t *limit = req->limit;
    if (req->dropped) {
        /* The owner gave it up (fn ran, or was taken off the queue). */
        if (req->release)
            req->release(req->arg);
        free(req);
        if (limit)
            limit_release(limit);
        return;
    }
    /* A waiter whose wait was cancelled while fn was still queued. */
    if (dequeued && req->release)
        req->release(req->arg);
    /* From here req is the owner's: giving the slot away may run its next
     * holder at once, which may be the owner finishing or dropping req. A
     * waiter cannot be taken away meanwhile: work_cancel leaves a done item
     * alone. The slot goes first so the woken caller can close the limit. */
    co_t *co = req->co;
    if (limit)
        limit_release(limit);
    if (co)
        co_wake(co, result);
}

static void work_cancel(co_t *co, void *data)
{
    co_work_req_t *req = data;
    /* The result is being delivered (after_work_cb is handing our slot
     * over): it wins over the cancel. */
    if (req->done)
        return;
    /* Still queued: libuv drops it and runs after_work_cb with UV_ECANCELED,
     * which releases arg and wakes us. */
    if (uv_cancel((uv_req_t *)&req->work) == 0)
        return;
    /* Running (or done, callback not yet run): the pool thread owns arg until
     * fn returns, so the item outlives us and releases arg itself. */
    req->dropped = true;
    req->co = NULL;
    co_wake(co, -ECANCELED);
}

/* Cancelled before the item reached the pool: arg goes to release() too, so
 * that "-ECANCELED hands arg over" holds whatever the moment of the cancel. */
static int cancelled_early(void *arg, co_release_fn release)
{
    if (release)
        release(arg);
    return -ECANCELED;
}

int co_work_start(co_work_limit_t *limit, co_work_fn fn, void *arg, co_release_fn release,
                  co_work_item_t **item)
{
    *item = NULL;
    co_t *self = co_self();
    if (!self)
        co__panic("co_work outside a coroutine");
    if (co_cancel_clear())
        return cancelled_early(arg, release);
    if (limit) {
        int r = limit_acquire(limit);
        if (r == -ECANCELED)
            return cancelled_early(arg, release);
        if (r < 0)
            return r;
        /* A cancel that came after the slot was handed to us. */
        if (co_cancel_clear()) {
            limit_release(limit);
            return cancelled_early(arg, release);
        }
    }

    co_work_req_t *req = calloc(1, sizeof(*req));
    if (!req) {
        if (limit)
            limit_release(limit);
        return -ENOMEM;
    }
    req->fn = fn;
    req->arg = arg;
    req->release = release;
    req->limit = limit;
    int r = uv_queue_work(co_loop(self), &req->work, work_cb, after_work_cb);
    if (r < 0) {
        free(req);
        if (limit)
            limit_release(limit);
        return r;
    }
    *item = req;
    return 0;
}

bool co_work_done(const co_work_item_t *item)
{
    return item->done;
}

int co_work_finish(co_work_item_t *req)
{
    if (!req->done) {
        req->co = co_self();
        if (!req->co)
            co__panic("co_work_finish outside a coroutine");
        int r = co_wait(work_cancel, req);
        /* Dropped by the cancel: after_work_cb frees it later. It cannot
         * have run yet (a wake from a cancel runs us before the loop). */
        if (!req->done && req->dropped)
            return r;
        /* A cancel pending before the wait: co_wait() returned at once
         * without asking work_cancel. */
        if (!req->done) {
            co_work_drop(req);
            return -ECANCELED;
        }
    }
    int r = req->result;
    free(req);
    return r;
}

void co_work_drop(co_work_item_t *req)
{
    if (req->done) {
        if (req->release)
            req->release(req->arg);
        free(req);
        return;
    }
    req->dropped = true;
    req->co = NULL;
    /* Queued: after_work_cb comes with UV_ECANCELED; running: once fn
     * returns. Either way it releases arg and frees req. */
    uv_cancel((uv_req_t *)&req->work);
}

int co_work(co_work_limit_t *limit, co_work_fn fn, void *arg, co_release_fn release)
{
    co_work_item_t *item;
    int r = co_work_start(limit, fn, arg, release, &item);
    if (r < 0)
        return r;
    /* No cancel can be pending here (cleared by start, nothing ran since). */
    return co_work_finish(item);
}
