/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * privop.h - the fixed request set between a sandbox's core and its
 * unprivileged worker (see privop.c)
 */
#ifndef MOAT_PRIVOP_H
#define MOAT_PRIVOP_H

#include <assert.h>
#include <stdint.h>
#include <stddef.h>

#include "log.h"
#include "nft.h"
#include "policy.h"

/**
 * enum privop_type - what a message is (struct privop_hdr.type)
 * @PRIVOP_PIN_ADD:	worker -> core: pin addresses for domain allow rules
 * @PRIVOP_PIN_DEL:	worker -> core: delete such pins
 * @PRIVOP_LOG:		worker -> core: one log record (no reply)
 * @PRIVOP_REPLY:	core -> worker: the status of a request, same seq
 * @PRIVOP_PINS_SYNC:	core -> worker: the live pins, after a (re)start
 * @PRIVOP_POLICY:	core -> worker: a new policy, in a memfd
 * @PRIVOP_STATUS:	core -> worker: refresh the gauges the core reads
 *			(no body)
 * @PRIVOP_PROXY:	core -> worker: open the proxy's listeners (body: 1),
 *			or close them again (0)
 * @PRIVOP_PEERS:	core -> worker: the sandboxes this one has a live link
 *			to, whose names its DNS interceptor answers (0 to
 *			PRIVOP_PEERS_MAX struct privop_peer)
 * @PRIVOP_TYPE_END:	one past the last type
 */
enum privop_type {
	PRIVOP_PIN_ADD = 1,
	PRIVOP_PIN_DEL,
	PRIVOP_LOG,
	PRIVOP_REPLY,
	PRIVOP_PINS_SYNC,
	PRIVOP_POLICY,
	PRIVOP_STATUS,
	PRIVOP_PROXY,
	PRIVOP_PEERS,
	PRIVOP_TYPE_END,
};

/* what each side accepts (privop_recv(), privop_decode()) */
#define PRIVOP_BIT(t)		(1U << (t))
#define PRIVOP_FROM_WORKER	(PRIVOP_BIT(PRIVOP_PIN_ADD) | \
				 PRIVOP_BIT(PRIVOP_PIN_DEL) | \
				 PRIVOP_BIT(PRIVOP_LOG))
#define PRIVOP_FROM_CORE	(PRIVOP_BIT(PRIVOP_REPLY) | \
				 PRIVOP_BIT(PRIVOP_PINS_SYNC) | \
				 PRIVOP_BIT(PRIVOP_POLICY) | \
				 PRIVOP_BIT(PRIVOP_STATUS) | \
				 PRIVOP_BIT(PRIVOP_PROXY) | \
				 PRIVOP_BIT(PRIVOP_PEERS))

/**
 * struct privop_hdr - the start of every message
 * @type:	enum privop_type
 * @n:		entries: pins for the pin messages, bytes for PRIVOP_LOG,
 *		0 for PRIVOP_REPLY and PRIVOP_POLICY
 * @seq:	chosen by the sender of a request, echoed by its reply
 */
struct privop_hdr {
	uint16_t type;
	uint16_t n;
	uint32_t seq;
};

#define PRIVOP_NAME_MAX		256	/* struct privop_pin.name */

/**
 * struct privop_pin - one pin, as the worker asks for it
 * @rule:	0-based index of the rule in the policy (struct nft_pin
 *		counts from 1)
 * @af:		AF_INET or AF_INET6
 * @namelen:	length of @name, 1..POLICY_DOMAIN_MAX
 * @timeout:	seconds (ignored by PRIVOP_PIN_DEL; seconds left in
 *		PRIVOP_PINS_SYNC)
 * @addr:	address, network order; for AF_INET the first 4 bytes, the
 *		others zero
 * @name:	the name the address was answered for, normalised, @namelen
 *		bytes, the rest zero
 */
struct privop_pin {
	uint16_t rule;
	uint8_t af;
	uint8_t namelen;
	uint32_t timeout;
	uint8_t addr[16];
	char name[PRIVOP_NAME_MAX];
};

/**
 * struct privop_reply - body of PRIVOP_REPLY
 * @status:	0 or -errno; for PRIVOP_POLICY, the proxied connections cut
 */
struct privop_reply {
	int32_t status;
};

/**
 * struct privop_policy - body of PRIVOP_POLICY (the memfd travels beside)
 * @len:	bytes of policy text in the memfd, from offset 0
 */
struct privop_policy {
	uint64_t len;
};

/**
 * struct privop_proxy - body of PRIVOP_PROXY
 * @open:	1 to open the listeners, 0 to close them
 */
struct privop_proxy {
	int32_t open;
};

#define PRIVOP_PEERS_MAX	64	/* SBLINK_PEERS_MAX */
#define PRIVOP_PEER_NAME	56	/* struct privop_peer.name */

/**
 * struct privop_peer - one linked sandbox, body of PRIVOP_PEERS
 * @namelen:	length of @name, 1..MOAT_NAME_MAX
 * @has6:	1 if @addr6 is set, else 0 (and @addr6 zero)
 * @pad:	zero
 * @addr4:	IPv4 address, network order
 * @addr6:	IPv6 address, network order
 * @name:	the sandbox's name (as state_name_valid() takes it), @namelen
 *		bytes, the rest zero
 */
struct privop_peer {
	uint8_t namelen;
	uint8_t has6;
	uint8_t pad[2];
	uint8_t addr4[4];
	uint8_t addr6[16];
	char name[PRIVOP_PEER_NAME];
};

/**
 * struct privop_msg - any message, as sent or received
 * @hdr:	header
 * @pin:	PRIVOP_PIN_ADD, PRIVOP_PIN_DEL, PRIVOP_PINS_SYNC: @hdr.n entries
 * @reply:	PRIVOP_REPLY
 * @policy:	PRIVOP_POLICY
 * @proxy:	PRIVOP_PROXY
 * @peer:	PRIVOP_PEERS: @hdr.n entries
 * @log:	PRIVOP_LOG: @hdr.n bytes, no terminating NUL
 */
struct privop_msg {
	struct privop_hdr hdr;
	union {
		struct privop_pin pin[NFT_PIN_BATCH_MAX];
		struct privop_reply reply;
		struct privop_policy policy;
		struct privop_proxy proxy;
		struct privop_peer peer[PRIVOP_PEERS_MAX];
		char log[LOG_RECORD_MAX];
	};
};

/* the wire layout is fixed: no padding a compiler could choose */
static_assert(sizeof(struct privop_hdr) == 8, "privop_hdr layout");
static_assert(sizeof(struct privop_pin) == 280, "privop_pin layout");
static_assert(offsetof(struct privop_pin, addr) == 8, "privop_pin layout");
static_assert(offsetof(struct privop_pin, name) == 24, "privop_pin layout");
static_assert(sizeof(struct privop_reply) == 4, "privop_reply layout");
static_assert(sizeof(struct privop_policy) == 8, "privop_policy layout");
static_assert(sizeof(struct privop_proxy) == 4, "privop_proxy layout");
static_assert(offsetof(struct privop_msg, pin) == 8, "privop_msg layout");
static_assert(sizeof(struct privop_peer) == 80, "privop_peer layout");
static_assert(offsetof(struct privop_peer, name) == 24, "privop_peer layout");
static_assert(PRIVOP_PEERS_MAX * sizeof(struct privop_peer) <=
	      NFT_PIN_BATCH_MAX * sizeof(struct privop_pin),
	      "the peers fit the largest body");
static_assert(MOAT_NAME_MAX < PRIVOP_PEER_NAME, "a name fits privop_peer");
static_assert(NFT_PIN_BATCH_MAX * sizeof(struct privop_pin) >= LOG_RECORD_MAX,
	      "the pin batch is the largest body");
static_assert(sizeof(struct privop_msg) ==
	      8 + NFT_PIN_BATCH_MAX * sizeof(struct privop_pin),
	      "privop_msg layout");
static_assert(POLICY_DOMAIN_MAX < PRIVOP_NAME_MAX && POLICY_DOMAIN_MAX <= 255,
	      "a name fits struct privop_pin and its length a uint8_t");

#define PRIVOP_MSG_MAX		sizeof(struct privop_msg)

int privop_pair(int sv[2]);
size_t privop_len(const struct privop_msg *m);
int privop_send(int fd, const struct privop_msg *m, int pass_fd);
int privop_recv(int fd, struct privop_msg *m, unsigned accept, int *passed_fd,
		const char **why);
int privop_decode(const struct privop_msg *m, size_t len, unsigned accept,
		  const char **why);

void privop_init(struct privop_msg *m, enum privop_type type, uint32_t seq);
int privop_add_pin(struct privop_msg *m, const struct nft_pin *p,
		   const char *name);
int privop_log_encode(struct privop_msg *m, uint32_t seq, const char *line,
		      size_t len);
void privop_reply_encode(struct privop_msg *m, uint32_t seq, int32_t status);
void privop_policy_encode(struct privop_msg *m, uint32_t seq, uint64_t len);
void privop_proxy_encode(struct privop_msg *m, uint32_t seq, bool open);
int privop_add_peer(struct privop_msg *m, const char *name,
		    const uint8_t addr4[4], const uint8_t *addr6);

int privop_policy_memfd(const char *text, size_t len);
int privop_policy_read(int fd, uint64_t len, char **out);

int privop_pin_decode(const struct privop_pin *e, struct nft_pin *out,
		      char *name, size_t namelen, const char **why);
uint32_t privop_ttl_bound(const struct policy *p);
int privop_name_ok(const char *name, const char **why);
int privop_check_pins(const struct policy *p, bool has_v6, uint32_t ttl_bound,
		      const struct privop_msg *m, struct nft_pin *out,
		      size_t *n, const char **why);
int privop_check_log(const struct privop_msg *m, const char **why);

#endif /* MOAT_PRIVOP_H */
