/* test_memory.c — memory channels, with no loop and no coroutine: a reader
 * hands out exactly its bytes then the end, a writer collects writev pieces
 * in order, and shutdown and the counters behave as for every channel. */
#include "chan_test.h"

static void test_memory_reader(void **state)
{
    uint8_t src[1000];
    chan_pat_fill(3, 0, src, sizeof(src));
    for (int copy = 0; copy < 2; copy++) {
        vmig_channel_t *ch = vmig_channel_memory_reader(src, sizeof(src), copy);
        assert_non_null(ch);
        assert_string_equal(vmig_channel_kind(ch), "memory");
        assert_null(ch->loop);
        uint8_t buf[300];
        size_t got = 0;
        ssize_t n;
        while ((n = vmig_channel_read(ch, buf, 1 + got % 299)) > 0) {
            assert_int_equal(chan_pat_check(3, got, buf, (size_t)n), n);
            got += (size_t)n;
        }
        assert_int_equal(n, 0);
        assert_int_equal(got, sizeof(src));
        assert_int_equal(ch->bytes_read, sizeof(src));
        assert_int_equal(vmig_channel_read(ch, buf, 1), 0);
        /* A reader takes no writes. */
        assert_int_equal(vmig_channel_write(ch, "x", 1), -EPIPE);
        assert_int_equal(ch->err.code, -EPIPE);
        assert_non_null(strstr(ch->err.msg, "memory"));
        vmig_channel_close(ch);
    }
}

static void test_memory_reader_copy_is_private(void **state)
{
    char src[] = "abcdef";
    vmig_channel_t *ch = vmig_channel_memory_reader(src, 6, true);
    assert_non_null(ch);
    src[0] = 'X';
    char buf[8] = {0};
    assert_int_equal(vmig_channel_read(ch, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "abcdef");
    vmig_channel_close(ch);
}

static void test_memory_writer(void **state)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    assert_non_null(ch);
    uint8_t data[20000];
    chan_pat_fill(9, 0, data, sizeof(data));
    size_t off = 0;
    for (int i = 0; off < sizeof(data); i++) {
        size_t a = (size_t)(i * 37) % 500, b = (size_t)(i * 91) % 700 + 1;
        if (a > sizeof(data) - off)
            a = sizeof(data) - off;
        if (b > sizeof(data) - off - a)
            b = sizeof(data) - off - a;
        struct iovec iov[3] = {{data + off, a}, {data, 0}, {data + off + a, b}};
        assert_int_equal(vmig_channel_writev(ch, iov, 3), 0);
        off += a + b;
    }
    size_t len = 0;
    const uint8_t *got = vmig_channel_memory_data(ch, &len);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    assert_int_equal(ch->bytes_written, sizeof(data));
    /* Nothing to read from a writer. */
    char c;
    assert_int_equal(vmig_channel_read(ch, &c, 1), 0);
    /* After shutdown(SHUT_WR), writes fail and the bytes stay. */
    assert_int_equal(vmig_channel_shutdown(ch, SHUT_WR), 0);
    assert_int_equal(vmig_channel_write(ch, "more", 4), -EPIPE);
    vmig_channel_memory_data(ch, &len);
    assert_int_equal(len, sizeof(data));
    vmig_channel_close(ch);
}

static void test_memory_shutdown_read(void **state)
{
    vmig_channel_t *ch = vmig_channel_memory_reader("0123456789", 10, false);
    assert_non_null(ch);
    char buf[4];
    assert_int_equal(vmig_channel_read(ch, buf, 4), 4);
    assert_int_equal(vmig_channel_shutdown(ch, SHUT_RDWR), 0);
    assert_int_equal(vmig_channel_read(ch, buf, 4), 0);
    assert_int_equal(ch->bytes_read, 4);
    assert_int_equal(ch->err.code, 0);
    vmig_channel_close(ch);
    vmig_channel_close(NULL); /* harmless */
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_reader),
        cmocka_unit_test(test_memory_reader_copy_is_private),
        cmocka_unit_test(test_memory_writer),
        cmocka_unit_test(test_memory_shutdown_read),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
