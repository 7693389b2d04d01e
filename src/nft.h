/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * nft.h - the "inet moat" table: ruleset compiler and transactions
 */
#ifndef MOAT_NFT_H
#define MOAT_NFT_H

#include "policy.h"

#define NFT_TABLE	"moat"
#define NFT_IFPREFIX	"moat"		/* every host-side interface */

/**
 * struct nft_base - host-wide parameters of the table
 * @pool4:	IPv4 sandbox pool
 * @pool6:	IPv6 (ULA) sandbox pool
 */
struct nft_base {
	struct prefix pool4;
	struct prefix pool6;
};

/**
 * struct nft_sandbox - what the compiler needs to know of one sandbox
 * @ifname:	host-side interface, also the stem of its chain names
 * @addr4:	sandbox IPv4 address (/32)
 * @gw4:	gateway IPv4 address (/32), on @ifname
 * @has_v6:	whether the sandbox has IPv6
 * @addr6:	sandbox IPv6 address (/128), if @has_v6
 * @gw6:	gateway IPv6 address (/128), if @has_v6
 * @pol:	effective policy
 */
struct nft_sandbox {
	char ifname[16];
	struct prefix addr4;
	struct prefix gw4;
	bool has_v6;
	struct prefix addr6;
	struct prefix gw6;
	const struct policy *pol;
};

int nft_base_text(FILE *f, const struct nft_base *b);
int nft_sandbox_add_text(FILE *f, const struct nft_sandbox *s,
			 struct errlist *el);
void nft_sandbox_del_text(FILE *f, const char *ifname);
uint64_t nft_base_hash(const struct nft_base *b);

int nft_run(const char *cmds, char **err);
int nft_table_exists(void);
int nft_list_table(char **out);
int nft_counters_json(const char *ifname, json_t **out);

#endif /* MOAT_NFT_H */
