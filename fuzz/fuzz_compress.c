/* fuzz_compress.c — libFuzzer harness of vmig_decompress_page() (src/ram/
 * ram_compress.c): any COMPRESS_PAGE payload is accepted or refused cleanly.
 *
 * The input is the payload itself (the be32 length is its size), inflated
 * into a heap page of exactly 4096 bytes so a write past it is an ASan error.
 * Checked on every input: the result is 0 or -EINVAL, the message is empty
 * exactly on success and NUL-terminated otherwise, and an accepted payload
 * re-inflates to the same page (the decompressor is deterministic).
 *
 * Seeds (fuzz/corpus/fuzz_compress/): qemu-l*-p* are real QEMU 7.2 payloads
 * (tests/ram/fixtures/), bad-* are broken ones (truncated, trailing byte,
 * half page, 1 MiB "zip bomb", gzip, empty). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ram/ram_compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { PAGE = 4096 };
    uint8_t *page = malloc(PAGE);
    uint8_t *again = malloc(PAGE);
    if (!page || !again)
        abort();
    char msg[128];
    int r = vmig_decompress_page_msg(data, size, page, PAGE, msg, sizeof msg);
    if (r != 0 && r != -EINVAL)
        abort();
    if (memchr(msg, '\0', sizeof msg) == NULL)
        abort();
    if ((r == 0) != (msg[0] == '\0'))
        abort();
    if (r == 0) {
        if (vmig_decompress_page(data, size, again, PAGE) != 0 || memcmp(page, again, PAGE) != 0)
            abort();
    }
    free(again);
    free(page);
    return 0;
}
