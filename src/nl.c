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
 *
 * The kernel's events come on another kind of socket (nl_watch_open()):
 * non-blocking, a member of one multicast group, and with a classic BPF
 * filter attached before it joins, so that only the events its owner asks
 * for ever wake it (a supervisor must not wake for every other sandbox's
 * changes).
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/netlink.h>

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

/**
 * nl_watch_open() - a netlink socket that hears one group's events,
 * filtered in the kernel
 * @bus:	NETLINK_ROUTE, NETLINK_NETFILTER, ...
 * @group:	the multicast group (RTNLGRP_LINK, NFNLGRP_NFTABLES, ...)
 * @prog:	socket filter: the events to pass
 *
 * The filter is attached before the socket joins the group, so that no
 * unfiltered event is ever queued.
 *
 * Return: descriptor (non-blocking, close-on-exec), or -errno
 */
int nl_watch_open(int bus, int group, const struct sock_fprog *prog)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, bus);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof(*prog)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		       sizeof(group))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
