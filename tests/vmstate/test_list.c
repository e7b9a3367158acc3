/* test_list.c — a QTAILQ-like list through callbacks: 01 <element>... 00;
 * bad markers, too many elements and refused allocations fail cleanly. */
#include "vmstate_test.h"

typedef struct node {
    uint32_t id;
    uint8_t flag;
    struct node *next; /* not on the wire */
} node_t;

typedef struct {
    node_t *first; /* list head: first and last element */
    node_t *last;
    int allocs_left; /* append refuses once this reaches 0 (-1: no limit) */
} list_head_t;

typedef struct {
    uint8_t before;
    list_head_t list;
    uint8_t after;
} owner_t;

static void *l_first(void *head)
{
    return ((list_head_t *)head)->first;
}

static void *l_next(void *head, void *elem)
{
    return ((node_t *)elem)->next;
}

static void *l_append(void *head)
{
    list_head_t *h = head;
    if (h->allocs_left == 0)
        return NULL;
    if (h->allocs_left > 0)
        h->allocs_left--;
    node_t *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    if (h->last)
        h->last->next = n;
    else
        h->first = n;
    h->last = n;
    return n;
}

static void l_free(list_head_t *h)
{
    for (node_t *n = h->first, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    h->first = h->last = NULL;
}

static const vmig_vmsd_list_ops_t list_ops = {l_first, l_next, l_append};

static const vmig_vmsd_field_t node_fields[] = {
    VMIG_VMSTATE_UINT32(id, node_t),
    VMIG_VMSTATE_UINT8(flag, node_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t node_vmsd = {.name = "node", .version_id = 1, .fields = node_fields};

static const vmig_vmsd_field_t owner_fields[] = {
    VMIG_VMSTATE_UINT8(before, owner_t),
    VMIG_VMSTATE_QTAILQ_V(list, owner_t, 1, node_vmsd, list_ops, 3),
    VMIG_VMSTATE_UINT8(after, owner_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t owner_vmsd = {.name = "owner", .version_id = 1,
                                       .fields = owner_fields};

static const uint8_t expect[] = {
    0xaa,
    0x01, 0x00, 0x00, 0x00, 0x07, 0x01, /* node 7, flag 1 */
    0x01, 0x00, 0x00, 0x01, 0x00, 0x00, /* node 256, flag 0 */
    0x00,                               /* end of list */
    0xbb,
};

static void test_save_load(void **state)
{
    node_t b = {256, 0, NULL}, a = {7, 1, &b};
    owner_t o = {.before = 0xaa, .list = {&a, &b, -1}, .after = 0xbb};
    json_t *desc = json_object();
    test_bytes_t w = test_save(&owner_vmsd, &o, desc);
    vt_assert_bytes(w.data, w.len, expect, sizeof(expect));
    json_t *f = json_array_get(json_object_get(desc, "fields"), 1);
    assert_string_equal(json_string_value(json_object_get(f, "type")), "qtailq");
    assert_int_equal(json_integer_value(json_object_get(f, "size")), 13);
    json_decref(desc);
    free(w.data);

    owner_t l = {.list = {NULL, NULL, -1}};
    uint64_t end;
    assert_int_equal(test_load(&owner_vmsd, &l, 1, expect, sizeof(expect), NULL, &end), 0);
    assert_int_equal(end, sizeof(expect));
    assert_non_null(l.list.first);
    assert_int_equal(l.list.first->id, 7);
    assert_int_equal(l.list.first->flag, 1);
    assert_int_equal(l.list.first->next->id, 256);
    assert_null(l.list.first->next->next);
    assert_int_equal(l.after, 0xbb);
    l_free(&l.list);

    /* An empty list is just the terminator. */
    owner_t e = {.before = 1, .after = 2};
    w = test_save(&owner_vmsd, &e, NULL);
    static const uint8_t empty[] = {1, 0, 2};
    vt_assert_bytes(w.data, w.len, empty, sizeof(empty));
    free(w.data);
}

static void test_hostile(void **state)
{
    char msg[VMIG_ERROR_MSG_MAX];
    static const uint8_t bad_marker[] = {0xaa, 0x02};
    owner_t l = {.list = {NULL, NULL, -1}};
    assert_int_equal(test_load(&owner_vmsd, &l, 1, bad_marker, sizeof(bad_marker), msg, NULL),
                     -EINVAL);
    assert_string_equal(msg, "Failed to load owner:list: bad list marker 0x02");

    static const uint8_t too_many[] = {0xaa, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 2, 0,
                                       1, 0, 0, 0, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0xbb};
    assert_int_equal(test_load(&owner_vmsd, &l, 1, too_many, sizeof(too_many), msg, NULL),
                     -EINVAL);
    assert_string_equal(msg, "Failed to load owner:list: more than 3 list elements");
    l_free(&l.list);

    l.list.allocs_left = 1;
    assert_int_equal(test_load(&owner_vmsd, &l, 1, too_many, sizeof(too_many), msg, NULL),
                     -ENOMEM);
    assert_string_equal(msg, "Failed to load owner:list: cannot add list element 1");
    l_free(&l.list);

    /* Cut inside an element: the truncation names the offset. */
    l.list.allocs_left = -1;
    assert_int_equal(test_load(&owner_vmsd, &l, 1, expect, 9, msg, NULL), -EIO);
    assert_string_equal(msg, "Failed to load owner:list: Failed to load node:id: "
                             "stream truncated at byte offset 9");
    l_free(&l.list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
