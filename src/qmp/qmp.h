/* qmp.h — the QMP monitor: servers on unix/tcp sockets sharing the engine's
 * loop, a schema-checked command table, events broadcast to every client. */
#ifndef VMIG_QMP_H
#define VMIG_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "vmig/error.h"

/*
 * Shape
 * - A vmig_qmp_t is one monitor: any number of listening sockets, any number
 *   of connections, one command table. No global state: one process may run
 *   several monitors (one per engine).
 * - The transport half (qmp_server.c, qmp_conn.c, qmp_json_split.c) accepts
 *   connections, sends the greeting, splits the input into JSON values with
 *   size and depth limits, writes replies and events through a bounded output
 *   queue per connection, and receives file descriptors (SCM_RIGHTS) on unix
 *   sockets. It hands every parsed value to vmig_qmp_dispatch().
 * - The dispatch half (qmp_dispatch.c, qmp_schema.c) checks the request
 *   object, the negotiation state and the arguments against the schema (one
 *   machine-readable file, src/qmp/qapi-schema.json, compiled in), runs the
 *   handler in its own coroutine and hands the reply to vmig_qmp_conn_send().
 * - In-band commands of one connection run strictly one at a time, in order;
 *   exec-oob commands (only those the schema marks allow-oob, only after the
 *   client enabled "oob") run at once, even while an in-band command waits.
 * - The loop never blocks on a client: a client that does not read its
 *   replies is disconnected once its output queue passes the limit.
 *
 * Lifetime: vmig_qmp_free() closes every listener and connection; a command
 * still running when its connection goes away finishes and its reply is
 * dropped (req->conn becomes NULL).
 */

typedef struct vmig_qmp vmig_qmp_t;
typedef struct vmig_qmp_conn vmig_qmp_conn_t;

/* QEMU's error classes, the complete list. */
#define VMIG_QMP_ERROR_CLASS_MAP(XX)          \
    XX(GENERIC, "GenericError")               \
    XX(COMMAND_NOT_FOUND, "CommandNotFound")  \
    XX(DEVICE_NOT_ACTIVE, "DeviceNotActive")  \
    XX(DEVICE_NOT_FOUND, "DeviceNotFound")    \
    XX(KVM_MISSING_CAP, "KVMMissingCap")

typedef enum vmig_qmp_error_class {
#define XX(c, s) VMIG_QMP_ERROR_##c,
    VMIG_QMP_ERROR_CLASS_MAP(XX)
#undef XX
} vmig_qmp_error_class_t;

const char *vmig_qmp_error_class_name(vmig_qmp_error_class_t c);

/* What a failing command replies. */
typedef struct vmig_qmp_error {
    vmig_qmp_error_class_t cls;  /* the "class" member */
    char desc[512];              /* the "desc" member, human text */
} vmig_qmp_error_t;

/* Fill err (class and printf-style desc); returns -EINVAL for `return`. */
int vmig_qmp_error_set(vmig_qmp_error_t *err, vmig_qmp_error_class_t cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One command being executed. */
typedef struct vmig_qmp_req {
    vmig_qmp_t *qmp;        /* the monitor */
    vmig_qmp_conn_t *conn;  /* the client; NULL once it disconnected */
    const char *name;       /* the command */
    json_t *args;           /* checked against the schema; {} when absent (borrowed) */
    bool oob;               /* sent with exec-oob */
} vmig_qmp_req_t;

/* A command handler. It runs in a coroutine of its own and may suspend (wait
 * for the embedder to stop the vCPUs, for a job...). Success: return 0 and
 * set *ret to a new reference (NULL means {}). Failure: return a negative
 * errno value and fill err. */
typedef int (*vmig_qmp_handler_fn)(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                                   vmig_qmp_error_t *err);

typedef struct vmig_qmp_opts {
    int version_major, version_minor, version_micro; /* greeting and query-version "qemu" */
    const char *package;     /* greeting and query-version "package" */
    size_t max_input;        /* largest accepted request, bytes (0: 1 MiB) */
    unsigned max_depth;      /* deepest JSON nesting accepted (0: 64) */
    size_t max_output;       /* bytes queued to one client before it is dropped (0: 8 MiB) */
} vmig_qmp_opts_t;

vmig_qmp_t *vmig_qmp_new(uv_loop_t *loop, const vmig_qmp_opts_t *opts);
/* Close every listener and connection and free (in a coroutine). */
void vmig_qmp_free(vmig_qmp_t *qmp);
uv_loop_t *vmig_qmp_loop(const vmig_qmp_t *qmp);

/* Register the handler of a command the schema declares; -ENOENT if the
 * schema does not know it, -EEXIST if one is registered. Only registered
 * commands are in query-commands; others answer CommandNotFound. */
int vmig_qmp_register(vmig_qmp_t *qmp, const char *name, vmig_qmp_handler_fn fn, void *opaque);

/* Listen on `unix:PATH` (created 0600) or `tcp:HOST:PORT` (in a coroutine). */
int vmig_qmp_listen(vmig_qmp_t *qmp, const char *uri, vmig_error_t *err);

/* Broadcast an event to every negotiated client with QEMU's timestamp;
 * data (stolen; NULL: no "data" member) must match the schema's event. */
void vmig_qmp_event(vmig_qmp_t *qmp, const char *name, json_t *data);

/* ---- between the two halves --------------------------------------------------- */

/* Per-connection state the dispatcher reads and sets. */
bool vmig_qmp_conn_negotiated(const vmig_qmp_conn_t *conn);
void vmig_qmp_conn_set_negotiated(vmig_qmp_conn_t *conn, bool oob);
bool vmig_qmp_conn_oob(const vmig_qmp_conn_t *conn);
/* Whether this connection's transport can do OOB (advertised in the greeting). */
bool vmig_qmp_conn_oob_capable(const vmig_qmp_conn_t *conn);
/* Queue one reply or event (stolen); drops it if the connection is gone. */
void vmig_qmp_conn_send(vmig_qmp_conn_t *conn, json_t *msg);
/* Take the oldest file descriptor received on this connection: the fd, or
 * -ENOENT when none is pending (getfd). */
int vmig_qmp_conn_take_fd(vmig_qmp_conn_t *conn);

/* Handle one parsed input value of conn (stolen). Called by the transport
 * for every top-level JSON value; parse errors come as a NULL msg with
 * parse_error set ("JSON parse error, expecting value"). */
void vmig_qmp_dispatch(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn, json_t *msg,
                       const char *parse_error);
/* The transport tells the dispatcher a connection is gone (requests keep
 * running with req->conn == NULL). */
void vmig_qmp_dispatch_conn_closed(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn);

#endif
