/* test_compress_rate.c — with compress (and XBZRLE) pool records queued, an iteration stops
 * within one page record of the rate window's budget, not a pipeline of batches past it. */
#include "ram_test.h"

#include <unistd.h>

#define NPAGES 2048
/* The block's name: the first record's idstr. */
#define BLOCK "mem"
/* The rate window's budget: about 40 records of one compressed (or XBZRLE)
 * text page (~1320 bytes with their headers). */
#define BUDGET 53000u
/* What may pass the budget: the page record that crossed it, at most a
 * whole PAGE record with its idstr, and the EOS and footer that close the
 * section after the stop. */
#define SLACK (8u + 1u + sizeof(BLOCK) - 1u + PS + 8u + 5u)

/* Text-like bytes: words from a small vocabulary, which deflate at level 1
 * to about a third (~1310 bytes a page), page after page alike. */
static void fill_text(uint8_t *p, size_t len, uint64_t seed)
{
    static const char *const words[] = {"the",  "of",   "and",  "to",   "in",   "is",
                                        "was",  "for",  "on",   "that", "with", "as",
                                        "by",   "at",   "from", "his"};
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 7;
    size_t i = 0;
    while (i < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *w = words[x % 16];
        for (size_t k = 0; w[k] && i < len; k++)
            p[i++] = (uint8_t)w[k];
        if (i < len)
            p[i++] = ' ';
    }
}

static int64_t stat_of(int (*get)(const vmig_ram_t *, json_t *), const vmig_ram_t *ram,
                       const char *key)
{
    json_t *o = json_object();
    assert_non_null(o);
    assert_int_equal(get(ram, o), 0);
    int64_t v = json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

/* One iterate in a window of its own: sleep past the window in force, so the
 * rate check before the section starts a new one. Returns the bytes the
 * iterate wrote; *same: it ended within 90 ms of its start, so all of them
 * fell in that one window; *t_start: when it started. */
static uint64_t iterate_in_new_window(rt_vm_t *a, vmig_stream_t *s, bool *same,
                                      uint64_t *t_start)
{
    usleep(110 * 1000);
    uint64_t b0 = vmig_stream_bytes_written(s);
    *t_start = uv_hrtime();
    assert_int_equal(vmig_savevm_iterate(a->sv, s, false), 0);
    *same = vt_ms_since(*t_start) < 90;
    return vmig_stream_bytes_written(s) - b0;
}

/* A window's worth: one iterate in a new window, then more in the same
 * window until one writes nothing (over budget: no section at all).
 * Checks the first iterate and the window against the budget: at most
 * SLACK past it, and (with a learnt estimate, want_half) at least half. */
static void check_window(const char *what, rt_vm_t *a, vmig_stream_t *s, bool want_half)
{
    bool same;
    uint64_t t0;
    uint64_t first = iterate_in_new_window(a, s, &same, &t0);
    uint64_t total = first;
    unsigned iters = 1;
    while (same) {
        uint64_t b0 = vmig_stream_bytes_written(s);
        assert_int_equal(vmig_savevm_iterate(a->sv, s, false), 0);
        uint64_t d = vmig_stream_bytes_written(s) - b0;
        if (vt_ms_since(t0) >= 90) {
            same = false;
            break;
        }
        total += d;
        if (d == 0)
            break;
        iters++;
        assert_true(iters < 1000);
    }
    print_message("%s: budget %u, first iterate %llu bytes, window %llu bytes in %u iterates%s\n",
                  what, BUDGET, (unsigned long long)first, (unsigned long long)total, iters,
                  same ? "" : " (window ran out: bounds not checked)");
    if (!same)
        return; /* a slow machine: the bytes may span two windows */
    if (first > BUDGET + SLACK || total > BUDGET + SLACK)
        fail_msg("%s: %llu bytes (first iterate %llu) in a window of budget %u: more than one "
                 "page record (%u) past it",
                 what, (unsigned long long)total, (unsigned long long)first, BUDGET,
                 (unsigned)SLACK);
    assert_true(total >= BUDGET / 2);
    if (want_half)
        assert_true(first >= BUDGET / 2);
}

/* A source of text pages and an empty destination, one block each. */
typedef struct pair {
    rt_mem_t sm, dm;   /* their mappings */
    uint8_t *src, *dst; /* their memory */
    rt_vm_t a, b;      /* source and destination */
} pair_t;

/* Returns the source's block. */
static vmig_ram_block_t *pair_init(pair_t *p)
{
    memset(p, 0, sizeof(*p));
    p->src = rt_map(&p->sm, NPAGES * PS, PS);
    p->dst = rt_map(&p->dm, NPAGES * PS, PS);
    for (unsigned i = 0; i < NPAGES; i++)
        fill_text(p->src + (size_t)i * PS, PS, i + 1);
    memset(p->dst, 0xee, NPAGES * PS);
    rt_vm_init(&p->a);
    rt_vm_init(&p->b);
    rt_add(&p->b, BLOCK, p->dst, NPAGES * PS);
    return rt_add(&p->a, BLOCK, p->src, NPAGES * PS);
}

static void pair_unmap(pair_t *p)
{
    rt_unmap(&p->sm);
    rt_unmap(&p->dm);
}

static void test_compress(void **state)
{
    pair_t pr;
    pair_init(&pr);
    rt_vm_t a = pr.a, b = pr.b;
    uint8_t *src = pr.src, *dst = pr.dst;
    vmig_ram_set_save_opts(a.ram, &(vmig_ram_save_opts_t){.compress = true,
                                                         .compress_level = 1,
                                                         .compress_threads = 4,
                                                         .compress_wait_thread = true});
    vmig_stream_t *s = rt_save_begin(&a);
    vmig_stream_set_rate_limit(s, BUDGET * 10);

    /* A cold estimate (a whole page per queued record): the first iterate
     * stops early, but never late; the window fills over the next ones. */
    check_window("compress, first window", &a, s, false);
    int64_t pages1 = stat_of(vmig_ram_compress_stats_json, a.ram, "pages");
    assert_true(pages1 > 0);
    /* Then the estimate knows the size of a compressed page. */
    check_window("compress, second window", &a, s, true);
    check_window("compress, third window", &a, s, true);
    const vmig_ram_counters_t *ct = vmig_ram_counters(a.ram);
    assert_true(vmig_ram_pages_sent(a.ram) < NPAGES);

    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    int64_t pages = stat_of(vmig_ram_compress_stats_json, a.ram, "pages");
    print_message("compress: %lld pages compressed, %llu normal, stream %zu bytes\n",
                  (long long)pages, (unsigned long long)ct->normal, len);
    assert_int_equal(stat_of(vmig_ram_compress_stats_json, a.ram, "busy"), 0);
    assert_int_equal((uint64_t)pages + ct->normal, NPAGES);
    assert_true(ct->normal < 8); /* the block's first page, and no failures */
    assert_true(len < NPAGES * PS / 2);

    vmig_ram_set_load_opts(b.ram, &(vmig_ram_load_opts_t){.compress = true,
                                                         .decompress_threads = 2});
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&b, buf, len, msg), 0);
    assert_string_equal(msg, "");
    assert_memory_equal(dst, src, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    pair_unmap(&pr);
}

/* XBZRLE: a first round (whole pages), a second where every page changes a
 * little (misses: the cache fills), then a third where each page changes a
 * 1300-byte run (hits: ~1315-byte XBZRLE records) under the limit. */
static void test_xbzrle(void **state)
{
    pair_t pr;
    vmig_ram_block_t *blk = pair_init(&pr);
    rt_vm_t a = pr.a, b = pr.b;
    uint8_t *src = pr.src, *dst = pr.dst;
    vmig_ram_set_save_opts(a.ram, &(vmig_ram_save_opts_t){.xbzrle = true,
                                                         .xbzrle_cache_size = 16u << 20});
    vmig_stream_t *s = rt_save_begin(&a);
    rt_iterate_all(&a, s, 1000);
    assert_int_equal(stat_of(vmig_ram_xbzrle_stats_json, a.ram, "cache-miss"), 0);

    uint64_t pre, compat, post;
    for (unsigned i = 0; i < NPAGES; i++)
        memcpy(src + (size_t)i * PS, "CHANGED!", 8);
    vmig_ram_block_mark_dirty(blk, 0, NPAGES * PS);
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post); /* sync */
    rt_iterate_all(&a, s, 1000);
    assert_int_equal(stat_of(vmig_ram_xbzrle_stats_json, a.ram, "cache-miss"), NPAGES);
    assert_int_equal(stat_of(vmig_ram_xbzrle_stats_json, a.ram, "pages"), 0);

    for (unsigned i = 0; i < NPAGES; i++)
        for (size_t k = 1000; k < 2300; k++)
            src[(size_t)i * PS + k] ^= 0x20;
    vmig_ram_block_mark_dirty(blk, 0, NPAGES * PS);
    vmig_savevm_pending(a.sv, UINT64_MAX, &pre, &compat, &post);
    vmig_stream_set_rate_limit(s, BUDGET * 10);
    check_window("xbzrle, first window", &a, s, false);
    int64_t hits = stat_of(vmig_ram_xbzrle_stats_json, a.ram, "pages");
    assert_true(hits > 0);
    check_window("xbzrle, second window", &a, s, true);
    check_window("xbzrle, third window", &a, s, true);
    int64_t bytes = stat_of(vmig_ram_xbzrle_stats_json, a.ram, "bytes");
    hits = stat_of(vmig_ram_xbzrle_stats_json, a.ram, "pages");
    print_message("xbzrle: %lld pages encoded in the limited windows, %lld bytes (%lld a page)\n",
                  (long long)hits, (long long)bytes, (long long)(bytes / (hits ? hits : 1)));
    assert_true(hits < NPAGES);
    assert_int_equal(stat_of(vmig_ram_xbzrle_stats_json, a.ram, "overflow"), 0);

    size_t len;
    uint8_t *buf = rt_save_end(&a, s, &len);
    assert_int_equal(stat_of(vmig_ram_xbzrle_stats_json, a.ram, "pages"), NPAGES);
    /* The destination needs no capability to decode XBZRLE. */
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&b, buf, len, msg), 0);
    assert_string_equal(msg, "");
    assert_memory_equal(dst, src, NPAGES * PS);
    free(buf);
    rt_vm_free(&a);
    rt_vm_free(&b);
    pair_unmap(&pr);
}

int main(void)
{
    vt_test_setup(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress),
        cmocka_unit_test(test_xbzrle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
