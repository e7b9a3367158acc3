/* test_return_path.c — return-path messages (stream.md §9): what the
 * destination writes, and the source's reader accepting every well-formed
 * message and refusing every malformed one with its reason. */
#include "savevm_test.h"

/* Read hex with vmig_rp_read(): the result, the message and the error. */
static int rp_read_hex(const char *hex, vmig_rp_msg_t *msg, vmig_error_t *err)
{
    uint8_t buf[512];
    size_t n = vt_hex(hex, buf, sizeof(buf));
    vmig_stream_t *s = vt_mem_reader(buf, n);
    memset(err, 0, sizeof(*err));
    int r = vmig_rp_read(s, msg, err);
    vmig_stream_free(s);
    return r;
}

static void test_write_value(void **state)
{
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_rp_write_value(w, VMIG_RP_MSG_PONG, 1), 0);
    assert_int_equal(vmig_rp_write_value(w, VMIG_RP_MSG_SHUT, 0), 0);
    svt_assert_written(w, "0002 0004 00000001 0001 0004 00000000");
    vmig_stream_free(w);
}

static void test_read_well_formed(void **state)
{
    vmig_rp_msg_t m;
    vmig_error_t e;
    assert_int_equal(rp_read_hex("0002 0004 0000002a", &m, &e), VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_PONG);
    assert_int_equal(m.value, 42);
    assert_int_equal(rp_read_hex("0001 0004 00000001", &m, &e), VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_SHUT);
    assert_int_equal(m.value, 1);
    assert_int_equal(rp_read_hex("0004 000c 0000000000002000 00001000", &m, &e), VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_REQ_PAGES);
    assert_int_equal(m.start, 0x2000);
    assert_int_equal(m.len, 0x1000);
    /* REQ_PAGES_ID "pc.ram": 12 + 1 + 6 = 19 bytes. */
    assert_int_equal(rp_read_hex("0003 0013 0000000000003000 00002000 06 70632e72616d", &m, &e),
                     VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_REQ_PAGES_ID);
    assert_int_equal(m.start, 0x3000);
    assert_string_equal(m.name, "pc.ram");
    assert_int_equal(rp_read_hex("0005 0004 03 6d656d", &m, &e), VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_RECV_BITMAP);
    assert_string_equal(m.name, "mem");
    assert_int_equal(rp_read_hex("0006 0004 00000001", &m, &e), VMIG_RP_MSG);
    assert_int_equal(m.type, VMIG_RP_MSG_RESUME_ACK);
    /* Nothing at all: the destination closed between messages. */
    assert_int_equal(rp_read_hex("", &m, &e), VMIG_RP_END);
    assert_int_equal(e.code, 0);
}

/* A malformed message: -EPROTO and the reason. */
static void refused(const char *hex, const char *msg)
{
    vmig_rp_msg_t m;
    vmig_error_t e;
    assert_int_equal(rp_read_hex(hex, &m, &e), -EPROTO);
    assert_int_equal(e.code, -EPROTO);
    assert_string_equal(e.msg, msg);
}

static void test_read_malformed(void **state)
{
    refused("0000 0004 00000000", "Received invalid message 0x0000 length 0x0004");
    refused("0007 0000", "Received invalid message 0x0007 length 0x0000");
    refused("ffff ffff", "Received invalid message 0xffff length 0xffff");
    refused("0001 0008 00000000 00000000",
            "Received 'SHUT' message (0x0001) with incorrect length 8 expecting 4");
    refused("0002 0000", "Received 'PONG' message (0x0002) with incorrect length 0 expecting 4");
    refused("0004 0010 0000000000002000 00001000 00000000",
            "Received 'REQ_PAGES' message (0x0004) with incorrect length 16 expecting 12");
    refused("0003 000c 0000000000003000 00002000",
            "Received 'REQ_PAGES_ID' message (0x0003) with incorrect length 12 expecting 13");
    /* The name's own length disagrees with the message's. */
    refused("0003 0013 0000000000003000 00002000 05 70632e72616d",
            "RP: 'REQ_PAGES_ID' message with a bad block name length 5");
    refused("0003 000d 0000000000003000 00002000 00",
            "RP: 'REQ_PAGES_ID' message with a bad block name length 0");
    refused("0005 0004 ff 6d656d", "RP: 'RECV_BITMAP' message with a bad block name length 255");
    refused("0005 0004 03 6d006d", "RP: 'RECV_BITMAP' message with a NUL in its block name");
    refused("0006 0004 00000002", "RP: RESUME_ACK with value 2 (expected 1)");
}

/* A message cut short is a stream error, not a protocol one: the main
 * channel says why the destination went away. */
static void test_read_truncated(void **state)
{
    static const char *const cuts[] = {"00", "0002", "0002 00", "0002 0004 0000",
                                       "0003 0013 0000000000003000 00002000 06 7063"};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        vmig_rp_msg_t m;
        vmig_error_t e;
        int r = rp_read_hex(cuts[i], &m, &e);
        assert_true(r < 0);
        assert_int_not_equal(r, -EPROTO);
        assert_int_equal(e.code, 0);
    }
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_value),
        cmocka_unit_test(test_read_well_formed),
        cmocka_unit_test(test_read_malformed),
        cmocka_unit_test(test_read_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
