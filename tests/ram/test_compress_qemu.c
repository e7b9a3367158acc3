/* test_compress_qemu.c — vmig's compressor gives byte for byte the COMPRESS_PAGE
 * records a real QEMU 7.2 sent for the same pages at levels 0, 1, 6 and 9,
 * and its decompressor loads them (fixtures/gen_compress_fixture.py). */
#include "vmig_test.h"

#include "ram/ram_compress.h"

#define PAGE 4096
#define NPAGES 7

/* The fixture directory, from this file's path (CMake compiles with
 * absolute source paths). */
static uint8_t *load_fixture(const char *name, size_t *len)
{
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/fixtures/%s", dirlen, slash ? __FILE__ : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s", path);
    static uint8_t tmp[65536];
    size_t n = fread(tmp, 1, sizeof tmp, f);
    fclose(f);
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, tmp, n);
    *len = n;
    return p;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_same_bytes_as_qemu(void **state)
{
    size_t plen;
    uint8_t *pages = load_fixture("qemu72-compress-pages.bin", &plen);
    assert_int_equal(plen, (size_t)NPAGES * PAGE);
    static const int levels[] = { 0, 1, 6, 9 };
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        char name[64];
        snprintf(name, sizeof name, "qemu72-compress-l%d.bin", levels[l]);
        size_t rlen;
        uint8_t *rec = load_fixture(name, &rlen);
        size_t off = 0, count = 0, random_seen = 0;
        bool seen[NPAGES] = { false };
        while (off < rlen) {
            assert_true(rlen - off >= 12);
            uint64_t hdr = be64(rec + off);
            /* COMPRESS_PAGE | CONTINUE, always CONTINUE (ram.md §7). */
            assert_int_equal(hdr & 0xfff, 0x120);
            uint64_t pg = hdr >> 12;
            assert_true(pg < NPAGES);
            uint32_t n = be32(rec + off + 8);
            assert_true(n <= VMIG_COMPRESS_BOUND_4K && rlen - off - 12 >= n);
            const uint8_t *qz = rec + off + 12;
            uint8_t z[VMIG_COMPRESS_BOUND_4K];
            ssize_t ours = vmig_compress_page(pages + pg * PAGE, PAGE, levels[l], z, sizeof z);
            vt_assert_bytes(z, ours < 0 ? 0 : (size_t)ours, qz, n);
            uint8_t back[PAGE];
            assert_int_equal(vmig_decompress_page(qz, n, back, PAGE), 0);
            assert_memory_equal(back, pages + pg * PAGE, PAGE);
            if (pg == 6) {
                assert_int_equal(n, 4107); /* the lab's random page */
                random_seen++;
            }
            seen[pg] = true;
            off += 12 + n;
            count++;
        }
        /* Page 0 is the block's first (a normal page), page 2 is zero (a
         * ZERO record): the other five were compressed. */
        assert_int_equal(count, 5);
        assert_int_equal(random_seen, 1);
        assert_false(seen[0]);
        assert_false(seen[2]);
        free(rec);
    }
    free(pages);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_qemu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
