/* vmig_test.h — what every unit test includes: cmocka, the coroutine runtime,
 * and the helpers the layers' tests share: coroutines on a loop that must end
 * with no handle left open, streams over memory channels, and byte
 * comparisons that print both sides on a mismatch. A layer's own header
 * (tests/<layer>/<x>_test.h) adds only what is specific to that layer. */
#ifndef VMIG_TEST_H
#define VMIG_TEST_H

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
#include <unistd.h>

#include "channel/channel.h"
#include "stream/stream.h"
#include "vmig/co.h"

/* ---- the test process ------------------------------------------------------------ */

/* main(): writes to a gone peer fail with EPIPE instead of killing us (the
 * channel layer leaves SIGPIPE to the process, see channel.h), and a test
 * binary that runs longer than timeout_s seconds is killed by SIGALRM (and
 * fails). */
static inline void vt_test_setup(unsigned timeout_s)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(timeout_s);
}

/* ---- TLS test credentials ---------------------------------------------------------- */

/* Can the test credentials be made (the openssl command)? If not, says why
 * on stdout: the caller exits 77 (skip). */
static inline bool vt_have_openssl(const char *what)
{
    if (system("command -v openssl >/dev/null 2>&1") == 0)
        return true;
    printf("SKIP: openssl not found: cannot make test certificates for %s\n", what);
    return false;
}

/* scripts/make-test-ca.sh's credentials in a new private directory
 * ($TMPDIR or /tmp, named vmig-PREFIX-XXXXXX): dir gets that directory, the
 * credentials are in dir/creds. 0, or -1 with a message on stderr (openssl
 * missing: the caller skips; the script failed). Remove with
 * vt_rmtree(dir). */
static inline int vt_make_test_ca(const char *prefix, char *dir, size_t len)
{
    if (!vt_have_openssl(prefix))
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, len, "%s/vmig-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return -1;
    }
    /* The source tree, from this header's path (CMake compiles by absolute path). */
    char src[512];
    snprintf(src, sizeof(src), "%s", __FILE__);
    char *t = strstr(src, "tests/vmig_test.h");
    if (t)
        *t = 0;
    else
        snprintf(src, sizeof(src), "./");
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "sh '%sscripts/make-test-ca.sh' '%s/creds' >/dev/null", src, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make-test-ca.sh failed\n");
        return -1;
    }
    return 0;
}

/* rm -rf a directory made by vt_make_test_ca() (or another vmig-* one). */
static inline void vt_rmtree(const char *dir)
{
    char cmd[1200];
    if (!strstr(dir, "/vmig-"))
        return; /* only our own directories */
    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* ---- coroutines on a loop ------------------------------------------------------ */

static inline void vt_count_open(uv_handle_t *h, void *arg)
{
    unsigned *n = arg;
    if (!uv_is_closing(h)) {
        (*n)++;
        uv_close(h, NULL);
    }
}

/* Run the loop dry, then close it. A test must close every handle it opened
 * (the runtime's own handles included): any left open fails the test, after
 * being closed so that the loop still closes and leak checkers stay quiet. */
static inline void vt_loop_done(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    unsigned open = 0;
    uv_walk(loop, vt_count_open, &open);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(open, 0);
}

/* Create fn(arg) as a joinable coroutine and run it until it first suspends. */
static inline co_t *vt_start(uv_loop_t *loop, co_fn fn, void *arg)
{
    co_t *co = co_create(loop, fn, arg);
    assert_non_null(co);
    co_enter(co);
    return co;
}

/* Join a coroutine that must have finished; returns its result. */
static inline int vt_join(co_t *co)
{
    assert_true(co_finished(co));
    int r = -12345;
    assert_int_equal(co_join(co, &r), 0);
    return r;
}

/* Run fn(arg) in a coroutine on loop until the loop has nothing left to do;
 * returns what fn returned. */
static inline int vt_run_on(uv_loop_t *loop, co_fn fn, void *arg)
{
    co_t *co = vt_start(loop, fn, arg);
    uv_run(loop, UV_RUN_DEFAULT);
    return vt_join(co);
}

/* The same on a fresh loop, which must then close with no handle left open. */
static inline int vt_run(co_fn fn, void *arg)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    int r = vt_run_on(&loop, fn, arg);
    vt_loop_done(&loop);
    return r;
}

/* The loop of the running coroutine. */
static inline uv_loop_t *vt_loop(void)
{
    return co_loop(co_self());
}

/* In a coroutine: sleep until cond or about 10 s. */
#define VT_WAIT_UNTIL(cond)                                                   \
    do {                                                                   \
        for (int i_ = 0; i_ < 10000 && !(cond); i_++)                      \
            assert_int_equal(co_sleep(1), 0);                              \
        assert_true(cond);                                                 \
    } while (0)

/* Milliseconds since an earlier uv_hrtime(). */
static inline uint64_t vt_ms_since(uint64_t t0)
{
    return (uv_hrtime() - t0) / 1000000u;
}

/* ---- streams over memory channels ------------------------------------------------ */

/* A writer over a fresh memory channel that the stream owns. */
static inline vmig_stream_t *vt_mem_writer(void)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}

/* Flush a vt_mem_writer() and return what its channel holds (valid until the
 * stream is written to again or freed). */
static inline const uint8_t *vt_written(vmig_stream_t *s, size_t *len)
{
    assert_int_equal(vmig_stream_flush(s), 0);
    return vmig_channel_memory_data(vmig_stream_channel(s), len);
}

/* The same as a malloc'd copy, to free() (never NULL, even when empty). */
static inline uint8_t *vt_written_copy(vmig_stream_t *s, size_t *len)
{
    const uint8_t *d = vt_written(s, len);
    uint8_t *copy = malloc(*len ? *len : 1);
    assert_non_null(copy);
    if (*len)
        memcpy(copy, d, *len);
    return copy;
}

/* A reader over a private copy of [buf, buf+len); the channel goes with the
 * stream. */
static inline vmig_stream_t *vt_mem_reader(const void *buf, size_t len)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, true);
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}

/* ---- checking bytes ------------------------------------------------------------- */

/* FNV-1a of p[0..n), continued from h (start with VT_FNV_INIT). */
#define VT_FNV_INIT 0xcbf29ce484222325ull
static inline uint64_t vt_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Assert that got[0..got_len) equals want[0..want_len), printing both in hex
 * on a mismatch. */
static inline void vt_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
                                   size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "got  %zu:", got_len);
        for (size_t i = 0; i < got_len; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\nwant %zu:", want_len);
        for (size_t i = 0; i < want_len; i++)
            fprintf(stderr, " %02x", want[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
}

/* Parse "51 45 56 4d ..." (hex digits; spaces and anything else ignored) into
 * out; an odd number of digits or more than cap bytes fails the test. */
static inline size_t vt_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* Assert that got[0..len) is the bytes the hex text spells. */
static inline void vt_assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[4096];
    size_t wlen = vt_hex(hex, want, sizeof(want));
    vt_assert_bytes(got, len, want, wlen);
}

#endif
