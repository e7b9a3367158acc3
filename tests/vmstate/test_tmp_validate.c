/* test_tmp_validate.c — WITH_TMP written inline from a scratch struct; VALIDATE
 * puts nothing on the wire and fails the load when its check is false. */
#include "vmstate_test.h"

typedef struct {
    uint32_t lo;
    uint32_t hi;
    uint8_t tail;
} split_t;

/* On the wire split_t is one be64 (hi:lo) built in a temp struct. */
typedef struct {
    split_t *parent;
    uint64_t joined;
} split_tmp_t;

static int tmp_pre_save(void *opaque)
{
    split_tmp_t *t = opaque;
    t->joined = (uint64_t)t->parent->hi << 32 | t->parent->lo;
    return 0;
}

static int tmp_post_load(void *opaque, int version_id)
{
    split_tmp_t *t = opaque;
    t->parent->hi = (uint32_t)(t->joined >> 32);
    t->parent->lo = (uint32_t)t->joined;
    return 0;
}

static const vmig_vmsd_field_t tmp_fields[] = {
    VMIG_VMSTATE_UINT64(joined, split_tmp_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t tmp_vmsd = {.name = "split/tmp", .version_id = 1,
                                     .pre_save = tmp_pre_save, .post_load = tmp_post_load,
                                     .fields = tmp_fields};

/* The tail must be even: a check between fields, seeing what loaded so far. */
static bool tail_even(void *opaque, int version_id)
{
    return ((split_t *)opaque)->tail % 2 == 0;
}

static const vmig_vmsd_field_t split_fields[] = {
    VMIG_VMSTATE_WITH_TMP(split_t, split_tmp_t, tmp_vmsd),
    VMIG_VMSTATE_UINT8(tail, split_t),
    VMIG_VMSTATE_VALIDATE("tail is even", tail_even),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t split_vmsd = {.name = "split", .version_id = 1,
                                       .fields = split_fields};

static const uint8_t expect[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x02};

static void test_tmp(void **state)
{
    split_t v = {.lo = 0x55667788, .hi = 0x11223344, .tail = 2};
    test_bytes_t b = test_save(&split_vmsd, &v, NULL);
    vt_assert_bytes(b.data, b.len, expect, sizeof(expect));
    free(b.data);
    split_t l = {0};
    assert_int_equal(test_load(&split_vmsd, &l, 1, expect, sizeof(expect), NULL, NULL), 0);
    assert_int_equal(l.hi, 0x11223344);
    assert_int_equal(l.lo, 0x55667788);
    assert_int_equal(l.tail, 2);
}

static void test_validate(void **state)
{
    uint8_t in[sizeof(expect)];
    memcpy(in, expect, sizeof(in));
    in[8] = 3;
    split_t l = {0};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&split_vmsd, &l, 1, in, sizeof(in), msg, NULL), -EINVAL);
    assert_string_equal(msg, "Input validation failed: split/tail is even");

    /* The saver checks too, before writing anything wrong. */
    split_t v = {.tail = 5};
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_vmstate_save(s, &split_vmsd, &v, NULL), -EINVAL);
    assert_string_equal(vmig_stream_error_msg(s), "Output state validation failed: split/tail is even");
    vmig_stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmp),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
