/* engine_runstate.c — QEMU 7.2's run states and their transition table, and
 * asynchronous run control: the engine asks the embedder to stop or start
 * the vCPUs and waits, in a coroutine, for its answer. */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"

static const char *const run_state_names[VMIG_RUN_STATE__MAX] = {
#define XX(c, s) [VMIG_RUN_STATE_##c] = s,
    VMIG_RUN_STATE_MAP(XX)
#undef XX
};

static const char *const shutdown_cause_names[VMIG_SHUTDOWN__MAX] = {
#define XX(c, s) [VMIG_SHUTDOWN_##c] = s,
    VMIG_SHUTDOWN_CAUSE_MAP(XX)
#undef XX
};

const char *vmig_run_state_name(vmig_run_state_t s)
{
    if ((unsigned)s >= VMIG_RUN_STATE__MAX)
        return NULL;
    return run_state_names[s];
}

int vmig_run_state_from_name(const char *name)
{
    if (!name)
        return -EINVAL;
    for (int i = 0; i < VMIG_RUN_STATE__MAX; i++)
        if (!strcmp(run_state_names[i], name))
            return i;
    return -EINVAL;
}

const char *vmig_shutdown_cause_name(vmig_shutdown_cause_t c)
{
    if ((unsigned)c >= VMIG_SHUTDOWN__MAX)
        return NULL;
    return shutdown_cause_names[c];
}

/* QEMU 7.2's runstate_transitions_def (softmmu/runstate.c), one row per
 * source state: a bit per destination state. QEMU aborts on a transition
 * not in the table; the engine refuses it with -EINVAL instead. */
#define B(s) (1u << VMIG_RUN_STATE_##s)
static const unsigned run_state_next[VMIG_RUN_STATE__MAX] = {
    [VMIG_RUN_STATE_PRELAUNCH] = B(INMIGRATE) | B(RUNNING) | B(FINISH_MIGRATE),
    [VMIG_RUN_STATE_DEBUG] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH) | B(SUSPENDED),
    [VMIG_RUN_STATE_INMIGRATE] = B(INTERNAL_ERROR) | B(IO_ERROR) | B(PAUSED) | B(RUNNING) |
                                 B(SHUTDOWN) | B(SUSPENDED) | B(WATCHDOG) |
                                 B(GUEST_PANICKED) | B(FINISH_MIGRATE) | B(PRELAUNCH) |
                                 B(POSTMIGRATE) | B(COLO),
    [VMIG_RUN_STATE_INTERNAL_ERROR] = B(PAUSED) | B(FINISH_MIGRATE) | B(PRELAUNCH),
    [VMIG_RUN_STATE_IO_ERROR] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH),
    [VMIG_RUN_STATE_PAUSED] = B(RUNNING) | B(FINISH_MIGRATE) | B(POSTMIGRATE) |
                              B(PRELAUNCH) | B(COLO),
    [VMIG_RUN_STATE_POSTMIGRATE] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH),
    [VMIG_RUN_STATE_FINISH_MIGRATE] = B(RUNNING) | B(PAUSED) | B(POSTMIGRATE) |
                                      B(PRELAUNCH) | B(COLO),
    [VMIG_RUN_STATE_RESTORE_VM] = B(RUNNING) | B(PRELAUNCH),
    [VMIG_RUN_STATE_COLO] = B(RUNNING) | B(PRELAUNCH) | B(SHUTDOWN),
    [VMIG_RUN_STATE_RUNNING] = B(DEBUG) | B(INTERNAL_ERROR) | B(IO_ERROR) | B(PAUSED) |
                               B(FINISH_MIGRATE) | B(RESTORE_VM) | B(SAVE_VM) |
                               B(SHUTDOWN) | B(WATCHDOG) | B(GUEST_PANICKED) | B(COLO) |
                               B(SUSPENDED),
    [VMIG_RUN_STATE_SAVE_VM] = B(RUNNING),
    [VMIG_RUN_STATE_SHUTDOWN] = B(PAUSED) | B(FINISH_MIGRATE) | B(PRELAUNCH) | B(COLO),
    [VMIG_RUN_STATE_SUSPENDED] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH) | B(COLO),
    [VMIG_RUN_STATE_WATCHDOG] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH) | B(COLO),
    [VMIG_RUN_STATE_GUEST_PANICKED] = B(RUNNING) | B(FINISH_MIGRATE) | B(PRELAUNCH),
};
#undef B

bool vmig_run_state_transition_valid(vmig_run_state_t from, vmig_run_state_t to)
{
    if ((unsigned)from >= VMIG_RUN_STATE__MAX || (unsigned)to >= VMIG_RUN_STATE__MAX)
        return false;
    /* QEMU's runstate_set() returns early when the state does not change. */
    if (from == to)
        return true;
    return (run_state_next[from] >> to) & 1u;
}

vmig_run_state_t vmig_engine_run_state(const vmig_engine_t *e)
{
    return e->state;
}

bool vmig_engine_is_running(const vmig_engine_t *e)
{
    return e->state == VMIG_RUN_STATE_RUNNING;
}

int vmig_engine_set_run_state(vmig_engine_t *e, vmig_run_state_t state)
{
    if (!e || (unsigned)state >= VMIG_RUN_STATE__MAX)
        return -EINVAL;
    /* The answer to a pending request would overwrite it. */
    if (e->op.active)
        return -EBUSY;
    if (!vmig_run_state_transition_valid(e->state, state))
        return -EINVAL;
    e->state = state;
    return 0;
}

bool vmig_engine_autostart(const vmig_engine_t *e)
{
    return e->autostart;
}

void vmig_engine_set_autostart(vmig_engine_t *e, bool on)
{
    e->autostart = on;
}

/* ---- the lock ------------------------------------------------------------------- */

int engine_run_lock(vmig_engine_t *e)
{
    if (!e->run_busy) {
        e->run_busy = true;
        return 0;
    }
    /* FIFO with hand-over: a `stop` behind a pending `stop` runs after it
     * and finds the VM paused, as two stops in a row do in QEMU. */
    return co_waitq_wait(&e->run_waitq);
}

void engine_run_unlock(vmig_engine_t *e)
{
    /* The oldest waiter inherits the lock (run_busy stays set). */
    if (!co_waitq_wake_one(&e->run_waitq))
        e->run_busy = false;
}

/* ---- one request ---------------------------------------------------------------- */

/* Apply an answered request: the state moves only if nothing else moved it
 * meanwhile (a shutdown), and only on success. */
static void op_apply(vmig_engine_t *e)
{
    engine_run_op_t *op = &e->op;
    if (op->result < 0 || e->state != op->from)
        return;
    e->state = op->target;
    if (op->send_event)
        vmig_engine_event(e, op->start ? "RESUME" : "STOP", NULL);
}

static void op_cancel(co_t *co, void *data)
{
    vmig_engine_t *e = data;
    /* The request stays with the embedder (the vCPUs are in an unknown
     * state until it answers): the lock passes to the answer. */
    e->op.waiter = NULL;
    co_wake(co, -ECANCELED);
}

int engine_run_request(vmig_engine_t *e, bool start, vmig_run_state_t target, bool send_event,
                       bool *lock_passed)
{
    engine_run_op_t *op = &e->op;
    *lock_passed = false;
    *op = (engine_run_op_t){
        .active = true,
        .start = start,
        .in_callback = true,
        .send_event = send_event,
        .from = e->state,
        .target = target,
    };
    void (*fn)(void *, vmig_engine_t *) = start ? e->ops.start : e->ops.stop;
    if (fn)
        fn(e->ops_opaque, e);
    else
        vmig_engine_run_control_done(e, 0); /* no vCPUs: done at once */
    op->in_callback = false;
    if (op->answered)
        return op->result;
    op->waiter = co_self();
    int r = co_wait(op_cancel, e);
    if (op->active) {
        /* Cancelled (perhaps before suspending, when a cancel was pending):
         * the answer will apply the request and release the lock. */
        op->waiter = NULL;
        *lock_passed = true;
        return -ECANCELED;
    }
    return r;
}

int vmig_engine_run_control_done(vmig_engine_t *e, int result)
{
    if (!e)
        return -EINVAL;
    engine_run_op_t *op = &e->op;
    if (!op->active || op->answered)
        return -EINVAL;
    op->answered = true;
    op->active = false;
    op->result = result > 0 ? -EIO : result;
    op_apply(e);
    if (op->in_callback)
        return 0; /* engine_run_request() sees the answer when the callback returns */
    co_t *waiter = op->waiter;
    op->waiter = NULL;
    if (waiter)
        co_wake(waiter, op->result);
    else
        engine_run_unlock(e); /* the requester gave up: the lock was ours */
    return 0;
}

/* ---- QEMU's vm_stop / vm_start ------------------------------------------------ */

int engine_vm_stop_locked(vmig_engine_t *e, vmig_run_state_t state, bool force,
                          bool *lock_passed)
{
    *lock_passed = false;
    if (!vmig_engine_is_running(e)) {
        if (!force)
            return 0;
        if (!vmig_run_state_transition_valid(e->state, state))
            return -EINVAL;
        e->state = state;
        return 0;
    }
    if (!vmig_run_state_transition_valid(e->state, state))
        return -EINVAL;
    return engine_run_request(e, false, state, true, lock_passed);
}

static int vm_stop(vmig_engine_t *e, vmig_run_state_t state, bool force)
{
    if ((unsigned)state >= VMIG_RUN_STATE__MAX)
        return -EINVAL;
    int r = engine_run_lock(e);
    if (r < 0)
        return r;
    bool lock_passed = false;
    r = engine_vm_stop_locked(e, state, force, &lock_passed);
    if (!lock_passed)
        engine_run_unlock(e);
    return r;
}

int vmig_engine_vm_stop(vmig_engine_t *e, vmig_run_state_t state)
{
    return vm_stop(e, state, false);
}

int vmig_engine_vm_stop_force_state(vmig_engine_t *e, vmig_run_state_t state)
{
    return vm_stop(e, state, true);
}

int engine_vm_start_locked(vmig_engine_t *e, bool *lock_passed)
{
    *lock_passed = false;
    if (vmig_engine_is_running(e))
        return 0;
    if (!vmig_run_state_transition_valid(e->state, VMIG_RUN_STATE_RUNNING))
        return -EINVAL;
    return engine_run_request(e, true, VMIG_RUN_STATE_RUNNING, true, lock_passed);
}

int vmig_engine_vm_start(vmig_engine_t *e)
{
    int r = engine_run_lock(e);
    if (r < 0)
        return r;
    bool lock_passed = false;
    r = engine_vm_start_locked(e, &lock_passed);
    if (!lock_passed)
        engine_run_unlock(e);
    return r;
}
