// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fwd.c - the relays: published ports, and the machinery the transparent
 * proxy's connections share with them
 *
 * Theory of operation
 * -------------------
 * "--publish [BIND:]HOSTPORT:SANDBOXPORT[/PROTO]" is served by the
 * sandbox's supervisor, in the host's network namespace, the way Docker's
 * userland proxy and pasta serve theirs: a socket bound to BIND:HOSTPORT
 * (127.0.0.1 unless the user says otherwise) accepts peers and opens a
 * connection of its own to the sandbox's address. Nothing is DNAT-ed, so
 * the sandbox's chains never have to let anything new in: its replies come
 * back as "established" traffic on the host's input hook. That connection
 * is the sandbox's worker's, judged by the sandbox's own "<if>_out" chain
 * (nft.c), which lets it into the sandbox (and only into its own).
 *
 * TCP bytes move with splice(2) through one pipe per direction, never
 * copied to userspace, once a direction carries bulk; until a read fills
 * FWD_COPY_MAX they are copied through a buffer on the worker's stack
 * (recv, send; what the destination does not take goes into the pipe),
 * which costs the kernel less for the small messages most connections
 * carry (fwd_copy()). A direction stops reading while its pipe is full
 * (back-pressure), and a FIN is passed on as shutdown(SHUT_WR) once the
 * pipe has drained, so half-closed connections work; when the other
 * direction is shut already, the close that follows sends it. UDP peers
 * each get a socket connected to the sandbox port, idle ones expire.
 *
 * System calls are what a connection costs the worker, so none is made
 * that could only fail: sockets enter epoll (level-triggered) with the
 * events they wait for first and are changed only when those differ
 * (fwd_tcp_events()); an accepted socket takes its bounded buffers and
 * TCP_NODELAY from its listener; an event moves only the directions it
 * concerns (fwd_tcp_event()).
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
 * times that (fwd_tcp_bufs()).
 *
 * A port on a loopback BIND takes loopback peers only; on another BIND,
 * peers from the sandbox pools and, if the policy has ingress.allow_from,
 * peers outside it are refused the same way (fwd_source_allowed()).
 *
 * The transparent proxy's connections (fwd_proxy.c) are relays of the same
 * table, moved by the same pipes, fwd_pump(), back-pressure, half-close,
 * events and timers. What only they need lives there; this file calls it
 * at a few points, declared with what it calls here in fwd_internal.h: a
 * connection taken on the proxy's listener (fwd_proxy_accept()), the
 * client's first bytes while it is sniffed (fwd_proxy_sniff()) or when
 * that times out (fwd_proxy_refuse()), the onward connection established
 * (fwd_proxy_recverr() off) or failed (fwd_proxy_connect_failed()), the
 * sniffed bytes written (fwd_proxy_flush()), a direction followed rather
 * than relayed (fwd_proxy_follows(), fwd_proxy_read()), an early decision
 * still uncounted at close (fwd_proxy_count()) and a live policy change
 * (fwd_proxy_policy_update()). Every function and type there is named
 * fwd_proxy_*, none here is.
 *
 * Published ports stay here, beside that machinery: they are its plain use
 * (a listener, a connect into the sandbox, nothing to judge but the peer's
 * address) and share its setup and teardown (fwd_init(), fwd_close()).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "err.h"
#include "fwd_internal.h"

/* #syscalls:worker pipe2 fcntl ioctl close accept4 socket setsockopt connect
 * #syscalls:worker epoll_ctl recvfrom recvmsg splice write sendto shutdown */

/**
 * fwd_sockaddr() - build a socket address from a prefix and a port
 * @p:		address (family and bytes)
 * @port:	port, host order
 * @sa:		filled in
 *
 * Return: the address length
 */
socklen_t fwd_sockaddr(const struct prefix *p, uint16_t port,
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
uint64_t fwd_ref(enum sv_ref_type type, unsigned idx, unsigned side, int fd)
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
 *		scale is chosen at the handshake); an accepted socket
 *		inherits its listener's (sk_clone: the sizes and the lock
 *		that stops their autotuning)
 *
 * Fixed buffers: the kernel stops autotuning them, and what a peer that
 * never reads, or a writer it cannot keep up with, makes the host hold in
 * this socket stays within twice FWD_SOCK_BUF each way (FWD_CONN_MEM_MAX).
 */
void fwd_tcp_bufs(int fd)
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
	if (type == SOCK_STREAM) {
		/* inherited by every accepted socket */
		fwd_tcp_bufs(fd);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
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

/**
 * fwd_pipe_get() - a pipe for one direction of a connection
 * @f:		forwarder
 * @p:		set to the pipe's ends
 *
 * Return: 0, or -1 with errno set
 */
int fwd_pipe_get(struct fwd *f, int p[2])
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
 * fwd_reset() - make the close of a socket send a reset
 * @fd:		socket
 */
void fwd_reset(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/**
 * fwd_tcp_close() - end a relayed connection and free its slot
 * @f:		forwarder
 * @t:		connection
 */
void fwd_tcp_close(struct fwd *f, struct fwd_tcp *t)
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
	intercept_body_scan_free(t->scan);
	free(t->held);
	memset(t, 0, sizeof(*t));
}

/**
 * fwd_tcp_want() - the events one side of a connection waits for now
 * @t:		connection
 * @k:		side (0: the peer or proxied client, 1: the sandbox or
 *		destination)
 *
 * A side is read while its outgoing pipe has room and it has not sent its
 * FIN; it is written (EPOLLOUT) while the pipe towards it holds bytes, or,
 * for the sandbox side, until the connection completes. Until then, and
 * while a proxied client's sniffed bytes are not written yet, the client's
 * side is not read: it keeps the events it had until it has one
 * (@t->stirred), then is asked for none.
 *
 * Return: epoll events
 */
uint32_t fwd_tcp_want(const struct fwd_tcp *t, int k)
{
	const struct fwd_dir *out = &t->dir[k], *in = &t->dir[!k];
	uint32_t ev = 0;

	if (t->sniffing && t->early && k == 1) {
		/* the destination may speak first */
		if (!t->connected)
			ev = EPOLLOUT;
		else if (!out->eof && out->queued < FWD_PIPE_SIZE)
			ev = EPOLLIN | EPOLLRDHUP;
	} else if (t->sniffing) {
		ev = EPOLLIN | EPOLLRDHUP;
		if (t->early && in->queued)
			ev |= EPOLLOUT;
	} else if (!t->connected || t->buf) {
		/* the client's bytes wait (the destination takes the
		 * sniffed ones first), but a client that waits for an
		 * answer, as most do, keeps what it had until it
		 * stirs: two EPOLL_CTL_MODs fewer per connection */
		if (k == 1)
			ev = EPOLLOUT;
		else
			ev = t->stirred ? 0 : t->events[0];
	} else {
		/* a proxied HTTP client's next head waits for the
		 * pipe to drain (fwd_proxy_req_read()) */
		bool held = k == 0 && t->http && t->req_done && out->queued;

		if (!out->eof && out->queued < FWD_PIPE_SIZE && !held)
			ev |= EPOLLIN | EPOLLRDHUP;
		if (in->queued)
			ev |= EPOLLOUT;
	}
	return ev;
}

/**
 * fwd_tcp_events() - register the events a connection waits for now
 * @f:		forwarder
 * @t:		connection
 * @idx:	its slot
 *
 * Those of fwd_tcp_want(); a change is made only when they differ from
 * those registered (@t->events).
 */
void fwd_tcp_events(struct fwd *f, struct fwd_tcp *t, unsigned idx)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { 0 };

		if (t->fd[k] < 0)
			continue;
		ev.events = fwd_tcp_want(t, k);
		if (t->hup[k])
			continue;	/* out of epoll: see fwd_tcp_event() */
		if (ev.events == t->events[k])
			continue;
		ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, k, t->fd[k]);
		epoll_ctl(f->epfd, EPOLL_CTL_MOD, t->fd[k], &ev);
		t->events[k] = ev.events;
	}
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
struct fwd_tcp *fwd_slot(struct fwd *f, unsigned *idx)
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
	/* @fd has TCP_NODELAY and its buffers' bound from the listener */
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
		/* what fwd_tcp_events() asks for until the connect ends */
		struct epoll_event ev = { .events = k == 1 ? EPOLLOUT : 0 };

		ev.data.u64 = fwd_ref(SV_REF_TCP_FLOW, idx, k, t->fd[k]);
		epoll_ctl(f->epfd, EPOLL_CTL_ADD, t->fd[k], &ev);
		t->events[k] = ev.events;
	}
	f->stats.accepted++;
	fwd_tcp_events(f, t, idx);
}

/**
 * fwd_copy() - move a direction's bytes through a buffer of the worker's
 * @from:	source socket
 * @to:		destination socket
 * @d:		the direction's state, its pipe empty
 * @count:	incremented by the bytes delivered to @to
 *
 * Most connections a proxy sees carry a few small messages each way (a
 * TLS handshake's records, a request, a short response), and for those a
 * recv(2) and a send(2) cost the kernel less than a splice(2) into the
 * pipe and another out of it (for small reads the first copies into a
 * page of its own anyway). What @to does not take at once goes into the
 * pipe, where fwd_pump() splices it on: the pipe is empty, so the order
 * of the bytes holds, and what it holds stays within FWD_PIPE_SIZE. A
 * read that fills the buffer marks the direction @bulk: it splices from
 * then on, as a large transfer is moved best.
 *
 * Return: bytes read, 0 for "ended", -1 with errno set
 */
static ssize_t fwd_copy(int from, int to, struct fwd_dir *d, uint64_t *count)
{
	uint8_t b[FWD_COPY_MAX];
	ssize_t n, w;

	n = recv(from, b, sizeof(b), 0);
	if (n <= 0)
		return n;
	if (n == (ssize_t)sizeof(b))
		d->bulk = true;
	w = send(to, b, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (w < 0)
		w = 0;
	*count += (uint64_t)w;
	if (w < n) {
		if (write(d->pipe[1], b + w, (size_t)(n - w)) != n - w) {
			errno = EIO;
			return -1;
		}
		d->queued = (size_t)(n - w);
	}
	return n;
}

/**
 * fwd_pump() - move bytes along one direction as far as they go
 * @from:	source socket
 * @to:		destination socket
 * @d:		the direction's state
 * @back:	the other direction's (once both are shut, the caller
 *		closes the connection)
 * @count:	incremented by the bytes delivered to @to
 * @f:		forwarder
 * @req:	for a proxied HTTP client's direction, its connection (every
 *		request is judged); for both directions of a followed TLS
 *		connection, its connection: read by fwd_proxy_read() while
 *		it is followed; else NULL
 * @tail:	for a proxied HTTP destination's direction, its connection:
 *		a 403 it holds for a refused request is sent before the
 *		client's side is shut; else NULL
 *
 * A copied direction (fwd_copy()) stops reading at a short read, unless
 * the source's FIN has come. A spliced one goes on until it fails with
 * EAGAIN: a splice(2) that moved
 * less than asked is not taken as the end, since on a busy transfer more
 * has come in meanwhile (stopping there was tried: smaller batches, more
 * rounds of epoll, more CPU per byte relayed).
 *
 * Return: 0, or -1 if the connection must be closed (error or reset)
 */
static int fwd_pump(struct fwd *f, int from, int to, struct fwd_dir *d,
		    const struct fwd_dir *back, uint64_t *count,
		    struct fwd_tcp *req, struct fwd_tcp *tail)
{
	bool drained = false;

	for (;;) {
		bool progress = false;
		bool follow = req && fwd_proxy_follows(req, from);
		ssize_t n;

		if (!d->eof && !drained && !d->queued && !d->bulk && !follow) {
			n = fwd_copy(from, to, d, count);
			if (n == 0) {
				d->eof = true;
			} else if (n > 0) {
				progress = true;
				/* a short read emptied the socket: the next
				 * bytes raise an event (level-triggered), a
				 * FIN already seen is read at once */
				drained = n < FWD_COPY_MAX && !d->fin;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		} else if (!d->eof && !drained && d->queued < FWD_PIPE_SIZE) {
			if (follow)
				n = fwd_proxy_read(f, from, d, req);
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
		bool deny = tail && tail->deny;

		if (deny && send(to, tail->deny, tail->deny_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT) !=
			    (ssize_t)tail->deny_len)
			fwd_reset(to);
		/* with the other direction shut too, the caller closes both
		 * sockets now, and the close sends the FIN: @to's own FIN
		 * was read, so nothing unread is left to turn it into a
		 * reset */
		if (deny || !back->shut)
			shutdown(to, SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/**
 * fwd_connect_failed() - give up a connection whose destination did not
 * answer: counted, the client refused if it was proxied
 * @f:		forwarder
 * @t:		connection (closed here)
 *
 * A published port's is counted connect_failed; a proxied one is the
 * proxy's to refuse and count (fwd_proxy_connect_failed()).
 */
static void fwd_connect_failed(struct fwd *f, struct fwd_tcp *t)
{
	if (t->proxied) {
		fwd_proxy_connect_failed(f, t);
		return;
	}
	f->stats.connect_failed++;
	fwd_tcp_close(f, t);
}

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
	bool polled, move[2];

	if (ref.idx >= 2 * f->max)
		return;
	t = &f->tcp[ref.idx];
	if (!t->used || t->fd[ref.side] != ref.fd)
		return;
	t->last = time(NULL);
	/* a side out of epoll, or one that hangs up or sends its FIN now:
	 * every event moves both directions (below) */
	polled = !t->hup[0] && !t->hup[1] &&
		 !(events & (EPOLLHUP | EPOLLRDHUP));
	if (events & (EPOLLHUP | EPOLLRDHUP))
		t->dir[ref.side].fin = true;
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
			t->stirred = true;
			fwd_tcp_events(f, t, ref.idx);
			return;
		}
		if (getsockopt(t->fd[1], SOL_SOCKET, SO_ERROR, &err, &sl) || err) {
			fwd_connect_failed(f, t);
			return;
		}
		t->connected = true;
		if (t->proxied)
			fwd_proxy_recverr(t->fd[1], t->dst.family, false);
	} else if (events & EPOLLERR) {
		fwd_tcp_close(f, t);
		return;
	}
	if (t->sniffing) {
		/* early, the client has not spoken yet: only the destination's
		 * bytes move */
		if (fwd_pump(f, t->fd[1], t->fd[0], &t->dir[1], &t->dir[0],
			     &f->pstats.bytes_in, NULL, NULL)) {
			fwd_tcp_close(f, t);
			return;
		}
		fwd_tcp_events(f, t, ref.idx);
		return;
	}
	if (t->buf) {
		/* proxied: the first bytes go to the destination first */
		int r = fwd_proxy_flush(f, t);

		if (ref.side == 0)
			t->stirred = true;

		if (r < 0) {
			fwd_tcp_close(f, t);
			return;
		}
		if (r > 0) {
			fwd_tcp_events(f, t, ref.idx);
			return;
		}
	}

	/* The directions this event can move: what its side sends, and
	 * what waits to be written to it (dir[k] goes from fd[k]). Each
	 * other one is moved by an event of its own (level-triggered, asked
	 * for by fwd_tcp_events()), so a call that could only fail with
	 * EAGAIN is not made. Both, as ever, when a side is out of epoll
	 * (its last bytes are read whenever the other side makes progress)
	 * or sends its FIN, and while a TLS connection is followed: the
	 * server's hello read on one direction lets the client's held
	 * records go on the other.
	 */
	move[ref.side] = !polled || t->tls ||
			 (events & (EPOLLIN | EPOLLERR));
	move[!ref.side] = !polled || t->tls || (events & EPOLLOUT);
	in = t->proxied ? &f->pstats.bytes_out : &f->stats.bytes_in;
	out = t->proxied ? &f->pstats.bytes_in : &f->stats.bytes_out;
	if ((move[0] && fwd_pump(f, t->fd[0], t->fd[1], &t->dir[0],
				 &t->dir[1], in,
				 t->http || t->tls ? t : NULL, NULL)) ||
	    (move[1] && fwd_pump(f, t->fd[1], t->fd[0], &t->dir[1],
				 &t->dir[0], out,
				 t->tls ? t : NULL, t->http ? t : NULL))) {
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
	 * the pump above whenever the other side makes progress (while a
	 * side is out of epoll, every event pumps both directions).
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
	case SV_REF_ICPT:
		intercept_event(f->ic, ref.idx, ref.side, ref.fd, events);
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
	intercept_timer(f->ic, now);
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
	return n + intercept_active(f->ic);
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
 * allowed sources is taken again. The proxy's connections are judged
 * again by fwd_proxy_policy_update().
 *
 * Return: number of connections cut
 */
size_t fwd_policy_update(struct fwd *f, const struct policy *p,
			 bool (*keep)(const struct prefix *dst, uint16_t port,
				      void *arg),
			 void *arg)
{
	f->allow_from = p->allow_from;
	f->nallow_from = p->nallow_from;
	return fwd_proxy_policy_update(f, keep, arg);
}

/**
 * fwd_stats() - counters of the forwarder as JSON
 * @f:		forwarder (only its counters and @max are read)
 * @active:	connections open (fwd_active(), in the worker)
 *
 * Return: new JSON object
 */
json_t *fwd_stats(const struct fwd *f, size_t active)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "active", (json_int_t)active,
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

	intercept_close(f->ic);
	f->ic = NULL;
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
