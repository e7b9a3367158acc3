/* test_device_vmdesc.c — a device (FULL) section is decoded field by field
 * from a vmdesc description: scalars, arrays (array_len and index), structs
 * with their subsections, tmp, buffers, nullptr and the device's own
 * subsections; a legacy section is skipped by its size, and a section the
 * vmdesc does not describe is skipped up to its footer. */
#include "an_test.h"

static const char vmdesc_json[] =
    "{\"page_size\": 4096, \"devices\": ["
    "{\"name\": \"mydev\", \"instance_id\": 0, \"vmsd_name\": \"mydev\", \"version\": 2,"
    " \"fields\": ["
    "  {\"name\": \"a\", \"type\": \"uint8\", \"size\": 1},"
    "  {\"name\": \"b\", \"type\": \"uint16\", \"size\": 2},"
    "  {\"name\": \"cnt\", \"type\": \"uint32\", \"size\": 4},"
    "  {\"name\": \"data\", \"array_len\": 2, \"type\": \"uint16\", \"size\": 2},"
    "  {\"name\": \"st\", \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"inner\","
    "   \"version\": 1, \"fields\": [{\"name\": \"x\", \"type\": \"uint32\", \"size\": 4}],"
    "   \"subsections\": [{\"vmsd_name\": \"inner/sub\", \"version\": 1,"
    "   \"fields\": [{\"name\": \"y\", \"type\": \"uint8\", \"size\": 1}]}]}, \"size\": 20},"
    "  {\"name\": \"el\", \"index\": 0, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"e\","
    "   \"version\": 1, \"fields\": [{\"name\": \"v\", \"type\": \"int8\", \"size\": 1}]},"
    "   \"size\": 1},"
    "  {\"name\": \"el\", \"index\": 1, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"e\","
    "   \"version\": 1, \"fields\": [{\"name\": \"v\", \"type\": \"int8\", \"size\": 1}]},"
    "   \"size\": 1},"
    "  {\"name\": \"tmpf\", \"type\": \"tmp\", \"vmsd_name\": \"t\", \"version\": 0,"
    "   \"fields\": [{\"name\": \"z\", \"type\": \"int16\", \"size\": 2}], \"size\": 2},"
    "  {\"name\": \"buf\", \"type\": \"buffer\", \"size\": 3},"
    "  {\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 2},"
    "  {\"name\": \"np\", \"type\": \"nullptr\", \"size\": 1},"
    "  {\"name\": \"u64\", \"type\": \"uint64\", \"size\": 8},"
    "  {\"name\": \"i8\", \"type\": \"int8\", \"size\": 1},"
    "  {\"name\": \"odd\", \"type\": \"pci irq state\", \"size\": 2}],"
    " \"subsections\": [{\"vmsd_name\": \"mydev/extra\", \"version\": 1, \"fields\": ["
    "  {\"name\": \"flag\", \"type\": \"bool\", \"size\": 1},"
    "  {\"name\": \"t\", \"type\": \"timer\", \"size\": 8}]}]},"
    "{\"name\": \"slirp\", \"instance_id\": 0, \"size\": 3,"
    " \"fields\": [{\"name\": \"data\", \"size\": 3, \"type\": \"buffer\"}]}]}";

static const char expect_json[] =
    "{\"a\": 17, \"b\": 8755, \"cnt\": 2, \"data\": [258, 772],"
    " \"st\": {\"x\": 7, \"inner/sub\": {\"y\": 9}}, \"el\": [{\"v\": 1}, {\"v\": -2}],"
    " \"tmpf\": {\"z\": -3}, \"buf\": \"616263\", \"unused\": \"0000\", \"np\": null,"
    " \"u64\": \"0xffffffffffffffff\", \"i8\": -1, \"odd\": \"abcd\","
    " \"mydev/extra\": {\"flag\": true, \"t\": -1}}";

static void build(bb_t *b)
{
    bb_header(b);
    bb_section(b, VMIG_VM_SECTION_FULL, 5, "mydev", 0, 2);
    bb_u8(b, 0x11);
    bb_be16(b, 0x2233);
    bb_be32(b, 2);
    bb_be16(b, 0x0102);
    bb_be16(b, 0x0304);
    bb_be32(b, 7);                   /* st.x */
    bb_u8(b, VMIG_VM_SUBSECTION);    /* st's subsection */
    bb_str(b, "inner/sub");
    bb_be32(b, 1);
    bb_u8(b, 9);
    bb_u8(b, 1);                     /* el[0].v */
    bb_u8(b, 0xfe);                  /* el[1].v */
    bb_be16(b, 0xfffd);              /* tmpf.z */
    bb_bytes(b, "abc", 3);
    bb_be16(b, 0);
    bb_u8(b, '0');                   /* nullptr */
    bb_be64(b, UINT64_MAX);
    bb_u8(b, 0xff);
    bb_be16(b, 0xabcd);
    bb_u8(b, VMIG_VM_SUBSECTION);
    bb_str(b, "mydev/extra");
    bb_be32(b, 1);
    bb_u8(b, 1);
    bb_be64(b, UINT64_MAX);
    bb_footer(b, 5);
    bb_section(b, VMIG_VM_SECTION_FULL, 6, "slirp", 0, 4);
    bb_bytes(b, "\x7e\x00\x00", 3); /* legacy data, skipped by size */
    bb_footer(b, 6);
    bb_section(b, VMIG_VM_SECTION_FULL, 7, "nodesc", 0, 1);
    bb_bytes(b, "\x7e\x00\x00\x00\x07\x42", 6); /* a false footer: not followed by a record */
    bb_footer(b, 7);
    bb_u8(b, VMIG_VM_EOF);
    bb_u8(b, VMIG_VM_VMDESCRIPTION);
    bb_be32(b, (uint32_t)strlen(vmdesc_json));
    bb_bytes(b, vmdesc_json, strlen(vmdesc_json));
}

static void test_decode(void **state)
{
    (void)state;
    bb_t b = {0};
    build(&b);
    json_t *vmdesc = NULL;
    uint64_t at = 0;
    assert_int_equal(vmig_analyze_find_vmdesc(b.p, b.len, &vmdesc, &at), 0);
    assert_int_equal(at, b.len - strlen(vmdesc_json) - 5);

    vmig_analyze_opts_t o = {.vmdesc = vmdesc};
    vmig_analyze_result_t res;
    int r = an_run(b.p, b.len, &o, &res);
    if (r)
        fail_msg("%s at %llu", res.err.msg, (unsigned long long)res.error_offset);
    assert_int_equal(res.devices, 3);
    assert_int_equal(res.devices_decoded, 1);
    assert_true(res.vmdesc_found);

    json_t *want = json_loads(expect_json, 0, NULL);
    assert_non_null(want);
    const json_t *got = jpath(res.report, "devices.#0.fields");
    if (!json_equal(want, (json_t *)got)) {
        char *txt = json_dumps(got, JSON_PRESERVE_ORDER);
        fail_msg("decoded fields differ: %s", txt);
    }
    assert_string_equal(jpath_str(res.report, "devices.#0.name"), "mydev");
    assert_int_equal(jpath_int(res.report, "devices.#0.version"), 2);
    assert_true(json_is_null(jpath(res.report, "devices.#1.fields")));
    assert_true(json_is_null(jpath(res.report, "devices.#2.fields")));
    assert_string_equal(jpath_str(res.report, "sections.#2.name"), "nodesc");
    assert_int_equal(jpath_int(res.report, "sections.#2.size"), 1 + 4 + 7 + 8 + 6 + 5);
    assert_true(json_is_true(jpath(res.report, "vmdesc")));
    json_decref(want);
    vmig_analyze_result_release(&res);

    /* A description that does not match the bytes is an error, not a guess. */
    json_t *bad = json_deep_copy(vmdesc);
    json_t *f0 = json_array_get(json_object_get(json_array_get(json_object_get(bad, "devices"), 0),
                                                "fields"),
                                0);
    json_object_set_new(f0, "size", json_integer(2));
    o.vmdesc = bad;
    assert_true(an_run(b.p, b.len, &o, &res) < 0);
    assert_true(res.err.msg[0]);
    vmig_analyze_result_release(&res);
    json_decref(bad);
    json_decref(vmdesc);
    bb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_decode)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
