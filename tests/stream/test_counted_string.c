/* test_counted_string.c — u8-length strings: exact bytes, 255 bytes accepted,
 * 256 bytes rejected with a sticky error, round trip into out[256]. */
#include "vmig_test.h"

static void test_put_get(void **state)
{
    vmig_stream_t *s = vt_mem_writer();
    vmig_stream_put_counted_string(s, "ram");
    vmig_stream_put_counted_string(s, "");
    size_t len;
    const uint8_t *p = vt_written(s, &len);
    static const uint8_t expect[] = {3, 'r', 'a', 'm', 0};
    assert_int_equal(len, sizeof(expect));
    assert_memory_equal(p, expect, sizeof(expect));

    vmig_stream_t *r = vt_mem_reader(p, len);
    char out[256];
    assert_int_equal(vmig_stream_get_counted_string(r, out), 3);
    assert_string_equal(out, "ram");
    assert_int_equal(vmig_stream_get_counted_string(r, out), 0);
    assert_string_equal(out, "");
    vmig_stream_free(r);
    vmig_stream_free(s);
}

static void test_255_ok_256_rejected(void **state)
{
    char str[257];
    memset(str, 'a', 255);
    str[255] = '\0';
    vmig_stream_t *s = vt_mem_writer();
    vmig_stream_put_counted_string(s, str);
    assert_int_equal(vmig_stream_error(s), 0);
    size_t len;
    const uint8_t *p = vt_written(s, &len);
    assert_int_equal(len, 256);
    assert_int_equal(p[0], 255);

    vmig_stream_t *r = vt_mem_reader(p, len);
    char out[256];
    assert_int_equal(vmig_stream_get_counted_string(r, out), 255);
    assert_int_equal(strlen(out), 255);
    vmig_stream_free(r);

    str[255] = 'a';
    str[256] = '\0';
    vmig_stream_put_counted_string(s, str);
    assert_int_equal(vmig_stream_error(s), -EINVAL);
    assert_non_null(strstr(vmig_stream_error_msg(s), "256"));
    /* Nothing of the rejected string was written, and later puts are dropped. */
    vmig_stream_put_u8(s, 1);
    assert_int_equal(vmig_stream_flush(s), -EINVAL);
    p = vmig_channel_memory_data(vmig_stream_channel(s), &len);
    assert_int_equal(len, 256);
    vmig_stream_free(s);
}

/* A string cut short by the end of the stream fails and leaves out empty. */
static void test_truncated(void **state)
{
    static const uint8_t in[] = {5, 'a', 'b'};
    vmig_stream_t *r = vt_mem_reader(in, sizeof(in));
    char out[256];
    strcpy(out, "junk");
    assert_int_equal(vmig_stream_get_counted_string(r, out), -EIO);
    assert_string_equal(out, "");
    vmig_stream_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_255_ok_256_rejected),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
