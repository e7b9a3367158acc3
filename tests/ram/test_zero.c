/* test_zero.c — the zero-page detector: every implementation (portable, SSE2,
 * AVX2) finds a single non-zero byte anywhere, at any alignment and length,
 * never reads outside its buffer, and the page bitmap scan agrees with them. */
#include "vmig_test.h"

#include "ram/ram_zero_impl.h"

#define PAGE 4096

/* The usable implementations, printing the ones this CPU cannot run so a
 * missing AVX2 shows in the log instead of passing silently. */
static size_t usable_impls(const struct vmig_ram_zero_impl **out, size_t max)
{
    size_t n, k = 0;
    const struct vmig_ram_zero_impl *all = vmig_ram_zero_impls(&n);
    for (size_t i = 0; i < n && k < max; i++) {
        if (all[i].usable())
            out[k++] = &all[i];
        else
            print_message("zero: %s not usable on this CPU, skipped\n", all[i].name);
    }
    return k;
}

/* Every byte of a page-aligned page, set alone to each of a few values
 * (including the lowest and highest bit), is seen by every implementation
 * and by the dispatcher. */
static void test_every_byte_page_aligned(void **state)
{
    const struct vmig_ram_zero_impl *im[8];
    size_t n = usable_impls(im, 8);
    assert_true(n >= 1);
    unsigned char *page = aligned_alloc(PAGE, PAGE);
    assert_non_null(page);
    memset(page, 0, PAGE);
    for (size_t k = 0; k < n; k++)
        assert_true(im[k]->is_zero(page, PAGE));
    assert_true(vmig_ram_is_zero(page, PAGE));
    static const unsigned char vals[] = { 0x01, 0x80, 0xff };
    for (size_t pos = 0; pos < PAGE; pos++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            page[pos] = vals[v];
            for (size_t k = 0; k < n; k++)
                if (im[k]->is_zero(page, PAGE))
                    fail_msg("%s missed byte %zu = 0x%02x", im[k]->name, pos, vals[v]);
            assert_false(vmig_ram_is_zero(page, PAGE));
        }
        page[pos] = 0;
    }
    for (size_t k = 0; k < n; k++)
        assert_true(im[k]->is_zero(page, PAGE));
    free(page);
}

/* Any offset 0..63 from a page boundary and lengths around the 64/256-byte
 * steps: the buffer ends exactly where its allocation does (an over-read is
 * an ASan error) and is fenced by 0xff bytes before it, so reading outside
 * would turn "zero" into "non-zero". Every position is covered for the short
 * lengths, a stride plus both ends for the long ones. */
static void test_unaligned_and_lengths(void **state)
{
    const struct vmig_ram_zero_impl *im[8];
    size_t n = usable_impls(im, 8);
    static const size_t lens[] = { 0, 64, 128, 192, 256, 320, 448, 512, 576, 1024, 4032, 4096, 4160, 8192 };
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t len = lens[li];
        for (size_t off = 0; off < 64; off++) {
            /* posix_memalign keeps the exact size, so ASan's redzone starts
             * right after the last byte of p; the base is cache-line aligned
             * so that off is the real misalignment. */
            void *raw = NULL;
            assert_int_equal(posix_memalign(&raw, 64, off + len + (off + len == 0)), 0);
            unsigned char *buf = raw;
            memset(buf, 0xff, off);
            unsigned char *p = buf + off;
            memset(p, 0, len);
            for (size_t k = 0; k < n; k++)
                if (!im[k]->is_zero(p, len))
                    fail_msg("%s: zero buffer off %zu len %zu reported non-zero", im[k]->name, off, len);
            assert_true(vmig_ram_is_zero(p, len));
            for (size_t pos = 0; pos < len; pos++) {
                if (len > 576 && pos >= 128 && pos + 128 < len && pos % 61 != 0)
                    continue;
                p[pos] = 0x10;
                for (size_t k = 0; k < n; k++)
                    if (im[k]->is_zero(p, len))
                        fail_msg("%s missed byte %zu, off %zu len %zu", im[k]->name, pos, off, len);
                assert_false(vmig_ram_is_zero(p, len));
                p[pos] = 0;
            }
            free(buf);
        }
    }
}

/* Random buffers with a few sparse non-zero bytes: all implementations agree
 * with a byte-by-byte reference. */
static void test_implementations_agree(void **state)
{
    const struct vmig_ram_zero_impl *im[8];
    size_t n = usable_impls(im, 8);
    enum { LEN = 4 * PAGE };
    unsigned char *buf = aligned_alloc(PAGE, LEN + PAGE);
    assert_non_null(buf);
    unsigned seed = 12345;
    for (int iter = 0; iter < 2000; iter++) {
        size_t off = (size_t)rand_r(&seed) % 64;
        size_t len = ((size_t)rand_r(&seed) % (LEN / 64 + 1)) * 64;
        unsigned char *p = buf + off;
        memset(p, 0, len);
        int nset = rand_r(&seed) % 3;   /* zero, one or two non-zero bytes */
        for (int s = 0; s < nset && len; s++)
            p[(size_t)rand_r(&seed) % len] = (unsigned char)(1 + rand_r(&seed) % 255);
        bool ref = true;
        for (size_t i = 0; i < len; i++)
            ref = ref && p[i] == 0;
        for (size_t k = 0; k < n; k++)
            if (im[k]->is_zero(p, len) != ref)
                fail_msg("%s disagrees: off %zu len %zu", im[k]->name, off, len);
        assert_int_equal(vmig_ram_is_zero(p, len), ref);
    }
    free(buf);
}

static bool bit(const uint64_t *bm, size_t i)
{
    return (bm[i / 64] >> (i % 64)) & 1;
}

/* A mix of zero and non-zero pages (non-zero at the first, last or a random
 * byte), 200 pages so the bitmap spans whole words and a partial one: bits
 * and count are right for every implementation and the dispatcher, and the
 * caller's bits past npages survive. */
static void test_scan_bitmap(void **state)
{
    const struct vmig_ram_zero_impl *im[8];
    size_t n = usable_impls(im, 8);
    static const size_t sizes[] = { 64, PAGE, 65536 };
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t ps = sizes[si];
        enum { NP = 200 };
        void *raw = NULL;   /* posix_memalign: NP * 64 is no multiple of PAGE */
        assert_int_equal(posix_memalign(&raw, PAGE, NP * ps), 0);
        unsigned char *mem = raw;
        memset(mem, 0, NP * ps);
        bool expect[NP];
        size_t nzero = 0;
        unsigned seed = (unsigned)ps;
        for (size_t i = 0; i < NP; i++) {
            int kind = rand_r(&seed) % 4;
            expect[i] = kind == 0;
            if (kind == 1)
                mem[i * ps] = 1;
            else if (kind == 2)
                mem[i * ps + ps - 1] = 0x80;
            else if (kind == 3)
                mem[i * ps + (size_t)rand_r(&seed) % ps] = 0x42;
            nzero += expect[i];
        }
        for (size_t k = 0; k <= n; k++) {
            uint64_t bm[4];
            memset(bm, 0xa5, sizeof bm);   /* garbage the scan must overwrite */
            size_t got = k < n ? vmig_ram_scan_zero_with(im[k]->is_zero, mem, NP, ps, bm)
                               : vmig_ram_scan_zero(mem, NP, ps, bm);
            assert_int_equal(got, nzero);
            for (size_t i = 0; i < NP; i++)
                if (bit(bm, i) != expect[i])
                    fail_msg("page size %zu impl %zu: page %zu bit %d", ps, k, i, bit(bm, i));
            uint64_t above = ~((UINT64_C(1) << (NP % 64)) - 1);
            assert_int_equal(bm[NP / 64] & above, UINT64_C(0xa5a5a5a5a5a5a5a5) & above);
        }
        /* Empty scans write nothing. */
        uint64_t one = 0x1234;
        assert_int_equal(vmig_ram_scan_zero(mem, 0, ps, &one), 0);
        assert_int_equal(one, 0x1234);
        free(mem);
    }
}

int main(void)
{
    vt_test_setup(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_page_aligned),
        cmocka_unit_test(test_unaligned_and_lengths),
        cmocka_unit_test(test_implementations_agree),
        cmocka_unit_test(test_scan_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
