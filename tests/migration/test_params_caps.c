/* test_params_caps.c — migrate-set-capabilities' compatibility checks:
 * every case of the recorded table (errors-migrate-set-capabilities.json:
 * postcopy-ram/x-ignore-shared, background-snapshot's list in its order,
 * zero-copy-send's requirements, postcopy-preempt, multifd/compress, the
 * order between them, duplicates in one request, shape errors) gives QEMU
 * 7.2's reply, or vmig's where the table says so. */
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
                              "{\"capabilities\": [{\"capability\": \"xbzrle\", \"state\": false}]}",
                              &err), 0);
    vmig_mig_config_close(&cfg);
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
        cmocka_unit_test(test_unchecked_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
