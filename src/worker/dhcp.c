// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * dhcp.c - the DHCPv4 server of a sandbox's guest
 *
 * Theory of operation
 * -------------------
 * A sandbox created with a TAP device has a guest behind it (a VM), which
 * owns the sandbox's address. So that a stock guest image with a DHCP
 * client works with no configuration, the sandbox's worker answers DHCP on
 * the sandbox's interface, with the one lease the sandbox has: its
 * address in its /30, the gateway as router and server identifier, the
 * gateway (the DNS interceptor) as resolver for network "filtered", the
 * interface's MTU and a lease of DHCP_LEASE_S seconds. It answers only the
 * guest's MAC (the one moat chose, sandbox.c; the host's rules drop any
 * other source MAC before anything reaches here, nft.c) and never offers
 * another address: there is no pool, no state, nothing to exhaust.
 *
 * The socket: UDP, port 67 on every address, bound to the sandbox's host
 * interface (SO_BINDTODEVICE; each sandbox's worker binds its own),
 * opened while the worker is still root (port 67, the device binding).
 * The sandbox's chains let DHCP in from 0.0.0.0 to the broadcast address
 * and to the gateway's port 67, and nothing else of the host's (nft.c,
 * nft_tap_pre(), nft_tap_in()). Answers go to the broadcast address,
 * which the guest hears without an address yet, or, to a client renewing
 * an address it has (ciaddr), to that address; the socket's device binding
 * sends them out of the sandbox's interface, from the gateway's address.
 *
 * Everything in a request is the guest's choice, so dhcp_parse() is a
 * bounded parser of what the server needs (fixed fields, the cookie,
 * options 50, 53 and 54, each of its exact length and at most once, up to
 * the end option) and is fuzzed (fuzz/fuzz_dhcp.c); options in the
 * overloaded sname and file fields are not read. Answers are written by
 * dhcp_answer() into a fixed buffer (DHCP_REPLY_MAX) from the lease and
 * the request's xid, flags, ciaddr and chaddr alone. At most DHCP_RATE
 * answers a second are sent (burst DHCP_BURST), so a guest that floods
 * requests gets no more than that; everything is counted, and the leases
 * given, refused (NAK), declined and released are logged.
 *
 * Requests answered (RFC 2131 4.3): DISCOVER with an OFFER; REQUEST with
 * an ACK if it asks for the sandbox's address (option 50, or ciaddr when
 * renewing) and names no other server, a NAK if it asks for another, and
 * nothing if it chose another server; INFORM with an ACK carrying the
 * configuration without a lease. DECLINE and RELEASE are counted and
 * logged: the address stays the guest's.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "addr.h"
#include "dhcp.h"
#include "supervisor.h"

/* #syscalls:worker recvfrom recvmsg sendto */

#define DHCP_MAGIC		0x63825363U
#define DHCP_BUF		2048	/* one datagram read; longer is truncated */
#define DHCP_BROADCAST_FLAG	0x8000

/* options (RFC 2132) */
#define DHCP_O_PAD		0
#define DHCP_O_MASK		1
#define DHCP_O_ROUTER		3
#define DHCP_O_DNS		6
#define DHCP_O_MTU		26
#define DHCP_O_BROADCAST	28
#define DHCP_O_REQUESTED	50
#define DHCP_O_LEASE		51
#define DHCP_O_TYPE		53
#define DHCP_O_SERVER_ID	54
#define DHCP_O_MESSAGE		56
#define DHCP_O_T1		58
#define DHCP_O_T2		59
#define DHCP_O_END		255

static const char *const dhcp_ctr_names[DHCP_C_COUNT] = {
	[DHCP_C_RECEIVED]	= "received_total",
	[DHCP_C_MALFORMED]	= "malformed_total",
	[DHCP_C_IGNORED]	= "ignored_total",
	[DHCP_C_DISCOVER]	= "discover_total",
	[DHCP_C_REQUEST]	= "request_total",
	[DHCP_C_INFORM]		= "inform_total",
	[DHCP_C_DECLINE]	= "decline_total",
	[DHCP_C_RELEASE]	= "release_total",
	[DHCP_C_OFFER]		= "offer_total",
	[DHCP_C_ACK]		= "ack_total",
	[DHCP_C_NAK]		= "nak_total",
	[DHCP_C_RATE_LIMITED]	= "rate_limited_total",
	[DHCP_C_SEND_ERRORS]	= "send_errors_total",
};

/**
 * dhcp_option_len() - the length an option the parser reads must have
 * @code:	option code
 *
 * Return: 1 for the message type, 4 for addresses and the lease time, 0
 *	   for an option the parser skips
 */
static size_t dhcp_option_len(uint8_t code)
{
	switch (code) {
	case DHCP_O_TYPE:
		return 1;
	case DHCP_O_REQUESTED:
	case DHCP_O_SERVER_ID:
	case DHCP_O_LEASE:
		return 4;
	default:
		return 0;
	}
}

/**
 * dhcp_parse() - read a DHCP message
 * @buf:	the UDP payload, as received
 * @len:	its length
 * @m:		filled in (zeroed first)
 *
 * Return: DHCP_OK, or why @buf is not a message the server reads
 */
enum dhcp_result dhcp_parse(const uint8_t *buf, size_t len,
			    struct dhcp_msg *m)
{
	bool seen[256] = { false }, end = false;
	uint32_t cookie;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (len < DHCP_MIN_LEN)
		return DHCP_SHORT;
	if (buf[1] != 1 || buf[2] != 6)		/* htype Ethernet, hlen 6 */
		return DHCP_NOT_ETHER;
	memcpy(&cookie, buf + DHCP_FIXED_LEN, 4);
	if (ntohl(cookie) != DHCP_MAGIC)
		return DHCP_COOKIE;
	m->op = buf[0];
	memcpy(&m->xid, buf + 4, 4);
	m->flags = (uint16_t)(buf[10] << 8 | buf[11]);
	memcpy(m->ciaddr, buf + 12, 4);
	memcpy(m->yiaddr, buf + 16, 4);
	memcpy(m->giaddr, buf + 24, 4);
	memcpy(m->chaddr, buf + 28, 6);

	for (i = DHCP_MIN_LEN; i < len && !end; ) {
		uint8_t code = buf[i], olen;
		const uint8_t *v;

		if (code == DHCP_O_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_O_END) {
			end = true;
			break;
		}
		if (i + 2 > len || i + 2 + buf[i + 1] > len)
			return DHCP_BAD_OPTION;
		olen = buf[i + 1];
		v = buf + i + 2;
		i += 2 + (size_t)olen;
		if (!dhcp_option_len(code))
			continue;
		if (seen[code] || olen != dhcp_option_len(code))
			return DHCP_BAD_OPTION;
		seen[code] = true;
		switch (code) {
		case DHCP_O_TYPE:
			m->type = v[0];
			break;
		case DHCP_O_REQUESTED:
			memcpy(m->requested, v, 4);
			break;
		case DHCP_O_SERVER_ID:
			memcpy(m->server_id, v, 4);
			break;
		case DHCP_O_LEASE:
			m->lease = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
				   (uint32_t)v[2] << 8 | v[3];
			break;
		}
	}
	if (!end)
		return DHCP_BAD_OPTION;
	if (m->type < DHCP_DISCOVER || m->type > DHCP_INFORM)
		return DHCP_NO_TYPE;
	return DHCP_OK;
}

/**
 * dhcp_put() - append an option
 * @out:	the answer
 * @n:		its length so far, advanced
 * @code:	option code
 * @v:		value
 * @len:	its length
 */
static void dhcp_put(uint8_t *out, size_t *n, uint8_t code, const void *v,
		     uint8_t len)
{
	out[(*n)++] = code;
	out[(*n)++] = len;
	memcpy(out + *n, v, len);
	*n += len;
}

/**
 * dhcp_put32() - append an option holding a 32-bit number
 * @out:	the answer
 * @n:		its length so far, advanced
 * @code:	option code
 * @v:		value, host order
 */
static void dhcp_put32(uint8_t *out, size_t *n, uint8_t code, uint32_t v)
{
	uint32_t be = htonl(v);

	dhcp_put(out, n, code, &be, 4);
}

/**
 * dhcp_reply_type() - what the server answers a request with
 * @q:		the request
 * @l:		the lease
 *
 * Return: DHCP_OFFER, DHCP_ACK or DHCP_NAK, or 0 for no answer
 */
static uint8_t dhcp_reply_type(const struct dhcp_msg *q,
			       const struct dhcp_lease *l)
{
	static const uint8_t zero[4];
	const uint8_t *want;

	if (q->op != 1 || memcmp(q->chaddr, l->mac, 6) ||
	    memcmp(q->giaddr, zero, 4))
		return 0;	/* a reply, another client, a relay */
	switch (q->type) {
	case DHCP_DISCOVER:
		return DHCP_OFFER;
	case DHCP_REQUEST:
		if (memcmp(q->server_id, zero, 4) && memcmp(q->server_id, l->gw, 4))
			return 0;	/* it chose another server */
		want = memcmp(q->requested, zero, 4) ? q->requested : q->ciaddr;
		return memcmp(want, l->addr, 4) ? DHCP_NAK : DHCP_ACK;
	case DHCP_INFORM:
		return DHCP_ACK;
	default:
		return 0;
	}
}

/**
 * dhcp_answer() - the server's answer to a request
 * @q:		the request, as dhcp_parse() read it
 * @l:		the lease
 * @out:	DHCP_REPLY_MAX bytes
 * @broadcast:	set to true if the answer goes to the broadcast address,
 *		false if to @q->ciaddr
 *
 * Return: the answer's length, or 0 when there is none to send
 */
size_t dhcp_answer(const struct dhcp_msg *q, const struct dhcp_lease *l,
		   uint8_t *out, bool *broadcast)
{
	static const uint8_t zero[4];
	uint8_t type = dhcp_reply_type(q, l), mask[4] = { 255, 255, 255, 252 };
	uint8_t bcast[4];
	uint32_t cookie = htonl(DHCP_MAGIC);
	bool inform = q->type == DHCP_INFORM;
	size_t n = DHCP_MIN_LEN;

	*broadcast = true;
	if (!type)
		return 0;
	memset(out, 0, DHCP_REPLY_MAX);
	out[0] = 2;				/* BOOTREPLY */
	out[1] = 1;
	out[2] = 6;
	memcpy(out + 4, &q->xid, 4);
	out[10] = (uint8_t)(q->flags >> 8);
	out[11] = (uint8_t)q->flags;
	if (type == DHCP_ACK)
		memcpy(out + 12, q->ciaddr, 4);
	if (type != DHCP_NAK && !inform)
		memcpy(out + 16, l->addr, 4);	/* yiaddr */
	memcpy(out + 28, q->chaddr, 6);
	memcpy(out + DHCP_FIXED_LEN, &cookie, 4);

	dhcp_put(out, &n, DHCP_O_TYPE, &type, 1);
	dhcp_put(out, &n, DHCP_O_SERVER_ID, l->gw, 4);
	if (type == DHCP_NAK) {
		static const char why[] = "not this sandbox's address";

		dhcp_put(out, &n, DHCP_O_MESSAGE, why, sizeof(why) - 1);
	} else {
		if (!inform) {
			dhcp_put32(out, &n, DHCP_O_LEASE, DHCP_LEASE_S);
			dhcp_put32(out, &n, DHCP_O_T1, DHCP_LEASE_S / 2);
			dhcp_put32(out, &n, DHCP_O_T2, DHCP_LEASE_S / 8 * 7);
		}
		memcpy(bcast, l->addr, 4);
		bcast[3] |= 3;
		dhcp_put(out, &n, DHCP_O_MASK, mask, 4);
		dhcp_put(out, &n, DHCP_O_BROADCAST, bcast, 4);
		dhcp_put(out, &n, DHCP_O_ROUTER, l->gw, 4);
		if (l->dns)
			dhcp_put(out, &n, DHCP_O_DNS, l->gw, 4);
		if (l->mtu >= 68) {
			uint8_t mtu[2] = { (uint8_t)(l->mtu >> 8), (uint8_t)l->mtu };

			dhcp_put(out, &n, DHCP_O_MTU, mtu, 2);
		}
	}
	out[n++] = DHCP_O_END;
	/* a renewing client has an address: answer it there (RFC 2131
	 * 4.1); one without, and every NAK, by broadcast */
	*broadcast = type == DHCP_NAK || !memcmp(q->ciaddr, zero, 4);
	return n < DHCP_BOOTP_MIN ? DHCP_BOOTP_MIN : n;
}

/**
 * dhcp_lease_of() - the lease of a sandbox's guest
 * @s:		the sandbox, with a TAP
 * @pol:	its policy (network "filtered" offers the DNS interceptor)
 * @mtu:	its interface's MTU, 0 if unknown
 * @l:		filled in
 */
void dhcp_lease_of(const struct sb_state *s, const struct policy *pol,
		   uint16_t mtu, struct dhcp_lease *l)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->mac, s->guest_mac, 6);
	memcpy(l->addr, s->addr4.addr, 4);
	memcpy(l->gw, s->gw4.addr, 4);
	l->dns = pol->mode == NET_FILTERED;
	l->mtu = mtu;
}

/**
 * dhcp_init() - open the server's socket, while the worker is root
 * @d:		server, zeroed by the caller
 * @epfd:	the worker's epoll instance (SV_REF_DHCP)
 * @s:		the sandbox, with a TAP
 * @pol:	its policy
 * @log:	the worker's log intake
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
int dhcp_init(struct dhcp *d, int epfd, const struct sb_state *s,
	      const struct policy *pol, struct log *log, char **err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(DHCP_SERVER_PORT) };
	union sv_ref ref = { .type = SV_REF_DHCP };
	struct epoll_event ev = { .events = EPOLLIN };
	autoclose int fd = -1;
	struct ifreq ifr;
	int one = 1;

	d->fd = -1;
	d->log = log;
	d->tokens = DHCP_BURST;
	clock_gettime(CLOCK_MONOTONIC, &d->last);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname,
		       (socklen_t)strlen(s->ifname)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		*err = xasprintf("cannot listen on DHCP port %d of %s: %s",
				 DHCP_SERVER_PORT, s->ifname, strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->ifname);
	if (ioctl(fd, SIOCGIFMTU, &ifr))
		ifr.ifr_mtu = 0;
	dhcp_lease_of(s, pol, ifr.ifr_mtu > 0 && ifr.ifr_mtu <= 65535 ?
		      (uint16_t)ifr.ifr_mtu : 0, &d->lease);
	ref.fd = fd;
	ev.data.u64 = ref.u64;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		*err = xasprintf("epoll: %s", strerror(errno));
		return -1;
	}
	d->fd = steal_fd(&fd);
	return 0;
}

/**
 * dhcp_token() - take one answer from the rate limit's bucket
 * @d:		server
 *
 * Return: true if an answer may be sent
 */
static bool dhcp_token(struct dhcp *d)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - d->last.tv_sec) +
	     (double)(now.tv_nsec - d->last.tv_nsec) / 1e9;
	d->last = now;
	d->tokens += dt * DHCP_RATE;
	if (d->tokens > DHCP_BURST)
		d->tokens = DHCP_BURST;
	if (d->tokens < 1)
		return false;
	d->tokens -= 1;
	return true;
}

/**
 * dhcp_log() - a record of a lease given, refused, declined or released
 * @d:		server
 * @event:	"ack", "nak", "decline" or "release"
 * @q:		the request
 */
static void dhcp_log(struct dhcp *d, const char *event,
		     const struct dhcp_msg *q)
{
	char mac[ADDR_MAC_STRLEN], a[INET_ADDRSTRLEN], r[INET_ADDRSTRLEN];
	static const uint8_t zero[4];
	const uint8_t *want = memcmp(q->requested, zero, 4) ? q->requested :
			      q->ciaddr;

	inet_ntop(AF_INET, d->lease.addr, a, sizeof(a));
	inet_ntop(AF_INET, want, r, sizeof(r));
	log_event(d->log, "dhcp", "event", event,
		  "mac", addr_mac_format(q->chaddr, mac), "address", a,
		  "requested", r, NULL);
}

/**
 * dhcp_input() - read and answer what the guest sent
 * @d:		server
 *
 * At most a few datagrams per wake-up, so that the worker's other
 * services are not starved by a flood.
 */
void dhcp_input(struct dhcp *d)
{
	static const enum dhcp_ctr by_type[] = {
		[DHCP_DISCOVER] = DHCP_C_DISCOVER, [DHCP_REQUEST] = DHCP_C_REQUEST,
		[DHCP_DECLINE] = DHCP_C_DECLINE, [DHCP_RELEASE] = DHCP_C_RELEASE,
		[DHCP_INFORM] = DHCP_C_INFORM,
	};
	uint8_t buf[DHCP_BUF], out[DHCP_REPLY_MAX];
	int k;

	for (k = 0; k < 16; k++) {
		struct sockaddr_in to = { .sin_family = AF_INET,
					  .sin_port = htons(DHCP_CLIENT_PORT) };
		struct dhcp_msg q;
		bool bcast;
		ssize_t n;
		size_t len;

		n = recv(d->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0)
			return;
		d->ctr[DHCP_C_RECEIVED]++;
		if ((size_t)n > sizeof(buf) ||
		    dhcp_parse(buf, (size_t)n, &q) != DHCP_OK) {
			d->ctr[DHCP_C_MALFORMED]++;
			continue;
		}
		if (q.op == 1 && !memcmp(q.chaddr, d->lease.mac, 6) &&
		    q.type < ARRAY_SIZE(by_type) && by_type[q.type])
			d->ctr[by_type[q.type]]++;
		len = dhcp_answer(&q, &d->lease, out, &bcast);
		if (q.op == 1 && !memcmp(q.chaddr, d->lease.mac, 6) &&
		    (q.type == DHCP_DECLINE || q.type == DHCP_RELEASE))
			dhcp_log(d, q.type == DHCP_DECLINE ? "decline" : "release", &q);
		if (!len) {
			if (q.type != DHCP_DECLINE && q.type != DHCP_RELEASE)
				d->ctr[DHCP_C_IGNORED]++;
			continue;
		}
		if (!dhcp_token(d)) {
			d->ctr[DHCP_C_RATE_LIMITED]++;
			continue;
		}
		to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
		if (!bcast)
			memcpy(&to.sin_addr, q.ciaddr, 4);
		if (sendto(d->fd, out, len, 0, (struct sockaddr *)&to,
			   sizeof(to)) != (ssize_t)len) {
			d->ctr[DHCP_C_SEND_ERRORS]++;
			continue;
		}
		switch (out[DHCP_MIN_LEN + 2]) {	/* the type: first option */
		case DHCP_OFFER:
			d->ctr[DHCP_C_OFFER]++;
			break;
		case DHCP_ACK:
			d->ctr[DHCP_C_ACK]++;
			if (q.type == DHCP_REQUEST)
				dhcp_log(d, "ack", &q);
			break;
		default:
			d->ctr[DHCP_C_NAK]++;
			dhcp_log(d, "nak", &q);
			break;
		}
	}
}

/**
 * dhcp_close() - close the server's socket
 * @d:		server
 */
void dhcp_close(struct dhcp *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/**
 * dhcp_stats() - the server's counters, for the status JSON
 * @d:		server (a copy the core made: only its counters are read)
 *
 * Return: new JSON object, one "<name>_total" per counter
 */
json_t *dhcp_stats(const struct dhcp *d)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < DHCP_C_COUNT; i++)
		json_object_set_new(o, dhcp_ctr_names[i],
				    json_integer((json_int_t)d->ctr[i]));
	return o;
}
