/* vmstate.h — the vmstate layer inside the library: the public descriptions
 * (vmig/vmstate.h) plus the saver, the bounds-checked loader and the vmdesc
 * JSON that savevm drives (spec/vmstate.md). */
#ifndef VMIG_VMSTATE_INTERNAL_API_H
#define VMIG_VMSTATE_INTERNAL_API_H

#include <jansson.h>

#include "stream/stream.h"
#include "vmig/vmstate.h"

/* Write vmsd's encoding of opaque at vmsd->version_id: fields, then needed
 * subsections (05 len name be32-version body). When desc is a JSON object,
 * add "vmsd_name", "version", "fields" and (if any was written)
 * "subsections" to it, as in the vmdesc trailer. Does not look at the
 * top-level needed (see vmig_vmstate_needed()). 0 or negative errno (the
 * stream's error, with its message). */
int vmig_vmstate_save(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, json_t *desc);
/* Load what a peer saved at version_id (the section's version) into opaque:
 * version checks, pre_load, fields, subsections, post_load. 0 or negative
 * errno with the message kept on the stream. */
int vmig_vmstate_load(vmig_stream_t *s, const vmig_vmsd_t *vmsd, void *opaque, int version_id);
/* The top-level needed(): false means no section is written at all. */
bool vmig_vmstate_needed(const vmig_vmsd_t *vmsd, void *opaque);

#endif
