/* test_load_commands.c — commands on the loader (stream.md §8): unknown ones
 * and bad lengths are refused with QEMU's messages, the return path and PING
 * go through hooks, PACKAGED sub-streams load with the same loop. */
#include "savevm_test.h"

typedef struct hooks_state {
    int rp_opens;       /* open_return_path calls */
    uint32_t pongs[4];  /* values answered */
    int npongs;         /* how many */
    unsigned cmds[4];   /* commands handed to the command hook */
    size_t lens[4];     /* their lengths */
    int ncmds;          /* how many */
    int ram_loads;      /* sections loaded by ram */
} hooks_state_t;

static int open_rp(void *opaque)
{
    ((hooks_state_t *)opaque)->rp_opens++;
    return 0;
}

static int ping(void *opaque, uint32_t value)
{
    hooks_state_t *h = opaque;
    h->pongs[h->npongs++] = value;
    return 0;
}

static int command(void *opaque, vmig_stream_t *s, unsigned cmd, const uint8_t *data, size_t len)
{
    hooks_state_t *h = opaque;
    h->cmds[h->ncmds] = cmd;
    h->lens[h->ncmds++] = len;
    if (cmd == VMIG_CMD_POSTCOPY_RUN)
        return VMIG_SAVEVM_LOAD_QUIT;
    if (cmd == VMIG_CMD_ENABLE_COLO)
        return vmig_stream_set_error(s, -EPERM, "COLO is off");
    return 0;
}

static int ram_load(vmig_stream_t *s, void *opaque, uint32_t version_id, int type)
{
    ((hooks_state_t *)opaque)->ram_loads++;
    return vmig_stream_get_u8(s) == 0xaa ? 0 : -EINVAL;
}

static const vmig_savevm_ops_t ram_ops = {.load = ram_load};

typedef struct fixture {
    vmig_savevm_t *sv; /* with "ram" id 0 */
    hooks_state_t h;   /* what the hooks saw */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = svt_fixture_new(sizeof(*f));
    assert_int_equal(vmig_savevm_register_handler(f->sv, "ram", 0, 4, 0, &ram_ops, &f->h), 0);
    *state = f;
    return 0;
}

static void with_hooks(fixture_t *f)
{
    vmig_savevm_load_hooks_t hooks = {
        .opaque = &f->h, .open_return_path = open_rp, .ping = ping, .command = command,
    };
    vmig_savevm_set_load_hooks(f->sv, &hooks);
}

static void expect(fixture_t *f, const char *hex, int err, const char *msg)
{
    svt_expect_load(f->sv, hex, err, msg);
}

static void test_unknown_command(void **state)
{
    expect(*state, SVT_HDR "08 0000 0000 00", -EINVAL, "MIG_CMD 0x0 unknown (len 0x0)");
    expect(*state, SVT_HDR "08 000b 0003 000000 00", -EINVAL, "MIG_CMD 0xb unknown (len 0x3)");
    expect(*state, SVT_HDR "08 ffff 0000 00", -EINVAL, "MIG_CMD 0xffff unknown (len 0x0)");
}

static void test_bad_length(void **state)
{
    expect(*state, SVT_HDR "08 0002 0005 0000000100 00", -ERANGE,
           "PING received with bad length - expecting 4, got 5");
    expect(*state, SVT_HDR "08 0001 0001 00 00", -ERANGE,
           "OPEN_RETURN_PATH received with bad length - expecting 0, got 1");
    expect(*state, SVT_HDR "08 0007 0003 000000 00", -ERANGE,
           "PACKAGED received with bad length - expecting 4, got 3");
    expect(*state, SVT_HDR "08 0004 0001 00 00", -ERANGE,
           "POSTCOPY_LISTEN received with bad length - expecting 0, got 1");
    expect(*state, SVT_HDR "08 0003 0008 0000000000001000 00", -EINVAL,
           "CMD_POSTCOPY_ADVISE invalid length (8)");
}

static void test_return_path(void **state)
{
    fixture_t *f = *state;
    /* No hooks: a stream that cannot have a return path (a file). */
    expect(f, SVT_HDR "08 0001 0000 00", -ENOTSUP, "CMD_OPEN_RETURN_PATH failed");
    expect(f, SVT_HDR "08 0002 0004 00000001 00", -EINVAL,
           "CMD_PING (0x1) received with no return path");
    with_hooks(f);
    expect(f, SVT_HDR "08 0002 0004 00000001 00", -EINVAL,
           "CMD_PING (0x1) received with no return path");
    expect(f, SVT_HDR "08 0001 0000 08 0002 0004 00000001 08 0002 0004 000000ff 00", 0, "");
    assert_int_equal(f->h.rp_opens, 1);
    assert_int_equal(f->h.npongs, 2);
    assert_int_equal(f->h.pongs[0], 1);
    assert_int_equal(f->h.pongs[1], 0xff);
}

static void test_job_commands(void **state)
{
    fixture_t *f = *state;
    /* Postcopy and COLO are refused cleanly while nobody handles them. */
    expect(f, SVT_HDR "08 0003 0010 0000000000001000 0000000000001000 00", -ENOTSUP,
           "POSTCOPY_ADVISE received but not supported here");
    expect(f, SVT_HDR "08 0008 0000 00", -ENOTSUP, "ENABLE_COLO received but not supported here");
    with_hooks(f);
    /* ADVISE goes to the job with its data; RUN ends the loop. */
    expect(f, SVT_HDR "08 0003 0010 0000000000001000 0000000000001000 08 0005 0000", 1, "");
    assert_int_equal(f->h.ncmds, 2);
    assert_int_equal(f->h.cmds[0], VMIG_CMD_POSTCOPY_ADVISE);
    assert_int_equal(f->h.lens[0], 16);
    assert_int_equal(f->h.cmds[1], VMIG_CMD_POSTCOPY_RUN);
    expect(f, SVT_HDR "08 0008 0000 00", -EPERM, "ENABLE_COLO failed: COLO is off");
}

static void test_packaged(void **state)
{
    fixture_t *f = *state;
    with_hooks(f);
    /* A package: START ram, PING 3; then EOF on the main stream. */
    expect(f, SVT_HDR "08 0001 0000 08 0007 0004 00000020"
              "01 00000000 03 72616d 00000000 00000004 aa 7e 00000000"
              "08 0002 0004 00000003"
              "00",
           0, "");
    assert_int_equal(f->h.ram_loads, 1);
    assert_int_equal(f->h.pongs[0], 3);
    /* RUN inside the package ends both loops. */
    expect(f, SVT_HDR "08 0007 0004 00000005 08 0005 0000", 1, "");
    /* An empty package is fine. */
    expect(f, SVT_HDR "08 0007 0004 00000000 00", 0, "");
}

static void test_packaged_errors(void **state)
{
    fixture_t *f = *state;
    expect(f, SVT_HDR "08 0007 0004 01000001", -EINVAL, "Unreasonably large packaged state: 16777217");
    expect(f, SVT_HDR "08 0007 0004 00000001 09 00", -EINVAL,
           "in packaged state: Unknown savevm section type 9");
    expect(f, SVT_HDR "08 0007 0004 0000000a 08 0007 0004 00000001 00 00", -EINVAL,
           "in packaged state: Packaged state inside packaged state");
    /* The package is longer than what is left of the stream. */
    expect(f, SVT_HDR "08 0007 0004 00000010 0000", -EIO, "stream truncated at byte offset 28");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_bad_length, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_return_path, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_job_commands, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_packaged, setup, svt_fixture_free),
        cmocka_unit_test_setup_teardown(test_packaged_errors, setup, svt_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
