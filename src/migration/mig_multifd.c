/* mig_multifd.c — capability multifd in a migration job: the parameters to
 * channel options, the channels opened (source) or accepted (destination)
 * next to the main one, and the RAM handler's hooks that reach them. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "migration/mig_internal.h"
#include "multifd/multifd_recv.h"
#include "multifd/multifd_send.h"
#include "multifd/multifd_wire.h"

/* vmig has no VM UUID: zero, as QEMU without -uuid (both ends compare). */
static const uint8_t no_uuid[16];

bool mig_multifd_on(const vmig_migration_t *m)
{
    return m->cfg.caps[VMIG_MIG_CAP_MULTIFD];
}

bool mig_multifd_uri_ok(const char *uri)
{
    return strncmp(uri, "tcp:", 4) == 0 || strncmp(uri, "unix:", 5) == 0;
}

static uint32_t method(const vmig_mig_params_t *p)
{
    switch (p->multifd_compression) {
    case VMIG_MULTIFD_COMPRESSION_ZLIB:
        return VMIG_MULTIFD_FLAG_ZLIB;
    case VMIG_MULTIFD_COMPRESSION_ZSTD:
        return VMIG_MULTIFD_FLAG_ZSTD;
    default:
        return VMIG_MULTIFD_FLAG_NOCOMP;
    }
}

/* ---- source ------------------------------------------------------------------------ */

/* A channel's failure becomes the job's error (its message, not the RAM
 * handler's generic one): the first error is the one query-migrate shows. */
static int64_t out_result(vmig_migration_t *m, int64_t r)
{
    if (r < 0 && r != -ECANCELED) {
        const vmig_error_t *e = vmig_multifd_send_error(m->out.mf);
        if (e->code)
            vmig_error_set(&m->out.err, e->code, "%s", e->msg);
    }
    return r;
}

static int64_t hook_queue_page(void *opaque, vmig_ram_block_t *block, uint64_t offset)
{
    vmig_migration_t *m = opaque;
    return out_result(m, vmig_multifd_send_page(m->out.mf, block, offset));
}

static int64_t hook_send_sync(void *opaque)
{
    vmig_migration_t *m = opaque;
    return out_result(m, vmig_multifd_send_sync(m->out.mf));
}

/* Each channel is a TLS client too when tls-creds is set. */
static int out_wrap(void *opaque, vmig_channel_t **ch, vmig_error_t *err)
{
    return mig_tls_client_wrap(opaque, ch, err);
}

int mig_multifd_out_start(vmig_migration_t *m)
{
    mig_out_t *o = &m->out;
    if (!mig_multifd_on(m))
        return 0;
    if (!mig_multifd_uri_ok(o->uri))
        return vmig_error_set(&o->err, -ENOTSUP, "multifd is not supported by current protocol");
    const vmig_mig_params_t *p = &m->cfg.params;
    vmig_multifd_send_opts_t so = {
        .channels = p->multifd_channels,
        .method = method(p),
        .level = p->multifd_compression == VMIG_MULTIFD_COMPRESSION_ZSTD ? p->multifd_zstd_level
                                                                         : p->multifd_zlib_level,
    };
    memcpy(so.uuid, no_uuid, sizeof(so.uuid));
    so.wrap = out_wrap;
    so.wrap_opaque = m;
    int r = vmig_multifd_send_new(m->e->loop, o->uri, &so, &o->mf, &o->err);
    if (r < 0)
        return r;
    o->mf_ops = (vmig_ram_multifd_ops_t){
        .opaque = m,
        .queue_page = hook_queue_page,
        .send_sync = hook_send_sync,
    };
    vmig_ram_set_multifd(m->e->ram, &o->mf_ops);
    return 0;
}

void mig_multifd_out_shutdown(vmig_migration_t *m, int code)
{
    if (m->out.mf)
        vmig_multifd_send_shutdown(m->out.mf, code);
}

void mig_multifd_out_end(vmig_migration_t *m, int r)
{
    mig_out_t *o = &m->out;
    if (!o->mf)
        return;
    vmig_ram_set_multifd(m->e->ram, NULL);
    if (r < 0)
        vmig_multifd_send_shutdown(o->mf, r);
    vmig_multifd_send_free(o->mf);
    o->mf = NULL;
}

/* ---- destination ----------------------------------------------------------------- */

static int hook_recv_sync(void *opaque, vmig_error_t *err)
{
    vmig_migration_t *m = opaque;
    return vmig_multifd_recv_sync(m->in.mf, err);
}

/* A channel failed: stop the main stream too, so the load ends with it
 * and the source's writes fail. With a return path only its read side: the
 * write side must still carry SHUT 1, which tells the source. */
static void on_channel_error(void *opaque)
{
    vmig_migration_t *m = opaque;
    if (m->in.ch)
        vmig_channel_shutdown(m->in.ch, m->in.rp_s ? SHUT_RD : SHUT_RDWR);
}

int mig_multifd_in_start(vmig_migration_t *m, vmig_listener_t *l)
{
    mig_in_t *in = &m->in;
    if (!mig_multifd_on(m))
        return 0;
    if (!l)
        return vmig_error_set(&in->err, -ENOTSUP, "multifd is not supported by current protocol");
    const vmig_mig_params_t *p = &m->cfg.params;
    vmig_multifd_recv_opts_t ro = {
        .channels = p->multifd_channels,
        .method = method(p),
        .uuid = no_uuid,
        .on_error = on_channel_error,
        .opaque = m,
    };
    int r = vmig_multifd_recv_new(m->e->loop, m->e->ram, &ro, &in->mf);
    if (r < 0)
        return vmig_error_set(&in->err, r, "multifd: %s", vmig_strerror(r));
    /* QEMU 7.2: the first connection is the main one, every later one a
     * channel; the load starts once all of them are there. */
    while (!vmig_multifd_recv_complete(in->mf)) {
        vmig_channel_t *ch;
        r = vmig_listener_accept(l, &ch, &in->err);
        if (r == 0)
            r = mig_tls_server_wrap(m, &ch, &in->err);
        if (r == 0)
            r = vmig_multifd_recv_add(in->mf, ch, &in->err);
        if (r < 0)
            return r;
    }
    in->mf_ops = (vmig_ram_multifd_ops_t){ .opaque = m, .recv_sync = hook_recv_sync };
    vmig_ram_set_multifd(m->e->ram, &in->mf_ops);
    return 0;
}

void mig_multifd_in_end(vmig_migration_t *m, int r)
{
    mig_in_t *in = &m->in;
    if (!in->mf)
        return;
    vmig_ram_set_multifd(m->e->ram, NULL);
    /* Done or failed, the channels stop here: the source closes its ends
     * after completion, a failed load needs no more of them. */
    vmig_multifd_recv_shutdown(in->mf, r < 0 ? r : 0);
    vmig_multifd_recv_free(in->mf);
    in->mf = NULL;
}
