/* ram_xbzrle.c — the XBZRLE decoder (spec/xbzrle.md §4): validates a whole
 * delta against its source and page bounds, then patches the page. */
#include "ram/ram_xbzrle.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* The wire's ULEB128 of at most 2 bytes: bytes used, or 0 when it is cut
 * short or longer (a continuation bit in the second byte). */
static size_t get_uleb(const uint8_t *p, size_t avail, size_t *v)
{
    if (avail < 1)
        return 0;
    if (!(p[0] & 0x80)) {
        *v = p[0];
        return 1;
    }
    if (avail < 2 || (p[1] & 0x80))
        return 0;
    *v = (size_t)(p[0] & 0x7f) | (size_t)p[1] << 7;
    return 2;
}

/* One pass over the delta: checks it (apply == false) or applies an already
 * checked one. Two passes so that a bad delta leaves the page untouched; the
 * check pass reads only the varints, so it costs little next to the copies.
 * Returns the end of the last changed run, or -EINVAL. */
static int walk(const uint8_t *src, size_t slen, uint8_t *page, size_t page_len, bool apply)
{
    size_t i = 0, d = 0;
    while (i < slen) {
        size_t zrun, nzrun, k;
        /* A pair needs at least a zrun byte and an nzrun byte. */
        if (slen - i < 2)
            return -EINVAL;
        bool first = i == 0;
        if (!(k = get_uleb(src + i, slen - i, &zrun)))
            return -EINVAL;
        /* Only the very first zero run may be empty (QEMU rejects others). */
        if (!first && zrun == 0)
            return -EINVAL;
        i += k;
        if (zrun > page_len - d)
            return -EINVAL;
        d += zrun;
        if (slen - i < 2) /* the nzrun varint and at least one byte */
            return -EINVAL;
        if (!(k = get_uleb(src + i, slen - i, &nzrun)) || nzrun == 0)
            return -EINVAL;
        i += k;
        if (nzrun > page_len - d || nzrun > slen - i)
            return -EINVAL;
        if (apply)
            memcpy(page + d, src + i, nzrun);
        i += nzrun;
        d += nzrun;
    }
    return (int)d;
}

int vmig_xbzrle_decode(const uint8_t *src, size_t slen, uint8_t *page, size_t page_len)
{
    /* The result is an int: a larger page is no page anyone migrates. */
    if (page_len > INT_MAX)
        return -EINVAL;
    int r = walk(src, slen, page, page_len, false);
    if (r <= 0)
        return r;
    return walk(src, slen, page, page_len, true);
}
