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

static void *load_alloc(void)
{
    return ram_load_batch_new();
}

static void load_clear(void *lb)
{
    ram_load_batch_clear(lb);
}

static const vmig_work_ring_ops_t load_ops = {
    .alloc = load_alloc,
    .run = ram_load_batch_run,
    .release = ram_load_batch_free,
    .clear = load_clear,
};

int vmig__ram_load_setup(vmig_stream_t *s, void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (vmig_ram_busy(ram))
        return vmig_stream_set_error(s, -EBUSY, "RAM is already in use by another migration");
    ram->loading = true;
    ram->load_last = NULL;
    /* decompress-threads batches of COMPRESS_PAGE payloads in flight. */
    if (!ram->load_limit_ready) {
        co_work_limit_init(&ram->load_limit, 1);
        ram->load_limit_ready = true;
    }
    unsigned depth = ram->load_opts.decompress_threads ? ram->load_opts.decompress_threads : 1;
    if (depth > VMIG_WORK_RING_MAX)
        depth = VMIG_WORK_RING_MAX;
    ram->load_limit.max = depth;
    vmig_work_ring_init(&ram->load_ring, &load_ops, &ram->load_limit, depth);
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
    vmig_work_ring_fini(&ram->load_ring);
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

bool vmig_ram_load_accepts(const vmig_ram_t *ram, const vmig_ram_block_t *b)
{
    return ram->loading && !load_ignored(ram, b);
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

/* Copy the pages of an inflated batch into guest memory, in stream order,
 * and hand it back. 0 or the stream's error: a bad payload with QEMU's
 * message. */
static int copy_out(vmig_ram_t *ram, vmig_stream_t *s, ram_load_batch_t *lb)
{
    int r = 0;
    for (size_t i = 0; i < ram_load_batch_count(lb) && r == 0; i++) {
        uint8_t *host;
        const uint8_t *page;
        const char *msg;
        void *tag;
        r = ram_load_batch_result(lb, i, &host, &page, &msg, &tag);
        if (r < 0) {
            r = vmig_stream_set_error(s, r, "%s", msg);
            break;
        }
        vmig_ram_block_t *b = tag;
        memcpy(host, page, RAM_PAGE_SIZE);
        mark_received(b, (uint64_t)(host - b->host));
    }
    vmig_work_ring_recycle(&ram->load_ring, lb);
    return r;
}

/* Take back the oldest batch in flight and copy it out, waiting for it or
 * not: 1 when one was, 0 when none was ready, or the stream's error. */
static int take_one(vmig_ram_t *ram, vmig_stream_t *s, bool wait)
{
    void *lb;
    int r = vmig_work_ring_take(&ram->load_ring, wait, &lb);
    if (r < 0)
        return vmig_stream_set_error(s, r, "RAM load cancelled");
    if (r == 0)
        return 0;
    if (wait)
        ram->slice_start_ns = uv_hrtime(); /* the loop ran meanwhile */
    r = copy_out(ram, s, lb);
    return r < 0 ? r : 1;
}

/* Start the batch being filled, taking the oldest back first when the
 * pipeline is full (decompress-threads batches in flight). */
static int submit(vmig_ram_t *ram, vmig_stream_t *s)
{
    if (vmig_work_ring_full(&ram->load_ring)) {
        int r = take_one(ram, s, true);
        if (r < 0)
            return r;
    }
    int r = vmig_work_ring_submit(&ram->load_ring);
    return r < 0 ? vmig_stream_set_error(s, r, "RAM load cancelled") : 0;
}

/* Every queued COMPRESS_PAGE payload inflated and copied into guest memory
 * (the end of a body, or a later record for one of their pages). */
static int drain_compressed(vmig_ram_t *ram, vmig_stream_t *s)
{
    ram_load_batch_t *fill = ram->load_ring.fill;
    if (fill && ram_load_batch_count(fill)) {
        int r = submit(ram, s);
        if (r < 0)
            return r;
    }
    while (vmig_work_ring_inflight(&ram->load_ring)) {
        int r = take_one(ram, s, true);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Is host waiting in a batch, queued or in flight? */
static bool pending_page(const vmig_ram_t *ram, const uint8_t *host)
{
    const vmig_work_ring_t *ring = &ram->load_ring;
    if (ring->fill && ram_load_batch_has(ring->fill, host))
        return true;
    for (unsigned i = 0; i < vmig_work_ring_inflight(ring); i++)
        if (ram_load_batch_has(vmig_work_ring_peek(ring, i), host))
            return true;
    return false;
}

/* A COMPRESS_PAGE record's body (spec/ram.md §6): be32 length, then one
 * zlib stream of the page, queued for the pool; a full batch starts. */
static int queue_compressed(vmig_ram_t *ram, vmig_stream_t *s, vmig_ram_block_t *b, uint8_t *host)
{
    uint32_t len = vmig_stream_get_be32(s);
    int r = vmig_stream_error(s);
    if (r)
        return r;
    if (len > VMIG_COMPRESS_BOUND_4K)
        return vmig_stream_set_error(s, -EINVAL, VMIG_COMPRESS_ERR_LEN_FMT, (int)len);
    ram_load_batch_t *lb = vmig_work_ring_fill(&ram->load_ring);
    if (!lb)
        return vmig_stream_set_error(s, -ENOMEM, "out of memory for decompression");
    r = vmig_stream_get_buffer(s, ram_load_batch_slot(lb), len);
    if (r < 0)
        return r;
    ram_load_batch_commit(lb, host, len, b);
    return ram_load_batch_full(lb) ? submit(ram, s) : 0;
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
    if (ram->load_ring.fill)
        ram_load_batch_clear(ram->load_ring.fill);
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
            if ((ram->load_ring.fill || vmig_work_ring_inflight(&ram->load_ring)) &&
                pending_page(ram, host)) {
                r = drain_compressed(ram, s);
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
            r = drain_compressed(ram, s);
            if (r == 0 && ram->mf) {
                /* What the channels carried before this EOS is in memory
                 * before anything after it is loaded (spec/multifd.md §6). */
                vmig_error_t err = {0};
                r = ram->mf->recv_sync(ram->mf->opaque, &err);
                if (r < 0)
                    r = vmig_stream_set_error(s, r, "%s", err.msg[0] ? err.msg : vmig_strerror(r));
            }
            return r;
        default:
            if (flags & VMIG_RAM_SAVE_FLAG_HOOK)
                return vmig_stream_set_error(s, -EINVAL,
                                             "RAM hook record (flags 0x%x) without RDMA", flags);
            return vmig_stream_set_error(s, -EINVAL,
                                         "Unknown combination of migration flags: 0x%x", flags);
        }

        if (n % LOAD_RECORDS_PER_CHECK == 0) {
            /* Copy out what the pool has done while the loop has its turn. */
            while (vmig_work_ring_inflight(&ram->load_ring) && (r = take_one(ram, s, false)) > 0)
                ;
            if (r < 0)
                return r;
            r = ram_slice_check(ram, uv_hrtime());
            if (r < 0)
                return vmig_stream_set_error(s, r, "RAM load cancelled");
        }
    }
}
