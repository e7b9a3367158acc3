/* test_xbzrle_cache_age.c — hits, misses and age-out (xbzrle.md §5): a hit
 * refreshes the age, a different page replaces a slot only once it is two
 * generations old, and the per-page algorithm: nothing in the first round or
 * postcopy, no insert in the last stage, the cache copy updated after an
 * encoding, zero pages overwriting their slot. */
#include "vmig_test.h"

#include "ram/ram_xbzrle_cache.h"

#define PAGE 4096u

static uint8_t pa[PAGE], pb[PAGE], pz[PAGE];

static void setup_pages(void)
{
    memset(pa, 0xaa, PAGE);
    memset(pb, 0xbb, PAGE);
    memset(pz, 0, PAGE);
}

static void test_insert_lookup_age(void **state)
{
    setup_pages();
    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 4 * PAGE, PAGE), 0);
    uint64_t A = 1 * PAGE, B = 5 * PAGE; /* both map to slot 1 */
    assert_null(vmig_xbzrle_cache_lookup(&c, A, 1));
    assert_int_equal(vmig_xbzrle_cache_insert(&c, A, pa, 1), 0);
    uint8_t *d = vmig_xbzrle_cache_lookup(&c, A, 1);
    assert_non_null(d);
    assert_memory_equal(d, pa, PAGE);
    assert_null(vmig_xbzrle_cache_lookup(&c, B, 1));
    /* age 1: B is refused at generations 1 and 2 (1 + 2 > gen)... */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, B, pb, 1), -EBUSY);
    assert_int_equal(vmig_xbzrle_cache_insert(&c, B, pb, 2), -EBUSY);
    /* ...a hit at 2 makes A fresh again: refused at 3 too... */
    assert_non_null(vmig_xbzrle_cache_lookup(&c, A, 2));
    assert_int_equal(vmig_xbzrle_cache_insert(&c, B, pb, 3), -EBUSY);
    /* ...and accepted at 4 (2 + 2 = 4, not > 4): A is gone. */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, B, pb, 4), 0);
    assert_null(vmig_xbzrle_cache_lookup(&c, A, 4));
    d = vmig_xbzrle_cache_lookup(&c, B, 4);
    assert_non_null(d);
    assert_memory_equal(d, pb, PAGE);
    /* The same address is always rewritten, whatever its age. */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, B, pa, 4), 0);
    assert_memory_equal(vmig_xbzrle_cache_lookup(&c, B, 4), pa, PAGE);
    /* A refused insert left the refusing slot's bytes alone. */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, A, pb, 5), -EBUSY);
    assert_memory_equal(vmig_xbzrle_cache_lookup(&c, B, 5), pa, PAGE);
    /* Empty slots take any page at generation 0. */
    assert_int_equal(vmig_xbzrle_cache_insert(&c, 2 * PAGE, pa, 0), 0);
    assert_int_equal(vmig_xbzrle_cache_insert(&c, 6 * PAGE, pa, 0), -EBUSY);
    assert_int_equal(vmig_xbzrle_cache_insert(&c, 6 * PAGE, pa, 2), 0);
    /* No counter moves with the raw operations. */
    assert_int_equal(c.st.cache_miss + c.st.pages + c.st.bytes + c.st.overflow, 0);
    vmig_xbzrle_cache_fini(&c);
}

static void test_page_algorithm(void **state)
{
    setup_pages();
    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 2 * PAGE, PAGE), 0);
    uint8_t *cached = (uint8_t *)1;
    vmig_xbzrle_round_t r = { .gen = 1, .first_round = true };
    /* First round and postcopy: the cache is not used. */
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pa, &r, &cached), VMIG_XBZRLE_OFF);
    assert_null(cached);
    r = (vmig_xbzrle_round_t){ .gen = 1, .postcopy = true };
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pa, &r, &cached), VMIG_XBZRLE_OFF);
    vmig_xbzrle_cache_zero_page(&c, 0, &(vmig_xbzrle_round_t){ .gen = 1, .first_round = true });
    assert_null(vmig_xbzrle_cache_lookup(&c, 0, 1));
    assert_int_equal(c.st.cache_miss, 0);

    /* Miss: inserted, sent from the cache copy. */
    r = (vmig_xbzrle_round_t){ .gen = 2 };
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pa, &r, &cached), VMIG_XBZRLE_MISS_CACHED);
    assert_non_null(cached);
    assert_ptr_not_equal(cached, pa);
    assert_memory_equal(cached, pa, PAGE);
    assert_int_equal(c.st.cache_miss, 1);
    /* Miss on a fresh slot (page 2 maps where page 0 is): not inserted. */
    assert_int_equal(vmig_xbzrle_cache_page(&c, 2 * PAGE, pb, &r, &cached), VMIG_XBZRLE_MISS);
    assert_null(cached);
    assert_int_equal(c.st.cache_miss, 2);
    /* Hit: pages++, encode against the copy; after an encoding the copy is
     * the new contents. */
    r.gen = 3;
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pb, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(c.st.pages, 1);
    assert_memory_equal(cached, pa, PAGE);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pb, 6, 8 + 3 + 6, &r), 0);
    assert_memory_equal(vmig_xbzrle_cache_lookup(&c, 0, 3), pb, PAGE);
    /* Last stage: a miss inserts nothing, an encoding does not update. */
    vmig_xbzrle_round_t last = { .gen = 9, .last_stage = true };
    assert_int_equal(vmig_xbzrle_cache_page(&c, PAGE, pa, &last, &cached), VMIG_XBZRLE_MISS);
    assert_null(vmig_xbzrle_cache_lookup(&c, PAGE, 9));
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pa, &last, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, 6, 17, &last), 0);
    assert_memory_equal(cached, pb, PAGE);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, -1, 0, &last), 0);
    assert_memory_equal(cached, pb, PAGE);
    /* An overflow outside the last stage does update the copy. */
    r.gen = 10;
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, pa, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, -1, 0, &r), 0);
    assert_memory_equal(cached, pa, PAGE);
    /* A zero page overwrites its slot (an insert: same address). */
    vmig_xbzrle_cache_zero_page(&c, 0, &r);
    assert_memory_equal(vmig_xbzrle_cache_lookup(&c, 0, 10), pz, PAGE);
    /* ...but not a fresh slot of another page. */
    vmig_xbzrle_cache_zero_page(&c, 2 * PAGE, &r);
    assert_null(vmig_xbzrle_cache_lookup(&c, 2 * PAGE, 10));
    /* Inconsistent calls are refused. */
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, NULL, pa, 6, 17, &r), -EINVAL);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, -2, 0, &r), -EINVAL);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, 4097, 5000, &r), -EINVAL);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, pa, 6, 16, &r), -EINVAL);
    vmig_xbzrle_cache_fini(&c);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup_age),
        cmocka_unit_test(test_page_algorithm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
