/* savevm_wire.h — every constant of QEMU's top-level migration stream format
 * (spec/stream.md): header, section types, footer, commands, return path. */
#ifndef VMIG_SAVEVM_WIRE_H
#define VMIG_SAVEVM_WIRE_H

#define VMIG_VM_FILE_MAGIC 0x5145564du /* "QEVM" */
#define VMIG_VM_FILE_VERSION_COMPAT 0x00000002u /* obsolete v2: rejected */
#define VMIG_VM_FILE_VERSION 0x00000003u

/* Section and record types (one byte). */
#define VMIG_VM_EOF 0x00
#define VMIG_VM_SECTION_START 0x01
#define VMIG_VM_SECTION_PART 0x02
#define VMIG_VM_SECTION_END 0x03
#define VMIG_VM_SECTION_FULL 0x04
#define VMIG_VM_SUBSECTION 0x05
#define VMIG_VM_VMDESCRIPTION 0x06
#define VMIG_VM_CONFIGURATION 0x07
#define VMIG_VM_COMMAND 0x08
#define VMIG_VM_SECTION_FOOTER 0x7e

/* idstr is a u8-counted string: at most 255 bytes. */
#define VMIG_VM_IDSTR_MAX 255

/* The configuration section (07): vmstate "configuration" v1 and its
 * subsections, each written as 05 len name be32-version body. */
#define VMIG_CONFIG_VMSD_NAME "configuration"
#define VMIG_CONFIG_VERSION 1
#define VMIG_CONFIG_SUB_PAGE_BITS "configuration/target-page-bits"
#define VMIG_CONFIG_SUB_CAPS "configuration/capabilities"
#define VMIG_CONFIG_SUB_UUID "configuration/uuid"
#define VMIG_CONFIG_SUB_VERSION 1 /* all three subsections are v1 */
#define VMIG_CONFIG_UUID_LEN 16
/* x86's target page bits: the minimum, so the subsection is never sent. */
#define VMIG_TARGET_PAGE_BITS_DEFAULT 12

/* Capability names as they travel in configuration/capabilities: QEMU 7.2's
 * MigrationCapability enumeration. Only the validated ones are ever sent. */
#define VMIG_CAP_X_IGNORE_SHARED "x-ignore-shared" /* the only validated one */
#define VMIG_CAPABILITY_NAMES(XX)                                              \
    XX("xbzrle") XX("rdma-pin-all") XX("auto-converge") XX("zero-blocks")      \
    XX("compress") XX("events") XX("postcopy-ram") XX("x-colo")                \
    XX("release-ram") XX("block") XX("return-path")                           \
    XX("pause-before-switchover") XX("multifd") XX("dirty-bitmaps")           \
    XX("postcopy-blocktime") XX("late-block-activate") XX("x-ignore-shared")  \
    XX("validate-uuid") XX("background-snapshot") XX("zero-copy-send")        \
    XX("postcopy-preempt")

/* In-band commands: 08 cmd(be16) len(be16) data(len). */
#define VMIG_CMD_INVALID 0
#define VMIG_CMD_OPEN_RETURN_PATH 1
#define VMIG_CMD_PING 2
#define VMIG_CMD_POSTCOPY_ADVISE 3
#define VMIG_CMD_POSTCOPY_LISTEN 4
#define VMIG_CMD_POSTCOPY_RUN 5
#define VMIG_CMD_POSTCOPY_RAM_DISCARD 6
#define VMIG_CMD_PACKAGED 7
#define VMIG_CMD_ENABLE_COLO 8
#define VMIG_CMD_POSTCOPY_RESUME 9
#define VMIG_CMD_RECV_BITMAP 10
#define VMIG_CMD_MAX 11
#define VMIG_CMD_PACKAGED_MAX (1u << 24) /* 16 MiB */

/* Return path messages: type(be16) len(be16) data(len). */
#define VMIG_RP_MSG_INVALID 0
#define VMIG_RP_MSG_SHUT 1
#define VMIG_RP_MSG_PONG 2
#define VMIG_RP_MSG_REQ_PAGES_ID 3
#define VMIG_RP_MSG_REQ_PAGES 4
#define VMIG_RP_MSG_RECV_BITMAP 5
#define VMIG_RP_MSG_RESUME_ACK 6
#define VMIG_RP_MSG_MAX 7
#define VMIG_RP_RECV_BITMAP_ENDING 0x0123456789abcdefull
#define VMIG_RP_RESUME_ACK_VALUE 1

/* The vmdesc JSON trailer is never allowed to be larger than this on load. */
#define VMIG_VMDESC_MAX (16u << 20)

#endif
