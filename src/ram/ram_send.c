/* ram_send.c — the page sender of an outgoing migration (spec/ram.md §4): the
 * next dirty page from the cursor as a ZERO, XBZRLE, COMPRESS_PAGE or PAGE
 * record, until the rate limit, the time limit or nothing dirty says stop.
 * The engine's hot loop.
 *
 * XBZRLE encodes and compressions are CPU work for the pool: such pages are
 * snapshotted into a batch (ram_send_work.c) and, once a batch is in the
 * queue, every later page record waits in the queue too, so the records go
 * out in page order (the CONTINUE flags and a page sent twice in one call
 * stay right). One co_work() runs the batch, then the loop emits the queue.
 * The rate limit is looked at per page as before, so an iteration may end
 * at most one batch past its budget. */
#include "ram/ram_internal.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ram/ram_send_work.h"
#include "ram/ram_zero.h"

/* Headers and zero records gather here and go to the stream in one put:
 * a put per 9-byte record would cost more than finding the zero page. */
#define SEND_BATCH 4096u
/* Host pages sent between two looks at the clock (time limit, yield): 32
 * pages take 5-40 us, and under KVM reading the clock costs enough (10% of
 * a zero-page scan at 8) to be worth spacing. */
#define SEND_PAGES_PER_CHECK 32u
/* Clean bitmap words skipped between two looks at the clock. */
#define SEND_WORDS_PER_CHECK 16384u

/* A page record waiting behind a pool batch. */
typedef enum qkind {
    Q_ZERO,     /* ZERO record */
    Q_NORMAL,   /* PAGE record from guest memory */
    Q_COPY,     /* PAGE record from the XBZRLE cache copy (src) */
    Q_XBZRLE,   /* encoded on the pool: record, nothing or PAGE (overflow) */
    Q_COMPRESS, /* compressed on the pool: COMPRESS_PAGE, or PAGE on failure */
} qkind_t;

typedef struct qent {
    vmig_ram_block_t *b; /* block */
    uint64_t page;       /* page in b */
    uint8_t *src;        /* Q_COPY: the bytes; Q_XBZRLE: the cache copy */
    size_t job;          /* Q_XBZRLE, Q_COMPRESS: the batch's job */
    qkind_t kind;
} qent_t;

/* Queue room: every pool page, and the others between them. */
#define SEND_QUEUE (2u * RAM_WORK_MAX)

/* One call's state; on the caller's stack. */
typedef struct ram_sender {
    vmig_ram_t *ram;         /* the layer */
    vmig_stream_t *s;        /* where records go */
    bool limited;            /* iterate: the rate limit and the time limit apply */
    uint64_t deadline_ns;    /* iterate: uv_hrtime() after which it stops */
    size_t batch_max;        /* put the batch once it holds more than this */
    unsigned since_check;    /* host pages since the clock was last read */
    /* Zero state of the pages of one bitmap word, found one run of dirty
     * pages at a time with vmig_ram_scan_zero(). Valid for this call only:
     * a sync between a scan and the send could otherwise fold a new write
     * into a bit that the stale answer then clears. */
    const vmig_ram_block_t *zc_block; /* block of the cached word, or NULL */
    size_t zc_word;          /* index of the cached word */
    uint64_t zc_done;        /* pages of the word scanned */
    uint64_t zc_zero;        /* of those, the all-zero ones */
    bool last_stage;         /* completion: the XBZRLE cache is not updated */
    size_t qn;               /* entries in q */
    qent_t q[SEND_QUEUE];    /* records waiting for the pool batch, in page order */
    size_t blen;             /* bytes used in batch */
    uint8_t batch[SEND_BATCH]; /* records not yet put */
} ram_sender_t;

static void put_batch(ram_sender_t *c)
{
    if (c->blen) {
        vmig_stream_put_buffer(c->s, c->batch, c->blen);
        c->blen = 0;
    }
}

/* With a rate limit every record is put at once, so the limit sees it (QEMU
 * stops one page past the budget, no more). */
static void set_batch_max(ram_sender_t *c)
{
    c->batch_max = c->limited && vmig_stream_rate_limit(c->s) ? 0 : SEND_BATCH - RAM_REC_MAX;
}

/* Is page (a dirty page of b) all zero? Scans the run of dirty pages that
 * starts there within its bitmap word in one call. */
static inline bool page_is_zero(ram_sender_t *c, const vmig_ram_block_t *b, uint64_t page)
{
    size_t w = (size_t)(page >> 6);
    unsigned i = (unsigned)(page & 63);
    if (c->zc_block != b || c->zc_word != w) {
        c->zc_block = b;
        c->zc_word = w;
        c->zc_done = 0;
        c->zc_zero = 0;
    }
    uint64_t bit = UINT64_C(1) << i;
    if (!(c->zc_done & bit)) {
        uint64_t x = b->bmap[w] >> i; /* bit 0 set: page itself */
        unsigned run = ~x ? (unsigned)__builtin_ctzll(~x) : 64u;
        uint64_t z = 0;
        vmig_ram_scan_zero(b->host + (page << RAM_PAGE_BITS), run, RAM_PAGE_SIZE, &z);
        uint64_t m = run == 64 ? UINT64_MAX : (UINT64_C(1) << run) - 1;
        c->zc_done |= m << i;
        c->zc_zero = (c->zc_zero & ~(m << i)) | ((z & m) << i);
    }
    return (c->zc_zero & bit) != 0;
}

/* Append the record header of page to the batch: be64 offset | flag, plus
 * the idstr unless the block is the one of the previous header. */
static inline size_t put_header(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page,
                                unsigned flag)
{
    uint8_t *p = c->batch + c->blen;
    uint64_t word = (page << RAM_PAGE_BITS) | flag;
    bool cont = b == c->ram->last_sent;
    if (cont)
        word |= VMIG_RAM_SAVE_FLAG_CONTINUE;
    uint64_t be = htobe64(word);
    memcpy(p, &be, sizeof(be));
    size_t n = sizeof(be);
    if (!cont) {
        p[n++] = b->namelen;
        memcpy(p + n, b->name, b->namelen);
        n += b->namelen;
        c->ram->last_sent = b;
    }
    c->blen += n;
    return n;
}

/* Where the XBZRLE algorithm stands (spec/xbzrle.md §5). */
static vmig_xbzrle_round_t xb_round(const ram_sender_t *c)
{
    const vmig_ram_t *ram = c->ram;
    return (vmig_xbzrle_round_t){
        .gen = ram->c.dirty_sync_count,
        .first_round = !ram->xbzrle_enabled,
        .postcopy = ram->phase == VMIG_RAM_PHASE_POSTCOPY,
        .last_stage = c->last_stage,
    };
}

static void emit_zero(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page)
{
    vmig_ram_t *ram = c->ram;
    if (c->blen > SEND_BATCH - RAM_REC_MAX)
        put_batch(c);
    size_t n = put_header(c, b, page, VMIG_RAM_SAVE_FLAG_ZERO);
    c->batch[c->blen++] = 0; /* the fill byte */
    ram->c.duplicate++;
    ram_count_bytes(ram, n + 1);
    if (c->blen > c->batch_max)
        put_batch(c);
}

/* A PAGE record: from guest memory without a copy (src NULL), or a copy
 * of src (a cache copy or a snapshot the next batch overwrites). */
static void emit_normal(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, const uint8_t *src)
{
    vmig_ram_t *ram = c->ram;
    if (c->blen > SEND_BATCH - RAM_REC_MAX)
        put_batch(c);
    size_t n = put_header(c, b, page, VMIG_RAM_SAVE_FLAG_PAGE);
    put_batch(c);
    if (src)
        vmig_stream_put_buffer(c->s, src, RAM_PAGE_SIZE);
    else
        /* Straight from guest memory: a page the guest changes before the
         * flush goes out torn, but its dirty bit is set again and the page
         * is sent again (the VM is stopped for the last round). */
        vmig_stream_put_buffer_nocopy(c->s, b->host + (page << RAM_PAGE_BITS), RAM_PAGE_SIZE);
    ram->c.normal++;
    ram_count_bytes(ram, n + RAM_PAGE_SIZE);
}

/* A record with a length field after its header: XBZRLE (u8 0x01, be16)
 * or COMPRESS_PAGE (be32). Returns the record's size. */
static uint64_t emit_sized(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, unsigned flag,
                           const uint8_t *data, size_t len)
{
    if (c->blen > SEND_BATCH - RAM_REC_MAX - 4)
        put_batch(c);
    size_t n = put_header(c, b, page, flag);
    uint8_t *p = c->batch + c->blen;
    if (flag == VMIG_RAM_SAVE_FLAG_XBZRLE) {
        p[0] = VMIG_RAM_XBZRLE_ENCODING;
        p[1] = (uint8_t)(len >> 8);
        p[2] = (uint8_t)len;
        n += 3;
        c->blen += 3;
    } else {
        uint32_t be = htobe32((uint32_t)len);
        memcpy(p, &be, 4);
        n += 4;
        c->blen += 4;
    }
    put_batch(c);
    vmig_stream_put_buffer(c->s, data, len); /* copied: the batch is reused */
    ram_count_bytes(c->ram, n + len);
    return n + len;
}

static void emit_xbzrle(ram_sender_t *c, const qent_t *e)
{
    vmig_ram_t *ram = c->ram;
    vmig_xbzrle_round_t r = xb_round(c);
    const uint8_t *out;
    ssize_t len = ram_work_result(ram->work, e->job, &out);
    const uint8_t *snap = ram_work_snapshot(ram->work, e->job);
    if (len == 0) {
        vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, 0, 0, &r); /* unchanged: nothing */
        return;
    }
    if (len < 0) {
        /* Overflow (the only failure of a valid call): the page goes whole,
         * from the cache copy the destination must hold, or from the
         * snapshot in the last stage (the cache is not updated then). */
        vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, -1, 0, &r);
        emit_normal(c, e->b, e->page, r.last_stage ? snap : e->src);
        return;
    }
    uint64_t rec = emit_sized(c, e->b, e->page, VMIG_RAM_SAVE_FLAG_XBZRLE, out, (size_t)len);
    vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, (long)len, rec, &r);
}

static void emit_compressed(ram_sender_t *c, const qent_t *e)
{
    vmig_ram_t *ram = c->ram;
    const uint8_t *out;
    ssize_t len = ram_work_result(ram->work, e->job, &out);
    if (len < 0) {
        /* zlib could not get its state: the page goes whole. */
        emit_normal(c, e->b, e->page, ram_work_snapshot(ram->work, e->job));
        return;
    }
    uint64_t rec = emit_sized(c, e->b, e->page, VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE, out, (size_t)len);
    ram->comp.pages++;
    ram->comp.compressed_size += rec - 8; /* QEMU leaves the header word out */
}

/* Run the pool batch, then emit the queue in order. 0, -ECANCELED (the
 * batch then belongs to co_work's release) or co_work's error. */
static int flush_queue(ram_sender_t *c)
{
    vmig_ram_t *ram = c->ram;
    if (!c->qn)
        return 0;
    ram_work_t *w = ram->work;
    if (w && ram_work_count(w)) {
        put_batch(c);
        int r = co_in_coroutine() ? co_work(&ram->work_limit, ram_work_run, w, ram_work_free)
                                  : ram_work_run(w);
        if (r == -ECANCELED)
            ram->work = NULL;
        if (r < 0) {
            c->qn = 0;
            return r;
        }
        /* The loop ran while the pool worked. */
        ram->slice_start_ns = uv_hrtime();
    }
    for (size_t i = 0; i < c->qn; i++) {
        const qent_t *e = &c->q[i];
        switch (e->kind) {
        case Q_ZERO:
            emit_zero(c, e->b, e->page);
            break;
        case Q_NORMAL:
            emit_normal(c, e->b, e->page, NULL);
            break;
        case Q_COPY:
            emit_normal(c, e->b, e->page, e->src);
            break;
        case Q_XBZRLE:
            emit_xbzrle(c, e);
            break;
        case Q_COMPRESS:
            emit_compressed(c, e);
            break;
        }
    }
    c->qn = 0;
    if (w)
        ram_work_clear(w);
    return 0;
}

static bool queued(const ram_sender_t *c, const vmig_ram_block_t *b, uint64_t page)
{
    for (size_t i = 0; i < c->qn; i++)
        if (c->q[i].page == page && c->q[i].b == b)
            return true;
    return false;
}

/* Queue a record, or emit it now when nothing waits before it. */
static int push(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, qkind_t kind, uint8_t *src,
                size_t job)
{
    bool pool = kind == Q_XBZRLE || kind == Q_COMPRESS;
    if (!pool && c->qn == 0) {
        if (kind == Q_ZERO)
            emit_zero(c, b, page);
        else
            emit_normal(c, b, page, kind == Q_COPY ? src : NULL);
        return 0;
    }
    c->q[c->qn++] = (qent_t){ .b = b, .page = page, .src = src, .job = job, .kind = kind };
    if (c->qn == SEND_QUEUE || (c->ram->work && ram_work_full(c->ram->work)))
        return flush_queue(c);
    return 0;
}

/* The batch for pool pages, made on first use; NULL (pages go whole) when
 * memory runs out. */
static ram_work_t *work(vmig_ram_t *ram)
{
    if (!ram->work)
        ram->work = ram_work_new();
    return ram->work;
}

/* The block of the last record that will be on the wire before the next. */
static const vmig_ram_block_t *tail_block(const ram_sender_t *c)
{
    return c->qn ? c->q[c->qn - 1].b : c->ram->last_sent;
}

/* Send dirty page of b and clear its bit, in spec/ram.md §4's order: zero
 * check, compression (first round), XBZRLE (later rounds), normal page. */
static int send_page(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page)
{
    vmig_ram_t *ram = c->ram;
    bool zero = page_is_zero(c, b, page);
    b->bmap[page >> 6] &= ~(UINT64_C(1) << (page & 63));
    ram->dirty_pages--;
    ram->target_pages++;
    /* Sent again while still queued (a wrap within this call): the queued
     * records go first. */
    if (c->qn && queued(c, b, page)) {
        int r = flush_queue(c);
        if (r < 0)
            return r;
    }
    uint8_t *host = b->host + (page << RAM_PAGE_BITS);
    uint64_t addr = b->ram_addr + (page << RAM_PAGE_BITS);
    vmig_xbzrle_round_t r = xb_round(c);
    bool xb = ram->xb.mem && ram->xbzrle_enabled && !r.postcopy;
    if (zero) {
        if (xb)
            vmig_xbzrle_cache_zero_page(&ram->xb, addr, &r);
        return push(c, b, page, Q_ZERO, NULL, 0);
    }
    if (xb) {
        uint8_t *cached = NULL;
        switch (vmig_xbzrle_cache_page(&ram->xb, addr, host, &r, &cached)) {
        case VMIG_XBZRLE_HIT:
            if (work(ram)) {
                size_t job = ram_work_add_xbzrle(ram->work, cached, host);
                return push(c, b, page, Q_XBZRLE, cached, job);
            }
            /* No batch (out of memory): the page goes whole, and the cache
             * copy becomes what the destination gets. */
            if (r.last_stage)
                return push(c, b, page, Q_NORMAL, NULL, 0);
            memcpy(cached, host, RAM_PAGE_SIZE);
            return push(c, b, page, Q_COPY, cached, 0);
        case VMIG_XBZRLE_MISS_CACHED:
            return push(c, b, page, Q_COPY, cached, 0);
        default:
            return push(c, b, page, Q_NORMAL, NULL, 0);
        }
    }
    /* Legacy compression: first round only when xbzrle is on; the first
     * page of a block goes whole so COMPRESS_PAGE always continues (§7). */
    if (ram->opts.compress && !ram->xbzrle_enabled && tail_block(c) == b && work(ram))
        return push(c, b, page, Q_COMPRESS, NULL,
                    ram_work_add_compress(ram->work, host, (int)ram->opts.compress_level));
    return push(c, b, page, Q_NORMAL, NULL, 0);
}

/* Before each host page: 1 to stop the iteration here, 0 to go on, or a
 * negative errno (a yield was cancelled, the stream failed). */
static int checkpoint(ram_sender_t *c)
{
    if (c->limited && vmig_stream_rate_exceeded(c->s))
        return 1; /* also true once the stream has failed */
    if (++c->since_check < SEND_PAGES_PER_CHECK)
        return 0;
    c->since_check = 0;
    int err = vmig_stream_error(c->s);
    if (err)
        return err;
    uint64_t now = uv_hrtime();
    if (c->limited && now >= c->deadline_ns)
        return 1;
    if (now - c->ram->slice_start_ns >= RAM_SLICE_NS) {
        int r = flush_queue(c); /* the pool's turn is the loop's turn too */
        if (r < 0)
            return r;
        put_batch(c);
        r = ram_slice_check(c->ram, now);
        if (r < 0)
            return r;
        set_batch_max(c); /* the rate limit may have changed meanwhile */
    }
    return 0;
}

/* From (*pb, *pp) the next dirty page, wrapping once through the blocks:
 * 1 (found, in *pb / *pp), 0 (nothing dirty), or -ECANCELED. Clean words
 * cost one test each. */
static int find_dirty(ram_sender_t *c, vmig_ram_block_t **pb, uint64_t *pp)
{
    vmig_ram_t *ram = c->ram;
    vmig_ram_block_t *b = *pb, *start = *pb;
    uint64_t page = *pp;
    bool back_at_start = false;
    size_t scanned = 0;
    for (;;) {
        if (b->bmap && page < b->npages) {
            size_t w = (size_t)(page >> 6);
            uint64_t bits = b->bmap[w] & (UINT64_MAX << (page & 63));
            while (!bits && ++w < b->nwords) {
                bits = b->bmap[w];
                if (++scanned % SEND_WORDS_PER_CHECK == 0) {
                    int r = ram_slice_check(ram, uv_hrtime());
                    if (r < 0)
                        return r;
                }
            }
            if (bits) {
                *pb = b;
                *pp = ((uint64_t)w << 6) + (unsigned)__builtin_ctzll(bits);
                return 1;
            }
        }
        if (back_at_start && b == start)
            return 0; /* the whole of start was scanned again: a full round */
        if (!b->next && ram->opts.xbzrle)
            ram->xbzrle_enabled = true; /* past the end of the list: the first round is over */
        b = b->next ? b->next : ram->head;
        page = 0;
        if (b == start)
            back_at_start = true;
    }
}

/* Send the dirty pages of the host page holding page, from page on: a huge
 * page goes out whole so the destination can place it atomically. */
static int send_host_page(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page)
{
    if (b->hp_shift == 0)
        return send_page(c, b, page);
    uint64_t end = ((page >> b->hp_shift) + 1) << b->hp_shift;
    while (page < end) {
        size_t w = (size_t)(page >> 6);
        uint64_t bits = b->bmap[w] & (UINT64_MAX << (page & 63));
        uint64_t wend = ((uint64_t)w + 1) << 6;
        if (end < wend)
            bits &= (UINT64_C(1) << (end & 63)) - 1;
        if (!bits) {
            page = wend;
            continue;
        }
        page = ((uint64_t)w << 6) + (unsigned)__builtin_ctzll(bits);
        int r = send_page(c, b, page);
        if (r < 0)
            return r;
        page++;
    }
    return 0;
}

int vmig__ram_send(vmig_ram_t *ram, vmig_stream_t *s, bool limited, bool *done)
{
    ram_sender_t *c = &(ram_sender_t){
        .ram = ram,
        .s = s,
        .limited = limited,
        .last_stage = !limited,
        .deadline_ns = uv_hrtime() + (uint64_t)VMIG_RAM_ITERATE_MAX_MS * 1000000u,
    };
    set_batch_max(c);
    *done = false;
    /* A resize asked for while the cache was in use: nothing refers to it
     * between two calls. On failure the old cache stays. */
    if (ram->xb_resize) {
        if (ram->xb.mem)
            vmig_xbzrle_cache_resize(&ram->xb, ram->xb_resize);
        ram->xb_resize = 0;
    }
    int r;
    for (;;) {
        /* The limits first, as QEMU does: a round that runs out of budget
         * right after its last page is not "done" yet. */
        r = checkpoint(c);
        if (r != 0)
            break;
        if (ram->dirty_pages == 0 || !ram->head) {
            *done = true;
            break;
        }
        vmig_ram_block_t *b = ram->cur_block ? ram->cur_block : ram->head;
        uint64_t page = ram->cur_block ? ram->cur_page : 0;
        r = find_dirty(c, &b, &page);
        if (r < 0)
            break;
        if (r == 0) {
            /* The count disagrees with the bitmaps; trust the bitmaps. */
            ram->dirty_pages = 0;
            *done = true;
            break;
        }
        r = send_host_page(c, b, page);
        if (r < 0)
            break;
        ram->cur_block = b;
        ram->cur_page = ((page >> b->hp_shift) + 1) << b->hp_shift;
    }
    if (r >= 0) {
        int f = flush_queue(c);
        if (f < 0)
            r = f;
    }
    put_batch(c);
    return r < 0 ? r : 0;
}
