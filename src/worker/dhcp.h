/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * dhcp.h - the DHCPv4 server of a sandbox's guest: parser, answers, socket
 */
#ifndef MOAT_DHCP_H
#define MOAT_DHCP_H

#include <time.h>

#include <jansson.h>

#include "log.h"
#include "policy.h"
#include "state.h"

#define DHCP_SERVER_PORT	67
#define DHCP_CLIENT_PORT	68
#define DHCP_FIXED_LEN		236	/* op .. file, before the cookie */
#define DHCP_MIN_LEN		(DHCP_FIXED_LEN + 4)	/* with the cookie */
#define DHCP_REPLY_MAX		400	/* what dhcp_answer() writes, at most */
#define DHCP_BOOTP_MIN		300	/* replies are padded to this (BOOTP) */
#define DHCP_LEASE_S		86400U	/* the address never changes anyway */
#define DHCP_RATE		20	/* answers a second, at most ... */
#define DHCP_BURST		40	/* ... after a burst of this many */

/* message types (option 53), RFC 2132 9.6 */
enum dhcp_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER,
	DHCP_REQUEST,
	DHCP_DECLINE,
	DHCP_ACK,
	DHCP_NAK,
	DHCP_RELEASE,
	DHCP_INFORM,
};

/**
 * enum dhcp_result - what dhcp_parse() made of a datagram
 * @DHCP_OK:		a DHCP message, in @struct dhcp_msg
 * @DHCP_SHORT:		shorter than its fixed part and cookie
 * @DHCP_NOT_ETHER:	not an Ethernet hardware address (htype 1, hlen 6)
 * @DHCP_COOKIE:	no DHCP magic cookie: BOOTP, or not DHCP at all
 * @DHCP_BAD_OPTION:	an option runs past the end, has the wrong length
 *			for its code or comes twice, or no end option
 * @DHCP_NO_TYPE:	no message type (option 53), or an unknown one
 */
enum dhcp_result {
	DHCP_OK = 0,
	DHCP_SHORT,
	DHCP_NOT_ETHER,
	DHCP_COOKIE,
	DHCP_BAD_OPTION,
	DHCP_NO_TYPE,
};

/**
 * struct dhcp_msg - the fields of a message the server looks at
 * @op:		1 a request (BOOTREQUEST), 2 a reply
 * @type:	enum dhcp_type
 * @xid:	transaction ID, as sent (network order)
 * @flags:	flags (the broadcast bit), as sent
 * @ciaddr:	client's address, when it has one
 * @yiaddr:	"your" address (replies)
 * @giaddr:	relay agent's address (0: no relay)
 * @chaddr:	client's MAC
 * @requested:	option 50, 0.0.0.0 if absent
 * @server_id:	option 54, 0.0.0.0 if absent
 * @lease:	option 51, seconds, 0 if absent (replies)
 */
struct dhcp_msg {
	uint8_t op;
	uint8_t type;
	uint32_t xid;
	uint16_t flags;
	uint8_t ciaddr[4];
	uint8_t yiaddr[4];
	uint8_t giaddr[4];
	uint8_t chaddr[6];
	uint8_t requested[4];
	uint8_t server_id[4];
	uint32_t lease;
};

/**
 * struct dhcp_lease - the one lease a sandbox's server gives
 * @mac:	the guest's MAC, the only client answered
 * @addr:	its address (the sandbox's, a /30)
 * @gw:		the gateway: server identifier and router
 * @dns:	offer @gw as resolver (the DNS interceptor: network filtered)
 * @mtu:	interface MTU to offer, 0 for none
 */
struct dhcp_lease {
	uint8_t mac[6];
	uint8_t addr[4];
	uint8_t gw[4];
	bool dns;
	uint16_t mtu;
};

/**
 * enum dhcp_ctr - the server's counters, "<name>_total" in the status
 */
enum dhcp_ctr {
	DHCP_C_RECEIVED,	/* datagrams read */
	DHCP_C_MALFORMED,	/* refused by dhcp_parse() */
	DHCP_C_IGNORED,		/* another MAC, a reply, a relay, another server chosen */
	DHCP_C_DISCOVER,
	DHCP_C_REQUEST,
	DHCP_C_INFORM,
	DHCP_C_DECLINE,
	DHCP_C_RELEASE,
	DHCP_C_OFFER,		/* answers sent */
	DHCP_C_ACK,
	DHCP_C_NAK,
	DHCP_C_RATE_LIMITED,	/* beyond DHCP_RATE: no answer */
	DHCP_C_SEND_ERRORS,
	DHCP_C_COUNT,
};

/**
 * struct dhcp - a sandbox's DHCP server, in its worker
 * @fd:		UDP socket on port 67 of the sandbox's interface, or -1
 * @lease:	what it gives
 * @log:	the worker's log intake, for records
 * @tokens:	answers it may still send (the DHCP_RATE bucket)
 * @last:	last refill, CLOCK_MONOTONIC
 * @ctr:	counters (enum dhcp_ctr)
 */
struct dhcp {
	int fd;
	struct dhcp_lease lease;
	struct log *log;
	double tokens;
	struct timespec last;
	uint64_t ctr[DHCP_C_COUNT];
};

enum dhcp_result dhcp_parse(const uint8_t *buf, size_t len,
			    struct dhcp_msg *m);
size_t dhcp_answer(const struct dhcp_msg *q, const struct dhcp_lease *l,
		   uint8_t *out, bool *broadcast);
void dhcp_lease_of(const struct sb_state *s, const struct policy *pol,
		   uint16_t mtu, struct dhcp_lease *l);
int dhcp_init(struct dhcp *d, int epfd, const struct sb_state *s,
	      const struct policy *pol, struct log *log, char **err);
void dhcp_input(struct dhcp *d);
void dhcp_close(struct dhcp *d);
json_t *dhcp_stats(const struct dhcp *d);

#endif /* MOAT_DHCP_H */
