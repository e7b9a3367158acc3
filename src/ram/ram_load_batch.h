/* ram_load_batch.h — COMPRESS_PAGE payloads of one section body gathered
 * for the pool: inflated there into the batch, copied into guest memory on
 * the loop in stream order. src/ram/ only. */
#ifndef VMIG_RAM_LOAD_BATCH_H
#define VMIG_RAM_LOAD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pages per pool job: 64 inflates are 0.5-2 ms of a pool thread, worth the
 * round trip (tens of us) many times over. */
#define RAM_LOAD_BATCH_MAX 64u

typedef struct ram_load_batch ram_load_batch_t;

/* NULL on out of memory. */
ram_load_batch_t *ram_load_batch_new(void);
/* Frees it; also the co_release_fn of a cancelled co_work(). */
void ram_load_batch_free(void *batch);
void ram_load_batch_clear(ram_load_batch_t *lb);
size_t ram_load_batch_count(const ram_load_batch_t *lb);
bool ram_load_batch_full(const ram_load_batch_t *lb);
/* Is host (a page) the target of a queued payload? */
bool ram_load_batch_has(const ram_load_batch_t *lb, const uint8_t *host);

/* Room for the next payload of len bytes (len <= VMIG_COMPRESS_BOUND_4K,
 * checked by the caller): where to read it. Then commit it for host. */
uint8_t *ram_load_batch_slot(ram_load_batch_t *lb);
void ram_load_batch_commit(ram_load_batch_t *lb, uint8_t *host, uint32_t len, void *tag);

/* co_work_fn: inflates every payload into the batch. Always 0. */
int ram_load_batch_run(void *batch);

/* Entry i after the run: 0 with *page (one target page to copy to *host),
 * or a negative errno with QEMU's message in *msg. *tag: what commit got. */
int ram_load_batch_result(const ram_load_batch_t *lb, size_t i, uint8_t **host,
                          const uint8_t **page, const char **msg, void **tag);

#endif
