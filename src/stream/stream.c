/* stream.c — creation, sticky error and buffered writer of a migration stream:
 * big-endian puts, copied runs and zero-copy blocks sent by one writev. */
#include "stream/stream_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A put_buffer at least this long is sent from the caller's memory at once
 * instead of being copied: copying a big block would only cost time. */
#define VMIG_STREAM_DIRECT_MIN (VMIG_STREAM_BUF_SIZE / 2)

static vmig_stream_t *stream_new(vmig_channel_t *ch, unsigned flags, bool writer)
{
    if (!ch)
        return NULL;
    vmig_stream_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->bufsize = writer ? VMIG_STREAM_BUF_SIZE : VMIG_STREAM_READ_BUF_SIZE;
    s->buf = malloc(s->bufsize);
    if (!s->buf) {
        free(s);
        return NULL;
    }
    s->ch = ch;
    s->flags = flags;
    s->writer = writer;
    vmig__stream_rate_init(s);
    return s;
}

vmig_stream_t *vmig_stream_new_writer(vmig_channel_t *ch, unsigned flags)
{
    return stream_new(ch, flags, true);
}

vmig_stream_t *vmig_stream_new_reader(vmig_channel_t *ch, unsigned flags)
{
    return stream_new(ch, flags, false);
}

void vmig_stream_free(vmig_stream_t *s)
{
    if (!s)
        return;
    if (s->writer)
        vmig_stream_flush(s);
    if (s->flags & VMIG_STREAM_OWN_CHANNEL)
        vmig_channel_close(s->ch);
    free(s->buf);
    free(s);
}

vmig_channel_t *vmig_stream_channel(const vmig_stream_t *s)
{
    return s->ch;
}

/* ---- errors ------------------------------------------------------------------ */

int vmig_stream_error(const vmig_stream_t *s)
{
    return s->err.code;
}

const char *vmig_stream_error_msg(const vmig_stream_t *s)
{
    return s->err.msg;
}

const vmig_error_t *vmig_stream_error_obj(const vmig_stream_t *s)
{
    return &s->err;
}

int vmig_stream_set_error(vmig_stream_t *s, int code, const char *fmt, ...)
{
    if (code >= 0)
        code = -EIO;
    if (s->err.code)
        return s->err.code;
    s->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
    va_end(ap);
    return code;
}

/* Append str to msg (holding *len bytes) as far as it fits, NUL-terminated. */
static void msg_append(char *msg, size_t *len, const char *str)
{
    size_t room = VMIG_ERROR_MSG_MAX - 1 - *len;
    size_t n = strlen(str);
    if (n > room)
        n = room;
    memcpy(msg + *len, str, n);
    *len += n;
    msg[*len] = '\0';
}

int vmig_stream_error_prefix(vmig_stream_t *s, const char *fmt, ...)
{
    if (!s->err.code)
        return 0;
    char old[VMIG_ERROR_MSG_MAX];
    memcpy(old, s->err.msg, sizeof(old));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len > sizeof(s->err.msg) - 1)
        len = sizeof(s->err.msg) - 1;
    s->err.msg[len] = '\0';
    msg_append(s->err.msg, &len, ": ");
    msg_append(s->err.msg, &len, old);
    return s->err.code;
}

/* ---- writer ------------------------------------------------------------------ */

/* Send everything queued. The channel keeps its own message; copy it so the
 * stream's error names the peer and the cause. */
int vmig_stream_flush(vmig_stream_t *s)
{
    if (!s->writer)
        return s->err.code;
    if (!s->err.code && s->iovcnt > 0) {
        int r = vmig_channel_writev(s->ch, s->iov, s->iovcnt);
        if (r < 0) {
            if (s->ch->err.code)
                vmig_stream_set_error(s, r, "%s", s->ch->err.msg);
            else
                vmig_stream_set_error(s, r, "write failed: %s", vmig_strerror(r));
        }
    }
    s->iovcnt = 0;
    s->blen = 0;
    return s->err.code;
}

/* Queue [p, p+len): extend the last entry when p continues it (runs of copied
 * bytes stay one entry), else take a new slot, flushing when the array is full. */
static void queue_iov(vmig_stream_t *s, const uint8_t *p, size_t len)
{
    if (s->iovcnt > 0) {
        struct iovec *last = &s->iov[s->iovcnt - 1];
        if ((const uint8_t *)last->iov_base + last->iov_len == p) {
            last->iov_len += len;
            return;
        }
    }
    if (s->iovcnt == VMIG_STREAM_IOV_MAX) {
        /* Only reached for memory outside buf: put_copy() makes room before it
         * copies, so a flush here never drops a copied run still being built. */
        if (vmig_stream_flush(s) < 0)
            return;
    }
    s->iov[s->iovcnt].iov_base = (void *)p;
    s->iov[s->iovcnt].iov_len = len;
    s->iovcnt++;
}

/* Make sure a copied run of len bytes (len <= buffer size) fits into buf and
 * can get an iovec slot without a flush in between. */
static void room_for(vmig_stream_t *s, size_t len)
{
    if (s->blen + len > s->bufsize || s->iovcnt == VMIG_STREAM_IOV_MAX)
        vmig_stream_flush(s);
}

static void put_copy(vmig_stream_t *s, const void *src, size_t len)
{
    const uint8_t *p = src;
    while (len > 0 && !s->err.code) {
        size_t n = s->bufsize - s->blen;
        if (n == 0 || s->iovcnt == VMIG_STREAM_IOV_MAX) {
            vmig_stream_flush(s);
            continue;
        }
        if (n > len)
            n = len;
        uint8_t *dst = s->buf + s->blen;
        memcpy(dst, p, n);
        s->blen += n;
        queue_iov(s, dst, n);
        p += n;
        len -= n;
    }
}

static void accept_bytes(vmig_stream_t *s, size_t len)
{
    s->pos += len;
    vmig__stream_rate_count(s, len);
}

/* A put on a reader would scribble over its read-ahead: refuse it. */
static bool put_ok(vmig_stream_t *s)
{
    if (s->err.code)
        return false;
    if (!s->writer) {
        vmig_stream_set_error(s, -EINVAL, "write to a stream opened for reading");
        return false;
    }
    return true;
}

void vmig_stream_put_buffer(vmig_stream_t *s, const void *buf, size_t len)
{
    if (!put_ok(s) || len == 0)
        return;
    accept_bytes(s, len);
    if (len >= VMIG_STREAM_DIRECT_MIN) {
        /* Send from the caller's memory now: it may change buf after we return,
         * so the flush must happen before that. */
        queue_iov(s, buf, len);
        vmig_stream_flush(s);
        return;
    }
    room_for(s, len);
    put_copy(s, buf, len);
}

void vmig_stream_put_buffer_nocopy(vmig_stream_t *s, const void *buf, size_t len)
{
    if (!put_ok(s) || len == 0)
        return;
    accept_bytes(s, len);
    queue_iov(s, buf, len);
    if (s->iovcnt == VMIG_STREAM_IOV_MAX)
        vmig_stream_flush(s);
}

void vmig_stream_put_u8(vmig_stream_t *s, uint8_t v)
{
    vmig_stream_put_buffer(s, &v, 1);
}

void vmig_stream_put_be16(vmig_stream_t *s, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    vmig_stream_put_buffer(s, b, sizeof(b));
}

void vmig_stream_put_be32(vmig_stream_t *s, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    vmig_stream_put_buffer(s, b, sizeof(b));
}

void vmig_stream_put_be64(vmig_stream_t *s, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    vmig_stream_put_buffer(s, b, sizeof(b));
}

void vmig_stream_put_counted_string(vmig_stream_t *s, const char *str)
{
    size_t len = strlen(str);
    if (len > 255) {
        vmig_stream_set_error(s, -EINVAL, "counted string too long (%zu bytes, at most 255)",
                              len);
        return;
    }
    vmig_stream_put_u8(s, (uint8_t)len);
    vmig_stream_put_buffer(s, str, len);
}

uint64_t vmig_stream_bytes_written(const vmig_stream_t *s)
{
    return s->writer ? s->pos : 0;
}
