/* migration.c — the migration object of one engine: creation and close,
 * status changes (events and the embedder's callback), URI channels, and the
 * public C API that mirrors the QMP commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/mig_internal.h"

static const char *const status_names[] = {
#define XX(c, s) s,
    VMIG_MIGRATION_STATUS_MAP(XX)
#undef XX
};

const char *vmig_migration_status_name(vmig_migration_status_t s)
{
    return (unsigned)s < VMIG_MIGRATION_STATUS__MAX ? status_names[s] : NULL;
}

int vmig_migration_status_from_name(const char *name)
{
    for (int i = 0; name && i < VMIG_MIGRATION_STATUS__MAX; i++)
        if (strcmp(status_names[i], name) == 0)
            return i;
    return -EINVAL;
}

uint64_t mig_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

int vmig_migration_new(vmig_engine_t *e, vmig_migration_t **out)
{
    vmig_migration_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->e = e;
    co_event_init(&m->out.idle);
    co_event_set(&m->out.idle);
    co_event_init(&m->in.idle);
    co_event_set(&m->in.idle);
    int r = vmig_mig_config_init(&m->cfg);
    if (r == 0)
        r = mig_devices_register(m);
    if (r == 0)
        r = mig_qmp_register(m);
    if (r < 0) {
        vmig_migration_free(m);
        return r;
    }
    *out = m;
    return 0;
}

void vmig_migration_close(vmig_migration_t *m)
{
    m->closing = true;
    mig_out_cancel(m);
    m->in.cancel = true;
    if (m->in.ch)
        vmig_channel_shutdown(m->in.ch, SHUT_RDWR);
    if (m->in.co)
        co_cancel(m->in.co);
    co_event_wait(&m->out.idle, -1);
    co_event_wait(&m->in.idle, -1);
    if (m->in.listener) {
        vmig_listener_close(m->in.listener);
        m->in.listener = NULL;
    }
}

void vmig_migration_free(vmig_migration_t *m)
{
    if (!m)
        return;
    vmig_mig_config_close(&m->cfg);
    free(m->out.uri);
    free(m->in.uri);
    free(m->in.listen_uri);
    free(m);
}

/* ---- status ------------------------------------------------------------------------ */

bool mig_out_is_running(vmig_migration_status_t st)
{
    switch (st) {
    case VMIG_MIGRATION_STATUS_SETUP:
    case VMIG_MIGRATION_STATUS_ACTIVE:
    case VMIG_MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case VMIG_MIGRATION_STATUS_POSTCOPY_PAUSED:
    case VMIG_MIGRATION_STATUS_POSTCOPY_RECOVER:
    case VMIG_MIGRATION_STATUS_PRE_SWITCHOVER:
    case VMIG_MIGRATION_STATUS_DEVICE:
    case VMIG_MIGRATION_STATUS_WAIT_UNPLUG:
    case VMIG_MIGRATION_STATUS_CANCELLING:
        return true;
    default:
        return false;
    }
}

void mig_set_status(vmig_migration_t *m, vmig_migration_dir_t dir, vmig_migration_status_t st)
{
    vmig_migration_status_t *cur = dir == VMIG_MIGRATION_OUTGOING ? &m->out.status : &m->in.status;
    if (*cur == st)
        return;
    *cur = st;
    if (m->cfg.caps[VMIG_MIG_CAP_EVENTS])
        vmig_engine_event(m->e, "MIGRATION", json_pack("{s:s}", "status",
                                                       vmig_migration_status_name(st)));
    if (m->cb)
        m->cb(m->cb_opaque, m->e, dir, st);
}

/* ---- channels ------------------------------------------------------------------------ */

int mig_open_channel(vmig_migration_t *m, const char *uri, vmig_channel_dir_t dir,
                     vmig_channel_t **out, vmig_error_t *err)
{
    /* fd:NAME names a getfd descriptor; fd:N (a number) is inherited and
     * left to the channel layer, as QEMU's monitor_fd_param does. */
    if (strncmp(uri, "fd:", 3) == 0 && uri[3] && !(uri[3] >= '0' && uri[3] <= '9')) {
        int fd = vmig_engine_take_named_fd(m->e, uri + 3);
        if (fd < 0)
            return vmig_error_set(err, -ENOENT, "File descriptor named '%s' has not been found",
                                  uri + 3);
        int r = vmig_channel_from_fd(m->e->loop, fd, uri, out, err);
        if (r < 0)
            close(fd);
        return r;
    }
    return vmig_channel_open(m->e->loop, uri, dir, out, err);
}

/* ---- the public API ---------------------------------------------------------------- */

void vmig_engine_set_migration_cb(vmig_engine_t *e, vmig_migration_cb cb, void *opaque)
{
    e->mig->cb = cb;
    e->mig->cb_opaque = opaque;
}

int vmig_engine_migrate(vmig_engine_t *e, const char *uri, vmig_error_t *err)
{
    if (!e || !uri)
        return vmig_error_set(err, -EINVAL, "no migration URI given");
    return mig_out_start(e->mig, uri, false, false, false, err);
}

void vmig_engine_migrate_cancel(vmig_engine_t *e)
{
    mig_out_cancel(e->mig);
}

vmig_migration_status_t vmig_engine_migration_status(const vmig_engine_t *e)
{
    return e->mig->out.status;
}

vmig_migration_status_t vmig_engine_incoming_status(const vmig_engine_t *e)
{
    return e->mig->in.status;
}

const char *vmig_engine_incoming_error(const vmig_engine_t *e)
{
    return e->mig->in.err.code ? e->mig->in.err.msg : NULL;
}

const char *vmig_engine_migration_error(const vmig_engine_t *e)
{
    /* As query-migrate: a cancelled migration has no error-desc, whatever
     * broke while it was being cancelled. */
    const mig_out_t *o = &e->mig->out;
    return o->err.code && o->status == VMIG_MIGRATION_STATUS_FAILED ? o->err.msg : NULL;
}

/* QEMU's -incoming: "defer" only marks the VM as waiting; a URI starts now. */
int vmig_engine_incoming(vmig_engine_t *e, const char *uri, vmig_error_t *err)
{
    vmig_migration_t *m = e ? e->mig : NULL;
    if (!m || !uri)
        return vmig_error_set(err, -EINVAL, "no incoming URI given");
    if (m->in.configured)
        return vmig_error_set(err, -EBUSY, "The incoming migration has already been set up");
    int r = vmig_engine_set_run_state(e, VMIG_RUN_STATE_INMIGRATE);
    if (r < 0)
        return vmig_error_set(err, r, "an incoming migration needs a VM that has not run yet");
    m->in.configured = true;
    if (strcmp(uri, "defer") == 0) {
        m->in.deferred = true;
        return 0;
    }
    return mig_in_start(m, uri, err);
}

int vmig_engine_migrate_incoming(vmig_engine_t *e, const char *uri, vmig_error_t *err)
{
    vmig_migration_t *m = e->mig;
    if (!m->in.deferred)
        return vmig_error_set(err, -EINVAL, "'-incoming' was not specified on the command line");
    if (m->in.started)
        return vmig_error_set(err, -EBUSY, "The incoming migration has already been started");
    return mig_in_start(m, uri, err);
}

/* The C API's one-capability and one-parameter setters go through the same
 * checks as QMP by building the argument object QMP would have. */
static int qmp_to_err(int r, const vmig_qmp_error_t *qe, vmig_error_t *err)
{
    if (r < 0)
        vmig_error_set(err, r, "%s", qe->desc);
    return r;
}

bool vmig_migration_busy(const vmig_migration_t *m)
{
    return mig_out_is_running(m->out.status) ||
           (m->in.co && m->in.status != VMIG_MIGRATION_STATUS_NONE);
}

int mig_set_caps(vmig_migration_t *m, const json_t *args, vmig_qmp_error_t *err)
{
    if (vmig_migration_busy(m))
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                                  "There's a migration process in progress");
    int r = vmig_mig_set_caps(&m->cfg, args, m->in.configured, err);
    if (r == 0)
        mig_params_changed(m);
    return r;
}

int vmig_engine_migrate_set_capability(vmig_engine_t *e, const char *name, bool on,
                                       vmig_error_t *err)
{
    json_t *args = json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", name, "state", on);
    if (!args)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    vmig_qmp_error_t qe = { 0 };
    int r = mig_set_caps(e->mig, args, &qe);
    json_decref(args);
    return qmp_to_err(r, &qe, err);
}

int vmig_engine_migrate_set_parameter(vmig_engine_t *e, const char *name, int64_t value,
                                      vmig_error_t *err)
{
    vmig_migration_t *m = e->mig;
    json_t *args = json_object();
    if (!args)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    /* Booleans are given as 0/1 here. */
    bool is_bool = strcmp(name, "cpu-throttle-tailslow") == 0 ||
                   strcmp(name, "compress-wait-thread") == 0 ||
                   strcmp(name, "block-incremental") == 0;
    json_object_set_new(args, name, is_bool ? json_boolean(value) : json_integer(value));
    vmig_qmp_error_t qe = { 0 };
    int r = vmig_mig_set_params(&m->cfg, args, &qe);
    json_decref(args);
    if (r == 0)
        mig_params_changed(m);
    return qmp_to_err(r, &qe, err);
}
