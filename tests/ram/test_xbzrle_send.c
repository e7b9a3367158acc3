/* test_xbzrle_send.c — the sender with capability xbzrle, record by record
 * (spec/xbzrle.md §2, §5): nothing in the first round; after it a miss goes
 * whole from the cache, a hit as `offset|XBZRLE|CONTINUE, 01, be16 len,
 * data`, an unchanged page not at all, an overflow whole; the counters as
 * QEMU 7.2 keeps them; a live resize empties the cache; the destination
 * ends with the source's memory. */
#include "ram_test.h"

#define NPAGES 16

static const uint8_t *part_body(vmig_stream_t *s, size_t from, size_t *len)
{
    size_t all;
    const uint8_t *d = vt_written(s, &all);
    assert_true(all >= from + 10);
    assert_int_equal(d[from], 0x02); /* PART */
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

/* Sync (pending under a huge threshold), one iterate: its body. */
static const uint8_t *round_body(rt_vm_t *a, vmig_stream_t *s, size_t *len)
{
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(a->sv, UINT64_MAX, &pre, &compat, &post);
    size_t from;
    vt_written(s, &from);
    assert_int_equal(vmig_savevm_iterate(a->sv, s, false), 1);
    return part_body(s, from, len);
}

static int64_t xb_stat(rt_vm_t *a, const char *key)
{
    json_t *o = json_object();
    assert_int_equal(vmig_ram_xbzrle_stats_json(a->ram, o), 0);
    int64_t v = json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

static void test_records(void **state)
{
    rt_mem_t sm = {0}, dm = {0};
    uint8_t *src = rt_map(&sm, NPAGES * PS, PS);
    uint8_t *dst = rt_map(&dm, NPAGES * PS, PS);
    memset(src, 0, NPAGES * PS);
    memset(dst, 0xee, NPAGES * PS);
    rt_vm_t a, b;
    rt_vm_init(&a);
    rt_vm_init(&b);
    vmig_ram_block_t *blk = rt_add(&a, "mem", src, NPAGES * PS);
    rt_add(&b, "mem", dst, NPAGES * PS);
    vmig_ram_set_save_opts(a.ram, &(vmig_ram_save_opts_t){.xbzrle = true,
                                                         .xbzrle_cache_size = 1u << 20});

    /* First round: plain ZERO records, the cache untouched. */
    vmig_stream_t *s = rt_save_begin(&a);
    assert_int_equal(rt_iterate_all(&a, s, 10), 1);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    assert_int_equal(ct->duplicate, NPAGES);
    assert_int_equal(xb_stat(&a, "cache-miss"), 0);
    assert_int_equal(xb_stat(&a, "cache-size"), 1 << 20);

    /* Page 5 changes (xbzrle.md example 1): a miss, sent whole from the cache. */
    memcpy(src + 5 * PS + 0x10, "\x01\x02\x03\x04", 4);
    vmig_ram_block_mark_dirty(blk, 5 * PS, PS);
    size_t len;
    const uint8_t *body = round_body(&a, s, &len);
    assert_int_equal(len, 8 + PS + 8);
    assert_int_equal(be64_at(body), 5 * PS | 0x28);
    assert_memory_equal(body + 8, src + 5 * PS, PS);
    assert_int_equal(xb_stat(&a, "cache-miss"), 1);
    assert_int_equal(xb_stat(&a, "pages"), 0);

    /* Then 0x400..0x401: a hit, one XBZRLE record against the cached copy. */
    src[5 * PS + 0x400] = 0xaa;
    src[5 * PS + 0x401] = 0xbb;
    vmig_ram_block_mark_dirty(blk, 5 * PS + 0x400, 2);
    uint64_t t0 = ct->transferred;
    body = round_body(&a, s, &len);
    static const uint8_t rec[] = {0, 0, 0, 0, 0, 0, 0x50, 0x60, 0x01, 0x00, 0x05,
                                  0x80, 0x08, 0x02, 0xaa, 0xbb};
    assert_int_equal(len, sizeof(rec) + 8);
    assert_memory_equal(body, rec, sizeof(rec));
    assert_int_equal(ct->transferred - t0, sizeof(rec) + 8);
    assert_int_equal(xb_stat(&a, "pages"), 1);
    assert_int_equal(xb_stat(&a, "bytes"), sizeof(rec) - 8);

    /* Marked but unchanged: a hit that sends nothing. */
    vmig_ram_block_mark_dirty(blk, 5 * PS, 1);
    body = round_body(&a, s, &len);
    assert_int_equal(len, 8);
    assert_int_equal(xb_stat(&a, "pages"), 2);

    /* Every even byte: the encoding overflows, the page goes whole. */
    for (unsigned i = 0; i < PS; i += 2)
        src[5 * PS + i] = 0x77;
    vmig_ram_block_mark_dirty(blk, 5 * PS, PS);
    uint64_t normal = ct->normal;
    body = round_body(&a, s, &len);
    assert_int_equal(len, 8 + PS + 8);
    assert_int_equal(be64_at(body), 5 * PS | 0x28);
    assert_memory_equal(body + 8, src + 5 * PS, PS);
    assert_int_equal(ct->normal, normal + 1);
    assert_int_equal(xb_stat(&a, "overflow"), 1);
    assert_int_equal(xb_stat(&a, "pages"), 3);
    assert_int_equal(xb_stat(&a, "bytes"), sizeof(rec) - 8 + PS);

    /* A small change after the overflow: encoded against the new copy. */
    src[5 * PS + 1] = 0x99;
    vmig_ram_block_mark_dirty(blk, 5 * PS + 1, 1);
    body = round_body(&a, s, &len);
    static const uint8_t rec2[] = {0, 0, 0, 0, 0, 0, 0x50, 0x60, 0x01, 0x00, 0x03,
                                   0x01, 0x01, 0x99};
    assert_memory_equal(body, rec2, sizeof(rec2));

    /* A new xbzrle-cache-size while migrating: a new empty cache from the
     * next round, so the next change is a miss again; counters go on. */
    vmig_ram_set_save_opts(a.ram, &(vmig_ram_save_opts_t){.xbzrle = true,
                                                         .xbzrle_cache_size = 2u << 20});
    src[5 * PS + 3] = 0x42;
    vmig_ram_block_mark_dirty(blk, 5 * PS + 3, 1);
    body = round_body(&a, s, &len);
    assert_int_equal(len, 8 + PS + 8);
    assert_int_equal(be64_at(body), 5 * PS | 0x28);
    assert_int_equal(xb_stat(&a, "cache-miss"), 2);
    assert_int_equal(xb_stat(&a, "cache-size"), 2 << 20);

    size_t blen;
    uint8_t *buf = rt_save_end(&a, s, &blen);
    /* The destination has no cache and no capability: it decodes anyway. */
    assert_int_equal(rt_load(&b, buf, blen, NULL), 0);
    assert_memory_equal(dst, src, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    rt_unmap(&sm);
    rt_unmap(&dm);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
