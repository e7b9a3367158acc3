/* fuzz_stream.c — libFuzzer harness for the whole-stream loader behind
 * `vmig analyze`: the vmdesc tail search, then the forward parse through a
 * memory channel, with a RAM sink that checks every page lies inside its
 * block (no contents are kept, so memory stays small whatever blocks claim). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "channel/channel.h"
#include "stream/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Block lengths, to check the parser's promise offset + len <= length. */
typedef struct check_sink {
    uint64_t len[VMIG_ANALYZE_BLOCKS_MAX]; /* length of block i */
    unsigned n;                            /* blocks announced */
} check_sink_t;

static void check_page(const check_sink_t *c, unsigned i, uint64_t off, size_t len)
{
    if (i >= c->n || len == 0 || off > c->len[i] || c->len[i] - off < len)
        __builtin_trap(); /* the parser let a page outside its block through */
}

static int cs_block(void *o, unsigned i, const char *name, uint64_t length)
{
    check_sink_t *c = o;
    if (i != c->n || i >= VMIG_ANALYZE_BLOCKS_MAX || !name[0])
        __builtin_trap();
    c->len[c->n++] = length;
    return 0;
}

static int cs_write(void *o, unsigned i, uint64_t off, const void *page, size_t len)
{
    check_page(o, i, off, len);
    volatile uint8_t sink = ((const uint8_t *)page)[len - 1]; /* the page is readable */
    (void)sink;
    return 0;
}

static int cs_fill(void *o, unsigned i, uint64_t off, uint8_t byte, size_t len)
{
    check_page(o, i, off, len);
    return 0;
}

static int cs_read(void *o, unsigned i, uint64_t off, void *page, size_t len)
{
    check_page(o, i, off, len);
    memset(page, 0, len);
    return 0;
}

static const vmig_analyze_ram_ops_t check_ops = {
    .block = cs_block, .write = cs_write, .fill = cs_fill, .read = cs_read};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    json_t *vmdesc = NULL;
    vmig_analyze_find_vmdesc(data, size, &vmdesc, NULL);
    check_sink_t *sink = calloc(1, sizeof(*sink));
    vmig_channel_t *ch = vmig_channel_memory_reader(size ? data : empty, size, false);
    vmig_stream_t *s = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!sink || !s) {
        if (!s && ch)
            vmig_channel_close(ch);
        free(sink);
        json_decref(vmdesc);
        return 0;
    }
    vmig_analyze_opts_t opts = {.vmdesc = vmdesc, .ram_ops = &check_ops, .ram_opaque = sink};
    vmig_analyze_result_t res;
    int r = vmig_analyze_stream(s, &opts, &res);
    /* The result and the report agree, and the report always serialises
     * (every wire string was made valid UTF-8). */
    if ((r < 0) != (res.err.code < 0) || !res.report)
        __builtin_trap();
    char *txt = json_dumps(res.report, JSON_COMPACT);
    if (!txt)
        __builtin_trap();
    free(txt);
    vmig_analyze_result_release(&res);
    vmig_stream_free(s);
    free(sink);
    json_decref(vmdesc);
    return 0;
}
