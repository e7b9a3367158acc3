/* fuzz_ram.c — libFuzzer harness of the RAM loader (src/ram/ram_load.c)
 * behind vmig_savevm_load() over a memory channel: block lists, page records
 * of every flag combination, CONTINUE, offsets, truncations.
 *
 * The VM is a `-M none` one as QEMU 7.2 numbers its sections (timer 0, block
 * 1 and dirty-bitmap 3 inactive, ram 2 (the real handler), globalstate 4),
 * so real QEMU streams load to the end. Its RAM, each block between
 * inaccessible guard pages so that a write outside a block crashes even
 * without a sanitizer:
 *   mem      1 MiB, 4 KiB pages (the block of QEMU's -M none seeds)
 *   pc.bios  16 KiB
 *   huge     128 KiB backed by 64 KiB pages: with postcopy advised (always
 *            set here) its block-list entry carries a page size
 * A stream whose first 512 bytes name "x-ignore-shared" is loaded by a VM
 * with that capability, "mem" being shared (listed with an address, never
 * sent).
 *
 * Checked on every input: the result agrees with the stream's sticky error
 * (negative exactly when an error is kept, the same code), the message is a
 * NUL-terminated string shorter than VMIG_ERROR_MSG_MAX, the RAM is no longer
 * busy afterwards, and everything is freed (LeakSanitizer).
 *
 * Seeds (fuzz/corpus/fuzz_ram/): qemu-* are the real QEMU 7.2 streams of
 * fuzz/corpus/fuzz_stream/ (zero, mixed, compress, x-ignore-shared);
 * vmig-* were written by vmig's own saver for this VM (all three blocks,
 * zero and data pages, a re-dirtied completion round); bad-* are those with
 * one field broken per file (unknown block, length, offset, flags, version,
 * CONTINUE first, XBZRLE, RDMA hook, page size, a cut page). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "channel/channel.h"
#include "migration/mig_internal.h"
#include "ram/ram.h"
#include "savevm/savevm.h"
#include "stream/stream.h"
#include "vmstate/vmstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PAGE 4096u

/* ---- devices ------------------------------------------------------------------------ */

static bool fz_never(void *opaque)
{
    return false;
}
static const vmig_savevm_ops_t fz_inactive_ops = {.is_active = fz_never};

/* ---- guest memory ------------------------------------------------------------------- */

/* One block's memory between guard pages. */
typedef struct fz_mem {
    uint8_t *map;  /* the mapping, guards included */
    size_t maplen; /* its length */
    uint8_t *p;    /* the block's memory, aligned to its page size */
} fz_mem_t;

static bool fz_map(fz_mem_t *m, size_t len, size_t align)
{
    m->maplen = len + align + 2 * FZ_PAGE;
    m->map = mmap(NULL, m->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return false;
    }
    m->p = (uint8_t *)(((uintptr_t)m->map + FZ_PAGE + align - 1) & ~(uintptr_t)(align - 1));
    uint8_t *end = m->p + len;
    if (mprotect(m->map, (size_t)(m->p - m->map), PROT_NONE) != 0 ||
        mprotect(end, (size_t)(m->map + m->maplen - end), PROT_NONE) != 0)
        __builtin_trap();
    return true;
}

static void fz_unmap(fz_mem_t *m)
{
    if (m->map)
        munmap(m->map, m->maplen);
}

/* ---- the VM ------------------------------------------------------------------------- */

static const struct {
    const char *name; /* idstr */
    size_t len;       /* bytes */
    size_t page_size; /* backing pages */
} fz_blocks[] = {
    {"mem", 1u << 20, FZ_PAGE},
    {"pc.bios", 16u << 10, FZ_PAGE},
    {"huge", 128u << 10, 64u << 10},
};
#define FZ_NBLOCKS (sizeof(fz_blocks) / sizeof(fz_blocks[0]))

typedef struct fz_vm {
    vmig_savevm_t *sv;          /* the registry */
    vmig_ram_t *ram;            /* its RAM */
    fz_mem_t mem[FZ_NBLOCKS];   /* block memory */
    mig_timers_t timers;        /* timer state */
    mig_globalstate_t gs;       /* globalstate state */
} fz_vm_t;

static void fz_vm_free(fz_vm_t *vm)
{
    vmig_savevm_free(vm->sv);
    vmig_ram_free(vm->ram);
    for (size_t i = 0; i < FZ_NBLOCKS; i++)
        fz_unmap(&vm->mem[i]);
    free(vm);
}

static fz_vm_t *fz_vm_new(bool ignore_shared)
{
    fz_vm_t *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->sv = vmig_savevm_new();
    vm->ram = vmig_ram_new();
    if (!vm->sv || !vm->ram) {
        fz_vm_free(vm);
        return NULL;
    }
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.x_ignore_shared = ignore_shared;
    if (vmig_savevm_set_config(vm->sv, &cfg) != 0 ||
        vmig_savevm_register_vmsd(vm->sv, "timer", 0, &mig_timer_vmsd, &vm->timers) != 0 ||
        vmig_savevm_register_handler(vm->sv, "block", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                     &fz_inactive_ops, NULL) != 1 ||
        vmig_ram_register(vm->ram, vm->sv) != 2 ||
        vmig_savevm_register_handler(vm->sv, "dirty-bitmap", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                     &fz_inactive_ops, NULL) != 3 ||
        vmig_savevm_register_vmsd(vm->sv, "globalstate", 0, &mig_globalstate_vmsd, &vm->gs) != 4) {
        fz_vm_free(vm);
        return NULL;
    }
    for (size_t i = 0; i < FZ_NBLOCKS; i++) {
        if (!fz_map(&vm->mem[i], fz_blocks[i].len, fz_blocks[i].page_size)) {
            fz_vm_free(vm);
            return NULL;
        }
        vmig_ram_block_opts_t o = {
            .name = fz_blocks[i].name,
            .host = vm->mem[i].p,
            .length = fz_blocks[i].len,
            .page_size = fz_blocks[i].page_size,
            .shared = i == 0,
        };
        if (vmig_ram_add(vm->ram, &o, NULL) != 0)
            __builtin_trap();
    }
    vmig_ram_set_load_postcopy(vm->ram, true);
    return vm;
}

/* ---- the harness ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    static const char cap[] = "x-ignore-shared";
    bool ignore_shared = memmem(data, size < 512 ? size : 512, cap, sizeof(cap) - 1) != NULL;
    fz_vm_t *vm = fz_vm_new(ignore_shared);
    vmig_channel_t *ch = vm ? vmig_channel_memory_reader(size ? data : empty, size, false) : NULL;
    vmig_stream_t *s = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!s) {
        if (ch)
            vmig_channel_close(ch);
        if (vm)
            fz_vm_free(vm);
        return 0;
    }

    int r = vmig_savevm_load(vm->sv, s);
    if (r == VMIG_SAVEVM_LOAD_QUIT)
        __builtin_trap(); /* no command hook: nothing can hand the stream over */

    int err = vmig_stream_error(s);
    const char *msg = vmig_stream_error_msg(s);
    if (r > 0)
        __builtin_trap(); /* not a documented result */
    if ((r < 0) != (err < 0) || (r < 0 && r != err))
        __builtin_trap(); /* the result is not the kept error */
    if (!msg || strlen(msg) >= VMIG_ERROR_MSG_MAX || (err < 0) != (msg[0] != '\0'))
        __builtin_trap(); /* an error without a message, or a message without one */
    if (vmig_ram_busy(vm->ram))
        __builtin_trap(); /* load_cleanup did not release the blocks */

    vmig_stream_free(s);
    fz_vm_free(vm);
    return 0;
}
