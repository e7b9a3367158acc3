/* ram_send_work.h — one batch of the sender's CPU work for the pool: XBZRLE
 * encodes and zlib compressions of page snapshots. src/ram/ only. */
#ifndef VMIG_RAM_SEND_WORK_H
#define VMIG_RAM_SEND_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Pages of one batch: 64 pages of work are 50-150 us of encoding or
 * 1-3 ms of compression on a pool thread, and a few us of copies and
 * records on the loop. */
#define RAM_WORK_MAX 64u

typedef struct ram_work ram_work_t;

/* NULL on out of memory. */
ram_work_t *ram_work_new(void);
/* Frees it; also the co_release_fn of a cancelled co_work(). */
void ram_work_free(void *w);
/* Empties it for the next batch. */
void ram_work_clear(ram_work_t *w);
size_t ram_work_count(const ram_work_t *w);
/* No room for another page? */
bool ram_work_full(const ram_work_t *w);

/* Queue an XBZRLE encode of a snapshot of page against a copy of old (both
 * copied now, on the loop, so the pool thread touches only the batch and a
 * cancelled job never reads memory the migration has freed). Job index. */
size_t ram_work_add_xbzrle(ram_work_t *w, const void *old, const void *page);
/* Queue a compression of a snapshot of page at level (0..9). Job index. */
size_t ram_work_add_compress(ram_work_t *w, const void *page, int level);

/* co_work_fn: runs every job. Always 0: each job keeps its own result. */
int ram_work_run(void *w);

/* A job's result: the encoded/compressed length, or a negative errno
 * (-ENOSPC: XBZRLE overflow; other: compression failed). *out: its bytes. */
ssize_t ram_work_result(const ram_work_t *w, size_t job, const uint8_t **out);
/* The snapshot a job worked on (one target page). */
const uint8_t *ram_work_snapshot(const ram_work_t *w, size_t job);

#endif
