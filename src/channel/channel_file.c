/* channel_file.c — a regular file as a channel (file:PATH, or a file handed in
 * by descriptor): pread/pwrite on libuv's thread pool, so the loop never
 * waits for a disk. */
#include "channel/channel_internal.h"

#include "vmig/co.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* One pool round trip moves at most this much; copying it on the loop takes
 * well under the ~1 ms a coroutine may run without yielding. */
#define FILE_CHUNK ((size_t)1 << 20)

/* The descriptor, shared by the channel and pool work it has abandoned. */
typedef struct file_fd {
    int fd;        /* the open file; read-only once shared */
    unsigned refs; /* the channel plus abandoned work items (loop thread only) */
} file_fd_t;

/* One pread or pwrite for the pool. The pool thread only touches this item,
 * never the caller's buffers: a cancelled caller may free them while the
 * call still runs. */
typedef struct file_io {
    file_fd_t *f;              /* whose descriptor */
    off_t off;                 /* file offset of data[0] */
    size_t len;                /* bytes to write, or room to read into */
    bool write;                /* pwrite rather than pread */
    uint8_t data[FILE_CHUNK];  /* the bytes; after a read also the read-ahead */
} file_io_t;

typedef struct file_channel {
    vmig_channel_t ch;   /* common part; first, so the casts below hold */
    file_fd_t *f;        /* the descriptor (on the heap: abandoned work may outlive us) */
    file_io_t *io;       /* the transfer buffer; NULL after a cancel gave it away */
    off_t pos;           /* file offset of the next byte read or written */
    size_t ra_off;       /* read-ahead: unread bytes are io->data[ra_off, ra_end) */
    size_t ra_end;
    bool can_read;       /* opened for reading */
    bool can_write;      /* opened for writing */
    bool shut_rd;        /* shutdown(SHUT_RD) seen: reads end */
    bool shut_wr;        /* shutdown(SHUT_WR) seen: writes fail */
} file_channel_t;

static void fd_unref(file_fd_t *f)
{
    if (--f->refs == 0) {
        close(f->fd);
        free(f);
    }
}

/* On a pool thread. Returns bytes moved or a negative errno. */
static int file_io_fn(void *arg)
{
    file_io_t *io = arg;
    int fd = io->f->fd;
    if (io->write) {
        size_t done = 0;
        while (done < io->len) {
            ssize_t n = pwrite(fd, io->data + done, io->len - done, io->off + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            if (n == 0)
                return -EIO;
            done += (size_t)n;
        }
        return (int)done;
    }
    for (;;) {
        ssize_t n = pread(fd, io->data, io->len, io->off);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -errno : (int)n;
    }
}

/* On the loop, for an item whose caller was cancelled while it ran. */
static void file_io_release(void *arg)
{
    file_io_t *io = arg;
    fd_unref(io->f);
    free(io);
}

/* Run fc->io on the pool. On -ECANCELED the item belongs to co_work's
 * release from now on (it may still be running): we drop it. */
static int file_run(file_channel_t *fc)
{
    if (!co_self())
        return vmig_error_set(&fc->ch.err, -EINVAL, "%s used outside a coroutine", fc->ch.peer);
    /* A pending cancel now, before anything is queued, owes nobody anything. */
    if (co_cancel_clear())
        return -ECANCELED;
    fc->io->f = fc->f;
    fc->f->refs++; /* the item's, in case it is abandoned */
    int r = co_work(NULL, file_io_fn, fc->io, file_io_release);
    if (r == -ECANCELED) {
        fc->io = NULL;
        fc->ra_off = fc->ra_end = 0;
        return r;
    }
    fc->f->refs--;
    return r;
}

static int file_get_io(file_channel_t *fc)
{
    if (!fc->io && !(fc->io = malloc(sizeof(*fc->io))))
        return -ENOMEM;
    return 0;
}

static ssize_t file_read(vmig_channel_t *ch, void *buf, size_t len)
{
    file_channel_t *fc = (file_channel_t *)ch;
    if (fc->shut_rd || len == 0)
        return 0;
    if (!fc->can_read)
        return vmig_error_set(&ch->err, -EBADF, "%s was opened for writing: cannot read it", ch->peer);
    if (fc->ra_off == fc->ra_end) {
        int r = file_get_io(fc);
        if (r < 0)
            return r;
        fc->io->write = false;
        fc->io->off = fc->pos;
        fc->io->len = FILE_CHUNK;
        r = file_run(fc);
        if (r <= 0)
            return r;
        fc->ra_off = 0;
        fc->ra_end = (size_t)r;
    }
    size_t n = fc->ra_end - fc->ra_off;
    if (n > len)
        n = len;
    memcpy(buf, fc->io->data + fc->ra_off, n);
    fc->ra_off += n;
    fc->pos += (off_t)n;
    return (ssize_t)n;
}

static int file_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    file_channel_t *fc = (file_channel_t *)ch;
    if (iovcnt < 0 || (iovcnt > 0 && !iov))
        return -EINVAL;
    if (fc->shut_wr)
        return -EPIPE;
    if (!fc->can_write)
        return vmig_error_set(&ch->err, -EBADF, "%s was opened for reading: cannot write to it", ch->peer);
    fc->ra_off = fc->ra_end = 0; /* pos is where the reader had got to */
    int i = 0;
    size_t in_iov = 0; /* bytes of iov[i] already copied */
    for (;;) {
        while (i < iovcnt && in_iov == iov[i].iov_len) {
            i++;
            in_iov = 0;
        }
        if (i == iovcnt)
            return 0;
        int r = file_get_io(fc);
        if (r < 0)
            return r;
        file_io_t *io = fc->io;
        io->write = true;
        io->off = fc->pos;
        io->len = 0;
        /* Gather up to one chunk. */
        while (i < iovcnt && io->len < FILE_CHUNK) {
            size_t n = iov[i].iov_len - in_iov;
            if (n > FILE_CHUNK - io->len)
                n = FILE_CHUNK - io->len;
            if (n)
                memcpy(io->data + io->len, (const uint8_t *)iov[i].iov_base + in_iov, n);
            io->len += n;
            in_iov += n;
            if (in_iov == iov[i].iov_len) {
                i++;
                in_iov = 0;
            }
        }
        size_t len = io->len;
        r = file_run(fc);
        if (r < 0)
            return r;
        fc->pos += (off_t)len;
    }
}

static int file_shutdown(vmig_channel_t *ch, int how)
{
    file_channel_t *fc = (file_channel_t *)ch;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    /* A pool call in progress finishes on its own (a disk answers); the
     * flags stop everything after it. */
    if (how != SHUT_WR)
        fc->shut_rd = true;
    if (how != SHUT_RD)
        fc->shut_wr = true;
    return 0;
}

static void file_close(vmig_channel_t *ch)
{
    file_channel_t *fc = (file_channel_t *)ch;
    free(fc->io);
    fd_unref(fc->f);
    free(fc);
}

static const vmig_channel_ops_t file_ops = {
    "file", file_read, file_writev, file_shutdown, file_close,
};

/* Wrap fd (the channel owns it on success). */
static int file_wrap(uv_loop_t *loop, int fd, const char *name, bool rd, bool wr, off_t pos,
                     vmig_channel_t **out, vmig_error_t *err)
{
    file_channel_t *fc = calloc(1, sizeof(*fc));
    file_fd_t *f = calloc(1, sizeof(*f));
    if (!fc || !f) {
        free(fc);
        free(f);
        return vmig_error_set(err, -ENOMEM, "out of memory opening %s", name);
    }
    f->fd = fd;
    f->refs = 1;
    vmig_channel_init(&fc->ch, &file_ops, loop, "%s", name);
    fc->f = f;
    fc->pos = pos;
    fc->can_read = rd;
    fc->can_write = wr;
    *out = &fc->ch;
    return 0;
}

int chan_file_from_fd(uv_loop_t *loop, int fd, const char *name, vmig_channel_t **out,
                      vmig_error_t *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        int e = errno;
        return vmig_error_set(err, -e, "cannot use %s: %s", name, strerror(e));
    }
    int acc = fl & O_ACCMODE;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos < 0)
        pos = 0;
    return file_wrap(loop, fd, name, acc != O_WRONLY, acc != O_RDONLY, pos, out, err);
}

/* open(2) for the pool: creating or truncating a big file can take a while. */
typedef struct file_open {
    int flags;   /* open flags */
    int fd;      /* result, or -1 */
    int error;   /* errno on failure */
    char path[]; /* what to open */
} file_open_t;

static int file_open_fn(void *arg)
{
    file_open_t *o = arg;
    o->fd = open(o->path, o->flags, 0644); /* what `cat > PATH` would create */
    o->error = o->fd < 0 ? errno : 0;
    return o->fd < 0 ? -o->error : 0;
}

static void file_open_release(void *arg)
{
    file_open_t *o = arg;
    if (o->fd >= 0)
        close(o->fd);
    free(o);
}

int chan_file_open(uv_loop_t *loop, const char *path, vmig_channel_dir_t dir,
                   vmig_channel_t **out, vmig_error_t *err)
{
    int r = chan_need_coroutine("opening file:", err);
    if (r < 0)
        return r;
    size_t plen = strlen(path);
    char name[sizeof(((vmig_channel_t *)0)->peer)];
    snprintf(name, sizeof(name), "file:%s", path);
    file_open_t *o = malloc(sizeof(*o) + plen + 1);
    if (!o)
        return vmig_error_set(err, -ENOMEM, "out of memory opening %s", name);
    memcpy(o->path, path, plen + 1);
    bool outgoing = dir == VMIG_CHANNEL_OUTGOING;
    o->flags = O_CLOEXEC | (outgoing ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY);
    o->fd = -1;
    o->error = 0;
    if (co_cancel_clear()) {
        free(o);
        return vmig_error_set(err, -ECANCELED, "opening %s was cancelled", name);
    }
    r = co_work(NULL, file_open_fn, o, file_open_release);
    if (r == -ECANCELED) /* o belongs to the release now */
        return vmig_error_set(err, r, "opening %s was cancelled", name);
    int fd = o->fd;
    free(o);
    if (r < 0) {
        char tmp[128];
        return vmig_error_set(err, r, "cannot open %s: %s", name, chan_strerror(r, tmp, sizeof(tmp)));
    }

    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return vmig_error_set(err, -e, "cannot open %s: %s", name, strerror(e));
    }
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
        /* A named pipe has no offsets: it is a stream. */
        r = vmig_channel_from_fd(loop, fd, name, out, err);
        if (r < 0)
            close(fd);
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return vmig_error_set(err, -EISDIR, "cannot open %s: Is a directory", name);
    }
    r = file_wrap(loop, fd, name, !outgoing, outgoing, 0, out, err);
    if (r < 0)
        close(fd);
    return r;
}
