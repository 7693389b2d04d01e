/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * dns.h - the per-sandbox DNS interceptor (see dns.c)
 */
#ifndef MOAT_DNS_H
#define MOAT_DNS_H

#include <netinet/in.h>
#include <jansson.h>

#include "log.h"
#include "nft.h"
#include "policy.h"
#include "state.h"
#include "supervisor.h"

#define DNS_Q_MAX		256	/* outstanding upstream queries */
#define DNS_TCP_MAX		32	/* client TCP connections */
#define DNS_PIN_MAX		4096	/* pins per sandbox (MOAT_DNS_PINS lowers) */
#define DNS_PIN_TIMEOUT_MIN	1	/* seconds: a pin always expires */
#define DNS_PIN_HASH		4096	/* buckets of the pins' address index */
#define DNS_UP_MAX		POLICY_UPSTREAM_MAX
#define DNS_UP_TIMEOUT		2	/* seconds per upstream attempt */
#define DNS_UP_REUSE		32	/* queries one upstream UDP socket asks */
#define DNS_UP_REUSE_MS		1000	/* ... within this long of its making */
#define DNS_TCP_IDLE		10	/* seconds */
#define DNS_MSG_MAX		65535
#define DNS_ID_BUF		64	/* query IDs drawn per getrandom(2) */
#define DNS_UDP_BATCH		16	/* client queries per recvmmsg(2) */
#define DNS_UDP_QMAX		4096	/* largest UDP query taken */
#define DNS_UP_EDNS		1232	/* EDNS UDP size asked upstream */
#define DNS_UP_EDNS_TCP		4096	/* the same for a client over TCP:
					 * as large as a datagram carries */
#define DNS_LAT_N		1024	/* pin latencies kept for dns_stats() */
#define DNS_PEERS_MAX		64	/* linked sandboxes named (PRIVOP_PEERS_MAX) */

/**
 * struct dns_q - one query forwarded upstream
 * @fd:		socket towards the upstream, -1 if none; a UDP one is kept
 *		while the slot is free (@msg NULL) for the slot's next query
 *		(dns_q_done())
 * @id:		ID we sent upstream
 * @cid:	the client's ID
 * @tcp:	the client came over TCP: @conn, @gen name the connection
 * @conn:	index into dns.tcp
 * @gen:	generation of that connection
 * @client:	UDP client address
 * @clen:	its length
 * @lfd:	UDP listener the query came in on
 * @maxlen:	largest UDP answer the client accepts
 * @up:		index of the upstream being tried
 * @tries:	upstreams tried so far
 * @deadline:	monotonic seconds when the attempt times out
 * @len:	length of @msg
 * @msg:	the query as sent upstream (kept for failover)
 * @qname:	normalised question name
 * @qtype:	question type
 * @tcpup:	ask upstream over TCP (after a truncated UDP answer to a TCP
 *		client)
 * @sent:	the query went out on the TCP connection
 * @rbuf:	TCP answer being read (2 + DNS_MSG_MAX bytes), or NULL
 * @rlen:	bytes in @rbuf
 * @fd_up:	index of the upstream @fd is connected to
 * @fd_uses:	queries sent on @fd
 * @fd_born:	monotonic microseconds when @fd was made
 * @fd_idle:	@fd is a UDP socket whose query is done: it may ask another
 */
struct dns_q {
	int fd;
	uint16_t id;
	uint16_t cid;
	bool tcp;
	unsigned conn;
	unsigned gen;
	struct sockaddr_storage client;
	socklen_t clen;
	int lfd;
	size_t maxlen;
	unsigned up;
	unsigned tries;
	time_t deadline;
	size_t len;
	uint8_t *msg;
	char qname[POLICY_DOMAIN_MAX + 2];
	uint16_t qtype;
	bool tcpup;
	bool sent;
	uint8_t *rbuf;
	size_t rlen;
	unsigned fd_up;
	unsigned fd_uses;
	long long fd_born;
	bool fd_idle;
};

/**
 * struct dns_tcp - a client TCP connection (pipelined queries)
 * @fd:		socket, -1 if free
 * @gen:	generation, bumped at each close
 * @len:	bytes in @buf
 * @buf:	input, 2 + DNS_MSG_MAX bytes, allocated while open
 * @last:	monotonic seconds of the last activity
 */
struct dns_tcp {
	int fd;
	unsigned gen;
	size_t len;
	uint8_t *buf;
	time_t last;
};

/**
 * struct dns_pinrec - a pin, remembered for dns_pinned()
 * @name:	normalised name it was answered for
 * @af:		AF_INET or AF_INET6, 0 if unused
 * @addr:	address
 * @expires:	monotonic seconds
 */
struct dns_pinrec {
	char name[POLICY_DOMAIN_MAX + 2];
	int af;
	uint8_t addr[16];
	time_t expires;
};

/* counters, see dns_stats() */
enum dns_ctr {
	DNS_C_QUERIES,
	DNS_C_FORWARDED,
	DNS_C_LOCAL,
	DNS_C_B_DENY_RULE,
	DNS_C_B_DEFAULT_DENY,
	DNS_C_B_BLOCKLIST,
	DNS_C_B_REBIND,
	DNS_C_B_INVALID,
	DNS_C_EMPTIED,
	DNS_C_PINNED,
	DNS_C_PIN_FRESH,
	DNS_C_PIN_FAILED,
	DNS_C_EVICTED,
	DNS_C_EVICT_FAILED,
	DNS_C_SERVFAIL,
	DNS_C_TIMEOUT,
	DNS_C_OVERLOAD,
	DNS_C_MALFORMED,
	DNS_C_UP_SOCKETS,
	DNS_C_COUNT,
};

/**
 * struct dns - a sandbox's DNS interceptor
 * @epfd:	the supervisor's epoll instance
 * @pol:	the sandbox's policy
 * @s:		its record
 * @log:	its log
 * @np:		pinner, in the core (dns_pinner_open())
 * @udp:	UDP listeners (gateway v4, v6), -1 if none
 * @tcpl:	TCP listeners
 * @up:		upstream resolvers
 * @nup:	their number
 * @q:		outstanding queries; only the first @nq slots were ever
 *		used (the others are zero, their pages untouched)
 * @nq:		slots of @q initialised
 * @tcp:	client TCP connections
 * @pins:	the sandbox's pins, a ring: a pin overwritten here is
 *		deleted from the kernel's sets too (dns_evict())
 * @pin_head:	index of @pins by address: first slot + 1 of each
 *		bucket's chain, 0 if empty
 * @pin_link:	next slot + 1 in a chain, 0 at its end
 * @pin_cap:	slots of @pins in use (DNS_PIN_MAX, or MOAT_DNS_PINS)
 * @lat:	microseconds from an upstream answer to its pins acknowledged
 *		by the kernel, for the last DNS_LAT_N pinned answers (a ring)
 * @nlat:	entries of @lat used
 * @lat_next:	next entry of @lat to overwrite
 * @peers:	names of the sandboxes this one has a live link to,
 *		"name.moat.internal" in lower case, one entry per address
 *		(dns_set_peers())
 * @npeers:	entries of @peers used
 * @pin_next:	next slot of @pins to overwrite
 * @npins:	slots of @pins used so far
 * @ctr:	counters
 * @pin:	in a worker: asks the core to pin (dns_pin_batch())
 * @pin_ctx:	passed to @pin
 * @uid:	the worker's UID, 0 outside a worker
 * @up_uid:	the UID of its upstream sockets (dns_up_socket())
 * @ids:	random query IDs not used yet (dns_query_id())
 * @nids:	entries of @ids left
 */
struct dns {
	int epfd;
	const struct policy *pol;
	const struct sb_state *s;
	struct log *log;
	struct nft_pinner *np;
	int (*pin)(void *ctx, const struct nft_pin *pins, size_t n, bool del);
	void *pin_ctx;
	uid_t uid;
	uid_t up_uid;
	int udp[2];
	int tcpl[2];
	struct sockaddr_storage up[DNS_UP_MAX];
	unsigned nup;
	struct dns_q q[DNS_Q_MAX];
	unsigned nq;
	struct dns_tcp tcp[DNS_TCP_MAX];
	struct dns_pinrec pins[DNS_PIN_MAX];
	uint16_t pin_head[DNS_PIN_HASH];
	uint16_t pin_link[DNS_PIN_MAX];
	size_t pin_cap;
	size_t pin_next;
	size_t npins;
	uint64_t ctr[DNS_C_COUNT];
	uint32_t lat[DNS_LAT_N];
	size_t nlat;
	size_t lat_next;
	struct dns_record peers[DNS_PEERS_MAX * 2];
	size_t npeers;
	uint16_t ids[DNS_ID_BUF];
	unsigned nids;
};

int dns_init(struct dns *d, int epfd, const struct policy *pol,
	     const struct sb_state *s, struct log *log, char **err);
void dns_init_state(struct dns *d, int epfd, const struct policy *pol,
		    const struct sb_state *s, struct log *log);
int dns_pinner_open(struct dns *d);
struct privop_msg;
void dns_set_peers(struct dns *d, const struct privop_msg *m);
int dns_pins_apply(struct dns *d, const struct nft_pin *pins, size_t n,
		   bool del);
void dns_pins_carry(struct dns *d, const struct dns *from);
bool dns_pin_rule_ok(const struct policy *p, const char *name, size_t k);
bool dns_addr_pinnable(const struct policy *p, int af, const uint8_t *addr);
void dns_close(struct dns *d);
void dns_event(struct dns *d, union sv_ref ref, uint32_t events);
void dns_timer(struct dns *d);
bool dns_busy(const struct dns *d);
uint32_t dns_pin_timeout(const struct dns *d, uint32_t ttl);
void dns_remember_pin(struct dns *d, const char *name, int af,
		      const uint8_t *addr, uint32_t ttl);
json_t *dns_stats(const struct dns *d);
size_t dns_repin(struct dns *d);
size_t dns_restore_pins(struct dns *d, struct nft_live_pin *lp, size_t n,
			size_t *unnamed);
size_t dns_pins_for(const struct dns *d, const struct policy *p,
		    struct nft_pin **out);
bool dns_pinned_rule(const struct dns *d, const struct policy *p, int af,
		     const void *addr, size_t k);
bool dns_pinned(const struct dns *d, const char *name, int af,
		const void *addr);
bool dns_pinned_for(const struct dns *d, int af, const void *addr,
		    bool (*ok)(const char *name, const void *arg),
		    const void *arg);

int dns_resolv_conf_upstreams(const char *path, struct sockaddr_storage *up,
			      unsigned max);

/* for the fuzzer: one message from the sandbox, or from upstream for the
 * first outstanding query
 */
void dns_client_msg(struct dns *d, const uint8_t *msg, size_t len,
		    int lfd, const struct sockaddr_storage *from,
		    socklen_t flen, int conn);
void dns_upstream_msg(struct dns *d, unsigned qi, const uint8_t *msg,
		      size_t len);

struct ldns_struct_pkt;
struct ldns_struct_pkt *dns_upstream_query(const struct ldns_struct_pkt *req,
					   bool tcp, uint16_t id);

#endif /* MOAT_DNS_H */
