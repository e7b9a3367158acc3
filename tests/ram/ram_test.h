/* ram_test.h — what the RAM tests share beyond vmig_test.h: guest memory
 * between guard pages, a VM side (registry + RAM list with "ram"
 * registered), saving a whole precopy stream and loading one, and a byte
 * builder for hand-made streams. */
#ifndef RAM_TEST_H
#define RAM_TEST_H

#include "vmig_test.h"

#include <sys/mman.h>

#include "ram/ram.h"
#include "ram/ram_wire.h"
#include "savevm/savevm.h"

#define PS 4096u

/* ---- guest memory ------------------------------------------------------------------ */

/* len bytes aligned to align, with inaccessible pages right before and
 * after: a write outside the block is a crash, not a silent corruption. */
typedef struct rt_mem {
    uint8_t *map;  /* the whole mapping */
    size_t maplen; /* its length */
    uint8_t *p;    /* the usable memory */
    size_t len;    /* its length */
} rt_mem_t;

static inline uint8_t *rt_map(rt_mem_t *m, size_t len, size_t align)
{
    if (align < PS)
        align = PS;
    m->maplen = len + align + 2 * PS;
    m->map = mmap(NULL, m->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m->map != MAP_FAILED);
    uintptr_t start = ((uintptr_t)m->map + PS + align - 1) & ~(uintptr_t)(align - 1);
    m->p = (uint8_t *)start;
    m->len = len;
    assert_int_equal(mprotect(m->map, (size_t)(m->p - m->map), PROT_NONE), 0);
    uint8_t *end = m->p + len;
    assert_int_equal(mprotect(end, (size_t)(m->map + m->maplen - end), PROT_NONE), 0);
    return m->p;
}

static inline void rt_unmap(rt_mem_t *m)
{
    if (m->map)
        munmap(m->map, m->maplen);
    memset(m, 0, sizeof(*m));
}

/* Deterministic non-zero content: page `page` of stream `seed`. */
static inline void rt_fill_random(uint8_t *p, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

/* ---- a VM side --------------------------------------------------------------------- */

typedef struct rt_vm {
    vmig_savevm_t *sv; /* registry with "ram" (section id 0) */
    vmig_ram_t *ram;   /* its RAM list */
} rt_vm_t;

static inline void rt_vm_init(rt_vm_t *vm)
{
    vm->sv = vmig_savevm_new();
    vm->ram = vmig_ram_new();
    assert_non_null(vm->sv);
    assert_non_null(vm->ram);
    assert_int_equal(vmig_ram_register(vm->ram, vm->sv), 0);
}

static inline void rt_vm_free(rt_vm_t *vm)
{
    vmig_savevm_free(vm->sv);
    vmig_ram_free(vm->ram);
}

static inline vmig_ram_block_t *rt_add(rt_vm_t *vm, const char *name, void *host, uint64_t len)
{
    vmig_ram_block_opts_t o = {.name = name, .host = host, .length = len};
    vmig_ram_block_t *b = NULL;
    assert_int_equal(vmig_ram_add(vm->ram, &o, &b), 0);
    return b;
}

/* ---- saving and loading whole streams -------------------------------------------------- */

/* Header and setup into a new memory writer. */
static inline vmig_stream_t *rt_save_begin(rt_vm_t *vm)
{
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_savevm_write_header(vm->sv, s), 0);
    assert_int_equal(vmig_savevm_setup(vm->sv, s), 0);
    return s;
}

/* Iterate rounds until one reports done (at most max); returns the rounds. */
static inline unsigned rt_iterate_all(rt_vm_t *vm, vmig_stream_t *s, unsigned max)
{
    for (unsigned n = 1; n <= max; n++) {
        int r = vmig_savevm_iterate(vm->sv, s, false);
        assert_true(r >= 0);
        if (r == 1)
            return n;
    }
    fail_msg("iterate not done after %u rounds", max);
    return 0;
}

/* Completion (the VM "stopped"), cleanup, and the stream's bytes (free()). */
static inline uint8_t *rt_save_end(rt_vm_t *vm, vmig_stream_t *s, size_t *len)
{
    vmig_ram_set_phase(vm->ram, VMIG_RAM_PHASE_DOWNTIME);
    assert_int_equal(vmig_savevm_complete_precopy(vm->sv, s), 0);
    vmig_savevm_save_cleanup(vm->sv);
    vmig_ram_set_phase(vm->ram, VMIG_RAM_PHASE_PRECOPY);
    uint8_t *buf = vt_written_copy(s, len);
    vmig_stream_free(s);
    return buf;
}

/* Load buf with vm: the result, the stream's message copied into msg (may be NULL). */
static inline int rt_load(rt_vm_t *vm, const uint8_t *buf, size_t len, char *msg)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, false);
    assert_non_null(ch);
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    assert_non_null(s);
    int r = vmig_savevm_load(vm->sv, s);
    if (msg)
        snprintf(msg, VMIG_ERROR_MSG_MAX, "%s", vmig_stream_error_msg(s));
    vmig_stream_free(s);
    assert_false(vmig_ram_busy(vm->ram));
    return r;
}

/* Assert that msg ends with want (the savevm layer puts context in front). */
static inline void rt_assert_msg_ends(const char *msg, const char *want)
{
    size_t m = strlen(msg), w = strlen(want);
    if (m < w || strcmp(msg + m - w, want) != 0)
        fail_msg("message \"%s\" does not end with \"%s\"", msg, want);
}

/* ---- hand-made streams ------------------------------------------------------------------ */

typedef struct rt_buf {
    uint8_t *p;   /* bytes */
    size_t len;   /* used */
    size_t cap;   /* allocated */
} rt_buf_t;

static inline void rt_bytes(rt_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void rt_u8(rt_buf_t *b, uint8_t v)
{
    rt_bytes(b, &v, 1);
}

static inline void rt_be32(rt_buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    rt_bytes(b, x, 4);
}

static inline void rt_be64(rt_buf_t *b, uint64_t v)
{
    rt_be32(b, (uint32_t)(v >> 32));
    rt_be32(b, (uint32_t)v);
}

static inline void rt_counted(rt_buf_t *b, const char *s)
{
    rt_u8(b, (uint8_t)strlen(s));
    rt_bytes(b, s, strlen(s));
}

/* Magic, version 3 and the configuration of machine "none". */
static inline void rt_header(rt_buf_t *b)
{
    rt_be32(b, 0x5145564d);
    rt_be32(b, 3);
    rt_u8(b, 0x07);
    rt_be32(b, 4);
    rt_bytes(b, "none", 4);
}

/* START section header of "ram" (section id 0) with version. */
static inline void rt_start(rt_buf_t *b, uint32_t version)
{
    rt_u8(b, 0x01);
    rt_be32(b, 0);
    rt_counted(b, "ram");
    rt_be32(b, 0);
    rt_be32(b, version);
}

/* PART section header of "ram". */
static inline void rt_part(rt_buf_t *b)
{
    rt_u8(b, 0x02);
    rt_be32(b, 0);
}

static inline void rt_footer(rt_buf_t *b)
{
    rt_u8(b, 0x7e);
    rt_be32(b, 0);
}

static inline void rt_eof(rt_buf_t *b)
{
    rt_u8(b, 0x00);
}

/* A block list record: MEM_SIZE total, then name/length pairs (NULL ends). */
static inline void rt_block_list(rt_buf_t *b, uint64_t total, const char *name, uint64_t len)
{
    rt_be64(b, total | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    if (name) {
        rt_counted(b, name);
        rt_be64(b, len);
    }
}

static inline void rt_buf_free(rt_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

#endif
