/* qmp.c — the monitor object: creation with its defaults, freeing, QEMU's
 * error classes, and events broadcast with QEMU's timestamp. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_dispatch.h"

/* What the monitor announces when opts leave the version out: the QEMU
 * version vmig is wire-compatible with. */
enum { QMP_DEFAULT_MAJOR = 7, QMP_DEFAULT_MINOR = 2, QMP_DEFAULT_MICRO = 0 };
#define QMP_DEFAULT_MAX_INPUT ((size_t)1 << 20)
#define QMP_DEFAULT_MAX_DEPTH 64u
#define QMP_DEFAULT_MAX_OUT ((size_t)8 << 20)

const char *vmig_qmp_error_class_name(vmig_qmp_error_class_t c)
{
    switch (c) {
#define XX(c, s) \
    case VMIG_QMP_ERROR_##c: \
        return s;
        VMIG_QMP_ERROR_CLASS_MAP(XX)
#undef XX
    }
    return "GenericError";
}

int vmig_qmp_error_set(vmig_qmp_error_t *err, vmig_qmp_error_class_t cls, const char *fmt, ...)
{
    if (err) {
        err->cls = cls;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

vmig_qmp_t *vmig_qmp_new(uv_loop_t *loop, const vmig_qmp_opts_t *opts)
{
    if (!loop)
        return NULL;
    vmig_qmp_t *qmp = calloc(1, sizeof(*qmp));
    if (!qmp)
        return NULL;
    qmp->loop = loop;
    if (opts)
        qmp->opts = *opts;
    vmig_qmp_opts_t *o = &qmp->opts;
    if (!o->version_major && !o->version_minor && !o->version_micro) {
        o->version_major = QMP_DEFAULT_MAJOR;
        o->version_minor = QMP_DEFAULT_MINOR;
        o->version_micro = QMP_DEFAULT_MICRO;
    }
    /* Our own copy: the caller's string need not outlive the monitor. */
    o->package = strdup(o->package ? o->package : "");
    if (!o->max_input)
        o->max_input = QMP_DEFAULT_MAX_INPUT;
    if (!o->max_depth)
        o->max_depth = QMP_DEFAULT_MAX_DEPTH;
    if (!o->max_output)
        o->max_output = QMP_DEFAULT_MAX_OUT;
    if (!o->package || qmp_dispatch_init(qmp) < 0) {
        free((char *)o->package);
        free(qmp);
        return NULL;
    }
    if (qmp_transport_init(qmp) < 0) {
        qmp_dispatch_free(qmp); /* nothing runs yet: frees at once */
        qmp_monitor_release(qmp);
        return NULL;
    }
    return qmp;
}

void qmp_monitor_release(vmig_qmp_t *qmp)
{
    free((char *)qmp->opts.package);
    free(qmp);
}

void vmig_qmp_free(vmig_qmp_t *qmp)
{
    if (!qmp)
        return;
    /* Connections first (each tells the dispatcher it is gone), then the
     * commands still running. */
    qmp_transport_close(qmp);
    qmp_dispatch_free(qmp);
    /* Otherwise the last running command frees the monitor. */
    if (!qmp->disp)
        qmp_monitor_release(qmp);
}

uv_loop_t *vmig_qmp_loop(const vmig_qmp_t *qmp)
{
    return qmp ? qmp->loop : NULL;
}

/* An event the schema refuses is a bug in the caller: say so, drop it. */
static void event_refused(const char *name, const char *why)
{
    fprintf(stderr, "vmig: QMP event %s dropped: %s\n", name, why);
}

void vmig_qmp_event(vmig_qmp_t *qmp, const char *name, json_t *data)
{
    struct qmp_dispatcher *d = qmp ? qmp->disp : NULL;
    if (!d || !name || d->dying) {
        json_decref(data);
        return;
    }
    const qs_event_t *ev = qmp_schema_event(d->schema, name);
    char desc[sizeof(((vmig_qmp_error_t *)0)->desc)];
    if (!ev) {
        event_refused(name, "not in the schema");
        json_decref(data);
        return;
    }
    if (data && !json_is_object(data)) {
        event_refused(name, "data is not an object");
        json_decref(data);
        return;
    }
    if (qmp_schema_check(ev->data, data, desc, sizeof(desc)) < 0) {
        event_refused(name, desc);
        json_decref(data);
        return;
    }
    /* QEMU sends "data" for every event that has members (even {}), never
     * for one that has none. */
    if (ev->data->nmembers == 0) {
        json_decref(data);
        data = NULL;
    } else if (!data && !(data = json_object())) {
        return;
    }
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) < 0)
        tv.tv_sec = tv.tv_usec = 0;
    json_t *msg = json_pack("{s:{s:I, s:I}, s:s}", "timestamp", "seconds", (json_int_t)tv.tv_sec,
                            "microseconds", (json_int_t)tv.tv_usec, "event", name);
    if (msg && data && json_object_set(msg, "data", data) < 0)
        msg = (json_decref(msg), NULL);
    json_decref(data);
    json_t *out = msg ? qmp_qdict_reorder(msg) : NULL;
    json_decref(msg);
    if (out)
        qmp_transport_broadcast(qmp, out);
    json_decref(out);
}
