/* analyze.h — the `vmig analyze` subcommand, called by main.c. */
#ifndef VMIG_TOOL_ANALYZE_H
#define VMIG_TOOL_ANALYZE_H

/* argv[0] is "analyze". Returns the exit status: 0 ok, 1 broken stream or
 * I/O error (one line on stderr), 2 bad usage. */
int vmig_cmd_analyze(int argc, char **argv);

#endif
