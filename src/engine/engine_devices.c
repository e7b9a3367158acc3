/* engine_devices.c — the public device registration of an engine
 * (include/vmig/vmstate.h): a vmstate description becomes a FULL section of
 * the engine's savevm registry. */
#include <errno.h>

#include "engine/engine.h"
#include "migration/migration.h"

int vmig_engine_register_vmsd(vmig_engine_t *engine, const char *idstr, uint32_t instance_id,
                              const vmig_vmsd_t *vmsd, void *opaque)
{
    if (!engine || !engine->savevm)
        return -EINVAL;
    /* A migration in either direction reads the registry. */
    if (engine->mig && vmig_migration_busy(engine->mig))
        return -EBUSY;
    int r = vmig_savevm_register_vmsd(engine->savevm, idstr, instance_id, vmsd, opaque);
    return r < 0 ? r : 0;
}
