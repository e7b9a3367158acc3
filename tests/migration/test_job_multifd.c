/* test_job_multifd.c — capability multifd between two engines on one loop
 * (spec/multifd.md):
 * - 1, 2 and 8 channels x compression none, zlib, zstd while a guest thread
 *   keeps writing: both sides complete, memory ends equal, the normal pages
 *   went on the channels (the main channel carries only a little), and
 *   query-migrate's "multifd-bytes" is exactly pages x 4096 + packets x 1344
 *   with "normal" counting the multifd pages;
 * - settings that do not match: multifd on the source only, or more source
 *   channels than the destination takes (the source fails naming its
 *   channel); multifd on the destination only, or fewer source channels
 *   (the destination waits for channels, as QEMU 7.2, loads nothing and
 *   still closes at once; with a return path the source waits until
 *   migrate_cancel); another multifd-compression on each side (the
 *   destination names the flags; with a return path the source must fail
 *   too). A source that fails runs on with its RAM untouched;
 * - a channel that dies mid-migration (tests/fault/fault_proxy.h cuts
 *   one connection after some bytes, both ways or only towards the
 *   destination): the source fails naming the channel (or at least fails),
 *   runs again, the destination fails, nothing hangs; the proxy without a
 *   cut completes;
 * - migrate_cancel while the channels are busy. */

#include "job_dirty.h"
#define FP_ASSERT(x) assert_true(x)
#include "fault/fault_proxy.h"

#define MIB (1024u * 1024u)
#define PAGE 4096u
#define MF_HDR 1344u /* packet header with 128 offsets (spec §4) */

/* ---- settings ------------------------------------------------------------------------ */

/* multifd-compression is a string: through the parameter code as QMP does. */
static void set_compression(job_vm_t *vm, const char *method)
{
    json_t *args = json_pack("{s:s}", "multifd-compression", method);
    assert_non_null(args);
    vmig_qmp_error_t qe = { 0 };
    int r = vmig_mig_set_params(&vm->e->mig->cfg, args, &qe);
    json_decref(args);
    if (r < 0)
        fail_msg("multifd-compression %s: %s", method, qe.desc);
    mig_params_changed(vm->e->mig);
}

static void set_multifd(job_vm_t *vm, unsigned channels, const char *method)
{
    job_cap(vm, "multifd", true);
    job_param(vm, "multifd-channels", channels);
    set_compression(vm, method);
}

static const char *err_or_dash(const char *s)
{
    return s ? s : "-";
}

/* ---- migrations under writes --------------------------------------------------------- */

/* Text-like pages from from_page on (job_fill's zero pages stay zero), so
 * that zlib/zstd have something to do besides random pages. */
static void fill_text_pages(uint8_t *mem, size_t size, size_t from_page)
{
    static const char *const words[] = { "multifd", "page", "the", "of", "channel", "sync",
                                         "and", "packet", "ram", "to", "zero", "in" };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t p = from_page; p < size / PAGE; p++) {
        if (p % 3 == 0)
            continue;
        uint8_t *pg = mem + p * PAGE;
        size_t i = 0;
        while (i < PAGE) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for (const char *w = words[x % 12]; *w && i < PAGE; w++)
                pg[i++] = (uint8_t)*w;
            if (i < PAGE)
                pg[i++] = ' ';
        }
    }
}

static void migrate_under_writes(unsigned channels, const char *method)
{
    uint64_t t0 = uv_hrtime();
    uv_loop_t loop;
    uv_loop_init(&loop);
    dirty_vm_t src;
    job_vm_t dst;
    const size_t size = 8 * MIB;
    /* Writer on pages 40..240; pages from 1024 on are text. */
    dirty_vm_init(&src, &loop, size, 13 + channels, 40, 200);
    fill_text_pages(src.vm.mem, size, 1024);
    job_vm_init(&dst, &loop, "dst", size, false);
    memset(dst.mem, 0xff, dst.size);
    set_multifd(&src.vm, channels, method);
    set_multifd(&dst, channels, method);
    if (strcmp(method, "zstd") == 0) {
        job_param(&src.vm, "multifd-zstd-level", 3);
    } else if (strcmp(method, "zlib") == 0) {
        job_param(&src.vm, "multifd-zlib-level", 6);
    }
    job_param(&src.vm, "max-bandwidth", 0); /* unlimited */

    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&dst));
    assert_int_equal(vmig_engine_migrate(src.vm.e, uri, &err), 0);
    print_message("%u channels %s\n", channels, method);
    job_wait_completed(&loop, &src.vm, &dst);
    assert_false(src.running);
    assert_true(atomic_load(&src.writes) > 0);
    assert_int_equal(vmig_engine_run_state(src.vm.e), VMIG_RUN_STATE_POSTMIGRATE);
    assert_int_equal(vmig_engine_run_state(dst.e), VMIG_RUN_STATE_RUNNING);
    for (size_t p = 0; p < size / PAGE; p++)
        if (memcmp(src.vm.mem + p * PAGE, dst.mem + p * PAGE, PAGE) != 0)
            fail_msg("%u channels %s: page %zu differs", channels, method, p);

    /* Accounting (spec §8): every data packet counts its pages (uncompressed)
     * and its header, every SYNC packet its header; "normal" counts every
     * page queued to the channels, and all are flushed by the last SYNC. */
    int64_t mfb = dirty_query_int(&src, "ram", "multifd-bytes");
    int64_t normal = dirty_query_int(&src, "ram", "normal");
    int64_t transferred = dirty_query_int(&src, "ram", "transferred");
    int64_t syncs = dirty_query_int(&src, "ram", "dirty-sync-count");
    size_t all = size / PAGE, zero = (all + 2) / 3;
    assert_true(mfb > 0);
    assert_true(normal >= (int64_t)(all - zero));
    assert_int_equal(dirty_query_int(&src, "ram", "normal-bytes"), normal * PAGE);
    int64_t hdrs = mfb - normal * (int64_t)PAGE;
    if (hdrs <= 0 || hdrs % MF_HDR != 0)
        fail_msg("multifd-bytes %lld is not normal %lld x 4096 + k x 1344", (long long)mfb,
                 (long long)normal);
    int64_t packets = hdrs / MF_HDR;
    /* At least the data packets (128 pages each at most) and one SYNC per
     * channel at setup and at completion. */
    assert_true(packets >= (normal + 127) / 128 + 2 * (int64_t)channels);
    assert_true(transferred >= mfb);
    const vmig_ram_counters_t *c = vmig_ram_counters(src.vm.e->ram);
    assert_int_equal(c->precopy_bytes + c->downtime_bytes + c->postcopy_bytes, c->transferred);
    assert_int_equal(c->multifd_bytes, (uint64_t)mfb);
    /* The pages went on the channels: the main channel carried the header,
     * the ZERO records, EOS and the devices, far less than the pages. */
    uint64_t main_out = mig_out_bytes(src.vm.e->mig);
    uint64_t main_in = mig_in_bytes(dst.e->mig);
    assert_true(main_out > 0);
    assert_true(main_out < (uint64_t)normal * PAGE / 16);
    assert_int_equal(main_in, main_out);

    print_message("multifd %u x %-4s: %lld pages in %lld packets, multifd-bytes %lld, main "
                  "channel %llu bytes, %lld syncs, %lu guest writes, %llu ms\n",
                  channels, method, (long long)normal, (long long)packets, (long long)mfb,
                  (unsigned long long)main_out, (long long)syncs,
                  (unsigned long)atomic_load(&src.writes),
                  (unsigned long long)((uv_hrtime() - t0) / 1000000u));
    dirty_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

static void test_mf1_none(void **state)
{
    migrate_under_writes(1, "none");
}

static void test_mf1_zlib(void **state)
{
    migrate_under_writes(1, "zlib");
}

static void test_mf1_zstd(void **state)
{
    migrate_under_writes(1, "zstd");
}

static void test_mf2_none(void **state)
{
    migrate_under_writes(2, "none");
}

static void test_mf2_zlib(void **state)
{
    migrate_under_writes(2, "zlib");
}

static void test_mf2_zstd(void **state)
{
    migrate_under_writes(2, "zstd");
}

static void test_mf8_none(void **state)
{
    migrate_under_writes(8, "none");
}

static void test_mf8_zlib(void **state)
{
    migrate_under_writes(8, "zlib");
}

static void test_mf8_zstd(void **state)
{
    migrate_under_writes(8, "zstd");
}

/* ---- mismatched settings ---------------------------------------------------------------- */

/* A running source without writer (its RAM must stay as it was), an idle
 * destination filled with 0x5a. */
typedef struct pair {
    uv_loop_t loop;
    job_vm_t src, dst;
    uint8_t *copy; /* the source's RAM before migrating */
} pair_t;

static void pair_init(pair_t *p, size_t size)
{
    uv_loop_init(&p->loop);
    job_vm_init(&p->src, &p->loop, "src", size, true);
    job_vm_init(&p->dst, &p->loop, "dst", size, false);
    job_fill(p->src.mem, size, 21);
    fill_text_pages(p->src.mem, size, size / PAGE / 2);
    memset(p->dst.mem, 0x5a, size);
    p->copy = malloc(size);
    assert_non_null(p->copy);
    memcpy(p->copy, p->src.mem, size);
}

/* The source gave up cleanly: failed (or cancelled when cancelled), its VM
 * running with as many starts as stops, its RAM as it was. */
static void pair_check_source_intact(pair_t *p, vmig_migration_status_t want)
{
    assert_int_equal(vmig_engine_migration_status(p->src.e), want);
    assert_int_equal(vmig_engine_run_state(p->src.e), VMIG_RUN_STATE_RUNNING);
    assert_int_equal(p->src.stops, p->src.starts);
    assert_memory_equal(p->copy, p->src.mem, p->src.size);
}

static void pair_close(pair_t *p)
{
    free(p->copy);
    job_vm_close(&p->src, &p->loop);
    job_vm_close(&p->dst, &p->loop);
    vt_loop_done(&p->loop);
}

static void pair_migrate_direct(pair_t *p)
{
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p->dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&p->dst));
    assert_int_equal(vmig_engine_migrate(p->src.e, uri, &err), 0);
    job_run_until(&p->loop, job_out_done, &p->src, 30000);
    job_run_until(&p->loop, job_in_done, &p->dst, 30000);
}

static bool contains(const char *s, const char *needle)
{
    return s && strstr(s, needle);
}

/* The source has multifd, the destination not: its listener takes the
 * main connection only, the channels find nobody (refused, or reset once
 * the listener closes). The source fails naming multifd; the destination,
 * whose stream is cut, fails too. */
static void test_multifd_source_only(void **state)
{
    pair_t p;
    pair_init(&p, 4 * MIB);
    set_multifd(&p.src, 2, "none");
    pair_migrate_direct(&p);
    const char *se = vmig_engine_migration_error(p.src.e);
    const char *de = vmig_engine_incoming_error(p.dst.e);
    print_message("source only: source: %s / destination: %s\n", err_or_dash(se),
                  err_or_dash(de));
    pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_FAILED);
    assert_true(contains(se, "multifd"));
    assert_int_equal(vmig_engine_incoming_status(p.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(de);
    /* Whatever the destination loaded, it is not the source's RAM. */
    assert_true(memcmp(p.copy, p.dst.mem, p.dst.size) != 0);
    pair_close(&p);
}

/* The destination has multifd, the source not (or fewer channels than the
 * destination expects): the destination waits for channels that never
 * come, as QEMU 7.2 does, and loads nothing. Without a return path the
 * source completes; with one it waits for the destination's SHUT until
 * migrate_cancel, which gives it its VM back. The destination's engine
 * closes at once, cancelling the wait. */
static void destination_waits(unsigned src_channels, unsigned dst_channels, bool rp)
{
    pair_t p;
    pair_init(&p, 2 * MIB);
    if (src_channels)
        set_multifd(&p.src, src_channels, "none");
    set_multifd(&p.dst, dst_channels, "none");
    if (rp) {
        job_cap(&p.src, "return-path", true);
        job_cap(&p.dst, "return-path", true);
    }
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p.dst.e, "tcp:127.0.0.1:0", &err), 0);
    char uri[128];
    snprintf(uri, sizeof(uri), "%s", job_listen_uri(&p.dst));
    assert_int_equal(vmig_engine_migrate(p.src.e, uri, &err), 0);
    if (!rp)
        job_run_until(&p.loop, job_out_done, &p.src, 20000);
    /* Give both time to go wrong. */
    uint64_t end = uv_hrtime() + 300 * 1000000ull;
    while (uv_hrtime() < end) {
        uv_run(&p.loop, UV_RUN_NOWAIT);
        usleep(200);
    }
    vmig_migration_status_t ss = vmig_engine_migration_status(p.src.e);
    vmig_migration_status_t ds = vmig_engine_incoming_status(p.dst.e);
    print_message("source %u channels, destination %u%s: source %s (%s), destination %s (%s)\n",
                  src_channels, dst_channels, rp ? " (return-path)" : "",
                  vmig_migration_status_name(ss),
                  err_or_dash(vmig_engine_migration_error(p.src.e)),
                  vmig_migration_status_name(ds),
                  err_or_dash(vmig_engine_incoming_error(p.dst.e)));
    /* Waiting for its channels: never "completed", nothing loaded. */
    assert_true(ds != VMIG_MIGRATION_STATUS_COMPLETED && ds != VMIG_MIGRATION_STATUS_FAILED);
    for (size_t i = 0; i < p.dst.size; i++)
        if (p.dst.mem[i] != 0x5a)
            fail_msg("destination byte %zu written", i);
    if (rp) {
        assert_true(ss == VMIG_MIGRATION_STATUS_ACTIVE || ss == VMIG_MIGRATION_STATUS_DEVICE);
        vmig_engine_migrate_cancel(p.src.e);
        job_run_until(&p.loop, job_out_done, &p.src, 10000);
        pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_CANCELLED);
    } else {
        assert_int_equal(ss, VMIG_MIGRATION_STATUS_COMPLETED);
        assert_int_equal(vmig_engine_run_state(p.src.e), VMIG_RUN_STATE_POSTMIGRATE);
    }
    pair_close(&p); /* a hang here is the test's alarm */
}

static void test_multifd_destination_only(void **state)
{
    destination_waits(0, 2, false);
}

static void test_multifd_destination_only_rp(void **state)
{
    destination_waits(0, 2, true);
}

static void test_multifd_fewer_source_channels(void **state)
{
    destination_waits(2, 4, false);
}

/* The source has more channels than the destination: the destination
 * takes the main connection and as many channels as it expects, the rest
 * find the listener closed. The source fails naming its channel. */
static void test_multifd_more_source_channels(void **state)
{
    pair_t p;
    pair_init(&p, 2 * MIB);
    set_multifd(&p.src, 4, "none");
    set_multifd(&p.dst, 2, "none");
    pair_migrate_direct(&p);
    const char *se = vmig_engine_migration_error(p.src.e);
    const char *de = vmig_engine_incoming_error(p.dst.e);
    print_message("source 4 channels, destination 2: source: %s / destination: %s\n",
                  err_or_dash(se), err_or_dash(de));
    pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_FAILED);
    if (!contains(se, "multifd channel"))
        fail_msg("source error %s does not name the channel", err_or_dash(se));
    assert_int_equal(vmig_engine_incoming_status(p.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    pair_close(&p);
}

/* Both sides multifd, but another multifd-compression: the destination
 * refuses the first data packet with QEMU's "flags received ... expected".
 * With a return path the source must fail too (it waits for the
 * destination's SHUT); without one it may have written everything before
 * the destination gave up, and then completes, as QEMU 7.2 does. */
static void compression_mismatch(const char *src_method, const char *dst_method,
                                 const char *dst_needle, bool rp)
{
    pair_t p;
    /* With a return path, 1 MiB: the whole stream fits in the sockets'
     * buffers before the destination looks at it, so only SHUT can tell
     * the source. */
    pair_init(&p, rp ? 1 * MIB : 4 * MIB);
    set_multifd(&p.src, 2, src_method);
    set_multifd(&p.dst, 2, dst_method);
    if (rp) {
        job_cap(&p.src, "return-path", true);
        job_cap(&p.dst, "return-path", true);
    }
    pair_migrate_direct(&p);
    const char *se = vmig_engine_migration_error(p.src.e);
    const char *de = vmig_engine_incoming_error(p.dst.e);
    vmig_migration_status_t st = vmig_engine_migration_status(p.src.e);
    print_message("%s -> %s%s: source %s: %s / destination: %s\n", src_method, dst_method,
                  rp ? " (return-path)" : "", vmig_migration_status_name(st), err_or_dash(se),
                  err_or_dash(de));
    assert_int_equal(vmig_engine_incoming_status(p.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    if (!contains(de, dst_needle))
        fail_msg("destination error %s lacks \"%s\"", err_or_dash(de), dst_needle);
    if (rp || st != VMIG_MIGRATION_STATUS_COMPLETED) {
        pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_FAILED);
        assert_non_null(se);
    } else {
        assert_int_equal(vmig_engine_run_state(p.src.e), VMIG_RUN_STATE_POSTMIGRATE);
    }
    pair_close(&p);
}

static void test_multifd_zlib_to_none(void **state)
{
    compression_mismatch("zlib", "none", "flags received 2 flags expected 0", false);
}

static void test_multifd_none_to_zstd(void **state)
{
    compression_mismatch("none", "zstd", "flags received 0 flags expected 4", false);
}

static void test_multifd_zstd_to_zlib(void **state)
{
    compression_mismatch("zstd", "zlib", "flags received 4 flags expected 2", false);
}

static void test_multifd_zlib_to_none_rp(void **state)
{
    compression_mismatch("zlib", "none", "flags received 2 flags expected 0", true);
}

static void test_multifd_none_to_zstd_rp(void **state)
{
    compression_mismatch("none", "zstd", "flags received 0 flags expected 4", true);
}

/* ---- a channel that dies --------------------------------------------------------------- */

typedef struct both_done {
    job_vm_t *src, *dst;
} both_done_t;

static bool both_done(void *arg)
{
    both_done_t *b = arg;
    return job_out_done(b->src) && job_in_done(b->dst);
}

/* Migrate through the fault proxy (tests/fault/fault_proxy.h), cutting
 * connection drop_idx (0: main, 1 + id: channel id) after drop_after bytes:
 * FP_CUT both ends (the source gets a reset, the destination an EOF
 * mid-packet), FP_TRUNCATE only the destination's (the source's bytes go
 * into a black hole). */
static void channel_dies(unsigned channels, unsigned drop_idx, uint64_t drop_after,
                         fp_kind_t mode, bool source_names_multifd)
{
    uint64_t t0 = uv_hrtime();
    pair_t p;
    pair_init(&p, 16 * MIB);
    set_multifd(&p.src, channels, "none");
    set_multifd(&p.dst, channels, "none");
    job_param(&p.src, "max-bandwidth", 0);
    /* When only the destination sees the cut, nothing but the return path
     * can tell the source (its writes may all fit in the buffers), as in
     * QEMU. */
    if (mode == FP_TRUNCATE) {
        job_cap(&p.src, "return-path", true);
        job_cap(&p.dst, "return-path", true);
    }
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p.dst.e, "tcp:127.0.0.1:0", &err), 0);
    fp_t fp;
    fp_init(&fp, &p.loop, job_listen_uri(&p.dst));
    fp_set(&fp, drop_idx, mode, drop_after);
    assert_int_equal(vmig_engine_migrate(p.src.e, fp.uri, &err), 0);
    both_done_t b = { &p.src, &p.dst };
    job_run_until(&p.loop, both_done, &b, 20000);
    uint64_t ms = (uv_hrtime() - t0) / 1000000u;
    const char *se = vmig_engine_migration_error(p.src.e);
    const char *de = vmig_engine_incoming_error(p.dst.e);
    print_message("connection %u cut after %llu bytes (%s, %u channels): %llu ms, %u "
                  "connections, source: %s / destination: %s\n",
                  drop_idx, (unsigned long long)drop_after,
                  mode == FP_CUT ? "both ends" : "destination end", channels,
                  (unsigned long long)ms, fp.naccepted, err_or_dash(se), err_or_dash(de));
    assert_true(fp.fired);
    assert_int_equal(fp.naccepted, channels + 1);
    pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(se);
    if (source_names_multifd && !contains(se, "multifd"))
        fail_msg("source error \"%s\" does not name multifd", se);
    assert_int_equal(vmig_engine_incoming_status(p.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(de);
    assert_true(fp_close(&fp, 10000));
    pair_close(&p);
}

/* Channel 1 reset mid-packet (64 KiB of its bytes went through). */
static void test_channel_reset_mid_packet(void **state)
{
    channel_dies(2, 2, 64 * 1024, FP_CUT, true);
}

/* Channel 0 reset right after its initial packet. */
static void test_channel_reset_after_init(void **state)
{
    channel_dies(2, 1, 64, FP_CUT, true);
}

/* Eight channels, the last one reset mid-packet. */
static void test_channel_reset_of_8(void **state)
{
    channel_dies(8, 8, 100 * 1024, FP_CUT, true);
}

/* Only the destination's end of channel 1 is closed, the source's end is
 * drained: the source learns of it from the destination over the return
 * path (SHUT 1), not from the channel; its message need not name multifd. */
static void test_channel_blackholed(void **state)
{
    channel_dies(2, 2, 64 * 1024, FP_TRUNCATE, false);
}

/* The proxy itself, without a cut: the migration completes through it (so
 * the failures above come from the cut, not from the proxy). */
static void test_proxy_without_cut(void **state)
{
    pair_t p;
    pair_init(&p, 16 * MIB);
    set_multifd(&p.src, 2, "none");
    set_multifd(&p.dst, 2, "none");
    job_param(&p.src, "max-bandwidth", 0);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p.dst.e, "tcp:127.0.0.1:0", &err), 0);
    fp_t fp;
    fp_init(&fp, &p.loop, job_listen_uri(&p.dst));
    assert_int_equal(vmig_engine_migrate(p.src.e, fp.uri, &err), 0);
    job_wait_completed(&p.loop, &p.src, &p.dst);
    assert_int_equal(fp.naccepted, 3);
    assert_memory_equal(p.copy, p.dst.mem, p.dst.size);
    assert_true(fp_close(&fp, 10000));
    pair_close(&p);
}

/* ---- cancel ------------------------------------------------------------------------------ */

static bool pages_went(void *arg)
{
    job_vm_t *vm = arg;
    return vmig_ram_counters(vm->e->ram)->normal > 256 || job_out_done(vm);
}

/* migrate_cancel while the channels carry pages (1 MiB/s keeps it going):
 * cancelled, running, RAM untouched; the destination fails. */
static void test_multifd_cancel(void **state)
{
    pair_t p;
    pair_init(&p, 8 * MIB);
    set_multifd(&p.src, 2, "zlib");
    set_multifd(&p.dst, 2, "zlib");
    job_param(&p.src, "max-bandwidth", 1 * MIB);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(p.dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(p.src.e, job_listen_uri(&p.dst), &err), 0);
    job_run_until(&p.loop, pages_went, &p.src, 20000);
    assert_int_equal(vmig_engine_migration_status(p.src.e), VMIG_MIGRATION_STATUS_ACTIVE);
    assert_true(vmig_ram_counters(p.src.e->ram)->multifd_bytes > 0);
    uint64_t t0 = uv_hrtime();
    vmig_engine_migrate_cancel(p.src.e);
    job_run_until(&p.loop, job_out_done, &p.src, 10000);
    job_run_until(&p.loop, job_in_done, &p.dst, 10000);
    print_message("cancel: %llu ms to cancelled; destination: %s\n",
                  (unsigned long long)((uv_hrtime() - t0) / 1000000u),
                  err_or_dash(vmig_engine_incoming_error(p.dst.e)));
    pair_check_source_intact(&p, VMIG_MIGRATION_STATUS_CANCELLED);
    assert_int_equal(vmig_engine_incoming_status(p.dst.e), VMIG_MIGRATION_STATUS_FAILED);
    pair_close(&p);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    /* Glob patterns on the test names, e.g. CMOCKA_SKIP_FILTER='*_rp'. */
    if (getenv("CMOCKA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
    if (getenv("CMOCKA_SKIP_FILTER"))
        cmocka_set_skip_filter(getenv("CMOCKA_SKIP_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mf1_none),
        cmocka_unit_test(test_mf1_zlib),
        cmocka_unit_test(test_mf1_zstd),
        cmocka_unit_test(test_mf2_none),
        cmocka_unit_test(test_mf2_zlib),
        cmocka_unit_test(test_mf2_zstd),
        cmocka_unit_test(test_mf8_none),
        cmocka_unit_test(test_mf8_zlib),
        cmocka_unit_test(test_mf8_zstd),
        cmocka_unit_test(test_multifd_source_only),
        cmocka_unit_test(test_multifd_destination_only),
        cmocka_unit_test(test_multifd_destination_only_rp),
        cmocka_unit_test(test_multifd_fewer_source_channels),
        cmocka_unit_test(test_multifd_more_source_channels),
        cmocka_unit_test(test_multifd_zlib_to_none),
        cmocka_unit_test(test_multifd_none_to_zstd),
        cmocka_unit_test(test_multifd_zstd_to_zlib),
        cmocka_unit_test(test_multifd_zlib_to_none_rp),
        cmocka_unit_test(test_multifd_none_to_zstd_rp),
        cmocka_unit_test(test_proxy_without_cut),
        cmocka_unit_test(test_channel_reset_mid_packet),
        cmocka_unit_test(test_channel_reset_after_init),
        cmocka_unit_test(test_channel_reset_of_8),
        cmocka_unit_test(test_channel_blackholed),
        cmocka_unit_test(test_multifd_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
