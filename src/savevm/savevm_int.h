/* savevm_int.h — the registry's insides, shared by the savevm_*.c files only:
 * entries, the configuration copy and the per-load state. */
#ifndef VMIG_SAVEVM_INT_H
#define VMIG_SAVEVM_INT_H

#include "savevm/savevm.h"

/* One registered handler or device ("savevm state entry"). */
typedef struct vmig_savevm_entry {
    struct vmig_savevm_entry *next;  /* list in stream order: priority desc, then id */
    char idstr[VMIG_VM_IDSTR_MAX + 1]; /* section name, NUL-terminated */
    size_t idlen;                    /* strlen(idstr), 1..255 */
    uint32_t instance_id;            /* distinguishes entries with the same idstr */
    uint32_t section_id;             /* assigned at registration, from 0 */
    uint32_t version_id;             /* version written; newest version accepted */
    int priority;                    /* VMIG_SAVEVM_PRI_*: list order */
    const vmig_savevm_ops_t *ops;    /* hooks, or NULL for a vmstate device */
    const vmig_vmsd_t *vmsd;         /* description, or NULL for an ops handler */
    void *opaque;                    /* the device / handler state */
    bool load_seen;                  /* a START/FULL for it arrived in this load */
    uint32_t load_section_id;        /* section id the stream gave it */
    uint32_t load_version_id;        /* version the stream gave it */
} vmig_savevm_entry_t;

struct vmig_savevm {
    vmig_savevm_entry_t *head;          /* every entry, in stream order */
    size_t count;                       /* entries on the list */
    uint32_t next_section_id;           /* id the next registration gets */
    vmig_savevm_config_t cfg;           /* configuration; cfg.machine points to machine[] */
    char machine[VMIG_VM_IDSTR_MAX + 1]; /* copy of the machine type name */
    vmig_savevm_load_hooks_t hooks;     /* loader callbacks (zeroed = none) */
    bool rp_open;                       /* this load opened a return path */
    unsigned load_depth;                /* PACKAGED nesting: at most one level */
};

/* Is the entry active (no is_active hook, or it says yes)? */
bool vmig_savevm_entry_active(const vmig_savevm_entry_t *se);

/* The configuration section body (without the 07 byte) and its loader. */
void vmig_savevm_put_config(const vmig_savevm_t *sv, vmig_stream_t *s);
int vmig_savevm_get_config(vmig_savevm_t *sv, vmig_stream_t *s);

/* The vmdesc object of one FULL section: vmsd device or legacy handler. */
json_t *vmig_savevm_vmdesc_device(const vmig_savevm_entry_t *se);

/* If the stream ends before n (<= 512) more bytes, consume what is left and
 * latch the stream's truncation error (-EIO naming the offset) and return
 * it; else 0. For headers a peek found cut short: that is a truncation. */
int vmig_savevm_cut_within(vmig_stream_t *s, size_t n);

/* Read one command after its 08 byte (savevm_load_cmd.c). */
int vmig_savevm_load_command(vmig_savevm_t *sv, vmig_stream_t *s);

/* A step failed with r: when the stream already keeps an error (the inner
 * cause: a truncation, a field a vmstate loader rejected) put this context in
 * front of its message; else keep r with this message. Returns the kept code. */
int vmig_savevm_fail(vmig_stream_t *s, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
