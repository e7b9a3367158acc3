/* mig_tls.c — parameters tls-creds, tls-hostname and tls-authz in a
 * migration job (spec/channels.md §4): the source wraps each channel it
 * opens as a TLS client, the destination each channel it accepts as a TLS
 * server, with QEMU 7.2's errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "channel/channel_internal.h"
#include "channel/channel_tls.h"
#include "engine/engine_objects.h"
#include "migration/mig_internal.h"

/* Every channel of a job uses what tls-creds and tls-authz named when the
 * job started, the objects it holds (mig_tls_hold()): a parameter changed
 * meanwhile neither mixes plain and TLS channels nor reaches an object that
 * object-del may free. */

/* The credentials the job holds, for endpoint: NULL with err set. */
static const vmig_tls_creds_t *creds_for(vmig_migration_t *m, const mig_tls_held_t *h,
                                         vmig_tls_endpoint_t endpoint, vmig_error_t *err)
{
    const char *id = h->creds;
    const vmig_tls_creds_t *c = engine_tls_creds(m->e, id);
    if (!c) {
        vmig_error_set(err, -ENOENT, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    if (vmig_tls_creds_endpoint(c) != endpoint) {
        vmig_error_set(err, -EINVAL, "Expected TLS credentials for a %s endpoint",
                       endpoint == VMIG_TLS_CLIENT ? "client" : "server");
        return NULL;
    }
    return c;
}

/* The host a source checks the server's certificate against: tls-hostname,
 * else the host of a tcp: URI (the channel layer's own parse: brackets of
 * an IPv6 address dropped, options after a comma ignored). */
static void uri_host(const char *uri, char *out, size_t cap)
{
    chan_inet_t in;
    vmig_error_t e = { 0 };
    out[0] = '\0';
    if (strncmp(uri, "tcp:", 4) == 0 && chan_parse_inet(uri + 4, uri, false, &in, &e) == 0)
        snprintf(out, cap, "%s", in.host);
}

/* *ch stays the plain channel during the handshake, so a cancel can shut
 * it down; then it is the TLS one, or NULL (the wrap closed it). */
static int wrap(vmig_channel_t **ch, const vmig_tls_creds_t *c, const vmig_tls_opts_t *opts,
                vmig_error_t *err)
{
    vmig_channel_t *tls = NULL;
    int r = vmig_channel_tls_wrap(*ch, c, opts, &tls, err);
    *ch = r == 0 ? tls : NULL;
    return r;
}

int mig_tls_client_wrap(vmig_migration_t *m, vmig_channel_t **ch, vmig_error_t *err)
{
    if (!m->out.tls.creds[0])
        return 0;
    const vmig_tls_creds_t *c = creds_for(m, &m->out.tls, VMIG_TLS_CLIENT, err);
    if (!c) {
        vmig_channel_close(*ch);
        *ch = NULL;
        return err->code;
    }
    char host[256];
    const char *set = m->cfg.params.tls_hostname;
    if (set && *set)
        snprintf(host, sizeof(host), "%s", set);
    else
        uri_host(m->out.uri, host, sizeof(host));
    vmig_tls_opts_t opts = { .hostname = host[0] ? host : NULL };
    return wrap(ch, c, &opts, err);
}

static bool authz_fn(void *opaque, const char *dn)
{
    vmig_migration_t *m = opaque;
    return engine_authz_check(m->e, m->in.tls.authz, dn) == 1;
}

int mig_tls_server_wrap(vmig_migration_t *m, vmig_channel_t **ch, vmig_error_t *err)
{
    if (!m->in.tls.creds[0])
        return 0;
    const vmig_tls_creds_t *c = creds_for(m, &m->in.tls, VMIG_TLS_SERVER, err);
    const char *authz = m->in.tls.authz;
    bool with_authz = *authz;
    if (c && with_authz && engine_authz_check(m->e, authz, "") == -ENOENT) {
        vmig_error_set(err, -ENOENT, "Cannot find authorization object '%s'", authz);
        c = NULL;
    }
    if (!c) {
        vmig_channel_close(*ch);
        *ch = NULL;
        return err->code;
    }
    vmig_tls_opts_t opts = {
        .authz_fn = with_authz ? authz_fn : NULL,
        .authz_opaque = m,
    };
    return wrap(ch, c, &opts, err);
}

void mig_tls_hold(vmig_migration_t *m, mig_tls_held_t *h)
{
    h->creds[0] = h->authz[0] = '\0';
    const char *creds = m->cfg.params.tls_creds;
    if (!creds || !*creds)
        return;
    snprintf(h->creds, sizeof(h->creds), "%s", m->cfg.params.tls_creds);
    engine_object_hold(m->e, h->creds, true);
    const char *authz = m->cfg.params.tls_authz;
    if (authz && *authz) {
        snprintf(h->authz, sizeof(h->authz), "%s", authz);
        engine_object_hold(m->e, h->authz, true);
    }
}

void mig_tls_release(vmig_migration_t *m, mig_tls_held_t *h)
{
    if (h->creds[0])
        engine_object_hold(m->e, h->creds, false);
    if (h->authz[0])
        engine_object_hold(m->e, h->authz, false);
    h->creds[0] = h->authz[0] = '\0';
}
