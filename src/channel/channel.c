/* channel.c — the transport-independent part of a channel: counters, the
 * first error with its message, and the calls every layer above uses. */
#include "channel/channel.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vmig_channel_init(vmig_channel_t *ch, const vmig_channel_ops_t *ops, uv_loop_t *loop,
                       const char *peer_fmt, ...)
{
    memset(ch, 0, sizeof(*ch));
    ch->ops = ops;
    ch->loop = loop;
    va_list ap;
    va_start(ap, peer_fmt);
    vsnprintf(ch->peer, sizeof(ch->peer), peer_fmt, ap);
    va_end(ap);
}

static int channel_fail(vmig_channel_t *ch, int code, const char *what)
{
    /* Transports may have set a more precise message already; keep it. */
    return vmig_error_set(&ch->err, code, "%s %s %s: %s", ch->ops->kind, what, ch->peer,
                          vmig_strerror(code));
}

ssize_t vmig_channel_read(vmig_channel_t *ch, void *buf, size_t len)
{
    if (ch->err.code)
        return ch->err.code;
    ssize_t n = ch->ops->read(ch, buf, len);
    if (n < 0)
        return channel_fail(ch, (int)n, "read from");
    ch->bytes_read += (uint64_t)n;
    return n;
}

int vmig_channel_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    if (ch->err.code)
        return ch->err.code;
    int r = ch->ops->writev(ch, iov, iovcnt);
    if (r < 0)
        return channel_fail(ch, r, "write to");
    for (int i = 0; i < iovcnt; i++)
        ch->bytes_written += iov[i].iov_len;
    return 0;
}

int vmig_channel_write(vmig_channel_t *ch, const void *buf, size_t len)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return vmig_channel_writev(ch, &iov, 1);
}

int vmig_channel_shutdown(vmig_channel_t *ch, int how)
{
    return ch->ops->shutdown(ch, how);
}

void vmig_channel_close(vmig_channel_t *ch)
{
    if (ch)
        ch->ops->close(ch);
}

const char *vmig_channel_kind(const vmig_channel_t *ch)
{
    return ch->ops->kind;
}
