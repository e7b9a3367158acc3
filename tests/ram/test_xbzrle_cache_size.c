/* test_xbzrle_cache_size.c — xbzrle-cache-size: powers of two ≥ a page are
 * accepted (slots = size / page size), everything else is refused with the
 * old cache kept; the slot index rule; resize while migrating empties the
 * cache but keeps the counters, and the same size changes nothing. */
#include "vmig_test.h"

#include "ram/ram_xbzrle_cache.h"

#define PAGE 4096u

static void test_sizes(void **state)
{
    assert_int_equal(vmig_xbzrle_cache_check_size(PAGE, PAGE), 0);
    assert_int_equal(vmig_xbzrle_cache_check_size(64ull << 20, PAGE), 0);
    assert_int_equal(vmig_xbzrle_cache_check_size(1ull << 40, PAGE), 0);
    static const uint64_t bad[] = { 0, 1, 2048, PAGE - 1, PAGE + 1, 3 * PAGE, (64ull << 20) + PAGE,
                                    UINT64_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vmig_xbzrle_cache_check_size(bad[i], PAGE), -EINVAL);
    /* The page size itself must be a power of two. */
    assert_int_equal(vmig_xbzrle_cache_check_size(3 * 4096, 3000), -EINVAL);
    assert_int_equal(vmig_xbzrle_cache_check_size(PAGE, 0), -EINVAL);

    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 3 * PAGE, PAGE), -EINVAL);
    vmig_xbzrle_cache_fini(&c);
    /* 2^63 passes the rule but is bigger than any C object may be. */
    assert_int_equal(vmig_xbzrle_cache_init(&c, 1ull << 63, PAGE), -EOVERFLOW);
    assert_null(c.mem);
    vmig_xbzrle_cache_fini(&c);

    assert_int_equal(vmig_xbzrle_cache_init(&c, VMIG_XBZRLE_CACHE_DEFAULT_SIZE, PAGE), 0);
    assert_int_equal(c.nslots, (64u << 20) / PAGE);
    assert_int_equal(c.size, 64u << 20);
    /* Page copies are page aligned (the encoder compares words). */
    assert_int_equal((uintptr_t)c.data % 4096, 0);
    vmig_xbzrle_cache_fini(&c);
    vmig_xbzrle_cache_fini(&c);

    /* A one-page cache and a small-page cache. */
    assert_int_equal(vmig_xbzrle_cache_init(&c, PAGE, PAGE), 0);
    assert_int_equal(c.nslots, 1);
    vmig_xbzrle_cache_fini(&c);
    assert_int_equal(vmig_xbzrle_cache_init(&c, 1024, 512), 0);
    assert_int_equal(c.nslots, 2);
    vmig_xbzrle_cache_fini(&c);
}

static void test_index(void **state)
{
    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 16 * PAGE, PAGE), 0);
    assert_int_equal(vmig_xbzrle_cache_index(&c, 0), 0);
    assert_int_equal(vmig_xbzrle_cache_index(&c, 5 * PAGE), 5);
    assert_int_equal(vmig_xbzrle_cache_index(&c, 5 * PAGE + 100), 5);
    assert_int_equal(vmig_xbzrle_cache_index(&c, 21 * PAGE), 5);
    assert_int_equal(vmig_xbzrle_cache_index(&c, (1ull << 40) + 15 * PAGE), 15);
    vmig_xbzrle_cache_fini(&c);
}

static void test_resize(void **state)
{
    static uint8_t page[PAGE];
    memset(page, 0x42, PAGE);
    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 4 * PAGE, PAGE), 0);
    for (uint64_t a = 0; a < 4; a++)
        assert_int_equal(vmig_xbzrle_cache_insert(&c, a * PAGE, page, 1), 0);
    c.st.cache_miss = 7;
    c.st.pages = 3;

    /* The same size: nothing happens, contents stay. */
    assert_int_equal(vmig_xbzrle_cache_resize(&c, 4 * PAGE), 0);
    assert_non_null(vmig_xbzrle_cache_lookup(&c, 2 * PAGE, 1));

    /* A bad size: refused, the old cache is intact. */
    assert_int_equal(vmig_xbzrle_cache_resize(&c, 5 * PAGE), -EINVAL);
    assert_int_equal(vmig_xbzrle_cache_resize(&c, PAGE / 2), -EINVAL);
    assert_int_equal(c.size, 4 * PAGE);
    uint8_t *d = vmig_xbzrle_cache_lookup(&c, 3 * PAGE, 1);
    assert_non_null(d);
    assert_memory_equal(d, page, PAGE);

    /* A new size, bigger or smaller: a new empty cache, counters kept. */
    assert_int_equal(vmig_xbzrle_cache_resize(&c, 8 * PAGE), 0);
    assert_int_equal(c.nslots, 8);
    assert_int_equal(c.size, 8 * PAGE);
    for (uint64_t a = 0; a < 8; a++)
        assert_null(vmig_xbzrle_cache_lookup(&c, a * PAGE, 1));
    assert_int_equal(c.st.cache_miss, 7);
    assert_int_equal(c.st.pages, 3);
    /* A fresh cache accepts inserts at once, whatever the generation. */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, 9 * PAGE, page, 5), 0);
    assert_int_equal(vmig_xbzrle_cache_resize(&c, 2 * PAGE), 0);
    assert_int_equal(c.nslots, 2);
    assert_null(vmig_xbzrle_cache_lookup(&c, 9 * PAGE, 5));
    vmig_xbzrle_cache_fini(&c);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_resize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
