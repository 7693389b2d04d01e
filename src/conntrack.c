// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * conntrack.c - removing a sandbox instance's connection-tracking entries
 *
 * Theory of operation
 * -------------------
 * Every connection of a sandbox instance carries the instance's conntrack
 * mark (nft.c, nft_instance_rules()), and only traffic of connections
 * with the sandbox's own mark passes as established. When a sandbox is
 * removed, its entries are therefore useless to any later sandbox; they
 * are also removed, so that they stop occupying the host's conntrack
 * table (a TCP entry lives five days) and a later sandbox with the same
 * address does not even collide with them.
 *
 * One ctnetlink message does it: IPCTNL_MSG_CT_DELETE without a tuple is
 * a flush, and with CTA_MARK and CTA_MARK_MASK the kernel flushes only the
 * entries whose mark matches, in every family (nfgen_family AF_UNSPEC).
 * libmnl builds it (already a dependency); libnetfilter_conntrack would
 * add a library for this one message.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"

/**
 * conntrack_flush_mark() - delete every conntrack entry with a given mark
 * @mark:	the exact mark (all 32 bits)
 *
 * Return: 0 (also when no entry had the mark), or -errno
 */
int conntrack_flush_mark(uint32_t mark)
{
	char buf[8192];
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	unsigned int seq = (unsigned int)time(NULL), portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	portid = mnl_socket_get_portid(nl);
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(0xffffffff));

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		ret = -errno;
	else
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0 ?
		      -errno : 0;
	mnl_socket_close(nl);
	return ret == -ENOENT ? 0 : ret;
}
