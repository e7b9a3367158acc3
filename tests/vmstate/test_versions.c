/* test_versions.c — fields present by version, too-new/too-old versions
 * refused with QEMU's messages, field_exists deciding presence. */
#include "vmstate_test.h"

typedef struct {
    uint8_t v1;
    uint8_t v2;
    uint8_t v3;
    bool has_opt;
    uint32_t opt;
} verdev_t;

static bool opt_exists(void *opaque, int version_id)
{
    return ((verdev_t *)opaque)->has_opt && version_id >= 2;
}

static const vmig_vmsd_field_t dev_fields[] = {
    VMIG_VMSTATE_UINT8_V(v1, verdev_t, 1),
    VMIG_VMSTATE_UINT8_V(v2, verdev_t, 2),
    VMIG_VMSTATE_UINT8_V(v3, verdev_t, 3),
    VMIG_VMSTATE_BOOL(has_opt, verdev_t),
    VMIG_VMSTATE_UINT32_TEST(opt, verdev_t, opt_exists),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t dev_vmsd = {
    .name = "dev",
    .version_id = 3,
    .minimum_version_id = 2,
    .fields = dev_fields,
};

static void test_save_current_version(void **state)
{
    verdev_t d = {1, 2, 3, true, 0x04050607};
    test_bytes_t b = test_save(&dev_vmsd, &d, NULL);
    static const uint8_t want[] = {1, 2, 3, 1, 4, 5, 6, 7};
    vt_assert_bytes(b.data, b.len, want, sizeof(want));
    free(b.data);

    d.has_opt = false; /* the predicate drops the field */
    b = test_save(&dev_vmsd, &d, NULL);
    static const uint8_t want2[] = {1, 2, 3, 0};
    vt_assert_bytes(b.data, b.len, want2, sizeof(want2));
    free(b.data);
}

/* A version-2 stream has no v3: it keeps its local value. The predicate sees
 * the incoming version and the has_opt loaded just before. */
static void test_load_older(void **state)
{
    static const uint8_t in[] = {1, 2, 1, 0xaa, 0xbb, 0xcc, 0xdd};
    verdev_t d = {.v3 = 99};
    uint64_t end;
    assert_int_equal(test_load(&dev_vmsd, &d, 2, in, sizeof(in), NULL, &end), 0);
    assert_int_equal(end, sizeof(in));
    assert_int_equal(d.v1, 1);
    assert_int_equal(d.v2, 2);
    assert_int_equal(d.v3, 99);
    assert_int_equal(d.opt, 0xaabbccdd);
}

static void test_too_new_too_old(void **state)
{
    static const uint8_t in[] = {1, 2, 3, 0};
    verdev_t d = {0};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&dev_vmsd, &d, 4, in, sizeof(in), msg, NULL), -EINVAL);
    assert_string_equal(msg, "dev: incoming version_id 4 is too new for local version_id 3");
    assert_int_equal(test_load(&dev_vmsd, &d, 1, in, sizeof(in), msg, NULL), -EINVAL);
    assert_string_equal(msg,
                        "dev: incoming version_id 1 is too old for local minimum version_id 2");
    assert_int_equal(d.v1, 0); /* nothing was loaded */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_current_version),
        cmocka_unit_test(test_load_older),
        cmocka_unit_test(test_too_new_too_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
