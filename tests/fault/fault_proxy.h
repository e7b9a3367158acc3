/* fault_proxy.h — a TCP fault proxy on the test's own libuv loop (plain
 * uv_tcp, callbacks, no threads), for the fault tests and the multifd job
 * tests (tests/migration/test_job_multifd.c).
 *
 * fp_init() listens on 127.0.0.1:0 (fp->uri is "tcp:127.0.0.1:PORT") and
 * forwards every accepted connection to the target, connecting one at a
 * time so the target sees them in accept order. Connection i (accept order,
 * 0 first) gets fp->fault[i] (FP_MAX_CONNS at most; the rest pass through):
 *
 *   FP_CUT      after N bytes from the source side: the source's end is
 *               reset, the target's gets exactly N bytes then EOF (what it
 *               sends is drained; closed at its EOF or by fp_close);
 *   FP_STALL    after N bytes from the source side nothing more is
 *               forwarded either way (both ends stay open, unread);
 *   FP_FLIP     the byte at offset N of the source->target direction is
 *               XORed with 0xff, everything else passes;
 *   FP_TRUNCATE after N bytes the source->target direction is closed
 *               cleanly (FIN after the N bytes), further source bytes are
 *               read and thrown away; target->source still flows;
 *   FP_RATE     the source->target direction at most B bytes/s;
 *   FP_BACK_FLIP the byte at offset N of the target->source direction (a
 *               return path) is XORed with 0xff.
 *
 * Offsets count bytes of the source->target direction of that connection
 * (FP_BACK_FLIP: of the other one). The target->source direction (a return
 * path) is forwarded untouched except by FP_CUT, FP_STALL and FP_BACK_FLIP. Everything is freed by fp_close(), which
 * runs the loop until the proxy's handles are closed. */
#ifndef FAULT_PROXY_H
#define FAULT_PROXY_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#ifndef FP_ASSERT
#include <assert.h>
#define FP_ASSERT(x) assert(x)
#endif

#define FP_MAX_CONNS 16
#define FP_CHUNK (64u * 1024u)
#define FP_HIGH (2u * 1024u * 1024u)
#define FP_LOW (256u * 1024u)

typedef enum {
    FP_NONE = 0, FP_CUT, FP_STALL, FP_FLIP, FP_TRUNCATE, FP_RATE, FP_BACK_FLIP
} fp_kind_t;

typedef struct fp_fault {
    fp_kind_t kind;
    uint64_t n; /* byte offset (FP_CUT/STALL/FLIP/TRUNCATE) or bytes/s (FP_RATE) */
} fp_fault_t;

typedef struct fp fp_t;
typedef struct fp_conn fp_conn_t;

typedef struct fp_end {
    uv_tcp_t tcp;
    fp_conn_t *c;
    struct fp_end *peer;
    bool open;     /* initialised, not closing */
    bool reading;  /* uv_read_start'ed */
    bool paused;   /* not to be restarted (stall, rate wait) */
    bool eof;      /* EOF read on it */
    bool discard;  /* throw away what is read */
    bool shut;     /* uv_shutdown issued */
    uv_shutdown_t sreq;
} fp_end_t;

struct fp_conn {
    fp_t *fp;
    unsigned idx;
    fp_fault_t fault;
    fp_end_t src, dst;
    uv_connect_t creq;
    bool connected;
    bool fired;          /* the fault took effect */
    uint64_t fwd;        /* bytes read from the source */
    uint64_t back;       /* bytes read from the target */
    uint64_t rate_t0;    /* FP_RATE: first byte, ns */
    uv_timer_t timer;    /* FP_RATE */
    bool timer_open;
    unsigned handles;
    fp_conn_t *next;
};

struct fp {
    uv_loop_t *loop;
    uv_tcp_t lsn;
    bool lsn_open;
    struct sockaddr_in to;
    char uri[64];
    fp_fault_t fault[FP_MAX_CONNS]; /* per connection index; set before connections */
    fp_conn_t *conns;
    unsigned naccepted;
    bool connecting;
    unsigned live;
    unsigned fired;       /* faults that took effect */
    uint64_t total_fwd;   /* source -> target bytes read, all connections */
    uint64_t total_back;  /* target -> source bytes read */
};

typedef struct fp_wr {
    uv_write_t w;
    uv_buf_t b;
    fp_end_t *from;
} fp_wr_t;

static inline void fp_conn_closed(uv_handle_t *h)
{
    fp_conn_t *c = h->type == UV_TIMER ? (fp_conn_t *)h->data : ((fp_end_t *)h->data)->c;
    if (--c->handles == 0) {
        fp_t *fp = c->fp;
        for (fp_conn_t **pp = &fp->conns; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
        fp->live--;
        free(c);
    }
}

static inline void fp_end_close(fp_end_t *e, bool reset)
{
    if (!e->open)
        return;
    e->open = false;
    e->reading = false;
    if (reset)
        uv_tcp_close_reset(&e->tcp, fp_conn_closed);
    else
        uv_close((uv_handle_t *)&e->tcp, fp_conn_closed);
}

static inline void fp_conn_close(fp_conn_t *c)
{
    fp_end_close(&c->src, false);
    fp_end_close(&c->dst, false);
    if (c->timer_open) {
        c->timer_open = false;
        uv_close((uv_handle_t *)&c->timer, fp_conn_closed);
    }
}

static inline void fp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(FP_CHUNK);
    buf->len = buf->base ? FP_CHUNK : 0;
}

static inline void fp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static inline void fp_start_reading(fp_end_t *e)
{
    if (e->open && !e->reading && !e->eof && !e->paused) {
        e->reading = true;
        uv_read_start((uv_stream_t *)&e->tcp, fp_alloc, fp_read);
    }
}

static inline void fp_stop_reading(fp_end_t *e)
{
    if (e->open && e->reading)
        uv_read_stop((uv_stream_t *)&e->tcp);
    e->reading = false;
}

static inline void fp_written(uv_write_t *w, int status)
{
    fp_wr_t *wr = (fp_wr_t *)w;
    fp_end_t *from = wr->from;
    free(wr->b.base);
    free(wr);
    if (status < 0) {
        if (status != UV_ECANCELED)
            fp_conn_close(from->c);
        return;
    }
    fp_end_t *to = from->peer;
    if (to->open && to->tcp.write_queue_size < FP_LOW)
        fp_start_reading(from);
}

static inline void fp_maybe_done(fp_conn_t *c)
{
    bool src_done = !c->src.open || c->src.eof;
    bool dst_done = !c->dst.open || c->dst.eof;
    if (src_done && dst_done)
        fp_conn_close(c);
}

static inline void fp_shut_done(uv_shutdown_t *r, int status)
{
    fp_end_t *e = r->data;
    if (status < 0 && status != UV_ECANCELED)
        fp_conn_close(e->c);
}

/* Shut the writes of `to` once what is queued went (FIN after the data). */
static inline void fp_shutdown(fp_end_t *to)
{
    if (!to->open || to->shut)
        return;
    to->shut = true;
    to->sreq.data = to;
    if (uv_shutdown(&to->sreq, (uv_stream_t *)&to->tcp, fp_shut_done) < 0)
        fp_conn_close(to->c);
}

/* Queue len bytes of base (owned, freed when written) from e to its peer. */
static inline bool fp_forward(fp_end_t *e, char *base, size_t len)
{
    fp_end_t *to = e->peer;
    if (!len || !to->open || to->shut) {
        free(base);
        return true;
    }
    fp_wr_t *wr = malloc(sizeof(*wr));
    FP_ASSERT(wr);
    wr->b = uv_buf_init(base, (unsigned)len);
    wr->from = e;
    if (uv_write(&wr->w, (uv_stream_t *)&to->tcp, &wr->b, 1, fp_written) < 0) {
        free(base);
        free(wr);
        fp_conn_close(e->c);
        return false;
    }
    if (to->tcp.write_queue_size > FP_HIGH)
        fp_stop_reading(e);
    return true;
}

static inline void fp_rate_tick(uv_timer_t *t)
{
    fp_conn_t *c = t->data;
    c->src.paused = false;
    if (c->dst.open && c->dst.tcp.write_queue_size < FP_LOW)
        fp_start_reading(&c->src);
}

static inline void fp_fire(fp_conn_t *c)
{
    if (!c->fired) {
        c->fired = true;
        c->fp->fired++;
    }
}

/* Bytes [fwd, fwd + n) from the source: apply the connection's fault. */
static inline void fp_from_source(fp_conn_t *c, char *base, size_t n)
{
    fp_t *fp = c->fp;
    uint64_t at = c->fwd;
    c->fwd += n;
    fp->total_fwd += n;
    fp_fault_t f = c->fault;
    switch (f.kind) {
    case FP_FLIP:
        if (f.n >= at && f.n < at + n) {
            base[f.n - at] ^= (char)0xff;
            fp_fire(c);
        }
        fp_forward(&c->src, base, n);
        return;
    case FP_RATE: {
        if (!c->rate_t0)
            c->rate_t0 = uv_hrtime();
        fp_forward(&c->src, base, n);
        uint64_t due = c->rate_t0 + (uint64_t)((double)c->fwd * 1e9 / (double)(f.n ? f.n : 1));
        uint64_t now = uv_hrtime();
        if (due > now && c->timer_open) {
            fp_stop_reading(&c->src);
            c->src.paused = true;
            uv_timer_start(&c->timer, fp_rate_tick, (due - now) / 1000000u + 1, 0);
        }
        return;
    }
    case FP_CUT:
    case FP_STALL:
    case FP_TRUNCATE:
        break;
    default:
        fp_forward(&c->src, base, n);
        return;
    }
    if (c->fired) { /* after the fault: thrown away */
        free(base);
        return;
    }
    if (at + n <= f.n) {
        fp_forward(&c->src, base, n);
        if (at + n < f.n)
            return;
        base = NULL;
        n = 0;
    } else {
        /* The first f.n - at bytes go; the rest is dropped. */
        size_t keep = (size_t)(f.n - at);
        char *head = keep ? malloc(keep) : NULL;
        if (keep) {
            FP_ASSERT(head);
            memcpy(head, base, keep);
            fp_forward(&c->src, head, keep);
        }
        free(base);
    }
    fp_fire(c);
    switch (f.kind) {
    case FP_CUT:
        /* The target's end keeps being read (and drained) until its EOF:
         * closing it with unread bytes would send a RST, which throws away
         * what the target had not read yet. */
        c->dst.discard = true;
        fp_end_close(&c->src, true);
        fp_shutdown(&c->dst);
        break;
    case FP_STALL:
        fp_stop_reading(&c->src);
        fp_stop_reading(&c->dst);
        c->src.paused = c->dst.paused = true;
        break;
    case FP_TRUNCATE:
        c->src.discard = true;
        fp_shutdown(&c->dst);
        break;
    default:
        break;
    }
}

static inline void fp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    fp_end_t *e = s->data;
    fp_conn_t *c = e->c;
    if (n > 0) {
        if (e == &c->src) {
            if (e->discard) {
                c->fwd += (uint64_t)n;
                c->fp->total_fwd += (uint64_t)n;
                free(buf->base);
                return;
            }
            fp_from_source(c, buf->base, (size_t)n);
        } else if (e->discard) {
            c->back += (uint64_t)n;
            c->fp->total_back += (uint64_t)n;
            free(buf->base);
        } else {
            uint64_t at = c->back;
            c->back += (uint64_t)n;
            c->fp->total_back += (uint64_t)n;
            if (c->fault.kind == FP_BACK_FLIP && c->fault.n >= at && c->fault.n < c->back) {
                buf->base[c->fault.n - at] ^= (char)0xff;
                fp_fire(c);
            }
            fp_forward(e, buf->base, (size_t)n);
        }
        return;
    }
    free(buf->base);
    if (n == 0)
        return;
    fp_stop_reading(e);
    if (n != UV_EOF) {
        fp_conn_close(c);
        return;
    }
    e->eof = true;
    fp_shutdown(e->peer);
    fp_maybe_done(c);
}

static inline void fp_connect_next(fp_t *fp);

static inline void fp_connected(uv_connect_t *r, int status)
{
    fp_conn_t *c = r->data;
    fp_t *fp = c->fp;
    fp->connecting = false;
    c->connected = true;
    if (status < 0 || !c->src.open || !c->dst.open) {
        fp_conn_close(c);
    } else {
        uv_tcp_nodelay(&c->dst.tcp, 1);
        fp_start_reading(&c->src);
        fp_start_reading(&c->dst);
    }
    fp_connect_next(fp);
}

static inline void fp_connect_next(fp_t *fp)
{
    if (fp->connecting)
        return;
    for (fp_conn_t *c = fp->conns; c; c = c->next) {
        if (c->connected || !c->dst.open)
            continue;
        c->creq.data = c;
        fp->connecting = true;
        if (uv_tcp_connect(&c->creq, &c->dst.tcp, (const struct sockaddr *)&fp->to,
                           fp_connected) < 0) {
            fp->connecting = false;
            c->connected = true;
            fp_conn_close(c);
            continue;
        }
        return;
    }
}

static inline void fp_end_init(fp_conn_t *c, fp_end_t *e, fp_end_t *peer)
{
    e->c = c;
    e->peer = peer;
    uv_tcp_init(c->fp->loop, &e->tcp);
    e->tcp.data = e;
    e->open = true;
    c->handles++;
}

static inline void fp_accept(uv_stream_t *l, int status)
{
    fp_t *fp = l->data;
    if (status < 0)
        return;
    fp_conn_t *c = calloc(1, sizeof(*c));
    FP_ASSERT(c);
    c->fp = fp;
    c->idx = fp->naccepted++;
    if (c->idx < FP_MAX_CONNS)
        c->fault = fp->fault[c->idx];
    fp_end_init(c, &c->src, &c->dst);
    fp_end_init(c, &c->dst, &c->src);
    if (c->fault.kind == FP_RATE) {
        uv_timer_init(fp->loop, &c->timer);
        c->timer.data = c;
        c->timer_open = true;
        c->handles++;
    }
    fp->live++;
    fp_conn_t **pp = &fp->conns;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    if (uv_accept(l, (uv_stream_t *)&c->src.tcp) < 0) {
        c->connected = true;
        fp_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->src.tcp, 1);
    fp_connect_next(fp);
}

/* A proxy to target_uri ("tcp:127.0.0.1:PORT" or "HOST:PORT", port after the
 * last colon). Faults: set fp->fault[i] after fp_init, before connections. */
static inline void fp_init(fp_t *fp, uv_loop_t *loop, const char *target_uri)
{
    memset(fp, 0, sizeof(*fp));
    fp->loop = loop;
    const char *colon = strrchr(target_uri, ':');
    FP_ASSERT(colon);
    FP_ASSERT(uv_ip4_addr("127.0.0.1", atoi(colon + 1), &fp->to) == 0);
    FP_ASSERT(uv_tcp_init(loop, &fp->lsn) == 0);
    fp->lsn.data = fp;
    fp->lsn_open = true;
    struct sockaddr_in any;
    FP_ASSERT(uv_ip4_addr("127.0.0.1", 0, &any) == 0);
    FP_ASSERT(uv_tcp_bind(&fp->lsn, (const struct sockaddr *)&any, 0) == 0);
    FP_ASSERT(uv_listen((uv_stream_t *)&fp->lsn, 64, fp_accept) == 0);
    struct sockaddr_in bound;
    int len = sizeof(bound);
    FP_ASSERT(uv_tcp_getsockname(&fp->lsn, (struct sockaddr *)&bound, &len) == 0);
    snprintf(fp->uri, sizeof(fp->uri), "tcp:127.0.0.1:%u", ntohs(bound.sin_port));
}

/* Convenience: one fault on connection idx. */
static inline void fp_set(fp_t *fp, unsigned idx, fp_kind_t kind, uint64_t n)
{
    FP_ASSERT(idx < FP_MAX_CONNS);
    fp->fault[idx].kind = kind;
    fp->fault[idx].n = n;
}

static inline void fp_lsn_closed(uv_handle_t *h)
{
    ((fp_t *)h->data)->lsn_open = false;
}

/* Close the listener and every connection; run the loop (UV_RUN_NOWAIT)
 * until all of the proxy's handles are gone, at most timeout_ms. Returns
 * false on timeout. */
static inline bool fp_close(fp_t *fp, uint64_t timeout_ms)
{
    if (fp->lsn_open && !uv_is_closing((uv_handle_t *)&fp->lsn))
        uv_close((uv_handle_t *)&fp->lsn, fp_lsn_closed);
    for (fp_conn_t *c = fp->conns; c; c = c->next)
        fp_conn_close(c);
    uint64_t end = uv_hrtime() + timeout_ms * 1000000ull;
    while (fp->live || fp->lsn_open) {
        if (uv_hrtime() > end)
            return false;
        uv_run(fp->loop, UV_RUN_NOWAIT);
        usleep(200);
    }
    return true;
}

#endif
