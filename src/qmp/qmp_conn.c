/* qmp_conn.c — one QMP client connection: reads and frames its input,
 * receives passed descriptors, queues its output with a bound, and tears
 * itself down without ever blocking the loop. */
#include "qmp/qmp_json_split.h"
#include "qmp/qmp_transport.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Why a raw socket with a uv_poll_t rather than a uv_stream_t: descriptors
 * passed with SCM_RIGHTS need recvmsg() on the socket, which libuv only does
 * for its own IPC pipes; and with sendmsg(MSG_NOSIGNAL) a client that went
 * away gives EPIPE, never SIGPIPE.
 *
 * Each connection has one coroutine. It greets the client, reads, splits the
 * input into values and hands each to vmig_qmp_dispatch() in order; the
 * dispatcher may suspend it there (flow control), and no input is read
 * meanwhile. When the connection ends, that same coroutine tears it down, so
 * the dispatcher is told (vmig_qmp_dispatch_conn_closed) only when it is not
 * in the middle of vmig_qmp_dispatch() for this connection.
 *
 * Output never waits for a coroutine: vmig_qmp_conn_send() serializes the
 * message, writes what the socket takes at once and queues the rest, which
 * the poll callback writes when the socket is writable. A client whose queue
 * passes opts.max_output is disconnected.
 *
 * An in-memory connection (qmp_conn_mem_open(), for harnesses) is the same
 * object with c->mem set and no socket: conn_recv() takes its bytes from
 * c->mem, conn_flush() hands messages to its output function, and the poll
 * handle and descriptor are never used. Everything else is shared.
 */

/* Bytes read from the socket at once (on the connection's stack). */
#define CONN_READ_SIZE 8192
/* Work (bytes read, plus this much per value) after which the connection
 * lets the loop run, so a client flooding us cannot hold the loop for long. */
#define CONN_VALUE_COST 512
#define CONN_BUDGET (64u * 1024u)
/* Messages written with one sendmsg(). */
#define CONN_IOV_MAX 64
/* The line end QEMU puts after every message it sends. */
#define QMP_EOL "\r\n"

/* One serialized message waiting to be written. */
typedef struct out_msg {
    struct out_msg *next; /* the next message, or NULL */
    char *data;           /* the JSON text followed by QMP_EOL */
    size_t len;           /* bytes in data */
    size_t off;           /* bytes of data already written */
} out_msg_t;

/* The socket stand-in of an in-memory connection. */
typedef struct conn_mem {
    qmp_conn_mem_out_fn out;       /* receives every message sent */
    void *opaque;                  /* its first argument */
    char *in;                      /* input handed over and not yet read (malloc'd) */
    size_t in_len;                 /* bytes in in */
    size_t in_off;                 /* bytes of in already read */
    int in_fds[QMP_CONN_MAX_FDS];  /* descriptors that come with the first byte of in */
    unsigned in_nfds;              /* how many */
    bool eof;                      /* qmp_conn_mem_eof(): read returns 0 once in is read */
} conn_mem_t;

typedef struct qmp_conn_transport {
    vmig_qmp_conn_t conn;                  /* what the dispatcher sees; conn.tr points here */
    struct qmp_transport *owner;           /* the monitor's transport: list, limits */
    struct qmp_conn_transport *prev, *next; /* in owner->conns */
    uv_poll_t poll;                        /* readiness of fd */
    int fd;                                /* the accepted socket, non-blocking */
    bool is_unix;                          /* a unix socket: descriptors may come along */
    co_t *co;                              /* the connection's coroutine */
    bool opened;                           /* qmp_dispatch_conn_open() succeeded */
    bool wait_read;                        /* co waits for fd to become readable */
    bool want_read;                        /* keep watching for readability */
    bool closing;                          /* closing: no more input, output dropped */
    bool rdhup_seen;                       /* the peer shut its sending side */
    int poll_events;                       /* UV_READABLE/WRITABLE/DISCONNECT watched */
    qmp_json_split_t split;                /* input framing */
    out_msg_t *out_head, *out_tail;        /* output queue, oldest first */
    size_t out_bytes;                      /* bytes queued and not yet written */
    size_t max_output;                     /* disconnect past this many queued bytes */
    int fds[QMP_CONN_MAX_FDS];             /* received descriptors, oldest first */
    unsigned nfds;                         /* how many fds holds */
    conn_mem_t *mem;                       /* in-memory connection: no fd, no poll */
} qmp_conn_tr_t;

static void conn_poll_cb(uv_poll_t *h, int status, int events);

/* ---- per-connection state for the dispatcher ------------------------------------- */

bool vmig_qmp_conn_negotiated(const vmig_qmp_conn_t *conn)
{
    return conn && conn->negotiated;
}

void vmig_qmp_conn_set_negotiated(vmig_qmp_conn_t *conn, bool oob)
{
    if (!conn)
        return;
    conn->negotiated = true;
    conn->oob = oob;
}

bool vmig_qmp_conn_oob(const vmig_qmp_conn_t *conn)
{
    return conn && conn->oob;
}

bool vmig_qmp_conn_oob_capable(const vmig_qmp_conn_t *conn)
{
    return conn && conn->oob_capable;
}

int vmig_qmp_conn_take_fd(vmig_qmp_conn_t *conn)
{
    qmp_conn_tr_t *c = conn ? conn->tr : NULL;
    if (!c || c->nfds == 0)
        return -ENOENT;
    int fd = c->fds[0];
    c->nfds--;
    memmove(c->fds, c->fds + 1, c->nfds * sizeof(c->fds[0]));
    return fd;
}

/* ---- watching the socket --------------------------------------------------------- */

/* Watch what is needed now: readability while the coroutine wants input,
 * writability while output is queued, the peer's hangup until seen once. */
static int conn_update_poll(qmp_conn_tr_t *c)
{
    if (c->mem)
        return 0; /* nothing to watch: input is handed over, output delivered at once */
    int ev = 0;
    if (!c->closing)
        ev = (c->want_read ? UV_READABLE : 0) | (c->out_head ? UV_WRITABLE : 0) |
             (c->rdhup_seen ? 0 : UV_DISCONNECT);
    if (ev == c->poll_events)
        return 0;
    int r = ev ? uv_poll_start(&c->poll, ev, conn_poll_cb) : uv_poll_stop(&c->poll);
    if (r == 0)
        c->poll_events = ev;
    return r;
}

static void conn_free_output(qmp_conn_tr_t *c)
{
    for (out_msg_t *m = c->out_head, *next; m; m = next) {
        next = m->next;
        free(m->data);
        free(m);
    }
    c->out_head = c->out_tail = NULL;
    c->out_bytes = 0;
}

/* Stop serving c: drop its output and make its coroutine tear it down (it
 * may be waiting for input, inside the dispatcher, pausing, or running: then
 * it sees the flag when it gets control back). Never frees c at once. */
static void conn_request_close(qmp_conn_tr_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    conn_free_output(c);
    c->want_read = false;
    conn_update_poll(c);
    /* A wait in the dispatcher is cancelled too: the connection is gone. A
     * cancel sent to the running coroutine stays pending; it is cleared before
     * the teardown. */
    co_cancel(c->co);
}

/* An in-memory connection's "socket" takes everything at once. */
static void conn_mem_flush(qmp_conn_tr_t *c)
{
    while (c->out_head && !c->closing) {
        out_msg_t *m = c->out_head;
        c->out_head = m->next;
        if (!c->out_head)
            c->out_tail = NULL;
        c->out_bytes -= m->len - m->off;
        c->mem->out(c->mem->opaque, m->data + m->off, m->len - m->off);
        free(m->data);
        free(m);
    }
}

/* Write as much queued output as the socket takes now. */
static void conn_flush(qmp_conn_tr_t *c)
{
    if (c->mem) {
        conn_mem_flush(c);
        return;
    }
    while (c->out_head && !c->closing) {
        struct iovec iov[CONN_IOV_MAX];
        int n = 0;
        for (out_msg_t *m = c->out_head; m && n < CONN_IOV_MAX; m = m->next) {
            iov[n].iov_base = m->data + m->off;
            iov[n].iov_len = m->len - m->off;
            n++;
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_request_close(c); /* EPIPE, ECONNRESET: the client is gone */
            return;
        }
        size_t left = (size_t)w;
        c->out_bytes -= left;
        while (left) {
            out_msg_t *m = c->out_head;
            size_t k = m->len - m->off;
            if (k > left) {
                m->off += left;
                break;
            }
            left -= k;
            c->out_head = m->next;
            if (!c->out_head)
                c->out_tail = NULL;
            free(m->data);
            free(m);
        }
    }
    if (conn_update_poll(c) < 0)
        conn_request_close(c);
}

/* Has the peer closed its socket entirely (not just shut its sending side)? */
static bool conn_peer_gone(const qmp_conn_tr_t *c)
{
    struct pollfd p = {.fd = c->fd, .events = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void conn_poll_cb(uv_poll_t *h, int status, int events)
{
    qmp_conn_tr_t *c = h->data;
    if (status < 0) {
        conn_request_close(c);
        return;
    }
    if (events & UV_WRITABLE)
        conn_flush(c);
    if (c->closing)
        return;
    if ((events & UV_DISCONNECT) && !c->wait_read) {
        /* The peer hung up while the coroutine is not reading (the dispatcher
         * holds it while a command runs). A client that is gone entirely is
         * dropped now, as QEMU does on HUP, so a command it left running
         * finishes with nobody to answer. A mere shutdown of its sending side
         * ("send, then wait for the replies") is left for the read to find. */
        if (conn_peer_gone(c)) {
            conn_request_close(c);
            return;
        }
        c->rdhup_seen = true;
        if (conn_update_poll(c) < 0) {
            conn_request_close(c);
            return;
        }
    }
    if (!(events & UV_READABLE))
        return;
    if (c->wait_read) {
        /* Last: the coroutine runs at once and may start tearing down. */
        c->wait_read = false;
        co_wake(c->co, 0);
    } else {
        /* The coroutine is busy (in the dispatcher): stop watching until it
         * asks again, or a level-triggered poll would spin. */
        c->want_read = false;
        if (conn_update_poll(c) < 0)
            conn_request_close(c);
    }
}

/* ---- output --------------------------------------------------------------------- */

/* jansson leaves DEL (0x7F) raw where QEMU writes \u007F; in ASCII output
 * it can only occur inside strings. Returns the new text (the old one is
 * freed) or NULL. */
static char *escape_del(char *text, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < *len; i++)
        n += text[i] == 0x7f;
    char *out = malloc(*len + 5 * n + 1);
    if (out) {
        size_t k = 0;
        for (size_t i = 0; i < *len; i++) {
            if (text[i] == 0x7f) {
                memcpy(out + k, "\\u007F", 6);
                k += 6;
            } else {
                out[k++] = text[i];
            }
        }
        out[k] = '\0';
        *len = k;
    }
    free(text);
    return out;
}

void vmig_qmp_conn_send(vmig_qmp_conn_t *conn, json_t *msg)
{
    qmp_conn_tr_t *c = conn ? conn->tr : NULL;
    if (!c || !msg || c->closing) {
        json_decref(msg);
        return;
    }
    /* QEMU's layout: one line, ", " and ": " separators, non-ASCII as \uXXXX,
     * then "\r\n". */
    char *text = json_dumps(msg, JSON_ENSURE_ASCII);
    json_decref(msg);
    out_msg_t *m = NULL;
    size_t n = text ? strlen(text) : 0;
    if (text && memchr(text, 0x7f, n))
        text = escape_del(text, &n);
    char *data = text ? realloc(text, n + sizeof(QMP_EOL)) : NULL;
    if (data)
        m = malloc(sizeof(*m));
    if (!m) {
        /* A reply that cannot be sent would leave the client waiting forever. */
        free(data ? data : text);
        conn_request_close(c);
        return;
    }
    memcpy(data + n, QMP_EOL, sizeof(QMP_EOL));
    m->next = NULL;
    m->data = data;
    m->len = n + sizeof(QMP_EOL) - 1;
    m->off = 0;
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += m->len;
    /* While the poll waits for writability the socket is full: just queue. */
    if (!(c->poll_events & UV_WRITABLE))
        conn_flush(c);
    if (!c->closing && c->out_bytes > c->max_output)
        conn_request_close(c); /* it does not read its replies: drop it */
}

void qmp_transport_broadcast(vmig_qmp_t *qmp, json_t *msg)
{
    if (!qmp || !qmp->tr || !msg)
        return;
    /* Sending never frees a connection (its own coroutine does, after a loop
     * iteration), so the list holds still while we walk it. */
    for (qmp_conn_tr_t *c = qmp->tr->conns; c; c = c->next)
        if (!c->closing && c->conn.negotiated)
            vmig_qmp_conn_send(&c->conn, json_incref(msg));
}

/* ---- input ---------------------------------------------------------------------- */

/* Keep one descriptor that came with the bytes just read. */
static void conn_keep_fd(qmp_conn_tr_t *c, int fd)
{
    if (c->nfds < QMP_CONN_MAX_FDS && !c->closing)
        c->fds[c->nfds++] = fd;
    else
        close(fd); /* a client must not pile up our descriptors */
}

/* Keep the descriptors that came with the bytes just read. */
static void conn_take_cmsg_fds(qmp_conn_tr_t *c, struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *p = CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, p + i * sizeof(int), sizeof(int));
            conn_keep_fd(c, fd);
        }
    }
}

/* conn_recv() of an in-memory connection: the input handed over, as a
 * stream socket gives it (descriptors with the first byte). */
static ssize_t conn_mem_recv(qmp_conn_tr_t *c, char *buf, size_t len)
{
    conn_mem_t *m = c->mem;
    if (m->in_off == m->in_len)
        return m->eof ? 0 : -EAGAIN;
    for (unsigned i = 0; i < m->in_nfds; i++)
        conn_keep_fd(c, m->in_fds[i]);
    m->in_nfds = 0;
    size_t n = m->in_len - m->in_off;
    if (n > len)
        n = len;
    memcpy(buf, m->in + m->in_off, n);
    m->in_off += n;
    if (m->in_off == m->in_len) {
        free(m->in);
        m->in = NULL;
        m->in_len = m->in_off = 0;
    }
    return (ssize_t)n;
}

/* One non-blocking read: bytes, 0 at the end, -EAGAIN or another error. */
static ssize_t conn_recv(qmp_conn_tr_t *c, char *buf, size_t len)
{
    if (c->mem)
        return conn_mem_recv(c, buf, len);
    /* Room for the cap; the kernel closes whatever does not fit (MSG_CTRUNC). */
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * QMP_CONN_MAX_FDS)];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (c->is_unix) {
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
    }
    ssize_t n;
    do
        n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (c->is_unix && mh.msg_controllen > 0)
        conn_take_cmsg_fds(c, &mh);
    return n;
}

static void conn_read_cancel(co_t *co, void *data)
{
    qmp_conn_tr_t *c = data;
    c->wait_read = false;
    co_wake(co, -ECANCELED);
}

/* Wait until the socket is readable: 0, or -ECANCELED when closing. */
static int conn_wait_readable(qmp_conn_tr_t *c)
{
    c->want_read = true;
    if (conn_update_poll(c) < 0)
        return -EIO;
    c->wait_read = true;
    int r = co_wait(conn_read_cancel, c);
    c->wait_read = false;
    return r;
}

/* Split bytes into values and hand them on in order; returns how many. */
static size_t conn_input(qmp_conn_tr_t *c, const char *buf, size_t n)
{
    size_t off = 0, values = 0;
    while (off < n && !c->closing) {
        qmp_json_item_t item;
        off += qmp_json_split_feed(&c->split, buf + off, n - off, &item);
        if (item.kind == QMP_JSON_VALUE) {
            char err[128];
            json_t *msg = qmp_json_parse(item.data, item.len, err, sizeof(err));
            vmig_qmp_dispatch(c->conn.qmp, &c->conn, msg, msg ? NULL : err);
            values++;
        } else if (item.kind == QMP_JSON_ERROR) {
            vmig_qmp_dispatch(c->conn.qmp, &c->conn, NULL, item.error);
            values++;
        }
    }
    return values;
}

static void conn_read_loop(qmp_conn_tr_t *c)
{
    char buf[CONN_READ_SIZE];
    size_t work = 0;
    while (!c->closing) {
        ssize_t n = conn_recv(c, buf, sizeof(buf));
        if (n == -EAGAIN) {
            work = 0;
            if (conn_wait_readable(c) < 0)
                break;
            continue;
        }
        if (n <= 0)
            break; /* the client closed, or the socket failed */
        work += (size_t)n + CONN_VALUE_COST * conn_input(c, buf, (size_t)n);
        if (work >= CONN_BUDGET && !c->closing) {
            work = 0;
            if (co_pause() < 0)
                break;
        }
    }
}

/* ---- lifetime ------------------------------------------------------------------- */

static void conn_unlink(qmp_conn_tr_t *c)
{
    struct qmp_transport *tr = c->owner;
    if (c->prev)
        c->prev->next = c->next;
    else
        tr->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tr->nconns--;
    qmp_transport_maybe_done(tr);
}

static void conn_free(qmp_conn_tr_t *c)
{
    for (unsigned i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    c->nfds = 0;
    conn_free_output(c);
    qmp_json_split_free(&c->split);
    if (c->mem) {
        for (unsigned i = 0; i < c->mem->in_nfds; i++)
            close(c->mem->in_fds[i]);
        free(c->mem->in);
        free(c->mem);
    }
    free(c);
}

static int conn_main(void *arg)
{
    qmp_conn_tr_t *c = arg;
    vmig_qmp_t *qmp = c->conn.qmp;
    c->opened = qmp_dispatch_conn_open(qmp, &c->conn) == 0;
    if (c->opened) {
        json_t *greeting = qmp_dispatch_greeting(qmp, &c->conn);
        if (greeting)
            vmig_qmp_conn_send(&c->conn, greeting);
        else
            conn_request_close(c);
        conn_read_loop(c);
    }

    /* Teardown: from here on nothing reaches this connection. */
    c->closing = true;
    conn_free_output(c);
    co_cancel_clear(); /* a cancel sent while we ran has done its job */
    if (!c->mem) {
        uv_poll_stop(&c->poll);
        co_close((uv_handle_t *)&c->poll);
        close(c->fd);
    }
    if (c->opened)
        vmig_qmp_dispatch_conn_closed(qmp, &c->conn);
    conn_unlink(c);
    conn_free(c);
    return 0;
}

/* A connection whose coroutine could not be created: free after the close. */
static void conn_abort_closed(uv_handle_t *h)
{
    qmp_conn_tr_t *c = h->data;
    close(c->fd);
    conn_free(c);
}

/* A new connection of tr, not yet started; NULL if out of memory. */
static qmp_conn_tr_t *conn_new(struct qmp_transport *tr, int fd, bool oob_capable)
{
    vmig_qmp_t *qmp = tr->qmp;
    qmp_conn_tr_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->conn.qmp = qmp;
    c->conn.id = ++tr->next_id;
    c->conn.oob_capable = oob_capable;
    c->conn.tr = c;
    c->owner = tr;
    c->fd = fd;
    c->max_output = qmp->opts.max_output ? qmp->opts.max_output : QMP_DEFAULT_MAX_OUTPUT;
    qmp_json_split_init(&c->split, qmp->opts.max_input, qmp->opts.max_depth);
    return c;
}

/* Link c into tr's list and run its coroutine (created by the caller)
 * until it first waits. */
static void conn_launch(struct qmp_transport *tr, qmp_conn_tr_t *c)
{
    c->next = tr->conns;
    if (tr->conns)
        tr->conns->prev = c;
    tr->conns = c;
    tr->nconns++;
    co_enter(c->co);
}

int qmp_conn_start(struct qmp_transport *tr, int fd, bool is_unix)
{
    vmig_qmp_t *qmp = tr->qmp;
    /* QEMU 7.2 offers "oob" on socket monitors. */
    qmp_conn_tr_t *c = conn_new(tr, fd, true);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->is_unix = is_unix;
    int r = uv_poll_init_socket(qmp->loop, &c->poll, fd);
    if (r < 0) {
        close(fd);
        conn_free(c);
        return r;
    }
    c->poll.data = c;
    co_attr_t attr = {.detached = true, .name = "qmp-conn"};
    c->co = co_create_ex(qmp->loop, conn_main, c, &attr);
    if (!c->co) {
        uv_close((uv_handle_t *)&c->poll, conn_abort_closed);
        return -ENOMEM;
    }
    conn_launch(tr, c);
    return 0;
}

/* ---- in-memory connections ------------------------------------------------------ */

vmig_qmp_conn_t *qmp_conn_mem_open(vmig_qmp_t *qmp, bool oob_capable, qmp_conn_mem_out_fn out,
                                   void *opaque)
{
    struct qmp_transport *tr = qmp ? qmp->tr : NULL;
    if (!tr || tr->closing || !out)
        return NULL;
    qmp_conn_tr_t *c = conn_new(tr, -1, oob_capable);
    if (!c)
        return NULL;
    c->mem = calloc(1, sizeof(*c->mem));
    co_attr_t attr = {.detached = true, .name = "qmp-conn-mem"};
    c->co = c->mem ? co_create_ex(qmp->loop, conn_main, c, &attr) : NULL;
    if (!c->co) {
        conn_free(c);
        return NULL;
    }
    c->mem->out = out;
    c->mem->opaque = opaque;
    conn_launch(tr, c);
    return &c->conn;
}

/* Let an in-memory connection's coroutine see new input or the end. */
static void conn_mem_wake(qmp_conn_tr_t *c)
{
    if (c->wait_read) {
        c->wait_read = false;
        co_wake(c->co, 0);
    }
}

int qmp_conn_mem_input(vmig_qmp_conn_t *conn, const char *data, size_t len, const int *fds,
                       unsigned nfds)
{
    qmp_conn_tr_t *c = conn ? conn->tr : NULL;
    conn_mem_t *m = c ? c->mem : NULL;
    int r = 0;
    if (!m || m->eof || c->closing)
        r = -EPIPE;
    else if (m->in_off < m->in_len)
        r = -EBUSY;
    else if (len == 0 && nfds > 0)
        r = -EINVAL; /* a stream socket passes descriptors only with data */
    else if (len > 0 && !(m->in = malloc(len)))
        r = -ENOMEM;
    if (r < 0) {
        for (unsigned i = 0; i < nfds; i++)
            close(fds[i]);
        return r;
    }
    if (len == 0)
        return 0;
    memcpy(m->in, data, len);
    m->in_len = len;
    m->in_off = 0;
    for (unsigned i = 0; i < nfds; i++) {
        if (m->in_nfds < QMP_CONN_MAX_FDS)
            m->in_fds[m->in_nfds++] = fds[i];
        else
            close(fds[i]); /* the kernel's MSG_CTRUNC would drop them too */
    }
    conn_mem_wake(c);
    return 0;
}

bool qmp_conn_mem_busy(const vmig_qmp_conn_t *conn)
{
    const qmp_conn_tr_t *c = conn ? conn->tr : NULL;
    return c && c->mem && c->mem->in_off < c->mem->in_len;
}

void qmp_conn_mem_eof(vmig_qmp_conn_t *conn)
{
    qmp_conn_tr_t *c = conn ? conn->tr : NULL;
    if (!c || !c->mem || c->mem->eof)
        return;
    c->mem->eof = true;
    conn_mem_wake(c);
}

void qmp_conn_close_all(struct qmp_transport *tr)
{
    for (qmp_conn_tr_t *c = tr->conns; c; c = c->next)
        conn_request_close(c);
}

size_t qmp_transport_conn_count(const vmig_qmp_t *qmp)
{
    return qmp && qmp->tr ? qmp->tr->nconns : 0;
}
