// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_cli.c - the helpers every command shares: the usage error line, and
 * how an option getopt_long() refuses is named (a long one lacking its
 * argument, a short one inside a cluster)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <getopt.h>
#include <cmocka.h>

#include "cli.h"

/**
 * refused() - run getopt_long() on a command line until it refuses an
 * option, and return what cli_bad_option() prints
 * @argc:	argument count
 * @argv:	arguments, argv[0] the command
 * @buf:	the message, NUL-terminated
 * @len:	size of @buf
 *
 * Return: the length of the message (a NUL byte in it shortens strlen())
 */
static size_t refused(int argc, char **argv, char *buf, size_t len)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 256 },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), opt;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		if (opt == '?') {
			assert_int_equal(cli_bad_option(argv[0], argv),
					 MOAT_EXIT_USAGE);
			break;
		}
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

/**
 * test_bad_option() - the option named is the one the user wrote
 * @state:	unused
 */
static void test_bad_option(void **state)
{
	char a0[] = "rm", a1[] = "-xf", a2[] = "a", b1[] = "--policy";
	char c1[] = "--frob", d1[] = "-f", d2[] = "-y";
	char *rm_cluster[] = { a0, a1, a2, NULL };
	char *missing[] = { a0, b1, NULL };
	char *unknown[] = { a0, c1, NULL };
	char *second[] = { a0, d1, d2, NULL };
	char buf[512];
	size_t n;

	(void)state;
	n = refused(3, rm_cluster, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "moat rm: option '-x' is not valid here or lacks its argument (see 'moat rm --help')\n");

	/* a long option without its argument: its name, no stray byte */
	n = refused(2, missing, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "moat rm: option '--policy' is not valid here or lacks its argument (see 'moat rm --help')\n");

	n = refused(2, unknown, buf, sizeof(buf));
	assert_string_equal(buf, "moat rm: option '--frob' is not valid here or lacks its argument (see 'moat rm --help')\n");

	n = refused(3, second, buf, sizeof(buf));
	assert_string_equal(buf, "moat rm: option '-y' is not valid here or lacks its argument (see 'moat rm --help')\n");
}

/**
 * test_want_help() - help before "--" only
 * @state:	unused
 */
static void test_want_help(void **state)
{
	char a0[] = "exec", a1[] = "sb", a2[] = "-h", a3[] = "--", a4[] = "--help";
	char *before[] = { a0, a1, a2, NULL };
	char *after[] = { a0, a1, a3, a4, NULL };

	(void)state;
	assert_true(cli_want_help(3, before));
	assert_false(cli_want_help(4, after));
}

/**
 * main() - run the tests
 *
 * Return: number of failed tests
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_option),
		cmocka_unit_test(test_want_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
