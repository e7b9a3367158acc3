/* vmstate_field.c — a field's presence, count and element size, every count
 * and size taken from the struct checked against its capacity before use. */
#include "vmstate/vmstate_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define VARRAY_FLAGS                                                                     \
    (VMIG_VMS_VARRAY_INT32 | VMIG_VMS_VARRAY_UINT16 | VMIG_VMS_VARRAY_UINT8 |           \
     VMIG_VMS_VARRAY_UINT32)

bool vmig__vmsd_field_present(const vmig_vmsd_field_t *f, void *opaque, int version_id)
{
    if (f->field_exists)
        return f->field_exists(opaque, version_id);
    return f->version_id <= version_id;
}

/* A uint32 member at p (p may be unaligned). */
static uint64_t read_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* An int32 member at p (p may be unaligned) that must not be negative: what
 * it is ("count", "size") names it in the error. */
static int read_nonneg_i32(vmig_stream_t *s, const uint8_t *p, const char *what, uint64_t *out)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    if (v < 0)
        return vmig_stream_set_error(s, -EINVAL, "negative %s %" PRId32, what, v);
    *out = (uint64_t)v;
    return 0;
}

/* The count member, whatever its declared width; a negative int32 is refused
 * here so no later arithmetic sees it. */
static int read_count(vmig_stream_t *s, const vmig_vmsd_field_t *f, const uint8_t *base,
                      uint64_t *n)
{
    const uint8_t *p = base + f->num_offset;
    if (f->flags & VMIG_VMS_VARRAY_INT32) {
        return read_nonneg_i32(s, p, "count", n);
    } else if (f->flags & VMIG_VMS_VARRAY_UINT32) {
        *n = read_u32(p);
    } else if (f->flags & VMIG_VMS_VARRAY_UINT16) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        *n = v;
    } else {
        *n = *p;
    }
    return 0;
}

static int read_size(vmig_stream_t *s, const vmig_vmsd_field_t *f, const uint8_t *base,
                     uint64_t *size)
{
    const uint8_t *p = base + f->size_offset;
    if (f->flags & VMIG_VMS_VBUFFER_UINT32) {
        *size = read_u32(p);
    } else {
        int r = read_nonneg_i32(s, p, "size", size);
        if (r)
            return r;
    }
    if (f->flags & VMIG_VMS_MULTIPLY) {
        if (f->size && *size > UINT64_MAX / f->size)
            return vmig_stream_set_error(s, -EOVERFLOW, "size %" PRIu64 " x %zu overflows",
                                         *size, f->size);
        *size *= f->size;
    }
    return 0;
}

int vmig__vmsd_field_geom(vmig_stream_t *s, const vmig_vmsd_t *vmsd,
                          const vmig_vmsd_field_t *f, void *opaque, vmig__vmsd_geom_t *g)
{
    const uint8_t *base = opaque;
    uint64_t size = f->size;
    if (f->flags & VMIG_VMS_VBUFFER) {
        int r = read_size(s, f, base, &size);
        if (r < 0)
            return r;
        uint64_t cap = f->max;
        if (cap == 0 && (f->flags & VMIG_VMS_ALLOC))
            cap = VMIG_VMSTATE_ALLOC_MAX;
        if (cap == 0)
            return vmig_stream_set_error(s, -EINVAL, "variable size without a capacity");
        if (f->start > cap || size > cap - f->start)
            return vmig_stream_set_error(s, -EINVAL,
                                         "size %" PRIu64 " (from byte %zu) exceeds capacity %" PRIu64,
                                         size, f->start, cap);
    }
    uint64_t stride = (f->flags & VMIG_VMS_ARRAY_OF_POINTER) ? sizeof(void *) : size;
    uint64_t n = 1;
    if (f->flags & VMIG_VMS_ARRAY) {
        n = f->num;
    } else if (f->flags & VARRAY_FLAGS) {
        int r = read_count(s, f, base, &n);
        if (r < 0)
            return r;
        if (f->flags & VMIG_VMS_MULTIPLY_ELEMENTS) {
            if (f->num && n > UINT64_MAX / f->num)
                return vmig_stream_set_error(s, -EOVERFLOW,
                                             "count %" PRIu64 " x %zu overflows", n, f->num);
            n *= f->num;
        }
        uint64_t cap = f->max;
        if (cap == 0 && (f->flags & VMIG_VMS_ALLOC))
            cap = VMIG_VMSTATE_ALLOC_MAX / (stride ? stride : 1);
        if (cap == 0)
            return vmig_stream_set_error(s, -EINVAL, "variable count without a capacity");
        if (n > cap)
            return vmig_stream_set_error(s, -EINVAL,
                                         "count %" PRIu64 " exceeds capacity %" PRIu64, n, cap);
    }
    /* Local memory of n elements must be addressable: n * stride fits size_t. */
    if (stride && n > SIZE_MAX / stride)
        return vmig_stream_set_error(s, -EOVERFLOW, "%" PRIu64 " elements overflow", n);
    g->n = (size_t)n;
    g->size = (size_t)size;
    g->stride = (size_t)stride;
    (void)vmsd;
    return 0;
}

int vmig__vmsd_alloc_bytes(vmig_stream_t *s, const vmig_vmsd_t *vmsd,
                           const vmig_vmsd_field_t *f, const vmig__vmsd_geom_t *g,
                           size_t *bytes)
{
    (void)vmsd;
    uint64_t b;
    if (f->info == &vmig_vmstate_info_bitmap) {
        /* A bitmap's size counts bits; storage is whole 64-bit words. */
        b = ((uint64_t)g->size + 63) / 64 * 8 * (uint64_t)g->n;
    } else {
        if (g->n && g->stride > UINT64_MAX / g->n)
            return vmig_stream_set_error(s, -EOVERFLOW, "allocation size overflows");
        b = (uint64_t)g->n * g->stride;
    }
    if (b > UINT64_MAX - f->start)
        return vmig_stream_set_error(s, -EOVERFLOW, "allocation size overflows");
    b += b ? f->start : 0;
    if (b > VMIG_VMSTATE_ALLOC_MAX)
        return vmig_stream_set_error(s, -EINVAL,
                                     "allocation of %" PRIu64 " bytes exceeds the limit of %u",
                                     b, VMIG_VMSTATE_ALLOC_MAX);
    *bytes = (size_t)b;
    return 0;
}
