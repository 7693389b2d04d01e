/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * netns.h - named network namespaces (/run/netns/NAME, as ip-netns(8))
 */
#ifndef MOAT_NETNS_H
#define MOAT_NETNS_H

#include "common.h"

#define NETNS_RUN_DIR	"/run/netns"

/**
 * struct netns_ident - what identifies a network namespace while it lives:
 * the device and inode of its nsfs file (as "ip netns identify" compares)
 * @dev:	st_dev
 * @ino:	st_ino
 */
struct netns_ident {
	unsigned long long dev;
	unsigned long long ino;
};

int netns_create(const char *path);
int netns_remove(const char *path);
int netns_open(const char *path);
int netns_enter(int nsfd);
int netns_open_in(int nsfd, const char *path, int flags);
int netns_sysctl(int nsfd, const char *key, const char *val);
int netns_sysctl_root(void);
int netns_sysctl_at(int dirfd, const char *key, const char *val,
		    bool if_differs);
int netns_sysctl_read(int nsfd, const char *key, char *buf, size_t len);
int netns_open_net(const char *path);
int netns_ident_fd(int fd, struct netns_ident *id);
int netns_ident_path(const char *path, struct netns_ident *id);
bool netns_ident_eq(const struct netns_ident *a, const struct netns_ident *b);
int netns_find(const char *hint, const struct netns_ident *id);
int netns_run_in(int nsfd, int (*fn)(void *), void *arg);

#endif /* MOAT_NETNS_H */
