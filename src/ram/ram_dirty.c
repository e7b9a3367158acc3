/* ram_dirty.c — the migration bitmaps of an outgoing migration (spec/ram.md
 * §5): all pages dirty at setup, the sync that pulls every dirty log into
 * them, the dirty-page rate and auto-converge (§8). */
#include "ram/ram_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Words of bitmap handled between two looks at the clock: a few µs of work. */
#define DIRTY_WORDS_PER_CHECK 16384u
/* QEMU's period for the dirty rate and the auto-converge decision. */
#define DIRTY_PERIOD_MS 1000u
/* The throttle core's range (QEMU's CPU_THROTTLE_PCT_MIN / _MAX). */
#define THROTTLE_PCT_MIN 1
#define THROTTLE_PCT_MAX 99

uint64_t vmig__ram_now_ms(const vmig_ram_t *ram)
{
    return ram->clock ? ram->clock(ram->clock_opaque) : uv_hrtime() / 1000000u;
}

void vmig_ram_set_clock(vmig_ram_t *ram, uint64_t (*now_ms)(void *opaque), void *opaque)
{
    ram->clock = now_ms;
    ram->clock_opaque = now_ms ? opaque : NULL;
}

/* Yield every DIRTY_WORDS_PER_CHECK words once the slice is spent. */
static int words_check(vmig_ram_t *ram, size_t w)
{
    if ((w + 1) % DIRTY_WORDS_PER_CHECK != 0)
        return 0;
    return ram_slice_check(ram, uv_hrtime());
}

/* Every page of b dirty: the bits of pages past its end stay clear, so
 * popcounts and scans never see them. */
static int fill_all_dirty(vmig_ram_t *ram, vmig_ram_block_t *b)
{
    size_t full = (size_t)(b->npages / 64);
    for (size_t w = 0; w < full; w += DIRTY_WORDS_PER_CHECK) {
        size_t n = full - w < DIRTY_WORDS_PER_CHECK ? full - w : DIRTY_WORDS_PER_CHECK;
        memset(b->bmap + w, 0xff, n * sizeof(uint64_t));
        int r = ram_slice_check(ram, uv_hrtime());
        if (r < 0)
            return r;
    }
    if (b->npages % 64)
        b->bmap[full] = (UINT64_C(1) << (b->npages % 64)) - 1;
    return 0;
}

int vmig__ram_dirty_setup(vmig_ram_t *ram, vmig_error_t *err)
{
    ram->dirty_pages = 0;
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        if (ram_block_ignored(ram, b))
            continue;
        b->bmap = malloc(b->nwords * sizeof(uint64_t));
        if (b->log_ops)
            b->scratch = malloc(b->nwords * sizeof(uint64_t));
        if (!b->bmap || (b->log_ops && !b->scratch))
            return vmig_error_set(err, -ENOMEM, "out of memory for the dirty bitmap of %s",
                                  b->name);
        int r = fill_all_dirty(ram, b);
        if (r < 0)
            return vmig_error_set(err, r, "migration setup: %s", vmig_strerror(r));
        ram->dirty_pages += b->npages;
    }
    /* Logs start after the bitmaps are ready: from here on a write is either
     * before the first sync (the page is dirty anyway) or in a log. */
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        if (ram_block_ignored(ram, b))
            continue;
        if (!b->log_ops) {
            atomic_store_explicit(&b->logging, true, memory_order_relaxed);
            continue;
        }
        if (b->log_ops->start) {
            int r = b->log_ops->start(b->log_opaque, b);
            if (r < 0)
                return vmig_error_set(err, r, "starting the dirty log of RAM block %s failed: %s",
                                      b->name, vmig_strerror(r));
        }
        b->log_started = true;
    }
    ram->period_start_ms = vmig__ram_now_ms(ram);
    ram->dirty_period = 0;
    ram->xfer_prev = ram->c.transferred;
    ram->high_cnt = 0;
    return 0;
}

void vmig__ram_dirty_cleanup(vmig_ram_t *ram)
{
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        atomic_store_explicit(&b->logging, false, memory_order_relaxed);
        if (b->log_started) {
            b->log_started = false;
            if (b->log_ops->stop)
                b->log_ops->stop(b->log_opaque, b);
        }
        free(b->bmap);
        free(b->scratch);
        b->bmap = NULL;
        b->scratch = NULL;
    }
    /* Throttling ends with the migration, whatever the outcome. */
    if (ram->throttle_pct) {
        ram->throttle_pct = 0;
        if (ram->opts.set_throttle)
            ram->opts.set_throttle(ram->opts.throttle_opaque, 0);
    }
}

/* One word of the engine's own log, taken (exchanged with 0). A plain load
 * first keeps the locked exchange off clean words; acquire pairs with
 * mark_dirty's release: page contents read after this are at least as new
 * as the bit. */
static inline uint64_t take_own(vmig_ram_block_t *b, size_t w)
{
    if (!atomic_load_explicit(&b->log[w], memory_order_relaxed))
        return 0;
    return atomic_exchange_explicit(&b->log[w], 0, memory_order_acquire);
}

/* OR a log into b's migration bitmap, counting the pages that were clean
 * into *fresh: src (the embedder's scratch bitmap), or NULL for the engine's
 * own log. */
static int merge(vmig_ram_t *ram, vmig_ram_block_t *b, const uint64_t *src, uint64_t *fresh)
{
    uint64_t *bm = b->bmap;
    uint64_t n = 0;
    for (size_t w = 0; w < b->nwords; w++) {
        uint64_t v = src ? src[w] : take_own(b, w);
        if (v) {
            n += (uint64_t)__builtin_popcountll(v & ~bm[w]);
            bm[w] |= v;
        }
        int r = words_check(ram, w);
        if (r < 0) {
            *fresh += n;
            return r;
        }
    }
    *fresh += n;
    return 0;
}

/* The embedder's log: it ORs into a cleared scratch bitmap, which is merged.
 * Bits past the block's end are dropped, whatever it wrote there. */
static int sync_ops(vmig_ram_t *ram, vmig_ram_block_t *b, uint64_t *fresh, vmig_error_t *err)
{
    memset(b->scratch, 0, b->nwords * sizeof(uint64_t));
    int r = b->log_ops->sync ? b->log_ops->sync(b->log_opaque, b, b->scratch, b->npages) : 0;
    if (r < 0)
        return vmig_error_set(err, r, "dirty log sync of RAM block %s failed: %s", b->name,
                              vmig_strerror(r));
    if (b->npages % 64)
        b->scratch[b->nwords - 1] &= (UINT64_C(1) << (b->npages % 64)) - 1;
    return merge(ram, b, b->scratch, fresh);
}

/* QEMU's mig_throttle_guest_down(): start at the initial percentage, then
 * step up by the increment (or, tail-slow, by what would bring the dirty
 * rate down to the threshold), capped at the maximum. */
static void throttle_down(vmig_ram_t *ram, uint64_t dirty, uint64_t threshold)
{
    const vmig_ram_save_opts_t *o = &ram->opts;
    int64_t now = ram->throttle_pct;
    int64_t next;
    if (now == 0) {
        next = o->cpu_throttle_initial;
    } else {
        uint64_t inc = o->cpu_throttle_increment;
        if (o->cpu_throttle_tailslow) {
            uint64_t cpu_now = (uint64_t)(100 - now);
            /* In floating point as QEMU does, so the truncation matches. */
            uint64_t cpu_ideal = (uint64_t)((double)cpu_now * ((double)threshold / (double)dirty));
            uint64_t want = cpu_now > cpu_ideal ? cpu_now - cpu_ideal : 0;
            inc = want < inc ? want : inc;
        }
        next = now + (int64_t)inc;
        if (next > (int64_t)o->max_cpu_throttle)
            next = o->max_cpu_throttle;
    }
    if (next > THROTTLE_PCT_MAX)
        next = THROTTLE_PCT_MAX;
    if (next < THROTTLE_PCT_MIN)
        next = THROTTLE_PCT_MIN;
    ram->throttle_pct = (int)next;
    if (o->set_throttle)
        o->set_throttle(o->throttle_opaque, (int)next);
}

/* QEMU 7.2's compression rates at the end of a rate period: busy per page
 * handled, and uncompressed over compressed bytes (kept while nothing was
 * compressed). Nothing changes in a period without pages. */
static void compress_rates(vmig_ram_compress_stats_t *st, uint64_t target_pages)
{
    uint64_t handled = target_pages - st->target_prev;
    st->target_prev = target_pages;
    if (handled == 0)
        return;
    st->busy_rate = (double)(st->busy - st->busy_prev) / (double)handled;
    st->busy_prev = st->busy;
    uint64_t size = st->compressed_size - st->size_prev;
    if (size) {
        st->compression_rate =
            (double)(st->pages - st->pages_prev) * (double)RAM_PAGE_SIZE / (double)size;
        st->pages_prev = st->pages;
        st->size_prev = st->compressed_size;
    }
}

/* QEMU's migration_trigger_throttle(): throttle when, twice (not
 * necessarily in a row), a period dirtied more than the trigger threshold
 * (a percentage of what was sent in it). */
static void trigger_throttle(vmig_ram_t *ram)
{
    const vmig_ram_save_opts_t *o = &ram->opts;
    uint64_t xfer = ram->c.transferred - ram->xfer_prev;
    uint64_t dirty = ram->dirty_period * RAM_PAGE_SIZE;
    uint64_t threshold = xfer * o->throttle_trigger_threshold / 100;
    if (!o->auto_converge)
        return;
    if (dirty > threshold && ++ram->high_cnt >= 2) {
        ram->high_cnt = 0;
        throttle_down(ram, dirty, threshold);
    }
}

int vmig_ram_sync(vmig_ram_t *ram, vmig_error_t *err)
{
    if (!ram->saving)
        return vmig_error_set(err, -EINVAL, "no outgoing RAM migration");
    ram->c.dirty_sync_count++;
    uint64_t fresh = 0;
    int r = 0;
    for (vmig_ram_block_t *b = ram->head; b && r == 0; b = b->next) {
        if (ram_block_ignored(ram, b) || !b->bmap)
            continue;
        r = b->log ? merge(ram, b, NULL, &fresh) : sync_ops(ram, b, &fresh, err);
    }
    /* Count what was merged even when cut short: the bitmap holds it. */
    ram->dirty_pages += fresh;
    ram->dirty_period += fresh;
    if (r < 0)
        return vmig_error_set(err, r, "dirty bitmap sync: %s", vmig_strerror(r));

    uint64_t now = vmig__ram_now_ms(ram);
    if (now >= ram->period_start_ms + DIRTY_PERIOD_MS) {
        trigger_throttle(ram);
        ram->c.dirty_pages_rate = ram->dirty_period * 1000u / (now - ram->period_start_ms);
        if (ram->opts.xbzrle)
            vmig_xbzrle_cache_update_rates(&ram->xb, ram->target_pages);
        if (ram->opts.compress)
            compress_rates(&ram->comp, ram->target_pages);
        ram->period_start_ms = now;
        ram->dirty_period = 0;
        ram->xfer_prev = ram->c.transferred;
    }
    return 0;
}
