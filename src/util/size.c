/* size.c — sizes with suffixes for the command line tools ("64M", "1G"). */
#include "util/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

int vmig_parse_size(const char *s, uint64_t bare_unit, uint64_t *out)
{
    if (!s || !out || !isdigit((unsigned char)*s))
        return -EINVAL;
    uint64_t n = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -ERANGE;
        n = n * 10 + d;
    }
    unsigned shift = 0;
    bool suffixed = false;
    if (*p) {
        const char *units = "KMGTPE";
        const char *u = strchr(units, toupper((unsigned char)*p));
        if (!u || !*u)
            return -EINVAL;
        shift = 10u * (unsigned)(u - units + 1);
        suffixed = true;
        p++;
        if (!strcmp(p, "iB") || !strcmp(p, "B"))
            p += strlen(p);
    }
    if (*p)
        return -EINVAL;
    uint64_t unit = suffixed ? (uint64_t)1 << shift : (bare_unit ? bare_unit : 1);
    if (unit && n > UINT64_MAX / unit)
        return -ERANGE;
    *out = n * unit;
    return 0;
}
