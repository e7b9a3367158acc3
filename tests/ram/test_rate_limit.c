/* test_rate_limit.c — the stream's rate limit stops an iteration one page
 * past the window's budget (QEMU's rule) for data and for zero pages, the
 * iteration then reports "not done" and its EOS still closes the section;
 * a completion round ignores the limit and sends everything. */
#include "ram_test.h"

#define NPAGES 2048

/* Bytes one page record takes in an iteration of a single block "mem". */
static uint64_t rec_len(bool zero, bool first)
{
    return 8 + (first ? 4 : 0) + (zero ? 1 : PS);
}

static void run(bool zero)
{
    rt_mem_t m = {0};
    uint8_t *p = rt_map(&m, NPAGES * PS, PS);
    if (zero)
        memset(p, 0, NPAGES * PS);
    else
        rt_fill_random(p, NPAGES * PS, 3);
    rt_vm_t a;
    rt_vm_init(&a);
    rt_add(&a, "mem", p, NPAGES * PS);
    uint64_t t0 = uv_hrtime(); /* the first window starts with the stream */
    vmig_stream_t *s = rt_save_begin(&a);

    /* Budget: a tenth of the rate per 100 ms window. Everything written in
     * this window counts: header, setup, and the PART section header. */
    uint64_t budget = zero ? 1000 : 10 * (8 + PS);
    vmig_stream_set_rate_limit(s, budget * 10);
    uint64_t used = vmig_stream_bytes_written(s) + 5;
    unsigned want = 0;
    while (used <= budget) {
        used += rec_len(zero, want == 0);
        want++;
    }
    int r = vmig_savevm_iterate(a.sv, s, false);
    bool same_window = vt_ms_since(t0) < 90; /* a slow machine may see a new window */
    assert_int_equal(r, 0);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    uint64_t sent = zero ? ct->duplicate : ct->normal;
    assert_true(sent < NPAGES);
    if (same_window)
        assert_int_equal(sent, want);
    assert_int_equal(vmig_ram_remaining(a.ram), (NPAGES - sent) * PS);
    /* The section still ends with EOS + footer. */
    size_t len;
    const uint8_t *d = vt_written(s, &len);
    static const uint8_t tail[] = {0, 0, 0, 0, 0, 0, 0, 0x10, 0x7e, 0, 0, 0, 0};
    assert_memory_equal(d + len - sizeof(tail), tail, sizeof(tail));
    /* Over budget: the next round does not even start a section. */
    if (same_window && vt_ms_since(t0) < 90) {
        assert_int_equal(vmig_savevm_iterate(a.sv, s, false), 0);
        size_t len2;
        vt_written(s, &len2);
        assert_int_equal(len2, len);
    }

    /* Completion ignores the limit. */
    size_t blen;
    uint8_t *buf = rt_save_end(&a, s, &blen);
    assert_int_equal(vmig_ram_pages_sent(a.ram), NPAGES);
    assert_int_equal(vmig_ram_remaining(a.ram), 0);
    free(buf);
    rt_vm_free(&a);
    rt_unmap(&m);
}

static void test_data_pages(void **state)
{
    run(false);
}

static void test_zero_pages(void **state)
{
    run(true);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_pages),
        cmocka_unit_test(test_zero_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
