/* test_find_vmdesc.c — the vmdesc trailer is found at the tail of a whole
 * stream (last NUL, next '{', 0x06 five bytes before, exact length) and
 * anything else is "not found", never an error or a crash. */
#include "an_test.h"

static void trailer(bb_t *b, const char *json, uint32_t len)
{
    bb_header(b);
    bb_u8(b, VMIG_VM_EOF);
    bb_u8(b, VMIG_VM_VMDESCRIPTION);
    bb_be32(b, len);
    bb_bytes(b, json, strlen(json));
}

static void test_found(void **state)
{
    (void)state;
    const char *js = "{\"page_size\": 4096, \"devices\": []}";
    bb_t b = {0};
    trailer(&b, js, (uint32_t)strlen(js));
    json_t *vd = NULL;
    uint64_t off = 0;
    assert_int_equal(vmig_analyze_find_vmdesc(b.p, b.len, &vd, &off), 0);
    assert_int_equal(off, 18);
    assert_int_equal(json_integer_value(json_object_get(vd, "page_size")), 4096);
    json_decref(vd);
    bb_free(&b);
}

static void expect_none(const void *p, size_t len)
{
    json_t *vd = (json_t *)1;
    assert_int_equal(vmig_analyze_find_vmdesc(p, len, &vd, NULL), -ENOENT);
    assert_null(vd);
}

static void test_not_found(void **state)
{
    (void)state;
    const char *js = "{\"devices\": []}";
    bb_t b = {0};
    trailer(&b, js, (uint32_t)strlen(js) + 1); /* length says one byte more */
    expect_none(b.p, b.len);
    expect_none(b.p, b.len - 1); /* cut */
    b.p[b.len - strlen(js) - 5] = 0x07; /* not the vmdesc marker */
    b.p[b.len - strlen(js) - 1] = (uint8_t)strlen(js);
    expect_none(b.p, b.len);
    bb_free(&b);

    trailer(&b, "{\"devices\": [}", 14); /* not JSON */
    expect_none(b.p, b.len);
    bb_free(&b);
    trailer(&b, "[1]", 3); /* no '{' at all after the last NUL */
    expect_none(b.p, b.len);
    bb_free(&b);

    expect_none(NULL, 0);
}

static void test_tiny(void **state)
{
    (void)state;
    json_t *vd = NULL;
    /* The smallest valid one: 06 00000002 "{}". */
    assert_int_equal(vmig_analyze_find_vmdesc("\x06\x00\x00\x00\x02{}", 7, &vd, NULL), 0);
    json_decref(vd);
    expect_none("\x00{}", 3);
    expect_none("{}", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_found),
                                       cmocka_unit_test(test_not_found),
                                       cmocka_unit_test(test_tiny)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
