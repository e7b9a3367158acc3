/* analyze_device.c — device (FULL) section bodies for the analyzer: fields
 * decoded generically from the vmdesc trailer's description (spec/vmstate.md
 * §5 and §7), legacy sections skipped by their size, undescribed ones skipped
 * up to their footer; and finding the trailer in a whole stream. */
#include "analyze/analyze_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "savevm/savevm_wire.h"

/* Stream bytes are read into the element buffer this many at a time, so a
 * hostile "size" costs memory only as far as the stream really goes. */
#define AN_ELEM_CHUNK (64u << 10)

/* Where field bytes come from: the stream (top level) or the bytes of an
 * enclosing struct element already read. */
typedef struct dsrc {
    an_ctx_t *c;        /* the analysis */
    const uint8_t *buf; /* bytes of the enclosing element, NULL = the stream */
    size_t len;         /* bytes in buf */
    size_t pos;         /* next byte of buf */
    uint64_t base;      /* stream offset of buf[0], for messages */
} dsrc_t;

static uint64_t src_tell(const dsrc_t *s)
{
    return s->buf ? s->base + s->pos : vmig_stream_tell(s->c->s);
}

/* The next n bytes: valid until the next src_take() on a stream source.
 * NULL with the error kept when they are not there. */
static const uint8_t *src_take(dsrc_t *s, size_t n, const char *what)
{
    static const uint8_t none[1];
    an_ctx_t *c = s->c;
    if (s->buf) {
        if (n > s->len - s->pos) {
            an_fail(c, src_tell(s), -EBADMSG,
                    "%.80s: %zu bytes described, %zu left in the enclosing field", what, n,
                    s->len - s->pos);
            return NULL;
        }
        s->pos += n;
        return s->buf + s->pos - n;
    }
    if (!n)
        return none;
    size_t got = 0;
    while (got < n) {
        size_t chunk = n - got < AN_ELEM_CHUNK ? n - got : AN_ELEM_CHUNK;
        if (c->elem_cap < got + chunk) {
            size_t cap = c->elem_cap ? c->elem_cap : AN_ELEM_CHUNK;
            while (cap < got + chunk)
                cap *= 2;
            if (cap > n)
                cap = n > AN_ELEM_CHUNK ? n : AN_ELEM_CHUNK;
            uint8_t *e = realloc(c->elem, cap);
            if (!e) {
                an_fail(c, src_tell(s), -ENOMEM, "out of memory");
                return NULL;
            }
            c->elem = e;
            c->elem_cap = cap;
        }
        if (vmig_stream_get_buffer(c->s, c->elem + got, chunk) < 0) {
            an_stream_check(c, what);
            return NULL;
        }
        got += chunk;
    }
    return c->elem;
}

/* ---- values --------------------------------------------------------------------- */

static json_t *hex_value(const uint8_t *p, size_t n)
{
    if (n > VMIG_ANALYZE_HEX_MAX) {
        char txt[64];
        snprintf(txt, sizeof(txt), "<%zu bytes>", n);
        return json_string(txt);
    }
    static const char digits[] = "0123456789abcdef";
    char *h = malloc(n * 2 + 1);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = digits[p[i] >> 4];
        h[2 * i + 1] = digits[p[i] & 15];
    }
    json_t *j = json_stringn(h, n * 2);
    free(h);
    return j;
}

static uint64_t be_uint(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Scalar codecs by their vmdesc type name (vmstate.md §5). */
typedef enum { SC_UNSIGNED, SC_SIGNED, SC_BOOL, SC_FLOAT } sc_kind_t;
typedef struct scalar {
    const char *name; /* vmdesc "type" */
    unsigned width;   /* bytes on the wire */
    sc_kind_t kind;   /* how to show it */
} scalar_t;

static const scalar_t scalars[] = {
    {"bool", 1, SC_BOOL},          {"int8", 1, SC_SIGNED},          {"uint8", 1, SC_UNSIGNED},
    {"int16", 2, SC_SIGNED},       {"uint16", 2, SC_UNSIGNED},      {"int32", 4, SC_SIGNED},
    {"uint32", 4, SC_UNSIGNED},    {"int64", 8, SC_SIGNED},         {"uint64", 8, SC_UNSIGNED},
    {"int32 equal", 4, SC_SIGNED}, {"int32 le", 4, SC_SIGNED},      {"uint8 equal", 1, SC_UNSIGNED},
    {"uint16 equal", 2, SC_UNSIGNED}, {"uint32 equal", 4, SC_UNSIGNED},
    {"uint64 equal", 8, SC_UNSIGNED}, {"int64 equal", 8, SC_SIGNED},
    {"timer", 8, SC_SIGNED}, /* expiry in ns; -1 = not armed */
    {"float64", 8, SC_FLOAT},
};

/* A scalar as JSON, or NULL when type is not a scalar of this size. */
static json_t *scalar_value(const char *type, const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        const scalar_t *sc = &scalars[i];
        if (strcmp(type, sc->name) || size != sc->width)
            continue;
        uint64_t v = be_uint(p, size);
        switch (sc->kind) {
        case SC_BOOL:
            return json_boolean(v != 0);
        case SC_SIGNED: {
            unsigned shift = 64 - 8 * sc->width;
            int64_t sv = (int64_t)(v << shift) >> shift; /* sign-extend */
            return json_integer((json_int_t)sv);
        }
        case SC_FLOAT: {
            double d;
            memcpy(&d, &v, sizeof(d));
            return json_real(d); /* NULL for NaN/inf: shown as hex below */
        }
        case SC_UNSIGNED:
            if (v <= (uint64_t)INT64_MAX)
                return json_integer((json_int_t)v);
            char txt[24];
            snprintf(txt, sizeof(txt), "0x%016llx", (unsigned long long)v);
            return json_string(txt);
        }
    }
    return NULL;
}

/* ---- the vmdesc walk ---------------------------------------------------------------- */

static int decode_vmsd(dsrc_t *s, const json_t *desc, json_t *out, unsigned depth);

static const char *jstr(const json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : dflt;
}

/* One element of field f, its size bytes at p (stream offset off). */
static json_t *decode_element(dsrc_t *s, const json_t *f, const char *name, const uint8_t *p,
                              size_t size, uint64_t off, unsigned depth)
{
    an_ctx_t *c = s->c;
    const char *type = jstr(f, "type", "");
    const json_t *sd = NULL; /* nested description */
    if (!strcmp(type, "struct") || !strcmp(type, "vstruct"))
        sd = json_object_get(f, "struct");
    else if (!strcmp(type, "tmp"))
        sd = f; /* a tmp field carries its temp struct's fields itself */
    if (sd && json_is_object(sd)) {
        if (depth >= VMIG_ANALYZE_DEPTH_MAX) {
            an_fail(c, off, -EOVERFLOW,
                    "field '%.60s': structs nested deeper than %u", name, VMIG_ANALYZE_DEPTH_MAX);
            return NULL;
        }
        dsrc_t sub = {.c = c, .buf = p, .len = size, .pos = 0, .base = off};
        json_t *obj = json_object();
        if (decode_vmsd(&sub, sd, obj, depth + 1) < 0) {
            json_decref(obj);
            return NULL;
        }
        if (sub.pos != size) {
            json_decref(obj);
            an_fail(c, off + sub.pos, -EBADMSG,
                    "field '%.60s': its description covers %zu of its %zu bytes", name, sub.pos,
                    size);
            return NULL;
        }
        return obj;
    }
    if (!strcmp(type, "nullptr")) {
        if (size != 1 || p[0] != '0') {
            an_fail(c, off, -EBADMSG, "field '%.60s': a nullptr marker must be the byte 0x30",
                    name);
            return NULL;
        }
        return json_null();
    }
    json_t *v = scalar_value(type, p, size);
    if (!v)
        v = hex_value(p, size); /* buffers, bitmaps, pci config, unknown types */
    if (!v)
        an_fail(c, off, -ENOMEM, "out of memory");
    return v;
}

/* Read an integer member of a vmdesc object within [lo, hi]: 0, 1 when it
 * is absent, or the error kept. */
static int desc_int(an_ctx_t *c, uint64_t off, const json_t *f, const char *key, const char *name,
                    json_int_t lo, json_int_t hi, json_int_t *out)
{
    const json_t *j = json_object_get(f, key);
    if (!j)
        return 1;
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return an_fail(c, off, -EBADMSG, "vmdesc: field '%.60s' has a bad \"%s\"", name, key);
    *out = json_integer_value(j);
    return 0;
}

/* The vmdesc entry j, a `what` ("field", "subsection") described at the
 * source's offset, must be an object: its string member key (dflt when
 * absent), or NULL with the error kept. */
static const char *desc_entry(dsrc_t *s, const json_t *j, const char *what, const char *key,
                              const char *dflt)
{
    if (!json_is_object(j)) {
        an_fail(s->c, src_tell(s), -EBADMSG, "vmdesc: a %s is not an object", what);
        return NULL;
    }
    return jstr(j, key, dflt);
}

static int decode_field(dsrc_t *s, const json_t *f, json_t *out, unsigned depth)
{
    an_ctx_t *c = s->c;
    uint64_t off = src_tell(s);
    const char *name = desc_entry(s, f, "field", "name", "?");
    if (!name)
        return c->res->err.code;
    json_int_t size = 0, n = 1, index = -1;
    int r = desc_int(c, off, f, "size", name, 0, VMIG_ANALYZE_FIELD_MAX, &size);
    if (r < 0)
        return r;
    if (r > 0)
        return an_fail(c, off, -EBADMSG, "vmdesc: field '%.60s' has no \"size\"", name);
    bool array = json_object_get(f, "array_len") != NULL;
    if (array && (r = desc_int(c, off, f, "array_len", name, 0, VMIG_ANALYZE_ARRAY_MAX, &n)) < 0)
        return r;
    if ((r = desc_int(c, off, f, "index", name, 0, VMIG_ANALYZE_ARRAY_MAX, &index)) < 0)
        return r;

    json_t *list = array ? json_array() : NULL;
    json_t *value = NULL;
    if (size == 0 && (c->empty_elems += (uint64_t)n) > VMIG_ANALYZE_EMPTY_MAX) {
        json_decref(list);
        return an_fail(c, off, -EOVERFLOW, "vmdesc: more than %u empty field elements",
                       VMIG_ANALYZE_EMPTY_MAX);
    }
    for (json_int_t i = 0; i < n; i++) {
        uint64_t eoff = src_tell(s);
        const uint8_t *p = src_take(s, (size_t)size, name);
        if (!p) {
            json_decref(list);
            return c->res->err.code;
        }
        value = decode_element(s, f, name, p, (size_t)size, eoff, depth);
        if (!value) {
            json_decref(list);
            return c->res->err.code;
        }
        if (list)
            json_array_append_new(list, value);
    }
    if (list) {
        value = list;
    } else if (index >= 0) {
        /* Non-compressible arrays: one description per element, same name. */
        json_t *prev = json_object_get(out, name);
        if (index > 0 && json_is_array(prev)) {
            json_array_append_new(prev, value);
            return 0;
        }
        json_t *l = json_array();
        json_array_append_new(l, value);
        value = l;
    }
    json_object_set_new(out, name, value);
    return 0;
}

/* A subsection: 05, u8 len, name, be32 version, then its fields. */
static int decode_sub(dsrc_t *s, const json_t *sd, json_t *out, unsigned depth)
{
    an_ctx_t *c = s->c;
    uint64_t off = src_tell(s);
    const char *want = desc_entry(s, sd, "subsection", "vmsd_name", "");
    if (!want)
        return c->res->err.code;
    const uint8_t *p = src_take(s, 2, "subsection");
    if (!p)
        return c->res->err.code;
    uint8_t mark = p[0], len = p[1];
    if (mark != VMIG_VM_SUBSECTION)
        return an_fail(c, off, -EBADMSG, "expected subsection '%.60s', found byte 0x%02x", want,
                       mark);
    p = src_take(s, len, "subsection name");
    if (!p)
        return c->res->err.code;
    if (strlen(want) != len || memcmp(p, want, len))
        return an_fail(c, off, -EBADMSG, "expected subsection '%.60s', found another name", want);
    if (!src_take(s, 4, "subsection version"))
        return c->res->err.code;
    if (depth >= VMIG_ANALYZE_DEPTH_MAX)
        return an_fail(c, off, -EOVERFLOW, "subsections nested deeper than %u",
                       VMIG_ANALYZE_DEPTH_MAX);
    json_t *obj = json_object();
    json_object_set_new(out, want, obj);
    return decode_vmsd(s, sd, obj, depth + 1);
}

static int decode_vmsd(dsrc_t *s, const json_t *desc, json_t *out, unsigned depth)
{
    an_ctx_t *c = s->c;
    const json_t *fields = json_object_get(desc, "fields");
    const json_t *subs = json_object_get(desc, "subsections");
    if ((fields && !json_is_array(fields)) || (subs && !json_is_array(subs)))
        return an_fail(c, src_tell(s), -EBADMSG, "vmdesc: \"fields\"/\"subsections\" not a list");
    size_t i;
    const json_t *f;
    json_array_foreach(fields, i, f) {
        int r = decode_field(s, f, out, depth);
        if (r)
            return r;
    }
    json_array_foreach(subs, i, f) {
        int r = decode_sub(s, f, out, depth);
        if (r)
            return r;
    }
    return 0;
}

/* ---- matching sections to vmdesc devices ------------------------------------------- */

static const json_t *vd_find(an_ctx_t *c, const char *name, uint32_t instance)
{
    if (!c->vd_devices) {
        const json_t *d = json_object_get(c->opts->vmdesc, "devices");
        if (!json_is_array(d) || !json_array_size(d))
            return NULL;
        c->vd_used = calloc(json_array_size(d), 1);
        if (!c->vd_used)
            return NULL;
        c->vd_devices = d;
    }
    /* Devices are described in stream order: look from the expected one on. */
    size_t n = json_array_size(c->vd_devices);
    for (size_t k = 0; k < n; k++) {
        size_t i = (c->vd_next + k) % n;
        const json_t *d = json_array_get(c->vd_devices, i);
        const json_t *inst = json_object_get(d, "instance_id");
        if (c->vd_used[i] || strcmp(jstr(d, "name", ""), name) || !json_is_integer(inst) ||
            json_integer_value(inst) != (json_int_t)instance)
            continue;
        c->vd_used[i] = 1;
        c->vd_next = i + 1;
        return d;
    }
    return NULL;
}

/* Could the bytes after a candidate footer start the next record? */
static bool plausible_next(an_ctx_t *c)
{
    uint8_t b[1 + 4 + 1 + 255 + 8];
    int n = vmig_stream_peek(c->s, b, sizeof(b));
    if (n <= 0)
        return n == 0; /* the end: the loop reports the missing EOF */
    switch (b[0]) {
    case VMIG_VM_EOF:
        return n == 1 || b[1] == VMIG_VM_VMDESCRIPTION;
    case VMIG_VM_SECTION_START:
    case VMIG_VM_SECTION_FULL:
        if (n < 6 || b[5] == 0 || n < 6 + b[5] + 8)
            return false;
        for (unsigned i = 0; i < b[5]; i++)
            if (b[6 + i] < 0x20 || b[6 + i] > 0x7e)
                return false;
        return true;
    case VMIG_VM_SECTION_PART:
    case VMIG_VM_SECTION_END:
        if (n < 5)
            return false;
        uint32_t id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
        for (unsigned i = 0; i < c->nlive; i++)
            if (c->live[i].id == id)
                return true;
        return false;
    case VMIG_VM_COMMAND:
        return n >= 5 && b[1] == 0 && b[2] > 0 && b[2] < VMIG_CMD_MAX;
    default:
        return false;
    }
}

/* Skip an undescribed body up to and including its footer `7e <id>`. */
static int scan_to_footer(an_ctx_t *c, uint32_t id, const char *name)
{
    uint64_t start = vmig_stream_tell(c->s);
    const uint8_t want[5] = {VMIG_VM_SECTION_FOOTER, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                             (uint8_t)(id >> 8), (uint8_t)id};
    uint8_t win[5] = {0};
    uint64_t seen = 0;
    for (;;) {
        int r = an_maybe_yield(c);
        if (r)
            return r;
        uint8_t b = vmig_stream_get_u8(c->s);
        if (vmig_stream_error(c->s)) {
            if (vmig_stream_error(c->s) != -EIO)
                return an_stream_check(c, "device section");
            return an_fail(c, start, -EIO,
                           "section '%.60s' (id %u): no footer before the end of the stream",
                           name, id);
        }
        memmove(win, win + 1, 4);
        win[4] = b;
        if (++seen >= 5 && !memcmp(win, want, 5) && plausible_next(c))
            return 0;
    }
}

int an_device_body(an_ctx_t *c, uint32_t id, const char *name, uint32_t instance,
                   uint32_t version, json_t **fields, bool *footer_read)
{
    (void)version; /* the vmdesc describes what was written, whatever its version */
    *fields = NULL;
    *footer_read = false;
    uint64_t off = vmig_stream_tell(c->s);
    const json_t *d = c->opts->vmdesc ? vd_find(c, name, instance) : NULL;
    if (!d) {
        *footer_read = true;
        return scan_to_footer(c, id, name);
    }
    if (!json_object_get(d, "vmsd_name") && json_object_get(d, "size")) {
        /* A legacy save_state handler: one opaque "data" buffer of this size. */
        json_int_t size = 0;
        int r = desc_int(c, off, d, "size", name, 0, VMIG_ANALYZE_FIELD_MAX, &size);
        if (r < 0)
            return r;
        if (vmig_stream_skip(c->s, (uint64_t)size) < 0)
            return an_stream_check(c, "legacy device section");
        return 0;
    }
    json_t *obj = json_object();
    dsrc_t top = {.c = c};
    int r = decode_vmsd(&top, d, obj, 0);
    *fields = obj; /* what was decoded, also after an error */
    if (!r)
        c->res->devices_decoded++;
    return r;
}

void an_device_free(an_ctx_t *c)
{
    free(c->vd_used);
    free(c->elem);
    c->vd_used = NULL;
    c->elem = NULL;
    c->elem_cap = 0;
}

/* ---- the trailer of a whole stream -------------------------------------------------- */

int vmig_analyze_find_vmdesc(const void *buf, size_t len, json_t **vmdesc, uint64_t *offset)
{
    const uint8_t *b = buf;
    *vmdesc = NULL;
    if (!b || len < 6)
        return -ENOENT;
    const uint8_t *nul = memrchr(b, 0, len);
    if (!nul)
        return -ENOENT;
    const uint8_t *brace = memchr(nul, '{', len - (size_t)(nul - b));
    if (!brace || brace - b < 5)
        return -ENOENT;
    size_t pos = (size_t)(brace - b);
    uint32_t jlen = (uint32_t)b[pos - 4] << 24 | (uint32_t)b[pos - 3] << 16 |
                    (uint32_t)b[pos - 2] << 8 | b[pos - 1];
    if (b[pos - 5] != VMIG_VM_VMDESCRIPTION || jlen != len - pos || jlen > VMIG_VMDESC_MAX)
        return -ENOENT;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)brace, jlen, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return -ENOENT;
    }
    *vmdesc = j;
    if (offset)
        *offset = pos - 5;
    return 0;
}
