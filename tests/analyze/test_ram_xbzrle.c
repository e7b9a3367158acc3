/* test_ram_xbzrle.c — XBZRLE page records patch the page's previous contents
 * (spec/xbzrle.md examples), and invalid encodings are rejected with the
 * offset of the bad record. */
#include "an_test.h"

/* START ram with one 4-page block "mem", pages 0,1,3 zero and page 2 all 0x11. */
static void stream_start(bb_t *b)
{
    bb_ram_mem(b, 4);
    bb_be64(b, PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(b, 0);
    bb_be64(b, 2 * PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(b, 0x11);
    bb_be64(b, 3 * PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(b, 0);
    bb_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(b, 2);
    bb_u8(b, VMIG_VM_SECTION_PART);
    bb_be32(b, 2);
}

static void stream_end(bb_t *b)
{
    bb_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(b, 2);
    bb_u8(b, VMIG_VM_EOF);
}

static void test_decode(void **state)
{
    (void)state;
    static const uint8_t ex1[] = {0x10, 0x04, 0x01, 0x02, 0x03, 0x04};
    static const uint8_t ex2[] = {0x00, 0x03, 0xde, 0xad, 0xbe, 0xfd, 0x07, 0x02, 0xaa, 0xbb};
    static const uint8_t ex4[] = {0x81, 0x01, 0x01, 0x22};
    static const uint8_t ex3[] = {0xff, 0x1f, 0x01, 0x5a};
    static const uint8_t again[] = {0x00, 0x01, 0xff};
    bb_t b = {0};
    stream_start(&b);
    bb_xbzrle(&b, 0, ex1, sizeof(ex1));
    bb_xbzrle(&b, PS, ex2, sizeof(ex2));
    bb_xbzrle(&b, 2 * PS, ex4, sizeof(ex4));
    bb_xbzrle(&b, 3 * PS, ex3, sizeof(ex3));
    bb_xbzrle(&b, 0, again, sizeof(again)); /* patches the result of ex1 */
    stream_end(&b);

    mem_sink_t m = {0};
    vmig_analyze_opts_t o = {.ram_ops = mem_sink_ops(), .ram_opaque = &m};
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, &o, &res), 0);
    assert_int_equal(res.pages.xbzrle, 5);
    assert_int_equal(jpath_int(res.report, "ram.pages.xbzrle"), 5);

    uint8_t want[4 * PS];
    memset(want, 0, sizeof(want));
    want[0] = 0xff;
    memcpy(want + 0x10, "\x01\x02\x03\x04", 4);
    memcpy(want + PS, "\xde\xad\xbe", 3);
    memcpy(want + PS + 0x400, "\xaa\xbb", 2);
    memset(want + 2 * PS, 0x11, PS);
    want[2 * PS + 0x81] = 0x22;
    want[3 * PS + 0xfff] = 0x5a;
    assert_memory_equal(m.ram[0], want, sizeof(want));
    vmig_analyze_result_release(&res);
    mem_sink_free(&m);
    bb_free(&b);
}

/* One bad record after a good prefix: fails, and the offset points into it. */
static void check_bad(const uint8_t *rec, size_t len, bool raw)
{
    bb_t b = {0};
    stream_start(&b);
    size_t at = b.len;
    if (raw)
        bb_bytes(&b, rec, len);
    else
        bb_xbzrle(&b, 0, rec, (uint16_t)len);
    stream_end(&b);
    vmig_analyze_result_t res;
    assert_true(an_run(b.p, b.len, NULL, &res) < 0);
    assert_true(res.err.code < 0);
    assert_true(res.err.msg[0]);
    assert_in_range(res.error_offset, at, at + 8 + 3 + len);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

static void test_rejects(void **state)
{
    (void)state;
    static const uint8_t zero_zrun[] = {0x10, 0x01, 0x55, 0x00, 0x01, 0x66}; /* 2nd zrun 0 */
    static const uint8_t past_end[] = {0xff, 0x1f, 0x02, 0x5a, 0x5b};       /* leaves the page */
    static const uint8_t three_byte[] = {0x80, 0x80, 0x01, 0x01, 0x00};     /* varint > 2 bytes */
    static const uint8_t no_data[] = {0x10, 0x04, 0x01};                    /* nzrun overruns */
    static const uint8_t nzrun0[] = {0x10, 0x00};                           /* empty change */
    check_bad(zero_zrun, sizeof(zero_zrun), false);
    check_bad(past_end, sizeof(past_end), false);
    check_bad(three_byte, sizeof(three_byte), false);
    check_bad(no_data, sizeof(no_data), false);
    check_bad(nzrun0, sizeof(nzrun0), false);
    /* Wrong encoding byte, and a length over one page. */
    static const uint8_t bad_enc[] = {0, 0, 0, 0, 0, 0, 0, 0x60, 0x02, 0x00, 0x01, 0x00};
    static const uint8_t too_long[] = {0, 0, 0, 0, 0, 0, 0, 0x60, 0x01, 0x10, 0x01};
    check_bad(bad_enc, sizeof(bad_enc), true);
    check_bad(too_long, sizeof(too_long), true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decode),
                                       cmocka_unit_test(test_rejects)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
