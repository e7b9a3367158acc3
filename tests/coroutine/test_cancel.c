/* test_cancel.c — co_cancel() on every kind of wait: co_wait, wait queue, mutex,
 * event, queue push and pop, sleep, stream read, write and shutdown, pool work
 * queued or running, process wait, join; a pending cancel hits the next wait. */
#include "glue_test.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

/* ---- co_wait with a hook of our own ------------------------------------------- */

typedef struct hook_ctx {
    int calls;       /* hook invocations */
    co_t *co_seen;   /* the coroutine the hook was given */
} hook_ctx_t;

static void my_hook(co_t *co, void *data)
{
    hook_ctx_t *h = data;
    h->calls++;
    h->co_seen = co;
    co_wake(co, -ECANCELED);
}

static int hook_body(void *p)
{
    return co_wait(my_hook, p);
}

static void test_co_wait(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    hook_ctx_t h = {0, NULL};
    co_t *co = vt_start(&loop, hook_body, &h);
    assert_false(co_finished(co));
    assert_int_equal(h.calls, 0);
    assert_int_equal(co_cancel(co), 0);
    assert_int_equal(h.calls, 1);
    assert_ptr_equal(h.co_seen, co);
    assert_true(co_finished(co));
    assert_int_equal(co_cancel(co), -EINVAL);
    assert_int_equal(vt_join(co), -ECANCELED);
    vt_loop_done(&loop);
}

/* ---- wait queue ---------------------------------------------------------------- */

static int waitq_body(void *p)
{
    return co_waitq_wait(p);
}

static void test_waitq(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_waitq_t q;
    co_waitq_init(&q);
    co_t *a = vt_start(&loop, waitq_body, &q);
    co_t *b = vt_start(&loop, waitq_body, &q);
    assert_int_equal(q.len, 2);
    assert_int_equal(co_cancel(a), 0);
    assert_int_equal(q.len, 1);
    assert_ptr_equal(q.head, q.tail);
    assert_int_equal(vt_join(a), -ECANCELED);
    assert_true(co_waitq_wake_one(&q));
    assert_false(co_waitq_wake_one(&q));
    assert_int_equal(vt_join(b), 0);
    vt_loop_done(&loop);
}

/* ---- mutex --------------------------------------------------------------------- */

static int mx_waiter(void *p)
{
    glue_held_t *c = p;
    int r = co_mutex_lock(&c->m);
    if (r == 0)
        co_mutex_unlock(&c->m);
    return r;
}

static void test_mutex_lock(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    glue_held_t c;
    glue_held_init(&c);
    co_t *h = vt_start(&loop, glue_holder_body, &c);
    co_t *w = vt_start(&loop, mx_waiter, &c);
    assert_int_equal(c.m.waitq.len, 1);
    assert_int_equal(co_cancel(w), 0);
    assert_int_equal(vt_join(w), -ECANCELED);
    assert_int_equal(c.m.waitq.len, 0);
    assert_ptr_equal(c.m.owner, h);
    co_event_set(&c.go);
    assert_int_equal(vt_join(h), 0);
    /* Not handed to the cancelled waiter. */
    assert_null(c.m.owner);
    vt_loop_done(&loop);
}

/* ---- event --------------------------------------------------------------------- */

typedef struct ev_arg {
    co_event_t *ev;    /* the event, never set */
    int64_t timeout;   /* -1 or a long timeout */
    uint64_t ms;       /* how long the wait took */
} ev_arg_t;

static int ev_body(void *p)
{
    ev_arg_t *a = p;
    uint64_t t0 = uv_hrtime();
    int r = co_event_wait(a->ev, a->timeout);
    a->ms = vt_ms_since(t0);
    return r;
}

static void test_event_wait(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_event_t ev;
    co_event_init(&ev);
    ev_arg_t a = {&ev, -1, 0}, b = {&ev, 60000, 0};
    co_t *ca = vt_start(&loop, ev_body, &a);
    co_t *cb = vt_start(&loop, ev_body, &b);
    assert_int_equal(ev.waitq.len, 2);
    assert_int_equal(co_cancel(cb), 0);
    assert_int_equal(co_cancel(ca), 0);
    assert_int_equal(ev.waitq.len, 0);
    /* The timed wait returns once its timer handle is closed. */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(ca), -ECANCELED);
    assert_int_equal(vt_join(cb), -ECANCELED);
    assert_true(b.ms < 10000);
    assert_false(co_event_is_set(&ev));
    vt_loop_done(&loop);
}

/* ---- queue push and pop -------------------------------------------------------- */

static int push_body(void *p)
{
    return co_queue_push(p, (void *)(uintptr_t)99);
}

static int pop_body(void *p)
{
    void *item = (void *)(uintptr_t)1;
    int r = co_queue_pop(p, &item);
    /* A cancelled pop leaves *item alone. */
    return r == -ECANCELED && item != (void *)(uintptr_t)1 ? -1 : r;
}

static void test_queue_push_pop(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    co_queue_t q;
    assert_int_equal(co_queue_init(&q, 1), 0);

    co_t *pop = vt_start(&loop, pop_body, &q);
    assert_int_equal(q.poppers.len, 1);
    assert_int_equal(co_cancel(pop), 0);
    assert_int_equal(vt_join(pop), -ECANCELED);
    assert_int_equal(q.poppers.len, 0);

    assert_int_equal(co_queue_try_push(&q, (void *)(uintptr_t)5), 0);
    co_t *push = vt_start(&loop, push_body, &q);
    assert_int_equal(q.pushers.len, 1);
    assert_int_equal(co_cancel(push), 0);
    assert_int_equal(vt_join(push), -ECANCELED);
    assert_int_equal(q.pushers.len, 0);
    /* Nothing was added or lost. */
    assert_int_equal(q.len, 1);
    void *item = NULL;
    assert_int_equal(co_queue_try_pop(&q, &item), 0);
    assert_ptr_equal(item, (void *)(uintptr_t)5);
    assert_int_equal(co_queue_try_pop(&q, &item), -EAGAIN);
    co_queue_destroy(&q);
    vt_loop_done(&loop);
}

/* ---- sleep --------------------------------------------------------------------- */

static int long_sleep(void *p)
{
    return co_sleep(60000);
}

static int sleep_canceller(void *p)
{
    co_t *victim = p;
    int r = co_sleep(10);
    if (r == 0)
        r = co_cancel(victim);
    return r;
}

static void test_sleep(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uint64_t t0 = uv_hrtime();
    co_t *s = vt_start(&loop, long_sleep, NULL);
    co_t *c = vt_start(&loop, sleep_canceller, s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(vt_ms_since(t0) < 10000);
    assert_int_equal(vt_join(c), 0);
    assert_int_equal(vt_join(s), -ECANCELED);
    vt_loop_done(&loop);
}

/* ---- stream read and write ------------------------------------------------------ */

static int read_body(void *p)
{
    glue_pair_t *sp = p;
    char buf[8];
    return (int)co_stream_read(&sp->sb, buf, sizeof(buf));
}

static int read_after(void *p)
{
    glue_pair_t *sp = p;
    char buf[4] = {0};
    int r = co_stream_write(&sp->sa, "abc", 3);
    if (r == 0)
        r = co_stream_read_exact(&sp->sb, buf, 3, NULL);
    if (r == 0 && memcmp(buf, "abc", 3) != 0)
        r = -EPROTO;
    glue_pair_close(sp);
    return r;
}

static void test_stream_read(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    glue_pair_t p;
    glue_pair_init(&loop, &p, 0);
    co_t *r = vt_start(&loop, read_body, &p);
    assert_ptr_equal(p.sb.reader, r);
    assert_int_equal(co_cancel(r), 0);
    assert_int_equal(vt_join(r), -ECANCELED);
    assert_null(p.sb.reader);
    assert_false(p.sb.closing);
    /* The stream still works. */
    assert_int_equal(vt_run_on(&loop, read_after, &p), 0);
    vt_loop_done(&loop);
}

#define WBIG (8u << 20)

/* A write of WBIG bytes that cannot finish, and what came of it. */
typedef struct big_ctx {
    glue_pair_t p;       /* small socket buffers */
    char *big;           /* what the writer writes */
    int write_result;    /* the stuck write's result */
    int again;           /* a write after it */
    int shut_result;     /* a shutdown's result */
    bool closed_done;    /* libuv was done with the handle after close */
    size_t peer_got;     /* bytes the peer read */
    ssize_t peer_last;   /* the peer's last read result */
} big_ctx_t;

static big_ctx_t *big_ctx_new(uv_loop_t *loop)
{
    big_ctx_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    glue_pair_init(loop, &c->p, 4096);
    c->big = malloc(WBIG);
    assert_non_null(c->big);
    memset(c->big, 'w', WBIG);
    return c;
}

static int big_writer(void *p)
{
    big_ctx_t *c = p;
    c->write_result = co_stream_write(&c->p.sa, c->big, WBIG);
    /* libuv has let go of the buffer by now. */
    free(c->big);
    c->big = NULL;
    c->again = co_stream_write(&c->p.sa, "x", 1);
    co_stream_close(&c->p.sa);
    c->closed_done = c->p.a.data == NULL;
    return 0;
}

static int peer_reader(void *p)
{
    big_ctx_t *c = p;
    char *buf = malloc(65536);
    ssize_t n;
    while ((n = co_stream_read(&c->p.sb, buf, 65536)) > 0)
        c->peer_got += (size_t)n;
    c->peer_last = n;
    free(buf);
    co_stream_close(&c->p.sb);
    return 0;
}

static void test_stream_write(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    big_ctx_t *c = big_ctx_new(&loop);

    co_t *w = vt_start(&loop, big_writer, c);
    /* The socket filled up: the writer waits for its request. */
    assert_false(co_finished(w));
    assert_ptr_equal(c->p.sa.writer, w);
    assert_int_equal(co_cancel(w), 0);
    /* Not back yet: libuv still holds the buffer until its callback. */
    assert_false(co_finished(w));
    assert_true(c->p.sa.closing);
    assert_true(uv_is_closing((uv_handle_t *)&c->p.a));

    co_t *r = vt_start(&loop, peer_reader, c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(w), 0);
    assert_int_equal(vt_join(r), 0);
    assert_int_equal(c->write_result, -ECANCELED);
    assert_int_equal(c->again, -EBADF);
    assert_true(c->closed_done);
    assert_null(c->big);
    /* The peer saw part of the data, then the end of the stream. */
    assert_true(c->peer_got < WBIG);
    assert_int_equal(c->peer_last, 0);
    free(c);
    vt_loop_done(&loop);
}

static int shut_writer(void *p)
{
    big_ctx_t *c = p;
    c->write_result = co_stream_write(&c->p.sa, c->big, WBIG);
    return 0;
}

static int shut_body(void *p)
{
    big_ctx_t *c = p;
    c->shut_result = co_stream_shutdown(&c->p.sa);
    return 0;
}

static int shut_close(void *p)
{
    big_ctx_t *c = p;
    glue_pair_close(&c->p);
    return 0;
}

static void test_stream_shutdown(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    big_ctx_t *c = big_ctx_new(&loop);
    co_t *w = vt_start(&loop, shut_writer, c);
    /* The shutdown queues behind the stuck write. */
    co_t *s = vt_start(&loop, shut_body, c);
    assert_false(co_finished(w));
    assert_false(co_finished(s));
    assert_int_equal(co_cancel(s), 0);
    assert_true(c->p.sa.closing);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(s), 0);
    assert_int_equal(vt_join(w), 0);
    assert_int_equal(c->shut_result, -ECANCELED);
    assert_int_equal(c->write_result, -ECANCELED);
    assert_int_equal(vt_run_on(&loop, shut_close, c), 0);
    free(c->big);
    free(c);
    vt_loop_done(&loop);
}

/* ---- pool work ------------------------------------------------------------------ */

typedef struct block_ctl {
    uv_sem_t go;          /* posted by the test to let blocked fns finish */
    atomic_int started;   /* blocked fns that began */
    atomic_int finished;  /* blocked fns that returned */
    atomic_int ran;       /* count_fn calls: must stay 0 */
    int released;         /* release() calls, on the loop thread */
} block_ctl_t;

static int block_fn(void *arg)
{
    block_ctl_t *ctl = arg;
    atomic_fetch_add(&ctl->started, 1);
    uv_sem_wait(&ctl->go);
    atomic_fetch_add(&ctl->finished, 1);
    return 5;
}

static int count_fn(void *arg)
{
    block_ctl_t *ctl = arg;
    atomic_fetch_add(&ctl->ran, 1);
    return 0;
}

static void count_release(void *arg)
{
    block_ctl_t *ctl = arg;
    ctl->released++;
}

/* A work item whose arg lives on the heap, as an orphan's must. */
typedef struct heap_arg {
    block_ctl_t *ctl; /* shared control */
    char pad[200];    /* something for a leak checker to see */
} heap_arg_t;

static int heap_block_fn(void *arg)
{
    heap_arg_t *h = arg;
    return block_fn(h->ctl);
}

static void heap_release(void *arg)
{
    heap_arg_t *h = arg;
    h->ctl->released++;
    free(h);
}

typedef struct work_arg {
    block_ctl_t *ctl;        /* shared control */
    co_work_limit_t *lim;    /* limit to use, may be NULL */
} work_arg_t;

static int blocker(void *p)
{
    work_arg_t *a = p;
    return co_work(a->lim, block_fn, a->ctl, NULL);
}

static int counter(void *p)
{
    work_arg_t *a = p;
    return co_work(a->lim, count_fn, a->ctl, count_release);
}

static void block_ctl_init(block_ctl_t *ctl)
{
    assert_int_equal(uv_sem_init(&ctl->go, 0), 0);
    atomic_init(&ctl->started, 0);
    atomic_init(&ctl->finished, 0);
    atomic_init(&ctl->ran, 0);
    ctl->released = 0;
}

/* In a coroutine: sleep until cond or about 10 s. */
#define WAIT_UNTIL(cond)                                                   \
    do {                                                                   \
        for (int i_ = 0; i_ < 10000 && !(cond); i_++)                      \
            assert_int_equal(co_sleep(1), 0);                              \
        assert_true(cond);                                                 \
    } while (0)

static int queued_main(void *p)
{
    block_ctl_t *ctl = p;
    uv_loop_t *loop = co_loop(co_self());
    /* The pool has 2 threads (main() sets UV_THREADPOOL_SIZE): fill both. */
    work_arg_t ba = {ctl, NULL};
    co_t *b1 = co_create(loop, blocker, &ba);
    co_t *b2 = co_create(loop, blocker, &ba);
    co_enter(b1);
    co_enter(b2);
    WAIT_UNTIL(atomic_load(&ctl->started) == 2);
    co_t *v = co_create(loop, counter, &ba);
    co_enter(v);
    assert_int_equal(co_sleep(5), 0);
    assert_false(co_finished(v));
    assert_int_equal(co_cancel(v), 0);
    /* libuv reports the cancel through the after-work callback. */
    WAIT_UNTIL(co_finished(v));
    int r = 1;
    assert_int_equal(co_join(v, &r), 0);
    assert_int_equal(r, -ECANCELED);
    uv_sem_post(&ctl->go);
    uv_sem_post(&ctl->go);
    assert_int_equal(co_join(b1, &r), 0);
    assert_int_equal(r, 5);
    assert_int_equal(co_join(b2, &r), 0);
    assert_int_equal(r, 5);
    return 0;
}

static void test_work_not_started_in_pool(void **state)
{
    block_ctl_t ctl;
    block_ctl_init(&ctl);
    assert_int_equal(vt_run(queued_main, &ctl), 0);
    /* It never ran, and its arg was handed to release() exactly once. */
    assert_int_equal(atomic_load(&ctl.ran), 0);
    assert_int_equal(ctl.released, 1);
    uv_sem_destroy(&ctl.go);
}

static int slot_main(void *p)
{
    block_ctl_t *ctl = p;
    uv_loop_t *loop = co_loop(co_self());
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 1), 0);
    work_arg_t a = {ctl, &lim};
    co_t *h = co_create(loop, blocker, &a);
    co_enter(h);
    co_t *v = co_create(loop, counter, &a);
    co_enter(v);
    assert_int_equal(lim.slots.len, 1);
    assert_int_equal(co_cancel(v), 0);
    /* Woken from a coroutine: it runs once we suspend. */
    assert_int_equal(co_pause(), 0);
    assert_true(co_finished(v));
    int r = 1;
    assert_int_equal(co_join(v, &r), 0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(lim.slots.len, 0);
    assert_int_equal(lim.inflight, 1);
    uv_sem_post(&ctl->go);
    assert_int_equal(co_join(h, &r), 0);
    assert_int_equal(r, 5);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    return 0;
}

static void test_work_waiting_for_slot(void **state)
{
    block_ctl_t ctl;
    block_ctl_init(&ctl);
    assert_int_equal(vt_run(slot_main, &ctl), 0);
    assert_int_equal(atomic_load(&ctl.ran), 0);
    assert_int_equal(ctl.released, 1); /* the cancelled item's arg was handed over */
    uv_sem_destroy(&ctl.go);
}

typedef struct running_arg {
    block_ctl_t *ctl;        /* shared control */
    co_work_limit_t *lim;    /* the limit */
    int finished_at_return;  /* ctl->finished when co_work returned */
} running_arg_t;

static int running_worker(void *p)
{
    running_arg_t *a = p;
    heap_arg_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->ctl = a->ctl;
    int r = co_work(a->lim, heap_block_fn, h, heap_release);
    a->finished_at_return = atomic_load(&a->ctl->finished);
    /* On -ECANCELED h is the request's now: not ours to free. */
    if (r != -ECANCELED)
        free(h);
    return r;
}

static int running_main(void *p)
{
    block_ctl_t *ctl = p;
    uv_loop_t *loop = co_loop(co_self());
    co_work_limit_t lim;
    assert_int_equal(co_work_limit_init(&lim, 2), 0);
    running_arg_t a = {ctl, &lim, -1};
    co_t *w = co_create(loop, running_worker, &a);
    co_enter(w);
    WAIT_UNTIL(atomic_load(&ctl->started) == 1);
    /* fn is running: uv_cancel() says EBUSY, and co_work() returns at once. */
    assert_int_equal(co_cancel(w), 0);
    assert_int_equal(co_pause(), 0);
    assert_true(co_finished(w));
    int r = 1;
    assert_int_equal(co_join(w, &r), 0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(a.finished_at_return, 0);
    assert_int_equal(atomic_load(&ctl->finished), 0);
    assert_int_equal(ctl->released, 0);
    /* The orphan still holds its slot. */
    assert_int_equal(lim.inflight, 1);
    assert_int_equal(co_work_limit_close(&lim), -EBUSY);
    uv_sem_post(&ctl->go);
    WAIT_UNTIL(ctl->released == 1);
    assert_int_equal(atomic_load(&ctl->finished), 1);
    assert_int_equal(lim.inflight, 0);
    assert_int_equal(co_work_limit_close(&lim), 0);
    return 0;
}

static void test_work_running(void **state)
{
    block_ctl_t ctl;
    block_ctl_init(&ctl);
    assert_int_equal(vt_run(running_main, &ctl), 0);
    /* release(arg) ran exactly once (it freed arg: a leak checker sees the rest). */
    assert_int_equal(ctl.released, 1);
    uv_sem_destroy(&ctl.go);
}

/* ---- process wait --------------------------------------------------------------- */

typedef struct proc_ctx {
    co_process_t proc; /* a long sleep */
    int64_t status;    /* exit status after the kill */
    int sig;           /* its signal */
} proc_ctx_t;

static int proc_waiter(void *p)
{
    proc_ctx_t *c = p;
    return co_process_wait(&c->proc, &c->status, &c->sig);
}

static int proc_main(void *p)
{
    proc_ctx_t *c = p;
    char *args[] = {"/bin/sleep", "30", NULL};
    assert_int_equal(glue_spawn(&c->proc, args), 0);
    co_t *w = co_create(co_loop(co_self()), proc_waiter, c);
    co_enter(w);
    assert_false(co_finished(w));
    assert_int_equal(co_cancel(w), 0);
    assert_int_equal(co_pause(), 0);
    int r = 1;
    assert_int_equal(co_join(w, &r), 0);
    assert_int_equal(r, -ECANCELED);
    /* The child runs on (a killed one would have been reaped by now). */
    assert_int_equal(co_sleep(50), 0);
    assert_false(c->proc.exited);
    assert_null(c->proc.waiter);
    assert_int_equal(uv_kill(c->proc.proc.pid, 0), 0);
    assert_int_equal(uv_process_kill(&c->proc.proc, SIGKILL), 0);
    assert_int_equal(co_process_wait(&c->proc, &c->status, &c->sig), 0);
    assert_int_equal(c->sig, SIGKILL);
    co_process_close(&c->proc);
    return 0;
}

static void test_process_wait(void **state)
{
    proc_ctx_t c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(vt_run(proc_main, &c), 0);
}

/* ---- join ----------------------------------------------------------------------- */

typedef struct join_ctx {
    co_event_t go;  /* lets the target finish */
    co_t *target;   /* what the joiner joins */
} join_ctx_t;

static int join_target(void *p)
{
    join_ctx_t *c = p;
    int r = co_event_wait(&c->go, -1);
    return r == 0 ? 77 : r;
}

static int joiner(void *p)
{
    join_ctx_t *c = p;
    int res = 0;
    return co_join(c->target, &res);
}

static void test_join(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    join_ctx_t c;
    co_event_init(&c.go);
    c.target = vt_start(&loop, join_target, &c);
    co_t *j = vt_start(&loop, joiner, &c);
    assert_false(co_finished(j));
    assert_int_equal(co_cancel(j), 0);
    assert_int_equal(vt_join(j), -ECANCELED);
    /* The target runs on and can still be joined. */
    assert_false(co_finished(c.target));
    co_event_set(&c.go);
    assert_int_equal(vt_join(c.target), 77);
    vt_loop_done(&loop);
}

/* ---- a cancel that finds no wait ------------------------------------------------ */

typedef struct pend_ctx {
    co_waitq_t q;     /* something to wait on */
    co_mutex_t m;     /* a free mutex */
    int r[6];         /* results, in order */
    uint64_t ms;      /* how long the cancelled sleep took */
} pend_ctx_t;

static int self_cancel(void *p)
{
    pend_ctx_t *c = p;
    /* Not in a wait: remembered. */
    c->r[0] = co_cancel(co_self());
    uint64_t t0 = uv_hrtime();
    c->r[1] = co_sleep(60000);
    c->ms = vt_ms_since(t0);
    /* One shot: the next wait is normal. */
    c->r[2] = co_sleep(1);
    /* A lock that does not wait leaves the cancel pending... */
    co_cancel(co_self());
    c->r[3] = co_mutex_lock(&c->m);
    co_mutex_unlock(&c->m);
    /* ... for the next real wait. */
    c->r[4] = co_pause();
    /* co_cancel_clear() forgets it. */
    co_cancel(co_self());
    c->r[5] = co_cancel_clear() ? co_pause() : -1;
    return 0;
}

static void test_pending_self(void **state)
{
    pend_ctx_t c;
    memset(&c, 0, sizeof(c));
    co_mutex_init(&c.m);
    assert_int_equal(vt_run(self_cancel, &c), 0);
    assert_int_equal(c.r[0], 1);
    assert_int_equal(c.r[1], -ECANCELED);
    assert_true(c.ms < 1000);
    assert_int_equal(c.r[2], 0);
    assert_int_equal(c.r[3], 0);
    assert_int_equal(c.r[4], -ECANCELED);
    assert_int_equal(c.r[5], 0);
}

static int yield_then_wait(void *p)
{
    pend_ctx_t *c = p;
    co_yield();
    c->r[0] = co_waitq_wait(&c->q);
    c->r[1] = co_waitq_wait(&c->q);
    return 0;
}

static int uncancellable_then_sleep(void *p)
{
    pend_ctx_t *c = p;
    /* A wait without a hook cannot be cancelled: the cancel waits for us. */
    c->r[2] = co_wait(NULL, NULL);
    c->r[3] = co_sleep(60000);
    c->r[4] = co_sleep(0);
    return 0;
}

static void test_pending_from_outside(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pend_ctx_t c;
    memset(&c, 0, sizeof(c));
    co_waitq_init(&c.q);

    co_t *a = vt_start(&loop, yield_then_wait, &c);
    /* Yielded is not waiting: the cancel is left pending. */
    assert_int_equal(co_cancel(a), 1);
    co_enter(a);
    assert_int_equal(c.r[0], -ECANCELED);
    assert_int_equal(c.q.len, 1);
    assert_true(co_waitq_wake_one(&c.q));
    assert_int_equal(c.r[1], 0);
    assert_int_equal(vt_join(a), 0);

    co_t *b = vt_start(&loop, uncancellable_then_sleep, &c);
    assert_int_equal(co_cancel(b), 1);
    assert_false(co_finished(b));
    co_wake(b, 42);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.r[2], 42);
    assert_int_equal(c.r[3], -ECANCELED);
    assert_int_equal(c.r[4], 0);
    assert_int_equal(vt_join(b), 0);
    vt_loop_done(&loop);
}

int main(void)
{
    /* Before libuv starts its pool: two threads are easy to fill. */
    setenv("UV_THREADPOOL_SIZE", "2", 1);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_co_wait),
        cmocka_unit_test(test_waitq),
        cmocka_unit_test(test_mutex_lock),
        cmocka_unit_test(test_event_wait),
        cmocka_unit_test(test_queue_push_pop),
        cmocka_unit_test(test_sleep),
        cmocka_unit_test(test_stream_read),
        cmocka_unit_test(test_stream_write),
        cmocka_unit_test(test_stream_shutdown),
        cmocka_unit_test(test_work_not_started_in_pool),
        cmocka_unit_test(test_work_waiting_for_slot),
        cmocka_unit_test(test_work_running),
        cmocka_unit_test(test_process_wait),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_pending_self),
        cmocka_unit_test(test_pending_from_outside),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
