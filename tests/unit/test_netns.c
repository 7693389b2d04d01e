// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_netns.c - unit tests of the sysctl writes below an open directory
 * (netns.c): netns_sysctl_at() writes the value at the start of the file,
 * leaves a file that already holds it alone when asked to (its time
 * unchanged), and refuses
 * keys that climb out of the directory; netns_sysctl_root() gives a
 * directory in which the kernel's sysctls are found (the private proc
 * instance as root, /proc/sys otherwise). The writes are checked on
 * ordinary files, which behave as sysctl files do for a write at offset 0
 * of a value shorter than what they hold.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common.h"
#include "netns.h"

/**
 * test_netns_file() - write @text as file @name under @dir
 * @dir:	directory descriptor
 * @name:	file
 * @text:	content
 */
static void test_netns_file(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/**
 * test_netns_read() - the content of file @name under @dir
 * @dir:	directory descriptor
 * @name:	file
 * @buf:	64 bytes
 */
static void test_netns_read(int dir, const char *name, char *buf)
{
	int fd = openat(dir, name, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, 63);
	assert_true(n >= 0);
	buf[n] = 0;
	close(fd);
}

/**
 * test_netns_old() - set file @name's times to 1000 s after the epoch
 * @dir:	directory descriptor
 * @name:	file
 */
static void test_netns_old(int dir, const char *name)
{
	const struct timespec t[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };

	assert_int_equal(utimensat(dir, name, t, 0), 0);
}

/**
 * test_netns_at() - writes, the same value left alone, bad keys refused
 * @state:	unused
 *
 * Whether a write happened is told by the file's time, set far in the
 * past before each call.
 */
static void test_netns_at(void **state)
{
	static const struct {
		const char *before;
		const char *val;
		bool if_differs;
		const char *after;
		bool written;
	} cases[] = {
		/* a plain write: at offset 0, whatever the file held */
		{ "0\n", "1", false, "1\n", true },
		{ "1\n", "1", false, "1\n", true },
		/* if_differs: the same value is not written, another is */
		{ "1\n", "1", true, "1\n", false },
		{ "1\n", "2", true, "2\n", true },
		/* a prefix of the value is not the value */
		{ "0 2147483647\n", "0", true, "0 2147483647\n", true },
		{ "0 2147483647\n", "1 2147483647", true, "1 2147483647\n", true },
		{ "0 2147483647\n", "0 2147483647", true, "0 2147483647\n", false },
	};
	char tmpl[] = "/tmp/moat-test-netns.XXXXXX", buf[64];
	struct stat st;
	size_t i;
	int dir;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	dir = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_true(dir >= 0);
	assert_int_equal(mkdirat(dir, "conf", 0700), 0);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test_netns_file(dir, "conf/x", cases[i].before);
		test_netns_old(dir, "conf/x");
		assert_int_equal(netns_sysctl_at(dir, "conf/x", cases[i].val,
						 cases[i].if_differs), 0);
		test_netns_read(dir, "conf/x", buf);
		assert_string_equal(buf, cases[i].after);
		assert_int_equal(fstatat(dir, "conf/x", &st, 0), 0);
		assert_int_equal(st.st_mtim.tv_sec > 1000, cases[i].written);
	}

	assert_int_equal(netns_sysctl_at(dir, "conf/none", "1", false), -ENOENT);
	assert_int_equal(netns_sysctl_at(dir, "../x", "1", false), -EINVAL);
	assert_int_equal(netns_sysctl_at(dir, "conf/../../x", "1", false),
			 -EINVAL);
	assert_int_equal(netns_sysctl_at(dir, "/etc/passwd", "1", false),
			 -EINVAL);

	assert_int_equal(unlinkat(dir, "conf/x", 0), 0);
	assert_int_equal(unlinkat(dir, "conf", AT_REMOVEDIR), 0);
	close(dir);
	assert_int_equal(rmdir(tmpl), 0);
}

/**
 * test_netns_root() - the kernel's sysctls are found below the root
 * @state:	unused
 */
static void test_netns_root(void **state)
{
	char buf[64];
	int root = netns_sysctl_root();

	(void)state;
	assert_true(root >= 0);
	test_netns_read(root, "kernel/ostype", buf);
	assert_string_equal(buf, "Linux\n");
	close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_at),
		cmocka_unit_test(test_netns_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
