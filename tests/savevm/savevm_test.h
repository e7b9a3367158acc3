/* savevm_test.h — what every savevm test includes: cmocka, the savevm API and
 * helpers to capture a writer's bytes and load from a byte buffer. */
#ifndef SAVEVM_TEST_H
#define SAVEVM_TEST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "savevm/savevm.h"
#include "stream/stream.h"

/* A writer over a memory channel; the channel goes with the stream. */
static inline vmig_stream_t *svt_writer(void)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}

/* Flush and return a malloc'd copy of everything written so far. */
static inline uint8_t *svt_bytes(vmig_stream_t *s, size_t *len)
{
    assert_int_equal(vmig_stream_flush(s), 0);
    const uint8_t *d = vmig_channel_memory_data(vmig_stream_channel(s), len);
    uint8_t *copy = malloc(*len ? *len : 1);
    assert_non_null(copy);
    if (*len)
        memcpy(copy, d, *len);
    return copy;
}

/* A reader over a copy of buf. */
static inline vmig_stream_t *svt_reader(const void *buf, size_t len)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, true);
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}

/* Parse "51 45 56 4d ..." (hex digits, spaces ignored) into out. */
static inline size_t svt_hex(const char *hex, uint8_t *out, size_t cap)
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

/* Assert that got[0..len) equals the hex text, printing both on mismatch. */
static inline void svt_assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[4096];
    size_t wlen = svt_hex(hex, want, sizeof(want));
    if (len != wlen || memcmp(got, want, len) != 0) {
        fprintf(stderr, "want:");
        for (size_t i = 0; i < wlen; i++)
            fprintf(stderr, " %02x", want[i]);
        fprintf(stderr, "\ngot: ");
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\n");
        fail_msg("bytes differ (%zu vs %zu bytes)", len, wlen);
    }
}

/* Load hex bytes with sv and return the result; the message goes to msg. */
static inline int svt_load_hex(vmig_savevm_t *sv, const char *hex, char *msg, size_t cap)
{
    uint8_t *buf = malloc(8192);
    assert_non_null(buf);
    size_t len = svt_hex(hex, buf, 8192);
    vmig_stream_t *s = svt_reader(buf, len);
    free(buf);
    int r = vmig_savevm_load(sv, s);
    snprintf(msg, cap, "%s", vmig_stream_error_msg(s));
    vmig_stream_free(s);
    return r;
}

#endif
