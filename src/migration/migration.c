/* migration.c — the migration object of one engine (placeholder). */
#include <errno.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "migration/migration.h"

struct vmig_migration { vmig_engine_t *e; };

int vmig_migration_new(vmig_engine_t *e, vmig_migration_t **out)
{
    vmig_migration_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->e = e;
    *out = m;
    return 0;
}

void vmig_migration_close(vmig_migration_t *m) { (void)m; }
void vmig_migration_free(vmig_migration_t *m) { free(m); }
