// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * conntrack.c - removing a sandbox instance's connection-tracking entries,
 * all of them or those a policy refuses
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
 *
 * A live policy change ("moat update") keeps the instance and its mark,
 * and removes only the entries the new policy refuses (conntrack_cut()):
 * one dump filtered by the mark in the kernel, the caller's verdict on
 * each entry's tuples, then one deletion by original tuple per refused
 * entry. What a deleted entry's next packet meets is the new policy, as
 * new traffic: from the sandbox, judged (refused) by its forward chain;
 * towards it, dropped (nothing new enters a sandbox).
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
#include "nl.h"

/**
 * conntrack_flush_mark() - delete every conntrack entry with a given mark
 * @mark:	the exact mark (all 32 bits)
 *
 * Return: 0 (also when no entry had the mark), or -errno
 */
int conntrack_flush_mark(uint32_t mark)
{
	char buf[NL_BUF];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	unsigned int seq = (unsigned int)time(NULL), portid;
	ssize_t n;
	int ret;

	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);

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

/**
 * struct ct_walk - entries of one dump, and what to do with them
 * @keep:	the caller's verdict on one entry
 * @arg:	its argument
 * @del:	raw CTA_TUPLE_ORIG attributes of the entries to delete
 * @dlen:	their lengths
 * @dfam:	their families
 * @n:		entries in @del
 * @cap:	slots allocated
 * @seen:	entries the dump returned
 */
struct ct_walk {
	conntrack_keep_fn keep;
	void *arg;
	uint8_t **del;
	uint16_t *dlen;
	uint8_t *dfam;
	size_t n;
	size_t cap;
	size_t seen;
};

/**
 * conntrack_tuple() - read one CTA_TUPLE_* attribute
 * @nest:	the attribute
 * @family:	AF_INET or AF_INET6
 * @src:	set to the source address (a host prefix)
 * @dst:	set to the destination address
 * @proto:	set to the layer 4 protocol
 * @sport:	set to the source port (0 without ports)
 * @dport:	set to the destination port (0 without ports)
 */
static void conntrack_tuple(const struct nlattr *nest, int family,
			    struct prefix *src, struct prefix *dst,
			    uint8_t *proto, uint16_t *sport, uint16_t *dport)
{
	const struct nlattr *a, *b;

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	src->family = dst->family = family;
	src->plen = dst->plen = family == AF_INET ? 32 : 128;
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			mnl_attr_for_each_nested(b, a) {
				uint16_t t = mnl_attr_get_type(b);
				size_t l = mnl_attr_get_payload_len(b);

				if ((t == CTA_IP_V4_SRC || t == CTA_IP_V4_DST) && l == 4)
					memcpy(t == CTA_IP_V4_SRC ? src->addr : dst->addr,
					       mnl_attr_get_payload(b), 4);
				if ((t == CTA_IP_V6_SRC || t == CTA_IP_V6_DST) && l == 16)
					memcpy(t == CTA_IP_V6_SRC ? src->addr : dst->addr,
					       mnl_attr_get_payload(b), 16);
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a) {
				switch (mnl_attr_get_type(b)) {
				case CTA_PROTO_NUM:
					*proto = mnl_attr_get_u8(b);
					break;
				case CTA_PROTO_SRC_PORT:
					*sport = ntohs(mnl_attr_get_u16(b));
					break;
				case CTA_PROTO_DST_PORT:
					*dport = ntohs(mnl_attr_get_u16(b));
					break;
				}
			}
			break;
		}
	}
}

/**
 * conntrack_walk_cb() - one entry of the dump
 * @nlh:	message
 * @data:	struct ct_walk
 *
 * Return: MNL_CB_OK
 */
static int conntrack_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *orig = NULL, *reply = NULL;
	struct ct_walk *w = data;
	struct conntrack_flow fl = { 0 };
	struct prefix rdst;
	uint16_t rdport = 0;
	uint8_t rproto = 0;

	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			orig = a;
		else if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			reply = a;
	}
	if (!orig || !reply)
		return MNL_CB_OK;
	w->seen++;
	conntrack_tuple(orig, nfg->nfgen_family, &fl.src, &fl.dst, &fl.proto,
			&fl.sport, &fl.dport);
	conntrack_tuple(reply, nfg->nfgen_family, &fl.rsrc, &rdst, &rproto,
			&fl.rsport, &rdport);
	if (w->keep(&fl, w->arg))
		return MNL_CB_OK;
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->del = xrealloc(w->del, w->cap * sizeof(*w->del));
		w->dlen = xrealloc(w->dlen, w->cap * sizeof(*w->dlen));
		w->dfam = xrealloc(w->dfam, w->cap * sizeof(*w->dfam));
	}
	w->dlen[w->n] = mnl_attr_get_payload_len(orig);
	w->del[w->n] = xmalloc(w->dlen[w->n]);
	memcpy(w->del[w->n], mnl_attr_get_payload(orig), w->dlen[w->n]);
	w->dfam[w->n] = nfg->nfgen_family;
	w->n++;
	return MNL_CB_OK;
}

/**
 * conntrack_msg() - start a ctnetlink message
 * @buf:	buffer, MNL_SOCKET_BUFFER_SIZE bytes at least
 * @type:	IPCTNL_MSG_CT_*
 * @flags:	netlink flags besides NLM_F_REQUEST
 * @family:	nfgen family
 * @seq:	sequence number
 *
 * Return: the message header
 */
static struct nlmsghdr *conntrack_msg(char *buf, int type, uint16_t flags,
				      uint8_t family, unsigned int seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/**
 * conntrack_cut() - delete the entries with a mark that a verdict refuses
 * @mark:	the exact mark (all 32 bits)
 * @keep:	called for each entry with the mark: true keeps it
 * @arg:	passed to @keep
 * @cut:	set to the number of entries deleted
 *
 * One dump filtered by mark in the kernel (CTA_MARK, CTA_MARK_MASK), then
 * one IPCTNL_MSG_CT_DELETE by original tuple for each entry @keep refuses
 * (an entry that ended meanwhile is not an error). A deleted entry's next
 * packet is new traffic to the sandbox's chains: judged by the policy in
 * force, and never let into the sandbox as a reply.
 *
 * Return: 0, or -errno if the table could not be read
 */
int conntrack_cut(uint32_t mark, conntrack_keep_fn keep, void *arg,
		  size_t *cut)
{
	struct ct_walk w = { .keep = keep, .arg = arg };
	unsigned int seq = (unsigned int)time(NULL), portid;
	char *buf = xmalloc(MNL_SOCKET_BUFFER_SIZE);
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	ssize_t n;
	size_t i;
	int ret;

	*cut = 0;
	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl) {
		free(buf);
		return -errno;
	}
	portid = mnl_socket_get_portid(nl);

	nlh = conntrack_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(mark));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(0xffffffff));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = 0;
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, conntrack_walk_cb, &w);
		if (ret <= 0) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
	if (ret)
		goto out;

	for (i = 0; i < w.n; i++) {
		struct nlattr *nest;

		seq++;
		nlh = conntrack_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
				    w.dfam[i], seq);
		nest = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		memcpy(mnl_nlmsg_get_payload_tail(nlh), w.del[i], w.dlen[i]);
		nlh->nlmsg_len += MNL_ALIGN(w.dlen[i]);
		mnl_attr_nest_end(nlh, nest);
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			continue;
		n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
		if (n >= 0 && mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) >= 0)
			(*cut)++;
	}
out:
	for (i = 0; i < w.n; i++)
		free(w.del[i]);
	free(w.del);
	free(w.dlen);
	free(w.dfam);
	free(buf);
	mnl_socket_close(nl);
	return ret;
}
