/* savevm_load_cmd.c — in-band commands on the destination (stream.md §8):
 * length rules, return path and PING, PACKAGED, hand-off of the rest. */
#include "savevm/savevm_int.h"

#include <errno.h>
#include <stdlib.h>

/* A package's first buffer; it doubles as more of the package arrives. */
#define PACKAGE_FIRST_CHUNK (64u << 10)

/* Length of each command's data; VAR_LEN = checked by its own rules. */
#define VAR_LEN (-1)

typedef struct cmd_info {
    const char *name; /* QEMU's name for it, used in its messages */
    int len;          /* fixed data length, or VAR_LEN */
} cmd_info_t;

static const cmd_info_t cmd_table[VMIG_CMD_MAX] = {
    [VMIG_CMD_INVALID] = {"INVALID", VAR_LEN},
    [VMIG_CMD_OPEN_RETURN_PATH] = {"OPEN_RETURN_PATH", 0},
    [VMIG_CMD_PING] = {"PING", 4},
    [VMIG_CMD_POSTCOPY_ADVISE] = {"POSTCOPY_ADVISE", VAR_LEN},
    [VMIG_CMD_POSTCOPY_LISTEN] = {"POSTCOPY_LISTEN", 0},
    [VMIG_CMD_POSTCOPY_RUN] = {"POSTCOPY_RUN", 0},
    [VMIG_CMD_POSTCOPY_RAM_DISCARD] = {"POSTCOPY_RAM_DISCARD", VAR_LEN},
    [VMIG_CMD_PACKAGED] = {"PACKAGED", 4},
    [VMIG_CMD_ENABLE_COLO] = {"ENABLE_COLO", 0},
    [VMIG_CMD_POSTCOPY_RESUME] = {"POSTCOPY_RESUME", 0},
    [VMIG_CMD_RECV_BITMAP] = {"RECV_BITMAP", VAR_LEN},
};

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int open_return_path(vmig_savevm_t *sv, vmig_stream_t *s)
{
    if (sv->rp_open) {
        /* Harmless: QEMU only reports it and carries on. */
        if (sv->hooks.warn)
            sv->hooks.warn(sv->hooks.opaque, "CMD_OPEN_RETURN_PATH called when RP already open");
        return 0;
    }
    if (!sv->hooks.open_return_path)
        return vmig_stream_set_error(s, -ENOTSUP, "CMD_OPEN_RETURN_PATH failed");
    int r = sv->hooks.open_return_path(sv->hooks.opaque);
    if (r < 0)
        return vmig_stream_set_error(s, r, "CMD_OPEN_RETURN_PATH failed");
    sv->rp_open = true;
    return 0;
}

static int ping(vmig_savevm_t *sv, vmig_stream_t *s, uint32_t value)
{
    if (!sv->rp_open)
        return vmig_stream_set_error(s, -EINVAL, "CMD_PING (0x%x) received with no return path",
                                     value);
    if (!sv->hooks.ping)
        return vmig_stream_set_error(s, -ENOTSUP, "CMD_PING (0x%x) cannot be answered", value);
    int r = sv->hooks.ping(sv->hooks.opaque, value);
    if (r < 0)
        return vmig_stream_set_error(s, r, "CMD_PING (0x%x) could not be answered", value);
    return 0;
}

/* Read len bytes of a package into a buffer that grows as they arrive
 * (64 KiB, then doubling): a stream announcing 16 MiB and ending early
 * costs what it sent, not what it claimed. */
static uint8_t *read_package(vmig_stream_t *s, uint32_t len)
{
    size_t cap = len < PACKAGE_FIRST_CHUNK ? (len ? len : 1) : PACKAGE_FIRST_CHUNK;
    uint8_t *buf = malloc(cap);
    size_t have = 0;
    while (buf && have < len) {
        if (have == cap) {
            size_t ncap = cap * 2 < len ? cap * 2 : len;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf)
                break;
            buf = nbuf;
            cap = ncap;
        }
        if (vmig_stream_get_buffer(s, buf + have, cap - have) < 0) {
            free(buf);
            return NULL;
        }
        have = cap;
    }
    if (have < len) {
        free(buf);
        vmig_stream_set_error(s, -ENOMEM, "Out of memory for packaged state: %u", len);
        return NULL;
    }
    return buf;
}

/* The package is read whole (bounded by 16 MiB) and loaded by the same loop
 * from a memory stream; its errors become the main stream's. */
static int packaged(vmig_savevm_t *sv, vmig_stream_t *s, uint32_t len)
{
    if (len > VMIG_CMD_PACKAGED_MAX)
        return vmig_stream_set_error(s, -EINVAL, "Unreasonably large packaged state: %u", len);
    /* QEMU's packages never nest; refusing keeps memory use at one package. */
    if (sv->load_depth > 0)
        return vmig_stream_set_error(s, -EINVAL, "Packaged state inside packaged state");
    uint8_t *buf = read_package(s, len);
    if (!buf)
        return vmig_stream_error(s);
    vmig_channel_t *ch = vmig_channel_memory_reader(buf, len, false);
    vmig_stream_t *sub = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!sub) {
        if (ch)
            vmig_channel_close(ch);
        free(buf);
        return vmig_stream_set_error(s, -ENOMEM, "Out of memory for packaged state: %u", len);
    }
    sv->load_depth++;
    int r = vmig_savevm_load_main(sv, sub);
    sv->load_depth--;
    if (r < 0)
        r = vmig_stream_set_error(s, r, "in packaged state: %s", vmig_stream_error_msg(sub));
    vmig_stream_free(sub);
    free(buf);
    return r;
}

int vmig_savevm_load_command(vmig_savevm_t *sv, vmig_stream_t *s)
{
    uint16_t cmd = vmig_stream_get_be16(s);
    uint16_t len = vmig_stream_get_be16(s);
    if (vmig_stream_error(s))
        return vmig_stream_error(s);
    if (cmd == VMIG_CMD_INVALID || cmd >= VMIG_CMD_MAX)
        return vmig_stream_set_error(s, -EINVAL, "MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
    const cmd_info_t *info = &cmd_table[cmd];
    if (info->len != VAR_LEN && len != info->len)
        return vmig_stream_set_error(s, -ERANGE,
                                     "%s received with bad length - expecting %zu, got %d",
                                     info->name, (size_t)info->len, len);
    if (cmd == VMIG_CMD_POSTCOPY_ADVISE && len != 0 && len != 16)
        return vmig_stream_set_error(s, -EINVAL, "CMD_POSTCOPY_ADVISE invalid length (%d)", len);

    /* len is a be16: at most 64 KiB, too much for a coroutine stack. */
    uint8_t small[16];
    uint8_t *data = len <= sizeof(small) ? small : malloc(len);
    if (!data)
        return vmig_stream_set_error(s, -ENOMEM, "Out of memory for command %s", info->name);
    int r = vmig_stream_get_buffer(s, data, len);
    if (r < 0)
        goto out;

    switch (cmd) {
    case VMIG_CMD_OPEN_RETURN_PATH:
        r = open_return_path(sv, s);
        break;
    case VMIG_CMD_PING:
        r = ping(sv, s, be32_at(data));
        break;
    case VMIG_CMD_PACKAGED:
        r = packaged(sv, s, be32_at(data));
        break;
    default:
        /* Postcopy and COLO belong to the incoming job. */
        if (!sv->hooks.command) {
            r = vmig_stream_set_error(s, -ENOTSUP, "%s received but not supported here",
                                      info->name);
            break;
        }
        r = sv->hooks.command(sv->hooks.opaque, s, cmd, data, len);
        if (r < 0)
            r = vmig_savevm_fail(s, r, "%s failed", info->name);
        break;
    }
out:
    if (data != small)
        free(data);
    return r;
}
