/* test_named_fds.c — the engine's named descriptors (getfd's store): kept
 * under a name, replaced (the old one closed) by a second getfd of that
 * name, taken out by an fd:NAME user, closed by closefd, bounded in number,
 * and closed with the engine. */
#include "engine_test.h"

#include <fcntl.h>

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static int dup_null(void)
{
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    return fd;
}

static void test_add_take_close(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_engine_t *e;
    assert_int_equal(vmig_engine_new(&loop, NULL, &e), 0);

    int a = dup_null(), b = dup_null(), c = dup_null();
    assert_int_equal(vmig_engine_add_named_fd(e, "mig", a), 0);
    /* Kept close-on-exec: exec: children must not inherit it. */
    assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(vmig_engine_add_named_fd(e, "other", b), 0);
    /* Same name again: replaced, the old descriptor closed (QEMU's getfd). */
    assert_int_equal(vmig_engine_add_named_fd(e, "mig", c), 0);
    assert_false(fd_open(a));
    assert_true(fd_open(c));

    assert_int_equal(vmig_engine_take_named_fd(e, "mig"), c);
    assert_true(fd_open(c)); /* now the caller's */
    assert_int_equal(vmig_engine_take_named_fd(e, "mig"), -ENOENT);
    close(c);

    assert_int_equal(vmig_engine_close_named_fd(e, "nosuch"), -ENOENT);
    assert_int_equal(vmig_engine_close_named_fd(e, "other"), 0);
    assert_false(fd_open(b));
    assert_int_equal(vmig_engine_close_named_fd(e, "other"), -ENOENT);

    /* Bad input: refused, and a descriptor handed over is still closed. */
    int d = dup_null();
    assert_int_equal(vmig_engine_add_named_fd(e, NULL, d), -EINVAL);
    assert_false(fd_open(d));
    assert_int_equal(vmig_engine_add_named_fd(e, "x", -1), -EINVAL);
    assert_int_equal(vmig_engine_take_named_fd(e, NULL), -EINVAL);

    /* Left in the engine: closed with it. */
    int k = dup_null();
    assert_int_equal(vmig_engine_add_named_fd(e, "kept", k), 0);
    assert_int_equal(vmig_engine_close(e, NULL, NULL), 0);
    vt_loop_done(&loop);
    assert_false(fd_open(k));
}

static void test_limit(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_engine_t *e;
    assert_int_equal(vmig_engine_new(&loop, NULL, &e), 0);
    int base = dup_null();
    char name[32];
    for (int i = 0; i < ENGINE_MAX_NAMED_FDS; i++) {
        snprintf(name, sizeof(name), "fd%d", i);
        int fd = dup(base);
        assert_true(fd >= 0);
        assert_int_equal(vmig_engine_add_named_fd(e, name, fd), 0);
    }
    int extra = dup(base);
    assert_int_equal(vmig_engine_add_named_fd(e, "one-more", extra), -ENOSPC);
    assert_false(fd_open(extra));
    /* Replacing an existing name is still possible at the limit. */
    assert_int_equal(vmig_engine_add_named_fd(e, "fd0", dup(base)), 0);
    assert_int_equal(vmig_engine_close_named_fd(e, "fd1"), 0);
    assert_int_equal(vmig_engine_add_named_fd(e, "one-more", dup(base)), 0);
    close(base);
    assert_int_equal(vmig_engine_close(e, NULL, NULL), 0);
    vt_loop_done(&loop);
}

int main(void)
{
    engine_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_take_close),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
