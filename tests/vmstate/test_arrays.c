/* test_arrays.c — fixed, 2D and variable arrays (every count width, multiplied,
 * allocated, pointed-to): elements back to back, the count never repeated. */
#include "vmstate_test.h"

typedef struct {
    uint16_t fixed[3];
    uint8_t grid[2][3];
    uint8_t n8;
    uint8_t v8[4];
    uint16_t n16;
    uint32_t v16[4];
    int32_t n32;
    int16_t v32[4];
    uint32_t nu32;
    uint64_t vu32[2];
    uint32_t rows;
    uint8_t mul[6];
    uint32_t nalloc;
    uint16_t *alloc;
    uint32_t nptr;
    uint8_t *ptr;
} arrays_t;

static const vmig_vmsd_field_t arrays_fields[] = {
    VMIG_VMSTATE_UINT16_ARRAY(fixed, arrays_t, 3),
    VMIG_VMSTATE_UINT8_2DARRAY(grid, arrays_t, 2, 3),
    VMIG_VMSTATE_UINT8(n8, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT8(v8, arrays_t, n8, 0, vmig_vmstate_info_uint8, uint8_t),
    VMIG_VMSTATE_UINT16(n16, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT16(v16, arrays_t, n16, 0, vmig_vmstate_info_uint32, uint32_t),
    VMIG_VMSTATE_INT32(n32, arrays_t),
    VMIG_VMSTATE_VARRAY_INT32(v32, arrays_t, n32, 0, vmig_vmstate_info_int16, int16_t),
    VMIG_VMSTATE_UINT32(nu32, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT32(vu32, arrays_t, nu32, 0, vmig_vmstate_info_uint64, uint64_t),
    VMIG_VMSTATE_UINT32(rows, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT32_MULTIPLY(mul, arrays_t, rows, 3, 0, vmig_vmstate_info_uint8,
                                        uint8_t),
    VMIG_VMSTATE_UINT32(nalloc, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT32_ALLOC(alloc, arrays_t, nalloc, 16, 0, vmig_vmstate_info_uint16,
                                     uint16_t),
    VMIG_VMSTATE_UINT32(nptr, arrays_t),
    VMIG_VMSTATE_VARRAY_UINT32_PTR(ptr, arrays_t, nptr, 8, 0, vmig_vmstate_info_uint8, uint8_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t arrays_vmsd = {
    .name = "arrays",
    .version_id = 1,
    .fields = arrays_fields,
};

static const uint8_t expect[] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06,             /* fixed[3] */
    1, 2, 3, 4, 5, 6,                               /* grid[2][3], row by row */
    0x02, 0xa1, 0xa2,                               /* n8, v8[0..1] */
    0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,             /* n16, v16[0] */
    0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0x00, 0x02, 0xff, 0xfd, /* n32, v32[0..2] */
    0x00, 0x00, 0x00, 0x00,                         /* nu32 = 0: no elements */
    0x00, 0x00, 0x00, 0x02, 9, 8, 7, 6, 5, 4,       /* rows, rows x 3 bytes */
    0x00, 0x00, 0x00, 0x02, 0x11, 0x11, 0x22, 0x22, /* nalloc, alloc[0..1] */
    0x00, 0x00, 0x00, 0x03, 7, 8, 9,                /* nptr, ptr[0..2] */
};

static void test_save_exact(void **state)
{
    uint16_t alloc[2] = {0x1111, 0x2222};
    uint8_t ptr[8] = {7, 8, 9, 10};
    arrays_t v = {
        .fixed = {0x0102, 0x0304, 0x0506},
        .grid = {{1, 2, 3}, {4, 5, 6}},
        .n8 = 2, .v8 = {0xa1, 0xa2, 0xa3},
        .n16 = 1, .v16 = {0xdeadbeef, 1},
        .n32 = 3, .v32 = {-1, 2, -3, 4},
        .nu32 = 0, .vu32 = {5, 6},
        .rows = 2, .mul = {9, 8, 7, 6, 5, 4},
        .nalloc = 2, .alloc = alloc,
        .nptr = 3, .ptr = ptr,
    };
    test_bytes_t b = test_save(&arrays_vmsd, &v, NULL);
    vt_assert_bytes(b.data, b.len, expect, sizeof(expect));
    free(b.data);
}

static void test_load_exact(void **state)
{
    uint8_t ptr[8] = {0};
    arrays_t v = {.ptr = ptr};
    uint64_t end;
    assert_int_equal(test_load(&arrays_vmsd, &v, 1, expect, sizeof(expect), NULL, &end), 0);
    assert_int_equal(end, sizeof(expect));
    assert_int_equal(v.fixed[2], 0x0506);
    assert_int_equal(v.grid[1][2], 6);
    assert_int_equal(v.n8, 2);
    assert_int_equal(v.v8[1], 0xa2);
    assert_int_equal(v.v8[2], 0); /* beyond the count: untouched */
    assert_int_equal(v.v16[0], 0xdeadbeef);
    assert_int_equal(v.v32[0], -1);
    assert_int_equal(v.v32[2], -3);
    assert_int_equal(v.mul[5], 4);
    assert_non_null(v.alloc); /* allocated by the loader */
    assert_int_equal(v.alloc[0], 0x1111);
    assert_int_equal(v.alloc[1], 0x2222);
    assert_int_equal(ptr[2], 9);
    assert_int_equal(ptr[3], 0);
    free(v.alloc);
}

/* A zero count on an ALLOC array leaves the pointer NULL (an old block is freed). */
static void test_alloc_empty(void **state)
{
    uint8_t in[sizeof(expect)];
    memcpy(in, expect, sizeof(expect));
    in[48] = 0; /* nalloc = 0 (its low byte is at offset 48) ... */
    uint8_t cut[sizeof(expect)];
    /* ... and drop the 4 alloc bytes that followed it. */
    memcpy(cut, in, 49);
    memcpy(cut + 49, in + 53, sizeof(expect) - 53);
    uint8_t ptr[8];
    arrays_t v = {.ptr = ptr, .alloc = malloc(8)};
    assert_int_equal(test_load(&arrays_vmsd, &v, 1, cut, sizeof(expect) - 4, NULL, NULL), 0);
    assert_null(v.alloc);
    assert_int_equal(v.nalloc, 0);
    assert_int_equal(ptr[2], 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_exact),
        cmocka_unit_test(test_load_exact),
        cmocka_unit_test(test_alloc_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
