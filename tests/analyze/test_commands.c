/* test_commands.c — in-band commands are listed with their offset, number,
 * name and length; a PACKAGED sub-stream is read inline; a command with a bad
 * length or an unknown number is an error at the command's offset. */
#include "an_test.h"

static void cmd(bb_t *b, uint16_t c, const void *data, uint16_t len)
{
    bb_u8(b, VMIG_VM_COMMAND);
    bb_be16(b, c);
    bb_be16(b, len);
    bb_bytes(b, data, len);
}

static void test_listed(void **state)
{
    (void)state;
    bb_t b = {0};
    bb_header(&b);
    cmd(&b, VMIG_CMD_OPEN_RETURN_PATH, NULL, 0);
    cmd(&b, VMIG_CMD_PING, "\x00\x00\x00\x01", 4);
    cmd(&b, VMIG_CMD_POSTCOPY_ADVISE,
        "\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x10\x00", 16);
    cmd(&b, VMIG_CMD_POSTCOPY_RAM_DISCARD,
        "\x00\x03mem\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00", 21);
    /* A package: LISTEN, one device section, RUN, then bytes QEMU ignores. */
    bb_t p = {0};
    cmd(&p, VMIG_CMD_POSTCOPY_LISTEN, NULL, 0);
    bb_section(&p, VMIG_VM_SECTION_FULL, 4, "dev", 0, 1);
    bb_u8(&p, 0x42);
    bb_footer(&p, 4);
    cmd(&p, VMIG_CMD_POSTCOPY_RUN, NULL, 0);
    bb_bytes(&p, "junk", 4);
    uint8_t l[4] = {0, 0, 0, (uint8_t)p.len};
    cmd(&b, VMIG_CMD_PACKAGED, l, 4);
    bb_bytes(&b, p.p, p.len);
    bb_u8(&b, VMIG_VM_EOF);

    vmig_analyze_result_t res;
    int r = an_run(b.p, b.len, NULL, &res);
    if (r)
        fail_msg("%s", res.err.msg);
    const json_t *c = jpath(res.report, "commands");
    assert_int_equal(json_array_size(c), 7);
    assert_int_equal(jpath_int(res.report, "commands.#0.offset"), 17);
    assert_string_equal(jpath_str(res.report, "commands.#0.name"), "OPEN_RETURN_PATH");
    assert_int_equal(jpath_int(res.report, "commands.#1.cmd"), VMIG_CMD_PING);
    assert_int_equal(jpath_int(res.report, "commands.#1.value"), 1);
    assert_int_equal(jpath_int(res.report, "commands.#2.len"), 16);
    assert_string_equal(jpath_str(res.report, "commands.#3.block"), "mem");
    assert_string_equal(jpath_str(res.report, "commands.#4.name"), "PACKAGED");
    assert_int_equal(jpath_int(res.report, "commands.#4.length"), p.len);
    assert_string_equal(jpath_str(res.report, "commands.#6.name"), "POSTCOPY_RUN");
    assert_string_equal(jpath_str(res.report, "sections.#0.name"), "dev");
    vmig_analyze_result_release(&res);
    bb_free(&p);
    bb_free(&b);
}

static void expect_bad(uint16_t c, const void *data, uint16_t len, int code)
{
    bb_t b = {0};
    bb_header(&b);
    cmd(&b, c, data, len);
    bb_u8(&b, VMIG_VM_EOF);
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, NULL, &res), code);
    assert_int_equal(res.error_offset, 17);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

static void test_rejected(void **state)
{
    (void)state;
    expect_bad(VMIG_CMD_PING, "\x00\x00\x01", 3, -ERANGE);
    expect_bad(VMIG_CMD_OPEN_RETURN_PATH, "x", 1, -ERANGE);
    expect_bad(VMIG_CMD_POSTCOPY_ADVISE, "12345678", 8, -ERANGE);
    expect_bad(VMIG_CMD_POSTCOPY_RAM_DISCARD, "\x00\x09mem", 5, -ERANGE);
    expect_bad(VMIG_CMD_POSTCOPY_RAM_DISCARD, "\x01\x00", 2, -EINVAL);
    expect_bad(VMIG_CMD_RECV_BITMAP, "\x05mem", 4, -ERANGE);
    expect_bad(VMIG_CMD_PACKAGED, "\x01\x00\x00\x01", 4, -EMSGSIZE);
    expect_bad(VMIG_CMD_MAX, NULL, 0, -EINVAL);
    expect_bad(VMIG_CMD_INVALID, NULL, 0, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_listed),
                                       cmocka_unit_test(test_rejected)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
