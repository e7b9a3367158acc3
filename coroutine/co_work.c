/* co_work.c — run a function on libuv's thread pool from a coroutine, with a
 * per-job cap on items in flight and cancellation of queued or running work. */
#include "co_internal.h"

#include <errno.h>
#include <stdlib.h>

/* One item handed to the pool. On the heap: it outlives a cancelled caller. */
typedef struct co_work_req {
    uv_work_t work;          /* the libuv request */
    co_work_fn fn;           /* runs on a pool thread */
    void *arg;               /* its argument */
    co_release_fn release;   /* frees arg of an orphaned item, may be NULL */
    co_work_limit_t *limit;  /* slot to give back when done, may be NULL */
    int result;              /* fn's return, written by the pool thread */
    co_t *co;                /* waiting coroutine, NULL once orphaned */
} co_work_req_t;

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
    int result = status == UV_ECANCELED ? -ECANCELED : status < 0 ? status : req->result;
    /* Release the slot before waking the caller, which may run at once and
     * close the limit. An orphan counted until now: its fn was still busy. */
    if (req->limit)
        limit_release(req->limit);
    /* Read only now: the coroutine that got the slot ran at once and may
     * have cancelled ours, orphaning the request. */
    co_t *co = req->co;
    /* After -ECANCELED the caller no longer owns arg: orphans (fn ran) and
     * items dropped from the queue (fn never ran) are released alike. */
    if ((!co || result == -ECANCELED) && req->release)
        req->release(req->arg);
    free(req);
    if (co)
        co_wake(co, result);
}

static void work_cancel(co_t *co, void *data)
{
    co_work_req_t *req = data;
    /* Still queued: libuv drops it and runs after_work_cb with UV_ECANCELED. */
    if (uv_cancel((uv_req_t *)&req->work) == 0)
        return;
    /* Running (or done, callback not yet run): the pool thread owns arg until
     * fn returns, so the request outlives us and releases arg itself. */
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

int co_work(co_work_limit_t *limit, co_work_fn fn, void *arg, co_release_fn release)
{
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

    co_work_req_t *req = malloc(sizeof(*req));
    if (!req) {
        if (limit)
            limit_release(limit);
        return -ENOMEM;
    }
    req->fn = fn;
    req->arg = arg;
    req->release = release;
    req->limit = limit;
    req->result = 0;
    req->co = self;
    int r = uv_queue_work(co_loop(self), &req->work, work_cb, after_work_cb);
    if (r < 0) {
        free(req);
        if (limit)
            limit_release(limit);
        return r;
    }
    /* No cancel can be pending here (cleared above, nothing ran since). */
    return co_wait(work_cancel, req);
}
