/* ram_save.c — the source side of the "ram" handler (spec/ram.md §3-§5):
 * setup (block list), iterate (dirty pages under the limits), pending (with
 * a sync when little is left), complete (everything left) and cleanup. */
#include "ram/ram_internal.h"

#include <errno.h>
#include <unistd.h>

#include "ram/ram_send_work.h"

/* A failure met earlier where it could not be returned (pending), now
 * reported on the stream. */
static int pending_failure(vmig_ram_t *ram, vmig_stream_t *s)
{
    if (!ram->save_err.code)
        return 0;
    return vmig_stream_set_error(s, ram->save_err.code, "%s", ram->save_err.msg);
}

static int send_failed(vmig_stream_t *s, int r)
{
    if (r == -ECANCELED)
        return vmig_stream_set_error(s, r, "RAM migration cancelled");
    return vmig_stream_set_error(s, r, "sending RAM pages failed: %s", vmig_strerror(r));
}

int vmig__ram_save_setup(vmig_stream_t *s, void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (vmig_ram_busy(ram))
        return vmig_stream_set_error(s, -EBUSY, "RAM is already in use by another migration");
    ram->saving = true;
    ram->ignore_shared = vmig__ram_cap_ignore_shared(ram);
    ram->cur_block = NULL;
    ram->cur_page = 0;
    ram->last_sent = NULL;
    ram->xbzrle_enabled = false;
    ram->xb_resize = 0;
    vmig_error_clear(&ram->save_err);
    uint64_t ram_addr = 0;
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        b->ram_addr = ram_addr;
        ram_addr += b->length;
    }
    /* The sender's pool batches in flight; each call sets its depth
     * (compress-threads, or two for XBZRLE). */
    if (!ram->work_limit_ready) {
        co_work_limit_init(&ram->work_limit, 1);
        ram->work_limit_ready = true;
    }
    if (ram->opts.xbzrle) {
        /* The counters of the new migration stay (reset_counters zeroed
         * them): init would zero them again, so keep them across it. */
        vmig_xbzrle_stats_t st = ram->xb.st;
        int xr = vmig_xbzrle_cache_init(&ram->xb, ram->opts.xbzrle_cache_size, RAM_PAGE_SIZE);
        ram->xb.st = st;
        if (xr < 0) {
            ram->saving = false;
            return vmig_stream_set_error(s, xr, "Error creating cache: %s", vmig_strerror(xr));
        }
    }

    /* First sync before the block list, as QEMU: every page starts dirty. */
    vmig_error_t err = {0};
    int r = vmig__ram_dirty_setup(ram, &err);
    if (r == 0)
        r = vmig_ram_sync(ram, &err);
    if (r < 0)
        return vmig_stream_set_error(s, r, "%s", err.msg);

    uint64_t host_page = (uint64_t)sysconf(_SC_PAGESIZE);
    vmig_stream_put_be64(s, ram->total_all | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    for (vmig_ram_block_t *b = ram->head; b; b = b->next) {
        vmig_stream_put_u8(s, b->namelen);
        vmig_stream_put_buffer(s, b->name, b->namelen);
        vmig_stream_put_be64(s, b->length);
        if (ram->opts.postcopy_ram && b->page_size != host_page)
            vmig_stream_put_be64(s, b->page_size);
        /* The guest-physical base of the block's region: vmig's blocks are
         * not mapped into an address space, so 0 (as QEMU's -M none RAM). */
        if (ram->ignore_shared)
            vmig_stream_put_be64(s, 0);
    }
    r = vmig__ram_multifd_sync(ram, s);
    if (r < 0)
        return r;
    vmig_stream_put_be64(s, VMIG_RAM_SAVE_FLAG_EOS);
    return vmig_stream_error(s);
}

int vmig__ram_multifd_sync(vmig_ram_t *ram, vmig_stream_t *s)
{
    if (!ram->mf)
        return 0;
    int64_t n = ram->mf->send_sync(ram->mf->opaque);
    if (n < 0)
        return send_failed(s, (int)n);
    ram_count_multifd(ram, s, (uint64_t)n);
    return 0;
}

int vmig__ram_save_iterate(vmig_stream_t *s, void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (!ram->saving)
        return vmig_stream_set_error(s, -EINVAL, "RAM iterate before RAM setup");
    int r = pending_failure(ram, s);
    if (r < 0)
        return r;
    bool done = false;
    r = vmig__ram_send(ram, s, true, &done);
    if (r < 0)
        return send_failed(s, r);
    r = vmig__ram_multifd_sync(ram, s);
    if (r < 0)
        return r;
    vmig_stream_put_be64(s, VMIG_RAM_SAVE_FLAG_EOS);
    ram_count_bytes(ram, 8); /* QEMU counts an iteration's EOS, not setup's or completion's */
    r = vmig_stream_error(s);
    if (r < 0)
        return r;
    return done ? 1 : 0;
}

int vmig__ram_save_complete(vmig_stream_t *s, void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (!ram->saving)
        return vmig_stream_set_error(s, -EINVAL, "RAM completion before RAM setup");
    int r = pending_failure(ram, s);
    if (r < 0)
        return r;
    if (ram->phase != VMIG_RAM_PHASE_POSTCOPY) {
        vmig_error_t err = {0};
        r = vmig_ram_sync(ram, &err);
        if (r < 0)
            return vmig_stream_set_error(s, r, "%s", err.msg);
    }
    bool done = false;
    r = vmig__ram_send(ram, s, false, &done);
    if (r < 0)
        return send_failed(s, r);
    r = vmig__ram_multifd_sync(ram, s);
    if (r < 0)
        return r;
    vmig_stream_put_be64(s, VMIG_RAM_SAVE_FLAG_EOS);
    return vmig_stream_error(s);
}

void vmig__ram_pending(void *opaque, uint64_t threshold, uint64_t *precopy_only,
                       uint64_t *compatible, uint64_t *postcopy_only)
{
    vmig_ram_t *ram = opaque;
    if (!ram->saving)
        return;
    uint64_t remaining = ram->dirty_pages * RAM_PAGE_SIZE;
    /* Close to the end: look at what the guest dirtied meanwhile before
     * deciding to stop it. */
    if (ram->phase != VMIG_RAM_PHASE_POSTCOPY && remaining < threshold && !ram->save_err.code) {
        int r = vmig_ram_sync(ram, &ram->save_err);
        /* This hook cannot fail: the next iterate or complete reports the
         * error, and a cancel consumed by a yield here is handed back so
         * the job's next wait still sees it. */
        if (r == -ECANCELED && co_in_coroutine())
            co_cancel(co_self());
        remaining = ram->dirty_pages * RAM_PAGE_SIZE;
    }
    if (ram->opts.postcopy_ram)
        *compatible += remaining;
    else
        *precopy_only += remaining;
}

void vmig__ram_save_cleanup(void *opaque)
{
    vmig_ram_t *ram = opaque;
    if (!ram->saving)
        return;
    vmig__ram_dirty_cleanup(ram);
    /* The size and counters stay for query-migrate; the storage goes. */
    vmig_xbzrle_cache_fini(&ram->xb);
    ram->xb_resize = 0;
    vmig__ram_send_fini(ram);
    ram->saving = false;
    ram->cur_block = NULL;
    ram->cur_page = 0;
    ram->last_sent = NULL;
}
