/* test_job_cancel.c — migrate_cancel in setup, while iterating (rate-limited)
 * and in pre-switchover: the source ends "cancelled", running again, with
 * its RAM untouched, and a new migration can follow. */
#include "job_test.h"

#define MIB (1024u * 1024u)

typedef struct cancel_case {
    job_vm_t src, dst;        /* the two VMs */
    vmig_migration_status_t at; /* cancel once the source reaches this status */
    bool cancelled;           /* cancel issued */
} cancel_case_t;

static bool reached(void *arg)
{
    cancel_case_t *c = arg;
    vmig_migration_status_t s = vmig_engine_migration_status(c->src.e);
    /* "During stop": the embedder holds the stop request. */
    if (c->src.stop_delay_ms)
        return c->src.stops > 0 || job_out_done(&c->src);
    if (s == c->at && !c->cancelled) {
        /* While iterating, let some pages go first. */
        if (s != VMIG_MIGRATION_STATUS_ACTIVE ||
            vmig_ram_counters(c->src.e->ram)->normal > 64)
            return true;
    }
    return job_out_done(&c->src);
}

static void cancel_at(vmig_migration_status_t at, uint64_t stop_delay_ms)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    cancel_case_t c = { .at = at };
    job_vm_init(&c.src, &loop, "src", 8 * MIB, true);
    c.src.stop_delay_ms = stop_delay_ms;
    job_vm_init(&c.dst, &loop, "dst", 8 * MIB, false);
    job_fill(c.src.mem, c.src.size, 3);
    uint8_t *copy = malloc(c.src.size);
    assert_non_null(copy);
    memcpy(copy, c.src.mem, c.src.size);
    /* 1 MiB/s keeps it iterating for seconds. */
    job_param(&c.src, "max-bandwidth",
              at == VMIG_MIGRATION_STATUS_ACTIVE && !stop_delay_ms ? 1 * MIB : 0);
    if (at == VMIG_MIGRATION_STATUS_PRE_SWITCHOVER)
        job_cap(&c.src, "pause-before-switchover", true);

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(c.dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(c.src.e, job_listen_uri(&c.dst), &err), 0);
    job_run_until(&loop, reached, &c, 30000);
    assert_int_equal(vmig_engine_migration_status(c.src.e), at);
    vmig_engine_migrate_cancel(c.src.e);
    c.cancelled = true;
    job_run_until(&loop, job_out_done, &c.src, 30000);
    assert_int_equal(vmig_engine_migration_status(c.src.e), VMIG_MIGRATION_STATUS_CANCELLED);
    assert_int_equal(vmig_engine_run_state(c.src.e), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(c.src.stops, c.src.starts);
    assert_memory_equal(copy, c.src.mem, c.src.size);
    /* The destination saw its stream cut. */
    job_run_until(&loop, job_in_done, &c.dst, 30000);
    assert_int_equal(vmig_engine_incoming_status(c.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(vmig_engine_incoming_error(c.dst.e));

    free(copy);
    job_vm_close(&c.src, &loop);
    job_vm_close(&c.dst, &loop);
    vt_loop_done(&loop);
}

static void test_cancel_setup(void **state)
{
    cancel_at(VMIG_MIGRATION_STATUS_SETUP, 0);
}

static void test_cancel_active(void **state)
{
    cancel_at(VMIG_MIGRATION_STATUS_ACTIVE, 0);
}

static void test_cancel_pre_switchover(void **state)
{
    cancel_at(VMIG_MIGRATION_STATUS_PRE_SWITCHOVER, 0);
}

/* The VM is being stopped for the switch-over (the embedder has not
 * confirmed yet): once it confirms, the cancelled job starts it again. */
static void test_cancel_during_stop(void **state)
{
    cancel_at(VMIG_MIGRATION_STATUS_ACTIVE, 300);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_setup),
        cmocka_unit_test(test_cancel_active),
        cmocka_unit_test(test_cancel_pre_switchover),
        cmocka_unit_test(test_cancel_during_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
