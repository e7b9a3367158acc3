/* test_subsection.c — spec/vmstate.md §9.1 byte for byte and the subsection
 * rules of §6 step 5 (needed, unknown → -ENOENT, foreign prefix, 8-bit version). */
#include "vmstate_test.h"

typedef struct {
    uint8_t a;
    uint16_t b;
    uint32_t cnt;
    uint16_t data[4];
    bool flag;
    vmig_vmstate_timer_t t;
} mydev_t;

static bool extra_needed(void *opaque)
{
    return ((mydev_t *)opaque)->flag;
}

static const vmig_vmsd_field_t extra_fields[] = {
    VMIG_VMSTATE_BOOL(flag, mydev_t),
    VMIG_VMSTATE_TIMER(t, mydev_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t extra_vmsd = {
    .name = "mydev/extra",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = extra_needed,
    .fields = extra_fields,
};

static const vmig_vmsd_field_t mydev_fields[] = {
    VMIG_VMSTATE_UINT8(a, mydev_t),
    VMIG_VMSTATE_UINT16_V(b, mydev_t, 2),
    VMIG_VMSTATE_UINT32(cnt, mydev_t),
    VMIG_VMSTATE_VARRAY_UINT32(data, mydev_t, cnt, 0, vmig_vmstate_info_uint16, uint16_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t *const mydev_subs[] = {&extra_vmsd, NULL};

static const vmig_vmsd_t mydev_vmsd = {
    .name = "mydev",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = mydev_fields,
    .subsections = mydev_subs,
};

/* §9.1, the whole FULL section. */
static const uint8_t section[] = {
    0x04, 0x00, 0x00, 0x00, 0x05, 0x05, 'm', 'y', 'd', 'e', 'v', /* FULL id 5 "mydev" */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,             /* inst 0, ver 2 */
    0x11,                                                       /* a */
    0x22, 0x33,                                                 /* b */
    0x00, 0x00, 0x00, 0x02,                                     /* cnt */
    0x01, 0x02, 0x03, 0x04,                                     /* data[0..1] */
    0x05, 0x0b, 'm', 'y', 'd', 'e', 'v', '/', 'e', 'x', 't', 'r', 'a', /* subsection */
    0x00, 0x00, 0x00, 0x01,                                     /* its version */
    0x01,                                                       /* flag */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,             /* t: not armed */
    0x7e, 0x00, 0x00, 0x00, 0x05,                               /* footer */
};
enum { HDR = 19, FOOTER = 5 };

static mydev_t example(void)
{
    mydev_t d = {.a = 0x11, .b = 0x2233, .cnt = 2, .data = {0x0102, 0x0304},
                 .flag = true, .t = {VMIG_VMSTATE_TIMER_NOT_ARMED}};
    return d;
}

static void test_worked_example_save(void **state)
{
    mydev_t d = example();
    /* The section framing is savevm's; test_full_section() writes it by hand. */
    test_bytes_t b = test_full_section(5, "mydev", &mydev_vmsd, &d, NULL);
    vt_assert_bytes(b.data, b.len, section, sizeof(section));
    free(b.data);
}

static void test_worked_example_load(void **state)
{
    vmig_stream_t *s = vt_mem_reader(section, sizeof(section));
    assert_int_equal(vmig_stream_get_u8(s), 0x04);
    assert_int_equal(vmig_stream_get_be32(s), 5);
    char idstr[256];
    assert_int_equal(vmig_stream_get_counted_string(s, idstr), 5);
    assert_string_equal(idstr, "mydev");
    assert_int_equal(vmig_stream_get_be32(s), 0);
    int version = (int)vmig_stream_get_be32(s);
    mydev_t d = {.t = {123}};
    assert_int_equal(vmig_vmstate_load(s, &mydev_vmsd, &d, version), 0);
    /* The subsection loop stopped at the footer without consuming it. */
    assert_int_equal(vmig_stream_tell(s), sizeof(section) - FOOTER);
    assert_int_equal(vmig_stream_get_u8(s), 0x7e);
    assert_int_equal(d.a, 0x11);
    assert_int_equal(d.b, 0x2233);
    assert_int_equal(d.cnt, 2);
    assert_int_equal(d.data[1], 0x0304);
    assert_true(d.flag);
    assert_true(d.t.expire_ns == VMIG_VMSTATE_TIMER_NOT_ARMED);
    vmig_stream_free(s);
}

/* flag false: no subsection; a version-1 body simply lacks b. */
static void test_not_needed_and_version_1(void **state)
{
    mydev_t d = example();
    d.flag = false;
    test_bytes_t b = test_save(&mydev_vmsd, &d, NULL);
    static const uint8_t v2[] = {0x11, 0x22, 0x33, 0, 0, 0, 2, 1, 2, 3, 4};
    vt_assert_bytes(b.data, b.len, v2, sizeof(v2));
    free(b.data);

    static const uint8_t v1[] = {0x11, 0, 0, 0, 2, 1, 2, 3, 4};
    mydev_t l = {.b = 0xbeef, .t = {7}};
    uint64_t end;
    assert_int_equal(test_load(&mydev_vmsd, &l, 1, v1, sizeof(v1), NULL, &end), 0);
    assert_int_equal(end, sizeof(v1));
    assert_int_equal(l.b, 0xbeef);
    assert_int_equal(l.data[0], 0x0102);
    assert_true(l.t.expire_ns == 7); /* subsection absent: keeps its value */
}

static const uint8_t body[] = {0x11, 0x22, 0x33, 0, 0, 0, 0};
enum { BODY = sizeof(body) };

/* Load body followed by tail; returns the result, *end is tell() after. */
static int load_with_tail(const uint8_t *tail, size_t tail_len, char *msg, uint64_t *end)
{
    uint8_t in[64];
    memcpy(in, body, BODY);
    memcpy(in + BODY, tail, tail_len);
    mydev_t d = {0};
    return test_load(&mydev_vmsd, &d, 2, in, BODY + tail_len, msg, end);
}

static void test_unknown_subsection(void **state)
{
    static const uint8_t tail[] = {0x05, 0x0b, 'm', 'y', 'd', 'e', 'v', '/', 'o', 't', 'h',
                                   'e', 'r', 0, 0, 0, 1};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(load_with_tail(tail, sizeof(tail), msg, NULL), -ENOENT);
    assert_string_equal(msg, "mydev: unknown subsection 'mydev/other'");
}

/* A marker whose name has another prefix, or is too short to be ours, belongs
 * to the outer data: the load stops before it, successfully. */
static void test_foreign_subsection_left_alone(void **state)
{
    static const uint8_t other[] = {0x05, 0x07, 'o', 't', 'h', 'e', 'r', '/', 'x', 0, 0, 0, 1};
    uint64_t end;
    assert_int_equal(load_with_tail(other, sizeof(other), NULL, &end), 0);
    assert_int_equal(end, BODY);
    static const uint8_t shortname[] = {0x05, 0x05, 'm', 'y', 'd', 'e', 'v', 0, 0, 0, 1};
    assert_int_equal(load_with_tail(shortname, sizeof(shortname), NULL, &end), 0);
    assert_int_equal(end, BODY);
    /* Marker and length at the very end of the stream: not ours either. */
    static const uint8_t cut[] = {0x05, 0x0b, 'm', 'y'};
    assert_int_equal(load_with_tail(cut, sizeof(cut), NULL, &end), 0);
    assert_int_equal(end, BODY);
}

/* Only the low 8 bits of the subsection version count (QEMU keeps a byte). */
static void test_version_low_byte(void **state)
{
    static const uint8_t tail[] = {0x05, 0x0b, 'm', 'y', 'd', 'e', 'v', '/', 'e', 'x', 't',
                                   'r', 'a', 0x00, 0x00, 0x01, 0x01, 0x01, 0, 0, 0, 0, 0, 0,
                                   0, 9};
    uint64_t end;
    assert_int_equal(load_with_tail(tail, sizeof(tail), NULL, &end), 0);
    assert_int_equal(end, BODY + sizeof(tail));
    static const uint8_t too_new[] = {0x05, 0x0b, 'm', 'y', 'd', 'e', 'v', '/', 'e', 'x', 't',
                                      'r', 'a', 0x00, 0x00, 0x00, 0x02, 0x01};
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(load_with_tail(too_new, sizeof(too_new), msg, NULL), -EINVAL);
    assert_string_equal(msg,
                        "mydev/extra: incoming version_id 2 is too new for local version_id 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example_save),
        cmocka_unit_test(test_worked_example_load),
        cmocka_unit_test(test_not_needed_and_version_1),
        cmocka_unit_test(test_unknown_subsection),
        cmocka_unit_test(test_foreign_subsection_left_alone),
        cmocka_unit_test(test_version_low_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
