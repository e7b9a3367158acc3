/* channel_fd.c — a channel over a descriptor someone else opened (fd:N, or an
 * embedder's socketpair): sockets and pipes become streams, regular files
 * become file channels. */
#include "channel/channel_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

int vmig_channel_from_fd(uv_loop_t *loop, int fd, const char *name, vmig_channel_t **out,
                         vmig_error_t *err)
{
    if (out)
        *out = NULL;
    char namebuf[32];
    if (!name) {
        snprintf(namebuf, sizeof(namebuf), "fd:%d", fd);
        name = namebuf;
    }
    if (!loop || !out)
        return vmig_error_set(err, -EINVAL, "vmig_channel_from_fd: missing loop or result");
    if (fd < 0)
        return vmig_error_set(err, -EBADF, "cannot use %s: not a descriptor", name);

    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        return vmig_error_set(err, -e, "cannot use %s: %s", name, strerror(e));
    }
    if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
        return chan_file_from_fd(loop, fd, name, out, err);
    if (S_ISFIFO(st.st_mode))
        return chan_stream_from_fd(loop, fd, false, false, name, out, err);
    if (!S_ISSOCK(st.st_mode))
        return vmig_error_set(err, -ENOTSUP, "cannot use %s: neither a socket, a pipe nor a regular file",
                              name);

    int type = 0, domain = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        int e = errno;
        return vmig_error_set(err, -e, "cannot use %s: %s", name, strerror(e));
    }
    if (type != SOCK_STREAM)
        return vmig_error_set(err, -ENOTSUP, "cannot use %s: not a stream socket", name);
    len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
        int e = errno;
        return vmig_error_set(err, -e, "cannot use %s: %s", name, strerror(e));
    }
    /* IP sockets get a uv_tcp_t (nodelay, peer address); every other stream
     * socket (unix, socketpair, vsock) works as a uv_pipe_t. */
    bool tcp = domain == AF_INET || domain == AF_INET6;
    return chan_stream_from_fd(loop, fd, tcp, true, name, out, err);
}
