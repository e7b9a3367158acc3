/* qmp_transport.h — what the transport half of the monitor shares between
 * its files: listeners (qmp_server.c) and connections (qmp_conn.c). */
#ifndef VMIG_QMP_TRANSPORT_H
#define VMIG_QMP_TRANSPORT_H

#include "qmp/qmp_internal.h"

#include "vmig/co.h"

/* File descriptors a connection keeps for getfd; more are closed at once. */
#define QMP_CONN_MAX_FDS 16
/* Default bytes queued to one client before it is dropped (qmp.h). */
#define QMP_DEFAULT_MAX_OUTPUT ((size_t)8 << 20)

struct qmp_listener;
struct qmp_conn_transport;

/* The transport state of one monitor (qmp->tr). */
struct qmp_transport {
    vmig_qmp_t *qmp;                   /* the monitor it serves */
    struct qmp_listener *listeners;    /* listening sockets, newest first */
    struct qmp_conn_transport *conns;  /* open connections (qmp_conn.c links them) */
    size_t nconns;                     /* how many are in that list */
    unsigned listening;                /* vmig_qmp_listen() calls still resolving */
    unsigned next_id;                  /* number of the next connection, for logs */
    bool closing;                      /* qmp_transport_close() has started */
    co_t *closer;                      /* waits in qmp_transport_close() for both counts to be 0 */
};

/* qmp_server.c: wake qmp_transport_close() once nothing is left to wait for. */
void qmp_transport_maybe_done(struct qmp_transport *tr);

/* qmp_conn.c: take over an accepted, non-blocking socket: greet the client
 * and serve it in a coroutine of its own. On failure the socket is closed. */
int qmp_conn_start(struct qmp_transport *tr, int fd, bool is_unix);
/* qmp_conn.c: ask every connection to close (each tears itself down; the
 * last one wakes tr->closer). */
void qmp_conn_close_all(struct qmp_transport *tr);

/* For tests and tools: open connections, and the bound address of the
 * i-th listener as a URI (oldest first; NULL past the end). */
size_t qmp_transport_conn_count(const vmig_qmp_t *qmp);
const char *qmp_transport_listener_uri(const vmig_qmp_t *qmp, size_t i);

/* ---- in-memory connections (harnesses: fuzz/fuzz_qmp.c) ------------------------
 * A connection without a socket: the same coroutine, greeting, splitter,
 * dispatch, flow control, output serialization and teardown as an accepted
 * client, but its input is handed over with qmp_conn_mem_input() and every
 * message it sends (greeting, replies, events) goes, as the exact bytes a
 * socket would carry (the JSON text and "\r\n"), to out(), at once (output
 * is never queued, so opts.max_output never applies). It holds no descriptor
 * and no loop handle. It is in the monitor's connection list (events reach
 * it, vmig_qmp_free() closes it) and frees itself, like any connection, in
 * its coroutine once it has seen the end of its input or been closed:
 * qmp_transport_conn_count() tells when. out(opaque) must stay valid until
 * then. Loop thread only. */
typedef void (*qmp_conn_mem_out_fn)(void *opaque, const char *data, size_t len);

/* Open one (oob_capable: the greeting offers "oob", as on a socket) and run
 * it until it waits for input: the greeting has been handed to out(). NULL
 * if out of memory or the monitor is closing. */
vmig_qmp_conn_t *qmp_conn_mem_open(vmig_qmp_t *qmp, bool oob_capable, qmp_conn_mem_out_fn out,
                                   void *opaque);
/* What one recvmsg() would return: len bytes (copied), with nfds descriptors
 * attached to the first of them (taken over in every case; past
 * QMP_CONN_MAX_FDS they are closed, as for a socket). From the loop's stack
 * the connection runs at once, until it waits for more input or the
 * dispatcher holds it (flow control). 0; -EBUSY while the previous input has
 * not all been read (the connection is held: run the loop); -EPIPE after
 * qmp_conn_mem_eof() or once the connection is closing. */
int qmp_conn_mem_input(vmig_qmp_conn_t *conn, const char *data, size_t len, const int *fds,
                       unsigned nfds);
/* Whether input handed over is still waiting to be read. */
bool qmp_conn_mem_busy(const vmig_qmp_conn_t *conn);
/* The peer closed: once the input left has been read, the connection tears
 * itself down (requests still running finish without it). conn must not be
 * used afterwards. */
void qmp_conn_mem_eof(vmig_qmp_conn_t *conn);

#endif
