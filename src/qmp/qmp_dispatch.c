/* qmp_dispatch.c — the dispatch half of the monitor: checks each request the
 * way QEMU 7.2 does, queues in-band commands per connection and runs every
 * handler in a coroutine of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_dispatch.h"

/*
 * Order and flow control (QEMU 7.2's monitor/qmp.c, seen from a client):
 * - Every input value that is not an exec-oob request of a client that
 *   enabled "oob" (bad JSON included) goes into its connection's FIFO. One
 *   worker coroutine per busy connection takes them in order and answers
 *   each; a command runs in a new coroutine and the worker waits for it, so
 *   in-band commands run one at a time and replies keep the input's order.
 * - exec-oob requests of an "oob" client are checked and started at once,
 *   even while an in-band command waits.
 * - The transport calls vmig_qmp_dispatch() from the connection's coroutine
 *   and reads nothing more until it returns, so that is where we stop
 *   reading: with oob, while QMP_QUEUE_MAX requests are queued; without
 *   oob, until the request just queued has been answered (QEMU suspends a
 *   non-oob monitor after each command). The worker wakes the reader up.
 * - A connection that goes away loses its queued requests; a running one
 *   finishes with req->conn == NULL and its reply is dropped.
 */

/* One queued input value. */
typedef struct qmp_item {
    struct qmp_item *next; /* younger item, or NULL */
    json_t *msg;           /* the parsed value (owned), or NULL for an error */
    char *error;           /* the transport's parse error text (owned) */
} qmp_item_t;

/* The dispatch state of one connection (conn->disp). */
struct qmp_conn_dispatch {
    struct qmp_dispatcher *d; /* the monitor's dispatcher */
    vmig_qmp_conn_t *conn;    /* the connection; NULL once the transport closed it */
    qmp_item_t *head, *tail;  /* in-band input not yet taken, oldest first */
    size_t queued;            /* items in that list */
    bool worker;              /* a worker coroutine is taking items */
    bool running;             /* an in-band command's handler runs */
    co_waitq_t room;          /* the transport's coroutine, waiting for room */
    unsigned refs;            /* the transport's (until closed), worker, requests */
};

/* One command whose handler runs. */
typedef struct qmp_request {
    vmig_qmp_req_t pub;             /* what the handler sees */
    struct qmp_dispatcher *d;       /* the dispatcher */
    struct qmp_conn_dispatch *cd;   /* its connection (referenced) */
    json_t *msg;                    /* the request object (owned): name, args, id */
    json_t *id;                     /* its "id" (borrowed from msg), or NULL */
    json_t *empty;                  /* the {} given as args when absent (owned) */
    qmp_handler_t h;                /* the handler, copied at start */
    co_t *co;                       /* the coroutine running it */
    struct qmp_request *prev, *next; /* in d->live */
} qmp_request_t;

typedef struct qmp_conn_dispatch qmp_conn_dispatch_t;

/* ---- lifetimes -------------------------------------------------------------------- */

static void dispatcher_destroy(struct qmp_dispatcher *d)
{
    d->qmp->disp = NULL;
    qmp_schema_free(d->schema);
    free(d->handlers);
    free(d);
}

/* A request or worker is done; the last one finishes a pending free. */
static void busy_done(struct qmp_dispatcher *d)
{
    if (--d->busy > 0 || !d->dying)
        return;
    if (d->deferred) {
        vmig_qmp_t *qmp = d->qmp;
        dispatcher_destroy(d);
        qmp_monitor_release(qmp);
    } else {
        co_waitq_wake_all(&d->idle, 0);
    }
}

static void items_free(qmp_item_t *it)
{
    while (it) {
        qmp_item_t *next = it->next;
        json_decref(it->msg);
        free(it->error);
        free(it);
        it = next;
    }
}

static void cd_unref(qmp_conn_dispatch_t *cd)
{
    if (--cd->refs > 0)
        return;
    items_free(cd->head);
    free(cd);
}

/* Let the transport's coroutine re-check whether it may read on. */
static void wake_reader(qmp_conn_dispatch_t *cd)
{
    if (cd->room.len)
        co_waitq_wake_all(&cd->room, 0);
}

/* ---- replies ---------------------------------------------------------------------- */

/* Send msg (consumed) to cd's client with id, in QEMU's member order. */
static void send_reply(qmp_conn_dispatch_t *cd, json_t *msg, json_t *id)
{
    if (msg && id && json_object_set(msg, "id", id) < 0) {
        json_decref(msg);
        msg = NULL;
    }
    if (msg && cd->conn) {
        json_t *out = qmp_qdict_reorder(msg);
        if (out)
            vmig_qmp_conn_send(cd->conn, out);
    }
    json_decref(msg);
}

/* Length of s without a multi-byte UTF-8 character cut short at its end:
 * descriptions are formatted into fixed buffers, and a name quoted in one
 * may be cut in the middle of a character. */
static size_t utf8_complete_len(const char *s, size_t len)
{
    size_t start = len;
    /* Back over at most 3 continuation bytes to the last lead byte. */
    while (start > 0 && len - start < 4 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return len;
    unsigned char lead = (unsigned char)s[start - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (start - 1) < need ? start - 1 : len;
}

static json_t *error_reply(vmig_qmp_error_class_t cls, const char *desc)
{
    json_t *d = json_stringn(desc, utf8_complete_len(desc, strlen(desc)));
    /* Every request gets an answer: never let a bad description drop it. */
    if (!d)
        d = json_string("Internal error: unprintable error description");
    return json_pack("{s:{s:s, s:o}}", "error", "class", vmig_qmp_error_class_name(cls), "desc",
                     d);
}

static void send_error(qmp_conn_dispatch_t *cd, json_t *id, vmig_qmp_error_class_t cls,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void send_error(qmp_conn_dispatch_t *cd, json_t *id, vmig_qmp_error_class_t cls,
                       const char *fmt, ...)
{
    char desc[sizeof(((vmig_qmp_error_t *)0)->desc)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    send_reply(cd, error_reply(cls, desc), id);
}

/* ---- running a handler ------------------------------------------------------------ */

static int request_main(void *arg)
{
    qmp_request_t *r = arg;
    struct qmp_dispatcher *d = r->d;
    json_t *ret = NULL;
    vmig_qmp_error_t err;
    memset(&err, 0, sizeof(err));
    err.cls = VMIG_QMP_ERROR_GENERIC;
    int rc = r->h.fn(&r->pub, r->h.opaque, &ret, &err);
    json_t *reply;
    if (rc < 0) {
        json_decref(ret);
        if (!err.desc[0])
            snprintf(err.desc, sizeof(err.desc), "%s", vmig_strerror(rc));
        reply = error_reply(err.cls, err.desc);
    } else {
        reply = json_pack("{s:o}", "return", ret ? ret : json_object());
        if (!reply)
            reply = error_reply(VMIG_QMP_ERROR_GENERIC, "Out of memory");
    }
    send_reply(r->cd, reply, r->id);

    if (r->prev)
        r->prev->next = r->next;
    else
        d->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    json_decref(r->msg);
    json_decref(r->empty);
    cd_unref(r->cd);
    free(r);
    busy_done(d);
    return 0;
}

/* Start the handler of a checked request (msg is consumed). In-band: wait
 * (in the worker) until it has finished. */
static void request_start(qmp_conn_dispatch_t *cd, const qmp_handler_t *h, const char *name,
                          json_t *msg, json_t *args, bool oob, bool inband)
{
    struct qmp_dispatcher *d = cd->d;
    qmp_request_t *r = calloc(1, sizeof(*r));
    if (!r) {
        send_error(cd, json_object_get(msg, "id"), VMIG_QMP_ERROR_GENERIC, "Out of memory");
        json_decref(msg);
        return;
    }
    r->d = d;
    r->cd = cd;
    r->msg = msg;
    r->id = json_object_get(msg, "id");
    r->h = *h;
    if (!args)
        args = r->empty = json_object();
    r->pub = (vmig_qmp_req_t){
        .qmp = d->qmp, .conn = cd->conn, .name = name, .args = args, .oob = oob,
    };
    co_attr_t attr = { .detached = !inband, .name = "qmp-command" };
    r->co = args ? co_create_ex(d->qmp->loop, request_main, r, &attr) : NULL;
    if (!r->co) {
        send_error(cd, r->id, VMIG_QMP_ERROR_GENERIC, "Out of memory");
        json_decref(r->empty);
        json_decref(msg);
        free(r);
        return;
    }
    cd->refs++;
    d->busy++;
    r->next = d->live;
    if (d->live)
        d->live->prev = r;
    d->live = r;
    if (!inband) {
        co_enter(r->co);
        return;
    }
    co_t *co = r->co; /* r is freed when it returns */
    cd->running = true;
    co_enter(co);
    /* Nobody cancels a worker; should a stray cancel come, keep waiting:
     * the next request must not start before this one has replied. */
    while (co_join(co, NULL) == -ECANCELED)
        ;
    cd->running = false;
}

/* ---- checking a request ----------------------------------------------------------- */

/* QEMU's qmp_dispatch_check_obj(), walking the members in QDict order. */
static int check_obj(json_t *msg, bool allow_oob, const char **exec_key, char *desc, size_t len)
{
    const char **keys;
    int n = qmp_qdict_keys(msg, &keys);
    *exec_key = NULL;
    if (n < 0) {
        snprintf(desc, len, "Out of memory");
        return n;
    }
    int r = 0;
    for (int i = 0; i < n && r == 0; i++) {
        const char *key = keys[i];
        json_t *v = json_object_get(msg, key);
        if (strcmp(key, "execute") == 0 || (allow_oob && strcmp(key, "exec-oob") == 0)) {
            if (!json_is_string(v)) {
                snprintf(desc, len, "QMP input member '%s' must be a string", key);
                r = -EINVAL;
            } else if (*exec_key) {
                snprintf(desc, len, "QMP input member '%s' clashes with '%s'", key, *exec_key);
                r = -EINVAL;
            }
            *exec_key = key;
        } else if (strcmp(key, "arguments") == 0) {
            if (!json_is_object(v)) {
                snprintf(desc, len, "QMP input member 'arguments' must be an object");
                r = -EINVAL;
            }
        } else if (strcmp(key, "id") != 0) {
            snprintf(desc, len, "QMP input member '%s' is unexpected", key);
            r = -EINVAL;
        }
    }
    free(keys);
    if (r == 0 && !*exec_key) {
        snprintf(desc, len, "QMP input lacks member 'execute'");
        r = -EINVAL;
    }
    return r;
}

/* Answer or start one input value (msg consumed). */
static void handle_input(qmp_conn_dispatch_t *cd, json_t *msg, const char *parse_error,
                         bool inband)
{
    struct qmp_dispatcher *d = cd->d;
    vmig_qmp_conn_t *conn = cd->conn;
    char desc[sizeof(((vmig_qmp_error_t *)0)->desc)];
    if (!msg) {
        send_error(cd, NULL, VMIG_QMP_ERROR_GENERIC, "%s",
                   parse_error ? parse_error : "JSON parse error, expecting value");
        return;
    }
    if (!json_is_object(msg)) {
        send_error(cd, NULL, VMIG_QMP_ERROR_GENERIC, "QMP input must be a JSON object");
        json_decref(msg);
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *key;
    if (check_obj(msg, vmig_qmp_conn_oob(conn), &key, desc, sizeof(desc)) < 0) {
        send_error(cd, id, VMIG_QMP_ERROR_GENERIC, "%s", desc);
        json_decref(msg);
        return;
    }
    bool oob = strcmp(key, "exec-oob") == 0;
    json_t *name_v = json_object_get(msg, key);
    const char *name = json_string_value(name_v);
    const qs_command_t *cmd = strlen(name) == json_string_length(name_v)
                                  ? qmp_schema_command(d->schema, name)
                                  : NULL;
    const qmp_handler_t *h = cmd ? &d->handlers[cmd->index] : NULL;
    /* Before negotiation QEMU's command list holds only qmp_capabilities,
     * and any CommandNotFound is reworded. */
    bool negotiated = vmig_qmp_conn_negotiated(conn);
    if (!h || !h->fn || (!negotiated && strcmp(name, "qmp_capabilities") != 0)) {
        if (negotiated)
            send_error(cd, id, VMIG_QMP_ERROR_COMMAND_NOT_FOUND,
                       "The command %s has not been found", name);
        else
            send_error(cd, id, VMIG_QMP_ERROR_COMMAND_NOT_FOUND,
                       "Expecting capabilities negotiation with 'qmp_capabilities'");
        json_decref(msg);
        return;
    }
    if (oob && !cmd->allow_oob) {
        send_error(cd, id, VMIG_QMP_ERROR_GENERIC, "The command %s does not support OOB", name);
        json_decref(msg);
        return;
    }
    json_t *args = json_object_get(msg, "arguments");
    if (qmp_schema_check(cmd->args, args, desc, sizeof(desc)) < 0) {
        send_error(cd, id, VMIG_QMP_ERROR_GENERIC, "%s", desc);
        json_decref(msg);
        return;
    }
    request_start(cd, h, cmd->name, msg, args, oob, inband);
}

/* ---- the per-connection queue ---------------------------------------------------- */

static int worker_main(void *arg)
{
    qmp_conn_dispatch_t *cd = arg;
    struct qmp_dispatcher *d = cd->d;
    /* Once the monitor is being freed, what is left is dropped with cd. */
    while (cd->head && !d->dying) {
        qmp_item_t *it = cd->head;
        cd->head = it->next;
        if (!cd->head)
            cd->tail = NULL;
        cd->queued--;
        wake_reader(cd);
        handle_input(cd, it->msg, it->error, true);
        free(it->error);
        free(it);
    }
    cd->worker = false;
    wake_reader(cd);
    cd_unref(cd);
    busy_done(d);
    return 0;
}

/* Whether the transport's coroutine must stop reading for now. */
static bool must_wait(const qmp_conn_dispatch_t *cd)
{
    if (!cd->conn)
        return false;
    if (cd->queued >= QMP_QUEUE_MAX)
        return true;
    return !vmig_qmp_conn_oob(cd->conn) && (cd->queued > 0 || cd->running);
}

static bool is_oob_request(json_t *msg)
{
    return json_is_object(msg) && json_object_get(msg, "exec-oob") &&
           !json_object_get(msg, "execute");
}

void vmig_qmp_dispatch(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn, json_t *msg,
                       const char *parse_error)
{
    struct qmp_dispatcher *d = qmp ? qmp->disp : NULL;
    qmp_conn_dispatch_t *cd = conn ? conn->disp : NULL;
    if (!d || !cd || !cd->conn || d->dying) {
        json_decref(msg);
        return;
    }
    if (is_oob_request(msg) && vmig_qmp_conn_oob(conn)) {
        handle_input(cd, msg, NULL, false);
        return;
    }
    qmp_item_t *it = calloc(1, sizeof(*it));
    if (it && !msg && !(it->error = strdup(parse_error ? parse_error : "")))
        it = (free(it), NULL);
    if (!it) {
        /* Answer now rather than leave the client waiting for ever. */
        send_error(cd, json_object_get(msg, "id"), VMIG_QMP_ERROR_GENERIC, "Out of memory");
        json_decref(msg);
        return;
    }
    it->msg = msg;
    if (cd->tail)
        cd->tail->next = it;
    else
        cd->head = it;
    cd->tail = it;
    cd->queued++;
    if (!cd->worker) {
        co_attr_t attr = { .detached = true, .name = "qmp-worker" };
        co_t *co = co_create_ex(qmp->loop, worker_main, cd, &attr);
        if (!co) {
            /* Without a worker the queue held only this item: answer it
             * now rather than leave the client waiting for ever. */
            cd->head = cd->tail = NULL;
            cd->queued = 0;
            send_error(cd, json_object_get(msg, "id"), VMIG_QMP_ERROR_GENERIC, "Out of memory");
            items_free(it);
            return;
        }
        cd->worker = true;
        cd->refs++;
        d->busy++;
        co_enter(co);
    }
    /* Flow control: only the connection's own coroutine can wait here. */
    if (!co_in_coroutine())
        return;
    qmp_conn_dispatch_t *self = cd;
    self->refs++;
    while (must_wait(self))
        if (co_waitq_wait(&self->room) < 0)
            break; /* cancelled: the transport is closing */
    cd_unref(self);
}

/* ---- connections ------------------------------------------------------------------- */

int qmp_dispatch_conn_open(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    if (!qmp || !qmp->disp || !conn)
        return -EINVAL;
    qmp_conn_dispatch_t *cd = calloc(1, sizeof(*cd));
    if (!cd)
        return -ENOMEM;
    cd->d = qmp->disp;
    cd->conn = conn;
    cd->refs = 1;
    co_waitq_init(&cd->room);
    conn->disp = cd;
    return 0;
}

void vmig_qmp_dispatch_conn_closed(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    qmp_conn_dispatch_t *cd = conn ? conn->disp : NULL;
    if (!cd)
        return;
    conn->disp = NULL;
    cd->conn = NULL;
    items_free(cd->head);
    cd->head = cd->tail = NULL;
    cd->queued = 0;
    for (qmp_request_t *r = cd->d->live; r; r = r->next)
        if (r->cd == cd)
            r->pub.conn = NULL;
    wake_reader(cd);
    cd_unref(cd);
}

json_t *qmp_dispatch_greeting(vmig_qmp_t *qmp, vmig_qmp_conn_t *conn)
{
    json_t *caps = json_array();
    if (caps && vmig_qmp_conn_oob_capable(conn) && json_array_append_new(caps, json_string("oob")))
        caps = (json_decref(caps), NULL);
    json_t *g = json_pack("{s:{s:{s:{s:i, s:i, s:i}, s:s}, s:o}}", "QMP", "version", "qemu",
                          "major", qmp->opts.version_major, "minor", qmp->opts.version_minor,
                          "micro", qmp->opts.version_micro, "package",
                          qmp->opts.package ? qmp->opts.package : "", "capabilities", caps);
    json_t *out = qmp_qdict_reorder(g);
    json_decref(g);
    return out;
}

/* ---- the dispatcher ------------------------------------------------------------------ */

int qmp_dispatch_init(vmig_qmp_t *qmp)
{
    struct qmp_dispatcher *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->qmp = qmp;
    co_waitq_init(&d->idle);
    char err[256];
    int r = qmp_schema_load((const char *)qmp_schema_text, qmp_schema_text_len, &d->schema, err,
                            sizeof(err));
    if (r < 0) {
        /* The schema is compiled in: a broken one is a build bug, tell it. */
        fprintf(stderr, "vmig: the compiled-in QMP schema is invalid: %s\n", err);
        free(d);
        return r;
    }
    d->handlers = calloc(d->schema->ncmds + 1, sizeof(*d->handlers));
    if (!d->handlers) {
        qmp_schema_free(d->schema);
        free(d);
        return -ENOMEM;
    }
    qmp->disp = d;
    r = qmp_commands_register(qmp);
    if (r < 0) {
        dispatcher_destroy(d);
        return r;
    }
    return 0;
}

void qmp_dispatch_free(vmig_qmp_t *qmp)
{
    struct qmp_dispatcher *d = qmp ? qmp->disp : NULL;
    if (!d || d->dying)
        return;
    d->dying = true;
    /* Running handlers see their waits cancelled; each then replies (to
     * nobody: the transport is closed) and finishes. */
    bool from_request = false;
    for (qmp_request_t *r = d->live; r; r = r->next) {
        if (r->co == co_self())
            from_request = true;
        co_cancel(r->co);
    }
    /* Wait for them, unless we cannot: outside a coroutine, or from one of
     * them (it would wait for itself). Then the last one frees. */
    while (d->busy > 0 && co_in_coroutine() && !from_request)
        co_waitq_wait(&d->idle);
    if (d->busy > 0) {
        d->deferred = true;
        return;
    }
    dispatcher_destroy(d);
}

int vmig_qmp_register(vmig_qmp_t *qmp, const char *name, vmig_qmp_handler_fn fn, void *opaque)
{
    struct qmp_dispatcher *d = qmp ? qmp->disp : NULL;
    if (!d || !name || !fn)
        return -EINVAL;
    const qs_command_t *cmd = qmp_schema_command(d->schema, name);
    if (!cmd)
        return -ENOENT;
    qmp_handler_t *h = &d->handlers[cmd->index];
    if (h->fn)
        return -EEXIST;
    h->fn = fn;
    h->opaque = opaque;
    h->seq = d->next_seq++;
    return 0;
}
