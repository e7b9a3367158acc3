/* vmm_args.c — the demo VMM's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/size.h"
#include "vmm.h"

#ifndef VMIG_VERSION_STRING
#define VMIG_VERSION_STRING "0"
#endif

static void usage(FILE *f)
{
    fputs("usage: vmig-vmm [--machine demo|none] --memory SIZE [--memory-file PATH] [--prealloc]\n"
          "                --qmp unix:PATH [--qmp URI ...] [-S] [--incoming URI|defer]\n"
          "                [--object TYPE,id=ID[,PROP=VALUE...] ...]\n"
          "                [--accel kvm|sim|auto] [--serial PATH]\n"
          "                [--workload idle|pattern|random-writes [--dirty-rate RATE]\n"
          "                 [--workload-threads N]]\n"
          "A small VM served over QMP until `quit`, a migration source or destination.\n"
          "  --machine demo       (default) \"vmig-demo\": one vCPU, a serial port and RAM\n"
          "                       (block \"mem\"); the vCPU and serial state migrate too\n"
          "  --machine none       RAM only, no vCPUs: the profile of QEMU's -M none with a\n"
          "                       RAM backend named \"mem\" (migrates with QEMU 7.2)\n"
          "  --accel ACCEL        demo: kvm (a KVM guest, dirty pages from KVM's log), sim\n"
          "                       (host threads, the engine's dirty bitmap) or auto\n"
          "                       (default: kvm when /dev/kvm works, else sim)\n"
          "  --serial PATH        demo: append every byte the guest writes to its serial\n"
          "                       port to PATH (default: discard)\n"
          "  --memory SIZE        guest RAM: 64M, 1G, ...; a bare number is MiB, as QEMU's -m\n"
          "  --memory-file PATH   RAM is this file, mapped shared: an existing file of that\n"
          "                       size keeps its content, a missing or empty one is created\n"
          "  --prealloc           populate all RAM at start (QEMU's prealloc=on)\n"
          "  --qmp URI            a QMP socket, unix:PATH or tcp:HOST:PORT (repeatable)\n"
          "  --object TYPE,id=ID,PROP=VALUE,...  an object, as QMP object-add (repeatable;\n"
          "                       QEMU's -object): tls-creds-x509 (dir, endpoint=client|\n"
          "                       server, verify-peer=on|off), tls-creds-psk (dir, endpoint,\n"
          "                       username), authz-list (policy=deny|allow,\n"
          "                       rules.N.match/policy/format=exact|glob), authz-simple\n"
          "                       (identity); \",,\" is a comma in a value; a bad object\n"
          "                       exits with 1\n"
          "  -S                   start paused (\"prelaunch\") until `cont`; with --incoming\n"
          "                       the VM stays paused after the migration\n"
          "  --incoming URI       wait for a migration (QEMU's -incoming): tcp:HOST:PORT,\n"
          "                       unix:PATH, fd:N (an inherited descriptor), exec:CMD,\n"
          "                       file:PATH, or defer (then QMP migrate-incoming)\n"
          "  --workload KIND      what writes guest RAM while the VM runs:\n"
          "                       pattern (demo's default): the vCPU walks RAM adding 1 to\n"
          "                       the first byte of every page (page 0 holds the guest's\n"
          "                       code) and writes a byte to the serial port each pass;\n"
          "                       idle (none's default): nothing (the vCPU halts);\n"
          "                       random-writes: host threads write random bytes into\n"
          "                       random 4 KiB pages\n"
          "  --dirty-rate RATE    RAM dirtied per second; a bare number is MiB/s. pattern:\n"
          "                       0 (default) walks as fast as it can; random-writes: all\n"
          "                       threads together (default 64)\n"
          "  --workload-threads N random-writes: how many threads (default 1, at most 64)\n"
          "  -h, --help           this text;  --version  the version\n"
          "Exit status: 0 after quit or SIGINT/SIGTERM, 1 failure (an incoming migration\n"
          "that fails ends the process with 1, as QEMU), 2 bad usage.\n",
          f);
}

static int bad(const char *fmt, const char *arg)
{
    fputs("vmig-vmm: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (vmig-vmm --help)\n", stderr);
    return 2;
}

int vmm_parse_args(int argc, char **argv, vmm_opts_t *opts)
{
    enum {
        OPT_MACHINE = 256,
        OPT_MEMORY,
        OPT_MEMORY_FILE,
        OPT_QMP,
        OPT_VERSION,
        OPT_INCOMING,
        OPT_PREALLOC,
        OPT_WORKLOAD,
        OPT_DIRTY_RATE,
        OPT_WORKLOAD_THREADS,
        OPT_ACCEL,
        OPT_SERIAL,
        OPT_OBJECT,
    };
    static const struct option longopts[] = {
        { "machine", required_argument, NULL, OPT_MACHINE },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "memory-file", required_argument, NULL, OPT_MEMORY_FILE },
        { "qmp", required_argument, NULL, OPT_QMP },
        { "incoming", required_argument, NULL, OPT_INCOMING },
        { "prealloc", no_argument, NULL, OPT_PREALLOC },
        { "workload", required_argument, NULL, OPT_WORKLOAD },
        { "dirty-rate", required_argument, NULL, OPT_DIRTY_RATE },
        { "workload-threads", required_argument, NULL, OPT_WORKLOAD_THREADS },
        { "accel", required_argument, NULL, OPT_ACCEL },
        { "serial", required_argument, NULL, OPT_SERIAL },
        { "object", required_argument, NULL, OPT_OBJECT },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    memset(opts, 0, sizeof(*opts));
    opts->machine = VMM_MACHINE_DEMO;
    opts->accel = VMM_ACCEL_AUTO;
    opts->workload_threads = 1;
    bool have_memory = false;
    bool have_workload = false, have_rate = false, have_accel = false;
    opterr = 0; /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":hS", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MACHINE:
            if (strcmp(optarg, "demo") == 0)
                opts->machine = VMM_MACHINE_DEMO;
            else if (strcmp(optarg, "none") == 0)
                opts->machine = VMM_MACHINE_NONE;
            else
                return bad("unknown machine '%s' (demo or none)", optarg);
            break;
        case OPT_ACCEL:
            if (strcmp(optarg, "kvm") == 0)
                opts->accel = VMM_ACCEL_KVM;
            else if (strcmp(optarg, "sim") == 0)
                opts->accel = VMM_ACCEL_SIM;
            else if (strcmp(optarg, "auto") == 0)
                opts->accel = VMM_ACCEL_AUTO;
            else
                return bad("unknown accel '%s' (kvm, sim or auto)", optarg);
            have_accel = true;
            break;
        case OPT_SERIAL:
            if (!*optarg)
                return bad("%s", "--serial needs a file name");
            opts->serial = optarg;
            break;
        case OPT_MEMORY:
            if (vmig_parse_size(optarg, 1u << 20, &opts->memory) < 0 || opts->memory == 0)
                return bad("bad --memory size '%s' (e.g. 64M, 1G)", optarg);
            have_memory = true;
            break;
        case OPT_MEMORY_FILE:
            opts->memory_file = optarg;
            break;
        case OPT_QMP:
            if (opts->nqmp == VMM_MAX_QMP)
                return bad("too many --qmp sockets (at most %s)", "16");
            opts->qmp[opts->nqmp++] = optarg;
            break;
        case OPT_OBJECT:
            if (opts->nobjects == VMM_MAX_OBJECTS)
                return bad("too many --object options (at most %s)", "64");
            opts->objects[opts->nobjects++] = optarg;
            break;
        case OPT_INCOMING:
            if (!*optarg)
                return bad("%s", "--incoming needs a URI or \"defer\"");
            opts->incoming = optarg;
            break;
        case OPT_PREALLOC:
            opts->prealloc = true;
            break;
        case OPT_WORKLOAD:
            if (strcmp(optarg, "idle") == 0)
                opts->workload = VMM_WORKLOAD_IDLE;
            else if (strcmp(optarg, "random-writes") == 0)
                opts->workload = VMM_WORKLOAD_RANDOM_WRITES;
            else if (strcmp(optarg, "pattern") == 0)
                opts->workload = VMM_WORKLOAD_PATTERN;
            else
                return bad("unknown workload '%s' (idle, pattern or random-writes)", optarg);
            have_workload = true;
            break;
        case OPT_DIRTY_RATE:
            /* 1 TiB/s is far beyond any memory bus; the bound keeps the
             * workload's per-slice arithmetic in 64 bits. */
            if (vmig_parse_size(optarg, 1u << 20, &opts->dirty_rate) < 0 ||
                opts->dirty_rate > (1ULL << 40))
                return bad("bad --dirty-rate '%s' (MiB/s up to 1T/s, e.g. 64 or 512K)", optarg);
            have_rate = true;
            break;
        case OPT_WORKLOAD_THREADS: {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || n == 0 ||
                n > VMM_MAX_WORKLOAD_THREADS)
                return bad("bad --workload-threads '%s' (1 to 64)", optarg);
            opts->workload_threads = (unsigned)n;
            break;
        }
        case 'S':
            opts->start_paused = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case OPT_VERSION:
            puts("vmig-vmm " VMIG_VERSION_STRING);
            return 1;
        case ':':
            return bad("%s needs an argument", argv[optind - 1]);
        default:
            return bad("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad("unexpected argument '%s'", argv[optind]);
    if (opts->machine == VMM_MACHINE_NONE) {
        /* The QEMU-compatible profile has no vCPU to walk or serial port. */
        if (opts->workload == VMM_WORKLOAD_PATTERN)
            return bad("%s", "--workload pattern needs --machine demo");
        if (have_accel || opts->serial)
            return bad("%s", "--accel and --serial need --machine demo");
    } else if (!have_workload) {
        opts->workload = VMM_WORKLOAD_PATTERN;
    }
    if (!have_rate)
        opts->dirty_rate = opts->workload == VMM_WORKLOAD_RANDOM_WRITES ? 64u << 20 : 0;
    if (!have_memory)
        return bad("%s", "--memory SIZE is required");
    if (opts->nqmp == 0)
        return bad("%s", "at least one --qmp socket is required");
    return 0;
}
