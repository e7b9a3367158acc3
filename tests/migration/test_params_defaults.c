/* test_params_defaults.c — a new configuration answers query-migrate-
 * capabilities and query-migrate-parameters exactly as QEMU 7.2 does (the
 * recorded replies: every capability in enum order, every parameter with
 * its default), and the capability names agree with the schema. */
#include "params_test.h"

static void test_caps_as_recorded(void **state)
{
    json_t *fx = pt_fixture("query-migrate-capabilities");
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *got = vmig_mig_query_caps(&cfg);
    assert_non_null(got);
    /* Arrays compare in order: names, order and states all equal. */
    assert_true(json_equal(json_object_get(fx, "return"), got));
    json_decref(got);
    vmig_mig_config_close(&cfg);
    json_decref(fx);
}

static void test_params_as_recorded(void **state)
{
    json_t *fx = pt_fixture("query-migrate-parameters");
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *got = vmig_mig_query_params(&cfg);
    assert_non_null(got);
    if (!json_equal(json_object_get(fx, "return"), got)) {
        char *g = json_dumps(got, JSON_SORT_KEYS);
        fprintf(stderr, "got %s\n", g);
        free(g);
    }
    /* Same keys, same values (block-bitmap-mapping absent until set). */
    assert_true(json_equal(json_object_get(fx, "return"), got));
    assert_null(json_object_get(got, "block-bitmap-mapping"));
    json_decref(got);
    vmig_mig_config_close(&cfg);
    json_decref(fx);
}

/* The struct fields hold the same defaults as the query shows. */
static void test_struct_defaults(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    const vmig_mig_params_t *p = &cfg.params;
    assert_int_equal(p->max_bandwidth, 128u << 20);
    assert_int_equal(p->downtime_limit, 300);
    assert_int_equal(p->throttle_trigger_threshold, 50);
    assert_int_equal(p->cpu_throttle_initial, 20);
    assert_int_equal(p->cpu_throttle_increment, 10);
    assert_false(p->cpu_throttle_tailslow);
    assert_int_equal(p->max_cpu_throttle, 99);
    assert_int_equal(p->xbzrle_cache_size, 64u << 20);
    assert_int_equal(p->x_checkpoint_delay, 20000);
    assert_string_equal(p->tls_creds, "");
    assert_string_equal(p->tls_hostname, "");
    assert_string_equal(p->tls_authz, "");
    assert_int_equal(p->multifd_channels, 2);
    assert_int_equal(p->multifd_compression, VMIG_MULTIFD_COMPRESSION_NONE);
    assert_int_equal(p->multifd_zlib_level, 1);
    assert_int_equal(p->multifd_zstd_level, 1);
    assert_null(p->block_bitmap_mapping);
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++)
        assert_false(cfg.caps[c]);
    vmig_mig_config_close(&cfg);
    /* Closing twice is harmless. */
    vmig_mig_config_close(&cfg);
}

/* Names: the header's map, the schema's MigrationCapability enum and the
 * fixture list are the same list in the same order. */
static void test_cap_names(void **state)
{
    qmp_schema_t *s = pt_schema();
    const qs_type_t *t = qmp_schema_type(s, "MigrationCapability");
    assert_non_null(t);
    assert_int_equal(t->nvalues, VMIG_MIG_CAP__MAX);
    json_t *fx = pt_fixture("query-migrate-capabilities");
    json_t *list = json_object_get(fx, "return");
    assert_int_equal(json_array_size(list), VMIG_MIG_CAP__MAX);
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++) {
        const char *name = vmig_mig_cap_name((vmig_mig_cap_t)c);
        assert_non_null(name);
        assert_string_equal(name, t->values[c]);
        assert_string_equal(name,
                            json_string_value(json_object_get(json_array_get(list, c), "capability")));
        assert_int_equal(vmig_mig_cap_from_name(name), c);
    }
    assert_null(vmig_mig_cap_name(VMIG_MIG_CAP__MAX));
    assert_int_equal(vmig_mig_cap_from_name("nosuch"), -EINVAL);
    assert_int_equal(vmig_mig_cap_from_name(NULL), -EINVAL);
    json_decref(fx);
    qmp_schema_free(s);
}

/* Exactly the capabilities vmig implements are marked so (multifd
 * included). */
static void test_cap_implemented(void **state)
{
    static const vmig_mig_cap_t impl[] = {
        VMIG_MIG_CAP_XBZRLE,        VMIG_MIG_CAP_AUTO_CONVERGE, VMIG_MIG_CAP_COMPRESS,
        VMIG_MIG_CAP_EVENTS,        VMIG_MIG_CAP_RELEASE_RAM,
        VMIG_MIG_CAP_RETURN_PATH, VMIG_MIG_CAP_PAUSE_BEFORE_SWITCHOVER,
        VMIG_MIG_CAP_MULTIFD,
    };
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++) {
        bool want = false;
        for (size_t i = 0; i < sizeof(impl) / sizeof(impl[0]); i++)
            want |= impl[i] == (vmig_mig_cap_t)c;
        assert_int_equal(vmig_mig_cap_implemented((vmig_mig_cap_t)c), want);
    }
    assert_false(vmig_mig_cap_implemented(VMIG_MIG_CAP__MAX));
}

/* The query's keys are the schema's MigrationParameters members, and the
 * setter accepts every MigrateSetParameters member (same names). */
static void test_param_names(void **state)
{
    qmp_schema_t *s = pt_schema();
    const qs_type_t *mp = qmp_schema_type(s, "MigrationParameters");
    const qs_type_t *msp = qmp_schema_type(s, "MigrateSetParameters");
    assert_non_null(mp);
    assert_non_null(msp);
    assert_int_equal(mp->nmembers, msp->nmembers);
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *got = vmig_mig_query_params(&cfg);
    /* All but block-bitmap-mapping, which shows once set. */
    assert_int_equal(json_object_size(got), mp->nmembers - 1);
    for (size_t i = 0; i < mp->nmembers; i++) {
        assert_string_equal(mp->members[i].name, msp->members[i].name);
        if (strcmp(mp->members[i].name, "block-bitmap-mapping") != 0)
            assert_non_null(json_object_get(got, mp->members[i].name));
    }
    json_decref(got);
    vmig_mig_config_close(&cfg);
    qmp_schema_free(s);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_as_recorded),
        cmocka_unit_test(test_params_as_recorded),
        cmocka_unit_test(test_struct_defaults),
        cmocka_unit_test(test_cap_names),
        cmocka_unit_test(test_cap_implemented),
        cmocka_unit_test(test_param_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
