/* test_json.c — the vmdesc description: array_len vs index, [k] suffixes,
 * nested structs, tmp, absent validate/empty fields, sizes as written. */
#include "vmstate_test.h"

typedef struct {
    uint16_t x;
} pt_t;

typedef struct {
    uint8_t a;
    uint8_t b;
} subby_t;

typedef struct {
    uint32_t regs[4];
    uint8_t opt[2];
    uint8_t grid[2][2];
    pt_t pts[2];
    subby_t subs[2];
    uint8_t buf[5];
    uint8_t n;
    uint16_t empty[4];
    uint8_t single;
} jdev_t;

typedef struct {
    jdev_t *parent;
    uint16_t doubled;
} jdev_tmp_t;

static bool always(void *opaque, int version_id)
{
    return true;
}

static const vmig_vmsd_field_t pt_fields[] = {
    VMIG_VMSTATE_UINT16(x, pt_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t pt_vmsd = {.name = "pt", .version_id = 1, .fields = pt_fields};

static const vmig_vmsd_field_t more_fields[] = {
    VMIG_VMSTATE_UINT8(b, subby_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t more_vmsd = {.name = "subby/more", .version_id = 1,
                                      .fields = more_fields};
static const vmig_vmsd_t *const subby_subs[] = {&more_vmsd, NULL};
static const vmig_vmsd_field_t subby_fields[] = {
    VMIG_VMSTATE_UINT8(a, subby_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t subby_vmsd = {.name = "subby", .version_id = 1,
                                       .fields = subby_fields, .subsections = subby_subs};

static int tmp_pre_save(void *opaque)
{
    jdev_tmp_t *t = opaque;
    t->doubled = (uint16_t)(t->parent->single * 2);
    return 0;
}

static int tmp_post_load(void *opaque, int version_id)
{
    jdev_tmp_t *t = opaque;
    t->parent->single = (uint8_t)(t->doubled / 2);
    return 0;
}

static const vmig_vmsd_field_t tmp_fields[] = {
    VMIG_VMSTATE_UINT16(doubled, jdev_tmp_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t tmp_vmsd = {.name = "jdev/tmp", .version_id = 1,
                                     .pre_save = tmp_pre_save, .post_load = tmp_post_load,
                                     .fields = tmp_fields};

static const vmig_vmsd_field_t sub_fields[] = {
    VMIG_VMSTATE_UINT8(single, jdev_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t sub_vmsd = {.name = "jdev/sub", .version_id = 2, .fields = sub_fields};
static const vmig_vmsd_t *const jdev_subs[] = {&sub_vmsd, NULL};

static const vmig_vmsd_field_t jdev_fields[] = {
    VMIG_VMSTATE_UINT32_ARRAY(regs, jdev_t, 4),
    VMIG_VMSTATE_ARRAY_TEST(opt, jdev_t, 2, 0, always, vmig_vmstate_info_uint8, uint8_t),
    VMIG_VMSTATE_UINT8_2DARRAY(grid, jdev_t, 2, 2),
    VMIG_VMSTATE_STRUCT_ARRAY(pts, jdev_t, 2, 0, pt_vmsd, pt_t),
    VMIG_VMSTATE_STRUCT_ARRAY(subs, jdev_t, 2, 0, subby_vmsd, subby_t),
    VMIG_VMSTATE_BUFFER(buf, jdev_t),
    VMIG_VMSTATE_UNUSED(2),
    VMIG_VMSTATE_UNUSED(3),
    VMIG_VMSTATE_VALIDATE("check", always),
    VMIG_VMSTATE_UINT8(n, jdev_t),
    VMIG_VMSTATE_VARRAY_UINT8(empty, jdev_t, n, 0, vmig_vmstate_info_uint16, uint16_t),
    VMIG_VMSTATE_UINT8(single, jdev_t),
    VMIG_VMSTATE_WITH_TMP(jdev_t, jdev_tmp_t, tmp_vmsd),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t jdev_vmsd = {
    .name = "jdev",
    .version_id = 1,
    .fields = jdev_fields,
    .subsections = jdev_subs,
};

static const char want_json[] =
    "{\"vmsd_name\": \"jdev\", \"version\": 1, \"fields\": ["
    "{\"name\": \"regs\", \"array_len\": 4, \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"opt\", \"index\": 0, \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"opt\", \"index\": 1, \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"grid\", \"array_len\": 4, \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"pts\", \"array_len\": 2, \"type\": \"struct\", \"struct\": "
    "{\"vmsd_name\": \"pt\", \"version\": 1, \"fields\": "
    "[{\"name\": \"x\", \"type\": \"uint16\", \"size\": 2}]}, \"size\": 2}, "
    "{\"name\": \"subs\", \"index\": 0, \"type\": \"struct\", \"struct\": "
    "{\"vmsd_name\": \"subby\", \"version\": 1, \"fields\": "
    "[{\"name\": \"a\", \"type\": \"uint8\", \"size\": 1}], \"subsections\": "
    "[{\"vmsd_name\": \"subby/more\", \"version\": 1, \"fields\": "
    "[{\"name\": \"b\", \"type\": \"uint8\", \"size\": 1}]}]}, \"size\": 18}, "
    "{\"name\": \"subs\", \"index\": 1, \"type\": \"struct\", \"struct\": "
    "{\"vmsd_name\": \"subby\", \"version\": 1, \"fields\": "
    "[{\"name\": \"a\", \"type\": \"uint8\", \"size\": 1}], \"subsections\": "
    "[{\"vmsd_name\": \"subby/more\", \"version\": 1, \"fields\": "
    "[{\"name\": \"b\", \"type\": \"uint8\", \"size\": 1}]}]}, \"size\": 18}, "
    "{\"name\": \"buf\", \"type\": \"buffer\", \"size\": 5}, "
    "{\"name\": \"unused[0]\", \"type\": \"unused_buffer\", \"size\": 2}, "
    "{\"name\": \"unused[1]\", \"type\": \"unused_buffer\", \"size\": 3}, "
    "{\"name\": \"n\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"single\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"tmp\", \"type\": \"tmp\", \"vmsd_name\": \"jdev/tmp\", \"version\": 1, "
    "\"fields\": [{\"name\": \"doubled\", \"type\": \"uint16\", \"size\": 2}], \"size\": 2}], "
    "\"subsections\": [{\"vmsd_name\": \"jdev/sub\", \"version\": 2, \"fields\": "
    "[{\"name\": \"single\", \"type\": \"uint8\", \"size\": 1}]}]}";

static jdev_t sample(void)
{
    jdev_t d = {.regs = {1, 2, 3, 4}, .opt = {5, 6}, .grid = {{7, 8}, {9, 10}},
                .pts = {{0x1112}, {0x1314}}, .subs = {{0x21, 0x22}, {0x23, 0x24}},
                .buf = "hello", .n = 0, .single = 0x40};
    return d;
}

static void test_description_shape(void **state)
{
    jdev_t d = sample();
    json_t *desc = json_object();
    test_bytes_t b = test_save(&jdev_vmsd, &d, desc);
    char *text = test_json_text(desc);
    if (strcmp(text, want_json) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", text, want_json);
    assert_string_equal(text, want_json);
    free(text);
    json_decref(desc);
    /* 16 + 2 + 4 + 4 + 36 + 5 + 5 + 1 + 1 + 2 body bytes, then the subsection. */
    assert_int_equal(b.len, 76 + 1 + 1 + 8 + 4 + 1);
    free(b.data);
}

/* The same bytes load back; tmp's post_load writes the parent. */
static void test_loads_back(void **state)
{
    jdev_t d = sample();
    test_bytes_t b = test_save(&jdev_vmsd, &d, NULL);
    jdev_t l = {0};
    uint64_t end;
    assert_int_equal(test_load(&jdev_vmsd, &l, 1, b.data, b.len, NULL, &end), 0);
    assert_int_equal(end, b.len);
    assert_memory_equal(&l.regs, &d.regs, sizeof(d.regs));
    assert_int_equal(l.subs[1].b, 0x24);
    assert_int_equal(l.pts[1].x, 0x1314);
    assert_int_equal(l.single, 0x40);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_description_shape),
        cmocka_unit_test(test_loads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
