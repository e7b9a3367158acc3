/* test_shutdown.c — vmig_engine_shutdown(): state "shutdown", the quit
 * callback once, from the loop's stack (not from inside the call), with the
 * cause; a second request refused; no callback once the engine closes. */
#include "engine_test.h"

static void test_shutdown_once(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_SYNC };
    vmig_engine_t *e = fake_open(&loop, &f);

    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN__MAX), -EINVAL);
    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN_HOST_SIGNAL), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_SHUTDOWN);
    assert_int_equal(f.quits, 0); /* deferred to the loop */
    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN_HOST_QMP_QUIT), -EBUSY);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(f.quits, 1);
    assert_int_equal(f.quit_cause, VMIG_SHUTDOWN_HOST_SIGNAL);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(f.quits, 1);

    fake_finish(&loop, &f);
    assert_true(f.closed);
    assert_int_equal(f.quits, 1);
}

/* Closing before the deferred callback ran: it never comes. */
static void test_close_before_quit(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_SYNC };
    vmig_engine_t *e = fake_open(&loop, &f);
    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN_GUEST_SHUTDOWN), 0);
    fake_close(&f);
    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN_HOST_SIGNAL), -EBUSY);
    vt_loop_done(&loop);
    assert_true(f.closed);
    assert_int_equal(f.quits, 0);
}

/* A shutdown while a stop is pending: the late answer no longer moves the
 * state away from "shutdown", and no STOP comes with it. */
typedef struct stopper {
    vmig_engine_t *e; /* the engine */
    int result;       /* vmig_engine_vm_stop()'s return */
    bool done;        /* it returned */
} stopper_t;

static int stopper_co(void *arg)
{
    stopper_t *s = arg;
    s->result = vmig_engine_vm_stop(s->e, VMIG_RUN_STATE_PAUSED);
    s->done = true;
    return 0;
}

static void test_shutdown_during_stop(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_MANUAL };
    vmig_engine_t *e = fake_open(&loop, &f);
    stopper_t s = { .e = e };
    co_t *co = vt_start(&loop, stopper_co, &s);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_shutdown(e, VMIG_SHUTDOWN_HOST_QMP_QUIT), 0);
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    assert_true(s.done);
    assert_int_equal(s.result, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_SHUTDOWN);
    vt_join(co);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(f.quits, 1);
    assert_int_equal(f.quit_cause, VMIG_SHUTDOWN_HOST_QMP_QUIT);
    fake_finish(&loop, &f);
}

int main(void)
{
    engine_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shutdown_once),
        cmocka_unit_test(test_close_before_quit),
        cmocka_unit_test(test_shutdown_during_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
