/* test_transport_real.c — the transport with the real dispatch half behind
 * it (vmig_qmp_new), through a unix socket: QEMU 7.2's exact bytes for the
 * greeting and for malformed input, a client hanging up mid-command (its
 * reply dropped, nothing left behind), 2000 connections, out-of-band
 * commands overtaking an in-band one, and freeing with a command running. */
#define TT_REAL_DISPATCHER 1
#include "transport_test.h"

/* The "stop" handler stands for any long command: it sleeps stop_ms. */
static atomic_uint stop_ms = 2000;
static atomic_uint stop_started, stop_finished, stop_dropped, stop_cancelled;

static int cmd_stop(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    atomic_fetch_add(&stop_started, 1);
    int r = co_sleep(atomic_load(&stop_ms));
    atomic_fetch_add(&stop_finished, 1);
    if (r < 0) {
        atomic_fetch_add(&stop_cancelled, 1);
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "cancelled");
    }
    if (!req->conn)
        atomic_fetch_add(&stop_dropped, 1);
    *ret = NULL;
    return 0;
}

static int cmd_query_status(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                            vmig_qmp_error_t *err)
{
    *ret = json_pack("{s:s,s:b,s:b}", "status", "running", "singlestep", 0, "running", 1);
    return 0;
}

static int cmd_migrate_pause(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                             vmig_qmp_error_t *err)
{
    *ret = NULL;
    return 0;
}

static int tt_register(tt_server_t *s)
{
    int r = vmig_qmp_register(s->qmp, "stop", cmd_stop, NULL);
    if (r == 0)
        r = vmig_qmp_register(s->qmp, "query-status", cmd_query_status, NULL);
    if (r == 0)
        r = vmig_qmp_register(s->qmp, "migrate-pause", cmd_migrate_pause, NULL);
    return r;
}

static tt_server_t *start(tt_dir_t *d)
{
    vmig_qmp_opts_t opts = {.version_major = 7, .version_minor = 2, .version_micro = 22,
                            .package = "Debian 1:7.2+dfsg-7+deb12u18+b3"};
    return tt_start_unix(d, &opts);
}

static void expect_line(tt_client_t *c, const char *want)
{
    char *line = tt_line(c);
    assert_non_null(line);
    assert_string_equal(line, want);
    free(line);
}

/* Input and what QEMU 7.2.22 (`-qmp stdio`) answered, byte for byte. */
static void test_qemu_bytes(void **state)
{
    tt_dir_t d;
    tt_server_t *s = start(&d);
    tt_client_t *c = tt_connect_unix(d.uri);
    assert_non_null(c);
    expect_line(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                   "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n");
    tt_send(c, "{\"execute\":\"qmp_capabilities\"}");
    expect_line(c, "{\"return\": {}}\r\n");
    static const struct {
        const char *in;    /* sent */
        const char *out;   /* QEMU's replies */
    } cases[] = {
        {"foo bar\n", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'foo'\"}}\r\n"
                      "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'bar'\"}}\r\n"},
        {"}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"{\"execute\":\"query-status\"} {\"execute\":\"x\"}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}\r\n"
         "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command x has not been found\"}}\r\n"},
        {"\x01", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u0001'\"}}\r\n"},
        {"{\"execute\": \x01 \"query-status\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\u0001'\"}}\r\n"
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"{\"execute\":\"qmp_capabilities\n\"}",
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\\"qmp_capabilities\\n'\"}}\r\n"
         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n"},
        {"\xff", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\uFFFD'\"}}\r\n"},
        {"{\"a\":1,\"a\":2}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, duplicate key\"}}\r\n"},
        {"\"str\"", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"[1]", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n"},
        {"{'execute':'query-status', 'id': 'a\\'b\"c'}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": \"a'b\\\"c\"}\r\n"},
        {"{\"execute\":\"query-status\",\"id\":\"x\\u00e9\\ud83d\\ude00/\\u007f\"}",
         "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, "
         "\"id\": \"x\\u00E9\\uD83D\\uDE00/\\u007F\"}\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tt_send(c, cases[i].in);
        /* The expected text holds one or two lines. */
        const char *want = cases[i].out;
        while (*want) {
            const char *eol = strstr(want, "\r\n");
            assert_non_null(eol);
            size_t n = (size_t)(eol + 2 - want);
            char *line = tt_line(c);
            assert_non_null(line);
            if (strncmp(want, "{\"return\"", 9) == 0) {
                /* The member order of a command's reply is the dispatcher's
                 * business (QEMU's QDict order): compare values only. */
                json_t *a = json_loadb(line, strlen(line), 0, NULL);
                json_t *b = json_loadb(want, n, 0, NULL);
                if (!a || !b || !json_equal(a, b))
                    fail_msg("case %zu: got %s want %.*s", i, line, (int)n, want);
                json_decref(a);
                json_decref(b);
            } else if (strlen(line) != n || memcmp(line, want, n) != 0) {
                fail_msg("case %zu: got %s want %.*s", i, line, (int)n, want);
            }
            free(line);
            want = eol + 2;
        }
    }
    tt_close(c);
    tt_finish(s, &d);
}

/* A client that hangs up while its command runs is gone at once; the
 * command finishes with req->conn == NULL. */
static void test_hangup_mid_command(void **state)
{
    tt_dir_t d;
    tt_server_t *s = start(&d);
    atomic_store(&stop_ms, 1000);
    unsigned started = atomic_load(&stop_started), dropped = atomic_load(&stop_dropped);
    tt_client_t *c = tt_client_ready(d.uri);
    tt_send(c, "{\"execute\":\"stop\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}");
    tt_wait_eq(&stop_started, started + 1);
    tt_wait_live(s, 1);
    uint64_t t0 = tt_now_ms();
    tt_close(c);
    tt_wait_live(s, 0);
    assert_true(tt_now_ms() - t0 < 500);
    assert_int_equal(tt_wait_eq(&stop_dropped, dropped + 1), dropped + 1);
    tt_finish(s, &d);
}

/* With "oob", an exec-oob command is read and answered while an in-band
 * one runs; freeing the monitor cancels the command still running. */
static void test_oob_overtakes(void **state)
{
    tt_dir_t d;
    tt_server_t *s = start(&d);
    atomic_store(&stop_ms, 300);
    tt_client_t *c = tt_connect_unix(d.uri);
    assert_non_null(c);
    json_decref(tt_recv(c));
    tt_send(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}");
    expect_line(c, "{\"return\": {}}\r\n");
    tt_send(c, "{\"execute\":\"stop\",\"id\":1}{\"exec-oob\":\"migrate-pause\",\"id\":\"oob\"}");
    expect_line(c, "{\"return\": {}, \"id\": \"oob\"}\r\n");
    expect_line(c, "{\"return\": {}, \"id\": 1}\r\n");

    atomic_store(&stop_ms, 60000);
    unsigned cancelled = atomic_load(&stop_cancelled), started = atomic_load(&stop_started);
    tt_send(c, "{\"execute\":\"stop\",\"id\":2}");
    tt_wait_eq(&stop_started, started + 1);
    uint64_t t0 = tt_now_ms();
    tt_stop(s);
    assert_true(tt_now_ms() - t0 < 2000);
    assert_int_equal(atomic_load(&stop_cancelled), cancelled + 1);
    assert_null(tt_line(c));
    tt_close(c);
    tt_rmdir(d.dir);
}

#define CONNECTIONS 2000

static void test_many_connections(void **state)
{
    tt_dir_t d;
    tt_server_t *s = start(&d);
    atomic_store(&stop_ms, 20);
    unsigned fds0 = tt_count_fds();
    for (int i = 0; i < CONNECTIONS; i++) {
        tt_client_t *c = tt_connect_unix(d.uri);
        assert_non_null(c);
        switch (i % 4) {
        case 0:
            break;
        case 1:
            tt_negotiate(c);
            tt_send(c, "{\"execute\":\"query-status\",\"id\":1}");
            json_decref(tt_recv(c));
            break;
        case 2:
            tt_negotiate(c);
            tt_send(c, "{\"execute\":\"stop\",\"id\":2}{\"execute\":\"query-status\"}");
            break;
        case 3:
            tt_send(c, "{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-");
            break;
        }
        tt_close(c);
    }
    tt_wait_live(s, 0);
    /* Every stop that started finishes. Re-read both counters: a request its
     * connection's worker had already taken may start just after the close
     * (and then runs with req->conn == NULL). */
    uint64_t t0 = tt_now_ms();
    while (atomic_load(&stop_finished) != atomic_load(&stop_started) && tt_now_ms() - t0 < TT_WAIT_MS)
        tt_sleep_ms(1);
    assert_int_equal(atomic_load(&stop_finished), atomic_load(&stop_started));
    assert_int_equal(tt_count_fds(), fds0);
    tt_finish(s, &d);
}

int main(void)
{
    vt_test_setup(TT_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_bytes),
        cmocka_unit_test(test_hangup_mid_command),
        cmocka_unit_test(test_oob_overtakes),
        cmocka_unit_test(test_many_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
