/* test_params_ranges.c — migrate-set-parameters' checks: every case of the
 * recorded table (errors-migrate-set-parameters.json: range checks and
 * their texts, type checks, the order of the checks, checks on the full
 * resulting set) gives QEMU 7.2's reply, or vmig's where the table or
 * pt_overrides says so (multifd-zlib-level above 9 and multifd-zstd-level
 * above 20: vmig's documented deviation from 7.2, which accepts and ignores
 * them), and the query shows what was accepted; the bounds hold through the
 * C API too, where no schema check runs. */
#include "params_test.h"

static void test_recorded_table(void **state)
{
    pt_check_table("errors-migrate-set-parameters", 50);
}

/* Each bound of an implemented parameter: the last good value is accepted
 * and shown, the first bad one refused with 7.2's text (no schema check:
 * as the C API calls it). */
typedef struct bound {
    const char *name;
    long long good, bad;
    const char *text;
} bound_t;

static const bound_t bounds[] = {
    { "throttle-trigger-threshold", 1, 0,
      "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100" },
    { "throttle-trigger-threshold", 100, 101,
      "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100" },
    { "cpu-throttle-initial", 1, 0,
      "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99" },
    { "cpu-throttle-initial", 99, 100,
      "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99" },
    { "cpu-throttle-increment", 1, 0,
      "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99" },
    { "cpu-throttle-increment", 99, 100,
      "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99" },
    { "downtime-limit", 2000000, 2000001,
      "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms" },
    { "max-cpu-throttle", 20, 19,
      "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99" },
    { "max-cpu-throttle", 99, 100,
      "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99" },
    { "announce-initial", 100000, 100001,
      "Parameter 'announce_initial' expects a value between 0 and 100000" },
    { "announce-max", 100000, 100001,
      "Parameter 'announce_max' expects a value between 0 and 100000" },
    { "announce-rounds", 1000, 1001,
      "Parameter 'announce_rounds' expects a value between 0 and 1000" },
    { "announce-step", 1, 0, "Parameter 'announce_step' expects a value between 0 and 10000" },
    { "announce-step", 10000, 10001,
      "Parameter 'announce_step' expects a value between 0 and 10000" },
    { "multifd-channels", 1, 0, "Parameter 'multifd_channels' expects a value between 1 and 255" },
    /* Not checked by 7.2 (it accepts and ignores any uint8): vmig checks
     * them as later QEMU does, with its texts. */
    { "multifd-zlib-level", 9, 10,
      "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
    { "multifd-zstd-level", 20, 21,
      "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
    { "multifd-zlib-level", 0, 255,
      "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
    { "multifd-zstd-level", 0, 255,
      "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
    /* Past a uint8: the schema's text, also without the schema. */
    { "cpu-throttle-initial", 99, 256, "Parameter 'cpu-throttle-initial' expects uint8_t" },
    { "max-cpu-throttle", 99, -1, "Parameter 'max-cpu-throttle' expects uint8_t" },
    { "multifd-channels", 255, 256, "Parameter 'multifd-channels' expects uint8_t" },
    { "multifd-zstd-level", 20, 256, "Parameter 'multifd-zstd-level' expects uint8_t" },
};

static int set_one(vmig_mig_config_t *cfg, const char *name, long long v, vmig_qmp_error_t *err)
{
    json_t *args = json_pack("{s:I}", name, (json_int_t)v);
    assert_non_null(args);
    int r = vmig_mig_set_params(cfg, args, err);
    json_decref(args);
    return r;
}

static void test_bounds(void **state)
{
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        const bound_t *b = &bounds[i];
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        vmig_qmp_error_t err = { 0 };
        assert_int_equal(set_one(&cfg, b->name, b->good, &err), 0);
        json_t *q = vmig_mig_query_params(&cfg);
        assert_int_equal(json_integer_value(json_object_get(q, b->name)), b->good);
        json_decref(q);
        assert_int_equal(set_one(&cfg, b->name, b->bad, &err), -EINVAL);
        assert_int_equal(err.cls, VMIG_QMP_ERROR_GENERIC);
        assert_string_equal(err.desc, b->text);
        vmig_mig_config_close(&cfg);
    }
}

/* The multifd levels through the monitor's path (schema check, then
 * mig_params.c): the largest good level is accepted and the query shows it,
 * the next one is refused with its text and the query still shows the one
 * before. */
static void test_multifd_levels(void **state)
{
    static const struct {
        const char *name;
        int good, bad;
        const char *text;
    } cases[] = {
        { "multifd-zlib-level", 9, 10,
          "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
        { "multifd-zstd-level", 20, 21,
          "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
    };
    qmp_schema_t *s = pt_schema();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        json_t *args = json_pack("{s:i}", cases[i].name, cases[i].good);
        json_t *r = pt_run(s, &cfg, "migrate-set-parameters", args);
        assert_non_null(json_object_get(r, "return"));
        json_decref(r);
        json_decref(args);
        json_t *q = vmig_mig_query_params(&cfg);
        assert_int_equal(json_integer_value(json_object_get(q, cases[i].name)), cases[i].good);
        json_decref(q);
        args = json_pack("{s:i}", cases[i].name, cases[i].bad);
        r = pt_run(s, &cfg, "migrate-set-parameters", args);
        json_t *want = pt_error("GenericError", cases[i].text);
        assert_true(json_equal(want, r));
        json_decref(want);
        json_decref(r);
        json_decref(args);
        q = vmig_mig_query_params(&cfg);
        assert_int_equal(json_integer_value(json_object_get(q, cases[i].name)), cases[i].good);
        json_decref(q);
        vmig_mig_config_close(&cfg);
    }
    qmp_schema_free(s);
}

/* vmig's level checks sit where later QEMU has them: after
 * multifd_channels, before xbzrle_cache_size (so 7.2's own checks around
 * them keep their order). */
static void test_multifd_check_order(void **state)
{
    static const struct {
        const char *args;
        const char *text;
    } cases[] = {
        { "{\"multifd-zlib-level\": 10, \"multifd-channels\": 0}",
          "Parameter 'multifd_channels' expects a value between 1 and 255" },
        { "{\"multifd-zstd-level\": 21, \"multifd-zlib-level\": 10}",
          "Parameter 'multifd_zlib_level' expects a value between 0 and 9" },
        { "{\"xbzrle-cache-size\": 3, \"multifd-zstd-level\": 21}",
          "Parameter 'multifd_zstd_level' expects a value between 0 and 20" },
        { "{\"multifd-zlib-level\": 10, \"downtime-limit\": 2000001}",
          "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        json_t *args = json_loads(cases[i].args, 0, NULL);
        assert_non_null(args);
        vmig_qmp_error_t err = { 0 };
        assert_int_equal(vmig_mig_set_params(&cfg, args, &err), -EINVAL);
        assert_string_equal(err.desc, cases[i].text);
        assert_int_equal(cfg.params.multifd_zlib_level, 1);
        assert_int_equal(cfg.params.multifd_zstd_level, 1);
        assert_int_equal(cfg.params.multifd_channels, 2);
        json_decref(args);
        vmig_mig_config_close(&cfg);
    }
}

/* Without the schema check (the C API): wrong JSON types and unknown names
 * get the schema checker's texts. */
static void test_unchecked_types(void **state)
{
    static const struct {
        const char *args;
        const char *text;
    } cases[] = {
        { "{\"downtime-limit\": 1.5}", "Parameter 'downtime-limit' expects uint64" },
        { "{\"downtime-limit\": \"1\"}", "Parameter 'downtime-limit' expects uint64" },
        { "{\"x-checkpoint-delay\": 4294967296}", "Parameter 'x-checkpoint-delay' expects uint32_t" },
        { "{\"cpu-throttle-tailslow\": 1}",
          "Invalid parameter type for 'cpu-throttle-tailslow', expected: boolean" },
        { "{\"tls-creds\": 1}", "Invalid parameter type for 'tls-creds', expected: StrOrNull" },
        { "{\"multifd-compression\": 1}",
          "Invalid parameter type for 'multifd-compression', expected: string" },
        { "{\"multifd-compression\": \"lz4\"}",
          "Parameter 'multifd-compression' does not accept value 'lz4'" },
        { "{\"block-bitmap-mapping\": {}}",
          "Invalid parameter type for 'block-bitmap-mapping', expected: array" },
        { "{\"nosuch\": 1}", "Parameter 'nosuch' is unexpected" },
        { "{\"downtime-limit\": 5, \"nosuch\": 1}", "Parameter 'nosuch' is unexpected" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        json_t *args = json_loads(cases[i].args, 0, NULL);
        assert_non_null(args);
        vmig_qmp_error_t err = { 0 };
        assert_int_equal(vmig_mig_set_params(&cfg, args, &err), -EINVAL);
        assert_string_equal(err.desc, cases[i].text);
        /* Nothing changed. */
        assert_int_equal(cfg.params.downtime_limit, 300);
        json_decref(args);
        vmig_mig_config_close(&cfg);
    }
}

/* Values are stored as given, the largest ones included. */
static void test_values_stored(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    json_t *args = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "max-bandwidth",
                             (json_int_t)1 << 40, "downtime-limit", (json_int_t)0,
                             "throttle-trigger-threshold", (json_int_t)77,
                             "cpu-throttle-initial", (json_int_t)30, "cpu-throttle-increment",
                             (json_int_t)5, "cpu-throttle-tailslow", 1, "max-cpu-throttle",
                             (json_int_t)30);
    vmig_qmp_error_t err = { 0 };
    assert_int_equal(vmig_mig_set_params(&cfg, args, &err), 0);
    json_decref(args);
    assert_int_equal(cfg.params.max_bandwidth, 1ull << 40);
    assert_int_equal(cfg.params.downtime_limit, 0);
    assert_int_equal(cfg.params.throttle_trigger_threshold, 77);
    assert_int_equal(cfg.params.cpu_throttle_initial, 30);
    assert_int_equal(cfg.params.cpu_throttle_increment, 5);
    assert_true(cfg.params.cpu_throttle_tailslow);
    assert_int_equal(cfg.params.max_cpu_throttle, 30);
    /* The multifd parameters, stored as given (the levels too, which 7.2
     * would not store). */
    args = json_pack("{s:I, s:s, s:I, s:I}", "multifd-channels", (json_int_t)255,
                     "multifd-compression", "zlib", "multifd-zlib-level", (json_int_t)0,
                     "multifd-zstd-level", (json_int_t)20);
    assert_int_equal(vmig_mig_set_params(&cfg, args, &err), 0);
    json_decref(args);
    assert_int_equal(cfg.params.multifd_channels, 255);
    assert_int_equal(cfg.params.multifd_compression, VMIG_MULTIFD_COMPRESSION_ZLIB);
    assert_int_equal(cfg.params.multifd_zlib_level, 0);
    assert_int_equal(cfg.params.multifd_zstd_level, 20);
    json_t *mq = vmig_mig_query_params(&cfg);
    assert_int_equal(json_integer_value(json_object_get(mq, "multifd-channels")), 255);
    assert_string_equal(json_string_value(json_object_get(mq, "multifd-compression")), "zlib");
    assert_int_equal(json_integer_value(json_object_get(mq, "multifd-zlib-level")), 0);
    assert_int_equal(json_integer_value(json_object_get(mq, "multifd-zstd-level")), 20);
    json_decref(mq);
    /* -1 is 2^64-1 for a size, as in 7.2; jansson cannot show more than
     * INT64_MAX, which the query gives instead. */
    assert_int_equal(set_one(&cfg, "max-bandwidth", -1, &err), 0);
    assert_true(cfg.params.max_bandwidth == UINT64_MAX);
    json_t *q = vmig_mig_query_params(&cfg);
    assert_true(json_integer_value(json_object_get(q, "max-bandwidth")) == INT64_MAX);
    json_decref(q);
    /* A decoder may give integers past INT64_MAX as reals. */
    args = json_pack("{s:f}", "max-bandwidth", 18446744073709551616.0);
    assert_int_equal(vmig_mig_set_params(&cfg, args, &err), 0);
    assert_true(cfg.params.max_bandwidth == UINT64_MAX);
    json_decref(args);
    vmig_mig_config_close(&cfg);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_table),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_multifd_levels),
        cmocka_unit_test(test_multifd_check_order),
        cmocka_unit_test(test_unchecked_types),
        cmocka_unit_test(test_values_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
