/* ram_internal.h — the insides of the RAM layer shared by src/ram/ only:
 * the block and list structs, the time slice that keeps the loop responsive,
 * and the functions one file offers the others. */
#ifndef VMIG_RAM_INTERNAL_H
#define VMIG_RAM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "ram/ram.h"
#include "ram/ram_wire.h"
#include "ram/ram_xbzrle_cache.h"
#include "util/work_ring.h"
#include "vmig/co.h"

/* Target pages: every bitmap, offset and counter of the layer is in them. */
#define RAM_PAGE_BITS VMIG_RAM_TARGET_PAGE_BITS
#define RAM_PAGE_SIZE ((uint64_t)VMIG_RAM_TARGET_PAGE_SIZE)

/* Longest record header a page can need: be64, u8 idlen, 255-byte idstr and
 * the zero page's fill byte. */
#define RAM_REC_MAX (8u + 1u + 255u + 1u)

struct vmig_ram_block {
    struct vmig_ram_block *next;      /* next block in add order (= wire order) */
    vmig_ram_t *ram;                  /* the list it is on (remove checks it) */
    char name[256];                   /* idstr, NUL-terminated */
    uint8_t namelen;                  /* strlen(name), 1..255 */
    uint8_t *host;                    /* the embedder's memory */
    uint64_t length;                  /* bytes, a multiple of page_size */
    uint64_t page_size;               /* host page size backing it */
    uint64_t npages;                  /* length in target pages */
    size_t nwords;                    /* words of a per-page bitmap: (npages + 63) / 64 */
    unsigned hp_shift;                /* log2(page_size / target page): huge pages go whole */
    bool shared;                      /* shared with the destination (x-ignore-shared skips it) */
    const vmig_dirty_log_ops_t *log_ops; /* the embedder's dirty log, or NULL */
    void *log_opaque;                 /* their first argument */
    /* The engine's own dirty log (log_ops NULL): written by any thread through
     * vmig_ram_block_mark_dirty(), read and cleared by the sync. Allocated
     * with the block and freed with it, so a late vCPU never writes freed
     * memory even if it saw logging on just before it went off. */
    _Atomic uint64_t *log;            /* one bit per target page, or NULL */
    atomic_bool logging;              /* mark_dirty records only while set */
    bool log_started;                 /* log_ops->start succeeded: stop is owed */
    uint64_t *bmap;                   /* outgoing: migration bitmap, set = still to send */
    uint64_t *scratch;                /* outgoing: what log_ops->sync fills, then merged */
    uint64_t *recv;                   /* incoming: pages received */
    uint64_t ram_addr;                /* outgoing: lengths of the blocks before it (cache key) */
};

struct vmig_ram {
    vmig_ram_block_t *head;           /* blocks in add order */
    vmig_ram_block_t *tail;           /* last block, where add appends */
    size_t count;                     /* blocks on the list */
    uint64_t total_all;               /* sum of every block's length (MEM_SIZE) */
    vmig_savevm_t *sv;                /* registry "ram" is in (its x-ignore-shared), or NULL */

    vmig_ram_save_opts_t opts;        /* outgoing: capabilities and throttle parameters */
    vmig_ram_phase_t phase;           /* which *_bytes counter bytes go to now */
    vmig_ram_counters_t c;            /* query-migrate's counters */
    int throttle_pct;                 /* auto-converge throttle applied, 0 = none */
    uint64_t (*clock)(void *opaque);  /* dirty-rate clock in ms (a test's), or NULL */
    void *clock_opaque;               /* its argument */

    /* outgoing migration (save_setup .. save_cleanup) */
    bool saving;                      /* the blocks are in use by a sender */
    bool ignore_shared;               /* x-ignore-shared in force for this migration */
    uint64_t dirty_pages;             /* set bits in every bmap (migration_dirty_pages) */
    vmig_ram_block_t *cur_block;      /* scan cursor: block of the next page to look at */
    uint64_t cur_page;                /* scan cursor: page in cur_block */
    vmig_ram_block_t *last_sent;      /* block of the last page header (CONTINUE), or NULL */
    uint64_t period_start_ms;         /* start of the current dirty-rate period */
    uint64_t dirty_period;            /* pages newly dirtied in this period */
    uint64_t xfer_prev;               /* transferred at the period's start */
    unsigned high_cnt;                /* auto-converge: periods the dirty rate was too high */
    vmig_error_t save_err;            /* failure met where it could not be returned (pending) */
    bool xbzrle_enabled;              /* xbzrle on and the first round is over */
    vmig_xbzrle_cache_t xb;           /* XBZRLE page cache and its counters */
    uint64_t xb_resize;               /* size to resize the cache to at a safe point, 0 none */
    vmig_ram_compress_stats_t comp;   /* compression counters */
    uint64_t target_pages;            /* target pages handled (cache-miss-rate, busy-rate) */
    struct ram_send_pipe *send_pipe;  /* the sender's pool pipeline, NULL until needed */
    co_work_limit_t work_limit;       /* the sender's pool jobs in flight (its depth) */
    bool work_limit_ready;            /* work_limit initialised (once: orphans may use it) */

    /* incoming migration (load_setup .. load_cleanup) */
    bool loading;                     /* the blocks are in use by a loader */
    bool load_postcopy;               /* postcopy advised: page sizes in the block list */
    vmig_ram_load_opts_t load_opts;   /* capabilities of the destination (compress) */
    vmig_work_ring_t load_ring;       /* COMPRESS_PAGE payloads in batches for the pool */
    const vmig_ram_multifd_ops_t *mf; /* multifd channels of either direction, or NULL */
    co_work_limit_t load_limit;       /* the loader's pool jobs in flight */
    bool load_limit_ready;            /* load_limit initialised (once: orphans may use it) */
    vmig_ram_block_t *load_last;      /* block of the last page record (CONTINUE) */

    /* When the loop last had a turn as far as we know: our last pause. Not
     * reset when a hook is entered or a write wakes us (the caller may have
     * worked a while since the loop ran): a stale value only costs a pause
     * at the first check. */
    uint64_t slice_start_ns;
};

/* ---- the time slice ------------------------------------------------------------------ */

/* Our own stretch between two yields, in ns: half of VMIG_RAM_YIELD_US. The
 * other half is for what the loop does for us in the same turn: libuv
 * finishing a big write of ours (the kernel copying what the socket did not
 * take at once) and the few pages we send when that write wakes us, before
 * the next check sees that the slice is spent. */
#define RAM_SLICE_NS ((uint64_t)VMIG_RAM_YIELD_US * 1000u / 2u)

/* Yield to the loop once the stretch has used its budget: 0, or -ECANCELED
 * if the pause was cancelled. Outside a coroutine (a parser test over a
 * memory channel) there is no loop to yield to. now_ns: a fresh uv_hrtime(). */
static inline int ram_slice_check(vmig_ram_t *ram, uint64_t now_ns)
{
    if (now_ns - ram->slice_start_ns < RAM_SLICE_NS)
        return 0;
    int r = 0;
    if (co_in_coroutine())
        r = co_pause();
    ram->slice_start_ns = uv_hrtime();
    return r;
}

/* ---- between the files ------------------------------------------------------------------ */

/* Is the block left out of this migration (x-ignore-shared and shared)? */
static inline bool ram_block_ignored(const vmig_ram_t *ram, const vmig_ram_block_t *b)
{
    return ram->ignore_shared && b->shared;
}

/* Is x-ignore-shared on? The stream's configuration announces it from the
 * registry and the save options say it too; either one means the block list
 * carries addresses, so both are honoured. */
static inline bool vmig__ram_cap_ignore_shared(const vmig_ram_t *ram)
{
    return ram->opts.x_ignore_shared || (ram->sv && vmig_savevm_config(ram->sv)->x_ignore_shared);
}

/* The dirty-rate clock now, in ms. */
uint64_t vmig__ram_now_ms(const vmig_ram_t *ram);

/* ram_dirty.c: migration bitmaps of the blocks not ignored, all pages dirty,
 * and the logs started. 0 or a negative errno with err set. */
int vmig__ram_dirty_setup(vmig_ram_t *ram, vmig_error_t *err);
/* Stop the logs, free the bitmaps, end the throttle. Idempotent. */
void vmig__ram_dirty_cleanup(vmig_ram_t *ram);

/* Incoming: the page at offset of b has arrived. */
static inline void mark_received(vmig_ram_block_t *b, uint64_t offset)
{
    uint64_t page = offset >> RAM_PAGE_BITS;
    b->recv[page >> 6] |= UINT64_C(1) << (page & 63);
}

/* ram_handler.c: count bytes of the page stream (transferred and the
 * current phase's counter). */
static inline void ram_count_bytes(vmig_ram_t *ram, uint64_t n)
{
    ram->c.transferred += n;
    switch (ram->phase) {
    case VMIG_RAM_PHASE_PRECOPY:
        ram->c.precopy_bytes += n;
        break;
    case VMIG_RAM_PHASE_DOWNTIME:
        ram->c.downtime_bytes += n;
        break;
    case VMIG_RAM_PHASE_POSTCOPY:
        ram->c.postcopy_bytes += n;
        break;
    }
}

/* Bytes handed to multifd channels: QEMU counts them (uncompressed) as
 * multifd-bytes and transferred, and against the main stream's rate limit. */
static inline void ram_count_multifd(vmig_ram_t *ram, vmig_stream_t *s, uint64_t n)
{
    ram->c.multifd_bytes += n;
    ram_count_bytes(ram, n);
    vmig_stream_rate_account(s, n);
}

/* ram_save.c: before a RAM EOS, the multifd channels' SYNC (if multifd is
 * on). 0 or a negative errno set on s. */
int vmig__ram_multifd_sync(vmig_ram_t *ram, vmig_stream_t *s);

/* ram_send.c: send dirty pages from the cursor until nothing is dirty (then
 * *done), or, if limited, until the stream's rate limit or the iteration's
 * time limit says stop. 0 or a negative errno (cancelled, stream failed). */
int vmig__ram_send(vmig_ram_t *ram, vmig_stream_t *s, bool limited, bool *done);
/* Frees the sender's pipeline (save cleanup); batches still on the pool are
 * freed when their threads are done. */
void vmig__ram_send_fini(vmig_ram_t *ram);

/* The savevm hooks, defined in ram_save.c and ram_load.c. */
int vmig__ram_save_setup(vmig_stream_t *s, void *opaque);
int vmig__ram_save_iterate(vmig_stream_t *s, void *opaque);
int vmig__ram_save_complete(vmig_stream_t *s, void *opaque);
void vmig__ram_pending(void *opaque, uint64_t threshold, uint64_t *precopy_only,
                       uint64_t *compatible, uint64_t *postcopy_only);
void vmig__ram_save_cleanup(void *opaque);
int vmig__ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int section_type);
int vmig__ram_load_setup(vmig_stream_t *s, void *opaque);
int vmig__ram_load_cleanup(void *opaque);

#endif
