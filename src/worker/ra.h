/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * ra.h - router advertisements for a sandbox's guest (IPv6, SLAAC)
 */
#ifndef MOAT_RA_H
#define MOAT_RA_H

#include <time.h>

#include <jansson.h>

#include "policy.h"
#include "state.h"

#define RA_LEN_MAX		96	/* what ra_build() writes, at most */
#define RA_ROUTER_LIFETIME_S	1800U
#define RA_VALID_S		86400U	/* the prefix's lifetimes */
#define RA_PREFERRED_S		14400U
#define RA_INTERVAL_S		200U	/* unsolicited ones, this often */
#define RA_MIN_GAP_MS		1000	/* answers to solicitations, at most 1/s */

/**
 * enum ra_ctr - counters, "<name>_total" in the status
 */
enum ra_ctr {
	RA_C_SOLICIT,		/* router solicitations read */
	RA_C_SENT,		/* advertisements sent */
	RA_C_RATE_LIMITED,	/* solicitations not answered: too soon */
	RA_C_SEND_ERRORS,
	RA_C_COUNT,
};

/**
 * struct ra - a sandbox's router advertisements, in its worker
 * @fd:		raw ICMPv6 socket on the sandbox's interface (router
 *		solicitations only), or -1
 * @tfd:	timerfd of the unsolicited advertisements, or -1
 * @ifindex:	the interface
 * @pkt:	the advertisement, built once (ra_build())
 * @len:	its length
 * @last:	when the last one was sent, CLOCK_MONOTONIC
 * @ctr:	counters (enum ra_ctr)
 */
struct ra {
	int fd;
	int tfd;
	unsigned ifindex;
	uint8_t pkt[RA_LEN_MAX];
	size_t len;
	struct timespec last;
	uint64_t ctr[RA_C_COUNT];
};

size_t ra_build(uint8_t *out, const uint8_t mac[6], uint32_t mtu,
		const uint8_t prefix[8], const uint8_t *dns);
int ra_init(struct ra *r, int epfd, const struct sb_state *s,
	    const struct policy *pol, char **err);
void ra_input(struct ra *r);
void ra_timer(struct ra *r);
void ra_close(struct ra *r);
json_t *ra_stats(const struct ra *r);

#endif /* MOAT_RA_H */
