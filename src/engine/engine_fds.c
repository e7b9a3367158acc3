/* engine_fds.c — the file descriptors clients pass with getfd, kept per
 * engine under their names until closefd or until an `fd:NAME` URI takes one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

static engine_named_fd_t **find(vmig_engine_t *e, const char *name)
{
    engine_named_fd_t **pp = &e->fds;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

int vmig_engine_add_named_fd(vmig_engine_t *e, const char *name, int fd)
{
    if (!e || !name || fd < 0) {
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    /* A descriptor given to the engine must not leak into children that
     * exec: URIs spawn. */
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC))
        fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    engine_named_fd_t **pp = find(e, name);
    if (*pp) {
        /* QEMU replaces the descriptor of an existing name and closes the old. */
        int old = (*pp)->fd;
        (*pp)->fd = fd;
        close(old);
        return 0;
    }
    if (e->nfds >= ENGINE_MAX_NAMED_FDS) {
        close(fd);
        return -ENOSPC;
    }
    engine_named_fd_t *n = calloc(1, sizeof(*n));
    char *copy = strdup(name);
    if (!n || !copy) {
        free(n);
        free(copy);
        close(fd);
        return -ENOMEM;
    }
    n->name = copy;
    n->fd = fd;
    n->next = e->fds;
    e->fds = n;
    e->nfds++;
    return 0;
}

/* Unlink the entry named name: its fd, or -ENOENT. */
static int unlink_fd(vmig_engine_t *e, const char *name)
{
    if (!e || !name)
        return -EINVAL;
    engine_named_fd_t **pp = find(e, name);
    engine_named_fd_t *n = *pp;
    if (!n)
        return -ENOENT;
    *pp = n->next;
    e->nfds--;
    int fd = n->fd;
    free(n->name);
    free(n);
    return fd;
}

int vmig_engine_take_named_fd(vmig_engine_t *e, const char *name)
{
    return unlink_fd(e, name);
}

int vmig_engine_close_named_fd(vmig_engine_t *e, const char *name)
{
    int fd = unlink_fd(e, name);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

void engine_fds_close_all(vmig_engine_t *e)
{
    while (e->fds) {
        engine_named_fd_t *n = e->fds;
        e->fds = n->next;
        close(n->fd);
        free(n->name);
        free(n);
    }
    e->nfds = 0;
}
