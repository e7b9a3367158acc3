/* analyze.c — the top level of the stream parser: header, configuration,
 * the record loop (sections, commands, EOF), footers and the vmdesc trailer
 * (spec/stream.md). RAM bodies and device bodies live in their own files. */
#include "analyze/analyze_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "savevm/savevm_wire.h"
#include "ram/ram_wire.h"
#include "vmig/co.h"
#include "util/uuid.h"

/* Let a coroutine caller's loop run this often (bytes of stream). */
#define AN_YIELD_BYTES (4u << 20)
/* Machine names are short ("pc-i440fx-7.2"); the field is a be32 length. */
#define AN_MACHINE_MAX 255u
/* Capabilities a configuration can list (QEMU has about 25). */
#define AN_CAPS_MAX 64u

int an_fail(an_ctx_t *c, uint64_t offset, int code, const char *fmt, ...)
{
    vmig_error_t *e = &c->res->err;
    if (e->code)
        return e->code;
    if (code >= 0)
        code = -EIO;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    /* Names from the wire end up in messages: keep them one printable line. */
    for (char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    c->res->error_offset = offset;
    return code;
}

int an_stream_check(an_ctx_t *c, const char *what)
{
    int code = vmig_stream_error(c->s);
    if (!code)
        return 0;
    return an_fail(c, vmig_stream_tell(c->s), code, "%s: %s", what, vmig_stream_error_msg(c->s));
}

int an_maybe_yield(an_ctx_t *c)
{
    uint64_t pos = vmig_stream_tell(c->s);
    if (pos < c->next_yield)
        return 0;
    c->next_yield = pos + AN_YIELD_BYTES;
    if (!co_in_coroutine())
        return 0;
    if (co_pause() < 0)
        return an_fail(c, pos, -ECANCELED, "analysis cancelled");
    return 0;
}

/* A JSON string of wire bytes: printable ASCII as is, anything else as \xNN
 * (jansson wants valid UTF-8 and the wire promises nothing). */
json_t *an_json_wire_str(const void *p, size_t n)
{
    const uint8_t *b = p;
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\') {
            out[o++] = (char)b[i];
        } else {
            snprintf(out + o, 5, "\\x%02x", b[i]);
            o += 4;
        }
    }
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

/* Read a u8-counted string into out[256]; returns its length or the error. */
static int get_counted(an_ctx_t *c, char out[256], const char *what)
{
    int n = vmig_stream_get_counted_string(c->s, out);
    if (n < 0)
        return an_stream_check(c, what);
    return n;
}

/* ---- header and configuration --------------------------------------------------- */

static int parse_header(an_ctx_t *c, json_t *report)
{
    uint32_t magic = vmig_stream_get_be32(c->s);
    uint32_t version = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "stream header");
    if (r)
        return r;
    json_object_set_new(report, "header",
                        json_pack("{s:I, s:I}", "magic", (json_int_t)magic, "version",
                                  (json_int_t)version));
    if (magic != VMIG_VM_FILE_MAGIC)
        return an_fail(c, 0, -EINVAL,
                       "not a migration stream: magic 0x%08x, expected 0x%08x (\"QEVM\")", magic,
                       VMIG_VM_FILE_MAGIC);
    if (version == VMIG_VM_FILE_VERSION_COMPAT)
        return an_fail(c, 4, -ENOTSUP, "stream version 2 is obsolete and not supported");
    if (version != VMIG_VM_FILE_VERSION)
        return an_fail(c, 4, -ENOTSUP, "unsupported stream version %u (expected %u)", version,
                       VMIG_VM_FILE_VERSION);
    return 0;
}

/* One subsection of "configuration" (spec/stream.md §3), marker already seen. */
static int parse_config_sub(an_ctx_t *c, json_t *conf)
{
    uint64_t off = vmig_stream_tell(c->s);
    char name[256];
    (void)vmig_stream_get_u8(c->s); /* the 0x05 marker, peeked by the caller */
    if (get_counted(c, name, "configuration subsection") < 0)
        return c->res->err.code;
    uint32_t version = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "configuration subsection");
    if (r)
        return r;
    (void)version; /* every known subsection is version 1; loaded as 8 bits anyway */
    if (!strcmp(name, "configuration/target-page-bits")) {
        uint64_t voff = vmig_stream_tell(c->s);
        uint32_t bits = vmig_stream_get_be32(c->s);
        if ((r = an_stream_check(c, "configuration target-page-bits")))
            return r;
        if (bits < VMIG_RAM_PAGE_BITS_MIN || bits > VMIG_RAM_PAGE_BITS_MAX)
            return an_fail(c, voff, -ERANGE, "target page bits %u out of range %u..%u", bits,
                           VMIG_RAM_PAGE_BITS_MIN, VMIG_RAM_PAGE_BITS_MAX);
        c->page_bits = bits;
        c->page_size = (size_t)1 << bits;
        json_object_set_new(conf, "target_page_bits", json_integer(bits));
    } else if (!strcmp(name, "configuration/capabilities")) {
        uint64_t coff = vmig_stream_tell(c->s);
        uint32_t count = vmig_stream_get_be32(c->s);
        if ((r = an_stream_check(c, "configuration capabilities")))
            return r;
        if (count > AN_CAPS_MAX)
            return an_fail(c, coff, -ERANGE, "%u capabilities in the configuration (at most %u)",
                           count, AN_CAPS_MAX);
        json_t *caps = json_array();
        json_object_set_new(conf, "capabilities", caps);
        for (uint32_t i = 0; i < count; i++) {
            char cap[256];
            int n = get_counted(c, cap, "configuration capability");
            if (n < 0)
                return n;
            json_array_append_new(caps, an_json_wire_str(cap, (size_t)n));
            if (!strcmp(cap, VMIG_RAM_CAP_IGNORE_SHARED))
                c->ignore_shared = true;
        }
    } else if (!strcmp(name, "configuration/uuid")) {
        uint8_t u[16];
        if (vmig_stream_get_buffer(c->s, u, sizeof(u)) < 0)
            return an_stream_check(c, "configuration uuid");
        char txt[VMIG_UUID_TEXT_LEN];
        vmig_uuid_format(u, txt);
        json_object_set_new(conf, "uuid", json_string(txt));
    } else {
        /* QEMU fails on an unknown subsection: its size is unknown too. */
        return an_fail(c, off, -ENOENT, "unknown configuration subsection '%.60s'", name);
    }
    return 0;
}

static int parse_configuration(an_ctx_t *c, json_t *report)
{
    uint8_t type;
    int n = vmig_stream_peek(c->s, &type, 1);
    if (n < 0)
        return an_stream_check(c, "configuration");
    if (n == 0)
        return an_fail(c, vmig_stream_tell(c->s), -EIO, "stream ends after its header");
    if (type != VMIG_VM_CONFIGURATION) {
        /* Old machine types (send-configuration off) have none. */
        json_object_set_new(report, "configuration", json_null());
        return 0;
    }
    (void)vmig_stream_get_u8(c->s);
    uint64_t off = vmig_stream_tell(c->s);
    uint32_t len = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "configuration");
    if (r)
        return r;
    if (len > AN_MACHINE_MAX)
        return an_fail(c, off, -ERANGE, "machine name of %u bytes (at most %u)", len,
                       AN_MACHINE_MAX);
    char machine[AN_MACHINE_MAX + 1];
    if (vmig_stream_get_buffer(c->s, machine, len) < 0)
        return an_stream_check(c, "configuration machine name");
    json_t *conf = json_object();
    json_object_set_new(report, "configuration", conf);
    json_object_set_new(conf, "machine", an_json_wire_str(machine, len));

    /* Subsections: peek-based, as vmstate.md §6 (a 0x05 whose name does not
     * start with "configuration" is not ours). */
    static const char prefix[] = "configuration";
    for (;;) {
        uint8_t peek[2 + 255];
        n = vmig_stream_peek(c->s, peek, 2);
        if (n < 0)
            return an_stream_check(c, "configuration");
        if (n < 2 || peek[0] != VMIG_VM_SUBSECTION || peek[1] < sizeof(prefix))
            break;
        n = vmig_stream_peek(c->s, peek, 2u + peek[1]);
        if (n < 0)
            return an_stream_check(c, "configuration");
        if (n < 2 + (int)peek[1] || memcmp(peek + 2, prefix, sizeof(prefix) - 1))
            break;
        if ((r = parse_config_sub(c, conf)))
            return r;
    }
    json_object_set_new(conf, "page_size", json_integer((json_int_t)c->page_size));
    return 0;
}

/* ---- commands ------------------------------------------------------------------ */

static const char *const cmd_names[VMIG_CMD_MAX] = {
    [VMIG_CMD_INVALID] = "INVALID",
    [VMIG_CMD_OPEN_RETURN_PATH] = "OPEN_RETURN_PATH",
    [VMIG_CMD_PING] = "PING",
    [VMIG_CMD_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
    [VMIG_CMD_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
    [VMIG_CMD_POSTCOPY_RUN] = "POSTCOPY_RUN",
    [VMIG_CMD_POSTCOPY_RAM_DISCARD] = "POSTCOPY_RAM_DISCARD",
    [VMIG_CMD_PACKAGED] = "PACKAGED",
    [VMIG_CMD_ENABLE_COLO] = "ENABLE_COLO",
    [VMIG_CMD_POSTCOPY_RESUME] = "POSTCOPY_RESUME",
    [VMIG_CMD_RECV_BITMAP] = "RECV_BITMAP",
};

static uint32_t rd_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A command record, type byte consumed (spec/stream.md §8). *pkg_len gets the
 * length of a PACKAGED sub-stream (0 otherwise); *cmd_out the command. */
static int parse_command(an_ctx_t *c, uint64_t off, uint32_t *pkg_len, unsigned *cmd_out)
{
    uint16_t cmd = vmig_stream_get_be16(c->s);
    uint16_t len = vmig_stream_get_be16(c->s);
    int r = an_stream_check(c, "command");
    if (r)
        return r;
    *pkg_len = 0;
    *cmd_out = cmd;
    if (cmd == VMIG_CMD_INVALID || cmd >= VMIG_CMD_MAX)
        return an_fail(c, off, -EINVAL, "unknown command 0x%x (len 0x%x)", cmd, len);
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        return an_fail(c, off, -ENOMEM, "out of memory");
    if (vmig_stream_get_buffer(c->s, data, len) < 0) {
        free(data);
        return an_stream_check(c, "command data");
    }
    json_t *j = json_pack("{s:I, s:i, s:s, s:i}", "offset", (json_int_t)off, "cmd", cmd, "name",
                          cmd_names[cmd], "len", len);
    json_array_append_new(c->commands, j);

    int fixed = -1; /* expected length of fixed-size commands */
    switch (cmd) {
    case VMIG_CMD_OPEN_RETURN_PATH:
    case VMIG_CMD_POSTCOPY_LISTEN:
    case VMIG_CMD_POSTCOPY_RUN:
    case VMIG_CMD_ENABLE_COLO:
    case VMIG_CMD_POSTCOPY_RESUME:
        fixed = 0;
        break;
    case VMIG_CMD_PING:
    case VMIG_CMD_PACKAGED:
        fixed = 4;
        break;
    case VMIG_CMD_POSTCOPY_ADVISE:
        if (len != 0 && len != 16)
            r = an_fail(c, off, -ERANGE, "POSTCOPY_ADVISE with bad length %u (0 or 16)", len);
        else if (len == 16)
            c->advise_sizes = (uint64_t)rd_be32(data) << 32 | rd_be32(data + 4);
        break;
    case VMIG_CMD_POSTCOPY_RAM_DISCARD:
        /* u8 version (0), u8 idlen, idstr, then 16-byte ranges. */
        if (len < 2 || 2u + data[1] > len || (len - 2u - data[1]) % 16)
            r = an_fail(c, off, -ERANGE, "POSTCOPY_RAM_DISCARD with bad length %u", len);
        else if (data[0] != 0)
            r = an_fail(c, off, -EINVAL, "POSTCOPY_RAM_DISCARD with version %u", data[0]);
        else
            json_object_set_new(j, "block", an_json_wire_str(data + 2, data[1]));
        break;
    case VMIG_CMD_RECV_BITMAP:
        if (len < 1 || 1u + data[0] != len)
            r = an_fail(c, off, -ERANGE, "RECV_BITMAP with bad length %u", len);
        else
            json_object_set_new(j, "block", an_json_wire_str(data + 1, data[0]));
        break;
    }
    if (!r && fixed >= 0 && len != fixed)
        r = an_fail(c, off, -ERANGE, "%s with bad length %u (expected %d)", cmd_names[cmd], len,
                    fixed);
    if (!r && cmd == VMIG_CMD_PING)
        json_object_set_new(j, "value", json_integer(rd_be32(data)));
    if (!r && cmd == VMIG_CMD_PACKAGED) {
        uint32_t plen = rd_be32(data);
        json_object_set_new(j, "length", json_integer(plen));
        if (plen > VMIG_CMD_PACKAGED_MAX)
            r = an_fail(c, off, -EMSGSIZE, "packaged state of %u bytes (at most %u)", plen,
                        VMIG_CMD_PACKAGED_MAX);
        *pkg_len = plen;
    }
    free(data);
    return r;
}

/* ---- sections -------------------------------------------------------------------- */

static an_live_t *find_live(an_ctx_t *c, uint32_t id)
{
    for (unsigned i = 0; i < c->nlive; i++)
        if (c->live[i].id == id)
            return &c->live[i];
    return NULL;
}

static int check_footer(an_ctx_t *c, uint32_t id, const char *name)
{
    uint64_t off = vmig_stream_tell(c->s);
    uint8_t mark = vmig_stream_get_u8(c->s);
    uint32_t fid = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "section footer");
    if (r)
        return r;
    if (mark != VMIG_VM_SECTION_FOOTER)
        return an_fail(c, off, -EINVAL, "missing section footer for '%.60s' (byte 0x%02x)", name,
                       mark);
    if (fid != id)
        return an_fail(c, off, -EINVAL,
                       "mismatched section id in footer for '%.60s': read %u, expected %u", name,
                       fid, id);
    return 0;
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case VMIG_VM_SECTION_START:
        return "start";
    case VMIG_VM_SECTION_PART:
        return "part";
    case VMIG_VM_SECTION_END:
        return "end";
    default:
        return "full";
    }
}

/* One START/PART/END/FULL record, type byte consumed at off. */
static int parse_section(an_ctx_t *c, uint8_t type, uint64_t off)
{
    uint32_t id = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "section header");
    if (r)
        return r;
    char name[256] = "";
    uint32_t instance = 0, version = 0;
    an_live_t *live = NULL;
    bool full = type == VMIG_VM_SECTION_FULL;

    if (type == VMIG_VM_SECTION_START || full) {
        if (get_counted(c, name, "section idstr") < 0)
            return c->res->err.code;
        instance = vmig_stream_get_be32(c->s);
        version = vmig_stream_get_be32(c->s);
        if ((r = an_stream_check(c, "section header")))
            return r;
    } else {
        live = find_live(c, id);
        if (!live)
            return an_fail(c, off, -EINVAL, "unknown section id %u (no START for it)", id);
        memcpy(name, live->name, sizeof(name));
        instance = live->instance;
        version = live->version;
    }
    c->res->sections++;
    json_t *sec = json_pack("{s:I, s:s, s:I, s:o, s:I, s:I, s:n}", "offset", (json_int_t)off,
                            "type", type_name(type), "id", (json_int_t)id, "name",
                            an_json_wire_str(name, strlen(name)), "instance",
                            (json_int_t)instance, "version", (json_int_t)version, "size");
    json_array_append_new(c->sections, sec);

    bool footer_read = false;
    if (type == VMIG_VM_SECTION_START) {
        if (find_live(c, id))
            return an_fail(c, off, -EINVAL, "section id %u started twice", id);
        if (strcmp(name, VMIG_RAM_IDSTR))
            return an_fail(c, off, -ENOTSUP,
                           "iterative section '%.60s' cannot be analyzed (only \"ram\")", name);
        if (version != VMIG_RAM_VERSION)
            return an_fail(c, off, -EINVAL, "unsupported ram section version %u (expected %u)",
                           version, VMIG_RAM_VERSION);
        if (c->nlive == AN_LIVE_MAX)
            return an_fail(c, off, -ERANGE, "too many iterative sections");
        live = &c->live[c->nlive++];
        live->id = id;
        memcpy(live->name, name, sizeof(live->name));
        live->instance = instance;
        live->version = version;
    }
    if (full) {
        json_t *fields = NULL;
        c->res->devices++;
        r = an_device_body(c, id, name, instance, version, &fields, &footer_read);
        json_t *dev = json_pack("{s:o, s:I, s:I, s:o}", "name",
                                an_json_wire_str(name, strlen(name)), "instance",
                                (json_int_t)instance, "version", (json_int_t)version, "fields",
                                fields ? fields : json_null());
        json_array_append_new(c->devices, dev);
    } else {
        r = an_ram_body(c, live);
    }
    if (!r && !footer_read)
        r = check_footer(c, id, name);
    if (!r)
        json_object_set_new(sec, "size", json_integer((json_int_t)(vmig_stream_tell(c->s) - off)));
    return r;
}

/* ---- after EOF: the vmdesc trailer -------------------------------------------------- */

static int parse_trailer(an_ctx_t *c)
{
    uint8_t b;
    int n = vmig_stream_peek(c->s, &b, 1);
    if (n < 0)
        return an_stream_check(c, "after EOF");
    if (n == 0)
        return 0; /* no trailer: postcopy or a machine that suppresses it */
    uint64_t off = vmig_stream_tell(c->s);
    if (b != VMIG_VM_VMDESCRIPTION)
        return an_fail(c, off, -EINVAL,
                       "unexpected byte 0x%02x after the EOF marker (expected 0x%02x, vmdesc)", b,
                       VMIG_VM_VMDESCRIPTION);
    (void)vmig_stream_get_u8(c->s);
    uint32_t len = vmig_stream_get_be32(c->s);
    int r = an_stream_check(c, "vmdesc trailer");
    if (r)
        return r;
    if (len > VMIG_VMDESC_MAX)
        return an_fail(c, off + 1, -EMSGSIZE, "vmdesc trailer of %u bytes (at most %u)", len,
                       VMIG_VMDESC_MAX);
    if (vmig_stream_skip(c->s, len) < 0)
        return an_stream_check(c, "vmdesc trailer truncated");
    n = vmig_stream_peek(c->s, &b, 1);
    if (n < 0)
        return an_stream_check(c, "after the vmdesc trailer");
    if (n > 0)
        return an_fail(c, vmig_stream_tell(c->s), -EINVAL, "unexpected bytes after the vmdesc trailer");
    c->res->vmdesc_found = true;
    return 0;
}

/* ---- the record loop ---------------------------------------------------------------- */

static int parse_records(an_ctx_t *c)
{
    uint64_t pkg_end = 0; /* end offset of a PACKAGED sub-stream being read, 0 = none */
    int r = 0;
    while (!r) {
        if ((r = an_maybe_yield(c)))
            break;
        uint64_t off = vmig_stream_tell(c->s);
        if (pkg_end && off >= pkg_end) {
            if (off > pkg_end)
                return an_fail(c, off, -EINVAL, "record crosses the end of packaged data at %llu",
                               (unsigned long long)pkg_end);
            pkg_end = 0;
            continue;
        }
        uint8_t type = vmig_stream_get_u8(c->s);
        if ((r = an_stream_check(c, "record type (no EOF marker)")))
            break;
        switch (type) {
        case VMIG_VM_SECTION_START:
        case VMIG_VM_SECTION_PART:
        case VMIG_VM_SECTION_END:
        case VMIG_VM_SECTION_FULL:
            r = parse_section(c, type, off);
            break;
        case VMIG_VM_COMMAND: {
            uint32_t plen;
            unsigned cmd;
            r = parse_command(c, off, &plen, &cmd);
            if (r)
                break;
            if (cmd == VMIG_CMD_PACKAGED) {
                if (pkg_end)
                    return an_fail(c, off, -EINVAL, "packaged data inside packaged data");
                pkg_end = vmig_stream_tell(c->s) + plen;
            } else if (cmd == VMIG_CMD_POSTCOPY_RUN && pkg_end) {
                /* The nested load ends at RUN; the rest of the package is ignored. */
                uint64_t pos = vmig_stream_tell(c->s);
                if (vmig_stream_skip(c->s, pkg_end - pos) < 0)
                    return an_stream_check(c, "packaged data");
                pkg_end = 0;
            }
            break;
        }
        case VMIG_VM_EOF:
            if (pkg_end) {
                /* EOF ends a nested load only; the outer stream goes on. */
                if (vmig_stream_skip(c->s, pkg_end - (off + 1)) < 0)
                    return an_stream_check(c, "packaged data");
                pkg_end = 0;
                break;
            }
            return parse_trailer(c);
        default:
            return an_fail(c, off, -EINVAL, "unknown section type 0x%02x", type);
        }
    }
    return r;
}

int vmig_analyze_stream(vmig_stream_t *s, const vmig_analyze_opts_t *opts,
                        vmig_analyze_result_t *res)
{
    static const vmig_analyze_opts_t no_opts;
    memset(res, 0, sizeof(*res));
    an_ctx_t *c = calloc(1, sizeof(*c)); /* ~17 KiB: not on a coroutine stack */
    json_t *report = json_object();
    if (!c || !report) {
        free(c);
        json_decref(report);
        return vmig_error_set(&res->err, -ENOMEM, "out of memory");
    }
    res->report = report;
    c->s = s;
    c->opts = opts ? opts : &no_opts;
    c->res = res;
    c->max_ram = c->opts->max_ram ? c->opts->max_ram : VMIG_ANALYZE_BLOCK_MAX;
    c->next_yield = vmig_stream_tell(s) + AN_YIELD_BYTES;
    c->page_bits = VMIG_RAM_TARGET_PAGE_BITS;
    c->page_size = VMIG_RAM_TARGET_PAGE_SIZE;
    c->last_block = -1;
    c->sections = json_array();
    c->commands = json_array();
    c->devices = json_array();
    c->ram = json_pack("{s:n, s:n, s:[]}", "page_size", "total", "blocks");
    json_object_set_new(report, "header", json_null());
    json_object_set_new(report, "configuration", json_null());
    json_object_set_new(report, "sections", c->sections);
    json_object_set_new(report, "commands", c->commands);
    json_object_set_new(report, "ram", c->ram);
    json_object_set_new(report, "devices", c->devices);

    int r = parse_header(c, report);
    if (!r)
        r = parse_configuration(c, report);
    if (!r)
        r = parse_records(c);

    json_object_set_new(c->ram, "page_size", json_integer((json_int_t)c->page_size));
    json_object_set_new(c->ram, "pages",
                        json_pack("{s:I, s:I, s:I, s:I}", "normal", (json_int_t)res->pages.normal,
                                  "zero", (json_int_t)res->pages.zero, "xbzrle",
                                  (json_int_t)res->pages.xbzrle, "compressed",
                                  (json_int_t)res->pages.compressed));
    json_object_set_new(report, "vmdesc", json_boolean(res->vmdesc_found));
    an_ram_free(c);
    an_device_free(c);
    free(c);
    return r ? r : res->err.code;
}

void vmig_analyze_result_release(vmig_analyze_result_t *res)
{
    json_decref(res->report);
    res->report = NULL;
}
