/* engine_ram.c — the public RAM block calls of an engine (include/vmig/ram.h),
 * forwarded to the engine's RAM layer. */
#include <errno.h>

#include "engine/engine.h"

int vmig_engine_ram_add(vmig_engine_t *engine, const vmig_ram_block_opts_t *opts,
                        vmig_ram_block_t **out)
{
    if (!engine || !engine->ram)
        return -EINVAL;
    return vmig_ram_add(engine->ram, opts, out);
}

int vmig_engine_ram_remove(vmig_engine_t *engine, vmig_ram_block_t *block)
{
    if (!engine || !engine->ram)
        return -EINVAL;
    return vmig_ram_remove(engine->ram, block);
}

vmig_ram_block_t *vmig_engine_ram_find(vmig_engine_t *engine, const char *name)
{
    if (!engine || !engine->ram)
        return NULL;
    return vmig_ram_find(engine->ram, name);
}
