/* qmp_server.c — the monitor's listening sockets (unix:PATH created 0600,
 * tcp:HOST:PORT), accepting clients, and closing the whole transport. */
#include "channel/channel_internal.h"
#include "qmp/qmp_transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Connections accepted per readiness callback, so that a storm of clients
 * cannot hold the loop. */
#define ACCEPT_BATCH 32
/* Out of descriptors or memory: stop accepting for this long. A pending
 * connection would otherwise make the level-triggered poll spin. */
#define ACCEPT_RETRY_MS 100
#define LISTEN_BACKLOG 128

/* One listening socket. Our own socket and a uv_poll_t rather than a libuv
 * server, because accepted sockets must be raw descriptors (SCM_RIGHTS). */
typedef struct qmp_listener {
    struct qmp_listener *next;  /* the next listener of the monitor */
    struct qmp_transport *tr;   /* the transport it feeds */
    uv_poll_t poll;             /* readiness of fd: a client waits */
    uv_timer_t retry;           /* restarts poll after running out of descriptors */
    int fd;                     /* the listening socket, non-blocking */
    bool is_unix;               /* unix: (descriptors may be passed) rather than tcp: */
    dev_t dev;                  /* unix: the socket file we created... */
    ino_t ino;                  /* ...so that close removes it only if it is still ours */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix: the socket file */
    char uri[CHAN_HOST_MAX + 32]; /* the bound address as a URI */
} qmp_listener_t;

int qmp_transport_init(vmig_qmp_t *qmp)
{
    struct qmp_transport *tr = calloc(1, sizeof(*tr));
    if (!tr)
        return -ENOMEM;
    tr->qmp = qmp;
    qmp->tr = tr;
    return 0;
}

/* ---- accepting ---------------------------------------------------------------------- */

static void listener_poll_cb(uv_poll_t *h, int status, int events);

static void listener_retry_cb(uv_timer_t *t)
{
    qmp_listener_t *l = t->data;
    if (!l->tr->closing)
        uv_poll_start(&l->poll, UV_READABLE, listener_poll_cb);
}

static void listener_poll_cb(uv_poll_t *h, int status, int events)
{
    qmp_listener_t *l = h->data;
    if (status < 0) {
        /* libuv stopped the handle (POLLERR): try again later rather than
         * never accept again. */
        uv_timer_start(&l->retry, listener_retry_cb, ACCEPT_RETRY_MS, 0);
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH && !l->tr->closing; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue; /* that client only */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                uv_poll_stop(&l->poll);
                uv_timer_start(&l->retry, listener_retry_cb, ACCEPT_RETRY_MS, 0);
            }
            return; /* EAGAIN: nobody else is waiting */
        }
        if (!l->is_unix) {
            int one = 1; /* replies are small and must not wait for Nagle */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        qmp_conn_start(l->tr, fd, l->is_unix); /* closes fd on failure */
    }
}

/* ---- listening ---------------------------------------------------------------------- */

static int listen_unix(qmp_listener_t *l, const char *uri, const char *path, vmig_error_t *err)
{
    /* sizeof(l->path) is sun_path's size: the helper's length check fits it. */
    int r = chan_unix_listen_prepare(uri, path, err);
    if (r < 0)
        return r;
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return vmig_error_set(err, -errno, "cannot listen on %s: %s", uri, strerror(errno));
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    const char *step = "bind";
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    /* Owner only: whoever connects controls the VM. Before listen() a
     * connect is refused, so the mode is right before anyone gets in. */
    if (r == 0) {
        step = "chmod";
        r = chmod(path, 0600) < 0 || lstat(path, &st) < 0 ? -errno : 0;
    }
    if (r == 0) {
        step = "listen";
        r = listen(fd, LISTEN_BACKLOG) < 0 ? -errno : 0;
    }
    if (r < 0) {
        if (strcmp(step, "bind") != 0)
            unlink(path);
        close(fd);
        return vmig_error_set(err, r, "cannot listen on %s (%s): %s", uri, step, strerror(-r));
    }
    l->fd = fd;
    l->is_unix = true;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    snprintf(l->path, sizeof(l->path), "%s", path);
    snprintf(l->uri, sizeof(l->uri), "unix:%s", path);
    return 0;
}

/* Bind and listen on one resolved address: the socket, or a negative errno. */
static int listen_addr(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1; /* a restarted monitor must get its port back at once */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static int listen_tcp(qmp_listener_t *l, uv_loop_t *loop, const char *uri, const char *spec,
                      vmig_error_t *err)
{
    chan_inet_t in;
    int r = chan_parse_inet(spec, uri, true, &in, err);
    if (r < 0)
        return r;
    struct addrinfo *res;
    r = chan_resolve(loop, &in, true, &res, err);
    if (r < 0)
        return r;
    /* The first address that binds wins (with no host: the wildcard). */
    int fd = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        fd = listen_addr(ai);
        if (fd >= 0)
            break;
    }
    uv_freeaddrinfo(res);
    if (fd < 0) {
        char tmp[128];
        return vmig_error_set(err, fd, "cannot listen on %s: %s", uri, chan_strerror(fd, tmp, sizeof(tmp)));
    }
    chan_listen_uri(fd, &in, l->uri, sizeof(l->uri));
    l->fd = fd;
    return 0;
}

/* QEMU's -qmp takes chardev options after the address: `,server=on`,
 * `,wait=off` and their old forms only restate what a monitor socket does
 * here, so they are dropped from the end of *uri; asking for a client socket
 * is refused. */
static int strip_chardev_opts(char *uri, const char *orig, vmig_error_t *err)
{
    static const char *const same[] = {"server", "server=on", "nowait", "wait=off"};
    static const char *const refused[] = {"server=off", "wait", "wait=on"};
    for (;;) {
        char *comma = strrchr(uri, ',');
        if (!comma)
            return 0;
        bool known = false;
        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
            known = known || strcmp(comma + 1, same[i]) == 0;
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
            if (strcmp(comma + 1, refused[i]) == 0)
                return vmig_error_set(err, -EINVAL, "unsupported option '%s' in %s: the monitor only listens",
                                      comma + 1, orig);
        if (!known)
            return 0; /* ",ipv4" and friends are the tcp: parser's */
        *comma = '\0';
    }
}

int vmig_qmp_listen(vmig_qmp_t *qmp, const char *orig, vmig_error_t *err)
{
    if (!qmp || !qmp->tr || !orig)
        return vmig_error_set(err, -EINVAL, "vmig_qmp_listen: missing monitor or URI");
    struct qmp_transport *tr = qmp->tr;
    if (tr->closing)
        return vmig_error_set(err, -EINVAL, "cannot listen on %s: the monitor is closing", orig);
    char *uri = strdup(orig);
    qmp_listener_t *l = calloc(1, sizeof(*l));
    if (!l || !uri) {
        free(uri);
        free(l);
        return vmig_error_set(err, -ENOMEM, "out of memory listening on %s", orig);
    }
    l->tr = tr;
    l->fd = -1;
    /* Resolving a host name suspends us: a close meanwhile waits for us. */
    tr->listening++;
    int r = strip_chardev_opts(uri, orig, err);
    if (r == 0 && strncmp(uri, "unix:", 5) == 0)
        r = listen_unix(l, uri, uri + 5, err);
    else if (r == 0 && strncmp(uri, "tcp:", 4) == 0)
        r = listen_tcp(l, qmp->loop, uri, uri + 4, err);
    else if (r == 0)
        r = vmig_error_set(err, -EINVAL, "unsupported QMP address %s (expected unix:PATH or tcp:HOST:PORT)",
                           orig);
    free(uri);
    tr->listening--;
    if (r == 0 && tr->closing) {
        if (l->is_unix)
            unlink(l->path);
        close(l->fd);
        r = vmig_error_set(err, -ECANCELED, "cannot listen on %s: the monitor is closing", orig);
    }
    qmp_transport_maybe_done(tr);
    if (r == 0) {
        r = uv_poll_init_socket(qmp->loop, &l->poll, l->fd);
        if (r < 0) {
            if (l->is_unix)
                unlink(l->path);
            close(l->fd);
            vmig_error_set(err, r, "cannot listen on %s: %s", orig, vmig_strerror(r));
        }
    }
    if (r < 0) {
        free(l);
        return r;
    }
    l->poll.data = l;
    uv_timer_init(qmp->loop, &l->retry);
    l->retry.data = l;
    uv_poll_start(&l->poll, UV_READABLE, listener_poll_cb);
    /* Appended: the listeners keep the order they were opened in. */
    qmp_listener_t **pp = &tr->listeners;
    while (*pp)
        pp = &(*pp)->next;
    *pp = l;
    return 0;
}

const char *qmp_transport_listener_uri(const vmig_qmp_t *qmp, size_t i)
{
    if (!qmp || !qmp->tr)
        return NULL;
    const qmp_listener_t *l = qmp->tr->listeners;
    while (l && i--)
        l = l->next;
    return l ? l->uri : NULL;
}

/* ---- closing -------------------------------------------------------------------------- */

void qmp_transport_maybe_done(struct qmp_transport *tr)
{
    if (tr->closer && tr->nconns == 0 && tr->listening == 0) {
        co_t *w = tr->closer;
        tr->closer = NULL;
        co_wake(w, 0);
    }
}

static void listener_close(qmp_listener_t *l)
{
    uv_poll_stop(&l->poll);
    co_close((uv_handle_t *)&l->poll);
    co_close((uv_handle_t *)&l->retry);
    close(l->fd);
    /* Remove the socket file, unless someone replaced it meanwhile. */
    struct stat st;
    if (l->is_unix && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
    free(l);
}

void qmp_transport_close(vmig_qmp_t *qmp)
{
    struct qmp_transport *tr = qmp ? qmp->tr : NULL;
    if (!tr)
        return;
    if (!co_self() && (tr->listeners || tr->nconns || tr->listening)) {
        /* Closing these waits for libuv to release handles, which only a
         * coroutine can; freeing now would leave them using freed memory. */
        fprintf(stderr, "vmig: qmp_transport_close() must be called from a coroutine\n");
        return;
    }
    tr->closing = true;
    while (tr->listeners) {
        qmp_listener_t *l = tr->listeners;
        tr->listeners = l->next;
        listener_close(l);
    }
    /* Each connection tears itself down; the last one (or a listen still
     * resolving its host) wakes us. */
    qmp_conn_close_all(tr);
    while (tr->nconns > 0 || tr->listening > 0) {
        tr->closer = co_self();
        co_wait(NULL, NULL);
    }
    qmp->tr = NULL;
    free(tr);
}
