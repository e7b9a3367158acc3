/* chan_test.h — what the channel tests share: a loop per test, coroutines on
 * it, a verifiable byte pattern, temporary directories and a time bound. */
#ifndef CHAN_TEST_H
#define CHAN_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel/channel.h"
#include "vmig/co.h"

/* Every test binary dies (and fails) if it runs longer than this. */
#define CHAN_TEST_TIMEOUT_S 90

/* main(): writes to a gone peer fail with EPIPE instead of killing us (the
 * channel layer leaves SIGPIPE to the process, see channel.h), and a hung
 * test is killed by SIGALRM. */
static inline void chan_test_setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(CHAN_TEST_TIMEOUT_S);
}

static inline void chan_count_open(uv_handle_t *h, void *arg)
{
    unsigned *n = arg;
    if (!uv_is_closing(h)) {
        (*n)++;
        uv_close(h, NULL);
    }
}

/* Run the loop dry and close it; any handle left open fails the test. */
static inline void chan_loop_done(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    unsigned open = 0;
    uv_walk(loop, chan_count_open, &open);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(open, 0);
}

/* Run fn(arg) as a coroutine on a fresh loop until the loop is idle; returns
 * what fn returned. The loop must end closed (no handle left behind). */
static inline int chan_run(co_fn fn, void *arg)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_t *co = co_create(&loop, fn, arg);
    assert_non_null(co);
    co_enter(co);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(co_finished(co));
    int r = -12345;
    assert_int_equal(co_join(co, &r), 0);
    chan_loop_done(&loop);
    return r;
}

/* The loop of the running coroutine. */
static inline uv_loop_t *chan_loop(void)
{
    return co_loop(co_self());
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

/* FNV-1a, continued from h (start with CHAN_FNV_INIT). */
#define CHAN_FNV_INIT 0xcbf29ce484222325ull
static inline uint64_t chan_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
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
    w->sum = CHAN_FNV_INIT;
    size_t off = 0, step = 0;
    while (off < w->total) {
        /* Two pieces per call, of changing sizes, to exercise writev. */
        size_t n = 1 + (step * 7919) % (256 * 1024 - 1);
        step++;
        if (n > w->total - off)
            n = w->total - off;
        chan_pat_fill(w->seed, off, buf, n);
        w->sum = chan_fnv(w->sum, buf, n);
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
    rd->sum = CHAN_FNV_INIT;
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
        rd->sum = chan_fnv(rd->sum, buf, (size_t)n);
        rd->got += (size_t)n;
    }
    free(buf);
    return rd->result;
}

/* The checksum of the first len pattern bytes, computed directly. */
static inline uint64_t chan_pat_sum(uint64_t seed, size_t len)
{
    uint64_t h = CHAN_FNV_INIT;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = chan_pat(seed, i);
        h = chan_fnv(h, &b, 1);
    }
    return h;
}

/* Exchange `len` bytes each way over a connected pair of channels, both
 * directions at once (one reader and one writer per channel), each writer
 * ending with shutdown(SHUT_WR); every byte and both checksums must match. */
static inline void chan_exchange(vmig_channel_t *a, vmig_channel_t *b, size_t len)
{
    uv_loop_t *loop = chan_loop();
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
