/* vmm.h — the demo VMM's pieces: its options, its guest RAM, the workload
 * threads, and the demo machine (a vCPU, KVM or simulated, and a serial port). */
#ifndef VMIG_VMM_H
#define VMIG_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "vmig/ram.h"
#include "vmig/vmig.h"

#define VMM_MAX_QMP 16
/* Most --object options. */
#define VMM_MAX_OBJECTS 64
/* Most --workload-threads: more than enough to saturate a host. */
#define VMM_MAX_WORKLOAD_THREADS 64

/* What runs "inside" the VM while it runs. */
typedef enum vmm_workload_kind {
    VMM_WORKLOAD_IDLE,          /* nothing writes guest RAM */
    VMM_WORKLOAD_RANDOM_WRITES, /* host threads dirty random pages at --dirty-rate */
    VMM_WORKLOAD_PATTERN,       /* the demo vCPU walks RAM, one counter byte a page */
} vmm_workload_kind_t;

/* The machine profile. */
typedef enum vmm_machine_kind {
    VMM_MACHINE_NONE, /* RAM only, QEMU's -M none (interoperates with QEMU) */
    VMM_MACHINE_DEMO, /* "vmig-demo": one vCPU, a serial port and RAM */
} vmm_machine_kind_t;

/* How the demo machine's vCPU runs. */
typedef enum vmm_accel {
    VMM_ACCEL_AUTO, /* kvm when /dev/kvm works, else sim (resolved at start) */
    VMM_ACCEL_KVM,  /* a real KVM vCPU running guest/demo_guest.S */
    VMM_ACCEL_SIM,  /* a host thread doing what the guest program does */
} vmm_accel_t;

typedef struct vmm_opts {
    vmm_machine_kind_t machine;   /* --machine demo (default) or none */
    vmm_accel_t accel;            /* --accel, demo only */
    const char *serial;           /* --serial PATH: the guest's serial output; NULL: discard */
    uint64_t memory;              /* guest RAM in bytes */
    const char *memory_file;      /* RAM backing file (MAP_SHARED), NULL: anonymous */
    const char *qmp[VMM_MAX_QMP]; /* monitor sockets (QMP URIs) */
    unsigned nqmp;                /* how many */
    const char *objects[VMM_MAX_OBJECTS]; /* --object TYPE,id=ID,...: made once the engine is */
    unsigned nobjects;            /* how many */
    bool start_paused;            /* -S: stay in prelaunch until `cont` */
    const char *incoming;         /* --incoming URI or "defer"; NULL: none */
    bool prealloc;                /* --prealloc: populate RAM at start */
    vmm_workload_kind_t workload; /* --workload */
    uint64_t dirty_rate;          /* --dirty-rate in bytes/s of pages dirtied (pattern: 0 = unpaced) */
    unsigned workload_threads;    /* --workload-threads, >= 1 */
} vmm_opts_t;

/* Parse argv into opts. Returns 0, 1 when --help/--version printed (exit 0),
 * or 2 after printing a usage error on stderr. */
int vmm_parse_args(int argc, char **argv, vmm_opts_t *opts);

/* Guest RAM: anonymous, or a file mapped shared so tests can `cmp` it. */
typedef struct vmm_ram {
    void *host;     /* the mapping, NULL when not mapped */
    size_t size;    /* its length */
    int fd;         /* the backing file, -1 when anonymous */
} vmm_ram_t;

/* Map size bytes (a multiple of the page size) of RAM, from path if not
 * NULL: an existing file of exactly that size keeps its content, a missing
 * or empty one is created and sized, any other size is refused. 0 or a
 * negative errno with a one-line message in msg. */
int vmm_ram_map(vmm_ram_t *ram, uint64_t size, const char *path, char *msg, size_t msglen);
/* Populate every page now, writable, without changing its content (QEMU's
 * prealloc=on), so the first write of a migration or the guest does not
 * fault. 0 or a negative errno with a message in msg. */
int vmm_ram_prealloc(vmm_ram_t *ram, char *msg, size_t msglen);
void vmm_ram_unmap(vmm_ram_t *ram);

/* ---- the workload (vmm_workload.c) --------------------------------------------
 * Host threads writing random bytes into random 4 KiB pages of one RAM block
 * at a fixed rate, marking each page dirty: the vCPUs of --machine none. They
 * run only between start and pause; every function runs on the loop thread. */

typedef struct vmm_workload vmm_workload_t;

typedef struct vmm_workload_opts {
    vmig_ram_block_t *block; /* the RAM they write (host memory and dirty log) */
    uint64_t rate;           /* bytes of pages dirtied per second, all threads together */
    unsigned nthreads;       /* how many threads, >= 1 */
} vmm_workload_opts_t;

/* Create the threads, paused. 0 or a negative errno. */
int vmm_workload_new(uv_loop_t *loop, const vmm_workload_opts_t *opts, vmm_workload_t **out);
/* Let them run (returns at once). */
void vmm_workload_start(vmm_workload_t *wl);
/* Ask them to pause; done(arg) runs on the loop once every thread is parked
 * and will write nothing more — from inside this call if they already are.
 * A start before that cancels the request (done is then never called). */
void vmm_workload_pause(vmm_workload_t *wl, void (*done)(void *arg), void *arg);
/* Make them sleep percent % of every 10 ms slice (0..99; 0: full speed). */
void vmm_workload_set_throttle(vmm_workload_t *wl, int percent);
/* End and join the threads (they only ever wait on a condition variable, so
 * this takes microseconds), answer a pause still pending, then free wl once
 * its loop handle is closed. */
void vmm_workload_close(vmm_workload_t *wl);

/* ---- the demo machine (vmm_demo.c and below) ----------------------------------
 * One vCPU (a KVM vCPU thread or a simulated one) running the pattern walk or
 * idling, and a serial port; both travel as vmstate sections "cpu" and
 * "serial". Every function runs on the loop thread. */

typedef struct vmm_demo vmm_demo_t;

typedef struct vmm_demo_opts {
    vmm_accel_t accel;         /* kvm, sim or auto */
    vmm_workload_kind_t workload; /* pattern walks; anything else idles */
    uint64_t dirty_rate;       /* pattern: bytes/s of pages walked, 0 = as fast as it can */
    const char *serial;        /* file the serial bytes are appended to; NULL: discard */
    void *ram;                 /* guest RAM (guest address 0) */
    uint64_t ram_size;         /* its length, a multiple of 4 KiB, >= 8 KiB */
} vmm_demo_opts_t;

/* Create the machine with its vCPU paused. 0 or a negative errno with a
 * one-line message in msg. */
int vmm_demo_new(uv_loop_t *loop, const vmm_demo_opts_t *opts, vmm_demo_t **out, char *msg,
                 size_t msglen);
/* The dirty log the RAM block must use: KVM's, or NULL for the engine's bitmap. */
const vmig_dirty_log_ops_t *vmm_demo_log_ops(vmm_demo_t *demo, void **opaque);
/* Attach to the engine: the RAM block (sim marks its pages dirty in it) and
 * the "cpu" and "serial" sections. 0 or a negative errno. */
int vmm_demo_attach(vmm_demo_t *demo, vmig_engine_t *engine, vmig_ram_block_t *block);
void vmm_demo_start(vmm_demo_t *demo);
/* Stop the vCPU; done(arg) runs on the loop once it is parked (maybe at once). */
void vmm_demo_pause(vmm_demo_t *demo, void (*done)(void *arg), void *arg);
void vmm_demo_set_throttle(vmm_demo_t *demo, int percent);
/* End the vCPU thread, answering a pending pause; it writes nothing more. */
void vmm_demo_close(vmm_demo_t *demo);
/* Free the machine (closing it first if need be) once the engine that
 * holds its sections and dirty log is gone. NULL is fine. */
void vmm_demo_free(vmm_demo_t *demo);

#endif
