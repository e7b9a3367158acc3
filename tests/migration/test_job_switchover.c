/* test_job_switchover.c — pause-before-switchover: the source stops in
 * pre-switchover with the VM stopped, migrate-continue must name the current
 * state, and then it completes through "device"; with the events capability
 * the MIGRATION events follow QEMU's sequence. */
#include "job_test.h"

#define MIB (1024u * 1024u)

typedef struct seen {
    vmig_migration_status_t out[32]; /* source statuses in order */
    unsigned nout;
    vmig_migration_status_t in[32];  /* destination statuses */
    unsigned nin;
} seen_t;

static void on_status(void *opaque, vmig_engine_t *e, vmig_migration_dir_t dir,
                      vmig_migration_status_t st)
{
    seen_t *s = opaque;
    if (dir == VMIG_MIGRATION_OUTGOING && s->nout < 32)
        s->out[s->nout++] = st;
    if (dir == VMIG_MIGRATION_INCOMING && s->nin < 32)
        s->in[s->nin++] = st;
}

static bool in_pre_switchover(void *arg)
{
    return vmig_engine_migration_status(((job_vm_t *)arg)->e) ==
           VMIG_MIGRATION_STATUS_PRE_SWITCHOVER || job_out_done(arg);
}

static void test_pause_and_continue(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 4 * MIB, true);
    job_vm_init(&dst, &loop, "dst", 4 * MIB, false);
    job_fill(src.mem, src.size, 5);
    job_cap(&src, "pause-before-switchover", true);
    job_cap(&src, "events", true);
    job_cap(&src, "return-path", true);
    seen_t seen = { 0 }, dseen = { 0 };
    vmig_engine_set_migration_cb(src.e, on_status, &seen);
    vmig_engine_set_migration_cb(dst.e, on_status, &dseen);

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(src.e, job_listen_uri(&dst), &err), 0);
    job_run_until(&loop, in_pre_switchover, &src, 30000);
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_PRE_SWITCHOVER);
    assert_int_equal(vmig_engine_run_state(src.e), VMIG_RUN_STATE_FINISH_MIGRATE);

    /* migrate-continue must name the state the migration is in. */
    vmig_error_t cerr = { 0 };
    assert_int_equal(mig_out_continue(src.e->mig, VMIG_MIGRATION_STATUS_ACTIVE, &cerr), -EINVAL);
    assert_string_equal(cerr.msg, "Migration not in expected state: pre-switchover");
    assert_int_equal(mig_out_continue(src.e->mig, VMIG_MIGRATION_STATUS_PRE_SWITCHOVER, &err), 0);

    job_run_until(&loop, job_out_done, &src, 30000);
    job_run_until(&loop, job_in_done, &dst, 30000);
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_COMPLETED);
    assert_memory_equal(src.mem, dst.mem, src.size);
    vmig_migration_status_t want[] = {
        VMIG_MIGRATION_STATUS_SETUP, VMIG_MIGRATION_STATUS_ACTIVE,
        VMIG_MIGRATION_STATUS_PRE_SWITCHOVER, VMIG_MIGRATION_STATUS_DEVICE,
        VMIG_MIGRATION_STATUS_COMPLETED,
    };
    assert_int_equal(seen.nout, 5);
    assert_memory_equal(seen.out, want, sizeof(want));
    /* QEMU's destination goes from none to active on connection. */
    vmig_migration_status_t dwant[] = {
        VMIG_MIGRATION_STATUS_ACTIVE, VMIG_MIGRATION_STATUS_COMPLETED,
    };
    assert_int_equal(dseen.nin, 2);
    assert_memory_equal(dseen.in, dwant, sizeof(dwant));
    /* The return path answered the PING and confirmed the load. */
    assert_int_equal(src.e->mig->out.rp_pong, 1);
    assert_true(src.e->mig->out.rp_shut);

    job_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* Closing the engine (quit) while the VM is stopped in pre-switchover
 * cancels the job, which gives the VM back before the engine goes. */
static void test_close_in_pre_switchover(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 2 * MIB, true);
    job_vm_init(&dst, &loop, "dst", 2 * MIB, false);
    job_cap(&src, "pause-before-switchover", true);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(src.e, job_listen_uri(&dst), &err), 0);
    job_run_until(&loop, in_pre_switchover, &src, 30000);
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_PRE_SWITCHOVER);
    job_vm_close(&src, &loop);
    assert_int_equal(src.stops, src.starts);
    job_run_until(&loop, job_in_done, &dst, 30000);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* return-path needs a channel back: exec: and file: have none. */
static void test_return_path_one_way(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src;
    job_vm_init(&src, &loop, "src", 1 * MIB, true);
    job_cap(&src, "return-path", true);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_migrate(src.e, "exec:cat > /dev/null", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "return-path"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(vmig_engine_migrate(src.e, "file:/dev/null", &err), -EINVAL);
    assert_int_equal(vmig_engine_migration_status(src.e), VMIG_MIGRATION_STATUS_NONE);
    job_vm_close(&src, &loop);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_and_continue),
        cmocka_unit_test(test_return_path_one_way),
        cmocka_unit_test(test_close_in_pre_switchover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
