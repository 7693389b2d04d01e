// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy.c - the policy model (SPEC §5): strict YAML loader, command-line
 * rules, published ports, rates, domain names and the normalised printers
 *
 * Theory of operation
 * ===================
 *
 * Loading is two passes over a small tree of our own.
 *
 * First, libyaml's event parser is turned into a tree of struct ynode, each
 * node carrying the 1-based line and column of its first character. The
 * event API, rather than libyaml's document loader, lets us refuse anchors,
 * aliases and tags where they appear (the document loader silently shares
 * aliased nodes, which is how "billion laughs" documents explode), stop at a
 * second document, and bound the nesting depth so that nothing afterwards
 * needs an unbounded recursion. A syntax error ends this pass: libyaml
 * cannot resynchronise, and its problem mark is the error reported.
 *
 * Second, the tree is checked and converted. A generic walk refuses
 * non-scalar and duplicate keys in every map, at any level, known or not.
 * Then one function per section of the format reads the keys it knows,
 * reports every other key, and converts values with small, strict helpers
 * (integers are decimal and plain, booleans are exactly true or false).
 * Every problem becomes one record in the caller's struct errlist and the
 * walk goes on, so that one run reports as many mistakes as possible. The
 * result is built in a private struct policy that replaces the caller's
 * only if no error at all was found: nothing is ever half applied.
 *
 * The parsers for a rule target, a port list, a protocol, a published port
 * and a rate are shared by the YAML loader and the command line, and report
 * through a struct where, which carries either a file position or a
 * pseudo-source such as "--allow 'x:99999'".
 *
 * The loader accepts everything the format describes, including what this
 * version cannot enforce (more DNS upstreams than the interceptor uses):
 * policy_check_supported() refuses that
 * separately, at the place they were written, so that nothing a policy
 * asks for is ever silently ignored, and later versions only relax that
 * one function.
 *
 * A policy that loads can still not work as written: policy_lint() adds
 * warnings, located like errors ("warning: ..."), for a rule an earlier
 * one shadows, a duplicate, default deny with internet addresses but no
 * name allowed (nothing resolves), and egress rules a network mode never
 * uses. Warnings never stop a policy; "moat policy check" prints them.
 *
 * The printers write the normalised policy, every key explicit and in a
 * fixed order, as YAML the loader accepts again (load(print(p)) prints the
 * same text) and as a JSON object with the same field names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <idn2.h>
#include <yaml.h>

#include "policy.h"

#define YAML_DEPTH_MAX		16		/* the format needs 5 */
#define DOMAIN_INPUT_MAX	1024		/* bytes of UTF-8 input */
#define RATE_MAX		10000000000000ULL	/* 10 Tbit/s */
#define TTL_LIMIT		86400
#define LIST_MAX		16384		/* per list or map */

/* Names, in enum order */
static const char *const net_mode_names[] = {
	[NET_FILTERED] = "filtered",
	[NET_RESTRICTED] = "restricted",
	[NET_NONE] = "none",
};

static const char *const egress_default_names[] = {
	[EGRESS_PUBLIC] = "public",
	[EGRESS_DENY] = "deny",
	[EGRESS_ALLOW] = "allow",
};

static const char *const proto_names[] = {
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
	if ((unsigned)m >= ARRAY_SIZE(net_mode_names))
		return "?";
	return net_mode_names[m];
}

/**
 * egress_default_name() - name of an egress default, as written in a policy
 * @d:		default
 *
 * Return: "public", "deny" or "allow"
 */
const char *egress_default_name(enum egress_default d)
{
	if ((unsigned)d >= ARRAY_SIZE(egress_default_names))
		return "?";
	return egress_default_names[d];
}

/**
 * proto_name() - name of a protocol, as written in a policy
 * @pr:		protocol
 *
 * Return: "any", "tcp", "udp" or "icmp"
 */
const char *proto_name(enum proto pr)
{
	if ((unsigned)pr >= ARRAY_SIZE(proto_names))
		return "?";
	return proto_names[pr];
}

/**
 * name_lookup() - find a string in a table of names
 * @names:	table, indexed by enum value
 * @n:		entries in @names
 * @s:		string to look up
 *
 * Return: index, or -1 if @s is not in the table
 */
static int name_lookup(const char *const *names, size_t n, const char *s)
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
	free(p->publish);
	free(p->allow_from);
	free(p->dns_block);
	free(p->dns_records);
	free(p->dns_upstream);
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
static const char *policy_intern(struct policy *p, const char *s)
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
 * array_add() - grow an array by one zeroed member
 * @arr:	address of the array pointer
 * @n:		address of the member count, incremented
 * @size:	size of one member
 *
 * The arrays of struct policy may be grown by other code too, so no spare
 * capacity is assumed: each call reallocates to the exact size.
 *
 * Return: the new member
 */
static void *array_add(void *arr, size_t *n, size_t size)
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
 * Error reporting shared by the YAML loader and the command line
 */

/**
 * struct where - where the text being parsed came from
 * @el:		error list
 * @file:	file name or pseudo-source such as "--allow 'x'"
 * @line:	1-based line, 0 for command-line items
 * @col:	1-based column, 0 for command-line items
 */
struct where {
	struct errlist *el;
	const char *file;
	unsigned line;
	unsigned col;
};

static void werr(const struct where *w, const char *fmt, ...) PRINTF_FMT(2, 3);

/**
 * werr() - add an error record at a struct where
 * @w:		location
 * @fmt:	message format
 */
static void werr(const struct where *w, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	errlist_add(w->el, w->file, w->line, w->col, "%s", msg);
	free(msg);
}

/* ------------------------------------------------------------------------
 * Ports and protocols
 */

/**
 * parse_port() - parse one port number, decimal, 1..65535
 * @s:		text
 * @len:	length of the text
 * @port:	result
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int parse_port(const char *s, size_t len, uint16_t *port,
		      const struct where *w)
{
	unsigned long v = 0;
	size_t i;

	if (!len) {
		werr(w, "empty port");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			werr(w, "bad port '%.*s': not a decimal number",
			     (int)(len > 64 ? 64 : len), s);
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		werr(w, "port %.*s out of range 1-65535",
		     (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	if (s[0] == '0') {
		werr(w, "bad port '%.*s': leading zeros are not allowed",
		     (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/**
 * parse_port_range() - parse "PORT" or "LO-HI"
 * @s:		text
 * @len:	length of the text
 * @r:		result
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int parse_port_range(const char *s, size_t len, struct port_range *r,
			    const struct where *w)
{
	const char *dash = memchr(s, '-', len);
	int ret;

	if (!dash) {
		if (parse_port(s, len, &r->lo, w))
			return -1;
		r->hi = r->lo;
		return 0;
	}

	if (dash == s || dash == s + len - 1) {
		werr(w, "bad port range '%.*s' (expected LO-HI)",
		     (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	ret = parse_port(s, (size_t)(dash - s), &r->lo, w);
	ret |= parse_port(dash + 1, len - (size_t)(dash - s) - 1, &r->hi, w);
	if (ret)
		return -1;
	if (r->lo > r->hi) {
		werr(w, "reversed port range %u-%u (write %u-%u)",
		     r->lo, r->hi, r->hi, r->lo);
		return -1;
	}
	return 0;
}

/**
 * port_range_cmp() - qsort() comparison of port ranges by first port
 * @a:		first range
 * @b:		second range
 *
 * Return: <0, 0 or >0
 */
static int port_range_cmp(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/**
 * ports_normalise() - sort port ranges and merge overlapping or adjacent ones
 * @ports:	ranges, rewritten in place
 * @n:		number of ranges, updated
 */
static void ports_normalise(struct port_range *ports, size_t *n)
{
	size_t i, out = 0;

	if (!*n)
		return;
	qsort(ports, *n, sizeof(*ports), port_range_cmp);
	for (i = 1; i < *n; i++) {
		if ((unsigned)ports[i].lo <= (unsigned)ports[out].hi + 1) {
			if (ports[i].hi > ports[out].hi)
				ports[out].hi = ports[i].hi;
		} else {
			ports[++out] = ports[i];
		}
	}
	*n = out + 1;
}

/**
 * parse_proto() - parse a protocol name
 * @s:		text
 * @pr:		result
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int parse_proto(const char *s, enum proto *pr, const struct where *w)
{
	int i = name_lookup(proto_names, ARRAY_SIZE(proto_names), s);

	if (i < 0) {
		werr(w, "unknown protocol '%.64s' (expected tcp, udp, icmp or any)",
		     s);
		return -1;
	}
	*pr = (enum proto)i;
	return 0;
}

/* ------------------------------------------------------------------------
 * Domain names
 */

/**
 * domain_check_ascii() - check a lower-case ASCII name label by label
 * @name:	name without trailing dot and without wildcard
 * @why:	set to a static reason on failure
 *
 * Return: number of labels, or -1 on failure
 */
static int domain_check_ascii(const char *name, const char **why)
{
	const char *label = name, *p;
	int nlabels = 0;
	bool numeric = true;

	for (p = name; ; p++) {
		if (*p == '.' || !*p) {
			size_t len = (size_t)(p - label);

			if (!len) {
				*why = "empty label";
				return -1;
			}
			if (len > 63) {
				*why = "label longer than 63 characters";
				return -1;
			}
			if (label[0] == '-' || p[-1] == '-') {
				*why = "label starts or ends with '-'";
				return -1;
			}
			nlabels++;
			if (!*p)
				break;
			label = p + 1;
			numeric = true;
			continue;
		}
		if (*p == '*') {
			*why = "'*' is only allowed as the whole leftmost label, as in *.example.com";
			return -1;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_')) {
			*why = "invalid character (allowed: letters, digits, '-', '_')";
			return -1;
		}
		if (*p < '0' || *p > '9')
			numeric = false;
	}
	if (numeric) {
		*why = "the last label is numeric";
		return -1;
	}
	return nlabels;
}

/**
 * domain_check_alabels() - check that "xn--" labels are valid punycode
 * @name:	lower-case ASCII name, labels already checked
 * @why:	set to a static reason on failure
 *
 * Each label is checked on its own, so that a name mixing an A-label with
 * ASCII labels that IDNA would refuse but DNS allows ("a--b") still passes.
 *
 * Return: 0 if every A-label decodes and is valid, -1 if not
 */
static int domain_check_alabels(const char *name, const char **why)
{
	const char *label = name;
	char buf[64];

	while (*label) {
		size_t len = strcspn(label, ".");

		if (len >= 4 && !strncmp(label, "xn--", 4)) {
			uint8_t *out = NULL;
			int rc;

			memcpy(buf, label, len);	/* len <= 63 */
			buf[len] = '\0';
			rc = idn2_lookup_u8((const uint8_t *)buf, &out,
					    IDN2_NFC_INPUT |
					    IDN2_NONTRANSITIONAL);
			idn2_free(out);
			if (rc != IDN2_OK) {
				*why = idn2_strerror(rc);
				return -1;
			}
		}
		label += len;
		if (*label)
			label++;
	}
	return 0;
}

/**
 * policy_normalise_domain() - validate and normalise a domain name
 * @in:		name as written: any case, optional trailing dot, UTF-8
 * @out:	buffer for the normalised name
 * @outlen:	size of @out
 * @allow_wildcard:	accept "*.suffix", suffix of at least two labels
 * @why:	set to a static reason on failure
 *
 * The result is lower case, has no trailing dot, and has its non-ASCII
 * labels converted to punycode ("xn--...") by libidn2 with IDNA2008 lookup
 * rules and the UTS #46 non-transitional mapping (as browsers do). Labels
 * are 1 to 63 of [a-z0-9-_], not starting or ending with '-'; the last
 * label is not all digits; the whole name, "*." included, is at most
 * POLICY_DOMAIN_MAX characters.
 *
 * Return: 0 on success, -1 with *@why set
 */
int policy_normalise_domain(const char *in, char *out, size_t outlen,
			    bool allow_wildcard, const char **why)
{
	char buf[DOMAIN_INPUT_MAX + 1];
	bool wild = false, ascii = true;
	size_t len, i;
	char *name;
	int nlabels;

	*why = NULL;
	len = strlen(in);
	if (!len) {
		*why = "empty name";
		return -1;
	}
	if (len > DOMAIN_INPUT_MAX) {
		*why = "name too long";
		return -1;
	}
	memcpy(buf, in, len + 1);

	if (buf[0] == '*' && (buf[1] == '.' || !buf[1])) {
		if (!allow_wildcard) {
			*why = "wildcards are not allowed here";
			return -1;
		}
		if (!buf[1]) {
			*why = "a lone '*' matches everything; use egress.default";
			return -1;
		}
		wild = true;
	}
	name = wild ? buf + 2 : buf;
	len = strlen(name);
	if (len && name[len - 1] == '.')
		name[--len] = '\0';
	if (!len) {
		*why = "empty name";
		return -1;
	}

	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] >= 0x80)
			ascii = false;
		else if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] = (char)(name[i] - 'A' + 'a');
	}

	if (!ascii) {
		uint8_t *puny = NULL;
		int rc;

		rc = idn2_lookup_u8((const uint8_t *)name, &puny,
				    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			*why = idn2_strerror(rc);
			return -1;
		}
		len = strlen((char *)puny);
		if (len > POLICY_DOMAIN_MAX) {
			idn2_free(puny);
			*why = "name longer than 253 characters";
			return -1;
		}
		memcpy(name, puny, len + 1);
		idn2_free(puny);
		for (i = 0; i < len; i++) {
			if (name[i] >= 'A' && name[i] <= 'Z')
				name[i] = (char)(name[i] - 'A' + 'a');
		}
		if (len && name[len - 1] == '.')
			name[--len] = '\0';
	}

	nlabels = domain_check_ascii(name, why);
	if (nlabels < 0 || domain_check_alabels(name, why))
		return -1;
	if (wild && nlabels < 2) {
		*why = "a wildcard needs at least two labels after '*.' (it would cover a whole top-level domain)";
		return -1;
	}
	if (len + (wild ? 2 : 0) > POLICY_DOMAIN_MAX) {
		*why = "name longer than 253 characters";
		return -1;
	}
	if (len + (wild ? 2 : 0) + 1 > outlen) {
		*why = "name too long";
		return -1;
	}
	snprintf(out, outlen, "%s%s", wild ? "*." : "", name);
	return 0;
}

/* ------------------------------------------------------------------------
 * Rule targets
 */

/**
 * looks_like_address() - tell an attempted address from a domain name
 * @s:		target text
 *
 * Return: true if @s has a ':' or '/' or only digits and dots
 */
static bool looks_like_address(const char *s)
{
	if (strpbrk(s, ":/"))
		return true;
	return strspn(s, "0123456789.") == strlen(s);
}

/**
 * parse_target() - parse a rule target: group, address or CIDR, or domain
 * @s:		text
 * @r:		rule to fill (@kind, @group, @pfx or @domain)
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int parse_target(const char *s, struct rule *r, const struct where *w)
{
	const char *why;
	char fixed[64];

	if (!*s) {
		werr(w, "empty target");
		return -1;
	}
	if (!addr_group_parse(s, &r->group)) {
		r->kind = TARGET_GROUP;
		return 0;
	}
	if (looks_like_address(s)) {
		struct prefix pfx;

		if (!prefix_parse(s, &r->pfx, true)) {
			r->kind = TARGET_CIDR;
			return 0;
		}
		if (!prefix_parse(s, &pfx, false) &&
		    !prefix_format(&pfx, fixed, sizeof(fixed))) {
			werr(w, "host bits set in '%.64s' (did you mean %s?)",
			     s, fixed);
			return -1;
		}
		werr(w, "'%.64s' is not a valid address or CIDR", s);
		return -1;
	}
	if (policy_normalise_domain(s, r->domain, sizeof(r->domain), true,
				    &why)) {
		werr(w, "'%.64s' is not a valid domain name: %s", s, why);
		return -1;
	}
	if (!strchr(r->domain, '.')) {
		werr(w, "'%.64s' is neither a group (loopback, private, link-local, metadata, multicast, host, reserved, public) nor a fully qualified domain name",
		     s);
		return -1;
	}
	r->kind = TARGET_DOMAIN;
	return 0;
}

/**
 * pfx_text() - text of a prefix: an address alone when it is a /32 or /128
 * @pfx:	prefix
 * @buf:	buffer, at least INET6_ADDRSTRLEN + 4 bytes
 * @len:	size of @buf
 *
 * Addresses are written without their length so that the text reads back
 * both as a prefix and as an address (dns.records, dns.upstream, a bind).
 *
 * Return: @buf
 */
static const char *pfx_text(const struct prefix *pfx, char *buf, size_t len)
{
	int full = pfx->family == AF_INET ? 32 : 128;

	if (pfx->plen == full) {
		if (!inet_ntop(pfx->family, pfx->addr, buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else if (prefix_format(pfx, buf, len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

/**
 * target_format() - the normalised text of a rule's target
 * @r:		rule
 * @buf:	buffer for addresses
 * @len:	size of @buf
 *
 * Return: the text, in @buf or in @r or static
 */
static const char *target_format(const struct rule *r, char *buf, size_t len)
{
	switch (r->kind) {
	case TARGET_CIDR:
		return pfx_text(&r->pfx, buf, len);
	case TARGET_GROUP:
		return addr_group_name(r->group);
	case TARGET_DOMAIN:
		return r->domain;
	}
	return "?";
}

/* ------------------------------------------------------------------------
 * Published ports
 */

/**
 * policy_parse_publish() - parse "[BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]"
 * @arg:	text
 * @out:	result
 * @file:	file name or pseudo-source for errors
 * @line:	1-based line, or 0
 * @col:	1-based column, or 0
 * @el:		error list
 *
 * BIND is an IPv4 address or an IPv6 address in brackets ("[::1]"), and
 * defaults to 127.0.0.1. The protocol defaults to tcp.
 *
 * Return: 0 on success, -1 after adding an error to @el
 */
int policy_parse_publish(const char *arg, struct publish *out,
			 const char *file, unsigned line, unsigned col,
			 struct errlist *el)
{
	struct where w = { el, file, line, col };
	char *s = xstrdup(arg), *slash, *ports, *hp, *sp;
	struct publish pub = { .proto = PROTO_TCP };
	char *bind = NULL;
	int ret = -1;

	slash = strrchr(s, '/');
	if (slash) {
		*slash = '\0';
		if (!strcmp(slash + 1, "tcp")) {
			pub.proto = PROTO_TCP;
		} else if (!strcmp(slash + 1, "udp")) {
			pub.proto = PROTO_UDP;
		} else {
			werr(&w, "publish '%.64s': protocol must be tcp or udp",
			     arg);
			goto out;
		}
	}

	if (s[0] == '[') {
		char *close = strchr(s, ']');

		if (!close) {
			werr(&w, "publish '%.64s': missing ']'", arg);
			goto out;
		}
		*close = '\0';
		bind = s + 1;
		if (close[1] != ':') {
			werr(&w, "publish '%.64s': expected ':' after ']'", arg);
			goto out;
		}
		ports = close + 2;
		if (!strchr(bind, ':')) {
			werr(&w, "publish '%.64s': brackets are only for IPv6 addresses",
			     arg);
			goto out;
		}
	} else {
		char *c1 = strchr(s, ':'), *c2 = NULL;

		if (c1)
			c2 = strchr(c1 + 1, ':');

		if (!c1) {
			werr(&w, "publish '%.64s': expected [BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]",
			     arg);
			goto out;
		}
		if (c2 && strchr(c2 + 1, ':')) {
			werr(&w, "publish '%.64s': an IPv6 bind address goes in brackets, as in [::1]:8080:80",
			     arg);
			goto out;
		}
		if (c2) {
			*c1 = '\0';
			bind = s;
			ports = c1 + 1;
		} else {
			ports = s;
		}
	}

	hp = ports;
	sp = strchr(ports, ':');
	if (!sp || strchr(sp + 1, ':')) {
		werr(&w, "publish '%.64s': expected [BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]",
		     arg);
		goto out;
	}
	*sp++ = '\0';
	if (strchr(hp, '-') || strchr(sp, '-')) {
		werr(&w, "publish '%.64s': port ranges are not supported", arg);
		goto out;
	}
	ret = parse_port(hp, strlen(hp), &pub.host_port, &w);
	ret |= parse_port(sp, strlen(sp), &pub.sandbox_port, &w);
	if (ret) {
		ret = -1;
		goto out;
	}

	if (bind) {
		if (addr_parse(bind, &pub.bind)) {
			werr(&w, "publish '%.64s': bad bind address '%.64s'",
			     arg, bind);
			ret = -1;
			goto out;
		}
		if (pub.bind.family == AF_INET6 && s[0] != '[') {
			werr(&w, "publish '%.64s': an IPv6 bind address goes in brackets, as in [::1]:8080:80",
			     arg);
			ret = -1;
			goto out;
		}
		if (pub.bind.family == AF_INET && s[0] == '[') {
			werr(&w, "publish '%.64s': brackets are only for IPv6 addresses",
			     arg);
			ret = -1;
			goto out;
		}
	} else {
		addr_parse("127.0.0.1", &pub.bind);
	}
	*out = pub;
	ret = 0;
out:
	free(s);
	return ret;
}

/**
 * publish_format() - normalised text of a published port
 * @pub:	published port
 * @buf:	buffer
 * @len:	size of @buf
 *
 * Return: @buf, holding "BIND:HOSTPORT:SANDBOXPORT/PROTO"
 */
static const char *publish_format(const struct publish *pub, char *buf,
				  size_t len)
{
	char a[64];

	pfx_text(&pub->bind, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u:%u/%s",
		 pub->bind.family == AF_INET6 ? "[" : "", a,
		 pub->bind.family == AF_INET6 ? "]" : "",
		 pub->host_port, pub->sandbox_port, proto_name(pub->proto));
	return buf;
}

/**
 * prefix_equal() - compare two prefixes
 * @a:		first
 * @b:		second
 *
 * Return: true if family, length and address match
 */
static bool prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/**
 * prefix_is_any() - tell the unspecified address (0.0.0.0 or ::)
 * @p:		prefix
 *
 * Return: true if every address byte is zero
 */
static bool prefix_is_any(const struct prefix *p)
{
	static const uint8_t zero[16];

	return !memcmp(p->addr, zero, sizeof(zero));
}

/**
 * publish_conflict() - do two published ports compete for one host socket
 * @a:		first
 * @b:		second
 *
 * Return: true for the same protocol and host port, and the same bind
 *	   address or one of them the unspecified address of the same family
 */
static bool publish_conflict(const struct publish *a, const struct publish *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port)
		return false;
	if (prefix_equal(&a->bind, &b->bind))
		return true;
	return a->bind.family == b->bind.family &&
	       (prefix_is_any(&a->bind) || prefix_is_any(&b->bind));
}

/* ------------------------------------------------------------------------
 * Rates
 */

static const struct {
	const char *unit;
	uint64_t mult;		/* bits per second for one unit */
} rate_units[] = {
	{ "bit", 1ULL },
	{ "kbit", 1000ULL },
	{ "mbit", 1000000ULL },
	{ "gbit", 1000000000ULL },
	{ "tbit", 1000000000000ULL },
	{ "bps", 8ULL },
	{ "kbps", 8000ULL },
	{ "mbps", 8000000ULL },
	{ "gbps", 8000000000ULL },
	{ "tbps", 8000000000000ULL },
};

/**
 * policy_parse_rate() - parse a rate such as "100mbit", "1.5gbit", "10mbps"
 * @s:		text: a decimal number, optionally with up to 9 decimals,
 *		then a unit, or "unlimited"
 * @bps:	result in bits per second, 0 for "unlimited"
 *
 * Units, case-insensitive, powers of ten as in tc(8): bit, kbit, mbit,
 * gbit, tbit (bits per second) and bps, kbps, mbps, gbps, tbps (bytes per
 * second). The result is a whole number of bits per second in 1..10^13.
 *
 * Return: 0 on success, -1 if @s is not a valid rate
 */
int policy_parse_rate(const char *s, uint64_t *bps)
{
	uint64_t ip = 0, frac = 0, scale = 1, v, f;
	const char *p = s;
	size_t i, nd = 0;

	if (!strcmp(s, "unlimited")) {
		*bps = 0;
		return 0;
	}
	while (*p >= '0' && *p <= '9') {
		if (ip > RATE_MAX)
			return -1;
		ip = ip * 10 + (uint64_t)(*p++ - '0');
		nd++;
	}
	if (!nd)
		return -1;
	if (*p == '.') {
		p++;
		nd = 0;
		while (*p >= '0' && *p <= '9') {
			if (++nd > 9)
				return -1;
			frac = frac * 10 + (uint64_t)(*p++ - '0');
			scale *= 10;
		}
		if (!nd)
			return -1;
	}
	for (i = 0; i < ARRAY_SIZE(rate_units); i++) {
		if (!strcasecmp(p, rate_units[i].unit))
			break;
	}
	if (i == ARRAY_SIZE(rate_units))
		return -1;
	if (__builtin_mul_overflow(ip, rate_units[i].mult, &v))
		return -1;
	if (__builtin_mul_overflow(frac, rate_units[i].mult, &f))
		return -1;
	if (f % scale)
		return -1;	/* not a whole number of bits per second */
	v += f / scale;
	if (!v || v > RATE_MAX)
		return -1;
	*bps = v;
	return 0;
}

/**
 * rate_format() - shortest exact text of a rate, in bit units
 * @bps:	bits per second, 0 for unlimited
 * @buf:	buffer
 * @len:	size of @buf
 *
 * Return: @buf
 */
static const char *rate_format(uint64_t bps, char *buf, size_t len)
{
	int i;

	if (!bps) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	for (i = 4; i > 0; i--) {
		if (!(bps % rate_units[i].mult))
			break;
	}
	snprintf(buf, len, "%llu%s",
		 (unsigned long long)(bps / rate_units[i].mult),
		 rate_units[i].unit);
	return buf;
}

/* ------------------------------------------------------------------------
 * Command-line rules
 */

/**
 * parse_port_list() - parse a comma-separated list of ports and ranges
 * @s:		text, such as "80,443,8000-8100"
 * @r:		rule whose @ports and @nports are set, sorted and merged
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error (nothing allocated)
 */
static int parse_port_list(const char *s, struct rule *r,
			   const struct where *w)
{
	struct port_range *ports = NULL;
	size_t n = 0;
	int ret = 0;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct port_range pr;

		if (!len) {
			werr(w, "empty port in list");
			ret = -1;
		} else if (parse_port_range(s, len, &pr, w)) {
			ret = -1;
		} else {
			*(struct port_range *)array_add(&ports, &n,
							sizeof(*ports)) = pr;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	if (ret) {
		free(ports);
		return -1;
	}
	r->ports = ports;
	r->nports = n;
	return 0;
}

/**
 * rule_finish() - checks on a whole rule, then sort and merge its ports
 * @r:		rule, its ports as written
 * @w:		where to report errors
 *
 * An allow rule naming one of the ports that invariant I4 always drops
 * (DNS, which goes to moat's interceptor, DoT/DoQ, NetBIOS, mDNS, LLMNR)
 * would never do what it says, so it is refused. Only single ports
 * written as such are checked; a range that covers one is fine.
 *
 * Return: 0 if fine, -1 after reporting an error
 */
static int rule_finish(struct rule *r, const struct where *w)
{
	static const uint16_t i4_ports[] = { 53, 137, 138, 853, 5353, 5355 };
	size_t i, j;

	if (r->proto == PROTO_ICMP && r->nports) {
		werr(w, "ports make no sense with protocol icmp");
		return -1;
	}
	for (i = 0; r->allow && i < r->nports; i++) {
		if (r->ports[i].lo != r->ports[i].hi)
			continue;
		for (j = 0; j < ARRAY_SIZE(i4_ports); j++) {
			if (r->ports[i].lo != i4_ports[j])
				continue;
			werr(w, "port %u is never reachable from a sandbox: DNS goes to moat's interceptor, and DoT, DoQ, NetBIOS, mDNS and LLMNR are always dropped (invariant I4)",
			     r->ports[i].lo);
			return -1;
		}
	}
	ports_normalise(r->ports, &r->nports);
	return 0;
}

/**
 * rule_arg_ambiguous6() - refuse a bare IPv6 address that may end in a port
 * @s:		a bare IPv6 address, already parsed as one
 * @w:		where to report the error
 *
 * "2001:db8::1:443" is an address, but most likely meant as port 443 of
 * 2001:db8::1: when the last group is decimal digits and what comes
 * before it is an IPv6 address too, the text is refused, and the two
 * bracketed forms that say either meaning are suggested. A prefix ("/")
 * is never ambiguous.
 *
 * Return: 0 if unambiguous, -1 after reporting an error
 */
static int rule_arg_ambiguous6(const char *s, const struct where *w)
{
	const char *last = strrchr(s, ':');
	struct prefix head;
	char buf[64];

	if (!last || strchr(s, '/') || !last[1] ||
	    strspn(last + 1, "0123456789") != strlen(last + 1) ||
	    strlen(last + 1) > 5 || (size_t)(last - s) >= sizeof(buf))
		return 0;
	memcpy(buf, s, (size_t)(last - s));
	buf[last - s] = '\0';
	if (addr_parse(buf, &head) || head.family != AF_INET6)
		return 0;
	werr(w, "ambiguous: write [%s]:%s for port %s of %s, or [%s] for the address",
	     buf, last + 1, last + 1, buf, s);
	return -1;
}

/**
 * policy_parse_rule_arg() - parse a --allow / --deny RULE and append it
 * @p:		policy to append the rule to
 * @arg:	TARGET[:PORTS][/PROTO], e.g. "github.com:443",
 *		"10.0.0.0/8:5432/tcp", "[2001:db8::1]:443", "host:11434"
 * @allow:	true for --allow, false for --deny
 * @optname:	option name, for the rule's origin and errors
 * @el:		error list
 *
 * An IPv6 address or CIDR with ports or a protocol goes in brackets; a bare
 * IPv6 address or CIDR (two or more ':') has neither, and one whose last
 * group could be a port is refused (rule_arg_ambiguous6()). PORTS is a
 * comma-separated list of ports and ranges.
 *
 * Return: 0 on success, -1 after adding errors to @el (@p unchanged)
 */
int policy_parse_rule_arg(struct policy *p, const char *arg, bool allow,
			  const char *optname, struct errlist *el)
{
	struct rule r = { .allow = allow, .proto = PROTO_ANY };
	char *s = xstrdup(arg), *target = s, *ports = NULL, *proto = NULL;
	char *src = xasprintf("%s '%s'", optname, arg);
	struct where w = { el, src, 0, 0 };
	bool bare6 = false;
	int ret = 0;

	if (s[0] == '[') {
		char *close = strchr(s, ']'), *rest;

		if (!close) {
			werr(&w, "missing ']'");
			ret = -1;
			goto out;
		}
		*close = '\0';
		target = s + 1;
		rest = close + 1;
		if (!strchr(target, ':')) {
			werr(&w, "brackets are only for IPv6 addresses");
			ret = -1;
			goto out;
		}
		if (*rest == ':') {
			ports = rest + 1;
		} else if (*rest == '/') {
			*rest = '\0';
			proto = rest + 1;
		} else if (*rest) {
			werr(&w, "unexpected '%.64s' after ']'", rest);
			ret = -1;
			goto out;
		}
		if (ports && (proto = strchr(ports, '/')))
			*proto++ = '\0';
	} else if (strchr(s, ':') && strchr(strchr(s, ':') + 1, ':')) {
		bare6 = true;	/* bare IPv6: no ports, no protocol */
	} else {
		char *slash = strrchr(s, '/'), *colon;

		if (slash && (!slash[1] ||
			      strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
			      strlen(slash + 1))) {
			*slash = '\0';
			proto = slash + 1;
		}
		colon = strchr(s, ':');
		if (colon) {
			*colon = '\0';
			ports = colon + 1;
		}
	}

	if (bare6) {
		if (prefix_parse(target, &r.pfx, true)) {
			struct prefix pfx;
			char fixed[64];

			if (!prefix_parse(target, &pfx, false) &&
			    !prefix_format(&pfx, fixed, sizeof(fixed)))
				werr(&w, "host bits set (did you mean %s?)",
				     fixed);
			else
				werr(&w, "not a valid IPv6 address or CIDR (with ports or a protocol, use brackets: [2001:db8::1]:443/tcp)");
			ret = -1;
			goto out;
		}
		r.kind = TARGET_CIDR;
		if (rule_arg_ambiguous6(target, &w)) {
			ret = -1;
			goto out;
		}
	} else if (parse_target(target, &r, &w)) {
		ret = -1;
	}
	if (ports && !*ports) {
		werr(&w, "empty port list after ':'");
		ret = -1;
	} else if (ports && parse_port_list(ports, &r, &w)) {
		ret = -1;
	}
	if (proto && !*proto) {
		werr(&w, "empty protocol after '/'");
		ret = -1;
	} else if (proto && parse_proto(proto, &r.proto, &w)) {
		ret = -1;
	}
	if (!ret && rule_finish(&r, &w))
		ret = -1;
	if (ret) {
		free(r.ports);
		goto out;
	}

	r.loc.file = policy_intern(p, optname);
	*(struct rule *)array_add(&p->rules, &p->nrules, sizeof(r)) = r;
out:
	free(src);
	free(s);
	return ret;
}

/**
 * policy_prepend_rules() - put deep copies of rules before a policy's own
 * @p:		policy
 * @rules:	rules to copy, e.g. those of the command line
 * @n:		number of rules
 *
 * The origins of the copies point at strings @p owns.
 *
 * Return: 0
 */
int policy_prepend_rules(struct policy *p, const struct rule *rules,
			 size_t n)
{
	struct rule *all;
	size_t i;

	if (!n)
		return 0;
	all = xcalloc(n + p->nrules, sizeof(*all));
	for (i = 0; i < n; i++) {
		all[i] = rules[i];
		if (rules[i].nports) {
			all[i].ports = xcalloc(rules[i].nports,
					       sizeof(*all[i].ports));
			memcpy(all[i].ports, rules[i].ports,
			       rules[i].nports * sizeof(*all[i].ports));
		} else {
			all[i].ports = NULL;
		}
		all[i].loc.file = policy_intern(p, rules[i].loc.file);
	}
	if (p->nrules)
		memcpy(all + n, p->rules, p->nrules * sizeof(*all));
	free(p->rules);
	p->rules = all;
	p->nrules += n;
	return 0;
}

/* ------------------------------------------------------------------------
 * YAML tree
 */

enum ytype {
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
	Y_BAD,		/* refused (alias, NUL byte), already reported */
};

/**
 * struct ynode - a node of the YAML tree
 * @type:	kind of node
 * @line:	1-based line of its first character
 * @col:	1-based column of its first character
 * @str:	Y_SCALAR: value, NUL-terminated
 * @plain:	Y_SCALAR: written without quotes
 * @kids:	Y_SEQ: items; Y_MAP: key, value, key, value...
 * @n:		number of @kids
 * @dup_of:	a key repeating an earlier one: that earlier key
 */
struct ynode {
	enum ytype type;
	unsigned line;
	unsigned col;
	char *str;
	bool plain;
	struct ynode **kids;
	size_t n;
	const struct ynode *dup_of;
};

/**
 * struct loader - state of one load
 * @p:		policy being built
 * @el:		error list
 * @file:	file name, owned by @p
 * @nerr:	errors in @el before this load started
 */
struct loader {
	struct policy *p;
	struct errlist *el;
	const char *file;
	size_t nerr;
};

/**
 * ynode_new() - allocate a node
 * @type:	kind
 * @m:		libyaml mark of its first character (0-based)
 *
 * Return: the node
 */
static struct ynode *ynode_new(enum ytype type, const yaml_mark_t *m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

/**
 * ynode_free() - free a node and its descendants
 * @n:		node, or NULL
 *
 * The recursion is bounded by YAML_DEPTH_MAX.
 */
static void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/**
 * ynode_add() - append a child to a sequence or mapping node
 * @parent:	sequence or mapping
 * @kid:	new child
 */
static void ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (!(parent->n & (parent->n - 1)))
		parent->kids = xrealloc(parent->kids, (parent->n ? parent->n * 2
							      : 1) *
					sizeof(*parent->kids));
	parent->kids[parent->n++] = kid;
}

static void lerr(const struct loader *ld, const struct ynode *n,
		 const char *fmt, ...) PRINTF_FMT(3, 4);

/**
 * lerr() - add an error record at a node
 * @ld:		loader
 * @n:		node
 * @fmt:	message format
 */
static void lerr(const struct loader *ld, const struct ynode *n,
		 const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	errlist_add(ld->el, ld->file, n->line, n->col, "%s", msg);
	free(msg);
}

/**
 * lerr_mark() - add an error record at a libyaml mark
 * @ld:		loader
 * @m:		mark (0-based)
 * @msg:	message
 */
static void lerr_mark(const struct loader *ld, const yaml_mark_t *m,
		      const char *msg)
{
	errlist_add(ld->el, ld->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "%s", msg);
}

/**
 * offset_linecol() - line and column of a byte offset in the input
 * @buf:	input
 * @len:	input length
 * @off:	byte offset
 * @line:	1-based line
 * @col:	1-based column, counting UTF-8 characters
 */
static void offset_linecol(const char *buf, size_t len, size_t off,
			   unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/**
 * yaml_report() - report a libyaml parser failure
 * @ld:		loader
 * @ps:		parser in error state
 * @buf:	input
 * @len:	input length
 */
static void yaml_report(const struct loader *ld, const yaml_parser_t *ps,
			const char *buf, size_t len)
{
	const char *problem = ps->problem ? ps->problem : "unknown problem";
	unsigned line, col;

	switch (ps->error) {
	case YAML_MEMORY_ERROR:
		die_oom();
		break;
	case YAML_READER_ERROR:
		offset_linecol(buf, len, ps->problem_offset, &line, &col);
		if (ps->problem_value != -1)
			errlist_add(ld->el, ld->file, line, col,
				    "invalid input: %s (#x%X)", problem,
				    (unsigned)ps->problem_value);
		else
			errlist_add(ld->el, ld->file, line, col,
				    "invalid input: %s", problem);
		break;
	default:
		line = (unsigned)ps->problem_mark.line + 1;
		col = (unsigned)ps->problem_mark.column + 1;
		if (ps->context)
			errlist_add(ld->el, ld->file, line, col,
				    "syntax error: %s (%s started at %zu:%zu)",
				    problem, ps->context,
				    ps->context_mark.line + 1,
				    ps->context_mark.column + 1);
		else
			errlist_add(ld->el, ld->file, line, col,
				    "syntax error: %s", problem);
		break;
	}
}

/**
 * yaml_build() - parse YAML text into a tree of struct ynode
 * @ld:		loader
 * @buf:	input
 * @len:	input length
 * @root:	set to the root of the first document, or NULL if none
 *
 * Anchors, aliases and tags are reported and the walk goes on; a syntax
 * error, too deep a nesting or a second document ends it.
 *
 * Return: 0 if a tree could be built (it may hold refused nodes), -1 if
 *	   not (nothing to free)
 */
static int yaml_build(const struct loader *ld, const char *buf, size_t len,
		      struct ynode **root)
{
	struct ynode *stack[YAML_DEPTH_MAX];
	yaml_parser_t ps;
	size_t depth = 0;
	int ndocs = 0, ret = 0;
	bool done = false;

	*root = NULL;
	if (!yaml_parser_initialize(&ps))
		die_oom();
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);

	while (!done) {
		struct ynode *n = NULL;
		yaml_event_t ev;

		if (!yaml_parser_parse(&ps, &ev)) {
			yaml_report(ld, &ps, buf, len);
			ret = -1;
			break;
		}

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				lerr_mark(ld, &ev.start_mark,
					  "multiple YAML documents are not supported");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			lerr_mark(ld, &ev.start_mark,
				  "aliases are not supported");
			n = ynode_new(Y_BAD, &ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			n = ynode_new(Y_SCALAR, &ev.start_mark);
			if (memchr(ev.data.scalar.value, '\0',
				   ev.data.scalar.length)) {
				lerr(ld, n, "NUL character in a string");
				n->type = Y_BAD;
				break;
			}
			n->str = xstrdup((const char *)ev.data.scalar.value);
			n->plain = ev.data.scalar.style ==
				   YAML_PLAIN_SCALAR_STYLE;
			if (ev.data.scalar.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.scalar.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_SEQUENCE_START_EVENT:
			n = ynode_new(Y_SEQ, &ev.start_mark);
			if (ev.data.sequence_start.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.sequence_start.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_MAPPING_START_EVENT:
			n = ynode_new(Y_MAP, &ev.start_mark);
			if (ev.data.mapping_start.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.mapping_start.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}

		if (n && !depth && *root) {
			ynode_free(n);	/* cannot happen: one document */
			n = NULL;
		}
		if (n) {
			if (depth)
				ynode_add(stack[depth - 1], n);
			else
				*root = n;

			if (n->type == Y_SEQ || n->type == Y_MAP) {
				if (depth == YAML_DEPTH_MAX) {
					lerr(ld, n, "nesting deeper than %d levels",
					     YAML_DEPTH_MAX);
					ret = -1;
					done = true;
				} else {
					stack[depth++] = n;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);

	if (ret) {
		ynode_free(*root);
		*root = NULL;
	}
	return ret;
}

/**
 * ykey_cmp() - qsort() comparison of key nodes: by text, then position
 * @a:		pointer to first node pointer
 * @b:		pointer to second node pointer
 *
 * Return: <0, 0 or >0
 */
static int ykey_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a;
	const struct ynode *y = *(struct ynode *const *)b;
	int c = strcmp(x->str, y->str);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->col > y->col) - (x->col < y->col);
}

/**
 * ycheck_keys() - refuse non-scalar and duplicate keys, at every level
 * @ld:		loader
 * @n:		node to check with all its descendants
 */
static void ycheck_keys(const struct loader *ld, struct ynode *n)
{
	struct ynode **keys;
	size_t i, nk = 0;

	if (n->type == Y_SEQ) {
		for (i = 0; i < n->n; i++)
			ycheck_keys(ld, n->kids[i]);
		return;
	}
	if (n->type != Y_MAP)
		return;

	keys = xcalloc(n->n / 2 + 1, sizeof(*keys));
	for (i = 0; i + 1 < n->n; i += 2) {
		struct ynode *k = n->kids[i];

		if (k->type == Y_SEQ || k->type == Y_MAP)
			lerr(ld, k, "keys must be plain strings, not %s",
			     k->type == Y_SEQ ? "lists" : "maps");
		else if (k->type == Y_SCALAR)
			keys[nk++] = k;
	}
	qsort(keys, nk, sizeof(*keys), ykey_cmp);
	for (i = 1; i < nk; i++) {
		if (!strcmp(keys[i]->str, keys[i - 1]->str))
			keys[i]->dup_of = keys[i - 1]->dup_of ?
					  keys[i - 1]->dup_of : keys[i - 1];
	}
	free(keys);

	for (i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i];

		if (k->dup_of)
			lerr(ld, k, "duplicate key '%.64s' (first at %u:%u)",
			     k->str, k->dup_of->line, k->dup_of->col);
		ycheck_keys(ld, n->kids[i + 1]);
	}
}

/**
 * yis_null() - tell a YAML null (empty value, "~" or "null")
 * @n:		node
 *
 * Return: true for a plain scalar that YAML reads as null
 */
static bool yis_null(const struct ynode *n)
{
	return n->type == Y_SCALAR && n->plain &&
	       (!*n->str || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
		!strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

/**
 * ytype_fail() - report a node of the wrong type
 * @ld:		loader
 * @n:		node
 * @path:	key path, such as "egress.rules"
 * @expected:	what was expected, such as "a list"
 */
static void ytype_fail(const struct loader *ld, const struct ynode *n,
		       const char *path, const char *expected)
{
	if (n->type == Y_BAD)
		return;
	if (n->type == Y_SEQ)
		lerr(ld, n, "%s: expected %s, found a list", path, expected);
	else if (n->type == Y_MAP)
		lerr(ld, n, "%s: expected %s, found a map", path, expected);
	else if (yis_null(n))
		lerr(ld, n, "%s: expected %s, found an empty value", path,
		     expected);
	else
		lerr(ld, n, "%s: expected %s, found '%.64s'", path, expected,
		     n->str);
}

/**
 * yexpect() - check the type of a node, reporting a mismatch
 * @ld:		loader
 * @n:		node
 * @type:	expected type
 * @path:	key path for the message
 *
 * Return: true if @n has type @type
 */
static bool yexpect(const struct loader *ld, const struct ynode *n,
		    enum ytype type, const char *path)
{
	static const char *const what[] = {
		[Y_SCALAR] = "a string",
		[Y_SEQ] = "a list",
		[Y_MAP] = "a map",
		[Y_BAD] = "?",
	};

	if (n->type == type && !(type == Y_SCALAR && yis_null(n)))
		return true;
	if (type == Y_SEQ && yis_null(n)) {
		lerr(ld, n, "%s: expected a list, found an empty value (write [] for none)",
		     path);
		return false;
	}
	if (type == Y_MAP && yis_null(n)) {
		lerr(ld, n, "%s: expected a map, found an empty value (write {} for none)",
		     path);
		return false;
	}
	ytype_fail(ld, n, path, what[type]);
	return false;
}

/**
 * ylist() - check that a node is a list of a sensible length
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 *
 * Return: true if @n is a list of at most LIST_MAX entries
 */
static bool ylist(const struct loader *ld, const struct ynode *n,
		  const char *path)
{
	if (!yexpect(ld, n, Y_SEQ, path))
		return false;
	if (n->n > LIST_MAX) {
		lerr(ld, n, "%s: more than %d entries", path, LIST_MAX);
		return false;
	}
	return true;
}

/**
 * ymap_get() - read the known keys of a map, reporting unknown ones
 * @ld:		loader
 * @map:	node that should be a map
 * @path:	key path of the map, "" at top level
 * @names:	known keys
 * @n:		number of known keys
 * @vals:	set to the value node of each known key, or NULL if absent
 *
 * Return: true if @map is a map
 */
static bool ymap_get(const struct loader *ld, const struct ynode *map,
		     const char *path, const char *const *names, size_t n,
		     const struct ynode **vals)
{
	size_t i, j;

	for (j = 0; j < n; j++)
		vals[j] = NULL;
	if (!yexpect(ld, map, Y_MAP, *path ? path : "policy"))
		return false;

	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i];

		if (k->type != Y_SCALAR || k->dup_of)
			continue;	/* reported by ycheck_keys() */
		for (j = 0; j < n; j++) {
			if (!strcmp(k->str, names[j]))
				break;
		}
		if (j < n) {
			vals[j] = map->kids[i + 1];
			continue;
		}

		{
			char list[256] = "";
			size_t len = 0;

			for (j = 0; j < n && len < sizeof(list); j++)
				len += (size_t)snprintf(list + len,
							sizeof(list) - len,
							"%s%s", j ? ", " : "",
							names[j]);
			if (*path)
				lerr(ld, k, "unknown key '%.64s' in %s (expected %s)",
				     k->str, path, list);
			else
				lerr(ld, k, "unknown key '%.64s' (expected %s)",
				     k->str, list);
		}
	}
	return true;
}

/**
 * ystr() - the text of a non-empty scalar, reporting anything else
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 *
 * Return: the text, or NULL after reporting an error
 */
static const char *ystr(const struct loader *ld, const struct ynode *n,
			const char *path)
{
	if (!yexpect(ld, n, Y_SCALAR, path))
		return NULL;
	return n->str;
}

/**
 * yint() - a plain decimal integer in a range
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @min:	smallest value allowed
 * @max:	largest value allowed
 * @out:	result
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int yint(const struct loader *ld, const struct ynode *n,
		const char *path, long long min, long long max, long long *out)
{
	const char *s, *d;
	long long v = 0;
	bool neg;

	if (!yexpect(ld, n, Y_SCALAR, path))
		return -1;
	s = n->str;
	neg = *s == '-';
	d = neg ? s + 1 : s;
	if (!n->plain || !*d || strspn(d, "0123456789") != strlen(d)) {
		if (n->plain)
			lerr(ld, n, "%s: expected a decimal integer, found '%.64s'",
			     path, s);
		else
			lerr(ld, n, "%s: expected an integer, found the quoted string '%.64s'",
			     path, s);
		return -1;
	}
	if (d[0] == '0' && d[1]) {
		lerr(ld, n, "%s: leading zeros are not allowed in '%.64s' (octal in YAML 1.1)",
		     path, s);
		return -1;
	}
	for (; *d; d++) {
		if (v > max + 1LL || v > LLONG_MAX / 20)
			break;
		v = v * 10 + (*d - '0');
	}
	if (neg)
		v = -v;
	if (*d || v < min || v > max) {
		lerr(ld, n, "%s: %.64s out of range %lld-%lld", path, s, min,
		     max);
		return -1;
	}
	*out = v;
	return 0;
}

/**
 * ybool() - exactly true or false, plain
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @out:	result
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int ybool(const struct loader *ld, const struct ynode *n,
		 const char *path, bool *out)
{
	static const char *const yaml11[] = {
		"yes", "no", "on", "off", "y", "n", "True", "False", "TRUE",
		"FALSE", "Yes", "No", "YES", "NO", "On", "Off", "ON", "OFF",
		"Y", "N",
	};

	if (!yexpect(ld, n, Y_SCALAR, path))
		return -1;
	if (n->plain && !strcmp(n->str, "true")) {
		*out = true;
		return 0;
	}
	if (n->plain && !strcmp(n->str, "false")) {
		*out = false;
		return 0;
	}
	if (n->plain && name_lookup(yaml11, ARRAY_SIZE(yaml11), n->str) >= 0)
		lerr(ld, n, "%s: expected true or false, found '%s' (YAML 1.1 booleans are not accepted)",
		     path, n->str);
	else
		lerr(ld, n, "%s: expected true or false, found '%.64s'", path,
		     n->str);
	return -1;
}

/**
 * yenum() - one of a table of names
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @names:	table of names
 * @count:	entries in @names
 * @expected:	the names, for the message
 *
 * Return: index in @names, or -1 after reporting an error
 */
static int yenum(const struct loader *ld, const struct ynode *n,
		 const char *path, const char *const *names, size_t count,
		 const char *expected)
{
	const char *s = ystr(ld, n, path);
	int i;

	if (!s)
		return -1;
	i = name_lookup(names, count, s);
	if (i < 0)
		lerr(ld, n, "%s: unknown value '%.64s' (expected %s)", path, s,
		     expected);
	return i;
}

/**
 * ywhere() - a struct where for a node
 * @ld:		loader
 * @n:		node
 *
 * Return: the location
 */
static struct where ywhere(const struct loader *ld, const struct ynode *n)
{
	struct where w = { ld->el, ld->file, n->line, n->col };

	return w;
}

/**
 * yloc() - a struct srcloc for a node
 * @ld:		loader
 * @n:		node
 *
 * Return: the location, with a file name owned by the policy
 */
static struct srcloc yloc(const struct loader *ld, const struct ynode *n)
{
	struct srcloc l = { ld->file, n->line, n->col };

	return l;
}

/* ------------------------------------------------------------------------
 * Sections of the policy
 */

/**
 * yports() - a rule's ports: a list of ports and "LO-HI" ranges
 * @ld:		loader
 * @n:		node
 * @r:		rule whose @ports and @nports are set, sorted and merged
 *
 * Return: 0 on success, -1 after reporting errors (nothing allocated)
 */
static int yports(const struct loader *ld, const struct ynode *n,
		  struct rule *r)
{
	struct port_range *ports = NULL;
	size_t i, np = 0;
	int ret = 0;

	if (n->type == Y_SCALAR && !yis_null(n)) {
		lerr(ld, n, "ports: expected a list, such as [%.64s]", n->str);
		return -1;
	}
	if (!yexpect(ld, n, Y_SEQ, "ports"))
		return -1;
	if (!n->n) {
		lerr(ld, n, "ports: empty list (leave ports out for all ports)");
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct where w = ywhere(ld, it);
		struct port_range pr;

		if (it->type != Y_SCALAR || yis_null(it)) {
			ytype_fail(ld, it, "ports", "a port or a \"LO-HI\" range");
			ret = -1;
			continue;
		}
		if (parse_port_range(it->str, strlen(it->str), &pr, &w)) {
			ret = -1;
			continue;
		}
		*(struct port_range *)array_add(&ports, &np,
						sizeof(*ports)) = pr;
	}
	if (ret) {
		free(ports);
		return -1;
	}
	r->ports = ports;
	r->nports = np;
	return 0;
}

/**
 * yrule() - one egress rule
 * @ld:		loader
 * @n:		node, should be a map
 */
static void yrule(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "allow", "deny", "ports",
					    "protocol" };
	struct rule r = { .proto = PROTO_ANY };
	const struct ynode *v[ARRAY_SIZE(keys)], *t;
	struct where w;
	int ret = 0;

	if (!ymap_get(ld, n, "egress.rules item", keys, ARRAY_SIZE(keys),
		      v))
		return;

	if (v[0] && v[1]) {
		t = (v[0]->line > v[1]->line ||
		     (v[0]->line == v[1]->line && v[0]->col > v[1]->col)) ?
		    v[0] : v[1];
		lerr(ld, t, "a rule has either 'allow' or 'deny', not both; write two rules");
		return;
	}
	if (!v[0] && !v[1]) {
		lerr(ld, n, "a rule needs 'allow' or 'deny'");
		return;
	}
	t = v[0] ? v[0] : v[1];
	r.allow = !!v[0];
	w = ywhere(ld, t);
	if (!ystr(ld, t, r.allow ? "allow" : "deny") ||
	    parse_target(t->str, &r, &w))
		ret = -1;
	r.loc = yloc(ld, t);

	if (v[3]) {
		int pr = yenum(ld, v[3], "protocol", proto_names,
			       ARRAY_SIZE(proto_names),
			       "tcp, udp, icmp or any");

		if (pr < 0)
			ret = -1;
		else
			r.proto = (enum proto)pr;
	}
	if (v[2] && yports(ld, v[2], &r))
		ret = -1;
	if (!ret) {
		w = ywhere(ld, v[2] ? v[2] : t);
		if (rule_finish(&r, &w))
			ret = -1;
	}
	if (ret) {
		free(r.ports);
		return;
	}
	*(struct rule *)array_add(&ld->p->rules, &ld->p->nrules,
				  sizeof(r)) = r;
}

/**
 * yegress() - the egress section
 * @ld:		loader
 * @n:		node
 */
static void yegress(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "default", "rules" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	size_t i;
	int d;

	if (!ymap_get(ld, n, "egress", keys, ARRAY_SIZE(keys), v))
		return;
	if (v[0]) {
		d = yenum(ld, v[0], "egress.default", egress_default_names,
			  ARRAY_SIZE(egress_default_names),
			  "public, deny or allow");
		if (d >= 0)
			ld->p->egress_default = (enum egress_default)d;
		ld->p->loc_default = yloc(ld, v[0]);
	}
	if (v[1] && ylist(ld, v[1], "egress.rules")) {
		for (i = 0; i < v[1]->n; i++)
			yrule(ld, v[1]->kids[i]);
	}
}

/**
 * yingress() - the ingress section
 * @ld:		loader
 * @n:		node
 */
static void yingress(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "publish", "allow_from" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct policy *p = ld->p;
	size_t i, j;

	if (!ymap_get(ld, n, "ingress", keys, ARRAY_SIZE(keys), v))
		return;

	if (v[0] && ylist(ld, v[0], "ingress.publish")) {
		const struct ynode **at = xcalloc(v[0]->n + 1, sizeof(*at));

		for (i = 0; i < v[0]->n; i++) {
			const struct ynode *it = v[0]->kids[i];
			struct publish pub;
			char buf[96];

			if (!ystr(ld, it, "ingress.publish"))
				continue;
			if (policy_parse_publish(it->str, &pub, ld->file,
						 it->line, it->col, ld->el))
				continue;
			for (j = 0; j < p->npublish; j++) {
				if (publish_conflict(&p->publish[j], &pub))
					break;
			}
			if (j < p->npublish) {
				lerr(ld, it, "ingress.publish: '%s' %s '%s' at %u:%u",
				     publish_format(&pub, buf, sizeof(buf)),
				     prefix_equal(&pub.bind,
						  &p->publish[j].bind) ?
				     "duplicates" : "conflicts with",
				     at[j]->str, at[j]->line, at[j]->col);
				continue;
			}
			at[p->npublish] = it;
			*(struct publish *)array_add(&p->publish,
						     &p->npublish,
						     sizeof(pub)) = pub;
		}
		free(at);
	}

	if (v[1] && ylist(ld, v[1], "ingress.allow_from")) {
		for (i = 0; i < v[1]->n; i++) {
			const struct ynode *it = v[1]->kids[i];
			struct rule r = { 0 };
			struct where w = ywhere(ld, it);

			if (!ystr(ld, it, "ingress.allow_from"))
				continue;
			if (!looks_like_address(it->str)) {
				lerr(ld, it, "ingress.allow_from: '%.64s' is not an address or CIDR",
				     it->str);
				continue;
			}
			if (parse_target(it->str, &r, &w))
				continue;
			for (j = 0; j < p->nallow_from; j++) {
				if (prefix_equal(&p->allow_from[j], &r.pfx))
					break;
			}
			if (j < p->nallow_from) {
				lerr(ld, it, "ingress.allow_from: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			*(struct prefix *)array_add(&p->allow_from,
						    &p->nallow_from,
						    sizeof(r.pfx)) = r.pfx;
		}
	}
}

/**
 * yaddress() - a single address, v4 or v6, no prefix length, no port
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @out:	result (/32 or /128)
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int yaddress(const struct loader *ld, const struct ynode *n,
		    const char *path, struct prefix *out)
{
	const char *s = ystr(ld, n, path);

	if (!s)
		return -1;
	if (addr_parse(s, out)) {
		lerr(ld, n, "%s: '%.64s' is not an IPv4 or IPv6 address", path,
		     s);
		return -1;
	}
	return 0;
}

/**
 * ydns_records() - dns.records: name to address, or to a list of them
 * @ld:		loader
 * @n:		node
 */
static void ydns_records(const struct loader *ld, const struct ynode *n)
{
	struct policy *p = ld->p;
	size_t i, j, k;

	if (!yexpect(ld, n, Y_MAP, "dns.records"))
		return;
	if (n->n / 2 > LIST_MAX) {
		lerr(ld, n, "dns.records: more than %d entries", LIST_MAX);
		return;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *key = n->kids[i], *val = n->kids[i + 1];
		char name[POLICY_DOMAIN_MAX + 1];
		const char *why;
		size_t first;

		if (key->type != Y_SCALAR || key->dup_of)
			continue;
		if (policy_normalise_domain(key->str, name, sizeof(name),
					    false, &why)) {
			lerr(ld, key, "dns.records: '%.64s' is not a valid domain name: %s",
			     key->str, why);
			continue;
		}
		for (j = 0; j < p->ndns_records; j++) {
			if (!strcmp(p->dns_records[j].name, name))
				break;
		}
		if (j < p->ndns_records) {
			lerr(ld, key, "dns.records: '%.64s' is the same name as an earlier record",
			     key->str);
			continue;
		}

		first = p->ndns_records;
		if (val->type == Y_SEQ) {
			if (!val->n || val->n > LIST_MAX) {
				lerr(ld, val, "dns.records: '%.64s' has %s list of addresses",
				     key->str, val->n ? "too long a" : "an empty");
				continue;
			}
			for (j = 0; j < val->n; j++) {
				struct dns_record rec;

				if (yaddress(ld, val->kids[j], "dns.records",
					     &rec.addr))
					continue;
				for (k = first; k < p->ndns_records; k++) {
					const struct dns_record *o;

					o = &p->dns_records[k];
					if (prefix_equal(&o->addr, &rec.addr))
						break;
				}
				if (k < p->ndns_records) {
					lerr(ld, val->kids[j], "dns.records: duplicate address '%.64s'",
					     val->kids[j]->str);
					continue;
				}
				memcpy(rec.name, name, sizeof(name));
				*(struct dns_record *)array_add(&p->dns_records,
					&p->ndns_records, sizeof(rec)) = rec;
			}
		} else {
			struct dns_record rec;

			if (yaddress(ld, val, "dns.records", &rec.addr))
				continue;
			memcpy(rec.name, name, sizeof(name));
			*(struct dns_record *)array_add(&p->dns_records,
				&p->ndns_records, sizeof(rec)) = rec;
		}
	}
	if (p->ndns_records)
		p->loc_dns_records = yloc(ld, n);
}

/**
 * ydns() - the dns section
 * @ld:		loader
 * @n:		node
 */
static void ydns(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "rebind_protection", "block",
					    "records", "upstream", "ttl" };
	static const char *const ttl_keys[] = { "min", "max" };
	const struct ynode *v[ARRAY_SIZE(keys)], *tv[ARRAY_SIZE(ttl_keys)];
	struct policy *p = ld->p;
	size_t i, j;

	if (!ymap_get(ld, n, "dns", keys, ARRAY_SIZE(keys), v))
		return;

	if (v[0])
		ybool(ld, v[0], "dns.rebind_protection", &p->rebind_protection);

	if (v[1] && ylist(ld, v[1], "dns.block")) {
		for (i = 0; i < v[1]->n; i++) {
			const struct ynode *it = v[1]->kids[i];
			char name[POLICY_DOMAIN_MAX + 3];
			const char *why;

			if (!ystr(ld, it, "dns.block"))
				continue;
			if (policy_normalise_domain(it->str, name,
						    sizeof(name), true,
						    &why)) {
				lerr(ld, it, "dns.block: '%.64s' is not a valid domain name: %s",
				     it->str, why);
				continue;
			}
			for (j = 0; j < p->ndns_block; j++) {
				if (!strcmp(p->dns_block[j], name))
					break;
			}
			if (j < p->ndns_block) {
				lerr(ld, it, "dns.block: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			memcpy(array_add(&p->dns_block, &p->ndns_block,
					 sizeof(*p->dns_block)),
			       name, sizeof(name));
		}
		if (p->ndns_block)
			p->loc_dns_block = yloc(ld, v[1]);
	}

	if (v[2])
		ydns_records(ld, v[2]);

	if (v[3] && ylist(ld, v[3], "dns.upstream")) {
		for (i = 0; i < v[3]->n; i++) {
			const struct ynode *it = v[3]->kids[i];
			struct prefix a;

			if (yaddress(ld, it, "dns.upstream", &a))
				continue;
			for (j = 0; j < p->ndns_upstream; j++) {
				if (prefix_equal(&p->dns_upstream[j], &a))
					break;
			}
			if (j < p->ndns_upstream) {
				lerr(ld, it, "dns.upstream: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			*(struct prefix *)array_add(&p->dns_upstream,
						    &p->ndns_upstream,
						    sizeof(a)) = a;
		}
		if (p->ndns_upstream)
			p->loc_dns_upstream = yloc(ld, v[3]);
	}

	if (v[4] && ymap_get(ld, v[4], "dns.ttl", ttl_keys,
			     ARRAY_SIZE(ttl_keys), tv)) {
		long long min = p->ttl_min, max = p->ttl_max;
		int ret = 0;

		if (tv[0])
			ret |= yint(ld, tv[0], "dns.ttl.min", 0, TTL_LIMIT,
				    &min);
		if (tv[1])
			ret |= yint(ld, tv[1], "dns.ttl.max", 0, TTL_LIMIT,
				    &max);
		if (!ret && min > max) {
			lerr(ld, tv[1] ? tv[1] : tv[0],
			     "dns.ttl: min %lld is greater than max %lld", min,
			     max);
		} else if (!ret) {
			p->ttl_min = (uint32_t)min;
			p->ttl_max = (uint32_t)max;
		}
	}
}

/**
 * ylimits() - the limits section
 * @ld:		loader
 * @n:		node
 */
static void ylimits(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "bandwidth", "connections",
					    "flows" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct policy *p = ld->p;
	long long c;

	if (!ymap_get(ld, n, "limits", keys, ARRAY_SIZE(keys), v))
		return;
	if (v[0] && ystr(ld, v[0], "limits.bandwidth")) {
		if (policy_parse_rate(v[0]->str, &p->bandwidth_bps))
			lerr(ld, v[0], "limits.bandwidth: bad rate '%.64s' (expected a number and a unit: bit, kbit, mbit, gbit, bps, kbps, mbps, gbps, as in 100mbit; or unlimited)",
			     v[0]->str);
		else if (p->bandwidth_bps)
			p->loc_bandwidth = yloc(ld, v[0]);
	}
	if (v[1] && !yint(ld, v[1], "limits.connections", 1, 65535, &c))
		p->connections = (uint32_t)c;
	if (v[2] && !yint(ld, v[2], "limits.flows", 1, POLICY_FLOWS_MAX, &c))
		p->flows = (uint32_t)c;
}

/**
 * ytop() - the whole policy
 * @ld:		loader
 * @n:		root node
 */
static void ytop(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "version", "network", "egress",
					    "ingress", "dns", "limits" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	long long ver;
	int m;

	if (yis_null(n)) {
		lerr(ld, n, "the policy is empty (it needs at least 'version: 1')");
		return;
	}
	if (!ymap_get(ld, n, "", keys, ARRAY_SIZE(keys), v))
		return;

	if (!v[0])
		lerr(ld, n, "missing required key 'version' (add 'version: 1')");
	else if (!yint(ld, v[0], "version", 0, INT_MAX, &ver) && ver != 1)
		lerr(ld, v[0], "unsupported version %lld (this moat reads version 1)",
		     ver);

	if (v[1]) {
		m = yenum(ld, v[1], "network", net_mode_names,
			  ARRAY_SIZE(net_mode_names),
			  "none, restricted or filtered");
		if (m >= 0)
			ld->p->mode = (enum net_mode)m;
	}
	if (v[2])
		yegress(ld, v[2]);
	if (v[3])
		yingress(ld, v[3]);
	if (v[4])
		ydns(ld, v[4]);
	if (v[5])
		ylimits(ld, v[5]);

	if (ld->p->mode == NET_NONE && ld->p->npublish)
		lerr(ld, v[3], "ingress.publish needs a network interface, and network: none has none (use network: restricted)");
}

/**
 * policy_load_buf() - load a policy from YAML text
 * @p:		policy, initialised; its previous contents are released
 * @name:	file name for error locations
 * @buf:	YAML text
 * @len:	length of @buf
 * @el:		error list, each problem is added as FILE:LINE:COL
 *
 * Return: 0 on success, -1 if any error was found; @p is then empty
 *	   (policy_init() state) and owns nothing
 */
int policy_load_buf(struct policy *p, const char *name, const char *buf,
		    size_t len, struct errlist *el)
{
	struct loader ld = { .el = el, .nerr = el->n };
	struct ynode *root;
	struct policy tmp;

	policy_free(p);
	policy_init(&tmp);
	ld.p = &tmp;
	ld.file = policy_intern(&tmp, name ? name : "<policy>");

	if (!yaml_build(&ld, buf, len, &root)) {
		if (!root) {
			errlist_add(el, ld.file, 1, 1,
				    "the policy is empty (it needs at least 'version: 1')");
		} else {
			ycheck_keys(&ld, root);
			ytop(&ld, root);
		}
		ynode_free(root);
	}

	if (el->n != ld.nerr) {
		policy_free(&tmp);
		return -1;
	}
	*p = tmp;
	return 0;
}

/**
 * policy_load_file() - load a policy from a YAML file
 * @p:		policy, initialised; its previous contents are released
 * @path:	file name
 * @el:		error list
 *
 * Return: 0 on success, -1 if the file cannot be read or has errors
 */
int policy_load_file(struct policy *p, const char *path, struct errlist *el)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	autofree char *buf = NULL;
	size_t len = 0;
	struct stat st;

	policy_free(p);
	if (fd < 0 || fstat(fd, &st)) {
		errlist_add(el, path, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISCHR(st.st_mode)) {
		errlist_add(el, path, 0, 0, "not a regular file");
		return -1;
	}

	buf = xmalloc(POLICY_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, POLICY_FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errlist_add(el, path, 0, 0, "cannot read: %s",
				    strerror(errno));
			return -1;
		}
		if (!r)
			break;
		len += (size_t)r;
		if (len > POLICY_FILE_MAX) {
			errlist_add(el, path, 0, 0,
				    "larger than %d bytes, not a policy",
				    POLICY_FILE_MAX);
			return -1;
		}
	}
	return policy_load_buf(p, path, buf, len, el);
}

/* ------------------------------------------------------------------------
 * Checks for this version
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
 * lint_name_covers() - tell if a domain pattern matches all another does
 * @a:		normalised pattern, exact or "*.suffix"
 * @b:		normalised pattern, exact or "*.suffix"
 *
 * Return: true if every name @b matches is matched by @a
 */
static bool lint_name_covers(const char *a, const char *b)
{
	size_t al, bl;

	if (!strcmp(a, b))
		return true;
	if (a[0] != '*')
		return false;
	a++;				/* ".suffix" */
	al = strlen(a);
	bl = strlen(b);
	return bl > al && !strcmp(b + bl - al, a);
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
			 lint_name_covers(a->domain, b->domain);
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
					 target_format(b, buf, sizeof(buf)),
					 i + 1, lint_where(&a->loc, where,
							   sizeof(where)));
			else
				lint_add(warn, &b->loc,
					 "rule %zu (%s %s) is shadowed by rule %zu at %s (%s %s), which matches everything it would: it never decides anything",
					 j + 1, b->allow ? "allow" : "deny",
					 target_format(b, buf, sizeof(buf)),
					 i + 1, lint_where(&a->loc, where,
							   sizeof(where)),
					 a->allow ? "allow" : "deny",
					 target_format(a, abuf, sizeof(abuf)));
			break;
		}
	}
	if (p->mode == NET_FILTERED && p->egress_default == EGRESS_DENY &&
	    public && !dom_allow)
		lint_add(warn, &p->loc_default,
			 "egress.default is deny and no rule allows a domain name: every DNS lookup is answered NXDOMAIN (address rules do not make names resolve), so a program connecting by name reaches nothing; add domain allow rules (allow: github.com)");
	if (p->mode != NET_FILTERED && p->nrules)
		lint_add(warn, &p->rules[0].loc,
			 "network %s sends nothing out: the egress rules are never used",
			 net_mode_name(p->mode));
	return (int)(warn->n - n0);
}

/* ------------------------------------------------------------------------
 * Printers
 */

/**
 * yaml_plain_ok() - tell if a string can be written as a plain scalar
 * @s:		string
 *
 * Return: true if @s reads back as the same string, not a number, boolean
 *	   or null, in any YAML parser
 */
static bool yaml_plain_ok(const char *s)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	const char *c;

	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	if (strspn(s, "0123456789") == strlen(s))
		return false;
	for (c = s; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '-' || *c == '_' || *c == '/'))
			return false;
	}
	return name_lookup(words, ARRAY_SIZE(words), s) < 0;
}

/**
 * yaml_put_str() - write a string scalar, quoted if needed
 * @f:		stream
 * @s:		string
 */
static void yaml_put_str(FILE *f, const char *s)
{
	if (yaml_plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/**
 * yaml_put_ports() - write a port list in flow style
 * @f:		stream
 * @r:		rule
 */
static void yaml_put_ports(FILE *f, const struct rule *r)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < r->nports; i++) {
		if (i)
			fputs(", ", f);
		if (r->ports[i].lo == r->ports[i].hi)
			fprintf(f, "%u", r->ports[i].lo);
		else
			fprintf(f, "\"%u-%u\"", r->ports[i].lo,
				r->ports[i].hi);
	}
	fputc(']', f);
}

/**
 * policy_print() - write the normalised policy as YAML
 * @p:		policy
 * @f:		stream
 *
 * Every key is written, defaults included, in a fixed order; the output
 * loads again into the same policy and prints identically.
 */
void policy_print(const struct policy *p, FILE *f)
{
	char buf[128];
	size_t i, j, k;

	fprintf(f, "version: 1\n");
	fprintf(f, "network: %s\n", net_mode_name(p->mode));

	fprintf(f, "egress:\n");
	fprintf(f, "  default: %s\n", egress_default_name(p->egress_default));
	fprintf(f, "  rules:%s\n", p->nrules ? "" : " []");
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		fprintf(f, "    - %s: ", r->allow ? "allow" : "deny");
		yaml_put_str(f, target_format(r, buf, sizeof(buf)));
		fputc('\n', f);
		if (r->nports) {
			fprintf(f, "      ports: ");
			yaml_put_ports(f, r);
			fputc('\n', f);
		}
		fprintf(f, "      protocol: %s\n", proto_name(r->proto));
	}

	fprintf(f, "ingress:\n");
	fprintf(f, "  publish:%s\n", p->npublish ? "" : " []");
	for (i = 0; i < p->npublish; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, publish_format(&p->publish[i], buf,
					       sizeof(buf)));
		fputc('\n', f);
	}
	fprintf(f, "  allow_from:%s\n", p->nallow_from ? "" : " []");
	for (i = 0; i < p->nallow_from; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, pfx_text(&p->allow_from[i], buf,
					 sizeof(buf)));
		fputc('\n', f);
	}

	fprintf(f, "dns:\n");
	fprintf(f, "  rebind_protection: %s\n",
		p->rebind_protection ? "true" : "false");
	fprintf(f, "  block:%s\n", p->ndns_block ? "" : " []");
	for (i = 0; i < p->ndns_block; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, p->dns_block[i]);
		fputc('\n', f);
	}
	fprintf(f, "  records:%s\n", p->ndns_records ? "" : " {}");
	for (i = 0; i < p->ndns_records; i = j) {
		for (j = i + 1; j < p->ndns_records; j++) {
			if (strcmp(p->dns_records[i].name,
				   p->dns_records[j].name))
				break;
		}
		fprintf(f, "    ");
		yaml_put_str(f, p->dns_records[i].name);
		fprintf(f, ": ");
		if (j - i > 1)
			fputc('[', f);
		for (k = i; k < j; k++) {
			if (k > i)
				fputs(", ", f);
			yaml_put_str(f, pfx_text(&p->dns_records[k].addr,
						 buf, sizeof(buf)));
		}
		if (j - i > 1)
			fputc(']', f);
		fputc('\n', f);
	}
	fprintf(f, "  upstream:%s\n", p->ndns_upstream ? "" : " []");
	for (i = 0; i < p->ndns_upstream; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, pfx_text(&p->dns_upstream[i], buf,
					 sizeof(buf)));
		fputc('\n', f);
	}
	fprintf(f, "  ttl:\n");
	fprintf(f, "    min: %u\n", p->ttl_min);
	fprintf(f, "    max: %u\n", p->ttl_max);

	fprintf(f, "limits:\n");
	fprintf(f, "  bandwidth: %s\n",
		rate_format(p->bandwidth_bps, buf, sizeof(buf)));
	fprintf(f, "  connections: %u\n",
		p->connections ? p->connections : POLICY_CONNECTIONS_DEFAULT);
	fprintf(f, "  flows: %u\n", p->flows ? p->flows : POLICY_FLOWS_DEFAULT);
}

/**
 * json_prefix() - a prefix as a JSON string
 * @pfx:	prefix
 *
 * Return: new reference
 */
static json_t *json_prefix(const struct prefix *pfx)
{
	char buf[64];

	return json_string(pfx_text(pfx, buf, sizeof(buf)));
}

/**
 * policy_to_json() - the normalised policy as a JSON object
 * @p:		policy
 *
 * The content and field names are those of policy_print().
 *
 * Return: new reference
 */
json_t *policy_to_json(const struct policy *p)
{
	json_t *o = json_object(), *eg, *in, *dns, *lim, *a, *ttl, *rec;
	const char *s;
	char buf[128];
	size_t i, j, k;

	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "network", json_string(net_mode_name(p->mode)));

	eg = json_object();
	s = egress_default_name(p->egress_default);
	json_object_set_new(eg, "default", json_string(s));
	a = json_array();
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		json_t *jr = json_object(), *jp;

		json_object_set_new(jr, r->allow ? "allow" : "deny",
				    json_string(target_format(r, buf,
							      sizeof(buf))));
		if (r->nports) {
			jp = json_array();
			for (j = 0; j < r->nports; j++) {
				if (r->ports[j].lo == r->ports[j].hi) {
					json_array_append_new(jp,
						json_integer(r->ports[j].lo));
				} else {
					snprintf(buf, sizeof(buf), "%u-%u",
						 r->ports[j].lo,
						 r->ports[j].hi);
					json_array_append_new(jp,
							      json_string(buf));
				}
			}
			json_object_set_new(jr, "ports", jp);
		}
		json_object_set_new(jr, "protocol",
				    json_string(proto_name(r->proto)));
		json_array_append_new(a, jr);
	}
	json_object_set_new(eg, "rules", a);
	json_object_set_new(o, "egress", eg);

	in = json_object();
	a = json_array();
	for (i = 0; i < p->npublish; i++)
		json_array_append_new(a, json_string(publish_format(
			&p->publish[i], buf, sizeof(buf))));
	json_object_set_new(in, "publish", a);
	a = json_array();
	for (i = 0; i < p->nallow_from; i++)
		json_array_append_new(a, json_prefix(&p->allow_from[i]));
	json_object_set_new(in, "allow_from", a);
	json_object_set_new(o, "ingress", in);

	dns = json_object();
	json_object_set_new(dns, "rebind_protection",
			    json_boolean(p->rebind_protection));
	a = json_array();
	for (i = 0; i < p->ndns_block; i++)
		json_array_append_new(a, json_string(p->dns_block[i]));
	json_object_set_new(dns, "block", a);
	rec = json_object();
	for (i = 0; i < p->ndns_records; i = j) {
		for (j = i + 1; j < p->ndns_records; j++) {
			if (strcmp(p->dns_records[i].name,
				   p->dns_records[j].name))
				break;
		}
		if (j - i == 1) {
			a = json_prefix(&p->dns_records[i].addr);
			json_object_set_new(rec, p->dns_records[i].name, a);
		} else {
			a = json_array();
			for (k = i; k < j; k++)
				json_array_append_new(a,
					json_prefix(&p->dns_records[k].addr));
			json_object_set_new(rec, p->dns_records[i].name, a);
		}
	}
	json_object_set_new(dns, "records", rec);
	a = json_array();
	for (i = 0; i < p->ndns_upstream; i++)
		json_array_append_new(a, json_prefix(&p->dns_upstream[i]));
	json_object_set_new(dns, "upstream", a);
	ttl = json_object();
	json_object_set_new(ttl, "min", json_integer(p->ttl_min));
	json_object_set_new(ttl, "max", json_integer(p->ttl_max));
	json_object_set_new(dns, "ttl", ttl);
	json_object_set_new(o, "dns", dns);

	lim = json_object();
	json_object_set_new(lim, "bandwidth", json_string(
		rate_format(p->bandwidth_bps, buf, sizeof(buf))));
	json_object_set_new(lim, "connections", json_integer(
		p->connections ? p->connections : POLICY_CONNECTIONS_DEFAULT));
	json_object_set_new(lim, "flows", json_integer(
		p->flows ? p->flows : POLICY_FLOWS_DEFAULT));
	json_object_set_new(o, "limits", lim);

	return o;
}
