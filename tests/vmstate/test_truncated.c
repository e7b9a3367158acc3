/* test_truncated.c — every prefix of a section body fails with -EIO at the cut,
 * naming the field; a cut before a subsection name is a complete body. */
#include "vmstate_test.h"

typedef struct {
    uint16_t x;
} in_t;

typedef struct {
    uint8_t a;
    uint32_t cnt;
    uint16_t *data;
    in_t in;
    vmig_vmstate_timer_t t;
} tr_t;

static const vmig_vmsd_field_t in_fields[] = {
    VMIG_VMSTATE_UINT16(x, in_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t in_vmsd = {.name = "in", .version_id = 1, .fields = in_fields};

static const vmig_vmsd_field_t sub_fields[] = {
    VMIG_VMSTATE_TIMER(t, tr_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t sub_vmsd = {.name = "tr/t", .version_id = 1, .fields = sub_fields};
static const vmig_vmsd_t *const subs[] = {&sub_vmsd, NULL};

static const vmig_vmsd_field_t tr_fields[] = {
    VMIG_VMSTATE_UINT8(a, tr_t),
    VMIG_VMSTATE_UINT32(cnt, tr_t),
    VMIG_VMSTATE_VARRAY_UINT32_ALLOC(data, tr_t, cnt, 8, 0, vmig_vmstate_info_uint16, uint16_t),
    VMIG_VMSTATE_STRUCT(in, tr_t, 0, in_vmsd, in_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t tr_vmsd = {.name = "tr", .version_id = 1, .fields = tr_fields,
                                    .subsections = subs};

static const uint8_t full[] = {
    0x01,                                  /* a */
    0x00, 0x00, 0x00, 0x02, 0x0a, 0x0b, 0x0c, 0x0d, /* cnt, data[2] */
    0x12, 0x34,                            /* in.x */
    0x05, 0x04, 't', 'r', '/', 't', 0x00, 0x00, 0x00, 0x01, /* subsection tr/t v1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,         /* t */
};
/* Body bytes, and the marker + length + name a subsection is peeked by. */
enum { BODY = 11, SUBPEEK = 6 };

/* A cut after the subsection name (inside its version or fields) is a real
 * truncation: the subsection was recognised and started. */
static void test_every_prefix(void **state)
{
    for (size_t cut = 0; cut <= sizeof(full); cut++) {
        tr_t v = {0};
        char msg[VMIG_ERROR_MSG_MAX];
        uint64_t end;
        int r = test_load(&tr_vmsd, &v, 1, full, cut, msg, &end);
        if (cut == sizeof(full)) {
            assert_int_equal(r, 0);
            assert_true(v.t.expire_ns == 5);
        } else if (cut >= BODY && cut < BODY + SUBPEEK) {
            /* Body complete; a subsection name cut short is not ours to judge. */
            assert_int_equal(r, 0);
            assert_int_equal(end, BODY);
        } else {
            char want[64];
            snprintf(want, sizeof(want), "stream truncated at byte offset %zu", cut);
            assert_int_equal(r, -EIO);
            size_t ml = strlen(msg), wl = strlen(want);
            assert_true(ml >= wl);
            assert_string_equal(msg + ml - wl, want);
            assert_int_equal(end, cut);
            assert_non_null(strstr(msg, "Failed to load "));
        }
        free(v.data);
    }
}

/* The message says which field was being loaded. */
static void test_message_names_field(void **state)
{
    tr_t v = {0};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&tr_vmsd, &v, 1, full, 7, msg, NULL), -EIO);
    assert_string_equal(msg, "Failed to load tr:data: stream truncated at byte offset 7");
    free(v.data);
    v.data = NULL;
    assert_int_equal(test_load(&tr_vmsd, &v, 1, full, 10, msg, NULL), -EIO);
    assert_string_equal(msg, "Failed to load tr:in: Failed to load in:x: "
                             "stream truncated at byte offset 10");
    free(v.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_message_names_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
