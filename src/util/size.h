/* size.h — parse sizes as the tools take them: "4096", "64K", "64M", "1G". */
#ifndef VMIG_UTIL_SIZE_H
#define VMIG_UTIL_SIZE_H

#include <stdint.h>

/* Parse a decimal count with an optional binary suffix (K, M, G, T, P, E,
 * either case; a trailing "B"/"iB" is allowed: "64MiB") into *out. A bare
 * number counts in units of bare_unit (1 for bytes; QEMU's -m takes MiB).
 * 0, or -EINVAL (not a size) / -ERANGE (does not fit 64 bits). */
int vmig_parse_size(const char *s, uint64_t bare_unit, uint64_t *out);

#endif
