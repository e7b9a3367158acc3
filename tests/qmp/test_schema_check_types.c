/* test_schema_check_types.c — scalars, enums and alternates: which JSON
 * values each accepts and QEMU 7.2's texts for the others. */
#include "schema_test.h"

static const char *types =
    "[{\"enum\": \"Color\", \"since\": \"1\", \"doc\": \"d\", \"values\": [\"red\", \"green\"]},"
    " {\"struct\": \"Pt\", \"since\": \"1\", \"doc\": \"d\", \"members\": ["
    "   {\"name\": \"x\", \"type\": \"int\", \"doc\": \"d\"}]},"
    " {\"alternate\": \"StrOrNull\", \"since\": \"1\", \"doc\": \"d\", \"alternatives\": ["
    "   {\"name\": \"s\", \"type\": \"str\", \"doc\": \"d\"},"
    "   {\"name\": \"n\", \"type\": \"null\", \"doc\": \"d\"}]},"
    " {\"alternate\": \"Wide\", \"since\": \"1\", \"doc\": \"d\", \"alternatives\": ["
    "   {\"name\": \"c\", \"type\": \"Color\", \"doc\": \"d\"},"
    "   {\"name\": \"i\", \"type\": \"uint8\", \"doc\": \"d\"},"
    "   {\"name\": \"b\", \"type\": \"bool\", \"doc\": \"d\"},"
    "   {\"name\": \"p\", \"type\": \"Pt\", \"doc\": \"d\"},"
    "   {\"name\": \"l\", \"type\": [\"int\"], \"doc\": \"d\"}]}]";

static const char *cmds =
    "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"arguments\": ["
    "{\"name\": \"s\", \"type\": \"str\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"b\", \"type\": \"bool\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"z\", \"type\": \"null\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"a\", \"type\": \"any\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"e\", \"type\": \"Color\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"le\", \"type\": [\"Color\"], \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"t\", \"type\": \"StrOrNull\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"w\", \"type\": \"Wide\", \"optional\": true, \"doc\": \"d\"}]}]";

static void test_scalars(void **state)
{
    qmp_schema_t *s = st_load(types, cmds);
    st_expect(s, "c", "{}", "");
    st_expect(s, "c", "{\"s\": \"\", \"b\": false, \"z\": null, \"a\": [1, {}]}", "");
    st_expect(s, "c", "{\"s\": 1}", "Invalid parameter type for 's', expected: string");
    st_expect(s, "c", "{\"s\": null}", "Invalid parameter type for 's', expected: string");
    st_expect(s, "c", "{\"b\": \"true\"}", "Invalid parameter type for 'b', expected: boolean");
    st_expect(s, "c", "{\"b\": 0}", "Invalid parameter type for 'b', expected: boolean");
    st_expect(s, "c", "{\"z\": 0}", "Invalid parameter type for 'z', expected: null");
    st_expect(s, "c", "{\"a\": null}", "");
    qmp_schema_free(s);
}

static void test_enums(void **state)
{
    qmp_schema_t *s = st_load(types, cmds);
    st_expect(s, "c", "{\"e\": \"green\", \"le\": [\"red\", \"red\"]}", "");
    st_expect(s, "c", "{\"e\": \"blue\"}", "Parameter 'e' does not accept value 'blue'");
    st_expect(s, "c", "{\"e\": \"RED\"}", "Parameter 'e' does not accept value 'RED'");
    st_expect(s, "c", "{\"e\": 1}", "Invalid parameter type for 'e', expected: string");
    /* List elements have no name: QEMU says "null" (as for
     * qmp_capabilities' enable). */
    st_expect(s, "c", "{\"le\": [\"red\", \"blue\"]}", "Parameter 'null' does not accept value 'blue'");
    st_expect(s, "c", "{\"le\": [\"red\", 2]}", "Invalid parameter type for 'le[1]', expected: string");
    st_expect(s, "c", "{\"le\": \"red\"}", "Invalid parameter type for 'le', expected: array");
    qmp_schema_free(s);
}

static void test_alternates(void **state)
{
    qmp_schema_t *s = st_load(types, cmds);
    /* Recorded from QEMU 7.2 (tls-creds is a StrOrNull). */
    st_expect(s, "c", "{\"t\": \"x\"}", "");
    st_expect(s, "c", "{\"t\": null}", "");
    st_expect(s, "c", "{\"t\": 1}", "Invalid parameter type for 't', expected: StrOrNull");
    st_expect(s, "c", "{\"t\": []}", "Invalid parameter type for 't', expected: StrOrNull");
    /* The alternative is chosen by JSON type, then checked as usual. */
    st_expect(s, "c", "{\"w\": \"red\"}", "");
    st_expect(s, "c", "{\"w\": \"blue\"}", "Parameter 'w' does not accept value 'blue'");
    st_expect(s, "c", "{\"w\": 7}", "");
    st_expect(s, "c", "{\"w\": 300}", "Parameter 'w' expects uint8_t");
    st_expect(s, "c", "{\"w\": 1.5}", "Parameter 'w' expects uint64");
    st_expect(s, "c", "{\"w\": true}", "");
    st_expect(s, "c", "{\"w\": {\"x\": 1}}", "");
    st_expect(s, "c", "{\"w\": {}}", "Parameter 'w.x' is missing");
    st_expect(s, "c", "{\"w\": [1, \"a\"]}", "Invalid parameter type for 'w[1]', expected: integer");
    st_expect(s, "c", "{\"w\": null}", "Invalid parameter type for 'w', expected: Wide");
    qmp_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_alternates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
