/* test_params_unsupported.c — what vmig does not implement yet: every
 * capability whose map column is 0 is refused when turned on ("Capability
 * 'NAME' is not supported by vmig yet") and accepted when turned off, every
 * implemented one (multifd included) is accepted and shown; every parameter
 * vmig does not implement accepts only its default ("Parameter 'NAME' is
 * not supported by vmig yet"), every other one (the multifd ones included)
 * takes another value and shows it; the first unimplemented parameter in
 * schema order is named, after the range checks; announce-* are stored;
 * tls-* (implemented) are stored and shown, and take null as "";
 * block-bitmap-mapping takes only the empty list, then shows it. */
#include "params_test.h"

static json_t *run(vmig_mig_config_t *cfg, const char *command, json_t *args /* stolen */)
{
    qmp_schema_t *s = pt_schema();
    json_t *r = pt_run(s, cfg, command, args);
    json_decref(args);
    qmp_schema_free(s);
    return r;
}

static void expect_unsupported(json_t *reply, const char *what, const char *name)
{
    char want[256];
    snprintf(want, sizeof(want), "%s '%s' is not supported by vmig yet", what, name);
    json_t *e = json_object_get(reply, "error");
    if (!e)
        fprintf(stderr, "%s %s: accepted\n", what, name);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "class")), "GenericError");
    assert_string_equal(json_string_value(json_object_get(e, "desc")), want);
}

static void test_caps(void **state)
{
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++) {
        const char *name = vmig_mig_cap_name((vmig_mig_cap_t)c);
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        json_t *r = run(&cfg, "migrate-set-capabilities",
                        json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", name,
                                  "state", 0));
        assert_non_null(json_object_get(r, "return"));
        json_decref(r);
        r = run(&cfg, "migrate-set-capabilities",
                json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", name, "state", 1));
        /* zero-copy-send and postcopy-preempt alone fail 7.2's own checks
         * first (test_params_caps covers those texts). */
        if (c == VMIG_MIG_CAP_ZERO_COPY_SEND || c == VMIG_MIG_CAP_POSTCOPY_PREEMPT) {
            assert_non_null(json_object_get(r, "error"));
            assert_false(cfg.caps[c]);
        } else if (vmig_mig_cap_implemented((vmig_mig_cap_t)c)) {
            assert_non_null(json_object_get(r, "return"));
            assert_true(cfg.caps[c]);
        } else {
            expect_unsupported(r, "Capability", name);
            assert_false(cfg.caps[c]);
        }
        if (vmig_mig_cap_implemented((vmig_mig_cap_t)c)) {
            /* The query shows it on. */
            json_t *q = vmig_mig_query_caps(&cfg);
            json_t *e = json_array_get(q, (size_t)c);
            assert_string_equal(json_string_value(json_object_get(e, "capability")), name);
            assert_true(json_is_true(json_object_get(e, "state")));
            json_decref(q);
        }
        json_decref(r);
        vmig_mig_config_close(&cfg);
    }
    /* With multifd on (reachable now that vmig implements it),
     * zero-copy-send passes 7.2's checks and meets vmig's refusal. */
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *r = run(&cfg, "migrate-set-capabilities",
                    json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", "multifd", "state",
                              1));
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
    r = run(&cfg, "migrate-set-capabilities",
            json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", "zero-copy-send", "state",
                      1));
    expect_unsupported(r, "Capability", "zero-copy-send");
    assert_false(cfg.caps[VMIG_MIG_CAP_ZERO_COPY_SEND]);
    assert_true(cfg.caps[VMIG_MIG_CAP_MULTIFD]);
    json_decref(r);
    vmig_mig_config_close(&cfg);
}

/* The parameters vmig implements (stored and used, or stored). */
static bool implemented(const char *name)
{
    static const char *const impl[] = {
        "max-bandwidth", "downtime-limit", "throttle-trigger-threshold",
        "cpu-throttle-initial", "cpu-throttle-increment", "cpu-throttle-tailslow",
        "max-cpu-throttle", "announce-initial", "announce-max", "announce-rounds",
        "announce-step", "compress-level", "compress-threads", "compress-wait-thread",
        "decompress-threads", "xbzrle-cache-size", "multifd-channels", "multifd-compression",
        "multifd-zlib-level", "multifd-zstd-level", "tls-creds", "tls-hostname", "tls-authz",
    };
    for (size_t i = 0; i < sizeof(impl) / sizeof(impl[0]); i++)
        if (strcmp(impl[i], name) == 0)
            return true;
    return false;
}

/* A valid value other than the default, per parameter (7.2 accepts each). */
static json_t *other_value(const char *name)
{
    static const struct {
        const char *name;
        const char *json;
    } v[] = {
        { "announce-initial", "51" }, { "announce-max", "551" }, { "announce-rounds", "6" },
        { "announce-step", "101" }, { "compress-level", "2" }, { "compress-threads", "7" },
        { "compress-wait-thread", "false" }, { "decompress-threads", "3" },
        { "throttle-trigger-threshold", "51" }, { "cpu-throttle-initial", "21" },
        { "cpu-throttle-increment", "11" }, { "cpu-throttle-tailslow", "true" },
        { "tls-creds", "\"tls0\"" }, { "tls-hostname", "\"host\"" }, { "tls-authz", "\"authz0\"" },
        { "max-bandwidth", "1048576" }, { "downtime-limit", "301" },
        { "x-checkpoint-delay", "20001" }, { "block-incremental", "true" },
        { "multifd-channels", "3" }, { "xbzrle-cache-size", "33554432" },
        { "max-postcopy-bandwidth", "1" }, { "max-cpu-throttle", "98" },
        { "multifd-compression", "\"zlib\"" }, { "multifd-zlib-level", "2" },
        { "multifd-zstd-level", "2" },
        { "block-bitmap-mapping",
          "[{\"node-name\": \"n\", \"alias\": \"a\", \"bitmaps\": []}]" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (strcmp(v[i].name, name) == 0)
            return json_loads(v[i].json, JSON_DECODE_ANY, NULL);
    fail_msg("no other value for %s", name);
    return NULL;
}

static void test_params(void **state)
{
    qmp_schema_t *s = pt_schema();
    const qs_type_t *t = qmp_schema_type(s, "MigrateSetParameters");
    assert_non_null(t);
    json_t *defaults = pt_fixture("query-migrate-parameters");
    for (size_t i = 0; i < t->nmembers; i++) {
        const char *name = t->members[i].name;
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        /* The default is always accepted (the list: empty). */
        json_t *def = json_object_get(json_object_get(defaults, "return"), name);
        json_t *r = run(&cfg, "migrate-set-parameters",
                        json_pack("{s:o}", name, def ? json_incref(def) : json_array()));
        assert_non_null(json_object_get(r, "return"));
        json_decref(r);
        json_t *v = other_value(name);
        assert_non_null(v);
        r = run(&cfg, "migrate-set-parameters", json_pack("{s:O}", name, v));
        if (implemented(name)) {
            if (!json_object_get(r, "return"))
                fprintf(stderr, "%s refused\n", name);
            assert_non_null(json_object_get(r, "return"));
            json_t *q = vmig_mig_query_params(&cfg);
            assert_true(json_equal(json_object_get(q, name), v));
            json_decref(q);
        } else {
            expect_unsupported(r, "Parameter", name);
        }
        json_decref(r);
        json_decref(v);
        vmig_mig_config_close(&cfg);
    }
    json_decref(defaults);
    qmp_schema_free(s);
}

/* Several refusals in one request: the range checks (7.2's, and vmig's
 * multifd levels) come first, then the first parameter vmig does not
 * implement in schema order, whatever the request's order. Nothing is
 * applied. */
static void test_refusal_order(void **state)
{
    static const struct {
        const char *args;
        const char *text;
    } cases[] = {
        /* TLS members (implemented) next to unimplemented ones: the
         * first unimplemented one in schema order is named, nothing of the
         * TLS members is applied. */
        { "{\"max-postcopy-bandwidth\": 1, \"tls-creds\": \"tls0\", \"block-incremental\": true}",
          "Parameter 'block-incremental' is not supported by vmig yet" },
        { "{\"tls-authz\": \"a\", \"max-postcopy-bandwidth\": 1, \"tls-hostname\": \"h\"}",
          "Parameter 'max-postcopy-bandwidth' is not supported by vmig yet" },
        { "{\"block-incremental\": true, \"x-checkpoint-delay\": 1}",
          "Parameter 'x-checkpoint-delay' is not supported by vmig yet" },
        { "{\"max-postcopy-bandwidth\": 1, \"multifd-channels\": 4, \"block-incremental\": true}",
          "Parameter 'block-incremental' is not supported by vmig yet" },
        /* Range checks before vmig's refusals. */
        { "{\"max-postcopy-bandwidth\": 1, \"tls-hostname\": \"h\", \"multifd-zlib-level\": 10}",
          "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
        { "{\"x-checkpoint-delay\": 1, \"multifd-zstd-level\": 21}",
          "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
        { "{\"block-incremental\": true, \"tls-authz\": \"a\", \"compress-level\": 10,"
          " \"multifd-compression\": \"zlib\"}",
          "Parameter 'compress_level' expects a value between 0 and 9" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        json_t *before = pt_snapshot(&cfg);
        json_t *r = run(&cfg, "migrate-set-parameters", json_loads(cases[i].args, 0, NULL));
        json_t *e = json_object_get(r, "error");
        if (!e)
            fprintf(stderr, "%s: accepted\n", cases[i].args);
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "class")), "GenericError");
        assert_string_equal(json_string_value(json_object_get(e, "desc")), cases[i].text);
        json_t *after = pt_snapshot(&cfg);
        assert_true(json_equal(before, after));
        json_decref(after);
        json_decref(before);
        json_decref(r);
        vmig_mig_config_close(&cfg);
    }
}

static void test_strings_and_list(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *q = vmig_mig_query_params(&cfg);
    assert_null(json_object_get(q, "block-bitmap-mapping"));
    json_decref(q);
    json_t *r = run(&cfg, "migrate-set-parameters",
                    json_pack("{s:n, s:n, s:s, s:[]}", "tls-creds", "tls-hostname", "tls-authz",
                              "", "block-bitmap-mapping"));
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
    q = vmig_mig_query_params(&cfg);
    assert_string_equal(json_string_value(json_object_get(q, "tls-creds")), "");
    assert_string_equal(json_string_value(json_object_get(q, "tls-hostname")), "");
    assert_string_equal(json_string_value(json_object_get(q, "tls-authz")), "");
    /* Shown once set, as 7.2 does: an empty list. */
    json_t *l = json_object_get(q, "block-bitmap-mapping");
    assert_true(json_is_array(l));
    assert_int_equal(json_array_size(l), 0);
    json_decref(q);
    /* TLS strings (implemented): stored and shown as given, then null
     * and "" take them back to "". */
    r = run(&cfg, "migrate-set-parameters",
            json_pack("{s:s, s:s, s:s}", "tls-creds", "tls0", "tls-hostname", "host.example",
                      "tls-authz", "authz0"));
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
    q = vmig_mig_query_params(&cfg);
    assert_string_equal(json_string_value(json_object_get(q, "tls-creds")), "tls0");
    assert_string_equal(json_string_value(json_object_get(q, "tls-hostname")), "host.example");
    assert_string_equal(json_string_value(json_object_get(q, "tls-authz")), "authz0");
    json_decref(q);
    r = run(&cfg, "migrate-set-parameters",
            json_pack("{s:n, s:s, s:n}", "tls-creds", "tls-hostname", "", "tls-authz"));
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
    q = vmig_mig_query_params(&cfg);
    assert_string_equal(json_string_value(json_object_get(q, "tls-creds")), "");
    assert_string_equal(json_string_value(json_object_get(q, "tls-hostname")), "");
    assert_string_equal(json_string_value(json_object_get(q, "tls-authz")), "");
    json_decref(q);
    /* Setting it again keeps one copy (nothing leaks under ASan). */
    r = run(&cfg, "migrate-set-parameters", json_pack("{s:[]}", "block-bitmap-mapping"));
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
    vmig_mig_config_close(&cfg);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_refusal_order),
        cmocka_unit_test(test_strings_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
