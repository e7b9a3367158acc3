/* analyze.h — a read-only parser of a whole QEMU 7.2 migration stream, the
 * engine of `vmig analyze` and of the whole-stream fuzz harness: header,
 * configuration, every section and command, RAM pages, device fields. */
#ifndef VMIG_ANALYZE_H
#define VMIG_ANALYZE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/stream.h"
#include "vmig/error.h"

/*
 * Rules
 * - The parser reads the stream forward once and trusts nothing: every length,
 *   count and offset is checked where it is read; a bad stream is an error
 *   with a message and the byte offset of the item that was wrong.
 * - Device sections (FULL) have no length on the wire. With a vmdesc (the JSON
 *   trailer, found beforehand by vmig_analyze_find_vmdesc()) their fields are
 *   decoded; without one the body is skipped up to its footer (found by
 *   scanning for `7e <section id>` followed by a plausible next record).
 * - Over a memory channel nothing suspends, so it runs outside a coroutine
 *   too (fuzzers, tests). Inside a coroutine it lets the loop run every few
 *   MiB so a big stream does not stall other coroutines.
 */

/* Where RAM page contents go (e.g. files, see vmig_analyze_dump_*). Every op
 * returns 0 or a negative errno value; index is the block's position in the
 * stream's block list. Pages are target pages (offset + len <= length). */
typedef struct vmig_analyze_ram_ops {
    /* The block list was read: one call per block, in list order. */
    int (*block)(void *opaque, unsigned index, const char *name, uint64_t length);
    /* A page now holds these bytes (normal, decompressed or XBZRLE-decoded). */
    int (*write)(void *opaque, unsigned index, uint64_t offset, const void *page, size_t len);
    /* A page is now filled with one byte (ZERO record). */
    int (*fill)(void *opaque, unsigned index, uint64_t offset, uint8_t byte, size_t len);
    /* The page's current bytes, the base an XBZRLE record patches. */
    int (*read)(void *opaque, unsigned index, uint64_t offset, void *page, size_t len);
} vmig_analyze_ram_ops_t;

/* Caps that keep a hostile stream from costing more than a real one could. */
#define VMIG_ANALYZE_BLOCK_MAX (1ull << 40)  /* 1 TiB: one RAM block, and all of them */
#define VMIG_ANALYZE_BLOCKS_MAX 4096u        /* RAM blocks in the list */
#define VMIG_ANALYZE_FIELD_MAX (256u << 20)  /* one decoded vmdesc field element */
#define VMIG_ANALYZE_DEPTH_MAX 32u           /* nested structs/subsections in a vmdesc */
#define VMIG_ANALYZE_ARRAY_MAX (1u << 20)    /* "array_len" of a vmdesc field */
#define VMIG_ANALYZE_EMPTY_MAX (1u << 20)    /* zero-size field elements in a whole stream */
#define VMIG_ANALYZE_HEX_MAX (1u << 20)      /* buffers longer than this are not printed */

typedef struct vmig_analyze_opts {
    const json_t *vmdesc;                 /* parsed trailer, or NULL: fields not decoded */
    const vmig_analyze_ram_ops_t *ram_ops; /* where page contents go, or NULL */
    void *ram_opaque;                     /* handed to every ram_ops call */
    uint64_t max_ram;                     /* cap on a block and on the sum, 0 = BLOCK_MAX */
} vmig_analyze_opts_t;

/* Pages seen, per record kind (every record counts, also a page sent twice). */
typedef struct vmig_analyze_pages {
    uint64_t normal;     /* PAGE records */
    uint64_t zero;       /* ZERO records */
    uint64_t xbzrle;     /* XBZRLE records */
    uint64_t compressed; /* COMPRESS_PAGE records */
} vmig_analyze_pages_t;

typedef struct vmig_analyze_result {
    /* The report, filled as parsing goes (so on error it holds what was read):
     * {"header": {"magic", "version"}, "configuration": {"machine", ...} | null,
     *  "sections": [{"offset", "type", "id", "name", "instance", "version", "size"}],
     *  "commands": [{"offset", "cmd", "name", "len"}],
     *  "ram": {"page_size", "total", "blocks": [{"name", "length"}],
     *          "pages": {"normal", "zero", "xbzrle", "compressed"}},
     *  "devices": [{"name", "instance", "version", "fields"}], "vmdesc": bool}.
     * A section's size counts its header and footer: offset + size is the next
     * record's offset. A device's fields are null when not decoded. */
    json_t *report;
    vmig_analyze_pages_t pages; /* page records by kind */
    unsigned sections;          /* section records (START/PART/END/FULL) */
    unsigned devices;           /* FULL sections */
    unsigned devices_decoded;   /* FULL sections decoded with the vmdesc */
    bool vmdesc_found;          /* the stream ended with a complete vmdesc trailer */
    uint64_t error_offset;      /* byte offset of the item the error is about */
    vmig_error_t err;           /* the first error, code 0 when the stream was good */
} vmig_analyze_result_t;

/* Parse the stream from its first byte to its end. Returns 0, or the negative
 * error also kept in res->err (res->report is set either way; release res
 * with vmig_analyze_result_release()). */
int vmig_analyze_stream(vmig_stream_t *s, const vmig_analyze_opts_t *opts,
                        vmig_analyze_result_t *res);
void vmig_analyze_result_release(vmig_analyze_result_t *res);

/* Find the vmdesc trailer in a whole stream held in memory (spec/stream.md
 * §7: the last NUL byte, the next '{', 0x06 five bytes before it, a be32 length
 * that ends exactly at the end of buf) and parse it. Returns 0 with a new
 * reference in *vmdesc (and the offset of the 0x06 byte), or -ENOENT when
 * there is no valid trailer; never fails otherwise. */
int vmig_analyze_find_vmdesc(const void *buf, size_t len, json_t **vmdesc, uint64_t *offset);

/* ---- a RAM sink that writes each block to DIR/<escaped block name> --------- */

typedef struct vmig_analyze_dump vmig_analyze_dump_t;

/* dir must exist. */
int vmig_analyze_dump_open(const char *dir, vmig_analyze_dump_t **out, vmig_error_t *err);
/* Close every file; 0 or the first error (message in err). */
int vmig_analyze_dump_close(vmig_analyze_dump_t *d, vmig_error_t *err);
extern const vmig_analyze_ram_ops_t vmig_analyze_dump_ops;
/* The file name used for a block: bytes other than [A-Za-z0-9._@:+-] (and a
 * leading '.') are written as %XX, so "/rom@etc/acpi/tables" becomes
 * "%2From@etc%2Facpi%2Ftables" and no name leaves DIR. 0 or -EOVERFLOW
 * (a name too long for one file name). */
int vmig_analyze_dump_filename(const char *block, char *out, size_t outlen);

#endif
