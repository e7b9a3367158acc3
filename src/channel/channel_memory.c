/* channel_memory.c — a channel over a memory buffer: the reader parsers and
 * fuzzers use, and the writer tests use to capture exact bytes. Never suspends. */
#include "channel/channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct mem_channel {
    vmig_channel_t ch;   /* common part; first so the casts below hold */
    uint8_t *data;       /* bytes to read, or bytes written */
    size_t len;          /* valid bytes in data */
    size_t cap;          /* allocated bytes (writer) */
    size_t pos;          /* read position (reader) */
    bool owned;          /* data is ours to free */
    bool shut_rd;        /* shutdown(SHUT_RD) seen: reads end */
    bool shut_wr;        /* shutdown(SHUT_WR) seen: writes fail */
} mem_channel_t;

static ssize_t mem_read(vmig_channel_t *ch, void *buf, size_t len)
{
    mem_channel_t *m = (mem_channel_t *)ch;
    if (m->shut_rd)
        return 0;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static int mem_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    mem_channel_t *m = (mem_channel_t *)ch;
    if (!m->owned || m->shut_wr)
        return -EPIPE;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > SIZE_MAX - total)
            return -EOVERFLOW;
        total += iov[i].iov_len;
    }
    if (total > SIZE_MAX - m->len)
        return -EOVERFLOW;
    if (m->len + total > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + total)
            cap = cap > SIZE_MAX / 2 ? m->len + total : cap * 2;
        uint8_t *d = realloc(m->data, cap);
        if (!d)
            return -ENOMEM;
        m->data = d;
        m->cap = cap;
    }
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len)
            memcpy(m->data + m->len, iov[i].iov_base, iov[i].iov_len);
        m->len += iov[i].iov_len;
    }
    return 0;
}

static int mem_shutdown(vmig_channel_t *ch, int how)
{
    mem_channel_t *m = (mem_channel_t *)ch;
    if (how == SHUT_RD || how == SHUT_RDWR)
        m->shut_rd = true;
    if (how == SHUT_WR || how == SHUT_RDWR)
        m->shut_wr = true;
    return 0;
}

static void mem_close(vmig_channel_t *ch)
{
    mem_channel_t *m = (mem_channel_t *)ch;
    if (m->owned)
        free(m->data);
    free(m);
}

static const vmig_channel_ops_t mem_reader_ops = {
    "memory", mem_read, mem_writev, mem_shutdown, mem_close,
};

vmig_channel_t *vmig_channel_memory_reader(const void *buf, size_t len, bool copy)
{
    mem_channel_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    vmig_channel_init(&m->ch, &mem_reader_ops, NULL, "memory buffer");
    if (copy) {
        m->data = malloc(len ? len : 1);
        if (!m->data) {
            free(m);
            return NULL;
        }
        if (len)
            memcpy(m->data, buf, len);
    } else {
        m->data = (uint8_t *)buf;
    }
    m->len = len;
    /* A copied reader is never written to: writes fail with EPIPE via shut_wr. */
    m->owned = copy;
    m->shut_wr = true;
    return &m->ch;
}

vmig_channel_t *vmig_channel_memory_writer(void)
{
    mem_channel_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    vmig_channel_init(&m->ch, &mem_reader_ops, NULL, "memory buffer");
    m->owned = true;
    m->shut_rd = true; /* nothing to read from a writer */
    return &m->ch;
}

const uint8_t *vmig_channel_memory_data(const vmig_channel_t *ch, size_t *len)
{
    const mem_channel_t *m = (const mem_channel_t *)ch;
    *len = m->len;
    return m->data;
}
