/* test_broken.c — broken streams are rejected with a message and the byte
 * offset of the offending item (bad magic, version, record type, page offset,
 * footer, unknown section id), and every prefix of a good stream is rejected
 * cleanly, except the one that ends right after the EOF marker (a stream
 * without its optional vmdesc trailer). */
#include "an_test.h"

/* A small good stream; *eof_end gets the length up to and including EOF. */
static void good_stream(bb_t *b, size_t *eof_end)
{
    bb_ram_mem(b, 2);
    bb_be64(b, PS | VMIG_RAM_SAVE_FLAG_PAGE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    for (unsigned i = 0; i < PS; i++)
        bb_u8(b, (uint8_t)i);
    bb_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(b, 2);
    bb_section(b, VMIG_VM_SECTION_FULL, 0, "timer", 0, 2);
    bb_be64(b, 1);
    bb_be64(b, 0);
    bb_be64(b, 2);
    bb_footer(b, 0);
    bb_u8(b, VMIG_VM_EOF);
    *eof_end = b->len;
    static const char js[] = "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", "
                             "\"instance_id\": 0, \"vmsd_name\": \"timer\", \"version\": 2, "
                             "\"fields\": [{\"name\": \"a\", \"type\": \"int64\", \"size\": 8}, "
                             "{\"name\": \"u\", \"type\": \"unused_buffer\", \"size\": 8}, "
                             "{\"name\": \"b\", \"type\": \"int64\", \"size\": 8}]}]}";
    bb_u8(b, VMIG_VM_VMDESCRIPTION);
    bb_be32(b, sizeof(js) - 1);
    bb_bytes(b, js, sizeof(js) - 1);
}

/* Analyze like the tool does: the vmdesc from the tail, then the stream. */
static int analyze(const uint8_t *p, size_t len, vmig_analyze_result_t *res)
{
    json_t *vd = NULL;
    vmig_analyze_find_vmdesc(p, len, &vd, NULL);
    vmig_analyze_opts_t o = {.vmdesc = vd};
    int r = an_run(p, len, &o, res);
    json_decref(vd);
    return r;
}

static void test_every_prefix(void **state)
{
    (void)state;
    bb_t b = {0};
    size_t eof_end;
    good_stream(&b, &eof_end);
    vmig_analyze_result_t res;
    assert_int_equal(analyze(b.p, b.len, &res), 0);
    assert_int_equal(res.devices_decoded, 1);
    vmig_analyze_result_release(&res);
    for (size_t len = 0; len < b.len; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
        memcpy(copy, b.p, len);
        int r = analyze(copy, len, &res);
        if (len == eof_end) {
            assert_int_equal(r, 0);
            assert_false(res.vmdesc_found);
        } else {
            if (r >= 0)
                fail_msg("prefix of %zu bytes accepted", len);
            assert_int_equal(r, res.err.code);
            assert_true(res.err.msg[0]);
            assert_true(res.error_offset <= len);
        }
        vmig_analyze_result_release(&res);
        free(copy);
    }
    bb_free(&b);
}

/* Patch byte(s) at off of the good stream, expect an error about offset want. */
static void check_patch(size_t off, const void *bytes, size_t n, uint64_t want, int code)
{
    bb_t b = {0};
    size_t eof_end;
    good_stream(&b, &eof_end);
    memcpy(b.p + off, bytes, n);
    vmig_analyze_result_t res;
    int r = analyze(b.p, b.len, &res);
    if (r >= 0)
        fail_msg("patch at %zu accepted", off);
    if (res.error_offset != want || (code && r != code))
        fail_msg("patch at %zu: %s (%d) at %llu, expected offset %llu", off, res.err.msg, r,
                 (unsigned long long)res.error_offset, (unsigned long long)want);
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

static void test_offsets(void **state)
{
    (void)state;
    const size_t start = 17;            /* header 8 + configuration 9 */
    const size_t body = start + 17;     /* START ram header */
    const size_t page0 = body + 8 + 12; /* after MEM_SIZE and the block entry */
    check_patch(0, "QEVX", 4, 0, -EINVAL);
    check_patch(4, "\x00\x00\x00\x02", 4, 4, -ENOTSUP);
    check_patch(start, "\x09", 1, start, -EINVAL);                 /* unknown type */
    check_patch(page0 + 6, "\x20", 1, page0, -ERANGE);             /* page at 0x2000: outside */
    check_patch(page0 + 7, "\x03", 1, page0, -EINVAL);             /* flags FULL|ZERO */
    check_patch(page0 + 8, "\x03" "abc", 4, page0, -EINVAL);       /* unknown block */
    size_t footer = page0 + 13 + 8 + PS + 8;
    check_patch(footer, "\x7f", 1, footer, -EINVAL);               /* missing footer */
    check_patch(start + 1, "\x00\x00\x00\x09", 4, footer, -EINVAL); /* footer id mismatch */
}

static void test_unknown_part(void **state)
{
    (void)state;
    bb_t b = {0};
    bb_header(&b);
    bb_u8(&b, VMIG_VM_SECTION_PART);
    bb_be32(&b, 3);
    vmig_analyze_result_t res;
    assert_int_equal(an_run(b.p, b.len, NULL, &res), -EINVAL);
    assert_int_equal(res.error_offset, 17);
    assert_non_null(strstr(res.err.msg, "unknown section id 3"));
    vmig_analyze_result_release(&res);
    bb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_prefix),
                                       cmocka_unit_test(test_offsets),
                                       cmocka_unit_test(test_unknown_part)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
