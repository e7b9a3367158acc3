/* ram_load.c — the destination side of the "ram" handler (spec/ram.md §2, §3,
 * §6): block list and page records, every name, length and offset checked
 * before memory is touched, with QEMU's error messages. */
#include "ram/ram_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ram/ram_compress.h"
#include "ram/ram_load_batch.h"
#include "ram/ram_xbzrle.h"
#include "ram/ram_zero.h"

/* Records loaded between two looks at the clock. */
#define LOAD_RECORDS_PER_CHECK 64u

/* Flags that carry a page, and so name (or continue) a block. */
#define LOAD_PAGE_FLAGS                                                                 \
    (VMIG_RAM_SAVE_FLAG_ZERO | VMIG_RAM_SAVE_FLAG_PAGE | VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE | \
     VMIG_RAM_SAVE_FLAG_XBZRLE)

int vmig__ram_load_setup(vmig_stream_t *s, void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (vmig_ram_busy(ram))
        return vmig_stream_set_error(s, -EBUSY, "RAM is already in use by another migration");
    ram->loading = true;
    ram->load_last = NULL;
    /* decompress-threads bounds the loader's pool jobs. It sends one batch
     * at a time (a single coroutine reads the stream), so one is in use. */
    if (!ram->load_limit_ready) {
        co_work_limit_init(&ram->load_limit, 1);
        ram->load_limit_ready = true;
    }
    if (ram->load_opts.decompress_threads)
        ram->load_limit.max = ram->load_opts.decompress_threads;
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        b->recv = calloc(b->nwords, sizeof(uint64_t));
        if (!b->recv)
            return vmig_stream_set_error(s, -ENOMEM,
                                         "out of memory for the received bitmap of %s", b->name);
    }
    return 0;
}

int vmig__ram_load_cleanup(void *opaque)
{
    vmig_ram_t *ram = opaque;
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        free(b->recv);
        b->recv = NULL;
    }
    ram->loading = false;
    ram->load_last = NULL;
    ram->load_postcopy = false;
    ram_load_batch_free(ram->load_batch);
    ram->load_batch = NULL;
    return 0;
}

/* With x-ignore-shared, shared blocks are the destination's already. */
static bool load_ignored(const vmig_ram_t *ram, const vmig_ram_block_t *b)
{
    return b->shared && ram->sv && vmig_savevm_config(ram->sv)->x_ignore_shared;
}

/* The MEM_SIZE body: blocks until their lengths add up to total. */
static int load_block_list(vmig_ram_t *ram, vmig_stream_t *s, uint64_t total)
{
    bool ignore_shared = ram->sv && vmig_savevm_config(ram->sv)->x_ignore_shared;
    uint64_t host_page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t left = total;
    unsigned entries = 0;
    while (left) {
        char id[256];
        int r = vmig_stream_get_counted_string(s, id);
        if (r < 0)
            return r;
        uint64_t length = vmig_stream_get_be64(s);
        if ((r = vmig_stream_error(s)) != 0)
            return r;
        vmig_ram_block_t *b = vmig_ram_find(ram, id);
        if (!b)
            return vmig_stream_set_error(s, -EINVAL,
                                         "Unknown ramblock \"%s\", cannot accept migration", id);
        /* vmig's blocks cannot be resized: any other length is QEMU's
         * qemu_ram_resize() failure. */
        if (length != b->length)
            return vmig_stream_set_error(s, -EINVAL,
                                         "Length mismatch: %s: 0x%" PRIx64 " in != 0x%" PRIx64, id,
                                         length, b->length);
        if (ram->load_postcopy && b->page_size != host_page) {
            uint64_t remote = vmig_stream_get_be64(s);
            if ((r = vmig_stream_error(s)) != 0)
                return r;
            if (remote != b->page_size)
                return vmig_stream_set_error(s, -EINVAL,
                                             "Mismatched RAM page size %s (local) %" PRIu64
                                             " != %" PRIu64,
                                             id, b->page_size, remote);
        }
        if (ignore_shared) {
            uint64_t addr = vmig_stream_get_be64(s);
            if ((r = vmig_stream_error(s)) != 0)
                return r;
            /* vmig's blocks sit at guest-physical 0 (see ram_save.c). */
            if (load_ignored(ram, b) && addr != 0)
                return vmig_stream_set_error(s, -EINVAL,
                                             "Mismatched GPAs for block %s %" PRIu64 "!= %" PRIu64,
                                             id, addr, (uint64_t)0);
        }
        if (length > left)
            return vmig_stream_set_error(s, -EINVAL,
                                         "RAM block list does not add up: block %s (0x%" PRIx64
                                         ") exceeds what is left of the total 0x%" PRIx64
                                         " (0x%" PRIx64 ")",
                                         id, length, total, left);
        left -= length;
        /* A hostile list can repeat a block name for as long as the stream
         * goes on: keep the loop's turns coming. */
        if (++entries % LOAD_RECORDS_PER_CHECK == 0) {
            r = ram_slice_check(ram, uv_hrtime());
            if (r < 0)
                return vmig_stream_set_error(s, r, "RAM load cancelled");
        }
    }
    return 0;
}

/* The block a page record is for: the previous one (CONTINUE) or the one
 * its idstr names. */
static int block_from_stream(vmig_ram_t *ram, vmig_stream_t *s, unsigned flags,
                             vmig_ram_block_t **out)
{
    if (flags & VMIG_RAM_SAVE_FLAG_CONTINUE) {
        if (!ram->load_last)
            return vmig_stream_set_error(s, -EINVAL, "Ack, bad migration stream!");
        *out = ram->load_last;
        return 0;
    }
    char id[256];
    int r = vmig_stream_get_counted_string(s, id);
    if (r < 0)
        return r;
    vmig_ram_block_t *b = vmig_ram_find(ram, id);
    if (!b)
        return vmig_stream_set_error(s, -EINVAL, "Can't find block %s", id);
    if (load_ignored(ram, b))
        return vmig_stream_set_error(s, -EINVAL, "block %s should not be migrated !", id);
    ram->load_last = b;
    *out = b;
    return 0;
}

static inline void mark_received(vmig_ram_block_t *b, uint64_t offset)
{
    uint64_t page = offset >> RAM_PAGE_BITS;
    b->recv[page >> 6] |= UINT64_C(1) << (page & 63);
}

/* An XBZRLE record's body (spec/xbzrle.md §2, §4): decoded onto the page's
 * current contents with QEMU 7.2's messages. QEMU prints a second line,
 * "Failed to decompress XBZRLE page at %lx", after each of them; the stream
 * keeps the first, more precise one. Decoding takes about a microsecond, so
 * it stays on the loop. */
static int load_xbzrle(vmig_stream_t *s, uint8_t *host)
{
    uint8_t enc = vmig_stream_get_u8(s);
    unsigned len = vmig_stream_get_be16(s);
    int r = vmig_stream_error(s);
    if (r)
        return r;
    if (enc != VMIG_RAM_XBZRLE_ENCODING)
        return vmig_stream_set_error(s, -EINVAL,
                                     "Failed to load XBZRLE page - wrong compression!");
    if (len > RAM_PAGE_SIZE)
        return vmig_stream_set_error(s, -EINVAL, "Failed to load XBZRLE page - len overflow!");
    uint8_t buf[VMIG_RAM_TARGET_PAGE_SIZE];
    r = vmig_stream_get_buffer(s, buf, len);
    if (r < 0)
        return r;
    /* The decoder checks everything before it writes: a bad delta leaves
     * the page as it was. */
    if (vmig_xbzrle_decode(buf, len, host, RAM_PAGE_SIZE) < 0)
        return vmig_stream_set_error(s, -EINVAL, "Failed to load XBZRLE page - decode error!");
    return 0;
}

/* Inflate the queued COMPRESS_PAGE payloads on the pool (inline outside a
 * coroutine), then copy the pages into guest memory in stream order. 0 or
 * the stream's error: a bad payload with QEMU's message. */
static int flush_compressed(vmig_ram_t *ram, vmig_stream_t *s)
{
    ram_load_batch_t *lb = ram->load_batch;
    if (!lb || !ram_load_batch_count(lb))
        return 0;
    int r = co_in_coroutine()
                ? co_work(&ram->load_limit, ram_load_batch_run, lb, ram_load_batch_free)
                : ram_load_batch_run(lb);
    if (r == -ECANCELED)
        ram->load_batch = NULL; /* the release frees it once the pool is done */
    if (r < 0)
        return vmig_stream_set_error(s, r, "RAM load cancelled");
    ram->slice_start_ns = uv_hrtime(); /* the loop ran meanwhile */
    for (size_t i = 0; i < ram_load_batch_count(lb); i++) {
        uint8_t *host;
        const uint8_t *page;
        const char *msg;
        void *tag;
        r = ram_load_batch_result(lb, i, &host, &page, &msg, &tag);
        if (r < 0) {
            ram_load_batch_clear(lb);
            return vmig_stream_set_error(s, r, "%s", msg);
        }
        vmig_ram_block_t *b = tag;
        memcpy(host, page, RAM_PAGE_SIZE);
        mark_received(b, (uint64_t)(host - b->host));
    }
    ram_load_batch_clear(lb);
    return 0;
}

/* A COMPRESS_PAGE record's body (spec/ram.md §6): be32 length, then one
 * zlib stream of the page, queued for the pool (flush_compressed). */
static int queue_compressed(vmig_ram_t *ram, vmig_stream_t *s, vmig_ram_block_t *b, uint8_t *host)
{
    uint32_t len = vmig_stream_get_be32(s);
    int r = vmig_stream_error(s);
    if (r)
        return r;
    if (len > VMIG_COMPRESS_BOUND_4K)
        return vmig_stream_set_error(s, -EINVAL, VMIG_COMPRESS_ERR_LEN_FMT, (int)len);
    if (!ram->load_batch && !(ram->load_batch = ram_load_batch_new()))
        return vmig_stream_set_error(s, -ENOMEM, "out of memory for decompression");
    ram_load_batch_t *lb = ram->load_batch;
    r = vmig_stream_get_buffer(s, ram_load_batch_slot(lb), len);
    if (r < 0)
        return r;
    ram_load_batch_commit(lb, host, len, b);
    return ram_load_batch_full(lb) ? flush_compressed(ram, s) : 0;
}

int vmig__ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int section_type)
{
    vmig_ram_t *ram = opaque;
    (void)section_type; /* START, PART and END bodies have the same records */
    if (version_id != VMIG_RAM_VERSION)
        return vmig_stream_set_error(s, -EINVAL,
                                     "RAM section version %u is not supported (only %d)",
                                     (unsigned)version_id, VMIG_RAM_VERSION);
    if (!ram->loading)
        return vmig_stream_set_error(s, -EINVAL, "RAM section before RAM load setup");
    /* Payloads of a body that failed are not for this one. */
    if (ram->load_batch)
        ram_load_batch_clear(ram->load_batch);
    for (unsigned n = 1;; n++) {
        uint64_t word = vmig_stream_get_be64(s);
        int r = vmig_stream_error(s);
        if (r)
            return r;
        unsigned flags = (unsigned)(word & (RAM_PAGE_SIZE - 1));
        uint64_t addr = word & ~(RAM_PAGE_SIZE - 1);

        /* Without the local compress capability: refuse before reading
         * anything of the record, as QEMU's invalid_flags check does. */
        if ((flags & VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE) && !ram->load_opts.compress)
            return vmig_stream_set_error(s, -EINVAL, "Received an unexpected compressed page");

        vmig_ram_block_t *b = NULL;
        uint8_t *host = NULL;
        if (flags & LOAD_PAGE_FLAGS) {
            r = block_from_stream(ram, s, flags, &b);
            if (r < 0)
                return r;
            /* addr is page aligned by construction (the flags are the low
             * bits) and lengths are whole pages: addr < length is enough for
             * the page to lie inside the block. */
            if (addr >= b->length)
                return vmig_stream_set_error(s, -EINVAL, "Illegal RAM offset %" PRIx64, addr);
            host = b->host + addr;
            /* A later record for a page still waiting to be inflated: the
             * inflated page goes first, as the stream orders them. */
            ram_load_batch_t *lb = ram->load_batch;
            if (!(flags & VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE) && lb && ram_load_batch_count(lb) &&
                ram_load_batch_has(lb, host)) {
                r = flush_compressed(ram, s);
                if (r < 0)
                    return r;
            }
        }

        switch (flags & ~VMIG_RAM_SAVE_FLAG_CONTINUE) {
        case VMIG_RAM_SAVE_FLAG_MEM_SIZE:
            r = load_block_list(ram, s, addr);
            if (r < 0)
                return r;
            break;
        case VMIG_RAM_SAVE_FLAG_ZERO: {
            uint8_t fill = vmig_stream_get_u8(s);
            if ((r = vmig_stream_error(s)) != 0)
                return r;
            /* Reading a never-touched page keeps it unallocated; writing
             * zeros would allocate it for nothing. */
            if (fill != 0 || !vmig_ram_is_zero(host, RAM_PAGE_SIZE))
                memset(host, fill, RAM_PAGE_SIZE);
            mark_received(b, addr);
            break;
        }
        case VMIG_RAM_SAVE_FLAG_PAGE:
            r = vmig_stream_get_buffer_nt(s, host, RAM_PAGE_SIZE);
            if (r < 0)
                return r;
            mark_received(b, addr);
            break;
        case VMIG_RAM_SAVE_FLAG_XBZRLE:
            r = load_xbzrle(s, host);
            if (r < 0)
                return r;
            mark_received(b, addr);
            break;
        case VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE:
            r = queue_compressed(ram, s, b, host);
            if (r < 0)
                return r;
            break;
        case VMIG_RAM_SAVE_FLAG_EOS:
            return flush_compressed(ram, s);
        default:
            if (flags & VMIG_RAM_SAVE_FLAG_HOOK)
                return vmig_stream_set_error(s, -EINVAL,
                                             "RAM hook record (flags 0x%x) without RDMA", flags);
            return vmig_stream_set_error(s, -EINVAL,
                                         "Unknown combination of migration flags: 0x%x", flags);
        }

        if (n % LOAD_RECORDS_PER_CHECK == 0) {
            r = ram_slice_check(ram, uv_hrtime());
            if (r < 0)
                return vmig_stream_set_error(s, r, "RAM load cancelled");
        }
    }
}
