/* ram_send.c — the page sender of an outgoing migration (spec/ram.md §4): the
 * next dirty page from the cursor as a ZERO, XBZRLE, COMPRESS_PAGE or PAGE
 * record, until the rate limit, the time limit or nothing dirty says stop.
 * The engine's hot loop.
 *
 * XBZRLE encodes and compressions are CPU work for the pool: such pages are
 * snapshotted into a batch (ram_send_work.c), and batches go through a
 * pipeline (util/work_ring.c): one filling on the loop, up to
 * compress-threads (XBZRLE: 2) on the pool. Once a pool page is queued,
 * every later record waits in the queue too, so the records go out in page
 * order (the CONTINUE flags stay right); the queue is emitted as batches come
 * back. A page is never queued twice: the queue is drained before the cursor
 * wraps. Queued records count against the rate limit by an estimate of their
 * size, so an iteration ends near its budget, not a pipeline past it. */
#include "ram/ram_internal.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "ram/ram_send_work.h"
#include "ram/ram_zero.h"
#include "util/work_ring.h"

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
    ram_work_t *w;       /* Q_XBZRLE, Q_COMPRESS: the batch holding its job */
    uint32_t job;        /* its job in w */
    uint32_t est;        /* bytes counted for it in pending_est */
    qkind_t kind;
} qent_t;

/* XBZRLE batches in flight: one on the pool while the loop fills the next.
 * The loop's snapshot copies cost about what the encode does, so more would
 * not go faster. */
#define SEND_XBZRLE_DEPTH 2u
/* Queue room: the pool pages of every batch in flight, filling or being
 * emitted, and as many other records between them. */
#define SEND_QUEUE (2u * (VMIG_WORK_RING_MAX + 2u) * RAM_WORK_MAX)

/* The pipeline; lives with the migration (vmig_ram_t.send_pipe), empty
 * between two calls of vmig__ram_send. */
typedef struct ram_send_pipe ram_send_pipe_t;
struct ram_send_pipe {
    vmig_work_ring_t ring;   /* the batches */
    ram_work_t *taken;       /* batch whose records are being emitted, or NULL */
    size_t taken_left;       /* its pool records not yet emitted */
    uint64_t pending_est;    /* estimated bytes of the queued records */
    uint32_t est_xbzrle;     /* running estimate of an XBZRLE page's bytes */
    uint32_t est_compress;   /* running estimate of a compressed page's bytes */
    size_t head;             /* index of the oldest record in q */
    size_t n;                /* records in q */
    qent_t q[SEND_QUEUE];    /* records waiting, in page order (a ring) */
};

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
    ram_send_pipe_t *p;      /* the pipeline, NULL until a pool page comes */
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

/* Running estimate of a pool record's bytes: 1/8 of the newest. */
static void update_est(uint32_t *est, uint64_t bytes)
{
    *est = (uint32_t)((7u * (uint64_t)*est + bytes) / 8u);
}

static void emit_xbzrle(ram_sender_t *c, const qent_t *e)
{
    vmig_ram_t *ram = c->ram;
    vmig_xbzrle_round_t r = xb_round(c);
    const uint8_t *out;
    ssize_t len = ram_work_result(e->w, e->job, &out);
    const uint8_t *snap = ram_work_snapshot(e->w, e->job);
    if (len == 0) {
        vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, 0, 0, &r); /* unchanged: nothing */
        update_est(&c->p->est_xbzrle, 0);
        return;
    }
    if (len < 0) {
        /* Overflow (the only failure of a valid call): the page goes whole,
         * from the cache copy the destination must hold, or from the
         * snapshot in the last stage (the cache is not updated then). */
        vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, -1, 0, &r);
        emit_normal(c, e->b, e->page, r.last_stage ? snap : e->src);
        update_est(&c->p->est_xbzrle, RAM_PAGE_SIZE + 8u);
        return;
    }
    uint64_t rec = emit_sized(c, e->b, e->page, VMIG_RAM_SAVE_FLAG_XBZRLE, out, (size_t)len);
    vmig_xbzrle_cache_encoded(&ram->xb, e->src, snap, (long)len, rec, &r);
    update_est(&c->p->est_xbzrle, rec);
}

static void emit_compressed(ram_sender_t *c, const qent_t *e)
{
    vmig_ram_t *ram = c->ram;
    const uint8_t *out;
    ssize_t len = ram_work_result(e->w, e->job, &out);
    if (len < 0) {
        /* zlib could not get its state: the page goes whole. */
        emit_normal(c, e->b, e->page, ram_work_snapshot(e->w, e->job));
        return;
    }
    uint64_t rec = emit_sized(c, e->b, e->page, VMIG_RAM_SAVE_FLAG_COMPRESS_PAGE, out, (size_t)len);
    ram->comp.pages++;
    ram->comp.compressed_size += rec - 8; /* QEMU leaves the header word out */
    update_est(&c->p->est_compress, rec);
}

static void emit_entry(ram_sender_t *c, const qent_t *e)
{
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

static bool is_pool(qkind_t k)
{
    return k == Q_XBZRLE || k == Q_COMPRESS;
}

/* A failure (a cancelled wait) took the batches in flight: forget the
 * records that waited for them and empty the batch being filled. */
static void pipe_reset(ram_send_pipe_t *p)
{
    if (p->taken)
        vmig_work_ring_recycle(&p->ring, p->taken);
    p->taken = NULL;
    p->taken_left = 0;
    if (p->ring.fill)
        ram_work_clear(p->ring.fill);
    p->head = 0;
    p->n = 0;
    p->pending_est = 0;
}

/* How far emit_queue() goes. */
typedef enum emit_mode {
    EMIT_READY, /* what is ready, without waiting */
    EMIT_ONE,   /* up to the records of the next batch, waiting for it */
    EMIT_ALL,   /* everything, starting and waiting for every batch */
} emit_mode_t;

/* Emit queued records in order, as far as mode says. 0, or -ECANCELED
 * (the queue is then dropped). */
static int emit_queue(ram_sender_t *c, emit_mode_t mode)
{
    ram_send_pipe_t *p = c->p;
    bool took = false;
    while (p && p->n) {
        qent_t *e = &p->q[p->head];
        if (is_pool(e->kind) && e->w != p->taken) {
            if (mode == EMIT_ONE && took)
                break;
            if (e->w == p->ring.fill) {
                if (mode == EMIT_READY)
                    break; /* not started yet */
                /* Nothing older is in flight: start it to wait for it. */
                int r = vmig_work_ring_submit(&p->ring);
                if (r < 0) {
                    pipe_reset(p);
                    return r;
                }
            }
            void *batch;
            int r = vmig_work_ring_take(&p->ring, mode != EMIT_READY, &batch);
            if (r < 0) {
                pipe_reset(p);
                return r;
            }
            if (r == 0)
                break; /* still on the pool */
            /* Batches come back in the order their records were queued. */
            p->taken = batch;
            p->taken_left = ram_work_count(batch);
            took = true;
            /* The loop ran while the pool worked. */
            if (mode != EMIT_READY)
                c->ram->slice_start_ns = uv_hrtime();
        }
        qent_t ent = *e;
        p->head = (p->head + 1) % SEND_QUEUE;
        p->n--;
        p->pending_est -= ent.est;
        emit_entry(c, &ent);
        if (is_pool(ent.kind) && --p->taken_left == 0) {
            vmig_work_ring_recycle(&p->ring, p->taken);
            p->taken = NULL;
        }
    }
    return 0;
}

/* Start the batch being filled when there is room in the pipeline. */
static int submit_if_room(ram_sender_t *c)
{
    ram_send_pipe_t *p = c->p;
    if (!p || !p->ring.fill || !ram_work_count(p->ring.fill) || vmig_work_ring_full(&p->ring))
        return 0;
    int r = vmig_work_ring_submit(&p->ring);
    if (r < 0)
        pipe_reset(p);
    return r;
}

/* Bytes a record will take, for the rate limit, before it is made. */
static uint32_t estimate(const ram_sender_t *c, qkind_t kind)
{
    switch (kind) {
    case Q_ZERO:
        return 9u;
    case Q_XBZRLE:
        return c->p->est_xbzrle;
    case Q_COMPRESS:
        return c->p->est_compress;
    default:
        return RAM_PAGE_SIZE + 8u;
    }
}

/* Queue a record, or emit it now when nothing waits before it. */
static int push(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, qkind_t kind, uint8_t *src,
                ram_work_t *w, size_t job)
{
    ram_send_pipe_t *p = c->p;
    if (!is_pool(kind) && (!p || p->n == 0)) {
        if (kind == Q_ZERO)
            emit_zero(c, b, page);
        else
            emit_normal(c, b, page, kind == Q_COPY ? src : NULL);
        return 0;
    }
    if (p->n == SEND_QUEUE) {
        int r = emit_queue(c, EMIT_ONE);
        if (r < 0)
            return r;
    }
    uint32_t est = estimate(c, kind);
    p->q[(p->head + p->n) % SEND_QUEUE] = (qent_t){
        .b = b, .page = page, .src = src, .w = w, .job = (uint32_t)job, .est = est, .kind = kind
    };
    p->n++;
    p->pending_est += est;
    if (w && ram_work_full(w))
        return submit_if_room(c);
    return 0;
}

static void *work_alloc(void)
{
    return ram_work_new();
}

static void work_clear(void *w)
{
    ram_work_clear(w);
}

static const vmig_work_ring_ops_t work_ops = {
    .alloc = work_alloc,
    .run = ram_work_run,
    .release = ram_work_free,
    .clear = work_clear,
};

/* The pipeline, made on first use; NULL when memory runs out (pages then go
 * whole). */
static ram_send_pipe_t *pipe_get(ram_sender_t *c)
{
    vmig_ram_t *ram = c->ram;
    if (!ram->send_pipe) {
        ram_send_pipe_t *p = calloc(1, sizeof(*p));
        if (!p)
            return NULL;
        vmig_work_ring_init(&p->ring, &work_ops, &ram->work_limit, ram->work_limit.max);
        p->est_xbzrle = RAM_PAGE_SIZE;
        p->est_compress = RAM_PAGE_SIZE;
        ram->send_pipe = p;
    }
    c->p = ram->send_pipe;
    return c->p;
}

void vmig__ram_send_fini(vmig_ram_t *ram)
{
    ram_send_pipe_t *p = ram->send_pipe;
    if (!p)
        return;
    pipe_reset(p);
    vmig_work_ring_fini(&p->ring);
    free(p);
    ram->send_pipe = NULL;
}

/* What pool_batch() found. */
typedef enum room {
    ROOM_OK,   /* *w has room for a page */
    ROOM_NONE, /* no memory for a batch: send the page whole */
    ROOM_BUSY, /* every batch is busy and we may not wait: send it whole */
} room_t;

/* A batch with room for one more pool page, making room in the pipeline
 * (waiting for the oldest batch unless !may_wait). A room_t, or a
 * negative errno. */
static int pool_batch(ram_sender_t *c, bool may_wait, ram_work_t **w)
{
    ram_send_pipe_t *p = pipe_get(c);
    if (!p)
        return ROOM_NONE;
    for (;;) {
        *w = vmig_work_ring_fill(&p->ring);
        if (!*w)
            return ROOM_NONE;
        if (!ram_work_full(*w))
            return ROOM_OK;
        int r;
        if (!vmig_work_ring_full(&p->ring))
            r = vmig_work_ring_submit(&p->ring);
        else if (may_wait)
            r = emit_queue(c, EMIT_ONE);
        else {
            /* compress-wait-thread off: take back what is done, if anything. */
            r = emit_queue(c, EMIT_READY);
            if (r == 0 && vmig_work_ring_full(&p->ring))
                return ROOM_BUSY;
        }
        if (r < 0) {
            pipe_reset(p);
            return r;
        }
    }
}

/* The block of the last record that will be on the wire before the next. */
static const vmig_ram_block_t *tail_block(const ram_sender_t *c)
{
    const ram_send_pipe_t *p = c->p;
    if (p && p->n)
        return p->q[(p->head + p->n - 1) % SEND_QUEUE].b;
    return c->ram->last_sent;
}

/* An XBZRLE hit: encode on the pool against the cache copy. */
static int send_xbzrle(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, uint8_t *host,
                       uint8_t *cached)
{
    ram_work_t *w;
    int room = pool_batch(c, true, &w);
    if (room < 0)
        return room;
    if (room == ROOM_OK)
        return push(c, b, page, Q_XBZRLE, cached, w, ram_work_add_xbzrle(w, cached, host));
    /* No batch (out of memory): the page goes whole, and the cache copy
     * becomes what the destination gets. */
    if (c->last_stage)
        return push(c, b, page, Q_NORMAL, NULL, NULL, 0);
    memcpy(cached, host, RAM_PAGE_SIZE);
    return push(c, b, page, Q_COPY, cached, NULL, 0);
}

/* Legacy compression (first round only when xbzrle is on): zlib on the
 * pool; without a free batch and compress-wait-thread off, busy. */
static int send_compressed(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page, uint8_t *host)
{
    vmig_ram_t *ram = c->ram;
    ram_work_t *w;
    int room = pool_batch(c, ram->opts.compress_wait_thread, &w);
    if (room < 0)
        return room;
    if (room == ROOM_OK)
        return push(c, b, page, Q_COMPRESS, NULL, w,
                    ram_work_add_compress(w, host, (int)ram->opts.compress_level));
    if (room == ROOM_BUSY)
        ram->comp.busy++;
    return push(c, b, page, Q_NORMAL, NULL, NULL, 0);
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
    uint8_t *host = b->host + (page << RAM_PAGE_BITS);
    uint64_t addr = b->ram_addr + (page << RAM_PAGE_BITS);
    vmig_xbzrle_round_t r = xb_round(c);
    bool xb = ram->xb.mem && ram->xbzrle_enabled && !r.postcopy;
    if (zero) {
        if (xb)
            vmig_xbzrle_cache_zero_page(&ram->xb, addr, &r);
        return push(c, b, page, Q_ZERO, NULL, NULL, 0);
    }
    /* Multifd takes every other page (not in postcopy, where a host page
     * is placed whole); XBZRLE is then never used, as in QEMU (§5). */
    if (ram->mf && !r.postcopy) {
        int64_t n = ram->mf->queue_page(ram->mf->opaque, b, page << RAM_PAGE_BITS);
        if (n < 0)
            return (int)n;
        ram_count_multifd(ram, c->s, (uint64_t)n);
        ram->c.normal++;
        return 0;
    }
    if (xb) {
        uint8_t *cached = NULL;
        switch (vmig_xbzrle_cache_page(&ram->xb, addr, host, &r, &cached)) {
        case VMIG_XBZRLE_HIT:
            return send_xbzrle(c, b, page, host, cached);
        case VMIG_XBZRLE_MISS_CACHED:
            return push(c, b, page, Q_COPY, cached, NULL, 0);
        default:
            return push(c, b, page, Q_NORMAL, NULL, NULL, 0);
        }
    }
    /* The first page of a block goes whole so COMPRESS_PAGE always
     * continues (§7). */
    if (ram->opts.compress && !ram->xbzrle_enabled && tail_block(c) == b)
        return send_compressed(c, b, page, host);
    return push(c, b, page, Q_NORMAL, NULL, NULL, 0);
}

/* Batches in flight for this call: compress-threads in the first round of
 * compression, two for XBZRLE; the job's pool limit follows. */
static void set_depth(vmig_ram_t *ram)
{
    unsigned depth = ram->opts.compress && !ram->xbzrle_enabled ? ram->opts.compress_threads
                                                                 : SEND_XBZRLE_DEPTH;
    if (depth > VMIG_WORK_RING_MAX)
        depth = VMIG_WORK_RING_MAX;
    if (depth == 0)
        depth = 1;
    ram->work_limit.max = depth;
    if (ram->send_pipe)
        vmig_work_ring_set_depth(&ram->send_pipe->ring, depth);
}

/* Before each host page: 1 to stop the iteration here, 0 to go on, or a
 * negative errno (a yield was cancelled, the stream failed). */
static int checkpoint(ram_sender_t *c)
{
    if (c->limited && vmig_stream_rate_exceeded_with(c->s, c->p ? c->p->pending_est : 0))
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
        /* Keep the pool busy while the loop has its turn, and send what
         * it has finished. */
        int r = submit_if_room(c);
        if (r == 0)
            r = emit_queue(c, EMIT_READY);
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
        if (!b->next && c->p && c->p->n) {
            /* Wrapping: a page queued in this call may come again. */
            int r = emit_queue(c, EMIT_ALL);
            if (r < 0)
                return r;
        }
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
        .p = ram->send_pipe,
    };
    set_batch_max(c);
    set_depth(ram);
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
        int f = emit_queue(c, EMIT_ALL);
        if (f < 0)
            r = f;
    }
    put_batch(c);
    return r < 0 ? r : 0;
}
