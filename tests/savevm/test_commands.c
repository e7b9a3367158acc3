/* test_commands.c — the bytes of in-band commands (stream.md §8). */
#include "savevm_test.h"

static void check(int (*send)(vmig_stream_t *), const char *hex)
{
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(send(w), 0);
    svt_assert_written(w, hex);
    vmig_stream_free(w);
}

static int send_ping1(vmig_stream_t *s)
{
    return vmig_savevm_send_ping(s, 1);
}

static int send_advise(vmig_stream_t *s)
{
    static const uint8_t data[16] = {0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0};
    return vmig_savevm_send_command(s, VMIG_CMD_POSTCOPY_ADVISE, data, sizeof(data));
}

static int send_packaged(vmig_stream_t *s)
{
    return vmig_savevm_send_packaged(s, "\x08\x00\x05\x00\x00", 5);
}

static void test_open_return_path(void **state)
{
    check(vmig_savevm_send_open_return_path, "08 0001 0000");
}

static void test_ping(void **state)
{
    check(send_ping1, "08 0002 0004 00000001");
}

static void test_advise(void **state)
{
    check(send_advise, "08 0003 0010 0000000000001000 0000000000001000");
}

static void test_packaged(void **state)
{
    /* The length is the command's data; the package follows it. */
    check(send_packaged, "08 0007 0004 00000005 08 0005 0000");
}

static void test_too_big(void **state)
{
    vmig_stream_t *w = vt_mem_writer();
    static const uint8_t one = 0;
    assert_int_equal(vmig_savevm_send_packaged(w, &one, VMIG_CMD_PACKAGED_MAX + 1u),
                     -EMSGSIZE);
    assert_string_equal(vmig_stream_error_msg(w), "Unreasonably large packaged state: 16777217");
    vmig_stream_free(w);
    w = vt_mem_writer();
    assert_int_equal(vmig_savevm_send_command(w, 1, &one, 70000), -EINVAL);
    vmig_stream_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_return_path),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_advise),
        cmocka_unit_test(test_packaged),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
