/* test_load_errors.c — the RAM loader against bad streams: every error of
 * spec/ram.md §2, §3 and §6 comes with QEMU's message and -EINVAL (-EIO for a
 * truncation), and memory is never written outside the registered blocks
 * (guard pages around each block) nor inside them before the failing record
 * (canary contents). Also the ZERO fill rule: a zero page is only written
 * when the fill is not 0 or the page is not zero already. */
#include "ram_test.h"

#define MEM_PAGES 4
#define ROM_PAGES 2
#define CANARY 0x5a

typedef struct fx {
    rt_vm_t vm;       /* destination with "mem" (16 KiB) and "rom" (8 KiB) */
    rt_mem_t mem;     /* "mem", between guard pages */
    rt_mem_t rom;     /* "rom", between guard pages */
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    rt_vm_init(&f->vm);
    rt_add(&f->vm, "mem", rt_map(&f->mem, MEM_PAGES * PS, PS), MEM_PAGES * PS);
    rt_add(&f->vm, "rom", rt_map(&f->rom, ROM_PAGES * PS, PS), ROM_PAGES * PS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    rt_vm_free(&f->vm);
    rt_unmap(&f->mem);
    rt_unmap(&f->rom);
    free(f);
    return 0;
}

/* Header, START "ram" v4 with the right block list, EOS, footer, then a PART
 * header: the caller appends records, then rt_tail(). */
static void good_start(rt_buf_t *b)
{
    rt_header(b);
    rt_start(b, 4);
    rt_be64(b, (MEM_PAGES + ROM_PAGES) * PS | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    rt_counted(b, "mem");
    rt_be64(b, MEM_PAGES * PS);
    rt_counted(b, "rom");
    rt_be64(b, ROM_PAGES * PS);
    rt_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    rt_footer(b);
    rt_part(b);
}

/* EOS, footer, EOF. */
static void rt_tail(rt_buf_t *b)
{
    rt_be64(b, VMIG_RAM_SAVE_FLAG_EOS);
    rt_footer(b);
    rt_eof(b);
}

/* A page record header naming block (NULL: CONTINUE). */
static void rec(rt_buf_t *b, uint64_t offset, unsigned flags, const char *block)
{
    rt_be64(b, offset | flags | (block ? 0 : VMIG_RAM_SAVE_FLAG_CONTINUE));
    if (block)
        rt_counted(b, block);
}

/* Load b into the canary-filled blocks: the result must be err and the
 * message must end with msg; pages outside changed_mask (bit i = mem page i)
 * keep their canary, "rom" is untouched. */
static void expect(fx_t *f, rt_buf_t *b, int err, const char *msg, unsigned changed_mask)
{
    memset(f->mem.p, CANARY, MEM_PAGES * PS);
    memset(f->rom.p, CANARY, ROM_PAGES * PS);
    char got[VMIG_ERROR_MSG_MAX];
    int r = rt_load(&f->vm, b->p, b->len, got);
    if (r != err)
        fail_msg("result %d, want %d (%s)", r, err, got);
    rt_assert_msg_ends(got, msg);
    for (unsigned pg = 0; pg < MEM_PAGES; pg++) {
        if (changed_mask & (1u << pg))
            continue;
        for (unsigned i = 0; i < PS; i++)
            if (f->mem.p[pg * PS + i] != CANARY)
                fail_msg("mem page %u byte %u changed", pg, i);
    }
    for (unsigned i = 0; i < ROM_PAGES * PS; i++)
        if (f->rom.p[i] != CANARY)
            fail_msg("rom byte %u changed", i);
    rt_buf_free(b);
}

static void test_block_list(void **state)
{
    fx_t *f = *state;
    rt_buf_t b = {0};

    /* A name the destination does not have. */
    rt_header(&b);
    rt_start(&b, 4);
    rt_block_list(&b, MEM_PAGES * PS, "nope", MEM_PAGES * PS);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Unknown ramblock \"nope\", cannot accept migration", 0);

    /* Another length (vmig's blocks never resize). */
    rt_header(&b);
    rt_start(&b, 4);
    rt_block_list(&b, 2 * PS, "mem", 2 * PS);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Length mismatch: mem: 0x2000 in != 0x4000", 0);

    /* The lengths must add up to the total: more than announced... */
    rt_header(&b);
    rt_start(&b, 4);
    rt_block_list(&b, 2 * PS, "mem", MEM_PAGES * PS);
    rt_tail(&b);
    expect(f, &b, -EINVAL,
           "RAM block list does not add up: block mem (0x4000) exceeds what is left of the "
           "total 0x2000 (0x2000)",
           0);

    /* ...or less: the EOS is then read as the next block's name. */
    rt_header(&b);
    rt_start(&b, 4);
    rt_block_list(&b, 8 * PS, "mem", MEM_PAGES * PS);
    rt_counted(&b, "rom");
    rt_be64(&b, ROM_PAGES * PS);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Unknown ramblock \"\", cannot accept migration", 0);

    /* A list naming fewer blocks than the destination has is fine (QEMU). */
    rt_header(&b);
    rt_start(&b, 4);
    rt_block_list(&b, ROM_PAGES * PS, "rom", ROM_PAGES * PS);
    rt_tail(&b);
    expect(f, &b, 0, "", 0);
}

static void test_versions(void **state)
{
    fx_t *f = *state;
    rt_buf_t b = {0};
    rt_header(&b);
    rt_start(&b, 3);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "RAM section version 3 is not supported (only 4)", 0);
    rt_header(&b);
    rt_start(&b, 5);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "savevm: unsupported version 5 for 'ram' v4", 0);
}

static void test_records(void **state)
{
    fx_t *f = *state;
    rt_buf_t b = {0};

    good_start(&b);
    rec(&b, 0, VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE, NULL);
    rt_be32(&b, 10);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Received an unexpected compressed page", 0);

    /* XBZRLE records are decoded whatever the capabilities (xbzrle.md §2):
     * the loader's three failures, each leaving the page untouched. */
    good_start(&b);
    rec(&b, PS, VMIG_RAM_SAVE_FLAG_XBZRLE, "mem");
    rt_u8(&b, 0x02);
    rt_bytes(&b, (const uint8_t[]){0x00, 0x04}, 2);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Failed to load XBZRLE page - wrong compression!", 0);

    good_start(&b);
    rec(&b, PS, VMIG_RAM_SAVE_FLAG_XBZRLE, "mem");
    rt_u8(&b, VMIG_RAM_XBZRLE_ENCODING);
    rt_bytes(&b, (const uint8_t[]){0x10, 0x01}, 2); /* 4097 */
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Failed to load XBZRLE page - len overflow!", 0);

    good_start(&b);
    rec(&b, PS, VMIG_RAM_SAVE_FLAG_XBZRLE, "mem");
    rt_u8(&b, VMIG_RAM_XBZRLE_ENCODING);
    rt_bytes(&b, (const uint8_t[]){0x00, 0x06, 0x10, 0x01, 0x55, 0x00, 0x01, 0x66}, 8);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Failed to load XBZRLE page - decode error!", 0);

    static const struct {
        unsigned flags;
        const char *msg;
    } unknown[] = {
        {0x00, "Unknown combination of migration flags: 0x0"},
        {0x01, "Unknown combination of migration flags: 0x1"},
        {0x200, "Unknown combination of migration flags: 0x200"},
        {0x400, "Unknown combination of migration flags: 0x400"},
        {0x80, "RAM hook record (flags 0x80) without RDMA"},
    };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        good_start(&b);
        rt_be64(&b, unknown[i].flags);
        rt_tail(&b);
        expect(f, &b, -EINVAL, unknown[i].msg, 0);
    }
    /* A page flag with another one: the block is looked up, then refused. */
    good_start(&b);
    rec(&b, 0, VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_PAGE, "mem");
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Unknown combination of migration flags: 0xa", 0);

    /* CONTINUE with no block named before in this load. */
    good_start(&b);
    rec(&b, 0, VMIG_RAM_SAVE_FLAG_ZERO, NULL);
    rt_u8(&b, 0);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Ack, bad migration stream!", 0);

    good_start(&b);
    rec(&b, 0, VMIG_RAM_SAVE_FLAG_PAGE, "nope");
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Can't find block nope", 0);

    /* Offsets at or past the end of the block, named or continued. */
    good_start(&b);
    rec(&b, MEM_PAGES * PS, VMIG_RAM_SAVE_FLAG_PAGE, "mem");
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Illegal RAM offset 4000", 0);

    uint8_t page[PS];
    memset(page, 0x11, PS);
    good_start(&b);
    rec(&b, PS, VMIG_RAM_SAVE_FLAG_PAGE, "rom");
    rt_bytes(&b, page, PS);
    rec(&b, UINT64_C(0xfffffffffffff000), VMIG_RAM_SAVE_FLAG_ZERO, NULL);
    rt_u8(&b, 0xee);
    rt_tail(&b);
    memset(f->rom.p, CANARY, ROM_PAGES * PS);
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&f->vm, b.p, b.len, msg), -EINVAL);
    rt_assert_msg_ends(msg, "Illegal RAM offset fffffffffffff000");
    assert_memory_equal(f->rom.p + PS, page, PS); /* the good record before it landed */
    for (unsigned i = 0; i < PS; i++)
        assert_int_equal(f->rom.p[i], CANARY);
    rt_buf_free(&b);

    /* A page cut short: an I/O error; only that page may have changed. */
    good_start(&b);
    rec(&b, 2 * PS, VMIG_RAM_SAVE_FLAG_PAGE, "mem");
    rt_bytes(&b, page, 100);
    expect(f, &b, -EIO, "", 1u << 2);
    memset(f->mem.p, CANARY, MEM_PAGES * PS);
    good_start(&b);
    b.len -= 3; /* inside the PART header */
    char got[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&f->vm, b.p, b.len, got), -EIO);
    rt_buf_free(&b);
}

/* The fill rule, and CONTINUE across sections: a later PART continues the
 * block of the previous one. */
static void test_zero_fill(void **state)
{
    fx_t *f = *state;
    memset(f->mem.p, 0, MEM_PAGES * PS);
    memset(f->mem.p + 3 * PS, 0x33, PS);
    /* Page 1 read-only: writing zeros over its zeros would crash. */
    assert_int_equal(mprotect(f->mem.p + PS, PS, PROT_READ), 0);
    rt_buf_t b = {0};
    good_start(&b);
    rec(&b, PS, VMIG_RAM_SAVE_FLAG_ZERO, "mem");
    rt_u8(&b, 0);
    rec(&b, 2 * PS, VMIG_RAM_SAVE_FLAG_ZERO, NULL);
    rt_u8(&b, 0x77);
    rt_be64(&b, VMIG_RAM_SAVE_FLAG_EOS);
    rt_footer(&b);
    rt_part(&b);
    rec(&b, 3 * PS, VMIG_RAM_SAVE_FLAG_ZERO, NULL); /* still "mem" */
    rt_u8(&b, 0);
    rt_tail(&b);
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&f->vm, b.p, b.len, msg), 0);
    assert_string_equal(msg, "");
    assert_int_equal(mprotect(f->mem.p + PS, PS, PROT_READ | PROT_WRITE), 0);
    for (unsigned i = 0; i < PS; i++) {
        assert_int_equal(f->mem.p[i], 0);
        assert_int_equal(f->mem.p[PS + i], 0);
        assert_int_equal(f->mem.p[2 * PS + i], 0x77);
        assert_int_equal(f->mem.p[3 * PS + i], 0);
    }
    rt_buf_free(&b);

    /* The "last block" does not survive into the next load. */
    good_start(&b);
    rec(&b, 0, VMIG_RAM_SAVE_FLAG_ZERO, NULL);
    rt_u8(&b, 0);
    rt_tail(&b);
    expect(f, &b, -EINVAL, "Ack, bad migration stream!", 0);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_block_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_fill, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
