/* test_wire.c — the multifd initial packet and packet header codecs
 * (src/multifd/multifd_wire.c, spec/multifd.md §3-§4): exact bytes, every
 * refusal with QEMU 7.2's text, the quirks of real 7.2 packets, and every
 * header of real QEMU 7.2 channels (fixtures/, record-qemu-multifd-fixtures.py). */
#include "vmig_test.h"

#include <zlib.h>
#include <zstd.h>

#include "multifd/multifd_wire.h"
#include "fixture.h"

#define PAGE VMIG_MULTIFD_PAGE_SIZE
#define HDR VMIG_MULTIFD_HDR_LEN

/* The spec's example uuid, 12345678-9abc-def0-1234-56789abcdef0. */
static const uint8_t UUID[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                  0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* A header written field by field, independently of the encoder: offsets
 * i*PAGE for every one of the 128 slots (so slots past used are "stale"). */
static void raw_hdr(uint8_t b[HDR], uint32_t flags, uint32_t alloc, uint32_t used, uint32_t next,
                    uint64_t num, const char *rb)
{
    memset(b, 0, HDR);
    put32(b, VMIG_MULTIFD_MAGIC);
    put32(b + 4, VMIG_MULTIFD_VERSION);
    put32(b + 8, flags);
    put32(b + 12, alloc);
    put32(b + 16, used);
    put32(b + 20, next);
    put64(b + 24, num);
    memcpy(b + 64, rb, strnlen(rb, VMIG_MULTIFD_RAMBLOCK_LEN));
    for (unsigned i = 0; i < VMIG_MULTIFD_PAGES_ALLOC; i++)
        put64(b + 320 + 8 * i, (uint64_t)i * PAGE);
}

static void assert_hdr_ok(const uint8_t b[HDR], unsigned id, uint32_t comp, vmig_multifd_hdr_t *h)
{
    vmig_error_t err = { 0 };
    int r = vmig_multifd_hdr_decode(b, id, comp, h, &err);
    if (r != 0)
        fail_msg("refused: %s", err.msg);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
}

static void assert_hdr_refused(const uint8_t b[HDR], unsigned id, uint32_t comp, const char *msg)
{
    vmig_multifd_hdr_t h;
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_multifd_hdr_decode(b, id, comp, &h, &err), -EPROTO);
    assert_int_equal(err.code, -EPROTO);
    assert_string_equal(err.msg, msg);
}

static void assert_init_refused(const uint8_t b[64], const uint8_t *uuid, unsigned n,
                                const char *msg)
{
    vmig_multifd_init_t in;
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_multifd_init_decode(b, uuid, n, &in, &err), -EPROTO);
    assert_int_equal(err.code, -EPROTO);
    assert_string_equal(err.msg, msg);
}

/* ---- initial packet ------------------------------------------------------------- */

/* The 7.2 capture quoted by spec/multifd.md §3, both ways. */
static void test_init_spec_bytes(void **state)
{
    static const char spec[] = "11223344 00000001 123456789abcdef0123456789abcdef0 00 "
                               "00000000000000"
                               "0000000000000000000000000000000000000000000000000000000000000000";
    vmig_multifd_init_t in = { .id = 0 };
    memcpy(in.uuid, UUID, 16);
    uint8_t b[VMIG_MULTIFD_INIT_LEN];
    vmig_multifd_init_encode(&in, b);
    vt_assert_hex(b, sizeof b, spec);

    uint8_t raw[VMIG_MULTIFD_INIT_LEN];
    assert_int_equal(vt_hex(spec, raw, sizeof raw), VMIG_MULTIFD_INIT_LEN);
    vmig_multifd_init_t out;
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_multifd_init_decode(raw, UUID, 2, &out, &err), 0);
    assert_memory_equal(out.uuid, UUID, 16);
    assert_int_equal(out.id, 0);
    assert_int_equal(err.code, 0);
}

static void test_init_roundtrip(void **state)
{
    for (unsigned id = 0; id <= 255; id++) {
        vmig_multifd_init_t in = { .id = (uint8_t)id }, out;
        for (int i = 0; i < 16; i++)
            in.uuid[i] = (uint8_t)(id * 16 + i);
        uint8_t b[VMIG_MULTIFD_INIT_LEN];
        vmig_multifd_init_encode(&in, b);
        /* unused1/unused2 zero */
        for (unsigned i = 25; i < VMIG_MULTIFD_INIT_LEN; i++)
            assert_int_equal(b[i], 0);
        vmig_error_t err = { 0 };
        assert_int_equal(vmig_multifd_init_decode(b, in.uuid, VMIG_MULTIFD_CHANNELS_MAX + 1, &out,
                                                  &err),
                         0);
        assert_memory_equal(&in, &out, sizeof in);
        /* No uuid to check: any uuid is fine. */
        assert_int_equal(vmig_multifd_init_decode(b, NULL, id + 1, &out, &err), 0);
        assert_int_equal(out.id, id);
    }
}

static void test_init_refusals(void **state)
{
    vmig_multifd_init_t in = { .id = 1 };
    memcpy(in.uuid, UUID, 16);
    uint8_t good[VMIG_MULTIFD_INIT_LEN], b[VMIG_MULTIFD_INIT_LEN];
    vmig_multifd_init_encode(&in, good);

    memcpy(b, good, sizeof b);
    b[3] = 0x45;
    assert_init_refused(b, UUID, 2, "multifd: received packet magic 11223345 expected 11223344");
    memcpy(b, good, sizeof b);
    memset(b, 0, 4);
    assert_init_refused(b, UUID, 2, "multifd: received packet magic 0 expected 11223344");
    /* Magic is checked before version. */
    b[7] = 9;
    assert_init_refused(b, UUID, 2, "multifd: received packet magic 0 expected 11223344");
    memcpy(b, good, sizeof b);
    put32(b + 4, 0xffffffffu);
    assert_init_refused(b, UUID, 2, "multifd: received packet version 4294967295 expected 1");

    static const uint8_t zero[16];
    assert_init_refused(good, zero, 2,
                        "multifd: received uuid '12345678-9abc-def0-1234-56789abcdef0' and "
                        "expected uuid '00000000-0000-0000-0000-000000000000' for channel 1");
    /* QEMU prints the id with %hhd. */
    memcpy(b, good, sizeof b);
    b[24] = 200;
    b[8] = 0xAB;
    assert_init_refused(b, UUID, 255,
                        "multifd: received uuid 'ab345678-9abc-def0-1234-56789abcdef0' and "
                        "expected uuid '12345678-9abc-def0-1234-56789abcdef0' for channel -56");

    /* id must be below the channel count (QEMU 7.2 lets id == N through). */
    memcpy(b, good, sizeof b);
    b[24] = 2;
    assert_init_refused(b, UUID, 2, "multifd: received channel id 2 and expected an id below 2");
    assert_init_refused(b, NULL, 0, "multifd: received channel id 2 and expected an id below 0");
    b[24] = 255;
    assert_init_refused(b, NULL, 255,
                        "multifd: received channel id 255 and expected an id below 255");
    vmig_multifd_init_t out;
    assert_int_equal(vmig_multifd_init_decode(b, NULL, 256, &out, NULL), 0);
    assert_int_equal(out.id, 255);

    /* The first error is kept; the result still says refused; no err is fine. */
    vmig_error_t err = { 0 };
    vmig_error_set(&err, -EIO, "earlier");
    memcpy(b, good, sizeof b);
    b[0] = 0;
    assert_int_equal(vmig_multifd_init_decode(b, UUID, 2, &out, &err), -EPROTO);
    assert_int_equal(err.code, -EIO);
    assert_string_equal(err.msg, "earlier");
    assert_int_equal(vmig_multifd_init_decode(b, UUID, 2, &out, NULL), -EPROTO);
}

/* ---- packet header ---------------------------------------------------------------- */

static void test_hdr_encode_bytes(void **state)
{
    static vmig_multifd_hdr_t h;
    memset(&h, 0, sizeof h);
    h.flags = VMIG_MULTIFD_FLAG_SYNC | VMIG_MULTIFD_FLAG_ZSTD;
    h.pages_alloc = VMIG_MULTIFD_PAGES_ALLOC;
    h.pages_used = 2;
    h.next_packet_size = 0x1234;
    h.packet_num = 0x0102030405060708ull;
    strcpy(h.ramblock, "pc.ram");
    h.offset[0] = 0x6000;
    h.offset[1] = 0x123456789000ull;
    h.offset[2] = 0xdead; /* past pages_used: not written */
    uint8_t b[HDR];
    vmig_multifd_hdr_encode(&h, b);
    vt_assert_hex(b, 64,
                  "11223344 00000001 00000005 00000080 00000002 00001234 0102030405060708"
                  "0000000000000000000000000000000000000000000000000000000000000000");
    vt_assert_hex(b + 64, 8, "70632e72616d0000");
    for (unsigned i = 64 + 6; i < 320; i++)
        assert_int_equal(b[i], 0);
    vt_assert_hex(b + 320, 16, "0000000000006000 0000123456789000");
    for (unsigned i = 336; i < HDR; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(HDR, 1344);

    /* A 256-byte name goes without terminator, as strncpy writes it. */
    memset(h.ramblock, 'x', sizeof h.ramblock);
    vmig_multifd_hdr_encode(&h, b);
    for (unsigned i = 64; i < 320; i++)
        assert_int_equal(b[i], 'x');
    assert_int_equal(b[320], 0);
}

static void test_hdr_roundtrip(void **state)
{
    static const uint32_t comps[] = { VMIG_MULTIFD_FLAG_NOCOMP, VMIG_MULTIFD_FLAG_ZLIB,
                                      VMIG_MULTIFD_FLAG_ZSTD };
    static const uint32_t useds[] = { 0, 1, 61, 127, 128 };
    static vmig_multifd_hdr_t h, out;
    uint8_t b[HDR];
    for (size_t c = 0; c < 3; c++) {
        for (size_t u = 0; u < sizeof useds / sizeof useds[0]; u++) {
            for (uint32_t sync = 0; sync <= 1; sync++) {
                memset(&h, 0, sizeof h);
                h.pages_used = useds[u];
                h.flags = sync | (h.pages_used ? comps[c] : 0);
                h.pages_alloc = VMIG_MULTIFD_PAGES_ALLOC;
                h.next_packet_size = comps[c] ? 1000 + useds[u] : useds[u] * PAGE;
                if (!h.pages_used)
                    h.next_packet_size = 0;
                h.packet_num = (uint64_t)c << 40 | u << 1 | sync;
                if (h.pages_used)
                    snprintf(h.ramblock, sizeof h.ramblock, "/rom@etc/acpi/rsdp-%zu", u);
                for (uint32_t i = 0; i < h.pages_used; i++)
                    h.offset[i] = (uint64_t)(i * 7 % 128) * PAGE + ((uint64_t)c << 33);
                vmig_multifd_hdr_encode(&h, b);
                assert_hdr_ok(b, 3, comps[c], &out);
                assert_memory_equal(&h, &out, sizeof h);
            }
        }
    }
}

/* The stale SYNC packet of the spec's 7.2 capture (#7 on channel 0). */
static void test_hdr_spec_stale_sync(void **state)
{
    uint8_t b[HDR] = { 0 };
    vt_hex("11223344 00000001 00000001 00000080 00000000 00001000 0000000000000007", b, 32);
    memcpy(b + 64, "/rom@etc/acpi/rsdp", 18);
    put64(b + 320, 0xe000); /* the previous packet's offset */
    static vmig_multifd_hdr_t h;
    memset(&h, 0xAA, sizeof h);
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(h.flags, VMIG_MULTIFD_FLAG_SYNC);
    assert_int_equal(h.pages_alloc, 128);
    assert_int_equal(h.pages_used, 0);
    assert_int_equal(h.packet_num, 7);
    /* Stale fields read as zero. */
    assert_int_equal(h.next_packet_size, 0);
    assert_string_equal(h.ramblock, "");
    for (unsigned i = 0; i < VMIG_MULTIFD_PAGES_ALLOC; i++)
        assert_int_equal(h.offset[i], 0);
}

/* pages_used 0 with whatever stale fields (SYNC or not, as 7.2 sends both):
 * never checked, zeroed in the result; the compression bits too (7.2's zlib
 * and zstd sources send SYNC packets as flags 0x1, and its receiver accepts
 * any bits on a packet without pages). */
static void test_hdr_empty_stale_fields(void **state)
{
    static const uint32_t comps[] = { VMIG_MULTIFD_FLAG_NOCOMP, VMIG_MULTIFD_FLAG_ZLIB,
                                      VMIG_MULTIFD_FLAG_ZSTD };
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    for (size_t c = 0; c < 3; c++) {
        for (uint32_t flags = 0; flags <= 0xf; flags++) {
            raw_hdr(b, flags, 128, 0, 0xffffffffu, 99, "");
            memset(b + 64, 'Z', 256); /* unterminated stale name */
            memset(&h, 0x55, sizeof h);
            assert_hdr_ok(b, 1, comps[c], &h);
            assert_int_equal(h.flags, flags);
            assert_int_equal(h.pages_used, 0);
            assert_int_equal(h.next_packet_size, 0);
            assert_int_equal(h.packet_num, 99);
            assert_string_equal(h.ramblock, "");
            for (unsigned i = 0; i < VMIG_MULTIFD_PAGES_ALLOC; i++)
                assert_int_equal(h.offset[i], 0);
        }
    }
    /* pages_alloc 0 is fine without pages. */
    raw_hdr(b, VMIG_MULTIFD_FLAG_SYNC, 0, 0, 4096, 1, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(h.pages_alloc, 0);
}

/* The SYNC bit may ride on a data packet (7.2 does it, see the fixtures). */
static void test_hdr_sync_with_pages(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, VMIG_MULTIFD_FLAG_SYNC, 128, 128, 128 * PAGE, 4, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(h.flags, VMIG_MULTIFD_FLAG_SYNC);
    assert_int_equal(h.pages_used, 128);
    assert_int_equal(h.next_packet_size, 128 * PAGE);
    assert_string_equal(h.ramblock, "mem");
    for (unsigned i = 0; i < 128; i++)
        assert_int_equal(h.offset[i], (uint64_t)i * PAGE);

    raw_hdr(b, VMIG_MULTIFD_FLAG_SYNC | VMIG_MULTIFD_FLAG_ZLIB, 128, 17, 24557, 5, "mem");
    assert_hdr_ok(b, 1, VMIG_MULTIFD_FLAG_ZLIB, &h);
    assert_int_equal(h.flags, 3);
    assert_int_equal(h.pages_used, 17);
    assert_int_equal(h.next_packet_size, 24557);
    /* Offsets past pages_used read as zero, whatever the bytes held. */
    assert_int_equal(h.offset[16], 16 * PAGE);
    for (unsigned i = 17; i < 128; i++)
        assert_int_equal(h.offset[i], 0);
}

static void test_hdr_pages_used_bounds(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, 0, 128, 0, 0, 0, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    raw_hdr(b, 0, 128, 1, PAGE, 0, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(h.offset[0], 0);
    raw_hdr(b, 0, 128, 128, 128 * PAGE, 0, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(h.offset[127], 127 * PAGE);
    raw_hdr(b, 0, 128, 129, 129 * PAGE, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with 129 pages and expected maximum pages are 128");
    /* above pages_alloc, whatever it is */
    raw_hdr(b, 0, 5, 6, 6 * PAGE, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with 6 pages and expected maximum pages are 5");
    raw_hdr(b, 0, 0, 1, PAGE, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with 1 pages and expected maximum pages are 0");
    raw_hdr(b, 0, 128, 0xffffffffu, 0, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with 4294967295 pages and expected maximum "
                       "pages are 128");
    /* A bigger pages_alloc is refused whatever pages_used says (7.2). */
    raw_hdr(b, 0, 1000, 128, 128 * PAGE, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with size 1000 and expected a size of 128");
}

static void test_hdr_pages_alloc_limit(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    /* 7.2 accepts 0 .. 128 (checked against it) and refuses 129. */
    raw_hdr(b, 1, 127, 0, 0, 0, "");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    raw_hdr(b, 1, VMIG_MULTIFD_PAGES_ALLOC, 0, 0, 0, "");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    raw_hdr(b, 1, VMIG_MULTIFD_PAGES_ALLOC + 1, 0, 0, 0, "");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with size 129 and expected a size of 128");
    /* checked before pages_used */
    raw_hdr(b, 1, 0xffffffffu, 0xffffffffu, 0, 0, "");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet with size 4294967295 and expected a size of "
                       "128");
}

static void test_hdr_magic_version(void **state)
{
    uint8_t b[HDR];
    raw_hdr(b, 0, 128, 1, PAGE, 0, "mem");
    put32(b, 0x44332211);
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet magic 44332211 and expected magic 11223344");
    put32(b + 4, 7); /* magic first */
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet magic 44332211 and expected magic 11223344");
    raw_hdr(b, 0, 128, 1, PAGE, 0, "mem");
    put32(b + 4, 0);
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet version 0 and expected version 1");
    /* A QEVM stream where a channel was expected. */
    memcpy(b, "QEVM\0\0\0\3", 8);
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd: received packet magic 5145564d and expected magic 11223344");
}

static void test_hdr_compression_flags(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, VMIG_MULTIFD_FLAG_ZLIB, 128, 2, 100, 0, "mem");
    assert_hdr_refused(b, 3, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd 3: flags received 2 flags expected 0");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_ZSTD,
                       "multifd 0: flags received 2 flags expected 4");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_ZLIB, &h);
    raw_hdr(b, VMIG_MULTIFD_FLAG_SYNC, 128, 2, 100, 0, "mem");
    assert_hdr_refused(b, 7, VMIG_MULTIFD_FLAG_ZLIB,
                       "multifd 7: flags received 0 flags expected 2");
    /* Unknown methods (bits 1..3) and bits outside the mask. */
    raw_hdr(b, 0x8, 128, 2, 2 * PAGE, 0, "mem");
    assert_hdr_refused(b, 1, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd 1: flags received 8 flags expected 0");
    raw_hdr(b, 0xE | 1, 128, 2, 2 * PAGE, 0, "mem");
    assert_hdr_refused(b, 1, VMIG_MULTIFD_FLAG_ZSTD,
                       "multifd 1: flags received e flags expected 4");
    raw_hdr(b, 0xfff00004u, 128, 2, 100, 0, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_ZSTD, &h);
    assert_int_equal(h.flags, 0xfff00004u);
    /* A method the caller cannot mean is its bug, not the wire's. */
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_multifd_hdr_decode(b, 0, 0x6, &h, &err), -EINVAL);
    assert_string_equal(err.msg, "multifd 0: unknown compression method 6");
}

static void test_hdr_next_packet_size(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, 0, 128, 2, 2 * PAGE - 1, 0, "mem");
    assert_hdr_refused(b, 0, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd 0: packet size received 8191 size expected 8192");
    raw_hdr(b, 0, 128, 2, 0, 0, "mem");
    assert_hdr_refused(b, 2, VMIG_MULTIFD_FLAG_NOCOMP,
                       "multifd 2: packet size received 0 size expected 8192");
    raw_hdr(b, VMIG_MULTIFD_FLAG_ZLIB, 128, 128, VMIG_MULTIFD_ZBUF_MAX, 0, "mem");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_ZLIB, &h);
    assert_int_equal(h.next_packet_size, VMIG_MULTIFD_ZBUF_MAX);
    raw_hdr(b, VMIG_MULTIFD_FLAG_ZSTD, 128, 1, VMIG_MULTIFD_ZBUF_MAX + 1, 0, "mem");
    assert_hdr_refused(b, 1, VMIG_MULTIFD_FLAG_ZSTD,
                       "multifd 1: received packet with 1048577 bytes of compressed pages and "
                       "expected a maximum of 1048576");
    raw_hdr(b, VMIG_MULTIFD_FLAG_ZSTD, 128, 1, 0xffffffffu, 0, "mem");
    assert_hdr_refused(b, 1, VMIG_MULTIFD_FLAG_ZSTD,
                       "multifd 1: received packet with 4294967295 bytes of compressed pages and "
                       "expected a maximum of 1048576");
}

/* Byte 255 is forced to NUL (QEMU's behaviour): the name is cut, not refused;
 * the caller's block lookup then fails ("multifd: unknown ram block %s"). */
static void test_hdr_unterminated_ramblock(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, 0, 128, 1, PAGE, 0, "");
    memset(b + 64, 'A', 256);
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_int_equal(strlen(h.ramblock), 255);
    assert_int_equal(h.ramblock[254], 'A');
    assert_int_equal(h.ramblock[255], '\0');
    /* Garbage after the terminator is not kept. */
    raw_hdr(b, 0, 128, 1, PAGE, 0, "mem");
    memset(b + 68, 'G', 252);
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_string_equal(h.ramblock, "mem");
    for (unsigned i = 3; i < 256; i++)
        assert_int_equal(h.ramblock[i], 0);
    /* An empty name with pages is the caller's lookup failure too. */
    raw_hdr(b, 0, 128, 1, PAGE, 0, "");
    assert_hdr_ok(b, 0, VMIG_MULTIFD_FLAG_NOCOMP, &h);
    assert_string_equal(h.ramblock, "");
}

/* Refusals keep an earlier error and work without an error object. */
static void test_hdr_first_error_kept(void **state)
{
    static vmig_multifd_hdr_t h;
    uint8_t b[HDR];
    raw_hdr(b, 0, 128, 129, 0, 0, "mem");
    vmig_error_t err = { 0 };
    vmig_error_set(&err, -ECONNRESET, "first");
    assert_int_equal(vmig_multifd_hdr_decode(b, 0, 0, &h, &err), -EPROTO);
    assert_int_equal(err.code, -ECONNRESET);
    assert_string_equal(err.msg, "first");
    assert_int_equal(vmig_multifd_hdr_decode(b, 0, 0, &h, NULL), -EPROTO);
}

/* ---- real QEMU 7.2 channels ------------------------------------------------------- */

#define FX_CHANNELS 2
#define FX_RAM (1u << 20)
#define FX_PAGES (FX_RAM / PAGE)

static bool page_is_zero(const uint8_t *p)
{
    for (size_t i = 0; i < PAGE; i++)
        if (p[i])
            return false;
    return true;
}

/* One channel's decompressor: the stream carries on across its packets. */
typedef struct fx_inflater {
    uint32_t comp;
    z_stream zs;
    ZSTD_DStream *zd;
} fx_inflater_t;

static void fx_inflater_init(fx_inflater_t *d, uint32_t comp)
{
    memset(d, 0, sizeof *d);
    d->comp = comp;
    if (comp == VMIG_MULTIFD_FLAG_ZLIB)
        assert_int_equal(inflateInit(&d->zs), Z_OK);
    if (comp == VMIG_MULTIFD_FLAG_ZSTD) {
        d->zd = ZSTD_createDStream();
        assert_non_null(d->zd);
        assert_false(ZSTD_isError(ZSTD_initDStream(d->zd)));
    }
}

static void fx_inflater_fini(fx_inflater_t *d)
{
    if (d->comp == VMIG_MULTIFD_FLAG_ZLIB)
        inflateEnd(&d->zs);
    if (d->zd)
        ZSTD_freeDStream(d->zd);
}

/* The payload as pages (exactly out_len bytes, all input used). */
static void fx_payload_pages(fx_inflater_t *d, const uint8_t *in, size_t len, uint8_t *out,
                             size_t out_len)
{
    if (d->comp == VMIG_MULTIFD_FLAG_NOCOMP) {
        assert_int_equal(len, out_len);
        memcpy(out, in, len);
    } else if (d->comp == VMIG_MULTIFD_FLAG_ZLIB) {
        d->zs.next_in = (Bytef *)(uintptr_t)in;
        d->zs.avail_in = (uInt)len;
        d->zs.next_out = out;
        d->zs.avail_out = (uInt)out_len;
        while (d->zs.avail_in > 0) {
            uInt before = d->zs.avail_in + d->zs.avail_out;
            int z = inflate(&d->zs, Z_SYNC_FLUSH);
            assert_true(z == Z_OK || z == Z_BUF_ERROR);
            if (d->zs.avail_in + d->zs.avail_out == before)
                break;
        }
        assert_int_equal(d->zs.avail_in, 0);
        assert_int_equal(d->zs.avail_out, 0);
    } else {
        ZSTD_inBuffer zi = { in, len, 0 };
        ZSTD_outBuffer zo = { out, out_len, 0 };
        while (zi.pos < zi.size) {
            size_t before = zi.pos + zo.pos;
            size_t r = ZSTD_decompressStream(d->zd, &zo, &zi);
            assert_false(ZSTD_isError(r));
            if (zi.pos + zo.pos == before)
                break;
        }
        assert_int_equal(zi.pos, zi.size);
        assert_int_equal(zo.pos, out_len);
    }
}

/* Every header of the channels QEMU 7.2 sent with comp, checked against the
 * RAM it migrated. Returns false (after saying why) if the fixtures are absent. */
static bool check_fixture(const char *dir, uint32_t comp, const uint8_t *ram)
{
    char name[64];
    size_t mlen = 0;
    snprintf(name, sizeof name, "%s/main.bin", dir);
    uint8_t *main_stream = fx_load(name, &mlen);
    if (!main_stream) {
        print_message("no fixture %s: run tests/multifd/record-qemu-multifd-fixtures.py\n", name);
        return false;
    }
    assert_true(mlen >= 8);
    assert_memory_equal(main_stream, "QEVM\0\0\0\3", 8);
    free(main_stream);

    static bool seen[FX_PAGES];
    memset(seen, 0, sizeof seen);
    static uint64_t data_nums[1024];
    size_t ndata = 0;
    unsigned syncs[FX_CHANNELS] = { 0 };
    size_t npackets = 0, nempty = 0, nsync_pages = 0, npages = 0;
    uint8_t *pages = malloc((size_t)VMIG_MULTIFD_PAGES_ALLOC * PAGE);
    assert_non_null(pages);
    static vmig_multifd_hdr_t h;
    for (unsigned id = 0; id < FX_CHANNELS; id++) {
        size_t len = 0;
        snprintf(name, sizeof name, "%s/chan-%u.bin", dir, id);
        uint8_t *ch = fx_load(name, &len);
        if (!ch)
            fail_msg("fixture %s missing", name);
        assert_true(len >= VMIG_MULTIFD_INIT_LEN);
        vmig_multifd_init_t init;
        vmig_error_t err = { 0 };
        assert_int_equal(vmig_multifd_init_decode(ch, UUID, FX_CHANNELS, &init, &err), 0);
        assert_int_equal(init.id, id);

        fx_inflater_t d;
        fx_inflater_init(&d, comp);
        bool have_prev = false;
        uint64_t prev_num = 0;
        size_t off = VMIG_MULTIFD_INIT_LEN;
        while (off < len) {
            assert_true(len - off >= HDR);
            const uint8_t *raw = ch + off;
            vmig_error_t herr = { 0 };
            int r = vmig_multifd_hdr_decode(raw, id, comp, &h, &herr);
            if (r != 0)
                fail_msg("%s at %zu: %s", name, off, herr.msg);
            off += HDR;
            npackets++;
            assert_int_equal(h.pages_alloc, VMIG_MULTIFD_PAGES_ALLOC);
            /* The header re-encodes to what QEMU wrote, stale fields apart. */
            uint8_t again[HDR];
            vmig_multifd_hdr_encode(&h, again);
            if (h.pages_used) {
                assert_memory_equal(again, raw, 320 + 8 * h.pages_used);
            } else {
                assert_memory_equal(again, raw, 20);
                assert_memory_equal(again + 24, raw + 24, 40);
            }
            if (h.flags & VMIG_MULTIFD_FLAG_SYNC)
                syncs[id]++;
            if (h.pages_used == 0) {
                /* 7.2 follows a data packet that took the SYNC bit with an
                 * empty packet under the same number. */
                nempty++;
                if (!(have_prev && h.packet_num == prev_num)) {
                    assert_true(ndata < 1024);
                    data_nums[ndata++] = h.packet_num;
                }
            } else {
                if (h.flags & VMIG_MULTIFD_FLAG_SYNC)
                    nsync_pages++;
                assert_true(ndata < 1024);
                data_nums[ndata++] = h.packet_num;
                assert_string_equal(h.ramblock, "mem");
                assert_true(len - off >= h.next_packet_size);
                fx_payload_pages(&d, ch + off, h.next_packet_size, pages,
                                 (size_t)h.pages_used * PAGE);
                for (uint32_t i = 0; i < h.pages_used; i++) {
                    uint64_t o = h.offset[i];
                    assert_true(o < FX_RAM && o % PAGE == 0);
                    assert_memory_equal(pages + (size_t)i * PAGE, ram + o, PAGE);
                    seen[o / PAGE] = true;
                }
                npages += h.pages_used;
                off += h.next_packet_size;
            }
            have_prev = true;
            prev_num = h.packet_num;
        }
        assert_int_equal(off, len);
        fx_inflater_fini(&d);
        free(ch);
    }
    free(pages);

    /* Packet numbers are unique across channels (an empty packet repeating
     * its own channel's previous number apart). */
    for (size_t i = 0; i < ndata; i++)
        for (size_t j = i + 1; j < ndata; j++)
            if (data_nums[i] == data_nums[j])
                fail_msg("%s: packet_num %llu twice", dir, (unsigned long long)data_nums[i]);
    /* Every non-zero page went on a channel, no zero page did (zero pages are
     * ZERO records on the main channel). */
    size_t nonzero = 0;
    for (unsigned p = 0; p < FX_PAGES; p++) {
        bool z = page_is_zero(ram + (size_t)p * PAGE);
        nonzero += !z;
        if (seen[p] == z)
            fail_msg("%s: page %u is %szero and was %ssent on a channel", dir, p, z ? "" : "not ",
                     seen[p] ? "" : "not ");
    }
    /* Each sync round reaches every channel. */
    assert_true(syncs[0] > 0);
    for (unsigned id = 1; id < FX_CHANNELS; id++)
        assert_int_equal(syncs[id], syncs[0]);
    print_message("%s: %zu packets (%zu empty, %zu with SYNC and pages), %u SYNC per channel, "
                  "%zu pages for %zu non-zero\n",
                  dir, npackets, nempty, nsync_pages, syncs[0], npages, nonzero);
    return true;
}

static void test_qemu_fixtures(void **state)
{
    size_t rlen;
    uint8_t *ram = fx_load("ram.bin", &rlen);
    /* The captures are part of the tree: without them the test fails
     * rather than passing unchecked. */
    if (!ram)
        fail_msg("no fixtures: run tests/multifd/record-qemu-multifd-fixtures.py");
    assert_int_equal(rlen, FX_RAM);
    bool all = check_fixture("none", VMIG_MULTIFD_FLAG_NOCOMP, ram) &&
               check_fixture("zlib", VMIG_MULTIFD_FLAG_ZLIB, ram) &&
               check_fixture("zstd", VMIG_MULTIFD_FLAG_ZSTD, ram);
    free(ram);
    if (!all)
        fail_msg("a fixture is missing: run tests/multifd/record-qemu-multifd-fixtures.py");
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_spec_bytes),
        cmocka_unit_test(test_init_roundtrip),
        cmocka_unit_test(test_init_refusals),
        cmocka_unit_test(test_hdr_encode_bytes),
        cmocka_unit_test(test_hdr_roundtrip),
        cmocka_unit_test(test_hdr_spec_stale_sync),
        cmocka_unit_test(test_hdr_empty_stale_fields),
        cmocka_unit_test(test_hdr_sync_with_pages),
        cmocka_unit_test(test_hdr_pages_used_bounds),
        cmocka_unit_test(test_hdr_pages_alloc_limit),
        cmocka_unit_test(test_hdr_magic_version),
        cmocka_unit_test(test_hdr_compression_flags),
        cmocka_unit_test(test_hdr_next_packet_size),
        cmocka_unit_test(test_hdr_unterminated_ramblock),
        cmocka_unit_test(test_hdr_first_error_kept),
        cmocka_unit_test(test_qemu_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
