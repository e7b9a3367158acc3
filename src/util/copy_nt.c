/* copy_nt.c — non-temporal copy for received guest pages (SSE2 streaming
 * stores are part of x86-64's baseline: no run-time dispatch needed). */
#include "util/copy_nt.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>

void vmig_copy_nt(void *dst, const void *src, size_t len)
{
    if (((uintptr_t)dst & 15) || (len & 63)) {
        memcpy(dst, src, len);
        return;
    }
    __m128i *d = dst;
    const __m128i *s = src;
    for (size_t i = 0; i < len / 16; i += 4) {
        __m128i a = _mm_loadu_si128(s + i), b = _mm_loadu_si128(s + i + 1);
        __m128i c = _mm_loadu_si128(s + i + 2), e = _mm_loadu_si128(s + i + 3);
        _mm_stream_si128(d + i, a);
        _mm_stream_si128(d + i + 1, b);
        _mm_stream_si128(d + i + 2, c);
        _mm_stream_si128(d + i + 3, e);
    }
}

void vmig_copy_nt_fence(void)
{
    _mm_sfence();
}

#else

void vmig_copy_nt(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}

void vmig_copy_nt_fence(void)
{
}

#endif
