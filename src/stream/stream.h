/* stream.h — the buffered migration stream (vmig's QEMUFile): big-endian
 * put/get over a channel, zero-copy page sends, rate limit, byte counters and
 * a sticky first error. Every layer that reads or writes the wire uses it. */
#ifndef VMIG_STREAM_H
#define VMIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"
#include "vmig/error.h"

/*
 * Rules
 * - A stream is a writer or a reader over one channel; it does not own the
 *   channel unless VMIG_STREAM_OWN_CHANNEL is given.
 * - Calls that move bytes may suspend the calling coroutine (the channel's read
 *   or write). Over a memory channel nothing suspends.
 * - Sticky error: the first failure (I/O, a short read, a value rejected by a
 *   parser through vmig_stream_set_error()) is kept with its message; every
 *   later call fails fast: writers drop bytes, getters return 0 and readers
 *   return the error. Check vmig_stream_error() at points that matter.
 * - The reader never reads past what the channel gave it and never trusts a
 *   length: vmig_stream_get_buffer() etc. take the length the caller has
 *   already bounded; nothing allocates from a wire value here.
 */

typedef struct vmig_stream vmig_stream_t;

enum {
    VMIG_STREAM_OWN_CHANNEL = 1 << 0, /* close the channel with the stream */
};

/* NULL on out of memory. */
vmig_stream_t *vmig_stream_new_writer(vmig_channel_t *ch, unsigned flags);
vmig_stream_t *vmig_stream_new_reader(vmig_channel_t *ch, unsigned flags);
/* A writer flushes first (errors go to the sticky error); then frees. May suspend. */
void vmig_stream_free(vmig_stream_t *s);
vmig_channel_t *vmig_stream_channel(const vmig_stream_t *s);

/* ---- errors ------------------------------------------------------------------ */
int vmig_stream_error(const vmig_stream_t *s);             /* 0 or negative errno */
const char *vmig_stream_error_msg(const vmig_stream_t *s); /* "" when no error */
const vmig_error_t *vmig_stream_error_obj(const vmig_stream_t *s);
/* Keep code and message unless an error is already kept; returns the kept code. */
int vmig_stream_set_error(vmig_stream_t *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Put context in front of the kept message ("<context>: <message>"), e.g. the
 * field a parser was loading when a short read happened; the code stays. Does
 * nothing (returns 0) when no error is kept; else returns the kept code. */
int vmig_stream_error_prefix(vmig_stream_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- writer ------------------------------------------------------------------ */
void vmig_stream_put_u8(vmig_stream_t *s, uint8_t v);
void vmig_stream_put_be16(vmig_stream_t *s, uint16_t v);
void vmig_stream_put_be32(vmig_stream_t *s, uint32_t v);
void vmig_stream_put_be64(vmig_stream_t *s, uint64_t v);
/* Copy len bytes into the buffer. */
void vmig_stream_put_buffer(vmig_stream_t *s, const void *buf, size_t len);
/* Queue len bytes without copying (guest pages): buf must stay valid and
 * unchanged until the next vmig_stream_flush() returns. */
void vmig_stream_put_buffer_nocopy(vmig_stream_t *s, const void *buf, size_t len);
/* u8 length + bytes (no NUL); strings over 255 bytes set an error. */
void vmig_stream_put_counted_string(vmig_stream_t *s, const char *str);
/* Write out everything buffered or queued: 0 or the sticky error. */
int vmig_stream_flush(vmig_stream_t *s);
/* Bytes handed to the writer so far (buffered ones included). */
uint64_t vmig_stream_bytes_written(const vmig_stream_t *s);

/* Rate limit, QEMU's scheme: a budget of bytes_per_sec / 10 per 100 ms window.
 * 0 = unlimited. Changing it applies at once. */
void vmig_stream_set_rate_limit(vmig_stream_t *s, uint64_t bytes_per_sec);
uint64_t vmig_stream_rate_limit(const vmig_stream_t *s);
/* Count bytes sent elsewhere (multifd) against this window's budget. */
void vmig_stream_rate_account(vmig_stream_t *s, uint64_t bytes);
/* True when this window's budget is used up (more than the budget counted;
 * also true once the stream has an error, so a sender's loop stops). */
bool vmig_stream_rate_exceeded(vmig_stream_t *s);
/* The same, counting pending bytes about to be written (records a sender
 * has queued but not made yet) as if they were. */
bool vmig_stream_rate_exceeded_with(vmig_stream_t *s, uint64_t pending);
/* Sleep (on the loop) until the current window ends and start a new one:
 * 0 or -ECANCELED. Returns at once when unlimited or within budget. Outside a
 * coroutine nothing can sleep: over budget it returns -EINVAL (no sticky
 * error, window unchanged); with an error kept it returns that error. */
int vmig_stream_rate_wait(vmig_stream_t *s);

/* ---- reader ------------------------------------------------------------------ */
/* Getters return 0 once the stream has an error (a short read is -EIO with
 * the message "stream truncated at byte offset N"). On a short read the bytes
 * that were there are consumed, so N == vmig_stream_tell() afterwards: the
 * offset where the stream ended and the needed bytes were missing. */
uint8_t vmig_stream_get_u8(vmig_stream_t *s);
uint16_t vmig_stream_get_be16(vmig_stream_t *s);
uint32_t vmig_stream_get_be32(vmig_stream_t *s);
uint64_t vmig_stream_get_be64(vmig_stream_t *s);
/* Exactly len bytes into buf: 0 or the sticky error (buf zero-filled then). */
int vmig_stream_get_buffer(vmig_stream_t *s, void *buf, size_t len);
/* The same for memory nobody reads soon (received guest pages): copied with
 * non-temporal stores (util/copy_nt.h), fenced before returning. */
int vmig_stream_get_buffer_nt(vmig_stream_t *s, void *buf, size_t len);
/* Discard len bytes: 0 or the sticky error. */
int vmig_stream_skip(vmig_stream_t *s, uint64_t len);
/* u8 length + bytes into out[256], NUL-terminated: the length, or the error. */
int vmig_stream_get_counted_string(vmig_stream_t *s, char out[256]);
/* Look at the next len bytes (len <= 512) without consuming them: the number
 * available (less than len only at end of stream), or the sticky error. */
int vmig_stream_peek(vmig_stream_t *s, void *buf, size_t len);
/* True when the channel has ended and every byte was consumed (no error set). */
bool vmig_stream_eof(vmig_stream_t *s);
/* Byte offset of the next byte to be read (reader) or written (writer). */
uint64_t vmig_stream_tell(const vmig_stream_t *s);

#endif
