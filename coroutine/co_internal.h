/* co_internal.h — the coroutine object and the per-thread scheduler state,
 * shared by the files of coroutine/ (never installed). */
#ifndef CO_INTERNAL_H
#define CO_INTERNAL_H

#include "vmig/co.h"
#include "co_switch.h"

#include <pthread.h>

#if defined(NDEBUG)
#define CO_DEBUG 0
#else
#define CO_DEBUG 1
#endif

enum co_state {
    CO_NEW,       /* created, never entered */
    CO_RUNNING,   /* on the chain of running coroutines */
    CO_YIELDED,   /* suspended in co_yield(): co_enter() continues it */
    CO_WAITING,   /* suspended in co_wait(): co_wake() continues it */
    CO_READY,     /* woken, on the ready list */
    CO_DONE,      /* body returned; waiting to be joined (or freed) */
};

/* What AddressSanitizer needs to know about a stack when switching to it. */
typedef struct co_stackinfo {
    void *fake_stack;         /* ASan's fake stack of the suspended context */
    const void *bottom;       /* lowest address of the stack */
    size_t size;              /* its size */
} co_stackinfo_t;

struct co {
    co_ctx_t ctx;             /* saved registers while not running */
    co_t *caller;             /* who entered us (NULL: the loop's stack) */
    co_fn fn;                 /* body */
    void *arg;                /* its argument */
    int result;               /* body's return value once CO_DONE */
    int wake_result;          /* what co_wait() returns */
    uint8_t state;            /* enum co_state */
    bool detached;            /* free on return instead of waiting for co_join() */
    bool poolable;            /* default-size stack: may go back to the pool */
    bool cancel_pending;      /* a co_cancel() arrived outside a cancellable wait */
    co_cancel_fn on_cancel;   /* the current wait's cancel hook, NULL if none */
    void *cancel_data;        /* its argument */
    co_t *joiner;             /* coroutine waiting in co_join() on us */
    co_t *ready_next;         /* link on the thread's ready list */
    co_t *pool_next;          /* link on the thread's stack pool */
    uv_loop_t *loop;          /* the loop we belong to */
    const char *name;         /* for debugging */
    void *map_base;           /* the mmap'd region (guard page first) */
    size_t map_size;          /* its length */
    size_t stack_size;        /* usable stack bytes below this struct */
    unsigned valgrind_id;     /* valgrind stack registration */
    co_stackinfo_t si;        /* for ASan fiber switches */
#if CO_DEBUG
    pthread_t thread;         /* the thread that created us */
#endif
};

/* Per-thread scheduler state. */
typedef struct co_thread {
    co_t *current;            /* running coroutine, NULL on the loop's stack */
    co_t *ready_head;         /* woken coroutines, FIFO */
    co_t *ready_tail;
    co_t *zombie;             /* a finished coroutine to unmap once off its stack */
    co_ctx_t root_ctx;        /* the loop's stack while a coroutine runs */
    co_stackinfo_t root_si;   /* its ASan bounds, learnt at the first switch */
    co_t *switch_from;        /* who switched last (ASan bookkeeping) */
    co_t *pool;               /* cached default-size coroutines */
    unsigned pool_len;        /* how many */
} co_thread_t;

extern __thread co_thread_t co__tls __attribute__((tls_model("initial-exec")));

/* co_stack.c: allocation of a coroutine object with its guarded stack. */
co_t *co__alloc(size_t stack_size);
void co__free(co_t *co);
size_t co__page_size(void);

/* Abort with a message: only for misuse of the API (a bug in the caller). */
_Noreturn void co__panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
