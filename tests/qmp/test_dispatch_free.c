/* test_dispatch_free.c — vmig_qmp_free() with commands still running: their
 * waits are cancelled, their replies dropped; from a coroutine it waits for
 * them, elsewhere the last one to finish frees the monitor. */
#include "dispatch_test.h"

typedef struct waits {
    int started;  /* handlers started */
    int results[4]; /* what their sleeps returned */
    int n;        /* handlers finished */
} waits_t;

static int long_sleep(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    waits_t *w = opaque;
    w->started++;
    int r = co_sleep(60000);
    if (w->n < 4)
        w->results[w->n++] = r;
    return r;
}

static void start_two(dt_t *t, dt_conn_t *c, waits_t *w)
{
    assert_int_equal(vmig_qmp_register(t->qmp, "migrate-pause", long_sleep, w), 0);
    assert_int_equal(vmig_qmp_register(t->qmp, "query-yank", long_sleep, w), 0);
    dt_open(t, c, true);
    dt_negotiate(t, c, true);
    dt_input(t, c, "{\"execute\": \"migrate-pause\"}");
    dt_input(t, c, "{\"execute\": \"migrate-pause\"}"); /* queued: never runs */
    dt_input(t, c, "{\"exec-oob\": \"query-yank\"}");
    assert_int_equal(w->started, 2);
}

/* From a coroutine: returns once both handlers have finished. */
static void test_free_waits(void **state)
{
    dt_t t;
    dt_conn_t c;
    waits_t w = { 0 };
    dt_init(&t);
    start_two(&t, &c, &w);
    uint64_t t0 = uv_hrtime();
    dt_sent_after_close = 0;
    dt_done(&t); /* vmig_qmp_free() in a coroutine, then the loop runs dry */
    assert_true(vt_ms_since(t0) < 30000);
    assert_int_equal(w.started, 2);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.results[0], -ECANCELED);
    assert_int_equal(w.results[1], -ECANCELED);
    assert_int_equal(dt_sent_after_close, 0);
    assert_int_equal(dt_pending(&c), 0); /* replies dropped: the transport closed */
    dt_close(&t, &c);
}

/* Outside a coroutine: returns at once; the monitor goes when the last
 * command does. */
static void test_free_deferred(void **state)
{
    dt_t t;
    dt_conn_t c;
    waits_t w = { 0 };
    dt_init(&t);
    start_two(&t, &c, &w);
    vmig_qmp_free(t.qmp);
    assert_int_equal(w.n, 0); /* cancelled, not yet resumed */
    vt_loop_done(&t.loop);
    co_thread_cleanup();
    assert_int_equal(w.n, 2);
    assert_int_equal(w.results[0], -ECANCELED);
    assert_int_equal(dt_pending(&c), 0);
    dt_close(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_waits),
        cmocka_unit_test(test_free_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
