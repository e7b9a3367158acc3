/* test_run_control.c — asynchronous run control: the engine calls the
 * embedder's stop/start and waits in a coroutine for its answer, given at
 * once, later from a timer, or as an error; requests are serialised (a stop
 * while a stop is pending runs after it); a requester that gives up leaves
 * the request with the embedder; close waits for the answer. */
#include "engine_test.h"

typedef struct req {
    vmig_engine_t *e;          /* the engine */
    int kind;                  /* 0 vm_stop(paused), 1 vm_start, 2 vm_stop_force_state(target) */
    vmig_run_state_t target;   /* for kind 2 */
    int result;                /* what the call returned */
    bool done;                 /* it returned */
} req_t;

static int req_co(void *arg)
{
    req_t *r = arg;
    switch (r->kind) {
    case 0:
        r->result = vmig_engine_vm_stop(r->e, VMIG_RUN_STATE_PAUSED);
        break;
    case 1:
        r->result = vmig_engine_vm_start(r->e);
        break;
    default:
        r->result = vmig_engine_vm_stop_force_state(r->e, r->target);
        break;
    }
    r->done = true;
    return 0;
}

static co_t *req_start(req_t *r)
{
    return vt_start(vmig_engine_loop(r->e), req_co, r);
}

/* Make a request of kind (and target) that completes without waiting: its
 * result. */
static int req_now(vmig_engine_t *e, int kind, vmig_run_state_t target)
{
    req_t r = { .e = e, .kind = kind, .target = target };
    vt_join(req_start(&r));
    assert_true(r.done);
    return r.result;
}

/* Run the loop until the request r (started as co) has returned, and join
 * it: its result. */
static int req_wait(uv_loop_t *loop, req_t *r, co_t *co)
{
    ENGINE_RUN_UNTIL(loop, r->done);
    vt_join(co);
    return r->result;
}

/* Answered inside the callback: the request completes without suspending. */
static void test_sync_answer(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_SYNC };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t r = { .e = e, .kind = 0 };
    co_t *co = req_start(&r);
    assert_true(r.done);
    assert_int_equal(r.result, 0);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    vt_join(co);

    /* Stopping a stopped VM asks nothing of the embedder (QEMU's do_vm_stop). */
    assert_int_equal(req_now(e, 0, 0), 0);
    assert_int_equal(f.stops, 1);

    assert_int_equal(req_now(e, 1, 0), 0);
    assert_int_equal(f.starts, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);
    /* Starting a running VM is a no-op too. */
    req_now(e, 1, 0);
    assert_int_equal(f.starts, 1);

    fake_finish(&loop, &f);
}

/* Answered later from a timer: the requester waits, the state moves only
 * with the answer, and the loop keeps turning meanwhile. */
static void test_later_answer(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_LATER, .delay_ms = 30 };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t r = { .e = e, .kind = 0 };
    co_t *co = req_start(&r);
    assert_false(r.done);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);
    /* The embedder may not move the state while its answer is due. */
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_PAUSED), -EBUSY);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_false(r.done); /* the timer has not fired yet */
    assert_int_equal(req_wait(&loop, &r, co), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);

    r = (req_t){ .e = e, .kind = 1 };
    co = req_start(&r);
    assert_false(r.done);
    assert_int_equal(req_wait(&loop, &r, co), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);

    fake_finish(&loop, &f);
}

/* A stop while a stop is pending: one request reaches the embedder, the
 * second runs after the answer and finds the VM paused; a start queued
 * behind them then runs. Order is FIFO. */
static void test_stop_while_stop_pending(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_MANUAL };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t a = { .e = e, .kind = 0 }, b = { .e = e, .kind = 0 }, c = { .e = e, .kind = 1 };
    co_t *ca = req_start(&a);
    co_t *cb = req_start(&b);
    co_t *cc = req_start(&c);
    assert_false(a.done || b.done || c.done);
    assert_int_equal(f.stops, 1);
    assert_int_equal(f.starts, 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(f.stops, 1);

    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    ENGINE_RUN_UNTIL(&loop, a.done && b.done && f.starts == 1);
    assert_int_equal(a.result, 0);
    assert_int_equal(b.result, 0);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    assert_false(c.done);
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    assert_int_equal(req_wait(&loop, &c, cc), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);
    vt_join(ca);
    vt_join(cb);

    fake_finish(&loop, &f);
}

/* The embedder fails: the error comes back, the state stays. */
static void test_errors(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_SYNC, .answer = -EIO };
    vmig_engine_t *e = fake_open(&loop, &f);

    assert_int_equal(req_now(e, 0, 0), -EIO);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);

    f.mode = FAKE_LATER;
    f.delay_ms = 5;
    f.answer = -EBUSY;
    req_t r = { .e = e, .kind = 0 };
    assert_int_equal(req_wait(&loop, &r, req_start(&r)), -EBUSY);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);

    /* A positive answer is not a valid errno: it becomes -EIO. */
    f.mode = FAKE_SYNC;
    f.answer = 7;
    assert_int_equal(req_now(e, 0, 0), -EIO);

    /* Start fails the same way. */
    f.answer = 0;
    req_now(e, 0, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    f.answer = -ENOMEM;
    assert_int_equal(req_now(e, 1, 0), -ENOMEM);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);

    fake_finish(&loop, &f);
}

/* vm_stop_force_state: through the embedder when running, a plain
 * (checked) state change otherwise. */
static void test_force_state(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_SYNC };
    vmig_engine_t *e = fake_open(&loop, &f);

    assert_int_equal(req_now(e, 2, VMIG_RUN_STATE_FINISH_MIGRATE), 0);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_FINISH_MIGRATE);

    assert_int_equal(req_now(e, 2, VMIG_RUN_STATE_POSTMIGRATE), 0);
    assert_int_equal(f.stops, 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_POSTMIGRATE);

    /* postmigrate -> paused is not in QEMU's table. */
    assert_int_equal(req_now(e, 2, VMIG_RUN_STATE_PAUSED), -EINVAL);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_POSTMIGRATE);

    /* Running -> inmigrate is refused before asking the embedder. */
    req_now(e, 1, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);
    unsigned stops = f.stops;
    assert_int_equal(req_now(e, 2, VMIG_RUN_STATE_INMIGRATE), -EINVAL);
    assert_int_equal(f.stops, stops);

    fake_finish(&loop, &f);
}

/* A requester cancelled while the embedder works: it returns -ECANCELED,
 * the request stays with the embedder and holds run control until answered,
 * and the answer is still applied. */
static void test_cancelled_requester(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_MANUAL };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t a = { .e = e, .kind = 0 };
    co_t *ca = req_start(&a);
    assert_int_equal(co_cancel(ca), 0);
    assert_true(a.done);
    assert_int_equal(a.result, -ECANCELED);
    vt_join(ca);

    req_t b = { .e = e, .kind = 1 };
    co_t *cb = req_start(&b);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_false(b.done);
    assert_int_equal(f.starts, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);

    /* The late answer pauses the VM, then the queued start runs. */
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    ENGINE_RUN_UNTIL(&loop, f.starts == 1);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    assert_int_equal(req_wait(&loop, &b, cb), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);

    fake_finish(&loop, &f);
}

/* A waiter cancelled while queued behind another request leaves the queue. */
static void test_cancel_queued(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_MANUAL };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t a = { .e = e, .kind = 0 }, b = { .e = e, .kind = 1 };
    co_t *ca = req_start(&a);
    co_t *cb = req_start(&b);
    assert_int_equal(co_cancel(cb), 0);
    assert_true(b.done);
    assert_int_equal(b.result, -ECANCELED);
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    ENGINE_RUN_UNTIL(&loop, a.done);
    assert_int_equal(f.starts, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    vt_join(ca);
    vt_join(cb);

    fake_finish(&loop, &f);
}

/* Close waits for a pending request to be answered. */
static void test_close_waits_for_answer(void **state)
{
    uv_loop_t loop;
    fake_vmm_t f = { .mode = FAKE_MANUAL };
    vmig_engine_t *e = fake_open(&loop, &f);

    req_t a = { .e = e, .kind = 0 };
    co_t *ca = req_start(&a);
    assert_int_equal(vmig_engine_close(e, fake_closed_cb, &f), 0);
    for (int i = 0; i < 20; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_false(f.closed);
    assert_false(a.done);
    assert_int_equal(vmig_engine_run_control_done(e, 0), 0);
    /* A second answer to the same request is refused. */
    assert_int_equal(vmig_engine_run_control_done(e, 0), -EINVAL);
    ENGINE_RUN_UNTIL(&loop, f.closed);
    assert_true(a.done);
    assert_int_equal(a.result, 0);
    vt_join(ca);
    vt_loop_done(&loop);
}

/* Without callbacks (a VM without vCPUs), requests complete at once. */
static void test_no_callbacks(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_engine_t *e;
    assert_int_equal(vmig_engine_new(&loop, NULL, &e), 0);
    assert_int_equal(vmig_engine_set_run_state(e, VMIG_RUN_STATE_RUNNING), 0);
    assert_int_equal(req_now(e, 0, 0), 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_PAUSED);
    req_now(e, 1, 0);
    assert_int_equal(vmig_engine_run_state(e), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(vmig_engine_close(e, NULL, NULL), 0);
    vt_loop_done(&loop);
}

int main(void)
{
    engine_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_answer),
        cmocka_unit_test(test_later_answer),
        cmocka_unit_test(test_stop_while_stop_pending),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_force_state),
        cmocka_unit_test(test_cancelled_requester),
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_close_waits_for_answer),
        cmocka_unit_test(test_no_callbacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
