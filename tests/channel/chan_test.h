/* chan_test.h — what the channel tests share beyond vmig_test.h: a time
 * bound, a verifiable byte pattern, temporary directories, coroutines that
 * write, read and accept, and a connected tcp pair. */
#ifndef CHAN_TEST_H
#define CHAN_TEST_H

#include "vmig_test.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* Every test binary dies (and fails) if it runs longer than this. */
#define CHAN_TEST_TIMEOUT_S 90

/* main(): see vt_test_setup(). */
static inline void chan_test_setup(void)
{
    vt_test_setup(CHAN_TEST_TIMEOUT_S);
}

/* Byte `off` of the pattern stream `seed`: any chunking can be verified. */
static inline uint8_t chan_pat(uint64_t seed, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ seed;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return (uint8_t)(x >> 40);
}

static inline void chan_pat_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = chan_pat(seed, off + i);
}

/* Index of the first byte of buf that differs from the pattern, or len. */
static inline size_t chan_pat_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != chan_pat(seed, off + i))
            return i;
    return len;
}

/* A fresh private directory under $TMPDIR or /tmp (path has room for a name). */
static inline void chan_tmpdir(char *path, size_t len)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(path, len, "%s/vmig-chan-XXXXXX", base);
    assert_non_null(mkdtemp(path));
}

/* Remove dir and the plain files in it (tests create nothing deeper). */
static inline void chan_rmtree(const char *dir)
{
    char cmd[4200];
    /* Only our own mkdtemp() directories end up here. */
    assert_true(strstr(dir, "/vmig-chan-") != NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Run fn(dir) as a coroutine on a fresh loop, dir a fresh private directory
 * removed afterwards; fn must return 0. */
static inline void chan_run_in_tmpdir(co_fn fn)
{
    char dir[256];
    chan_tmpdir(dir, sizeof(dir));
    assert_int_equal(vt_run(fn, dir), 0);
    chan_rmtree(dir);
}

/* Read exactly len bytes (or until the end): bytes read, or a negative error. */
static inline ssize_t chan_read_full(vmig_channel_t *ch, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = vmig_channel_read(ch, (uint8_t *)buf + got, len - got);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* A coroutine that writes `total` pattern bytes in uneven writev() calls,
 * then optionally shuts down its write side. */
typedef struct chan_writer {
    vmig_channel_t *ch;  /* where to write */
    uint64_t seed;       /* pattern */
    size_t total;        /* bytes to write */
    bool shut_after;     /* shutdown(SHUT_WR) at the end */
    uint64_t sum;        /* checksum of what was written */
    int result;          /* 0, or the failing call's error */
} chan_writer_t;

static inline int chan_writer_body(void *arg)
{
    chan_writer_t *w = arg;
    uint8_t *buf = malloc(256 * 1024);
    assert_non_null(buf);
    w->sum = VT_FNV_INIT;
    size_t off = 0, step = 0;
    while (off < w->total) {
        /* Two pieces per call, of changing sizes, to exercise writev. */
        size_t n = 1 + (step * 7919) % (256 * 1024 - 1);
        step++;
        if (n > w->total - off)
            n = w->total - off;
        chan_pat_fill(w->seed, off, buf, n);
        w->sum = vt_fnv(w->sum, buf, n);
        size_t a = n / 3;
        struct iovec iov[2] = {{buf, a}, {buf + a, n - a}};
        int r = vmig_channel_writev(w->ch, iov, 2);
        if (r < 0) {
            w->result = r;
            free(buf);
            return r;
        }
        off += n;
    }
    free(buf);
    if (w->shut_after)
        w->result = vmig_channel_shutdown(w->ch, SHUT_WR);
    return w->result;
}

/* A coroutine that reads until the end and checks every byte. */
typedef struct chan_reader {
    vmig_channel_t *ch;  /* where to read */
    uint64_t seed;       /* expected pattern */
    size_t got;          /* bytes read */
    size_t bad_at;       /* offset of the first wrong byte, SIZE_MAX if none */
    uint64_t sum;        /* checksum of what was read */
    int result;          /* 0 at a clean end, or the read's error */
} chan_reader_t;

static inline int chan_reader_body(void *arg)
{
    chan_reader_t *rd = arg;
    size_t cap = 100 * 1000; /* not a power of two: reads straddle writes */
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    rd->sum = VT_FNV_INIT;
    rd->bad_at = SIZE_MAX;
    rd->got = 0;
    for (;;) {
        ssize_t n = vmig_channel_read(rd->ch, buf, cap);
        if (n < 0) {
            rd->result = (int)n;
            break;
        }
        if (n == 0)
            break;
        size_t k = chan_pat_check(rd->seed, rd->got, buf, (size_t)n);
        if (k != (size_t)n && rd->bad_at == SIZE_MAX)
            rd->bad_at = rd->got + k;
        rd->sum = vt_fnv(rd->sum, buf, (size_t)n);
        rd->got += (size_t)n;
    }
    free(buf);
    return rd->result;
}

/* A coroutine blocked in one read, or in one write of far more than fits. */
typedef struct chan_blocked {
    vmig_channel_t *ch;  /* the channel it uses */
    bool write;          /* write `big` bytes instead of reading */
    size_t big;          /* bytes to write */
    int how;             /* what chan_blocked_shut_cb() shuts down */
    ssize_t result;      /* what the call returned */
    bool returned;       /* it came back */
} chan_blocked_t;

static inline int chan_blocked_body(void *arg)
{
    chan_blocked_t *b = arg;
    if (b->write) {
        uint8_t *buf = calloc(1, b->big);
        assert_non_null(buf);
        b->result = vmig_channel_write(b->ch, buf, b->big);
        free(buf);
    } else {
        char buf[128];
        b->result = vmig_channel_read(b->ch, buf, sizeof(buf));
    }
    b->returned = true;
    return 0;
}

/* A timer callback (data: chan_blocked_t *) that shuts the channel down. */
static inline void chan_blocked_shut_cb(uv_timer_t *t)
{
    chan_blocked_t *b = t->data;
    assert_false(b->returned); /* still blocked when the timer fired */
    assert_int_equal(vmig_channel_shutdown(b->ch, b->how), 0);
}

/* In a coroutine: a read on ch that blocks is released by shutdown(how)
 * called 50 ms later from a timer callback, on the loop's own stack. Returns
 * what the read returned. */
static inline ssize_t chan_read_until_shutdown(vmig_channel_t *ch, int how)
{
    uv_loop_t *loop = vt_loop();
    chan_blocked_t b = {.ch = ch, .how = how};
    co_t *rc = vt_start(loop, chan_blocked_body, &b);
    assert_false(b.returned);
    uv_timer_t t;
    assert_int_equal(uv_timer_init(loop, &t), 0);
    t.data = &b;
    assert_int_equal(uv_timer_start(&t, chan_blocked_shut_cb, 50, 0), 0);
    assert_int_equal(co_join(rc, NULL), 0);
    assert_true(b.returned);
    co_close((uv_handle_t *)&t);
    return b.result;
}

/* A coroutine that accepts one connection on l. */
typedef struct chan_accept {
    vmig_listener_t *l;  /* where to accept */
    vmig_channel_t *ch;  /* the accepted channel */
    vmig_error_t err;    /* the accept's error */
    int result;          /* vmig_listener_accept()'s result */
} chan_accept_t;

static inline int chan_accept_body(void *arg)
{
    chan_accept_t *a = arg;
    a->result = vmig_listener_accept(a->l, &a->ch, &a->err);
    return 0;
}

/* In a coroutine: start accepting on l into *a; it waits for a connection. */
static inline co_t *chan_accept_start(vmig_listener_t *l, chan_accept_t *a)
{
    memset(a, 0, sizeof(*a));
    a->l = l;
    return vt_start(vt_loop(), chan_accept_body, a);
}

/* In a coroutine: wait for the accept started as co; it must have succeeded.
 * Returns the accepted channel. */
static inline vmig_channel_t *chan_accept_join(co_t *co, chan_accept_t *a)
{
    assert_int_equal(co_join(co, NULL), 0);
    assert_int_equal(a->result, 0);
    assert_non_null(a->ch);
    return a->ch;
}

/* In a coroutine: a connected tcp pair over loopback, made with a listener
 * that is closed again; *c is the connecting side, *s the accepted one. */
static inline void chan_tcp_pair(vmig_channel_t **c, vmig_channel_t **s)
{
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(vt_loop(), "tcp:127.0.0.1:0", 1, &l, &err), 0);
    chan_accept_t acc;
    co_t *ac = chan_accept_start(l, &acc);
    assert_int_equal(vmig_channel_open(vt_loop(), vmig_listener_uri(l), VMIG_CHANNEL_OUTGOING, c, &err), 0);
    *s = chan_accept_join(ac, &acc);
    vmig_listener_close(l);
}

/* The checksum of the first len pattern bytes, computed directly. */
static inline uint64_t chan_pat_sum(uint64_t seed, size_t len)
{
    uint64_t h = VT_FNV_INIT;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = chan_pat(seed, i);
        h = vt_fnv(h, &b, 1);
    }
    return h;
}

/* Exchange `len` bytes each way over a connected pair of channels, both
 * directions at once (one reader and one writer per channel), each writer
 * ending with shutdown(SHUT_WR); every byte and both checksums must match. */
static inline void chan_exchange(vmig_channel_t *a, vmig_channel_t *b, size_t len)
{
    uv_loop_t *loop = vt_loop();
    chan_writer_t wa = {.ch = a, .seed = 0xA11CE, .total = len, .shut_after = true};
    chan_writer_t wb = {.ch = b, .seed = 0xB0B, .total = len, .shut_after = true};
    chan_reader_t ra = {.ch = a, .seed = 0xB0B};
    chan_reader_t rb = {.ch = b, .seed = 0xA11CE};
    co_t *cos[4] = {
        co_create(loop, chan_writer_body, &wa), co_create(loop, chan_reader_body, &rb),
        co_create(loop, chan_writer_body, &wb), co_create(loop, chan_reader_body, &ra),
    };
    for (int i = 0; i < 4; i++) {
        assert_non_null(cos[i]);
        co_enter(cos[i]);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(co_join(cos[i], NULL), 0);
    assert_int_equal(wa.result, 0);
    assert_int_equal(wb.result, 0);
    assert_int_equal(ra.result, 0);
    assert_int_equal(rb.result, 0);
    assert_int_equal(rb.got, len);
    assert_int_equal(ra.got, len);
    assert_true(rb.bad_at == SIZE_MAX);
    assert_true(ra.bad_at == SIZE_MAX);
    assert_true(rb.sum == wa.sum);
    assert_true(ra.sum == wb.sum);
    assert_true(wa.sum == chan_pat_sum(0xA11CE, len));
    assert_int_equal(a->bytes_written, len);
    assert_int_equal(a->bytes_read, len);
    assert_int_equal(b->bytes_written, len);
    assert_int_equal(b->bytes_read, len);
}

#endif
