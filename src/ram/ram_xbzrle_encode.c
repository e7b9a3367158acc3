/* ram_xbzrle_encode.c — the XBZRLE encoders (spec/xbzrle.md §3): QEMU's scalar
 * word-at-a-time walk, and SSE2/AVX2 walks over 64-byte equality masks, all
 * producing the same canonical bytes; the dispatch picks one per CPU. */
#include "ram/ram_xbzrle_impl.h"

#include <errno.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define XB_X86 1
#include <immintrin.h>
#endif

/* ---- shared pieces ------------------------------------------------------------- */

/* The wire's 2-byte ULEB128; v < 16384 because len <= VMIG_XBZRLE_MAX_LEN. */
static inline size_t xb_put_uleb(uint8_t *p, size_t v)
{
    if (v < 0x80) {
        p[0] = (uint8_t)v;
        return 1;
    }
    p[0] = (uint8_t)((v & 0x7f) | 0x80);
    p[1] = (uint8_t)(v >> 7);
    return 2;
}

/* Append the changed run new[j, k): its length, then its bytes. Returns the
 * new output length, or 0 when the bytes would not fit in dst_len (the
 * caller's -ENOSPC; QEMU checks after writing the length, as here). */
static inline size_t xb_put_run(uint8_t *dst, size_t d, size_t dst_len, const uint8_t *new,
                                size_t j, size_t k)
{
    size_t n = k - j;
    d += xb_put_uleb(dst + d, n);
    if (n > dst_len - d)
        return 0;
    memcpy(dst + d, new + j, n);
    return d + n;
}

/* Equality mask of the n < 64 bytes of a short last block; bits past n are 0. */
static inline uint64_t xb_tail_mask(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t m = 0;
    for (size_t k = 0; k < n; k++)
        m |= (uint64_t)(a[k] == b[k]) << k;
    return m;
}

static bool usable_always(void)
{
    return true;
}

/* ---- scalar: 8 bytes per step, as QEMU's generic encoder ------------------------- */

/* Little-endian load whatever the host, so byte k of the buffer is bits
 * 8k..8k+7 and a trailing-zero count finds the first byte of interest;
 * memcpy because the pages need not be aligned. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* First i' >= i with a[i'] != b[i'], or len. */
static size_t scalar_next_diff(const uint8_t *a, const uint8_t *b, size_t i, size_t len)
{
    for (; len - i >= 8; i += 8) {
        uint64_t x = load_le64(a + i) ^ load_le64(b + i);
        if (x)
            return i + (size_t)__builtin_ctzll(x) / 8;
    }
    while (i < len && a[i] == b[i])
        i++;
    return i;
}

/* First i' >= i with a[i'] == b[i'], or len. The classic has-zero-byte test
 * on the XOR flags no byte below the first zero one (a non-zero byte minus 1
 * never borrows), so its lowest flag is exactly the first equal byte. */
static size_t scalar_next_same(const uint8_t *a, const uint8_t *b, size_t i, size_t len)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    for (; len - i >= 8; i += 8) {
        uint64_t x = load_le64(a + i) ^ load_le64(b + i);
        uint64_t z = (x - ones) & ~x & (ones << 7);
        if (z)
            return i + (size_t)__builtin_ctzll(z) / 8;
    }
    while (i < len && a[i] != b[i])
        i++;
    return i;
}

static int encode_scalar(const uint8_t *old, const uint8_t *new, size_t len, uint8_t *dst,
                         size_t dst_len)
{
    if (len > VMIG_XBZRLE_MAX_LEN)
        return -EINVAL;
    size_t i = 0, d = 0;
    while (i < len) {
        if (dst_len - d < 2) /* QEMU's order of overflow checks, see ram_xbzrle_walk.h */
            return -ENOSPC;
        size_t j = scalar_next_diff(old, new, i, len);
        if (j == len)
            return (int)d; /* trailing zero run (the whole page: 0, equal) */
        d += xb_put_uleb(dst + d, j - i);
        if (dst_len - d < 2)
            return -ENOSPC;
        size_t k = scalar_next_same(old, new, j, len);
        d = xb_put_run(dst, d, dst_len, new, j, k);
        if (d == 0)
            return -ENOSPC;
        i = k;
    }
    return (int)d;
}

#ifdef XB_X86
/* ---- SSE2 (every x86-64) ---------------------------------------------------------- */

/* Unaligned loads: same cost as aligned ones on aligned pages (the common
 * case), and the codec accepts any alignment. */
static inline uint64_t mask16_sse2(const uint8_t *a, const uint8_t *b)
{
    __m128i e = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)a),
                               _mm_loadu_si128((const __m128i *)b));
    return (uint64_t)(uint32_t)_mm_movemask_epi8(e);
}

static inline uint64_t mask64_sse2(const uint8_t *a, const uint8_t *b)
{
    return mask16_sse2(a, b) | mask16_sse2(a + 16, b + 16) << 16 |
           mask16_sse2(a + 32, b + 32) << 32 | mask16_sse2(a + 48, b + 48) << 48;
}

static inline __m128i xor16_sse2(const uint8_t *a, const uint8_t *b)
{
    return _mm_xor_si128(_mm_loadu_si128((const __m128i *)a), _mm_loadu_si128((const __m128i *)b));
}

static inline int alleq64_sse2(const uint8_t *a, const uint8_t *b)
{
    __m128i x = _mm_or_si128(_mm_or_si128(xor16_sse2(a, b), xor16_sse2(a + 16, b + 16)),
                             _mm_or_si128(xor16_sse2(a + 32, b + 32), xor16_sse2(a + 48, b + 48)));
    return _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) == 0xffff;
}

#define XB_NAME encode_sse2
#define XB_ATTR
#define XB_MASK64 mask64_sse2
#define XB_ALLEQ64 alleq64_sse2
#include "ram/ram_xbzrle_walk.h"

/* ---- AVX2 -------------------------------------------------------------------------- */

#define AVX2 __attribute__((target("avx2")))

static inline AVX2 uint64_t mask32_avx2(const uint8_t *a, const uint8_t *b)
{
    __m256i e = _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)a),
                                  _mm256_loadu_si256((const __m256i *)b));
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(e);
}

static inline AVX2 uint64_t mask64_avx2(const uint8_t *a, const uint8_t *b)
{
    return mask32_avx2(a, b) | mask32_avx2(a + 32, b + 32) << 32;
}

static inline AVX2 int alleq64_avx2(const uint8_t *a, const uint8_t *b)
{
    __m256i x = _mm256_or_si256(
        _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)a),
                         _mm256_loadu_si256((const __m256i *)b)),
        _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + 32)),
                         _mm256_loadu_si256((const __m256i *)(b + 32))));
    return _mm256_testz_si256(x, x);
}

#define XB_NAME encode_avx2
#define XB_ATTR AVX2
#define XB_MASK64 mask64_avx2
#define XB_ALLEQ64 alleq64_avx2
#include "ram/ram_xbzrle_walk.h"

/* libgcc's feature word also checks that the OS saves the YMM state. */
static bool usable_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
#endif /* XB_X86 */

/* ---- choice ------------------------------------------------------------------------ */

static const struct vmig_xbzrle_impl impls[] = {
    {"scalar", encode_scalar, usable_always},
#ifdef XB_X86
    {"sse2", encode_sse2, usable_always},
    {"avx2", encode_avx2, usable_avx2},
#endif
};
#define NIMPLS (sizeof impls / sizeof impls[0])

const struct vmig_xbzrle_impl *vmig_xbzrle_impls(size_t *n)
{
    *n = NIMPLS;
    return impls;
}

/* Decided per call, as vmig_ram_zero_best(): __builtin_cpu_supports reads a
 * word libgcc fills before main, so there is no state of ours to race on. */
const struct vmig_xbzrle_impl *vmig_xbzrle_best(void)
{
    for (size_t i = NIMPLS; i-- > 1;)
        if (impls[i].usable())
            return &impls[i];
    return &impls[0];
}

int vmig_xbzrle_encode(const uint8_t *old, const uint8_t *new, size_t len, uint8_t *dst,
                       size_t dst_len)
{
    return vmig_xbzrle_best()->encode(old, new, len, dst, dst_len);
}
