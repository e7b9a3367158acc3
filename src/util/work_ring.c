/* work_ring.c — a pipeline of pool batches (work_ring.h): a fixed ring of
 * pool items, batches reused rather than allocated per round. */
#include "util/work_ring.h"

#include <errno.h>
#include <stddef.h>

static unsigned clamp_depth(unsigned depth)
{
    return depth < 1 ? 1 : depth > VMIG_WORK_RING_MAX ? VMIG_WORK_RING_MAX : depth;
}

void vmig_work_ring_init(vmig_work_ring_t *r, const vmig_work_ring_ops_t *ops,
                         co_work_limit_t *limit, unsigned depth)
{
    *r = (vmig_work_ring_t){ .ops = ops, .limit = limit, .depth = clamp_depth(depth) };
}

void vmig_work_ring_set_depth(vmig_work_ring_t *r, unsigned depth)
{
    r->depth = clamp_depth(depth);
}

/* Drop every batch in flight: a running one is released by its pool item
 * once its thread is done with it. */
static void drop_all(vmig_work_ring_t *r)
{
    for (; r->n; r->n--, r->head = (r->head + 1) % VMIG_WORK_RING_MAX) {
        vmig_work_ring_slot_t *s = &r->q[r->head];
        if (s->item)
            co_work_drop(s->item);
        else
            r->ops->release(s->batch);
    }
    r->head = 0;
}

void vmig_work_ring_fini(vmig_work_ring_t *r)
{
    if (!r->ops)
        return;
    drop_all(r);
    if (r->fill)
        r->ops->release(r->fill);
    r->fill = NULL;
    while (r->nspare)
        r->ops->release(r->spare[--r->nspare]);
}

void *vmig_work_ring_fill(vmig_work_ring_t *r)
{
    if (!r->fill)
        r->fill = r->nspare ? r->spare[--r->nspare] : r->ops->alloc();
    return r->fill;
}

bool vmig_work_ring_full(const vmig_work_ring_t *r)
{
    return r->n >= r->depth;
}

unsigned vmig_work_ring_inflight(const vmig_work_ring_t *r)
{
    return r->n;
}

const void *vmig_work_ring_peek(const vmig_work_ring_t *r, unsigned i)
{
    return r->q[(r->head + i) % VMIG_WORK_RING_MAX].batch;
}

int vmig_work_ring_submit(vmig_work_ring_t *r)
{
    void *batch = r->fill;
    if (!batch)
        return 0;
    if (r->n >= VMIG_WORK_RING_MAX)
        return -ENOSPC; /* a caller that did not look at full() */
    r->fill = NULL;
    co_work_item_t *item = NULL;
    if (co_in_coroutine()) {
        int e = co_work_start(r->limit, r->ops->run, batch, r->ops->release, &item);
        if (e == -ECANCELED) {
            drop_all(r);
            return e;
        }
    }
    /* Outside a coroutine, or the pool could not take it: do it here. */
    if (!item)
        r->ops->run(batch);
    r->q[(r->head + r->n) % VMIG_WORK_RING_MAX] = (vmig_work_ring_slot_t){ batch, item };
    r->n++;
    return 0;
}

int vmig_work_ring_take(vmig_work_ring_t *r, bool wait, void **batch)
{
    *batch = NULL;
    if (!r->n)
        return 0;
    vmig_work_ring_slot_t *s = &r->q[r->head];
    if (s->item) {
        if (!wait && !co_work_done(s->item))
            return 0;
        int e = co_work_finish(s->item);
        if (e == -ECANCELED) {
            /* The item was dropped with its batch; the rest go too. */
            s->item = NULL;
            s->batch = NULL;
            r->head = (r->head + 1) % VMIG_WORK_RING_MAX;
            r->n--;
            drop_all(r);
            return e;
        }
    }
    *batch = s->batch;
    r->head = (r->head + 1) % VMIG_WORK_RING_MAX;
    r->n--;
    return 1;
}

void vmig_work_ring_recycle(vmig_work_ring_t *r, void *batch)
{
    r->ops->clear(batch);
    if (r->nspare < VMIG_WORK_RING_MAX + 1)
        r->spare[r->nspare++] = batch;
    else
        r->ops->release(batch);
}
