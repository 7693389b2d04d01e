/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * nl.h - netlink request sockets
 */
#ifndef MOAT_NL_H
#define MOAT_NL_H

#include <libmnl/libmnl.h>

#define NL_TIMEOUT_S	2	/* how long a request waits for its answer */
#define NL_BUF		8192	/* a request, a small batch, or an answer */

struct sock_fprog;
struct mnl_socket *nl_open(int bus, int timeout_s);
int nl_watch_open(int bus, int group, const struct sock_fprog *prog);

#endif /* MOAT_NL_H */
