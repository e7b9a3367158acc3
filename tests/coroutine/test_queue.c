/* test_queue.c — the bounded queue: back-pressure (a fast producer never gets
 * more than cap items ahead), FIFO order across wrap-around, close semantics. */
#include "glue_test.h"

#define NITEMS 1000
#define CAP 4

typedef struct bp_ctx {
    co_queue_t q;      /* capacity CAP */
    size_t produced;   /* pushes that returned */
    size_t consumed;   /* pops that returned */
    size_t max_ahead;  /* largest produced - consumed seen by the producer */
    size_t max_len;    /* largest q.len seen */
    size_t bad_order;  /* items popped out of order */
    int last_pop;      /* the pop that ended the consumer */
} bp_ctx_t;

static void *item_of(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

static int producer(void *p)
{
    bp_ctx_t *c = p;
    for (size_t i = 0; i < NITEMS; i++) {
        int r = co_queue_push(&c->q, item_of(i));
        if (r < 0)
            return r;
        c->produced++;
        if (c->produced - c->consumed > c->max_ahead)
            c->max_ahead = c->produced - c->consumed;
        if (c->q.len > c->max_len)
            c->max_len = c->q.len;
    }
    co_queue_close(&c->q);
    return 0;
}

static int consumer(void *p)
{
    bp_ctx_t *c = p;
    for (;;) {
        void *item = NULL;
        int r = co_queue_pop(&c->q, &item);
        if (r < 0) {
            c->last_pop = r;
            return 0;
        }
        if (item != item_of(c->consumed))
            c->bad_order++;
        c->consumed++;
        /* Slow: let the producer run as far as it can. */
        if ((r = co_pause()) < 0)
            return r;
    }
}

static void test_back_pressure(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    bp_ctx_t c = {0};
    assert_int_equal(co_queue_init(&c.q, CAP), 0);
    co_t *cons = vt_start(&loop, consumer, &c);
    co_t *prod = vt_start(&loop, producer, &c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(vt_join(prod), 0);
    assert_int_equal(vt_join(cons), 0);
    assert_int_equal(c.produced, NITEMS);
    assert_int_equal(c.consumed, NITEMS);
    assert_int_equal(c.bad_order, 0);
    assert_int_equal(c.last_pop, -EPIPE);
    /* Bounded by the capacity, and the producer did run ahead that far. */
    assert_int_equal(c.max_ahead, CAP);
    assert_int_equal(c.max_len, CAP);
    co_queue_destroy(&c.q);
    vt_loop_done(&loop);
}

static int close_drain_body(void *p)
{
    co_queue_t *q = p;
    void *item;
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(co_queue_push(q, item_of(i)), 0);
    co_queue_close(q);
    assert_int_equal(co_queue_push(q, item_of(9)), -EPIPE);
    assert_int_equal(co_queue_try_push(q, item_of(9)), -EPIPE);
    assert_int_equal(q->len, 3);
    for (size_t i = 0; i < 3; i++) {
        item = NULL;
        assert_int_equal(co_queue_pop(q, &item), 0);
        assert_ptr_equal(item, item_of(i));
    }
    assert_int_equal(co_queue_pop(q, &item), -EPIPE);
    assert_int_equal(co_queue_try_pop(q, &item), -EPIPE);
    assert_int_equal(co_queue_pop(q, &item), -EPIPE);
    return 0;
}

static void test_close_drains(void **state)
{
    co_queue_t q;
    assert_int_equal(co_queue_init(&q, 8), 0);
    assert_int_equal(vt_run(close_drain_body, &q), 0);
    co_queue_destroy(&q);
}

typedef struct close_wake_ctx {
    co_queue_t *q;   /* shared queue */
    int result;      /* what our push or pop returned */
    void *item;      /* what a pop got */
} close_wake_ctx_t;

static int blocked_popper(void *p)
{
    close_wake_ctx_t *c = p;
    c->result = co_queue_pop(c->q, &c->item);
    return 0;
}

static int blocked_pusher(void *p)
{
    close_wake_ctx_t *c = p;
    c->result = co_queue_push(c->q, item_of(77));
    return 0;
}

static void test_close_wakes_waiters(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);

    /* Poppers waiting on an empty queue. */
    co_queue_t q;
    assert_int_equal(co_queue_init(&q, 2), 0);
    close_wake_ctx_t pc[3];
    co_t *pcos[3];
    for (int i = 0; i < 3; i++) {
        pc[i] = (close_wake_ctx_t){&q, 1, NULL};
        pcos[i] = vt_start(&loop, blocked_popper, &pc[i]);
    }
    assert_int_equal(q.poppers.len, 3);
    co_queue_close(&q);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pc[i].result, -EPIPE);
        assert_null(pc[i].item);
        assert_int_equal(vt_join(pcos[i]), 0);
    }
    assert_int_equal(q.poppers.len, 0);
    co_queue_destroy(&q);

    /* A pusher waiting on a full queue: it fails, what was queued stays. */
    assert_int_equal(co_queue_init(&q, 2), 0);
    assert_int_equal(co_queue_try_push(&q, item_of(0)), 0);
    assert_int_equal(co_queue_try_push(&q, item_of(1)), 0);
    assert_int_equal(co_queue_try_push(&q, item_of(2)), -EAGAIN);
    close_wake_ctx_t uc = {&q, 1, NULL};
    co_t *pusher = vt_start(&loop, blocked_pusher, &uc);
    assert_int_equal(q.pushers.len, 1);
    co_queue_close(&q);
    assert_int_equal(uc.result, -EPIPE);
    assert_int_equal(vt_join(pusher), 0);
    void *item = NULL;
    assert_int_equal(co_queue_try_pop(&q, &item), 0);
    assert_ptr_equal(item, item_of(0));
    assert_int_equal(co_queue_try_pop(&q, &item), 0);
    assert_ptr_equal(item, item_of(1));
    assert_int_equal(co_queue_try_pop(&q, &item), -EPIPE);
    co_queue_destroy(&q);
    vt_loop_done(&loop);
}

static void test_try_and_wrap(void **state)
{
    co_queue_t q;
    assert_int_equal(co_queue_init(&q, 0), -EINVAL);
    assert_int_equal(co_queue_init(&q, 3), 0);
    void *item = NULL;
    assert_int_equal(co_queue_try_pop(&q, &item), -EAGAIN);
    size_t in = 0, out = 0;
    /* Uneven push and pop counts walk head around the ring many times. */
    for (int round = 0; round < 40; round++) {
        int pushes = 1 + round % 3;
        for (int k = 0; k < pushes; k++) {
            int r = co_queue_try_push(&q, item_of(in));
            if (q.len == 3 && r == -EAGAIN)
                break;
            assert_int_equal(r, 0);
            in++;
        }
        assert_true(q.len <= 3);
        int pops = 1 + (round + 1) % 3;
        for (int k = 0; k < pops && q.len; k++) {
            assert_int_equal(co_queue_try_pop(&q, &item), 0);
            assert_ptr_equal(item, item_of(out));
            out++;
        }
    }
    assert_true(in > 30);
    while (q.len) {
        assert_int_equal(co_queue_try_pop(&q, &item), 0);
        assert_ptr_equal(item, item_of(out));
        out++;
    }
    assert_int_equal(in, out);
    co_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_close_drains),
        cmocka_unit_test(test_close_wakes_waiters),
        cmocka_unit_test(test_try_and_wrap),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
