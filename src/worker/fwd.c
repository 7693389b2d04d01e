// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fwd.c - published ports: host listeners relayed into the sandbox
 *
 * Theory of operation
 * -------------------
 * "--publish [BIND:]HOSTPORT:SANDBOXPORT[/PROTO]" is served by the
 * sandbox's supervisor, in the host's network namespace, the way Docker's
 * userland proxy and pasta serve theirs: a socket bound to BIND:HOSTPORT
 * (127.0.0.1 unless the user says otherwise) accepts peers and opens a
 * connection of its own to the sandbox's address. Nothing is DNAT-ed, so
 * the sandbox's chains never have to let anything new in: its replies come
 * back as "established" traffic on the host's input hook.
 *
 * TCP bytes move with splice(2) through one pipe per direction, never
 * copied to userspace; a direction stops reading while its pipe is full
 * (back-pressure), and a FIN is passed on as shutdown(SHUT_WR) once the
 * pipe has drained, so half-closed connections work. UDP peers each get a
 * socket connected to the sandbox port, idle ones expire.
 *
 * Both tables are bounded by limits.connections: a peer beyond the limit is
 * refused at once (closed, or its datagram dropped), and counted. The TCP
 * table holds two budgets of limits.connections slots each, one for
 * published ports and one for the proxy (fwd_slot()): a sandbox holding
 * every proxy slot open cannot starve its own published ports, nor their
 * peers its proxy.
 *
 * What a relay can make the host hold is bounded, whatever the peers do
 * (a server that never reads, a client that writes as fast as it can):
 * both sockets get fixed send and receive buffers (FWD_SOCK_BUF, which
 * turns the kernel's autotuning off for them: it would grow each to
 * net.ipv4.tcp_wmem/tcp_rmem's maximum, megabytes) and each direction's
 * pipe holds FWD_PIPE_SIZE, so one connection holds at most
 * FWD_CONN_MEM_MAX bytes and one sandbox's relays twice limits.connections
 * times that (fwd_tcp_bufs()). A port
 * on a loopback BIND takes loopback peers only; on another BIND, peers
 * from the sandbox pools and, if the policy has ingress.allow_from, peers
 * outside it are refused the same way (fwd_source_allowed()).
 *
 * The transparent proxy (proxy.c decides) shares the TCP table and its
 * limit: when the policy has domain rules, nftables redirects the
 * sandbox's TCP 80, 443 and domain-rule ports to port 15001 on its
 * gateway addresses, where fwd_proxy_init() listens. A connection taken
 * there is first "sniffing": up to FWD_SNIFF_MAX first bytes are read into
 * a buffer of its own until tls_client_hello() or http_request_head()
 * has a verdict (TLS by the first byte, 0x16), within FWD_SNIFF_TIMEOUT.
 * A refused TLS connection gets proxy_tls_alert() (access_denied) and a
 * close, a refused HTTP request proxy_http_403(). An allowed one gets a non-blocking
 * connect to its original destination (proxy_original_dst()), the
 * buffered bytes are written, and the pair becomes an ordinary splice
 * relay, expired after FWD_PROXY_IDLE seconds without progress. That
 * connect is made from a socket carrying the sandbox's mark
 * (nft_out_mark()): the kernel judges it with the sandbox's own chains
 * (nft.c, "<if>_out"), and what they refuse fails with ICMP
 * administratively prohibited, read from the socket's error queue while
 * it connects (fwd_kernel_refused()) and refused to the client as
 * PROXY_DENY_KERNEL, like any other refusal. Published ports' connections
 * are not marked: they go into the sandbox.
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
 * (struct fwd_tls, fwd_tls_read()): the client's records are read, not
 * spliced, a further ClientHello is kept back until complete and judged,
 * and must give the same name (sni-changed: both sides reset); the
 * server's bytes are read on their way to the client until its first
 * handshake message shows whether it is a HelloRetryRequest. Following
 * ends when it is not, or when the hello after one has been judged, and
 * both directions splice again: for a handshake without a retry, one
 * round trip.
 *
 * HTTP: every request of a keep-alive connection is judged. A request's
 * body is followed with http_body_scan() (data passed with splice); when
 * it ends, the next head is read into a buffer of its own, once the pipe
 * towards the destination has drained, and decided like the first, for
 * the same destination (fwd_req_next()). A refused request ends the
 * client's direction: the destination's write side is shut, its
 * responses to the earlier requests still reach the client, and the 403
 * follows them before the connection closes. No request reaches the
 * destination without its Host having been checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>

#include "err.h"
#include "fwd.h"
#include "nft.h"

/**
 * fwd_sockaddr() - build a socket address from a prefix and a port
 * @p:		address (family and bytes)
 * @port:	port, host order
 * @sa:		filled in
 *
 * Return: the address length
 */
static socklen_t fwd_sockaddr(const struct prefix *p, uint16_t port,
			      struct sockaddr_storage *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (p->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, p->addr, 4);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, p->addr, 16);
		return sizeof(*in6);
	}
}

/**
 * fwd_ref() - pack an epoll reference
 * @type:	SV_REF_*
 * @idx:	table index
 * @side:	TCP flow side
 * @fd:		descriptor
 *
 * Return: the packed value
 */
static uint64_t fwd_ref(enum sv_ref_type type, unsigned idx, unsigned side,
			int fd)
{
	union sv_ref r = { .type = type, .idx = idx, .side = side, .fd = fd };

	return r.u64;
}

/**
 * fwd_is_loopback() - whether a bind address is a loopback one
 * @p:		address
 *
 * Return: true for 127/8 and ::1
 */
static bool fwd_is_loopback(const struct prefix *p)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (p->family == AF_INET)
		return p->addr[0] == 127;
	return !memcmp(p->addr, lo6, 16);
}

/**
 * fwd_source_allowed() - check a peer of a published port
 * @f:		forwarder
 * @l:		listener the peer came to
 * @sa:		the peer's address
 *
 * A port published on a loopback address takes loopback peers only (with
 * the host's route_localnet set, a LAN host could otherwise reach it). On
 * any other address, a peer from the sandbox pools is refused: another
 * sandbox allowed "host" on that port must not reach this one through it
 * (I1); then ingress.allow_from, if the policy has one, decides.
 *
 * Return: true if the peer may use the published port
 */
static bool fwd_source_allowed(const struct fwd *f, const struct fwd_listener *l,
			       const struct sockaddr_storage *sa)
{
	struct prefix a = { 0 };
	size_t i;

	if (sa->ss_family == AF_INET) {
		a.family = AF_INET;
		a.plen = 32;
		memcpy(a.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		a.family = AF_INET6;
		a.plen = 128;
		memcpy(a.addr, &in6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			a.family = AF_INET;
			a.plen = 32;
			memmove(a.addr, a.addr + 12, 4);
			memset(a.addr + 4, 0, 12);
		}
	}
	if (fwd_is_loopback(&l->spec.bind))
		return fwd_is_loopback(&a);
	if (prefix_contains(&f->pool4, &a) || prefix_contains(&f->pool6, &a))
		return false;
	if (!f->nallow_from)
		return true;
	for (i = 0; i < f->nallow_from; i++)
		if (prefix_contains(&f->allow_from[i], &a))
			return true;
	return false;
}

/**
 * fwd_tcp_bufs() - bound the kernel buffers of a relay's socket
 * @fd:		TCP socket: set before connect() and on listeners (the window
 *		scale is chosen at the handshake), and again on each accepted
 *		socket
 *
 * Fixed buffers: the kernel stops autotuning them, and what a peer that
 * never reads, or a writer it cannot keep up with, makes the host hold in
 * this socket stays within twice FWD_SOCK_BUF each way (FWD_CONN_MEM_MAX).
 */
static void fwd_tcp_bufs(int fd)
{
	int v = FWD_SOCK_BUF;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/**
 * fwd_listen() - open one published port
 * @spec:	the port
 * @err:	set to a message on failure
 *
 * Return: the socket, or -1 with @err set
 */
static int fwd_listen(const struct publish *spec, char **err)
{
	struct sockaddr_storage sa;
	socklen_t len = fwd_sockaddr(&spec->bind, spec->host_port, &sa);
	int type = spec->proto == PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	char buf[INET6_ADDRSTRLEN + 4];
	int fd, one = 1;

	fd = socket(spec->bind.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (spec->bind.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len))
		goto fail;
	if (type == SOCK_STREAM)
		fwd_tcp_bufs(fd);
	if (type == SOCK_STREAM && listen(fd, 128))
		goto fail;
	return fd;
fail:
	prefix_format(&spec->bind, buf, sizeof(buf));
	*err = xasprintf("cannot publish %s%s%s:%u/%s: %s",
			 spec->bind.family == AF_INET6 ? "[" : "", buf,
			 spec->bind.family == AF_INET6 ? "]" : "",
			 spec->host_port, proto_name(spec->proto),
			 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/**
 * fwd_init() - open every published port of a sandbox
 * @f:		forwarder to initialise
 * @epfd:	the supervisor's epoll instance
 * @p:		policy (kept referenced for allow_from)
 * @s:		the sandbox
 * @pool4:	IPv4 sandbox pool (peers from there are refused)
 * @pool6:	IPv6 sandbox pool
 * @err:	set to a message on failure
 *
 * Return: 0, or -1 with @err set and nothing left open
 */
int fwd_init(struct fwd *f, int epfd, const struct policy *p,
	     const struct sb_state *s, const struct prefix *pool4,
	     const struct prefix *pool6, char **err)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->epfd = epfd;
	f->dst4 = s->addr4;
	f->dst6 = s->addr6;
	f->allow_from = p->allow_from;
	f->nallow_from = p->nallow_from;
	f->pool4 = *pool4;
	f->pool6 = *pool6;
	f->max = p->connections ? p->connections : POLICY_CONNECTIONS_DEFAULT;
	f->tcp = xcalloc(2 * f->max, sizeof(*f->tcp));
	f->udp = xcalloc(f->max, sizeof(*f->udp));
	f->lst = xcalloc(p->npublish, sizeof(*f->lst));
	f->plst[0] = f->plst[1] = -1;

	for (i = 0; i < p->npublish; i++) {
		struct fwd_listener *l = &f->lst[i];
		struct epoll_event ev = { .events = EPOLLIN };

		l->spec = p->publish[i];
		l->fd = fwd_listen(&l->spec, err);
		if (l->fd < 0) {
			fwd_close(f);
			return -1;
		}
		f->nlst++;
		ev.data.u64 = fwd_ref(l->spec.proto == PROTO_UDP ? SV_REF_PUB_UDP :
				      SV_REF_PUB_TCP, i, 0, l->fd);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, l->fd, &ev)) {
			*err = xasprintf("epoll: %s", strerror(errno));
			fwd_close(f);
			return -1;
		}
	}
	return 0;
}

/* #syscalls:worker pipe2 fcntl */
/**
 * fwd_pipe_get() - a pipe for one direction of a connection
 * @f:		forwarder
 * @p:		set to the pipe's ends
 *
 * Return: 0, or -1 with errno set
 */
static int fwd_pipe_get(struct fwd *f, int p[2])
{
	if (f->npool) {
		f->npool--;
		p[0] = f->pool[f->npool][0];
		p[1] = f->pool[f->npool][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
		return -1;
	fcntl(p[0], F_SETPIPE_SZ, FWD_PIPE_SIZE);
	return 0;
}

/* #syscalls:worker ioctl close */
/**
 * fwd_pipe_put() - give back the pipe of a closed connection's direction
 * @f:		forwarder
 * @p:		the pipe's ends, set to -1
 *
 * Kept for reuse only when the kernel says it is empty (FIONREAD): bytes
 * of one connection must never reach another. Otherwise, or when the pool
 * is full, it is closed.
 */
static void fwd_pipe_put(struct fwd *f, int p[2])
{
	int n = -1;

	if (p[0] < 0)
		return;
	if (f->npool < FWD_PIPE_POOL && !ioctl(p[0], FIONREAD, &n) && !n) {
		f->pool[f->npool][0] = p[0];
		f->pool[f->npool][1] = p[1];
		f->npool++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

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
static void fwd_proxy_count(struct fwd *f, struct fwd_tcp *t,
			    enum proxy_reason r, const char *name)
{
	t->pending = false;
	f->pc.n[r]++;
	fwd_proxy_log(f, t, r, name);
}

/**
 * fwd_tcp_close() - end a relayed connection and free its slot
 * @f:		forwarder
 * @t:		connection
 */
static void fwd_tcp_close(struct fwd *f, struct fwd_tcp *t)
{
	int k;

	if (t->pending)
		fwd_proxy_count(f, t, t->early_r, NULL);
	for (k = 0; k < 2; k++) {
		/* closing takes it out of epoll: nothing else holds it */
		if (t->fd[k] >= 0)
			close(t->fd[k]);
		fwd_pipe_put(f, t->dir[k].pipe);
	}
	free(t->buf);
	free(t->hbuf);
	free(t->tls);
	free(t->deny);
	memset(t, 0, sizeof(*t));
}

/**
 * fwd_tcp_events() - register the events a connection waits for now
 * @f:		forwarder
 * @t:		connection
 * @idx:	its slot
 *
 * A side is read while its outgoing pipe has room and it has not sent its
 * FIN; it is written (EPOLLOUT) while the pipe towards it holds bytes, or,
 * for the sandbox side, until the connection completes.
 */
static void fwd_tcp_events(struct fwd *f, struct fwd_tcp *t, unsigned idx)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { 0 };
		struct fwd_dir *out = &t->dir[k], *in = &t->dir[!k];

		if (t->fd[k] < 0)
			continue;
		if (t->sniffing && t->early && k == 1) {
			/* the destination may speak first */
			if (!t->connected)
				ev.events = EPOLLOUT;
			else if (!out->eof && out->queued < FWD_PIPE_SIZE)
				ev.events = EPOLLIN | EPOLLRDHUP;
		} else if (t->sniffing) {
			ev.events = EPOLLIN | EPOLLRDHUP;
			if (t->early && in->queued)
				ev.events |= EPOLLOUT;
		} else if (!t->connected || t->buf) {
			ev.events = k == 1 ? EPOLLOUT : 0;
		} else {
			/* a proxied HTTP client's next head waits for the
			 * pipe to drain (fwd_req_read()) */
			bool held = k == 0 && t->http && t->req_done &&
				    out->queued;

			if (!out->eof && out->queued < FWD_PIPE_SIZE && !held)
				ev.events |= EPOLLIN | EPOLLRDHUP;
			if (in->queued)
				ev.events |= EPOLLOUT;
		}
		if (t->hup[k])
			continue;	/* out of epoll: see fwd_tcp_event() */
		if (ev.events == t->events[k])
			continue;
		ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, k, t->fd[k]);
		epoll_ctl(f->epfd, EPOLL_CTL_MOD, t->fd[k], &ev);
		t->events[k] = ev.events;
	}
}

/* #syscalls:worker accept4 socket setsockopt connect epoll_ctl */
/**
 * fwd_tcp_accept() - take a peer on a published TCP port
 * @f:		forwarder
 * @li:		listener index
 */
static void fwd_tcp_accept(struct fwd *f, unsigned li)
{
	const struct fwd_listener *l = &f->lst[li];
	const struct prefix *dst;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	struct fwd_tcp *t = NULL;
	unsigned idx = 0;
	int fd, sfd, k, one = 1;
	size_t i;

	fd = accept4(l->fd, (struct sockaddr *)&sa, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!fwd_source_allowed(f, l, &sa)) {
		f->stats.refused_source++;
		close(fd);
		return;
	}
	for (i = 0; i < f->max; i++) {	/* the published ports' budget */
		if (!f->tcp[i].used) {
			t = &f->tcp[i];
			idx = i;
			break;
		}
	}
	if (!t) {
		f->stats.refused_limit++;
		close(fd);
		return;
	}

	dst = l->spec.bind.family == AF_INET6 && f->dst6.family ? &f->dst6 :
	      &f->dst4;
	len = fwd_sockaddr(dst, l->spec.sandbox_port, &sa);
	sfd = socket(dst->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sfd < 0) {
		close(fd);
		return;
	}
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fwd_tcp_bufs(fd);
	fwd_tcp_bufs(sfd);
	if (connect(sfd, (struct sockaddr *)&sa, len) && errno != EINPROGRESS) {
		f->stats.connect_failed++;
		close(sfd);
		close(fd);
		return;
	}

	memset(t, 0, sizeof(*t));
	t->fd[0] = fd;
	t->fd[1] = sfd;
	for (k = 0; k < 2; k++)
		t->dir[k].pipe[0] = t->dir[k].pipe[1] = -1;
	for (k = 0; k < 2; k++) {
		if (fwd_pipe_get(f, t->dir[k].pipe)) {
			t->used = true;
			fwd_tcp_close(f, t);
			return;
		}
	}
	t->used = true;
	t->since = time(NULL);
	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { .events = 0 };

		ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, k, t->fd[k]);
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, t->fd[k], &ev);
	}
	f->stats.accepted++;
	fwd_tcp_events(f, t, idx);
}

/**
 * fwd_reset() - make the close of a socket send a reset
 * @fd:		socket
 */
static void fwd_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/**
 * fwd_recverr() - report ICMP errors of a socket on its error queue
 * @fd:		socket
 * @family:	its family (an IPv6 socket may carry IPv4, mapped)
 * @on:		on while connecting, off once connected (the error queue
 *		would otherwise make soft errors of an established
 *		connection fatal)
 */
static void fwd_recverr(int fd, int family, bool on)
{
	int v = on;

	setsockopt(fd, SOL_IP, IP_RECVERR, &v, sizeof(v));
	if (family == AF_INET6)
		setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &v, sizeof(v));
}

/**
 * fwd_req_keep() - keep bytes that follow a request as the next one's head
 * @t:		connection
 * @b:		bytes
 * @n:		their number
 *
 * Return: 0, or -1 if they do not fit (a head over FWD_SNIFF_MAX)
 */
static int fwd_req_keep(struct fwd_tcp *t, const uint8_t *b, size_t n)
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
 * fwd_req_next() - judge the next request of a keep-alive connection
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
static ssize_t fwd_req_next(struct fwd *f, struct fwd_tcp *t, struct fwd_dir *d)
{
	enum http_result hr, br;
	struct http_request req;
	enum proxy_reason r;
	size_t used = 0, rest;
	char resp[1024];
	int n;

	hr = http_request_head(t->hbuf, t->hlen, &req);
	if (hr == HTTP_NEED_MORE && t->hlen < FWD_SNIFF_MAX) {
		errno = EAGAIN;
		return -1;
	}
	if (hr == HTTP_NEED_MORE)
		hr = HTTP_TOO_LARGE;
	r = proxy_decide_http(&f->pp, hr, &req, &t->dst, t->dport);
	if (proxy_reason_allows(r)) {
		http_body_init(&t->body, &req);
		br = http_body_scan(&t->body, t->hbuf + req.head_len,
				    t->hlen - req.head_len, &used);
		if (br == HTTP_MALFORMED) {
			r = PROXY_DENY_HTTP_MALFORMED;
		} else {
			fwd_proxy_count(f, t, r, req.host);
			t->req_done = br == HTTP_OK;
			t->upgrade = req.upgrade;
			used += req.head_len;
			/* an empty pipe takes a head of FWD_SNIFF_MAX whole */
			if (write(d->pipe[1], t->hbuf, used) != (ssize_t)used) {
				errno = EIO;
				return -1;
			}
			rest = t->hlen - used;
			memmove(t->hbuf, t->hbuf + used, rest);
			t->hlen = rest;
			return (ssize_t)used;
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

/* #syscalls:worker recvfrom splice write */
/**
 * fwd_req_read() - read more of a proxied client's HTTP requests into the
 * pipe
 * @f:		forwarder
 * @from:	the client
 * @d:		client-to-destination direction
 * @t:		connection
 *
 * Body data is spliced (http_body_opaque()); chunk framing is read and
 * followed with http_body_scan(), then written to the pipe. Once a request
 * is complete, the next head is read into @t->hbuf (after the pipe has
 * drained) and judged by fwd_req_next(), so no request of a keep-alive
 * connection reaches the destination without its Host checked. A request
 * asking for a protocol upgrade is the last one: after it the direction
 * reads as ended (plain-text WebSocket is not relayed; over TLS it is).
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_req_read(struct fwd *f, int from, struct fwd_dir *d,
			    struct fwd_tcp *t)
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
			n = fwd_req_next(f, t, d);
			if (n != -1 || errno != EAGAIN)
				return n;
		}
		n = recv(from, t->hbuf + t->hlen, FWD_SNIFF_MAX - t->hlen, 0);
		if (n <= 0)
			return n;	/* a head cut short by the end is dropped */
		t->hlen += (size_t)n;
		return fwd_req_next(f, t, d);
	}
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
		if (fwd_req_keep(t, b + used, (size_t)n - used)) {
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
 * fwd_tls_refuse() - refuse a followed TLS connection on a later hello
 * @f:		forwarder
 * @t:		connection (closed by the caller)
 * @r:		reason
 * @name:	the name the hello gave, or NULL
 *
 * Return: -1 with errno EPROTO
 */
static ssize_t fwd_tls_refuse(struct fwd *f, struct fwd_tcp *t,
			      enum proxy_reason r, const char *name)
{
	fwd_proxy_count(f, t, r, name);
	fwd_reset(t->fd[0]);
	fwd_reset(t->fd[1]);
	errno = EPROTO;
	return -1;
}

/**
 * fwd_tls_drain() - pass on what a followed TLS client sent, judging any
 * further ClientHello first
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
static ssize_t fwd_tls_drain(struct fwd *f, struct fwd_tcp *t,
			     struct fwd_dir *d)
{
	size_t room = FWD_PIPE_SIZE - d->queued, done = 0;
	struct fwd_tls *x = t->tls;

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
				return fwd_tls_refuse(f, t,
						      PROXY_DENY_TLS_MALFORMED,
						      NULL);
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
					return fwd_tls_refuse(f, t, r,
							      tr == TLS_OK ?
							      h.sni : NULL);
				x->done = true;
			} else if (type == 20 || type == 21 || type == 23) {
				x->skip = TLS_REC_HDR + rlen;
			} else {
				return fwd_tls_refuse(f, t,
						      PROXY_DENY_TLS_MALFORMED,
						      NULL);
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
 * fwd_tls_read() - move a followed TLS connection's bytes into a pipe
 * @f:		forwarder
 * @from:	the client or the destination
 * @d:		the direction's state
 * @t:		connection, @t->tls set
 *
 * After a HelloRetryRequest the server acts on the client's next
 * ClientHello, not on the first, so the first one's verdict must hold for
 * it too. The client's records are followed (fwd_tls_drain()) until the
 * server's first handshake message, read on its way to the client
 * (tls_server_hello()), shows it is not a HelloRetryRequest, or until the
 * ClientHello after one has been judged. Then both directions go back to
 * splice. The server's bytes are judged before the client can see them,
 * so a client that answers what the server said (TLS 1.2's key exchange,
 * its encrypted Finished after a ChangeCipherSpec) is never read as a
 * hello.
 *
 * Return: bytes put in the pipe, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_tls_read(struct fwd *f, int from, struct fwd_dir *d,
			    struct fwd_tcp *t)
{
	struct fwd_tls *x = t->tls;
	uint8_t b[4096];
	ssize_t n;

	if (from == t->fd[1]) {
		if (x->done || x->srv != TLS_SERVER_NEED_MORE)
			return splice(from, NULL, d->pipe[1], NULL,
				      FWD_PIPE_SIZE - d->queued,
				      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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
		n = fwd_tls_drain(f, t, d);
		if (n != -1 || errno != EAGAIN)
			return n;
	}
	if (x->done && !t->hlen) {
		free(t->tls);		/* both directions splice again */
		t->tls = NULL;
		free(t->hbuf);
		t->hbuf = NULL;
		return splice(from, NULL, d->pipe[1], NULL,
			      FWD_PIPE_SIZE - d->queued,
			      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
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
	return fwd_tls_drain(f, t, d);
}

/* #syscalls:worker splice sendto shutdown */
/**
 * fwd_pump() - move bytes along one direction as far as they go
 * @from:	source socket
 * @to:		destination socket
 * @d:		the direction's state
 * @count:	incremented by the bytes delivered to @to
 * @f:		forwarder
 * @req:	for a proxied HTTP client's direction, its connection (every
 *		request is judged, fwd_req_read()); for both directions of
 *		a followed TLS connection, its connection (fwd_tls_read());
 *		else NULL
 * @tail:	for a proxied HTTP destination's direction, its connection:
 *		a 403 it holds for a refused request is sent before the
 *		client's side is shut; else NULL
 *
 * Return: 0, or -1 if the connection must be closed (error or reset)
 */
static int fwd_pump(struct fwd *f, int from, int to, struct fwd_dir *d,
		    uint64_t *count, struct fwd_tcp *req, struct fwd_tcp *tail)
{
	for (;;) {
		bool progress = false;
		ssize_t n;

		if (!d->eof && d->queued < FWD_PIPE_SIZE) {
			if (req && req->http)
				n = fwd_req_read(f, from, d, req);
			else if (req && req->tls)
				n = fwd_tls_read(f, from, d, req);
			else
				n = splice(from, NULL, d->pipe[1], NULL,
					   FWD_PIPE_SIZE - d->queued,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == 0) {
				d->eof = true;
			} else if (n > 0) {
				d->queued += n;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (d->queued) {
			n = splice(d->pipe[0], NULL, to, NULL, d->queued,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->queued -= n;
				*count += n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (!progress)
			break;
	}
	if (d->eof && !d->queued && !d->shut) {
		if (tail && tail->deny &&
		    send(to, tail->deny, tail->deny_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)tail->deny_len)
			fwd_reset(to);
		shutdown(to, SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/**
 * fwd_slot() - a free slot of the proxy's budget in the TCP table
 * @f:		forwarder
 * @idx:	set to its index
 *
 * The proxy's slots are the second half of the table; published ports
 * take theirs from the first (fwd_tcp_accept()).
 *
 * Return: the slot, or NULL if limits.connections are in use
 */
static struct fwd_tcp *fwd_slot(struct fwd *f, unsigned *idx)
{
	size_t i;

	for (i = f->max; i < 2 * f->max; i++) {
		if (!f->tcp[i].used) {
			*idx = (unsigned)i;
			return &f->tcp[i];
		}
	}
	return NULL;
}

/**
 * fwd_oracle_verdict() - what the policy's domain rules say of a name
 * @ctx:	the forwarder
 * @name:	SNI or Host
 * @port:	original destination port
 * @rule:	set to the 0-based index of the deciding rule, if any
 *
 * Return: proxy_domain_rule()'s verdict
 */
static enum proxy_name_verdict fwd_oracle_verdict(const void *ctx,
						  const char *name,
						  uint16_t port, size_t *rule)
{
	const struct fwd *f = ctx;
	enum proxy_name_verdict v;
	size_t k = proxy_domain_rule(f->pp.pol, name, port, &v);

	if (v != PROXY_NAME_NONE)
		*rule = k;
	return v;
}

/**
 * fwd_oracle_pinned() - whether the DNS interceptor pinned an address for
 * a name
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
static bool fwd_oracle_pinned(const void *ctx, const char *name, int af,
			      const void *addr)
{
	const struct fwd *f = ctx;

	return f->dns && dns_pinned(f->dns, name, af, addr);
}

/**
 * struct fwd_port_q - what fwd_name_allowed() is asked
 * @pol:	policy
 * @port:	TCP port
 */
struct fwd_port_q {
	const struct policy *pol;
	uint16_t port;
};

/**
 * fwd_name_allowed() - whether a domain rule allows a name on a port
 * @name:	pinned name
 * @arg:	struct fwd_port_q
 *
 * Return: true if the first domain rule covering @name and the port allows
 */
static bool fwd_name_allowed(const char *name, const void *arg)
{
	const struct fwd_port_q *q = arg;

	return proxy_domain_verdict(q->pol, name, q->port) == PROXY_NAME_ALLOW;
}

/**
 * fwd_oracle_pinned_any() - whether an address is pinned for some name a
 * domain rule allows on a port
 * @ctx:	the forwarder
 * @af:		AF_INET or AF_INET6
 * @addr:	original destination address
 * @port:	original destination port
 *
 * Return: true if so; false without a DNS interceptor
 */
static bool fwd_oracle_pinned_any(const void *ctx, int af, const void *addr,
				  uint16_t port)
{
	const struct fwd *f = ctx;
	struct fwd_port_q q = { .pol = f->pp.pol, .port = port };

	return f->dns && dns_pinned_for(f->dns, af, addr, fwd_name_allowed, &q);
}

/* #syscalls:worker epoll_ctl */
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
	int k;

	f->pp.pol = p;
	f->pp.pool4 = *pool4;
	f->pp.pool6 = *pool6;
	f->pp.oracle.name_verdict = fwd_oracle_verdict;
	f->pp.oracle.pinned = fwd_oracle_pinned;
	f->pp.oracle.pinned_any = fwd_oracle_pinned_any;
	f->pp.oracle.ctx = f;
	f->dns = dns;
	f->log = log;
	f->mark = nft_out_mark(s->ifname);
	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (!gw[k] || !gw[k]->family)
			continue;
		f->plst[k] = proxy_listen(gw[k], NFT_PROXY_PORT, err);
		if (f->plst[k] < 0)
			return -1;
		fwd_tcp_bufs(f->plst[k]);
		ev.data.u64 = fwd_ref(SV_REF_PROXY_LISTEN, (unsigned)k, 0,
				      f->plst[k]);
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->plst[k], &ev)) {
			*err = xasprintf("epoll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* #syscalls:worker sendto shutdown */
/**
 * fwd_proxy_refuse() - refuse a proxied connection and count why
 * @f:		forwarder
 * @t:		connection (closed here)
 * @r:		reason
 * @name:	the name the client gave, if any
 */
static void fwd_proxy_refuse(struct fwd *f, struct fwd_tcp *t,
			     enum proxy_reason r, const char *name)
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

/* #syscalls:worker socket setsockopt connect epoll_ctl */
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
	struct epoll_event ev = { .events = 0 };
	struct sockaddr_storage sa;
	socklen_t len = fwd_sockaddr(&t->dst, t->dport, &sa);
	int one = 1, k;

	t->since = time(NULL);
	t->fd[1] = socket(t->dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd[1] < 0)
		goto fail;
	/* judged by the sandbox's own chains (nft.c, "_out"): an unmarked
	 * socket would be the host's own, so none is opened without it */
	if (setsockopt(t->fd[1], SOL_SOCKET, SO_MARK, &f->mark, sizeof(f->mark)))
		goto fail;
	fwd_recverr(t->fd[1], t->dst.family, true);
	setsockopt(t->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(t->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fwd_tcp_bufs(t->fd[1]);
	for (k = 0; k < 2; k++)
		if (fwd_pipe_get(f, t->dir[k].pipe))
			goto fail;
	if (connect(t->fd[1], (struct sockaddr *)&sa, len) && errno != EINPROGRESS)
		goto fail;
	ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, 1, t->fd[1]);
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, t->fd[1], &ev))
		goto fail;
	fwd_tcp_events(f, t, idx);
	return 0;
fail:
	fwd_proxy_count(f, t, PROXY_FAIL_CONNECT, NULL);
	fwd_reset(t->fd[0]);
	fwd_tcp_close(f, t);
	return -1;
}

/* #syscalls:worker accept4 epoll_ctl close */
/**
 * fwd_proxy_accept() - take a connection redirected to the proxy
 * @f:		forwarder
 * @k:		listener (0: IPv4, 1: IPv6)
 *
 * On 80 and 443 the connection waits for its first bytes; on another port
 * (one a domain rule names) it is decided on its destination and connected
 * at once, and its first bytes are judged when they come (see the top).
 */
static void fwd_proxy_accept(struct fwd *f, unsigned k)
{
	struct epoll_event ev = { .events = 0 };
	struct fwd_tcp *t;
	unsigned idx = 0;
	int fd, j;

	fd = accept4(f->plst[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	fwd_tcp_bufs(fd);
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
	ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, 0, fd);
	epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev);
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
	fwd_tcp_events(f, t, idx);
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
static int fwd_proxy_sniff(struct fwd *f, struct fwd_tcp *t, unsigned idx)
{
	struct http_request req;
	struct tls_hello h;
	enum proxy_reason r;
	ssize_t n;

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
		enum http_result br;
		size_t used = 0;

		if (hr == HTTP_NEED_MORE && t->blen < FWD_SNIFF_MAX)
			return 0;
		if (hr == HTTP_NEED_MORE)
			hr = HTTP_TOO_LARGE;
		r = proxy_decide_http(&f->pp, hr, &req, &t->dst, t->dport);
		if (!proxy_reason_allows(r)) {
			fwd_proxy_refuse(f, t, r, hr == HTTP_OK ? req.host : NULL);
			return -1;
		}
		/* the first request; the ones after it are judged by
		 * fwd_req_next() */
		http_body_init(&t->body, &req);
		br = http_body_scan(&t->body, t->buf + req.head_len,
				    t->blen - req.head_len, &used);
		if (br == HTTP_MALFORMED) {
			fwd_proxy_refuse(f, t, PROXY_DENY_HTTP_MALFORMED,
					 req.host);
			return -1;
		}
		t->req_done = br == HTTP_OK;
		t->upgrade = req.upgrade;
		/* what follows a complete first request starts the next */
		if (t->req_done &&
		    fwd_req_keep(t, t->buf + req.head_len + used,
				 t->blen - req.head_len - used)) {
			fwd_proxy_refuse(f, t, PROXY_DENY_HTTP_TOO_LARGE,
					 req.host);
			return -1;
		}
		t->blen = req.head_len + used;
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
		/* what follows the hello is followed (fwd_tls_read()) */
		t->tls = calloc(1, sizeof(*t->tls));
		if (!t->tls || fwd_req_keep(t, t->buf + h.consumed,
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

/* #syscalls:worker recvmsg */
/**
 * fwd_kernel_refused() - whether a failed connect was refused as
 * "administratively prohibited"
 * @fd:		socket, fwd_recverr() on
 *
 * What the sandbox's chains answer a connection they refuse (nft.c,
 * "reject with icmpx admin-prohibited"); a router on the way that refuses
 * it the same way reads the same.
 *
 * Return: true if the error queue holds such an ICMP or ICMPv6 error
 */
static bool fwd_kernel_refused(int fd)
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
 * fwd_connect_failed() - give up a connection whose destination did not
 * answer: counted, the client refused if it was proxied
 * @f:		forwarder
 * @t:		connection (closed here)
 *
 * A proxied connection the kernel refused (the sandbox's own rules judge
 * the proxy's onward connections) is refused to the client as any other
 * refusal, PROXY_DENY_KERNEL: a 403 for HTTP, a reset otherwise; one that
 * failed for another reason (no answer, a reset) is reset.
 */
static void fwd_connect_failed(struct fwd *f, struct fwd_tcp *t)
{
	if (t->proxied && t->fd[1] >= 0 && fwd_kernel_refused(t->fd[1])) {
		fwd_proxy_refuse(f, t, PROXY_DENY_KERNEL, NULL);
		return;
	}
	if (t->proxied) {
		fwd_proxy_count(f, t, PROXY_FAIL_CONNECT, NULL);
		fwd_reset(t->fd[0]);
	} else {
		f->stats.connect_failed++;
	}
	fwd_tcp_close(f, t);
}

/* #syscalls:worker getsockopt sendto epoll_ctl */
/**
 * fwd_tcp_event() - progress on a relayed connection
 * @f:		forwarder
 * @ref:	which connection and side
 * @events:	epoll events
 */
static void fwd_tcp_event(struct fwd *f, union sv_ref ref, uint32_t events)
{
	struct fwd_tcp *t;
	uint64_t *in, *out;

	if (ref.idx >= 2 * f->max)
		return;
	t = &f->tcp[ref.idx];
	if (!t->used || t->fd[ref.side] != ref.fd)
		return;
	t->last = time(NULL);
	if (t->sniffing && !t->early) {
		fwd_proxy_sniff(f, t, ref.idx);
		return;
	}
	if (t->sniffing && ref.side == 0 &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
	    fwd_proxy_sniff(f, t, ref.idx) < 0)
		return;

	if (!t->connected) {
		int err = 0;
		socklen_t sl = sizeof(err);

		if (ref.side != 1) {
			/* nothing is read before the sandbox answers */
			fwd_tcp_events(f, t, ref.idx);
			return;
		}
		if (getsockopt(t->fd[1], SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
			fwd_connect_failed(f, t);
			return;
		}
		t->connected = true;
		if (t->proxied)
			fwd_recverr(t->fd[1], t->dst.family, false);
	} else if (events & EPOLLERR) {
		fwd_tcp_close(f, t);
		return;
	}
	if (t->sniffing) {
		/* early, the client has not spoken yet: only the destination's
		 * bytes move */
		if (fwd_pump(f, t->fd[1], t->fd[0], &t->dir[1],
			     &f->pstats.bytes_in, NULL, NULL)) {
			fwd_tcp_close(f, t);
			return;
		}
		fwd_tcp_events(f, t, ref.idx);
		return;
	}
	if (t->buf) {
		/* proxied: the first bytes go to the destination first */
		ssize_t n = send(t->fd[1], t->buf + t->sent, t->blen - t->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fwd_tcp_close(f, t);
			return;
		}
		if (n > 0) {
			t->sent += (size_t)n;
			f->pstats.bytes_out += (uint64_t)n;
		}
		if (t->sent < t->blen) {
			fwd_tcp_events(f, t, ref.idx);
			return;
		}
		free(t->buf);
		t->buf = NULL;
	}

	in = t->proxied ? &f->pstats.bytes_out : &f->stats.bytes_in;
	out = t->proxied ? &f->pstats.bytes_in : &f->stats.bytes_out;
	if (fwd_pump(f, t->fd[0], t->fd[1], &t->dir[0], in,
		     t->http || t->tls ? t : NULL, NULL) ||
	    fwd_pump(f, t->fd[1], t->fd[0], &t->dir[1], out,
		     t->tls ? t : NULL, t->http ? t : NULL)) {
		fwd_tcp_close(f, t);
		return;
	}
	if (t->dir[0].shut && t->dir[1].shut) {
		fwd_tcp_close(f, t);
		return;
	}
	/* A side that hung up in both directions is reported by epoll until
	 * it is removed, but the pipe from it may still hold its last bytes
	 * for the other side: take it out of epoll and keep the connection
	 * until they are delivered. What is still unread on it is read by
	 * the pump above whenever the other side makes progress (every event
	 * pumps both directions).
	 */
	if ((events & EPOLLHUP) && t->connected && !t->hup[ref.side]) {
		if (t->dir[!ref.side].queued) {
			fwd_tcp_close(f, t);	/* cannot be written to any more */
			return;
		}
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, t->fd[ref.side], NULL);
		t->hup[ref.side] = true;
	}
	fwd_tcp_events(f, t, ref.idx);
}

/* #syscalls:worker socket connect recvfrom sendto epoll_ctl */
/**
 * fwd_udp_peer() - datagram from a peer on a published UDP port
 * @f:		forwarder
 * @li:		listener index
 */
static void fwd_udp_peer(struct fwd *f, unsigned li)
{
	const struct fwd_listener *l = &f->lst[li];
	struct sockaddr_storage sa, dsa;
	socklen_t len = sizeof(sa), dlen;
	struct fwd_udp *u = NULL, *fr = NULL;
	const struct prefix *dst;
	unsigned idx = 0;
	char buf[65536];
	ssize_t n;
	size_t i;

	n = recvfrom(l->fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &len);
	if (n < 0)
		return;
	if (!fwd_source_allowed(f, l, &sa)) {
		f->stats.refused_source++;
		return;
	}
	for (i = 0; i < f->max; i++) {
		struct fwd_udp *c = &f->udp[i];

		if (!c->used) {
			if (!fr) {
				fr = c;
				idx = i;
			}
			continue;
		}
		if (c->lst == li && c->peerlen == len &&
		    !memcmp(&c->peer, &sa, len)) {
			u = c;
			break;
		}
	}
	if (!u) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (!fr) {
			f->stats.refused_limit++;
			return;
		}
		u = fr;
		dst = l->spec.bind.family == AF_INET6 && f->dst6.family ?
		      &f->dst6 : &f->dst4;
		dlen = fwd_sockaddr(dst, l->spec.sandbox_port, &dsa);
		u->fd = socket(dst->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (u->fd < 0)
			return;
		if (connect(u->fd, (struct sockaddr *)&dsa, dlen)) {
			close(u->fd);
			return;
		}
		ev.data.u64 = fwd_ref(SV_REF_UDP_FLOW, idx, 0, u->fd);
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, u->fd, &ev)) {
			close(u->fd);
			return;
		}
		u->used = true;
		u->lst = li;
		memcpy(&u->peer, &sa, len);
		u->peerlen = len;
		f->stats.accepted++;
	}
	u->last = time(NULL);
	if (send(u->fd, buf, n, 0) == n) {
		f->stats.udp_datagrams++;
		f->stats.bytes_in += n;
	}
}

/**
 * fwd_udp_close() - forget a UDP peer
 * @f:		forwarder
 * @u:		peer
 */
static void fwd_udp_close(struct fwd *f, struct fwd_udp *u)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, u->fd, NULL);
	close(u->fd);
	memset(u, 0, sizeof(*u));
}

/* #syscalls:worker recvfrom sendto */
/**
 * fwd_udp_reply() - datagram from the sandbox to a UDP peer
 * @f:		forwarder
 * @ref:	which peer
 */
static void fwd_udp_reply(struct fwd *f, union sv_ref ref)
{
	struct fwd_udp *u;
	char buf[65536];
	ssize_t n;

	if (ref.idx >= f->max)
		return;
	u = &f->udp[ref.idx];
	if (!u->used || u->fd != ref.fd)
		return;
	n = recv(u->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fwd_udp_close(f, u);	/* e.g. port unreachable */
		return;
	}
	u->last = time(NULL);
	if (sendto(f->lst[u->lst].fd, buf, n, 0, (struct sockaddr *)&u->peer,
		   u->peerlen) == n) {
		f->stats.udp_datagrams++;
		f->stats.bytes_out += n;
	}
}

/**
 * fwd_event() - dispatch an epoll event that belongs to the forwarder
 * @f:		forwarder
 * @ref:	reference
 * @events:	epoll events
 */
void fwd_event(struct fwd *f, union sv_ref ref, uint32_t events)
{
	switch (ref.type) {
	case SV_REF_PUB_TCP:
		if (ref.idx < f->nlst)
			fwd_tcp_accept(f, ref.idx);
		break;
	case SV_REF_PUB_UDP:
		if (ref.idx < f->nlst)
			fwd_udp_peer(f, ref.idx);
		break;
	case SV_REF_PROXY_LISTEN:
		if (ref.idx < 2 && f->plst[ref.idx] >= 0)
			fwd_proxy_accept(f, ref.idx);
		break;
	case SV_REF_TCP_FLOW:
		fwd_tcp_event(f, ref, events);
		break;
	case SV_REF_UDP_FLOW:
		fwd_udp_reply(f, ref);
		break;
	default:
		break;
	}
}

/**
 * fwd_timer() - expire idle UDP peers and connections that never connected
 * @f:		forwarder
 * @now:	current time
 */
void fwd_timer(struct fwd *f, time_t now)
{
	size_t i;

	for (i = 0; i < 2 * f->max; i++) {
		struct fwd_tcp *t = &f->tcp[i];

		if (t->used && t->sniffing && (!t->early || t->blen)) {
			if (now - t->since > FWD_SNIFF_TIMEOUT)
				fwd_proxy_refuse(f, t, PROXY_DENY_TIMEOUT, NULL);
		} else if (t->used && !t->connected &&
			   now - t->since > FWD_CONNECT_TIMEOUT) {
			fwd_connect_failed(f, t);
		} else if (t->used && t->proxied &&
			   now - t->last > FWD_PROXY_IDLE) {
			fwd_tcp_close(f, t);
		}
		if (i < f->max && f->udp[i].used &&
		    now - f->udp[i].last > FWD_UDP_IDLE)
			fwd_udp_close(f, &f->udp[i]);
	}
}

/**
 * fwd_active() - number of relayed connections and UDP peers
 * @f:		forwarder
 *
 * Return: slots in use
 */
size_t fwd_active(const struct fwd *f)
{
	size_t i, n = 0;

	for (i = 0; i < f->max; i++)
		n += f->tcp[i].used + f->tcp[f->max + i].used + f->udp[i].used;
	return n;
}

/**
 * fwd_policy_update() - after a live policy change: re-judge the relays
 * @f:		forwarder
 * @p:		the new policy (the same object the forwarder points to,
 *		its contents replaced)
 * @keep:	the sandbox's rules' verdict on a destination, or NULL
 * @arg:	passed to @keep
 *
 * Published ports and their allowed sources cannot change live
 * (update.c), but the policy's arrays were replaced: the pointer to its
 * allowed sources is taken again. Every proxied connection already
 * decided (or connected early on its destination) is judged again on
 * its destination, as the proxy judges a connection before its first
 * bytes (proxy_decide_addr(): an address pinned for a name the new
 * policy allows on that port, or the address rules), or on its TLS name
 * while that is still followed. A refusal for want of a live pin (a
 * connection outlives the pin it was made with) is checked against the
 * sandbox's rules by @keep, which judge the relay's onward connection.
 * One the new policy refuses is reset both ways and counted and logged
 * as a refusal. Connections still being sniffed are decided by the new
 * policy when their first bytes come; every later HTTP request is judged
 * by it too.
 *
 * Return: number of connections cut
 */
size_t fwd_policy_update(struct fwd *f, const struct policy *p,
			 bool (*keep)(const struct prefix *dst, uint16_t port,
				      void *arg),
			 void *arg)
{
	size_t i, n = 0;

	f->allow_from = p->allow_from;
	f->nallow_from = p->nallow_from;
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
 * fwd_stats() - counters of the forwarder as JSON
 * @f:		forwarder
 *
 * Return: new JSON object
 */
json_t *fwd_stats(const struct fwd *f)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "active", (json_int_t)fwd_active(f),
			 "limit", (json_int_t)f->max,
			 "accepted", (json_int_t)f->stats.accepted,
			 "refused_source", (json_int_t)f->stats.refused_source,
			 "refused_limit", (json_int_t)f->stats.refused_limit,
			 "connect_failed", (json_int_t)f->stats.connect_failed,
			 "bytes_in", (json_int_t)f->stats.bytes_in,
			 "bytes_out", (json_int_t)f->stats.bytes_out,
			 "udp_datagrams", (json_int_t)f->stats.udp_datagrams);
}

/**
 * fwd_close() - close every socket and free the tables
 * @f:		forwarder
 */
void fwd_close(struct fwd *f)
{
	size_t i;

	for (i = 0; f->tcp && i < 2 * f->max; i++)
		if (f->tcp[i].used)
			fwd_tcp_close(f, &f->tcp[i]);
	for (i = 0; f->udp && i < f->max; i++)
		if (f->udp[i].used)
			fwd_udp_close(f, &f->udp[i]);
	for (i = 0; i < f->nlst; i++)
		close(f->lst[i].fd);
	for (i = 0; i < 2; i++)
		if (f->plst[i] >= 0)
			close(f->plst[i]);
	f->plst[0] = f->plst[1] = -1;
	while (f->npool) {
		f->npool--;
		close(f->pool[f->npool][0]);
		close(f->pool[f->npool][1]);
	}
	free(f->tcp);
	free(f->udp);
	free(f->lst);
	f->tcp = NULL;
	f->udp = NULL;
	f->lst = NULL;
	f->nlst = 0;
}
