/* test_xbzrle_util.h — what the XBZRLE tests share: the usable encoders, a
 * byte-at-a-time reference encoder written straight from spec/xbzrle.md §3,
 * page patterns and a page between guard pages. */
#ifndef TEST_XBZRLE_UTIL_H
#define TEST_XBZRLE_UTIL_H

#include "vmig_test.h"

#include <errno.h>
#include <sys/mman.h>

#include "ram/ram_xbzrle_impl.h"

#define XP 4096u

/* The usable encoders; the ones this CPU cannot run are named in the log. */
static inline size_t xt_impls(const struct vmig_xbzrle_impl **out, size_t max)
{
    size_t n, k = 0;
    const struct vmig_xbzrle_impl *all = vmig_xbzrle_impls(&n);
    for (size_t i = 0; i < n && k < max; i++) {
        if (all[i].usable())
            out[k++] = &all[i];
        else
            print_message("xbzrle: %s not usable on this CPU, skipped\n", all[i].name);
    }
    return k;
}

static inline size_t xt_put(uint8_t *p, size_t v)
{
    if (v < 128) {
        p[0] = (uint8_t)v;
        return 1;
    }
    p[0] = (uint8_t)(0x80 | (v & 0x7f));
    p[1] = (uint8_t)(v >> 7);
    return 2;
}

/* The spec's encoder a byte at a time, overflow checks in QEMU's order:
 * room for 2 bytes at the start of each pair and after the zrun, the data
 * after the nzrun. -ENOSPC for QEMU's -1. */
static inline int xt_ref_encode(const uint8_t *o, const uint8_t *n, size_t len, uint8_t *dst,
                                size_t dlen)
{
    size_t i = 0, d = 0;
    while (i < len) {
        if (d + 2 > dlen)
            return -ENOSPC;
        size_t z = 0;
        while (i < len && o[i] == n[i])
            i++, z++;
        if (i == len)
            return (int)d;
        d += xt_put(dst + d, z);
        if (d + 2 > dlen)
            return -ENOSPC;
        size_t s = i, c = 0;
        while (i < len && o[i] != n[i])
            i++, c++;
        d += xt_put(dst + d, c);
        if (d + c > dlen)
            return -ENOSPC;
        memcpy(dst + d, n + s, c);
        d += c;
    }
    return (int)d;
}

/* xorshift64*: reproducible pages without libc's rand state. */
static inline uint64_t xt_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* len bytes with an inaccessible page right after them (and one before the
 * mapping's start), so a one-byte overrun faults even without ASan. */
typedef struct xt_guard {
    uint8_t *map;
    size_t maplen;
    uint8_t *p;
} xt_guard_t;

static inline uint8_t *xt_guard_map(xt_guard_t *g, size_t len)
{
    size_t body = (len + XP - 1) / XP * XP;
    g->maplen = body + 2 * XP;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map, XP, PROT_NONE), 0);
    assert_int_equal(mprotect(g->map + XP + body, XP, PROT_NONE), 0);
    g->p = g->map + XP + body - len; /* ends right at the guard */
    return g->p;
}

static inline void xt_guard_unmap(xt_guard_t *g)
{
    munmap(g->map, g->maplen);
}

/* Encodes with im (NULL: the reference), checks the bytes against the
 * reference and the round trip through the decoder; returns the length. */
static inline int xt_check(const struct vmig_xbzrle_impl *im, const uint8_t *o, const uint8_t *n,
                           size_t len, size_t dlen)
{
    static uint8_t want[3 * XP], got[3 * XP], page[XP];
    assert_true(dlen <= sizeof got && len <= XP);
    int rw = xt_ref_encode(o, n, len, want, dlen);
    memset(got, 0xa5, sizeof got);
    int r = im->encode(o, n, len, got, dlen);
    if (r != rw)
        fail_msg("%s: encoded %d, reference %d (len %zu, dlen %zu)", im->name, r, rw, len, dlen);
    for (size_t k = (r > 0 ? (size_t)r : 0); k < sizeof got; k++)
        if (got[k] != 0xa5 && k >= dlen)
            fail_msg("%s wrote byte %zu past dst_len %zu", im->name, k, dlen);
    if (r > 0) {
        if (memcmp(got, want, (size_t)r))
            fail_msg("%s: bytes differ from the reference (len %zu)", im->name, len);
        memcpy(page, o, len);
        int dr = vmig_xbzrle_decode(got, (size_t)r, page, len);
        assert_true(dr > 0 && (size_t)dr <= len);
        if (memcmp(page, n, len))
            fail_msg("%s: round trip does not give the new page (len %zu)", im->name, len);
        /* The decoder covers up to the end of the last changed run. */
        size_t last = len;
        while (last > 0 && o[last - 1] == n[last - 1])
            last--;
        assert_int_equal((size_t)dr, last);
    } else if (r == 0) {
        assert_memory_equal(o, n, len);
    }
    return r;
}

#endif
