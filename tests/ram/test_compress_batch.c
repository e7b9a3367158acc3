/* test_compress_batch.c — a batch of pages compressed in one call (one
 * co_work job) gives exactly the single-page results, and a batch is
 * reusable, bounded and runs on the pool. */
#include "vmig_test.h"

#include "ram/ram_compress.h"

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

static void check_batch(vmig_compress_batch_t *b, uint8_t (*p)[PAGE], int level, size_t n)
{
    assert_int_equal(vmig_compress_batch_run(b), 0);
    assert_int_equal(b->n, n);
    uint8_t z[VMIG_COMPRESS_BOUND_4K];
    for (size_t k = 0; k < n; k++) {
        ssize_t len = vmig_compress_page(p[k], PAGE, level, z, sizeof z);
        assert_true(len > 0);
        assert_int_equal(b->jobs[k].len, len);
        assert_memory_equal(b->jobs[k].out, z, (size_t)len);
    }
}

static void test_batch_equals_single(void **state)
{
    static uint8_t p[NP][PAGE];
    make_pages(p);
    for (int level = 0; level <= 9; level += 3) {
        vmig_compress_batch_t *b = vmig_compress_batch_new(level, PAGE, NP);
        assert_non_null(b);
        for (size_t k = 0; k < NP; k++)
            assert_int_equal(vmig_compress_batch_add(b, p[k]), (ssize_t)k);
        assert_int_equal(vmig_compress_batch_add(b, p[0]), -ENOSPC);
        check_batch(b, p, level, NP);
        /* Reused after clear, with fewer pages: the same results. */
        vmig_compress_batch_clear(b);
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(vmig_compress_batch_add(b, p[k]), (ssize_t)k);
        check_batch(b, p, level, 4);
        vmig_compress_batch_free(b);
    }
}

static void test_batch_bad_args(void **state)
{
    assert_null(vmig_compress_batch_new(10, PAGE, 4));
    assert_null(vmig_compress_batch_new(1, 0, 4));
    assert_null(vmig_compress_batch_new(1, PAGE, 0));
    /* Sizes that overflow are refused, not wrapped. */
    assert_null(vmig_compress_batch_new(1, PAGE, SIZE_MAX / 64));
    vmig_compress_batch_t *b = vmig_compress_batch_new(1, PAGE, 1);
    assert_non_null(b);
    assert_int_equal(vmig_compress_batch_add(b, NULL), -EINVAL);
    assert_int_equal(vmig_compress_batch_run(b), 0); /* empty: nothing to do */
    vmig_compress_batch_release(b);
    vmig_compress_batch_free(NULL);
}

/* The batch as a co_work() job from a coroutine: the pool thread fills it. */
typedef struct pool_case {
    uint8_t (*p)[PAGE];          /* the pages */
    vmig_compress_batch_t *b;    /* the batch */
    int rc;                      /* co_work's result */
} pool_case_t;

static int pool_co(void *arg)
{
    pool_case_t *pc = arg;
    pc->rc = co_work(NULL, vmig_compress_batch_run, pc->b, vmig_compress_batch_release);
    return 0;
}

static void test_batch_on_pool(void **state)
{
    static uint8_t p[NP][PAGE];
    make_pages(p);
    pool_case_t pc = { .p = p, .b = vmig_compress_batch_new(1, PAGE, NP), .rc = -1 };
    assert_non_null(pc.b);
    for (size_t k = 0; k < NP; k++)
        assert_true(vmig_compress_batch_add(pc.b, p[k]) >= 0);
    assert_int_equal(vt_run(pool_co, &pc), 0);
    assert_int_equal(pc.rc, 0);
    uint8_t z[VMIG_COMPRESS_BOUND_4K];
    for (size_t k = 0; k < NP; k++) {
        ssize_t len = vmig_compress_page(p[k], PAGE, 1, z, sizeof z);
        assert_int_equal(pc.b->jobs[k].len, len);
        assert_memory_equal(pc.b->jobs[k].out, z, (size_t)len);
    }
    vmig_compress_batch_free(pc.b);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_batch_bad_args),
        cmocka_unit_test(test_batch_on_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
