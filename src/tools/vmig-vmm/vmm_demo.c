/* vmm_demo.c — the demo machine "vmig-demo": one vCPU (KVM, or simulated
 * by a host thread) walking RAM or idling, a serial port, and their sections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_demo.h"

struct vmm_demo {
    vmm_accel_t accel;     /* kvm or sim, auto resolved */
    vmm_cpu_state_t cpu;   /* the registers ("cpu") */
    vmm_serial_t serial;   /* the serial port ("serial") */
    vmm_kvm_t *kvm;        /* the KVM VM (kvm only) */
    vmm_sim_t sim;         /* the simulated vCPU's view (sim only) */
    vmm_vcpu_t *vcpu;      /* the vCPU thread; NULL once closed */
};

/* auto: KVM if it opens and takes our vCPU, else the simulation. */
static int demo_open_accel(vmm_demo_t *d, const vmm_demo_opts_t *o, char *msg, size_t msglen)
{
    bool walk = o->workload == VMM_WORKLOAD_PATTERN;
    if (o->accel != VMM_ACCEL_SIM) {
        vmm_cpu_state_init(&d->cpu, VMM_ACCEL_KVM, o->ram_size, walk);
        int r = vmm_kvm_new(o->ram, o->ram_size, &d->cpu, &d->serial, &d->kvm, msg, msglen);
        if (r == 0) {
            d->accel = VMM_ACCEL_KVM;
            return 0;
        }
        if (o->accel == VMM_ACCEL_KVM)
            return r;
    }
    vmm_cpu_state_init(&d->cpu, VMM_ACCEL_SIM, o->ram_size, walk);
    d->sim = (vmm_sim_t){ .ram = o->ram, .ram_size = o->ram_size, .st = &d->cpu,
                          .serial = &d->serial, .block = NULL };
    d->accel = VMM_ACCEL_SIM;
    return 0;
}

int vmm_demo_new(uv_loop_t *loop, const vmm_demo_opts_t *o, vmm_demo_t **out, char *msg,
                 size_t msglen)
{
    if (o->ram_size < 2 * VMM_DEMO_PAGE || o->ram_size % VMM_DEMO_PAGE) {
        snprintf(msg, msglen, "the demo machine needs at least 8K of RAM, in 4K pages");
        return -EINVAL;
    }
    vmm_demo_t *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    int r = vmm_serial_open(&d->serial, o->serial, msg, msglen);
    if (r == 0)
        r = demo_open_accel(d, o, msg, msglen);
    if (r < 0) {
        vmm_serial_close(&d->serial);
        free(d);
        return r;
    }
    const vmm_vcpu_backend_t *ops = d->accel == VMM_ACCEL_KVM ? &vmm_kvm_backend
                                                              : &vmm_sim_backend;
    void *be = d->accel == VMM_ACCEL_KVM ? (void *)d->kvm : (void *)&d->sim;
    r = vmm_vcpu_new(loop, ops, be, o->dirty_rate, &d->vcpu);
    if (r < 0) {
        snprintf(msg, msglen, "cannot start the vCPU thread: %s", strerror(-r));
        vmm_kvm_free(d->kvm);
        vmm_serial_close(&d->serial);
        free(d);
        return r;
    }
    *out = d;
    return 0;
}

/* KVM's dirty log sees every guest write; the simulated vCPU marks the
 * engine's bitmap itself. */
const vmig_dirty_log_ops_t *vmm_demo_log_ops(vmm_demo_t *d, void **opaque)
{
    *opaque = d->kvm;
    return d->accel == VMM_ACCEL_KVM ? &vmm_kvm_log_ops : NULL;
}

int vmm_demo_attach(vmm_demo_t *d, vmig_engine_t *engine, vmig_ram_block_t *block)
{
    /* The vCPU is parked: it reads block only once started. */
    d->sim.block = block;
    int r = vmig_engine_register_vmsd(engine, "cpu", 0, &vmm_cpu_vmsd, &d->cpu);
    if (r == 0)
        r = vmig_engine_register_vmsd(engine, "serial", 0, &vmm_serial_vmsd, &d->serial);
    return r;
}

void vmm_demo_start(vmm_demo_t *d)
{
    if (d->vcpu)
        vmm_vcpu_start(d->vcpu);
}

void vmm_demo_pause(vmm_demo_t *d, void (*done)(void *arg), void *arg)
{
    if (d->vcpu)
        vmm_vcpu_pause(d->vcpu, done, arg);
    else
        done(arg);
}

void vmm_demo_set_throttle(vmm_demo_t *d, int percent)
{
    if (d->vcpu)
        vmm_vcpu_set_throttle(d->vcpu, percent);
}

void vmm_demo_close(vmm_demo_t *d)
{
    if (d->vcpu)
        vmm_vcpu_close(d->vcpu);
    d->vcpu = NULL; /* later stops and starts (a closing engine's) are immediate */
}

void vmm_demo_free(vmm_demo_t *d)
{
    if (!d)
        return;
    vmm_demo_close(d);
    vmm_kvm_free(d->kvm);
    vmm_serial_close(&d->serial);
    free(d);
}
