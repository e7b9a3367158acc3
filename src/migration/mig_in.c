/* mig_in.c — the incoming migration: listen (or open) where -incoming or
 * migrate-incoming says, load the stream into the registered RAM and
 * devices, answer the return path, then start the VM or leave it paused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "migration/mig_internal.h"
#include "ram/ram.h"
#include "multifd/multifd_recv.h"
#include "multifd/multifd_wire.h"
#include "savevm/savevm.h"

/* ---- the return path, destination side ------------------------------------------------- */

static int rp_send(mig_in_t *in, unsigned type, uint32_t value)
{
    if (!in->rp_s)
        return -ENOTCONN;
    return vmig_rp_write_value(in->rp_s, type, value);
}

static int hook_open_rp(void *opaque)
{
    vmig_migration_t *m = opaque;
    if (m->in.rp_s)
        return 0;
    m->in.rp_s = vmig_stream_new_writer(m->in.ch, 0);
    return m->in.rp_s ? 0 : -ENOMEM;
}

static int hook_ping(void *opaque, uint32_t value)
{
    vmig_migration_t *m = opaque;
    return rp_send(&m->in, VMIG_RP_MSG_PONG, value);
}

static void hook_warn(void *opaque, const char *msg)
{
    (void)opaque;
    (void)msg; /* QEMU only prints these; the load goes on */
}

/* ---- after the load ----------------------------------------------------------------------- */

/* QEMU's rule: start the VM if the source ran (or said nothing) and
 * autostart is on; otherwise take the source's state (paused...). */
static void decide_run_state(vmig_migration_t *m)
{
    vmig_engine_t *e = m->e;
    const char *name = (const char *)m->gs.runstate;
    int st = m->gs.received ? vmig_run_state_from_name(name) : VMIG_RUN_STATE_RUNNING;
    if (st == VMIG_RUN_STATE_RUNNING) {
        if (vmig_engine_autostart(e))
            vmig_engine_vm_start(e);
        else
            vmig_engine_vm_stop_force_state(e, VMIG_RUN_STATE_PAUSED);
        return;
    }
    if (st < 0 || vmig_engine_vm_stop_force_state(e, (vmig_run_state_t)st) < 0)
        vmig_engine_vm_stop_force_state(e, VMIG_RUN_STATE_PAUSED);
}

/* ---- the job coroutine -------------------------------------------------------------------- */

static int in_open(vmig_migration_t *m)
{
    mig_in_t *in = &m->in;
    if (in->listener) {
        /* The bound address stays in query-migrate until the end, as QEMU's. */
        int r = vmig_listener_accept(in->listener, &in->ch, &in->err);
        if (r == 0)
            r = mig_tls_server_wrap(m, &in->ch, &in->err);
        if (r == 0)
            r = mig_multifd_in_start(m, in->listener);
        vmig_listener_close(in->listener);
        in->listener = NULL;
        return r;
    }
    int r = mig_open_channel(m, in->uri, VMIG_CHANNEL_INCOMING, &in->ch, &in->err);
    if (r == 0)
        r = mig_tls_server_wrap(m, &in->ch, &in->err);
    return r == 0 ? mig_multifd_in_start(m, NULL) : r;
}

static int in_co(void *arg)
{
    vmig_migration_t *m = arg;
    mig_in_t *in = &m->in;
    vmig_engine_t *e = m->e;
    mig_tls_hold(m, &in->tls);
    int r = in_open(m);
    if (r == 0) {
        in->s = vmig_stream_new_reader(in->ch, 0);
        r = in->s ? 0 : vmig_error_set(&in->err, -ENOMEM, "out of memory");
    }
    if (r == 0) {
        mig_set_status(m, VMIG_MIGRATION_INCOMING, VMIG_MIGRATION_STATUS_ACTIVE);
        vmig_savevm_load_hooks_t hooks = {
            .opaque = m,
            .open_return_path = hook_open_rp,
            .ping = hook_ping,
            .warn = hook_warn,
        };
        vmig_savevm_set_load_hooks(e->savevm, &hooks);
        vmig_ram_load_opts_t lo = {
            .compress = m->cfg.caps[VMIG_MIG_CAP_COMPRESS],
            .decompress_threads = m->cfg.params.decompress_threads,
        };
        vmig_ram_set_load_opts(e->ram, &lo);
        m->gs.received = false;
        r = vmig_savevm_load(e->savevm, in->s);
        if (r == VMIG_SAVEVM_LOAD_QUIT) {
            /* Postcopy commands are refused before this can happen. */
            vmig_savevm_load_cleanup(e->savevm);
            r = vmig_error_set(&in->err, -ENOTSUP, "postcopy is not supported by vmig yet");
        } else if (r < 0) {
            /* A multifd channel's failure stopped the main stream: its
             * message says why. */
            const vmig_error_t *me = in->mf ? vmig_multifd_recv_error(in->mf) : NULL;
            if (me && me->code)
                vmig_error_set(&in->err, me->code, "%s", me->msg);
            vmig_error_set(&in->err, r, "%s", vmig_stream_error_msg(in->s));
        }
        vmig_savevm_set_load_hooks(e->savevm, NULL);
    }
    co_cancel_clear();
    mig_multifd_in_end(m, r);
    /* Tell the source how the load went before the channel goes. */
    if (in->rp_s) {
        rp_send(in, VMIG_RP_MSG_SHUT, r < 0 ? 1 : 0);
        vmig_stream_free(in->rp_s);
        in->rp_s = NULL;
    }
    if (in->s) {
        in->bytes_total = vmig_stream_tell(in->s);
        vmig_stream_free(in->s);
        in->s = NULL;
    }
    if (in->ch) {
        vmig_channel_close(in->ch);
        in->ch = NULL;
    }
    if (r < 0 && !in->err.code)
        vmig_error_set(&in->err, r, "%s", vmig_strerror(r));
    free(in->listen_uri);
    in->listen_uri = NULL;
    mig_tls_release(m, &in->tls);
    if (r == 0) {
        /* QEMU starts the VM (RESUME) before it says completed. */
        if (!in->cancel)
            decide_run_state(m);
        mig_set_status(m, VMIG_MIGRATION_INCOMING, VMIG_MIGRATION_STATUS_COMPLETED);
    } else {
        mig_set_status(m, VMIG_MIGRATION_INCOMING, VMIG_MIGRATION_STATUS_FAILED);
    }
    in->co = NULL;
    co_event_set(&in->idle);
    return 0;
}

/* ---- starting ------------------------------------------------------------------------------- */

static bool is_socket_uri(const char *uri)
{
    return strncmp(uri, "tcp:", 4) == 0 || strncmp(uri, "unix:", 5) == 0;
}

typedef struct listen_call {
    vmig_migration_t *m; /* the migration */
    vmig_error_t *err;   /* where the error goes */
} listen_call_t;

/* Listen first, so that -incoming fails at once on a bad address and
 * query-migrate can show the bound port. */
static int listen_co(void *arg)
{
    listen_call_t *c = arg;
    mig_in_t *in = &c->m->in;
    /* Room for every multifd channel next to the main one (QEMU: channels
     * + 1 when multifd is on at listen time). Always that much: capability
     * multifd may come after -incoming, and a source connects its channels
     * at once; a full backlog drops their SYNs, each then retried a second
     * later. */
    int r = vmig_listener_open(c->m->e->loop, in->uri, VMIG_MULTIFD_CHANNELS_MAX + 1,
                               &in->listener, c->err);
    if (r == 0) {
        in->listen_uri = strdup(vmig_listener_uri(in->listener));
        if (!in->listen_uri)
            r = vmig_error_set(c->err, -ENOMEM, "out of memory");
    }
    return r;
}

static int run_listen(vmig_migration_t *m, vmig_error_t *err)
{
    listen_call_t c = { m, err };
    if (co_in_coroutine())
        return listen_co(&c);
    co_t *co = co_create(m->e->loop, listen_co, &c);
    if (!co)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    co_enter(co);
    while (!co_finished(co))
        uv_run(m->e->loop, UV_RUN_ONCE);
    int r = 0;
    co_join(co, &r);
    return r;
}

int mig_in_start(vmig_migration_t *m, const char *uri, vmig_error_t *err)
{
    mig_in_t *in = &m->in;
    if (m->closing)
        return vmig_error_set(err, -EBUSY, "the engine is closing");
    /* QEMU announces setup for every attempt, even one it then refuses;
     * its incoming status itself goes from none to active on connection. */
    if (m->cfg.caps[VMIG_MIG_CAP_EVENTS])
        vmig_engine_event(m->e, "MIGRATION", json_pack("{s:s}", "status", "setup"));
    vmig_error_t cerr = { 0 };
    int cr = vmig_channel_check_uri(uri, VMIG_CHANNEL_INCOMING, &cerr);
    if (cr == -EPROTO)
        return vmig_error_set(err, -EINVAL, "unknown migration protocol: %s", uri);
    if (cr < 0)
        return vmig_error_set(err, cr, "%s", cerr.msg);
    free(in->uri);
    in->uri = strdup(uri);
    if (!in->uri)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    memset(&in->err, 0, sizeof(in->err));
    in->bytes_total = 0;
    if (is_socket_uri(uri)) {
        int r = run_listen(m, err);
        if (r < 0)
            return r;
    }
    in->started = true;
    co_event_reset(&in->idle);
    in->co = co_create(m->e->loop, in_co, m);
    if (!in->co) {
        co_event_set(&in->idle);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    co_detach(in->co);
    co_enter(in->co);
    return 0;
}
