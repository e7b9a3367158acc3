/* test_xbzrle_roundtrip.c — every encoder, on random and adversarial page
 * pairs, gives the spec's canonical bytes (a byte-at-a-time reference) and
 * decodes back to the new page: all equal, all different, alternating runs
 * of every period, runs at 8/16/32/64-byte boundaries, one changed byte at
 * every offset, random writes, the overflow case. */
#include "test_xbzrle_util.h"

static uint8_t o[XP], n[XP];

static size_t impls(const struct vmig_xbzrle_impl **im)
{
    size_t k = xt_impls(im, 8);
    assert_true(k >= 1);
    return k;
}

static void all(const struct vmig_xbzrle_impl **im, size_t k)
{
    for (size_t i = 0; i < k; i++)
        xt_check(im[i], o, n, XP, XP);
}

static void test_equal_and_all_different(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    memset(o, 0x5c, XP);
    memcpy(n, o, XP);
    all(im, k);
    for (size_t i = 0; i < k; i++)
        assert_int_equal(im[i]->encode(o, n, XP, (uint8_t[XP]){0}, XP), 0);
    memset(n, 0x5d, XP);
    all(im, k);
}

/* One changed byte at every offset, with a value differing in one low bit,
 * the high bit, or all bits. */
static void test_single_byte_everywhere(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    memset(o, 0, XP);
    memset(n, 0, XP);
    static const uint8_t vals[] = {0x01, 0x80, 0xff};
    for (size_t pos = 0; pos < XP; pos++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            n[pos] = vals[v];
            for (size_t i = 0; i < k; i++)
                assert_true(xt_check(im[i], o, n, XP, XP) > 0);
        }
        n[pos] = 0;
    }
}

/* Alternating equal/changed runs of lengths a and b (1..70), from every
 * phase, so run ends fall on every position of words and blocks. */
static void test_alternating_runs(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    memset(o, 0x10, XP);
    for (size_t a = 1; a <= 70; a += (a < 20 ? 1 : 7)) {
        for (size_t b = 1; b <= 70; b += (b < 20 ? 1 : 7)) {
            for (size_t phase = 0; phase < 3; phase++) {
                size_t start = phase * 5;
                memcpy(n, o, XP);
                for (size_t p = start; p < XP; p += a + b)
                    for (size_t q = p; q < p + b && q < XP; q++)
                        n[q] = (uint8_t)(q * 7 + 0x33) == 0x10 ? 0x11 : (uint8_t)(q * 7 + 0x33);
                all(im, k); /* many of these overflow: checked the same way */
            }
        }
    }
}

/* Runs of 1..96 bytes starting at every offset around the 8/16/32/64-byte
 * boundaries of the first 256 bytes and of the page's end. */
static void test_runs_at_boundaries(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    memset(o, 0xaa, XP);
    static const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96};
    for (size_t s = 0; s < 256; s++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t starts[2] = {s, XP - lens[l] - (s % 70)};
            for (size_t t = 0; t < 2; t++) {
                memcpy(n, o, XP);
                memset(n + starts[t], 0x55, lens[l]);
                all(im, k);
            }
        }
    }
}

/* Random pages with guest-like writes: a random number of runs of random
 * lengths and values (some bytes written with their old value), plus fully
 * random pairs; a few dst_len values around the result for the overflow
 * decision. */
static void test_random(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (int iter = 0; iter < 3000; iter++) {
        for (size_t i = 0; i < XP; i += 8) {
            uint64_t r = xt_rand(&s);
            memcpy(o + i, &r, 8);
        }
        if (iter % 10 == 9) { /* sparse byte noise over small alphabets: many 1-byte runs */
            for (size_t i = 0; i < XP; i++) {
                o[i] &= 1;
                n[i] = (uint8_t)(xt_rand(&s) & 1);
            }
        } else {
            memcpy(n, o, XP);
            unsigned writes = (unsigned)(xt_rand(&s) % 200);
            for (unsigned w = 0; w < writes; w++) {
                size_t len = 1 + (size_t)(xt_rand(&s) % ((w & 3) == 0 ? 300 : 12));
                size_t at = (size_t)(xt_rand(&s) % XP);
                for (size_t q = at; q < at + len && q < XP; q++)
                    n[q] = (xt_rand(&s) & 7) ? (uint8_t)xt_rand(&s) : o[q];
            }
        }
        int r0 = xt_ref_encode(o, n, XP, (uint8_t[XP]){0}, XP);
        for (size_t i = 0; i < k; i++) {
            xt_check(im[i], o, n, XP, XP);
            if (r0 > 2) {
                xt_check(im[i], o, n, XP, (size_t)r0 - 1);
                xt_check(im[i], o, n, XP, (size_t)r0 - 2);
                xt_check(im[i], o, n, XP, (size_t)r0 / 2);
            }
        }
    }
}

/* The spec's example 7 and its neighbours: overflow is -ENOSPC everywhere. */
static void test_overflow(void **state)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t k = impls(im);
    memset(o, 0, XP);
    memset(n, 0, XP);
    for (size_t i = 0; i < XP; i += 2)
        n[i] = 1;
    for (size_t i = 0; i < k; i++)
        assert_int_equal(xt_check(im[i], o, n, XP, XP), -ENOSPC);
    assert_int_equal(vmig_xbzrle_encode(o, n, XP, (uint8_t[XP]){0}, XP), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_and_all_different),
        cmocka_unit_test(test_single_byte_everywhere),
        cmocka_unit_test(test_alternating_runs),
        cmocka_unit_test(test_runs_at_boundaries),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
