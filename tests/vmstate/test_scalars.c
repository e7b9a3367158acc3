/* test_scalars.c — every scalar codec writes its exact big-endian bytes and
 * loads them back: integers, bool, float64, CPU_Double_U and timers. */
#include "vmstate_test.h"

typedef struct {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    bool yes;
    bool no;
    double f;
    double cd[1];
    vmig_vmstate_timer_t armed;
    vmig_vmstate_timer_t idle;
    vmig_vmstate_timer_t *tptr;
} scalars_t;

static const vmig_vmsd_field_t scalars_fields[] = {
    VMIG_VMSTATE_UINT8(u8, scalars_t),
    VMIG_VMSTATE_UINT16(u16, scalars_t),
    VMIG_VMSTATE_UINT32(u32, scalars_t),
    VMIG_VMSTATE_UINT64(u64, scalars_t),
    VMIG_VMSTATE_INT8(i8, scalars_t),
    VMIG_VMSTATE_INT16(i16, scalars_t),
    VMIG_VMSTATE_INT32(i32, scalars_t),
    VMIG_VMSTATE_INT64(i64, scalars_t),
    VMIG_VMSTATE_BOOL(yes, scalars_t),
    VMIG_VMSTATE_BOOL(no, scalars_t),
    VMIG_VMSTATE_FLOAT64(f, scalars_t),
    VMIG_VMSTATE_CPUDOUBLE_ARRAY(cd, scalars_t, 1),
    VMIG_VMSTATE_TIMER(armed, scalars_t),
    VMIG_VMSTATE_TIMER(idle, scalars_t),
    VMIG_VMSTATE_TIMER_PTR(tptr, scalars_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t scalars_vmsd = {
    .name = "scalars",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = scalars_fields,
};

static const uint8_t expect[] = {
    0x81,                                           /* u8 */
    0x82, 0x83,                                     /* u16 */
    0x84, 0x85, 0x86, 0x87,                         /* u32 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* u64 */
    0xff,                                           /* i8 -1 */
    0xff, 0xfe,                                     /* i16 -2 */
    0xff, 0xff, 0xff, 0xfd,                         /* i32 -3 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, /* i64 -4 */
    0x01,                                           /* yes */
    0x00,                                           /* no */
    0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1.5 */
    0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* -2.0: upper word, lower word */
    0x00, 0x00, 0x00, 0x00, 0x3b, 0x9a, 0xca, 0x00, /* armed at 1 s */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* not armed */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* timer through a pointer: 42 */
};

static void test_save_exact(void **state)
{
    vmig_vmstate_timer_t t = {42};
    scalars_t v = {0x81, 0x8283, 0x84858687, 0x0102030405060708ull, -1, -2, -3, -4, true, false,
                   1.5, {-2.0}, {1000000000}, {VMIG_VMSTATE_TIMER_NOT_ARMED}, &t};
    test_bytes_t b = test_save(&scalars_vmsd, &v, NULL);
    vt_assert_bytes(b.data, b.len, expect, sizeof(expect));
    free(b.data);
}

static void test_load_exact(void **state)
{
    vmig_vmstate_timer_t t = {0};
    scalars_t v = {0};
    v.tptr = &t;
    uint64_t end;
    assert_int_equal(test_load(&scalars_vmsd, &v, 1, expect, sizeof(expect), NULL, &end), 0);
    assert_int_equal(end, sizeof(expect));
    assert_int_equal(v.u8, 0x81);
    assert_int_equal(v.u16, 0x8283);
    assert_int_equal(v.u32, 0x84858687);
    assert_true(v.u64 == 0x0102030405060708ull);
    assert_int_equal(v.i8, -1);
    assert_int_equal(v.i16, -2);
    assert_int_equal(v.i32, -3);
    assert_true(v.i64 == -4);
    assert_true(v.yes);
    assert_false(v.no);
    assert_true(v.f == 1.5);
    assert_true(v.cd[0] == -2.0);
    assert_true(v.armed.expire_ns == 1000000000);
    assert_true(v.idle.expire_ns == VMIG_VMSTATE_TIMER_NOT_ARMED);
    assert_true(t.expire_ns == 42);
}

/* Any non-zero byte loads as true. */
static void test_bool_nonzero(void **state)
{
    static const vmig_vmsd_field_t f[] = {
        VMIG_VMSTATE_BOOL(yes, scalars_t),
        VMIG_VMSTATE_END_OF_LIST(),
    };
    static const vmig_vmsd_t vmsd = {.name = "b", .version_id = 1, .fields = f};
    scalars_t v = {0};
    static const uint8_t in[] = {0x7f};
    assert_int_equal(test_load(&vmsd, &v, 1, in, 1, NULL, NULL), 0);
    assert_true(v.yes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_exact),
        cmocka_unit_test(test_load_exact),
        cmocka_unit_test(test_bool_nonzero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
