/* mig_params.h — migration capabilities and parameters as QEMU 7.2 lists
 * them (spec/qmp.md §5-§6): names, order, defaults, ranges, the checks of
 * migrate-set-capabilities / migrate-set-parameters and their query replies. */
#ifndef VMIG_MIG_PARAMS_H
#define VMIG_MIG_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "qmp/qmp.h"

/* QEMU 7.2's MigrationCapability, in its enum order. The third column says
 * whether vmig implements it; setting an unimplemented one to true is
 * refused with "Capability 'NAME' is not supported by vmig yet". Later
 * issues flip their column. */
#define VMIG_MIG_CAP_MAP(XX)                                   \
    XX(XBZRLE, "xbzrle", 1)                                    \
    XX(RDMA_PIN_ALL, "rdma-pin-all", 0)                        \
    XX(AUTO_CONVERGE, "auto-converge", 1)                      \
    XX(ZERO_BLOCKS, "zero-blocks", 0)                          \
    XX(COMPRESS, "compress", 1)                                \
    XX(EVENTS, "events", 1)                                    \
    XX(POSTCOPY_RAM, "postcopy-ram", 0)                        \
    XX(X_COLO, "x-colo", 0)                                    \
    XX(RELEASE_RAM, "release-ram", 1)                          \
    XX(BLOCK, "block", 0)                                      \
    XX(RETURN_PATH, "return-path", 1)                          \
    XX(PAUSE_BEFORE_SWITCHOVER, "pause-before-switchover", 1)  \
    XX(MULTIFD, "multifd", 1)                                  \
    XX(DIRTY_BITMAPS, "dirty-bitmaps", 0)                      \
    XX(POSTCOPY_BLOCKTIME, "postcopy-blocktime", 0)            \
    XX(LATE_BLOCK_ACTIVATE, "late-block-activate", 0)          \
    XX(X_IGNORE_SHARED, "x-ignore-shared", 0)                  \
    XX(VALIDATE_UUID, "validate-uuid", 0)                      \
    XX(BACKGROUND_SNAPSHOT, "background-snapshot", 0)          \
    XX(ZERO_COPY_SEND, "zero-copy-send", 0)                    \
    XX(POSTCOPY_PREEMPT, "postcopy-preempt", 0)

typedef enum vmig_mig_cap {
#define XX(c, s, impl) VMIG_MIG_CAP_##c,
    VMIG_MIG_CAP_MAP(XX)
#undef XX
    VMIG_MIG_CAP__MAX
} vmig_mig_cap_t;

/* multifd-compression */
typedef enum vmig_multifd_compression {
    VMIG_MULTIFD_COMPRESSION_NONE,
    VMIG_MULTIFD_COMPRESSION_ZLIB,
    VMIG_MULTIFD_COMPRESSION_ZSTD,
} vmig_multifd_compression_t;

/* One block-bitmap-mapping entry is kept as JSON (validated by a later issue). */

/* Every parameter of QEMU 7.2's MigrationParameters, with its current value. */
typedef struct vmig_mig_params {
    uint64_t announce_initial;      /* ms, default 50 */
    uint64_t announce_max;          /* ms, default 550 */
    uint64_t announce_rounds;       /* default 5 */
    uint64_t announce_step;         /* ms, default 100 */
    uint8_t compress_level;         /* default 1 */
    uint8_t compress_threads;       /* default 8 */
    bool compress_wait_thread;      /* default true */
    uint8_t decompress_threads;     /* default 2 */
    uint8_t throttle_trigger_threshold; /* %, default 50 */
    uint8_t cpu_throttle_initial;   /* %, default 20 */
    uint8_t cpu_throttle_increment; /* %, default 10 */
    bool cpu_throttle_tailslow;     /* default false */
    char *tls_creds;                /* default "" (malloc'd) */
    char *tls_hostname;             /* default "" */
    char *tls_authz;                /* default "" */
    uint64_t max_bandwidth;         /* bytes/s, default 128 MiB/s */
    uint64_t downtime_limit;        /* ms, default 300 */
    uint32_t x_checkpoint_delay;    /* ms, default 20000 */
    bool block_incremental;         /* default false */
    uint8_t multifd_channels;       /* default 2 */
    uint64_t xbzrle_cache_size;     /* bytes, default 64 MiB */
    uint64_t max_postcopy_bandwidth; /* bytes/s, default 0 */
    uint8_t max_cpu_throttle;       /* %, default 99 */
    vmig_multifd_compression_t multifd_compression; /* default none */
    uint8_t multifd_zlib_level;     /* default 1 */
    uint8_t multifd_zstd_level;     /* default 1 */
    json_t *block_bitmap_mapping;   /* NULL until set (then a JSON array, owned) */
} vmig_mig_params_t;

/* Capabilities and parameters of one engine. */
typedef struct vmig_mig_config {
    bool caps[VMIG_MIG_CAP__MAX]; /* capability states */
    vmig_mig_params_t params;     /* parameter values */
} vmig_mig_config_t;

const char *vmig_mig_cap_name(vmig_mig_cap_t cap);
/* The capability named name, or -EINVAL. */
int vmig_mig_cap_from_name(const char *name);
bool vmig_mig_cap_implemented(vmig_mig_cap_t cap);

/* Defaults (QEMU 7.2's). 0 or -ENOMEM. */
int vmig_mig_config_init(vmig_mig_config_t *cfg);
void vmig_mig_config_close(vmig_mig_config_t *cfg);

/* migrate-set-capabilities: args is the command's argument object
 * ({"capabilities": [{"capability", "state"}...]}, already schema-checked).
 * Checks the resulting full set as QEMU does (incompatibilities, vmig's
 * unimplemented ones) and applies it all or nothing. incoming: the engine
 * waits for an incoming migration (destination-only checks). 0 or -EINVAL
 * with QEMU's message in err. The busy check is the caller's. */
int vmig_mig_set_caps(vmig_mig_config_t *cfg, const json_t *args, bool incoming,
                      vmig_qmp_error_t *err);
/* query-migrate-capabilities: a new JSON array in enum order. */
json_t *vmig_mig_query_caps(const vmig_mig_config_t *cfg);

/* migrate-set-parameters: args is the argument object (schema-checked:
 * types and uint8 etc. ranges). Range checks with QEMU 7.2's texts, vmig's
 * unimplemented values refused, then applied all or nothing. 0 or -EINVAL. */
int vmig_mig_set_params(vmig_mig_config_t *cfg, const json_t *args, vmig_qmp_error_t *err);
/* query-migrate-parameters: a new JSON object with every parameter
 * (block-bitmap-mapping only once set). */
json_t *vmig_mig_query_params(const vmig_mig_config_t *cfg);

#endif
