// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * update.c - a running sandbox's policy, replaced live
 *
 * Theory of operation
 * -------------------
 * "moat update NAME" builds the new effective policy as "moat create"
 * does (the --policy file, or without one the sandbox's current policy,
 * with --allow/--deny rules in front and the overrides), validates it,
 * and refuses what cannot change on a running sandbox
 * (update_fixed_check(): the network mode, published ports and their
 * allowed sources, the bandwidth limit, the DNS upstreams, the connection
 * limit: each is built into an interface, a listener or a table sized at
 * creation). Under the global lock it stores the policy as "policy.next"
 * in the sandbox's state directory and asks the sandbox's supervisor,
 * over its control socket, to apply it ("update"). The supervisor, which
 * owns the sandbox's pins, its DNS interceptor and its proxy, then:
 *
 *   1. starts the transparent proxy if the new policy needs it and it
 *      was not running (the record's "proxy" is set; it is never unset:
 *      the proxy judges by the policy in force, with or without domain
 *      rules);
 *   2. runs one nftables transaction (update_nft_text()): the sandbox's
 *      chains flushed and refilled from the new policy, the pin sets of
 *      its domain allow rules declared and flushed, the live pins put
 *      back into them as the new policy places them (a name it denies or
 *      no longer names loses its pins; a pin keeps the time it had
 *      left), and the pin sets no rule uses any more deleted. Nothing in
 *      between is ever in force: the old rules apply until the commit,
 *      the new ones after. The instance mark and the dispatch entries do
 *      not change, nor do the sandbox's address, interface, log and
 *      counters;
 *   3. renames "policy.next" over "policy.yaml" and swaps its own copy of
 *      the policy, which the interceptor and the proxy read at every
 *      decision (names the new policy denies answer NXDOMAIN from now);
 *   4. cuts the established connections the new policy refuses: the
 *      sandbox's own connections, by their conntrack entries
 *      (conntrack_cut(), judged by update_keep_flow(), which mirrors the
 *      sandbox's chains), and the proxy's relayed ones (fwd_proxy.c,
 *      judged on their destination as the proxy judges a connection
 *      before its first bytes, then by the same mirror if only a live pin
 *      was missing). A domain allow rule counts every address the interceptor
 *      still remembers answering for its names, pins expired or not: the
 *      kernel lets a connection outlive its pin, and so does an update;
 *   5. logs a "policy" record and answers.
 *
 * A failure before the commit (the proxy cannot start, nftables refuses
 * the rules) changes nothing: the old policy stays in force everywhere
 * and "policy.next" is removed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "update.h"

/**
 * update_same_prefixes() - whether two arrays of prefixes are equal
 * @a:		first array
 * @na:		its length
 * @b:		second array
 * @nb:		its length
 *
 * Return: true if equal, element by element
 */
static bool update_same_prefixes(const struct prefix *a, size_t na,
				 const struct prefix *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].family != b[i].family || a[i].plen != b[i].plen ||
		    memcmp(a[i].addr, b[i].addr, sizeof(a[i].addr)))
			return false;
	return true;
}

/**
 * update_same_secrets() - are two policies' secrets and intercepted names
 * the same
 * @a:		a policy
 * @b:		another
 *
 * The secrets' placeholders, values and the CA are made when the sandbox
 * is created (secrets.c): they do not change live.
 *
 * Return: true if the secrets and intercept sections are equal
 */
static bool update_same_secrets(const struct policy *a,
				const struct policy *b)
{
	size_t i, j;

	if (a->nsecrets != b->nsecrets || a->nintercept != b->nintercept)
		return false;
	for (i = 0; i < a->nintercept; i++)
		if (strcmp(a->intercept[i], b->intercept[i]))
			return false;
	for (i = 0; i < a->nsecrets; i++) {
		const struct secret *x = &a->secrets[i], *y = &b->secrets[i];

		if (strcmp(x->name, y->name) || x->from_env != y->from_env ||
		    strcmp(x->source, y->source) || x->nhosts != y->nhosts ||
		    x->replace_in != y->replace_in ||
		    !x->set_header != !y->set_header ||
		    (x->set_header && (strcmp(x->set_header, y->set_header) ||
				       strcmp(x->set_value, y->set_value))))
			return false;
		for (j = 0; j < x->nhosts; j++)
			if (strcmp(x->hosts[j], y->hosts[j]))
				return false;
	}
	return true;
}

/**
 * update_fixed_check() - refuse changes that cannot be made live
 * @cur:	the sandbox's policy
 * @next:	the new one
 *
 * Prints one line for each setting that differs.
 *
 * Return: number of settings that differ (0: the update can be applied)
 */
int update_fixed_check(const struct policy *cur, const struct policy *next)
{
	static const char tail[] = "cannot change on a running sandbox; "
				   "recreate it to change it";
	bool pub = cur->npublish == next->npublish;
	int n = 0;
	size_t i;

	if (cur->mode != next->mode) {
		msg_err("network mode %s (the sandbox has %s): %s",
			net_mode_name(next->mode), net_mode_name(cur->mode), tail);
		n++;
	}
	for (i = 0; pub && i < cur->npublish; i++) {
		const struct publish *a = &cur->publish[i], *b = &next->publish[i];

		pub = a->host_port == b->host_port &&
		      a->sandbox_port == b->sandbox_port &&
		      a->proto == b->proto &&
		      update_same_prefixes(&a->bind, 1, &b->bind, 1);
	}
	if (!pub) {
		msg_err("published ports (the sandbox has %zu): %s",
			cur->npublish, tail);
		n++;
	}
	if (!update_same_prefixes(cur->allow_from, cur->nallow_from,
				  next->allow_from, next->nallow_from)) {
		msg_err("ingress.allow_from: %s", tail);
		n++;
	}
	if (cur->bandwidth_bps != next->bandwidth_bps) {
		msg_err("limits.bandwidth: %s", tail);
		n++;
	}
	if (cur->connections != next->connections) {
		msg_err("limits.connections: %s", tail);
		n++;
	}
	if (!update_same_prefixes(cur->dns_upstream, cur->ndns_upstream,
				  next->dns_upstream, next->ndns_upstream)) {
		msg_err("dns.upstream: %s", tail);
		n++;
	}
	if (!update_same_secrets(cur, next)) {
		msg_err("secrets and intercept: %s", tail);
		n++;
	}
	return n;
}

/**
 * update_nft_text() - the transaction that replaces a sandbox's policy
 * @f:		output
 * @ns:		the sandbox, with its new policy
 * @old:	its current policy (names its pin sets)
 * @pins:	pins to put into the new sets
 * @npins:	their number
 * @el:		errors
 *
 * nft_sandbox_add_text() with the new policy flushes and refills every
 * chain of the sandbox and declares and flushes the new pin sets; then
 * the pins go back in, and the old pin sets that no domain allow rule of
 * the new policy uses are deleted, once no rule refers to them.
 *
 * Return: 0, or -1 with records in @el
 */
int update_nft_text(FILE *f, const struct nft_sandbox *ns,
		    const struct policy *old, const struct nft_pin *pins,
		    size_t npins, struct errlist *el)
{
	const struct policy *p = ns->pol;
	char set[NFT_DOM_SET_LEN], a[INET6_ADDRSTRLEN];
	size_t i, k;
	int fam;

	if (nft_sandbox_add_text(f, ns, el))
		return -1;
	for (i = 0; i < npins; i++) {
		nft_dom_set_name(set, ns->ifname, pins[i].rule, pins[i].af);
		if (!inet_ntop(pins[i].af, pins[i].addr, a, sizeof(a)) ||
		    !pins[i].timeout)
			continue;
		fprintf(f, "add element inet %s %s { %s timeout %us",
			NFT_TABLE, set, a, (unsigned)pins[i].timeout);
		if (nft_pin_name_ok(pins[i].name))	/* quoted: safe */
			fprintf(f, " comment \"%s\"", pins[i].name);
		fprintf(f, " }\n");
	}
	for (k = 0; k < old->nrules; k++) {
		if (old->rules[k].kind != TARGET_DOMAIN || !old->rules[k].allow)
			continue;
		if (k < p->nrules && p->rules[k].kind == TARGET_DOMAIN &&
		    p->rules[k].allow)
			continue;	/* declared and refilled above */
		for (fam = 0; fam < 2; fam++) {
			nft_dom_set_name(set, ns->ifname, k + 1,
					 fam ? AF_INET6 : AF_INET);
			fprintf(f, "delete set inet %s %s\n", NFT_TABLE, set);
		}
	}
	return 0;
}

/**
 * update_l4_matches() - whether a rule's protocol and ports cover a flow
 * @r:		rule
 * @proto:	IPPROTO_*
 * @dport:	destination port
 *
 * As nft_ports() compiles them: ICMP rules match ICMP and ICMPv6; rules
 * with ports match TCP and UDP only (or the one protocol named).
 *
 * Return: true if covered
 */
static bool update_l4_matches(const struct rule *r, uint8_t proto,
			      uint16_t dport)
{
	size_t i;

	switch (r->proto) {
	case PROTO_ICMP:
		return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
	case PROTO_TCP:
		if (proto != IPPROTO_TCP)
			return false;
		break;
	case PROTO_UDP:
		if (proto != IPPROTO_UDP)
			return false;
		break;
	case PROTO_ANY:
		if (r->nports && proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return false;
		break;
	}
	for (i = 0; i < r->nports; i++)
		if (dport >= r->ports[i].lo && dport <= r->ports[i].hi)
			return true;
	return !r->nports;
}

/**
 * update_cidr_matches() - whether a CIDR rule covers a destination
 * @r:		rule
 * @dst:	destination (a host prefix)
 *
 * An IPv4 prefix also covers its IPv4-mapped and NAT64 (64:ff9b::/96)
 * forms, as the forward chain matches them.
 *
 * Return: true if covered
 */
static bool update_cidr_matches(const struct rule *r, const struct prefix *dst)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	struct prefix v4 = { .family = AF_INET, .plen = 32 };

	if (r->pfx.family == dst->family)
		return prefix_contains(&r->pfx, dst);
	if (r->pfx.family != AF_INET ||
	    (memcmp(dst->addr, mapped, 12) && memcmp(dst->addr, nat64, 12)))
		return false;
	memcpy(v4.addr, dst->addr + 12, 4);
	return prefix_contains(&r->pfx, &v4);
}

/**
 * update_is_local() - whether an address is one of the host's own
 * @dst:	address
 *
 * What the chains ask as "fib daddr type local": bind() succeeds only on
 * a local address (without IP_FREEBIND).
 *
 * Return: true if local
 */
static bool update_is_local(const struct prefix *dst)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, ret;

	if (dst->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, dst->addr, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, dst->addr, 16);
		len = sizeof(*s6);
	}
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = bind(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return ret == 0;
}

/**
 * update_host_allows() - the input chain's verdict on a flow to the host
 * @p:		policy
 * @fl:		the flow
 *
 * Only "allow: host" opens the host; a "deny: host" or a CIDR deny
 * covering the address before it closes (nft_in_rule()).
 *
 * Return: true if allowed
 */
static bool update_host_allows(const struct policy *p,
			       const struct conntrack_flow *fl)
{
	size_t k;

	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (!update_l4_matches(r, fl->proto, fl->dport))
			continue;
		if (r->kind == TARGET_GROUP && r->group == GROUP_HOST)
			return r->allow;
		if (r->kind == TARGET_CIDR && !r->allow &&
		    update_cidr_matches(r, &fl->dst))
			return false;
	}
	return false;
}

/**
 * update_is_i4_port() - the name-service ports no sandbox reaches directly
 * @proto:	IPPROTO_*
 * @dport:	destination port
 *
 * Return: true for TCP or UDP to a port of NFT_I4_PORTS (nft.c)
 */
static bool update_is_i4_port(uint8_t proto, uint16_t dport)
{
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	return dport == 53 || dport == 137 || dport == 138 || dport == 853 ||
	       dport == 5353 || dport == 5355;
}

/**
 * update_is_quic_port() - UDP the forward chain drops as possible QUIC
 * @p:		policy
 * @proto:	IPPROTO_*
 * @dport:	destination port
 *
 * With domain rules, UDP to 443 and to every port a domain rule names
 * (nft_domain_ports(): names are judged on TCP only).
 *
 * Return: true if dropped
 */
static bool update_is_quic_port(const struct policy *p, uint8_t proto,
				uint16_t dport)
{
	size_t k, i;

	if (proto != IPPROTO_UDP || !policy_has_domain_rules(p))
		return false;
	if (dport == 443)
		return true;
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN)
			continue;
		for (i = 0; i < r->nports; i++)
			if (dport >= r->ports[i].lo && dport <= r->ports[i].hi)
				return true;
	}
	return false;
}

/**
 * update_fwd_allows() - the forward chain's verdict on a flow
 * @j:		judge
 * @fl:		the flow
 *
 * Other sandboxes only on a port a link rule names; DNS and its
 * bypasses, multicast and (with domain rules) UDP that may be QUIC never;
 * then the rules in order, and the default.
 *
 * Return: true if allowed
 */
static bool update_fwd_allows(const struct update_judge *j,
			      const struct conntrack_flow *fl)
{
	const struct policy *p = j->pol;
	enum addr_group g = addr_classify(fl->dst.family, fl->dst.addr, NULL, 0);
	size_t k;

	if (prefix_contains(&j->pool4, &fl->dst) ||
	    (j->pool6.family && prefix_contains(&j->pool6, &fl->dst))) {
		/* another sandbox: only over a link, which needs the
		 * peer's consent too; "moat update" then cuts what is no
		 * longer live (sblink_sync()) */
		for (k = 0; k < p->nrules; k++)
			if (policy_link_port(&p->rules[k], fl->proto, fl->dport))
				return true;
		return false;
	}
	if (update_is_i4_port(fl->proto, fl->dport) || g == GROUP_MULTICAST ||
	    update_is_quic_port(p, fl->proto, fl->dport))
		return false;
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (!update_l4_matches(r, fl->proto, fl->dport))
			continue;
		switch (r->kind) {
		case TARGET_CIDR:
			if (update_cidr_matches(r, &fl->dst))
				return r->allow;
			break;
		case TARGET_GROUP:
			if (r->group != GROUP_HOST && r->group == g)
				return r->allow;
			break;
		case TARGET_SANDBOX:	/* links: judged above */
			break;
		case TARGET_DOMAIN:
			if (r->allow && j->dns &&
			    dns_pinned_rule(j->dns, p, fl->dst.family,
					    fl->dst.addr, k))
				return true;
			break;
		}
	}
	switch (p->egress_default) {
	case EGRESS_PUBLIC:
		return g == GROUP_PUBLIC;
	case EGRESS_ALLOW:
		return true;
	case EGRESS_DENY:
		break;
	}
	return false;
}

/**
 * update_dst_allowed() - the sandbox's chains' verdict on a destination
 * @j:		judge
 * @proto:	IPPROTO_*
 * @dst:	destination (a host prefix)
 * @dport:	destination port (0 without ports)
 *
 * As the chains judge a new connection under the new policy: to the host
 * by the input chain's rules, elsewhere by the forward chain's, domain
 * allow rules by the addresses the interceptor answered for them (still
 * in its ring, expired or not: an established connection may outlive its
 * pin). Also the verdict on a relay of the proxy, whose onward
 * connection the same chains judge (fwd_policy_update()).
 *
 * Return: true if allowed
 */
bool update_dst_allowed(const struct update_judge *j, uint8_t proto,
			const struct prefix *dst, uint16_t dport)
{
	struct conntrack_flow fl = { .dst = *dst, .proto = proto,
				     .dport = dport };

	if (j->pol->mode != NET_FILTERED)
		return false;
	if (update_is_local(dst))
		return update_host_allows(j->pol, &fl);
	return update_fwd_allows(j, &fl);
}

/**
 * update_keep_flow() - whether a connection survives a policy change
 * @fl:		one conntrack entry with the sandbox's instance mark
 * @arg:	struct update_judge
 *
 * Kept without judging: what the sandbox did not open (the host's
 * connections into it: published ports; the supervisor's own onward
 * connections, which the proxy judges), and what the kernel redirected
 * to the host (the proxy's and the DNS interceptor's clients: the proxy
 * judges its relays, the interceptor each query). The rest is judged as
 * the sandbox's chains judge a new connection under the new policy
 * (update_dst_allowed()).
 *
 * Return: true to keep the entry, false to delete it
 */
bool update_keep_flow(const struct conntrack_flow *fl, void *arg)
{
	struct update_judge *j = arg;
	const struct sb_state *s = j->s;
	const struct prefix *own = fl->src.family == AF_INET ? &s->addr4
							     : &s->addr6;
	bool ok;

	if (fl->src.family != own->family ||
	    memcmp(fl->src.addr, own->addr, fl->src.family == AF_INET ? 4 : 16))
		return true;
	if (memcmp(fl->rsrc.addr, fl->dst.addr, sizeof(fl->dst.addr)))
		return true;	/* redirected to the host */
	if (j->pol->mode != NET_FILTERED)
		ok = false;
	else if ((fl->proto == IPPROTO_TCP || fl->proto == IPPROTO_UDP) &&
		 fl->dport == 53 &&
		 ((fl->dst.family == AF_INET &&
		   !memcmp(fl->dst.addr, s->gw4.addr, 4)) ||
		  (fl->dst.family == AF_INET6 && s->has_v6 &&
		   !memcmp(fl->dst.addr, s->gw6.addr, 16))))
		ok = true;	/* the DNS interceptor, asked directly */
	else
		ok = update_dst_allowed(j, fl->proto, &fl->dst, fl->dport);
	if (ok)
		j->kept++;
	return ok;
}

/**
 * update_keep_relay() - whether the kernel's rules let a proxy relay on
 * @dst:	its original destination
 * @dport:	its port
 * @arg:	struct update_judge
 *
 * For fwd_policy_update(), when the proxy's own decision refuses a relay
 * only for want of a live pin.
 *
 * Return: true if the sandbox's chains allow TCP to @dst:@dport
 */
bool update_keep_relay(const struct prefix *dst, uint16_t dport, void *arg)
{
	return update_dst_allowed(arg, IPPROTO_TCP, dst, dport);
}
