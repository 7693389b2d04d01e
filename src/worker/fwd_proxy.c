// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fwd_proxy.c - the transparent proxy's connections: taken, sniffed,
 * judged, connected onwards and followed
 *
 * Theory of operation
 * -------------------
 * proxy.c decides; this file holds the connections it decides about. They
 * are relays of fwd.c's TCP table, in the proxy's own budget of it
 * (fwd_slot()), and once decided their bytes move through the same pipes
 * and fwd_pump() as a published port's: what is here is only what a
 * proxied connection does differently, called from fwd.c at the points
 * fwd_internal.h declares.
 *
 * When the policy has domain rules, nftables redirects the sandbox's TCP
 * 80, 443 and domain-rule ports to port 15001 on its gateway addresses,
 * where fwd_proxy_init() listens. A connection taken there is first
 * "sniffing": up to FWD_SNIFF_MAX first bytes are read into a buffer of
 * its own until tls_client_hello() or http_request_head() has a verdict
 * (TLS by the first byte, 0x16), within FWD_SNIFF_TIMEOUT. A refused TLS
 * connection gets proxy_tls_alert() (access_denied) and a close, a refused
 * HTTP request proxy_http_403(). An allowed one gets a non-blocking
 * connect to its original destination (proxy_original_dst()), the
 * buffered bytes are written, and the pair becomes an ordinary splice
 * relay, expired after FWD_PROXY_IDLE seconds without progress. That
 * connect is made by the sandbox's worker, whose UID the kernel maps to
 * the sandbox's mark (nft_worker_uid()): it judges the connection with
 * the sandbox's own chains (nft.c, "<if>_out"), and what they refuse fails
 * with ICMP administratively prohibited, read from the socket's error
 * queue while it connects (fwd_proxy_kernel_refused()) and refused to
 * the client as PROXY_DENY_KERNEL, like any other refusal.
 *
 * That is for TCP 80 and 443, where the client speaks first. On another
 * port a domain rule names the server may speak first (SMTP, databases):
 * such a connection is "early": decided on its destination when accepted
 * (proxy_decide_addr(): pinned for a name a domain rule allows there, or
 * the address rules, what the kernel decides without the proxy) and
 * connected at once; the destination's bytes flow to the client while the
 * client's first bytes are still sniffed. If they are a ClientHello, or
 * can be the start of an HTTP request line by its grammar
 * (http_request_start(): any method token, empty lines first; a prefix
 * that may still become one waits for more bytes, within FWD_SNIFF_MAX
 * and FWD_SNIFF_TIMEOUT from the first byte), they are judged by name as
 * above (a refusal resets the destination, and the client gets the TLS
 * alert or the 403); only bytes that cannot start a
 * request (another protocol) go on as decided.
 *
 * TLS: after a HelloRetryRequest the server acts on the client's second
 * ClientHello, not the first. So an allowed TLS connection is followed
 * (struct fwd_proxy_tls, fwd_proxy_tls_read()): the client's records are
 * read, not spliced, a further ClientHello is kept back until complete and
 * judged, and must give the same name (sni-changed: both sides reset); the
 * server's bytes are read on their way to the client until its first
 * handshake message shows whether it is a HelloRetryRequest. Following
 * ends when it is not, or when the hello after one has been judged, and
 * both directions are relayed as any other again (fwd_proxy_follows()):
 * for a handshake without a retry, one round trip.
 *
 * HTTP: every request of a keep-alive connection is judged. A request's
 * body is followed with http_body_scan() (data passed with splice); when
 * it ends, the next head is read into a buffer of its own, once the pipe
 * towards the destination has drained, and decided like the first, for
 * the same destination (fwd_proxy_req_next()). A refused request ends the
 * client's direction: the destination's write side is shut, its
 * responses to the earlier requests still reach the client, and the 403
 * follows them before the connection closes. No request reaches the
 * destination without its Host having been checked.
 *
 * TLS interception: a ClientHello allowed like any other whose SNI the
 * policy intercepts (a secret's host, the intercept list) is not connected
 * here: the client's socket and the bytes read go to intercept.c
 * (intercept_take()), and the slot is released without closing it. On
 * plain HTTP no secret is ever put: a request whose head or body carries a
 * secret's placeholder is refused as secret-leak. In a sandbox with
 * secrets, bodies are read rather than spliced and searched by h1.c's
 * streamed-body path (intercept_body_scan(): a placeholder split across
 * reads or chunks is seen whole); what went before a placeholder found
 * there is cut short by a reset of the destination
 * (fwd_proxy_body_refuse()).
 *
 * The decisions ask struct proxy_oracle, wired here (fwd_proxy_oracle_*())
 * to the policy's domain rules and the DNS interceptor's pins. After a
 * live policy change every decided connection is judged again
 * (fwd_proxy_policy_update()).
 *
 * Every function and type here is named fwd_proxy_*, so a name says which
 * of the two files holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>

#include "err.h"
#include "fwd_internal.h"
#include "nft.h"

/* #syscalls:worker accept4 socket setsockopt getsockopt connect epoll_ctl
 * #syscalls:worker recvfrom recvmsg sendto shutdown close geteuid */

/**
 * struct fwd_proxy_tls - a proxied TLS connection followed after its first
 * hello
 * @sni:	the name its first ClientHello gave, and was allowed on
 * @skip:	bytes of the client's current record (not a handshake
 *		record) still to pass on unread
 * @done:	no other ClientHello can count any more: the rest passes as
 *		it comes
 * @srv:	what the server's first handshake message is, so far
 * @scan:	its state
 */
struct fwd_proxy_tls {
	char sni[TLS_NAME_MAX + 1];
	size_t skip;
	bool done;
	enum tls_server_first srv;
	struct tls_server_scan scan;
};

/**
 * fwd_proxy_log() - write a proxy decision to the sandbox's log
 * @f:		forwarder
 * @t:		connection (its destination), or NULL
 * @r:		reason
 * @name:	the name the client gave (SNI or Host), or NULL
 *
 * Rate-limited with the log's other service records (log_event()).
 */
static void fwd_proxy_log(struct fwd *f, const struct fwd_tcp *t,
			  enum proxy_reason r, const char *name)
{
	char dst[INET6_ADDRSTRLEN] = "", port[8] = "";

	if (!f->log || r == PROXY_CLOSED_EARLY)
		return;
	if (t && t->dst.family) {
		inet_ntop(t->dst.family, t->dst.addr, dst, sizeof(dst));
		snprintf(port, sizeof(port), "%u", t->dport);
	}
	log_event(f->log, "proxy", "proto", "tcp", "dst", dst, "port", port,
		  "name", name ? name : "",
		  "action", proxy_reason_allows(r) ? "allow" : "deny",
		  "reason", proxy_reason_str(r), NULL);
}

/**
 * fwd_proxy_count() - count and log the decision of a proxied connection
 * @f:		forwarder
 * @t:		connection
 * @r:		reason (replaces an early decision not counted yet)
 * @name:	the name the client gave, or NULL
 */
void fwd_proxy_count(struct fwd *f, struct fwd_tcp *t, enum proxy_reason r,
		     const char *name)
{
	t->pending = false;
	f->pc.n[r]++;
	fwd_proxy_log(f, t, r, name);
}

/**
 * fwd_proxy_oracle_verdict() - what the policy's domain rules say of a name
 * @ctx:	the forwarder
 * @name:	SNI or Host
 * @port:	original destination port
 * @rule:	set to the 0-based index of the deciding rule, if any
 *
 * Return: proxy_domain_rule()'s verdict
 */
static enum proxy_name_verdict fwd_proxy_oracle_verdict(const void *ctx,
							const char *name,
							uint16_t port,
							size_t *rule)
{
	const struct fwd *f = ctx;
	enum proxy_name_verdict v;
	size_t k = proxy_domain_rule(f->pp.pol, name, port, &v);

	if (v != PROXY_NAME_NONE)
		*rule = k;
	return v;
}

/**
 * fwd_proxy_oracle_pinned() - whether the DNS interceptor pinned an
 * address for a name
 * @ctx:	the forwarder
 * @name:	SNI or Host
 * @af:		AF_INET or AF_INET6
 * @addr:	original destination address
 *
 * Without an interceptor nothing is pinned, and no name vouches for an
 * address.
 *
 * Return: dns_pinned(), or false
 */
static bool fwd_proxy_oracle_pinned(const void *ctx, const char *name,
				    int af, const void *addr)
{
	const struct fwd *f = ctx;

	return f->dns && dns_pinned(f->dns, name, af, addr);
}

/**
 * struct fwd_proxy_port_q - what fwd_proxy_name_allowed() is asked
 * @pol:	policy
 * @port:	TCP port
 */
struct fwd_proxy_port_q {
	const struct policy *pol;
	uint16_t port;
};

/**
 * fwd_proxy_name_allowed() - whether a domain rule allows a name on a port
 * @name:	pinned name
 * @arg:	struct fwd_proxy_port_q
 *
 * Return: true if the first domain rule covering @name and the port allows
 */
static bool fwd_proxy_name_allowed(const char *name, const void *arg)
{
	const struct fwd_proxy_port_q *q = arg;

	return proxy_domain_verdict(q->pol, name, q->port) == PROXY_NAME_ALLOW;
}

/**
 * fwd_proxy_oracle_pinned_any() - whether an address is pinned for some
 * name a domain rule allows on a port
 * @ctx:	the forwarder
 * @af:		AF_INET or AF_INET6
 * @addr:	original destination address
 * @port:	original destination port
 *
 * Return: true if so; false without a DNS interceptor
 */
static bool fwd_proxy_oracle_pinned_any(const void *ctx, int af,
					const void *addr, uint16_t port)
{
	const struct fwd *f = ctx;
	struct fwd_proxy_port_q q = { .pol = f->pp.pol, .port = port };

	return f->dns && dns_pinned_for(f->dns, af, addr,
					fwd_proxy_name_allowed, &q);
}

/**
 * fwd_proxy_init() - open the transparent proxy's listeners
 * @f:		forwarder, after fwd_init()
 * @p:		policy (kept referenced)
 * @s:		the sandbox (gateway addresses)
 * @pool4:	IPv4 sandbox pool
 * @pool6:	IPv6 sandbox pool
 * @dns:	the supervisor's DNS interceptor (kept referenced), or NULL
 * @log:	the sandbox's log (kept referenced), or NULL
 * @err:	set to a message on failure
 *
 * Return: 0, or -1 with @err set
 */
int fwd_proxy_init(struct fwd *f, const struct policy *p,
		   const struct sb_state *s, const struct prefix *pool4,
		   const struct prefix *pool6, const struct dns *dns,
		   struct log *log, char **err)
{
	const struct prefix *gw[2] = { &s->gw4, s->has_v6 ? &s->gw6 : NULL };
	int k, one = 1;

	f->pp.pol = p;
	f->pp.pool4 = *pool4;
	f->pp.pool6 = *pool6;
	f->pp.oracle.name_verdict = fwd_proxy_oracle_verdict;
	f->pp.oracle.pinned = fwd_proxy_oracle_pinned;
	f->pp.oracle.pinned_any = fwd_proxy_oracle_pinned_any;
	f->pp.oracle.ctx = f;
	f->dns = dns;
	f->log = log;
	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (!gw[k] || !gw[k]->family)
			continue;
		f->plst[k] = proxy_listen(gw[k], NFT_PROXY_PORT, err);
		if (f->plst[k] < 0)
			return -1;
		/* inherited by every accepted socket (fwd_proxy_accept()) */
		fwd_tcp_bufs(f->plst[k]);
		setsockopt(f->plst[k], IPPROTO_TCP, TCP_NODELAY, &one,
			   sizeof(one));
		ev.data.u64 = fwd_ref(SV_REF_PROXY_LISTEN, (unsigned)k, 0,
				      f->plst[k]);
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->plst[k], &ev)) {
			*err = xasprintf("epoll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/**
 * fwd_proxy_close() - close the proxy's listeners again
 * @f:		forwarder
 *
 * For a live policy change that started the proxy and then failed: nothing
 * was redirected to it yet; closing its listeners takes them out of
 * epoll, and a later change can start it again.
 */
void fwd_proxy_close(struct fwd *f)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (f->plst[k] >= 0)
			close(f->plst[k]);
		f->plst[k] = -1;
	}
	f->pp.pol = NULL;
}

/**
 * fwd_proxy_recverr() - report ICMP errors of a socket on its error queue
 * @fd:		socket
 * @family:	its family (an IPv6 socket may carry IPv4, mapped)
 * @on:		on while connecting, off once connected (the error queue
 *		would otherwise make soft errors of an established
 *		connection fatal)
 */
void fwd_proxy_recverr(int fd, int family, bool on)
{
	int v = on;

	setsockopt(fd, SOL_IP, IP_RECVERR, &v, sizeof(v));
	if (family == AF_INET6)
		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &v, sizeof(v));
}

/**
 * fwd_proxy_kernel_refused() - whether a failed connect was refused as
 * "administratively prohibited"
 * @fd:		socket, fwd_proxy_recverr() on
 *
 * What the sandbox's chains answer a connection they refuse (nft.c,
 * "reject with icmpx admin-prohibited"); a router on the way that refuses
 * it the same way reads the same.
 *
 * Return: true if the error queue holds such an ICMP or ICMPv6 error
 */
static bool fwd_proxy_kernel_refused(int fd)
{
	char ctl[512], b[1];
	struct iovec iov = { .iov_base = b, .iov_len = sizeof(b) };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	bool ret = false;
	int k;

	for (k = 0; k < 4; k++) {
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct sock_extended_err ee;

			if (!(c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) &&
			    !(c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if ((ee.ee_origin == SO_EE_ORIGIN_ICMP &&
			     ee.ee_type == ICMP_DEST_UNREACH &&
			     ee.ee_code == ICMP_PKT_FILTERED) ||
			    (ee.ee_origin == SO_EE_ORIGIN_ICMP6 &&
			     ee.ee_type == ICMP6_DST_UNREACH &&
			     ee.ee_code == ICMP6_DST_UNREACH_ADMIN))
				ret = true;
		}
	}
	return ret;
}

/**
 * fwd_proxy_leak_log() - a plain-HTTP request refused as secret-leak:
 * counted per secret and logged with its name (never its value)
 * @f:		forwarder
 * @t:		connection
 * @k:		the secret's index
 * @name:	the request's Host, or NULL
 */
static void fwd_proxy_leak_log(struct fwd *f, const struct fwd_tcp *t, int k,
			       const char *name)
{
	char dst[INET6_ADDRSTRLEN] = "";

	f->icc.leaks++;
	f->icc.leaked[k]++;
	if (!f->log)
		return;
	if (t->dst.family)
		inet_ntop(t->dst.family, t->dst.addr, dst, sizeof(dst));
	log_event(f->log, "proxy", "proto", "http", "dst", dst,
		  "name", name ? name : "", "action", "deny",
		  "reason", "secret-leak", "secret",
		  intercept_secret_name(f->ic, k), NULL);
}

/**
 * fwd_proxy_body_start() - a plain-HTTP request's body begins: search it
 * if the sandbox has secrets
 * @f:		forwarder
 * @t:		connection, @t->body just initialised
 */
static void fwd_proxy_body_start(struct fwd *f, struct fwd_tcp *t)
{
	static const uint8_t none[1];
	size_t used;

	if (!t->scan && f->ic &&
	    http_body_scan(&t->body, none, 0, &used) != HTTP_OK)
		t->scan = intercept_body_scan_new(f->ic);
}

/**
 * fwd_proxy_refuse() - refuse a proxied connection and count why
 * @f:		forwarder
 * @t:		connection (closed here)
 * @r:		reason
 * @name:	the name the client gave, if any
 */
void fwd_proxy_refuse(struct fwd *f, struct fwd_tcp *t, enum proxy_reason r,
		      const char *name)
{
	char resp[1024];
	int n;

	fwd_proxy_count(f, t, r, name);
	if (t->fd[1] >= 0)
		fwd_reset(t->fd[1]);	/* an early connection's destination */
	if (t->http)
		n = proxy_http_403(r, name, resp, sizeof(resp));
	else	/* a ClientHello (started): a TLS alert, else a reset */
		n = proxy_tls_alert(t->buf, t->blen, (uint8_t *)resp);
	if (n > 0) {
		if (send(t->fd[0], resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			fwd_reset(t->fd[0]);
		shutdown(t->fd[0], SHUT_WR);
	} else {
		fwd_reset(t->fd[0]);
	}
	fwd_tcp_close(f, t);
}

/**
 * fwd_proxy_connected() - write the sniffed bytes as the connect returns
 * @f:		forwarder
 * @t:		connection, its non-blocking connect just made
 *
 * Towards a destination a veth away, the handshake has often ended by the
 * time connect(2) returns (the kernel delivers the answer in the sender's
 * context): a send(2) of the client's first bytes then succeeds, and
 * saves a round of epoll, the SO_ERROR check and a change of events. One
 * that fails with EAGAIN is still connecting, and waits for EPOLLOUT as
 * before; any other failure is the connect's (refused, unreachable, the
 * sandbox's chains: its ICMP error is on the error queue).
 *
 * Return: 0 (connected, or still connecting), -1 if the connect failed
 */
static int fwd_proxy_connected(struct fwd *f, struct fwd_tcp *t)
{
	ssize_t n = send(t->fd[1], t->buf, t->blen,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	t->connected = true;
	fwd_proxy_recverr(t->fd[1], t->dst.family, false);
	t->sent = (size_t)n;
	f->pstats.bytes_out += (uint64_t)n;
	if (t->sent == t->blen) {
		free(t->buf);
		t->buf = NULL;
	}
	return 0;
}

/**
 * fwd_proxy_connect() - connect an allowed connection to its destination
 * @f:		forwarder
 * @t:		connection
 * @idx:	its slot
 *
 * Return: 0, or -1 if the connection was closed
 */
static int fwd_proxy_connect(struct fwd *f, struct fwd_tcp *t, unsigned idx)
{
	struct epoll_event ev = { 0 };
	struct sockaddr_storage sa;
	socklen_t len = fwd_sockaddr(&t->dst, t->dport, &sa);
	int one = 1, k;

	t->since = time(NULL);
	/* as root, the kernel could not tell the connection from the host's
	 * own, and would not judge it: only a worker connects. A worker that
	 * was seen without root never gets it back (its UIDs are dropped,
	 * all three, and it cannot call setuid(2)): asked once, not per
	 * connection. */
	if (!f->unprivileged) {
		if (!geteuid())
			goto fail;
		f->unprivileged = true;
	}
	t->fd[1] = socket(t->dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd[1] < 0)
		goto fail;
	fwd_proxy_recverr(t->fd[1], t->dst.family, true);
	/* the client's side has TCP_NODELAY and its bounded buffers from
	 * the listener (an accepted socket inherits them) */
	setsockopt(t->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fwd_tcp_bufs(t->fd[1]);
	for (k = 0; k < 2; k++)
		if (fwd_pipe_get(f, t->dir[k].pipe))
			goto fail;
	if (connect(t->fd[1], (struct sockaddr *)&sa, len) && errno != EINPROGRESS)
		goto fail;
	if (!t->early && fwd_proxy_connected(f, t)) {
		fwd_proxy_connect_failed(f, t);
		return -1;
	}
	/* registered with what it waits for first, the end of the connect
	 * or, already connected, the destination's answer
	 * (fwd_tcp_want()): no EPOLL_CTL_MOD right after */
	ev.events = fwd_tcp_want(t, 1);
	ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, 1, t->fd[1]);
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, t->fd[1], &ev))
		goto fail;
	t->events[1] = ev.events;
	fwd_tcp_events(f, t, idx);
	return 0;
fail:
	fwd_proxy_count(f, t, PROXY_FAIL_CONNECT, NULL);
	fwd_reset(t->fd[0]);
	fwd_tcp_close(f, t);
	return -1;
}

/**
 * fwd_proxy_connect_failed() - give up a proxied connection whose
 * destination did not answer: refused to the client, counted
 * @f:		forwarder
 * @t:		connection (closed here)
 *
 * A proxied connection the kernel refused (the sandbox's own rules judge
 * the proxy's onward connections) is refused to the client as any other
 * refusal, PROXY_DENY_KERNEL: a 403 for HTTP, a reset otherwise; one that
 * failed for another reason (no answer, a reset) is reset.
 */
void fwd_proxy_connect_failed(struct fwd *f, struct fwd_tcp *t)
{
	if (t->fd[1] >= 0 && fwd_proxy_kernel_refused(t->fd[1])) {
		fwd_proxy_refuse(f, t, PROXY_DENY_KERNEL, NULL);
		return;
	}
	fwd_proxy_count(f, t, PROXY_FAIL_CONNECT, NULL);
	fwd_reset(t->fd[0]);
	fwd_tcp_close(f, t);
}

/**
 * fwd_proxy_accept() - take a connection redirected to the proxy
 * @f:		forwarder
 * @k:		listener (0: IPv4, 1: IPv6)
 *
 * On 80 and 443 the connection waits for its first bytes; on another port
 * (one a domain rule names) it is decided on its destination and connected
 * at once, and its first bytes are judged when they come (see the top).
 */
void fwd_proxy_accept(struct fwd *f, unsigned k)
{
	struct epoll_event ev = { .events = 0 };
	struct fwd_tcp *t;
	unsigned idx = 0;
	int fd, j;

	/* its buffers' bound and TCP_NODELAY come from the listener */
	fd = accept4(f->plst[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	t = fwd_slot(f, &idx);
	if (!t) {
		f->pc.n[PROXY_DENY_LIMIT]++;
		fwd_proxy_log(f, NULL, PROXY_DENY_LIMIT, NULL);
		fwd_reset(fd);
		close(fd);
		return;
	}
	memset(t, 0, sizeof(*t));
	t->fd[0] = fd;
	t->fd[1] = -1;
	for (j = 0; j < 2; j++)
		t->dir[j].pipe[0] = t->dir[j].pipe[1] = -1;
	t->buf = malloc(FWD_SNIFF_MAX);
	if (!t->buf) {
		close(fd);
		t->used = false;
		return;
	}
	t->used = t->proxied = t->sniffing = true;
	t->since = t->last = time(NULL);
	/* registered with what its client's side waits for first, sniffed
	 * or early (fwd_tcp_events()): no EPOLL_CTL_MOD right after */
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, 0, fd);
	epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev);
	t->events[0] = ev.events;
	f->pstats.accepted++;
	if (proxy_original_dst(fd, &t->dst, &t->dport)) {
		fwd_proxy_refuse(f, t, PROXY_DENY_NOT_ALLOWED, NULL);
		return;
	}
	if (!proxy_port_named(t->dport)) {
		enum proxy_reason r = proxy_decide_addr(&f->pp, &t->dst, t->dport);

		if (!proxy_reason_allows(r)) {
			fwd_proxy_refuse(f, t, r, NULL);
			return;
		}
		t->early = t->pending = true;
		t->early_r = r;
		fwd_proxy_connect(f, t, idx);
		return;
	}
	/* the client speaks first, and has mostly done so by now: its first
	 * bytes are read at once, not after a round of epoll (EAGAIN if
	 * not yet; its events stay those registered above) */
	fwd_proxy_sniff(f, t, idx);
}

/**
 * fwd_proxy_req_keep() - keep bytes that follow a request as the next
 * one's head
 * @t:		connection
 * @b:		bytes
 * @n:		their number
 *
 * Return: 0, or -1 if they do not fit (a head over FWD_SNIFF_MAX)
 */
static int fwd_proxy_req_keep(struct fwd_tcp *t, const uint8_t *b, size_t n)
{
	if (!n)
		return 0;
	if (!t->hbuf && !(t->hbuf = malloc(FWD_SNIFF_MAX)))
		return -1;
	if (n > FWD_SNIFF_MAX - t->hlen)
		return -1;
	memcpy(t->hbuf + t->hlen, b, n);
	t->hlen += n;
	return 0;
}

/**
 * fwd_proxy_hold() - keep back a body's last bytes, which may start a
 * placeholder
 * @t:		connection
 * @b:		bytes
 * @n:		their number
 * @from:	the body's framing state before them
 *
 * Return: 0, or -1 if they do not fit (FWD_HOLD_MAX: long chunk framing)
 */
static int fwd_proxy_hold(struct fwd_tcp *t, const uint8_t *b, size_t n,
			  const struct http_body *from)
{
	if (n > FWD_HOLD_MAX)
		return -1;
	if (!t->held && !(t->held = malloc(FWD_HOLD_MAX)))
		return -1;
	memmove(t->held, b, n);
	t->held_len = n;
	t->held_from = *from;
	return 0;
}

/**
 * fwd_proxy_sniff() - read first bytes of a proxied connection and decide
 * @f:		forwarder
 * @t:		connection, sniffing
 * @idx:	its slot
 *
 * Return: 1 once decided and allowed (an early connection goes on to
 *	   relay; another one is connecting), 0 while more bytes are needed,
 *	   -1 if the connection was closed
 */
int fwd_proxy_sniff(struct fwd *f, struct fwd_tcp *t, unsigned idx)
{
	struct http_request req;
	struct tls_hello h;
	enum proxy_reason r;
	ssize_t n;
	int k;

	n = recv(t->fd[0], t->buf + t->blen, FWD_SNIFF_MAX - t->blen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0 && t->early) {
		fwd_tcp_close(f, t);
		return -1;
	}
	if (n == 0 && t->early && !t->blen)
		goto other;	/* half-closed without a word: nothing to judge */
	if (n <= 0 && !t->blen) {
		/* gone before its first byte: nothing was asked */
		fwd_proxy_count(f, t, PROXY_CLOSED_EARLY, NULL);
		fwd_tcp_close(f, t);
		return -1;
	}
	if (n == 0 && t->early && t->http &&
	    http_request_start(t->buf, t->blen) == HTTP_NEED_MORE) {
		/* ended before a request line could be one: another
		 * protocol after all (no server takes it as a request) */
		t->http = false;
		goto other;
	}
	if (n <= 0) {
		/* gone, or ended, before saying where to */
		fwd_proxy_refuse(f, t, t->http ? PROXY_DENY_HTTP_MALFORMED :
				 PROXY_DENY_TLS_MALFORMED, NULL);
		return -1;
	}
	if (t->early && !t->blen)
		t->since = time(NULL);	/* its first bytes: judged in time */
	t->blen += (size_t)n;
	t->http = !proxy_is_tls(t->buf, t->blen);
	if (t->early && t->http) {
		/* by the request-line grammar, whatever the method */
		enum http_result sr = http_request_start(t->buf, t->blen);

		if (sr == HTTP_MALFORMED) {
			t->http = false;
			goto other;
		}
		if (sr == HTTP_NEED_MORE && t->blen < FWD_SNIFF_MAX)
			return 0;
	}
	if (t->http) {
		enum http_result hr = http_request_head(t->buf, t->blen, &req);
		struct http_body start, kfrom;
		enum http_result br;
		size_t used = 0, keep = 0;

		if (hr == HTTP_NEED_MORE && t->blen < FWD_SNIFF_MAX)
			return 0;
		if (hr == HTTP_NEED_MORE)
			hr = HTTP_TOO_LARGE;
		r = proxy_decide_http(&f->pp, hr, &req, &t->dst, t->dport);
		if (!proxy_reason_allows(r)) {
			fwd_proxy_refuse(f, t, r, hr == HTTP_OK ? req.host : NULL);
			return -1;
		}
		/* no secret is ever put into plain HTTP: a placeholder in its
		 * head, to any host, is a leak */
		if (hr == HTTP_OK &&
		    (k = intercept_leak_scan(f->ic, t->buf, req.head_len)) >= 0) {
			fwd_proxy_leak_log(f, t, k, req.host);
			fwd_proxy_refuse(f, t, PROXY_DENY_SECRET_LEAK, req.host);
			return -1;
		}
		/* the first request; the ones after it are judged by
		 * fwd_proxy_req_next() */
		http_body_init(&t->body, &req);
		fwd_proxy_body_start(f, t);
		start = t->body;
		br = http_body_scan(&t->body, t->buf + req.head_len,
				    t->blen - req.head_len, &used);
		if (br != HTTP_MALFORMED && t->scan &&
		    (k = intercept_body_scan(t->scan, &start,
					     t->buf + req.head_len, used,
					     &keep, &kfrom)) >= 0) {
			/* nothing of it was sent yet */
			fwd_proxy_leak_log(f, t, k, req.host);
			fwd_proxy_refuse(f, t, PROXY_DENY_SECRET_LEAK, req.host);
			return -1;
		}
		if (br == HTTP_MALFORMED) {
			fwd_proxy_refuse(f, t, PROXY_DENY_HTTP_MALFORMED,
					 req.host);
			return -1;
		}
		t->req_done = br == HTTP_OK;
		t->upgrade = req.upgrade;
		/* what follows a complete first request starts the next */
		if (t->req_done &&
		    fwd_proxy_req_keep(t, t->buf + req.head_len + used,
				       t->blen - req.head_len - used)) {
			fwd_proxy_refuse(f, t, PROXY_DENY_HTTP_TOO_LARGE,
					 req.host);
			return -1;
		}
		/* what may start a placeholder waits for the next bytes */
		t->blen = req.head_len + used - keep;
		if (keep && fwd_proxy_hold(t, t->buf + t->blen, keep, &kfrom)) {
			fwd_proxy_refuse(f, t, PROXY_DENY_HTTP_TOO_LARGE,
					 req.host);
			return -1;
		}
	} else {
		enum tls_result tr = tls_client_hello(t->buf, t->blen, &h);

		if (tr == TLS_NEED_MORE && t->blen < FWD_SNIFF_MAX)
			return 0;
		if (tr == TLS_NEED_MORE)
			tr = TLS_TOO_LARGE;
		r = proxy_decide_tls(&f->pp, tr, &h, &t->dst, t->dport);
		if (!proxy_reason_allows(r)) {
			fwd_proxy_refuse(f, t, r, tr == TLS_OK ? h.sni : NULL);
			return -1;
		}
		/* a name the policy intercepts: intercept.c's from here */
		if (intercept_wanted(f->ic, h.sni)) {
			int fd = t->fd[0];

			fwd_proxy_count(f, t, r, h.sni);
			t->fd[0] = -1;
			intercept_take(f->ic, fd, &t->dst, t->dport, h.sni,
				       t->buf, t->blen);
			fwd_tcp_close(f, t);
			return -1;
		}
		/* what follows the hello is followed (fwd_proxy_tls_read()) */
		t->tls = calloc(1, sizeof(*t->tls));
		if (!t->tls || fwd_proxy_req_keep(t, t->buf + h.consumed,
						  t->blen - h.consumed)) {
			fwd_proxy_refuse(f, t, PROXY_DENY_TLS_TOO_LARGE, NULL);
			return -1;
		}
		memcpy(t->tls->sni, h.sni, sizeof(h.sni));
		t->blen = h.consumed;
	}
	fwd_proxy_count(f, t, r, t->http ? req.host : h.sni);
	t->sniffing = false;
	if (t->early)
		return 1;
	return fwd_proxy_connect(f, t, idx) ? -1 : 1;

other:
	/* an early connection speaking another protocol: its destination
	 * was decided when it was accepted */
	fwd_proxy_count(f, t, t->early_r, NULL);
	t->sniffing = false;
	if (!t->blen) {
		free(t->buf);
		t->buf = NULL;
	}
	return 1;
}

/**
 * fwd_proxy_flush() - write a proxied connection's first bytes to its
 * destination
 * @f:		forwarder
 * @t:		connection, connected, @t->buf set
 *
 * The bytes read while it was sniffed go before anything the relay
 * moves; once all are written @t->buf is freed, and the relay takes over.
 *
 * Return: 0 once all are written, 1 while some still wait for room, -1 on
 *	   an error (the caller closes the connection)
 */
int fwd_proxy_flush(struct fwd *f, struct fwd_tcp *t)
{
	ssize_t n = send(t->fd[1], t->buf + t->sent, t->blen - t->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (n > 0) {
		t->sent += (size_t)n;
		f->pstats.bytes_out += (uint64_t)n;
	}
	if (t->sent < t->blen)
		return 1;
	free(t->buf);
	t->buf = NULL;
	return 0;
}

/**
 * fwd_proxy_req_next() - judge the next request of a keep-alive connection
 * @f:		forwarder
 * @t:		connection, its previous request forwarded whole
 * @d:		client-to-destination direction, its pipe empty
 *
 * The head in @hbuf is judged like the first one (proxy_decide_http(),
 * same destination). An allowed head goes into the pipe with what follows
 * of its body; bytes after a body that ends here stay in @hbuf for the
 * request after it. A refused one ends the client's direction: the
 * destination's write side is shut once the pipe is drained, its last
 * responses still reach the client, and the 403 follows them (@deny).
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set (EAGAIN:
 *	   the head is not complete yet)
 */
static ssize_t fwd_proxy_req_next(struct fwd *f, struct fwd_tcp *t,
				  struct fwd_dir *d)
{
	enum http_result hr, br;
	struct http_request req;
	struct http_body start, kfrom;
	enum proxy_reason r;
	size_t used = 0, rest, keep = 0;
	char resp[1024];
	int n, k;

	hr = http_request_head(t->hbuf, t->hlen, &req);
	if (hr == HTTP_NEED_MORE && t->hlen < FWD_SNIFF_MAX) {
		errno = EAGAIN;
		return -1;
	}
	if (hr == HTTP_NEED_MORE)
		hr = HTTP_TOO_LARGE;
	r = proxy_decide_http(&f->pp, hr, &req, &t->dst, t->dport);
	/* as the first request's (fwd_proxy_sniff()): no placeholder in a
	 * head or a body of plain HTTP; none of this one was sent yet */
	if (proxy_reason_allows(r) &&
	    (k = intercept_leak_scan(f->ic, t->hbuf, req.head_len)) >= 0) {
		fwd_proxy_leak_log(f, t, k, req.host);
		r = PROXY_DENY_SECRET_LEAK;
	}
	if (proxy_reason_allows(r)) {
		http_body_init(&t->body, &req);
		fwd_proxy_body_start(f, t);
		start = t->body;
		br = http_body_scan(&t->body, t->hbuf + req.head_len,
				    t->hlen - req.head_len, &used);
		if (br != HTTP_MALFORMED && t->scan &&
		    (k = intercept_body_scan(t->scan, &start,
					     t->hbuf + req.head_len, used,
					     &keep, &kfrom)) >= 0) {
			fwd_proxy_leak_log(f, t, k, req.host);
			r = PROXY_DENY_SECRET_LEAK;
		} else if (br == HTTP_MALFORMED) {
			r = PROXY_DENY_HTTP_MALFORMED;
		} else {
			fwd_proxy_count(f, t, r, req.host);
			t->req_done = br == HTTP_OK;
			t->upgrade = req.upgrade;
			used += req.head_len;
			/* what may start a placeholder waits for the next
			 * bytes (@held); an empty pipe takes a head of
			 * FWD_SNIFF_MAX whole */
			if ((keep && fwd_proxy_hold(t, t->hbuf + used - keep,
						    keep, &kfrom)) ||
			    write(d->pipe[1], t->hbuf, used - keep) !=
			    (ssize_t)(used - keep)) {
				errno = EIO;
				return -1;
			}
			rest = t->hlen - used;
			memmove(t->hbuf, t->hbuf + used, rest);
			t->hlen = rest;
			return (ssize_t)(used - keep);
		}
	}
	fwd_proxy_count(f, t, r, hr == HTTP_OK ? req.host : NULL);
	n = proxy_http_403(r, hr == HTTP_OK ? req.host : NULL, resp, sizeof(resp));
	if (n > 0 && (t->deny = malloc((size_t)n))) {
		memcpy(t->deny, resp, (size_t)n);
		t->deny_len = (size_t)n;
	}
	t->hlen = 0;
	return 0;
}

/**
 * fwd_proxy_body_refuse() - refuse a plain-HTTP request whose body, partly
 * sent already, carries a placeholder
 * @f:		forwarder
 * @t:		connection (closed by the caller)
 * @k:		the secret's index
 *
 * The bytes before the placeholder have gone (never a whole placeholder:
 * h1.c keeps back what may start one), so the destination is reset: the
 * request never completes. The client gets the 403 if no response is on
 * its way to it, else a reset too.
 *
 * Return: -1 with errno EPROTO
 */
static ssize_t fwd_proxy_body_refuse(struct fwd *f, struct fwd_tcp *t, int k)
{
	char resp[1024];
	int n;

	fwd_proxy_leak_log(f, t, k, NULL);
	fwd_proxy_count(f, t, PROXY_DENY_SECRET_LEAK, NULL);
	fwd_reset(t->fd[1]);
	n = proxy_http_403(PROXY_DENY_SECRET_LEAK, NULL, resp, sizeof(resp));
	if (n > 0 && !t->dir[1].queued &&
	    send(t->fd[0], resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
		shutdown(t->fd[0], SHUT_WR);
	else
		fwd_reset(t->fd[0]);
	errno = EPROTO;
	return -1;
}

/**
 * fwd_proxy_body_read() - read more of a plain-HTTP body searched for
 * placeholders into the pipe
 * @f:		forwarder
 * @from:	the client
 * @d:		client-to-destination direction
 * @t:		connection, @t->scan set, its request's body not ended
 * @room:	bytes the pipe takes
 *
 * The body is read, not spliced, and searched with what was kept back
 * before it (@t->held, given again first); what may start a placeholder
 * is kept back again, the rest goes into the pipe. A placeholder found
 * refuses the request (fwd_proxy_body_refuse()).
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_proxy_body_read(struct fwd *f, int from, struct fwd_dir *d,
				   struct fwd_tcp *t, size_t room)
{
	size_t hl = t->held_len, want, used, keep, out;
	uint8_t b[FWD_HOLD_MAX + 4096];
	struct http_body start = hl ? t->held_from : t->body, kfrom;
	uint64_t op = http_body_opaque(&t->body);
	enum http_result r;
	ssize_t n;
	int k;

	if (room <= hl) {
		errno = EAGAIN;
		return -1;
	}
	want = sizeof(b) - hl < room - hl ? sizeof(b) - hl : room - hl;
	if (op && op < want)
		want = (size_t)op;
	n = recv(from, b + hl, want, 0);
	if (n <= 0)
		return n;
	if (hl)
		memcpy(b, t->held, hl);
	r = http_body_scan(&t->body, b + hl, (size_t)n, &used);
	if (r == HTTP_MALFORMED) {
		errno = EPROTO;
		return -1;
	}
	k = intercept_body_scan(t->scan, &start, b, hl + used, &keep, &kfrom);
	if (k >= 0)
		return fwd_proxy_body_refuse(f, t, k);
	if (r == HTTP_OK) {
		t->req_done = true;	/* bytes after it start the next request */
		if (fwd_proxy_req_keep(t, b + hl + used, (size_t)n - used)) {
			errno = EPROTO;
			return -1;
		}
	}
	out = hl + used - keep;
	t->held_len = 0;
	if (keep && fwd_proxy_hold(t, b + out, keep, &kfrom)) {
		errno = EPROTO;
		return -1;
	}
	if (out && write(d->pipe[1], b, out) != (ssize_t)out) {
		errno = EIO;
		return -1;
	}
	if (!out) {
		errno = EAGAIN;		/* all kept back: the next bytes say */
		return -1;
	}
	return (ssize_t)out;
}

/**
 * fwd_proxy_req_read() - read more of a proxied client's HTTP requests
 * into the pipe
 * @f:		forwarder
 * @from:	the client
 * @d:		client-to-destination direction
 * @t:		connection
 *
 * Body data is spliced (http_body_opaque()); chunk framing is read and
 * followed with http_body_scan(), then written to the pipe. Once a request
 * is complete, the next head is read into @t->hbuf (after the pipe has
 * drained) and judged by fwd_proxy_req_next(), so no request of a keep-alive
 * connection reaches the destination without its Host checked. A request
 * asking for a protocol upgrade is the last one: after it the direction
 * reads as ended (plain-text WebSocket is not relayed; over TLS it is).
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_proxy_req_read(struct fwd *f, int from,
				  struct fwd_dir *d, struct fwd_tcp *t)
{
	size_t room = FWD_PIPE_SIZE - d->queued, used;
	uint8_t b[4096];
	enum http_result r;
	uint64_t op;
	ssize_t n;

	static const uint8_t none[1];

	if (t->deny)
		return 0;
	if (!t->req_done && http_body_scan(&t->body, none, 0, &used) == HTTP_OK)
		t->req_done = true;
	if (t->req_done) {
		if (t->upgrade)
			return 0;
		if (d->queued) {
			errno = EAGAIN;	/* the previous request drains first */
			return -1;
		}
		if (!t->hbuf && !(t->hbuf = malloc(FWD_SNIFF_MAX)))
			return -1;
		if (t->hlen) {
			n = fwd_proxy_req_next(f, t, d);
			if (n != -1 || errno != EAGAIN)
				return n;
		}
		n = recv(from, t->hbuf + t->hlen, FWD_SNIFF_MAX - t->hlen, 0);
		if (n <= 0)
			return n;	/* a head cut short by the end is dropped */
		t->hlen += (size_t)n;
		return fwd_proxy_req_next(f, t, d);
	}
	if (t->scan)
		return fwd_proxy_body_read(f, from, d, t, room);
	op = http_body_opaque(&t->body);
	if (op) {
		n = splice(from, NULL, d->pipe[1], NULL, op < room ? op : room,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			http_body_skip(&t->body, (uint64_t)n);
		return n;
	}
	n = recv(from, b, room < sizeof(b) ? room : sizeof(b), 0);
	if (n <= 0)
		return n;
	r = http_body_scan(&t->body, b, (size_t)n, &used);
	if (r == HTTP_MALFORMED) {
		errno = EPROTO;
		return -1;
	}
	if (r == HTTP_OK) {
		t->req_done = true;	/* bytes after it start the next request */
		if (fwd_proxy_req_keep(t, b + used, (size_t)n - used)) {
			errno = EPROTO;
			return -1;
		}
	}
	if (used && write(d->pipe[1], b, used) != (ssize_t)used) {
		errno = EIO;
		return -1;
	}
	if (!used) {
		errno = EAGAIN;		/* nothing of the body: next time */
		return -1;
	}
	return (ssize_t)used;
}

/**
 * fwd_proxy_tls_refuse() - refuse a followed TLS connection on a later hello
 * @f:		forwarder
 * @t:		connection (closed by the caller)
 * @r:		reason
 * @name:	the name the hello gave, or NULL
 *
 * Return: -1 with errno EPROTO
 */
static ssize_t fwd_proxy_tls_refuse(struct fwd *f, struct fwd_tcp *t,
				    enum proxy_reason r, const char *name)
{
	fwd_proxy_count(f, t, r, name);
	fwd_reset(t->fd[0]);
	fwd_reset(t->fd[1]);
	errno = EPROTO;
	return -1;
}

/**
 * fwd_proxy_tls_drain() - pass on what a followed TLS client sent, judging
 * any further ClientHello first
 * @f:		forwarder
 * @t:		connection, @t->tls set, its bytes in @t->hbuf
 * @d:		client-to-destination direction
 *
 * Records other than handshake ones (ChangeCipherSpec, alerts, early or
 * protected data) pass unread; a handshake record must hold a ClientHello
 * (none other comes from a client before the server's first message has
 * shown it is not a HelloRetryRequest), kept back until it is complete,
 * then judged like the first and refused unless it gives the same name.
 * The server acts on one ClientHello after a HelloRetryRequest: once one
 * has been judged, the rest passes as it comes.
 *
 * Return: bytes put in the pipe, -1 with errno set (EAGAIN: nothing to
 *	   pass now; EPROTO: refused, counted, both sides reset)
 */
static ssize_t fwd_proxy_tls_drain(struct fwd *f, struct fwd_tcp *t,
				   struct fwd_dir *d)
{
	size_t room = FWD_PIPE_SIZE - d->queued, done = 0;
	struct fwd_proxy_tls *x = t->tls;

	while (done < t->hlen && room) {
		const uint8_t *p = t->hbuf + done;
		size_t n = t->hlen - done, rlen;
		enum proxy_reason r;
		struct tls_hello h;
		enum tls_result tr;
		uint8_t type;
		ssize_t w;

		if (!x->done && !x->skip) {
			tr = tls_record(p, n, &type, &rlen);
			if (tr == TLS_NEED_MORE)
				break;
			if (tr != TLS_OK)
				return fwd_proxy_tls_refuse(f, t,
						PROXY_DENY_TLS_MALFORMED, NULL);
			if (type == 22) {
				tr = tls_client_hello(p, n, &h);
				if (tr == TLS_NEED_MORE &&
				    (done || t->hlen < FWD_SNIFF_MAX))
					break;
				if (tr == TLS_NEED_MORE)
					tr = TLS_TOO_LARGE;
				if (tr == TLS_OK && strcmp(h.sni, x->sni))
					r = PROXY_DENY_SNI_CHANGED;
				else
					r = proxy_decide_tls(&f->pp, tr, &h,
							     &t->dst, t->dport);
				if (!proxy_reason_allows(r))
					return fwd_proxy_tls_refuse(f, t, r,
						tr == TLS_OK ? h.sni : NULL);
				x->done = true;
			} else if (type == 20 || type == 21 || type == 23) {
				x->skip = TLS_REC_HDR + rlen;
			} else {
				return fwd_proxy_tls_refuse(f, t,
						PROXY_DENY_TLS_MALFORMED, NULL);
			}
		}
		if (!x->done && x->skip < n)
			n = x->skip;
		if (n > room)
			n = room;
		w = write(d->pipe[1], p, n);
		if (w <= 0)
			break;
		done += (size_t)w;
		room -= (size_t)w;
		if (!x->done)
			x->skip -= (size_t)w;
	}
	memmove(t->hbuf, t->hbuf + done, t->hlen - done);
	t->hlen -= done;
	if (!done) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)done;
}

/**
 * fwd_proxy_tls_read() - move a followed TLS connection's bytes into a pipe
 * @f:		forwarder
 * @from:	the client or the destination
 * @d:		the direction's state
 * @t:		connection, @t->tls set
 *
 * After a HelloRetryRequest the server acts on the client's next
 * ClientHello, not on the first, so the first one's verdict must hold for
 * it too. The client's records are followed (fwd_proxy_tls_drain())
 * until the server's first handshake message, read on its way to the
 * client (tls_server_hello()), shows it is not a HelloRetryRequest, or
 * until the ClientHello after one has been judged. Then both directions
 * are relayed as any other (fwd_proxy_follows()). The server's bytes are
 * judged before the client can see them, so a client that answers what
 * the server said (TLS 1.2's key exchange, its encrypted Finished after a
 * ChangeCipherSpec) is never read as a hello.
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_proxy_tls_read(struct fwd *f, int from,
				  struct fwd_dir *d, struct fwd_tcp *t)
{
	struct fwd_proxy_tls *x = t->tls;
	uint8_t b[4096];
	ssize_t n;

	if (from == t->fd[1]) {
		if (d->queued) {
			errno = EAGAIN;	/* an empty pipe takes b whole */
			return -1;
		}
		n = recv(from, b, sizeof(b), 0);
		if (n <= 0)
			return n;
		x->srv = tls_server_hello(&x->scan, b, (size_t)n);
		if (x->srv == TLS_SERVER_OTHER)
			x->done = true;
		if (write(d->pipe[1], b, (size_t)n) != n) {
			errno = EIO;
			return -1;
		}
		return n;
	}
	if (t->hlen) {
		n = fwd_proxy_tls_drain(f, t, d);
		if (n != -1 || errno != EAGAIN)
			return n;
	}
	if (x->skip && !t->hlen) {
		n = splice(from, NULL, d->pipe[1], NULL,
			   x->skip < FWD_PIPE_SIZE - d->queued ? x->skip :
			   FWD_PIPE_SIZE - d->queued,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			x->skip -= (size_t)n;
		return n;
	}
	if (!t->hbuf && !(t->hbuf = malloc(FWD_SNIFF_MAX)))
		return -1;
	if (t->hlen == FWD_SNIFF_MAX) {
		errno = EAGAIN;		/* the pipe takes it first */
		return -1;
	}
	n = recv(from, t->hbuf + t->hlen, FWD_SNIFF_MAX - t->hlen, 0);
	if (n <= 0)
		return n;	/* a record cut short by the end is dropped */
	t->hlen += (size_t)n;
	return fwd_proxy_tls_drain(f, t, d);
}

/**
 * fwd_proxy_follows() - whether a proxied connection's direction is still
 * read by the proxy
 * @t:		connection
 * @from:	the direction's source: the client or the destination
 *
 * A proxied HTTP client's requests always are; a TLS connection's
 * directions until no other ClientHello can count: the server's once its
 * first handshake message is known, the client's once its bytes held
 * back are passed on too, when the following ends (@t->tls freed) and
 * both directions are relayed as any other.
 *
 * Return: true if fwd_proxy_read() reads it, false if fwd_pump() moves it
 */
bool fwd_proxy_follows(struct fwd_tcp *t, int from)
{
	struct fwd_proxy_tls *x = t->tls;

	if (t->http)
		return from == t->fd[0];
	if (!x)
		return false;
	if (from == t->fd[1])
		return !x->done && x->srv == TLS_SERVER_NEED_MORE;
	if (x->done && !t->hlen) {
		free(t->tls);
		t->tls = NULL;
		free(t->hbuf);
		t->hbuf = NULL;
		return false;
	}
	return true;
}

/**
 * fwd_proxy_read() - read a followed direction of a proxied connection
 * into its pipe
 * @f:		forwarder
 * @from:	the client or the destination
 * @d:		the direction's state
 * @t:		connection, @t->http or @t->tls set
 *
 * What fwd_pump() calls instead of splice(2) while a direction's bytes
 * must be looked at: a proxied HTTP client's requests
 * (fwd_proxy_req_read()), both directions of a TLS connection still
 * followed (fwd_proxy_tls_read()).
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
ssize_t fwd_proxy_read(struct fwd *f, int from, struct fwd_dir *d,
		       struct fwd_tcp *t)
{
	if (t->http)
		return fwd_proxy_req_read(f, from, d, t);
	return fwd_proxy_tls_read(f, from, d, t);
}

/**
 * fwd_proxy_policy_update() - after a live policy change: re-judge the
 * proxy's connections
 * @f:		forwarder
 * @keep:	the sandbox's rules' verdict on a destination, or NULL
 * @arg:	passed to @keep
 *
 * Every proxied connection already decided (or connected early on its
 * destination) is judged again on its destination, as the proxy judges a
 * connection before its first bytes (proxy_decide_addr(): an address
 * pinned for a name the new policy allows on that port, or the address
 * rules), or on its TLS name while that is still followed. A refusal for
 * want of a live pin (a connection outlives the pin it was made with) is
 * checked against the sandbox's rules by @keep, which judge the relay's
 * onward connection. One the new policy refuses is reset both ways and
 * counted and logged as a refusal. Connections still being sniffed are
 * decided by the new policy when their first bytes come; every later HTTP
 * request is judged by it too.
 *
 * Return: number of connections cut (0 without a proxy)
 */
size_t fwd_proxy_policy_update(struct fwd *f,
			       bool (*keep)(const struct prefix *dst,
					    uint16_t port, void *arg),
			       void *arg)
{
	size_t i, n = 0;

	if (!f->pp.pol)
		return 0;	/* no proxy */
	for (i = f->max; i < 2 * f->max; i++) {	/* the proxy's half */
		struct fwd_tcp *t = &f->tcp[i];
		const char *name = t->tls && *t->tls->sni ? t->tls->sni : NULL;
		enum proxy_reason r;

		if (!t->used || !t->proxied || (t->sniffing && !t->early))
			continue;
		r = name ? proxy_decide_name(&f->pp, name, &t->dst, t->dport)
			 : proxy_decide_addr(&f->pp, &t->dst, t->dport);
		if (proxy_reason_allows(r))
			continue;
		if ((!name || r == PROXY_DENY_NOT_PINNED) && keep &&
		    keep(&t->dst, t->dport, arg))
			continue;
		t->pending = false;
		fwd_proxy_count(f, t, r, name);
		if (t->fd[1] >= 0)
			fwd_reset(t->fd[1]);
		fwd_reset(t->fd[0]);
		fwd_tcp_close(f, t);
		n++;
	}
	return n;
}

/**
 * fwd_proxy_stats() - the proxy's counters as JSON
 * @f:		forwarder
 *
 * Return: new JSON object: {"enabled": 0 or 1, "<reason>_total": N for
 *	   every decision reason, "accepted_total", "allowed_total",
 *	   "refused_total", "bytes_out_total", "bytes_in_total"}
 */
json_t *fwd_proxy_stats(const struct fwd *f)
{
	json_t *o = json_object();
	uint64_t allowed = 0, refused = 0;
	char key[64];
	size_t k;

	if (!o)
		die_oom();
	json_object_set_new(o, "enabled", json_integer(f->plst[0] >= 0 ||
						       f->plst[1] >= 0));
	for (k = 0; k < PROXY_REASON_COUNT; k++) {
		const char *rs = proxy_reason_str((enum proxy_reason)k);
		size_t j;

		snprintf(key, sizeof(key), "%s_total", rs);
		for (j = 0; key[j]; j++)
			if (key[j] == '-')
				key[j] = '_';
		json_object_set_new(o, key, json_integer((json_int_t)f->pc.n[k]));
		if (proxy_reason_allows((enum proxy_reason)k))
			allowed += f->pc.n[k];
		else if (proxy_reason_refuses((enum proxy_reason)k))
			refused += f->pc.n[k];
	}
	json_object_set_new(o, "accepted_total",
			    json_integer((json_int_t)f->pstats.accepted));
	json_object_set_new(o, "allowed_total", json_integer((json_int_t)allowed));
	json_object_set_new(o, "refused_total", json_integer((json_int_t)refused));
	json_object_set_new(o, "bytes_out_total",
			    json_integer((json_int_t)f->pstats.bytes_out));
	json_object_set_new(o, "bytes_in_total",
			    json_integer((json_int_t)f->pstats.bytes_in));
	return o;
}
