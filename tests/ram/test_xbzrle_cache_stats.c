/* test_xbzrle_cache_stats.c — query-migrate's "xbzrle-cache" counters over a
 * scripted sequence (xbzrle.md §6): which event moves which counter, the two
 * rates over a period (and a period without pages), and the JSON members. */
#include "vmig_test.h"

#include <math.h>

#include "ram/ram_xbzrle_cache.h"

#define PAGE 4096u

static void test_scripted_counters(void **state)
{
    static uint8_t p0[PAGE], p1[PAGE];
    memset(p0, 1, PAGE);
    memset(p1, 2, PAGE);
    vmig_xbzrle_cache_t c;
    assert_int_equal(vmig_xbzrle_cache_init(&c, 4 * PAGE, PAGE), 0);
    uint8_t *cached;
    uint64_t target = 0; /* the sender's count of target pages handled */

    /* Round 1 (gen 1, first round): 4 pages, nothing counted. */
    vmig_xbzrle_round_t r = { .gen = 1, .first_round = true };
    for (uint64_t a = 0; a < 4; a++, target++)
        assert_int_equal(vmig_xbzrle_cache_page(&c, a * PAGE, p0, &r, &cached), VMIG_XBZRLE_OFF);
    vmig_xbzrle_cache_update_rates(&c, target);
    assert_int_equal(c.st.cache_miss, 0);
    assert_true(c.st.cache_miss_rate == 0.0 && c.st.encoding_rate == 0.0);

    /* Round 2 (gen 2): 4 misses (all inserted), 1 more page is handled
     * outside xbzrle (a zero page): cache-miss-rate 4/5, no pages yet. */
    r = (vmig_xbzrle_round_t){ .gen = 2 };
    for (uint64_t a = 0; a < 4; a++, target++)
        assert_int_equal(vmig_xbzrle_cache_page(&c, a * PAGE, p0, &r, &cached),
                         VMIG_XBZRLE_MISS_CACHED);
    target++;
    vmig_xbzrle_cache_update_rates(&c, target);
    assert_int_equal(c.st.cache_miss, 4);
    assert_true(c.st.cache_miss_rate == 4.0 / 5.0);
    assert_true(c.st.encoding_rate == 0.0);

    /* Round 3 (gen 3): page 0 hit, record of 6 data bytes with CONTINUE
     * (8 + 1 + 2 + 6 = 17 on the wire, 9 counted); page 1 hit unchanged;
     * page 2 hit overflow (+4096); page 3 hit, a record with the idstr
     * "pc.ram" (8 + 1 + 6 + 3 + 10 = 28 on the wire, 20 counted);
     * page 4 misses (an empty slot: inserted). */
    r.gen = 3;
    assert_int_equal(vmig_xbzrle_cache_page(&c, 0, p1, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, p1, 6, 17, &r), 0);
    assert_int_equal(vmig_xbzrle_cache_page(&c, PAGE, p0, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, p0, 0, 0, &r), 0);
    assert_int_equal(vmig_xbzrle_cache_page(&c, 2 * PAGE, p1, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, p1, -1, 0, &r), 0);
    assert_int_equal(vmig_xbzrle_cache_page(&c, 3 * PAGE, p1, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, p1, 10, 28, &r), 0);
    assert_int_equal(vmig_xbzrle_cache_page(&c, 8 * PAGE, p1, &r, &cached), VMIG_XBZRLE_MISS);
    target += 5;
    assert_int_equal(c.st.pages, 4);
    assert_int_equal(c.st.overflow, 1);
    assert_int_equal(c.st.bytes, 9 + 4096 + 20);
    assert_int_equal(c.st.cache_miss, 5);
    vmig_xbzrle_cache_update_rates(&c, target);
    assert_true(c.st.cache_miss_rate == 1.0 / 5.0);
    assert_true(fabs(c.st.encoding_rate - 4.0 * 4096.0 / (9 + 4096 + 20)) < 1e-12);

    /* A period without pages: rates and baselines unchanged. */
    vmig_xbzrle_cache_update_rates(&c, target);
    assert_true(c.st.cache_miss_rate == 1.0 / 5.0);
    assert_true(fabs(c.st.encoding_rate - 4.0 * 4096.0 / (9 + 4096 + 20)) < 1e-12);

    /* Round 4: only unchanged hits: pages move, bytes do not: encoding-rate
     * is 0 (no bytes), cache-miss-rate 0. */
    r.gen = 4;
    assert_int_equal(vmig_xbzrle_cache_page(&c, PAGE, p0, &r, &cached), VMIG_XBZRLE_HIT);
    assert_int_equal(vmig_xbzrle_cache_encoded(&c, cached, p0, 0, 0, &r), 0);
    target += 1;
    vmig_xbzrle_cache_update_rates(&c, target);
    assert_true(c.st.cache_miss_rate == 0.0);
    assert_true(c.st.encoding_rate == 0.0);
    assert_int_equal(c.st.pages, 5);

    /* JSON: QEMU's members and values. */
    json_t *o = json_object();
    assert_int_equal(vmig_xbzrle_cache_stats_json(&c, o), 0);
    assert_int_equal(json_object_size(o), 7);
    assert_int_equal(json_integer_value(json_object_get(o, "cache-size")), 4 * PAGE);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 9 + 4096 + 20);
    assert_int_equal(json_integer_value(json_object_get(o, "pages")), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "cache-miss")), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "overflow")), 1);
    assert_true(json_is_real(json_object_get(o, "cache-miss-rate")));
    assert_true(json_is_real(json_object_get(o, "encoding-rate")));
    json_decref(o);
    assert_int_equal(vmig_xbzrle_cache_stats_json(&c, NULL), -EINVAL);

    /* A resize keeps the counters, reports the new size; reset clears. */
    assert_int_equal(vmig_xbzrle_cache_resize(&c, 8 * PAGE), 0);
    o = json_object();
    assert_int_equal(vmig_xbzrle_cache_stats_json(&c, o), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "cache-size")), 8 * PAGE);
    assert_int_equal(json_integer_value(json_object_get(o, "pages")), 5);
    json_decref(o);
    vmig_xbzrle_cache_reset_stats(&c);
    assert_int_equal(c.st.pages + c.st.bytes + c.st.cache_miss + c.st.overflow, 0);
    vmig_xbzrle_cache_fini(&c);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripted_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
