/* ram_compress.h — legacy `compress` pages (ram.md §6-§7): one target page as
 * a complete zlib stream, byte-identical to QEMU 7.2's, and its checked inverse. */
#ifndef VMIG_RAM_COMPRESS_H
#define VMIG_RAM_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zlib.h>

/* The loader's bound on a COMPRESS_PAGE length: compressBound(4096) =
 * 4096 + 4096/4096 + 4096/16384 + 4096/2^25 + 13 (ram.md §6). A record the
 * size of a random page (4107 bytes of zlib, see ram_compress.c) fits. */
#define VMIG_COMPRESS_BOUND_4K 4110u

/* QEMU 7.2's messages, so the loader can report them word for word. The
 * length one takes the be32 field read as a signed int, as QEMU prints it. */
#define VMIG_COMPRESS_ERR_LEN_FMT "Invalid compressed data length: %d"
/* Not in the spec: the text of QEMU 7.2's decompression thread (unverified). */
#define VMIG_COMPRESS_ERR_DATA "decompress data failed"

/* compress-level's range (qmp.md §7: "expects a value between 0 and 9"). */
#define VMIG_COMPRESS_LEVEL_MIN 0
#define VMIG_COMPRESS_LEVEL_MAX 9

/* ---- one page at a time -------------------------------------------------------- */

/* Compresses len bytes at page (1..UINT_MAX, a target page in practice) at
 * level 0..9 into dst: zlib header, deflate data, adler32, exactly the bytes
 * QEMU 7.2 puts after a COMPRESS_PAGE record's be32 length. Returns the
 * stream's length, -EINVAL for a bad argument, -ENOSPC when dst_cap is too
 * small (compressBound(len) always suffices), -ENOMEM when zlib cannot get
 * its state. Pure: safe on a pool thread. Zero pages are never compressed:
 * the sender detects them first and sends ZERO records, as QEMU's
 * compression threads do (ram.md §7); compressing one still works. */
ssize_t vmig_compress_page(const void *page, size_t len, int level, uint8_t *dst, size_t dst_cap);

/* Checks and inflates one COMPRESS_PAGE payload (src, len) into page
 * (page_len bytes; on failure part of it may have been written, as QEMU's
 * loader leaves it). 0 on success; -EINVAL when len > compressBound(page_len)
 * (4110 for 4 KiB), the stream is not valid zlib, it ends early (no
 * Z_STREAM_END), it would produce more or fewer than page_len bytes, or bytes
 * follow its end; -ENOMEM when zlib cannot get its state. Never writes
 * outside page. Pure: safe on a pool thread. */
int vmig_decompress_page(const void *src, size_t len, void *page, size_t page_len);

/* The same, with QEMU's message for a failure written into msg (msg_cap
 * bytes, NUL-terminated, may be NULL): VMIG_COMPRESS_ERR_LEN_FMT for a bad
 * length, VMIG_COMPRESS_ERR_DATA for a bad stream. */
int vmig_decompress_page_msg(const void *src, size_t len, void *page, size_t page_len,
                             char *msg, size_t msg_cap);

/* ---- a reusable z_stream, as each QEMU compression thread keeps -------------- */

typedef struct vmig_compress_ctx {
    z_stream zs;   /* deflate state, reset before each page (deflateReset) */
    int level;     /* the level it was initialised at */
    bool ready;    /* deflateInit succeeded: deflateEnd is owed */
} vmig_compress_ctx_t;

/* 0, -EINVAL (level), -ENOMEM. */
int vmig_compress_ctx_init(vmig_compress_ctx_t *ctx, int level);
/* Idempotent; a zeroed ctx is fine. */
void vmig_compress_ctx_fini(vmig_compress_ctx_t *ctx);
/* vmig_compress_page() with ctx's state: same result, no allocation. */
ssize_t vmig_compress_page_ctx(vmig_compress_ctx_t *ctx, const void *page, size_t len,
                               uint8_t *dst, size_t dst_cap);

#endif
