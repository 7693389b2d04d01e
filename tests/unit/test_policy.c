// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_policy.c - unit tests of the policy loader (every error with its
 * position), the command-line rule and publish syntaxes, rates, and the
 * printers (print, load, print is a fixpoint)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "policy.h"
#include "ptest.h"

/**
 * load() - load a policy from a string, file name "t.yaml"
 * @p:		initialised policy
 * @el:		error list
 * @yaml:	text
 *
 * Return: what policy_load_buf() returns
 */
static int load(struct policy *p, struct errlist *el, const char *yaml)
{
	return policy_load_buf(p, "t.yaml", yaml, strlen(yaml), el);
}

/**
 * print_str() - policy_print() into a new string
 * @p:		policy
 *
 * Return: the text, to be freed
 */
static char *print_str(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_print(p, f);
	fclose(f);
	return buf;
}

/**
 * dump_errors() - show an error list on stderr, to explain a failure
 * @el:		list
 */
static void dump_errors(const struct errlist *el)
{
	errlist_print(el, stderr);
}

/**
 * has_error() - look for an error record
 * @el:		list
 * @file:	expected file
 * @line:	expected line
 * @col:	expected column
 * @sub:	expected part of the message
 *
 * Return: true if a record matches
 */
static bool has_error(const struct errlist *el, const char *file,
		      unsigned line, unsigned col, const char *sub)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		const struct errrec *r = &el->recs[i];

		if (r->file && !strcmp(r->file, file) && r->line == line &&
		    r->col == col && strstr(r->msg, sub))
			return true;
	}
	return false;
}

/**
 * assert_defaults() - a policy holds nothing and has the defaults
 * @p:		policy
 * @nstrings:	strings it is expected to own (a loaded file's name)
 */
static void assert_defaults(const struct policy *p, size_t nstrings)
{
	assert_int_equal(p->nrules, 0);
	assert_null(p->rules);
	assert_int_equal(p->npublish, 0);
	assert_int_equal(p->nallow_from, 0);
	assert_int_equal(p->ndns_block, 0);
	assert_int_equal(p->ndns_records, 0);
	assert_int_equal(p->ndns_upstream, 0);
	assert_int_equal(p->nstrings, nstrings);
	assert_int_equal(p->mode, NET_FILTERED);
	assert_int_equal(p->egress_default, EGRESS_PUBLIC);
	assert_true(p->rebind_protection);
	assert_int_equal(p->ttl_min, POLICY_TTL_MIN_DEFAULT);
	assert_int_equal(p->ttl_max, POLICY_TTL_MAX_DEFAULT);
	assert_int_equal(p->bandwidth_bps, 0);
	assert_int_equal(p->connections, POLICY_CONNECTIONS_DEFAULT);
}

/**
 * prefix_str() - format a prefix for comparisons
 * @pfx:	prefix
 * @buf:	buffer of 64 bytes
 *
 * Return: @buf
 */
static const char *prefix_str(const struct prefix *pfx, char *buf)
{
	assert_int_equal(prefix_format(pfx, buf, 64), 0);
	return buf;
}

/**
 * same_prefix() - compare a prefix with the text of an address or CIDR
 * @pfx:	prefix
 * @s:		text
 *
 * Return: true if @s parses to @pfx
 */
static bool same_prefix(const struct prefix *pfx, const char *s)
{
	struct prefix q;

	if (prefix_parse(s, &q, true))
		return false;
	return q.family == pfx->family && q.plen == pfx->plen &&
	       !memcmp(q.addr, pfx->addr, sizeof(q.addr));
}

/* ------------------------------------------------------------------------ */

#define R	"version: 1\negress:\n  rules:\n"

static const struct {
	const char *yaml;
	unsigned line;
	unsigned col;
	const char *msg;
} bad_policies[] = {
	/* document level */
	{ "", 1, 1, "the policy is empty" },
	{ "# nothing here\n", 1, 1, "the policy is empty" },
	{ "---\n", 2, 1, "the policy is empty" },
	{ "network: filtered\n", 1, 1, "missing required key 'version'" },
	{ "version: 2\n", 1, 10, "unsupported version 2" },
	{ "version: 0\n", 1, 10, "unsupported version 0" },
	{ "version: \"1\"\n", 1, 10, "expected an integer, found the quoted string '1'" },
	{ "version: 1.0\n", 1, 10, "expected a decimal integer" },
	{ "version: 0x1\n", 1, 10, "expected a decimal integer" },
	{ "version: 01\n", 1, 10, "leading zeros" },
	{ "version: 99999999999999999999999\n", 1, 10, "out of range" },
	{ "version: 1\nfoo: bar\n", 2, 1, "unknown key 'foo'" },
	{ "version: 1\nversion: 1\n", 2, 1, "duplicate key 'version' (first at 1:1)" },
	{ "- version: 1\n", 1, 1, "expected a map, found a list" },
	{ "version\n", 1, 1, "expected a map, found 'version'" },
	{ "version: 1\n---\nversion: 1\n", 2, 1, "multiple YAML documents" },
	{ "version: 1\negress: {\n", 3, 1, "syntax error: did not find expected node content" },
	{ "version: 1\n\tnetwork: none\n", 2, 1, "syntax error" },
	{ "version: 1\nnetwork: 'x\n", 3, 1, "syntax error: found unexpected end of stream" },
	{ "version: 1\nnetwork: \"\xff\"\n", 2, 11, "invalid input" },
	{ "version: 1\nnetwork: \"a\\0b\"\n", 2, 10, "NUL character" },
	{ "version: 1\negress: &e {default: deny}\n", 2, 9, "aliases are not supported" },
	{ "version: 1\negress: {default: deny}\ningress: *e\n", 3, 10, "aliases are not supported" },
	{ "version: 1\na: &x 1\nb: *x\n", 3, 4, "aliases are not supported" },
	{ "version: !!int 1\n", 1, 10, "tags are not supported" },
	{ "version: 1\n? [a]\n: 1\n", 2, 3, "keys must be plain strings, not lists" },
	{ "version: 1\n? {a: 1}\n: 1\n", 2, 3, "keys must be plain strings, not maps" },
	{ "version: 1\nx: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n", 2, 19, "nesting deeper than 16 levels" },

	/* network and egress */
	{ "version: 1\nnetwork: open\n", 2, 10, "network: unknown value 'open' (expected none, restricted or filtered)" },
	{ "version: 1\nnetwork: [filtered]\n", 2, 10, "network: expected a string, found a list" },
	{ "version: 1\nnetwork:\n", 2, 9, "network: expected a string, found an empty value" },
	{ "version: 1\negress: [1]\n", 2, 9, "egress: expected a map, found a list" },
	{ "version: 1\negress:\n", 2, 8, "egress: expected a map, found an empty value" },
	{ "version: 1\negress:\n  default: none\n", 3, 12, "egress.default: unknown value 'none'" },
	{ "version: 1\negress:\n  rules: github.com\n", 3, 10, "egress.rules: expected a list, found 'github.com'" },
	{ "version: 1\negress:\n  rules: {allow: x.com}\n", 3, 10, "egress.rules: expected a list, found a map" },
	{ "version: 1\negress:\n  rules:\n", 3, 9, "write [] for none" },
	{ "version: 1\negress:\n  rule: []\n", 3, 3, "unknown key 'rule' in egress (expected default, rules)" },
	{ "version: 1\negress:\n  default: deny\n  default: allow\n", 4, 3, "duplicate key 'default' (first at 3:3)" },

	/* rules */
	{ R "    - github.com\n", 4, 7, "egress.rules item: expected a map, found 'github.com'" },
	{ R "    - allow: 10.0.0.0/33\n", 4, 14, "'10.0.0.0/33' is not a valid address or CIDR" },
	{ R "    - allow: 300.1.2.3\n", 4, 14, "is not a valid address or CIDR" },
	{ R "    - allow: 10.0.0.1/8\n", 4, 14, "host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)" },
	{ R "    - allow: \"2001:db8::1/32\"\n", 4, 14, "host bits set" },
	{ R "    - allow: 1.2.3\n", 4, 14, "not a valid address or CIDR" },
	{ R "    - allow: x.com\n      ports: [0]\n", 5, 15, "port 0 out of range 1-65535" },
	{ R "    - allow: x.com\n      ports: [65536]\n", 5, 15, "port 65536 out of range 1-65535" },
	{ R "    - allow: x.com\n      ports: [\"70000-80000\"]\n", 5, 15, "port 70000 out of range 1-65535" },
	{ R "    - allow: x.com\n      ports: [\"90-80\"]\n", 5, 15, "reversed port range 90-80" },
	{ R "    - allow: x.com\n      ports: [8o]\n", 5, 15, "bad port '8o'" },
	{ R "    - allow: x.com\n      ports: [0443]\n", 5, 15, "leading zeros" },
	{ R "    - allow: x.com\n      ports: [-1]\n", 5, 15, "bad port range '-1' (expected LO-HI)" },
	{ R "    - allow: x.com\n      ports: [\"1-\"]\n", 5, 15, "bad port range '1-'" },
	{ R "    - allow: x.com\n      ports: [\"1-2-3\"]\n", 5, 15, "bad port '2-3'" },
	{ R "    - allow: x.com\n      ports: [80, [81]]\n", 5, 19, "ports: expected a port or a \"LO-HI\" range, found a list" },
	{ R "    - allow: x.com\n      ports: 443\n", 5, 14, "ports: expected a list, such as [443]" },
	{ R "    - allow: x.com\n      ports: []\n", 5, 14, "ports: empty list" },
	{ R "    - allow: x.com\n      ports: {a: 1}\n", 5, 14, "ports: expected a list, found a map" },
	{ R "    - allow: x.com\n      protocol: sctp\n", 5, 17, "unknown value 'sctp' (expected tcp, udp, icmp or any)" },
	{ R "    - allow: x.com\n      protocol: TCP\n", 5, 17, "unknown value 'TCP'" },
	{ R "    - allow: x.com\n      protocol: icmp\n      ports: [1]\n", 6, 14, "ports make no sense with protocol icmp" },
	{ R "    - allow: 1.1.1.1\n      ports: [443, 53]\n", 5, 14, "port 53 is never reachable from a sandbox" },
	{ R "    - allow: 1.1.1.1\n      ports: [853]\n      protocol: tcp\n", 5, 14, "port 853 is never reachable" },
	{ R "    - allow: x.com\n      deny: y.com\n", 5, 13, "either 'allow' or 'deny', not both" },
	{ R "    - ports: [1]\n", 4, 7, "a rule needs 'allow' or 'deny'" },
	{ R "    - allow: x.com\n      port: [1]\n", 5, 7, "unknown key 'port' in egress.rules item" },
	{ R "    - allow: [a.com]\n", 4, 14, "allow: expected a string, found a list" },
	{ R "    - deny:\n", 4, 12, "deny: expected a string, found an empty value" },
	{ R "    - allow: \"\"\n", 4, 14, "empty target" },
	{ R "    - allow: github\n", 4, 14, "'github' is neither a group" },
	{ R "    - allow: metdata\n", 4, 14, "neither a group" },
	{ R "    - allow: \"*.com\"\n", 4, 14, "a wildcard needs at least two labels" },
	{ R "    - allow: \"*\"\n", 4, 14, "a lone '*'" },
	{ R "    - allow: \"*.*.x.com\"\n", 4, 14, "'*' is only allowed as the whole leftmost label" },
	{ R "    - allow: a*.x.com\n", 4, 14, "'*' is only allowed as the whole leftmost label" },
	{ R "    - allow: x.*.com\n", 4, 14, "'*' is only allowed as the whole leftmost label" },
	{ R "    - allow: -x.com\n", 4, 14, "label starts or ends with '-'" },
	{ R "    - allow: x-.com\n", 4, 14, "label starts or ends with '-'" },
	{ R "    - allow: a..com\n", 4, 14, "empty label" },
	{ R "    - allow: a.com..\n", 4, 14, "empty label" },
	{ R "    - allow: a!.com\n", 4, 14, "invalid character" },
	{ R "    - allow: a.123\n", 4, 14, "the last label is numeric" },
	{ R "    - allow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\n", 4, 14, "longer than 63" },
	{ R "    - allow: \"\\u0301a.com\"\n", 4, 14, "forbidden leading combining character" },
	{ R "    - allow: xn--zz.com\n", 4, 14, "invalid punycode" },

	/* ingress */
	{ "version: 1\ningress:\n  publish: [\"8080\"]\n", 3, 13, "publish '8080': expected [BIND:]HOSTPORT:SANDBOXPORT" },
	{ "version: 1\ningress:\n  publish: [\"0:80\"]\n", 3, 13, "port 0 out of range" },
	{ "version: 1\ningress:\n  publish: [\"80:70000\"]\n", 3, 13, "port 70000 out of range" },
	{ "version: 1\ningress:\n  publish: [\"80:80/sctp\"]\n", 3, 13, "protocol must be tcp or udp" },
	{ "version: 1\ningress:\n  publish: [\"::1:80:80\"]\n", 3, 13, "goes in brackets" },
	{ "version: 1\ningress:\n  publish: [\"[10.0.0.1]:80:80\"]\n", 3, 13, "brackets are only for IPv6" },
	{ "version: 1\ningress:\n  publish: [\"x:80:80\"]\n", 3, 13, "bad bind address 'x'" },
	{ "version: 1\ningress:\n  publish: [\"8000-8010:80\"]\n", 3, 13, "port ranges are not supported" },
	{ "version: 1\ningress:\n  publish:\n    - \"8080:80\"\n    - \"127.0.0.1:8080:81/tcp\"\n", 5, 7, "duplicates '8080:80' at 4:7" },
	{ "version: 1\ningress:\n  publish:\n    - \"0.0.0.0:8080:80\"\n    - \"8080:81\"\n", 5, 7, "conflicts with" },
	{ "version: 1\ningress:\n  publish: \"8080:80\"\n", 3, 12, "ingress.publish: expected a list" },
	{ "version: 1\nnetwork: none\ningress:\n  publish: [\"8080:80\"]\n", 4, 3, "network: none has none" },
	{ "version: 1\ningress:\n  allow_from: [10.0.0.1/24]\n", 3, 16, "host bits set" },
	{ "version: 1\ningress:\n  allow_from: [private]\n", 3, 16, "is not an address or CIDR" },
	{ "version: 1\ningress:\n  allow_from: [10.0.0.0/8, 10.0.0.0/8]\n", 3, 28, "duplicate entry" },
	{ "version: 1\ningress:\n  allow: []\n", 3, 3, "unknown key 'allow' in ingress" },
	{ "version: 1\ningress:\n  accept: [{from: private, ports: [5432]}]\n", 3, 19, "from 'private' is not sandbox:NAME: only a named sandbox can be accepted" },
	{ "version: 1\ningress:\n  accept: [{from: 10.0.0.0/8, ports: [5432]}]\n", 3, 19, "is not sandbox:NAME" },
	{ "version: 1\ningress:\n  accept: [{from: \"*.x.com\", ports: [5432]}]\n", 3, 19, "is not sandbox:NAME" },
	{ "version: 1\ningress:\n  accept: [{from: \"sandbox:*\", ports: [5432]}]\n", 3, 19, "not a wildcard" },
	{ "version: 1\ningress:\n  accept: [{from: sandbox:public, ports: [5432]}]\n", 3, 19, "not a group of addresses" },
	{ "version: 1\ningress:\n  accept: [{from: \"sandbox:10.1.2.0/24\", ports: [5432]}]\n", 3, 19, "not an address or CIDR" },
	{ "version: 1\ningress:\n  accept: [{from: sandbox:agent}]\n", 3, 19, "'sandbox:agent': a link needs its ports" },
	{ "version: 1\ningress:\n  accept: [{from: sandbox:agent, ports: [22], protocol: icmp}]\n", 3, 41, "not icmp" },
	{ "version: 1\ningress:\n  accept: [{ports: [22]}]\n", 3, 12, "an entry needs 'from: sandbox:NAME'" },
	{ "version: 1\ningress:\n  accept: [{from: sandbox:a, ports: [1], to: x}]\n", 3, 42, "unknown key 'to'" },
	{ "version: 1\ningress:\n  accept: sandbox:a\n", 3, 11, "ingress.accept: expected a list" },
	{ "version: 1\nnetwork: none\ningress:\n  accept: [{from: sandbox:a, ports: [1]}]\n", 4, 19, "a link needs a network interface" },
	{ R "    - allow: sandbox:db\n", 4, 14, "'sandbox:db': a link needs its ports" },
	{ R "    - allow: sandbox:db\n      ports: [\"1-300\"]\n", 5, 14, "at most 256 ports, this one 300" },
	{ R "    - deny: sandbox:db\n      ports: [5432]\n", 5, 14, "a deny cannot name a sandbox" },
	{ R "    - allow: \"sandbox:*\"\n      ports: [5432]\n", 4, 14, "not a wildcard" },
	{ R "    - allow: sandbox:multicast\n      ports: [5432]\n", 4, 14, "not a group of addresses" },
	{ R "    - allow: \"sandbox:fd00::/8\"\n      ports: [5432]\n", 4, 14, "not an address or CIDR" },

	/* dns */
	{ "version: 1\ndns:\n  rebind_protection: yes\n", 3, 22, "YAML 1.1 booleans are not accepted" },
	{ "version: 1\ndns:\n  rebind_protection: off\n", 3, 22, "expected true or false" },
	{ "version: 1\ndns:\n  rebind_protection: True\n", 3, 22, "expected true or false" },
	{ "version: 1\ndns:\n  rebind_protection: \"true\"\n", 3, 22, "expected true or false" },
	{ "version: 1\ndns:\n  block: [\"*.com\"]\n", 3, 11, "dns.block: '*.com' is not a valid domain name" },
	{ "version: 1\ndns:\n  block: [a.com, A.com.]\n", 3, 18, "dns.block: duplicate entry" },
	{ "version: 1\ndns:\n  records: {db.internal: 10.0.0.0/8}\n", 3, 26, "is not an IPv4 or IPv6 address" },
	{ "version: 1\ndns:\n  records: {\"*.x.com\": 10.0.0.1}\n", 3, 13, "wildcards are not allowed here" },
	{ "version: 1\ndns:\n  records: {a.x: 10.0.0.1, A.x.: 10.0.0.2}\n", 3, 28, "same name as an earlier record" },
	{ "version: 1\ndns:\n  records: {a.x: []}\n", 3, 18, "empty list of addresses" },
	{ "version: 1\ndns:\n  records: {a.x: [1.2.3.4, 1.2.3.4]}\n", 3, 28, "duplicate address" },
	{ "version: 1\ndns:\n  records: [a]\n", 3, 12, "dns.records: expected a map, found a list" },
	{ "version: 1\ndns:\n  upstream: [\"1.1.1.1:53\"]\n", 3, 14, "'1.1.1.1:53' is not an IPv4 or IPv6 address" },
	{ "version: 1\ndns:\n  upstream: [1.1.1.1, 1.1.1.1]\n", 3, 23, "duplicate entry" },
	{ "version: 1\ndns:\n  upstream: 1.1.1.1\n", 3, 13, "dns.upstream: expected a list" },
	{ "version: 1\ndns:\n  ttl: {min: -1}\n", 3, 14, "dns.ttl.min: -1 out of range 0-86400" },
	{ "version: 1\ndns:\n  ttl: {max: 86401}\n", 3, 14, "dns.ttl.max: 86401 out of range 0-86400" },
	{ "version: 1\ndns:\n  ttl: {min: 10, max: 5}\n", 3, 23, "min 10 is greater than max 5" },
	{ "version: 1\ndns:\n  ttl: {min: 600}\n", 3, 14, "min 600 is greater than max 300" },
	{ "version: 1\ndns:\n  ttl: {mn: 6}\n", 3, 9, "unknown key 'mn' in dns.ttl (expected min, max)" },
	{ "version: 1\ndns:\n  ttl: 5\n", 3, 8, "dns.ttl: expected a map, found '5'" },

	/* limits */
	{ "version: 1\nlimits:\n  bandwidth: 100\n", 3, 14, "bad rate '100'" },
	{ "version: 1\nlimits:\n  bandwidth: 100mb\n", 3, 14, "bad rate" },
	{ "version: 1\nlimits:\n  bandwidth: 0mbit\n", 3, 14, "bad rate" },
	{ "version: 1\nlimits:\n  connections: 0\n", 3, 16, "limits.connections: 0 out of range 1-65535" },
	{ "version: 1\nlimits:\n  connections: 65536\n", 3, 16, "out of range 1-65535" },
	{ "version: 1\nlimits:\n  connections: many\n", 3, 16, "expected a decimal integer" },
	{ "version: 1\nlimits:\n  flows: 0\n", 3, 10, "limits.flows: 0 out of range 1-1048576" },
	{ "version: 1\nlimits:\n  flows: 1048577\n", 3, 10, "out of range 1-1048576" },
	{ "version: 1\nlimits:\n  flows: [64]\n", 3, 10, "limits.flows" },
	{ "version: 1\nlimits:\n  memory: 1\n", 3, 3, "unknown key 'memory' in limits" },
	/* secrets */
#define S	"version: 1\nsecrets:\n"
	{ S "  - {name: K, hosts: [a.com]}\n", 3, 5, "needs 'from_file' (a file holding it) or 'from_env'" },
	{ S "  - {name: K, value: x, from_env: K, hosts: [a.com]}\n", 3, 15, "unknown key 'value' in secrets item" },
	{ S "  - {name: 9K, from_env: K, hosts: [a.com]}\n", 3, 12, "'9K' is not a valid name" },
	{ S "  - {name: K-1, from_env: K, hosts: [a.com]}\n", 3, 12, "'K-1' is not a valid name" },
	{ S "  - {from_env: K, hosts: [a.com]}\n", 3, 5, "a secret needs a 'name'" },
	{ S "  - {name: K, from_env: K, from_file: /k, hosts: [a.com]}\n", 3, 25, "either 'from_file' or 'from_env'" },
	{ S "  - {name: K, from_file: k, hosts: [a.com]}\n", 3, 26, "'k' is not an absolute path" },
	{ S "  - {name: K, from_env: 'A B', hosts: [a.com]}\n", 3, 25, "not an environment variable's name" },
	{ S "  - {name: K, from_env: K}\n", 3, 5, "a secret needs 'hosts'" },
	{ S "  - {name: K, from_env: K, hosts: []}\n", 3, 35, "secrets.hosts: empty list" },
	{ S "  - {name: K, from_env: K, hosts: [1.2.3.4]}\n", 3, 36, "is an address; moat intercepts names only" },
	{ S "  - {name: K, from_env: K, hosts: ['a..com']}\n", 3, 36, "not a valid domain name" },
	{ S "  - {name: K, from_env: K, hosts: [a.com, A.com.]}\n", 3, 43, "duplicate entry 'A.com.'" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], replace_in: [cookie]}\n", 3, 57, "unknown value 'cookie' (expected headers, query or body)" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], replace_in: []}\n", 3, 56, "secrets.replace_in: empty list" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], replace_in: [body, body]}\n", 3, 63, "duplicate entry 'body'" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], replace_in: [body], set: 'A: {secret}'}\n", 3, 69, "either 'replace_in'" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], set: 'Bearer {secret}'}\n", 3, 49, "expected 'Header-Name: value with {secret}'" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], set: 'A: Bearer'}\n", 3, 49, "'{secret}' exactly once" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], set: 'A: {secret}{secret}'}\n", 3, 49, "'{secret}' exactly once" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], set: \"A: x\\n{secret}\"}\n", 3, 49, "control characters" },
	{ S "  - {name: K, from_env: K, hosts: [a.com], set: 'Content-Length: {secret}'}\n", 3, 49, "does not set 'Content-Length'" },
	{ S "  - {name: K, from_env: K, hosts: [a.com]}\n  - {name: K, from_env: L, hosts: [b.com]}\n", 4, 12, "'K' is the name of an earlier secret" },
	{ S "  - {name: K, from_env: K, hosts: [a.com]}\nnetwork: restricted\n", 3, 3, "secrets need network: filtered" },
	{ S "  {name: K}\n", 3, 3, "secrets: expected a list" },
	{ "version: 1\nintercept: [a.com, '*.b.com', '*.B.com']\n", 2, 31, "duplicate entry '*.B.com'" },
	{ "version: 1\nintercept: ['::1']\n", 2, 13, "is an address" },
#undef S
};

/**
 * test_bad_policies() - every kind of error, with its exact position, and
 * the policy left empty
 * @state:	unused
 */
static void test_bad_policies(void **state)
{
	size_t i, failed = 0;

	for (i = 0; i < ARRAY_SIZE(bad_policies); i++) {
		struct errlist el = { 0 };
		struct policy p;
		int rc;

		policy_init(&p);
		rc = load(&p, &el, bad_policies[i].yaml);
		if (rc != -1 || !has_error(&el, "t.yaml", bad_policies[i].line,
					   bad_policies[i].col,
					   bad_policies[i].msg)) {
			fprintf(stderr, "case %zu: %s\nexpected %u:%u: %s\ngot:\n",
				i, bad_policies[i].yaml, bad_policies[i].line,
				bad_policies[i].col, bad_policies[i].msg);
			dump_errors(&el);
			failed++;
		}
		assert_defaults(&p, 0);
		policy_free(&p);
		errlist_free(&el);
	}
	assert_int_equal(failed, 0);
}

/**
 * test_many_errors() - one load reports every independent mistake, in
 * file order
 * @state:	unused
 */
static void test_many_errors(void **state)
{
	static const char yaml[] =
		"version: 3\n"				/* 1 */
		"network: sometimes\n"			/* 2 */
		"egress:\n"				/* 3 */
		"  default: maybe\n"			/* 4 */
		"  rules:\n"				/* 5 */
		"    - allow: 10.0.0.1/8\n"		/* 6 */
		"      ports: [0, 22]\n"		/* 7 */
		"    - deny: \"*.com\"\n"		/* 8 */
		"    - allow: ok.example\n"		/* 9 */
		"dns:\n"				/* 10 */
		"  rebind_protection: no\n"		/* 11 */
		"  colour: blue\n"			/* 12 */
		"limits:\n"				/* 13 */
		"  connections: 0\n";			/* 14 */
	struct errlist el = { 0 };
	struct policy p;

	policy_init(&p);
	assert_int_equal(load(&p, &el, yaml), -1);
	if (el.n != 9)
		dump_errors(&el);
	assert_int_equal(el.n, 9);
	assert_true(has_error(&el, "t.yaml", 1, 10, "unsupported version 3"));
	assert_true(has_error(&el, "t.yaml", 2, 10, "unknown value 'sometimes'"));
	assert_true(has_error(&el, "t.yaml", 4, 12, "unknown value 'maybe'"));
	assert_true(has_error(&el, "t.yaml", 6, 14, "host bits set"));
	assert_true(has_error(&el, "t.yaml", 7, 15, "port 0 out of range"));
	assert_true(has_error(&el, "t.yaml", 8, 13, "two labels"));
	assert_true(has_error(&el, "t.yaml", 11, 22, "YAML 1.1"));
	assert_true(has_error(&el, "t.yaml", 12, 3, "unknown key 'colour'"));
	assert_true(has_error(&el, "t.yaml", 14, 16, "out of range 1-65535"));
	assert_defaults(&p, 0);
	policy_free(&p);
	errlist_free(&el);

	/* duplicate keys at several levels, all reported */
	policy_init(&p);
	assert_int_equal(load(&p, &el,
			      "version: 1\n"
			      "dns:\n"
			      "  ttl: {min: 1, min: 2}\n"
			      "  block: []\n"
			      "  block: []\n"
			      "dns: {}\n"), -1);
	assert_int_equal(el.n, 3);
	assert_true(has_error(&el, "t.yaml", 3, 17, "duplicate key 'min' (first at 3:9)"));
	assert_true(has_error(&el, "t.yaml", 5, 3, "duplicate key 'block' (first at 4:3)"));
	assert_true(has_error(&el, "t.yaml", 6, 1, "duplicate key 'dns' (first at 2:1)"));
	policy_free(&p);
	errlist_free(&el);
}

/**
 * test_failure_frees() - a failed load releases what a previous one held
 * @state:	unused
 */
static void test_failure_frees(void **state)
{
	struct errlist el = { 0 };
	struct policy p;

	policy_init(&p);
	assert_int_equal(load(&p, &el, R "    - allow: 1.2.3.4\n      ports: [1]\n"),
			 0);
	assert_int_equal(p.nrules, 1);
	assert_int_equal(load(&p, &el, R "    - allow: 1.2.3.4\n    - allow: 1.2.3.4/8\n"),
			 -1);
	assert_int_equal(el.n, 1);
	assert_defaults(&p, 0);
	policy_free(&p);
	errlist_free(&el);
}

static const char full_policy[] =
	"# every key of SPEC §5\n"
	"version: 1\n"
	"network: filtered\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - allow: GitHub.com.\n"
	"      ports: [443]\n"
	"    - allow: \"*.githubusercontent.com\"\n"
	"      ports: [443]\n"
	"    - allow: 140.82.112.0/20\n"
	"      ports: [22]\n"
	"      protocol: tcp\n"
	"    - deny: metadata\n"
	"    - allow: host\n"
	"      ports: [11434, \"8000-8100\", 8050, 8101]\n"
	"    - allow: \"2001:db8::/32\"\n"
	"      protocol: icmp\n"
	"    - deny: 192.0.2.1\n"
	"      protocol: udp\n"
	"      ports: [\"53\"]\n"
	"ingress:\n"
	"  publish:\n"
	"    - \"8080:3000\"\n"
	"    - \"0.0.0.0:5353:53/udp\"\n"
	"    - \"[::1]:8443:443/tcp\"\n"
	"  allow_from: [10.0.0.0/24, \"fd00::/8\"]\n"
	"dns:\n"
	"  rebind_protection: false\n"
	"  block: [\"*.tracker.example\", Ads.Example.]\n"
	"  records: {db.internal: 10.0.0.5, both.internal: [10.0.0.6, \"fd00::6\"]}\n"
	"  upstream: [1.1.1.1, \"2606:4700:4700::1111\"]\n"
	"  ttl: {min: 0, max: 86400}\n"
	"limits:\n"
	"  bandwidth: 100mbit\n"
	"  connections: 1024\n"
	"  flows: 2048\n";

/**
 * test_full_policy() - every key of SPEC §5, converted
 * @state:	unused
 */
static void test_full_policy(void **state)
{
	struct errlist el = { 0 };
	const struct rule *r;
	struct policy p;
	char buf[64];

	policy_init(&p);
	if (load(&p, &el, full_policy))
		dump_errors(&el);
	assert_int_equal(el.n, 0);

	assert_int_equal(p.mode, NET_FILTERED);
	assert_int_equal(p.egress_default, EGRESS_DENY);
	assert_int_equal(p.nrules, 7);

	r = &p.rules[0];
	assert_true(r->allow);
	assert_int_equal(r->kind, TARGET_DOMAIN);
	assert_string_equal(r->domain, "github.com");
	assert_int_equal(r->nports, 1);
	assert_int_equal(r->ports[0].lo, 443);
	assert_int_equal(r->ports[0].hi, 443);
	assert_int_equal(r->proto, PROTO_ANY);
	assert_string_equal(r->loc.file, "t.yaml");
	assert_int_equal(r->loc.line, 7);
	assert_int_equal(r->loc.col, 14);

	r = &p.rules[1];
	assert_string_equal(r->domain, "*.githubusercontent.com");

	r = &p.rules[2];
	assert_int_equal(r->kind, TARGET_CIDR);
	assert_string_equal(prefix_str(&r->pfx, buf), "140.82.112.0/20");
	assert_int_equal(r->proto, PROTO_TCP);

	r = &p.rules[3];
	assert_false(r->allow);
	assert_int_equal(r->kind, TARGET_GROUP);
	assert_int_equal(r->group, GROUP_METADATA);
	assert_int_equal(r->nports, 0);

	r = &p.rules[4];
	assert_int_equal(r->group, GROUP_HOST);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0].lo, 8000);
	assert_int_equal(r->ports[0].hi, 8101);
	assert_int_equal(r->ports[1].lo, 11434);
	assert_int_equal(r->ports[1].hi, 11434);

	r = &p.rules[5];
	assert_true(same_prefix(&r->pfx, "2001:db8::/32"));
	assert_int_equal(r->proto, PROTO_ICMP);

	r = &p.rules[6];
	assert_false(r->allow);
	assert_true(same_prefix(&r->pfx, "192.0.2.1"));
	assert_int_equal(r->pfx.plen, 32);
	assert_int_equal(r->proto, PROTO_UDP);
	assert_int_equal(r->ports[0].lo, 53);

	assert_int_equal(p.npublish, 3);
	assert_true(same_prefix(&p.publish[0].bind, "127.0.0.1"));
	assert_int_equal(p.publish[0].host_port, 8080);
	assert_int_equal(p.publish[0].sandbox_port, 3000);
	assert_int_equal(p.publish[0].proto, PROTO_TCP);
	assert_true(same_prefix(&p.publish[1].bind, "0.0.0.0"));
	assert_int_equal(p.publish[1].proto, PROTO_UDP);
	assert_int_equal(p.publish[2].bind.family, AF_INET6);
	assert_true(same_prefix(&p.publish[2].bind, "::1"));

	assert_int_equal(p.nallow_from, 2);
	assert_true(same_prefix(&p.allow_from[1], "fd00::/8"));

	assert_false(p.rebind_protection);
	assert_int_equal(p.ndns_block, 2);
	assert_string_equal(p.dns_block[0], "*.tracker.example");
	assert_string_equal(p.dns_block[1], "ads.example");
	assert_int_equal(p.ndns_records, 3);
	assert_string_equal(p.dns_records[0].name, "db.internal");
	assert_string_equal(p.dns_records[1].name, "both.internal");
	assert_string_equal(p.dns_records[2].name, "both.internal");
	assert_true(same_prefix(&p.dns_records[2].addr, "fd00::6"));
	assert_int_equal(p.ndns_upstream, 2);
	assert_int_equal(p.ttl_min, 0);
	assert_int_equal(p.ttl_max, 86400);
	assert_int_equal(p.bandwidth_bps, 100000000ULL);
	assert_int_equal(p.connections, 1024);
	assert_int_equal(p.flows, 2048);

	assert_int_equal(p.loc_dns_block.line, 30);
	assert_int_equal(p.loc_dns_records.line, 31);
	assert_int_equal(p.loc_dns_upstream.line, 32);
	assert_int_equal(p.loc_bandwidth.line, 35);
	assert_int_equal(p.loc_bandwidth.col, 14);

	policy_free(&p);
	errlist_free(&el);
}

/**
 * test_defaults() - a bare "version: 1" and empty sections are the defaults
 * @state:	unused
 */
static void test_defaults(void **state)
{
	static const char *const minimal[] = {
		"version: 1\n",
		"version: 1\negress: {}\ningress: {}\ndns: {}\nlimits: {}\n",
		("version: 1\negress: {rules: []}\n"
		 "ingress: {publish: [], allow_from: []}\n"
		 "dns: {block: [], records: {}, upstream: [], ttl: {}}\n"),
		"{version: 1}",
		"---\nversion: 1\n...\n",
		"\xef\xbb\xbfversion: 1\n",
	};
	static const char expected[] =
		"version: 1\n"
		"network: filtered\n"
		"egress:\n"
		"  default: public\n"
		"  rules: []\n"
		"ingress:\n"
		"  publish: []\n"
		"  allow_from: []\n"
		"  accept: []\n"
		"dns:\n"
		"  rebind_protection: true\n"
		"  block: []\n"
		"  records: {}\n"
		"  upstream: []\n"
		"  ttl:\n"
		"    min: 5\n"
		"    max: 300\n"
		"limits:\n"
		"  bandwidth: unlimited\n"
		"  connections: 256\n"
		"  flows: 256\n"
		"secrets: []\n"
		"intercept: []\n";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(minimal); i++) {
		struct errlist el = { 0 };
		struct policy p;
		char *out;

		policy_init(&p);
		if (load(&p, &el, minimal[i]))
			dump_errors(&el);
		assert_int_equal(el.n, 0);
		assert_int_equal(p.nstrings, 1);
		p.nstrings = 0;		/* only the file name */
		{
			char **s = p.strings;

			p.strings = NULL;
			assert_defaults(&p, 0);
			p.strings = s;
			p.nstrings = 1;
		}
		out = print_str(&p);
		assert_string_equal(out, expected);
		free(out);
		policy_free(&p);
		errlist_free(&el);
	}
}

/**
 * test_domain_rules() - domain and wildcard rules as loaded
 * @state:	unused
 */
static void test_domain_rules(void **state)
{
	struct errlist el = { 0 };
	struct policy p;

	policy_init(&p);
	assert_int_equal(load(&p, &el, R
			      "    - allow: Bücher.Example.\n"
			      "    - allow: \"*.NPMJS.org\"\n"
			      "      ports: [443]\n"
			      "    - deny: \"*.evil.example.com\"\n"
			      "      protocol: udp\n"), 0);
	assert_int_equal(p.nrules, 3);
	assert_string_equal(p.rules[0].domain, "xn--bcher-kva.example");
	assert_string_equal(p.rules[1].domain, "*.npmjs.org");
	assert_int_equal(p.rules[1].nports, 1);
	assert_string_equal(p.rules[2].domain, "*.evil.example.com");
	assert_false(p.rules[2].allow);
	assert_true(policy_has_domain_rules(&p));
	policy_free(&p);

	policy_init(&p);
	assert_int_equal(load(&p, &el, R "    - allow: 1.1.1.1\n"), 0);
	assert_false(policy_has_domain_rules(&p));
	policy_free(&p);
	errlist_free(&el);
}

/* ------------------------------------------------------------------------ */

static const struct {
	const char *arg;
	enum target_kind kind;
	const char *target;	/* group name, domain, or address text */
	const char *ports;	/* merged, "lo-hi,..." */
	enum proto proto;
} good_rules[] = {
	{ "github.com:443", TARGET_DOMAIN, "github.com", "443", PROTO_ANY },
	{ "GitHub.com.", TARGET_DOMAIN, "github.com", "", PROTO_ANY },
	{ "*.npmjs.org:443", TARGET_DOMAIN, "*.npmjs.org", "443", PROTO_ANY },
	{ "*.npmjs.org", TARGET_DOMAIN, "*.npmjs.org", "", PROTO_ANY },
	{ "bücher.example:80", TARGET_DOMAIN, "xn--bcher-kva.example", "80", PROTO_ANY },
	{ "example.com/udp", TARGET_DOMAIN, "example.com", "", PROTO_UDP },
	{ "example.com:53/udp", TARGET_DOMAIN, "example.com", "53", PROTO_UDP },
	{ "example.com/icmp", TARGET_DOMAIN, "example.com", "", PROTO_ICMP },
	{ "10.0.0.0/8:5432/tcp", TARGET_CIDR, "10.0.0.0/8", "5432", PROTO_TCP },
	{ "10.0.0.0/8", TARGET_CIDR, "10.0.0.0/8", "", PROTO_ANY },
	{ "10.0.0.0/8/tcp", TARGET_CIDR, "10.0.0.0/8", "", PROTO_TCP },
	{ "1.2.3.4", TARGET_CIDR, "1.2.3.4", "", PROTO_ANY },
	{ "1.2.3.4:22", TARGET_CIDR, "1.2.3.4", "22", PROTO_ANY },
	{ "1.2.3.4/icmp", TARGET_CIDR, "1.2.3.4", "", PROTO_ICMP },
	{ "0.0.0.0/0:443", TARGET_CIDR, "0.0.0.0/0", "443", PROTO_ANY },
	{ "[2001:db8::1]:443", TARGET_CIDR, "2001:db8::1", "443", PROTO_ANY },
	{ "[2001:db8::/32]:443/tcp", TARGET_CIDR, "2001:db8::/32", "443", PROTO_TCP },
	{ "[2001:db8::1]", TARGET_CIDR, "2001:db8::1", "", PROTO_ANY },
	{ "[2001:db8::1]/udp", TARGET_CIDR, "2001:db8::1", "", PROTO_UDP },
	{ "2001:db8::1", TARGET_CIDR, "2001:db8::1", "", PROTO_ANY },
	{ "[2001:db8::1:443]", TARGET_CIDR, "2001:db8::1:443", "", PROTO_ANY },
	{ "2001:db8::443", TARGET_CIDR, "2001:db8::443", "", PROTO_ANY },
	{ "1:2:3:4:5:6:7:8", TARGET_CIDR, "1:2:3:4:5:6:7:8", "", PROTO_ANY },
	{ "2001:db8::/32", TARGET_CIDR, "2001:db8::/32", "", PROTO_ANY },
	{ "::1", TARGET_CIDR, "::1", "", PROTO_ANY },
	{ "host:11434", TARGET_GROUP, "host", "11434", PROTO_ANY },
	{ "metadata", TARGET_GROUP, "metadata", "", PROTO_ANY },
	{ "private:5432/tcp", TARGET_GROUP, "private", "5432", PROTO_TCP },
	{ "public", TARGET_GROUP, "public", "", PROTO_ANY },
	{ "link-local/icmp", TARGET_GROUP, "link-local", "", PROTO_ICMP },
	{ "x.com:80,443,8000-8100", TARGET_DOMAIN, "x.com", "80,443,8000-8100", PROTO_ANY },
	{ "x.com:443,80,81-90,85", TARGET_DOMAIN, "x.com", "80-90,443", PROTO_ANY },
	{ "x.com:1-65535", TARGET_DOMAIN, "x.com", "1-65535", PROTO_ANY },
	{ "x.com:22-22", TARGET_DOMAIN, "x.com", "22", PROTO_ANY },
	{ "x.com:443/any", TARGET_DOMAIN, "x.com", "443", PROTO_ANY },
	{ "1.1.1.1:1-1024/tcp", TARGET_CIDR, "1.1.1.1", "1-1024", PROTO_TCP },
};

/**
 * ports_str() - a rule's ports as "lo-hi,..." for comparisons
 * @r:		rule
 * @buf:	buffer of 256 bytes
 *
 * Return: @buf
 */
static const char *ports_str(const struct rule *r, char *buf)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < r->nports; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			len += (size_t)snprintf(buf + len, 256 - len, "%s%u",
						i ? "," : "", r->ports[i].lo);
		else
			len += (size_t)snprintf(buf + len, 256 - len,
						"%s%u-%u", i ? "," : "",
						r->ports[i].lo, r->ports[i].hi);
	}
	return buf;
}

/**
 * test_rule_args_good() - the command-line RULE syntax
 * @state:	unused
 */
static void test_rule_args_good(void **state)
{
	struct errlist el = { 0 };
	char buf[256];
	struct policy p;
	size_t i;

	policy_init(&p);
	for (i = 0; i < ARRAY_SIZE(good_rules); i++) {
		const struct rule *r;

		if (policy_parse_rule_arg(&p, good_rules[i].arg, i % 2,
					  i % 2 ? "--allow" : "--deny", &el)) {
			dump_errors(&el);
			fail_msg("'%s' refused", good_rules[i].arg);
		}
		assert_int_equal(p.nrules, i + 1);
		r = &p.rules[i];
		assert_int_equal(r->allow, i % 2);
		assert_int_equal(r->kind, good_rules[i].kind);
		switch (r->kind) {
		case TARGET_DOMAIN:
		case TARGET_SANDBOX:
			assert_string_equal(r->domain, good_rules[i].target);
			break;
		case TARGET_GROUP:
			assert_string_equal(addr_group_name(r->group),
					    good_rules[i].target);
			break;
		case TARGET_CIDR:
			assert_true(same_prefix(&r->pfx, good_rules[i].target));
			break;
		}
		assert_string_equal(ports_str(r, buf), good_rules[i].ports);
		assert_int_equal(r->proto, good_rules[i].proto);
		assert_string_equal(r->loc.file, i % 2 ? "--allow" : "--deny");
		assert_int_equal(r->loc.line, 0);
	}
	/* the origins are interned: two strings for all the rules */
	assert_int_equal(p.nstrings, 2);
	assert_int_equal(el.n, 0);
	policy_free(&p);
}

static const struct {
	const char *arg;
	const char *msg;
} bad_rules[] = {
	{ "x:99999", "port 99999 out of range 1-65535" },
	{ "x.com:0", "port 0 out of range 1-65535" },
	{ "x.com:65536", "port 65536 out of range" },
	{ "x.com:70000-80000", "port 70000 out of range" },
	{ "x.com:90-80", "reversed port range 90-80" },
	{ "x.com:", "empty port list after ':'" },
	{ "x.com:80,", "empty port in list" },
	{ "x.com:,80", "empty port in list" },
	{ "x.com:http", "bad port 'http'" },
	{ "x.com:080", "leading zeros" },
	{ "x.com:443/sctp", "unknown protocol 'sctp'" },
	{ "x.com:443/", "empty protocol after '/'" },
	{ "x.com:443/icmp", "ports make no sense with protocol icmp" },
	{ "1.1.1.1:53", "port 53 is never reachable" },
	{ "[2606:4700:4700::1111]:443,5353/udp", "port 5353 is never reachable" },
	{ "", "empty target" },
	{ ":443", "empty target" },
	{ "github", "neither a group" },
	{ "*.com:443", "at least two labels" },
	{ "*", "a lone '*'" },
	{ "a*.x.com", "only allowed as the whole leftmost label" },
	{ "10.0.0.1/8", "host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)" },
	{ "10.0.0.0/33", "not a valid address or CIDR" },
	{ "300.0.0.1", "not a valid address or CIDR" },
	{ "[2001:db8::1", "missing ']'" },
	{ "[10.0.0.1]:80", "brackets are only for IPv6" },
	{ "[2001:db8::1]x", "unexpected 'x' after ']'" },
	{ "[2001:db8::1]:", "empty port list" },
	{ "[2001:db8::1]:443/tcpx", "unknown protocol 'tcpx'" },
	{ "[2001:db8::1/32]:443", "host bits set" },
	{ "2001:db8::1:443/tcp", "use brackets" },
	{ "2001:db8::1:443", "ambiguous: write [2001:db8::1]:443 for port 443 of 2001:db8::1, or [2001:db8::1:443] for the address" },
	{ "fe80::1:22", "ambiguous: write [fe80::1]:22" },
	{ "::1:8080", "ambiguous: write [::1]:8080" },
	{ "2001:db8::1/32", "host bits set" },
	{ "2001:zz::1", "not a valid IPv6 address" },
	{ "x.com:1:2", "not a valid IPv6 address" },
	{ "bad_ch@r.com", "invalid character" },
	{ "sandbox:db", "'sandbox:db': a link needs its ports" },
	{ "sandbox:db/tcp", "a link needs its ports" },
	{ "sandbox::5432", "'sandbox:' needs a sandbox name" },
	{ "sandbox:*:5432", "a link names one sandbox, not a wildcard" },
	{ "sandbox:db*:5432", "not a wildcard" },
	{ "sandbox:private:5432", "not a group of addresses" },
	{ "sandbox:10.0.0.0/8:5432", "not an address or CIDR" },
	{ "sandbox:10.0.0.1:5432", "not an address or CIDR" },
	{ "sandbox:-db:5432", "not a sandbox name" },
	{ "sandbox:d@b:5432", "not a sandbox name" },
	{ "sandbox:db:5432/icmp", "a link carries tcp, udp or any, not icmp" },
	{ "sandbox:db:1-1024", "a link opens at most 256 ports, this one 1024" },
	{ "sandbox:db:53/udp", "port 53 is never reachable" },
	{ "sandbox:db:0", "port 0 out of range" },
};

/**
 * test_rule_args_bad() - refused command-line rules, with their messages
 * @state:	unused
 */
static void test_rule_args_bad(void **state)
{
	struct policy p;
	size_t i;

	policy_init(&p);
	for (i = 0; i < ARRAY_SIZE(bad_rules); i++) {
		struct errlist el = { 0 };
		char *src = xasprintf("--allow '%s'", bad_rules[i].arg);

		if (policy_parse_rule_arg(&p, bad_rules[i].arg, true,
					  "--allow", &el) != -1 ||
		    !has_error(&el, src, 0, 0, bad_rules[i].msg)) {
			fprintf(stderr, "'%s': expected '%s', got:\n",
				bad_rules[i].arg, bad_rules[i].msg);
			dump_errors(&el);
			fail();
		}
		assert_int_equal(p.nrules, 0);
		free(src);
		errlist_free(&el);
	}
	policy_free(&p);
}

/**
 * test_rule_arg_message() - the printed form of a command-line error
 * @state:	unused
 */
static void test_rule_arg_message(void **state)
{
	struct errlist el = { 0 };
	struct policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	policy_init(&p);
	assert_int_equal(policy_parse_rule_arg(&p, "x.com:99999", true,
					       "--allow", &el), -1);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.recs[0].file, "--allow 'x.com:99999'");
	assert_int_equal(el.recs[0].line, 0);
	assert_string_equal(el.recs[0].msg, "port 99999 out of range 1-65535");
	f = open_memstream(&buf, &len);
	errlist_print(&el, f);
	fclose(f);
	assert_string_equal(buf,
			    "moat: --allow 'x.com:99999': port 99999 out of range 1-65535\n");
	free(buf);
	errlist_free(&el);

	/* target and ports are both checked */
	assert_int_equal(policy_parse_rule_arg(&p, "github:0", false, "--deny",
					       &el), -1);
	assert_int_equal(el.n, 2);
	assert_true(has_error(&el, "--deny 'github:0'", 0, 0, "neither a group"));
	assert_true(has_error(&el, "--deny 'github:0'", 0, 0, "port 0 out of range"));
	errlist_free(&el);
	policy_free(&p);
}

/* ------------------------------------------------------------------------ */

static const struct {
	const char *arg;
	const char *bind;
	unsigned host;
	unsigned sandbox;
	enum proto proto;
} good_publish[] = {
	{ "8080:3000", "127.0.0.1", 8080, 3000, PROTO_TCP },
	{ "8080:3000/tcp", "127.0.0.1", 8080, 3000, PROTO_TCP },
	{ "5353:53/udp", "127.0.0.1", 5353, 53, PROTO_UDP },
	{ "0.0.0.0:80:80", "0.0.0.0", 80, 80, PROTO_TCP },
	{ "192.0.2.7:443:8443/tcp", "192.0.2.7", 443, 8443, PROTO_TCP },
	{ "[::1]:8080:80", "::1", 8080, 80, PROTO_TCP },
	{ "[::]:53:53/udp", "::", 53, 53, PROTO_UDP },
	{ "[2001:db8::7]:1:65535", "2001:db8::7", 1, 65535, PROTO_TCP },
};

static const struct {
	const char *arg;
	const char *msg;
} bad_publish[] = {
	{ "", "expected [BIND:]HOSTPORT:SANDBOXPORT" },
	{ "8080", "expected [BIND:]HOSTPORT:SANDBOXPORT" },
	{ "8080:", "empty port" },
	{ ":80", "empty port" },
	{ "0:80", "port 0 out of range" },
	{ "80:65536", "port 65536 out of range" },
	{ "80:80/icmp", "protocol must be tcp or udp" },
	{ "80:80/", "protocol must be tcp or udp" },
	{ "80:80/TCP", "protocol must be tcp or udp" },
	{ "1.2.3.4:80:80:80", "goes in brackets" },
	{ "::1:80:80", "goes in brackets" },
	{ "[::1]80:80", "expected ':' after ']'" },
	{ "[::1:80:80", "missing ']'" },
	{ "[1.2.3.4]:80:80", "brackets are only for IPv6" },
	{ "[::1]:80", "expected [BIND:]HOSTPORT:SANDBOXPORT" },
	{ "[::1]:80:80:80", "expected [BIND:]HOSTPORT:SANDBOXPORT" },
	{ "localhost:80:80", "bad bind address 'localhost'" },
	{ "10.0.0.0/8:80:80", "protocol must be tcp or udp" },
	{ "8000-8010:8000-8010", "port ranges are not supported" },
	{ "http:80", "bad port 'http'" },
};

/**
 * test_publish() - the publish syntax shared by YAML and --publish
 * @state:	unused
 */
static void test_publish(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_publish); i++) {
		struct errlist el = { 0 };
		struct publish pub;

		if (policy_parse_publish(good_publish[i].arg, &pub,
					 "--publish", 0, 0, &el)) {
			dump_errors(&el);
			fail_msg("'%s' refused", good_publish[i].arg);
		}
		assert_true(same_prefix(&pub.bind, good_publish[i].bind));
		assert_int_equal(pub.host_port, good_publish[i].host);
		assert_int_equal(pub.sandbox_port, good_publish[i].sandbox);
		assert_int_equal(pub.proto, good_publish[i].proto);
		assert_int_equal(el.n, 0);
	}
	for (i = 0; i < ARRAY_SIZE(bad_publish); i++) {
		struct errlist el = { 0 };
		struct publish pub;

		if (policy_parse_publish(bad_publish[i].arg, &pub, "--publish",
					 0, 0, &el) != -1 ||
		    !has_error(&el, "--publish", 0, 0, bad_publish[i].msg)) {
			fprintf(stderr, "'%s': expected '%s', got:\n",
				bad_publish[i].arg, bad_publish[i].msg);
			dump_errors(&el);
			fail();
		}
		errlist_free(&el);
	}
}

/**
 * test_rates() - limits.bandwidth and --bandwidth
 * @state:	unused
 */
static void test_rates(void **state)
{
	static const struct {
		const char *s;
		uint64_t bps;
	} good[] = {
		{ "100mbit", 100000000ULL },
		{ "1gbit", 1000000000ULL },
		{ "500kbit", 500000ULL },
		{ "1bit", 1ULL },
		{ "10mbps", 80000000ULL },
		{ "1kbps", 8000ULL },
		{ "2gbps", 16000000000ULL },
		{ "1tbit", 1000000000000ULL },
		{ "1.5gbit", 1500000000ULL },
		{ "0.5mbit", 500000ULL },
		{ "100Mbit", 100000000ULL },
		{ "1GBIT", 1000000000ULL },
		{ "10tbit", 10000000000000ULL },
		{ "unlimited", 0 },
	};
	static const char *const bad[] = {
		"", "100", "mbit", "100 mbit", "100mb", "100mibit", "0mbit",
		"0.0001bit", "1.mbit", ".5mbit", "-1mbit", "1e6bit",
		"11tbit", "99999999999999999999999gbit", "1.1234567891gbit",
		"100mbit ", "Unlimited", "1,5mbit",
	};
	uint64_t bps;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		bps = 42;
		if (policy_parse_rate(good[i].s, &bps))
			fail_msg("'%s' refused", good[i].s);
		assert_int_equal(bps, good[i].bps);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (!policy_parse_rate(bad[i], &bps))
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* ------------------------------------------------------------------------ */

/**
 * fixpoint() - load, print, load, print: the two prints are equal
 * @yaml:	policy text
 *
 * Return: the first print, to be freed
 */
static char *fixpoint(const char *yaml)
{
	struct errlist el = { 0 };
	struct policy p, q;
	char *a, *b;

	policy_init(&p);
	policy_init(&q);
	if (load(&p, &el, yaml))
		dump_errors(&el);
	assert_int_equal(el.n, 0);
	a = print_str(&p);
	if (load(&q, &el, a)) {
		fprintf(stderr, "%s", a);
		dump_errors(&el);
	}
	assert_int_equal(el.n, 0);
	b = print_str(&q);
	assert_string_equal(a, b);
	free(b);
	policy_free(&p);
	policy_free(&q);
	return a;
}

static const char link_policy[] =
	"version: 1\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - allow: sandbox:db\n"
	"      ports: [5432]\n"
	"      protocol: tcp\n"
	"ingress:\n"
	"  accept:\n"
	"    - from: sandbox:agent\n"
	"      ports: [9001, 8080, 9000]\n"
	"    - {from: sandbox:cron, ports: [8080], protocol: udp}\n";

/**
 * test_links() - link rules and ingress.accept as loaded, the --accept
 * syntax, and what a policy tells of them
 * @state:	unused
 */
static void test_links(void **state)
{
	static const char *const bad_accept[][2] = {
		{ "db:5432", "expected sandbox:NAME:PORTS[/PROTO]" },
		{ "10.0.0.1:5432", "only a named sandbox can be accepted" },
		{ "sandbox:db", "a link needs its ports" },
		{ "sandbox:*:5432", "not a wildcard" },
		{ "sandbox:host:22", "not a group of addresses" },
	};
	struct errlist el = { 0 };
	struct policy p, q;
	size_t i;

	policy_init(&p);
	assert_int_equal(load(&p, &el, link_policy), 0);
	assert_int_equal(p.nrules, 1);
	assert_int_equal(p.rules[0].kind, TARGET_SANDBOX);
	assert_string_equal(policy_link_peer(&p.rules[0]), "db");
	assert_true(policy_link_port(&p.rules[0], IPPROTO_TCP, 5432));
	assert_false(policy_link_port(&p.rules[0], IPPROTO_UDP, 5432));
	assert_false(policy_link_port(&p.rules[0], IPPROTO_TCP, 5433));
	assert_int_equal(p.naccept, 2);
	assert_string_equal(policy_link_peer(&p.accept[0]), "agent");
	assert_int_equal(p.accept[0].nports, 2);	/* merged: 8080, 9000-9001 */
	assert_true(policy_link_port(&p.accept[0], IPPROTO_UDP, 9001));
	assert_false(policy_link_port(&p.accept[1], IPPROTO_TCP, 8080));
	assert_int_equal(p.accept[1].loc.line, 12);
	assert_true(policy_has_links(&p));

	/* --allow sandbox:NAME:PORTS[/PROTO] */
	policy_init(&q);
	assert_int_equal(policy_parse_rule_arg(&q, "sandbox:my-db.1_x:6001,5432,6000/udp", true, "--allow", &el), 0);
	assert_int_equal(q.rules[0].kind, TARGET_SANDBOX);
	assert_string_equal(policy_link_peer(&q.rules[0]), "my-db.1_x");
	assert_int_equal(q.rules[0].proto, PROTO_UDP);
	assert_int_equal(q.rules[0].nports, 2);
	assert_true(policy_link_port(&q.rules[0], IPPROTO_UDP, 6001));
	policy_free(&q);

	/* --accept goes in front of the file's entries */
	policy_init(&q);
	assert_int_equal(policy_parse_accept_arg(&q, "sandbox:web:443/tcp", &el), 0);
	assert_int_equal(q.naccept, 1);
	assert_int_equal(q.nrules, 0);
	assert_int_equal(policy_prepend_accept(&p, q.accept, q.naccept), 0);
	assert_int_equal(p.naccept, 3);
	assert_string_equal(p.accept[0].domain, "sandbox:web");
	assert_string_equal(p.accept[0].loc.file, "--accept");
	assert_string_equal(p.accept[1].domain, "sandbox:agent");
	policy_free(&q);
	policy_free(&p);
	assert_int_equal(el.n, 0);

	for (i = 0; i < ARRAY_SIZE(bad_accept); i++) {
		char *src = xasprintf("--accept '%s'", bad_accept[i][0]);

		policy_init(&p);
		if (policy_parse_accept_arg(&p, bad_accept[i][0], &el) != -1 ||
		    !has_error(&el, src, 0, 0, bad_accept[i][1])) {
			fprintf(stderr, "'%s': expected '%s', got:\n",
				bad_accept[i][0], bad_accept[i][1]);
			dump_errors(&el);
			fail();
		}
		assert_int_equal(p.naccept, 0);
		policy_free(&p);
		free(src);
		errlist_free(&el);
	}

	/* no link: nothing to maintain */
	policy_init(&p);
	assert_int_equal(load(&p, &el, "version: 1\negress:\n  rules: [{allow: db.example, ports: [5432]}]\n"), 0);
	assert_false(policy_has_links(&p));
	policy_free(&p);
	errlist_free(&el);
}

/**
 * test_fixpoint() - the normalised print loads again and prints the same
 * @state:	unused
 */
static void test_fixpoint(void **state)
{
	static const char *const policies[] = {
		"version: 1\n",
		full_policy,
		"version: 1\nnetwork: none\n",
		"version: 1\nnetwork: restricted\ningress: {publish: [\"9000:9000/udp\"]}\n",
		"version: 1\negress:\n  default: allow\n  rules:\n"
		"    - deny: metadata\n    - deny: private\n      ports: [1, \"3-4\", 2, 65535]\n",
		"version: 1\ndns:\n  records: {db: 1.2.3.4, null.example: [\"::1\", 127.0.0.1]}\n"
		"  block: [\"*.x.example\", \"_dmarc.example\"]\n",
		"version: 1\nlimits: {bandwidth: 12345bit, connections: 1}\n",
		"version: 1\nlimits: {bandwidth: 3mbps}\n",
		"version: 1\nlimits: {bandwidth: 1.5gbit}\n",
		link_policy,
	};
	char *out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(policies); i++)
		free(fixpoint(policies[i]));

	out = fixpoint(full_policy);
	assert_non_null(strstr(out,
		"  default: deny\n"
		"  rules:\n"
		"    - allow: github.com\n"
		"      ports: [443]\n"
		"      protocol: any\n"
		"    - allow: \"*.githubusercontent.com\"\n"
		"      ports: [443]\n"
		"      protocol: any\n"
		"    - allow: 140.82.112.0/20\n"
		"      ports: [22]\n"
		"      protocol: tcp\n"
		"    - deny: metadata\n"
		"      protocol: any\n"
		"    - allow: host\n"
		"      ports: [\"8000-8101\", 11434]\n"
		"      protocol: any\n"
		"    - allow: \"2001:db8::/32\"\n"
		"      protocol: icmp\n"));
	assert_non_null(strstr(out,
		"  publish:\n"
		"    - \"127.0.0.1:8080:3000/tcp\"\n"
		"    - \"0.0.0.0:5353:53/udp\"\n"
		"    - \"[::1]:8443:443/tcp\"\n"
		"  allow_from:\n"
		"    - 10.0.0.0/24\n"
		"    - \"fd00::/8\"\n"));
	assert_non_null(strstr(out,
		"  rebind_protection: false\n"
		"  block:\n"
		"    - \"*.tracker.example\"\n"
		"    - ads.example\n"
		"  records:\n"
		"    db.internal: 10.0.0.5\n"
		"    both.internal: [10.0.0.6, \"fd00::6\"]\n"
		"  upstream:\n"
		"    - 1.1.1.1\n"
		"    - \"2606:4700:4700::1111\"\n"
		"  ttl:\n"
		"    min: 0\n"
		"    max: 86400\n"
		"limits:\n"
		"  bandwidth: 100mbit\n"
		"  connections: 1024\n"
		"  flows: 2048\n"));
	free(out);

	out = fixpoint(link_policy);
	assert_non_null(strstr(out,
		"    - allow: \"sandbox:db\"\n"
		"      ports: [5432]\n"
		"      protocol: tcp\n"));
	assert_non_null(strstr(out,
		"  accept:\n"
		"    - from: \"sandbox:agent\"\n"
		"      ports: [8080, \"9000-9001\"]\n"
		"      protocol: any\n"
		"    - from: \"sandbox:cron\"\n"
		"      ports: [8080]\n"
		"      protocol: udp\n"));
	free(out);

	out = fixpoint("version: 1\ndns:\n  records: {null: 1.2.3.4}\n");
	assert_non_null(strstr(out, "    \"null\": 1.2.3.4\n"));
	free(out);
	out = fixpoint("version: 1\nlimits: {bandwidth: 3mbps}\n");
	assert_non_null(strstr(out, "  bandwidth: 24mbit\n"));
	free(out);
}

/**
 * test_prepend() - command-line rules come first, deep-copied
 * @state:	unused
 */
static void test_prepend(void **state)
{
	struct errlist el = { 0 };
	struct policy cli, p;

	policy_init(&cli);
	assert_int_equal(policy_parse_rule_arg(&cli, "a.example:443", true,
					       "--allow", &el), 0);
	assert_int_equal(policy_parse_rule_arg(&cli, "metadata", false,
					       "--deny", &el), 0);

	policy_init(&p);
	assert_int_equal(load(&p, &el, R
			      "    - allow: b.example\n"
			      "      ports: [80]\n"
			      "    - deny: private\n"), 0);
	assert_int_equal(policy_prepend_rules(&p, cli.rules, cli.nrules), 0);
	policy_free(&cli);	/* the copies own their ports and names */

	assert_int_equal(p.nrules, 4);
	assert_string_equal(p.rules[0].domain, "a.example");
	assert_int_equal(p.rules[0].ports[0].lo, 443);
	assert_string_equal(p.rules[0].loc.file, "--allow");
	assert_int_equal(p.rules[1].group, GROUP_METADATA);
	assert_false(p.rules[1].allow);
	assert_string_equal(p.rules[1].loc.file, "--deny");
	assert_string_equal(p.rules[2].domain, "b.example");
	assert_string_equal(p.rules[2].loc.file, "t.yaml");
	assert_int_equal(p.rules[2].loc.line, 4);
	assert_int_equal(p.rules[3].group, GROUP_PRIVATE);

	assert_int_equal(policy_prepend_rules(&p, NULL, 0), 0);
	assert_int_equal(p.nrules, 4);
	policy_free(&p);

	/* into an empty policy */
	policy_init(&cli);
	policy_init(&p);
	assert_int_equal(policy_parse_rule_arg(&cli, "1.2.3.4:1,2", true,
					       "--allow", &el), 0);
	assert_int_equal(policy_prepend_rules(&p, cli.rules, cli.nrules), 0);
	policy_free(&cli);
	assert_int_equal(p.nrules, 1);
	assert_int_equal(p.rules[0].nports, 1);
	assert_int_equal(p.rules[0].ports[0].hi, 2);
	policy_free(&p);
	assert_int_equal(el.n, 0);
}

/**
 * test_check_supported() - what this version refuses, where, and why
 * @state:	unused
 */
static void test_check_supported(void **state)
{
	struct errlist el = { 0 };
	struct policy p;

	policy_init(&p);
	assert_int_equal(load(&p, &el,
			      "version: 1\n"
			      "egress:\n"
			      "  rules:\n"
			      "    - allow: github.com\n"
			      "    - allow: 10.0.0.0/8\n"
			      "    - deny: \"*.x.example\"\n"
			      "dns:\n"
			      "  block: [a.example]\n"
			      "  records: {b.example: 1.2.3.4}\n"
			      "  upstream: [1.1.1.1]\n"
			      "limits:\n"
			      "  bandwidth: 1gbit\n"), 0);
	assert_int_equal(policy_parse_rule_arg(&p, "c.example", true, "--allow",
					       &el), 0);
	/* domain rules, the dns section and limits are all enforced */
	assert_int_equal(policy_check_supported(&p, &el), 0);
	assert_int_equal(el.n, 0);
	policy_free(&p);
	errlist_free(&el);

	/* everything else is supported */
	policy_init(&p);
	assert_int_equal(load(&p, &el,
			      "version: 1\n"
			      "network: filtered\n"
			      "egress: {default: deny, rules: [{allow: host, ports: [11434]}]}\n"
			      "ingress: {publish: [\"8080:80\"], allow_from: [10.0.0.0/8]}\n"
			      "dns: {rebind_protection: false, block: [], records: {}, upstream: [], ttl: {min: 1, max: 2}}\n"
			      "limits: {bandwidth: 2mbit, connections: 10}\n"), 0);
	assert_int_equal(policy_check_supported(&p, &el), 0);
	assert_int_equal(el.n, 0);
	policy_free(&p);

	/* more upstreams than the interceptor uses */
	policy_init(&p);
	assert_int_equal(load(&p, &el,
			      "version: 1\n"
			      "dns: {upstream: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, 1.1.1.6, 1.1.1.7, 1.1.1.8, 1.1.1.9]}\n"), 0);
	assert_int_equal(policy_check_supported(&p, &el), -1);
	assert_true(has_error(&el, "t.yaml", 2, 17, "dns.upstream: 9 resolvers, the DNS interceptor uses at most 8"));
	policy_free(&p);
	errlist_free(&el);
}

/**
 * test_json() - policy_to_json() has the fields of the YAML
 * @state:	unused
 */
static void test_json(void **state)
{
	struct errlist el = { 0 };
	json_t *o, *rules, *r, *ports;
	struct policy p;
	char *s;

	policy_init(&p);
	assert_int_equal(load(&p, &el, full_policy), 0);
	o = policy_to_json(&p);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "network")),
			    "filtered");
	rules = json_object_get(json_object_get(o, "egress"), "rules");
	assert_int_equal(json_array_size(rules), 7);
	r = json_array_get(rules, 0);
	assert_string_equal(json_string_value(json_object_get(r, "allow")),
			    "github.com");
	assert_string_equal(json_string_value(json_object_get(r, "protocol")),
			    "any");
	r = json_array_get(rules, 3);
	assert_string_equal(json_string_value(json_object_get(r, "deny")),
			    "metadata");
	assert_null(json_object_get(r, "ports"));
	ports = json_object_get(json_array_get(rules, 4), "ports");
	assert_string_equal(json_string_value(json_array_get(ports, 0)),
			    "8000-8101");
	assert_int_equal(json_integer_value(json_array_get(ports, 1)), 11434);
	s = json_dumps(json_object_get(o, "dns"), JSON_COMPACT);
	assert_string_equal(s,
		"{\"rebind_protection\":false,"
		"\"block\":[\"*.tracker.example\",\"ads.example\"],"
		"\"records\":{\"db.internal\":\"10.0.0.5\",\"both.internal\":[\"10.0.0.6\",\"fd00::6\"]},"
		"\"upstream\":[\"1.1.1.1\",\"2606:4700:4700::1111\"],"
		"\"ttl\":{\"min\":0,\"max\":86400}}");
	free(s);
	s = json_dumps(json_object_get(o, "ingress"), JSON_COMPACT);
	assert_string_equal(s,
		"{\"publish\":[\"127.0.0.1:8080:3000/tcp\",\"0.0.0.0:5353:53/udp\",\"[::1]:8443:443/tcp\"],"
		"\"allow_from\":[\"10.0.0.0/24\",\"fd00::/8\"],\"accept\":[]}");
	free(s);
	s = json_dumps(json_object_get(o, "limits"), JSON_COMPACT);
	assert_string_equal(s, "{\"bandwidth\":\"100mbit\",\"connections\":1024,\"flows\":2048}");
	free(s);
	json_decref(o);
	policy_free(&p);
}

/**
 * test_load_file() - files: read, errors named after the path
 * @state:	unused
 */
static void test_load_file(void **state)
{
	char path[] = "/tmp/moat-test-policy-XXXXXX";
	struct errlist el = { 0 };
	struct policy p;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("version: 1\negress:\n  default: deny\n", f);
	fclose(f);

	policy_init(&p);
	assert_int_equal(policy_load_file(&p, path, &el), 0);
	assert_int_equal(p.egress_default, EGRESS_DENY);
	policy_free(&p);

	f = fopen(path, "w");
	fputs("version: 1\negress:\n  default: nope\n", f);
	fclose(f);
	assert_int_equal(policy_load_file(&p, path, &el), -1);
	assert_true(has_error(&el, path, 3, 12, "unknown value 'nope'"));
	errlist_free(&el);
	unlink(path);

	assert_int_equal(policy_load_file(&p, path, &el), -1);
	assert_true(has_error(&el, path, 0, 0, "cannot read"));
	errlist_free(&el);
	assert_int_equal(policy_load_file(&p, "/tmp", &el), -1);
	assert_int_equal(el.n, 1);
	errlist_free(&el);
	policy_free(&p);
}

/**
 * test_names() - names of enums, as written in a policy
 * @state:	unused
 */
static void test_names(void **state)
{
	assert_string_equal(net_mode_name(NET_FILTERED), "filtered");
	assert_string_equal(net_mode_name(NET_RESTRICTED), "restricted");
	assert_string_equal(net_mode_name(NET_NONE), "none");
	assert_string_equal(egress_default_name(EGRESS_PUBLIC), "public");
	assert_string_equal(egress_default_name(EGRESS_DENY), "deny");
	assert_string_equal(egress_default_name(EGRESS_ALLOW), "allow");
	assert_string_equal(proto_name(PROTO_ANY), "any");
	assert_string_equal(proto_name(PROTO_TCP), "tcp");
	assert_string_equal(proto_name(PROTO_UDP), "udp");
	assert_string_equal(proto_name(PROTO_ICMP), "icmp");
}

/**
 * lint() - load a policy and collect its warnings
 * @el:		error list, receives the warnings
 * @yaml:	text, which must load
 *
 * Return: number of warnings
 */
static int lint(struct errlist *el, const char *yaml)
{
	struct policy p;
	int n;

	policy_init(&p);
	if (load(&p, el, yaml)) {
		dump_errors(el);
		fail_msg("policy refused");
	}
	n = policy_lint(&p, el);
	policy_free(&p);
	return n;
}

/**
 * test_lint() - warnings for policies that cannot work as written
 * @state:	unused
 */
static void test_lint(void **state)
{
	struct errlist el = { 0 };

	/* default deny with address rules only: no name resolves */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  default: deny\n"
			      "  rules:\n"
			      "    - allow: 140.82.112.0/20\n"
			      "      ports: [443]\n"), 1);
	assert_true(has_error(&el, "t.yaml", 3, 12, "warning: egress.default is deny and no rule allows a domain name: every DNS lookup is answered NXDOMAIN"));
	errlist_free(&el);

	/* ...not with a domain allow rule, nor for the host only */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  default: deny\n"
			      "  rules:\n"
			      "    - allow: 140.82.112.0/20\n"
			      "    - allow: github.com\n"), 0);
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress: {default: deny, rules: [{allow: host, ports: [11434]}]}\n"), 0);
	assert_int_equal(el.n, 0);

	/* shadowed: CIDR inside CIDR, ports and protocol covered */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  rules:\n"
			      "    - deny: 10.0.0.0/8\n"
			      "    - allow: 10.1.2.3\n"
			      "      ports: [5432]\n"
			      "      protocol: tcp\n"
			      "    - allow: 10.0.0.0/8\n"), 2);
	assert_true(has_error(&el, "t.yaml", 5, 14, "warning: rule 2 (allow 10.1.2.3) is shadowed by rule 1 at t.yaml:4 (deny 10.0.0.0/8)"));
	assert_true(has_error(&el, "t.yaml", 8, 14, "warning: rule 3 (allow 10.0.0.0/8) is shadowed by rule 1 at t.yaml:4"));
	errlist_free(&el);

	/* duplicates, after normalisation */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  rules:\n"
			      "    - allow: GitHub.com.\n"
			      "      ports: [443, 22]\n"
			      "    - allow: github.com\n"
			      "      ports: [22, 443]\n"), 1);
	assert_true(has_error(&el, "t.yaml", 6, 14, "warning: rule 2 (allow github.com) duplicates rule 1 at t.yaml:4"));
	errlist_free(&el);

	/* a wildcard covers a subdomain, not the apex; groups cover exactly */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  default: allow\n"
			      "  rules:\n"
			      "    - deny: \"*.example.com\"\n"
			      "    - allow: a.example.com\n"
			      "    - allow: example.com\n"
			      "    - deny: private\n"
			      "    - allow: 192.168.1.0/24\n"
			      "    - deny: link-local\n"
			      "    - allow: 169.254.169.254\n"
			      "    - allow: 169.254.0.0/16\n"
			      "    - deny: metadata\n"), 2);
	assert_true(has_error(&el, "t.yaml", 6, 14, "rule 2 (allow a.example.com) is shadowed by rule 1"));
	assert_true(has_error(&el, "t.yaml", 9, 14, "rule 5 (allow 192.168.1.0/24) is shadowed by rule 4"));
	/* 169.254.169.254 is metadata, so link-local is not all of 169.254/16 */
	errlist_free(&el);

	/* not shadowed: fewer ports, another protocol, a wider prefix */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "egress:\n"
			      "  rules:\n"
			      "    - deny: 10.0.0.0/8\n"
			      "      ports: [22]\n"
			      "    - allow: 10.0.0.0/8\n"
			      "    - deny: 1.1.1.1\n"
			      "      protocol: udp\n"
			      "    - allow: 1.1.1.1\n"
			      "      protocol: tcp\n"
			      "    - allow: 1.1.1.0/24\n"
			      "    - deny: private\n"
			      "    - allow: 172.0.0.0/8\n"), 0);

	/* rules that a network mode never uses */
	assert_int_equal(lint(&el,
			      "version: 1\n"
			      "network: restricted\n"
			      "egress: {rules: [{allow: 1.1.1.1}]}\n"), 1);
	assert_true(has_error(&el, "t.yaml", 3, 26, "warning: network restricted sends nothing out"));
	errlist_free(&el);

	/* command-line rules: the option is the origin */
	{
		struct policy p;

		policy_init(&p);
		assert_int_equal(policy_parse_rule_arg(&p, "10.0.0.0/8", false, "--deny", &el), 0);
		assert_int_equal(policy_parse_rule_arg(&p, "10.1.1.1:22/tcp", true, "--allow", &el), 0);
		assert_int_equal(policy_lint(&p, &el), 1);
		assert_string_equal(el.recs[0].file, "--allow");
		assert_string_equal(el.recs[0].msg, "warning: rule 2 (allow 10.1.1.1) is shadowed by rule 1 at --deny (deny 10.0.0.0/8), which matches everything it would: it never decides anything");
		policy_free(&p);
		errlist_free(&el);
	}
}

/**
 * test_lint_examples() - the shipped examples load and have no warnings
 * @state:	unused
 */
static void test_lint_examples(void **state)
{
	static const char *const ex[] = {
		"agent-github", "allow-all-but-local", "deny-all-but-host-model",
		"dev-server", "offline", "reference", "restricted-web-app",
	};
	struct errlist el = { 0 };
	struct policy p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ex); i++) {
		char *path = xasprintf("%s/examples/%s.yaml", MOAT_SRCDIR, ex[i]);

		policy_init(&p);
		if (policy_load_file(&p, path, &el) ||
		    policy_check_supported(&p, &el) || policy_lint(&p, &el)) {
			dump_errors(&el);
			fail_msg("%s", path);
		}
		policy_free(&p);
		free(path);
	}
}

/**
 * decide() - run "policy test" on a policy text and one destination
 * @yaml:	policy
 * @dest:	DEST[:PORT][/PROTO]
 * @out:	set to the explanation, to be freed
 *
 * Return: 1 if allowed, 0 if denied
 */
static int decide(const char *yaml, const char *dest, char **out)
{
	struct prefix pools[2];
	struct errlist el = { 0 };
	struct ptest_dest d;
	struct policy p;
	size_t len = 0;
	FILE *f;
	int ok;

	assert_int_equal(prefix_parse("10.231.0.0/16", &pools[0], true), 0);
	assert_int_equal(prefix_parse("fd6d:6f61:7400::/48", &pools[1], true), 0);
	policy_init(&p);
	if (load(&p, &el, yaml) || ptest_parse_dest(dest, &d, &el)) {
		dump_errors(&el);
		fail_msg("'%s' refused", dest);
	}
	f = open_memstream(out, &len);
	assert_non_null(f);
	ok = ptest_decide(&p, &d, pools, 2, f);
	fclose(f);
	policy_free(&p);
	return ok;
}

/**
 * expect() - assert a verdict and a part of its explanation
 * @yaml:	policy
 * @dest:	destination
 * @allowed:	expected verdict
 * @sub:	expected part of the explanation
 */
static void expect(const char *yaml, const char *dest, int allowed,
		   const char *sub)
{
	char *out = NULL;
	int ok = decide(yaml, dest, &out);

	if (ok != allowed || !strstr(out, sub))
		fail_msg("%s: expected %s and '%s', got:\n%s", dest,
			 allowed ? "allowed" : "denied", sub, out);
	free(out);
}

/**
 * test_policy_test() - verdicts, deciding rules and paths of "policy test"
 * @state:	unused
 */
static void test_policy_test(void **state)
{
	static const char *const gh =
		"version: 1\n"
		"egress:\n"
		"  default: deny\n"
		"  rules:\n"
		"    - deny: gist.github.com\n"
		"    - allow: github.com\n"
		"      ports: [22, 443]\n"
		"      protocol: tcp\n"
		"    - allow: \"*.github.com\"\n"
		"      ports: [443]\n"
		"    - allow: 192.0.2.0/24\n"
		"      ports: [8080]\n"
		"    - allow: host\n"
		"      ports: [11434]\n"
		"dns:\n"
		"  records: {db.internal: 192.0.2.7}\n"
		"  block: [ads.github.com]\n";
	static const char *const pub =
		"version: 1\n"
		"egress:\n"
		"  rules:\n"
		"    - deny: 10.0.0.0/8\n"
		"      ports: [22]\n";
	struct errlist el = { 0 };
	struct ptest_dest d;
	char *out = NULL;

	expect(gh, "github.com:443", 1, "verdict: allowed\nrule: 2 at t.yaml:6:14: allow github.com ports 22,443 tcp\n");
	expect(gh, "github.com", 1, "path: proxy: TCP 443");
	expect(gh, "github.com:22", 1, "rule: 2 at t.yaml:6:14");
	expect(gh, "github.com:80", 0, "rule: egress.default deny at t.yaml:3:12");
	expect(gh, "api.github.com:443", 1, "rule: 3 at t.yaml:9:14");
	expect(gh, "gist.github.com:443", 0, "path: dns: NXDOMAIN (denied by rule 1)");
	expect(gh, "ads.github.com", 0, "path: dns: NXDOMAIN (dns.block ads.github.com)");
	expect(gh, "example.com", 0, "path: dns: NXDOMAIN (no allow rule matches this name");
	expect(gh, "db.internal:8080", 1, "rule: 4 at t.yaml:11:14");
	expect("version: 1\negress: {rules: [{allow: x.example}]}\ndns: {records: {x.example: 192.0.2.7}}\n",
	       "x.example:443", 0, "a dns.records answer is not pinned");
	expect("version: 1\negress: {rules: [{allow: x.example}]}\ndns: {records: {x.example: 1.1.1.1}}\n",
	       "x.example:8080", 1, "egress.default public");
	expect(gh, "192.0.2.9:8080", 1, "path: kernel: forward chain, rule 4");
	expect(gh, "192.0.2.9:8081", 0, "egress.default deny");
	expect(gh, "host:11434", 1, "path: kernel: input chain, rule 5");
	expect(gh, "host:22", 0, "I2");
	expect(gh, "github.com:443/udp", 0, "QUIC");
	expect(gh, "8.8.8.8:53/udp", 0, "I4");
	expect(pub, "10.1.1.1:22", 0, "rule: 1 at t.yaml:4:13");
	expect(pub, "10.1.1.1:80", 0, "egress.default public");
	expect(pub, "1.1.1.1:80", 1, "egress.default public");
	expect(pub, "[2606:4700::1111]:443", 1, "egress.default public");
	expect(pub, "example.com", 1, "path: dns: forwarded upstream");
	expect(pub, "1.1.1.1/icmp", 1, "egress.default public");
	expect("version: 1\nnetwork: none\n", "1.1.1.1:80", 0, "network none");
	expect("version: 1\negress: {default: allow}\n", "10.231.0.9:80", 0, "I1");
	expect("version: 1\negress: {default: allow}\n", "[fd6d:6f61:7400:9::2]:80", 0, "I1");
	expect("version: 1\negress: {default: allow}\n", "[::ffff:10.231.0.9]:80", 0, "I1");
	expect("version: 1\negress: {default: allow}\n", "10.232.0.9:80", 1, "egress.default allow");
	expect("version: 1\negress: {default: allow}\n", "127.0.0.1:80", 0, "I2 (martian loopback");
	expect("version: 1\negress: {default: allow}\n", "host:80", 0, "I2");

	/* DEST syntax */
	assert_int_equal(ptest_parse_dest("github.com", &d, &el), 0);
	assert_int_equal(d.kind, PTEST_NAME);
	assert_int_equal(d.port, 443);
	assert_int_equal(d.proto, PROTO_TCP);
	assert_int_equal(ptest_parse_dest("[2001:db8::1]:53/udp", &d, &el), 0);
	assert_int_equal(d.kind, PTEST_ADDR);
	assert_int_equal(d.port, 53);
	assert_int_equal(d.proto, PROTO_UDP);
	assert_int_equal(el.n, 0);
	assert_int_equal(ptest_parse_dest("10.0.0.0/8", &d, &el), -1);
	assert_int_equal(ptest_parse_dest("x.com:80,443", &d, &el), -1);
	assert_int_equal(ptest_parse_dest("*.x.com", &d, &el), -1);
	assert_int_equal(ptest_parse_dest("private", &d, &el), -1);
	assert_int_equal(ptest_parse_dest("2001:db8::1:443", &d, &el), -1);
	errlist_free(&el);
	(void)out;
}

/**
 * test_secrets() - the secrets section: loaded, normalised, printed (YAML
 * and JSON) and read back the same; who may receive a secret, what is
 * intercepted
 * @state:	unused
 */
static void test_secrets(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"secrets:\n"
		"  - name: API_KEY\n"
		"    from_env: MY_API_KEY\n"
		"    hosts: [API.Example.com., '*.example.org']\n"
		"    replace_in: [body, headers, query]\n"
		"  - name: gh\n"
		"    from_file: \"/etc/moat/gh.token\"\n"
		"    hosts: [api.github.com]\n"
		"    set: 'Authorization:   Bearer {secret}'\n"
		"  - name: plain\n"
		"    from_env: PLAIN\n"
		"    hosts: [b.test]\n"
		"intercept: [other.test, '*.corp.test']\n";
	struct errlist el = { 0 };
	autofree char *text = NULL;
	struct policy p;
	json_t *j, *s;
	char *dump;

	policy_init(&p);
	if (load(&p, &el, yaml))
		dump_errors(&el);
	assert_int_equal(el.n, 0);
	assert_int_equal(p.nsecrets, 3);
	assert_string_equal(p.secrets[0].name, "API_KEY");
	assert_true(p.secrets[0].from_env);
	assert_string_equal(p.secrets[0].source, "MY_API_KEY");
	assert_int_equal(p.secrets[0].nhosts, 2);
	assert_string_equal(p.secrets[0].hosts[0], "api.example.com");
	assert_int_equal(p.secrets[0].replace_in,
			 SECRET_IN_HEADERS | SECRET_IN_QUERY | SECRET_IN_BODY);
	assert_null(p.secrets[0].set_header);
	assert_false(p.secrets[1].from_env);
	assert_string_equal(p.secrets[1].source, "/etc/moat/gh.token");
	assert_string_equal(p.secrets[1].set_header, "Authorization");
	assert_string_equal(p.secrets[1].set_value, "Bearer {secret}");
	assert_int_equal(p.secrets[1].replace_in, 0);
	assert_int_equal(p.secrets[2].replace_in, SECRET_IN_HEADERS);
	assert_int_equal(p.secrets[0].loc.line, 3);
	assert_int_equal(p.secrets[0].loc.col, 5);

	assert_true(policy_secret_for(&p.secrets[0], "api.example.com"));
	assert_true(policy_secret_for(&p.secrets[0], "a.b.example.org"));
	assert_false(policy_secret_for(&p.secrets[0], "example.org"));
	assert_false(policy_secret_for(&p.secrets[0], "api.github.com"));
	assert_false(policy_secret_for(&p.secrets[0], "evilapi.example.com"));
	assert_true(policy_intercepts(&p, "api.github.com"));
	assert_true(policy_intercepts(&p, "other.test"));
	assert_true(policy_intercepts(&p, "x.corp.test"));
	assert_false(policy_intercepts(&p, "corp.test"));
	assert_false(policy_intercepts(&p, "example.com"));

	text = fixpoint(yaml);
	assert_non_null(strstr(text,
		"secrets:\n"
		"  - name: \"API_KEY\"\n"
		"    from_env: \"MY_API_KEY\"\n"
		"    hosts:\n"
		"      - api.example.com\n"
		"      - \"*.example.org\"\n"
		"    replace_in: [headers, query, body]\n"
		"  - name: gh\n"
		"    from_file: \"/etc/moat/gh.token\"\n"
		"    hosts:\n"
		"      - api.github.com\n"
		"    set: \"Authorization: Bearer {secret}\"\n"
		"  - name: plain\n"
		"    from_env: \"PLAIN\"\n"
		"    hosts:\n"
		"      - b.test\n"
		"    replace_in: [headers]\n"
		"intercept:\n"
		"  - other.test\n"
		"  - \"*.corp.test\"\n"));

	j = policy_to_json(&p);
	s = json_array_get(json_object_get(j, "secrets"), 1);
	assert_string_equal(json_string_value(json_object_get(s, "set")),
			    "Authorization: Bearer {secret}");
	assert_string_equal(json_string_value(json_object_get(s, "from_file")),
			    "/etc/moat/gh.token");
	dump = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(dump, "\"intercept\":[\"other.test\",\"*.corp.test\"]"));
	assert_non_null(strstr(dump, "\"replace_in\":[\"headers\",\"query\",\"body\"]"));
	free(dump);
	json_decref(j);
	policy_free(&p);
	errlist_free(&el);
}

/**
 * test_secrets_lint() - a secret whose host no rule lets HTTPS reach is
 * warned about, at the secret; an address rule on 443 silences it
 * @state:	unused
 */
static void test_secrets_lint(void **state)
{
	static const char base[] =
		"version: 1\n"
		"egress:\n"
		"  default: deny\n"
		"  rules:\n"
		"    - allow: \"*.example.com\"\n"
		"      ports: [443]\n"
		"%s"
		"secrets:\n"
		"  - name: A\n"
		"    from_env: A\n"
		"    hosts: [api.example.com, api.other.com]\n";
	struct errlist el = { 0 };
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), base, "");
	assert_int_equal(lint(&el, yaml), 1);
	assert_true(has_error(&el, "t.yaml", 8, 5, "secret A: no rule allows its host 'api.other.com' on TCP 443"));
	errlist_free(&el);
	snprintf(yaml, sizeof(yaml), base,
		 "    - allow: 203.0.113.0/24\n      ports: [443]\n");
	assert_int_equal(lint(&el, yaml), 0);
	errlist_free(&el);
}

/**
 * test_bandwidth_range() - rates tc cannot shape are refused at their place
 * @state:	unused
 */
static void test_bandwidth_range(void **state)
{
	struct errlist el = { 0 };
	struct policy p;

	policy_init(&p);
	assert_int_equal(load(&p, &el, "version: 1\nlimits: {bandwidth: 20gbit}\n"), 0);
	assert_int_equal(policy_check_supported(&p, &el), -1);
	assert_true(has_error(&el, "t.yaml", 2, 21, "limits.bandwidth: 20000000000 bit/s is beyond what tc can shape"));
	policy_free(&p);
	errlist_free(&el);
	assert_int_equal(load(&p, &el, "version: 1\nlimits: {bandwidth: 17gbit}\n"), 0);
	assert_int_equal(policy_check_supported(&p, &el), 0);
	policy_free(&p);
	assert_int_equal(load(&p, &el, "version: 1\nlimits: {bandwidth: 7bit}\n"), 0);
	assert_int_equal(policy_check_supported(&p, &el), -1);
	policy_free(&p);
	errlist_free(&el);
}

/**
 * main() - run the tests
 *
 * Return: number of failed tests
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_failure_frees),
		cmocka_unit_test(test_full_policy),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_domain_rules),
		cmocka_unit_test(test_rule_args_good),
		cmocka_unit_test(test_rule_args_bad),
		cmocka_unit_test(test_rule_arg_message),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_fixpoint),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_prepend),
		cmocka_unit_test(test_check_supported),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_lint_examples),
		cmocka_unit_test(test_policy_test),
		cmocka_unit_test(test_bandwidth_range),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secrets_lint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
