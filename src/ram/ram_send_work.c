/* ram_send_work.c — the sender's pool batch: snapshots taken on the loop,
 * XBZRLE encodes and zlib compressions done on a pool thread. */
#include "ram/ram_send_work.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ram/ram_compress.h"
#include "ram/ram_wire.h"
#include "ram/ram_xbzrle.h"
#include "util/pool_yield.h"

#define PAGE VMIG_RAM_TARGET_PAGE_SIZE
/* Output slot: compressBound(page) rounded up; XBZRLE uses one page of it
 * (its overflow rule is about a one-page output, spec/xbzrle.md §3). */
#define OUT_CAP (2u * PAGE)

typedef enum { JOB_XBZRLE, JOB_COMPRESS } job_kind_t;

typedef struct job {
    job_kind_t kind;
    int level;   /* compress: zlib level */
    ssize_t len; /* result */
} job_t;

struct ram_work {
    size_t n;                  /* jobs queued */
    vmig_compress_ctx_t ctx;   /* deflate state, reused while the level stays */
    job_t jobs[RAM_WORK_MAX];
    /* Per job: old copy, snapshot, output; page aligned for the encoder's
     * word compares. */
    uint8_t *slab;
};

#define SLOT (2u * PAGE + OUT_CAP)

ram_work_t *ram_work_new(void)
{
    ram_work_t *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->slab = aligned_alloc(PAGE, (size_t)RAM_WORK_MAX * SLOT);
    if (!w->slab) {
        free(w);
        return NULL;
    }
    return w;
}

void ram_work_free(void *arg)
{
    ram_work_t *w = arg;
    if (!w)
        return;
    vmig_compress_ctx_fini(&w->ctx);
    free(w->slab);
    free(w);
}

void ram_work_clear(ram_work_t *w)
{
    w->n = 0;
}

size_t ram_work_count(const ram_work_t *w)
{
    return w->n;
}

bool ram_work_full(const ram_work_t *w)
{
    return w->n >= RAM_WORK_MAX;
}

static uint8_t *slot_old(const ram_work_t *w, size_t i)
{
    return w->slab + i * SLOT;
}

static uint8_t *slot_new(const ram_work_t *w, size_t i)
{
    return w->slab + i * SLOT + PAGE;
}

static uint8_t *slot_out(const ram_work_t *w, size_t i)
{
    return w->slab + i * SLOT + 2u * PAGE;
}

size_t ram_work_add_xbzrle(ram_work_t *w, const void *old, const void *page)
{
    size_t i = w->n++;
    memcpy(slot_old(w, i), old, PAGE);
    memcpy(slot_new(w, i), page, PAGE);
    w->jobs[i] = (job_t){ .kind = JOB_XBZRLE };
    return i;
}

size_t ram_work_add_compress(ram_work_t *w, const void *page, int level)
{
    size_t i = w->n++;
    memcpy(slot_new(w, i), page, PAGE);
    w->jobs[i] = (job_t){ .kind = JOB_COMPRESS, .level = level };
    return i;
}

static ssize_t compress_one(ram_work_t *w, size_t i)
{
    const job_t *j = &w->jobs[i];
    /* One z_stream per batch, as each QEMU thread keeps one: re-made only
     * when compress-level changed. */
    if (!w->ctx.ready || w->ctx.level != j->level) {
        vmig_compress_ctx_fini(&w->ctx);
        int r = vmig_compress_ctx_init(&w->ctx, j->level);
        if (r < 0)
            return r;
    }
    return vmig_compress_page_ctx(&w->ctx, slot_new(w, i), PAGE, slot_out(w, i), OUT_CAP);
}

int ram_work_run(void *arg)
{
    ram_work_t *w = arg;
    uint64_t yield_ns = 0;
    for (size_t i = 0; i < w->n; i++) {
        vmig_pool_yield(&yield_ns);
        job_t *j = &w->jobs[i];
        if (j->kind == JOB_XBZRLE)
            j->len = vmig_xbzrle_encode(slot_old(w, i), slot_new(w, i), PAGE, slot_out(w, i), PAGE);
        else
            j->len = compress_one(w, i);
    }
    return 0;
}

ssize_t ram_work_result(const ram_work_t *w, size_t job, const uint8_t **out)
{
    *out = slot_out(w, job);
    return w->jobs[job].len;
}

const uint8_t *ram_work_snapshot(const ram_work_t *w, size_t job)
{
    return slot_new(w, job);
}
