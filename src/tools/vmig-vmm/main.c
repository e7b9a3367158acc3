/* main.c — vmig-vmm, the demo VMM: embeds the vmig engine the way a user
 * would (its own loop, RAM, vCPU, devices, run-control callbacks, a
 * migration peer) and serves QMP until quit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/engine_objects.h"
#include "vmig/co.h"
#include "vmig/migration.h"
#include "vmm.h"

typedef struct vmm {
    vmm_opts_t opts;          /* the command line */
    uv_loop_t loop;           /* the one loop: engine, monitor, signals */
    vmig_engine_t *engine;    /* the VM's engine */
    vmm_ram_t ram;            /* guest RAM */
    vmig_ram_block_t *block;  /* the RAM as the engine knows it ("mem") */
    vmm_workload_t *wl;       /* the random-writes threads; NULL: none (or closed) */
    vmm_demo_t *demo;         /* --machine demo: vCPU and serial port; NULL: none */
    unsigned stop_pending;    /* vCPU and workload pauses a stop still waits for */
    uv_signal_t sigint;       /* SIGINT: clean shutdown */
    uv_signal_t sigterm;      /* SIGTERM: clean shutdown */
    uv_timer_t fail_timer;    /* leaves after a failed incoming migration, off the engine's stack */
    bool handles_open;        /* the three handles above are initialised */
    bool closing;             /* the engine is being closed: outcomes no longer matter */
    int exit_code;            /* what main returns */
} vmm_t;

/* ---- run control: the demo vCPU and the workload threads are what runs.
 * Without them (none, idle) every request is done at once, but through the
 * engine's asynchronous path like a real VMM's. ---------------------------------- */

/* One of the parts a stop waits for is parked; the last one answers. */
static void part_paused(void *arg)
{
    vmm_t *vmm = arg;
    if (--vmm->stop_pending == 0)
        vmig_engine_run_control_done(vmm->engine, 0);
}

static void vmm_stop(void *opaque, vmig_engine_t *engine)
{
    vmm_t *vmm = opaque;
    /* Counted before either pause: one may answer from inside its call. */
    vmm->stop_pending = 1 + (vmm->wl != NULL) + (vmm->demo != NULL);
    if (vmm->demo)
        vmm_demo_pause(vmm->demo, part_paused, vmm); /* answered once the vCPU is parked */
    if (vmm->wl)
        vmm_workload_pause(vmm->wl, part_paused, vmm); /* answered once all are parked */
    part_paused(vmm);
}

static void vmm_start(void *opaque, vmig_engine_t *engine)
{
    vmm_t *vmm = opaque;
    if (vmm->demo)
        vmm_demo_start(vmm->demo);
    if (vmm->wl)
        vmm_workload_start(vmm->wl);
    vmig_engine_run_control_done(engine, 0);
}

static void vmm_set_throttle(void *opaque, vmig_engine_t *engine, int percent)
{
    vmm_t *vmm = opaque;
    if (vmm->demo)
        vmm_demo_set_throttle(vmm->demo, percent);
    if (vmm->wl)
        vmm_workload_set_throttle(vmm->wl, percent);
}

static void handle_closed(uv_handle_t *h)
{
}

static void close_handles(vmm_t *vmm)
{
    if (!vmm->handles_open)
        return;
    vmm->handles_open = false;
    uv_close((uv_handle_t *)&vmm->sigint, handle_closed);
    uv_close((uv_handle_t *)&vmm->sigterm, handle_closed);
    uv_close((uv_handle_t *)&vmm->fail_timer, handle_closed);
}

/* The signal handles go last: a second SIGTERM while the engine closes must
 * still find our handler, not the default action. */
static void engine_closed(vmig_engine_t *engine, void *arg)
{
    vmm_t *vmm = arg;
    vmm->engine = NULL;
    close_handles(vmm);
}

/* Close everything; uv_run returns once the last handle is gone. The
 * threads go first: they write into the engine's RAM block, which the
 * engine frees when it closes. */
static void vmm_close(vmm_t *vmm)
{
    if (vmm->closing)
        return;
    vmm->closing = true;
    if (vmm->wl) {
        vmm_workload_t *wl = vmm->wl;
        vmm->wl = NULL; /* later stops/starts (a cancelled job restarting the VM) are immediate */
        vmm_workload_close(wl);
    }
    if (vmm->demo)
        vmm_demo_close(vmm->demo); /* freed after the loop: the engine holds its sections */
    if (!vmm->engine || vmig_engine_close(vmm->engine, engine_closed, vmm) < 0) {
        if (vmm->engine)
            vmm->exit_code = 1;
        close_handles(vmm);
    }
}

/* The engine shut down (quit, a signal). */
static void vmm_quit(void *opaque, vmig_engine_t *engine, vmig_shutdown_cause_t cause)
{
    vmm_close(opaque);
}

/* ---- incoming migration: as QEMU 7.2, a destination whose load failed
 * says why and exits with status 1 (no SHUTDOWN event). --------------------- */

static void fail_timer_fired(uv_timer_t *t)
{
    vmm_t *vmm = t->data;
    if (vmm->closing || !vmm->engine)
        return;
    const char *msg = vmig_engine_incoming_error(vmm->engine);
    fprintf(stderr, "vmig-vmm: load of migration failed: %s\n",
            msg && *msg ? msg : "Input/output error");
    vmm->exit_code = 1;
    vmm_close(vmm);
}

static void on_migration(void *opaque, vmig_engine_t *engine, vmig_migration_dir_t dir,
                         vmig_migration_status_t status)
{
    vmm_t *vmm = opaque;
    /* Outgoing outcomes are the monitor's business; an incoming one failing
     * while we close anyway (quit during the load) is no failure of ours. */
    if (dir != VMIG_MIGRATION_INCOMING || status != VMIG_MIGRATION_STATUS_FAILED ||
        vmm->closing)
        return;
    /* Called from the engine's own stack (its incoming coroutine): leave
     * from the loop, where closing the engine is allowed. */
    uv_timer_start(&vmm->fail_timer, fail_timer_fired, 0, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    vmm_t *vmm = s->data;
    /* QEMU's words, so that logs read the same. */
    fprintf(stderr, "vmig-vmm: terminating on signal %d\n", signum);
    /* A second signal while leaving changes nothing (-EBUSY). */
    if (vmm->engine)
        vmig_engine_shutdown(vmm->engine, VMIG_SHUTDOWN_HOST_SIGNAL);
}

/* Signals are watched from the start: one arriving during setup (a long
 * --prealloc) is handled once the loop runs, as a shutdown. */
static int open_handles(vmm_t *vmm)
{
    /* None of these init calls can fail on a valid loop: all or nothing. */
    int r = uv_signal_init(&vmm->loop, &vmm->sigint);
    if (r == 0)
        r = uv_signal_init(&vmm->loop, &vmm->sigterm);
    if (r == 0)
        r = uv_timer_init(&vmm->loop, &vmm->fail_timer);
    if (r < 0)
        return r;
    vmm->handles_open = true;
    vmm->sigint.data = vmm->sigterm.data = vmm;
    vmm->fail_timer.data = vmm;
    r = uv_signal_start(&vmm->sigint, on_signal, SIGINT);
    if (r == 0)
        r = uv_signal_start(&vmm->sigterm, on_signal, SIGTERM);
    return r;
}

static const vmig_run_ops_t vmm_run_ops = {
    .stop = vmm_stop,
    .start = vmm_start,
    .quit = vmm_quit,
    .set_throttle = vmm_set_throttle,
};

/* The demo machine's vCPU and serial port, before the RAM is registered:
 * the RAM's dirty log depends on the accel. */
static int setup_demo(vmm_t *vmm)
{
    char msg[512];
    /* KVM's dirty log sees only guest writes: with random-writes the host
     * threads write, the guest idles, and the engine's bitmap is used. */
    vmm_demo_opts_t o = { .accel = vmm->opts.accel,
                          .workload = vmm->opts.workload,
                          .dirty_rate = vmm->opts.dirty_rate,
                          .serial = vmm->opts.serial,
                          .ram = vmm->ram.host,
                          .ram_size = vmm->ram.size };
    if (vmm_demo_new(&vmm->loop, &o, &vmm->demo, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "vmig-vmm: %s\n", msg);
        return 1;
    }
    return 0;
}

/* Guest RAM, and the engine's view of it: the block "mem", as QEMU names the
 * RAM of -M none,memory-backend=mem, with the engine's own dirty bitmap or,
 * for a KVM guest that is its only writer, KVM's dirty log. */
static int setup_ram(vmm_t *vmm)
{
    char msg[512];
    if (vmm_ram_map(&vmm->ram, vmm->opts.memory, vmm->opts.memory_file, msg, sizeof(msg)) < 0 ||
        (vmm->opts.prealloc && vmm_ram_prealloc(&vmm->ram, msg, sizeof(msg)) < 0)) {
        fprintf(stderr, "vmig-vmm: %s\n", msg);
        return 1;
    }
    if (vmm->opts.machine == VMM_MACHINE_DEMO && setup_demo(vmm))
        return 1;
    vmig_ram_block_opts_t bo = {
        .name = "mem",
        .host = vmm->ram.host,
        .length = vmm->ram.size,
        .page_size = 0, /* 4 KiB host pages */
        .log_ops = NULL,
    };
    if (vmm->demo && vmm->opts.workload != VMM_WORKLOAD_RANDOM_WRITES)
        bo.log_ops = vmm_demo_log_ops(vmm->demo, &bo.log_opaque);
    int r = vmig_engine_ram_add(vmm->engine, &bo, &vmm->block);
    if (r < 0) {
        fprintf(stderr, "vmig-vmm: cannot register the RAM: %s\n", vmig_strerror(r));
        return 1;
    }
    if (vmm->demo) {
        r = vmm_demo_attach(vmm->demo, vmm->engine, vmm->block);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot register the vCPU and serial port: %s\n",
                    vmig_strerror(r));
            return 1;
        }
    }
    if (vmm->opts.workload == VMM_WORKLOAD_RANDOM_WRITES) {
        vmm_workload_opts_t wo = { .block = vmm->block,
                                   .rate = vmm->opts.dirty_rate,
                                   .nthreads = vmm->opts.workload_threads };
        r = vmm_workload_new(&vmm->loop, &wo, &vmm->wl);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot start the workload threads: %s\n",
                    vmig_strerror(r));
            return 1;
        }
    }
    return 0;
}

/* The run state at start, QEMU's order of things: -incoming puts the VM in
 * "inmigrate" (started by the migration unless -S), -S in "prelaunch",
 * otherwise it runs from the start. */
static int setup_run_state(vmm_t *vmm)
{
    if (vmm->opts.incoming) {
        vmig_error_t err = { 0 };
        vmig_engine_set_migration_cb(vmm->engine, on_migration, vmm);
        int r = vmig_engine_incoming(vmm->engine, vmm->opts.incoming, &err);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot wait for a migration on %s: %s\n",
                    vmm->opts.incoming, err.code ? err.msg : vmig_strerror(r));
            return 1;
        }
        if (vmm->opts.start_paused)
            vmig_engine_set_autostart(vmm->engine, false);
        return 0;
    }
    if (vmm->opts.start_paused) {
        vmig_engine_set_autostart(vmm->engine, false);
        return 0;
    }
    /* The VM runs from the start, as after QEMU's vm_start(). */
    vmig_engine_set_run_state(vmm->engine, VMIG_RUN_STATE_RUNNING);
    if (vmm->demo)
        vmm_demo_start(vmm->demo);
    if (vmm->wl)
        vmm_workload_start(vmm->wl);
    return 0;
}

/* Set up the VM; on failure print one line and return 1. */
static int vmm_setup(vmm_t *vmm)
{
    int r = open_handles(vmm);
    if (r < 0) {
        fprintf(stderr, "vmig-vmm: cannot watch signals: %s\n", uv_strerror(r));
        return 1;
    }
    vmig_engine_opts_t eo = { .run_ops = &vmm_run_ops, .run_opaque = vmm, .name = "vmig-vmm",
                              /* checked by the destination: demo and none never mix */
                              .machine = vmm->opts.machine == VMM_MACHINE_DEMO ? "vmig-demo"
                                                                               : "none" };
    r = vmig_engine_new(&vmm->loop, &eo, &vmm->engine);
    if (r < 0) {
        fprintf(stderr, "vmig-vmm: cannot create the engine: %s\n", vmig_strerror(r));
        return 1;
    }
    /* --object: as object-add, before anything may name them. */
    for (unsigned i = 0; i < vmm->opts.nobjects; i++) {
        vmig_qmp_error_t qerr = { 0 };
        if (engine_object_add_opts(vmm->engine, vmm->opts.objects[i], &qerr) < 0) {
            fprintf(stderr, "vmig-vmm: --object %s: %s\n", vmm->opts.objects[i], qerr.desc);
            return 1;
        }
    }
    if (setup_ram(vmm) || setup_run_state(vmm))
        return 1;
    /* The monitor last: once its socket exists, tests may rely on the
     * incoming side being ready. */
    for (unsigned i = 0; i < vmm->opts.nqmp; i++) {
        vmig_error_t err = { 0 };
        r = vmig_engine_qmp_listen(vmm->engine, vmm->opts.qmp[i], &err);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot serve QMP on %s: %s\n", vmm->opts.qmp[i],
                    err.code ? err.msg : vmig_strerror(r));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* A client that goes away must surface as EPIPE, not kill the VM. */
    signal(SIGPIPE, SIG_IGN);
    vmm_t vmm;
    memset(&vmm, 0, sizeof(vmm));
    int r = vmm_parse_args(argc, argv, &vmm.opts);
    if (r == 1)
        return 0;
    if (r)
        return r;
    vmm.ram.fd = -1;
    if (uv_loop_init(&vmm.loop) < 0) {
        fputs("vmig-vmm: cannot create the event loop\n", stderr);
        return 1;
    }
    vmm.exit_code = vmm_setup(&vmm);
    if (vmm.exit_code)
        vmm_close(&vmm);
    uv_run(&vmm.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&vmm.loop) != 0 && vmm.exit_code == 0) {
        fputs("vmig-vmm: handles left open at exit\n", stderr);
        vmm.exit_code = 1;
    }
    vmm_demo_free(vmm.demo); /* the engine is gone: nothing refers to it any more */
    vmm_ram_unmap(&vmm.ram);
    co_thread_cleanup();
    return vmm.exit_code;
}
