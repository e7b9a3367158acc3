/* demo_args.c — `vmig demo`'s command line. The hidden `--corrupt-dest-page N`
 * is the tests' hook: it damages one destination page before verification. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "util/size.h"

static int usage(FILE *f)
{
    fputs("usage: vmig demo [--size SIZE] [--workload KIND] [--accel kvm|sim|auto]\n"
          "                 [--transport tcp|unix] [--dirty-rate RATE] [--cap NAME[=on|off]]...\n"
          "                 [--param NAME=VALUE]... [--timeout SEC] [--json] [--keep] [--vmm PATH]\n"
          "Start a source and a paused destination vmig-vmm on loopback, migrate the\n"
          "running source live, show its progress, then verify: every 4 KiB page of the\n"
          "frozen source equals the destination's, the guest's walk is intact, and the\n"
          "destination runs on after `cont` (its serial output and pages advance).\n"
          "  --size SIZE        guest RAM (default 1G; 64M, 512M, ...)\n"
          "  --workload KIND    what the guest does: pattern (walks RAM, default),\n"
          "                     random-writes or idle\n"
          "  --accel KIND       kvm, sim (host threads, works anywhere) or auto (default)\n"
          "  --transport KIND   tcp (default, a free loopback port) or unix\n"
          "  --dirty-rate RATE  MiB/s the workload dirties (default 256; 0: as fast as it can)\n"
          "  --cap NAME         set a migration capability (repeatable; NAME=off clears)\n"
          "  --param NAME=VAL   set a migration parameter (repeatable; defaults:\n"
          "                     max-bandwidth 10G so that it does not cap)\n"
          "  --timeout SEC      cancel a migration not done by then (default 120)\n"
          "  --json             print one JSON object on stdout (progress stays on stderr)\n"
          "  --keep             keep the temporary directory (RAM files, logs, sockets)\n"
          "  --vmm PATH         the vmig-vmm to run (default: next to this program)\n"
          "  --machine NAME     the VMM's machine profile (default demo, else none)\n"
          "  -h, --help         this text\n"
          "Exit status: 0 migrated and verified, 1 failure, 2 bad usage.\n",
          f);
    return f == stderr ? 2 : 0;
}

static int bad(const char *fmt, const char *arg)
{
    fputs("vmig demo: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (vmig demo --help)\n", stderr);
    return 2;
}

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(v, *set))
            return true;
    return false;
}

/* The value of an option given as `--opt VALUE` or `--opt=VALUE`, NULL if
 * argv[*i] is not that option. *missing is set when the value is absent. */
static const char *value_of(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int demo_parse_args(int argc, char **argv, demo_opts_t *o)
{
    static const char *const workloads[] = { "pattern", "random-writes", "idle", NULL };
    static const char *const accels[] = { "kvm", "sim", "auto", NULL };
    static const char *const transports[] = { "tcp", "unix", NULL };
    memset(o, 0, sizeof(*o));
    o->size = 1ull << 30;
    /* A guest that dirties a quarter of a GiB per second: live enough to
     * need several passes, slow enough to converge within the default
     * downtime limit. Flat out (--dirty-rate 0) a KVM walker rewrites all
     * its RAM in well under a pass and only stopping it can end the copy. */
    o->dirty_rate = "256";
    o->transport = "tcp";
    o->timeout_s = 120;
    o->corrupt_page = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool missing = false;
        const char *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout) == 0 ? 1 : 2;
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if ((v = value_of(argc, argv, &i, "--size", &missing))) {
            if (vmig_parse_size(v, 1, &o->size) < 0 || o->size < (1u << 20))
                return bad("--size: '%s' is not a size of at least 1M", v);
            if (o->size % DEMO_PAGE)
                return bad("--size: '%s' is not a multiple of 4 KiB", v);
        } else if ((v = value_of(argc, argv, &i, "--workload", &missing))) {
            if (!one_of(v, workloads))
                return bad("--workload: '%s' is not pattern, random-writes or idle", v);
            o->workload = v;
        } else if ((v = value_of(argc, argv, &i, "--accel", &missing))) {
            if (!one_of(v, accels))
                return bad("--accel: '%s' is not kvm, sim or auto", v);
            o->accel = v;
        } else if ((v = value_of(argc, argv, &i, "--transport", &missing))) {
            if (!one_of(v, transports))
                return bad("--transport: '%s' is not tcp or unix", v);
            o->transport = v;
        } else if ((v = value_of(argc, argv, &i, "--dirty-rate", &missing))) {
            uint64_t r;
            if (vmig_parse_size(v, 1, &r) < 0)
                return bad("--dirty-rate: '%s' is not a rate", v);
            o->dirty_rate = v;
        } else if ((v = value_of(argc, argv, &i, "--cap", &missing))) {
            if (o->ncaps == DEMO_MAX_SETTINGS)
                return bad("%s", "too many --cap");
            if (!*v || *v == '=')
                return bad("--cap: '%s' is not NAME or NAME=on|off", v);
            const char *eq = strchr(v, '=');
            if (eq && strcmp(eq + 1, "on") && strcmp(eq + 1, "off") && strcmp(eq + 1, "true") &&
                strcmp(eq + 1, "false"))
                return bad("--cap: '%s' is not NAME or NAME=on|off", v);
            o->caps[o->ncaps++] = v;
        } else if ((v = value_of(argc, argv, &i, "--param", &missing))) {
            if (o->nparams == DEMO_MAX_SETTINGS)
                return bad("%s", "too many --param");
            const char *eq = strchr(v, '=');
            if (!eq || eq == v)
                return bad("--param: '%s' is not NAME=VALUE", v);
            o->params[o->nparams++] = v;
        } else if ((v = value_of(argc, argv, &i, "--timeout", &missing))) {
            char *end;
            unsigned long t = strtoul(v, &end, 10);
            if (end == v || *end || t == 0 || t > 86400)
                return bad("--timeout: '%s' is not a number of seconds", v);
            o->timeout_s = (unsigned)t;
        } else if ((v = value_of(argc, argv, &i, "--vmm", &missing))) {
            o->vmm = v;
        } else if ((v = value_of(argc, argv, &i, "--machine", &missing))) {
            if (strcmp(v, "demo") && strcmp(v, "none"))
                return bad("--machine: '%s' is not demo or none", v);
            o->machine = v;
        } else if ((v = value_of(argc, argv, &i, "--corrupt-dest-page", &missing))) {
            char *end;
            long long n = strtoll(v, &end, 10);
            if (end == v || *end || n < 0)
                return bad("--corrupt-dest-page: '%s' is not a page number", v);
            o->corrupt_page = n;
        } else if (missing) {
            return bad("%s needs a value", a);
        } else {
            return bad("unknown option or argument '%s'", a);
        }
    }
    if (o->corrupt_page >= 0 && (uint64_t)o->corrupt_page >= o->size / DEMO_PAGE)
        return bad("%s: beyond the guest's RAM", "--corrupt-dest-page");
    return 0;
}
