/* fault_pair.h — what the fault tests share: two engines on one loop (4 MiB
 * of RAM and a 48 KiB device "disk-ctl" each, so the stream's tail holds
 * device state), a migration between them through the fault proxy with one
 * fault on the main connection, and the checks every case makes: the
 * source fails with a reason (running again, RAM and device unchanged) or
 * completes; the destination fails with a reason and is not running, or
 * completes with memory and device equal to the source's. */
#ifndef FAULT_PAIR_H
#define FAULT_PAIR_H

#define FP_ASSERT(x) assert_true(x)
#include "migration/job_test.h"

#include "fault_proxy.h"

#define MIB (1024u * 1024u)
#define RAM_SIZE (4 * MIB)
#define CASE_TIMEOUT_MS 20000

static const char *dash(const char *s)
{
    return s ? s : "-";
}

/* A device with sizable state, so that cuts can land inside it. */
#define DEV_SIZE (48u * 1024u)
typedef struct cut_dev {
    uint8_t regs[DEV_SIZE]; /* the state that travels */
    int loaded;             /* post_load calls */
} cut_dev_t;

static int dev_post_load(void *opaque, int version_id)
{
    (void)version_id;
    ((cut_dev_t *)opaque)->loaded++;
    return 0;
}

static const vmig_vmsd_field_t dev_fields[] = {
    VMIG_VMSTATE_BUFFER(regs, cut_dev_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t dev_vmsd = {
    .name = "disk-ctl", .version_id = 1, .minimum_version_id = 1,
    .post_load = dev_post_load, .fields = dev_fields,
};

typedef struct pair {
    uv_loop_t loop;
    job_vm_t src, dst;
    uint8_t *copy;
    uint64_t sum;
    cut_dev_t dev_src, dev_dst; /* the device on each side */
} pair_t;

/* Extra setup of both ends (capabilities, parameters, objects). */
typedef void (*pair_setup_fn)(pair_t *p, void *arg);

static inline void pair_setup_rp(pair_t *p, void *arg)
{
    (void)arg;
    job_cap(&p->src, "return-path", true);
    job_cap(&p->dst, "return-path", true);
}

static void pair_init(pair_t *p, size_t size, pair_setup_fn setup, void *arg)
{
    uv_loop_init(&p->loop);
    job_vm_init(&p->src, &p->loop, "src", size, true);
    job_vm_init(&p->dst, &p->loop, "dst", size, false);
    job_fill(p->src.mem, size, 7);
    memset(p->dst.mem, 0x5a, size);
    p->copy = malloc(size);
    assert_non_null(p->copy);
    memcpy(p->copy, p->src.mem, size);
    p->sum = vt_fnv(VT_FNV_INIT, p->src.mem, size);
    for (size_t i = 0; i < DEV_SIZE; i++)
        p->dev_src.regs[i] = (uint8_t)(i * 7 + 3);
    p->dev_src.loaded = p->dev_dst.loaded = 0;
    memset(p->dev_dst.regs, 0, DEV_SIZE);
    assert_int_equal(vmig_engine_register_vmsd(p->src.e, "disk-ctl", 0, &dev_vmsd, &p->dev_src), 0);
    assert_int_equal(vmig_engine_register_vmsd(p->dst.e, "disk-ctl", 0, &dev_vmsd, &p->dev_dst), 0);
    job_param(&p->src, "max-bandwidth", 0);
    if (setup)
        setup(p, arg);
}

static void pair_close(pair_t *p)
{
    free(p->copy);
    job_vm_close(&p->src, &p->loop);
    job_vm_close(&p->dst, &p->loop);
    vt_loop_done(&p->loop);
}

typedef struct both {
    job_vm_t *src, *dst;
} both_t;

static bool both_done(void *arg)
{
    both_t *b = arg;
    return job_out_done(b->src) && job_in_done(b->dst);
}

/* What one case ended with. */
typedef struct outcome {
    vmig_migration_status_t src_st, dst_st;
    char src_err[160], dst_err[160];
    bool dst_equal;   /* destination memory == source's */
    bool fired;       /* the proxy's fault took effect */
    uint64_t fwd;     /* bytes the proxy read from the source */
    uint64_t ms;
} outcome_t;

static const char *st(vmig_migration_status_t s)
{
    const char *n = vmig_migration_status_name(s);
    return n ? n : "?";
}

/* The source gave up cleanly or completed; checked on every case. */
static void check_source(pair_t *p, const outcome_t *o)
{
    assert_memory_equal(p->copy, p->src.mem, p->src.size);
    assert_true(vt_fnv(VT_FNV_INIT, p->src.mem, p->src.size) == p->sum);
    if (o->src_st == VMIG_MIGRATION_STATUS_COMPLETED)
        return;
    assert_int_equal(o->src_st, VMIG_MIGRATION_STATUS_FAILED);
    if (!o->src_err[0])
        fail_msg("source failed without an error");
    assert_int_equal(vmig_engine_run_state(p->src.e), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(p->src.stops, p->src.starts);
}

/* One migration through a proxy with fault (kind, n) on the main connection. */
static void run_case_with(pair_setup_fn setup, void *arg, fp_kind_t kind, uint64_t n,
                          outcome_t *o, size_t size)
{
    memset(o, 0, sizeof(*o));
    uint64_t t0 = uv_hrtime();
    pair_t p;
    pair_init(&p, size, setup, arg);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p.dst.e, "tcp:127.0.0.1:0", &err), 0);
    fp_t fp;
    fp_init(&fp, &p.loop, job_listen_uri(&p.dst));
    fp_set(&fp, 0, kind, n);
    assert_int_equal(vmig_engine_migrate(p.src.e, fp.uri, &err), 0);
    both_t b = { &p.src, &p.dst };
    job_run_until(&p.loop, both_done, &b, CASE_TIMEOUT_MS);
    o->ms = (uv_hrtime() - t0) / 1000000u;
    o->src_st = vmig_engine_migration_status(p.src.e);
    o->dst_st = vmig_engine_incoming_status(p.dst.e);
    snprintf(o->src_err, sizeof(o->src_err), "%s",
             vmig_engine_migration_error(p.src.e) ? vmig_engine_migration_error(p.src.e) : "");
    snprintf(o->dst_err, sizeof(o->dst_err), "%s",
             vmig_engine_incoming_error(p.dst.e) ? vmig_engine_incoming_error(p.dst.e) : "");
    o->dst_equal = memcmp(p.copy, p.dst.mem, size) == 0 &&
                   memcmp(p.dev_src.regs, p.dev_dst.regs, DEV_SIZE) == 0;
    /* The device's post_load runs once, and only on a complete section. */
    assert_true(p.dev_dst.loaded <= 1);
    if (o->dst_st == VMIG_MIGRATION_STATUS_COMPLETED)
        assert_int_equal(p.dev_dst.loaded, 1);
    o->fired = fp.fired > 0;
    o->fwd = fp.total_fwd;
    check_source(&p, o);
    if (o->dst_st == VMIG_MIGRATION_STATUS_FAILED) {
        if (!o->dst_err[0])
            fail_msg("destination failed without an error");
        assert_int_not_equal(vmig_engine_run_state(p.dst.e), VMIG_RUN_STATE_RUNNING);
    } else {
        assert_int_equal(o->dst_st, VMIG_MIGRATION_STATUS_COMPLETED);
    }
    assert_true(fp_close(&fp, 10000));
    pair_close(&p);
}

/* run_case_with() without or with a return path. */
static inline void run_case(bool rp, fp_kind_t kind, uint64_t n, outcome_t *o, size_t size)
{
    run_case_with(rp ? pair_setup_rp : NULL, NULL, kind, n, o, size);
}

/* A migration without a fault, setup applied: it must complete with equal
 * memory; the bytes it carried source -> destination (a sweep's "total"). */
static inline uint64_t clean_total_with(pair_setup_fn setup, void *arg, const char *what)
{
    outcome_t o;
    run_case_with(setup, arg, FP_NONE, 0, &o, RAM_SIZE);
    if (o.src_err[0] || o.dst_err[0])
        fail_msg("clean%s: source %s / destination %s", what, o.src_err, o.dst_err);
    assert_int_equal(o.src_st, VMIG_MIGRATION_STATUS_COMPLETED);
    assert_int_equal(o.dst_st, VMIG_MIGRATION_STATUS_COMPLETED);
    assert_true(o.dst_equal);
    print_message("clean%s: %llu bytes source->destination, %llu ms\n", what,
                  (unsigned long long)o.fwd, (unsigned long long)o.ms);
    return o.fwd;
}

#endif
