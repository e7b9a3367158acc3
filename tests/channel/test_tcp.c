/* test_tcp.c — tcp: channels over loopback: a listener on port 0 reports the
 * port it got, a connect reaches it, and 16 MiB cross each way at once with
 * every byte checked (IPv4, IPv6 when the host has it, and a host name). */
#include "chan_test.h"

#define BIG (16u * 1024 * 1024)

typedef struct tcp_case {
    const char *listen_uri;   /* what to listen on */
    const char *expect_host;  /* the listener URI must start with tcp:<this>: */
    const char *connect_host; /* host to connect to ("" = the listener's) */
    size_t len;               /* bytes each way */
    bool skipped;             /* IPv6 missing: nothing was checked */
} tcp_case_t;

static int tcp_body(void *arg)
{
    tcp_case_t *tc = arg;
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    vmig_listener_t *l = NULL;
    int r = vmig_listener_open(loop, tc->listen_uri, 4, &l, &err);
    if (r < 0 && strchr(tc->listen_uri, '[')) {
        /* No IPv6 loopback here (disabled, or a container without it). */
        print_message("IPv6 not available (%s): skipping\n", err.msg);
        tc->skipped = true;
        return 0;
    }
    assert_int_equal(r, 0);
    assert_non_null(l);

    /* The URI names the port the kernel picked, not 0. */
    const char *uri = vmig_listener_uri(l);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "tcp:%s:", tc->expect_host);
    assert_true(strncmp(uri, prefix, strlen(prefix)) == 0);
    long port = strtol(uri + strlen(prefix), NULL, 10);
    assert_true(port > 0 && port <= 65535);

    chan_accept_t acc;
    co_t *ac = chan_accept_start(l, &acc); /* waits for the connection */
    assert_false(co_finished(ac));

    char curi[128];
    if (tc->connect_host[0])
        snprintf(curi, sizeof(curi), "tcp:%s:%ld", tc->connect_host, port);
    else
        snprintf(curi, sizeof(curi), "%s", uri);
    vmig_channel_t *c = NULL;
    r = vmig_channel_open(loop, curi, VMIG_CHANNEL_OUTGOING, &c, &err);
    if (r < 0)
        print_error("connect to %s: %s\n", curi, err.msg);
    assert_int_equal(r, 0);
    vmig_channel_t *s = chan_accept_join(ac, &acc);

    assert_string_equal(vmig_channel_kind(c), "tcp");
    assert_string_equal(vmig_channel_kind(s), "tcp");
    /* Each side names the other's address; the client's includes the port. */
    char portstr[16];
    snprintf(portstr, sizeof(portstr), ":%ld", port);
    assert_non_null(strstr(c->peer, tc->expect_host));
    assert_non_null(strstr(c->peer, portstr));
    assert_non_null(strstr(s->peer, tc->expect_host));

    vmig_listener_close(l);
    chan_exchange(c, s, tc->len);

    /* Both writers shut down their side, both readers saw the end: a further
     * read still says end of stream. */
    char b;
    assert_int_equal(vmig_channel_read(c, &b, 1), 0);
    assert_int_equal(vmig_channel_read(s, &b, 1), 0);
    assert_int_equal(c->err.code, 0);
    assert_int_equal(s->err.code, 0);
    vmig_channel_close(c);
    vmig_channel_close(s);
    return 0;
}

static void test_tcp_ipv4(void **state)
{
    tcp_case_t tc = {"tcp:127.0.0.1:0", "127.0.0.1", "", BIG, false};
    assert_int_equal(vt_run(tcp_body, &tc), 0);
}

static void test_tcp_ipv6(void **state)
{
    tcp_case_t tc = {"tcp:[::1]:0", "[::1]", "", BIG, false};
    assert_int_equal(vt_run(tcp_body, &tc), 0);
    if (tc.skipped)
        skip();
}

/* A name goes through the resolver (on the pool, only the coroutine waits). */
static void test_tcp_hostname(void **state)
{
    tcp_case_t tc = {"tcp:127.0.0.1:0", "127.0.0.1", "localhost", 1024 * 1024, false};
    assert_int_equal(vt_run(tcp_body, &tc), 0);
}

/* QEMU's -incoming tcp:HOST:PORT: open INCOMING listens and takes one connection. */
typedef struct incoming_arg {
    int port;              /* where the destination listens */
    vmig_channel_t *ch;    /* its channel */
    int result;            /* vmig_channel_open()'s result */
} incoming_arg_t;

static int incoming_body(void *arg)
{
    incoming_arg_t *ia = arg;
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", ia->port);
    vmig_error_t err = {0};
    ia->result = vmig_channel_open(vt_loop(), uri, VMIG_CHANNEL_INCOMING, &ia->ch, &err);
    return 0;
}

static int incoming_main(void *arg)
{
    uv_loop_t *loop = vt_loop();
    vmig_error_t err = {0};
    /* Find a free port: listen on 0, note it, stop. */
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, "tcp:127.0.0.1:0", 1, &l, &err), 0);
    int port = (int)strtol(vmig_listener_uri(l) + strlen("tcp:127.0.0.1:"), NULL, 10);
    vmig_listener_close(l);

    incoming_arg_t ia = {.port = port};
    co_t *dst = co_create(loop, incoming_body, &ia);
    co_enter(dst);
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", port);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_OUTGOING, &c, &err), 0);
    assert_int_equal(co_join(dst, NULL), 0);
    assert_int_equal(ia.result, 0);
    assert_int_equal(vmig_channel_write(c, "hello", 5), 0);
    char buf[8] = {0};
    assert_int_equal(chan_read_full(ia.ch, buf, 5), 5);
    assert_string_equal(buf, "hello");
    vmig_channel_close(c);
    vmig_channel_close(ia.ch);
    return 0;
}

static void test_tcp_incoming_uri(void **state)
{
    assert_int_equal(vt_run(incoming_main, NULL), 0);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_ipv4),
        cmocka_unit_test(test_tcp_ipv6),
        cmocka_unit_test(test_tcp_hostname),
        cmocka_unit_test(test_tcp_incoming_uri),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
