/* test_xbzrle_variants.c — the encoders agree byte for byte with each other
 * and the reference on what pages are not: any alignment of old, new and
 * dst, lengths that are not a multiple of 8 or 64 (0..300 and near a page),
 * buffers ending right at a guard page (no over-read), every dst_len. */
#include "test_xbzrle_util.h"

static void fill(uint8_t *o, uint8_t *n, size_t len, uint64_t *s, unsigned density)
{
    for (size_t i = 0; i < len; i++) {
        o[i] = (uint8_t)xt_rand(s);
        n[i] = (xt_rand(s) % 100) < density ? (uint8_t)(o[i] ^ (1 + xt_rand(s) % 255)) : o[i];
    }
}

static void test_lengths_and_alignment(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = xt_impls(im, 8);
    xt_guard_t go, gn;
    uint64_t s = 42;
    for (size_t len = 0; len <= 300 || (len >= XP - 70 && len <= XP); len++) {
        if (len == 301)
            len = XP - 70;
        for (size_t mis = 0; mis < 3; mis++) {
            /* old and new end at a guard page; mis shifts new off alignment */
            uint8_t *o = xt_guard_map(&go, len);
            uint8_t *n = xt_guard_map(&gn, len + mis) + mis;
            for (unsigned density = 1; density <= 90; density += 44) {
                fill(o, n, len, &s, density);
                for (size_t i = 0; i < k; i++)
                    xt_check(im[i], o, n, len, XP + XP / 2);
            }
            xt_guard_unmap(&go);
            xt_guard_unmap(&gn);
        }
    }
}

/* Every dst_len from 0 to past the encoded size: the encoders stop where
 * QEMU does and never write at or past dst_len. */
static void test_every_dst_len(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = xt_impls(im, 8);
    static uint8_t o[XP], n[XP];
    uint64_t s = 7;
    for (int rep = 0; rep < 4; rep++) {
        fill(o, n, XP, &s, rep == 0 ? 1 : 3 + (unsigned)rep * 4);
        for (size_t dl = 0; dl <= XP + 8; dl++)
            for (size_t i = 0; i < k; i++)
                xt_check(im[i], o, n, XP, dl);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_alignment),
        cmocka_unit_test(test_every_dst_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
