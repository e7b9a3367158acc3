/* fuzz_savevm.c — libFuzzer harness of the destination loader
 * vmig_savevm_load() over a memory channel: header and configuration checks,
 * the section loop with its footers, commands (return path, PING, PACKAGED,
 * the postcopy ones through a command hook) and the vmdesc trailer skip.
 *
 * The registry is a `-M none`-like VM: machine "none", default configuration
 * (footers on, 12 page bits, no capabilities), and QEMU's section ids
 *   0 timer v2        vmstate: int64 cpu_ticks_offset, 8 unused, int64
 *                     cpu_clock_offset (since v2)
 *   1 block v1        inactive placeholder without a load hook
 *   2 ram v4          iterative TEST handler (see below)
 *   3 dirty-bitmap v1 inactive placeholder without a load hook
 *   4 globalstate v1  vmstate: uint32 size + 100-byte runstate; post_load
 *                     wants size <= 100 and a NUL inside the buffer
 *
 * "ram" here is NOT vmig's RAM loader (the real one arrives later): it reads
 * a bounded miniature of RAM's record format so that START/PART/END
 * sections, their footers and section-id lookups are covered. Real QEMU
 * streams (the qemu-* seeds) therefore fail at their first ram section, if
 * not earlier (x-ignore-shared is off here).
 * Each section body is be64 records, addr | flags with a 64-byte page:
 *   0x10 EOS          ends the body (addr must be 0)
 *   addr | 0x02 FILL  one byte follows: the page is filled with it
 *   addr | 0x08 PAGE  64 bytes follow: the page contents
 * into 1 KiB of test memory (addr + 64 <= 1024); anything else, a FULL
 * section or a version other than 4 is an error.
 *
 * Checked on every input: the result agrees with the stream's sticky error
 * (negative exactly when an error is kept, and the same code), the message is
 * a NUL-terminated string shorter than VMIG_ERROR_MSG_MAX, hooks are only
 * called as promised (PING after a successful OPEN_RETURN_PATH, command
 * lengths as in stream.md §8), load_setup and load_cleanup pair up, and
 * everything is freed (LeakSanitizer).
 *
 * Seeds: fuzz/corpus/fuzz_savevm/, written by fuzz/gen_savevm_corpus.py
 * (plus qemu-* copied from fuzz/corpus/fuzz_stream/). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "savevm/savevm.h"
#include "stream/stream.h"
#include "vmstate/vmstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- devices ------------------------------------------------------------------------ */

/* QEMU's timers_state as migrated: version 2. */
typedef struct fz_timers {
    int64_t cpu_ticks_offset; /* guest ticks offset */
    int64_t cpu_clock_offset; /* guest clock offset (since v2) */
} fz_timers_t;

static const vmig_vmsd_field_t fz_timer_fields[] = {
    VMIG_VMSTATE_INT64(cpu_ticks_offset, fz_timers_t),
    VMIG_VMSTATE_UNUSED(8),
    VMIG_VMSTATE_INT64_V(cpu_clock_offset, fz_timers_t, 2),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_timer_vmsd = {
    .name = "timer", .version_id = 2, .minimum_version_id = 1, .fields = fz_timer_fields,
};

/* QEMU's globalstate: the run state name in a 100-byte buffer. */
typedef struct fz_globalstate {
    uint32_t size;         /* strlen(runstate) + 1 */
    uint8_t runstate[100]; /* NUL-padded name */
} fz_globalstate_t;

static int fz_globalstate_post_load(void *opaque, int version_id)
{
    fz_globalstate_t *g = opaque;
    if (g->size > sizeof(g->runstate) ||
        strnlen((const char *)g->runstate, sizeof(g->runstate)) == sizeof(g->runstate))
        return -EINVAL;
    return 0;
}

static const vmig_vmsd_field_t fz_globalstate_fields[] = {
    VMIG_VMSTATE_UINT32(size, fz_globalstate_t),
    VMIG_VMSTATE_BUFFER(runstate, fz_globalstate_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_globalstate_vmsd = {
    .name = "globalstate",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = fz_globalstate_post_load,
    .fields = fz_globalstate_fields,
};

/* ---- the test "ram" handler ------------------------------------------------------------ */

#define FZ_RAM_VERSION 4
#define FZ_PAGE 64u
#define FZ_RAM_SIZE 1024u
#define FZ_FLAG_FILL 0x02u
#define FZ_FLAG_PAGE 0x08u
#define FZ_FLAG_EOS 0x10u

typedef struct fz_ram {
    uint8_t mem[FZ_RAM_SIZE]; /* the test memory */
    unsigned setups;          /* load_setup calls */
    unsigned cleanups;        /* load_cleanup calls */
    unsigned sections;        /* section bodies loaded to their EOS */
} fz_ram_t;

static int fz_ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int section_type)
{
    fz_ram_t *ram = opaque;
    if (section_type != VMIG_VM_SECTION_START && section_type != VMIG_VM_SECTION_PART &&
        section_type != VMIG_VM_SECTION_END)
        return vmig_stream_set_error(s, -EINVAL, "ram: section type %d not supported",
                                     section_type);
    if (version_id != FZ_RAM_VERSION)
        return vmig_stream_set_error(s, -EINVAL, "ram: version %u not supported",
                                     (unsigned)version_id);
    if (ram->setups != 1)
        __builtin_trap(); /* a section before (or without) load_setup */
    for (;;) {
        uint64_t rec = vmig_stream_get_be64(s);
        int r = vmig_stream_error(s);
        if (r)
            return r;
        uint64_t flags = rec & (FZ_PAGE - 1), addr = rec & ~(uint64_t)(FZ_PAGE - 1);
        if (rec == FZ_FLAG_EOS) {
            ram->sections++;
            return 0;
        }
        if ((flags != FZ_FLAG_FILL && flags != FZ_FLAG_PAGE) || addr > FZ_RAM_SIZE - FZ_PAGE)
            return vmig_stream_set_error(s, -EINVAL, "ram: bad record 0x%llx",
                                         (unsigned long long)rec);
        if (flags == FZ_FLAG_FILL) {
            uint8_t byte = vmig_stream_get_u8(s);
            if ((r = vmig_stream_error(s)) != 0)
                return r;
            memset(ram->mem + addr, byte, FZ_PAGE);
        } else if ((r = vmig_stream_get_buffer(s, ram->mem + addr, FZ_PAGE)) < 0) {
            return r;
        }
    }
}

static int fz_ram_load_setup(vmig_stream_t *s, void *opaque)
{
    fz_ram_t *ram = opaque;
    ram->setups++;
    return 0;
}

static int fz_ram_load_cleanup(void *opaque)
{
    fz_ram_t *ram = opaque;
    ram->cleanups++;
    return 0;
}

static const vmig_savevm_ops_t fz_ram_ops = {
    .load = fz_ram_load,
    .load_setup = fz_ram_load_setup,
    .load_cleanup = fz_ram_load_cleanup,
};

/* block and dirty-bitmap: registered (for the section ids) but never active. */
static bool fz_never(void *opaque)
{
    return false;
}
static const vmig_savevm_ops_t fz_inactive_ops = {.is_active = fz_never};

/* ---- load hooks ------------------------------------------------------------------------- */

typedef struct fz_hooks_state {
    bool rp_open;    /* open_return_path said yes */
    unsigned pings;  /* ping calls */
    unsigned warns;  /* warn calls */
} fz_hooks_state_t;

static int fz_open_return_path(void *opaque)
{
    fz_hooks_state_t *h = opaque;
    if (h->rp_open)
        __builtin_trap(); /* a second open must only warn */
    h->rp_open = true;
    return 0;
}

/* Answers every PING but 0, which fails as a broken return path would. */
static int fz_ping(void *opaque, uint32_t value)
{
    fz_hooks_state_t *h = opaque;
    if (!h->rp_open)
        __builtin_trap(); /* PING without a return path must fail before the hook */
    h->pings++;
    return value == 0 ? -EPIPE : 0;
}

/* ADVISE, LISTEN, DISCARD, RESUME and RECV_BITMAP are accepted; RUN hands
 * the stream over as postcopy does (QEMU's LOADVM_QUIT: the load loop ends,
 * also from inside a package); ENABLE_COLO fails without a message so the
 * loader has to supply one. */
static int fz_command(void *opaque, vmig_stream_t *s, unsigned cmd, const uint8_t *data,
                      size_t len)
{
    switch (cmd) {
    case VMIG_CMD_POSTCOPY_ADVISE:
        if (len != 0 && len != 16)
            __builtin_trap();
        return 0;
    case VMIG_CMD_POSTCOPY_LISTEN:
    case VMIG_CMD_POSTCOPY_RESUME:
        if (len != 0)
            __builtin_trap();
        return 0;
    case VMIG_CMD_POSTCOPY_RUN:
        if (len != 0)
            __builtin_trap();
        return VMIG_SAVEVM_LOAD_QUIT;
    case VMIG_CMD_ENABLE_COLO:
        if (len != 0)
            __builtin_trap();
        return -ENOTSUP;
    case VMIG_CMD_POSTCOPY_RAM_DISCARD:
    case VMIG_CMD_RECV_BITMAP:
        if (len && !data)
            __builtin_trap();
        if (len) {
            volatile uint8_t last = data[len - 1]; /* the data is readable */
            (void)last;
        }
        return 0;
    default:
        __builtin_trap(); /* INVALID, unknown, or one the loader handles itself */
    }
}

static void fz_warn(void *opaque, const char *msg)
{
    fz_hooks_state_t *h = opaque;
    if (!msg || strlen(msg) >= VMIG_ERROR_MSG_MAX)
        __builtin_trap();
    h->warns++;
}

/* ---- the harness ------------------------------------------------------------------------ */

typedef struct fz_vm {
    fz_timers_t timers;
    fz_globalstate_t gs;
    fz_ram_t ram;
    fz_hooks_state_t hooks;
} fz_vm_t;

/* The -M none-like registry over vm; NULL on failure. */
static vmig_savevm_t *fz_registry(fz_vm_t *vm)
{
    vmig_savevm_t *sv = vmig_savevm_new();
    if (!sv)
        return NULL;
    vmig_savevm_load_hooks_t hooks = {
        .opaque = &vm->hooks,
        .open_return_path = fz_open_return_path,
        .ping = fz_ping,
        .command = fz_command,
        .warn = fz_warn,
    };
    vmig_savevm_set_load_hooks(sv, &hooks);
    if (vmig_savevm_register_vmsd(sv, "timer", 0, &fz_timer_vmsd, &vm->timers) != 0 ||
        vmig_savevm_register_handler(sv, "block", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                     &fz_inactive_ops, NULL) != 1 ||
        vmig_savevm_register_handler(sv, "ram", 0, FZ_RAM_VERSION, VMIG_SAVEVM_PRI_DEFAULT,
                                     &fz_ram_ops, &vm->ram) != 2 ||
        vmig_savevm_register_handler(sv, "dirty-bitmap", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                     &fz_inactive_ops, NULL) != 3 ||
        vmig_savevm_register_vmsd(sv, "globalstate", 0, &fz_globalstate_vmsd, &vm->gs) != 4) {
        vmig_savevm_free(sv);
        return NULL;
    }
    return sv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    fz_vm_t *vm = calloc(1, sizeof(*vm));
    vmig_savevm_t *sv = vm ? fz_registry(vm) : NULL;
    vmig_channel_t *ch = sv ? vmig_channel_memory_reader(size ? data : empty, size, false) : NULL;
    vmig_stream_t *s = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!s) {
        if (ch)
            vmig_channel_close(ch);
        vmig_savevm_free(sv);
        free(vm);
        return 0;
    }

    int r = vmig_savevm_load(sv, s);
    /* A command handed the stream over: the caller cleans up. */
    if (r == VMIG_SAVEVM_LOAD_QUIT)
        vmig_savevm_load_cleanup(sv);

    int err = vmig_stream_error(s);
    const char *msg = vmig_stream_error_msg(s);
    if (r != 0 && r != VMIG_SAVEVM_LOAD_QUIT && r >= 0)
        __builtin_trap(); /* not a documented result */
    if ((r < 0) != (err < 0) || (r < 0 && r != err))
        __builtin_trap(); /* the result is not the kept error */
    if (!msg || strlen(msg) >= VMIG_ERROR_MSG_MAX || (err < 0) != (msg[0] != '\0'))
        __builtin_trap(); /* an error without a message, or a message without one */
    if (vm->ram.setups > 1 || vm->ram.cleanups != vm->ram.setups)
        __builtin_trap(); /* load_setup and load_cleanup do not pair up */
    if (vm->hooks.pings && !vm->hooks.rp_open)
        __builtin_trap();

    vmig_stream_free(s);
    vmig_savevm_free(sv);
    free(vm);
    return 0;
}
