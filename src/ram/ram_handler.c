/* ram_handler.c — the "ram" entry of a savevm registry (its hooks table),
 * and what the migration jobs set and read: options, phase, counters. */
#include "ram/ram_internal.h"

#include <errno.h>
#include <string.h>

/* Postcopy-capable when postcopy-ram is on: RAM then keeps iterating after
 * the switch-over and sends its END last. */
static bool ram_has_postcopy(void *opaque)
{
    const vmig_ram_t *ram = opaque;
    return ram->opts.postcopy_ram;
}

static const vmig_savevm_ops_t ram_ops = {
    .save_setup = vmig__ram_save_setup,
    .save_iterate = vmig__ram_save_iterate,
    .save_complete = vmig__ram_save_complete,
    .pending = vmig__ram_pending,
    .save_cleanup = vmig__ram_save_cleanup,
    .load = vmig__ram_load,
    .load_setup = vmig__ram_load_setup,
    .load_cleanup = vmig__ram_load_cleanup,
    .has_postcopy = ram_has_postcopy,
};

int vmig_ram_register(vmig_ram_t *ram, vmig_savevm_t *sv)
{
    int id = vmig_savevm_register_handler(sv, VMIG_RAM_IDSTR, 0, VMIG_RAM_VERSION,
                                          VMIG_SAVEVM_PRI_DEFAULT, &ram_ops, ram);
    if (id >= 0)
        ram->sv = sv;
    return id;
}

void vmig_ram_set_save_opts(vmig_ram_t *ram, const vmig_ram_save_opts_t *opts)
{
    /* A new xbzrle-cache-size while migrating: the sender may hold pointers
     * into the cache (a batch on the pool), so it resizes between calls. */
    if (ram->xb.mem && opts->xbzrle_cache_size != ram->xb.size)
        ram->xb_resize = opts->xbzrle_cache_size;
    ram->opts = *opts;
}

void vmig_ram_set_phase(vmig_ram_t *ram, vmig_ram_phase_t phase)
{
    ram->phase = phase;
}

void vmig_ram_reset_counters(vmig_ram_t *ram)
{
    memset(&ram->c, 0, sizeof(ram->c));
    ram->xfer_prev = 0; /* the auto-converge period measures from the new zero */
    vmig_xbzrle_cache_reset_stats(&ram->xb);
    memset(&ram->comp, 0, sizeof(ram->comp));
    ram->target_pages = 0;
    if (!ram->saving)
        ram->dirty_pages = 0;
}

const vmig_ram_counters_t *vmig_ram_counters(const vmig_ram_t *ram)
{
    return &ram->c;
}

uint64_t vmig_ram_remaining(const vmig_ram_t *ram)
{
    return ram->dirty_pages * RAM_PAGE_SIZE;
}

uint64_t vmig_ram_pages_sent(const vmig_ram_t *ram)
{
    return ram->c.normal + ram->c.duplicate + ram->xb.st.pages + ram->comp.pages;
}

int vmig_ram_xbzrle_stats_json(const vmig_ram_t *ram, json_t *obj)
{
    /* QEMU reports the parameter as cache-size, cache or not. */
    vmig_xbzrle_cache_t shown = ram->xb;
    shown.size = ram->opts.xbzrle_cache_size;
    return vmig_xbzrle_cache_stats_json(&shown, obj);
}

int vmig_ram_compress_stats_json(const vmig_ram_t *ram, json_t *obj)
{
    const vmig_ram_compress_stats_t *st = &ram->comp;
    if (json_object_set_new(obj, "pages", json_integer((json_int_t)st->pages)) ||
        json_object_set_new(obj, "busy", json_integer((json_int_t)st->busy)) ||
        json_object_set_new(obj, "busy-rate", json_real(st->busy_rate)) ||
        json_object_set_new(obj, "compressed-size",
                            json_integer((json_int_t)st->compressed_size)) ||
        json_object_set_new(obj, "compression-rate", json_real(st->compression_rate)))
        return -ENOMEM;
    return 0;
}

int vmig_ram_throttle_pct(const vmig_ram_t *ram)
{
    return ram->throttle_pct;
}

void vmig_ram_set_load_postcopy(vmig_ram_t *ram, bool advised)
{
    ram->load_postcopy = advised;
}

void vmig_ram_set_load_opts(vmig_ram_t *ram, const vmig_ram_load_opts_t *opts)
{
    ram->load_opts = *opts;
}

void vmig_ram_set_multifd(vmig_ram_t *ram, const vmig_ram_multifd_ops_t *ops)
{
    ram->mf = ops;
}

void vmig_ram_mark_received(vmig_ram_block_t *block, uint64_t offset)
{
    if (block->recv && offset < block->length)
        mark_received(block, offset);
}
