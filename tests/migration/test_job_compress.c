/* test_job_compress.c — a precopy migration with capability compress on both
 * sides between two engines on one loop while a guest thread keeps writing:
 * pages go as COMPRESS_PAGE records (compressed on the pool), the
 * destination inflates them, memory ends equal, and query-migrate shows
 * "compression"; the same with deep pipelines (8 compress / 4 inflate
 * batches), and with compress-wait-thread off, where pages that find the
 * one batch busy go whole and count as "busy". */
#include "job_dirty.h"

#define MIB (1024u * 1024u)

static void test_compress_under_writes(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    dirty_vm_init(&src, &loop, 8 * MIB, 5, 40, 200);
    job_vm_init(&dst, &loop, "dst", 8 * MIB, false);
    memset(dst.mem, 0xff, dst.size);
    job_cap(&src.vm, "compress", true);
    job_cap(&dst, "compress", true);
    job_param(&src.vm, "compress-level", 6);
    job_param(&src.vm, "compress-threads", 2);
    job_param(&dst, "decompress-threads", 2);
    job_param(&src.vm, "max-bandwidth", 0); /* unlimited */

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&dst));
    assert_int_equal(vmig_engine_migrate(src.vm.e, uri, &err), 0);

    job_wait_completed(&loop, &src.vm, &dst);
    assert_false(src.running);
    assert_memory_equal(src.vm.mem, dst.mem, src.vm.size);

    /* Every non-zero page went compressed at least once (the block's first
     * page, which would go whole, is a zero page here); the random pages
     * barely shrink, so only the count and the size's lower bound are
     * checked. */
    int64_t pages = dirty_query_int(&src, "compression", "pages");
    size_t all = src.vm.size / 4096, zero = (all + 2) / 3;
    assert_true(pages >= (int64_t)(all - zero - 1));
    assert_true(dirty_query_int(&src, "compression", "compressed-size") > pages * 4);
    const vmig_ram_counters_t *c = vmig_ram_counters(src.vm.e->ram);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);

    dirty_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* Pages of mem from from_page on that job_fill() made random become text
 * (words of a small vocabulary: deflate leaves about a third), so the
 * compressor has real work. The writer's working set lies below from_page:
 * it never touches these while they are written. */
static void fill_text_pages(uint8_t *mem, size_t size, size_t from_page)
{
    static const char *const words[] = {"the", "of",   "and",  "to", "in", "is", "was",  "for",
                                        "on",  "that", "with", "as", "by", "at", "from", "his"};
    uint64_t x = 0x51ed270b27a3e1c5ull;
    for (size_t p = from_page; p < size / 4096; p++) {
        if (p % 3 == 0)
            continue; /* job_fill's zero pages stay zero */
        uint8_t *pg = mem + p * 4096;
        size_t i = 0;
        while (i < 4096) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for (const char *w = words[x % 16]; *w && i < 4096; w++)
                pg[i++] = (uint8_t)*w;
            if (i < 4096)
                pg[i++] = ' ';
        }
    }
}

/* A source of size bytes (writer on pages 40..240, text from page 256),
 * an empty destination; caps and params set by the caller in between. */
static void two_vms(uv_loop_t *loop, dirty_vm_t *src, job_vm_t *dst, size_t size)
{
    dirty_vm_init(src, loop, size, 7, 40, 200);
    fill_text_pages(src->vm.mem, size, 256);
    job_vm_init(dst, loop, "dst", size, false);
    memset(dst->mem, 0xff, dst->size);
    job_cap(&src->vm, "compress", true);
    job_cap(dst, "compress", true);
    job_param(&src->vm, "max-bandwidth", 0); /* unlimited */
}

/* Migrate src to dst and check both completed with the same memory. */
static void migrate_and_check(uv_loop_t *loop, dirty_vm_t *src, job_vm_t *dst)
{
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst->e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(dst));
    assert_int_equal(vmig_engine_migrate(src->vm.e, uri, &err), 0);
    job_wait_completed(loop, &src->vm, dst);
    assert_false(src->running);
    assert_true(atomic_load(&src->writes) > 0);
    assert_memory_equal(src->vm.mem, dst->mem, src->vm.size);
}

/* Eight compress batches in flight on the source, four inflate batches on
 * the destination, level 1, 16 MiB while the guest writes. */
static void test_compress_deep_pipelines(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    two_vms(&loop, &src, &dst, 16 * MIB);
    job_param(&src.vm, "compress-level", 1);
    job_param(&src.vm, "compress-threads", 8);
    job_param(&dst, "decompress-threads", 4);
    migrate_and_check(&loop, &src, &dst);

    int64_t pages = dirty_query_int(&src, "compression", "pages");
    int64_t size = dirty_query_int(&src, "compression", "compressed-size");
    int64_t busy = dirty_query_int(&src, "compression", "busy");
    size_t all = src.vm.size / 4096, zero = (all + 2) / 3;
    print_message("compress 8/4 level 1: %lld pages compressed into %lld bytes, busy %lld\n",
                  (long long)pages, (long long)size, (long long)busy);
    /* Every non-zero page but the block's first (a zero page here) went
     * compressed at least once; waiting for a batch is the default. */
    assert_true(pages >= (int64_t)(all - zero - 1));
    assert_int_equal(busy, 0);
    /* Mostly text: well under half a page each. */
    assert_true(size > pages * 4);
    assert_true(size < pages * 4096 / 2);
    const vmig_ram_counters_t *c = vmig_ram_counters(src.vm.e->ram);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);

    dirty_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* compress-wait-thread off with one batch in flight at level 9: a page
 * that finds the batch busy goes whole and counts "busy". 32 MiB of
 * mostly text: a batch of 64 pages at level 9 takes milliseconds on the
 * pool, the loop fills the next in far less, so busy pages are certain. */
static void test_compress_no_wait(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    two_vms(&loop, &src, &dst, 32 * MIB);
    job_param(&src.vm, "compress-level", 9);
    job_param(&src.vm, "compress-threads", 1);
    job_param(&src.vm, "compress-wait-thread", 0);
    job_param(&dst, "decompress-threads", 2);
    migrate_and_check(&loop, &src, &dst);

    int64_t pages = dirty_query_int(&src, "compression", "pages");
    int64_t busy = dirty_query_int(&src, "compression", "busy");
    int64_t size = dirty_query_int(&src, "compression", "compressed-size");
    const vmig_ram_counters_t *c = vmig_ram_counters(src.vm.e->ram);
    size_t all = src.vm.size / 4096, zero = (all + 2) / 3;
    print_message("compress no-wait 1 thread level 9: %lld pages compressed (%lld bytes), "
                  "busy %lld, normal %llu, non-zero pages %zu\n",
                  (long long)pages, (long long)size, (long long)busy,
                  (unsigned long long)c->normal, all - zero);
    assert_true(busy > 0);
    assert_true(pages > 0);
    /* A busy page went whole: counted as normal too. */
    assert_true((uint64_t)busy <= c->normal);
    /* In the first round every non-zero page but the block's first went
     * compressed or, finding the batch busy, whole. */
    assert_true(pages + busy + 1 >= (int64_t)(all - zero));
    assert_true(pages + (int64_t)c->normal >= (int64_t)(all - zero));
    assert_true(size < pages * 4096);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);

    dirty_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress_under_writes),
        cmocka_unit_test(test_compress_deep_pipelines),
        cmocka_unit_test(test_compress_no_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
