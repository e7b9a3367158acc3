/* test_dispatch_flow.c — flow control: vmig_qmp_dispatch() suspends the
 * transport's coroutine (so it reads no more) while a client has
 * QMP_QUEUE_MAX in-band requests queued (oob on), or until its request has
 * been answered (oob off), as QEMU 7.2 stops reading its monitor. */
#include "dispatch_test.h"

#define NREQ 12

static int sleepy(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    return co_sleep(5);
}

typedef struct reader {
    dt_t *t;      /* the monitor */
    dt_conn_t *c; /* the connection */
    int sent;     /* requests handed over (dispatch returned) */
} reader_t;

/* The transport's connection coroutine, reading requests as fast as the
 * dispatcher lets it. */
static int reader_main(void *arg)
{
    reader_t *r = arg;
    for (int i = 0; i < NREQ; i++) {
        char in[64];
        snprintf(in, sizeof(in), "{\"execute\": \"migrate-pause\", \"id\": %d}", i);
        dt_input(r->t, r->c, in);
        r->sent++;
    }
    return 0;
}

static void run_flow(bool oob)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, oob);
    assert_int_equal(vmig_qmp_register(t.qmp, "migrate-pause", sleepy, NULL), 0);
    reader_t r = { .t = &t, .c = &c };
    co_t *co = vt_start(&t.loop, reader_main, &r);
    /* oob: one runs, QMP_QUEUE_MAX wait, the reader waits with them (the
     * request that filled the queue was handed over). No oob: the reader
     * waits for the first reply. */
    assert_int_equal(r.sent, oob ? QMP_QUEUE_MAX : 0);
    int replies = 0;
    while (!co_finished(co)) {
        int alive = uv_run(&t.loop, UV_RUN_ONCE);
        replies += (int)dt_pending(&c);
        while (dt_pending(&c))
            free(dt_take(&c));
        if (co_finished(co))
            break;
        assert_int_not_equal(alive, 0);
        /* Never more than one running plus QMP_QUEUE_MAX queued... */
        assert_true(r.sent - replies <= (oob ? QMP_QUEUE_MAX : 0));
        /* ...and the reader goes on as soon as there is room. */
        assert_true(r.sent - replies >= (oob ? QMP_QUEUE_MAX : 0));
    }
    assert_int_equal(vt_join(co), 0);
    assert_int_equal(r.sent, NREQ);
    dt_run(&t);
    while (dt_pending(&c)) {
        free(dt_take(&c));
        replies++;
    }
    assert_int_equal(replies, NREQ);
    dt_end(&t, &c);
}

static void test_flow_oob(void **state)
{
    run_flow(true);
}

static void test_flow_no_oob(void **state)
{
    run_flow(false);
}

/* Errors answered at once never make the reader wait. */
static int errors_main(void *arg)
{
    reader_t *r = arg;
    for (int i = 0; i < 3 * QMP_QUEUE_MAX; i++) {
        dt_input(r->t, r->c, "{\"execute\": \"nosuch\"}");
        r->sent++;
    }
    return 0;
}

static void test_errors_do_not_block(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    reader_t r = { .t = &t, .c = &c };
    co_t *co = vt_start(&t.loop, errors_main, &r);
    assert_true(co_finished(co));
    assert_int_equal(vt_join(co), 0);
    assert_int_equal((int)dt_pending(&c), 3 * QMP_QUEUE_MAX);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_oob),
        cmocka_unit_test(test_flow_no_oob),
        cmocka_unit_test(test_errors_do_not_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
