/* test_peek.c — peek shows the next bytes without consuming them, up to 512,
 * fewer only at the end of the stream (not an error), across buffer refills. */
#include "vmig_test.h"

#include <stdlib.h>

static void test_peek_basic(void **state)
{
    static const uint8_t in[] = {0x05, 0x0b, 'm', 'y', 'd', 'e', 'v'};
    vmig_stream_t *s = vt_mem_reader(in, sizeof(in));
    uint8_t b[16];
    assert_int_equal(vmig_stream_peek(s, b, 2), 2);
    assert_int_equal(b[0], 0x05);
    assert_int_equal(b[1], 0x0b);
    assert_int_equal(vmig_stream_tell(s), 0);
    /* Asking for more than there is returns what there is. */
    assert_int_equal(vmig_stream_peek(s, b, 16), 7);
    assert_memory_equal(b, in, 7);
    assert_int_equal(vmig_stream_error(s), 0);
    assert_int_equal(vmig_stream_get_u8(s), 0x05);
    assert_int_equal(vmig_stream_peek(s, b, 1), 1);
    assert_int_equal(b[0], 0x0b);
    assert_int_equal(vmig_stream_tell(s), 1);
    assert_int_equal(vmig_stream_skip(s, 6), 0);
    assert_int_equal(vmig_stream_peek(s, b, 1), 0);
    assert_int_equal(vmig_stream_error(s), 0);
    assert_true(vmig_stream_eof(s));
    /* More than 512 is refused without poisoning the stream. */
    uint8_t big[513];
    assert_int_equal(vmig_stream_peek(s, big, sizeof(big)), -EINVAL);
    assert_int_equal(vmig_stream_error(s), 0);
    vmig_stream_free(s);
}

/* A 512-byte peek that straddles the end of the read-ahead buffer. */
static void test_peek_across_refill(void **state)
{
    enum { LEN = 40000 };
    uint8_t *in = malloc(LEN);
    assert_non_null(in);
    for (size_t i = 0; i < LEN; i++)
        in[i] = (uint8_t)(i ^ (i >> 8));
    vmig_stream_t *s = vt_mem_reader(in, LEN);
    uint8_t b[512];
    for (size_t off = 0; off + 512 <= LEN; off += 509) {
        assert_int_equal(vmig_stream_tell(s), off);
        assert_int_equal(vmig_stream_peek(s, b, 512), 512);
        assert_memory_equal(b, in + off, 512);
        assert_int_equal(vmig_stream_skip(s, 509), 0);
    }
    vmig_stream_free(s);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peek_basic),
        cmocka_unit_test(test_peek_across_refill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
