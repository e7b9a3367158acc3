/* channel.h — one byte-channel interface for every migration transport: tcp,
 * unix socket, inherited fd, exec:, regular file and in-memory buffer. */
#ifndef VMIG_CHANNEL_H
#define VMIG_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <uv.h>

#include "vmig/error.h"

/*
 * Rules
 * - read and writev suspend only the calling coroutine (a memory channel never
 *   suspends, so it can also be used outside a coroutine: parsers and fuzzers).
 * - shutdown never suspends and may be called from the loop or any coroutine
 *   at any time: it is how cancel and yank stop a channel that a coroutine is
 *   blocked on (the blocked read/write then fails).
 * - close may suspend (it waits for libuv to release the handle); it frees the
 *   channel. Call it from a coroutine (a memory channel: from anywhere).
 * - Errors: every failing call returns a negative errno value and keeps the
 *   first error with a human message naming the peer in ch->err, e.g.
 *   "connection refused by 127.0.0.1:4444".
 * - Shut a channel down and let every coroutine using it return before
 *   closing it: close frees what a waiting reader or writer still uses.
 * - SIGPIPE: libuv writes with write(2), so writing to a peer that has gone
 *   (a closed socket, an exited exec: command) raises SIGPIPE. The process
 *   must ignore it (signal(SIGPIPE, SIG_IGN), as QEMU does); writes then fail
 *   with EPIPE. The library does not touch process-wide signal dispositions.
 * - exec: the command's exit status is part of the stream: a read reaching
 *   the end of its output waits for it to exit and fails ("exec:CMD exited
 *   with status 1") unless it exited with 0. Closing shuts our ends of its
 *   pipes and waits for it to exit (a cancel kills it with SIGKILL); use
 *   vmig_channel_close_status() to learn how it ended.
 */

typedef struct vmig_channel vmig_channel_t;

typedef struct vmig_channel_ops {
    const char *kind;  /* "tcp", "unix", "fd", "exec", "file", "memory" */
    /* Read at least 1 byte: count, 0 at end of stream, or negative error. */
    ssize_t (*read)(vmig_channel_t *ch, void *buf, size_t len);
    /* Write every byte of iov: 0 or negative error. */
    int (*writev)(vmig_channel_t *ch, const struct iovec *iov, int iovcnt);
    /* SHUT_RD, SHUT_WR or SHUT_RDWR; never suspends. */
    int (*shutdown)(vmig_channel_t *ch, int how);
    /* Release everything, the channel struct included. */
    void (*close)(vmig_channel_t *ch);
} vmig_channel_ops_t;

struct vmig_channel {
    const vmig_channel_ops_t *ops; /* the transport */
    uv_loop_t *loop;               /* loop it lives on; NULL for memory */
    char peer[160];                /* who is at the other end, for messages */
    vmig_error_t err;              /* first error, with its message */
    uint64_t bytes_read;           /* counters, maintained by the wrappers below */
    uint64_t bytes_written;
};

/* Wrappers that keep the counters and the first error. */
ssize_t vmig_channel_read(vmig_channel_t *ch, void *buf, size_t len);
int vmig_channel_writev(vmig_channel_t *ch, const struct iovec *iov, int iovcnt);
int vmig_channel_write(vmig_channel_t *ch, const void *buf, size_t len);
int vmig_channel_shutdown(vmig_channel_t *ch, int how);
void vmig_channel_close(vmig_channel_t *ch);
/* Close, and say whether the channel ended well: 0, or its first error
 * (also copied into err unless err already holds one or is NULL). For exec:
 * this first shuts the command's input and waits for it to exit, so a source
 * learns that `exec:gzip > f` failed. Other transports find no error while
 * closing and report what ch->err held. Suspends like close. */
int vmig_channel_close_status(vmig_channel_t *ch, vmig_error_t *err);
const char *vmig_channel_kind(const vmig_channel_t *ch);

/* For implementations: fill the common part. */
void vmig_channel_init(vmig_channel_t *ch, const vmig_channel_ops_t *ops, uv_loop_t *loop,
                       const char *peer_fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- opening channels from URIs (QEMU's syntax) ---------------------------- */

typedef enum vmig_channel_dir {
    VMIG_CHANNEL_OUTGOING, /* the source: tcp/unix connect, exec: feeds stdin, file: create */
    VMIG_CHANNEL_INCOMING, /* the destination: exec: reads stdout, file: read; tcp/unix: use listen */
} vmig_channel_dir_t;

/* Open `tcp:HOST:PORT`, `unix:PATH`, `fd:N` (a descriptor number), `exec:CMD`
 * or `file:PATH` in direction dir. In a coroutine. INCOMING tcp:/unix: listen,
 * accept one connection and stop listening (QEMU's -incoming); use a listener
 * to learn the port first. HOST may be a name, an IPv4 address or a bracketed
 * IPv6 address (`tcp:[::1]:4444`); options `,ipv4`/`,ipv6` restrict the family. */
int vmig_channel_open(uv_loop_t *loop, const char *uri, vmig_channel_dir_t dir,
                      vmig_channel_t **out, vmig_error_t *err);

/* The syntax of uri without opening anything: 0, -EPROTO for an unknown
 * scheme, -EINVAL (with the reason) for a bad address, port or empty part. */
int vmig_channel_check_uri(const char *uri, vmig_channel_dir_t dir, vmig_error_t *err);

/* Wrap an already open descriptor (socket, pipe or regular file); the channel
 * owns it from now on. name describes it in messages (NULL: "fd:N"). On
 * failure the descriptor stays open and the caller's. A pipe has no
 * shutdown(2): shutting one down stops a coroutine waiting on it (the read
 * ends, the write fails), but the peer only sees the end at close. */
int vmig_channel_from_fd(uv_loop_t *loop, int fd, const char *name, vmig_channel_t **out,
                         vmig_error_t *err);

typedef struct vmig_listener vmig_listener_t;

/* Listen on `tcp:HOST:PORT` (PORT 0 picks a free one) or `unix:PATH`. In a
 * coroutine. A unix socket is created with mode 0600; a stale socket file at
 * PATH is replaced, any other file is left alone (-EEXIST). */
int vmig_listener_open(uv_loop_t *loop, const char *uri, int backlog, vmig_listener_t **out,
                       vmig_error_t *err);
/* Wait for the next connection (in a coroutine; cancellable: -ECANCELED). */
int vmig_listener_accept(vmig_listener_t *l, vmig_channel_t **out, vmig_error_t *err);
/* The address actually bound, as a URI (`tcp:127.0.0.1:40123`, `unix:/p`). */
const char *vmig_listener_uri(const vmig_listener_t *l);
/* Stop listening (in a coroutine); a unix socket file is removed. */
void vmig_listener_close(vmig_listener_t *l);

/* ---- memory channels --------------------------------------------------------- */

/* Read from [buf, buf+len): copied if copy, else the caller keeps buf alive. */
vmig_channel_t *vmig_channel_memory_reader(const void *buf, size_t len, bool copy);
/* Collect everything written into a growing buffer. */
vmig_channel_t *vmig_channel_memory_writer(void);
/* The bytes a memory writer holds (valid until the next write or close). */
const uint8_t *vmig_channel_memory_data(const vmig_channel_t *ch, size_t *len);

#endif
