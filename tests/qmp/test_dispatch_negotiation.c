/* test_dispatch_negotiation.c — capabilities negotiation as QEMU 7.2 answers
 * it: nothing runs before qmp_capabilities, which runs once; its errors. */
#include "dispatch_test.h"

/* Before negotiation every command, known or not, is "not found". */
static void test_before_negotiation(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    dt_open(&t, &c, true);
    dt_exchange(&t, &c, "{\"execute\": \"query-version\", \"id\": 1}",
                DT_ERROR_ID("1", "CommandNotFound",
                            "Expecting capabilities negotiation with 'qmp_capabilities'"));
    dt_exchange(&t, &c, "{\"execute\": \"nosuch\"}",
                DT_ERROR("CommandNotFound",
                         "Expecting capabilities negotiation with 'qmp_capabilities'"));
    /* exec-oob is not even a member yet. */
    dt_exchange(&t, &c, "{\"exec-oob\": \"qmp_capabilities\"}",
                DT_ERROR("GenericError", "QMP input member 'exec-oob' is unexpected"));
    assert_false(c.conn.negotiated);
    dt_negotiate(&t, &c, false);
    dt_exchange(&t, &c, "{\"execute\": \"query-version\", \"id\": 2}",
                "{\"return\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                "\"package\": \"vmig-test\"}, \"id\": 2}");
    dt_end(&t, &c);
}

static void test_twice(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"id\": 2}",
                DT_ERROR_ID("2", "CommandNotFound",
                            "Capabilities negotiation is already complete, command ignored"));
    /* Asking for oob afterwards changes nothing. */
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
                DT_ERROR("CommandNotFound",
                         "Capabilities negotiation is already complete, command ignored"));
    assert_false(c.conn.oob);
    dt_end(&t, &c);
}

/* Bad arguments of qmp_capabilities; the connection stays unnegotiated. */
static void test_bad_capabilities(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    dt_open(&t, &c, true);
    dt_exchange(&t, &c,
                "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"nosuch\"]}, "
                "\"id\": \"x\"}",
                DT_ERROR_ID("\"x\"", "GenericError",
                            "Parameter 'null' does not accept value 'nosuch'"));
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}",
                DT_ERROR("GenericError", "Invalid parameter type for 'enable', expected: array"));
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}",
                DT_ERROR("GenericError", "Parameter 'foo' is unexpected"));
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"arguments\": [1]}",
                DT_ERROR("GenericError", "QMP input member 'arguments' must be an object"));
    assert_false(c.conn.negotiated);
    dt_negotiate(&t, &c, true);
    dt_end(&t, &c);
}

/* "oob" on a connection whose greeting did not offer it (QEMU's
 * qmp_caps_accept() text). */
static void test_oob_unavailable(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    dt_open(&t, &c, false);
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
                DT_ERROR("GenericError", "Capability oob not available"));
    dt_exchange(&t, &c,
                "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\", \"oob\"]}}",
                DT_ERROR("GenericError", "Capability oob, oob not available"));
    assert_false(c.conn.negotiated);
    dt_negotiate(&t, &c, false);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_negotiation),
        cmocka_unit_test(test_twice),
        cmocka_unit_test(test_bad_capabilities),
        cmocka_unit_test(test_oob_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
