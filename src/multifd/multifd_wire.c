/* multifd_wire.c — the byte layout and the receiver's checks of a multifd
 * channel's initial packet and packet headers (spec/multifd.md §3-§4). */
#include "multifd/multifd_wire.h"
#include "util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Header field offsets (spec/multifd.md §4). */
enum {
    HDR_MAGIC = 0,
    HDR_VERSION = 4,
    HDR_FLAGS = 8,
    HDR_PAGES_ALLOC = 12,
    HDR_PAGES_USED = 16,
    HDR_NEXT_SIZE = 20,
    HDR_PACKET_NUM = 24,
    HDR_RAMBLOCK = 64,
    HDR_OFFSETS = VMIG_MULTIFD_HDR_FIXED_LEN,
};

/* Initial packet field offsets (spec/multifd.md §3). */
enum {
    INIT_MAGIC = 0,
    INIT_VERSION = 4,
    INIT_UUID = 8,
    INIT_ID = 24,
};

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* The standard 8-4-4-4-12 lowercase form, as QEMU prints a uuid in its
 * mismatch message. */
void vmig_multifd_init_encode(const vmig_multifd_init_t *in, uint8_t out[VMIG_MULTIFD_INIT_LEN])
{
    memset(out, 0, VMIG_MULTIFD_INIT_LEN);
    put_be32(out + INIT_MAGIC, VMIG_MULTIFD_MAGIC);
    put_be32(out + INIT_VERSION, VMIG_MULTIFD_VERSION);
    memcpy(out + INIT_UUID, in->uuid, sizeof(in->uuid));
    out[INIT_ID] = in->id;
}

int vmig_multifd_init_decode(const uint8_t in[VMIG_MULTIFD_INIT_LEN], const uint8_t *expect_uuid,
                             unsigned nchannels, vmig_multifd_init_t *out, vmig_error_t *err)
{
    memset(out, 0, sizeof(*out));
    uint32_t magic = get_be32(in + INIT_MAGIC);
    if (magic != VMIG_MULTIFD_MAGIC)
        return vmig_error_set(err, -EPROTO, "multifd: received packet magic %x expected %x",
                              magic, VMIG_MULTIFD_MAGIC);
    uint32_t version = get_be32(in + INIT_VERSION);
    if (version != VMIG_MULTIFD_VERSION)
        return vmig_error_set(err, -EPROTO, "multifd: received packet version %u expected %u",
                              version, VMIG_MULTIFD_VERSION);
    uint8_t id = in[INIT_ID];
    if (expect_uuid && memcmp(in + INIT_UUID, expect_uuid, 16) != 0) {
        char got[VMIG_UUID_TEXT_LEN], want[VMIG_UUID_TEXT_LEN];
        vmig_uuid_format(in + INIT_UUID, got);
        vmig_uuid_format(expect_uuid, want);
        /* %hhd: QEMU prints the id as a signed char, so do we (200 is -56). */
        return vmig_error_set(err, -EPROTO,
                              "multifd: received uuid '%s' and expected uuid '%s' "
                              "for channel %hhd",
                              got, want, (signed char)id);
    }
    /* QEMU 7.2 only refuses id > N, with a copy-pasted "received channel
     * version" text; id == N would index past its channel array. */
    if (id >= nchannels)
        return vmig_error_set(err, -EPROTO,
                              "multifd: received channel id %u and expected an id below %u",
                              (unsigned)id, nchannels);
    memcpy(out->uuid, in + INIT_UUID, sizeof(out->uuid));
    out->id = id;
    return 0;
}

void vmig_multifd_hdr_encode(const vmig_multifd_hdr_t *h, uint8_t out[VMIG_MULTIFD_HDR_LEN])
{
    memset(out, 0, VMIG_MULTIFD_HDR_LEN);
    put_be32(out + HDR_MAGIC, VMIG_MULTIFD_MAGIC);
    put_be32(out + HDR_VERSION, VMIG_MULTIFD_VERSION);
    put_be32(out + HDR_FLAGS, h->flags);
    put_be32(out + HDR_PAGES_ALLOC, h->pages_alloc);
    put_be32(out + HDR_PAGES_USED, h->pages_used);
    put_be32(out + HDR_NEXT_SIZE, h->next_packet_size);
    put_be64(out + HDR_PACKET_NUM, h->packet_num);
    /* strncpy semantics, as QEMU fills it: NUL padding, no terminator
     * added when the name fills all 256 bytes. */
    memcpy(out + HDR_RAMBLOCK, h->ramblock, strnlen(h->ramblock, VMIG_MULTIFD_RAMBLOCK_LEN));
    uint32_t n = h->pages_used;
    if (n > VMIG_MULTIFD_PAGES_ALLOC)
        n = VMIG_MULTIFD_PAGES_ALLOC;
    for (uint32_t i = 0; i < n; i++)
        put_be64(out + HDR_OFFSETS + 8u * i, h->offset[i]);
}

static bool comp_known(uint32_t c)
{
    return c == VMIG_MULTIFD_FLAG_NOCOMP || c == VMIG_MULTIFD_FLAG_ZLIB ||
           c == VMIG_MULTIFD_FLAG_ZSTD;
}

int vmig_multifd_hdr_decode(const uint8_t in[VMIG_MULTIFD_HDR_LEN], unsigned channel_id,
                            uint32_t expect_comp, vmig_multifd_hdr_t *out, vmig_error_t *err)
{
    /* Zeroed first: whatever the outcome, *out holds nothing from an earlier
     * packet, and the fields this packet leaves undefined read as 0. */
    memset(out, 0, sizeof(*out));
    if (!comp_known(expect_comp))
        return vmig_error_set(err, -EINVAL, "multifd %u: unknown compression method %x",
                              channel_id, expect_comp);
    /* Packet texts differ from the initial packet's ("and expected magic"):
     * both are QEMU 7.2's. */
    uint32_t magic = get_be32(in + HDR_MAGIC);
    if (magic != VMIG_MULTIFD_MAGIC)
        return vmig_error_set(err, -EPROTO,
                              "multifd: received packet magic %x and expected magic %x", magic,
                              VMIG_MULTIFD_MAGIC);
    uint32_t version = get_be32(in + HDR_VERSION);
    if (version != VMIG_MULTIFD_VERSION)
        return vmig_error_set(err, -EPROTO,
                              "multifd: received packet version %u and expected version %u",
                              version, VMIG_MULTIFD_VERSION);
    uint32_t flags = get_be32(in + HDR_FLAGS);
    uint32_t alloc = get_be32(in + HDR_PAGES_ALLOC);
    /* As a 7.2 receiver (checked against it; the spec's bound of 100
     * packets is older): nothing above its own 128. */
    if (alloc > VMIG_MULTIFD_PAGES_ALLOC)
        return vmig_error_set(err, -EPROTO,
                              "multifd: received packet with size %u and expected a size of %u",
                              alloc, VMIG_MULTIFD_PAGES_ALLOC);
    uint32_t used = get_be32(in + HDR_PAGES_USED);
    if (used > alloc)
        return vmig_error_set(err, -EPROTO,
                              "multifd: received packet with %u pages and expected "
                              "maximum pages are %u",
                              used, alloc);
    out->flags = flags;
    out->pages_alloc = alloc;
    out->pages_used = used;
    out->packet_num = get_be64(in + HDR_PACKET_NUM);
    /* Without pages, QEMU leaves next_packet_size, ramblock and the offsets
     * of its previous packet in place, and its own receiver ignores them and
     * the compression bits (a 7.2 zlib/zstd source sends SYNC as flags 0x1):
     * so do we. */
    if (used == 0)
        return 0;

    uint32_t comp = flags & VMIG_MULTIFD_FLAG_COMPRESSION_MASK;
    if (comp != expect_comp)
        return vmig_error_set(err, -EPROTO, "multifd %u: flags received %x flags expected %x",
                              channel_id, comp, expect_comp);
    uint32_t next = get_be32(in + HDR_NEXT_SIZE);
    if (expect_comp == VMIG_MULTIFD_FLAG_NOCOMP) {
        /* QEMU 7.2 reads used pages whatever the field says; a mismatch is
         * a broken sender, and the caller sizes its read by this field. */
        uint32_t want = used * VMIG_MULTIFD_PAGE_SIZE;
        if (next != want)
            return vmig_error_set(err, -EPROTO,
                                  "multifd %u: packet size received %u size expected %u",
                                  channel_id, next, want);
    } else if (next > VMIG_MULTIFD_ZBUF_MAX) {
        return vmig_error_set(err, -EPROTO,
                              "multifd %u: received packet with %u bytes of compressed pages and "
                              "expected a maximum of %u",
                              channel_id, next, VMIG_MULTIFD_ZBUF_MAX);
    }
    out->next_packet_size = next;
    /* Byte 255 is forced to NUL as QEMU does: an unterminated name is cut
     * to 255 bytes and then fails the caller's block lookup. Bytes after
     * the NUL stay zero so that the header re-encodes to what decodes to
     * this same struct. */
    memcpy(out->ramblock, in + HDR_RAMBLOCK,
           strnlen((const char *)in + HDR_RAMBLOCK, VMIG_MULTIFD_RAMBLOCK_LEN - 1));
    for (uint32_t i = 0; i < used; i++)
        out->offset[i] = get_be64(in + HDR_OFFSETS + 8u * i);
    return 0;
}
