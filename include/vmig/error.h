/* error.h — vmig's error codes and the error object that keeps the first
 * error of an operation with a human message (what QMP reports). */
#ifndef VMIG_ERROR_H
#define VMIG_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every error vmig returns is a negative errno value from this table; the
 * message is the generic text, operations add their own context. */
#define VMIG_ERRNO_MAP(XX)                                        \
    XX(EPERM, "operation not permitted")                          \
    XX(ENOENT, "no such file, device or section")                 \
    XX(EIO, "input/output error")                                 \
    XX(EBADF, "bad file descriptor")                              \
    XX(EAGAIN, "resource temporarily unavailable")                \
    XX(ENOMEM, "out of memory")                                   \
    XX(EACCES, "permission denied")                               \
    XX(EBUSY, "resource busy")                                    \
    XX(EEXIST, "already exists")                                  \
    XX(EINVAL, "invalid argument")                                \
    XX(ENOSPC, "no space left")                                   \
    XX(EPIPE, "broken pipe")                                      \
    XX(ERANGE, "value out of range")                              \
    XX(ENOSYS, "not implemented")                                 \
    XX(ENODATA, "stream ended early")                             \
    XX(EPROTO, "protocol error")                                  \
    XX(EBADMSG, "malformed data")                                 \
    XX(EOVERFLOW, "value too large")                              \
    XX(EMSGSIZE, "message too long")                              \
    XX(ENOTSUP, "not supported")                                  \
    XX(EADDRINUSE, "address already in use")                      \
    XX(EADDRNOTAVAIL, "address not available")                    \
    XX(ENETUNREACH, "network unreachable")                        \
    XX(ECONNABORTED, "connection aborted")                        \
    XX(ECONNRESET, "connection reset by peer")                    \
    XX(ENOTCONN, "not connected")                                 \
    XX(ETIMEDOUT, "timed out")                                    \
    XX(ECONNREFUSED, "connection refused")                        \
    XX(EHOSTUNREACH, "host unreachable")                          \
    XX(ECANCELED, "cancelled")

/* Name of a (negative) error code, e.g. "EINVAL"; "EUNKNOWN" if not in the table. */
const char *vmig_err_name(int code);
/* Generic message of a (negative) error code. */
const char *vmig_strerror(int code);

#define VMIG_ERROR_MSG_MAX 256

/* The first error of an operation: later errors never overwrite it. */
typedef struct vmig_error {
    int code;                      /* negative errno value, 0 = no error */
    char msg[VMIG_ERROR_MSG_MAX];  /* human message, NUL-terminated */
} vmig_error_t;

/* Record an error unless one is already kept; returns code (negative) either
 * way so callers can `return vmig_error_set(...)`. A code >= 0 becomes -EIO. */
int vmig_error_set(vmig_error_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copy src into dst unless dst already has an error; returns dst->code. */
int vmig_error_propagate(vmig_error_t *dst, const vmig_error_t *src);
void vmig_error_clear(vmig_error_t *e);

#ifdef __cplusplus
}
#endif
#endif
