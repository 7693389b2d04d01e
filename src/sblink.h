/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * sblink.h - links between sandboxes: consent on both sides, kept live in
 * the kernel as sandboxes come and go (see sblink.c)
 */
#ifndef MOAT_SBLINK_H
#define MOAT_SBLINK_H

#include <stdbool.h>

#include <jansson.h>

#include "policy.h"
#include "state.h"

#define SBLINK_DOMAIN		"moat.internal"	/* NAME.moat.internal */
#define SBLINK_USERS_FILE	"links.names"	/* in the run directory */
#define SBLINK_STATE_FILE	"links.state"	/* the links in force, too */
#define SBLINK_DIRTY_FILE	"links.dirty"	/* a sync did not finish */
#define SBLINK_PEERS_MAX	64	/* names one sandbox's DNS answers */

/**
 * struct sblink_peer - a sandbox this one has a live link to, for its DNS
 * @name:	the peer's name
 * @addr4:	its IPv4 address (/32)
 * @has_v6:	it has IPv6
 * @addr6:	its IPv6 address (/128)
 */
struct sblink_peer {
	char name[MOAT_NAME_MAX + 1];
	struct prefix addr4;
	bool has_v6;
	struct prefix addr6;
};

bool sblink_concerns(const struct moat_config *c, const char *name,
		     const struct policy *a, const struct policy *b);
int sblink_sync(const struct moat_config *c, const char *gone,
		const char *self);
bool sblink_in_use(const struct moat_config *c);
bool sblink_dirty(const struct moat_config *c);
int sblink_peers(const struct moat_config *c, const char *name,
		 const struct policy *pol, struct sblink_peer *out,
		 size_t max);
json_t *sblink_status(const struct moat_config *c, const char *name,
		      const struct policy *pol);

#endif /* MOAT_SBLINK_H */
