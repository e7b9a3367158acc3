/* test_job_devices.c — a device registered through the public vmstate API
 * travels with the migration: its FULL section reaches the destination's
 * struct (post_load last), and registration is refused while migrating. */
#include "job_test.h"

#include "vmig/vmstate.h"

/* A serial port as the demo VMM has it. */
typedef struct serial {
    uint64_t bytes_out; /* bytes the guest wrote */
    uint8_t last;       /* the last one */
    int loaded;         /* post_load calls (not migrated) */
} serial_t;

static int serial_post_load(void *opaque, int version_id)
{
    ((serial_t *)opaque)->loaded++;
    return 0;
}

static const vmig_vmsd_field_t serial_fields[] = {
    VMIG_VMSTATE_UINT64(bytes_out, serial_t),
    VMIG_VMSTATE_UINT8(last, serial_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t serial_vmsd = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = serial_post_load,
    .fields = serial_fields,
};

static bool src_active(void *arg)
{
    vmig_migration_status_t s = vmig_engine_migration_status(((job_vm_t *)arg)->e);
    return s == VMIG_MIGRATION_STATUS_ACTIVE || job_out_done(arg);
}

static void test_device_travels(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 4u << 20, true);
    job_vm_init(&dst, &loop, "dst", 4u << 20, false);
    serial_t s_src = { .bytes_out = 0x1122334455667788ull, .last = '#' }, s_dst = { 0 };
    assert_int_equal(vmig_engine_register_vmsd(src.e, "serial", 0, &serial_vmsd, &s_src), 0);
    assert_int_equal(vmig_engine_register_vmsd(dst.e, "serial", 0, &serial_vmsd, &s_dst), 0);
    assert_int_equal(vmig_engine_register_vmsd(dst.e, "serial", 0, &serial_vmsd, &s_dst), -EEXIST);
    assert_int_equal(vmig_engine_register_vmsd(dst.e, "", 0, &serial_vmsd, &s_dst), -EINVAL);

    /* 1 MiB/s keeps the source active long enough to try registering. */
    job_param(&src, "max-bandwidth", 1u << 20);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(src.e, job_listen_uri(&dst), &err), 0);
    job_run_until(&loop, src_active, &src, 30000);
    serial_t other = { 0 };
    assert_int_equal(vmig_engine_register_vmsd(src.e, "other", 0, &serial_vmsd, &other), -EBUSY);
    job_param(&src, "max-bandwidth", 0);

    job_run_until(&loop, job_out_done, &src, 60000);
    job_run_until(&loop, job_in_done, &dst, 60000);
    assert_int_equal(vmig_engine_incoming_status(dst.e), VMIG_MIGRATION_STATUS_COMPLETED);
    assert_int_equal(s_dst.bytes_out, s_src.bytes_out);
    assert_int_equal(s_dst.last, '#');
    assert_int_equal(s_dst.loaded, 1);
    job_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

/* A destination without the device refuses the section by name. */
static void test_device_unknown_on_destination(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    job_vm_t src, dst;
    job_vm_init(&src, &loop, "src", 1u << 20, true);
    job_vm_init(&dst, &loop, "dst", 1u << 20, false);
    serial_t s_src = { .bytes_out = 1 };
    assert_int_equal(vmig_engine_register_vmsd(src.e, "serial", 0, &serial_vmsd, &s_src), 0);
    vmig_error_t err = { 0 };
    assert_int_equal(vmig_engine_incoming(dst.e, "tcp:127.0.0.1:0", &err), 0);
    assert_int_equal(vmig_engine_migrate(src.e, job_listen_uri(&dst), &err), 0);
    job_run_until(&loop, job_in_done, &dst, 30000);
    job_run_until(&loop, job_out_done, &src, 30000);
    assert_int_equal(vmig_engine_incoming_status(dst.e), VMIG_MIGRATION_STATUS_FAILED);
    assert_non_null(strstr(vmig_engine_incoming_error(dst.e), "Unknown savevm section or instance 'serial'"));
    job_vm_close(&src, &loop);
    job_vm_close(&dst, &loop);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(JOB_TEST_TIMEOUT_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_travels),
        cmocka_unit_test(test_device_unknown_on_destination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
