/* ram_xbzrle_walk.h — the block-mask XBZRLE encoder body, included once per
 * SIMD variant by ram_xbzrle_encode.c (a template: C has no other way to get
 * the per-ISA helpers inlined into a function compiled for that ISA).
 *
 * Before including, define:
 *   XB_NAME          the function to define (vmig_xbzrle_encode_fn)
 *   XB_ATTR          its target attribute (may be empty)
 *   XB_MASK64(a, b)  uint64_t, bit k set when a[k] == b[k], k < 64
 *   XB_ALLEQ64(a, b) nonzero when the 64 bytes at a and b are equal
 * and have xb_put_uleb() and xb_tail_mask() in scope. */

static XB_ATTR int XB_NAME(const uint8_t *old, const uint8_t *new, size_t len, uint8_t *dst,
                           size_t dst_len)
{
    if (len > VMIG_XBZRLE_MAX_LEN)
        return -EINVAL;
    const size_t full = len & ~(size_t)63; /* end of the whole 64-byte blocks */
    size_t i = 0, d = 0;                   /* input position, output length (d <= dst_len) */
    size_t b = 0;                          /* block holding the scan position */
    /* Mask of block b, bit k = (old[b+k] == new[b+k]); in the short last
     * block the bits past len are 0 ("differ") so a zero run stops at len. */
    uint64_t m = full ? XB_MASK64(old, new) : xb_tail_mask(old, new, len);

    while (i < len) {
        /* QEMU checks room for two varint bytes at the start of every pair,
         * even one that turns out to be the (unsent) trailing zero run:
         * keeping that order keeps our -ENOSPC cases identical to its -1. */
        if (dst_len - d < 2)
            return -ENOSPC;

        /* Zero run from i: the first differing byte. */
        uint64_t t = ~m & (~UINT64_C(0) << (i & 63));
        if (!t) {
            /* Whole equal blocks: the hot loop of a lightly dirtied page. */
            for (b += 64; b < full && XB_ALLEQ64(old + b, new + b); b += 64)
                ;
            if (b >= len)
                return (int)d; /* trailing zero run: not encoded */
            m = b < full ? XB_MASK64(old + b, new + b) : xb_tail_mask(old + b, new + b, len - b);
            t = ~m; /* non-zero: the block is not all equal, or is the short last one */
        }
        size_t j = b + (size_t)__builtin_ctzll(t);
        if (j >= len)
            return (int)d; /* only the bits past len were "different" */
        d += xb_put_uleb(dst + d, j - i);
        if (dst_len - d < 2)
            return -ENOSPC;

        /* Changed run from j: the first equal byte, or len. */
        t = m & (~UINT64_C(0) << (j & 63));
        while (!t) {
            b += 64;
            if (b >= len)
                break;
            m = b < full ? XB_MASK64(old + b, new + b) : xb_tail_mask(old + b, new + b, len - b);
            t = m;
        }
        size_t k = t ? b + (size_t)__builtin_ctzll(t) : len;
        if (k > len) /* cannot happen: bits past len are 0 */
            k = len;
        d = xb_put_run(dst, d, dst_len, new, j, k);
        if (d == 0)
            return -ENOSPC;
        i = k;
        /* The run ended inside block b (or at len): m still describes it. */
    }
    return (int)d;
}

#undef XB_NAME
#undef XB_ATTR
#undef XB_MASK64
#undef XB_ALLEQ64
