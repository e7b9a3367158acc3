/* test_schema_load.c — the compiled-in schema loads and declares what this
 * issue needs; a broken schema is refused with a message saying where. */
#include "schema_test.h"

static void test_builtin_schema(void **state)
{
    qmp_schema_t *s = NULL;
    char err[256];
    assert_int_equal(qmp_schema_load((const char *)qmp_schema_text, qmp_schema_text_len, &s, err,
                                     sizeof(err)),
                     0);
    static const char *const cmds[] = { "qmp_capabilities", "query-version", "query-commands",
                                        "query-qmp-schema", "query-status", "stop", "cont",
                                        "quit", "getfd", "closefd" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const qs_command_t *c = qmp_schema_command(s, cmds[i]);
        assert_non_null(c);
        assert_non_null(c->since);
        assert_non_null(c->doc);
        assert_false(c->allow_oob);
    }
    assert_true(qmp_schema_command(s, "yank")->allow_oob);
    assert_null(qmp_schema_command(s, "nosuch"));
    assert_non_null(qmp_schema_event(s, "STOP"));
    assert_non_null(qmp_schema_event(s, "RESUME"));
    const qs_event_t *sd = qmp_schema_event(s, "SHUTDOWN");
    assert_non_null(sd);
    assert_int_equal(sd->data->nmembers, 2);
    assert_null(qmp_schema_event(s, "nosuch"));
    /* QEMU 7.2's RunState, in order. */
    const qs_type_t *rs = qmp_schema_type(s, "RunState");
    static const char *const states[] = {
        "debug", "inmigrate", "internal-error", "io-error", "paused", "postmigrate",
        "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown",
        "suspended", "watchdog", "guest-panicked", "colo",
    };
    assert_int_equal(rs->nvalues, sizeof(states) / sizeof(states[0]));
    for (size_t i = 0; i < rs->nvalues; i++)
        assert_string_equal(rs->values[i], states[i]);
    assert_int_equal(qmp_schema_type(s, "ShutdownCause")->nvalues, 11);
    qmp_schema_free(s);
}

/* types/commands replaced; the load must fail with a message containing want. */
static void refused(const char *types, const char *commands, const char *want)
{
    qmp_schema_t *s = NULL;
    char err[256];
    int r = st_try(types, commands, NULL, &s, err, sizeof(err));
    if (r == 0 || !strstr(err, want))
        fprintf(stderr, "want '%s', got %d '%s'\n", want, r, err);
    assert_int_equal(r, -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, want));
}

#define CMD(args) "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"arguments\": " args "}]"
#define M(name, type) "{\"name\": \"" name "\", \"type\": " type ", \"doc\": \"d\"}"

static void test_refused(void **state)
{
    qmp_schema_t *s = NULL;
    char err[256];
    assert_int_equal(qmp_schema_load("{", 1, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(qmp_schema_load("[]", 2, &s, err, sizeof(err)), -EINVAL);

    refused(NULL, CMD("[" M("x", "\"Nope\"") "]"), "command 'c', member 'x': unknown type 'Nope'");
    refused(NULL, CMD("[" M("x", "[\"str\", \"int\"]") "]"), "a list type is written");
    refused(NULL, CMD("[" M("x", "\"str\"") "," M("x", "\"int\"") "]"), "the name is used twice");
    refused(NULL, CMD("\"str\""), "'str' is not a struct");
    refused(NULL, "[{\"command\": \"c\", \"doc\": \"d\"}]", "command 'c': 'since' is missing");
    refused(NULL, "[{\"command\": \"c\", \"since\": \"1\"}]", "command 'c': 'doc' is missing");
    refused(NULL, "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"allow-oob\": 1}]",
            "'allow-oob' must be true or false");
    refused(NULL, "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"retruns\": \"str\"}]",
            "command 'c': unknown key 'retruns'");
    refused(NULL,
            "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\"},"
            " {\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\"}]",
            "command 'c' is declared twice");
    refused("[{\"struct\": \"T\", \"since\": \"1\", \"doc\": \"d\", \"members\": []},"
            " {\"enum\": \"T\", \"since\": \"1\", \"doc\": \"d\", \"values\": [\"a\"]}]",
            NULL, "type 'T' is declared twice");
    refused("[{\"struct\": \"str\", \"since\": \"1\", \"doc\": \"d\", \"members\": []}]", NULL,
            "type 'str' is declared twice");
    refused("[{\"enum\": \"E\", \"since\": \"1\", \"doc\": \"d\", \"values\": [\"a\", \"a\"]}]", NULL,
            "value 'a' is listed twice");
    refused("[{\"struct\": \"A\", \"since\": \"1\", \"doc\": \"d\", \"base\": \"B\", \"members\": []},"
            " {\"struct\": \"B\", \"since\": \"1\", \"doc\": \"d\", \"base\": \"A\", \"members\": []}]",
            NULL, "its base chain loops");
    refused("[{\"alternate\": \"A\", \"since\": \"1\", \"doc\": \"d\", \"alternatives\": ["
            M("a", "\"str\"") "," M("b", "\"str\"") "]}]",
            NULL, "have the same JSON type");
    refused("[{\"alternate\": \"A\", \"since\": \"1\", \"doc\": \"d\", \"alternatives\": ["
            M("a", "\"str\"") "," M("b", "\"any\"") "]}]",
            NULL, "cannot be optional, any or an alternate");
    refused("[{\"union\": \"U\", \"since\": \"1\", \"doc\": \"d\", \"base\": [" M("k", "\"str\"") "],"
            " \"discriminator\": \"k\", \"branches\": {}}]",
            NULL, "the discriminator must be a mandatory enum member");
    refused("[{\"enum\": \"E\", \"since\": \"1\", \"doc\": \"d\", \"values\": [\"a\"]},"
            " {\"struct\": \"S\", \"since\": \"1\", \"doc\": \"d\", \"members\": []},"
            " {\"union\": \"U\", \"since\": \"1\", \"doc\": \"d\", \"base\": [" M("k", "\"E\"") "],"
            " \"discriminator\": \"k\", \"branches\": {\"b\": \"S\"}}]",
            NULL, "branch 'b' is not a value of E");
    refused("[{\"thing\": \"X\"}]", NULL, "needs one of enum, struct, union, alternate");
}

/* A builtins list that does not match what the checker implements. */
static void test_builtins_refused(void **state)
{
    json_t *doc = json_loadb((const char *)qmp_schema_text, qmp_schema_text_len, 0, NULL);
    json_t *b = json_object_get(doc, "builtins");
    json_object_set_new(json_array_get(b, 0), "json-type", json_string("int"));
    char *text = json_dumps(doc, 0);
    qmp_schema_t *s = NULL;
    char err[256];
    assert_int_equal(qmp_schema_load(text, strlen(text), &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "the json-type of 'str' is 'string'"));
    free(text);
    json_array_remove(b, 0);
    text = json_dumps(doc, 0);
    assert_int_equal(qmp_schema_load(text, strlen(text), &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "builtins: 'str' is missing"));
    free(text);
    json_array_append_new(b, json_pack("{s:s, s:s, s:s}", "name", "float", "json-type", "number",
                                       "doc", "d"));
    text = json_dumps(doc, 0);
    assert_int_equal(qmp_schema_load(text, strlen(text), &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'float' is not a builtin vmig implements"));
    free(text);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_schema),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_builtins_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
