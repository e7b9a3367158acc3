/* test_huge_pages.c — blocks backed by pages larger than the target page
 * (here 64 KiB = 16 target pages): an iteration stopped by the rate limit
 * never stops inside a host page (all its dirty target pages go in a row, so
 * the destination can place it whole), and partly dirty host pages send only
 * their dirty target pages. */
#include "ram_test.h"

#include "stream/stream_internal.h"

#define HP_PAGES 16
#define NHP 8
#define NPAGES (HP_PAGES * NHP)

static void test_whole_host_pages(void **state)
{
    rt_mem_t m = {0}, dm = {0};
    uint8_t *p = rt_map(&m, NPAGES * PS, HP_PAGES * PS);
    uint8_t *d = rt_map(&dm, NPAGES * PS, HP_PAGES * PS);
    rt_fill_random(p, NPAGES * PS, 11);
    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    vmig_ram_block_opts_t o = {.name = "hugemem", .host = p, .length = NPAGES * PS,
                               .page_size = HP_PAGES * PS};
    vmig_ram_block_t *blk = NULL;
    assert_int_equal(vmig_ram_add(a.ram, &o, &blk), 0);
    o.host = d;
    assert_int_equal(vmig_ram_add(b.ram, &o, NULL), 0);

    vmig_stream_t *s = rt_save_begin(&a);
    /* A fresh window with room for a few hundred bytes: the first host page
     * starts within budget and is finished far past it. */
    vmig__stream_rate_init(s);
    uint64_t t0 = uv_hrtime();
    vmig_stream_set_rate_limit(s, (5 + 300) * 10);
    assert_int_equal(vmig_savevm_iterate(a.sv, s, false), 0);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    if (vt_ms_since(t0) < 90)
        assert_int_equal(ct->normal, HP_PAGES);
    assert_int_equal(ct->normal % HP_PAGES, 0);
    vmig_stream_set_rate_limit(s, 0);
    rt_iterate_all(&a, s, 10);
    assert_int_equal(ct->normal, NPAGES);

    /* Target pages 3 and 9 of host page 2, and 0 of host page 5: only those. */
    uint64_t hp2 = 2 * HP_PAGES, hp5 = 5 * HP_PAGES;
    rt_fill_random(p + (hp2 + 3) * PS, PS, 12);
    rt_fill_random(p + (hp2 + 9) * PS, PS, 13);
    rt_fill_random(p + hp5 * PS, PS, 14);
    vmig_ram_block_mark_dirty(blk, (hp2 + 3) * PS, 1);
    vmig_ram_block_mark_dirty(blk, (hp2 + 9) * PS, 1);
    vmig_ram_block_mark_dirty(blk, hp5 * PS, 1);
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    assert_int_equal(pre, 3 * PS);
    /* A fresh window with room for a few bytes: both dirty pages of host
     * page 2 are sent together, far past the budget, then it stops. */
    uint64_t normal = ct->normal;
    vmig__stream_rate_init(s);
    t0 = uv_hrtime();
    vmig_stream_set_rate_limit(s, (5 + 10) * 10);
    assert_int_equal(vmig_savevm_iterate(a.sv, s, false), 0);
    if (vt_ms_since(t0) < 90)
        assert_int_equal(ct->normal, normal + 2);
    vmig_stream_set_rate_limit(s, 0);

    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    assert_int_equal(ct->normal, normal + 3);
    assert_int_equal(rt_load(&b, buf, len, NULL), 0);
    assert_memory_equal(d, p, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    rt_unmap(&m);
    rt_unmap(&dm);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_whole_host_pages)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
