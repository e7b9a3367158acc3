/* test_dump.c — the directory RAM sink: one file per block named by its
 * escaped name, of the block's length, holding the final page contents
 * (a zero page after data clears it, XBZRLE patches what the file holds). */
#include "an_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_dump_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/vmig-dump-XXXXXX";
    assert_non_null(mkdtemp(dir));
    uint8_t pat[PS];
    for (unsigned i = 0; i < PS; i++)
        pat[i] = (uint8_t)(i * 13 + 1);

    bb_t b = {0};
    bb_header(&b);
    bb_section(&b, VMIG_VM_SECTION_START, 2, "ram", 0, 4);
    bb_be64(&b, 5 * PS | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    bb_str(&b, "mem");
    bb_be64(&b, 4 * PS);
    bb_str(&b, "/rom@x");
    bb_be64(&b, PS);
    bb_be64(&b, 0 | VMIG_RAM_SAVE_FLAG_PAGE);
    bb_str(&b, "mem");
    bb_bytes(&b, pat, PS);
    bb_be64(&b, PS | VMIG_RAM_SAVE_FLAG_PAGE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_bytes(&b, pat, PS);
    bb_be64(&b, PS | VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_CONTINUE); /* clears it */
    bb_u8(&b, 0);
    bb_xbzrle(&b, 0, "\x05\x01\xee", 3); /* byte 5 := 0xee, on top of pat */
    bb_be64(&b, 0 | VMIG_RAM_SAVE_FLAG_ZERO);
    bb_str(&b, "/rom@x");
    bb_u8(&b, 0x77);
    bb_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    bb_footer(&b, 2);
    bb_u8(&b, VMIG_VM_EOF);

    vmig_analyze_dump_t *d = NULL;
    vmig_error_t err = {0};
    assert_int_equal(vmig_analyze_dump_open(dir, &d, &err), 0);
    vmig_analyze_opts_t o = {.ram_ops = &vmig_analyze_dump_ops, .ram_opaque = d};
    vmig_analyze_result_t res;
    int r = an_run(b.p, b.len, &o, &res);
    if (r)
        fail_msg("%s", res.err.msg);
    assert_int_equal(vmig_analyze_dump_close(d, &err), 0);
    vmig_analyze_result_release(&res);

    char path[512];
    uint8_t got[4 * PS], want[4 * PS];
    memset(want, 0, sizeof(want));
    memcpy(want, pat, PS);
    want[5] = 0xee;
    snprintf(path, sizeof(path), "%s/mem", dir);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 4 * PS);
    assert_int_equal(read(fd, got, sizeof(got)), sizeof(got));
    assert_memory_equal(got, want, sizeof(want));
    close(fd);
    unlink(path);

    snprintf(path, sizeof(path), "%s/%%2From@x", dir);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, got, sizeof(got)), PS);
    memset(want, 0x77, PS);
    assert_memory_equal(got, want, PS);
    close(fd);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    bb_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(vmig_analyze_dump_filename("pc.ram", out, sizeof(out)), 0);
    assert_string_equal(out, "pc.ram");
    assert_int_equal(vmig_analyze_dump_filename("/rom@etc/acpi/tables", out, sizeof(out)), 0);
    assert_string_equal(out, "%2From@etc%2Facpi%2Ftables");
    assert_int_equal(vmig_analyze_dump_filename("..", out, sizeof(out)), 0);
    assert_string_equal(out, "%2E.");
    assert_int_equal(vmig_analyze_dump_filename("a b%", out, sizeof(out)), 0);
    assert_string_equal(out, "a%20b%25");
    assert_int_equal(vmig_analyze_dump_filename("", out, sizeof(out)), -EOVERFLOW);
    char longname[256];
    memset(longname, '/', 255);
    longname[255] = 0;
    assert_int_equal(vmig_analyze_dump_filename(longname, out, sizeof(out)), -EOVERFLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_dump_files),
                                       cmocka_unit_test(test_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
