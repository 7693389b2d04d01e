/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * exec.h - running a command inside a sandbox, contained and unprivileged
 */
#ifndef MOAT_EXEC_H
#define MOAT_EXEC_H

#include <sys/types.h>

#include "addr.h"
#include "common.h"

/**
 * struct exec_user - who a sandboxed command runs as
 * @uid:	user ID
 * @gid:	primary group ID
 * @name:	user name if the UID has a passwd entry ("" otherwise)
 * @explicit_gid: the group was given with --user UID:GID
 */
struct exec_user {
	uid_t uid;
	gid_t gid;
	char name[64];
	bool explicit_gid;
};

int exec_parse_user(const char *s, struct exec_user *u);
int exec_default_user(struct exec_user *u);
int exec_drop_privileges(const struct exec_user *u);
int exec_write_resolv_conf(const char *path, const struct prefix *gw4,
			   const struct prefix *gw6);
void exec_outside_ids(const struct exec_user *u, uid_t *uid, gid_t *gid);
int exec_run(int nsfd, const char *resolv, const char *ca_bundle,
	     const char *run_dir,
	     const struct exec_user *u, char *const argv[], bool linger);

#endif /* MOAT_EXEC_H */
