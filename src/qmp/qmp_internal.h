/* qmp_internal.h — how the monitor's two halves (transport and dispatch)
 * share a monitor and a connection; never included outside src/qmp. */
#ifndef VMIG_QMP_INTERNAL_H
#define VMIG_QMP_INTERNAL_H

#include "qmp/qmp.h"

struct qmp_transport;      /* qmp_server.c: listeners, connection list */
struct qmp_dispatcher;     /* qmp_dispatch.c: schema, command table */
struct qmp_conn_transport; /* qmp_conn.c: socket, input splitter, output queue, fds */
struct qmp_conn_dispatch;  /* qmp_dispatch.c: in-band queue, running requests */

struct vmig_qmp {
    uv_loop_t *loop;              /* everything runs here */
    vmig_qmp_opts_t opts;         /* limits and version, defaults filled in */
    struct qmp_transport *tr;     /* owned by the transport half */
    struct qmp_dispatcher *disp;  /* owned by the dispatch half */
};

struct vmig_qmp_conn {
    vmig_qmp_t *qmp;                 /* the monitor */
    unsigned id;                     /* for logs: connection number */
    bool negotiated;                 /* qmp_capabilities done */
    bool oob;                        /* the client enabled "oob" */
    bool oob_capable;                /* greeting offered "oob" */
    struct qmp_conn_transport *tr;   /* owned by the transport half */
    struct qmp_conn_dispatch *disp;  /* owned by the dispatch half */
};

/* Transport half (qmp_server.c / qmp_conn.c). */
int qmp_transport_init(vmig_qmp_t *qmp);
/* Close listeners and connections (in a coroutine), then free. */
void qmp_transport_close(vmig_qmp_t *qmp);
/* Every negotiated connection, for events. */
void qmp_transport_broadcast(vmig_qmp_t *qmp, json_t *msg /* borrowed */);

/* Dispatch half (qmp_dispatch.c). */
int qmp_dispatch_init(vmig_qmp_t *qmp);
void qmp_dispatch_free(vmig_qmp_t *qmp);
/* A new connection: attach per-connection dispatch state. */
int qmp_dispatch_conn_open(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn);
/* The greeting object for conn (new reference). */
json_t *qmp_dispatch_greeting(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn);

#endif
