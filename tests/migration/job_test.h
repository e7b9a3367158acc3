/* job_test.h — what the migration job tests share: two engines on one loop
 * (a source and a destination, the proof that nothing is global), each with
 * one malloc'd RAM block "mem", run control that answers at once, and a
 * loop driver that waits for a condition with a deadline. */
#ifndef JOB_TEST_H
#define JOB_TEST_H

#include "vmig_test.h"

#include "engine/engine.h"
#include "migration/mig_internal.h"
#include "vmig/migration.h"
#include "vmig/ram.h"

#define JOB_TEST_TIMEOUT_S 120

/* One VM as the tests play it. */
typedef struct job_vm {
    vmig_engine_t *e;        /* its engine */
    uint8_t *mem;            /* guest RAM (page-aligned, owned) */
    size_t size;             /* its length */
    vmig_ram_block_t *block; /* the block "mem" */
    unsigned stops, starts;  /* run-control callbacks seen */
    bool closed;             /* close callback ran */
    uint64_t stop_delay_ms;  /* answer stops this late (0: at once) */
    uv_timer_t stop_timer;   /* the late answer */
    bool timer_open;         /* stop_timer initialised */
} job_vm_t;

static inline void job_stop_later(uv_timer_t *t)
{
    job_vm_t *vm = t->data;
    vmig_engine_run_control_done(vm->e, 0);
}

static inline void job_stop(void *opaque, vmig_engine_t *e)
{
    job_vm_t *vm = opaque;
    vm->stops++;
    if (!vm->stop_delay_ms) {
        vmig_engine_run_control_done(e, 0);
        return;
    }
    if (!vm->timer_open) {
        uv_timer_init(vmig_engine_loop(e), &vm->stop_timer);
        vm->stop_timer.data = vm;
        vm->timer_open = true;
    }
    uv_timer_start(&vm->stop_timer, job_stop_later, vm->stop_delay_ms, 0);
}

static inline void job_start(void *opaque, vmig_engine_t *e)
{
    ((job_vm_t *)opaque)->starts++;
    vmig_engine_run_control_done(e, 0);
}

static const vmig_run_ops_t job_run_ops = { .stop = job_stop, .start = job_start };

/* Deterministic content: page i is zero when (i % 3 == 0), else random. */
static inline void job_fill(uint8_t *mem, size_t size, uint32_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t p = 0; p < size / 4096; p++) {
        uint64_t *w = (uint64_t *)(mem + p * 4096);
        for (size_t i = 0; i < 512; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w[i] = p % 3 == 0 ? 0 : x;
        }
    }
}

static inline void job_vm_init(job_vm_t *vm, uv_loop_t *loop, const char *name, size_t size,
                               bool running)
{
    memset(vm, 0, sizeof(*vm));
    vmig_engine_opts_t o = { .run_ops = &job_run_ops, .run_opaque = vm, .name = name };
    assert_int_equal(vmig_engine_new(loop, &o, &vm->e), 0);
    vm->size = size;
    assert_int_equal(posix_memalign((void **)&vm->mem, 4096, size), 0);
    memset(vm->mem, 0, size);
    vmig_ram_block_opts_t b = { .name = "mem", .host = vm->mem, .length = size };
    assert_int_equal(vmig_engine_ram_add(vm->e, &b, &vm->block), 0);
    if (running)
        assert_int_equal(vmig_engine_set_run_state(vm->e, VMIG_RUN_STATE_RUNNING), 0);
}

static inline void job_closed(vmig_engine_t *e, void *arg)
{
    ((job_vm_t *)arg)->closed = true;
}

/* Run the loop until *flag or cond(arg) is true, failing after timeout_ms. */
typedef bool (*job_cond_fn)(void *arg);
static inline void job_run_until(uv_loop_t *loop, job_cond_fn cond, void *arg,
                                 uint64_t timeout_ms)
{
    uint64_t end = uv_hrtime() + timeout_ms * 1000000ull;
    while (!cond(arg)) {
        if (uv_hrtime() > end)
            fail_msg("condition not reached within %llu ms", (unsigned long long)timeout_ms);
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(200);
    }
}

static inline bool job_vm_is_closed(void *arg)
{
    return ((job_vm_t *)arg)->closed;
}

static inline void job_vm_close(job_vm_t *vm, uv_loop_t *loop)
{
    assert_int_equal(vmig_engine_close(vm->e, job_closed, vm), 0);
    job_run_until(loop, job_vm_is_closed, vm, 20000);
    if (vm->timer_open)
        uv_close((uv_handle_t *)&vm->stop_timer, NULL);
    free(vm->mem);
}

/* The source's status reached a final state. */
static inline bool job_out_done(void *arg)
{
    vmig_migration_status_t s = vmig_engine_migration_status(((job_vm_t *)arg)->e);
    return s == VMIG_MIGRATION_STATUS_COMPLETED || s == VMIG_MIGRATION_STATUS_FAILED ||
           s == VMIG_MIGRATION_STATUS_CANCELLED;
}

static inline bool job_in_done(void *arg)
{
    vmig_migration_status_t s = vmig_engine_incoming_status(((job_vm_t *)arg)->e);
    return s == VMIG_MIGRATION_STATUS_COMPLETED || s == VMIG_MIGRATION_STATUS_FAILED;
}

/* Run until both ends are done: both must have completed, without error. */
static inline void job_wait_completed(uv_loop_t *loop, job_vm_t *src, job_vm_t *dst)
{
    job_run_until(loop, job_out_done, src, 60000);
    job_run_until(loop, job_in_done, dst, 60000);
    const char *e1 = vmig_engine_migration_error(src->e);
    const char *e2 = vmig_engine_incoming_error(dst->e);
    if (e1 || e2)
        fail_msg("source: %s / destination: %s", e1 ? e1 : "-", e2 ? e2 : "-");
    assert_int_equal(vmig_engine_migration_status(src->e), VMIG_MIGRATION_STATUS_COMPLETED);
    assert_int_equal(vmig_engine_incoming_status(dst->e), VMIG_MIGRATION_STATUS_COMPLETED);
}

/* Where a destination listens (tcp:127.0.0.1:PORT after port 0). */
static inline const char *job_listen_uri(job_vm_t *vm)
{
    return vm->e->mig->in.listen_uri;
}

/* Set a capability or a parameter, which must succeed. */
static inline void job_cap(job_vm_t *vm, const char *name, bool on)
{
    vmig_error_t err = { 0 };
    int r = vmig_engine_migrate_set_capability(vm->e, name, on, &err);
    if (r < 0)
        fail_msg("capability %s: %s", name, err.msg);
}

static inline void job_param(job_vm_t *vm, const char *name, int64_t v)
{
    vmig_error_t err = { 0 };
    int r = vmig_engine_migrate_set_parameter(vm->e, name, v, &err);
    if (r < 0)
        fail_msg("parameter %s: %s", name, err.msg);
}

#endif
