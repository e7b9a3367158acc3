/* vmig.h — the engine: one per VM, bound to the embedder's libuv loop; its
 * run state (QEMU's RunState), asynchronous run control and QMP monitor. */
#ifndef VMIG_VMIG_H
#define VMIG_VMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "vmig/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Lifetime rule (as libuv's handles)
 * - An engine is created with vmig_engine_new() and stays valid until the
 *   callback given to vmig_engine_close() has run; the loop must keep running
 *   until then. After that callback the engine never calls the embedder again.
 * - Every function runs on the loop's thread. The embedder's callbacks are
 *   called on it too, from the loop's own stack or from a coroutine: they
 *   must not block, and they may call back into the engine.
 * - A stop or start the engine asked for is pending until the embedder calls
 *   vmig_engine_run_control_done(); vmig_engine_close() waits for it, so the
 *   embedder must answer every request it received, even while closing.
 * - No global state: several engines (and loops) may live in one process.
 * - The process ignores SIGPIPE (signal(SIGPIPE, SIG_IGN), as QEMU does):
 *   libuv writes with write(2), and a migration peer that went away must
 *   fail the migration with EPIPE, not kill the process.
 *
 * Errors: functions return 0 (or a value) on success and a negative errno
 * value from vmig/error.h on failure; with a vmig_error_t, the first error's
 * human message too. Bad input never aborts.
 */

typedef struct vmig_engine vmig_engine_t;

/* QEMU 7.2's RunState, in its QAPI order (query-status "status"). */
#define VMIG_RUN_STATE_MAP(XX)                     \
    XX(DEBUG, "debug")                             \
    XX(INMIGRATE, "inmigrate")                     \
    XX(INTERNAL_ERROR, "internal-error")           \
    XX(IO_ERROR, "io-error")                       \
    XX(PAUSED, "paused")                           \
    XX(POSTMIGRATE, "postmigrate")                 \
    XX(PRELAUNCH, "prelaunch")                     \
    XX(FINISH_MIGRATE, "finish-migrate")           \
    XX(RESTORE_VM, "restore-vm")                   \
    XX(RUNNING, "running")                         \
    XX(SAVE_VM, "save-vm")                         \
    XX(SHUTDOWN, "shutdown")                       \
    XX(SUSPENDED, "suspended")                     \
    XX(WATCHDOG, "watchdog")                       \
    XX(GUEST_PANICKED, "guest-panicked")           \
    XX(COLO, "colo")

typedef enum vmig_run_state {
#define XX(c, s) VMIG_RUN_STATE_##c,
    VMIG_RUN_STATE_MAP(XX)
#undef XX
    VMIG_RUN_STATE__MAX
} vmig_run_state_t;

/* "running", "paused"...; NULL for a value out of range. */
const char *vmig_run_state_name(vmig_run_state_t s);
/* The state named name, or -EINVAL. */
int vmig_run_state_from_name(const char *name);
/* Whether QEMU 7.2 allows the transition from -> to (its runstate table). */
bool vmig_run_state_transition_valid(vmig_run_state_t from, vmig_run_state_t to);

/* QEMU 7.2's ShutdownCause, in its QAPI order (SHUTDOWN event "reason"). */
#define VMIG_SHUTDOWN_CAUSE_MAP(XX)                        \
    XX(NONE, "none")                                       \
    XX(HOST_ERROR, "host-error")                           \
    XX(HOST_QMP_QUIT, "host-qmp-quit")                     \
    XX(HOST_QMP_SYSTEM_RESET, "host-qmp-system-reset")     \
    XX(HOST_SIGNAL, "host-signal")                         \
    XX(HOST_UI, "host-ui")                                 \
    XX(GUEST_SHUTDOWN, "guest-shutdown")                   \
    XX(GUEST_RESET, "guest-reset")                         \
    XX(GUEST_PANIC, "guest-panic")                         \
    XX(SUBSYSTEM_RESET, "subsystem-reset")                 \
    XX(SNAPSHOT_LOAD, "snapshot-load")

typedef enum vmig_shutdown_cause {
#define XX(c, s) VMIG_SHUTDOWN_##c,
    VMIG_SHUTDOWN_CAUSE_MAP(XX)
#undef XX
    VMIG_SHUTDOWN__MAX
} vmig_shutdown_cause_t;

const char *vmig_shutdown_cause_name(vmig_shutdown_cause_t c);

/* How the engine controls the VM. Every member may be NULL: a missing stop
 * or start is confirmed at once (a VM without vCPUs), a missing quit does
 * nothing (the embedder then learns of the shutdown some other way). */
typedef struct vmig_run_ops {
    /* Stop the vCPUs. Asynchronous: once they are stopped (or stopping
     * failed) the embedder calls vmig_engine_run_control_done(engine, 0 or a
     * negative errno), from inside this callback or later from the loop. */
    void (*stop)(void *opaque, vmig_engine_t *engine);
    /* Start (resume) the vCPUs; confirmed the same way. */
    void (*start)(void *opaque, vmig_engine_t *engine);
    /* The VM shuts down (QMP `quit`, vmig_engine_shutdown()): the SHUTDOWN
     * event has gone out and the reply to `quit` is on its way. The embedder
     * closes the engine and leaves its loop. Called once, on the loop's
     * stack, never from inside an engine function. */
    void (*quit)(void *opaque, vmig_engine_t *engine, vmig_shutdown_cause_t cause);
    /* auto-converge: slow the vCPUs down to run only (100 - percent) % of the
     * time (QEMU forces each vCPU to sleep timeslice * pct / (1 - pct) every
     * 10 ms timeslice); 0 ends throttling. Synchronous, must not block. */
    void (*set_throttle)(void *opaque, vmig_engine_t *engine, int percent);
} vmig_run_ops_t;

typedef struct vmig_engine_opts {
    const vmig_run_ops_t *run_ops; /* copied; NULL: no callbacks */
    void *run_opaque;              /* first argument of every run_ops callback */
    const char *name;              /* for messages ("vm0"); NULL: "vmig" */
    const char *package;           /* QMP greeting/query-version "package"; NULL: "vmig VERSION" */
    const char *machine;           /* machine type named in the stream's configuration
                                    * section, checked by the destination; NULL: "none"
                                    * (QEMU's -M none); at most 255 bytes */
} vmig_engine_opts_t;

/* Create an engine on loop (opts may be NULL). It starts in "prelaunch", as
 * QEMU does: an embedder whose vCPUs run from the start says so with
 * vmig_engine_set_run_state(engine, VMIG_RUN_STATE_RUNNING). 0 or -ENOMEM. */
int vmig_engine_new(uv_loop_t *loop, const vmig_engine_opts_t *opts, vmig_engine_t **out);

typedef void (*vmig_engine_close_cb)(vmig_engine_t *engine, void *arg);
/* Close every QMP socket, wait for commands still running and for a pending
 * stop/start to be confirmed, close the named fds, then call cb (may be NULL)
 * from the loop and free the engine. Returns -EBUSY if already closing. */
int vmig_engine_close(vmig_engine_t *engine, vmig_engine_close_cb cb, void *arg);

uv_loop_t *vmig_engine_loop(const vmig_engine_t *engine);
const char *vmig_engine_name(const vmig_engine_t *engine);

/* ---- run state ----------------------------------------------------------------- */

vmig_run_state_t vmig_engine_run_state(const vmig_engine_t *engine);
/* True when the state is "running" (query-status "running"). */
bool vmig_engine_is_running(const vmig_engine_t *engine);
/* Record a state change the embedder made itself (its vCPUs run from boot,
 * the guest panicked...). No callback, no event. -EINVAL if QEMU 7.2 does not
 * allow that transition, -EBUSY while a stop or start is pending. */
int vmig_engine_set_run_state(vmig_engine_t *engine, vmig_run_state_t state);

/* The answer to a stop or start callback: result 0 (done) or a negative
 * errno (the vCPUs are as they were). May be called from inside the
 * callback; otherwise later, from the loop's thread. The waiting operation
 * may continue before this returns. -EINVAL if nothing is pending. */
int vmig_engine_run_control_done(vmig_engine_t *engine, int result);

/* Shut the VM down as QEMU does on quit or a signal: the SHUTDOWN event
 * {"guest", "reason"}, state "shutdown", then the quit callback (deferred to
 * the loop). A second request is ignored (-EBUSY). */
int vmig_engine_shutdown(vmig_engine_t *engine, vmig_shutdown_cause_t cause);

/* ---- the QMP monitor ------------------------------------------------------------ */

/* Serve QMP on `unix:PATH` (mode 0600) or `tcp:HOST:PORT`; call it once per
 * socket. From a coroutine on the engine's loop, or before the loop runs
 * (never from a loop callback): it then runs the loop until it listens. */
int vmig_engine_qmp_listen(vmig_engine_t *engine, const char *uri, vmig_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
