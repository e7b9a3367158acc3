/* test_dispatch_oob.c — exec-oob: only after the client enabled "oob", only
 * for allow-oob commands, and then it runs at once, overtaking queued
 * in-band commands. */
#include "dispatch_test.h"

static int sleepy(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    int *state = opaque;
    *state = 1;
    int r = co_sleep(50);
    *state = 2;
    return r;
}

/* Records the state of the sleeper when it ran, oob or not. */
typedef struct quick_log {
    int *sleeper;   /* the sleeping command's state */
    int seen[4];    /* per call: sleeper state, +10 when oob */
    int n;          /* calls */
} quick_log_t;

static int quick(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    quick_log_t *q = opaque;
    if (q->n < 4)
        q->seen[q->n++] = *q->sleeper + (req->oob ? 10 : 0);
    *ret = json_array();
    return 0;
}

static void test_overtake(void **state)
{
    dt_t t;
    dt_conn_t c;
    int slow_state = 0;
    quick_log_t q = { .sleeper = &slow_state };
    dt_start(&t, &c, true);
    assert_int_equal(vmig_qmp_register(t.qmp, "migrate-pause", sleepy, &slow_state), 0);
    assert_int_equal(vmig_qmp_register(t.qmp, "query-yank", quick, &q), 0);
    dt_input(&t, &c, "{\"execute\": \"migrate-pause\", \"id\": 1}");
    dt_input(&t, &c, "{\"execute\": \"query-yank\", \"id\": 2}");
    dt_input(&t, &c, "{\"exec-oob\": \"query-yank\", \"id\": 3}");
    /* The oob reply is out while both in-band ones wait. */
    dt_expect(&c, "{\"return\": [], \"id\": 3}");
    assert_int_equal(dt_pending(&c), 0);
    /* An oob error overtakes as well. */
    dt_input(&t, &c, "{\"exec-oob\": \"query-version\", \"id\": 4}");
    dt_expect(&c, DT_ERROR_ID("4", "GenericError",
                              "The command query-version does not support OOB"));
    dt_run(&t);
    assert_int_equal(slow_state, 2);
    dt_expect(&c, "{\"return\": {}, \"id\": 1}");
    dt_expect(&c, "{\"return\": [], \"id\": 2}");
    /* The oob one ran during the sleep, the in-band one after it. */
    assert_int_equal(q.n, 2);
    assert_int_equal(q.seen[0], 11);
    assert_int_equal(q.seen[1], 2);
    dt_end(&t, &c);
}

static int quick_any(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    int *seen = opaque;
    *seen = req->oob ? 10 : 20;
    *ret = json_array();
    return 0;
}

static void test_oob_rules(void **state)
{
    dt_t t;
    dt_conn_t c;
    int seen = 0;
    dt_start(&t, &c, true);
    assert_int_equal(vmig_qmp_register(t.qmp, "query-yank", quick_any, &seen), 0);
    dt_exchange(&t, &c, "{\"exec-oob\": \"qmp_capabilities\", \"id\": 9}",
                DT_ERROR_ID("9", "GenericError",
                            "The command qmp_capabilities does not support OOB"));
    dt_exchange(&t, &c, "{\"exec-oob\": 1, \"id\": 3}",
                DT_ERROR_ID("3", "GenericError", "QMP input member 'exec-oob' must be a string"));
    dt_exchange(&t, &c, "{\"exec-oob\": \"migrate-recover\", \"arguments\": {\"uri\": 1}, \"id\": 11}",
                DT_ERROR_ID("11", "CommandNotFound",
                            "The command migrate-recover has not been found"));
    dt_exchange(&t, &c, "{\"exec-oob\": \"query-yank\"}", "{\"return\": []}");
    assert_int_equal(seen, 10);
    dt_exchange(&t, &c, "{\"execute\": \"query-yank\"}", "{\"return\": []}");
    assert_int_equal(seen, 20);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overtake),
        cmocka_unit_test(test_oob_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
