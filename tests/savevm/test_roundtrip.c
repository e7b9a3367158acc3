/* test_roundtrip.c — a whole precopy stream saved through a memory channel
 * and loaded into a second registry: an iterative RAM-like handler and
 * vmstate devices (one with a subsection, two instances) arrive intact. */
#include "savevm_test.h"

#define PAGE 4096
#define NPAGES 16
#define PAGES_PER_ROUND 5
#define PAGE_END 0xffffffffu

/* A RAM-like iterative handler: pages go out a few per PART section. */
typedef struct ram {
    uint8_t mem[NPAGES * PAGE]; /* the "guest memory" */
    uint32_t next;              /* source: next page to send */
    int setups, cleanups;       /* destination: load_setup / load_cleanup calls */
    int sections[5];            /* destination: sections loaded, by type */
} ram_t;

static int ram_save_setup(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_be32(s, NPAGES);
    return 0;
}

/* Pages [next, next + PAGES_PER_ROUND), each as be32 index + bytes. */
static int ram_save_iterate(vmig_stream_t *s, void *opaque)
{
    ram_t *r = opaque;
    for (int i = 0; i < PAGES_PER_ROUND && r->next < NPAGES; i++, r->next++) {
        vmig_stream_put_be32(s, r->next);
        vmig_stream_put_buffer(s, r->mem + (size_t)r->next * PAGE, PAGE);
    }
    vmig_stream_put_be32(s, PAGE_END);
    return r->next == NPAGES ? 1 : 0;
}

static int ram_save_complete(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_be32(s, PAGE_END);
    return 0;
}

static void ram_pending(void *opaque, uint64_t threshold, uint64_t *precopy_only,
                        uint64_t *compatible, uint64_t *postcopy_only)
{
    ram_t *r = opaque;
    *precopy_only += (uint64_t)(NPAGES - r->next) * PAGE;
}

static int ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int type)
{
    ram_t *r = opaque;
    r->sections[type]++;
    if (type == VMIG_VM_SECTION_START) {
        uint32_t n = vmig_stream_get_be32(s);
        if (!vmig_stream_error(s) && n != NPAGES)
            return vmig_stream_set_error(s, -EINVAL, "ram: %u pages, expected %d", n, NPAGES);
        return vmig_stream_error(s);
    }
    for (;;) {
        uint32_t idx = vmig_stream_get_be32(s);
        if (vmig_stream_error(s) || idx == PAGE_END)
            return vmig_stream_error(s);
        if (idx >= NPAGES)
            return vmig_stream_set_error(s, -EINVAL, "ram: page %u out of range", idx);
        int e = vmig_stream_get_buffer(s, r->mem + (size_t)idx * PAGE, PAGE);
        if (e < 0)
            return e;
    }
}

static int ram_load_setup(vmig_stream_t *s, void *opaque)
{
    ((ram_t *)opaque)->setups++;
    return 0;
}

static int ram_load_cleanup(void *opaque)
{
    ((ram_t *)opaque)->cleanups++;
    return 0;
}

static const vmig_savevm_ops_t ram_ops = {
    .save_setup = ram_save_setup, .save_iterate = ram_save_iterate,
    .save_complete = ram_save_complete, .pending = ram_pending, .load = ram_load,
    .load_setup = ram_load_setup, .load_cleanup = ram_load_cleanup,
};

/* A device with a variable array and an optional subsection. */
typedef struct serial {
    uint8_t a;                   /* plain byte */
    uint16_t b;                  /* since v2 */
    uint32_t cnt;                /* number of data elements */
    uint16_t data[8];            /* cnt of them */
    bool flag;                   /* subsection needed when set */
    vmig_vmstate_timer_t t;      /* in the subsection */
} serial_t;

static bool serial_extra_needed(void *opaque)
{
    return ((serial_t *)opaque)->flag;
}

static const vmig_vmsd_field_t serial_extra_fields[] = {
    VMIG_VMSTATE_BOOL(flag, serial_t),
    VMIG_VMSTATE_TIMER(t, serial_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t serial_extra_vmsd = {
    .name = "serial/extra", .version_id = 1, .minimum_version_id = 1,
    .needed = serial_extra_needed, .fields = serial_extra_fields,
};
static const vmig_vmsd_t *const serial_subsections[] = {&serial_extra_vmsd, NULL};
static const vmig_vmsd_field_t serial_fields[] = {
    VMIG_VMSTATE_UINT8(a, serial_t),
    VMIG_VMSTATE_UINT16_V(b, serial_t, 2),
    VMIG_VMSTATE_UINT32(cnt, serial_t),
    VMIG_VMSTATE_VARRAY_UINT32(data, serial_t, cnt, 0, vmig_vmstate_info_uint16, uint16_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t serial_vmsd = {
    .name = "serial", .version_id = 2, .minimum_version_id = 1,
    .priority = VMIG_SAVEVM_PRI_PCI_BUS, .fields = serial_fields,
    .subsections = serial_subsections,
};

typedef struct timers {
    int64_t ticks; /* guest ticks offset */
    int64_t clock; /* guest clock offset */
} timers_t;

static const vmig_vmsd_field_t timer_fields[] = {
    VMIG_VMSTATE_INT64(ticks, timers_t),
    VMIG_VMSTATE_UNUSED(8),
    VMIG_VMSTATE_INT64_V(clock, timers_t, 2),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t timer_vmsd = {
    .name = "timer", .version_id = 2, .minimum_version_id = 1, .fields = timer_fields,
};

/* One side of the migration. */
typedef struct vm {
    vmig_savevm_t *sv; /* its registry */
    ram_t *ram;        /* big: on the heap */
    serial_t ser[2];   /* two instances of one device */
    timers_t timers;   /* the timer device */
} vm_t;

/* The destination registers in another order: matching is by name and
 * instance, never by section id. */
static void vm_init(vm_t *vm, bool reverse)
{
    memset(vm, 0, sizeof(*vm));
    vm->sv = vmig_savevm_new();
    vm->ram = calloc(1, sizeof(*vm->ram));
    const uint32_t any = VMIG_SAVEVM_INSTANCE_ANY;
    if (!reverse) {
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "timer", 0, &timer_vmsd, &vm->timers), 0);
        assert_int_equal(vmig_savevm_register_handler(vm->sv, "ram", 0, 4, 0, &ram_ops, vm->ram), 1);
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "serial", any, &serial_vmsd, &vm->ser[0]), 2);
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "serial", any, &serial_vmsd, &vm->ser[1]), 3);
    } else {
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "serial", 1, &serial_vmsd, &vm->ser[1]), 0);
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "serial", 0, &serial_vmsd, &vm->ser[0]), 1);
        assert_int_equal(vmig_savevm_register_handler(vm->sv, "ram", 0, 4, 0, &ram_ops, vm->ram), 2);
        assert_int_equal(vmig_savevm_register_vmsd(vm->sv, "timer", 0, &timer_vmsd, &vm->timers), 3);
    }
}

static void vm_free(vm_t *vm)
{
    vmig_savevm_free(vm->sv);
    free(vm->ram);
}

static void test_roundtrip(void **state)
{
    vm_t src, dst;
    vm_init(&src, false);
    vm_init(&dst, true);
    for (size_t i = 0; i < sizeof(src.ram->mem); i++)
        src.ram->mem[i] = (uint8_t)(i * 7 + i / PAGE);
    src.ser[0] = (serial_t){.a = 0x11, .b = 0x2233, .cnt = 2, .data = {0x0102, 0x0304},
                            .flag = true, .t = {.expire_ns = VMIG_VMSTATE_TIMER_NOT_ARMED}};
    src.ser[1] = (serial_t){.a = 0x44, .b = 0x5566, .cnt = 8, .data = {1, 2, 3, 4, 5, 6, 7, 8}};
    src.timers = (timers_t){.ticks = 123456789, .clock = -987654321};

    /* The source: header, setup, iterate while anything is pending, complete. */
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_write_header(src.sv, w), 0);
    assert_int_equal(vmig_savevm_setup(src.sv, w), 0);
    int rounds = 0;
    for (;;) {
        uint64_t pre, compat, post;
        vmig_savevm_pending(src.sv, 0, &pre, &compat, &post);
        if (pre + compat + post == 0)
            break;
        assert_true(vmig_savevm_iterate(src.sv, w, false) >= 0);
        rounds++;
    }
    assert_int_equal(rounds, (NPAGES + PAGES_PER_ROUND - 1) / PAGES_PER_ROUND);
    assert_int_equal(vmig_savevm_complete_precopy(src.sv, w), 0);
    vmig_savevm_save_cleanup(src.sv);
    size_t len;
    uint8_t *bytes = vt_written_copy(w, &len);
    vmig_stream_free(w);

    /* The destination. */
    dst.ser[0].t.expire_ns = 42;
    vmig_stream_t *r = vt_mem_reader(bytes, len);
    int rc = vmig_savevm_load(dst.sv, r);
    if (rc != 0)
        fail_msg("load: %d %s", rc, vmig_stream_error_msg(r));
    assert_true(vmig_stream_eof(r)); /* the trailer was consumed too */
    vmig_stream_free(r);

    assert_memory_equal(dst.ram->mem, src.ram->mem, sizeof(src.ram->mem));
    assert_int_equal(dst.ram->setups, 1);
    assert_int_equal(dst.ram->cleanups, 1);
    assert_int_equal(dst.ram->sections[VMIG_VM_SECTION_START], 1);
    assert_int_equal(dst.ram->sections[VMIG_VM_SECTION_PART], rounds);
    assert_int_equal(dst.ram->sections[VMIG_VM_SECTION_END], 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(dst.ser[i].a, src.ser[i].a);
        assert_int_equal(dst.ser[i].b, src.ser[i].b);
        assert_int_equal(dst.ser[i].cnt, src.ser[i].cnt);
        assert_memory_equal(dst.ser[i].data, src.ser[i].data, sizeof(src.ser[i].data));
        assert_int_equal(dst.ser[i].flag, src.ser[i].flag);
    }
    /* The subsection came only for instance 0. */
    assert_int_equal(dst.ser[0].t.expire_ns, VMIG_VMSTATE_TIMER_NOT_ARMED);
    assert_int_equal(dst.ser[1].t.expire_ns, 0);
    assert_int_equal(dst.timers.ticks, src.timers.ticks);
    assert_int_equal(dst.timers.clock, src.timers.clock);

    /* The FULL sections came in priority order: serial (PCI_BUS) first. */
    const uint8_t serial_hdr[] = {VMIG_VM_SECTION_FULL, 0, 0, 0, 2, 6, 's', 'e', 'r', 'i', 'a', 'l'};
    uint8_t *p = memmem(bytes, len, serial_hdr, sizeof(serial_hdr));
    uint8_t *t = memmem(bytes, len, "\x04\x00\x00\x00\x00\x05timer", 11);
    assert_non_null(p);
    assert_non_null(t);
    assert_true(p < t);
    free(bytes);
    vm_free(&src);
    vm_free(&dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
