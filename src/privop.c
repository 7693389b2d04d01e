// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * privop.c - the fixed request set between a sandbox's core and its worker
 *
 * Theory of operation
 * -------------------
 * A sandbox's services run in two processes: the core, privileged, which
 * owns moat's nftables state for the sandbox, and the worker, which parses
 * everything the sandbox and the network send (DNS, TLS, HTTP) with no
 * privilege at all (isolate.c). The worker needs the core for two things
 * only: pinning the addresses a DNS answer released into the sets of the
 * domain allow rules that name it (nfnetlink checks CAP_NET_ADMIN on the
 * task that sends each message, so pinning cannot be handed over as a
 * descriptor), and writing records into the sandbox's log. This file is
 * that interface, small and fixed, in the spirit of bubblewrap's
 * privileged operations.
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socket pair (privop_pair()), made by
 * the core before it forks the worker. One message is one datagram: no
 * framing to get wrong, no partial reads, and the kernel keeps message
 * boundaries. Every message starts with struct privop_hdr (type, entry
 * count @n, sequence number) and has a fixed layout, its size given by
 * its type and @n alone (privop_len()); the structs are checked at build
 * time (static_assert) so that no compiler padding changes the wire.
 *
 *   worker -> core   PRIVOP_PIN_ADD   1..NFT_PIN_BATCH_MAX struct privop_pin
 *                    PRIVOP_PIN_DEL   the same, timeout ignored
 *                    PRIVOP_LOG       one record, 1..LOG_RECORD_MAX bytes
 *   either way       PRIVOP_REPLY     the status of a request, its seq
 *                    PRIVOP_PINS_SYNC the live pins (timeout: seconds left)
 *                    PRIVOP_POLICY    a policy's length; its text is in a
 *                                     memfd passed with SCM_RIGHTS, sealed
 *                                     (privop_policy_memfd()) and read by
 *                                     the worker from offset 0
 *                                     (privop_policy_read()); answered
 *                                     PRIVOP_REPLY (proxied connections
 *                                     the new policy cut)
 *                    PRIVOP_STATUS    refresh the gauges of the region the
 *                                     two share (worker.c); PRIVOP_REPLY
 *                    PRIVOP_PROXY     open (1) or close (0) the proxy's
 *                                     listeners, for a live policy change
 *                                     that starts it; PRIVOP_REPLY
 *                    PRIVOP_PEERS     0..PRIVOP_PEERS_MAX struct
 *                                     privop_peer: the sandboxes this one
 *                                     has a live link to (sblink.c), whose
 *                                     names the DNS interceptor answers;
 *                                     PRIVOP_REPLY. Each entry well formed
 *                                     on its own: a sandbox name, the rest
 *                                     of its field, the padding and an
 *                                     absent IPv6 address zero
 *
 * Receiving (privop_recv()) reads one datagram into a buffer of exactly
 * PRIVOP_MSG_MAX bytes, with MSG_CMSG_CLOEXEC; it refuses (-EINVAL, with
 * a static reason) a datagram the kernel truncated (MSG_TRUNC, or
 * MSG_CTRUNC for its control data), a type the receiving side does not
 * accept, a size that is not exactly the one its type and count give, a
 * count over its bound, and descriptors anywhere but beside a
 * PRIVOP_POLICY (every descriptor received with a refused message is
 * closed at once). A pin entry must be well formed on its own: a known
 * family, an IPv4 address with its other twelve bytes zero, a name of
 * 1..POLICY_DOMAIN_MAX bytes without NUL and with the rest of its field
 * zero. The caller counts each refusal; nothing of a refused message is
 * used.
 *
 * What the core then checks against its own copy of the policy
 * (privop_check_pins()), for every entry of a pin request, all or none:
 *
 *   - the rule index is in range, and the rule is an allow rule with a
 *     domain pattern;
 *   - the name is a valid host name already in normal form (the form
 *     policy.c gives rule names: lower case, no trailing dot, IDN labels
 *     as valid punycode: privop_name_ok()), it matches the rule's pattern
 *     (names_match(), the matcher of the DNS interceptor and the
 *     proxy), and no deny rule before it matches the name (the
 *     interceptor pins for the matching allow rules up to the first
 *     deny, never past it);
 *   - the family is IPv4, or IPv6 when the sandbox has IPv6;
 *   - for PRIVOP_PIN_ADD, the timeout is 1..the policy's TTL bound
 *     (privop_ttl_bound(): dns.ttl.max, and never under one second, as
 *     the interceptor's own pins: nftables reads 0 as "never expires"),
 *     and the address is one a pin may open: never loopback, multicast or
 *     unspecified, and with dns.rebind_protection on, public unless an
 *     address rule of the policy allows it (what the interceptor itself
 *     lets through). A deletion can only close, so its address is not
 *     judged: a pin an update made unacceptable can still be removed.
 *
 * So a worker that runs an attacker's code can at most pin an address it
 * chooses, for one of its own sandbox's domain allow rules and a name that
 * rule allows, for at most the TTL bound; and write bounded lines into its
 * own sandbox's log (privop_check_log(): one JSON object per line, no
 * control byte, so it can neither split a record nor forge a second one).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "dns.h"
#include "names.h"
#include "privop.h"

#define PRIVOP_FDS_MAX	4	/* descriptors one receive can take (and close) */

/**
 * privop_pair() - the core's and the worker's ends of a new channel
 * @sv:		set to the two descriptors (close-on-exec, blocking)
 *
 * Return: 0, or -errno
 */
int privop_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	return 0;
}

/**
 * privop_body_len() - size of a message's body, from its type and count
 * @type:	enum privop_type
 * @n:		entry count
 *
 * Return: bytes after the header, or SIZE_MAX for an unknown type
 */
static size_t privop_body_len(unsigned type, unsigned n)
{
	switch (type) {
	case PRIVOP_PIN_ADD:
	case PRIVOP_PIN_DEL:
	case PRIVOP_PINS_SYNC:
		return (size_t)n * sizeof(struct privop_pin);
	case PRIVOP_LOG:
		return n;
	case PRIVOP_REPLY:
		return sizeof(struct privop_reply);
	case PRIVOP_POLICY:
		return sizeof(struct privop_policy);
	case PRIVOP_STATUS:
		return 0;
	case PRIVOP_PROXY:
		return sizeof(struct privop_proxy);
	case PRIVOP_PEERS:
		return (size_t)n * sizeof(struct privop_peer);
	}
	return SIZE_MAX;
}

/**
 * privop_len() - size of a message on the wire
 * @m:		message (header filled)
 *
 * Return: bytes to send, 0 for an unknown type
 */
size_t privop_len(const struct privop_msg *m)
{
	size_t b = privop_body_len(m->hdr.type, m->hdr.n);

	if (b == SIZE_MAX)
		return 0;
	return sizeof(m->hdr) + b;
}

/**
 * privop_pin_wellformed() - whether a pin entry makes sense on its own
 * @e:		entry
 * @why:	set to a static reason if not
 *
 * Return: true if the family is known, the address has no stray bytes and
 *	   the name is 1..POLICY_DOMAIN_MAX bytes, NUL-free, zero-padded
 */
static bool privop_pin_wellformed(const struct privop_pin *e, const char **why)
{
	size_t i;

	if (e->af != AF_INET && e->af != AF_INET6) {
		*why = "unknown address family";
		return false;
	}
	for (i = e->af == AF_INET ? 4 : 16; i < sizeof(e->addr); i++) {
		if (e->addr[i]) {
			*why = "IPv4 address with stray bytes";
			return false;
		}
	}
	if (!e->namelen || e->namelen > POLICY_DOMAIN_MAX) {
		*why = "name length out of range";
		return false;
	}
	if (memchr(e->name, '\0', e->namelen)) {
		*why = "NUL in the name";
		return false;
	}
	for (i = e->namelen; i < sizeof(e->name); i++) {
		if (e->name[i]) {
			*why = "bytes after the name";
			return false;
		}
	}
	return true;
}

/**
 * privop_log_ok() - whether a record is one line of a JSON object
 * @s:		record
 * @len:	its length
 * @why:	set to a static reason if not
 *
 * Return: true if @len is 1..LOG_RECORD_MAX, @s starts with '{', ends
 *	   with '}' and holds no control byte (NUL, newline, escape...):
 *	   compact JSON has none outside strings, and escapes them inside
 */
static bool privop_log_ok(const char *s, size_t len, const char **why)
{
	size_t i;

	if (!len || len > LOG_RECORD_MAX) {
		*why = "log record length out of range";
		return false;
	}
	if (s[0] != '{' || s[len - 1] != '}') {
		*why = "log record is not a JSON object";
		return false;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20) {
			*why = "control byte in a log record";
			return false;
		}
	}
	return true;
}

/**
 * privop_peer_wellformed() - one PRIVOP_PEERS entry, on its own
 * @e:		entry
 * @why:	set to the reason when refused
 *
 * Return: true if its name is a sandbox name (1..MOAT_NAME_MAX of
 *	   [A-Za-z0-9_.-], a letter or digit first) with the rest of its
 *	   field zero, @has6 is 0 or 1, and the padding and an absent IPv6
 *	   address are zero
 */
static bool privop_peer_wellformed(const struct privop_peer *e,
				   const char **why)
{
	static const uint8_t zero[PRIVOP_PEER_NAME] = { 0 };
	size_t i;

	if (!e->namelen || e->namelen > MOAT_NAME_MAX) {
		*why = "peer name length out of range";
		return false;
	}
	for (i = 0; i < e->namelen; i++) {
		unsigned char ch = (unsigned char)e->name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') ||
		      (i && (ch == '_' || ch == '.' || ch == '-')))) {
			*why = "peer name is not a sandbox name";
			return false;
		}
	}
	if (memcmp(e->name + e->namelen, zero, PRIVOP_PEER_NAME - e->namelen) ||
	    e->pad[0] || e->pad[1] || e->has6 > 1 ||
	    (!e->has6 && memcmp(e->addr6, zero, sizeof(e->addr6)))) {
		*why = "peer entry not zero where it must be";
		return false;
	}
	return true;
}

/**
 * privop_decode() - check the structure of a received message
 * @m:		message, in a buffer of PRIVOP_MSG_MAX bytes
 * @len:	bytes received, at most PRIVOP_MSG_MAX
 * @accept:	types the receiving side takes, PRIVOP_BIT() ORed
 * @why:	set to a static reason on refusal
 *
 * Return: 0 if the type is accepted, the count within its bound, the size
 *	   exactly the one type and count give, and every entry well formed;
 *	   -EINVAL otherwise
 */
int privop_decode(const struct privop_msg *m, size_t len, unsigned accept,
		  const char **why)
{
	unsigned type, n;
	size_t i;

	if (len < sizeof(m->hdr)) {
		*why = "shorter than a header";
		return -EINVAL;
	}
	if (len > PRIVOP_MSG_MAX) {
		*why = "longer than any message";
		return -EINVAL;
	}
	type = m->hdr.type;
	n = m->hdr.n;
	if (!type || type >= PRIVOP_TYPE_END || !(accept & PRIVOP_BIT(type))) {
		*why = "unexpected message type";
		return -EINVAL;
	}
	switch (type) {
	case PRIVOP_PIN_ADD:
	case PRIVOP_PIN_DEL:
	case PRIVOP_PINS_SYNC:
		if (!n || n > NFT_PIN_BATCH_MAX) {
			*why = "pin count out of range";
			return -EINVAL;
		}
		break;
	case PRIVOP_LOG:
		if (!n || n > LOG_RECORD_MAX) {
			*why = "log record length out of range";
			return -EINVAL;
		}
		break;
	case PRIVOP_PEERS:
		if (n > PRIVOP_PEERS_MAX) {
			*why = "peer count out of range";
			return -EINVAL;
		}
		break;
	default:
		if (n) {
			*why = "count in a message without entries";
			return -EINVAL;
		}
	}
	if (len != sizeof(m->hdr) + privop_body_len(type, n)) {
		*why = "size does not match type and count";
		return -EINVAL;
	}
	switch (type) {
	case PRIVOP_PIN_ADD:
	case PRIVOP_PIN_DEL:
	case PRIVOP_PINS_SYNC:
		for (i = 0; i < n; i++)
			if (!privop_pin_wellformed(&m->pin[i], why))
				return -EINVAL;
		break;
	case PRIVOP_LOG:
		if (!privop_log_ok(m->log, n, why))
			return -EINVAL;
		break;
	case PRIVOP_POLICY:
		if (!m->policy.len || m->policy.len > POLICY_FILE_MAX) {
			*why = "policy length out of range";
			return -EINVAL;
		}
		break;
	case PRIVOP_PROXY:
		if (m->proxy.open != 0 && m->proxy.open != 1) {
			*why = "proxy request neither open nor close";
			return -EINVAL;
		}
		break;
	case PRIVOP_PEERS:
		for (i = 0; i < n; i++)
			if (!privop_peer_wellformed(&m->peer[i], why))
				return -EINVAL;
		break;
	}
	return 0;
}

/* #syscalls:worker sendmsg */
/**
 * privop_send() - send one message
 * @fd:		channel
 * @m:		message (privop_init() and the encoders)
 * @pass_fd:	descriptor to pass beside a PRIVOP_POLICY, else -1
 *
 * The message is checked as its receiver will check it: a malformed one
 * is never sent. Blocks, or not, as @fd does.
 *
 * Return: 0, or -errno (-EINVAL for a malformed message, -EAGAIN when a
 *	   non-blocking channel is full)
 */
int privop_send(int fd, const struct privop_msg *m, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = privop_len(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const char *why;
	ssize_t n;

	if (privop_decode(m, iov.iov_len, PRIVOP_FROM_WORKER | PRIVOP_FROM_CORE,
			  &why) ||
	    (pass_fd >= 0) != (m->hdr.type == PRIVOP_POLICY))
		return -EINVAL;
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EMSGSIZE;
}

/**
 * privop_recv_fds() - take the descriptors out of a received control block
 * @mh:		the message header recvmsg() filled
 * @fds:	set to the descriptors, PRIVOP_FDS_MAX at most
 * @nfds:	set to their number
 *
 * Return: true if the control block held nothing but SCM_RIGHTS
 */
static bool privop_recv_fds(struct msghdr *mh, int *fds, size_t *nfds)
{
	struct cmsghdr *c;
	bool ok = true;

	*nfds = 0;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			ok = false;
			continue;
		}
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt && *nfds < PRIVOP_FDS_MAX; k++)
			memcpy(&fds[(*nfds)++], CMSG_DATA(c) + k * sizeof(int),
			       sizeof(int));
	}
	return ok;
}

/* #syscalls:worker recvmsg close */
/**
 * privop_recv() - receive and check one message
 * @fd:		channel
 * @m:		buffer for the message
 * @accept:	types this side takes (PRIVOP_FROM_WORKER in the core,
 *		PRIVOP_FROM_CORE in the worker)
 * @passed_fd:	set to the descriptor beside a PRIVOP_POLICY (close-on-exec,
 *		the caller's to close), else -1; may be NULL if @accept has no
 *		PRIVOP_POLICY
 * @why:	set to a static reason when the message is refused
 *
 * A refused message is consumed whole, and every descriptor that came
 * with it closed.
 *
 * Return: the message's size; 0 when the peer closed the channel (or sent
 *	   an empty datagram: either way it is done); -EINVAL for a refused
 *	   message; another -errno (-EAGAIN on a non-blocking channel with
 *	   nothing to read)
 */
int privop_recv(int fd, struct privop_msg *m, unsigned accept, int *passed_fd,
		const char **why)
{
	union {
		char buf[CMSG_SPACE(PRIVOP_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int fds[PRIVOP_FDS_MAX];
	size_t nfds, i;
	bool cm_ok;
	ssize_t n;
	int ret;

	if (passed_fd)
		*passed_fd = -1;
	*why = NULL;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	cm_ok = privop_recv_fds(&mh, fds, &nfds);
	if (n == 0 && !nfds)
		return 0;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		*why = "message truncated";
		ret = -EINVAL;
	} else if (!cm_ok) {
		*why = "unexpected control data";
		ret = -EINVAL;
	} else {
		ret = privop_decode(m, (size_t)n, accept, why);
	}
	if (!ret && (nfds != (m->hdr.type == PRIVOP_POLICY) ||
		     (nfds && !passed_fd))) {
		*why = nfds ? "unexpected descriptor" :
			      "policy without its descriptor";
		ret = -EINVAL;
	}
	if (ret) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return ret;
	}
	if (nfds)
		*passed_fd = fds[0];
	return (int)n;
}

/* ------------------------------------------------------------------------
 * Encoders
 */

/**
 * privop_init() - start a message with no entries
 * @m:		message
 * @type:	enum privop_type
 * @seq:	sequence number
 */
void privop_init(struct privop_msg *m, enum privop_type type, uint32_t seq)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.type = (uint16_t)type;
	m->hdr.seq = seq;
}

/**
 * privop_add_pin() - append a pin to a PIN_ADD, PIN_DEL or PINS_SYNC
 * @m:		message (privop_init())
 * @p:		the pin (its rule counted from 1, as nft.c counts)
 * @name:	normalised name it was answered for
 *
 * Return: 0, -ENOSPC if the message holds NFT_PIN_BATCH_MAX pins already,
 *	   -EINVAL for a pin that cannot be expressed
 */
int privop_add_pin(struct privop_msg *m, const struct nft_pin *p,
		   const char *name)
{
	size_t len = strlen(name);
	struct privop_pin *e;

	if (m->hdr.n >= NFT_PIN_BATCH_MAX)
		return -ENOSPC;
	if (!len || len > POLICY_DOMAIN_MAX || !p->rule ||
	    p->rule > (size_t)UINT16_MAX + 1 ||
	    (p->af != AF_INET && p->af != AF_INET6))
		return -EINVAL;
	e = &m->pin[m->hdr.n++];
	memset(e, 0, sizeof(*e));
	e->rule = (uint16_t)(p->rule - 1);
	e->af = (uint8_t)p->af;
	e->namelen = (uint8_t)len;
	e->timeout = p->timeout;
	memcpy(e->addr, p->addr, p->af == AF_INET ? 4 : 16);
	memcpy(e->name, name, len);
	return 0;
}

/**
 * privop_log_encode() - a PRIVOP_LOG message
 * @m:		message
 * @seq:	sequence number
 * @line:	the record: a JSON object, no newline
 * @len:	its length
 *
 * Return: 0, or -EINVAL if the core would refuse the record (too long, a
 *	   control byte, not an object)
 */
int privop_log_encode(struct privop_msg *m, uint32_t seq, const char *line,
		      size_t len)
{
	const char *why;

	if (!privop_log_ok(line, len, &why))
		return -EINVAL;
	privop_init(m, PRIVOP_LOG, seq);
	m->hdr.n = (uint16_t)len;
	memcpy(m->log, line, len);
	return 0;
}

/**
 * privop_reply_encode() - a PRIVOP_REPLY message
 * @m:		message
 * @seq:	the request's sequence number
 * @status:	0 or -errno, or for PRIVOP_POLICY the proxied connections cut
 */
void privop_reply_encode(struct privop_msg *m, uint32_t seq, int32_t status)
{
	privop_init(m, PRIVOP_REPLY, seq);
	m->reply.status = status;
}

/**
 * privop_proxy_encode() - a PRIVOP_PROXY message
 * @m:		message
 * @seq:	sequence number
 * @open:	open the proxy's listeners (else close them)
 */
void privop_proxy_encode(struct privop_msg *m, uint32_t seq, bool open)
{
	privop_init(m, PRIVOP_PROXY, seq);
	m->proxy.open = open;
}

/**
 * privop_add_peer() - append one entry to a PRIVOP_PEERS message
 * @m:		message, privop_init() with PRIVOP_PEERS
 * @name:	the linked sandbox's name
 * @addr4:	its IPv4 address
 * @addr6:	its IPv6 address, or NULL
 *
 * Return: 0, -E2BIG if the message is full, -EINVAL for a name too long
 */
int privop_add_peer(struct privop_msg *m, const char *name,
		    const uint8_t addr4[4], const uint8_t *addr6)
{
	struct privop_peer *e;
	size_t len = strlen(name);

	if (m->hdr.n >= PRIVOP_PEERS_MAX)
		return -E2BIG;
	if (!len || len > MOAT_NAME_MAX)
		return -EINVAL;
	e = &m->peer[m->hdr.n++];
	memset(e, 0, sizeof(*e));
	e->namelen = (uint8_t)len;
	memcpy(e->name, name, len);
	memcpy(e->addr4, addr4, 4);
	if (addr6) {
		e->has6 = 1;
		memcpy(e->addr6, addr6, 16);
	}
	return 0;
}

/**
 * privop_policy_encode() - a PRIVOP_POLICY message (send its memfd beside)
 * @m:		message
 * @seq:	sequence number
 * @len:	bytes of policy text in the memfd
 */
void privop_policy_encode(struct privop_msg *m, uint32_t seq, uint64_t len)
{
	privop_init(m, PRIVOP_POLICY, seq);
	m->policy.len = len;
}

/**
 * privop_pin_decode() - a well-formed pin entry as nft.c and dns.c take it
 * @e:		entry
 * @out:	set to the pin (rule counted from 1)
 * @name:	set to the name, NUL-terminated
 * @namelen:	size of @name, at least POLICY_DOMAIN_MAX + 1
 * @why:	set to a static reason on refusal
 *
 * For the worker's reading of PRIVOP_PINS_SYNC: structure only, the core
 * sent what it had checked.
 *
 * Return: 0, or -EINVAL
 */
int privop_pin_decode(const struct privop_pin *e, struct nft_pin *out,
		      char *name, size_t namelen, const char **why)
{
	if (!privop_pin_wellformed(e, why))
		return -EINVAL;
	if (namelen <= e->namelen) {
		*why = "name buffer too small";
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	out->rule = (size_t)e->rule + 1;
	out->af = e->af;
	out->timeout = e->timeout;
	memcpy(out->addr, e->addr, 16);
	memcpy(name, e->name, e->namelen);
	name[e->namelen] = '\0';
	return 0;
}

/**
 * privop_policy_memfd() - a sealed memfd holding a policy's text, for
 * PRIVOP_POLICY (the core's side)
 * @text:	policy text
 * @len:	its length, 1..POLICY_FILE_MAX
 *
 * Sealed against writing, growing and shrinking: the worker reads what
 * the core wrote.
 *
 * Return: the descriptor (close-on-exec), or -errno
 */
int privop_policy_memfd(const char *text, size_t len)
{
	int fd, ret = 0;
	size_t off = 0;
	ssize_t n;

	if (!len || len > POLICY_FILE_MAX)
		return -EINVAL;
	fd = memfd_create("moat-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!ret && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
			  F_SEAL_SHRINK | F_SEAL_SEAL))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* #syscalls:worker pread64 */
/**
 * privop_policy_read() - the text of a received PRIVOP_POLICY (the
 * worker's side)
 * @fd:		the memfd that came with it
 * @len:	its @policy.len, checked by privop_recv()
 * @out:	set to the text, NUL-terminated (the caller frees)
 *
 * Reads from offset 0 whatever the descriptor's offset is (it is shared
 * with the core's).
 *
 * Return: 0, or -errno (-EIO if the memfd holds less than @len bytes)
 */
int privop_policy_read(int fd, uint64_t len, char **out)
{
	size_t off = 0;
	ssize_t n;
	char *buf;

	*out = NULL;
	if (!len || len > POLICY_FILE_MAX)
		return -EINVAL;
	buf = xmalloc((size_t)len + 1);
	while (off < len) {
		n = pread(fd, buf + off, (size_t)len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		off += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* ------------------------------------------------------------------------
 * The core's checks
 */

/**
 * privop_ttl_bound() - the longest pin a policy allows
 * @p:		policy
 *
 * Return: dns.ttl.max, or DNS_PIN_TIMEOUT_MIN if that is less (every pin
 *	   the interceptor makes lives at least that long: dns_pin_timeout())
 */
uint32_t privop_ttl_bound(const struct policy *p)
{
	return p->ttl_max < DNS_PIN_TIMEOUT_MIN ? DNS_PIN_TIMEOUT_MIN :
						  p->ttl_max;
}

/**
 * privop_name_ok() - whether a name is a valid host name in normal form
 * @name:	NUL-terminated name
 * @why:	set to a static reason if not
 *
 * The form policy.c gives rule names (policy_normalise_domain(), no
 * wildcard): a name it would change is refused, not normalised.
 *
 * Return: 0, or -EINVAL
 */
int privop_name_ok(const char *name, const char **why)
{
	char norm[POLICY_DOMAIN_MAX + 3];

	if (names_normalise(name, norm, sizeof(norm), false, why))
		return -EINVAL;
	if (strcmp(norm, name)) {
		*why = "name not in normal form";
		return -EINVAL;
	}
	return 0;
}

/**
 * privop_addr_ok() - whether a pin may open an address
 * @p:		policy
 * @af:		AF_INET or AF_INET6
 * @addr:	address
 * @why:	set to a static reason if not
 *
 * Return: true unless the address is loopback, multicast or unspecified,
 *	   or, with rebind protection, not public and allowed by no address
 *	   rule (the interceptor's own test of an answer)
 */
static bool privop_addr_ok(const struct policy *p, int af, const uint8_t *addr,
			   const char **why)
{
	static const uint8_t zero[16], mapped0[16] = { [10] = 0xff, [11] = 0xff };
	enum addr_group g = addr_classify(af, addr, NULL, 0);
	size_t k;

	if (!memcmp(addr, zero, af == AF_INET ? 4 : 16) ||
	    (af == AF_INET6 && !memcmp(addr, mapped0, 16))) {
		*why = "unspecified address";
		return false;
	}
	if (g == GROUP_LOOPBACK || g == GROUP_MULTICAST) {
		*why = "loopback or multicast address";
		return false;
	}
	if (!p->rebind_protection || g == GROUP_PUBLIC)
		return true;
	k = policy_addr_rule(p, af, addr);
	if (k < p->nrules && p->rules[k].allow)
		return true;
	*why = "address not public (rebind protection)";
	return false;
}

/**
 * privop_check_pin() - one entry of a pin request against the policy
 * @p:		the core's policy
 * @has_v6:	the sandbox has IPv6
 * @ttl_bound:	longest timeout (privop_ttl_bound())
 * @add:	PRIVOP_PIN_ADD (else PRIVOP_PIN_DEL)
 * @e:		entry
 * @out:	set to the pin
 * @why:	set to a static reason on refusal
 *
 * Return: true if every check of the theory of operation passes
 */
static bool privop_check_pin(const struct policy *p, bool has_v6,
			     uint32_t ttl_bound, bool add,
			     const struct privop_pin *e, struct nft_pin *out,
			     const char **why)
{
	char name[POLICY_DOMAIN_MAX + 1];
	const struct rule *r;
	size_t j;

	if (privop_pin_decode(e, out, name, sizeof(name), why))
		return false;
	if (e->rule >= p->nrules) {
		*why = "rule index out of range";
		return false;
	}
	r = &p->rules[e->rule];
	if (!r->allow || r->kind != TARGET_DOMAIN) {
		*why = "not a domain allow rule";
		return false;
	}
	if (e->af == AF_INET6 && !has_v6) {
		*why = "IPv6 pin for a sandbox without IPv6";
		return false;
	}
	if (privop_name_ok(name, why))
		return false;
	if (!names_match(r->domain, name)) {
		*why = "the name does not match the rule";
		return false;
	}
	for (j = 0; j < e->rule; j++) {
		const struct rule *d = &p->rules[j];

		if (!d->allow && d->kind == TARGET_DOMAIN &&
		    names_match(d->domain, name)) {
			*why = "an earlier deny rule matches the name";
			return false;
		}
	}
	if (!add)
		return true;
	if (!e->timeout || e->timeout > ttl_bound) {
		*why = "timeout out of range";
		return false;
	}
	return privop_addr_ok(p, e->af, e->addr, why);
}

/**
 * privop_check_pins() - a worker's pin request, checked against the policy
 * @p:		the core's copy of the sandbox's policy
 * @has_v6:	the sandbox has IPv6
 * @ttl_bound:	longest timeout accepted (privop_ttl_bound() of @p)
 * @m:		a PRIVOP_PIN_ADD or PRIVOP_PIN_DEL that privop_recv() took
 * @out:	set to the pins, NFT_PIN_BATCH_MAX entries, each @name pointing
 *		into @m
 * @n:		set to their number; on refusal, to the index of the first
 *		entry refused
 * @why:	set to a static reason on refusal
 *
 * All or nothing: one entry that fails any check refuses the request.
 *
 * Return: 0, or -EINVAL
 */
int privop_check_pins(const struct policy *p, bool has_v6, uint32_t ttl_bound,
		      const struct privop_msg *m, struct nft_pin *out,
		      size_t *n, const char **why)
{
	bool add = m->hdr.type == PRIVOP_PIN_ADD;
	size_t i;

	*n = 0;
	if (!add && m->hdr.type != PRIVOP_PIN_DEL) {
		*why = "not a pin request";
		return -EINVAL;
	}
	if (!m->hdr.n || m->hdr.n > NFT_PIN_BATCH_MAX) {
		*why = "pin count out of range";
		return -EINVAL;
	}
	for (i = 0; i < m->hdr.n; i++) {
		if (!privop_check_pin(p, has_v6, ttl_bound, add, &m->pin[i],
				      &out[i], why)) {
			*n = i;
			return -EINVAL;
		}
		/* well formed: NUL-terminated within its field */
		out[i].name = m->pin[i].name;
	}
	*n = i;
	return 0;
}

/**
 * privop_check_log() - a worker's log record, checked before it is appended
 * @m:		a PRIVOP_LOG that privop_recv() took
 * @why:	set to a static reason on refusal
 *
 * Return: 0 if the record is 1..LOG_RECORD_MAX bytes of one JSON object
 *	   with no control byte (no NUL, no newline), -EINVAL otherwise
 */
int privop_check_log(const struct privop_msg *m, const char **why)
{
	if (m->hdr.type != PRIVOP_LOG) {
		*why = "not a log record";
		return -EINVAL;
	}
	return privop_log_ok(m->log, m->hdr.n, why) ? 0 : -EINVAL;
}
