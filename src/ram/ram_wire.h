/* ram_wire.h — every constant of the "ram" section's wire format (spec/ram.md,
 * spec/xbzrle.md): record flags, the section's version, page-level limits. */
#ifndef VMIG_RAM_WIRE_H
#define VMIG_RAM_WIRE_H

/* The RAM handler's idstr, instance and the only version a loader accepts. */
#define VMIG_RAM_IDSTR "ram"
#define VMIG_RAM_VERSION 4

/* Record header: be64 = offset_in_block | flags; the flags live in the bits
 * below the target page size (12 on x86). */
#define VMIG_RAM_SAVE_FLAG_FULL 0x01          /* obsolete, never sent: rejected */
#define VMIG_RAM_SAVE_FLAG_ZERO 0x02          /* u8 fill byte follows */
#define VMIG_RAM_SAVE_FLAG_MEM_SIZE 0x04      /* block list follows; high bits = total */
#define VMIG_RAM_SAVE_FLAG_PAGE 0x08          /* one raw target page follows */
#define VMIG_RAM_SAVE_FLAG_EOS 0x10           /* end of this section body */
#define VMIG_RAM_SAVE_FLAG_CONTINUE 0x20      /* same block as previous record: no idstr */
#define VMIG_RAM_SAVE_FLAG_XBZRLE 0x40        /* u8 0x01, be16 len, len encoded bytes */
#define VMIG_RAM_SAVE_FLAG_HOOK 0x80          /* RDMA control, no data; RDMA only */
#define VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE 0x100 /* be32 len, len bytes of a zlib stream */
#define VMIG_RAM_SAVE_FLAG_MULTIFD_FLUSH 0x200 /* QEMU 8.0+ only; no data */

/* The only XBZRLE encoding byte (ENCODING_FLAG_XBZRLE). */
#define VMIG_RAM_XBZRLE_ENCODING 0x01

/* x86 target page: 4 KiB. Other targets announce theirs in the configuration
 * subsection "configuration/target-page-bits" (spec/stream.md §3). */
#define VMIG_RAM_TARGET_PAGE_BITS 12
#define VMIG_RAM_TARGET_PAGE_SIZE (1u << VMIG_RAM_TARGET_PAGE_BITS)
/* Range of target page bits QEMU targets use (arm: 10 .. 16). */
#define VMIG_RAM_PAGE_BITS_MIN 10
#define VMIG_RAM_PAGE_BITS_MAX 16

/* Setup body extras: a block's page size follows its length only with
 * postcopy-ram and a page size other than the host's; its guest-physical
 * address only with x-ignore-shared (spec/ram.md §3). */
#define VMIG_RAM_CAP_IGNORE_SHARED "x-ignore-shared"

#endif
