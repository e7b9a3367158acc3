/* mig_internal.h — the migration object's layout, shared by the files of
 * src/migration: the outgoing job, the incoming job, statistics and QMP. */
#ifndef VMIG_MIG_INTERNAL_H
#define VMIG_MIG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "channel/channel.h"
#include "engine/engine.h"
#include "migration/mig_params.h"
#include "migration/migration.h"
#include "ram/ram.h"
#include "stream/stream.h"
#include "vmig/co.h"

/* QEMU's globalstate section: the run state of the source when it stopped,
 * so the destination knows whether to start the VM. */
typedef struct mig_globalstate {
    uint32_t size;         /* bytes of runstate used, NUL included */
    uint8_t runstate[100]; /* the RunState name, NUL-padded */
    bool received;         /* the destination loaded one */
} mig_globalstate_t;

/* Its description (also used by tests and fuzzers that build a -M none VM). */
extern const struct vmig_vmsd mig_globalstate_vmsd;

/* QEMU's timer section (cpu clock offsets); vmig has no virtual clock, so it
 * sends zeros and ignores what it receives, as a `-M none` QEMU nearly does. */
typedef struct mig_timers {
    int64_t cpu_ticks_offset; /* QEMU's timers_state.cpu_ticks_offset */
    int64_t cpu_clock_offset; /* QEMU's timers_state.cpu_clock_offset */
} mig_timers_t;

/* Its description (also used by tests and fuzzers that build a -M none VM). */
extern const struct vmig_vmsd mig_timer_vmsd;

/* The credentials and authz objects a job uses, held (object-del refuses
 * them) from its start to its end: ids copied, as parameters may change. */
typedef struct mig_tls_held {
    char creds[256]; /* tls-creds at the start, "" when none */
    char authz[256]; /* tls-authz at the start, "" when none */
} mig_tls_held_t;

/* The outgoing migration (the source). */
typedef struct mig_out {
    vmig_migration_status_t status; /* MigrationStatus of the source */
    co_t *co;                 /* the job coroutine, NULL when none runs */
    co_event_t idle;          /* set while no job coroutine exists */
    char *uri;                /* where to, malloc'd */
    int fd;                   /* fd:NAME's descriptor until the job wraps it, else -1 */
    vmig_channel_t *ch;       /* the main channel, NULL until connected */
    vmig_stream_t *s;         /* writer on ch */
    vmig_error_t err;         /* first error: query-migrate error-desc */
    bool cancel;              /* migrate_cancel came */
    bool rp;                  /* return path requested (capability return-path) */
    co_t *rp_co;              /* return-path reader coroutine */
    vmig_stream_t *rp_s;      /* reader on ch for the return path */
    bool rp_shut;             /* MIG_RP_MSG_SHUT received */
    uint32_t rp_pong;         /* last PONG value */
    co_event_t rp_done;       /* set when the return path reader ended */
    co_event_t cont;          /* migrate-continue in pre-switchover */
    bool vm_was_running;      /* the VM ran when the switch-over stopped it */
    bool vm_stopped;          /* this job stopped the VM */
    uint64_t start_ms;        /* uv_now at migrate */
    uint64_t setup_time;      /* ms spent in setup */
    uint64_t total_time;      /* ms from migrate to the end (completed) */
    uint64_t downtime_start;  /* ms when the VM was stopped */
    uint64_t downtime;        /* ms stopped (completed) */
    uint64_t expected_downtime; /* ms, remaining / bandwidth */
    uint64_t threshold;       /* bytes that fit in downtime-limit at the measured bandwidth */
    double mbps;              /* last window's (or the whole transfer's) Mbit/s */
    uint64_t pages_per_second; /* last window's pages/s */
    uint64_t win_start_ns;    /* current 100 ms window start */
    uint64_t win_bytes;       /* stream bytes written at the window start */
    uint64_t win_pages;       /* pages sent at the window start */
    uint64_t passes;          /* dirty-sync-count already announced by MIGRATION_PASS */
    uint64_t bytes_total;     /* bytes written on the main channel, kept after it closes */
    struct vmig_multifd_send *mf; /* capability multifd: the channels, else NULL */
    vmig_ram_multifd_ops_t mf_ops; /* how the RAM handler reaches them */
    mig_tls_held_t tls;       /* TLS objects held by the job */
} mig_out_t;

/* The incoming migration (the destination). */
typedef struct mig_in {
    vmig_migration_status_t status; /* MigrationStatus of the destination */
    bool configured;          /* vmig_engine_incoming() was called */
    bool deferred;            /* -incoming defer: waiting for migrate-incoming */
    bool started;             /* listening or loading (migrate-incoming done) */
    co_t *co;                 /* the job coroutine */
    co_event_t idle;          /* set while no job coroutine exists */
    vmig_listener_t *listener; /* tcp/unix: listening until the source connects */
    vmig_channel_t *ch;       /* the main channel */
    vmig_stream_t *s;         /* reader on ch */
    vmig_stream_t *rp_s;      /* writer on ch, once the source opened the return path */
    vmig_error_t err;         /* first error */
    char *uri;                /* where from, malloc'd */
    char *listen_uri;         /* the address actually bound (socket-address), malloc'd */
    uint64_t bytes_total;     /* bytes read from the main channel, kept after it closes */
    bool cancel;              /* the engine closes */
    struct vmig_multifd_recv *mf; /* capability multifd: the channels, else NULL */
    vmig_ram_multifd_ops_t mf_ops; /* how the RAM loader reaches them */
    mig_tls_held_t tls;       /* TLS objects held by the job */
} mig_in_t;

struct vmig_migration {
    vmig_engine_t *e;         /* the engine this belongs to */
    vmig_mig_config_t cfg;    /* capabilities and parameters */
    vmig_migration_cb cb;     /* the embedder's state-change callback */
    void *cb_opaque;          /* its argument */
    mig_out_t out;            /* the source side */
    mig_in_t in;              /* the destination side */
    mig_globalstate_t gs;     /* the globalstate section */
    mig_timers_t timers;      /* the timer section */
    bool closing;             /* vmig_migration_close() runs: no new jobs */
};

/* ---- migration.c ----------------------------------------------------------------- */

/* Change a side's status: MIGRATION event (capability events), callback. */
void mig_set_status(vmig_migration_t *m, vmig_migration_dir_t dir, vmig_migration_status_t st);
/* Outgoing statuses in which a migration is "running" (busy for QMP). */
bool mig_out_is_running(vmig_migration_status_t st);
/* Open the channel of uri for dir, resolving fd:NAME through getfd's named
 * descriptors. In a coroutine. */
int mig_open_channel(vmig_migration_t *m, const char *uri, vmig_channel_dir_t dir,
                     vmig_channel_t **out, vmig_error_t *err);
/* migrate-set-capabilities (QMP and the C API): busy check, QEMU's checks,
 * then applied to a running migration's settings. 0 or -EINVAL/-EBUSY. */
int mig_set_caps(vmig_migration_t *m, const json_t *args, vmig_qmp_error_t *err);
/* A parameter changed: apply max-bandwidth and the throttle settings to
 * the running migration (QEMU applies them at once). */
void mig_params_changed(vmig_migration_t *m);
/* Register the timer and globalstate sections (mig_devices.c). */
int mig_devices_register(vmig_migration_t *m);
/* Store the run state the source had before the switch-over. */
void mig_globalstate_store(vmig_migration_t *m, vmig_run_state_t st);

/* ---- mig_out.c / mig_in.c ----------------------------------------------------------- */

/* migrate: checks, then the job. 0 or negative errno with QEMU's text in err. */
int mig_out_start(vmig_migration_t *m, const char *uri, bool blk, bool inc, bool resume,
                  vmig_error_t *err);
void mig_out_cancel(vmig_migration_t *m);
/* migrate-continue */
int mig_out_continue(vmig_migration_t *m, vmig_migration_status_t state, vmig_error_t *err);
/* Start an incoming migration from uri now (listening or reading). */
int mig_in_start(vmig_migration_t *m, const char *uri, vmig_error_t *err);

/* ---- mig_stats.c / mig_qmp.c --------------------------------------------------------- */

/* query-migrate's MigrationInfo, a new object. */
json_t *mig_query_migrate(vmig_migration_t *m);
/* Bytes on the main channel: written by the last outgoing migration, read
 * by the last incoming one (running or ended). */
uint64_t mig_out_bytes(const vmig_migration_t *m);
uint64_t mig_in_bytes(const vmig_migration_t *m);
/* Recompute bandwidth, threshold, mbps and pages-per-second when a 100 ms
 * window ended (QEMU's migration_update_counters); final: mbps over the
 * whole transfer, at completion. */
void mig_out_update_counters(vmig_migration_t *m, bool final);
int mig_qmp_register(vmig_migration_t *m);

/* Milliseconds on the loop's clock (fresh, not the cached loop time). */
uint64_t mig_now_ms(void);

/* mig_multifd.c: the multifd channels of either direction. */
/* Is multifd in force, and can uri carry it (tcp:, unix:)? */
bool mig_multifd_on(const vmig_migration_t *m);
bool mig_multifd_uri_ok(const char *uri);
/* Source, after the main channel connected: open the channels, hand them
 * to the RAM handler. 0 or an error kept in m->out.err. */
int mig_multifd_out_start(vmig_migration_t *m);
/* Source: stop the channels at once (cancel, failure). */
void mig_multifd_out_shutdown(vmig_migration_t *m, int code);
/* Source, at the end (r: the job's result): channels closed and freed. */
void mig_multifd_out_end(vmig_migration_t *m, int r);
/* Destination, after the main connection: accept and check every channel
 * on l, hand them to the RAM loader. 0 or an error kept in m->in.err. */
int mig_multifd_in_start(vmig_migration_t *m, vmig_listener_t *l);
/* Destination, at the end (r: the load's result). */
void mig_multifd_in_end(vmig_migration_t *m, int r);

/* mig_tls.c: parameters tls-creds, tls-hostname, tls-authz. */
/* Wrap *ch (taken; NULL after a failure, which closed it) as the source's
 * TLS client / the destination's TLS server when the job holds credentials
 * (m->out.tls / m->in.tls); nothing otherwise. 0 or a negative errno with the message in err. In a coroutine. */
int mig_tls_client_wrap(vmig_migration_t *m, vmig_channel_t **ch, vmig_error_t *err);
int mig_tls_server_wrap(vmig_migration_t *m, vmig_channel_t **ch, vmig_error_t *err);
/* Hold the objects tls-creds/tls-authz name for the job, and let them go. */
void mig_tls_hold(vmig_migration_t *m, mig_tls_held_t *h);
void mig_tls_release(vmig_migration_t *m, mig_tls_held_t *h);

#endif
