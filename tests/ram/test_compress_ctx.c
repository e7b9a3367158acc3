/* test_compress_ctx.c — the compression the sender really does: a reused
 * deflate state (vmig_compress_ctx_t) and a pool batch of the sender
 * (ram_work_t, ram_send_work.c) give exactly the bytes of a fresh
 * vmig_compress_page(), page after page and level after level. */
#include "vmig_test.h"

#include "ram/ram_compress.h"
#include "ram/ram_send_work.h"

#define PAGE 4096
#define NP 9

static void make_pages(uint8_t (*p)[PAGE])
{
    uint32_t x = 0xdeadbeefu;
    for (int k = 0; k < NP; k++)
        for (size_t i = 0; i < PAGE; i++) {
            x = x * 1103515245u + 12345u;
            /* Mixed content: random, runs, text-like and zero pages. */
            p[k][i] = k % 3 == 0 ? (uint8_t)(x >> 16) : k % 3 == 1 ? (uint8_t)(i / 97) : 0;
        }
}

/* The reference: a fresh z_stream per page, as QEMU's bytes. */
static void assert_single(const uint8_t *page, int level, const uint8_t *got, ssize_t len)
{
    uint8_t z[2 * PAGE];
    ssize_t want = vmig_compress_page(page, PAGE, level, z, sizeof z);
    assert_true(want > 0);
    assert_int_equal(len, want);
    assert_memory_equal(got, z, (size_t)want);
}

static void test_ctx_equals_single(void **state)
{
    static uint8_t p[NP][PAGE];
    make_pages(p);
    static const int levels[] = { 0, 1, 6, 9 };
    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
        vmig_compress_ctx_t ctx;
        assert_int_equal(vmig_compress_ctx_init(&ctx, levels[l]), 0);
        /* Twice round: a reset state must not remember the last page. */
        for (int round = 0; round < 2; round++)
            for (int k = 0; k < NP; k++) {
                uint8_t out[2 * PAGE];
                ssize_t len = vmig_compress_page_ctx(&ctx, p[k], PAGE, out, sizeof out);
                assert_single(p[k], levels[l], out, len);
            }
        vmig_compress_ctx_fini(&ctx);
        vmig_compress_ctx_fini(&ctx); /* idempotent */
    }
    vmig_compress_ctx_t bad;
    assert_int_equal(vmig_compress_ctx_init(&bad, 10), -EINVAL);
    assert_int_equal(vmig_compress_ctx_init(&bad, -1), -EINVAL);
    vmig_compress_ctx_fini(&bad);
}

/* The sender's batch, levels changing inside one batch, run inline and on
 * the pool. */
typedef struct pool_case {
    ram_work_t *w; /* the batch */
    int rc;        /* co_work's result */
} pool_case_t;

static int pool_body(void *arg)
{
    pool_case_t *pc = arg;
    pc->rc = co_work(NULL, ram_work_run, pc->w, ram_work_free);
    return 0;
}

static void check_work(ram_work_t *w, uint8_t (*p)[PAGE])
{
    for (int k = 0; k < NP; k++) {
        const uint8_t *out;
        ssize_t len = ram_work_result(w, (size_t)k, &out);
        assert_single(p[k], k % 10, out, len);
        assert_memory_equal(ram_work_snapshot(w, (size_t)k), p[k], PAGE);
    }
}

static void test_work_equals_single(void **state)
{
    static uint8_t p[NP][PAGE];
    make_pages(p);
    ram_work_t *w = ram_work_new();
    assert_non_null(w);
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < NP; k++)
            assert_int_equal(ram_work_add_compress(w, p[k], k % 10), (size_t)k);
        assert_int_equal(ram_work_count(w), NP);
        assert_int_equal(ram_work_run(w), 0);
        check_work(w, p);
        ram_work_clear(w);
        assert_int_equal(ram_work_count(w), 0);
    }
    for (int k = 0; k < NP; k++)
        ram_work_add_compress(w, p[k], k % 10);
    pool_case_t pc = { .w = w, .rc = -1 };
    assert_int_equal(vt_run(pool_body, &pc), 0);
    assert_int_equal(pc.rc, 0);
    check_work(w, p);
    ram_work_free(w);
    ram_work_free(NULL);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_equals_single),
        cmocka_unit_test(test_work_equals_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
