/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * fwd.h - the relays: published ports (host listeners relayed into the
 * sandbox) and the transparent proxy's connections
 */
#ifndef MOAT_FWD_H
#define MOAT_FWD_H

#include <time.h>
#include <jansson.h>

#include "dns.h"
#include "intercept.h"
#include "log.h"
#include "policy.h"
#include "proxy.h"
#include "state.h"
#include "supervisor.h"

#define FWD_PIPE_SIZE		(1 << 16)	/* per direction of a relay */
#define FWD_SOCK_BUF		(1 << 17)	/* SO_SNDBUF, SO_RCVBUF requested */
/* what one relayed TCP connection can make the host hold at most: both
 * sockets' send and receive buffers (the kernel doubles the value asked
 * for, for its overhead, and charges against that) and both pipes */
#define FWD_CONN_MEM_MAX	(4 * 2 * FWD_SOCK_BUF + 2 * FWD_PIPE_SIZE)
#define FWD_PIPE_POOL		32	/* empty pipes kept for new connections */
/* a direction's reads are copied, not spliced, until one fills this */
#define FWD_COPY_MAX		16384
/* fwd_copy() puts what send() did not take into an empty pipe */
_Static_assert(FWD_COPY_MAX <= FWD_PIPE_SIZE, "a copied read must fit the pipe");
#define FWD_CONNECT_TIMEOUT	10	/* seconds */
#define FWD_UDP_IDLE		60	/* seconds */
#define FWD_SNIFF_TIMEOUT	10	/* seconds for a full ClientHello/head */
#define FWD_PROXY_IDLE		600	/* seconds without a byte either way */
#define FWD_SNIFF_MAX		16384	/* first bytes kept per connection */
#define FWD_HOLD_MAX		1024	/* body bytes kept back (@held) */

/**
 * struct fwd_listener - one published port
 * @spec:	what the policy says
 * @fd:		listening (TCP) or bound (UDP) socket in the host namespace
 */
struct fwd_listener {
	struct publish spec;
	int fd;
};

/**
 * struct fwd_dir - one direction of a TCP relay
 * @pipe:	pipe the bytes pass through (splice, no copy to userspace)
 * @queued:	bytes in the pipe
 * @eof:	the source has shut its write side
 * @shut:	the destination's write side has been shut
 * @bulk:	a read filled FWD_COPY_MAX: the direction splices from now on
 *		(fwd_pump())
 * @fin:	epoll reported the source's FIN (EPOLLRDHUP) or hang-up:
 *		read on to the end
 */
struct fwd_dir {
	int pipe[2];
	size_t queued;
	bool eof;
	bool shut;
	bool bulk;
	bool fin;
};

struct fwd_proxy_tls;	/* a followed TLS connection: fwd_proxy.c's own */

/**
 * struct fwd_tcp - a relayed TCP connection
 * @used:	slot in use
 * @fd:		[0] the accepted peer, [1] the connection into the sandbox
 * @dir:	[0] peer to sandbox, [1] sandbox to peer
 * @connected:	the connection into the sandbox is established
 * @since:	when the connection was accepted
 * @events:	epoll events currently registered for fd[0] and fd[1]
 * @hup:	fd[k] hung up and was taken out of epoll
 * @stirred:	fd[0] had an event while its bytes had to wait (connect or
 *		sniffed bytes not written yet): it is asked for nothing until
 *		they may move (fwd_tcp_events())
 * @proxied:	a connection redirected to the transparent proxy (fd[0] is
 *		the sandbox's client, fd[1] the original destination)
 * @sniffing:	proxied, still reading the ClientHello or request head
 * @http:	proxied HTTP: every request's Host is checked
 * @req_done:	proxied HTTP: the current request has been forwarded whole
 * @upgrade:	proxied HTTP: the current request asks for an upgrade; no
 *		request is read after it
 * @early:	proxied to a port other than 80/443: connected on its
 *		destination alone before the client's first bytes are judged
 *		(the server may speak first, proxy_decide_addr())
 * @pending:	@early_r is not counted yet (counted when the connection
 *		closes unless a decision on its first bytes replaces it)
 * @early_r:	the destination's decision of an @early connection
 * @dst:	proxied: original destination
 * @dport:	proxied: its port
 * @body:	proxied HTTP: the current request's body being followed
 * @scan:	proxied HTTP of a sandbox with secrets: its bodies' search
 *		for placeholders (intercept_body_scan()), NULL until a body
 * @held:	the body's last bytes kept back while @scan cannot tell
 *		whether they start a placeholder (FWD_HOLD_MAX)
 * @held_len:	bytes in @held
 * @held_from:	the body's framing state before them
 * @hbuf:	proxied HTTP: the next request's head being read
 *		(FWD_SNIFF_MAX), allocated when a request ends; proxied
 *		TLS: the client's bytes after its first ClientHello not
 *		passed on yet
 * @hlen:	bytes in @hbuf
 * @tls:	proxied TLS: followed after the first ClientHello until no
 *		other can count (fwd_proxy_tls_read()), then NULL
 * @deny:	proxied HTTP: the 403 for a refused later request, sent
 *		after the destination's last response, NULL if none
 * @deny_len:	its length
 * @buf:	proxied: first bytes read (FWD_SNIFF_MAX), then written to
 *		the destination once connected; NULL once written
 * @blen:	bytes in @buf
 * @sent:	bytes of @buf written
 * @last:	time of the last progress (idle timeout)
 */
struct fwd_tcp {
	bool used;
	int fd[2];
	struct fwd_dir dir[2];
	bool connected;
	time_t since;
	uint32_t events[2];
	bool hup[2];
	bool stirred;
	bool proxied;
	bool sniffing;
	bool http;
	bool req_done;
	bool upgrade;
	bool early;
	bool pending;
	enum proxy_reason early_r;
	struct prefix dst;
	uint16_t dport;
	struct http_body body;
	struct h1 *scan;
	uint8_t *held;
	size_t held_len;
	struct http_body held_from;
	uint8_t *hbuf;
	size_t hlen;
	struct fwd_proxy_tls *tls;
	char *deny;
	size_t deny_len;
	uint8_t *buf;
	size_t blen;
	size_t sent;
	time_t last;
};

/**
 * struct fwd_udp - a UDP peer of a published port
 * @used:	slot in use
 * @fd:		socket connected to the sandbox port
 * @lst:	index of the listener the peer wrote to
 * @peer:	the peer's address
 * @peerlen:	its length
 * @last:	time of the last datagram either way
 */
struct fwd_udp {
	bool used;
	int fd;
	unsigned lst;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	time_t last;
};

/**
 * struct fwd - the forwarder of one supervisor
 * @epfd:	the supervisor's epoll instance
 * @dst4:	sandbox IPv4 address
 * @dst6:	sandbox IPv6 address (family 0 if none)
 * @lst:	listeners
 * @nlst:	number of listeners
 * @tcp:	bounded table of TCP relays: 2 * @max slots, the first @max
 *		for published ports, the others for the proxy (fwd_slot())
 * @udp:	bounded table of UDP peers (@max)
 * @max:	limits.connections: the slots of each budget
 * @allow_from:	sources allowed on non-loopback binds (empty: any)
 * @nallow_from: number of sources
 * @pool4:	IPv4 sandbox pool: its peers are refused on published ports
 * @pool6:	IPv6 sandbox pool
 * @stats:	counters
 * @plst:	proxy listeners on the gateway addresses, -1 if none
 * @pool:	empty pipes of closed connections, reused by new ones (each
 *		connection needs two: pipe2() and F_SETPIPE_SZ cost more
 *		than a check that a pipe is empty)
 * @npool:	pipes in @pool
 * @pp:		proxy decision context
 * @dns:	the supervisor's DNS interceptor (pins), NULL if none
 * @log:	the sandbox's log, for the proxy's decisions, or NULL
 * @pc:		proxy decisions by reason
 * @pstats:	proxy byte counters
 * @unprivileged: the worker was seen without root (fwd_proxy_connect())
 * @ic:		TLS interception of the names the policy lists
 *		(intercept.c), NULL if none
 * @icc:	its counters
 */
struct fwd {
	int epfd;
	struct prefix dst4;
	struct prefix dst6;
	struct fwd_listener *lst;
	size_t nlst;
	struct fwd_tcp *tcp;
	struct fwd_udp *udp;
	size_t max;
	const struct prefix *allow_from;
	size_t nallow_from;
	struct prefix pool4;
	struct prefix pool6;
	struct {
		uint64_t accepted;
		uint64_t refused_source;
		uint64_t refused_limit;
		uint64_t connect_failed;
		uint64_t bytes_in;
		uint64_t bytes_out;
		uint64_t udp_datagrams;
	} stats;
	int plst[2];
	int pool[FWD_PIPE_POOL][2];
	unsigned npool;
	struct proxy_policy pp;
	const struct dns *dns;
	struct log *log;
	struct proxy_counters pc;
	struct {
		uint64_t accepted;
		uint64_t bytes_out;
		uint64_t bytes_in;
	} pstats;
	bool unprivileged;
	struct icpt *ic;
	struct icpt_counters icc;
};

int fwd_init(struct fwd *f, int epfd, const struct policy *p,
	     const struct sb_state *s, const struct prefix *pool4,
	     const struct prefix *pool6, char **err);
int fwd_proxy_init(struct fwd *f, const struct policy *p,
		   const struct sb_state *s, const struct prefix *pool4,
		   const struct prefix *pool6, const struct dns *dns,
		   struct log *log, char **err);
json_t *fwd_proxy_stats(const struct fwd *f);
void fwd_event(struct fwd *f, union sv_ref ref, uint32_t events);
void fwd_timer(struct fwd *f, time_t now);
json_t *fwd_stats(const struct fwd *f, size_t active);
void fwd_proxy_close(struct fwd *f);
size_t fwd_active(const struct fwd *f);
size_t fwd_policy_update(struct fwd *f, const struct policy *p,
			 bool (*keep)(const struct prefix *dst, uint16_t port,
				      void *arg),
			 void *arg);
void fwd_close(struct fwd *f);

#endif /* MOAT_FWD_H */
