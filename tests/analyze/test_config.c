/* test_config.c — the configuration section: machine name, subsections
 * (capabilities, uuid, target-page-bits) that change how RAM is read
 * (x-ignore-shared adds each block's address, page bits the page size), an
 * unknown subsection is an error, and an absent configuration is null. */
#include "an_test.h"

static void config_head(bb_t *b, const char *machine)
{
    bb_be32(b, VMIG_VM_FILE_MAGIC);
    bb_be32(b, VMIG_VM_FILE_VERSION);
    bb_u8(b, VMIG_VM_CONFIGURATION);
    bb_be32(b, (uint32_t)strlen(machine));
    bb_bytes(b, machine, strlen(machine));
}

static void sub(bb_t *b, const char *name)
{
    bb_u8(b, VMIG_VM_SUBSECTION);
    bb_str(b, name);
    bb_be32(b, 1);
}

/* RAM with one block of 2 pages of size ps, the second page sent. */
static void ram(bb_t *b, uint32_t ps, bool with_addr)
{
    bb_section(b, VMIG_VM_SECTION_START, 2, "ram", 0, 4);
    bb_be64(b, 2ull * ps | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    bb_str(b, "mem");
    bb_be64(b, 2ull * ps);
    if (with_addr)
        bb_be64(b, 0x100000);
    bb_be64(b, (uint64_t)ps | VMIG_RAM_SAVE_FLAG_PAGE);
    bb_str(b, "mem");
    for (uint32_t i = 0; i < ps; i++)
        bb_u8(b, 0xab);
    bb_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(b, 2);
    bb_u8(b, VMIG_VM_EOF);
}

static void test_subsections(void **state)
{
    (void)state;
    bb_t b = {0};
    config_head(&b, "pc-i440fx-7.2");
    sub(&b, "configuration/target-page-bits");
    bb_be32(&b, 13);
    sub(&b, "configuration/capabilities");
    bb_be32(&b, 2);
    bb_str(&b, "x-ignore-shared");
    bb_str(&b, "validate-uuid");
    sub(&b, "configuration/uuid");
    bb_bytes(&b, "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef", 16);
    ram(&b, 8192, true);

    mem_sink_t m = {0};
    vmig_analyze_opts_t o = {.ram_ops = mem_sink_ops(), .ram_opaque = &m};
    vmig_analyze_result_t res;
    int r = an_run(b.p, b.len, &o, &res);
    if (r)
        fail_msg("%s at %llu", res.err.msg, (unsigned long long)res.error_offset);
    const json_t *rep = res.report;
    assert_string_equal(jpath_str(rep, "configuration.machine"), "pc-i440fx-7.2");
    assert_int_equal(jpath_int(rep, "configuration.target_page_bits"), 13);
    assert_string_equal(jpath_str(rep, "configuration.capabilities.#0"), "x-ignore-shared");
    assert_string_equal(jpath_str(rep, "configuration.uuid"),
                        "12345678-9abc-def0-0123-456789abcdef");
    assert_int_equal(jpath_int(rep, "ram.page_size"), 8192);
    assert_int_equal(jpath_int(rep, "ram.blocks.#0.addr"), 0x100000);
    assert_int_equal(res.pages.normal, 1);
    assert_int_equal(m.ram[0][8191], 0);
    assert_int_equal(m.ram[0][8192], 0xab);
    vmig_analyze_result_release(&res);
    mem_sink_free(&m);
    bb_free(&b);
}

static void test_unknown_sub(void **state)
{
    (void)state;
    bb_t b = {0};
    config_head(&b, "none");
    size_t at = b.len;
    sub(&b, "configuration/shiny");
    ram(&b, 4096, false);
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, NULL, &res), -ENOENT);
    assert_int_equal(res.error_offset, at);
    vmig_analyze_result_release(&res);
    bb_free(&b);

    /* Page bits out of range. */
    config_head(&b, "none");
    sub(&b, "configuration/target-page-bits");
    bb_be32(&b, 40);
    ram(&b, 4096, false);
    assert_int_equal(an_run(b.p, b.len, NULL, &res), -ERANGE);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

static void test_absent(void **state)
{
    (void)state;
    bb_t b = {0};
    bb_be32(&b, VMIG_VM_FILE_MAGIC);
    bb_be32(&b, VMIG_VM_FILE_VERSION);
    ram(&b, 4096, false);
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, NULL, &res), 0);
    assert_true(json_is_null(jpath(res.report, "configuration")));
    assert_int_equal(res.pages.normal, 1);
    vmig_analyze_result_release(&res);
    bb_free(&b);

    /* A machine name longer than any real one is refused before it is read. */
    bb_be32(&b, VMIG_VM_FILE_MAGIC);
    bb_be32(&b, VMIG_VM_FILE_VERSION);
    bb_u8(&b, VMIG_VM_CONFIGURATION);
    bb_be32(&b, 0x7fffffff);
    assert_int_equal(an_run(b.p, b.len, NULL, &res), -ERANGE);
    assert_int_equal(res.error_offset, 9);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_subsections),
                                       cmocka_unit_test(test_unknown_sub),
                                       cmocka_unit_test(test_absent)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
