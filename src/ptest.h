/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * ptest.h - "moat policy test": what a policy says of one destination
 */
#ifndef MOAT_PTEST_H
#define MOAT_PTEST_H

#include <stdio.h>

#include "policy.h"

/**
 * enum ptest_kind - what a destination names
 * @PTEST_NAME:	a domain name
 * @PTEST_ADDR:	an address
 * @PTEST_HOST:	the host, as "allow: host" names it
 */
enum ptest_kind {
	PTEST_NAME = 0,
	PTEST_ADDR,
	PTEST_HOST,
};

/**
 * struct ptest_dest - one destination to decide
 * @kind:	what it names
 * @name:	PTEST_NAME: normalised name
 * @addr:	PTEST_ADDR: address (/32 or /128)
 * @port:	destination port, 0 for ICMP
 * @proto:	PROTO_TCP, PROTO_UDP or PROTO_ICMP
 */
struct ptest_dest {
	enum ptest_kind kind;
	char name[POLICY_DOMAIN_MAX + 3];
	struct prefix addr;
	uint16_t port;
	enum proto proto;
};

int ptest_parse_dest(const char *arg, struct ptest_dest *d,
		     struct errlist *el);
bool ptest_decide(const struct policy *p, const struct ptest_dest *d,
		  const struct prefix *pools, size_t npools, FILE *f);

#endif /* MOAT_PTEST_H */
