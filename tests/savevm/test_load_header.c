/* test_load_header.c — the loader's header and configuration checks, with
 * QEMU's messages (stream.md §3). */
#include "savevm_test.h"

#define NONE_CFG "07 00000004 6e6f6e65"
#define CAPS_SUB "05 1a 636f6e66696775726174696f6e2f6361706162696c6974696573 00000001"

static void expect(vmig_savevm_t *sv, const char *hex, int err, const char *msg)
{
    svt_expect_load(sv, hex, err, msg);
}

static vmig_savevm_t *with_config(void (*edit)(vmig_savevm_config_t *))
{
    vmig_savevm_config_t cfg;
    vmig_savevm_config_init(&cfg);
    if (edit)
        edit(&cfg);
    return svt_new(&cfg);
}

static void test_magic_and_version(void **state)
{
    vmig_savevm_t *sv = with_config(NULL);
    expect(sv, "5145564e 00000003 " NONE_CFG " 00", -EINVAL, "Not a migration stream");
    expect(sv, "5145564d 00000002 " NONE_CFG " 00", -ENOTSUP,
           "SaveVM v2 format is obsolete and don't work anymore");
    expect(sv, "5145564d 00000004 " NONE_CFG " 00", -ENOTSUP,
           "Unsupported migration stream version");
    expect(sv, "5145564d 00000003 " NONE_CFG " 00", 0, "");
    vmig_savevm_free(sv);
}

static void test_configuration_missing(void **state)
{
    vmig_savevm_t *sv = with_config(NULL);
    expect(sv, "5145564d 00000003 00", -EINVAL, "Configuration section missing");
    vmig_savevm_free(sv);
}

static void pc(vmig_savevm_config_t *cfg)
{
    cfg->machine = "pc-i440fx-7.2";
}

static void test_wrong_machine(void **state)
{
    vmig_savevm_t *sv = with_config(pc);
    expect(sv, "5145564d 00000003 " NONE_CFG " 00", -EINVAL,
           "Machine type received is 'none' and local is 'pc-i440fx-7.2'");
    /* A prefix of the local name is not the same machine either. */
    expect(sv, "5145564d 00000003 07 00000002 7063 00", -EINVAL,
           "Machine type received is 'pc' and local is 'pc-i440fx-7.2'");
    /* An absurd length is refused before anything is read for it. */
    expect(sv, "5145564d 00000003 07 ffffffff", -EINVAL,
           "Machine type received is 4294967295 bytes long and local is 'pc-i440fx-7.2'");
    vmig_savevm_free(sv);
}

static void ignore_shared(vmig_savevm_config_t *cfg)
{
    cfg->x_ignore_shared = true;
}

static void test_capabilities(void **state)
{
    vmig_savevm_t *plain = with_config(NULL);
    vmig_savevm_t *shared = with_config(ignore_shared);
    const char *with_cap =
        "5145564d 00000003 " NONE_CFG " " CAPS_SUB " 00000001 0f 782d69676e6f72652d736861726564 00";
    expect(shared, with_cap, 0, "");
    expect(plain, with_cap, -EINVAL, "Capability x-ignore-shared is off, but received capability is on");
    expect(shared, "5145564d 00000003 " NONE_CFG " 00", -EINVAL,
           "Capability x-ignore-shared is on, but received capability is off");
    /* A known capability that is not validated is accepted and ignored. */
    expect(plain, "5145564d 00000003 " NONE_CFG " " CAPS_SUB " 00000001 06 78627a726c65 00", 0,
           "");
    expect(plain, "5145564d 00000003 " NONE_CFG " " CAPS_SUB " 00000001 03 666f6f 00", -EINVAL,
           "Received unknown capability foo");
    expect(plain, "5145564d 00000003 " NONE_CFG " " CAPS_SUB " 7fffffff", -EINVAL,
           "Received 2147483647 capabilities, at most 64 expected");
    /* Subsection versions: only v1 exists. */
    expect(plain,
           "5145564d 00000003 " NONE_CFG
           " 05 1a 636f6e66696775726174696f6e2f6361706162696c6974696573 00000002 00000000 00",
           -EINVAL, "configuration/capabilities: incoming version_id 2 is too new for local version_id 1");
    vmig_savevm_free(plain);
    vmig_savevm_free(shared);
}

static void test_page_bits(void **state)
{
    vmig_savevm_t *sv = with_config(NULL);
    expect(sv,
           "5145564d 00000003 " NONE_CFG
           " 05 1e 636f6e66696775726174696f6e2f7461726765742d706167652d62697473 00000001 0000000d"
           " 00",
           -EINVAL, "Received TARGET_PAGE_BITS is 13 but local is 12");
    vmig_savevm_free(sv);
}

static void uuid(vmig_savevm_config_t *cfg)
{
    cfg->uuid_set = true;
    memset(cfg->uuid, 0x11, sizeof(cfg->uuid));
}

static void test_uuid(void **state)
{
    vmig_savevm_t *sv = with_config(uuid);
    const char *prefix = "5145564d 00000003 " NONE_CFG " 05 12 636f6e66696775726174696f6e2f75756964 00000001 ";
    char hex[512];
    snprintf(hex, sizeof(hex), "%s 11111111111111111111111111111111 00", prefix);
    expect(sv, hex, 0, "");
    snprintf(hex, sizeof(hex), "%s 22222222222222222222222222222222 00", prefix);
    expect(sv, hex, -EINVAL,
           "UUID received is 22222222-2222-2222-2222-222222222222 and local is "
           "11111111-1111-1111-1111-111111111111");
    vmig_savevm_free(sv);
}

static void test_unknown_subsection(void **state)
{
    vmig_savevm_t *sv = with_config(NULL);
    /* "configuration/x" */
    expect(sv, "5145564d 00000003 " NONE_CFG " 05 0f 636f6e66696775726174696f6e2f78 00000001 00",
           -ENOENT, "configuration: unknown subsection 'configuration/x'");
    /* A 05 not followed by a configuration name is not a subsection: it is
     * the next section type, and an unknown one. */
    expect(sv, "5145564d 00000003 " NONE_CFG " 05 03 616263", -EINVAL,
           "Unknown savevm section type 5");
    vmig_savevm_free(sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic_and_version),
        cmocka_unit_test(test_configuration_missing),
        cmocka_unit_test(test_wrong_machine),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_page_bits),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_unknown_subsection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
