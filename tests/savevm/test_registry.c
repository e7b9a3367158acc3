/* test_registry.c — section ids follow registration order, the stream follows
 * priority then registration order, "any" instance ids count up per idstr. */
#include "savevm_test.h"

/* Setup hook writing one byte: the START sections show the list order. */
static int setup_one(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_u8(s, (uint8_t)(uintptr_t)opaque);
    return 0;
}

static const vmig_savevm_ops_t setup_ops = {.save_setup = setup_one};

static void test_section_ids_and_order(void **state)
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.send_section_footer = false; /* keep the expected bytes short */
    vmig_savevm_t *sv = svt_new(&cfg);

    assert_int_equal(vmig_savevm_register_handler(sv, "a", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                                  &setup_ops, (void *)0xa),
                     0);
    assert_int_equal(vmig_savevm_register_handler(sv, "b", 0, 1, VMIG_SAVEVM_PRI_PCI_BUS,
                                                  &setup_ops, (void *)0xb),
                     1);
    assert_int_equal(vmig_savevm_register_handler(sv, "c", 0, 1, VMIG_SAVEVM_PRI_DEFAULT,
                                                  &setup_ops, (void *)0xc),
                     2);
    assert_int_equal(vmig_savevm_register_handler(sv, "d", 0, 1, VMIG_SAVEVM_PRI_GICV3,
                                                  &setup_ops, (void *)0xd),
                     3);
    assert_int_equal(vmig_savevm_register_handler(sv, "e", 0, 1, VMIG_SAVEVM_PRI_PCI_BUS,
                                                  &setup_ops, (void *)0xe),
                     4);
    assert_int_equal(vmig_savevm_count(sv), 5);

    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_setup(sv, w), 0);
    /* d (GICV3), b and e (PCI_BUS, registration order), a and c (DEFAULT). */
    svt_assert_written(w, "01 00000003 01 64 00000000 00000001 0d"
                          "01 00000001 01 62 00000000 00000001 0b"
                          "01 00000004 01 65 00000000 00000001 0e"
                          "01 00000000 01 61 00000000 00000001 0a"
                          "01 00000002 01 63 00000000 00000001 0c");
    vmig_stream_free(w);

    /* Ids are never reused after an unregistration. */
    assert_int_equal(vmig_savevm_unregister(sv, 1), 0);
    assert_int_equal(vmig_savevm_unregister(sv, 1), -ENOENT);
    assert_int_equal(vmig_savevm_register_handler(sv, "f", 0, 1, 0, &setup_ops, NULL), 5);
    assert_int_equal(vmig_savevm_count(sv), 5);
    assert_int_equal(vmig_savevm_find(sv, "f", 0), 5);
    assert_int_equal(vmig_savevm_find(sv, "b", 0), -ENOENT);
    vmig_savevm_free(sv);
}

static void test_instance_any(void **state)
{
    vmig_savevm_t *sv = vmig_savevm_new();
    const uint32_t any = VMIG_SAVEVM_INSTANCE_ANY;
    assert_int_equal(vmig_savevm_register_handler(sv, "i8259", any, 1, 0, &setup_ops, NULL), 0);
    assert_int_equal(vmig_savevm_register_handler(sv, "i8259", any, 1, 0, &setup_ops, NULL), 1);
    assert_int_equal(vmig_savevm_register_handler(sv, "dma", 5, 1, 0, &setup_ops, NULL), 2);
    assert_int_equal(vmig_savevm_register_handler(sv, "dma", any, 1, 0, &setup_ops, NULL), 3);
    assert_int_equal(vmig_savevm_register_handler(sv, "i8259", any, 1, 0, &setup_ops, NULL), 4);
    assert_int_equal(vmig_savevm_find(sv, "i8259", 0), 0);
    assert_int_equal(vmig_savevm_find(sv, "i8259", 1), 1);
    assert_int_equal(vmig_savevm_find(sv, "i8259", 2), 4);
    /* 1 + the largest one, not the first free one. */
    assert_int_equal(vmig_savevm_find(sv, "dma", 6), 3);
    assert_int_equal(vmig_savevm_find(sv, "dma", 0), -ENOENT);
    vmig_savevm_free(sv);
}

static void test_bad_registrations(void **state)
{
    vmig_savevm_t *sv = vmig_savevm_new();
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(vmig_savevm_register_handler(sv, "ram", 0, 4, 0, &setup_ops, NULL), 0);
    /* Same idstr and instance twice. */
    assert_int_equal(vmig_savevm_register_handler(sv, "ram", 0, 4, 0, &setup_ops, NULL),
                     -EEXIST);
    assert_int_equal(vmig_savevm_register_handler(sv, "", 0, 1, 0, &setup_ops, NULL), -EINVAL);
    assert_int_equal(vmig_savevm_register_handler(sv, NULL, 0, 1, 0, &setup_ops, NULL),
                     -EINVAL);
    assert_int_equal(vmig_savevm_register_handler(sv, long_name, 0, 1, 0, &setup_ops, NULL),
                     -EINVAL);
    assert_int_equal(vmig_savevm_register_handler(sv, "\xff\xfe", 0, 1, 0, &setup_ops, NULL),
                     -EINVAL);
    assert_int_equal(vmig_savevm_register_handler(sv, "x", 0, 1, 0, NULL, NULL), -EINVAL);
    assert_int_equal(vmig_savevm_register_vmsd(sv, "x", 0, NULL, NULL), -EINVAL);
    /* 255 bytes is the most a u8-counted idstr holds. */
    long_name[255] = '\0';
    assert_int_equal(vmig_savevm_register_handler(sv, long_name, 0, 1, 0, &setup_ops, NULL), 1);
    /* The failures took no section id. */
    assert_int_equal(vmig_savevm_count(sv), 2);
    vmig_savevm_free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section_ids_and_order),
        cmocka_unit_test(test_instance_any),
        cmocka_unit_test(test_bad_registrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
