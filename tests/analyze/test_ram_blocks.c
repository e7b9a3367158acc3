/* test_ram_blocks.c — the RAM block list of a START "ram" section is read
 * into the report (names, lengths, total) and every section is listed with
 * its offset, type, id, name, instance, version and size; with postcopy
 * advised for huge pages, a block's page size after its length is read. */
#include "an_test.h"

static void test_block_list(void **state)
{
    (void)state;
    bb_t b = {0};
    bb_header(&b);
    size_t start_off = b.len;
    bb_section(&b, VMIG_VM_SECTION_START, 2, "ram", 0, 4);
    bb_be64(&b, 0x3000 | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    bb_str(&b, "pc.ram");
    bb_be64(&b, 0x2000);
    bb_str(&b, "/rom@etc/x");
    bb_be64(&b, 0x1000);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    size_t end_off = b.len;
    bb_u8(&b, VMIG_VM_SECTION_END);
    bb_be32(&b, 2);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    bb_u8(&b, VMIG_VM_EOF);

    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, NULL, &res), 0);
    const json_t *r = res.report;
    assert_int_equal(jpath_int(r, "header.magic"), VMIG_VM_FILE_MAGIC);
    assert_int_equal(jpath_int(r, "header.version"), 3);
    assert_string_equal(jpath_str(r, "configuration.machine"), "none");
    assert_int_equal(jpath_int(r, "ram.total"), 0x3000);
    assert_int_equal(json_array_size(jpath(r, "ram.blocks")), 2);
    assert_string_equal(jpath_str(r, "ram.blocks.#0.name"), "pc.ram");
    assert_int_equal(jpath_int(r, "ram.blocks.#0.length"), 0x2000);
    assert_string_equal(jpath_str(r, "ram.blocks.#1.name"), "/rom@etc/x");
    assert_int_equal(jpath_int(r, "ram.blocks.#1.length"), 0x1000);

    assert_int_equal(json_array_size(jpath(r, "sections")), 2);
    assert_int_equal(jpath_int(r, "sections.#0.offset"), start_off);
    assert_string_equal(jpath_str(r, "sections.#0.type"), "start");
    assert_int_equal(jpath_int(r, "sections.#0.id"), 2);
    assert_string_equal(jpath_str(r, "sections.#0.name"), "ram");
    assert_int_equal(jpath_int(r, "sections.#0.instance"), 0);
    assert_int_equal(jpath_int(r, "sections.#0.version"), 4);
    assert_int_equal(jpath_int(r, "sections.#0.size"), end_off - start_off);
    assert_int_equal(jpath_int(r, "sections.#1.offset"), end_off);
    assert_string_equal(jpath_str(r, "sections.#1.type"), "end");
    assert_string_equal(jpath_str(r, "sections.#1.name"), "ram");
    assert_int_equal(jpath_int(r, "sections.#1.size"), 1 + 4 + 8 + 5);
    assert_int_equal(jpath_int(r, "ram.pages.normal") + jpath_int(r, "ram.pages.zero"), 0);
    assert_true(json_is_false(jpath(r, "vmdesc")));
    assert_int_equal(res.sections, 2);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

static void test_huge_page_sizes(void **state)
{
    (void)state;
    bb_t b = {0};
    bb_header(&b);
    bb_u8(&b, VMIG_VM_COMMAND); /* POSTCOPY_ADVISE: summary 4 KiB | 2 MiB, target 4 KiB */
    bb_be16(&b, VMIG_CMD_POSTCOPY_ADVISE);
    bb_be16(&b, 16);
    bb_be64(&b, 0x201000);
    bb_be64(&b, 0x1000);
    bb_section(&b, VMIG_VM_SECTION_START, 2, "ram", 0, 4);
    bb_be64(&b, 0x401000 | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    bb_str(&b, "huge");
    bb_be64(&b, 0x400000);
    bb_be64(&b, 0x200000); /* its page size */
    bb_str(&b, "small");
    bb_be64(&b, 0x1000);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    bb_u8(&b, VMIG_VM_EOF);
    vmig_analyze_result_t res;
    int r = an_run(b.p, b.len, NULL, &res);
    if (r)
        fail_msg("%s", res.err.msg);
    assert_int_equal(jpath_int(res.report, "ram.blocks.#0.page_size"), 0x200000);
    assert_null(jpath(res.report, "ram.blocks.#1.page_size"));
    assert_string_equal(jpath_str(res.report, "ram.blocks.#1.name"), "small");
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_block_list),
                                       cmocka_unit_test(test_huge_page_sizes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
