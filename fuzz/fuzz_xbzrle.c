/* fuzz_xbzrle.c — libFuzzer harness of the XBZRLE codec (src/ram/ram_xbzrle*):
 * the decoder on arbitrary input against a page between guard pages, and
 * every encoder's round trip on a page pair derived from the input.
 *
 * Input: byte 0 picks the mode. Even: decode data[1..] onto a 4 KiB page
 * (the input itself copied to a buffer ending at a guard page); the result
 * must be -EINVAL with the page untouched, or a length within the page.
 * Odd: old = a page filled from data[1..] cyclically; new = old with the
 * rest of the input applied as (offset_lo, offset_hi, len, value) writes;
 * every usable encoder must give the same result, and when positive it must
 * decode old back into new. Seeds: fuzz/corpus/fuzz_xbzrle/ (spec examples
 * as deltas, malformed deltas, write lists). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ram/ram_xbzrle_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PAGE 4096u

/* n bytes ending right before an inaccessible page; map/maplen to unmap. */
static uint8_t *fz_guarded(size_t n, uint8_t **map, size_t *maplen)
{
    size_t body = (n + FZ_PAGE - 1) / FZ_PAGE * FZ_PAGE;
    *maplen = body + 2 * FZ_PAGE;
    *map = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*map == MAP_FAILED)
        __builtin_trap();
    if (mprotect(*map, FZ_PAGE, PROT_NONE) || mprotect(*map + FZ_PAGE + body, FZ_PAGE, PROT_NONE))
        __builtin_trap();
    return *map + FZ_PAGE + body - n;
}

static void fz_decode(const uint8_t *in, size_t n)
{
    uint8_t *smap, *pmap;
    size_t slen, plen;
    uint8_t *src = fz_guarded(n, &smap, &slen);
    uint8_t *page = fz_guarded(FZ_PAGE, &pmap, &plen);
    static uint8_t copy[FZ_PAGE];
    if (n)
        memcpy(src, in, n);
    for (size_t i = 0; i < FZ_PAGE; i++)
        page[i] = (uint8_t)(i * 31);
    memcpy(copy, page, FZ_PAGE);
    int r = vmig_xbzrle_decode(src, n, page, FZ_PAGE);
    if (r < 0 ? (r != -EINVAL || memcmp(page, copy, FZ_PAGE)) : r > (int)FZ_PAGE)
        __builtin_trap();
    munmap(smap, slen);
    munmap(pmap, plen);
}

static void fz_roundtrip(const uint8_t *in, size_t n)
{
    static uint8_t old[FZ_PAGE], new[FZ_PAGE], page[FZ_PAGE], enc[FZ_PAGE], first[FZ_PAGE];
    size_t fill = n < 64 ? n : 64;
    for (size_t i = 0; i < FZ_PAGE; i++)
        old[i] = fill ? in[i % fill] : 0;
    memcpy(new, old, FZ_PAGE);
    for (size_t w = fill; w + 4 <= n; w += 4) {
        size_t off = (size_t)(in[w] | in[w + 1] << 8) % FZ_PAGE;
        for (size_t k = 0; k <= in[w + 2] && off + k < FZ_PAGE; k++)
            new[off + k] = in[w + 3];
    }
    size_t nimpl;
    const struct vmig_xbzrle_impl *im = vmig_xbzrle_impls(&nimpl);
    int r0 = 0;
    for (size_t k = 0; k < nimpl; k++) {
        if (!im[k].usable())
            continue;
        int r = im[k].encode(old, new, FZ_PAGE, enc, FZ_PAGE);
        if (k == 0) {
            r0 = r;
            if (r > 0)
                memcpy(first, enc, (size_t)r);
        } else if (r != r0 || (r > 0 && memcmp(first, enc, (size_t)r))) {
            __builtin_trap(); /* the variants disagree */
        }
        if (r < 0 ? r != -ENOSPC : (r == 0) != !memcmp(old, new, FZ_PAGE))
            __builtin_trap();
        if (r > 0) {
            memcpy(page, old, FZ_PAGE);
            if (vmig_xbzrle_decode(enc, (size_t)r, page, FZ_PAGE) <= 0 ||
                memcmp(page, new, FZ_PAGE))
                __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fz_roundtrip(data + 1, size - 1);
    else
        fz_decode(data + 1, size - 1);
    return 0;
}
