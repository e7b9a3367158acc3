/* test_real_examples.c — the real QEMU 7.2 sections pckbd (§9.2) and
 * globalstate (§9.4, the engine's own definition) byte for byte, with their vmdesc descriptions. */
#include "vmstate_test.h"

#include "migration/mig_internal.h"

/* ---- pckbd ------------------------------------------------------------------------- */

typedef struct {
    uint8_t write_cmd;
    uint8_t status;
    uint8_t mode;
    uint8_t pending;
    uint32_t migration_flags;
    uint32_t obsrc;
    uint8_t obdata;
    uint8_t cbdata;
    bool extended_state;
} kbd_t;

static bool kbd_extended_needed(void *opaque)
{
    return ((kbd_t *)opaque)->extended_state;
}

static const vmig_vmsd_field_t kbd_ext_fields[] = {
    VMIG_VMSTATE_UINT32(migration_flags, kbd_t),
    VMIG_VMSTATE_UINT32(obsrc, kbd_t),
    VMIG_VMSTATE_UINT8(obdata, kbd_t),
    VMIG_VMSTATE_UINT8(cbdata, kbd_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t kbd_ext_vmsd = {
    .name = "pckbd/extended_state",
    .version_id = 0,
    .needed = kbd_extended_needed,
    .fields = kbd_ext_fields,
};

static const vmig_vmsd_field_t kbd_fields[] = {
    VMIG_VMSTATE_UINT8(write_cmd, kbd_t),
    VMIG_VMSTATE_UINT8(status, kbd_t),
    VMIG_VMSTATE_UINT8(mode, kbd_t),
    VMIG_VMSTATE_UINT8(pending, kbd_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

static const vmig_vmsd_t *const kbd_subs[] = {&kbd_ext_vmsd, NULL};

static const vmig_vmsd_t kbd_vmsd = {
    .name = "pckbd",
    .version_id = 3,
    .minimum_version_id = 3,
    .fields = kbd_fields,
    .subsections = kbd_subs,
};

static const uint8_t pckbd_section[] = {
    0x04, 0x00, 0x00, 0x00, 0x19, 0x05, 'p', 'c', 'k', 'b', 'd',
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x00, 0x18, 0x03, 0x00,
    0x05, 0x14, 'p', 'c', 'k', 'b', 'd', '/', 'e', 'x', 't', 'e', 'n', 'd', 'e', 'd', '_',
    's', 't', 'a', 't', 'e', 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x7e, 0x00, 0x00, 0x00, 0x19,
};

/* ---- globalstate: the engine's own definition (src/migration/mig_devices.c) ---- */

/* ---- whole FULL sections, framed by hand (savevm's job) -------------------------------- */

static void test_pckbd(void **state)
{
    kbd_t k = {.status = 0x18, .mode = 0x03, .extended_state = true};
    json_t *desc = json_object();
    test_bytes_t b = test_full_section(0x19, "pckbd", &kbd_vmsd, &k, desc);
    vt_assert_bytes(b.data, b.len, pckbd_section, sizeof(pckbd_section));
    char *text = test_json_text(desc);
    assert_string_equal(text,
        "{\"vmsd_name\": \"pckbd\", \"version\": 3, \"fields\": ["
        "{\"name\": \"write_cmd\", \"type\": \"uint8\", \"size\": 1}, "
        "{\"name\": \"status\", \"type\": \"uint8\", \"size\": 1}, "
        "{\"name\": \"mode\", \"type\": \"uint8\", \"size\": 1}, "
        "{\"name\": \"pending\", \"type\": \"uint8\", \"size\": 1}], "
        "\"subsections\": [{\"vmsd_name\": \"pckbd/extended_state\", \"version\": 0, "
        "\"fields\": [{\"name\": \"migration_flags\", \"type\": \"uint32\", \"size\": 4}, "
        "{\"name\": \"obsrc\", \"type\": \"uint32\", \"size\": 4}, "
        "{\"name\": \"obdata\", \"type\": \"uint8\", \"size\": 1}, "
        "{\"name\": \"cbdata\", \"type\": \"uint8\", \"size\": 1}]}]}");
    free(text);
    json_decref(desc);

    /* The body loads back at the section's version 3 (subsection version 0). */
    kbd_t l = {.obdata = 0x55};
    enum { HDR = 19, FOOTER = 5 };
    uint64_t end;
    assert_int_equal(test_load(&kbd_vmsd, &l, 3, b.data + HDR, b.len - HDR - FOOTER, NULL, &end),
                     0);
    assert_int_equal(end, b.len - HDR - FOOTER);
    assert_int_equal(l.status, 0x18);
    assert_int_equal(l.mode, 0x03);
    assert_int_equal(l.obdata, 0);
    free(b.data);
}

static void test_globalstate(void **state)
{
    mig_globalstate_t g = {.size = 0};
    strcpy((char *)g.runstate, "prelaunch");
    json_t *desc = json_object();
    test_bytes_t b = test_full_section(4, "globalstate", &mig_globalstate_vmsd, &g, desc);
    /* 25-byte header, be32 size 10, "prelaunch" zero-padded to 100, footer. */
    uint8_t full[25 + 4 + 100 + 5] = {
        0x04, 0x00, 0x00, 0x00, 0x04, 0x0b, 'g', 'l', 'o', 'b', 'a', 'l', 's', 't', 'a', 't',
        'e', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x0a, 'p', 'r', 'e', 'l', 'a', 'u', 'n', 'c', 'h',
    };
    memcpy(full + sizeof(full) - 5, "\x7e\x00\x00\x00\x04", 5);
    vt_assert_bytes(b.data, b.len, full, sizeof(full));
    char *text = test_json_text(desc);
    assert_string_equal(text,
        "{\"vmsd_name\": \"globalstate\", \"version\": 1, \"fields\": ["
        "{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, "
        "{\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}");
    free(text);
    json_decref(desc);

    mig_globalstate_t l = {0};
    assert_int_equal(test_load(&mig_globalstate_vmsd, &l, 1, full + 25, 104, NULL, NULL), 0);
    assert_int_equal(l.size, 10);
    assert_string_equal((char *)l.runstate, "prelaunch");

    /* A size that does not match the buffer is refused by post_load. */
    full[25 + 3] = 0x03;
    char msg[VMIG_ERROR_MSG_MAX];
    assert_int_equal(test_load(&mig_globalstate_vmsd, &l, 1, full + 25, 104, msg, NULL), -EINVAL);
    assert_string_equal(msg, "globalstate: post_load failed");
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pckbd),
        cmocka_unit_test(test_globalstate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
