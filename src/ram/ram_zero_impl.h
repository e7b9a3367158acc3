/* ram_zero_impl.h — the zero detector's implementations one by one, for the
 * tests that check them against each other and the benchmark that times them;
 * the engine calls only ram_zero.h. */
#ifndef VMIG_RAM_ZERO_IMPL_H
#define VMIG_RAM_ZERO_IMPL_H

#include "ram/ram_zero.h"

/* Same contract as vmig_ram_is_zero(). */
typedef bool vmig_ram_zero_fn(const void *p, size_t len);

struct vmig_ram_zero_impl {
    const char *name;          /* "portable", "sse2", "avx2" */
    vmig_ram_zero_fn *is_zero;
    bool (*usable)(void);      /* does this CPU (and OS) run it */
};

/* Every implementation compiled in, portable first, fastest last; *n gets
 * the count. Callers must check usable() before calling is_zero. */
const struct vmig_ram_zero_impl *vmig_ram_zero_impls(size_t *n);

/* The one vmig_ram_is_zero() uses on this CPU. */
const struct vmig_ram_zero_impl *vmig_ram_zero_best(void);

/* vmig_ram_scan_zero() with a given implementation. */
size_t vmig_ram_scan_zero_with(vmig_ram_zero_fn *is_zero, const void *base, size_t npages,
                               size_t page_size, uint64_t *zero_bitmap);

#endif
