/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * netns.h - named network namespaces (/run/netns/NAME, as ip-netns(8))
 */
#ifndef MOAT_NETNS_H
#define MOAT_NETNS_H

#include "common.h"

#define NETNS_RUN_DIR	"/run/netns"

int netns_create(const char *path);
int netns_remove(const char *path);
int netns_open(const char *path);
int netns_enter(int nsfd);
int netns_open_in(int nsfd, const char *path, int flags);
int netns_sysctl(int nsfd, const char *key, const char *val);
int netns_sysctl_read(int nsfd, const char *key, char *buf, size_t len);

#endif /* MOAT_NETNS_H */
