/* test_truncation.c — a valid stream cut at every length is rejected with
 * -EIO naming the offset where it ended, except a cut inside (or before) the
 * vmdesc trailer, which loads fine (stream.md §10). */
#include "savevm_test.h"

typedef struct timers timers_t;
struct timers {
    int64_t ticks;  /* an int64 */
    uint32_t size;  /* a uint32 */
    uint8_t buf[6]; /* a buffer, in the subsection */
};

typedef struct dev {
    int rounds;      /* iterate rounds left (source) */
    timers_t timers; /* the vmstate device's state */
} src_state_t;

static int setup4(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_be32(s, 0x01020304);
    return 0;
}

static int iter8(vmig_stream_t *s, void *opaque)
{
    src_state_t *d = opaque;
    vmig_stream_put_be64(s, 0x1112131415161718ull);
    return --d->rounds <= 0 ? 1 : 0;
}

static int end2(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_be16(s, 0xeeee);
    return 0;
}

static int state3(vmig_stream_t *s, void *opaque)
{
    vmig_stream_put_buffer(s, "abc", 3);
    return 0;
}

/* Reads back exactly what the hooks above write, and checks it. */
static int load_any(vmig_stream_t *s, void *opaque, uint32_t version_id, int type)
{
    uint8_t buf[8];
    size_t n = type == VMIG_VM_SECTION_START ? 4 : type == VMIG_VM_SECTION_PART ? 8
             : type == VMIG_VM_SECTION_END   ? 2 : 3;
    int r = vmig_stream_get_buffer(s, buf, n);
    if (r < 0)
        return r;
    static const uint8_t want_start[] = {1, 2, 3, 4};
    static const uint8_t want_part[] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    static const uint8_t want_end[] = {0xee, 0xee};
    const void *want = type == VMIG_VM_SECTION_START ? (const void *)want_start
                     : type == VMIG_VM_SECTION_PART  ? (const void *)want_part
                     : type == VMIG_VM_SECTION_END   ? (const void *)want_end : (const void *)"abc";
    return memcmp(buf, want, n) == 0 ? 0 : -EINVAL;
}

static const vmig_savevm_ops_t ram_ops = {
    .save_setup = setup4, .save_iterate = iter8, .save_complete = end2, .load = load_any,
};
static const vmig_savevm_ops_t legacy_ops = {.save_state = state3, .load = load_any};

/* A vmstate device with a subsection, so cuts land inside vmstate bodies. */
static bool always(void *opaque)
{
    return true;
}

static const vmig_vmsd_field_t sub_fields[] = {
    VMIG_VMSTATE_BUFFER(buf, timers_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t sub_vmsd = {
    .name = "timer/sub", .version_id = 1, .minimum_version_id = 1, .needed = always,
    .fields = sub_fields,
};
static const vmig_vmsd_t *const subs[] = {&sub_vmsd, NULL};
static const vmig_vmsd_field_t timer_fields[] = {
    VMIG_VMSTATE_INT64(ticks, timers_t),
    VMIG_VMSTATE_UINT32(size, timers_t),
    VMIG_VMSTATE_END_OF_LIST(),
};
static const vmig_vmsd_t timer_vmsd = {
    .name = "timer", .version_id = 1, .minimum_version_id = 1, .fields = timer_fields,
    .subsections = subs,
};

static vmig_savevm_t *make(src_state_t *d)
{
    /* A configuration subsection, so cuts land inside one too. */
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    cfg.x_ignore_shared = true;
    vmig_savevm_t *sv = svt_new(&cfg);
    assert_int_equal(vmig_savevm_register_handler(sv, "ram", 0, 4, 0, &ram_ops, d), 0);
    assert_int_equal(vmig_savevm_register_handler(sv, "slirp", 0, 1, 0, &legacy_ops, d), 1);
    assert_int_equal(vmig_savevm_register_handler(sv, "slirp", 1, 1, 0, &legacy_ops, d), 2);
    assert_int_equal(vmig_savevm_register_vmsd(sv, "timer", 0, &timer_vmsd, &d->timers), 3);
    return sv;
}

static int open_rp(void *opaque)
{
    return 0;
}

/* Save a stream (with OPEN_RETURN_PATH if rp), then load every prefix of it:
 * each cut before the EOF byte is -EIO naming the cut, each later one loads. */
static void every_prefix(bool rp)
{
    src_state_t d = {.rounds = 3, .timers = {.ticks = -5, .size = 6, .buf = "abcde"}};
    vmig_savevm_t *sv = make(&d);
    vmig_stream_t *w = vt_mem_writer();
    assert_int_equal(vmig_savevm_write_header(sv, w), 0);
    if (rp)
        assert_int_equal(vmig_savevm_send_open_return_path(w), 0);
    assert_int_equal(vmig_savevm_setup(sv, w), 0);
    while (vmig_savevm_iterate(sv, w, false) == 0)
        ;
    assert_int_equal(vmig_savevm_complete_precopy(sv, w), 0);
    size_t len;
    uint8_t *bytes = vt_written_copy(w, &len);
    vmig_stream_free(w);

    vmig_savevm_load_hooks_t hooks = {.open_return_path = open_rp};
    vmig_savevm_set_load_hooks(sv, &hooks);
    size_t ok = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        vmig_stream_t *r = vt_mem_reader(bytes, cut);
        int rc = vmig_savevm_load(sv, r);
        char want[64];
        snprintf(want, sizeof(want), "stream truncated at byte offset %zu", cut);
        if (rc == 0) {
            ok++;
        } else {
            if (rc != -EIO || !strstr(vmig_stream_error_msg(r), want))
                fail_msg("cut %zu of %zu: %d '%s'", cut, len, rc, vmig_stream_error_msg(r));
            /* Once a cut loads, every longer one must too. */
            assert_int_equal(ok, 0);
        }
        vmig_stream_free(r);
    }
    /* What loads: the cut right after EOF and every cut in the trailer. */
    size_t eof_at = len - ok;
    assert_int_equal(bytes[eof_at], VMIG_VM_EOF);
    assert_int_equal(bytes[eof_at + 1], VMIG_VM_VMDESCRIPTION);
    size_t json_len = (size_t)bytes[eof_at + 2] << 24 | (size_t)bytes[eof_at + 3] << 16 |
                      (size_t)bytes[eof_at + 4] << 8 | bytes[eof_at + 5];
    assert_int_equal(ok, json_len + 5 + 1);
    assert_int_equal(bytes[eof_at + 6], '{');
    free(bytes);
    vmig_savevm_free(sv);
}

static void test_every_prefix(void **state)
{
    every_prefix(false);
}

static void test_every_prefix_with_return_path(void **state)
{
    every_prefix(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_every_prefix_with_return_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
