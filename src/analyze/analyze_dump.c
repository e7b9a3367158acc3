/* analyze_dump.c — a RAM sink for the analyzer that writes every block's
 * final contents to DIR/<escaped block name>, sparse: files get the block's
 * length up front and only pages that ever held non-zero bytes are written. */
#include "analyze/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dump_block {
    int fd;            /* the block's file, -1 if not open */
    uint64_t length;   /* block length in bytes */
    size_t page;       /* page size of the first page seen, 0 before */
    uint8_t *nonzero;  /* bit per page: the file holds data written for it */
} dump_block_t;

struct vmig_analyze_dump {
    int dirfd;             /* DIR, where the files go */
    dump_block_t *blocks;  /* one per block of the stream's list */
    unsigned nblocks;      /* entries in blocks */
    uint8_t *buf;          /* scratch page for fills */
    size_t buf_len;        /* bytes in buf */
};

int vmig_analyze_dump_filename(const char *block, char *out, size_t outlen)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; block[i]; i++) {
        unsigned char ch = (unsigned char)block[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("._@:+-", ch);
        if (i == 0 && ch == '.')
            plain = false; /* no ".", "..", or hidden files */
        if (o + (plain ? 1 : 3) >= outlen || o + (plain ? 1 : 3) > 255)
            return -EOVERFLOW;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    if (o == 0 || o >= outlen)
        return -EOVERFLOW;
    out[o] = '\0';
    return 0;
}

int vmig_analyze_dump_open(const char *dir, vmig_analyze_dump_t **out, vmig_error_t *err)
{
    vmig_analyze_dump_t *d = calloc(1, sizeof(*d));
    if (!d)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        int e = -errno;
        free(d);
        return vmig_error_set(err, e, "%s: %s", dir, vmig_strerror(e));
    }
    *out = d;
    return 0;
}

int vmig_analyze_dump_close(vmig_analyze_dump_t *d, vmig_error_t *err)
{
    int r = 0;
    if (!d)
        return 0;
    for (unsigned i = 0; i < d->nblocks; i++) {
        if (d->blocks[i].fd >= 0 && close(d->blocks[i].fd) < 0 && !r)
            r = vmig_error_set(err, -errno, "closing a RAM dump file: %s", vmig_strerror(-errno));
        free(d->blocks[i].nonzero);
    }
    close(d->dirfd);
    free(d->blocks);
    free(d->buf);
    free(d);
    return r;
}

static int dump_block(void *opaque, unsigned index, const char *name, uint64_t length)
{
    vmig_analyze_dump_t *d = opaque;
    char fname[256];
    if (index != d->nblocks)
        return -EINVAL;
    int r = vmig_analyze_dump_filename(name, fname, sizeof(fname));
    if (r)
        return r;
    dump_block_t *nb = realloc(d->blocks, sizeof(*nb) * (d->nblocks + 1));
    if (!nb)
        return -ENOMEM;
    d->blocks = nb;
    dump_block_t *b = &d->blocks[d->nblocks];
    memset(b, 0, sizeof(*b));
    b->length = length;
    b->fd = openat(d->dirfd, fname, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (b->fd < 0)
        return -errno;
    d->nblocks++;
    if (ftruncate(b->fd, (off_t)length) < 0)
        return -errno;
    return 0;
}

/* Check a page against its block; set up the block's bitmap on first use. */
static dump_block_t *page_block(vmig_analyze_dump_t *d, unsigned index, uint64_t offset,
                                size_t len, int *err)
{
    *err = -EINVAL;
    if (index >= d->nblocks || !len || (len & (len - 1)) || offset % len ||
        offset > d->blocks[index].length || d->blocks[index].length - offset < len)
        return NULL;
    dump_block_t *b = &d->blocks[index];
    if (!b->page) {
        b->nonzero = calloc((size_t)(b->length / len / 8 + 1), 1);
        if (!b->nonzero) {
            *err = -ENOMEM;
            return NULL;
        }
        b->page = len;
    }
    if (b->page != len)
        return NULL;
    return b;
}

/* pwrite() (writing) or pread() all of [buf, buf+len) at off, across short
 * transfers and EINTR: 0, -errno, or -EIO when a call transfers nothing. buf
 * is only written to when reading. */
static int pio_all(int fd, bool writing, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = writing ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off)
{
    return pio_all(fd, true, (void *)buf, len, off);
}

static int dump_write(void *opaque, unsigned index, uint64_t offset, const void *page, size_t len)
{
    int r;
    dump_block_t *b = page_block(opaque, index, offset, len, &r);
    if (!b)
        return r;
    uint64_t pg = offset / len;
    b->nonzero[pg / 8] |= (uint8_t)(1u << (pg % 8));
    return write_all(b->fd, page, len, offset);
}

static int dump_fill(void *opaque, unsigned index, uint64_t offset, uint8_t byte, size_t len)
{
    vmig_analyze_dump_t *d = opaque;
    int r;
    dump_block_t *b = page_block(d, index, offset, len, &r);
    if (!b)
        return r;
    uint64_t pg = offset / len;
    bool had = b->nonzero[pg / 8] & (1u << (pg % 8));
    if (!byte && !had)
        return 0; /* still a hole: reads as zeros */
    if (d->buf_len < len) {
        uint8_t *nbuf = realloc(d->buf, len);
        if (!nbuf)
            return -ENOMEM;
        d->buf = nbuf;
        d->buf_len = len;
    }
    memset(d->buf, byte, len);
    if (byte)
        b->nonzero[pg / 8] |= (uint8_t)(1u << (pg % 8));
    else
        b->nonzero[pg / 8] &= (uint8_t)~(1u << (pg % 8));
    return write_all(b->fd, d->buf, len, offset);
}

static int dump_read(void *opaque, unsigned index, uint64_t offset, void *page, size_t len)
{
    int r;
    dump_block_t *b = page_block(opaque, index, offset, len, &r);
    if (!b)
        return r;
    uint64_t pg = offset / len;
    if (!(b->nonzero[pg / 8] & (1u << (pg % 8)))) {
        memset(page, 0, len);
        return 0;
    }
    return pio_all(b->fd, false, page, len, offset);
}

const vmig_analyze_ram_ops_t vmig_analyze_dump_ops = {
    .block = dump_block,
    .write = dump_write,
    .fill = dump_fill,
    .read = dump_read,
};
