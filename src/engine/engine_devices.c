/* engine_devices.c — the public device registration of an engine
 * (include/vmig/vmstate.h): a vmstate description becomes a FULL section of
 * the engine's savevm registry. */
#include <errno.h>

#include "engine/engine.h"
#include "vmig/migration.h"

/* A migration in either direction reads the registry: no change under it. */
static bool migrating(const vmig_engine_t *e)
{
    vmig_migration_status_t out = vmig_engine_migration_status(e);
    vmig_migration_status_t in = vmig_engine_incoming_status(e);
    return (out != VMIG_MIGRATION_STATUS_NONE && out != VMIG_MIGRATION_STATUS_COMPLETED &&
            out != VMIG_MIGRATION_STATUS_FAILED && out != VMIG_MIGRATION_STATUS_CANCELLED) ||
           in == VMIG_MIGRATION_STATUS_ACTIVE;
}

int vmig_engine_register_vmsd(vmig_engine_t *engine, const char *idstr, uint32_t instance_id,
                              const vmig_vmsd_t *vmsd, void *opaque)
{
    if (!engine || !engine->savevm)
        return -EINVAL;
    if (migrating(engine))
        return -EBUSY;
    int r = vmig_savevm_register_vmsd(engine->savevm, idstr, instance_id, vmsd, opaque);
    return r < 0 ? r : 0;
}
