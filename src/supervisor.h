/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * supervisor.h - the per-sandbox supervisor process
 */
#ifndef MOAT_SUPERVISOR_H
#define MOAT_SUPERVISOR_H

#include <jansson.h>

#include "policy.h"
#include "state.h"

/**
 * enum sv_ref_type - what an epoll event refers to
 */
enum sv_ref_type {
	SV_REF_SIGNAL = 1,	/* signalfd */
	SV_REF_WATCH,		/* pidfd of the "moat run" process */
	SV_REF_TIMER,		/* timerfd, once a second */
	SV_REF_CTL_LISTEN,	/* control socket */
	SV_REF_CTL_CONN,	/* one control connection */
	SV_REF_PUB_TCP,		/* published TCP port, listening */
	SV_REF_PUB_UDP,		/* published UDP port */
	SV_REF_TCP_FLOW,	/* one side of a forwarded TCP connection */
	SV_REF_UDP_FLOW,	/* socket towards the sandbox for a UDP peer */
	SV_REF_NFLOG,		/* NFLOG socket: denials to log (log.c) */
	SV_REF_PROXY_LISTEN,	/* transparent proxy listener (fwd_proxy.c);
				 * flows are SV_REF_TCP_FLOW, in the same
				 * table */
	SV_REF_DNS_UDP,		/* DNS interceptor, UDP listener (dns.c) */
	SV_REF_DNS_TCPL,	/* DNS interceptor, TCP listener */
	SV_REF_DNS_TCP,		/* DNS interceptor, one client connection */
	SV_REF_DNS_UP,		/* DNS interceptor, one upstream query */
	SV_REF_GUARD,		/* nftables events: moat's table damaged? */
	SV_REF_GUARD_TIMER,	/* timerfd: retry restoring moat's rules */
	SV_REF_CORE,		/* worker: its core's requests */
	SV_REF_WK_REQ,		/* core: its worker's pin requests */
	SV_REF_WK_LOG,		/* core: its worker's log records */
	SV_REF_WK_EXIT,		/* core: pidfd of its worker */
	SV_REF_WK_RESTART,	/* core: timerfd, start the worker again */
	SV_REF_DHCP,		/* worker: the guest's DHCP server (dhcp.c) */
	SV_REF_RA,		/* worker: router solicitations (ra.c) */
	SV_REF_RA_TIMER,	/* worker: timerfd, unsolicited advertisements */
	SV_REF_LINK,		/* core: its sandbox's interface deleted
				 * (an attached namespace ended) */
	SV_REF_ICPT,		/* worker: one side of an intercepted TLS
				 * connection (intercept.c) */
};

/**
 * union sv_ref - epoll data: a type, an index into its table, a descriptor
 * @type:	enum sv_ref_type
 * @idx:	index in the table of that type
 * @side:	for TCP flows: 0 the host-side peer, 1 the sandbox side
 * @fd:		descriptor
 * @u64:	the packed value given to epoll
 */
union sv_ref {
	struct {
		uint32_t type:8;
		uint32_t side:1;
		uint32_t idx:23;
		int32_t fd;
	};
	uint64_t u64;
};

int supervisor_start(const struct moat_config *c, const struct sb_state *s,
		     pid_t watch, pid_t *pid, unsigned long long *start);
void supervisor_stop(const struct sb_state *s);
int supervisor_main(const struct moat_config *c, const char *name,
		    int ready_fd, pid_t watch);

#endif /* MOAT_SUPERVISOR_H */
