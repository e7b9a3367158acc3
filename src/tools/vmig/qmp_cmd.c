/* qmp_cmd.c — `vmig qmp`: run one QMP command against a monitor (vmig's or
 * QEMU's) and print its result, follow its events, or pass it a descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qmp/qmp_client.h"
#include "qmp_cmd.h"
#include "vmig/co.h"

typedef struct qmp_cmd {
    const char *socket;     /* unix:PATH, PATH or tcp:HOST:PORT */
    const char *command;    /* the command, NULL with --events */
    json_t *args;           /* its arguments (owned), NULL: none */
    const char *fd_file;    /* --fd FILE: pass its descriptor with the command */
    bool events;            /* --events: follow events */
    bool json;              /* --json: print the whole reply on one line */
    int exit_code;          /* the result */
    co_t *co;               /* the coroutine doing the work */
    uv_signal_t sigint;     /* stops --events */
    uv_signal_t sigterm;    /* the same */
} qmp_cmd_t;

static int usage(FILE *f)
{
    fputs("usage: vmig qmp SOCKET COMMAND [JSON-ARGUMENTS] [--fd FILE] [--json]\n"
          "       vmig qmp SOCKET getfd NAME --fd FILE\n"
          "       vmig qmp SOCKET --events\n"
          "SOCKET is a unix socket path, unix:PATH or tcp:HOST:PORT. Prints the command's\n"
          "return value as JSON (--json: the whole reply on one line); --events prints\n"
          "one event per line until the monitor closes or SIGINT. --fd passes FILE's\n"
          "descriptor with the command (SCM_RIGHTS).\n"
          "Exit status: 0 success, 1 error reply or failure, 2 bad usage.\n",
          f);
    return f == stderr ? 2 : 0;
}

static int bad(const char *fmt, const char *arg)
{
    fputs("vmig qmp: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (vmig qmp --help)\n", stderr);
    return 2;
}

static int parse(int argc, char **argv, qmp_cmd_t *q)
{
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--events")) {
            q->events = true;
        } else if (!strcmp(a, "--json")) {
            q->json = true;
        } else if (!strcmp(a, "--fd")) {
            if (++i == argc)
                return bad("%s needs a file", "--fd");
            q->fd_file = argv[i];
        } else if (a[0] == '-' && a[1] == '-') {
            return bad("unknown option '%s'", a);
        } else {
            if (npos == 3)
                return bad("unexpected argument '%s'", a);
            pos[npos++] = a;
        }
    }
    if (npos < 1)
        return bad("%s", "a monitor SOCKET is required");
    q->socket = pos[0];
    if (q->events) {
        if (npos > 1 || q->fd_file)
            return bad("%s", "--events takes no command");
        return 0;
    }
    if (npos < 2)
        return bad("%s", "a COMMAND is required");
    q->command = pos[1];
    if (npos == 3) {
        if (!strcmp(q->command, "getfd") && pos[2][0] != '{') {
            /* getfd NAME: the common case spelled shortly. */
            q->args = json_pack("{s:s}", "fdname", pos[2]);
        } else {
            json_error_t jerr;
            q->args = json_loads(pos[2], 0, &jerr);
            if (!q->args)
                return bad("JSON-ARGUMENTS: %s", jerr.text);
            if (!json_is_object(q->args))
                return bad("%s", "JSON-ARGUMENTS must be an object");
        }
    }
    if (!strcmp(q->command, "getfd") && !q->fd_file)
        return bad("%s", "getfd needs --fd FILE");
    return 0;
}

/* The descriptor --fd passes: read-write (created if missing) so that an
 * outgoing migration can write to it, read-only when that is all we may do. */
static int open_fd_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EISDIR))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd;
}

static void print_json(const json_t *v, size_t flags)
{
    if (!v) {
        puts("{}");
        return;
    }
    char *s = json_dumps(v, flags | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
    fflush(stdout);
}

static int follow_events(qmp_cmd_t *q, vmig_qmp_client_t *c)
{
    for (;;) {
        vmig_error_t err = { 0 };
        json_t *ev;
        int r = vmig_qmp_client_event(c, -1, &ev, &err);
        if (r == -ENODATA || r == -ECANCELED)
            return 0; /* the monitor went away, or SIGINT */
        if (r < 0) {
            fprintf(stderr, "vmig qmp: %s\n", err.msg);
            return 1;
        }
        print_json(ev, JSON_COMPACT);
        json_decref(ev);
    }
}

static int run_command(qmp_cmd_t *q, vmig_qmp_client_t *c)
{
    int fd = -1;
    if (q->fd_file) {
        fd = open_fd_file(q->fd_file);
        if (fd < 0) {
            fprintf(stderr, "vmig qmp: cannot open %s: %s\n", q->fd_file, strerror(errno));
            return 1;
        }
    }
    vmig_error_t err = { 0 };
    json_t *reply = NULL;
    int r = vmig_qmp_client_execute(c, q->command, q->args, fd, &reply, &err);
    if (fd >= 0)
        close(fd); /* the monitor has its own copy now */
    if (r < 0) {
        fprintf(stderr, "vmig qmp: %s\n", err.msg);
        return 1;
    }
    json_t *e = json_object_get(reply, "error");
    if (q->json)
        print_json(reply, JSON_COMPACT);
    if (e) {
        const char *cls = json_string_value(json_object_get(e, "class"));
        const char *desc = json_string_value(json_object_get(e, "desc"));
        fprintf(stderr, "error: %s: %s\n", cls ? cls : "?", desc ? desc : "?");
        r = 1;
    } else {
        if (!q->json)
            print_json(json_object_get(reply, "return"), JSON_INDENT(2));
        r = 0;
    }
    json_decref(reply);
    return r;
}

static int qmp_co(void *arg)
{
    qmp_cmd_t *q = arg;
    vmig_error_t err = { 0 };
    vmig_qmp_client_t *c;
    int r = vmig_qmp_client_connect(co_loop(co_self()), q->socket, NULL, &c, &err);
    if (r < 0) {
        fprintf(stderr, "vmig qmp: %s\n", err.msg);
        q->exit_code = r == -ECANCELED ? 0 : 1;
    } else {
        q->exit_code = q->events ? follow_events(q, c) : run_command(q, c);
        vmig_qmp_client_close(c);
    }
    q->co = NULL;
    uv_close((uv_handle_t *)&q->sigint, NULL);
    uv_close((uv_handle_t *)&q->sigterm, NULL);
    return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
    qmp_cmd_t *q = s->data;
    if (q->co)
        co_cancel(q->co);
}

int vmig_cmd_qmp(int argc, char **argv)
{
    qmp_cmd_t q;
    memset(&q, 0, sizeof(q));
    int r = parse(argc, argv, &q);
    if (r) {
        json_decref(q.args);
        return r == 1 ? 0 : r;
    }
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        json_decref(q.args);
        fputs("vmig qmp: cannot create the event loop\n", stderr);
        return 1;
    }
    uv_signal_init(&loop, &q.sigint);
    uv_signal_init(&loop, &q.sigterm);
    q.sigint.data = q.sigterm.data = &q;
    if (q.events) {
        /* Following events ends on SIGINT with status 0. */
        uv_signal_start(&q.sigint, on_signal, SIGINT);
        uv_signal_start(&q.sigterm, on_signal, SIGTERM);
    }
    q.exit_code = 1;
    q.co = co_create(&loop, qmp_co, &q);
    if (!q.co) {
        fputs("vmig qmp: out of memory\n", stderr);
        uv_close((uv_handle_t *)&q.sigint, NULL);
        uv_close((uv_handle_t *)&q.sigterm, NULL);
    } else {
        co_detach(q.co);
        co_enter(q.co);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    co_thread_cleanup();
    json_decref(q.args);
    return q.exit_code;
}
