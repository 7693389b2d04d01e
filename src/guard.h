/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * guard.h - fail closed while moat's table is absent (a firewall reload)
 */
#ifndef MOAT_GUARD_H
#define MOAT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft.h"
#include "state.h"

/* Packet mark bits (meta mark). GUARD_MARK_SANDBOX is set on everything a
 * sandbox sends, by traffic control on its host-side interface, before
 * netfilter; GUARD_MARK_PASSED by moat's table (nft.c, prerouting). A
 * packet with the first and without the second is refused by the routing
 * rules and IPsec policies of guard_host_ensure().
 */
#define GUARD_MARK_PASSED	NFT_PASSED_MARK
#define GUARD_MARK_SANDBOX	0x00400000
#define GUARD_MARK_MASK		(GUARD_MARK_PASSED | GUARD_MARK_SANDBOX)

#define GUARD_RULE_PREF		10	/* ip rule / ip -6 rule priority */
#define GUARD_PROG_NAME		"moat_guard"	/* the tc program */

int guard_link_attach(const char *ifname);
int guard_host_ensure(void);
int guard_host_check(char *what, size_t len);
int guard_link_check(const char *ifname);

int guard_watch_open(void);
int guard_watch_read(int fd, const char *ifname);
int guard_intact(const char *ifname);
uint64_t guard_table_handle(void);
int guard_intact_base(void);
int guard_own_chains(const char *ifname);
enum sb_status guard_status(const struct moat_config *c,
			    const struct sb_state *s, int rules,
			    const char **why);

#endif /* MOAT_GUARD_H */
