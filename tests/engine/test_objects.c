/* test_objects.c — object-add's objects kept by the engine: TLS credentials
 * loaded from the directories scripts/make-test-ca.sh makes, authorization
 * lists and their rules, QEMU 7.2's error texts, object-del (unknown, in
 * use, done), the --object form, and everything freed with the engine. */
#include "engine_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_objects.h"

static char g_tmp[256];   /* the temporary directory */
static char g_creds[300]; /* g_tmp/creds: make-test-ca.sh's layout */

typedef struct fixture {
    uv_loop_t loop;
    vmig_engine_t *e;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(vmig_engine_new(&f->loop, NULL, &f->e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    /* Objects left in the engine are freed with it (ASan checks). */
    assert_int_equal(vmig_engine_close(f->e, NULL, NULL), 0);
    vt_loop_done(&f->loop);
    free(f);
    return 0;
}

/* object-add of a JSON text: the return value, err filled. */
static int add(vmig_engine_t *e, vmig_qmp_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int add(vmig_engine_t *e, vmig_qmp_error_t *err, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_error_t jerr;
    json_t *args = json_loads(text, 0, &jerr);
    if (!args)
        fail_msg("bad JSON in test: %s: %s", text, jerr.text);
    memset(err, 0, sizeof(*err));
    int r = engine_object_add(e, args, err);
    json_decref(args);
    return r;
}

static void assert_generic(const vmig_qmp_error_t *err, const char *desc)
{
    assert_int_equal(err->cls, VMIG_QMP_ERROR_GENERIC);
    assert_string_equal(err->desc, desc);
}

static void test_x509(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err;
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"tls0\", \"dir\": "
                         "\"%s/server\", \"endpoint\": \"server\"}",
                         g_creds),
                     0);
    /* endpoint defaults to client; verify-peer false. */
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"tls1\", \"dir\": "
                         "\"%s/client\", \"verify-peer\": false}",
                         g_creds),
                     0);
    const vmig_tls_creds_t *s = engine_tls_creds(f->e, "tls0");
    const vmig_tls_creds_t *c = engine_tls_creds(f->e, "tls1");
    assert_non_null(s);
    assert_non_null(c);
    assert_int_equal(vmig_tls_creds_endpoint(s), VMIG_TLS_SERVER);
    assert_int_equal(vmig_tls_creds_endpoint(c), VMIG_TLS_CLIENT);
    assert_null(engine_tls_creds(f->e, "nosuch"));
    assert_null(engine_tls_creds(f->e, NULL));
    /* Not credentials: no credentials from it. */
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-simple\", \"id\": \"az\", "
                                     "\"identity\": \"CN=client\"}"),
                     0);
    assert_null(engine_tls_creds(f->e, "az"));
    assert_int_equal(engine_authz_check(f->e, "tls0", "CN=client"), -ENOENT);
}

static void test_psk(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err;
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-psk\", \"id\": \"p0\", \"dir\": \"%s/psk\"}",
                         g_creds),
                     0);
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-psk\", \"id\": \"p1\", \"dir\": \"%s/psk\", "
                         "\"endpoint\": \"client\", \"username\": \"alice\"}",
                         g_creds),
                     0);
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-psk\", \"id\": \"p2\", \"dir\": \"%s/psk\", "
                         "\"endpoint\": \"server\"}",
                         g_creds),
                     0);
    assert_int_equal(vmig_tls_creds_endpoint(engine_tls_creds(f->e, "p0")), VMIG_TLS_CLIENT);
    assert_int_equal(vmig_tls_creds_endpoint(engine_tls_creds(f->e, "p2")), VMIG_TLS_SERVER);
    /* A user keys.psk does not have. */
    assert_true(add(f->e, &err,
                    "{\"qom-type\": \"tls-creds-psk\", \"id\": \"p3\", \"dir\": \"%s/psk\", "
                    "\"username\": \"bob\"}",
                    g_creds) < 0);
    assert_int_equal(err.cls, VMIG_QMP_ERROR_GENERIC);
    assert_non_null(strstr(err.desc, "bob"));
    assert_null(engine_tls_creds(f->e, "p3"));
    /* No keys.psk: QEMU's text. */
    char want[512];
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-psk\", \"id\": \"p4\", \"dir\": \"%s/server\"}",
                         g_creds),
                     -ENOENT);
    snprintf(want, sizeof(want),
             "Unable to access credentials %s/server/keys.psk: No such file or directory",
             g_creds);
    assert_generic(&err, want);
}

static void test_errors(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err;
    char want[512];
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t0\", \"dir\": "
                         "\"%s/client\"}",
                         g_creds),
                     0);
    /* The same id again, whatever the type: QEMU's text. */
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t0\", \"dir\": "
                         "\"%s/client\"}",
                         g_creds),
                     -EEXIST);
    assert_generic(&err, "attempt to add duplicate property 't0' to object (type 'container')");
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-simple\", \"id\": \"t0\", "
                                     "\"identity\": \"x\"}"),
                     -EEXIST);
    assert_generic(&err, "attempt to add duplicate property 't0' to object (type 'container')");

    assert_true(add(f->e, &err, "{\"qom-type\": \"nosuch\", \"id\": \"t1\"}") < 0);
    assert_generic(&err, "Parameter 'qom-type' does not accept value 'nosuch'");
    assert_true(add(f->e, &err, "{\"id\": \"t1\"}") < 0);
    assert_generic(&err, "Parameter 'qom-type' is missing");
    assert_true(add(f->e, &err, "{\"qom-type\": \"authz-list\"}") < 0);
    assert_generic(&err, "Parameter 'id' is missing");
    assert_true(add(f->e, &err, "{\"qom-type\": \"authz-list\", \"id\": \"1bad\"}") < 0);
    assert_generic(&err, "Parameter 'id' expects an identifier");

    assert_true(add(f->e, &err, "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t2\"}") < 0);
    assert_generic(&err, "Missing 'dir' property value");
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t3\", \"dir\": "
                         "\"/nonexistent\"}"),
                     -ENOENT);
    assert_generic(&err,
                   "Unable to access credentials /nonexistent/ca-cert.pem: No such file or directory");
    /* A client directory has no server certificate. */
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t3\", \"dir\": "
                         "\"%s/client\", \"endpoint\": \"server\"}",
                         g_creds),
                     -ENOENT);
    snprintf(want, sizeof(want),
             "Unable to access credentials %s/client/server-cert.pem: No such file or directory",
             g_creds);
    assert_generic(&err, want);
    assert_true(add(f->e, &err,
                    "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t4\", \"dir\": \"%s/server\", "
                    "\"endpoint\": \"bogus\"}",
                    g_creds) < 0);
    assert_generic(&err, "Parameter 'endpoint' does not accept value 'bogus'");
    assert_true(add(f->e, &err,
                    "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t5\", \"dir\": \"%s/server\", "
                    "\"bogus\": 1}",
                    g_creds) < 0);
    assert_generic(&err, "Parameter 'bogus' is unexpected");
    assert_true(add(f->e, &err,
                    "{\"qom-type\": \"tls-creds-x509\", \"id\": \"t6\", \"dir\": \"%s/server\", "
                    "\"verify-peer\": \"yes\"}",
                    g_creds) < 0);
    assert_generic(&err, "Invalid parameter type for 'verify-peer', expected: boolean");
    assert_true(add(f->e, &err, "{\"qom-type\": \"authz-simple\", \"id\": \"s1\"}") < 0);
    assert_generic(&err, "Parameter 'identity' is missing");
    assert_true(add(f->e, &err, "{\"qom-type\": \"authz-list\", \"id\": \"a1\", "
                                "\"policy\": \"bogus\"}") < 0);
    assert_generic(&err, "Parameter 'policy' does not accept value 'bogus'");
    assert_true(add(f->e, &err, "{\"qom-type\": \"authz-list\", \"id\": \"a2\", "
                                "\"rules\": [{\"match\": \"x\"}]}") < 0);
    assert_generic(&err, "Parameter 'rules[0].policy' is missing");
    /* Nothing failed was kept. */
    for (const char *const *id = (const char *const[]){ "t1", "t2", "t3", "t4", "t5", "t6",
                                                          "s1", "a1", "a2", NULL };
         *id; id++) {
        assert_int_equal(engine_object_del(f->e, *id, NULL), -ENOENT);
    }
}

static void test_authz(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err;
    /* Default policy deny; first matching rule decides. */
    assert_int_equal(
        add(f->e, &err,
            "{\"qom-type\": \"authz-list\", \"id\": \"az0\", \"rules\": ["
            "{\"match\": \"CN=intruder,O=Example,C=US\", \"policy\": \"deny\"},"
            "{\"match\": \"CN=client,O=Example,C=US\", \"policy\": \"allow\"},"
            "{\"match\": \"CN=*,O=Example,C=US\", \"policy\": \"allow\", \"format\": \"glob\"},"
            "{\"match\": \"CN=*\", \"policy\": \"deny\", \"format\": \"glob\"}]}"),
        0);
    assert_int_equal(engine_authz_check(f->e, "az0", "CN=client,O=Example,C=US"), 1);
    assert_int_equal(engine_authz_check(f->e, "az0", "CN=intruder,O=Example,C=US"), 0);
    assert_int_equal(engine_authz_check(f->e, "az0", "CN=other,O=Example,C=US"), 1);
    assert_int_equal(engine_authz_check(f->e, "az0", "CN=other,O=Elsewhere,C=US"), 0);
    /* No rule matches: the policy, deny by default. */
    assert_int_equal(engine_authz_check(f->e, "az0", "O=Example"), 0);
    /* exact is exact: a glob pattern as text matches only itself. */
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"authz-list\", \"id\": \"az1\", \"policy\": \"allow\", "
                         "\"rules\": [{\"match\": \"CN=*\", \"policy\": \"deny\"}]}"),
                     0);
    assert_int_equal(engine_authz_check(f->e, "az1", "CN=client"), 1);
    assert_int_equal(engine_authz_check(f->e, "az1", "CN=*"), 0);
    /* No rules at all. */
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-list\", \"id\": \"az2\"}"), 0);
    assert_int_equal(engine_authz_check(f->e, "az2", "CN=client"), 0);
    /* authz-simple: that identity only. */
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-simple\", \"id\": \"az3\", "
                                     "\"identity\": \"CN=client,O=Example,C=US\"}"),
                     0);
    assert_int_equal(engine_authz_check(f->e, "az3", "CN=client,O=Example,C=US"), 1);
    assert_int_equal(engine_authz_check(f->e, "az3", "CN=client"), 0);
    assert_int_equal(engine_authz_check(f->e, "nosuch", "CN=client"), -ENOENT);
}

static void test_del(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err = { 0 };
    assert_int_equal(engine_object_del(f->e, "nosuch", &err), -ENOENT);
    assert_generic(&err, "object 'nosuch' not found");
    assert_int_equal(add(f->e, &err,
                         "{\"qom-type\": \"tls-creds-x509\", \"id\": \"tls0\", \"dir\": "
                         "\"%s/client\"}",
                         g_creds),
                     0);
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-list\", \"id\": \"az\"}"), 0);
    engine_object_hold(f->e, "tls0", true);
    engine_object_hold(f->e, "nosuch", true); /* nothing */
    assert_int_equal(engine_object_del(f->e, "tls0", &err), -EBUSY);
    assert_generic(&err, "object 'tls0' is in use, can not be deleted");
    assert_non_null(engine_tls_creds(f->e, "tls0"));
    engine_object_hold(f->e, "tls0", false);
    assert_int_equal(engine_object_del(f->e, "tls0", &err), 0);
    assert_null(engine_tls_creds(f->e, "tls0"));
    assert_int_equal(engine_object_del(f->e, "tls0", &err), -ENOENT);
    /* The id is free again. */
    assert_int_equal(add(f->e, &err, "{\"qom-type\": \"authz-simple\", \"id\": \"tls0\", "
                                     "\"identity\": \"x\"}"),
                     0);
    assert_int_equal(engine_object_del(f->e, "az", NULL), 0);
    assert_int_equal(engine_authz_check(f->e, "az", "x"), -ENOENT);
    /* "tls0" (authz-simple) is left for the engine's close to free. */
}

static void test_opts(void **state)
{
    fixture_t *f = *state;
    vmig_qmp_error_t err = { 0 };
    char opts[1024];
    snprintf(opts, sizeof(opts), "tls-creds-x509,id=tls0,dir=%s/server,endpoint=server,"
             "verify-peer=off", g_creds);
    assert_int_equal(engine_object_add_opts(f->e, opts, &err), 0);
    assert_int_equal(vmig_tls_creds_endpoint(engine_tls_creds(f->e, "tls0")), VMIG_TLS_SERVER);
    snprintf(opts, sizeof(opts), "tls-creds-psk,id=psk0,dir=%s/psk,username=alice", g_creds);
    assert_int_equal(engine_object_add_opts(f->e, opts, &err), 0);
    assert_non_null(engine_tls_creds(f->e, "psk0"));
    /* ",," is a comma inside a value; rules.N.member builds the list. */
    assert_int_equal(engine_object_add_opts(f->e,
                                            "authz-list,id=az,policy=deny,"
                                            "rules.0.match=CN=client,,O=Example,,C=US,"
                                            "rules.0.policy=allow,"
                                            "rules.1.match=CN=*,,O=Other,,C=US,"
                                            "rules.1.policy=allow,rules.1.format=glob",
                                            &err),
                     0);
    assert_int_equal(engine_authz_check(f->e, "az", "CN=client,O=Example,C=US"), 1);
    assert_int_equal(engine_authz_check(f->e, "az", "CN=x,O=Other,C=US"), 1);
    assert_int_equal(engine_authz_check(f->e, "az", "CN=x,O=Example,C=US"), 0);
    assert_int_equal(engine_object_add_opts(f->e, "authz-simple,id=s0,identity=CN=a", &err), 0);
    assert_int_equal(engine_authz_check(f->e, "s0", "CN=a"), 1);

    /* Errors: the same texts as object-add. */
    snprintf(opts, sizeof(opts), "tls-creds-x509,id=bad,dir=%s/server,verify-peer=maybe",
             g_creds);
    assert_true(engine_object_add_opts(f->e, opts, &err) < 0);
    assert_generic(&err, "Parameter 'verify-peer' expects 'on' or 'off'");
    assert_true(engine_object_add_opts(f->e, "tls-creds-x509,id=bad", &err) < 0);
    assert_generic(&err, "Missing 'dir' property value");
    assert_true(engine_object_add_opts(f->e, "nosuch,id=bad", &err) < 0);
    assert_generic(&err, "Parameter 'qom-type' does not accept value 'nosuch'");
    assert_true(engine_object_add_opts(f->e, "authz-simple,identity=x", &err) < 0);
    assert_generic(&err, "Parameter 'id' is missing");
    assert_true(engine_object_add_opts(f->e, "authz-simple,id=tls0,identity=x", &err) < 0);
    assert_generic(&err, "attempt to add duplicate property 'tls0' to object (type 'container')");
    assert_true(engine_object_add_opts(f->e, "authz-simple,id=x2,identity=x,junk=1", &err) < 0);
    assert_generic(&err, "Parameter 'junk' is unexpected");
    assert_true(engine_object_add_opts(f->e, "", &err) < 0);
    assert_true(engine_object_add_opts(f->e, "authz-list,id=x3,rules.5.match=x", &err) < 0);
    assert_true(engine_object_add_opts(f->e, NULL, &err) < 0);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(void)
{
    engine_test_setup();
    if (!vt_have_openssl("the object tests"))
        return 77;
    if (vt_make_test_ca("objects", g_tmp, sizeof(g_tmp)) < 0)
        return 1;
    snprintf(g_creds, sizeof(g_creds), "%s/creds", g_tmp);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_x509, setup, teardown),
        cmocka_unit_test_setup_teardown(test_psk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opts, setup, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    vt_rmtree(g_tmp);
    return r;
}
