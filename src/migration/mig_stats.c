/* mig_stats.c — the figures of query-migrate: the 100 ms bandwidth window
 * that also decides convergence (spec/stream.md §6) and the MigrationInfo
 * object with the members QEMU 7.2 shows in each state (spec/qmp.md §7). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "migration/mig_internal.h"
#include "ram/ram.h"

/* QEMU's BUFFER_DELAY: the window over which bandwidth is measured. */
#define MIG_WINDOW_MS 100

void mig_out_update_counters(vmig_migration_t *m, bool final)
{
    mig_out_t *o = &m->out;
    vmig_ram_t *ram = m->e->ram;
    if (final) {
        /* Completion: mbps over the whole transfer, as 7.2 reports it. */
        uint64_t ms = o->total_time > o->setup_time ? o->total_time - o->setup_time : 0;
        if (ms)
            o->mbps = (double)o->bytes_total * 8.0 / (double)ms / 1000.0;
        return;
    }
    if (!o->s)
        return;
    uint64_t now = uv_hrtime();
    uint64_t elapsed_ms = (now - o->win_start_ns) / 1000000u;
    if (elapsed_ms < MIG_WINDOW_MS)
        return;
    uint64_t written = vmig_stream_bytes_written(o->s);
    uint64_t pages = vmig_ram_pages_sent(ram);
    uint64_t bytes = written - o->win_bytes;
    double bandwidth = (double)bytes / (double)elapsed_ms; /* bytes per ms */
    o->threshold = (uint64_t)(bandwidth * (double)m->cfg.params.downtime_limit);
    o->mbps = (double)bytes * 8.0 / (double)elapsed_ms / 1000.0;
    o->pages_per_second = (pages - o->win_pages) * 1000u / elapsed_ms;
    if (vmig_ram_counters(ram)->dirty_pages_rate && bytes > 10000 && bandwidth > 0)
        o->expected_downtime = (uint64_t)((double)vmig_ram_remaining(ram) / bandwidth);
    o->win_start_ns = now;
    o->win_bytes = written;
    o->win_pages = pages;
}

static json_t *ram_stats(vmig_migration_t *m)
{
    vmig_ram_t *ram = m->e->ram;
    const vmig_ram_counters_t *c = vmig_ram_counters(ram);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, "
                     "s:I, s:I, s:I, s:I}",
                     "transferred", (json_int_t)c->transferred,
                     "remaining", (json_int_t)vmig_ram_remaining(ram),
                     "total", (json_int_t)vmig_ram_total(ram),
                     "duplicate", (json_int_t)c->duplicate,
                     "skipped", (json_int_t)0,
                     "normal", (json_int_t)c->normal,
                     "normal-bytes", (json_int_t)(c->normal * 4096u),
                     "dirty-pages-rate", (json_int_t)c->dirty_pages_rate,
                     "mbps", m->out.mbps,
                     "dirty-sync-count", (json_int_t)c->dirty_sync_count,
                     "postcopy-requests", (json_int_t)c->postcopy_requests,
                     "page-size", (json_int_t)4096,
                     "multifd-bytes", (json_int_t)c->multifd_bytes,
                     "pages-per-second", (json_int_t)m->out.pages_per_second,
                     "precopy-bytes", (json_int_t)c->precopy_bytes,
                     "downtime-bytes", (json_int_t)c->downtime_bytes,
                     "postcopy-bytes", (json_int_t)c->postcopy_bytes,
                     "dirty-sync-missed-zero-copy", (json_int_t)c->dirty_sync_missed_zero_copy);
}

/* "xbzrle-cache" and "compression", each while its capability is on (as
 * QEMU 7.2's populate_ram_info). A member that cannot be built is left out. */
static void cache_stats(vmig_migration_t *m, json_t *info)
{
    static const struct {
        vmig_mig_cap_t cap;
        const char *key;
        int (*fill)(const vmig_ram_t *ram, json_t *obj);
    } members[] = {
        { VMIG_MIG_CAP_XBZRLE, "xbzrle-cache", vmig_ram_xbzrle_stats_json },
        { VMIG_MIG_CAP_COMPRESS, "compression", vmig_ram_compress_stats_json },
    };
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        if (!m->cfg.caps[members[i].cap])
            continue;
        json_t *obj = json_object();
        if (obj && members[i].fill(m->e->ram, obj) == 0)
            json_object_set_new(info, members[i].key, obj);
        else
            json_decref(obj);
    }
}

/* The source's view (QEMU 7.2's fill_source_migration_info). */
static void source_info(vmig_migration_t *m, json_t *info)
{
    mig_out_t *o = &m->out;
    vmig_migration_status_t st = o->status;
    const char *name = vmig_migration_status_name(st);
    switch (st) {
    case VMIG_MIGRATION_STATUS_NONE:
        return; /* {} */
    case VMIG_MIGRATION_STATUS_SETUP:
        json_object_set_new(info, "status", json_string(name));
        return;
    case VMIG_MIGRATION_STATUS_ACTIVE:
    case VMIG_MIGRATION_STATUS_CANCELLING:
    case VMIG_MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case VMIG_MIGRATION_STATUS_PRE_SWITCHOVER:
    case VMIG_MIGRATION_STATUS_DEVICE:
    case VMIG_MIGRATION_STATUS_POSTCOPY_PAUSED:
    case VMIG_MIGRATION_STATUS_POSTCOPY_RECOVER: {
        json_object_set_new(info, "status", json_string(name));
        json_object_set_new(info, "setup-time", json_integer((json_int_t)o->setup_time));
        json_object_set_new(info, "total-time",
                            json_integer((json_int_t)(mig_now_ms() - o->start_ms)));
        json_object_set_new(info, "expected-downtime",
                            json_integer((json_int_t)o->expected_downtime));
        json_object_set_new(info, "ram", ram_stats(m));
        cache_stats(m, info);
        int pct = vmig_ram_throttle_pct(m->e->ram);
        if (pct)
            json_object_set_new(info, "cpu-throttle-percentage", json_integer(pct));
        return;
    }
    case VMIG_MIGRATION_STATUS_COMPLETED:
        json_object_set_new(info, "status", json_string(name));
        json_object_set_new(info, "setup-time", json_integer((json_int_t)o->setup_time));
        json_object_set_new(info, "total-time", json_integer((json_int_t)o->total_time));
        json_object_set_new(info, "downtime", json_integer((json_int_t)o->downtime));
        json_object_set_new(info, "ram", ram_stats(m));
        cache_stats(m, info);
        return;
    case VMIG_MIGRATION_STATUS_FAILED:
        json_object_set_new(info, "status", json_string(name));
        if (o->err.code)
            json_object_set_new(info, "error-desc", json_string(o->err.msg));
        return;
    default:
        json_object_set_new(info, "status", json_string(name));
        return;
    }
}

/* The destination's view (QEMU 7.2's fill_destination_migration_info). */
static void destination_info(vmig_migration_t *m, json_t *info)
{
    mig_in_t *in = &m->in;
    if (in->listen_uri) {
        /* Listening or loading: QEMU shows the bound addresses (with the
         * family of the numeric host), and no status until connected. */
        json_t *addr = json_array();
        const char *u = in->listen_uri;
        json_t *a = NULL;
        if (strncmp(u, "tcp:", 4) == 0) {
            const char *host = u + 4, *colon = strrchr(host, ':');
            if (colon) {
                char h[128];
                int hl = (int)(colon - host);
                snprintf(h, sizeof(h), "%.*s", hl, host);
                if (h[0] == '[' && hl >= 2)
                    snprintf(h, sizeof(h), "%.*s", hl - 2, host + 1);
                a = json_pack("{s:s, s:s, s:b, s:s}", "port", colon + 1, "host", h,
                              strchr(h, ':') ? "ipv6" : "ipv4", 1, "type", "inet");
            }
        } else if (strncmp(u, "unix:", 5) == 0) {
            a = json_pack("{s:s, s:s}", "path", u + 5, "type", "unix");
        }
        if (a)
            json_array_append_new(addr, a);
        json_object_set_new(info, "socket-address", addr);
    }
    if (in->status == VMIG_MIGRATION_STATUS_NONE)
        return;
    json_object_set_new(info, "status", json_string(vmig_migration_status_name(in->status)));
    if (in->status == VMIG_MIGRATION_STATUS_FAILED && in->err.code)
        json_object_set_new(info, "error-desc", json_string(in->err.msg));
}

json_t *mig_query_migrate(vmig_migration_t *m)
{
    json_t *info = json_object();
    if (!info)
        return NULL;
    /* A VM is either a destination (it was started with -incoming) or a
     * source; QEMU fills the destination part first, then the source's. */
    if (m->in.configured)
        destination_info(m, info);
    if (!m->in.configured || m->out.status != VMIG_MIGRATION_STATUS_NONE)
        source_info(m, info);
    return info;
}

uint64_t mig_out_bytes(const vmig_migration_t *m)
{
    return m->out.s ? vmig_stream_bytes_written(m->out.s) : m->out.bytes_total;
}

uint64_t mig_in_bytes(const vmig_migration_t *m)
{
    return m->in.s ? vmig_stream_tell(m->in.s) : m->in.bytes_total;
}
