/* params_test.h — what the capability/parameter tests share: QEMU 7.2's
 * fixtures (tests/migration/fixtures/qemu-7.2), running a request the way
 * the monitor does (schema check, then mig_params.c) to get its reply, and
 * checking every case of a recorded table against it. */
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

/* The reply vmig must give to a case (new reference), or NULL when any
 * error will do ("vmig": "error"). */
static inline json_t *pt_expected(json_t *c)
{
    json_t *v = json_object_get(c, "vmig");
    if (json_is_string(v) && strcmp(json_string_value(v), "qemu") == 0)
        return json_incref(json_object_get(c, "qemu"));
    if (json_is_string(v) && strcmp(json_string_value(v), "error") == 0)
        return NULL;
    assert_true(json_is_object(v));
    return json_incref(v);
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

/* Every case of a recorded table (fixture errors-COMMAND), each on a fresh
 * configuration with its setup: the reply is the one the case wants
 * (pt_matches prints each one that is not). At least min_cases cases. */
static inline void pt_check_table(const char *fixture, size_t min_cases)
{
    qmp_schema_t *s = pt_schema();
    json_t *table = pt_fixture(fixture);
    size_t i, bad = 0;
    json_t *c;
    assert_true(json_array_size(table) > min_cases);
    json_array_foreach(table, i, c) {
        vmig_mig_config_t cfg;
        pt_setup(s, &cfg, c);
        json_t *got = pt_run(s, &cfg, json_string_value(json_object_get(c, "command")),
                             json_object_get(c, "arguments"));
        if (!pt_matches(c, got))
            bad++;
        json_decref(got);
        vmig_mig_config_close(&cfg);
    }
    assert_int_equal(bad, 0);
    json_decref(table);
    qmp_schema_free(s);
}

/* The configuration as the queries show it: {"caps": [...], "params": {...}}. */
static inline json_t *pt_snapshot(const vmig_mig_config_t *cfg)
{
    json_t *v = json_pack("{s:o, s:o}", "caps", vmig_mig_query_caps(cfg), "params",
                          vmig_mig_query_params(cfg));
    assert_non_null(v);
    return v;
}

#endif
