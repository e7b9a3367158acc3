/* engine_qmp.c — the QMP commands the engine itself answers: run control
 * (stop, cont, quit, query-status) and named descriptors (getfd, closefd),
 * with QEMU 7.2's behaviour and error texts. */
#include <errno.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/engine_objects.h"

static const char *arg_str(const vmig_qmp_req_t *req, const char *key)
{
    return json_string_value(json_object_get(req->args, key));
}

/* QEMU 7.2's qmp_stop(): in inmigrate only clear autostart; otherwise
 * vm_stop(RUN_STATE_PAUSED), which does nothing unless running. */
static int cmd_stop(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_engine_t *e = opaque;
    engine_handler_enter(e);
    int r = engine_run_lock(e);
    if (r == 0) {
        bool passed = false;
        if (e->state == VMIG_RUN_STATE_INMIGRATE)
            e->autostart = false;
        else
            r = engine_vm_stop_locked(e, VMIG_RUN_STATE_PAUSED, false, &passed);
        if (!passed)
            engine_run_unlock(e);
    }
    if (r < 0)
        vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Failed to stop the VM: %s",
                           vmig_strerror(r));
    engine_handler_leave(e);
    return r;
}

/* QEMU 7.2's qmp_cont(), its checks in its order. */
static int cmd_cont(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_engine_t *e = opaque;
    engine_handler_enter(e);
    int r = engine_run_lock(e);
    if (r < 0) {
        vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Failed to resume the VM: %s",
                           vmig_strerror(r));
        goto out;
    }
    bool passed = false;
    switch (e->state) {
    case VMIG_RUN_STATE_INTERNAL_ERROR:
    case VMIG_RUN_STATE_SHUTDOWN: /* runstate_needs_reset() */
        r = vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                               "Resetting the Virtual Machine is required");
        break;
    case VMIG_RUN_STATE_SUSPENDED:
        break; /* a wakeup resumes it, not cont */
    case VMIG_RUN_STATE_FINISH_MIGRATE:
        r = vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Migration is not finalized yet");
        break;
    case VMIG_RUN_STATE_INMIGRATE:
        e->autostart = true; /* the incoming migration starts the VM when done */
        break;
    default:
        r = engine_vm_start_locked(e, &passed);
        if (r < 0)
            vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Failed to resume the VM: %s",
                               vmig_strerror(r));
        break;
    }
    if (!passed)
        engine_run_unlock(e);
out:
    engine_handler_leave(e);
    return r;
}

static int cmd_quit(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    /* SHUTDOWN goes out before the reply, as in QEMU 7.2; a second quit
     * while leaving answers {} too. */
    vmig_engine_shutdown(opaque, VMIG_SHUTDOWN_HOST_QMP_QUIT);
    return 0;
}

static int cmd_query_status(vmig_qmp_req_t *req, void *opaque, json_t **ret,
                            vmig_qmp_error_t *err)
{
    vmig_engine_t *e = opaque;
    /* QEMU 7.2's member order; singlestep is a TCG debugging knob vmig lacks. */
    *ret = json_pack("{s:s, s:b, s:b}", "status", vmig_run_state_name(e->state), "singlestep",
                     0, "running", vmig_engine_is_running(e));
    if (!*ret)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "out of memory");
    return 0;
}

static int cmd_getfd(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_engine_t *e = opaque;
    const char *name = arg_str(req, "fdname");
    int fd = req->conn ? vmig_qmp_conn_take_fd(req->conn) : -ENOENT;
    if (fd < 0)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                                  "No file descriptor supplied via SCM_RIGHTS");
    if (!name || (*name >= '0' && *name <= '9')) {
        close(fd);
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                                  "Parameter 'fdname' expects a name not starting with a digit");
    }
    int r = vmig_engine_add_named_fd(e, name, fd);
    if (r == -ENOSPC)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                                  "Too many file descriptors (at most %d named ones)",
                                  ENGINE_MAX_NAMED_FDS);
    if (r < 0)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "getfd: %s", vmig_strerror(r));
    return 0;
}

static int cmd_closefd(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    vmig_engine_t *e = opaque;
    const char *name = arg_str(req, "fdname");
    if (!name || vmig_engine_close_named_fd(e, name) < 0)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC,
                                  "File descriptor named '%s' not found", name ? name : "");
    return 0;
}

/* object-add: QEMU 7.2's flat ObjectOptions, checked by the schema. */
static int cmd_object_add(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    (void)ret;
    return engine_object_add(opaque, req->args, err);
}

static int cmd_object_del(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    (void)ret;
    return engine_object_del(opaque, arg_str(req, "id"), err);
}

static const struct {
    const char *name;         /* as the schema declares it */
    vmig_qmp_handler_fn fn;   /* its handler; opaque is the engine */
} engine_cmds[] = {
    { "stop", cmd_stop },
    { "cont", cmd_cont },
    { "quit", cmd_quit },
    { "query-status", cmd_query_status },
    { "getfd", cmd_getfd },
    { "closefd", cmd_closefd },
    { "object-add", cmd_object_add },
    { "object-del", cmd_object_del },
};

int engine_qmp_register(vmig_engine_t *e)
{
    for (size_t i = 0; i < sizeof(engine_cmds) / sizeof(engine_cmds[0]); i++) {
        int r = vmig_qmp_register(e->qmp, engine_cmds[i].name, engine_cmds[i].fn, e);
        if (r < 0)
            return r;
    }
    return 0;
}
