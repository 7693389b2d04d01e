/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * policy.h - the policy model (SPEC §5), its strict YAML loader, the
 * command-line rule syntax and the normalised printers.
 */
#ifndef MOAT_POLICY_H
#define MOAT_POLICY_H

#include <jansson.h>

#include "addr.h"
#include "err.h"
#include "names.h"

#define POLICY_DOMAIN_MAX	NAMES_MAX	/* a name, no trailing dot */
#define POLICY_UPSTREAM_MAX	8	/* resolvers the DNS interceptor uses */
#define POLICY_FILE_MAX		(4 << 20)	/* bytes of a policy file */

enum net_mode {
	NET_FILTERED = 0,
	NET_RESTRICTED,
	NET_NONE,
};

enum egress_default {
	EGRESS_PUBLIC = 0,
	EGRESS_DENY,
	EGRESS_ALLOW,
};

enum proto {
	PROTO_ANY = 0,		/* with ports: tcp and udp; without: all */
	PROTO_TCP,
	PROTO_UDP,
	PROTO_ICMP,		/* ICMP and ICMPv6 */
};

enum target_kind {
	TARGET_CIDR = 0,	/* address or prefix, v4 or v6 */
	TARGET_GROUP,		/* a group of SPEC §4 */
	TARGET_DOMAIN,		/* exact domain, or "*.suffix" */
	TARGET_SANDBOX,		/* another sandbox, by name: a link */
};

#define POLICY_LINK_PREFIX	"sandbox:"	/* a link's target, then NAME */
#define POLICY_LINK_PORTS_MAX	256	/* ports one link rule may name */

/**
 * struct port_range - inclusive range of ports
 * @lo:		first port, 1..65535
 * @hi:		last port, >= @lo
 */
struct port_range {
	uint16_t lo;
	uint16_t hi;
};

/**
 * struct srcloc - where a policy item came from, for diagnostics
 * @file:	file name or "--allow" / "--deny" (static or policy-owned)
 * @line:	1-based line, 0 for command-line items
 * @col:	1-based column
 */
struct srcloc {
	const char *file;
	unsigned line;
	unsigned col;
};

/**
 * struct rule - one egress rule; the first that matches decides
 * @allow:	true for allow, false for deny
 * @kind:	what @pfx / @group / @domain holds
 * @pfx:	TARGET_CIDR: the prefix (host bits zero)
 * @group:	TARGET_GROUP: the group
 * @domain:	TARGET_DOMAIN: normalised name: lower case, no trailing
 *		dot, IDN labels as punycode ("xn--..."); a wildcard is
 *		stored as "*.suffix" and matches subdomains only;
 *		TARGET_SANDBOX: "sandbox:NAME" (policy_link_peer() gives
 *		NAME), always with ports, protocol tcp, udp or any
 * @ports:	port ranges, sorted and merged; @nports == 0 means all
 * @nports:	number of ranges
 * @proto:	protocol
 * @loc:	origin
 */
struct rule {
	bool allow;
	enum target_kind kind;
	struct prefix pfx;
	enum addr_group group;
	char domain[POLICY_DOMAIN_MAX + 3];
	struct port_range *ports;
	size_t nports;
	enum proto proto;
	struct srcloc loc;
};

/**
 * struct publish - a published port, [BIND:]HOSTPORT:SANDBOXPORT[/PROTO]
 * @bind:	address to listen on in the host namespace (/32 or /128)
 * @host_port:	port on the host
 * @sandbox_port: port in the sandbox
 * @proto:	PROTO_TCP or PROTO_UDP
 */
struct publish {
	struct prefix bind;
	uint16_t host_port;
	uint16_t sandbox_port;
	enum proto proto;
};

/**
 * struct dns_record - a name answered by moat itself
 * @name:	normalised name
 * @addr:	address (/32 or /128)
 */
struct dns_record {
	char name[POLICY_DOMAIN_MAX + 1];
	struct prefix addr;
};

#define POLICY_SECRETS_MAX	32	/* secrets in one policy */
#define SECRET_NAME_MAX		64	/* bytes of a secret's name */
#define SECRET_VALUE_MAX	8192	/* bytes of a secret's value */
#define SECRET_HOSTS_MAX	64	/* hosts of one secret */
#define SECRET_SET_MAX		1024	/* bytes of a "set" header line */

/* where a secret's placeholder is replaced (struct secret.replace_in) */
#define SECRET_IN_HEADERS	0x1
#define SECRET_IN_QUERY		0x2
#define SECRET_IN_BODY		0x4

/**
 * struct secret - a credential the sandbox never sees (the secrets section)
 * @name:	[A-Za-z_][A-Za-z0-9_]*, the environment variable that holds
 *		its placeholder in "moat run" and "moat exec"
 * @from_env:	@source names an environment variable of moat's caller;
 *		else a file (absolute path)
 * @source:	the file or variable (owned by the policy), never the value
 * @hosts:	the names allowed to receive it: normalised names or
 *		"*.suffix", matched as domain rules match
 * @nhosts:	number of @hosts
 * @replace_in:	SECRET_IN_* where its placeholder is replaced; 0 with @set
 * @set_header:	header moat sets to @set_value on every request to
 *		@hosts, or NULL (owned by the policy)
 * @set_value:	the header's value: text around one "{secret}"
 * @loc:	where the secret's entry starts
 */
struct secret {
	char name[SECRET_NAME_MAX + 1];
	bool from_env;
	const char *source;
	char (*hosts)[POLICY_DOMAIN_MAX + 3];
	size_t nhosts;
	unsigned replace_in;
	const char *set_header;
	const char *set_value;
	struct srcloc loc;
};

/**
 * struct policy - a whole, validated policy
 * @mode:		network mode
 * @egress_default:	what happens when no rule matches
 * @rules:		egress rules, command-line rules first
 * @nrules:		number of rules
 * @publish:		published ports
 * @npublish:		number of published ports
 * @allow_from:		sources allowed on non-loopback binds
 * @nallow_from:	number of sources
 * @accept:		ingress.accept: the sandboxes that may connect in,
 *			each a TARGET_SANDBOX allow rule with its ports
 * @naccept:		number of them
 * @rebind_protection:	dns.rebind_protection
 * @dns_block:		dns.block, normalised names or "*.suffix"
 * @ndns_block:		number of names
 * @dns_records:	dns.records
 * @ndns_records:	number of records
 * @dns_upstream:	dns.upstream (/32 or /128 prefixes, port 53)
 * @ndns_upstream:	number of upstreams
 * @ttl_min:		dns.ttl.min, seconds
 * @ttl_max:		dns.ttl.max, seconds
 * @bandwidth_bps:	limits.bandwidth in bits per second, 0 = unlimited
 * @connections:	limits.connections, 0 = moat's default
 * @flows:		limits.flows: connections the host tracks for the sandbox
 *			at once (forwarded and to moat's services), 0 = moat's
 *			default
 * @secrets:		the secrets section
 * @nsecrets:		number of secrets
 * @intercept:		names whose TLS moat terminates besides the secrets'
 *			hosts (to refuse placeholders sent there): normalised
 *			names or "*.suffix"
 * @nintercept:		number of @intercept names
 * @loc_dns_block:	where dns.block was set (policy_check_supported())
 * @loc_dns_records:	where dns.records was set
 * @loc_dns_upstream:	where dns.upstream was set
 * @loc_bandwidth:	where limits.bandwidth was set
 * @loc_default:	where egress.default was set (policy_lint())
 * @strings:		storage owned by the policy (file names in @loc)
 * @nstrings:		number of strings
 */
struct policy {
	enum net_mode mode;
	enum egress_default egress_default;
	struct rule *rules;
	size_t nrules;
	struct publish *publish;
	size_t npublish;
	struct prefix *allow_from;
	size_t nallow_from;
	struct rule *accept;
	size_t naccept;
	bool rebind_protection;
	char (*dns_block)[POLICY_DOMAIN_MAX + 3];
	size_t ndns_block;
	struct dns_record *dns_records;
	size_t ndns_records;
	struct prefix *dns_upstream;
	size_t ndns_upstream;
	uint32_t ttl_min;
	uint32_t ttl_max;
	uint64_t bandwidth_bps;
	uint32_t connections;
	uint32_t flows;
	struct secret *secrets;
	size_t nsecrets;
	char (*intercept)[POLICY_DOMAIN_MAX + 3];
	size_t nintercept;
	struct srcloc loc_dns_block;
	struct srcloc loc_dns_records;
	struct srcloc loc_dns_upstream;
	struct srcloc loc_bandwidth;
	struct srcloc loc_default;
	char **strings;
	size_t nstrings;
};

#define POLICY_TTL_MIN_DEFAULT		5
#define POLICY_TTL_MAX_DEFAULT		300
#define POLICY_CONNECTIONS_DEFAULT	256
#define POLICY_FLOWS_DEFAULT		256
#define POLICY_FLOWS_MAX		1048576

/* Rates link.c can shape: whole bytes per second in a signed 32-bit tc
 * field, so 8 bit/s to 8 * INT32_MAX bit/s (about 17.18 Gbit/s)
 */
#define POLICY_BANDWIDTH_MIN		8ULL
#define POLICY_BANDWIDTH_MAX		(8ULL * 2147483647ULL)

void policy_init(struct policy *p);
void policy_free(struct policy *p);

int policy_load_file(struct policy *p, const char *path, struct errlist *el);
int policy_load_buf(struct policy *p, const char *name, const char *buf,
		    size_t len, struct errlist *el);

int policy_parse_rule_arg(struct policy *p, const char *arg, bool allow,
			  const char *optname, struct errlist *el);
int policy_prepend_rules(struct policy *p, const struct rule *rules,
			 size_t n);
int policy_parse_accept_arg(struct policy *p, const char *arg,
			    struct errlist *el);
int policy_prepend_accept(struct policy *p, const struct rule *acc, size_t n);
bool policy_has_links(const struct policy *p);
bool policy_has_link_rules(const struct policy *p);
const char *policy_link_peer(const struct rule *r);
bool policy_link_port(const struct rule *r, uint8_t l4, uint16_t port);
int policy_parse_publish(const char *arg, struct publish *out,
			 const char *file, unsigned line, unsigned col,
			 struct errlist *el);
int policy_parse_rate(const char *s, uint64_t *bps);

int policy_check_supported(const struct policy *p, struct errlist *el);
bool policy_has_domain_rules(const struct policy *p);
size_t policy_addr_rule(const struct policy *p, int af, const uint8_t *addr);
int policy_lint(const struct policy *p, struct errlist *warn);

bool policy_intercepts(const struct policy *p, const char *name);
bool policy_secret_for(const struct secret *s, const char *name);

void policy_print(const struct policy *p, FILE *f);
json_t *policy_to_json(const struct policy *p);

const char *net_mode_name(enum net_mode m);
const char *egress_default_name(enum egress_default d);
const char *proto_name(enum proto pr);

#endif /* MOAT_POLICY_H */
