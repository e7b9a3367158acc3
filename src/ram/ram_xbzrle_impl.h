/* ram_xbzrle_impl.h — the XBZRLE encoder's implementations one by one, for
 * the tests that check them against each other and the benchmark that times
 * them; the engine calls only ram_xbzrle.h. */
#ifndef VMIG_RAM_XBZRLE_IMPL_H
#define VMIG_RAM_XBZRLE_IMPL_H

#include <stdbool.h>

#include "ram/ram_xbzrle.h"

/* Same contract as vmig_xbzrle_encode(). */
typedef int vmig_xbzrle_encode_fn(const uint8_t *old, const uint8_t *new, size_t len,
                                  uint8_t *dst, size_t dst_len);

struct vmig_xbzrle_impl {
    const char *name;               /* "scalar", "sse2", "avx2" */
    vmig_xbzrle_encode_fn *encode;
    bool (*usable)(void);           /* does this CPU (and OS) run it */
};

/* Every implementation compiled in, scalar (QEMU's word-at-a-time) first,
 * fastest last; *n gets the count. Check usable() before calling encode. */
const struct vmig_xbzrle_impl *vmig_xbzrle_impls(size_t *n);

/* The one vmig_xbzrle_encode() uses on this CPU. */
const struct vmig_xbzrle_impl *vmig_xbzrle_best(void);

#endif
