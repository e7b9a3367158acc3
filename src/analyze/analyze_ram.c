/* analyze_ram.c — the "ram" section body for the analyzer (spec/ram.md): the
 * block list, page records of every kind, and their contents handed to a
 * sink (zero fill, raw copy, zlib inflate through vmig_decompress_page, XBZRLE
 * patch of the old page through vmig_xbzrle_decode). */
#include "analyze/analyze_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ram/ram_compress.h"
#include "ram/ram_wire.h"
#include "ram/ram_xbzrle.h"

/* ---- block list --------------------------------------------------------------------- */

static int find_block(const an_ctx_t *c, const char *name)
{
    for (unsigned i = 0; i < c->nblocks; i++)
        if (!strcmp(c->blocks[i].name, name))
            return (int)i;
    return -1;
}

static int sink_error(an_ctx_t *c, uint64_t off, int r, const char *name)
{
    return an_fail(c, off, r, "RAM contents of block '%.60s': %s", name, strerror(-r));
}

/* With postcopy-ram, a block whose page size is not the host's (huge pages)
 * has it after its length; the ADVISE command's summary says whether any
 * does. The be64 is recognisable: a power of two above the page size that the
 * summary contains, starting with a zero byte where the next block's name
 * length (never 0) or a record would be. Returns it, or 0 if not there. */
static uint64_t block_page_size(an_ctx_t *c)
{
    if (!(c->advise_sizes & ~(uint64_t)c->page_size))
        return 0;
    uint8_t b[8];
    if (vmig_stream_peek(c->s, b, 8) != 8)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    if (v <= c->page_size || (v & (v - 1)) || !(v & c->advise_sizes))
        return 0;
    (void)vmig_stream_get_be64(c->s);
    return v;
}

/* MEM_SIZE record at off announcing total bytes: the block list follows. */
static int parse_block_list(an_ctx_t *c, uint64_t off, uint64_t total)
{
    if (c->blocks)
        return an_fail(c, off, -EINVAL, "a second RAM block list");
    if (total > c->max_ram)
        return an_fail(c, off, -ERANGE,
                       "RAM total of %llu bytes is over the limit of %llu",
                       (unsigned long long)total, (unsigned long long)c->max_ram);
    c->blocks = calloc(1, sizeof(*c->blocks)); /* non-NULL marks "list seen" */
    if (!c->blocks)
        return an_fail(c, off, -ENOMEM, "out of memory");
    unsigned cap = 1;
    json_t *jblocks = json_object_get(c->ram, "blocks");
    json_object_set_new(c->ram, "total", json_integer((json_int_t)total));
    c->ram_total = total;
    uint64_t sum = 0;
    while (sum < total) {
        uint64_t boff = vmig_stream_tell(c->s);
        char name[256];
        int n = vmig_stream_get_counted_string(c->s, name);
        uint64_t length = vmig_stream_get_be64(c->s);
        uint64_t psize = block_page_size(c);
        uint64_t addr = c->ignore_shared ? vmig_stream_get_be64(c->s) : 0;
        int r = an_stream_check(c, "RAM block list");
        if (r)
            return r;
        if (n <= 0 || (size_t)n != strlen(name))
            return an_fail(c, boff, -EINVAL, "RAM block with an empty name or a NUL in it");
        if (find_block(c, name) >= 0)
            return an_fail(c, boff, -EINVAL, "RAM block '%.60s' listed twice", name);
        if (length > total - sum)
            return an_fail(c, boff, -ERANGE,
                           "RAM block '%.60s' of %llu bytes overruns the total of %llu", name,
                           (unsigned long long)length, (unsigned long long)total);
        if (c->nblocks == VMIG_ANALYZE_BLOCKS_MAX)
            return an_fail(c, boff, -ERANGE, "more than %u RAM blocks", VMIG_ANALYZE_BLOCKS_MAX);
        if (c->nblocks == cap) {
            an_block_t *nb = realloc(c->blocks, sizeof(*nb) * cap * 2);
            if (!nb)
                return an_fail(c, boff, -ENOMEM, "out of memory");
            c->blocks = nb;
            cap *= 2;
        }
        an_block_t *b = &c->blocks[c->nblocks];
        memcpy(b->name, name, sizeof(b->name));
        b->length = length;
        json_t *jb = json_pack("{s:o, s:I}", "name", an_json_wire_str(name, (size_t)n), "length",
                               (json_int_t)length);
        if (psize)
            json_object_set_new(jb, "page_size", json_integer((json_int_t)psize));
        if (c->ignore_shared)
            json_object_set_new(jb, "addr", json_integer((json_int_t)addr));
        json_array_append_new(jblocks, jb);
        if (c->opts->ram_ops && c->opts->ram_ops->block) {
            r = c->opts->ram_ops->block(c->opts->ram_opaque, c->nblocks, name, length);
            if (r < 0)
                return sink_error(c, boff, r, name);
        }
        c->nblocks++;
        sum += length;
    }
    return 0;
}

/* ---- page records ----------------------------------------------------------------- */

static int page_record(an_ctx_t *c, uint64_t off, unsigned flags, uint64_t addr)
{
    const vmig_analyze_ram_ops_t *ops = c->opts->ram_ops;
    void *opq = c->opts->ram_opaque;
    int idx, r;
    if (!(flags & VMIG_RAM_SAVE_FLAG_CONTINUE)) {
        char name[256];
        if (vmig_stream_get_counted_string(c->s, name) < 0)
            return an_stream_check(c, "RAM block name");
        idx = find_block(c, name);
        if (idx < 0)
            return an_fail(c, off, -EINVAL, "page of unknown RAM block '%.60s'", name);
        c->last_block = idx;
    } else {
        if (c->last_block < 0)
            return an_fail(c, off, -EINVAL, "CONTINUE page record without a previous block");
        idx = c->last_block;
    }
    const an_block_t *b = &c->blocks[idx];
    size_t ps = c->page_size;
    if (addr >= b->length || b->length - addr < ps)
        return an_fail(c, off, -ERANGE, "page offset 0x%llx outside RAM block '%.60s' (0x%llx bytes)",
                       (unsigned long long)addr, b->name, (unsigned long long)b->length);

    switch (flags & ~(unsigned)VMIG_RAM_SAVE_FLAG_CONTINUE) {
    case VMIG_RAM_SAVE_FLAG_ZERO: {
        uint8_t fill = vmig_stream_get_u8(c->s);
        if ((r = an_stream_check(c, "RAM zero page")))
            return r;
        if (ops && ops->fill && (r = ops->fill(opq, (unsigned)idx, addr, fill, ps)) < 0)
            return sink_error(c, off, r, b->name);
        c->res->pages.zero++;
        return 0;
    }
    case VMIG_RAM_SAVE_FLAG_PAGE:
        if (vmig_stream_get_buffer(c->s, c->page, ps) < 0)
            return an_stream_check(c, "RAM page");
        if (ops && ops->write && (r = ops->write(opq, (unsigned)idx, addr, c->page, ps)) < 0)
            return sink_error(c, off, r, b->name);
        c->res->pages.normal++;
        return 0;
    case VMIG_RAM_SAVE_FLAG_XBZRLE: {
        uint64_t hoff = vmig_stream_tell(c->s);
        uint8_t enc = vmig_stream_get_u8(c->s);
        uint16_t len = vmig_stream_get_be16(c->s);
        if ((r = an_stream_check(c, "RAM XBZRLE page")))
            return r;
        if (enc != VMIG_RAM_XBZRLE_ENCODING)
            return an_fail(c, hoff, -EINVAL, "XBZRLE page with encoding 0x%02x (expected 0x01)",
                           enc);
        if (len > ps)
            return an_fail(c, hoff + 1, -ERANGE, "XBZRLE page of %u bytes (more than a page)", len);
        if (vmig_stream_get_buffer(c->s, c->zpage, len) < 0)
            return an_stream_check(c, "RAM XBZRLE page");
        /* Without a sink the runs are still checked, against a zero page. */
        if (ops && ops->read) {
            if ((r = ops->read(opq, (unsigned)idx, addr, c->page, ps)) < 0)
                return sink_error(c, off, r, b->name);
        } else {
            memset(c->page, 0, ps);
        }
        if (vmig_xbzrle_decode(c->zpage, len, c->page, ps) < 0)
            return an_fail(c, hoff + 3, -EBADMSG, "XBZRLE page at offset 0x%llx of '%.60s' does not decode",
                           (unsigned long long)addr, b->name);
        if (ops && ops->write && (r = ops->write(opq, (unsigned)idx, addr, c->page, ps)) < 0)
            return sink_error(c, off, r, b->name);
        c->res->pages.xbzrle++;
        return 0;
    }
    case VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE: {
        uint64_t hoff = vmig_stream_tell(c->s);
        uint32_t len = vmig_stream_get_be32(c->s);
        if ((r = an_stream_check(c, "RAM compressed page")))
            return r;
        if (len > compressBound(ps))
            return an_fail(c, hoff, -ERANGE, "compressed page of %u bytes (at most %lu)", len,
                           (unsigned long)compressBound(ps));
        if (vmig_stream_get_buffer(c->s, c->zpage, len) < 0)
            return an_stream_check(c, "RAM compressed page");
        /* The loader's own check (src/ram), so the analyzer accepts exactly
         * the pages a vmig destination would: one complete zlib stream of
         * one page, nothing after it. */
        char why[96];
        r = vmig_decompress_page_msg(c->zpage, len, c->page, ps, why, sizeof(why));
        if (r == -ENOMEM)
            return an_fail(c, hoff + 4, r, "out of memory");
        if (r < 0)
            return an_fail(c, hoff + 4, -EBADMSG,
                           "compressed page at offset 0x%llx of '%.60s' (%u bytes) is not one "
                           "zlib stream of exactly one page: %s",
                           (unsigned long long)addr, b->name, len, why[0] ? why : strerror(-r));
        if (ops && ops->write && (r = ops->write(opq, (unsigned)idx, addr, c->page, ps)) < 0)
            return sink_error(c, off, r, b->name);
        c->res->pages.compressed++;
        return 0;
    }
    }
    return an_fail(c, off, -EINVAL, "unknown combination of RAM flags 0x%x", flags);
}

int an_ram_body(an_ctx_t *c, const an_live_t *sec)
{
    (void)sec; /* one RAM handler; its id is checked by the footer */
    size_t ps = c->page_size;
    if (!c->page) {
        c->page = malloc(ps);
        c->zpage = malloc(compressBound(ps) > ps ? compressBound(ps) : ps);
        if (!c->page || !c->zpage)
            return an_fail(c, vmig_stream_tell(c->s), -ENOMEM, "out of memory");
    }
    for (;;) {
        int r = an_maybe_yield(c);
        if (r)
            return r;
        uint64_t off = vmig_stream_tell(c->s);
        uint64_t word = vmig_stream_get_be64(c->s);
        if ((r = an_stream_check(c, "RAM record")))
            return r;
        unsigned flags = (unsigned)(word & (ps - 1));
        uint64_t addr = word & ~(uint64_t)(ps - 1);
        switch (flags & ~(unsigned)VMIG_RAM_SAVE_FLAG_CONTINUE) {
        case VMIG_RAM_SAVE_FLAG_EOS:
            return 0;
        case VMIG_RAM_SAVE_FLAG_MEM_SIZE:
            r = parse_block_list(c, off, addr);
            break;
        case VMIG_RAM_SAVE_FLAG_MULTIFD_FLUSH:
            /* QEMU 8.0+: a sync point of multifd channels, no data here. */
            break;
        case VMIG_RAM_SAVE_FLAG_ZERO:
        case VMIG_RAM_SAVE_FLAG_PAGE:
        case VMIG_RAM_SAVE_FLAG_XBZRLE:
        case VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE:
            r = page_record(c, off, flags, addr);
            break;
        default:
            return an_fail(c, off, -EINVAL, "unknown combination of RAM flags 0x%x", flags);
        }
        if (r)
            return r;
    }
}

void an_ram_free(an_ctx_t *c)
{
    free(c->blocks);
    free(c->page);
    free(c->zpage);
    c->blocks = NULL;
    c->page = c->zpage = NULL;
}
