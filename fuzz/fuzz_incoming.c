/* fuzz_incoming.c — libFuzzer harness for a whole incoming migration as the
 * demo VMM (vmig-vmm --machine demo) receives it: an engine with the demo
 * machine's 64 KiB RAM block "mem" and its devices "cpu" and "serial" (the
 * vmsds of src/tools/vmig-vmm), the input as the incoming stream, the loop
 * run until the load ends (capability compress on: every page kind is
 * accepted). A failed load must leave the VM stopped, with a
 * reason; a completed one a vCPU state that passed the device's checks. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uv.h>

#include "vmig/migration.h"
#include "vmig/ram.h"
#include "vmig/vmig.h"
#include "vmm_demo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (64u << 10)

static void closed(vmig_engine_t *e, void *arg)
{
    (void)e;
    *(bool *)arg = true;
}

static bool load_over(vmig_engine_t *e)
{
    vmig_migration_status_t st = vmig_engine_incoming_status(e);
    return st == VMIG_MIGRATION_STATUS_COMPLETED || st == VMIG_MIGRATION_STATUS_FAILED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One loop and one memory file for the whole run: the input reaches the
     * engine through file:/proc/self/fd/N, as an incoming stream. */
    static uv_loop_t loop;
    static int fd = -1;
    static char uri[64];
    if (fd < 0) {
        if (uv_loop_init(&loop) != 0 || (fd = memfd_create("fuzz_incoming", 0)) < 0)
            abort();
        snprintf(uri, sizeof(uri), "file:/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();

    uint8_t *ram = aligned_alloc(4096, RAM_SIZE); /* blocks are page-aligned */
    vmm_cpu_state_t *cpu = calloc(1, sizeof(*cpu));
    vmm_serial_t serial = { .fd = -1 };
    vmig_engine_t *e = NULL;
    vmig_engine_opts_t eo = { .name = "fuzz", .machine = "vmig-demo" };
    if (!ram || !cpu || vmig_engine_new(&loop, &eo, &e) < 0)
        abort();
    memset(ram, 0, RAM_SIZE);
    vmm_cpu_state_init(cpu, VMM_ACCEL_SIM, RAM_SIZE, true);
    vmig_ram_block_opts_t bo = { .name = "mem", .host = ram, .length = RAM_SIZE };
    vmig_ram_block_t *block;
    vmig_error_t err = { 0 };
    if (vmig_engine_ram_add(e, &bo, &block) < 0 ||
        vmig_engine_register_vmsd(e, "cpu", 0, &vmm_cpu_vmsd, cpu) < 0 ||
        vmig_engine_register_vmsd(e, "serial", 0, &vmm_serial_vmsd, &serial) < 0 ||
        /* A destination with compress on takes every page kind (normal,
         * zero, XBZRLE, compressed: the inflate pipeline on the pool). */
        vmig_engine_migrate_set_capability(e, "compress", true, &err) < 0 ||
        vmig_engine_incoming(e, uri, &err) < 0) {
        fprintf(stderr, "fuzz_incoming: cannot set up the destination: %s\n", err.msg);
        abort();
    }
    while (!load_over(e))
        uv_run(&loop, UV_RUN_ONCE);

    /* VMIG_FUZZ_VERBOSE=1: how each input ended (replaying a corpus). */
    if (getenv("VMIG_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_incoming: %s%s%s\n",
                vmig_migration_status_name(vmig_engine_incoming_status(e)),
                vmig_engine_incoming_error(e) ? ": " : "",
                vmig_engine_incoming_error(e) ? vmig_engine_incoming_error(e) : "");
    if (vmig_engine_incoming_status(e) == VMIG_MIGRATION_STATUS_FAILED) {
        const char *why = vmig_engine_incoming_error(e);
        if (vmig_engine_is_running(e) || !why || !why[0])
            __builtin_trap(); /* a partly loaded VM runs, or fails without a reason */
    } else if (cpu->regs[VMM_REG_RBX] != RAM_SIZE && cpu->regs[VMM_REG_RBX] != VMM_DEMO_FIRST_PAGE) {
        __builtin_trap(); /* the "cpu" section's VALIDATE was bypassed */
    }
    bool done = false;
    if (vmig_engine_close(e, closed, &done) < 0)
        abort();
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    free(cpu);
    free(ram);
    return 0;
}
