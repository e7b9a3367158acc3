/* test_qemu_streams.c — real QEMU 7.2 `-M none` streams (the seeds in
 * fuzz/corpus/fuzz_stream/, made by scripts/make-seed-corpus.sh) through the
 * RAM loader: zero and mixed RAM arrive exactly (the mixed contents' FNV-1a
 * is the one of the script's file), x-ignore-shared is accepted, a compress
 * stream is refused without the capability and loaded with it (and what
 * vmig saves from it with compress loads back the same); and saving what was loaded gives back QEMU's bytes,
 * section ids, RAM records, devices and vmdesc trailer included. Skipped when
 * the seeds are not there. */
#include "ram_test.h"

#include <libgen.h>
#include <string.h>

#include "migration/mig_internal.h"
#include "vmstate/vmstate.h"

#define NPAGES 256 /* the streams carry 1 MiB of RAM in block "mem" */
/* FNV-1a of mixed.ram: Python's random.Random(7), page i random if i % 21 == 5. */
#define MIXED_FNV 0xa92bfe1a18fe7255ull

static bool never(void *opaque)
{
    return false;
}
static const vmig_savevm_ops_t inactive_ops = {.is_active = never};

/* A -M none VM as QEMU 7.2 numbers its sections: timer 0, block 1
 * (inactive), ram 2, dirty-bitmap 3 (inactive), globalstate 4. */
typedef struct none_vm {
    vmig_savevm_t *sv;    /* the registry */
    vmig_ram_t *ram;      /* RAM with "mem" */
    rt_mem_t mem;         /* its memory */
    vmig_ram_block_t *blk; /* "mem" */
    mig_timers_t timers;  /* timer state */
    mig_globalstate_t gs; /* globalstate state */
} none_vm_t;

static void none_vm_init(none_vm_t *vm, bool ignore_shared, bool shared)
{
    memset(vm, 0, sizeof(*vm));
    vm->sv = vmig_savevm_new();
    vm->ram = vmig_ram_new();
    assert_non_null(vm->sv);
    assert_non_null(vm->ram);
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.x_ignore_shared = ignore_shared;
    assert_int_equal(vmig_savevm_set_config(vm->sv, &cfg), 0);
    assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "timer", 0, &mig_timer_vmsd, &vm->timers), 0);
    assert_int_equal(vmig_savevm_register_handler(vm->sv, "block", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                                  &inactive_ops, NULL),
                     1);
    assert_int_equal(vmig_ram_register(vm->ram, vm->sv), 2);
    assert_int_equal(vmig_savevm_register_handler(vm->sv, "dirty-bitmap", 0, 1,
                                                  VMIG_SAVEVM_PRI_DEFAULT, &inactive_ops, NULL),
                     3);
    assert_int_equal(
        vmig_savevm_register_vmsd(vm->sv, "globalstate", 0, &mig_globalstate_vmsd, &vm->gs), 4);
    uint8_t *p = rt_map(&vm->mem, NPAGES * PS, PS);
    memset(p, 0xff, NPAGES * PS);
    vmig_ram_block_opts_t o = {.name = "mem", .host = p, .length = NPAGES * PS, .shared = shared};
    assert_int_equal(vmig_ram_add(vm->ram, &o, &vm->blk), 0);
}

static void none_vm_free(none_vm_t *vm)
{
    vmig_savevm_free(vm->sv);
    vmig_ram_free(vm->ram);
    rt_unmap(&vm->mem);
}

/* The seed's bytes (free()), or NULL when it is not there. */
static uint8_t *read_seed(const char *name, size_t *len)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", __FILE__);
    char path[4200];
    snprintf(path, sizeof(path), "%s/../../fuzz/corpus/fuzz_stream/%s", dirname(dir), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

#define SEED_OR_SKIP(name, len)                                                 \
    uint8_t *seed = read_seed(name, &len);                                      \
    if (!seed) {                                                                \
        print_message("ram: seed %s not found, skipped\n", name);               \
        skip();                                                                 \
    }

/* Save vm as the QEMU source did: the VM was stopped before the migration,
 * the threshold is 0 in the first 100 ms, so iterations run while anything
 * is pending (one sends it all) and the completion round is empty. */
static uint8_t *save_again(none_vm_t *vm, size_t *len)
{
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_savevm_write_header(vm->sv, s), 0);
    assert_int_equal(vmig_savevm_setup(vm->sv, s), 0);
    for (;;) {
        uint64_t pre = 0, compat = 0, post = 0;
        vmig_savevm_pending(vm->sv, 0, &pre, &compat, &post);
        if (pre + compat + post == 0)
            break;
        assert_int_equal(vmig_savevm_iterate(vm->sv, s, false), 1);
    }
    assert_int_equal(vmig_savevm_complete_precopy(vm->sv, s), 0);
    vmig_savevm_save_cleanup(vm->sv);
    uint8_t *out = vt_written_copy(s, len);
    vmig_stream_free(s);
    return out;
}

static void load_and_resave(const char *name, uint64_t want_fnv)
{
    size_t len;
    SEED_OR_SKIP(name, len);
    none_vm_t vm;
    none_vm_init(&vm, false, false);
    char msg[VMIG_ERROR_MSG_MAX];
    rt_vm_t rv = {vm.sv, vm.ram};
    assert_int_equal(rt_load(&rv, seed, len, msg), 0);
    assert_string_equal(msg, "");
    assert_int_equal(vt_fnv(VT_FNV_INIT, vm.mem.p, NPAGES * PS), want_fnv);
    assert_string_equal((const char *)vm.gs.runstate, "paused");

    size_t olen;
    uint8_t *out = save_again(&vm, &olen);
    vt_assert_bytes(out, olen, seed, len);
    free(out);
    free(seed);
    none_vm_free(&vm);
}

static void test_zero(void **state)
{
    uint8_t zero[PS] = {0};
    uint64_t h = VT_FNV_INIT;
    for (unsigned i = 0; i < NPAGES; i++)
        h = vt_fnv(h, zero, PS);
    load_and_resave("none-zero-1m", h);
}

static void test_mixed(void **state)
{
    load_and_resave("none-mixed-1m", MIXED_FNV);
}

/* x-ignore-shared: the block list carries the address, no page follows; the
 * shared block keeps what it has. */
static void test_ignore_shared(void **state)
{
    size_t len;
    SEED_OR_SKIP("none-ignore-shared", len);
    for (int shared = 0; shared < 2; shared++) {
        none_vm_t vm;
        none_vm_init(&vm, true, shared);
        rt_vm_t rv = {vm.sv, vm.ram};
        char msg[VMIG_ERROR_MSG_MAX];
        assert_int_equal(rt_load(&rv, seed, len, msg), 0);
        for (unsigned i = 0; i < NPAGES * PS; i++)
            if (vm.mem.p[i] != 0xff)
                fail_msg("byte %u written", i);
        if (shared) {
            /* And vmig's own x-ignore-shared stream is QEMU's. */
            size_t olen;
            uint8_t *out = save_again(&vm, &olen);
            assert_int_equal(vmig_ram_total(vm.ram), 0);
            vt_assert_bytes(out, olen, seed, len);
            free(out);
        }
        none_vm_free(&vm);
    }
    free(seed);
}

static void test_compress_refused(void **state)
{
    size_t len;
    SEED_OR_SKIP("none-compress-1m", len);
    none_vm_t vm;
    none_vm_init(&vm, false, false);
    rt_vm_t rv = {vm.sv, vm.ram};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&rv, seed, len, msg), -EINVAL);
    assert_string_equal(msg, "error while loading state section id 2(ram): Received an "
                             "unexpected compressed page");
    free(seed);
    none_vm_free(&vm);
}

/* With the compress capability on, QEMU's compress stream loads (COMPRESS_PAGE
 * records inflated in batches, here inline outside a coroutine) into the
 * script's pattern, and vmig's compress stream of it loads back the same. */
static void test_compress_loaded(void **state)
{
    size_t len;
    SEED_OR_SKIP("none-compress-1m", len);
    none_vm_t vm;
    none_vm_init(&vm, false, false);
    const vmig_ram_load_opts_t lo = {.compress = true, .decompress_threads = 2};
    vmig_ram_set_load_opts(vm.ram, &lo);
    rt_vm_t rv = {vm.sv, vm.ram};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(rt_load(&rv, seed, len, msg), 0);
    assert_string_equal(msg, "");
    for (unsigned i = 0; i < NPAGES; i++) {
        uint8_t want[PS];
        memset(want, 0, PS);
        if (i % 16 == 3)
            for (unsigned k = 0; k < PS; k += 4) {
                want[k] = (uint8_t)i;
                want[k + 1] = 0x55;
            }
        assert_memory_equal(vm.mem.p + (size_t)i * PS, want, PS);
    }
    vmig_ram_set_save_opts(vm.ram, &(vmig_ram_save_opts_t){.compress = true,
                                                           .compress_level = 1,
                                                           .compress_threads = 8,
                                                           .compress_wait_thread = true});
    size_t olen;
    uint8_t *out = save_again(&vm, &olen);
    /* QEMU's record order depends on its threads' timing (a zero page goes
     * ahead of the pages its threads hold): the bytes cannot match, the
     * memory a loader gets from them must. */
    none_vm_t back;
    none_vm_init(&back, false, false);
    vmig_ram_set_load_opts(back.ram, &lo);
    rt_vm_t rb = {back.sv, back.ram};
    assert_int_equal(rt_load(&rb, out, olen, msg), 0);
    assert_memory_equal(back.mem.p, vm.mem.p, NPAGES * PS);
    /* Its non-zero pages went compressed: 16 records of 8 + 4 + 0x31 bytes. */
    assert_true(memmem(out, olen, "\x00\x00\x00\x00\x00\x00\x31\x20\x00\x00\x00\x31", 12) != NULL);
    none_vm_free(&back);
    free(out);
    free(seed);
    none_vm_free(&vm);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_ignore_shared),
        cmocka_unit_test(test_compress_refused),
        cmocka_unit_test(test_compress_loaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
