/* savevm_vmdesc.c — the vmdesc trailer (stream.md §7): the JSON description
 * of the FULL sections, in exactly the text QEMU writes, and its framing. */
#include "savevm/savevm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

json_t *vmig_savevm_vmdesc_device(const vmig_savevm_entry_t *se)
{
    /* Keys go in this order; the vmstate layer (or the legacy path) adds the
     * rest after them. */
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "name", json_string(se->idstr)) ||
        json_object_set_new(o, "instance_id", json_integer(se->instance_id))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *vmig_savevm_vmdesc_new(const vmig_savevm_t *sv, json_t *devices)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "page_size",
                                  json_integer((json_int_t)1 << sv->cfg.target_page_bits)) ||
        json_object_set(o, "devices", devices)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *vmig_savevm_vmdesc_text(const json_t *vmdesc)
{
    /* No JSON_COMPACT and indent 0: one line with ", " and ": " separators,
     * which is QEMU's writer; insertion order is the key order. Non-ASCII is
     * escaped as QEMU does. */
    return json_dumps(vmdesc, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
}

int vmig_savevm_write_vmdesc(vmig_stream_t *s, const json_t *vmdesc)
{
    char *text = vmig_savevm_vmdesc_text(vmdesc);
    if (!text)
        return vmig_stream_set_error(s, -ENOMEM, "out of memory writing the vmdesc");
    size_t len = strlen(text);
    if (len > UINT32_MAX) {
        free(text);
        return vmig_stream_set_error(s, -EMSGSIZE, "vmdesc of %zu bytes does not fit", len);
    }
    vmig_stream_put_u8(s, VMIG_VM_VMDESCRIPTION);
    vmig_stream_put_be32(s, (uint32_t)len);
    vmig_stream_put_buffer(s, text, len);
    free(text);
    return vmig_stream_error(s);
}
