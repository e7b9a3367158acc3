/* fuzz_vmstate.c — libFuzzer harness of the vmstate loader over a rich vmsd;
 * a successful load must save, reload and save again to the same bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmstate/vmstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_node {
    uint16_t v;           /* element payload */
    struct fz_node *next; /* list link, not on the wire */
} fz_node_t;

typedef struct {
    fz_node_t *first; /* head of the list */
    fz_node_t *last;  /* tail, for appends */
} fz_list_t;

typedef struct {
    uint8_t a;  /* nested field */
    uint16_t b; /* nested field from version 2 of fz_inner */
} fz_inner_t;

typedef struct {
    uint8_t u8;                 /* plain scalars */
    uint16_t u16;               /* ... checked by a VALIDATE (never 0xdead) */
    uint32_t u32;               /* from version 2 */
    uint64_t u64;               /* from version 3 */
    bool flag;                  /* decides whether i32 is present */
    int32_t i32;                /* field_exists: only when flag */
    double f;                   /* float64 */
    vmig_vmstate_timer_t timer; /* timer */
    uint8_t n8;                 /* count of arr8 */
    uint16_t arr8[6];           /* VARRAY_UINT8, capacity 6 */
    int32_t n32;                /* count of inners */
    fz_inner_t inners[4];       /* STRUCT_VARRAY_INT32, capacity 4 */
    uint32_t nalloc;            /* count of alloc */
    uint32_t *alloc;            /* VARRAY_UINT32_ALLOC, at most 64 */
    int32_t vlen;               /* size of vbuf's used part */
    uint8_t vbuf[16];           /* VBUFFER from byte 2 */
    uint32_t blen;              /* size of blob */
    uint8_t *blob;              /* VBUFFER_ALLOC_UINT32, at most 256 */
    int32_t nbits;              /* bits in bits */
    uint64_t bits[2];           /* BITMAP, at most 128 bits */
    uint8_t eq;                 /* UINT8_EQUAL, local 7 */
    int32_t le;                 /* INT32_LE, local 100 */
    fz_inner_t *ptrs[2];        /* ARRAY_OF_POINTER_TO_STRUCT: [1] NULL */
    fz_list_t list;             /* QTAILQ, at most 8 elements */
    uint16_t extra;             /* subsection fz/extra, needed when non-zero */
    fz_inner_t sub_inner;       /* VSTRUCT at version 1, in fz/extra */
    uint8_t deep[3];            /* subsection fz/extra/deep, needed when deep[0] */
    uint32_t packed_lo;         /* WITH_TMP: packed into one be64 */
    uint32_t packed_hi;         /* ... with packed_lo */
} fz_dev_t;

typedef struct {
    fz_dev_t *parent; /* WITH_TMP convention: first member */
    uint64_t packed;  /* packed_hi:packed_lo on the wire */
} fz_tmp_t;

/* ---- list callbacks -------------------------------------------------------------- */

static void *fz_first(void *head)
{
    return ((fz_list_t *)head)->first;
}

static void *fz_next(void *head, void *elem)
{
    return ((fz_node_t *)elem)->next;
}

static void *fz_append(void *head)
{
    fz_list_t *l = head;
    fz_node_t *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    if (l->last)
        l->last->next = n;
    else
        l->first = n;
    l->last = n;
    return n;
}

static const vmig_vmsd_list_ops_t fz_list_ops = {fz_first, fz_next, fz_append};

/* ---- descriptions -------------------------------------------------------------------- */

static bool fz_flag_set(void *opaque, int version_id)
{
    return ((fz_dev_t *)opaque)->flag;
}

static bool fz_u16_sane(void *opaque, int version_id)
{
    return ((fz_dev_t *)opaque)->u16 != 0xdead;
}

static bool fz_extra_needed(void *opaque)
{
    return ((fz_dev_t *)opaque)->extra != 0;
}

static bool fz_deep_needed(void *opaque)
{
    return ((fz_dev_t *)opaque)->deep[0] != 0;
}

static int fz_tmp_pre_save(void *opaque)
{
    fz_tmp_t *t = opaque;
    t->packed = (uint64_t)t->parent->packed_hi << 32 | t->parent->packed_lo;
    return 0;
}

static int fz_tmp_post_load(void *opaque, int version_id)
{
    fz_tmp_t *t = opaque;
    t->parent->packed_hi = (uint32_t)(t->packed >> 32);
    t->parent->packed_lo = (uint32_t)t->packed;
    return 0;
}

static const vmig_vmsd_field_t fz_inner_fields[] = {
    VMIG_VMSTATE_UINT8(a, fz_inner_t),
    VMIG_VMSTATE_UINT16_V(b, fz_inner_t, 2),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_inner_vmsd = {.name = "fz_inner", .version_id = 2,
                                          .fields = fz_inner_fields};

static const vmig_vmsd_field_t fz_node_fields[] = {
    VMIG_VMSTATE_UINT16(v, fz_node_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_node_vmsd = {.name = "fz_node", .version_id = 1,
                                         .fields = fz_node_fields};

static const vmig_vmsd_field_t fz_tmp_fields[] = {
    VMIG_VMSTATE_UINT64(packed, fz_tmp_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_tmp_vmsd = {.name = "fz/tmp", .version_id = 1,
                                        .pre_save = fz_tmp_pre_save,
                                        .post_load = fz_tmp_post_load, .fields = fz_tmp_fields};

static const vmig_vmsd_field_t fz_deep_fields[] = {
    VMIG_VMSTATE_UINT8_ARRAY(deep, fz_dev_t, 3),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_deep_vmsd = {.name = "fz/extra/deep", .version_id = 1,
                                         .needed = fz_deep_needed, .fields = fz_deep_fields};
static const vmig_vmsd_t *const fz_extra_subs[] = {&fz_deep_vmsd, NULL};

static const vmig_vmsd_field_t fz_extra_fields[] = {
    VMIG_VMSTATE_UINT16(extra, fz_dev_t),
    VMIG_VMSTATE_VSTRUCT(sub_inner, fz_dev_t, 0, fz_inner_vmsd, fz_inner_t, 1),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t fz_extra_vmsd = {.name = "fz/extra", .version_id = 2,
                                          .minimum_version_id = 1, .needed = fz_extra_needed,
                                          .fields = fz_extra_fields,
                                          .subsections = fz_extra_subs};
static const vmig_vmsd_t *const fz_subs[] = {&fz_extra_vmsd, NULL};

static const vmig_vmsd_field_t fz_fields[] = {
    VMIG_VMSTATE_UINT8(u8, fz_dev_t),
    VMIG_VMSTATE_UINT16(u16, fz_dev_t),
    VMIG_VMSTATE_VALIDATE("u16 sane", fz_u16_sane),
    VMIG_VMSTATE_UINT32_V(u32, fz_dev_t, 2),
    VMIG_VMSTATE_UINT64_V(u64, fz_dev_t, 3),
    VMIG_VMSTATE_BOOL(flag, fz_dev_t),
    VMIG_VMSTATE_INT32_TEST(i32, fz_dev_t, fz_flag_set),
    VMIG_VMSTATE_FLOAT64(f, fz_dev_t),
    VMIG_VMSTATE_TIMER(timer, fz_dev_t),
    VMIG_VMSTATE_UNUSED(2),
    VMIG_VMSTATE_UINT8(n8, fz_dev_t),
    VMIG_VMSTATE_VARRAY_UINT8(arr8, fz_dev_t, n8, 0, vmig_vmstate_info_uint16, uint16_t),
    VMIG_VMSTATE_INT32(n32, fz_dev_t),
    VMIG_VMSTATE_STRUCT_VARRAY_INT32(inners, fz_dev_t, n32, 0, fz_inner_vmsd, fz_inner_t),
    VMIG_VMSTATE_UINT32(nalloc, fz_dev_t),
    VMIG_VMSTATE_VARRAY_UINT32_ALLOC(alloc, fz_dev_t, nalloc, 64, 0, vmig_vmstate_info_uint32,
                                     uint32_t),
    VMIG_VMSTATE_INT32(vlen, fz_dev_t),
    VMIG_VMSTATE_VBUFFER(vbuf, fz_dev_t, 0, NULL, 2, vlen),
    VMIG_VMSTATE_UINT32(blen, fz_dev_t),
    VMIG_VMSTATE_VBUFFER_ALLOC_UINT32(blob, fz_dev_t, 0, blen, 256),
    VMIG_VMSTATE_INT32(nbits, fz_dev_t),
    VMIG_VMSTATE_BITMAP(bits, fz_dev_t, 0, nbits),
    VMIG_VMSTATE_UINT8_EQUAL(eq, fz_dev_t),
    VMIG_VMSTATE_INT32_LE(le, fz_dev_t),
    VMIG_VMSTATE_ARRAY_OF_POINTER_TO_STRUCT(ptrs, fz_dev_t, 2, 0, fz_inner_vmsd, fz_inner_t),
    VMIG_VMSTATE_QTAILQ_V(list, fz_dev_t, 1, fz_node_vmsd, fz_list_ops, 8),
    VMIG_VMSTATE_WITH_TMP(fz_dev_t, fz_tmp_t, fz_tmp_vmsd),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t fz_vmsd = {
    .name = "fz",
    .version_id = 3,
    .minimum_version_id = 1,
    .fields = fz_fields,
    .subsections = fz_subs,
};

/* ---- the harness ------------------------------------------------------------------------ */

/* The local state a load starts from: what the equality checks compare
 * with, the bound for int32 le, one non-NULL pointer element. */
static void fz_init(fz_dev_t *d, fz_inner_t *pointee)
{
    memset(d, 0, sizeof(*d));
    memset(pointee, 0, sizeof(*pointee));
    d->eq = 7;
    d->le = 100;
    d->ptrs[0] = pointee;
}

static void fz_free(fz_dev_t *d)
{
    free(d->alloc);
    free(d->blob);
    for (fz_node_t *n = d->list.first, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    d->alloc = NULL;
    d->blob = NULL;
    d->list.first = d->list.last = NULL;
}

/* Load [data, data+size) at version into d: 0 or negative errno. */
static int fz_load(const uint8_t *data, size_t size, int version, fz_dev_t *d)
{
    vmig_channel_t *ch = vmig_channel_memory_reader(data, size, false);
    if (!ch)
        return -1;
    vmig_stream_t *s = vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL);
    if (!s) {
        vmig_channel_close(ch);
        return -1;
    }
    int r = vmig_vmstate_load(s, &fz_vmsd, d, version);
    /* The kept message is always a NUL-terminated string. */
    if (r < 0 && strlen(vmig_stream_error_msg(s)) >= VMIG_ERROR_MSG_MAX)
        abort();
    vmig_stream_free(s);
    return r;
}

/* Save d (describing it too): a malloc()ed copy of the bytes, or NULL. */
static uint8_t *fz_save(fz_dev_t *d, size_t *len)
{
    vmig_channel_t *ch = vmig_channel_memory_writer();
    if (!ch)
        return NULL;
    vmig_stream_t *s = vmig_stream_new_writer(ch, VMIG_STREAM_OWN_CHANNEL);
    if (!s) {
        vmig_channel_close(ch);
        return NULL;
    }
    json_t *desc = json_object();
    int r = vmig_vmstate_save(s, &fz_vmsd, d, desc);
    json_decref(desc);
    uint8_t *out = NULL;
    if (r == 0 && vmig_stream_flush(s) == 0) {
        const uint8_t *p = vmig_channel_memory_data(ch, len);
        out = malloc(*len ? *len : 1);
        if (out && *len)
            memcpy(out, p, *len);
    } else {
        abort(); /* a state the loader accepted must save */
    }
    vmig_stream_free(s);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int version = data[0] % 5; /* 0..4: too old, valid versions, too new */
    fz_dev_t d;
    fz_inner_t pointee;
    fz_init(&d, &pointee);
    int r = fz_load(data + 1, size - 1, version, &d);
    if (r == 0) {
        /* Round trip: what loaded saves, loads and saves again identically. */
        size_t len1 = 0, len2 = 0;
        uint8_t *b1 = fz_save(&d, &len1);
        fz_dev_t d2;
        fz_inner_t pointee2;
        fz_init(&d2, &pointee2);
        if (b1 && fz_load(b1, len1, fz_vmsd.version_id, &d2) != 0)
            abort();
        uint8_t *b2 = b1 ? fz_save(&d2, &len2) : NULL;
        if (b1 && b2 && (len1 != len2 || memcmp(b1, b2, len1) != 0))
            abort();
        free(b1);
        free(b2);
        fz_free(&d2);
    }
    fz_free(&d);
    return 0;
}
