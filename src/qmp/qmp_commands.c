/* qmp_commands.c — the commands the monitor answers itself: qmp_capabilities,
 * query-version, query-commands and query-qmp-schema. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_dispatch.h"

/* QEMU 7.2's qmp_qmp_capabilities() and qmp_caps_accept(). */
static int cmd_qmp_capabilities(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                                vmig_qmp_error_t *err)
{
    vmig_qmp_conn_t *conn = req->conn;
    if (!conn)
        return -ENOTCONN; /* nobody will read the reply */
    if (vmig_qmp_conn_negotiated(conn))
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_COMMAND_NOT_FOUND,
                                  "Capabilities negotiation is already complete, command ignored");
    /* The schema checked that enable is a list of QMPCapability values;
     * "oob" is the only one. */
    json_t *enable = json_object_get(req->args, "enable");
    bool oob = false, unavailable = false;
    size_t i;
    json_t *cap;
    json_array_foreach(enable, i, cap) {
        if (strcmp(json_string_value(cap), "oob") == 0) {
            oob = true;
            if (!vmig_qmp_conn_oob_capable(conn))
                unavailable = true;
        }
    }
    /* QEMU lists each unavailable capability as often as it was asked for. */
    if (unavailable) {
        char list[256] = "";
        size_t len = 0;
        json_array_foreach(enable, i, cap) {
            int n = snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "",
                             json_string_value(cap));
            if (n < 0 || (size_t)n >= sizeof(list) - len)
                break;
            len += (size_t)n;
        }
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Capability %s not available",
                                  list);
    }
    vmig_qmp_conn_set_negotiated(conn, oob);
    return 0;
}

static int cmd_query_version(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                             vmig_qmp_error_t *err)
{
    const vmig_qmp_opts_t *o = &req->qmp->opts;
    *ret = json_pack("{s:{s:i, s:i, s:i}, s:s}", "qemu", "major", o->version_major, "minor",
                     o->version_minor, "micro", o->version_micro, "package",
                     o->package ? o->package : "");
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Out of memory");
}

/* QEMU prepends each command to the list while walking its table in
 * registration order: the newest registered comes first. */
static int cmd_query_commands(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                              vmig_qmp_error_t *err)
{
    struct qmp_dispatcher *d = req->qmp->disp;
    size_t n = d->schema->ncmds;
    const char **byseq = calloc(d->next_seq + 1, sizeof(*byseq));
    json_t *list = json_array();
    if (byseq && list) {
        for (size_t i = 0; i < n; i++)
            if (d->handlers[i].fn)
                byseq[d->handlers[i].seq] = d->schema->cmds[i].name;
        for (unsigned s = d->next_seq; s-- > 0;)
            if (byseq[s] && json_array_append_new(list, json_pack("{s:s}", "name", byseq[s])) < 0) {
                json_decref(list);
                list = NULL;
                break;
            }
    } else {
        json_decref(list);
        list = NULL;
    }
    free(byseq);
    if (!list)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Out of memory");
    *ret = list;
    return 0;
}

static bool is_registered(const qs_command_t *cmd, void *opaque)
{
    const struct qmp_dispatcher *d = opaque;
    return d->handlers[cmd->index].fn != NULL;
}

static int cmd_query_qmp_schema(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                                vmig_qmp_error_t *err)
{
    struct qmp_dispatcher *d = req->qmp->disp;
    *ret = qmp_schema_introspect(d->schema, is_registered, d);
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Out of memory");
}

int qmp_commands_register(vmig_qmp_t *qmp)
{
    static const struct {
        const char *name;        /* as the schema declares it */
        vmig_qmp_handler_fn fn;  /* its handler */
    } cmds[] = {
        { "qmp_capabilities", cmd_qmp_capabilities },
        { "query-version", cmd_query_version },
        { "query-commands", cmd_query_commands },
        { "query-qmp-schema", cmd_query_qmp_schema },
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = vmig_qmp_register(qmp, cmds[i].name, cmds[i].fn, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}
