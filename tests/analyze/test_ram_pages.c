/* test_ram_pages.c — zero, normal and compressed page records reach the RAM
 * sink with the right contents (fill, copy, zlib inflate), CONTINUE carries
 * the block across sections, and each kind is counted. */
#include "an_test.h"

#include <zlib.h>

static void test_page_kinds(void **state)
{
    (void)state;
    uint8_t pat[PS], pat2[PS];
    for (unsigned i = 0; i < PS; i++) {
        pat[i] = (uint8_t)(i * 7 + 3);
        pat2[i] = (uint8_t)(i / 16);
    }
    uint8_t z[PS + 64];
    uLongf zlen = sizeof(z);
    assert_int_equal(compress2(z, &zlen, pat2, PS, 1), Z_OK);

    bb_t b = {0};
    bb_ram_mem(&b, 4);
    bb_be64(&b, PS | VMIG_RAM_SAVE_FLAG_PAGE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_bytes(&b, pat, PS);
    bb_be64(&b, 2 * PS | VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_be32(&b, (uint32_t)zlen);
    bb_bytes(&b, z, zlen);
    bb_be64(&b, 3 * PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(&b, 0x5a);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    /* A later round: page 0 now holds data, page 1 is zero again. */
    bb_u8(&b, VMIG_VM_SECTION_PART);
    bb_be32(&b, 2);
    bb_be64(&b, 0 | VMIG_RAM_SAVE_FLAG_PAGE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_bytes(&b, pat2, PS);
    bb_be64(&b, PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(&b, 0);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    bb_u8(&b, VMIG_VM_EOF);

    mem_sink_t m = {0};
    vmig_analyze_opts_t o = {.ram_ops = mem_sink_ops(), .ram_opaque = &m};
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, &o, &res), 0);
    assert_int_equal(res.pages.zero, 3);
    assert_int_equal(res.pages.normal, 2);
    assert_int_equal(res.pages.compressed, 1);
    assert_int_equal(res.pages.xbzrle, 0);
    assert_int_equal(jpath_int(res.report, "ram.pages.zero"), 3);
    assert_int_equal(jpath_int(res.report, "ram.pages.compressed"), 1);

    assert_int_equal(m.n, 1);
    assert_string_equal(m.names[0], "mem");
    assert_memory_equal(m.ram[0], pat2, PS);
    for (unsigned i = 0; i < PS; i++)
        assert_int_equal(m.ram[0][PS + i], 0);
    assert_memory_equal(m.ram[0] + 2 * PS, pat2, PS);
    for (unsigned i = 0; i < PS; i++)
        assert_int_equal(m.ram[0][3 * PS + i], 0x5a);

    vmig_analyze_result_release(&res);
    mem_sink_free(&m);
    bb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_page_kinds)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
