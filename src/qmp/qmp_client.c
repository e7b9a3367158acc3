/* qmp_client.c — the QMP client: a non-blocking socket watched with a
 * uv_poll_t, line-framed JSON in and out, SCM_RIGHTS for getfd, replies
 * matched by id while events queue up. */
#include "qmp/qmp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel/channel_internal.h"
#include "vmig/co.h"

#define CLIENT_DEFAULT_MAX (64u << 20)
#define CLIENT_READ_CHUNK 65536u

struct vmig_qmp_client {
    uv_loop_t *loop;         /* where it runs */
    int fd;                  /* the socket, non-blocking, owned */
    bool is_unix;            /* fds can be passed */
    char peer[128];          /* the address, for messages */
    uv_poll_t poll;          /* readiness of fd */
    uv_timer_t timer;        /* the timeout of the current wait */
    co_t *waiter;            /* coroutine in wait_fd(), or NULL */
    int wait_result;         /* what the poll, the timer or a cancel said */
    char *rbuf;              /* bytes received, not yet parsed */
    size_t rlen;             /* bytes in rbuf */
    size_t rcap;             /* its capacity */
    size_t scanned;          /* rbuf[0..scanned) holds no newline */
    bool eof;                /* the server closed its side */
    size_t max_message;      /* longest line accepted */
    int64_t timeout_ms;      /* per reply, 0: none */
    json_t *greeting;        /* the server's first message */
    json_t *events;          /* array of events not yet taken */
    uint64_t next_id;        /* id of the next command */
};

/* ---- waiting for the socket ------------------------------------------------------- */

static void wait_finish(vmig_qmp_client_t *c, int result)
{
    uv_poll_stop(&c->poll);
    uv_timer_stop(&c->timer);
    co_t *w = c->waiter;
    c->waiter = NULL;
    if (w)
        co_wake(w, result);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    vmig_qmp_client_t *c = p->data;
    /* An error (e.g. the peer reset) is for the next read or write to report. */
    wait_finish(c, 0);
}

static void timer_cb(uv_timer_t *t)
{
    wait_finish(t->data, -ETIMEDOUT);
}

static void wait_cancel(co_t *co, void *data)
{
    wait_finish(data, -ECANCELED);
}

/* Wait until fd is ready for events (UV_READABLE/UV_WRITABLE) or until
 * deadline (uv_hrtime ns, 0: none): 0, -ETIMEDOUT or -ECANCELED. */
static int wait_fd(vmig_qmp_client_t *c, int events, uint64_t deadline)
{
    if (deadline) {
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            return -ETIMEDOUT;
        uv_timer_start(&c->timer, timer_cb, (deadline - now + 999999) / 1000000, 0);
    }
    int r = uv_poll_start(&c->poll, events, poll_cb);
    if (r < 0) {
        uv_timer_stop(&c->timer);
        return chan_errno(r);
    }
    c->waiter = co_self();
    r = co_wait(wait_cancel, c);
    if (c->waiter) {
        /* A pending cancel returned before suspending. */
        c->waiter = NULL;
        uv_poll_stop(&c->poll);
        uv_timer_stop(&c->timer);
    }
    return r;
}

static uint64_t deadline_after(int64_t ms)
{
    return ms > 0 ? uv_hrtime() + (uint64_t)ms * 1000000u : 0;
}

/* ---- sending ---------------------------------------------------------------------- */

int vmig_qmp_client_send_raw(vmig_qmp_client_t *c, const void *buf, size_t len, int fd,
                             vmig_error_t *err)
{
    if (fd >= 0 && !c->is_unix)
        return vmig_error_set(err, -EINVAL, "%s: descriptors pass only over a unix socket",
                              c->peer);
    static const char nl = '\n';
    const char *p = buf;
    if (!len && fd >= 0) {
        /* A descriptor needs at least one byte to travel with. */
        p = &nl;
        len = 1;
    }
    bool fd_pending = fd >= 0;
    uint64_t deadline = deadline_after(c->timeout_ms);
    while (len) {
        struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd_pending) {
            /* The descriptor rides on the first byte of the command, as
             * QEMU's monitor expects it: it is queued when that byte is read. */
            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof(ctl.buf);
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int r = wait_fd(c, UV_WRITABLE, deadline);
                if (r < 0)
                    return vmig_error_set(err, r, "%s: sending: %s", c->peer, vmig_strerror(r));
                continue;
            }
            int e = errno;
            return vmig_error_set(err, -e, "%s: sending: %s", c->peer, strerror(e));
        }
        fd_pending = false;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_json(vmig_qmp_client_t *c, json_t *msg, int fd, vmig_error_t *err)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    line[n] = '\n';
    line[n + 1] = 0;
    int r = vmig_qmp_client_send_raw(c, line, n + 1, fd, err);
    free(line);
    return r;
}

/* ---- receiving -------------------------------------------------------------------- */

/* Take one line out of rbuf if a whole one is there: 1 with *msg parsed (or
 * NULL for a blank line), 0 if more bytes are needed, negative on error. */
static int take_line(vmig_qmp_client_t *c, json_t **msg, vmig_error_t *err)
{
    char *nl = c->rlen > c->scanned ? memchr(c->rbuf + c->scanned, '\n', c->rlen - c->scanned)
                                     : NULL;
    if (!nl) {
        c->scanned = c->rlen;
        return 0;
    }
    size_t len = (size_t)(nl - c->rbuf);
    size_t end = len;
    while (end && (c->rbuf[end - 1] == '\r' || c->rbuf[end - 1] == ' '))
        end--;
    *msg = NULL;
    int r = 1;
    if (end) {
        json_error_t jerr;
        *msg = json_loadb(c->rbuf, end, JSON_DECODE_ANY, &jerr);
        if (!*msg)
            r = vmig_error_set(err, -EBADMSG, "%s sent malformed JSON: %s", c->peer, jerr.text);
    }
    memmove(c->rbuf, nl + 1, c->rlen - len - 1);
    c->rlen -= len + 1;
    c->scanned = 0;
    return r;
}

/* The next message from the socket (no event queue involved). */
static int read_message(vmig_qmp_client_t *c, uint64_t deadline, json_t **msg, vmig_error_t *err)
{
    for (;;) {
        int r = take_line(c, msg, err);
        if (r < 0)
            return r;
        if (r == 1) {
            if (*msg)
                return 0;
            continue;
        }
        if (c->eof)
            return vmig_error_set(err, -ENODATA, "%s closed the connection", c->peer);
        if (c->rlen >= c->max_message)
            return vmig_error_set(err, -EMSGSIZE, "%s sent a message over %zu bytes", c->peer,
                                  c->max_message);
        if (c->rcap - c->rlen < CLIENT_READ_CHUNK / 4) {
            size_t cap = c->rcap ? c->rcap * 2 : CLIENT_READ_CHUNK;
            if (cap > c->max_message + 1)
                cap = c->max_message + 1;
            char *nb = realloc(c->rbuf, cap);
            if (!nb)
                return vmig_error_set(err, -ENOMEM, "out of memory");
            c->rbuf = nb;
            c->rcap = cap;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        if (n == 0) {
            c->eof = true;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r = wait_fd(c, UV_READABLE, deadline);
            if (r == -ETIMEDOUT)
                return vmig_error_set(err, r, "%s did not answer in time", c->peer);
            if (r < 0)
                return vmig_error_set(err, r, "%s: %s", c->peer, vmig_strerror(r));
            continue;
        }
        int e = -errno;
        return vmig_error_set(err, e, "%s: receiving: %s", c->peer, strerror(-e));
    }
}

int vmig_qmp_client_recv(vmig_qmp_client_t *c, int64_t timeout_ms, json_t **msg,
                         vmig_error_t *err)
{
    uint64_t deadline = timeout_ms >= 0 ? uv_hrtime() + (uint64_t)timeout_ms * 1000000u : 0;
    if (timeout_ms == 0)
        deadline = uv_hrtime(); /* do not wait: a timer already due */
    return read_message(c, deadline, msg, err);
}

/* ---- commands and events ---------------------------------------------------------- */

int vmig_qmp_client_execute(vmig_qmp_client_t *c, const char *cmd, json_t *args, int fd,
                            json_t **reply, vmig_error_t *err)
{
    *reply = NULL;
    json_t *id = json_integer((json_int_t)c->next_id++);
    json_t *msg = json_pack("{s:s, s:O}", "execute", cmd, "id", id);
    if (msg && args && json_object_set(msg, "arguments", args) < 0) {
        json_decref(msg);
        msg = NULL;
    }
    if (!msg) {
        json_decref(id);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    int r = send_json(c, msg, fd, err);
    json_decref(msg);
    uint64_t deadline = deadline_after(c->timeout_ms);
    while (r == 0) {
        json_t *in = NULL;
        r = read_message(c, deadline, &in, err);
        if (r < 0)
            break;
        if (json_is_object(in) && json_object_get(in, "event")) {
            json_array_append_new(c->events, in);
            continue;
        }
        if (json_is_object(in) && json_equal(json_object_get(in, "id"), id) &&
            (json_object_get(in, "return") || json_object_get(in, "error"))) {
            *reply = in;
            break;
        }
        json_decref(in); /* a stray reply (another id, or none): not ours */
    }
    json_decref(id);
    return r;
}

int vmig_qmp_client_call(vmig_qmp_client_t *c, const char *cmd, json_t *args, int fd,
                         json_t **ret, vmig_error_t *err)
{
    if (ret)
        *ret = NULL;
    json_t *reply;
    int r = vmig_qmp_client_execute(c, cmd, args, fd, &reply, err);
    if (r < 0)
        return r;
    json_t *e = json_object_get(reply, "error");
    if (e) {
        const char *cls = json_string_value(json_object_get(e, "class"));
        const char *desc = json_string_value(json_object_get(e, "desc"));
        r = vmig_error_set(err, -EPROTO, "%s: %s", cls ? cls : "?", desc ? desc : "?");
    } else if (ret) {
        *ret = json_incref(json_object_get(reply, "return"));
    }
    json_decref(reply);
    return r;
}

int vmig_qmp_client_event(vmig_qmp_client_t *c, int64_t timeout_ms, json_t **event,
                          vmig_error_t *err)
{
    *event = NULL;
    if (json_array_size(c->events)) {
        *event = json_incref(json_array_get(c->events, 0));
        json_array_remove(c->events, 0);
        return 0;
    }
    uint64_t deadline = timeout_ms >= 0 ? uv_hrtime() + (uint64_t)timeout_ms * 1000000u : 0;
    if (timeout_ms == 0)
        deadline = uv_hrtime();
    for (;;) {
        json_t *in = NULL;
        int r = read_message(c, deadline, &in, err);
        if (r < 0)
            return r;
        if (json_is_object(in) && json_object_get(in, "event")) {
            *event = in;
            return 0;
        }
        json_decref(in);
    }
}

int vmig_qmp_client_negotiate(vmig_qmp_client_t *c, bool oob, vmig_error_t *err)
{
    json_t *args = oob ? json_pack("{s:[s]}", "enable", "oob") : NULL;
    if (oob && !args)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    int r = vmig_qmp_client_call(c, "qmp_capabilities", args, -1, NULL, err);
    json_decref(args);
    return r;
}

/* ---- connecting ------------------------------------------------------------------- */

static int connect_unix(vmig_qmp_client_t *c, const char *path, uint64_t deadline,
                        vmig_error_t *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return vmig_error_set(err, -EINVAL, "unix socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    snprintf(c->peer, sizeof(c->peer), "unix:%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return vmig_error_set(err, -errno, "socket: %s", strerror(errno));
    c->is_unix = true;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        return vmig_error_set(err, -e, "cannot connect to %s: %s", c->peer, strerror(e));
    }
    return 0;
}

static int connect_tcp(vmig_qmp_client_t *c, const char *spec, const char *addr,
                       uint64_t deadline, vmig_error_t *err)
{
    chan_inet_t in;
    int r = chan_parse_inet(spec, addr, false, &in, err);
    if (r < 0)
        return r;
    snprintf(c->peer, sizeof(c->peer), "%s", addr);
    struct addrinfo *res = NULL;
    r = chan_resolve(c->loop, &in, false, &res, err);
    if (r < 0)
        return r;
    int last = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = -errno;
            continue;
        }
        c->fd = fd;
        r = uv_poll_init_socket(c->loop, &c->poll, fd);
        if (r < 0) {
            close(fd);
            c->fd = -1;
            last = chan_errno(r);
            continue;
        }
        c->poll.data = c;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            last = 0;
        } else if (errno == EINPROGRESS) {
            last = wait_fd(c, UV_WRITABLE, deadline);
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (last == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
                last = -soerr;
        } else {
            last = -errno;
        }
        if (last == 0 || last == -ECANCELED || last == -ETIMEDOUT)
            break;
        /* Try the next address with a fresh socket and poll handle. */
        co_close((uv_handle_t *)&c->poll);
        close(fd);
        c->fd = -1;
    }
    uv_freeaddrinfo(res);
    if (last < 0) {
        if (c->fd >= 0) {
            /* Stopped by a timeout or cancel with this socket's poll open. */
            co_close((uv_handle_t *)&c->poll);
            close(c->fd);
            c->fd = -1;
        }
        return vmig_error_set(err, last, "cannot connect to %s: %s", addr, vmig_strerror(last));
    }
    return 1; /* connected, poll handle already initialised */
}

int vmig_qmp_client_connect(uv_loop_t *loop, const char *addr, const vmig_qmp_client_opts_t *opts,
                            vmig_qmp_client_t **out, vmig_error_t *err)
{
    *out = NULL;
    if (!co_in_coroutine())
        return vmig_error_set(err, -EINVAL, "the QMP client runs in a coroutine");
    if (!addr || !*addr)
        return vmig_error_set(err, -EINVAL, "no QMP address given");
    vmig_qmp_client_opts_t none = { 0 };
    if (!opts)
        opts = &none;
    vmig_qmp_client_t *c = calloc(1, sizeof(*c));
    json_t *events = json_array();
    if (!c || !events) {
        free(c);
        json_decref(events);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    c->loop = loop;
    c->fd = -1;
    c->events = events;
    c->max_message = opts->max_message ? opts->max_message : CLIENT_DEFAULT_MAX;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 0;
    c->next_id = 1;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uint64_t deadline = deadline_after(c->timeout_ms);

    int r;
    bool have_poll = false;
    if (!strncmp(addr, "tcp:", 4)) {
        r = connect_tcp(c, addr + 4, addr, deadline, err);
        if (r == 1) {
            have_poll = true;
            r = 0;
        }
    } else {
        r = connect_unix(c, !strncmp(addr, "unix:", 5) ? addr + 5 : addr, deadline, err);
        if (r == 0) {
            r = uv_poll_init_socket(loop, &c->poll, c->fd);
            if (r < 0) {
                r = vmig_error_set(err, chan_errno(r), "%s: %s", c->peer, uv_strerror(r));
            } else {
                c->poll.data = c;
                have_poll = true;
            }
        }
    }
    if (!have_poll) {
        /* The poll handle never got initialised: close the rest by hand. */
        co_close((uv_handle_t *)&c->timer);
        if (c->fd >= 0)
            close(c->fd);
        json_decref(c->events);
        free(c);
        return r;
    }
    if (r == 0) {
        json_t *g = NULL;
        r = read_message(c, deadline, &g, err);
        if (r == 0 && !(json_is_object(g) && json_is_object(json_object_get(g, "QMP")))) {
            json_decref(g);
            r = vmig_error_set(err, -EPROTO, "%s is not a QMP monitor (no greeting)", c->peer);
        } else if (r == 0) {
            c->greeting = g;
        }
    }
    if (r == 0 && !opts->no_negotiate)
        r = vmig_qmp_client_negotiate(c, opts->oob, err);
    if (r < 0) {
        vmig_qmp_client_close(c);
        return r;
    }
    *out = c;
    return 0;
}

const json_t *vmig_qmp_client_greeting(const vmig_qmp_client_t *c)
{
    return c->greeting;
}

void vmig_qmp_client_close(vmig_qmp_client_t *c)
{
    if (!c)
        return;
    co_close((uv_handle_t *)&c->poll);
    co_close((uv_handle_t *)&c->timer);
    if (c->fd >= 0)
        close(c->fd);
    json_decref(c->greeting);
    json_decref(c->events);
    free(c->rbuf);
    free(c);
}
