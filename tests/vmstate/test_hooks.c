/* test_hooks.c — order of the save/load hooks across a nested struct and a
 * subsection, the versions post_load sees, and failing hooks. */
#include "vmstate_test.h"

typedef struct {
    char log[512];       /* hook calls, in order */
    int fail;            /* which hook fails: see FAIL_* */
} trace_t;

enum { FAIL_NONE, FAIL_TOP_PRE_SAVE, FAIL_CHILD_PRE_SAVE, FAIL_PRE_LOAD, FAIL_POST_LOAD };

typedef struct {
    trace_t *t; /* not on the wire */
    uint8_t v;
} child_t;

typedef struct {
    trace_t *t; /* not on the wire */
    child_t c;
    uint8_t x;
} top_t;

static void note(trace_t *t, const char *what)
{
    strncat(t->log, what, sizeof(t->log) - strlen(t->log) - 1);
    strncat(t->log, " ", sizeof(t->log) - strlen(t->log) - 1);
}

/* Log "<who>.post_load(<version_id>)". */
static void note_post_load(trace_t *t, const char *who, int version_id)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%s.post_load(%d)", who, version_id);
    note(t, buf);
}

static int child_pre_save(void *o)
{
    child_t *c = o;
    note(c->t, "child.pre_save");
    return c->t->fail == FAIL_CHILD_PRE_SAVE ? -EBUSY : 0;
}
static int child_post_save(void *o)
{
    note(((child_t *)o)->t, "child.post_save");
    return 0;
}
static int child_pre_load(void *o)
{
    note(((child_t *)o)->t, "child.pre_load");
    return 0;
}
static int child_post_load(void *o, int version_id)
{
    note_post_load(((child_t *)o)->t, "child", version_id);
    return 0;
}

static int top_pre_save(void *o)
{
    top_t *p = o;
    note(p->t, "top.pre_save");
    return p->t->fail == FAIL_TOP_PRE_SAVE ? -EBUSY : 0;
}
static int top_post_save(void *o)
{
    note(((top_t *)o)->t, "top.post_save");
    return 0;
}
static int top_pre_load(void *o)
{
    top_t *p = o;
    note(p->t, "top.pre_load");
    return p->t->fail == FAIL_PRE_LOAD ? -EPERM : 0;
}
static int top_post_load(void *o, int version_id)
{
    top_t *p = o;
    note_post_load(p->t, "top", version_id);
    return p->t->fail == FAIL_POST_LOAD ? 1 : 0; /* positive: still a failure */
}

static bool sub_needed(void *o)
{
    note(((top_t *)o)->t, "sub.needed");
    return true;
}
static int sub_pre_save(void *o)
{
    note(((top_t *)o)->t, "sub.pre_save");
    return 0;
}
static int sub_post_save(void *o)
{
    note(((top_t *)o)->t, "sub.post_save");
    return 0;
}
static int sub_pre_load(void *o)
{
    note(((top_t *)o)->t, "sub.pre_load");
    return 0;
}
static int sub_post_load(void *o, int version_id)
{
    note_post_load(((top_t *)o)->t, "sub", version_id);
    return 0;
}

static const vmig_vmsd_field_t child_fields[] = {
    VMIG_VMSTATE_UINT8(v, child_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t child_vmsd = {
    .name = "child", .version_id = 4, .fields = child_fields,
    .pre_save = child_pre_save, .post_save = child_post_save,
    .pre_load = child_pre_load, .post_load = child_post_load,
};

static const vmig_vmsd_field_t sub_fields[] = {
    VMIG_VMSTATE_UINT8(x, top_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t sub_vmsd = {
    .name = "top/sub", .version_id = 7, .fields = sub_fields, .needed = sub_needed,
    .pre_save = sub_pre_save, .post_save = sub_post_save,
    .pre_load = sub_pre_load, .post_load = sub_post_load,
};
static const vmig_vmsd_t *const top_subs[] = {&sub_vmsd, NULL};

static const vmig_vmsd_field_t top_fields[] = {
    VMIG_VMSTATE_STRUCT(c, top_t, 0, child_vmsd, child_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t top_vmsd = {
    .name = "top", .version_id = 2, .fields = top_fields, .subsections = top_subs,
    .pre_save = top_pre_save, .post_save = top_post_save,
    .pre_load = top_pre_load, .post_load = top_post_load,
};

static test_bytes_t saved;

static void test_order(void **state)
{
    trace_t t = {0};
    top_t d = {.t = &t, .c = {.t = &t, .v = 1}, .x = 2};
    saved = test_save(&top_vmsd, &d, NULL);
    assert_string_equal(t.log, "top.pre_save child.pre_save child.post_save sub.needed "
                               "sub.pre_save sub.post_save top.post_save ");
    trace_t lt = {0};
    top_t l = {.t = &lt, .c = {.t = &lt}};
    assert_int_equal(test_load(&top_vmsd, &l, 1, saved.data, saved.len, NULL, NULL), 0);
    /* Structs load at their own version, subsections at the wire's. */
    assert_string_equal(lt.log, "top.pre_load child.pre_load child.post_load(4) sub.pre_load "
                                "sub.post_load(7) top.post_load(1) ");
    assert_int_equal(l.c.v, 1);
    assert_int_equal(l.x, 2);
}

static void test_save_failures(void **state)
{
    trace_t t = {.fail = FAIL_TOP_PRE_SAVE};
    top_t d = {.t = &t, .c = {.t = &t}};
    vmig_stream_t *s = vt_mem_writer();
    assert_int_equal(vmig_vmstate_save(s, &top_vmsd, &d, NULL), -EBUSY);
    assert_string_equal(vmig_stream_error_msg(s), "pre-save failed: top");
    assert_string_equal(t.log, "top.pre_save ");
    assert_int_equal(vmig_stream_bytes_written(s), 0);
    vmig_stream_free(s);

    /* A nested failure still runs the outer post_save (so it can undo). */
    trace_t t2 = {.fail = FAIL_CHILD_PRE_SAVE};
    d.t = d.c.t = &t2;
    s = vt_mem_writer();
    assert_int_equal(vmig_vmstate_save(s, &top_vmsd, &d, NULL), -EBUSY);
    assert_string_equal(vmig_stream_error_msg(s),
                        "Save of field top/c failed: pre-save failed: child");
    assert_string_equal(t2.log, "top.pre_save child.pre_save top.post_save ");
    vmig_stream_free(s);
}

static void test_load_failures(void **state)
{
    char msg[VMIG_ERROR_MSG_MAX];
    trace_t t = {.fail = FAIL_PRE_LOAD};
    top_t l = {.t = &t, .c = {.t = &t}};
    assert_int_equal(test_load(&top_vmsd, &l, 2, saved.data, saved.len, msg, NULL), -EPERM);
    assert_string_equal(msg, "top: pre_load failed");
    assert_string_equal(t.log, "top.pre_load ");

    trace_t t2 = {.fail = FAIL_POST_LOAD};
    l.t = l.c.t = &t2;
    assert_int_equal(test_load(&top_vmsd, &l, 2, saved.data, saved.len, msg, NULL), -EINVAL);
    assert_string_equal(msg, "top: post_load failed");
    free(saved.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_save_failures),
        cmocka_unit_test(test_load_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
