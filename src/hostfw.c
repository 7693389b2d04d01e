// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * hostfw.c - the host's other firewalls: forward chains that drop
 *
 * Theory of operation
 * -------------------
 * nftables runs every base chain of a hook, in every table, on every
 * packet, and a drop anywhere is final. A sandbox's allowed traffic is
 * forwarded, so another table's forward chain that drops what it does not
 * accept (Docker's "table ip filter" chain FORWARD, made by iptables-nft
 * with policy drop; ufw's, with policy drop; firewalld's, which ends in a
 * reject) drops it too, whatever moat's table says: the sandbox would
 * silently lose its egress.
 *
 * What can be told reliably from the listing, and is: a base chain of
 * family ip, ip6 or inet on hook forward whose policy is drop, or whose
 * last rule is an unconditional drop or reject. What such a chain accepts
 * before that is arbitrary, and is not judged, except for the one answer
 * that settles it: the chain (or a chain it jumps to) accepts packets
 * from moat's interfaces ("iifname "moat*" accept", which "iptables -I
 * ... -i moat+ -j ACCEPT" makes too) and their replies (an
 * "oifname "moat*" accept", or an accept on conntrack state established).
 * Such a chain is "let through". Rules that drop only some packets before
 * a final accept are not detected.
 *
 * A dropping chain that jumps, unconditionally, to a chain named
 * DOCKER-USER (Docker's documented place for the operator's own rules,
 * evaluated first in its FORWARD chain) is handled: moat inserts at the
 * head of DOCKER-USER, in that table, the two rules
 *
 *	iifname "moat*" accept
 *	oifname "moat*" accept
 *
 * when they are not there yet, and leaves them there (they match only
 * moat's interfaces and are inserted again, not twice, by the next
 * sandbox). Nothing else of another program's table is touched: it is
 * never flushed or rewritten. Accepting there gives nothing away: moat's
 * own forward chain still judges every packet from and to a sandbox.
 *
 * Any other dropping chain refuses a sandbox with a network
 * (hostfw_prepare()), naming the table and chain, unless the operator
 * passed --allow-foreign-drop; "moat verify" reports each dropping chain
 * not let through as a failure (hostfw_audit()).
 *
 * Every creation asks first whether any other table hooks forward at
 * all, and that question must not cost more with every sandbox: moat's
 * own table holds nine chains per sandbox, and a libnftables listing of
 * the chains builds its whole cache first (half a second with 1000
 * sandboxes). So the question goes to the kernel directly
 * (hostfw_foreign_forward_nl()): a dump of the tables, and only when
 * another table of family ip, ip6 or inet exists, of the chains of those
 * families. Only a foreign forward chain brings the full listing.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <nftables/libnftables.h>

#include "common.h"
#include "err.h"
#include "hostfw.h"
#include "nft.h"
#include "nl.h"

/* after <netinet/in.h> (from nft.h): the kernel headers defer to it */
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#define HOSTFW_DEPTH	16	/* jumps followed, as the kernel allows */
#define HOSTFW_HOOK	"DOCKER-USER"
#define HOSTFW_DUMP_BUF	65536	/* a dump's messages (32 KiB at most) */

/**
 * enum hostfw_state - what a foreign forward chain does to moat's traffic
 */
enum hostfw_state {
	HOSTFW_PASSES,		/* no final drop */
	HOSTFW_LET_THROUGH,	/* drops, but accepts moat's interfaces */
	HOSTFW_DOCKER,		/* drops, jumps to DOCKER-USER first */
	HOSTFW_DROPS,		/* drops, nothing lets moat's traffic through */
};

/**
 * hostfw_str() - a string member of an object
 * @o:		object
 * @key:	member
 *
 * Return: its value, "" if absent
 */
static const char *hostfw_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

/**
 * hostfw_rules() - index the rules of a listing by chain
 * @doc:	listing
 *
 * Return: object "family table chain" -> array of rule objects
 */
static json_t *hostfw_rules(json_t *doc)
{
	json_t *idx = json_object(), *it, *o, *a;
	char key[512];
	size_t i;

	json_array_foreach(json_object_get(doc, "nftables"), i, it) {
		if (!(o = json_object_get(it, "rule")))
			continue;
		snprintf(key, sizeof(key), "%s %s %s", hostfw_str(o, "family"),
			 hostfw_str(o, "table"), hostfw_str(o, "chain"));
		a = json_object_get(idx, key);
		if (!a) {
			a = json_array();
			json_object_set_new(idx, key, a);
		}
		json_array_append(a, o);
	}
	return idx;
}

/**
 * hostfw_chain_rules() - the rules of one chain
 * @idx:	hostfw_rules()
 * @fam:	family
 * @tab:	table
 * @chain:	chain
 *
 * Return: array (borrowed), or NULL
 */
static json_t *hostfw_chain_rules(json_t *idx, const char *fam, const char *tab,
				  const char *chain)
{
	char key[512];

	snprintf(key, sizeof(key), "%s %s %s", fam, tab, chain);
	return json_object_get(idx, key);
}

/**
 * hostfw_stmt() - the one key of a statement object
 * @e:		statement
 *
 * Return: its key ("match", "counter", "accept", ...), "" if none
 */
static const char *hostfw_stmt(json_t *e)
{
	void *it = json_object_iter(e);

	return it ? json_object_iter_key(it) : "";
}

/**
 * hostfw_inert() - whether a statement neither matches nor decides
 * @k:		its key
 *
 * Return: true for counter and log
 */
static bool hostfw_inert(const char *k)
{
	return !strcmp(k, "counter") || !strcmp(k, "log");
}

/**
 * hostfw_unconditional() - the verdict of a rule that matches everything
 * @rule:	rule object
 *
 * Return: "accept", "drop", "reject", "jump", "goto", "return", or NULL
 *	   if the rule matches only some packets or decides nothing
 */
static const char *hostfw_unconditional(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	const char *verdict = NULL;
	size_t i;

	json_array_foreach(expr, i, e) {
		const char *k = hostfw_stmt(e);

		if (hostfw_inert(k))
			continue;
		if (verdict)
			return NULL;
		if (strcmp(k, "accept") && strcmp(k, "drop") &&
		    strcmp(k, "reject") && strcmp(k, "jump") &&
		    strcmp(k, "goto") && strcmp(k, "return"))
			return NULL;
		verdict = k;
	}
	return verdict;
}

/**
 * hostfw_moat_accept() - whether a rule is "IFKEY "moat*" accept"
 * @rule:	rule object
 * @ifkey:	"iifname" or "oifname"
 *
 * Return: true if so (counters aside)
 */
static bool hostfw_moat_accept(json_t *rule, const char *ifkey)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	bool match = false, accept = false;
	size_t i;

	json_array_foreach(expr, i, e) {
		const char *k = hostfw_stmt(e);
		json_t *m = json_object_get(e, "match");

		if (hostfw_inert(k))
			continue;
		if (!strcmp(k, "accept") && !accept) {
			accept = true;
			continue;
		}
		if (m && !match &&
		    !strcmp(hostfw_str(json_object_get(json_object_get(m, "left"), "meta"), "key"), ifkey) &&
		    !strcmp(hostfw_str(m, "op"), "==") &&
		    !strcmp(hostfw_str(m, "right"), "moat*")) {
			match = true;
			continue;
		}
		return false;
	}
	return match && accept;
}

/**
 * hostfw_replies_accept() - whether a rule accepts established replies
 * @rule:	rule object
 *
 * Return: true for an accept on conntrack state established (native, or
 *	   iptables' conntrack and state matches)
 */
static bool hostfw_replies_accept(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	bool accept = false, est = false;
	autofree char *text = NULL;
	size_t i;

	json_array_foreach(expr, i, e) {
		const char *k = hostfw_stmt(e);
		json_t *xt = json_object_get(e, "xt");

		if (!strcmp(k, "accept"))
			accept = true;
		if (xt && (!strcmp(hostfw_str(xt, "name"), "conntrack") ||
			   !strcmp(hostfw_str(xt, "name"), "state")))
			est = true;	/* the listing hides its states */
	}
	text = json_dumps(expr, JSON_COMPACT);
	if (text && strstr(text, "\"ct\"") && strstr(text, "established"))
		est = true;
	return accept && est;
}

/**
 * struct hostfw_seen - moat's accepts found on a walk through chains
 * @from:	"iifname "moat*" accept"
 * @to:		replies to moat's interfaces accepted
 */
struct hostfw_seen {
	bool from;
	bool to;
};

/**
 * hostfw_walk() - look for moat's accepts in a chain and those it jumps to
 * @idx:	hostfw_rules()
 * @fam:	family
 * @tab:	table
 * @chain:	chain
 * @depth:	jumps followed so far
 * @seen:	what was found, updated
 */
static void hostfw_walk(json_t *idx, const char *fam, const char *tab,
			const char *chain, int depth, struct hostfw_seen *seen)
{
	json_t *rules = hostfw_chain_rules(idx, fam, tab, chain), *o, *e;
	size_t i, j;

	if (depth > HOSTFW_DEPTH)
		return;
	json_array_foreach(rules, i, o) {
		if (hostfw_moat_accept(o, "iifname"))
			seen->from = true;
		if (hostfw_moat_accept(o, "oifname") || hostfw_replies_accept(o))
			seen->to = true;
		json_array_foreach(json_object_get(o, "expr"), j, e) {
			json_t *t = json_object_get(e, "jump") ?: json_object_get(e, "goto");
			const char *target = json_string_value(json_object_get(t, "target"));

			if (target)
				hostfw_walk(idx, fam, tab, target, depth + 1, seen);
		}
	}
}

/**
 * hostfw_judge() - what a base chain of another table does to moat's
 * forwarded traffic
 * @idx:	hostfw_rules()
 * @ch:		chain object
 * @how:	set to "policy drop" or "a final drop"/"a final reject"
 *
 * Return: its state
 */
static enum hostfw_state hostfw_judge(json_t *idx, json_t *ch, const char **how)
{
	const char *fam = hostfw_str(ch, "family"), *tab = hostfw_str(ch, "table");
	const char *name = hostfw_str(ch, "name");
	json_t *rules, *o;
	struct hostfw_seen seen = { 0 };
	bool docker = false;
	const char *v;
	size_t i, n;

	if (strcmp(hostfw_str(ch, "hook"), "forward") ||
	    (strcmp(fam, "ip") && strcmp(fam, "ip6") && strcmp(fam, "inet")) ||
	    (!strcmp(fam, "inet") && !strcmp(tab, NFT_TABLE)))
		return HOSTFW_PASSES;
	rules = hostfw_chain_rules(idx, fam, tab, name);
	n = json_array_size(rules);
	if (!strcmp(hostfw_str(ch, "policy"), "drop")) {
		*how = "policy drop";
	} else if (n && (v = hostfw_unconditional(json_array_get(rules, n - 1))) &&
		   (!strcmp(v, "drop") || !strcmp(v, "reject"))) {
		*how = !strcmp(v, "drop") ? "a final drop" : "a final reject";
	} else {
		return HOSTFW_PASSES;
	}
	hostfw_walk(idx, fam, tab, name, 0, &seen);
	if (seen.from && seen.to)
		return HOSTFW_LET_THROUGH;
	json_array_foreach(rules, i, o) {
		json_t *e = json_array_get(json_object_get(o, "expr"),
					   json_array_size(json_object_get(o, "expr")) - 1);
		const char *t = hostfw_str(json_object_get(e, "jump"), "target");

		if (!strcmp(t, HOSTFW_HOOK) && hostfw_unconditional(o))
			docker = true;
	}
	return docker ? HOSTFW_DOCKER : HOSTFW_DROPS;
}

/**
 * hostfw_foreign_forward() - whether another table has a forward base chain
 * @doc:	a listing of chains
 *
 * Return: true if one of family ip, ip6 or inet outside "inet moat" hooks
 *	   forward (only then are the rules worth listing)
 */
static bool hostfw_foreign_forward(json_t *doc)
{
	json_t *it, *ch;
	size_t i;

	json_array_foreach(json_object_get(doc, "nftables"), i, it) {
		const char *fam, *tab;

		if (!(ch = json_object_get(it, "chain")) ||
		    strcmp(hostfw_str(ch, "hook"), "forward"))
			continue;
		fam = hostfw_str(ch, "family");
		tab = hostfw_str(ch, "table");
		if ((!strcmp(fam, "ip") || !strcmp(fam, "ip6") ||
		     !strcmp(fam, "inet")) &&
		    (strcmp(fam, "inet") || strcmp(tab, NFT_TABLE)))
			return true;
	}
	return false;
}

/* the families whose forward hook moat's traffic crosses */
static const uint8_t hostfw_fams[] = { NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET };

/**
 * struct hostfw_scan - what the kernel's dumps told so far
 * @fam:	a table other than moat's exists in hostfw_fams[k]
 * @found:	a chain of such a table hooks forward
 */
struct hostfw_scan {
	bool fam[ARRAY_SIZE(hostfw_fams)];
	bool found;
};

/**
 * hostfw_fam_idx() - index of a family in hostfw_fams[]
 * @f:		NFPROTO_*
 *
 * Return: the index, or -1 if moat's traffic does not cross that family
 */
static int hostfw_fam_idx(uint8_t f)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(hostfw_fams); k++)
		if (hostfw_fams[k] == f)
			return (int)k;
	return -1;
}

/**
 * hostfw_foreign() - whether a table is another program's
 * @fam:	its family
 * @name:	its name, or NULL if the message had none
 *
 * Return: true unless it is moat's own "inet moat" (or nameless)
 */
static bool hostfw_foreign(uint8_t fam, const char *name)
{
	return name && (fam != NFPROTO_INET || strcmp(name, NFT_TABLE));
}

/**
 * hostfw_attr_cb() - collect the top-level attributes of a message
 * @a:		attribute
 * @data:	array of NFTA_CHAIN_MAX + 1 pointers (the largest of those
 *		read here)
 *
 * Return: MNL_CB_OK
 */
static int hostfw_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t <= NFTA_CHAIN_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

/**
 * hostfw_table_cb() - one table of the dump
 * @nlh:	its message
 * @data:	struct hostfw_scan
 *
 * Return: MNL_CB_OK
 */
static int hostfw_table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1] = { 0 };
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct hostfw_scan *sc = data;
	int k = hostfw_fam_idx(g->nfgen_family);

	mnl_attr_parse(nlh, sizeof(*g), hostfw_attr_cb, tb);
	if (k >= 0 && tb[NFTA_TABLE_NAME] &&
	    hostfw_foreign(g->nfgen_family, mnl_attr_get_str(tb[NFTA_TABLE_NAME])))
		sc->fam[k] = true;
	return MNL_CB_OK;
}

/**
 * hostfw_chain_cb() - one chain of the dump
 * @nlh:	its message
 * @data:	struct hostfw_scan
 *
 * Return: MNL_CB_OK
 */
static int hostfw_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NFTA_CHAIN_MAX + 1] = { 0 };
	const struct nlattr *hk[NFTA_CHAIN_MAX + 1] = { 0 };
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct hostfw_scan *sc = data;

	mnl_attr_parse(nlh, sizeof(*g), hostfw_attr_cb, tb);
	if (hostfw_fam_idx(g->nfgen_family) < 0 || !tb[NFTA_CHAIN_TABLE] ||
	    !tb[NFTA_CHAIN_HOOK] ||
	    !hostfw_foreign(g->nfgen_family, mnl_attr_get_str(tb[NFTA_CHAIN_TABLE])))
		return MNL_CB_OK;
	mnl_attr_parse_nested(tb[NFTA_CHAIN_HOOK], hostfw_attr_cb, hk);
	if (hk[NFTA_HOOK_HOOKNUM] &&
	    mnl_attr_get_payload_len(hk[NFTA_HOOK_HOOKNUM]) == sizeof(uint32_t) &&
	    ntohl(mnl_attr_get_u32(hk[NFTA_HOOK_HOOKNUM])) == NF_INET_FORWARD)
		sc->found = true;
	return MNL_CB_OK;
}

/**
 * hostfw_dump() - one nf_tables dump, each message to a callback
 * @type:	NFT_MSG_GETTABLE or NFT_MSG_GETCHAIN
 * @family:	NFPROTO_* (NFPROTO_UNSPEC: all)
 * @cb:		called with each message
 * @sc:		its data
 *
 * Return: 0, or -errno
 */
static int hostfw_dump(uint16_t type, uint8_t family, mnl_cb_t cb,
		       struct hostfw_scan *sc)
{
	struct mnl_socket *nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	unsigned int seq = (unsigned int)time(NULL), portid;
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	char *buf;
	ssize_t r;
	int ret = 0;

	if (!nl)
		return -errno;
	buf = xmalloc(HOSTFW_DUMP_BUF);
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		ret = -errno;
	while (!ret) {
		r = mnl_socket_recvfrom(nl, buf, HOSTFW_DUMP_BUF);
		if (r < 0) {
			ret = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)r, seq, portid, cb, sc);
		if (r < 0)
			ret = -errno;
		else if (r == MNL_CB_STOP)
			break;
	}
	free(buf);
	mnl_socket_close(nl);
	return ret;
}

/**
 * hostfw_foreign_forward_nl() - whether another table has a forward base
 * chain, asked of the kernel directly (see the theory of operation)
 *
 * Return: 1 if one of family ip, ip6 or inet outside "inet moat" hooks
 *	   forward, 0 if none does, -errno if the kernel could not be asked
 */
static int hostfw_foreign_forward_nl(void)
{
	struct hostfw_scan sc = { 0 };
	size_t k;
	int ret;

	if ((ret = hostfw_dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC,
			       hostfw_table_cb, &sc)))
		return ret;
	for (k = 0; k < ARRAY_SIZE(hostfw_fams) && !sc.found; k++) {
		if (!sc.fam[k])
			continue;
		if ((ret = hostfw_dump(NFT_MSG_GETCHAIN, hostfw_fams[k],
				       hostfw_chain_cb, &sc)))
			return ret;
	}
	return sc.found;
}

/**
 * hostfw_docker_script() - the rules moat inserts into a DOCKER-USER chain
 * @idx:	hostfw_rules()
 * @fam:	family
 * @tab:	table
 * @buf:	script, appended to
 * @len:	its size
 * @used:	its length so far, updated
 */
static void hostfw_docker_script(json_t *idx, const char *fam, const char *tab,
				 char *buf, size_t len, size_t *used)
{
	json_t *rules = hostfw_chain_rules(idx, fam, tab, HOSTFW_HOOK), *o;
	bool from = false, to = false;
	size_t i;

	json_array_foreach(rules, i, o) {
		from |= hostfw_moat_accept(o, "iifname");
		to |= hostfw_moat_accept(o, "oifname");
	}
	if (!to && *used < len)
		*used += (size_t)snprintf(buf + *used, len - *used,
					  "insert rule %s %s " HOSTFW_HOOK " oifname \"moat*\" accept\n",
					  fam, tab);
	if (!from && *used < len)
		*used += (size_t)snprintf(buf + *used, len - *used,
					  "insert rule %s %s " HOSTFW_HOOK " iifname \"moat*\" accept\n",
					  fam, tab);
}

/**
 * hostfw_prepare() - before a sandbox with a network: let its forwarded
 * traffic through the host's other forward chains, or refuse
 * @allow_foreign_drop:	--allow-foreign-drop: warn instead of refusing
 *
 * Called under the global lock, before anything of the sandbox is made.
 * The chains alone are listed first: the rules (which may be many on a
 * host with a container orchestrator) only when another table hooks
 * forward.
 *
 * Return: 0, HOSTFW_REFUSED (a foreign chain would drop the sandbox's
 *	   traffic, nothing was changed), or -1; both after printing why
 */
int hostfw_prepare(bool allow_foreign_drop)
{
	json_t *doc, *idx, *it, *ch;
	char script[4096] = "";
	size_t i, used = 0;
	int ret = hostfw_foreign_forward_nl();

	if (ret == 0)
		return 0;
	if (ret < 0) {	/* the kernel's answer could not be read: list */
		doc = nft_list_json("list chains");
		if (doc && !hostfw_foreign_forward(doc)) {
			json_decref(doc);
			return 0;
		}
		json_decref(doc);
	}
	ret = 0;
	doc = nft_list_json("list ruleset");
	if (!doc) {
		msg_err("cannot list the host's nftables ruleset");
		return -1;
	}
	idx = hostfw_rules(doc);
	json_array_foreach(json_object_get(doc, "nftables"), i, it) {
		const char *how = "";
		enum hostfw_state st;

		if (!(ch = json_object_get(it, "chain")))
			continue;
		st = hostfw_judge(idx, ch, &how);
		if (st == HOSTFW_DOCKER) {
			hostfw_docker_script(idx, hostfw_str(ch, "family"),
					     hostfw_str(ch, "table"), script,
					     sizeof(script), &used);
		} else if (st == HOSTFW_DROPS && !allow_foreign_drop) {
			msg_err("table %s %s chain %s (hook forward, %s) would drop the sandbox's traffic: accept moat's interfaces there (iifname \"moat*\" and oifname \"moat*\", see docs/HOST.md) or pass --allow-foreign-drop",
				hostfw_str(ch, "family"), hostfw_str(ch, "table"),
				hostfw_str(ch, "name"), how);
			ret = HOSTFW_REFUSED;
			break;
		} else if (st == HOSTFW_DROPS) {
			msg_warn("table %s %s chain %s (hook forward, %s) may drop the sandbox's traffic (--allow-foreign-drop)",
				 hostfw_str(ch, "family"), hostfw_str(ch, "table"),
				 hostfw_str(ch, "name"), how);
		}
	}
	if (!ret && used) {
		struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

		if (!ctx)
			die_oom();
		nft_ctx_buffer_output(ctx);
		nft_ctx_buffer_error(ctx);
		if (used >= sizeof(script) || nft_run_cmd_from_buffer(ctx, script)) {
			msg_err("cannot let moat's interfaces through DOCKER-USER: %s",
				nft_ctx_get_error_buffer(ctx));
			ret = -1;
		}
		nft_ctx_free(ctx);
	}
	json_decref(idx);
	json_decref(doc);
	return ret;
}

/**
 * hostfw_audit() - report the host's forward chains that drop moat's
 * allowed traffic
 * @r:		report
 * @doc:	live ruleset listing
 *
 * A chain handled through DOCKER-USER counts as let through only once
 * moat's rules are there (any sandbox's creation puts them there).
 *
 * Return: number of failures reported
 */
size_t hostfw_audit(struct report *r, json_t *doc)
{
	json_t *idx = hostfw_rules(doc), *it, *ch;
	size_t i, bad = 0;

	json_array_foreach(json_object_get(doc, "nftables"), i, it) {
		const char *how = "";
		enum hostfw_state st;
		char what[320];

		if (!(ch = json_object_get(it, "chain")))
			continue;
		st = hostfw_judge(idx, ch, &how);
		if (st != HOSTFW_DOCKER && st != HOSTFW_DROPS)
			continue;
		snprintf(what, sizeof(what), "table %s %s chain %s",
			 hostfw_str(ch, "family"), hostfw_str(ch, "table"),
			 hostfw_str(ch, "name"));
		report_add(r, false, "-", "ruleset", what,
			   "moat's traffic passes",
			   "hook forward with %s: drops the sandboxes' allowed traffic (moat's interfaces not accepted%s)",
			   how, st == HOSTFW_DOCKER ? " in " HOSTFW_HOOK : "");
		bad++;
	}
	if (!bad)
		report_add(r, true, "-", "ruleset", "other forward chains",
			   "moat's traffic passes",
			   "no other table's forward chain drops it");
	json_decref(idx);
	return bad;
}
