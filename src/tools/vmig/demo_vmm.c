/* demo_vmm.c — the demo's two vmig-vmm children: what their --help offers,
 * starting them (killed with us: PR_SET_PDEATHSIG), their monitors, ending them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"
#include "vmig/co.h"

/* Enough of `vmig-vmm --help` to find its options in. */
#define HELP_MAX 16384

int demo_vmm_probe(const char *vmm, demo_vmm_caps_t *caps)
{
    memset(caps, 0, sizeof(*caps));
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return -e;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        dup2(pfd[1], 1);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0)
            dup2(nul, 2);
        execl(vmm, vmm, "--help", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char *buf = malloc(HELP_MAX + 1);
    size_t len = 0;
    if (buf) {
        ssize_t n;
        while (len < HELP_MAX && ((n = read(pfd[0], buf + len, HELP_MAX - len)) > 0 ||
                                  (n < 0 && errno == EINTR)))
            if (n > 0)
                len += (size_t)n;
        buf[len] = '\0';
    }
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return -ENOMEM;
    int r = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
        r = -ENOEXEC;
    } else {
        /* The help lists "--machine demo" in its usage or option text once
         * the demo machine exists; the others are plain option names. */
        caps->machine_demo = strstr(buf, "demo") && strstr(buf, "--machine");
        caps->accel = strstr(buf, "--accel") != NULL;
        caps->serial = strstr(buf, "--serial") != NULL;
        caps->pattern = strstr(buf, "pattern") != NULL;
    }
    free(buf);
    return r;
}

int demo_child_start(demo_child_t *c, char *const argv[])
{
    int log = open(c->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(log);
        return -e;
    }
    if (pid == 0) {
        /* The child dies with us even if we are SIGKILLed: no VMM is ever
         * left behind holding 1 GiB of /dev/shm. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(log, 1);
        dup2(log, 2);
        /* Our terminal's ^C is ours to handle: the children get killed by
         * pid on the way out, not by the tty's signal mid-migration. */
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    close(log);
    c->pid = pid;
    return 0;
}

bool demo_child_alive(demo_child_t *c)
{
    if (c->pid <= 0)
        return false;
    int status;
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == c->pid) {
        c->status = status;
        c->pid = 0;
        return false;
    }
    return true;
}

void demo_child_last_log(const demo_child_t *c, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(c->log_path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n)
            snprintf(buf, len, "%s", line);
    }
    fclose(f);
}

void demo_child_describe_exit(const demo_child_t *c, char *msg, size_t msglen)
{
    char last[400];
    demo_child_last_log(c, last, sizeof(last));
    if (WIFSIGNALED(c->status))
        demo_msg(msg, msglen, "%s vmig-vmm was killed by signal %d%s%s", c->name,
                 WTERMSIG(c->status), last[0] ? ": " : "", last);
    else
        demo_msg(msg, msglen, "%s vmig-vmm exited with status %d%s%s", c->name,
                 WEXITSTATUS(c->status), last[0] ? ": " : "", last);
}

int demo_child_connect(demo_child_t *c, int timeout_ms, char *msg, size_t msglen)
{
    int64_t deadline = demo_now_ms() + timeout_ms;
    struct stat st;
    while (stat(c->qmp_path, &st) < 0) {
        if (!demo_child_alive(c)) {
            demo_child_describe_exit(c, msg, msglen);
            return -ECHILD;
        }
        if (demo_now_ms() > deadline) {
            demo_msg(msg, msglen, "%s vmig-vmm: no QMP socket after %d ms", c->name, timeout_ms);
            return -ETIMEDOUT;
        }
        int r = co_sleep(10);
        if (r < 0) {
            demo_msg(msg, msglen, "interrupted");
            return r;
        }
    }
    vmig_qmp_client_opts_t opts = { .timeout_ms = 15000 };
    char addr[600];
    snprintf(addr, sizeof(addr), "unix:%s", c->qmp_path);
    /* The socket file appears at bind(), a moment before listen(): a
     * connection refused then means "not yet", until the deadline. */
    for (;;) {
        vmig_error_t err = { 0 };
        int r = vmig_qmp_client_connect(co_loop(co_self()), addr, &opts, &c->qmp, &err);
        if (r == 0)
            return 0;
        c->qmp = NULL;
        if (r != -ECONNREFUSED || demo_now_ms() > deadline || !demo_child_alive(c)) {
            demo_msg(msg, msglen, "%s monitor: %s", c->name, err.msg);
            return r;
        }
        r = co_sleep(10);
        if (r < 0) {
            demo_msg(msg, msglen, "interrupted");
            return r;
        }
    }
}

static void reap_blocking(demo_child_t *c)
{
    int status;
    while (c->pid > 0) {
        pid_t r = waitpid(c->pid, &status, 0);
        if (r == c->pid) {
            c->status = status;
            c->pid = 0;
        } else if (r < 0 && errno != EINTR) {
            c->pid = 0; /* not ours any more (cannot happen): nothing to wait for */
        }
    }
}

void demo_child_kill(demo_child_t *c)
{
    if (c->qmp) {
        vmig_qmp_client_close(c->qmp);
        c->qmp = NULL;
    }
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        reap_blocking(c);
    }
}

void demo_child_quit(demo_child_t *c, int timeout_ms)
{
    if (c->qmp && c->pid > 0) {
        vmig_error_t err = { 0 };
        json_t *ret = NULL;
        /* The reply may race with the close; either way it is going. */
        vmig_qmp_client_call(c->qmp, "quit", NULL, -1, &ret, &err);
        json_decref(ret);
        int64_t deadline = demo_now_ms() + timeout_ms;
        while (demo_child_alive(c) && demo_now_ms() < deadline)
            if (co_sleep(10) < 0)
                break;
    }
    demo_child_kill(c);
}
