/* test_header.c — the file header and configuration section the writer puts
 * out, byte for byte (stream.md §3), and that the loader accepts them back. */
#include "savevm_test.h"

/* Write the header of sv, compare with hex, then load it back with sv. */
static void check_header(vmig_savevm_t *sv, const char *hex)
{
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_write_header(sv, w), 0);
    size_t len;
    uint8_t *bytes = vt_written_copy(w, &len);
    vt_assert_hex(bytes, len, hex);
    vmig_stream_free(w);

    /* Load it back followed by EOF (a header alone is a cut stream). */
    bytes = realloc(bytes, len + 1);
    bytes[len] = VMIG_VM_EOF;
    vmig_stream_t *r = vt_mem_reader(bytes, len + 1);
    assert_int_equal(vmig_savevm_load_header(sv, r), 0);
    assert_int_equal(vmig_stream_tell(r), len);
    assert_int_equal(vmig_savevm_load_main(sv, r), 0);
    assert_true(vmig_stream_eof(r));
    vmig_stream_free(r);
    free(bytes);
}

static void test_machine_none(void **state)
{
    vmig_savevm_t *sv = svt_new(NULL);
    /* QEMU 7.2 -M none, no capabilities. */
    check_header(sv, "51 45 56 4d 00 00 00 03 07 00 00 00 04 6e 6f 6e 65");
    vmig_savevm_free(sv);
}

static void test_x_ignore_shared(void **state)
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.x_ignore_shared = true;
    vmig_savevm_t *sv = svt_new(&cfg);
    /* 07 00000004 "none" 05 1a "configuration/capabilities" 00000001 00000001
     * 0f "x-ignore-shared" */
    check_header(sv, "5145564d 00000003 07 00000004 6e6f6e65"
                     "05 1a 636f6e66696775726174696f6e2f6361706162696c6974696573"
                     "00000001 00000001 0f 782d69676e6f72652d736861726564");
    vmig_savevm_free(sv);
}

static void test_page_bits_and_uuid(void **state)
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.machine = "virt";
    cfg.target_page_bits = 16;
    cfg.target_page_bits_min = 10;
    cfg.validate_uuid = true;
    cfg.uuid_set = true;
    for (int i = 0; i < 16; i++)
        cfg.uuid[i] = (uint8_t)(0xa0 + i);
    vmig_savevm_t *sv = svt_new(&cfg);
    check_header(sv, "5145564d 00000003 07 00000004 76697274"
                     /* 05 1e "configuration/target-page-bits" v1, 16 */
                     "05 1e 636f6e66696775726174696f6e2f7461726765742d706167652d62697473"
                     "00000001 00000010"
                     /* 05 12 "configuration/uuid" v1, 16 bytes */
                     "05 12 636f6e66696775726174696f6e2f75756964 00000001"
                     "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    vmig_savevm_free(sv);
}

static void test_no_configuration(void **state)
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.send_configuration = false; /* pc <= 2.8 era machine types */
    vmig_savevm_t *sv = svt_new(&cfg);
    check_header(sv, "5145564d 00000003");
    vmig_savevm_free(sv);
}

static void test_bad_config_refused(void **state)
{
    vmig_savevm_t *sv = vmig_savevm_new();
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.machine = "";
    assert_int_equal(vmig_savevm_set_config(sv, &cfg), -EINVAL);
    cfg.machine = NULL;
    assert_int_equal(vmig_savevm_set_config(sv, &cfg), -EINVAL);
    vmig_savevm_config_init(&cfg);
    cfg.target_page_bits = 40;
    assert_int_equal(vmig_savevm_set_config(sv, &cfg), -EINVAL);
    /* The old configuration stays. */
    assert_string_equal(vmig_savevm_config(sv)->machine, "none");
    vmig_savevm_free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machine_none),
        cmocka_unit_test(test_x_ignore_shared),
        cmocka_unit_test(test_page_bits_and_uuid),
        cmocka_unit_test(test_no_configuration),
        cmocka_unit_test(test_bad_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
