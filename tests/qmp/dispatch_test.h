/* dispatch_test.h — what the dispatch half's tests share: a stand-in for the
 * transport half (connections are structs in memory; what the monitor sends
 * them is captured as QEMU-formatted text) and helpers to talk to a monitor
 * through vmig_qmp_dispatch() directly. */
#ifndef DISPATCH_TEST_H
#define DISPATCH_TEST_H

#include "vmig_test.h"

#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "qmp/qmp_dispatch.h"

/*
 * The stand-in replaces the transport's functions at link time: this file
 * defines every function of the transport half the dispatch half calls, so
 * the linker never pulls qmp_conn.o or qmp_server.o out of the library.
 * Each test executable includes this header once.
 */

/* One fake connection. */
typedef struct dt_conn {
    vmig_qmp_conn_t conn;   /* what the dispatcher sees (first: we cast back) */
    json_t *out;            /* texts sent to it, oldest first (strings) */
    int fds[4];             /* descriptors "received" for getfd */
    unsigned nfds;          /* how many */
    struct dt_conn *next;   /* in dt_conns */
} dt_conn_t;

/* Every open fake connection, for broadcasts and transport close. */
static dt_conn_t *dt_conns;
/* How many times each transport hook ran; messages sent to a connection
 * after the transport closed it (must stay 0). */
static unsigned dt_transport_inits, dt_transport_closes, dt_sent_after_close;

bool vmig_qmp_conn_negotiated(const vmig_qmp_conn_t *conn)
{
    return conn && conn->negotiated;
}

void vmig_qmp_conn_set_negotiated(vmig_qmp_conn_t *conn, bool oob)
{
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

/* The text QEMU would put on the wire (without the CRLF). */
void vmig_qmp_conn_send(vmig_qmp_conn_t *conn, json_t *msg)
{
    dt_conn_t *c = (dt_conn_t *)conn;
    if (!c || !c->out) {
        /* No assertion here: this may run in a coroutine. */
        dt_sent_after_close++;
        json_decref(msg);
        return;
    }
    char *text = json_dumps(msg, JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    assert_non_null(text);
    assert_int_equal(json_array_append_new(c->out, json_string(text)), 0);
    free(text);
    json_decref(msg);
}

int vmig_qmp_conn_take_fd(vmig_qmp_conn_t *conn)
{
    dt_conn_t *c = (dt_conn_t *)conn;
    if (!c || c->nfds == 0)
        return -ENOENT;
    int fd = c->fds[0];
    memmove(c->fds, c->fds + 1, --c->nfds * sizeof(int));
    return fd;
}

int qmp_transport_init(vmig_qmp_t *qmp)
{
    dt_transport_inits++;
    return 0;
}

void qmp_transport_close(vmig_qmp_t *qmp)
{
    dt_transport_closes++;
    for (dt_conn_t *c = dt_conns; c; c = c->next)
        if (c->conn.qmp == qmp && c->conn.disp)
            vmig_qmp_dispatch_conn_closed(qmp, &c->conn);
}

void qmp_transport_broadcast(vmig_qmp_t *qmp, json_t *msg)
{
    for (dt_conn_t *c = dt_conns; c; c = c->next)
        if (c->conn.qmp == qmp && c->conn.disp && c->conn.negotiated)
            vmig_qmp_conn_send(&c->conn, json_incref(msg));
}

/* ---- a monitor on a loop -------------------------------------------------------------- */

typedef struct dt {
    uv_loop_t loop;  /* the monitor's loop */
    vmig_qmp_t *qmp; /* the monitor */
} dt_t;

static inline void dt_init(dt_t *t)
{
    assert_int_equal(uv_loop_init(&t->loop), 0);
    vmig_qmp_opts_t o = { .version_major = 7, .version_minor = 2, .version_micro = 22,
                          .package = "vmig-test" };
    t->qmp = vmig_qmp_new(&t->loop, &o);
    assert_non_null(t->qmp);
}

static inline int dt_free_body(void *arg)
{
    vmig_qmp_free(arg);
    return 0;
}

/* Free the monitor from a coroutine (it may wait for running commands), run
 * the loop dry and check that nothing was left open. */
static inline void dt_done(dt_t *t)
{
    assert_int_equal(co_spawn(&t->loop, dt_free_body, t->qmp), 0);
    vt_loop_done(&t->loop);
    co_thread_cleanup();
}

/* Run the loop until nothing is left to do. */
static inline void dt_run(dt_t *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
}

/* ---- fake connections ------------------------------------------------------------------ */

static inline void dt_open(dt_t *t, dt_conn_t *c, bool oob_capable)
{
    memset(c, 0, sizeof(*c));
    c->conn.qmp = t->qmp;
    c->conn.oob_capable = oob_capable;
    c->out = json_array();
    assert_non_null(c->out);
    assert_int_equal(qmp_dispatch_conn_open(t->qmp, &c->conn), 0);
    c->next = dt_conns;
    dt_conns = c;
}

/* The transport's side of a disconnect. */
static inline void dt_close(dt_t *t, dt_conn_t *c)
{
    if (c->conn.disp)
        vmig_qmp_dispatch_conn_closed(t->qmp, &c->conn);
    for (dt_conn_t **pp = &dt_conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    for (unsigned i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    json_decref(c->out);
    c->out = NULL;
}

/* Hand one input text to the dispatcher the way the transport does: parsed
 * (QEMU-style: any value, duplicates refused), or as a parse error. */
static inline void dt_input(dt_t *t, dt_conn_t *c, const char *text)
{
    json_error_t je;
    json_t *msg = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    vmig_qmp_dispatch(t->qmp, &c->conn, msg, msg ? NULL : "JSON parse error, expecting value");
}

static inline size_t dt_pending(const dt_conn_t *c)
{
    return json_array_size(c->out);
}

/* Take the oldest text sent to c (malloc'd; the test frees it). */
static inline char *dt_take(dt_conn_t *c)
{
    if (json_array_size(c->out) == 0) {
        fprintf(stderr, "expected a message, nothing was sent\n");
        fail();
    }
    char *s = strdup(json_string_value(json_array_get(c->out, 0)));
    assert_non_null(s);
    json_array_remove(c->out, 0);
    return s;
}

/* The oldest text sent to c must be want, byte for byte. */
#define dt_expect(c, want)                       \
    do {                                         \
        char *got_ = dt_take(c);                 \
        assert_string_equal(got_, (want));       \
        free(got_);                              \
    } while (0)

/* Send input and expect exactly one reply, want. */
#define dt_exchange(t, c, in, want)              \
    do {                                         \
        dt_input((t), (c), (in));                \
        dt_expect((c), (want));                  \
        assert_int_equal(dt_pending(c), 0);      \
    } while (0)

/* The text of an error reply of class cls with description desc (string
 * literals, desc as C text): without an id, or with id (JSON text). */
#define DT_ERROR(cls, desc) "{\"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}"
#define DT_ERROR_ID(id, cls, desc)                                                                 \
    "{\"id\": " id ", \"error\": {\"class\": \"" cls "\", \"desc\": \"" desc "\"}}"

/* Negotiate (without oob, or with it). */
static inline void dt_negotiate(dt_t *t, dt_conn_t *c, bool oob)
{
    dt_exchange(t, c,
                oob ? "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}"
                    : "{\"execute\": \"qmp_capabilities\"}",
                "{\"return\": {}}");
    assert_true(c->conn.negotiated);
    assert_int_equal(c->conn.oob, oob);
}

/* A monitor on t with one oob-capable connection c, negotiated without oob
 * or with it. */
static inline void dt_start(dt_t *t, dt_conn_t *c, bool oob)
{
    dt_init(t);
    dt_open(t, c, true);
    dt_negotiate(t, c, oob);
}

/* Close c, then free the monitor (see dt_done()). */
static inline void dt_end(dt_t *t, dt_conn_t *c)
{
    dt_close(t, c);
    dt_done(t);
}

#endif
