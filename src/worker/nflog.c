// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * nflog.c - the denials nftables logs to a sandbox's NFLOG group: binding
 * the group, reading and parsing its messages
 *
 * Theory of operation
 * -------------------
 * Every denial in a sandbox's chains is preceded by a rule that logs the
 * packet to the sandbox's NFLOG group (nft.c: group 16384 + the index of
 * its interface, prefix "moat:<reason>", behind one named limit of 20
 * packets a second, burst 40, per sandbox), so a flood reaches userspace
 * at a bounded rate whatever the sandbox sends. The counters behind the
 * verdicts count every packet; the log shows a sample when it floods.
 *
 * The supervisor binds that group on a netfilter netlink socket
 * (nflog_bind(); libmnl: the few messages of nfnetlink_log are simpler to
 * build than to wrap, and libmnl is already a dependency), asking for the
 * first NFLOG_COPY bytes of each packet, and registers the socket with its
 * epoll loop. nflog_read() reads what is queued (at most NFLOG_BATCH
 * datagrams per wake-up), nflog_parse() walks the messages and
 * nflog_packet_parse() the IP and transport headers; both take bytes the
 * sandbox chose, so they are bounds-checked and fuzzed
 * (fuzz/fuzz_nflog.c). Each packet found goes to a callback: log.c makes
 * a record of it. If the group cannot be bound (another process holds
 * it), the supervisor runs without denial logs and says why in its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"
#include "nft.h"

#define NFLOG_BATCH		64		/* datagrams per wake-up */
#define NFLOG_RCVBUF		(256 * 1024)	/* socket receive buffer */
#define NFLOG_DATAGRAM_MAX	65536		/* one read of the socket */
#define NFLOG_CFG_BUF		8192		/* a configuration message, its ack */

/**
 * nflog_cfg() - send one configuration message for a group, with ack
 * @nl:		netfilter netlink socket
 * @family:	nfgen_family
 * @group:	group (res_id)
 * @type:	NFULA_CFG_CMD or NFULA_CFG_MODE
 * @data:	attribute payload
 * @len:	its length
 *
 * Return: 0, or -errno
 */
static int nflog_cfg(struct mnl_socket *nl, uint8_t family, uint16_t group,
		     uint16_t type, const void *data, size_t len)
{
	char buf[NFLOG_CFG_BUF];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t seq = (uint32_t)time(NULL) + type;
	ssize_t n;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	mnl_attr_put(nlh, type, len, data);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

/**
 * nflog_bind() - bind an NFLOG group on a netfilter netlink socket of its own
 * @group:	the group (a sandbox's: nft_log_group())
 * @fd:		set to the socket's descriptor (for the caller's epoll loop),
 *		-1 on failure
 * @err:	set to why on failure
 * @errlen:	size of @err
 *
 * The socket copies the first NFLOG_COPY bytes of each packet, one message
 * per packet at once (queue threshold 1), and is non-blocking.
 *
 * Return: the socket, or NULL (errno set) with @err set
 */
struct mnl_socket *nflog_bind(unsigned group, int *fd, char *err,
			      size_t errlen)
{
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(NFLOG_COPY),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	uint32_t qthresh = htonl(1);
	int rcvbuf = NFLOG_RCVBUF, ret;
	struct mnl_socket *nl;

	*fd = -1;
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		ret = -errno;
		if (nl)
			mnl_socket_close(nl);
		snprintf(err, errlen, "netfilter netlink socket: %s",
			 strerror(-ret));
		errno = -ret;
		return NULL;
	}
	*fd = mnl_socket_get_fd(nl);
	setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ret = nflog_cfg(nl, AF_UNSPEC, (uint16_t)group, NFULA_CFG_CMD, &cmd,
			sizeof(cmd));
	if (!ret)
		ret = nflog_cfg(nl, AF_UNSPEC, (uint16_t)group, NFULA_CFG_MODE,
				&mode, sizeof(mode));
	/* one message per packet, at once: no batching delay */
	if (!ret)
		ret = nflog_cfg(nl, AF_UNSPEC, (uint16_t)group,
				NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh));
	if (ret) {
		snprintf(err, errlen, "cannot bind NFLOG group %u: %s", group,
			 strerror(-ret));
		mnl_socket_close(nl);
		*fd = -1;
		errno = -ret;
		return NULL;
	}
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
	return nl;
}

/**
 * nflog_close() - close a socket nflog_bind() opened
 * @nl:		socket, or NULL
 */
void nflog_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

/**
 * nflog_read() - read and parse what an NFLOG socket holds (EPOLLIN)
 * @fd:		the socket's descriptor, non-blocking
 * @fn:		called for each packet nflog_parse() finds
 * @opaque:	passed to @fn
 * @lost:	incremented for each time the kernel could not queue
 *		messages (ENOBUFS)
 *
 * At most NFLOG_BATCH datagrams per call, so that a flood cannot hold the
 * caller's loop.
 */
void nflog_read(int fd, nflog_pkt_fn fn, void *opaque, uint64_t *lost)
{
	char buf[NFLOG_DATAGRAM_MAX] __attribute__((aligned(8)));
	ssize_t n;
	int i;

	for (i = 0; i < NFLOG_BATCH; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				(*lost)++;
				continue;
			}
			return;		/* EAGAIN, or nothing we can do */
		}
		if (n == 0)
			return;
		nflog_parse(buf, (size_t)n, fn, opaque);
	}
}

/**
 * nflog_l4_parse() - ports (or ICMP type and code) of a transport header
 * @l4:		transport header
 * @len:	bytes available
 * @p:		packet, @proto set; ports filled in
 */
static void nflog_l4_parse(const uint8_t *l4, size_t len, struct nflog_pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (len < 4)
			return;
		p->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		p->dport = (uint16_t)(l4[2] << 8 | l4[3]);
		p->has_ports = true;
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < 2)
			return;
		p->sport = l4[0];
		p->dport = l4[1];
		p->has_ports = true;
		return;
	}
}

/**
 * nflog_packet_parse() - addresses and ports of a logged packet
 * @pkt:	network header onwards (NFULA_PAYLOAD), chosen by the sandbox
 * @len:	its length (at most NFLOG_COPY of the packet)
 * @p:		filled in (family 0 if not IPv4 or IPv6)
 *
 * IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment) are skipped, at most eight of them; a non-first fragment has
 * no ports.
 *
 * Return: 0, or -1 if there is no valid IP header
 */
int nflog_packet_parse(const uint8_t *pkt, size_t len, struct nflog_pkt *p)
{
	size_t off;
	int i;

	p->family = 0;
	p->has_ports = false;
	p->sport = p->dport = 0;
	if (len < 1)
		return -1;
	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		uint16_t frag;

		if (len < 20 || ihl < 20 || ihl > len)
			return -1;
		p->family = AF_INET;
		p->proto = pkt[9];
		memset(p->src, 0, sizeof(p->src));
		memset(p->dst, 0, sizeof(p->dst));
		memcpy(p->src, pkt + 12, 4);
		memcpy(p->dst, pkt + 16, 4);
		frag = (uint16_t)((pkt[6] & 0x1f) << 8 | pkt[7]);
		if (!frag)
			nflog_l4_parse(pkt + ihl, len - ihl, p);
		return 0;
	}
	if ((pkt[0] >> 4) != 6 || len < 40)
		return -1;
	p->family = AF_INET6;
	memcpy(p->src, pkt + 8, 16);
	memcpy(p->dst, pkt + 24, 16);
	p->proto = pkt[6];
	off = 40;
	for (i = 0; i < 8; i++) {
		switch (p->proto) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (off + 8 > len)
				return 0;
			p->proto = pkt[off];
			off += ((size_t)pkt[off + 1] + 1) * 8;
			continue;
		case 44:	/* fragment */
			if (off + 8 > len)
				return 0;
			p->proto = pkt[off];
			if ((pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8)
				return 0;	/* not the first fragment */
			off += 8;
			continue;
		}
		break;
	}
	if (off < len)
		nflog_l4_parse(pkt + off, len - off, p);
	return 0;
}

/**
 * struct nflog_attrs - attributes of one NFLOG packet message
 * @tb:		by type, NULL if absent
 */
struct nflog_attrs {
	const struct nlattr *tb[NFULA_MAX + 1];
};

/**
 * nflog_attr_cb() - collect one attribute (mnl_attr_parse() callback)
 * @attr:	attribute
 * @data:	struct nflog_attrs
 *
 * Return: MNL_CB_OK
 */
static int nflog_attr_cb(const struct nlattr *attr, void *data)
{
	struct nflog_attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= NFULA_MAX)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/**
 * nflog_parse() - walk a datagram of NFLOG messages
 * @buf:	datagram from the netfilter netlink socket
 * @len:	its length
 * @fn:		called for each packet message whose prefix starts "moat:"
 * @opaque:	passed to @fn
 *
 * Return: number of packets passed to @fn
 */
size_t nflog_parse(const void *buf, size_t len, nflog_pkt_fn fn,
		   void *opaque)
{
	size_t n = 0, off = 0;

	/* not mnl_nlmsg_ok(): libmnl 1.0.4 compares the length as an int, so
	 * a length over 2^31 would pass it
	 */
	for (; off <= len && len - off >= sizeof(struct nlmsghdr);
	     off += NLMSG_ALIGN(((const struct nlmsghdr *)
				 ((const char *)buf + off))->nlmsg_len)) {
		const struct nlmsghdr *nlh = (const void *)((const char *)buf + off);
		struct nflog_attrs a = { 0 };
		struct nflog_pkt p = { 0 };
		const char *prefix;
		uint16_t plen;

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			break;
		if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
			continue;
		if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nflog_attr_cb,
				   &a) < 0)
			continue;
		if (!a.tb[NFULA_PREFIX] || !a.tb[NFULA_PAYLOAD])
			continue;
		prefix = mnl_attr_get_payload(a.tb[NFULA_PREFIX]);
		plen = mnl_attr_get_payload_len(a.tb[NFULA_PREFIX]);
		if (plen < sizeof(NFT_LOG_PREFIX) - 1 ||
		    memcmp(prefix, NFT_LOG_PREFIX, sizeof(NFT_LOG_PREFIX) - 1))
			continue;
		prefix += sizeof(NFT_LOG_PREFIX) - 1;
		plen -= sizeof(NFT_LOG_PREFIX) - 1;
		plen = (uint16_t)strnlen(prefix, plen);
		if (plen >= sizeof(p.reason))
			plen = sizeof(p.reason) - 1;
		memcpy(p.reason, prefix, plen);
		p.reason[plen] = '\0';
		if (nflog_packet_parse(mnl_attr_get_payload(a.tb[NFULA_PAYLOAD]),
				       mnl_attr_get_payload_len(a.tb[NFULA_PAYLOAD]),
				       &p))
			continue;
		if (a.tb[NFULA_TIMESTAMP] &&
		    mnl_attr_get_payload_len(a.tb[NFULA_TIMESTAMP]) >=
		    sizeof(struct nfulnl_msg_packet_timestamp)) {
			struct nfulnl_msg_packet_timestamp t;

			memcpy(&t, mnl_attr_get_payload(a.tb[NFULA_TIMESTAMP]),
			       sizeof(t));
			p.ts.tv_sec = (time_t)be64toh(t.sec);
			p.ts.tv_nsec = (long)(be64toh(t.usec) % 1000000) * 1000;
		}
		fn(opaque, &p);
		n++;
	}
	return n;
}
