/* test_skip.c — skip discards exactly len bytes, lengths far larger than the
 * buffer included, without allocating; a skip past the end is a truncation. */
#include "vmig_test.h"

#include <stdlib.h>

static void test_skip_exact(void **state)
{
    enum { LEN = 200003 };
    uint8_t *in = malloc(LEN);
    assert_non_null(in);
    for (size_t i = 0; i < LEN; i++)
        in[i] = (uint8_t)(i * 13);
    vmig_stream_t *s = vt_mem_reader(in, LEN);
    assert_int_equal(vmig_stream_skip(s, 0), 0);
    assert_int_equal(vmig_stream_skip(s, 3), 0);
    assert_int_equal(vmig_stream_get_u8(s), (uint8_t)(3 * 13));
    assert_int_equal(vmig_stream_skip(s, 150000), 0);
    assert_int_equal(vmig_stream_tell(s), 150004);
    assert_int_equal(vmig_stream_get_u8(s), (uint8_t)(150004 * 13));
    assert_int_equal(vmig_stream_skip(s, LEN - 150005), 0);
    assert_true(vmig_stream_eof(s));
    vmig_stream_free(s);
    free(in);
}

static void test_skip_past_end(void **state)
{
    static const uint8_t in[100];
    vmig_stream_t *s = vt_mem_reader(in, sizeof(in));
    /* A huge length (e.g. one a hostile stream announced) ends at the end. */
    assert_int_equal(vmig_stream_skip(s, UINT64_MAX), -EIO);
    assert_string_equal(vmig_stream_error_msg(s), "stream truncated at byte offset 100");
    assert_int_equal(vmig_stream_tell(s), 100);
    vmig_stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skip_exact),
        cmocka_unit_test(test_skip_past_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
