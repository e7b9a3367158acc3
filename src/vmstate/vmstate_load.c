/* vmstate_load.c — the loader: version checks, hooks, bounded fields and the
 * peek-based subsection rules of spec/vmstate.md §6; bad input never crashes. */
#include "vmstate/vmstate_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Where the elements of f live, allocating them first for VMIG_VMS_ALLOC
 * (the old block, NULL or malloc()ed, is freed). *base may be NULL only when
 * there is nothing to load. */
static int load_base(vmig_stream_t *s, const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f,
                     void *opaque, const vmig__vmsd_geom_t *g, uint8_t **base)
{
    uint8_t *p = (uint8_t *)opaque + f->offset;
    if (f->flags & VMIG_VMS_POINTER) {
        void **slot = (void **)p;
        if (f->flags & VMIG_VMS_ALLOC) {
            size_t bytes;
            int r = vmig__vmsd_alloc_bytes(s, vmsd, f, g, &bytes);
            if (r < 0)
                return r;
            free(*slot);
            *slot = bytes ? calloc(1, bytes) : NULL;
            if (bytes && !*slot)
                return vmig_stream_set_error(s, -ENOMEM, "cannot allocate %zu bytes", bytes);
        }
        p = *slot;
        if (!p && g->n && g->size)
            return vmig_stream_set_error(s, -EINVAL, "NULL pointer with %zu elements", g->n);
    }
    *base = p ? p + f->start : NULL;
    return 0;
}

static int load_elem(vmig_stream_t *s, const vmig_vmsd_field_t *f, void *elem, size_t size)
{
    if ((f->flags & VMIG_VMS_ARRAY_OF_POINTER) && !elem) {
        /* A NULL local element can only take the marker: there is nowhere
         * to put data. */
        if (size == 0)
            return 0;
        return vmig_vmstate_info_nullptr.get(s, NULL, 1, f);
    }
    if (f->flags & VMIG_VMS_STRUCT)
        return vmig_vmstate_load(s, f->vmsd, elem, f->vmsd->version_id);
    if (f->flags & VMIG_VMS_VSTRUCT)
        return vmig_vmstate_load(s, f->vmsd, elem, f->struct_version_id);
    if (!f->info || !f->info->get)
        return vmig_stream_set_error(s, -EINVAL, "field has no codec");
    return f->info->get(s, elem, size, f);
}

static int load_field(vmig_stream_t *s, const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f,
                      void *opaque)
{
    vmig__vmsd_geom_t g;
    int r = vmig__vmsd_field_geom(s, vmsd, f, opaque, &g);
    if (r < 0)
        return r;
    uint8_t *base = NULL;
    r = load_base(s, vmsd, f, opaque, &g, &base);
    if (r < 0)
        return r;
    for (size_t i = 0; i < g.n; i++) {
        void *elem = base ? base + i * g.stride : NULL;
        if (elem && (f->flags & VMIG_VMS_ARRAY_OF_POINTER))
            elem = *(void **)elem;
        r = load_elem(s, f, elem, g.size);
        if (r == 0)
            r = vmig_stream_error(s); /* a getter that ran off the end returned 0 */
        if (r < 0)
            return r;
    }
    return 0;
}

static int load_fields(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, int version_id)
{
    for (const vmig_vmsd_field_t *f = vmsd->fields; f && !vmig__vmsd_field_end(f); f++) {
        if (!vmig__vmsd_field_present(f, opaque, version_id)) {
            if (f->flags & VMIG_VMS_MUST_EXIST)
                return vmig_stream_set_error(s, -EINVAL, "Input validation failed: %s/%s",
                                             vmsd->name, f->name);
            continue;
        }
        int r = load_field(s, vmsd, f, opaque);
        if (r < 0) {
            if (vmig_stream_error(s))
                vmig_stream_error_prefix(s, "Failed to load %s:%s", vmsd->name, f->name);
            else
                vmig_stream_set_error(s, r, "Failed to load %s:%s", vmsd->name, f->name);
            return vmig_stream_error(s);
        }
    }
    return 0;
}

static const vmig_vmsd_t *find_subsection(const vmig_vmsd_t *vmsd, const char *name,
                                          size_t len)
{
    for (const vmig_vmsd_t *const *sp = vmsd->subsections; sp && *sp; sp++)
        if (strlen((*sp)->name) == len && memcmp((*sp)->name, name, len) == 0)
            return *sp;
    return NULL;
}

/* Subsections (§6 step 5): while the next byte is the marker and the name
 * that follows starts with this vmsd's name, it is ours: load it. A marker
 * whose name is too short or has another prefix belongs to the outer data. */
static int load_subsections(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque)
{
    size_t plen = strlen(vmsd->name);
    for (;;) {
        uint8_t hdr[2 + 255];
        int got = vmig_stream_peek(s, hdr, 2);
        if (got < 0)
            return got;
        if (got < 1 || hdr[0] != VMIG_VMSTATE_SUBSECTION_MARKER)
            return 0;
        if (got < 2)
            return 0;
        size_t len = hdr[1];
        if (len < plen + 1)
            return 0;
        got = vmig_stream_peek(s, hdr, 2 + len);
        if (got < 0)
            return got;
        if ((size_t)got < 2 + len)
            return 0; /* cut short: whoever reads next reports the truncation */
        const char *name = (const char *)hdr + 2;
        if (memcmp(name, vmsd->name, plen) != 0)
            return 0;
        const vmig_vmsd_t *sub = find_subsection(vmsd, name, len);
        if (!sub)
            return vmig_stream_set_error(s, -ENOENT, "%s: unknown subsection '%.*s'",
                                         vmsd->name, (int)len, name);
        vmig_stream_skip(s, 2 + len);
        /* QEMU keeps the version in 8 bits: only the low byte counts. */
        uint8_t version = (uint8_t)vmig_stream_get_be32(s);
        if (vmig_stream_error(s))
            return vmig_stream_error_prefix(s, "Failed to load %s:%.*s", vmsd->name, (int)len,
                                            name);
        int r = vmig_vmstate_load(s, sub, opaque, version);
        if (r < 0)
            return r;
    }
}

int vmig_vmstate_load(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, int version_id)
{
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (version_id > vmsd->version_id)
        return vmig_stream_set_error(s, -EINVAL,
                                     "%s: incoming version_id %d is too new for local version_id %d",
                                     vmsd->name, version_id, vmsd->version_id);
    if (version_id < vmsd->minimum_version_id)
        return vmig_stream_set_error(
            s, -EINVAL, "%s: incoming version_id %d is too old for local minimum version_id %d",
            vmsd->name, version_id, vmsd->minimum_version_id);
    if (vmsd->pre_load) {
        int r = vmsd->pre_load(opaque);
        if (r != 0)
            return vmig_stream_set_error(s, r < 0 ? r : -EINVAL, "%s: pre_load failed",
                                         vmsd->name);
    }
    int r = load_fields(s, vmsd, opaque, version_id);
    if (r < 0)
        return r;
    r = load_subsections(s, vmsd, opaque);
    if (r < 0)
        return r;
    if (vmsd->post_load) {
        r = vmsd->post_load(opaque, version_id);
        if (r != 0)
            return vmig_stream_set_error(s, r < 0 ? r : -EINVAL, "%s: post_load failed",
                                         vmsd->name);
    }
    return vmig_stream_error(s);
}
