/* vmm_args.c — the demo VMM's command line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util/size.h"
#include "vmm.h"

#ifndef VMIG_VERSION_STRING
#define VMIG_VERSION_STRING "0"
#endif

static void usage(FILE *f)
{
    fputs("usage: vmig-vmm --machine none --memory SIZE [--memory-file PATH]\n"
          "                --qmp unix:PATH [--qmp URI ...] [-S]\n"
          "A VM with RAM only (no vCPUs, the profile of QEMU's -M none) served over\n"
          "QMP until `quit`.\n"
          "  --machine none       the machine profile (only \"none\" for now)\n"
          "  --memory SIZE        guest RAM: 64M, 1G, ...; a bare number is MiB, as QEMU's -m\n"
          "  --memory-file PATH   RAM is this file, mapped shared: an existing file of that\n"
          "                       size keeps its content, a missing or empty one is created\n"
          "  --qmp URI            a QMP socket, unix:PATH or tcp:HOST:PORT (repeatable)\n"
          "  -S                   start paused (\"prelaunch\") until `cont`\n"
          "  -h, --help           this text;  --version  the version\n"
          "Exit status: 0 after quit or SIGINT/SIGTERM, 1 failure, 2 bad usage.\n",
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
    enum { OPT_MACHINE = 256, OPT_MEMORY, OPT_MEMORY_FILE, OPT_QMP, OPT_VERSION };
    static const struct option longopts[] = {
        { "machine", required_argument, NULL, OPT_MACHINE },
        { "memory", required_argument, NULL, OPT_MEMORY },
        { "memory-file", required_argument, NULL, OPT_MEMORY_FILE },
        { "qmp", required_argument, NULL, OPT_QMP },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    memset(opts, 0, sizeof(*opts));
    opts->machine = "none";
    bool have_memory = false;
    opterr = 0; /* our own messages */
    int c;
    while ((c = getopt_long(argc, argv, ":hS", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MACHINE:
            opts->machine = optarg;
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
    if (strcmp(opts->machine, "none") != 0)
        return bad("unknown machine '%s' (only --machine none for now)", opts->machine);
    if (!have_memory)
        return bad("%s", "--memory SIZE is required");
    if (opts->nqmp == 0)
        return bad("%s", "at least one --qmp socket is required");
    return 0;
}
