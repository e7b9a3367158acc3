/* test_transport_stress.c — the QMP transport under abuse: a client that
 * never reads its replies is dropped once its queue passes max_output while
 * the loop keeps running (a timer keeps firing, another client is served),
 * and 2000 connections opened and closed, some mid-command, leave no
 * descriptor and no connection behind and memory where it was. */
#include "transport_test.h"

#include <malloc.h>

static void test_slow_reader_dropped(void **state)
{
    tt_dir_t d;
    vmig_qmp_opts_t opts = {.max_output = 256 * 1024};
    tt_server_t *s = tt_start_unix(&d, &opts);

    tt_client_t *slow = tt_connect_unix(d.uri);
    tt_client_t *good = tt_connect_unix(d.uri);
    assert_non_null(slow);
    assert_non_null(good);
    tt_negotiate(slow);
    tt_negotiate(good);
    /* Small socket buffers, so the server's queue is what fills up. */
    int sz = 16 * 1024;
    setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));

    /* 200 requests for 64 KiB each, never reading a reply: 12.5 MiB of
     * replies for a 256 KiB budget. */
    unsigned ticks0 = atomic_load(&s->ticks);
    uint64_t t0 = tt_now_ms();
    const char *req = "{\"execute\":\"big\",\"arguments\":{\"n\":65536}}";
    for (int i = 0; i < 200 && tt_live(s) == 2; i++) {
        ssize_t n = send(slow->fd, req, strlen(req), MSG_NOSIGNAL);
        if (n < 0)
            break; /* already dropped */
    }
    /* The server drops it on its own, while this client still reads nothing. */
    tt_wait_live(s, 1);
    /* The loop was never stuck: the timer kept firing, the other client is served. */
    tt_sleep_ms(20);
    unsigned ticks = atomic_load(&s->ticks) - ticks0;
    uint64_t ms = tt_now_ms() - t0;
    assert_true(ticks >= 3);
    tt_send(good, "{\"execute\":\"echo\",\"id\":1}");
    tt_expect_id(good, 1);
    fprintf(stderr, "slow client dropped after %llu ms, %u timer ticks meanwhile\n",
            (unsigned long long)ms, ticks);

    /* What reached the slow client ends: some replies, then the end. */
    size_t got = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = recv(slow->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            assert_true(n == 0 || errno == ECONNRESET);
            break;
        }
        got += (size_t)n;
    }
    assert_true(got < 6u * 1024 * 1024);
    tt_close(slow);
    tt_close(good);
    tt_finish(s, &d);
}

#define CONNECTIONS 2000

/* One client's life, in one of four ways. */
static void one_client(const char *uri, int i)
{
    tt_client_t *c = tt_connect_unix(uri);
    assert_non_null(c);
    switch (i % 4) {
    case 0: /* gone at once, greeting unread */
        break;
    case 1: /* a full exchange */
        tt_negotiate(c);
        tt_send(c, "{\"execute\":\"echo\",\"id\":1}");
        json_decref(tt_recv(c));
        break;
    case 2: /* gone in the middle of a command */
        tt_negotiate(c);
        tt_send(c, "{\"execute\":\"slow\",\"id\":2}");
        break;
    case 3: /* gone in the middle of a value */
        tt_send(c, "{\"execute\":\"echo\",\"arguments\":{\"s\":\"abc");
        break;
    }
    tt_close(c);
}

static void test_many_connections(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);

    /* A warm-up round lets the allocator and the stack pool reach their size. */
    for (int i = 0; i < 100; i++)
        one_client(d.uri, i);
    tt_wait_live(s, 0);
    assert_int_equal(tt_wait_eq(&s->slow_running, 0), 0);
    unsigned fds0 = tt_count_fds();
    struct mallinfo2 m0 = mallinfo2();

    for (int i = 0; i < CONNECTIONS; i++)
        one_client(d.uri, i);
    tt_wait_live(s, 0);
    assert_int_equal(tt_wait_eq(&s->slow_running, 0), 0);
    assert_int_equal(atomic_load(&s->opened), CONNECTIONS + 100);

    assert_int_equal(tt_count_fds(), fds0);
    struct mallinfo2 m1 = mallinfo2();
    long grown = (long)m1.uordblks - (long)m0.uordblks;
    fprintf(stderr, "%d connections: heap in use grew by %ld bytes\n", CONNECTIONS, grown);
    assert_true(grown < 512 * 1024);

    /* Still serving. */
    tt_client_t *c = tt_connect_unix(d.uri);
    tt_negotiate(c);
    tt_close(c);
    tt_finish(s, &d);
}

/* Many clients at once, all answered, then all gone. */
static void test_many_at_once(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    unsigned fds0 = tt_count_fds();
    enum { N = 200 };
    tt_client_t **c = calloc(N, sizeof(*c));
    assert_non_null(c);
    for (int i = 0; i < N; i++) {
        c[i] = tt_connect_unix(d.uri);
        assert_non_null(c[i]);
    }
    for (int i = 0; i < N; i++)
        tt_negotiate(c[i]);
    for (int i = 0; i < N; i++)
        tt_send(c[i], "{\"execute\":\"slow\",\"id\":7}");
    for (int i = 0; i < N; i++) {
        tt_expect_id(c[i], 7);
    }
    tt_wait_live(s, N);
    for (int i = 0; i < N; i++)
        tt_close(c[i]);
    free(c);
    tt_wait_live(s, 0);
    assert_int_equal(tt_count_fds(), fds0);
    tt_finish(s, &d);
}

/* A flood of small values in one go: every one is dispatched, in order,
 * and the loop keeps running meanwhile (the reader pauses every 64 KiB). */
static void test_flood(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    tt_client_t *c = tt_client_ready(d.uri);
    enum { N = 50000 };
    static const char nop[] = "{\"execute\":\"nop\"}\n";
    size_t len = (sizeof(nop) - 1) * N;
    char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < N; i++)
        memcpy(buf + i * (sizeof(nop) - 1), nop, sizeof(nop) - 1);
    unsigned values = atomic_load(&s->values), ticks = atomic_load(&s->ticks);
    uint64_t t0 = tt_now_ms();
    tt_send_n(c, buf, len);
    tt_send(c, "{\"execute\":\"echo\",\"id\":1}");
    tt_expect_id(c, 1);
    assert_int_equal(atomic_load(&s->values), values + N + 1);
    fprintf(stderr, "%d values (%zu bytes) in %llu ms, %u timer ticks meanwhile\n", N, len,
            (unsigned long long)(tt_now_ms() - t0), atomic_load(&s->ticks) - ticks);
    free(buf);
    tt_close(c);
    tt_finish(s, &d);
}

int main(void)
{
    vt_test_setup(TT_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_reader_dropped),
        cmocka_unit_test(test_many_connections),
        cmocka_unit_test(test_many_at_once),
        cmocka_unit_test(test_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
