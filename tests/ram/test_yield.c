/* test_yield.c — the RAM hooks share the loop: run in a coroutine, a long
 * setup, iteration, completion and load let the loop run (a check handle
 * counts its iterations) instead of holding it for the whole job, and the
 * result is the same as without yielding. The longest stretch between two
 * loop iterations is printed (in thread CPU time, so that other processes
 * on a busy machine do not count), not asserted. */
#include "ram_test.h"

#include <inttypes.h>
#include <time.h>

#define NPAGES (16384) /* 64 MiB, half data, half zero */

typedef struct job {
    rt_vm_t src, dst;      /* the two sides */
    rt_mem_t sm, dm;       /* their memory */
    uint64_t iters;        /* loop iterations seen by the check handle */
    uint64_t last_ns;      /* thread CPU time of the previous one, 0: not measuring */
    uint64_t max_gap_ns;   /* longest stretch without one (CPU time) */
    uint64_t save_iters;   /* iterations during the save */
    uint64_t load_iters;   /* iterations during the load */
} job_t;

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_check(uv_check_t *h)
{
    job_t *j = h->data;
    uint64_t now = cpu_ns();
    if (j->last_ns && now - j->last_ns > j->max_gap_ns)
        j->max_gap_ns = now - j->last_ns;
    j->last_ns = now;
    j->iters++;
}

static int job_co(void *arg)
{
    job_t *j = arg;
    vmig_stream_t *s = rt_save_begin(&j->src);
    rt_iterate_all(&j->src, s, 1000);
    /* The guest rewrote every 4th page: the completion round is long too. */
    vmig_ram_block_t *blk = vmig_ram_find(j->src.ram, "mem");
    for (unsigned i = 0; i < NPAGES; i += 4)
        vmig_ram_block_mark_dirty(blk, (uint64_t)i * PS, 1);
    vmig_ram_set_phase(j->src.ram, VMIG_RAM_PHASE_DOWNTIME);
    assert_int_equal(vmig_savevm_complete_precopy(j->src.sv, s), 0);
    vmig_savevm_save_cleanup(j->src.sv);
    j->save_iters = j->iters;
    /* Copying the stream out of the memory channel is the test's own work:
     * not measured. (The channel's own reallocs while writing are.) */
    size_t len;
    uint8_t *buf = vt_written_copy(s, &len);
    vmig_stream_free(s);
    j->last_ns = 0;
    uint64_t before = j->iters;
    assert_int_equal(rt_load(&j->dst, buf, len, NULL), 0);
    j->load_iters = j->iters - before;
    free(buf);
    return 0;
}

static void test_loop_keeps_running(void **state)
{
    job_t *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    uint8_t *p = rt_map(&j->sm, (size_t)NPAGES * PS, PS);
    for (unsigned i = 0; i < NPAGES; i++) {
        if (i % 2)
            rt_fill_random(p + (size_t)i * PS, PS, i);
        else
            memset(p + (size_t)i * PS, 0, PS);
    }
    memset(rt_map(&j->dm, (size_t)NPAGES * PS, PS), 0xff, (size_t)NPAGES * PS);
    rt_vm_init(&j->src);
    rt_vm_init(&j->dst);
    rt_add(&j->src, "mem", j->sm.p, (uint64_t)NPAGES * PS);
    rt_add(&j->dst, "mem", j->dm.p, (uint64_t)NPAGES * PS);

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_check_t check;
    uv_check_init(&loop, &check);
    check.data = j;
    uv_check_start(&check, on_check);
    uint64_t t0 = uv_hrtime();
    co_t *co = vt_start(&loop, job_co, j);
    while (!co_finished(co))
        uv_run(&loop, UV_RUN_ONCE);
    uint64_t total_ms = vt_ms_since(t0);
    assert_int_equal(vt_join(co), 0);
    uv_close((uv_handle_t *)&check, NULL);
    vt_loop_done(&loop);

    print_message("ram: %" PRIu64 " ms, loop iterations: save %" PRIu64 ", load %" PRIu64
                  ", longest stretch %.3f ms\n",
                  total_ms, j->save_iters, j->load_iters, (double)j->max_gap_ns / 1e6);
    /* 64 MiB cannot be saved or loaded within one 0.5 ms stretch. */
    assert_true(j->save_iters >= 2);
    assert_true(j->load_iters >= 2);
    assert_memory_equal(j->dm.p, j->sm.p, (size_t)NPAGES * PS);

    rt_vm_free(&j->src);
    rt_vm_free(&j->dst);
    rt_unmap(&j->sm);
    rt_unmap(&j->dm);
    free(j);
}

int main(void)
{
    vt_test_setup(100);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_loop_keeps_running)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
