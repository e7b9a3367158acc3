/* work_ring.h — a pipeline of batches of CPU work on the pool: one batch
 * being filled on the loop, up to depth batches in flight, taken back in
 * the order they were started. Used by the RAM sender and loader. */
#ifndef VMIG_UTIL_WORK_RING_H
#define VMIG_UTIL_WORK_RING_H

#include <stdbool.h>

#include "vmig/co.h"

/* Batches in flight at most, whatever the depth asked for: each holds tens
 * of pages (hundreds of KiB), and libuv's pool runs only UV_THREADPOOL_SIZE
 * (default 4) items at once anyway. */
#define VMIG_WORK_RING_MAX 16u

/* What a batch is; every function is called on the loop but run(). */
typedef struct vmig_work_ring_ops {
    void *(*alloc)(void);       /* a new empty batch, NULL when memory runs out */
    co_work_fn run;             /* on a pool thread: does the batch's work */
    co_release_fn release;      /* frees a batch */
    void (*clear)(void *batch); /* empties a batch for reuse */
} vmig_work_ring_ops_t;

/* A batch in flight. */
typedef struct vmig_work_ring_slot {
    void *batch;          /* the batch */
    co_work_item_t *item; /* its pool item, NULL when it ran inline */
} vmig_work_ring_slot_t;

/* The caller's (embed it). Lifetime: init, use, fini; fini drops what is in
 * flight (the pool item releases it when its thread is done). */
typedef struct vmig_work_ring {
    const vmig_work_ring_ops_t *ops;         /* the batch type */
    co_work_limit_t *limit;                  /* the job's pool slots, or NULL */
    unsigned depth;                          /* batches in flight at most, 1..MAX */
    unsigned head;                           /* slot of the oldest batch in flight */
    unsigned n;                              /* batches in flight */
    void *fill;                              /* the batch being filled, or NULL */
    vmig_work_ring_slot_t q[VMIG_WORK_RING_MAX]; /* in flight, oldest at head */
    unsigned nspare;                         /* empty batches kept for reuse */
    void *spare[VMIG_WORK_RING_MAX + 1];     /* them */
} vmig_work_ring_t;

/* depth is clamped to 1..VMIG_WORK_RING_MAX. */
void vmig_work_ring_init(vmig_work_ring_t *r, const vmig_work_ring_ops_t *ops,
                         co_work_limit_t *limit, unsigned depth);
/* Drops the batches in flight and frees the others. Idempotent. */
void vmig_work_ring_fini(vmig_work_ring_t *r);
/* Takes effect for the next submit; batches in flight beyond it stay. */
void vmig_work_ring_set_depth(vmig_work_ring_t *r, unsigned depth);

/* The batch being filled, made (or reused) on first use; NULL when memory
 * runs out. */
void *vmig_work_ring_fill(vmig_work_ring_t *r);
/* No room to submit another batch: depth batches in flight. */
bool vmig_work_ring_full(const vmig_work_ring_t *r);
/* Batches in flight. */
unsigned vmig_work_ring_inflight(const vmig_work_ring_t *r);
/* The i-th batch in flight, oldest first (i < inflight): to look at, not to
 * touch while its work may run. */
const void *vmig_work_ring_peek(const vmig_work_ring_t *r, unsigned i);

/* Starts the batch being filled (none: nothing to do). The ring must not be
 * full. In a coroutine it goes to the pool (waiting for a slot of the
 * limit); outside one, or when the pool cannot take it (no memory), it runs
 * here and now. 0, or -ECANCELED (the batch is gone, with every other one
 * in flight). */
int vmig_work_ring_submit(vmig_work_ring_t *r);

/* The oldest batch in flight once its work is done: 1 with *batch (the
 * caller's until vmig_work_ring_recycle), 0 when none is in flight or, with
 * !wait, it is still running; -ECANCELED when the wait was cancelled (every
 * batch in flight is then dropped). */
int vmig_work_ring_take(vmig_work_ring_t *r, bool wait, void **batch);
/* Hands a taken batch back, emptied, for reuse. */
void vmig_work_ring_recycle(vmig_work_ring_t *r, void *batch);

#endif
