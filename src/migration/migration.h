/* migration.h — the migration object of one engine: its capabilities and
 * parameters, the outgoing and the incoming job (one coroutine each), the
 * statistics of query-migrate and the QMP commands that drive them. */
#ifndef VMIG_MIGRATION_MIGRATION_H
#define VMIG_MIGRATION_MIGRATION_H

#include <stdbool.h>

#include "vmig/migration.h"
#include "vmig/vmig.h"

typedef struct vmig_migration vmig_migration_t;

/* Create the object for engine e: registers its QMP commands on the
 * engine's monitor and the timer and globalstate sections in its savevm
 * registry. 0 or a negative errno. */
int vmig_migration_new(vmig_engine_t *e, vmig_migration_t **out);
/* In a coroutine: cancel whatever job runs and wait until it has ended
 * (the source VM left running, the incoming channel closed). */
void vmig_migration_close(vmig_migration_t *m);
/* A migration in either direction is under way: what it reads (capabilities,
 * the registered sections) must not change. */
bool vmig_migration_busy(const vmig_migration_t *m);
/* Free (after vmig_migration_close(), or when no job ever ran). */
void vmig_migration_free(vmig_migration_t *m);

#endif
