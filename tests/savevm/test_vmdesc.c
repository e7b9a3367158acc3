/* test_vmdesc.c — the vmdesc trailer of a `-M none`-like machine is QEMU's
 * JSON text exactly, FULL sections only, after EOF (stream.md §7, §9.4). */
#include "savevm_test.h"

/* QEMU's timers_state as migrated: version 2. */
typedef struct timers {
    int64_t cpu_ticks_offset; /* guest ticks offset */
    int64_t cpu_clock_offset; /* guest clock offset (since v2) */
} timers_t;

static const vmig_vmsd_field_t timer_fields[] = {
    VMIG_VMSTATE_INT64(cpu_ticks_offset, timers_t),
    VMIG_VMSTATE_UNUSED(8),
    VMIG_VMSTATE_INT64_V(cpu_clock_offset, timers_t, 2),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t timer_vmsd = {
    .name = "timer", .version_id = 2, .minimum_version_id = 1, .fields = timer_fields,
};

/* QEMU's globalstate: the run state name in a 100-byte buffer. */
typedef struct globalstate {
    uint32_t size;         /* strlen(runstate) + 1 */
    uint8_t runstate[100]; /* NUL-padded name */
} globalstate_t;

static const vmig_vmsd_field_t gs_fields[] = {
    VMIG_VMSTATE_UINT32(size, globalstate_t),
    VMIG_VMSTATE_BUFFER(runstate, globalstate_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t gs_vmsd = {
    .name = "globalstate", .version_id = 1, .minimum_version_id = 1, .fields = gs_fields,
};

/* A device whose top-level needed() says no: no section, no description. */
static bool never(void *opaque)
{
    return false;
}
static const vmig_vmsd_field_t quiet_fields[] = {
    VMIG_VMSTATE_UINT32(size, globalstate_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t quiet_vmsd = {
    .name = "quiet", .version_id = 1, .needed = never, .fields = quiet_fields,
};

static int ram_setup(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_be64(s, 0x10); /* RAM_SAVE_FLAG_EOS */
    return 0;
}

static const vmig_savevm_ops_t ram_ops = {.save_setup = ram_setup, .save_complete = ram_setup};
static const vmig_savevm_ops_t nothing_ops = {0};

static const char expected_json[] =
    "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", \"instance_id\": 0, "
    "\"vmsd_name\": \"timer\", \"version\": 2, \"fields\": [{\"name\": \"cpu_ticks_offset\", "
    "\"type\": \"int64\", \"size\": 8}, {\"name\": \"unused\", \"type\": \"unused_buffer\", "
    "\"size\": 8}, {\"name\": \"cpu_clock_offset\", \"type\": \"int64\", \"size\": 8}]}, "
    "{\"name\": \"globalstate\", \"instance_id\": 0, \"vmsd_name\": \"globalstate\", "
    "\"version\": 1, \"fields\": [{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}]}";

static void test_machine_none_vmdesc(void **state)
{
    timers_t timers = {.cpu_ticks_offset = 0x0102030405060708, .cpu_clock_offset = -1};
    globalstate_t gs = {.size = 10};
    memcpy(gs.runstate, "prelaunch", 10);

    vmig_savevm_t *sv = vmig_savevm_new();
    /* Section ids as -M none has them: timer 0, ram 2, globalstate 4. */
    assert_int_equal(vmig_savevm_register_vmsd(sv, "timer", 0, &timer_vmsd, &timers), 0);
    assert_int_equal(vmig_savevm_register_handler(sv, "p1", 0, 1, 0, &nothing_ops, NULL), 1);
    assert_int_equal(vmig_savevm_register_handler(sv, "ram", 0, 4, 0, &ram_ops, NULL), 2);
    assert_int_equal(vmig_savevm_register_vmsd(sv, "quiet", 0, &quiet_vmsd, &gs), 3);
    assert_int_equal(vmig_savevm_register_vmsd(sv, "globalstate", 0, &gs_vmsd, &gs), 4);

    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_complete_precopy(sv, w), 0);
    size_t len;
    uint8_t *b = vt_written_copy(w, &len);
    vmig_stream_free(w);

    char hex[4096];
    int n = snprintf(hex, sizeof(hex), "%s",
                     /* END ram */
                     "03 00000002 0000000000000010 7e 00000002"
                     /* FULL timer v2: two int64 around 8 unused bytes */
                     "04 00000000 05 74696d6572 00000000 00000002"
                     "0102030405060708 0000000000000000 ffffffffffffffff 7e 00000000"
                     /* FULL globalstate v1 (spec §9.4) */
                     "04 00000004 0b 676c6f62616c7374617465 00000000 00000001"
                     "0000000a 7072656c61756e636800");
    for (int i = 0; i < 90; i++)
        n += snprintf(hex + n, sizeof(hex) - (size_t)n, "00");
    n += snprintf(hex + n, sizeof(hex) - (size_t)n, "7e 00000004 00");
    svt_hex_vmdesc(hex, sizeof(hex), n, expected_json);
    vt_assert_hex(b, len, hex);

    /* The text itself, for a readable failure. */
    size_t json_at = len - strlen(expected_json);
    char *json = strndup((const char *)b + json_at, strlen(expected_json));
    assert_string_equal(json, expected_json);
    free(json);
    free(b);
    vmig_savevm_free(sv);
}

static void test_vmdesc_text(void **state)
{
    /* Non-ASCII is escaped as \uXXXX (upper case, like QEMU), "/" is not;
     * keys keep insertion order. */
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.target_page_bits = 16;
    vmig_savevm_t *sv = svt_new(&cfg);
    json_t *devices = json_array();
    json_array_append_new(devices, json_pack("{s:s}", "name", "d\xc3\xa9v/\"x\""));
    json_t *vmdesc = vmig_savevm_vmdesc_new(sv, devices);
    json_decref(devices);
    char *text = vmig_savevm_vmdesc_text(vmdesc);
    assert_string_equal(text, "{\"page_size\": 65536, \"devices\": [{\"name\": \"d\\u00E9v/\\\"x\\\"\"}]}");
    free(text);
    json_decref(vmdesc);
    vmig_savevm_free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machine_none_vmdesc),
        cmocka_unit_test(test_vmdesc_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
