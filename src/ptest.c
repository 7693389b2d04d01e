// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * ptest.c - "moat policy test": what a policy says of one destination
 *
 * Theory of operation
 * -------------------
 * ptest_parse_dest() reads DEST[:PORT][/PROTO] with the command line's
 * rule syntax (policy_parse_rule_arg()): DEST is a name, an IPv4 or IPv6
 * address (in brackets with a port: "[2001:db8::1]:443") or "host" (the
 * host as the sandbox sees it, its gateway); PORT one port, 443 if absent;
 * PROTO tcp (the default), udp or icmp.
 *
 * ptest_decide() then walks the same steps, in the same order, as the
 * places that decide a sandbox's traffic, and reports the step that
 * decides, the rule (its number in the effective policy and its origin)
 * and the path the traffic takes:
 *
 * - the network mode (none, restricted: nothing goes out) and the
 *   invariants (I4: DNS goes to moat's interceptor, DoT, DoQ, NetBIOS,
 *   mDNS and LLMNR are dropped; multicast is dropped; loopback never
 *   leaves the sandbox; I1: the sandbox pools, other sandboxes, are never
 *   reached);
 * - for a name, the DNS interceptor (dns.c, dns_decide()): dns.records,
 *   dns.block, the first domain rule matching the name whatever its ports
 *   (a deny answers NXDOMAIN), and egress.default deny (NXDOMAIN when no
 *   rule matches); a name that resolves has its addresses pinned into
 *   every domain allow rule matching it;
 * - on TCP 80, 443 and the ports tcp domain rules name, when the policy
 *   has domain rules, the transparent proxy (proxy.c): the first domain
 *   rule matching the SNI or Host and the TCP port decides, an allow only
 *   for the addresses answered for that name; UDP to those ports is
 *   dropped (QUIC);
 * - otherwise the kernel's forward chain (nft.c): the rules in order
 *   (a domain allow rule matches the addresses pinned for it; domain deny
 *   rules exist only at DNS and in the proxy), then egress.default; the
 *   host only through "allow: host" rules (input chain).
 *
 * What cannot be known without running the sandbox is said, not guessed:
 * the address a name resolves to (the verdict assumes a public address
 * no CIDR rule names, and lists the CIDR rules that would decide first),
 * and the host's own addresses (an address is classified by the group
 * table only; write "host" for the host). This file mirrors those
 * decisions and changes nothing; the decisions themselves live in dns.c,
 * proxy.c and nft.c.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dns.h"
#include "ptest.h"

#define PTEST_DEFAULT_PORT	443

/**
 * ptest_parse_dest() - parse DEST[:PORT][/PROTO]
 * @arg:	text
 * @d:		result
 * @el:		error list
 *
 * Return: 0, or -1 after adding errors to @el
 */
int ptest_parse_dest(const char *arg, struct ptest_dest *d,
		     struct errlist *el)
{
	struct policy tmp;
	struct rule *r;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	policy_init(&tmp);
	/* a deny: the allow-only check on never reachable ports must not
	 * refuse "example.com:53", which the test explains instead */
	if (policy_parse_rule_arg(&tmp, arg, false, "DEST", el))
		goto out;
	r = &tmp.rules[0];
	if (r->nports > 1 || (r->nports && r->ports[0].lo != r->ports[0].hi)) {
		errlist_add(el, "DEST", 0, 0,
			    "'%s': give one port, not a list or a range", arg);
		goto out;
	}
	switch (r->kind) {
	case TARGET_CIDR:
		if (r->pfx.plen != (r->pfx.family == AF_INET ? 32 : 128)) {
			errlist_add(el, "DEST", 0, 0,
				    "'%s': give one address, not a prefix", arg);
			goto out;
		}
		d->kind = PTEST_ADDR;
		d->addr = r->pfx;
		break;
	case TARGET_GROUP:
		if (r->group != GROUP_HOST) {
			errlist_add(el, "DEST", 0, 0,
				    "'%s': give a name, an address or 'host', not a group",
				    arg);
			goto out;
		}
		d->kind = PTEST_HOST;
		break;
	case TARGET_SANDBOX:
		errlist_add(el, "DEST", 0, 0,
			    "'%s': give a name, an address or 'host'; 'moat inspect' shows a sandbox's links",
			    arg);
		goto out;
	case TARGET_DOMAIN:
		if (r->domain[0] == '*') {
			errlist_add(el, "DEST", 0, 0,
				    "'%s': give one name, not a wildcard", arg);
			goto out;
		}
		d->kind = PTEST_NAME;
		snprintf(d->name, sizeof(d->name), "%s", r->domain);
		break;
	}
	d->proto = r->proto == PROTO_ANY ? PROTO_TCP : r->proto;
	if (d->proto != PROTO_ICMP)
		d->port = r->nports ? r->ports[0].lo : PTEST_DEFAULT_PORT;
	ret = 0;
out:
	policy_free(&tmp);
	return ret;
}

/**
 * ptest_port_matches() - do a rule's protocol and ports cover the traffic
 * @r:		rule
 * @d:		destination
 *
 * As nft.c compiles them: "any" without ports matches everything, with
 * ports TCP and UDP to them; tcp and udp match their own protocol (and
 * ports); icmp matches ICMP and ICMPv6.
 *
 * Return: true if they do
 */
static bool ptest_port_matches(const struct rule *r,
			       const struct ptest_dest *d)
{
	size_t i;

	if (r->proto != PROTO_ANY && r->proto != d->proto)
		return false;
	if (!r->nports)
		return true;
	if (d->proto == PROTO_ICMP)
		return false;
	for (i = 0; i < r->nports; i++)
		if (d->port >= r->ports[i].lo && d->port <= r->ports[i].hi)
			return true;
	return false;
}

/**
 * ptest_addr_matches() - does an address or group rule cover an address
 * @r:		rule (TARGET_CIDR or TARGET_GROUP)
 * @a:		address (/32 or /128)
 * @g:		its group
 *
 * An IPv4 rule also covers the IPv4-mapped and NAT64 forms, as in nft.c.
 *
 * Return: true if it does
 */
static bool ptest_addr_matches(const struct rule *r, const struct prefix *a,
			       enum addr_group g)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	struct prefix v4;

	if (r->kind == TARGET_GROUP)
		return r->group != GROUP_HOST && r->group == g;
	if (r->kind != TARGET_CIDR)
		return false;
	if (r->pfx.family == a->family)
		return prefix_contains(&r->pfx, a);
	if (r->pfx.family == AF_INET && a->family == AF_INET6 &&
	    (!memcmp(a->addr, mapped, 12) || !memcmp(a->addr, nat64, 12))) {
		memset(&v4, 0, sizeof(v4));
		v4.family = AF_INET;
		v4.plen = 32;
		memcpy(v4.addr, a->addr + 12, 4);
		return prefix_contains(&r->pfx, &v4);
	}
	return false;
}

/**
 * ptest_rule_text() - a rule as one line: verdict, target, ports, protocol
 * @r:		rule
 * @buf:	buffer
 * @len:	its size
 *
 * Return: @buf
 */
static const char *ptest_rule_text(const struct rule *r, char *buf,
				   size_t len)
{
	char t[INET6_ADDRSTRLEN + 8];
	size_t i, o;

	switch (r->kind) {
	case TARGET_CIDR:
		if (prefix_format(&r->pfx, t, sizeof(t)))
			snprintf(t, sizeof(t), "?");
		break;
	case TARGET_GROUP:
		snprintf(t, sizeof(t), "%s", addr_group_name(r->group));
		break;
	default:
		t[0] = '\0';
	}
	o = (size_t)snprintf(buf, len, "%s %s", r->allow ? "allow" : "deny",
			     r->kind == TARGET_DOMAIN ||
			     r->kind == TARGET_SANDBOX ? r->domain : t);
	for (i = 0; i < r->nports && o < len; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			o += (size_t)snprintf(buf + o, len - o, "%s%u",
					      i ? "," : " ports ",
					      r->ports[i].lo);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%u-%u",
					      i ? "," : " ports ",
					      r->ports[i].lo, r->ports[i].hi);
	}
	if (r->proto != PROTO_ANY && o < len)
		snprintf(buf + o, len - o, " %s", proto_name(r->proto));
	return buf;
}

/**
 * ptest_print_rule() - the "rule:" line for a policy rule
 * @f:		output
 * @p:		policy
 * @k:		rule index
 */
static void ptest_print_rule(FILE *f, const struct policy *p, size_t k)
{
	const struct rule *r = &p->rules[k];
	char buf[512];

	fprintf(f, "rule: %zu at %s", k + 1, r->loc.file ? r->loc.file : "?");
	if (r->loc.line)
		fprintf(f, ":%u:%u", r->loc.line, r->loc.col);
	fprintf(f, ": %s\n", ptest_rule_text(r, buf, sizeof(buf)));
}

/**
 * ptest_print_loc() - the "rule:" line for a setting of the policy
 * @f:		output
 * @what:	setting, e.g. "egress.default deny"
 * @loc:	where it was set (unset: a default), or NULL for an
 *		invariant or a setting whose place is not recorded
 */
static void ptest_print_loc(FILE *f, const char *what,
			    const struct srcloc *loc)
{
	fprintf(f, "rule: %s", what);
	if (loc && loc->file && loc->line)
		fprintf(f, " at %s:%u:%u", loc->file, loc->line, loc->col);
	else if (loc && loc->file)
		fprintf(f, " (%s)", loc->file);
	else if (loc)
		fprintf(f, " (the default)");
	fputc('\n', f);
}

/**
 * ptest_proxied() - does the transparent proxy see this traffic
 * @p:		policy
 * @d:		destination
 *
 * As nft_domain_ports(): with domain rules, TCP 80, 443 and every port a
 * tcp (or any) domain rule names.
 *
 * Return: true if it does
 */
static bool ptest_proxied(const struct policy *p, const struct ptest_dest *d)
{
	size_t k, i;

	if (d->proto == PROTO_ICMP || !policy_has_domain_rules(p))
		return false;
	if (d->port == 80 || d->port == 443)
		return true;
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN)
			continue;
		if (d->proto == PROTO_TCP && r->proto == PROTO_UDP)
			continue;
		if (d->proto == PROTO_TCP && r->proto == PROTO_ICMP)
			continue;
		for (i = 0; i < r->nports; i++)
			if (d->port >= r->ports[i].lo &&
			    d->port <= r->ports[i].hi)
				return true;
	}
	return false;
}

/**
 * ptest_default() - the verdict of egress.default on a group
 * @f:		output
 * @p:		policy
 * @g:		group of the destination
 *
 * Return: true if allowed
 */
static bool ptest_default(FILE *f, const struct policy *p,
			  enum addr_group g)
{
	char what[64];
	bool ok;

	switch (p->egress_default) {
	case EGRESS_ALLOW:
		ok = true;
		break;
	case EGRESS_PUBLIC:
		ok = g == GROUP_PUBLIC;
		break;
	default:
		ok = false;
	}
	snprintf(what, sizeof(what), "egress.default %s",
		 egress_default_name(p->egress_default));
	ptest_print_loc(f, what, &p->loc_default);
	return ok;
}

/**
 * ptest_kernel() - the forward chain on an address (or a name's address)
 * @f:		output
 * @p:		policy
 * @d:		destination
 * @a:		its address, or NULL for a name (assumed public)
 *
 * Return: true if allowed
 */
static bool ptest_kernel(FILE *f, const struct policy *p,
			 const struct ptest_dest *d, const struct prefix *a)
{
	enum addr_group g = a ? addr_classify(a->family, a->addr, NULL, 0)
			      : GROUP_PUBLIC;
	size_t k;

	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (!ptest_port_matches(r, d))
			continue;
		if (r->kind == TARGET_DOMAIN) {
			if (!r->allow)
				continue;	/* only at DNS and the proxy */
			if (d->kind == PTEST_NAME &&
			    names_match(r->domain, d->name)) {
				ptest_print_rule(f, p, k);
				fprintf(f, "path: kernel: the addresses moat's DNS answered for %s are in rule %zu's set\n",
					d->name, k + 1);
				return true;
			}
			continue;
		}
		if (a && ptest_addr_matches(r, a, g)) {
			ptest_print_rule(f, p, k);
			fprintf(f, "path: kernel: forward chain, rule %zu\n",
				k + 1);
			return r->allow;
		}
		if (!a && r->kind == TARGET_GROUP && r->group == GROUP_PUBLIC) {
			ptest_print_rule(f, p, k);
			fprintf(f, "path: kernel: forward chain, rule %zu (for a public address)\n",
				k + 1);
			return r->allow;
		}
		if (!a && r->kind == TARGET_CIDR)
			fprintf(f, "note: rule %zu (line %u) decides first if %s resolves to an address in it\n",
				k + 1, r->loc.line, d->name);
	}
	if (!a)
		fprintf(f, "note: assuming %s resolves to a public address\n",
			d->name);
	fprintf(f, "path: kernel: forward chain, no rule matches\n");
	return ptest_default(f, p, g);
}

/**
 * ptest_proxy() - the transparent proxy on a name it reads (SNI / Host)
 * @f:		output
 * @p:		policy
 * @d:		destination, a name, TCP to a proxied port
 * @record:	the name was answered from dns.records, which pins nothing
 * @allowed:	set to the verdict if the proxy decides
 *
 * As proxy_domain_verdict(): the first domain rule matching the name and
 * covering TCP to the port; an allow admits only addresses answered for
 * the name and pinned (which the test assumes when the name was forwarded
 * upstream; a dns.records answer is not pinned, so it is refused).
 *
 * Return: true if a domain rule decided, false if the address rules do
 */
static bool ptest_proxy(FILE *f, const struct policy *p,
			const struct ptest_dest *d, bool record, bool *allowed)
{
	size_t k;

	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN || !ptest_port_matches(r, d) ||
		    !names_match(r->domain, d->name))
			continue;
		ptest_print_rule(f, p, k);
		if (r->allow && record) {
			fprintf(f, "path: proxy: TCP %u: rule %zu allows %s only to addresses moat's DNS pinned for it, and a dns.records answer is not pinned (not-pinned)\n",
				d->port, k + 1, d->name);
			*allowed = false;
			return true;
		}
		if (d->port != 80 && d->port != 443 && r->allow)
			fprintf(f, "path: proxy: TCP %u: an address moat's DNS answered for %s passes by rule %zu (a server may speak first on this port); a TLS SNI or HTTP Host the client sends is judged by name too\n",
				d->port, d->name, k + 1);
		else
			fprintf(f, "path: proxy: TCP %u: the TLS SNI or HTTP Host %s is judged by rule %zu%s\n",
				d->port, d->name, k + 1,
				r->allow ? " (and only to the addresses moat's DNS answered for it)"
					 : "");
		*allowed = r->allow;
		return true;
	}
	fprintf(f, "path: proxy: TCP %u: no domain rule matches %s on this port; the address rules decide\n",
		d->port, d->name);
	return false;
}

/**
 * ptest_dns() - the DNS interceptor on a name
 * @f:		output
 * @p:		policy
 * @d:		destination, a name
 * @rec:	set to the dns.records address when moat answers itself
 * @resolves:	set to true if the name resolves
 *
 * Return: true if a record answered (then @rec is set)
 */
static bool ptest_dns(FILE *f, const struct policy *p,
		      const struct ptest_dest *d, struct prefix *rec,
		      bool *resolves)
{
	char buf[INET6_ADDRSTRLEN];
	size_t k;

	*resolves = false;
	for (k = 0; k < p->ndns_records; k++) {
		if (strcmp(p->dns_records[k].name, d->name))
			continue;
		*rec = p->dns_records[k].addr;
		inet_ntop(rec->family, rec->addr, buf, sizeof(buf));
		fprintf(f, "path: dns: answered by moat from dns.records: %s\n",
			buf);
		*resolves = true;
		return true;
	}
	for (k = 0; k < p->ndns_block; k++) {
		if (!names_match(p->dns_block[k], d->name))
			continue;
		ptest_print_loc(f, "dns.block", &p->loc_dns_block);
		fprintf(f, "path: dns: NXDOMAIN (dns.block %s)\n",
			p->dns_block[k]);
		return false;
	}
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN ||
		    !names_match(r->domain, d->name))
			continue;
		if (!r->allow) {
			ptest_print_rule(f, p, k);
			fprintf(f, "path: dns: NXDOMAIN (denied by rule %zu)\n",
				k + 1);
			return false;
		}
		fprintf(f, "path: dns: forwarded upstream (rule %zu matches %s); the addresses answered are pinned for the domain allow rules matching it\n",
			k + 1, d->name);
		*resolves = true;
		return false;
	}
	if (p->egress_default == EGRESS_DENY) {
		ptest_print_loc(f, "egress.default deny", &p->loc_default);
		fprintf(f, "path: dns: NXDOMAIN (no allow rule matches this name; address rules do not make names resolve)\n");
		return false;
	}
	fprintf(f, "path: dns: forwarded upstream (no domain rule matches %s)\n",
		d->name);
	*resolves = true;
	return false;
}

/**
 * ptest_walk() - decide one destination, explaining each step
 * @p:		effective policy
 * @d:		destination
 * @pools:	the sandbox pools (I1)
 * @npools:	their number
 * @f:		output: "rule:", "path:" and "note:" lines
 *
 * Return: true if allowed
 */
static bool ptest_walk(const struct policy *p, const struct ptest_dest *d,
		       const struct prefix *pools, size_t npools, FILE *f)
{
	static const uint16_t i4[] = { 53, 137, 138, 853, 5353, 5355 };
	struct ptest_dest ad = *d;
	struct prefix rec;
	bool ok = false, resolves;
	enum addr_group g;
	char buf[128];
	size_t i;

	if (p->mode != NET_FILTERED) {
		snprintf(buf, sizeof(buf), "network %s", net_mode_name(p->mode));
		ptest_print_loc(f, buf, NULL);
		fprintf(f, "path: kernel: %s\n", p->mode == NET_NONE ?
			"the sandbox has only lo" :
			"a restricted sandbox sends nothing out (published ports still work)");
		goto out;
	}
	for (i = 0; d->proto != PROTO_ICMP && i < ARRAY_SIZE(i4); i++) {
		if (d->port != i4[i])
			continue;
		ptest_print_loc(f, "I4", NULL);
		fprintf(f, "path: kernel: %s\n", d->port == 53 ?
			"DNS to any address goes to moat's DNS interceptor, never out" :
			"DoT, DoQ, NetBIOS, mDNS and LLMNR are always dropped");
		goto out;
	}

	if (d->kind == PTEST_HOST) {
		for (i = 0; i < p->nrules; i++) {
			const struct rule *r = &p->rules[i];

			if (r->kind == TARGET_GROUP && r->group == GROUP_HOST &&
			    ptest_port_matches(r, d)) {
				ptest_print_rule(f, p, i);
				fprintf(f, "path: kernel: input chain, rule %zu\n",
					i + 1);
				ok = r->allow;
				goto out;
			}
		}
		ptest_print_loc(f, "I2 (the host only through \"allow: host\")",
				NULL);
		fprintf(f, "path: kernel: input chain\n");
		goto out;
	}

	if (d->kind == PTEST_NAME) {
		if (ptest_dns(f, p, d, &rec, &resolves)) {
			ad.kind = PTEST_ADDR;
			ad.addr = rec;
		} else if (!resolves) {
			goto out;
		}
	}

	if (ad.kind == PTEST_ADDR) {
		g = addr_classify(ad.addr.family, ad.addr.addr, NULL, 0);
		if (g == GROUP_LOOPBACK || g == GROUP_MULTICAST) {
			ptest_print_loc(f, g == GROUP_LOOPBACK ?
					"I2 (martian loopback: never leaves a sandbox)" :
					"I4 (multicast)", NULL);
			fprintf(f, "path: kernel\n");
			goto out;
		}
		for (i = 0; i < npools; i++) {
			struct rule pool = { .kind = TARGET_CIDR,
					     .pfx = pools[i] };

			if (!ptest_addr_matches(&pool, &ad.addr, g))
				continue;
			ptest_print_loc(f, "I1 (the sandbox pools: other sandboxes)",
					NULL);
			fprintf(f, "path: kernel: forward chain, before the policy\n");
			goto out;
		}
	}
	if (d->proto == PROTO_UDP && ptest_proxied(p, d)) {
		ptest_print_loc(f, "I3 QUIC (UDP to 443 and to the ports domain rules name)",
				NULL);
		fprintf(f, "path: kernel: names are judged on TCP only\n");
		goto out;
	}
	if (d->proto == PROTO_TCP && ptest_proxied(p, d)) {
		if (d->kind == PTEST_NAME &&
		    ptest_proxy(f, p, d, ad.kind == PTEST_ADDR, &ok))
			goto out;
		if (d->kind != PTEST_NAME)
			fprintf(f, "path: proxy: TCP %u: judged by the SNI or Host the client sends, then as below if no domain rule matches it\n",
				d->port);
	}
	ok = ptest_kernel(f, p, &ad, ad.kind == PTEST_ADDR ? &ad.addr : NULL);
out:
	return ok;
}

/**
 * ptest_lines() - print the "rule:" lines of a text, or the others
 * @f:		output
 * @text:	lines, each ending in a newline
 * @rule:	true for the "rule:" lines, false for the rest
 */
static void ptest_lines(FILE *f, const char *text, bool rule)
{
	const char *l, *e;

	for (l = text; *l; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			break;
		if (!strncmp(l, "rule:", 5) == rule)
			fwrite(l, 1, (size_t)(e - l + 1), f);
	}
}

/**
 * ptest_decide() - decide one destination and explain it
 * @p:		effective policy
 * @d:		destination
 * @pools:	the sandbox pools, never reachable (I1)
 * @npools:	their number
 * @f:		output: "verdict:" first, then "rule:", "path:" and "note:"
 *
 * Return: true if allowed
 */
bool ptest_decide(const struct policy *p, const struct ptest_dest *d,
		  const struct prefix *pools, size_t npools, FILE *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	bool ok;

	if (!m)
		die_oom();
	ok = ptest_walk(p, d, pools, npools, m);
	if (fclose(m))
		die_oom();
	fprintf(f, "verdict: %s\n", ok ? "allowed" : "denied");
	ptest_lines(f, text, true);
	ptest_lines(f, text, false);
	free(text);
	return ok;
}
