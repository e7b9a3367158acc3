/* test_xbzrle_decode.c — the decoder: the spec's vectors, every malformed
 * form rejected with -EINVAL and the page untouched, non-canonical but valid
 * encodings accepted, and random bytes never reaching outside src or the
 * page (both end at guard pages). */
#include "test_xbzrle_util.h"

static int dec(const char *src, size_t slen, uint8_t *page, size_t plen)
{
    return vmig_xbzrle_decode((const uint8_t *)src, slen, page, plen);
}

static void test_spec_vectors(void **state)
{
    static uint8_t page[XP], want[XP];
    memset(page, 0, XP);
    memset(want, 0, XP);
    assert_int_equal(dec("\x10\x04\x01\x02\x03\x04", 6, page, XP), 0x14);
    memcpy(want + 0x10, "\x01\x02\x03\x04", 4);
    assert_memory_equal(page, want, XP);
    assert_int_equal(dec("\x00\x03\xde\xad\xbe\xfd\x07\x02\xaa\xbb", 10, page, XP), 0x402);
    memcpy(want, "\xde\xad\xbe", 3);
    memcpy(want + 0x400, "\xaa\xbb", 2);
    assert_memory_equal(page, want, XP);
    assert_int_equal(dec("\xff\x1f\x01\x5a", 4, page, XP), XP);
    want[0xfff] = 0x5a;
    assert_memory_equal(page, want, XP);
    assert_int_equal(dec("", 0, page, XP), 0);
    assert_memory_equal(page, want, XP);
}

/* Valid though no encoder of ours writes them: a 2-byte form of a small
 * value, a changed run rewriting a byte with its old value. */
static void test_non_canonical(void **state)
{
    uint8_t page[16] = {0};
    assert_int_equal(dec("\x81\x00\x01\x00", 4, page, 16), 2);
    assert_int_equal(dec("\x00\x01\x07\x01\x81\x00\x09", 7, page, 16), 3);
    assert_int_equal(page[0], 7);
    assert_int_equal(page[2], 9);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x10\x01\x55\x00\x01\x66", 6, "second zrun 0 (rejected by 7.2)"},
        {"\x10", 1, "a lone byte"},
        {"\x10\x04\x01\x02\x03", 5, "nzrun longer than the input"},
        {"\x10\x00\x01", 3, "nzrun 0"},
        {"\x80\x80\x01\x01\x01", 5, "3-byte varint"},
        {"\x01\x80\x80\x01", 4, "3-byte nzrun varint"},
        {"\x80", 1, "cut varint"},
        {"\x01\x01\x05\x02", 4, "pair cut after its zrun"},
        {"\x80\x20\x01\x05", 4, "zrun 4096 leaves no room"},
        {"\xff\x1f\x02\x05\x06", 5, "nzrun past the page end"},
        {"\x00\x01\x05\x01", 4, "pair with only a zrun"},
    };
    static uint8_t page[XP], copy[XP];
    for (size_t i = 0; i < XP; i++)
        page[i] = (uint8_t)i;
    memcpy(copy, page, XP);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = dec(bad[i].s, bad[i].len, page, XP);
        if (r != -EINVAL)
            fail_msg("%s: %d", bad[i].why, r);
        assert_memory_equal(page, copy, XP); /* nothing written, even the valid first pairs */
    }
    /* A first pair that is fine and a second that leaves the page. */
    assert_int_equal(dec("\x00\x01\xee\xff\x1f\x01\xee", 7, page, XP), -EINVAL);
    assert_memory_equal(page, copy, XP);
    /* A page shorter than the runs. */
    assert_int_equal(dec("\x10\x04\x01\x02\x03\x04", 6, page, 0x13), -EINVAL);
    assert_int_equal(dec("\x10\x04\x01\x02\x03\x04", 6, page, 0x14), 0x14);
}

/* Random and mutated-valid deltas against pages of random length ending at
 * a guard page, the delta itself ending at one: no fault, no ASan report, a
 * result within the page, the page untouched on error. */
static void test_random_bytes(void **state)
{
    xt_guard_t gs, gp;
    uint64_t s = 1234567;
    static uint8_t copy[XP];
    for (int iter = 0; iter < 20000; iter++) {
        size_t slen = (size_t)(xt_rand(&s) % 64);
        size_t plen = (size_t)(xt_rand(&s) % (iter & 1 ? 64 : XP + 1));
        uint8_t *src = xt_guard_map(&gs, slen);
        uint8_t *page = xt_guard_map(&gp, plen);
        for (size_t i = 0; i < slen; i++) {
            uint64_t r = xt_rand(&s);
            /* mostly small varints, so that many inputs get deep into the grammar */
            src[i] = (r & 3) ? (uint8_t)(r >> 8) % 12 : (uint8_t)(r >> 8);
        }
        for (size_t i = 0; i < plen; i++)
            page[i] = (uint8_t)xt_rand(&s);
        memcpy(copy, page, plen);
        int r = vmig_xbzrle_decode(src, slen, page, plen);
        if (r < 0) {
            assert_int_equal(r, -EINVAL);
            assert_memory_equal(page, copy, plen);
        } else {
            assert_true((size_t)r <= plen);
        }
        xt_guard_unmap(&gs);
        xt_guard_unmap(&gp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors),
        cmocka_unit_test(test_non_canonical),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
