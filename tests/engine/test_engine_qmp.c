/* test_engine_qmp.c — the engine's commands through its monitor and the C
 * QMP client, over a real unix socket: the monitor answers while a stop
 * waits for the embedder, events reach the other client, the embedder's
 * error becomes a GenericError, getfd hands a descriptor to the engine's
 * store, quit ends with SHUTDOWN and the quit callback. */
#include "engine_test.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "qmp/qmp_client.h"

typedef struct qt {
    char dir[128];        /* private directory for the socket */
    char uri[200];        /* unix:DIR/qmp.sock */
    fake_vmm_t f;         /* the embedder */
    vmig_engine_t *e;     /* the engine */
} qt_t;

/* Run fn(qt_t *) as a coroutine next to an engine on a fresh loop (its
 * embedder answering at once), with a private directory for the monitor's
 * socket; fn must return 0. The engine then closes and takes the listener's
 * socket file with it. */
static void qt_run(co_fn fn)
{
    qt_t t;
    memset(&t, 0, sizeof(t));
    const char *base = getenv("TMPDIR");
    snprintf(t.dir, sizeof(t.dir), "%s/vmig-eng-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t.dir));
    snprintf(t.uri, sizeof(t.uri), "unix:%s/qmp.sock", t.dir);

    uv_loop_t loop;
    t.f.mode = FAKE_SYNC;
    t.e = fake_open(&loop, &t.f);
    co_t *co = vt_start(&loop, fn, &t);
    ENGINE_RUN_UNTIL(&loop, co_finished(co));
    assert_int_equal(vt_join(co), 0);
    fake_finish(&loop, &t.f);
    assert_true(t.f.closed);
    /* The listener's socket file went with the engine. */
    struct stat st;
    assert_int_equal(stat(t.uri + 5, &st), -1);
    rmdir(t.dir);
}

static vmig_qmp_client_t *connect_ok(qt_t *t)
{
    vmig_error_t err = { 0 };
    vmig_qmp_client_t *c = NULL;
    int r = vmig_qmp_client_connect(vt_loop(), t->uri, NULL, &c, &err);
    if (r < 0)
        fprintf(stderr, "connect: %s\n", err.msg);
    assert_int_equal(r, 0);
    return c;
}

static json_t *call_ok(vmig_qmp_client_t *c, const char *cmd, json_t *args, int fd)
{
    vmig_error_t err = { 0 };
    json_t *ret = NULL;
    int r = vmig_qmp_client_call(c, cmd, args, fd, &ret, &err);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", cmd, err.msg);
    assert_int_equal(r, 0);
    return ret;
}

static void expect_status(vmig_qmp_client_t *c, const char *status, bool running)
{
    json_t *st = call_ok(c, "query-status", NULL, -1);
    assert_string_equal(json_string_value(json_object_get(st, "status")), status);
    assert_true(json_is_boolean(json_object_get(st, "running")));
    assert_int_equal(json_boolean_value(json_object_get(st, "running")), running);
    assert_true(json_is_false(json_object_get(st, "singlestep")));
    assert_int_equal(json_object_size(st), 3);
    json_decref(st);
}

static void expect_event(vmig_qmp_client_t *c, const char *name)
{
    vmig_error_t err = { 0 };
    json_t *ev = NULL;
    int r = vmig_qmp_client_event(c, 5000, &ev, &err);
    if (r < 0)
        fprintf(stderr, "waiting for %s: %s\n", name, err.msg);
    assert_int_equal(r, 0);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), name);
    assert_true(json_is_object(json_object_get(ev, "timestamp")));
    json_decref(ev);
}

typedef struct bg_call {
    vmig_qmp_client_t *c; /* the client */
    const char *cmd;      /* the command */
    int result;           /* vmig_qmp_client_call()'s return */
    vmig_error_t err;     /* its error */
    bool done;            /* it returned */
} bg_call_t;

static int bg_call_co(void *arg)
{
    bg_call_t *b = arg;
    b->result = vmig_qmp_client_call(b->c, b->cmd, NULL, -1, NULL, &b->err);
    b->done = true;
    return 0;
}

static int body(void *arg)
{
    qt_t *t = arg;
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_qmp_listen(t->e, t->uri, &err), 0);
    struct stat st;
    assert_int_equal(stat(t->uri + 5, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    vmig_qmp_client_t *a = connect_ok(t), *b = connect_ok(t);
    const json_t *g = vmig_qmp_client_greeting(a);
    json_t *qemu = json_object_get(json_object_get(json_object_get(g, "QMP"), "version"), "qemu");
    assert_int_equal(json_integer_value(json_object_get(qemu, "major")), 7);
    assert_int_equal(json_integer_value(json_object_get(qemu, "minor")), 2);
    expect_status(a, "running", true);

    /* A stop the embedder answers only later: the other client is served
     * meanwhile and still sees "running". */
    t->f.mode = FAKE_MANUAL;
    bg_call_t stop = { .c = a, .cmd = "stop" };
    co_t *sc = co_create(vt_loop(), bg_call_co, &stop);
    co_enter(sc);
    while (t->f.stops == 0)
        co_sleep(1);
    assert_false(stop.done);
    expect_status(b, "running", true);
    assert_false(stop.done); /* b was answered while the stop still waited */
    assert_int_equal(vmig_engine_run_control_done(t->e, 0), 0);
    expect_event(b, "STOP");
    while (!stop.done)
        co_sleep(1);
    assert_int_equal(stop.result, 0);
    assert_int_equal(co_join(sc, NULL), 0);
    expect_status(b, "paused", false);
    expect_event(a, "STOP");

    /* The embedder fails to start: GenericError, state unchanged. */
    t->f.mode = FAKE_SYNC;
    t->f.answer = -EIO;
    json_t *ret = NULL;
    memset(&err, 0, sizeof(err));
    assert_int_equal(vmig_qmp_client_call(a, "cont", NULL, -1, &ret, &err), -EPROTO);
    assert_null(ret);
    assert_non_null(strstr(err.msg, "GenericError: "));
    expect_status(a, "paused", false);
    t->f.answer = 0;
    json_decref(call_ok(a, "cont", NULL, -1));
    expect_event(a, "RESUME"); /* kept by the client while it waited for the reply */
    expect_event(b, "RESUME");
    expect_status(b, "running", true);

    /* getfd: the descriptor lands in the engine's store under its name. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    json_t *args = json_pack("{s:s}", "fdname", "mig");
    json_decref(call_ok(a, "getfd", args, fd));
    json_decref(args);
    close(fd);
    int got = vmig_engine_take_named_fd(t->e, "mig");
    assert_true(got >= 0);
    close(got);
    args = json_pack("{s:s}", "fdname", "mig");
    memset(&err, 0, sizeof(err));
    assert_int_equal(vmig_qmp_client_call(b, "closefd", args, -1, NULL, &err), -EPROTO);
    assert_string_equal(err.msg, "GenericError: File descriptor named 'mig' not found");
    json_decref(args);

    /* quit: SHUTDOWN to everyone, then the quit callback. */
    json_decref(call_ok(a, "quit", NULL, -1));
    expect_event(a, "SHUTDOWN");
    expect_event(b, "SHUTDOWN");
    while (t->f.quits == 0)
        co_sleep(1);
    assert_int_equal(t->f.quit_cause, VMIG_SHUTDOWN_HOST_QMP_QUIT);
    vmig_qmp_client_close(a);
    vmig_qmp_client_close(b);
    return 0;
}

static void test_engine_over_qmp(void **state)
{
    qt_run(body);
}

/* cont and stop in every state where QEMU 7.2 does something special. */
static void expect_error(vmig_qmp_client_t *c, const char *cmd, const char *desc)
{
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_qmp_client_call(c, cmd, NULL, -1, NULL, &err), -EPROTO);
    char want[300];
    snprintf(want, sizeof(want), "GenericError: %s", desc);
    assert_string_equal(err.msg, want);
}

static void expect_no_event(vmig_qmp_client_t *c)
{
    vmig_error_t err = { 0 };
    json_t *ev = NULL;
    assert_int_equal(vmig_qmp_client_event(c, 50, &ev, &err), -ETIMEDOUT);
    assert_null(ev);
}

static int states_body(void *arg)
{
    qt_t *t = arg;
    vmig_engine_t *e = t->e;
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_qmp_listen(e, t->uri, &err), 0);
    vmig_qmp_client_t *c = connect_ok(t);

    /* inmigrate: cont and stop only set autostart, nothing else happens. */
    e->state = VMIG_RUN_STATE_INMIGRATE;
    vmig_engine_set_autostart(e, false);
    json_decref(call_ok(c, "cont", NULL, -1));
    assert_true(vmig_engine_autostart(e));
    json_decref(call_ok(c, "stop", NULL, -1));
    assert_false(vmig_engine_autostart(e));
    expect_status(c, "inmigrate", false);
    assert_int_equal(t->f.stops + t->f.starts, 0);
    expect_no_event(c);

    e->state = VMIG_RUN_STATE_FINISH_MIGRATE;
    expect_error(c, "cont", "Migration is not finalized yet");
    e->state = VMIG_RUN_STATE_INTERNAL_ERROR;
    expect_error(c, "cont", "Resetting the Virtual Machine is required");
    e->state = VMIG_RUN_STATE_SHUTDOWN;
    expect_error(c, "cont", "Resetting the Virtual Machine is required");
    /* suspended: cont answers {} and leaves it to a wakeup. */
    e->state = VMIG_RUN_STATE_SUSPENDED;
    json_decref(call_ok(c, "cont", NULL, -1));
    expect_status(c, "suspended", false);
    assert_int_equal(t->f.starts, 0);

    /* postmigrate: cont starts the VM (RESUME), stop then pauses it. */
    e->state = VMIG_RUN_STATE_POSTMIGRATE;
    json_decref(call_ok(c, "stop", NULL, -1));
    expect_status(c, "postmigrate", false);
    expect_no_event(c);
    json_decref(call_ok(c, "cont", NULL, -1));
    assert_int_equal(t->f.starts, 1);
    expect_event(c, "RESUME");
    expect_status(c, "running", true);
    json_decref(call_ok(c, "stop", NULL, -1));
    assert_int_equal(t->f.stops, 1);
    expect_event(c, "STOP");
    expect_status(c, "paused", false);

    /* The embedder's failure to stop: GenericError with its reason. */
    json_decref(call_ok(c, "cont", NULL, -1));
    expect_event(c, "RESUME");
    t->f.answer = -EBUSY;
    expect_error(c, "stop", "Failed to stop the VM: resource busy");
    expect_status(c, "running", true);
    expect_no_event(c);
    t->f.answer = 0;

    vmig_qmp_client_close(c);
    return 0;
}

static void test_cont_stop_states(void **state)
{
    qt_run(states_body);
}

/* Connecting to nothing fails cleanly, with the address in the message. */
static int refused_body(void *arg)
{
    vmig_error_t err = { 0 };
    vmig_qmp_client_t *c = NULL;
    int r = vmig_qmp_client_connect(vt_loop(), "/nonexistent/vmig.sock", NULL, &c, &err);
    assert_true(r < 0);
    assert_null(c);
    assert_non_null(strstr(err.msg, "/nonexistent/vmig.sock"));
    memset(&err, 0, sizeof(err));
    r = vmig_qmp_client_connect(vt_loop(), "tcp:127.0.0.1:1", NULL, &c, &err);
    assert_true(r < 0);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    return 0;
}

static void test_client_refused(void **state)
{
    assert_int_equal(vt_run(refused_body, NULL), 0);
}

int main(void)
{
    engine_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_over_qmp),
        cmocka_unit_test(test_cont_stop_states),
        cmocka_unit_test(test_client_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
