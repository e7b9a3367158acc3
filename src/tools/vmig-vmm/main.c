/* main.c — vmig-vmm, the demo VMM: embeds the vmig engine the way a user
 * would (its own loop, RAM, run-control callbacks) and serves QMP until quit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "vmig/co.h"
#include "vmm.h"

typedef struct vmm {
    vmm_opts_t opts;          /* the command line */
    uv_loop_t loop;           /* the one loop: engine, monitor, signals */
    vmig_engine_t *engine;    /* the VM's engine */
    vmm_ram_t ram;            /* guest RAM */
    uv_signal_t sigint;       /* SIGINT: clean shutdown */
    uv_signal_t sigterm;      /* SIGTERM: clean shutdown */
    bool signals_open;        /* the two handles above are initialised */
    int exit_code;            /* what main returns */
} vmm_t;

/* ---- run control for --machine none: no vCPUs, so every request is done at
 * once, but through the engine's asynchronous path like a real VMM's. -------- */

static void vmm_stop(void *opaque, vmig_engine_t *engine)
{
    vmig_engine_run_control_done(engine, 0);
}

static void vmm_start(void *opaque, vmig_engine_t *engine)
{
    vmig_engine_run_control_done(engine, 0);
}

static void signal_closed(uv_handle_t *h)
{
}

static void close_signals(vmm_t *vmm)
{
    if (!vmm->signals_open)
        return;
    vmm->signals_open = false;
    uv_close((uv_handle_t *)&vmm->sigint, signal_closed);
    uv_close((uv_handle_t *)&vmm->sigterm, signal_closed);
}

/* The signal handles go last: a second SIGTERM while the engine closes must
 * still find our handler, not the default action. */
static void engine_closed(vmig_engine_t *engine, void *arg)
{
    vmm_t *vmm = arg;
    vmm->engine = NULL;
    close_signals(vmm);
}

/* The engine shut down (quit, a signal): close everything; uv_run returns
 * once the last handle is gone. */
static void vmm_quit(void *opaque, vmig_engine_t *engine, vmig_shutdown_cause_t cause)
{
    vmm_t *vmm = opaque;
    if (vmig_engine_close(engine, engine_closed, vmm) < 0) {
        vmm->exit_code = 1;
        close_signals(vmm);
    }
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

static int open_signals(vmm_t *vmm)
{
    int r = uv_signal_init(&vmm->loop, &vmm->sigint);
    if (r == 0)
        r = uv_signal_init(&vmm->loop, &vmm->sigterm);
    if (r < 0)
        return r;
    vmm->signals_open = true;
    vmm->sigint.data = vmm->sigterm.data = vmm;
    r = uv_signal_start(&vmm->sigint, on_signal, SIGINT);
    if (r == 0)
        r = uv_signal_start(&vmm->sigterm, on_signal, SIGTERM);
    return r;
}

static const vmig_run_ops_t vmm_run_ops = {
    .stop = vmm_stop,
    .start = vmm_start,
    .quit = vmm_quit,
};

/* Set up the VM; on failure print one line and return 1. */
static int vmm_setup(vmm_t *vmm)
{
    char msg[512];
    if (vmm_ram_map(&vmm->ram, vmm->opts.memory, vmm->opts.memory_file, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "vmig-vmm: %s\n", msg);
        return 1;
    }
    vmig_engine_opts_t eo = { .run_ops = &vmm_run_ops, .run_opaque = vmm, .name = "vmig-vmm" };
    int r = vmig_engine_new(&vmm->loop, &eo, &vmm->engine);
    if (r < 0) {
        fprintf(stderr, "vmig-vmm: cannot create the engine: %s\n", vmig_strerror(r));
        return 1;
    }
    if (vmm->opts.start_paused) {
        /* QEMU's -S: prelaunch, and an incoming migration will not start it. */
        vmig_engine_set_autostart(vmm->engine, false);
    } else {
        /* No vCPUs to start: the VM runs from the start, as QEMU's vm_start(). */
        vmig_engine_set_run_state(vmm->engine, VMIG_RUN_STATE_RUNNING);
    }
    for (unsigned i = 0; i < vmm->opts.nqmp; i++) {
        vmig_error_t err = { 0 };
        r = vmig_engine_qmp_listen(vmm->engine, vmm->opts.qmp[i], &err);
        if (r < 0) {
            fprintf(stderr, "vmig-vmm: cannot serve QMP on %s: %s\n", vmm->opts.qmp[i],
                    err.code ? err.msg : vmig_strerror(r));
            return 1;
        }
    }
    r = open_signals(vmm);
    if (r < 0) {
        fprintf(stderr, "vmig-vmm: cannot watch signals: %s\n", uv_strerror(r));
        return 1;
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
    if (vmm.exit_code) {
        if (!vmm.engine || vmig_engine_close(vmm.engine, engine_closed, &vmm) < 0)
            close_signals(&vmm);
    }
    uv_run(&vmm.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&vmm.loop) != 0 && vmm.exit_code == 0) {
        fputs("vmig-vmm: handles left open at exit\n", stderr);
        vmm.exit_code = 1;
    }
    vmm_ram_unmap(&vmm.ram);
    co_thread_cleanup();
    return vmm.exit_code;
}
