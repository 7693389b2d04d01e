/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * cli.h - what every command's entry point (cmd_*()) shares: usage errors,
 * help, option parsing, root and configuration checks
 */
#ifndef MOAT_CLI_H
#define MOAT_CLI_H

#include "common.h"
#include "state.h"

int cli_usage_error(const char *cmd, const char *fmt, ...) PRINTF_FMT(2, 3);
bool cli_want_help(int argc, char **argv);
void cli_getopt_reset(void);
int cli_bad_option(const char *cmd, char **argv);
int cli_sandbox_name(const char *cmd, const char *name);
int cli_need_root(const char *cmd, const char *why);
int cli_load_config(struct moat_config *c);

#endif /* MOAT_CLI_H */
