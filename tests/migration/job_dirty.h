/* job_dirty.h — a source VM whose "guest" keeps writing: a pthread changes a
 * few bytes of pages of a working set and marks them dirty with
 * vmig_ram_block_mark_dirty(), as a vCPU would, until the VM is stopped
 * through the run ops (the writer is joined before the stop is confirmed,
 * so the memory is final when the last pages go). For the xbzrle and
 * compress job tests. */
#ifndef JOB_DIRTY_H
#define JOB_DIRTY_H

#include <pthread.h>
#include <stdatomic.h>

#include "job_test.h"

typedef struct dirty_vm {
    job_vm_t vm;            /* first: the run ops get a job_vm_t-compatible pointer */
    pthread_t th;           /* the writer */
    atomic_bool stop;       /* asks the writer to end */
    bool running;           /* th started and not joined */
    size_t first_page;      /* working set: pages [first_page, first_page + pages) */
    size_t pages;
    atomic_ulong writes;    /* pages written so far */
} dirty_vm_t;

static void *dirty_writer(void *arg)
{
    dirty_vm_t *d = arg;
    uint64_t x = 0x2545F4914F6CDD1Dull;
    while (!atomic_load(&d->stop)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t page = d->first_page + (size_t)(x % d->pages);
        size_t off = page * 4096 + (size_t)((x >> 32) % 4088);
        /* A small change: what XBZRLE is for. */
        d->vm.mem[off] ^= (uint8_t)(x >> 8) | 1;
        d->vm.mem[off + 7] += 1;
        vmig_ram_block_mark_dirty(d->vm.block, page * 4096, 4096);
        atomic_fetch_add(&d->writes, 1);
        usleep(20);
    }
    return NULL;
}

static void dirty_join(dirty_vm_t *d)
{
    if (!d->running)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->th, NULL);
    d->running = false;
}

static void dirty_stop(void *opaque, vmig_engine_t *e)
{
    dirty_vm_t *d = opaque;
    dirty_join(d);
    d->vm.stops++;
    vmig_engine_run_control_done(e, 0);
}

static void dirty_start(void *opaque, vmig_engine_t *e)
{
    ((dirty_vm_t *)opaque)->vm.starts++;
    vmig_engine_run_control_done(e, 0);
}

static const vmig_run_ops_t dirty_run_ops = { .stop = dirty_stop, .start = dirty_start };

/* A running source of size bytes filled by job_fill(seed); the writer
 * starts at once on pages [first_page, first_page + pages). */
static inline void dirty_vm_init(dirty_vm_t *d, uv_loop_t *loop, size_t size, uint32_t seed,
                                 size_t first_page, size_t pages)
{
    memset(d, 0, sizeof(*d));
    job_vm_t *vm = &d->vm;
    vmig_engine_opts_t o = { .run_ops = &dirty_run_ops, .run_opaque = d, .name = "src" };
    assert_int_equal(vmig_engine_new(loop, &o, &vm->e), 0);
    vm->size = size;
    assert_int_equal(posix_memalign((void **)&vm->mem, 4096, size), 0);
    job_fill(vm->mem, size, seed);
    vmig_ram_block_opts_t b = { .name = "mem", .host = vm->mem, .length = size };
    assert_int_equal(vmig_engine_ram_add(vm->e, &b, &vm->block), 0);
    assert_int_equal(vmig_engine_set_run_state(vm->e, VMIG_RUN_STATE_RUNNING), 0);
    d->first_page = first_page;
    d->pages = pages;
    assert_int_equal(pthread_create(&d->th, NULL, dirty_writer, d), 0);
    d->running = true;
}

static inline void dirty_vm_close(dirty_vm_t *d, uv_loop_t *loop)
{
    dirty_join(d);
    job_vm_close(&d->vm, loop);
}

/* query-migrate's member.key of the source, an integer; -1 when member is
 * absent (before active) and must_exist is false. */
static inline int64_t dirty_query(dirty_vm_t *d, const char *member, const char *key,
                                  bool must_exist)
{
    json_t *info = mig_query_migrate(d->vm.e->mig);
    assert_non_null(info);
    json_t *o = json_object_get(info, member);
    if (!o && !must_exist) {
        json_decref(info);
        return -1;
    }
    if (!o) {
        char *s = json_dumps(info, 0);
        fail_msg("query-migrate has no \"%s\": %s", member, s);
    }
    int64_t v = json_integer_value(json_object_get(o, key));
    json_decref(info);
    return v;
}

static inline int64_t dirty_query_int(dirty_vm_t *d, const char *member, const char *key)
{
    return dirty_query(d, member, key, true);
}

#endif

