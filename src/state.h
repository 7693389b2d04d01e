/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * state.h - moat's state on the host: run directory, lock, sandbox records
 */
#ifndef MOAT_STATE_H
#define MOAT_STATE_H

#include <limits.h>
#include <sys/types.h>

#include <jansson.h>

#include "addr.h"

#define STATE_RUN_DIR_DEFAULT	"/run/moat"
#define STATE_POOL4_DEFAULT	"10.231.0.0/16"
#define STATE_POOL6_DEFAULT	"fd6d:6f61:7400::/48"
#define STATE_NEXT_FILE		"next-index"	/* in the run directory */
#define STATE_INDEX_DIR		"index"		/* in the run directory */

/**
 * enum sb_status - what moat ls shows (moat-ls(1))
 *
 * Whatever the status, the sandbox is closed by the kernel's rules: it
 * says which of moat's services it has.
 */
enum sb_status {
	SB_RUNNING = 0,		/* supervisor alive, moat's rules present */
	SB_DEAD,		/* supervisor not running, and the network
				 * namespace or host interface gone: nothing
				 * left to supervise; rm -f cleans */
	SB_CREATING,		/* set-up not finished (or interrupted) */
	SB_DEGRADED,		/* closed, a service missing: moat's rules
				 * for it absent (a firewall reload; its
				 * supervisor restores them), or its
				 * supervisor not running ("moat adopt") */
};

/* the reasons state_status_why() and guard_status() give */
#define SB_WHY_SUPERVISOR	"supervisor not running"
#define SB_WHY_RULES		"rules absent"
#define SB_WHY_SUPERVISOR_RULES	SB_WHY_SUPERVISOR ", " SB_WHY_RULES
#define SB_WHY_NETNS		SB_WHY_SUPERVISOR ", network namespace gone"
#define SB_WHY_LINK		SB_WHY_SUPERVISOR ", host interface gone"

/**
 * struct sb_state - the record of one sandbox, state.json in its directory
 * @name:		sandbox name
 * @idx:		index in the pools
 * @ifname:		host-side interface ("" for network none)
 * @netns:		path of the network namespace
 * @mode:		network mode name
 * @has_net:		whether the sandbox has an interface (not "none")
 * @addr4:		sandbox IPv4 address
 * @gw4:		gateway IPv4 address
 * @has_v6:		IPv6 configured
 * @addr6:		sandbox IPv6 address
 * @gw6:		gateway IPv6 address
 * @supervisor_pid:	supervisor process, 0 if none yet
 * @supervisor_start:	its start time (clock ticks since boot), against
 *			PID reuse
 * @adoptions:		times "moat adopt" gave the sandbox a new supervisor
 * @run_pid:		with @run_mode, the "moat run" process its supervisor
 *			watches (0 in a record an older moat wrote)
 * @run_start:		its start time, against PID reuse
 * @created:		creation time, seconds since the epoch
 * @complete:		set-up finished
 * @run_mode:		created by "moat run" (torn down by its supervisor
 *			if the moat process dies)
 * @proxy:		TCP 80, 443 and domain-rule ports go through the
 *			supervisor's transparent proxy (decided at creation:
 *			sandbox_proxy_wanted(); "moat update" may turn it on,
 *			never off)
 * @instance:		random, non-zero: this sandbox instance's conntrack
 *			mark (struct nft_sandbox), never an earlier one's
 * @attached:		its network namespace was made by someone else (moat
 *			attach: a container's) and is not moat's to remove;
 *			@netns is the path it was named by
 * @inner:		the sandbox's interface inside its namespace ("eth0"
 *			unless moat attach was given another name)
 * @netns_dev:		with @attached, the identity of the namespace
 * @netns_ino:		(struct netns_ident)
 * @tap:		TAP device in the namespace for a guest ("moat create
 *			--tap"), "" if none: the guest then owns @addr4 and
 *			@addr6 (docs/VM.md)
 * @tap_owner:		host UID allowed to attach to @tap
 * @guest_mac:		the one source MAC accepted from the guest, derived
 *			from @instance (sandbox_guest_mac())
 */
struct sb_state {
	char name[MOAT_NAME_MAX + 1];
	unsigned idx;
	char ifname[16];
	char netns[PATH_MAX];
	char mode[16];
	bool has_net;
	struct prefix addr4;
	struct prefix gw4;
	bool has_v6;
	struct prefix addr6;
	struct prefix gw6;
	pid_t supervisor_pid;
	unsigned long long supervisor_start;
	unsigned adoptions;
	pid_t run_pid;
	unsigned long long run_start;
	long long created;
	bool complete;
	bool run_mode;
	bool proxy;
	uint32_t instance;
	bool attached;
	char inner[16];
	unsigned long long netns_dev;
	unsigned long long netns_ino;
	char tap[16];
	uid_t tap_owner;
	uint8_t guest_mac[6];
};

#define STATE_INNER_DEFAULT	"eth0"

/**
 * struct moat_config - host-wide settings
 * @run_dir:	state directory (MOAT_RUN_DIR, default /run/moat)
 * @pool4:	IPv4 pool (MOAT_POOL4)
 * @pool6:	IPv6 ULA pool (MOAT_POOL6)
 */
struct moat_config {
	char run_dir[PATH_MAX / 2];
	struct prefix pool4;
	struct prefix pool6;
};

int state_config_load(struct moat_config *c, char **err);
int state_lock(const struct moat_config *c);
int state_trylock(const struct moat_config *c);
void state_unlock(int fd);

char *state_dir(const struct moat_config *c, const char *name);
char *state_path(const struct moat_config *c, const char *name,
		 const char *file);
int state_write(const struct moat_config *c, const struct sb_state *s);
int state_read(const struct moat_config *c, const char *name,
	       struct sb_state *s);
int state_list(const struct moat_config *c, char (**names)[MOAT_NAME_MAX + 1],
	       size_t *n);
int state_remove(const struct moat_config *c, const char *name);
bool state_name_valid(const char *name);

int state_alloc_index(const struct moat_config *c, unsigned *idx);
void state_addresses(const struct moat_config *c, struct sb_state *s);

bool state_proc_alive(pid_t pid, unsigned long long start);
bool state_supervisor_alive(const struct sb_state *s);
enum sb_status state_status_why(const struct sb_state *s, const char **why);
enum sb_status state_status(const struct sb_state *s);
const char *state_status_name(enum sb_status st);
const char *state_status_text(const struct sb_state *s, enum sb_status *st,
			      char *buf, size_t len);
#define STATE_STATUS_TEXT_LEN	96
int state_degraded_set(const struct moat_config *c, const char *name, bool on);
bool state_degraded(const struct moat_config *c, const char *name);
int state_proc_starttime(pid_t pid, unsigned long long *start);

json_t *state_to_json(const struct sb_state *s);

#endif /* MOAT_STATE_H */
