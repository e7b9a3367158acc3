/* test_struct.c — STRUCT, VSTRUCT, struct arrays and pointers, arrays of
 * pointers with the 0x30 marker for NULL, counted and allocated struct arrays. */
#include "vmstate_test.h"

typedef struct {
    uint16_t x;
    uint8_t y;
} inner_t;

typedef struct {
    inner_t s;
    inner_t vs;
    inner_t arr[2];
    inner_t *sp;
    uint32_t *ptrs[3];
    inner_t *sptrs[2];
    uint8_t n;
    inner_t va[3];
    uint32_t na;
    inner_t *vaa;
} outer_t;

static const vmig_vmsd_field_t inner_fields[] = {
    VMIG_VMSTATE_UINT16(x, inner_t),
    VMIG_VMSTATE_UINT8_V(y, inner_t, 2), /* only from version 2 */
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t inner_vmsd = {
    .name = "inner",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = inner_fields,
};

static const vmig_vmsd_field_t outer_fields[] = {
    VMIG_VMSTATE_STRUCT(s, outer_t, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_VSTRUCT(vs, outer_t, 0, inner_vmsd, inner_t, 1),
    VMIG_VMSTATE_STRUCT_ARRAY(arr, outer_t, 2, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_STRUCT_POINTER(sp, outer_t, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_ARRAY_OF_POINTER(ptrs, outer_t, 3, 0, vmig_vmstate_info_uint32, uint32_t),
    VMIG_VMSTATE_ARRAY_OF_POINTER_TO_STRUCT(sptrs, outer_t, 2, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_UINT8(n, outer_t),
    VMIG_VMSTATE_STRUCT_VARRAY_UINT8(va, outer_t, n, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_UINT32(na, outer_t),
    VMIG_VMSTATE_STRUCT_VARRAY_ALLOC_UINT32(vaa, outer_t, na, 4, 0, inner_vmsd, inner_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t outer_vmsd = {
    .name = "outer",
    .version_id = 1,
    .fields = outer_fields,
};

static const uint8_t expect[] = {
    0x01, 0x02, 0x03,                   /* s: x, y */
    0x04, 0x05,                         /* vs at version 1: x only */
    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /* arr[0], arr[1] */
    0x11, 0x12, 0x13,                   /* *sp */
    0xaa, 0xbb, 0xcc, 0xdd, 0x30, 0x01, 0x02, 0x03, 0x04, /* *ptrs[0], NULL, *ptrs[2] */
    0x30, 0x21, 0x22, 0x23,             /* NULL, *sptrs[1] */
    0x01, 0x31, 0x32, 0x33,             /* n, va[0] */
    0x00, 0x00, 0x00, 0x02, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, /* na, vaa[0..1] */
};

static void test_save_exact(void **state)
{
    inner_t pointee = {0x1112, 0x13}, sp1 = {0x2122, 0x23};
    inner_t vaa[2] = {{0x4142, 0x43}, {0x4445, 0x46}};
    uint32_t u1 = 0xaabbccdd, u2 = 0x01020304;
    outer_t v = {
        .s = {0x0102, 0x03}, .vs = {0x0405, 0x06},
        .arr = {{0x0a0b, 0x0c}, {0x0d0e, 0x0f}}, .sp = &pointee,
        .ptrs = {&u1, NULL, &u2}, .sptrs = {NULL, &sp1},
        .n = 1, .va = {{0x3132, 0x33}}, .na = 2, .vaa = vaa,
    };
    test_bytes_t b = test_save(&outer_vmsd, &v, NULL);
    vt_assert_bytes(b.data, b.len, expect, sizeof(expect));
    free(b.data);
}

static void test_load_exact(void **state)
{
    inner_t pointee = {0}, sp1 = {0};
    uint32_t u1 = 0, u2 = 0;
    outer_t v = {.vs = {0, 0x77}, .sp = &pointee, .ptrs = {&u1, NULL, &u2},
                 .sptrs = {NULL, &sp1}};
    uint64_t end;
    assert_int_equal(test_load(&outer_vmsd, &v, 1, expect, sizeof(expect), NULL, &end), 0);
    assert_int_equal(end, sizeof(expect));
    assert_int_equal(v.s.x, 0x0102);
    assert_int_equal(v.s.y, 0x03);
    assert_int_equal(v.vs.x, 0x0405);
    assert_int_equal(v.vs.y, 0x77); /* not in a version-1 struct: untouched */
    assert_int_equal(v.arr[1].x, 0x0d0e);
    assert_int_equal(pointee.y, 0x13);
    assert_int_equal(u1, 0xaabbccdd);
    assert_int_equal(u2, 0x01020304);
    assert_int_equal(sp1.x, 0x2122);
    assert_int_equal(v.va[0].y, 0x33);
    assert_non_null(v.vaa);
    assert_int_equal(v.vaa[1].x, 0x4445);
    assert_int_equal(v.vaa[1].y, 0x46);
    free(v.vaa);
}

/* A NULL local element takes only the marker: other bytes are an error. */
static void test_null_element_needs_marker(void **state)
{
    uint8_t in[sizeof(expect)];
    memcpy(in, expect, sizeof(in));
    in[18] = 0x31;
    inner_t pointee, sp1;
    uint32_t u1, u2;
    outer_t v = {.sp = &pointee, .ptrs = {&u1, NULL, &u2}, .sptrs = {NULL, &sp1}};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&outer_vmsd, &v, 1, in, sizeof(in), msg, NULL), -EINVAL);
    assert_string_equal(msg, "Failed to load outer:ptrs: "
                             "expected the NULL element marker 0x30, got 0x31");
}

/* A NULL struct pointer cannot be saved or loaded into. */
static void test_null_struct_pointer(void **state)
{
    outer_t v = {0};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&outer_vmsd, &v, 1, expect, sizeof(expect), msg, NULL), -EINVAL);
    assert_string_equal(msg, "Failed to load outer:sp: NULL pointer with 1 elements");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_exact),
        cmocka_unit_test(test_load_exact),
        cmocka_unit_test(test_null_element_needs_marker),
        cmocka_unit_test(test_null_struct_pointer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
