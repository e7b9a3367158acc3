/* test_sections.c — START / PART / END / FULL framing with footers, EOF and
 * the vmdesc trailer of a legacy device, byte for byte (stream.md §4, §5, §7). */
#include "savevm_test.h"

static int put_aa(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_u8(s, 0xaa);
    return 0;
}

static int put_bb_done(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_u8(s, 0xbb);
    return 1;
}

static int put_cc(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_u8(s, 0xcc);
    return 0;
}

static int put_slirp(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_buffer(s, "\x01\x02\x03", 3);
    return 0;
}

static const vmig_savevm_ops_t ram_ops = {
    .save_setup = put_aa, .save_iterate = put_bb_done, .save_complete = put_cc,
};
static const vmig_savevm_ops_t legacy_ops = {.save_state = put_slirp};
static const vmig_savevm_ops_t nothing_ops = {0};

/* timer-like placeholders take ids 0 and 1, so ram gets 2 as in QEMU. */
static vmig_savevm_t *make(bool footers)
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.send_section_footer = footers;
    vmig_savevm_t *sv = svt_new(&cfg);
    assert_int_equal(vmig_savevm_register_handler(sv, "p0", 0, 1, 0, &nothing_ops, NULL), 0);
    assert_int_equal(vmig_savevm_register_handler(sv, "p1", 0, 1, 0, &nothing_ops, NULL), 1);
    assert_int_equal(vmig_savevm_register_handler(sv, "ram", 0, 4, 0, &ram_ops, NULL), 2);
    assert_int_equal(vmig_savevm_register_handler(sv, "slirp", 0, 4, 0, &legacy_ops, NULL), 3);
    return sv;
}

/* Setup, one iterate round (which finishes ram), the precopy completion. */
static vmig_stream_t *save_phases(vmig_savevm_t *sv)
{
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(sv, w), 0);
    assert_int_equal(vmig_savevm_iterate(sv, w, false), 1);
    assert_int_equal(vmig_savevm_complete_precopy(sv, w), 0);
    return w;
}

static void test_phases_with_footers(void **state)
{
    vmig_savevm_t *sv = make(true);
    vmig_stream_t *w = save_phases(sv);
    const char *json = "{\"page_size\": 4096, \"devices\": [{\"name\": \"slirp\", \"instance_id\": 0, "
                       "\"size\": 3, \"fields\": [{\"name\": \"data\", \"size\": 3, \"type\": "
                       "\"buffer\"}]}]}";
    char hex[2048];
    int n = snprintf(hex, sizeof(hex),
                     /* START id=2 "ram" instance 0 version 4, body, footer */
                     "01 00000002 03 72616d 00000000 00000004 aa 7e 00000002"
                     /* PART */
                     "02 00000002 bb 7e 00000002"
                     /* END */
                     "03 00000002 cc 7e 00000002"
                     /* FULL id=3 "slirp" instance 0 version 4 */
                     "04 00000003 05 736c697270 00000000 00000004 010203 7e 00000003"
                     /* EOF, then the vmdesc trailer */
                     "00");
    svt_hex_vmdesc(hex, sizeof(hex), n, json);
    svt_assert_written(w, hex);
    vmig_stream_free(w);
    vmig_savevm_free(sv);
}

static void test_phases_without_footers(void **state)
{
    vmig_savevm_t *sv = make(false);
    vmig_savevm_config_t cfg = *vmig_savevm_config(sv);
    cfg.suppress_vmdesc = true;
    assert_int_equal(vmig_savevm_set_config(sv, &cfg), 0);
    vmig_stream_t *w = save_phases(sv);
    svt_assert_written(w, "01 00000002 03 72616d 00000000 00000004 aa"
                          "02 00000002 bb"
                          "03 00000002 cc"
                          "04 00000003 05 736c697270 00000000 00000004 010203"
                          "00");
    vmig_stream_free(w);
    vmig_savevm_free(sv);
}

static void test_postcopy_completion(void **state)
{
    vmig_savevm_t *sv = make(true);
    vmig_stream_t *w = vt_mem_writer();
    /* ram has no has_postcopy hook: its END goes out with the precopy part,
     * and the postcopy completion only adds EOF. */
    assert_int_equal(vmig_savevm_complete_iterable(sv, w, true), 0);
    assert_int_equal(vmig_savevm_complete_postcopy(sv, w), 0);
    svt_assert_written(w, "03 00000002 cc 7e 00000002 00");
    vmig_stream_free(w);
    vmig_savevm_free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phases_with_footers),
        cmocka_unit_test(test_phases_without_footers),
        cmocka_unit_test(test_postcopy_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
