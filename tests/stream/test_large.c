/* test_large.c — blocks larger than the 32 KiB buffers go through whole, both
 * ways (a copied put of a big block and a get straight into the caller). */
#include "vmig_test.h"

#include <stdlib.h>

static void test_large_block(void **state)
{
    enum { BIG = 300 * 1000 };
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 131 + i / 977);
    vmig_stream_t *w = vt_mem_writer();
    vmig_stream_put_be16(w, 0xabcd);
    vmig_stream_put_buffer(w, big, BIG);
    /* The caller may change its memory once put_buffer returned. */
    memset(big, 0, 10);
    vmig_stream_put_u8(w, 0x77);
    size_t len;
    const uint8_t *p = vt_written(w, &len);
    assert_int_equal(len, 2 + BIG + 1);
    assert_int_equal(p[0], 0xab);
    assert_int_equal(p[2], (uint8_t)(0 * 131));
    assert_int_equal(p[2 + 5], (uint8_t)(5 * 131));
    assert_int_equal(p[2 + BIG], 0x77);

    vmig_stream_t *r = vt_mem_reader(p, len);
    uint8_t *back = malloc(BIG);
    assert_non_null(back);
    assert_int_equal(vmig_stream_get_be16(r), 0xabcd);
    assert_int_equal(vmig_stream_get_buffer(r, back, BIG), 0);
    assert_memory_equal(back + 10, big + 10, BIG - 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(back[i], (uint8_t)(i * 131));
    assert_int_equal(vmig_stream_tell(r), 2 + BIG);
    assert_int_equal(vmig_stream_get_u8(r), 0x77);
    assert_true(vmig_stream_eof(r));
    vmig_stream_free(r);
    vmig_stream_free(w);
    free(back);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
