/* mig_devices.c — the two sections QEMU's migration core itself adds to
 * every stream: "timer" (clock offsets) and "globalstate" (the run state the
 * source had, which decides whether the destination starts the VM). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "migration/mig_internal.h"
#include "ram/ram.h"
#include "vmstate/vmstate.h"

/* size counts the name and its NUL; the buffer always goes whole. */
static int globalstate_pre_save(void *opaque)
{
    mig_globalstate_t *g = opaque;
    g->size = (uint32_t)strnlen((const char *)g->runstate, sizeof(g->runstate) - 1) + 1;
    return 0;
}

/* The name must end inside the buffer where size says; an unknown name is
 * refused later, when the destination decides what to do with it. */
static int globalstate_post_load(void *opaque, int version_id)
{
    mig_globalstate_t *g = opaque;
    (void)version_id;
    if (g->size == 0 || g->size > sizeof(g->runstate) || g->runstate[g->size - 1] != 0)
        return -EINVAL;
    g->received = true;
    return 0;
}

static const vmig_vmsd_field_t globalstate_fields[] = {
    VMIG_VMSTATE_UINT32(size, mig_globalstate_t),
    VMIG_VMSTATE_BUFFER(runstate, mig_globalstate_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

const vmig_vmsd_t mig_globalstate_vmsd = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = globalstate_pre_save,
    .post_load = globalstate_post_load,
    .fields = globalstate_fields,
};

/* QEMU 7.2's vmstate_timers: two offsets around 8 bytes once used for the
 * old clock; version 2, accepts 1. */
static const vmig_vmsd_field_t timer_fields[] = {
    VMIG_VMSTATE_INT64(cpu_ticks_offset, mig_timers_t),
    VMIG_VMSTATE_UNUSED(8),
    VMIG_VMSTATE_INT64_V(cpu_clock_offset, mig_timers_t, 2),
    VMIG_VMSTATE_END_OF_LIST(),
};

const vmig_vmsd_t mig_timer_vmsd = {
    .name = "timer",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = timer_fields,
};

void mig_globalstate_store(vmig_migration_t *m, vmig_run_state_t st)
{
    memset(m->gs.runstate, 0, sizeof(m->gs.runstate));
    snprintf((char *)m->gs.runstate, sizeof(m->gs.runstate), "%s", vmig_run_state_name(st));
}

/* QEMU -M none numbers timer 0, ram 2 and globalstate 4 (the ids between
 * go to handlers vmig does not have): the same ids here make the
 * streams identical, and QEMU's loader relies on ram not being 0. */
int mig_devices_register(vmig_migration_t *m)
{
    vmig_savevm_t *sv = m->e->savevm;
    mig_globalstate_store(m, VMIG_RUN_STATE_PRELAUNCH);
    int r = vmig_savevm_register_vmsd(sv, "timer", 0, &mig_timer_vmsd, &m->timers);
    if (r >= 0) {
        vmig_savevm_skip_section_ids(sv, 1);
        r = vmig_ram_register(m->e->ram, sv);
    }
    if (r >= 0) {
        vmig_savevm_skip_section_ids(sv, 1);
        r = vmig_savevm_register_vmsd(sv, "globalstate", 0, &mig_globalstate_vmsd, &m->gs);
    }
    return r < 0 ? r : 0;
}
