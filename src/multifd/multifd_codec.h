/* multifd_codec.h — the page compression of a multifd channel (spec/multifd.md
 * §7): one zlib or zstd stream per channel and direction that carries on
 * across packets, each packet ending at a flush point. Pure CPU work on
 * caller-owned buffers: safe to run on a pool thread. */
#ifndef VMIG_MULTIFD_CODEC_H
#define VMIG_MULTIFD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct vmig_multifd_codec vmig_multifd_codec_t;

/* The largest zstd window a decoder accepts (2^25 = 32 MiB): what zstd's
 * level 20, the highest multifd-zstd-level, uses (level 1, QEMU 7.2's only
 * one: 512 KiB). zstd's own default (2^27) would let each channel of a
 * hostile source claim 128 MiB of the destination's memory. */
#define VMIG_MULTIFD_ZSTD_WINDOW_LOG_MAX 25

/* method: VMIG_MULTIFD_FLAG_NOCOMP, _ZLIB or _ZSTD (multifd_wire.h); level:
 * multifd-zlib-level (0..9) or multifd-zstd-level (0..20), ignored for
 * NOCOMP and for a decoder. NULL on a bad argument or out of memory. */
vmig_multifd_codec_t *vmig_multifd_encoder_new(uint32_t method, int level);
vmig_multifd_codec_t *vmig_multifd_decoder_new(uint32_t method);
void vmig_multifd_codec_free(vmig_multifd_codec_t *c);
uint32_t vmig_multifd_codec_method(const vmig_multifd_codec_t *c);

/* Compresses n pages of page_size bytes (n >= 1) as the next part of the
 * channel's stream, the last page flushed (zlib Z_SYNC_FLUSH, zstd
 * ZSTD_e_flush) so the receiver can decode the packet on its own. Spends
 * CPU only where it buys bytes: a page that will not compress goes as
 * stored data (zlib stored blocks; zstd raw blocks), which any receiver
 * reads. Returns the bytes written to out (cap >= VMIG_MULTIFD_ZBUF_MAX is
 * always enough for a packet of at most VMIG_MULTIFD_PACKET_SIZE bytes of
 * pages), or -ENOSPC / -EIO (the stream is then unusable), -EINVAL for a
 * caller's mistake (n 0, no pages, a decoder). */
ssize_t vmig_multifd_encode(vmig_multifd_codec_t *c, const uint8_t *const *pages, size_t n,
                            size_t page_size, uint8_t *out, size_t cap);

/* Decodes one packet's payload (len bytes) into n pages of page_size bytes,
 * in order, writing nothing outside them (a page may be partly written
 * before an error is found). The output must be exactly n pages, the
 * payload used up: 0, or -EPROTO (bad data, the size mismatch included) /
 * -EIO with a message in msg that the caller prefixes with "multifd %u: "
 * (QEMU 7.2's text where it has one: "packet size received %u size
 * expected %u"). After an error the stream is unusable. n >= 1: a packet
 * without pages has no payload to decode. -EINVAL for a caller's mistake
 * (n 0, no pages, an encoder). */
int vmig_multifd_decode(vmig_multifd_codec_t *c, const uint8_t *in, size_t len,
                        uint8_t *const *pages, size_t n, size_t page_size, char *msg,
                        size_t msglen);

#endif
