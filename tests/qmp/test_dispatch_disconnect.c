/* test_dispatch_disconnect.c — a client that goes away mid-command: the
 * running command finishes with req->conn == NULL and its reply is dropped,
 * queued requests never run, nothing leaks (see the ASan build). */
#include "dispatch_test.h"

typedef struct track {
    int started;        /* handlers started */
    int finished;       /* handlers finished */
    int conn_gone;      /* of those, how many saw req->conn == NULL at the end */
} track_t;

static int sleeper(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    track_t *t = opaque;
    t->started++;
    co_sleep(20);
    t->finished++;
    if (!req->conn)
        t->conn_gone++;
    *ret = json_pack("{s:b}", "late", 1);
    return 0;
}

static void test_disconnect_mid_command(void **state)
{
    dt_t t;
    dt_conn_t c;
    track_t tr = { 0 };
    dt_start(&t, &c, true);
    assert_int_equal(vmig_qmp_register(t.qmp, "migrate-pause", sleeper, &tr), 0);
    assert_int_equal(vmig_qmp_register(t.qmp, "query-yank", sleeper, &tr), 0);
    dt_input(&t, &c, "{\"execute\": \"migrate-pause\", \"id\": 1}");
    dt_input(&t, &c, "{\"execute\": \"migrate-pause\", \"id\": 2}");
    dt_input(&t, &c, "{\"execute\": \"nosuch\", \"id\": 3}");
    dt_input(&t, &c, "{\"exec-oob\": \"query-yank\", \"id\": 4}");
    assert_int_equal(tr.started, 2); /* the first in-band one and the oob one */
    dt_close(&t, &c);
    dt_sent_after_close = 0;
    dt_run(&t);
    /* Both running ones finished without a connection; the queued ones
     * (id 2, and the error for id 3) were dropped. */
    assert_int_equal(tr.started, 2);
    assert_int_equal(tr.finished, 2);
    assert_int_equal(tr.conn_gone, 2);
    assert_int_equal(dt_sent_after_close, 0);
    dt_done(&t);
}

/* The other clients do not notice. */
static void test_others_unaffected(void **state)
{
    dt_t t;
    dt_conn_t a, b;
    track_t tr = { 0 };
    dt_init(&t);
    assert_int_equal(vmig_qmp_register(t.qmp, "migrate-pause", sleeper, &tr), 0);
    dt_open(&t, &a, true);
    dt_open(&t, &b, true);
    dt_negotiate(&t, &a, false);
    dt_negotiate(&t, &b, false);
    dt_input(&t, &a, "{\"execute\": \"migrate-pause\", \"id\": \"a\"}");
    dt_input(&t, &b, "{\"execute\": \"migrate-pause\", \"id\": \"b\"}");
    dt_close(&t, &a);
    dt_run(&t);
    dt_expect(&b, "{\"return\": {\"late\": true}, \"id\": \"b\"}");
    assert_int_equal(tr.conn_gone, 1);
    dt_exchange(&t, &b, "{\"execute\": \"query-version\"}",
                "{\"return\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                "\"package\": \"vmig-test\"}}");
    dt_close(&t, &b);
    dt_done(&t);
}

/* Many connections opened and closed, some mid-command: nothing stays. */
static void test_churn(void **state)
{
    dt_t t;
    track_t tr = { 0 };
    dt_init(&t);
    assert_int_equal(vmig_qmp_register(t.qmp, "migrate-pause", sleeper, &tr), 0);
    for (int i = 0; i < 500; i++) {
        dt_conn_t c;
        dt_open(&t, &c, true);
        dt_negotiate(&t, &c, i % 2);
        if (i % 3 == 0)
            dt_input(&t, &c, "{\"execute\": \"migrate-pause\"}");
        if (i % 5 == 0)
            dt_input(&t, &c, "{\"execute\": \"query-commands\"}");
        dt_close(&t, &c);
        if (i % 50 == 0)
            uv_run(&t.loop, UV_RUN_NOWAIT);
    }
    dt_run(&t);
    assert_int_equal(tr.started, tr.finished);
    assert_int_equal(dt_sent_after_close, 0);
    dt_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disconnect_mid_command),
        cmocka_unit_test(test_others_unaffected),
        cmocka_unit_test(test_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
