// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * sandbox.c - set-up and tear-down of a sandbox, all or nothing
 *
 * Theory of operation
 * -------------------
 * Creating a sandbox, under the global lock:
 *
 *   1. allocate an index (addresses and interface name derive from it) and
 *      refuse a pool that overlaps a host route;
 *   2. write the record (state.json, "complete": false) and the effective
 *      policy (policy.yaml): from here on, tear-down knows what to remove;
 *   3. create the network namespace /run/netns/moat-NAME and, unless the
 *      network is "none", a veth pair: "moatN" on the host, "eth0" inside;
 *      host-side hardening sysctls, the traffic control filter marking
 *      what the sandbox sends (guard.c), addresses (inside, a fixed IPv6
 *      link-local address, NFT_SANDBOX_LL, instead of a generated one),
 *      the sandbox's routes;
 *      limits.bandwidth as tc qdiscs on the host end (and an IFB device,
 *      "ifbmoatN", removed after the veth on tear-down);
 *      with a TAP device (--tap), instead of eth0's addresses and routes:
 *      the TAP, persistent and owned by the user who runs the VMM, wired
 *      to eth0 (link.c), and no IPv6 for the namespace's own stack: the
 *      guest behind the TAP owns the sandbox's addresses (its IPv6 one is
 *      the EUI-64 address of the guest's MAC, which moat chooses:
 *      sandbox_guest_mac()), and the worker answers its DHCP requests and
 *      router solicitations (src/worker/dhcp.c, ra.c);
 *   4. one nftables transaction: the base table if it is missing or out of
 *      date (with guard.c's routing rules and IPsec policies, which keep
 *      the sandboxes closed while the table is absent), the sandbox's
 *      chains, then its dispatch entries;
 *   5. links up, supervisor started and ready (it binds published ports,
 *      which can fail);
 *   6. the record is marked complete.
 *
 * Any failure runs the tear-down, which is idempotent and is also what
 * "moat rm" uses: interface deleted (the sandbox is cut off at once), nft
 * objects deleted in one transaction, the sandbox's connections deleted
 * from the host's conntrack table (ct.c), its TAP device deleted (a VMM
 * outside the namespace could otherwise keep it, and the namespace, alive
 * after the unmount), namespace unmounted, record removed
 * last, so that an interrupted tear-down can be finished by "moat rm -f".
 * Until the record is removed the index stays taken, so a half-removed
 * sandbox's interface name is never handed to another one.
 *
 * Attaching ("moat attach", struct sb_attach): the same steps, except
 * that the namespace of step 3 is one someone else made, a container's,
 * opened by the caller. It is refused (SANDBOX_REFUSED) if it is the
 * namespace moat runs in, another sandbox's, or holds any interface but
 * lo (sandbox_attach_check()). Inside, moat changes only what goes with
 * its own interface (named as the caller says, "eth0" by default): no
 * namespace-wide sysctl, and not lo's state, which are the container
 * runtime's (runtimes set lo up). For network "filtered" it adds the
 * small table "inet moat_dns" (nft.c), with route_localnet on its
 * interface and a local route for ::1 through it, so that DNS to a
 * loopback resolver reaches the interceptor too. A failure removes all
 * of it; the namespace itself is never removed or unmounted.
 *
 * moat keeps no descriptor or mount of an attached namespace once the
 * sandbox is made: when its owner is done with it (the container's last
 * process has ended, its runtime removed its mount), the kernel deletes
 * what is inside, the veth too, and with it the host end; the
 * supervisor, which watches for that deletion (link_watch_open()),
 * removes the rest of the sandbox and exits. Tear-down of an attached
 * sandbox whose namespace still lives finds it again by its identity
 * (netns_find()) to remove the table; it never kills the processes
 * inside.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/rtnetlink.h>

#include "conntrack.h"
#include "guard.h"
#include "hostfw.h"
#include "link.h"
#include "log.h"
#include "netns.h"
#include "nft.h"
#include "nftx.h"
#include "sandbox.h"
#include "sblink.h"
#include "supervisor.h"

/* metric of the local route of ::1 through an attached sandbox's
 * interface: behind lo's (0), which what the namespace sends itself keeps
 * taking */
#define SANDBOX_LO6_METRIC	1024

/* sandbox_teardown_ns()'s namespace when an attached one ended */
#define SANDBOX_NS_GONE		(-2)

/**
 * sandbox_check_pool() - refuse pools that overlap a route of the host
 * @c:		settings
 * @l:		route netlink in the host namespace
 * @v6:		also check the IPv6 pool
 *
 * Return: 0, or -1 after printing which route overlaps
 */
static int sandbox_check_pool(const struct moat_config *c, struct link_ctx *l,
			      bool v6)
{
	int fams[2] = { AF_INET, AF_INET6 };
	int k, ret = 0;

	for (k = 0; k < (v6 ? 2 : 1); k++) {
		const struct prefix *pool = k ? &c->pool6 : &c->pool4;
		struct link_route *r;
		size_t n, i;
		int err;

		err = link_routes(l, fams[k], &r, &n);
		if (err) {
			msg_err("cannot read the host's routes: %s", strerror(-err));
			return -1;
		}
		for (i = 0; i < n && !ret; i++) {
			char rb[INET6_ADDRSTRLEN + 4], pb[INET6_ADDRSTRLEN + 4];

			if (r[i].dst.plen == 0 ||
			    !strncmp(r[i].ifname, NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
				continue;
			if (r[i].type != RTN_UNICAST && r[i].type != RTN_LOCAL &&
			    r[i].type != RTN_BLACKHOLE && r[i].type != RTN_UNREACHABLE &&
			    r[i].type != RTN_PROHIBIT)
				continue;
			if (fams[k] == AF_INET6 && r[i].dst.addr[0] == 0xfe &&
			    (r[i].dst.addr[1] & 0xc0) == 0x80)
				continue;	/* link-local */
			if (!prefix_overlaps(pool, &r[i].dst))
				continue;
			prefix_format(&r[i].dst, rb, sizeof(rb));
			prefix_format(pool, pb, sizeof(pb));
			msg_err("sandbox pool %s overlaps the host route %s%s%s; "
				"choose another pool with MOAT_POOL%d", pb, rb,
				*r[i].ifname ? " dev " : "", r[i].ifname,
				k ? 6 : 4);
			ret = -1;
		}
		free(r);
	}
	return ret;
}

/**
 * sandbox_host_has_ipv6() - whether the host has global IPv6 connectivity
 * @l:		route netlink in the host namespace
 *
 * Return: true if there is an IPv6 default route and a global address
 *	   (2000::/3) outside the moat interfaces
 */
static bool sandbox_host_has_ipv6(struct link_ctx *l)
{
	struct link_route *r = NULL;
	struct link_addr *a = NULL;
	bool route = false, addr = false;
	const char *env = getenv("MOAT_IPV6");
	size_t n, i;

	if (env && !strcmp(env, "off"))
		return false;
	if (!link_routes(l, AF_INET6, &r, &n)) {
		for (i = 0; i < n; i++)
			if (r[i].dst.plen == 0 && r[i].type == RTN_UNICAST &&
			    strncmp(r[i].ifname, NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
				route = true;
	}
	free(r);
	if (!link_addrs(l, AF_INET6, &a, &n)) {
		for (i = 0; i < n; i++)
			if ((a[i].addr.addr[0] & 0xe0) == 0x20 &&
			    strncmp(a[i].ifname, NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
				addr = true;
	}
	free(a);
	return route && addr;
}

/**
 * sandbox_base_hash_path() - where the fingerprint of the base table is kept
 * @c:		settings
 *
 * Return: path, to be freed by the caller
 */
static char *sandbox_base_hash_path(const struct moat_config *c)
{
	return xasprintf("%s/base.hash", c->run_dir);
}

static int sandbox_nft_del(const struct sb_state *s,
			   const struct policy *pol);

/**
 * sandbox_new_instance() - a fresh instance mark for a new sandbox
 *
 * Random, so that no later sandbox, whatever address and interface name
 * it reuses, carries the mark of an earlier one's connections (2^-32 per
 * pair; the earlier one's entries are also flushed when it is removed).
 *
 * Return: a random non-zero 32-bit value
 */
static uint32_t sandbox_new_instance(void)
{
	uint32_t v = 0;

	while (!v)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			v = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	return v;
}

/**
 * sandbox_proxy_wanted() - whether a sandbox's TCP goes through its proxy
 * @pol:	effective policy
 *
 * With domain rules, with secrets or intercepted names (the proxy
 * terminates their TLS: worker/intercept.c), or for every filtered sandbox when
 * MOAT_PROXY=all is set (TLS SNI and HTTP Host hygiene for every TCP 80
 * and 443 connection, without domain rules). Asked at creation, and by a
 * live policy change (update.c), which may turn it on but never off: the
 * answer is kept in the record (sb_state.proxy), where the ruleset
 * compiler, the supervisor and "moat verify"'s audit read it.
 *
 * Return: true if TCP 80, 443 (and domain-rule ports) are redirected
 */
bool sandbox_proxy_wanted(const struct policy *pol)
{
	const char *env = getenv("MOAT_PROXY");

	if (pol->mode != NET_FILTERED)
		return false;
	return policy_has_domain_rules(pol) || pol->nsecrets ||
	       pol->nintercept || (env && !strcmp(env, "all"));
}

static int sandbox_nft_write_how(const struct moat_config *c,
				 const struct sb_state *s,
				 const struct policy *pol, bool own,
				 bool one_batch);

/* From this many sandboxes (the one being made included) a create compiles
 * its rules aside and sends them in one transaction (nftx.c); below it,
 * libnftables' cache of the table costs less than that compile's fixed
 * part (a scratch namespace to make, a dump and a clean-up there), and a
 * host running one sandbox at a time would make and remove the scratch
 * namespace at every create (docs/BENCHMARKS.md: 67 ms against 20). */
#define SANDBOX_ONE_BATCH_MIN	64

/**
 * sandbox_many() - whether enough sandboxes exist for the one-transaction
 * create
 * @c:		settings (its run directory's records are counted)
 *
 * Stops counting at the threshold. In builds with test hooks,
 * MOAT_TEST_ONE_BATCH_MIN sets the threshold (0: always), so that the
 * integration tests, whose worlds hold a few sandboxes, take the path a
 * host with many takes.
 *
 * Return: true if at least SANDBOX_ONE_BATCH_MIN records exist
 */
static bool sandbox_many(const struct moat_config *c)
{
	unsigned long min = SANDBOX_ONE_BATCH_MIN, n = 0;
	autofree char *path = NULL;
	struct dirent *de;
	DIR *d;

#ifdef MOAT_TEST_HOOKS
	const char *e = getenv("MOAT_TEST_ONE_BATCH_MIN");

	if (e && *e)
		min = strtoul(e, NULL, 10);
#endif
	if (!min)
		return true;
	if (asprintf(&path, "%s/sandboxes", c->run_dir) < 0)
		die_oom();
	d = opendir(path);
	if (!d)
		return false;
	while (n < min && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n >= min;
}

/**
 * sandbox_nft_add() - the sandbox's chains, objects and dispatch entries
 * in one transaction (nftx.c), or, when that cannot be, the base table if
 * needed and its chains in one and its dispatch entries in a second
 * @c:		settings
 * @s:		record
 * @pol:	effective policy
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_nft_add(const struct moat_config *c, const struct sb_state *s,
			   const struct policy *pol)
{
	return sandbox_nft_write_how(c, s, pol, true, sandbox_many(c)) < 0 ?
	       -1 : 0;
}

/**
 * sandbox_nft_write() - the base table if missing or out of date, the
 * sandbox's chains if asked, then its dispatch entries
 * @c:		settings
 * @s:		record
 * @pol:	effective policy
 * @own:	write the sandbox's chains and objects (creation, or a
 *		restoration that found them missing)
 *
 * Through libnftables, never nftx.c: a supervisor restoring its rules
 * may neither make nor enter a namespace (isolate.c).
 *
 * Return: 1 if the base table was written, 0 if not, -1 after printing why
 */
int sandbox_nft_write(const struct moat_config *c, const struct sb_state *s,
		      const struct policy *pol, bool own)
{
	return sandbox_nft_write_how(c, s, pol, own, false);
}

/**
 * sandbox_nft_write_how() - sandbox_nft_write(), in one batch if asked
 * @c:		settings
 * @s:		record
 * @pol:	effective policy
 * @own:	write the sandbox's chains and objects
 * @one_batch:	try nftx_sandbox_add() first (needs a scratch namespace:
 *		"moat create" only) when the base table is up to date
 *
 * With the base table come guard.c's routing rules and IPsec policies.
 * The caller holds the global lock.
 *
 * Return: 1 if the base table was written, 0 if not, -1 after printing why
 */
static int sandbox_nft_write_how(const struct moat_config *c,
				 const struct sb_state *s,
				 const struct policy *pol, bool own,
				 bool one_batch)
{
	struct nft_base b = { .pool4 = c->pool4, .pool6 = c->pool6 };
	autofree char *hpath = sandbox_base_hash_path(c);
	struct nft_sandbox ns = { 0 };
	struct errlist el = { 0 };
	char *buf = NULL, *err = NULL, hbuf[32] = "";
	uint64_t h = nft_base_hash(&b);
	bool need_base = true;
	size_t len = 0;
	FILE *f;
	int ret;

	if (guard_intact_base() == 1) {
		autofclose FILE *hf = fopen(hpath, "re");

		if (hf && fgets(hbuf, sizeof(hbuf), hf) &&
		    strtoull(hbuf, NULL, 16) == h)
			need_base = false;
	}
	if (need_base && (ret = guard_host_ensure())) {
		msg_err("cannot add the routing rules and IPsec policies that "
			"keep sandboxes closed without moat's table: %s",
			strerror(-ret));
		return -1;
	}

	sandbox_nft_fill(&ns, s, pol);	/* proxy: its supervisor listens */

	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	if (need_base && nft_base_text(f, &b)) {
		fclose(f);
		free(buf);
		msg_err("cannot compile the base ruleset");
		return -1;
	}
	ret = own ? nft_sandbox_add_text(f, &ns, &el) : 0;
	fclose(f);
	if (ret) {
		errlist_print(&el, stderr);
		errlist_free(&el);
		free(buf);
		return -1;
	}
	/* with the base table in place, chains and entries go in one
	 * libnftnl transaction compiled in the scratch namespace (nftx.c);
	 * else, or if that fails, libnftables here, then the entries */
	if (one_batch && own && !need_base) {
		ret = nftx_sandbox_add(c->run_dir, &b, &ns, buf);
		if (!ret) {
			free(buf);
			return 0;
		}
		msg_debug("one-batch set-up of sandbox '%s' not possible (%s): "
			  "through libnftables", s->name, strerror(-ret));
	}
	ret = *buf ? nft_run(buf, &err) : 0;
	free(buf);
	if (ret) {
		msg_err("nftables refused the sandbox's rules: %s", err);
		free(err);
		return -1;
	}
	/* the chains exist; now, in one more transaction, the entries that
	 * lead to them (until then the sandbox's traffic is dropped by the
	 * base chains, and the link is not up yet anyway)
	 */
	if ((ret = nft_dispatch_set(s->ifname, true))) {
		msg_err("nftables refused the sandbox's dispatch entries: %s",
			strerror(-ret));
		if (own)
			sandbox_nft_del(s, pol);
		return -1;
	}
	if (need_base) {
		autofclose FILE *hf = fopen(hpath, "we");

		if (hf)
			fprintf(hf, "%016llx\n", (unsigned long long)h);
		if (sblink_in_use(c))	/* a table made again: its links */
			sblink_sync(c, NULL, s->name);
	}
	return need_base ? 1 : 0;
}

/**
 * sandbox_nft_fill() - the compiler's view of a sandbox
 * @ns:		filled in
 * @s:		record
 * @pol:	effective policy
 *
 * The one place a record becomes what nft.c compiles: creation, the
 * guard's restoration, a live policy change and the audit all agree.
 */
void sandbox_nft_fill(struct nft_sandbox *ns, const struct sb_state *s,
		      const struct policy *pol)
{
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->ifname, sizeof(ns->ifname), "%s", s->ifname);
	ns->addr4 = s->addr4;
	ns->gw4 = s->gw4;
	ns->has_v6 = s->has_v6;
	ns->addr6 = s->addr6;
	ns->gw6 = s->gw6;
	ns->pol = pol;
	ns->proxy = s->proxy;
	ns->instance = s->instance;
	ns->tap = *s->tap != '\0';
	memcpy(ns->guest_mac, s->guest_mac, sizeof(ns->guest_mac));
}

/**
 * sandbox_nft_restore() - put moat's rules back after a firewall reload
 * @c:		settings
 * @self:	the sandbox of the supervisor calling
 * @pol:	its policy
 * @n:		set to the number of sandboxes whose chains were written
 *
 * The caller holds the global lock. When the base table is missing (the
 * table was removed), the first supervisor to get here writes it with
 * the chains of every live sandbox (complete, with a network, its
 * supervisor running) in one transaction, then their dispatch entries:
 * one transaction instead of one per supervisor queueing for the lock.
 * The supervisors that come next find the table and their chains, and
 * add only their own entries (idempotent). A sandbox whose record or
 * policy cannot be read is left to its own supervisor; if the combined
 * transaction fails, only @self is restored.
 *
 * Return: 1 if the base table was written, 0 if not, -1 after printing why
 */
int sandbox_nft_restore(const struct moat_config *c, const struct sb_state *self,
			const struct policy *pol, size_t *n)
{
	struct nft_base b = { .pool4 = c->pool4, .pool6 = c->pool6 };
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	autofree char *hpath = sandbox_base_hash_path(c);
	char (*ifs)[16] = NULL;
	char *buf = NULL, *err = NULL;
	size_t len = 0, nn = 0, nif = 0, i;
	int ret, own;
	FILE *f;

	*n = 0;
	if (guard_intact_base() != 0) {
		own = guard_own_chains(self->ifname);
		if (own < 0)
			return -1;
		*n = own == 0;
		return sandbox_nft_write(c, self, pol, own == 0);
	}
	if ((ret = guard_host_ensure()))
		msg_err("cannot add the routing rules and IPsec policies: %s",
			strerror(-ret));	/* the table matters more */

	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	if (nft_base_text(f, &b) || state_list(c, &names, &nn)) {
		fclose(f);
		free(buf);
		free(names);
		return sandbox_nft_write(c, self, pol, true);
	}
	ifs = xcalloc(nn + 1, sizeof(*ifs));
	for (i = 0; i < nn; i++) {
		bool me = !strcmp(names[i], self->name);
		struct errlist el = { 0 };
		struct nft_sandbox ns;
		struct policy p;
		struct sb_state s;

		if (state_read(c, names[i], &s) || !s.complete || !s.has_net ||
		    !*s.ifname || (!me && state_status(&s) != SB_RUNNING))
			continue;
		policy_init(&p);
		if (!me && sandbox_load_policy(c, names[i], &p)) {
			policy_free(&p);
			continue;
		}
		sandbox_nft_fill(&ns, &s, me ? pol : &p);
		if (nft_sandbox_add_text(f, &ns, &el)) {
			/* part of it written: give up on the combined script */
			errlist_free(&el);
			policy_free(&p);
			nif = 0;
			break;
		}
		policy_free(&p);
		snprintf(ifs[nif++], sizeof(ifs[0]), "%s", s.ifname);
	}
	fclose(f);
	free(names);
	ret = nif ? nft_run(buf, &err) : -1;
	free(buf);
	free(err);
	if (ret) {
		free(ifs);
		*n = 1;
		return sandbox_nft_write(c, self, pol, true);
	}
	{
		autofclose FILE *hf = fopen(hpath, "we");

		if (hf)
			fprintf(hf, "%016llx\n",
				(unsigned long long)nft_base_hash(&b));
	}
	for (i = 0; i < nif; i++)
		if ((ret = nft_dispatch_set(ifs[i], true)) &&
		    !strcmp(ifs[i], self->ifname))
			msg_err("nftables refused the dispatch entries of %s: %s",
				ifs[i], strerror(-ret));
	*n = nif;
	free(ifs);
	if (sblink_in_use(c))	/* the link sets came back empty */
		sblink_sync(c, NULL, self->name);
	return 1;
}

/**
 * sandbox_nft_del() - remove a sandbox's nftables objects, idempotently
 * @s:		record
 * @pol:	its policy (names its pin sets), or NULL if unknown
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_nft_del(const struct sb_state *s,
			   const struct policy *pol)
{
	char *buf = NULL, *err = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	/* the table's handle: one request, where a listing would fetch
	 * every set with its elements first */
	if (!s->has_net || !*s->ifname || !guard_table_handle())
		return 0;
	/* everything in one transaction (a kernel since 6.3); else, below,
	 * first nothing leads to the chains (fail closed), then they go */
	if (!(ret = nft_sandbox_destroy(s->ifname, pol)))
		return 0;
	if (ret != -EINVAL)
		msg_debug("one-batch removal of sandbox '%s' refused (%s): "
			  "removing it step by step", s->name, strerror(-ret));
	if ((ret = nft_dispatch_set(s->ifname, false))) {
		msg_err("cannot remove the dispatch entries of sandbox '%s': %s",
			s->name, strerror(-ret));
		return -1;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	nft_sandbox_del_text(f, s->ifname, pol);
	fclose(f);
	ret = nft_run(buf, &err);
	free(buf);
	if (ret) {
		msg_err("cannot remove the rules of sandbox '%s': %s", s->name, err);
		free(err);
		return -1;
	}
	return 0;
}

/**
 * sandbox_sysctl_set() - set one sysctl, or say which could not be
 * @root:	netns_sysctl_root(), or its -errno
 * @key:	"net/ipv4/ip_forward"
 * @val:	value
 * @how:	SYSCTL_* flags: SYSCTL_OPTIONAL, a missing key (no IPv6 in the
 *		kernel) is no error; SYSCTL_IF_DIFFERS, see netns_sysctl_at()
 *
 * Return: 0, or -1 after printing which setting failed
 */
#define SYSCTL_OPTIONAL		1
#define SYSCTL_IF_DIFFERS	2
static int sandbox_sysctl_set(int root, const char *key, const char *val,
			      int how)
{
	int err = root < 0 ? root :
		  netns_sysctl_at(root, key, val, how & SYSCTL_IF_DIFFERS);

	if (!err || (err == -ENOENT && (how & SYSCTL_OPTIONAL)))
		return 0;
	msg_err("cannot set %s: %s", key, strerror(-err));
	return -1;
}

/**
 * struct sb_sysctl_inside - what sandbox_sysctls_inside() sets
 * @s:		record
 * @filtered:	the sandbox's network is filtered
 * @root:	netns_sysctl_root(), or its -errno
 */
struct sb_sysctl_inside {
	const struct sb_state *s;
	bool filtered;
	int root;
};

/**
 * sandbox_sysctl_ll() - no link-local address generated on the sandbox's
 * interface, when it has IPv6 (not with a TAP: eth0 has no address)
 * @a:		what sandbox_sysctls_inside() sets
 *
 * The interface gets one the host knows instead (sandbox_setup_net():
 * nft.c accepts neighbour discovery from it only). Set while the link is
 * down, before its addresses.
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_sysctl_ll(const struct sb_sysctl_inside *a)
{
	char key[64];

	if (!a->s->has_v6 || *a->s->tap)
		return 0;
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/addr_gen_mode",
		 a->s->inner);
	return sandbox_sysctl_set(a->root, key, "1", 0);
}

/**
 * sandbox_sysctls_inside() - the sandbox-side settings of sandbox_sysctls()
 * @arg:	struct sb_sysctl_inside
 *
 * Runs with the thread in the sandbox's namespace (netns_run_in()): the
 * keys are looked up as that namespace sees them.
 *
 * Return: 0, or 1 after printing which setting failed (netns_run_in()'s
 *	   own failures are negative)
 */
static int sandbox_sysctls_inside(void *arg)
{
	const struct sb_sysctl_inside *a = arg;
	const struct sb_state *s = a->s;
	char key[64];

	if (s->attached) {
		/* someone else's namespace: only what goes with moat's own
		 * interface; the replies of loopback DNS (nft.c) arrive on it
		 * addressed to 127.0.0.0/8 */
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/route_localnet",
			 s->inner);
		if (a->filtered && sandbox_sysctl_set(a->root, key, "1", 0))
			return 1;
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6",
			 s->inner);
		if (!s->has_v6 &&
		    sandbox_sysctl_set(a->root, key, "1", SYSCTL_OPTIONAL))
			return 1;
		return sandbox_sysctl_ll(a) ? 1 : 0;
	}

	/* ICMP echo sockets for every group, so that an unprivileged ping
	 * works where the policy allows ICMP (no raw socket, no capability:
	 * the kernel builds the header, the host's chains judge the packet
	 * as any other)
	 */
	if (sandbox_sysctl_set(a->root, "net/ipv4/ping_group_range",
			       "0 2147483647", 0))
		return 1;

	/* IPv6 off unless configured (the host side refuses it anyway), and
	 * off for a guest's TAP (sandbox_setup_tap()) */
	if ((!s->has_v6 || *s->tap) &&
	    (sandbox_sysctl_set(a->root, "net/ipv6/conf/all/disable_ipv6", "1",
				SYSCTL_OPTIONAL) ||
	     sandbox_sysctl_set(a->root, "net/ipv6/conf/default/disable_ipv6",
				"1", SYSCTL_OPTIONAL)))
		return 1;
	return sandbox_sysctl_ll(a) ? 1 : 0;
}

/**
 * sandbox_sysctls() - host- and sandbox-side kernel settings
 * @s:		record
 * @nsfd:	sandbox namespace
 *
 * Host side of the veth: no router advertisements or redirects accepted
 * or sent, strict reverse-path filtering (with the packet's mark, so
 * that guard.c's routing rule refuses what moat's table did not pass,
 * local destinations included), no route_localnet (martian
 * loopback destinations stay martian), ARP answered only for the
 * gateway's own address, and no IPv6 at all when the sandbox has none.
 * Inside: ICMP echo ("ping") sockets open to every group. Inside an
 * attached sandbox's namespace, only settings of moat's own interface:
 * route_localnet (network filtered: loopback DNS, nft.c), and IPv6 off
 * on it when the sandbox has none.
 *
 * Both sides' keys are looked up in a proc instance of moat's own
 * (netns_sysctl_root(): through the shared /proc, a path through
 * /proc/sys/net/ipv4 costs a walk that grows with the number of
 * namespaces), and forwarding is written only when it is off (a write of
 * IPv6 forwarding walks every interface of the host, changed or not).
 *
 * Return: 0, or -1 after printing which setting failed
 */
static int sandbox_sysctls(const struct sb_state *s, int nsfd)
{
	autoclose int root = netns_sysctl_root();
	struct sb_sysctl_inside in = {
		.s = s,
		.filtered = !strcmp(s->mode, net_mode_name(NET_FILTERED)),
		.root = root,
	};
	static const char *const host4[][2] = {
		{ "rp_filter", "1" }, { "src_valid_mark", "1" },
		{ "route_localnet", "0" },
		{ "accept_redirects", "0" }, { "send_redirects", "0" },
		{ "accept_source_route", "0" }, { "proxy_arp", "0" },
		{ "arp_ignore", "1" }, { "arp_announce", "2" },
	};
	char key[128];
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(host4); i++) {
		snprintf(key, sizeof(key), "net/ipv4/conf/%s/%s", s->ifname,
			 host4[i][0]);
		if (sandbox_sysctl_set(root, key, host4[i][1], 0))
			return -1;
	}
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", s->ifname);
	if (sandbox_sysctl_set(root, key, s->has_v6 ? "0" : "1",
			       SYSCTL_OPTIONAL))
		return -1;
	if (s->has_v6) {
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra",
			 s->ifname);
		if (sandbox_sysctl_set(root, key, "0", 0))
			return -1;
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_redirects",
			 s->ifname);
		if (sandbox_sysctl_set(root, key, "0", 0))
			return -1;
	}

	/* moat routes for its sandboxes, as Docker does (docs/HOST.md) */
	if (sandbox_sysctl_set(root, "net/ipv4/ip_forward", "1",
			       SYSCTL_IF_DIFFERS))
		return -1;
	if (s->has_v6 &&
	    sandbox_sysctl_set(root, "net/ipv6/conf/all/forwarding", "1",
			       SYSCTL_IF_DIFFERS))
		return -1;

	err = netns_run_in(nsfd, sandbox_sysctls_inside, &in);
	if (err > 0)
		return -1;
	if (err < 0) {
		msg_err("cannot enter the sandbox's namespace: %s",
			strerror(-err));
		return -1;
	}
	return 0;
}

/**
 * sandbox_ifb_name() - name of the IFB device shaping a sandbox's egress
 * @s:		record
 * @buf:	16 bytes
 *
 * Deliberately outside the "moat*" interface prefix the table dispatches
 * on: the IFB device is never a sandbox's interface.
 */
static void sandbox_ifb_name(const struct sb_state *s, char *buf)
{
	snprintf(buf, 16, "ifbmoat%u", s->idx);
}

/**
 * sandbox_inner_dns() - DNS to a loopback resolver, inside an attached
 * sandbox's namespace, to the interceptor on its gateway
 * @s:		record
 * @in:		route netlink in the sandbox's namespace
 * @nsfd:	the namespace
 *
 * The table "inet moat_dns" (nft_inner_dns_text()) and, for IPv6, a
 * local route for ::1 through moat's interface, behind lo's own, which
 * the replies need (route_localnet, their IPv4 counterpart, is set with
 * the other sysctls). Both go with the interface; the table is removed
 * by tear-down.
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_inner_dns(const struct sb_state *s, struct link_ctx *in,
			     int nsfd)
{
	char *buf = NULL, *err = NULL;
	struct prefix lo6;
	size_t len = 0;
	FILE *f;
	int ret;

	if (s->has_v6) {
		if (prefix_parse("::1/128", &lo6, false))
			return -1;
		ret = link_route_add_local(in, &lo6, s->inner, SANDBOX_LO6_METRIC);
		if (ret && ret != -EEXIST) {
			msg_err("cannot add the route of ::1 through %s: %s",
				s->inner, strerror(-ret));
			return -1;
		}
	}
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	nft_inner_dns_del_text(f);
	nft_inner_dns_text(f, s->inner, &s->gw4, s->has_v6 ? &s->gw6 : NULL);
	fclose(f);
	ret = nft_run_in(nsfd, buf, &err);
	free(buf);
	if (ret) {
		msg_err("cannot add the table " NFT_INNER_TABLE " inside the "
			"namespace (DNS to a loopback resolver): %s", err);
		free(err);
		return -1;
	}
	msg_debug_step("create: loopback DNS");
	return 0;
}

/**
 * sandbox_setup_tap() - a guest's TAP device, wired to the namespace's eth0
 * @s:		record, with @tap
 * @in:		route netlink in the sandbox namespace
 * @nsfd:	sandbox namespace
 *
 * eth0 gets no address and the namespace no IPv6 (its stack would send
 * router solicitations and reports from eth0's MAC, which the host drops
 * as spoofed; sandbox_sysctls() turns it off): the guest is the
 * sandbox's only host. The TAP is up before
 * any VMM attaches, as QEMU with "script=no" and Firecracker expect.
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_setup_tap(const struct sb_state *s, struct link_ctx *in,
			     int nsfd)
{
	int err;

	if ((err = link_tap_add(nsfd, s->tap, s->tap_owner))) {
		msg_err("cannot create the TAP device %s: %s", s->tap,
			strerror(-err));
		return -1;
	}
	if ((err = link_wire(in, "eth0", s->tap)) || (err = link_up(in, s->tap))) {
		msg_err("cannot wire the TAP device %s to eth0: %s", s->tap,
			strerror(-err));
		return -1;
	}
	return 0;
}

/**
 * sandbox_tap_del() - delete a sandbox's TAP device, if it has one
 * @s:		record
 *
 * Return: 0 (also when the namespace or the device is gone already), or
 *	   -1 after printing why
 */
static int sandbox_tap_del(const struct sb_state *s)
{
	struct link_ctx *in;
	autoclose int nsfd = -1;
	int err;

	if (!*s->tap || !*s->netns)
		return 0;
	nsfd = netns_open(s->netns);
	if (nsfd == -ENOENT)
		return 0;
	in = nsfd < 0 ? NULL : link_open(nsfd);
	if (!in) {
		msg_err("cannot open route netlink in %s to delete %s",
			s->netns, s->tap);
		return -1;
	}
	err = link_del(in, s->tap);
	link_close(in);
	if (err && err != -ENODEV && err != -ENOENT) {
		msg_err("cannot delete %s: %s", s->tap, strerror(-err));
		return -1;
	}
	return 0;
}

/**
 * sandbox_tap_name_ok() - whether a name may be a sandbox's TAP device
 * @name:	"tap0", say
 *
 * An interface name (1 to 15 letters, digits, '-', '_' or '.', not "." or
 * "..") other than the two the namespace has already, lo and eth0.
 *
 * Return: true if it may
 */
bool sandbox_tap_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n > 15 || !strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "lo") || !strcmp(name, "eth0"))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}

/**
 * sandbox_guest_mac() - the MAC of a sandbox's guest
 * @instance:	the sandbox's instance
 * @mac:	set to 02:6d followed by @instance, big-endian
 *
 * Locally administered (0x02), unicast, "m" (0x6d) for moat, and as unique
 * as instances are; the same for the sandbox's whole life, so it can be
 * given to the VMM before the guest boots and checked by the host's rules
 * from the first frame.
 */
static void sandbox_guest_mac(uint32_t instance, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x6d;
	mac[2] = (uint8_t)(instance >> 24);
	mac[3] = (uint8_t)(instance >> 16);
	mac[4] = (uint8_t)(instance >> 8);
	mac[5] = (uint8_t)instance;
}

/**
 * sandbox_tap_text() - one line about a sandbox's TAP and its guest
 * @s:		record, with @tap
 * @buf:	output
 * @len:	its size, SANDBOX_TAP_TEXT_LEN will do
 *
 * Return: @buf: "tap0 (owner 1000), guest MAC 02:6d:.., 10.231.0.6/30
 *	   via 10.231.0.5[, IPv6 ADDR/64]"
 */
const char *sandbox_tap_text(const struct sb_state *s, char *buf, size_t len)
{
	char mac[ADDR_MAC_STRLEN], a4[INET6_ADDRSTRLEN], g4[INET6_ADDRSTRLEN];
	char a6[INET6_ADDRSTRLEN] = "";

	inet_ntop(AF_INET, s->addr4.addr, a4, sizeof(a4));
	inet_ntop(AF_INET, s->gw4.addr, g4, sizeof(g4));
	if (s->has_v6)
		inet_ntop(AF_INET6, s->addr6.addr, a6, sizeof(a6));
	snprintf(buf, len, "%s (owner %u), guest MAC %s, %s/30 via %s%s%s%s",
		 s->tap, (unsigned)s->tap_owner,
		 addr_mac_format(s->guest_mac, mac), a4, g4,
		 *a6 ? ", " : "", a6, *a6 ? "/64" : "");
	return buf;
}

/**
 * sandbox_tap_env() - tell a command started in the sandbox about its guest
 * @s:		record
 *
 * With a TAP device: MOAT_TAP, MOAT_GUEST_MAC, MOAT_GUEST_IPV4 (with its
 * length), MOAT_GATEWAY4 and, with IPv6, MOAT_GUEST_IPV6, set in moat's
 * environment, which the command inherits: what a VMM's command line
 * needs ("mac=$MOAT_GUEST_MAC", a kernel "ip=" parameter) without asking
 * "moat inspect" first, also for "moat run", whose sandbox is new.
 */
void sandbox_tap_env(const struct sb_state *s)
{
	char mac[ADDR_MAC_STRLEN], b[INET6_ADDRSTRLEN + 4];

	if (!*s->tap)
		return;
	setenv("MOAT_TAP", s->tap, 1);
	setenv("MOAT_GUEST_MAC", addr_mac_format(s->guest_mac, mac), 1);
	inet_ntop(AF_INET, s->addr4.addr, b, INET6_ADDRSTRLEN);
	strcat(b, "/30");
	setenv("MOAT_GUEST_IPV4", b, 1);
	inet_ntop(AF_INET, s->gw4.addr, b, sizeof(b));
	setenv("MOAT_GATEWAY4", b, 1);
	if (s->has_v6) {
		inet_ntop(AF_INET6, s->addr6.addr, b, INET6_ADDRSTRLEN);
		strcat(b, "/64");
		setenv("MOAT_GUEST_IPV6", b, 1);
	}
}

/**
 * sandbox_setup_net() - namespace contents: links, addresses, routes, rules
 * @c:		settings
 * @s:		record
 * @pol:	effective policy
 * @nsfd:	sandbox namespace
 *
 * Return: 0, or -1 after printing why
 */
static int sandbox_setup_net(const struct moat_config *c,
			     const struct sb_state *s,
			     const struct policy *pol, int nsfd)
{
	struct link_ctx *host = NULL, *in = NULL;
	struct prefix a;
	int err, ret = -1;

	in = link_open(nsfd);
	if (!in) {
		msg_err("cannot open route netlink in the sandbox namespace");
		goto out;
	}
	if (!s->attached && (err = link_up(in, "lo"))) {
		msg_err("cannot set lo up in the sandbox: %s", strerror(-err));
		goto out;
	}
	if (!s->has_net) {
		ret = 0;
		goto out;
	}

	host = link_open(-1);
	if (!host) {
		msg_err("cannot open route netlink");
		goto out;
	}
	if ((err = link_veth_add(host, s->ifname, nsfd, s->inner))) {
		msg_err("cannot create the veth pair %s/%s: %s", s->ifname,
			s->inner, strerror(-err));
		goto out;
	}
	msg_debug_step("create: veth");
	if (sandbox_sysctls(s, nsfd))
		goto out;
	msg_debug_step("create: sysctls");
	if ((err = guard_link_attach(s->ifname))) {
		msg_err("cannot add the traffic control filter marking what %s "
			"sends: %s", s->ifname, strerror(-err));
		goto out;
	}
	msg_debug_step("create: guard");

	a = s->gw4;
	a.plen = 30;
	if ((err = link_addr_add(host, s->ifname, &a, false)))
		goto addr_fail;
	if (s->has_v6) {
		a = s->gw6;
		a.plen = 64;
		if ((err = link_addr_add(host, s->ifname, &a, true)))
			goto addr_fail;
	}
	if (*s->tap) {
		if (sandbox_setup_tap(s, in, nsfd))
			goto out;
		goto inside_done;
	}
	a = s->addr4;
	a.plen = 30;
	if ((err = link_addr_add(in, s->inner, &a, false)))
		goto addr_fail;
	if (s->has_v6) {
		a = s->addr6;
		a.plen = 64;
		if ((err = link_addr_add(in, s->inner, &a, true)))
			goto addr_fail;
		/* a link-local address the host knows (nft.c accepts
		 * neighbour discovery from it only): none generated
		 * (sandbox_sysctl_ll()) */
		if (prefix_parse(NFT_SANDBOX_LL, &a, false)) {
			err = -EINVAL;
			goto addr_fail;
		}
		a.plen = 64;
		if ((err = link_addr_add(in, s->inner, &a, true)))
			goto addr_fail;
	}

inside_done:
	msg_debug_step("create: addresses");
	if (pol->bandwidth_bps) {
		char ifb[16];

		sandbox_ifb_name(s, ifb);
		if ((err = link_shape(host, s->ifname, ifb, pol->bandwidth_bps,
				      pol->bandwidth_bps))) {
			msg_err("cannot limit the bandwidth of %s to %llu bit/s: %s",
				s->ifname,
				(unsigned long long)pol->bandwidth_bps,
				err == -ERANGE ? "rate out of range (at most about 17 Gbit/s)"
					       : strerror(-err));
			goto out;
		}
	}

	if (sandbox_nft_add(c, s, pol))
		goto out;
	msg_debug_step("create: rules");

	if ((err = link_up(host, s->ifname)) || (err = link_up(in, s->inner))) {
		msg_err("cannot set the sandbox's links up: %s", strerror(-err));
		goto out;
	}
	if (*s->tap) {
		ret = 0;	/* the guest's routes come with its address */
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	if ((err = link_route_add(in, &a, s->inner, &s->gw4))) {
		msg_err("cannot add the sandbox's default route: %s", strerror(-err));
		goto out;
	}
	if (s->has_v6) {
		a.family = AF_INET6;
		if ((err = link_route_add(in, &a, s->inner, &s->gw6))) {
			msg_err("cannot add the sandbox's IPv6 default route: %s",
				strerror(-err));
			goto out;
		}
	}
	if (s->attached && pol->mode == NET_FILTERED &&
	    sandbox_inner_dns(s, in, nsfd))
		goto out;
	ret = 0;
	goto out;

addr_fail:
	msg_err("cannot add the sandbox's addresses: %s", strerror(-err));
out:
	if (host)
		link_close(host);
	if (in)
		link_close(in);
	return ret;
}

/**
 * sandbox_write_policy() - store the effective policy, normalised
 * @c:		settings
 * @name:	sandbox
 * @pol:	policy
 *
 * Return: 0 or -errno
 */
static int sandbox_write_policy(const struct moat_config *c, const char *name,
				const struct policy *pol)
{
	autofree char *path = state_path(c, name, "policy.yaml");
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	policy_print(pol, f);
	if (fclose(f))
		return -errno;
	return 0;
}

/**
 * sandbox_load_policy() - load a sandbox's stored effective policy
 * @c:		settings
 * @name:	sandbox
 * @p:		initialised policy to fill
 *
 * Return: 0, or -1 after printing why
 */
int sandbox_load_policy(const struct moat_config *c, const char *name,
			struct policy *p)
{
	autofree char *path = state_path(c, name, "policy.yaml");
	struct errlist el = { 0 };
	int ret;

	ret = policy_load_file(p, path, &el);
	if (ret)
		errlist_print(&el, stderr);
	errlist_free(&el);
	return ret;
}

/**
 * sandbox_ifname_valid() - whether a name may be moat's interface inside
 * an attached namespace
 * @name:	the name (moat attach --ifname, a CNI runtime's CNI_IFNAME)
 *
 * 1 to 15 letters, digits, '_', '.' or '-', not "lo", "." or "..".
 *
 * Return: true if valid
 */
bool sandbox_ifname_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n >= IFNAMSIZ || !strcmp(name, "lo") || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = name[i];

		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return false;
	}
	return true;
}

/**
 * sandbox_owner_of() - the sandbox whose inside a namespace is
 * @c:		settings
 * @id:		the namespace's identity
 * @except:	a sandbox not to count, or NULL
 * @name:	set to the sandbox's name
 * @len:	size of @name
 *
 * A created sandbox's namespace is compared by its path; an attached
 * one's by the identity in its record, as long as its interface exists
 * (the identity of a namespace that is gone may be another's now).
 *
 * Return: 1 if found, 0 if not, -errno if the records cannot be listed
 */
static int sandbox_owner_of(const struct moat_config *c,
			    const struct netns_ident *id, const char *except,
			    char *name, size_t len)
{
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	size_t n = 0, i;
	int ret;

	ret = state_list(c, &names, &n);
	for (i = 0; !ret && i < n; i++) {
		struct netns_ident other;
		struct sb_state s;

		if ((except && !strcmp(names[i], except)) ||
		    state_read(c, names[i], &s))
			continue;
		if (s.attached) {
			other.dev = s.netns_dev;
			other.ino = s.netns_ino;
			if (!netns_ident_eq(id, &other) ||
			    (s.has_net && *s.ifname && s.complete &&
			     !if_nametoindex(s.ifname)))
				continue;
		} else if (netns_ident_path(s.netns, &other) ||
			   !netns_ident_eq(id, &other)) {
			continue;
		}
		snprintf(name, len, "%s", s.name);
		ret = 1;
	}
	free(names);
	return ret;
}

/**
 * sandbox_attached_to() - which sandbox a namespace is the inside of
 * @c:		settings
 * @nsfd:	the namespace
 * @name:	set to the sandbox's name, if any
 * @len:	size of @name
 *
 * For a runtime's hook or plugin asked twice about one container. The
 * answer can change once the global lock is released.
 *
 * Return: 1 if a sandbox has it (@name set), 0 if none, -errno
 */
int sandbox_attached_to(const struct moat_config *c, int nsfd, char *name,
			size_t len)
{
	struct netns_ident id;
	int ret = netns_ident_fd(nsfd, &id);

	return ret ? ret : sandbox_owner_of(c, &id, NULL, name, len);
}

/**
 * struct sb_found - what sandbox_attach_check() learnt of a namespace
 * @id:		its identity
 * @v6_off:	IPv6 is off inside for new interfaces (the runtime's choice,
 *		or a kernel without it): the sandbox gets none
 */
struct sb_found {
	struct netns_ident id;
	bool v6_off;
};

/**
 * sandbox_attach_check() - refuse a namespace that cannot be attached
 * @c:		settings
 * @a:		the namespace
 * @s:		the record being made (@s->netns and @s->inner set)
 * @f:		filled in
 *
 * Refused: the namespace moat runs in (the host's), another sandbox's,
 * and one with any interface but lo (a container with a network already,
 * or moat's interface name taken). Called under the global lock.
 *
 * Return: 0, SANDBOX_REFUSED or -1 after printing why
 */
static int sandbox_attach_check(const struct moat_config *c,
				const struct sb_attach *a,
				const struct sb_state *s, struct sb_found *f)
{
	char (*ifs)[16] = NULL, other[MOAT_NAME_MAX + 1], val[16];
	char list[128] = "";
	struct netns_ident self;
	struct link_ctx *in;
	size_t n = 0, i;
	int ret;

	if ((ret = netns_ident_fd(a->nsfd, &f->id)) ||
	    (ret = netns_ident_path(NULL, &self))) {
		msg_err("cannot identify the namespace %s: %s", s->netns,
			strerror(-ret));
		return -1;
	}
	if (netns_ident_eq(&f->id, &self)) {
		msg_err("%s is the network namespace moat runs in (the host's): "
			"attach a container's namespace instead", s->netns);
		return SANDBOX_REFUSED;
	}
	ret = sandbox_owner_of(c, &f->id, NULL, other, sizeof(other));
	if (ret < 0) {
		msg_err("cannot list %s: %s", c->run_dir, strerror(-ret));
		return -1;
	}
	if (ret) {
		msg_err("%s is already the network namespace of sandbox '%s'",
			s->netns, other);
		return SANDBOX_REFUSED;
	}

	in = link_open(a->nsfd);
	if (!in) {
		msg_err("cannot open route netlink in %s: %s", s->netns,
			strerror(errno));
		return -1;
	}
	ret = link_list_names(in, NULL, &ifs, &n);
	link_close(in);
	if (ret < 0) {
		msg_err("cannot list the interfaces of %s: %s", s->netns,
			strerror(-ret));
		free(ifs);
		return -1;
	}
	for (i = 0, ret = 0; i < n; i++) {
		if (!strcmp(ifs[i], "lo"))
			continue;
		if (!strcmp(ifs[i], s->inner))
			ret = 1;
		if (strlen(list) + strlen(ifs[i]) + 8 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", *list ? ", " : "", ifs[i]);
		else if (!strstr(list, "..."))
			strcat(list, ", ...");
	}
	free(ifs);
	if (ret) {
		msg_err("%s already has an interface named %s", s->netns,
			s->inner);
		return SANDBOX_REFUSED;
	}
	if (*list) {
		msg_err("%s has interfaces other than lo (%s): moat attaches "
			"only to a namespace with nothing but lo", s->netns, list);
		return SANDBOX_REFUSED;
	}

	/* IPv6 turned off inside (Docker does, for one): none for the
	 * sandbox either, or its addresses could not be added */
	f->v6_off = netns_sysctl_read(a->nsfd, "net/ipv6/conf/default/disable_ipv6",
				      val, sizeof(val)) || strcmp(val, "0") ||
		    netns_sysctl_read(a->nsfd, "net/ipv6/conf/all/disable_ipv6",
				      val, sizeof(val)) || strcmp(val, "0");
	return 0;
}

static int sandbox_teardown_ns(const struct moat_config *c,
			       const struct sb_state *s, int nsfd);

/**
 * sandbox_create() - create a sandbox, completely or not at all
 * @c:		settings
 * @o:		what to create; with @o->attach, the inside is that namespace
 * @out:	the record of the new sandbox
 *
 * Return: 0, SANDBOX_REFUSED if the namespace to attach cannot be (see
 *	   sandbox_attach_check()) or another table's forward chain would
 *	   drop the sandbox's traffic (hostfw_prepare()), or -1; both after printing why (nothing
 *	   is left behind, and an attached namespace is as it was)
 */
int sandbox_create(const struct moat_config *c, const struct sb_opts *o,
		   struct sb_state *out)
{
	const struct sb_attach *at = o->attach;
	struct sb_found found = { 0 };
	struct sb_state s = { 0 };
	autofree char *dir = NULL;
	struct link_ctx *host = NULL;
	autoclose int own_nsfd = -1;
	int lock, err, nsfd = -1;
	struct stat st;

	if (at && o->pol->mode == NET_NONE) {
		msg_err("network none: an attached namespace gets moat's network, "
			"and none has none");
		return -1;
	}
	if (at && at->ifname && !sandbox_ifname_valid(at->ifname)) {
		msg_err("interface name '%s': use 1 to %d letters, digits, '_', "
			"'.' or '-', not lo", at->ifname, IFNAMSIZ - 1);
		return -1;
	}
	if (at && o->tap) {
		msg_err("a TAP device is for a sandbox moat makes: an attached "
			"namespace is its container's");
		return -1;
	}
	if (at && (!at->path || strlen(at->path) >= sizeof(s.netns))) {
		msg_err("the path of the namespace to attach is missing or too long");
		return -1;
	}
	msg_debug_step(NULL);
	lock = state_lock(c);
	if (lock < 0) {
		msg_err("cannot lock %s: %s", c->run_dir, strerror(-lock));
		return -1;
	}
	msg_debug_step("create: lock");

	snprintf(s.name, sizeof(s.name), "%s", o->name);
	if (at)
		snprintf(s.netns, sizeof(s.netns), "%s", at->path);
	else
		snprintf(s.netns, sizeof(s.netns), NETNS_RUN_DIR "/moat-%s", o->name);
	snprintf(s.inner, sizeof(s.inner), "%s",
		 at && at->ifname ? at->ifname : STATE_INNER_DEFAULT);
	s.attached = at != NULL;
	snprintf(s.mode, sizeof(s.mode), "%s", net_mode_name(o->pol->mode));
	s.has_net = o->pol->mode != NET_NONE;
	s.run_mode = o->run_mode;
	if (o->run_mode && o->watch_pid > 0 &&
	    !state_proc_starttime(o->watch_pid, &s.run_start))
		s.run_pid = o->watch_pid;	/* "moat adopt" watches it again */
	s.created = time(NULL);

	dir = state_dir(c, o->name);
	if (!stat(dir, &st)) {
		msg_err("a sandbox named '%s' already exists", o->name);
		state_unlock(lock);
		return -1;
	}
	if (at) {
		err = sandbox_attach_check(c, at, &s, &found);
		if (err) {
			state_unlock(lock);
			return err;
		}
		s.netns_dev = found.id.dev;
		s.netns_ino = found.id.ino;
		msg_debug_step("create: namespace to attach checked");
	} else if (!stat(s.netns, &st)) {
		msg_err("%s already exists: another tool or an unfinished "
			"removal uses the name '%s'", s.netns, o->name);
		state_unlock(lock);
		return -1;
	}
	if (o->tap && (!s.has_net || !sandbox_tap_name_ok(o->tap))) {
		msg_err(s.has_net ? "'%s' cannot be a TAP device's name" :
			"a TAP device needs a network ('%s' with network none)",
			o->tap);
		state_unlock(lock);
		return -1;
	}
	if (s.has_net) {
		err = hostfw_prepare(o->allow_foreign_drop);
		if (err) {
			state_unlock(lock);
			return err == HOSTFW_REFUSED ? SANDBOX_REFUSED : -1;
		}
		msg_debug_step("create: host's other forward chains");
	}

	if (s.has_net) {
		host = link_open(-1);
		if (!host) {
			msg_err("cannot open route netlink");
			state_unlock(lock);
			return -1;
		}
		/* routes and addresses read, nothing changed, until closed */
		link_names_hold(host, true);
		s.has_v6 = sandbox_host_has_ipv6(host) && !found.v6_off;
		if (sandbox_check_pool(c, host, s.has_v6)) {
			link_close(host);
			state_unlock(lock);
			return -1;
		}
		err = state_alloc_index(c, &s.idx);
		if (err) {
			msg_err(err == -ENOSPC ? "the sandbox pool is exhausted" :
				"cannot allocate an address: %s", strerror(-err));
			link_close(host);
			state_unlock(lock);
			return -1;
		}
		state_addresses(c, &s);
		s.instance = sandbox_new_instance();
		s.proxy = sandbox_proxy_wanted(o->pol);
		if (!s.has_v6) {
			memset(&s.addr6, 0, sizeof(s.addr6));
			memset(&s.gw6, 0, sizeof(s.gw6));
		}
		if (o->tap) {
			snprintf(s.tap, sizeof(s.tap), "%s", o->tap);
			s.tap_owner = o->tap_owner;
			sandbox_guest_mac(s.instance, s.guest_mac);
			if (s.has_v6)	/* what it takes from the worker's RA */
				addr_eui64(s.addr6.addr, s.guest_mac, &s.addr6);
		}
		snprintf(s.ifname, sizeof(s.ifname), NFT_IFPREFIX "%u", s.idx);
		err = link_exists(host, s.ifname);
		link_close(host);
		msg_debug_step("create: pool and address");
		if (err != 0) {
			msg_err(err > 0 ? "interface %s exists but no sandbox owns "
				"it: remove it first" : "cannot look up %s", s.ifname);
			state_unlock(lock);
			return -1;
		}
	}

	if ((err = state_write(c, &s)) ||
	    (err = sandbox_write_policy(c, s.name, o->pol))) {
		msg_err("cannot write the state of sandbox '%s': %s", s.name,
			strerror(-err));
		state_remove(c, s.name);
		state_unlock(lock);
		return -1;
	}

	msg_debug_step("create: state");
	if (at) {
		nsfd = at->nsfd;
	} else {
		if ((err = netns_create(s.netns))) {
			msg_err("cannot create %s: %s", s.netns, strerror(-err));
			goto fail;
		}
		msg_debug_step("create: netns");
		nsfd = own_nsfd = netns_open(s.netns);
		if (nsfd < 0) {
			msg_err("cannot open %s: %s", s.netns, strerror(-nsfd));
			goto fail;
		}
	}
	/* no element a failed sync left may name its interface (sblink.c) */
	if (sblink_dirty(c) && sblink_sync(c, NULL, NULL))
		goto fail;
	if (sandbox_setup_net(c, &s, o->pol, nsfd))
		goto fail;
	msg_debug_step("create: links, addresses, rules");
	if (supervisor_start(c, &s, o->run_mode ? o->watch_pid : 0,
			     &s.supervisor_pid, &s.supervisor_start))
		goto fail;
	msg_debug_step("create: supervisor");
	s.complete = true;
	if ((err = state_write(c, &s))) {
		msg_err("cannot write the state of sandbox '%s': %s", s.name,
			strerror(-err));
		goto fail;
	}
	/* links to and from it open now (sblink.c) */
	if (sblink_concerns(c, s.name, o->pol, NULL) &&
	    sblink_sync(c, NULL, NULL))
		goto fail;
	state_unlock(lock);
	*out = s;
	return 0;

fail:
	supervisor_stop(&s);
	sandbox_teardown_ns(c, &s, nsfd);
	state_unlock(lock);
	return -1;
}

/**
 * sandbox_netns_open() - open a sandbox's network namespace
 * @s:		record
 *
 * A created sandbox's is at its path; an attached one's is found again by
 * its identity (netns_find()). The descriptor keeps the namespace alive
 * while open: close it soon.
 *
 * Return: close-on-exec descriptor, or -errno (-ENOENT: it is gone)
 */
int sandbox_netns_open(const struct sb_state *s)
{
	struct netns_ident id = { .dev = s->netns_dev, .ino = s->netns_ino };

	return s->attached ? netns_find(s->netns, &id) : netns_open(s->netns);
}

/**
 * sandbox_forget_flows() - delete the sandbox's entries from the host's
 * conntrack table, once its link and rules are gone
 * @s:		record
 *
 * Every connection of the sandbox instance carries its instance mark
 * (nft.c, nft_instance_rules(): its own, the host's published-port relays
 * into it and its supervisor's onward connections), so one flush by mark
 * (conntrack.c) takes them all. Without it they would stay until they
 * time out (established TCP: five days), and a sandbox created, flooded
 * and removed over and over would fill the table. A failure is only a
 * warning: the entries then time out by themselves, and serve no other
 * sandbox meanwhile (their mark is no other instance's).
 */
static void sandbox_forget_flows(const struct sb_state *s)
{
	int err;

	if (!s->instance)
		return;
	err = conntrack_flush_mark(s->instance);
	if (err)
		msg_warn("cannot remove the connections of '%s' from the host's conntrack table: %s",
			 s->name, strerror(-err));
}

/**
 * sandbox_inner_dns_del() - remove the table inside an attached sandbox's
 * namespace, if the namespace still lives
 * @c:		settings
 * @s:		record
 * @nsfd:	the namespace, or -1 to look for it (sandbox_netns_open())
 *
 * A namespace found by the identity of one that ended may be a later
 * one's (the kernel reuses inode numbers): if another sandbox has it,
 * its table is that sandbox's and stays.
 *
 * Return: 0 (also when the namespace is gone, and the table with it), or
 *	   -1 after printing why
 */
static int sandbox_inner_dns_del(const struct moat_config *c,
				 const struct sb_state *s, int nsfd)
{
	char *buf = NULL, *err = NULL, other[MOAT_NAME_MAX + 1];
	autoclose int found = -1;
	struct netns_ident id;
	size_t len = 0;
	FILE *f;
	int ret;

	if (nsfd < 0) {
		found = sandbox_netns_open(s);
		if (found == -ENOENT)
			return 0;
		if (found < 0) {
			msg_err("cannot look for the namespace %s: %s", s->netns,
				strerror(-found));
			return -1;
		}
		if (!netns_ident_fd(found, &id) &&
		    sandbox_owner_of(c, &id, s->name, other, sizeof(other)) == 1)
			return 0;
		nsfd = found;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	nft_inner_dns_del_text(f);
	fclose(f);
	ret = nft_run_in(nsfd, buf, &err);
	free(buf);
	if (ret) {
		msg_err("cannot remove the table " NFT_INNER_TABLE " inside %s: %s",
			s->netns, err);
		free(err);
		return -1;
	}
	return 0;
}

/**
 * sandbox_teardown() - remove everything a sandbox has; idempotent
 * @c:		settings
 * @s:		record (its supervisor must already be stopped)
 *
 * Return: 0, or -1 if something could not be removed (the record is then
 *	   kept, so that "moat rm -f" can finish the job)
 */
int sandbox_teardown(const struct moat_config *c, const struct sb_state *s)
{
	return sandbox_teardown_ns(c, s, -1);
}

/**
 * sandbox_teardown_ended() - sandbox_teardown() of an attached sandbox
 * whose interface the kernel deleted (its namespace ended)
 * @c:		settings
 * @s:		record (its supervisor must already be stopped, or be the
 *		caller)
 *
 * For the sandbox's own supervisor, whose core joins no namespace
 * (isolate.c: setns() is refused to it): the namespace is not looked
 * for. When it ended, the table inside went with it; if someone deleted
 * the interface by hand while the container runs, the table stays in its
 * namespace (moat-attach(1)).
 *
 * Return: 0, or -1 if something could not be removed
 */
int sandbox_teardown_ended(const struct moat_config *c,
			   const struct sb_state *s)
{
	return sandbox_teardown_ns(c, s, SANDBOX_NS_GONE);
}

/**
 * sandbox_links_del() - delete a sandbox's host-side link and its IFB
 * @s:		record
 *
 * Links already gone are not an error.
 *
 * Return: 0, or -1 after printing what could not be deleted
 */
static int sandbox_links_del(const struct sb_state *s)
{
	struct link_ctx *host = link_open(-1);
	char ifb[16];
	int ret = 0, err;

	if (!host) {
		msg_err("cannot open route netlink");
		return -1;
	}
	err = link_del(host, s->ifname);
	if (err && err != -ENODEV && err != -ENOENT) {
		msg_err("cannot delete %s: %s", s->ifname, strerror(-err));
		ret = -1;
	}
	/* The bandwidth limit's IFB, if any, after the veth that redirects
	 * to it (see link_shape()) */
	sandbox_ifb_name(s, ifb);
	err = link_del(host, ifb);
	if (err && err != -ENODEV && err != -ENOENT) {
		msg_err("cannot delete %s: %s", ifb, strerror(-err));
		ret = -1;
	}
	link_close(host);
	return ret;
}

/**
 * sandbox_teardown_ns() - sandbox_teardown(), knowing the namespace
 * @c:		settings
 * @s:		record (its supervisor must already be stopped)
 * @nsfd:	the sandbox's namespace, or -1 (an attached sandbox's is then
 *		looked for, a created one's is known by its path), or
 *		SANDBOX_NS_GONE (an attached sandbox's namespace ended)
 *
 * An attached sandbox's namespace is left where it is: only moat's
 * interface (deleted with its host end) and the table moat added inside
 * are removed from it.
 *
 * Return: 0, or -1 if something could not be removed
 */
static int sandbox_teardown_ns(const struct moat_config *c,
			       const struct sb_state *s, int nsfd)
{
	int ret = 0, err;

	msg_debug_step(NULL);
	if (s->has_net && *s->ifname) {
		/* The rules first: with its dispatch entries gone the link
		 * meets the base chains' drops (fail closed, and nothing runs
		 * inside any more). The kernel's release of the removed
		 * rules and the link's deletion then wait for the same RCU
		 * grace periods (nft_destroy_settle() after the link).
		 */
		{
			struct policy pol;
			bool have, links;

			autofree char *pp = state_path(c, s->name,
						       "policy.yaml");

			policy_init(&pol);
			have = !access(pp, F_OK) &&
			       !sandbox_load_policy(c, s->name, &pol);
			links = sblink_concerns(c, s->name,
						have ? &pol : NULL, NULL);
			/* its links close before its rules go (sblink.c) */
			if (links && sblink_sync(c, s->name, s->name))
				ret = -1;
			if (sandbox_nft_del(s, have ? &pol : NULL))
				ret = -1;
			policy_free(&pol);
		}
		msg_debug_step("teardown: rules");
		if (sandbox_links_del(s))
			ret = -1;
		msg_debug_step("teardown: link");
		nft_destroy_settle();
		msg_debug_step("teardown: rules released");
		if (s->attached && nsfd != SANDBOX_NS_GONE &&
		    !strcmp(s->mode, net_mode_name(NET_FILTERED)) &&
		    sandbox_inner_dns_del(c, s, nsfd))
			ret = -1;
		msg_debug_step("teardown: inside");
		sandbox_forget_flows(s);
		msg_debug_step("teardown: conntrack");
	}
	if (sandbox_tap_del(s))
		ret = -1;
	msg_debug_step("teardown: tap");
	if (!s->attached && *s->netns && (err = netns_remove(s->netns))) {
		msg_err("cannot remove %s: %s", s->netns, strerror(-err));
		ret = -1;
	}
	msg_debug_step("teardown: netns");
	if (ret == 0)
		log_archive(c, s->name);	/* "moat logs" after the end */
	if (ret == 0 && (err = state_remove(c, s->name))) {
		msg_err("cannot remove the state of '%s': %s", s->name,
			strerror(-err));
		ret = -1;
	}
	if (ret == 0) {		/* the last one: its scratch namespace goes */
		char (*names)[MOAT_NAME_MAX + 1] = NULL;
		size_t nn = 1;

		if (!state_list(c, &names, &nn) && nn == 0)
			nftx_scratch_remove(c->run_dir);
		free(names);
	}
	return ret;
}

/**
 * sandbox_processes() - processes whose network namespace is the sandbox's
 * @s:		record (an attached sandbox's: its container's processes)
 * @pids:	set to an array the caller frees
 * @n:		set to its length
 *
 * Return: 0, or -errno if the namespace cannot be examined
 */
int sandbox_processes(const struct sb_state *s, pid_t **pids, size_t *n)
{
	struct netns_ident id = { .dev = s->netns_dev, .ino = s->netns_ino };
	struct netns_ident got;
	struct dirent *de;
	size_t cap = 8;
	DIR *d;
	int err;

	*n = 0;
	*pids = xcalloc(cap, sizeof(**pids));
	if (!s->attached && (err = netns_ident_path(s->netns, &id)))
		return err == -ENOENT ? 0 : err;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char path[64];
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (netns_ident_path(path, &got) || !netns_ident_eq(&id, &got))
			continue;
		if (*n == cap) {
			cap *= 2;
			*pids = xrealloc(*pids, cap * sizeof(**pids));
		}
		(*pids)[(*n)++] = (pid_t)pid;
	}
	closedir(d);
	return 0;
}

/**
 * sandbox_destroy() - "moat rm": stop, kill if forced, tear down
 * @c:		settings
 * @name:	sandbox
 * @force:	also remove dead or half-created sandboxes and kill the
 *		processes still inside (not an attached sandbox's: those
 *		belong to its container, which keeps its namespace with lo
 *		alone, no network)
 * @locked:	the caller holds the global lock already
 *
 * Return: 0, 1 if there is no such sandbox, -1 after printing why it was
 *	   refused or failed
 */
int sandbox_destroy(const struct moat_config *c, const char *name, bool force,
		    bool locked)
{
	char stbuf[STATE_STATUS_TEXT_LEN];
	struct sb_state s;
	enum sb_status st;
	pid_t *pids = NULL;
	size_t n = 0, i;
	int lock = -1, err, ret = -1;

	if (!locked) {
		lock = state_lock(c);
		if (lock < 0) {
			msg_err("cannot lock %s: %s", c->run_dir, strerror(-lock));
			return -1;
		}
	}
	err = state_read(c, name, &s);
	if (err == -ENOENT) {
		msg_err("no such sandbox: %s", name);
		ret = 1;
		goto out;
	}
	if (err) {
		if (!force) {
			msg_err("the record of sandbox '%s' is unreadable; "
				"use rm -f to remove what is left", name);
			goto out;
		}
		/* best effort: the namespace name is known, the rest is not */
		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "%s", name);
		snprintf(s.netns, sizeof(s.netns), NETNS_RUN_DIR "/moat-%s", name);
	}

	msg_debug_step(NULL);
	state_status_text(&s, &st, stbuf, sizeof(stbuf));
	if (!force && st != SB_RUNNING) {
		msg_err("sandbox '%s' is %s; use rm -f to remove it%s%s%s", name,
			stbuf, st == SB_DEGRADED ?
			" ('moat adopt " : "", st == SB_DEGRADED ? name : "",
			st == SB_DEGRADED ? "' gives it a supervisor again)" : "");
		goto out;
	}
	/* an attached namespace's processes are its owner's: they stay,
	 * with lo only */
	if (!s.attached && sandbox_processes(&s, &pids, &n) == 0 && n) {
		if (!force) {
			msg_err("sandbox '%s' still has %zu process%s inside; "
				"use rm -f to kill them", name, n,
				n == 1 ? "" : "es");
			goto out;
		}
		for (i = 0; i < n; i++)
			if (pids[i] != s.supervisor_pid)
				kill(pids[i], SIGKILL);
	}
	msg_debug_step("rm: processes inside");
	supervisor_stop(&s);
	msg_debug_step("rm: supervisor");
	ret = sandbox_teardown(c, &s) ? -1 : 0;
out:
	free(pids);
	if (!locked)
		state_unlock(lock);
	return ret;
}
