/* savevm_registry.c — the per-VM list of handlers and devices: registration,
 * section ids, instance ids, stream order, and the machine configuration. */
#include "savevm/savevm_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vmig_savevm_t *vmig_savevm_new(void)
{
    vmig_savevm_t *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return NULL;
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    vmig_savevm_set_config(sv, &cfg);
    return sv;
}

void vmig_savevm_free(vmig_savevm_t *sv)
{
    if (!sv)
        return;
    vmig_savevm_entry_t *se = sv->head;
    while (se) {
        vmig_savevm_entry_t *next = se->next;
        free(se);
        se = next;
    }
    free(sv);
}

void vmig_savevm_config_init(vmig_savevm_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->machine = "none";
    cfg->send_configuration = true;
    cfg->send_section_footer = true;
    cfg->target_page_bits = VMIG_TARGET_PAGE_BITS_DEFAULT;
    cfg->target_page_bits_min = VMIG_TARGET_PAGE_BITS_DEFAULT;
}

int vmig_savevm_set_config(vmig_savevm_t *sv, const vmig_savevm_config_t *cfg)
{
    if (!cfg->machine)
        return -EINVAL;
    size_t len = strlen(cfg->machine);
    if (len == 0 || len > VMIG_VM_IDSTR_MAX)
        return -EINVAL;
    /* The vmdesc announces 1 << bits as page_size: keep it a sane page size. */
    if (cfg->target_page_bits < 9 || cfg->target_page_bits > 20 ||
        cfg->target_page_bits_min < 9 || cfg->target_page_bits_min > cfg->target_page_bits)
        return -EINVAL;
    sv->cfg = *cfg;
    memcpy(sv->machine, cfg->machine, len + 1);
    sv->cfg.machine = sv->machine;
    return 0;
}

const vmig_savevm_config_t *vmig_savevm_config(const vmig_savevm_t *sv)
{
    return &sv->cfg;
}

void vmig_savevm_set_load_hooks(vmig_savevm_t *sv, const vmig_savevm_load_hooks_t *hooks)
{
    if (hooks)
        sv->hooks = *hooks;
    else
        memset(&sv->hooks, 0, sizeof(sv->hooks));
}

bool vmig_savevm_entry_active(const vmig_savevm_entry_t *se)
{
    return !se->ops || !se->ops->is_active || se->ops->is_active(se->opaque);
}

/* idstr travels as a u8-counted string and appears in the vmdesc JSON, so it
 * must be 1..255 bytes of valid UTF-8 without NULs. */
static int check_idstr(const char *idstr, size_t *len)
{
    if (!idstr)
        return -EINVAL;
    *len = strlen(idstr);
    if (*len == 0 || *len > VMIG_VM_IDSTR_MAX)
        return -EINVAL;
    json_t *probe = json_string(idstr);
    if (!probe)
        return -EINVAL;
    json_decref(probe);
    return 0;
}

static vmig_savevm_entry_t *find_entry(const vmig_savevm_t *sv, const char *idstr,
                                       uint32_t instance_id)
{
    for (vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->instance_id == instance_id && strcmp(se->idstr, idstr) == 0)
            return se;
    return NULL;
}

/* "Any" instance: one more than the largest instance id of this idstr, so
 * devices registered one after another get 0, 1, 2... */
static int resolve_instance(const vmig_savevm_t *sv, const char *idstr, uint32_t *instance_id)
{
    if (*instance_id != VMIG_SAVEVM_INSTANCE_ANY)
        return find_entry(sv, idstr, *instance_id) ? -EEXIST : 0;
    uint32_t next = 0;
    for (const vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (strcmp(se->idstr, idstr) == 0 && se->instance_id >= next)
            next = se->instance_id + 1;
    /* The largest id taken would make "any" itself: refuse, nothing is left. */
    if (next == VMIG_SAVEVM_INSTANCE_ANY)
        return -ERANGE;
    *instance_id = next;
    return 0;
}

/* Insert after every entry of higher or equal priority: equal priorities keep
 * registration order. */
static void insert_ordered(vmig_savevm_t *sv, vmig_savevm_entry_t *ne)
{
    vmig_savevm_entry_t **pp = &sv->head;
    while (*pp && (*pp)->priority >= ne->priority)
        pp = &(*pp)->next;
    ne->next = *pp;
    *pp = ne;
    sv->count++;
}

static int add_entry(vmig_savevm_t *sv, const char *idstr, uint32_t instance_id,
                     uint32_t version_id, int priority, const vmig_savevm_ops_t *ops,
                     const vmig_vmsd_t *vmsd, void *opaque)
{
    size_t len;
    int r = check_idstr(idstr, &len);
    if (r < 0)
        return r;
    r = resolve_instance(sv, idstr, &instance_id);
    if (r < 0)
        return r;
    /* Section ids are be32 on the wire and returned as int here. */
    if (sv->next_section_id > INT32_MAX)
        return -ERANGE;
    vmig_savevm_entry_t *se = calloc(1, sizeof(*se));
    if (!se)
        return -ENOMEM;
    memcpy(se->idstr, idstr, len + 1);
    se->idlen = len;
    se->instance_id = instance_id;
    se->section_id = sv->next_section_id++;
    se->version_id = version_id;
    se->priority = priority;
    se->ops = ops;
    se->vmsd = vmsd;
    se->opaque = opaque;
    insert_ordered(sv, se);
    return (int)se->section_id;
}

int vmig_savevm_register_vmsd(vmig_savevm_t *sv, const char *idstr, uint32_t instance_id,
                              const vmig_vmsd_t *vmsd, void *opaque)
{
    if (!vmsd || !vmsd->name || vmsd->version_id < 0)
        return -EINVAL;
    return add_entry(sv, idstr, instance_id, (uint32_t)vmsd->version_id, vmsd->priority, NULL,
                     vmsd, opaque);
}

int vmig_savevm_register_handler(vmig_savevm_t *sv, const char *idstr, uint32_t instance_id,
                                 uint32_t version_id, int priority,
                                 const vmig_savevm_ops_t *ops, void *opaque)
{
    if (!ops)
        return -EINVAL;
    return add_entry(sv, idstr, instance_id, version_id, priority, ops, NULL, opaque);
}

void vmig_savevm_skip_section_ids(vmig_savevm_t *sv, unsigned n)
{
    /* Registration refuses ids past INT32_MAX, so saturating is enough. */
    sv->next_section_id = sv->next_section_id + n < sv->next_section_id
                              ? UINT32_MAX
                              : sv->next_section_id + n;
}

int vmig_savevm_unregister(vmig_savevm_t *sv, int section_id)
{
    for (vmig_savevm_entry_t **pp = &sv->head; *pp; pp = &(*pp)->next) {
        vmig_savevm_entry_t *se = *pp;
        if (section_id >= 0 && se->section_id == (uint32_t)section_id) {
            *pp = se->next;
            sv->count--;
            free(se);
            return 0;
        }
    }
    return -ENOENT;
}

int vmig_savevm_find(const vmig_savevm_t *sv, const char *idstr, uint32_t instance_id)
{
    const vmig_savevm_entry_t *se = find_entry(sv, idstr, instance_id);
    return se ? (int)se->section_id : -ENOENT;
}

size_t vmig_savevm_count(const vmig_savevm_t *sv)
{
    return sv->count;
}

int vmig_savevm_check_migratable(const vmig_savevm_t *sv, vmig_error_t *err)
{
    for (const vmig_savevm_entry_t *se = sv->head; se; se = se->next)
        if (se->vmsd && se->vmsd->unmigratable)
            return vmig_error_set(err, -EPERM, "State blocked by non-migratable device '%s'",
                                  se->idstr);
    return 0;
}

int vmig_savevm_fail(vmig_stream_t *s, int r, const char *fmt, ...)
{
    char msg[VMIG_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (vmig_stream_error(s))
        return vmig_stream_error_prefix(s, "%s", msg);
    return vmig_stream_set_error(s, r < 0 ? r : -EIO, "%s", msg);
}
