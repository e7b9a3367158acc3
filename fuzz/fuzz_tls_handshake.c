/* fuzz_tls_handshake.c — libFuzzer harness of the TLS handshake driver
 * (src/channel/channel_tls.c): the input is everything "the peer" sends,
 * fed once to a server-side and once to a client-side handshake (x509, and
 * a PSK server). Each must end with an error (or, for an impossible valid
 * transcript, success) cleanly: no crash, no hang, the channel freed.
 *
 * The transport is a memory channel: reads come from a
 * vmig_channel_memory_reader over the input, writes are discarded. The wrap
 * runs mbedtls on libuv's pool and needs a coroutine: each run creates one
 * on a loop kept for the process.
 *
 * Credentials: an EC P-256 test CA and a server certificate for localhost
 * (made by scripts/make-test-ca.sh, valid until 2036) are embedded and written
 * to a private temporary directory once.
 *
 * Seeds (fuzz/corpus/fuzz_tls_handshake/): a ClientHello and a server's first
 * flight (python's ssl module), a plain QEMU stream header, a record header
 * alone, an alert, empty input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel/channel.h"
#include "channel/channel_tls.h"
#include "vmig/co.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIB0jCCAXegAwIBAgIUazGPFVSV0Fy7/W0V7r7st/eyl6cwCgYIKoZIzj0EAwIw\n"
    "NjELMAkGA1UEBhMCVVMxEDAOBgNVBAoMB0V4YW1wbGUxFTATBgNVBAMMDHZtaWcg\n"
    "dGVzdCBDQTAeFw0yNjExMjYxNzI2MzNaFw0zNjExMjMxNzI2MzNaMDYxCzAJBgNV\n"
    "BAYTAlVTMRAwDgYDVQQKDAdFeGFtcGxlMRUwEwYDVQQDDAx2bWlnIHRlc3QgQ0Ew\n"
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASBPDzgnmy7kTrL131bZVyGL2riSVB5\n"
    "I3fOSCgW4B6S7LvHK6JbLCvrw6Ju6H+Joj/58lKSKt3M05s8Mn+Ft49no2MwYTAd\n"
    "BgNVHQ4EFgQUxork4GR/Qt6znV3IB17XAkcDvPIwHwYDVR0jBBgwFoAUxork4GR/\n"
    "Qt6znV3IB17XAkcDvPIwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw\n"
    "CgYIKoZIzj0EAwIDSQAwRgIhAPIFyuVw9itejoQxVJMNe6Ma/yxAwkJnhpCLQIi5\n"
    "+y42AiEAyjRjRAt0OjsYQ0hJige9EHeZjtLaBsiXoqwfKWs/F4g=\n"
    "-----END CERTIFICATE-----\n";
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICDTCCAbOgAwIBAgIUSlSNhxvCbZMINTjnfkoCvLt7rqQwCgYIKoZIzj0EAwIw\n"
    "NjELMAkGA1UEBhMCVVMxEDAOBgNVBAoMB0V4YW1wbGUxFTATBgNVBAMMDHZtaWcg\n"
    "dGVzdCBDQTAeFw0yNjExMjYxNzI2MzNaFw0zNjExMjMxNzI2MzNaMDMxCzAJBgNV\n"
    "BAYTAlVTMRAwDgYDVQQKDAdFeGFtcGxlMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTAT\n"
    "BgcqhkjOPQIBBggqhkjOPQMBBwNCAATqPYkabLxsdefEfPChZ+oZIJmD1bq1QBRp\n"
    "xLJU4Dw7sn0fx+0hIslwMYIJR113iLojSIjyhIoWSpqPa/c4jjVGo4GhMIGeMAkG\n"
    "A1UdEwQCMAAwDgYDVR0PAQH/BAQDAgWgMBMGA1UdJQQMMAoGCCsGAQUFBwMBMCwG\n"
    "A1UdEQQlMCOCCWxvY2FsaG9zdIcEfwAAAYcQAAAAAAAAAAAAAAAAAAAAATAdBgNV\n"
    "HQ4EFgQUMbM0aAImjM3oysCTQJHn1/QorcAwHwYDVR0jBBgwFoAUxork4GR/Qt6z\n"
    "nV3IB17XAkcDvPIwCgYIKoZIzj0EAwIDSAAwRQIhAN7ymRdB79yy52Inwlv+Tkul\n"
    "dX1Pc6B6gGemzOy3cAqPAiA2oktCdX0UCTx5EfC0l+uZDD6hDyDK2yP0gYYLBlGn\n"
    "QA==\n"
    "-----END CERTIFICATE-----\n";
static const char key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7gTeJlTWEnxy86gS\n"
    "h8yotWqQNuOSWnFc0EaWDFnqfumhRANCAATqPYkabLxsdefEfPChZ+oZIJmD1bq1\n"
    "QBRpxLJU4Dw7sn0fx+0hIslwMYIJR113iLojSIjyhIoWSpqPa/c4jjVG\n"
    "-----END PRIVATE KEY-----\n";

/* ---- a duplex memory channel: input from a memory reader, output dropped ---- */

typedef struct fz_channel {
    vmig_channel_t ch;
    vmig_channel_t *in;
} fz_channel_t;

static ssize_t fz_read(vmig_channel_t *ch, void *buf, size_t len)
{
    fz_channel_t *f = (fz_channel_t *)ch;
    /* Small reads, so the handshake driver loops over several. */
    if (len > 700)
        len = 700;
    return vmig_channel_read(f->in, buf, len);
}

static int fz_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    (void)ch;
    (void)iov;
    (void)iovcnt;
    return 0;
}

static int fz_shutdown(vmig_channel_t *ch, int how)
{
    return vmig_channel_shutdown(((fz_channel_t *)ch)->in, how);
}

static void fz_close(vmig_channel_t *ch)
{
    fz_channel_t *f = (fz_channel_t *)ch;
    vmig_channel_close(f->in);
    free(f);
}

static const vmig_channel_ops_t fz_ops = {"memory", fz_read, fz_writev, fz_shutdown, fz_close};

static vmig_channel_t *fz_open(const uint8_t *data, size_t size)
{
    fz_channel_t *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    vmig_channel_init(&f->ch, &fz_ops, NULL, "fuzz-peer");
    f->in = vmig_channel_memory_reader(data, size, false);
    if (!f->in)
        abort();
    return &f->ch;
}

/* ---- setup ---------------------------------------------------------------- */

static char g_dir[256];
static vmig_tls_creds_t *g_server, *g_client, *g_psk_server;
static uv_loop_t g_loop;

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void cleanup(void)
{
    vmig_tls_creds_free(g_server);
    vmig_tls_creds_free(g_client);
    vmig_tls_creds_free(g_psk_server);
    const char *names[] = {"ca-cert.pem", "server-cert.pem", "server-key.pem", "keys.psk"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", g_dir, names[i]);
        unlink(path);
    }
    rmdir(g_dir);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    uv_loop_close(&g_loop);
    co_thread_cleanup();
}

static void setup_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    const char *base = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/vmig-fuzz-tls-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_dir))
        abort();
    put("ca-cert.pem", ca_pem);
    put("server-cert.pem", cert_pem);
    put("server-key.pem", key_pem);
    put("keys.psk", "qemu:000102030405060708090a0b0c0d0e0f\n");
    vmig_error_t err = {0};
    if (vmig_tls_creds_x509_load(g_dir, VMIG_TLS_SERVER, false, &g_server, &err) < 0 ||
        vmig_tls_creds_x509_load(g_dir, VMIG_TLS_CLIENT, false, &g_client, &err) < 0 ||
        vmig_tls_creds_psk_load(g_dir, VMIG_TLS_SERVER, NULL, &g_psk_server, &err) < 0) {
        fprintf(stderr, "fuzz_tls_handshake: %s\n", err.msg);
        abort();
    }
    if (uv_loop_init(&g_loop) != 0)
        abort();
    atexit(cleanup);
}

/* ---- one run ---------------------------------------------------------------- */

typedef struct run {
    const uint8_t *data;
    size_t size;
} run_t;

static void one(const run_t *r, const vmig_tls_creds_t *creds, const vmig_tls_opts_t *opts)
{
    vmig_channel_t *tls = NULL;
    vmig_error_t err = {0};
    int rc = vmig_channel_tls_wrap(fz_open(r->data, r->size), creds, opts, &tls, &err);
    if (getenv("FUZZ_TLS_VERBOSE"))
        fprintf(stderr, "%zu bytes: %s\n", r->size, rc < 0 ? err.msg : "handshake done");
    if (rc < 0) {
        if (tls || err.code != rc || !memchr(err.msg, 0, sizeof(err.msg)) || !err.msg[0])
            abort();
        return;
    }
    /* A handshake that went through: whatever follows must read cleanly. */
    char buf[256];
    while (vmig_channel_read(tls, buf, sizeof(buf)) > 0)
        ;
    vmig_channel_close(tls);
}

static int body(void *arg)
{
    const run_t *r = arg;
    vmig_tls_opts_t server_opts = {0};
    vmig_tls_opts_t client_opts = {.hostname = "localhost"};
    one(r, g_server, &server_opts);
    one(r, g_client, &client_opts);
    one(r, g_psk_server, &server_opts);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    run_t r = {data, size};
    co_t *co = co_create(&g_loop, body, &r);
    if (!co)
        abort();
    co_enter(co);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    if (!co_finished(co))
        abort(); /* the loop ran dry with the handshake still waiting: a hang */
    co_join(co, NULL);
    return 0;
}
