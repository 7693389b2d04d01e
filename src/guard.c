// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * guard.c - fail closed while moat's table is absent (a firewall reload)
 *
 * Theory of operation
 * -------------------
 * Every rule of moat lives in one nftables table, and the host's
 * administrator may remove it at any time: "nft flush ruleset", which
 * Debian's nftables.service runs on every start, restart and reload,
 * removes every table. Without moat's table nothing would stop a sandbox:
 * its packets would be routed and delivered like any other. So what a
 * sandbox sends must depend on the table having seen it, through kernel
 * state that "nft flush ruleset" does not touch:
 *
 *   - traffic control: a tiny BPF program (cls_bpf, direct action, on the
 *     ingress qdisc of the sandbox's host-side interface) sets the mark
 *     bit GUARD_MARK_SANDBOX on every IPv4 and IPv6 packet the sandbox
 *     sends, before netfilter sees it (guard_link_attach(), at creation);
 *   - moat's table sets GUARD_MARK_PASSED on every packet from a moat
 *     interface, in its prerouting base chain (nft.c);
 *   - one routing rule per family, host-wide (priority GUARD_RULE_PREF):
 *     "fwmark GUARD_MARK_SANDBOX/GUARD_MARK_MASK prohibit": a packet from a
 *     sandbox that the table has not passed is not forwarded anywhere;
 *     IPv4 packets to one of the host's own addresses are dropped too, by
 *     the strict reverse-path filter of the host side (rp_filter=1 with
 *     src_valid_mark=1: the reverse route, looked up with the packet's
 *     mark, is the prohibit rule);
 *   - one IPsec (xfrm) policy per family, direction "in", action block,
 *     selecting on the same mark: nothing of the kind is delivered to a
 *     local socket, IPv6 included (which has no reverse-path filter), and
 *     established connections included (whose packets skip the route
 *     lookup).
 *
 * The rules and policies are created with the base table and re-checked
 * whenever a supervisor restores it (guard_host_ensure(), idempotent:
 * the kernel refuses a duplicate with EEXIST). They match only packets
 * carrying the sandbox bit without the passed bit, so they cost the host's
 * other traffic one rule (and, for local delivery, one policy lookup).
 *
 * Noticing (guard_watch_open(), guard_watch_read()): each supervisor
 * listens to nftables' netlink events. A classic BPF socket filter keeps
 * only messages that can mean "moat's enforcement is damaged" (a table or
 * chain deleted, a rule or set of a base chain deleted), so that the
 * supervisors of a thousand sandboxes are not woken by every DNS pin or
 * sandbox created elsewhere; a buffer overrun counts as damage.
 * guard_intact() then asks the kernel whether the table, its prerouting
 * base chain's rules and the sandbox's own chains are there.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/filter.h>
#include <linux/fib_rules.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>

#include "err.h"
#include "guard.h"
#include "nl.h"
#include "nft.h"
#include "state.h"

#define GUARD_BUF	NL_BUF	/* netlink messages and answers */
#define GUARD_EVENT_BUF	65536	/* one read of the event socket */
#define GUARD_TC_PRIO	1	/* before link.c's ingress redirect (2) */

/**
 * guard_talk() - send one request on a fresh netlink socket, wait for its ACK
 * @bus:	NETLINK_ROUTE, NETLINK_XFRM, NETLINK_NETFILTER
 * @nlh:	request (NLM_F_ACK is added)
 *
 * Return: 0, or -errno from the kernel's answer
 */
static int guard_talk(int bus, struct nlmsghdr *nlh)
{
	char buf[GUARD_BUF];
	struct mnl_socket *nl;
	unsigned int portid;
	int ret;

	nl = nl_open(bus, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	ret = -ETIMEDOUT;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int r;

		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
		if (r == MNL_CB_ERROR) {
			ret = -errno;
			break;
		}
		if (r == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
	mnl_socket_close(nl);
	return ret;
}

/**
 * guard_prog_load() - load the BPF program that marks a sandbox's packets
 *
 * Eight instructions, for cls_bpf in direct-action mode: if the packet is
 * IPv4 or IPv6, skb->mark |= GUARD_MARK_SANDBOX; then TC_ACT_UNSPEC (go on
 * with the next filter, such as a bandwidth limit's redirect). ARP is
 * left unmarked: the host routes an ARP request's addresses (with the
 * packet's mark) before answering it, and nftables' inet table never
 * sees ARP to mark it passed.
 *
 * Return: program descriptor, or -errno
 */
static int guard_prog_load(void)
{
	const short mark = (short)offsetof(struct __sk_buff, mark);
	const short proto = (short)offsetof(struct __sk_buff, protocol);
	struct bpf_insn insn[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_REG_1, .off = proto },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_2,
		  .off = 1, .imm = htons(ETH_P_IP) },
		{ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2,
		  .off = 3, .imm = htons(ETH_P_IPV6) },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_0,
		  .src_reg = BPF_REG_1, .off = mark },
		{ .code = BPF_ALU | BPF_OR | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = GUARD_MARK_SANDBOX },
		{ .code = BPF_STX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_1,
		  .src_reg = BPF_REG_0, .off = mark },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_UNSPEC },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	attr.insns = (uint64_t)(uintptr_t)insn;
	attr.insn_cnt = ARRAY_SIZE(insn);
	attr.license = (uint64_t)(uintptr_t)"GPL";
	memcpy(attr.prog_name, GUARD_PROG_NAME, sizeof(GUARD_PROG_NAME));
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

/**
 * guard_link_attach() - mark everything a sandbox's interface receives
 * @ifname:	host-side interface
 *
 * Adds the ingress qdisc (link.c's bandwidth limit, added later, shares
 * it) and, on it, the cls_bpf filter of guard_prog_load() at priority
 * GUARD_TC_PRIO, as "tc qdisc add dev IF ingress; tc filter add dev IF
 * ingress prio 1 bpf direct-action ...". Both go with the interface.
 *
 * Return: 0, or -errno
 */
int guard_link_attach(const char *ifname)
{
	char buf[GUARD_BUF];
	unsigned idx = if_nametoindex(ifname);
	struct nlmsghdr *nlh;
	struct nlattr *opt;
	struct tcmsg *tc;
	int fd, ret;

	if (!idx)
		return -errno;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWQDISC;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = (int)idx;
	tc->tcm_parent = TC_H_INGRESS;
	tc->tcm_handle = TC_H_MAKE(0xffffU << 16, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	ret = guard_talk(NETLINK_ROUTE, nlh);
	if (ret && ret != -EEXIST)
		return ret;

	fd = guard_prog_load();
	if (fd < 0)
		return fd;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWTFILTER;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = (int)idx;
	tc->tcm_parent = TC_H_MAKE(0xffffU << 16, 0);
	tc->tcm_info = TC_H_MAKE((uint32_t)GUARD_TC_PRIO << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opt = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (uint32_t)fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, GUARD_PROG_NAME);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_nest_end(nlh, opt);
	ret = guard_talk(NETLINK_ROUTE, nlh);
	close(fd);
	return ret;
}

/**
 * guard_rule_add() - "ip [-6] rule add pref P fwmark S/M prohibit"
 * @family:	AF_INET or AF_INET6
 *
 * Return: 0 (also if it exists), or -errno
 */
static int guard_rule_add(int family)
{
	char buf[GUARD_BUF];
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWRULE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_PROHIBIT;
	frh->table = RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, GUARD_RULE_PREF);
	mnl_attr_put_u32(nlh, FRA_FWMARK, GUARD_MARK_SANDBOX);
	mnl_attr_put_u32(nlh, FRA_FWMASK, GUARD_MARK_MASK);
	ret = guard_talk(NETLINK_ROUTE, nlh);
	return ret == -EEXIST ? 0 : ret;
}

/**
 * guard_policy_msg() - build the xfrm policy message for one family
 * @buf:	buffer of MNL_SOCKET_BUFFER_SIZE bytes
 * @type:	XFRM_MSG_NEWPOLICY or XFRM_MSG_GETPOLICY
 * @family:	AF_INET or AF_INET6
 *
 * "ip xfrm policy add dir in mark S mask M action block priority 0": any
 * source, any destination, any protocol.
 *
 * Return: the message
 */
static struct nlmsghdr *guard_policy_msg(char *buf, int type, int family)
{
	struct xfrm_mark mark = { .v = GUARD_MARK_SANDBOX, .m = GUARD_MARK_MASK };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (uint16_t)type;
	if (type == XFRM_MSG_NEWPOLICY) {
		struct xfrm_userpolicy_info *p;

		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
		p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
		p->sel.family = (uint16_t)family;
		p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
		p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
		p->priority = 0;
		p->dir = XFRM_POLICY_IN;
		p->action = XFRM_POLICY_BLOCK;
	} else {
		struct xfrm_userpolicy_id *id;

		id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
		id->sel.family = (uint16_t)family;
		id->dir = XFRM_POLICY_IN;
	}
	mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
	return nlh;
}

/**
 * guard_host_ensure() - the routing rules and IPsec policies, idempotently
 *
 * IPv6 may be absent from the host's kernel (EAFNOSUPPORT): then there is
 * no IPv6 traffic to refuse either. A kernel without IPsec (no
 * NETLINK_XFRM: EPROTONOSUPPORT) gets the rules only: IPv4 delivery to
 * the host is then refused by the reverse-path filter alone (not for
 * established connections), IPv6 delivery not at all; "moat verify"
 * reports the policies missing.
 *
 * Return: 0, or -errno of the first that could not be made
 */
int guard_host_ensure(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	char buf[GUARD_BUF];
	size_t k;
	int ret;

	for (k = 0; k < ARRAY_SIZE(fams); k++) {
		ret = guard_rule_add(fams[k]);
		if (ret && !(fams[k] == AF_INET6 && ret == -EAFNOSUPPORT))
			return ret;
		ret = guard_talk(NETLINK_XFRM,
				 guard_policy_msg(buf, XFRM_MSG_NEWPOLICY, fams[k]));
		if (ret && ret != -EEXIST && ret != -EPROTONOSUPPORT &&
		    !(fams[k] == AF_INET6 && ret == -EAFNOSUPPORT))
			return ret;
	}
	return 0;
}

/**
 * struct guard_rule_scan - what guard_rule_cb() looks for and found
 * @found:	a rule like guard_rule_add()'s was seen
 */
struct guard_rule_scan {
	bool found;
};

/**
 * guard_rule_cb() - one rule of a dump
 * @nlh:	message
 * @data:	struct guard_rule_scan
 *
 * Return: MNL_CB_OK
 */
static int guard_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct guard_rule_scan *sc = data;
	uint32_t pref = 0, mark = 0, mask = 0;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWRULE || frh->action != FR_ACT_PROHIBIT)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*frh)) {
		switch (mnl_attr_get_type(a)) {
		case FRA_PRIORITY:
			pref = mnl_attr_get_u32(a);
			break;
		case FRA_FWMARK:
			mark = mnl_attr_get_u32(a);
			break;
		case FRA_FWMASK:
			mask = mnl_attr_get_u32(a);
			break;
		}
	}
	if (pref == GUARD_RULE_PREF && mark == GUARD_MARK_SANDBOX &&
	    mask == GUARD_MARK_MASK)
		sc->found = true;
	return MNL_CB_OK;
}

/**
 * guard_rule_present() - whether guard_rule_add()'s rule exists
 * @family:	AF_INET or AF_INET6
 *
 * Return: 1, 0, or -errno if the rules cannot be dumped
 */
static int guard_rule_present(int family)
{
	char buf[GUARD_BUF];
	struct guard_rule_scan sc = { 0 };
	struct fib_rule_hdr *frh;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	unsigned int portid, seq = (unsigned int)time(NULL);
	int ret = -EIO;

	nl = nl_open(NETLINK_ROUTE, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int r;

		if (n < 0)
			goto out;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, guard_rule_cb, &sc);
		if (r == MNL_CB_ERROR) {
			ret = -errno;
			goto out;
		}
		if (r == MNL_CB_STOP)
			break;
	}
	ret = sc.found ? 1 : 0;
out:
	if (ret == -EIO && errno)
		ret = -errno;
	mnl_socket_close(nl);
	return ret;
}

/**
 * guard_host_check() - whether the rules and policies of guard_host_ensure()
 * are all there (for "moat verify"'s audit)
 * @what:	set to what is missing, comma-separated
 * @len:	its size
 *
 * Return: 0 if all are there, 1 if something is missing, -errno if the
 *	   kernel could not be asked
 */
int guard_host_check(char *what, size_t len)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	char buf[GUARD_BUF];
	size_t k, used = 0;
	int ret = 0, r;

	*what = '\0';
	for (k = 0; k < ARRAY_SIZE(fams); k++) {
		const char *f = fams[k] == AF_INET ? "" : " -6";

		r = guard_rule_present(fams[k]);
		if (r < 0 && !(fams[k] == AF_INET6 && r == -EAFNOSUPPORT))
			return r;
		if (r == 0) {
			used += (size_t)snprintf(what + used, len > used ? len - used : 0,
						 "%sip%s rule pref %d", used ? ", " : "",
						 f, GUARD_RULE_PREF);
			ret = 1;
		}
		r = guard_talk(NETLINK_XFRM,
			       guard_policy_msg(buf, XFRM_MSG_GETPOLICY, fams[k]));
		if (r == -ENOENT || r == -EPROTONOSUPPORT) {
			used += (size_t)snprintf(what + used, len > used ? len - used : 0,
						 "%sip%s xfrm policy dir in%s", used ? ", " : "", f,
						 r == -ENOENT ? "" : " (no IPsec in this kernel)");
			ret = 1;
		} else if (r && !(fams[k] == AF_INET6 && r == -EAFNOSUPPORT)) {
			return r;
		}
	}
	return ret;
}

/*
 * Noticing a reload
 */

/* little-endian hosts: the byte of nlmsg_type holding the message type */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GUARD_NL_TYPE_LO	4
#define GUARD_NL_TYPE_HI	5
#define GUARD_NLA_LEN_LO	20
#else
#define GUARD_NL_TYPE_LO	5
#define GUARD_NL_TYPE_HI	4
#define GUARD_NLA_LEN_LO	21
#endif

/**
 * guard_watch_open() - a netfilter socket receiving nftables' events that
 * may mean damage to moat's table
 *
 * The socket filter passes a message buffer whose first message is
 * DELTABLE or DELCHAIN, or DELRULE or DELSET naming (second attribute,
 * after the table's name) a chain or set whose name does not start with
 * NFT_IFPREFIX, that is, not a sandbox's own: removing a sandbox, pinning
 * an address and every NEW* message leave the supervisors asleep. The
 * kernel packs the events of one transaction into buffers in order, so a
 * buffer that begins with a sandbox's objects holds that sandbox's removal.
 *
 * Return: descriptor (non-blocking), or -errno
 */
int guard_watch_open(void)
{
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, GUARD_NL_TYPE_HI),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFNL_SUBSYS_NFTABLES, 0, 19),
		/* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, GUARD_NL_TYPE_LO),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_MSG_DELTABLE, 16, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_MSG_DELCHAIN, 15, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_MSG_DELRULE, 1, 0),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_MSG_DELSET, 0, 14),
		/* 7-11: X = 20 + the first attribute's length, aligned */
		/* 7 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, GUARD_NLA_LEN_LO),
		/* 8 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 3),
		/* 9 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfc),
		/* 10 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 20),
		/* 11 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 12-19: the second attribute's name starts with "moat"? */
		/* 12 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 4),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_IFPREFIX[0], 0, 6),
		/* 14 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 5),
		/* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_IFPREFIX[1], 0, 4),
		/* 16 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 6),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_IFPREFIX[2], 0, 2),
		/* 18 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 7),
		/* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NFT_IFPREFIX[3], 1, 0),
		/* 20 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),	/* pass */
		/* 21 */ BPF_STMT(BPF_RET | BPF_K, 0),		/* drop */
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
	int fd, bufsz = 1 << 20;

	fd = nl_watch_open(NETLINK_NETFILTER, NFNLGRP_NFTABLES, &prog);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	return fd;
}

/**
 * guard_attr_str() - a string attribute of an nftables event
 * @nlh:	message
 * @type:	attribute type
 *
 * Return: the string, or "" if absent
 */
static const char *guard_attr_str(const struct nlmsghdr *nlh, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == type &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			return mnl_attr_get_str(a);
	return "";
}

/**
 * guard_watch_read() - drain the event socket
 * @fd:		descriptor from guard_watch_open()
 * @ifname:	the sandbox's host-side interface (its own chains count)
 *
 * Return: 1 if an event may mean damage to moat's table (the table, a
 *	   chain, base rule or base set of "inet moat" deleted) or events
 *	   were lost, 0 if not, -errno on another error
 */
int guard_watch_read(int fd, const char *ifname)
{
	char buf[GUARD_EVENT_BUF];
	size_t il = strlen(ifname);
	int hit = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return hit;
			if (errno == ENOBUFS) {
				hit = 1;	/* lost some: look */
				continue;
			}
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
			uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
			const char *name;

			if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
			    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*nfg) ||
			    (nfg->nfgen_family != NFPROTO_INET &&
			     nfg->nfgen_family != NFPROTO_UNSPEC))
				continue;
			switch (type) {
			case NFT_MSG_DELTABLE:
				if (!strcmp(guard_attr_str(nlh, NFTA_TABLE_NAME), NFT_TABLE))
					hit = 1;
				break;
			case NFT_MSG_DELCHAIN:
			case NFT_MSG_DELRULE:
			case NFT_MSG_DELSET:
				if (strcmp(guard_attr_str(nlh, 1 /* *_TABLE */), NFT_TABLE))
					break;
				name = guard_attr_str(nlh, type == NFT_MSG_DELCHAIN ?
						       NFTA_CHAIN_NAME :
						       type == NFT_MSG_DELRULE ?
						       NFTA_RULE_CHAIN : NFTA_SET_NAME);
				/* a base object, or one of this sandbox's */
				if (strncmp(name, NFT_IFPREFIX, strlen(NFT_IFPREFIX)) ||
				    (!strncmp(name, ifname, il) && name[il] == '_'))
					hit = 1;
				break;
			}
		}
	}
}

/**
 * guard_nft_get() - one nftables GET request: does the object exist?
 * @type:	NFT_MSG_GETCHAIN or NFT_MSG_GETRULE (a dump of a chain's rules)
 * @chain:	chain name
 *
 * Return: for GETCHAIN, 1 if the chain exists; for GETRULE, the number of
 *	   rules of the chain (0 if none or no chain); -errno if the kernel
 *	   could not be asked
 */
static int guard_nft_get(int type, const char *chain)
{
	char buf[GUARD_BUF];
	unsigned int seq = (unsigned int)time(NULL), portid;
	struct mnl_socket *nl;
	struct nfgenmsg *nfg;
	struct nlmsghdr *nlh;
	int ret = 0, count = 0;

	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST |
			   (type == NFT_MSG_GETRULE ? NLM_F_DUMP : NLM_F_ACK);
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	if (type == NFT_MSG_GETRULE) {
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	} else {
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != portid)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				goto done;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (e->error == -ENOENT)
					goto done;
				if (e->error) {
					ret = e->error;
					goto out;
				}
				goto done;	/* the ACK */
			}
			if (NFNL_SUBSYS_ID(m->nlmsg_type) == NFNL_SUBSYS_NFTABLES)
				count++;
		}
	}
done:
	ret = count;
out:
	mnl_socket_close(nl);
	return ret;
}

/**
 * guard_table_cb() - the handle of a NEWTABLE answer
 * @nlh:	message
 * @data:	uint64_t, set
 *
 * Return: MNL_CB_OK
 */
static int guard_table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_TABLE_HANDLE &&
		    !mnl_attr_validate(a, MNL_TYPE_U64))
			*(uint64_t *)data = be64toh(mnl_attr_get_u64(a));
	return MNL_CB_OK;
}

/**
 * guard_table_handle() - the kernel's handle of "inet moat"
 *
 * A table made again after a removal gets a new handle: its sets are new
 * and empty.
 *
 * Return: the handle, 0 if there is no table or the kernel cannot be asked
 */
uint64_t guard_table_handle(void)
{
	char buf[GUARD_BUF];
	unsigned int seq = (unsigned int)time(NULL), portid;
	struct mnl_socket *nl;
	struct nfgenmsg *nfg;
	struct nlmsghdr *nlh;
	uint64_t h = 0;

	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return 0;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		int r;

		if (n <= 0)
			break;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, guard_table_cb, &h);
		if (r <= MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return h;
}

/**
 * guard_intact_base() - whether the table and its prerouting base chain's
 * rules are there
 *
 * One dump of that chain's rules: it marks what the table passed
 * (NFT_PASSED_MARK), and base chains are written whole, in one
 * transaction, so rules there mean the base table was written.
 *
 * Return: 1 if so, 0 if not, -errno if the kernel could not be asked
 */
int guard_intact_base(void)
{
	int r = guard_nft_get(NFT_MSG_GETRULE, "prerouting");

	return r < 0 ? r : r > 0;
}

/**
 * guard_own_chains() - whether a sandbox's own chains are there
 * @ifname:	its host-side interface
 *
 * Return: 1 if its prerouting, input and forward chains exist, 0 if one
 *	   is missing, -errno if the kernel could not be asked
 */
int guard_own_chains(const char *ifname)
{
	static const char *const own[] = { "pre", "in", "fwd" };
	char chain[64];
	size_t k;
	int r;

	for (k = 0; k < ARRAY_SIZE(own); k++) {
		snprintf(chain, sizeof(chain), "%s_%s", ifname, own[k]);
		r = guard_nft_get(NFT_MSG_GETCHAIN, chain);
		if (r <= 0)
			return r;
	}
	return 1;
}

/**
 * guard_intact() - whether moat's enforcement of one sandbox is in place
 * @ifname:	its host-side interface
 *
 * The table, its prerouting base chain with its rules (it marks what it
 * passed, GUARD_MARK_PASSED), and the sandbox's own forward and
 * prerouting chains. Dispatch entries are not looked at: without them
 * the sandbox's traffic is dropped, and restoring adds them anyway.
 *
 * Return: 1 if intact, 0 if not, -errno if the kernel could not be asked
 */
int guard_intact(const char *ifname)
{
	int r = guard_intact_base();

	return r <= 0 ? r : guard_own_chains(ifname);
}

/**
 * guard_link_check() - whether a sandbox's interface carries the marking
 * filter of guard_link_attach()
 * @ifname:	host-side interface
 *
 * Return: 1 if it does, 0 if not, -errno if the kernel could not be asked
 */
int guard_link_check(const char *ifname)
{
	char buf[GUARD_BUF];
	unsigned int seq = (unsigned int)time(NULL), portid;
	unsigned idx = if_nametoindex(ifname);
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct tcmsg *tc;
	int ret = 0;

	if (!idx)
		return -errno;
	nl = nl_open(NETLINK_ROUTE, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tc = mnl_nlmsg_put_extra_header(nlh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = (int)idx;
	tc->tcm_parent = TC_H_MAKE(0xffffU << 16, 0);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			const struct nlattr *a, *o;

			if (m->nlmsg_seq != seq || m->nlmsg_pid != portid)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				goto out;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (e->error && e->error != -EINVAL)
					ret = e->error;
				goto out;	/* EINVAL: no ingress qdisc */
			}
			if (m->nlmsg_type != RTM_NEWTFILTER)
				continue;
			mnl_attr_for_each(a, m, sizeof(struct tcmsg)) {
				if (mnl_attr_get_type(a) != TCA_OPTIONS)
					continue;
				mnl_attr_for_each_nested(o, a)
					if (mnl_attr_get_type(o) == TCA_BPF_NAME &&
					    !mnl_attr_validate(o, MNL_TYPE_NUL_STRING) &&
					    !strncmp(mnl_attr_get_str(o), GUARD_PROG_NAME,
						     strlen(GUARD_PROG_NAME)))
						ret = 1;
			}
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

/**
 * guard_status() - a sandbox's status as "ls", "inspect" and "stats" show it
 * @c:		settings
 * @s:		record
 * @rules:	whether moat's rules are there (guard_intact_base() for
 *		every sandbox, guard_intact() for one), or -1 if not asked
 *		(not root)
 * @why:	set to the reason for degraded or dead (SB_WHY_*), else
 *		NULL; may be NULL
 *
 * state_status_why(), and degraded also when moat's rules for a sandbox
 * with a network are absent: its supervisor says so (the file
 * "degraded"), or, as root, @rules does, after a firewall reload, until
 * the supervisor has restored them (it may not have noticed yet). Nobody
 * restores the rules of a sandbox whose supervisor is not running: both
 * reasons are given then, and for such a sandbox (rare), the kernel is
 * asked for its own chains when @rules only says the base table is there
 * (another supervisor restores the table without them).
 *
 * Return: status
 */
enum sb_status guard_status(const struct moat_config *c,
			    const struct sb_state *s, int rules,
			    const char **why)
{
	const char *w;
	enum sb_status st = state_status_why(s, &w);
	bool absent;

	if (st == SB_DEGRADED && s->has_net && rules == 1)
		rules = guard_intact(s->ifname);
	absent = (st == SB_RUNNING || st == SB_DEGRADED) && s->has_net &&
		 (rules == 0 || state_degraded(c, s->name));

	if (absent) {
		w = st == SB_RUNNING ? SB_WHY_RULES : SB_WHY_SUPERVISOR_RULES;
		st = SB_DEGRADED;
	}
	if (why)
		*why = w;
	return st;
}
