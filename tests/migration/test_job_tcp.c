/* test_job_tcp.c — a whole precopy migration between two engines on one loop
 * over loopback tcp: RAM arrives intact, both sides end in QEMU's states,
 * and the counters add up. */
#include "job_test.h"

#define MIB (1024u * 1024u)

static void migrate_and_check(bool source_running)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 16 * MIB, true);
    /* A paused source: stopped by the user before the migration. */
    if (!source_running)
        assert_int_equal(vmig_engine_set_run_state(src.e, VMIG_RUN_STATE_PAUSED), 0);
    job_vm_init(&dst, &loop, "dst", 16 * MIB, false);
    job_fill(src.mem, src.size, 7);
    memset(dst.mem, 0xff, dst.size);
    job_param(&src, "max-bandwidth", 0); /* unlimited */

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_run_state(dst.e), VMIG_RUN_STATE_INMIGRATE);
    assert_non_null(job_listen_uri(&dst));
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&dst));
    assert_int_equal(vmig_engine_migrate(src.e, uri, &err), 0);
    /* A second migrate while one runs is QEMU's busy error. */
    vmig_error_t busy = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, uri, &busy), -EBUSY);
    assert_string_equal(busy.msg, "There's a migration process in progress");

    job_wait_completed(&loop, &src, &dst);
    assert_memory_equal(src.mem, dst.mem, src.size);
    assert_int_equal(vmig_engine_run_state(src.e), VMIG_RUN_STATE_POSTMIGRATE);
    /* The destination follows the source: running if it ran, else paused. */
    assert_int_equal(vmig_engine_run_state(dst.e),
                     source_running ? VMIG_RUN_STATE_RUNNING : VMIG_RUN_STATE_PAUSED);
    assert_int_equal(src.stops, source_running ? 1 : 0);
    assert_int_equal(dst.starts, source_running ? 1 : 0);

    /* Every page went once (nothing dirtied it again): a third zero. */
    const vmig_ram_counters_t *c = vmig_ram_counters(src.e->ram);
    size_t pages = src.size / 4096, zero = (pages + 2) / 3;
    assert_int_equal(c->duplicate, zero);
    assert_int_equal(c->normal, pages - zero);
    assert_true(c->transferred >= c->normal * 4104 + c->duplicate * 9);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);
    assert_true(c->dirty_sync_count >= 2);
    assert_int_equal(vmig_ram_remaining(src.e->ram), 0);

    /* QEMU refuses to migrate a VM paused by its previous migration. */
    vmig_error_t again = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, uri, &again), -EINVAL);
    assert_string_equal(again.msg, "Can't migrate the vm that was paused due to previous migration");

    job_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

static void test_running_source(void **state)
{
    migrate_and_check(true);
}

static void test_paused_source(void **state)
{
    migrate_and_check(false);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_source),
        cmocka_unit_test(test_paused_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
