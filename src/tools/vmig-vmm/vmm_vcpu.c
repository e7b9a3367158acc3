/* vmm_vcpu.c — the demo machine's vCPU thread: runs the backend (KVM or
 * simulated) while the VM runs, parks on stop, paces the walk to
 * --dirty-rate and sleeps the auto-converge throttle's share of each slice. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm_demo.h"

/* The throttle's time slice, QEMU's CPU_THROTTLE_TIMESLICE_NS. */
#define VCPU_SLICE_NS 10000000LL

/* What the loop wants the thread to do. */
enum { VCPU_RUN, VCPU_PAUSE, VCPU_EXIT };

struct vmm_vcpu {
    const vmm_vcpu_backend_t *ops; /* the backend */
    void *be;                      /* its state */
    uint64_t rate;                 /* bytes/s of pages walked, 0: unpaced */
    pthread_t tid;                 /* the thread */
    bool started;                  /* tid is valid (joined at close) */
    bool broken;                   /* the guest failed: it only halts from now on (thread's) */
    atomic_int want;               /* VCPU_*: checked at every exit */
    atomic_int throttle;           /* percent of each slice spent sleeping */
    pthread_mutex_t lock;          /* guards parked, pause_pending and the waits */
    pthread_cond_t cond;           /* want changed (CLOCK_MONOTONIC for timed waits) */
    bool parked;                   /* the thread waits in the paused state */
    bool pause_pending;            /* a pause not yet answered with done() */
    void (*done)(void *arg);       /* its answer, called on the loop */
    void *done_arg;                /* argument of done */
    uv_async_t async;              /* the thread wakes the loop with it once parked */
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleep until deadline (monotonic ns, INT64_MAX: no deadline) unless want
 * leaves VCPU_RUN first: a stop must not wait for a sleep to end. */
static void vcpu_sleep_until(vmm_vcpu_t *v, int64_t deadline)
{
    struct timespec ts = { .tv_sec = deadline / 1000000000LL,
                           .tv_nsec = deadline % 1000000000LL };
    pthread_mutex_lock(&v->lock);
    while (atomic_load(&v->want) == VCPU_RUN && now_ns() < deadline) {
        int r = deadline == INT64_MAX ? pthread_cond_wait(&v->cond, &v->lock)
                                      : pthread_cond_timedwait(&v->cond, &v->lock, &ts);
        if (r == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&v->lock);
}

/* Wait while paused, the registers saved; true to run again, false to exit. */
static bool vcpu_park(vmm_vcpu_t *v)
{
    int r = v->ops->park(v->be);
    if (r < 0 && !v->broken) {
        fprintf(stderr, "vmig-vmm: cannot read the vCPU state: %s\n", strerror(-r));
        v->broken = true;
    }
    pthread_mutex_lock(&v->lock);
    v->parked = true;
    if (v->pause_pending)
        uv_async_send(&v->async);
    while (atomic_load(&v->want) == VCPU_PAUSE)
        pthread_cond_wait(&v->cond, &v->lock);
    v->parked = false;
    bool run = atomic_load(&v->want) == VCPU_RUN;
    pthread_mutex_unlock(&v->lock);
    if (run && !v->broken) {
        /* A migration may have loaded new registers while we were parked. */
        r = v->ops->unpark(v->be);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot load the vCPU state: %s\n", strerror(-r));
            v->broken = true;
        }
    }
    return run;
}

/* The walk's budget for one slice at --dirty-rate, in 1/1000 pages, less
 * the throttle's share: throttled, a paced guest walks (100 - pct) % as fast. */
static int64_t vcpu_slice_budget(const vmm_vcpu_t *v, int pct)
{
    uint64_t per_slice = v->rate * 1000 / VMM_DEMO_PAGE * VCPU_SLICE_NS / 1000000000LL;
    return (int64_t)(per_slice * (uint64_t)(100 - pct) / 100);
}

static void *vcpu_main(void *arg)
{
    vmm_vcpu_t *v = arg;
    int64_t slice_start = now_ns();
    int64_t budget = 0; /* paced: what is left of this slice's walk, 1/1000 pages */
    for (;;) {
        if (atomic_load_explicit(&v->want, memory_order_acquire) != VCPU_RUN) {
            if (!vcpu_park(v))
                break;
            /* A fresh start: no burst to make up for the time paused. */
            slice_start = now_ns();
            budget = vcpu_slice_budget(v, 0);
        }
        int pct = atomic_load_explicit(&v->throttle, memory_order_relaxed);
        if (v->rate && budget <= 0) {
            /* This slice's pages are walked: wait for the next slice. */
            vcpu_sleep_until(v, slice_start + VCPU_SLICE_NS);
            slice_start += VCPU_SLICE_NS;
            if (now_ns() - slice_start > VCPU_SLICE_NS)
                slice_start = now_ns(); /* fell behind (host busy): no burst to catch up */
            budget += vcpu_slice_budget(v, pct);
            continue;
        }
        unsigned pages = 0;
        int r = v->broken ? VMM_EXIT_HALT : v->ops->run(v->be, &pages);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: the vCPU stopped working: %s\n", strerror(-r));
            v->broken = true;
            continue;
        }
        if (r == VMM_EXIT_HALT) {
            vcpu_sleep_until(v, INT64_MAX); /* nothing to do until the next stop */
            continue;
        }
        if (r != VMM_EXIT_PAGES)
            continue;
        if (v->rate) {
            budget -= (int64_t)pages * 1000; /* a chunk may overdraw: the debt carries */
            continue;
        }
        /* Unpaced and throttled: run (100 - pct) % of each slice, sleep the rest. */
        int64_t now = now_ns();
        if (pct > 0 && now - slice_start >= VCPU_SLICE_NS * (100 - pct) / 100) {
            vcpu_sleep_until(v, slice_start + VCPU_SLICE_NS);
            slice_start = now_ns();
        } else if (now - slice_start >= VCPU_SLICE_NS) {
            slice_start = now;
        }
    }
    return NULL;
}

/* On the loop: the thread parked. Answer the pause if it still stands. */
static void vcpu_on_async(uv_async_t *a)
{
    vmm_vcpu_t *v = a->data;
    pthread_mutex_lock(&v->lock);
    bool fire = v->pause_pending && v->parked && atomic_load(&v->want) == VCPU_PAUSE;
    if (fire)
        v->pause_pending = false;
    pthread_mutex_unlock(&v->lock);
    if (fire)
        v->done(v->done_arg);
}

static void vcpu_free(vmm_vcpu_t *v)
{
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

static void vcpu_async_closed(uv_handle_t *h)
{
    vcpu_free(h->data);
}

int vmm_vcpu_new(uv_loop_t *loop, const vmm_vcpu_backend_t *ops, void *be, uint64_t rate,
                 vmm_vcpu_t **out)
{
    vmm_vcpu_t *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->ops = ops;
    v->be = be;
    v->rate = rate;
    atomic_init(&v->want, VCPU_PAUSE);
    atomic_init(&v->throttle, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&v->lock, NULL);
    int r = uv_async_init(loop, &v->async, vcpu_on_async);
    if (r < 0) {
        vcpu_free(v);
        return r;
    }
    v->async.data = v;
    r = -pthread_create(&v->tid, NULL, vcpu_main, v);
    if (r < 0) {
        uv_close((uv_handle_t *)&v->async, vcpu_async_closed);
        return r;
    }
    v->started = true;
    *out = v;
    return 0;
}

void vmm_vcpu_start(vmm_vcpu_t *v)
{
    pthread_mutex_lock(&v->lock);
    v->pause_pending = false;
    atomic_store(&v->want, VCPU_RUN);
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

void vmm_vcpu_pause(vmm_vcpu_t *v, void (*done)(void *arg), void *arg)
{
    pthread_mutex_lock(&v->lock);
    atomic_store(&v->want, VCPU_PAUSE);
    v->done = done;
    v->done_arg = arg;
    /* Still parked from an earlier pause (a start it has not woken up for
     * yet): it ran nothing since, so the pause is already true. */
    bool already = v->parked;
    v->pause_pending = !already;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    if (already)
        done(arg);
    else
        v->ops->kick(v->be, v->tid); /* out of KVM_RUN now, not at the next exit */
}

void vmm_vcpu_set_throttle(vmm_vcpu_t *v, int percent)
{
    if (percent < 0)
        percent = 0;
    if (percent > 99)
        percent = 99;
    atomic_store(&v->throttle, percent);
}

void vmm_vcpu_close(vmm_vcpu_t *v)
{
    pthread_mutex_lock(&v->lock);
    atomic_store(&v->want, VCPU_EXIT);
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    if (v->started) {
        v->ops->kick(v->be, v->tid);
        pthread_join(v->tid, NULL);
        v->started = false;
    }
    /* The joined thread runs nothing more: a pause still waiting is true now. */
    bool answer = v->pause_pending;
    v->pause_pending = false;
    if (answer)
        v->done(v->done_arg);
    uv_close((uv_handle_t *)&v->async, vcpu_async_closed);
}
