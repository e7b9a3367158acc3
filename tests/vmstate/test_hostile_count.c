/* test_hostile_count.c — wire counts and sizes beyond the local capacity (or
 * negative, or over the allocation limit) fail cleanly, nothing overwritten. */
#include "vmstate_test.h"

typedef struct {
    uint8_t n8;
    int32_t n32;
    uint32_t nu32;
    int32_t vlen;
    uint8_t arr[8];
    uint8_t canary[8];
    uint8_t buf[8];
    uint8_t canary2[8];
    uint64_t *alloc;
    uint8_t *abuf;
    int32_t nbits;
    uint64_t bits[1];
    uint8_t canary3[8];
} host_t;

#define VMSD(_name, ...)                                                                 \
    static const vmig_vmsd_field_t _name##_fields[] = {__VA_ARGS__,                    \
                                                        VMIG_VMSTATE_END_OF_LIST()};    \
    static const vmig_vmsd_t _name = {.name = "host", .version_id = 1,                   \
                                      .fields = _name##_fields}

VMSD(varray8, VMIG_VMSTATE_UINT8(n8, host_t),
     VMIG_VMSTATE_VARRAY_UINT8(arr, host_t, n8, 0, vmig_vmstate_info_uint8, uint8_t));
VMSD(varray32, VMIG_VMSTATE_INT32(n32, host_t),
     VMIG_VMSTATE_VARRAY_INT32(arr, host_t, n32, 0, vmig_vmstate_info_uint8, uint8_t));
VMSD(multiply, VMIG_VMSTATE_UINT32(nu32, host_t),
     VMIG_VMSTATE_VARRAY_UINT32_MULTIPLY(arr, host_t, nu32, 3, 0, vmig_vmstate_info_uint8,
                                         uint8_t));
VMSD(vbuffer, VMIG_VMSTATE_INT32(vlen, host_t),
     VMIG_VMSTATE_VBUFFER(buf, host_t, 0, NULL, 0, vlen));
VMSD(vbuffer_start, VMIG_VMSTATE_INT32(vlen, host_t),
     VMIG_VMSTATE_VBUFFER(buf, host_t, 0, NULL, 4, vlen));
VMSD(alloc_varray, VMIG_VMSTATE_UINT32(nu32, host_t),
     VMIG_VMSTATE_VARRAY_UINT32_ALLOC(alloc, host_t, nu32, 16, 0, vmig_vmstate_info_uint64,
                                      uint64_t));
VMSD(alloc_vbuffer, VMIG_VMSTATE_UINT32(nu32, host_t),
     VMIG_VMSTATE_VBUFFER_ALLOC_UINT32(abuf, host_t, 0, nu32, 4096));
/* An ALLOC field without its own capacity: the global limit applies. */
VMSD(alloc_nomax, VMIG_VMSTATE_UINT32(nu32, host_t),
     {.name = "alloc", .offset = offsetof(host_t, alloc), .size = sizeof(uint64_t),
      .info = &vmig_vmstate_info_uint64,
      .flags = VMIG_VMS_VARRAY_UINT32 | VMIG_VMS_POINTER | VMIG_VMS_ALLOC,
      .num_offset = offsetof(host_t, nu32)});
VMSD(bitmap, VMIG_VMSTATE_INT32(nbits, host_t), VMIG_VMSTATE_BITMAP(bits, host_t, 0, nbits));

typedef struct {
    const vmig_vmsd_t *vmsd; /* description to load with */
    uint8_t in[8];           /* the hostile input */
    size_t len;              /* its length */
    const char *msg;         /* the expected message */
} hostile_case_t;

static const hostile_case_t cases[] = {
    {&varray8, {9, 1, 2, 3, 4, 5, 6, 7}, 8, "Failed to load host:arr: count 9 exceeds capacity 8"},
    {&varray8, {0xff}, 1, "Failed to load host:arr: count 255 exceeds capacity 8"},
    {&varray32, {0xff, 0xff, 0xff, 0xff}, 4, "Failed to load host:arr: negative count -1"},
    {&varray32, {0x00, 0x00, 0x01, 0x00}, 4,
     "Failed to load host:arr: count 256 exceeds capacity 8"},
    {&multiply, {0, 0, 0, 3}, 4, "Failed to load host:arr: count 9 exceeds capacity 8"},
    {&multiply, {0xff, 0xff, 0xff, 0xff}, 4,
     "Failed to load host:arr: count 12884901885 exceeds capacity 8"},
    {&vbuffer, {0, 0, 0, 9}, 4,
     "Failed to load host:buf: size 9 (from byte 0) exceeds capacity 8"},
    {&vbuffer, {0x80, 0, 0, 0}, 4, "Failed to load host:buf: negative size -2147483648"},
    {&vbuffer_start, {0, 0, 0, 5}, 4,
     "Failed to load host:buf: size 5 (from byte 4) exceeds capacity 8"},
    {&alloc_varray, {0xff, 0xff, 0xff, 0xff}, 4,
     "Failed to load host:alloc: count 4294967295 exceeds capacity 16"},
    {&alloc_vbuffer, {0x7f, 0xff, 0xff, 0xff}, 4,
     "Failed to load host:abuf: size 2147483647 (from byte 0) exceeds capacity 4096"},
    {&alloc_nomax, {0x10, 0, 0, 0}, 4,
     "Failed to load host:alloc: count 268435456 exceeds capacity 8388608"},
    {&bitmap, {0, 0, 0, 65}, 4, "Failed to load host:bits: size 65 (from byte 0) exceeds capacity 64"},
};

static void test_hostile_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const hostile_case_t *c = &cases[i];
        host_t h;
        memset(&h, 0, sizeof(h));
        memset(h.canary, 0xcc, sizeof(h.canary));
        memset(h.canary2, 0xcc, sizeof(h.canary2));
        memset(h.canary3, 0xcc, sizeof(h.canary3));
        char msg[VMIG_ERROR_MSG_MAX];
        int r = test_load(c->vmsd, &h, 1, c->in, c->len, msg, NULL);
        if (r != -EINVAL || strcmp(msg, c->msg) != 0)
            fprintf(stderr, "case %zu: %d '%s'\n", i, r, msg);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(msg, c->msg);
        for (int k = 0; k < 8; k++) {
            assert_int_equal(h.canary[k], 0xcc);
            assert_int_equal(h.canary2[k], 0xcc);
            assert_int_equal(h.canary3[k], 0xcc);
        }
        assert_null(h.alloc);
        assert_null(h.abuf);
    }
}

/* The same count within capacity loads: the check is not off by one. */
static void test_capacity_exactly(void **state)
{
    static const uint8_t in[] = {8, 1, 2, 3, 4, 5, 6, 7, 8};
    host_t h = {0};
    assert_int_equal(test_load(&varray8, &h, 1, in, sizeof(in), NULL, NULL), 0);
    assert_int_equal(h.arr[7], 8);
    static const uint8_t bits[] = {0, 0, 0, 64, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(test_load(&bitmap, &h, 1, bits, sizeof(bits), NULL, NULL), 0);
    assert_true(h.bits[0] == 0x0102030405060708ull);
}

/* The saver refuses a local count beyond capacity too (a device bug). */
static void test_save_checks_too(void **state)
{
    host_t h = {.n8 = 9};
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_vmstate_save(s, &varray8, &h, NULL), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(s),
                        "Save of field host/arr failed: count 9 exceeds capacity 8");
    vmig_stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_cases),
        cmocka_unit_test(test_capacity_exactly),
        cmocka_unit_test(test_save_checks_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
