/* schema_test.h — what the schema tests share: loading a test schema (the
 * real builtins with the test's own types and commands) and checking
 * arguments against one of its commands. */
#ifndef SCHEMA_TEST_H
#define SCHEMA_TEST_H

#include "vmig_test.h"

#include <jansson.h>

#include "qmp/qmp_schema.h"

/* Load the compiled-in schema with its types, commands and events replaced
 * (each a JSON list, NULL: an empty one). Returns qmp_schema_load()'s
 * result; err gets its message. */
static inline int st_try(const char *types, const char *commands, const char *events,
                         qmp_schema_t **out, char *err, size_t errlen)
{
    json_t *doc = json_loadb((const char *)qmp_schema_text, qmp_schema_text_len, 0, NULL);
    assert_non_null(doc);
    const char *parts[3] = { types, commands, events };
    const char *keys[3] = { "types", "commands", "events" };
    for (int i = 0; i < 3; i++) {
        json_error_t je;
        json_t *v = json_loads(parts[i] ? parts[i] : "[]", 0, &je);
        if (!v)
            fprintf(stderr, "bad test JSON (%s): %s\n", keys[i], je.text);
        assert_non_null(v);
        assert_int_equal(json_object_set_new(doc, keys[i], v), 0);
    }
    char *text = json_dumps(doc, 0);
    assert_non_null(text);
    json_decref(doc);
    int r = qmp_schema_load(text, strlen(text), out, err, errlen);
    free(text);
    return r;
}

static inline qmp_schema_t *st_load(const char *types, const char *commands)
{
    qmp_schema_t *s = NULL;
    char err[256];
    int r = st_try(types, commands, NULL, &s, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "test schema refused: %s\n", err);
    assert_int_equal(r, 0);
    return s;
}

/* Check args (JSON text) against command cmd's arguments: "" when they
 * pass, else the error text (in a static buffer). */
static inline const char *st_check(const qmp_schema_t *s, const char *cmd, const char *args)
{
    static char desc[512];
    const qs_command_t *c = qmp_schema_command(s, cmd);
    assert_non_null(c);
    json_error_t je;
    json_t *a = json_loads(args, JSON_DECODE_ANY, &je);
    assert_non_null(a);
    int r = qmp_schema_check(c->args, a, desc, sizeof(desc));
    json_decref(a);
    if (r == 0)
        desc[0] = '\0';
    else
        assert_int_equal(r, -EINVAL);
    return desc;
}

#define st_expect(s, cmd, args, want) assert_string_equal(st_check((s), (cmd), (args)), (want))

/* One check: args (JSON text) must give want ("" when they pass). */
typedef struct st_case {
    const char *args;
    const char *want;
} st_case_t;

#define ST_N(cases) (sizeof(cases) / sizeof((cases)[0]))

/* Load a test schema with types and commands (see st_load()) and check
 * every case against command cmd's arguments; a failing case is named on
 * stderr. */
static inline void st_expect_all(const char *types, const char *commands, const char *cmd,
                                 const st_case_t *cases, size_t n)
{
    qmp_schema_t *s = st_load(types, commands);
    for (size_t i = 0; i < n; i++) {
        const char *got = st_check(s, cmd, cases[i].args);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "case %zu: %s %s\n", i, cmd, cases[i].args);
        assert_string_equal(got, cases[i].want);
    }
    qmp_schema_free(s);
}

#endif
