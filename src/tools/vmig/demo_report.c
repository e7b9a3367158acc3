/* demo_report.c — what `vmig demo` tells at the end: a readable report on
 * stderr-free stdout, or one JSON object with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static double mib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0);
}

/* Throughput over the time RAM was actually moving (total − setup), MiB/s. */
static double mib_per_s(const demo_stats_t *st)
{
    int64_t ms = st->total_ms - st->setup_ms;
    return ms > 0 ? mib(st->transferred) * 1000.0 / (double)ms : 0.0;
}

void demo_report_text(const demo_run_info_t *ri, const demo_stats_t *st, const demo_verify_t *v)
{
    printf("vmig demo: live migration of a %.0f MiB %s VM (%s, workload %s) over %s\n",
           mib(ri->size), ri->machine, ri->accel, ri->workload, ri->transport);
    printf("  status          %s\n", st->status);
    printf("  total time      %lld ms (setup %lld ms)\n", (long long)st->total_ms,
           (long long)st->setup_ms);
    printf("  downtime        %lld ms\n", (long long)st->downtime_ms);
    printf("  passes          %llu (dirty bitmap syncs)\n", (unsigned long long)st->passes);
    printf("  transferred     %.1f MiB (%llu bytes of RAM records, %llu on the wire)\n",
           mib(st->transferred), (unsigned long long)st->transferred,
           (unsigned long long)st->wire_bytes);
    printf("    normal pages  %llu (%.1f MiB)\n", (unsigned long long)st->normal_pages,
           mib(st->normal_bytes));
    printf("    zero pages    %llu\n", (unsigned long long)st->zero_pages);
    printf("    while running %.1f MiB, while stopped %.1f MiB\n", mib(st->precopy_bytes),
           mib(st->downtime_bytes));
    printf("  throughput      %.0f MiB/s (%.0f Mbit/s)\n", mib_per_s(st), st->mbps);
    if (!v)
        return;
    printf("  verification    %s\n", v->verified ? "PASSED" : "FAILED");
    printf("    pages         %llu compared, %s", (unsigned long long)v->npages,
           v->equal ? "all identical\n" : "");
    if (!v->equal)
        printf("%llu differ, first page %lld\n", (unsigned long long)v->differing,
               (long long)v->first_diff);
    if (v->walk_checked) {
        if (v->walk.ok)
            printf("    walk          intact: pages %llu.. hold %u+1 up to the walker at page "
                   "%llu, %u after it (page 0 is the guest's code)\n",
                   (unsigned long long)v->walk.skip, v->walk.value,
                   (unsigned long long)v->walk.boundary, v->walk.value);
        else
            printf("    walk          BROKEN\n");
    }
    printf("    after cont    %s", v->running ? "running" : "NOT running");
    if (v->serial_checked)
        printf(", serial %llu -> %llu bytes", (unsigned long long)v->serial_before,
               (unsigned long long)v->serial_after);
    if (v->progress_checked)
        printf(", %llu pages changed", (unsigned long long)v->changed_pages);
    printf("\n");
    if (!v->verified)
        printf("    why           %s\n", v->why);
}

void demo_report_json(const demo_run_info_t *ri, const demo_stats_t *st, const demo_verify_t *v,
                      bool migrated, const char *error)
{
    json_t *o = json_object();
    json_object_set_new(o, "verified", json_boolean(v && v->verified));
    json_object_set_new(o, "migrated", json_boolean(migrated));
    json_object_set_new(o, "status", json_string(st->status));
    json_object_set_new(o, "total_time_ms", json_integer(st->total_ms));
    json_object_set_new(o, "setup_time_ms", json_integer(st->setup_ms));
    json_object_set_new(o, "downtime_ms", json_integer(st->downtime_ms));
    /* Every byte on the channel: RAM records plus the stream's headers,
     * device state and trailer (query-migrate's "transferred" counts only
     * the RAM records; it is the fallback when the VMM cannot say). */
    json_object_set_new(o, "transferred_bytes",
                        json_integer((json_int_t)(st->wire_bytes ? st->wire_bytes
                                                                 : st->transferred)));
    json_object_set_new(o, "ram_transferred_bytes", json_integer((json_int_t)st->transferred));
    json_object_set_new(o, "precopy_bytes", json_integer((json_int_t)st->precopy_bytes));
    json_object_set_new(o, "downtime_bytes", json_integer((json_int_t)st->downtime_bytes));
    json_object_set_new(o, "passes", json_integer((json_int_t)st->passes));
    json_object_set_new(o, "normal_pages", json_integer((json_int_t)st->normal_pages));
    json_object_set_new(o, "normal_bytes", json_integer((json_int_t)st->normal_bytes));
    json_object_set_new(o, "zero_pages", json_integer((json_int_t)st->zero_pages));
    json_object_set_new(o, "mbps", json_real(st->mbps));
    json_object_set_new(o, "throughput_mib_s", json_real(mib_per_s(st)));
    json_object_set_new(o, "size_bytes", json_integer((json_int_t)ri->size));
    json_object_set_new(o, "machine", json_string(ri->machine));
    json_object_set_new(o, "accel", json_string(ri->accel));
    json_object_set_new(o, "workload", json_string(ri->workload));
    json_object_set_new(o, "transport", json_string(ri->transport));
    json_object_set_new(o, "uri", ri->uri && ri->uri[0] ? json_string(ri->uri) : json_null());
    json_object_set_new(o, "wall_time_ms", json_integer(ri->wall_ms));
    if (v) {
        json_t *vj = json_object();
        json_object_set_new(vj, "pages", json_integer((json_int_t)v->npages));
        json_object_set_new(vj, "equal", json_boolean(v->equal));
        json_object_set_new(vj, "differing_pages", json_integer((json_int_t)v->differing));
        json_object_set_new(vj, "first_differing_page",
                            v->first_diff >= 0 ? json_integer(v->first_diff) : json_null());
        if (v->walk_checked) {
            json_object_set_new(vj, "walk_ok", json_boolean(v->walk.ok));
            json_object_set_new(vj, "walk_skip_pages", json_integer((json_int_t)v->walk.skip));
            json_object_set_new(vj, "walk_position", json_integer((json_int_t)v->walk.boundary));
        }
        json_object_set_new(vj, "running_after_cont", json_boolean(v->running));
        if (v->serial_checked) {
            json_object_set_new(vj, "serial_bytes_before",
                                json_integer((json_int_t)v->serial_before));
            json_object_set_new(vj, "serial_bytes_after",
                                json_integer((json_int_t)v->serial_after));
        }
        if (v->progress_checked)
            json_object_set_new(vj, "pages_changed_after_cont",
                                json_integer((json_int_t)v->changed_pages));
        json_object_set_new(o, "verification", vj);
    }
    json_object_set_new(o, "dir", ri->dir && ri->dir[0] ? json_string(ri->dir) : json_null());
    json_object_set_new(o, "kept", json_boolean(ri->kept));
    const char *why = error && error[0] ? error : v && !v->verified ? v->why : NULL;
    json_object_set_new(o, "error", why ? json_string(why) : json_null());
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        puts(s);
        free(s);
    }
    fflush(stdout);
    json_decref(o);
}
