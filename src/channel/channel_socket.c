/* channel_socket.c — stream sockets (tcp:, unix:, and descriptors handed in
 * with fd:) as channels, outgoing connects, and listeners that accept them. */
#include "channel/channel_internal.h"

#include "vmig/co.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads never ask libuv for more than this at once (read(2) caps near 2 GiB anyway). */
#define SOCK_READ_MAX ((size_t)1 << 30)

/* On unix libuv's uv_buf_t is laid out like struct iovec: writev passes the
 * caller's array straight through. */
_Static_assert(sizeof(uv_buf_t) == sizeof(struct iovec) &&
                   offsetof(uv_buf_t, base) == offsetof(struct iovec, iov_base) &&
                   offsetof(uv_buf_t, len) == offsetof(struct iovec, iov_len),
               "uv_buf_t must match struct iovec");

typedef struct sock_channel {
    vmig_channel_t ch;     /* common part; first, so the casts below hold */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;                   /* the libuv handle: tcp for IP sockets, pipe for the rest */
    co_stream_t io;        /* coroutine reads and writes on u (owns u.handle.data) */
    bool is_socket;        /* shutdown(2) works on the descriptor (not a pipe) */
    bool shut_rd;          /* vmig_channel_shutdown(SHUT_RD) seen: reads end */
    bool shut_wr;          /* vmig_channel_shutdown(SHUT_WR) seen: writes fail */
} sock_channel_t;

#define SOCK_OF_HANDLE(h) ((sock_channel_t *)((char *)(h) - offsetof(sock_channel_t, u)))

/* ---- the channel operations ------------------------------------------------------ */

static ssize_t sock_read(vmig_channel_t *ch, void *buf, size_t len)
{
    sock_channel_t *sc = (sock_channel_t *)ch;
    if (sc->shut_rd || len == 0)
        return 0;
    if (len > SOCK_READ_MAX)
        len = SOCK_READ_MAX;
    ssize_t n = co_stream_read(&sc->io, buf, len);
    /* A shut-down channel has ended: on a pipe the shutdown stops the waiting
     * reader by cancelling it, on a socket it may race with a reset. */
    if (n < 0 && sc->shut_rd)
        return 0;
    return n;
}

static int sock_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    sock_channel_t *sc = (sock_channel_t *)ch;
    if (iovcnt < 0 || (iovcnt > 0 && !iov))
        return -EINVAL;
    if (sc->shut_wr)
        return -EPIPE;
    int r = co_stream_writev(&sc->io, (const uv_buf_t *)iov, (unsigned)iovcnt);
    if (r < 0 && sc->shut_wr)
        r = -EPIPE;
    return r;
}

static int sock_shutdown(vmig_channel_t *ch, int how)
{
    sock_channel_t *sc = (sock_channel_t *)ch;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    bool rd = how != SHUT_WR, wr = how != SHUT_RD;
    sc->shut_rd |= rd;
    sc->shut_wr |= wr;
    if (sc->io.closing)
        return 0; /* a cancelled write closed the stream already */
    if (sc->is_socket) {
        /* On the raw descriptor, at once: libuv's uv_shutdown() would wait for
         * queued writes, which is exactly what a hung peer never lets finish.
         * A coroutine waiting in a read then sees the end of the stream, one
         * waiting in a write gets EPIPE, both from the loop, later. */
        uv_os_fd_t fd;
        if (uv_fileno(&sc->u.handle, &fd) == 0 && shutdown(fd, how) < 0 && errno != ENOTCONN)
            return -errno;
        return 0;
    }
    /* A pipe has no shutdown(2): stop whoever waits on it. A pipe goes one way,
     * so at most one of them waits. Cancelling may run that coroutine at once
     * (from the loop's stack), and it may close the channel: touch nothing after. */
    co_t *writer = wr ? sc->io.writer : NULL;
    co_t *reader = rd ? sc->io.reader : NULL;
    if (writer)
        co_cancel(writer);
    else if (reader)
        co_cancel(reader);
    return 0;
}

static void sock_free_cb(uv_handle_t *h)
{
    free(SOCK_OF_HANDLE(h));
}

/* Free sc once libuv lets go of its handle, without waiting (any caller). */
static void sock_free_later(sock_channel_t *sc)
{
    if (!uv_is_closing(&sc->u.handle)) {
        uv_close(&sc->u.handle, sock_free_cb);
    } else if (sc->io.closing && sc->u.handle.data == NULL) {
        free(sc); /* co_stream's close callback has run already */
    } else {
        /* co_stream started the close: its callback only clears data, ours
         * runs after it (same trick as co_close(); close_cb is a field of
         * every handle in libuv 1.x). */
        sc->u.handle.close_cb = sock_free_cb;
    }
}

static void sock_close(vmig_channel_t *ch)
{
    sock_channel_t *sc = (sock_channel_t *)ch;
    if (!co_self()) {
        sock_free_later(sc);
        return;
    }
    co_stream_close(&sc->io);
    free(sc);
}

static const vmig_channel_ops_t tcp_ops = {
    "tcp", sock_read, sock_writev, sock_shutdown, sock_close,
};
static const vmig_channel_ops_t unix_ops = {
    "unix", sock_read, sock_writev, sock_shutdown, sock_close,
};
static const vmig_channel_ops_t fd_ops = {
    "fd", sock_read, sock_writev, sock_shutdown, sock_close,
};

/* A zeroed channel with its handle initialised (tcp or pipe). */
static int sock_new(uv_loop_t *loop, bool tcp, sock_channel_t **out)
{
    sock_channel_t *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    int r = tcp ? uv_tcp_init(loop, &sc->u.tcp) : uv_pipe_init(loop, &sc->u.pipe, 0);
    if (r < 0) {
        free(sc);
        return r;
    }
    *out = sc;
    return 0;
}

/* The handle is connected or accepted: make it a channel. */
static void sock_ready(sock_channel_t *sc, uv_loop_t *loop, const vmig_channel_ops_t *ops,
                       const char *peer)
{
    vmig_channel_init(&sc->ch, ops, loop, "%s", peer);
    sc->is_socket = true;
    if (sc->u.handle.type == UV_TCP)
        uv_tcp_nodelay(&sc->u.tcp, 1); /* the stream layer batches; replies must not wait */
    co_stream_init(&sc->io, &sc->u.stream);
}

int chan_stream_from_fd(uv_loop_t *loop, int fd, bool tcp, bool is_socket, const char *name,
                        vmig_channel_t **out, vmig_error_t *err)
{
    sock_channel_t *sc;
    int r = sock_new(loop, tcp, &sc);
    if (r < 0)
        return vmig_error_set(err, r, "cannot use %s: %s", name, vmig_strerror(r));
    r = tcp ? uv_tcp_open(&sc->u.tcp, fd) : uv_pipe_open(&sc->u.pipe, fd);
    if (r < 0) {
        /* The handle never took the descriptor: closing it leaves fd alone. */
        sock_free_later(sc);
        char tmp[128];
        return vmig_error_set(err, r, "cannot use %s: %s", name, chan_strerror(r, tmp, sizeof(tmp)));
    }
    sock_ready(sc, loop, &fd_ops, name);
    sc->is_socket = is_socket;
    *out = &sc->ch;
    return 0;
}

/* ---- connecting ------------------------------------------------------------------- */

/* A coroutine waiting for a connect, on its stack. */
typedef struct connect_wait {
    uv_connect_t req; /* the libuv request */
    co_t *co;         /* the connecting coroutine */
    bool cancelled;   /* co_cancel() closed the handle: its close callback wakes us */
} connect_wait_t;

static void connect_cb(uv_connect_t *req, int status)
{
    connect_wait_t *cw = req->data;
    if (cw->cancelled)
        return; /* UV_ECANCELED from the close; the close callback wakes */
    co_wake(cw->co, status);
}

static void connect_closed_cb(uv_handle_t *h)
{
    connect_wait_t *cw = h->data;
    co_wake(cw->co, -ECANCELED);
}

static void connect_cancel(co_t *co, void *data)
{
    connect_wait_t *cw = data;
    /* Only a close stops a connect in libuv; it also gives the request back. */
    cw->cancelled = true;
    uv_close((uv_handle_t *)cw->req.handle, connect_closed_cb);
}

/* Connect sc's handle to addr (tcp) or path (unix). 0, a negative error with
 * the handle still open, or -ECANCELED with *closed set when the cancel
 * closed the handle. */
static int connect_one(sock_channel_t *sc, const struct sockaddr *addr, const char *path,
                       bool *closed)
{
    *closed = false;
    if (co_cancel_clear())
        return -ECANCELED; /* before anything starts: nothing to undo */
    connect_wait_t cw;
    memset(&cw, 0, sizeof(cw));
    cw.req.data = &cw;
    cw.co = co_self();
    sc->u.handle.data = &cw;
    if (addr) {
        int r = uv_tcp_connect(&cw.req, &sc->u.tcp, addr, connect_cb);
        if (r < 0)
            return r;
    } else {
        uv_pipe_connect(&cw.req, &sc->u.pipe, path, connect_cb);
    }
    int r = co_wait(connect_cancel, &cw);
    *closed = cw.cancelled;
    return r;
}

/* "connection refused by X", the message the issue asks for, and friends. */
static int connect_error(vmig_error_t *err, int r, const char *who)
{
    char tmp[128];
    if (r == -ECONNREFUSED)
        return vmig_error_set(err, r, "connection refused by %s", who);
    if (r == -ETIMEDOUT)
        return vmig_error_set(err, r, "connection to %s timed out", who);
    if (r == -ECANCELED)
        return vmig_error_set(err, r, "connecting to %s was cancelled", who);
    return vmig_error_set(err, chan_errno(r), "cannot connect to %s: %s", who,
                          chan_strerror(r, tmp, sizeof(tmp)));
}

int chan_tcp_connect(uv_loop_t *loop, const chan_inet_t *in, vmig_channel_t **out,
                     vmig_error_t *err)
{
    int r = chan_need_coroutine("connecting to tcp:", err);
    if (r < 0)
        return r;
    struct addrinfo *res;
    r = chan_resolve(loop, in, false, &res, err);
    if (r < 0)
        return r;

    /* Try every address in turn, as QEMU does; report the last failure. */
    char who[sizeof(((vmig_channel_t *)0)->peer)];
    int last = -EADDRNOTAVAIL;
    snprintf(who, sizeof(who), "%.120s:%s", in->host, in->port);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        char addr[INET6_ADDRSTRLEN + 16];
        chan_format_addr(ai->ai_addr, addr, sizeof(addr));
        if (in->numeric && in->host[0])
            snprintf(who, sizeof(who), "%s", addr);
        else
            snprintf(who, sizeof(who), "%s (%.90s)", addr, in->host[0] ? in->host : "localhost");
        sock_channel_t *sc;
        r = sock_new(loop, true, &sc);
        if (r < 0) {
            last = r;
            break;
        }
        bool closed;
        r = connect_one(sc, ai->ai_addr, NULL, &closed);
        if (r == 0) {
            uv_freeaddrinfo(res);
            sock_ready(sc, loop, &tcp_ops, who);
            *out = &sc->ch;
            return 0;
        }
        if (!closed)
            co_close(&sc->u.handle);
        free(sc);
        last = r;
        if (r == -ECANCELED)
            break;
    }
    uv_freeaddrinfo(res);
    return connect_error(err, last, who);
}

/* sun_path holds the name and its NUL; libuv 1.44 silently truncates longer ones. */
static int check_unix_path(const char *path, vmig_error_t *err)
{
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
    if (strlen(path) > max)
        return vmig_error_set(err, -EINVAL, "unix socket path too long (at most %zu bytes): %.200s",
                              max, path);
    return 0;
}

int chan_unix_connect(uv_loop_t *loop, const char *path, vmig_channel_t **out, vmig_error_t *err)
{
    int r = chan_need_coroutine("connecting to unix:", err);
    if (r < 0)
        return r;
    r = check_unix_path(path, err);
    if (r < 0)
        return r;
    char who[sizeof(((vmig_channel_t *)0)->peer)];
    snprintf(who, sizeof(who), "unix:%s", path);
    sock_channel_t *sc;
    r = sock_new(loop, false, &sc);
    if (r < 0)
        return connect_error(err, r, who);
    bool closed;
    r = connect_one(sc, NULL, path, &closed);
    if (r < 0) {
        if (!closed)
            co_close(&sc->u.handle);
        free(sc);
        return connect_error(err, r, who);
    }
    sock_ready(sc, loop, &unix_ops, path);
    *out = &sc->ch;
    return 0;
}

/* ---- listening ---------------------------------------------------------------------- */

struct vmig_listener {
    uv_loop_t *loop;     /* the loop it lives on */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;                 /* the listening handle */
    bool is_unix;        /* u.pipe (unix:) rather than u.tcp */
    bool ready;          /* libuv holds a connection for uv_accept() */
    int error;           /* a failed accept reported by libuv, 0 if none */
    co_t *waiter;        /* coroutine waiting in vmig_listener_accept(), or NULL */
    char uri[CHAN_HOST_MAX + 32]; /* bound address as a URI */
};

static void listener_cb(uv_stream_t *server, int status)
{
    vmig_listener_t *l = server->data;
    if (status < 0)
        l->error = status;
    else
        l->ready = true; /* libuv stops accepting until we take this one */
    co_t *w = l->waiter;
    l->waiter = NULL;
    if (w)
        co_wake(w, 0);
}

static void listener_cancel(co_t *co, void *data)
{
    vmig_listener_t *l = data;
    l->waiter = NULL;
    co_wake(co, -ECANCELED);
}

/* Close the listening handle (waiting for libuv) and free l. */
static void listener_free(vmig_listener_t *l)
{
    /* libuv removes the socket file of a bound uv_pipe_t when it closes it. */
    co_close(&l->u.handle);
    free(l);
}

static int listen_tcp(vmig_listener_t *l, const char *uri, const char *spec, int backlog,
                      vmig_error_t *err)
{
    chan_inet_t in;
    int r = chan_parse_inet(spec, uri, true, &in, err);
    if (r < 0)
        return r;
    struct addrinfo *res;
    r = chan_resolve(l->loop, &in, true, &res, err);
    if (r < 0)
        return r;
    /* The first address that binds wins (with no host, that is the wildcard). */
    r = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        r = uv_tcp_init(l->loop, &l->u.tcp);
        if (r < 0)
            break;
        l->u.handle.data = l;
        r = uv_tcp_bind(&l->u.tcp, ai->ai_addr, 0);
        if (r == 0)
            r = uv_listen(&l->u.stream, backlog, listener_cb);
        if (r == 0)
            break;
        co_close(&l->u.handle);
    }
    uv_freeaddrinfo(res);
    if (r < 0) {
        char tmp[128];
        return vmig_error_set(err, r, "cannot listen on %s: %s", uri, chan_strerror(r, tmp, sizeof(tmp)));
    }
    uv_os_fd_t fd = -1;
    uv_fileno(&l->u.handle, &fd);
    chan_listen_uri(fd, &in, l->uri, sizeof(l->uri));
    return 0;
}

int chan_unix_listen_prepare(const char *uri, const char *path, vmig_error_t *err)
{
    if (!*path)
        return vmig_error_set(err, -EINVAL, "missing path in %s (expected unix:PATH)", uri);
    int r = check_unix_path(path, err);
    if (r < 0)
        return r;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return vmig_error_set(err, -EEXIST, "cannot listen on %s: the path exists and is not a socket",
                                  uri);
        if (unlink(path) < 0 && errno != ENOENT)
            return vmig_error_set(err, -errno, "cannot listen on %s: cannot remove the old socket: %s",
                                  uri, strerror(errno));
    }
    return 0;
}

static int listen_unix(vmig_listener_t *l, const char *uri, const char *path, int backlog,
                       vmig_error_t *err)
{
    int r = chan_unix_listen_prepare(uri, path, err);
    if (r < 0)
        return r;
    r = uv_pipe_init(l->loop, &l->u.pipe, 0);
    if (r < 0)
        return vmig_error_set(err, r, "cannot listen on %s: %s", uri, vmig_strerror(r));
    l->u.handle.data = l;
    l->is_unix = true;
    const char *step = "bind";
    r = uv_pipe_bind(&l->u.pipe, path);
    /* Owner only: anyone who can connect can feed the destination a VM.
     * Before listen(), a connect is refused, so there is no window. */
    if (r == 0) {
        step = "chmod";
        r = chmod(path, 0600) < 0 ? -errno : 0;
    }
    if (r == 0) {
        step = "listen";
        r = uv_listen(&l->u.stream, backlog, listener_cb);
    }
    if (r < 0) {
        char tmp[128];
        co_close(&l->u.handle);
        return vmig_error_set(err, r, "cannot listen on %s (%s): %s", uri, step,
                              chan_strerror(r, tmp, sizeof(tmp)));
    }
    snprintf(l->uri, sizeof(l->uri), "unix:%s", path);
    return 0;
}

int vmig_listener_open(uv_loop_t *loop, const char *uri, int backlog, vmig_listener_t **out,
                       vmig_error_t *err)
{
    if (out)
        *out = NULL;
    if (!loop || !uri || !out)
        return vmig_error_set(err, -EINVAL, "vmig_listener_open: missing loop, URI or result");
    int r = chan_need_coroutine("vmig_listener_open", err);
    if (r < 0)
        return r;
    if (backlog < 1)
        backlog = 1;
    bool tcp = strncmp(uri, "tcp:", 4) == 0;
    bool unx = strncmp(uri, "unix:", 5) == 0;
    if (!tcp && !unx)
        return vmig_error_set(err, -EINVAL, "unknown migration protocol: %s (a listener takes tcp: or unix:)",
                              uri);
    vmig_listener_t *l = calloc(1, sizeof(*l));
    if (!l)
        return vmig_error_set(err, -ENOMEM, "out of memory listening on %s", uri);
    l->loop = loop;
    r = tcp ? listen_tcp(l, uri, uri + 4, backlog, err) : listen_unix(l, uri, uri + 5, backlog, err);
    if (r < 0) {
        free(l); /* every failure above has closed the handle already */
        return r;
    }
    *out = l;
    return 0;
}

/* Take the connection libuv holds: 0, -EAGAIN if it was gone, or an error. */
static int accept_ready(vmig_listener_t *l, vmig_channel_t **out, vmig_error_t *err)
{
    sock_channel_t *sc;
    char tmp[128];
    int r = sock_new(l->loop, !l->is_unix, &sc);
    if (r < 0)
        return vmig_error_set(err, r, "cannot accept on %s: %s", l->uri, vmig_strerror(r));
    r = uv_accept(&l->u.stream, &sc->u.stream);
    if (r < 0) {
        co_close(&sc->u.handle);
        free(sc);
        if (r == UV_EAGAIN)
            return -EAGAIN;
        return vmig_error_set(err, r, "cannot accept on %s: %s", l->uri, chan_strerror(r, tmp, sizeof(tmp)));
    }
    char peer[sizeof(((vmig_channel_t *)0)->peer)];
    if (l->is_unix) {
        snprintf(peer, sizeof(peer), "%.150s", l->uri + 5); /* a unix client has no name */
    } else {
        struct sockaddr_storage ss;
        int sslen = sizeof(ss);
        if (uv_tcp_getpeername(&sc->u.tcp, (struct sockaddr *)&ss, &sslen) == 0)
            chan_format_addr((struct sockaddr *)&ss, peer, sizeof(peer));
        else
            snprintf(peer, sizeof(peer), "a client of %.140s", l->uri);
    }
    sock_ready(sc, l->loop, l->is_unix ? &unix_ops : &tcp_ops, peer);
    *out = &sc->ch;
    return 0;
}

int vmig_listener_accept(vmig_listener_t *l, vmig_channel_t **out, vmig_error_t *err)
{
    if (out)
        *out = NULL;
    if (!l || !out)
        return vmig_error_set(err, -EINVAL, "vmig_listener_accept: missing listener or result");
    int r = chan_need_coroutine("vmig_listener_accept", err);
    if (r < 0)
        return r;
    if (l->waiter)
        return vmig_error_set(err, -EBUSY, "another coroutine is accepting on %s already", l->uri);
    for (;;) {
        if (l->error) {
            char tmp[128];
            int e = l->error;
            l->error = 0; /* reported once; the next accept tries again */
            return vmig_error_set(err, chan_errno(e), "accepting a connection on %s failed: %s", l->uri,
                                  chan_strerror(e, tmp, sizeof(tmp)));
        }
        if (l->ready) {
            l->ready = false;
            r = accept_ready(l, out, err);
            if (r != -EAGAIN)
                return r;
            continue;
        }
        l->waiter = co_self();
        r = co_wait(listener_cancel, l);
        l->waiter = NULL;
        if (r < 0)
            return vmig_error_set(err, r, "waiting for a connection on %s was cancelled", l->uri);
    }
}

const char *vmig_listener_uri(const vmig_listener_t *l)
{
    return l ? l->uri : "";
}

static void listener_free_cb(uv_handle_t *h)
{
    free((vmig_listener_t *)((char *)h - offsetof(vmig_listener_t, u)));
}

void vmig_listener_close(vmig_listener_t *l)
{
    if (!l)
        return;
    if (!co_self()) {
        uv_close(&l->u.handle, listener_free_cb);
        return;
    }
    listener_free(l);
}
