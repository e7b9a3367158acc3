/* channel_tls.c — TLS 1.2 over any channel with mbedtls 2.28 (spec/channels.md §4).
 *
 * mbedtls never touches a descriptor: its BIO callbacks work on two memory
 * buffers, `cin` (ciphertext received, not yet consumed by mbedtls) and
 * `cout` (ciphertext produced, not yet sent). The coroutines that call
 * read/writev move ciphertext between those buffers and the inner channel
 * on the loop; every mbedtls call that costs CPU (handshake steps, record
 * encryption and decryption) runs as a co_work() job on libuv's pool.
 *
 * Locking: `ssl_lock` (a coroutine mutex) is held exactly while a job runs,
 * so the ssl context is used by one thread at a time, and it is never held
 * across inner I/O (a writer blocked on a full socket must not stop the
 * reader from decrypting, or two peers writing at once would deadlock).
 * `cin` belongs to the reader (only read jobs consume it, renegotiation is
 * off). `cout` is appended to by jobs and taken, under ssl_lock, by whoever
 * holds `wlock`, the lock of the inner channel's write side, so records go
 * out in the order they were made.
 */
#include "channel/channel_tls.h"

#include "vmig/co.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

/* Plaintext encrypted by one job before its records are sent. */
#define TLS_WRITE_CHUNK (512u * 1024u)
/* Ciphertext asked of the inner channel by one read. */
#define TLS_READ_CHUNK (256u * 1024u)
#define TLS_DN_MAX 512
#define TLS_PSK_MAX 64

/* ---- credentials ------------------------------------------------------------------ */

typedef struct tls_psk {
    char *user;
    uint8_t key[TLS_PSK_MAX];
    size_t key_len;
} tls_psk_t;

struct vmig_tls_creds {
    vmig_tls_endpoint_t endpoint;
    bool psk;               /* tls-creds-psk, else x509 */
    bool verify_peer;       /* server: ask for and check a client certificate */
    /* x509 */
    mbedtls_x509_crt ca;
    mbedtls_x509_crl crl;
    bool have_crl;
    mbedtls_x509_crt cert;  /* our own certificate (chain) */
    bool have_cert;
    uint8_t *key_pem;       /* our private key, parsed again by each channel */
    size_t key_pem_len;     /* including the NUL mbedtls wants */
    char key_path[4096];
    /* psk */
    tls_psk_t *psks;
    size_t npsk;
    const tls_psk_t *client_psk; /* client: the key it uses */
};

/* Suites both ends may pick, fastest first: mbedtls 2.28's ChaCha20-Poly1305
 * outruns its AES-GCM on x86 (measured ~0.32 vs ~0.22 GB/s per core on the
 * development machine, ~0.40 vs ~0.28 in spec/channels.md). */
static const int x509_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    0,
};
static const int psk_suites[] = {
    MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_DHE_PSK_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_DHE_PSK_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_PSK_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_PSK_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256,
    0,
};

static const char *tls_strerror(int ret, char *buf, size_t len)
{
    mbedtls_strerror(ret, buf, len);
    return buf;
}

static vmig_tls_creds_t *creds_new(vmig_tls_endpoint_t endpoint)
{
    vmig_tls_creds_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->endpoint = endpoint;
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crl_init(&c->crl);
    mbedtls_x509_crt_init(&c->cert);
    return c;
}

void vmig_tls_creds_free(vmig_tls_creds_t *c)
{
    if (!c)
        return;
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crl_free(&c->crl);
    mbedtls_x509_crt_free(&c->cert);
    if (c->key_pem) {
        mbedtls_platform_zeroize(c->key_pem, c->key_pem_len);
        free(c->key_pem);
    }
    for (size_t i = 0; i < c->npsk; i++) {
        free(c->psks[i].user);
        mbedtls_platform_zeroize(c->psks[i].key, sizeof(c->psks[i].key));
    }
    free(c->psks);
    free(c);
}

vmig_tls_endpoint_t vmig_tls_creds_endpoint(const vmig_tls_creds_t *creds)
{
    return creds->endpoint;
}

/* Read a whole file, NUL-terminated (mbedtls's PEM parsers count the NUL). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = b;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -EIO;
    }
    buf[n] = 0;
    *out = buf;
    *len = n + 1;
    return 0;
}

static int load_crt(mbedtls_x509_crt *crt, const char *dir, const char *name, vmig_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    uint8_t *buf;
    size_t len;
    int r = read_file(path, &buf, &len);
    if (r < 0)
        return vmig_error_set(err, r, "cannot read %s: %s", path, strerror(-r));
    int ret = mbedtls_x509_crt_parse(crt, buf, len);
    free(buf);
    if (ret != 0) {
        char tmp[160];
        return vmig_error_set(err, -EINVAL, "cannot load certificate %s: %s", path,
                              tls_strerror(ret, tmp, sizeof(tmp)));
    }
    return 0;
}

int vmig_tls_creds_x509_load(const char *dir, vmig_tls_endpoint_t endpoint, bool verify_peer,
                             vmig_tls_creds_t **out, vmig_error_t *err)
{
    *out = NULL;
    vmig_tls_creds_t *c = creds_new(endpoint);
    if (!c)
        return vmig_error_set(err, -ENOMEM, "out of memory loading TLS credentials");
    c->verify_peer = verify_peer;
    int r = load_crt(&c->ca, dir, "ca-cert.pem", err);
    if (r < 0)
        goto fail;

    char path[4096];
    snprintf(path, sizeof(path), "%s/ca-crl.pem", dir);
    uint8_t *buf;
    size_t len;
    r = read_file(path, &buf, &len);
    if (r == 0) {
        int ret = mbedtls_x509_crl_parse(&c->crl, buf, len);
        free(buf);
        if (ret != 0) {
            char tmp[160];
            r = vmig_error_set(err, -EINVAL, "cannot load CRL %s: %s", path,
                               tls_strerror(ret, tmp, sizeof(tmp)));
            goto fail;
        }
        c->have_crl = true;
    } else if (r != -ENOENT) {
        r = vmig_error_set(err, r, "cannot read %s: %s", path, strerror(-r));
        goto fail;
    }

    const char *who = endpoint == VMIG_TLS_SERVER ? "server" : "client";
    char cert_name[64], key_name[64];
    snprintf(cert_name, sizeof(cert_name), "%s-cert.pem", who);
    snprintf(key_name, sizeof(key_name), "%s-key.pem", who);
    snprintf(path, sizeof(path), "%s/%s", dir, cert_name);
    FILE *probe = fopen(path, "rb");
    /* A client without a certificate is fine until a server asks for one. */
    bool need = endpoint == VMIG_TLS_SERVER;
    if (!probe && need) {
        r = vmig_error_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (probe) {
        fclose(probe);
        r = load_crt(&c->cert, dir, cert_name, err);
        if (r < 0)
            goto fail;
        snprintf(c->key_path, sizeof(c->key_path), "%s/%s", dir, key_name);
        r = read_file(c->key_path, &c->key_pem, &c->key_pem_len);
        if (r < 0) {
            r = vmig_error_set(err, r, "cannot read %s: %s", c->key_path, strerror(-r));
            goto fail;
        }
        mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        int ret = mbedtls_pk_parse_key(&pk, c->key_pem, c->key_pem_len, NULL, 0);
        mbedtls_pk_free(&pk);
        if (ret != 0) {
            char tmp[160];
            r = vmig_error_set(err, -EINVAL, "cannot load private key %s: %s", c->key_path,
                               tls_strerror(ret, tmp, sizeof(tmp)));
            goto fail;
        }
        c->have_cert = true;
    }
    *out = c;
    return 0;
fail:
    vmig_tls_creds_free(c);
    return r;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int vmig_tls_creds_psk_load(const char *dir, vmig_tls_endpoint_t endpoint, const char *username,
                            vmig_tls_creds_t **out, vmig_error_t *err)
{
    *out = NULL;
    if (!username)
        username = "qemu";
    char path[4096];
    snprintf(path, sizeof(path), "%s/keys.psk", dir);
    uint8_t *buf;
    size_t len;
    int r = read_file(path, &buf, &len);
    if (r < 0)
        return vmig_error_set(err, r, "cannot read %s: %s", path, strerror(-r));
    vmig_tls_creds_t *c = creds_new(endpoint);
    if (!c) {
        free(buf);
        return vmig_error_set(err, -ENOMEM, "out of memory loading TLS credentials");
    }
    c->psk = true;
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
            line[--l] = 0;
        if (l == 0 || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        const char *hex = colon ? colon + 1 : "";
        size_t hl = strlen(hex);
        if (!colon || colon == line || hl == 0 || hl % 2 || hl / 2 > TLS_PSK_MAX) {
            r = vmig_error_set(err, -EINVAL, "%s line %d: expected username:hexkey", path, lineno);
            goto fail;
        }
        tls_psk_t *p = realloc(c->psks, (c->npsk + 1) * sizeof(*p));
        if (!p) {
            r = vmig_error_set(err, -ENOMEM, "out of memory loading %s", path);
            goto fail;
        }
        c->psks = p;
        p = &c->psks[c->npsk];
        memset(p, 0, sizeof(*p));
        *colon = 0;
        p->user = strdup(line);
        if (!p->user) {
            r = vmig_error_set(err, -ENOMEM, "out of memory loading %s", path);
            goto fail;
        }
        c->npsk++;
        for (size_t i = 0; i < hl / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                r = vmig_error_set(err, -EINVAL, "%s line %d: the key is not hexadecimal", path,
                                   lineno);
                goto fail;
            }
            p->key[i] = (uint8_t)(hi << 4 | lo);
        }
        p->key_len = hl / 2;
    }
    if (endpoint == VMIG_TLS_CLIENT) {
        /* The first line for the user, as the server's lookup takes. */
        for (size_t i = 0; i < c->npsk && !c->client_psk; i++)
            if (strcmp(c->psks[i].user, username) == 0)
                c->client_psk = &c->psks[i];
        if (!c->client_psk) {
            r = vmig_error_set(err, -ENOENT, "%s has no key for user '%s'", path, username);
            goto fail;
        }
    } else if (c->npsk == 0) {
        r = vmig_error_set(err, -ENOENT, "%s holds no key", path);
        goto fail;
    }
    mbedtls_platform_zeroize(buf, len);
    free(buf);
    *out = c;
    return 0;
fail:
    mbedtls_platform_zeroize(buf, len);
    free(buf);
    vmig_tls_creds_free(c);
    return r;
}

/* ---- distinguished names as gnutls prints them -------------------------------------- */

static void dn_put(char **p, char *end, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *p + 1 < end; i++)
        *(*p)++ = s[i];
    **p = 0;
}

/* One attribute value, escaped as RFC 4514 says. */
static void dn_put_value(char **p, char *end, const mbedtls_x509_buf *v)
{
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = v->p[i];
        char tmp[4];
        bool esc = strchr(",+\"\\<>;=", c) != NULL || (i == 0 && (c == '#' || c == ' ')) ||
                   (i + 1 == v->len && c == ' ');
        if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\%02x", c);
            dn_put(p, end, tmp, 3);
            continue;
        }
        if (esc)
            dn_put(p, end, "\\", 1);
        tmp[0] = (char)c;
        dn_put(p, end, tmp, 1);
    }
}

static void dn_put_attr(char **p, char *end, const mbedtls_x509_name *n)
{
    const char *sn = NULL;
    char oid[64];
    if (mbedtls_oid_get_attr_short_name(&n->oid, &sn) == 0 && sn) {
        if (strcmp(sn, "emailAddress") == 0)
            sn = "EMAIL"; /* gnutls's name for it */
        dn_put(p, end, sn, strlen(sn));
        dn_put(p, end, "=", 1);
        dn_put_value(p, end, &n->val);
        return;
    }
    int k = mbedtls_oid_get_numeric_string(oid, sizeof(oid), &n->oid);
    if (k < 0)
        snprintf(oid, sizeof(oid), "?");
    dn_put(p, end, oid, strlen(oid));
    dn_put(p, end, "=#", 2);
    /* The value's DER: tag, short length, bytes. */
    char tmp[8];
    snprintf(tmp, sizeof(tmp), "%02x", n->val.tag & 0xff);
    dn_put(p, end, tmp, 2);
    snprintf(tmp, sizeof(tmp), "%02x", (unsigned)(n->val.len & 0xff));
    dn_put(p, end, tmp, 2);
    for (size_t i = 0; i < n->val.len; i++) {
        snprintf(tmp, sizeof(tmp), "%02x", n->val.p[i]);
        dn_put(p, end, tmp, 2);
    }
}

/* The RDNs in reverse order, ",", the attributes of a multi-valued RDN joined
 * with "+": "CN=client,O=Example,C=US". */
static void format_dn(const mbedtls_x509_name *dn, char *out, size_t len)
{
    const mbedtls_x509_name *rdn[64];
    size_t nrdn = 0;
    bool start = true;
    for (const mbedtls_x509_name *n = dn; n && n->oid.p; n = n->next) {
        if (start && nrdn < 64)
            rdn[nrdn++] = n;
        start = !n->next_merged;
    }
    char *p = out, *end = out + len;
    *p = 0;
    for (size_t i = nrdn; i-- > 0;) {
        if (i + 1 != nrdn)
            dn_put(&p, end, ",", 1);
        for (const mbedtls_x509_name *n = rdn[i]; n; n = n->next) {
            if (n != rdn[i])
                dn_put(&p, end, "+", 1);
            dn_put_attr(&p, end, n);
            if (!n->next_merged)
                break;
        }
    }
}

/* Does crt carry an iPAddress subjectAltName equal to ip (4 or 16 bytes)?
 * mbedtls checks DNS names itself, IP addresses are left to us. */
static bool crt_has_ip_san(const mbedtls_x509_crt *crt, const uint8_t *ip, size_t iplen)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next)
        if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) &&
            s->buf.len == iplen && memcmp(s->buf.p, ip, iplen) == 0)
            return true;
    return false;
}

/* A name to show for a certificate: its first DNS subjectAltName, else its CN. */
static void crt_name(const mbedtls_x509_crt *crt, char *out, size_t len)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
            snprintf(out, len, "%.*s", (int)s->buf.len, (const char *)s->buf.p);
            return;
        }
    }
    for (const mbedtls_x509_name *n = &crt->subject; n && n->oid.p; n = n->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            snprintf(out, len, "%.*s", (int)n->val.len, (const char *)n->val.p);
            return;
        }
    }
    snprintf(out, len, "?");
}

/* ---- the channel ------------------------------------------------------------------- */

typedef struct tls_buf {
    uint8_t *p;
    size_t len, cap, pos; /* valid bytes [pos, len) */
} tls_buf_t;

enum { JOB_HANDSHAKE, JOB_READ, JOB_WRITE };

typedef struct tls_channel tls_channel_t;

/* The one job of a channel (one at a time: ssl_lock). */
typedef struct tls_job {
    tls_channel_t *tc;
    int op;
    uint8_t *buf;              /* read: where plaintext goes */
    size_t len;                /* read: its size */
    const struct iovec *iov;   /* write: the caller's data */
    int iovcnt;
    int idx;                   /* write: position in iov */
    size_t off;
    ssize_t result;            /* bytes, or an mbedtls error */
} tls_job_t;

struct tls_channel {
    vmig_channel_t ch;         /* common part; first */
    vmig_channel_t *inner;     /* the transport, ours */
    const vmig_tls_creds_t *creds;
    const char *hostname;      /* during the handshake */
    bool host_is_ip;
    uint8_t host_ip[16];
    size_t host_ip_len;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_pk_context pk;     /* our private key, this channel's copy */
    tls_buf_t cin, cout, wsend;
    bool in_eof;               /* the inner channel's read side ended */
    bool maybe_pending;        /* the last read job filled its buffer: mbedtls may hold more */
    int read_err;              /* an mbedtls error met after some bytes of a read job:
                                * the next read reports it (mbedtls reports it once) */
    bool shut_rd, shut_wr;
    int broken;                /* a job was orphaned or failed fatally: every call fails */
    co_mutex_t ssl_lock;       /* held while a job runs */
    co_mutex_t wlock;          /* held while writing to inner */
    tls_job_t job;
    unsigned inflight;         /* jobs not yet returned (orphans included) */
    bool closed;               /* close() ran: the last orphan frees us */
    char peer_dn[TLS_DN_MAX];
    char cn_mismatch[256];     /* the certificate name that failed the host check */
};

static void tls_free(tls_channel_t *tc)
{
    mbedtls_ssl_free(&tc->ssl);
    mbedtls_ssl_config_free(&tc->conf);
    mbedtls_ctr_drbg_free(&tc->drbg);
    mbedtls_entropy_free(&tc->entropy);
    mbedtls_pk_free(&tc->pk);
    free(tc->cin.p);
    free(tc->cout.p);
    free(tc->wsend.p);
    free(tc);
}

/* ---- BIO over the memory buffers (pool thread) --------------------------------------- */

static int buf_reserve(tls_buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    if (b->pos) {
        memmove(b->p, b->p + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
        if (b->cap - b->len >= more)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap - b->len < more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_channel_t *tc = ctx;
    if (buf_reserve(&tc->cout, len) < 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    memcpy(tc->cout.p + tc->cout.len, buf, len);
    tc->cout.len += len;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_channel_t *tc = ctx;
    size_t n = tc->cin.len - tc->cin.pos;
    if (n == 0)
        return tc->in_eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
    if (n > len)
        n = len;
    memcpy(buf, tc->cin.p + tc->cin.pos, n);
    tc->cin.pos += n;
    if (tc->cin.pos == tc->cin.len)
        tc->cin.pos = tc->cin.len = 0;
    return (int)n;
}

/* ---- jobs (pool thread) --------------------------------------------------------------- */

static int job_run(void *arg)
{
    tls_job_t *j = arg;
    tls_channel_t *tc = j->tc;
    switch (j->op) {
    case JOB_HANDSHAKE:
        j->result = mbedtls_ssl_handshake(&tc->ssl);
        break;
    case JOB_READ: {
        /* Decrypt every whole record already buffered, up to len bytes. */
        size_t got = 0;
        int r = 0;
        while (got < j->len) {
            r = mbedtls_ssl_read(&tc->ssl, j->buf + got, j->len - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        /* A record that fails (a bad MAC) after good ones: the good bytes
         * now, the failure on the next read, never silently dropped. */
        if (got && r < 0 && r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            tc->read_err = r;
        j->result = got ? (ssize_t)got : r;
        break;
    }
    case JOB_WRITE: {
        size_t done = 0;
        int r = 0;
        while (j->idx < j->iovcnt && done < TLS_WRITE_CHUNK) {
            const struct iovec *v = &j->iov[j->idx];
            if (j->off == v->iov_len) {
                j->idx++;
                j->off = 0;
                continue;
            }
            size_t n = v->iov_len - j->off;
            if (n > TLS_WRITE_CHUNK - done && done)
                n = TLS_WRITE_CHUNK - done;
            r = mbedtls_ssl_write(&tc->ssl, (const unsigned char *)v->iov_base + j->off, n);
            if (r < 0)
                break;
            j->off += (size_t)r;
            done += (size_t)r;
            r = 0;
        }
        j->result = r < 0 ? r : (ssize_t)done;
        break;
    }
    }
    return 0;
}

/* A job whose coroutine was cancelled returned: the channel may be closed already. */
static void job_release(void *arg)
{
    tls_job_t *j = arg;
    tls_channel_t *tc = j->tc;
    tc->inflight--;
    if (tc->closed && tc->inflight == 0)
        tls_free(tc);
}

/* Run the prepared tc->job on the pool, ssl_lock held by the caller: 0 with
 * the result in tc->job.result, or a negative errno (the channel is broken
 * then if the job may still run). */
static int job_exec(tls_channel_t *tc)
{
    /* A cancelled job may still run on the pool with the ssl context: a
     * coroutine that waited for ssl_lock meanwhile must not start another. */
    if (tc->broken)
        return tc->broken;
    tc->job.tc = tc;
    tc->inflight++;
    int r = co_work(NULL, job_run, &tc->job, job_release);
    if (r == -ECANCELED) {
        tc->broken = -ECANCELED; /* the orphan still owns the ssl context */
        return r;
    }
    tc->inflight--;
    return r;
}

/* ---- ciphertext movement (loop) ------------------------------------------------------- */

static int inner_fail(tls_channel_t *tc, int r)
{
    vmig_error_propagate(&tc->ch.err, &tc->inner->err);
    return r;
}

/* Send what cout holds; the caller holds wlock. The bytes are taken under
 * ssl_lock (no job is appending then). */
static int flush_locked(tls_channel_t *tc)
{
    int r = co_mutex_lock(&tc->ssl_lock);
    if (r < 0)
        return r;
    if (tc->broken) { /* an orphaned job may be appending to cout */
        co_mutex_unlock(&tc->ssl_lock);
        return tc->broken;
    }
    tls_buf_t t = tc->wsend;
    tc->wsend = tc->cout;
    tc->cout = t;
    tc->cout.len = tc->cout.pos = 0;
    co_mutex_unlock(&tc->ssl_lock);
    if (tc->wsend.len == tc->wsend.pos)
        return 0;
    r = vmig_channel_write(tc->inner, tc->wsend.p + tc->wsend.pos, tc->wsend.len - tc->wsend.pos);
    tc->wsend.len = tc->wsend.pos = 0;
    return r < 0 ? inner_fail(tc, r) : 0;
}

/* Read more ciphertext into cin: bytes, 0 at the end, or an error. */
static ssize_t fill_in(tls_channel_t *tc)
{
    if (buf_reserve(&tc->cin, TLS_READ_CHUNK) < 0)
        return -ENOMEM;
    ssize_t n = vmig_channel_read(tc->inner, tc->cin.p + tc->cin.len, tc->cin.cap - tc->cin.len);
    if (n < 0)
        return inner_fail(tc, (int)n);
    if (n == 0)
        tc->in_eof = true;
    tc->cin.len += (size_t)n;
    return n;
}

/* ---- the channel operations ------------------------------------------------------- */

static ssize_t tls_read(vmig_channel_t *ch, void *buf, size_t len)
{
    tls_channel_t *tc = (tls_channel_t *)ch;
    if (tc->shut_rd || len == 0)
        return 0;
    if (tc->broken)
        return tc->broken;
    for (;;) {
        ssize_t res = MBEDTLS_ERR_SSL_WANT_READ;
        if (tc->read_err) {
            res = tc->read_err;
            tc->read_err = 0;
        } else if (tc->cin.len > tc->cin.pos || tc->maybe_pending) {
            int r = co_mutex_lock(&tc->ssl_lock);
            if (r < 0)
                return r;
            tc->job.op = JOB_READ;
            tc->job.buf = buf;
            tc->job.len = len;
            r = job_exec(tc);
            if (r == 0)
                res = tc->job.result; /* before unlocking: the writer reuses job */
            co_mutex_unlock(&tc->ssl_lock);
            if (r < 0)
                return r;
            /* A job that filled the caller's buffer may have left
             * decrypted bytes in mbedtls; one that stopped short read
             * everything buffered. */
            tc->maybe_pending = res == (ssize_t)len;
            if (tc->cout.len && co_mutex_trylock(&tc->wlock) == 0) {
                flush_locked(tc); /* an alert: best effort */
                co_mutex_unlock(&tc->wlock);
            }
        }
        if (res > 0)
            return res;
        if (tc->shut_rd)
            return 0;
        /* close_notify, or the transport ended (mbedtls: 0 or CONN_EOF) */
        if (res == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || res == 0 || res == MBEDTLS_ERR_SSL_CONN_EOF)
            return 0;
        if (res == MBEDTLS_ERR_SSL_WANT_READ) {
            if (tc->in_eof)
                return 0; /* the transport ended at a record boundary */
            ssize_t n = fill_in(tc);
            if (n < 0)
                return tc->shut_rd ? 0 : n;
            continue;
        }
        char tmp[160];
        tc->broken = -EPROTO;
        return vmig_error_set(&tc->ch.err, -EPROTO, "TLS read from %s failed: %s", tc->ch.peer,
                              tls_strerror((int)res, tmp, sizeof(tmp)));
    }
}

static int tls_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    tls_channel_t *tc = (tls_channel_t *)ch;
    if (iovcnt < 0 || (iovcnt > 0 && !iov))
        return -EINVAL;
    if (tc->shut_wr)
        return -EPIPE;
    if (tc->broken)
        return tc->broken;
    int r = co_mutex_lock(&tc->wlock);
    if (r < 0)
        return r;
    int idx = 0;
    size_t off = 0;
    while (idx < iovcnt) {
        if (off == iov[idx].iov_len) {
            idx++;
            off = 0;
            continue;
        }
        r = co_mutex_lock(&tc->ssl_lock);
        if (r < 0)
            break;
        tc->job.op = JOB_WRITE;
        tc->job.iov = iov;
        tc->job.iovcnt = iovcnt;
        tc->job.idx = idx;
        tc->job.off = off;
        r = job_exec(tc);
        ssize_t res = 0;
        if (r == 0) { /* before unlocking: the reader reuses job */
            idx = tc->job.idx;
            off = tc->job.off;
            res = tc->job.result;
        }
        co_mutex_unlock(&tc->ssl_lock);
        if (r < 0)
            break;
        if (res < 0) {
            char tmp[160];
            tc->broken = -EPROTO;
            r = vmig_error_set(&tc->ch.err, -EPROTO, "TLS write to %s failed: %s", tc->ch.peer,
                               tls_strerror((int)res, tmp, sizeof(tmp)));
            break;
        }
        r = flush_locked(tc);
        if (r < 0)
            break;
        if (tc->shut_wr) {
            r = -EPIPE;
            break;
        }
    }
    co_mutex_unlock(&tc->wlock);
    if (r < 0 && tc->shut_wr)
        r = -EPIPE;
    return r;
}

static int tls_shutdown(vmig_channel_t *ch, int how)
{
    tls_channel_t *tc = (tls_channel_t *)ch;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    tc->shut_rd |= how != SHUT_WR;
    tc->shut_wr |= how != SHUT_RD;
    /* Stops a coroutine waiting on the transport; one waiting for a job gets
     * the job's result, then sees the flags. The shutdown may run that
     * coroutine at once: touch nothing after it. */
    return vmig_channel_shutdown(tc->inner, how);
}

static void tls_close(vmig_channel_t *ch)
{
    tls_channel_t *tc = (tls_channel_t *)ch;
    vmig_channel_close(tc->inner);
    tc->inner = NULL;
    tc->closed = true;
    if (tc->inflight == 0)
        tls_free(tc);
    /* else the last orphaned job's release frees it (a pool thread is still
     * inside mbedtls with this context) */
}

static const vmig_channel_ops_t tls_ops = {
    "tls", tls_read, tls_writev, tls_shutdown, tls_close,
};

const char *vmig_channel_tls_peer_dn(const vmig_channel_t *ch)
{
    if (!ch || ch->ops != &tls_ops)
        return "";
    return ((const tls_channel_t *)ch)->peer_dn;
}

/* ---- the handshake ------------------------------------------------------------------ */

/* Client, x509: our hostname check for IP addresses, on top of mbedtls's chain check. */
static int verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    tls_channel_t *tc = p;
    if (depth != 0)
        return 0;
    if (tc->host_is_ip) {
        if (crt_has_ip_san(crt, tc->host_ip, tc->host_ip_len))
            *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
        else
            *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    }
    if (*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        crt_name(crt, tc->cn_mismatch, sizeof(tc->cn_mismatch));
    return 0;
}

/* Server, psk: the client's identity picks its key. */
static int psk_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *id, size_t idlen)
{
    const vmig_tls_creds_t *c = p;
    for (size_t i = 0; i < c->npsk; i++) {
        const tls_psk_t *k = &c->psks[i];
        if (strlen(k->user) == idlen && memcmp(k->user, id, idlen) == 0)
            return mbedtls_ssl_set_hs_psk(ssl, k->key, k->key_len);
    }
    return -1;
}

static int tls_setup(tls_channel_t *tc, const vmig_tls_opts_t *opts, vmig_error_t *err)
{
    const vmig_tls_creds_t *c = tc->creds;
    bool server = c->endpoint == VMIG_TLS_SERVER;
    char tmp[160];
    int ret;
    static const char pers[] = "vmig-tls";
    ret = mbedtls_ctr_drbg_seed(&tc->drbg, mbedtls_entropy_func, &tc->entropy,
                                (const unsigned char *)pers, sizeof(pers) - 1);
    if (ret != 0)
        goto fail;
    ret = mbedtls_ssl_config_defaults(&tc->conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        goto fail;
    mbedtls_ssl_conf_rng(&tc->conf, mbedtls_ctr_drbg_random, &tc->drbg);
    mbedtls_ssl_conf_min_version(&tc->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&tc->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_renegotiation(&tc->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    mbedtls_ssl_conf_ciphersuites(&tc->conf, c->psk ? psk_suites : x509_suites);
    if (c->psk) {
        if (server) {
            mbedtls_ssl_conf_psk_cb(&tc->conf, psk_cb, (void *)c);
        } else {
            const tls_psk_t *k = c->client_psk;
            ret = mbedtls_ssl_conf_psk(&tc->conf, k->key, k->key_len, (const unsigned char *)k->user,
                                       strlen(k->user));
            if (ret != 0)
                goto fail;
        }
    } else {
        mbedtls_ssl_conf_ca_chain(&tc->conf, (mbedtls_x509_crt *)&c->ca,
                                  c->have_crl ? (mbedtls_x509_crl *)&c->crl : NULL);
        mbedtls_ssl_conf_authmode(&tc->conf, !server || c->verify_peer ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                                        : MBEDTLS_SSL_VERIFY_NONE);
        if (c->have_cert) {
            ret = mbedtls_pk_parse_key(&tc->pk, c->key_pem, c->key_pem_len, NULL, 0);
            if (ret != 0) {
                return vmig_error_set(err, -EINVAL, "cannot load private key %s: %s", c->key_path,
                                      tls_strerror(ret, tmp, sizeof(tmp)));
            }
            ret = mbedtls_ssl_conf_own_cert(&tc->conf, (mbedtls_x509_crt *)&c->cert, &tc->pk);
            if (ret != 0)
                goto fail;
        }
    }
    ret = mbedtls_ssl_setup(&tc->ssl, &tc->conf);
    if (ret != 0)
        goto fail;
    mbedtls_ssl_set_bio(&tc->ssl, tc, bio_send, bio_recv, NULL);
    if (!server && !c->psk) {
        const char *h = opts ? opts->hostname : NULL;
        if (!h || !*h)
            return vmig_error_set(err, -EINVAL,
                                  "TLS handshake with %s failed: no hostname to check the server "
                                  "certificate against (set tls-hostname)", tc->ch.peer);
        tc->hostname = h;
        char bare[64];
        size_t hl = strlen(h);
        if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']' && hl - 2 < sizeof(bare)) {
            memcpy(bare, h + 1, hl - 2); /* a bracketed IPv6 address */
            bare[hl - 2] = 0;
        } else {
            snprintf(bare, sizeof(bare), "%s", h);
        }
        if (inet_pton(AF_INET, bare, tc->host_ip) == 1) {
            tc->host_is_ip = true;
            tc->host_ip_len = 4;
        } else if (inet_pton(AF_INET6, bare, tc->host_ip) == 1) {
            tc->host_is_ip = true;
            tc->host_ip_len = 16;
        } else {
            ret = mbedtls_ssl_set_hostname(&tc->ssl, h);
            if (ret != 0)
                goto fail;
        }
        mbedtls_ssl_set_verify(&tc->ssl, verify_cb, tc);
    }
    return 0;
fail:
    return vmig_error_set(err, -EPROTO, "TLS setup for %s failed: %s", tc->ch.peer,
                          tls_strerror(ret, tmp, sizeof(tmp)));
}

/* The message for a failed handshake. */
static int handshake_error(tls_channel_t *tc, int ret, vmig_error_t *err)
{
    char tmp[160];
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&tc->ssl);
        if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING |
                     MBEDTLS_X509_BADCERT_REVOKED | MBEDTLS_X509_BADCERT_BAD_MD |
                     MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY |
                     MBEDTLS_X509_BADCERT_OTHER))
            return vmig_error_set(err, -EACCES, "peer certificate not trusted");
        if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
            return vmig_error_set(err, -EACCES, "peer certificate has expired");
        if (flags & MBEDTLS_X509_BADCERT_FUTURE)
            return vmig_error_set(err, -EACCES, "peer certificate is not yet valid");
        if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
            return vmig_error_set(err, -EACCES, "certificate for '%s' does not match host '%s'",
                                  tc->cn_mismatch[0] ? tc->cn_mismatch : "?",
                                  tc->hostname ? tc->hostname : "");
        char info[256];
        int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
        if (n > 0 && info[n - 1] == '\n')
            info[n - 1] = 0;
        return vmig_error_set(err, -EACCES, "peer certificate rejected: %s", n > 0 ? info : "?");
    }
    return vmig_error_set(err, -EPROTO, "TLS handshake with %s failed: %s", tc->ch.peer,
                          tls_strerror(ret, tmp, sizeof(tmp)));
}

/* The transport failed during the handshake: say so, with its reason. */
static int handshake_io_error(tls_channel_t *tc, vmig_error_t *err)
{
    return vmig_error_set(err, tc->ch.err.code ? tc->ch.err.code : -EIO,
                          "TLS handshake with %s failed: %s", tc->ch.peer, tc->ch.err.msg);
}

static int handshake(tls_channel_t *tc, const vmig_tls_opts_t *opts, vmig_error_t *err)
{
    for (;;) {
        tc->job.op = JOB_HANDSHAKE;
        int r = job_exec(tc);
        if (r < 0)
            return vmig_error_set(err, r, "TLS handshake with %s failed: %s", tc->ch.peer,
                                  vmig_strerror(r));
        int ret = (int)tc->job.result;
        /* Send what it made, an alert about a failure included. */
        r = flush_locked(tc);
        if (ret == 0 && r < 0)
            return handshake_io_error(tc, err);
        if (ret == 0)
            break;
        if (ret == MBEDTLS_ERR_SSL_CONN_EOF)
            return vmig_error_set(err, -EPROTO,
                                  "TLS handshake with %s failed: the peer closed the connection",
                                  tc->ch.peer);
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return handshake_error(tc, ret, err);
        if (r < 0)
            return handshake_io_error(tc, err);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
            if (tc->in_eof)
                return vmig_error_set(err, -EPROTO,
                                      "TLS handshake with %s failed: the peer closed the connection",
                                      tc->ch.peer);
            ssize_t n = fill_in(tc);
            if (n < 0)
                return handshake_io_error(tc, err);
            /* n == 0: mbedtls sees the end through bio_recv next time */
        }
    }
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&tc->ssl);
    if (peer)
        format_dn(&peer->subject, tc->peer_dn, sizeof(tc->peer_dn));
    if (tc->creds->endpoint == VMIG_TLS_SERVER && opts && (opts->authz || opts->authz_fn)) {
        bool ok = false;
        for (const char *const *a = opts->authz; peer && a && *a; a++)
            if (strcmp(*a, tc->peer_dn) == 0)
                ok = true;
        if (!ok && peer && opts->authz_fn)
            ok = opts->authz_fn(opts->authz_opaque, tc->peer_dn);
        if (!ok) {
            mbedtls_ssl_send_alert_message(&tc->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                           MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED);
            flush_locked(tc);
            if (!peer)
                return vmig_error_set(err, -EACCES, "TLS client %s sent no certificate to authorize",
                                      tc->ch.peer);
            return vmig_error_set(err, -EACCES, "TLS client '%s' is not authorized", tc->peer_dn);
        }
    }
    return 0;
}

int vmig_channel_tls_wrap(vmig_channel_t *inner, const vmig_tls_creds_t *creds,
                          const vmig_tls_opts_t *opts, vmig_channel_t **out, vmig_error_t *err)
{
    *out = NULL;
    if (!co_self()) {
        vmig_channel_close(inner);
        return vmig_error_set(err, -EINVAL, "TLS handshake needs a coroutine");
    }
    tls_channel_t *tc = calloc(1, sizeof(*tc));
    if (!tc) {
        vmig_channel_close(inner);
        return vmig_error_set(err, -ENOMEM, "out of memory for a TLS channel");
    }
    vmig_channel_init(&tc->ch, &tls_ops, inner->loop, "%s", inner->peer);
    tc->inner = inner;
    tc->creds = creds;
    mbedtls_entropy_init(&tc->entropy);
    mbedtls_ctr_drbg_init(&tc->drbg);
    mbedtls_ssl_config_init(&tc->conf);
    mbedtls_ssl_init(&tc->ssl);
    mbedtls_pk_init(&tc->pk);
    co_mutex_init(&tc->ssl_lock);
    co_mutex_init(&tc->wlock);
    tc->maybe_pending = true;
    int r = tls_setup(tc, opts, err);
    if (r == 0)
        r = handshake(tc, opts, err);
    tc->hostname = NULL;
    if (r < 0) {
        tls_close(&tc->ch);
        return r;
    }
    *out = &tc->ch;
    return 0;
}
