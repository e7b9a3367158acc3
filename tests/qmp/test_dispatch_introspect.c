/* test_dispatch_introspect.c — query-qmp-schema: QEMU 7.2's SchemaInfo list
 * (masked type names, members with "default": null, allow-oob, unions with a
 * variant per tag value), limited to registered commands, every reference
 * resolving to an entity of the list. */
#include "dispatch_test.h"

static int nop(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    return 0;
}

/* The reply's list, and a name -> entity index of it. */
static json_t *query_schema(dt_t *t, dt_conn_t *c, json_t **index)
{
    dt_input(t, c, "{\"execute\": \"query-qmp-schema\"}");
    char *text = dt_take(c);
    json_t *reply = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(reply);
    json_t *list = json_incref(json_object_get(reply, "return"));
    json_decref(reply);
    assert_true(json_is_array(list));
    *index = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        assert_non_null(name);
        assert_non_null(json_string_value(json_object_get(e, "meta-type")));
        /* Entity names are unique (commands and events by name, types by
         * masked name). */
        assert_null(json_object_get(*index, name));
        json_object_set(*index, name, e);
    }
    return list;
}

static void assert_type(json_t *index, json_t *name)
{
    assert_true(json_is_string(name));
    if (!json_object_get(index, json_string_value(name)))
        fprintf(stderr, "type '%s' is not in the list\n", json_string_value(name));
    assert_non_null(json_object_get(index, json_string_value(name)));
}

/* Every type reference of every entity resolves. */
static void check_closed(json_t *list, json_t *index)
{
    size_t i, j;
    json_t *e, *m;
    json_array_foreach(list, i, e) {
        const char *meta = json_string_value(json_object_get(e, "meta-type"));
        if (!strcmp(meta, "command") || !strcmp(meta, "event")) {
            assert_type(index, json_object_get(e, "arg-type"));
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(index, json_string_value(
                                                                             json_object_get(e, "arg-type"))),
                                                  "meta-type")),
                "object");
        }
        if (!strcmp(meta, "command"))
            assert_type(index, json_object_get(e, "ret-type"));
        if (!strcmp(meta, "array"))
            assert_type(index, json_object_get(e, "element-type"));
        if (!strcmp(meta, "object") || !strcmp(meta, "alternate"))
            json_array_foreach(json_object_get(e, "members"), j, m)
                assert_type(index, json_object_get(m, "type"));
        json_array_foreach(json_object_get(e, "variants"), j, m)
            assert_type(index, json_object_get(m, "type"));
    }
}

static char *dump(json_t *index, const char *name)
{
    json_t *e = json_object_get(index, name);
    assert_non_null(e);
    char *s = json_dumps(e, JSON_ENSURE_ASCII);
    assert_non_null(s);
    return s;
}

#define assert_entity(index, name, want)         \
    do {                                         \
        char *s_ = dump((index), (name));        \
        assert_string_equal(s_, (want));         \
        free(s_);                                \
    } while (0)

static void test_schema_shape(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    json_t *index, *list = query_schema(&t, &c, &index);
    check_closed(list, index);
    /* Commands in schema order, then events, then types by first use:
     * qmp_capabilities's arguments are "0", the empty object "1". */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "qmp_capabilities");
    assert_entity(index, "qmp_capabilities",
                  "{\"name\": \"qmp_capabilities\", \"ret-type\": \"1\", \"meta-type\": \"command\", "
                  "\"arg-type\": \"0\"}");
    assert_entity(index, "0",
                  "{\"name\": \"0\", \"members\": [{\"name\": \"enable\", \"default\": null, "
                  "\"type\": \"[8]\"}], \"meta-type\": \"object\"}");
    assert_entity(index, "1", "{\"name\": \"1\", \"members\": [], \"meta-type\": \"object\"}");
    assert_entity(index, "[8]",
                  "{\"name\": \"[8]\", \"element-type\": \"8\", \"meta-type\": \"array\"}");
    assert_entity(index, "8",
                  "{\"name\": \"8\", \"members\": [{\"name\": \"oob\"}], \"meta-type\": \"enum\", "
                  "\"values\": [\"oob\"]}");
    assert_entity(index, "query-version",
                  "{\"name\": \"query-version\", \"ret-type\": \"2\", \"meta-type\": \"command\", "
                  "\"arg-type\": \"1\"}");
    assert_entity(index, "2",
                  "{\"name\": \"2\", \"members\": [{\"name\": \"qemu\", \"type\": \"9\"}, "
                  "{\"name\": \"package\", \"type\": \"str\"}], \"meta-type\": \"object\"}");
    assert_entity(index, "9",
                  "{\"name\": \"9\", \"members\": [{\"name\": \"major\", \"type\": \"int\"}, "
                  "{\"name\": \"minor\", \"type\": \"int\"}, {\"name\": \"micro\", \"type\": "
                  "\"int\"}], \"meta-type\": \"object\"}");
    assert_entity(index, "str",
                  "{\"name\": \"str\", \"json-type\": \"string\", \"meta-type\": \"builtin\"}");
    assert_entity(index, "STOP",
                  "{\"name\": \"STOP\", \"meta-type\": \"event\", \"arg-type\": \"1\"}");
    /* Unregistered commands are left out; every event is there. */
    assert_null(json_object_get(index, "stop"));
    assert_null(json_object_get(index, "yank"));
    assert_non_null(json_object_get(index, "SHUTDOWN"));
    assert_non_null(json_object_get(index, "RESUME"));
    json_decref(index);
    json_decref(list);
    dt_end(&t, &c);
}

/* A registered allow-oob command taking a list of a union. */
static void test_schema_union(void **state)
{
    dt_t t;
    dt_conn_t c;
    dt_start(&t, &c, false);
    assert_int_equal(vmig_qmp_register(t.qmp, "yank", nop, NULL), 0);
    json_t *index, *list = query_schema(&t, &c, &index);
    check_closed(list, index);
    json_t *yank = json_object_get(index, "yank");
    assert_non_null(yank);
    assert_true(json_is_true(json_object_get(yank, "allow-oob")));
    assert_null(json_object_get(json_object_get(index, "query-version"), "allow-oob"));
    json_t *args = json_object_get(index, json_string_value(json_object_get(yank, "arg-type")));
    json_t *inst = json_array_get(json_object_get(args, "members"), 0);
    assert_string_equal(json_string_value(json_object_get(inst, "name")), "instances");
    json_t *arr = json_object_get(index, json_string_value(json_object_get(inst, "type")));
    assert_string_equal(json_string_value(json_object_get(arr, "meta-type")), "array");
    json_t *u = json_object_get(index, json_string_value(json_object_get(arr, "element-type")));
    assert_string_equal(json_string_value(json_object_get(u, "tag")), "type");
    json_t *variants = json_object_get(u, "variants");
    assert_int_equal(json_array_size(variants), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(variants, 2), "case")),
                        "migration");
    /* The value without a branch gets the empty object, as in QEMU. */
    json_t *mig = json_object_get(index, json_string_value(
                                             json_object_get(json_array_get(variants, 2), "type")));
    assert_int_equal(json_array_size(json_object_get(mig, "members")), 0);
    json_decref(index);
    json_decref(list);
    dt_end(&t, &c);
}

int main(void)
{
    /* A failed assertion inside the dispatcher's coroutine cannot unwind it
     * and leaves the loop waiting: the alarm turns that hang into a failure
     * in seconds rather than at ctest's timeout. */
    vt_test_setup(30);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_shape),
        cmocka_unit_test(test_schema_union),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
