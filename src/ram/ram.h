/* ram.h — the RAM layer inside the library: the engine's list of RAM blocks
 * with their dirty bitmaps, and the "ram" savevm handler (spec/ram.md) that
 * sends and loads pages, with QEMU's counters. */
#ifndef VMIG_RAM_RAM_H
#define VMIG_RAM_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "savevm/savevm.h"
#include "vmig/ram.h"

/*
 * Rules
 * - One vmig_ram_t per engine (no globals): the block list, the state of an
 *   outgoing RAM migration (migration bitmaps, scan cursor, counters) and of
 *   an incoming one (received bitmaps). Loop thread only, except
 *   vmig_ram_block_mark_dirty().
 * - vmig_ram_register() adds the "ram" handler (version 4) to a savevm
 *   registry; the migration job drives it through savevm (setup, iterate,
 *   pending, complete; load_setup, load, load_cleanup).
 * - The save side runs in the migration coroutine. It never keeps the loop
 *   busy for more than VMIG_RAM_YIELD_US at a time: long scans co_pause().
 *   Normal pages are queued with vmig_stream_put_buffer_nocopy(): the guest
 *   keeps running and may change a page before it is flushed, which is fine
 *   because the dirty log has marked it again.
 * - The load side checks every block name, length and offset against the
 *   registered blocks before touching memory: a stream for another layout
 *   fails with a message and writes nothing outside the blocks.
 */

typedef struct vmig_ram vmig_ram_t;

/* Longest stretch of CPU work on the loop between two yields. */
#define VMIG_RAM_YIELD_US 500
/* QEMU's MAX_WAIT: one iterate call stops after this long. */
#define VMIG_RAM_ITERATE_MAX_MS 50

/* The counters of query-migrate's "ram" object that the RAM layer keeps
 * (spec/ram.md §10). Rates and mbps are computed by the migration job. */
typedef struct vmig_ram_counters {
    uint64_t transferred;      /* bytes of page records + 8 per iterate EOS */
    uint64_t duplicate;        /* zero pages sent */
    uint64_t normal;           /* full pages sent */
    uint64_t precopy_bytes;    /* part of transferred sent while the VM ran */
    uint64_t downtime_bytes;   /* part sent while it was stopped for switch-over */
    uint64_t postcopy_bytes;   /* part sent in postcopy */
    uint64_t dirty_sync_count; /* bitmap syncs */
    uint64_t dirty_pages_rate; /* pages dirtied per second over the last >= 1 s period */
    uint64_t postcopy_requests; /* page requests served */
    uint64_t multifd_bytes;    /* bytes queued to multifd channels */
    uint64_t dirty_sync_missed_zero_copy; /* always 0 (no zero-copy send) */
} vmig_ram_counters_t;

/* Where the bytes being sent are counted (precopy/downtime/postcopy-bytes). */
typedef enum vmig_ram_phase {
    VMIG_RAM_PHASE_PRECOPY,  /* VM running */
    VMIG_RAM_PHASE_DOWNTIME, /* VM stopped for the switch-over */
    VMIG_RAM_PHASE_POSTCOPY, /* postcopy started */
} vmig_ram_phase_t;

/* What an outgoing migration asks of the RAM handler; set before setup. */
typedef struct vmig_ram_save_opts {
    bool auto_converge;            /* capability auto-converge */
    unsigned throttle_trigger_threshold; /* % (1..100) */
    unsigned cpu_throttle_initial; /* % (1..99) */
    unsigned cpu_throttle_increment; /* % (1..99) */
    bool cpu_throttle_tailslow;    /* parameter cpu-throttle-tailslow */
    unsigned max_cpu_throttle;     /* % (1..99) */
    /* Apply a throttle percentage (0 = none); NULL: auto-converge has no effect. */
    void (*set_throttle)(void *opaque, int percent);
    void *throttle_opaque;
    bool postcopy_ram;             /* capability postcopy-ram (setup body extras) */
    bool x_ignore_shared;          /* capability x-ignore-shared (setup body extras) */
    bool xbzrle;                   /* capability xbzrle (after the first round) */
    uint64_t xbzrle_cache_size;    /* bytes, a power of two >= the target page; live: resize */
    bool compress;                 /* capability compress (first round only with xbzrle) */
    unsigned compress_level;       /* 0..9; live */
    unsigned compress_threads;     /* 1..255: pool jobs in flight at most */
    bool compress_wait_thread;     /* wait for a pool slot rather than send uncompressed */
} vmig_ram_save_opts_t;

/* query-migrate's "compression" counters (spec/ram.md §10, QEMU 7.2). */
typedef struct vmig_ram_compress_stats {
    uint64_t pages;            /* pages sent compressed */
    uint64_t busy;             /* pages sent uncompressed because no pool slot was free */
    uint64_t compressed_size;  /* record bytes minus the 8-byte header word */
    double busy_rate;          /* Δbusy / Δtarget pages over the last rate period */
    double compression_rate;   /* Δpages × page size / Δcompressed_size over the last period */
    uint64_t busy_prev, pages_prev, size_prev, target_prev; /* values at the last rate update */
} vmig_ram_compress_stats_t;

/* What an incoming migration asks of the RAM loader; set before the load.
 * XBZRLE records need no option: QEMU's loader decodes them whatever its
 * capabilities (spec/xbzrle.md §2). */
typedef struct vmig_ram_load_opts {
    bool compress;               /* capability compress: COMPRESS_PAGE records accepted */
    unsigned decompress_threads; /* parameter decompress-threads (1..255) */
} vmig_ram_load_opts_t;

/* ---- the block list ---------------------------------------------------------- */

/* NULL on out of memory. */
vmig_ram_t *vmig_ram_new(void);
/* Frees every block (the memory stays the embedder's). */
void vmig_ram_free(vmig_ram_t *ram);
/* See vmig_engine_ram_add(): same checks and errors. */
int vmig_ram_add(vmig_ram_t *ram, const vmig_ram_block_opts_t *opts, vmig_ram_block_t **out);
int vmig_ram_remove(vmig_ram_t *ram, vmig_ram_block_t *block);
vmig_ram_block_t *vmig_ram_find(const vmig_ram_t *ram, const char *name);
size_t vmig_ram_count(const vmig_ram_t *ram);
/* Sum of the blocks' lengths (query-migrate "total"). */
uint64_t vmig_ram_total(const vmig_ram_t *ram);
/* True while an outgoing or incoming RAM migration uses the blocks (add and
 * remove then fail with -EBUSY). */
bool vmig_ram_busy(const vmig_ram_t *ram);

/* ---- the savevm handler --------------------------------------------------------- */

/* Register "ram", instance 0, version 4 in sv: the section id or a negative errno. */
int vmig_ram_register(vmig_ram_t *ram, vmig_savevm_t *sv);

/* Outgoing: the options of the next (or current) migration. Parameters that
 * QMP may change while it runs (throttle settings) can be set again. */
void vmig_ram_set_save_opts(vmig_ram_t *ram, const vmig_ram_save_opts_t *opts);
/* Which byte counter the next bytes go to. */
void vmig_ram_set_phase(vmig_ram_t *ram, vmig_ram_phase_t phase);
/* Zero the counters (a new migration starts; QEMU keeps the last ones until then). */
void vmig_ram_reset_counters(vmig_ram_t *ram);
const vmig_ram_counters_t *vmig_ram_counters(const vmig_ram_t *ram);
/* Dirty pages still to send, in bytes (query-migrate "remaining"). */
uint64_t vmig_ram_remaining(const vmig_ram_t *ram);
/* Pages sent so far (normal + duplicate + compressed + xbzrle), for pages-per-second. */
uint64_t vmig_ram_pages_sent(const vmig_ram_t *ram);
/* query-migrate's "xbzrle-cache" members into obj (the configured size
 * before the cache exists). 0 or -ENOMEM. */
int vmig_ram_xbzrle_stats_json(const vmig_ram_t *ram, json_t *obj);
/* query-migrate's "compression" members into obj. 0 or -ENOMEM. */
int vmig_ram_compress_stats_json(const vmig_ram_t *ram, json_t *obj);
/* Current auto-converge throttle in % (0: none), for cpu-throttle-percentage. */
int vmig_ram_throttle_pct(const vmig_ram_t *ram);

/* Outgoing, between setup and cleanup: one bitmap sync (QEMU's
 * migration_bitmap_sync: pull every dirty log into the migration bitmaps,
 * dirty-sync-count + 1, dirty-pages-rate and auto-converge once a >= 1 s
 * period is over). The hooks call it themselves; postcopy start and tests
 * call it directly. 0, -EINVAL when no outgoing migration runs, a log's error,
 * or -ECANCELED (a yield was cancelled); err, if not NULL, gets the message
 * of a failure. */
int vmig_ram_sync(vmig_ram_t *ram, vmig_error_t *err);

/* The clock of the dirty-rate periods, in milliseconds (tests give a fake
 * one); NULL restores the real one (uv_hrtime). */
void vmig_ram_set_clock(vmig_ram_t *ram, uint64_t (*now_ms)(void *opaque), void *opaque);

/* Incoming: the stream advised postcopy (MIG_CMD_POSTCOPY_ADVISE) and the
 * local capability postcopy-ram is on. The block list then carries the page
 * size of each block whose page size differs from the host's (spec/ram.md §3).
 * Reset by load_cleanup. */
void vmig_ram_set_load_postcopy(vmig_ram_t *ram, bool advised);

/* Incoming: the options of the next load (capabilities of the destination).
 * Kept across loads until set again. */
void vmig_ram_set_load_opts(vmig_ram_t *ram, const vmig_ram_load_opts_t *opts);

/* ---- multifd: normal pages on other channels (spec/multifd.md §5-§6) ---------- */

/* Set by the migration job while capability multifd is in force; the RAM
 * handler calls them from its coroutine. */
typedef struct vmig_ram_multifd_ops {
    void *opaque; /* their first argument */
    /* Source: a normal (non-zero) page at offset of block, for a packet; may
     * suspend while every channel is busy. Returns the bytes handed to the
     * channels by this call (a packet: pages x page size + header; usually
     * 0), which count as multifd-bytes, transferred and against the rate
     * limit, or a negative errno (the migration fails). */
    int64_t (*queue_page)(void *opaque, vmig_ram_block_t *block, uint64_t offset);
    /* Source: right before every RAM EOS: send what is queued and a SYNC on
     * every channel, and wait until they are written. Bytes handed over, or
     * a negative errno. */
    int64_t (*send_sync)(void *opaque);
    /* Destination: at every RAM EOS: wait until every channel has loaded up
     * to its SYNC, then let them go on. 0 or a negative errno; err gets the
     * message of a failure. */
    int (*recv_sync)(void *opaque, vmig_error_t *err);
} vmig_ram_multifd_ops_t;

/* NULL: multifd off. The ops must outlive the migration that uses them. */
void vmig_ram_set_multifd(vmig_ram_t *ram, const vmig_ram_multifd_ops_t *ops);
/* Destination, multifd channels: may a page of block be loaded now, as a
 * page record of the main stream could (a RAM load is under way and the
 * block is not left out by x-ignore-shared)? */
bool vmig_ram_load_accepts(const vmig_ram_t *ram, const vmig_ram_block_t *block);
/* Destination, multifd channels: a page was written at offset of block. */
void vmig_ram_mark_received(vmig_ram_block_t *block, uint64_t offset);

#endif
