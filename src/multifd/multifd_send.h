/* multifd_send.h — the source's multifd channels (spec/multifd.md): normal
 * pages batched into packets on the loop, one coroutine per channel writing
 * them (compressed on the pool), a SYNC on every channel before each RAM EOS. */
#ifndef VMIG_MULTIFD_SEND_H
#define VMIG_MULTIFD_SEND_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "channel/channel.h"
#include "vmig/error.h"
#include "vmig/ram.h"

/*
 * Rules
 * - Everything runs in coroutines on one loop: the migration coroutine calls
 *   queue_page/sync; each channel has its own coroutine. The loop never waits
 *   for the pool: a channel coroutine waits for its packet's compression.
 * - Back-pressure: queue_page suspends the caller while every channel still
 *   has a packet to write (QEMU's "wait for a free channel").
 * - Pages are read from guest memory when the packet is written (none) or
 *   compressed (zlib, zstd), as QEMU does: a page the guest changes meanwhile
 *   is dirty again and sent again after the next SYNC.
 * - Failure: the first error of any channel (with its message) fails every
 *   later call; shutdown() stops every channel at once (cancel, yank).
 * - free() waits for the channel coroutines, so no pool job reads guest
 *   memory after it returns.
 */

typedef struct vmig_multifd_send vmig_multifd_send_t;

typedef struct vmig_multifd_send_opts {
    unsigned channels; /* multifd-channels, 1..255 */
    uint32_t method;   /* VMIG_MULTIFD_FLAG_NOCOMP, _ZLIB or _ZSTD */
    int level;         /* multifd-zlib-level or multifd-zstd-level */
    uint8_t uuid[16];  /* the VM's UUID, zero without one */
    /* Called on each new connection before its initial packet (TLS): may
     * replace *ch; on failure *ch is NULL or still to be closed. NULL: none. */
    int (*wrap)(void *opaque, vmig_channel_t **ch, vmig_error_t *err);
    void *wrap_opaque; /* its first argument */
} vmig_multifd_send_opts_t;

/* Connects opts->channels channels to uri (tcp: or unix:, the main channel's
 * address) and writes their initial packets; in a coroutine. 0, or a
 * negative errno with the message in err (nothing left open). */
int vmig_multifd_send_new(uv_loop_t *loop, const char *uri, const vmig_multifd_send_opts_t *opts,
                          vmig_multifd_send_t **out, vmig_error_t *err);

/* A normal page at offset of block: into the packet being filled; a full
 * packet, or a page of another block, hands the packet to the next free
 * channel. The bytes handed over by this call (header + pages), or a
 * negative errno. */
int64_t vmig_multifd_send_page(vmig_multifd_send_t *s, vmig_ram_block_t *block, uint64_t offset);

/* The packet being filled, then a SYNC packet on every channel; returns once
 * all are written. Bytes handed over, or a negative errno. */
int64_t vmig_multifd_send_sync(vmig_multifd_send_t *s);

/* The first error (code 0 while none). */
const vmig_error_t *vmig_multifd_send_error(const vmig_multifd_send_t *s);

/* Stop: shut every channel down, fail every later call (code: the error to
 * keep if none is kept yet, e.g. -ECANCELED). Never suspends. */
void vmig_multifd_send_shutdown(vmig_multifd_send_t *s, int code);

/* Ends the channel coroutines (after a final SYNC they are idle; otherwise
 * call shutdown first), closes the channels and frees s. In a coroutine. */
void vmig_multifd_send_free(vmig_multifd_send_t *s);

#endif
