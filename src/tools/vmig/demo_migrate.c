/* demo_migrate.c — drive the live migration over QMP: capabilities and
 * parameters, `migrate`, then query-migrate every 100 ms plus the events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "util/size.h"
#include "vmig/co.h"

/* How often the figures are refreshed, and the progress with them. */
#define TICK_MS 100
/* Default max-bandwidth: far above loopback, so it never caps the demo. */
#define DEMO_MAX_BANDWIDTH (10ull << 30)

int64_t demo_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run cmd on c's monitor; 0 with *ret (may be NULL), else -errno with msg. */
static int call(demo_child_t *c, const char *cmd, json_t *args, json_t **ret, char *msg,
                size_t msglen)
{
    vmig_error_t err = { 0 };
    json_t *r = NULL;
    int rc = vmig_qmp_client_call(c->qmp, cmd, args, -1, &r, &err);
    if (rc < 0) {
        demo_msg(msg, msglen, "%s: %s: %s", c->name, cmd, err.msg);
        json_decref(r);
        return rc;
    }
    if (ret)
        *ret = r;
    else
        json_decref(r);
    return 0;
}

/* A --param value as JSON: integers and sizes ("10G") as numbers, true and
 * false as booleans, anything else as a string; QMP checks the type. */
static json_t *param_value(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end != v && !*end)
        return json_integer(n);
    if (!strcmp(v, "true") || !strcmp(v, "on"))
        return json_true();
    if (!strcmp(v, "false") || !strcmp(v, "off"))
        return json_false();
    uint64_t sz;
    if (vmig_parse_size(v, 1, &sz) == 0 && sz <= INT64_MAX)
        return json_integer((json_int_t)sz);
    return json_string(v);
}

static json_t *caps_list(const demo_opts_t *o)
{
    json_t *list = json_array();
    json_array_append_new(list, json_pack("{s:s,s:b}", "capability", "events", "state", 1));
    for (unsigned i = 0; i < o->ncaps; i++) {
        char name[128];
        const char *eq = strchr(o->caps[i], '=');
        size_t n = eq ? (size_t)(eq - o->caps[i]) : strlen(o->caps[i]);
        snprintf(name, sizeof(name), "%.*s", (int)n, o->caps[i]);
        bool on = !eq || !strcmp(eq + 1, "on") || !strcmp(eq + 1, "true");
        json_array_append_new(list, json_pack("{s:s,s:b}", "capability", name, "state", on));
    }
    return list;
}

int demo_migrate_setup(demo_child_t *src, demo_child_t *dst, const demo_opts_t *o, char *msg,
                       size_t msglen)
{
    /* Capabilities on both sides, as with QEMU: return-path and friends
     * need the destination to agree. */
    json_t *args = json_pack("{s:o}", "capabilities", caps_list(o));
    int r = call(src, "migrate-set-capabilities", args, NULL, msg, msglen);
    if (r == 0)
        r = call(dst, "migrate-set-capabilities", args, NULL, msg, msglen);
    json_decref(args);
    if (r < 0)
        return r;
    json_t *params = json_pack("{s:I}", "max-bandwidth", (json_int_t)DEMO_MAX_BANDWIDTH);
    for (unsigned i = 0; i < o->nparams; i++) {
        const char *eq = strchr(o->params[i], '=');
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - o->params[i]), o->params[i]);
        json_object_set_new(params, name, param_value(eq + 1));
    }
    r = call(src, "migrate-set-parameters", params, NULL, msg, msglen);
    json_decref(params);
    return r;
}

int demo_migrate_uri(demo_child_t *dst, const char *transport, char *uri, size_t urilen,
                     char *msg, size_t msglen)
{
    if (!strcmp(transport, "unix"))
        return 0; /* the caller chose the socket path: uri already set */
    /* The destination listens on port 0 (any free port: no race with other
     * programs picking one); query-migrate names the port it got. */
    json_t *ret = NULL;
    int r = call(dst, "query-migrate", NULL, &ret, msg, msglen);
    if (r < 0)
        return r;
    json_t *sa = json_array_get(json_object_get(ret, "socket-address"), 0);
    const char *host = json_string_value(json_object_get(sa, "host"));
    const char *port = json_string_value(json_object_get(sa, "port"));
    if (!host || !port) {
        demo_msg(msg, msglen, "destination: query-migrate names no listening socket-address");
        json_decref(ret);
        return -EPROTO;
    }
    snprintf(uri, urilen, "tcp:%s:%s", host, port);
    json_decref(ret);
    return 0;
}

static uint64_t u64(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
    if (json_is_real(v))
        return json_real_value(v) < 0 ? 0 : (uint64_t)json_real_value(v);
    return 0;
}

static int64_t i64_or(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* Fold a query-migrate answer into st. */
static void take_stats(demo_stats_t *st, json_t *qm)
{
    const char *status = json_string_value(json_object_get(qm, "status"));
    if (status)
        snprintf(st->status, sizeof(st->status), "%s", status);
    st->total_ms = i64_or(qm, "total-time", st->total_ms);
    st->setup_ms = i64_or(qm, "setup-time", st->setup_ms);
    st->downtime_ms = i64_or(qm, "downtime", st->downtime_ms);
    st->expected_downtime_ms = i64_or(qm, "expected-downtime", st->expected_downtime_ms);
    const char *e = json_string_value(json_object_get(qm, "error-desc"));
    if (e)
        snprintf(st->error, sizeof(st->error), "%s", e);
    json_t *ram = json_object_get(qm, "ram");
    if (!json_is_object(ram))
        return;
    st->transferred = u64(ram, "transferred");
    st->remaining = u64(ram, "remaining");
    st->total = u64(ram, "total");
    st->normal_pages = u64(ram, "normal");
    st->normal_bytes = u64(ram, "normal-bytes");
    st->zero_pages = u64(ram, "duplicate");
    st->precopy_bytes = u64(ram, "precopy-bytes");
    st->downtime_bytes = u64(ram, "downtime-bytes");
    uint64_t syncs = u64(ram, "dirty-sync-count");
    if (syncs > st->passes)
        st->passes = syncs;
    json_t *mbps = json_object_get(ram, "mbps");
    st->mbps = json_is_number(mbps) ? json_number_value(mbps) : 0;
    uint64_t psize = u64(ram, "page-size");
    st->dirty_bytes_per_s = (double)u64(ram, "dirty-pages-rate") * (double)(psize ? psize : 4096);
}

static bool final_status(const char *s)
{
    return !strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

/* Take the source's pending events: MIGRATION_PASS moves the pass on at
 * once (between two queries), MIGRATION gives the status. Waits up to
 * wait_ms for the first. 0, or -errno when the monitor is gone. */
static int drain_events(demo_child_t *src, demo_stats_t *st, int64_t wait_ms)
{
    for (;;) {
        vmig_error_t err = { 0 };
        json_t *ev = NULL;
        int r = vmig_qmp_client_event(src->qmp, wait_ms, &ev, &err);
        if (r == -ETIMEDOUT)
            return 0;
        if (r < 0)
            return r;
        wait_ms = 0;
        const char *name = json_string_value(json_object_get(ev, "event"));
        json_t *data = json_object_get(ev, "data");
        if (name && !strcmp(name, "MIGRATION_PASS")) {
            uint64_t pass = u64(data, "pass");
            if (pass > st->passes)
                st->passes = pass;
        } else if (name && !strcmp(name, "MIGRATION")) {
            const char *s = json_string_value(json_object_get(data, "status"));
            if (s)
                snprintf(st->status, sizeof(st->status), "%s", s);
        }
        json_decref(ev);
    }
}

/* Cancel a migration that overran and wait (briefly) for it to say so. */
static void cancel(demo_child_t *src, demo_stats_t *st)
{
    char ignored[256];
    call(src, "migrate_cancel", NULL, NULL, ignored, sizeof(ignored));
    int64_t deadline = demo_now_ms() + 10000;
    while (demo_now_ms() < deadline) {
        json_t *qm = NULL;
        if (call(src, "query-migrate", NULL, &qm, ignored, sizeof(ignored)) < 0)
            return;
        take_stats(st, qm);
        json_decref(qm);
        if (final_status(st->status) || co_sleep(TICK_MS) < 0)
            return;
    }
}

int demo_migrate_run(demo_child_t *src, const char *uri, unsigned timeout_s,
                     demo_progress_t *prog, demo_stats_t *st, char *msg, size_t msglen)
{
    memset(st, 0, sizeof(*st));
    st->downtime_ms = -1;
    snprintf(st->status, sizeof(st->status), "setup");
    json_t *args = json_pack("{s:s}", "uri", uri);
    int r = call(src, "migrate", args, NULL, msg, msglen);
    json_decref(args);
    if (r < 0)
        return r;
    int64_t start = demo_now_ms();
    int64_t deadline = start + (int64_t)timeout_s * 1000;
    int64_t next = start;
    for (;;) {
        int64_t now = demo_now_ms();
        if (now >= next) {
            json_t *qm = NULL;
            r = call(src, "query-migrate", NULL, &qm, msg, msglen);
            if (r < 0)
                return r;
            take_stats(st, qm);
            json_decref(qm);
            demo_progress_update(prog, st, demo_now_ms());
            if (final_status(st->status))
                break;
            next = now + TICK_MS;
        }
        if (now >= deadline) {
            demo_progress_done(prog);
            demo_note(prog, "vmig demo: the migration did not complete in %u s: cancelling",
                      timeout_s);
            cancel(src, st);
            demo_msg(msg, msglen, "the migration did not complete within %u s (cancelled; "
                     "raise --timeout, or lower --dirty-rate)", timeout_s);
            return -ETIMEDOUT;
        }
        r = drain_events(src, st, next - demo_now_ms() > 0 ? next - demo_now_ms() : 0);
        if (r < 0) {
            demo_msg(msg, msglen, r == -ECANCELED ? "interrupted"
                                                  : "source: the monitor went away mid-migration");
            return r;
        }
        /* A final MIGRATION event: query at once for the final figures. */
        if (final_status(st->status))
            next = 0;
    }
    demo_progress_done(prog);
    /* Every byte on the channel (vmig's extension; a QEMU-like VMM without
     * it leaves the RAM-record count). */
    json_t *bytes = NULL;
    char ignored[64];
    if (call(src, "x-vmig-query-migrate-bytes", NULL, &bytes, ignored, sizeof(ignored)) == 0)
        st->wire_bytes = u64(bytes, "sent");
    json_decref(bytes);
    if (!strcmp(st->status, "completed"))
        return 0;
    demo_msg(msg, msglen, "the migration %s%s%s", st->status, st->error[0] ? ": " : "",
             st->error);
    return -EIO;
}

int demo_migrate_wait_dest(demo_child_t *dst, int timeout_ms, char *msg, size_t msglen)
{
    int64_t deadline = demo_now_ms() + timeout_ms;
    for (;;) {
        json_t *qm = NULL;
        int r = call(dst, "query-migrate", NULL, &qm, msg, msglen);
        if (r < 0)
            return r;
        const char *s = json_string_value(json_object_get(qm, "status"));
        bool done = s && !strcmp(s, "completed");
        bool bad = s && (!strcmp(s, "failed") || !strcmp(s, "cancelled"));
        if (bad) {
            const char *e = json_string_value(json_object_get(qm, "error-desc"));
            demo_msg(msg, msglen, "destination: incoming migration %s%s%s", s, e ? ": " : "",
                     e ? e : "");
        }
        json_decref(qm);
        if (done)
            return 0;
        if (bad)
            return -EIO;
        if (demo_now_ms() > deadline) {
            demo_msg(msg, msglen, "destination: incoming migration not completed %d ms after "
                     "the source's", timeout_ms);
            return -ETIMEDOUT;
        }
        r = co_sleep(20);
        if (r < 0) {
            demo_msg(msg, msglen, "interrupted");
            return r;
        }
    }
}
