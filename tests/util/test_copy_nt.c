/* test_copy_nt.c — the non-temporal copy used for received pages copies
 * exactly the bytes asked for, aligned or not, whole 64-byte runs or not,
 * and touches nothing around them. */
#include "vmig_test.h"

#include "util/copy_nt.h"

static void check_copy(size_t dst_off, size_t src_off, size_t len)
{
    uint8_t *src = aligned_alloc(4096, 3 * 4096);
    uint8_t *dst = aligned_alloc(4096, 3 * 4096);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t i = 0; i < 3 * 4096; i++) {
        src[i] = (uint8_t)(i * 7 + 1);
        dst[i] = 0xA5;
    }
    vmig_copy_nt(dst + dst_off, src + src_off, len);
    vmig_copy_nt_fence();
    assert_memory_equal(dst + dst_off, src + src_off, len);
    for (size_t i = 0; i < dst_off; i++)
        assert_int_equal(dst[i], 0xA5);
    for (size_t i = dst_off + len; i < 3 * 4096; i++)
        assert_int_equal(dst[i], 0xA5);
    free(src);
    free(dst);
}

static void test_page(void **state)
{
    check_copy(4096, 4096, 4096); /* the case it exists for */
    check_copy(4096, 8, 4096);    /* source not aligned (a page after a header) */
    check_copy(0, 0, 2 * 4096);
}

static void test_odd_shapes(void **state)
{
    check_copy(4096, 4096, 0);
    check_copy(4096, 4096, 100);  /* not a multiple of 64: memcpy */
    check_copy(4097, 4096, 4096); /* destination not aligned: memcpy */
    check_copy(16, 3, 64);
}

int main(void)
{
    vt_test_setup(30);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_odd_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
