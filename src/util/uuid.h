/* uuid.h — a 16-byte UUID as QEMU prints it (8-4-4-4-12 lowercase hex), for
 * the configuration section, multifd's initial packet and vmig analyze. */
#ifndef VMIG_UTIL_UUID_H
#define VMIG_UTIL_UUID_H

#include <stdint.h>
#include <stdio.h>

#define VMIG_UUID_TEXT_LEN 37 /* 36 characters and the NUL */

static inline void vmig_uuid_format(const uint8_t u[16], char out[VMIG_UUID_TEXT_LEN])
{
    snprintf(out, VMIG_UUID_TEXT_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}

#endif
