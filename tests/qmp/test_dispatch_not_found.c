/* test_dispatch_not_found.c — CommandNotFound: for names the schema does not
 * know and for schema commands nobody registered a handler for. */
#include "dispatch_test.h"

static int stop_handler(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    (*(int *)opaque)++;
    return 0;
}

static void test_not_found(void **state)
{
    dt_t t;
    dt_conn_t c;
    int stops = 0;
    dt_start(&t, &c, true);
    dt_exchange(&t, &c, "{\"execute\": \"nosuch\", \"id\": 3}",
                DT_ERROR_ID("3", "CommandNotFound", "The command nosuch has not been found"));
    dt_exchange(&t, &c, "{\"exec-oob\": \"nosuch\", \"id\": 2}",
                DT_ERROR_ID("2", "CommandNotFound", "The command nosuch has not been found"));
    /* "stop" is in the schema, but nothing implements it here. */
    dt_exchange(&t, &c, "{\"execute\": \"stop\"}",
                DT_ERROR("CommandNotFound", "The command stop has not been found"));
    /* Not found wins over bad arguments. */
    dt_exchange(&t, &c, "{\"execute\": \"stop\", \"arguments\": {\"a\": 1}}",
                DT_ERROR("CommandNotFound", "The command stop has not been found"));
    assert_int_equal(vmig_qmp_register(t.qmp, "stop", stop_handler, &stops), 0);
    dt_exchange(&t, &c, "{\"execute\": \"stop\"}", "{\"return\": {}}");
    assert_int_equal(stops, 1);
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
