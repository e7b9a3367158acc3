/* fuzz_multifd_zlib.c — libFuzzer harness of the multifd zlib decoder
 * (src/multifd/multifd_codec.c): any payload is decoded or refused cleanly.
 * fuzz_multifd_zstd.c is this file with FZ_METHOD set to zstd.
 *
 * Input: byte 0 = mode and page count, n = (byte0 & 0x7f) + 1 (1..128).
 * Bit 7 clear: the rest is one packet's payload, decoded into n pages.
 * Bit 7 set: two packets in sequence on one decoder: byte 1 = the second
 * packet's page count - 1 (low 7 bits), bytes 2-3 the first payload's
 * length (le16, clipped to what there is), then the two payloads.
 * Pages are exact-size heap blocks, so a write outside them is an ASan
 * error. Checked on every decode: 0, -EPROTO or -EIO; the message empty
 * exactly on success and NUL-terminated; after an error the decoder refuses
 * everything with -EIO; an accepted single packet decodes the same again on
 * a fresh decoder (no state outside the stream).
 *
 * Seeds (fuzz/corpus/<harness>/): ok-* made by vmig_multifd_encode at
 * level 1 (text, random, zero-ish pages; pairs of consecutive packets of
 * one stream), bad-* broken copies (truncated, trailing bytes, page count
 * off by one, the other method's data, empty, a 1 MiB zero "bomb", a pair
 * whose first packet is torn). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multifd/multifd_codec.h"
#include "multifd/multifd_wire.h"

#ifndef FZ_METHOD
#define FZ_METHOD VMIG_MULTIFD_FLAG_ZLIB
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PAGE 4096u
#define FZ_MAXP 128u

typedef struct {
    uint8_t *p[FZ_MAXP];
    size_t n;
} fz_pages_t;

static void fz_pages_new(fz_pages_t *pg, size_t n)
{
    pg->n = n;
    for (size_t i = 0; i < n; i++) {
        pg->p[i] = malloc(FZ_PAGE);
        if (!pg->p[i])
            abort();
        memset(pg->p[i], 0xa5, FZ_PAGE);
    }
}

static void fz_pages_free(fz_pages_t *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        free(pg->p[i]);
}

/* One decode with the invariants checked; the payload goes in an
 * exact-size copy so that a read past it is caught too. */
static int fz_decode(vmig_multifd_codec_t *dec, const uint8_t *in, size_t len, fz_pages_t *pg)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, in, len);
    char msg[160];
    memset(msg, 'x', sizeof msg);
    int r = vmig_multifd_decode(dec, copy, len, pg->p, pg->n, FZ_PAGE, msg, sizeof msg);
    free(copy);
    if (r != 0 && r != -EPROTO && r != -EIO)
        abort();
    if (memchr(msg, '\0', sizeof msg) == NULL)
        abort();
    if ((r == 0) != (msg[0] == '\0'))
        abort();
    return r;
}

static void fz_single(const uint8_t *in, size_t len, size_t n)
{
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(FZ_METHOD);
    if (!dec)
        abort();
    fz_pages_t pg;
    fz_pages_new(&pg, n);
    int r = fz_decode(dec, in, len, &pg);
    if (r != 0 && fz_decode(dec, in, len, &pg) != -EIO)
        abort(); /* a broken stream stays broken */
    if (r == 0) {
        vmig_multifd_codec_t *again = vmig_multifd_decoder_new(FZ_METHOD);
        fz_pages_t pg2;
        fz_pages_new(&pg2, n);
        if (!again || fz_decode(again, in, len, &pg2) != 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if (memcmp(pg.p[i], pg2.p[i], FZ_PAGE) != 0)
                abort();
        fz_pages_free(&pg2);
        vmig_multifd_codec_free(again);
    }
    fz_pages_free(&pg);
    vmig_multifd_codec_free(dec);
}

static void fz_pair(const uint8_t *data, size_t size, size_t n1)
{
    if (size < 4)
        return;
    size_t n2 = (size_t)(data[1] & 0x7f) + 1;
    size_t len1 = (size_t)data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (len1 > size)
        len1 = size;
    vmig_multifd_codec_t *dec = vmig_multifd_decoder_new(FZ_METHOD);
    if (!dec)
        abort();
    fz_pages_t pg1, pg2;
    fz_pages_new(&pg1, n1);
    fz_pages_new(&pg2, n2);
    int r1 = fz_decode(dec, data, len1, &pg1);
    int r2 = fz_decode(dec, data + len1, size - len1, &pg2);
    if (r1 != 0 && r2 != -EIO)
        abort();
    fz_pages_free(&pg2);
    fz_pages_free(&pg1);
    vmig_multifd_codec_free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = (size_t)(data[0] & 0x7f) + 1;
    if (data[0] & 0x80)
        fz_pair(data, size, n);
    else
        fz_single(data + 1, size - 1, n);
    return 0;
}
