// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * ra.c - router advertisements for a sandbox's guest (IPv6, SLAAC)
 *
 * Theory of operation
 * -------------------
 * Where the sandbox has IPv6, the guest behind its TAP device configures
 * itself statelessly (RFC 4862), as a stock Linux guest does by default:
 * the worker advertises the sandbox's /64 as on-link and autonomous, the
 * gateway as default router (from the host interface's link-local
 * address, which the kernel picks as the source), the interface's MTU and
 * the gateway (the DNS interceptor) as resolver (RDNSS, RFC 8106) for
 * network "filtered". The guest then takes the EUI-64 address of its MAC
 * in that /64, which is the address moat recorded for the sandbox and the
 * only IPv6 source its rules accept (sandbox.c, nft.c): a guest that
 * makes up another address (privacy extensions, stable-privacy
 * addresses) is refused as spoofing, so it must keep the kernel's EUI-64
 * default. There is no DHCPv6: the advertisement says so (M and O off).
 *
 * The socket: raw ICMPv6, bound to the sandbox's host interface, opened
 * while the worker is root (CAP_NET_RAW), filtered (ICMP6_FILTER) to
 * router solicitations; the sandbox's chains let those in only from "::"
 * or the guest's link-local address, to all routers, with hop limit 255
 * (nft_tap_pre(), nft_tap_in()). Nothing of a solicitation is parsed: any
 * one is answered, at most once a second (RA_MIN_GAP_MS), with the one
 * advertisement built at start: to its source, or to all nodes when that
 * is "::". Unsolicited ones go to all nodes every RA_INTERVAL_S seconds,
 * well within the router lifetime (RA_ROUTER_LIFETIME_S). The kernel
 * computes the checksum; hop limit 255 on the way out, as receivers
 * require.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "ra.h"
#include "supervisor.h"

/* #syscalls:worker recvfrom sendto */

#define RA_OPT_SLLA		1	/* source link-layer address */
#define RA_OPT_PREFIX		3
#define RA_OPT_MTU		5
#define RA_OPT_RDNSS		25
#define RA_FLAG_ONLINK		0x80
#define RA_FLAG_AUTO		0x40

static const char *const ra_ctr_names[RA_C_COUNT] = {
	[RA_C_SOLICIT]		= "solicitations_total",
	[RA_C_SENT]		= "advertisements_total",
	[RA_C_RATE_LIMITED]	= "rate_limited_total",
	[RA_C_SEND_ERRORS]	= "send_errors_total",
};

/**
 * ra_put32() - a 32-bit number, network order
 * @p:		where
 * @v:		value
 */
static void ra_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/**
 * ra_build() - a router advertisement (RFC 4861 4.2)
 * @out:	RA_LEN_MAX bytes
 * @mac:	the router's link-layer address (the host interface's)
 * @mtu:	the link's MTU, 0 for no MTU option
 * @prefix:	the /64's first 8 bytes
 * @dns:	a resolver's address (16 bytes) for RDNSS, or NULL
 *
 * Return: its length (the checksum is left to the kernel)
 */
size_t ra_build(uint8_t *out, const uint8_t mac[6], uint32_t mtu,
		const uint8_t prefix[8], const uint8_t *dns)
{
	size_t n = 16;

	memset(out, 0, RA_LEN_MAX);
	out[0] = ND_ROUTER_ADVERT;
	out[4] = 64;			/* current hop limit */
	out[5] = 0;			/* no DHCPv6: M and O off */
	out[6] = (uint8_t)(RA_ROUTER_LIFETIME_S >> 8);
	out[7] = (uint8_t)RA_ROUTER_LIFETIME_S;

	out[n] = RA_OPT_SLLA;
	out[n + 1] = 1;			/* in units of 8 bytes */
	memcpy(out + n + 2, mac, 6);
	n += 8;

	if (mtu) {
		out[n] = RA_OPT_MTU;
		out[n + 1] = 1;
		ra_put32(out + n + 4, mtu);
		n += 8;
	}

	out[n] = RA_OPT_PREFIX;
	out[n + 1] = 4;
	out[n + 2] = 64;
	out[n + 3] = RA_FLAG_ONLINK | RA_FLAG_AUTO;
	ra_put32(out + n + 4, RA_VALID_S);
	ra_put32(out + n + 8, RA_PREFERRED_S);
	memcpy(out + n + 16, prefix, 8);
	n += 32;

	if (dns) {
		out[n] = RA_OPT_RDNSS;
		out[n + 1] = 3;
		ra_put32(out + n + 4, RA_ROUTER_LIFETIME_S);
		memcpy(out + n + 8, dns, 16);
		n += 24;
	}
	return n;
}

/**
 * ra_send() - send the advertisement
 * @r:		advertiser
 * @to:		destination (link-local or all nodes), or NULL for all nodes
 */
static void ra_send(struct ra *r, const struct in6_addr *to)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_scope_id = r->ifindex };

	if (to)
		sa.sin6_addr = *to;
	else
		inet_pton(AF_INET6, "ff02::1", &sa.sin6_addr);
	if (sendto(r->fd, r->pkt, r->len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != (ssize_t)r->len) {
		r->ctr[RA_C_SEND_ERRORS]++;
		return;
	}
	r->ctr[RA_C_SENT]++;
	clock_gettime(CLOCK_MONOTONIC, &r->last);
}

/**
 * ra_init() - open the advertiser's socket and timer, while root
 * @r:		advertiser, zeroed by the caller
 * @epfd:	the worker's epoll instance (SV_REF_RA, SV_REF_RA_TIMER)
 * @s:		the sandbox, with a TAP and IPv6
 * @pol:	its policy (network "filtered" advertises the resolver)
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
int ra_init(struct ra *r, int epfd, const struct sb_state *s,
	    const struct policy *pol, char **err)
{
	struct itimerspec its = { .it_value.tv_sec = RA_INTERVAL_S,
				  .it_interval.tv_sec = RA_INTERVAL_S };
	union sv_ref ref = { .type = SV_REF_RA };
	struct epoll_event ev = { .events = EPOLLIN };
	struct icmp6_filter filt;
	autoclose int fd = -1, tfd = -1;
	int hops = 255;
	struct ifreq ifr;
	uint32_t mtu;

	r->fd = r->tfd = -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", s->ifname);
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filt);
	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0 || tfd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->ifname,
		       (socklen_t)strlen(s->ifname)) ||
	    setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops))) {
		*err = xasprintf("cannot open router advertisements on %s: %s",
				 s->ifname, strerror(errno));
		return -1;
	}
	r->ifindex = if_nametoindex(s->ifname);
	mtu = ioctl(fd, SIOCGIFMTU, &ifr) ? 0 : (uint32_t)ifr.ifr_mtu;
	/* last: ifr_hwaddr shares its union with ifr_mtu */
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) || !r->ifindex) {
		*err = xasprintf("cannot read %s: %s", s->ifname, strerror(errno));
		return -1;
	}
	r->len = ra_build(r->pkt, (const uint8_t *)ifr.ifr_hwaddr.sa_data, mtu,
			  s->addr6.addr,
			  pol->mode == NET_FILTERED ? s->gw6.addr : NULL);
	ref.fd = fd;
	ev.data.u64 = ref.u64;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		*err = xasprintf("epoll: %s", strerror(errno));
		return -1;
	}
	ref.type = SV_REF_RA_TIMER;
	ref.fd = tfd;
	ev.data.u64 = ref.u64;
	if (timerfd_settime(tfd, 0, &its, NULL) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev)) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		*err = xasprintf("router advertisement timer: %s", strerror(errno));
		return -1;
	}
	r->fd = steal_fd(&fd);
	r->tfd = steal_fd(&tfd);
	return 0;
}

/**
 * ra_input() - answer the router solicitations queued
 * @r:		advertiser
 */
void ra_input(struct ra *r)
{
	struct sockaddr_in6 from;
	struct timespec now;
	uint8_t buf[256];
	int k;

	for (k = 0; k < 16; k++) {
		socklen_t fl = sizeof(from);
		long ms;

		if (recvfrom(r->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &fl) < 0)
			return;
		r->ctr[RA_C_SOLICIT]++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - r->last.tv_sec) * 1000 +
		     (now.tv_nsec - r->last.tv_nsec) / 1000000;
		if (r->ctr[RA_C_SENT] && ms < RA_MIN_GAP_MS) {
			r->ctr[RA_C_RATE_LIMITED]++;
			continue;
		}
		ra_send(r, fl >= sizeof(from) && !IN6_IS_ADDR_UNSPECIFIED(&from.sin6_addr) ?
			&from.sin6_addr : NULL);
	}
}

/**
 * ra_timer() - an unsolicited advertisement, to all nodes
 * @r:		advertiser
 */
void ra_timer(struct ra *r)
{
	uint64_t exp;

	if (read(r->tfd, &exp, sizeof(exp)) == sizeof(exp))
		ra_send(r, NULL);
}

/**
 * ra_close() - close the advertiser's socket and timer
 * @r:		advertiser
 */
void ra_close(struct ra *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->tfd >= 0)
		close(r->tfd);
	r->fd = r->tfd = -1;
}

/**
 * ra_stats() - the advertiser's counters, for the status JSON
 * @r:		advertiser (a copy the core made: only its counters are read)
 *
 * Return: new JSON object, one "<name>_total" per counter
 */
json_t *ra_stats(const struct ra *r)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < RA_C_COUNT; i++)
		json_object_set_new(o, ra_ctr_names[i],
				    json_integer((json_int_t)r->ctr[i]));
	return o;
}
