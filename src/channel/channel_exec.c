/* channel_exec.c — exec:CMD: a command run through /bin/sh -c whose stdin
 * (source) or stdout (destination) carries the stream, and whose exit status
 * decides whether the stream ended well. */
#include "channel/channel_internal.h"

#include "vmig/co.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* uv_buf_t is laid out like struct iovec on unix (checked in channel_socket.c). */

typedef struct exec_channel {
    vmig_channel_t ch;      /* common part; first, so the casts below hold */
    co_process_t proc;      /* the child, /bin/sh -c CMD */
    uv_pipe_t to_child;     /* our end of its stdin (OUTGOING only) */
    uv_pipe_t from_child;   /* our end of its stdout */
    co_stream_t in;         /* writes into to_child */
    co_stream_t out;        /* reads from from_child */
    bool has_in;            /* to_child exists (OUTGOING) */
    bool shut_rd;           /* shutdown(SHUT_RD) seen: reads end */
    bool shut_wr;           /* shutdown(SHUT_WR) seen: writes fail */
    char cmd[];             /* CMD, for messages */
} exec_channel_t;

/* The exit status as the channel's verdict: 0, or -EIO with the message. */
static int exec_status(exec_channel_t *e)
{
    if (e->proc.term_signal)
        return vmig_error_set(&e->ch.err, -EIO, "exec:%s was killed by signal %d", e->cmd,
                              e->proc.term_signal);
    if (e->proc.exit_status)
        return vmig_error_set(&e->ch.err, -EIO, "exec:%s exited with status %lld", e->cmd,
                              (long long)e->proc.exit_status);
    return 0;
}

/* Wait for the child to exit and judge its status. A cancel either gives up
 * (the child runs on: -ECANCELED) or, with must, kills it and waits on. */
static int exec_reap(exec_channel_t *e, bool must)
{
    while (!e->proc.exited) {
        int r = co_process_wait(&e->proc, NULL, NULL);
        if (r == 0)
            break;
        if (!must)
            return r;
        uv_process_kill(&e->proc.proc, SIGKILL);
    }
    return exec_status(e);
}

/* Our ends of the pipes, on the raw descriptors (libuv's pipes to a child are
 * socketpairs, so shutdown(2) works and never waits). */
static void exec_shut_fd(uv_pipe_t *p, co_stream_t *s, int how)
{
    uv_os_fd_t fd;
    if (!s->closing && uv_fileno((uv_handle_t *)p, &fd) == 0)
        shutdown(fd, how);
}

static ssize_t exec_read(vmig_channel_t *ch, void *buf, size_t len)
{
    exec_channel_t *e = (exec_channel_t *)ch;
    if (e->shut_rd || len == 0)
        return 0;
    ssize_t n = co_stream_read(&e->out, buf, len);
    if (e->shut_rd)
        return n < 0 ? 0 : n;
    if (n != 0)
        return n;
    /* The command's output ended: that is the end of the stream only if the
     * command succeeded. */
    return exec_reap(e, false);
}

static int exec_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt)
{
    exec_channel_t *e = (exec_channel_t *)ch;
    if (iovcnt < 0 || (iovcnt > 0 && !iov))
        return -EINVAL;
    if (!e->has_in)
        return vmig_error_set(&ch->err, -EBADF, "exec:%s was opened for reading: cannot write to it",
                              e->cmd);
    if (e->shut_wr)
        return -EPIPE;
    int r = co_stream_writev(&e->in, (const uv_buf_t *)iov, (unsigned)iovcnt);
    if (r < 0 && e->shut_wr)
        r = -EPIPE;
    if (r == -EPIPE && !e->shut_wr && e->proc.exited)
        exec_status(e); /* the command died: say how, not just "broken pipe" */
    return r;
}

static int exec_shutdown(vmig_channel_t *ch, int how)
{
    exec_channel_t *e = (exec_channel_t *)ch;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if (how != SHUT_WR) {
        e->shut_rd = true;
        exec_shut_fd(&e->from_child, &e->out, SHUT_RD);
    }
    if (how != SHUT_RD) {
        e->shut_wr = true;
        if (e->has_in)
            exec_shut_fd(&e->to_child, &e->in, SHUT_WR);
    }
    return 0;
}

/* End our side and wait for the child: its input ends (it sees EOF), its
 * output is refused (it cannot block on a pipe nobody reads). A cancel kills it. */
static int exec_finish(exec_channel_t *e)
{
    if (!e->proc.exited) {
        if (e->has_in)
            exec_shut_fd(&e->to_child, &e->in, SHUT_WR);
        exec_shut_fd(&e->from_child, &e->out, SHUT_RD);
    }
    return exec_reap(e, true);
}

static void exec_close(vmig_channel_t *ch)
{
    exec_channel_t *e = (exec_channel_t *)ch;
    if (!co_self())
        return; /* cannot wait for the child here: documented misuse, leaked */
    exec_finish(e);
    co_stream_close(&e->out);
    if (e->has_in)
        co_stream_close(&e->in);
    co_process_close(&e->proc);
    free(e);
}

static const vmig_channel_ops_t exec_ops = {
    "exec", exec_read, exec_writev, exec_shutdown, exec_close,
};

int chan_exec_open(uv_loop_t *loop, const char *cmd, vmig_channel_dir_t dir,
                   vmig_channel_t **out, vmig_error_t *err)
{
    int r = chan_need_coroutine("opening exec:", err);
    if (r < 0)
        return r;
    size_t n = strlen(cmd);
    exec_channel_t *e = calloc(1, sizeof(*e) + n + 1);
    if (!e)
        return vmig_error_set(err, -ENOMEM, "out of memory running exec:%.200s", cmd);
    memcpy(e->cmd, cmd, n + 1);
    vmig_channel_init(&e->ch, &exec_ops, loop, "exec:%s", cmd);
    e->has_in = dir == VMIG_CHANNEL_OUTGOING;

    /* As QEMU: the source writes the command's stdin and may read its stdout
     * (a return path); the destination reads its stdout, stdin is /dev/null.
     * stderr is ours, so the command's complaints reach the user. */
    uv_stdio_container_t stdio[3];
    memset(stdio, 0, sizeof(stdio));
    r = uv_pipe_init(loop, &e->from_child, 0);
    if (r == 0 && e->has_in) {
        r = uv_pipe_init(loop, &e->to_child, 0);
        if (r < 0)
            co_close((uv_handle_t *)&e->from_child);
    }
    if (r < 0) {
        free(e);
        return vmig_error_set(err, r, "cannot run exec:%.200s: %s", cmd, vmig_strerror(r));
    }
    if (e->has_in) {
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)&e->to_child;
    } else {
        stdio[0].flags = UV_IGNORE;
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&e->from_child;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;

    char *args[] = {"/bin/sh", "-c", e->cmd, NULL};
    uv_process_options_t opts;
    memset(&opts, 0, sizeof(opts));
    opts.file = args[0];
    opts.args = args;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    r = co_process_spawn(&e->proc, &opts);
    if (r < 0) {
        char tmp[128];
        co_close((uv_handle_t *)&e->from_child);
        if (e->has_in)
            co_close((uv_handle_t *)&e->to_child);
        free(e);
        return vmig_error_set(err, r, "cannot run exec:%.200s: %s", cmd, chan_strerror(r, tmp, sizeof(tmp)));
    }
    co_stream_init(&e->out, (uv_stream_t *)&e->from_child);
    if (e->has_in)
        co_stream_init(&e->in, (uv_stream_t *)&e->to_child);
    *out = &e->ch;
    return 0;
}

int vmig_channel_close_status(vmig_channel_t *ch, vmig_error_t *err)
{
    if (!ch)
        return 0;
    if (ch->ops == &exec_ops && co_self())
        exec_finish((exec_channel_t *)ch);
    int r = ch->err.code;
    if (err)
        vmig_error_propagate(err, &ch->err);
    vmig_channel_close(ch);
    return r;
}
