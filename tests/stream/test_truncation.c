/* test_truncation.c — every prefix of a small stream: reads that fit succeed, the
 * first that does not fails with -EIO at the offset where the prefix ends. */
#include "vmig_test.h"

#include <stdio.h>

/* u8, be16, be32, be64, 3-byte buffer, counted string "ab", skip 2, u8 */
static const uint8_t full[] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
    0x0d, 0x0e, 0x0f, 'x', 'y', 'z', 0x02, 'a', 'b', 0xee, 0xee, 0x99,
};
/* Offset where each read ends. */
static const size_t ends[] = {1, 3, 7, 15, 18, 21, 23, 24};

/* Run the reads on s; returns how many succeeded. */
static int run_reads(vmig_stream_t *s)
{
    char buf[256];
    for (int step = 0; step < 8; step++) {
        int r = 0;
        switch (step) {
        case 0: vmig_stream_get_u8(s); break;
        case 1: vmig_stream_get_be16(s); break;
        case 2: vmig_stream_get_be32(s); break;
        case 3: vmig_stream_get_be64(s); break;
        case 4: r = vmig_stream_get_buffer(s, buf, 3); break;
        case 5: r = vmig_stream_get_counted_string(s, buf); break;
        case 6: r = vmig_stream_skip(s, 2); break;
        default: vmig_stream_get_u8(s); break;
        }
        if (r < 0 || vmig_stream_error(s))
            return step;
    }
    return 8;
}

static void test_every_prefix(void **state)
{
    for (size_t cut = 0; cut <= sizeof(full); cut++) {
        vmig_stream_t *s = vt_mem_reader(full, cut);
        int ok = run_reads(s);
        int expect_ok = 0;
        while (expect_ok < 8 && ends[expect_ok] <= cut)
            expect_ok++;
        assert_int_equal(ok, expect_ok);
        if (cut == sizeof(full)) {
            assert_int_equal(vmig_stream_error(s), 0);
            assert_true(vmig_stream_eof(s));
        } else {
            char msg[64];
            snprintf(msg, sizeof(msg), "stream truncated at byte offset %zu", cut);
            assert_int_equal(vmig_stream_error(s), -EIO);
            assert_string_equal(vmig_stream_error_msg(s), msg);
            assert_int_equal(vmig_stream_tell(s), cut);
        }
        vmig_stream_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
