// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * cli.c - what every command's entry point shares
 *
 * Theory of operation
 * -------------------
 * "moat COMMAND [OPTIONS] [ARGS]" calls one entry point per command, named
 * cmd_COMMAND() and taking argc/argv after the command name: most are in
 * main.c, "moat logs" is cmd_logs() in logs.c, "moat verify" cmd_verify()
 * in verify.c. They all behave alike through the helpers here:
 *
 *   - a mistake on the command line is one line on stderr, "moat COMMAND:
 *     what (see 'moat COMMAND --help')", and exit status MOAT_EXIT_USAGE
 *     (cli_usage_error()); an option getopt_long() refuses is named as the
 *     user wrote it, also inside a cluster of short options
 *     (cli_bad_option());
 *   - "--help" or "-h" anywhere before "--" prints the command's help
 *     (cli_want_help()), or getopt_long() sees it;
 *   - options are parsed with getopt_long() from the start of the
 *     command's arguments, without its own messages (cli_getopt_reset());
 *   - what needs root says so and why, exit status MOAT_EXIT_FAILURE
 *     (cli_need_root()), checked after the usage (a usage error is
 *     reported to anyone); the host-wide settings are read once
 *     (cli_load_config()).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"
#include "err.h"

/**
 * cli_usage_error() - print a usage error line
 * @cmd:	command name
 * @fmt:	message
 *
 * Return: MOAT_EXIT_USAGE
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "moat %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'moat %s --help')\n", cmd);
	return MOAT_EXIT_USAGE;
}

/**
 * cli_want_help() - whether the arguments ask for help
 * @argc:	argument count
 * @argv:	arguments, argv[0] the command
 *
 * Return: true if "--help" or "-h" comes before "--"
 */
bool cli_want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

/**
 * cli_getopt_reset() - parse a command's options from its first argument,
 * getopt_long() printing nothing (cli_bad_option() does)
 *
 * optind 0, not 1, also forgets where a previous parse stopped inside a
 * cluster of short options (glibc and musl both reinitialise then).
 */
void cli_getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

/**
 * cli_bad_option() - the usage error for an option getopt_long() refused
 * @cmd:	command name
 * @argv:	the arguments getopt_long() was given
 *
 * An unknown short option, even inside a cluster ("-xf", where
 * argv[optind - 1] is not the argument holding it), is named by its
 * character; a long one, unknown or lacking its argument, as written.
 *
 * Return: MOAT_EXIT_USAGE
 */
int cli_bad_option(const char *cmd, char **argv)
{
	const char *arg = argv[optind - 1];

	if (optopt > 0 && optopt < 0x80 && isgraph(optopt) &&
	    strncmp(arg, "--", 2))
		return cli_usage_error(cmd, "option '-%c' is not valid here or lacks its argument",
				       optopt);
	return cli_usage_error(cmd, "option '%s' is not valid here or lacks its argument",
			       arg);
}

/**
 * cli_sandbox_name() - refuse an argument that cannot name a sandbox
 * @cmd:	command name
 * @name:	the argument
 *
 * Return: 0, or MOAT_EXIT_USAGE after printing why
 */
int cli_sandbox_name(const char *cmd, const char *name)
{
	if (state_name_valid(name))
		return 0;
	return cli_usage_error(cmd, "'%s' is not a sandbox name", name);
}

/**
 * cli_need_root() - refuse a command that needs root when not root
 * @cmd:	command name
 * @why:	what it does that needs root ("it changes the host's network")
 *
 * Return: 0 if root, else MOAT_EXIT_FAILURE after printing why
 */
int cli_need_root(const char *cmd, const char *why)
{
	if (geteuid() == 0)
		return 0;
	msg_err("%s: must be run as root: %s", cmd, why);
	return MOAT_EXIT_FAILURE;
}

/**
 * cli_load_config() - read the host-wide settings, or print why not
 * @c:		filled in
 *
 * Return: 0, or MOAT_EXIT_FAILURE after printing why
 */
int cli_load_config(struct moat_config *c)
{
	char *err;

	if (state_config_load(c, &err)) {
		msg_err("%s", err);
		free(err);
		return MOAT_EXIT_FAILURE;
	}
	return 0;
}
