/* test_work_ring.c — util/work_ring.c: inline runs outside a coroutine, FIFO takes, the pool
 * limit, depth clamps, batch reuse; cancels (waiting or pending) and fini release each batch once. */
#include "vmig_test.h"

#include <stdatomic.h>
#include <unistd.h>

#include "util/work_ring.h"

/* libuv's pool size, set by main() before the pool starts. */
#define POOL 4
/* Batches a test may allocate at most (ids index the per-batch records). */
#define MAXB 64

/* ---- a toy batch -------------------------------------------------------------- */

typedef struct toy {
    int id;              /* order of allocation, indexes g.released */
    int in;              /* input, -1 when empty */
    int out;             /* run(): 3 * in + 1; 0 when empty */
    atomic_int go;       /* run() returns once set (or g.open_all) */
    atomic_bool running; /* run() is between its first and last statement */
    atomic_bool ran;     /* run() returned since the last clear */
    char pad[200];       /* something for a leak checker to see */
} toy_t;

/* What the ops saw; reset by each test. ops->alloc takes no argument, so
 * this is global. Plain fields are touched on the loop thread only. */
static struct {
    int allocs, releases, clears;   /* calls */
    int released[MAXB];             /* release() calls per batch id */
    bool ran_at_release[MAXB];      /* the batch had run when it was released */
    int bad_release;                /* releases while run() was still running */
    int off_loop;                   /* ops other than run() called off the loop thread */
    uv_thread_t loop_thread;        /* the thread of the tests' loops */
    atomic_int open_all;            /* every run() returns at once */
    atomic_int hold_us;             /* run() sleeps this long before returning */
    atomic_int started, finished;   /* run() calls begun, returned */
    atomic_int cur, max;            /* run() calls in progress now, at most */
} g;

static void g_reset(void)
{
    memset(&g, 0, sizeof(g));
    g.loop_thread = uv_thread_self();
}

static void on_loop(void)
{
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &g.loop_thread))
        g.off_loop++;
}

static void toy_clear_fields(toy_t *t)
{
    t->in = -1;
    t->out = 0;
    atomic_store(&t->go, 1);
    atomic_store(&t->running, false);
    atomic_store(&t->ran, false);
}

static void *toy_alloc(void)
{
    on_loop();
    if (g.allocs >= MAXB)
        return NULL;
    toy_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->id = g.allocs++;
    toy_clear_fields(t);
    return t;
}

static int toy_run(void *arg)
{
    toy_t *t = arg;
    atomic_store(&t->running, true);
    int c = atomic_fetch_add(&g.cur, 1) + 1;
    int m = atomic_load(&g.max);
    while (c > m && !atomic_compare_exchange_weak(&g.max, &m, c))
        ;
    atomic_fetch_add(&g.started, 1);
    while (!atomic_load(&t->go) && !atomic_load(&g.open_all))
        usleep(200);
    int hold = atomic_load(&g.hold_us);
    if (hold)
        usleep((useconds_t)hold);
    t->out = 3 * t->in + 1;
    atomic_fetch_sub(&g.cur, 1);
    atomic_store(&t->ran, true);
    atomic_fetch_add(&g.finished, 1);
    atomic_store(&t->running, false);
    return 0;
}

static void toy_release(void *arg)
{
    toy_t *t = arg;
    on_loop();
    if (atomic_load(&t->running))
        g.bad_release++;
    g.released[t->id]++;
    g.ran_at_release[t->id] = atomic_load(&t->ran);
    g.releases++;
    free(t);
}

static void toy_clear(void *arg)
{
    on_loop();
    g.clears++;
    toy_clear_fields(arg);
}

static const vmig_work_ring_ops_t toy_ops = {
    .alloc = toy_alloc,
    .run = toy_run,
    .release = toy_release,
    .clear = toy_clear,
};

/* Every batch allocated so far was released exactly once, never while its
 * run() was running, and every op ran on the loop thread. */
static void assert_all_released_once(void)
{
    for (int i = 0; i < g.allocs; i++)
        if (g.released[i] != 1)
            fail_msg("batch %d released %d times", i, g.released[i]);
    assert_int_equal(g.releases, g.allocs);
    assert_int_equal(g.bad_release, 0);
    assert_int_equal(g.off_loop, 0);
}

/* Fill the ring's batch with input in; gate closed unless open. */
static toy_t *fill_with(vmig_work_ring_t *r, int in, bool open)
{
    toy_t *t = vmig_work_ring_fill(r);
    assert_non_null(t);
    assert_ptr_equal(vmig_work_ring_fill(r), t); /* the same batch until submitted */
    assert_int_equal(t->in, -1);                 /* empty: new or cleared */
    t->in = in;
    atomic_store(&t->go, open ? 1 : 0);
    return t;
}

/* Take the oldest batch, which must be want, done. */
static void take_expect(vmig_work_ring_t *r, bool wait, toy_t *want)
{
    void *b = NULL;
    assert_int_equal(vmig_work_ring_take(r, wait, &b), 1);
    assert_ptr_equal(b, want);
    toy_t *t = b;
    assert_true(atomic_load(&t->ran));
    assert_int_equal(t->out, 3 * t->in + 1);
}

/* ---- (a) outside a coroutine: submit runs inline -------------------------------- */

static void test_inline(void **state)
{
    g_reset();
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 2);
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    void *b = (void *)&r;
    assert_int_equal(vmig_work_ring_take(&r, true, &b), 0); /* none in flight */
    assert_null(b);
    assert_int_equal(vmig_work_ring_submit(&r), 0);         /* nothing filled: nothing to do */
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    assert_int_equal(g.allocs, 0);

    toy_t *t = fill_with(&r, 7, true);
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    /* Ran here and now, before any take, on this thread. */
    assert_int_equal(atomic_load(&g.finished), 1);
    assert_true(atomic_load(&t->ran));
    assert_int_equal(vmig_work_ring_inflight(&r), 1);
    assert_false(vmig_work_ring_full(&r));
    assert_ptr_equal(vmig_work_ring_peek(&r, 0), t);
    take_expect(&r, false, t);
    assert_int_equal(t->out, 22);
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    vmig_work_ring_recycle(&r, t);
    assert_int_equal(g.clears, 1);

    /* Depth 2: two inline batches are full, and come back in order. */
    toy_t *u = fill_with(&r, 1, true);
    assert_ptr_equal(u, t); /* the recycled one */
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    toy_t *v = fill_with(&r, 2, true);
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    assert_true(vmig_work_ring_full(&r));
    assert_int_equal(vmig_work_ring_inflight(&r), 2);
    take_expect(&r, true, u);
    take_expect(&r, true, v);
    vmig_work_ring_recycle(&r, u);
    vmig_work_ring_recycle(&r, v);
    assert_int_equal(g.allocs, 2);
    assert_int_equal(g.releases, 0);

    vmig_work_ring_fini(&r);
    vmig_work_ring_fini(&r); /* idempotent */
    assert_all_released_once();
    assert_int_equal(g.releases, 2);
}

/* ---- (b) in a coroutine: FIFO whatever order the pool finishes in ---------------- */

static int fifo_main(void *arg)
{
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 3);
    toy_t *t[3];
    for (int i = 0; i < 3; i++) {
        assert_false(vmig_work_ring_full(&r));
        t[i] = fill_with(&r, 10 + i, false);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
        assert_int_equal(vmig_work_ring_inflight(&r), (unsigned)i + 1);
    }
    assert_true(vmig_work_ring_full(&r));
    assert_int_equal(vmig_work_ring_inflight(&r), 3);
    for (unsigned i = 0; i < 3; i++)
        assert_ptr_equal(vmig_work_ring_peek(&r, i), t[i]);
    /* All three on the pool (4 threads), none finished. */
    VT_WAIT_UNTIL(atomic_load(&g.started) == 3);
    void *b = (void *)&r;
    assert_int_equal(vmig_work_ring_take(&r, false, &b), 0);
    assert_null(b);
    assert_int_equal(atomic_load(&g.finished), 0);

    /* The newer two finish first: the oldest is still what take waits for. */
    atomic_store(&t[2]->go, 1);
    atomic_store(&t[1]->go, 1);
    VT_WAIT_UNTIL(atomic_load(&g.finished) == 2);
    assert_int_equal(co_sleep(5), 0); /* their results reach the loop */
    b = (void *)&r;
    assert_int_equal(vmig_work_ring_take(&r, false, &b), 0);
    assert_null(b);
    assert_int_equal(vmig_work_ring_inflight(&r), 3);

    /* Then the oldest: the three come back in submission order. */
    atomic_store(&t[0]->go, 1);
    take_expect(&r, true, t[0]);
    assert_false(vmig_work_ring_full(&r));
    take_expect(&r, false, t[1]); /* already done: no wait needed */
    take_expect(&r, true, t[2]);
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    b = (void *)&r;
    assert_int_equal(vmig_work_ring_take(&r, true, &b), 0);
    assert_null(b);
    for (int i = 0; i < 3; i++)
        vmig_work_ring_recycle(&r, t[i]);
    assert_int_equal(g.clears, 3);
    assert_int_equal(g.releases, 0);
    vmig_work_ring_fini(&r);
    return 0;
}

static void test_fifo_on_pool(void **state)
{
    g_reset();
    assert_int_equal(vt_run(fifo_main, NULL), 0);
    assert_int_equal(g.allocs, 3);
    assert_int_equal(atomic_load(&g.max), 3); /* they did run side by side */
    assert_all_released_once();
}

/* ---- (c) the pool limit and the depth clamps --------------------------------------- */

static int limit_main(void *arg)
{
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 2), 0);
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, &lim, 8);
    assert_int_equal(r.depth, 8);
    atomic_store(&g.hold_us, 2000);
    toy_t *t[8];
    /* Submits past the limit wait for a slot; the depth allows all eight. */
    for (int i = 0; i < 8; i++) {
        t[i] = fill_with(&r, i, true);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
        assert_true(lim.inflight <= 2);
    }
    assert_true(vmig_work_ring_full(&r));
    for (int i = 0; i < 8; i++) {
        take_expect(&r, true, t[i]);
        vmig_work_ring_recycle(&r, t[i]);
    }
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    vmig_work_ring_fini(&r);
    return 0;
}

static void test_limit(void **state)
{
    g_reset();
    assert_int_equal(vt_run(limit_main, NULL), 0);
    print_message("work_ring: limit 2, depth 8: at most %d run() at once\n", atomic_load(&g.max));
    assert_true(atomic_load(&g.max) >= 1);
    assert_true(atomic_load(&g.max) <= 2);
    assert_int_equal(atomic_load(&g.finished), 8);
    assert_all_released_once();
}

static void test_depth_clamp(void **state)
{
    g_reset();
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 0);
    assert_int_equal(r.depth, 1);
    fill_with(&r, 1, true);
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    assert_true(vmig_work_ring_full(&r)); /* depth 0 acts as 1 */
    vmig_work_ring_set_depth(&r, 1000);
    assert_int_equal(r.depth, VMIG_WORK_RING_MAX);
    assert_false(vmig_work_ring_full(&r));
    vmig_work_ring_set_depth(&r, 0);
    assert_int_equal(r.depth, 1);
    assert_true(vmig_work_ring_full(&r));
    vmig_work_ring_fini(&r);
    assert_all_released_once();

    g_reset();
    vmig_work_ring_init(&r, &toy_ops, NULL, 1000);
    assert_int_equal(r.depth, VMIG_WORK_RING_MAX);
    for (unsigned i = 0; i < VMIG_WORK_RING_MAX; i++) {
        assert_false(vmig_work_ring_full(&r));
        fill_with(&r, (int)i, true);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
    }
    assert_true(vmig_work_ring_full(&r));
    assert_int_equal(vmig_work_ring_inflight(&r), VMIG_WORK_RING_MAX);
    /* A caller that ignores full() is refused; its batch stays the fill one. */
    toy_t *extra = fill_with(&r, 99, true);
    assert_int_equal(vmig_work_ring_submit(&r), -ENOSPC);
    assert_int_equal(vmig_work_ring_inflight(&r), VMIG_WORK_RING_MAX);
    assert_ptr_equal(vmig_work_ring_fill(&r), extra);
    assert_false(atomic_load(&extra->ran));
    for (unsigned i = 0; i < VMIG_WORK_RING_MAX; i++) {
        void *b = NULL;
        assert_int_equal(vmig_work_ring_take(&r, false, &b), 1);
        assert_int_equal(((toy_t *)b)->in, (int)i);
        vmig_work_ring_recycle(&r, b);
    }
    vmig_work_ring_fini(&r);
    assert_int_equal(g.allocs, VMIG_WORK_RING_MAX + 1);
    assert_all_released_once();
}

/* ---- (d) recycling reuses batches ------------------------------------------------------ */

#define ROUNDS 300

/* Run ROUNDS batches through r (depth d); takes when full; checks FIFO. */
static void rounds(vmig_work_ring_t *r)
{
    int next = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (vmig_work_ring_full(r)) {
            void *b = NULL;
            assert_int_equal(vmig_work_ring_take(r, true, &b), 1);
            assert_int_equal(((toy_t *)b)->in, next++);
            assert_int_equal(((toy_t *)b)->out, 3 * (next - 1) + 1);
            vmig_work_ring_recycle(r, b);
        }
        fill_with(r, i, true);
        assert_int_equal(vmig_work_ring_submit(r), 0);
    }
    void *b = NULL;
    while (vmig_work_ring_take(r, true, &b) == 1) {
        assert_int_equal(((toy_t *)b)->in, next++);
        vmig_work_ring_recycle(r, b);
    }
    assert_int_equal(next, ROUNDS);
    assert_int_equal(g.clears, ROUNDS); /* once per recycle */
}

static int recycle_main(void *arg)
{
    unsigned depth = *(unsigned *)arg;
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, depth);
    rounds(&r);
    assert_int_equal(g.releases, 0);
    vmig_work_ring_fini(&r);
    return 0;
}

static void test_recycle(void **state)
{
    for (unsigned depth = 1; depth <= 4; depth += 3) {
        g_reset();
        assert_int_equal(vt_run(recycle_main, &depth), 0);
        print_message("work_ring: depth %u, %d rounds: %d batches allocated\n", depth, ROUNDS,
                      g.allocs);
        assert_true(g.allocs >= 1);
        assert_true(g.allocs <= (int)depth + 2);
        assert_int_equal(atomic_load(&g.finished), ROUNDS);
        assert_all_released_once();
    }
    /* Outside a coroutine too. */
    g_reset();
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 2);
    rounds(&r);
    vmig_work_ring_fini(&r);
    assert_true(g.allocs <= 2 + 2);
    assert_all_released_once();
}

/* ---- (e) cancel while waiting ------------------------------------------------------------ */

#define CANCEL_DEPTH 6 /* 4 running on the pool, 2 queued behind them */

typedef struct cancel_case {
    toy_t *t[CANCEL_DEPTH]; /* the batches, in submission order */
    int take_rc;            /* take's result in the worker */
    int submit_rc;          /* the cancelled submit's result (slot case) */
    unsigned inflight_after; /* inflight after the cancelled call */
    bool fill_after;         /* a fill batch remained after the cancelled call */
    bool reached_wait;       /* the worker got to its waiting call */
    co_work_limit_t lim;     /* slot case: the limit */
} cancel_case_t;

static int take_worker(void *arg)
{
    cancel_case_t *c = arg;
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, CANCEL_DEPTH);
    for (int i = 0; i < CANCEL_DEPTH; i++) {
        c->t[i] = fill_with(&r, i, false);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
    }
    c->reached_wait = true;
    void *b = (void *)&r;
    c->take_rc = vmig_work_ring_take(&r, true, &b);
    if (c->take_rc != -ECANCELED || b != NULL)
        c->take_rc = -9999; /* wrong result, or a batch handed out after the cancel */
    c->inflight_after = vmig_work_ring_inflight(&r);
    c->fill_after = r.fill != NULL;
    vmig_work_ring_fini(&r);
    return 0;
}

static int cancel_take_main(void *arg)
{
    cancel_case_t *c = arg;
    co_t *w = co_create(vt_loop(), take_worker, c);
    assert_non_null(w);
    co_enter(w);
    assert_true(c->reached_wait);
    VT_WAIT_UNTIL(atomic_load(&g.started) == POOL);
    assert_int_equal(co_sleep(5), 0);
    assert_int_equal(atomic_load(&g.started), POOL); /* the other two are queued */
    assert_false(co_finished(w));
    assert_int_equal(co_cancel(w), 0);
    assert_int_equal(co_pause(), 0);
    assert_true(co_finished(w));
    int wr = -1;
    assert_int_equal(co_join(w, &wr), 0);
    assert_int_equal(wr, 0);
    assert_int_equal(c->take_rc, -ECANCELED);
    assert_int_equal(c->inflight_after, 0);
    assert_false(c->fill_after);
    /* The queued ones come back cancelled and are released; the running ones
     * stay with their pool threads. */
    VT_WAIT_UNTIL(g.releases == CANCEL_DEPTH - POOL);
    assert_int_equal(co_sleep(20), 0);
    assert_int_equal(g.releases, CANCEL_DEPTH - POOL);
    assert_int_equal(atomic_load(&g.finished), 0);
    for (int i = 0; i < POOL; i++)
        assert_int_equal(g.released[c->t[i]->id], 0); /* still alive: readable */
    atomic_store(&g.open_all, 1);
    VT_WAIT_UNTIL(g.releases == CANCEL_DEPTH);
    return 0;
}

static void test_cancel_take(void **state)
{
    g_reset();
    cancel_case_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vt_run(cancel_take_main, &c), 0);
    assert_int_equal(g.allocs, CANCEL_DEPTH);
    assert_all_released_once();
    /* The running ones were released after they ran, the queued ones never ran. */
    int ran = 0;
    for (int i = 0; i < CANCEL_DEPTH; i++)
        ran += g.ran_at_release[i];
    assert_int_equal(ran, POOL);
    assert_int_equal(atomic_load(&g.started), POOL);
    assert_int_equal(atomic_load(&g.finished), POOL);
}

/* Cancelled while submit waits for a slot of the limit: the batch being
 * submitted goes at once, the ones in flight once they ran. */
static int submit_worker(void *arg)
{
    cancel_case_t *c = arg;
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, &c->lim, 4);
    for (int i = 0; i < 2; i++) {
        c->t[i] = fill_with(&r, i, false);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
    }
    c->t[2] = fill_with(&r, 2, false);
    c->reached_wait = true;
    c->submit_rc = vmig_work_ring_submit(&r); /* waits for a slot */
    c->inflight_after = vmig_work_ring_inflight(&r);
    c->fill_after = r.fill != NULL;
    vmig_work_ring_fini(&r);
    return 0;
}

static int cancel_submit_main(void *arg)
{
    cancel_case_t *c = arg;
    assert_int_equal(co_work_limit_init(&c->lim, 2), 0);
    co_t *w = co_create(vt_loop(), submit_worker, c);
    assert_non_null(w);
    co_enter(w);
    assert_true(c->reached_wait);
    assert_false(co_finished(w));
    assert_int_equal(c->lim.slots.len, 1);
    VT_WAIT_UNTIL(atomic_load(&g.started) == 2);
    int third = c->t[2]->id;
    assert_int_equal(co_cancel(w), 0);
    assert_int_equal(co_pause(), 0);
    assert_true(co_finished(w));
    int wr = -1;
    assert_int_equal(co_join(w, &wr), 0);
    assert_int_equal(c->submit_rc, -ECANCELED);
    assert_int_equal(c->inflight_after, 0);
    assert_false(c->fill_after);
    /* The one never started is gone already; the two running are not. */
    assert_int_equal(g.released[third], 1);
    assert_false(g.ran_at_release[third]);
    assert_int_equal(g.releases, 1);
    assert_int_equal(c->lim.inflight, 2); /* the orphans keep their slots */
    atomic_store(&g.open_all, 1);
    VT_WAIT_UNTIL(g.releases == 3);
    assert_int_equal(c->lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&c->lim), 0);
    return 0;
}

static void test_cancel_submit(void **state)
{
    g_reset();
    cancel_case_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vt_run(cancel_submit_main, &c), 0);
    assert_int_equal(g.allocs, 3);
    assert_all_released_once();
    assert_int_equal(atomic_load(&g.finished), 2);
}

/* A cancel left pending (the coroutine was not waiting when it came) hits
 * the next take or submit alike: -ECANCELED, everything in flight dropped,
 * each batch released once, the running ones after they return. */
static int pending_main(void *arg)
{
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 3);
    toy_t *a = fill_with(&r, 1, false);
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    toy_t *b = fill_with(&r, 2, false);
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    VT_WAIT_UNTIL(atomic_load(&g.started) == 2);
    assert_int_equal(co_cancel(co_self()), 1); /* not waiting: left pending */
    void *got = (void *)&r;
    assert_int_equal(vmig_work_ring_take(&r, true, &got), -ECANCELED);
    assert_null(got);
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    assert_int_equal(g.released[a->id], 0); /* running: theirs until they return */
    assert_int_equal(g.released[b->id], 0);
    assert_false(atomic_load(&a->ran));

    /* The same before a submit: the batch goes at once, never run. */
    toy_t *c = fill_with(&r, 3, false);
    int cid = c->id;
    assert_int_equal(co_cancel(co_self()), 1);
    assert_int_equal(vmig_work_ring_submit(&r), -ECANCELED);
    assert_int_equal(g.released[cid], 1);
    assert_false(g.ran_at_release[cid]);
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    assert_null(r.fill);

    atomic_store(&g.open_all, 1);
    VT_WAIT_UNTIL(g.releases == 3);
    vmig_work_ring_fini(&r);
    return 0;
}

static void test_cancel_pending(void **state)
{
    g_reset();
    assert_int_equal(vt_run(pending_main, NULL), 0);
    assert_int_equal(g.allocs, 3);
    assert_all_released_once();
    assert_int_equal(atomic_load(&g.finished), 2);
}

/* ---- (f) fini with everything in some state ----------------------------------------------- */

typedef struct fini_case {
    int done_id;     /* a batch done on the pool, not taken */
    int queued_id;   /* a batch still queued behind POOL running ones */
    int fill_id;     /* the batch being filled */
    int spare_left;  /* spares left at fini */
    int released_at_fini; /* releases right after fini */
} fini_case_t;

static int fini_main(void *arg)
{
    fini_case_t *c = arg;
    vmig_work_ring_t r;
    vmig_work_ring_init(&r, &toy_ops, NULL, 8);
    /* Eight spares: one more than the rest of the test uses. */
    toy_t *sp[8];
    for (int i = 0; i < 8; i++) {
        sp[i] = fill_with(&r, i, true);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
    }
    for (int i = 0; i < 8; i++) {
        take_expect(&r, true, sp[i]);
        vmig_work_ring_recycle(&r, sp[i]);
    }
    /* One done on the pool, its result on the loop, not taken. */
    toy_t *d = fill_with(&r, 2, true);
    c->done_id = d->id;
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    VT_WAIT_UNTIL(co_work_done(r.q[r.head].item));
    /* POOL blocked ones, and one queued behind them. */
    for (int i = 0; i < POOL; i++) {
        fill_with(&r, 10 + i, false);
        assert_int_equal(vmig_work_ring_submit(&r), 0);
    }
    VT_WAIT_UNTIL(atomic_load(&g.started) == 9 + POOL);
    toy_t *q = fill_with(&r, 20, false);
    c->queued_id = q->id;
    assert_int_equal(vmig_work_ring_submit(&r), 0);
    /* And one being filled. */
    toy_t *f = fill_with(&r, 30, false);
    c->fill_id = f->id;
    c->spare_left = (int)r.nspare;
    assert_int_equal(vmig_work_ring_inflight(&r), 1 + POOL + 1);
    int before = g.releases;
    vmig_work_ring_fini(&r);
    vmig_work_ring_fini(&r); /* idempotent */
    c->released_at_fini = g.releases - before;
    assert_int_equal(vmig_work_ring_inflight(&r), 0);
    /* The running ones are not touched until they return. */
    assert_int_equal(co_sleep(20), 0);
    assert_int_equal(g.released[c->queued_id], 1); /* cancelled off the queue meanwhile */
    assert_int_equal(g.releases, before + 4);
    assert_int_equal(atomic_load(&g.finished), 9);
    atomic_store(&g.open_all, 1);
    VT_WAIT_UNTIL(g.releases == g.allocs);
    return 0;
}

static void test_fini(void **state)
{
    g_reset();
    fini_case_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vt_run(fini_main, &c), 0);
    /* The later batches all reused spares, one of which was left. */
    assert_int_equal(g.allocs, 8);
    assert_int_equal(c.spare_left, 1);
    /* At fini itself: the done one, the fill one and the spare; the queued
     * one comes back from libuv later, the running ones once they return. */
    assert_int_equal(c.released_at_fini, 3);
    assert_int_equal(g.released[c.done_id], 1);
    assert_true(g.ran_at_release[c.done_id]);
    assert_false(g.ran_at_release[c.fill_id]);
    assert_false(g.ran_at_release[c.queued_id]); /* dropped from the queue: never ran */
    assert_all_released_once();
    assert_int_equal(atomic_load(&g.finished), 9 + POOL);
}

int main(void)
{
    /* Before libuv starts its pool: POOL threads are easy to fill. */
    setenv("UV_THREADPOOL_SIZE", "4", 1);
    vt_test_setup(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_fifo_on_pool),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_depth_clamp),
        cmocka_unit_test(test_recycle),
        cmocka_unit_test(test_cancel_take),
        cmocka_unit_test(test_cancel_submit),
        cmocka_unit_test(test_cancel_pending),
        cmocka_unit_test(test_fini),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
