// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * dns.c - the per-sandbox DNS interceptor
 *
 * Theory of operation
 * -------------------
 * nftables redirects every DNS message a sandbox sends (UDP and TCP port
 * 53, to any address) to its gateway address (nft.c, I4), where this
 * interceptor, part of the sandbox's supervisor, listens. It runs in the
 * supervisor's one epoll loop: each socket is registered with a union
 * sv_ref (SV_REF_DNS_*) and dns_event() dispatches on it.
 *
 * UDP queries are read DNS_UDP_BATCH at a time (recvmmsg(2)); one larger
 * than DNS_UDP_QMAX is no query (a question and an OPT record), counted
 * malformed and not answered. A query (ldns parses and builds every
 * message; nothing here reads DNS wire format by hand) is decided on
 * locally first, in this order:
 * dns.records (answered by moat), dns.block and domain deny rules
 * (NXDOMAIN with an Extended DNS Error, RFC 8914), names that match no
 * allow rule when egress.default is deny (NXDOMAIN, never forwarded: no
 * exfiltration through the upstream), HTTPS/SVCB (answered empty: their
 * address hints and ECH keys would bypass the policy) and AAAA when the
 * sandbox has no IPv6 (answered empty, so Happy Eyeballs never waits).
 * Everything else is forwarded as a query of moat's own making
 * (dns_upstream_query(): the question, RD/CD/AD, and an OPT record of its
 * own with the client's DO bit; never the client's additional records or
 * EDNS options, which would be a channel to the upstream and every hop on
 * its path), with our own random ID from a connected UDP socket of its
 * own (a random source port: dns_q_send()), to the upstreams
 * (dns.upstream / --dns-upstream, else the nameservers of /etc/resolv.conf
 * as moat sees them, in the host's namespace, so 127.0.0.53 works), one
 * after the other every DNS_UP_TIMEOUT seconds; when all have failed the
 * client gets SERVFAIL. Upstream sockets carry the sandbox's mark with
 * NFT_OUT_DNS: the kernel judges them with the sandbox's own chains,
 * which let them reach port 53 (nft.c, nft_out_chain_text()). At most DNS_Q_MAX queries are outstanding per
 * sandbox and DNS_TCP_MAX client connections open: a flood costs its own
 * sandbox answers (REFUSED / SERVFAIL), never the host's memory.
 *
 * An answer is checked as a whole before anything else: with rebind
 * protection, every A and AAAA record of the answer section (the CNAME
 * chain included; IPv4-mapped and NAT64 addresses by the IPv4 they carry,
 * addr_classify()) must be in group public, unless the first rule
 * matching that address is an explicit address, CIDR or group allow; if
 * one is not, the client gets NXDOMAIN with an EDE. Then, when the name
 * matches domain allow rules, every address is pinned into each such
 * rule's nftables set (nft_pinner_add(), a libnftnl batch) with a timeout
 * of the record's TTL clamped to dns.ttl (and never under one second, so
 * that every pin expires: dns_pin_timeout()), and only once the kernel has
 * acknowledged the batch is the answer released, with its TTLs clamped to
 * dns.ttl.max so that no client caches an address longer than its pin
 * lives. A pin that fails makes the answer SERVFAIL: nothing is released
 * that the kernel would not let through.
 *
 * Pins are per sandbox (the sets are its own) and bounded: the last
 * DNS_PIN_MAX (or MOAT_DNS_PINS) are kept in a ring, which dns_pinned()
 * reads for the transparent proxy. A pin that falls out of the ring is
 * deleted from the kernel's sets before the new ones are added
 * (dns_evict()), unless a newer pin holds the same address: the oldest
 * pin goes first, a name resolved again is pinned anew at the front, and
 * connections already made live on in conntrack, so an eviction only
 * closes new connections to an address nobody resolved for a long time.
 * The sets (NFT_DOM_SET_SIZE) are at least as large as the ring, so a
 * sandbox resolving millions of names keeps at most DNS_PIN_MAX addresses
 * open and never fills them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "privop.h"
#include "sblink.h"

#define DNS_EDE_OPT		15	/* EDNS option code, RFC 8914 */
#define DNS_EDE_OTHER		0
#define DNS_EDE_BLOCKED		15
#define DNS_EDE_FILTERED	17
#define DNS_EDE_POLICY		"blocked by moat's network policy: "
#define DNS_TYPE_SVCB		64
#define DNS_TYPE_HTTPS		65

static const char *const dns_ctr_names[DNS_C_COUNT] = {
	[DNS_C_QUERIES]		= "queries_total",
	[DNS_C_FORWARDED]	= "forwarded_total",
	[DNS_C_LOCAL]		= "answered_locally_total",
	[DNS_C_B_DENY_RULE]	= "blocked_rule_total",
	[DNS_C_B_DEFAULT_DENY]	= "blocked_default_deny_total",
	[DNS_C_B_BLOCKLIST]	= "blocked_blocklist_total",
	[DNS_C_B_REBIND]	= "blocked_rebind_total",
	[DNS_C_B_INVALID]	= "blocked_invalid_name_total",
	[DNS_C_EMPTIED]		= "emptied_total",
	[DNS_C_PINNED]		= "pinned_total",
	[DNS_C_PIN_FRESH]	= "pins_still_fresh_total",
	[DNS_C_PIN_FAILED]	= "pin_failed_total",
	[DNS_C_EVICTED]		= "pins_evicted_total",
	[DNS_C_EVICT_FAILED]	= "pin_evict_failed_total",
	[DNS_C_SERVFAIL]	= "servfail_total",
	[DNS_C_TIMEOUT]		= "upstream_timeout_total",
	[DNS_C_OVERLOAD]	= "overload_total",
	[DNS_C_MALFORMED]	= "malformed_total",
	[DNS_C_UP_SOCKETS]	= "upstream_sockets_total",
};

/**
 * dns_now_us() - monotonic microseconds
 *
 * Return: microseconds
 */
static long long dns_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/**
 * dns_cmp_u32() - qsort() order of two uint32_t
 * @a:		one
 * @b:		the other
 *
 * Return: <0, 0 or >0
 */
static int dns_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* #syscalls:worker clock_gettime */
/**
 * dns_now() - monotonic seconds
 *
 * Return: seconds
 */
static time_t dns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ------------------------------------------------------------------------
 * Names
 */

/**
 * dns_rule_for_name() - the first domain rule matching a name
 * @p:		policy
 * @name:	normalised name
 * @from:	index to start at
 *
 * Return: index of the rule, or p->nrules if none matches
 */
static size_t dns_rule_for_name(const struct policy *p, const char *name,
				size_t from)
{
	size_t k;

	for (k = from; k < p->nrules; k++)
		if (p->rules[k].kind == TARGET_DOMAIN &&
		    names_match(p->rules[k].domain, name))
			return k;
	return p->nrules;
}

/**
 * dns_addr_allowed_by_rule() - tell if an address's first rule allows it
 * @p:		policy
 * @af:		family
 * @addr:	address
 *
 * Only explicit address, CIDR or group rules count (SPEC §5, rebind
 * protection); domain rules never vouch for an address.
 *
 * Return: true if the first address rule matching @addr is an allow
 */
static bool dns_addr_allowed_by_rule(const struct policy *p, int af,
				     const uint8_t *addr)
{
	struct prefix a = { .family = af, .plen = af == AF_INET ? 32 : 128 };
	enum addr_group g = addr_classify(af, addr, NULL, 0);
	size_t k;

	memcpy(a.addr, addr, af == AF_INET ? 4 : 16);
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind == TARGET_CIDR && r->pfx.family == af &&
		    prefix_contains(&r->pfx, &a))
			return r->allow;
		if (r->kind == TARGET_GROUP && r->group == g)
			return r->allow;
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Upstreams
 */

/**
 * dns_resolv_conf_upstreams() - the nameservers of a resolv.conf
 * @path:	file
 * @up:		filled with addresses, port 53
 * @max:	room in @up
 *
 * Return: number found (0 if the file is missing or names none)
 */
int dns_resolv_conf_upstreams(const char *path, struct sockaddr_storage *up,
			      unsigned max)
{
	autofclose FILE *f = fopen(path, "re");
	char line[512], addr[256];
	unsigned n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&up[n];
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&up[n];
		char *pct;

		if (sscanf(line, " nameserver %255s", addr) != 1)
			continue;
		pct = strchr(addr, '%');	/* fe80::1%eth0: no scope here */
		if (pct)
			continue;
		memset(&up[n], 0, sizeof(up[n]));
		if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(53);
			n++;
		} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(53);
			n++;
		}
	}
	return (int)n;
}

/* ------------------------------------------------------------------------
 * Answers
 */

/**
 * dns_add_ede() - add an Extended DNS Error to a response
 * @pkt:	response
 * @code:	INFO-CODE
 * @text:	EXTRA-TEXT
 */
static void dns_add_ede(ldns_pkt *pkt, uint16_t code, const char *text)
{
	size_t tl = strlen(text), len = 4 + 2 + tl;
	uint8_t *buf = xcalloc(1, len);
	ldns_edns_option_list *list;
	ldns_edns_option *opt;

	if (tl > 200)
		tl = 200, len = 4 + 2 + tl;
	/* ldns_edns_new() takes the option's data, without its header */
	buf[0] = (uint8_t)(code >> 8);
	buf[1] = (uint8_t)code;
	memcpy(buf + 2, text, tl);
	opt = ldns_edns_new(DNS_EDE_OPT, 2 + tl, buf);
	if (!opt) {
		free(buf);
		return;
	}
	list = ldns_pkt_edns_get_option_list(pkt);
	if (!list) {
		list = ldns_edns_option_list_new();
		if (!list) {
			ldns_edns_deep_free(opt);
			return;
		}
		ldns_pkt_set_edns_option_list(pkt, list);
	}
	ldns_edns_option_list_push(list, opt);
	ldns_pkt_set_edns_udp_size(pkt, 1232);
}

/**
 * dns_reply_new() - an empty response to a query
 * @q:		query
 * @rcode:	LDNS_RCODE_*
 *
 * Return: response (question copied, RD copied, RA set)
 */
static ldns_pkt *dns_reply_new(const ldns_pkt *q, ldns_pkt_rcode rcode)
{
	ldns_pkt *r = ldns_pkt_new();

	if (!r)
		die_oom();
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_ra(r, true);
	ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	if (ldns_pkt_question(q) && ldns_rr_list_rr_count(ldns_pkt_question(q))) {
		ldns_rr_list_deep_free(ldns_pkt_question(r));
		ldns_pkt_set_question(r, ldns_rr_list_clone(ldns_pkt_question(q)));
		ldns_pkt_set_qdcount(r, 1);
	}
	return r;
}

/**
 * dns_udp_max() - the largest UDP answer a client accepts
 * @q:		its query
 *
 * Return: bytes
 */
static size_t dns_udp_max(const ldns_pkt *q)
{
	size_t n = ldns_pkt_edns(q) ? ldns_pkt_edns_udp_size(q) : 512;

	return n < 512 ? 512 : n;
}

/* #syscalls:worker sendto sendmsg shutdown */
/**
 * dns_send_client() - send an answer to a client, UDP or TCP
 * @d:		interceptor
 * @wire:	answer
 * @len:	its length
 * @tcp:	over TCP: @conn, @gen name the connection
 * @conn:	connection index
 * @gen:	its generation
 * @lfd:	UDP listener
 * @to:		UDP client
 * @tolen:	its length
 * @maxlen:	largest UDP answer the client accepts
 *
 * An answer too large for the client's UDP size is sent truncated: its
 * header and question with TC set, so that the client retries over TCP.
 */
static void dns_send_client(struct dns *d, uint8_t *wire, size_t len,
			    bool tcp, unsigned conn, unsigned gen, int lfd,
			    const struct sockaddr_storage *to, socklen_t tolen,
			    size_t maxlen)
{
	if (tcp) {
		struct dns_tcp *c = &d->tcp[conn];
		uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
		struct iovec iov[2] = { { hdr, 2 }, { wire, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		if (c->fd < 0 || c->gen != gen)
			return;		/* the client went away */
		/* a client that does not read its answers loses the
		 * connection rather than growing our memory
		 */
		if (sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    (ssize_t)(len + 2))
			shutdown(c->fd, SHUT_RDWR);
		return;
	}
	if (len > maxlen) {
		size_t qend = 12, i;
		uint16_t qd = (uint16_t)(wire[4] << 8 | wire[5]);

		/* keep the header and the (single) question */
		for (i = 0; i < qd && qend < len; i++) {
			while (qend < len && wire[qend] && wire[qend] < 64)
				qend += wire[qend] + 1;
			qend += 1 + 4;
		}
		if (qend > len || qend > maxlen)
			qend = 12, qd = 0;
		wire[2] |= 0x02;			/* TC */
		wire[4] = (uint8_t)(qd >> 8);
		wire[5] = (uint8_t)qd;
		memset(wire + 6, 0, 6);			/* AN, NS, AR */
		len = qend;
	}
	sendto(lfd, wire, len, MSG_DONTWAIT, (const struct sockaddr *)to, tolen);
}

/**
 * dns_reply() - send a response built here, counting SERVFAILs
 * @d:		interceptor
 * @r:		response (freed here)
 * @q:		the outstanding query it answers
 */
static void dns_reply(struct dns *d, ldns_pkt *r, const struct dns_q *q)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt_get_rcode(r) == LDNS_RCODE_SERVFAIL)
		d->ctr[DNS_C_SERVFAIL]++;
	ldns_pkt_set_id(r, q->cid);
	if (ldns_pkt2wire(&wire, r, &len) == LDNS_STATUS_OK)
		dns_send_client(d, wire, len, q->tcp, q->conn, q->gen, q->lfd,
				&q->client, q->clen, q->maxlen);
	free(wire);
	ldns_pkt_free(r);
}

/**
 * dns_type_str() - a record type's name ("AAAA"), else its number
 * @qtype:	type
 * @t:		buffer
 * @len:	its size
 *
 * Return: @t
 */
static const char *dns_type_str(uint16_t qtype, char *t, size_t len)
{
	ldns_rdf *rt = ldns_native2rdf_int16(LDNS_RDF_TYPE_TYPE, qtype);

	snprintf(t, len, "%u", qtype);
	if (rt) {
		char *s = ldns_rdf2str(rt);

		if (s)
			snprintf(t, len, "%s", s);
		free(s);
		ldns_rdf_deep_free(rt);
	}
	return t;
}

/**
 * dns_log() - log one decision
 * @d:		interceptor
 * @name:	question name
 * @qtype:	question type
 * @action:	"forwarded", "nxdomain", ...
 * @reason:	why, or NULL
 */
static void dns_log(struct dns *d, const char *name, uint16_t qtype,
		    const char *action, const char *reason)
{
	char t[16];

	if (!d->log)
		return;
	log_event(d->log, "dns", "name", name, "qtype",
		  dns_type_str(qtype, t, sizeof(t)), "action", action,
		  "reason", reason ? reason : "", NULL);
}

/* ------------------------------------------------------------------------
 * Queries
 */

/**
 * dns_q_free() - release an outstanding query, and close its socket
 * @d:		interceptor
 * @q:		query
 */
static void dns_q_free(struct dns *d, struct dns_q *q)
{
	(void)d;
	if (q->fd >= 0)
		close(q->fd);	/* takes it out of epoll: nothing else holds it */
	q->fd = -1;
	q->fd_idle = false;
	free(q->msg);
	q->msg = NULL;
	free(q->rbuf);
	q->rbuf = NULL;
	q->rlen = 0;
	q->tcpup = false;
}

/**
 * dns_q_reusable() - whether a query's UDP socket may ask another query
 * @q:		query slot
 * @now_us:	dns_now_us()
 *
 * A connected UDP socket towards an upstream is made per query (socket,
 * connect, epoll registration, two setfsuid(2) calls and a close: about a
 * third of the interceptor's CPU time per query) unless its slot's last
 * one may serve again: only once its query is done (one query per socket
 * at a time), at most DNS_UP_REUSE queries and within DNS_UP_REUSE_MS of
 * its making, never after an error on it, and only over UDP. What keeps an
 * answer from being forged is unchanged: the source port is still the
 * kernel's random choice per socket, the socket still takes datagrams from
 * the upstream's address and port alone, each query still has a fresh
 * random ID, and an answer must still match the query's ID and question
 * (dns_upstream_msg()); an answer to an earlier query of the socket that
 * comes late fails that check and is dropped. A port stays open at most
 * DNS_UP_REUSE_MS longer than one query alone keeps it (up to
 * DNS_UP_TIMEOUT per attempt).
 *
 * Return: true if @q's socket may be kept for the slot's next query
 */
static bool dns_q_reusable(const struct dns_q *q, long long now_us)
{
	return q->fd >= 0 && !q->tcpup && q->fd_uses < DNS_UP_REUSE &&
	       now_us - q->fd_born < DNS_UP_REUSE_MS * 1000LL;
}

/**
 * dns_q_done() - release an answered query, keeping its socket if it may
 * serve the slot's next query (dns_q_reusable())
 * @d:		interceptor
 * @q:		query
 */
static void dns_q_done(struct dns *d, struct dns_q *q)
{
	int fd = q->fd;

	if (!dns_q_reusable(q, dns_now_us())) {
		dns_q_free(d, q);
		return;
	}
	q->fd = -1;
	dns_q_free(d, q);
	q->fd = fd;
	q->fd_idle = true;
}

/* #syscalls:worker socket setsockopt connect sendto close epoll_ctl */
/**
 * dns_up_socket() - a socket towards an upstream, owned by the DNS UID
 * @d:		interceptor
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_DGRAM or SOCK_STREAM
 *
 * The kernel judges it by the sandbox's own chains, which let the worker's
 * DNS UID reach port 53 (nft.c, "_out"): the worker switches its file
 * system UID, which a socket takes as its owner, to that UID (its saved
 * UID, so no privilege is needed) for the socket(2) call, and back. No
 * socket is kept without it: as the worker's own UID it would meet the
 * sandbox's egress rules, which refuse port 53. The switch back returns
 * the filesystem UID the socket was made with (setfsuid(2) reports the
 * previous one, and fails silently): a socket made as anyone else is
 * closed unused. Two calls per socket, not three: this is on the path of
 * every forwarded query.
 *
 * Return: descriptor, or -1 with errno set
 */
static int dns_up_socket(const struct dns *d, int family, int type)
{
	int fd, e;

	if (!d->up_uid || !d->uid) {
		errno = EPERM;
		return -1;
	}
	setfsuid(d->up_uid);
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	e = errno;
	if ((uid_t)setfsuid(d->uid) != d->up_uid) {
		if (fd >= 0)
			close(fd);
		errno = EPERM;
		return -1;
	}
	errno = e;
	return fd;
}

/**
 * dns_q_send() - send a query to its current upstream
 * @d:		interceptor
 * @qi:		index of the query
 *
 * Return: 0, or -1 if no socket could be set up for this upstream
 */
static int dns_q_send(struct dns *d, unsigned qi)
{
	struct dns_q *q = &d->q[qi];
	const struct sockaddr_storage *up = &d->up[q->up];
	union sv_ref ref = { .type = SV_REF_DNS_UP, .idx = qi };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t ulen = up->ss_family == AF_INET ?
			 sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	q->tries++;		/* an attempt, even if it fails at once */
	if (q->fd >= 0 && q->fd_idle && q->fd_up == q->up && !q->tcpup &&
	    dns_q_reusable(q, dns_now_us())) {
		/* the slot's last query is done: its socket asks this one */
		q->fd_idle = false;
		q->fd_uses++;
		if (send(q->fd, q->msg, q->len, MSG_DONTWAIT) >= 0) {
			q->deadline = dns_now() + DNS_UP_TIMEOUT;
			return 0;
		}
	}
	q->fd_idle = false;
	if (q->fd >= 0)
		close(q->fd);	/* and out of epoll with it */
	q->fd = dns_up_socket(d, up->ss_family, q->tcpup ? SOCK_STREAM : SOCK_DGRAM);
	if (q->fd < 0)
		return -1;
	d->ctr[DNS_C_UP_SOCKETS]++;
	q->fd_up = q->up;
	q->fd_uses = 1;
	q->fd_born = dns_now_us();
	ref.fd = q->fd;
	if (q->tcpup) {
		/* connect, then dns_up_tcp_event() sends and reads */
		ev.events = EPOLLOUT;
		q->sent = false;
		q->rlen = 0;
		if (!q->rbuf)
			q->rbuf = malloc(2 + DNS_MSG_MAX);
		if (!q->rbuf ||
		    (connect(q->fd, (const struct sockaddr *)up, ulen) &&
		     errno != EINPROGRESS))
			goto fail;
		ev.data.u64 = ref.u64;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, q->fd, &ev))
			goto fail;
	} else {
		ev.data.u64 = ref.u64;
		if (connect(q->fd, (const struct sockaddr *)up, ulen) ||
		    epoll_ctl(d->epfd, EPOLL_CTL_ADD, q->fd, &ev) ||
		    send(q->fd, q->msg, q->len, MSG_DONTWAIT) < 0)
			goto fail;
	}
	q->deadline = dns_now() + DNS_UP_TIMEOUT;
	return 0;
fail:
	close(q->fd);
	q->fd = -1;
	return -1;
}

/**
 * dns_q_fail() - try the next upstream, or answer SERVFAIL
 * @d:		interceptor
 * @qi:		index of the query
 */
static void dns_q_fail(struct dns *d, unsigned qi)
{
	struct dns_q *q = &d->q[qi];

	while (q->tries < d->nup) {
		q->up = (q->up + 1) % d->nup;
		if (!dns_q_send(d, qi))
			return;
	}
	{
		ldns_pkt *req = NULL, *r;

		if (ldns_wire2pkt(&req, q->msg, q->len) == LDNS_STATUS_OK) {
			r = dns_reply_new(req, LDNS_RCODE_SERVFAIL);
			dns_add_ede(r, 22, "no upstream resolver answered");
			dns_reply(d, r, q);
			ldns_pkt_free(req);
		}
	}
	dns_log(d, q->qname, q->qtype, "servfail", "upstream");
	dns_q_free(d, q);
}

/**
 * dns_upstream_query() - the query moat sends upstream for a client's
 * @req:	the client's query (one question, no answer or authority
 *		records: dns_client_msg() checked)
 * @tcp:	it came over TCP
 * @id:		our ID for it
 *
 * Nothing of the client's message is forwarded as it came: the query is
 * built anew from its question (name, with the client's letter case, type
 * and class), so the upstream, and every resolver on its path, sees only
 * what resolving the name needs. Of the header, RD, CD and AD are the
 * client's (what it asks for: recursion, no validation, the AD bit in
 * answers; three bits); the ID is ours, the opcode QUERY, the other bits
 * clear. A client that used EDNS (and every TCP client, whose answers
 * may be large) gets an OPT record of moat's own: version 0, UDP size
 * DNS_UP_EDNS (DNS_UP_EDNS_TCP over TCP), the DO bit if the client set
 * it, no option. The client's additional records, its EDNS options
 * (client subnet, cookies, padding, unknown codes), UDP size, Z bits and
 * TSIG are never sent on.
 *
 * Return: a new packet (the caller frees it), or NULL
 */
ldns_pkt *dns_upstream_query(const ldns_pkt *req, bool tcp, uint16_t id)
{
	ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(req), 0);
	ldns_pkt *q;

	if (!qrr || !(q = ldns_pkt_new()))
		return NULL;
	ldns_pkt_set_id(q, id);
	ldns_pkt_set_opcode(q, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(q, ldns_pkt_rd(req));
	ldns_pkt_set_cd(q, ldns_pkt_cd(req));
	ldns_pkt_set_ad(q, ldns_pkt_ad(req));
	if (!ldns_pkt_push_rr(q, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr))) {
		ldns_pkt_free(q);
		return NULL;
	}
	if (tcp || ldns_pkt_edns(req)) {
		ldns_pkt_set_edns_udp_size(q, tcp ? DNS_UP_EDNS_TCP : DNS_UP_EDNS);
		ldns_pkt_set_edns_do(q, ldns_pkt_edns_do(req));
	}
	return q;
}

/* #syscalls:worker getrandom */
/**
 * dns_query_id() - a random ID for a query sent upstream
 * @d:		interceptor (its buffer of random IDs)
 *
 * From the kernel's random generator, DNS_ID_BUF IDs per getrandom(2)
 * call rather than one per query: each ID is used once, and none is
 * predictable from the others.
 *
 * Return: the ID
 */
static uint16_t dns_query_id(struct dns *d)
{
	if (!d->nids) {
		if (getrandom(d->ids, sizeof(d->ids), 0) != sizeof(d->ids))
			return (uint16_t)random();
		d->nids = DNS_ID_BUF;
	}
	return d->ids[--d->nids];
}

/**
 * dns_forward() - send a query upstream
 * @d:		interceptor
 * @req:	parsed query
 * @q0:		client details (tcp, conn, gen, client, clen, lfd, maxlen,
 *		qname, qtype)
 */
static void dns_forward(struct dns *d, ldns_pkt *req, const struct dns_q *q0)
{
	struct dns_q *q = NULL, keep;
	ldns_pkt *up;
	uint16_t id;
	unsigned i, fresh = DNS_Q_MAX;

	if (!d->nup) {
		ldns_pkt *r = dns_reply_new(req, LDNS_RCODE_SERVFAIL);

		dns_add_ede(r, 22, "no upstream resolver configured");
		dns_reply(d, r, q0);
		return;
	}
	/* a free slot whose socket may ask again first, then any free one,
	 * then a slot never used (their pages stay untouched until needed)
	 */
	for (i = 0; i < d->nq; i++)
		if (!d->q[i].msg) {
			if (d->q[i].fd_idle) {
				q = &d->q[i];
				break;
			}
			if (fresh == DNS_Q_MAX)
				fresh = i;
		}
	if (!q && fresh == DNS_Q_MAX && d->nq < DNS_Q_MAX) {
		fresh = d->nq++;
		d->q[fresh].fd = -1;
	}
	if (!q && fresh < DNS_Q_MAX)
		q = &d->q[i = fresh];
	if (!q) {
		ldns_pkt *r = dns_reply_new(req, LDNS_RCODE_REFUSED);

		d->ctr[DNS_C_OVERLOAD]++;
		dns_add_ede(r, 14, "too many queries in flight");
		dns_reply(d, r, q0);
		return;
	}
	keep = *q;
	*q = *q0;
	q->fd = keep.fd;	/* the slot's socket, if it kept one */
	q->fd_up = keep.fd_up;
	q->fd_uses = keep.fd_uses;
	q->fd_born = keep.fd_born;
	q->fd_idle = keep.fd_idle;
	id = dns_query_id(d);
	q->id = id;
	/* only the question, and EDNS of our own, leave the sandbox */
	up = dns_upstream_query(req, q0->tcp, id);
	q->msg = NULL;
	if (!up || ldns_pkt2wire(&q->msg, up, &q->len) != LDNS_STATUS_OK) {
		ldns_pkt_free(up);
		q->msg = NULL;
		return;
	}
	ldns_pkt_free(up);
	q->up = 0;
	q->tries = 0;
	d->ctr[DNS_C_FORWARDED]++;
	if (dns_q_send(d, i))
		dns_q_fail(d, i);
}

/**
 * dns_set_peers() - the names of the linked sandboxes (PRIVOP_PEERS)
 * @d:		interceptor
 * @m:		the core's message, well formed (privop_decode())
 *
 * Each sandbox this one has a live link to is answered as
 * NAME.moat.internal (SBLINK_DOMAIN), lower case, with its IPv4 address
 * and, if it has one and this sandbox has IPv6, its IPv6 address. The
 * table replaces the one before.
 */
void dns_set_peers(struct dns *d, const struct privop_msg *m)
{
	size_t i, k, n = 0;

	for (i = 0; i < m->hdr.n && i < DNS_PEERS_MAX; i++) {
		const struct privop_peer *e = &m->peer[i];
		struct dns_record r = { 0 };

		for (k = 0; k < e->namelen; k++)
			r.name[k] = (char)tolower((unsigned char)e->name[k]);
		snprintf(r.name + k, sizeof(r.name) - k, ".%s", SBLINK_DOMAIN);
		r.addr.family = AF_INET;
		r.addr.plen = 32;
		memcpy(r.addr.addr, e->addr4, 4);
		d->peers[n++] = r;
		if (!e->has6 || !d->s->has_v6)
			continue;
		r.addr.family = AF_INET6;
		r.addr.plen = 128;
		memcpy(r.addr.addr, e->addr6, 16);
		d->peers[n++] = r;
	}
	d->npeers = n;
}

/**
 * dns_internal() - whether a name is under SBLINK_DOMAIN
 * @name:	normalised name
 *
 * Return: true for "moat.internal" and every name below it
 */
static bool dns_internal(const char *name)
{
	size_t l = strlen(name), sl = strlen(SBLINK_DOMAIN);

	return !strcmp(name, SBLINK_DOMAIN) ||
	       (l > sl && name[l - sl - 1] == '.' &&
		!strcmp(name + l - sl, SBLINK_DOMAIN));
}

/**
 * dns_local_records() - answer from dns.records, if the name is there
 * @d:		interceptor
 * @req:	query
 * @q0:		client details
 *
 * Return: true if answered
 */
static bool dns_local_records(struct dns *d, const ldns_pkt *req,
			      const struct dns_q *q0)
{
	const struct policy *p = d->pol;
	bool found = false;
	ldns_pkt *r = NULL;
	size_t i;

	for (i = 0; i < p->ndns_records + d->npeers; i++) {
		const struct dns_record *rec = i < p->ndns_records ?
					       &p->dns_records[i] :
					       &d->peers[i - p->ndns_records];
		int want = q0->qtype == LDNS_RR_TYPE_A ? AF_INET :
			   q0->qtype == LDNS_RR_TYPE_AAAA ? AF_INET6 : 0;
		ldns_rdf *owner, *rd;
		ldns_rr *rr;

		if (strcmp(rec->name, q0->qname))
			continue;
		found = true;
		if (!r)
			r = dns_reply_new(req, LDNS_RCODE_NOERROR);
		if (rec->addr.family != want)
			continue;
		rr = ldns_rr_new();
		owner = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(req), 0)));
		rd = ldns_rdf_new_frm_data(want == AF_INET ? LDNS_RDF_TYPE_A :
					   LDNS_RDF_TYPE_AAAA,
					   want == AF_INET ? 4 : 16,
					   rec->addr.addr);
		if (!rr || !owner || !rd)
			die_oom();
		ldns_rr_set_owner(rr, owner);
		ldns_rr_set_type(rr, q0->qtype);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		ldns_rr_set_ttl(rr, d->pol->ttl_min);
		ldns_rr_push_rdf(rr, rd);
		ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
	}
	if (!found && dns_internal(q0->qname)) {
		/* moat's own names never leave: no link, no such name */
		r = dns_reply_new(req, LDNS_RCODE_NXDOMAIN);
		d->ctr[DNS_C_LOCAL]++;
		dns_log(d, q0->qname, q0->qtype, "nxdomain", "no-link");
		dns_reply(d, r, q0);
		return true;
	}
	if (!found)
		return false;
	ldns_pkt_set_aa(r, true);
	d->ctr[DNS_C_LOCAL]++;
	dns_log(d, q0->qname, q0->qtype, "local",
		dns_internal(q0->qname) ? "link" : "dns.records");
	dns_reply(d, r, q0);
	return true;
}

/**
 * dns_decide() - answer a query locally, or forward it
 * @d:		interceptor
 * @req:	query
 * @q0:		client details
 */
static void dns_decide(struct dns *d, ldns_pkt *req, const struct dns_q *q0)
{
	const struct policy *p = d->pol;
	char why[POLICY_DOMAIN_MAX + 64], hn[NAMES_MAX + 2];
	ldns_pkt *r;
	size_t k;

	if (dns_local_records(d, req, q0))
		return;
	if (*q0->qname &&	/* the root's name, "", is no host's */
	    names_host((const uint8_t *)q0->qname, strlen(q0->qname), hn,
		       sizeof(hn)) == NAMES_INVALID) {
		/* no pattern matches it, a deny rule's no more than an
		 * allow rule's: never forwarded, whatever the default */
		r = dns_reply_new(req, LDNS_RCODE_NXDOMAIN);
		dns_add_ede(r, DNS_EDE_BLOCKED,
			    DNS_EDE_POLICY "not a valid host name");
		d->ctr[DNS_C_B_INVALID]++;
		dns_log(d, q0->qname, q0->qtype, "nxdomain", "invalid-name");
		dns_reply(d, r, q0);
		return;
	}
	for (k = 0; k < p->ndns_block; k++) {
		if (!names_match(p->dns_block[k], q0->qname))
			continue;
		r = dns_reply_new(req, LDNS_RCODE_NXDOMAIN);
		snprintf(why, sizeof(why), DNS_EDE_POLICY "dns.block %s",
			 p->dns_block[k]);
		dns_add_ede(r, DNS_EDE_BLOCKED, why);
		d->ctr[DNS_C_B_BLOCKLIST]++;
		dns_log(d, q0->qname, q0->qtype, "nxdomain", "dns.block");
		dns_reply(d, r, q0);
		return;
	}
	k = dns_rule_for_name(p, q0->qname, 0);
	if (k < p->nrules && !p->rules[k].allow) {
		r = dns_reply_new(req, LDNS_RCODE_NXDOMAIN);
		snprintf(why, sizeof(why), DNS_EDE_POLICY "rule %zu denies this name",
			 k + 1);
		dns_add_ede(r, DNS_EDE_BLOCKED, why);
		d->ctr[DNS_C_B_DENY_RULE]++;
		snprintf(why, sizeof(why), "rule:%zu", k + 1);
		dns_log(d, q0->qname, q0->qtype, "nxdomain", why);
		dns_reply(d, r, q0);
		return;
	}
	if (k == p->nrules && p->egress_default == EGRESS_DENY) {
		r = dns_reply_new(req, LDNS_RCODE_NXDOMAIN);
		dns_add_ede(r, DNS_EDE_BLOCKED,
			    DNS_EDE_POLICY "no allow rule matches this name");
		d->ctr[DNS_C_B_DEFAULT_DENY]++;
		dns_log(d, q0->qname, q0->qtype, "nxdomain", "default:deny");
		dns_reply(d, r, q0);
		return;
	}
	if (q0->qtype == DNS_TYPE_HTTPS || q0->qtype == DNS_TYPE_SVCB ||
	    (q0->qtype == LDNS_RR_TYPE_AAAA && !d->s->has_v6)) {
		bool svc = q0->qtype != LDNS_RR_TYPE_AAAA;

		r = dns_reply_new(req, LDNS_RCODE_NOERROR);
		dns_add_ede(r, DNS_EDE_FILTERED, svc ?
			    "HTTPS/SVCB records would bypass the policy" :
			    "this sandbox has no IPv6");
		d->ctr[DNS_C_EMPTIED]++;
		dns_log(d, q0->qname, q0->qtype, "empty",
			svc ? "svcb" : "no-ipv6");
		dns_reply(d, r, q0);
		return;
	}
	dns_forward(d, req, q0);	/* logged with its answer */
}

/**
 * dns_client_msg() - handle one message from the sandbox
 * @d:		interceptor
 * @msg:	message
 * @len:	its length
 * @lfd:	UDP listener it came on (if @conn < 0)
 * @from:	UDP client
 * @flen:	its length
 * @conn:	TCP connection index, or -1 for UDP
 */
void dns_client_msg(struct dns *d, const uint8_t *msg, size_t len,
		    int lfd, const struct sockaddr_storage *from,
		    socklen_t flen, int conn)
{
	struct dns_q q0 = { .fd = -1, .lfd = lfd };
	ldns_pkt *req = NULL;
	ldns_rr *qrr;
	char *name;

	d->ctr[DNS_C_QUERIES]++;
	if (ldns_wire2pkt(&req, msg, len) != LDNS_STATUS_OK) {
		d->ctr[DNS_C_MALFORMED]++;
		return;
	}
	if (conn >= 0) {
		q0.tcp = true;
		q0.conn = (unsigned)conn;
		q0.gen = d->tcp[conn].gen;
	} else {
		memcpy(&q0.client, from, sizeof(q0.client));
		q0.clen = flen;
	}
	q0.cid = ldns_pkt_id(req);
	q0.maxlen = dns_udp_max(req);
	if (ldns_pkt_qr(req) || ldns_pkt_get_opcode(req) != LDNS_PACKET_QUERY ||
	    ldns_rr_list_rr_count(ldns_pkt_question(req)) != 1 ||
	    ldns_pkt_ancount(req) || ldns_pkt_nscount(req)) {
		d->ctr[DNS_C_MALFORMED]++;
		if (!ldns_pkt_qr(req))
			dns_reply(d, dns_reply_new(req, ldns_pkt_get_opcode(req) !=
						   LDNS_PACKET_QUERY ?
						   LDNS_RCODE_NOTIMPL :
						   LDNS_RCODE_FORMERR), &q0);
		ldns_pkt_free(req);
		return;
	}
	qrr = ldns_rr_list_rr(ldns_pkt_question(req), 0);
	name = ldns_rdf2str(ldns_rr_owner(qrr));
	q0.qtype = (uint16_t)ldns_rr_get_type(qrr);
	if (!name || names_fold(name, q0.qname, sizeof(q0.qname)) ||
	    ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN) {
		/* escaped bytes, or too long: not a host name, refused
		 * as one (dns_decide())
		 */
		if (!name || ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN) {
			ldns_pkt *r = dns_reply_new(req, LDNS_RCODE_REFUSED);

			d->ctr[DNS_C_MALFORMED]++;
			dns_reply(d, r, &q0);
			free(name);
			ldns_pkt_free(req);
			return;
		}
		snprintf(q0.qname, sizeof(q0.qname), "%s", "\\escaped");
	}
	free(name);
	dns_decide(d, req, &q0);
	ldns_pkt_free(req);
}

/* ------------------------------------------------------------------------
 * Answers from upstream
 */

/**
 * dns_rr_addr() - the address of an A or AAAA record
 * @rr:		record
 * @af:		set to AF_INET or AF_INET6
 * @addr:	set to the address
 *
 * Return: true for a well-formed A or AAAA
 */
static bool dns_rr_addr(const ldns_rr *rr, int *af, uint8_t *addr)
{
	const ldns_rdf *rd = ldns_rr_rdf(rr, 0);

	if (!rd)
		return false;
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A &&
	    ldns_rdf_size(rd) == 4) {
		*af = AF_INET;
		memcpy(addr, ldns_rdf_data(rd), 4);
		return true;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA &&
	    ldns_rdf_size(rd) == 16) {
		*af = AF_INET6;
		memcpy(addr, ldns_rdf_data(rd), 16);
		return true;
	}
	return false;
}

/**
 * dns_pin_bucket() - the index bucket of an address
 * @af:		family
 * @addr:	address
 *
 * Return: bucket (FNV-1a of the address bytes)
 */
static unsigned dns_pin_bucket(int af, const void *addr)
{
	const uint8_t *a = addr;
	size_t i, len = af == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;

	for (i = 0; i < len; i++)
		h = (h ^ a[i]) * 16777619u;
	return (h ^ h >> 16) & (DNS_PIN_HASH - 1);
}

/**
 * dns_pin_unlink() - take a slot out of the address index
 * @d:		interceptor
 * @slot:	slot of @d->pins, in use
 */
static void dns_pin_unlink(struct dns *d, size_t slot)
{
	const struct dns_pinrec *p = &d->pins[slot];
	uint16_t *at = &d->pin_head[dns_pin_bucket(p->af, p->addr)];

	while (*at && *at != slot + 1)
		at = &d->pin_link[*at - 1];
	if (*at)
		*at = d->pin_link[slot];
	d->pin_link[slot] = 0;
}

/**
 * dns_pin_next() - walk the pins in the index bucket of an address
 * @d:		interceptor
 * @af:		family
 * @addr:	address
 * @from:	0 to start, else the value returned last
 *
 * Return: slot + 1 of the next pin in the bucket (the caller compares the
 *	   address: dns_pin_is()), 0 at the end
 */
static unsigned dns_pin_next(const struct dns *d, int af, const void *addr,
			     unsigned from)
{
	return from ? d->pin_link[from - 1] : d->pin_head[dns_pin_bucket(af, addr)];
}

/**
 * dns_pin_is() - whether a pin is live and holds an address
 * @p:		pin
 * @af:		family
 * @addr:	address
 * @now:	monotonic seconds
 *
 * Return: true if it does
 */
static bool dns_pin_is(const struct dns_pinrec *p, int af, const void *addr,
		       time_t now)
{
	return p->af == af && p->expires > now &&
	       !memcmp(p->addr, addr, af == AF_INET ? 4 : 16);
}

/**
 * dns_remember_pin() - record a pin in the ring and its index
 * @d:		interceptor
 * @name:	normalised name
 * @af:		family
 * @addr:	address
 * @ttl:	seconds
 */
void dns_remember_pin(struct dns *d, const char *name, int af,
		      const uint8_t *addr, uint32_t ttl)
{
	size_t slot = d->pin_next;
	struct dns_pinrec *p = &d->pins[slot];
	unsigned b;

	if (p->af)
		dns_pin_unlink(d, slot);
	d->pin_next = (d->pin_next + 1) % d->pin_cap;
	if (d->npins < d->pin_cap)
		d->npins++;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->af = af;
	memcpy(p->addr, addr, af == AF_INET ? 4 : 16);
	p->expires = dns_now() + ttl;
	b = dns_pin_bucket(af, addr);
	d->pin_link[slot] = d->pin_head[b];
	d->pin_head[b] = (uint16_t)(slot + 1);
}

/**
 * dns_pin_fresh() - whether a name's pin of an address need not be renewed
 * @d:		interceptor
 * @name:	normalised name
 * @af:		family
 * @addr:	address
 * @timeout:	the timeout a new pin would get
 * @now:	monotonic seconds
 *
 * A pin made for the same name and address that still has at least nine
 * tenths of @timeout to live is not renewed: a name resolved over and over
 * costs no kernel transaction, and the answer's TTL is lowered to what the
 * pin has left (the caller does that). When the ring is full, a pin among
 * the NFT_PIN_BATCH_MAX oldest does not count: dns_evict() may remove it
 * to make room for this very answer.
 *
 * Return: seconds the pin is sure to live on, 0 if it must be (re)made
 */
static uint32_t dns_pin_fresh(const struct dns *d, const char *name, int af,
			      const uint8_t *addr, uint32_t timeout, time_t now)
{
	time_t need = (time_t)timeout - (time_t)(timeout / 10 ? timeout / 10 : 1);
	unsigned s;

	if (need < 1)
		return 0;
	for (s = dns_pin_next(d, af, addr, 0); s; s = dns_pin_next(d, af, addr, s)) {
		const struct dns_pinrec *p = &d->pins[s - 1];

		/* a pin this answer's new ones may overwrite is no cover */
		if (d->npins == d->pin_cap &&
		    (s - 1 + d->pin_cap - d->pin_next) % d->pin_cap <
		    NFT_PIN_BATCH_MAX)
			continue;
		/* seconds are whole: the pin has more than left - 1 */
		if (dns_pin_is(p, af, addr, now) &&
		    p->expires - now - 1 >= need && !strcmp(p->name, name))
			return (uint32_t)(p->expires - now - 1);
	}
	return 0;
}

/**
 * dns_pin_held() - whether another live pin than the ones about to be
 * overwritten holds an address
 * @d:		interceptor
 * @from:	first slot about to be overwritten
 * @m:		number of slots about to be overwritten
 * @af:		family
 * @addr:	address
 * @now:	monotonic seconds
 *
 * Return: true if a pin outside those slots holds @addr
 */
static bool dns_pin_held(const struct dns *d, size_t from, size_t m, int af,
			 const uint8_t *addr, time_t now)
{
	unsigned s;

	for (s = dns_pin_next(d, af, addr, 0); s; s = dns_pin_next(d, af, addr, s)) {
		if ((s - 1 + d->pin_cap - from) % d->pin_cap < m)
			continue;
		if (dns_pin_is(&d->pins[s - 1], af, addr, now))
			return true;
	}
	return false;
}

/**
 * dns_pin_batch() - pin or unpin addresses, waiting for the kernel
 * @d:		interceptor
 * @pins:	addresses, each into its rule's set
 * @n:		number of them, at most NFT_PIN_BATCH_MAX
 * @del:	unpin them
 *
 * In a worker (src/worker/worker.c), a request to its core, which checks
 * it and makes the nftables transaction; in the core, which keeps the
 * sandbox's pins, the transaction itself (dns_pinner_open()).
 *
 * Return: 0 once the kernel has acknowledged every element, or -errno
 */
static int dns_pin_batch(struct dns *d, const struct nft_pin *pins, size_t n,
			 bool del)
{
	if (d->pin)
		return d->pin(d->pin_ctx, pins, n, del);
	if (!d->np)
		return -ENOTCONN;
	return del ? nft_pinner_del(d->np, pins, n) : nft_pinner_add(d->np, pins, n);
}

/**
 * dns_evict() - make room in the ring for new pins
 * @d:		interceptor
 * @m:		pins about to be remembered
 * @fresh:	the new pins (their addresses stay pinned)
 * @nfresh:	their number
 *
 * When the ring is full, the @m oldest pins are overwritten next: each
 * that is still live and that no other pin holds (the new ones included)
 * is deleted from every set it was added to (the domain allow rules its
 * name matches, up to the first deny), in libnftnl batches. A failure is
 * counted and left: the sets stay bounded by their size, and an answer
 * whose pin then fails is SERVFAIL, never released unpinned.
 */
static void dns_evict(struct dns *d, size_t m, const struct nft_pin *fresh,
		      size_t nfresh)
{
	struct nft_pin del[NFT_PIN_BATCH_MAX];
	const struct policy *p = d->pol;
	time_t now = dns_now();
	size_t j, k, f, n = 0;

	if (d->npins < d->pin_cap)
		m = m > d->pin_cap - d->npins ? m - (d->pin_cap - d->npins) : 0;
	for (j = 0; j < m; j++) {
		size_t slot = (d->pin_next + j) % d->pin_cap;
		const struct dns_pinrec *v = &d->pins[slot];
		size_t alen = v->af == AF_INET ? 4 : 16;
		bool keep = false;

		if (!v->af || v->expires <= now)
			continue;
		for (f = 0; f < nfresh && !keep; f++)
			keep = fresh[f].af == v->af &&
			       !memcmp(fresh[f].addr, v->addr, alen);
		if (keep || dns_pin_held(d, d->pin_next, m, v->af, v->addr, now))
			continue;
		d->ctr[DNS_C_EVICTED]++;
		for (k = dns_rule_for_name(p, v->name, 0); k < p->nrules;
		     k = dns_rule_for_name(p, v->name, k + 1)) {
			if (!p->rules[k].allow)
				break;
			if (n == NFT_PIN_BATCH_MAX) {
				if (dns_pin_batch(d, del, n, true))
					d->ctr[DNS_C_EVICT_FAILED]++;
				n = 0;
			}
			memset(&del[n], 0, sizeof(del[n]));
			del[n].rule = k + 1;
			del[n].af = v->af;
			memcpy(del[n].addr, v->addr, alen);
			del[n].name = v->name;
			n++;
		}
	}
	if (n && dns_pin_batch(d, del, n, true))
		d->ctr[DNS_C_EVICT_FAILED]++;
}

/**
 * dns_pinned() - tell if an address was answered to this sandbox for a name
 * @d:		interceptor
 * @name:	name (any case, trailing dot allowed)
 * @af:		AF_INET or AF_INET6
 * @addr:	address, network order
 *
 * For the transparent proxy: the last DNS_PIN_MAX pins, within their
 * clamped TTL.
 *
 * Return: true if pinned and not expired
 */
bool dns_pinned(const struct dns *d, const char *name, int af,
		const void *addr)
{
	char n[POLICY_DOMAIN_MAX + 2];
	time_t now = dns_now();
	unsigned s;

	if (names_fold(name, n, sizeof(n)))
		return false;
	for (s = dns_pin_next(d, af, addr, 0); s; s = dns_pin_next(d, af, addr, s))
		if (dns_pin_is(&d->pins[s - 1], af, addr, now) &&
		    !strcmp(d->pins[s - 1].name, n))
			return true;
	return false;
}

/**
 * dns_pinned_for() - tell if an address was answered to this sandbox for
 * a name a caller accepts
 * @d:		interceptor
 * @af:		AF_INET or AF_INET6
 * @addr:	address, network order
 * @ok:		asked for each name @addr is pinned for, while it says no
 * @arg:	passed to @ok
 *
 * Return: true if a live pin of @addr has a name @ok accepts
 */
bool dns_pinned_for(const struct dns *d, int af, const void *addr,
		    bool (*ok)(const char *name, const void *arg),
		    const void *arg)
{
	time_t now = dns_now();
	unsigned s;

	for (s = dns_pin_next(d, af, addr, 0); s; s = dns_pin_next(d, af, addr, s))
		if (dns_pin_is(&d->pins[s - 1], af, addr, now) &&
		    ok(d->pins[s - 1].name, arg))
			return true;
	return false;
}

/**
 * dns_pin_timeout() - the timeout of a pin: a TTL clamped to dns.ttl, and
 * never less than DNS_PIN_TIMEOUT_MIN
 * @d:		interceptor
 * @ttl:	the record's TTL
 *
 * nftables takes an element's timeout of 0 as "never expires": with
 * dns.ttl.min 0, a TTL-0 answer would open its address for good, and
 * DNS_PIN_MAX of them would fill the set (every later pin failing, every
 * allowed name answered SERVFAIL). So a pin lives at least one second,
 * even where the answer released to the sandbox says 0.
 *
 * Return: seconds, at least DNS_PIN_TIMEOUT_MIN
 */
uint32_t dns_pin_timeout(const struct dns *d, uint32_t ttl)
{
	if (ttl < d->pol->ttl_min)
		ttl = d->pol->ttl_min;
	if (ttl > d->pol->ttl_max)
		ttl = d->pol->ttl_max;
	return ttl < DNS_PIN_TIMEOUT_MIN ? DNS_PIN_TIMEOUT_MIN : ttl;
}

/**
 * dns_check_answer() - rebind protection and pinning of one answer
 * @d:		interceptor
 * @q:		the query
 * @ans:	the answer, TTLs clamped here
 * @why:	set to the reason on failure
 * @whylen:	size of @why
 *
 * Return: LDNS_RCODE_NOERROR to release the answer, else the rcode that
 *	   replaces it (NXDOMAIN for a rebind, SERVFAIL for a failed pin)
 */
static int dns_check_answer(struct dns *d, const struct dns_q *q,
			    ldns_pkt *ans, char *why, size_t whylen)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	struct nft_pin pins[NFT_PIN_BATCH_MAX];
	size_t n = ldns_rr_list_rr_count(an), i, k, np = 0;
	const struct policy *p = d->pol;
	time_t now = dns_now();
	bool matched = false, first;
	uint8_t addr[16];
	int af, ret;

	/* 1. the whole answer, before anything is pinned */
	for (i = 0; p->rebind_protection && i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char buf[INET6_ADDRSTRLEN];
		enum addr_group g;

		if (!dns_rr_addr(rr, &af, addr))
			continue;
		g = addr_classify(af, addr, NULL, 0);
		if (g == GROUP_PUBLIC || dns_addr_allowed_by_rule(p, af, addr))
			continue;
		inet_ntop(af, addr, buf, sizeof(buf));
		snprintf(why, whylen, DNS_EDE_POLICY "rebind protection: %s is %s",
			 buf, addr_group_name(g));
		return LDNS_RCODE_NXDOMAIN;
	}

	/* 2. pins for every domain allow rule the name matches, up to the
	 *    first deny (dns_decide() answered those already); an address
	 *    this name pinned recently enough is not pinned again
	 *    (dns_pin_fresh()), its record's TTL lowered to what is left
	 */
	for (k = dns_rule_for_name(p, q->qname, 0); k < p->nrules;
	     k = dns_rule_for_name(p, q->qname, k + 1)) {
		if (!p->rules[k].allow)
			break;
		first = !matched;
		matched = true;
		for (i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			uint32_t left, timeout;

			if (!dns_rr_addr(rr, &af, addr))
				continue;
			timeout = dns_pin_timeout(d, ldns_rr_ttl(rr));
			left = dns_pin_fresh(d, q->qname, af, addr, timeout, now);
			if (left) {
				if (ldns_rr_ttl(rr) > left)
					ldns_rr_set_ttl(rr, left);
				d->ctr[DNS_C_PIN_FRESH] += first;
				continue;
			}
			if (np == NFT_PIN_BATCH_MAX) {
				/* more than one batch holds: the rest is
				 * dropped from the answer below
				 */
				break;
			}
			pins[np].rule = k + 1;
			pins[np].af = af;
			memcpy(pins[np].addr, addr, 16);
			pins[np].timeout = timeout;
			pins[np].name = q->qname;	/* the element's comment */
			np++;
		}
	}
	if (np) {
		/* drop address records beyond the batch: never release an
		 * address that is not pinned
		 */
		ldns_rr_list *keep = ldns_rr_list_new();
		size_t naddr = 0, limit = 0;

		/* limit: the address records the first rule's pass pinned
		 * (every rule pins the same records, in order); a fresh one
		 * is pinned already and always kept
		 */
		for (i = 0; i < np; i++)
			if (pins[i].rule == pins[0].rule)
				limit++;
		for (i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (dns_rr_addr(rr, &af, addr) &&
			    !dns_pin_fresh(d, q->qname, af, addr,
					   dns_pin_timeout(d, ldns_rr_ttl(rr)), now) &&
			    naddr++ >= limit) {
				ldns_rr_free(rr);
				continue;
			}
			ldns_rr_list_push_rr(keep, rr);
		}
		ldns_rr_list_free(an);
		ldns_pkt_set_answer(ans, keep);
		ldns_pkt_set_ancount(ans, (uint16_t)ldns_rr_list_rr_count(keep));
		an = keep;
		n = ldns_rr_list_rr_count(an);

		if (d->pin || d->np)
			dns_evict(d, limit, pins, np);
		ret = dns_pin_batch(d, pins, np, false);
		if (ret) {
			d->ctr[DNS_C_PIN_FAILED]++;
			snprintf(why, whylen, "cannot pin: %s", strerror(-ret));
			return LDNS_RCODE_SERVFAIL;
		}
		d->ctr[DNS_C_PINNED] += np;
		for (i = 0; i < np; i++)
			if (pins[i].rule == pins[0].rule)
				dns_remember_pin(d, q->qname, pins[i].af,
						 pins[i].addr, pins[i].timeout);
		/* no client caches an address longer than its pin lives */
		for (i = 0; i < n; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_ttl(rr) > p->ttl_max)
				ldns_rr_set_ttl(rr, p->ttl_max);
		}
	}
	return LDNS_RCODE_NOERROR;
}

/**
 * dns_log_answer() - log an answer released to the sandbox
 * @d:		interceptor
 * @q:		its query
 * @ans:	the answer, as released
 *
 * Its rcode, the addresses it gives (comma-separated) and, when a domain
 * allow rule matched the name, that rule: every one of those addresses is
 * pinned for it (dns_check_answer() releases no other).
 */
static void dns_log_answer(struct dns *d, const struct dns_q *q, ldns_pkt *ans)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	size_t n = ldns_rr_list_rr_count(an), i, used = 0;
	char addrs[1024] = "", rule[32] = "", t[16], ty[16], *rc;
	const struct policy *p = d->pol;
	ldns_lookup_table *lt;
	uint8_t addr[16];
	size_t k;
	int af;

	if (!d->log)
		return;
	for (i = 0; i < n; i++) {
		char buf[INET6_ADDRSTRLEN];
		int w;

		if (!dns_rr_addr(ldns_rr_list_rr(an, i), &af, addr))
			continue;
		inet_ntop(af, addr, buf, sizeof(buf));
		w = snprintf(addrs + used, sizeof(addrs) - used, "%s%s",
			     used ? "," : "", buf);
		if (w < 0 || (size_t)w >= sizeof(addrs) - used) {
			addrs[used] = '\0';	/* the ones that fit */
			break;
		}
		used += (size_t)w;
	}
	k = dns_rule_for_name(p, q->qname, 0);
	if (*addrs && k < p->nrules && p->rules[k].allow)
		snprintf(rule, sizeof(rule), "rule:%zu", k + 1);
	lt = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(ans));
	snprintf(t, sizeof(t), "%u", (unsigned)ldns_pkt_get_rcode(ans));
	rc = lt ? (char *)lt->name : t;
	log_event(d->log, "dns", "name", q->qname, "qtype",
		  dns_type_str(q->qtype, ty, sizeof(ty)), "action", "answer",
		  "rcode", rc, "addrs", addrs, *rule ? "pinned" : NULL, rule,
		  NULL);
}

/**
 * dns_same_question() - whether an answer's question is the query's
 * @ans:	the answer, as it came (its header says one question)
 * @alen:	its length
 * @qry:	the query as sent upstream (moat's own: one question, its
 *		name uncompressed)
 * @qlen:	its length
 *
 * The question section compared as the wire carries it, without parsing
 * the query again: the same labels (letter case aside: resolvers may
 * answer in another case) and the same type and class. A compression
 * pointer in the answer's first question name is no match (there is
 * nothing before it to point at but the header).
 *
 * Return: true if they are the same question
 */
static bool dns_same_question(const uint8_t *ans, size_t alen,
			      const uint8_t *qry, size_t qlen)
{
	size_t o = 12;

	for (;;) {
		size_t l, k;

		if (o >= qlen || o >= alen || qry[o] != ans[o] || qry[o] > 63)
			return false;
		l = qry[o++];
		if (!l)
			break;
		if (o + l > qlen || o + l > alen)
			return false;
		for (k = 0; k < l; k++, o++)
			if ((qry[o] >= 'A' && qry[o] <= 'Z' ? qry[o] | 0x20 : qry[o]) !=
			    (ans[o] >= 'A' && ans[o] <= 'Z' ? ans[o] | 0x20 : ans[o]))
				return false;
	}
	return o + 4 <= qlen && o + 4 <= alen && !memcmp(qry + o, ans + o, 4);
}

/**
 * dns_upstream_msg() - handle an answer for an outstanding query
 * @d:		interceptor
 * @qi:		index of the query
 * @msg:	answer
 * @len:	its length
 */
void dns_upstream_msg(struct dns *d, unsigned qi, const uint8_t *msg,
		      size_t len)
{
	struct dns_q *q = &d->q[qi];
	ldns_pkt *ans = NULL, *req = NULL;
	uint64_t pinned = d->ctr[DNS_C_PINNED];
	long long t0 = dns_now_us();
	uint8_t *wire = NULL;
	char why[128] = "";
	size_t wlen = 0;
	int rc;

	if (!q->msg || ldns_wire2pkt(&ans, msg, len) != LDNS_STATUS_OK)
		return;			/* wait for a better one, or time out */
	if (ldns_pkt_id(ans) != q->id || !ldns_pkt_qr(ans) ||
	    ldns_rr_list_rr_count(ldns_pkt_question(ans)) != 1 ||
	    !dns_same_question(msg, len, q->msg, q->len)) {
		d->ctr[DNS_C_MALFORMED]++;
		goto out;
	}
	if (ldns_pkt_tc(ans) && q->tcp && !q->tcpup) {
		/* the client can take the whole answer: get it over TCP,
		 * from the same upstream
		 */
		q->tcpup = true;
		q->tries = 0;
		if (dns_q_send(d, qi))
			dns_q_fail(d, qi);
		goto out;
	}
	rc = dns_check_answer(d, q, ans, why, sizeof(why));
	if (d->ctr[DNS_C_PINNED] != pinned) {
		long long us = dns_now_us() - t0;

		d->lat[d->lat_next] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
		d->lat_next = (d->lat_next + 1) % DNS_LAT_N;
		if (d->nlat < DNS_LAT_N)
			d->nlat++;
	}
	if (rc != LDNS_RCODE_NOERROR &&
	    ldns_wire2pkt(&req, q->msg, q->len) == LDNS_STATUS_OK) {
		ldns_pkt *r = dns_reply_new(req, rc);

		if (rc == LDNS_RCODE_NXDOMAIN) {
			d->ctr[DNS_C_B_REBIND]++;
			dns_add_ede(r, DNS_EDE_BLOCKED, why);
			dns_log(d, q->qname, q->qtype, "nxdomain", "rebind");
		} else {
			dns_add_ede(r, DNS_EDE_OTHER, why);
			dns_log(d, q->qname, q->qtype, "servfail", "pin");
		}
		dns_reply(d, r, q);
	} else if (rc == LDNS_RCODE_NOERROR) {
		dns_log_answer(d, q, ans);
		ldns_pkt_set_id(ans, q->cid);
		if (ldns_pkt2wire(&wire, ans, &wlen) == LDNS_STATUS_OK)
			dns_send_client(d, wire, wlen, q->tcp, q->conn, q->gen,
					q->lfd, &q->client, q->clen, q->maxlen);
		free(wire);
	}
	dns_q_done(d, q);
out:
	ldns_pkt_free(ans);
	ldns_pkt_free(req);
}

/* ------------------------------------------------------------------------
 * Sockets
 */

/**
 * dns_tcp_close() - close a client connection
 * @d:		interceptor
 * @i:		its index
 */
static void dns_tcp_close(struct dns *d, unsigned i)
{
	struct dns_tcp *c = &d->tcp[i];

	if (c->fd < 0)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}

/* #syscalls:worker recvfrom */
/**
 * dns_tcp_input() - read from a client connection, handle whole messages
 * @d:		interceptor
 * @i:		its index
 */
static void dns_tcp_input(struct dns *d, unsigned i)
{
	struct dns_tcp *c = &d->tcp[i];
	size_t off = 0;
	ssize_t n;

	n = recv(c->fd, c->buf + c->len, 2 + DNS_MSG_MAX - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		dns_tcp_close(d, i);
		return;
	}
	c->len += (size_t)n;
	c->last = dns_now();
	while (c->len - off >= 2) {
		size_t ml = (size_t)c->buf[off] << 8 | c->buf[off + 1];

		if (c->len - off < 2 + ml)
			break;
		dns_client_msg(d, c->buf + off + 2, ml, -1, NULL, 0, (int)i);
		if (c->fd < 0)
			return;
		off += 2 + ml;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

/* #syscalls:worker accept4 epoll_ctl close */
/**
 * dns_tcp_accept() - accept a client connection
 * @d:		interceptor
 * @lfd:	listener
 */
static void dns_tcp_accept(struct dns *d, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	union sv_ref ref = { .type = SV_REF_DNS_TCP };
	unsigned i;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < DNS_TCP_MAX; i++)
		if (d->tcp[i].fd < 0)
			break;
	if (i == DNS_TCP_MAX) {
		d->ctr[DNS_C_OVERLOAD]++;
		close(fd);
		return;
	}
	ref.idx = i;
	ref.fd = fd;
	ev.data.u64 = ref.u64;
	d->tcp[i].buf = malloc(2 + DNS_MSG_MAX);
	if (!d->tcp[i].buf || epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(d->tcp[i].buf);
		d->tcp[i].buf = NULL;
		close(fd);
		return;
	}
	d->tcp[i].fd = fd;
	d->tcp[i].len = 0;
	d->tcp[i].last = dns_now();
}

/* #syscalls:worker recvfrom */
/* #syscalls:worker recvmmsg */
/**
 * dns_udp_input() - read queries from a UDP listener
 * @d:		interceptor
 * @lfd:	listener
 *
 * Up to DNS_UDP_BATCH queries per recvmmsg(2) call, DNS_UDP_BATCH * 8 per
 * event at most (the others wait for the next round of the loop). A
 * query is a question and an OPT record: one larger than DNS_UDP_QMAX
 * (MSG_TRUNC) is no query, and counted malformed.
 */
static void dns_udp_input(struct dns *d, int lfd)
{
	static uint8_t buf[DNS_UDP_BATCH][DNS_UDP_QMAX];
	struct sockaddr_storage from[DNS_UDP_BATCH];
	struct mmsghdr mm[DNS_UDP_BATCH];
	struct iovec iov[DNS_UDP_BATCH];
	int budget = 8, n, i;

	while (budget--) {
		for (i = 0; i < DNS_UDP_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(lfd, mm, DNS_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				d->ctr[DNS_C_QUERIES]++;
				d->ctr[DNS_C_MALFORMED]++;
				continue;
			}
			dns_client_msg(d, buf[i], mm[i].msg_len, lfd, &from[i],
				       mm[i].msg_hdr.msg_namelen, -1);
		}
		if (n < DNS_UDP_BATCH)
			return;		/* the queue is empty */
	}
}

/* #syscalls:worker recvfrom sendmsg epoll_ctl */
/**
 * dns_up_tcp_event() - progress of a query asked upstream over TCP
 * @d:		interceptor
 * @qi:		index of the query
 * @events:	epoll events
 */
static void dns_up_tcp_event(struct dns *d, unsigned qi, uint32_t events)
{
	struct dns_q *q = &d->q[qi];
	union sv_ref ref = { .type = SV_REF_DNS_UP, .idx = qi, .fd = q->fd };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ref.u64 };
	ssize_t n;
	size_t ml;

	if (!q->sent) {
		uint8_t hdr[2] = { (uint8_t)(q->len >> 8), (uint8_t)q->len };
		struct iovec iov[2] = { { hdr, 2 }, { q->msg, q->len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

		if (events & (EPOLLERR | EPOLLHUP) ||
		    sendmsg(q->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    (ssize_t)(q->len + 2) ||
		    epoll_ctl(d->epfd, EPOLL_CTL_MOD, q->fd, &ev)) {
			dns_q_fail(d, qi);
			return;
		}
		q->sent = true;
		return;
	}
	n = recv(q->fd, q->rbuf + q->rlen, 2 + DNS_MSG_MAX - q->rlen,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dns_q_fail(d, qi);
		return;
	}
	q->rlen += (size_t)n;
	if (q->rlen < 2)
		return;
	ml = (size_t)q->rbuf[0] << 8 | q->rbuf[1];
	if (q->rlen < 2 + ml)
		return;
	dns_upstream_msg(d, qi, q->rbuf + 2, ml);
	if (q->msg)		/* not a valid answer: try the next upstream */
		dns_q_fail(d, qi);
}

/**
 * dns_event() - handle an event on one of the interceptor's sockets
 * @d:		interceptor
 * @ref:	what it is
 * @events:	epoll events
 */
void dns_event(struct dns *d, union sv_ref ref, uint32_t events)
{
	static uint8_t buf[DNS_MSG_MAX];
	ssize_t n;

	switch (ref.type) {
	case SV_REF_DNS_UDP:
		dns_udp_input(d, ref.fd);
		break;
	case SV_REF_DNS_TCPL:
		dns_tcp_accept(d, ref.fd);
		break;
	case SV_REF_DNS_TCP:
		if (ref.idx < DNS_TCP_MAX && d->tcp[ref.idx].fd == ref.fd) {
			if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
				dns_tcp_close(d, ref.idx);
			else
				dns_tcp_input(d, ref.idx);
		}
		break;
	case SV_REF_DNS_UP:
		if (ref.idx >= d->nq || d->q[ref.idx].fd != ref.fd)
			break;
		if (d->q[ref.idx].tcpup) {
			dns_up_tcp_event(d, ref.idx, events);
			break;
		}
		n = recv(ref.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (d->q[ref.idx].msg)
				dns_q_fail(d, ref.idx);	/* refused: next */
			else		/* a kept socket with an error: gone */
				dns_q_free(d, &d->q[ref.idx]);
			break;
		}
		/* on a kept socket between queries: read and dropped */
		dns_upstream_msg(d, ref.idx, buf, (size_t)n);
		break;
	default:
		break;
	}
}

/**
 * dns_timer() - once a second: upstream timeouts, kept upstream sockets
 * past their time, idle connections
 * @d:		interceptor
 */
void dns_timer(struct dns *d)
{
	time_t now = dns_now();
	long long now_us = dns_now_us();
	unsigned i;

	for (i = 0; i < d->nq; i++) {
		if (d->q[i].msg && d->q[i].deadline <= now) {
			d->ctr[DNS_C_TIMEOUT]++;
			dns_q_fail(d, i);
		} else if (!d->q[i].msg && d->q[i].fd >= 0 &&
			   !dns_q_reusable(&d->q[i], now_us)) {
			dns_q_free(d, &d->q[i]);
		}
	}
	for (i = 0; i < DNS_TCP_MAX; i++)
		if (d->tcp[i].fd >= 0 && d->tcp[i].last + DNS_TCP_IDLE <= now)
			dns_tcp_close(d, i);
}

/**
 * dns_busy() - whether dns_timer() has anything to expire
 * @d:		interceptor
 *
 * The supervisor's timer runs only while something can expire: here, a
 * query waiting for upstream, an upstream socket kept for the next query
 * (closed once past its time) or an open client TCP connection.
 *
 * Return: true if a query, a kept upstream socket or a TCP connection is
 *	   open
 */
bool dns_busy(const struct dns *d)
{
	unsigned i;

	for (i = 0; i < d->nq; i++)
		if (d->q[i].msg || d->q[i].fd >= 0)
			return true;
	for (i = 0; i < DNS_TCP_MAX; i++)
		if (d->tcp[i].fd >= 0)
			return true;
	return false;
}

/**
 * dns_listen() - open one listener on a gateway address
 * @d:		interceptor
 * @gw:		address
 * @type:	SOCK_DGRAM or SOCK_STREAM
 *
 * Return: descriptor, or -1 with errno set
 */
static int dns_listen(struct dns *d, const struct prefix *gw, int type)
{
	union sv_ref ref = { .type = type == SOCK_DGRAM ? SV_REF_DNS_UDP :
						       SV_REF_DNS_TCPL };
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss = { 0 };
	int fd, one = 1, e;
	socklen_t len;

	if (gw->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		memcpy(&s4->sin_addr, gw->addr, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		memcpy(&s6->sin6_addr, gw->addr, 16);
		len = sizeof(*s6);
	}
	fd = socket(gw->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the gateway's IPv6 address may still be tentative */
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if (gw->family == AF_INET6)
		setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	ref.fd = fd;
	ev.data.u64 = ref.u64;
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 64)) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/**
 * dns_init_state() - an interceptor with no socket, upstream or pinner yet
 * @d:		interceptor to fill, zeroed (calloc): it is not cleared
 *		here, so that the pin table's pages stay untouched (and
 *		out of the supervisor's resident memory) until used
 * @epfd:	epoll instance
 * @pol:	policy
 * @s:		sandbox record
 * @log:	log, or NULL
 *
 * What dns_init() starts from; the unit tests and the fuzzer use it alone
 * (no upstream: forwarded queries get SERVFAIL; no pinner: pins fail, and
 * so do their answers).
 */
void dns_init_state(struct dns *d, int epfd, const struct policy *pol,
		    const struct sb_state *s, struct log *log)
{
	unsigned i;

	const char *env = getenv("MOAT_DNS_PINS");
	unsigned long cap = env ? strtoul(env, NULL, 10) : 0;

	d->epfd = epfd;
	d->pol = pol;
	d->s = s;
	d->log = log;
	d->pin_cap = cap >= 1 && cap <= DNS_PIN_MAX ? cap : DNS_PIN_MAX;
	for (i = 0; i < 2; i++)
		d->udp[i] = d->tcpl[i] = -1;
	d->nq = 0;		/* slots of q are set up when first used */
	for (i = 0; i < DNS_TCP_MAX; i++)
		d->tcp[i].fd = -1;
}

/**
 * dns_init() - start a sandbox's DNS interceptor
 * @d:		interceptor to fill, zeroed (see dns_init_state())
 * @epfd:	the supervisor's epoll instance
 * @pol:	the sandbox's policy (outlives @d)
 * @s:		its record (outlives @d)
 * @log:	its log, or NULL
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
int dns_init(struct dns *d, int epfd, const struct policy *pol,
	     const struct sb_state *s, struct log *log, char **err)
{
	const char *rc = getenv("MOAT_RESOLV_CONF");
	const char *pins = getenv("MOAT_DNS_PINS");
	unsigned i;

	dns_init_state(d, epfd, pol, s, log);
	if (pins && (strspn(pins, "0123456789") != strlen(pins) || !*pins ||
		     strlen(pins) > 5 || d->pin_cap != strtoul(pins, NULL, 10))) {
		*err = xasprintf("MOAT_DNS_PINS: '%s' is not a number of pins from 1 to %d",
				 pins, DNS_PIN_MAX);
		return -1;
	}

	for (i = 0; i < pol->ndns_upstream && d->nup < DNS_UP_MAX; i++) {
		const struct prefix *u = &pol->dns_upstream[i];
		struct sockaddr_storage *ss = &d->up[d->nup++];

		memset(ss, 0, sizeof(*ss));
		if (u->family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(53);
			memcpy(&s4->sin_addr, u->addr, 4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(53);
			memcpy(&s6->sin6_addr, u->addr, 16);
		}
	}
	if (!d->nup)
		d->nup = (unsigned)dns_resolv_conf_upstreams(rc ? rc : "/etc/resolv.conf",
							     d->up, DNS_UP_MAX);

	if ((d->udp[0] = dns_listen(d, &s->gw4, SOCK_DGRAM)) < 0 ||
	    (d->tcpl[0] = dns_listen(d, &s->gw4, SOCK_STREAM)) < 0 ||
	    (s->has_v6 &&
	     ((d->udp[1] = dns_listen(d, &s->gw6, SOCK_DGRAM)) < 0 ||
	      (d->tcpl[1] = dns_listen(d, &s->gw6, SOCK_STREAM)) < 0))) {
		*err = xasprintf("DNS: cannot listen on the gateway's port 53: %s",
				 strerror(errno));
		dns_close(d);
		return -1;
	}
	return 0;
}

/**
 * dns_pinner_open() - pin with nftables directly (the core's copy of the
 * sandbox's pins; a worker sends its pins to the core instead)
 * @d:		interceptor state
 *
 * Return: 0, or -errno
 */
int dns_pinner_open(struct dns *d)
{
	d->np = nft_pinner_open(d->s->ifname);
	return d->np ? 0 : -errno;
}

/**
 * dns_close() - stop the interceptor
 * @d:		interceptor (zeroed or initialised)
 */
void dns_close(struct dns *d)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		if (d->udp[i] >= 0)
			close(d->udp[i]);
		if (d->tcpl[i] >= 0)
			close(d->tcpl[i]);
		d->udp[i] = d->tcpl[i] = -1;
	}
	for (i = 0; i < d->nq && i < DNS_Q_MAX; i++)
		if (d->q[i].fd >= 0 || d->q[i].msg)
			dns_q_free(d, &d->q[i]);
	for (i = 0; i < DNS_TCP_MAX; i++)
		dns_tcp_close(d, i);
	nft_pinner_close(d->np);
	d->np = NULL;
}

/* #syscalls:worker sysinfo */
/**
 * dns_stats() - the interceptor's counters, for the status JSON
 * @d:		interceptor
 *
 * Return: new JSON object, keys ending in "_total", "upstreams", and
 *	   "pin_latency_seconds" ({samples, p50, p99, max}) once an answer
 *	   was pinned
 */
json_t *dns_stats(const struct dns *d)
{
	json_t *o = json_object(), *ups = json_array();
	char buf[INET6_ADDRSTRLEN];
	unsigned i;

	for (i = 0; i < DNS_C_COUNT; i++)
		json_object_set_new(o, dns_ctr_names[i],
				    json_integer((json_int_t)d->ctr[i]));
	for (i = 0; i < d->nup; i++) {
		const void *a = d->up[i].ss_family == AF_INET ?
			(const void *)&((const struct sockaddr_in *)&d->up[i])->sin_addr :
			(const void *)&((const struct sockaddr_in6 *)&d->up[i])->sin6_addr;

		if (inet_ntop(d->up[i].ss_family, a, buf, sizeof(buf)))
			json_array_append_new(ups, json_string(buf));
	}
	json_object_set_new(o, "upstreams", ups);
	if (d->nlat) {
		uint32_t v[DNS_LAT_N];

		memcpy(v, d->lat, d->nlat * sizeof(v[0]));
		qsort(v, d->nlat, sizeof(v[0]), dns_cmp_u32);
		json_object_set_new(o, "pin_latency_seconds",
				    json_pack("{s:I,s:f,s:f,s:f}",
					      "samples", (json_int_t)d->nlat,
					      "p50", v[d->nlat / 2] / 1e6,
					      "p99", v[d->nlat * 99 / 100] / 1e6,
					      "max", v[d->nlat - 1] / 1e6));
	}
	return o;
}

/**
 * dns_repin() - put the live pins back into the kernel's sets
 * @d:		interceptor
 *
 * After the sandbox's sets were recreated empty (its chains restored after
 * a firewall reload removed moat's table, guard.c): each remembered pin
 * that has not expired goes back, into every set it was added to, with
 * the time it has left, so that names resolved before the reload keep
 * working and dns_pin_fresh() stays true to the kernel.
 *
 * Return: number of pins that could not be put back (their answers'
 *	   clients connect only after resolving again)
 */
size_t dns_repin(struct dns *d)
{
	struct nft_pin *pins = NULL;
	size_t n, i, chunk, failed = 0;

	n = dns_pins_for(d, d->pol, &pins);
	for (i = 0; i < n; i += chunk) {
		chunk = n - i < NFT_PIN_BATCH_MAX ? n - i : NFT_PIN_BATCH_MAX;
		if (dns_pin_batch(d, pins + i, chunk, false))
			failed += chunk;
	}
	free(pins);
	return failed;
}

/**
 * dns_live_pin_cmp() - qsort() order of read-back pins: by family,
 * address, name, then the longest-lived first
 * @a:		one struct nft_live_pin
 * @b:		the other
 *
 * Return: <0, 0 or >0
 */
static int dns_live_pin_cmp(const void *a, const void *b)
{
	const struct nft_live_pin *x = a, *y = b;
	int r;

	if (x->pin.af != y->pin.af)
		return x->pin.af < y->pin.af ? -1 : 1;
	r = memcmp(x->pin.addr, y->pin.addr, 16);
	if (!r)
		r = strcmp(x->name, y->name);
	if (!r && x->pin.timeout != y->pin.timeout)
		r = x->pin.timeout > y->pin.timeout ? -1 : 1;
	return r;
}

/**
 * dns_live_pin_left_cmp() - qsort() order: the shortest-lived first
 * @a:		one struct nft_live_pin
 * @b:		the other
 *
 * Return: <0, 0 or >0
 */
static int dns_live_pin_left_cmp(const void *a, const void *b)
{
	const struct nft_live_pin *x = a, *y = b;

	return x->pin.timeout < y->pin.timeout ? -1 :
	       x->pin.timeout > y->pin.timeout;
}

/**
 * dns_restore_pins() - remember the pins the kernel kept for this sandbox
 * @d:		interceptor, just started, its ring empty
 * @lp:		pins read back from the sandbox's sets (nft_pins_read());
 *		sorted and named here
 * @n:		their number
 * @unnamed:	set to the number of addresses left to the kernel alone
 *
 * For a new supervisor of a sandbox whose previous one died ("moat
 * adopt"): the kernel's sets still hold the pins, each with the name it
 * was answered for as its comment; the proxy needs those names
 * (dns_pinned()). A pin is remembered once per name and address (it sits
 * in the set of every domain allow rule its name matches), with the time
 * it has left, shortest-lived first, as an answer would have been; its
 * name must match the rule whose set holds it. An element without a name
 * (a name nft_pin_name_ok() refuses) is remembered under its rule's name
 * when that rule names one host, else left to expire in the kernel: the
 * forward chain still lets it through, and the proxy refuses names it
 * does not know until the client resolves them again.
 *
 * Return: number of pins remembered
 */
size_t dns_restore_pins(struct dns *d, struct nft_live_pin *lp, size_t n,
			size_t *unnamed)
{
	const struct policy *p = d->pol;
	size_t i, m = 0, kept = 0;

	*unnamed = 0;
	for (i = 0; i < n; i++) {
		const struct rule *r;

		if (!lp[i].pin.rule || lp[i].pin.rule > p->nrules)
			continue;
		r = &p->rules[lp[i].pin.rule - 1];
		if (r->kind != TARGET_DOMAIN || !r->allow)
			continue;
		if (!*lp[i].name && r->domain[0] != '*')
			snprintf(lp[i].name, sizeof(lp[i].name), "%s", r->domain);
		if (!*lp[i].name || !names_match(r->domain, lp[i].name)) {
			(*unnamed)++;
			continue;
		}
		lp[m++] = lp[i];
	}
	if (!m)
		return 0;	/* (lp may be NULL: none were read) */
	qsort(lp, m, sizeof(*lp), dns_live_pin_cmp);
	/* once per family, address and name: the first, longest-lived */
	for (i = 0; i < m; i++)
		if (!kept || lp[kept - 1].pin.af != lp[i].pin.af ||
		    memcmp(lp[kept - 1].pin.addr, lp[i].pin.addr, 16) ||
		    strcmp(lp[kept - 1].name, lp[i].name))
			lp[kept++] = lp[i];
	qsort(lp, kept, sizeof(*lp), dns_live_pin_left_cmp);
	for (i = 0; i < kept; i++)
		dns_remember_pin(d, lp[i].name, lp[i].pin.af, lp[i].pin.addr,
				 lp[i].pin.timeout);
	return kept;
}

/**
 * dns_pin_rule_ok() - whether a name's pin belongs in a rule's set
 * @p:		policy
 * @name:	normalised name the pin was made for
 * @k:		0-based index of a domain allow rule
 *
 * As dns_repin() and dns_check_answer() pin: every domain allow rule the
 * name matches, in order, up to the first matching deny rule.
 *
 * Return: true if a pin of @name goes into rule @k's set under @p
 */
bool dns_pin_rule_ok(const struct policy *p, const char *name, size_t k)
{
	size_t j;

	for (j = dns_rule_for_name(p, name, 0); j < p->nrules;
	     j = dns_rule_for_name(p, name, j + 1)) {
		if (!p->rules[j].allow)
			return false;
		if (j == k)
			return true;
	}
	return false;
}

/**
 * dns_pins_for() - the live pins as another policy would hold them
 * @d:		interceptor
 * @p:		policy (a new one, for a live policy change)
 * @out:	set to an array of pins, to be freed by the caller
 *
 * Each live pin of the ring goes into the set of every domain allow rule
 * of @p its name matches, up to the first matching deny rule, with the
 * time it has left: what dns_repin() would add under @p. A name @p
 * denies, or no longer names, is left out.
 *
 * Return: number of pins in @out
 */
size_t dns_pins_for(const struct dns *d, const struct policy *p,
		    struct nft_pin **out)
{
	time_t now = dns_now();
	size_t j, k, n = 0, cap = 0;

	*out = NULL;
	for (j = 0; j < d->pin_cap; j++) {
		const struct dns_pinrec *v = &d->pins[j];

		if (!v->af || v->expires <= now)
			continue;
		for (k = dns_rule_for_name(p, v->name, 0); k < p->nrules;
		     k = dns_rule_for_name(p, v->name, k + 1)) {
			if (!p->rules[k].allow)
				break;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			memset(&(*out)[n], 0, sizeof((*out)[n]));
			(*out)[n].rule = k + 1;
			(*out)[n].af = v->af;
			memcpy((*out)[n].addr, v->addr, v->af == AF_INET ? 4 : 16);
			(*out)[n].timeout = (uint32_t)(v->expires - now);
			(*out)[n].name = v->name;	/* as long as the ring */
			n++;
		}
	}
	return n;
}

/**
 * dns_pinned_rule() - whether an address was answered for a domain rule
 * @d:		interceptor
 * @p:		policy
 * @af:		AF_INET or AF_INET6
 * @addr:	address
 * @k:		0-based index of a domain allow rule of @p
 *
 * For judging established connections after a policy change: a pin
 * still in the ring counts even if it has expired, since the kernel lets
 * a connection outlive the pin it was made with.
 *
 * Return: true if a pin of @addr in the ring, live or expired, has a
 *	   name whose pins go into rule @k's set under @p (dns_pins_for())
 */
bool dns_pinned_rule(const struct dns *d, const struct policy *p, int af,
		     const void *addr, size_t k)
{
	unsigned s;

	for (s = dns_pin_next(d, af, addr, 0); s; s = dns_pin_next(d, af, addr, s))
		if (dns_pin_is(&d->pins[s - 1], af, addr, 0) &&
		    dns_pin_rule_ok(p, d->pins[s - 1].name, k))
			return true;
	return false;
}

/**
 * dns_pins_apply() - the core's pinning: a transaction, then the record
 * @d:		the core's record of the sandbox's pins (dns_pinner_open())
 * @pins:	pins a worker asked for, checked by the caller
 * @n:		number of them
 * @del:	unpin them
 *
 * Added pins are remembered in @d's ring once each (the first rule's
 * entries: every rule of one answer pins the same addresses), as the
 * worker's interceptor remembers them: @d is what dns_repin() puts back
 * after a firewall reload, what a live policy change carries over, and
 * what a restarted worker starts from (dns_pins_carry()).
 *
 * Return: 0 once the kernel has acknowledged every element, or -errno
 */
int dns_pins_apply(struct dns *d, const struct nft_pin *pins, size_t n, bool del)
{
	size_t i;
	int ret;

	ret = dns_pin_batch(d, pins, n, del);
	if (ret || del || !n)
		return ret;
	for (i = 0; i < n; i++)
		if (pins[i].rule == pins[0].rule && pins[i].name)
			dns_remember_pin(d, pins[i].name, pins[i].af,
					 pins[i].addr, pins[i].timeout);
	return 0;
}

/**
 * dns_pins_carry() - start an interceptor's ring from the core's record
 * @d:		a worker's interceptor, just started
 * @from:	the core's record of the pins (the fork's copy)
 *
 * A restarted worker knows which names its live pins serve (the proxy
 * asks dns_pinned()), so connections to names resolved before it started
 * keep their verdicts.
 */
void dns_pins_carry(struct dns *d, const struct dns *from)
{
	time_t now = dns_now();
	size_t j, cap = from->pin_cap < d->pin_cap ? from->pin_cap : d->pin_cap;

	for (j = 0; j < from->pin_cap && j < DNS_PIN_MAX; j++) {
		const struct dns_pinrec *v = &from->pins[(from->pin_next + j) %
							 from->pin_cap];

		if (!v->af || v->expires <= now || !cap)
			continue;
		dns_remember_pin(d, v->name, v->af, v->addr,
				 (uint32_t)(v->expires - now));
	}
}

/**
 * dns_addr_pinnable() - whether an answer may pin an address at all
 * @p:		policy
 * @af:		AF_INET or AF_INET6
 * @addr:	address, network order
 *
 * With rebind protection, only addresses of group public, or those an
 * explicit address, CIDR or group rule allows (dns_check_answer()). The
 * core asks it of every pin a worker requests.
 *
 * Return: true if it may
 */
bool dns_addr_pinnable(const struct policy *p, int af, const uint8_t *addr)
{
	if (!p->rebind_protection)
		return true;
	return addr_classify(af, addr, NULL, 0) == GROUP_PUBLIC ||
	       dns_addr_allowed_by_rule(p, af, addr);
}
