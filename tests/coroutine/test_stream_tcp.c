/* test_stream_tcp.c — co_stream_* over a real loopback TCP connection with a
 * coroutine on each end: exact reads, writev, 64 MiB with a checksum, EOF. */
#include "glue_test.h"

#include <signal.h>
#include <stdlib.h>

/* Both ends of one connection. */
typedef struct tcp_pair {
    uv_tcp_t listener;     /* bound to 127.0.0.1, port 0 */
    uv_tcp_t server;       /* the accepted end */
    uv_tcp_t client;       /* the connecting end */
    co_stream_t ss;        /* stream over server */
    co_stream_t cs;        /* stream over client */
    co_event_t accepted;   /* a connection is waiting on the listener */
    co_event_t connected;  /* the connect request completed */
    int connect_status;    /* its status */
    int listen_status;     /* status given to the connection callback */
    uint64_t sent_sum;     /* checksum of what the writer sent */
} tcp_pair_t;

static void on_connection(uv_stream_t *l, int status)
{
    tcp_pair_t *p = l->data;
    p->listen_status = status;
    co_event_set(&p->accepted);
}

static void on_connect(uv_connect_t *req, int status)
{
    tcp_pair_t *p = req->data;
    p->connect_status = status;
    co_event_set(&p->connected);
}

/* In a coroutine: connect p->client to p->server through a listener. */
static int pair_open(tcp_pair_t *p)
{
    uv_loop_t *loop = co_loop(co_self());
    co_event_init(&p->accepted);
    co_event_init(&p->connected);
    assert_int_equal(uv_tcp_init(loop, &p->listener), 0);
    assert_int_equal(uv_tcp_init(loop, &p->server), 0);
    assert_int_equal(uv_tcp_init(loop, &p->client), 0);
    p->listener.data = p;
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    assert_int_equal(uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&p->listener, 4, on_connection), 0);
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    assert_int_equal(uv_tcp_getsockname(&p->listener, (struct sockaddr *)&bound, &len), 0);
    assert_true(((struct sockaddr_in *)&bound)->sin_port != 0);

    uv_connect_t req;
    req.data = p;
    assert_int_equal(uv_tcp_connect(&req, &p->client, (const struct sockaddr *)&bound, on_connect), 0);
    assert_int_equal(co_event_wait(&p->connected, 10000), 0);
    assert_int_equal(p->connect_status, 0);
    assert_int_equal(co_event_wait(&p->accepted, 10000), 0);
    assert_int_equal(p->listen_status, 0);
    assert_int_equal(uv_accept((uv_stream_t *)&p->listener, (uv_stream_t *)&p->server), 0);
    co_close((uv_handle_t *)&p->listener);
    assert_int_equal(co_stream_init(&p->ss, (uv_stream_t *)&p->server), 0);
    assert_int_equal(co_stream_init(&p->cs, (uv_stream_t *)&p->client), 0);
    assert_ptr_equal(p->server.data, &p->ss);
    return 0;
}

/* Run writer on the client end and reader on the server end, then close. */
typedef struct pair_run {
    tcp_pair_t p;    /* the connection */
    co_fn writer;    /* body on the client end */
    co_fn reader;    /* body on the server end */
} pair_run_t;

static int pair_main(void *arg)
{
    pair_run_t *run = arg;
    pair_open(&run->p);
    int rres = -1, wres = -1;
    glue_both(run->reader, &run->p, run->writer, &run->p, &rres, &wres);
    assert_int_equal(wres, 0);
    assert_int_equal(rres, 0);
    co_stream_close(&run->p.cs);
    co_stream_close(&run->p.ss);
    return 0;
}

static void run_pair(co_fn writer, co_fn reader)
{
    pair_run_t *run = calloc(1, sizeof(*run));
    assert_non_null(run);
    run->writer = writer;
    run->reader = reader;
    assert_int_equal(vt_run(pair_main, run), 0);
    free(run);
}

/* ---- framed messages with writev and exact reads --------------------------- */

#define NMSG 200

static size_t msg_len(int i)
{
    return (size_t)(i * 37 % 3000) + 1;
}

static void msg_fill(char *buf, size_t len, int i)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (char)(i * 7 + k);
}

static int framed_writer(void *arg)
{
    tcp_pair_t *p = arg;
    static char body[3001];
    for (int i = 0; i < NMSG; i++) {
        size_t len = msg_len(i);
        uint32_t hdr = (uint32_t)len;
        msg_fill(body, len, i);
        /* Header, body in two pieces, an empty buffer and a trailer byte. */
        char trailer = (char)0xA5;
        uv_buf_t bufs[5] = {
            {.base = (char *)&hdr, .len = sizeof(hdr)},
            {.base = body, .len = len / 2},
            {.base = body + len / 2, .len = 0},
            {.base = body + len / 2, .len = len - len / 2},
            {.base = &trailer, .len = 1},
        };
        int r = co_stream_writev(&p->cs, bufs, 5);
        if (r < 0)
            return r;
    }
    return co_stream_shutdown(&p->cs);
}

static int framed_reader(void *arg)
{
    tcp_pair_t *p = arg;
    static char body[3001], want[3001];
    for (int i = 0; i < NMSG; i++) {
        uint32_t hdr = 0;
        size_t got = 99;
        assert_int_equal(co_stream_read_exact(&p->ss, &hdr, sizeof(hdr), &got), 0);
        assert_int_equal(got, sizeof(hdr));
        assert_int_equal(hdr, msg_len(i));
        assert_int_equal(co_stream_read_exact(&p->ss, body, hdr + 1, &got), 0);
        assert_int_equal(got, hdr + 1);
        msg_fill(want, hdr, i);
        assert_memory_equal(body, want, hdr);
        assert_int_equal((unsigned char)body[hdr], 0xA5);
    }
    /* After the shutdown: end of stream, and it stays so. */
    char c;
    assert_int_equal(co_stream_read(&p->ss, &c, 1), 0);
    assert_int_equal(co_stream_read(&p->ss, &c, 1), 0);
    return 0;
}

static void test_framed_writev_exact(void **state)
{
    run_pair(framed_writer, framed_reader);
}

/* ---- 64 MiB with a checksum -------------------------------------------------- */

#define BIG (64u << 20)
#define CHUNK (1u << 20)

typedef struct big_state {
    uint64_t x;    /* xorshift state of the pattern */
    uint64_t sum;  /* FNV-1a of every byte so far */
} big_state_t;

static void fill_pattern(big_state_t *st, unsigned char *buf, size_t len)
{
    for (size_t k = 0; k + 8 <= len; k += 8) {
        st->x ^= st->x << 13;
        st->x ^= st->x >> 7;
        st->x ^= st->x << 17;
        memcpy(buf + k, &st->x, 8);
    }
}

static int big_writer(void *arg)
{
    tcp_pair_t *p = arg;
    unsigned char *buf = malloc(4 * CHUNK);
    if (!buf)
        return -ENOMEM;
    big_state_t st = {0x9E3779B97F4A7C15ull, VT_FNV_INIT};
    size_t sent = 0;
    int r = 0;
    for (int round = 0; sent < BIG && r == 0; round++) {
        /* Alternate one 4 MiB write and a writev of three unequal pieces. */
        size_t n = round % 2 ? 4 * CHUNK : CHUNK;
        if (n > BIG - sent)
            n = BIG - sent;
        fill_pattern(&st, buf, n);
        st.sum = vt_fnv(st.sum, buf, n);
        if (round % 2) {
            r = co_stream_write(&p->cs, buf, n);
        } else {
            uv_buf_t bufs[3] = {
                {.base = (char *)buf, .len = 1000},
                {.base = (char *)buf + 1000, .len = n / 2},
                {.base = (char *)buf + 1000 + n / 2, .len = n - 1000 - n / 2},
            };
            r = co_stream_writev(&p->cs, bufs, 3);
        }
        sent += n;
    }
    free(buf);
    p->sent_sum = st.sum;
    if (r == 0)
        r = co_stream_shutdown(&p->cs);
    return r;
}

static int big_reader(void *arg)
{
    tcp_pair_t *p = arg;
    unsigned char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    uint64_t sum = VT_FNV_INIT;
    size_t total = 0;
    int some_reads = 0;
    for (int i = 0; total < BIG; i++) {
        size_t want = BIG - total < CHUNK ? BIG - total : CHUNK;
        if (i % 3 == 0) {
            /* Whatever is there, at least a byte. */
            ssize_t n = co_stream_read(&p->ss, buf, want);
            assert_true(n > 0);
            assert_true((size_t)n <= want);
            sum = vt_fnv(sum, buf, (size_t)n);
            total += (size_t)n;
            some_reads++;
        } else {
            size_t got = 0;
            assert_int_equal(co_stream_read_exact(&p->ss, buf, want, &got), 0);
            assert_int_equal(got, want);
            sum = vt_fnv(sum, buf, want);
            total += want;
        }
    }
    assert_int_equal(total, BIG);
    assert_true(some_reads > 0);
    size_t got = 1;
    assert_int_equal(co_stream_read_exact(&p->ss, buf, 1, &got), -ENODATA);
    assert_int_equal(got, 0);
    free(buf);
    /* The writer finished before our EOF. */
    assert_int_equal(sum, p->sent_sum);
    return 0;
}

static void test_64mib_checksum(void **state)
{
    run_pair(big_writer, big_reader);
}

/* ---- early EOF --------------------------------------------------------------- */

static int eof_writer(void *arg)
{
    tcp_pair_t *p = arg;
    int r = co_stream_write(&p->cs, "0123456789", 10);
    if (r == 0)
        r = co_stream_shutdown(&p->cs);
    /* Writing after the shutdown fails; it is not a crash. */
    if (r == 0 && co_stream_write(&p->cs, "x", 1) >= 0)
        r = -1;
    return r;
}

static int eof_reader(void *arg)
{
    tcp_pair_t *p = arg;
    char buf[32];
    memset(buf, 0, sizeof(buf));
    size_t got = 0;
    assert_int_equal(co_stream_read_exact(&p->ss, buf, 20, &got), -ENODATA);
    assert_int_equal(got, 10);
    assert_memory_equal(buf, "0123456789", 10);
    got = 5;
    assert_int_equal(co_stream_read_exact(&p->ss, buf, 4, &got), -ENODATA);
    assert_int_equal(got, 0);
    assert_int_equal(co_stream_read(&p->ss, buf, sizeof(buf)), 0);
    /* A zero-length exact read asks for nothing and gets it. */
    assert_int_equal(co_stream_read_exact(&p->ss, buf, 0, NULL), 0);
    return 0;
}

static void test_early_eof(void **state)
{
    run_pair(eof_writer, eof_reader);
}

int main(void)
{
    /* A write to a shut-down socket must fail with EPIPE, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framed_writev_exact),
        cmocka_unit_test(test_64mib_checksum),
        cmocka_unit_test(test_early_eof),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
