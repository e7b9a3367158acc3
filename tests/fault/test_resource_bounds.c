/* test_resource_bounds.c — a destination fed streams that announce huge
 * sizes (RAM blocks, packages, device arrays, compressed pages, XBZRLE
 * deltas, commands) refuses each before allocating anything of that size:
 * every allocation the library makes during the load is watched (malloc,
 * calloc, realloc, aligned_alloc, posix_memalign wrapped at link time) and
 * the largest must stay under the case's bound: the baseline of a valid
 * load (the 1 MiB read buffer of the stream) plus a little. */
#include "migration/job_test.h"

#include <stdatomic.h>
#include <sys/mman.h>

#include "vmig/vmstate.h"

/* ---- allocation watch (-Wl,--wrap=..., tests/tests.cmake) ---------------------------- */

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

static atomic_size_t g_peak; /* largest single request since watch_reset() */

static void watch(size_t n)
{
    size_t cur = atomic_load(&g_peak);
    while (n > cur && !atomic_compare_exchange_weak(&g_peak, &cur, n))
        ;
}

static void watch_reset(void)
{
    atomic_store(&g_peak, 0);
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
    watch(n);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    watch(m && n > SIZE_MAX / m ? SIZE_MAX : n * m);
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    watch(n);
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    watch(n);
    return __real_aligned_alloc(a, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    watch(n);
    return __real_posix_memalign(p, a, n);
}

/* ---- the destination ------------------------------------------------------------------ */

#define RAM_SIZE (64u << 10)
#define KIB 1024u

/* A device whose state holds a wire-sized array ("blob": count, then
 * count bytes, allocated by the loader). */
typedef struct blob {
    uint32_t n;    /* elements, from the wire */
    uint8_t *data; /* n bytes, malloc()ed by the loader */
} blob_t;

static const vmig_vmsd_field_t blob_fields[] = {
    VMIG_VMSTATE_UINT32(n, blob_t),
    VMIG_VMSTATE_VARRAY_UINT32_ALLOC(data, blob_t, n, 0, 1, vmig_vmstate_info_uint8, uint8_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t blob_vmsd = {
    .name = "blob", .version_id = 1, .minimum_version_id = 1, .fields = blob_fields,
};

/* The stream's beginning: header, configuration "none", a "ram" START
 * announcing "mem" as the destination has it. */
#define HDR "5145564d 00000003 07 00000004 6e6f6e65 "
#define RAM_START "01 00000002 03 72616d 00000000 00000004 "
#define RAM_SETUP RAM_START "0000000000010004 03 6d656d 0000000000010000 0000000000000010 7e 00000002 "

typedef struct outcome {
    vmig_migration_status_t st; /* the destination's end */
    char err[256];              /* its error */
    size_t peak;                /* largest allocation during the load */
    bool running;               /* the VM runs afterwards */
} outcome_t;

/* Load bytes into a fresh destination (compress on, device "blob"). */
static void load(const uint8_t *bytes, size_t len, outcome_t *o)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t dst;
    job_vm_init(&dst, &loop, "dst", RAM_SIZE, false);
    job_cap(&dst, "compress", true);
    blob_t blob = { 0 };
    assert_int_equal(vmig_engine_register_vmsd(dst.e, "blob", 0, &blob_vmsd, &blob), 0);
    int fd = memfd_create("stream", 0);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
    char uri[64];
    snprintf(uri, sizeof(uri), "file:/proc/self/fd/%d", fd);

    vmig_error_t err = { 0 };
    watch_reset();
    assert_int_equal(vmig_engine_incoming(dst.e, uri, &err), 0);
    job_run_until(&loop, job_in_done, &dst, 20000);
    o->peak = atomic_load(&g_peak);
    o->st = vmig_engine_incoming_status(dst.e);
    const char *e = vmig_engine_incoming_error(dst.e);
    snprintf(o->err, sizeof(o->err), "%s", e ? e : "");
    o->running = vmig_engine_is_running(dst.e);
    close(fd);
    free(blob.data);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* A hostile stream in hex: refused with a message containing want, the
 * largest allocation under bound, the VM not running. */
static void refused(const char *what, const char *hex, const char *want, size_t bound)
{
    static uint8_t buf[4096];
    size_t n = vt_hex(hex, buf, sizeof(buf));
    outcome_t o;
    load(buf, n, &o);
    print_message("%-34s peak %7zu B  %s\n", what, o.peak, o.err);
    assert_int_equal(o.st, VMIG_MIGRATION_STATUS_FAILED);
    assert_false(o.running);
    if (!strstr(o.err, want))
        fail_msg("%s: error \"%s\" does not say \"%s\"", what, o.err, want);
    if (o.peak > bound)
        fail_msg("%s: an allocation of %zu bytes (bound %zu)", what, o.peak, bound);
}

/* The baseline: a stream that loads, and what it allocates. */
static size_t baseline(void)
{
    static uint8_t buf[256];
    size_t n = vt_hex(HDR RAM_SETUP "00", buf, sizeof(buf));
    outcome_t o;
    load(buf, n, &o);
    assert_int_equal(o.st, VMIG_MIGRATION_STATUS_COMPLETED);
    print_message("%-34s peak %7zu B\n", "valid stream (baseline)", o.peak);
    /* The watch sees the library's allocations (the stream's 1 MiB read
     * buffer): were the link-time wraps lost, every bound would pass. */
    assert_true(o.peak >= (1u << 20));
    return o.peak;
}

static void test_ram_sizes(void **state)
{
    (void)state;
    size_t base = baseline();
    size_t bound = base + 64 * KIB;
    refused("RAM total 2^62", HDR RAM_START "4000000000000004 03 6d656d 4000000000000000",
            "Length mismatch", bound);
    refused("RAM block of 2^64-4096 bytes", HDR RAM_START "fffffffffffff004 03 6d656d fffffffffffff000",
            "Length mismatch", bound);
    refused("RAM block name of 255 bytes", HDR RAM_START "0000000000010004 ff"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "7878787878787878787878787878787878787878787878787878787878787878"
            "78787878787878787878787878787878787878787878787878787878787878 0000000000010000",
            "Unknown ramblock", bound);
    refused("page offset 2^63 in mem", HDR RAM_SETUP "02 00000002 8000000000000008 03 6d656d",
            "Illegal RAM offset", bound);
}

static void test_record_lengths(void **state)
{
    (void)state;
    size_t bound = baseline() + 64 * KIB;
    refused("compressed page of 4 GiB", HDR RAM_SETUP "02 00000002 0000000000000100 03 6d656d ffffffff",
            "compress", bound);
    refused("XBZRLE delta of 65535 bytes", HDR RAM_SETUP "02 00000002 0000000000000040 03 6d656d 01 ffff",
            "XBZRLE", bound);
    refused("device array of 2^32-1 bytes", HDR "04 00000003 04 626c6f62 00000000 00000001 ffffffff",
            "blob", bound);
    refused("device array of 2^31 bytes", HDR "04 00000003 04 626c6f62 00000000 00000001 80000000",
            "blob", bound);
}

static void test_commands(void **state)
{
    (void)state;
    size_t base = baseline();
    refused("package of 4 GiB", HDR "08 0007 0004 ffffffff", "Unreasonably large packaged state",
            base + 64 * KIB);
    /* 16 MiB is QEMU's own cap; a package that stops early costs what
     * it sent (the buffer grows as bytes arrive). */
    refused("package of 16 MiB, 100 bytes sent", HDR "08 0007 0004 01000000"
            "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000",
            "truncated", base + 128 * KIB);
    refused("command with 65535 bytes, none sent", HDR "08 0006 ffff", "truncated",
            base + 64 * KIB + 1024);
}

/* A real package past the first 64 KiB loads (the buffer grows). */
static void test_large_package_loads(void **state)
{
    (void)state;
    size_t base = baseline();
    size_t plen = 200 * KIB;
    static uint8_t head[128];
    size_t hn = vt_hex(HDR "08 0007 0004", head, sizeof(head));
    size_t len = hn + 4 + plen + 1;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    memcpy(buf, head, hn);
    buf[hn] = (uint8_t)(plen >> 24);
    buf[hn + 1] = (uint8_t)(plen >> 16);
    buf[hn + 2] = (uint8_t)(plen >> 8);
    buf[hn + 3] = (uint8_t)plen;
    /* The package: QEMU_VM_EOF first, zeros after (not read); then the
     * main stream's own EOF. */
    outcome_t o;
    load(buf, len, &o);
    print_message("%-34s peak %7zu B  %s\n", "package of 200 KiB", o.peak, o.err);
    assert_int_equal(o.st, VMIG_MIGRATION_STATUS_COMPLETED);
    assert_true(o.peak <= base + 256 * KIB);
    free(buf);
}

int main(void)
{
    vt_test_setup(120);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ram_sizes),
        cmocka_unit_test(test_record_lengths),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_large_package_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
