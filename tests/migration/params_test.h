/* params_test.h — what the capability/parameter tests share: QEMU 7.2's
 * fixtures (tests/migration/fixtures/qemu-7.2), the cases where vmig's
 * expected reply supersedes the one a recorded table names (pt_overrides),
 * running a request the way the monitor does (schema check, then
 * mig_params.c) to get its reply, and checking every case of a recorded
 * table against it (reply, then what the queries show). */
#ifndef PARAMS_TEST_H
#define PARAMS_TEST_H

#include "vmig_test.h"

#include <jansson.h>

#include "migration/mig_params.h"
#include "qmp/qmp_schema.h"

#ifndef VMIG_MIG_FIXTURES
#error "VMIG_MIG_FIXTURES (the fixture directory) is set by tests/migration/migration.cmake"
#endif

/* One fixture file, parsed (fails the test when missing). */
static inline json_t *pt_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.json", VMIG_MIG_FIXTURES, name);
    json_error_t je;
    json_t *v = json_load_file(path, JSON_DECODE_ANY, &je);
    if (!v)
        fprintf(stderr, "cannot read %s: %s (line %d)\n", path, je.text, je.line);
    assert_non_null(v);
    return v;
}

/* The compiled-in schema. */
static inline qmp_schema_t *pt_schema(void)
{
    qmp_schema_t *s = NULL;
    char err[256];
    int r = qmp_schema_load((const char *)qmp_schema_text, qmp_schema_text_len, &s, err,
                            sizeof(err));
    if (r < 0)
        fprintf(stderr, "schema refused: %s\n", err);
    assert_int_equal(r, 0);
    return s;
}

static inline json_t *pt_error(const char *cls, const char *desc)
{
    json_t *e = json_pack("{s:{s:s, s:s}}", "error", "class", cls, "desc", desc);
    assert_non_null(e);
    return e;
}

/* The reply the monitor gives to command (migrate-set-parameters or
 * migrate-set-capabilities) with args on cfg: {"return": {}} or
 * {"error": {...}} (new reference). The busy check is not the module's. */
static inline json_t *pt_run(const qmp_schema_t *s, vmig_mig_config_t *cfg, const char *command,
                             json_t *args)
{
    const qs_command_t *cmd = qmp_schema_command(s, command);
    assert_non_null(cmd);
    char desc[512];
    if (qmp_schema_check(cmd->args, args, desc, sizeof(desc)) < 0)
        return pt_error("GenericError", desc);
    json_t *empty = args ? NULL : json_object();
    vmig_qmp_error_t err = { 0 };
    int r;
    if (strcmp(command, "migrate-set-parameters") == 0)
        r = vmig_mig_set_params(cfg, args ? args : empty, &err);
    else if (strcmp(command, "migrate-set-capabilities") == 0)
        r = vmig_mig_set_caps(cfg, args ? args : empty, false, &err);
    else
        fail_msg("pt_run: %s is not a mig_params command", command);
    json_decref(empty);
    if (r < 0) {
        assert_int_equal(r, -EINVAL);
        return pt_error(vmig_qmp_error_class_name(err.cls), err.desc);
    }
    return json_pack("{s:{}}", "return");
}

/* Put a state vmig cannot reach over QMP into cfg by writing it (cases with
 * "vmig_setup": "direct"): capabilities as given, and the parameters those
 * cases use. */
static inline void pt_force(vmig_mig_config_t *cfg, const char *command, json_t *args)
{
    if (strcmp(command, "migrate-set-capabilities") == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(args, "capabilities"), i, e) {
            int c = vmig_mig_cap_from_name(json_string_value(json_object_get(e, "capability")));
            assert_true(c >= 0);
            cfg->caps[c] = json_is_true(json_object_get(e, "state"));
        }
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v) {
        if (strcmp(key, "multifd-compression") == 0) {
            static const char *const names[] = { "none", "zlib", "zstd" };
            int k = 0;
            while (k < 3 && strcmp(names[k], json_string_value(v)) != 0)
                k++;
            assert_true(k < 3);
            cfg->params.multifd_compression = (vmig_multifd_compression_t)k;
        } else if (strcmp(key, "tls-creds") == 0) {
            free(cfg->params.tls_creds);
            cfg->params.tls_creds = strdup(json_string_value(v));
            assert_non_null(cfg->params.tls_creds);
        } else {
            fail_msg("pt_force: parameter %s not handled", key);
        }
    }
}

/* A fresh configuration with a case's setup applied. */
static inline void pt_setup(const qmp_schema_t *s, vmig_mig_config_t *cfg, json_t *c)
{
    assert_int_equal(vmig_mig_config_init(cfg), 0);
    bool direct = json_object_get(c, "vmig_setup") != NULL;
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(c, "setup"), i, step) {
        const char *cmd = json_string_value(json_array_get(step, 0));
        json_t *args = json_array_get(step, 1);
        if (direct) {
            pt_force(cfg, cmd, args);
            continue;
        }
        json_t *r = pt_run(s, cfg, cmd, args);
        if (!json_object_get(r, "return"))
            fail_msg("setup %s of case \"%s\" failed: %s", cmd,
                     json_string_value(json_object_get(c, "name")), json_dumps(r, 0));
        json_decref(r);
    }
}

/* Cases of the recorded tables whose "vmig" member (what vmig must reply)
 * no longer holds. The fixture files stay as recorded: QEMU 7.2's replies,
 * next to the "vmig" expectations record-qemu-migration-fixtures.py wrote
 * when vmig did not implement multifd and TLS yet. An entry here supersedes
 * the "vmig" of the case with that command and name; its JSON is a "vmig"
 * value ("qemu", "error" or a literal reply). Three reasons:
 * - multifd implemented: the case expected "Capability 'multifd' / Parameter
 *   'multifd-...' is not supported by vmig yet"; vmig now gives QEMU's
 *   reply, or names the next capability it does not implement.
 * - TLS implemented: the case expected "Parameter 'tls-...' is not
 *   supported by vmig yet"; vmig now accepts and stores the value as 7.2
 *   does (pt_check_table checks the query shows it).
 * - documented deviation from QEMU 7.2: 7.2 neither range-checks nor stores
 *   multifd-zlib-level and multifd-zstd-level (any uint8 is accepted, the
 *   query still shows 1, level 1 is used); vmig checks them as later QEMU
 *   does (0..9, 0..20, with later QEMU's texts), stores and uses them (see
 *   the top of src/migration/mig_params.c). Where 7.2 accepted a level
 *   past those bounds, vmig refuses it.
 * Every entry must name a case of its table (pt_check_table fails
 * otherwise). test_qmp_shapes.py holds the same list (VMIG_OVERRIDES): keep
 * the two in step. */
typedef struct pt_override {
    const char *command; /* the table's command */
    const char *name;    /* the case's "name" */
    const char *vmig;    /* JSON: what vmig must reply, as a case's "vmig" */
} pt_override_t;

#define PT_SC "migrate-set-capabilities"
#define PT_SP "migrate-set-parameters"
#define PT_GENERIC(desc) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

static const pt_override_t pt_overrides[] = {
    /* multifd implemented: accepted, as by 7.2 (the resulting state is
     * checked through the queries by pt_check_table). */
    { PT_SC, "on multifd", "\"qemu\"" },
    { PT_SC, "duplicate: compress cancelled in the same request", "\"qemu\"" },
    { PT_SP, "unsupported multifd-channels 4", "\"qemu\"" },
    { PT_SP, "unsupported multifd-compression \"zstd\"", "\"qemu\"" },
    /* Accepted by both; vmig's query then shows 20, 7.2's shows 1. */
    { PT_SP, "unsupported multifd-zstd-level 20", "\"qemu\"" },
    /* Both members implemented now (the order of vmig's refusals among
     * parameters it still does not implement: test_params_unsupported). */
    { PT_SP, "unsupported in schema order", "\"qemu\"" },
    /* multifd implemented: zero-copy-send is the capability vmig refuses. */
    { PT_SC, "zero-copy-send with multifd",
      PT_GENERIC("Capability 'zero-copy-send' is not supported by vmig yet") },
    { PT_SC, "zero-copy-send, compress turned off in the same request",
      PT_GENERIC("Capability 'zero-copy-send' is not supported by vmig yet") },
    /* TLS implemented: accepted and stored, as by 7.2. */
    { PT_SP, "unsupported tls-creds \"tls0\"", "\"qemu\"" },
    { PT_SP, "unsupported tls-hostname \"h\"", "\"qemu\"" },
    { PT_SP, "unsupported tls-authz \"a\"", "\"qemu\"" },
    /* Documented deviation: 7.2 accepts (and ignores) these levels. */
    { PT_SP, "unsupported multifd-zlib-level 10",
      PT_GENERIC("Parameter 'multifd_zlib_level' expects a value between 0 and 9") },
    { PT_SP, "unsupported multifd-zstd-level 21",
      PT_GENERIC("Parameter 'multifd_zstd_level' expects a value between 0 and 20") },
};
#define PT_NOVERRIDES (sizeof(pt_overrides) / sizeof(pt_overrides[0]))

/* The entry of pt_overrides for case c, or -1. */
static inline int pt_override_of(json_t *c)
{
    const char *cmd = json_string_value(json_object_get(c, "command"));
    const char *name = json_string_value(json_object_get(c, "name"));
    for (size_t i = 0; cmd && name && i < PT_NOVERRIDES; i++)
        if (strcmp(pt_overrides[i].command, cmd) == 0 && strcmp(pt_overrides[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The reply vmig must give to a case (new reference), or NULL when any
 * error will do ("vmig": "error"). */
static inline json_t *pt_expected(json_t *c)
{
    int o = pt_override_of(c);
    json_t *v;
    if (o >= 0) {
        v = json_loads(pt_overrides[o].vmig, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
    } else {
        v = json_incref(json_object_get(c, "vmig"));
    }
    json_t *want = NULL;
    if (json_is_string(v) && strcmp(json_string_value(v), "qemu") == 0) {
        want = json_incref(json_object_get(c, "qemu"));
    } else if (!(json_is_string(v) && strcmp(json_string_value(v), "error") == 0)) {
        assert_true(json_is_object(v));
        want = json_incref(v);
    }
    json_decref(v);
    return want;
}

/* Whether got is what case c wants; prints both when not. */
static inline bool pt_matches(json_t *c, json_t *got)
{
    json_t *want = pt_expected(c);
    bool ok = want ? json_equal(want, got) : json_object_get(got, "error") != NULL;
    if (!ok) {
        char *w = want ? json_dumps(want, JSON_SORT_KEYS) : strdup("any error");
        char *g = json_dumps(got, JSON_SORT_KEYS);
        char *a = json_dumps(json_object_get(c, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "case \"%s\" %s %s\n  want %s\n  got  %s\n",
                json_string_value(json_object_get(c, "name")),
                json_string_value(json_object_get(c, "command")), a ? a : "null", w, g);
        free(w);
        free(g);
        free(a);
    }
    json_decref(want);
    return ok;
}

/* The configuration as the queries show it: {"caps": [...], "params": {...}}. */
static inline json_t *pt_snapshot(const vmig_mig_config_t *cfg)
{
    json_t *v = json_pack("{s:o, s:o}", "caps", vmig_mig_query_caps(cfg), "params",
                          vmig_mig_query_params(cfg));
    assert_non_null(v);
    return v;
}

/* What pt_snapshot must show once command (migrate-set-capabilities or
 * migrate-set-parameters) with args was accepted on a configuration that
 * showed before: exactly the request applied (the last state given for a
 * capability wins; a null string shows as "", an integer past INT64_MAX
 * such as -1 for a size as INT64_MAX). New reference. */
static inline json_t *pt_applied(json_t *before, const char *command, json_t *args)
{
    json_t *want = json_deep_copy(before);
    assert_non_null(want);
    size_t i;
    json_t *e;
    if (strcmp(command, "migrate-set-capabilities") == 0) {
        json_t *list = json_object_get(want, "caps");
        json_array_foreach(json_object_get(args, "capabilities"), i, e) {
            int c = vmig_mig_cap_from_name(json_string_value(json_object_get(e, "capability")));
            assert_true(c >= 0);
            json_object_set_new(json_array_get(list, (size_t)c), "state",
                                json_boolean(json_is_true(json_object_get(e, "state"))));
        }
        return want;
    }
    assert_string_equal(command, "migrate-set-parameters");
    json_t *p = json_object_get(want, "params");
    const char *key;
    json_object_foreach(args, key, e) {
        json_t *w;
        if (json_is_null(e))
            w = json_string("");
        else if (json_is_integer(e) && json_integer_value(e) < 0)
            w = json_integer(INT64_MAX);
        else
            w = json_deep_copy(e);
        json_object_set_new(p, key, w);
    }
    return want;
}

/* after, the configuration once command with args was answered got on one
 * that showed before: unchanged when refused, exactly the request applied
 * when accepted. Prints what differs; whether it holds. */
static inline bool pt_effect_ok(json_t *c, json_t *before, json_t *after, json_t *got)
{
    const char *command = json_string_value(json_object_get(c, "command"));
    json_t *want = json_object_get(got, "return")
                       ? pt_applied(before, command, json_object_get(c, "arguments"))
                       : json_incref(before);
    bool ok = json_equal(want, after);
    if (!ok) {
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        char *a = json_dumps(after, JSON_SORT_KEYS | JSON_COMPACT);
        fprintf(stderr, "case \"%s\" (%s): the queries show\n  %s\n  want\n  %s\n",
                json_string_value(json_object_get(c, "name")),
                json_object_get(got, "return") ? "accepted" : "refused", a, w);
        free(w);
        free(a);
    }
    json_decref(want);
    return ok;
}

/* Every case of a recorded table (fixture errors-COMMAND), each on a fresh
 * configuration with its setup: the reply is the one the case wants
 * (pt_matches prints each one that is not), and the queries then show the
 * request applied when it was accepted, nothing changed when it was
 * refused. At least min_cases cases; every entry of pt_overrides for the
 * table's command names exactly one of them. */
static inline void pt_check_table(const char *fixture, size_t min_cases)
{
    qmp_schema_t *s = pt_schema();
    json_t *table = pt_fixture(fixture);
    size_t i, bad = 0;
    unsigned used[PT_NOVERRIDES] = { 0 };
    json_t *c;
    assert_true(json_array_size(table) > min_cases);
    const char *command = json_string_value(json_object_get(json_array_get(table, 0), "command"));
    assert_non_null(command);
    json_array_foreach(table, i, c) {
        int o = pt_override_of(c);
        if (o >= 0)
            used[o]++;
        vmig_mig_config_t cfg;
        pt_setup(s, &cfg, c);
        json_t *before = pt_snapshot(&cfg);
        json_t *got = pt_run(s, &cfg, json_string_value(json_object_get(c, "command")),
                             json_object_get(c, "arguments"));
        json_t *after = pt_snapshot(&cfg);
        if (!pt_matches(c, got) || !pt_effect_ok(c, before, after, got))
            bad++;
        json_decref(after);
        json_decref(before);
        json_decref(got);
        vmig_mig_config_close(&cfg);
    }
    for (size_t k = 0; k < PT_NOVERRIDES; k++) {
        if (strcmp(pt_overrides[k].command, command) == 0 && used[k] != 1) {
            fprintf(stderr, "override \"%s\" matches %u cases of %s\n", pt_overrides[k].name,
                    used[k], fixture);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    json_decref(table);
    qmp_schema_free(s);
}

#endif
