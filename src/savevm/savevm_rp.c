/* savevm_rp.c — return-path messages (spec/stream.md §9): the destination's
 * writer and the source's reader, which checks every type and length as it
 * reads them (the bytes come from the destination: untrusted). */
#include <errno.h>
#include <string.h>

#include "savevm/savevm.h"

const char *vmig_rp_msg_name(unsigned type)
{
    static const char *const names[] = {
        "INVALID", "SHUT", "PONG", "REQ_PAGES_ID", "REQ_PAGES", "RECV_BITMAP", "RESUME_ACK",
    };
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "UNKNOWN";
}

int vmig_rp_write_value(vmig_stream_t *s, unsigned type, uint32_t value)
{
    vmig_stream_put_be16(s, (uint16_t)type);
    vmig_stream_put_be16(s, 4);
    vmig_stream_put_be32(s, value);
    return vmig_stream_flush(s);
}

/* u8 idlen, idstr: the length must be what the message's length says. */
static int read_name(vmig_stream_t *s, vmig_rp_msg_t *msg, size_t left, vmig_error_t *err)
{
    unsigned n = vmig_stream_get_u8(s);
    if (vmig_stream_error(s) < 0)
        return vmig_stream_error(s);
    if (left != 1 + (size_t)n || n == 0)
        return vmig_error_set(err, -EPROTO, "RP: '%s' message with a bad block name length %u",
                              vmig_rp_msg_name(msg->type), n);
    if (vmig_stream_get_buffer(s, msg->name, n) < 0)
        return vmig_stream_error(s);
    msg->name[n] = '\0';
    if (memchr(msg->name, '\0', n))
        return vmig_error_set(err, -EPROTO, "RP: '%s' message with a NUL in its block name",
                              vmig_rp_msg_name(msg->type));
    return 0;
}

int vmig_rp_read(vmig_stream_t *s, vmig_rp_msg_t *msg, vmig_error_t *err)
{
    memset(msg, 0, sizeof(*msg));
    /* A clean end between messages is the destination closing its side. */
    uint8_t peek;
    int r = vmig_stream_peek(s, &peek, 1);
    if (r <= 0)
        return r < 0 ? r : VMIG_RP_END;
    msg->type = vmig_stream_get_be16(s);
    unsigned len = vmig_stream_get_be16(s);
    if (vmig_stream_error(s) < 0)
        return vmig_stream_error(s);
    size_t want;
    switch (msg->type) {
    case VMIG_RP_MSG_SHUT:
    case VMIG_RP_MSG_PONG:
    case VMIG_RP_MSG_RESUME_ACK:
        want = 4;
        break;
    case VMIG_RP_MSG_REQ_PAGES:
        want = 12;
        break;
    case VMIG_RP_MSG_REQ_PAGES_ID:
        want = len >= 13 ? len : 13; /* 12 + 1 + idlen, checked at the name */
        break;
    case VMIG_RP_MSG_RECV_BITMAP:
        want = len >= 2 ? len : 2;
        break;
    default:
        return vmig_error_set(err, -EPROTO, "Received invalid message 0x%04x length 0x%04x",
                              msg->type, len);
    }
    if (len != want)
        return vmig_error_set(err, -EPROTO,
                              "Received '%s' message (0x%04x) with incorrect length %u expecting %zu",
                              vmig_rp_msg_name(msg->type), msg->type, len, want);
    switch (msg->type) {
    case VMIG_RP_MSG_REQ_PAGES:
    case VMIG_RP_MSG_REQ_PAGES_ID:
        msg->start = vmig_stream_get_be64(s);
        msg->len = vmig_stream_get_be32(s);
        if (vmig_stream_error(s) < 0)
            return vmig_stream_error(s);
        if (msg->type == VMIG_RP_MSG_REQ_PAGES_ID && (r = read_name(s, msg, len - 12, err)) < 0)
            return r;
        break;
    case VMIG_RP_MSG_RECV_BITMAP:
        if ((r = read_name(s, msg, len, err)) < 0)
            return r;
        break;
    default:
        msg->value = vmig_stream_get_be32(s);
        break;
    }
    if (vmig_stream_error(s) < 0)
        return vmig_stream_error(s);
    if (msg->type == VMIG_RP_MSG_RESUME_ACK && msg->value != VMIG_RP_RESUME_ACK_VALUE)
        return vmig_error_set(err, -EPROTO, "RP: RESUME_ACK with value %u (expected %u)",
                              msg->value, VMIG_RP_RESUME_ACK_VALUE);
    return VMIG_RP_MSG;
}
