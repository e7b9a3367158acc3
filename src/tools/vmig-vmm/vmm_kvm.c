/* vmm_kvm.c — the demo machine's KVM vCPU: a VM with one memory slot (the
 * guest RAM, dirty-logged during migrations) and one vCPU running the guest
 * program assembled from guest/demo_guest.S, 32-bit flat from address 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_demo.h"

#if defined(VMM_HAVE_KVM_GUEST) && defined(__linux__)
#include <linux/kvm.h>

/* The guest program, embedded at build time (cmake/embed_file.cmake). */
extern const unsigned char vmm_demo_guest[];
extern const size_t vmm_demo_guest_len;

/* The ports the guest program writes (guest/demo_guest.S). */
#define KVM_SERIAL_PORT 0x3f8
#define KVM_PROGRESS_PORT 0x80
/* The signal that kicks the vCPU thread out of KVM_RUN. */
#define KVM_KICK_SIGNAL SIGUSR1

struct vmm_kvm {
    int sys_fd;              /* /dev/kvm */
    int vm_fd;               /* the VM */
    int vcpu_fd;             /* its one vCPU */
    struct kvm_run *run;     /* the vCPU's shared run area */
    size_t run_size;         /* its mapping length */
    void *ram;               /* guest RAM, slot 0 at guest address 0 */
    uint64_t ram_size;       /* its length */
    uint64_t *log;           /* KVM_GET_DIRTY_LOG's bitmap, one bit a page */
    vmm_cpu_state_t *st;     /* the registers that travel */
    vmm_serial_t *serial;    /* where port 0x3f8 writes go */
};

/* Nothing to do: the signal only has to interrupt KVM_RUN (no SA_RESTART). */
static void kvm_kick_handler(int sig)
{
}

static int kvm_set_slot(vmm_kvm_t *k, uint32_t flags)
{
    struct kvm_userspace_memory_region mr = {
        .slot = 0,
        .flags = flags,
        .guest_phys_addr = 0,
        .memory_size = k->ram_size,
        .userspace_addr = (uint64_t)(uintptr_t)k->ram,
    };
    return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) < 0 ? -errno : 0;
}

static void seg_to_kvm(const vmm_cpu_seg_t *s, struct kvm_segment *o)
{
    o->base = s->base;
    o->limit = s->limit;
    o->selector = s->selector;
    o->type = s->type;
    o->present = s->present;
    o->dpl = s->dpl;
    o->db = s->db;
    o->s = s->s;
    o->l = s->l;
    o->g = s->g;
    o->avl = s->avl;
    o->unusable = !s->present;
}

static void seg_from_kvm(const struct kvm_segment *o, vmm_cpu_seg_t *s)
{
    *s = (vmm_cpu_seg_t){ .base = o->base, .limit = o->limit, .selector = o->selector,
                          .type = o->type, .present = o->present, .dpl = o->dpl,
                          .db = o->db, .s = o->s, .l = o->l, .g = o->g, .avl = o->avl };
}

/* struct kvm_regs is the 18 registers in VMM_REG_* order. */
_Static_assert(sizeof(struct kvm_regs) == VMM_NREGS * sizeof(uint64_t), "kvm_regs layout");

static int kvm_park(void *be)
{
    vmm_kvm_t *k = be;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(k->vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(k->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    memcpy(k->st->regs, &regs, sizeof(regs));
    struct kvm_segment *segs[VMM_NSEGS] = { &sregs.cs, &sregs.ds, &sregs.es,
                                            &sregs.fs, &sregs.gs, &sregs.ss };
    for (int i = 0; i < VMM_NSEGS; i++)
        seg_from_kvm(segs[i], &k->st->seg[i]);
    k->st->cr0 = sregs.cr0;
    k->st->cr3 = sregs.cr3;
    k->st->cr4 = sregs.cr4;
    k->st->efer = sregs.efer;
    return 0;
}

/* Put the shared state (power-on, or loaded by a migration) into the vCPU;
 * what it does not carry (tables, APIC base) keeps KVM's values. */
static int kvm_unpark(void *be)
{
    vmm_kvm_t *k = be;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    struct kvm_segment *segs[VMM_NSEGS] = { &sregs.cs, &sregs.ds, &sregs.es,
                                            &sregs.fs, &sregs.gs, &sregs.ss };
    for (int i = 0; i < VMM_NSEGS; i++)
        seg_to_kvm(&k->st->seg[i], segs[i]);
    sregs.cr0 = k->st->cr0;
    sregs.cr3 = k->st->cr3;
    sregs.cr4 = k->st->cr4;
    sregs.efer = k->st->efer;
    memcpy(&regs, k->st->regs, sizeof(regs));
    if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(k->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

static int kvm_run_once(void *be, unsigned *pages)
{
    vmm_kvm_t *k = be;
    for (;;) {
        if (ioctl(k->vcpu_fd, KVM_RUN, 0) < 0) {
            int e = errno;
            if (e != EINTR && e != EAGAIN)
                return -e;
            /* Kicked (signal or immediate_exit): the caller looks at why. */
            __atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
            return VMM_EXIT_KICKED;
        }
        struct kvm_run *run = k->run;
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            uint8_t *data = (uint8_t *)run + run->io.data_offset;
            if (run->io.direction == KVM_EXIT_IO_IN) {
                memset(data, 0xff, (size_t)run->io.size * run->io.count); /* nothing there */
                continue;
            }
            if (run->io.port == KVM_SERIAL_PORT) {
                for (uint32_t i = 0; i < run->io.count; i++)
                    vmm_serial_out(k->serial, data[(size_t)i * run->io.size]);
                continue;
            }
            if (run->io.port == KVM_PROGRESS_PORT) {
                *pages = VMM_DEMO_CHUNK;
                return VMM_EXIT_PAGES;
            }
            continue; /* other ports: nothing behind them */
        }
        case KVM_EXIT_HLT:
            return VMM_EXIT_HALT;
        case KVM_EXIT_INTR:
            __atomic_store_n(&k->run->immediate_exit, 0, __ATOMIC_RELAXED);
            return VMM_EXIT_KICKED;
        default:
            fprintf(stderr, "vmig-vmm: KVM exit %u (guest broken)\n", run->exit_reason);
            return -EFAULT;
        }
    }
}

/* immediate_exit first: a kick landing just before KVM_RUN is not lost. */
static void kvm_kick(void *be, pthread_t tid)
{
    vmm_kvm_t *k = be;
    __atomic_store_n(&k->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(tid, KVM_KICK_SIGNAL);
}

const vmm_vcpu_backend_t vmm_kvm_backend = {
    .run = kvm_run_once,
    .kick = kvm_kick,
    .park = kvm_park,
    .unpark = kvm_unpark,
};

/* ---- the dirty log of slot 0 -------------------------------------------------- */

static int kvm_log_start(void *opaque, vmig_ram_block_t *block)
{
    return kvm_set_slot(opaque, KVM_MEM_LOG_DIRTY_PAGES);
}

/* KVM_GET_DIRTY_LOG fetches and clears (write-protecting the pages again);
 * its bitmap has the engine's layout (64-bit little-endian words). */
static int kvm_log_sync(void *opaque, vmig_ram_block_t *block, uint64_t *bitmap, size_t npages)
{
    vmm_kvm_t *k = opaque;
    size_t words = (k->ram_size / VMM_DEMO_PAGE + 63) / 64;
    memset(k->log, 0, words * sizeof(uint64_t));
    struct kvm_dirty_log dl = { .slot = 0 };
    dl.dirty_bitmap = k->log;
    if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0)
        return -errno;
    size_t n = (npages + 63) / 64;
    for (size_t i = 0; i < n && i < words; i++)
        bitmap[i] |= k->log[i];
    return 0;
}

static void kvm_log_stop(void *opaque, vmig_ram_block_t *block)
{
    int r = kvm_set_slot(opaque, 0);
    if (r < 0)
        fprintf(stderr, "vmig-vmm: cannot end KVM dirty logging: %s\n", strerror(-r));
}

const vmig_dirty_log_ops_t vmm_kvm_log_ops = {
    .start = kvm_log_start,
    .sync = kvm_log_sync,
    .stop = kvm_log_stop,
};

/* ---- setup ---------------------------------------------------------------------- */

static int kvm_fail(vmm_kvm_t *k, char *msg, size_t msglen, const char *what, int e)
{
    snprintf(msg, msglen, "KVM: %s: %s", what, strerror(e));
    vmm_kvm_free(k);
    return -e;
}

int vmm_kvm_new(void *ram, uint64_t ram_size, vmm_cpu_state_t *st, vmm_serial_t *serial,
                vmm_kvm_t **out, char *msg, size_t msglen)
{
    /* The walk uses 32-bit addresses without paging. */
    if (ram_size > (3ULL << 30)) {
        snprintf(msg, msglen, "KVM: the demo guest addresses at most 3G of RAM");
        return -EINVAL;
    }
    vmm_kvm_t *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    k->sys_fd = k->vm_fd = k->vcpu_fd = -1;
    k->ram = ram;
    k->ram_size = ram_size;
    k->st = st;
    k->serial = serial;
    k->log = calloc((ram_size / VMM_DEMO_PAGE + 63) / 64, sizeof(uint64_t));
    if (!k->log)
        return kvm_fail(k, msg, msglen, "dirty bitmap", ENOMEM);
    k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->sys_fd < 0)
        return kvm_fail(k, msg, msglen, "cannot open /dev/kvm", errno);
    if (ioctl(k->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return kvm_fail(k, msg, msglen, "unexpected API version", ENOTSUP);
    if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0)
        return kvm_fail(k, msg, msglen, "no KVM_CAP_IMMEDIATE_EXIT", ENOTSUP);
    k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    if (k->vm_fd < 0)
        return kvm_fail(k, msg, msglen, "cannot create a VM", errno);
    int r = kvm_set_slot(k, 0);
    if (r < 0)
        return kvm_fail(k, msg, msglen, "cannot map guest RAM", -r);
    k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
    if (k->vcpu_fd < 0)
        return kvm_fail(k, msg, msglen, "cannot create a vCPU", errno);
    int sz = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz <= 0)
        return kvm_fail(k, msg, msglen, "KVM_GET_VCPU_MMAP_SIZE", sz < 0 ? errno : EINVAL);
    void *p = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu_fd, 0);
    if (p == MAP_FAILED)
        return kvm_fail(k, msg, msglen, "cannot map the vCPU run area", errno);
    k->run = p;
    k->run_size = (size_t)sz;
    /* Check now that the vCPU takes our state (KVM can refuse segments). */
    r = kvm_unpark(k);
    if (r < 0)
        return kvm_fail(k, msg, msglen, "cannot set the vCPU registers", -r);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) < 0)
        return kvm_fail(k, msg, msglen, "cannot install the kick signal", errno);
    /* The code page is ours: the guest program, at address 0. An incoming
     * migration brings the same bytes (and the stack) back. */
    memcpy(ram, vmm_demo_guest, vmm_demo_guest_len);
    *out = k;
    return 0;
}

void vmm_kvm_free(vmm_kvm_t *k)
{
    if (!k)
        return;
    if (k->run)
        munmap(k->run, k->run_size);
    if (k->vcpu_fd >= 0)
        close(k->vcpu_fd);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->sys_fd >= 0)
        close(k->sys_fd);
    free(k->log);
    free(k);
}

#else /* no guest program for this host */

int vmm_kvm_new(void *ram, uint64_t ram_size, vmm_cpu_state_t *st, vmm_serial_t *serial,
                vmm_kvm_t **out, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "KVM: this build has no guest program (x86-64 hosts only)");
    return -ENOTSUP;
}

void vmm_kvm_free(vmm_kvm_t *k)
{
}

const vmm_vcpu_backend_t vmm_kvm_backend = { 0 };
const vmig_dirty_log_ops_t vmm_kvm_log_ops = { 0 };

#endif
