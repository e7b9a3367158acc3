/* test_runstate.c — the run-state table: QEMU 7.2's names in its order, its
 * transition table (what QEMU aborts on, the engine refuses), and the
 * state an engine starts in and may be moved to by its embedder. */
#include "engine_test.h"

static void test_names(void **state)
{
    /* query-qmp-schema of QEMU 7.2, enum RunState, in order. */
    static const char *const want[] = {
        "debug", "inmigrate", "internal-error", "io-error", "paused", "postmigrate",
        "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown",
        "suspended", "watchdog", "guest-panicked", "colo",
    };
    assert_int_equal(VMIG_RUN_STATE__MAX, sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < VMIG_RUN_STATE__MAX; i++) {
        assert_string_equal(vmig_run_state_name(i), want[i]);
        assert_int_equal(vmig_run_state_from_name(want[i]), i);
    }
    assert_null(vmig_run_state_name(VMIG_RUN_STATE__MAX));
    assert_null(vmig_run_state_name((vmig_run_state_t)-1));
    assert_int_equal(vmig_run_state_from_name("nosuch"), -EINVAL);
    assert_int_equal(vmig_run_state_from_name(NULL), -EINVAL);

    static const char *const causes[] = {
        "none", "host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal",
        "host-ui", "guest-shutdown", "guest-reset", "guest-panic", "subsystem-reset",
        "snapshot-load",
    };
    assert_int_equal(VMIG_SHUTDOWN__MAX, sizeof(causes) / sizeof(causes[0]));
    for (int i = 0; i < VMIG_SHUTDOWN__MAX; i++)
        assert_string_equal(vmig_shutdown_cause_name(i), causes[i]);
    assert_null(vmig_shutdown_cause_name(VMIG_SHUTDOWN__MAX));
}

static void test_transitions(void **state)
{
#define OK(a, b) assert_true(vmig_run_state_transition_valid(VMIG_RUN_STATE_##a, VMIG_RUN_STATE_##b))
#define NO(a, b) assert_false(vmig_run_state_transition_valid(VMIG_RUN_STATE_##a, VMIG_RUN_STATE_##b))
    OK(PRELAUNCH, RUNNING);
    OK(PRELAUNCH, INMIGRATE);
    OK(INMIGRATE, RUNNING);
    OK(INMIGRATE, PAUSED);
    OK(INMIGRATE, POSTMIGRATE);
    OK(RUNNING, PAUSED);
    OK(RUNNING, FINISH_MIGRATE);
    OK(FINISH_MIGRATE, POSTMIGRATE);
    OK(POSTMIGRATE, RUNNING);
    OK(PAUSED, RUNNING);
    OK(RUNNING, SHUTDOWN);
    OK(COLO, SHUTDOWN);
    OK(PAUSED, PAUSED); /* no change is always fine, as in runstate_set() */
    NO(PRELAUNCH, PAUSED);
    NO(RUNNING, INMIGRATE);
    NO(POSTMIGRATE, PAUSED);
    NO(SHUTDOWN, RUNNING);
    NO(INTERNAL_ERROR, RUNNING);
    NO(SAVE_VM, PAUSED);
    NO(PAUSED, SHUTDOWN);
#undef OK
#undef NO
    assert_false(vmig_run_state_transition_valid(VMIG_RUN_STATE__MAX, VMIG_RUN_STATE_RUNNING));
    assert_false(vmig_run_state_transition_valid(VMIG_RUN_STATE_RUNNING, VMIG_RUN_STATE__MAX));
    /* Every state can reach running or prelaunch except through the table's
     * gaps QEMU has too: a sanity check that rows were not lost. */
    for (int s = 0; s < VMIG_RUN_STATE__MAX; s++) {
        if (s == VMIG_RUN_STATE_PRELAUNCH)
            continue;
        assert_true(vmig_run_state_transition_valid(s, VMIG_RUN_STATE_PRELAUNCH) ||
                    vmig_run_state_transition_valid(s, VMIG_RUN_STATE_RUNNING) ||
                    s == VMIG_RUN_STATE_SAVE_VM);
    }
}

static void test_engine_states(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    fake_vmm_t f = { .mode = FAKE_SYNC };
    vmig_engine_opts_t o = { .run_ops = &fake_ops, .run_opaque = &f };
    vmig_engine_t *e;
    assert_int_equal(vmig_engine_new(&loop, &o, &e), 0);
    f.engine = e;
    assert_ptr_equal(vmig_engine_loop(e), &loop);
    assert_string_equal(vmig_engine_name(e), "vmig");
    /* QEMU starts in prelaunch, with autostart on. */
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PRELAUNCH);
    assert_false(vmig_engine_is_running(e));
    assert_true(vmig_engine_autostart(e));
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_PAUSED), -EINVAL);
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE__MAX), -EINVAL);
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_INMIGRATE), 0);
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_RUNNING), 0);
    assert_true(vmig_engine_is_running(e));
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_INMIGRATE), -EINVAL);
    /* No callback is called for a state the embedder sets itself. */
    assert_int_equal(f.stops + f.starts, 0);
    /* Nothing pending: an answer is refused, not applied. */
    assert_int_equal(vmig_engine_run_control_done(e, 0), -EINVAL);
    assert_int_equal(vmig_engine_run_control_done(NULL, 0), -EINVAL);
    fake_close(&f);
    assert_int_equal(vmig_engine_close(e, NULL, NULL), -EBUSY);
    vt_loop_done(&loop);
    assert_true(f.closed);
}

/* Several engines on one loop (and one on another loop) are independent. */
static void test_several_engines(void **state)
{
    uv_loop_t l1, l2;
    assert_int_equal(uv_loop_init(&l1), 0);
    assert_int_equal(uv_loop_init(&l2), 0);
    fake_vmm_t a = { .mode = FAKE_SYNC }, b = { .mode = FAKE_SYNC }, c = { .mode = FAKE_SYNC };
    vmig_engine_t *ea = fake_engine(&l1, &a);
    vmig_engine_t *eb = fake_engine(&l1, &b);
    vmig_engine_t *ec = fake_engine(&l2, &c);
    assert_int_equal(vmig_engine_set_run_state(eb, VMIG_RUN_STATE_PAUSED), 0);
    assert_int_equal(vmig_engine_run_state(ea), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(vmig_engine_run_state(eb), VMIG_RUN_STATE_PAUSED);
    assert_int_equal(vmig_engine_run_state(ec), VMIG_RUN_STATE_RUNNING);
    fake_close(&a);
    fake_close(&b);
    fake_close(&c);
    vt_loop_done(&l1);
    vt_loop_done(&l2);
    assert_true(a.closed && b.closed && c.closed);
}

int main(void)
{
    engine_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_engine_states),
        cmocka_unit_test(test_several_engines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
