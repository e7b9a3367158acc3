/* savevm_config.c — the configuration section (stream.md §3): vmstate
 * "configuration" v1 and its subsections, by hand for its custom checks. */
#include "savevm/savevm_int.h"
#include "util/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* At most this many capability names in configuration/capabilities: QEMU 7.2
 * knows 21 and sends one; the bound keeps a hostile count from looping. */
#define CONFIG_CAPS_MAX 64

static void put_subsection_header(vmig_stream_t *s, const char *name)
{
    vmig_stream_put_u8(s, VMIG_VM_SUBSECTION);
    vmig_stream_put_counted_string(s, name);
    vmig_stream_put_be32(s, VMIG_CONFIG_SUB_VERSION);
}

void vmig_savevm_put_config(const vmig_savevm_t *sv, vmig_stream_t *s)
{
    const vmig_savevm_config_t *cfg = &sv->cfg;
    size_t len = strlen(cfg->machine);

    vmig_stream_put_be32(s, (uint32_t)len);
    vmig_stream_put_buffer(s, cfg->machine, len);
    /* Subsections in QEMU's table order, each only when its needed() holds. */
    if (cfg->target_page_bits > cfg->target_page_bits_min) {
        put_subsection_header(s, VMIG_CONFIG_SUB_PAGE_BITS);
        vmig_stream_put_be32(s, cfg->target_page_bits);
    }
    if (cfg->x_ignore_shared) {
        put_subsection_header(s, VMIG_CONFIG_SUB_CAPS);
        vmig_stream_put_be32(s, 1);
        vmig_stream_put_counted_string(s, VMIG_CAP_X_IGNORE_SHARED);
    }
    if (cfg->validate_uuid && cfg->uuid_set) {
        put_subsection_header(s, VMIG_CONFIG_SUB_UUID);
        vmig_stream_put_buffer(s, cfg->uuid, VMIG_CONFIG_UUID_LEN);
    }
}

/* What the configuration section told us, checked once it is complete. */
typedef struct config_in {
    char machine[VMIG_VM_IDSTR_MAX + 1]; /* received machine name, NUL-terminated */
    uint32_t machine_len;                /* its length on the wire */
    uint32_t page_bits;                  /* received target page bits (or the minimum) */
    bool x_ignore_shared;                /* the source had x-ignore-shared on */
} config_in_t;

static bool known_capability(const char *name)
{
    static const char *const names[] = {
#define XX(n) n,
        VMIG_CAPABILITY_NAMES(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static int get_caps(vmig_stream_t *s, config_in_t *in)
{
    uint32_t count = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (count > CONFIG_CAPS_MAX)
        return vmig_stream_set_error(s, -EINVAL, "Received %u capabilities, at most %d expected",
                                     count, CONFIG_CAPS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        char name[256];
        int r = vmig_stream_get_counted_string(s, name);
        if (r < 0)
            return r;
        if (!known_capability(name))
            return vmig_stream_set_error(s, -EINVAL, "Received unknown capability %s", name);
        if (strcmp(name, VMIG_CAP_X_IGNORE_SHARED) == 0)
            in->x_ignore_shared = true;
    }
    return 0;
}

static int get_uuid(vmig_savevm_t *sv, vmig_stream_t *s)
{
    uint8_t uuid[VMIG_CONFIG_UUID_LEN];
    int r = vmig_stream_get_buffer(s, uuid, sizeof(uuid));
    if (r < 0)
        return r;
    char src[VMIG_UUID_TEXT_LEN], dst[VMIG_UUID_TEXT_LEN];
    vmig_uuid_format(uuid, src);
    if (!sv->cfg.uuid_set) {
        /* Not an error: the user may not know the UUID (an old snapshot). */
        if (sv->hooks.warn) {
            char msg[96];
            snprintf(msg, sizeof(msg), "UUID is received %s, but local uuid isn't set", src);
            sv->hooks.warn(sv->hooks.opaque, msg);
        }
        return 0;
    }
    if (memcmp(uuid, sv->cfg.uuid, sizeof(uuid)) != 0) {
        vmig_uuid_format(sv->cfg.uuid, dst);
        return vmig_stream_set_error(s, -EINVAL, "UUID received is %s and local is %s", src, dst);
    }
    return 0;
}

/* One subsection if the next bytes are one of ours: 1 if loaded, 0 if the
 * next bytes are not a configuration subsection, or negative errno. */
static int get_subsection(vmig_savevm_t *sv, vmig_stream_t *s, config_in_t *in)
{
    uint8_t peek[2 + VMIG_VM_IDSTR_MAX];
    const size_t prefix = strlen(VMIG_CONFIG_VMSD_NAME);

    int n = vmig_stream_peek(s, peek, 2);
    if (n < 0)
        return n;
    if (n < 1 || peek[0] != VMIG_VM_SUBSECTION)
        return 0;
    /* A 05 the stream ends behind cannot be anything valid: a cut. */
    if (n < 2)
        return vmig_savevm_cut_within(s, 2);
    size_t len = peek[1];
    /* Like vmstate: a name too short or without our prefix belongs to the
     * outer data, so it ends the subsections without an error. */
    if (len < prefix + 1)
        return 0;
    n = vmig_stream_peek(s, peek, 2 + len);
    if (n < 0)
        return n;
    if ((size_t)n < 2 + len)
        return vmig_savevm_cut_within(s, 2 + len);
    if (memcmp(peek + 2, VMIG_CONFIG_VMSD_NAME, prefix) != 0)
        return 0;
    char name[VMIG_VM_IDSTR_MAX + 1];
    memcpy(name, peek + 2, len);
    name[len] = '\0';
    bool page_bits = strcmp(name, VMIG_CONFIG_SUB_PAGE_BITS) == 0;
    bool caps = strcmp(name, VMIG_CONFIG_SUB_CAPS) == 0;
    bool uuid = strcmp(name, VMIG_CONFIG_SUB_UUID) == 0;
    if (!page_bits && !caps && !uuid)
        return vmig_stream_set_error(s, -ENOENT, "%s: unknown subsection '%s'",
                                     VMIG_CONFIG_VMSD_NAME, name);
    vmig_stream_skip(s, 2 + len);
    /* vmstate keeps only the low 8 bits of a subsection version. */
    uint32_t version = vmig_stream_get_be32(s) & 0xff;
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (version > VMIG_CONFIG_SUB_VERSION)
        return vmig_stream_set_error(s, -EINVAL,
                                     "%s: incoming version_id %u is too new for local "
                                     "version_id %d",
                                     name, version, VMIG_CONFIG_SUB_VERSION);
    if (version < VMIG_CONFIG_SUB_VERSION)
        return vmig_stream_set_error(s, -EINVAL,
                                     "%s: incoming version_id %u is too old for local minimum "
                                     "version_id %d",
                                     name, version, VMIG_CONFIG_SUB_VERSION);
    int r;
    if (page_bits) {
        in->page_bits = vmig_stream_get_be32(s);
        r = vmig_stream_error(s);
    } else if (caps) {
        r = get_caps(s, in);
    } else {
        r = get_uuid(sv, s);
    }
    return r < 0 ? r : 1;
}

/* The checks QEMU makes once the whole section is in (its post_load). */
static int check_config(vmig_savevm_t *sv, vmig_stream_t *s, const config_in_t *in)
{
    const vmig_savevm_config_t *cfg = &sv->cfg;
    /* Stricter than QEMU, which compares only the received length and so
     * accepts a prefix of the local name. */
    if (in->machine_len != strlen(cfg->machine) ||
        memcmp(in->machine, cfg->machine, in->machine_len) != 0)
        return vmig_stream_set_error(s, -EINVAL, "Machine type received is '%.*s' and local is '%s'",
                                     (int)in->machine_len, in->machine, cfg->machine);
    if (in->page_bits != cfg->target_page_bits)
        return vmig_stream_set_error(s, -EINVAL, "Received TARGET_PAGE_BITS is %d but local is %d",
                                     (int)in->page_bits, (int)cfg->target_page_bits);
    if (in->x_ignore_shared != cfg->x_ignore_shared)
        return vmig_stream_set_error(s, -EINVAL, "Capability %s is %s, but received capability is %s",
                                     VMIG_CAP_X_IGNORE_SHARED, cfg->x_ignore_shared ? "on" : "off",
                                     in->x_ignore_shared ? "on" : "off");
    return 0;
}

int vmig_savevm_get_config(vmig_savevm_t *sv, vmig_stream_t *s)
{
    config_in_t in;
    memset(&in, 0, sizeof(in));
    in.page_bits = sv->cfg.target_page_bits_min; /* assumed when not announced */

    in.machine_len = vmig_stream_get_be32(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    /* QEMU allocates whatever length arrives; machine names are short, so a
     * longer one cannot match and is not read at all. */
    if (in.machine_len > VMIG_VM_IDSTR_MAX)
        return vmig_stream_set_error(s, -EINVAL,
                                     "Machine type received is %u bytes long and local is '%s'",
                                     in.machine_len, sv->cfg.machine);
    int r = vmig_stream_get_buffer(s, in.machine, in.machine_len);
    if (r < 0)
        return r;
    in.machine[in.machine_len] = '\0';
    while ((r = get_subsection(sv, s, &in)) > 0)
        ;
    if (r < 0)
        return r;
    /* Something (at least EOF) always follows: a stream cut here would
     * otherwise be blamed on a missing capability subsection. */
    r = vmig_savevm_cut_within(s, 1);
    if (r < 0)
        return r;
    return check_config(sv, s, &in);
}
