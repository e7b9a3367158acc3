/* qmp_cmd.h — the `vmig qmp` subcommand, called by main.c. */
#ifndef VMIG_TOOL_QMP_CMD_H
#define VMIG_TOOL_QMP_CMD_H

/* argv[0] is "qmp". Returns the exit status: 0 ok, 1 error reply or
 * failure (one line on stderr), 2 bad usage. */
int vmig_cmd_qmp(int argc, char **argv);

#endif
