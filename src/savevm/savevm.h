/* savevm.h — the section framing of QEMU's migration stream (spec/stream.md
 * §3-§10): the per-VM handler registry, the writer phases and the loader. */
#ifndef VMIG_SAVEVM_H
#define VMIG_SAVEVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "savevm/savevm_wire.h"
#include "stream/stream.h"
#include "vmstate/vmstate.h"

/*
 * Rules
 * - One registry (vmig_savevm_t) per VM, owned by the engine: no globals. It
 *   lists what is migrated, in stream order, and carries the machine
 *   configuration that the header announces and the loader checks.
 * - Two kinds of entries: vmstate devices (one FULL section each at the end)
 *   and handlers with an ops table (iterative ones such as "ram" get START,
 *   PART and END sections; a handler with only save_state is a legacy device).
 * - Section ids count up from 0 in registration order and are never reused.
 *   Stream order is priority (descending), then registration order.
 * - Every function returns 0 (or a count / an id) or a negative errno value.
 *   Writer and loader errors are kept, with their message, as the stream's
 *   sticky error (vmig_stream_error_msg()): the first one wins.
 * - The writer functions may suspend the calling coroutine (flushes); over a
 *   memory channel nothing suspends.
 */

typedef struct vmig_savevm vmig_savevm_t;

/* QEMU's MigrationPriority: higher is saved (and loaded) first. The numbers
 * never travel on the wire; only the resulting order does. */
enum {
    VMIG_SAVEVM_PRI_DEFAULT = 0,
    VMIG_SAVEVM_PRI_IOMMU,
    VMIG_SAVEVM_PRI_PCI_BUS,
    VMIG_SAVEVM_PRI_VIRTIO_MEM,
    VMIG_SAVEVM_PRI_GICV3_ITS,
    VMIG_SAVEVM_PRI_GICV3,
};

/* Register with this instance id to get 1 + the largest instance id already
 * registered under the same idstr (0 for the first). */
#define VMIG_SAVEVM_INSTANCE_ANY UINT32_MAX

/* Returned by vmig_savevm_load_main() and by the command hook when a command
 * (POSTCOPY_RUN, a LISTEN handing the stream over) ends the load loop early. */
#define VMIG_SAVEVM_LOAD_QUIT 1

/* A handler's hooks; every one is optional. The stream passed in is the main
 * stream (or a package being built); the handler writes or reads its section
 * body only, never the header or footer. */
typedef struct vmig_savevm_ops {
    /* Setup phase: body of the START section. 0 or negative errno. */
    int (*save_setup)(vmig_stream_t *s, void *opaque);
    /* One PART section body: >0 when done with the current stage, 0 when it
     * still has work (later handlers then wait, §5.1 step 6), <0 on error. */
    int (*save_iterate)(vmig_stream_t *s, void *opaque);
    /* Body of the END section (VM stopped). 0 or negative errno. */
    int (*save_complete)(vmig_stream_t *s, void *opaque);
    /* Legacy non-iterative device: the whole FULL section body. */
    int (*save_state)(vmig_stream_t *s, void *opaque);
    /* Add this handler's remaining bytes to the three sums (§6). */
    void (*pending)(void *opaque, uint64_t threshold, uint64_t *precopy_only,
                    uint64_t *compatible, uint64_t *postcopy_only);
    /* Free what save_setup set up (after success or failure). */
    void (*save_cleanup)(void *opaque);
    /* Load one section body of type VMIG_VM_SECTION_*, written with
     * version_id (already checked to be <= the registered version). */
    int (*load)(vmig_stream_t *s, void *opaque, uint32_t version_id, int section_type);
    /* Before the first section is loaded / after the load ended. */
    int (*load_setup)(vmig_stream_t *s, void *opaque);
    int (*load_cleanup)(void *opaque);
    /* False: skipped in setup, iterate, complete, pending and load_setup. */
    bool (*is_active)(void *opaque);
    /* True: keeps iterating during postcopy (its END comes after it). */
    bool (*has_postcopy)(void *opaque);
} vmig_savevm_ops_t;

/* What the header announces and the loader insists on (§3, §4, §7). */
typedef struct vmig_savevm_config {
    const char *machine;           /* machine type name ("none", "pc-i440fx-7.2"); copied */
    bool send_configuration;       /* write / expect the 07 section (false only for pc <= 2.8) */
    bool send_section_footer;      /* write / check 7e footers (machine types >= 2.4) */
    bool suppress_vmdesc;          /* neither write nor skip the vmdesc trailer */
    unsigned target_page_bits;     /* log2 of the target page size: 12 on x86 */
    unsigned target_page_bits_min; /* the target's minimum; larger bits are announced */
    bool x_ignore_shared;          /* capability x-ignore-shared (validated by both ends) */
    bool validate_uuid;            /* capability validate-uuid: send the VM UUID */
    bool uuid_set;                 /* uuid below is meaningful (the VM has a UUID) */
    uint8_t uuid[VMIG_CONFIG_UUID_LEN]; /* the VM UUID, raw bytes */
} vmig_savevm_config_t;

/* Callbacks the loader needs from the incoming job (all optional). */
typedef struct vmig_savevm_load_hooks {
    void *opaque; /* passed to every hook */
    /* MIG_CMD_OPEN_RETURN_PATH: open the reverse direction. Without this hook
     * (a file) the command fails. 0 or negative errno. */
    int (*open_return_path)(void *opaque);
    /* MIG_CMD_PING on an open return path: answer MIG_RP_MSG_PONG value. */
    int (*ping)(void *opaque, uint32_t value);
    /* Every other known command (ADVISE, LISTEN, RUN, DISCARD, ENABLE_COLO,
     * RESUME, RECV_BITMAP), its length already checked against §8. Returns
     * 0, VMIG_SAVEVM_LOAD_QUIT or negative errno (with a message set on s).
     * Without this hook those commands fail with -ENOTSUP. */
    int (*command)(void *opaque, vmig_stream_t *s, unsigned cmd, const uint8_t *data,
                   size_t len);
    /* Non-fatal oddities QEMU only reports (an unexpected trailer byte). */
    void (*warn)(void *opaque, const char *msg);
} vmig_savevm_load_hooks_t;

/* ---- the registry ------------------------------------------------------------ */

/* NULL on out of memory. The configuration starts as vmig_savevm_config_init(). */
vmig_savevm_t *vmig_savevm_new(void);
void vmig_savevm_free(vmig_savevm_t *sv);

/* Defaults: machine "none", configuration and footers on, vmdesc on,
 * 12 page bits, no capabilities, no UUID. */
void vmig_savevm_config_init(vmig_savevm_config_t *cfg);
/* Copy cfg into the registry: -EINVAL for a machine name that is missing,
 * longer than 255 bytes, or page bits out of 9..20. */
int vmig_savevm_set_config(vmig_savevm_t *sv, const vmig_savevm_config_t *cfg);
const vmig_savevm_config_t *vmig_savevm_config(const vmig_savevm_t *sv);
/* The hooks used by the loader (copied; NULL = none). */
void vmig_savevm_set_load_hooks(vmig_savevm_t *sv, const vmig_savevm_load_hooks_t *hooks);

/* Register a vmstate device: it is written as one FULL section at completion
 * (unless its top-level needed() says no) with version vmsd->version_id, in
 * the place vmsd->priority gives it. idstr: 1..255 bytes of UTF-8, copied.
 * vmsd and opaque must outlive the registration. Returns the section id
 * (>= 0), or -EINVAL (bad idstr or vmsd) or -EEXIST (idstr and instance
 * already there). */
int vmig_savevm_register_vmsd(vmig_savevm_t *sv, const char *idstr, uint32_t instance_id,
                              const vmig_vmsd_t *vmsd, void *opaque);
/* Register a handler with an ops table (iterative or legacy) that writes and
 * accepts sections up to version_id. ops must outlive the registration. */
int vmig_savevm_register_handler(vmig_savevm_t *sv, const char *idstr, uint32_t instance_id,
                                 uint32_t version_id, int priority,
                                 const vmig_savevm_ops_t *ops, void *opaque);
/* Let the next n registrations' ids go unused. QEMU numbers every handler it
 * has, sent or not (-M none: timer 0, ram 2, globalstate 4); skipping the ids
 * of handlers vmig lacks gives the same section ids, and QEMU needs that: its
 * loader looks PART/END ids up among handlers whose remembered id defaults to
 * 0, so an iterative section numbered 0 would be taken for the first handler. */
void vmig_savevm_skip_section_ids(vmig_savevm_t *sv, unsigned n);
/* Remove the entry with this section id: 0 or -ENOENT. */
int vmig_savevm_unregister(vmig_savevm_t *sv, int section_id);
/* Section id of (idstr, instance_id), or -ENOENT. */
int vmig_savevm_find(const vmig_savevm_t *sv, const char *idstr, uint32_t instance_id);
/* Number of registered entries. */
size_t vmig_savevm_count(const vmig_savevm_t *sv);
/* 0, or -EPERM with "State blocked by non-migratable device '%s'" in err when
 * a registered vmsd is marked unmigratable. */
int vmig_savevm_check_migratable(const vmig_savevm_t *sv, vmig_error_t *err);

/* ---- the writer (source) ---------------------------------------------------------- */

/* Magic, version and (if configured) the configuration section (§3). */
int vmig_savevm_write_header(vmig_savevm_t *sv, vmig_stream_t *s);
/* Setup phase: a START section for each active handler with save_setup. */
int vmig_savevm_setup(vmig_savevm_t *sv, vmig_stream_t *s);
/* One iterate round (§5.1 step 6): 1 when every handler is done with its
 * stage, 0 when the round stopped early (rate limit, or a handler not done),
 * negative errno on error. In postcopy only has_postcopy handlers iterate. */
int vmig_savevm_iterate(vmig_savevm_t *sv, vmig_stream_t *s, bool postcopy);
/* Sum the pending bytes of the active handlers (§6). */
void vmig_savevm_pending(vmig_savevm_t *sv, uint64_t threshold, uint64_t *precopy_only,
                         uint64_t *compatible, uint64_t *postcopy_only);
/* END sections of the active handlers with save_complete; in postcopy the
 * has_postcopy ones are left for vmig_savevm_complete_postcopy(). */
int vmig_savevm_complete_iterable(vmig_savevm_t *sv, vmig_stream_t *s, bool in_postcopy);
/* FULL sections of every device in list order. If devices is not NULL (a JSON
 * array) a vmdesc object is appended to it for each FULL section. */
int vmig_savevm_save_devices(vmig_savevm_t *sv, vmig_stream_t *s, json_t *devices);
/* 00 */
int vmig_savevm_write_eof(vmig_stream_t *s);
/* Everything after the iterate phase of a precopy migration (§5.1 7-10):
 * END sections, FULL sections, EOF and (unless suppressed) the vmdesc trailer;
 * then flush. */
int vmig_savevm_complete_precopy(vmig_savevm_t *sv, vmig_stream_t *s);
/* End of postcopy: END sections of the has_postcopy handlers, then EOF. */
int vmig_savevm_complete_postcopy(vmig_savevm_t *sv, vmig_stream_t *s);
/* Free what the handlers set up (save_cleanup hooks). */
void vmig_savevm_save_cleanup(vmig_savevm_t *sv);

/* The vmdesc JSON object {"page_size": N, "devices": devices} (takes a
 * reference to devices); NULL on out of memory. */
json_t *vmig_savevm_vmdesc_new(const vmig_savevm_t *sv, json_t *devices);
/* Its exact text as QEMU writes it (compact, ", " and ": "); free() it. */
char *vmig_savevm_vmdesc_text(const json_t *vmdesc);
/* 06 be32-length JSON-text. */
int vmig_savevm_write_vmdesc(vmig_stream_t *s, const json_t *vmdesc);

/* Commands (§8): 08 cmd(be16) len(be16) data, then a flush so the peer sees
 * it now. */
int vmig_savevm_send_command(vmig_stream_t *s, unsigned cmd, const void *data, size_t len);
int vmig_savevm_send_open_return_path(vmig_stream_t *s);
int vmig_savevm_send_ping(vmig_stream_t *s, uint32_t value);
/* PACKAGED: the command with be32 len, then the len bytes of the package
 * (sections and commands, no header); len <= VMIG_CMD_PACKAGED_MAX. */
int vmig_savevm_send_packaged(vmig_stream_t *s, const void *buf, size_t len);

/* ---- the loader (destination) ------------------------------------------------------ */

/* ---- the return path (savevm_rp.c) ---- */

/* One return-path message as the source reads it. */
typedef struct vmig_rp_msg {
    unsigned type;  /* VMIG_RP_MSG_* */
    uint32_t value; /* SHUT, PONG, RESUME_ACK */
    uint64_t start; /* REQ_PAGES(_ID): first byte in the block */
    uint32_t len;   /* REQ_PAGES(_ID): bytes asked for */
    char name[256]; /* REQ_PAGES_ID, RECV_BITMAP: the block (NUL-free, 1..255 bytes) */
} vmig_rp_msg_t;

#define VMIG_RP_END 0 /* vmig_rp_read(): the destination closed between messages */
#define VMIG_RP_MSG 1 /* vmig_rp_read(): *msg holds a well-formed message */

/* Read one message: VMIG_RP_MSG, VMIG_RP_END, -EPROTO with err set for a
 * malformed one (unknown type, wrong length, bad name), or the stream's
 * own error (err untouched: the main channel tells the story). */
int vmig_rp_read(vmig_stream_t *s, vmig_rp_msg_t *msg, vmig_error_t *err);
/* Write a message with a be32 value (SHUT, PONG, RESUME_ACK) and flush. */
int vmig_rp_write_value(vmig_stream_t *s, unsigned type, uint32_t value);
const char *vmig_rp_msg_name(unsigned type);

/* The whole incoming stream: header, load_setup hooks, the load loop up to
 * EOF, the vmdesc trailer (skipped; a short or missing one is fine), then the
 * load_cleanup hooks. 0, VMIG_SAVEVM_LOAD_QUIT (a command ended the loop
 * before EOF; cleanup is then the caller's) or negative errno with the
 * message on s. A short stream is -EIO naming the byte offset. */
int vmig_savevm_load(vmig_savevm_t *sv, vmig_stream_t *s);

/* The same in steps, for postcopy and tests. */
int vmig_savevm_load_header(vmig_savevm_t *sv, vmig_stream_t *s);
int vmig_savevm_load_setup(vmig_savevm_t *sv, vmig_stream_t *s);
/* The loop of §10 until EOF (0), a quitting command (VMIG_SAVEVM_LOAD_QUIT),
 * or an error. Also runs on the package of a PACKAGED command. */
int vmig_savevm_load_main(vmig_savevm_t *sv, vmig_stream_t *s);
/* Skip the vmdesc trailer after EOF; never fails on a short one. */
int vmig_savevm_load_vmdesc(vmig_savevm_t *sv, vmig_stream_t *s);
void vmig_savevm_load_cleanup(vmig_savevm_t *sv);

#endif
