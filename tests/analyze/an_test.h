/* an_test.h — what the analyzer tests share beyond vmig_test.h: a byte
 * builder for hand-made streams, an in-memory RAM sink, and one call that
 * analyzes a buffer. */
#ifndef VMIG_AN_TEST_H
#define VMIG_AN_TEST_H

#include "vmig_test.h"

#include "analyze/analyze.h"
#include "ram/ram_wire.h"
#include "savevm/savevm_wire.h"

/* The target page size of the hand-made streams. */
#define PS 4096u

/* A growing byte buffer. */
typedef struct bb {
    uint8_t *p;  /* bytes */
    size_t len;  /* used */
    size_t cap;  /* allocated */
} bb_t;

static inline void bb_bytes(bb_t *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static inline void bb_u8(bb_t *b, uint8_t v)
{
    bb_bytes(b, &v, 1);
}

static inline void bb_be16(bb_t *b, uint16_t v)
{
    uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    bb_bytes(b, d, 2);
}

static inline void bb_be32(bb_t *b, uint32_t v)
{
    uint8_t d[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    bb_bytes(b, d, 4);
}

static inline void bb_be64(bb_t *b, uint64_t v)
{
    bb_be32(b, (uint32_t)(v >> 32));
    bb_be32(b, (uint32_t)v);
}

static inline void bb_str(bb_t *b, const char *s)
{
    bb_u8(b, (uint8_t)strlen(s));
    bb_bytes(b, s, strlen(s));
}

static inline void bb_free(bb_t *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Header and a configuration naming machine "none". */
static inline void bb_header(bb_t *b)
{
    bb_be32(b, VMIG_VM_FILE_MAGIC);
    bb_be32(b, VMIG_VM_FILE_VERSION);
    bb_u8(b, VMIG_VM_CONFIGURATION);
    bb_be32(b, 4);
    bb_bytes(b, "none", 4);
}

/* START/FULL section header. */
static inline void bb_section(bb_t *b, uint8_t type, uint32_t id, const char *name,
                              uint32_t instance, uint32_t version)
{
    bb_u8(b, type);
    bb_be32(b, id);
    bb_str(b, name);
    bb_be32(b, instance);
    bb_be32(b, version);
}

static inline void bb_footer(bb_t *b, uint32_t id)
{
    bb_u8(b, VMIG_VM_SECTION_FOOTER);
    bb_be32(b, id);
}

/* Header, then START of "ram" (section 2, v4) with one block "mem" of npages
 * pages, and the section's first page record: page 0 of "mem" all zeros. */
static inline void bb_ram_mem(bb_t *b, unsigned npages)
{
    bb_header(b);
    bb_section(b, VMIG_VM_SECTION_START, 2, "ram", 0, 4);
    bb_be64(b, npages * PS | VMIG_RAM_SAVE_FLAG_MEM_SIZE);
    bb_str(b, "mem");
    bb_be64(b, npages * PS);
    bb_be64(b, 0 | VMIG_RAM_SAVE_FLAG_ZERO);
    bb_str(b, "mem");
    bb_u8(b, 0);
}

/* An XBZRLE record for the page at off of the current block. */
static inline void bb_xbzrle(bb_t *b, uint64_t off, const void *enc, uint16_t len)
{
    bb_be64(b, off | VMIG_RAM_SAVE_FLAG_XBZRLE | VMIG_RAM_SAVE_FLAG_CONTINUE);
    bb_u8(b, VMIG_RAM_XBZRLE_ENCODING);
    bb_be16(b, len);
    bb_bytes(b, enc, len);
}

/* Analyze buf[0..len) through a memory channel and a stream reader. */
static inline int an_run(const void *buf, size_t len, const vmig_analyze_opts_t *opts,
                         vmig_analyze_result_t *res)
{
    vmig_stream_t *s = vt_mem_reader(buf, len);
    int r = vmig_analyze_stream(s, opts, res);
    vmig_stream_free(s);
    return r;
}

/* report[key1][key2]... as an integer (keys are strings, or "#N" for an index). */
static inline const json_t *jpath(const json_t *j, const char *path)
{
    char buf[256];
    strncpy(buf, path, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && j;
         k = strtok_r(NULL, ".", &save))
        j = k[0] == '#' ? json_array_get(j, (size_t)atoi(k + 1)) : json_object_get(j, k);
    return j;
}

static inline long long jpath_int(const json_t *j, const char *path)
{
    const json_t *v = jpath(j, path);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

static inline const char *jpath_str(const json_t *j, const char *path)
{
    const json_t *v = jpath(j, path);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* ---- an in-memory RAM sink ---------------------------------------------------------- */

#define MEM_SINK_BLOCKS 8

typedef struct mem_sink {
    char names[MEM_SINK_BLOCKS][256]; /* block names in list order */
    uint8_t *ram[MEM_SINK_BLOCKS];    /* block contents */
    uint64_t len[MEM_SINK_BLOCKS];    /* block lengths */
    unsigned n;                       /* blocks seen */
} mem_sink_t;

static inline int ms_block(void *o, unsigned i, const char *name, uint64_t length)
{
    mem_sink_t *m = o;
    if (i != m->n || i >= MEM_SINK_BLOCKS || length > (64u << 20))
        return -EINVAL;
    strcpy(m->names[i], name);
    m->ram[i] = calloc(1, length ? length : 1);
    m->len[i] = length;
    m->n++;
    return m->ram[i] ? 0 : -ENOMEM;
}

static inline int ms_write(void *o, unsigned i, uint64_t off, const void *p, size_t len)
{
    mem_sink_t *m = o;
    assert_true(i < m->n && off + len <= m->len[i]);
    memcpy(m->ram[i] + off, p, len);
    return 0;
}

static inline int ms_fill(void *o, unsigned i, uint64_t off, uint8_t byte, size_t len)
{
    mem_sink_t *m = o;
    assert_true(i < m->n && off + len <= m->len[i]);
    memset(m->ram[i] + off, byte, len);
    return 0;
}

static inline int ms_read(void *o, unsigned i, uint64_t off, void *p, size_t len)
{
    mem_sink_t *m = o;
    assert_true(i < m->n && off + len <= m->len[i]);
    memcpy(p, m->ram[i] + off, len);
    return 0;
}

static inline const vmig_analyze_ram_ops_t *mem_sink_ops(void)
{
    static const vmig_analyze_ram_ops_t ops = {
        .block = ms_block, .write = ms_write, .fill = ms_fill, .read = ms_read};
    return &ops;
}

static inline void mem_sink_free(mem_sink_t *m)
{
    for (unsigned i = 0; i < m->n; i++)
        free(m->ram[i]);
    memset(m, 0, sizeof(*m));
}

#endif
