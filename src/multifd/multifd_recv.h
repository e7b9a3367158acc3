/* multifd_recv.h — the destination's multifd channels (spec/multifd.md): one
 * coroutine per channel reading packets into guest memory (decompressed on
 * the pool), stopping at each SYNC until the RAM loader reaches its EOS. */
#ifndef VMIG_MULTIFD_RECV_H
#define VMIG_MULTIFD_RECV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ram/ram.h"
#include "vmig/error.h"

/*
 * Rules
 * - The incoming job accepts the main connection first, then hands every
 *   later one to add() until complete() (QEMU 7.2's order, §2).
 * - Every header, block name, offset and length is checked before a byte
 *   lands in guest memory; nothing is written outside the blocks.
 * - A channel's failure is kept (first error wins) and reported through
 *   on_error, so the job can stop its main stream too; sync() then fails.
 * - free() waits for the channel coroutines (a decompression in flight
 *   finishes first); call shutdown() first unless every source channel has
 *   closed.
 */

typedef struct vmig_multifd_recv vmig_multifd_recv_t;

typedef struct vmig_multifd_recv_opts {
    unsigned channels;     /* multifd-channels, 1..255 */
    uint32_t method;       /* VMIG_MULTIFD_FLAG_NOCOMP, _ZLIB or _ZSTD */
    const uint8_t *uuid;   /* 16 bytes to check the source's against, NULL: no check */
    void (*on_error)(void *opaque); /* a channel failed (called once) */
    void *opaque;          /* its argument */
} vmig_multifd_recv_opts_t;

int vmig_multifd_recv_new(uv_loop_t *loop, vmig_ram_t *ram, const vmig_multifd_recv_opts_t *opts,
                          vmig_multifd_recv_t **out);
/* A new connection: reads and checks its initial packet, then starts
 * reading its packets. Takes ch (closed on failure). In a coroutine. 0, or
 * a negative errno with QEMU's message in err. */
int vmig_multifd_recv_add(vmig_multifd_recv_t *r, vmig_channel_t *ch, vmig_error_t *err);
/* Have all channels arrived? */
bool vmig_multifd_recv_complete(const vmig_multifd_recv_t *r);
/* At a RAM EOS: wait until every channel has reached a SYNC, then let them
 * go on. 0 or the first error (message in err). */
int vmig_multifd_recv_sync(vmig_multifd_recv_t *r, vmig_error_t *err);
const vmig_error_t *vmig_multifd_recv_error(const vmig_multifd_recv_t *r);
/* Stop every channel (reads end); code < 0 is kept as the error if none
 * is yet. Never suspends. */
void vmig_multifd_recv_shutdown(vmig_multifd_recv_t *r, int code);
/* Joins the channel coroutines, closes the channels, frees r. In a coroutine. */
void vmig_multifd_recv_free(vmig_multifd_recv_t *r);

#endif
