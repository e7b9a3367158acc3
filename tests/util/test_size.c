/* test_size.c — sizes on the command line: bare numbers in the caller's unit,
 * binary suffixes, overflow and garbage refused. */
#include "vmig_test.h"

#include "util/size.h"

static uint64_t sz(const char *s, uint64_t unit)
{
    uint64_t v = 12345;
    assert_int_equal(vmig_parse_size(s, unit, &v), 0);
    return v;
}

static void test_sizes(void **state)
{
    assert_int_equal(sz("0", 1), 0);
    assert_int_equal(sz("4096", 1), 4096);
    assert_int_equal(sz("64", 1u << 20), 64ull << 20); /* QEMU's -m: MiB */
    assert_int_equal(sz("64M", 1u << 20), 64ull << 20);
    assert_int_equal(sz("64m", 1), 64ull << 20);
    assert_int_equal(sz("1G", 1), 1ull << 30);
    assert_int_equal(sz("2k", 1), 2048);
    assert_int_equal(sz("3T", 1), 3ull << 40);
    assert_int_equal(sz("1P", 1), 1ull << 50);
    assert_int_equal(sz("15E", 1), 15ull << 60);
    assert_int_equal(sz("64MiB", 1), 64ull << 20);
    assert_int_equal(sz("64MB", 1), 64ull << 20);
    assert_int_equal(sz("18446744073709551615", 1), UINT64_MAX);
    assert_int_equal(sz("7", 0), 7);

    uint64_t v = 99;
    const char *bad[] = { "", "M", "-1", "1.5G", "64X", "64 M", "64Mx", "0x10", " 1", "1B" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vmig_parse_size(bad[i], 1, &v), -EINVAL);
        assert_int_equal(v, 99);
    }
    assert_int_equal(vmig_parse_size(NULL, 1, &v), -EINVAL);
    assert_int_equal(vmig_parse_size("18446744073709551616", 1, &v), -ERANGE);
    assert_int_equal(vmig_parse_size("16E", 1, &v), -ERANGE);
    assert_int_equal(vmig_parse_size("17592186044416M", 1, &v), -ERANGE);
    assert_int_equal(vmig_parse_size("17592186044416", 1u << 20, &v), -ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
