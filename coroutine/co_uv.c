/* co_uv.c — libuv glue for coroutines: sleep, pause, handle close and reads and
 * writes on a uv_stream_t, each suspending only the calling coroutine. */
#include "co_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static co_t *self_or_panic(const char *what)
{
    co_t *self = co_self();
    if (!self)
        co__panic("%s outside a coroutine", what);
    return self;
}

/* ---- close -------------------------------------------------------------------- */

/* A coroutine in co_close(), on its stack. */
typedef struct close_wait {
    co_t *co;            /* the coroutine to wake */
    uv_close_cb prev_cb; /* close callback given to an earlier uv_close(), or NULL */
    void *prev_data;     /* handle->data to restore before calling it */
} close_wait_t;

static void close_wait_cb(uv_handle_t *h)
{
    close_wait_t *cw = h->data;
    co_t *co = cw->co;
    h->data = cw->prev_data;
    /* The earlier callback may free h: nothing touches it afterwards. */
    if (cw->prev_cb)
        cw->prev_cb(h);
    co_wake(co, 0);
}

void co_close(uv_handle_t *h)
{
    close_wait_t cw;
    cw.co = self_or_panic("co_close");
    cw.prev_cb = NULL;
    cw.prev_data = h->data;
    h->data = &cw;
    if (uv_is_closing(h)) {
        /* Someone already called uv_close(): put ourselves in front of their
         * callback. libuv keeps it in close_cb, a field of every handle for
         * the whole 1.x series; the close cannot have completed yet because
         * a closed handle must not be used at all. */
        cw.prev_cb = h->close_cb;
        h->close_cb = close_wait_cb;
    } else {
        uv_close(h, close_wait_cb);
    }
    co_wait(NULL, NULL);
}

/* ---- pause -------------------------------------------------------------------- */

/* A coroutine in co_pause(), on its stack. */
typedef struct pause_wait {
    uv_idle_t idle; /* never started: only its close callback matters */
    co_t *co;       /* the coroutine to wake */
    bool cancelled; /* co_cancel() arrived: return -ECANCELED */
} pause_wait_t;

static void pause_close_cb(uv_handle_t *h)
{
    pause_wait_t *pw = h->data;
    co_wake(pw->co, pw->cancelled ? -ECANCELED : 0);
}

static void pause_cancel(co_t *co, void *data)
{
    pause_wait_t *pw = data;
    /* The handle is on our stack and a close cannot be taken back: the wake
     * comes from its callback, at the end of this loop iteration. */
    pw->cancelled = true;
}

int co_pause(void)
{
    co_t *self = self_or_panic("co_pause");
    if (co_cancel_clear())
        return -ECANCELED;
    /* Close callbacks run at the end of an iteration, and one closed from a
     * close callback waits for the next, after a poll for I/O. A 0 ms timer
     * would not do: libuv 1.44 runs a timer started from a timer callback in
     * the same pass, so pausing coroutines woken by timers would starve I/O. */
    pause_wait_t pw;
    int r = uv_idle_init(co_loop(self), &pw.idle);
    if (r < 0)
        return r;
    pw.idle.data = &pw;
    pw.co = self;
    pw.cancelled = false;
    uv_close((uv_handle_t *)&pw.idle, pause_close_cb);
    return co_wait(pause_cancel, &pw);
}

/* ---- sleep -------------------------------------------------------------------- */

/* A coroutine in co_sleep(), on its stack. */
typedef struct sleep_wait {
    uv_timer_t timer; /* wakes us */
    co_t *co;         /* the sleeping coroutine */
} sleep_wait_t;

static void sleep_timer_cb(uv_timer_t *t)
{
    sleep_wait_t *sw = t->data;
    co_wake(sw->co, 0);
}

static void sleep_cancel(co_t *co, void *data)
{
    sleep_wait_t *sw = data;
    uv_timer_stop(&sw->timer);
    co_wake(co, -ECANCELED);
}

int co_sleep(uint64_t ms)
{
    co_t *self = self_or_panic("co_sleep");
    if (co_cancel_clear())
        return -ECANCELED;
    sleep_wait_t sw;
    int r = uv_timer_init(co_loop(self), &sw.timer);
    if (r < 0)
        return r;
    sw.timer.data = &sw;
    sw.co = self;
    r = uv_timer_start(&sw.timer, sleep_timer_cb, ms, 0);
    if (r == 0)
        r = co_wait(sleep_cancel, &sw);
    co_close((uv_handle_t *)&sw.timer);
    return r;
}

/* ---- streams ------------------------------------------------------------------ */

int co_stream_init(co_stream_t *s, uv_stream_t *handle)
{
    if (!s || !handle)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->handle = handle;
    s->wreq.data = s;
    handle->data = s;
    return 0;
}

/* Once libuv is done with a stream, handle->data is NULL: co_stream_close()
 * after a cancelled write then knows there is nothing left to wait for. */
static void stream_close_cb(uv_handle_t *h)
{
    h->data = NULL;
}

/* Start closing: the waiting reader returns -ECANCELED now, a waiting writer
 * when libuv cancels its request. */
static void stream_begin_close(co_stream_t *s)
{
    if (s->closing)
        return;
    s->closing = true;
    co_t *reader = s->reader;
    s->reader = NULL;
    uv_close((uv_handle_t *)s->handle, stream_close_cb);
    /* Last: woken from the loop's stack the reader runs at once. */
    if (reader)
        co_wake(reader, -ECANCELED);
}

static void stream_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    co_stream_t *s = h->data;
    /* Reading only runs for a waiting reader, straight into its buffer. */
    if (!s->reader) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = s->rbuf + s->rgot;
    buf->len = s->rlen - s->rgot;
}

static void stream_read_done(co_stream_t *s, int result)
{
    co_t *reader = s->reader;
    /* Stop first: the reader may run at once and start the next read. */
    uv_read_stop(s->handle);
    s->reader = NULL;
    co_wake(reader, result);
}

static void stream_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    co_stream_t *s = h->data;
    if (nread == 0) /* EAGAIN */
        return;
    if (!s->reader) {
        /* Not reached: reading stops whenever the reader is woken. */
        uv_read_stop(h);
        if (nread < 0 && nread != UV_ENOBUFS)
            s->rerr = (int)nread;
        return;
    }
    if (nread > 0) {
        s->rgot += (size_t)nread;
        if (s->rgot >= s->rwant)
            stream_read_done(s, 0);
        return;
    }
    s->rerr = (int)nread;
    stream_read_done(s, (int)nread);
}

static void stream_read_cancel(co_t *co, void *data)
{
    co_stream_t *s = data;
    uv_read_stop(s->handle);
    s->reader = NULL;
    co_wake(co, -ECANCELED);
}

/* Read into buf until want (<= len) bytes came; *got says how many did. */
static int stream_read(co_stream_t *s, char *buf, size_t len, size_t want, size_t *got)
{
    co_t *self = self_or_panic("co_stream_read");
    *got = 0;
    if (s->reader)
        return -EBUSY;
    if (s->closing)
        return -EBADF;
    if (co_cancel_clear())
        return -ECANCELED;
    if (want == 0)
        return 0;
    if (s->rerr)
        return s->rerr;
    s->rbuf = buf;
    s->rlen = len;
    s->rgot = 0;
    s->rwant = want;
    s->reader = self;
    int r = uv_read_start(s->handle, stream_alloc_cb, stream_read_cb);
    if (r == 0)
        r = co_wait(stream_read_cancel, s);
    else
        s->reader = NULL;
    *got = s->rgot;
    s->rbuf = NULL;
    s->rlen = s->rgot = s->rwant = 0;
    return r;
}

ssize_t co_stream_read(co_stream_t *s, void *buf, size_t len)
{
    size_t got;
    int r = stream_read(s, buf, len, len ? 1 : 0, &got);
    if (r == UV_EOF)
        return 0;
    return r < 0 ? r : (ssize_t)got;
}

int co_stream_read_exact(co_stream_t *s, void *buf, size_t len, size_t *got)
{
    size_t n;
    int r = stream_read(s, buf, len, len, &n);
    if (got)
        *got = n;
    return r == UV_EOF ? -ENODATA : r;
}

static void stream_write_cb(uv_write_t *req, int status)
{
    co_stream_t *s = req->data;
    co_t *writer = s->writer;
    s->writer = NULL;
    /* After a cancel the write may still have completed before the close:
     * the caller asked for -ECANCELED and gets it either way. */
    if (s->werr == UV_ECANCELED)
        status = UV_ECANCELED;
    else if (status < 0)
        s->werr = status;
    co_wake(writer, status);
}

static void stream_write_cancel(co_t *co, void *data)
{
    co_stream_t *s = data;
    /* libuv cannot take back a queued write: close the stream, which makes
     * libuv call the write callback once it has let go of the buffers. */
    s->werr = UV_ECANCELED;
    stream_begin_close(s);
}

/* uv_buf_t lengths are size_t on unix, but uv_buf_init() takes an unsigned int. */
static uv_buf_t buf_make(char *base, size_t len)
{
    uv_buf_t b;
    b.base = base;
    b.len = len;
    return b;
}

int co_stream_writev(co_stream_t *s, const uv_buf_t *bufs, unsigned nbufs)
{
    co_t *self = self_or_panic("co_stream_writev");
    if (s->writer)
        return -EBUSY;
    if (s->closing)
        return -EBADF;
    if (s->werr)
        return s->werr;
    /* Before any byte goes out: a pending cancel then leaves the stream whole. */
    if (co_cancel_clear())
        return -ECANCELED;

    size_t total = 0;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    if (total == 0)
        return 0;

    /* Most writes fit in the socket buffer: no request, no loop iteration. */
    int n = uv_try_write(s->handle, bufs, nbufs);
    if (n == UV_EAGAIN || n == UV_ENOSYS) {
        n = 0;
    } else if (n < 0) {
        s->werr = n;
        return n;
    }
    if ((size_t)n == total)
        return 0;

    size_t off = (size_t)n;
    unsigned i = 0;
    while (off >= bufs[i].len) {
        off -= bufs[i].len;
        i++;
    }
    unsigned nrest = nbufs - i;
    uv_buf_t small[16];
    uv_buf_t *rest = small;
    if (nrest > sizeof(small) / sizeof(small[0])) {
        rest = malloc(nrest * sizeof(*rest));
        if (!rest) {
            /* Part of the data went out: the stream is unusable for writes. */
            s->werr = -ENOMEM;
            return -ENOMEM;
        }
    }
    rest[0] = buf_make(bufs[i].base + off, bufs[i].len - off);
    for (unsigned k = 1; k < nrest; k++)
        rest[k] = bufs[i + k];

    s->writer = self;
    /* uv_write() copies the array of buffers (not the bytes). */
    int r = uv_write(&s->wreq, s->handle, rest, nrest, stream_write_cb);
    if (rest != small)
        free(rest);
    if (r < 0) {
        s->writer = NULL;
        s->werr = r;
        return r;
    }
    return co_wait(stream_write_cancel, s);
}

int co_stream_write(co_stream_t *s, const void *buf, size_t len)
{
    uv_buf_t b = buf_make((char *)buf, len);
    return co_stream_writev(s, &b, 1);
}

/* A coroutine in co_stream_shutdown(), on its stack. */
typedef struct shutdown_wait {
    uv_shutdown_t req; /* the libuv request */
    co_t *co;          /* the coroutine to wake */
    co_stream_t *s;    /* the stream being shut down */
    bool cancelled;    /* co_cancel() closed the stream */
} shutdown_wait_t;

static void stream_shutdown_cb(uv_shutdown_t *req, int status)
{
    shutdown_wait_t *sw = req->data;
    co_wake(sw->co, sw->cancelled ? -ECANCELED : status);
}

static void stream_shutdown_cancel(co_t *co, void *data)
{
    shutdown_wait_t *sw = data;
    /* As for writes: only a close makes libuv give the request back. */
    sw->cancelled = true;
    stream_begin_close(sw->s);
}

int co_stream_shutdown(co_stream_t *s)
{
    co_t *self = self_or_panic("co_stream_shutdown");
    if (s->closing)
        return -EBADF;
    if (co_cancel_clear())
        return -ECANCELED;
    shutdown_wait_t sw;
    sw.req.data = &sw;
    sw.co = self;
    sw.s = s;
    sw.cancelled = false;
    int r = uv_shutdown(&sw.req, s->handle, stream_shutdown_cb);
    if (r < 0)
        return r;
    return co_wait(stream_shutdown_cancel, &sw);
}

void co_stream_close(co_stream_t *s)
{
    self_or_panic("co_stream_close");
    uv_handle_t *h = (uv_handle_t *)s->handle;
    if (!s->closing)
        stream_begin_close(s);
    else if (!h->data)
        return; /* a cancel closed it and libuv is already done */
    co_close(h);
}
