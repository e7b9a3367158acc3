/* vmstate_test.h — what every vmstate test includes: cmocka, the vmstate API,
 * and helpers that save into bytes, load from bytes and compare bytes. */
#ifndef VMSTATE_TEST_H
#define VMSTATE_TEST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmstate/vmstate.h"

/* Bytes written by a test; free with free(). */
typedef struct {
    uint8_t *data; /* malloc()ed copy of the stream */
    size_t len;    /* its length */
} test_bytes_t;

/* Save vmsd/opaque (optionally describing it into desc); assert it worked. */
static inline test_bytes_t test_save(const vmig_vmsd_t *vmsd, void *opaque, json_t *desc)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    int r = vmig_vmstate_save(s, vmsd, opaque, desc);
    if (r != 0)
        fprintf(stderr, "save failed: %d %s\n", r, vmig_stream_error_msg(s));
    assert_int_equal(r, 0);
    assert_int_equal(vmig_stream_flush(s), 0);
    size_t len;
    const uint8_t *p = vmig_channel_memory_data(ch, &len);
    test_bytes_t b = {malloc(len ? len : 1), len};
    assert_non_null(b.data);
    if (len)
        memcpy(b.data, p, len);
    vmig_stream_free(s);
    return b;
}

/* Load bytes into opaque at version_id; returns the result, and copies the
 * stream's message into msg (if not NULL) and its final offset into *end. */
static inline int test_load(const vmig_vmsd_t *vmsd, void *opaque, int version_id,
                            const void *buf, size_t len, char msg[VMIG_ERROR_MSG_MAX],
                            uint64_t *end)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, true);
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    int r = vmig_vmstate_load(s, vmsd, opaque, version_id);
    if (msg)
        snprintf(msg, VMIG_ERROR_MSG_MAX, "%s", vmig_stream_error_msg(s));
    if (end)
        *end = vmig_stream_tell(s);
    if (r == 0)
        assert_int_equal(vmig_stream_error(s), 0);
    else
        assert_int_equal(vmig_stream_error(s), r); /* the kept error is the result */
    vmig_stream_free(s);
    return r;
}

/* Compare with a hex dump of both sides on mismatch. */
static inline void test_bytes_equal(const uint8_t *got, size_t got_len, const uint8_t *want,
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

/* The compact text of a JSON value ("," and ":" spaced as QEMU writes). */
static inline char *test_json_text(const json_t *j)
{
    char *t = json_dumps(j, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(t);
    return t;
}
#endif
