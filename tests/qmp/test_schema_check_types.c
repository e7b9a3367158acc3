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

static const st_case_t scalars_cases[] = {
    { "{}", "" },
    { "{\"s\": \"\", \"b\": false, \"z\": null, \"a\": [1, {}]}", "" },
    { "{\"s\": 1}", "Invalid parameter type for 's', expected: string" },
    { "{\"s\": null}", "Invalid parameter type for 's', expected: string" },
    { "{\"b\": \"true\"}", "Invalid parameter type for 'b', expected: boolean" },
    { "{\"b\": 0}", "Invalid parameter type for 'b', expected: boolean" },
    { "{\"z\": 0}", "Invalid parameter type for 'z', expected: null" },
    { "{\"a\": null}", "" },
};

static void test_scalars(void **state)
{
    st_expect_all(types, cmds, "c", scalars_cases, ST_N(scalars_cases));
}

static const st_case_t enums_cases[] = {
    { "{\"e\": \"green\", \"le\": [\"red\", \"red\"]}", "" },
    { "{\"e\": \"blue\"}", "Parameter 'e' does not accept value 'blue'" },
    { "{\"e\": \"RED\"}", "Parameter 'e' does not accept value 'RED'" },
    { "{\"e\": 1}", "Invalid parameter type for 'e', expected: string" },
    /* List elements have no name: QEMU says "null" (as for
     * qmp_capabilities' enable). */
    { "{\"le\": [\"red\", \"blue\"]}", "Parameter 'null' does not accept value 'blue'" },
    { "{\"le\": [\"red\", 2]}", "Invalid parameter type for 'le[1]', expected: string" },
    { "{\"le\": \"red\"}", "Invalid parameter type for 'le', expected: array" },
};

static void test_enums(void **state)
{
    st_expect_all(types, cmds, "c", enums_cases, ST_N(enums_cases));
}

static const st_case_t alternates_cases[] = {
    /* Recorded from QEMU 7.2 (tls-creds is a StrOrNull). */
    { "{\"t\": \"x\"}", "" },
    { "{\"t\": null}", "" },
    { "{\"t\": 1}", "Invalid parameter type for 't', expected: StrOrNull" },
    { "{\"t\": []}", "Invalid parameter type for 't', expected: StrOrNull" },
    /* The alternative is chosen by JSON type, then checked as usual. */
    { "{\"w\": \"red\"}", "" },
    { "{\"w\": \"blue\"}", "Parameter 'w' does not accept value 'blue'" },
    { "{\"w\": 7}", "" },
    { "{\"w\": 300}", "Parameter 'w' expects uint8_t" },
    { "{\"w\": 1.5}", "Parameter 'w' expects uint64" },
    { "{\"w\": true}", "" },
    { "{\"w\": {\"x\": 1}}", "" },
    { "{\"w\": {}}", "Parameter 'w.x' is missing" },
    { "{\"w\": [1, \"a\"]}", "Invalid parameter type for 'w[1]', expected: integer" },
    { "{\"w\": null}", "Invalid parameter type for 'w', expected: Wide" },
};

static void test_alternates(void **state)
{
    st_expect_all(types, cmds, "c", alternates_cases, ST_N(alternates_cases));
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
