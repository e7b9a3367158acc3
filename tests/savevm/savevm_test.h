/* savevm_test.h — what the savevm tests share beyond vmig_test.h: registries
 * and fixtures, checking what a writer holds against hex text, and loading
 * hex text with a registry. */
#ifndef SAVEVM_TEST_H
#define SAVEVM_TEST_H

#include "vmig_test.h"

#include "savevm/savevm.h"

/* The header and configuration of a `-M none` stream, in hex. */
#define SVT_HDR "5145564d 00000003 07 00000004 6e6f6e65 "

/* A new registry; cfg, if not NULL, becomes its configuration. */
static inline vmig_savevm_t *svt_new(const vmig_savevm_config_t *cfg)
{
    vmig_savevm_t *sv = vmig_savevm_new();
    assert_non_null(sv);
    if (cfg)
        assert_int_equal(vmig_savevm_set_config(sv, cfg), 0);
    return sv;
}

/* A test fixture: a struct of `size` bytes whose first member is
 * `vmig_savevm_t *sv`, zeroed, with a new registry in sv. */
static inline void *svt_fixture_new(size_t size)
{
    vmig_savevm_t **f = calloc(1, size);
    assert_non_null(f);
    *f = svt_new(NULL);
    return f;
}

/* cmocka teardown of a svt_fixture_new() fixture. */
static inline int svt_fixture_free(void **state)
{
    vmig_savevm_t **f = *state;
    vmig_savevm_free(*f);
    free(f);
    return 0;
}

/* Assert that what the vt_mem_writer() w holds is the bytes the hex spells. */
static inline void svt_assert_written(vmig_stream_t *w, const char *hex)
{
    size_t len;
    const uint8_t *b = vt_written(w, &len);
    vt_assert_hex(b, len, hex);
}

/* Append to hex (cap bytes, n of them used) a vmdesc trailer carrying json:
 * 06, its be32 length, its bytes. */
static inline void svt_hex_vmdesc(char *hex, size_t cap, int n, const char *json)
{
    n += snprintf(hex + n, cap - (size_t)n, " 06 %08zx ", strlen(json));
    for (const char *p = json; *p; p++)
        n += snprintf(hex + n, cap - (size_t)n, "%02x", (unsigned char)*p);
}

/* Load hex bytes with sv: the stream's message must be msg, the result err. */
static inline void svt_expect_load(vmig_savevm_t *sv, const char *hex, int err, const char *msg)
{
    uint8_t *buf = malloc(8192);
    assert_non_null(buf);
    size_t len = vt_hex(hex, buf, 8192);
    vmig_stream_t *s = vt_mem_reader(buf, len);
    free(buf);
    int r = vmig_savevm_load(sv, s);
    char got[VMIG_ERROR_MSG_MAX];
    snprintf(got, sizeof(got), "%s", vmig_stream_error_msg(s));
    vmig_stream_free(s);
    assert_string_equal(got, msg);
    assert_int_equal(r, err);
}

#endif
