/* analyze_internal.h — the state one vmig_analyze_stream() call shares
 * between its files: the top-level loop (analyze.c), the RAM section parser
 * (analyze_ram.c) and the vmdesc-driven device decoder (analyze_device.c). */
#ifndef VMIG_ANALYZE_INTERNAL_H
#define VMIG_ANALYZE_INTERNAL_H

#include "analyze/analyze.h"

/* One RAM block of the stream's block list. */
typedef struct an_block {
    char name[256];  /* idstr, NUL-terminated */
    uint64_t length; /* used_length in bytes */
} an_block_t;

/* An iterative section opened by START, so PART/END can name it. */
typedef struct an_live {
    uint32_t id;       /* section id */
    char name[256];    /* idstr */
    uint32_t instance; /* instance id from START */
    uint32_t version;  /* version from START */
} an_live_t;

#define AN_LIVE_MAX 64u /* iterative handlers: ram, block, dirty-bitmap... */

typedef struct an_ctx {
    vmig_stream_t *s;                /* the stream being read */
    const vmig_analyze_opts_t *opts; /* caller's options (never NULL here) */
    vmig_analyze_result_t *res;      /* where results and the first error go */
    json_t *sections;                /* report.sections (borrowed) */
    json_t *commands;                /* report.commands (borrowed) */
    json_t *devices;                 /* report.devices (borrowed) */
    json_t *ram;                     /* report.ram (borrowed) */
    uint64_t max_ram;                /* cap on one block and on the sum */
    uint64_t next_yield;             /* stream offset at which to let the loop run */

    /* configuration */
    unsigned page_bits;  /* target page bits (12 unless the configuration says) */
    size_t page_size;    /* 1 << page_bits */
    bool ignore_shared;  /* x-ignore-shared listed: blocks carry their address */
    uint64_t advise_sizes; /* page-size summary of a 16-byte POSTCOPY_ADVISE, 0 = none */

    /* RAM */
    an_block_t *blocks;  /* block list, NULL until MEM_SIZE */
    unsigned nblocks;    /* entries in blocks */
    uint64_t ram_total;  /* total announced by MEM_SIZE */
    int last_block;      /* block of the previous page record, -1 = none */
    uint8_t *page;       /* scratch page (page_size bytes) */
    uint8_t *zpage;      /* scratch for a compressed/XBZRLE payload */

    /* sections */
    an_live_t live[AN_LIVE_MAX]; /* iterative sections opened so far */
    unsigned nlive;              /* entries in live */

    /* vmdesc */
    const json_t *vd_devices; /* vmdesc "devices" array, or NULL */
    size_t vd_next;           /* index where the next FULL section is expected */
    uint8_t *vd_used;         /* one byte per vmdesc device: already matched */
    uint8_t *elem;            /* buffer for one field element read from the stream */
    size_t elem_cap;          /* allocated bytes of elem */
    uint64_t empty_elems;     /* zero-size elements decoded: they cost no stream bytes, so capped */
} an_ctx_t;

/* Keep the first error with the offset of the item it is about. Returns the
 * (negative) code kept. */
int an_fail(an_ctx_t *c, uint64_t offset, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* If the stream has an error, keep it (prefixed with what was being read)
 * and return it; else 0. */
int an_stream_check(an_ctx_t *c, const char *what);
/* A JSON string of bytes from the wire (non-printable bytes as \xNN). */
json_t *an_json_wire_str(const void *p, size_t n);
/* Let the loop run when inside a coroutine and enough bytes went by. */
int an_maybe_yield(an_ctx_t *c);

/* RAM section body (START/PART/END of "ram"), up to and including its EOS. */
int an_ram_body(an_ctx_t *c, const an_live_t *sec);
void an_ram_free(an_ctx_t *c);

/* FULL section body. Sets *footer_read when the body skip already consumed
 * the footer. fields receives the decoded fields (json null if none). */
int an_device_body(an_ctx_t *c, uint32_t id, const char *name, uint32_t instance,
                   uint32_t version, json_t **fields, bool *footer_read);
void an_device_free(an_ctx_t *c);

#endif
