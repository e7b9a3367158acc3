/* savevm_load.c — the destination side of the framing (stream.md §3, §10):
 * header checks, the section loop with its footer checks, the trailer skip. */
#include "savevm/savevm_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The largest chunk vmig_stream_peek() hands out: the trailer is skipped in
 * peeked chunks so that a short trailer never latches an error. */
#define PEEK_CHUNK 512

int vmig_savevm_load_header(vmig_savevm_t *sv, vmig_stream_t *s)
{
    sv->rp_open = false;
    sv->load_depth = 0;
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        se->load_seen = false;

    uint32_t magic = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (magic != VMIG_VM_FILE_MAGIC)
        return vmig_stream_set_error(s, -EINVAL, "Not a migration stream");
    uint32_t version = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (version == VMIG_VM_FILE_VERSION_COMPAT)
        return vmig_stream_set_error(s, -ENOTSUP,
                                     "SaveVM v2 format is obsolete and don't work anymore");
    if (version != VMIG_VM_FILE_VERSION)
        return vmig_stream_set_error(s, -ENOTSUP, "Unsupported migration stream version");
    if (!sv->cfg.send_configuration)
        return 0;
    uint8_t type = vmig_stream_get_u8(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (type != VMIG_VM_CONFIGURATION)
        return vmig_stream_set_error(s, -EINVAL, "Configuration section missing");
    return vmig_savevm_get_config(sv, s);
}

int vmig_savevm_load_setup(vmig_savevm_t *sv, vmig_stream_t *s)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next) {
        if (!se->ops || !se->ops->load_setup || !vmig_savevm_entry_active(se))
            continue;
        int r = se->ops->load_setup(s, se->opaque);
        if (r < 0)
            return vmig_savevm_fail(s, r, "Load state of device %s failed", se->idstr);
    }
    return vmig_stream_error(s);
}

void vmig_savevm_load_cleanup(vmig_savevm_t *sv)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->ops && se->ops->load_cleanup)
            se->ops->load_cleanup(se->opaque);
}

/* Match on the exact wire bytes: a received name with a NUL inside must not
 * match a local name that is its prefix. */
static vmig_savevm_entry_t *find_wire(vmig_savevm_t *sv, const char *idstr, size_t idlen,
                                      uint32_t instance_id)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->instance_id == instance_id && se->idlen == idlen &&
            memcmp(se->idstr, idstr, idlen) == 0)
            return se;
    return NULL;
}

static vmig_savevm_entry_t *find_loaded(vmig_savevm_t *sv, uint32_t section_id)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->load_seen && se->load_section_id == section_id)
            return se;
    return NULL;
}

int vmig_savevm_cut_within(vmig_stream_t *s, size_t n)
{
    uint8_t buf[PEEK_CHUNK];
    if (n > sizeof(buf))
        return -EINVAL;
    int got = vmig_stream_peek(s, buf, n);
    if (got < 0)
        return got;
    if ((size_t)got >= n)
        return 0;
    vmig_stream_skip(s, (uint64_t)got);
    vmig_stream_get_u8(s);
    return vmig_stream_error(s);
}

static int check_footer(vmig_savevm_t *sv, vmig_stream_t *s, const vmig_savevm_entry_t *se)
{
    if (!sv->cfg.send_section_footer)
        return 0;
    uint8_t marker = vmig_stream_get_u8(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (marker != VMIG_VM_SECTION_FOOTER) {
        /* The vmstate loader leaves a subsection header that the end of the
         * stream cut short to the next reader: that is a truncation. */
        if (marker == VMIG_VM_SUBSECTION) {
            uint8_t len;
            int got = vmig_stream_peek(s, &len, 1);
            int r = got < 0 ? got : vmig_savevm_cut_within(s, got ? 1 + (size_t)len : 1);
            if (r)
                return r;
        }
        return vmig_stream_set_error(s, -EINVAL, "Missing section footer for %s", se->idstr);
    }
    uint32_t id = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (id != se->load_section_id)
        return vmig_stream_set_error(s, -EINVAL,
                                     "Mismatched section id in footer for %s - read 0x%x "
                                     "expected 0x%x",
                                     se->idstr, id, se->load_section_id);
    return 0;
}

/* The body, by the vmstate loader or the handler's hook; 0 or negative errno
 * (a hook that ignored a short read is caught by the stream's error). */
static int load_body(vmig_stream_t *s, vmig_savevm_entry_t *se, int type)
{
    int r;
    if (se->vmsd)
        r = vmig_vmstate_load(s, se->vmsd, se->opaque, (int)se->load_version_id);
    else if (se->ops->load)
        r = se->ops->load(s, se->opaque, se->load_version_id, type);
    else
        r = vmig_stream_set_error(s, -ENOTSUP, "'%s' cannot load sections", se->idstr);
    if (r < 0)
        return r;
    return vmig_stream_error(s);
}

static int load_start_full(vmig_savevm_t *sv, vmig_stream_t *s, int type)
{
    char idstr[VMIG_VM_IDSTR_MAX + 1];
    uint32_t section_id = vmig_stream_get_be32(s);
    int idlen = vmig_stream_get_counted_string(s, idstr);
    uint32_t instance_id = vmig_stream_get_be32(s);
    uint32_t version_id = vmig_stream_get_be32(s);
    if (idlen < 0 || vmig_stream_error(s))
        return vmig_stream_error(s);

    vmig_savevm_entry_t *se = find_wire(sv, idstr, (size_t)idlen, instance_id);
    if (!se)
        return vmig_stream_set_error(s, -EINVAL,
                                     "Unknown savevm section or instance '%s' %d. Make sure "
                                     "that your current VM setup matches your saved VM setup, "
                                     "including any hotplugged devices",
                                     idstr, (int)instance_id);
    if (version_id > se->version_id)
        return vmig_stream_set_error(s, -EINVAL, "savevm: unsupported version %d for '%s' v%d",
                                     (int)version_id, se->idstr, (int)se->version_id);
    se->load_seen = true;
    se->load_section_id = section_id;
    se->load_version_id = version_id;

    int r = load_body(s, se, type);
    if (r < 0)
        return vmig_savevm_fail(s, r, "error while loading state for instance 0x%x of device '%s'",
                                instance_id, se->idstr);
    return check_footer(sv, s, se);
}

static int load_part_end(vmig_savevm_t *sv, vmig_stream_t *s, int type)
{
    uint32_t section_id = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    vmig_savevm_entry_t *se = find_loaded(sv, section_id);
    if (!se)
        return vmig_stream_set_error(s, -EINVAL, "Unknown savevm section %d", (int)section_id);
    int r = load_body(s, se, type);
    if (r < 0)
        return vmig_savevm_fail(s, r, "error while loading state section id %d(%s)",
                                (int)section_id, se->idstr);
    return check_footer(sv, s, se);
}

int vmig_savevm_load_main(vmig_savevm_t *sv, vmig_stream_t *s)
{
    for (;;) {
        /* A package may simply end after its last section or command. */
        if (sv->load_depth > 0) {
            uint8_t b;
            int n = vmig_stream_peek(s, &b, 1);
            if (n <= 0)
                return n;
        }
        uint8_t type = vmig_stream_get_u8(s);
        int r = vmig_stream_error(s);
        if (r)
            return r;
        switch (type) {
        case VMIG_VM_SECTION_START:
        case VMIG_VM_SECTION_FULL:
            r = load_start_full(sv, s, type);
            break;
        case VMIG_VM_SECTION_PART:
        case VMIG_VM_SECTION_END:
            r = load_part_end(sv, s, type);
            break;
        case VMIG_VM_COMMAND:
            r = vmig_savevm_load_command(sv, s);
            if (r == VMIG_SAVEVM_LOAD_QUIT)
                return r;
            break;
        case VMIG_VM_EOF:
            return 0;
        default:
            return vmig_stream_set_error(s, -EINVAL, "Unknown savevm section type %d", type);
        }
        if (r < 0)
            return r;
    }
}

static void warn(vmig_savevm_t *sv, const char *msg)
{
    if (sv->hooks.warn)
        sv->hooks.warn(sv->hooks.opaque, msg);
}

int vmig_savevm_load_vmdesc(vmig_savevm_t *sv, vmig_stream_t *s)
{
    /* A destination that would not send a trailer does not look for one. */
    if (sv->cfg.suppress_vmdesc)
        return 0;
    /* Everything here is peeked before it is consumed: a missing or short
     * trailer ends the load successfully, as with QEMU. */
    uint8_t hdr[5];
    int n = vmig_stream_peek(s, hdr, 1);
    if (n < 1)
        return 0;
    if (hdr[0] != VMIG_VM_VMDESCRIPTION) {
        char msg[64];
        snprintf(msg, sizeof(msg), "Expected vmdescription section, but got %d", hdr[0]);
        warn(sv, msg);
        return 0;
    }
    n = vmig_stream_peek(s, hdr, sizeof(hdr));
    if (n < (int)sizeof(hdr))
        return 0;
    vmig_stream_skip(s, sizeof(hdr));
    uint32_t left = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 |
                    hdr[4];
    /* Nobody writes a larger one; leave it unread rather than wait for it. */
    if (left > VMIG_VMDESC_MAX)
        return 0;
    uint8_t chunk[PEEK_CHUNK];
    while (left > 0) {
        size_t want = left < sizeof(chunk) ? left : sizeof(chunk);
        n = vmig_stream_peek(s, chunk, want);
        if (n <= 0)
            break;
        vmig_stream_skip(s, (uint64_t)n);
        left -= (uint32_t)n;
        if ((size_t)n < want)
            break;
    }
    return 0;
}

int vmig_savevm_load(vmig_savevm_t *sv, vmig_stream_t *s)
{
    int r = vmig_savevm_load_header(sv, s);
    if (r < 0)
        return r;
    r = vmig_savevm_load_setup(sv, s);
    if (r == 0)
        r = vmig_savevm_load_main(sv, s);
    /* A command handed the stream over (postcopy): the new owner cleans up. */
    if (r == VMIG_SAVEVM_LOAD_QUIT)
        return r;
    if (r == 0)
        vmig_savevm_load_vmdesc(sv, s);
    vmig_savevm_load_cleanup(sv);
    return r;
}
