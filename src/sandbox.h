/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * sandbox.h - set-up and tear-down of a sandbox, all or nothing
 */
#ifndef MOAT_SANDBOX_H
#define MOAT_SANDBOX_H

#include "nft.h"
#include "policy.h"
#include "state.h"

/**
 * struct sb_attach - a network namespace someone else made, to adopt as a
 * sandbox's inside ("moat attach": a container's)
 * @nsfd:	descriptor of the namespace (netns_open_net()); the caller
 *		keeps it open until sandbox_create() returns, then closes it
 * @path:	the path it was named by (--netns PATH, /proc/PID/ns/net, a
 *		runtime's CNI_NETNS): recorded, shown, and the first place
 *		moat looks for the namespace again
 * @ifname:	name of moat's interface inside, NULL for "eth0"
 */
struct sb_attach {
	int nsfd;
	const char *path;
	const char *ifname;
};

/**
 * struct sb_opts - what to create
 * @name:	sandbox name
 * @pol:	effective policy (validated)
 * @run_mode:	created by "moat run": the supervisor tears the sandbox down
 *		if @watch_pid dies first
 * @watch_pid:	the "moat run" process, with @run_mode
 * @attach:	adopt this namespace instead of making one, or NULL
 * @tap:	name of a TAP device for a guest (sandbox_tap_name_ok()), or
 *		NULL for none
 * @tap_owner:	with @tap, the host UID that may attach to it
 * @allow_foreign_drop: create it even if another table's forward chain
 *		would drop its traffic (hostfw_prepare())
 */
struct sb_opts {
	const char *name;
	const struct policy *pol;
	bool run_mode;
	pid_t watch_pid;
	const struct sb_attach *attach;
	const char *tap;
	uid_t tap_owner;
	bool allow_foreign_drop;
};

/* sandbox_create()'s answer when it refuses the namespace to attach */
#define SANDBOX_REFUSED	1

#define SANDBOX_TAP_DEFAULT	"tap0"	/* "--tap" without a name */
#define SANDBOX_TAP_TEXT_LEN	256

int sandbox_create(const struct moat_config *c, const struct sb_opts *o,
		   struct sb_state *out);
bool sandbox_ifname_valid(const char *name);
int sandbox_attached_to(const struct moat_config *c, int nsfd, char *name,
			size_t len);
int sandbox_netns_open(const struct sb_state *s);
int sandbox_destroy(const struct moat_config *c, const char *name, bool force,
		    bool locked);
int sandbox_teardown(const struct moat_config *c, const struct sb_state *s);
int sandbox_teardown_ended(const struct moat_config *c,
			   const struct sb_state *s);
bool sandbox_proxy_wanted(const struct policy *pol);
int sandbox_nft_write(const struct moat_config *c, const struct sb_state *s,
		      const struct policy *pol, bool own);
int sandbox_nft_restore(const struct moat_config *c, const struct sb_state *self,
			const struct policy *pol, size_t *n);
int sandbox_processes(const struct sb_state *s, pid_t **pids, size_t *n);
int sandbox_load_policy(const struct moat_config *c, const char *name,
			struct policy *p);
void sandbox_nft_fill(struct nft_sandbox *ns, const struct sb_state *s,
		      const struct policy *pol);
bool sandbox_tap_name_ok(const char *name);
const char *sandbox_tap_text(const struct sb_state *s, char *buf, size_t len);
void sandbox_tap_env(const struct sb_state *s);

#endif /* MOAT_SANDBOX_H */
