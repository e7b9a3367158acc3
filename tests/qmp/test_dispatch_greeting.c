/* test_dispatch_greeting.c — the greeting and query-version, byte for byte
 * as QEMU 7.2 writes them (member order included). */
#include "dispatch_test.h"

static void test_greeting(void **state)
{
    dt_t t;
    dt_conn_t a, b;
    dt_init(&t);
    dt_open(&t, &a, true);
    dt_open(&t, &b, false);
    json_t *g = qmp_dispatch_greeting(t.qmp, &a.conn);
    vmig_qmp_conn_send(&a.conn, g);
    dt_expect(&a, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                  "\"package\": \"vmig-test\"}, \"capabilities\": [\"oob\"]}}");
    g = qmp_dispatch_greeting(t.qmp, &b.conn);
    vmig_qmp_conn_send(&b.conn, g);
    dt_expect(&b, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                  "\"package\": \"vmig-test\"}, \"capabilities\": []}}");
    dt_close(&t, &a);
    dt_close(&t, &b);
    dt_done(&t);
}

/* Without a version the monitor announces QEMU 7.2.0; the package string
 * is copied. */
static void test_defaults(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    char pkg[16] = "pkg-1";
    vmig_qmp_opts_t o = { .package = pkg };
    vmig_qmp_t *qmp = vmig_qmp_new(&loop, &o);
    assert_non_null(qmp);
    strcpy(pkg, "changed");
    assert_ptr_equal(vmig_qmp_loop(qmp), &loop);
    assert_int_equal(qmp->opts.max_input, 1u << 20);
    assert_int_equal(qmp->opts.max_depth, 64);
    assert_int_equal(qmp->opts.max_output, 8u << 20);
    dt_conn_t c;
    dt_t t;
    memset(&t, 0, sizeof(t));
    t.qmp = qmp; /* the helpers below use only the monitor */
    dt_open(&t, &c, true);
    dt_negotiate(&t, &c, false);
    dt_exchange(&t, &c, "{\"execute\": \"query-version\"}",
                "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                "\"package\": \"pkg-1\"}}");
    dt_close(&t, &c);
    vmig_qmp_free(qmp); /* nothing runs: no coroutine needed */
    assert_null(vmig_qmp_new(NULL, NULL));
    vt_loop_done(&loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
