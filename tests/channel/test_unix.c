/* test_unix.c — unix: channels: the listener's socket file is private (0600)
 * and removed at close, a stale socket file is replaced, and 4 MiB cross
 * each way at once with every byte checked. */
#include "chan_test.h"

#include <sys/stat.h>
#include <sys/un.h>

static int unix_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char path[256], uri[300];
    snprintf(path, sizeof(path), "%s/mig.sock", dir);
    snprintf(uri, sizeof(uri), "unix:%s", path);

    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, uri, 1, &l, &err), 0);
    assert_string_equal(vmig_listener_uri(l), uri);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    chan_accept_t acc;
    co_t *ac = chan_accept_start(l, &acc);
    vmig_channel_t *c;
    assert_int_equal(vmig_channel_open(loop, uri, VMIG_CHANNEL_OUTGOING, &c, &err), 0);
    vmig_channel_t *s = chan_accept_join(ac, &acc);
    assert_string_equal(vmig_channel_kind(c), "unix");
    assert_string_equal(vmig_channel_kind(s), "unix");
    assert_non_null(strstr(c->peer, path));

    chan_exchange(c, s, 4u * 1024 * 1024);
    vmig_channel_close(c);
    vmig_channel_close(s);

    vmig_listener_close(l);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    return 0;
}

static void test_unix_transfer(void **state)
{
    chan_run_in_tmpdir(unix_body);
}

/* A socket file left behind by a crashed run does not stop a new listener;
 * a regular file at the path is never removed. */
static int stale_body(void *arg)
{
    const char *dir = arg;
    uv_loop_t *loop = vt_loop();
    char path[256], uri[300];
    snprintf(path, sizeof(path), "%s/stale.sock", dir);
    snprintf(uri, sizeof(uri), "unix:%s", path);

    /* A bound, never listening socket whose file stays after close. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);

    vmig_error_t err = {0};
    vmig_listener_t *l;
    assert_int_equal(vmig_listener_open(loop, uri, 1, &l, &err), 0);
    vmig_listener_close(l);

    char fpath[256], furi[300];
    snprintf(fpath, sizeof(fpath), "%s/plain", dir);
    snprintf(furi, sizeof(furi), "unix:%s", fpath);
    FILE *f = fopen(fpath, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    assert_int_equal(vmig_listener_open(loop, furi, 1, &l, &err), -EEXIST);
    assert_non_null(strstr(err.msg, fpath));
    assert_int_equal(lstat(fpath, &st), 0);
    assert_int_equal(st.st_size, 7);
    return 0;
}

static void test_unix_stale_socket(void **state)
{
    chan_run_in_tmpdir(stale_body);
}

int main(void)
{
    chan_test_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_transfer),
        cmocka_unit_test(test_unix_stale_socket),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    co_thread_cleanup();
    return r;
}
