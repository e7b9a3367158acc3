/* test_codec.c — the multifd page codecs (src/multifd/multifd_codec.c): round
 * trips on one persistent stream per method, interop with plain zlib/zstd in
 * both directions, refusal of every wrong size without a write outside the
 * pages, the stored-block shortcut, and QEMU 7.2's own channel captures. */
#include "vmig_test.h"

#include <dirent.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

#include "multifd/multifd_codec.h"
#include "multifd/multifd_wire.h"
#include "fixture.h"

#define PAGE 4096u
#define MAXP 128u
#define ZLIB VMIG_MULTIFD_FLAG_ZLIB
#define ZSTD VMIG_MULTIFD_FLAG_ZSTD
#define NOCOMP VMIG_MULTIFD_FLAG_NOCOMP

/* ---- page contents --------------------------------------------------------------- */

enum kind { K_RANDOM, K_ZERO, K_TEXT, K_ZEROISH, K_KINDS };

static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void fill_page(uint8_t *p, enum kind k, uint32_t seed)
{
    static const char *const words[] = {
        "migration", "page", "channel", "packet", "header", "offset", "block", "stream",
        "sync",      "zero", "source",  "guest",  "vmig",   "multifd", "the", "a",
        "of",        "to",   "and",     "in",     "level",  "compress", "ram", "qemu"};
    uint32_t s = seed * 2654435761u + 1;
    switch (k) {
    case K_RANDOM:
        for (size_t i = 0; i < PAGE; i += 4) {
            uint32_t v = rng_next(&s);
            memcpy(p + i, &v, 4);
        }
        break;
    case K_ZERO:
        memset(p, 0, PAGE);
        break;
    case K_ZEROISH:
        memset(p, 0, PAGE);
        for (int i = 0; i < 8; i++)
            p[rng_next(&s) % PAGE] = (uint8_t)rng_next(&s);
        break;
    default: {
        size_t i = 0;
        while (i < PAGE) {
            const char *w = words[rng_next(&s) % (sizeof(words) / sizeof(words[0]))];
            while (*w && i < PAGE)
                p[i++] = (uint8_t)*w++;
            if (i < PAGE)
                p[i++] = rng_next(&s) % 9 ? ' ' : '\n';
        }
        break;
    }
    }
}

/* Packet k's page i: all random, all zero, all text or mixed, by k. */
static enum kind kind_of(unsigned k, unsigned i, uint32_t *s)
{
    switch (k % 5) {
    case 0:
        return K_RANDOM;
    case 1:
        return K_ZERO;
    case 2:
        return K_TEXT;
    case 3:
        return K_ZEROISH;
    default:
        return (enum kind)(rng_next(s) % K_KINDS);
    }
}

/* ---- guarded destination pages ----------------------------------------------------- */

/* n pages, each between two inaccessible pages, so a decoder writing one byte
 * outside them faults in any build (ASan or not). */
typedef struct {
    uint8_t *map;
    size_t maplen;
    uint8_t *p[MAXP + 2];
    size_t n;
} guarded_t;

static void guarded_new(guarded_t *g, size_t n)
{
    assert_true(n <= MAXP + 2);
    long sp = sysconf(_SC_PAGESIZE);
    g->n = n;
    if (sp != (long)PAGE) {
        /* Other host page sizes: exact-size heap pages, for ASan to watch. */
        g->map = NULL;
        for (size_t i = 0; i < n; i++) {
            g->p[i] = malloc(PAGE);
            assert_non_null(g->p[i]);
            memset(g->p[i], 0xa5, PAGE);
        }
        return;
    }
    g->maplen = (2 * n + 1) * PAGE;
    g->map = mmap(NULL, g->maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    for (size_t i = 0; i < n; i++) {
        g->p[i] = g->map + (2 * i + 1) * PAGE;
        assert_int_equal(mprotect(g->p[i], PAGE, PROT_READ | PROT_WRITE), 0);
        memset(g->p[i], 0xa5, PAGE);
    }
}

static void guarded_free(guarded_t *g)
{
    if (g->map) {
        munmap(g->map, g->maplen);
    } else {
        for (size_t i = 0; i < g->n; i++)
            free(g->p[i]);
    }
    memset(g, 0, sizeof(*g));
}

/* An exact-size heap copy of a payload (ASan sees a read past it); never NULL. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len)
        memcpy(d, p, len);
    return d;
}

/* Decodes len bytes into n guarded pages; returns decode's result, the
 * pages compared with want (when not NULL and the result is 0). */
static int decode_check(vmig_multifd_codec_t *dec, const uint8_t *payload, size_t len,
                        size_t n, uint8_t *const *want, char *msg, size_t msglen)
{
    guarded_t g;
    guarded_new(&g, n);
    uint8_t *in = dup_exact(payload, len);
    memset(msg, 'x', msglen);
    int r = vmig_multifd_decode(dec, in, len, g.p, n, PAGE, msg, msglen);
    assert_non_null(memchr(msg, '\0', msglen));
    if (r == 0) {
        assert_string_equal(msg, "");
        for (size_t i = 0; want && i < n; i++)
            assert_memory_equal(g.p[i], want[i], PAGE);
    } else {
        assert_true(msg[0] != '\0');
    }
    free(in);
    guarded_free(&g);
    return r;
}

/* ---- source packets ------------------------------------------------------------------- */

typedef struct {
    uint8_t *mem;            /* MAXP pages */
    uint8_t *p[MAXP];
    uint32_t seed;
} source_t;

static void source_new(source_t *s, uint32_t seed)
{
    s->mem = malloc((size_t)MAXP * PAGE);
    assert_non_null(s->mem);
    for (unsigned i = 0; i < MAXP; i++)
        s->p[i] = s->mem + (size_t)i * PAGE;
    s->seed = seed;
}

static void source_free(source_t *s)
{
    free(s->mem);
}

/* Fills packet k: returns its page count, 1 and 128 among the first ones. */
static size_t source_packet(source_t *s, unsigned k)
{
    size_t n = k == 0 ? 1 : k == 1 ? MAXP : 1 + rng_next(&s->seed) % MAXP;
    for (size_t i = 0; i < n; i++)
        fill_page(s->p[i], kind_of(k, (unsigned)i, &s->seed), rng_next(&s->seed));
    return n;
}

static ssize_t encode(vmig_multifd_codec_t *enc, source_t *s, size_t n, uint8_t *out)
{
    return vmig_multifd_encode(enc, (const uint8_t *const *)s->p, n, PAGE, out,
                               VMIG_MULTIFD_ZBUF_MAX);
}

/* ---- round trips ---------------------------------------------------------------------- */

/* packets packets on one encoder and one decoder: each packet is decoded
 * before the next one is made, so the last page of every packet must come
 * out of its own payload (the flush). */
static void roundtrip(uint32_t method, int level, unsigned packets, uint32_t seed)
{
    vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(method, level);
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(method);
    assert_non_null(enc);
    assert_non_null(dec);
    assert_int_equal(vmig_multifd_codec_method(enc), method);
    assert_int_equal(vmig_multifd_codec_method(dec), method);
    source_t s;
    source_new(&s, seed);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    uint64_t in_bytes = 0, out_bytes = 0;
    for (unsigned k = 0; k < packets; k++) {
        size_t n = source_packet(&s, k);
        ssize_t len = encode(enc, &s, n, out);
        assert_true(len > 0);
        if (method == NOCOMP)
            assert_int_equal(len, n * PAGE);
        int r = decode_check(dec, out, (size_t)len, n, s.p, msg, sizeof msg);
        if (r != 0)
            fail_msg("method %u level %d packet %u (%zu pages): %d %s", method, level, k, n, r,
                     msg);
        in_bytes += n * PAGE;
        out_bytes += (uint64_t)len;
    }
    print_message("method %u level %d: %u packets, %llu -> %llu bytes\n", method, level,
                  packets, (unsigned long long)in_bytes, (unsigned long long)out_bytes);
    free(out);
    source_free(&s);
    vmig_multifd_codec_free(enc);
    vmig_multifd_codec_free(dec);
}

static void test_roundtrip_none(void **state)
{
    roundtrip(NOCOMP, 0, 40, 1);
}

static void test_roundtrip_zlib(void **state)
{
    roundtrip(ZLIB, 1, 120, 2);
    roundtrip(ZLIB, 0, 10, 3);
    roundtrip(ZLIB, 6, 30, 4);
    roundtrip(ZLIB, 9, 15, 5);
}

static void test_roundtrip_zstd(void **state)
{
    roundtrip(ZSTD, 1, 120, 6);
    roundtrip(ZSTD, 0, 10, 7);
    roundtrip(ZSTD, 3, 30, 8);
    roundtrip(ZSTD, 19, 6, 9);
}

/* ---- plain zlib / zstd on the other side ---------------------------------------------- */

enum zref { ZREF_QEMU, ZREF_ONE_CALL, ZREF_FULL_FLUSH, ZREF_PARAMS, ZREF_MODES };

/* A reference packet made with zlib directly: the QEMU sequence (per page,
 * Z_NO_FLUSH then Z_SYNC_FLUSH), one call over the whole packet, full
 * flushes, or a level picked at random before every page. */
static size_t zref_packet(z_stream *zs, enum zref mode, source_t *s, size_t n, uint8_t *out,
                          size_t cap, uint32_t *rs, bool finish)
{
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    int last_flush = finish ? Z_FINISH : mode == ZREF_FULL_FLUSH ? Z_FULL_FLUSH : Z_SYNC_FLUSH;
    if (mode == ZREF_ONE_CALL) {
        uint8_t *cat = malloc(n * PAGE);
        assert_non_null(cat);
        for (size_t i = 0; i < n; i++)
            memcpy(cat + i * PAGE, s->p[i], PAGE);
        zs->next_in = cat;
        zs->avail_in = (uInt)(n * PAGE);
        int z = deflate(zs, last_flush);
        assert_int_equal(z, finish ? Z_STREAM_END : Z_OK);
        assert_int_equal(zs->avail_in, 0);
        free(cat);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (mode == ZREF_PARAMS) {
                int z = deflateParams(zs, (int)(rng_next(rs) % 10), Z_DEFAULT_STRATEGY);
                assert_int_equal(z, Z_OK);
            }
            zs->next_in = s->p[i];
            zs->avail_in = PAGE;
            int z = deflate(zs, i + 1 == n ? last_flush : Z_NO_FLUSH);
            assert_true(z == Z_OK || z == Z_STREAM_END);
            assert_int_equal(zs->avail_in, 0);
        }
    }
    assert_true(zs->avail_out > 6);
    return cap - zs->avail_out;
}

static void test_decode_plain_zlib(void **state)
{
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    for (int mode = 0; mode < ZREF_MODES; mode++) {
        for (int level = 1; level <= 9; level += 8) {
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            assert_int_equal(deflateInit(&zs, level), Z_OK);
            vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(ZLIB);
            assert_non_null(dec);
            source_t s;
            source_new(&s, 100u + (uint32_t)mode);
            uint32_t rs = 77;
            unsigned packets = level == 9 ? 8 : 30;
            for (unsigned k = 0; k < packets; k++) {
                size_t n = source_packet(&s, k);
                bool finish = k + 1 == packets;
                size_t len = zref_packet(&zs, (enum zref)mode, &s, n, out,
                                         VMIG_MULTIFD_ZBUF_MAX, &rs, finish);
                int r = decode_check(dec, out, len, n, s.p, msg, sizeof msg);
                if (r != 0)
                    fail_msg("mode %d level %d packet %u: %s", mode, level, k, msg);
            }
            /* The sender finished its stream (Z_FINISH): nothing can follow. */
            assert_int_equal(decode_check(dec, out, 0, 1, NULL, msg, sizeof msg), -EPROTO);
            assert_string_equal(msg, "zlib stream already ended");
            deflateEnd(&zs);
            source_free(&s);
            vmig_multifd_codec_free(dec);
        }
    }
    free(out);
}

/* A receiver written against plain zlib the way QEMU 7.2's is (inflate page
 * by page into the packet's pages, the total checked) reads what we send,
 * the flush marker included: nothing of a packet is left for the next. */
static void test_plain_zlib_reads_ours(void **state)
{
    for (int level = 1; level <= 9; level += 4) {
        vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(ZLIB, level);
        assert_non_null(enc);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        assert_int_equal(inflateInit(&zs), Z_OK);
        source_t s;
        source_new(&s, 200u + (uint32_t)level);
        uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
        uint8_t *back = malloc((size_t)MAXP * PAGE);
        assert_non_null(out);
        assert_non_null(back);
        for (unsigned k = 0; k < 40; k++) {
            size_t n = source_packet(&s, k);
            ssize_t len = encode(enc, &s, n, out);
            assert_true(len > 0);
            zs.next_in = out;
            zs.avail_in = (uInt)len;
            uLong before = zs.total_out;
            for (size_t i = 0; i < n; i++) {
                zs.next_out = back + i * PAGE;
                zs.avail_out = PAGE;
                int z = inflate(&zs, i + 1 == n ? Z_SYNC_FLUSH : Z_NO_FLUSH);
                assert_int_equal(z, Z_OK);
                assert_int_equal(zs.avail_out, 0);
            }
            assert_int_equal(zs.total_out - before, n * PAGE);
            assert_int_equal(zs.avail_in, 0);
            for (size_t i = 0; i < n; i++)
                assert_memory_equal(back + i * PAGE, s.p[i], PAGE);
        }
        inflateEnd(&zs);
        free(back);
        free(out);
        source_free(&s);
        vmig_multifd_codec_free(enc);
    }
}

enum zsref { ZSREF_QEMU, ZSREF_FRAME_PER_PACKET, ZSREF_CHECKSUM_END, ZSREF_MODES };

/* A reference packet made with zstd directly: the QEMU sequence, a whole
 * frame per packet (ZSTD_compress2, content size in the header), or a frame
 * per packet ended with a checksum. */
static size_t zsref_packet(ZSTD_CCtx *cc, enum zsref mode, source_t *s, size_t n, uint8_t *out,
                           size_t cap)
{
    if (mode == ZSREF_FRAME_PER_PACKET) {
        uint8_t *cat = malloc(n * PAGE);
        assert_non_null(cat);
        for (size_t i = 0; i < n; i++)
            memcpy(cat + i * PAGE, s->p[i], PAGE);
        size_t r = ZSTD_compress2(cc, out, cap, cat, n * PAGE);
        assert_false(ZSTD_isError(r));
        free(cat);
        return r;
    }
    ZSTD_outBuffer ob = {out, cap, 0};
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        ZSTD_EndDirective d = !last                        ? ZSTD_e_continue
                              : mode == ZSREF_CHECKSUM_END ? ZSTD_e_end
                                                           : ZSTD_e_flush;
        ZSTD_inBuffer ib = {s->p[i], PAGE, 0};
        size_t r;
        do {
            r = ZSTD_compressStream2(cc, &ob, &ib, d);
            assert_false(ZSTD_isError(r));
        } while (ib.pos < ib.size || (last && r != 0));
    }
    return ob.pos;
}

static void test_decode_plain_zstd(void **state)
{
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    static const int levels[] = {1, 3, 19};
    for (int mode = 0; mode < ZSREF_MODES; mode++) {
        for (unsigned li = 0; li < 3; li++) {
            ZSTD_CCtx *cc = ZSTD_createCCtx();
            assert_non_null(cc);
            assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
                                                             levels[li])));
            if (mode == ZSREF_CHECKSUM_END)
                assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)));
            vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(ZSTD);
            assert_non_null(dec);
            source_t s;
            source_new(&s, 300u + (uint32_t)mode);
            unsigned packets = levels[li] == 19 ? 4 : 25;
            for (unsigned k = 0; k < packets; k++) {
                size_t n = source_packet(&s, k);
                size_t len = zsref_packet(cc, (enum zsref)mode, &s, n, out,
                                          VMIG_MULTIFD_ZBUF_MAX);
                int r = decode_check(dec, out, len, n, s.p, msg, sizeof msg);
                if (r != 0)
                    fail_msg("mode %d level %d packet %u: %s", mode, levels[li], k, msg);
            }
            ZSTD_freeCCtx(cc);
            source_free(&s);
            vmig_multifd_codec_free(dec);
        }
    }
    free(out);
}

/* Level 20 (the highest multifd-zstd-level) decodes; a frame asking for a
 * window past VMIG_MULTIFD_ZSTD_WINDOW_LOG_MAX (level 22: 128 MiB) is
 * refused before the decoder allocates it. */
static void test_zstd_window_bound(void **state)
{
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    static const int levels[] = {20, 22};
    for (unsigned li = 0; li < 2; li++) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        assert_non_null(cc);
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
                                                         levels[li])));
        vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(ZSTD);
        assert_non_null(dec);
        source_t s;
        source_new(&s, 900u + li);
        size_t n = source_packet(&s, 0);
        size_t len = zsref_packet(cc, ZSREF_QEMU, &s, n, out, VMIG_MULTIFD_ZBUF_MAX);
        int r = decode_check(dec, out, len, n, s.p, msg, sizeof msg);
        if (levels[li] == 20) {
            if (r != 0)
                fail_msg("level 20: %s", msg);
        } else {
            assert_true(r < 0);
            print_message("level 22: %s\n", msg);
            assert_non_null(strstr(msg, "memory"));
        }
        ZSTD_freeCCtx(cc);
        source_free(&s);
        vmig_multifd_codec_free(dec);
    }
    free(out);
}

/* Plain ZSTD_decompressStream, page by page, reads what we send. */
static void test_plain_zstd_reads_ours(void **state)
{
    vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(ZSTD, 1);
    assert_non_null(enc);
    ZSTD_DStream *ds = ZSTD_createDStream();
    assert_non_null(ds);
    assert_false(ZSTD_isError(ZSTD_initDStream(ds)));
    source_t s;
    source_new(&s, 400);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    uint8_t *back = malloc(PAGE);
    assert_non_null(out);
    assert_non_null(back);
    for (unsigned k = 0; k < 40; k++) {
        size_t n = source_packet(&s, k);
        ssize_t len = encode(enc, &s, n, out);
        assert_true(len > 0);
        ZSTD_inBuffer ib = {out, (size_t)len, 0};
        for (size_t i = 0; i < n; i++) {
            ZSTD_outBuffer ob = {back, PAGE, 0};
            while (ob.pos < ob.size) {
                size_t pos0 = ob.pos, in0 = ib.pos;
                size_t r = ZSTD_decompressStream(ds, &ob, &ib);
                assert_false(ZSTD_isError(r));
                assert_true(ob.pos != pos0 || ib.pos != in0);
            }
            assert_memory_equal(back, s.p[i], PAGE);
        }
        assert_int_equal(ib.pos, ib.size);
    }
    ZSTD_freeDStream(ds);
    free(back);
    free(out);
    source_free(&s);
    vmig_multifd_codec_free(enc);
}

/* ---- refused payloads ------------------------------------------------------------------ */

enum bad {
    BAD_FEWER_PAGES_OUT, /* the payload makes more pages than asked: n-1 pages */
    BAD_MORE_PAGES_OUT,  /* fewer than asked: n+1 pages */
    BAD_TRAIL_00,
    BAD_TRAIL_FF,
    BAD_TRAIL_2,
    BAD_TRAIL_3,
    BAD_TRAIL_PACKET,    /* the next packet glued on */
    BAD_TRUNC_1,
    BAD_TRUNC_4,
    BAD_TRUNC_HALF,
    BAD_EMPTY,
    BAD_GARBAGE,
    BAD_OTHER_METHOD,    /* the other compressor's next packet */
    BAD_COUNT
};

static const char *const bad_names[] = {
    "fewer pages out", "more pages out", "trailing 00", "trailing ff", "trailing 2 bytes",
    "trailing 3 bytes", "trailing packet", "truncated by 1", "truncated by 4", "truncated half",
    "empty", "garbage", "other method"};

/* Two good packets, then a third one broken as bad says: refused with
 * -EPROTO and a message (the size one where a size is wrong), the pages
 * guarded; the stream is then unusable (-EIO), except without compression
 * where there is no stream. */
static void expect_refused(uint32_t method, enum bad bad, bool first)
{
    vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(method, 1);
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(method);
    uint32_t other = method == ZLIB ? ZSTD : ZLIB;
    vmig_multifd_codec_t *oenc = vmig_multifd_encoder_new(other, 1);
    assert_non_null(enc);
    assert_non_null(dec);
    assert_non_null(oenc);
    source_t s;
    source_new(&s, 500u + (uint32_t)bad);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    uint8_t *next = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    assert_non_null(next);
    char msg[160];
    /* Text then mixed pages: compressed blocks then stored ones. */
    for (unsigned k = 0; !first && k < 2; k++) {
        size_t n = 3;
        for (size_t i = 0; i < n; i++)
            fill_page(s.p[i], k ? (enum kind)(i % K_KINDS) : K_TEXT, 10 * k + (uint32_t)i);
        ssize_t len = encode(enc, &s, n, out);
        assert_true(len > 0);
        assert_int_equal(decode_check(dec, out, (size_t)len, n, s.p, msg, sizeof msg), 0);
    }
    size_t n = 5;
    for (size_t i = 0; i < n; i++)
        fill_page(s.p[i], i == 4 ? K_RANDOM : (enum kind)(i % K_KINDS), 99 + (uint32_t)i);
    ssize_t slen = encode(enc, &s, n, out);
    assert_true(slen > 0);
    size_t len = (size_t)slen, ask = n;
    uint8_t *payload = malloc(2 * VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(payload);
    memcpy(payload, out, len);
    uint32_t rs = 12345;
    switch (bad) {
    case BAD_FEWER_PAGES_OUT:
        ask = n - 1;
        break;
    case BAD_MORE_PAGES_OUT:
        ask = n + 1;
        break;
    case BAD_TRAIL_00:
        payload[len++] = 0x00;
        break;
    case BAD_TRAIL_FF:
        payload[len++] = 0xff;
        break;
    case BAD_TRAIL_2:
        payload[len++] = 0x5a;
        payload[len++] = 0x5a;
        break;
    case BAD_TRAIL_3:
        payload[len++] = 0x00;
        payload[len++] = 0x10;
        payload[len++] = 0x00;
        break;
    case BAD_TRAIL_PACKET: {
        ssize_t l2 = encode(enc, &s, 2, next);
        assert_true(l2 > 0);
        memcpy(payload + len, next, (size_t)l2);
        len += (size_t)l2;
        break;
    }
    case BAD_TRUNC_1:
        len -= 1;
        break;
    case BAD_TRUNC_4:
        len -= 4;
        break;
    case BAD_TRUNC_HALF:
        len /= 2;
        break;
    case BAD_EMPTY:
        len = 0;
        break;
    case BAD_GARBAGE:
        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)rng_next(&rs);
        break;
    case BAD_OTHER_METHOD: {
        ssize_t l2 = vmig_multifd_encode(oenc, (const uint8_t *const *)s.p, n, PAGE, payload,
                                         VMIG_MULTIFD_ZBUF_MAX);
        assert_true(l2 > 0);
        len = (size_t)l2;
        break;
    }
    default:
        break;
    }
    int r = decode_check(dec, payload, len, ask, NULL, msg, sizeof msg);
    /* Without compression only the size can be wrong. */
    if (method == NOCOMP && len == ask * PAGE) {
        assert_int_equal(r, 0);
    } else {
        if (r != -EPROTO)
            fail_msg("method %u %s%s: accepted or wrong error %d (%s)", method, bad_names[bad],
                     first ? " (first packet)" : "", r, msg);
        print_message("method %u %-16s%s -> %s\n", method, bad_names[bad],
                      first ? " (first)" : "", msg);
        /* Whole pages too many or too few: QEMU's message, exact. */
        char want[160];
        if (bad == BAD_FEWER_PAGES_OUT || bad == BAD_MORE_PAGES_OUT) {
            snprintf(want, sizeof want, "packet size received %u size expected %u",
                     (unsigned)(n * PAGE), (unsigned)(ask * PAGE));
            assert_string_equal(msg, want);
        }
        if (bad == BAD_EMPTY || (method == NOCOMP && len != ask * PAGE)) {
            snprintf(want, sizeof want, "packet size received %u size expected %u",
                     method == NOCOMP ? (unsigned)len : 0u, (unsigned)(ask * PAGE));
            assert_string_equal(msg, want);
        }
        /* The stream is lost; without compression there is none to lose. */
        r = decode_check(dec, out, (size_t)slen, n, method == NOCOMP ? s.p : NULL, msg,
                         sizeof msg);
        assert_int_equal(r, method == NOCOMP ? 0 : -EIO);
    }
    free(payload);
    free(next);
    free(out);
    source_free(&s);
    vmig_multifd_codec_free(enc);
    vmig_multifd_codec_free(oenc);
    vmig_multifd_codec_free(dec);
}

static void refused_all(uint32_t method)
{
    for (int b = 0; b < BAD_COUNT; b++) {
        expect_refused(method, (enum bad)b, false);
        expect_refused(method, (enum bad)b, true);
    }
}

static void test_refused_zlib(void **state)
{
    refused_all(ZLIB);
}

static void test_refused_zstd(void **state)
{
    refused_all(ZSTD);
}

static void test_refused_none(void **state)
{
    refused_all(NOCOMP);
}

/* A zip bomb: a tiny payload that inflates far past the pages is stopped at
 * the pages' end and reported, in bounded time. */
static void test_bomb(void **state)
{
    char msg[160];
    uint8_t *zeros = calloc(1, 64u << 20);
    uint8_t *out = malloc(1 << 20);
    assert_non_null(zeros);
    assert_non_null(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit(&zs, 9), Z_OK);
    zs.next_in = zeros;
    zs.avail_in = 64u << 20;
    zs.next_out = out;
    zs.avail_out = 1 << 20;
    assert_int_equal(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
    size_t len = (1 << 20) - zs.avail_out;
    deflateEnd(&zs);
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(ZLIB);
    assert_int_equal(decode_check(dec, out, len, 2, NULL, msg, sizeof msg), -EPROTO);
    assert_non_null(strstr(msg, "packet size received "));
    print_message("zlib bomb (%zu bytes): %s\n", len, msg);
    vmig_multifd_codec_free(dec);

    ZSTD_CCtx *cc = ZSTD_createCCtx();
    len = ZSTD_compress2(cc, out, 1 << 20, zeros, 64u << 20);
    assert_false(ZSTD_isError(len));
    ZSTD_freeCCtx(cc);
    dec = vmig_multifd_decoder_new(ZSTD);
    assert_int_equal(decode_check(dec, out, len, 2, NULL, msg, sizeof msg), -EPROTO);
    assert_non_null(strstr(msg, "packet size received "));
    print_message("zstd bomb (%zu bytes): %s\n", len, msg);
    vmig_multifd_codec_free(dec);
    free(out);
    free(zeros);
}

/* ---- what the encoder spends ---------------------------------------------------------- */

static bool zlib_at_least_1_2_12(void)
{
    unsigned a = 0, b = 0, c = 0;
    sscanf(zlibVersion(), "%u.%u.%u", &a, &b, &c);
    return a > 1 || (a == 1 && (b > 2 || (b == 2 && c >= 12)));
}

/* The longest stored block of a zlib stream made of stored blocks only (the
 * first packet of a channel), or -1 if it holds another block type. deflate
 * at level 1 stores what it cannot compress in blocks of at most its 16 Ki
 * symbol buffer; level 0 (our shortcut) copies up to 64 KiB per block, which
 * is how the test tells the two paths apart without timing them. */
static long longest_stored_block(const uint8_t *z, size_t len)
{
    if (len < 2 || (z[0] & 0x0f) != 8 || ((z[0] << 8) | z[1]) % 31 != 0)
        return -1;
    size_t p = 2;
    long longest = 0;
    while (p < len) {
        if ((z[p] & 0x06) != 0 || p + 5 > len)
            return -1;
        unsigned l = z[p + 1] | (unsigned)z[p + 2] << 8;
        unsigned nl = z[p + 3] | (unsigned)z[p + 4] << 8;
        if ((l ^ nl) != 0xffff || p + 5 + l > len)
            return -1;
        if ((long)l > longest)
            longest = l;
        p += 5 + l;
    }
    return longest;
}

static void test_stored_and_compressed(void **state)
{
    vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(ZLIB, 1);
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(ZLIB);
    assert_non_null(enc);
    assert_non_null(dec);
    source_t s;
    source_new(&s, 600);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    size_t in = (size_t)MAXP * PAGE;

    /* Random pages: stored, the size the input plus a few bytes per block. */
    for (unsigned i = 0; i < MAXP; i++)
        fill_page(s.p[i], K_RANDOM, i);
    ssize_t len = encode(enc, &s, MAXP, out);
    assert_true(len > 0);
    long longest = longest_stored_block(out, (size_t)len);
    print_message("128 random pages: %zd bytes (+%zd), longest stored block %ld\n", len,
                  len - (ssize_t)in, longest);
    assert_true((size_t)len >= in && (size_t)len <= in + in / 1000 + 64);
    assert_true(longest > 0);
    if (zlib_at_least_1_2_12())
        assert_true(longest > 16384);
    assert_int_equal(decode_check(dec, out, (size_t)len, MAXP, s.p, msg, sizeof msg), 0);

    /* Text pages: really compressed, on the same stream. */
    for (unsigned i = 0; i < MAXP; i++)
        fill_page(s.p[i], K_TEXT, 1000 + i);
    len = encode(enc, &s, MAXP, out);
    assert_true(len > 0);
    print_message("128 text pages: %zd bytes (ratio %.3f)\n", len, (double)len / (double)in);
    assert_true((double)len / (double)in < 0.7);
    assert_int_equal(decode_check(dec, out, (size_t)len, MAXP, s.p, msg, sizeof msg), 0);

    /* Alternating random and text: each kind on its own path; the total
     * close to the random half stored plus the text half compressed. */
    for (unsigned i = 0; i < MAXP; i++)
        fill_page(s.p[i], i % 2 ? K_TEXT : K_RANDOM, 2000 + i);
    len = encode(enc, &s, MAXP, out);
    assert_true(len > 0);
    print_message("64 random + 64 text pages alternating: %zd bytes (ratio %.3f)\n", len,
                  (double)len / (double)in);
    assert_true((size_t)len < in / 2 + (size_t)(0.7 * (double)in / 2));
    assert_int_equal(decode_check(dec, out, (size_t)len, MAXP, s.p, msg, sizeof msg), 0);

    /* Zero but one byte, zero-ish: a few bytes each. */
    for (unsigned i = 0; i < MAXP; i++) {
        memset(s.p[i], 0, PAGE);
        s.p[i][PAGE - 1] = 1;
    }
    len = encode(enc, &s, MAXP, out);
    assert_true(len > 0 && len < 4096);
    assert_int_equal(decode_check(dec, out, (size_t)len, MAXP, s.p, msg, sizeof msg), 0);

    free(out);
    source_free(&s);
    vmig_multifd_codec_free(enc);
    vmig_multifd_codec_free(dec);
}

/* zstd stores incompressible data as raw blocks on its own. */
static void test_zstd_random_is_raw(void **state)
{
    vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(ZSTD, 1);
    assert_non_null(enc);
    source_t s;
    source_new(&s, 700);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    for (unsigned i = 0; i < MAXP; i++)
        fill_page(s.p[i], K_RANDOM, i);
    size_t in = (size_t)MAXP * PAGE;
    ssize_t len = encode(enc, &s, MAXP, out);
    print_message("zstd: 128 random pages: %zd bytes (+%zd)\n", len, len - (ssize_t)in);
    assert_true((size_t)len >= in && (size_t)len <= in + in / 1000 + 64);
    for (unsigned i = 0; i < MAXP; i++)
        fill_page(s.p[i], K_TEXT, 1000 + i);
    len = encode(enc, &s, MAXP, out);
    print_message("zstd: 128 text pages: ratio %.3f\n", (double)len / (double)in);
    assert_true(len > 0 && (double)len / (double)in < 0.7);
    free(out);
    source_free(&s);
    vmig_multifd_codec_free(enc);
}

/* ---- arguments and a full output ------------------------------------------------------ */

static void test_args_and_nospace(void **state)
{
    assert_null(vmig_multifd_encoder_new(ZLIB, -1));
    assert_null(vmig_multifd_encoder_new(ZLIB, 10));
    assert_null(vmig_multifd_encoder_new(ZSTD, -1));
    assert_null(vmig_multifd_encoder_new(ZSTD, 21));
    assert_null(vmig_multifd_encoder_new(0x6, 1));
    assert_null(vmig_multifd_encoder_new(VMIG_MULTIFD_FLAG_SYNC, 1));
    assert_null(vmig_multifd_decoder_new(0x8));
    vmig_multifd_codec_free(NULL);

    static const uint32_t methods[] = {NOCOMP, ZLIB, ZSTD};
    source_t s;
    source_new(&s, 800);
    for (unsigned i = 0; i < 4; i++)
        fill_page(s.p[i], K_RANDOM, i);
    uint8_t *out = malloc(VMIG_MULTIFD_ZBUF_MAX);
    assert_non_null(out);
    char msg[160];
    for (unsigned m = 0; m < 3; m++) {
        vmig_multifd_codec_t *enc = vmig_multifd_encoder_new(methods[m], 1);
        vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(methods[m]);
        const uint8_t *const *pp = (const uint8_t *const *)s.p;
        assert_int_equal(vmig_multifd_encode(enc, pp, 0, PAGE, out, VMIG_MULTIFD_ZBUF_MAX),
                         -EINVAL);
        assert_int_equal(vmig_multifd_encode(enc, pp, 1, 0, out, VMIG_MULTIFD_ZBUF_MAX), -EINVAL);
        assert_int_equal(vmig_multifd_encode(enc, NULL, 1, PAGE, out, VMIG_MULTIFD_ZBUF_MAX),
                         -EINVAL);
        assert_int_equal(vmig_multifd_encode(dec, pp, 1, PAGE, out, VMIG_MULTIFD_ZBUF_MAX),
                         -EINVAL);
        assert_int_equal(vmig_multifd_decode(enc, out, 1, s.p, 1, PAGE, msg, sizeof msg),
                         -EINVAL);
        assert_true(msg[0] != '\0');
        assert_int_equal(vmig_multifd_decode(dec, out, 1, s.p, 0, PAGE, msg, sizeof msg),
                         -EINVAL);
        /* Four random pages into 1000 bytes: no room, and the stream is lost. */
        ssize_t r = vmig_multifd_encode(enc, pp, 4, PAGE, out, 1000);
        assert_int_equal(r, -ENOSPC);
        r = vmig_multifd_encode(enc, pp, 4, PAGE, out, VMIG_MULTIFD_ZBUF_MAX);
        assert_int_equal(r, methods[m] == NOCOMP ? (ssize_t)(4 * PAGE) : -EIO);
        vmig_multifd_codec_free(enc);
        vmig_multifd_codec_free(dec);
    }
    free(out);
    source_free(&s);
}

/* ---- QEMU 7.2's captures ---------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Every packet of every captured channel, one decoder per channel, each
 * page compared with ram.bin at its offset; together the channels must
 * bring every non-zero page (zero pages go on the main channel). Headers
 * are parsed here by hand (spec/multifd.md §3-§4), the few fields needed. */
static void test_qemu_captures(void **state)
{
    size_t ramlen = 0;
    uint8_t *ram = fx_load("ram.bin", &ramlen);
    /* The captures are part of the tree: without them, fail. */
    if (!ram)
        fail_msg("no QEMU 7.2 captures under tests/multifd/fixtures/qemu-7.2 "
                 "(tests/multifd/record-qemu-multifd-fixtures.py)");
    assert_true(ramlen > 0 && ramlen % PAGE == 0);
    static const struct {
        const char *dir;
        uint32_t method;
    } methods[] = {{"none", NOCOMP}, {"zlib", ZLIB}, {"zstd", ZSTD}};
    unsigned dirs_seen = 0;
    for (unsigned m = 0; m < 3; m++) {
        char *dirpath = fx_path(methods[m].dir);
        DIR *dir = opendir(dirpath);
        if (!dir)
            fail_msg("no captures for %s in %s", methods[m].dir, dirpath);
        dirs_seen++;
        uint8_t *seen = calloc(ramlen / PAGE, 1);
        assert_non_null(seen);
        unsigned channels = 0, packets = 0, pages = 0;
        uint64_t payload_bytes = 0;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (strncmp(de->d_name, "chan-", 5) != 0)
                continue;
            char rel[300];
            snprintf(rel, sizeof rel, "%s/%s", methods[m].dir, de->d_name);
            size_t len = 0;
            uint8_t *d = fx_load(rel, &len);
            assert_non_null(d);
            channels++;
            assert_true(len >= VMIG_MULTIFD_INIT_LEN);
            assert_int_equal(be32(d), VMIG_MULTIFD_MAGIC);
            vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(methods[m].method);
            assert_non_null(dec);
            size_t p = VMIG_MULTIFD_INIT_LEN;
            while (p < len) {
                assert_true(len - p >= VMIG_MULTIFD_HDR_LEN);
                const uint8_t *h = d + p;
                assert_int_equal(be32(h), VMIG_MULTIFD_MAGIC);
                uint32_t flags = be32(h + 8), alloc = be32(h + 12), used = be32(h + 16);
                uint32_t size = be32(h + 20);
                assert_int_equal(alloc, VMIG_MULTIFD_PAGES_ALLOC);
                assert_true(used <= alloc);
                p += VMIG_MULTIFD_HDR_LEN;
                packets++;
                if (used == 0)
                    continue; /* SYNC: stale size, no payload */
                assert_int_equal(flags & VMIG_MULTIFD_FLAG_COMPRESSION_MASK, methods[m].method);
                assert_true(size <= len - p);
                guarded_t g;
                guarded_new(&g, used);
                uint8_t *in = dup_exact(d + p, size);
                char msg[160];
                int r = vmig_multifd_decode(dec, in, size, g.p, used, PAGE, msg, sizeof msg);
                if (r != 0)
                    fail_msg("%s packet %llu: %s", rel, (unsigned long long)be64(h + 24), msg);
                for (uint32_t i = 0; i < used; i++) {
                    uint64_t off = be64(h + VMIG_MULTIFD_HDR_FIXED_LEN + 8 * i);
                    assert_true(off % PAGE == 0 && off + PAGE <= ramlen);
                    assert_memory_equal(g.p[i], ram + off, PAGE);
                    seen[off / PAGE] = 1;
                }
                pages += used;
                payload_bytes += size;
                free(in);
                guarded_free(&g);
                p += size;
            }
            vmig_multifd_codec_free(dec);
            free(d);
        }
        closedir(dir);
        free(dirpath);
        assert_true(channels > 0);
        unsigned nonzero = 0;
        for (size_t i = 0; i < ramlen / PAGE; i++) {
            bool zero = true;
            for (size_t j = 0; j < PAGE && zero; j++)
                zero = ram[i * PAGE + j] == 0;
            if (!zero) {
                nonzero++;
                if (!seen[i])
                    fail_msg("%s: non-zero page %zu never came on a channel", methods[m].dir, i);
            }
        }
        print_message("QEMU 7.2 %s: %u channels, %u packets, %u pages (%u non-zero in RAM), "
                      "%llu payload bytes\n",
                      methods[m].dir, channels, packets, pages, nonzero,
                      (unsigned long long)payload_bytes);
        free(seen);
    }
    free(ram);
    assert_int_equal(dirs_seen, 3);
}

int main(void)
{
    vt_test_setup(110);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_none),
        cmocka_unit_test(test_roundtrip_zlib),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_decode_plain_zlib),
        cmocka_unit_test(test_plain_zlib_reads_ours),
        cmocka_unit_test(test_decode_plain_zstd),
        cmocka_unit_test(test_zstd_window_bound),
        cmocka_unit_test(test_plain_zstd_reads_ours),
        cmocka_unit_test(test_refused_zlib),
        cmocka_unit_test(test_refused_zstd),
        cmocka_unit_test(test_refused_none),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_stored_and_compressed),
        cmocka_unit_test(test_zstd_random_is_raw),
        cmocka_unit_test(test_args_and_nospace),
        cmocka_unit_test(test_qemu_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
