/* fuzz_multifd_zstd.c — libFuzzer harness of the multifd zstd decoder: the
 * zlib harness (input format, invariants, seeds) run on the zstd method. */
#include "multifd/multifd_wire.h"

#define FZ_METHOD VMIG_MULTIFD_FLAG_ZSTD
#include "fuzz_multifd_zlib.c"
