/* vmm_cpu.c — the demo machine's vCPU state: its power-on values and the
 * "cpu" section that carries it, checked before a vCPU ever runs it. */
#include <stddef.h>
#include <string.h>

#include "vmm_demo.h"

static vmm_cpu_seg_t flat_seg(uint16_t selector, uint8_t type)
{
    /* Base 0, 4 GiB, 32-bit: all a guest without a GDT needs. */
    return (vmm_cpu_seg_t){ .base = 0, .limit = 0xffffffffu, .selector = selector,
                            .type = type, .present = 1, .dpl = 0, .db = 1, .s = 1,
                            .l = 0, .g = 1, .avl = 0 };
}

void vmm_cpu_state_init(vmm_cpu_state_t *st, vmm_accel_t accel, uint64_t ram_size, bool walk)
{
    memset(st, 0, sizeof(*st));
    st->accel = (uint32_t)accel;
    st->ram_size = ram_size;
    st->regs[VMM_REG_RIP] = 0;
    st->regs[VMM_REG_RFLAGS] = 0x2; /* bit 1 is always set; IF clear: no interrupts */
    st->regs[VMM_REG_RSP] = VMM_DEMO_FIRST_PAGE;
    st->regs[VMM_REG_RDI] = VMM_DEMO_FIRST_PAGE;
    st->regs[VMM_REG_RSI] = VMM_DEMO_FIRST_PAGE;
    /* An empty walk is the guest's "idle". */
    st->regs[VMM_REG_RBX] = walk ? ram_size : VMM_DEMO_FIRST_PAGE;
    st->regs[VMM_REG_RCX] = VMM_DEMO_CHUNK;
    st->seg[VMM_SEG_CS] = flat_seg(0x08, 0xb); /* execute/read, accessed */
    for (int i = VMM_SEG_DS; i < VMM_NSEGS; i++)
        st->seg[i] = flat_seg(0x10, 0x3); /* read/write, accessed */
    st->cr0 = 0x11; /* PE, and ET as hardware sets it */
}

static int cpu_pre_save(void *opaque)
{
    vmm_cpu_state_t *st = opaque;
    st->wire_accel = st->accel;
    return 0;
}

/* Loaded registers drive a walker that writes guest RAM (the simulated one
 * with plain host pointers): they must describe a walk of this RAM. */
static bool cpu_state_valid(void *opaque, int version_id)
{
    vmm_cpu_state_t *st = opaque;
    uint64_t first = st->regs[VMM_REG_RDI], end = st->regs[VMM_REG_RBX];
    uint64_t pos = st->regs[VMM_REG_RSI];
    if (st->wire_accel != st->accel)
        return false; /* a KVM vCPU stops mid-instruction stream, sim between pages */
    if (first != VMM_DEMO_FIRST_PAGE || (end != first && end != st->ram_size))
        return false;
    return pos >= first && pos <= end && pos % VMM_DEMO_PAGE == 0 &&
           st->regs[VMM_REG_RCX] >= 1 && st->regs[VMM_REG_RCX] <= VMM_DEMO_CHUNK;
}

static const vmig_vmsd_field_t cpu_seg_fields[] = {
    VMIG_VMSTATE_UINT64(base, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT32(limit, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT16(selector, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(type, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(present, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(dpl, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(db, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(s, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(l, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(g, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT8(avl, vmm_cpu_seg_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t cpu_seg_vmsd = {
    .name = "cpu/segment",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = cpu_seg_fields,
};

static const vmig_vmsd_field_t cpu_fields[] = {
    VMIG_VMSTATE_UINT32(wire_accel, vmm_cpu_state_t),
    VMIG_VMSTATE_UINT64_ARRAY(regs, vmm_cpu_state_t, VMM_NREGS),
    VMIG_VMSTATE_STRUCT_ARRAY(seg, vmm_cpu_state_t, VMM_NSEGS, 1, cpu_seg_vmsd, vmm_cpu_seg_t),
    VMIG_VMSTATE_UINT64(cr0, vmm_cpu_state_t),
    VMIG_VMSTATE_UINT64(cr3, vmm_cpu_state_t),
    VMIG_VMSTATE_UINT64(cr4, vmm_cpu_state_t),
    VMIG_VMSTATE_UINT64(efer, vmm_cpu_state_t),
    VMIG_VMSTATE_VALIDATE("walk of this RAM, same accel", cpu_state_valid),
    VMIG_VMSTATE_END_OF_LIST(),
};

const vmig_vmsd_t vmm_cpu_vmsd = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = cpu_pre_save,
    .fields = cpu_fields,
};
