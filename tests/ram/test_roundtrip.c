/* test_roundtrip.c — a whole precopy stream (header, setup, iterations,
 * completion) saved from one RAM and loaded into another through the real
 * "ram" handler: zero, random and mixed contents arrive intact, and the
 * counters are QEMU's (spec/ram.md §4, §10): 13 + (n - 1) x 9 bytes for n
 * zero pages of block "mem", + 8 for each iteration's EOS. */
#include "ram_test.h"

#define NPAGES 256 /* a 64 MiB -M none layout scaled down to 1 MiB */

typedef enum { CONTENT_ZERO, CONTENT_RANDOM, CONTENT_MIXED } content_t;

/* QEMU's mixed seed pattern: every 21st page (from 5) random, the rest zero. */
static bool page_random(content_t c, unsigned i)
{
    return c == CONTENT_RANDOM || (c == CONTENT_MIXED && i % 21 == 5);
}

static void fill(uint8_t *mem, content_t c)
{
    for (unsigned i = 0; i < NPAGES; i++) {
        if (page_random(c, i))
            rt_fill_random(mem + (size_t)i * PS, PS, i + 1);
        else
            memset(mem + (size_t)i * PS, 0, PS);
    }
}

static void roundtrip(content_t c)
{
    rt_mem_t src_mem = {0}, dst_mem = {0};
    uint8_t *src = rt_map(&src_mem, NPAGES * PS, PS);
    uint8_t *dst = rt_map(&dst_mem, NPAGES * PS, PS);
    fill(src, c);
    memset(dst, 0xff, NPAGES * PS); /* zero pages must really be written */

    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    rt_add(&a, "mem", src, NPAGES * PS);
    rt_add(&b, "mem", dst, NPAGES * PS);
    assert_int_equal(vmig_ram_total(a.ram), NPAGES * PS);

    vmig_stream_t *s = rt_save_begin(&a);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    /* Setup: first sync, everything dirty, nothing counted yet. */
    assert_true(vmig_ram_busy(a.ram));
    assert_int_equal(ct->dirty_sync_count, 1);
    assert_int_equal(ct->transferred, 0);
    assert_int_equal(vmig_ram_remaining(a.ram), NPAGES * PS);

    unsigned rounds = rt_iterate_all(&a, s, 100);
    assert_int_equal(vmig_ram_remaining(a.ram), 0);

    unsigned nrand = 0;
    for (unsigned i = 0; i < NPAGES; i++)
        nrand += page_random(c, i);
    unsigned nzero = NPAGES - nrand;
    /* Only the first record names the block ("mem": 1 + 3 bytes). */
    uint64_t want = 4 + (uint64_t)nzero * 9 + (uint64_t)nrand * (8 + PS) + 8u * rounds;
    assert_int_equal(ct->transferred, want);
    if (c == CONTENT_ZERO) {
        assert_int_equal(rounds, 1);
        assert_int_equal(ct->transferred, 13 + (NPAGES - 1) * 9 + 8);
    }
    assert_int_equal(ct->duplicate, nzero);
    assert_int_equal(ct->normal, nrand);
    assert_int_equal(vmig_ram_pages_sent(a.ram), NPAGES);
    assert_int_equal(ct->precopy_bytes, want);

    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    /* Completion: one more sync, nothing dirty, its EOS not counted. */
    assert_int_equal(ct->dirty_sync_count, 2);
    assert_int_equal(ct->transferred, want);
    assert_int_equal(ct->downtime_bytes, 0);
    assert_int_equal(ct->precopy_bytes + ct->downtime_bytes + ct->postcopy_bytes, want);
    assert_false(vmig_ram_busy(a.ram));

    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&b, buf, len, msg), 0);
    assert_string_equal(msg, "");
    assert_memory_equal(dst, src, NPAGES * PS);

    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    rt_unmap(&src_mem);
    rt_unmap(&dst_mem);
}

static void test_zero(void **state)
{
    roundtrip(CONTENT_ZERO);
}

static void test_random(void **state)
{
    roundtrip(CONTENT_RANDOM);
}

static void test_mixed(void **state)
{
    roundtrip(CONTENT_MIXED);
}

/* Several blocks of several sizes, in add order; the destination has them
 * in another order (the name decides, not the position), and pages of the
 * completion round counted as downtime bytes. */
static void test_blocks_and_downtime(void **state)
{
    static const struct {
        const char *name;
        unsigned pages;
    } blocks[] = {{"pc.ram", 64}, {"/rom@etc/acpi/tables", 8}, {"pc.bios", 16}, {"x", 1}};
    enum { N = 4 };
    rt_mem_t sm[N], dm[N];
    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    vmig_ram_block_t *sb[N];
    for (unsigned i = 0; i < N; i++) {
        size_t len = (size_t)blocks[i].pages * PS;
        uint8_t *p = rt_map(&sm[i], len, PS);
        for (unsigned pg = 0; pg < blocks[i].pages; pg++) {
            if (pg % 3 == 1)
                rt_fill_random(p + (size_t)pg * PS, PS, 100 * i + pg);
            else
                memset(p + (size_t)pg * PS, 0, PS);
        }
        sb[i] = rt_add(&a, blocks[i].name, p, len);
    }
    for (unsigned k = N; k-- > 0;) {
        size_t len = (size_t)blocks[k].pages * PS;
        memset(rt_map(&dm[k], len, PS), 0x5a, len);
        rt_add(&b, blocks[k].name, dm[k].p, len);
    }

    vmig_stream_t *s = rt_save_begin(&a);
    rt_iterate_all(&a, s, 100);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    uint64_t pre = ct->transferred;
    /* The guest wrote two pages after the last iteration: the completion
     * round sends them while the VM is stopped. */
    rt_fill_random(sm[0].p + 5 * PS, PS, 999);
    vmig_ram_block_mark_dirty(sb[0], 5 * PS, PS);
    memset(sm[2].p + 1 * PS, 0, PS);
    vmig_ram_block_mark_dirty(sb[2], 1 * PS + 17, 1);
    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    /* pc.ram page 5 (idstr again: the last header was for "x") + pc.bios
     * page 1 (a zero page, with its idstr). */
    uint64_t down = (8 + 1 + 6 + PS) + (8 + 1 + 7 + 1);
    assert_int_equal(ct->downtime_bytes, down);
    assert_int_equal(ct->transferred, pre + down);
    assert_int_equal(ct->precopy_bytes, pre);

    assert_int_equal(rt_load(&b, buf, len, NULL), 0);
    for (unsigned i = 0; i < N; i++)
        assert_memory_equal(dm[i].p, sm[i].p, (size_t)blocks[i].pages * PS);

    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    for (unsigned i = 0; i < N; i++) {
        rt_unmap(&sm[i]);
        rt_unmap(&dm[i]);
    }
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_blocks_and_downtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
