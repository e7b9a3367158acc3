/* test_sticky_error.c — after a truncated read every call fails fast and the
 * first message (with the byte offset) is kept; misuse is refused the same way. */
#include "vmig_test.h"

static void test_truncated_then_fail_fast(void **state)
{
    static const uint8_t in[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66};
    vmig_stream_t *r = vt_mem_reader(in, sizeof(in));
    assert_int_equal(vmig_stream_get_be32(r), 0x11223344);
    /* 2 bytes left, 8 needed: truncated where the stream ends, at offset 6. */
    assert_true(vmig_stream_get_be64(r) == 0);
    assert_int_equal(vmig_stream_error(r), -EIO);
    assert_string_equal(vmig_stream_error_msg(r), "stream truncated at byte offset 6");
    assert_int_equal(vmig_stream_tell(r), 6);
    assert_int_equal(vmig_stream_error_obj(r)->code, -EIO);

    /* Everything fails fast now and keeps the first message. */
    assert_int_equal(vmig_stream_get_u8(r), 0);
    assert_int_equal(vmig_stream_get_be16(r), 0);
    assert_int_equal(vmig_stream_get_be32(r), 0);
    uint8_t buf[4] = {9, 9, 9, 9};
    assert_int_equal(vmig_stream_get_buffer(r, buf, sizeof(buf)), -EIO);
    static const uint8_t zero[4];
    assert_memory_equal(buf, zero, 4);
    assert_int_equal(vmig_stream_skip(r, 1), -EIO);
    assert_int_equal(vmig_stream_peek(r, buf, 1), -EIO);
    char out[256];
    assert_int_equal(vmig_stream_get_counted_string(r, out), -EIO);
    assert_false(vmig_stream_eof(r));
    assert_int_equal(vmig_stream_set_error(r, -EINVAL, "later"), -EIO);
    assert_string_equal(vmig_stream_error_msg(r), "stream truncated at byte offset 6");
    vmig_stream_free(r);
}

static void test_first_error_wins(void **state)
{
    static const uint8_t in[] = {1, 2, 3};
    vmig_stream_t *r = vt_mem_reader(in, sizeof(in));
    assert_int_equal(vmig_stream_set_error(r, -EINVAL, "bad value %d", 7), -EINVAL);
    assert_int_equal(vmig_stream_get_u8(r), 0); /* data is there, but the stream is dead */
    assert_int_equal(vmig_stream_error(r), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(r), "bad value 7");
    /* Context can be put in front; the code stays. */
    assert_int_equal(vmig_stream_error_prefix(r, "loading %s", "dev"), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(r), "loading dev: bad value 7");
    vmig_stream_free(r);
}

/* A writer whose channel fails keeps the channel's message; later puts are
 * dropped and the flush reports the same error. */
static void test_writer_channel_error(void **state)
{
    static const uint8_t in[] = {0};
    /* A memory reader refuses writes with EPIPE. */
    vmig_channel_t *ch = vmig_channel_memory_reader(in, sizeof(in), true);
    vmig_stream_t *w = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    vmig_stream_put_be32(w, 1);
    assert_int_equal(vmig_stream_flush(w), -EPIPE);
    assert_non_null(strstr(vmig_stream_error_msg(w), "memory"));
    vmig_stream_put_be32(w, 2);
    assert_int_equal(vmig_stream_flush(w), -EPIPE);
    vmig_stream_free(w);
}

/* Using a writer as a reader (or the reverse) is refused, not obeyed. */
static void test_wrong_direction(void **state)
{
    vmig_stream_t *w = vt_mem_writer();
    vmig_stream_put_u8(w, 1);
    assert_int_equal(vmig_stream_get_u8(w), 0);
    assert_int_equal(vmig_stream_error(w), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(w), "read from a stream opened for writing");
    vmig_stream_free(w);

    static const uint8_t in[] = {1, 2};
    vmig_stream_t *r = vt_mem_reader(in, sizeof(in));
    vmig_stream_put_u8(r, 1);
    assert_int_equal(vmig_stream_error(r), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(r), "write to a stream opened for reading");
    assert_int_equal(vmig_stream_get_u8(r), 0);
    vmig_stream_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_then_fail_fast),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_writer_channel_error),
        cmocka_unit_test(test_wrong_direction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
