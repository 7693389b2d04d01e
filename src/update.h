/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * update.h - a running sandbox's policy, replaced live (see update.c)
 */
#ifndef MOAT_UPDATE_H
#define MOAT_UPDATE_H

#include <stdio.h>

#include "conntrack.h"
#include "dns.h"
#include "nft.h"
#include "policy.h"
#include "state.h"

#define UPDATE_NEXT_FILE	"policy.next"	/* in the sandbox's state dir */

/**
 * struct update_judge - what a connection of the sandbox is judged against
 * @s:		the sandbox's record
 * @pol:	the new policy
 * @dns:	its DNS interceptor (pins of domain rules), or NULL
 * @pool4:	IPv4 sandbox pool
 * @pool6:	IPv6 sandbox pool
 * @kept:	entries of the sandbox's own connections kept
 */
struct update_judge {
	const struct sb_state *s;
	const struct policy *pol;
	const struct dns *dns;
	struct prefix pool4;
	struct prefix pool6;
	size_t kept;
};

int update_fixed_check(const struct policy *cur, const struct policy *next);
int update_nft_text(FILE *f, const struct nft_sandbox *ns,
		    const struct policy *old, const struct nft_pin *pins,
		    size_t npins, struct errlist *el);
bool update_dst_allowed(const struct update_judge *j, uint8_t proto,
			const struct prefix *dst, uint16_t dport);
bool update_keep_flow(const struct conntrack_flow *fl, void *arg);
bool update_keep_relay(const struct prefix *dst, uint16_t dport, void *arg);

#endif /* MOAT_UPDATE_H */
