/* test_dispatch_args.c — arguments are checked against the schema before any
 * handler runs: missing, unexpected, wrongly typed, bad enum value, nested
 * unions in lists (texts recorded from QEMU 7.2). */
#include "dispatch_test.h"

#define GENERIC(desc) DT_ERROR("GenericError", desc)

/* Counts calls; returns its arguments so the test sees what it got. */
static int echo_handler(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    (*(int *)opaque)++;
    *ret = json_pack("{s:O}", "args", req->args);
    return 0;
}

static void test_getfd_args(void **state)
{
    dt_t t;
    dt_conn_t c;
    int calls = 0;
    dt_start(&t, &c, false);
    assert_int_equal(vmig_qmp_register(t.qmp, "getfd", echo_handler, &calls), 0);
    dt_exchange(&t, &c, "{\"execute\": \"getfd\"}", GENERIC("Parameter 'fdname' is missing"));
    dt_exchange(&t, &c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": 1}}",
                GENERIC("Invalid parameter type for 'fdname', expected: string"));
    dt_exchange(&t, &c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": null}}",
                GENERIC("Invalid parameter type for 'fdname', expected: string"));
    dt_exchange(&t, &c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"a\", \"a\": 1}}",
                GENERIC("Parameter 'a' is unexpected"));
    /* Missing comes before unexpected; of several leftovers, QEMU names
     * the first in its hash table's order. */
    dt_exchange(&t, &c, "{\"execute\": \"getfd\", \"arguments\": {\"a\": 1}}",
                GENERIC("Parameter 'fdname' is missing"));
    dt_exchange(&t, &c,
                "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"a\", \"a\": 1, \"b\": 2, "
                "\"c\": 3}}",
                GENERIC("Parameter 'b' is unexpected"));
    assert_int_equal(calls, 0);
    dt_exchange(&t, &c, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"x\"}}",
                "{\"return\": {\"args\": {\"fdname\": \"x\"}}}");
    assert_int_equal(calls, 1);
    dt_end(&t, &c);
}

/* A command without arguments takes {} or nothing, handlers see {}. */
static void test_no_args(void **state)
{
    dt_t t;
    dt_conn_t c;
    int calls = 0;
    dt_start(&t, &c, false);
    assert_int_equal(vmig_qmp_register(t.qmp, "stop", echo_handler, &calls), 0);
    dt_exchange(&t, &c, "{\"execute\": \"stop\"}", "{\"return\": {\"args\": {}}}");
    dt_exchange(&t, &c, "{\"execute\": \"stop\", \"arguments\": {}}",
                "{\"return\": {\"args\": {}}}");
    dt_exchange(&t, &c, "{\"execute\": \"stop\", \"arguments\": {\"a\": 1, \"b\": 2}}",
                GENERIC("Parameter 'b' is unexpected"));
    assert_int_equal(calls, 2);
    dt_end(&t, &c);
}

/* yank: a list of a flat union. */
static void test_nested_union(void **state)
{
    dt_t t;
    dt_conn_t c;
    int calls = 0;
    dt_start(&t, &c, false);
    assert_int_equal(vmig_qmp_register(t.qmp, "yank", echo_handler, &calls), 0);
#define YANK(inst) "{\"execute\": \"yank\", \"arguments\": {\"instances\": " inst "}}"
    dt_exchange(&t, &c, YANK("[{\"type\": \"chardev\"}]"),
                GENERIC("Parameter 'instances[0].id' is missing"));
    dt_exchange(&t, &c, YANK("[{\"type\": \"x\"}]"),
                GENERIC("Parameter 'type' does not accept value 'x'"));
    dt_exchange(&t, &c, YANK("[{\"type\": \"migration\", \"a\": 1}]"),
                GENERIC("Parameter 'instances[0].a' is unexpected"));
    dt_exchange(&t, &c, YANK("[{\"type\": \"chardev\", \"id\": \"x\", \"a\": 1}]"),
                GENERIC("Parameter 'instances[0].a' is unexpected"));
    dt_exchange(&t, &c, YANK("[{\"id\": \"x\"}]"),
                GENERIC("Parameter 'instances[0].type' is missing"));
    dt_exchange(&t, &c, YANK("[{\"type\": 1}]"),
                GENERIC("Invalid parameter type for 'instances[0].type', expected: string"));
    dt_exchange(&t, &c, YANK("[{\"type\": \"block-node\", \"node-name\": 5}]"),
                GENERIC("Invalid parameter type for 'instances[0].node-name', expected: string"));
    dt_exchange(&t, &c, YANK("{}"), GENERIC("Invalid parameter type for 'instances', expected: array"));
    dt_exchange(&t, &c, YANK("[1]"),
                GENERIC("Invalid parameter type for 'instances[0]', expected: object"));
    dt_exchange(&t, &c, YANK("[{\"type\": \"migration\"}, {\"type\": \"chardev\", \"id\": 2}]"),
                GENERIC("Invalid parameter type for 'instances[1].id', expected: string"));
    assert_int_equal(calls, 0);
    dt_exchange(&t, &c, YANK("[{\"type\": \"migration\"}, {\"type\": \"chardev\", \"id\": \"c\"}]"),
                "{\"return\": {\"args\": {\"instances\": [{\"type\": \"migration\"}, "
                "{\"type\": \"chardev\", \"id\": \"c\"}]}}}");
    assert_int_equal(calls, 1);
#undef YANK
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getfd_args),
        cmocka_unit_test(test_no_args),
        cmocka_unit_test(test_nested_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
