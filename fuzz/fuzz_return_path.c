/* fuzz_return_path.c — libFuzzer harness for the source's return-path
 * reader: messages are read until the end, an error or a SHUT, as the
 * source's return-path coroutine does; every message read must be one the
 * format allows. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "channel/channel.h"
#include "savevm/savevm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const vmig_rp_msg_t *m)
{
    switch (m->type) {
    case VMIG_RP_MSG_REQ_PAGES_ID:
    case VMIG_RP_MSG_RECV_BITMAP: {
        size_t n = strnlen(m->name, sizeof(m->name));
        if (n == 0 || n >= sizeof(m->name))
            __builtin_trap(); /* a name must be 1..255 bytes, NUL-terminated */
        break;
    }
    case VMIG_RP_MSG_SHUT:
    case VMIG_RP_MSG_PONG:
    case VMIG_RP_MSG_REQ_PAGES:
        break;
    case VMIG_RP_MSG_RESUME_ACK:
        if (m->value != VMIG_RP_RESUME_ACK_VALUE)
            __builtin_trap();
        break;
    default:
        __builtin_trap(); /* an unknown type got through */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    vmig_channel_t *ch = vmig_channel_memory_reader(size ? data : empty, size, false);
    vmig_stream_t *s = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!s) {
        if (ch)
            vmig_channel_close(ch);
        return 0;
    }
    vmig_rp_msg_t m;
    vmig_error_t err = { 0 };
    int r;
    while ((r = vmig_rp_read(s, &m, &err)) == VMIG_RP_MSG) {
        check_msg(&m);
        if (m.type == VMIG_RP_MSG_SHUT)
            break;
    }
    /* A protocol error always has its reason; any other end has none. */
    if ((r == -EPROTO) != (err.code == -EPROTO) || (err.code && !err.msg[0]))
        __builtin_trap();
    vmig_stream_free(s);
    return 0;
}
