/* mig_qmp.c — the migration commands of the QMP monitor, with QEMU 7.2's
 * names, checks and replies; each is a thin layer over mig_out.c, mig_in.c,
 * mig_params.c and mig_stats.c. */
#include <errno.h>

#include "migration/mig_internal.h"

static int to_qmp(int r, const vmig_error_t *e, vmig_qmp_error_t *err)
{
    if (r < 0)
        vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "%s", e->msg);
    return r;
}

static bool arg_bool(const vmig_qmp_req_t *req, const char *key)
{
    return json_is_true(json_object_get(req->args, key));
}

static int cmd_migrate(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    vmig_error_t e = { 0 };
    const char *uri = json_string_value(json_object_get(req->args, "uri"));
    int r = mig_out_start(m, uri ? uri : "", arg_bool(req, "blk"), arg_bool(req, "inc"),
                          arg_bool(req, "resume"), &e);
    return to_qmp(r, &e, err);
}

static int cmd_migrate_incoming(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                                vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    vmig_error_t e = { 0 };
    const char *uri = json_string_value(json_object_get(req->args, "uri"));
    int r = vmig_engine_migrate_incoming(m->e, uri ? uri : "", &e);
    return to_qmp(r, &e, err);
}

static int cmd_migrate_cancel(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                              vmig_qmp_error_t *err)
{
    mig_out_cancel(opaque);
    return 0;
}

static int cmd_migrate_continue(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                                vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    vmig_error_t e = { 0 };
    int st = vmig_migration_status_from_name(
        json_string_value(json_object_get(req->args, "state")));
    if (st < 0)
        st = VMIG_MIGRATION_STATUS__MAX; /* the schema let it through: never equal */
    int r = mig_out_continue(m, (vmig_migration_status_t)st, &e);
    return to_qmp(r, &e, err);
}

static int cmd_set_caps(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    return mig_set_caps(opaque, req->args, err);
}

static int cmd_query_caps(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    *ret = vmig_mig_query_caps(&m->cfg);
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "out of memory");
}

static int cmd_set_params(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                          vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    int r = vmig_mig_set_params(&m->cfg, req->args, err);
    if (r == 0)
        mig_params_changed(m);
    return r;
}

static int cmd_query_params(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                            vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    *ret = vmig_mig_query_params(&m->cfg);
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "out of memory");
}

static int cmd_query_migrate(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                             vmig_qmp_error_t *err)
{
    *ret = mig_query_migrate(opaque);
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "out of memory");
}

static int cmd_query_bytes(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                           vmig_qmp_error_t *err)
{
    vmig_migration_t *m = opaque;
    *ret = json_pack("{s:I, s:I}", "sent", (json_int_t)mig_out_bytes(m), "received",
                     (json_int_t)mig_in_bytes(m));
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "out of memory");
}

int mig_qmp_register(vmig_migration_t *m)
{
    static const struct {
        const char *name;
        vmig_qmp_handler_fn fn;
    } cmds[] = {
        { "migrate", cmd_migrate },
        { "migrate-incoming", cmd_migrate_incoming },
        { "migrate_cancel", cmd_migrate_cancel },
        { "migrate-continue", cmd_migrate_continue },
        { "migrate-set-capabilities", cmd_set_caps },
        { "query-migrate-capabilities", cmd_query_caps },
        { "migrate-set-parameters", cmd_set_params },
        { "query-migrate-parameters", cmd_query_params },
        { "query-migrate", cmd_query_migrate },
        { "x-vmig-query-migrate-bytes", cmd_query_bytes },
    };
    vmig_qmp_t *qmp = vmig_engine_qmp(m->e);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int r = vmig_qmp_register(qmp, cmds[i].name, cmds[i].fn, m);
        if (r < 0)
            return r;
    }
    return 0;
}
