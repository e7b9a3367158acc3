/* multifd_codec.c — a multifd channel's page compression (spec/multifd.md §7):
 * one zlib or zstd stream per channel and direction, a flush point per packet. */
#include "multifd/multifd_codec.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "multifd/multifd_wire.h"
#include "util/pool_yield.h"

/* A decoder that has filled its pages keeps inflating what is left of the
 * payload to report how much too much it holds; a hostile payload can
 * inflate a thousandfold, so the count stops here (the message then shows
 * at least this much excess). */
#define EXTRA_COUNT_MAX ((uint64_t)VMIG_MULTIFD_ZBUF_MAX)

struct vmig_multifd_codec {
    uint32_t method;
    bool encoder;
    bool broken;       /* an earlier error left the stream state unknown */
    bool ended;        /* zlib decoder: the peer finished its stream (Z_STREAM_END) */
    bool zlib_ready;   /* zs holds a deflate or inflate state to end */
    bool skip_stored;  /* zlib encoder: incompressible pages go as stored blocks */
    int level;         /* the configured level */
    int cur_level;     /* zlib encoder: the level deflate runs at right now */
    bool zlib_edge;    /* zlib decoder: the last inflate that moved ended at a block edge */
    size_t zstd_edge;  /* zstd decoder: ZSTD_decompressStream's hint at a block edge */
    size_t zstd_hint;  /* zstd decoder: its hint after the last call that moved */
    z_stream zs;
    ZSTD_CStream *zc;
    ZSTD_DStream *zd;
    uint8_t scratch[4096]; /* decoders: where excess output goes to be counted */
};

__attribute__((format(printf, 3, 4))) static void set_msg(char *msg, size_t msglen,
                                                          const char *fmt, ...)
{
    if (!msg || msglen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* QEMU prints both sizes as 32-bit; a bigger count (only from a hostile
 * payload) shows saturated rather than wrapped. */
static unsigned size_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

static void size_msg(char *msg, size_t msglen, uint64_t got, uint64_t want)
{
    set_msg(msg, msglen, "packet size received %u size expected %u", size_u32(got),
            size_u32(want));
}

/* ---- is a page worth deflating? ------------------------------------------------- */

/* deflate at level 1 runs at 50-80 MB/s on random bytes and saves nothing;
 * stored blocks cost a memcpy and adler32 (1.7 GB/s here). The test, ~0.4 us
 * a page: the collision rate of a byte sample, sum p_i^2, estimated without
 * bias as sum c_i (c_i - 1) / (N (N - 1)), i.e. the Renyi-2 entropy, a
 * lower bound of the Shannon entropy that needs no logarithm. Uniform bytes
 * give 1/256 (8 bits); we deflate below 7.5 bits (a rate above 1/181).
 * With 512 sampled bytes a random page's estimate lies within ~0.07 bits of
 * 8 (one s.d.), so a random page is practically never deflated. Checked on
 * real files page by page: x86 binaries (node, libLLVM) and text lose 0.1%
 * of their deflated size at most; .gz data all goes stored. What it misses:
 * a page whose bytes look uniform but repeat at long distance (two copies
 * of the same random 2 KiB) goes stored, losing what LZ77 would have found;
 * such pages are rare in guest RAM, and stay correct. */
#define SAMPLE_WORDS 64u                 /* 8-byte words: 512 bytes per page */
#define RENYI_CUT_NUM 181u               /* 2^7.5 */

static bool worth_deflating(const uint8_t *p, size_t len)
{
    size_t words = len / 8;
    if (words > SAMPLE_WORDS)
        words = SAMPLE_WORDS;
    if (words < 8)
        return true; /* too small to judge, and too small to matter */
    size_t stride = (len / words) & ~(size_t)7;
    /* Four histograms: a run of equal bytes (the common zero-ish page)
     * would otherwise chain every increment on one counter. */
    uint16_t h[4][256];
    memset(h, 0, sizeof(h));
    for (size_t w = 0; w < words; w++) {
        const uint8_t *q = p + w * stride;
        h[0][q[0]]++;
        h[1][q[1]]++;
        h[2][q[2]]++;
        h[3][q[3]]++;
        h[0][q[4]]++;
        h[1][q[5]]++;
        h[2][q[6]]++;
        h[3][q[7]]++;
    }
    uint64_t pairs = 0;
    for (unsigned b = 0; b < 256; b++) {
        uint64_t c = (uint64_t)h[0][b] + h[1][b] + h[2][b] + h[3][b];
        pairs += c * c - c; /* no branch: on random bytes it would mispredict */
    }
    uint64_t n = (uint64_t)words * 8;
    return pairs * RENYI_CUT_NUM > n * (n - 1);
}

/* The shortcut switches levels mid-stream with deflateParams(); zlib 1.2.12
 * fixed deflate_stored() with a full window ("Fix bug when window full in
 * deflate_stored()", ChangeLog), so an older runtime zlib compresses every
 * page as QEMU does. */
static bool zlib_params_safe(void)
{
    unsigned a = 0, b = 0, c = 0;
    if (sscanf(zlibVersion(), "%u.%u.%u", &a, &b, &c) < 2)
        return false;
    return a > 1 || (a == 1 && (b > 2 || (b == 2 && c >= 12)));
}

/* ---- zstd block edges ------------------------------------------------------------ */

/* A packet must end where the sender flushed, at a block edge. Bytes after
 * that edge that make no output (a torn block header, say) would be taken
 * into the decoder's buffer unnoticed, so the decoder also checks its hint
 * (the input size ZSTD_decompressStream asks for next): at a block edge it
 * is a fixed value, which we learn from the library itself by decoding a
 * frame made by hand (RFC 8878: magic; descriptor 0: no size, no checksum;
 * window 1 KiB; a raw 1-byte block, not the last) rather than hard-code. */
static int zstd_learn_edge(ZSTD_DStream *zd, size_t *edge)
{
    static const uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x08, 0x00, 0x00, 0x42};
    uint8_t byte;
    ZSTD_inBuffer in = {frame, sizeof(frame), 0};
    ZSTD_outBuffer out = {&byte, 1, 0};
    size_t r = ZSTD_decompressStream(zd, &out, &in);
    if (ZSTD_isError(r) || in.pos != in.size || out.pos != 1 || byte != 0x42 || r == 0)
        return -EIO;
    *edge = r;
    return ZSTD_isError(ZSTD_DCtx_reset(zd, ZSTD_reset_session_only)) ? -EIO : 0;
}

/* ---- life cycle ------------------------------------------------------------------ */

static bool method_ok(uint32_t method)
{
    return method == VMIG_MULTIFD_FLAG_NOCOMP || method == VMIG_MULTIFD_FLAG_ZLIB ||
           method == VMIG_MULTIFD_FLAG_ZSTD;
}

static vmig_multifd_codec_t *codec_alloc(uint32_t method, bool encoder)
{
    if (!method_ok(method))
        return NULL;
    vmig_multifd_codec_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->method = method;
    c->encoder = encoder;
    return c;
}

vmig_multifd_codec_t *vmig_multifd_encoder_new(uint32_t method, int level)
{
    vmig_multifd_codec_t *c = codec_alloc(method, true);
    if (!c)
        return NULL;
    if (method == VMIG_MULTIFD_FLAG_ZLIB) {
        if (level < 0 || level > 9 || deflateInit(&c->zs, level) != Z_OK)
            goto fail;
        c->zlib_ready = true;
        c->level = c->cur_level = level;
        c->skip_stored = level > 0 && zlib_params_safe();
    } else if (method == VMIG_MULTIFD_FLAG_ZSTD) {
        /* zstd reads level 0 as its default level, as QEMU passes it. */
        if (level < 0 || level > 20)
            goto fail;
        c->zc = ZSTD_createCStream();
        if (!c->zc || ZSTD_isError(ZSTD_initCStream(c->zc, level)))
            goto fail;
        c->level = level;
    }
    return c;
fail:
    vmig_multifd_codec_free(c);
    return NULL;
}

vmig_multifd_codec_t *vmig_multifd_decoder_new(uint32_t method)
{
    vmig_multifd_codec_t *c = codec_alloc(method, false);
    if (!c)
        return NULL;
    if (method == VMIG_MULTIFD_FLAG_ZLIB) {
        if (inflateInit(&c->zs) != Z_OK)
            goto fail;
        c->zlib_ready = true;
    } else if (method == VMIG_MULTIFD_FLAG_ZSTD) {
        c->zd = ZSTD_createDStream();
        if (!c->zd || ZSTD_isError(ZSTD_initDStream(c->zd)) ||
            ZSTD_isError(ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax,
                                                VMIG_MULTIFD_ZSTD_WINDOW_LOG_MAX)) ||
            zstd_learn_edge(c->zd, &c->zstd_edge) < 0)
            goto fail;
    }
    return c;
fail:
    vmig_multifd_codec_free(c);
    return NULL;
}

void vmig_multifd_codec_free(vmig_multifd_codec_t *c)
{
    if (!c)
        return;
    if (c->zlib_ready) {
        if (c->encoder)
            deflateEnd(&c->zs);
        else
            inflateEnd(&c->zs);
    }
    ZSTD_freeCStream(c->zc);
    ZSTD_freeDStream(c->zd);
    free(c);
}

uint32_t vmig_multifd_codec_method(const vmig_multifd_codec_t *c)
{
    return c ? c->method : VMIG_MULTIFD_FLAG_NOCOMP;
}

/* ---- encoding --------------------------------------------------------------------- */

static ssize_t enc_fail(vmig_multifd_codec_t *c, ssize_t err)
{
    c->broken = true;
    return err;
}

static ssize_t zlib_encode(vmig_multifd_codec_t *c, const uint8_t *const *pages, size_t n,
                           size_t page_size, uint8_t *out, size_t cap)
{
    z_stream *zs = &c->zs;
    uInt room = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
    zs->next_out = out;
    zs->avail_out = room;
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < n; i++) {
        vmig_pool_yield(&yield_ns);
        if (c->skip_stored) {
            int want = worth_deflating(pages[i], page_size) ? c->level : 0;
            /* deflateParams ends the current block (deflate with Z_BLOCK)
             * when the approach changes, so it is only called on a change:
             * a run of like pages stays one block. All input so far has been
             * consumed, so Z_BUF_ERROR here can only mean the output is
             * full. */
            if (want != c->cur_level) {
                int z = deflateParams(zs, want, Z_DEFAULT_STRATEGY);
                if (z == Z_BUF_ERROR)
                    return enc_fail(c, -ENOSPC);
                if (z != Z_OK)
                    return enc_fail(c, -EIO);
                c->cur_level = want;
            }
        }
        bool last = i + 1 == n;
        zs->next_in = (Bytef *)(uintptr_t)pages[i]; /* zlib's API is not const, it only reads */
        zs->avail_in = (uInt)page_size;
        int z = deflate(zs, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (z != Z_OK && z != Z_BUF_ERROR)
            return enc_fail(c, -EIO);
        /* Input left means the output filled up; after the flush a full
         * output may hide more pending bytes (zlib.h: keep avail_out > 6). */
        if (zs->avail_in != 0 || (last && zs->avail_out == 0))
            return enc_fail(c, -ENOSPC);
    }
    zs->next_in = NULL;
    return (ssize_t)(room - zs->avail_out);
}

/* zstd needs no shortcut: level 1 already stores random pages as raw
 * blocks, at ~2.4 GB/s here (1.7 us a page; the histogram alone costs 0.4),
 * 512 KiB of them costing 18 bytes more. At most a microsecond a page to
 * win, and zstd has no deflateParams: "compression parameters cannot be
 * changed once compression is started" (zstd.h). Every page goes straight
 * in. */
static ssize_t zstd_encode(vmig_multifd_codec_t *c, const uint8_t *const *pages, size_t n,
                           size_t page_size, uint8_t *out, size_t cap)
{
    ZSTD_outBuffer ob = {out, cap, 0};
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < n; i++) {
        vmig_pool_yield(&yield_ns);
        bool last = i + 1 == n;
        ZSTD_inBuffer ib = {pages[i], page_size, 0};
        for (;;) {
            size_t r = ZSTD_compressStream2(c->zc, &ob, &ib, last ? ZSTD_e_flush : ZSTD_e_continue);
            if (ZSTD_isError(r))
                return enc_fail(c, ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? -ENOSPC
                                                                                       : -EIO);
            bool done = ib.pos == ib.size && (!last || r == 0);
            if (done)
                break;
            if (ob.pos == ob.size)
                return enc_fail(c, -ENOSPC);
        }
    }
    return (ssize_t)ob.pos;
}

ssize_t vmig_multifd_encode(vmig_multifd_codec_t *c, const uint8_t *const *pages, size_t n,
                            size_t page_size, uint8_t *out, size_t cap)
{
    if (!c || !c->encoder || !pages || n == 0 || page_size == 0 || page_size > UINT_MAX ||
        !out)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!pages[i])
            return -EINVAL;
    size_t total;
    if (__builtin_mul_overflow(n, page_size, &total) || total > SSIZE_MAX)
        return -EINVAL;
    if (c->broken)
        return -EIO;
    switch (c->method) {
    case VMIG_MULTIFD_FLAG_ZLIB:
        return zlib_encode(c, pages, n, page_size, out, cap);
    case VMIG_MULTIFD_FLAG_ZSTD:
        return zstd_encode(c, pages, n, page_size, out, cap);
    default:
        if (cap < total)
            return -ENOSPC; /* nothing written: no stream to break */
        for (size_t i = 0; i < n; i++)
            memcpy(out + i * page_size, pages[i], page_size);
        return (ssize_t)total;
    }
}

/* ---- decoding --------------------------------------------------------------------- */

static int dec_fail(vmig_multifd_codec_t *c, int err)
{
    c->broken = true;
    return err;
}

/* zlib counts input in uInt: hand it the payload a piece at a time. */
static void zlib_refill(z_stream *zs, const uint8_t **in, size_t *left)
{
    if (zs->avail_in == 0 && *left > 0) {
        uInt piece = *left > UINT_MAX ? UINT_MAX : (uInt)*left;
        zs->next_in = (Bytef *)(uintptr_t)*in; /* read only */
        zs->avail_in = piece;
        *in += piece;
        *left -= piece;
    }
}

/* One inflate call; the bytes it wrote are added to *got. 1: progress,
 * 0: none possible (input used up, or the stream ended), or a negative
 * errno with the message set. */
static int zlib_step(vmig_multifd_codec_t *c, int flush, uint64_t *got, char *msg,
                     size_t msglen)
{
    z_stream *zs = &c->zs;
    uInt in0 = zs->avail_in, out0 = zs->avail_out;
    int z = inflate(zs, flush);
    *got += out0 - zs->avail_out;
    switch (z) {
    case Z_STREAM_END:
        c->ended = true;
        return 0;
    case Z_OK:
    case Z_BUF_ERROR:
        if (in0 == zs->avail_in && out0 == zs->avail_out)
            return 0;
        /* Where this call stopped: +128 in data_type when at a block edge
         * (zlib.h). Only a call that moved says something: a new call
         * first leaves the edge state it starts in. */
        c->zlib_edge = (zs->data_type & 128) != 0;
        return 1;
    case Z_NEED_DICT:
        set_msg(msg, msglen, "zlib stream needs a preset dictionary");
        return -EPROTO;
    case Z_DATA_ERROR:
        set_msg(msg, msglen, "inflate: %s", zs->msg ? zs->msg : "invalid data");
        return -EPROTO;
    default:
        set_msg(msg, msglen, "inflate returned %d", z);
        return -EIO;
    }
}

static int zlib_decode(vmig_multifd_codec_t *c, const uint8_t *in, size_t len,
                       uint8_t *const *pages, size_t n, size_t page_size, char *msg,
                       size_t msglen)
{
    z_stream *zs = &c->zs;
    uint64_t want = (uint64_t)n * page_size, got = 0;
    if (c->ended) {
        set_msg(msg, msglen, "zlib stream already ended");
        return -EPROTO;
    }
    zs->avail_in = 0;
    /* Page by page: the output window is exactly one page, so nothing can
     * be written outside the caller's pages whatever the payload holds. */
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < n; i++) {
        vmig_pool_yield(&yield_ns);
        zs->next_out = pages[i];
        zs->avail_out = (uInt)page_size;
        while (zs->avail_out > 0) {
            zlib_refill(zs, &in, &len);
            int r = zlib_step(c, Z_NO_FLUSH, &got, msg, msglen);
            if (r < 0)
                return r;
            if (r == 0)
                break;
        }
        if (zs->avail_out > 0) {
            size_msg(msg, msglen, got, want);
            return -EPROTO;
        }
    }
    /* The pages are full. What is left must make no output (a sync flush
     * leaves an empty stored block), and the stream must stop at a block
     * edge: a torn block (a truncated flush marker, a stray byte) is taken
     * in without output, but leaves inflate inside a block. */
    uint64_t extra = 0;
    for (;;) {
        zlib_refill(zs, &in, &len);
        if (c->ended) {
            if (zs->avail_in > 0) {
                set_msg(msg, msglen, "%zu bytes after the end of the zlib stream",
                        (size_t)zs->avail_in + len);
                return -EPROTO;
            }
            break;
        }
        if (zs->avail_in == 0 || extra > EXTRA_COUNT_MAX)
            break;
        zs->next_out = c->scratch;
        zs->avail_out = sizeof(c->scratch);
        int r = zlib_step(c, Z_NO_FLUSH, &extra, msg, msglen);
        if (r < 0)
            return r;
        if (r == 0 && !c->ended)
            break;
    }
    if (extra > 0) {
        size_msg(msg, msglen, want + extra, want);
        return -EPROTO;
    }
    if (!c->ended && (zs->avail_in > 0 || !c->zlib_edge)) {
        set_msg(msg, msglen, "packet does not end at a zlib flush point");
        return -EPROTO;
    }
    zs->next_out = NULL;
    zs->avail_out = 0;
    zs->next_in = NULL;
    return 0;
}

/* One ZSTD_decompressStream call, like zlib_step; c->zstd_hint gets its
 * return value. */
static int zstd_step(vmig_multifd_codec_t *c, ZSTD_outBuffer *ob, ZSTD_inBuffer *ib,
                     uint64_t *got, char *msg, size_t msglen)
{
    size_t in0 = ib->pos, out0 = ob->pos;
    size_t r = ZSTD_decompressStream(c->zd, ob, ib);
    *got += ob->pos - out0;
    if (ZSTD_isError(r)) {
        set_msg(msg, msglen, "zstd: %s", ZSTD_getErrorName(r));
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -EIO : -EPROTO;
    }
    if (in0 == ib->pos && out0 == ob->pos)
        return 0;
    /* Only a call that moved says where the decoder stands: one that
     * finished a frame returns 0, a later idle one asks for the next
     * frame's header. */
    c->zstd_hint = r;
    return 1;
}

static int zstd_decode(vmig_multifd_codec_t *c, const uint8_t *in, size_t len,
                       uint8_t *const *pages, size_t n, size_t page_size, char *msg,
                       size_t msglen)
{
    uint64_t want = (uint64_t)n * page_size, got = 0;
    ZSTD_inBuffer ib = {in, len, 0};
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < n; i++) {
        vmig_pool_yield(&yield_ns);
        ZSTD_outBuffer ob = {pages[i], page_size, 0};
        while (ob.pos < ob.size) {
            int r = zstd_step(c, &ob, &ib, &got, msg, msglen);
            if (r < 0)
                return r;
            if (r == 0)
                break;
        }
        if (ob.pos < ob.size) {
            size_msg(msg, msglen, got, want);
            return -EPROTO;
        }
    }
    /* The pages are full: flush anything the decoder still holds and run
     * the rest of the payload into scratch, counting output. A new frame
     * may start here (hint 0 at a frame's end), else the decoder must sit
     * at a block edge. The loop ends: every call either progresses or
     * stops it, and output is capped. */
    uint64_t extra = 0;
    for (;;) {
        ZSTD_outBuffer ob = {c->scratch, sizeof(c->scratch), 0};
        int r = zstd_step(c, &ob, &ib, &extra, msg, msglen);
        if (r < 0)
            return r;
        if (r == 0 || extra > EXTRA_COUNT_MAX)
            break;
    }
    if (extra > 0) {
        size_msg(msg, msglen, want + extra, want);
        return -EPROTO;
    }
    if (ib.pos != ib.size || (c->zstd_hint != 0 && c->zstd_hint != c->zstd_edge)) {
        set_msg(msg, msglen, "packet does not end at a zstd flush point");
        return -EPROTO;
    }
    return 0;
}

int vmig_multifd_decode(vmig_multifd_codec_t *c, const uint8_t *in, size_t len,
                        uint8_t *const *pages, size_t n, size_t page_size, char *msg,
                        size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (!c || c->encoder || (!in && len) || !pages || n == 0 || page_size == 0 ||
        page_size > UINT_MAX) {
        set_msg(msg, msglen, "bad arguments to the multifd decoder");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!pages[i]) {
            set_msg(msg, msglen, "bad arguments to the multifd decoder");
            return -EINVAL;
        }
    }
    size_t total;
    if (__builtin_mul_overflow(n, page_size, &total)) {
        set_msg(msg, msglen, "bad arguments to the multifd decoder");
        return -EINVAL;
    }
    if (c->broken) {
        set_msg(msg, msglen, "stream unusable after an earlier error");
        return -EIO;
    }
    int r;
    switch (c->method) {
    case VMIG_MULTIFD_FLAG_ZLIB:
        r = zlib_decode(c, in, len, pages, n, page_size, msg, msglen);
        break;
    case VMIG_MULTIFD_FLAG_ZSTD:
        r = zstd_decode(c, in, len, pages, n, page_size, msg, msglen);
        break;
    default:
        /* No stream state: a bad packet leaves the decoder usable. */
        if (len != total) {
            size_msg(msg, msglen, len, total);
            return -EPROTO;
        }
        for (size_t i = 0; i < n; i++)
            memcpy(pages[i], in + i * page_size, page_size);
        return 0;
    }
    return r < 0 ? dec_fail(c, r) : 0;
}
