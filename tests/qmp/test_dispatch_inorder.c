/* test_dispatch_inorder.c — in-band commands of one connection run strictly
 * one at a time, in order, even when their handlers suspend; replies keep the
 * order of the requests, errors found at once included. */
#include "dispatch_test.h"

typedef struct slow {
    int running;    /* handlers running now */
    int most;       /* the most that ever ran at once */
    char log[64];   /* letters of the handlers, as they start and end */
    size_t n;       /* length of log */
} slow_t;

/* Sleeps for {"ms": N} milliseconds (yank's "instances" carry the test's
 * parameters: [{"type": "chardev", "id": "<letter><ms>"}]). */
static int slow_handler(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    slow_t *s = opaque;
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(req->args, "instances"), 0), "id"));
    assert_non_null(id);
    if (++s->running > s->most)
        s->most = s->running;
    s->log[s->n++] = id[0];
    int r = co_sleep((uint64_t)atoi(id + 1));
    s->log[s->n++] = (char)(id[0] - 'a' + 'A');
    s->running--;
    *ret = json_pack("{s:s}", "done", id);
    return r;
}

#define YANK(id, tag) \
    "{\"execute\": \"yank\", \"arguments\": {\"instances\": [{\"type\": \"chardev\", " \
    "\"id\": \"" id "\"}]}, \"id\": " tag "}"

static void run_order(bool oob)
{
    dt_t t;
    dt_conn_t c;
    slow_t s = { 0 };
    dt_start(&t, &c, oob);
    assert_int_equal(vmig_qmp_register(t.qmp, "yank", slow_handler, &s), 0);
    /* The longest first: were they concurrent, c would reply first. */
    dt_input(&t, &c, YANK("a60", "1"));
    dt_input(&t, &c, "{\"execute\": \"nosuch\", \"id\": 2}");
    dt_input(&t, &c, YANK("b20", "3"));
    vmig_qmp_dispatch(t.qmp, &c.conn, NULL, "JSON parse error, expecting value");
    dt_input(&t, &c, YANK("c1", "4"));
    /* a runs, everything else waits behind it. */
    assert_int_equal(dt_pending(&c), 0);
    assert_int_equal(s.running, 1);
    dt_run(&t);
    assert_int_equal(s.most, 1);
    assert_int_equal((int)s.n, 6);
    assert_memory_equal(s.log, "aAbBcC", 6);
    dt_expect(&c, "{\"return\": {\"done\": \"a60\"}, \"id\": 1}");
    dt_expect(&c, DT_ERROR_ID("2", "CommandNotFound", "The command nosuch has not been found"));
    dt_expect(&c, "{\"return\": {\"done\": \"b20\"}, \"id\": 3}");
    dt_expect(&c, DT_ERROR("GenericError", "JSON parse error, expecting value"));
    dt_expect(&c, "{\"return\": {\"done\": \"c1\"}, \"id\": 4}");
    assert_int_equal(dt_pending(&c), 0);
    dt_end(&t, &c);
}

static void test_in_order(void **state)
{
    run_order(false);
}

/* Enabling oob does not make in-band commands concurrent. */
static void test_in_order_oob(void **state)
{
    run_order(true);
}

/* Two connections do not wait for each other. */
static void test_connections_independent(void **state)
{
    dt_t t;
    dt_conn_t c1, c2;
    slow_t s = { 0 };
    dt_init(&t);
    assert_int_equal(vmig_qmp_register(t.qmp, "yank", slow_handler, &s), 0);
    dt_open(&t, &c1, true);
    dt_open(&t, &c2, true);
    dt_negotiate(&t, &c1, false);
    dt_negotiate(&t, &c2, false);
    dt_input(&t, &c1, YANK("a50", "1"));
    dt_input(&t, &c2, YANK("b10", "2"));
    assert_int_equal(s.running, 2);
    dt_run(&t);
    assert_int_equal(s.most, 2);
    assert_memory_equal(s.log, "abBA", 4);
    dt_expect(&c1, "{\"return\": {\"done\": \"a50\"}, \"id\": 1}");
    dt_expect(&c2, "{\"return\": {\"done\": \"b10\"}, \"id\": 2}");
    dt_close(&t, &c1);
    dt_close(&t, &c2);
    dt_done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_in_order_oob),
        cmocka_unit_test(test_connections_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
