/* test_put_get_be.c — puts produce exact big-endian bytes, and gets read the
 * same bytes back to the same values with an exact tell(). */
#include "vmig_test.h"

static const uint8_t expect[] = {
    0xa5,                                           /* u8 */
    0x12, 0x34,                                     /* be16 */
    0xde, 0xad, 0xbe, 0xef,                         /* be32 */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* be64 */
    'x', 'y', 'z',                                  /* buffer */
    0xff, 0xff,                                     /* be16 all ones */
    0x00, 0x00, 0x00, 0x00,                         /* be32 zero */
};

static void test_put_exact(void **state)
{
    vmig_stream_t *s = vt_mem_writer();
    vmig_stream_put_u8(s, 0xa5);
    vmig_stream_put_be16(s, 0x1234);
    vmig_stream_put_be32(s, 0xdeadbeef);
    vmig_stream_put_be64(s, 0x0123456789abcdefull);
    vmig_stream_put_buffer(s, "xyz", 3);
    vmig_stream_put_be16(s, 0xffff);
    vmig_stream_put_be32(s, 0);
    assert_int_equal(vmig_stream_bytes_written(s), sizeof(expect));
    assert_int_equal(vmig_stream_tell(s), sizeof(expect));
    size_t len;
    const uint8_t *p = vt_written(s, &len);
    assert_int_equal(len, sizeof(expect));
    assert_memory_equal(p, expect, sizeof(expect));
    assert_int_equal(vmig_stream_error(s), 0);
    assert_string_equal(vmig_stream_error_msg(s), "");
    vmig_stream_free(s);
}

static void test_get_exact(void **state)
{
    vmig_stream_t *s = vt_mem_reader(expect, sizeof(expect));
    assert_int_equal(vmig_stream_tell(s), 0);
    assert_int_equal(vmig_stream_get_u8(s), 0xa5);
    assert_int_equal(vmig_stream_tell(s), 1);
    assert_int_equal(vmig_stream_get_be16(s), 0x1234);
    assert_int_equal(vmig_stream_tell(s), 3);
    assert_int_equal(vmig_stream_get_be32(s), 0xdeadbeef);
    assert_int_equal(vmig_stream_tell(s), 7);
    assert_true(vmig_stream_get_be64(s) == 0x0123456789abcdefull);
    assert_int_equal(vmig_stream_tell(s), 15);
    char buf[3];
    assert_int_equal(vmig_stream_get_buffer(s, buf, 3), 0);
    assert_memory_equal(buf, "xyz", 3);
    assert_int_equal(vmig_stream_get_be16(s), 0xffff);
    assert_int_equal(vmig_stream_get_be32(s), 0);
    assert_int_equal(vmig_stream_tell(s), sizeof(expect));
    assert_true(vmig_stream_eof(s));
    assert_int_equal(vmig_stream_error(s), 0);
    vmig_stream_free(s);
}

/* A round trip of many values crossing the 32 KiB buffer boundary. */
static void test_roundtrip_many(void **state)
{
    vmig_stream_t *w = vt_mem_writer();
    for (uint32_t i = 0; i < 20000; i++) {
        vmig_stream_put_be32(w, i * 2654435761u);
        vmig_stream_put_be16(w, (uint16_t)i);
    }
    size_t len;
    const uint8_t *p = vt_written(w, &len);
    assert_int_equal(len, 20000 * 6);
    vmig_stream_t *r = vt_mem_reader(p, len);
    for (uint32_t i = 0; i < 20000; i++) {
        assert_int_equal(vmig_stream_get_be32(r), i * 2654435761u);
        assert_int_equal(vmig_stream_get_be16(r), (uint16_t)i);
    }
    assert_int_equal(vmig_stream_tell(r), len);
    assert_true(vmig_stream_eof(r));
    vmig_stream_free(r);
    vmig_stream_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_exact),
        cmocka_unit_test(test_get_exact),
        cmocka_unit_test(test_roundtrip_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
