/* main.c — the `vmig` command line: dispatches to one subcommand per file. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "demo.h"
#include "qmp_cmd.h"

static int usage(FILE *f)
{
    fputs("usage: vmig COMMAND [ARGS]\n"
          "commands:\n"
          "  analyze   print what a migration stream file holds (analyze --help)\n"
          "  demo      live-migrate a demo VM on loopback and verify it (demo --help)\n"
          "  qmp       run a QMP command, follow events, pass a descriptor (qmp --help)\n"
          "  version   print the version\n",
          f);
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    /* A peer that goes away must surface as EPIPE from a write, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        puts("vmig " VMIG_VERSION_STRING);
        return 0;
    }
    if (!strcmp(argv[1], "analyze"))
        return vmig_cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(argv[1], "qmp"))
        return vmig_cmd_qmp(argc - 1, argv + 1);
    if (!strcmp(argv[1], "demo"))
        return vmig_cmd_demo(argc - 1, argv + 1);
    fprintf(stderr, "vmig: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
