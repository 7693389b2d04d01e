// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * nft.c - the "inet moat" table: ruleset compiler and transactions
 *
 * Theory of operation
 * -------------------
 * All enforcement lives in one nftables table, "inet moat", in the network
 * namespace moat runs in. Only moat writes it. Every sandbox has one
 * host-side interface called "moat<N>"; base chains match those by the
 * wildcard "moat*" and dispatch to the sandbox's own chains through
 * verdict maps keyed by interface name (a hash lookup: the cost per packet
 * does not grow with the number of sandboxes):
 *
 *   prerouting (raw, before conntrack)   pre_dispatch  -> <if>_pre
 *	anti-spoofing (I5), RA/redirects, martian loopback destinations
 *   input (filter)                       in_dispatch   -> <if>_in
 *	the host (I2): only replies, neighbour discovery and host ports
 *	the policy opens with "allow: host"
 *   forward (filter)                     fwd_dispatch  -> <if>_fwd
 *	nothing new ever enters a sandbox (I1); DNS and its bypasses and
 *	multicast are dropped (I4); then the policy's rules in order and
 *	its default (I3)
 *   postrouting (nat)                    masquerade sandbox traffic
 *
 * The table fails closed by construction: a packet from a moat interface
 * that has no dispatch entry, or that returns from its sandbox chain
 * without a verdict (a chain flushed by mistake, say), meets the "drop"
 * that follows the dispatch rule. The table never carries the "owner"
 * flag, so rules outlive moat's processes (I6).
 *
 * Every change is one libnftables transaction: the base table (idempotent:
 * base chains are flushed and refilled, maps keep their entries) and a
 * sandbox's chains plus its three dispatch entries go in together, or not
 * at all. The compiler emits nft(8) script text, which is also what the
 * golden files under tests/golden/ pin.
 */
#include <errno.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "nft.h"

/* Ports of name services that must never leave a sandbox directly (I4):
 * DNS (until intercepted), DoT/DoQ, mDNS, LLMNR, NetBIOS name/datagram
 */
#define NFT_I4_PORTS	"53, 137-138, 853, 5353, 5355"

/**
 * pfx_str() - format a prefix for nft, into a caller-provided buffer
 * @p:		prefix
 * @buf:	buffer of at least INET6_ADDRSTRLEN + 4 bytes
 *
 * Return: @buf
 */
static const char *pfx_str(const struct prefix *p, char *buf)
{
	if (prefix_format(p, buf, INET6_ADDRSTRLEN + 4))
		strcpy(buf, "invalid");
	return buf;
}

/**
 * nft_group_set() - emit one named interval set holding an address group
 * @f:		output
 * @g:		group
 * @family:	AF_INET or AF_INET6
 *
 * Return: 0, or -1 if the group table could not be expanded
 */
static int nft_group_set(FILE *f, enum addr_group g, int family)
{
	char buf[INET6_ADDRSTRLEN + 4];
	struct prefix *el;
	size_t n, i;
	const char *fam = family == AF_INET ? "4" : "6";

	el = xcalloc(4096, sizeof(*el));
	n = addr_group_nft_elements(g, family, el, 4096);
	if (n == (size_t)-1) {
		free(el);
		return -1;
	}
	fprintf(f, "add set inet %s g%s_%s { type %s; flags interval; }\n",
		NFT_TABLE, fam, addr_group_name(g),
		family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	fprintf(f, "flush set inet %s g%s_%s\n", NFT_TABLE, fam,
		addr_group_name(g));
	if (n) {
		fprintf(f, "add element inet %s g%s_%s {", NFT_TABLE, fam,
			addr_group_name(g));
		for (i = 0; i < n; i++)
			fprintf(f, "%s %s", i ? "," : "", pfx_str(&el[i], buf));
		fprintf(f, " }\n");
	}
	free(el);
	return 0;
}

/**
 * nft_group_needs_set() - whether a group is matched through a named set
 * @g:		group
 *
 * Return: true for every group except host, which is matched by route
 *	   type ("fib daddr type local") because the host's addresses change
 */
static bool nft_group_needs_set(enum addr_group g)
{
	return g != GROUP_HOST;
}

/**
 * nft_base_text() - emit the base table, idempotently
 * @f:		output
 * @b:		host-wide parameters
 *
 * The script creates what is missing, refills base chains and static sets,
 * and leaves dispatch maps and sandbox chains as they are.
 *
 * Return: 0, or -1 on an internal error
 */
int nft_base_text(FILE *f, const struct nft_base *b)
{
	char p4[INET6_ADDRSTRLEN + 4], p6[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	int g;

	fprintf(f, "add table inet %s\n", t);

	for (g = 0; g < GROUP_COUNT; g++) {
		if (!nft_group_needs_set(g))
			continue;
		if (nft_group_set(f, g, AF_INET) ||
		    nft_group_set(f, g, AF_INET6))
			return -1;
	}

	fprintf(f, "add set inet %s pool4 { type ipv4_addr; flags interval; }\n"
		   "flush set inet %s pool4\n"
		   "add element inet %s pool4 { %s }\n",
		t, t, t, pfx_str(&b->pool4, p4));
	fprintf(f, "add set inet %s pool6 { type ipv6_addr; flags interval; }\n"
		   "flush set inet %s pool6\n"
		   "add element inet %s pool6 { %s }\n",
		t, t, t, pfx_str(&b->pool6, p6));

	fprintf(f, "add map inet %s pre_dispatch { type ifname : verdict; }\n"
		   "add map inet %s in_dispatch { type ifname : verdict; }\n"
		   "add map inet %s fwd_dispatch { type ifname : verdict; }\n",
		t, t, t);

	/* prerouting, raw priority: before conntrack sees spoofed packets */
	fprintf(f,
		"add chain inet %s prerouting { type filter hook prerouting priority raw; policy accept; }\n"
		"flush chain inet %s prerouting\n"
		"add rule inet %s prerouting iifname \"%s*\" iifname vmap @pre_dispatch\n"
		"add rule inet %s prerouting iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, t, NFT_IFPREFIX);

	fprintf(f,
		"add chain inet %s input { type filter hook input priority filter; policy accept; }\n"
		"flush chain inet %s input\n"
		"add rule inet %s input iifname \"%s*\" iifname vmap @in_dispatch\n"
		"add rule inet %s input iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, t, NFT_IFPREFIX);

	fprintf(f,
		"add chain inet %s forward { type filter hook forward priority filter; policy accept; }\n"
		"flush chain inet %s forward\n"
		"add rule inet %s forward oifname \"%s*\" ct state established,related accept\n"
		"add rule inet %s forward oifname \"%s*\" counter drop comment \"nothing new enters a sandbox (I1)\"\n"
		"add rule inet %s forward iifname \"%s*\" ct state invalid drop\n"
		"add rule inet %s forward iifname \"%s*\" ct state established,related accept\n"
		"add rule inet %s forward iifname \"%s*\" iifname vmap @fwd_dispatch\n"
		"add rule inet %s forward iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, t, NFT_IFPREFIX, t, NFT_IFPREFIX,
		t, NFT_IFPREFIX, t, NFT_IFPREFIX, t, NFT_IFPREFIX);

	fprintf(f,
		"add chain inet %s postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
		"flush chain inet %s postrouting\n"
		"add rule inet %s postrouting iifname \"%s*\" oifname != \"%s*\" masquerade\n",
		t, t, t, NFT_IFPREFIX, NFT_IFPREFIX);
	return 0;
}

/**
 * nft_base_hash() - fingerprint of the base table's script
 * @b:		host-wide parameters
 *
 * Return: FNV-1a hash of nft_base_text() output, 0 on error
 */
uint64_t nft_base_hash(const struct nft_base *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	if (nft_base_text(f, b)) {
		fclose(f);
		free(buf);
		return 0;
	}
	fclose(f);
	for (i = 0; i < len; i++) {
		h ^= (uint8_t)buf[i];
		h *= 0x100000001b3ULL;
	}
	free(buf);
	return h;
}

/**
 * nft_ports() - emit the protocol and port match of a rule
 * @f:		output
 * @r:		rule
 */
static void nft_ports(FILE *f, const struct rule *r)
{
	size_t i;

	if (r->proto == PROTO_ICMP) {
		fprintf(f, " meta l4proto { icmp, ipv6-icmp }");
		return;
	}
	if (!r->nports) {
		if (r->proto == PROTO_TCP)
			fprintf(f, " meta l4proto tcp");
		else if (r->proto == PROTO_UDP)
			fprintf(f, " meta l4proto udp");
		return;
	}
	if (r->proto == PROTO_TCP)
		fprintf(f, " tcp dport");
	else if (r->proto == PROTO_UDP)
		fprintf(f, " udp dport");
	else
		fprintf(f, " meta l4proto { tcp, udp } th dport");

	fprintf(f, " {");
	for (i = 0; i < r->nports; i++) {
		const struct port_range *pr = &r->ports[i];

		if (pr->lo == pr->hi)
			fprintf(f, "%s %u", i ? "," : "", pr->lo);
		else
			fprintf(f, "%s %u-%u", i ? "," : "", pr->lo, pr->hi);
	}
	fprintf(f, " }");
}

/**
 * nft_embed4() - IPv6 forms that carry an IPv4 prefix (mapped, NAT64)
 * @v4:		IPv4 prefix
 * @mapped:	set to ::ffff:a.b.c.d/(96 + plen)
 * @nat64:	set to 64:ff9b::a.b.c.d/(96 + plen)
 */
static void nft_embed4(const struct prefix *v4, struct prefix *mapped,
		       struct prefix *nat64)
{
	static const uint8_t m[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t n[12] = { 0, 0x64, 0xff, 0x9b };

	memset(mapped, 0, sizeof(*mapped));
	mapped->family = AF_INET6;
	mapped->plen = 96 + v4->plen;
	memcpy(mapped->addr, m, 12);
	memcpy(mapped->addr + 12, v4->addr, 4);
	*nat64 = *mapped;
	memcpy(nat64->addr, n, 12);
}

/**
 * nft_verdict() - the verdict statement for an allow or deny
 * @allow:	allow
 *
 * Denials are rejected, not dropped, so that a client fails at once with
 * "administratively prohibited" instead of waiting for a timeout.
 *
 * Return: statement text
 */
static const char *nft_verdict(bool allow)
{
	return allow ? "accept" : "reject with icmpx admin-prohibited";
}

/**
 * nft_fwd_rule() - emit one policy rule into a sandbox's forward chain
 * @f:		output
 * @chain:	chain name
 * @r:		rule
 * @el:		errors
 *
 * Return: 0, or -1 if the rule cannot be compiled
 */
static int nft_fwd_rule(FILE *f, const char *chain, const struct rule *r,
			struct errlist *el)
{
	char b1[INET6_ADDRSTRLEN + 4], b2[INET6_ADDRSTRLEN + 4],
	     b3[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix mapped, nat64;

	switch (r->kind) {
	case TARGET_CIDR:
		if (r->pfx.family == AF_INET) {
			fprintf(f, "add rule inet %s %s ip daddr %s", t, chain,
				pfx_str(&r->pfx, b1));
			nft_ports(f, r);
			fprintf(f, " %s\n", nft_verdict(r->allow));
			nft_embed4(&r->pfx, &mapped, &nat64);
			fprintf(f, "add rule inet %s %s ip6 daddr { %s, %s }",
				t, chain, pfx_str(&mapped, b2),
				pfx_str(&nat64, b3));
		} else {
			fprintf(f, "add rule inet %s %s ip6 daddr %s", t, chain,
				pfx_str(&r->pfx, b1));
		}
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return 0;
	case TARGET_GROUP:
		if (r->group == GROUP_HOST)	/* local: never forwarded */
			return 0;
		fprintf(f, "add rule inet %s %s ip daddr @g4_%s", t, chain,
			addr_group_name(r->group));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		fprintf(f, "add rule inet %s %s ip6 daddr @g6_%s", t, chain,
			addr_group_name(r->group));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return 0;
	case TARGET_DOMAIN:
		errlist_add(el, r->loc.file, r->loc.line, r->loc.col,
			    "domain rule '%s' cannot be compiled: this version "
			    "of moat has no DNS interceptor", r->domain);
		return -1;
	}
	return -1;
}

/**
 * nft_in_rule() - emit one policy rule into a sandbox's input chain
 * @f:		output
 * @chain:	chain name
 * @r:		rule
 *
 * Only "allow: host" opens anything on the host (I2). A deny whose CIDR
 * covers a host address, or "deny: host", closes what a later rule would
 * open; CIDR allows and every other group never match the host.
 */
static void nft_in_rule(FILE *f, const char *chain, const struct rule *r)
{
	char b1[INET6_ADDRSTRLEN + 4], b2[INET6_ADDRSTRLEN + 4],
	     b3[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix mapped, nat64;

	if (r->kind == TARGET_GROUP && r->group == GROUP_HOST) {
		fprintf(f, "add rule inet %s %s fib daddr type local", t, chain);
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return;
	}
	if (r->kind != TARGET_CIDR || r->allow)
		return;
	if (r->pfx.family == AF_INET) {
		fprintf(f, "add rule inet %s %s ip daddr %s", t, chain,
			pfx_str(&r->pfx, b1));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(false));
		nft_embed4(&r->pfx, &mapped, &nat64);
		fprintf(f, "add rule inet %s %s ip6 daddr { %s, %s }", t, chain,
			pfx_str(&mapped, b2), pfx_str(&nat64, b3));
	} else {
		fprintf(f, "add rule inet %s %s ip6 daddr %s", t, chain,
			pfx_str(&r->pfx, b1));
	}
	nft_ports(f, r);
	fprintf(f, " %s\n", nft_verdict(false));
}

/**
 * nft_has_domain_rules() - whether a policy has any domain rule
 * @p:		policy
 *
 * Return: true if a rule allows or denies a domain name
 */
static bool nft_has_domain_rules(const struct policy *p)
{
	size_t k;

	for (k = 0; k < p->nrules; k++)
		if (p->rules[k].kind == TARGET_DOMAIN)
			return true;
	return false;
}

/**
 * nft_quic_drop() - drop QUIC when the policy judges names (SPEC §5)
 * @f:		output
 * @chain:	the sandbox's forward chain
 * @p:		policy
 *
 * A name can only be judged on TCP, where the proxy reads the SNI or Host;
 * QUIC's hello is encrypted with keys derived from the connection ID, so
 * UDP to 443 and to every port a domain rule names is dropped, before the
 * policy's rules, and clients fall back to TCP. Ports are merged through a
 * bitmap: nft refuses overlapping intervals in one anonymous set.
 */
static void nft_quic_drop(FILE *f, const char *chain, const struct policy *p)
{
	uint8_t bits[65536 / 8];
	unsigned port, lo;
	bool first = true;
	size_t k, j;

	if (!nft_has_domain_rules(p))
		return;
	memset(bits, 0, sizeof(bits));
	bits[443 / 8] |= 1 << (443 % 8);
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN)
			continue;
		for (j = 0; j < r->nports; j++)
			for (port = r->ports[j].lo; port <= r->ports[j].hi; port++)
				bits[port / 8] |= (uint8_t)(1 << (port % 8));
	}

	fprintf(f, "add rule inet %s %s udp dport {", NFT_TABLE, chain);
	for (port = 0; port < 65536; port++) {
		if (!(bits[port / 8] & (1 << (port % 8))))
			continue;
		for (lo = port; port + 1 < 65536 &&
		     (bits[(port + 1) / 8] & (1 << ((port + 1) % 8))); port++)
			;
		if (lo == port)
			fprintf(f, "%s %u", first ? "" : ",", lo);
		else
			fprintf(f, "%s %u-%u", first ? "" : ",", lo, port);
		first = false;
	}
	fprintf(f, " } counter drop comment \"QUIC: names are judged on TCP\"\n");
}

/**
 * nft_sandbox_add_text() - emit a sandbox's chains and dispatch entries
 * @f:		output
 * @s:		the sandbox
 * @el:		errors
 *
 * Return: 0, or -1 with records in @el
 */
int nft_sandbox_add_text(FILE *f, const struct nft_sandbox *s,
			 struct errlist *el)
{
	char a4[INET6_ADDRSTRLEN + 4], a6[INET6_ADDRSTRLEN + 4];
	const struct policy *p = s->pol;
	const char *t = NFT_TABLE, *i = s->ifname;
	char pre[32], in[32], fwd[32];
	size_t k;
	int ret = 0;

	snprintf(pre, sizeof(pre), "%s_pre", i);
	snprintf(in, sizeof(in), "%s_in", i);
	snprintf(fwd, sizeof(fwd), "%s_fwd", i);

	/* prerouting: I5 anti-spoofing and martians */
	fprintf(f, "add chain inet %s %s\n", t, pre);
	fprintf(f, "flush chain inet %s %s\n", t, pre);
	fprintf(f, "add rule inet %s %s icmp type redirect drop\n", t, pre);
	fprintf(f, "add rule inet %s %s icmpv6 type { nd-router-advert, nd-redirect, nd-router-solicit } drop\n",
		t, pre);
	if (s->has_v6) {
		fprintf(f, "add rule inet %s %s ip6 saddr { ::, fe80::/10 } icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n",
			t, pre);
		fprintf(f, "add rule inet %s %s ip6 saddr != %s counter drop comment \"spoofed source (I5)\"\n",
			t, pre, pfx_str(&s->addr6, a6));
		fprintf(f, "add rule inet %s %s ip6 daddr ::1 counter drop comment \"martian loopback\"\n", t, pre);
	} else {
		fprintf(f, "add rule inet %s %s meta nfproto ipv6 drop comment \"no IPv6 in this sandbox\"\n",
			t, pre);
	}
	fprintf(f, "add rule inet %s %s ip saddr != %s counter drop comment \"spoofed source (I5)\"\n",
		t, pre, pfx_str(&s->addr4, a4));
	fprintf(f, "add rule inet %s %s ip daddr 127.0.0.0/8 counter drop comment \"martian loopback\"\n",
		t, pre);
	fprintf(f, "add rule inet %s %s accept\n", t, pre);

	/* input: the host (I2) */
	fprintf(f, "add chain inet %s %s\n", t, in);
	fprintf(f, "flush chain inet %s %s\n", t, in);
	fprintf(f, "add rule inet %s %s ct state established,related accept\n", t, in);
	fprintf(f, "add rule inet %s %s ct state invalid drop\n", t, in);
	if (s->has_v6)
		fprintf(f, "add rule inet %s %s icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n",
			t, in);
	if (p->mode == NET_FILTERED) {
		/* "allow: host" must not open the host's resolver (I4) */
		fprintf(f, "add rule inet %s %s meta l4proto { tcp, udp } th dport { " NFT_I4_PORTS " } counter drop comment \"DNS and its bypasses (I4)\"\n",
			t, in);
		for (k = 0; k < p->nrules; k++)
			nft_in_rule(f, in, &p->rules[k]);
	}
	fprintf(f, "add rule inet %s %s fib daddr type local counter reject with icmpx admin-prohibited comment \"the host (I2)\"\n",
		t, in);
	fprintf(f, "add rule inet %s %s counter drop\n", t, in);

	/* forward: I1, I4, then the policy (I3) */
	fprintf(f, "add chain inet %s %s\n", t, fwd);
	fprintf(f, "flush chain inet %s %s\n", t, fwd);
	if (p->mode != NET_FILTERED) {
		fprintf(f, "add rule inet %s %s counter drop comment \"network %s\"\n",
			t, fwd, net_mode_name(p->mode));
	} else {
		fprintf(f, "add rule inet %s %s ip daddr @pool4 counter drop comment \"other sandboxes (I1)\"\n",
			t, fwd);
		fprintf(f, "add rule inet %s %s ip6 daddr @pool6 counter drop comment \"other sandboxes (I1)\"\n",
			t, fwd);
		fprintf(f, "add rule inet %s %s meta l4proto { tcp, udp } th dport { " NFT_I4_PORTS " } counter drop comment \"DNS and its bypasses (I4)\"\n",
			t, fwd);
		fprintf(f, "add rule inet %s %s ip daddr @g4_multicast counter drop comment \"multicast and broadcast (I4)\"\n",
			t, fwd);
		fprintf(f, "add rule inet %s %s ip6 daddr @g6_multicast counter drop comment \"multicast (I4)\"\n",
			t, fwd);
		fprintf(f, "add rule inet %s %s fib daddr type broadcast counter drop comment \"broadcast (I4)\"\n",
			t, fwd);
		nft_quic_drop(f, fwd, p);
		for (k = 0; k < p->nrules; k++)
			if (nft_fwd_rule(f, fwd, &p->rules[k], el))
				ret = -1;
		switch (p->egress_default) {
		case EGRESS_PUBLIC:
			fprintf(f, "add rule inet %s %s ip daddr @g4_public counter accept comment \"default: public\"\n",
				t, fwd);
			fprintf(f, "add rule inet %s %s ip6 daddr @g6_public counter accept comment \"default: public\"\n",
				t, fwd);
			break;
		case EGRESS_ALLOW:
			fprintf(f, "add rule inet %s %s counter accept comment \"default: allow\"\n",
				t, fwd);
			break;
		case EGRESS_DENY:
			break;
		}
		fprintf(f, "add rule inet %s %s counter reject with icmpx admin-prohibited comment \"not allowed by the policy (I3)\"\n",
			t, fwd);
	}
	fprintf(f, "add rule inet %s %s drop\n", t, fwd);

	fprintf(f, "add element inet %s pre_dispatch { \"%s\" : jump %s }\n", t, i, pre);
	fprintf(f, "add element inet %s in_dispatch { \"%s\" : jump %s }\n", t, i, in);
	fprintf(f, "add element inet %s fwd_dispatch { \"%s\" : jump %s }\n", t, i, fwd);
	return ret;
}

/**
 * nft_sandbox_del_text() - emit the removal of a sandbox's objects
 * @f:		output
 * @ifname:	host-side interface
 *
 * The removal must succeed whatever is left of the sandbox (an interrupted
 * set-up, a chain deleted by hand), and nftables has no "delete if it
 * exists" before version 1.0.8. So the same transaction first makes sure
 * every object exists ("add" of an existing chain or identical map element
 * is a no-op), then deletes them: dispatch entries first, so that the
 * chains they jump to are unused when they go.
 */
void nft_sandbox_del_text(FILE *f, const char *ifname)
{
	static const char *const kinds[] = { "pre", "in", "fwd" };
	const char *t = NFT_TABLE;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		fprintf(f, "add chain inet %s %s_%s\n", t, ifname, kinds[k]);
	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		fprintf(f, "add element inet %s %s_dispatch { \"%s\" : jump %s_%s }\n",
			t, kinds[k], ifname, ifname, kinds[k]);
	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		fprintf(f, "delete element inet %s %s_dispatch { \"%s\" }\n",
			t, kinds[k], ifname);
	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		fprintf(f, "flush chain inet %s %s_%s\n", t, ifname, kinds[k]);
		fprintf(f, "delete chain inet %s %s_%s\n", t, ifname, kinds[k]);
	}
}

/**
 * nft_ctx_new_quiet() - a libnftables context with its output buffered
 *
 * Return: context; dies on allocation failure
 */
static struct nft_ctx *nft_ctx_new_quiet(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		die_oom();
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return ctx;
}

/**
 * nft_run() - run an nft script as one atomic transaction
 * @cmds:	script
 * @err:	set to the first line of libnftables' error, or NULL; to be
 *		freed by the caller
 *
 * Return: 0 on success, -1 if the kernel refused it (nothing was applied)
 */
int nft_run(const char *cmds, char **err)
{
	struct nft_ctx *ctx = nft_ctx_new_quiet();
	int ret;

	*err = NULL;
	ret = nft_run_cmd_from_buffer(ctx, cmds);
	if (ret) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		const char *nl;

		if (!e || !*e)
			e = "nftables refused the transaction";
		nl = strchr(e, '\n');
		*err = nl ? strndup(e, nl - e) : xstrdup(e);
		if (!*err)
			die_oom();
		ret = -1;
	}
	nft_ctx_free(ctx);
	return ret;
}

/**
 * nft_list_table() - the live "inet moat" table as nft text
 * @out:	set to the listing (caller frees), NULL if the table is absent
 *
 * Return: 0 if listed, -ENOENT if there is no table
 */
int nft_list_table(char **out)
{
	struct nft_ctx *ctx = nft_ctx_new_quiet();
	int ret;

	*out = NULL;
	ret = nft_run_cmd_from_buffer(ctx, "list table inet " NFT_TABLE);
	if (ret == 0)
		*out = xstrdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return ret ? -ENOENT : 0;
}

/**
 * nft_table_exists() - whether the "inet moat" table exists
 *
 * Return: 1 if it does, 0 if not
 */
int nft_table_exists(void)
{
	struct nft_ctx *ctx = nft_ctx_new_quiet();
	int ret;

	ret = nft_run_cmd_from_buffer(ctx, "list chain inet " NFT_TABLE " forward");
	nft_ctx_free(ctx);
	return ret == 0;
}

/**
 * nft_counters_json() - packet and byte counters of a sandbox's chains
 * @ifname:	host-side interface
 * @out:	set to an object { "<chain>": { "<comment>": {packets, bytes} } }
 *
 * Reads the sandbox's three chains with their rule counters through the
 * libnftables JSON output and keeps the counted rules that carry a
 * comment (those are the ones the compiler labels).
 *
 * Return: 0, or -ENOENT if the chains do not exist
 */
int nft_counters_json(const char *ifname, json_t **out)
{
	static const char *const kinds[] = { "pre", "in", "fwd" };
	json_t *res = json_object();
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct nft_ctx *ctx = nft_ctx_new_quiet();
		json_t *doc, *arr, *item, *chain = json_object();
		char cmd[96];
		size_t i;

		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
		snprintf(cmd, sizeof(cmd), "list chain inet %s %s_%s",
			 NFT_TABLE, ifname, kinds[k]);
		if (nft_run_cmd_from_buffer(ctx, cmd)) {
			nft_ctx_free(ctx);
			json_decref(chain);
			json_decref(res);
			return -ENOENT;
		}
		doc = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
		nft_ctx_free(ctx);
		arr = doc ? json_object_get(doc, "nftables") : NULL;
		json_array_foreach(arr, i, item) {
			json_t *rule = json_object_get(item, "rule");
			json_t *expr, *e;
			const char *comment;
			size_t j;

			if (!rule)
				continue;
			comment = json_string_value(json_object_get(rule, "comment"));
			if (!comment)
				continue;
			expr = json_object_get(rule, "expr");
			json_array_foreach(expr, j, e) {
				json_t *c = json_object_get(e, "counter");
				json_t *prev;
				json_int_t pk, by;

				if (!c)
					continue;
				pk = json_integer_value(json_object_get(c, "packets"));
				by = json_integer_value(json_object_get(c, "bytes"));
				prev = json_object_get(chain, comment);
				if (prev) {
					pk += json_integer_value(json_object_get(prev, "packets"));
					by += json_integer_value(json_object_get(prev, "bytes"));
				}
				json_object_set_new(chain, comment,
						    json_pack("{s:I,s:I}", "packets", pk,
							      "bytes", by));
			}
		}
		json_decref(doc);
		json_object_set_new(res, kinds[k], chain);
	}
	*out = res;
	return 0;
}
