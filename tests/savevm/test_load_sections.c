/* test_load_sections.c — the loader's section checks with QEMU's messages
 * (stream.md §10): unknown type, section or instance, too-new version,
 * PART/END with an unknown id, footers, and a handler's own load error. */
#include "savevm_test.h"

#define RAM_START(id) "01 " id " 03 72616d 00000000 00000004 "

typedef struct ram_in {
    int types[8]; /* section types seen */
    int n;        /* how many */
} ram_in_t;

/* Every section body is one byte that must be 0xaa. */
static int ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int type)
{
    ram_in_t *in = opaque;
    uint8_t b = vmig_stream_get_u8(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (b != 0xaa)
        return vmig_stream_set_error(s, -EINVAL, "bad ram byte 0x%x", b);
    if (in->n < 8)
        in->types[in->n++] = type;
    return 0;
}

static const vmig_savevm_ops_t ram_ops = {.load = ram_load};
static const vmig_savevm_ops_t no_load_ops = {0};

typedef struct fixture {
    vmig_savevm_t *sv; /* p0, p1, ram (id 2), mute (id 3) */
    ram_in_t ram;      /* what ram received */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = svt_fixture_new(sizeof(*f));
    assert_int_equal(vmig_savevm_register_handler(f->sv, "p0", 0, 1, 0, &ram_ops, &f->ram), 0);
    assert_int_equal(vmig_savevm_register_handler(f->sv, "p1", 0, 1, 0, &ram_ops, &f->ram), 1);
    assert_int_equal(vmig_savevm_register_handler(f->sv, "ram", 0, 4, 0, &ram_ops, &f->ram), 2);
    assert_int_equal(vmig_savevm_register_handler(f->sv, "mute", 0, 1, 0, &no_load_ops, NULL),
                     3);
    *state = f;
    return 0;
}

static void expect(fixture_t *f, const char *hex, int err, const char *msg)
{
    svt_expect_load(f->sv, hex, err, msg);
}

static void test_good(void **state)
{
    fixture_t *f = *state;
    /* The stream's section id is what PART / END refer to, not the local one. */
    expect(f, SVT_HDR RAM_START("00000009") "aa 7e 00000009 02 00000009 aa 7e 00000009"
              "03 00000009 aa 7e 00000009 00",
           0, "");
    assert_int_equal(f->ram.n, 3);
    assert_int_equal(f->ram.types[0], VMIG_VM_SECTION_START);
    assert_int_equal(f->ram.types[1], VMIG_VM_SECTION_PART);
    assert_int_equal(f->ram.types[2], VMIG_VM_SECTION_END);
}

static void test_unknown_type(void **state)
{
    expect(*state, SVT_HDR "09", -EINVAL, "Unknown savevm section type 9");
    expect(*state, SVT_HDR "7e 00000000", -EINVAL, "Unknown savevm section type 126");
}

static void test_unknown_section_or_instance(void **state)
{
    expect(*state, SVT_HDR "04 00000000 03 666f6f 00000000 00000001", -EINVAL,
           "Unknown savevm section or instance 'foo' 0. Make sure that your current VM setup "
           "matches your saved VM setup, including any hotplugged devices");
    expect(*state, SVT_HDR "01 00000002 03 72616d 00000001 00000004", -EINVAL,
           "Unknown savevm section or instance 'ram' 1. Make sure that your current VM setup "
           "matches your saved VM setup, including any hotplugged devices");
    /* "ram\0" is not "ram". */
    expect(*state, SVT_HDR "01 00000002 04 72616d00 00000000 00000004", -EINVAL,
           "Unknown savevm section or instance 'ram' 0. Make sure that your current VM setup "
           "matches your saved VM setup, including any hotplugged devices");
}

static void test_version_too_new(void **state)
{
    expect(*state, SVT_HDR "01 00000002 03 72616d 00000000 00000005", -EINVAL,
           "savevm: unsupported version 5 for 'ram' v4");
    expect(*state, SVT_HDR "01 00000002 03 72616d 00000000 80000000", -EINVAL,
           "savevm: unsupported version -2147483648 for 'ram' v4");
}

static void test_part_end_unknown_id(void **state)
{
    expect(*state, SVT_HDR "02 00000007", -EINVAL, "Unknown savevm section 7");
    /* The local id means nothing before a START gave the stream's id. */
    expect(*state, SVT_HDR "03 00000002", -EINVAL, "Unknown savevm section 2");
    expect(*state, SVT_HDR RAM_START("00000002") "aa 7e 00000002 02 00000003", -EINVAL,
           "Unknown savevm section 3");
}

static void test_footers(void **state)
{
    expect(*state, SVT_HDR RAM_START("00000002") "aa 00", -EINVAL, "Missing section footer for ram");
    expect(*state, SVT_HDR RAM_START("00000002") "aa 7e 00000003", -EINVAL,
           "Mismatched section id in footer for ram - read 0x3 expected 0x2");
    expect(*state, SVT_HDR RAM_START("00000002") "aa 7e 00000002 02 00000002 aa 7e 00000004", -EINVAL,
           "Mismatched section id in footer for ram - read 0x4 expected 0x2");
    /* A whole subsection header where the footer belongs is still a
     * missing footer; one cut by the end of the stream is a truncation. */
    expect(*state, SVT_HDR RAM_START("00000002") "aa 05 03 616263 00000001", -EINVAL,
           "Missing section footer for ram");
    expect(*state, SVT_HDR RAM_START("00000002") "aa 05 03 6162", -EIO,
           "stream truncated at byte offset 39");
}

static void test_footers_off(void **state)
{
    fixture_t *f = *state;
    vmig_savevm_config_t cfg = *vmig_savevm_config(f->sv);
    cfg.send_section_footer = false;
    assert_int_equal(vmig_savevm_set_config(f->sv, &cfg), 0);
    expect(f, SVT_HDR RAM_START("00000002") "aa 02 00000002 aa 00", 0, "");
}

static void test_body_errors(void **state)
{
    expect(*state, SVT_HDR RAM_START("00000002") "12", -EINVAL,
           "error while loading state for instance 0x0 of device 'ram': bad ram byte 0x12");
    expect(*state, SVT_HDR RAM_START("00000002") "aa 7e 00000002 02 00000002 13", -EINVAL,
           "error while loading state section id 2(ram): bad ram byte 0x13");
    expect(*state, SVT_HDR "04 00000003 04 6d757465 00000000 00000001", -ENOTSUP,
           "error while loading state for instance 0x0 of device 'mute': 'mute' cannot load "
           "sections");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_unknown_type, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_unknown_section_or_instance, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_version_too_new, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_part_end_unknown_id, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_footers, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_footers_off, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_body_errors, setup, svt_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
