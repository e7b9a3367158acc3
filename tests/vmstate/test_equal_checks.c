/* test_equal_checks.c — *_equal codecs refuse a differing value ("local !=
 * incoming"); int32 le takes 0..local and refuses the rest. */
#include "vmstate_test.h"

typedef struct {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    int32_t le;
} eq_t;

static const vmig_vmsd_field_t eq_fields[] = {
    VMIG_VMSTATE_UINT8_EQUAL(u8, eq_t),
    VMIG_VMSTATE_UINT16_EQUAL(u16, eq_t),
    VMIG_VMSTATE_UINT32_EQUAL(u32, eq_t),
    VMIG_VMSTATE_UINT64_EQUAL(u64, eq_t),
    VMIG_VMSTATE_INT32_EQUAL(i32, eq_t),
    VMIG_VMSTATE_INT32_LE(le, eq_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t eq_vmsd = {.name = "eq", .version_id = 1, .fields = eq_fields};

static const eq_t local = {3, 0x102, 70000, 1ull << 40, -5, 8};

static const uint8_t good[] = {
    3, 0x01, 0x02, 0x00, 0x01, 0x11, 0x70, 0, 0, 0x01, 0, 0, 0, 0, 0,
    0xff, 0xff, 0xff, 0xfb, 0, 0, 0, 6,
};

static void test_equal_values_load(void **state)
{
    eq_t v = local;
    test_bytes_t b = test_save(&eq_vmsd, &v, NULL);
    uint8_t want[sizeof(good)];
    memcpy(want, good, sizeof(want));
    want[sizeof(want) - 1] = 8; /* saves the local le value */
    vt_assert_bytes(b.data, b.len, want, sizeof(want));
    free(b.data);
    assert_int_equal(test_load(&eq_vmsd, &v, 1, good, sizeof(good), NULL, NULL), 0);
    assert_int_equal(v.le, 6); /* le stores the incoming value */
}

/* Flip one field of the good stream and expect message. */
static void expect_failure(size_t off, uint8_t byte, const char *msg_want)
{
    uint8_t in[sizeof(good)];
    memcpy(in, good, sizeof(in));
    in[off] = byte;
    eq_t v = local;
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&eq_vmsd, &v, 1, in, sizeof(in), msg, NULL), -EINVAL);
    assert_string_equal(msg, msg_want);
}

static void test_mismatches(void **state)
{
    expect_failure(0, 5, "Failed to load eq:u8: 3 != 5");
    expect_failure(2, 0x03, "Failed to load eq:u16: 258 != 259");
    expect_failure(6, 0x71, "Failed to load eq:u32: 70000 != 70001");
    expect_failure(14, 1, "Failed to load eq:u64: 1099511627776 != 1099511627777");
    expect_failure(18, 0xfa, "Failed to load eq:i32: -5 != -6");
}

static void test_le_bounds(void **state)
{
    expect_failure(22, 9, "Failed to load eq:le: Invalid value 9 expecting positive value <= 8");
    expect_failure(19, 0x80, "Failed to load eq:le: "
                             "Invalid value -2147483642 expecting positive value <= 8");
    /* 0 and exactly the local value are fine. */
    uint8_t in[sizeof(good)];
    memcpy(in, good, sizeof(in));
    for (int val = 0; val <= 8; val += 8) {
        in[22] = (uint8_t)val;
        eq_t v = local;
        assert_int_equal(test_load(&eq_vmsd, &v, 1, in, sizeof(in), NULL, NULL), 0);
        assert_int_equal(v.le, val);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_values_load),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_le_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
