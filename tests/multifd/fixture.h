/* fixture.h — the committed QEMU 7.2 multifd captures
 * (tests/multifd/fixtures/qemu-7.2/, record-qemu-multifd-fixtures.py), found
 * from this header's own path, for test_wire.c and test_codec.c. */
#ifndef MULTIFD_FIXTURE_H
#define MULTIFD_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The path of rel inside the captures' directory (malloc'd). */
static inline char *fx_path(const char *rel)
{
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;
    char *p = malloc(4096);
    assert_non_null(p);
    snprintf(p, 4096, "%.*s/fixtures/qemu-7.2/%s", dirlen, slash ? __FILE__ : ".", rel);
    return p;
}

/* The whole capture file rel (malloc'd, *len its size), or NULL when it
 * does not exist: the caller fails (the captures are part of the tree). */
static inline uint8_t *fx_load(const char *rel, size_t *len)
{
    char *path = fx_path(rel);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f)
        return NULL;
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *p = malloc(n ? (size_t)n : 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

#endif
