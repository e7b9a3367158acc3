/* demo.h — `vmig demo`: a live migration between two vmig-vmm processes on
 * loopback, with a progress bar, a report and a page-by-page verification. */
#ifndef VMIG_TOOL_DEMO_H
#define VMIG_TOOL_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "qmp/qmp_client.h"

/* argv[0] is "demo". Returns the exit status: 0 verified, 1 failure (one
 * clear line on stderr), 2 bad usage. */
int vmig_cmd_demo(int argc, char **argv);

/* ---- options (demo_args.c) --------------------------------------------------- */

#define DEMO_MAX_SETTINGS 32
#define DEMO_PAGE 4096u

typedef struct demo_opts {
    uint64_t size;                      /* guest RAM in bytes (--size) */
    const char *machine;                /* --machine; NULL: "demo", or "none" if the vmm lacks it */
    const char *workload;               /* --workload; NULL: the machine's default */
    const char *accel;                  /* --accel kvm|sim|auto; NULL: auto */
    const char *transport;              /* "tcp" or "unix" */
    const char *dirty_rate;             /* --dirty-rate passed through (default "256") */
    const char *caps[DEMO_MAX_SETTINGS];   /* --cap NAME[=on|off], as given */
    unsigned ncaps;                     /* how many */
    const char *params[DEMO_MAX_SETTINGS]; /* --param NAME=VALUE, as given */
    unsigned nparams;                   /* how many */
    const char *vmm;                    /* --vmm PATH; NULL: next to this binary */
    unsigned timeout_s;                 /* --timeout: the migration is cancelled after it */
    bool json;                          /* --json: one object on stdout */
    bool keep;                          /* --keep: leave the temp dir */
    int64_t corrupt_page;               /* hidden test hook: damage this destination page, -1: none */
} demo_opts_t;

/* Parse argv (argv[0] is "demo"). 0, 1 after --help (exit 0), 2 after a
 * usage error printed on stderr. */
int demo_parse_args(int argc, char **argv, demo_opts_t *o);

/* ---- the two VMM processes (demo_vmm.c) ------------------------------------- */

/* What `vmig-vmm --help` says it can do: the demo follows it. */
typedef struct demo_vmm_caps {
    bool machine_demo;   /* --machine demo (one vCPU, serial, RAM) */
    bool accel;          /* --accel kvm|sim|auto */
    bool serial;         /* --serial PATH */
    bool pattern;        /* --workload pattern */
} demo_vmm_caps_t;

/* One child vmig-vmm. */
typedef struct demo_child {
    const char *name;        /* "source" or "destination" */
    pid_t pid;               /* its pid, 0 once reaped (or never started) */
    int status;              /* its wait status once reaped */
    char qmp_path[512];      /* its QMP socket */
    char ram_path[512];      /* its memory file */
    char serial_path[512];   /* its serial output ("" without --serial) */
    char log_path[512];      /* its stdout and stderr */
    vmig_qmp_client_t *qmp;  /* the connected monitor, NULL if none */
} demo_child_t;

/* Run `vmm --help` and read which options it has. 0 or -errno. */
int demo_vmm_probe(const char *vmm, demo_vmm_caps_t *caps);
/* Start vmm with argv (NULL-terminated, argv[0] the program), stdout and
 * stderr to c->log_path; the child is killed if we die. 0 or -errno. */
int demo_child_start(demo_child_t *c, char *const argv[]);
/* Is the child still running (reaps it if not)? */
bool demo_child_alive(demo_child_t *c);
/* Wait (in a coroutine) for its QMP socket and connect. 0 or -errno with msg. */
int demo_child_connect(demo_child_t *c, int timeout_ms, char *msg, size_t msglen);
/* The last line of its log, for error messages ("" if none). */
void demo_child_last_log(const demo_child_t *c, char *buf, size_t len);
/* "source vmig-vmm exited with status 1: <its last log line>" for a reaped child. */
void demo_child_describe_exit(const demo_child_t *c, char *msg, size_t msglen);
/* QMP quit, wait up to timeout_ms for the exit, else SIGKILL; always reaps. */
void demo_child_quit(demo_child_t *c, int timeout_ms);
/* SIGKILL and reap, no questions (every exit path ends here). */
void demo_child_kill(demo_child_t *c);

/* ---- the migration (demo_migrate.c) ----------------------------------------- */

/* What query-migrate and the events said, the report's figures. */
typedef struct demo_stats {
    char status[32];          /* the source's last migration status */
    int64_t total_ms;         /* total-time */
    int64_t setup_ms;         /* setup-time */
    int64_t downtime_ms;      /* downtime (completed), else -1 */
    int64_t expected_downtime_ms; /* expected-downtime while active */
    uint64_t transferred;     /* ram transferred */
    uint64_t wire_bytes;      /* every byte the source sent (x-vmig-query-migrate-bytes), 0: unknown */
    uint64_t remaining;       /* ram remaining */
    uint64_t total;           /* ram total */
    uint64_t normal_pages;    /* ram normal */
    uint64_t normal_bytes;    /* ram normal-bytes */
    uint64_t zero_pages;      /* ram duplicate (zero pages) */
    uint64_t precopy_bytes;   /* ram precopy-bytes (sent while the VM ran) */
    uint64_t downtime_bytes;  /* ram downtime-bytes (sent while stopped) */
    uint64_t passes;          /* dirty-sync-count, or the last MIGRATION_PASS */
    double mbps;              /* ram mbps */
    double dirty_bytes_per_s; /* dirty-pages-rate x page-size */
    char error[256];          /* error-desc of a failed migration */
} demo_stats_t;

/* Progress output: a bar on a terminal, lines otherwise (demo_progress.c). */
typedef struct demo_progress {
    bool tty;                 /* stderr is a terminal: one line redrawn */
    bool quiet;               /* print nothing */
    uint64_t last_pass;       /* the pass of the last line printed */
    int64_t last_line_ms;     /* when the last plain line was printed */
    bool drawn;               /* a bar is on screen (to be finished with a newline) */
} demo_progress_t;

void demo_progress_init(demo_progress_t *p, bool quiet);
/* Show s at now_ms (monotonic). */
void demo_progress_update(demo_progress_t *p, const demo_stats_t *s, int64_t now_ms);
/* End the bar's line, if any. */
void demo_progress_done(demo_progress_t *p);
/* vsnprintf into buf: a message that may be cut short, on purpose. */
void demo_msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A status line on stderr that keeps the bar tidy. */
void demo_note(demo_progress_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set capabilities (on both sides) and parameters (on the source) from the
 * options and sensible defaults. 0 or -errno with msg. */
int demo_migrate_setup(demo_child_t *src, demo_child_t *dst, const demo_opts_t *o, char *msg,
                       size_t msglen);
/* The destination's incoming URI as the source should use it (tcp: the port
 * it bound). 0 or -errno with msg. */
int demo_migrate_uri(demo_child_t *dst, const char *transport, char *uri, size_t urilen,
                     char *msg, size_t msglen);
/* Migrate to uri, showing progress, until completed, failed or cancelled
 * (after timeout_s, or when cancelled). st holds the last figures. 0 when
 * completed, else -errno with msg. */
int demo_migrate_run(demo_child_t *src, const char *uri, unsigned timeout_s,
                     demo_progress_t *prog, demo_stats_t *st, char *msg, size_t msglen);
/* Wait until the destination's incoming migration has completed. */
int demo_migrate_wait_dest(demo_child_t *dst, int timeout_ms, char *msg, size_t msglen);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t demo_now_ms(void);

/* ---- verification (demo_verify.c) ------------------------------------------- */

/* Where the pattern walk stands in a RAM image. */
typedef struct demo_walk {
    bool ok;             /* one running walk over pages [skip, npages) */
    uint64_t skip;       /* leading pages not part of it (the guest's code) */
    uint64_t boundary;   /* first page still holding the older value (npages: none) */
    unsigned value;      /* that older value (the one after the boundary) */
} demo_walk_t;

typedef struct demo_verify {
    uint64_t npages;         /* pages compared */
    uint64_t differing;      /* pages whose hashes differ */
    int64_t first_diff;      /* the first of them, -1: none */
    bool equal;              /* source and destination identical */
    bool walk_checked;       /* the pattern workload: the walk was checked */
    demo_walk_t walk;        /* its result */
    bool serial_checked;     /* the destination has a serial file */
    uint64_t serial_before;  /* its size at `cont` */
    uint64_t serial_after;   /* its size when we stopped watching */
    bool progress_checked;   /* a workload that writes: pages must change after cont */
    uint64_t changed_pages;  /* pages that changed after cont */
    bool running;            /* query-status said running after cont */
    bool verified;           /* everything above held */
    char why[256];           /* the first thing that did not, "" if verified */
} demo_verify_t;

/* Hash every page of both frozen images and compare them, check the walk,
 * optionally corrupt a destination page first (test hook), `cont` the
 * destination and watch it make progress. 0 when the checks ran (see
 * v->verified), -errno when they could not. */
int demo_verify_run(demo_child_t *src, demo_child_t *dst, const demo_opts_t *o,
                    bool pattern, bool writes, demo_progress_t *prog, demo_verify_t *v,
                    char *msg, size_t msglen);

/* ---- the report (demo_report.c) --------------------------------------------- */

/* What the report says besides the figures. */
typedef struct demo_run_info {
    const char *machine;     /* machine profile used */
    const char *workload;    /* workload used */
    const char *accel;       /* accelerator used (as resolved) */
    const char *transport;   /* tcp or unix */
    const char *uri;         /* the migration URI */
    const char *dir;         /* the temp dir ("" if never made) */
    bool kept;               /* --keep: it stays after the run */
    uint64_t size;           /* guest RAM bytes */
    int64_t wall_ms;         /* the whole demo, start to finish */
} demo_run_info_t;

void demo_report_text(const demo_run_info_t *ri, const demo_stats_t *st, const demo_verify_t *v);
void demo_report_json(const demo_run_info_t *ri, const demo_stats_t *st, const demo_verify_t *v,
                      bool migrated, const char *error);

#endif
