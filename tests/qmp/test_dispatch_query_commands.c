/* test_dispatch_query_commands.c — query-commands lists the registered
 * commands only, newest registration first, as {"name": ...} objects
 * (QEMU 7.2's shape and order). */
#include "dispatch_test.h"

static int nop(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    return 0;
}

static void test_query_commands(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    /* The monitor's own commands. */
    dt_exchange(&t, &c, "{\"execute\": \"query-commands\"}",
                "{\"return\": [{\"name\": \"query-qmp-schema\"}, {\"name\": \"query-commands\"}, "
                "{\"name\": \"query-version\"}, {\"name\": \"qmp_capabilities\"}]}");
    assert_int_equal(vmig_qmp_register(t.qmp, "quit", nop, NULL), 0);
    assert_int_equal(vmig_qmp_register(t.qmp, "getfd", nop, NULL), 0);
    dt_exchange(&t, &c, "{\"execute\": \"query-commands\", \"id\": 1}",
                "{\"return\": [{\"name\": \"getfd\"}, {\"name\": \"quit\"}, "
                "{\"name\": \"query-qmp-schema\"}, {\"name\": \"query-commands\"}, "
                "{\"name\": \"query-version\"}, {\"name\": \"qmp_capabilities\"}], \"id\": 1}");
    dt_end(&t, &c);
}

static void test_register_errors(void **state)
{
    dt_t t;
    dt_init(&t);
    assert_int_equal(vmig_qmp_register(t.qmp, "nosuch", nop, NULL), -ENOENT);
    assert_int_equal(vmig_qmp_register(t.qmp, "query-version", nop, NULL), -EEXIST);
    assert_int_equal(vmig_qmp_register(t.qmp, "stop", NULL, NULL), -EINVAL);
    assert_int_equal(vmig_qmp_register(NULL, "stop", nop, NULL), -EINVAL);
    assert_int_equal(vmig_qmp_register(t.qmp, "stop", nop, NULL), 0);
    assert_int_equal(vmig_qmp_register(t.qmp, "stop", nop, NULL), -EEXIST);
    dt_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_commands),
        cmocka_unit_test(test_register_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
