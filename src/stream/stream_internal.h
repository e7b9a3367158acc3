/* stream_internal.h — the layout of a vmig_stream shared by the writer,
 * reader and rate-limit files of src/stream; nothing outside them uses it. */
#ifndef VMIG_STREAM_INTERNAL_H
#define VMIG_STREAM_INTERNAL_H

#include <sys/uio.h>

#include "stream/stream.h"

/* Copy buffer of a writer (it holds record headers; pages go by reference). */
#define VMIG_STREAM_BUF_SIZE (32u * 1024u)
/* Read-ahead buffer of a reader: big reads keep a receiver from paying a
 * syscall, a loop turn and a TCP window update for every 32 KiB. */
#define VMIG_STREAM_READ_BUF_SIZE (1024u * 1024u)
/* Queued iovec entries before a writer flushes (copied runs and nocopy
 * blocks): 256 pages and their headers, 1 MiB per writev. Loopback TCP costs
 * less per byte in big writes (bench/loopback_ceiling: 64 KiB 1.6 GB/s,
 * 1 MiB 2.1 GB/s under the same load), and one such writev takes ~0.3 ms. */
#define VMIG_STREAM_IOV_MAX 512
/* Largest vmig_stream_peek(): a u8-counted name plus its two header bytes fit. */
#define VMIG_STREAM_PEEK_MAX 512u
/* Rate-limit window (QEMU's BUFFER_DELAY) and windows per second. */
#define VMIG_STREAM_RATE_WINDOW_MS 100u
#define VMIG_STREAM_RATE_WINDOWS_PER_SEC 10u

struct vmig_stream {
    vmig_channel_t *ch;           /* the channel bytes go to or come from */
    unsigned flags;               /* VMIG_STREAM_* given at creation */
    bool writer;                  /* true for a writer, false for a reader */
    vmig_error_t err;             /* first error with its message (sticky) */
    uint64_t pos;                 /* writer: bytes accepted; reader: stream offset of buf[0] */

    /* writer: copied bytes live in buf[0..blen); iov lists what to send, in order,
     * pointing either into buf (copied runs) or at the caller's memory (nocopy). */
    size_t blen;                  /* bytes used in buf (writer) */
    struct iovec iov[VMIG_STREAM_IOV_MAX]; /* queued pieces, in stream order */
    int iovcnt;                   /* entries used in iov */

    /* reader: buf[rpos..rlen) holds bytes read from the channel, not yet consumed. */
    size_t rpos;                  /* next unconsumed byte in buf */
    size_t rlen;                  /* bytes valid in buf */
    bool ch_eof;                  /* the channel reported end of stream */

    /* rate limit (writer), channels.md §6 */
    uint64_t rate_limit;          /* bytes per second, 0 = unlimited */
    uint64_t rate_used;           /* bytes counted in the current window */
    uint64_t window_start_ns;     /* uv_hrtime() when the current window began */

    uint8_t *buf;                 /* copy buffer (writer) or read-ahead (reader), owned */
    size_t bufsize;               /* its size */
};

/* Rate accounting of bytes accepted by the writer (stream_rate.c). */
void vmig__stream_rate_count(vmig_stream_t *s, uint64_t bytes);
/* Start the first rate window at creation (stream_rate.c). */
void vmig__stream_rate_init(vmig_stream_t *s);

#endif
