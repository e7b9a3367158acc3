/* test_transport_split.c — the QMP input framer alone: values cut at every
 * byte boundary, several values per chunk, strings holding braces and
 * escaped quotes, QEMU's single-quoted strings, garbage then resync, the
 * size and depth limits, and the jansson parse with QEMU's error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_json_split.h"

#define MAX_ITEMS 64

/* What the splitter produced: "V:" + value bytes or "E:" + message each. */
typedef struct items {
    char *s[MAX_ITEMS]; /* malloc'd, NUL-terminated */
    size_t n;           /* how many */
} items_t;

static void items_add(items_t *it, char kind, const char *p, size_t len)
{
    assert_true(it->n < MAX_ITEMS);
    char *s = malloc(len + 3);
    assert_non_null(s);
    s[0] = kind;
    s[1] = ':';
    memcpy(s + 2, p, len);
    s[len + 2] = '\0';
    it->s[it->n++] = s;
}

static void items_free(items_t *it)
{
    for (size_t i = 0; i < it->n; i++)
        free(it->s[i]);
    it->n = 0;
}

/* Feed data[0..len) in pieces that end at each cut (ascending), then the rest. */
static void feed_cuts(qmp_json_split_t *sp, const char *data, size_t len, const size_t *cuts,
                      size_t ncuts, items_t *it)
{
    size_t start = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        while (start < end) {
            qmp_json_item_t item;
            size_t used = qmp_json_split_feed(sp, data + start, end - start, &item);
            assert_true(used > 0 || item.kind != QMP_JSON_NONE);
            assert_true(used <= end - start);
            start += used;
            if (item.kind == QMP_JSON_VALUE)
                items_add(it, 'V', item.data, item.len);
            else if (item.kind == QMP_JSON_ERROR)
                items_add(it, 'E', item.error, strlen(item.error));
        }
    }
}

static void feed_all(qmp_json_split_t *sp, const char *data, size_t len, items_t *it)
{
    feed_cuts(sp, data, len, NULL, 0, it);
}

static void assert_items(const items_t *it, const char *const *want, size_t nwant)
{
    if (it->n != nwant) {
        for (size_t i = 0; i < it->n; i++)
            fprintf(stderr, "got[%zu] = %s\n", i, it->s[i]);
    }
    assert_int_equal(it->n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(it->s[i], want[i]);
}

/* Every way of cutting data in two, and byte by byte, gives want. */
static void check_all_cuts(const char *data, size_t len, size_t max_size, unsigned max_depth,
                           const char *const *want, size_t nwant)
{
    for (size_t cut = 0; cut <= len; cut++) {
        qmp_json_split_t sp;
        qmp_json_split_init(&sp, max_size, max_depth);
        items_t it = {0};
        feed_cuts(&sp, data, len, &cut, 1, &it);
        assert_items(&it, want, nwant);
        items_free(&it);
        assert_false(qmp_json_split_pending(&sp));
        qmp_json_split_free(&sp);
    }
    size_t *cuts = malloc(len * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, max_size, max_depth);
    items_t it = {0};
    feed_cuts(&sp, data, len, cuts, len, &it);
    assert_items(&it, want, nwant);
    items_free(&it);
    qmp_json_split_free(&sp);
    free(cuts);
}

#define CHECK(data, max_size, max_depth, ...)                                                  \
    do {                                                                                       \
        static const char *const want_[] = {__VA_ARGS__};                                      \
        check_all_cuts(data, sizeof(data) - 1, max_size, max_depth, want_,                     \
                       sizeof(want_) / sizeof(want_[0]));                                      \
    } while (0)

static void test_values_at_every_boundary(void **state)
{
    CHECK("{\"execute\":\"qmp_capabilities\"}\r\n", 0, 0,
          "V:{\"execute\":\"qmp_capabilities\"}");
    /* Several values, whitespace and newlines between and inside them. */
    CHECK(" {\"a\": [1, 2, {\"b\": null}]}\n\n\t{\"execute\":\"x\", \"id\": 7}{}[] \r\n", 0, 0,
          "V:{\"a\": [1, 2, {\"b\": null}]}", "V:{\"execute\":\"x\", \"id\": 7}", "V:{}", "V:[]");
    /* Braces, brackets and escaped quotes inside strings do not count. */
    CHECK("{\"a\":\"}{][\",\"b\":\"x\\\"}y\",\"c\":\"\\\\\"}{\"d\":\"\\u007b\"}", 0, 0,
          "V:{\"a\":\"}{][\",\"b\":\"x\\\"}y\",\"c\":\"\\\\\"}", "V:{\"d\":\"\\u007b\"}");
    /* Top-level scalars: a string ends at its quote, a bare token at the
     * next byte that cannot belong to it. */
    CHECK("\"str}\" 123 true{\"a\":1}null\n", 0, 0, "V:\"str}\"", "V:123", "V:true",
          "V:{\"a\":1}", "V:null");
}

static void test_single_quotes(void **state)
{
    /* QEMU's 'strings' become JSON strings: a '"' inside is escaped, \' unescaped. */
    CHECK("{'execute':'query-status', 'id': 'a\\'b\"c}'}", 0, 0,
          "V:{\"execute\":\"query-status\", \"id\": \"a'b\\\"c}\"}");
    CHECK("{\"id\":\"it\\'s\"}", 0, 0, "V:{\"id\":\"it's\"}");

    qmp_json_split_t sp;
    qmp_json_split_init(&sp, 0, 0);
    items_t it = {0};
    const char in[] = "{'id': 'a\\'b\"c'}";
    feed_all(&sp, in, sizeof(in) - 1, &it);
    assert_int_equal(it.n, 1);
    char err[128];
    json_t *v = qmp_json_parse(it.s[0] + 2, strlen(it.s[0] + 2), err, sizeof(err));
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "id")), "a'b\"c");
    json_decref(v);
    items_free(&it);
    qmp_json_split_free(&sp);
}

static void test_garbage_then_resync(void **state)
{
    /* Stray closers and separators: one error each, as QEMU. */
    CHECK("} ] , : {\"a\":1}", 0, 0, "E:JSON parse error, expecting value",
          "E:JSON parse error, expecting value", "E:JSON parse error, expecting value",
          "E:JSON parse error, expecting value", "V:{\"a\":1}");
    /* A control byte drops the value in progress; input resumes at the next
     * structural character (here the stray '}', QEMU's second error). */
    CHECK("{\"execute\": \x01 \"query-status\"}{\"a\":1}", 0, 0,
          "E:JSON parse error, stray '\x01'", "E:JSON parse error, expecting value",
          "V:{\"a\":1}");
    /* A raw newline inside a string, as QEMU reports it. */
    CHECK("{\"execute\":\"qmp_capabilities\n\"}\n{\"a\":1}", 0, 0,
          "E:JSON parse error, stray '\"qmp_capabilities\n'",
          "E:JSON parse error, expecting value", "V:{\"a\":1}");
    /* 0xFF (a client's explicit reset) shows as U+FFFD; the text is UTF-8. */
    CHECK("\xff{\"a\":1}", 0, 0, "E:JSON parse error, stray '\xEF\xBF\xBD'", "V:{\"a\":1}");
    /* Bare garbage is a value of its own that jansson will reject. */
    CHECK("foo bar\n{\"a\":1}", 0, 0, "V:foo", "V:bar", "V:{\"a\":1}");
    /* A mismatched closer ends the value (jansson rejects it). */
    CHECK("[}{\"a\":1}", 0, 0, "V:[}", "V:{\"a\":1}");
}

static void test_stray_text_is_valid_utf8(void **state)
{
    /* An invalid UTF-8 byte and a long token inside a string, then a control byte. */
    char in[300];
    size_t n = (size_t)snprintf(in, sizeof(in), "{\"a\":\"\xc3\xa9\xc3(");
    memset(in + n, 'x', 100);
    n += 100;
    in[n++] = 0x02;
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, 0, 0);
    items_t it = {0};
    feed_all(&sp, in, n, &it);
    assert_int_equal(it.n, 1);
    assert_true(strncmp(it.s[0], "E:JSON parse error, stray '...", 30) == 0);
    json_t *s = json_string(it.s[0] + 2);
    assert_non_null(s); /* jansson accepts it: valid UTF-8 */
    json_decref(s);
    items_free(&it);

    /* A NUL byte between values is an error too, and dropped from the text. */
    feed_all(&sp, "\0{}", 3, &it);
    assert_int_equal(it.n, 2);
    assert_string_equal(it.s[0], "E:JSON parse error, stray ''");
    assert_string_equal(it.s[1], "V:{}");
    items_free(&it);
    qmp_json_split_free(&sp);
}

static void test_size_limit(void **state)
{
    /* Exactly the limit passes; one byte more is rejected once, at once,
     * and the rest of that value (braces in strings included) is skipped. */
    CHECK("{\"a\":\"0123456789\"}", 18, 0, "V:{\"a\":\"0123456789\"}");
    CHECK("{\"a\":\"01234567}9x\"} {\"b\":2}", 18, 0, "E:JSON token size limit exceeded",
          "V:{\"b\":2}");
    CHECK("\"0123456789012345678901234567890123\" 12345678901234567890 {}", 18, 0,
          "E:JSON token size limit exceeded", "E:JSON token size limit exceeded", "V:{}");

    /* The error comes as soon as the limit is crossed, before the value ends. */
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, 1024, 0);
    items_t it = {0};
    char *big = malloc(4096);
    assert_non_null(big);
    memset(big, ' ', 4096);
    memcpy(big, "{\"a\":[", 6);
    feed_all(&sp, big, 4096, &it);
    assert_int_equal(it.n, 1);
    assert_string_equal(it.s[0], "E:JSON token size limit exceeded");
    assert_true(qmp_json_split_pending(&sp));
    items_free(&it);
    feed_all(&sp, "]}{\"ok\":1}", 10, &it);
    assert_int_equal(it.n, 1);
    assert_string_equal(it.s[0], "V:{\"ok\":1}");
    items_free(&it);
    free(big);
    qmp_json_split_free(&sp);
}

static void test_depth_limit(void **state)
{
    CHECK("[[[[1]]]]", 0, 4, "V:[[[[1]]]]");
    CHECK("[[[[[1]]]]] {\"a\":{}}", 0, 4, "E:JSON nesting depth limit exceeded", "V:{\"a\":{}}");
    CHECK("{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}{}", 0, 4, "E:JSON nesting depth limit exceeded", "V:{}");

    /* 100000 levels with the default limit: one error, memory stays small,
     * the next value is fine. */
    size_t deep = 100000;
    char *in = malloc(2 * deep + 2);
    assert_non_null(in);
    memset(in, '[', deep);
    memset(in + deep, ']', deep);
    memcpy(in + 2 * deep, "{}", 2);
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, 0, 0);
    items_t it = {0};
    feed_all(&sp, in, 2 * deep + 2, &it);
    assert_int_equal(it.n, 2);
    assert_string_equal(it.s[0], "E:JSON nesting depth limit exceeded");
    assert_string_equal(it.s[1], "V:{}");
    assert_true(sp.cap <= 16 * 1024);
    items_free(&it);
    free(in);
    qmp_json_split_free(&sp);
}

static void test_big_value_memory_returned(void **state)
{
    size_t n = 200 * 1024;
    char *in = malloc(n);
    assert_non_null(in);
    memset(in, 'x', n);
    memcpy(in, "{\"a\":\"", 6);
    memcpy(in + n - 2, "\"}", 2);
    qmp_json_split_t sp;
    qmp_json_split_init(&sp, 0, 0);
    items_t it = {0};
    feed_all(&sp, in, n, &it);
    assert_int_equal(it.n, 1);
    assert_int_equal(strlen(it.s[0]), n + 2);
    assert_true(sp.cap >= n);
    items_free(&it);
    feed_all(&sp, "{}", 2, &it);
    assert_true(sp.cap <= 16 * 1024);
    items_free(&it);
    free(in);
    qmp_json_split_free(&sp);
}

static void test_parse(void **state)
{
    char err[128];
    json_t *v = qmp_json_parse("{\"a\":1,\"a\":2}", 13, err, sizeof(err));
    assert_null(v);
    assert_string_equal(err, "JSON parse error, duplicate key");
    v = qmp_json_parse("foo", 3, err, sizeof(err));
    assert_null(v);
    assert_string_equal(err, "JSON parse error, invalid keyword 'foo'");
    v = qmp_json_parse("{\"a\" 1}", 7, err, sizeof(err));
    assert_null(v);
    assert_string_equal(err, "JSON parse error, expecting value");
    v = qmp_json_parse("}", 1, err, sizeof(err));
    assert_null(v);
    v = qmp_json_parse("123", 3, err, sizeof(err));
    assert_non_null(v);
    assert_true(json_is_integer(v));
    json_decref(v);
    v = qmp_json_parse("\"a\\u0000b\"", 10, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(json_string_length(v), 3);
    json_decref(v);
    v = qmp_json_parse("{\"s\":\"\xff\"}", 8, err, sizeof(err));
    assert_null(v); /* invalid UTF-8 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_at_every_boundary),
        cmocka_unit_test(test_single_quotes),
        cmocka_unit_test(test_garbage_then_resync),
        cmocka_unit_test(test_stray_text_is_valid_utf8),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_big_value_memory_returned),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
