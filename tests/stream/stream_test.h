/* stream_test.h — what every stream test includes: cmocka, the stream API and
 * helpers to write into / read from memory channels. */
#ifndef STREAM_TEST_H
#define STREAM_TEST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "stream/stream.h"

/* A writer over a fresh memory channel that the stream owns. */
static inline vmig_stream_t *test_writer(void)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}

/* Flush s and return what its memory channel holds. */
static inline const uint8_t *test_written(vmig_stream_t *s, size_t *len)
{
    assert_int_equal(vmig_stream_flush(s), 0);
    return vmig_channel_memory_data(vmig_stream_channel(s), len);
}

/* A reader over a copy of [buf, buf+len) that the stream owns. */
static inline vmig_stream_t *test_reader(const void *buf, size_t len)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, true);
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    return s;
}
#endif
