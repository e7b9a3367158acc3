/* engine.h — the engine object as the layers below the public API see it:
 * its fields, the coroutine-side run control (QEMU's vm_stop / vm_start) and
 * the named file descriptors that `fd:NAME` URIs use. */
#ifndef VMIG_ENGINE_H
#define VMIG_ENGINE_H

#include <stdbool.h>

#include "qmp/qmp.h"
#include "ram/ram.h"
#include "savevm/savevm.h"
#include "vmig/co.h"
#include "vmig/vmig.h"

/* A file descriptor passed with getfd, kept under its name until closefd or
 * until a job takes it (vmig_engine_take_named_fd). */
typedef struct engine_named_fd {
    struct engine_named_fd *next; /* singly linked, newest first (as QEMU's list) */
    char *name;                   /* the getfd "fdname", malloc'd */
    int fd;                       /* owned */
} engine_named_fd_t;

/* The one stop or start in flight. Run control is serialised: at most one
 * request is with the embedder at a time, others wait on run_waitq. */
typedef struct engine_run_op {
    bool active;             /* the embedder holds a request not yet answered */
    bool start;              /* a start (else a stop) */
    bool in_callback;        /* the callback has not returned yet */
    bool answered;           /* vmig_engine_run_control_done() came */
    bool send_event;         /* emit STOP/RESUME on success */
    int result;              /* the answer, valid once answered */
    vmig_run_state_t from;   /* state when the request was made */
    vmig_run_state_t target; /* state on success */
    co_t *waiter;            /* coroutine waiting for the answer; NULL if it gave up */
} engine_run_op_t;

struct vmig_engine {
    uv_loop_t *loop;               /* the embedder's loop; everything runs here */
    char name[64];                 /* for messages */
    vmig_run_ops_t ops;            /* the embedder's callbacks (members may be NULL) */
    void *ops_opaque;              /* their first argument */
    vmig_run_state_t state;        /* QEMU's RunState */
    bool autostart;                /* start once an incoming migration ends (cont/stop in inmigrate) */
    bool run_busy;                 /* a coroutine holds run control (engine_run_lock) */
    co_waitq_t run_waitq;          /* coroutines waiting for run control */
    engine_run_op_t op;            /* the request with the embedder, if any */
    vmig_qmp_t *qmp;               /* the monitor this engine owns */
    vmig_savevm_t *savevm;         /* what the migration stream carries, in order */
    vmig_ram_t *ram;               /* guest RAM blocks and the "ram" handler's state */
    struct vmig_migration *mig;    /* migration jobs, capabilities, parameters */
    char package[64];              /* greeting / query-version "package" */
    engine_named_fd_t *fds;        /* getfd's descriptors */
    unsigned nfds;                 /* how many, bounded by ENGINE_MAX_NAMED_FDS */
    struct engine_object *objects; /* object-add's objects, newest first (engine_objects.c) */
    bool shutdown_requested;       /* SHUTDOWN sent, quit callback scheduled or called */
    vmig_shutdown_cause_t shutdown_cause; /* why, for the quit callback */
    uv_timer_t quit_timer;         /* calls the quit callback from the loop's stack */
    unsigned handlers;             /* QMP handlers of this engine running now */
    co_event_t handlers_idle;      /* set whenever handlers == 0 */
    bool closing;                  /* vmig_engine_close() called */
    vmig_engine_close_cb close_cb; /* called once everything is closed */
    void *close_arg;               /* its argument */
};

/* Most descriptors one engine keeps for getfd (QEMU has no limit; a client
 * should not be able to exhaust the process's descriptors). */
#define ENGINE_MAX_NAMED_FDS 1024

/* ---- run control, from coroutines on the engine's loop ------------------------- */

/* Serialise run control: 0, or -ECANCELED (not locked then). A job that
 * stops the VM, checks the state and acts holds it across the whole step. */
int engine_run_lock(vmig_engine_t *e);
void engine_run_unlock(vmig_engine_t *e);

/* The request itself, run-control lock held: call the embedder's stop (or
 * start), wait for its answer, and on success move to target (emitting STOP
 * or RESUME if send_event). Returns the embedder's answer. If this coroutine
 * is cancelled while waiting, it returns -ECANCELED with *lock_passed set:
 * the request stays with the embedder, owns the lock now and is applied
 * (and the lock released) when answered; the caller must not unlock. */
int engine_run_request(vmig_engine_t *e, bool start, vmig_run_state_t target, bool send_event,
                       bool *lock_passed);

/* The two below with the lock held (same *lock_passed rule). */
int engine_vm_stop_locked(vmig_engine_t *e, vmig_run_state_t state, bool force,
                          bool *lock_passed);
int engine_vm_start_locked(vmig_engine_t *e, bool *lock_passed);

/* QEMU's vm_stop(state): if running, stop the vCPUs, enter state and emit
 * STOP; otherwise nothing. 0 or the embedder's error. */
int vmig_engine_vm_stop(vmig_engine_t *e, vmig_run_state_t state);
/* QEMU's vm_stop_force_state(state): vm_stop if running, otherwise just
 * enter state (-EINVAL if QEMU does not allow it). */
int vmig_engine_vm_stop_force_state(vmig_engine_t *e, vmig_run_state_t state);
/* QEMU's vm_start(): if not running, start the vCPUs, enter "running" and
 * emit RESUME. 0 or the embedder's error. */
int vmig_engine_vm_start(vmig_engine_t *e);

/* Whether an incoming migration should start the VM when it completes
 * (QEMU's autostart: cleared by -S and by `stop` in inmigrate, set by `cont`). */
bool vmig_engine_autostart(const vmig_engine_t *e);
void vmig_engine_set_autostart(vmig_engine_t *e, bool on);

/* ---- QMP ------------------------------------------------------------------------ */

/* The engine's monitor, for layers that register their own commands. */
vmig_qmp_t *vmig_engine_qmp(vmig_engine_t *e);
/* Emit an event on the engine's monitor (data stolen, may be NULL). */
void vmig_engine_event(vmig_engine_t *e, const char *name, json_t *data);
/* Register the engine's commands (engine_qmp.c). */
int engine_qmp_register(vmig_engine_t *e);
/* Count a handler in and out, so that close waits for those running. */
void engine_handler_enter(vmig_engine_t *e);
void engine_handler_leave(vmig_engine_t *e);

/* ---- what is migrated (engine.c) --------------------------------------------- */

/* Create the savevm registry (configuration naming machine, NULL: "none"),
 * the RAM list and the migration object. */
int engine_migration_init(vmig_engine_t *e, const char *machine);
/* Free them (after vmig_migration_close()); safe on a half-made engine. */
void engine_migration_free(vmig_engine_t *e);

/* ---- named file descriptors (engine_fds.c) ------------------------------------ */

/* Keep fd (taken over, even on failure) under name, replacing (and closing)
 * an older one of that name. 0, -ENOSPC past ENGINE_MAX_NAMED_FDS, -ENOMEM. */
int vmig_engine_add_named_fd(vmig_engine_t *e, const char *name, int fd);
/* Take the descriptor named name out of the engine: the fd (now the
 * caller's), or -ENOENT. This is how `fd:NAME` URIs find theirs. */
int vmig_engine_take_named_fd(vmig_engine_t *e, const char *name);
/* Close the descriptor named name: 0 or -ENOENT. */
int vmig_engine_close_named_fd(vmig_engine_t *e, const char *name);
/* Close every named descriptor (engine close). */
void engine_fds_close_all(vmig_engine_t *e);

#endif
