/* vmstate_test.h — what the vmstate tests share beyond vmig_test.h: saving a
 * vmsd into bytes (bare or framed as a FULL section), loading it from bytes,
 * and the text of a JSON value. */
#ifndef VMSTATE_TEST_H
#define VMSTATE_TEST_H

#include "vmig_test.h"

#include "vmstate/vmstate.h"

/* Bytes written by a test; free with free(). */
typedef struct {
    uint8_t *data; /* malloc()ed copy of the stream */
    size_t len;    /* its length */
} test_bytes_t;

/* Save vmsd/opaque (optionally describing it into desc); assert it worked. */
static inline test_bytes_t test_save(const vmig_vmsd_t *vmsd, void *opaque, json_t *desc)
{
    vmig_stream_t *s = vt_mem_writer();
    int r = vmig_vmstate_save(s, vmsd, opaque, desc);
    if (r != 0)
        fprintf(stderr, "save failed: %d %s\n", r, vmig_stream_error_msg(s));
    assert_int_equal(r, 0);
    test_bytes_t b;
    b.data = vt_written_copy(s, &b.len);
    vmig_stream_free(s);
    return b;
}

/* Load bytes into opaque at version_id; returns the result, and copies the
 * stream's message into msg (if not NULL) and its final offset into *end. */
static inline int test_load(const vmig_vmsd_t *vmsd, void *opaque, int version_id,
                            const void *buf, size_t len, char msg[VMIG_ERROR_MSG_MAX],
                            uint64_t *end)
{
    vmig_stream_t *s = vt_mem_reader(buf, len);
    int r = vmig_vmstate_load(s, vmsd, opaque, version_id);
    if (msg)
        snprintf(msg, VMIG_ERROR_MSG_MAX, "%s", vmig_stream_error_msg(s));
    if (end)
        *end = vmig_stream_tell(s);
    if (r == 0)
        assert_int_equal(vmig_stream_error(s), 0);
    else
        assert_int_equal(vmig_stream_error(s), r); /* the kept error is the result */
    vmig_stream_free(s);
    return r;
}

/* A FULL section with instance 0 around vmsd/opaque, framed by hand as
 * savevm would: 04, be32 id, idstr, be32 instance, be32 version, the body,
 * then the footer 7e, be32 id. */
static inline test_bytes_t test_full_section(uint32_t id, const char *idstr,
                                             const vmig_vmsd_t *vmsd, void *opaque,
                                             json_t *desc)
{
    vmig_stream_t *s = vt_mem_writer();
    vmig_stream_put_u8(s, 0x04);
    vmig_stream_put_be32(s, id);
    vmig_stream_put_counted_string(s, idstr);
    vmig_stream_put_be32(s, 0);
    vmig_stream_put_be32(s, (uint32_t)vmsd->version_id);
    assert_int_equal(vmig_vmstate_save(s, vmsd, opaque, desc), 0);
    vmig_stream_put_u8(s, 0x7e);
    vmig_stream_put_be32(s, id);
    test_bytes_t b;
    b.data = vt_written_copy(s, &b.len);
    vmig_stream_free(s);
    return b;
}

/* The compact text of a JSON value ("," and ":" spaced as QEMU writes). */
static inline char *test_json_text(const json_t *j)
{
    char *t = json_dumps(j, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(t);
    return t;
}
#endif
