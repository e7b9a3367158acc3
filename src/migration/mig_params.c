/* mig_params.c — migration capabilities and parameters as QEMU 7.2 has them:
 * defaults, the checks of migrate-set-capabilities / -parameters (texts and
 * order as 7.2 prints them), vmig's not-yet-implemented refusals, queries. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration/mig_params.h"
#include "qmp/qmp_schema.h"

/*
 * What QEMU 7.2 does, checked against it (tests/migration/fixtures/qemu-7.2):
 * - Both commands check the *resulting* full set (current values with the
 *   request applied), so one request can fail on a value it did not touch
 *   (max-cpu-throttle 30, then cpu-throttle-initial 50 fails with the
 *   max_cpu_throttle text). The first failing check in a fixed order wins,
 *   whatever the request's member order. Nothing is applied on failure.
 * - Range texts name the C field ("compress_level"), not the QMP member.
 * - In a capability list the same capability may appear twice: the last
 *   one wins.
 * - 7.2 neither range-checks nor stores multifd-zlib-level and
 *   multifd-zstd-level (any uint8 is accepted, the query still shows 1,
 *   level 1 is used): vmig keeps no such bug, it checks them (0..9, 0..20,
 *   later QEMU's texts), stores and uses them.
 * - The host checks of 7.2 (userfaultfd for postcopy-ram on a destination,
 *   write-protect support and the RAM configuration for background-snapshot)
 *   are not imitated: vmig refuses those capabilities as not implemented,
 *   after the checks it does imitate. Multifd on a non-socket URI fails at
 *   migrate time, as in 7.2 ("multifd is not supported by current protocol").
 * - block-bitmap-mapping's alias checks are not imitated yet: vmig takes
 *   only the empty list (a later issue implements the mapping).
 * What vmig adds: its own refusals come after the checks it imitates, so an
 * input those checks refuse gets QEMU's text, not vmig's.
 */

#define MIG_DEFAULT_MAX_BANDWIDTH (128ull << 20) /* bytes/s */
#define MIG_DEFAULT_XBZRLE_CACHE (64ull << 20)   /* bytes */
#define MIG_MAX_DOWNTIME 2000000ull             /* ms: QEMU's (2000 * 1000) */
#define MIG_TARGET_PAGE_SIZE 4096u              /* x86-64's */

/* ---- capabilities ------------------------------------------------------------ */

static const struct {
    const char *name;
    bool implemented;
} cap_table[VMIG_MIG_CAP__MAX] = {
#define XX(c, s, impl) [VMIG_MIG_CAP_##c] = { s, impl },
    VMIG_MIG_CAP_MAP(XX)
#undef XX
};

const char *vmig_mig_cap_name(vmig_mig_cap_t cap)
{
    return (unsigned)cap < VMIG_MIG_CAP__MAX ? cap_table[cap].name : NULL;
}

int vmig_mig_cap_from_name(const char *name)
{
    if (!name)
        return -EINVAL;
    for (int i = 0; i < VMIG_MIG_CAP__MAX; i++)
        if (strcmp(cap_table[i].name, name) == 0)
            return i;
    return -EINVAL;
}

bool vmig_mig_cap_implemented(vmig_mig_cap_t cap)
{
    return (unsigned)cap < VMIG_MIG_CAP__MAX && cap_table[cap].implemented;
}

/* What background-snapshot cannot be combined with, in the order 7.2 checks
 * them (the first one set is named). */
static const vmig_mig_cap_t bg_snapshot_incompatible[] = {
    VMIG_MIG_CAP_POSTCOPY_RAM,        VMIG_MIG_CAP_DIRTY_BITMAPS,
    VMIG_MIG_CAP_POSTCOPY_BLOCKTIME,  VMIG_MIG_CAP_LATE_BLOCK_ACTIVATE,
    VMIG_MIG_CAP_RETURN_PATH,         VMIG_MIG_CAP_MULTIFD,
    VMIG_MIG_CAP_PAUSE_BEFORE_SWITCHOVER, VMIG_MIG_CAP_AUTO_CONVERGE,
    VMIG_MIG_CAP_RELEASE_RAM,         VMIG_MIG_CAP_RDMA_PIN_ALL,
    VMIG_MIG_CAP_COMPRESS,            VMIG_MIG_CAP_XBZRLE,
    VMIG_MIG_CAP_X_COLO,              VMIG_MIG_CAP_VALIDATE_UUID,
    VMIG_MIG_CAP_ZERO_COPY_SEND,
};

static int generic(vmig_qmp_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int generic(vmig_qmp_error_t *err, const char *fmt, ...)
{
    if (err) {
        err->cls = VMIG_QMP_ERROR_GENERIC;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static const char ZERO_COPY_TEXT[] =
    "Zero copy only available for non-compressed non-TLS multifd migration";

/* 7.2's migrate_caps_check() on the full resulting set caps, with the
 * parameters p in force. */
static int caps_check(const bool *caps, const vmig_mig_params_t *p, vmig_qmp_error_t *err)
{
    if (caps[VMIG_MIG_CAP_POSTCOPY_RAM] && caps[VMIG_MIG_CAP_X_IGNORE_SHARED])
        return generic(err, "Postcopy is not compatible with ignore-shared");
    if (caps[VMIG_MIG_CAP_BACKGROUND_SNAPSHOT]) {
        for (size_t i = 0; i < sizeof(bg_snapshot_incompatible) / sizeof(bg_snapshot_incompatible[0]);
             i++)
            if (caps[bg_snapshot_incompatible[i]])
                return generic(err, "Background-snapshot is not compatible with %s",
                               cap_table[bg_snapshot_incompatible[i]].name);
    }
    /* 7.2 counts xbzrle as compression here, and looks at the parameters
     * (multifd-compression, tls-creds) as they are now. */
    if (caps[VMIG_MIG_CAP_ZERO_COPY_SEND] &&
        (!caps[VMIG_MIG_CAP_MULTIFD] || caps[VMIG_MIG_CAP_COMPRESS] || caps[VMIG_MIG_CAP_XBZRLE] ||
         p->multifd_compression != VMIG_MULTIFD_COMPRESSION_NONE ||
         (p->tls_creds && *p->tls_creds)))
        return generic(err, ZERO_COPY_TEXT);
    if (caps[VMIG_MIG_CAP_POSTCOPY_PREEMPT]) {
        if (!caps[VMIG_MIG_CAP_POSTCOPY_RAM])
            return generic(err, "Postcopy preempt requires postcopy-ram");
        if (caps[VMIG_MIG_CAP_COMPRESS])
            return generic(err, "Postcopy preempt not compatible with compress");
    }
    if (caps[VMIG_MIG_CAP_MULTIFD] && caps[VMIG_MIG_CAP_COMPRESS])
        return generic(err, "Multifd is not compatible with compress");
    return 0;
}

int vmig_mig_set_caps(vmig_mig_config_t *cfg, const json_t *args, bool incoming,
                      vmig_qmp_error_t *err)
{
    /* The destination-only checks of 7.2 are host probes for capabilities
     * vmig refuses anyway (see the top of this file). */
    (void)incoming;
    bool caps[VMIG_MIG_CAP__MAX];
    memcpy(caps, cfg->caps, sizeof(caps));

    /* The dispatcher checked the shape; the C API may not have: the same
     * texts as the schema check. */
    json_t *list = json_object_get(args, "capabilities");
    if (!list)
        return generic(err, "Parameter 'capabilities' is missing");
    if (!json_is_array(list))
        return generic(err, "Invalid parameter type for 'capabilities', expected: array");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        json_t *name = json_object_get(e, "capability");
        json_t *state = json_object_get(e, "state");
        if (!json_is_object(e))
            return generic(err, "Invalid parameter type for 'capabilities[%zu]', expected: object",
                           i);
        if (!name)
            return generic(err, "Parameter 'capabilities[%zu].capability' is missing", i);
        if (!json_is_string(name))
            return generic(err,
                           "Invalid parameter type for 'capabilities[%zu].capability', expected: "
                           "string", i);
        int cap = vmig_mig_cap_from_name(json_string_value(name));
        if (cap < 0)
            return generic(err, "Parameter 'capability' does not accept value '%s'",
                           json_string_value(name));
        if (!state)
            return generic(err, "Parameter 'capabilities[%zu].state' is missing", i);
        if (!json_is_boolean(state))
            return generic(err,
                           "Invalid parameter type for 'capabilities[%zu].state', expected: boolean",
                           i);
        caps[cap] = json_is_true(state);
    }

    int r = caps_check(caps, &cfg->params, err);
    if (r < 0)
        return r;
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++)
        if (caps[c] && !cfg->caps[c] && !cap_table[c].implemented)
            return generic(err, "Capability '%s' is not supported by vmig yet", cap_table[c].name);
    memcpy(cfg->caps, caps, sizeof(caps));
    return 0;
}

json_t *vmig_mig_query_caps(const vmig_mig_config_t *cfg)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (int c = 0; c < VMIG_MIG_CAP__MAX; c++) {
        json_t *e = json_pack("{s:s, s:b}", "capability", cap_table[c].name, "state",
                              cfg->caps[c]);
        if (!e || json_array_append_new(list, e) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* ---- parameters ------------------------------------------------------------- */

/* How a parameter's value travels in JSON. */
typedef enum ptype {
    PT_U8,     /* uint8 */
    PT_U32,    /* uint32 */
    PT_U64,    /* uint64 or size */
    PT_BOOL,   /* bool */
    PT_STR,    /* str (query), StrOrNull (set): null means "" */
    PT_MFC,    /* MultiFDCompression */
    PT_BBM,    /* [BitmapMigrationNodeAlias] */
} ptype_t;

/* What vmig does with a value. */
typedef enum ppolicy {
    PP_USED,        /* implemented: stored and used */
    PP_STORED,      /* accepted and stored (announce-*: no NIC to announce yet) */
    PP_DEFAULT_ONLY, /* not implemented yet: only its default value is accepted */
} ppolicy_t;

typedef struct pdesc {
    const char *name; /* QMP member */
    ptype_t type;     /* JSON shape */
    size_t off;       /* in vmig_mig_params_t */
    ppolicy_t policy; /* vmig's support */
} pdesc_t;

#define P(name, type, field, policy) { name, type, offsetof(vmig_mig_params_t, field), policy }

/* MigrationParameters' members in QEMU 7.2's schema order (also the order
 * the type checks visit them in). */
static const pdesc_t params[] = {
    P("announce-initial", PT_U64, announce_initial, PP_STORED),
    P("announce-max", PT_U64, announce_max, PP_STORED),
    P("announce-rounds", PT_U64, announce_rounds, PP_STORED),
    P("announce-step", PT_U64, announce_step, PP_STORED),
    P("compress-level", PT_U8, compress_level, PP_USED),
    P("compress-threads", PT_U8, compress_threads, PP_USED),
    P("compress-wait-thread", PT_BOOL, compress_wait_thread, PP_USED),
    P("decompress-threads", PT_U8, decompress_threads, PP_USED),
    P("throttle-trigger-threshold", PT_U8, throttle_trigger_threshold, PP_USED),
    P("cpu-throttle-initial", PT_U8, cpu_throttle_initial, PP_USED),
    P("cpu-throttle-increment", PT_U8, cpu_throttle_increment, PP_USED),
    P("cpu-throttle-tailslow", PT_BOOL, cpu_throttle_tailslow, PP_USED),
    P("tls-creds", PT_STR, tls_creds, PP_USED),
    P("tls-hostname", PT_STR, tls_hostname, PP_USED),
    P("tls-authz", PT_STR, tls_authz, PP_USED),
    P("max-bandwidth", PT_U64, max_bandwidth, PP_USED),
    P("downtime-limit", PT_U64, downtime_limit, PP_USED),
    P("x-checkpoint-delay", PT_U32, x_checkpoint_delay, PP_DEFAULT_ONLY),
    P("block-incremental", PT_BOOL, block_incremental, PP_DEFAULT_ONLY),
    P("multifd-channels", PT_U8, multifd_channels, PP_USED),
    P("xbzrle-cache-size", PT_U64, xbzrle_cache_size, PP_USED),
    P("max-postcopy-bandwidth", PT_U64, max_postcopy_bandwidth, PP_DEFAULT_ONLY),
    P("max-cpu-throttle", PT_U8, max_cpu_throttle, PP_USED),
    P("multifd-compression", PT_MFC, multifd_compression, PP_USED),
    P("multifd-zlib-level", PT_U8, multifd_zlib_level, PP_USED),
    P("multifd-zstd-level", PT_U8, multifd_zstd_level, PP_USED),
    P("block-bitmap-mapping", PT_BBM, block_bitmap_mapping, PP_DEFAULT_ONLY),
};
#undef P
#define NPARAMS (sizeof(params) / sizeof(params[0]))

static const char *const mfc_names[] = { "none", "zlib", "zstd" };

/* The defaults of 7.2 (strings point to a shared ""; copies are made when
 * they go into a config). */
static void params_default(vmig_mig_params_t *p)
{
    char *empty = (char *)""; /* never written nor freed: copied into a config */
    *p = (vmig_mig_params_t){
        .announce_initial = 50,
        .announce_max = 550,
        .announce_rounds = 5,
        .announce_step = 100,
        .compress_level = 1,
        .compress_threads = 8,
        .compress_wait_thread = true,
        .decompress_threads = 2,
        .throttle_trigger_threshold = 50,
        .cpu_throttle_initial = 20,
        .cpu_throttle_increment = 10,
        .cpu_throttle_tailslow = false,
        .tls_creds = empty,
        .tls_hostname = empty,
        .tls_authz = empty,
        .max_bandwidth = MIG_DEFAULT_MAX_BANDWIDTH,
        .downtime_limit = 300,
        .x_checkpoint_delay = 20000,
        .block_incremental = false,
        .multifd_channels = 2,
        .xbzrle_cache_size = MIG_DEFAULT_XBZRLE_CACHE,
        .max_postcopy_bandwidth = 0,
        .max_cpu_throttle = 99,
        .multifd_compression = VMIG_MULTIFD_COMPRESSION_NONE,
        .multifd_zlib_level = 1,
        .multifd_zstd_level = 1,
        .block_bitmap_mapping = NULL,
    };
}

int vmig_mig_config_init(vmig_mig_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    vmig_mig_params_t d;
    params_default(&d);
    cfg->params = d;
    cfg->params.tls_creds = strdup("");
    cfg->params.tls_hostname = strdup("");
    cfg->params.tls_authz = strdup("");
    if (!cfg->params.tls_creds || !cfg->params.tls_hostname || !cfg->params.tls_authz) {
        vmig_mig_config_close(cfg);
        return -ENOMEM;
    }
    return 0;
}

void vmig_mig_config_close(vmig_mig_config_t *cfg)
{
    free(cfg->params.tls_creds);
    free(cfg->params.tls_hostname);
    free(cfg->params.tls_authz);
    json_decref(cfg->params.block_bitmap_mapping);
    cfg->params.tls_creds = cfg->params.tls_hostname = cfg->params.tls_authz = NULL;
    cfg->params.block_bitmap_mapping = NULL;
}

/* Field access through the table. */
#define FIELD(p, d, T) ((T *)((char *)(p) + (d)->off))
#define CFIELD(p, d, T) ((const T *)((const char *)(p) + (d)->off))

/* Read one member into tmp with the schema check's texts (the dispatcher
 * has done this already; the C API has not). Strings are borrowed from
 * args until applied. */
static int read_param(const pdesc_t *d, const json_t *v, vmig_mig_params_t *tmp,
                      vmig_qmp_error_t *err)
{
    uint64_t u = 0;
    switch (d->type) {
    case PT_U8:
    case PT_U32:
    case PT_U64:
        if (!qmp_schema_uint64(v, &u))
            return generic(err, "Parameter '%s' expects uint64", d->name);
        if (d->type == PT_U8) {
            if (u > UINT8_MAX)
                return generic(err, "Parameter '%s' expects uint8_t", d->name);
            *FIELD(tmp, d, uint8_t) = (uint8_t)u;
        } else if (d->type == PT_U32) {
            if (u > UINT32_MAX)
                return generic(err, "Parameter '%s' expects uint32_t", d->name);
            *FIELD(tmp, d, uint32_t) = (uint32_t)u;
        } else {
            *FIELD(tmp, d, uint64_t) = u;
        }
        return 0;
    case PT_BOOL:
        if (!json_is_boolean(v))
            return generic(err, "Invalid parameter type for '%s', expected: boolean", d->name);
        *FIELD(tmp, d, bool) = json_is_true(v);
        return 0;
    case PT_STR:
        /* Borrowed until applied (then copied): never written through. */
        if (json_is_null(v)) {
            *FIELD(tmp, d, char *) = (char *)"";
            return 0;
        }
        if (!json_is_string(v))
            return generic(err, "Invalid parameter type for '%s', expected: StrOrNull", d->name);
        *FIELD(tmp, d, char *) = (char *)json_string_value(v);
        return 0;
    case PT_MFC:
        if (!json_is_string(v))
            return generic(err, "Invalid parameter type for '%s', expected: string", d->name);
        for (size_t i = 0; i < sizeof(mfc_names) / sizeof(mfc_names[0]); i++) {
            if (strcmp(json_string_value(v), mfc_names[i]) == 0) {
                *FIELD(tmp, d, vmig_multifd_compression_t) = (vmig_multifd_compression_t)i;
                return 0;
            }
        }
        return generic(err, "Parameter '%s' does not accept value '%s'", d->name,
                       json_string_value(v));
    case PT_BBM:
        if (!json_is_array(v))
            return generic(err, "Invalid parameter type for '%s', expected: array", d->name);
        *FIELD(tmp, d, json_t *) = (json_t *)v; /* borrowed until applied */
        return 0;
    }
    return -EINVAL;
}

/* 7.2's migrate_params_check() on the resulting full set, in its order. */
static int params_check(const vmig_mig_params_t *p, const bool *caps, vmig_qmp_error_t *err)
{
    static const char fmt[] = "Parameter '%s' expects %s";
    if (p->compress_level > 9)
        return generic(err, fmt, "compress_level", "a value between 0 and 9");
    if (p->compress_threads < 1)
        return generic(err, fmt, "compress_threads", "a value between 1 and 255");
    if (p->decompress_threads < 1)
        return generic(err, fmt, "decompress_threads", "a value between 1 and 255");
    if (p->throttle_trigger_threshold < 1 || p->throttle_trigger_threshold > 100)
        return generic(err, fmt, "throttle_trigger_threshold",
                       "an integer in the range of 1 to 100");
    if (p->cpu_throttle_initial < 1 || p->cpu_throttle_initial > 99)
        return generic(err, fmt, "cpu_throttle_initial", "an integer in the range of 1 to 99");
    if (p->cpu_throttle_increment < 1 || p->cpu_throttle_increment > 99)
        return generic(err, fmt, "cpu_throttle_increment", "an integer in the range of 1 to 99");
    /* max_bandwidth: 7.2 bounds it by SIZE_MAX, never reached on 64-bit
     * hosts (-1 is accepted and stored as 2^64-1). */
    if (p->downtime_limit > MIG_MAX_DOWNTIME)
        return generic(err, fmt, "downtime_limit",
                       "an integer in the range of 0 to (2000 * 1000) ms");
    if (p->multifd_channels < 1)
        return generic(err, fmt, "multifd_channels", "a value between 1 and 255");
    /* 7.2 neither checks nor stores these two (a bug: it always uses 1);
     * vmig uses them, so it checks them as later QEMU does. */
    if (p->multifd_zlib_level > 9)
        return generic(err, fmt, "multifd_zlib_level", "a value between 0 and 9");
    if (p->multifd_zstd_level > 20)
        return generic(err, fmt, "multifd_zstd_level", "a value between 0 and 20");
    if (p->xbzrle_cache_size < MIG_TARGET_PAGE_SIZE ||
        (p->xbzrle_cache_size & (p->xbzrle_cache_size - 1)) != 0)
        return generic(err, fmt, "xbzrle_cache_size",
                       "a power of two no less than the target page size");
    if (p->max_cpu_throttle < p->cpu_throttle_initial || p->max_cpu_throttle > 99)
        return generic(err, fmt, "max_cpu_throttle",
                       "an integer in the range of cpu_throttle_initial to 99");
    if (p->announce_initial > 100000)
        return generic(err, fmt, "announce_initial", "a value between 0 and 100000");
    if (p->announce_max > 100000)
        return generic(err, fmt, "announce_max", "a value between 0 and 100000");
    if (p->announce_rounds > 1000)
        return generic(err, fmt, "announce_rounds", "a value between 0 and 1000");
    if (p->announce_step < 1 || p->announce_step > 10000)
        return generic(err, fmt, "announce_step", "a value between 0 and 10000"); /* sic */
    /* (block-bitmap-mapping's alias checks: with the later issue that
     * implements it; a non-empty one is refused below) */
    if (caps[VMIG_MIG_CAP_ZERO_COPY_SEND] &&
        (p->multifd_compression != VMIG_MULTIFD_COMPRESSION_NONE ||
         (p->tls_creds && *p->tls_creds)))
        return generic(err, ZERO_COPY_TEXT);
    return 0;
}

/* Whether d's value in p is its default. */
static bool is_default(const pdesc_t *d, const vmig_mig_params_t *p, const vmig_mig_params_t *def)
{
    switch (d->type) {
    case PT_U8:
        return *CFIELD(p, d, uint8_t) == *CFIELD(def, d, uint8_t);
    case PT_U32:
        return *CFIELD(p, d, uint32_t) == *CFIELD(def, d, uint32_t);
    case PT_U64:
        return *CFIELD(p, d, uint64_t) == *CFIELD(def, d, uint64_t);
    case PT_BOOL:
        return *CFIELD(p, d, bool) == *CFIELD(def, d, bool);
    case PT_STR:
        return strcmp(*CFIELD(p, d, char *), *CFIELD(def, d, char *)) == 0;
    case PT_MFC:
        return *CFIELD(p, d, vmig_multifd_compression_t) ==
               *CFIELD(def, d, vmig_multifd_compression_t);
    case PT_BBM: {
        /* Unset, or an empty list, until the later issue. */
        const json_t *v = *CFIELD(p, d, json_t *);
        return !v || json_array_size(v) == 0;
    }
    }
    return false;
}

int vmig_mig_set_params(vmig_mig_config_t *cfg, const json_t *args, vmig_qmp_error_t *err)
{
    if (args && !json_is_object(args))
        return generic(err, "QMP input member 'arguments' must be an object");
    /* tmp: the resulting set; its strings and list are borrowed (from cfg
     * or from args) until applied. */
    vmig_mig_params_t tmp = cfg->params;
    bool given[NPARAMS] = { false };
    size_t ngiven = 0;
    for (size_t i = 0; i < NPARAMS; i++) {
        json_t *v = json_object_get(args, params[i].name);
        if (!v)
            continue;
        int r = read_param(&params[i], v, &tmp, err);
        if (r < 0)
            return r;
        given[i] = true;
        ngiven++;
    }
    if (ngiven < json_object_size(args)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)args, key, v) {
            size_t i = 0;
            while (i < NPARAMS && strcmp(params[i].name, key) != 0)
                i++;
            if (i == NPARAMS)
                return generic(err, "Parameter '%s' is unexpected", key);
        }
    }

    int r = params_check(&tmp, cfg->caps, err);
    if (r < 0)
        return r;
    vmig_mig_params_t def;
    params_default(&def);
    for (size_t i = 0; i < NPARAMS; i++)
        if (given[i] && params[i].policy == PP_DEFAULT_ONLY && !is_default(&params[i], &tmp, &def))
            return generic(err, "Parameter '%s' is not supported by vmig yet", params[i].name);

    /* Apply: copy what tmp borrows first, so that nothing changes when
     * memory runs out. */
    char **const cur[3] = { &cfg->params.tls_creds, &cfg->params.tls_hostname,
                            &cfg->params.tls_authz };
    char *const want[3] = { tmp.tls_creds, tmp.tls_hostname, tmp.tls_authz };
    char *copy[3] = { NULL, NULL, NULL };
    json_t *bbm = NULL;
    bool oom = false;
    for (int k = 0; k < 3; k++)
        if (want[k] != *cur[k] && !(copy[k] = strdup(want[k])))
            oom = true;
    if (tmp.block_bitmap_mapping != cfg->params.block_bitmap_mapping &&
        !(bbm = json_deep_copy(tmp.block_bitmap_mapping)))
        oom = true;
    if (oom) {
        for (int k = 0; k < 3; k++)
            free(copy[k]);
        json_decref(bbm);
        generic(err, "out of memory");
        return -ENOMEM;
    }
    char *final[3];
    for (int k = 0; k < 3; k++) {
        if (copy[k]) {
            free(*cur[k]);
            final[k] = copy[k];
        } else {
            final[k] = *cur[k];
        }
    }
    if (bbm)
        json_decref(cfg->params.block_bitmap_mapping);
    else
        bbm = cfg->params.block_bitmap_mapping;
    cfg->params = tmp;
    cfg->params.tls_creds = final[0];
    cfg->params.tls_hostname = final[1];
    cfg->params.tls_authz = final[2];
    cfg->params.block_bitmap_mapping = bbm;
    return 0;
}

/* jansson holds no integer above INT64_MAX: such a value (max-bandwidth -1
 * is accepted as 2^64-1, as by 7.2) shows as INT64_MAX, still unlimited. */
static json_t *uint_json(uint64_t u)
{
    return json_integer(u > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)u);
}

json_t *vmig_mig_query_params(const vmig_mig_config_t *cfg)
{
    const vmig_mig_params_t *p = &cfg->params;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (size_t i = 0; i < NPARAMS; i++) {
        const pdesc_t *d = &params[i];
        json_t *v = NULL;
        switch (d->type) {
        case PT_U8:
            v = json_integer(*CFIELD(p, d, uint8_t));
            break;
        case PT_U32:
            v = json_integer(*CFIELD(p, d, uint32_t));
            break;
        case PT_U64:
            v = uint_json(*CFIELD(p, d, uint64_t));
            break;
        case PT_BOOL:
            v = json_boolean(*CFIELD(p, d, bool));
            break;
        case PT_STR: {
            const char *s = *CFIELD(p, d, char *);
            v = json_string(s ? s : "");
            break;
        }
        case PT_MFC:
            v = json_string(mfc_names[*CFIELD(p, d, vmig_multifd_compression_t)]);
            break;
        case PT_BBM: {
            /* Shown only once set, as by 7.2. */
            const json_t *l = *CFIELD(p, d, json_t *);
            if (!l)
                continue;
            v = json_deep_copy(l);
            break;
        }
        }
        if (!v || json_object_set_new(o, d->name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
