/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * conntrack.h - removing a sandbox instance's connection-tracking entries,
 * all of them or those a policy refuses
 */
#ifndef MOAT_CONNTRACK_H
#define MOAT_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/**
 * struct conntrack_flow - what conntrack_cut() shows of one entry
 * @src:	original direction: source address
 * @dst:	original direction: destination address
 * @proto:	layer 4 protocol (IPPROTO_*)
 * @sport:	original source port, 0 without ports
 * @dport:	original destination port (ICMP: 0)
 * @rsrc:	reply direction: source address (not @dst if the
 *		destination was rewritten: a redirect to the host)
 * @rsport:	reply direction: source port
 */
struct conntrack_flow {
	struct prefix src;
	struct prefix dst;
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	struct prefix rsrc;
	uint16_t rsport;
};

typedef bool (*conntrack_keep_fn)(const struct conntrack_flow *fl, void *arg);

int conntrack_flush_mark(uint32_t mark);
int conntrack_cut(uint32_t mark, conntrack_keep_fn keep, void *arg,
		  size_t *cut);

#endif /* MOAT_CONNTRACK_H */
