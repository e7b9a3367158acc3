/* test_job_xbzrle.c — a precopy migration with capability xbzrle between two
 * engines on one loop while a guest thread keeps changing a few bytes of a
 * working set: pages go as XBZRLE records after the first round, the
 * destination (xbzrle off: QEMU's loader decodes them anyway) ends with the
 * same memory, and query-migrate shows "xbzrle-cache". */
#include "job_dirty.h"

#define MIB (1024u * 1024u)

typedef struct wait_xb {
    dirty_vm_t *src;
    int64_t want;
} wait_xb_t;

/* XBZRLE records were sent (bytes counts records and overflows). */
static bool xb_sent(void *arg)
{
    wait_xb_t *w = arg;
    if (job_out_done(&w->src->vm))
        return true;
    return dirty_query(w->src, "xbzrle-cache", "pages", false) >= w->want &&
           dirty_query(w->src, "xbzrle-cache", "bytes", false) > 0;
}

static void test_xbzrle_under_writes(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    dirty_vm_init(&src, &loop, 8 * MIB, 11, 100, 300);
    job_vm_init(&dst, &loop, "dst", 8 * MIB, false);
    memset(dst.mem, 0xff, dst.size);
    job_cap(&src.vm, "xbzrle", true);
    job_param(&src.vm, "xbzrle-cache-size", 1 * MIB);
    /* Keep iterating while the writer runs: the threshold is tiny. */
    job_param(&src.vm, "max-bandwidth", 8 * MIB);
    job_param(&src.vm, "downtime-limit", 1);

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&dst));
    assert_int_equal(vmig_engine_migrate(src.vm.e, uri, &err), 0);

    wait_xb_t w = { &src, 50 };
    job_run_until(&loop, xb_sent, &w, 60000);
    if (job_out_done(&src.vm)) {
        const char *e = vmig_engine_migration_error(src.vm.e);
        char *q = json_dumps(mig_query_migrate(src.vm.e->mig), 0);
        fail_msg("ended before XBZRLE pages were sent: %s (%s)", q, e ? e : "-");
    }
    /* A live resize (xbzrle.md §5): a new empty cache, counters go on. */
    job_param(&src.vm, "xbzrle-cache-size", 2 * MIB);
    int64_t before = dirty_query_int(&src, "xbzrle-cache", "pages");
    w.want = before + 20;
    job_run_until(&loop, xb_sent, &w, 60000);
    assert_int_equal(dirty_query_int(&src, "xbzrle-cache", "cache-size"), 2 * MIB);
    /* Now let it converge. */
    job_param(&src.vm, "downtime-limit", 300);

    job_wait_completed(&loop, &src.vm, &dst);
    assert_false(src.running);
    assert_true(atomic_load(&src.writes) > 0);
    assert_memory_equal(src.vm.mem, dst.mem, src.vm.size);

    json_t *info = mig_query_migrate(src.vm.e->mig);
    char *txt = json_dumps(json_object_get(info, "xbzrle-cache"), JSON_COMPACT);
    print_message("xbzrle-cache: %s\n", txt);
    free(txt);
    json_decref(info);
    /* The counters stay after completion, under the capability. */
    assert_true(dirty_query_int(&src, "xbzrle-cache", "pages") > 0);
    assert_true(dirty_query_int(&src, "xbzrle-cache", "bytes") > 0);
    assert_true(dirty_query_int(&src, "xbzrle-cache", "cache-miss") > 0);
    const vmig_ram_counters_t *c = vmig_ram_counters(src.vm.e->ram);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);

    dirty_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xbzrle_under_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
