/* ram_zero.c — zero-page detection at memory speed: a portable 64-bit OR
 * reduction, SSE2 (every x86-64) and AVX2 (chosen per call when the CPU has
 * it), each stopping at the first non-zero 64-byte block. */
#include "ram/ram_zero_impl.h"

#include <assert.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define ZERO_X86 1
#include <immintrin.h>
#endif

/* ---- portable ------------------------------------------------------------------ */

/* memcpy, not a cast: p may be unaligned, and the compiler turns it into a
 * plain load anyway. */
static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static bool zero_portable(const void *p, size_t len)
{
    const unsigned char *b = p;
    const unsigned char *end = b + len;
    for (; b < end; b += 64) {
        uint64_t acc = load64(b) | load64(b + 8) | load64(b + 16) | load64(b + 24) |
                       load64(b + 32) | load64(b + 40) | load64(b + 48) | load64(b + 56);
        if (acc)
            return false;
    }
    return true;
}

static bool usable_always(void)
{
    return true;
}

#ifdef ZERO_X86
/* ---- SSE2 ------------------------------------------------------------------------ */

/* Unaligned loads throughout: on the CPUs we care about (Nehalem and later)
 * they cost the same as aligned ones when the address is aligned, which the
 * page-aligned common case always is, so one code path serves both. */
static inline __m128i or64_sse2(const unsigned char *b)
{
    __m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)b),
                             _mm_loadu_si128((const __m128i *)(b + 16)));
    __m128i c = _mm_or_si128(_mm_loadu_si128((const __m128i *)(b + 32)),
                             _mm_loadu_si128((const __m128i *)(b + 48)));
    return _mm_or_si128(a, c);
}

/* SSE2 has no ptest: compare with zero and look at the byte mask. */
static inline bool nz_sse2(__m128i v)
{
    return _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())) != 0xffff;
}

static bool zero_sse2(const void *p, size_t len)
{
    const unsigned char *b = p;
    const unsigned char *end = b + len;
    if (len == 0)
        return true;
    /* Most non-zero pages are non-zero in their first line: answer them
     * before starting the wide loop. */
    if (nz_sse2(or64_sse2(b)))
        return false;
    b += 64;
    /* 256 bytes between tests: enough independent loads in flight to keep
     * up with memory, few enough that a late non-zero byte costs little. */
    for (; end - b >= 256; b += 256) {
        __m128i v = _mm_or_si128(_mm_or_si128(or64_sse2(b), or64_sse2(b + 64)),
                                 _mm_or_si128(or64_sse2(b + 128), or64_sse2(b + 192)));
        if (nz_sse2(v))
            return false;
    }
    for (; b < end; b += 64)
        if (nz_sse2(or64_sse2(b)))
            return false;
    return true;
}

/* ---- AVX2 ------------------------------------------------------------------------ */

#define AVX2 __attribute__((target("avx2")))

static inline AVX2 __m256i or64_avx2(const unsigned char *b)
{
    return _mm256_or_si256(_mm256_loadu_si256((const __m256i *)b),
                           _mm256_loadu_si256((const __m256i *)(b + 32)));
}

static inline AVX2 bool nz_avx2(__m256i v)
{
    return !_mm256_testz_si256(v, v);
}

static AVX2 bool zero_avx2(const void *p, size_t len)
{
    const unsigned char *b = p;
    const unsigned char *end = b + len;
    if (len == 0)
        return true;
    if (nz_avx2(or64_avx2(b)))   /* the common non-zero page, as in SSE2 */
        return false;
    b += 64;
    for (; end - b >= 256; b += 256) {
        __m256i v = _mm256_or_si256(_mm256_or_si256(or64_avx2(b), or64_avx2(b + 64)),
                                    _mm256_or_si256(or64_avx2(b + 128), or64_avx2(b + 192)));
        if (nz_avx2(v))
            return false;
    }
    for (; b < end; b += 64)
        if (nz_avx2(or64_avx2(b)))
            return false;
    return true;
}

/* libgcc's feature word also checks that the OS saves the YMM state (XGETBV),
 * so "avx2" here means usable, not merely present. */
static bool usable_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
#endif /* ZERO_X86 */

/* ---- choice ----------------------------------------------------------------------- */

static const struct vmig_ram_zero_impl impls[] = {
    { "portable", zero_portable, usable_always },
#ifdef ZERO_X86
    { "sse2", zero_sse2, usable_always },
    { "avx2", zero_avx2, usable_avx2 },
#endif
};
#define NIMPLS (sizeof impls / sizeof impls[0])

const struct vmig_ram_zero_impl *vmig_ram_zero_impls(size_t *n)
{
    *n = NIMPLS;
    return impls;
}

/* Decided on every call rather than cached: __builtin_cpu_supports is a load
 * and a bit test of a word libgcc fills before main, so there is no global of
 * ours to initialise or race on, and callers hoist it out of their loops. */
const struct vmig_ram_zero_impl *vmig_ram_zero_best(void)
{
    for (size_t i = NIMPLS; i-- > 1;)
        if (impls[i].usable())
            return &impls[i];
    return &impls[0];
}

bool vmig_ram_is_zero(const void *p, size_t len)
{
    assert(len % 64 == 0);
    return vmig_ram_zero_best()->is_zero(p, len);
}

size_t vmig_ram_scan_zero_with(vmig_ram_zero_fn *is_zero, const void *base, size_t npages,
                               size_t page_size, uint64_t *zero_bitmap)
{
    assert(page_size != 0 && page_size % 64 == 0);
    const unsigned char *page = base;
    size_t count = 0;
    /* A word at a time: each bitmap word is written once, not read-modified
     * per page. */
    for (size_t w = 0; w * 64 < npages; w++) {
        size_t n = npages - w * 64 < 64 ? npages - w * 64 : 64;
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++, page += page_size) {
            if (is_zero(page, page_size)) {
                bits |= UINT64_C(1) << i;
                count++;
            }
        }
        if (n == 64) {
            zero_bitmap[w] = bits;
        } else {
            uint64_t mine = (UINT64_C(1) << n) - 1;   /* keep the caller's bits past npages */
            zero_bitmap[w] = (zero_bitmap[w] & ~mine) | bits;
        }
    }
    return count;
}

size_t vmig_ram_scan_zero(const void *base, size_t npages, size_t page_size,
                          uint64_t *zero_bitmap)
{
    return vmig_ram_scan_zero_with(vmig_ram_zero_best()->is_zero, base, npages, page_size,
                                   zero_bitmap);
}
