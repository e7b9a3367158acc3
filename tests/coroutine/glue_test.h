/* glue_test.h — what the tests of the runtime's libuv glue and synchronisation
 * share beyond vmig_test.h: co_streams over a socketpair, two coroutines run
 * side by side, spawning a program, and a coroutine holding a mutex until it
 * is told to let go. */
#ifndef GLUE_TEST_H
#define GLUE_TEST_H

#include "vmig_test.h"

#include <sys/socket.h>

/* The two ends of a unix socketpair, opened as libuv pipes, with a co_stream
 * over each. */
typedef struct glue_pair {
    uv_pipe_t a, b;     /* the two ends */
    co_stream_t sa, sb; /* streams over them */
} glue_pair_t;

/* Open p on loop; bufsize, if not 0, is a's send and b's receive buffer size
 * (small buffers make writes block). */
static inline void glue_pair_init(uv_loop_t *loop, glue_pair_t *p, int bufsize)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    if (bufsize) {
        assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)), 0);
        assert_int_equal(setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)), 0);
    }
    assert_int_equal(uv_pipe_init(loop, &p->a, 0), 0);
    assert_int_equal(uv_pipe_init(loop, &p->b, 0), 0);
    assert_int_equal(uv_pipe_open(&p->a, fds[0]), 0);
    assert_int_equal(uv_pipe_open(&p->b, fds[1]), 0);
    assert_int_equal(co_stream_init(&p->sa, (uv_stream_t *)&p->a), 0);
    assert_int_equal(co_stream_init(&p->sb, (uv_stream_t *)&p->b), 0);
}

/* In a coroutine: close both streams of p. */
static inline void glue_pair_close(glue_pair_t *p)
{
    co_stream_close(&p->sa);
    co_stream_close(&p->sb);
}

/* In a coroutine: run first(farg) and second(sarg) as coroutines of their
 * own, entered in that order, and wait for both; their results go to *r1 and
 * *r2 (either may be NULL). */
static inline void glue_both(co_fn first, void *farg, co_fn second, void *sarg, int *r1, int *r2)
{
    co_t *a = co_create(vt_loop(), first, farg);
    co_t *b = co_create(vt_loop(), second, sarg);
    assert_non_null(a);
    assert_non_null(b);
    co_enter(a);
    co_enter(b);
    assert_int_equal(co_join(a, r1), 0);
    assert_int_equal(co_join(b, r2), 0);
}

/* In a coroutine: co_process_spawn() args[0] with args (NULL-terminated) and
 * otherwise default options; returns its result. */
static inline int glue_spawn(co_process_t *proc, char **args)
{
    uv_process_options_t o;
    memset(&o, 0, sizeof(o));
    o.file = args[0];
    o.args = args;
    return co_process_spawn(proc, &o);
}

/* A mutex and the event that tells its holder to unlock it. */
typedef struct glue_held {
    co_mutex_t m;  /* the mutex */
    co_event_t go; /* the holder unlocks when set */
} glue_held_t;

static inline void glue_held_init(glue_held_t *h)
{
    co_mutex_init(&h->m);
    co_event_init(&h->go);
}

/* A coroutine body (arg: glue_held_t *) that locks the mutex, waits for the
 * event, unlocks; returns the event wait's result (-1 if the lock failed). */
static inline int glue_holder_body(void *arg)
{
    glue_held_t *h = arg;
    if (co_mutex_lock(&h->m) != 0)
        return -1;
    int r = co_event_wait(&h->go, -1);
    co_mutex_unlock(&h->m);
    return r;
}

#endif
