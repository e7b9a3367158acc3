/* migration.h — live migration from the C API: the same operations as the
 * QMP commands (migrate, migrate-incoming, migrate_cancel, capabilities and
 * parameters), the migration state and a callback on each state change. */
#ifndef VMIG_MIGRATION_H
#define VMIG_MIGRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "vmig/vmig.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Rules
 * - One outgoing and one incoming migration per engine at a time (QEMU's
 *   rule); each runs as a coroutine on the engine's loop. These functions
 *   only start, steer or read it; they never wait for it to end.
 * - The functions below behave exactly like their QMP commands (same checks,
 *   same error texts in err) and may be mixed with QMP use.
 * - URIs: tcp:HOST:PORT, unix:PATH, fd:NAME (a descriptor given to getfd),
 *   fd:N (an inherited descriptor number), exec:CMD and file:PATH (vmig's
 *   extension: the stream in a regular file, the same bytes as
 *   `exec:cat > PATH`).
 */

/* QEMU 7.2's MigrationStatus, in its QAPI order. */
#define VMIG_MIGRATION_STATUS_MAP(XX)        \
    XX(NONE, "none")                         \
    XX(SETUP, "setup")                       \
    XX(CANCELLING, "cancelling")             \
    XX(CANCELLED, "cancelled")               \
    XX(ACTIVE, "active")                     \
    XX(POSTCOPY_ACTIVE, "postcopy-active")   \
    XX(POSTCOPY_PAUSED, "postcopy-paused")   \
    XX(POSTCOPY_RECOVER, "postcopy-recover") \
    XX(COMPLETED, "completed")               \
    XX(FAILED, "failed")                     \
    XX(COLO, "colo")                         \
    XX(PRE_SWITCHOVER, "pre-switchover")     \
    XX(DEVICE, "device")                     \
    XX(WAIT_UNPLUG, "wait-unplug")

typedef enum vmig_migration_status {
#define XX(c, s) VMIG_MIGRATION_STATUS_##c,
    VMIG_MIGRATION_STATUS_MAP(XX)
#undef XX
    VMIG_MIGRATION_STATUS__MAX
} vmig_migration_status_t;

/* "active"...; NULL out of range. */
const char *vmig_migration_status_name(vmig_migration_status_t s);
/* The status named name, or -EINVAL. */
int vmig_migration_status_from_name(const char *name);

/* Which side a state change is about. */
typedef enum vmig_migration_dir {
    VMIG_MIGRATION_OUTGOING,
    VMIG_MIGRATION_INCOMING,
} vmig_migration_dir_t;

/* Called on the loop after every state change of either direction (also
 * without the `events` capability). Must not block; may call into the engine. */
typedef void (*vmig_migration_cb)(void *opaque, vmig_engine_t *engine, vmig_migration_dir_t dir,
                                  vmig_migration_status_t status);
/* One callback per engine (NULL removes it). */
void vmig_engine_set_migration_cb(vmig_engine_t *engine, vmig_migration_cb cb, void *opaque);

/* QMP `migrate`: start migrating to uri. Returns once the migration is in
 * `setup` (connection failures then end in `failed`, as in QEMU); 0 or a
 * negative errno with QEMU's message in err. */
int vmig_engine_migrate(vmig_engine_t *engine, const char *uri, vmig_error_t *err);
/* QEMU's `-incoming URI`: uri "defer" waits for migrate-incoming; any other
 * URI starts listening (or reading) now. Once per engine, before the VM
 * runs: the engine enters `inmigrate`. */
int vmig_engine_incoming(vmig_engine_t *engine, const char *uri, vmig_error_t *err);
/* QMP `migrate-incoming` (only after vmig_engine_incoming(engine, "defer")). */
int vmig_engine_migrate_incoming(vmig_engine_t *engine, const char *uri, vmig_error_t *err);
/* QMP `migrate_cancel`: cancel the outgoing migration, if any (never fails). */
void vmig_engine_migrate_cancel(vmig_engine_t *engine);

vmig_migration_status_t vmig_engine_migration_status(const vmig_engine_t *engine);
vmig_migration_status_t vmig_engine_incoming_status(const vmig_engine_t *engine);
/* The first error of the last outgoing / incoming migration that failed
 * (query-migrate's error-desc), or NULL when it has none (a cancelled one has
 * none). Valid until the next one starts. */
const char *vmig_engine_migration_error(const vmig_engine_t *engine);
const char *vmig_engine_incoming_error(const vmig_engine_t *engine);

/* QMP migrate-set-capabilities for one capability (QEMU's name): 0 or a
 * negative errno with QEMU's message (busy, incompatible, unknown, or not
 * implemented by vmig yet). */
int vmig_engine_migrate_set_capability(vmig_engine_t *engine, const char *name, bool on,
                                       vmig_error_t *err);
/* QMP migrate-set-parameters for one integer or boolean parameter (QEMU's
 * name, e.g. "max-bandwidth", "downtime-limit"). */
int vmig_engine_migrate_set_parameter(vmig_engine_t *engine, const char *name, int64_t value,
                                      vmig_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
