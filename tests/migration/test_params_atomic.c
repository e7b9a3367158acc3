/* test_params_atomic.c — both setters are all or nothing: a refused request
 * (every refused case of the recorded tables, and mixes of good and bad
 * members) leaves every capability and parameter as it was; an accepted one
 * (every accepted case of the tables too) changes exactly what it names. */
#include "params_test.h"

/* Every refused case of a table leaves the configuration untouched, every
 * accepted one changes exactly what it names (whatever reply the case
 * wants: test_params_caps and test_params_ranges check those). */
static void check_table(const char *fixture)
{
    qmp_schema_t *s = pt_schema();
    json_t *table = pt_fixture(fixture);
    size_t i, refused = 0, accepted = 0, bad = 0;
    json_t *c;
    json_array_foreach(table, i, c) {
        vmig_mig_config_t cfg;
        pt_setup(s, &cfg, c);
        json_t *before = pt_snapshot(&cfg);
        json_t *got = pt_run(s, &cfg, json_string_value(json_object_get(c, "command")),
                             json_object_get(c, "arguments"));
        if (json_object_get(got, "error"))
            refused++;
        else
            accepted++;
        json_t *after = pt_snapshot(&cfg);
        if (!pt_effect_ok(c, before, after, got))
            bad++;
        json_decref(after);
        json_decref(got);
        json_decref(before);
        vmig_mig_config_close(&cfg);
    }
    assert_int_equal(bad, 0);
    assert_true(refused > 20);
    assert_true(accepted > 10);
    json_decref(table);
    qmp_schema_free(s);
}

static void test_params_table(void **state)
{
    check_table("errors-migrate-set-parameters");
}

static void test_caps_table(void **state)
{
    check_table("errors-migrate-set-capabilities");
}

static int set_json(vmig_mig_config_t *cfg, bool caps, const char *json)
{
    json_t *args = json_loads(json, 0, NULL);
    assert_non_null(args);
    vmig_qmp_error_t err = { 0 };
    int r = caps ? vmig_mig_set_caps(cfg, args, false, &err) : vmig_mig_set_params(cfg, args, &err);
    json_decref(args);
    return r;
}

/* Good members next to a bad one are not applied either; strings and the
 * bitmap list included. */
static void test_mixed_requests(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    /* TLS strings set, so that a refused request that would change them
     * shows. */
    assert_int_equal(set_json(&cfg, false,
                              "{\"downtime-limit\": 1000, \"tls-creds\": \"tls0\","
                              " \"tls-hostname\": \"host\", \"tls-authz\": null}"), 0);
    json_t *before = pt_snapshot(&cfg);
    static const char *const bad[] = {
        "{\"downtime-limit\": 7, \"max-bandwidth\": 5, \"announce-step\": 0}",
        "{\"tls-creds\": \"\", \"block-bitmap-mapping\": [], \"compress-level\": 10}",
        "{\"cpu-throttle-initial\": 60, \"max-cpu-throttle\": 50}",
        "{\"announce-max\": 1, \"max-postcopy-bandwidth\": 3}",
        "{\"block-bitmap-mapping\": [], \"tls-hostname\": \"h\", \"block-incremental\": true}",
        /* Good TLS members next to an unimplemented parameter or a bad
         * range. */
        "{\"tls-creds\": null, \"tls-hostname\": \"h\", \"tls-authz\": \"a\","
        " \"x-checkpoint-delay\": 1}",
        "{\"tls-authz\": \"a\", \"max-postcopy-bandwidth\": 1}",
        "{\"tls-creds\": \"other\", \"announce-rounds\": 1001}",
        "{\"cpu-throttle-tailslow\": true, \"x-checkpoint-delay\": 1}",
        /* Good multifd members next to a bad one (vmig's level checks,
         * 7.2's channel check, an unimplemented parameter). */
        "{\"multifd-channels\": 8, \"multifd-compression\": \"zstd\", \"multifd-zstd-level\": 21}",
        "{\"multifd-compression\": \"zlib\", \"multifd-zlib-level\": 10, \"downtime-limit\": 5}",
        "{\"multifd-zlib-level\": 9, \"multifd-zstd-level\": 20, \"multifd-channels\": 0}",
        "{\"multifd-channels\": 4, \"block-incremental\": true}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set_json(&cfg, false, bad[i]), -EINVAL);
        json_t *after = pt_snapshot(&cfg);
        assert_true(json_equal(before, after));
        json_decref(after);
    }
    assert_null(cfg.params.block_bitmap_mapping);
    static const char *const bad_caps[] = {
        "{\"capabilities\": [{\"capability\": \"events\", \"state\": true},"
        " {\"capability\": \"validate-uuid\", \"state\": true}]}",
        "{\"capabilities\": [{\"capability\": \"auto-converge\", \"state\": true},"
        " {\"capability\": \"postcopy-ram\", \"state\": true},"
        " {\"capability\": \"x-ignore-shared\", \"state\": true}]}",
        "{\"capabilities\": [{\"capability\": \"return-path\", \"state\": true},"
        " {\"capability\": \"nosuch\", \"state\": true}]}",
        /* multifd (implemented) next to one vmig refuses, or with compress. */
        "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": true},"
        " {\"capability\": \"postcopy-ram\", \"state\": true}]}",
        "{\"capabilities\": [{\"capability\": \"events\", \"state\": true},"
        " {\"capability\": \"multifd\", \"state\": true},"
        " {\"capability\": \"compress\", \"state\": true}]}",
    };
    for (size_t i = 0; i < sizeof(bad_caps) / sizeof(bad_caps[0]); i++) {
        assert_int_equal(set_json(&cfg, true, bad_caps[i]), -EINVAL);
        json_t *after = pt_snapshot(&cfg);
        assert_true(json_equal(before, after));
        json_decref(after);
    }
    json_decref(before);
    vmig_mig_config_close(&cfg);
}

/* An accepted request changes what it names and nothing else. */
static void test_exact_change(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *want = pt_snapshot(&cfg);
    assert_int_equal(set_json(&cfg, false,
                              "{\"downtime-limit\": 1000, \"announce-rounds\": 7,"
                              " \"tls-hostname\": null, \"block-bitmap-mapping\": []}"), 0);
    json_t *p = json_object_get(want, "params");
    json_object_set_new(p, "downtime-limit", json_integer(1000));
    json_object_set_new(p, "announce-rounds", json_integer(7));
    json_object_set_new(p, "block-bitmap-mapping", json_array());
    assert_int_equal(set_json(&cfg, false,
                              "{\"tls-creds\": \"tls0\", \"tls-authz\": \"authz0\"}"), 0);
    json_object_set_new(p, "tls-creds", json_string("tls0"));
    json_object_set_new(p, "tls-authz", json_string("authz0"));
    assert_int_equal(set_json(&cfg, false,
                              "{\"multifd-channels\": 8, \"multifd-compression\": \"zstd\","
                              " \"multifd-zlib-level\": 9, \"multifd-zstd-level\": 20}"), 0);
    json_object_set_new(p, "multifd-channels", json_integer(8));
    json_object_set_new(p, "multifd-compression", json_string("zstd"));
    json_object_set_new(p, "multifd-zlib-level", json_integer(9));
    json_object_set_new(p, "multifd-zstd-level", json_integer(20));
    assert_int_equal(set_json(&cfg, true,
                              "{\"capabilities\": [{\"capability\": \"events\", \"state\": true},"
                              " {\"capability\": \"return-path\", \"state\": true},"
                              " {\"capability\": \"multifd\", \"state\": true}]}"), 0);
    json_t *cl = json_object_get(want, "caps");
    json_object_set_new(json_array_get(cl, VMIG_MIG_CAP_EVENTS), "state", json_true());
    json_object_set_new(json_array_get(cl, VMIG_MIG_CAP_RETURN_PATH), "state", json_true());
    json_object_set_new(json_array_get(cl, VMIG_MIG_CAP_MULTIFD), "state", json_true());
    json_t *got = pt_snapshot(&cfg);
    assert_true(json_equal(want, got));
    /* The list is stored as a copy: the request's own goes away. */
    assert_true(json_is_array(cfg.params.block_bitmap_mapping));
    json_decref(got);
    json_decref(want);
    vmig_mig_config_close(&cfg);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_table),
        cmocka_unit_test(test_caps_table),
        cmocka_unit_test(test_mixed_requests),
        cmocka_unit_test(test_exact_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
