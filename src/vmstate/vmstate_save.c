/* vmstate_save.c — the saver: a vmsd's fields in table order, then its
 * needed subsections, measuring each element for the vmdesc JSON. */
#include "vmstate/vmstate_internal.h"

#include <errno.h>
#include <string.h>

static int json_oom(vmig_stream_t *s)
{
    return vmig_stream_set_error(s, -ENOMEM, "out of memory building the vmstate description");
}

/* One element: the NULL marker, a nested vmsd or the codec. */
static int save_elem(vmig_stream_t *s, const vmig_vmsd_field_t *f, void *elem, size_t size,
                     json_t *obj, json_t *nested)
{
    if ((f->flags & VMIG_VMS_ARRAY_OF_POINTER) && !elem) {
        vmig_stream_put_u8(s, VMIG_VMSTATE_NULLPTR_MARKER);
        return vmig_stream_error(s);
    }
    if (f->flags & VMIG_VMS_STRUCT)
        return vmig__vmstate_save_v(s, f->vmsd, elem, nested, f->vmsd->version_id);
    if (f->flags & VMIG_VMS_VSTRUCT)
        return vmig__vmstate_save_v(s, f->vmsd, elem, nested, f->struct_version_id);
    if (!f->info || !f->info->put)
        return vmig_stream_set_error(s, -EINVAL, "field has no codec");
    return f->info->put(s, elem, size, f, obj);
}

static int save_field(vmig_stream_t *s, const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f,
                      void *opaque, json_t *fields)
{
    vmig__vmsd_geom_t g;
    int r = vmig__vmsd_field_geom(s, vmsd, f, opaque, &g);
    if (r < 0)
        return r;
    uint8_t *base = (uint8_t *)opaque + f->offset;
    if (f->flags & VMIG_VMS_POINTER) {
        base = *(uint8_t **)base;
        if (!base && g.n && g.size)
            return vmig_stream_set_error(s, -EINVAL, "NULL pointer with %zu elements", g.n);
    }
    if (base)
        base += f->start;
    /* Fields that only validate are never described. */
    bool describe = fields && !(f->flags & VMIG_VMS_MUST_EXIST);
    for (size_t i = 0; i < g.n; i++) {
        void *elem = base ? base + i * g.stride : NULL;
        if (elem && (f->flags & VMIG_VMS_ARRAY_OF_POINTER))
            elem = *(void **)elem;
        json_t *obj = NULL, *nested = NULL;
        if (describe) {
            obj = vmig__vmsd_json_field(vmsd, f, i, g.n, &nested);
            if (!obj)
                return json_oom(s);
        }
        uint64_t before = vmig_stream_bytes_written(s);
        r = save_elem(s, f, elem, g.size, obj, nested);
        if (r == 0)
            r = vmig_stream_error(s);
        if (describe && vmig__vmsd_json_field_end(fields, obj, vmig_stream_bytes_written(s) - before) < 0)
            return json_oom(s);
        if (r < 0)
            return r;
        /* A compressible array is described by its first element only. */
        if (describe && vmig__vmsd_field_compressible(f))
            describe = false;
    }
    return 0;
}

static int save_subsections(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque,
                            json_t *desc)
{
    json_t *subs = NULL;
    for (const vmig_vmsd_t *const *sp = vmsd->subsections; sp && *sp; sp++) {
        const vmig_vmsd_t *sub = *sp;
        if (sub->needed && !sub->needed(opaque))
            continue;
        size_t len = strlen(sub->name);
        if (len > 255)
            return vmig_stream_set_error(s, -EINVAL, "subsection name '%.40s...' too long",
                                         sub->name);
        json_t *obj = NULL;
        if (desc) {
            if (!subs) {
                subs = json_array();
                if (!subs || json_object_set_new(desc, "subsections", subs) < 0)
                    return json_oom(s);
            }
            obj = json_object();
            if (!obj || json_array_append_new(subs, obj) < 0)
                return json_oom(s);
        }
        vmig_stream_put_u8(s, VMIG_VMSTATE_SUBSECTION_MARKER);
        vmig_stream_put_u8(s, (uint8_t)len);
        vmig_stream_put_buffer(s, sub->name, len);
        vmig_stream_put_be32(s, (uint32_t)sub->version_id);
        int r = vmig__vmstate_save_v(s, sub, opaque, obj, sub->version_id);
        if (r < 0)
            return r;
    }
    return vmig_stream_error(s);
}

static int save_fields(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, json_t *fields,
                       int version_id)
{
    for (const vmig_vmsd_field_t *f = vmsd->fields; f && !vmig__vmsd_field_end(f); f++) {
        if (!vmig__vmsd_field_present(f, opaque, version_id)) {
            if (f->flags & VMIG_VMS_MUST_EXIST)
                return vmig_stream_set_error(s, -EINVAL, "Output state validation failed: %s/%s",
                                             vmsd->name, f->name);
            continue;
        }
        int r = save_field(s, vmsd, f, opaque, fields);
        if (r < 0) {
            if (vmig_stream_error(s))
                vmig_stream_error_prefix(s, "Save of field %s/%s failed", vmsd->name, f->name);
            else
                vmig_stream_set_error(s, r, "Save of field %s/%s failed", vmsd->name, f->name);
            return vmig_stream_error(s);
        }
    }
    return 0;
}

int vmig__vmstate_save_v(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque,
                         json_t *desc, int version_id)
{
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (vmsd->pre_save) {
        int r = vmsd->pre_save(opaque);
        if (r != 0)
            return vmig_stream_set_error(s, r < 0 ? r : -EINVAL, "pre-save failed: %s",
                                         vmsd->name);
    }
    json_t *fields = NULL;
    if (desc) {
        fields = vmig__vmsd_json_begin(desc, vmsd, version_id);
        if (!fields) {
            json_oom(s);
            goto out;
        }
    }
    if (save_fields(s, vmsd, opaque, fields, version_id) == 0)
        save_subsections(s, vmsd, opaque, desc);
out:
    /* Called after a failure too, so a device can undo what pre_save did. */
    if (vmsd->post_save)
        vmsd->post_save(opaque);
    return vmig_stream_error(s);
}

int vmig_vmstate_save(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, json_t *desc)
{
    return vmig__vmstate_save_v(s, vmsd, opaque, desc, vmsd->version_id);
}

bool vmig_vmstate_needed(const vmig_vmsd_t *vmsd, void *opaque)
{
    return !vmsd->needed || vmsd->needed(opaque);
}
