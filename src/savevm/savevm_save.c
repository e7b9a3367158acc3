/* savevm_save.c — the source side of the framing (stream.md §3-§5, §8): the
 * header, START / PART / END / FULL sections with footers, EOF and commands. */
#include "savevm/savevm_int.h"

#include <errno.h>
#include <stdlib.h>

int vmig_savevm_write_header(vmig_savevm_t *sv, vmig_stream_t *s)
{
    vmig_stream_put_be32(s, VMIG_VM_FILE_MAGIC);
    vmig_stream_put_be32(s, VMIG_VM_FILE_VERSION);
    if (sv->cfg.send_configuration) {
        vmig_stream_put_u8(s, VMIG_VM_CONFIGURATION);
        vmig_savevm_put_config(sv, s);
    }
    return vmig_stream_error(s);
}

static void put_section_header(vmig_stream_t *s, const vmig_savevm_entry_t *se, uint8_t type)
{
    vmig_stream_put_u8(s, type);
    vmig_stream_put_be32(s, se->section_id);
    if (type == VMIG_VM_SECTION_START || type == VMIG_VM_SECTION_FULL) {
        vmig_stream_put_counted_string(s, se->idstr);
        vmig_stream_put_be32(s, se->instance_id);
        vmig_stream_put_be32(s, se->version_id);
    }
}

static void put_section_footer(const vmig_savevm_t *sv, vmig_stream_t *s,
                               const vmig_savevm_entry_t *se)
{
    if (sv->cfg.send_section_footer) {
        vmig_stream_put_u8(s, VMIG_VM_SECTION_FOOTER);
        vmig_stream_put_be32(s, se->section_id);
    }
}

/* A hook failed: keep its own message if it set one, else name the entry. */
static int hook_failed(vmig_stream_t *s, const vmig_savevm_entry_t *se, int r)
{
    return vmig_savevm_fail(s, r, "failed to save SaveStateEntry with id(name): %u(%s): %d",
                            se->section_id, se->idstr, r);
}

/* Call a body hook between header and footer; the stream's error counts too,
 * since a hook may ignore a failed write. */
static int save_section(vmig_savevm_t *sv, vmig_stream_t *s, vmig_savevm_entry_t *se,
                        uint8_t type, int (*hook)(vmig_stream_t *, void *))
{
    put_section_header(s, se, type);
    int r = hook(s, se->opaque);
    put_section_footer(sv, s, se);
    if (r < 0)
        return hook_failed(s, se, r);
    int err = vmig_stream_error(s);
    return err ? err : r;
}

int vmig_savevm_setup(vmig_savevm_t *sv, vmig_stream_t *s)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->save_setup || !vmig_savevm_entry_active(se))
            continue;
        int r = save_section(sv, s, se, VMIG_VM_SECTION_START, se->ops->save_setup);
        if (r < 0)
            return r;
    }
    return vmig_stream_error(s);
}

static bool has_postcopy(const vmig_savevm_entry_t *se)
{
    return se->ops->has_postcopy && se->ops->has_postcopy(se->opaque);
}

int vmig_savevm_iterate(vmig_savevm_t *sv, vmig_stream_t *s, bool postcopy)
{
    int err = vmig_stream_error(s);
    if (err)
        return err;
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->save_iterate || !vmig_savevm_entry_active(se))
            continue;
        if (postcopy && !has_postcopy(se))
            continue;
        /* Out of budget for this window: the caller waits and calls again. */
        if (vmig_stream_rate_exceeded(s))
            return 0;
        int r = save_section(sv, s, se, VMIG_VM_SECTION_PART, se->ops->save_iterate);
        if (r < 0)
            return r;
        /* A handler that has not finished its stage holds back the ones after
         * it, so a fast-changing state is not resent over and over. */
        if (r == 0)
            return 0;
    }
    return 1;
}

void vmig_savevm_pending(vmig_savevm_t *sv, uint64_t threshold, uint64_t *precopy_only,
                         uint64_t *compatible, uint64_t *postcopy_only)
{
    *precopy_only = *compatible = *postcopy_only = 0;
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->pending || !vmig_savevm_entry_active(se))
            continue;
        se->ops->pending(se->opaque, threshold, precopy_only, compatible, postcopy_only);
    }
}

int vmig_savevm_complete_iterable(vmig_savevm_t *sv, vmig_stream_t *s, bool in_postcopy)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->save_complete || !vmig_savevm_entry_active(se))
            continue;
        /* Postcopiable handlers send their END at the end of postcopy. */
        if (in_postcopy && has_postcopy(se))
            continue;
        int r = save_section(sv, s, se, VMIG_VM_SECTION_END, se->ops->save_complete);
        if (r < 0)
            return r;
    }
    return vmig_stream_error(s);
}

int vmig_savevm_complete_postcopy(vmig_savevm_t *sv, vmig_stream_t *s)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->save_complete || !vmig_savevm_entry_active(se))
            continue;
        if (!has_postcopy(se))
            continue;
        int r = save_section(sv, s, se, VMIG_VM_SECTION_END, se->ops->save_complete);
        if (r < 0)
            return r;
    }
    vmig_stream_put_u8(s, VMIG_VM_EOF);
    return vmig_stream_flush(s);
}

/* A vmstate device's whole state: its needed() was checked by the caller. */
static int save_vmsd_device(vmig_savevm_t *sv, vmig_stream_t *s, vmig_savevm_entry_t *se,
                            json_t *desc)
{
    put_section_header(s, se, VMIG_VM_SECTION_FULL);
    int r = vmig_vmstate_save(s, se->vmsd, se->opaque, desc);
    put_section_footer(sv, s, se);
    if (r < 0)
        return vmig_savevm_fail(s, r, "failed to save device state '%s' instance 0x%x",
                                se->idstr, se->instance_id);
    return vmig_stream_error(s);
}

/* A legacy device: the vmdesc describes its body as one buffer of the size
 * it turned out to have, so analyzers can skip it. */
static int save_legacy_device(vmig_savevm_t *sv, vmig_stream_t *s, vmig_savevm_entry_t *se,
                              json_t *desc)
{
    put_section_header(s, se, VMIG_VM_SECTION_FULL);
    uint64_t start = vmig_stream_bytes_written(s);
    int r = se->ops->save_state(s, se->opaque);
    uint64_t size = vmig_stream_bytes_written(s) - start;
    put_section_footer(sv, s, se);
    if (r < 0)
        return hook_failed(s, se, r);
    if (desc) {
        json_t *field = json_object();
        json_t *fields = json_array();
        if (!field || !fields || json_object_set_new(field, "name", json_string("data")) ||
            json_object_set_new(field, "size", json_integer((json_int_t)size)) ||
            json_object_set_new(field, "type", json_string("buffer")) ||
            json_array_append(fields, field) ||
            json_object_set_new(desc, "size", json_integer((json_int_t)size)) ||
            json_object_set(desc, "fields", fields)) {
            json_decref(field);
            json_decref(fields);
            return vmig_stream_set_error(s, -ENOMEM, "out of memory building the vmdesc");
        }
        json_decref(field);
        json_decref(fields);
    }
    return vmig_stream_error(s);
}

int vmig_savevm_save_devices(vmig_savevm_t *sv, vmig_stream_t *s, json_t *devices)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        bool legacy = !se->vmsd && se->ops && se->ops->save_state;
        if (!legacy && !se->vmsd)
            continue;
        if (se->vmsd && !vmig_vmstate_needed(se->vmsd, se->opaque))
            continue;
        json_t *desc = NULL;
        if (devices) {
            desc = vmig_savevm_vmdesc_device(se);
            if (!desc || json_array_append_new(devices, desc))
                return vmig_stream_set_error(s, -ENOMEM, "out of memory building the vmdesc");
        }
        int r = legacy ? save_legacy_device(sv, s, se, desc) : save_vmsd_device(sv, s, se, desc);
        if (r < 0)
            return r;
    }
    return vmig_stream_error(s);
}

int vmig_savevm_write_eof(vmig_stream_t *s)
{
    vmig_stream_put_u8(s, VMIG_VM_EOF);
    return vmig_stream_error(s);
}

int vmig_savevm_complete_precopy(vmig_savevm_t *sv, vmig_stream_t *s)
{
    int r = vmig_savevm_complete_iterable(sv, s, false);
    if (r < 0)
        return r;
    json_t *devices = NULL;
    if (!sv->cfg.suppress_vmdesc) {
        devices = json_array();
        if (!devices)
            return vmig_stream_set_error(s, -ENOMEM, "out of memory building the vmdesc");
    }
    r = vmig_savevm_save_devices(sv, s, devices);
    if (r == 0)
        r = vmig_savevm_write_eof(s);
    if (r == 0 && devices) {
        json_t *vmdesc = vmig_savevm_vmdesc_new(sv, devices);
        r = vmdesc ? vmig_savevm_write_vmdesc(s, vmdesc)
                   : vmig_stream_set_error(s, -ENOMEM, "out of memory building the vmdesc");
        json_decref(vmdesc);
    }
    json_decref(devices);
    if (r < 0)
        return r;
    return vmig_stream_flush(s);
}

void vmig_savevm_save_cleanup(vmig_savevm_t *sv)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->ops && se->ops->save_cleanup)
            se->ops->save_cleanup(se->opaque);
}

int vmig_savevm_send_command(vmig_stream_t *s, unsigned cmd, const void *data, size_t len)
{
    if (cmd > UINT16_MAX || len > UINT16_MAX)
        return vmig_stream_set_error(s, -EINVAL, "command 0x%x with %zu bytes does not fit", cmd,
                                     len);
    vmig_stream_put_u8(s, VMIG_VM_COMMAND);
    vmig_stream_put_be16(s, (uint16_t)cmd);
    vmig_stream_put_be16(s, (uint16_t)len);
    if (len)
        vmig_stream_put_buffer(s, data, len);
    return vmig_stream_flush(s);
}

int vmig_savevm_send_open_return_path(vmig_stream_t *s)
{
    return vmig_savevm_send_command(s, VMIG_CMD_OPEN_RETURN_PATH, NULL, 0);
}

int vmig_savevm_send_ping(vmig_stream_t *s, uint32_t value)
{
    uint8_t buf[4] = {(uint8_t)(value >> 24), (uint8_t)(value >> 16), (uint8_t)(value >> 8),
                      (uint8_t)value};
    return vmig_savevm_send_command(s, VMIG_CMD_PING, buf, sizeof(buf));
}

int vmig_savevm_send_packaged(vmig_stream_t *s, const void *buf, size_t len)
{
    if (len > VMIG_CMD_PACKAGED_MAX)
        return vmig_stream_set_error(s, -EMSGSIZE, "Unreasonably large packaged state: %zu", len);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    vmig_stream_put_u8(s, VMIG_VM_COMMAND);
    vmig_stream_put_be16(s, VMIG_CMD_PACKAGED);
    vmig_stream_put_be16(s, sizeof(hdr));
    vmig_stream_put_buffer(s, hdr, sizeof(hdr));
    if (len)
        vmig_stream_put_buffer(s, buf, len);
    return vmig_stream_flush(s);
}

