/* test_xbzrle_vectors.c — the encoder's exact bytes on vectors worked out by
 * hand from spec/xbzrle.md §3 and §7 (examples 1-7, varint edges, QEMU's
 * overflow boundaries), for every encoder and the dispatcher. */
#include "test_xbzrle_util.h"

static uint8_t old_p[XP], new_p[XP], out[2 * XP];

/* Every usable encoder and vmig_xbzrle_encode give exactly want (wlen bytes,
 * or the result wlen when it is <= 0), with dst_len dlen. */
static void expect(const uint8_t *want, int wlen, size_t dlen)
{
    const struct vmig_xbzrle_impl *im[8];
    size_t n = xt_impls(im, 8);
    for (size_t k = 0; k <= n; k++) {
        memset(out, 0, sizeof out);
        int r = k < n ? im[k]->encode(old_p, new_p, XP, out, dlen)
                      : vmig_xbzrle_encode(old_p, new_p, XP, out, dlen);
        const char *name = k < n ? im[k]->name : "dispatch";
        if (r != wlen)
            fail_msg("%s: %d, want %d", name, r, wlen);
        if (wlen > 0 && want && memcmp(out, want, (size_t)wlen))
            fail_msg("%s: bytes differ", name);
    }
}

static void reset(uint8_t o, uint8_t n)
{
    memset(old_p, o, XP);
    memset(new_p, n, XP);
}

static void test_spec_examples(void **state)
{
    /* 1: bytes 0x10..0x13 = 01 02 03 04 */
    reset(0, 0);
    memcpy(new_p + 0x10, "\x01\x02\x03\x04", 4);
    expect((const uint8_t *)"\x10\x04\x01\x02\x03\x04", 6, XP);
    /* 2: de ad be at 0, aa bb at 0x400 */
    reset(0, 0);
    memcpy(new_p, "\xde\xad\xbe", 3);
    memcpy(new_p + 0x400, "\xaa\xbb", 2);
    expect((const uint8_t *)"\x00\x03\xde\xad\xbe\xfd\x07\x02\xaa\xbb", 10, XP);
    /* 3: last byte */
    reset(0, 0);
    new_p[0xfff] = 0x5a;
    expect((const uint8_t *)"\xff\x1f\x01\x5a", 4, XP);
    /* 4: a write of the same value is no change */
    reset(0x11, 0x11);
    new_p[0x80] = 0x11;
    new_p[0x81] = 0x22;
    expect((const uint8_t *)"\x81\x01\x01\x22", 4, XP);
    /* 5: 200 bytes at 100 */
    reset(0, 0);
    memset(new_p + 100, 7, 200);
    uint8_t w5[203] = {0x64, 0xc8, 0x01};
    memset(w5 + 3, 7, 200);
    expect(w5, 203, XP);
    /* 6: unchanged */
    reset(0x33, 0x33);
    expect(NULL, 0, XP);
    /* 7: every even byte changed: 3 bytes per 2-byte period, overflow */
    reset(0, 0);
    for (size_t i = 0; i < XP; i += 2)
        new_p[i] = 1;
    expect(NULL, -ENOSPC, XP);
    /* the real 7.2 record: 0x46c now 0x6a */
    reset(0, 0);
    new_p[0x46c] = 0x6a;
    expect((const uint8_t *)"\xec\x08\x01\x6a", 4, XP);
}

/* Run lengths at the 1/2-byte varint edge, runs across 8/16/32/64-byte
 * boundaries, a run ending exactly at the page end. */
static void test_varint_and_boundaries(void **state)
{
    reset(0, 0);
    new_p[127] = 9;  /* zrun 127: one byte */
    expect((const uint8_t *)"\x7f\x01\x09", 3, XP);
    reset(0, 0);
    new_p[128] = 9;  /* zrun 128: 80 01 */
    expect((const uint8_t *)"\x80\x01\x01\x09", 4, XP);
    reset(0, 0);
    memset(new_p + 62, 0xee, 4); /* across the 64-byte block edge */
    expect((const uint8_t *)"\x3e\x04\xee\xee\xee\xee", 6, XP);
    reset(0, 0);
    memset(new_p + 7, 0xee, 2);  /* across the 8-byte word edge */
    memset(new_p + 31, 0xdd, 2); /* and the 32-byte one, separated by a zrun of 22 */
    expect((const uint8_t *)"\x07\x02\xee\xee\x16\x02\xdd\xdd", 8, XP);
    /* nzrun of 128 ending at the page end: 0x f80 zero bytes first */
    reset(0, 0);
    memset(new_p + XP - 128, 0x42, 128);
    uint8_t w[132] = {0x80, 0x1f, 0x80, 0x01};
    memset(w + 4, 0x42, 128);
    expect(w, 132, XP);
}

/* QEMU's overflow rule, at its exact edges (spec §3): the encoding may be a
 * full 4096 bytes when it ends with a changed run, but a pair needs two free
 * bytes at its start even when the rest of the page is unchanged. */
static void test_overflow_edges(void **state)
{
    /* zrun 3 (1 byte) + nzrun 4093 (2 bytes) + 4093 bytes = 4096 exactly */
    reset(0, 0);
    memset(new_p + 3, 0xff, XP - 3);
    static uint8_t w[XP];
    w[0] = 3;
    w[1] = (uint8_t)(0x80 | (4093 & 0x7f));
    w[2] = (uint8_t)(4093 >> 7);
    memset(w + 3, 0xff, XP - 3);
    expect(w, XP, XP);
    expect(NULL, -ENOSPC, XP - 1);
    /* zrun 0 + nzrun 4092 + 4092 bytes = 4095, then 4 equal bytes: QEMU
     * gives up at the next pair's start (4095 + 2 > 4096). */
    reset(0, 0);
    memset(new_p, 0xff, 4092);
    expect(NULL, -ENOSPC, XP);
    /* nzrun 4091: 4094 bytes, two free: the trailing zero run ends it */
    reset(0, 0);
    memset(new_p, 0xff, 4091);
    w[0] = 0;
    w[1] = (uint8_t)(0x80 | (4091 & 0x7f));
    w[2] = (uint8_t)(4091 >> 7);
    memset(w + 3, 0xff, 4091);
    expect(w, 4094, XP);
    /* the whole page changed: 00 80 20 + 4096 bytes > 4096 */
    reset(0, 1);
    expect(NULL, -ENOSPC, XP);
    /* equal pages with fewer than 2 bytes of room: QEMU checks room first */
    reset(5, 5);
    expect(NULL, -ENOSPC, 1);
    expect(NULL, 0, 2);
}

static void test_bad_length(void **state)
{
    static uint8_t big_o[VMIG_XBZRLE_MAX_LEN + 1], big_n[VMIG_XBZRLE_MAX_LEN + 1];
    const struct vmig_xbzrle_impl *im[8];
    size_t n = xt_impls(im, 8);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(im[k]->encode(big_o, big_n, sizeof big_o, out, sizeof out), -EINVAL);
        assert_int_equal(im[k]->encode(big_o, big_n, 0, out, sizeof out), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_varint_and_boundaries),
        cmocka_unit_test(test_overflow_edges),
        cmocka_unit_test(test_bad_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
