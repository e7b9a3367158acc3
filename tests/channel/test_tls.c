/* test_tls.c — TLS channels (src/channel/channel_tls.c) over tcp loopback:
 * a client coroutine and a server coroutine on one loop handshake with the
 * credentials scripts/make-test-ca.sh makes, exchange 8 MiB each way, and
 * every refusal carries its message (wrong CA, expired, wrong host, client
 * not authorized, plain-text peers either way). Prints a throughput figure
 * (information only). Skips (77) without the openssl command. */
#include "chan_test.h"

#include "channel/channel_tls.h"

#include <sys/stat.h>

static char g_dir[256]; /* the credentials, made once */

/* ---- helpers ---------------------------------------------------------------------- */

typedef struct side {
    vmig_channel_t *inner;
    const vmig_tls_creds_t *creds;
    vmig_tls_opts_t opts;
    vmig_channel_t *tls;
    vmig_error_t err;
    int r;
} side_t;

static int side_body(void *arg)
{
    side_t *s = arg;
    s->r = vmig_channel_tls_wrap(s->inner, s->creds, &s->opts, &s->tls, &s->err);
    return 0;
}

static vmig_tls_creds_t *x509(const char *sub, vmig_tls_endpoint_t ep, bool verify_peer)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", g_dir, sub);
    vmig_tls_creds_t *c = NULL;
    vmig_error_t err = {0};
    int r = vmig_tls_creds_x509_load(dir, ep, verify_peer, &c, &err);
    if (r < 0)
        print_error("load %s: %s\n", dir, err.msg);
    assert_int_equal(r, 0);
    assert_int_equal(vmig_tls_creds_endpoint(c), ep);
    return c;
}

static vmig_tls_creds_t *psk(vmig_tls_endpoint_t ep, const char *user)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/psk", g_dir);
    vmig_tls_creds_t *c = NULL;
    vmig_error_t err = {0};
    int r = vmig_tls_creds_psk_load(dir, ep, user, &c, &err);
    if (r < 0)
        print_error("load %s: %s\n", dir, err.msg);
    assert_int_equal(r, 0);
    return c;
}

/* In a coroutine: a tcp pair, both ends wrapped at once. */
/* Close both ends and free their credentials. */
static void close_pair(side_t *cl, side_t *sv, vmig_tls_creds_t *cc, vmig_tls_creds_t *sc)
{
    vmig_channel_close(cl->tls);
    vmig_channel_close(sv->tls);
    vmig_tls_creds_free(cc);
    vmig_tls_creds_free(sc);
}

static void handshake_pair(side_t *cl, side_t *sv)
{
    chan_tcp_pair(&cl->inner, &sv->inner);
    co_t *a = vt_start(vt_loop(), side_body, sv);
    co_t *b = vt_start(vt_loop(), side_body, cl);
    assert_int_equal(co_join(a, NULL), 0);
    assert_int_equal(co_join(b, NULL), 0);
}

/* ---- a good handshake and data both ways --------------------------------------------- */

typedef struct good_case {
    const char *client_dir;  /* NULL: psk */
    const char *hostname;
    bool verify_peer;
    const char *const *authz;
    const char *psk_user;
    size_t len;              /* bytes each way */
} good_case_t;

static int good_body(void *arg)
{
    good_case_t *gc = arg;
    vmig_tls_creds_t *cc, *sc;
    if (gc->client_dir) {
        cc = x509(gc->client_dir, VMIG_TLS_CLIENT, false);
        sc = x509("server", VMIG_TLS_SERVER, gc->verify_peer);
    } else {
        cc = psk(VMIG_TLS_CLIENT, gc->psk_user);
        sc = psk(VMIG_TLS_SERVER, NULL);
    }
    side_t cl = {.creds = cc, .opts = {.hostname = gc->hostname}};
    side_t sv = {.creds = sc, .opts = {.authz = gc->authz}};
    handshake_pair(&cl, &sv);
    if (cl.r < 0)
        print_error("client: %s\n", cl.err.msg);
    if (sv.r < 0)
        print_error("server: %s\n", sv.err.msg);
    assert_int_equal(cl.r, 0);
    assert_int_equal(sv.r, 0);
    assert_string_equal(vmig_channel_kind(cl.tls), "tls");
    if (gc->client_dir)
        assert_string_equal(vmig_channel_tls_peer_dn(cl.tls), "CN=localhost,O=Example,C=US");
    if (gc->verify_peer)
        assert_string_equal(vmig_channel_tls_peer_dn(sv.tls), "CN=client,O=Example,C=US");
    chan_exchange(cl.tls, sv.tls, gc->len);
    char b;
    assert_int_equal(vmig_channel_read(cl.tls, &b, 1), 0);
    assert_int_equal(vmig_channel_read(sv.tls, &b, 1), 0);
    assert_int_equal(cl.tls->err.code, 0);
    assert_int_equal(sv.tls->err.code, 0);
    close_pair(&cl, &sv, cc, sc);
    return 0;
}

#define MIB (1024u * 1024u)

static void test_tls_ip(void **state)
{
    good_case_t gc = {"client", "127.0.0.1", false, NULL, NULL, 8 * MIB};
    assert_int_equal(vt_run(good_body, &gc), 0);
}

static void test_tls_ipv6_name(void **state)
{
    /* The check is against the certificate, whatever the transport. */
    good_case_t gc = {"client", "::1", false, NULL, NULL, 64 * 1024};
    assert_int_equal(vt_run(good_body, &gc), 0);
}

static void test_tls_dns(void **state)
{
    good_case_t gc = {"client", "localhost", false, NULL, NULL, 1 * MIB};
    assert_int_equal(vt_run(good_body, &gc), 0);
}

static void test_tls_verify_peer_authz(void **state)
{
    static const char *const authz[] = {"CN=someone,O=Else", "CN=client,O=Example,C=US", NULL};
    good_case_t gc = {"client", "127.0.0.1", true, authz, NULL, 1 * MIB};
    assert_int_equal(vt_run(good_body, &gc), 0);
}

static void test_tls_psk(void **state)
{
    good_case_t gc = {NULL, NULL, false, NULL, NULL, 8 * MIB};
    assert_int_equal(vt_run(good_body, &gc), 0);
    good_case_t alice = {NULL, NULL, false, NULL, "alice", 64 * 1024};
    assert_int_equal(vt_run(good_body, &alice), 0);
}

/* ---- many iovecs in one writev --------------------------------------------------------- */

typedef struct iov_read {
    vmig_channel_t *ch;
    uint8_t *buf;
    size_t len;
    ssize_t got;
} iov_read_t;

static int iov_read_body(void *arg)
{
    iov_read_t *rd = arg;
    rd->got = chan_read_full(rd->ch, rd->buf, rd->len);
    return 0;
}

static int iov_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *cc = x509("client", VMIG_TLS_CLIENT, false);
    vmig_tls_creds_t *sc = x509("server", VMIG_TLS_SERVER, false);
    side_t cl = {.creds = cc, .opts = {.hostname = "127.0.0.1"}};
    side_t sv = {.creds = sc};
    handshake_pair(&cl, &sv);
    assert_int_equal(cl.r, 0);
    assert_int_equal(sv.r, 0);
    enum { N = 1000 };
    static struct iovec iov[N];
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += (size_t)(i * 37 % 3000); /* empty ones included */
    uint8_t *src = malloc(total), *dst = malloc(total);
    assert_non_null(src);
    assert_non_null(dst);
    chan_pat_fill(7, 0, src, total);
    size_t off = 0;
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i * 37 % 3000);
        iov[i].iov_base = src + off;
        iov[i].iov_len = n;
        off += n;
    }
    iov_read_t rd = {sv.tls, dst, total, -1};
    co_t *r = vt_start(vt_loop(), iov_read_body, &rd);
    assert_int_equal(vmig_channel_writev(cl.tls, iov, N), 0);
    assert_int_equal(co_join(r, NULL), 0);
    assert_int_equal(rd.got, (ssize_t)total);
    assert_int_equal(chan_pat_check(7, 0, dst, total), total);
    free(src);
    free(dst);
    close_pair(&cl, &sv, cc, sc);
    return 0;
}

static void test_tls_many_iovecs(void **state)
{
    assert_int_equal(vt_run(iov_body, NULL), 0);
}

/* ---- refusals --------------------------------------------------------------------------- */

typedef struct bad_case {
    const char *client_dir;
    const char *server_dir;
    const char *hostname;
    bool verify_peer;
    const char *const *authz;
    const char *client_msg;  /* expected in the client's error (NULL: client may succeed) */
    const char *server_msg;  /* expected in the server's error */
} bad_case_t;

static int bad_body(void *arg)
{
    bad_case_t *bc = arg;
    vmig_tls_creds_t *cc = x509(bc->client_dir, VMIG_TLS_CLIENT, false);
    vmig_tls_creds_t *sc = x509(bc->server_dir, VMIG_TLS_SERVER, bc->verify_peer);
    side_t cl = {.creds = cc, .opts = {.hostname = bc->hostname}};
    side_t sv = {.creds = sc, .opts = {.authz = bc->authz}};
    handshake_pair(&cl, &sv);
    print_message("client: %s\nserver: %s\n", cl.r ? cl.err.msg : "ok", sv.r ? sv.err.msg : "ok");
    assert_true(sv.r < 0);
    assert_null(sv.tls);
    assert_non_null(strstr(sv.err.msg, bc->server_msg));
    if (bc->client_msg) {
        assert_true(cl.r < 0);
        assert_null(cl.tls);
        assert_string_equal(cl.err.msg, bc->client_msg);
    } else if (cl.r == 0) {
        /* The server refused after its handshake: the client learns at its first read. */
        char b;
        assert_true(vmig_channel_read(cl.tls, &b, 1) <= 0);
        vmig_channel_close(cl.tls);
    }
    vmig_tls_creds_free(cc);
    vmig_tls_creds_free(sc);
    return 0;
}

static void test_tls_wrong_ca(void **state)
{
    bad_case_t bc = {"wrong-ca", "server", "127.0.0.1", false, NULL,
                     "peer certificate not trusted", "TLS handshake with 127.0.0.1:"};
    assert_int_equal(vt_run(bad_body, &bc), 0);
}

static void test_tls_expired(void **state)
{
    bad_case_t bc = {"client", "expired", "127.0.0.1", false, NULL,
                     "peer certificate has expired", "TLS handshake with 127.0.0.1:"};
    assert_int_equal(vt_run(bad_body, &bc), 0);
}

static void test_tls_wrong_host(void **state)
{
    bad_case_t bc = {"client", "wronghost", "127.0.0.1", false, NULL,
                     "certificate for 'wrong.example' does not match host '127.0.0.1'",
                     "TLS handshake with 127.0.0.1:"};
    assert_int_equal(vt_run(bad_body, &bc), 0);
    bad_case_t dns = {"client", "wronghost", "localhost", false, NULL,
                      "certificate for 'wrong.example' does not match host 'localhost'",
                      "TLS handshake with 127.0.0.1:"};
    assert_int_equal(vt_run(bad_body, &dns), 0);
    /* The right certificate, an address it does not list. */
    bad_case_t ip = {"client", "server", "10.1.2.3", false, NULL,
                     "certificate for 'localhost' does not match host '10.1.2.3'",
                     "TLS handshake with 127.0.0.1:"};
    assert_int_equal(vt_run(bad_body, &ip), 0);
}

static void test_tls_not_authorized(void **state)
{
    static const char *const authz[] = {"CN=client,O=Example,C=US", NULL};
    bad_case_t bc = {"other-client", "server", "127.0.0.1", true, authz, NULL,
                     "TLS client 'CN=intruder,O=Example,C=US' is not authorized"};
    assert_int_equal(vt_run(bad_body, &bc), 0);
}

/* No hostname with x509: refused before anything is sent. */
static int nohost_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *cc = x509("client", VMIG_TLS_CLIENT, false);
    vmig_channel_t *c, *s;
    chan_tcp_pair(&c, &s);
    vmig_channel_t *t = NULL;
    vmig_error_t err = {0};
    vmig_tls_opts_t opts = {0};
    assert_true(vmig_channel_tls_wrap(c, cc, &opts, &t, &err) < 0);
    assert_null(t);
    assert_non_null(strstr(err.msg, "no hostname"));
    vmig_channel_close(s);
    vmig_tls_creds_free(cc);
    return 0;
}

static void test_tls_no_hostname(void **state)
{
    assert_int_equal(vt_run(nohost_body, NULL), 0);
}

/* ---- plain-text peers -------------------------------------------------------------------- */

typedef struct plain_peer {
    vmig_channel_t *ch;
    int result;
} plain_peer_t;

/* Writes a migration header and some more plain bytes, then reads until the end. */
static int plain_writer_body(void *arg)
{
    plain_peer_t *p = arg;
    uint8_t buf[256];
    memcpy(buf, "QEVM\0\0\0\3", 8);
    chan_pat_fill(3, 8, buf + 8, sizeof(buf) - 8);
    p->result = vmig_channel_write(p->ch, buf, sizeof(buf));
    while (vmig_channel_read(p->ch, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

/* Reads the 4-byte magic a plain destination expects, finds no "QEVM", quits. */
static int plain_reader_body(void *arg)
{
    plain_peer_t *p = arg;
    uint8_t magic[4];
    p->result = (int)chan_read_full(p->ch, magic, 4);
    assert_int_equal(p->result, 4);
    assert_false(memcmp(magic, "QEVM", 4) == 0);
    vmig_channel_close(p->ch);
    p->ch = NULL;
    return 0;
}

static int plain_client_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *sc = x509("server", VMIG_TLS_SERVER, false);
    side_t sv = {.creds = sc};
    vmig_channel_t *c;
    chan_tcp_pair(&c, &sv.inner);
    plain_peer_t p = {c, 0};
    co_t *pc = vt_start(vt_loop(), plain_writer_body, &p);
    side_body(&sv);
    print_message("server: %s\n", sv.err.msg);
    assert_true(sv.r < 0);
    assert_non_null(strstr(sv.err.msg, "TLS handshake with 127.0.0.1:"));
    assert_int_equal(co_join(pc, NULL), 0);
    vmig_channel_close(c);
    vmig_tls_creds_free(sc);
    return 0;
}

static void test_tls_plain_client(void **state)
{
    assert_int_equal(vt_run(plain_client_body, NULL), 0);
}

static int plain_server_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *cc = x509("client", VMIG_TLS_CLIENT, false);
    side_t cl = {.creds = cc, .opts = {.hostname = "127.0.0.1"}};
    vmig_channel_t *s;
    chan_tcp_pair(&cl.inner, &s);
    plain_peer_t p = {s, 0};
    co_t *pc = vt_start(vt_loop(), plain_reader_body, &p);
    uint64_t t0 = uv_hrtime();
    side_body(&cl);
    print_message("client: %s (%llu ms)\n", cl.err.msg, (unsigned long long)vt_ms_since(t0));
    assert_true(cl.r < 0);
    assert_non_null(strstr(cl.err.msg, "TLS handshake with 127.0.0.1:"));
    assert_int_equal(co_join(pc, NULL), 0);
    vmig_tls_creds_free(cc);
    return 0;
}

static void test_tls_plain_server(void **state)
{
    assert_int_equal(vt_run(plain_server_body, NULL), 0);
}

/* ---- shutdown while a read waits ---------------------------------------------------------- */

static int shut_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *cc = psk(VMIG_TLS_CLIENT, NULL);
    vmig_tls_creds_t *sc = psk(VMIG_TLS_SERVER, NULL);
    side_t cl = {.creds = cc};
    side_t sv = {.creds = sc};
    handshake_pair(&cl, &sv);
    assert_int_equal(cl.r, 0);
    assert_int_equal(sv.r, 0);
    ssize_t r = chan_read_until_shutdown(sv.tls, SHUT_RDWR);
    assert_true(r <= 0);
    /* The client sees the end too. */
    char b;
    assert_true(vmig_channel_read(cl.tls, &b, 1) <= 0);
    close_pair(&cl, &sv, cc, sc);
    return 0;
}

static void test_tls_shutdown_read(void **state)
{
    assert_int_equal(vt_run(shut_body, NULL), 0);
}

/* ---- credentials errors ------------------------------------------------------------------- */

static void test_tls_creds_errors(void **state)
{
    vmig_tls_creds_t *c = NULL;
    vmig_error_t err = {0};
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/nowhere", g_dir);
    assert_true(vmig_tls_creds_x509_load(dir, VMIG_TLS_SERVER, true, &c, &err) < 0);
    assert_null(c);
    assert_non_null(strstr(err.msg, "ca-cert.pem"));
    vmig_error_clear(&err);
    /* A client directory has no server certificate. */
    snprintf(dir, sizeof(dir), "%s/client", g_dir);
    assert_true(vmig_tls_creds_x509_load(dir, VMIG_TLS_SERVER, true, &c, &err) < 0);
    assert_non_null(strstr(err.msg, "server-cert.pem"));
    vmig_error_clear(&err);
    snprintf(dir, sizeof(dir), "%s/psk", g_dir);
    assert_true(vmig_tls_creds_psk_load(dir, VMIG_TLS_CLIENT, "nobody", &c, &err) < 0);
    assert_non_null(strstr(err.msg, "nobody"));
}

/* ---- throughput (information only) ---------------------------------------------------------- */

/* Fixed buffers, no pattern: the figure is the channel's, not the test's. */
typedef struct speed_io {
    vmig_channel_t *ch;
    size_t total;
    size_t done;
} speed_io_t;

static int speed_write_body(void *arg)
{
    speed_io_t *w = arg;
    size_t chunk = 4 * MIB;
    uint8_t *buf = malloc(chunk);
    assert_non_null(buf);
    memset(buf, 0x5a, chunk);
    while (w->done < w->total) {
        assert_int_equal(vmig_channel_write(w->ch, buf, chunk), 0);
        w->done += chunk;
    }
    free(buf);
    return vmig_channel_shutdown(w->ch, SHUT_WR);
}

static int speed_read_body(void *arg)
{
    speed_io_t *rd = arg;
    uint8_t *buf = malloc(MIB);
    assert_non_null(buf);
    ssize_t n;
    while ((n = vmig_channel_read(rd->ch, buf, MIB)) > 0)
        rd->done += (size_t)n;
    free(buf);
    return (int)n;
}

static int speed_body(void *arg)
{
    (void)arg;
    vmig_tls_creds_t *cc = x509("client", VMIG_TLS_CLIENT, false);
    vmig_tls_creds_t *sc = x509("server", VMIG_TLS_SERVER, false);
    side_t cl = {.creds = cc, .opts = {.hostname = "127.0.0.1"}};
    side_t sv = {.creds = sc};
    handshake_pair(&cl, &sv);
    assert_int_equal(cl.r, 0);
    assert_int_equal(sv.r, 0);
    speed_io_t w = {cl.tls, 256 * MIB, 0}, rd = {sv.tls, 0, 0};
    uint64_t t0 = uv_hrtime();
    co_t *a = vt_start(vt_loop(), speed_read_body, &rd);
    co_t *b = vt_start(vt_loop(), speed_write_body, &w);
    assert_int_equal(co_join(b, NULL), 0);
    assert_int_equal(co_join(a, NULL), 0);
    double s = (double)(uv_hrtime() - t0) / 1e9;
    assert_int_equal(rd.done, w.total);
    print_message("TLS throughput, one way over loopback: %.0f MB/s (information only)\n",
                  (double)w.total / s / 1e6);
    close_pair(&cl, &sv, cc, sc);
    return 0;
}

static void test_tls_throughput(void **state)
{
    assert_int_equal(vt_run(speed_body, NULL), 0);
}

/* ---- main ------------------------------------------------------------------------------- */

static int make_creds(void **state)
{
    if (vt_make_test_ca("chan-tls", g_dir, sizeof(g_dir)) < 0)
        return -1;
    strncat(g_dir, "/creds", sizeof(g_dir) - strlen(g_dir) - 1);
    return 0;
}

static int remove_creds(void **state)
{
    char *slash = strrchr(g_dir, '/');
    *slash = 0;
    vt_rmtree(g_dir);
    return 0;
}

int main(void)
{
    chan_test_setup();
    if (!vt_have_openssl("the TLS tests"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_ip),
        cmocka_unit_test(test_tls_ipv6_name),
        cmocka_unit_test(test_tls_dns),
        cmocka_unit_test(test_tls_verify_peer_authz),
        cmocka_unit_test(test_tls_psk),
        cmocka_unit_test(test_tls_many_iovecs),
        cmocka_unit_test(test_tls_wrong_ca),
        cmocka_unit_test(test_tls_expired),
        cmocka_unit_test(test_tls_wrong_host),
        cmocka_unit_test(test_tls_not_authorized),
        cmocka_unit_test(test_tls_no_hostname),
        cmocka_unit_test(test_tls_plain_client),
        cmocka_unit_test(test_tls_plain_server),
        cmocka_unit_test(test_tls_shutdown_read),
        cmocka_unit_test(test_tls_creds_errors),
        cmocka_unit_test(test_tls_throughput),
    };
    return cmocka_run_group_tests(tests, make_creds, remove_creds);
}
