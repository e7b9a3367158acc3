/* ram_block.c — the engine's list of RAM blocks: add, remove, find, the
 * public accessors, and vmig_ram_block_mark_dirty(), the one call vCPU
 * threads make into the engine. */
#include "ram/ram_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

vmig_ram_t *vmig_ram_new(void)
{
    vmig_ram_t *ram = calloc(1, sizeof(*ram));
    if (!ram)
        return NULL;
    /* QEMU's defaults, so that a migration started before anyone set the
     * parameters still throttles sensibly if auto-converge is switched on. */
    ram->opts.throttle_trigger_threshold = 50;
    ram->opts.cpu_throttle_initial = 20;
    ram->opts.cpu_throttle_increment = 10;
    ram->opts.max_cpu_throttle = 99;
    return ram;
}

static void block_free(vmig_ram_block_t *b)
{
    free((void *)b->log);
    free(b->bmap);
    free(b->scratch);
    free(b->recv);
    free(b);
}

void vmig_ram_free(vmig_ram_t *ram)
{
    if (!ram)
        return;
    /* A migration still holding the blocks would leave logs running: stop
     * them (cleanup is idempotent) before the blocks go. */
    vmig__ram_dirty_cleanup(ram);
    vmig__ram_load_cleanup(ram);
    vmig_ram_block_t *b = ram->head;
    while (b) {
        vmig_ram_block_t *next = b->next;
        block_free(b);
        b = next;
    }
    free(ram);
}

bool vmig_ram_busy(const vmig_ram_t *ram)
{
    return ram->saving || ram->loading;
}

/* The rules of vmig_ram_block_opts_t; 0 or -EINVAL. */
static int check_opts(const vmig_ram_t *ram, const vmig_ram_block_opts_t *o, size_t *namelen,
                      uint64_t *page_size)
{
    if (!o || !o->name || !o->host)
        return -EINVAL;
    size_t n = strnlen(o->name, 256);
    if (n == 0 || n > 255)
        return -EINVAL;
    uint64_t ps = o->page_size ? o->page_size : RAM_PAGE_SIZE;
    /* A power of two no smaller than the target page: bitmaps count target
     * pages and a host page must hold whole ones. */
    if (ps < RAM_PAGE_SIZE || (ps & (ps - 1)) != 0)
        return -EINVAL;
    if (o->length == 0 || o->length % ps != 0 || (uintptr_t)o->host % ps != 0)
        return -EINVAL;
    /* The MEM_SIZE record carries the sum in 64 bits. */
    if (o->length > UINT64_MAX - ram->total_all)
        return -EINVAL;
    *namelen = n;
    *page_size = ps;
    return 0;
}

int vmig_ram_add(vmig_ram_t *ram, const vmig_ram_block_opts_t *opts, vmig_ram_block_t **out)
{
    if (!ram)
        return -EINVAL;
    size_t namelen;
    uint64_t ps;
    int r = check_opts(ram, opts, &namelen, &ps);
    if (r < 0)
        return r;
    if (vmig_ram_busy(ram))
        return -EBUSY;
    if (vmig_ram_find(ram, opts->name))
        return -EEXIST;

    vmig_ram_block_t *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    memcpy(b->name, opts->name, namelen);
    b->namelen = (uint8_t)namelen;
    b->host = opts->host;
    b->length = opts->length;
    b->page_size = ps;
    b->npages = opts->length >> RAM_PAGE_BITS;
    b->nwords = (size_t)((b->npages + 63) / 64);
    b->hp_shift = (unsigned)__builtin_ctzll(ps) - RAM_PAGE_BITS;
    b->shared = opts->shared;
    b->log_ops = opts->log_ops;
    b->log_opaque = opts->log_opaque;
    b->ram = ram;
    atomic_init(&b->logging, false);
    if (!b->log_ops) {
        b->log = calloc(b->nwords, sizeof(*b->log));
        if (!b->log) {
            free(b);
            return -ENOMEM;
        }
    }
    if (ram->tail)
        ram->tail->next = b;
    else
        ram->head = b;
    ram->tail = b;
    ram->count++;
    ram->total_all += b->length;
    if (out)
        *out = b;
    return 0;
}

int vmig_ram_remove(vmig_ram_t *ram, vmig_ram_block_t *block)
{
    if (!ram || !block)
        return -EINVAL;
    if (block->ram != ram)
        return -ENOENT;
    if (vmig_ram_busy(ram))
        return -EBUSY;
    vmig_ram_block_t **pp = &ram->head, *prev = NULL;
    while (*pp && *pp != block) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return -ENOENT;
    *pp = block->next;
    if (ram->tail == block)
        ram->tail = prev;
    ram->count--;
    ram->total_all -= block->length;
    block_free(block);
    return 0;
}

vmig_ram_block_t *vmig_ram_find(const vmig_ram_t *ram, const char *name)
{
    if (!ram || !name)
        return NULL;
    for (vmig_ram_block_t *b = ram->head; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

size_t vmig_ram_count(const vmig_ram_t *ram)
{
    return ram->count;
}

/* query-migrate "total": the blocks a migration sends, so shared ones are
 * left out while x-ignore-shared is on (spec/ram.md §10; QEMU computes it
 * from the current capabilities at each query). */
uint64_t vmig_ram_total(const vmig_ram_t *ram)
{
    bool ignore = ram->saving ? ram->ignore_shared : vmig__ram_cap_ignore_shared(ram);
    if (!ignore)
        return ram->total_all;
    uint64_t total = 0;
    for (const vmig_ram_block_t *b = ram->head; b; b = b->next)
        if (!b->shared)
            total += b->length;
    return total;
}

const char *vmig_ram_block_name(const vmig_ram_block_t *block)
{
    return block->name;
}

void *vmig_ram_block_host(const vmig_ram_block_t *block)
{
    return block->host;
}

uint64_t vmig_ram_block_length(const vmig_ram_block_t *block)
{
    return block->length;
}

uint64_t vmig_ram_block_page_size(const vmig_ram_block_t *block)
{
    return block->page_size;
}

void vmig_ram_block_mark_dirty(vmig_ram_block_t *block, uint64_t offset, uint64_t len)
{
    /* The common case, no migration: one relaxed load and out. */
    if (!atomic_load_explicit(&block->logging, memory_order_relaxed))
        return;
    if (!block->log || len == 0 || offset >= block->length)
        return;
    if (len > block->length - offset)
        len = block->length - offset;
    uint64_t first = offset >> RAM_PAGE_BITS;
    uint64_t last = (offset + len - 1) >> RAM_PAGE_BITS;
    uint64_t w = first / 64, wlast = last / 64;
    for (; w <= wlast; w++) {
        uint64_t mask = UINT64_MAX;
        if (w == first / 64)
            mask &= UINT64_MAX << (first % 64);
        if (w == wlast)
            mask &= UINT64_MAX >> (63 - last % 64);
        /* Release, not relaxed: the sync that sees this bit (acquire) must
         * also see the guest's write made before it, or it could send the
         * old page and clear the only record of the new one. On x86 every
         * locked RMW is a full barrier, so this costs nothing there. Never
         * skip the RMW when the bits look set already: a plain load may be
         * ordered before the guest's store, and the sync could take the old
         * bit and read the page before that store shows. */
        atomic_fetch_or_explicit(&block->log[w], mask, memory_order_release);
    }
}
