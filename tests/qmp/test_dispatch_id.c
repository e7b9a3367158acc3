/* test_dispatch_id.c — "id" is copied into the reply whatever JSON value it
 * is, in success and error replies, with objects in QEMU's member order. */
#include "dispatch_test.h"

static void test_id_echo(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    static const struct {
        const char *in;  /* the id as sent */
        const char *out; /* as QEMU 7.2 echoes it */
    } ids[] = {
        { "1", "1" },
        { "-7", "-7" },
        { "1.5", "1.5" },
        { "\"abc\"", "\"abc\"" },
        { "null", "null" },
        { "true", "true" },
        { "[1, \"a\", null, true, 1.5]", "[1, \"a\", null, true, 1.5]" },
        { "{\"a\": 1}", "{\"a\": 1}" },
        /* QEMU keeps objects in QDict order: recorded from QEMU 7.2. */
        { "{\"b\": 1, \"a\": [{\"y\": 1, \"x\": 2}], \"id\": 3}",
          "{\"a\": [{\"x\": 2, \"y\": 1}], \"b\": 1, \"id\": 3}" },
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char in[256], want[512];
        snprintf(in, sizeof(in), "{\"execute\": \"query-commands\", \"id\": %s}", ids[i].in);
        dt_input(&t, &c, in);
        char *got = dt_take(&c);
        /* The reply ends with the id: {"return": [...], "id": ID} */
        snprintf(want, sizeof(want), ", \"id\": %s}", ids[i].out);
        assert_true(strncmp(got, "{\"return\": [", 12) == 0);
        assert_true(strlen(got) > strlen(want));
        assert_string_equal(got + strlen(got) - strlen(want), want);
        free(got);

        snprintf(in, sizeof(in), "{\"execute\": \"nosuch\", \"id\": %s}", ids[i].in);
        snprintf(want, sizeof(want),
                 "{\"id\": %s, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                 "\"The command nosuch has not been found\"}}",
                 ids[i].out);
        dt_exchange(&t, &c, in, want);
    }
    /* Also for errors found before the command is looked up. */
    dt_exchange(&t, &c, "{\"id\": {\"z\": 1}, \"bogus\": 2}",
                "{\"id\": {\"z\": 1}, \"error\": {\"class\": \"GenericError\", \"desc\": "
                "\"QMP input member 'bogus' is unexpected\"}}");
    dt_end(&t, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_echo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
