/* vmm_sim.c — the simulated vCPU: a host thread doing what the guest program
 * (guest/demo_guest.S) does, on plain memory with the engine's dirty bitmap,
 * keeping its position in the same registers. */
#include "vmm_demo.h"

static int sim_run(void *be, unsigned *pages)
{
    vmm_sim_t *sim = be;
    uint64_t *r = sim->st->regs;
    /* The loaded state was checked (vmm_cpu.c): first..end lies in RAM. */
    if (r[VMM_REG_RBX] <= r[VMM_REG_RDI])
        return VMM_EXIT_HALT;
    unsigned n = 0;
    while (n < VMM_DEMO_CHUNK) {
        uint64_t pos = r[VMM_REG_RSI];
        if (pos >= r[VMM_REG_RBX]) {
            /* End of a pass: back to the first page, one byte on the serial port. */
            r[VMM_REG_RSI] = r[VMM_REG_RDI];
            r[VMM_REG_RBP] = (uint32_t)(r[VMM_REG_RBP] + 1);
            vmm_serial_out(sim->serial, (uint8_t)('0' + r[VMM_REG_RBP] % 10));
            continue;
        }
        /* The guest's write, then its trace in the dirty log, in that order:
         * a page copied after the mark carries this value. */
        sim->ram[pos]++;
        vmig_ram_block_mark_dirty(sim->block, pos, 1);
        r[VMM_REG_RSI] = pos + VMM_DEMO_PAGE;
        n++;
    }
    *pages = n;
    return VMM_EXIT_PAGES;
}

/* Nothing to interrupt: a run lasts CHUNK pages, microseconds. */
static void sim_kick(void *be, pthread_t tid)
{
}

/* The registers live in the shared state already. */
static int sim_sync(void *be)
{
    return 0;
}

const vmm_vcpu_backend_t vmm_sim_backend = {
    .run = sim_run,
    .kick = sim_kick,
    .park = sim_sync,
    .unpark = sim_sync,
};
