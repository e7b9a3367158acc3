/* ram_xbzrle.h — the XBZRLE page delta codec (spec/xbzrle.md §3-4) as pure
 * functions: byte-exact with QEMU 7.2's encoder, a decoder safe on hostile input. */
#ifndef VMIG_RAM_XBZRLE_H
#define VMIG_RAM_XBZRLE_H

#include <stddef.h>
#include <stdint.h>

/* Longest page either function accepts: every run must fit the 2-byte
 * ULEB128 the wire uses (values < 16384). */
#define VMIG_XBZRLE_MAX_LEN 16383u

/* Encodes the difference from old to new (len bytes each, any alignment,
 * len <= VMIG_XBZRLE_MAX_LEN) into dst[0..dst_len): alternating zero-run /
 * changed-run lengths with the changed bytes, the trailing zero run left out,
 * exactly the bytes QEMU 7.2's generic encoder produces, overflow rule
 * included. Returns the encoded length, 0 when the pages are equal (nothing
 * to send), -ENOSPC when the encoding would not fit dst_len (QEMU's -1: send
 * the page whole), -EINVAL when len is too long. Pure, no allocation: safe on
 * pool threads (DESIGN.md). SIMD chosen at run time. */
int vmig_xbzrle_encode(const uint8_t *old, const uint8_t *new, size_t len, uint8_t *dst,
                       size_t dst_len);

/* Applies the delta src[0..slen) onto page[0..page_len) (the page's current
 * contents). Accepts any encoding the grammar allows (not only canonical
 * ones) and checks every length, run and offset first, so a hostile delta
 * never reads outside src or writes outside the page. Returns the number of
 * page bytes covered by the runs (end of the last changed run, 0 for an empty
 * delta) or -EINVAL, in which case the page is left untouched. */
int vmig_xbzrle_decode(const uint8_t *src, size_t slen, uint8_t *page, size_t page_len);

#endif
