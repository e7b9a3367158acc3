/* analyze.c — `vmig analyze [--json] [--dump-ram DIR] FILE`: read a migration
 * stream (a file, or `-` for stdin) and print its header, configuration,
 * sections, RAM blocks and page counts and decoded device fields. */
#include "analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "analyze/analyze.h"
#include "channel/channel.h"
#include "stream/stream.h"
#include "vmig/co.h"

/* Text output shortens values longer than this. */
#define TEXT_VALUE_MAX 160

/* The whole input, in memory: the parser reads it through a memory channel. */
typedef struct input {
    uint8_t *data;  /* bytes (mapped or malloc'd); NULL when empty */
    size_t len;     /* number of bytes */
    bool mapped;    /* data is an mmap of the file */
    bool seekable;  /* a regular file: its tail can be searched for the vmdesc */
} input_t;

/* What the coroutine needs and gives back. */
typedef struct job {
    const input_t *in;           /* the stream bytes */
    vmig_analyze_opts_t opts;    /* vmdesc, RAM sink */
    vmig_analyze_result_t res;   /* the report and the first error */
    int rc;                      /* vmig_analyze_stream()'s result */
} job_t;

static int usage(FILE *f)
{
    fputs("usage: vmig analyze [--json] [--dump-ram DIR] FILE\n"
          "  Read a QEMU 7.2 migration stream (FILE, or - for stdin) and print its\n"
          "  header, configuration, sections, RAM blocks and page counts, and the\n"
          "  device fields decoded with the stream's vmdesc trailer (files only).\n"
          "  --json          print one JSON object instead of text\n"
          "  --dump-ram DIR  write each RAM block's final contents to DIR/<block name>\n"
          "                  (bytes outside [A-Za-z0-9._@:+-] in names become %XX)\n"
          "exit status: 0 ok, 1 broken stream or I/O error, 2 bad usage\n",
          f);
    return f == stderr ? 2 : 0;
}

static int fail(const char *file, const char *msg)
{
    fprintf(stderr, "vmig analyze: %s: %s\n", file, msg);
    return 1;
}

/* Read all of fd into a malloc'd buffer. */
static int read_all(int fd, input_t *in)
{
    size_t cap = 1 << 20;
    in->data = malloc(cap);
    if (!in->data)
        return -ENOMEM;
    for (;;) {
        if (in->len == cap) {
            uint8_t *d = cap > SIZE_MAX / 2 ? NULL : realloc(in->data, cap * 2);
            if (!d)
                return -ENOMEM;
            in->data = d;
            cap *= 2;
        }
        ssize_t n = read(fd, in->data + in->len, cap - in->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        in->len += (size_t)n;
    }
}

static int load_input(const char *file, input_t *in)
{
    memset(in, 0, sizeof(*in));
    if (!strcmp(file, "-"))
        return read_all(STDIN_FILENO, in);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
    } else if (S_ISREG(st.st_mode)) {
        in->seekable = true;
        in->len = (size_t)st.st_size;
        if (in->len) {
            void *p = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                r = -errno;
            } else {
                in->data = p;
                in->mapped = true;
            }
        }
    } else {
        r = read_all(fd, in); /* a pipe or device: read once, no tail search */
    }
    close(fd);
    return r;
}

static void free_input(input_t *in)
{
    if (in->mapped)
        munmap(in->data, in->len);
    else
        free(in->data);
}

static int analyze_co(void *arg)
{
    job_t *j = arg;
    static const uint8_t empty[1];
    vmig_channel_t *ch =
        vmig_channel_memory_reader(j->in->data ? j->in->data : empty, j->in->len, false);
    vmig_stream_t *s = ch ? vmig_stream_new_reader(ch, VMIG_STREAM_OWN_CHANNEL) : NULL;
    if (!s) {
        if (ch)
            vmig_channel_close(ch);
        memset(&j->res, 0, sizeof(j->res));
        j->rc = vmig_error_set(&j->res.err, -ENOMEM, "out of memory");
        return 0;
    }
    j->rc = vmig_analyze_stream(s, &j->opts, &j->res);
    vmig_stream_free(s);
    return 0;
}

/* Run the parser in a coroutine on a private loop, the way the engine runs it. */
static int run_job(job_t *j)
{
    uv_loop_t loop;
    int r = uv_loop_init(&loop);
    if (r < 0)
        return r;
    co_t *co = co_create(&loop, analyze_co, j);
    if (!co) {
        uv_loop_close(&loop);
        return -ENOMEM;
    }
    co_enter(co);
    uv_run(&loop, UV_RUN_DEFAULT);
    int res = 0;
    r = co_join(co, &res);
    uv_loop_close(&loop);
    co_thread_cleanup();
    return r;
}

/* ---- text output ------------------------------------------------------------------ */

static json_int_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

static void print_value(const char *name, const json_t *v, int indent)
{
    if (json_is_object(v)) {
        printf("%*s%s:\n", indent, "", name);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
            print_value(k, x, indent + 2);
        return;
    }
    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!txt)
        return;
    size_t n = strlen(txt);
    if (n > TEXT_VALUE_MAX)
        printf("%*s%s = %.*s... (%zu characters)\n", indent, "", name, TEXT_VALUE_MAX, txt, n);
    else
        printf("%*s%s = %s\n", indent, "", name, txt);
    free(txt);
}

static void print_text(const json_t *rep, const char *file, size_t len, const char *dump_dir)
{
    const json_t *h = json_object_get(rep, "header");
    printf("stream: %s (%zu bytes)\n", file, len);
    if (json_is_object(h))
        printf("header: magic 0x%08llx, version %lld\n", (unsigned long long)jint(h, "magic"),
               (long long)jint(h, "version"));
    const json_t *conf = json_object_get(rep, "configuration");
    if (json_is_object(conf)) {
        printf("configuration: machine \"%s\"", jstr(conf, "machine"));
        const json_t *caps = json_object_get(conf, "capabilities");
        size_t i;
        json_t *x;
        if (json_array_size(caps)) {
            printf(", capabilities");
            json_array_foreach(caps, i, x)
                printf(" %s", json_string_value(x));
        }
        printf("\n");
    } else if (json_is_object(h)) {
        printf("configuration: none\n");
    }

    const json_t *secs = json_object_get(rep, "sections");
    printf("sections: %zu\n", json_array_size(secs));
    printf("  %-10s %-5s %4s  %-32s %8s %7s %10s\n", "offset", "type", "id", "name", "instance",
           "version", "size");
    size_t i;
    json_t *x;
    json_array_foreach(secs, i, x) {
        const json_t *sz = json_object_get(x, "size");
        char szt[24] = "-";
        if (json_is_integer(sz))
            snprintf(szt, sizeof(szt), "%lld", (long long)json_integer_value(sz));
        printf("  0x%08llx %-5s %4lld  %-32s %8lld %7lld %10s\n",
               (unsigned long long)jint(x, "offset"), jstr(x, "type"), (long long)jint(x, "id"),
               jstr(x, "name"), (long long)jint(x, "instance"), (long long)jint(x, "version"),
               szt);
    }
    const json_t *cmds = json_object_get(rep, "commands");
    if (json_array_size(cmds)) {
        printf("commands: %zu\n", json_array_size(cmds));
        json_array_foreach(cmds, i, x)
            printf("  0x%08llx %s (len %lld)\n", (unsigned long long)jint(x, "offset"),
                   jstr(x, "name"), (long long)jint(x, "len"));
    }

    const json_t *ram = json_object_get(rep, "ram");
    const json_t *blocks = json_object_get(ram, "blocks");
    printf("ram: page size %lld, %zu block(s), total %lld bytes\n",
           (long long)jint(ram, "page_size"), json_array_size(blocks),
           (long long)jint(ram, "total"));
    json_array_foreach(blocks, i, x) {
        printf("  %-32s %14lld bytes", jstr(x, "name"), (long long)jint(x, "length"));
        char fname[256];
        if (dump_dir && !vmig_analyze_dump_filename(jstr(x, "name"), fname, sizeof(fname)))
            printf("  -> %s/%s", dump_dir, fname);
        printf("\n");
    }
    const json_t *pages = json_object_get(ram, "pages");
    printf("  pages: normal %lld, zero %lld, xbzrle %lld, compressed %lld\n",
           (long long)jint(pages, "normal"), (long long)jint(pages, "zero"),
           (long long)jint(pages, "xbzrle"), (long long)jint(pages, "compressed"));

    const json_t *devs = json_object_get(rep, "devices");
    printf("devices: %zu\n", json_array_size(devs));
    json_array_foreach(devs, i, x) {
        const json_t *fields = json_object_get(x, "fields");
        printf("  %s (instance %lld, version %lld)%s\n", jstr(x, "name"),
               (long long)jint(x, "instance"), (long long)jint(x, "version"),
               json_is_object(fields) ? "" : ": not decoded");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)fields, k, v)
            print_value(k, v, 4);
    }
    printf("vmdesc: %s\n", json_is_true(json_object_get(rep, "vmdesc")) ? "found" : "not found");
}

/* ---- main ------------------------------------------------------------------------- */

int vmig_cmd_analyze(int argc, char **argv)
{
    bool as_json = false;
    const char *dump_dir = NULL, *file = NULL;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help")))
            return usage(stdout);
        if (!opts_done && !strcmp(a, "--json")) {
            as_json = true;
        } else if (!opts_done && !strcmp(a, "--dump-ram")) {
            if (++i == argc)
                return usage(stderr);
            dump_dir = argv[i];
        } else if (!opts_done && !strncmp(a, "--dump-ram=", 11)) {
            dump_dir = a + 11;
        } else if (!opts_done && !strcmp(a, "--")) {
            opts_done = true;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            fprintf(stderr, "vmig analyze: unknown option '%s'\n", a);
            return usage(stderr);
        } else if (!file) {
            file = a;
        } else {
            return usage(stderr);
        }
    }
    if (!file || (dump_dir && !*dump_dir))
        return usage(stderr);
    const char *shown = strcmp(file, "-") ? file : "<stdin>";

    input_t in;
    int r = load_input(file, &in);
    if (r < 0) {
        free_input(&in);
        return fail(shown, strerror(-r));
    }
    json_t *vmdesc = NULL;
    if (in.seekable)
        vmig_analyze_find_vmdesc(in.data, in.len, &vmdesc, NULL);

    vmig_analyze_dump_t *dump = NULL;
    vmig_error_t derr = {0};
    if (dump_dir) {
        if (mkdir(dump_dir, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            json_decref(vmdesc);
            free_input(&in);
            return fail(dump_dir, strerror(e));
        }
        if (vmig_analyze_dump_open(dump_dir, &dump, &derr) < 0) {
            json_decref(vmdesc);
            free_input(&in);
            return fail(dump_dir, derr.msg);
        }
    }

    job_t job = {.in = &in};
    job.opts.vmdesc = vmdesc;
    if (dump) {
        job.opts.ram_ops = &vmig_analyze_dump_ops;
        job.opts.ram_opaque = dump;
    }
    r = run_job(&job);
    if (r < 0) {
        vmig_analyze_dump_close(dump, &derr);
        json_decref(vmdesc);
        free_input(&in);
        return fail(shown, vmig_strerror(r));
    }
    int status = 0;
    if (dump && vmig_analyze_dump_close(dump, &derr) < 0 && !job.res.err.code)
        status = fail(dump_dir, derr.msg);

    json_t *rep = job.res.report;
    if (rep && job.res.err.code)
        json_object_set_new(rep, "error",
                            json_pack("{s:s, s:I}", "message", job.res.err.msg, "offset",
                                      (json_int_t)job.res.error_offset));
    if (rep && as_json) {
        json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (rep) {
        print_text(rep, shown, in.len, dump_dir);
    }
    fflush(stdout);
    if (job.res.err.code) {
        /* One line: the message and where in the stream it happened. */
        if (strstr(job.res.err.msg, "byte offset"))
            fprintf(stderr, "vmig analyze: %s: %s\n", shown, job.res.err.msg);
        else
            fprintf(stderr, "vmig analyze: %s: %s at byte offset %llu\n", shown, job.res.err.msg,
                    (unsigned long long)job.res.error_offset);
        status = 1;
    }
    vmig_analyze_result_release(&job.res);
    json_decref(vmdesc);
    free_input(&in);
    return status;
}
