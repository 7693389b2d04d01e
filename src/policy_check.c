// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy_check.c - what a policy that loads can still get wrong: what this
 * version cannot enforce (errors), and what cannot work as written
 * (warnings)
 *
 * Theory of operation
 * -------------------
 * The loader accepts everything the format describes, including what this
 * version cannot enforce (more DNS upstreams than the interceptor uses, a
 * bandwidth tc cannot shape): policy_check_supported() refuses that
 * separately, at the place it was written, so that nothing a policy asks
 * for is ever silently ignored, and later versions only relax that one
 * function.
 *
 * A policy that loads can still not work as written: policy_lint() adds
 * warnings, located like errors ("warning: ..."), for a rule an earlier
 * one shadows, a duplicate, default deny with internet addresses but no
 * name allowed (nothing resolves), egress rules a network mode never
 * uses, and a secret's host that no allow rule lets HTTPS reach under
 * default deny (lint_https_allowed(): the secret is never sent). Shadowing is decided conservatively (policy_rule_covers(): false
 * when in doubt), so a warning is never wrong. Warnings never stop a
 * policy; "moat policy check" prints them.
 */
#include <limits.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "policy.h"
#include "policy_int.h"

/* ------------------------------------------------------------------------
 * Checks for this version
 */

/**
 * policy_check_supported() - refuse what this version cannot enforce
 * @p:		policy
 * @el:		error list, one record per refused item, at its origin
 *
 * Nothing a policy asks for is ever silently ignored: the DNS interceptor
 * uses at most POLICY_UPSTREAM_MAX upstreams (file and command line
 * together), and more are refused at their place. (Domain rules and the
 * dns section are enforced by the DNS interceptor, dns.c; limits by
 * link.c and fwd.c.)
 *
 * Return: 0 if everything is supported, -1 after adding errors
 */
int policy_check_supported(const struct policy *p, struct errlist *el)
{
	size_t n0 = el->n;

	if (p->ndns_upstream > POLICY_UPSTREAM_MAX)
		errlist_add(el, p->loc_dns_upstream.file,
			    p->loc_dns_upstream.line, p->loc_dns_upstream.col,
			    "dns.upstream: %zu resolvers, the DNS interceptor uses at most %d",
			    p->ndns_upstream, POLICY_UPSTREAM_MAX);
	if (p->bandwidth_bps && (p->bandwidth_bps < POLICY_BANDWIDTH_MIN ||
				 p->bandwidth_bps > POLICY_BANDWIDTH_MAX))
		errlist_add(el, p->loc_bandwidth.file, p->loc_bandwidth.line,
			    p->loc_bandwidth.col,
			    "limits.bandwidth: %llu bit/s is beyond what tc can shape (8bit to %llubit, about 17gbit)",
			    (unsigned long long)p->bandwidth_bps,
			    POLICY_BANDWIDTH_MAX);
	return el->n == n0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Warnings: policies that load but cannot work as written
 */

/**
 * lint_group_covers() - tell if every address of a prefix is in a group
 * @g:		group
 * @pfx:	prefix
 *
 * Exact by the group table (longest row wins, public where none): the
 * longest row containing all of @pfx must be @g's (or none, for public),
 * and no more specific row inside @pfx may belong to another group.
 * "host" depends on the host's addresses and IPv4-mapped or NAT64
 * prefixes are classified by the address they carry: neither is ever
 * said to be covered.
 *
 * Return: true if @g holds all of @pfx
 */
static bool lint_group_covers(enum addr_group g, const struct prefix *pfx)
{
	static const struct prefix wrap[] = {
		{ AF_INET6, 96, { [10] = 0xff, [11] = 0xff } },
		{ AF_INET6, 96, { 0x00, 0x64, 0xff, 0x9b } },
	};
	const struct addr_block *t;
	enum addr_group best = GROUP_PUBLIC;
	int bestlen = -1;
	size_t n, i;

	if (g == GROUP_HOST)
		return false;
	for (i = 0; i < ARRAY_SIZE(wrap); i++) {
		if (prefix_overlaps(&wrap[i], pfx))
			return false;
	}
	t = addr_blocks(&n);
	for (i = 0; i < n; i++) {
		if (t[i].pfx.family != pfx->family)
			continue;
		if (prefix_contains(&t[i].pfx, pfx)) {
			if (t[i].pfx.plen > bestlen) {
				bestlen = t[i].pfx.plen;
				best = t[i].group;
			}
		} else if (prefix_overlaps(&t[i].pfx, pfx) &&
			   t[i].group != g) {
			return false;	/* a more specific row of another group */
		}
	}
	return best == g;
}

/**
 * lint_ports_cover() - tell if one port list includes another
 * @a:		rule whose ports may include...
 * @b:		...this rule's ports
 *
 * Return: true if every port @b matches is one @a matches
 */
static bool lint_ports_cover(const struct rule *a, const struct rule *b)
{
	size_t i, j;

	if (!a->nports)
		return true;
	if (!b->nports)
		return false;
	for (j = 0; j < b->nports; j++) {
		for (i = 0; i < a->nports; i++) {
			if (a->ports[i].lo <= b->ports[j].lo &&
			    b->ports[j].hi <= a->ports[i].hi)
				break;
		}
		if (i == a->nports)
			return false;
	}
	return true;
}

/**
 * policy_rule_covers() - tell if a rule matches everything another does
 * @a:		earlier rule
 * @b:		later rule
 *
 * Targets: a prefix containing the other, a group holding every address
 * of a prefix (lint_group_covers()), the same group, a domain pattern
 * matching every name of the other ("*.x" covers "a.x" and "*.a.x").
 * Then the ports (none means all) and the protocol ("any" covers the
 * others). Conservative: false when in doubt, so a warning is never
 * wrong.
 *
 * Return: true if @b can never match a packet or name that @a does not
 */
static bool policy_rule_covers(const struct rule *a, const struct rule *b)
{
	bool target;

	switch (b->kind) {
	case TARGET_CIDR:
		target = (a->kind == TARGET_CIDR &&
			  a->pfx.family == b->pfx.family &&
			  prefix_contains(&a->pfx, &b->pfx)) ||
			 (a->kind == TARGET_GROUP &&
			  lint_group_covers(a->group, &b->pfx));
		break;
	case TARGET_GROUP:
		target = a->kind == TARGET_GROUP && a->group == b->group;
		break;
	case TARGET_DOMAIN:
		target = a->kind == TARGET_DOMAIN &&
			 names_covers(a->domain, b->domain);
		break;
	default:
		target = false;
	}
	if (!target || !lint_ports_cover(a, b))
		return false;
	return a->proto == PROTO_ANY || a->proto == b->proto;
}

/**
 * lint_same() - tell if two rules are the same rule after normalisation
 * @a:		rule
 * @b:		rule
 *
 * Return: true if verdict, target, ports and protocol are equal
 */
static bool lint_same(const struct rule *a, const struct rule *b)
{
	return a->allow == b->allow && a->kind == b->kind &&
	       a->proto == b->proto && a->nports == b->nports &&
	       (!a->nports || !memcmp(a->ports, b->ports,
				      a->nports * sizeof(*a->ports))) &&
	       policy_rule_covers(a, b) && policy_rule_covers(b, a);
}

/**
 * lint_reaches_public() - tell if an allow rule opens internet addresses
 * @r:		rule
 *
 * Return: true for an allow of group public or of a prefix whose first
 *	   address is public
 */
static bool lint_reaches_public(const struct rule *r)
{
	if (!r->allow)
		return false;
	if (r->kind == TARGET_GROUP)
		return r->group == GROUP_PUBLIC;
	if (r->kind == TARGET_CIDR)
		return addr_classify(r->pfx.family, r->pfx.addr, NULL, 0) ==
		       GROUP_PUBLIC;
	return false;
}

/**
 * lint_add() - add a warning at a rule's or the policy's origin
 * @warn:	list
 * @loc:	origin
 * @fmt:	message, after "warning: "
 */
static void lint_add(struct errlist *warn, const struct srcloc *loc,
		     const char *fmt, ...) PRINTF_FMT(3, 4);
static void lint_add(struct errlist *warn, const struct srcloc *loc,
		     const char *fmt, ...)
{
	char *m;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	errlist_add(warn, loc->file, loc->line, loc->col, "warning: %s", m);
	free(m);
}

/**
 * lint_where() - "FILE:LINE" of a rule's origin, or the option's name
 * @loc:	origin
 * @buf:	buffer
 * @len:	its size
 *
 * Return: @buf
 */
static const char *lint_where(const struct srcloc *loc, char *buf,
			      size_t len)
{
	if (loc->line)
		snprintf(buf, len, "%s:%u", loc->file ? loc->file : "?",
			 loc->line);
	else
		snprintf(buf, len, "%s", loc->file ? loc->file : "?");
	return buf;
}

/**
 * lint_https_allowed() - may a rule let HTTPS to a name through
 * @p:		policy
 * @host:	a secret's host pattern
 *
 * Conservative: true if an allow rule for TCP 443 is an address or group
 * rule (the destination may be allowed whatever its name), or a domain
 * rule that covers @host.
 *
 * Return: false only if no allow rule can let HTTPS to @host through
 */
static bool lint_https_allowed(const struct policy *p, const char *host)
{
	size_t i, k;

	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		bool port = !r->nports;

		if (!r->allow || (r->proto != PROTO_ANY && r->proto != PROTO_TCP))
			continue;
		for (k = 0; k < r->nports; k++)
			if (r->ports[k].lo <= 443 && r->ports[k].hi >= 443)
				port = true;
		if (!port)
			continue;
		if (r->kind != TARGET_DOMAIN || names_covers(r->domain, host))
			return true;
	}
	return false;
}

/**
 * policy_lint() - find what loads but cannot work as written
 * @p:		valid policy
 * @warn:	list the warnings are added to, located like errors, each
 *		message starting with "warning: "
 *
 * Three kinds, none of them an error (the policy does what it says):
 *
 * - a rule that can never decide anything, because an earlier rule
 *   matches everything it would (policy_rule_covers()): "shadowed", or
 *   "duplicate" when both are the same rule after normalisation;
 * - with network filtered and egress.default deny, allow rules for
 *   internet addresses but no domain allow rule: the DNS interceptor then
 *   answers every name NXDOMAIN (only dns.records resolve), so a program
 *   that connects by name never reaches the addresses it was given;
 * - egress rules with network none or restricted, which send nothing
 *   out whatever the rules say.
 *
 * Return: number of warnings added
 */
int policy_lint(const struct policy *p, struct errlist *warn)
{
	size_t n0 = warn->n, i, j;
	bool dom_allow = false, public = false;
	char buf[INET6_ADDRSTRLEN + 8], abuf[INET6_ADDRSTRLEN + 8];
	char where[PATH_MAX + 16];

	for (j = 0; j < p->nrules; j++) {
		const struct rule *b = &p->rules[j];

		if (b->allow && b->kind == TARGET_DOMAIN)
			dom_allow = true;
		if (lint_reaches_public(b))
			public = true;
		for (i = 0; i < j; i++) {
			const struct rule *a = &p->rules[i];

			if (!policy_rule_covers(a, b))
				continue;
			if (lint_same(a, b))
				lint_add(warn, &b->loc,
					 "rule %zu (%s %s) duplicates rule %zu at %s; remove one",
					 j + 1, b->allow ? "allow" : "deny",
					 policy_target_text(b, buf, sizeof(buf)),
					 i + 1, lint_where(&a->loc, where,
							   sizeof(where)));
			else
				lint_add(warn, &b->loc,
					 "rule %zu (%s %s) is shadowed by rule %zu at %s (%s %s), which matches everything it would: it never decides anything",
					 j + 1, b->allow ? "allow" : "deny",
					 policy_target_text(b, buf, sizeof(buf)),
					 i + 1, lint_where(&a->loc, where,
							   sizeof(where)),
					 a->allow ? "allow" : "deny",
					 policy_target_text(a, abuf, sizeof(abuf)));
			break;
		}
	}
	if (p->mode == NET_FILTERED && p->egress_default == EGRESS_DENY &&
	    public && !dom_allow)
		lint_add(warn, &p->loc_default,
			 "egress.default is deny and no rule allows a domain name: every DNS lookup is answered NXDOMAIN (address rules do not make names resolve), so a program connecting by name reaches nothing; add domain allow rules (allow: github.com)");
	for (i = 0; p->egress_default == EGRESS_DENY && i < p->nsecrets; i++) {
		const struct secret *sec = &p->secrets[i];

		for (j = 0; j < sec->nhosts; j++)
			if (!lint_https_allowed(p, sec->hosts[j]))
				lint_add(warn, &sec->loc,
					 "secret %s: no rule allows its host '%s' on TCP 443 and egress.default is deny: the secret is never sent there",
					 sec->name, sec->hosts[j]);
	}
	if (p->mode != NET_FILTERED && p->nrules)
		lint_add(warn, &p->rules[0].loc,
			 "network %s sends nothing out: the egress rules are never used",
			 net_mode_name(p->mode));
	return (int)(warn->n - n0);
}
