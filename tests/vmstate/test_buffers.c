/* test_buffers.c — whole, partial and variable buffers (int32/uint32 sizes,
 * start, multiply, alloc, pointer), unused bytes and a bitmap, byte-exact. */
#include "vmstate_test.h"

typedef struct {
    uint8_t whole[4];
    uint8_t part[6];
    uint8_t mid[5];
    int32_t vlen;
    uint8_t vbuf[8];
    uint32_t ulen;
    uint8_t ubuf[8];
    uint32_t units;
    uint8_t mbuf[8];
    uint32_t alen;
    uint8_t *abuf;
    uint8_t *fixedp;
    int32_t nbits;
    uint64_t bits[2];
} bufs_t;

static const vmig_vmsd_field_t bufs_fields[] = {
    VMIG_VMSTATE_BUFFER(whole, bufs_t),
    VMIG_VMSTATE_PARTIAL_BUFFER(part, bufs_t, 2),
    VMIG_VMSTATE_BUFFER_START_MIDDLE(mid, bufs_t, 3),
    VMIG_VMSTATE_INT32(vlen, bufs_t),
    VMIG_VMSTATE_VBUFFER(vbuf, bufs_t, 0, NULL, 1, vlen),
    VMIG_VMSTATE_UINT32(ulen, bufs_t),
    VMIG_VMSTATE_VBUFFER_UINT32(ubuf, bufs_t, 0, NULL, ulen),
    VMIG_VMSTATE_UINT32(units, bufs_t),
    VMIG_VMSTATE_VBUFFER_MULTIPLY(mbuf, bufs_t, 4, 0, NULL, units),
    VMIG_VMSTATE_UNUSED(3),
    VMIG_VMSTATE_UINT32(alen, bufs_t),
    VMIG_VMSTATE_VBUFFER_ALLOC_UINT32(abuf, bufs_t, 0, alen, 64),
    VMIG_VMSTATE_BUFFER_POINTER(fixedp, bufs_t, 0, 3),
    VMIG_VMSTATE_INT32(nbits, bufs_t),
    VMIG_VMSTATE_BITMAP(bits, bufs_t, 0, nbits),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t bufs_vmsd = {
    .name = "bufs",
    .version_id = 1,
    .fields = bufs_fields,
};

static const uint8_t expect[] = {
    'A', 'B', 'C', 'D',                             /* whole */
    'p', 'q',                                       /* part: first 2 bytes */
    '3', '4',                                       /* mid: bytes 3..4 */
    0x00, 0x00, 0x00, 0x03, 'b', 'c', 'd',          /* vlen, vbuf[1..3] */
    0x00, 0x00, 0x00, 0x02, 'X', 'Y',               /* ulen, ubuf[0..1] */
    0x00, 0x00, 0x00, 0x01, 'm', 'm', 'm', 'm',     /* units, 1 x 4 bytes */
    0x00, 0x00, 0x00,                               /* unused */
    0x00, 0x00, 0x00, 0x03, 'k', '1', '!',          /* alen, abuf */
    'p', 't', 'r',                                  /* through a pointer */
    0x00, 0x00, 0x00, 0x46,                         /* nbits = 70: two words */
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
};

static void test_save_exact(void **state)
{
    uint8_t a[3] = {'k', '1', '!'};
    uint8_t p[3] = {'p', 't', 'r'};
    bufs_t v = {
        .whole = "ABCD", .part = "pqrstu", .mid = "01234",
        .vlen = 3, .vbuf = "abcdefgh", .ulen = 2, .ubuf = "XYZXYZXY",
        .units = 1, .mbuf = "mmmmnnnn", .alen = 3, .abuf = a, .fixedp = p,
        .nbits = 70, .bits = {0x8000000000000001ull, 0x20},
    };
    test_bytes_t b = test_save(&bufs_vmsd, &v, NULL);
    vt_assert_bytes(b.data, b.len, expect, sizeof(expect));
    free(b.data);
}

static void test_load_exact(void **state)
{
    uint8_t in[sizeof(expect)];
    memcpy(in, expect, sizeof(in));
    /* Unused bytes are skipped whatever they hold. */
    in[29] = 0xff, in[30] = 0xee, in[31] = 0xdd;
    uint8_t p[3] = {0};
    bufs_t v = {.fixedp = p, .vbuf = "........", .part = "......", .mid = "....."};
    uint64_t end;
    assert_int_equal(test_load(&bufs_vmsd, &v, 1, in, sizeof(in), NULL, &end), 0);
    assert_int_equal(end, sizeof(in));
    assert_memory_equal(v.whole, "ABCD", 4);
    assert_memory_equal(v.part, "pq....", 6);
    assert_memory_equal(v.mid, "...34", 5);
    assert_memory_equal(v.vbuf, ".bcd....", 8);
    assert_memory_equal(v.ubuf, "XY", 2);
    assert_memory_equal(v.mbuf, "mmmm", 4);
    assert_non_null(v.abuf);
    assert_memory_equal(v.abuf, "k1!", 3);
    assert_memory_equal(p, "ptr", 3);
    assert_true(v.bits[0] == 0x8000000000000001ull);
    assert_true(v.bits[1] == 0x20);
    free(v.abuf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_exact),
        cmocka_unit_test(test_load_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
