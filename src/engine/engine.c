/* engine.c — the engine object: creation on the embedder's loop, its QMP
 * monitor, shutdown (SHUTDOWN event, then the embedder's quit callback) and
 * the asynchronous close that waits for whatever still runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_objects.h"
#include "migration/migration.h"

#ifndef VMIG_VERSION_STRING
#define VMIG_VERSION_STRING "0"
#endif

/* The QEMU version the monitor announces: the one vmig is wire-compatible
 * with, so that management software picks the matching command set. */
enum { ENGINE_QEMU_MAJOR = 7, ENGINE_QEMU_MINOR = 2, ENGINE_QEMU_MICRO = 0 };

static void quit_timer_cb(uv_timer_t *t)
{
    vmig_engine_t *e = t->data;
    if (!e->closing && e->ops.quit)
        e->ops.quit(e->ops_opaque, e, e->shutdown_cause);
}

/* Free a monitor from a coroutine: vmig_qmp_free() may suspend. */
static int qmp_free_co(void *arg)
{
    vmig_qmp_free(arg);
    return 0;
}

int vmig_engine_new(uv_loop_t *loop, const vmig_engine_opts_t *opts, vmig_engine_t **out)
{
    if (!loop || !out)
        return -EINVAL;
    *out = NULL;
    vmig_engine_opts_t none = { 0 };
    if (!opts)
        opts = &none;
    vmig_engine_t *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->loop = loop;
    snprintf(e->name, sizeof(e->name), "%s", opts->name ? opts->name : "vmig");
    if (opts->run_ops)
        e->ops = *opts->run_ops;
    e->ops_opaque = opts->run_opaque;
    /* QEMU's current_run_state starts as prelaunch; autostart is on unless -S. */
    e->state = VMIG_RUN_STATE_PRELAUNCH;
    e->autostart = true;
    co_waitq_init(&e->run_waitq);
    co_event_init(&e->handlers_idle);
    co_event_set(&e->handlers_idle);
    snprintf(e->package, sizeof(e->package), "%s",
             opts->package ? opts->package : "vmig " VMIG_VERSION_STRING);

    vmig_qmp_opts_t qo = {
        .version_major = ENGINE_QEMU_MAJOR,
        .version_minor = ENGINE_QEMU_MINOR,
        .version_micro = ENGINE_QEMU_MICRO,
        .package = e->package,
    };
    e->qmp = vmig_qmp_new(loop, &qo);
    if (!e->qmp) {
        free(e);
        return -ENOMEM;
    }
    int r = engine_qmp_register(e);
    if (r == 0)
        r = engine_migration_init(e, opts->machine);
    if (r < 0) {
        engine_migration_free(e);
        /* Nothing listens yet, so this should not suspend; if it does, the
         * loop finishes it. */
        if (co_spawn(loop, qmp_free_co, e->qmp) < 0)
            vmig_qmp_free(e->qmp);
        free(e);
        return r;
    }
    /* Last, so that no failure above leaves a handle to close. */
    uv_timer_init(loop, &e->quit_timer);
    e->quit_timer.data = e;
    *out = e;
    return 0;
}

uv_loop_t *vmig_engine_loop(const vmig_engine_t *e)
{
    return e->loop;
}

const char *vmig_engine_name(const vmig_engine_t *e)
{
    return e->name;
}

vmig_qmp_t *vmig_engine_qmp(vmig_engine_t *e)
{
    return e->qmp;
}

void vmig_engine_event(vmig_engine_t *e, const char *name, json_t *data)
{
    /* After close has freed the monitor, a command still finishing has
     * nobody to tell. */
    if (!e->qmp) {
        json_decref(data);
        return;
    }
    vmig_qmp_event(e->qmp, name, data);
}

void engine_handler_enter(vmig_engine_t *e)
{
    if (e->handlers++ == 0)
        co_event_reset(&e->handlers_idle);
}

void engine_handler_leave(vmig_engine_t *e)
{
    if (--e->handlers == 0)
        co_event_set(&e->handlers_idle);
}

/* ---- what is migrated ------------------------------------------------------------ */

/* The savevm registry, the RAM list, and the migration object (QMP
 * commands; the timer, ram and globalstate sections). */
int engine_migration_init(vmig_engine_t *e, const char *machine)
{
    e->savevm = vmig_savevm_new();
    e->ram = vmig_ram_new();
    if (!e->savevm || !e->ram)
        return -ENOMEM;
    if (machine) {
        vmig_savevm_config_t cfg = *vmig_savevm_config(e->savevm);
        cfg.machine = machine;
        int r = vmig_savevm_set_config(e->savevm, &cfg);
        if (r < 0)
            return r;
    }
    return vmig_migration_new(e, &e->mig);
}

void engine_migration_free(vmig_engine_t *e)
{
    if (e->mig)
        vmig_migration_free(e->mig);
    e->mig = NULL;
    if (e->savevm)
        vmig_savevm_free(e->savevm);
    e->savevm = NULL;
    if (e->ram)
        vmig_ram_free(e->ram);
    e->ram = NULL;
}

/* ---- shutdown ------------------------------------------------------------------- */

int vmig_engine_shutdown(vmig_engine_t *e, vmig_shutdown_cause_t cause)
{
    if (!e || (unsigned)cause >= VMIG_SHUTDOWN__MAX)
        return -EINVAL;
    if (e->shutdown_requested || e->closing)
        return -EBUSY;
    e->shutdown_requested = true;
    e->shutdown_cause = cause;
    /* QEMU leaves through vm_shutdown(), which enters "shutdown" without a
     * STOP event; a stop or start still pending no longer applies. */
    e->state = VMIG_RUN_STATE_SHUTDOWN;
    json_t *data = json_pack("{s:b, s:s}", "guest", cause > VMIG_SHUTDOWN_HOST_UI, "reason",
                             vmig_shutdown_cause_name(cause));
    if (data)
        vmig_engine_event(e, "SHUTDOWN", data);
    /* From the loop's stack, once the reply to `quit` has been queued: the
     * embedder may close the engine from its callback. */
    uv_timer_start(&e->quit_timer, quit_timer_cb, 0, 0);
    return 0;
}

/* ---- QMP sockets ---------------------------------------------------------------- */

typedef struct listen_call {
    vmig_engine_t *e;   /* the engine */
    const char *uri;    /* where to listen */
    vmig_error_t *err;  /* the caller's error, may be NULL */
} listen_call_t;

static int listen_co(void *arg)
{
    listen_call_t *c = arg;
    return vmig_qmp_listen(c->e->qmp, c->uri, c->err);
}

int vmig_engine_qmp_listen(vmig_engine_t *e, const char *uri, vmig_error_t *err)
{
    if (!e || !uri)
        return vmig_error_set(err, -EINVAL, "no QMP address given");
    if (e->closing || !e->qmp)
        return vmig_error_set(err, -EBUSY, "the engine is closing");
    listen_call_t c = { e, uri, err };
    if (co_in_coroutine())
        return listen_co(&c);
    /* Before the embedder runs its loop: drive it until we listen. */
    co_t *co = co_create(e->loop, listen_co, &c);
    if (!co)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    co_enter(co);
    while (!co_finished(co))
        uv_run(e->loop, UV_RUN_ONCE);
    int r = 0;
    co_join(co, &r);
    return r;
}

/* ---- close ---------------------------------------------------------------------- */

static void quit_timer_closed(uv_handle_t *h)
{
    vmig_engine_t *e = h->data;
    engine_migration_free(e);
    if (e->close_cb)
        e->close_cb(e, e->close_arg);
    free(e);
}

static int close_co(void *arg)
{
    vmig_engine_t *e = arg;
    uv_timer_stop(&e->quit_timer);
    /* No new command from now on; those running finish (their replies are
     * dropped) before the engine goes. */
    vmig_qmp_t *qmp = e->qmp;
    vmig_qmp_free(qmp);
    e->qmp = NULL;
    co_event_wait(&e->handlers_idle, -1);
    /* A stop or start still with the embedder must be answered first: the
     * answer refers to this engine. A request whose requester gave up holds
     * the lock until it is answered; once ours, nothing is pending, and we
     * keep it: no run control after close. */
    /* The QMP monitor is gone, so no command can start a job any more. A
     * cancelled job may still restart the VM: before we take run control. */
    if (e->mig)
        vmig_migration_close(e->mig);
    engine_run_lock(e);
    engine_fds_close_all(e);
    engine_objects_free(e);
    uv_close((uv_handle_t *)&e->quit_timer, quit_timer_closed);
    return 0;
}

int vmig_engine_close(vmig_engine_t *e, vmig_engine_close_cb cb, void *arg)
{
    if (!e)
        return -EINVAL;
    if (e->closing)
        return -EBUSY;
    e->closing = true;
    e->close_cb = cb;
    e->close_arg = arg;
    int r = co_spawn(e->loop, close_co, e);
    if (r < 0)
        e->closing = false;
    return r;
}
