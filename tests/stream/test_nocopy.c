/* test_nocopy.c — zero-copy blocks go out in stream order, interleaved with
 * copied bytes, across iovec-array and buffer flushes. */
#include "vmig_test.h"

#include <stdlib.h>

static void test_interleaved(void **state)
{
    static const uint8_t page_a[16] = "AAAAAAAAAAAAAAAA";
    static const uint8_t page_b[8] = "BBBBBBBB";
    vmig_stream_t *s = vt_mem_writer();
    vmig_stream_put_u8(s, 1);
    vmig_stream_put_buffer_nocopy(s, page_a, sizeof(page_a));
    vmig_stream_put_be16(s, 0x0203);
    vmig_stream_put_buffer_nocopy(s, page_b, sizeof(page_b));
    vmig_stream_put_buffer_nocopy(s, page_a, 4);
    vmig_stream_put_u8(s, 4);
    assert_int_equal(vmig_stream_bytes_written(s), 1 + 16 + 2 + 8 + 4 + 1);
    size_t len;
    const uint8_t *p = vt_written(s, &len);
    uint8_t expect[32];
    size_t n = 0;
    expect[n++] = 1;
    memcpy(expect + n, page_a, 16), n += 16;
    expect[n++] = 2;
    expect[n++] = 3;
    memcpy(expect + n, page_b, 8), n += 8;
    memcpy(expect + n, page_a, 4), n += 4;
    expect[n++] = 4;
    assert_int_equal(len, n);
    assert_memory_equal(p, expect, n);
    vmig_stream_free(s);
}

/* More pieces than the iovec array holds, and more copied bytes than the copy
 * buffer holds: the order survives every flush. */
static void test_many_pieces(void **state)
{
    enum { PIECES = 1000, PAGE = 100 };
    uint8_t *pages = malloc(PIECES * PAGE);
    assert_non_null(pages);
    for (size_t i = 0; i < PIECES * PAGE; i++)
        pages[i] = (uint8_t)(i * 7 + 3);
    vmig_stream_t *s = vt_mem_writer();
    for (uint32_t i = 0; i < PIECES; i++) {
        vmig_stream_put_be32(s, i);
        /* Pages are not adjacent in the order queued: every other one. */
        uint32_t k = (i * 2) % PIECES + (i * 2 >= PIECES);
        vmig_stream_put_buffer_nocopy(s, pages + (size_t)k * PAGE, PAGE);
        uint8_t filler[50];
        memset(filler, (int)(i & 0xff), sizeof(filler));
        vmig_stream_put_buffer(s, filler, sizeof(filler));
    }
    size_t len;
    const uint8_t *p = vt_written(s, &len);
    assert_int_equal(len, (size_t)PIECES * (4 + PAGE + 50));
    for (uint32_t i = 0; i < PIECES; i++) {
        const uint8_t *rec = p + (size_t)i * (4 + PAGE + 50);
        assert_int_equal((uint32_t)rec[0] << 24 | rec[1] << 16 | rec[2] << 8 | rec[3], i);
        uint32_t k = (i * 2) % PIECES + (i * 2 >= PIECES);
        assert_memory_equal(rec + 4, pages + (size_t)k * PAGE, PAGE);
        for (int j = 0; j < 50; j++)
            assert_int_equal(rec[4 + PAGE + j], i & 0xff);
    }
    vmig_stream_free(s);
    free(pages);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_many_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
