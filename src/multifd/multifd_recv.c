/* multifd_recv.c — the destination's multifd channels (multifd_recv.h): a
 * coroutine per channel, pages read straight into guest memory where they
 * are contiguous, decompression on the pool, SYNC as a rendezvous with the
 * RAM loader. */
#include "multifd/multifd_recv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "channel/channel.h"
#include "multifd/multifd_codec.h"
#include "multifd/multifd_wire.h"
#include "util/copy_nt.h"
#include "vmig/co.h"

#define PAGE VMIG_MULTIFD_PAGE_SIZE
#define NPAGES VMIG_MULTIFD_PAGES_ALLOC
/* Up to this many runs of contiguous pages are read straight into guest
 * memory, one read each; more scattered packets go through the buffer (a
 * read per run would cost a loop turn each). */
#define DIRECT_RUNS_MAX 4u

typedef struct mr_chan {
    vmig_multifd_recv_t *r;       /* the set */
    unsigned id;                  /* channel number (from its initial packet) */
    vmig_channel_t *ch;           /* its connection */
    co_t *co;                     /* its coroutine (joinable) */
    bool synced;                  /* stopped at a SYNC, waiting for release */
    co_event_t release;           /* the loader passed its EOS */
    vmig_multifd_codec_t *codec;  /* decompression stream, NULL for none */
    uint8_t *buf;                 /* payload, VMIG_MULTIFD_ZBUF_MAX bytes */
    uint8_t *pages[NPAGES];       /* where the packet's pages go */
    vmig_multifd_hdr_t h;         /* the packet's header */
    uint8_t raw[VMIG_MULTIFD_HDR_LEN]; /* it, as read */
    int dec_r;                    /* the pool job's result */
    char dec_msg[128];            /* its message */
} mr_chan_t;

struct vmig_multifd_recv {
    uv_loop_t *loop;              /* where the coroutines run */
    vmig_ram_t *ram;              /* the blocks */
    vmig_multifd_recv_opts_t o;   /* channels, method, uuid, on_error */
    uint8_t uuid[16];             /* copy of o.uuid */
    mr_chan_t **chan;             /* by id, NULL until it arrives */
    unsigned narrived;            /* channels added */
    unsigned nsynced;             /* channels stopped at a SYNC */
    int ended;                    /* a channel the source closed, or -1 */
    co_event_t sync_ev;           /* a channel synced or failed */
    vmig_error_t err;             /* first error */
};

static int fail(vmig_multifd_recv_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(vmig_multifd_recv_t *r, int code, const char *fmt, ...)
{
    bool first = r->err.code == 0;
    if (first) {
        char msg[VMIG_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        vmig_error_set(&r->err, code, "%s", msg);
    }
    co_event_set(&r->sync_ev);
    if (first && r->o.on_error)
        r->o.on_error(r->o.opaque);
    return r->err.code;
}

static int decode_job(void *arg)
{
    mr_chan_t *c = arg;
    c->dec_msg[0] = '\0';
    c->dec_r = vmig_multifd_decode(c->codec, c->buf, c->h.next_packet_size, c->pages,
                                   c->h.pages_used, PAGE, c->dec_msg, sizeof(c->dec_msg));
    return 0;
}

/* len bytes; -ENODATA when the source closed before the first of them,
 * -EPIPE (truncated) when it closed after some. */
static int read_exact(mr_chan_t *c, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = vmig_channel_read(c->ch, p, len);
        if (n == 0)
            return p == (uint8_t *)buf ? -ENODATA : -EPIPE;
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The pages of a packet without compression: runs of contiguous pages
 * straight into guest memory, scattered ones through the buffer. */
static int read_pages(mr_chan_t *c)
{
    uint32_t n = c->h.pages_used;
    unsigned runs = 1;
    for (uint32_t i = 1; i < n; i++)
        if (c->pages[i] != c->pages[i - 1] + PAGE)
            runs++;
    if (runs <= DIRECT_RUNS_MAX) {
        for (uint32_t i = 0; i < n;) {
            uint32_t j = i + 1;
            while (j < n && c->pages[j] == c->pages[j - 1] + PAGE)
                j++;
            int e = read_exact(c, c->pages[i], (size_t)(j - i) * PAGE);
            if (e < 0)
                return e;
            i = j;
        }
        return 0;
    }
    int e = read_exact(c, c->buf, (size_t)n * PAGE);
    if (e < 0)
        return e;
    for (uint32_t i = 0; i < n; i++)
        vmig_copy_nt(c->pages[i], c->buf + (size_t)i * PAGE, PAGE);
    vmig_copy_nt_fence();
    return 0;
}

/* One packet after its header: checks, then its pages. */
static int load_packet(mr_chan_t *c)
{
    vmig_multifd_recv_t *r = c->r;
    vmig_multifd_hdr_t *h = &c->h;
    if (h->pages_used == 0)
        return 0;
    vmig_ram_block_t *b = vmig_ram_find(r->ram, h->ramblock);
    if (!b)
        return fail(r, -EPROTO, "multifd: unknown ram block %s", h->ramblock);
    /* The main stream's rules for a page record: no load under way, or a
     * block x-ignore-shared leaves out, takes no page. */
    if (!vmig_ram_load_accepts(r->ram, b))
        return fail(r, -EPROTO, "multifd: block %s should not be migrated now", h->ramblock);
    uint64_t len = vmig_ram_block_length(b);
    uint8_t *host = vmig_ram_block_host(b);
    for (uint32_t i = 0; i < h->pages_used; i++) {
        /* len >= PAGE: blocks are whole target pages. */
        if (h->offset[i] > len - PAGE)
            return fail(r, -EPROTO, "multifd: offset too long %" PRIu64 " (max %" PRIu64 ")",
                        h->offset[i], len);
        if (h->offset[i] % PAGE)
            return fail(r, -EPROTO, "multifd: unaligned offset %" PRIu64, h->offset[i]);
        c->pages[i] = host + h->offset[i];
    }
    int e;
    if (!c->codec) {
        e = read_pages(c);
    } else {
        e = read_exact(c, c->buf, h->next_packet_size);
        if (e == 0)
            e = co_work(NULL, decode_job, c, NULL);
        if (e == 0 && c->dec_r < 0)
            return fail(r, c->dec_r, "multifd %u: %s", c->id, c->dec_msg);
    }
    if (e < 0)
        return e;
    for (uint32_t i = 0; i < h->pages_used; i++)
        vmig_ram_mark_received(b, h->offset[i]);
    return 0;
}

static int chan_co(void *arg)
{
    mr_chan_t *c = arg;
    vmig_multifd_recv_t *r = c->r;
    for (;;) {
        int e = read_exact(c, c->raw, sizeof(c->raw));
        if (e == -ENODATA) {
            /* The source closed the channel: the end, unless the loader
             * still expects a SYNC from it. */
            if (r->ended < 0)
                r->ended = (int)c->id;
            co_event_set(&r->sync_ev);
            break;
        }
        if (e == 0) {
            vmig_error_t herr = { 0 };
            e = vmig_multifd_hdr_decode(c->raw, c->id, r->o.method, &c->h, &herr);
            if (e < 0) {
                fail(r, e, "%s", herr.msg);
                break;
            }
            e = load_packet(c);
        }
        if (e < 0) {
            if (!r->err.code)
                fail(r, e, "multifd channel %u: %s", c->id,
                     c->ch->err.code              ? c->ch->err.msg
                     : e == -EPIPE || e == -ENODATA ? "the source closed it inside a packet"
                                                    : vmig_strerror(e));
            break;
        }
        if (c->h.flags & VMIG_MULTIFD_FLAG_SYNC) {
            co_event_reset(&c->release);
            c->synced = true;
            r->nsynced++;
            co_event_set(&r->sync_ev);
            while (c->synced && !r->err.code)
                if (co_event_wait(&c->release, -1) < 0)
                    co_cancel_clear();
            if (r->err.code)
                break;
        }
    }
    return 0;
}

/* ---- the set ------------------------------------------------------------------------ */

int vmig_multifd_recv_new(uv_loop_t *loop, vmig_ram_t *ram, const vmig_multifd_recv_opts_t *opts,
                          vmig_multifd_recv_t **out)
{
    *out = NULL;
    if (opts->channels < 1 || opts->channels > VMIG_MULTIFD_CHANNELS_MAX)
        return -EINVAL;
    vmig_multifd_recv_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->chan = calloc(opts->channels, sizeof(*r->chan)))) {
        free(r);
        return -ENOMEM;
    }
    r->loop = loop;
    r->ram = ram;
    r->o = *opts;
    if (opts->uuid) {
        memcpy(r->uuid, opts->uuid, sizeof(r->uuid));
        r->o.uuid = r->uuid;
    }
    r->ended = -1;
    co_event_init(&r->sync_ev);
    *out = r;
    return 0;
}

static void chan_free(mr_chan_t *c)
{
    if (c->ch)
        vmig_channel_close(c->ch);
    if (c->codec)
        vmig_multifd_codec_free(c->codec);
    free(c->buf);
    free(c);
}

int vmig_multifd_recv_add(vmig_multifd_recv_t *r, vmig_channel_t *ch, vmig_error_t *err)
{
    mr_chan_t *c = calloc(1, sizeof(*c));
    if (!c) {
        vmig_channel_close(ch);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    c->r = r;
    c->ch = ch;
    co_event_init(&c->release);
    uint8_t init[VMIG_MULTIFD_INIT_LEN];
    int e = read_exact(c, init, sizeof(init));
    if (e < 0) {
        vmig_error_set(err, e, "multifd: reading a channel's initial packet: %s",
                       ch->err.code ? ch->err.msg : vmig_strerror(e));
        chan_free(c);
        return e;
    }
    vmig_multifd_init_t in;
    e = vmig_multifd_init_decode(init, r->o.uuid, r->o.channels, &in, err);
    if (e == 0 && r->chan[in.id])
        e = vmig_error_set(err, -EPROTO, "multifd: received id '%d' already setup'", in.id);
    if (e == 0 && r->o.method != VMIG_MULTIFD_FLAG_NOCOMP &&
        !(c->codec = vmig_multifd_decoder_new(r->o.method)))
        e = vmig_error_set(err, -ENOMEM, "multifd: out of memory for decompression");
    if (e == 0 && !(c->buf = malloc(VMIG_MULTIFD_ZBUF_MAX)))
        e = vmig_error_set(err, -ENOMEM, "out of memory");
    if (e < 0) {
        chan_free(c);
        return e;
    }
    c->id = in.id;
    c->co = co_create(r->loop, chan_co, c);
    if (!c->co) {
        chan_free(c);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    r->chan[in.id] = c;
    r->narrived++;
    co_enter(c->co);
    return 0;
}

bool vmig_multifd_recv_complete(const vmig_multifd_recv_t *r)
{
    return r->narrived == r->o.channels;
}

int vmig_multifd_recv_sync(vmig_multifd_recv_t *r, vmig_error_t *err)
{
    while (r->nsynced < r->o.channels && !r->err.code) {
        if (r->ended >= 0)
            return vmig_error_set(err, -EPIPE,
                                  "multifd channel %d: closed by the source before its SYNC",
                                  r->ended);
        co_event_reset(&r->sync_ev);
        int e = co_event_wait(&r->sync_ev, -1);
        if (e < 0)
            return vmig_error_set(err, e, "multifd: %s", vmig_strerror(e));
    }
    if (r->err.code)
        return vmig_error_set(err, r->err.code, "%s", r->err.msg);
    r->nsynced = 0;
    for (unsigned i = 0; i < r->o.channels; i++) {
        mr_chan_t *c = r->chan[i];
        c->synced = false;
        co_event_set(&c->release);
    }
    return 0;
}

const vmig_error_t *vmig_multifd_recv_error(const vmig_multifd_recv_t *r)
{
    return &r->err;
}

void vmig_multifd_recv_shutdown(vmig_multifd_recv_t *r, int code)
{
    if (code < 0)
        vmig_error_set(&r->err, code, "%s", vmig_strerror(code));
    for (unsigned i = 0; i < r->o.channels; i++) {
        mr_chan_t *c = r->chan[i];
        if (c) {
            vmig_channel_shutdown(c->ch, SHUT_RDWR);
            co_event_set(&c->release);
        }
    }
    co_event_set(&r->sync_ev);
}

void vmig_multifd_recv_free(vmig_multifd_recv_t *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->o.channels; i++) {
        mr_chan_t *c = r->chan[i];
        if (!c)
            continue;
        c->synced = false;
        co_event_set(&c->release);
        while (co_join(c->co, NULL) == -ECANCELED)
            co_cancel_clear();
        chan_free(c);
    }
    free(r->chan);
    free(r);
}
