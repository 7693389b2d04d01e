// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * ct.c - forget a removed sandbox's connections in the host's conntrack
 *
 * Theory of operation
 * -------------------
 * The host's connection tracking table is shared by every sandbox and the
 * host itself. While a sandbox lives, its chains bound what it holds there
 * (nft.c, limits.flows). When it is removed, its entries would stay until
 * conntrack times them out (an established TCP connection: five days), and
 * its count goes with its chains: a sandbox created, flooded and removed
 * over and over would fill the table. So tear-down deletes every entry
 * whose original source is one of the sandbox's addresses (its traffic
 * came in on its own link only: spoofed sources are dropped before
 * conntrack, nft.c), once its link is gone and nothing can add new ones.
 *
 * Over ctnetlink (libmnl): one dump per family, filtered by the kernel on
 * the original source address where it can (CTA_FILTER, Linux 5.9 and
 * later; older kernels ignore it and dump everything) and always checked
 * here, then one delete per entry, naming its original tuple (and zone)
 * as the dump gave them. An entry gone in between (ENOENT) is not an
 * error.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "common.h"
#include "ct.h"

/* the kernel's CTA_FILTER_F_CTA_IP_SRC (nf_conntrack_netlink.c): not in
 * the UAPI headers, part of the ABI since Linux 5.9 */
#define CT_FILTER_IP_SRC	(1U << 0)

#define CT_BUF			32768	/* bytes: a request, a batch of answers */

/**
 * struct ct_match - entries to delete, collected from a dump
 * @src:	original source address to match
 * @tuple:	for each entry, its CTA_TUPLE_ORIG attribute, then its
 *		CTA_ZONE attribute if any, as the kernel sent them
 * @len:	length of each
 * @n:		number of entries
 * @cap:	allocated
 */
struct ct_match {
	const struct prefix *src;
	uint8_t **tuple;
	size_t *len;
	size_t n;
	size_t cap;
};

/**
 * ct_attr_cb() - index the attributes of one level
 * @attr:	attribute
 * @data:	array of CTA_MAX + 1 (large enough for every nested level)
 *
 * Return: MNL_CB_OK
 */
static int ct_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= CTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

/**
 * ct_src_is() - whether an entry's original source is the address sought
 * @orig:	its CTA_TUPLE_ORIG attribute
 * @src:	address
 *
 * Return: true if it is
 */
static bool ct_src_is(const struct nlattr *orig, const struct prefix *src)
{
	const struct nlattr *t[CTA_MAX + 1] = { 0 }, *ip[CTA_MAX + 1] = { 0 };
	int a = src->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	size_t l = src->family == AF_INET ? 4 : 16;

	if (mnl_attr_parse_nested(orig, ct_attr_cb, t) < 0 || !t[CTA_TUPLE_IP] ||
	    mnl_attr_parse_nested(t[CTA_TUPLE_IP], ct_attr_cb, ip) < 0 || !ip[a])
		return false;
	return mnl_attr_get_payload_len(ip[a]) == l &&
	       !memcmp(mnl_attr_get_payload(ip[a]), src->addr, l);
}

/**
 * ct_dump_cb() - one entry of the dump: keep it if its source matches
 * @nlh:	message
 * @data:	struct ct_match
 *
 * Return: MNL_CB_OK
 */
static int ct_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	struct ct_match *m = data;
	size_t lo, lz = 0;
	uint8_t *p;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, tb) < 0 ||
	    !tb[CTA_TUPLE_ORIG] || !ct_src_is(tb[CTA_TUPLE_ORIG], m->src))
		return MNL_CB_OK;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->tuple = xrealloc(m->tuple, m->cap * sizeof(*m->tuple));
		m->len = xrealloc(m->len, m->cap * sizeof(*m->len));
	}
	lo = MNL_ALIGN(tb[CTA_TUPLE_ORIG]->nla_len);
	if (tb[CTA_ZONE])
		lz = MNL_ALIGN(tb[CTA_ZONE]->nla_len);
	p = xcalloc(1, lo + lz);
	memcpy(p, tb[CTA_TUPLE_ORIG], tb[CTA_TUPLE_ORIG]->nla_len);
	if (lz)
		memcpy(p + lo, tb[CTA_ZONE], tb[CTA_ZONE]->nla_len);
	m->tuple[m->n] = p;
	m->len[m->n++] = lo + lz;
	return MNL_CB_OK;
}

/**
 * ct_request() - start a ctnetlink request
 * @buf:	buffer of CT_BUF bytes
 * @type:	IPCTNL_MSG_CT_GET or IPCTNL_MSG_CT_DELETE
 * @flags:	NLM_F_* besides NLM_F_REQUEST
 * @family:	AF_INET or AF_INET6
 * @seq:	sequence number
 *
 * Return: the message, to add attributes to
 */
static struct nlmsghdr *ct_request(char *buf, int type, uint16_t flags,
				   int family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/**
 * ct_talk() - send a request, run the answers through a callback
 * @nl:		socket
 * @nlh:	request
 * @cb:		callback for data messages, or NULL (an ACK is awaited)
 * @data:	its argument
 *
 * Return: 0, or -errno (of the kernel's answer, or of the socket)
 */
static int ct_talk(struct mnl_socket *nl, struct nlmsghdr *nlh,
		   mnl_cb_t cb, void *data)
{
	char buf[CT_BUF];
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)r, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

/**
 * ct_forget_src() - delete the host's conntrack entries from an address
 * @src:	the address (family and address; the prefix length is unused)
 * @n:		set to the number of entries deleted
 *
 * Return: 0, or -errno (ctnetlink unavailable, say); entries that vanished
 *	   on their own meanwhile are not an error
 */
int ct_forget_src(const struct prefix *src, size_t *n)
{
	struct ct_match m = { .src = src };
	char buf[CT_BUF];
	struct timeval tv = { .tv_sec = 5 };
	uint32_t seq = (uint32_t)time(NULL);
	struct nlattr *orig, *ip, *filter;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	int ret;
	size_t k;

	*n = 0;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	nlh = ct_request(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, src->family, seq++);
	orig = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, src->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC,
		     src->family == AF_INET ? 4 : 16, src->addr);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, orig);
	filter = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, CT_FILTER_IP_SRC);
	mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS, 0);
	mnl_attr_nest_end(nlh, filter);
	ret = ct_talk(nl, nlh, ct_dump_cb, &m);
	if (ret == -ENOENT)
		ret = 0;

	for (k = 0; !ret && k < m.n; k++) {
		nlh = ct_request(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
				 src->family, seq++);
		memcpy(mnl_nlmsg_get_payload_tail(nlh), m.tuple[k], m.len[k]);
		nlh->nlmsg_len += (uint32_t)m.len[k];
		ret = ct_talk(nl, nlh, NULL, NULL);
		if (ret == -ENOENT)
			ret = 0;
		else if (!ret)
			(*n)++;
	}
out:
	for (k = 0; k < m.n; k++)
		free(m.tuple[k]);
	free(m.tuple);
	free(m.len);
	mnl_socket_close(nl);
	return ret;
}
