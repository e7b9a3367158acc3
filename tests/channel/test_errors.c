/* test_errors.c — failures come back as negative errno values with messages a
 * user can act on: the refused address, the unknown protocol, the bad port,
 * the missing path. */
#include "chan_test.h"

/* Open uri and expect code; the message must contain every needle. */
static void expect_open(const char *uri, vmig_channel_dir_t dir, int code, const char *needle1,
                        const char *needle2)
{
    vmig_error_t err = {0};
    vmig_channel_t *ch = (vmig_channel_t *)&err; /* must come back NULL */
    int r = vmig_channel_open(vt_loop(), uri, dir, &ch, &err);
    if (r != code || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        print_error("%s: got %d \"%s\"\n", uri, r, err.msg);
    assert_int_equal(r, code);
    assert_int_equal(err.code, code);
    assert_null(ch);
    assert_non_null(strstr(err.msg, needle1));
    if (needle2)
        assert_non_null(strstr(err.msg, needle2));
}

static int refused_body(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    /* A port that was free a moment ago and has no listener now. */
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    char uri[64], addr[64];
    snprintf(uri, sizeof(uri), "%s", vmig_listener_uri(l));
    snprintf(addr, sizeof(addr), "%s", uri + 4);
    vmig_listener_close(l);
    expect_open(uri, VMIG_CHANNEL_OUTGOING, -ECONNREFUSED, "connection refused", addr);
    return 0;
}

static void test_errors_connection_refused(void **state)
{
    assert_int_equal(vt_run(refused_body, NULL), 0);
}

static int protocol_body(void *arg)
{
    expect_open("foo:bar", VMIG_CHANNEL_OUTGOING, -EINVAL, "unknown migration protocol: foo:bar", NULL);
    expect_open("", VMIG_CHANNEL_INCOMING, -EINVAL, "unknown migration protocol", NULL);
    expect_open("TCP:127.0.0.1:1", VMIG_CHANNEL_OUTGOING, -EINVAL, "unknown migration protocol", NULL);
    vmig_error_t err = {0};
    vmig_listener_t *l = (vmig_listener_t *)&err;
    assert_int_equal(vmig_listener_open(vt_loop(), "exec:cat", 1, &l, &err), -EINVAL);
    assert_null(l);
    assert_non_null(strstr(err.msg, "unknown migration protocol: exec:cat"));
    return 0;
}

static void test_errors_unknown_protocol(void **state)
{
    assert_int_equal(vt_run(protocol_body, NULL), 0);
}

static int port_body(void *arg)
{
    expect_open("tcp:127.0.0.1:99999", VMIG_CHANNEL_OUTGOING, -EINVAL, "bad port '99999'",
                "tcp:127.0.0.1:99999");
    expect_open("tcp:127.0.0.1:http", VMIG_CHANNEL_OUTGOING, -EINVAL, "bad port 'http'", NULL);
    expect_open("tcp:127.0.0.1:-1", VMIG_CHANNEL_OUTGOING, -EINVAL, "bad port '-1'", NULL);
    expect_open("tcp:127.0.0.1:0", VMIG_CHANNEL_OUTGOING, -EINVAL, "bad port 0", NULL);
    expect_open("tcp:127.0.0.1", VMIG_CHANNEL_OUTGOING, -EINVAL, "missing port", "tcp:HOST:PORT");
    expect_open("tcp:127.0.0.1:", VMIG_CHANNEL_OUTGOING, -EINVAL, "missing port", NULL);
    expect_open("tcp:[::1:4444", VMIG_CHANNEL_OUTGOING, -EINVAL, "missing ']'", NULL);
    expect_open("tcp:[nonsense]:4444", VMIG_CHANNEL_OUTGOING, -EINVAL, "bad IPv6 address 'nonsense'", NULL);
    expect_open("tcp:127.0.0.1:4444,bogus", VMIG_CHANNEL_OUTGOING, -EINVAL, "unsupported option 'bogus'",
                NULL);
    /* A listener may ask for port 0, but not for a port that cannot exist. */
    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(vt_loop(), "tcp:127.0.0.1:65536", 1, &l, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bad port '65536'"));
    return 0;
}

static void test_errors_bad_port(void **state)
{
    assert_int_equal(vt_run(port_body, NULL), 0);
}

static int path_body(void *arg)
{
    const char *dir = arg;
    char uri[400], path[300];
    snprintf(path, sizeof(path), "%s/no/such/file", dir);
    snprintf(uri, sizeof(uri), "file:%s", path);
    char want[400];
    snprintf(want, sizeof(want), "cannot open file:%s: No such file or directory", path);
    expect_open(uri, VMIG_CHANNEL_INCOMING, -ENOENT, want, NULL);
    expect_open(uri, VMIG_CHANNEL_OUTGOING, -ENOENT, want, NULL);
    /* A directory is not a stream. */
    snprintf(uri, sizeof(uri), "file:%s", dir);
    expect_open(uri, VMIG_CHANNEL_INCOMING, -EISDIR, dir, "directory");

    snprintf(path, sizeof(path), "%s/nosock", dir);
    snprintf(uri, sizeof(uri), "unix:%s", path);
    expect_open(uri, VMIG_CHANNEL_OUTGOING, -ENOENT, "cannot connect to unix:", path);
    /* sun_path is 108 bytes: a longer path is refused, not truncated. */
    char longuri[300] = "unix:/tmp/";
    memset(longuri + 10, 'x', 150);
    longuri[160] = '\0';
    expect_open(longuri, VMIG_CHANNEL_OUTGOING, -EINVAL, "unix socket path too long", NULL);

    expect_open("file:", VMIG_CHANNEL_INCOMING, -EINVAL, "missing path", NULL);
    expect_open("unix:", VMIG_CHANNEL_OUTGOING, -EINVAL, "missing path", NULL);
    expect_open("exec:", VMIG_CHANNEL_OUTGOING, -EINVAL, "missing command", NULL);
    return 0;
}

static void test_errors_missing_paths(void **state)
{
    chan_run_in_tmpdir(path_body);
}

/* Calls that must wait refuse to run outside a coroutine instead of aborting. */
static void test_errors_outside_coroutine(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_error_t err = {0};
    vmig_channel_t *ch;
    assert_int_equal(vmig_channel_open(&loop, "tcp:127.0.0.1:1", VMIG_CHANNEL_OUTGOING, &ch, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "coroutine"));
    vmig_error_clear(&err);
    assert_int_equal(vmig_channel_open(NULL, "tcp:127.0.0.1:1", VMIG_CHANNEL_OUTGOING, &ch, &err), -EINVAL);
    assert_int_equal(vmig_channel_open(&loop, NULL, VMIG_CHANNEL_OUTGOING, &ch, &err), -EINVAL);
    assert_int_equal(vmig_channel_open(&loop, "file:/x", VMIG_CHANNEL_OUTGOING, NULL, NULL), -EINVAL);
    vt_loop_done(&loop);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_connection_refused),
        cmocka_unit_test(test_errors_unknown_protocol),
        cmocka_unit_test(test_errors_bad_port),
        cmocka_unit_test(test_errors_missing_paths),
        cmocka_unit_test(test_errors_outside_coroutine),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
