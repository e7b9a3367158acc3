/* test_log_ops.c — a block with the embedder's dirty log (e.g. KVM's):
 * start at setup, sync (fetch and clear into the bitmap handed over) at every
 * bitmap sync, stop at cleanup whatever the outcome; the pages it reports are
 * sent again, bits past the block's end are ignored; a failing start or sync
 * fails the migration with a message naming the block. */
#include "ram_test.h"

#define NPAGES 100 /* not a multiple of 64: the last bitmap word is partial */

typedef struct fake_log {
    vmig_ram_block_t *block; /* the block the calls must name */
    unsigned starts, syncs, stops; /* calls */
    int start_err, sync_err; /* what start / sync return */
    unsigned report[8];      /* pages to report at the next sync */
    unsigned nreport;        /* how many */
    size_t npages_seen;      /* npages given to the last sync */
} fake_log_t;

static int log_start(void *opaque, vmig_ram_block_t *block)
{
    fake_log_t *f = opaque;
    assert_ptr_equal(block, f->block);
    f->starts++;
    return f->start_err;
}

static int log_sync(void *opaque, vmig_ram_block_t *block, uint64_t *bitmap, size_t npages)
{
    fake_log_t *f = opaque;
    assert_ptr_equal(block, f->block);
    f->syncs++;
    f->npages_seen = npages;
    if (f->sync_err)
        return f->sync_err;
    for (unsigned i = 0; i < f->nreport; i++)
        bitmap[f->report[i] / 64] |= UINT64_C(1) << (f->report[i] % 64);
    /* Garbage past the end of the block: must be dropped. */
    bitmap[(npages - 1) / 64] |= UINT64_C(1) << 63;
    f->nreport = 0;
    return 0;
}

static void log_stop(void *opaque, vmig_ram_block_t *block)
{
    fake_log_t *f = opaque;
    assert_ptr_equal(block, f->block);
    f->stops++;
}

static const vmig_dirty_log_ops_t fake_ops = {log_start, log_sync, log_stop};

static vmig_ram_block_t *add_logged(rt_vm_t *vm, uint8_t *mem, fake_log_t *f)
{
    vmig_ram_block_opts_t o = {.name = "kvm.ram", .host = mem, .length = NPAGES * PS,
                               .log_ops = &fake_ops, .log_opaque = f};
    assert_int_equal(vmig_ram_add(vm->ram, &o, &f->block), 0);
    return f->block;
}

static void test_calls_and_pages(void **state)
{
    rt_mem_t sm = {0}, dm = {0};
    uint8_t *src = rt_map(&sm, NPAGES * PS, PS);
    uint8_t *dst = rt_map(&dm, NPAGES * PS, PS);
    rt_fill_random(src, NPAGES * PS, 5);
    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    fake_log_t f = {0};
    vmig_ram_block_t *blk = add_logged(&a, src, &f);
    rt_add(&b, "kvm.ram", dst, NPAGES * PS);

    vmig_stream_t *s = rt_save_begin(&a);
    assert_int_equal(f.starts, 1);
    assert_int_equal(f.syncs, 1); /* the first sync of setup */
    assert_int_equal(f.npages_seen, NPAGES);
    assert_int_equal(f.stops, 0);
    assert_int_equal(vmig_ram_remaining(a.ram), NPAGES * PS); /* not more: bit 127 dropped */
    /* The engine's own bitmap is not used: marks change nothing. */
    vmig_ram_block_mark_dirty(blk, 0, PS);
    rt_iterate_all(&a, s, 10);

    /* The "guest" writes pages 7 and 99; the log reports them. */
    rt_fill_random(src + 7 * PS, PS, 6);
    rt_fill_random(src + 99 * PS, PS, 7);
    f.report[0] = 7;
    f.report[1] = 99;
    f.nreport = 2;
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    assert_int_equal(f.syncs, 2);
    assert_int_equal(pre, 2 * PS);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    uint64_t normal = ct->normal;
    assert_int_equal(rt_iterate_all(&a, s, 10), 1);
    assert_int_equal(ct->normal, normal + 2);

    /* One more during completion (its sync is the third). */
    rt_fill_random(src + 50 * PS, PS, 8);
    f.report[0] = 50;
    f.nreport = 1;
    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    assert_int_equal(f.syncs, 3);
    assert_int_equal(f.stops, 1);
    assert_int_equal(ct->normal, normal + 3);
    assert_int_equal(ct->dirty_sync_count, 3);

    assert_int_equal(rt_load(&b, buf, len, NULL), 0);
    assert_memory_equal(dst, src, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    rt_unmap(&sm);
    rt_unmap(&dm);
}

static void test_start_fails(void **state)
{
    rt_mem_t m = {0};
    rt_vm_t a;
    rt_vm_init(&a);
    fake_log_t f = {.start_err = -ENOSPC};
    add_logged(&a, rt_map(&m, NPAGES * PS, PS), &f);
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(a.sv, s), -ENOSPC);
    assert_non_null(strstr(vmig_stream_error_msg(s),
                           "starting the dirty log of RAM block kvm.ram failed"));
    vmig_savevm_save_cleanup(a.sv);
    /* It never started, so it is not stopped. */
    assert_int_equal(f.starts, 1);
    assert_int_equal(f.stops, 0);
    assert_false(vmig_ram_busy(a.ram));
    vmig_stream_free(s);
    rt_vm_free(&a);
    rt_unmap(&m);
}

/* A sync failing in pending() (which cannot report) fails the next iterate;
 * the log is still stopped at cleanup. */
static void test_sync_fails(void **state)
{
    rt_mem_t m = {0};
    rt_vm_t a;
    rt_vm_init(&a);
    fake_log_t f = {0};
    add_logged(&a, rt_map(&m, NPAGES * PS, PS), &f);
    vmig_stream_t *s = rt_save_begin(&a);
    f.sync_err = -EIO;
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    assert_int_equal(pre, NPAGES * PS);
    assert_int_equal(vmig_savevm_iterate(a.sv, s, false), -EIO);
    assert_non_null(strstr(vmig_stream_error_msg(s), "dirty log sync of RAM block kvm.ram failed"));
    vmig_savevm_save_cleanup(a.sv);
    assert_int_equal(f.stops, 1);
    vmig_stream_free(s);
    rt_vm_free(&a);
    rt_unmap(&m);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_and_pages),
        cmocka_unit_test(test_start_fails),
        cmocka_unit_test(test_sync_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
