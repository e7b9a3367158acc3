/* test_tls_faults.c — the fault proxy between two engines migrating over
 * TLS (x509 credentials of scripts/make-test-ca.sh): cuts during the
 * handshake and the stream, and flipped bytes, which TLS's record MACs
 * catch: unlike plain TCP, a flipped byte never loads different memory.
 * Every case makes fault_pair.h's checks (source intact and running unless
 * completed, destination failed with a reason or equal). */
#include "fault_pair.h"

#include "engine/engine_objects.h"
#include "migration/mig_params.h"

static char g_creds[600]; /* the credentials directory */

static void add_creds(job_vm_t *vm, const char *endpoint)
{
    char opts[700];
    snprintf(opts, sizeof(opts), "tls-creds-x509,id=tls0,dir=%s/%s,endpoint=%s", g_creds, endpoint, endpoint);
    vmig_qmp_error_t qe = { 0 };
    if (engine_object_add_opts(vm->e, opts, &qe) < 0)
        fail_msg("%s", qe.desc);
    json_t *args = json_pack("{s:s}", "tls-creds", "tls0");
    assert_non_null(args);
    int r = vmig_mig_set_params(&vm->e->mig->cfg, args, &qe);
    json_decref(args);
    if (r < 0)
        fail_msg("tls-creds: %s", qe.desc);
    mig_params_changed(vm->e->mig);
}

static void setup_tls(pair_t *p, void *arg)
{
    (void)arg;
    add_creds(&p->src, "client");
    add_creds(&p->dst, "server");
}

static uint64_t tls_total(void)
{
    return clean_total_with(setup_tls, NULL, " over TLS");
}

static void print_case(const char *what, uint64_t n, const outcome_t *o)
{
    print_message("%s %-9llu source %-9s dest %-9s %s / %s\n", what, (unsigned long long)n,
                  st(o->src_st), st(o->dst_st), dash(o->src_err[0] ? o->src_err : NULL),
                  dash(o->dst_err[0] ? o->dst_err : NULL));
}

/* The handshake's size varies by a few bytes from run to run (ECDSA
 * signatures), so the last fault lands 20 bytes before the end: inside the
 * last record's 16-byte tag whatever the run. */
static void test_tls_cut(void **state)
{
    (void)state;
    uint64_t total = tls_total();
    /* In the ClientHello, the server's flight, the client's Finished, then
     * across the stream and its end. */
    const uint64_t pts[] = { 0, 5, 100, 300, 1000, total / 4, total / 2, total * 3 / 4,
                             total - 4096, total - 64, total - 20 };
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        outcome_t o;
        run_case_with(setup_tls, NULL, FP_CUT, pts[i], &o, RAM_SIZE);
        print_case("cut ", pts[i], &o);
        assert_true(o.fired);
        if (o.dst_st == VMIG_MIGRATION_STATUS_COMPLETED)
            assert_true(o.dst_equal);
    }
}

static void test_tls_flip(void **state)
{
    (void)state;
    uint64_t total = tls_total();
    const uint64_t offs[] = { 0, 3, 50, 200, 1000, 5000, total / 3, total / 2, total - 100,
                              total - 20 };
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        outcome_t o;
        run_case_with(setup_tls, NULL, FP_FLIP, offs[i], &o, RAM_SIZE);
        print_case("flip", offs[i], &o);
        assert_true(o.fired);
        /* A record whose MAC fails is refused: the destination never
         * completes with memory other than the source's. */
        if (o.dst_st == VMIG_MIGRATION_STATUS_COMPLETED) {
            assert_true(o.dst_equal);
            continue;
        }
        assert_int_equal(o.dst_st, VMIG_MIGRATION_STATUS_FAILED);
        /* After the handshake the failed MAC is the reason given, even for
         * the stream's last record (once reported as a truncation). */
        if (offs[i] >= 1000 && !strstr(o.dst_err, "MAC"))
            fail_msg("flip %llu: \"%s\" does not name the bad MAC",
                     (unsigned long long)offs[i], o.dst_err);
    }
}

static char g_dir[512]; /* holds creds/ */

static int make_creds(void **state)
{
    (void)state;
    if (vt_make_test_ca("tls-faults", g_dir, sizeof(g_dir)) < 0)
        return -1;
    snprintf(g_creds, sizeof(g_creds), "%s/creds", g_dir);
    return 0;
}

static int remove_creds(void **state)
{
    (void)state;
    vt_rmtree(g_dir);
    return 0;
}

int main(void)
{
    vt_test_setup(300);
    if (!vt_have_openssl("the TLS fault tests"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_cut),
        cmocka_unit_test(test_tls_flip),
    };
    return cmocka_run_group_tests(tests, make_creds, remove_creds);
}
