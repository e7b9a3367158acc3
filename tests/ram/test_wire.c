/* test_wire.c — the exact bytes of the "ram" sections (spec/ram.md §2-§4):
 * the setup body (MEM_SIZE + block list + EOS; with postcopy-ram a page size
 * for blocks whose page size is not the host's; with x-ignore-shared an
 * address per block), page records with the idstr only when the block
 * changes, the iteration's EOS, and a completion body that is just EOS. */
#include "ram_test.h"

/* Body bytes of the one section written since from (header of hdr bytes,
 * 5-byte footer). */
static const uint8_t *section_body(vmig_stream_t *s, size_t from, size_t hdr, size_t *len)
{
    size_t all;
    const uint8_t *d = vt_written(s, &all);
    assert_true(all >= from + hdr + 5);
    *len = all - from - hdr - 5;
    return d + from + hdr;
}

#define START_HDR (1 + 4 + 1 + 3 + 4 + 4) /* type, id, "ram", instance, version */
#define PART_HDR (1 + 4)

static void test_setup_and_pages(void **state)
{
    rt_mem_t ma = {0}, mb = {0};
    uint8_t *a = rt_map(&ma, 2 * PS, PS);
    uint8_t *b = rt_map(&mb, 2 * PS, PS);
    memset(a, 0, PS);
    memset(a + PS, 0x11, PS);
    memset(b, 0x22, PS);
    memset(b + PS, 0, PS);
    rt_vm_t vm;
    rt_vm_init(&vm);
    rt_add(&vm, "a", a, 2 * PS);
    rt_add(&vm, "bb", b, 2 * PS);

    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(vm.sv, s), 0);
    size_t len;
    const uint8_t *body = section_body(s, 0, START_HDR, &len);
    vt_assert_hex(body, len,
                  "00000000 00004004"      /* 16 KiB | MEM_SIZE */
                  "01 61 0000000000002000" /* "a", 8 KiB */
                  "02 6262 0000000000002000"
                  "00000000 00000010");
    assert_int_equal(vmig_ram_counters(vm.ram)->transferred, 0);

    size_t from;
    vt_written(s, &from);
    assert_int_equal(vmig_savevm_iterate(vm.sv, s, false), 1);
    body = section_body(s, from, PART_HDR, &len);
    uint8_t want[2 * (8 + 3 + PS) + 64];
    size_t n = vt_hex("00000000 00000002 01 61 00" /* a:0 zero, idstr */
                      "00000000 00001028",         /* a:1 page, CONTINUE */
                      want, sizeof(want));
    memset(want + n, 0x11, PS);
    n += PS;
    n += vt_hex("00000000 00000008 02 6262", want + n, sizeof(want) - n); /* bb:0, idstr */
    memset(want + n, 0x22, PS);
    n += PS;
    n += vt_hex("00000000 00001022 00" /* bb:1 zero, CONTINUE */
                "00000000 00000010",
                want + n, sizeof(want) - n);
    vt_assert_bytes(body, len, want, n);
    assert_int_equal(vmig_ram_counters(vm.ram)->transferred, n);

    /* Nothing dirty at completion: the END body is EOS alone. */
    vt_written(s, &from);
    assert_int_equal(vmig_savevm_complete_iterable(vm.sv, s, false), 0);
    body = section_body(s, from, PART_HDR, &len);
    vt_assert_hex(body, len, "00000000 00000010");
    assert_int_equal(vmig_ram_counters(vm.ram)->transferred, n);

    vmig_savevm_save_cleanup(vm.sv);
    vmig_stream_free(s);
    rt_vm_free(&vm);
    rt_unmap(&ma);
    rt_unmap(&mb);
}

/* postcopy-ram: a 64 KiB-page block gets its page size after its length,
 * the 4 KiB one does not; x-ignore-shared: an address (0) after each, and a
 * shared block is listed (and counted in MEM_SIZE) but never sent. */
static void test_setup_extras(void **state)
{
    rt_mem_t mh = {0}, ms = {0};
    uint8_t *h = rt_map(&mh, 16 * PS, 16 * PS);
    uint8_t *sh = rt_map(&ms, PS, PS);
    rt_vm_t vm;
    rt_vm_init(&vm);
    vmig_ram_block_opts_t o = {.name = "huge", .host = h, .length = 16 * PS, .page_size = 16 * PS};
    assert_int_equal(vmig_ram_add(vm.ram, &o, NULL), 0);
    o = (vmig_ram_block_opts_t){.name = "shm", .host = sh, .length = PS, .shared = true};
    assert_int_equal(vmig_ram_add(vm.ram, &o, NULL), 0);

    vmig_ram_save_opts_t so = {.postcopy_ram = true};
    vmig_ram_set_save_opts(vm.ram, &so);
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(vm.sv, s), 0);
    size_t len;
    const uint8_t *body = section_body(s, 0, START_HDR, &len);
    vt_assert_hex(body, len,
                  "00000000 00011004"
                  "04 68756765 0000000000010000 0000000000010000" /* huge, len, page size */
                  "03 73686d 0000000000001000"                    /* shm: host page size */
                  "00000000 00000010");
    /* postcopy-ram counts what is left as "compatible". */
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(vm.sv, 0, &pre, &compat, &post);
    assert_int_equal(pre, 0);
    assert_int_equal(compat, 17 * PS);
    vmig_savevm_save_cleanup(vm.sv);
    vmig_stream_free(s);

    so = (vmig_ram_save_opts_t){.x_ignore_shared = true};
    vmig_ram_set_save_opts(vm.ram, &so);
    assert_int_equal(vmig_ram_total(vm.ram), 16 * PS); /* shm left out */
    s = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(vm.sv, s), 0);
    body = section_body(s, 0, START_HDR, &len);
    vt_assert_hex(body, len,
                  "00000000 00011004"
                  "04 68756765 0000000000010000 0000000000000000"
                  "03 73686d 0000000000001000 0000000000000000"
                  "00000000 00000010");
    assert_int_equal(vmig_ram_remaining(vm.ram), 16 * PS);
    assert_int_equal(rt_iterate_all(&vm, s, 10), 1);
    assert_int_equal(vmig_ram_pages_sent(vm.ram), 16); /* none of shm */
    vmig_savevm_save_cleanup(vm.sv);
    vmig_stream_free(s);
    rt_vm_free(&vm);
    rt_unmap(&mh);
    rt_unmap(&ms);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_and_pages),
        cmocka_unit_test(test_setup_extras),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
