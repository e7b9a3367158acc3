/* multifd_wire.h — every constant of the multifd channels' wire format
 * (spec/multifd.md §3-§4, QEMU 7.2) and the codecs of the two fixed-size
 * records: the 64-byte initial packet and the 1344-byte packet header. */
#ifndef VMIG_MULTIFD_WIRE_H
#define VMIG_MULTIFD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmig/error.h"

#define VMIG_MULTIFD_MAGIC 0x11223344u
#define VMIG_MULTIFD_VERSION 1u

/* Packet flags: bit 0 SYNC, bits 1..3 the compression method. */
#define VMIG_MULTIFD_FLAG_SYNC 0x1u
#define VMIG_MULTIFD_FLAG_COMPRESSION_MASK 0xEu
#define VMIG_MULTIFD_FLAG_NOCOMP 0x0u
#define VMIG_MULTIFD_FLAG_ZLIB 0x2u
#define VMIG_MULTIFD_FLAG_ZSTD 0x4u

/* A packet carries at most 512 KiB of pages: 128 target pages of 4 KiB. */
#define VMIG_MULTIFD_PACKET_SIZE (512u * 1024u)
#define VMIG_MULTIFD_PAGE_SIZE 4096u
#define VMIG_MULTIFD_PAGES_ALLOC (VMIG_MULTIFD_PACKET_SIZE / VMIG_MULTIFD_PAGE_SIZE)
/* Compressed payloads are at most twice the packet (QEMU's buffer). */
#define VMIG_MULTIFD_ZBUF_MAX (2u * VMIG_MULTIFD_PACKET_SIZE)

#define VMIG_MULTIFD_INIT_LEN 64u
#define VMIG_MULTIFD_RAMBLOCK_LEN 256u
/* Header before the offset array: magic .. ramblock. */
#define VMIG_MULTIFD_HDR_FIXED_LEN 320u
/* The whole header: the offset array is always sent in full. */
#define VMIG_MULTIFD_HDR_LEN (VMIG_MULTIFD_HDR_FIXED_LEN + 8u * VMIG_MULTIFD_PAGES_ALLOC)

/* multifd-channels: 1..255, default 2. */
#define VMIG_MULTIFD_CHANNELS_MAX 255u

/* The initial packet of a channel. */
typedef struct vmig_multifd_init {
    uint8_t uuid[16]; /* the VM's UUID, all zero when it has none */
    uint8_t id;       /* channel number, 0 .. channels-1 */
} vmig_multifd_init_t;

/* Writes the 64 bytes (unused fields zero). */
void vmig_multifd_init_encode(const vmig_multifd_init_t *in, uint8_t out[VMIG_MULTIFD_INIT_LEN]);
/* Parses and checks 64 bytes read from a new channel: magic, version, the
 * uuid against expect_uuid (NULL: not checked), id < nchannels. 0, or
 * -EPROTO with QEMU 7.2's message in err ("multifd: received packet magic
 * %x expected %x", ...). Whether the id is already connected is the
 * caller's check ("multifd: received id '%d' already setup'"). */
int vmig_multifd_init_decode(const uint8_t in[VMIG_MULTIFD_INIT_LEN], const uint8_t *expect_uuid,
                             unsigned nchannels, vmig_multifd_init_t *out, vmig_error_t *err);

/* A packet header. */
typedef struct vmig_multifd_hdr {
    uint32_t flags;            /* SYNC | compression */
    uint32_t pages_alloc;      /* the sender's capacity (128) */
    uint32_t pages_used;       /* pages in this packet */
    uint32_t next_packet_size; /* payload bytes after the header (stale when pages_used is 0) */
    uint64_t packet_num;       /* sequence number across the channels */
    char ramblock[VMIG_MULTIFD_RAMBLOCK_LEN]; /* block idstr, NUL-terminated */
    uint64_t offset[VMIG_MULTIFD_PAGES_ALLOC]; /* byte offsets in the block, pages_used of them */
} vmig_multifd_hdr_t;

/* Writes VMIG_MULTIFD_HDR_LEN bytes: pages_alloc is written as given,
 * ramblock NUL-padded, offsets past pages_used zero. */
void vmig_multifd_hdr_encode(const vmig_multifd_hdr_t *h, uint8_t out[VMIG_MULTIFD_HDR_LEN]);
/* Parses and checks VMIG_MULTIFD_HDR_LEN bytes read on channel id: magic,
 * version, pages_alloc (at most VMIG_MULTIFD_PAGES_ALLOC, as a 7.2 receiver:
 * "multifd: received packet with size %u and expected a size of %u"),
 * pages_used (at most pages_alloc); then, only for a packet with pages
 * (7.2 sends empty packets, SYNC or not, with stale fields and without
 * compression bits): the compression bits against expect_comp (one of the
 * VMIG_MULTIFD_FLAG_* methods), next_packet_size (exactly pages_used pages
 * without compression, at most VMIG_MULTIFD_ZBUF_MAX with), the ramblock
 * name cut at byte 255 (as QEMU; an unknown name fails later). Fields of an
 * empty packet other than flags, pages_* and packet_num read as zero. The
 * block's existence and the offsets against its length are the caller's
 * checks (it knows the blocks). 0, or -EPROTO with QEMU 7.2's message where
 * it has one (-EINVAL for an unknown expect_comp). */
int vmig_multifd_hdr_decode(const uint8_t in[VMIG_MULTIFD_HDR_LEN], unsigned channel_id,
                            uint32_t expect_comp, vmig_multifd_hdr_t *out, vmig_error_t *err);

#endif
