/* test_dispatch_request.c — the checks of the request object itself, in
 * QEMU 7.2's order and with its texts (recorded from QEMU 7.2). */
#include "dispatch_test.h"

#define GENERIC(desc) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

static void test_not_an_object(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    dt_open(&t, &c, true);
    /* Before and after negotiation alike. */
    dt_exchange(&t, &c, "[1]", GENERIC("QMP input must be a JSON object"));
    dt_negotiate(&t, &c, false);
    dt_exchange(&t, &c, "[1]", GENERIC("QMP input must be a JSON object"));
    dt_exchange(&t, &c, "1", GENERIC("QMP input must be a JSON object"));
    dt_exchange(&t, &c, "\"execute\"", GENERIC("QMP input must be a JSON object"));
    dt_exchange(&t, &c, "null", GENERIC("QMP input must be a JSON object"));
    dt_end(&t, &c);
}

static void test_bad_members(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    dt_exchange(&t, &c, "{\"foo\": 1}", GENERIC("QMP input member 'foo' is unexpected"));
    dt_exchange(&t, &c, "{\"execute\": \"qmp_capabilities\", \"enable\": [\"oob\"]}",
                GENERIC("QMP input member 'enable' is unexpected"));
    dt_exchange(&t, &c, "{\"execute\": 1}", GENERIC("QMP input member 'execute' must be a string"));
    dt_exchange(&t, &c, "{\"execute\": \"query-version\", \"arguments\": null}",
                GENERIC("QMP input member 'arguments' must be an object"));
    dt_exchange(&t, &c, "{\"id\": 5}",
                DT_ERROR_ID("5", "GenericError", "QMP input lacks member 'execute'"));
    /* Without oob, exec-oob is just an unexpected member. */
    dt_exchange(&t, &c, "{\"exec-oob\": \"query-version\", \"id\": 4}",
                DT_ERROR_ID("4", "GenericError", "QMP input member 'exec-oob' is unexpected"));
    dt_exchange(&t, &c, "{\"execute\": \"query-version\", \"exec-oob\": \"query-version\"}",
                GENERIC("QMP input member 'exec-oob' is unexpected"));
    dt_end(&t, &c);
}

/* With several problems, QEMU reports the first member in its QDict's
 * order, whatever order the client wrote them in. */
static void test_member_order(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, true);
    dt_exchange(&t, &c, "{\"foo\": 1, \"execute\": 1}",
                GENERIC("QMP input member 'execute' must be a string"));
    dt_exchange(&t, &c, "{\"execute\": 1, \"foo\": 1}",
                GENERIC("QMP input member 'execute' must be a string"));
    dt_exchange(&t, &c, "{\"foo\": 1, \"arguments\": 1}",
                GENERIC("QMP input member 'arguments' must be an object"));
    dt_exchange(&t, &c, "{\"bar\": 1, \"foo\": 1, \"zz\": 2}",
                GENERIC("QMP input member 'bar' is unexpected"));
    dt_exchange(&t, &c, "{\"exec-oob\": 1, \"execute\": 2}",
                GENERIC("QMP input member 'exec-oob' must be a string"));
    dt_exchange(&t, &c, "{\"execute\": \"a\", \"exec-oob\": \"b\", \"foo\": 1}",
                GENERIC("QMP input member 'execute' clashes with 'exec-oob'"));
    dt_exchange(&t, &c, "{\"exec-oob\": \"b\", \"execute\": \"a\"}",
                GENERIC("QMP input member 'execute' clashes with 'exec-oob'"));
    dt_end(&t, &c);
}

/* The transport's parse errors come back as they are, without an id. */
static void test_parse_error(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    dt_open(&t, &c, true);
    vmig_qmp_dispatch(t.qmp, &c.conn, NULL, "JSON parse error, expecting value");
    dt_expect(&c, GENERIC("JSON parse error, expecting value"));
    vmig_qmp_dispatch(t.qmp, &c.conn, NULL, "JSON parse error, invalid keyword 'tru'");
    dt_expect(&c, GENERIC("JSON parse error, invalid keyword 'tru'"));
    assert_int_equal(dt_pending(&c), 0);
    dt_negotiate(&t, &c, false);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_bad_members),
        cmocka_unit_test(test_member_order),
        cmocka_unit_test(test_parse_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
