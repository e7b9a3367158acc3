/* ram_load_batch.c — COMPRESS_PAGE payloads inflated on a pool thread into
 * the batch's own pages: the pool never writes guest memory, so a job
 * orphaned by a cancel touches only the batch it frees. */
#include "ram/ram_load_batch.h"

#include <stdlib.h>
#include <string.h>

#include "ram/ram_compress.h"
#include "ram/ram_wire.h"
#include "util/pool_yield.h"

#define PAGE VMIG_RAM_TARGET_PAGE_SIZE

typedef struct entry {
    uint8_t *host;  /* destination page in guest memory (copied on the loop) */
    void *tag;      /* the caller's (its block) */
    uint32_t len;   /* payload bytes */
    int r;          /* inflate result */
    char msg[64];   /* its message on failure */
} entry_t;

struct ram_load_batch {
    size_t n;                 /* payloads queued */
    const uint8_t *lo, *hi;   /* lowest and highest destination page queued */
    entry_t e[RAM_LOAD_BATCH_MAX];
    uint8_t in[RAM_LOAD_BATCH_MAX][VMIG_COMPRESS_BOUND_4K]; /* payloads */
    uint8_t out[RAM_LOAD_BATCH_MAX][PAGE];                  /* inflated pages */
};

ram_load_batch_t *ram_load_batch_new(void)
{
    return calloc(1, sizeof(ram_load_batch_t));
}

void ram_load_batch_free(void *batch)
{
    free(batch);
}

void ram_load_batch_clear(ram_load_batch_t *lb)
{
    lb->n = 0;
}

size_t ram_load_batch_count(const ram_load_batch_t *lb)
{
    return lb->n;
}

bool ram_load_batch_full(const ram_load_batch_t *lb)
{
    return lb->n >= RAM_LOAD_BATCH_MAX;
}

bool ram_load_batch_has(const ram_load_batch_t *lb, const uint8_t *host)
{
    /* Asked for every page loaded while batches are out: the range answers
     * most of them (a stream's pages mostly ascend). */
    if (!lb->n || host < lb->lo || host > lb->hi)
        return false;
    for (size_t i = 0; i < lb->n; i++)
        if (lb->e[i].host == host)
            return true;
    return false;
}

uint8_t *ram_load_batch_slot(ram_load_batch_t *lb)
{
    return lb->in[lb->n];
}

void ram_load_batch_commit(ram_load_batch_t *lb, uint8_t *host, uint32_t len, void *tag)
{
    if (!lb->n || host < lb->lo)
        lb->lo = host;
    if (!lb->n || host > lb->hi)
        lb->hi = host;
    lb->e[lb->n++] = (entry_t){ .host = host, .tag = tag, .len = len };
}

int ram_load_batch_run(void *batch)
{
    ram_load_batch_t *lb = batch;
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < lb->n; i++) {
        vmig_pool_yield(&yield_ns);
        entry_t *e = &lb->e[i];
        e->r = vmig_decompress_page_msg(lb->in[i], e->len, lb->out[i], PAGE, e->msg,
                                        sizeof(e->msg));
    }
    return 0;
}

int ram_load_batch_result(const ram_load_batch_t *lb, size_t i, uint8_t **host,
                          const uint8_t **page, const char **msg, void **tag)
{
    const entry_t *e = &lb->e[i];
    *host = e->host;
    *page = lb->out[i];
    *msg = e->msg;
    *tag = e->tag;
    return e->r;
}
