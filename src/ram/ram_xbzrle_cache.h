/* ram_xbzrle_cache.h — the source's XBZRLE page cache (xbzrle.md §5) and the
 * query-migrate "xbzrle-cache" counters it drives (xbzrle.md §6, qmp.md §7). */
#ifndef VMIG_RAM_XBZRLE_CACHE_H
#define VMIG_RAM_XBZRLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* QEMU's default xbzrle-cache-size: 64 MiB. */
#define VMIG_XBZRLE_CACHE_DEFAULT_SIZE (64ull << 20)
/* A slot written in this or the previous sync round is not replaced by a
 * different page (CACHED_PAGE_LIFETIME). */
#define VMIG_XBZRLE_CACHED_PAGE_LIFETIME 2u
/* QEMU 7.2's rejection of a bad xbzrle-cache-size (qmp.md §7). */
#define VMIG_XBZRLE_CACHE_ERR_SIZE \
    "Parameter 'xbzrle-cache-size' expects a power of two no less than the target page size"

/* query-migrate's "xbzrle-cache" object. Counters run for the whole
 * migration: a resize does not reset them. */
typedef struct vmig_xbzrle_stats {
    uint64_t bytes;          /* XBZRLE record bytes minus the 8-byte header word, + page per overflow */
    uint64_t pages;          /* cache hits (records, unchanged pages and overflows alike) */
    uint64_t cache_miss;     /* lookups that missed */
    uint64_t overflow;       /* hits whose encoding did not fit in a page */
    double cache_miss_rate;  /* Δcache_miss / Δtarget pages over the last rate period */
    double encoding_rate;    /* Δpages × page size / Δbytes over the last period, 0 if either is 0 */
    uint64_t miss_prev;      /* cache_miss at the last rate update */
    uint64_t pages_prev;     /* pages at the last rate update */
    uint64_t bytes_prev;     /* bytes at the last rate update */
    uint64_t target_prev;    /* the caller's target page count at the last period end */
} vmig_xbzrle_stats_t;

struct vmig_xbzrle_slot;

/* The cache. The handle is the caller's (embed it); its storage is one
 * allocation holding every slot's entry and page copy, made by
 * vmig_xbzrle_cache_init() or _resize() and never per page. */
typedef struct vmig_xbzrle_cache {
    void *mem;                     /* the one allocation, or NULL (size set, no storage yet) */
    struct vmig_xbzrle_slot *slot; /* nslots entries, inside mem */
    uint8_t *data;                 /* nslots page copies, inside mem, page aligned */
    uint64_t size;                 /* xbzrle-cache-size in bytes (reported as cache-size) */
    size_t page_size;              /* target page size: bytes of one copy, a power of two */
    uint64_t nslots;               /* size / page_size, a power of two */
    vmig_xbzrle_stats_t st;        /* query-migrate's counters */
} vmig_xbzrle_cache_t;

/* Is size a valid xbzrle-cache-size for page_size (a power of two ≥
 * page_size, page_size a power of two)? 0 or -EINVAL. */
int vmig_xbzrle_cache_check_size(uint64_t size, size_t page_size);

/* Sets c up for size bytes of page_size pages, allocating its storage
 * (counters zeroed). 0, -EINVAL (size, see above), -EOVERFLOW (does not fit
 * the address space), -ENOMEM. On failure c is left empty (fini is safe). */
int vmig_xbzrle_cache_init(vmig_xbzrle_cache_t *c, uint64_t size, size_t page_size);
/* Frees the storage. Idempotent; a zeroed c is fine. */
void vmig_xbzrle_cache_fini(vmig_xbzrle_cache_t *c);

/* xbzrle-cache-size set while migrating: the same size changes nothing
 * (contents kept, QEMU returns early); another valid size replaces the
 * storage with a new empty one (xbzrle.md §5); counters carry on. On error
 * (-EINVAL, -EOVERFLOW, -ENOMEM) the old cache stays as it was. */
int vmig_xbzrle_cache_resize(vmig_xbzrle_cache_t *c, uint64_t new_size);

/* The slot addr maps to: (addr / page_size) & (nslots - 1), addr being the
 * page's ram_addr (block offset + offset in block). */
uint64_t vmig_xbzrle_cache_index(const vmig_xbzrle_cache_t *c, uint64_t addr);

/* The raw operations of QEMU's page cache. */
/* Hit: the slot holds addr; its age becomes gen and its copy is returned
 * (writable, page_size bytes). Miss: NULL. Counts nothing. */
uint8_t *vmig_xbzrle_cache_lookup(vmig_xbzrle_cache_t *c, uint64_t addr, uint64_t gen);
/* Copies page into addr's slot with age gen: 0, or -EBUSY (refused) when
 * the slot holds another address stored or hit at gen - 1 or later
 * (age + LIFETIME > gen). Counts nothing. */
int vmig_xbzrle_cache_insert(vmig_xbzrle_cache_t *c, uint64_t addr, const void *page, uint64_t gen);

/* ---- the per-page algorithm of the source (xbzrle.md §5) ------------------------- */

/* Where the sender is. */
typedef struct vmig_xbzrle_round {
    uint64_t gen;      /* dirty-sync-count: the age stored in the cache */
    bool first_round;  /* xbzrle not yet enabled: the first full pass is not over */
    bool postcopy;     /* postcopy running: xbzrle is not used */
    bool last_stage;   /* the completion stage: the cache is not updated */
} vmig_xbzrle_round_t;

typedef enum vmig_xbzrle_lookup {
    VMIG_XBZRLE_OFF,         /* first round or postcopy: cache untouched, nothing counted */
    VMIG_XBZRLE_MISS_CACHED, /* cache-miss++, page inserted: send it normally from *cached */
    VMIG_XBZRLE_MISS,        /* cache-miss++, not inserted (slot too young or last stage) */
    VMIG_XBZRLE_HIT,         /* pages++: encode a snapshot of the page against *cached */
} vmig_xbzrle_lookup_t;

/* Step 1-2 of the algorithm for the page at addr whose live contents are
 * page: counts the miss or the hit and says what to do; *cached is the
 * cache copy for MISS_CACHED and HIT, else NULL. */
vmig_xbzrle_lookup_t vmig_xbzrle_cache_page(vmig_xbzrle_cache_t *c, uint64_t addr, const void *page,
                                            const vmig_xbzrle_round_t *r, uint8_t **cached);

/* After a HIT, with encoded_len the encoder's result for snapshot (the
 * copy of the live page that was encoded): 0 unchanged (send nothing), -1
 * overflow (overflow++, bytes += page size; send a normal page), > 0 a
 * record of record_len bytes on the wire including its 8-byte header word
 * (bytes += record_len - 8). Unless last stage and unless unchanged, the
 * cache copy becomes snapshot, and a normal page must then be sent from the
 * cache copy (what the destination must hold next round). -EINVAL for an
 * inconsistent call, else 0. */
int vmig_xbzrle_cache_encoded(vmig_xbzrle_cache_t *c, uint8_t *cached, const void *snapshot,
                              long encoded_len, uint64_t record_len, const vmig_xbzrle_round_t *r);

/* A page sent as ZERO after the first round: its slot becomes a zero page
 * (an insert, so it may be refused like any other); nothing is counted. */
void vmig_xbzrle_cache_zero_page(vmig_xbzrle_cache_t *c, uint64_t addr, const vmig_xbzrle_round_t *r);

/* End of a rate period (a bitmap sync at least 1 s after the last one):
 * target_pages is the caller's running count of target pages handled. With
 * no page handled in the period the rates keep their old values. */
void vmig_xbzrle_cache_update_rates(vmig_xbzrle_cache_t *c, uint64_t target_pages);

/* Zeroes the counters and rates (a new migration). */
void vmig_xbzrle_cache_reset_stats(vmig_xbzrle_cache_t *c);

/* Sets QEMU's members of "xbzrle-cache" in obj: cache-size, bytes, pages,
 * cache-miss, cache-miss-rate, encoding-rate, overflow. 0 or -ENOMEM. */
int vmig_xbzrle_cache_stats_json(const vmig_xbzrle_cache_t *c, json_t *obj);

#endif
