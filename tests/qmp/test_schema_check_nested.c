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

static void test_paths(void **state)
{
    qmp_schema_t *s = st_load(types, cmds);
    /* Recorded from QEMU 7.2's block-bitmap-mapping. */
    st_expect(s, "c", "{\"maps\": [{\"id\": \"a\"}]}", "Parameter 'maps[0].alias' is missing");
    st_expect(s, "c",
              "{\"maps\": [{\"id\": \"a\", \"alias\": \"b\", \"bitmaps\": [{\"name\": 1}]}]}",
              "Invalid parameter type for 'maps[0].bitmaps[0].name', expected: string");
    st_expect(s, "c", "{\"maps\": [1]}", "Invalid parameter type for 'maps[0]', expected: object");
    st_expect(s, "c", "{\"maps\": {}}", "Invalid parameter type for 'maps', expected: array");
    /* The base's members come first. */
    st_expect(s, "c", "{\"one\": {}}", "Parameter 'one.id' is missing");
    st_expect(s, "c", "{\"one\": {\"id\": \"i\", \"alias\": \"a\", \"bitmaps\": [{\"name\": \"n\", "
                      "\"size\": -1}, {\"name\": \"m\", \"x\": 1}]}}",
              "Parameter 'one.bitmaps[1].x' is unexpected");
    /* A nested object's leftovers are reported before later members of its
     * parent are looked at. */
    st_expect(s, "c", "{\"one\": {\"id\": \"i\", \"alias\": \"a\", \"q\": 1}, \"dev\": 5}",
              "Parameter 'one.q' is unexpected");
    st_expect(s, "c",
              "{\"maps\": [{\"id\": \"a\", \"alias\": \"b\"}, {\"id\": \"c\", \"alias\": \"d\", "
              "\"bitmaps\": []}], \"one\": {\"id\": \"i\", \"alias\": \"a\"}}",
              "");
    /* Arguments given as a named struct. */
    st_expect(s, "named", "{\"alias\": \"a\"}", "Parameter 'id' is missing");
    st_expect(s, "named", "{\"id\": \"i\", \"alias\": \"a\"}", "");
    qmp_schema_free(s);
}

static void test_union(void **state)
{
    qmp_schema_t *s = st_load(types, cmds);
    st_expect(s, "c", "{\"dev\": {\"kind\": \"disk\", \"node\": \"n\"}}", "");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"none\"}}", "");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"none\", \"node\": \"n\"}}",
              "Parameter 'dev.node' is unexpected");
    st_expect(s, "c", "{\"dev\": {\"node\": \"n\"}}", "Parameter 'dev.kind' is missing");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"tape\"}}", "Parameter 'kind' does not accept value 'tape'");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"net\"}}", "Parameter 'dev.mac' is missing");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"net\", \"mac\": \"m\", \"mtu\": 70000}}",
              "Parameter 'mtu' expects uint16_t");
    st_expect(s, "c", "{\"dev\": {\"kind\": \"net\", \"tag\": 1, \"mac\": 1}}",
              "Invalid parameter type for 'dev.tag', expected: string");
    qmp_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
