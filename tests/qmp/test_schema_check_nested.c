/* test_schema_check_nested.c — structs in structs, lists of structs, bases
 * and unions: QEMU 7.2's member order, its full paths ("a.b[0].c") and the
 * leftover check of each nested object. */
#include "schema_test.h"

static const char *types =
    "[{\"struct\": \"Base\", \"since\": \"1\", \"doc\": \"d\", \"members\": ["
    "   {\"name\": \"id\", \"type\": \"str\", \"doc\": \"d\"}]},"
    " {\"struct\": \"Map\", \"since\": \"1\", \"doc\": \"d\", \"base\": \"Base\", \"members\": ["
    "   {\"name\": \"alias\", \"type\": \"str\", \"doc\": \"d\"},"
    "   {\"name\": \"bitmaps\", \"type\": [\"Bitmap\"], \"optional\": true, \"doc\": \"d\"}]},"
    " {\"struct\": \"Bitmap\", \"since\": \"1\", \"doc\": \"d\", \"members\": ["
    "   {\"name\": \"name\", \"type\": \"str\", \"doc\": \"d\"},"
    "   {\"name\": \"size\", \"type\": \"size\", \"optional\": true, \"doc\": \"d\"}]},"
    " {\"enum\": \"Kind\", \"since\": \"1\", \"doc\": \"d\", \"values\": [\"disk\", \"net\", \"none\"]},"
    " {\"struct\": \"Disk\", \"since\": \"1\", \"doc\": \"d\", \"members\": ["
    "   {\"name\": \"node\", \"type\": \"str\", \"doc\": \"d\"}]},"
    " {\"struct\": \"Net\", \"since\": \"1\", \"doc\": \"d\", \"members\": ["
    "   {\"name\": \"mac\", \"type\": \"str\", \"doc\": \"d\"},"
    "   {\"name\": \"mtu\", \"type\": \"uint16\", \"optional\": true, \"doc\": \"d\"}]},"
    " {\"union\": \"Dev\", \"since\": \"1\", \"doc\": \"d\", \"base\": ["
    "   {\"name\": \"kind\", \"type\": \"Kind\", \"doc\": \"d\"},"
    "   {\"name\": \"tag\", \"type\": \"str\", \"optional\": true, \"doc\": \"d\"}],"
    "  \"discriminator\": \"kind\", \"branches\": {\"disk\": \"Disk\", \"net\": \"Net\"}}]";

static const char *cmds =
    "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"arguments\": ["
    "{\"name\": \"maps\", \"type\": [\"Map\"], \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"one\", \"type\": \"Map\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"dev\", \"type\": \"Dev\", \"optional\": true, \"doc\": \"d\"}]},"
    " {\"command\": \"named\", \"since\": \"1\", \"doc\": \"d\", \"arguments\": \"Map\"}]";

static const st_case_t paths_cases[] = {
    /* Recorded from QEMU 7.2's block-bitmap-mapping. */
    { "{\"maps\": [{\"id\": \"a\"}]}", "Parameter 'maps[0].alias' is missing" },
    { "{\"maps\": [{\"id\": \"a\", \"alias\": \"b\", \"bitmaps\": [{\"name\": 1}]}]}",
      "Invalid parameter type for 'maps[0].bitmaps[0].name', expected: string" },
    { "{\"maps\": [1]}", "Invalid parameter type for 'maps[0]', expected: object" },
    { "{\"maps\": {}}", "Invalid parameter type for 'maps', expected: array" },
    /* The base's members come first. */
    { "{\"one\": {}}", "Parameter 'one.id' is missing" },
    { "{\"one\": {\"id\": \"i\", \"alias\": \"a\", \"bitmaps\": [{\"name\": \"n\", "
      "\"size\": -1}, {\"name\": \"m\", \"x\": 1}]}}",
      "Parameter 'one.bitmaps[1].x' is unexpected" },
    /* A nested object's leftovers are reported before later members of its
     * parent are looked at. */
    { "{\"one\": {\"id\": \"i\", \"alias\": \"a\", \"q\": 1}, \"dev\": 5}",
      "Parameter 'one.q' is unexpected" },
    { "{\"maps\": [{\"id\": \"a\", \"alias\": \"b\"}, {\"id\": \"c\", \"alias\": \"d\", "
      "\"bitmaps\": []}], \"one\": {\"id\": \"i\", \"alias\": \"a\"}}",
      "" },
};

/* Arguments given as a named struct. */
static const st_case_t named_cases[] = {
    { "{\"alias\": \"a\"}", "Parameter 'id' is missing" },
    { "{\"id\": \"i\", \"alias\": \"a\"}", "" },
};

static void test_paths(void **state)
{
    st_expect_all(types, cmds, "c", paths_cases, ST_N(paths_cases));
    st_expect_all(types, cmds, "named", named_cases, ST_N(named_cases));
}

static const st_case_t union_cases[] = {
    { "{\"dev\": {\"kind\": \"disk\", \"node\": \"n\"}}", "" },
    { "{\"dev\": {\"kind\": \"none\"}}", "" },
    { "{\"dev\": {\"kind\": \"none\", \"node\": \"n\"}}", "Parameter 'dev.node' is unexpected" },
    { "{\"dev\": {\"node\": \"n\"}}", "Parameter 'dev.kind' is missing" },
    { "{\"dev\": {\"kind\": \"tape\"}}", "Parameter 'kind' does not accept value 'tape'" },
    { "{\"dev\": {\"kind\": \"net\"}}", "Parameter 'dev.mac' is missing" },
    { "{\"dev\": {\"kind\": \"net\", \"mac\": \"m\", \"mtu\": 70000}}",
      "Parameter 'mtu' expects uint16_t" },
    { "{\"dev\": {\"kind\": \"net\", \"tag\": 1, \"mac\": 1}}",
      "Invalid parameter type for 'dev.tag', expected: string" },
};

static void test_union(void **state)
{
    st_expect_all(types, cmds, "c", union_cases, ST_N(union_cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
