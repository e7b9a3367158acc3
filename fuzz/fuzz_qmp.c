/* fuzz_qmp.c — libFuzzer harness of the QMP monitor's input path, from the
 * bytes a client sends to the bytes it gets back: framing (qmp_json_split),
 * parsing (qmp_json_parse), the dispatcher (negotiation, request checks,
 * exec-oob, flow control, argument checks against the compiled-in schema)
 * and the real command handlers of an engine (stop, cont, quit,
 * query-status, getfd, closefd, plus the monitor's own qmp_capabilities,
 * query-version, query-commands and query-qmp-schema), and the transport's
 * reply serialization and connection teardown.
 *
 * No socket: each input gets an engine as new on a loop shared by the whole
 * process (the last input's when it left it as new: no quit, no named
 * descriptor kept, not closed; its run state is then moved to the one
 * wanted),
 * and an in-memory connection (qmp_conn_mem_open(), the transport's real
 * connection object without a descriptor) whose input is handed over in
 * chunks and whose output comes back as the bytes a socket would carry.
 * After each chunk the loop runs until nothing is left to do, so handlers
 * and their coroutines finish before the next chunk.
 *
 * Input layout: three header bytes, then what the client sends.
 *   byte 0  chunking: bits 0-2 size class (0: everything at once, 1: one
 *           byte at a time, k >= 2: sizes 1..4^(k-1)), bits 3-7 seed the
 *           pseudo-random sizes
 *   byte 1  bit 0    the connection does not offer "oob" (a non-socket
 *                    monitor in QEMU)
 *           bits 1-2 the embedder answers stop/start: 0 at once, 1 from a
 *                    timer, 2 at once with -EIO, 3 from a timer with -EIO
 *           bits 3-4 initial run state: running, prelaunch, paused, inmigrate
 *           bit 5    each of the first 32 chunks carries a descriptor (a dup
 *                    of /dev/null) for getfd, as SCM_RIGHTS would
 *           bits 6-7 the end: 0 the loop runs dry, then the client hangs up;
 *                    1 it hangs up right after its last chunk; 2 the engine
 *                    is closed right after the last chunk; 3 the loop runs
 *                    dry, then the engine is closed with the client still on
 *   byte 2  limits of the connection's splitter: bits 0-3 n, max_input
 *           64 << n bytes (15: the 1 MiB default); bits 4-7 m, max_depth
 *           4 * m (0: the default 64)
 * In modes 1 and 2 the loop is only run between chunks when the connection
 * still holds the previous one, so requests are still queued or running when
 * the client or the engine goes away.
 *
 * Besides the sanitizers, checked on every input (a failure traps):
 * - every message sent is one line of printable ASCII ending in "\r\n", a
 *   JSON object: first the greeting (offering "oob" exactly when the
 *   connection does), then replies ("return", or "error" with a known class
 *   and a desc) and events (only once negotiated);
 * - when the loop ran dry before the end (modes 0 and 3), the client got
 *   exactly one reply per value or error the splitter cuts from the whole
 *   input at once (so chunking changes nothing, and no request goes
 *   unanswered); until "oob" is enabled, replies come in input order and
 *   carry the id of their request exactly when it is an object with one;
 *   once enabled, every id replied is one a request carried;
 * - the connection frees itself after the hang-up, the engine closes, its
 *   quit callback runs at most once, the embedder never gets two run-control
 *   requests at once and every descriptor handed over is closed at the end.
 *
 * The allow-oob commands of the schema that the engine does not implement
 * yet (query-yank, yank, migrate-pause, migrate-recover) get stand-in
 * handlers that let the loop run once before answering, so that exec-oob
 * commands run, and overlap in-band ones, and the schema's checks of their
 * arguments (yank's flat union) are reached. Once the engine registers a
 * real one, that one is used (the stand-in's registration gets -EEXIST).
 *
 * Seeds: fuzz/corpus/fuzz_qmp/ (written by fuzz/gen_qmp_corpus.py, which
 * also keeps the inputs of known bugs out of it); dictionary:
 * fuzz/fuzz_qmp.dict. To fuzz (the ASan allocator dominates: each input
 * allocates many small jansson objects, a new engine a whole schema):
 *   cp -r fuzz/corpus/fuzz_qmp /tmp/c && build-fuzz/fuzz/fuzz_qmp \
 *       -dict=fuzz/fuzz_qmp.dict -max_len=8192 /tmp/c */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "engine/engine.h"
#include "qmp/qmp_json_split.h"
#include "qmp/qmp_transport.h"
#include "vmig/co.h"
#include "vmig/vmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HEADER 3
/* Chunks that may carry a descriptor (one each). */
#define FZ_FD_CHUNKS 32

/* A broken promise: say which, then crash for the fuzzer. */
#define FZ_CHECK(cond)                                                               \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_qmp.c:%d: check failed: %s\n", __LINE__, #cond);   \
            __builtin_trap();                                                        \
        }                                                                            \
    } while (0)

/* ---- the process-wide loop ------------------------------------------------------------ */

static uv_loop_t fz_loop;
static int fz_devnull = -1;

static void fz_init(void)
{
    static bool done;
    if (done)
        return;
    FZ_CHECK(uv_loop_init(&fz_loop) == 0);
    fz_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    FZ_CHECK(fz_devnull >= 0);
    done = true;
}

/* Run the loop until nothing is left to do. */
static void fz_drain(void)
{
    uv_run(&fz_loop, UV_RUN_DEFAULT);
}

/* ---- the embedder --------------------------------------------------------------------- */

typedef struct fz_vmm {
    vmig_engine_t *engine; /* the engine of this input */
    bool deferred;         /* answer from the timer rather than from the callback */
    int answer;            /* 0 or -EIO */
    bool pending;          /* a stop or start is not answered yet */
    uv_timer_t timer;      /* answers deferred requests */
    unsigned quits;        /* quit callbacks */
    bool closed;           /* the engine's close callback ran */
} fz_vmm_t;

static void fz_answer(fz_vmm_t *f)
{
    f->pending = false;
    FZ_CHECK(vmig_engine_run_control_done(f->engine, f->answer) == 0);
}

static void fz_timer_cb(uv_timer_t *t)
{
    fz_answer(t->data);
}

static void fz_run_control(void *opaque, vmig_engine_t *e)
{
    fz_vmm_t *f = opaque;
    FZ_CHECK(e == f->engine && !f->pending); /* run control is serialised */
    f->pending = true;
    if (f->deferred)
        FZ_CHECK(uv_timer_start(&f->timer, fz_timer_cb, 0, 0) == 0);
    else
        fz_answer(f);
}

/* Record only: a `quit` must not end the fuzzer. */
static void fz_quit(void *opaque, vmig_engine_t *e, vmig_shutdown_cause_t cause)
{
    fz_vmm_t *f = opaque;
    FZ_CHECK(e == f->engine && cause == VMIG_SHUTDOWN_HOST_QMP_QUIT);
    f->quits++;
    FZ_CHECK(f->quits == 1); /* called once */
}

static void fz_closed(vmig_engine_t *e, void *arg)
{
    fz_vmm_t *f = arg;
    f->closed = true;
}

static const vmig_run_ops_t fz_ops = {
    .stop = fz_run_control,
    .start = fz_run_control,
    .quit = fz_quit,
};

/* Stand-ins for the allow-oob commands the engine does not implement yet
 * (opaque: whether the reply is a list): let the loop run once, then answer
 * {} or []. */
static int fz_standin(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    if (co_pause() < 0)
        return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "cancelled");
    *ret = opaque ? json_array() : json_object();
    return *ret ? 0 : vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Out of memory");
}

static const struct {
    const char *name; /* an allow-oob command of the schema */
    bool list;        /* it returns a list */
} fz_standins[] = {
    {"query-yank", true},
    {"yank", false},
    {"migrate-pause", false},
    {"migrate-recover", false},
};

/* ---- what the client expects back ------------------------------------------------------ */

typedef struct fz_client {
    vmig_qmp_conn_t *conn; /* the connection; only used inside fz_out() once
                            * hung up (it is alive while it sends) */
    bool oob_capable;      /* the connection offers "oob" */
    unsigned msgs;         /* messages received, greeting included */
    size_t replies;        /* "return" and "error" messages */
    bool unordered;        /* "oob" was enabled: replies may come out of order */
    json_t **items;        /* per value or error the splitter cuts: the parsed value, or NULL */
    size_t nitems;         /* how many */
    json_t *ids;           /* every "id" the requests carry: a set keyed by its JSON text */
} fz_client_t;

/* The key of id in cl->ids (malloc'd). */
static char *fz_id_key(json_t *id)
{
    char *k = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    FZ_CHECK(k);
    return k;
}

static bool fz_is_error_class(const char *s)
{
#define XX(c, str) if (s && strcmp(s, str) == 0) return true;
    VMIG_QMP_ERROR_CLASS_MAP(XX)
#undef XX
    return false;
}

static void fz_check_greeting(const fz_client_t *cl, json_t *m)
{
    json_t *qmp = json_object_get(m, "QMP");
    FZ_CHECK(json_object_size(m) == 1 && json_is_object(qmp));
    json_t *caps = json_object_get(qmp, "capabilities");
    FZ_CHECK(json_is_array(caps) && json_array_size(caps) == (cl->oob_capable ? 1u : 0u));
    FZ_CHECK(json_is_object(json_object_get(json_object_get(qmp, "version"), "qemu")));
}

static void fz_check_reply(fz_client_t *cl, json_t *m)
{
    json_t *id = json_object_get(m, "id");
    json_t *err = json_object_get(m, "error");
    if (err) {
        FZ_CHECK(json_object_size(m) == 1u + (id != NULL) && json_object_size(err) == 2);
        FZ_CHECK(fz_is_error_class(json_string_value(json_object_get(err, "class"))));
        FZ_CHECK(json_is_string(json_object_get(err, "desc")));
    } else {
        FZ_CHECK(json_object_size(m) == 1u + (id != NULL));
    }
    size_t k = cl->replies++;
    if (vmig_qmp_conn_oob(cl->conn))
        cl->unordered = true;
    if (!cl->unordered && k < cl->nitems) {
        /* In order: reply k answers value k, with its id if it has one. */
        json_t *req = cl->items[k];
        json_t *want = json_is_object(req) ? json_object_get(req, "id") : NULL;
        FZ_CHECK((want == NULL) == (id == NULL));
        FZ_CHECK(!want || json_equal(want, id));
    } else if (id) {
        char *key = fz_id_key(id);
        FZ_CHECK(json_object_get(cl->ids, key) != NULL); /* an id some request carried */
        free(key);
    }
}

/* The connection's output: one message per call, as a socket carries it. */
static void fz_out(void *opaque, const char *data, size_t len)
{
    fz_client_t *cl = opaque;
    FZ_CHECK(len >= 4 && data[len - 2] == '\r' && data[len - 1] == '\n');
    for (size_t i = 0; i < len - 2; i++)
        FZ_CHECK(data[i] >= 0x20 && data[i] <= 0x7e);
    json_error_t je;
    json_t *m = json_loadb(data, len - 2, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    FZ_CHECK(json_is_object(m));
    if (cl->msgs++ == 0) {
        fz_check_greeting(cl, m);
    } else if (json_object_get(m, "event")) {
        FZ_CHECK(json_is_string(json_object_get(m, "event")));
        FZ_CHECK(json_is_object(json_object_get(m, "timestamp")));
        FZ_CHECK(vmig_qmp_conn_negotiated(cl->conn));
    } else {
        FZ_CHECK(json_object_get(m, "return") || json_object_get(m, "error"));
        fz_check_reply(cl, m);
    }
    json_decref(m);
}

/* Cut the whole input at once, as the reference: the values (parsed) and
 * errors the client must get one reply each for, and their ids. */
static void fz_expect(fz_client_t *cl, const char *p, size_t n, size_t max_size,
                      unsigned max_depth)
{
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, max_size, max_depth);
    cl->ids = json_object();
    FZ_CHECK(cl->ids);
    size_t cap = 0;
    for (size_t off = 0; off < n;) {
        qmp_json_item_t item;
        size_t used = qmp_json_split_feed(&sp, p + off, n - off, &item);
        FZ_CHECK(used <= n - off && (used > 0 || item.kind != QMP_JSON_NONE));
        off += used;
        if (item.kind == QMP_JSON_NONE)
            continue;
        json_t *v = NULL;
        if (item.kind == QMP_JSON_VALUE) {
            char err[128];
            v = qmp_json_parse(item.data, item.len, err, sizeof(err));
            FZ_CHECK(v || err[0]);
            json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;
            if (id) {
                char *key = fz_id_key(id);
                FZ_CHECK(json_object_set_new(cl->ids, key, json_true()) == 0);
                free(key);
            }
        } else {
            FZ_CHECK(item.error && item.error[0]);
        }
        if (cl->nitems == cap) {
            cap = cap ? cap * 2 : 16;
            json_t **ni = realloc(cl->items, cap * sizeof(*ni));
            FZ_CHECK(ni);
            cl->items = ni;
        }
        cl->items[cl->nitems++] = v;
    }
    qmp_json_split_free(&sp);
}

static void fz_client_free(fz_client_t *cl)
{
    for (size_t i = 0; i < cl->nitems; i++)
        json_decref(cl->items[i]);
    free(cl->items);
    json_decref(cl->ids);
}

/* ---- chunks --------------------------------------------------------------------------- */

typedef struct fz_chunker {
    unsigned cls;   /* size class (byte 0, bits 0-2) */
    uint32_t state; /* xorshift32 */
} fz_chunker_t;

static size_t fz_next_chunk(fz_chunker_t *ch, size_t left)
{
    size_t n;
    if (ch->cls == 0) {
        n = left;
    } else if (ch->cls == 1) {
        n = 1;
    } else {
        uint32_t x = ch->state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ch->state = x;
        n = 1 + x % (1u << (2 * (ch->cls - 1)));
    }
    return n < left ? n : left;
}

/* ---- one input ------------------------------------------------------------------------ */

enum { FZ_END_DRAIN_EOF, FZ_END_EOF, FZ_END_CLOSE, FZ_END_DRAIN_CLOSE };

/* A new engine driven by a new fz_vmm_t. */
static fz_vmm_t *fz_vmm_new(void)
{
    fz_vmm_t *f = calloc(1, sizeof(*f));
    FZ_CHECK(f);
    FZ_CHECK(uv_timer_init(&fz_loop, &f->timer) == 0);
    f->timer.data = f;
    vmig_engine_opts_t eo = {.run_ops = &fz_ops, .run_opaque = f, .name = "fuzz",
                             .package = "vmig-fuzz"};
    FZ_CHECK(vmig_engine_new(&fz_loop, &eo, &f->engine) == 0);
    for (size_t i = 0; i < sizeof(fz_standins) / sizeof(fz_standins[0]); i++) {
        int r = vmig_qmp_register(vmig_engine_qmp(f->engine), fz_standins[i].name, fz_standin,
                                  fz_standins[i].list ? (void *)1 : NULL);
        FZ_CHECK(r == 0 || r == -EEXIST); /* -EEXIST: the real one arrived */
    }
    return f;
}

/* Close f's engine; the loop runs until it is gone. */
static void fz_vmm_free(fz_vmm_t *f)
{
    FZ_CHECK(vmig_engine_close(f->engine, fz_closed, f) == 0);
    fz_drain();
    FZ_CHECK(f->closed && !f->pending);
    uv_close((uv_handle_t *)&f->timer, NULL);
    fz_drain();
    free(f);
}

static void fz_to(vmig_engine_t *e, vmig_run_state_t s)
{
    if (vmig_engine_run_state(e) != s)
        FZ_CHECK(vmig_engine_set_run_state(e, s) == 0);
}

/* The four states an input may start in (byte 1, bits 3-4). */
static const vmig_run_state_t fz_states[4] = {
    VMIG_RUN_STATE_RUNNING, VMIG_RUN_STATE_PRELAUNCH, VMIG_RUN_STATE_PAUSED,
    VMIG_RUN_STATE_INMIGRATE,
};

static bool fz_is_start_state(vmig_run_state_t s)
{
    for (unsigned i = 0; i < 4; i++)
        if (s == fz_states[i])
            return true;
    return false;
}

/* Move an engine in one of fz_states to another, through transitions QEMU
 * allows: back to prelaunch (from running through paused), then forward. */
static void fz_set_state(vmig_engine_t *e, vmig_run_state_t want)
{
    vmig_run_state_t s = vmig_engine_run_state(e);
    if (s == want)
        return;
    if (s == VMIG_RUN_STATE_RUNNING)
        fz_to(e, VMIG_RUN_STATE_PAUSED);
    fz_to(e, VMIG_RUN_STATE_PRELAUNCH);
    if (want == VMIG_RUN_STATE_PAUSED)
        fz_to(e, VMIG_RUN_STATE_RUNNING);
    fz_to(e, want);
}

/* An engine left as new by the last input (no quit, no named descriptor,
 * one of the start states, nothing running), kept for the next one: making
 * one loads the whole schema, which costs more than most inputs. */
static fz_vmm_t *fz_spare;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    uint8_t hdr[FZ_HEADER] = {0, 0, 0xff};
    memcpy(hdr, data, size < FZ_HEADER ? size : FZ_HEADER);
    const char *payload = size > FZ_HEADER ? (const char *)data + FZ_HEADER : "";
    size_t plen = size > FZ_HEADER ? size - FZ_HEADER : 0;

    fz_chunker_t ch = {.cls = hdr[0] & 7u, .state = ((uint32_t)(hdr[0] >> 3) + 1u) * 0x9E3779B9u};
    bool oob_capable = !(hdr[1] & 1u);
    unsigned end = hdr[1] >> 6;
    bool with_fds = hdr[1] & 0x20u;

    fz_vmm_t *f = fz_spare ? fz_spare : fz_vmm_new();
    fz_spare = NULL;
    f->deferred = hdr[1] & 2u;
    f->answer = hdr[1] & 4u ? -EIO : 0;
    vmig_engine_t *e = f->engine;
    fz_set_state(e, fz_states[(hdr[1] >> 3) & 3u]);
    vmig_engine_set_autostart(e, true);
    vmig_qmp_t *qmp = vmig_engine_qmp(e);
    /* The connection's splitter takes its limits from the monitor's options
     * when it opens. */
    unsigned n = hdr[2] & 15u, m = hdr[2] >> 4;
    qmp->opts.max_input = n == 15 ? QMP_JSON_DEFAULT_MAX_SIZE : (size_t)64 << n;
    qmp->opts.max_depth = m == 0 ? QMP_JSON_DEFAULT_MAX_DEPTH : 4 * m;

    fz_client_t cl = {.oob_capable = oob_capable};
    fz_expect(&cl, payload, plen, qmp->opts.max_input, qmp->opts.max_depth);
    cl.conn = qmp_conn_mem_open(qmp, oob_capable, fz_out, &cl);
    FZ_CHECK(cl.conn && cl.msgs == 1); /* greeted at once */

    int fds_made[FZ_FD_CHUNKS];
    unsigned nmade = 0;
    bool hurry = end == FZ_END_EOF || end == FZ_END_CLOSE;
    for (size_t off = 0; off < plen;) {
        size_t len = fz_next_chunk(&ch, plen - off);
        int fd = -1;
        if (with_fds && nmade < FZ_FD_CHUNKS) {
            fd = fcntl(fz_devnull, F_DUPFD_CLOEXEC, 0);
            FZ_CHECK(fd >= 0);
            fds_made[nmade++] = fd;
        }
        /* The connection reads everything handed over unless a request
         * holds it; in a hurry, run the loop only while it does. */
        while (qmp_conn_mem_busy(cl.conn))
            FZ_CHECK(uv_run(&fz_loop, UV_RUN_ONCE) != 0 || !qmp_conn_mem_busy(cl.conn));
        FZ_CHECK(qmp_conn_mem_input(cl.conn, payload + off, len, fd >= 0 ? &fd : NULL,
                                    fd >= 0 ? 1 : 0) == 0);
        off += len;
        if (!hurry) {
            fz_drain();
            FZ_CHECK(!qmp_conn_mem_busy(cl.conn)); /* nothing left to run, yet held */
        }
    }

    bool closing = end == FZ_END_CLOSE || end == FZ_END_DRAIN_CLOSE;
    if (!hurry) {
        fz_drain();
        FZ_CHECK(!qmp_conn_mem_busy(cl.conn));
        /* Every value and error was answered, once. */
        FZ_CHECK(cl.replies == cl.nitems);
    }
    if (!closing) {
        qmp_conn_mem_eof(cl.conn);
        fz_drain();
        FZ_CHECK(qmp_transport_conn_count(qmp) == 0);
    }
    FZ_CHECK(cl.replies <= cl.nitems);
    size_t replies = cl.replies;

    if (closing || e->nfds || f->quits || !fz_is_start_state(vmig_engine_run_state(e))) {
        /* The connection, if still open, goes with the monitor. */
        fz_vmm_free(f);
        FZ_CHECK(cl.replies == replies);
    } else {
        FZ_CHECK(!f->pending);
        fz_spare = f;
    }

    /* Every descriptor handed over was closed: kept ones by closefd or the
     * engine's close, the others with the connection. */
    for (unsigned i = 0; i < nmade; i++)
        FZ_CHECK(fcntl(fds_made[i], F_GETFD) < 0 && errno == EBADF);

    fz_client_free(&cl);
    return 0;
}
