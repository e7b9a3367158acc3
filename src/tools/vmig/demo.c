/* demo.c — `vmig demo`: two vmig-vmm on loopback, a live migration with a
 * progress bar, a report, and a verification that the VM arrived intact. */
#include "demo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uv.h>

#include "vmig/co.h"

/* Room /dev/shm needs besides the two RAM files (logs, serial output). */
#define SHM_SLACK (16ull << 20)
/* How long the children get to serve QMP, and to quit. */
#define START_MS 15000
#define QUIT_MS 5000
/* The source runs its workload this long before the migration starts. */
#define WARMUP_MS 500

/* Everything one run of the demo holds; the coroutine body works on it. */
typedef struct demo {
    demo_opts_t o;             /* the command line */
    demo_vmm_caps_t caps;      /* what the vmig-vmm offers */
    char vmm[PATH_MAX];        /* the vmig-vmm program */
    char dir[256];             /* the private temp dir, "" until made */
    demo_child_t src;          /* the migration source */
    demo_child_t dst;          /* the paused destination */
    const char *machine;       /* machine profile in use */
    const char *workload;      /* workload in use */
    const char *accel;         /* accelerator in use ("none" without vCPUs) */
    char uri[PATH_MAX + 16];   /* the migration URI */
    demo_progress_t prog;      /* progress output */
    demo_stats_t st;           /* the migration's figures */
    demo_verify_t ver;         /* the verification's result */
    bool migrated;             /* the migration completed */
    bool verify_ran;           /* ver is filled in */
    char msg[768];             /* the failure, "" if none */
    int exit_code;             /* 0 verified, 1 not */
    int64_t start_ms;          /* when the demo began */
    co_t *co;                  /* the coroutine doing it all */
    uv_signal_t sig[3];        /* SIGINT, SIGTERM, SIGHUP: stop cleanly */
} demo_t;

/* The vmig-vmm next to this program (build/bin/ or an installed bin/). */
static int find_vmm(demo_t *d)
{
    if (d->o.vmm) {
        snprintf(d->vmm, sizeof(d->vmm), "%s", d->o.vmm);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            return -errno;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            slash[1] = '\0';
        if (snprintf(d->vmm, sizeof(d->vmm), "%svmig-vmm", self) >= (int)sizeof(d->vmm))
            return -ENAMETOOLONG;
    }
    return access(d->vmm, X_OK) == 0 ? 0 : -errno;
}

/* /dev/shm so that RAM stays in memory and both files can be compared;
 * $TMPDIR or /tmp where there is no /dev/shm. */
static int make_dir(demo_t *d)
{
    const char *bases[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        if (!bases[i] || access(bases[i], W_OK) < 0)
            continue;
        if (snprintf(d->dir, sizeof(d->dir), "%s/vmig-demo.XXXXXX", bases[i]) >=
            (int)sizeof(d->dir) - 32)
            continue; /* room left for the file names inside */
        if (mkdtemp(d->dir))
            return 0;
    }
    int e = errno;
    d->dir[0] = '\0';
    return -e;
}

/* Remove what the run put in the dir (flat: files and sockets), then it. */
static void remove_dir(demo_t *d)
{
    if (!d->dir[0])
        return;
    DIR *dh = opendir(d->dir);
    if (dh) {
        struct dirent *e;
        while ((e = readdir(dh)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(dh), e->d_name, 0);
        closedir(dh);
    }
    rmdir(d->dir);
    d->dir[0] = '\0';
}

static void child_paths(demo_t *d, demo_child_t *c, const char *name, const char *tag)
{
    c->name = name;
    snprintf(c->qmp_path, sizeof(c->qmp_path), "%s/%s.qmp", d->dir, tag);
    snprintf(c->ram_path, sizeof(c->ram_path), "%s/%s.ram", d->dir, tag);
    snprintf(c->log_path, sizeof(c->log_path), "%s/%s.log", d->dir, tag);
    /* Only the demo machine has a serial port. */
    if (d->caps.serial && !strcmp(d->machine, "demo"))
        snprintf(c->serial_path, sizeof(c->serial_path), "%s/%s.serial", d->dir, tag);
}

/* Pick machine, workload and accelerator from the options and from what the
 * vmig-vmm offers. Before the demo machine exists the demo runs the RAM-only
 * "none" machine with random writes; an explicit choice it lacks is an error. */
static int choose(demo_t *d)
{
    demo_opts_t *o = &d->o;
    d->machine = o->machine ? o->machine : d->caps.machine_demo ? "demo" : "none";
    if (!strcmp(d->machine, "demo") && !d->caps.machine_demo) {
        demo_msg(d->msg, sizeof(d->msg), "%s has no --machine demo", d->vmm);
        return -ENOTSUP;
    }
    bool demo = !strcmp(d->machine, "demo");
    d->workload = o->workload ? o->workload : demo ? "pattern" : "random-writes";
    if (!strcmp(d->workload, "pattern") && !d->caps.pattern) {
        demo_msg(d->msg, sizeof(d->msg), "%s has no pattern workload", d->vmm);
        return -ENOTSUP;
    }
    if (!demo) {
        if (o->accel && strcmp(o->accel, "auto")) {
            demo_msg(d->msg, sizeof(d->msg), "--accel %s needs the demo machine (vCPUs)",
                     o->accel);
            return -ENOTSUP;
        }
        d->accel = "none";
        return 0;
    }
    if (!d->caps.accel) {
        d->accel = "default";
        return 0;
    }
    d->accel = o->accel ? o->accel : "auto";
    if (!strcmp(d->accel, "auto")) {
        /* Decided here, not by each VMM, so that both sides run the same
         * accelerator and the report can name it. */
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        d->accel = fd >= 0 ? "kvm" : "sim";
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

/* The argv of one vmig-vmm (pointers into d, c and buf). */
static void build_argv(demo_t *d, demo_child_t *c, bool incoming, char *mem, size_t memlen,
                       char *qmp, size_t qmplen, const char **argv)
{
    int n = 0;
    snprintf(mem, memlen, "%lluK", (unsigned long long)(d->o.size >> 10));
    snprintf(qmp, qmplen, "unix:%s", c->qmp_path);
    argv[n++] = d->vmm;
    argv[n++] = "--machine";
    argv[n++] = d->machine;
    argv[n++] = "--memory";
    argv[n++] = mem;
    argv[n++] = "--memory-file";
    argv[n++] = c->ram_path;
    argv[n++] = "--qmp";
    argv[n++] = qmp;
    if (strcmp(d->accel, "none") && strcmp(d->accel, "default")) {
        argv[n++] = "--accel";
        argv[n++] = d->accel;
    }
    if (c->serial_path[0]) {
        argv[n++] = "--serial";
        argv[n++] = c->serial_path;
    }
    argv[n++] = "--workload";
    argv[n++] = d->workload;
    if (d->o.dirty_rate && strcmp(d->workload, "idle")) {
        argv[n++] = "--dirty-rate";
        argv[n++] = d->o.dirty_rate;
    }
    /* Both populated before the migration starts, as a running guest's RAM
     * is: the first pass then measures the transfer, not page faults (on a
     * KVM source every first touch also invalidates the guest's mapping). */
    argv[n++] = "--prealloc";
    if (incoming) {
        argv[n++] = "-S";
        argv[n++] = "--incoming";
        argv[n++] = d->uri;
    }
    argv[n] = NULL;
}

static int start_child(demo_t *d, demo_child_t *c, bool incoming)
{
    char mem[32], qmp[PATH_MAX + 8];
    const char *argv[32];
    build_argv(d, c, incoming, mem, sizeof(mem), qmp, sizeof(qmp), argv);
    int r = demo_child_start(c, (char *const *)argv);
    if (r < 0)
        demo_msg(d->msg, sizeof(d->msg), "cannot start %s: %s", d->vmm, strerror(-r));
    return r;
}

/* If a child died on its own, its exit and last log line say more than the
 * error that noticed it. */
static void blame_children(demo_t *d)
{
    demo_child_t *cs[2] = { &d->src, &d->dst };
    for (int i = 0; i < 2; i++) {
        if (cs[i]->pid > 0 && !demo_child_alive(cs[i])) {
            char why[512];
            demo_child_describe_exit(cs[i], why, sizeof(why));
            size_t len = strlen(d->msg);
            snprintf(d->msg + len, sizeof(d->msg) - len, "%s%s", len ? "; " : "", why);
        }
    }
}

static int run(demo_t *d)
{
    int r = make_dir(d);
    if (r < 0) {
        demo_msg(d->msg, sizeof(d->msg), "cannot create a temp dir: %s", strerror(-r));
        return r;
    }
    struct statvfs vfs;
    uint64_t need = 2 * d->o.size + SHM_SLACK;
    if (statvfs(d->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
        demo_msg(d->msg, sizeof(d->msg), "%s has %llu MiB free, the demo needs %llu MiB "
                 "(two RAM files): try a smaller --size", d->dir,
                 (unsigned long long)((uint64_t)vfs.f_bavail * vfs.f_frsize >> 20),
                 (unsigned long long)(need >> 20));
        return -ENOSPC;
    }
    child_paths(d, &d->src, "source", "src");
    child_paths(d, &d->dst, "destination", "dst");
    if (!strcmp(d->o.transport, "unix"))
        snprintf(d->uri, sizeof(d->uri), "unix:%s/migration.sock", d->dir);
    else
        snprintf(d->uri, sizeof(d->uri), "tcp:127.0.0.1:0");

    demo_note(&d->prog, "vmig demo: %s machine, %.0f MiB, accel %s, workload %s, %s; files in %s",
              d->machine, (double)d->o.size / (1 << 20), d->accel, d->workload, d->o.transport,
              d->dir);
    if ((r = start_child(d, &d->dst, true)) < 0 || (r = start_child(d, &d->src, false)) < 0)
        return r;
    if ((r = demo_child_connect(&d->dst, START_MS, d->msg, sizeof(d->msg))) < 0 ||
        (r = demo_child_connect(&d->src, START_MS, d->msg, sizeof(d->msg))) < 0)
        return r;
    if ((r = demo_migrate_uri(&d->dst, d->o.transport, d->uri, sizeof(d->uri), d->msg,
                              sizeof(d->msg))) < 0)
        return r;
    if ((r = demo_migrate_setup(&d->src, &d->dst, &d->o, d->msg, sizeof(d->msg))) < 0)
        return r;
    /* Let the guest get going: the migration is live only if RAM is being
     * dirtied while it runs. */
    if ((r = co_sleep(WARMUP_MS)) < 0)
        return r;
    demo_note(&d->prog, "vmig demo: migrating to %s", d->uri);
    r = demo_migrate_run(&d->src, d->uri, d->o.timeout_s, &d->prog, &d->st, d->msg,
                         sizeof(d->msg));
    if (r < 0)
        return r;
    if ((r = demo_migrate_wait_dest(&d->dst, 10000, d->msg, sizeof(d->msg))) < 0)
        return r;
    d->migrated = true;
    demo_note(&d->prog, "vmig demo: completed in %lld ms (downtime %lld ms); verifying",
              (long long)d->st.total_ms, (long long)d->st.downtime_ms);
    bool pattern = !strcmp(d->workload, "pattern");
    bool writes = strcmp(d->workload, "idle") != 0;
    r = demo_verify_run(&d->src, &d->dst, &d->o, pattern, writes, &d->prog, &d->ver, d->msg,
                        sizeof(d->msg));
    if (r < 0)
        return r;
    d->verify_ran = true;
    demo_child_quit(&d->src, QUIT_MS);
    demo_child_quit(&d->dst, QUIT_MS);
    return 0;
}

static void close_signals(demo_t *d)
{
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&d->sig[i], NULL);
}

static int demo_co(void *arg)
{
    demo_t *d = arg;
    int r = run(d);
    bool interrupted = r == -ECANCELED;
    /* Whatever happened, nothing survives us: quitting is polite only when
     * the monitors still answer; otherwise SIGKILL by pid. */
    co_cancel_clear();
    if (r < 0 && !interrupted)
        blame_children(d);
    demo_child_kill(&d->src);
    demo_child_kill(&d->dst);
    demo_progress_done(&d->prog);
    if (interrupted)
        demo_msg(d->msg, sizeof(d->msg), "interrupted");
    d->exit_code = r == 0 && d->verify_ran && d->ver.verified ? 0 : 1;
    demo_run_info_t ri = {
        .machine = d->machine ? d->machine : "?",
        .workload = d->workload ? d->workload : "?",
        .accel = d->accel ? d->accel : "?",
        .transport = d->o.transport,
        .uri = d->uri,
        .dir = d->dir,
        .kept = d->o.keep,
        .size = d->o.size,
        .wall_ms = demo_now_ms() - d->start_ms,
    };
    const demo_verify_t *v = d->verify_ran ? &d->ver : NULL;
    if (d->o.json)
        demo_report_json(&ri, &d->st, v, d->migrated, r < 0 ? d->msg : NULL);
    else if (d->migrated)
        demo_report_text(&ri, &d->st, v);
    if (r < 0)
        fprintf(stderr, "vmig demo: %s\n", d->msg[0] ? d->msg : strerror(-r));
    else if (!d->ver.verified)
        fprintf(stderr, "vmig demo: verification failed: %s\n", d->ver.why);
    if (d->o.keep && d->dir[0])
        fprintf(stderr, "vmig demo: kept %s\n", d->dir);
    else
        remove_dir(d);
    d->co = NULL;
    close_signals(d);
    return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
    demo_t *d = s->data;
    (void)signum;
    if (d->co)
        co_cancel(d->co);
}

int vmig_cmd_demo(int argc, char **argv)
{
    demo_t *d = calloc(1, sizeof(*d));
    if (!d) {
        fputs("vmig demo: out of memory\n", stderr);
        return 1;
    }
    int r = demo_parse_args(argc, argv, &d->o);
    if (r) {
        free(d);
        return r == 1 ? 0 : 2;
    }
    d->start_ms = demo_now_ms();
    /* Progress goes to stderr in every mode; --json keeps stdout to the object. */
    demo_progress_init(&d->prog, false);
    r = find_vmm(d);
    if (r == 0)
        r = demo_vmm_probe(d->vmm, &d->caps);
    if (r < 0) {
        fprintf(stderr, "vmig demo: cannot run %s: %s (build it, or pass --vmm PATH)\n",
                d->vmm, strerror(-r));
        free(d);
        return 1;
    }
    if (choose(d) < 0) {
        fprintf(stderr, "vmig demo: %s\n", d->msg);
        free(d);
        return 1;
    }
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        fputs("vmig demo: cannot create the event loop\n", stderr);
        free(d);
        return 1;
    }
    const int signums[3] = { SIGINT, SIGTERM, SIGHUP };
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&loop, &d->sig[i]);
        d->sig[i].data = d;
        uv_signal_start(&d->sig[i], on_signal, signums[i]);
    }
    d->exit_code = 1;
    d->co = co_create(&loop, demo_co, d);
    if (!d->co) {
        fputs("vmig demo: out of memory\n", stderr);
        close_signals(d);
    } else {
        co_detach(d->co);
        co_enter(d->co);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    co_thread_cleanup();
    int code = d->exit_code;
    free(d);
    return code;
}
