/* ram.h — guest RAM as the engine sees it: named blocks of host memory and
 * the dirty log that tells a live migration which pages were written. */
#ifndef VMIG_RAM_H
#define VMIG_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmig/vmig.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Rules
 * - A RAM block is a named run of the embedder's host memory (QEMU's
 *   RAMBlock): name (the idstr on the wire, e.g. "mem" or "pc.ram"), host
 *   pointer, length and the size of the host pages backing it. The embedder
 *   owns the memory; the engine reads it (source) or writes it (destination)
 *   only while a migration runs, and never frees it.
 * - Blocks are added and removed on the loop's thread, never while a
 *   migration in either direction runs (-EBUSY). Blocks go on the wire in the
 *   order they were added.
 * - Dirty log, one of two per block:
 *   * the engine's own bitmap (log ops NULL): vCPU or device threads call
 *     vmig_ram_block_mark_dirty() after writing guest memory. It is lock-free
 *     (atomic OR of one word per 64 pages) and callable from any thread.
 *   * the embedder's (log ops given, e.g. the KVM dirty log): the engine asks
 *     for the pages written since the last ask, on the loop's thread.
 *   Pages are counted in target pages (4 KiB on x86) in both cases.
 */

typedef struct vmig_ram_block vmig_ram_block_t;

/* The embedder's dirty log of one block. Called on the loop's thread; each
 * call must be short (no sleeping): it runs between two monitor replies. */
typedef struct vmig_dirty_log_ops {
    /* Start logging (a migration begins): from now on every write is seen.
     * 0 or a negative errno (the migration then fails with it). */
    int (*start)(void *opaque, vmig_ram_block_t *block);
    /* Fetch and clear: OR into bitmap (npages bits, bit i = target page i,
     * word i / 64 bit i % 64) every page written since start or the previous
     * sync. 0 or a negative errno. */
    int (*sync)(void *opaque, vmig_ram_block_t *block, uint64_t *bitmap, size_t npages);
    /* Stop logging (the migration ended, whatever the outcome). */
    void (*stop)(void *opaque, vmig_ram_block_t *block);
} vmig_dirty_log_ops_t;

typedef struct vmig_ram_block_opts {
    const char *name;  /* 1..255 bytes, unique in the engine; copied */
    void *host;        /* start of the memory, aligned to page_size */
    uint64_t length;   /* bytes, a non-zero multiple of page_size */
    uint64_t page_size; /* host page size backing it (4096, 2 MiB...); 0 = 4096 */
    const vmig_dirty_log_ops_t *log_ops; /* NULL: the engine's own bitmap; else must outlive the block */
    void *log_opaque;  /* first argument of every log_ops call */
    /* The memory is shared with the destination (a file both map): with the
     * capability x-ignore-shared the block is listed but its pages are never
     * sent (QEMU's ramblock_is_ignored()). Ignored without that capability. */
    bool shared;
} vmig_ram_block_opts_t;

/* Add a block: 0, -EINVAL (bad name, alignment or length), -EEXIST (the
 * name is taken), -EBUSY (a migration runs), -ENOMEM. *out may be NULL. */
int vmig_engine_ram_add(vmig_engine_t *engine, const vmig_ram_block_opts_t *opts,
                        vmig_ram_block_t **out);
/* Remove (and free) a block: 0, -ENOENT, -EBUSY (a migration runs). */
int vmig_engine_ram_remove(vmig_engine_t *engine, vmig_ram_block_t *block);
/* The block named name, or NULL. */
vmig_ram_block_t *vmig_engine_ram_find(vmig_engine_t *engine, const char *name);

const char *vmig_ram_block_name(const vmig_ram_block_t *block);
void *vmig_ram_block_host(const vmig_ram_block_t *block);
uint64_t vmig_ram_block_length(const vmig_ram_block_t *block);
uint64_t vmig_ram_block_page_size(const vmig_ram_block_t *block);

/* Any thread, lock-free: the bytes [offset, offset + len) of block were
 * written. Only meaningful for blocks using the engine's own bitmap; ranges
 * past the end are clipped. Costs one relaxed load when no migration logs. */
void vmig_ram_block_mark_dirty(vmig_ram_block_t *block, uint64_t offset, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
