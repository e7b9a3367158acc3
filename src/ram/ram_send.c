/* ram_send.c — the page sender of an outgoing migration (spec/ram.md §4): the
 * next dirty page from the cursor as a ZERO or PAGE record, until the rate
 * limit, the time limit or nothing dirty says stop. The engine's hot loop. */
#include "ram/ram_internal.h"

#include <endian.h>
#include <string.h>

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

/* Send dirty page of b and clear its bit. */
static inline void send_page(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page)
{
    vmig_ram_t *ram = c->ram;
    bool zero = page_is_zero(c, b, page);
    b->bmap[page >> 6] &= ~(UINT64_C(1) << (page & 63));
    ram->dirty_pages--;
    if (c->blen > SEND_BATCH - RAM_REC_MAX)
        put_batch(c);
    if (zero) {
        size_t n = put_header(c, b, page, VMIG_RAM_SAVE_FLAG_ZERO);
        c->batch[c->blen++] = 0; /* the fill byte */
        ram->c.duplicate++;
        ram_count_bytes(ram, n + 1);
        if (c->blen > c->batch_max)
            put_batch(c);
    } else {
        size_t n = put_header(c, b, page, VMIG_RAM_SAVE_FLAG_PAGE);
        put_batch(c);
        /* Straight from guest memory: a page the guest changes before the
         * flush goes out torn, but its dirty bit is set again and the page
         * is sent again (the VM is stopped for the last round). */
        vmig_stream_put_buffer_nocopy(c->s, b->host + (page << RAM_PAGE_BITS), RAM_PAGE_SIZE);
        ram->c.normal++;
        ram_count_bytes(ram, n + RAM_PAGE_SIZE);
    }
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
        put_batch(c);
        int r = ram_slice_check(c->ram, now);
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
        b = b->next ? b->next : ram->head;
        page = 0;
        if (b == start)
            back_at_start = true;
    }
}

/* Send the dirty pages of the host page holding page, from page on: a huge
 * page goes out whole so the destination can place it atomically. */
static void send_host_page(ram_sender_t *c, vmig_ram_block_t *b, uint64_t page)
{
    if (b->hp_shift == 0) {
        send_page(c, b, page);
        return;
    }
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
        send_page(c, b, page);
        page++;
    }
}

int vmig__ram_send(vmig_ram_t *ram, vmig_stream_t *s, bool limited, bool *done)
{
    ram_sender_t *c = &(ram_sender_t){
        .ram = ram,
        .s = s,
        .limited = limited,
        .deadline_ns = uv_hrtime() + (uint64_t)VMIG_RAM_ITERATE_MAX_MS * 1000000u,
    };
    set_batch_max(c);
    *done = false;
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
        send_host_page(c, b, page);
        ram->cur_block = b;
        ram->cur_page = ((page >> b->hp_shift) + 1) << b->hp_shift;
    }
    put_batch(c);
    return r < 0 ? r : 0;
}
