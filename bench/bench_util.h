/* bench_util.h — what the C benchmarks share: parsing their numeric options. */
#ifndef VMIG_BENCH_UTIL_H
#define VMIG_BENCH_UTIL_H

#include <stdlib.h>

/* A positive decimal count into *out: 0, or -1 for anything else. */
static inline int parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0)
        return -1;
    *out = v;
    return 0;
}

#endif
