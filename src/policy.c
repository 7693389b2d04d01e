// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy.c - the policy model: defaults, names of its enums, storage
 *
 * Theory of operation
 * -------------------
 * A struct policy (policy.h) is what a sandbox is allowed: network mode,
 * rules in order, egress default, published ports, the dns section,
 * limits. It is built by the YAML loader (policy_yaml.c) and the command
 * line, whose values are parsed by the same functions (policy_value.c),
 * checked and linted (policy_check.c), and printed back, normalised, as
 * YAML and JSON (policy_print.c). moat.policy(5) describes the format.
 *
 * This file holds what they share: the defaults (policy_init()), the
 * names of the enums as a policy writes them, and the storage. A policy
 * owns its arrays, each grown to its exact size (policy_array_add()), and
 * its strings (file names of locations, upstream names), interned once
 * each (policy_intern()); policy_free() releases them all.
 */
#include <string.h>
#include <netinet/in.h>

#include "policy.h"
#include "policy_int.h"

/* Names, in enum order */
const char *const policy_net_mode_names[NET_NONE + 1] = {
	[NET_FILTERED] = "filtered",
	[NET_RESTRICTED] = "restricted",
	[NET_NONE] = "none",
};

const char *const policy_egress_default_names[EGRESS_ALLOW + 1] = {
	[EGRESS_PUBLIC] = "public",
	[EGRESS_DENY] = "deny",
	[EGRESS_ALLOW] = "allow",
};

const char *const policy_proto_names[PROTO_ICMP + 1] = {
	[PROTO_ANY] = "any",
	[PROTO_TCP] = "tcp",
	[PROTO_UDP] = "udp",
	[PROTO_ICMP] = "icmp",
};

/**
 * net_mode_name() - name of a network mode, as written in a policy
 * @m:		mode
 *
 * Return: "filtered", "restricted" or "none"
 */
const char *net_mode_name(enum net_mode m)
{
	if ((unsigned)m >= ARRAY_SIZE(policy_net_mode_names))
		return "?";
	return policy_net_mode_names[m];
}

/**
 * egress_default_name() - name of an egress default, as written in a policy
 * @d:		default
 *
 * Return: "public", "deny" or "allow"
 */
const char *egress_default_name(enum egress_default d)
{
	if ((unsigned)d >= ARRAY_SIZE(policy_egress_default_names))
		return "?";
	return policy_egress_default_names[d];
}

/**
 * proto_name() - name of a protocol, as written in a policy
 * @pr:		protocol
 *
 * Return: "any", "tcp", "udp" or "icmp"
 */
const char *proto_name(enum proto pr)
{
	if ((unsigned)pr >= ARRAY_SIZE(policy_proto_names))
		return "?";
	return policy_proto_names[pr];
}

/**
 * policy_name_lookup() - find a string in a table of names
 * @names:	table, indexed by enum value
 * @n:		entries in @names
 * @s:		string to look up
 *
 * Return: index, or -1 if @s is not in the table
 */
int policy_name_lookup(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(names[i], s))
			return (int)i;
	}
	return -1;
}

/* ------------------------------------------------------------------------
 * Policy storage
 */

/**
 * policy_init() - set a policy to the defaults of SPEC §5, owning nothing
 * @p:		policy
 */
void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = NET_FILTERED;
	p->egress_default = EGRESS_PUBLIC;
	p->rebind_protection = true;
	p->ttl_min = POLICY_TTL_MIN_DEFAULT;
	p->ttl_max = POLICY_TTL_MAX_DEFAULT;
	p->connections = POLICY_CONNECTIONS_DEFAULT;
	p->flows = POLICY_FLOWS_DEFAULT;
}

/**
 * policy_free() - release everything a policy owns and reset it to defaults
 * @p:		policy
 */
void policy_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].ports);
	free(p->rules);
	for (i = 0; i < p->naccept; i++)
		free(p->accept[i].ports);
	free(p->accept);
	free(p->publish);
	free(p->allow_from);
	free(p->dns_block);
	free(p->dns_records);
	free(p->dns_upstream);
	for (i = 0; i < p->nsecrets; i++)
		free(p->secrets[i].hosts);
	free(p->secrets);
	free(p->intercept);
	for (i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	policy_init(p);
}

/**
 * policy_intern() - keep a copy of a string for the lifetime of a policy
 * @p:		policy
 * @s:		string, or NULL
 *
 * Return: the policy's copy (shared with an equal string kept before), or
 *	   NULL if @s is NULL
 */
const char *policy_intern(struct policy *p, const char *s)
{
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < p->nstrings; i++) {
		if (!strcmp(p->strings[i], s))
			return p->strings[i];
	}
	p->strings = xrealloc(p->strings, (p->nstrings + 1) *
					  sizeof(*p->strings));
	p->strings[p->nstrings] = xstrdup(s);
	return p->strings[p->nstrings++];
}

/**
 * policy_array_add() - grow an array by one zeroed member
 * @arr:	address of the array pointer
 * @n:		address of the member count, incremented
 * @size:	size of one member
 *
 * The arrays of struct policy may be grown by other code too, so no spare
 * capacity is assumed: each call reallocates to the exact size.
 *
 * Return: the new member
 */
void *policy_array_add(void *arr, size_t *n, size_t size)
{
	void **a = arr;
	char *m;

	*a = xrealloc(*a, (*n + 1) * size);
	m = (char *)*a + *n * size;
	memset(m, 0, size);
	(*n)++;
	return m;
}

/* ------------------------------------------------------------------------
 * Queries
 */

/**
 * policy_has_domain_rules() - tell if any rule names a domain
 * @p:		policy
 *
 * Return: true if a rule's target is a domain
 */
bool policy_has_domain_rules(const struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].kind == TARGET_DOMAIN)
			return true;
	}
	return false;
}

/**
 * policy_has_links() - tell if a policy names another sandbox at all
 * @p:		policy
 *
 * Return: true if an egress rule is a link (allow: sandbox:NAME) or
 *	   ingress.accept accepts one
 */
bool policy_has_links(const struct policy *p)
{
	return p->naccept || policy_has_link_rules(p);
}

/**
 * policy_has_link_rules() - tell if a policy links to another sandbox
 * @p:		policy
 *
 * Return: true if an egress rule is a link (allow: sandbox:NAME)
 */
bool policy_has_link_rules(const struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].kind == TARGET_SANDBOX)
			return true;
	}
	return false;
}

/**
 * policy_link_peer() - the sandbox a link rule names
 * @r:		rule, TARGET_SANDBOX
 *
 * Return: NAME of "sandbox:NAME", or "" if @r is no link
 */
const char *policy_link_peer(const struct rule *r)
{
	if (r->kind != TARGET_SANDBOX)
		return "";
	return r->domain + strlen(POLICY_LINK_PREFIX);
}

/**
 * policy_link_port() - tell if a link rule covers a protocol and port
 * @r:		rule, TARGET_SANDBOX
 * @l4:		IPPROTO_TCP or IPPROTO_UDP
 * @port:	destination port
 *
 * Return: true if @r names @port for @l4
 */
bool policy_link_port(const struct rule *r, uint8_t l4, uint16_t port)
{
	size_t i;

	if (r->kind != TARGET_SANDBOX)
		return false;
	if ((l4 == IPPROTO_TCP && r->proto == PROTO_UDP) ||
	    (l4 == IPPROTO_UDP && r->proto == PROTO_TCP) ||
	    (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP))
		return false;
	for (i = 0; i < r->nports; i++) {
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	}
	return false;
}

/**
 * policy_prepend_accept() - put deep copies of accepted links before a
 * policy's own ingress.accept
 * @p:		policy
 * @acc:	entries to copy, e.g. those of --accept
 * @n:		number of entries
 *
 * Return: 0
 */
int policy_prepend_accept(struct policy *p, const struct rule *acc, size_t n)
{
	struct rule *all;
	size_t i;

	if (!n)
		return 0;
	all = xcalloc(n + p->naccept, sizeof(*all));
	for (i = 0; i < n; i++) {
		all[i] = acc[i];
		all[i].ports = xcalloc(acc[i].nports ? acc[i].nports : 1,
				       sizeof(*all[i].ports));
		if (acc[i].nports)
			memcpy(all[i].ports, acc[i].ports,
			       acc[i].nports * sizeof(*all[i].ports));
		all[i].loc.file = policy_intern(p, acc[i].loc.file);
	}
	if (p->naccept)
		memcpy(all + n, p->accept, p->naccept * sizeof(*all));
	free(p->accept);
	p->accept = all;
	p->naccept += n;
	return 0;
}

/**
 * policy_addr_rule() - the first address rule matching an address
 * @p:		policy
 * @af:		AF_INET or AF_INET6
 * @addr:	address, network order (4 or 16 bytes)
 *
 * Only CIDR and group rules count, in order (domain rules never vouch for
 * an address): the rule rebind protection consults for an answer that is
 * not public (dns.c), and privop.c for a pin a worker asks for.
 *
 * Return: index of the rule, or p->nrules if none matches
 */
size_t policy_addr_rule(const struct policy *p, int af, const uint8_t *addr)
{
	struct prefix a = { .family = af, .plen = af == AF_INET ? 32 : 128 };
	enum addr_group g = addr_classify(af, addr, NULL, 0);
	size_t k;

	memcpy(a.addr, addr, af == AF_INET ? 4 : 16);
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind == TARGET_CIDR && r->pfx.family == af &&
		    prefix_contains(&r->pfx, &a))
			return k;
		if (r->kind == TARGET_GROUP && r->group == g)
			return k;
	}
	return p->nrules;
}

/* ------------------------------------------------------------------------
 * Secrets
 */

/**
 * policy_secret_for() - may a secret go to a host
 * @s:		secret
 * @name:	normalised host name (an SNI)
 *
 * Return: true if one of the secret's hosts matches @name
 */
bool policy_secret_for(const struct secret *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		if (names_match(s->hosts[i], name))
			return true;
	}
	return false;
}

/**
 * policy_intercepts() - does moat terminate TLS for a name
 * @p:		policy
 * @name:	normalised host name (an SNI)
 *
 * Interception is opt-in per name: a secret's hosts, and the names of the
 * intercept list; nothing else.
 *
 * Return: true if @name is to be intercepted
 */
bool policy_intercepts(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nsecrets; i++) {
		if (policy_secret_for(&p->secrets[i], name))
			return true;
	}
	for (i = 0; i < p->nintercept; i++) {
		if (names_match(p->intercept[i], name))
			return true;
	}
	return false;
}
