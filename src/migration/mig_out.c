/* mig_out.c — the outgoing precopy migration: one coroutine that connects,
 * sends setup, iterates over dirty RAM until what is left fits in the
 * downtime limit, stops the VM, sends the rest and the device state, and
 * ends completed, failed or cancelled with the source VM as it must be. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/mig_internal.h"
#include "ram/ram.h"
#include "savevm/savevm.h"

/* ---- the job's steps ------------------------------------------------------------------ */

/* Failures are reported with the stream's or channel's first error; a
 * cancel overrides whatever error the shut-down channel then produced. */
static int out_fail(mig_out_t *o, int r, const char *fmt, const char *detail)
{
    if (r == 0)
        r = -EIO;
    vmig_error_set(&o->err, r, fmt, detail);
    return r;
}

static int stream_check(mig_out_t *o)
{
    int r = o->s ? vmig_stream_error(o->s) : 0;
    if (r < 0)
        return out_fail(o, r, "%s", vmig_stream_error_msg(o->s));
    if (o->err.code)
        return o->err.code; /* the return path failed */
    return 0;
}

/* MIGRATION_PASS for every bitmap sync since the last one announced. */
static void announce_passes(vmig_migration_t *m)
{
    uint64_t n = vmig_ram_counters(m->e->ram)->dirty_sync_count;
    while (m->out.passes < n) {
        m->out.passes++;
        if (m->cfg.caps[VMIG_MIG_CAP_EVENTS])
            vmig_engine_event(m->e, "MIGRATION_PASS",
                              json_pack("{s:I}", "pass", (json_int_t)m->out.passes));
    }
}

static void throttle_cb(void *opaque, int pct)
{
    vmig_engine_t *e = opaque;
    if (e->ops.set_throttle)
        e->ops.set_throttle(e->ops_opaque, e, pct);
}

void mig_params_changed(vmig_migration_t *m)
{
    const vmig_mig_params_t *p = &m->cfg.params;
    vmig_ram_save_opts_t o = {
        .auto_converge = m->cfg.caps[VMIG_MIG_CAP_AUTO_CONVERGE],
        .throttle_trigger_threshold = p->throttle_trigger_threshold,
        .cpu_throttle_initial = p->cpu_throttle_initial,
        .cpu_throttle_increment = p->cpu_throttle_increment,
        .cpu_throttle_tailslow = p->cpu_throttle_tailslow,
        .max_cpu_throttle = p->max_cpu_throttle,
        .set_throttle = throttle_cb,
        .throttle_opaque = m->e,
        .postcopy_ram = m->cfg.caps[VMIG_MIG_CAP_POSTCOPY_RAM],
        .x_ignore_shared = m->cfg.caps[VMIG_MIG_CAP_X_IGNORE_SHARED],
        .xbzrle = m->cfg.caps[VMIG_MIG_CAP_XBZRLE],
        .xbzrle_cache_size = p->xbzrle_cache_size,
        .compress = m->cfg.caps[VMIG_MIG_CAP_COMPRESS],
        .compress_level = p->compress_level,
        .compress_threads = p->compress_threads,
        .compress_wait_thread = p->compress_wait_thread,
    };
    vmig_ram_set_save_opts(m->e->ram, &o);
    if (m->out.s)
        vmig_stream_set_rate_limit(m->out.s, p->max_bandwidth);
}

/* ---- the return path (destination -> source) ------------------------------------------ */

/* Read messages until SHUT, the end of the channel or an error. In precopy
 * only SHUT and PONG are meaningful; page requests belong to postcopy. A
 * clean end or a read error is the destination closing its side (after
 * loading, or because it failed): the main channel and SHUT say which. */
static int rp_co(void *arg)
{
    vmig_migration_t *m = arg;
    mig_out_t *o = &m->out;
    vmig_rp_msg_t msg;
    vmig_error_t perr = { 0 };
    while (vmig_rp_read(o->rp_s, &msg, &perr) == VMIG_RP_MSG) {
        if (msg.type != VMIG_RP_MSG_SHUT && msg.type != VMIG_RP_MSG_PONG) {
            vmig_error_set(&o->err, -EPROTO, "RP: '%s' message received outside postcopy",
                           vmig_rp_msg_name(msg.type));
            goto bad;
        }
        if (msg.type == VMIG_RP_MSG_PONG) {
            o->rp_pong = msg.value;
            continue;
        }
        o->rp_shut = true;
        if (msg.value != 0) {
            vmig_error_set(&o->err, -EIO, "RP: Sibling indicated error %u", msg.value);
            goto bad;
        }
        break;
    }
    if (perr.code) {
        vmig_error_set(&o->err, perr.code, "%s", perr.msg);
        goto bad;
    }
    co_event_set(&o->rp_done);
    return 0;
bad:
    /* Stop the main job's writes too: the migration has failed. */
    if (o->ch)
        vmig_channel_shutdown(o->ch, SHUT_RDWR);
    co_event_set(&o->rp_done);
    return 0;
}

static int rp_open(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    int r = vmig_savevm_send_open_return_path(o->s);
    if (r == 0)
        r = vmig_savevm_send_ping(o->s, 1);
    if (r < 0)
        return r;
    o->rp_s = vmig_stream_new_reader(o->ch, 0);
    if (!o->rp_s)
        return out_fail(o, -ENOMEM, "%s", "out of memory");
    co_event_reset(&o->rp_done);
    o->rp_co = co_create(m->e->loop, rp_co, m);
    if (!o->rp_co) {
        co_event_set(&o->rp_done);
        return out_fail(o, -ENOMEM, "%s", "out of memory");
    }
    co_enter(o->rp_co);
    return 0;
}

/* ---- switch-over --------------------------------------------------------------------- */

/* Stop the VM, optionally wait for migrate-continue, send the rest. */
static int completion(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    vmig_engine_t *e = m->e;
    int r = engine_run_lock(e);
    if (r < 0)
        return r;
    mig_globalstate_store(m, e->state);
    o->vm_was_running = vmig_engine_is_running(e);
    o->vm_stopped = true;
    o->downtime_start = mig_now_ms();
    bool passed = false;
    r = engine_vm_stop_locked(e, VMIG_RUN_STATE_FINISH_MIGRATE, true, &passed);
    if (!passed)
        engine_run_unlock(e);
    if (r < 0)
        return out_fail(o, r, "Failed to stop the VM: %s", vmig_strerror(r));
    vmig_ram_set_phase(e->ram, VMIG_RAM_PHASE_DOWNTIME);

    if (m->cfg.caps[VMIG_MIG_CAP_PAUSE_BEFORE_SWITCHOVER]) {
        mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_PRE_SWITCHOVER);
        while (!o->cancel && !co_event_is_set(&o->cont))
            if (co_event_wait(&o->cont, -1) < 0)
                return -ECANCELED;
        if (o->cancel)
            return -ECANCELED;
        mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_DEVICE);
    }
    r = vmig_savevm_complete_precopy(e->savevm, o->s);
    announce_passes(m);
    if (r == 0)
        r = stream_check(o);
    if (r < 0)
        return r;
    /* With a return path the destination confirms the load (SHUT 0) or
     * reports its failure (SHUT 1) before we call it done. */
    if (o->rp_co) {
        while (!co_event_is_set(&o->rp_done))
            if (co_event_wait(&o->rp_done, -1) < 0)
                return -ECANCELED;
        if (o->err.code)
            return o->err.code;
        /* The return path ended without SHUT: the destination went away
         * without saying the load worked (QEMU fails it too). */
        if (!o->rp_shut)
            return out_fail(o, -EPIPE, "%s",
                            "RP: the destination closed the return path before reporting "
                            "the end of its load");
    }
    return 0;
}

/* ---- the job coroutine ------------------------------------------------------------------ */

static int iterate_phase(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    vmig_savevm_t *sv = m->e->savevm;
    for (;;) {
        if (o->cancel)
            return -ECANCELED;
        int r = stream_check(o);
        if (r < 0)
            return r;
        mig_out_update_counters(m, false);
        uint64_t pre = 0, compat = 0, post = 0;
        vmig_savevm_pending(sv, o->threshold, &pre, &compat, &post);
        announce_passes(m);
        uint64_t pending = pre + compat + post;
        if (pending == 0 || pending < o->threshold)
            return 0; /* what is left fits in the downtime limit */
        r = vmig_savevm_iterate(sv, o->s, false);
        if (r < 0)
            return stream_check(o) < 0 ? o->err.code : out_fail(o, r, "%s", vmig_strerror(r));
        r = vmig_stream_flush(o->s);
        if (r == 0 && vmig_stream_rate_exceeded(o->s))
            r = vmig_stream_rate_wait(o->s);
        if (r < 0)
            return o->cancel ? -ECANCELED : stream_check(o);
    }
}

static int setup_phase(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    vmig_engine_t *e = m->e;
    int r;
    if (o->fd >= 0) {
        r = vmig_channel_from_fd(e->loop, o->fd, o->uri, &o->ch, &o->err);
        if (r < 0)
            close(o->fd);
        o->fd = -1;
    } else {
        vmig_error_t cerr = { 0 };
        r = vmig_channel_open(e->loop, o->uri, VMIG_CHANNEL_OUTGOING, &o->ch, &cerr);
        bool sock = strncmp(o->uri, "tcp:", 4) == 0 || strncmp(o->uri, "unix:", 5) == 0;
        /* QEMU's words for a failed connect. */
        if (r < 0 && r != -ECANCELED && sock)
            vmig_error_set(&o->err, r, "Failed to connect to '%s': %s", strchr(o->uri, ':') + 1,
                           strerror(-r));
        else if (r < 0)
            vmig_error_set(&o->err, r, "%s", cerr.msg);
    }
    if (r < 0)
        return r;
    if (o->cancel)
        return -ECANCELED;
    mig_tls_hold(m, &o->tls);
    r = mig_tls_client_wrap(m, &o->ch, &o->err);
    if (r < 0)
        return o->cancel ? -ECANCELED : r;
    r = mig_multifd_out_start(m);
    if (r < 0)
        return r;
    if (o->cancel)
        return -ECANCELED;
    o->s = vmig_stream_new_writer(o->ch, 0);
    if (!o->s)
        return out_fail(o, -ENOMEM, "%s", "out of memory");
    mig_params_changed(m);
    vmig_ram_set_phase(e->ram, VMIG_RAM_PHASE_PRECOPY);
    r = vmig_savevm_write_header(e->savevm, o->s);
    if (r == 0 && o->rp)
        r = rp_open(m);
    if (r == 0)
        r = vmig_savevm_setup(e->savevm, o->s);
    if (r == 0)
        r = vmig_stream_flush(o->s);
    if (r < 0)
        return o->cancel ? -ECANCELED : stream_check(o) < 0 ? o->err.code : r;
    o->setup_time = mig_now_ms() - o->start_ms;
    announce_passes(m);
    return 0;
}

/* Give the VM back as it was: running if it ran, else the state it had. */
static void restore_vm(vmig_migration_t *m)
{
    vmig_engine_t *e = m->e;
    if (!m->out.vm_stopped)
        return;
    if (m->out.vm_was_running) {
        vmig_engine_vm_start(e);
    } else if (e->state == VMIG_RUN_STATE_FINISH_MIGRATE) {
        int st = vmig_run_state_from_name((const char *)m->gs.runstate);
        vmig_engine_vm_stop_force_state(e, st >= 0 ? (vmig_run_state_t)st : VMIG_RUN_STATE_PAUSED);
    }
}

static int out_co(void *arg)
{
    vmig_migration_t *m = arg;
    mig_out_t *o = &m->out;
    vmig_engine_t *e = m->e;
    int r = setup_phase(m);
    if (r == 0 && !o->cancel) {
        mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_ACTIVE);
        o->win_start_ns = uv_hrtime();
        o->win_bytes = vmig_stream_bytes_written(o->s);
        o->win_pages = vmig_ram_pages_sent(e->ram);
        r = iterate_phase(m);
        if (r == 0 && !o->cancel)
            r = completion(m);
    }
    /* Cleanup waits must not be cut short by the cancel that ended us. */
    co_cancel_clear();
    if (o->cancel && r == 0)
        r = -ECANCELED;
    if (r < 0 && o->ch)
        vmig_channel_shutdown(o->ch, SHUT_RDWR);
    if (o->rp_co) {
        co_event_wait(&o->rp_done, -1);
        co_join(o->rp_co, NULL);
        o->rp_co = NULL;
    }
    vmig_savevm_save_cleanup(e->savevm);
    mig_multifd_out_end(m, r);
    vmig_ram_set_phase(e->ram, VMIG_RAM_PHASE_PRECOPY);
    if (o->rp_s) {
        vmig_stream_free(o->rp_s);
        o->rp_s = NULL;
    }
    if (o->s) {
        vmig_stream_t *s = o->s;
        o->bytes_total = vmig_stream_bytes_written(s);
        o->s = NULL;
        vmig_stream_free(s); /* flushed already on success */
    }
    if (o->ch) {
        /* exec: learns here whether the command took the stream. */
        vmig_error_t cerr = { 0 };
        int cr = vmig_channel_close_status(o->ch, &cerr);
        o->ch = NULL;
        if (r == 0 && cr < 0)
            r = out_fail(o, cr, "%s", cerr.msg);
    }
    mig_tls_release(m, &o->tls);
    uint64_t now = mig_now_ms();
    if (r == 0) {
        o->downtime = now - o->downtime_start;
        o->total_time = now - o->start_ms;
        mig_out_update_counters(m, true);
        vmig_engine_vm_stop_force_state(e, VMIG_RUN_STATE_POSTMIGRATE);
        mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_COMPLETED);
    } else {
        restore_vm(m);
        if (o->cancel) {
            mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_CANCELLED);
        } else {
            if (!o->err.code)
                vmig_error_set(&o->err, r, "%s", vmig_strerror(r));
            mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_FAILED);
        }
    }
    o->co = NULL;
    co_event_set(&o->idle);
    return 0;
}

/* ---- the commands ----------------------------------------------------------------------- */

/* exec: and file: carry no return path; everything else is a socket. */
static bool uri_two_way(const char *uri)
{
    return strncmp(uri, "exec:", 5) != 0 && strncmp(uri, "file:", 5) != 0;
}

/* QEMU checks the URI after entering setup, so a bad one leaves the
 * migration "failed" (setup and failed events) besides the error reply;
 * desc: the message also becomes error-desc (not for an unknown scheme). */
static int uri_fail(vmig_migration_t *m, int r, bool desc, vmig_error_t *err, const char *msg)
{
    vmig_error_set(err, r, "%s", msg);
    if (desc)
        vmig_error_set(&m->out.err, r, "%s", msg);
    free(m->out.uri);
    m->out.uri = NULL;
    co_event_set(&m->out.idle);
    mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_FAILED);
    return r;
}

static int uri_prepare(vmig_migration_t *m, const char *uri, vmig_error_t *err)
{
    vmig_error_t cerr = { 0 };
    char msg[VMIG_ERROR_MSG_MAX];
    int r = vmig_channel_check_uri(uri, VMIG_CHANNEL_OUTGOING, &cerr);
    if (r == -EPROTO)
        return uri_fail(m, -EINVAL, false, err, "Parameter 'uri' expects a valid migration protocol");
    if (r < 0) {
        if (strncmp(uri, "tcp:", 4) == 0)
            snprintf(msg, sizeof(msg), "error parsing address '%s'", uri + 4);
        else
            snprintf(msg, sizeof(msg), "%s", cerr.msg);
        return uri_fail(m, r, true, err, msg);
    }
    /* fd:NAME is taken now, as QEMU does: a later getfd cannot change it. */
    if (strncmp(uri, "fd:", 3) == 0 && !(uri[3] >= '0' && uri[3] <= '9')) {
        m->out.fd = vmig_engine_take_named_fd(m->e, uri + 3);
        if (m->out.fd < 0) {
            snprintf(msg, sizeof(msg), "File descriptor named '%s' has not been found", uri + 3);
            return uri_fail(m, -ENOENT, true, err, msg);
        }
    }
    return 0;
}

int mig_out_start(vmig_migration_t *m, const char *uri, bool blk, bool inc, bool resume,
                  vmig_error_t *err)
{
    mig_out_t *o = &m->out;
    vmig_engine_t *e = m->e;
    /* QEMU 7.2's order of checks. */
    if (resume)
        return vmig_error_set(err, -EINVAL, "Cannot resume if there is no paused migration");
    if (m->closing || o->co || mig_out_is_running(o->status))
        return vmig_error_set(err, -EBUSY, "There's a migration process in progress");
    if (e->state == VMIG_RUN_STATE_POSTMIGRATE)
        return vmig_error_set(err, -EINVAL,
                              "Can't migrate the vm that was paused due to previous migration");
    if (e->state == VMIG_RUN_STATE_INMIGRATE)
        return vmig_error_set(err, -EINVAL, "Guest is waiting for an incoming migration");
    if (blk || inc)
        return vmig_error_set(err, -ENOTSUP,
                              "Block migration (blk/inc) is not supported by vmig yet");
    int r = vmig_savevm_check_migratable(e->savevm, err);
    if (r < 0)
        return r;
    bool rp = m->cfg.caps[VMIG_MIG_CAP_RETURN_PATH];
    if (rp && !uri_two_way(uri))
        return vmig_error_set(err, -EINVAL,
                              "Capability 'return-path' needs a two-way channel: '%.*s' is one-way",
                              (int)(strchr(uri, ':') - uri), uri);
    char *copy = strdup(uri);
    if (!copy)
        return vmig_error_set(err, -ENOMEM, "out of memory");

    free(o->uri);
    vmig_migration_status_t keep = o->status;
    memset(o, 0, sizeof(*o));
    o->status = keep;
    o->uri = copy;
    o->rp = rp;
    co_event_init(&o->idle);
    co_event_init(&o->rp_done);
    co_event_set(&o->rp_done);
    co_event_init(&o->cont);
    o->start_ms = mig_now_ms();
    o->expected_downtime = m->cfg.params.downtime_limit;

    o->fd = -1;
    vmig_ram_reset_counters(e->ram);
    mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_SETUP);
    r = uri_prepare(m, uri, err);
    if (r < 0)
        return r;
    o->co = co_create(e->loop, out_co, m);
    if (!o->co) {
        if (o->fd >= 0)
            close(o->fd);
        return uri_fail(m, -ENOMEM, true, err, "out of memory");
    }
    co_detach(o->co);
    co_enter(o->co);
    return 0;
}

void mig_out_cancel(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    if (!o->co || o->cancel)
        return;
    o->cancel = true;
    mig_set_status(m, VMIG_MIGRATION_OUTGOING, VMIG_MIGRATION_STATUS_CANCELLING);
    co_event_set(&o->cont);
    /* Whatever the job waits for (connect, a write, the rate limit, the
     * embedder's stop) returns now. */
    if (o->ch)
        vmig_channel_shutdown(o->ch, SHUT_RDWR);
    mig_multifd_out_shutdown(m, -ECANCELED);
    co_cancel(o->co);
}

int mig_out_continue(vmig_migration_t *m, vmig_migration_status_t state, vmig_error_t *err)
{
    mig_out_t *o = &m->out;
    if (o->status != state)
        return vmig_error_set(err, -EINVAL, "Migration not in expected state: %s",
                              vmig_migration_status_name(o->status));
    co_event_set(&o->cont);
    return 0;
}
