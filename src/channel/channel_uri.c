/* channel_uri.c — QEMU's migration URIs (tcp:, unix:, fd:, exec:, file:) turned
 * into channels, plus the address parsing, name resolution and error texts
 * the transports share. */
#include "channel/channel_internal.h"

#include "vmig/co.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ----------------------------------------------------------------- */

const char *chan_strerror(int code, char *buf, size_t len)
{
    /* libuv's own codes (resolver failures, EOF) sit at -3000 and below. */
    if (code <= -3000)
        return uv_strerror_r(code, buf, len);
    if (code >= 0)
        code = -EIO;
    /* The GNU strerror_r (we build with _GNU_SOURCE) returns the text. */
    return strerror_r(-code, buf, len);
}

int chan_errno(int code)
{
    switch (code) {
    case UV_EAI_NONAME:
    case UV_EAI_NODATA:
    case UV_EAI_FAIL:
    case UV_EAI_SERVICE:
        return -EHOSTUNREACH;
    case UV_EAI_AGAIN:
        return -EAGAIN;
    case UV_EAI_MEMORY:
        return -ENOMEM;
    case UV_EAI_CANCELED:
        return -ECANCELED;
    case UV_EAI_FAMILY:
    case UV_EAI_ADDRFAMILY:
        return -EADDRNOTAVAIL;
    case UV_EOF:
        return -ENODATA;
    default:
        return code <= -3000 ? -EIO : code;
    }
}

int chan_need_coroutine(const char *what, vmig_error_t *err)
{
    if (co_self())
        return 0;
    return vmig_error_set(err, -EINVAL, "%s must be called from a coroutine", what);
}

void chan_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
            snprintf(ip, sizeof(ip), "?");
        snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
            snprintf(ip, sizeof(ip), "?");
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
}

void chan_listen_uri(int fd, const chan_inet_t *in, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char addr[CHAN_HOST_MAX + 16];
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
        chan_format_addr((struct sockaddr *)&ss, addr, sizeof(addr));
    else
        snprintf(addr, sizeof(addr), "%s:%s", in->host, in->port);
    snprintf(buf, len, "tcp:%s", addr);
}

/* ---- tcp: HOST:PORT[,opts] ---------------------------------------------------- */

/* Is [s, s+n) exactly word? */
static bool span_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

int chan_parse_inet(const char *spec, const char *uri, bool listening, chan_inet_t *out,
                    vmig_error_t *err)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_UNSPEC;

    const char *p = spec, *host, *host_end;
    bool bracketed = false;
    if (*p == '[') {
        /* An IPv6 address must be bracketed: its colons would hide the port. */
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            return vmig_error_set(err, -EINVAL, "missing ']' after the IPv6 address in %s", uri);
        p = host_end + 1;
        bracketed = true;
    } else {
        host = p;
        host_end = p + strcspn(p, ":,");
        p = host_end;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen >= sizeof(out->host))
        return vmig_error_set(err, -EINVAL, "host name too long in %.64s... (at most %zu bytes)",
                              uri, sizeof(out->host) - 1);
    if (*p != ':')
        return vmig_error_set(err, -EINVAL, "missing port in %s (expected tcp:HOST:PORT)", uri);
    p++;

    const char *port = p;
    size_t plen = strcspn(port, ",");
    bool digits = plen > 0 && plen < sizeof(out->port);
    for (size_t i = 0; digits && i < plen; i++)
        digits = port[i] >= '0' && port[i] <= '9';
    unsigned long pv = digits ? strtoul(port, NULL, 10) : 0;
    if (plen == 0)
        return vmig_error_set(err, -EINVAL, "missing port in %s (expected tcp:HOST:PORT)", uri);
    if (!digits || pv > 65535)
        return vmig_error_set(err, -EINVAL, "bad port '%.*s' in %s (expected a number from %d to 65535)",
                              (int)(plen < 32 ? plen : 32), port, uri, listening ? 0 : 1);
    if (pv == 0 && !listening)
        return vmig_error_set(err, -EINVAL, "bad port 0 in %s: a connection needs a real port", uri);
    snprintf(out->port, sizeof(out->port), "%lu", pv);

    bool v4 = false, v6 = false;
    for (const char *o = port + plen; *o == ',';) {
        const char *name = o + 1;
        size_t n = strcspn(name, ",");
        if (span_is(name, n, "ipv4") || span_is(name, n, "ipv4=on"))
            v4 = true;
        else if (span_is(name, n, "ipv6") || span_is(name, n, "ipv6=on"))
            v6 = true;
        else if (!span_is(name, n, "ipv4=off") && !span_is(name, n, "ipv6=off"))
            return vmig_error_set(err, -EINVAL, "unsupported option '%.*s' in %s", (int)(n < 32 ? n : 32),
                                  name, uri);
        o = name + n;
    }
    if (v4 != v6)
        out->family = v4 ? AF_INET : AF_INET6;

    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    if (bracketed) {
        if (inet_pton(AF_INET6, out->host, addr) != 1)
            return vmig_error_set(err, -EINVAL, "bad IPv6 address '%s' in %s", out->host, uri);
        out->numeric = true;
    } else {
        out->numeric = hlen == 0 || inet_pton(AF_INET, out->host, addr) == 1;
    }
    return 0;
}

/* A name resolution on libuv's pool. On the heap: a cancelled caller leaves,
 * and the callback frees it. */
typedef struct resolve_req {
    uv_getaddrinfo_t req;  /* the libuv request */
    co_t *co;              /* the waiting coroutine, NULL once it gave up */
    int status;            /* the resolver's result */
    struct addrinfo *res;  /* the addresses, handed to the caller */
} resolve_req_t;

static void resolve_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req_t *rr = req->data;
    if (!rr->co) {
        uv_freeaddrinfo(res);
        free(rr);
        return;
    }
    rr->status = status;
    rr->res = res;
    co_wake(rr->co, 0);
}

static void resolve_cancel(co_t *co, void *data)
{
    resolve_req_t *rr = data;
    /* Queued: dropped, and the callback comes with UV_EAI_CANCELED. Running:
     * the callback comes when it is done. Either way it frees rr. */
    uv_cancel((uv_req_t *)&rr->req);
    rr->co = NULL;
    co_wake(co, -ECANCELED);
}

int chan_resolve(uv_loop_t *loop, const chan_inet_t *in, bool passive, struct addrinfo **res,
                 vmig_error_t *err)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = in->family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (in->numeric ? AI_NUMERICHOST : 0);
    const char *node = in->host[0] ? in->host : NULL;
    *res = NULL;

    int status;
    if (in->numeric || !co_self()) {
        /* Numbers (and "any"/loopback) never reach DNS: resolve in place. */
        uv_getaddrinfo_t req;
        status = uv_getaddrinfo(loop, &req, NULL, node, in->port, &hints);
        if (status == 0)
            *res = req.addrinfo;
    } else {
        if (co_cancel_clear())
            return -ECANCELED;
        resolve_req_t *rr = calloc(1, sizeof(*rr));
        if (!rr)
            return vmig_error_set(err, -ENOMEM, "out of memory resolving '%s'", in->host);
        rr->req.data = rr;
        rr->co = co_self();
        status = uv_getaddrinfo(loop, &rr->req, resolve_cb, node, in->port, &hints);
        if (status < 0) {
            free(rr);
        } else {
            int r = co_wait(resolve_cancel, rr);
            if (r < 0)
                return vmig_error_set(err, r, "resolving '%s' was cancelled", in->host);
            status = rr->status;
            *res = rr->res;
            free(rr);
        }
    }
    if (status < 0) {
        char tmp[128];
        return vmig_error_set(err, chan_errno(status), "cannot resolve host '%s': %s",
                              node ? node : "(any)", chan_strerror(status, tmp, sizeof(tmp)));
    }
    if (!*res)
        return vmig_error_set(err, -EHOSTUNREACH, "no address for host '%s'", node ? node : "(any)");
    return 0;
}

/* ---- vmig_channel_open ---------------------------------------------------------- */

/* If s starts with prefix, the rest of s; else NULL. */
static const char *after_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* The destination's `-incoming tcp:`/`unix:`: listen, take one connection, stop listening. */
static int accept_one(uv_loop_t *loop, const char *uri, vmig_channel_t **out, vmig_error_t *err)
{
    vmig_listener_t *l;
    int r = vmig_listener_open(loop, uri, 1, &l, err);
    if (r < 0)
        return r;
    r = vmig_listener_accept(l, out, err);
    vmig_listener_close(l);
    return r;
}

static int open_fd(uv_loop_t *loop, const char *uri, const char *num, vmig_channel_t **out,
                   vmig_error_t *err)
{
    size_t n = strlen(num);
    bool digits = n > 0 && n <= 10;
    for (size_t i = 0; digits && i < n; i++)
        digits = num[i] >= '0' && num[i] <= '9';
    long v = digits ? strtol(num, NULL, 10) : -1;
    if (!digits || v > INT_MAX)
        return vmig_error_set(err, -EINVAL,
                              "bad descriptor in %.64s: expected fd:N with N a descriptor number", uri);
    return vmig_channel_from_fd(loop, (int)v, uri, out, err);
}

int vmig_channel_open(uv_loop_t *loop, const char *uri, vmig_channel_dir_t dir,
                      vmig_channel_t **out, vmig_error_t *err)
{
    if (out)
        *out = NULL;
    if (!loop || !uri || !out)
        return vmig_error_set(err, -EINVAL, "vmig_channel_open: missing loop, URI or result");
    if (dir != VMIG_CHANNEL_OUTGOING && dir != VMIG_CHANNEL_INCOMING)
        return vmig_error_set(err, -EINVAL, "vmig_channel_open: bad direction %d", (int)dir);
    int r = chan_need_coroutine("vmig_channel_open", err);
    if (r < 0)
        return r;

    const char *rest;
    if ((rest = after_prefix(uri, "tcp:"))) {
        if (dir == VMIG_CHANNEL_INCOMING)
            return accept_one(loop, uri, out, err);
        chan_inet_t in;
        r = chan_parse_inet(rest, uri, false, &in, err);
        return r < 0 ? r : chan_tcp_connect(loop, &in, out, err);
    }
    if ((rest = after_prefix(uri, "unix:"))) {
        if (!*rest)
            return vmig_error_set(err, -EINVAL, "missing path in %s (expected unix:PATH)", uri);
        if (dir == VMIG_CHANNEL_INCOMING)
            return accept_one(loop, uri, out, err);
        return chan_unix_connect(loop, rest, out, err);
    }
    if ((rest = after_prefix(uri, "fd:")))
        return open_fd(loop, uri, rest, out, err);
    if ((rest = after_prefix(uri, "exec:"))) {
        if (!*rest)
            return vmig_error_set(err, -EINVAL, "missing command in %s (expected exec:CMD)", uri);
        return chan_exec_open(loop, rest, dir, out, err);
    }
    if ((rest = after_prefix(uri, "file:"))) {
        if (!*rest)
            return vmig_error_set(err, -EINVAL, "missing path in %s (expected file:PATH)", uri);
        return chan_file_open(loop, rest, dir, out, err);
    }
    return vmig_error_set(err, -EINVAL, "unknown migration protocol: %s", uri);
}

int vmig_channel_check_uri(const char *uri, vmig_channel_dir_t dir, vmig_error_t *err)
{
    const char *rest;
    if ((rest = after_prefix(uri, "tcp:"))) {
        chan_inet_t in;
        return chan_parse_inet(rest, uri, dir == VMIG_CHANNEL_INCOMING, &in, err);
    }
    static const struct { const char *prefix, *what; } others[] = {
        { "unix:", "path" }, { "exec:", "command" }, { "file:", "path" }, { "fd:", "descriptor" },
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        if ((rest = after_prefix(uri, others[i].prefix))) {
            if (!*rest)
                return vmig_error_set(err, -EINVAL, "missing %s in %s", others[i].what, uri);
            return 0;
        }
    }
    return vmig_error_set(err, -EPROTO, "unknown migration protocol: %s", uri);
}
