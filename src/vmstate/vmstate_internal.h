/* vmstate_internal.h — what the saver, loader, codecs and JSON builder share:
 * field geometry, presence, the versioned save entry, JSON helpers. */
#ifndef VMIG_VMSTATE_INTERNAL_H
#define VMIG_VMSTATE_INTERNAL_H

#include "vmstate/vmstate.h"

/* How many elements a field has, how big each is and how far apart they are. */
typedef struct vmig__vmsd_geom {
    size_t n;      /* element count */
    size_t size;   /* element size as the codec sees it: bytes (bits for a bitmap) */
    size_t stride; /* distance between elements in memory */
} vmig__vmsd_geom_t;

/* True at the end marker of a field table. */
static inline bool vmig__vmsd_field_end(const vmig_vmsd_field_t *f)
{
    return f->name == NULL || (f->flags & VMIG_VMS_END);
}

/* Presence rule of spec/vmstate.md §3. */
bool vmig__vmsd_field_present(const vmig_vmsd_field_t *f, void *opaque, int version_id);
/* Count and element size of f in opaque, checked against f->max: 0 or a
 * negative errno with a message set on s (callers add the field's name). */
int vmig__vmsd_field_geom(vmig_stream_t *s, const vmig_vmsd_t *vmsd,
                          const vmig_vmsd_field_t *f, void *opaque, vmig__vmsd_geom_t *g);
/* Bytes a VMIG_VMS_ALLOC field needs for g (start included), overflow- and
 * limit-checked: 0 or a negative errno with a message set on s. */
int vmig__vmsd_alloc_bytes(vmig_stream_t *s, const vmig_vmsd_t *vmsd,
                           const vmig_vmsd_field_t *f, const vmig__vmsd_geom_t *g,
                           size_t *bytes);

/* Save at an explicit version (nested structs, list elements, tmp). */
int vmig__vmstate_save_v(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque,
                         json_t *desc, int version_id);

/* ---- the JSON description (vmstate_json.c) ----------------------------------- */

/* Add "vmsd_name", "version" and an empty "fields" array to obj; returns the
 * array (borrowed) or NULL on out of memory. */
json_t *vmig__vmsd_json_begin(json_t *obj, const vmig_vmsd_t *vmsd, int version_id);
/* The object of element i of n of field f: "name" (with a [k] suffix when
 * the name repeats in vmsd), "array_len" or "index", "type", and for structs
 * an empty "struct" object returned in *nested. NULL on out of memory. */
json_t *vmig__vmsd_json_field(const vmig_vmsd_t *vmsd, const vmig_vmsd_field_t *f, size_t i,
                              size_t n, json_t **nested);
/* Set "size" and append obj to fields (the reference is taken): 0 or -ENOMEM. */
int vmig__vmsd_json_field_end(json_t *fields, json_t *obj, uint64_t size);
/* Whether an array of this field is described by its first element only. */
bool vmig__vmsd_field_compressible(const vmig_vmsd_field_t *f);

#endif
