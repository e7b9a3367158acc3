/* vmm_workload.c — the vCPUs of --machine none: host threads that write
 * random bytes into random pages at a set rate while the VM runs. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

/* The target page (what the dirty log counts) and the pacing slice, which
 * is also the slice QEMU's auto-converge throttle is expressed in. */
#define WL_PAGE 4096u
#define WL_SLICE_NS 10000000LL

/* What the loop wants the threads to do. */
enum { WL_RUN, WL_PAUSE, WL_EXIT };

typedef struct wl_thread {
    struct vmm_workload *wl; /* back pointer */
    pthread_t tid;           /* the thread */
    uint64_t seed;           /* its own random sequence */
} wl_thread_t;

struct vmm_workload {
    uint8_t *host;              /* start of the block's memory */
    uint64_t npages;            /* its length in target pages */
    vmig_ram_block_t *block;    /* for vmig_ram_block_mark_dirty() */
    uint64_t millipages_per_slice; /* each thread's budget per slice, in 1/1000 pages */
    wl_thread_t *threads;       /* nthreads entries */
    unsigned nthreads;          /* how many were asked for */
    unsigned started;           /* how many were created (joined at close) */
    atomic_int want;            /* WL_*: polled by the threads between two writes */
    atomic_int throttle;        /* percent of each slice spent sleeping */
    pthread_mutex_t lock;       /* guards parked, pause_pending and the waits */
    pthread_cond_t cond;        /* want changed (CLOCK_MONOTONIC for timed waits) */
    unsigned parked;            /* threads waiting in the paused state */
    bool pause_pending;         /* a pause not yet answered with done() */
    void (*done)(void *arg);    /* its answer, called on the loop */
    void *done_arg;             /* argument of done */
    uv_async_t async;           /* the last thread to park wakes the loop with it */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* xorshift64*: fast, good enough to scatter writes, no shared state. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

/* Sleep until the monotonic time deadline (ns) unless want leaves WL_RUN
 * first: a stop must not wait for the end of a slice. True if still running. */
static bool wl_sleep_until(vmm_workload_t *wl, int64_t deadline)
{
    struct timespec ts = { .tv_sec = deadline / 1000000000LL,
                           .tv_nsec = deadline % 1000000000LL };
    pthread_mutex_lock(&wl->lock);
    while (atomic_load(&wl->want) == WL_RUN && now_ns() < deadline) {
        if (pthread_cond_timedwait(&wl->cond, &wl->lock, &ts) == ETIMEDOUT)
            break;
    }
    bool run = atomic_load(&wl->want) == WL_RUN;
    pthread_mutex_unlock(&wl->lock);
    return run;
}

/* Wait while paused. The thread that completes the set of parked threads
 * wakes the loop, which answers the pending stop. True to run again, false
 * to exit. */
static bool wl_park(vmm_workload_t *wl)
{
    pthread_mutex_lock(&wl->lock);
    wl->parked++;
    if (wl->parked == wl->started && wl->pause_pending)
        uv_async_send(&wl->async);
    while (atomic_load(&wl->want) == WL_PAUSE)
        pthread_cond_wait(&wl->cond, &wl->lock);
    wl->parked--;
    bool run = atomic_load(&wl->want) == WL_RUN;
    pthread_mutex_unlock(&wl->lock);
    return run;
}

static void *wl_thread_main(void *arg)
{
    wl_thread_t *t = arg;
    vmm_workload_t *wl = t->wl;
    uint64_t seed = t->seed;
    uint64_t carry = 0; /* fraction of a page left over from the last slice */
    int64_t slice_start = now_ns();
    for (;;) {
        if (atomic_load_explicit(&wl->want, memory_order_acquire) != WL_RUN) {
            if (!wl_park(wl))
                break;
            /* A fresh start: no burst to make up for the time paused. */
            slice_start = now_ns();
            carry = 0;
        }
        int pct = atomic_load_explicit(&wl->throttle, memory_order_relaxed);
        if (pct > 0 && !wl_sleep_until(wl, slice_start + WL_SLICE_NS * pct / 100))
            continue;
        uint64_t budget = carry + wl->millipages_per_slice * (uint64_t)(100 - pct) / 100;
        uint64_t n = budget / 1000;
        carry = budget % 1000;
        for (uint64_t i = 0; i < n; i++) {
            if (atomic_load_explicit(&wl->want, memory_order_relaxed) != WL_RUN)
                break;
            uint64_t r = rnd(&seed);
            uint64_t off = (r % wl->npages) * WL_PAGE + ((r >> 40) % (WL_PAGE / 8)) * 8;
            /* The guest's write, then its trace in the dirty log, in that
             * order: a page copied after the mark carries this value. */
            *(volatile uint64_t *)(wl->host + off) = rnd(&seed);
            vmig_ram_block_mark_dirty(wl->block, off, 8);
        }
        slice_start += WL_SLICE_NS;
        int64_t now = now_ns();
        if (slice_start < now - WL_SLICE_NS)
            slice_start = now; /* fell behind (host busy): do not try to catch up */
        wl_sleep_until(wl, slice_start);
    }
    return NULL;
}

/* On the loop: the last thread parked. Answer the pause if it still stands
 * (a start may have come in between). */
static void wl_on_async(uv_async_t *a)
{
    vmm_workload_t *wl = a->data;
    pthread_mutex_lock(&wl->lock);
    bool fire = wl->pause_pending && wl->parked == wl->started &&
                atomic_load(&wl->want) == WL_PAUSE;
    if (fire)
        wl->pause_pending = false;
    pthread_mutex_unlock(&wl->lock);
    if (fire)
        wl->done(wl->done_arg);
}

static void wl_free(vmm_workload_t *wl)
{
    pthread_cond_destroy(&wl->cond);
    pthread_mutex_destroy(&wl->lock);
    free(wl->threads);
    free(wl);
}

static void wl_async_closed(uv_handle_t *h)
{
    wl_free(h->data);
}

/* Stop and join every thread created so far. */
static void wl_join(vmm_workload_t *wl)
{
    pthread_mutex_lock(&wl->lock);
    atomic_store(&wl->want, WL_EXIT);
    pthread_cond_broadcast(&wl->cond);
    pthread_mutex_unlock(&wl->lock);
    for (unsigned i = 0; i < wl->started; i++)
        pthread_join(wl->threads[i].tid, NULL);
    wl->started = 0;
}

int vmm_workload_new(uv_loop_t *loop, const vmm_workload_opts_t *opts, vmm_workload_t **out)
{
    if (!opts->block || opts->nthreads == 0)
        return -EINVAL;
    vmm_workload_t *wl = calloc(1, sizeof(*wl));
    if (!wl)
        return -ENOMEM;
    wl->threads = calloc(opts->nthreads, sizeof(*wl->threads));
    if (!wl->threads) {
        free(wl);
        return -ENOMEM;
    }
    wl->host = vmig_ram_block_host(opts->block);
    wl->npages = vmig_ram_block_length(opts->block) / WL_PAGE;
    wl->block = opts->block;
    wl->nthreads = opts->nthreads;
    /* rate bytes/s -> pages per 10 ms slice per thread, kept in 1/1000 pages
     * so that low rates and many threads still add up to the asked rate. */
    wl->millipages_per_slice = opts->rate / WL_PAGE * 1000 / 100 / opts->nthreads;
    atomic_init(&wl->want, WL_PAUSE);
    atomic_init(&wl->throttle, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wl->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&wl->lock, NULL);
    int r = uv_async_init(loop, &wl->async, wl_on_async);
    if (r < 0) {
        wl_free(wl);
        return r;
    }
    wl->async.data = wl;
    uint64_t base = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    for (unsigned i = 0; i < opts->nthreads; i++) {
        wl_thread_t *t = &wl->threads[i];
        t->wl = wl;
        t->seed = (base + (i + 1) * 0x9E3779B97F4A7C15ULL) | 1;
        r = -pthread_create(&t->tid, NULL, wl_thread_main, t);
        if (r < 0) {
            wl_join(wl);
            uv_close((uv_handle_t *)&wl->async, wl_async_closed);
            return r;
        }
        pthread_mutex_lock(&wl->lock); /* wl_park() compares parked with it */
        wl->started++;
        pthread_mutex_unlock(&wl->lock);
    }
    *out = wl;
    return 0;
}

void vmm_workload_start(vmm_workload_t *wl)
{
    pthread_mutex_lock(&wl->lock);
    wl->pause_pending = false;
    atomic_store(&wl->want, WL_RUN);
    pthread_cond_broadcast(&wl->cond);
    pthread_mutex_unlock(&wl->lock);
}

void vmm_workload_pause(vmm_workload_t *wl, void (*done)(void *arg), void *arg)
{
    pthread_mutex_lock(&wl->lock);
    atomic_store(&wl->want, WL_PAUSE);
    wl->done = done;
    wl->done_arg = arg;
    /* Still parked from an earlier pause (a start they have not woken up
     * for yet): they wrote nothing since, so the pause is already true. */
    bool all = wl->parked == wl->started;
    wl->pause_pending = !all;
    pthread_cond_broadcast(&wl->cond);
    pthread_mutex_unlock(&wl->lock);
    if (all)
        done(arg);
}

void vmm_workload_set_throttle(vmm_workload_t *wl, int percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 99)
        percent = 99;
    atomic_store(&wl->throttle, percent);
}

void vmm_workload_close(vmm_workload_t *wl)
{
    wl_join(wl);
    /* Joined threads write nothing more: a pause still waiting is true now. */
    bool answer = wl->pause_pending;
    wl->pause_pending = false;
    if (answer)
        wl->done(wl->done_arg);
    uv_close((uv_handle_t *)&wl->async, wl_async_closed);
}
