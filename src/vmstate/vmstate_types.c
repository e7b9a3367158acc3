/* vmstate_types.c — the element codecs of spec/vmstate.md §5: integers,
 * checked integers, floats, timers, buffers, bitmaps, lists and tmp. */
#include "vmstate/vmstate_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Every getter ends here: a value read past the end of the stream is 0 and
 * the stream already holds the truncation error. */
#define DONE(s) vmig_stream_error(s)

/* ---- plain integers ------------------------------------------------------------ */

static int get_bool(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    *(bool *)pv = vmig_stream_get_u8(s) != 0;
    return DONE(s);
}

static int put_bool(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                    json_t *desc)
{
    vmig_stream_put_u8(s, *(bool *)pv ? 1 : 0);
    return DONE(s);
}

/* The integer codecs differ only in width and signedness: the memory image
 * is copied with memcpy so no alignment is assumed. */
#define INT_CODEC(NAME, T, UT, GET, PUT)                                                   \
    static int get_##NAME(vmig_stream_t *s, void *pv, size_t size,                       \
                          const vmig_vmsd_field_t *f)                                    \
    {                                                                                    \
        T v = (T)GET(s);                                                                 \
        memcpy(pv, &v, sizeof(v));                                                       \
        return DONE(s);                                                                  \
    }                                                                                    \
    static int put_##NAME(vmig_stream_t *s, void *pv, size_t size,                       \
                          const vmig_vmsd_field_t *f, json_t *desc)                      \
    {                                                                                    \
        T v;                                                                             \
        memcpy(&v, pv, sizeof(v));                                                       \
        PUT(s, (UT)v);                                                                   \
        return DONE(s);                                                                  \
    }                                                                                    \
    const vmig_vmsd_info_t vmig_vmstate_info_##NAME = {#NAME, get_##NAME, put_##NAME};

INT_CODEC(int8, int8_t, uint8_t, vmig_stream_get_u8, vmig_stream_put_u8)
INT_CODEC(int16, int16_t, uint16_t, vmig_stream_get_be16, vmig_stream_put_be16)
INT_CODEC(int32, int32_t, uint32_t, vmig_stream_get_be32, vmig_stream_put_be32)
INT_CODEC(int64, int64_t, uint64_t, vmig_stream_get_be64, vmig_stream_put_be64)
INT_CODEC(uint8, uint8_t, uint8_t, vmig_stream_get_u8, vmig_stream_put_u8)
INT_CODEC(uint16, uint16_t, uint16_t, vmig_stream_get_be16, vmig_stream_put_be16)
INT_CODEC(uint32, uint32_t, uint32_t, vmig_stream_get_be32, vmig_stream_put_be32)
INT_CODEC(uint64, uint64_t, uint64_t, vmig_stream_get_be64, vmig_stream_put_be64)

const vmig_vmsd_info_t vmig_vmstate_info_bool = {"bool", get_bool, put_bool};

/* ---- integers that must match the local value ------------------------------------ */

/* The message prints the local value first, then the one that came in. */
#define EQUAL_CODEC(NAME, TNAME, T, GET, FMT)                                              \
    static int get_##NAME##_equal(vmig_stream_t *s, void *pv, size_t size,               \
                                  const vmig_vmsd_field_t *f)                            \
    {                                                                                    \
        T in = (T)GET(s);                                                                \
        if (DONE(s))                                                                     \
            return DONE(s);                                                              \
        T local;                                                                         \
        memcpy(&local, pv, sizeof(local));                                               \
        if (in == local)                                                                 \
            return 0;                                                                    \
        return vmig_stream_set_error(s, -EINVAL, "%" FMT " != %" FMT, local, in);        \
    }                                                                                    \
    const vmig_vmsd_info_t vmig_vmstate_info_##NAME##_equal = {TNAME, get_##NAME##_equal, \
                                                               put_##NAME};

EQUAL_CODEC(int32, "int32 equal", int32_t, vmig_stream_get_be32, PRId32)
EQUAL_CODEC(uint8, "uint8 equal", uint8_t, vmig_stream_get_u8, PRIu8)
EQUAL_CODEC(uint16, "uint16 equal", uint16_t, vmig_stream_get_be16, PRIu16)
EQUAL_CODEC(uint32, "uint32 equal", uint32_t, vmig_stream_get_be32, PRIu32)
EQUAL_CODEC(uint64, "uint64 equal", uint64_t, vmig_stream_get_be64, PRIu64)

/* 0 <= incoming <= local, then the incoming value replaces the local one. */
static int get_int32_le(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    int32_t in = (int32_t)vmig_stream_get_be32(s);
    if (DONE(s))
        return DONE(s);
    int32_t local;
    memcpy(&local, pv, sizeof(local));
    if (in >= 0 && in <= local) {
        memcpy(pv, &in, sizeof(in));
        return 0;
    }
    return vmig_stream_set_error(s, -EINVAL, "Invalid value %" PRId32
                                 " expecting positive value <= %" PRId32, in, local);
}

const vmig_vmsd_info_t vmig_vmstate_info_int32_le = {"int32 le", get_int32_le, put_int32};

/* ---- floating point: the IEEE bit pattern, big-endian ------------------------------ */

/* A double's IEEE bit pattern, and back (pv may be unaligned). */
static uint64_t double_bits(const void *pv)
{
    uint64_t bits;
    memcpy(&bits, pv, sizeof(double));
    return bits;
}

static void set_double_bits(void *pv, uint64_t bits)
{
    memcpy(pv, &bits, sizeof(double));
}

static int get_float64(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    set_double_bits(pv, vmig_stream_get_be64(s));
    return DONE(s);
}

static int put_float64(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                       json_t *desc)
{
    vmig_stream_put_be64(s, double_bits(pv));
    return DONE(s);
}

/* CPU_Double_U: upper 32 bits then lower 32 bits, each big-endian. */
static int get_cpudouble(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    uint64_t hi = vmig_stream_get_be32(s);
    uint64_t lo = vmig_stream_get_be32(s);
    set_double_bits(pv, hi << 32 | lo);
    return DONE(s);
}

static int put_cpudouble(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                         json_t *desc)
{
    uint64_t bits = double_bits(pv);
    vmig_stream_put_be32(s, (uint32_t)(bits >> 32));
    vmig_stream_put_be32(s, (uint32_t)bits);
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_float64 = {"float64", get_float64, put_float64};
const vmig_vmsd_info_t vmig_vmstate_info_cpudouble = {"CPU_Double_U", get_cpudouble,
                                                      put_cpudouble};

/* ---- timers: be64 expiry, all-ones when not armed ----------------------------------- */

static int get_timer(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    vmig_vmstate_timer_t *t = pv;
    t->expire_ns = (int64_t)vmig_stream_get_be64(s);
    return DONE(s);
}

static int put_timer(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                     json_t *desc)
{
    const vmig_vmstate_timer_t *t = pv;
    vmig_stream_put_be64(s, (uint64_t)t->expire_ns);
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_timer = {"timer", get_timer, put_timer};

/* ---- buffers ------------------------------------------------------------------------ */

static int get_buffer(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    return vmig_stream_get_buffer(s, pv, size);
}

static int put_buffer(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                      json_t *desc)
{
    vmig_stream_put_buffer(s, pv, size);
    return DONE(s);
}

static int get_unused(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    return vmig_stream_skip(s, size);
}

static int put_unused(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                      json_t *desc)
{
    static const uint8_t zeros[1024];
    while (size > 0) {
        size_t n = size < sizeof(zeros) ? size : sizeof(zeros);
        vmig_stream_put_buffer(s, zeros, n);
        size -= n;
    }
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_buffer = {"buffer", get_buffer, put_buffer};
const vmig_vmsd_info_t vmig_vmstate_info_unused_buffer = {"unused_buffer", get_unused,
                                                          put_unused};

/* ---- the NULL element marker ------------------------------------------------------- */

static int get_nullptr(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    uint8_t b = vmig_stream_get_u8(s);
    if (DONE(s))
        return DONE(s);
    if (b != VMIG_VMSTATE_NULLPTR_MARKER)
        return vmig_stream_set_error(s, -EINVAL,
                                     "expected the NULL element marker 0x30, got 0x%02x", b);
    return 0;
}

static int put_nullptr(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                       json_t *desc)
{
    if (pv)
        return vmig_stream_set_error(s, -EINVAL, "nullptr codec given a non-NULL element");
    vmig_stream_put_u8(s, VMIG_VMSTATE_NULLPTR_MARKER);
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_nullptr = {"nullptr", get_nullptr, put_nullptr};

/* ---- bitmaps: size is in bits; 64-bit words as be64 ------------------------------- */

static int get_bitmap(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    size_t words = size / 64 + (size % 64 != 0);
    for (size_t i = 0; i < words; i++) {
        uint64_t w = vmig_stream_get_be64(s);
        memcpy((uint8_t *)pv + i * 8, &w, 8);
    }
    return DONE(s);
}

static int put_bitmap(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                      json_t *desc)
{
    size_t words = size / 64 + (size % 64 != 0);
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, (const uint8_t *)pv + i * 8, 8);
        vmig_stream_put_be64(s, w);
    }
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_bitmap = {"bitmap", get_bitmap, put_bitmap};

/* ---- lists: 01 element ... 00 --------------------------------------------------------- */

static int get_list(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    if (f->version_id > f->vmsd->version_id)
        return vmig_stream_set_error(s, -EINVAL,
                                     "list element version %d exceeds %s version %d",
                                     f->version_id, f->vmsd->name, f->vmsd->version_id);
    size_t max = f->max ? f->max : VMIG_VMSTATE_LIST_MAX;
    for (size_t count = 0;; count++) {
        uint8_t marker = vmig_stream_get_u8(s);
        if (DONE(s))
            return DONE(s);
        if (marker == 0)
            return 0;
        if (marker != 1)
            return vmig_stream_set_error(s, -EINVAL, "bad list marker 0x%02x", marker);
        if (count >= max)
            return vmig_stream_set_error(s, -EINVAL, "more than %zu list elements", max);
        void *elem = f->list->append(pv);
        if (!elem)
            return vmig_stream_set_error(s, -ENOMEM, "cannot add list element %zu", count);
        int r = vmig_vmstate_load(s, f->vmsd, elem, f->version_id);
        if (r < 0)
            return r;
    }
}

static int put_list(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                    json_t *desc)
{
    for (void *elem = f->list->first(pv); elem; elem = f->list->next(pv, elem)) {
        vmig_stream_put_u8(s, 1);
        int r = vmig__vmstate_save_v(s, f->vmsd, elem, NULL, f->vmsd->version_id);
        if (r < 0)
            return r;
    }
    vmig_stream_put_u8(s, 0);
    return DONE(s);
}

const vmig_vmsd_info_t vmig_vmstate_info_qtailq = {"qtailq", get_list, put_list};
const vmig_vmsd_info_t vmig_vmstate_info_qlist = {"qlist", get_list, put_list};

/* ---- tmp: a scratch struct whose first member points at the parent ------------------ */

static void *tmp_new(vmig_stream_t *s, void *parent, size_t size)
{
    if (size < sizeof(void *)) {
        vmig_stream_set_error(s, -EINVAL, "tmp struct smaller than its parent pointer");
        return NULL;
    }
    void *tmp = calloc(1, size);
    if (!tmp) {
        vmig_stream_set_error(s, -ENOMEM, "cannot allocate a %zu-byte tmp struct", size);
        return NULL;
    }
    memcpy(tmp, &parent, sizeof(parent));
    return tmp;
}

static int get_tmp(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f)
{
    void *tmp = tmp_new(s, pv, size);
    if (!tmp)
        return DONE(s);
    int r = vmig_vmstate_load(s, f->vmsd, tmp, f->vmsd->version_id);
    free(tmp);
    return r;
}

/* The temp struct's description goes straight into the field's object. */
static int put_tmp(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *f,
                   json_t *desc)
{
    void *tmp = tmp_new(s, pv, size);
    if (!tmp)
        return DONE(s);
    int r = vmig__vmstate_save_v(s, f->vmsd, tmp, desc, f->vmsd->version_id);
    free(tmp);
    return r;
}

const vmig_vmsd_info_t vmig_vmstate_info_tmp = {"tmp", get_tmp, put_tmp};
