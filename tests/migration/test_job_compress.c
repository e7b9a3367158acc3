/* test_job_compress.c — a precopy migration with capability compress on both
 * sides between two engines on one loop while a guest thread keeps writing:
 * pages go as COMPRESS_PAGE records (compressed on the pool), the
 * destination inflates them, memory ends equal, and query-migrate shows
 * "compression". */
#include "job_dirty.h"

#define MIB (1024u * 1024u)

static void test_compress_under_writes(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    dirty_vm_init(&src, &loop, 8 * MIB, 5, 40, 200);
    job_vm_init(&dst, &loop, "dst", 8 * MIB, false);
    memset(dst.mem, 0xff, dst.size);
    job_cap(&src.vm, "compress", true);
    job_cap(&dst, "compress", true);
    job_param(&src.vm, "compress-level", 6);
    job_param(&src.vm, "compress-threads", 2);
    job_param(&dst, "decompress-threads", 2);
    job_param(&src.vm, "max-bandwidth", 0); /* unlimited */

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&dst));
    assert_int_equal(vmig_engine_migrate(src.vm.e, uri, &err), 0);

    job_run_until(&loop, job_out_done, &src.vm, 60000);
    job_run_until(&loop, job_in_done, &dst, 60000);
    const char *e1 = vmig_engine_migration_error(src.vm.e);
    const char *e2 = vmig_engine_incoming_error(dst.e);
    if (e1 || e2)
        fail_msg("source: %s / destination: %s", e1 ? e1 : "-", e2 ? e2 : "-");
    assert_int_equal(vmig_engine_migration_status(src.vm.e), VMIG_MIGRATION_STATUS_COMPLETED);
    assert_int_equal(vmig_engine_incoming_status(dst.e), VMIG_MIGRATION_STATUS_COMPLETED);
    assert_false(src.running);
    assert_memory_equal(src.vm.mem, dst.mem, src.vm.size);

    /* Every non-zero page went compressed at least once (the block's first
     * page, which would go whole, is a zero page here); the random pages
     * barely shrink, so only the count and the size's lower bound are
     * checked. */
    int64_t pages = dirty_query_int(&src, "compression", "pages");
    size_t all = src.vm.size / 4096, zero = (all + 2) / 3;
    assert_true(pages >= (int64_t)(all - zero - 1));
    assert_true(dirty_query_int(&src, "compression", "compressed-size") > pages * 4);
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
        cmocka_unit_test(test_compress_under_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
