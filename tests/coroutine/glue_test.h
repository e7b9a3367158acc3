/* glue_test.h — helpers for the tests of the runtime's libuv glue and
 * synchronisation: a loop per test, running coroutines, tearing down. */
#ifndef GLUE_TEST_H
#define GLUE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmig/co.h"

static inline void glue_count_open(uv_handle_t *h, void *arg)
{
    unsigned *n = arg;
    if (!uv_is_closing(h)) {
        (*n)++;
        uv_close(h, NULL);
    }
}

/* Run the loop dry, then close it. A test must close every handle it opened
 * (the runtime's own handles included): any left open fails the test, after
 * being closed so that the loop still closes and leak checkers stay quiet. */
static inline void glue_loop_done(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    unsigned open = 0;
    uv_walk(loop, glue_count_open, &open);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    assert_int_equal(open, 0);
}

/* Create fn(arg) as a joinable coroutine and run it until it first suspends. */
static inline co_t *glue_start(uv_loop_t *loop, co_fn fn, void *arg)
{
    co_t *co = co_create(loop, fn, arg);
    assert_non_null(co);
    co_enter(co);
    return co;
}

/* Join a coroutine that must have finished; returns its result. */
static inline int glue_join(co_t *co)
{
    assert_true(co_finished(co));
    int r = -12345;
    assert_int_equal(co_join(co, &r), 0);
    return r;
}

/* Run fn(arg) in a coroutine until the loop has nothing left to do. */
static inline int glue_run(uv_loop_t *loop, co_fn fn, void *arg)
{
    co_t *co = glue_start(loop, fn, arg);
    uv_run(loop, UV_RUN_DEFAULT);
    return glue_join(co);
}

/* Milliseconds since an earlier uv_hrtime(). */
static inline uint64_t glue_ms_since(uint64_t t0)
{
    return (uv_hrtime() - t0) / 1000000u;
}

#endif
