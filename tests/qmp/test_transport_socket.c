/* test_transport_socket.c — the QMP transport through real sockets: the
 * greeting's exact bytes on a 0600 unix socket, values in order however the
 * input is cut, errors that leave the connection working (bad JSON, size and
 * depth limits), events to negotiated clients only, file descriptors passed
 * with SCM_RIGHTS (and the cap on them), tcp:, and closing with clients on. */
#include "transport_test.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

static const char GREETING[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                               "\"major\": 7}, \"package\": \"vmig-test\"}, \"capabilities\": "
                               "[\"oob\"]}}\r\n";

static void test_greeting_and_mode(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    assert_string_equal(s->bound[0], d.uri);

    struct stat st;
    assert_int_equal(lstat(d.uri + 5, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Byte for byte QEMU's layout: ", " and ": " separators, then "\r\n". */
    tt_client_t *c = tt_connect_unix(d.uri);
    assert_non_null(c);
    char *line = tt_line(c);
    assert_non_null(line);
    assert_string_equal(line, GREETING);
    free(line);
    tt_send(c, "{\"execute\":\"echo\",\"id\":\"\xc3\xa9\"}");
    line = tt_line(c);
    assert_string_equal(line, "{\"return\": {\"execute\": \"echo\", \"id\": \"\\u00E9\"}, "
                              "\"id\": \"\\u00E9\"}\r\n");
    free(line);
    /* DEL is escaped as QEMU does (jansson would leave it raw). */
    tt_send(c, "{\"execute\":\"echo\",\"id\":\"\x7f\"}");
    line = tt_line(c);
    assert_string_equal(line, "{\"return\": {\"execute\": \"echo\", \"id\": \"\\u007F\"}, "
                              "\"id\": \"\\u007F\"}\r\n");
    free(line);
    assert_int_equal(atomic_load(&s->oob_capable), 1);

    /* A reply far bigger than the socket buffers arrives whole. */
    tt_send(c, "{\"execute\":\"big\",\"arguments\":{\"n\":3000000},\"id\":1}");
    json_t *r = tt_recv(c);
    assert_int_equal(json_string_length(json_object_get(r, "return")), 3000000);
    json_decref(r);
    tt_close(c);

    tt_stop(s);
    /* The socket file goes with the monitor. */
    assert_int_equal(lstat(d.uri + 5, &st), -1);
    tt_rmdir(d.dir);
}

/* Send text in pieces cut at the given offsets, pausing between them. */
static void send_cut(tt_client_t *c, const char *text, const size_t *cuts, size_t ncuts)
{
    size_t start = 0, len = strlen(text);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        tt_send_n(c, text + start, end - start);
        start = end;
        tt_sleep_ms(3);
    }
}

static void expect_id(tt_client_t *c, json_int_t id)
{
    json_t *r = tt_recv(c);
    assert_non_null(json_object_get(r, "return"));
    assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
    json_decref(r);
}

static void expect_error(tt_client_t *c, const char *desc)
{
    json_t *r = tt_recv(c);
    assert_string_equal(tt_error_desc(r), desc);
    assert_null(json_object_get(r, "id"));
    json_decref(r);
}

static void test_order_pieces_and_errors(void **state)
{
    tt_dir_t d;
    vmig_qmp_opts_t opts = {.max_input = 4096, .max_depth = 8};
    tt_server_t *s = tt_start_unix(&d, &opts);
    tt_client_t *c = tt_client_ready(d.uri);

    /* Several values in one write, one value over several. */
    tt_send(c, "{\"execute\":\"echo\",\"id\":1}\n{\"execute\":\"echo\",\"id\":2}  {\"execute\"");
    expect_id(c, 1);
    expect_id(c, 2);
    static const size_t cuts[] = {3, 9, 10, 17};
    send_cut(c, ":\"echo\",\"arguments\":{\"s\":\"}{\\\"\"},\"id\":3}\r\n", cuts, 4);
    json_t *r = tt_recv(c);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_object_get(r, "return"), "arguments"), "s")),
        "}{\"");
    json_decref(r);

    /* Bad JSON: an error without id, and the connection keeps working. */
    tt_send(c, "{\"execute\" \"echo\"}{\"execute\":\"echo\",\"id\":4}");
    expect_error(c, "JSON parse error, expecting value");
    expect_id(c, 4);
    tt_send(c, "{\"execute\": \x01 \"echo\"}{\"execute\":\"echo\",\"id\":5}");
    expect_error(c, "JSON parse error, stray '\x01'");
    expect_error(c, "JSON parse error, expecting value");
    expect_id(c, 5);

    /* Over the size limit: one error, the rest of the value is skipped. */
    size_t big = 20000;
    char *msg = malloc(big + 128);
    int n = snprintf(msg, 64, "{\"execute\":\"echo\",\"arguments\":{\"s\":\"");
    memset(msg + n, 'y', big);
    snprintf(msg + n + big, 64, "}\"}}{\"execute\":\"echo\",\"id\":6}");
    tt_send(c, msg);
    free(msg);
    expect_error(c, "JSON token size limit exceeded");
    expect_id(c, 6);

    /* Too deep. */
    tt_send(c, "{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}{\"execute\":\"echo\",\"id\":7}");
    expect_error(c, "JSON nesting depth limit exceeded");
    expect_id(c, 7);

    /* Events go to negotiated clients only. */
    tt_client_t *quiet = tt_connect_unix(d.uri);
    assert_non_null(quiet);
    json_decref(tt_recv(quiet)); /* greeting; never negotiates */
    tt_send(c, "{\"execute\":\"event\",\"id\":8}");
    r = tt_recv(c);
    assert_string_equal(json_string_value(json_object_get(r, "event")), "TEST");
    json_decref(r);
    expect_id(c, 8);
    tt_send(quiet, "{\"execute\":\"echo\",\"id\":9}");
    expect_id(quiet, 9); /* the event did not come first */
    tt_close(quiet);

    tt_close(c);
    tt_finish(s, &d);
}

static void test_fd_passing(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    unsigned fds0 = tt_count_fds();
    tt_client_t *c = tt_client_ready(d.uri);

    /* getfd with no descriptor. */
    tt_send(c, "{\"execute\":\"getfd\",\"id\":1}");
    json_t *r = tt_recv(c);
    assert_non_null(json_object_get(r, "error"));
    json_decref(r);

    /* One pipe's write end goes over; the server writes to it and closes it. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    const char *cmd = "{\"execute\":\"getfd\",\"id\":2}";
    tt_send_fds(c, cmd, strlen(cmd), &p[1], 1);
    close(p[1]);
    r = tt_recv(c);
    assert_true(json_is_true(json_object_get(json_object_get(r, "return"), "written")));
    json_decref(r);
    char buf[8];
    assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "ok", 2);
    assert_int_equal(read(p[0], buf, sizeof(buf)), 0); /* the server closed its copy */
    close(p[0]);

    /* 20 descriptors with one message: 16 are kept, the others closed at once;
     * the kept ones are closed with the connection. */
    enum { N = 20 };
    int rd[N], wr[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(pipe(p), 0);
        rd[i] = p[0];
        wr[i] = p[1];
        fcntl(rd[i], F_SETFL, O_NONBLOCK);
    }
    cmd = "{\"execute\":\"echo\",\"id\":3}";
    tt_send_fds(c, cmd, strlen(cmd), wr, N);
    for (int i = 0; i < N; i++)
        close(wr[i]);
    expect_id(c, 3);
    for (int i = 0; i < N; i++) {
        ssize_t k = read(rd[i], buf, sizeof(buf));
        if (i < QMP_CONN_MAX_FDS)
            assert_true(k < 0 && errno == EAGAIN); /* still held by the server */
        else
            assert_int_equal(k, 0);
    }
    /* The oldest kept one is what getfd takes. */
    tt_send(c, "{\"execute\":\"getfd\",\"id\":4}");
    expect_id(c, 4);
    assert_int_equal(read(rd[0], buf, sizeof(buf)), 2);

    tt_close(c);
    tt_wait_live(s, 0);
    for (int i = 0; i < N; i++) {
        uint64_t t0 = tt_now_ms();
        ssize_t k;
        while ((k = read(rd[i], buf, sizeof(buf))) < 0 && errno == EAGAIN && tt_now_ms() - t0 < TT_WAIT_MS)
            tt_sleep_ms(1);
        assert_int_equal(k, 0);
        close(rd[i]);
    }
    assert_int_equal(tt_count_fds(), fds0);
    tt_finish(s, &d);
}

static void test_tcp(void **state)
{
    tt_dir_t d;
    tt_dir_make(&d);
    char uri_opts[160];
    snprintf(uri_opts, sizeof(uri_opts), "%s,server=on,wait=off", d.uri);
    tt_server_t *s = tt_start("tcp:127.0.0.1:0,server,nowait", uri_opts, NULL);
    assert_true(strncmp(s->bound[0], "tcp:127.0.0.1:", 14) == 0);
    assert_string_equal(s->bound[1], d.uri);
    int port = atoi(s->bound[0] + 14);
    assert_true(port > 0);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    tt_client_t *c = tt_client_fd(fd);
    char *line = tt_line(c);
    assert_string_equal(line, GREETING);
    free(line);
    tt_send(c, "{\"execute\":\"qmp_capabilities\",\"id\":1}");
    expect_id(c, 1);
    tt_send(c, "{\"execute\":\"echo\",\"id\":2}");
    expect_id(c, 2);
    tt_close(c);

    /* Both listeners serve. */
    c = tt_client_ready(d.uri);
    tt_close(c);
    tt_finish(s, &d);
}

static void test_bad_listen(void **state)
{
    char dir[64], path[128], uri[140];
    tt_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/file", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(uri, sizeof(uri), "unix:%s", path);

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_qmp_t qmp = {.loop = &loop};
    assert_int_equal(qmp_transport_init(&qmp), 0);
    vmig_error_t err = {0};
    /* A file that is not a socket is never replaced. */
    assert_int_equal(vmig_qmp_listen(&qmp, uri, &err), -EEXIST);
    vmig_error_clear(&err);
    assert_int_equal(vmig_qmp_listen(&qmp, "udp:1.2.3.4:5", &err), -EINVAL);
    vmig_error_clear(&err);
    assert_int_equal(vmig_qmp_listen(&qmp, "tcp:127.0.0.1", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "port"));
    vmig_error_clear(&err);
    assert_int_equal(vmig_qmp_listen(&qmp, "unix:", &err), -EINVAL);
    vmig_error_clear(&err);
    assert_int_equal(vmig_qmp_listen(&qmp, "unix:/tmp/x,server=off", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "server=off"));
    assert_null(qmp_transport_listener_uri(&qmp, 0));
    /* Nothing open: closing needs no coroutine. */
    qmp_transport_close(&qmp);
    assert_null(qmp.tr);
    assert_int_equal(uv_loop_close(&loop), 0);
    unlink(path);
    tt_rmdir(dir);
}

/* A close while vmig_qmp_listen() resolves a host name waits for it, and
 * the listen gives up. */
typedef struct listen_arg {
    vmig_qmp_t *qmp;   /* the monitor */
    int result;        /* vmig_qmp_listen()'s */
} listen_arg_t;

static int listen_body(void *arg)
{
    listen_arg_t *a = arg;
    vmig_error_t err = {0};
    a->result = vmig_qmp_listen(a->qmp, "tcp:localhost:0", &err);
    return 0;
}

static int close_body(void *arg)
{
    qmp_transport_close(arg);
    return 0;
}

static void test_close_during_listen(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    tt_server_t s = {0};
    tt_current = &s;
    vmig_qmp_t qmp = {.loop = &loop};
    assert_int_equal(qmp_transport_init(&qmp), 0);
    listen_arg_t a = {.qmp = &qmp, .result = 1};
    co_t *lc = co_create(&loop, listen_body, &a);
    co_enter(lc);
    assert_int_equal(a.result, 1); /* suspended in the resolver */
    co_t *cc = co_create(&loop, close_body, &qmp);
    co_enter(cc);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(co_finished(lc) && co_finished(cc));
    co_join(lc, NULL);
    co_join(cc, NULL);
    assert_int_equal(a.result, -ECANCELED);
    assert_null(qmp.tr);
    assert_int_equal(uv_loop_close(&loop), 0);
    tt_current = NULL;
}

/* Closing the monitor with clients connected, one of them mid-command:
 * every client sees the end, the thread's loop ends with nothing open. */
static void test_close_with_clients(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    tt_client_t *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = tt_client_ready(d.uri);
    }
    tt_send(c[0], "{\"execute\":\"slow\",\"id\":1}");
    tt_send(c[1], "{\"execute\":"); /* half a command */
    tt_wait_eq(&s->slow_running, 1);
    tt_stop(s);
    for (int i = 0; i < 3; i++) {
        assert_null(tt_line(c[i]));
        tt_close(c[i]);
    }
    tt_rmdir(d.dir);
}

/* Send "hold" (the dispatcher keeps the reader until the command ends) then
 * "echo" in one write, and wait until the hold has been read: the number of
 * values the server had read before. */
static unsigned send_hold_then_echo(tt_server_t *s, tt_client_t *c)
{
    unsigned values = atomic_load(&s->values);
    tt_send(c, "{\"execute\":\"hold\",\"id\":1}{\"execute\":\"echo\",\"id\":2}");
    tt_wait_eq(&s->values, values + 1);
    return values;
}

/* The dispatcher may suspend the reader inside vmig_qmp_dispatch() (flow
 * control): nothing more is read meanwhile, and closing the monitor cancels
 * that wait instead of waiting for it. */
static void test_close_while_dispatch_waits(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);
    tt_client_t *c = tt_client_ready(d.uri);
    unsigned values = send_hold_then_echo(s, c);
    tt_sleep_ms(50);
    assert_int_equal(atomic_load(&s->values), values + 1); /* echo not read yet */
    assert_int_equal(atomic_load(&s->hold_result), 1);

    uint64_t t0 = tt_now_ms();
    tt_join(s);
    assert_true(tt_now_ms() - t0 < 2000);
    assert_int_equal(atomic_load(&s->hold_result), -ECANCELED);
    free(s);
    assert_null(tt_line(c)); /* the hold's reply was dropped with the connection */
    tt_close(c);
    tt_rmdir(d.dir);
}

/* A client that hangs up while the dispatcher holds its reader (a command
 * running) is dropped at once, the command's wait cancelled; one that only
 * shuts its sending side gets every reply, then the end. */
static void test_hangup_while_dispatch_waits(void **state)
{
    tt_dir_t d;
    tt_server_t *s = tt_start_unix(&d, NULL);

    tt_client_t *c = tt_client_ready(d.uri);
    unsigned values = send_hold_then_echo(s, c);
    uint64_t t0 = tt_now_ms();
    tt_close(c);
    tt_wait_live(s, 0);
    assert_true(tt_now_ms() - t0 < 2000);
    assert_int_equal(atomic_load(&s->hold_result), -ECANCELED);
    assert_int_equal(atomic_load(&s->values), values + 1); /* echo was never read */

    /* "Send everything, shut down, read the replies" (socat's way). */
    c = tt_connect_unix(d.uri);
    assert_non_null(c);
    tt_send(c, "{\"execute\":\"qmp_capabilities\",\"id\":0}"
               "{\"execute\":\"hold\",\"arguments\":{\"ms\":100},\"id\":1}"
               "{\"execute\":\"echo\",\"id\":2}");
    shutdown(c->fd, SHUT_WR);
    json_decref(tt_recv(c)); /* greeting */
    for (json_int_t id = 0; id < 3; id++) {
        tt_expect_id(c, id);
    }
    assert_int_equal(atomic_load(&s->hold_result), 0);
    assert_null(tt_line(c));
    tt_close(c);
    tt_wait_live(s, 0);
    tt_finish(s, &d);
}

int main(void)
{
    vt_test_setup(TT_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_and_mode),
        cmocka_unit_test(test_order_pieces_and_errors),
        cmocka_unit_test(test_fd_passing),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_close_during_listen),
        cmocka_unit_test(test_close_with_clients),
        cmocka_unit_test(test_close_while_dispatch_waits),
        cmocka_unit_test(test_hangup_while_dispatch_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
