/* co.h — vmig's coroutine runtime: stackful coroutines on one libuv loop.
 * Usable on its own; every other vmig layer is written against it. */
#ifndef VMIG_CO_H
#define VMIG_CO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Lifetime and threading rules (read these first)
 *
 * - A coroutine belongs to the thread that created it, and to the uv_loop_t it
 *   was created for. It is only ever entered on that thread; a debug build aborts
 *   with a message if another thread tries.
 * - The runtime keeps per-thread state (the running coroutine, the list of woken
 *   coroutines, the stack pool) and no process-wide mutable state, so several
 *   loops on several threads each run their own coroutines.
 * - co_create() returns a *joinable* coroutine: its creator must eventually call
 *   co_join() (which frees it) or co_detach() (it is freed when it finishes).
 * - A coroutine runs until it suspends (co_yield(), co_wait() or any primitive
 *   below built on it) or returns. Whoever entered it continues then.
 * - Every wait below is cancellable unless it says otherwise: co_cancel() makes
 *   the wait return -ECANCELED. A cancel sent while the coroutine is not in a
 *   cancellable wait is remembered and makes its next cancellable wait return
 *   -ECANCELED at once (one shot: the wait after that is normal again).
 * - A call that can complete without waiting (locking a free mutex, pushing
 *   to a queue with room, waiting on a set event) does so and leaves a pending
 *   cancel pending. I/O calls (stream read/write/shutdown, sleep, pause,
 *   co_work) consume a pending cancel on entry and do nothing.
 * - co_wake() from the loop's stack runs the woken coroutine at once, even
 *   inside a libuv callback (read_cb, after_work...): glue code must update its
 *   own state before it wakes anyone.
 * - Misuse is reported, not crashed on: a second concurrent reader, writer or
 *   process waiter gets -EBUSY; a stream call after close -EBADF; locking a
 *   mutex one already holds -EDEADLK. co__panic() (abort with a message) is
 *   kept for what cannot be reported: entering a running coroutine, waking one
 *   that is not waiting, using a coroutine from another thread (debug builds).
 * - Every function returns 0 (or a count) on success and a negative errno value
 *   on failure; libuv's UV_E* codes are negative errno values on Linux too.
 */

typedef struct co co_t;                 /* opaque */
typedef int (*co_fn)(void *arg);        /* a coroutine body; its return is the join result */

typedef struct co_attr {
    size_t stack_size;  /* bytes, 0 = CO_DEFAULT_STACK_SIZE; rounded up to pages */
    bool detached;      /* free on return, no co_join() */
    const char *name;   /* static string for debugging, may be NULL */
} co_attr_t;

#define CO_DEFAULT_STACK_SIZE (256u * 1024u)
#define CO_MIN_STACK_SIZE (16u * 1024u)

/* Create a coroutine that will run fn(arg) on loop. It does not run until
 * co_enter(). Returns NULL when memory or address space runs out. */
co_t *co_create(uv_loop_t *loop, co_fn fn, void *arg);
co_t *co_create_ex(uv_loop_t *loop, co_fn fn, void *arg, const co_attr_t *attr);

/* Create a detached coroutine and enter it at once. Returns -ENOMEM on failure. */
int co_spawn(uv_loop_t *loop, co_fn fn, void *arg);

/* Run co until it suspends or returns. From a coroutine, the caller is
 * suspended meanwhile (nested enter). co must be new or suspended in co_yield(). */
void co_enter(co_t *co);

/* Suspend the running coroutine; control returns to whoever entered it, and
 * the coroutine continues at the next co_enter(). Not a cancellable wait. */
void co_yield(void);

/* The running coroutine, or NULL on the loop's own stack. */
co_t *co_self(void);
/* True when called from a coroutine. */
bool co_in_coroutine(void);
/* The loop a coroutine belongs to. */
uv_loop_t *co_loop(const co_t *co);
const char *co_name(const co_t *co);

/* Wait (in a coroutine) until co has returned, store its result, free it.
 * Outside a coroutine, only a finished coroutine can be joined (-EBUSY if not).
 * Cancellable: on -ECANCELED co is left running and still joinable. */
int co_join(co_t *co, int *result);
/* co will be freed as soon as it returns (at once if it already has). */
void co_detach(co_t *co);
/* True once co's body has returned. */
bool co_finished(const co_t *co);

/* ---- the building block every wait is made of ------------------------------ */

/* Called by co_cancel() on a coroutine suspended in co_wait(): it must stop the
 * wait's source and arrange for co_wake(co, -ECANCELED) (now or later). */
typedef void (*co_cancel_fn)(co_t *co, void *data);

/* Suspend the running coroutine until someone calls co_wake() on it; returns the
 * value passed to co_wake(). If on_cancel is NULL the wait cannot be cancelled
 * (a pending cancel stays pending). If a cancel is pending and on_cancel is not
 * NULL, returns -ECANCELED at once without suspending. */
int co_wait(co_cancel_fn on_cancel, void *data);

/* Make a coroutine suspended in co_wait() return result. From the loop's own
 * stack the coroutine runs at once; from a coroutine it runs as soon as the
 * current chain of coroutines suspends (FIFO), so no coroutine is ever entered
 * twice. Waking a coroutine that is not waiting is a bug (debug builds abort). */
void co_wake(co_t *co, int result);

/* Cancel co's current (or next) cancellable wait. Returns 0 when a wait was
 * cancelled now, 1 when the cancel was left pending, -EINVAL for a finished
 * coroutine. */
int co_cancel(co_t *co);
/* Forget a pending cancel of the running coroutine; returns whether one was pending. */
bool co_cancel_clear(void);

/* Let the loop run one iteration, then continue. Cancellable. */
int co_pause(void);

/* Free this thread's pool of cached stacks (for leak checkers; safe to call any time). */
void co_thread_cleanup(void);

/* ---- libuv glue: each call suspends only the calling coroutine -------------- */

/* Sleep for ms milliseconds on the coroutine's loop: 0, or -ECANCELED. */
int co_sleep(uint64_t ms);

/* Wait for a handle's close callback (after uv_close() has been called by the
 * caller or by this function). Not cancellable: closing always completes. */
void co_close(uv_handle_t *handle);

/* A uv_stream_t (tcp, pipe, unix socket, tty) used from coroutines. One reader
 * and one writer may wait at the same time. co_stream_init() takes over
 * handle->data; the stream must be closed with co_stream_close(). */
typedef struct co_stream {
    uv_stream_t *handle;   /* the libuv stream, owned by the caller */
    co_t *reader;          /* coroutine waiting in a read, or NULL */
    char *rbuf;            /* where the waiting read puts bytes */
    size_t rlen;           /* capacity of rbuf */
    size_t rgot;           /* bytes placed in rbuf so far */
    size_t rwant;          /* read returns once rgot >= rwant */
    int rerr;              /* sticky read error (or UV_EOF) */
    co_t *writer;          /* coroutine waiting for a write, or NULL */
    uv_write_t wreq;       /* the one outstanding write request */
    int werr;              /* sticky write error */
    bool closing;          /* co_stream_close() started or cancel closed it */
} co_stream_t;

int co_stream_init(co_stream_t *s, uv_stream_t *handle);
/* Read what is available, at least 1 byte: returns the count, 0 at end of
 * stream, or a negative error. */
ssize_t co_stream_read(co_stream_t *s, void *buf, size_t len);
/* Read exactly len bytes: 0, -ENODATA if the stream ended first (*got, if not
 * NULL, says how many arrived), or another negative error. */
int co_stream_read_exact(co_stream_t *s, void *buf, size_t len, size_t *got);
/* Write every byte of bufs. The buffers must stay valid until it returns.
 * Cancelling a write closes the stream (libuv cannot take back a write in
 * flight); it returns -ECANCELED once libuv has released the buffers. */
int co_stream_writev(co_stream_t *s, const uv_buf_t *bufs, unsigned nbufs);
int co_stream_write(co_stream_t *s, const void *buf, size_t len);
/* Shut down the write side (after pending writes). */
int co_stream_shutdown(co_stream_t *s);
/* Close the handle and wait until libuv is done with it. Not cancellable. */
void co_stream_close(co_stream_t *s);

/* ---- child processes ------------------------------------------------------- */

typedef struct co_process {
    uv_process_t proc;   /* the libuv handle */
    co_t *waiter;        /* coroutine waiting in co_process_wait(), or NULL */
    bool exited;         /* exit callback has run */
    int64_t exit_status; /* valid once exited */
    int term_signal;     /* valid once exited, 0 if none */
} co_process_t;

/* Spawn a process on the running coroutine's loop (uv_spawn options; the
 * exit_cb given there is replaced by the runtime's own). */
int co_process_spawn(co_process_t *p, const uv_process_options_t *opts);
/* Wait for the process to exit; 0 or -ECANCELED (the process keeps running). */
int co_process_wait(co_process_t *p, int64_t *exit_status, int *term_signal);
/* Close the handle (after exit, or after killing it). Not cancellable. */
void co_process_close(co_process_t *p);

/* ---- synchronisation between coroutines of one loop ------------------------- */

/* Intrusive node of a waiter; lives on the waiting coroutine's stack. */
typedef struct co_waiter {
    struct co_waiter *next, *prev; /* list links */
    co_t *co;                      /* the waiting coroutine */
    struct co_waitq *q;            /* the queue it is on, NULL once woken */
} co_waiter_t;

/* A FIFO of suspended coroutines. */
typedef struct co_waitq {
    co_waiter_t *head, *tail; /* oldest first */
    size_t len;               /* number of waiters */
} co_waitq_t;

void co_waitq_init(co_waitq_t *q);
/* Suspend until woken: 0, or -ECANCELED. */
int co_waitq_wait(co_waitq_t *q);
/* Wake the oldest waiter (result 0); returns whether one was woken. */
bool co_waitq_wake_one(co_waitq_t *q);
/* Wake every waiter with result; returns how many. */
size_t co_waitq_wake_all(co_waitq_t *q, int result);

/* A mutex between coroutines. FIFO fair: unlock hands it to the oldest waiter. */
typedef struct co_mutex {
    co_t *owner;      /* holder, NULL when free */
    co_waitq_t waitq; /* coroutines waiting to lock */
} co_mutex_t;

void co_mutex_init(co_mutex_t *m);
/* 0, or -ECANCELED (not locked then). */
int co_mutex_lock(co_mutex_t *m);
/* 0, or -EBUSY if held. */
int co_mutex_trylock(co_mutex_t *m);
void co_mutex_unlock(co_mutex_t *m);

/* An event: set, reset, wait with a timeout. Setting wakes every waiter. */
typedef struct co_event {
    bool set;         /* state */
    co_waitq_t waitq; /* coroutines waiting for it to be set */
} co_event_t;

void co_event_init(co_event_t *e);
void co_event_set(co_event_t *e);
void co_event_reset(co_event_t *e);
bool co_event_is_set(const co_event_t *e);
/* Wait until set: 0, -ETIMEDOUT after timeout_ms (negative: no timeout), or
 * -ECANCELED. Returns 0 at once if the event is already set. */
int co_event_wait(co_event_t *e, int64_t timeout_ms);

/* A bounded FIFO of pointers between coroutines, with back-pressure. */
typedef struct co_queue {
    void **items;       /* ring of cap slots */
    size_t cap;         /* capacity */
    size_t head;        /* index of the oldest item */
    size_t len;         /* items in the ring */
    bool closed;        /* no more pushes; pops drain then fail */
    co_waitq_t pushers; /* waiting for room */
    co_waitq_t poppers; /* waiting for an item */
} co_queue_t;

/* -ENOMEM or -EINVAL (cap 0). */
int co_queue_init(co_queue_t *q, size_t cap);
/* Frees the ring; the queue must have no waiters. Items left are not freed. */
void co_queue_destroy(co_queue_t *q);
/* Waits while full: 0, -EPIPE if closed, -ECANCELED. */
int co_queue_push(co_queue_t *q, void *item);
/* Non-blocking push: 0, -EAGAIN if full, -EPIPE if closed. */
int co_queue_try_push(co_queue_t *q, void *item);
/* Waits while empty: 0 with *item, -EPIPE once closed and drained, -ECANCELED. */
int co_queue_pop(co_queue_t *q, void **item);
int co_queue_try_pop(co_queue_t *q, void **item);
/* Wake every waiter; pushes fail from now on, pops drain what is left. */
void co_queue_close(co_queue_t *q);

/* ---- the thread pool ------------------------------------------------------- */

/* A cap on one job's in-flight pool work. libuv's pool is process-wide and
 * shared with file and DNS work; give each job its own limit so its CPU work
 * cannot fill every pool thread. Initialise with co_work_limit_init(). */
typedef struct co_work_limit {
    unsigned max;           /* at most this many of this job's items queued or running */
    unsigned inflight;      /* items queued or running now (orphans included) */
    co_waitq_t slots;       /* coroutines waiting for a slot */
} co_work_limit_t;

/* A function for the pool: it runs on a pool thread, touches only its arg. */
typedef int (*co_work_fn)(void *arg);
/* Frees arg of a work item whose caller was cancelled while it ran. */
typedef void (*co_release_fn)(void *arg);

int co_work_limit_init(co_work_limit_t *lim, unsigned max);
/* Fails with -EBUSY while items are in flight. */
int co_work_limit_close(co_work_limit_t *lim);

/* Run fn(arg) on libuv's pool; returns its result. limit may be NULL.
 * Ownership of arg on cancel is simple: when co_work() returns -ECANCELED,
 * arg has been handed over and release(arg) (if not NULL) is called exactly
 * once, at once if fn never started, or on the loop once fn returns if it was
 * already running (libuv cannot stop it: uv_cancel gives UV_EBUSY), so a
 * pool thread never touches freed memory. On any other return arg is still
 * the caller's. */
int co_work(co_work_limit_t *limit, co_work_fn fn, void *arg, co_release_fn release);

/* The same work without waiting for it, so one coroutine keeps several
 * items in flight (a pipeline). co_work() is co_work_start() followed by
 * co_work_finish(). An item is owned by its starter until finished or
 * dropped; arg stays the caller's unless -ECANCELED or a drop hands it to
 * release(), with co_work()'s rule (at once if fn never ran, on the loop
 * once fn returns if it is running). */
typedef struct co_work_item co_work_item_t; /* opaque */

/* Queue fn(arg) on the pool; waits only for a slot of limit (NULL: none).
 * 0 with *item; -ECANCELED (arg handed to release), -ENOMEM or libuv's
 * error (arg still the caller's) with *item NULL. From a coroutine only. */
int co_work_start(co_work_limit_t *limit, co_work_fn fn, void *arg, co_release_fn release,
                  co_work_item_t **item);
/* Has fn returned and its result arrived on the loop? finish() then does
 * not wait. */
bool co_work_done(const co_work_item_t *item);
/* Wait for item, free it and return fn's result. Cancellable: -ECANCELED
 * drops the item (see co_work_drop). One waiter per item. */
int co_work_finish(co_work_item_t *item);
/* Give item up without its result: it is freed, and arg goes to release():
 * at once when fn is done; when fn is still queued, as libuv takes it off
 * its queue (the loop's next turn); when it runs, once fn returns. */
void co_work_drop(co_work_item_t *item);

#ifdef __cplusplus
}
#endif
#endif
