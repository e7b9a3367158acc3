/* ram_zero.h — zero-page detection for precopy: is a buffer all zero, and
 * which pages of a run are, at memory speed (SIMD chosen at run time). */
#ifndef VMIG_RAM_ZERO_H
#define VMIG_RAM_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when all len bytes at p are zero. len must be a multiple of 64 (0 is
 * allowed and gives true); p may have any alignment, page alignment is the
 * fast case. Stops at the first non-zero 64-byte block, so a typical data
 * page costs a cache line or two. Pure: safe on any thread (pool threads
 * scan, DESIGN.md). */
bool vmig_ram_is_zero(const void *p, size_t len);

/* Scans npages pages of page_size bytes (a non-zero multiple of 64) from base
 * and writes one bit per page into zero_bitmap: bit i (word i / 64, bit i % 64)
 * is set when page i is all zero and cleared otherwise. The bitmap holds at
 * least (npages + 63) / 64 words; bits past npages in the last word are left
 * as they were. Returns the number of zero pages. */
size_t vmig_ram_scan_zero(const void *base, size_t npages, size_t page_size,
                          uint64_t *zero_bitmap);

#endif
