/* test_autoconverge.c — dirty-pages-rate and auto-converge (spec/ram.md §5,
 * §8) driven by a fake clock: periods are evaluated once >= 1000 ms have
 * passed, the throttle starts after two periods whose dirtying outran the
 * trigger threshold, steps by the increment up to the maximum (or, tail-slow,
 * by what would bring the dirty rate to the threshold), and cleanup ends it. */
#include "ram_test.h"

#define NPAGES 256
#define RANDOM_FIRST 100 /* pages 100..199 hold data, the rest zero */
#define RANDOM_PAGES 100

typedef struct clockv {
    uint64_t ms;        /* the fake time */
    int calls[16];      /* set_throttle arguments, in order */
    unsigned ncalls;    /* how many */
} clockv_t;

static uint64_t fake_now(void *opaque)
{
    return ((clockv_t *)opaque)->ms;
}

static void record_throttle(void *opaque, int pct)
{
    clockv_t *c = opaque;
    assert_true(c->ncalls < 16);
    c->calls[c->ncalls++] = pct;
}

typedef struct fx {
    rt_mem_t mem;              /* guest memory */
    rt_vm_t vm;                /* the source */
    vmig_ram_block_t *blk;     /* its block */
    vmig_stream_t *s;          /* the stream */
    clockv_t clk;              /* fake clock and throttle record */
    unsigned next_zero;        /* next never-dirtied zero page to dirty */
    uint64_t base;             /* fake ms where the tests' periods start */
} fx_t;

static void sync_at(fx_t *f, uint64_t ms);

static void fx_start(fx_t *f, unsigned threshold, bool tailslow)
{
    memset(f, 0, sizeof(*f));
    uint8_t *p = rt_map(&f->mem, NPAGES * PS, PS);
    memset(p, 0, NPAGES * PS);
    rt_fill_random(p + RANDOM_FIRST * PS, RANDOM_PAGES * PS, 9);
    rt_vm_init(&f->vm);
    f->blk = rt_add(&f->vm, "mem", p, NPAGES * PS);
    vmig_ram_set_clock(f->vm.ram, fake_now, &f->clk);
    vmig_ram_save_opts_t o = {
        .auto_converge = true,
        .throttle_trigger_threshold = threshold,
        .cpu_throttle_initial = 20,
        .cpu_throttle_increment = 10,
        .cpu_throttle_tailslow = tailslow,
        .max_cpu_throttle = 45,
        .set_throttle = record_throttle,
        .throttle_opaque = &f->clk,
    };
    vmig_ram_set_save_opts(f->vm.ram, &o);
    f->s = rt_save_begin(&f->vm);
    rt_iterate_all(&f->vm, f->s, 10); /* everything sent once */
    f->next_zero = 0;
    /* Close the period of the first round (much sent, nothing dirtied: not
     * a high one) so that the tests start with a fresh one. */
    sync_at(f, 0);
    f->base = 1000;
    sync_at(f, 0);
    assert_int_equal(f->clk.ncalls, 0);
}

static void fx_end(fx_t *f)
{
    vmig_savevm_save_cleanup(f->vm.sv);
    vmig_stream_free(f->s);
    rt_vm_free(&f->vm);
    rt_unmap(&f->mem);
}

/* The guest dirties n pages it has not dirtied before (zero pages: 0..99,
 * then 200..). */
static void dirty_new(fx_t *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        unsigned pg = f->next_zero++;
        if (pg >= RANDOM_FIRST)
            pg += RANDOM_PAGES;
        assert_true(pg < NPAGES);
        vmig_ram_block_mark_dirty(f->blk, (uint64_t)pg * PS, PS);
    }
}

static void sync_at(fx_t *f, uint64_t ms)
{
    f->clk.ms = f->base + ms;
    vmig_error_t err = {0};
    assert_int_equal(vmig_ram_sync(f->vm.ram, &err), 0);
}

static void test_rate_and_steps(void **state)
{
    fx_t f;
    fx_start(&f, 50, false);
    const vmig_ram_counters_t *ct = vmig_ram_counters(f.vm.ram);
    assert_int_equal(vmig_ram_throttle_pct(f.vm.ram), 0);

    /* Period 1 [0, 1000): a sync before its end evaluates nothing. */
    dirty_new(&f, 10);
    sync_at(&f, 999);
    assert_int_equal(ct->dirty_pages_rate, 0);
    sync_at(&f, 1000); /* 10 pages in 1 s, far more than half the bytes sent */
    assert_int_equal(ct->dirty_pages_rate, 10);
    assert_int_equal(f.clk.ncalls, 0); /* one high period is not enough */

    /* Period 2, 2 s long: second high period, throttle at the initial 20. */
    dirty_new(&f, 8);
    sync_at(&f, 3000);
    assert_int_equal(ct->dirty_pages_rate, 4);
    assert_int_equal(f.clk.ncalls, 1);
    assert_int_equal(f.clk.calls[0], 20);
    assert_int_equal(vmig_ram_throttle_pct(f.vm.ram), 20);

    /* Period 3: nothing dirtied (0 > 0 is false): no step, rate 0. */
    sync_at(&f, 4000);
    assert_int_equal(ct->dirty_pages_rate, 0);
    assert_int_equal(f.clk.ncalls, 1);

    /* Every second high period steps by 10, capped at 45. */
    static const int want[] = {20, 30, 40, 45, 45};
    uint64_t t = 4000;
    for (unsigned k = 1; k < 5; k++) {
        dirty_new(&f, 1);
        sync_at(&f, t += 1000);
        assert_int_equal(f.clk.ncalls, k);
        dirty_new(&f, 1);
        sync_at(&f, t += 1000);
        assert_int_equal(f.clk.ncalls, k + 1);
        assert_int_equal(f.clk.calls[k], want[k]);
        assert_int_equal(vmig_ram_throttle_pct(f.vm.ram), want[k]);
    }
    /* Each sync counted. */
    assert_int_equal(ct->dirty_sync_count, 1 + 2 + 4 + 8);

    /* The end of the migration ends the throttle. */
    vmig_savevm_save_cleanup(f.vm.sv);
    assert_int_equal(f.clk.ncalls, 6);
    assert_int_equal(f.clk.calls[5], 0);
    assert_int_equal(vmig_ram_throttle_pct(f.vm.ram), 0);
    fx_end(&f);
}

/* One period: the guest dirties 20 data pages, they are sent (20 x 4104
 * bytes + the EOS), then one more page, and the period ends. With a trigger
 * threshold of 100 % the dirtying (21 pages) only just outran the sending. */
static void busy_period(fx_t *f, unsigned *data_page, uint64_t end_ms)
{
    for (unsigned i = 0; i < 20; i++)
        vmig_ram_block_mark_dirty(f->blk, (uint64_t)(RANDOM_FIRST + (*data_page)++) * PS, PS);
    uint64_t pre = 0, compat = 0, post = 0;
    vmig_savevm_pending(f->vm.sv, UINT64_MAX, &pre, &compat, &post); /* sync, same ms */
    assert_true(pre >= 20 * PS); /* the first time also the pages of the quiet periods */
    assert_int_equal(vmig_savevm_iterate(f->vm.sv, f->s, false), 1);
    dirty_new(f, 1);
    sync_at(f, end_ms);
}

static void test_tailslow(void **state)
{
    fx_t f;
    fx_start(&f, 100, true);
    /* Two high periods with nothing sent: the initial 20 %. */
    dirty_new(&f, 1);
    sync_at(&f, 1000);
    dirty_new(&f, 1);
    sync_at(&f, 2000);
    assert_int_equal(f.clk.ncalls, 1);
    assert_int_equal(f.clk.calls[0], 20);

    unsigned data_page = 0;
    busy_period(&f, &data_page, 3000);
    assert_int_equal(f.clk.ncalls, 1);
    busy_period(&f, &data_page, 4000);
    /* cpu_now = 80; ideal = 80 x 82088 / 86016 = 76.3 -> 76: step 4, not 10. */
    assert_int_equal(f.clk.ncalls, 2);
    assert_int_equal(f.clk.calls[1], 24);
    fx_end(&f);
}

/* Without the capability nothing is throttled, but the rate is kept. */
static void test_off(void **state)
{
    fx_t f;
    fx_start(&f, 50, false);
    vmig_ram_save_opts_t o = {.auto_converge = false, .set_throttle = record_throttle,
                              .throttle_opaque = &f.clk};
    vmig_ram_set_save_opts(f.vm.ram, &o);
    for (unsigned k = 1; k <= 4; k++) {
        dirty_new(&f, 3);
        sync_at(&f, 1000 * k);
    }
    assert_int_equal(vmig_ram_counters(f.vm.ram)->dirty_pages_rate, 3);
    assert_int_equal(f.clk.ncalls, 0);
    fx_end(&f);
    assert_int_equal(f.clk.ncalls, 0);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_and_steps),
        cmocka_unit_test(test_tailslow),
        cmocka_unit_test(test_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
