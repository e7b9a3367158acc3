/* vmstate_json.c — the vmdesc description of a vmsd (spec/vmstate.md §7):
 * field objects with [k] suffixes, array_len or index, type and size. */
#include "vmstate/vmstate_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

json_t *vmig__vmsd_json_begin(json_t *obj, const vmig_vmsd_t *vmsd, int version_id)
{
    if (json_object_set_new(obj, "vmsd_name", json_string(vmsd->name)) < 0 ||
        json_object_set_new(obj, "version", json_integer(version_id)) < 0)
        return NULL;
    json_t *fields = json_array();
    if (json_object_set_new(obj, "fields", fields) < 0) /* takes fields, even on failure */
        return NULL;
    return fields;
}

bool vmig__vmsd_field_compressible(const vmig_vmsd_field_t *f)
{
    if (f->field_exists)
        return false;
    if (f->flags & (VMIG_VMS_STRUCT | VMIG_VMS_VSTRUCT)) {
        /* A nested struct's size may vary with its subsections or with its
         * own conditional fields: then every element is described. */
        const vmig_vmsd_t *v = f->vmsd;
        if (v->subsections && v->subsections[0])
            return false;
        for (const vmig_vmsd_field_t *g = v->fields; g && !vmig__vmsd_field_end(g); g++)
            if (!vmig__vmsd_field_compressible(g))
                return false;
    }
    return true;
}

static const char *field_type(const vmig_vmsd_field_t *f)
{
    if (f->flags & VMIG_VMS_STRUCT)
        return "struct";
    if (f->flags & VMIG_VMS_VSTRUCT)
        return "vstruct";
    return f->info && f->info->name ? f->info->name : "unknown";
}

/* "name", or "name[k]" when other fields of vmsd share the name: k counts the
 * same-named fields before this one in the table. */
static json_t *field_name(const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f)
{
    int before = 0, total = 0;
    for (const vmig_vmsd_field_t *g = vmsd->fields; !vmig__vmsd_field_end(g); g++) {
        if (strcmp(g->name, f->name) != 0)
            continue;
        if (g < f)
            before++;
        total++;
    }
    if (total <= 1)
        return json_string(f->name);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s[%d]", f->name, before);
    return json_string(buf);
}

json_t *vmig__vmsd_json_field(const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f, size_t i,
                              size_t n, json_t **nested)
{
    *nested = NULL;
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "name", field_name(vmsd, f)) < 0)
        goto fail;
    if (n > 1) {
        int r = vmig__vmsd_field_compressible(f)
                    ? json_object_set_new(o, "array_len", json_integer((json_int_t)n))
                    : json_object_set_new(o, "index", json_integer((json_int_t)i));
        if (r < 0)
            goto fail;
    }
    if (json_object_set_new(o, "type", json_string(field_type(f))) < 0)
        goto fail;
    if (f->flags & (VMIG_VMS_STRUCT | VMIG_VMS_VSTRUCT)) {
        json_t *st = json_object();
        if (!st || json_object_set_new(o, "struct", st) < 0)
            goto fail;
        *nested = st;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

int vmig__vmsd_json_field_end(json_t *fields, json_t *obj, uint64_t size)
{
    if (json_object_set_new(obj, "size", json_integer((json_int_t)size)) < 0) {
        json_decref(obj);
        return -ENOMEM;
    }
    return json_array_append_new(fields, obj) < 0 ? -ENOMEM : 0;
}
