// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * audit.c - "moat verify": audit of the live nftables ruleset
 *
 * Theory of operation
 * -------------------
 * The ruleset is correct when "inet moat" holds exactly what moat would
 * write for the sandboxes that exist, and nothing elsewhere can take
 * sandbox traffic around it. Both are checked on the libnftables JSON
 * listing ("nft -j list ruleset"), under the global lock so that no
 * sandbox comes or goes meanwhile.
 *
 * The expected table is not described a second time here: the compiler
 * itself (nft_base_text() and nft_sandbox_add_text() with every sandbox's
 * stored policy) writes it into a scratch network namespace, made by a
 * child with unshare(CLONE_NEWNET) and gone when it exits, and the kernel
 * lists it back. Live and expected listings then differ only where the
 * live table was changed:
 *
 *   - the table is missing, "dormant" (disabled) or "owner" (deleted when
 *     a process exits: fails open);
 *   - a chain is missing, its hook, type, priority or policy differ, or
 *     its rules differ (counters and handles aside): a flushed base chain,
 *     an accept added to a sandbox chain;
 *   - a static set's elements differ (address groups, pools; sets filled
 *     at run time are only required to exist), or a dispatch map
 *     lacks an entry for a live sandbox or holds one for none ("stale");
 *   - a sandbox chain exists for no sandbox.
 *
 * Other tables cannot undo moat's drops: every base chain of every table
 * sees the packet, and "accept" only ends the chain it is in. What can
 * take traffic around moat is a change made before moat's chains decide,
 * that moat then never sees as it should:
 *
 *   - a dnat/redirect in another table's prerouting nat chain (or a chain
 *     it jumps to) at a priority not after moat's own DNS interception
 *     (dstnat, -100, or moat's own nat chain's): NAT binds once per
 *     connection, so the first nat chain to translate wins and moat's
 *     redirect never applies (I4), unless the rule is limited to a
 *     non-moat input interface or to destination ports other than 53.
 *     Other NAT is harmless: moat filters whatever destination it made;
 *   - a "fwd" or "dup" in an ingress or egress chain (netdev, or inet
 *     ingress) on a moat interface: the packet leaves before any IP hook.
 *
 * Some changes cannot take traffic around moat, because moat fails closed
 * when they happen, but still break what a sandbox is promised; they are
 * reported as warnings (the report's verdict stays "isolation holds" and
 * the exit status 0):
 *
 *   - a rule that writes the packet mark ("meta mark set ...") in a
 *     prerouting chain not after moat's proxy redirect, or in an output
 *     chain not after moat's own: the first may erase the mark that sends
 *     a sandbox's web traffic to the proxy (its proxied ports are then
 *     reset, not let through: nft_domain_ports()), the second the mark of
 *     the proxy's onward connections (restored from the socket's own mark
 *     before moat's output chain judges them);
 *   - a conntrack helper assigned ("ct helper set") where sandbox traffic
 *     passes: its expectations make "related" connections, which moat
 *     judges like new ones (into a sandbox: never), so FTP data and the
 *     like do not work as the helper's author intended;
 *   - net.ipv4.conf.*.route_localnet=1 in moat's namespace: the kernel then
 *     routes 127.0.0.0/8 from and to other interfaces; moat drops a
 *     sandbox's loopback destinations as martian (I2) whatever it says.
 *
 * x_tables rules (iptables-legacy) are invisible to nftables and are not
 * audited; docs/SECURITY.md says so.
 *
 * What keeps the sandboxes closed while the table is absent (a firewall
 * reload, guard.c) is outside nftables and checked apart (audit_guard()):
 * the routing rules and IPsec policies, and the marking filter on every
 * live sandbox's interface.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <nftables/libnftables.h>

#include "audit.h"
#include "err.h"
#include "guard.h"
#include "hostfw.h"
#include "nft.h"
#include "report.h"
#include "sandbox.h"

#define AUDIT_DSTNAT_PRIO	(-100)	/* NF_IP_PRI_NAT_DST */
#define AUDIT_FILTER_PRIO	0	/* NF_IP_PRI_FILTER */
#define AUDIT_CHECK		"ruleset"
#define AUDIT_READ_CHUNK	65536	/* bytes of the scratch listing per read */

/**
 * audit_expected_script() - what moat would write for the live sandboxes
 * @c:		settings
 * @ifnames:	set to a JSON array of the interfaces of complete sandboxes
 * @skip:	set to a JSON array of interfaces of incomplete ones
 * @names:	set to an object ifname -> sandbox name
 *
 * Return: the nft script (caller frees), NULL after printing why
 */
static char *audit_expected_script(const struct moat_config *c, json_t **ifnames,
				   json_t **skip, json_t **names)
{
	struct nft_base b = { .pool4 = c->pool4, .pool6 = c->pool6 };
	char (*list)[MOAT_NAME_MAX + 1] = NULL;
	char *buf = NULL;
	size_t len = 0, n = 0, i;
	FILE *f;

	*ifnames = json_array();
	*skip = json_array();
	*names = json_object();
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	if (nft_base_text(f, &b))
		goto fail;
	if (state_list(c, &list, &n))
		goto fail;
	for (i = 0; i < n; i++) {
		struct nft_sandbox ns = { 0 };
		struct errlist el = { 0 };
		struct sb_state s;
		struct policy p;

		if (state_read(c, list[i], &s) || !s.has_net || !s.ifname[0])
			continue;
		json_object_set_new(*names, s.ifname, json_string(s.name));
		if (!s.complete) {
			json_array_append_new(*skip, json_string(s.ifname));
			continue;
		}
		policy_init(&p);
		if (sandbox_load_policy(c, s.name, &p)) {
			policy_free(&p);
			goto fail;
		}
		sandbox_nft_fill(&ns, &s, &p);
		if (nft_sandbox_add_text(f, &ns, &el)) {
			errlist_print(&el, stderr);
			errlist_free(&el);
			policy_free(&p);
			goto fail;
		}
		policy_free(&p);
		/* the dispatch entries go in apart (libnftnl), as nft text here */
		nft_dispatch_text(f, s.ifname, true);
		json_array_append_new(*ifnames, json_string(s.ifname));
	}
	free(list);
	fclose(f);
	return buf;
fail:
	free(list);
	fclose(f);
	free(buf);
	return NULL;
}

/**
 * audit_expected() - the expected table, as the kernel lists it
 * @script:	nft script
 *
 * A child applies @script in a scratch network namespace of its own and
 * writes the JSON listing into a pipe.
 *
 * Return: parsed listing, NULL after printing why
 */
static json_t *audit_expected(const char *script)
{
	char *out = NULL;
	size_t len = 0;
	int pfd[2], status;
	json_t *doc;
	pid_t pid;
	FILE *f;

	if (pipe2(pfd, O_CLOEXEC)) {
		msg_err("verify: pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		msg_err("verify: fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return NULL;
	}
	if (pid == 0) {
		char *err = NULL;
		json_t *d;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (unshare(CLONE_NEWNET))
			_exit(2);
		if (nft_run(script, &err)) {
			fprintf(stderr, "moat: verify: the compiler's own ruleset was refused: %s\n",
				err);
			_exit(3);
		}
		d = nft_list_json("list table inet " NFT_TABLE);
		if (!d || json_dumpfd(d, pfd[1], JSON_COMPACT))
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	f = open_memstream(&out, &len);
	if (!f)
		die_oom();
	for (;;) {
		char b[AUDIT_READ_CHUNK];
		ssize_t r = read(pfd[0], b, sizeof(b));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		fwrite(b, 1, (size_t)r, f);
	}
	fclose(f);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		msg_err("verify: cannot build the expected ruleset in a scratch namespace (status %d)",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(out);
		return NULL;
	}
	doc = json_loads(out, 0, NULL);
	free(out);
	return doc;
}

/**
 * audit_strip() - drop what differs between equal rulesets
 * @j:		a JSON value, changed in place: handles removed, counters zeroed
 */
static void audit_strip(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			audit_strip(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_del(j, "handle");
	json_object_foreach(j, k, v) {
		if (!strcmp(k, "counter") && json_is_object(v)) {
			json_object_set_new(v, "packets", json_integer(0));
			json_object_set_new(v, "bytes", json_integer(0));
			continue;
		}
		audit_strip(v);
	}
}

/**
 * struct audit_tab - one table of a listing, indexed
 * @table:	the table object, or NULL
 * @chains:	chain name -> chain object
 * @rules:	chain name -> array of rule objects, in order
 * @sets:	set or map name -> object
 */
struct audit_tab {
	json_t *table;
	json_t *chains;
	json_t *rules;
	json_t *sets;
};

/**
 * audit_index() - index the objects of one table of a listing
 * @doc:	listing
 * @family:	table family
 * @name:	table name
 * @t:		filled in (objects are borrowed from @doc, containers owned)
 */
static void audit_index(json_t *doc, const char *family, const char *name,
			struct audit_tab *t)
{
	json_t *arr = json_object_get(doc, "nftables"), *it;
	size_t i;

	t->table = NULL;
	t->chains = json_object();
	t->rules = json_object();
	t->sets = json_object();
	json_array_foreach(arr, i, it) {
		const char *kind = NULL, *k;
		json_t *o = NULL, *v;

		json_object_foreach(it, k, v) {
			kind = k;
			o = v;
		}
		if (!kind || !json_is_object(o))
			continue;
		if (strcmp(kind, "table") && strcmp(kind, "chain") &&
		    strcmp(kind, "rule") && strcmp(kind, "set") &&
		    strcmp(kind, "map"))
			continue;
		if (strcmp(json_string_value(json_object_get(o, "family")) ?: "", family))
			continue;
		if (strcmp(json_string_value(json_object_get(o, !strcmp(kind, "table") ? "name" : "table")) ?: "", name))
			continue;
		if (!strcmp(kind, "table")) {
			t->table = o;
		} else if (!strcmp(kind, "chain")) {
			json_object_set(t->chains, json_string_value(json_object_get(o, "name")) ?: "", o);
		} else if (!strcmp(kind, "rule")) {
			const char *ch = json_string_value(json_object_get(o, "chain")) ?: "";
			json_t *a = json_object_get(t->rules, ch);

			if (!a) {
				a = json_array();
				json_object_set_new(t->rules, ch, a);
			}
			json_array_append(a, o);
		} else {
			json_object_set(t->sets, json_string_value(json_object_get(o, "name")) ?: "", o);
		}
	}
}

/**
 * audit_tab_free() - release an index
 * @t:		index
 */
static void audit_tab_free(struct audit_tab *t)
{
	json_decref(t->chains);
	json_decref(t->rules);
	json_decref(t->sets);
}

/**
 * audit_has_key() - whether a JSON value holds an object key anywhere
 * @j:		value
 * @key:	key
 *
 * Return: true if found
 */
static bool audit_has_key(json_t *j, const char *key)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (audit_has_key(v, key))
				return true;
		return false;
	}
	if (!json_is_object(j))
		return false;
	json_object_foreach(j, k, v)
		if (!strcmp(k, key) || audit_has_key(v, key))
			return true;
	return false;
}

/**
 * audit_brief() - a rule, shortly, for the report
 * @rule:	rule object
 * @buf:	output
 * @len:	its size
 *
 * Return: @buf: the rule's comment, or its expressions as compact JSON,
 *	   cut to fit
 */
static const char *audit_brief(json_t *rule, char *buf, size_t len)
{
	const char *cm = json_string_value(json_object_get(rule, "comment"));
	char *s;

	if (cm) {
		snprintf(buf, len, "\"%s\"", cm);
		return buf;
	}
	s = json_dumps(json_object_get(rule, "expr"), JSON_COMPACT);
	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
	if (strlen(buf) == len - 1 && len > 4)
		strcpy(buf + len - 4, "...");
	return buf;
}

/**
 * audit_chain_inv() - the invariant a chain enforces, for the report
 * @name:	chain or dispatch map name
 *
 * Return: "I1".."I5", "I8" (a supervisor's onward connections) or "-"
 */
static const char *audit_chain_inv(const char *name)
{
	const char *u = strrchr(name, '_');

	if (u && !strcmp(u, "_dispatch"))
		return !strncmp(name, "pre", 3) ? "I5" : !strncmp(name, "in", 2) ?
		       "I2" : !strncmp(name, "i1", 2) ? "I1" :
		       !strncmp(name, "out", 3) || !strncmp(name, "wk", 2) ?
		       "I8" : "I3";
	if (!strcmp(name, "output") || (u && (!strcmp(u, "_out") ||
					      !strcmp(u, "_wk"))))
		return "I8";
	if (u && !strcmp(u, "_i1"))
		return "I1";
	if (!strcmp(name, "prerouting") || (u && !strcmp(u, "_pre")))
		return "I5";
	if (!strcmp(name, "input") || (u && !strcmp(u, "_in")))
		return "I2";
	if (!strcmp(name, "forward") || (u && !strcmp(u, "_fwd")))
		return "I3";
	return "-";
}

/**
 * audit_rules() - compare one chain's rules
 * @r:		report
 * @chain:	chain name
 * @exp:	expected rules (array, may be NULL)
 * @live:	live rules (array, may be NULL)
 *
 * Return: true if they are the same
 */
static bool audit_rules(struct report *r, const char *chain, json_t *exp,
			json_t *live)
{
	size_t ne = json_array_size(exp), nl = json_array_size(live), i;
	char what[160], b1[120], b2[120];

	snprintf(what, sizeof(what), "inet moat chain %s: rules", chain);
	for (i = 0; i < ne && i < nl; i++) {
		json_t *e = json_object_get(json_array_get(exp, i), "expr");
		json_t *l = json_object_get(json_array_get(live, i), "expr");
		json_t *ce = json_object_get(json_array_get(exp, i), "comment");
		json_t *cl = json_object_get(json_array_get(live, i), "comment");

		if (json_equal(e, l) && ((!ce && !cl) || json_equal(ce, cl)))
			continue;
		if (nl > ne && i + 1 < nl &&
		    json_equal(e, json_object_get(json_array_get(live, i + 1), "expr"))) {
			report_add(r, false, audit_chain_inv(chain), AUDIT_CHECK,
				   what, "as compiled",
				   "unexpected rule %zu: %s", i + 1,
				   audit_brief(json_array_get(live, i), b1, sizeof(b1)));
		} else {
			report_add(r, false, audit_chain_inv(chain), AUDIT_CHECK,
				   what, "as compiled",
				   "rule %zu is %s, expected %s", i + 1,
				   audit_brief(json_array_get(live, i), b1, sizeof(b1)),
				   audit_brief(json_array_get(exp, i), b2, sizeof(b2)));
		}
		return false;
	}
	if (ne != nl) {
		if (nl > ne)
			report_add(r, false, audit_chain_inv(chain), AUDIT_CHECK,
				   what, "as compiled",
				   "%zu rules, expected %zu; unexpected rule %zu: %s",
				   nl, ne, ne + 1,
				   audit_brief(json_array_get(live, ne), b1, sizeof(b1)));
		else
			report_add(r, false, audit_chain_inv(chain), AUDIT_CHECK,
				   what, "as compiled",
				   "%zu rules, expected %zu (flushed or cut short)",
				   nl, ne);
		return false;
	}
	return true;
}

/**
 * audit_elem_ifname() - the sandbox interface a dispatch entry is for
 * @elem:	a map element, [key, verdict]
 * @buf:	output, at least 16 bytes
 * @len:	its size
 *
 * The key is the interface name, or (out_dispatch) a socket mark; then
 * the interface is the stem of the chain the entry jumps to.
 *
 * Return: @buf, "" if neither is found
 */
static const char *audit_elem_ifname(json_t *elem, char *buf, size_t len)
{
	json_t *key = json_array_get(elem, 0), *v = json_array_get(elem, 1);
	const char *target, *u;

	buf[0] = '\0';
	if (json_is_string(key)) {
		snprintf(buf, len, "%s", json_string_value(key));
		return buf;
	}
	target = json_string_value(json_object_get(json_object_get(v, "jump"),
						   "target"));
	if (!target)
		return buf;
	snprintf(buf, len, "%s", target);
	u = strrchr(buf, '_');
	if (u)
		*(char *)u = '\0';
	return buf;
}

/**
 * audit_moat() - compare the live "inet moat" table with the expected one
 * @r:		report
 * @exp:	expected table index
 * @live:	live table index
 * @skip:	interfaces of sandboxes being set up (their objects are ignored)
 * @names:	ifname -> sandbox name
 *
 * Return: number of differences reported
 */
static size_t audit_moat(struct report *r, struct audit_tab *exp,
			 struct audit_tab *live, json_t *skip, json_t *names)
{
	static const char *const props[] = { "type", "hook", "prio", "policy" };
	size_t bad = 0, nbase = 0, nsb = 0, k, i;
	const char *name;
	json_t *ec, *lc, *v;
	json_t *flags;

	if (!live->table) {
		report_add(r, false, "I6", AUDIT_CHECK, "table inet moat",
			   "present", "missing");
		return 1;
	}
	flags = json_object_get(live->table, "flags");
	json_array_foreach(flags, i, v) {
		const char *fl = json_string_value(v) ?: "";

		if (!strcmp(fl, "dormant") || !strcmp(fl, "owner")) {
			report_add(r, false, "I6", AUDIT_CHECK, "table inet moat flags",
				   "none", "%s (%s)", fl, !strcmp(fl, "owner") ?
				   "deleted when its owner exits: fails open" :
				   "the table is disabled");
			bad++;
		}
	}

	json_object_foreach(exp->chains, name, ec) {
		bool base = json_object_get(ec, "hook") != NULL;
		char what[160];

		snprintf(what, sizeof(what), "inet moat chain %s", name);
		base ? nbase++ : nsb++;
		lc = json_object_get(live->chains, name);
		if (!lc) {
			report_add(r, false, audit_chain_inv(name), AUDIT_CHECK,
				   what, "present", "missing");
			bad++;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(props); k++) {
			json_t *a = json_object_get(ec, props[k]);
			json_t *b = json_object_get(lc, props[k]);
			char *sa, *sb;

			if ((!a && !b) || (a && b && json_equal(a, b)))
				continue;
			sa = a ? json_dumps(a, JSON_ENCODE_ANY) : NULL;
			sb = b ? json_dumps(b, JSON_ENCODE_ANY) : NULL;
			report_add(r, false, audit_chain_inv(name), AUDIT_CHECK,
				   what, "as compiled", "%s %s, expected %s",
				   props[k], sb ? sb : "none", sa ? sa : "none");
			free(sa);
			free(sb);
			bad++;
		}
		if (!audit_rules(r, name, json_object_get(exp->rules, name),
				 json_object_get(live->rules, name)))
			bad++;
	}

	json_object_foreach(live->chains, name, lc) {
		char ifn[32];
		const char *u;

		if (json_object_get(exp->chains, name))
			continue;
		snprintf(ifn, sizeof(ifn), "%s", name);
		u = strrchr(ifn, '_');
		if (u)
			ifn[u - ifn] = '\0';
		json_array_foreach(skip, i, v)
			if (!strcmp(json_string_value(v), ifn))
				break;
		if (i < json_array_size(skip))
			continue;
		report_add(r, false, audit_chain_inv(name), AUDIT_CHECK,
			   "inet moat chains", "only live sandboxes'",
			   "stale chain %s (no such sandbox)", name);
		bad++;
	}

	json_object_foreach(exp->sets, name, ec) {
		json_t *ee = json_object_get(ec, "elem"), *le;
		bool dispatch = strstr(name, "_dispatch") != NULL;
		char what[160];

		snprintf(what, sizeof(what), "inet moat %s %s", dispatch ? "map" : "set", name);
		lc = json_object_get(live->sets, name);
		if (!lc) {
			report_add(r, false, "I6", AUDIT_CHECK, what, "present", "missing");
			bad++;
			continue;
		}
		le = json_object_get(lc, "elem");
		if (!dispatch) {
			/* only the static sets: address groups and pools (sets
			 * filled at run time, like DNS pins, change by design)
			 */
			if (strncmp(name, "g4_", 3) && strncmp(name, "g6_", 3) &&
			    strncmp(name, "pool", 4))
				continue;
			if (!json_equal(ee ? ee : json_null(), le ? le : json_null()) &&
			    !(json_array_size(ee) == 0 && json_array_size(le) == 0)) {
				report_add(r, false, "I3", AUDIT_CHECK, what,
					   "as compiled", "elements differ (%zu, expected %zu)",
					   json_array_size(le), json_array_size(ee));
				bad++;
			}
			continue;
		}
		/* dispatch maps: one entry per live sandbox, nothing stale
		 * (keyed by interface name, or by socket mark) */
		json_array_foreach(ee, i, v) {
			char ifb[32];
			const char *ifn = audit_elem_ifname(v, ifb, sizeof(ifb));
			json_t *w;
			size_t j;
			bool found = false, same = false;

			json_array_foreach(le, j, w) {
				if (!json_equal(json_array_get(w, 0), json_array_get(v, 0)))
					continue;
				found = true;
				same = json_equal(json_array_get(v, 1), json_array_get(w, 1));
			}
			if (!found || !same) {
				report_add(r, false, audit_chain_inv(name), AUDIT_CHECK,
					   what, "one entry per sandbox",
					   "%s entry for %s (sandbox %s)",
					   found ? "wrong" : "missing", ifn,
					   json_string_value(json_object_get(names, ifn)) ?: "?");
				bad++;
			}
		}
		json_array_foreach(le, i, v) {
			char ifb[32];
			const char *ifn = audit_elem_ifname(v, ifb, sizeof(ifb));
			json_t *w;
			size_t j;
			bool found = false;

			json_array_foreach(ee, j, w)
				if (json_equal(json_array_get(w, 0), json_array_get(v, 0)))
					found = true;
			json_array_foreach(skip, j, w)
				if (!strcmp(json_string_value(w), ifn))
					found = true;
			if (!found) {
				report_add(r, false, audit_chain_inv(name), AUDIT_CHECK,
					   what, "one entry per sandbox",
					   "stale entry for %s (no such sandbox)", ifn);
				bad++;
			}
		}
	}
	if (!bad)
		report_add(r, true, "-", AUDIT_CHECK, "table inet moat",
			   "as compiled", "%zu base chains, %zu sandbox chains, dispatch maps match",
			   nbase, nsb);
	return bad;
}

/**
 * audit_rule_limited_elsewhere() - whether a rule only matches packets
 * from a named non-moat input interface
 * @rule:	rule object
 *
 * Return: true if the rule has "iifname == NAME" (or iif) with NAME not a
 *	   moat interface
 */
static bool audit_rule_limited_elsewhere(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	size_t i;

	json_array_foreach(expr, i, e) {
		json_t *m = json_object_get(e, "match");
		const char *key, *op, *right;

		if (!m)
			continue;
		key = json_string_value(json_object_get(json_object_get(json_object_get(m, "left"), "meta"), "key"));
		op = json_string_value(json_object_get(m, "op")) ?: "==";
		right = json_string_value(json_object_get(m, "right"));
		if (!key || !right || strcmp(op, "=="))
			continue;
		if ((!strcmp(key, "iifname") || !strcmp(key, "iif")) &&
		    fnmatch(right, NFT_IFPREFIX "0", 0) != 0 &&
		    strncmp(right, NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
			return true;
	}
	return false;
}

/**
 * audit_text_devs_moat() - whether a chain's text listing names a moat device
 * @chain:	chain object (family, table, name)
 *
 * libnftables before 1.0.7 leaves "dev" out of the JSON of netdev chains;
 * its text listing has it ("device \"moat0\"" or "devices = { ... }").
 * When even that cannot be read, the chain counts as a moat one.
 *
 * Return: true if it may be bound to a moat interface
 */
static bool audit_text_devs_moat(json_t *chain)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *out, *p;
	char cmd[512];
	bool moat = true;

	if (!ctx)
		die_oom();
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	snprintf(cmd, sizeof(cmd), "list chain %s %s %s",
		 json_string_value(json_object_get(chain, "family")) ?: "",
		 json_string_value(json_object_get(chain, "table")) ?: "",
		 json_string_value(json_object_get(chain, "name")) ?: "");
	if (!nft_run_cmd_from_buffer(ctx, cmd)) {
		out = nft_ctx_get_output_buffer(ctx);
		p = strstr(out, "device");
		if (p) {
			const char *eol = strchr(p, ';');
			const char *q = strstr(p, "\"" NFT_IFPREFIX);

			moat = q && (!eol || q < eol);
		}
	}
	nft_ctx_free(ctx);
	return moat;
}

/**
 * audit_dev_is_moat() - whether a netdev chain is bound to a moat interface
 * @chain:	chain object
 *
 * Return: true if its "dev" (a string or a list) names one
 */
static bool audit_dev_is_moat(json_t *chain)
{
	json_t *d = json_object_get(chain, "dev"), *v;
	size_t i;

	if (!d)
		return audit_text_devs_moat(chain);
	if (json_is_string(d))
		return !strncmp(json_string_value(d), NFT_IFPREFIX, strlen(NFT_IFPREFIX));
	json_array_foreach(d, i, v)
		if (!strncmp(json_string_value(v) ?: "", NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
			return true;
	return false;
}

/**
 * audit_port_may_be() - whether a port match's right-hand side may hold a port
 * @right:	a number, a set ({"set": [...]}), a range ({"range": [lo, hi]})
 *		or anything else (counted as possibly matching)
 * @port:	port
 *
 * Return: true unless @right provably excludes @port
 */
static bool audit_port_may_be(json_t *right, json_int_t port)
{
	json_t *set = json_object_get(right, "set"), *rg, *v;
	size_t i;

	if (json_is_integer(right))
		return json_integer_value(right) == port;
	if ((rg = json_object_get(right, "range")) && json_array_size(rg) == 2 &&
	    json_is_integer(json_array_get(rg, 0)) &&
	    json_is_integer(json_array_get(rg, 1)))
		return json_integer_value(json_array_get(rg, 0)) <= port &&
		       port <= json_integer_value(json_array_get(rg, 1));
	if (json_is_array(set)) {
		json_array_foreach(set, i, v)
			if (audit_port_may_be(v, port))
				return true;
		return false;
	}
	return true;
}

/**
 * audit_rule_may_match_dns() - whether a rule may match traffic to port 53
 * @rule:	rule object
 *
 * Return: false only if the rule matches a destination port ("==") that
 *	   cannot be 53
 */
static bool audit_rule_may_match_dns(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	size_t i;

	json_array_foreach(expr, i, e) {
		json_t *m = json_object_get(e, "match");
		json_t *pl = json_object_get(json_object_get(m, "left"), "payload");
		const char *field = json_string_value(json_object_get(pl, "field"));
		const char *op = json_string_value(json_object_get(m, "op")) ?: "==";

		if (!field || strcmp(field, "dport") ||
		    (strcmp(op, "==") && strcmp(op, "in")))
			continue;
		if (!audit_port_may_be(json_object_get(m, "right"), 53))
			return false;
	}
	return true;
}

/**
 * audit_rule_sets_mark() - whether a rule writes the packet mark
 * @rule:	rule object
 *
 * Return: true if one of its statements is "meta mark set ..."
 */
static bool audit_rule_sets_mark(json_t *rule)
{
	json_t *expr = json_object_get(rule, "expr"), *e;
	size_t i;

	json_array_foreach(expr, i, e) {
		json_t *key = json_object_get(json_object_get(e, "mangle"), "key");
		const char *k = json_string_value(json_object_get(json_object_get(key, "meta"), "key"));

		if (k && !strcmp(k, "mark"))
			return true;
	}
	return false;
}

/**
 * struct audit_walk - state of the walk through other tables' chains
 * @r:		report
 * @rules:	"family table chain" -> array of its rules
 * @dns_prio:	priority of moat's DNS interception
 * @proxy_prio:	priority of moat's proxy redirect (its "proxy" chain)
 * @out_prio:	priority of moat's output chain
 * @bad:	breaches found
 */
struct audit_walk {
	struct report *r;
	json_t *rules;
	long long dns_prio;
	long long proxy_prio;
	long long out_prio;
	size_t bad;
};

/**
 * audit_walk_chain() - check the rules of a chain reached from a base chain
 * @w:		walk state
 * @base:	the base chain (hook, type, priority, devices)
 * @fam:	family
 * @tab:	table
 * @chain:	chain name
 * @depth:	jumps followed so far
 */
static void audit_walk_chain(struct audit_walk *w, json_t *base, const char *fam,
			     const char *tab, const char *chain, int depth)
{
	const char *hook = json_string_value(json_object_get(base, "hook")) ?: "";
	const char *type = json_string_value(json_object_get(base, "type")) ?: "";
	json_int_t prio = json_integer_value(json_object_get(base, "prio"));
	char key[512], what[320], b[120];
	json_t *rules, *o, *e;
	size_t i, j;

	if (depth > 16)		/* the kernel allows no deeper jumps */
		return;
	snprintf(key, sizeof(key), "%s %s %s", fam, tab, chain);
	rules = json_object_get(w->rules, key);
	snprintf(what, sizeof(what), "table %s %s chain %s", fam, tab, chain);
	json_array_foreach(rules, i, o) {
		if (!strcmp(hook, "prerouting") && !strcmp(type, "nat") &&
		    prio <= w->dns_prio &&
		    (audit_has_key(o, "dnat") || audit_has_key(o, "redirect")) &&
		    !audit_rule_limited_elsewhere(o) && audit_rule_may_match_dns(o)) {
			report_add(w->r, false, "I4", AUDIT_CHECK, what,
				   "no NAT ahead of moat",
				   "translates sandbox traffic at priority %lld, before moat's DNS interception (%lld): %s",
				   (long long)prio, w->dns_prio,
				   audit_brief(o, b, sizeof(b)));
			w->bad++;
		}
		if ((!strcmp(hook, "ingress") || !strcmp(hook, "egress")) &&
		    audit_dev_is_moat(base) &&
		    (audit_has_key(o, "fwd") || audit_has_key(o, "dup"))) {
			report_add(w->r, false, "I3", AUDIT_CHECK, what,
				   "nothing around moat",
				   "forwards sandbox packets before any IP hook: %s",
				   audit_brief(o, b, sizeof(b)));
			w->bad++;
		}
		if (audit_rule_sets_mark(o) && !audit_rule_limited_elsewhere(o) &&
		    ((!strcmp(hook, "prerouting") && prio <= w->proxy_prio) ||
		     (!strcmp(hook, "output") && prio <= w->out_prio)))
			report_warn(w->r, "I3", AUDIT_CHECK, what,
				    "no mark rewrite",
				    "writes the packet mark at %s priority %lld, before moat's %s (%lld): %s",
				    hook, (long long)prio,
				    hook[0] == 'p' ? "proxy redirect" : "output chain",
				    hook[0] == 'p' ? w->proxy_prio : w->out_prio,
				    audit_brief(o, b, sizeof(b)));
		if (audit_has_key(o, "ct helper") &&
		    strcmp(hook, "ingress") && strcmp(hook, "egress") &&
		    !audit_rule_limited_elsewhere(o))
			report_warn(w->r, "I1", AUDIT_CHECK, what,
				    "no conntrack helper",
				    "assigns a conntrack helper at %s: its related connections are judged as new ones: %s",
				    hook, audit_brief(o, b, sizeof(b)));
		/* follow jumps and gotos: their rules act for this base chain */
		json_array_foreach(json_object_get(o, "expr"), j, e) {
			json_t *t = json_object_get(e, "jump") ?: json_object_get(e, "goto");
			const char *target = json_string_value(json_object_get(t, "target"));

			if (target && !audit_rule_limited_elsewhere(o))
				audit_walk_chain(w, base, fam, tab, target, depth + 1);
		}
	}
}

/**
 * audit_others() - rules of other tables that take traffic around moat
 * @r:		report
 * @doc:	live ruleset
 * @dns_prio:	priority of moat's DNS interception (its prerouting nat chain)
 * @proxy_prio:	priority of moat's proxy redirect
 * @out_prio:	priority of moat's output chain
 *
 * Every base chain of another table is walked with the chains it jumps
 * to. A NAT rule counts only if it may match DNS (no destination port
 * match that excludes 53) from a moat interface: moat filters whatever
 * destination NAT produced, so other NAT only matters to its DNS
 * interception.
 *
 * Return: number of breaches reported
 */
static size_t audit_others(struct report *r, json_t *doc, long long dns_prio,
			   long long proxy_prio, long long out_prio)
{
	struct audit_walk w = { .r = r, .rules = json_object(), .dns_prio = dns_prio,
				.proxy_prio = proxy_prio, .out_prio = out_prio };
	json_t *arr = json_object_get(doc, "nftables"), *it, *o;
	json_t *bases = json_array();
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *fam, *tab;
		char key[512];
		json_t *a;

		if ((o = json_object_get(it, "chain"))) {
			if (json_object_get(o, "hook"))
				json_array_append(bases, o);
			continue;
		}
		if (!(o = json_object_get(it, "rule")))
			continue;
		fam = json_string_value(json_object_get(o, "family")) ?: "";
		tab = json_string_value(json_object_get(o, "table")) ?: "";
		snprintf(key, sizeof(key), "%s %s %s", fam, tab,
			 json_string_value(json_object_get(o, "chain")) ?: "");
		a = json_object_get(w.rules, key);
		if (!a) {
			a = json_array();
			json_object_set_new(w.rules, key, a);
		}
		json_array_append(a, o);
	}
	json_array_foreach(bases, i, o) {
		const char *fam = json_string_value(json_object_get(o, "family")) ?: "";
		const char *tab = json_string_value(json_object_get(o, "table")) ?: "";

		if (!strcmp(fam, "inet") && !strcmp(tab, NFT_TABLE))
			continue;
		audit_walk_chain(&w, o, fam, tab,
				 json_string_value(json_object_get(o, "name")) ?: "", 0);
	}
	json_decref(bases);
	json_decref(w.rules);
	if (!w.bad)
		report_add(r, true, "-", AUDIT_CHECK, "other tables",
			   "nothing around moat", "no rule takes sandbox traffic around moat");
	return w.bad;
}

/**
 * audit_guard() - what keeps the sandboxes closed without moat's table
 * @r:		report
 * @ifnames:	interfaces of the live sandboxes
 *
 * Only when there are sandboxes: the rules and policies come with the
 * base table, which the first sandbox creates.
 */
static void audit_guard(struct report *r, json_t *ifnames)
{
	char what[256];
	json_t *v;
	size_t i;
	int ret;

	if (!json_array_size(ifnames))
		return;
	ret = guard_host_check(what, sizeof(what));
	if (ret < 0)
		report_add(r, false, "I10", AUDIT_CHECK,
			   "guard routing rules and IPsec policies (fail closed without the table)",
			   "present", "cannot be read: %s", strerror(-ret));
	else
		report_add(r, ret == 0, "I10", AUDIT_CHECK,
			   "guard routing rules and IPsec policies (fail closed without the table)",
			   "present", "%s", ret ? what : "present");
	json_array_foreach(ifnames, i, v) {
		const char *ifn = json_string_value(v);
		char w[96];

		snprintf(w, sizeof(w), "guard %s marking filter (tc ingress)", ifn);
		ret = guard_link_check(ifn);
		report_add(r, ret == 1, "I10", AUDIT_CHECK, w, "present", "%s",
			   ret == 1 ? "present" : ret == 0 ? "missing" :
			   strerror(-ret));
	}
}

/**
 * audit_route_localnet() - warn of route_localnet in moat's namespace
 * @r:		report
 *
 * Any interface counts ("all" is or-ed with each interface's, "default"
 * is what new ones, moat's included, start with).
 */
static void audit_route_localnet(struct report *r)
{
	const char *root = "/proc/sys/net/ipv4/conf";
	char on[120] = "", path[512], v[8];
	DIR *d = opendir(root);
	struct dirent *de;
	size_t len = 0;
	int fd;

	if (!d)
		return;
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/route_localnet", root,
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, v, sizeof(v) - 1);
		close(fd);
		if (n <= 0 || v[0] == '0')
			continue;
		if (len < sizeof(on))
			len += (size_t)snprintf(on + len, sizeof(on) - len, "%s%s",
						len ? " " : "", de->d_name);
	}
	closedir(d);
	if (len)
		report_warn(r, "I2", AUDIT_CHECK, "sysctl route_localnet",
			    "0", "1 on %s: loopback addresses routed to and from other interfaces",
			    on);
	else
		report_add(r, true, "I2", AUDIT_CHECK, "sysctl route_localnet",
			   "0", "0");
}

/**
 * audit_ruleset() - audit the live ruleset against the live sandboxes
 * @c:		settings
 * @r:		report, rows added
 *
 * Return: 0 when the audit ran (its findings are in @r), -1 if it could
 *	   not run
 */
int audit_ruleset(const struct moat_config *c, struct report *r)
{
	json_t *ifnames = NULL, *skip = NULL, *names = NULL, *live = NULL,
	       *exp = NULL, *ch;
	struct audit_tab te, tl;
	long long dns_prio = AUDIT_DSTNAT_PRIO, proxy_prio = AUDIT_DSTNAT_PRIO;
	long long out_prio = AUDIT_FILTER_PRIO;
	const char *cn;
	char *script;
	int lock, ret = -1;

	lock = state_lock(c);
	if (lock < 0) {
		msg_err("verify: cannot take the lock: %s", strerror(-lock));
		return -1;
	}
	script = audit_expected_script(c, &ifnames, &skip, &names);
	if (!script) {
		msg_err("verify: cannot compile the expected ruleset");
		goto out;
	}
	exp = audit_expected(script);
	live = nft_list_json("list ruleset");
	if (!exp || !live) {
		if (!live)
			msg_err("verify: cannot list the live ruleset");
		goto out;
	}
	audit_strip(exp);
	audit_strip(live);
	audit_index(exp, "inet", NFT_TABLE, &te);
	audit_index(live, "inet", NFT_TABLE, &tl);
	audit_moat(r, &te, &tl, skip, names);
	json_object_foreach(tl.chains, cn, ch) {
		const char *hook = json_string_value(json_object_get(ch, "hook")) ?: "";
		long long prio = json_integer_value(json_object_get(ch, "prio"));

		if (!strcmp(hook, "prerouting") &&
		    !strcmp(json_string_value(json_object_get(ch, "type")) ?: "", "nat")) {
			if (!strcmp(cn, "proxy"))
				proxy_prio = prio;
			else
				dns_prio = prio;
		}
		if (!strcmp(hook, "output"))
			out_prio = prio;
	}
	audit_others(r, live, dns_prio, proxy_prio, out_prio);
	hostfw_audit(r, live);
	audit_route_localnet(r);
	audit_guard(r, ifnames);
	audit_tab_free(&te);
	audit_tab_free(&tl);
	ret = 0;
out:
	state_unlock(lock);
	free(script);
	json_decref(ifnames);
	json_decref(skip);
	json_decref(names);
	json_decref(exp);
	json_decref(live);
	return ret;
}
