// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * sblink.c - links between sandboxes: consent on both sides, kept live in
 * the kernel as sandboxes come and go
 *
 * Theory of operation
 * -------------------
 * No sandbox ever reaches another (I1), except over a link: sandbox A's
 * policy allows "sandbox:B" on some ports (an egress rule) and B's policy
 * accepts "sandbox:A" on the same ports (ingress.accept). Traffic from A
 * to B flows on the ports and protocols both name, and nothing else:
 * replies as A's established traffic, never anything B opens towards A
 * (unless the two policies say so the other way round too).
 *
 * The kernel holds the live links as elements of one table-wide set,
 * "links", keyed by A's host interface, B's, the protocol and the port
 * (nft.c, "Links between sandboxes"); two more sets hold the keys only
 * one side consents to, so that a denial is logged with its reason. The
 * elements depend on both policies and on which sandboxes exist, so
 * sblink_sync() computes all of them again, from every complete
 * sandbox's record and policy, and replaces the sets' contents in one
 * nftables transaction. It runs under the global lock, whenever a
 * sandbox is created (once complete), its policy is changed ("moat
 * update", after its supervisor applied the new one) or it is removed
 * (left out, before its rules go), and when the base table had to be
 * written again. Links to a sandbox that does not exist yet open when it is
 * created, and close when it is removed: a key holds interface names,
 * which a later sandbox may reuse, so a removed sandbox's elements go
 * with it, and a new sandbox is linked only by its own name's consent.
 *
 * A link that closes takes its connections with it: they carry the
 * sender's instance mark, so for each sandbox with link rules, its
 * entries towards another sandbox's address (a pool address that is no
 * gateway) that are not on a live link any more are deleted from the
 * conntrack table (conntrack_cut()). A live policy change cuts the
 * sender's own such entries itself (update.c keeps only those on a port a
 * link rule still names; this then cuts the ones the peer refuses).
 *
 * Cost: only sandboxes whose policy has links, or whose name a link rule
 * names, cause a sync, and a sync cuts connections and refreshes names
 * only for the senders whose live links changed since the last one (kept
 * in SBLINK_STATE_FILE; when it cannot be read, for all of them): the names of both are kept in SBLINK_USERS_FILE in
 * the run directory (rewritten by each sync), which a create or a remove
 * of anyone else reads and finds nothing in. Elements are bounded per
 * rule (POLICY_LINK_PORTS_MAX ports, both protocols) and per set
 * (NFT_LINKS_MAX): a sync that would go past the bound is refused as a
 * whole, and the create or update that asked for it fails.
 *
 * Names: each sandbox's DNS interceptor answers NAME.moat.internal
 * (SBLINK_DOMAIN) for every sandbox it has a live link to, with the
 * peer's addresses (sblink_peers()); a sync asks the supervisors of the
 * sandboxes with link rules to refresh their worker's table.
 *
 * A sync that fails or is interrupted leaves SBLINK_DIRTY_FILE behind
 * (it is made first, removed last): the kernel's sets may then still name
 * a removed sandbox's interface, so the next creation syncs before its
 * sandbox's interface exists (sblink_dirty()), and the name is never
 * inherited.
 *
 * I4 ports (DNS and its bypasses) are never linked: a rule's range that
 * covers one skips it, as DNS always goes to the interceptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conntrack.h"
#include "nft.h"
#include "sandbox.h"
#include "sblink.h"
#include "svctl.h"

/**
 * struct sbl_sb - a sandbox as a sync sees it
 * @s:		record
 * @p:		policy
 */
struct sbl_sb {
	struct sb_state s;
	struct policy p;
};

/**
 * struct sbl_set - the elements of the link sets, sorted
 * @el:		elements
 * @n:		number of them
 */
struct sbl_set {
	struct nft_link *el;
	size_t n;
};

/**
 * sblink_i4_port() - whether a port is one I4 keeps from every sandbox
 * @port:	port
 *
 * Return: true for DNS, NetBIOS, DoT/DoQ, mDNS and LLMNR
 */
static bool sblink_i4_port(uint16_t port)
{
	static const uint16_t i4[] = { 53, 137, 138, 853, 5353, 5355 };
	size_t k;

	for (k = 0; k < ARRAY_SIZE(i4); k++)
		if (port == i4[k])
			return true;
	return false;
}

/**
 * sblink_sends() - whether a sandbox's link rules can take effect
 * @b:		sandbox
 *
 * Return: true for network filtered (restricted sends nothing out)
 */
static bool sblink_sends(const struct sbl_sb *b)
{
	return b->p.mode == NET_FILTERED;
}

/**
 * sblink_receives() - whether a sandbox can be linked to
 * @b:		sandbox
 *
 * Return: true for network filtered or restricted
 */
static bool sblink_receives(const struct sbl_sb *b)
{
	return b->p.mode == NET_FILTERED || b->p.mode == NET_RESTRICTED;
}

/**
 * sblink_allows() - whether a policy has a link rule for a peer and port
 * @p:		the sender's policy
 * @peer:	the peer's name
 * @l4:		IPPROTO_TCP or IPPROTO_UDP
 * @port:	port
 *
 * Return: true if an egress rule "allow: sandbox:PEER" covers it
 */
static bool sblink_allows(const struct policy *p, const char *peer,
			  uint8_t l4, uint16_t port)
{
	size_t k;

	for (k = 0; k < p->nrules; k++)
		if (p->rules[k].kind == TARGET_SANDBOX &&
		    !strcmp(policy_link_peer(&p->rules[k]), peer) &&
		    policy_link_port(&p->rules[k], l4, port))
			return true;
	return false;
}

/**
 * sblink_accepts() - whether a policy accepts a peer on a port
 * @p:		the receiver's policy
 * @peer:	the sender's name
 * @l4:		IPPROTO_TCP or IPPROTO_UDP
 * @port:	port
 *
 * Return: true if an ingress.accept entry covers it
 */
static bool sblink_accepts(const struct policy *p, const char *peer,
			   uint8_t l4, uint16_t port)
{
	size_t k;

	for (k = 0; k < p->naccept; k++)
		if (!strcmp(policy_link_peer(&p->accept[k]), peer) &&
		    policy_link_port(&p->accept[k], l4, port))
			return true;
	return false;
}

/**
 * sblink_load() - the sandboxes a sync considers
 * @c:		settings
 * @gone:	a sandbox being removed, left out (or NULL)
 * @v:		set to an array the caller frees with sblink_free()
 * @n:		set to its length
 *
 * Complete sandboxes with a network interface whose record and policy
 * can be read.
 *
 * Return: 0, or -errno if the sandboxes cannot be listed
 */
static int sblink_load(const struct moat_config *c, const char *gone,
		       struct sbl_sb **v, size_t *n)
{
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	size_t nn = 0, i;
	int ret;

	*v = NULL;
	*n = 0;
	if ((ret = state_list(c, &names, &nn)))
		return ret;
	*v = xcalloc(nn + 1, sizeof(**v));
	for (i = 0; i < nn; i++) {
		struct sbl_sb *b = &(*v)[*n];

		if (gone && !strcmp(names[i], gone))
			continue;
		if (state_read(c, names[i], &b->s) || !b->s.complete ||
		    !b->s.has_net || !*b->s.ifname)
			continue;
		policy_init(&b->p);
		if (sandbox_load_policy(c, names[i], &b->p)) {
			policy_free(&b->p);
			continue;
		}
		(*n)++;
	}
	free(names);
	return 0;
}

/**
 * sblink_free() - release what sblink_load() returned
 * @v:		array
 * @n:		its length
 */
static void sblink_free(struct sbl_sb *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		policy_free(&v[i].p);
	free(v);
}

/**
 * sblink_find() - a sandbox by name
 * @v:		sandboxes
 * @n:		their number
 * @name:	name
 *
 * Return: the sandbox, or NULL
 */
static const struct sbl_sb *sblink_find(const struct sbl_sb *v, size_t n,
					const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].s.name, name))
			return &v[i];
	return NULL;
}

/**
 * sblink_cmp() - order of link elements: kind, interfaces, protocol, port
 * @a:		struct nft_link
 * @b:		struct nft_link
 *
 * Return: <0, 0 or >0
 */
static int sblink_cmp(const void *a, const void *b)
{
	const struct nft_link *x = a, *y = b;
	int r;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((r = strcmp(x->from, y->from)) || (r = strcmp(x->to, y->to)))
		return r;
	if (x->l4 != y->l4)
		return x->l4 < y->l4 ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/**
 * sblink_push() - add one element
 * @set:	elements so far
 * @kind:	set
 * @from:	sender
 * @to:		receiver
 * @l4:		protocol
 * @port:	port
 */
static void sblink_push(struct sbl_set *set, enum nft_link_kind kind,
			const struct sbl_sb *from, const struct sbl_sb *to,
			uint8_t l4, uint16_t port)
{
	struct nft_link *e;

	set->el = xrealloc(set->el, (set->n + 1) * sizeof(*set->el));
	e = &set->el[set->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	snprintf(e->from, sizeof(e->from), "%s", from->s.ifname);
	snprintf(e->to, sizeof(e->to), "%s", to->s.ifname);
	e->l4 = l4;
	e->port = port;
}

/**
 * sblink_rule_keys() - the elements one link rule or accept entry gives
 * @set:	elements so far
 * @r:		the rule (A's egress rule, or B's accept entry)
 * @from:	sender A
 * @to:		receiver B
 * @accept:	@r is B's accept entry (else A's egress rule)
 *
 * For each port and protocol @r names (I4 ports skipped): live if the
 * other side consents too, else the one-sided set naming the reason. A's
 * rule gives the live elements and the "no peer consent" ones, B's entry
 * only "no rule on the sender's side" ones.
 */
static void sblink_rule_keys(struct sbl_set *set, const struct rule *r,
			     const struct sbl_sb *from,
			     const struct sbl_sb *to, bool accept)
{
	static const uint8_t l4s[] = { IPPROTO_TCP, IPPROTO_UDP };
	unsigned port;
	size_t j, k;

	for (j = 0; j < r->nports; j++) {
		for (port = r->ports[j].lo; port <= r->ports[j].hi; port++) {
			if (sblink_i4_port((uint16_t)port))
				continue;
			for (k = 0; k < ARRAY_SIZE(l4s); k++) {
				if (!policy_link_port(r, l4s[k], (uint16_t)port))
					continue;
				if (!accept)
					sblink_push(set, sblink_accepts(&to->p,
							from->s.name, l4s[k],
							(uint16_t)port) ?
						    NFT_LINK_LIVE : NFT_LINK_NOPEER,
						    from, to, l4s[k],
						    (uint16_t)port);
				else if (!sblink_allows(&from->p, to->s.name,
							l4s[k], (uint16_t)port))
					sblink_push(set, NFT_LINK_NOSELF, from,
						    to, l4s[k], (uint16_t)port);
			}
		}
	}
}

/**
 * sblink_elements() - every element of the link sets
 * @v:		sandboxes
 * @n:		their number
 * @set:	filled in, sorted, without duplicates
 */
static void sblink_elements(const struct sbl_sb *v, size_t n,
			    struct sbl_set *set)
{
	size_t i, k, o;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < n; i++) {
		const struct sbl_sb *a = &v[i], *b;

		for (k = 0; sblink_sends(a) && k < a->p.nrules; k++) {
			const struct rule *r = &a->p.rules[k];

			if (r->kind != TARGET_SANDBOX)
				continue;
			b = sblink_find(v, n, policy_link_peer(r));
			if (b && b != a && sblink_receives(b))
				sblink_rule_keys(set, r, a, b, false);
		}
		for (k = 0; sblink_receives(a) && k < a->p.naccept; k++) {
			const struct rule *r = &a->p.accept[k];

			b = sblink_find(v, n, policy_link_peer(r));
			if (b && b != a && sblink_sends(b))
				sblink_rule_keys(set, r, b, a, true);
		}
	}
	if (!set->n)
		return;
	qsort(set->el, set->n, sizeof(*set->el), sblink_cmp);
	for (i = 1, o = 1; i < set->n; i++)
		if (sblink_cmp(&set->el[i], &set->el[o - 1]))
			set->el[o++] = set->el[i];
	set->n = o;
}

/**
 * sblink_live() - whether a key is a live link
 * @set:	elements, sorted
 * @from:	sender's interface
 * @to:		receiver's interface
 * @l4:		protocol
 * @port:	port
 *
 * Return: true if "links" holds the key
 */
static bool sblink_live(const struct sbl_set *set, const char *from,
			const char *to, uint8_t l4, uint16_t port)
{
	struct nft_link key = { .kind = NFT_LINK_LIVE, .l4 = l4, .port = port };

	snprintf(key.from, sizeof(key.from), "%s", from);
	snprintf(key.to, sizeof(key.to), "%s", to);
	return set->n && bsearch(&key, set->el, set->n, sizeof(*set->el),
				 sblink_cmp);
}

/**
 * struct sbl_cut - what sblink_keep() judges against
 * @c:		settings
 * @v:		sandboxes
 * @n:		their number
 * @a:		the sandbox whose entries are judged
 * @set:	the new elements
 */
struct sbl_cut {
	const struct moat_config *c;
	const struct sbl_sb *v;
	size_t n;
	const struct sbl_sb *a;
	const struct sbl_set *set;
};

/**
 * sblink_sandbox_addr() - whether an address is a sandbox's (not a
 * gateway's) in the pools
 * @c:		settings
 * @dst:	address
 *
 * Return: true for the second address of an IPv4 /30 of the pool, or
 *	   ::2 of an IPv6 /64 of the pool (state_addresses())
 */
static bool sblink_sandbox_addr(const struct moat_config *c,
				const struct prefix *dst)
{
	static const uint8_t two[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	uint32_t a, base;

	if (dst->family == AF_INET && prefix_contains(&c->pool4, dst)) {
		memcpy(&a, dst->addr, 4);
		memcpy(&base, c->pool4.addr, 4);
		return (ntohl(a) - ntohl(base)) % 4 == 2;
	}
	if (dst->family == AF_INET6 && c->pool6.family &&
	    prefix_contains(&c->pool6, dst))
		return !memcmp(dst->addr + 8, two, 8);
	return false;
}

/**
 * sblink_keep() - conntrack_cut() verdict on one of a sender's entries
 * @fl:		the entry
 * @arg:	struct sbl_cut
 *
 * Return: false for an entry towards another sandbox's address that is
 *	   no live link (any more), true for everything else
 */
static bool sblink_keep(const struct conntrack_flow *fl, void *arg)
{
	const struct sbl_cut *x = arg;
	size_t i;

	if (!sblink_sandbox_addr(x->c, &fl->dst))
		return true;
	for (i = 0; i < x->n; i++) {
		const struct sb_state *s = &x->v[i].s;

		if ((fl->dst.family == AF_INET &&
		     !memcmp(s->addr4.addr, fl->dst.addr, 4)) ||
		    (fl->dst.family == AF_INET6 && s->has_v6 &&
		     !memcmp(s->addr6.addr, fl->dst.addr, 16)))
			return sblink_live(x->set, x->a->s.ifname, s->ifname,
					   fl->proto, fl->dport);
	}
	return false;	/* the peer is gone */
}

/**
 * sblink_users_write() - record who takes part in links, for
 * sblink_concerns()
 * @c:		settings
 * @v:		sandboxes
 * @n:		their number
 *
 * One name a line: every sandbox whose policy has links, and every name
 * such a policy names. Written to a temporary file, then renamed.
 */
static void sblink_users_write(const struct moat_config *c,
			       const struct sbl_sb *v, size_t n)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_USERS_FILE);
	autofree char *tmp = xasprintf("%s.tmp", path);
	size_t i, k;
	FILE *f;

	f = fopen(tmp, "we");
	if (!f)
		return;
	for (i = 0; i < n; i++) {
		const struct policy *p = &v[i].p;

		if (!policy_has_links(p))
			continue;
		fprintf(f, "%s\n", v[i].s.name);
		for (k = 0; k < p->nrules; k++)
			if (p->rules[k].kind == TARGET_SANDBOX)
				fprintf(f, "%s\n", policy_link_peer(&p->rules[k]));
		for (k = 0; k < p->naccept; k++)
			fprintf(f, "%s\n", policy_link_peer(&p->accept[k]));
	}
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

/**
 * sblink_state_read() - the live links the last sync put in force
 * @c:		settings
 * @set:	filled in (sorted, as written), to be freed
 *
 * SBLINK_STATE_FILE holds the elements of the last sync as fixed-size
 * records; anything unexpected in it (a size that is not a multiple of a
 * record, a kind out of range, a name without its NUL) makes it
 * unreadable, and the caller then assumes every link may have changed.
 *
 * Return: 0, or -1 if there is no readable record
 */
static int sblink_state_read(const struct moat_config *c, struct sbl_set *set)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_STATE_FILE);
	struct stat st;
	size_t i;
	FILE *f;

	memset(set, 0, sizeof(*set));
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fstat(fileno(f), &st) || st.st_size < 0 ||
	    (size_t)st.st_size % sizeof(*set->el) ||
	    (size_t)st.st_size > 3 * NFT_LINKS_MAX * sizeof(*set->el)) {
		fclose(f);
		return -1;
	}
	set->n = (size_t)st.st_size / sizeof(*set->el);
	set->el = xcalloc(set->n + 1, sizeof(*set->el));
	if (set->n && fread(set->el, sizeof(*set->el), set->n, f) != set->n)
		set->n = SIZE_MAX;
	fclose(f);
	for (i = 0; set->n != SIZE_MAX && i < set->n; i++) {
		const struct nft_link *e = &set->el[i];

		if ((unsigned)e->kind >= NFT_LINK_KINDS ||
		    !memchr(e->from, '\0', sizeof(e->from)) ||
		    !memchr(e->to, '\0', sizeof(e->to)) ||
		    (i && sblink_cmp(&set->el[i - 1], e) >= 0))
			set->n = SIZE_MAX;
	}
	if (set->n == SIZE_MAX) {
		free(set->el);
		memset(set, 0, sizeof(*set));
		return -1;
	}
	return 0;
}

/**
 * sblink_state_write() - record the links now in force
 * @c:		settings
 * @set:	elements
 *
 * Written to a temporary file, then renamed; on failure the file is
 * removed, so that the next sync assumes everything changed.
 */
static void sblink_state_write(const struct moat_config *c,
			       const struct sbl_set *set)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_STATE_FILE);
	autofree char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	bool ok;

	if (!f) {
		unlink(path);
		return;
	}
	ok = !set->n || fwrite(set->el, sizeof(*set->el), set->n, f) == set->n;
	if (fclose(f) || !ok || rename(tmp, path)) {
		unlink(tmp);
		unlink(path);
	}
}

/**
 * sblink_lost() - whether a sender has a live link in one set but not in
 * another
 * @a:		elements, sorted
 * @b:		elements, sorted
 * @from:	the sender's interface
 *
 * Return: true if some live element of @from in @a is not in @b
 */
static bool sblink_lost(const struct sbl_set *a, const struct sbl_set *b,
			const char *from)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct nft_link *e = &a->el[i];

		if (e->kind == NFT_LINK_LIVE && !strcmp(e->from, from) &&
		    !sblink_live(b, e->from, e->to, e->l4, e->port))
			return true;
	}
	return false;
}

/**
 * sblink_dirty_set() - mark (or clear) a sync under way
 * @c:		settings
 * @on:		create SBLINK_DIRTY_FILE, else remove it
 */
static void sblink_dirty_set(const struct moat_config *c, bool on)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_DIRTY_FILE);
	int fd;

	if (!on) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/**
 * sblink_dirty() - whether the last sync did not finish
 * @c:		settings
 *
 * A sync that failed or was interrupted may have left elements naming a
 * removed sandbox's interface in the kernel's sets, which a new sandbox
 * reusing the name would inherit: sandbox_create() then syncs first,
 * before the new sandbox's interface exists.
 *
 * Return: true if SBLINK_DIRTY_FILE exists
 */
bool sblink_dirty(const struct moat_config *c)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_DIRTY_FILE);

	return !access(path, F_OK);
}

/**
 * sblink_in_use() - whether any sandbox takes part in a link
 * @c:		settings
 *
 * Return: true if the last sync found link rules
 */
bool sblink_in_use(const struct moat_config *c)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_USERS_FILE);
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/**
 * sblink_concerns() - whether a change to a sandbox needs a sync
 * @c:		settings
 * @name:	the sandbox
 * @a:		its policy before the change, or NULL
 * @b:		its policy after the change, or NULL
 *
 * Return: true if either policy has links, or a link rule of another
 *	   sandbox names @name (SBLINK_USERS_FILE)
 */
bool sblink_concerns(const struct moat_config *c, const char *name,
		     const struct policy *a, const struct policy *b)
{
	autofree char *path = xasprintf("%s/%s", c->run_dir, SBLINK_USERS_FILE);
	char line[MOAT_NAME_MAX + 8];
	bool found = false;
	FILE *f;

	if ((a && policy_has_links(a)) || (b && policy_has_links(b)))
		return true;
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, name);
	}
	fclose(f);
	return found;
}

/**
 * sblink_sync() - compute every link again and put it in force
 * @c:		settings (the caller holds the global lock)
 * @gone:	a sandbox being removed, whose record may still exist, or NULL
 * @self:	the sandbox whose supervisor calls, not asked to refresh its
 *		names (it is busy calling), or NULL
 *
 * Return: 0, or -1 after printing why (the kernel's links unchanged)
 */
int sblink_sync(const struct moat_config *c, const char *gone,
		const char *self)
{
	struct sbl_set set, prev = { 0 };
	bool prev_ok;
	struct sbl_sb *v;
	size_t n, i, cnt[NFT_LINK_KINDS] = { 0 };
	char *buf = NULL, *err = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	sblink_dirty_set(c, true);	/* until the kernel has the links */
	if ((ret = sblink_load(c, gone, &v, &n))) {
		msg_err("cannot list the sandboxes to link: %s", strerror(-ret));
		return -1;
	}
	sblink_elements(v, n, &set);
	for (i = 0; i < set.n; i++) {
		if (++cnt[set.el[i].kind] <= NFT_LINKS_MAX)
			continue;
		msg_err("links: more than %u elements in one set; "
			"refusing the change", NFT_LINKS_MAX);
		free(set.el);
		sblink_free(v, n);
		return -1;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	nft_links_text(f, set.el, set.n);
	fclose(f);
	ret = nft_run(buf, &err);
	free(buf);
	if (ret) {
		msg_err("nftables refused the links between sandboxes: %s", err);
		free(err);
		free(set.el);
		sblink_free(v, n);
		return -1;
	}
	sblink_users_write(c, v, n);
	prev_ok = !sblink_state_read(c, &prev);
	sblink_state_write(c, &set);
	sblink_dirty_set(c, false);

	for (i = 0; i < n; i++) {
		struct sbl_cut x = { c, v, n, &v[i], &set };
		const char *ifn = v[i].s.ifname;
		size_t cut = 0;

		if (!policy_has_link_rules(&v[i].p))
			continue;
		/* a link of its that closed: its connections go */
		if ((!prev_ok || sblink_lost(&prev, &set, ifn)) &&
		    (ret = conntrack_cut(v[i].s.instance, sblink_keep, &x, &cut)))
			msg_warn("cannot cut the closed links of '%s': %s",
				 v[i].s.name, strerror(-ret));
		/* its interceptor's names follow its live links */
		if ((!prev_ok || sblink_lost(&prev, &set, ifn) ||
		     sblink_lost(&set, &prev, ifn)) &&
		    state_status(&v[i].s) == SB_RUNNING &&
		    (!self || strcmp(self, v[i].s.name))) {
			json_t *resp = NULL;

			if (!svctl_request(c, v[i].s.name, "links", &resp))
				json_decref(resp);
		}
	}
	free(prev.el);
	free(set.el);
	sblink_free(v, n);
	return 0;
}

/**
 * sblink_peer_load() - a peer's record and policy, if it can be linked
 * @c:		settings
 * @name:	peer
 * @b:		filled in (its policy initialised either way: free it)
 *
 * Return: true if the peer exists, is complete and can receive a link
 */
static bool sblink_peer_load(const struct moat_config *c, const char *name,
			     struct sbl_sb *b)
{
	policy_init(&b->p);
	if (state_read(c, name, &b->s) || !b->s.complete || !b->s.has_net ||
	    !*b->s.ifname || sandbox_load_policy(c, name, &b->p))
		return false;
	return true;
}

/**
 * sblink_rule_live() - whether a link rule has the peer's consent on any
 * of its ports
 * @r:		the rule (an egress rule, or an accept entry)
 * @other:	the other side's policy
 * @self:	this sandbox's name
 * @accept:	@r is an accept entry (the other side must allow)
 *
 * Return: true if some port and protocol of @r is consented to
 */
static bool sblink_rule_live(const struct rule *r, const struct policy *other,
			     const char *self, bool accept)
{
	static const uint8_t l4s[] = { IPPROTO_TCP, IPPROTO_UDP };
	unsigned port;
	size_t j, k;

	for (j = 0; j < r->nports; j++)
		for (port = r->ports[j].lo; port <= r->ports[j].hi; port++)
			for (k = 0; k < ARRAY_SIZE(l4s); k++) {
				if (sblink_i4_port((uint16_t)port) ||
				    !policy_link_port(r, l4s[k], (uint16_t)port))
					continue;
				if (accept ? sblink_allows(other, self, l4s[k],
							   (uint16_t)port) :
				    sblink_accepts(other, self, l4s[k],
						   (uint16_t)port))
					return true;
			}
	return false;
}

/**
 * sblink_peers() - the sandboxes a sandbox has a live link to
 * @c:		settings
 * @name:	the sandbox
 * @pol:	its policy
 * @out:	filled in
 * @max:	room in @out
 *
 * For its DNS interceptor: each peer a link rule names that exists and
 * accepts this sandbox on one of the rule's ports at least.
 *
 * Return: number of peers in @out
 */
int sblink_peers(const struct moat_config *c, const char *name,
		 const struct policy *pol, struct sblink_peer *out,
		 size_t max)
{
	size_t k, j, n = 0;

	if (pol->mode != NET_FILTERED)
		return 0;
	for (k = 0; k < pol->nrules && n < max; k++) {
		const struct rule *r = &pol->rules[k];
		const char *peer = policy_link_peer(r);
		struct sbl_sb b;

		if (r->kind != TARGET_SANDBOX || !strcmp(peer, name))
			continue;
		for (j = 0; j < n; j++)
			if (!strcmp(out[j].name, peer))
				break;
		if (j < n)
			continue;
		if (sblink_peer_load(c, peer, &b) && sblink_receives(&b) &&
		    sblink_rule_live(r, &b.p, name, false)) {
			memset(&out[n], 0, sizeof(out[n]));
			snprintf(out[n].name, sizeof(out[n].name), "%s", peer);
			out[n].addr4 = b.s.addr4;
			out[n].has_v6 = b.s.has_v6;
			out[n].addr6 = b.s.addr6;
			n++;
		}
		policy_free(&b.p);
	}
	return (int)n;
}

/**
 * sblink_ports_text() - a rule's ports and protocol, "5432/tcp"
 * @r:		rule
 * @buf:	buffer
 * @len:	its size
 *
 * Return: @buf
 */
static const char *sblink_ports_text(const struct rule *r, char *buf,
				     size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nports && o < len; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			o += (size_t)snprintf(buf + o, len - o, "%s%u",
					      i ? "," : "", r->ports[i].lo);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%u-%u",
					      i ? "," : "", r->ports[i].lo,
					      r->ports[i].hi);
	}
	if (o < len)
		snprintf(buf + o, len - o, "/%s", proto_name(r->proto));
	return buf;
}

/**
 * sblink_status() - a sandbox's links and whether each is live
 * @c:		settings
 * @name:	the sandbox
 * @pol:	its policy
 *
 * One object per link rule (direction "out") and accept entry ("in"):
 * the peer, the ports, "live" when the peer exists and consents on one of
 * them at least, and otherwise why not.
 *
 * Return: new reference, a JSON array
 */
json_t *sblink_status(const struct moat_config *c, const char *name,
		      const struct policy *pol)
{
	json_t *a = json_array();
	char ports[256];
	size_t k, side;

	for (side = 0; side < 2; side++) {
		const struct rule *rs = side ? pol->accept : pol->rules;
		size_t nr = side ? pol->naccept : pol->nrules;

		for (k = 0; k < nr; k++) {
			const struct rule *r = &rs[k];
			const char *peer = policy_link_peer(r), *why = NULL;
			json_t *o;
			struct sbl_sb b;

			if (r->kind != TARGET_SANDBOX)
				continue;
			if (!sblink_peer_load(c, peer, &b))
				why = "no such sandbox";
			else if (side ? !sblink_sends(&b) : !sblink_receives(&b))
				why = "the peer's network mode has no links";
			else if (side ? pol->mode == NET_NONE :
				 pol->mode != NET_FILTERED)
				why = "this sandbox's network mode has no links";
			else if (!sblink_rule_live(r, &b.p, name, side))
				why = side ? "no rule on the peer's side" :
					     "no consent from the peer";
			o = json_pack("{s:s, s:s, s:s, s:b}",
				      "direction", side ? "in" : "out",
				      "peer", peer,
				      "ports", sblink_ports_text(r, ports,
								 sizeof(ports)),
				      "live", !why);
			if (why)
				json_object_set_new(o, "why", json_string(why));
			else if (!side) {
				char dn[MOAT_NAME_MAX + sizeof(SBLINK_DOMAIN) + 2];

				snprintf(dn, sizeof(dn), "%s.%s", peer,
					 SBLINK_DOMAIN);
				json_object_set_new(o, "name", json_string(dn));
			}
			json_array_append_new(a, o);
			policy_free(&b.p);
		}
	}
	return a;
}
