// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_exec.c - unit tests of who a command runs as: --user parsing, and
 * the host IDs its user namespace maps it to (exec_outside_ids()): every
 * ID to itself but 0, which maps to the user who ran sudo (only when moat
 * runs as root, and never to 0) or else to 65534.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "exec.h"

/**
 * outside() - exec_outside_ids() for a UID and GID, with SUDO_* set
 * @uid:	UID inside
 * @gid:	GID inside
 * @su:		SUDO_UID, or NULL to unset it
 * @sg:		SUDO_GID, or NULL to unset it
 * @ouid:	set to the host UID
 * @ogid:	set to the host GID
 */
static void outside(uid_t uid, gid_t gid, const char *su, const char *sg,
		    uid_t *ouid, gid_t *ogid)
{
	struct exec_user u = { .uid = uid, .gid = gid };

	if (su)
		setenv("SUDO_UID", su, 1);
	else
		unsetenv("SUDO_UID");
	if (sg)
		setenv("SUDO_GID", sg, 1);
	else
		unsetenv("SUDO_GID");
	exec_outside_ids(&u, ouid, ogid);
}

/**
 * test_outside_ids() - the ID maps of the command's user namespace
 * @state:	unused
 */
static void test_outside_ids(void **state)
{
	bool root = getuid() == 0;
	uid_t ou;
	gid_t og;

	(void)state;
	/* a non-root user maps to itself, sudo or not */
	outside(1000, 1000, "1234", "1234", &ou, &og);
	assert_int_equal(ou, 1000);
	assert_int_equal(og, 1000);
	outside(65534, 65534, NULL, NULL, &ou, &og);
	assert_int_equal(ou, 65534);
	assert_int_equal(og, 65534);
	/* root without sudo: nobody, nogroup */
	outside(0, 0, NULL, NULL, &ou, &og);
	assert_int_equal(ou, 65534);
	assert_int_equal(og, 65534);
	/* root under sudo: the user who ran it (when moat is root) */
	outside(0, 0, "1234", "2345", &ou, &og);
	assert_int_equal(ou, root ? 1234 : 65534);
	assert_int_equal(og, root ? 2345 : 65534);
	/* a non-root user with group 0 */
	outside(1000, 0, "1234", "2345", &ou, &og);
	assert_int_equal(ou, 1000);
	assert_int_equal(og, root ? 2345 : 65534);
	/* never to 0, whatever SUDO_* say */
	outside(0, 0, "0", "0", &ou, &og);
	assert_int_equal(ou, 65534);
	assert_int_equal(og, 65534);
	outside(0, 0, "12x", "-1", &ou, &og);
	assert_int_equal(ou, 65534);
	assert_int_equal(og, 65534);
	outside(0, 0, "", "", &ou, &og);
	assert_int_equal(ou, 65534);
	assert_int_equal(og, 65534);
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
}

/**
 * test_parse_user() - --user UID[:GID]
 * @state:	unused
 */
static void test_parse_user(void **state)
{
	struct exec_user u;

	(void)state;
	assert_int_equal(exec_parse_user("0", &u), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_false(u.explicit_gid);
	assert_int_equal(exec_parse_user("65534:65534", &u), 0);
	assert_int_equal(u.uid, 65534);
	assert_int_equal(u.gid, 65534);
	assert_true(u.explicit_gid);
	assert_int_equal(exec_parse_user("root", &u), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(exec_parse_user("4242", &u), 0);	/* no entry */
	assert_int_equal(u.gid, 4242);
	assert_int_equal(exec_parse_user("", &u), -1);
	assert_int_equal(exec_parse_user("0:", &u), -1);
	assert_int_equal(exec_parse_user("no-such-user-xyz", &u), -1);
	assert_int_equal(exec_parse_user("0:no-such-group-xyz", &u), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_ids),
		cmocka_unit_test(test_parse_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
