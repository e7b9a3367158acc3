/* transport_test.h — what the QMP transport's socket tests share: a monitor
 * served on a loop in its own thread, and blocking clients driven from the
 * test thread, where cmocka's assertions may be used. The monitor is built by
 * hand around a small stand-in for the dispatch half, or, when the test
 * defines TT_REAL_DISPATCHER (and tt_register()), is a real vmig_qmp_new(). */
#ifndef TRANSPORT_TEST_H
#define TRANSPORT_TEST_H

#include "vmig_test.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp/qmp_transport.h"
#include "vmig/co.h"

/* A hung test dies after this long. */
#define TT_TIMEOUT_S 100
/* Longest a test waits for the server to do something. */
#define TT_WAIT_MS 10000

/* ---- the server thread ---------------------------------------------------------------- */

/* A command of the stand-in dispatcher that answers after a delay. */
typedef struct tt_slow {
    struct tt_slow *next;      /* in tt_server_t.slow */
    vmig_qmp_conn_t *conn;     /* where the reply goes; NULL once the client left */
    json_t *id;                /* the request's id, or NULL */
} tt_slow_t;

typedef struct tt_server {
    pthread_t thread;          /* runs the loop */
    uv_loop_t loop;            /* the monitor's loop */
    vmig_qmp_t *qmp;           /* the monitor: &own, or vmig_qmp_new()'s */
    vmig_qmp_t own;            /* the stand-in's monitor, assembled by hand */
    vmig_qmp_opts_t opts;      /* the monitor's options */
    uv_async_t stop;           /* the test thread asks for the monitor to close */
    uv_timer_t tick;           /* fires every 2 ms while the loop is free */
    sem_t ready;               /* posted once listening (or failed to) */
    char uri[2][300];          /* what to listen on (empty: none) */
    char bound[2][300];        /* the addresses actually bound */
    int listen_result;         /* vmig_qmp_listen()'s result */
    char listen_msg[256];      /* and its message */
    tt_slow_t *slow;           /* slow commands still running */
    atomic_uint ticks;         /* tick count */
    atomic_uint live;          /* the transport's connection count, copied at each tick */
    atomic_uint opened;        /* qmp_dispatch_conn_open() calls */
    atomic_uint closed;        /* vmig_qmp_dispatch_conn_closed() calls */
    atomic_uint values;        /* values dispatched */
    atomic_uint slow_running;  /* slow commands not yet finished */
    atomic_uint oob_capable;   /* connections that said they can do OOB */
    atomic_int hold_result;    /* what the last "hold" command's sleep returned */
    int loop_close;            /* uv_loop_close() at the end */
    unsigned handles_left;     /* handles still open when the loop ran dry */
} tt_server_t;

/* The stand-in dispatcher finds its server here (tests only). */
static tt_server_t *tt_current;

#ifdef TT_REAL_DISPATCHER
/* Defined by the test: register its commands on the real monitor. */
static int tt_register(tt_server_t *s);
#else
/* ---- a stand-in for the dispatch half ----------------------------------------------- */

/* The linker takes these rather than qmp_dispatch.o from the library, which
 * keeps these tests about the transport alone. */

int qmp_dispatch_conn_open(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    atomic_fetch_add(&tt_current->opened, 1);
    if (vmig_qmp_conn_oob_capable(conn))
        atomic_fetch_add(&tt_current->oob_capable, 1);
    return 0;
}

json_t *qmp_dispatch_greeting(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    return json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[s]}}", "QMP", "version", "qemu", "micro", 0,
                     "minor", 2, "major", 7, "package", "vmig-test", "capabilities",
                     vmig_qmp_conn_oob_capable(conn) ? "oob" : "none");
}

void vmig_qmp_dispatch_conn_closed(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    for (tt_slow_t *s = tt_current->slow; s; s = s->next)
        if (s->conn == conn)
            s->conn = NULL;
    atomic_fetch_add(&tt_current->closed, 1);
}

static inline void tt_reply(vmig_qmp_conn_t *conn, const char *key, json_t *val, json_t *id)
{
    json_t *r = json_object();
    json_object_set_new(r, key, val);
    if (id)
        json_object_set(r, "id", id);
    vmig_qmp_conn_send(conn, r);
}

static inline void tt_error(vmig_qmp_conn_t *conn, const char *desc, json_t *id)
{
    tt_reply(conn, "error", json_pack("{s:s,s:s}", "class", "GenericError", "desc", desc), id);
}

static inline int tt_slow_body(void *arg)
{
    tt_slow_t *s = arg;
    co_sleep(30);
    if (s->conn)
        tt_reply(s->conn, "return", json_object(), s->id);
    for (tt_slow_t **pp = &tt_current->slow; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    json_decref(s->id);
    free(s);
    atomic_fetch_sub(&tt_current->slow_running, 1);
    return 0;
}

/* Commands: qmp_capabilities, nop (no reply), echo (returns the request), big {n} (a string
 * of n bytes), getfd (takes the oldest fd, writes "ok" to it, closes it),
 * slow (answers after 30 ms, in a coroutine of its own), hold {ms} (sleeps
 * ms, 5 s by default, inside this call, as flow control would), event (broadcast {"event":
 * "TEST"}). */
void vmig_qmp_dispatch(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn, json_t *msg,
                       const char *parse_error)
{
    atomic_fetch_add(&tt_current->values, 1);
    if (!msg) {
        tt_error(conn, parse_error, NULL);
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *cmd = json_string_value(json_object_get(msg, "execute"));
    if (!cmd) {
        tt_error(conn, "QMP input must be a JSON object", id);
    } else if (strcmp(cmd, "qmp_capabilities") == 0) {
        vmig_qmp_conn_set_negotiated(conn, false);
        tt_reply(conn, "return", json_object(), id);
    } else if (strcmp(cmd, "nop") == 0) {
        /* no reply */
    } else if (strcmp(cmd, "echo") == 0) {
        tt_reply(conn, "return", json_incref(msg), id);
    } else if (strcmp(cmd, "big") == 0) {
        json_int_t n = json_integer_value(json_object_get(json_object_get(msg, "arguments"), "n"));
        char *s = malloc((size_t)n + 1);
        memset(s, 'x', (size_t)n);
        s[n] = '\0';
        tt_reply(conn, "return", json_string(s), id);
        free(s);
    } else if (strcmp(cmd, "getfd") == 0) {
        int fd = vmig_qmp_conn_take_fd(conn);
        if (fd < 0) {
            tt_error(conn, "No file descriptor supplied via SCM_RIGHTS", id);
        } else {
            ssize_t w = write(fd, "ok", 2);
            close(fd);
            tt_reply(conn, "return", json_pack("{s:b}", "written", w == 2), id);
        }
    } else if (strcmp(cmd, "slow") == 0) {
        tt_slow_t *s = calloc(1, sizeof(*s));
        s->conn = conn;
        s->id = json_incref(id);
        s->next = tt_current->slow;
        tt_current->slow = s;
        atomic_fetch_add(&tt_current->slow_running, 1);
        co_spawn(qmp->loop, tt_slow_body, s);
    } else if (strcmp(cmd, "hold") == 0) {
        /* Flow control as a dispatcher may do it: suspend the reader. */
        json_t *ms = json_object_get(json_object_get(msg, "arguments"), "ms");
        atomic_store(&tt_current->hold_result, 1);
        int r = co_sleep(ms ? (uint64_t)json_integer_value(ms) : 5000);
        atomic_store(&tt_current->hold_result, r);
        tt_reply(conn, "return", json_object(), id);
    } else if (strcmp(cmd, "event") == 0) {
        json_t *ev = json_pack("{s:s}", "event", "TEST");
        qmp_transport_broadcast(qmp, ev);
        json_decref(ev);
        tt_reply(conn, "return", json_object(), id);
    } else {
        tt_error(conn, "The command has not been found", id);
    }
    json_decref(msg);
}

#endif /* !TT_REAL_DISPATCHER */

/* ---- running the server --------------------------------------------------------------- */

static inline void tt_tick_cb(uv_timer_t *t)
{
    tt_server_t *s = t->data;
    atomic_fetch_add(&s->ticks, 1);
    atomic_store(&s->live, (unsigned)qmp_transport_conn_count(s->qmp));
}

static inline int tt_listen_body(void *arg)
{
    tt_server_t *s = arg;
    for (int i = 0; i < 2 && s->uri[i][0]; i++) {
        vmig_error_t err = {0};
        s->listen_result = vmig_qmp_listen(s->qmp, s->uri[i], &err);
        snprintf(s->listen_msg, sizeof(s->listen_msg), "%s", err.msg);
        if (s->listen_result < 0)
            break;
        snprintf(s->bound[i], sizeof(s->bound[i]), "%s", qmp_transport_listener_uri(s->qmp, i));
    }
    sem_post(&s->ready);
    return 0;
}

static inline int tt_close_body(void *arg)
{
    tt_server_t *s = arg;
#ifdef TT_REAL_DISPATCHER
    vmig_qmp_free(s->qmp);
#else
    qmp_transport_close(s->qmp);
#endif
    return 0;
}

static inline void tt_stop_cb(uv_async_t *a)
{
    tt_server_t *s = a->data;
    uv_close((uv_handle_t *)&s->stop, NULL);
    uv_close((uv_handle_t *)&s->tick, NULL);
    co_spawn(&s->loop, tt_close_body, s);
}

static inline void tt_count_open(uv_handle_t *h, void *arg)
{
    unsigned *n = arg;
    if (!uv_is_closing(h)) {
        (*n)++;
        uv_close(h, NULL);
    }
}

static void *tt_server_main(void *arg)
{
    tt_server_t *s = arg;
    uv_loop_init(&s->loop);
#ifdef TT_REAL_DISPATCHER
    s->qmp = vmig_qmp_new(&s->loop, &s->opts);
    if (!s->qmp || tt_register(s) < 0)
        abort();
#else
    s->qmp = &s->own;
    s->own.loop = &s->loop;
    s->own.opts = s->opts;
    qmp_transport_init(s->qmp);
#endif
    uv_async_init(&s->loop, &s->stop, tt_stop_cb);
    s->stop.data = s;
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, tt_tick_cb, 2, 2);
    co_spawn(&s->loop, tt_listen_body, s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_walk(&s->loop, tt_count_open, &s->handles_left);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    s->loop_close = uv_loop_close(&s->loop);
#if !defined(__SANITIZE_ADDRESS__)
    /* Under ASan the pooled stacks stay mapped: co__free() unmaps a stack
     * whose shadow still holds the redzones of its last frames, and the next
     * server thread's fresh mmap() at that address would inherit them (a
     * false stack-buffer-overflow in co__ctx_make). */
    co_thread_cleanup();
#endif
    return NULL;
}

/* Start a monitor listening on uri (and uri2 if not NULL) with opts. */
static inline tt_server_t *tt_start(const char *uri, const char *uri2, const vmig_qmp_opts_t *opts)
{
    signal(SIGPIPE, SIG_IGN);
    tt_server_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    snprintf(s->uri[0], sizeof(s->uri[0]), "%s", uri);
    if (uri2)
        snprintf(s->uri[1], sizeof(s->uri[1]), "%s", uri2);
    if (opts)
        s->opts = *opts;
    sem_init(&s->ready, 0, 0);
    tt_current = s;
    assert_int_equal(pthread_create(&s->thread, NULL, tt_server_main, s), 0);
    sem_wait(&s->ready);
    if (s->listen_result < 0)
        fprintf(stderr, "listen: %s\n", s->listen_msg);
    assert_int_equal(s->listen_result, 0);
    return s;
}

/* Close the monitor, join the thread, check the loop ended clean (s can
 * still be looked at). */
static inline void tt_join(tt_server_t *s)
{
    uv_async_send(&s->stop);
    pthread_join(s->thread, NULL);
    assert_int_equal(s->handles_left, 0);
    assert_int_equal(s->loop_close, 0);
#ifndef TT_REAL_DISPATCHER
    assert_null(s->own.tr);
    assert_int_equal(atomic_load(&s->opened), atomic_load(&s->closed));
#endif
    sem_destroy(&s->ready);
    tt_current = NULL;
}

static inline void tt_stop(tt_server_t *s)
{
    tt_join(s);
    free(s);
}

/* ---- time and descriptors ----------------------------------------------------------- */

static inline uint64_t tt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void tt_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait until *counter == want (TT_WAIT_MS at most); returns the last value. */
static inline unsigned tt_wait_eq(atomic_uint *counter, unsigned want)
{
    uint64_t t0 = tt_now_ms();
    unsigned v;
    while ((v = atomic_load(counter)) != want && tt_now_ms() - t0 < TT_WAIT_MS)
        tt_sleep_ms(1);
    return v;
}

/* Connections the server holds now. */
static inline unsigned tt_live(tt_server_t *s)
{
#ifdef TT_REAL_DISPATCHER
    return atomic_load(&s->live);
#else
    return atomic_load(&s->opened) - atomic_load(&s->closed);
#endif
}

static inline void tt_wait_live(tt_server_t *s, unsigned want)
{
    uint64_t t0 = tt_now_ms();
    while (tt_live(s) != want && tt_now_ms() - t0 < TT_WAIT_MS)
        tt_sleep_ms(1);
    assert_int_equal(tt_live(s), want);
}

/* Descriptors open in this process. */
static inline unsigned tt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A private temporary directory (removed with tt_rmdir). */
static inline void tt_tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/vmig-qmpt-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static inline void tt_rmdir(const char *dir)
{
    rmdir(dir);
}

/* ---- blocking clients ------------------------------------------------------------------ */

/* A private directory for a monitor's unix socket, and that socket's URI
 * ("unix:DIR/qmp.sock"). */
typedef struct tt_dir {
    char dir[64];
    char uri[128];
} tt_dir_t;

static inline void tt_dir_make(tt_dir_t *d)
{
    tt_tmpdir(d->dir, sizeof(d->dir));
    snprintf(d->uri, sizeof(d->uri), "unix:%s/qmp.sock", d->dir);
}

/* Start a monitor with opts (NULL: the defaults) listening on a unix socket
 * in a fresh private directory d. */
static inline tt_server_t *tt_start_unix(tt_dir_t *d, const vmig_qmp_opts_t *opts)
{
    tt_dir_make(d);
    return tt_start(d->uri, NULL, opts);
}

/* Stop a tt_start_unix() monitor and remove its directory. */
static inline void tt_finish(tt_server_t *s, tt_dir_t *d)
{
    tt_stop(s);
    tt_rmdir(d->dir);
}

typedef struct tt_client {
    int fd;      /* the socket */
    char *buf;   /* received, not yet returned */
    size_t len;  /* bytes waiting in buf */
    size_t cap;  /* bytes allocated for buf */
} tt_client_t;

static inline tt_client_t *tt_client_fd(int fd)
{
    tt_client_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->fd = fd;
    struct timeval tv = {.tv_sec = TT_WAIT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return c;
}

/* Connect to a unix: URI (returns NULL if the connect fails). */
static inline tt_client_t *tt_connect_unix(const char *uri)
{
    assert_true(strncmp(uri, "unix:", 5) == 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(uri + 5);
    assert_true(n < sizeof(sa.sun_path));
    memcpy(sa.sun_path, uri + 5, n);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return NULL;
    }
    return tt_client_fd(fd);
}

static inline void tt_close(tt_client_t *c)
{
    close(c->fd);
    free(c->buf);
    free(c);
}

static inline void tt_send_fds(tt_client_t *c, const void *data, size_t len, const int *fds, int nfds)
{
    char ctl[CMSG_SPACE(sizeof(int) * 64)];
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    assert_true(nfds <= 64);
    if (nfds > 0) {
        memset(ctl, 0, sizeof(ctl));
        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    assert_int_equal(n, (ssize_t)len);
}

static inline void tt_send_n(tt_client_t *c, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static inline void tt_send(tt_client_t *c, const char *s)
{
    tt_send_n(c, s, strlen(s));
}

/* The next message's exact bytes, "\r\n" included (malloc'd), or NULL at the
 * end of the stream. */
static inline char *tt_line(tt_client_t *c)
{
    for (;;) {
        char *eol = c->len >= 2 ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
        if (eol) {
            size_t n = (size_t)(eol - c->buf) + 2;
            char *line = malloc(n + 1);
            assert_non_null(line);
            memcpy(line, c->buf, n);
            line[n] = '\0';
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            return line;
        }
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->buf = realloc(c->buf, c->cap);
            assert_non_null(c->buf);
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            fail_msg("no reply within %d ms", TT_WAIT_MS);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

/* The next message, parsed (fails the test at the end of the stream). */
static inline json_t *tt_recv(tt_client_t *c)
{
    char *line = tt_line(c);
    assert_non_null(line);
    json_error_t je;
    json_t *v = json_loads(line, 0, &je);
    if (!v)
        fprintf(stderr, "bad reply: %s (%s)\n", line, je.text);
    assert_non_null(v);
    free(line);
    return v;
}

/* Read the greeting and negotiate. */
static inline void tt_negotiate(tt_client_t *c)
{
    json_t *g = tt_recv(c);
    assert_non_null(json_object_get(g, "QMP"));
    json_decref(g);
    tt_send(c, "{\"execute\":\"qmp_capabilities\"}");
    json_t *r = tt_recv(c);
    assert_non_null(json_object_get(r, "return"));
    json_decref(r);
}

/* The "desc" of an error reply (asserting it is one); valid while v lives. */
static inline const char *tt_error_desc(json_t *v)
{
    json_t *e = json_object_get(v, "error");
    assert_non_null(e);
    return json_string_value(json_object_get(e, "desc"));
}

/* Connect to uri, read the greeting and negotiate capabilities. */
static inline tt_client_t *tt_client_ready(const char *uri)
{
    tt_client_t *c = tt_connect_unix(uri);
    assert_non_null(c);
    tt_negotiate(c);
    return c;
}

/* The next value c receives must be a reply with this id. */
static inline void tt_expect_id(tt_client_t *c, json_int_t id)
{
    json_t *r = tt_recv(c);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
    json_decref(r);
}

#endif
