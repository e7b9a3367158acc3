/* channel_internal.h — what the transports of src/channel share: the
 * constructors the URI parser and fd: call, address parsing and messages. */
#ifndef VMIG_CHANNEL_INTERNAL_H
#define VMIG_CHANNEL_INTERNAL_H

#include "channel/channel.h"

#include <netdb.h>
#include <sys/socket.h>

/* Longest host and port accepted in a tcp: URI (NI_MAXHOST is 1025). */
#define CHAN_HOST_MAX 256
#define CHAN_PORT_MAX 8

/* The parts of `HOST:PORT[,opt...]` (what follows "tcp:"). */
typedef struct chan_inet {
    char host[CHAN_HOST_MAX]; /* without brackets; "" means any (listen) or loopback (connect) */
    char port[CHAN_PORT_MAX]; /* decimal, 0..65535 */
    int family;               /* AF_UNSPEC, or AF_INET/AF_INET6 from ",ipv4"/",ipv6" */
    bool numeric;             /* host is an IP address: no resolver needed */
} chan_inet_t;

/* Parse spec (the text after "tcp:"); uri names the whole URI in messages.
 * listening allows port 0. 0 or -EINVAL with a message in err. */
int chan_parse_inet(const char *spec, const char *uri, bool listening, chan_inet_t *out,
                    vmig_error_t *err);

/* Resolve in into a list of addresses (free with uv_freeaddrinfo()). In a
 * coroutine the resolver runs on libuv's pool and only the caller waits
 * (cancellable: -ECANCELED); outside one it blocks, which only setup code
 * without a running loop should rely on. */
int chan_resolve(uv_loop_t *loop, const chan_inet_t *in, bool passive, struct addrinfo **res,
                 vmig_error_t *err);

/* "127.0.0.1:4444" or "[::1]:4444"; "?" for an unknown family. */
void chan_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/* The URI a listening tcp socket is reachable at ("tcp:127.0.0.1:40123",
 * the real port after port 0), from its bound address; when that cannot be
 * read (fd < 0 or getsockname fails), from what was asked for. */
void chan_listen_uri(int fd, const chan_inet_t *in, char *buf, size_t len);

/* Before binding a listening unix socket at path: the path is not empty and
 * fits sun_path, and a socket file left by an earlier run is removed (as QEMU
 * does); any other file there is refused (-EEXIST), never removed. */
int chan_unix_listen_prepare(const char *uri, const char *path, vmig_error_t *err);

/* The text of a negative errno or UV_E* code: glibc's for errno values
 * ("No such file or directory"), libuv's for resolver codes. */
const char *chan_strerror(int code, char *buf, size_t len);

/* Map a code that is not an errno value (UV_EAI_*) onto one; others unchanged. */
int chan_errno(int code);

/* Fail when the caller is not a coroutine (every call here that may wait
 * checks this instead of letting the runtime abort). */
int chan_need_coroutine(const char *what, vmig_error_t *err);

/* channel_socket.c: connect to in (already parsed), or to a unix socket. */
int chan_tcp_connect(uv_loop_t *loop, const chan_inet_t *in, vmig_channel_t **out,
                     vmig_error_t *err);
int chan_unix_connect(uv_loop_t *loop, const char *path, vmig_channel_t **out, vmig_error_t *err);

/* channel_socket.c: a channel over an open stream descriptor. tcp: uv_tcp_t,
 * else uv_pipe_t; is_socket says shutdown(2) works on it. On failure fd is
 * left open and still the caller's. */
int chan_stream_from_fd(uv_loop_t *loop, int fd, bool tcp, bool is_socket, const char *name,
                        vmig_channel_t **out, vmig_error_t *err);

/* channel_file.c: open path (OUTGOING creates/truncates, INCOMING reads), or
 * wrap an open regular file, reading/writing from its current offset as its
 * access mode allows. On failure fd is left open and still the caller's. */
int chan_file_open(uv_loop_t *loop, const char *path, vmig_channel_dir_t dir,
                   vmig_channel_t **out, vmig_error_t *err);
int chan_file_from_fd(uv_loop_t *loop, int fd, const char *name, vmig_channel_t **out,
                      vmig_error_t *err);

/* channel_exec.c: run /bin/sh -c cmd; OUTGOING writes its stdin (and reads its
 * stdout), INCOMING reads its stdout. */
int chan_exec_open(uv_loop_t *loop, const char *cmd, vmig_channel_dir_t dir,
                   vmig_channel_t **out, vmig_error_t *err);

#endif
