// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * nl.c - netlink request sockets
 *
 * Theory of operation
 * -------------------
 * moat talks to the kernel over netlink with libmnl in several places
 * (nftables batches and pins, conntrack flushes, routing rules, IPsec
 * policies, tc filters, the link counters of "moat stats"): each opens a
 * socket, binds it to an automatic port ID, sends a request and reads the
 * answers, never waiting for ever. nl_open() is that opening, once:
 * close-on-exec, bound, and with a receive timeout (NL_TIMEOUT_S for a
 * request's answer), so that a kernel that never answers turns into an
 * error instead of a hang.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "nl.h"

/**
 * nl_open() - a bound netlink socket with a receive timeout
 * @bus:	NETLINK_NETFILTER, NETLINK_ROUTE, NETLINK_XFRM, ...
 * @timeout_s:	seconds a read may wait
 *
 * Return: the socket (mnl_socket_close() it), or NULL with errno set
 */
struct mnl_socket *nl_open(int bus, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int e;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv))) {
		e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}
