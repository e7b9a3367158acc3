/* test_compress_errors.c — every way a COMPRESS_PAGE payload is refused, with
 * QEMU's message: bad length, truncated stream, trailing garbage, wrong output
 * size, garbage; a "zip bomb" never writes past the page (run under ASan). */
#include "vmig_test.h"

#include <zlib.h>

#include "ram/ram_compress.h"

#define PAGE 4096

/* A page in its own heap block of exactly page_len bytes: a write past it
 * is an ASan error. Returns the result of the decompressor and its message. */
static int decomp(const uint8_t *src, size_t len, size_t page_len, char *msg, size_t cap)
{
    uint8_t *page = malloc(page_len);
    assert_non_null(page);
    int r = vmig_decompress_page_msg(src, len, page, page_len, msg, cap);
    free(page);
    return r;
}

static size_t zlib_of(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uLongf len = cap;
    assert_int_equal(compress2(out, &len, in, n, 1), Z_OK);
    return len;
}

static void test_bad_length(void **state)
{
    static uint8_t buf[8192];
    char msg[128];
    assert_int_equal(decomp(buf, 4111, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, "Invalid compressed data length: 4111");
    /* A be32 with the top bit set is negative for QEMU, and printed so. */
    assert_int_equal(decomp(buf, 0xfffffff0u, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, "Invalid compressed data length: -16");
    /* 0 passes the length check, then is no stream at all. */
    assert_int_equal(decomp(buf, 0, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, VMIG_COMPRESS_ERR_DATA);
    assert_int_equal(vmig_decompress_page(NULL, 0, buf, PAGE), -EINVAL);
    /* The bound itself is accepted as a length (then the data decides). */
    memset(buf, 0, sizeof buf);
    assert_int_equal(decomp(buf, 4110, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, VMIG_COMPRESS_ERR_DATA);
}

static void test_truncated_and_garbage(void **state)
{
    static uint8_t page[PAGE], z[8192];
    for (size_t i = 0; i < PAGE; i++)
        page[i] = (uint8_t)(i * 31 + (i >> 5));
    size_t n = zlib_of(page, PAGE, z, sizeof z);
    char msg[128];
    assert_int_equal(decomp(z, n, PAGE, msg, sizeof msg), 0);
    assert_string_equal(msg, "");
    /* Every truncation, including the adler32 alone missing a byte. */
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(decomp(z, cut, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, VMIG_COMPRESS_ERR_DATA);
    /* Bytes after the end of the stream. */
    z[n] = 0;
    assert_int_equal(decomp(z, n + 1, PAGE, msg, sizeof msg), -EINVAL);
    /* A flipped bit in the checksum, in the header, in the data. */
    size_t pos[] = { n - 1, 0, 1, n / 2 };
    for (size_t k = 0; k < sizeof pos / sizeof pos[0]; k++) {
        z[pos[k]] ^= 0x10;
        assert_int_equal(decomp(z, n, PAGE, NULL, 0), -EINVAL);
        z[pos[k]] ^= 0x10;
    }
    assert_int_equal(decomp(z, n, PAGE, NULL, 0), 0);
    /* A raw deflate stream or gzip is not zlib. */
    static const uint8_t gz[] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(decomp(gz, sizeof gz, PAGE, NULL, 0), -EINVAL);
}

static void test_wrong_output_size(void **state)
{
    static uint8_t in[2 * PAGE], z[16384];
    memset(in, 0x5a, sizeof in);
    char msg[128];
    /* A complete stream of half a page: QEMU's sender never makes one. */
    size_t n = zlib_of(in, PAGE / 2, z, sizeof z);
    assert_int_equal(decomp(z, n, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, VMIG_COMPRESS_ERR_DATA);
    /* One byte short and one byte long. */
    n = zlib_of(in, PAGE - 1, z, sizeof z);
    assert_int_equal(decomp(z, n, PAGE, NULL, 0), -EINVAL);
    n = zlib_of(in, PAGE + 1, z, sizeof z);
    assert_int_equal(decomp(z, n, PAGE, NULL, 0), -EINVAL);
    /* An empty stream (valid zlib, zero bytes out). */
    n = zlib_of(in, 0, z, sizeof z);
    assert_int_equal(decomp(z, n, PAGE, NULL, 0), -EINVAL);
    /* Exactly a page is fine, and other page sizes work the same way. */
    n = zlib_of(in, PAGE, z, sizeof z);
    assert_int_equal(decomp(z, n, PAGE, NULL, 0), 0);
    n = zlib_of(in, 512, z, sizeof z);
    assert_int_equal(decomp(z, n, 512, NULL, 0), 0);
    assert_int_equal(decomp(z, n, 0, NULL, 0), -EINVAL);
}

/* A small stream that inflates to 1 MiB: it fits the length bound, and the
 * decompressor stops at the page's end (ASan checks the write side). */
static void test_zip_bomb(void **state)
{
    size_t big = 1u << 20;
    uint8_t *in = calloc(1, big);
    assert_non_null(in);
    static uint8_t z[8192];
    uLongf n = sizeof z;
    assert_int_equal(compress2(z, &n, in, big, 9), Z_OK);
    assert_true(n <= VMIG_COMPRESS_BOUND_4K);
    char msg[128];
    assert_int_equal(decomp(z, n, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, VMIG_COMPRESS_ERR_DATA);
    /* The same into a page followed by a guard: the guard is untouched. */
    uint8_t *buf = malloc(PAGE + 64);
    assert_non_null(buf);
    memset(buf, 0xee, PAGE + 64);
    assert_int_equal(vmig_decompress_page(z, n, buf, PAGE), -EINVAL);
    for (size_t i = PAGE; i < PAGE + 64; i++)
        assert_int_equal(buf[i], 0xee);
    free(buf);
    free(in);
}

/* A message buffer of any size gets a NUL-terminated prefix. */
static void test_small_msg_buffer(void **state)
{
    static uint8_t buf[8];
    char msg[8];
    assert_int_equal(decomp(buf, 5000, PAGE, msg, sizeof msg), -EINVAL);
    assert_string_equal(msg, "Invalid");
    assert_int_equal(decomp(buf, 5000, PAGE, msg, 1), -EINVAL);
    assert_string_equal(msg, "");
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_wrong_output_size),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_small_msg_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
