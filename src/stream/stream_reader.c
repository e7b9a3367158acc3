/* stream_reader.c — the buffered reader: big-endian gets, skip and peek over a
 * read-ahead buffer; a short read is a sticky -EIO naming the byte offset. */
#include "stream/stream_internal.h"
#include "util/copy_nt.h"

#include <inttypes.h>
#include <string.h>

/* Consumed bytes so far: the stream offset of the next byte to hand out. */
static uint64_t reader_tell(const vmig_stream_t *s)
{
    return s->pos + s->rpos;
}

/* The channel ended before the bytes a caller needs: consume what is left, so
 * tell() is where the stream stopped, and keep an error naming that offset. */
static int truncated(vmig_stream_t *s)
{
    s->rpos = s->rlen;
    return vmig_stream_set_error(s, -EIO, "stream truncated at byte offset %" PRIu64,
                                 reader_tell(s));
}

static int channel_failed(vmig_stream_t *s, ssize_t r)
{
    if (s->ch->err.code)
        return vmig_stream_set_error(s, (int)r, "%s", s->ch->err.msg);
    return vmig_stream_set_error(s, (int)r, "read failed: %s", vmig_strerror((int)r));
}

/* A get on a writer would read its copy buffer as data: refuse it. */
static int get_ok(vmig_stream_t *s)
{
    if (s->writer && !s->err.code)
        vmig_stream_set_error(s, -EINVAL, "read from a stream opened for writing");
    return s->err.code;
}

/* One channel read appended to the buffer (moving unconsumed bytes to the
 * front first). Returns bytes got, 0 at end of stream, or the error. */
static ssize_t fill_once(vmig_stream_t *s)
{
    if (s->err.code)
        return s->err.code;
    if (s->ch_eof)
        return 0;
    if (s->rpos > 0) {
        size_t left = s->rlen - s->rpos;
        memmove(s->buf, s->buf + s->rpos, left);
        s->pos += s->rpos;
        s->rpos = 0;
        s->rlen = left;
    }
    if (s->rlen == s->bufsize)
        return (ssize_t)s->rlen; /* full: callers never want more than a buffer */
    ssize_t n = vmig_channel_read(s->ch, s->buf + s->rlen, s->bufsize - s->rlen);
    if (n < 0)
        return channel_failed(s, n);
    if (n == 0) {
        s->ch_eof = true;
        return 0;
    }
    s->rlen += (size_t)n;
    return n;
}

/* Have at least want (<= the buffer size) unconsumed bytes buffered, unless
 * the stream ends first. Returns the bytes available or the error. */
static ssize_t ensure(vmig_stream_t *s, size_t want)
{
    while (s->rlen - s->rpos < want) {
        ssize_t n = fill_once(s);
        if (n < 0)
            return n;
        if (n == 0)
            break;
    }
    return (ssize_t)(s->rlen - s->rpos);
}

static void copy_plain(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}

/* Exactly len bytes into dst; large reads go straight from the channel into
 * dst once the buffer is drained. On any failure dst is zero-filled. */
static int read_exact(vmig_stream_t *s, void *dst0, size_t len,
                      void (*copy)(void *, const void *, size_t))
{
    uint8_t *dst = dst0;
    size_t left = len;
    get_ok(s);
    while (left > 0 && !s->err.code) {
        size_t avail = s->rlen - s->rpos;
        if (avail > 0) {
            size_t n = avail < left ? avail : left;
            copy(dst, s->buf + s->rpos, n);
            s->rpos += n;
            dst += n;
            left -= n;
            continue;
        }
        if (s->ch_eof) {
            truncated(s);
            break;
        }
        if (left >= s->bufsize) {
            /* The buffer is empty: read into the caller's memory directly. */
            s->pos += s->rpos;
            s->rpos = s->rlen = 0;
            ssize_t n = vmig_channel_read(s->ch, dst, left);
            if (n < 0) {
                channel_failed(s, n);
            } else if (n == 0) {
                s->ch_eof = true;
            } else {
                s->pos += (uint64_t)n;
                dst += n;
                left -= (size_t)n;
            }
            continue;
        }
        fill_once(s);
    }
    if (s->err.code) {
        if (len)
            memset(dst0, 0, len);
        return s->err.code;
    }
    return 0;
}

uint8_t vmig_stream_get_u8(vmig_stream_t *s)
{
    if (!s->err.code && s->rpos < s->rlen)
        return s->buf[s->rpos++];
    uint8_t v;
    read_exact(s, &v, 1, copy_plain);
    return v;
}

uint16_t vmig_stream_get_be16(vmig_stream_t *s)
{
    uint8_t b[2];
    read_exact(s, b, sizeof(b), copy_plain);
    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

uint32_t vmig_stream_get_be32(vmig_stream_t *s)
{
    uint8_t b[4];
    read_exact(s, b, sizeof(b), copy_plain);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t vmig_stream_get_be64(vmig_stream_t *s)
{
    uint8_t b[8];
    read_exact(s, b, sizeof(b), copy_plain);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

int vmig_stream_get_buffer(vmig_stream_t *s, void *buf, size_t len)
{
    return read_exact(s, buf, len, copy_plain);
}

int vmig_stream_get_buffer_nt(vmig_stream_t *s, void *buf, size_t len)
{
    int r = read_exact(s, buf, len, vmig_copy_nt);
    vmig_copy_nt_fence();
    return r;
}

int vmig_stream_skip(vmig_stream_t *s, uint64_t len)
{
    get_ok(s);
    while (len > 0 && !s->err.code) {
        size_t avail = s->rlen - s->rpos;
        if (avail > 0) {
            size_t n = (uint64_t)avail < len ? avail : (size_t)len;
            s->rpos += n;
            len -= n;
            continue;
        }
        if (s->ch_eof) {
            truncated(s);
            break;
        }
        fill_once(s);
    }
    return s->err.code;
}

int vmig_stream_get_counted_string(vmig_stream_t *s, char out[256])
{
    out[0] = '\0';
    uint8_t len = vmig_stream_get_u8(s);
    if (s->err.code)
        return s->err.code;
    if (read_exact(s, out, len, copy_plain) < 0) {
        out[0] = '\0';
        return s->err.code;
    }
    out[len] = '\0';
    return len;
}

int vmig_stream_peek(vmig_stream_t *s, void *buf, size_t len)
{
    if (len > VMIG_STREAM_PEEK_MAX)
        return -EINVAL;
    if (get_ok(s))
        return s->err.code;
    ssize_t avail = ensure(s, len);
    if (avail < 0)
        return (int)avail;
    size_t n = (size_t)avail < len ? (size_t)avail : len;
    memcpy(buf, s->buf + s->rpos, n);
    return (int)n;
}

bool vmig_stream_eof(vmig_stream_t *s)
{
    if (s->writer || s->err.code)
        return false;
    if (s->rpos < s->rlen)
        return false;
    if (ensure(s, 1) < 0)
        return false;
    return s->rpos == s->rlen && s->ch_eof;
}

uint64_t vmig_stream_tell(const vmig_stream_t *s)
{
    return s->writer ? s->pos : reader_tell(s);
}
