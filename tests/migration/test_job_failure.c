/* test_job_failure.c — migrations that fail: nobody listening, a destination
 * with another RAM layout, a bad URI. The source ends "failed" with QEMU's
 * kind of message and keeps running; the destination writes nothing. */
#include "job_test.h"

#define MIB (1024u * 1024u)

static void test_connection_refused(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src;
    job_vm_init(&src, &loop, "src", 1 * MIB, true);
    vmig_error_t err = { 0 };
    /* Port 1 on loopback: nothing listens there. */
    assert_int_equal(vmig_engine_migrate(src.e, "tcp:127.0.0.1:1", &err), 0);
    job_run_until(&loop, job_out_done, &src, 20000);
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_string_equal(vmig_engine_migration_error(src.e),
                        "Failed to connect to '127.0.0.1:1': Connection refused");
    assert_int_equal(vmig_engine_run_state(src.e), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(src.stops, 0);
    job_vm_close(&src, &loop);
    vt_loop_done(&loop);
}

static void test_bad_uri(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src;
    job_vm_init(&src, &loop, "src", 1 * MIB, true);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, "ftp:x", &err), -EINVAL);
    assert_string_equal(err.msg, "Parameter 'uri' expects a valid migration protocol");
    /* As QEMU 7.2: the URI is checked in setup, so the migration failed
     * (without error-desc for an unknown scheme). */
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_null(vmig_engine_migration_error(src.e));
    vmig_error_t e2 = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, "tcp:127.0.0.1", &e2), -EINVAL);
    assert_string_equal(e2.msg, "error parsing address '127.0.0.1'");
    assert_string_equal(vmig_engine_migration_error(src.e), e2.msg);
    vmig_error_t e3 = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, "fd:nosuch", &e3), -ENOENT);
    assert_string_equal(e3.msg, "File descriptor named 'nosuch' has not been found");
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_int_equal(vmig_engine_run_state(src.e), VMIG_RUN_STATE_RUNNING);
    job_vm_close(&src, &loop);
    vt_loop_done(&loop);
}

/* The destination's RAM is smaller: it refuses in setup and writes nothing. */
static void test_layout_mismatch(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 4 * MIB, true);
    job_vm_init(&dst, &loop, "dst", 2 * MIB, false);
    job_fill(src.mem, src.size, 11);
    memset(dst.mem, 0x5a, dst.size);
    job_cap(&src, "return-path", true);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(src.e, job_listen_uri(&dst), &err), 0);
    job_run_until(&loop, job_in_done, &dst, 30000);
    job_run_until(&loop, job_out_done, &src, 30000);
    assert_int_equal(vmig_engine_incoming_status(dst.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(strstr(vmig_engine_incoming_error(dst.e), "Length mismatch"));
    for (size_t i = 0; i < dst.size; i++)
        if (dst.mem[i] != 0x5a)
            fail_msg("destination byte %zu written", i);
    /* With a return path the source learns of it (SHUT 1 or the cut channel). */
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_int_equal(vmig_engine_run_state(src.e), VMIG_RUN_STATE_RUNNING);
    job_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_bad_uri),
        cmocka_unit_test(test_layout_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
