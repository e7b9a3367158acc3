/* fuzz_multifd_hdr.c — libFuzzer harness of the multifd record decoders
 * (src/multifd/multifd_wire.c): any initial packet or packet header is
 * accepted or refused cleanly.
 *
 * Input: byte 0 selects, the rest is the record, zero-padded or truncated to
 * its fixed length in an exact-size heap block (a read past it is an ASan
 * error). Byte 0 bit 0 clear: a 64-byte initial packet, bit 1 = check the
 * uuid against 12345678-9abc-def0-1234-56789abcdef0, bits 2-7 = the channel
 * count (0..63). Bit 0 set: a 1344-byte packet header, bits 1-2 = the
 * expected method ((byte0 >> 1) % 3: none, zlib, zstd), bits 3-7 = the
 * channel id. Checked on every input: the result is 0 or -EPROTO, the error
 * object's code is the result, its message is set exactly on error and
 * NUL-terminated; an accepted record obeys the documented bounds (pages,
 * stale fields zero, name terminated) and re-encodes to bytes that decode
 * to the same struct.
 *
 * Seeds (fuzz/corpus/fuzz_multifd_hdr/): qemu-* are real QEMU 7.2 records
 * from tests/multifd/fixtures/qemu-7.2 (initial packets, SYNC, data with
 * and without SYNC, stale empty packets; trailing zero bytes cut, which the
 * padding puts back), bad-* broken copies (magic, version, uuid, id,
 * pages_used 129, pages_alloc 129, next_packet_size off by one, method
 * mismatch, unterminated ramblock, a QEVM stream, empty). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multifd/multifd_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fz_uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                     0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };

/* The record as an exact-size heap block. */
static uint8_t *fz_record(const uint8_t *data, size_t size, size_t len)
{
    uint8_t *rec = malloc(len);
    if (!rec)
        abort();
    memset(rec, 0, len);
    memcpy(rec, data, size < len ? size : len);
    return rec;
}

/* The error object after a decode that returned r. */
static void fz_check_err(int r, const vmig_error_t *err)
{
    if (r != 0 && r != -EPROTO)
        abort();
    if (err->code != r)
        abort();
    if (memchr(err->msg, '\0', sizeof(err->msg)) == NULL)
        abort();
    if ((r == 0) != (err->msg[0] == '\0'))
        abort();
}

static void fz_init(uint8_t sel, const uint8_t *data, size_t size)
{
    uint8_t *rec = fz_record(data, size, VMIG_MULTIFD_INIT_LEN);
    const uint8_t *uuid = (sel & 2) ? fz_uuid : NULL;
    unsigned n = sel >> 2;
    vmig_multifd_init_t out, again;
    vmig_error_t err = { 0 };
    int r = vmig_multifd_init_decode(rec, uuid, n, &out, &err);
    fz_check_err(r, &err);
    if (r == 0) {
        if (out.id >= n || (uuid && memcmp(out.uuid, uuid, 16) != 0))
            abort();
        uint8_t *enc = malloc(VMIG_MULTIFD_INIT_LEN);
        if (!enc)
            abort();
        vmig_multifd_init_encode(&out, enc);
        /* magic, version, uuid and id are what was read */
        if (memcmp(enc, rec, 25) != 0)
            abort();
        vmig_error_t err2 = { 0 };
        if (vmig_multifd_init_decode(enc, uuid, n, &again, &err2) != 0 ||
            memcmp(&out, &again, sizeof(out)) != 0)
            abort();
        free(enc);
    }
    free(rec);
}

static void fz_hdr(uint8_t sel, const uint8_t *data, size_t size)
{
    static const uint32_t methods[3] = { VMIG_MULTIFD_FLAG_NOCOMP, VMIG_MULTIFD_FLAG_ZLIB,
                                         VMIG_MULTIFD_FLAG_ZSTD };
    uint32_t comp = methods[(sel >> 1) % 3];
    unsigned id = sel >> 3;
    uint8_t *rec = fz_record(data, size, VMIG_MULTIFD_HDR_LEN);
    vmig_multifd_hdr_t *out = malloc(sizeof(*out));
    vmig_multifd_hdr_t *again = malloc(sizeof(*again));
    if (!out || !again)
        abort();
    vmig_error_t err = { 0 };
    int r = vmig_multifd_hdr_decode(rec, id, comp, out, &err);
    fz_check_err(r, &err);
    if (r == 0) {
        if (out->pages_alloc > VMIG_MULTIFD_PAGES_ALLOC ||
            out->pages_used > out->pages_alloc || out->pages_used > VMIG_MULTIFD_PAGES_ALLOC)
            abort();
        if (memchr(out->ramblock, '\0', sizeof(out->ramblock)) == NULL)
            abort();
        for (uint32_t i = out->pages_used; i < VMIG_MULTIFD_PAGES_ALLOC; i++)
            if (out->offset[i] != 0)
                abort();
        if (out->pages_used == 0) {
            if (out->next_packet_size != 0 || out->ramblock[0] != '\0')
                abort();
        } else {
            if ((out->flags & VMIG_MULTIFD_FLAG_COMPRESSION_MASK) != comp)
                abort();
            if (comp == VMIG_MULTIFD_FLAG_NOCOMP
                    ? out->next_packet_size != out->pages_used * VMIG_MULTIFD_PAGE_SIZE
                    : out->next_packet_size > VMIG_MULTIFD_ZBUF_MAX)
                abort();
        }
        uint8_t *enc = malloc(VMIG_MULTIFD_HDR_LEN);
        if (!enc)
            abort();
        vmig_multifd_hdr_encode(out, enc);
        vmig_error_t err2 = { 0 };
        int r2 = vmig_multifd_hdr_decode(enc, id, comp, again, &err2);
        fz_check_err(r2, &err2);
        if (r2 != 0 || memcmp(out, again, sizeof(*out)) != 0)
            abort();
        free(enc);
    }
    free(again);
    free(out);
    free(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fz_hdr(data[0], data + 1, size - 1);
    else
        fz_init(data[0], data + 1, size - 1);
    return 0;
}
