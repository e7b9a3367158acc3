/* test_redirty.c — pages the guest writes during the migration (marked with
 * vmig_ram_block_mark_dirty) are picked up by the next sync and sent again,
 * exactly those and once each, with CONTINUE headers; pending() syncs when
 * little is left; marks before setup and after cleanup are not recorded; the
 * destination ends up with the final contents. */
#include "ram_test.h"

#include "ram/ram_internal.h"

#define NPAGES 64

/* PART body bytes of one iterate: what the writer got in between, minus the
 * section header (5 bytes) and footer (5 bytes). */
static const uint8_t *part_body(vmig_stream_t *s, size_t from, size_t *len)
{
    size_t all;
    const uint8_t *d = vt_written(s, &all);
    assert_true(all >= from + 10);
    assert_int_equal(d[from], 0x02);
    *len = all - from - 10;
    return d + from + 5;
}

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void test_redirty(void **state)
{
    rt_mem_t sm = {0}, dm = {0};
    uint8_t *src = rt_map(&sm, NPAGES * PS, PS);
    uint8_t *dst = rt_map(&dm, NPAGES * PS, PS);
    rt_fill_random(src, NPAGES * PS, 1);
    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    vmig_ram_block_t *blk = rt_add(&a, "mem", src, NPAGES * PS);
    rt_add(&b, "mem", dst, NPAGES * PS);

    /* Not logging yet: nothing recorded. */
    vmig_ram_block_mark_dirty(blk, 0, NPAGES * PS);
    assert_int_equal(atomic_load(&blk->log[0]), 0);

    vmig_stream_t *s = rt_save_begin(&a);
    assert_int_equal(rt_iterate_all(&a, s, 10), 1);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    assert_int_equal(ct->normal, NPAGES);
    assert_int_equal(vmig_ram_remaining(a.ram), 0);

    /* The guest writes pages 3, 10 (one byte), 40 and 41 (one range; 41
     * becomes zero), and page 3 twice. */
    rt_fill_random(src + 3 * PS, PS, 2);
    vmig_ram_block_mark_dirty(blk, 3 * PS, PS);
    src[10 * PS + 100] ^= 0xff;
    vmig_ram_block_mark_dirty(blk, 10 * PS + 100, 1);
    rt_fill_random(src + 40 * PS, PS, 3);
    memset(src + 41 * PS, 0, PS);
    vmig_ram_block_mark_dirty(blk, 40 * PS, 2 * PS);
    vmig_ram_block_mark_dirty(blk, 3 * PS + 5, 10);
    /* Past the end: clipped, nothing outside the block is recorded. */
    vmig_ram_block_mark_dirty(blk, (NPAGES - 1) * PS, 100 * PS);
    vmig_ram_block_mark_dirty(blk, NPAGES * PS, PS);
    assert_int_equal(vmig_ram_remaining(a.ram), 0); /* not synced yet */

    /* pending: more than a threshold of 0 is nothing to sync for... */
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a.sv, 0, &pre, &compat, &post);
    assert_int_equal(pre, 0);
    assert_int_equal(ct->dirty_sync_count, 1);
    /* ...but under a large threshold it syncs and reports the new pages. */
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    assert_int_equal(ct->dirty_sync_count, 2);
    assert_int_equal(pre, 5 * PS);
    assert_int_equal(compat, 0);
    assert_int_equal(post, 0);
    assert_int_equal(vmig_ram_remaining(a.ram), 5 * PS);

    uint64_t t0 = ct->transferred;
    size_t from;
    vt_written(s, &from);
    assert_int_equal(vmig_savevm_iterate(a.sv, s, false), 1);
    size_t len;
    const uint8_t *body = part_body(s, from, &len);
    /* Pages 3, 10, 40 (data), 41 (zero), 63 (data), all CONTINUE: the
     * block is the one of the previous header. */
    static const struct {
        unsigned page;
        unsigned flags;
    } want[] = {{3, 0x28}, {10, 0x28}, {40, 0x28}, {41, 0x22}, {63, 0x28}};
    size_t off = 0;
    for (unsigned i = 0; i < 5; i++) {
        assert_true(off + 8 <= len);
        assert_int_equal(be64_at(body + off), (uint64_t)want[i].page * PS | want[i].flags);
        off += 8;
        if (want[i].flags == 0x22) {
            assert_int_equal(body[off], 0);
            off += 1;
        } else {
            assert_memory_equal(body + off, src + (size_t)want[i].page * PS, PS);
            off += PS;
        }
    }
    assert_int_equal(be64_at(body + off), VMIG_RAM_SAVE_FLAG_EOS);
    assert_int_equal(off + 8, len);
    assert_int_equal(ct->transferred - t0, 4 * (8 + PS) + 9 + 8);
    assert_int_equal(ct->normal, NPAGES + 4);
    assert_int_equal(ct->duplicate, 1);

    size_t blen;
    uint8_t *buf = rt_save_end(&a, s, &blen);
    /* Not logging any more. */
    vmig_ram_block_mark_dirty(blk, 0, PS);
    assert_int_equal(atomic_load(&blk->log[0]), 0);

    assert_int_equal(rt_load(&b, buf, blen, NULL), 0);
    assert_memory_equal(dst, src, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    rt_unmap(&sm);
    rt_unmap(&dm);
}

/* The scan goes on from where the previous iteration stopped (the cursor
 * persists), wrapping to the first block: a page dirtied behind the cursor
 * is found after those ahead of it. */
static void test_cursor_wraps(void **state)
{
    rt_mem_t m1 = {0}, m2 = {0};
    uint8_t *p1 = rt_map(&m1, 8 * PS, PS);
    uint8_t *p2 = rt_map(&m2, 8 * PS, PS);
    rt_vm_t a;
    rt_vm_init(&a);
    vmig_ram_block_t *b1 = rt_add(&a, "one", p1, 8 * PS);
    vmig_ram_block_t *b2 = rt_add(&a, "two", p2, 8 * PS);
    vmig_stream_t *s = rt_save_begin(&a);
    assert_int_equal(rt_iterate_all(&a, s, 10), 1);
    /* Cursor at the end of "two"; dirty one:5 and two:2. */
    vmig_ram_block_mark_dirty(b1, 5 * PS, 1);
    vmig_ram_block_mark_dirty(b2, 2 * PS, 1);
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    assert_int_equal(pre, 2 * PS);
    size_t from;
    vt_written(s, &from);
    assert_int_equal(vmig_savevm_iterate(a.sv, s, false), 1);
    size_t len;
    const uint8_t *body = part_body(s, from, &len);
    /* one:5 first (wrapped to the first block: idstr, the last header was
     * for "two"), then two:2 with its idstr. */
    assert_int_equal(be64_at(body), 5 * PS | 0x02);
    assert_int_equal(body[8], 3);
    assert_memory_equal(body + 9, "one", 3);
    assert_int_equal(be64_at(body + 13), 2 * PS | 0x02);
    assert_int_equal(body[21], 3);
    assert_memory_equal(body + 22, "two", 3);
    assert_int_equal(len, 13 + 13 + 8);
    vmig_savevm_save_cleanup(a.sv);
    vmig_stream_free(s);
    rt_vm_free(&a);
    rt_unmap(&m1);
    rt_unmap(&m2);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirty),
        cmocka_unit_test(test_cursor_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
