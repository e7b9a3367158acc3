/* multifd_send.c — the source's multifd channels (multifd_send.h): QEMU's
 * model (a packet per free channel, round robin, SYNC before EOS) with
 * coroutines instead of threads, compression on the pool. */
#include "multifd/multifd_send.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "channel/channel.h"
#include "multifd/multifd_codec.h"
#include "multifd/multifd_wire.h"
#include "vmig/co.h"

#define PAGE VMIG_MULTIFD_PAGE_SIZE
#define NPAGES VMIG_MULTIFD_PAGES_ALLOC

/* A packet: pages of one block, or a SYNC without pages. */
typedef struct mf_packet {
    vmig_ram_block_t *block; /* block of the pages, NULL without pages */
    uint32_t n;              /* pages */
    bool sync;               /* SYNC flag */
    uint64_t num;            /* packet_num, given when handed to a channel */
    uint64_t offset[NPAGES]; /* byte offsets in block */
} mf_packet_t;

typedef struct mf_chan {
    vmig_multifd_send_t *s;       /* the set it belongs to */
    unsigned id;                  /* channel number */
    vmig_channel_t *ch;           /* its connection */
    co_t *co;                     /* its coroutine (joinable) */
    co_event_t wake;              /* a packet was handed over, or quit */
    bool busy;                    /* pkt is still to be written */
    mf_packet_t pkt;              /* the packet to write */
    vmig_multifd_codec_t *codec;  /* the channel's compression stream, NULL for none */
    uint8_t *zbuf;                /* compressed payload, VMIG_MULTIFD_ZBUF_MAX bytes */
    ssize_t zlen;                 /* the pool job's result */
    const uint8_t *pages[NPAGES]; /* the pool job's input: guest pages */
    uint8_t hdr[VMIG_MULTIFD_HDR_LEN]; /* the header being written */
} mf_chan_t;

struct vmig_multifd_send {
    vmig_multifd_send_opts_t o;   /* channels, method, level, uuid */
    mf_chan_t *chan;              /* o.channels of them */
    unsigned nopen;               /* channels connected (and with a coroutine) */
    unsigned next;                /* where the search for a free channel starts */
    mf_packet_t cur;              /* the packet being filled */
    uint64_t packet_num;          /* next packet_num */
    co_event_t freed;             /* a channel finished a packet (or failed) */
    bool quit;                    /* channel coroutines end */
    vmig_error_t err;             /* first error */
};

/* ---- a channel ------------------------------------------------------------------- */

static int encode_job(void *arg)
{
    mf_chan_t *c = arg;
    c->zlen = vmig_multifd_encode(c->codec, c->pages, c->pkt.n, PAGE, c->zbuf,
                                  VMIG_MULTIFD_ZBUF_MAX);
    return 0;
}

/* Header and payload of the channel's packet, in one writev. */
static int write_packet(mf_chan_t *c)
{
    vmig_multifd_send_t *s = c->s;
    mf_packet_t *p = &c->pkt;
    vmig_multifd_hdr_t h = {
        .flags = s->o.method | (p->sync ? VMIG_MULTIFD_FLAG_SYNC : 0),
        .pages_alloc = NPAGES,
        .pages_used = p->n,
        .packet_num = p->num,
    };
    struct iovec iov[1 + NPAGES];
    int cnt = 1;
    if (p->n) {
        const char *name = vmig_ram_block_name(p->block);
        strncpy(h.ramblock, name, sizeof(h.ramblock) - 1);
        uint8_t *host = vmig_ram_block_host(p->block);
        memcpy(h.offset, p->offset, p->n * sizeof(p->offset[0]));
        if (c->codec) {
            for (uint32_t i = 0; i < p->n; i++)
                c->pages[i] = host + p->offset[i];
            /* One job per channel at most, as QEMU's thread per channel:
             * multifd-channels is the parallelism asked for. */
            int r = co_work(NULL, encode_job, c, NULL);
            if (r < 0)
                return r;
            if (c->zlen < 0)
                return (int)c->zlen;
            h.next_packet_size = (uint32_t)c->zlen;
            iov[cnt++] = (struct iovec){ c->zbuf, (size_t)c->zlen };
        } else {
            h.next_packet_size = p->n * PAGE;
            for (uint32_t i = 0; i < p->n; i++)
                iov[cnt++] = (struct iovec){ host + p->offset[i], PAGE };
        }
    }
    vmig_multifd_hdr_encode(&h, c->hdr);
    iov[0] = (struct iovec){ c->hdr, sizeof(c->hdr) };
    return vmig_channel_writev(c->ch, iov, cnt);
}

static int chan_co(void *arg)
{
    mf_chan_t *c = arg;
    vmig_multifd_send_t *s = c->s;
    for (;;) {
        while (!c->busy && !s->quit) {
            co_event_reset(&c->wake);
            if (co_event_wait(&c->wake, -1) < 0)
                co_cancel_clear(); /* only quit ends us: see the rules */
        }
        if (s->quit)
            break;
        int r = write_packet(c);
        if (r < 0) {
            vmig_error_set(&s->err, r, "multifd channel %u: %s", c->id,
                           c->ch->err.code ? c->ch->err.msg : vmig_strerror(r));
            co_event_set(&s->freed);
            c->busy = false;
            break;
        }
        c->busy = false;
        co_event_set(&s->freed);
    }
    return 0;
}

/* ---- the set ---------------------------------------------------------------------- */

static int open_channel(vmig_multifd_send_t *s, uv_loop_t *loop, const char *uri, unsigned id,
                        vmig_error_t *err)
{
    mf_chan_t *c = &s->chan[id];
    c->s = s;
    c->id = id;
    co_event_init(&c->wake);
    if (s->o.method != VMIG_MULTIFD_FLAG_NOCOMP) {
        c->codec = vmig_multifd_encoder_new(s->o.method, s->o.level);
        c->zbuf = malloc(VMIG_MULTIFD_ZBUF_MAX);
        if (!c->codec || !c->zbuf)
            return vmig_error_set(err, -ENOMEM, "multifd: out of memory for compression");
    }
    vmig_error_t cerr = { 0 };
    int r = vmig_channel_open(loop, uri, VMIG_CHANNEL_OUTGOING, &c->ch, &cerr);
    if (r < 0)
        return vmig_error_set(err, r, "multifd channel %u: %s", id, cerr.msg);
    if (s->o.wrap) {
        r = s->o.wrap(s->o.wrap_opaque, &c->ch, &cerr);
        if (r < 0)
            return vmig_error_set(err, r, "multifd channel %u: %s", id, cerr.msg);
    }
    uint8_t init[VMIG_MULTIFD_INIT_LEN];
    vmig_multifd_init_t in = { .id = (uint8_t)id };
    memcpy(in.uuid, s->o.uuid, sizeof(in.uuid));
    vmig_multifd_init_encode(&in, init);
    r = vmig_channel_write(c->ch, init, sizeof(init));
    if (r < 0)
        return vmig_error_set(err, r, "multifd channel %u: %s", id, c->ch->err.msg);
    c->co = co_create(loop, chan_co, c);
    if (!c->co)
        return vmig_error_set(err, -ENOMEM, "out of memory");
    s->nopen++;
    co_enter(c->co);
    return 0;
}

int vmig_multifd_send_new(uv_loop_t *loop, const char *uri, const vmig_multifd_send_opts_t *opts,
                          vmig_multifd_send_t **out, vmig_error_t *err)
{
    *out = NULL;
    if (opts->channels < 1 || opts->channels > VMIG_MULTIFD_CHANNELS_MAX)
        return vmig_error_set(err, -EINVAL, "multifd: %u channels (1..255)", opts->channels);
    vmig_multifd_send_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->chan = calloc(opts->channels, sizeof(*s->chan)))) {
        free(s);
        return vmig_error_set(err, -ENOMEM, "out of memory");
    }
    s->o = *opts;
    co_event_init(&s->freed);
    for (unsigned i = 0; i < opts->channels; i++) {
        int r = open_channel(s, loop, uri, i, err);
        if (r < 0) {
            vmig_multifd_send_shutdown(s, r);
            vmig_multifd_send_free(s);
            return r;
        }
    }
    *out = s;
    return 0;
}

/* Wait until a channel finishes a packet or one fails: 0 or the error. */
static int wait_freed(vmig_multifd_send_t *s)
{
    if (s->err.code)
        return s->err.code;
    co_event_reset(&s->freed);
    int r = co_event_wait(&s->freed, -1);
    return r < 0 ? r : s->err.code;
}

/* The next channel without a packet, from s->next on; waits for one. */
static int free_channel(vmig_multifd_send_t *s, mf_chan_t **out)
{
    for (;;) {
        if (s->err.code)
            return s->err.code;
        for (unsigned k = 0; k < s->o.channels; k++) {
            mf_chan_t *c = &s->chan[(s->next + k) % s->o.channels];
            if (!c->busy) {
                *out = c;
                return 0;
            }
        }
        int r = wait_freed(s);
        if (r < 0)
            return r;
    }
}

/* Give channel c the packet in s->cur and empty it: the bytes to count. */
static int64_t give(vmig_multifd_send_t *s, mf_chan_t *c)
{
    c->pkt = s->cur; /* a copy: cur fills again while c writes */
    c->pkt.num = s->packet_num++;
    c->busy = true;
    co_event_set(&c->wake);
    s->next = (c->id + 1) % s->o.channels;
    int64_t bytes = (int64_t)s->cur.n * PAGE + VMIG_MULTIFD_HDR_LEN;
    s->cur.n = 0;
    s->cur.block = NULL;
    s->cur.sync = false;
    return bytes;
}

static int64_t flush_cur(vmig_multifd_send_t *s)
{
    if (!s->cur.n)
        return 0;
    mf_chan_t *c = NULL;
    int r = free_channel(s, &c);
    if (r < 0)
        return r;
    return give(s, c);
}

int64_t vmig_multifd_send_page(vmig_multifd_send_t *s, vmig_ram_block_t *block, uint64_t offset)
{
    if (s->err.code)
        return s->err.code;
    int64_t bytes = 0;
    if (s->cur.n && s->cur.block != block) {
        bytes = flush_cur(s);
        if (bytes < 0)
            return bytes;
    }
    s->cur.block = block;
    s->cur.offset[s->cur.n++] = offset;
    if (s->cur.n == NPAGES) {
        int64_t b = flush_cur(s);
        if (b < 0)
            return b;
        bytes += b;
    }
    return bytes;
}

int64_t vmig_multifd_send_sync(vmig_multifd_send_t *s)
{
    int64_t bytes = flush_cur(s);
    if (bytes < 0)
        return bytes;
    /* One SYNC per channel, each behind that channel's last packet. */
    for (unsigned i = 0; i < s->o.channels; i++) {
        mf_chan_t *c = &s->chan[i];
        while (c->busy) {
            int r = wait_freed(s);
            if (r < 0)
                return r;
        }
        if (s->err.code)
            return s->err.code;
        s->cur.sync = true;
        bytes += give(s, c);
    }
    /* Only this function hands out packets now: every SYNC is written
     * once no channel is busy. */
    for (unsigned i = 0; i < s->o.channels; i++) {
        while (s->chan[i].busy) {
            int r = wait_freed(s);
            if (r < 0)
                return r;
        }
    }
    return s->err.code ? s->err.code : bytes;
}

const vmig_error_t *vmig_multifd_send_error(const vmig_multifd_send_t *s)
{
    return &s->err;
}

void vmig_multifd_send_shutdown(vmig_multifd_send_t *s, int code)
{
    if (code < 0)
        vmig_error_set(&s->err, code, "%s", vmig_strerror(code));
    for (unsigned i = 0; i < s->nopen; i++)
        if (s->chan[i].ch)
            vmig_channel_shutdown(s->chan[i].ch, SHUT_RDWR);
    co_event_set(&s->freed);
}

void vmig_multifd_send_free(vmig_multifd_send_t *s)
{
    if (!s)
        return;
    s->quit = true;
    for (unsigned i = 0; i < s->o.channels; i++) {
        mf_chan_t *c = &s->chan[i];
        if (c->co) {
            co_event_set(&c->wake);
            /* A compression in flight finishes first. */
            while (co_join(c->co, NULL) == -ECANCELED)
                co_cancel_clear();
        }
        if (c->ch)
            vmig_channel_close(c->ch);
        if (c->codec)
            vmig_multifd_codec_free(c->codec);
        free(c->zbuf);
    }
    free(s->chan);
    free(s);
}
