/* test_params_caps.c — migrate-set-capabilities' compatibility checks:
 * every case of the recorded table (errors-migrate-set-capabilities.json:
 * postcopy-ram/x-ignore-shared, background-snapshot's list in its order,
 * zero-copy-send's requirements, postcopy-preempt, multifd/compress, the
 * order between them, duplicates in one request, shape errors) gives QEMU
 * 7.2's reply, or vmig's where the table or pt_overrides says so, and the
 * query shows what was accepted; multifd is accepted and shown, and never
 * together with compress, whichever comes first. */
#include "params_test.h"

static void test_recorded_table(void **state)
{
    pt_check_table("errors-migrate-set-capabilities", 50);
}

static int set_caps(vmig_mig_config_t *cfg, const char *json, vmig_qmp_error_t *err)
{
    json_t *args = json_loads(json, 0, NULL);
    assert_non_null(args);
    int r = vmig_mig_set_caps(cfg, args, false, err);
    json_decref(args);
    return r;
}

/* QEMU's checks come before vmig's refusals, whatever the request order;
 * the last state given for a capability counts. */
static void test_check_order(void **state)
{
    vmig_mig_config_t cfg;
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    vmig_qmp_error_t err = { 0 };
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"compress\", \"state\": true},"
                              " {\"capability\": \"multifd\", \"state\": true}]}", &err),
                     -EINVAL);
    assert_string_equal(err.desc, "Multifd is not compatible with compress");
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"events\", \"state\": true},"
                              " {\"capability\": \"events\", \"state\": false}]}", &err), 0);
    assert_false(cfg.caps[VMIG_MIG_CAP_EVENTS]);
    /* Turning off an unimplemented one that is off: fine. */
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"postcopy-ram\", \"state\": false}]}",
                              &err), 0);
    /* vmig's refusals go in enum order, whatever the request's order: with
     * multifd implemented, the unimplemented ones around it are named. */
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"zero-copy-send\", \"state\": true},"
                              " {\"capability\": \"multifd\", \"state\": true},"
                              " {\"capability\": \"postcopy-ram\", \"state\": true}]}", &err),
                     -EINVAL);
    assert_string_equal(err.desc, "Capability 'postcopy-ram' is not supported by vmig yet");
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"zero-copy-send\", \"state\": true},"
                              " {\"capability\": \"multifd\", \"state\": true}]}", &err),
                     -EINVAL);
    assert_string_equal(err.desc, "Capability 'zero-copy-send' is not supported by vmig yet");
    /* ... and after QEMU's checks: compress makes zero-copy-send fail
     * 7.2's check, which is reported instead. */
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"zero-copy-send\", \"state\": true},"
                              " {\"capability\": \"multifd\", \"state\": true},"
                              " {\"capability\": \"compress\", \"state\": true}]}", &err),
                     -EINVAL);
    assert_string_equal(err.desc,
                        "Zero copy only available for non-compressed non-TLS multifd migration");
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++)
        assert_false(cfg.caps[c]);
    vmig_mig_config_close(&cfg);
}

static bool query_state(const vmig_mig_config_t *cfg, vmig_mig_cap_t cap)
{
    json_t *q = vmig_mig_query_caps(cfg);
    json_t *e = json_array_get(q, cap);
    assert_string_equal(json_string_value(json_object_get(e, "capability")),
                        vmig_mig_cap_name(cap));
    bool on = json_is_true(json_object_get(e, "state"));
    json_decref(q);
    return on;
}

/* multifd is accepted and shown by the query, on and off again; it is never
 * on together with compress: refused whichever was set first, and in one
 * request in either order, with nothing changed. */
static void test_multifd(void **state)
{
    static const char on_multifd[] =
        "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": true}]}";
    static const char on_compress[] =
        "{\"capabilities\": [{\"capability\": \"compress\", \"state\": true}]}";
    static const char *const both[] = {
        "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": true},"
        " {\"capability\": \"compress\", \"state\": true}]}",
        "{\"capabilities\": [{\"capability\": \"compress\", \"state\": true},"
        " {\"capability\": \"multifd\", \"state\": true}]}",
    };
    vmig_qmp_error_t err = { 0 };
    vmig_mig_config_t cfg;

    /* Accepted and shown; turned off again. */
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    assert_int_equal(set_caps(&cfg, on_multifd, &err), 0);
    assert_true(cfg.caps[VMIG_MIG_CAP_MULTIFD]);
    assert_true(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
    /* Then compress: refused, multifd stays on, compress off. */
    assert_int_equal(set_caps(&cfg, on_compress, &err), -EINVAL);
    assert_int_equal(err.cls, VMIG_QMP_ERROR_GENERIC);
    assert_string_equal(err.desc, "Multifd is not compatible with compress");
    assert_true(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
    assert_false(query_state(&cfg, VMIG_MIG_CAP_COMPRESS));
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": false}]}",
                              &err), 0);
    assert_false(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
    vmig_mig_config_close(&cfg);

    /* Compress first, then multifd: refused the same way. */
    assert_int_equal(vmig_mig_config_init(&cfg), 0);
    assert_int_equal(set_caps(&cfg, on_compress, &err), 0);
    assert_true(query_state(&cfg, VMIG_MIG_CAP_COMPRESS));
    memset(&err, 0, sizeof(err));
    assert_int_equal(set_caps(&cfg, on_multifd, &err), -EINVAL);
    assert_int_equal(err.cls, VMIG_QMP_ERROR_GENERIC);
    assert_string_equal(err.desc, "Multifd is not compatible with compress");
    assert_false(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
    assert_true(query_state(&cfg, VMIG_MIG_CAP_COMPRESS));
    /* Compress off and multifd on in one request: the resulting set counts. */
    assert_int_equal(set_caps(&cfg,
                              "{\"capabilities\": [{\"capability\": \"multifd\", \"state\": true},"
                              " {\"capability\": \"compress\", \"state\": false}]}", &err), 0);
    assert_true(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
    assert_false(query_state(&cfg, VMIG_MIG_CAP_COMPRESS));
    vmig_mig_config_close(&cfg);

    /* Both in one request, in either order. */
    for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        memset(&err, 0, sizeof(err));
        assert_int_equal(set_caps(&cfg, both[i], &err), -EINVAL);
        assert_string_equal(err.desc, "Multifd is not compatible with compress");
        assert_false(query_state(&cfg, VMIG_MIG_CAP_MULTIFD));
        assert_false(query_state(&cfg, VMIG_MIG_CAP_COMPRESS));
        vmig_mig_config_close(&cfg);
    }
}

/* Without the schema check (the C API): the schema checker's texts. */
static void test_unchecked_shapes(void **state)
{
    static const struct {
        const char *args;
        const char *text;
    } cases[] = {
        { "{}", "Parameter 'capabilities' is missing" },
        { "{\"capabilities\": 1}", "Invalid parameter type for 'capabilities', expected: array" },
        { "{\"capabilities\": [1]}",
          "Invalid parameter type for 'capabilities[0]', expected: object" },
        { "{\"capabilities\": [{\"state\": true}]}",
          "Parameter 'capabilities[0].capability' is missing" },
        { "{\"capabilities\": [{\"capability\": \"nosuch\", \"state\": true}]}",
          "Parameter 'capability' does not accept value 'nosuch'" },
        { "{\"capabilities\": [{\"capability\": \"events\"}]}",
          "Parameter 'capabilities[0].state' is missing" },
        { "{\"capabilities\": [{\"capability\": \"events\", \"state\": 1}]}",
          "Invalid parameter type for 'capabilities[0].state', expected: boolean" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vmig_mig_config_t cfg;
        assert_int_equal(vmig_mig_config_init(&cfg), 0);
        vmig_qmp_error_t err = { 0 };
        assert_int_equal(set_caps(&cfg, cases[i].args, &err), -EINVAL);
        assert_string_equal(err.desc, cases[i].text);
        vmig_mig_config_close(&cfg);
    }
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_table),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_multifd),
        cmocka_unit_test(test_unchecked_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
