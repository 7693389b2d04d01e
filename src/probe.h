/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * probe.h - connection probes run from inside a network namespace
 */
#ifndef MOAT_PROBE_H
#define MOAT_PROBE_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "common.h"

/**
 * enum probe_kind - what a probe sends
 */
enum probe_kind {
	PROBE_TCP = 0,		/* a TCP connect, no payload */
	PROBE_UDP,		/* one datagram, waits for any answer */
	PROBE_ICMP,		/* one echo request (raw socket) */
	PROBE_DNS,		/* one DNS query over UDP, type A */
	PROBE_DNS_TCP,		/* the same over TCP (RFC 7766 framing) */
	PROBE_TCP_HTTP,		/* a TCP connect through moat's transparent
				 * proxy, then one HTTP request: the proxy's
				 * 403 tells its refusal from a reach */
};

/**
 * enum probe_obs - what a probe observed
 */
enum probe_obs {
	OBS_NONE = 0,		/* not run */
	OBS_CONNECTED,		/* TCP handshake completed */
	OBS_ANSWERED,		/* a datagram or echo reply came back */
	OBS_RESET,		/* the target's stack answered: TCP reset or
				 * ICMP port unreachable (it was reached) */
	OBS_REJECTED,		/* administratively prohibited / unreachable */
	OBS_TIMEOUT,		/* nothing came back: dropped */
	OBS_NOROUTE,		/* no route or no such address family inside */
	OBS_NXDOMAIN,		/* DNS: NXDOMAIN */
	OBS_DNS_OTHER,		/* DNS: a response with another rcode */
	OBS_ERROR,		/* the probe could not be sent */
	OBS_PROXY_REFUSED,	/* PROBE_TCP_HTTP: moat's proxy took the
				 * connection and refused it (X-Moat-Denied):
				 * the destination was not reached */
};

/**
 * struct probe - one probe and its result
 * @kind:	what to send
 * @dst:	destination (port in network order; ICMP ignores it)
 * @dstlen:	length of @dst
 * @scope_eth0:	IPv6 link-local destination: use the scope of "eth0"
 * @qname:	PROBE_DNS, PROBE_DNS_TCP: the name to query
 * @obs:	result
 * @err:	errno behind @obs, if any
 * @rcode:	PROBE_DNS, PROBE_DNS_TCP: the response code
 */
struct probe {
	enum probe_kind kind;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	bool scope_eth0;
	char qname[128];
	enum probe_obs obs;
	int err;
	int rcode;
};

/**
 * struct probe_run - probes running in a child process
 * @pid:	the child
 * @shared:	probes, shared with it
 * @n:		their number
 */
struct probe_run {
	pid_t pid;
	struct probe *shared;
	size_t n;
};

int probe_set_dst(struct probe *p, int family, const void *addr,
		  uint16_t port);
int probe_run_in_ns(int nsfd, struct probe *p, size_t n, int timeout_ms,
		    volatile const int *stop);
int probe_start_in_ns(int nsfd, const struct probe *p, size_t n,
		      int timeout_ms, volatile const int *stop,
		      struct probe_run *run);
int probe_wait(struct probe_run *run, struct probe *p);
const char *probe_obs_name(enum probe_obs o);
bool probe_obs_reached(enum probe_obs o);
size_t probe_dns_query(uint8_t *buf, size_t len, uint16_t id,
		       const char *name);

#endif /* MOAT_PROBE_H */
