/* qmp_client.h — a QMP client for tools, tests and benchmarks: connect to a
 * monitor (vmig's or QEMU's), negotiate, execute commands, collect events,
 * pass a file descriptor with a command. Runs in coroutines on a libuv loop. */
#ifndef VMIG_QMP_CLIENT_H
#define VMIG_QMP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "vmig/error.h"

/*
 * Rules
 * - Every call that talks to the server suspends only the calling coroutine;
 *   one coroutine at a time uses a client.
 * - Replies are matched to commands by "id" (the client numbers them); events
 *   that arrive meanwhile are kept, in order, for vmig_qmp_client_event().
 * - Messages are one JSON value per line, as QEMU and vmig send them ("\r\n"
 *   or "\n"); a line longer than max_message fails with -EMSGSIZE.
 * - Errors: a negative errno value and, in err, a message naming the server.
 *   The server closing the connection is -ENODATA; an "error" reply to
 *   vmig_qmp_client_call() is -EPROTO with "CLASS: desc" in err->msg.
 */

typedef struct vmig_qmp_client vmig_qmp_client_t;

typedef struct vmig_qmp_client_opts {
    bool no_negotiate;      /* stop after the greeting: no qmp_capabilities */
    bool oob;               /* ask for "oob" when negotiating */
    int64_t timeout_ms;     /* limit for connect and for each reply; 0: none */
    size_t max_message;     /* longest message accepted (0: 64 MiB) */
} vmig_qmp_client_opts_t;

/* Connect to `unix:PATH`, `tcp:HOST:PORT` or a plain socket path, read the
 * greeting and (unless opts say not to) negotiate. In a coroutine; opts may
 * be NULL. */
int vmig_qmp_client_connect(uv_loop_t *loop, const char *addr, const vmig_qmp_client_opts_t *opts,
                            vmig_qmp_client_t **out, vmig_error_t *err);

/* The greeting object ({"QMP": {...}}), owned by the client. */
const json_t *vmig_qmp_client_greeting(const vmig_qmp_client_t *c);

/* Send qmp_capabilities (with "enable": ["oob"] if oob): 0, or -EPROTO with
 * the server's error. */
int vmig_qmp_client_negotiate(vmig_qmp_client_t *c, bool oob, vmig_error_t *err);

/* Execute cmd with args (borrowed; NULL: none), passing fd (>= 0) with
 * SCM_RIGHTS on a unix socket, and wait for the reply carrying our id. 0 with
 * *reply the whole reply object ({"return"} or {"error"}, a new reference). */
int vmig_qmp_client_execute(vmig_qmp_client_t *c, const char *cmd, json_t *args, int fd,
                            json_t **reply, vmig_error_t *err);

/* The same, unwrapped: 0 with *ret the "return" value (new reference; may
 * be NULL if ret is NULL), or -EPROTO when the server answered "error". */
int vmig_qmp_client_call(vmig_qmp_client_t *c, const char *cmd, json_t *args, int fd,
                         json_t **ret, vmig_error_t *err);

/* The next event, oldest first: those that arrived during execute, then
 * waiting up to timeout_ms (negative: forever, 0: do not wait). 0 with
 * *event (new reference), -ETIMEDOUT, -ENODATA once the server has closed,
 * -ECANCELED if the coroutine is cancelled. */
int vmig_qmp_client_event(vmig_qmp_client_t *c, int64_t timeout_ms, json_t **event,
                          vmig_error_t *err);

/* Send raw bytes (for tests of malformed input), with fd if >= 0. */
int vmig_qmp_client_send_raw(vmig_qmp_client_t *c, const void *buf, size_t len, int fd,
                             vmig_error_t *err);
/* Receive the next message whatever it is (reply, event, greeting), waiting
 * up to timeout_ms (negative: forever). Kept events are not returned here. */
int vmig_qmp_client_recv(vmig_qmp_client_t *c, int64_t timeout_ms, json_t **msg,
                         vmig_error_t *err);

/* Close the connection and free the client (in a coroutine). */
void vmig_qmp_client_close(vmig_qmp_client_t *c);

#endif
