/* qmp_dispatch.h — what the dispatch half's files (qmp.c, qmp_dispatch.c,
 * qmp_commands.c) share: the dispatcher object and its command table. */
#ifndef VMIG_QMP_DISPATCH_H
#define VMIG_QMP_DISPATCH_H

#include "qmp/qmp_internal.h"
#include "qmp/qmp_schema.h"
#include "vmig/co.h"

/* QEMU's QMP_REQ_QUEUE_LEN_MAX: in-band requests a client may have queued
 * (besides the one running) before its input is no longer read. */
#define QMP_QUEUE_MAX 8

/* The handler registered for one schema command. */
typedef struct qmp_handler {
    vmig_qmp_handler_fn fn; /* NULL: not registered (CommandNotFound) */
    void *opaque;           /* passed to fn */
    unsigned seq;           /* registration order (query-commands lists newest first) */
} qmp_handler_t;

struct qmp_request;

/* The dispatch state of one monitor (qmp->disp). */
struct qmp_dispatcher {
    vmig_qmp_t *qmp;              /* the monitor */
    qmp_schema_t *schema;         /* loaded from the compiled-in qapi-schema.json */
    qmp_handler_t *handlers;      /* per schema command (qs_command_t.index) */
    unsigned next_seq;            /* next registration number */
    struct qmp_request *live;     /* requests whose handler is running */
    size_t busy;                  /* live requests plus connection workers */
    co_waitq_t idle;              /* vmig_qmp_free() waits here for busy == 0 */
    bool dying;                   /* vmig_qmp_free() started: cancel, then free */
    bool deferred;                /* freeing was left to the last busy coroutine */
};

/* qmp_commands.c: register qmp_capabilities, query-version, query-commands
 * and query-qmp-schema. */
int qmp_commands_register(vmig_qmp_t *qmp);

/* qmp.c: free the monitor object itself once both halves are gone. */
void qmp_monitor_release(vmig_qmp_t *qmp);

#endif
