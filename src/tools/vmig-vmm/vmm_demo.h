/* vmm_demo.h — inside the demo machine: the vCPU state that travels, the
 * serial port, the vCPU thread and its two backends (KVM, simulated). */
#ifndef VMIG_VMM_DEMO_H
#define VMIG_VMM_DEMO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmig/vmstate.h"
#include "vmm.h"

/* The guest's layout (guest/demo_guest.S): page 0 holds the code (from
 * address 0) and the stack (at its top); the walk covers every page above. */
#define VMM_DEMO_PAGE 4096u
#define VMM_DEMO_FIRST_PAGE 0x1000u
/* Pages between two progress exits of the guest; the simulated walker
 * reports in the same steps. */
#define VMM_DEMO_CHUNK 64u

/* ---- the vCPU state (vmm_cpu.c): section "cpu" ------------------------------- */

/* General registers in struct kvm_regs' order. The walk keeps its position
 * in rsi, its first page in rdi, its end in rbx, the passes done in rbp and
 * the pages left before the next progress exit in rcx, under either accel. */
enum {
    VMM_REG_RAX, VMM_REG_RBX, VMM_REG_RCX, VMM_REG_RDX, VMM_REG_RSI, VMM_REG_RDI,
    VMM_REG_RSP, VMM_REG_RBP, VMM_REG_R8, VMM_REG_R9, VMM_REG_R10, VMM_REG_R11,
    VMM_REG_R12, VMM_REG_R13, VMM_REG_R14, VMM_REG_R15, VMM_REG_RIP, VMM_REG_RFLAGS,
    VMM_NREGS
};

enum { VMM_SEG_CS, VMM_SEG_DS, VMM_SEG_ES, VMM_SEG_FS, VMM_SEG_GS, VMM_SEG_SS, VMM_NSEGS };

/* One segment register as KVM describes it (struct kvm_segment). */
typedef struct vmm_cpu_seg {
    uint64_t base;     /* linear base */
    uint32_t limit;    /* byte-granular limit */
    uint16_t selector; /* the visible selector */
    uint8_t type;      /* descriptor type (code/data, accessed...) */
    uint8_t present;   /* P bit */
    uint8_t dpl;       /* privilege level */
    uint8_t db;        /* default operand size 32 */
    uint8_t s;         /* code/data (not system) */
    uint8_t l;         /* 64-bit code */
    uint8_t g;         /* 4 KiB granularity */
    uint8_t avl;       /* available bit */
} vmm_cpu_seg_t;

typedef struct vmm_cpu_state {
    uint64_t regs[VMM_NREGS];     /* VMM_REG_* */
    vmm_cpu_seg_t seg[VMM_NSEGS]; /* VMM_SEG_* */
    uint64_t cr0;                 /* PE set: protected mode */
    uint64_t cr3;                 /* unused (paging off), carried for completeness */
    uint64_t cr4;                 /* control register 4 */
    uint64_t efer;                /* extended features */
    uint32_t accel;               /* VMM_ACCEL_* of this machine */
    uint32_t wire_accel;          /* the accel named in the stream (checked on load) */
    uint64_t ram_size;            /* this machine's RAM, to check loaded positions */
} vmm_cpu_state_t;

/* The state at power-on: 32-bit flat protected mode at address 0, walking
 * (walk) or idle. */
void vmm_cpu_state_init(vmm_cpu_state_t *st, vmm_accel_t accel, uint64_t ram_size, bool walk);
extern const vmig_vmsd_t vmm_cpu_vmsd;

/* ---- the serial port (vmm_serial.c): section "serial" ------------------------ */

typedef struct vmm_serial {
    int fd;        /* --serial file (append), -1: discard */
    uint64_t count; /* bytes the guest wrote, ever (travels) */
    uint8_t last;  /* the last of them (travels) */
} vmm_serial_t;

int vmm_serial_open(vmm_serial_t *s, const char *path, char *msg, size_t msglen);
/* The guest wrote byte (vCPU thread; the file write may block that thread only). */
void vmm_serial_out(vmm_serial_t *s, uint8_t byte);
void vmm_serial_close(vmm_serial_t *s);
extern const vmig_vmsd_t vmm_serial_vmsd;

/* ---- the vCPU thread (vmm_vcpu.c) --------------------------------------------- */

typedef enum vmm_exit {
    VMM_EXIT_PAGES,  /* walked some pages (*pages of them) */
    VMM_EXIT_HALT,   /* the guest idles until the next stop */
    VMM_EXIT_KICKED, /* interrupted by kick(): look at what the loop wants */
} vmm_exit_t;

/* What runs the guest, called on the vCPU thread except kick. */
typedef struct vmm_vcpu_backend {
    /* Run until an exit: a VMM_EXIT_* (>= 0) or a negative errno (the guest
     * is broken and will not run again). */
    int (*run)(void *be, unsigned *pages);
    /* Loop thread: make a run in progress on thread tid return soon. */
    void (*kick)(void *be, pthread_t tid);
    /* Before parking: write the vCPU's registers into the shared state. */
    int (*park)(void *be);
    /* Before running again: load the (maybe migrated-in) shared state. */
    int (*unpark)(void *be);
} vmm_vcpu_backend_t;

typedef struct vmm_vcpu vmm_vcpu_t;

/* Create the thread, parked. rate: bytes/s of pages walked, 0 unpaced. */
int vmm_vcpu_new(uv_loop_t *loop, const vmm_vcpu_backend_t *ops, void *be, uint64_t rate,
                 vmm_vcpu_t **out);
void vmm_vcpu_start(vmm_vcpu_t *v);
/* done(arg) on the loop once parked (from inside the call if it is). */
void vmm_vcpu_pause(vmm_vcpu_t *v, void (*done)(void *arg), void *arg);
void vmm_vcpu_set_throttle(vmm_vcpu_t *v, int percent);
/* Join the thread, answer a pending pause, free v once its handle closed. */
void vmm_vcpu_close(vmm_vcpu_t *v);

/* ---- the simulated vCPU (vmm_sim.c) ------------------------------------------- */

typedef struct vmm_sim {
    uint8_t *ram;             /* guest RAM */
    uint64_t ram_size;        /* its length */
    vmm_cpu_state_t *st;      /* registers, used in place */
    vmm_serial_t *serial;     /* where a finished pass writes its byte */
    vmig_ram_block_t *block;  /* the engine's bitmap to mark pages in (NULL until attached) */
} vmm_sim_t;

extern const vmm_vcpu_backend_t vmm_sim_backend;

/* ---- the KVM vCPU (vmm_kvm.c) ------------------------------------------------- */

typedef struct vmm_kvm vmm_kvm_t;

/* Open /dev/kvm, create the VM with ram at guest address 0 and one vCPU in
 * the state st, the guest program copied to page 0. 0 or a negative errno
 * with a message. */
int vmm_kvm_new(void *ram, uint64_t ram_size, vmm_cpu_state_t *st, vmm_serial_t *serial,
                vmm_kvm_t **out, char *msg, size_t msglen);
void vmm_kvm_free(vmm_kvm_t *k);
extern const vmm_vcpu_backend_t vmm_kvm_backend;
/* KVM's dirty log of the RAM slot (opaque: the vmm_kvm_t). */
extern const vmig_dirty_log_ops_t vmm_kvm_log_ops;

#endif
