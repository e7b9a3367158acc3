/* ram_compress.c — legacy compressed pages: QEMU 7.2's deflate call sequence
 * (deflateInit once, deflateReset + one deflate(Z_FINISH) per page) and the
 * loader's checks around inflate. */
#include "ram/ram_compress.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why the output matches QEMU byte for byte: zlib's output depends only on
 * the input, the level, the parameters of deflateInit (window 15, memLevel 8,
 * default strategy: QEMU uses deflateInit, so do we) and the flush sequence
 * (one Z_FINISH call over the whole page). deflateReset returns the state to
 * exactly what deflateInit made, so a reused stream and a fresh one agree.
 * Checked against real QEMU 7.2 records in tests/ram/fixtures/. A random page
 * is stored: 2 (header) + 5 (stored block header) + 4096 + 4 (adler32) =
 * 4107 bytes of zlib at every level, 4111 with the be32 length. */

static bool level_ok(int level)
{
    return level >= VMIG_COMPRESS_LEVEL_MIN && level <= VMIG_COMPRESS_LEVEL_MAX;
}

int vmig_compress_ctx_init(vmig_compress_ctx_t *ctx, int level)
{
    memset(ctx, 0, sizeof(*ctx));
    if (!level_ok(level))
        return -EINVAL;
    int z = deflateInit(&ctx->zs, level);
    if (z != Z_OK)
        return z == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
    ctx->level = level;
    ctx->ready = true;
    return 0;
}

void vmig_compress_ctx_fini(vmig_compress_ctx_t *ctx)
{
    if (ctx->ready)
        deflateEnd(&ctx->zs);
    ctx->ready = false;
}

ssize_t vmig_compress_page_ctx(vmig_compress_ctx_t *ctx, const void *page, size_t len,
                               uint8_t *dst, size_t dst_cap)
{
    /* zlib counts in uInt; a page never comes near that, but a caller's
     * size_t must not be silently truncated. */
    if (!ctx->ready || !page || !dst || len == 0 || len > UINT_MAX)
        return -EINVAL;
    if (dst_cap > UINT_MAX)
        dst_cap = UINT_MAX;
    if (deflateReset(&ctx->zs) != Z_OK)
        return -EINVAL;
    ctx->zs.next_in = (Bytef *)(uintptr_t)page; /* zlib's API is not const, it only reads */
    ctx->zs.avail_in = (uInt)len;
    ctx->zs.next_out = dst;
    ctx->zs.avail_out = (uInt)dst_cap;
    int z = deflate(&ctx->zs, Z_FINISH);
    if (z != Z_STREAM_END)
        return z == Z_OK || z == Z_BUF_ERROR ? -ENOSPC : -EINVAL;
    return (ssize_t)(dst_cap - ctx->zs.avail_out);
}

ssize_t vmig_compress_page(const void *page, size_t len, int level, uint8_t *dst, size_t dst_cap)
{
    vmig_compress_ctx_t ctx;
    int r = vmig_compress_ctx_init(&ctx, level);
    if (r < 0)
        return r;
    ssize_t n = vmig_compress_page_ctx(&ctx, page, len, dst, dst_cap);
    vmig_compress_ctx_fini(&ctx);
    return n;
}

/* ---- decompression ---------------------------------------------------------------- */

static void set_msg(char *msg, size_t cap, const char *text)
{
    if (msg && cap)
        snprintf(msg, cap, "%s", text);
}

int vmig_decompress_page_msg(const void *src, size_t len, void *page, size_t page_len,
                             char *msg, size_t msg_cap)
{
    if (msg && msg_cap)
        msg[0] = '\0';
    if (!page || page_len == 0 || page_len > UINT_MAX || (!src && len))
        return -EINVAL;
    /* The wire field is a be32 that QEMU reads into an int: print what it
     * would (a length with the top bit set shows as negative). */
    if (len > compressBound((uLong)page_len)) {
        if (msg && msg_cap) {
            int shown = len > UINT32_MAX ? -1 : (int)(int32_t)(uint32_t)len;
            snprintf(msg, msg_cap, VMIG_COMPRESS_ERR_LEN_FMT, shown);
        }
        return -EINVAL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    int z = inflateInit(&zs);
    if (z != Z_OK) {
        set_msg(msg, msg_cap, VMIG_COMPRESS_ERR_DATA);
        return z == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
    }
    zs.next_in = (Bytef *)(uintptr_t)src; /* read only, zlib's API is not const */
    zs.avail_in = (uInt)len;              /* len ≤ compressBound(page_len) ≤ uInt range */
    zs.next_out = page;
    /* avail_out is the page: however much a hostile stream would inflate
     * to, zlib stops at the page's end (a "zip bomb" ends as Z_OK or
     * Z_BUF_ERROR with avail_out 0, not Z_STREAM_END). */
    zs.avail_out = (uInt)page_len;
    z = inflate(&zs, Z_FINISH);
    /* QEMU requires Z_STREAM_END. vmig also requires exactly one page out
     * and nothing after the stream: QEMU's sender never produces either, so
     * a stream with them is damaged, and a short page would leave stale
     * bytes in guest memory. */
    bool ok = z == Z_STREAM_END && zs.avail_out == 0 && zs.avail_in == 0;
    inflateEnd(&zs);
    if (!ok) {
        set_msg(msg, msg_cap, VMIG_COMPRESS_ERR_DATA);
        return -EINVAL;
    }
    return 0;
}

int vmig_decompress_page(const void *src, size_t len, void *page, size_t page_len)
{
    return vmig_decompress_page_msg(src, len, page, page_len, NULL, 0);
}
