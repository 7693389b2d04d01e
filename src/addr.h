/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * addr.h - addresses, prefixes and the address groups of SPEC §4
 */
#ifndef MOAT_ADDR_H
#define MOAT_ADDR_H

#include <netinet/in.h>
#include "common.h"

/**
 * enum addr_group - destination classes, SPEC §4 (exactly one per address)
 */
enum addr_group {
	GROUP_LOOPBACK = 0,
	GROUP_PRIVATE,
	GROUP_LINK_LOCAL,
	GROUP_METADATA,
	GROUP_MULTICAST,
	GROUP_HOST,
	GROUP_RESERVED,
	GROUP_PUBLIC,
	GROUP_COUNT
};

/**
 * struct prefix - an IPv4 or IPv6 address with a prefix length
 * @family:	AF_INET or AF_INET6
 * @plen:	prefix length, 0..32 or 0..128
 * @addr:	address in network order; for AF_INET only the first 4 bytes
 *		are used. Host bits beyond @plen are always zero.
 */
struct prefix {
	int family;
	uint8_t plen;
	uint8_t addr[16];
};

/**
 * struct addr_block - one row of the group table
 * @pfx:	the block
 * @group:	its group
 */
struct addr_block {
	struct prefix pfx;
	enum addr_group group;
};

const char *addr_group_name(enum addr_group g);
int addr_group_parse(const char *s, enum addr_group *g);

int prefix_parse(const char *s, struct prefix *p, bool strict_host_bits);
int prefix_format(const struct prefix *p, char *buf, size_t len);
bool prefix_contains(const struct prefix *outer, const struct prefix *inner);
bool prefix_overlaps(const struct prefix *a, const struct prefix *b);
bool prefix_equal(const struct prefix *a, const struct prefix *b);
bool prefix_is_any(const struct prefix *p);
int addr_parse(const char *s, struct prefix *p);

enum addr_group addr_classify(int family, const uint8_t *addr,
			      const struct prefix *host_addrs, size_t nhost);

#define ADDR_MAC_STRLEN	18	/* "02:6d:00:11:22:33" and its NUL */
void addr_eui64(const uint8_t *prefix, const uint8_t mac[6],
		struct prefix *out);
char *addr_mac_format(const uint8_t mac[6], char *buf);
int addr_mac_parse(const char *s, uint8_t mac[6]);

const struct addr_block *addr_blocks(size_t *n);
size_t addr_group_nft_elements(enum addr_group g, int family,
			       struct prefix *out, size_t max);

#endif /* MOAT_ADDR_H */
