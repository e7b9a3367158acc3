/* test_work_async.c — co_work_start/done/finish/drop: items in parallel,
 * done, slot waits, drops and cancels of done, queued and running items. */
#include "glue_test.h"

#include <stdatomic.h>
#include <unistd.h>

/* libuv's pool size, set by main() before the pool starts. */
#define POOL 4

/* The thread that runs the loops (release() must run there). */
static uv_thread_t loop_thread;

/* ---- shared control of blocking items and their releases ---------------------- */

typedef struct ctl {
    atomic_int go;           /* blocking fns return once set */
    atomic_int started;      /* blocking fns that began */
    atomic_int finished;     /* blocking fns that returned */
    atomic_int never_ran;    /* never_fn calls: must stay 0 */
    int released;            /* release() calls */
    int released_off_loop;   /* release() calls on another thread than the loop's */
    int finished_at_release; /* finished when release() last ran */
    co_work_limit_t *lim;    /* limit whose inflight release() records, may be NULL */
    unsigned inflight_at_release; /* lim->inflight when release() last ran */
} ctl_t;

static void ctl_init(ctl_t *c, co_work_limit_t *lim)
{
    memset(c, 0, sizeof(*c));
    atomic_init(&c->go, 0);
    atomic_init(&c->started, 0);
    atomic_init(&c->finished, 0);
    atomic_init(&c->never_ran, 0);
    c->finished_at_release = -1;
    c->lim = lim;
}

/* An item's arg on the heap, as a dropped or cancelled item's must be. */
typedef struct harg {
    ctl_t *ctl;     /* shared control */
    int id;         /* which item */
    char pad[120];  /* something for a leak checker to see */
} harg_t;

static harg_t *harg_new(ctl_t *ctl, int id)
{
    harg_t *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->ctl = ctl;
    h->id = id;
    return h;
}

/* Waits for ctl->go, then returns 100 + id. */
static int block_fn(void *arg)
{
    harg_t *h = arg;
    atomic_fetch_add(&h->ctl->started, 1);
    while (!atomic_load(&h->ctl->go))
        usleep(200);
    atomic_fetch_add(&h->ctl->finished, 1);
    return 100 + h->id;
}

/* Must never run. */
static int never_fn(void *arg)
{
    harg_t *h = arg;
    atomic_fetch_add(&h->ctl->never_ran, 1);
    return -EIO;
}

static void counting_release(void *arg)
{
    harg_t *h = arg;
    ctl_t *c = h->ctl;
    uv_thread_t self = uv_thread_self();
    c->released++;
    if (!uv_thread_equal(&self, &loop_thread))
        c->released_off_loop++;
    c->finished_at_release = atomic_load(&c->finished);
    if (c->lim)
        c->inflight_at_release = c->lim->inflight;
    free(h);
}

/* Fill every pool thread with a block_fn item of blk (ids 0..POOL-1). */
static void fill_pool(ctl_t *blk, harg_t args[POOL], co_work_item_t *items[POOL])
{
    for (int i = 0; i < POOL; i++) {
        args[i] = (harg_t){.ctl = blk, .id = i};
        assert_int_equal(co_work_start(NULL, block_fn, &args[i], NULL, &items[i]), 0);
        assert_non_null(items[i]);
    }
    VT_WAIT_UNTIL(atomic_load(&blk->started) == POOL);
}

/* Let fill_pool()'s items go and check their results. */
static void drain_pool(ctl_t *blk, co_work_item_t *items[POOL])
{
    atomic_store(&blk->go, 1);
    for (int i = 0; i < POOL; i++)
        assert_int_equal(co_work_finish(items[i]), 100 + i);
}

/* ---- 1. several items of one coroutine run in parallel ---------------------------- */

typedef struct par_ctx {
    atomic_int running;  /* fns running now */
    atomic_int max_seen; /* most fns running at once */
    atomic_int calls;    /* fn calls */
} par_ctx_t;

typedef struct par_item {
    par_ctx_t *ctx; /* shared counters */
    int id;         /* start order */
    int out;        /* written by fn: id * id + 1 */
} par_item_t;

static int par_fn(void *arg)
{
    par_item_t *it = arg;
    par_ctx_t *c = it->ctx;
    int now = atomic_fetch_add(&c->running, 1) + 1;
    int m = atomic_load(&c->max_seen);
    while (now > m && !atomic_compare_exchange_weak(&c->max_seen, &m, now))
        ;
    atomic_fetch_add(&c->calls, 1);
    usleep(20000);
    it->out = it->id * it->id + 1;
    atomic_fetch_sub(&c->running, 1);
    return it->id * 10 + 3;
}

#define NPAR 6

typedef struct par_run {
    unsigned limit;        /* the limit for the NPAR items */
    int max_seen;          /* par_ctx_t.max_seen afterwards */
    unsigned max_inflight; /* most lim.inflight seen after a start */
    size_t slot_waiters;   /* lim.slots.len right after all starts */
} par_run_t;

static int par_body(void *p)
{
    par_run_t *run = p;
    par_ctx_t c;
    atomic_init(&c.running, 0);
    atomic_init(&c.max_seen, 0);
    atomic_init(&c.calls, 0);
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, run->limit), 0);
    par_item_t its[NPAR];
    co_work_item_t *items[NPAR];
    for (int i = 0; i < NPAR; i++) {
        its[i] = (par_item_t){&c, i, -1};
        assert_int_equal(co_work_start(&lim, par_fn, &its[i], NULL, &items[i]), 0);
        assert_non_null(items[i]);
        if (lim.inflight > run->max_inflight)
            run->max_inflight = lim.inflight;
    }
    run->slot_waiters = lim.slots.len;
    /* Finish in start order: each gets its own item's result and arg. */
    for (int i = 0; i < NPAR; i++) {
        assert_int_equal(co_work_finish(items[i]), i * 10 + 3);
        assert_int_equal(its[i].out, i * i + 1);
        if (lim.inflight > run->max_inflight)
            run->max_inflight = lim.inflight;
    }
    assert_int_equal(atomic_load(&c.calls), NPAR);
    assert_int_equal(atomic_load(&c.running), 0);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    run->max_seen = atomic_load(&c.max_seen);
    return 0;
}

static void test_parallel_items(void **state)
{
    /* A limit of NPAR: every start returns at once, the pool bounds the overlap. */
    par_run_t wide = {.limit = NPAR};
    assert_int_equal(vt_run(par_body, &wide), 0);
    assert_int_equal(wide.slot_waiters, 0);
    assert_int_equal(wide.max_inflight, NPAR);
    assert_int_equal(wide.max_seen, POOL);

    /* A limit of 3 under a pool of 4: exactly 3 at once, never more. */
    par_run_t capped = {.limit = 3};
    assert_int_equal(vt_run(par_body, &capped), 0);
    assert_int_equal(capped.slot_waiters, 0);
    assert_int_equal(capped.max_inflight, 3);
    assert_int_equal(capped.max_seen, 3);
}

/* ---- 2. co_work_done() and a finish that does not wait ------------------------ */

typedef struct slow_arg {
    int out;  /* written by fn */
} slow_arg_t;

static int slow_fn(void *arg)
{
    slow_arg_t *s = arg;
    usleep(10000);
    s->out = 77;
    return 42;
}

static int finish_body(void *p)
{
    return co_work_finish(p);
}

static int done_body(void *p)
{
    (void)p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    slow_arg_t s = {0};
    co_work_item_t *item = NULL;
    assert_int_equal(co_work_start(&lim, slow_fn, &s, NULL, &item), 0);
    assert_non_null(item);
    assert_false(co_work_done(item));
    assert_int_equal(lim.inflight, 1);
    VT_WAIT_UNTIL(co_work_done(item));
    /* The slot is back as soon as the result arrived. */
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    /* finish() from a fresh coroutine returns before the coroutine suspends
     * even once: it did not wait. */
    co_t *f = co_create(vt_loop(), finish_body, item);
    assert_non_null(f);
    co_enter(f);
    assert_true(co_finished(f));
    int r = -1;
    assert_int_equal(co_join(f, &r), 0);
    assert_int_equal(r, 42);
    assert_int_equal(s.out, 77);

    /* A running item is not done until its fn returns. */
    ctl_t c;
    ctl_init(&c, NULL);
    harg_t h = {.ctl = &c, .id = 5};
    assert_int_equal(co_work_start(NULL, block_fn, &h, NULL, &item), 0);
    VT_WAIT_UNTIL(atomic_load(&c.started) == 1);
    assert_int_equal(co_sleep(10), 0);
    assert_false(co_work_done(item));
    atomic_store(&c.go, 1);
    VT_WAIT_UNTIL(co_work_done(item));
    assert_int_equal(co_work_finish(item), 105);
    return 0;
}

static void test_done_then_finish(void **state)
{
    assert_int_equal(vt_run(done_body, NULL), 0);
}

/* ---- 3. a start waits for a slot of its limit ---------------------------------- */

typedef struct slot_ctx {
    atomic_int a_finished;   /* item A's fn has returned */
    atomic_int a_seen_by_b;  /* a_finished when B's fn began */
} slot_ctx_t;

static int slot_a_fn(void *arg)
{
    slot_ctx_t *c = arg;
    usleep(30000);
    atomic_store(&c->a_finished, 1);
    return 1;
}

static int slot_b_fn(void *arg)
{
    slot_ctx_t *c = arg;
    atomic_store(&c->a_seen_by_b, atomic_load(&c->a_finished));
    return 2;
}

static int slot_a_release_fn(void *arg)
{
    harg_t *h = arg;
    usleep(30000);
    atomic_fetch_add(&h->ctl->finished, 1);
    return 1;
}

static int slot_body(void *p)
{
    (void)p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);

    /* B's start returns only once A's fn has finished; A's result is still
     * there to finish right away (its completion is what woke us). */
    slot_ctx_t c;
    atomic_init(&c.a_finished, 0);
    atomic_init(&c.a_seen_by_b, -1);
    co_work_item_t *a = NULL, *b = NULL;
    assert_int_equal(co_work_start(&lim, slot_a_fn, &c, NULL, &a), 0);
    assert_int_equal(co_work_start(&lim, slot_b_fn, &c, NULL, &b), 0);
    assert_non_null(b);
    /* b waited for a's slot: a had finished when b got one. */
    assert_int_equal(atomic_load(&c.a_finished), 1);
    assert_int_equal(lim.inflight, 1);
    assert_int_equal(lim.slots.len, 0);
    assert_int_equal(co_work_finish(a), 1);
    assert_int_equal(co_work_finish(b), 2);
    assert_int_equal(atomic_load(&c.a_seen_by_b), 1);
    assert_int_equal(lim.inflight, 0);

    /* The same, but A is dropped as soon as B got its slot: release() runs
     * exactly once, on the loop. */
    ctl_t rc;
    ctl_init(&rc, &lim);
    atomic_init(&c.a_finished, 0);
    atomic_init(&c.a_seen_by_b, -1);
    assert_int_equal(co_work_start(&lim, slot_a_release_fn, harg_new(&rc, 1), counting_release, &a), 0);
    assert_int_equal(co_work_start(&lim, slot_b_fn, &c, NULL, &b), 0);
    assert_int_equal(atomic_load(&rc.finished), 1);
    co_work_drop(a);
    assert_int_equal(co_work_finish(b), 2);
    assert_int_equal(rc.released, 1);
    assert_int_equal(rc.released_off_loop, 0);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    return 0;
}

static void test_start_waits_for_slot(void **state)
{
    assert_int_equal(vt_run(slot_body, NULL), 0);
}

/* The end of a drop: the slot is free, the limit closes, and a later loop
 * turn releases nothing more. */
static int settled_once(ctl_t *c, co_work_limit_t *lim)
{
    assert_int_equal(lim->inflight, 0);
    assert_int_equal(co_work_limit_close(lim), 0);
    assert_int_equal(co_sleep(5), 0);
    assert_int_equal(c->released, 1);
    c->lim = NULL;
    return 0;
}

/* ---- 4. co_work_drop() of a done, a queued and a running item ------------------ */

static int drop_done_body(void *p)
{
    ctl_t *c = p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 2), 0);
    c->lim = &lim;
    co_work_item_t *item = NULL;
    atomic_store(&c->go, 1);
    assert_int_equal(co_work_start(&lim, block_fn, harg_new(c, 1), counting_release, &item), 0);
    VT_WAIT_UNTIL(co_work_done(item));
    assert_int_equal(c->released, 0);
    co_work_drop(item);
    /* At once, exactly once. */
    assert_int_equal(c->released, 1);
    assert_int_equal(c->released_off_loop, 0);
    assert_int_equal(atomic_load(&c->finished), 1);
    return settled_once(c, &lim);
}

static void test_drop_done(void **state)
{
    ctl_t c;
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(drop_done_body, &c), 0);
    assert_int_equal(c.released, 1);
}

static int drop_queued_body(void *p)
{
    ctl_t *c = p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 2), 0);
    c->lim = &lim;
    ctl_t blk;
    ctl_init(&blk, NULL);
    harg_t bargs[POOL];
    co_work_item_t *bitems[POOL];
    fill_pool(&blk, bargs, bitems);

    co_work_item_t *item = NULL;
    assert_int_equal(co_work_start(&lim, never_fn, harg_new(c, 1), counting_release, &item), 0);
    assert_int_equal(co_sleep(5), 0);
    assert_false(co_work_done(item));
    assert_int_equal(lim.inflight, 1);
    co_work_drop(item);
    /* libuv takes it off the queue; its after-work callback releases arg. */
    VT_WAIT_UNTIL(c->released == 1);
    assert_int_equal(c->released_off_loop, 0);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);

    drain_pool(&blk, bitems);
    assert_int_equal(co_sleep(5), 0);
    assert_int_equal(c->released, 1);
    assert_int_equal(atomic_load(&c->never_ran), 0);
    c->lim = NULL;
    return 0;
}

static void test_drop_queued(void **state)
{
    ctl_t c;
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(drop_queued_body, &c), 0);
    assert_int_equal(c.released, 1);
    assert_int_equal(atomic_load(&c.never_ran), 0);
}

static int drop_running_body(void *p)
{
    ctl_t *c = p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 2), 0);
    c->lim = &lim;
    co_work_item_t *item = NULL;
    assert_int_equal(co_work_start(&lim, block_fn, harg_new(c, 1), counting_release, &item), 0);
    VT_WAIT_UNTIL(atomic_load(&c->started) == 1);
    co_work_drop(item);
    /* fn still owns arg: nothing released, the slot still taken. */
    assert_int_equal(co_sleep(20), 0);
    assert_int_equal(c->released, 0);
    assert_int_equal(atomic_load(&c->finished), 0);
    assert_int_equal(lim.inflight, 1);
    assert_int_equal(co_work_limit_close(&lim), -EBUSY);
    atomic_store(&c->go, 1);
    VT_WAIT_UNTIL(c->released == 1);
    assert_int_equal(c->finished_at_release, 1);
    assert_int_equal(c->released_off_loop, 0);
    return settled_once(c, &lim);
}

static void test_drop_running(void **state)
{
    ctl_t c;
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(drop_running_body, &c), 0);
    assert_int_equal(c.released, 1);
    assert_int_equal(atomic_load(&c.finished), 1);
}

/* ---- 5. a cancel of a coroutine waiting in co_work_finish() -------------------- */

typedef struct waiter {
    ctl_t *ctl;             /* the item's control */
    co_work_limit_t *lim;   /* its limit */
    co_work_fn fn;          /* block_fn or never_fn */
    int start_r;            /* co_work_start()'s result */
    int released_at_return; /* ctl->released when finish returned */
} waiter_t;

/* Starts one item with a heap arg and waits for it. */
static int waiter_body(void *p)
{
    waiter_t *w = p;
    co_work_item_t *item = NULL;
    harg_t *h = harg_new(w->ctl, 7);
    w->start_r = co_work_start(w->lim, w->fn, h, counting_release, &item);
    if (w->start_r < 0) {
        free(h);
        return w->start_r;
    }
    int r = co_work_finish(item);
    w->released_at_return = w->ctl->released;
    /* On -ECANCELED h is release()'s. */
    if (r != -ECANCELED)
        free(h);
    return r;
}

typedef struct canceller {
    uv_timer_t timer; /* fires once */
    co_t *target;     /* coroutine to cancel */
    int r;            /* co_cancel()'s result, 99 until it fired */
} canceller_t;

static void cancel_cb(uv_timer_t *t)
{
    canceller_t *k = t->data;
    k->r = co_cancel(k->target);
}

/* In a coroutine: cancel target from a timer (on the loop's stack) or from
 * this coroutine; returns co_cancel()'s result. */
static int cancel_from(co_t *target, bool timer)
{
    if (!timer)
        return co_cancel(target);
    canceller_t k = {.target = target, .r = 99};
    assert_int_equal(uv_timer_init(vt_loop(), &k.timer), 0);
    k.timer.data = &k;
    assert_int_equal(uv_timer_start(&k.timer, cancel_cb, 2, 0), 0);
    VT_WAIT_UNTIL(k.r != 99);
    co_close((uv_handle_t *)&k.timer);
    return k.r;
}

static int cancel_queued_body(void *p)
{
    bool timer = *(bool *)p;
    ctl_t c;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    ctl_init(&c, &lim);
    ctl_t blk;
    ctl_init(&blk, NULL);
    harg_t bargs[POOL];
    co_work_item_t *bitems[POOL];
    fill_pool(&blk, bargs, bitems);

    waiter_t w = {.ctl = &c, .lim = &lim, .fn = never_fn, .start_r = 1, .released_at_return = -1};
    co_t *wc = co_create(vt_loop(), waiter_body, &w);
    assert_non_null(wc);
    co_enter(wc);
    assert_int_equal(w.start_r, 0);
    assert_int_equal(co_sleep(5), 0);
    assert_false(co_finished(wc));
    assert_int_equal(lim.inflight, 1);
    assert_int_equal(co_work_limit_close(&lim), -EBUSY);
    assert_int_equal(cancel_from(wc, timer), 0);
    /* Taken off libuv's queue: the waiter returns from the after-work callback. */
    VT_WAIT_UNTIL(co_finished(wc));
    int r = 1;
    assert_int_equal(co_join(wc, &r), 0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(w.released_at_return, 1);
    assert_int_equal(c.released, 1);
    assert_int_equal(c.released_off_loop, 0);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);

    drain_pool(&blk, bitems);
    assert_int_equal(co_sleep(5), 0);
    assert_int_equal(c.released, 1);
    assert_int_equal(atomic_load(&c.never_ran), 0);
    return 0;
}

static void test_finish_cancel_queued(void **state)
{
    bool timer = false;
    assert_int_equal(vt_run(cancel_queued_body, &timer), 0);
    timer = true;
    assert_int_equal(vt_run(cancel_queued_body, &timer), 0);
}

static int cancel_running_body(void *p)
{
    bool timer = *(bool *)p;
    ctl_t c;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    ctl_init(&c, &lim);
    waiter_t w = {.ctl = &c, .lim = &lim, .fn = block_fn, .start_r = 1, .released_at_return = -1};
    co_t *wc = co_create(vt_loop(), waiter_body, &w);
    assert_non_null(wc);
    co_enter(wc);
    assert_int_equal(w.start_r, 0);
    VT_WAIT_UNTIL(atomic_load(&c.started) == 1);
    assert_int_equal(cancel_from(wc, timer), 0);
    /* libuv cannot stop fn: the waiter returns now, the item lives on. */
    if (!timer)
        assert_int_equal(co_pause(), 0);
    assert_true(co_finished(wc));
    int r = 1;
    assert_int_equal(co_join(wc, &r), 0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(w.released_at_return, 0);
    assert_int_equal(co_sleep(10), 0);
    assert_int_equal(c.released, 0);
    assert_int_equal(atomic_load(&c.finished), 0);
    assert_int_equal(lim.inflight, 1);
    assert_int_equal(co_work_limit_close(&lim), -EBUSY);
    atomic_store(&c.go, 1);
    VT_WAIT_UNTIL(c.released == 1);
    assert_int_equal(c.finished_at_release, 1);
    assert_int_equal(c.released_off_loop, 0);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    assert_int_equal(co_sleep(5), 0);
    assert_int_equal(c.released, 1);
    return 0;
}

static void test_finish_cancel_running(void **state)
{
    bool timer = false;
    assert_int_equal(vt_run(cancel_running_body, &timer), 0);
    timer = true;
    assert_int_equal(vt_run(cancel_running_body, &timer), 0);
}

/* ---- 6. a cancel before the item reaches the pool ------------------------------ */

static co_work_item_t *const SENTINEL = (co_work_item_t *)&loop_thread;

static int pending_self_body(void *p)
{
    ctl_t *c = p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    /* With a limit and without one. */
    co_work_limit_t *lims[2] = {&lim, NULL};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(co_cancel(co_self()), 1);
        co_work_item_t *item = SENTINEL;
        assert_int_equal(co_work_start(lims[k], never_fn, harg_new(c, k), counting_release, &item),
                         -ECANCELED);
        assert_null(item);
        /* Released before start returned. */
        assert_int_equal(c->released, k + 1);
        assert_int_equal(lim.inflight, 0);
        assert_int_equal(lim.slots.len, 0);
    }
    /* One shot: the next start works. */
    harg_t h = {.ctl = c, .id = 9};
    co_work_item_t *item = NULL;
    atomic_store(&c->go, 1);
    assert_int_equal(co_work_start(&lim, block_fn, &h, counting_release, &item), 0);
    assert_int_equal(co_work_finish(item), 109);
    assert_int_equal(co_work_limit_close(&lim), 0);
    return 0;
}

typedef struct outside {
    ctl_t *ctl;            /* control */
    co_work_limit_t *lim;  /* limit, may be NULL */
    co_work_item_t *item;  /* what start left there */
    int r;                 /* start's result */
    int released_at_return; /* ctl->released when start returned */
} outside_t;

static int yield_then_start(void *p)
{
    outside_t *o = p;
    co_yield();
    o->item = SENTINEL;
    o->r = co_work_start(o->lim, never_fn, harg_new(o->ctl, 3), counting_release, &o->item);
    o->released_at_return = o->ctl->released;
    return 0;
}

static int slot_cancel_body(void *p)
{
    ctl_t *c = p;
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    ctl_t blk;
    ctl_init(&blk, NULL);
    harg_t b = {.ctl = &blk, .id = 0};
    co_work_item_t *bitem = NULL;
    assert_int_equal(co_work_start(&lim, block_fn, &b, NULL, &bitem), 0);
    /* A start waiting for the slot, cancelled there. */
    outside_t o = {.ctl = c, .lim = &lim, .r = 1, .released_at_return = -1};
    co_t *s = co_create(vt_loop(), yield_then_start, &o);
    assert_non_null(s);
    co_enter(s);
    co_enter(s);
    assert_int_equal(lim.slots.len, 1);
    assert_int_equal(co_cancel(s), 0);
    assert_int_equal(co_pause(), 0);
    assert_true(co_finished(s));
    int r = 1;
    assert_int_equal(co_join(s, &r), 0);
    assert_int_equal(o.r, -ECANCELED);
    assert_null(o.item);
    assert_int_equal(o.released_at_return, 1);
    assert_int_equal(lim.slots.len, 0);
    assert_int_equal(lim.inflight, 1);
    atomic_store(&blk.go, 1);
    assert_int_equal(co_work_finish(bitem), 100);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    return 0;
}

static void test_cancel_before_pool(void **state)
{
    /* Pending in the coroutine itself. */
    ctl_t c;
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(pending_self_body, &c), 0);
    assert_int_equal(c.released, 2);
    assert_int_equal(atomic_load(&c.never_ran), 0);

    /* Pending from outside, while the coroutine was yielded. */
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ctl_init(&c, NULL);
    outside_t o = {.ctl = &c, .lim = NULL, .r = 1, .released_at_return = -1};
    co_t *co = vt_start(&loop, yield_then_start, &o);
    assert_int_equal(co_cancel(co), 1);
    co_enter(co);
    assert_true(co_finished(co));
    assert_int_equal(vt_join(co), 0);
    assert_int_equal(o.r, -ECANCELED);
    assert_null(o.item);
    assert_int_equal(o.released_at_return, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.released, 1);
    assert_int_equal(c.released_off_loop, 0);
    vt_loop_done(&loop);

    /* Cancelled while waiting for a slot. */
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(slot_cancel_body, &c), 0);
    assert_int_equal(c.released, 1);
    assert_int_equal(atomic_load(&c.never_ran), 0);
}

/* ---- 7. fn's own -ECANCELED is a result; a cancel pending at finish drops ------- */

static int self_cancel_fn(void *arg)
{
    (void)arg;
    return -ECANCELED;
}

static int own_result_body(void *p)
{
    ctl_t *c = p;
    /* Finished: the owner gets -ECANCELED and still owns arg. */
    harg_t *h = harg_new(c, 1);
    co_work_item_t *it;
    assert_int_equal(co_work_start(NULL, self_cancel_fn, h, counting_release, &it), 0);
    assert_int_equal(co_work_finish(it), -ECANCELED);
    assert_int_equal(c->released, 0);
    free(h);
    /* Done, then dropped: released once, by the drop. */
    assert_int_equal(co_work_start(NULL, self_cancel_fn, harg_new(c, 2), counting_release, &it), 0);
    VT_WAIT_UNTIL(co_work_done(it));
    assert_int_equal(c->released, 0);
    co_work_drop(it);
    assert_int_equal(c->released, 1);
    return 0;
}

static int pending_finish_body(void *p)
{
    ctl_t *c = p;
    co_work_item_t *it;
    assert_int_equal(co_work_start(NULL, block_fn, harg_new(c, 3), counting_release, &it), 0);
    VT_WAIT_UNTIL(atomic_load(&c->started) == 1);
    /* A cancel pending when finish() starts to wait: the item is dropped. */
    assert_int_equal(co_cancel(co_self()), 1);
    assert_int_equal(co_work_finish(it), -ECANCELED);
    assert_int_equal(c->released, 0); /* fn still runs */
    atomic_store(&c->go, 1);
    VT_WAIT_UNTIL(c->released == 1);
    assert_int_equal(c->finished_at_release, 1);
    return 0;
}

static void test_own_ecanceled_and_pending_cancel(void **state)
{
    ctl_t c;
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(own_result_body, &c), 0);
    assert_int_equal(c.released, 1);
    ctl_init(&c, NULL);
    assert_int_equal(vt_run(pending_finish_body, &c), 0);
    assert_int_equal(c.released, 1);
    assert_int_equal(c.released_off_loop, 0);
}

int main(void)
{
    /* Before libuv starts its pool. */
    setenv("UV_THREADPOOL_SIZE", "4", 1);
    /* SIGPIPE ignored; a failed assertion inside a coroutine can leave the
     * runtime stuck, so a hang is killed after 60 s. */
    vt_test_setup(60);
    loop_thread = uv_thread_self();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_items),
        cmocka_unit_test(test_done_then_finish),
        cmocka_unit_test(test_start_waits_for_slot),
        cmocka_unit_test(test_drop_done),
        cmocka_unit_test(test_drop_queued),
        cmocka_unit_test(test_drop_running),
        cmocka_unit_test(test_finish_cancel_queued),
        cmocka_unit_test(test_finish_cancel_running),
        cmocka_unit_test(test_cancel_before_pool),
        cmocka_unit_test(test_own_ecanceled_and_pending_cancel),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
