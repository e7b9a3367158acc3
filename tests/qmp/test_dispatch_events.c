/* test_dispatch_events.c — events: QEMU's timestamp, "data" only for events
 * that have members, sent to negotiated clients only, refused when the
 * schema does not know them or their data does not match. */
#include "dispatch_test.h"

#include <regex.h>

/* text must match the extended regular expression re. */
static void assert_matches(const char *text, const char *re)
{
    regex_t rx;
    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    int r = regexec(&rx, text, 0, NULL, 0);
    regfree(&rx);
    if (r != 0)
        fprintf(stderr, "'%s' does not match '%s'\n", text, re);
    assert_int_equal(r, 0);
}

static void test_event_shape(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    struct timeval before, after;
    gettimeofday(&before, NULL);
    vmig_qmp_event(t.qmp, "STOP", NULL);
    gettimeofday(&after, NULL);
    char *stop = dt_take(&c);
    /* QEMU 7.2: {"timestamp": {"seconds": S, "microseconds": U}, "event": "STOP"} */
    assert_matches(stop, "^\\{\"timestamp\": \\{\"seconds\": [0-9]+, \"microseconds\": [0-9]+\\}, "
                         "\"event\": \"STOP\"\\}$");
    json_t *j = json_loads(stop, 0, NULL);
    assert_non_null(j);
    json_int_t s = json_integer_value(json_object_get(json_object_get(j, "timestamp"), "seconds"));
    json_int_t us =
        json_integer_value(json_object_get(json_object_get(j, "timestamp"), "microseconds"));
    assert_true(s >= before.tv_sec && s <= after.tv_sec);
    assert_true(us >= 0 && us < 1000000);
    json_decref(j);
    free(stop);

    /* Data in QEMU's member order, whatever order it was built in. */
    vmig_qmp_event(t.qmp, "SHUTDOWN", json_pack("{s:s, s:b}", "reason", "host-qmp-quit", "guest", 0));
    char *sd = dt_take(&c);
    assert_matches(sd, "^\\{\"timestamp\": \\{\"seconds\": [0-9]+, \"microseconds\": [0-9]+\\}, "
                       "\"event\": \"SHUTDOWN\", \"data\": \\{\"guest\": false, "
                       "\"reason\": \"host-qmp-quit\"\\}\\}$");
    free(sd);
    /* {} for an event without members is left out as well. */
    vmig_qmp_event(t.qmp, "RESUME", json_object());
    char *res = dt_take(&c);
    assert_matches(res, "\"event\": \"RESUME\"\\}$");
    free(res);
    assert_int_equal(dt_pending(&c), 0);
    dt_end(&t, &c);
}

/* Only negotiated connections get events. */
static void test_event_recipients(void **state)
{
    dt_t t;
    dt_conn_t a, b, n;
    dt_init(&t);
    dt_open(&t, &a, true);
    dt_open(&t, &b, false);
    dt_open(&t, &n, true);
    dt_negotiate(&t, &a, true);
    dt_negotiate(&t, &b, false);
    vmig_qmp_event(t.qmp, "RESUME", NULL);
    assert_int_equal(dt_pending(&a), 1);
    assert_int_equal(dt_pending(&b), 1);
    assert_int_equal(dt_pending(&n), 0);
    dt_close(&t, &a);
    dt_close(&t, &b);
    dt_close(&t, &n);
    dt_done(&t);
}

/* A wrong event is a caller's bug: dropped (with a line on stderr). */
static void test_event_refused(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    vmig_qmp_event(t.qmp, "NOSUCH", json_pack("{s:i}", "a", 1));
    vmig_qmp_event(t.qmp, "SHUTDOWN", NULL);
    vmig_qmp_event(t.qmp, "SHUTDOWN", json_pack("{s:b, s:s}", "guest", 1, "reason", "nosuch"));
    vmig_qmp_event(t.qmp, "SHUTDOWN", json_pack("{s:b, s:s, s:i}", "guest", 1, "reason", "none",
                                                "extra", 1));
    vmig_qmp_event(t.qmp, "STOP", json_pack("{s:i}", "a", 1));
    vmig_qmp_event(t.qmp, "STOP", json_array());
    assert_int_equal(dt_pending(&c), 0);
    vmig_qmp_event(NULL, "STOP", NULL);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_shape),
        cmocka_unit_test(test_event_recipients),
        cmocka_unit_test(test_event_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
