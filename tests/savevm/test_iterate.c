/* test_iterate.c — one iterate round (stream.md §5.1 step 6): a handler that
 * has not finished its stage holds back later ones, the rate limit ends the
 * round before a PART, inactive handlers are skipped, pending sums (§6). */
#include "savevm_test.h"

typedef struct iter {
    int rounds_left;  /* save_iterate returns 0 until this reaches 0 */
    int calls;        /* save_iterate calls */
    int fail;         /* error to return from save_iterate, 0 = none */
    bool active;      /* is_active answer */
    bool postcopy;    /* has_postcopy answer */
    uint64_t pending; /* bytes reported to the precopy_only sum */
} iter_t;

static int iterate(vmig_stream_t *s, void *opaque)
{
    iter_t *it = opaque;
    it->calls++;
    vmig_stream_put_u8(s, 0x11);
    if (it->fail)
        return it->fail;
    if (it->rounds_left > 0)
        it->rounds_left--;
    return it->rounds_left == 0 ? 1 : 0;
}

static bool is_active(void *opaque)
{
    return ((iter_t *)opaque)->active;
}

static bool has_postcopy(void *opaque)
{
    return ((iter_t *)opaque)->postcopy;
}

static void pending(void *opaque, uint64_t threshold, uint64_t *precopy_only,
                    uint64_t *compatible, uint64_t *postcopy_only)
{
    iter_t *it = opaque;
    *precopy_only += it->pending;
    *compatible += 1;
    *postcopy_only += threshold;
}

static const vmig_savevm_ops_t ops = {
    .save_iterate = iterate, .is_active = is_active, .has_postcopy = has_postcopy,
    .pending = pending,
};

typedef struct fixture {
    vmig_savevm_t *sv; /* registry with a (id 0) and b (id 1) */
    iter_t a, b;       /* their states */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = svt_fixture_new(sizeof(*f));
    f->a = (iter_t){.rounds_left = 2, .active = true};
    f->b = (iter_t){.rounds_left = 1, .active = true};
    assert_int_equal(vmig_savevm_register_handler(f->sv, "a", 0, 1, 0, &ops, &f->a), 0);
    assert_int_equal(vmig_savevm_register_handler(f->sv, "b", 0, 1, 0, &ops, &f->b), 1);
    *state = f;
    return 0;
}

static void test_serialized(void **state)
{
    fixture_t *f = *state;
    vmig_stream_t *w = vt_mem_writer();
    /* a is not done after its first PART: b must wait. */
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), 0);
    assert_int_equal(f->a.calls, 1);
    assert_int_equal(f->b.calls, 0);
    /* a finishes, b runs and finishes: the round is complete. */
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), 1);
    assert_int_equal(f->a.calls, 2);
    assert_int_equal(f->b.calls, 1);
    svt_assert_written(w, "02 00000000 11 7e 00000000"
                          "02 00000000 11 7e 00000000 02 00000001 11 7e 00000001");
    vmig_stream_free(w);
}

static void test_rate_limit_stops_round(void **state)
{
    fixture_t *f = *state;
    f->a.rounds_left = 0;
    vmig_stream_t *w = vt_mem_writer();
    /* 100 B/s: 10 bytes per window; a's PART (10 bytes) fills it. */
    vmig_stream_set_rate_limit(w, 100);
    vmig_stream_put_buffer(w, "0123456789x", 11);
    assert_true(vmig_stream_rate_exceeded(w));
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), 0);
    assert_int_equal(f->a.calls, 0);
    assert_int_equal(f->b.calls, 0);
    size_t len;
    vt_written(w, &len);
    assert_int_equal(len, 11); /* no PART header was written */
    vmig_stream_free(w);
}

static void test_inactive_and_postcopy(void **state)
{
    fixture_t *f = *state;
    vmig_stream_t *w = vt_mem_writer();
    f->a.active = false;
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), 1);
    assert_int_equal(f->a.calls, 0);
    assert_int_equal(f->b.calls, 1);
    /* In postcopy only handlers that support it iterate. */
    f->a.active = true;
    f->b.postcopy = true;
    f->b.rounds_left = 1;
    assert_int_equal(vmig_savevm_iterate(f->sv, w, true), 1);
    assert_int_equal(f->a.calls, 0);
    assert_int_equal(f->b.calls, 2);
    vmig_stream_free(w);
}

static void test_error(void **state)
{
    fixture_t *f = *state;
    vmig_stream_t *w = vt_mem_writer();
    f->a.fail = -ENOSPC;
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), -ENOSPC);
    assert_int_equal(vmig_stream_error(w), -ENOSPC);
    assert_string_equal(vmig_stream_error_msg(w),
                        "failed to save SaveStateEntry with id(name): 0(a): -28");
    assert_int_equal(f->b.calls, 0);
    /* The stream's error stops the next round at once. */
    assert_int_equal(vmig_savevm_iterate(f->sv, w, false), -ENOSPC);
    assert_int_equal(f->a.calls, 1);
    vmig_stream_free(w);
}

static void test_pending(void **state)
{
    fixture_t *f = *state;
    f->a.pending = 1000;
    f->b.pending = 24;
    uint64_t pre = 99, compat = 99, post = 99;
    vmig_savevm_pending(f->sv, 7, &pre, &compat, &post);
    assert_int_equal(pre, 1024);
    assert_int_equal(compat, 2);
    assert_int_equal(post, 14);
    f->b.active = false;
    vmig_savevm_pending(f->sv, 7, &pre, &compat, &post);
    assert_int_equal(pre, 1000);
    assert_int_equal(compat, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_serialized, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_rate_limit_stops_round, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_inactive_and_postcopy, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_error, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_pending, setup, svt_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
