/* error.c — the error table's names and messages, and the first-error object. */
#include "vmig/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vmig_err_name(int code)
{
    switch (-code) {
#define XX(e, msg) case e: return #e;
        VMIG_ERRNO_MAP(XX)
#undef XX
    default:
        return "EUNKNOWN";
    }
}

const char *vmig_strerror(int code)
{
    switch (-code) {
#define XX(e, msg) case e: return msg;
        VMIG_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

int vmig_error_set(vmig_error_t *e, int code, const char *fmt, ...)
{
    if (code >= 0)
        code = -EIO;
    if (!e)
        return code;
    if (e->code)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

int vmig_error_propagate(vmig_error_t *dst, const vmig_error_t *src)
{
    if (!dst->code && src->code) {
        dst->code = src->code;
        memcpy(dst->msg, src->msg, sizeof(dst->msg));
    }
    return dst->code;
}

void vmig_error_clear(vmig_error_t *e)
{
    e->code = 0;
    e->msg[0] = '\0';
}
