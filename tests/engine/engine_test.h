/* engine_test.h — what the engine tests share beyond vmig_test.h: a fake
 * embedder whose run-control callbacks answer at once, later from a timer,
 * with an error, or only when the test says so; and closing an engine from
 * a coroutine. */
#ifndef ENGINE_TEST_H
#define ENGINE_TEST_H

#include "vmig_test.h"

#include "engine/engine.h"

#define ENGINE_TEST_TIMEOUT_S 60

/* main(): see vt_test_setup(). */
static inline void engine_test_setup(void)
{
    vt_test_setup(ENGINE_TEST_TIMEOUT_S);
}

typedef enum fake_mode {
    FAKE_SYNC,    /* answer from inside the callback */
    FAKE_LATER,   /* answer from a timer after delay_ms */
    FAKE_MANUAL,  /* the test calls vmig_engine_run_control_done() */
} fake_mode_t;

/* The embedder as the tests play it. */
typedef struct fake_vmm {
    fake_mode_t mode;          /* how callbacks answer */
    int answer;                /* what they answer (0 or a negative errno) */
    uint64_t delay_ms;         /* FAKE_LATER's delay */
    vmig_engine_t *engine;     /* the engine under test */
    uv_timer_t timer;          /* FAKE_LATER's timer */
    bool timer_open;           /* timer initialised */
    unsigned stops, starts;    /* callbacks seen */
    unsigned quits;            /* quit callbacks seen */
    vmig_shutdown_cause_t quit_cause; /* the last one's cause */
    bool closed;               /* the engine's close callback ran */
} fake_vmm_t;

static inline void fake_timer_cb(uv_timer_t *t)
{
    fake_vmm_t *f = t->data;
    assert_int_equal(vmig_engine_run_control_done(f->engine, f->answer), 0);
}

static inline void fake_answer(fake_vmm_t *f, vmig_engine_t *e)
{
    f->engine = e;
    switch (f->mode) {
    case FAKE_SYNC:
        assert_int_equal(vmig_engine_run_control_done(e, f->answer), 0);
        break;
    case FAKE_LATER:
        if (!f->timer_open) {
            uv_timer_init(vmig_engine_loop(e), &f->timer);
            f->timer.data = f;
            f->timer_open = true;
        }
        uv_update_time(vmig_engine_loop(e)); /* the delay counts from now */
        uv_timer_start(&f->timer, fake_timer_cb, f->delay_ms, 0);
        break;
    case FAKE_MANUAL:
        break;
    }
}

static inline void fake_stop(void *opaque, vmig_engine_t *e)
{
    fake_vmm_t *f = opaque;
    f->stops++;
    fake_answer(f, e);
}

static inline void fake_start(void *opaque, vmig_engine_t *e)
{
    fake_vmm_t *f = opaque;
    f->starts++;
    fake_answer(f, e);
}

static inline void fake_quit(void *opaque, vmig_engine_t *e, vmig_shutdown_cause_t cause)
{
    fake_vmm_t *f = opaque;
    f->quits++;
    f->quit_cause = cause;
}

static const vmig_run_ops_t fake_ops = {
    .stop = fake_stop,
    .start = fake_start,
    .quit = fake_quit,
};

/* A new engine on loop driven by f, in "running" (as an embedder whose vCPUs
 * run from boot declares it). */
static inline vmig_engine_t *fake_engine(uv_loop_t *loop, fake_vmm_t *f)
{
    vmig_engine_opts_t o = { .run_ops = &fake_ops, .run_opaque = f, .name = "test" };
    vmig_engine_t *e = NULL;
    assert_int_equal(vmig_engine_new(loop, &o, &e), 0);
    assert_non_null(e);
    f->engine = e;
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_RUNNING), 0);
    return e;
}

/* Initialise loop and start a fake_engine() on it driven by f (whose mode
 * and answer the caller has set). */
static inline vmig_engine_t *fake_open(uv_loop_t *loop, fake_vmm_t *f)
{
    assert_int_equal(uv_loop_init(loop), 0);
    return fake_engine(loop, f);
}

static inline void fake_closed_cb(vmig_engine_t *e, void *arg)
{
    fake_vmm_t *f = arg;
    f->closed = true;
}

/* Close the engine and f's timer; the loop must then run dry. */
static inline void fake_close(fake_vmm_t *f)
{
    assert_int_equal(vmig_engine_close(f->engine, fake_closed_cb, f), 0);
    if (f->timer_open) {
        uv_close((uv_handle_t *)&f->timer, NULL);
        f->timer_open = false;
    }
}

/* Close a fake_open() engine; the loop must then run dry with nothing left
 * open. */
static inline void fake_finish(uv_loop_t *loop, fake_vmm_t *f)
{
    fake_close(f);
    vt_loop_done(loop);
}

/* Run the loop until cond (an expression) holds, at most ~5 s. */
#define ENGINE_RUN_UNTIL(loop, cond)                                       \
    do {                                                                   \
        uint64_t t0_ = uv_hrtime();                                        \
        while (!(cond)) {                                                  \
            assert_true(vt_ms_since(t0_) < 5000);                          \
            uv_run((loop), UV_RUN_NOWAIT);                                 \
            usleep(1000);                                                  \
        }                                                                  \
    } while (0)

#endif
