// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy_value.c - the values of a policy as text: rule targets, ports,
 * protocols, published ports, rates, command-line rules; parsed and printed
 *
 * Theory of operation
 * -------------------
 * The parsers for a rule target, a port list, a protocol, a published port
 * and a rate are shared by the YAML loader (policy_yaml.c) and the command
 * line (--allow, --deny, --publish, --bandwidth), and report through a
 * struct policy_where, which carries either a file position or a
 * pseudo-source such as "--allow 'x:99999'": an error is one record in
 * the caller's struct errlist, and the caller decides when to stop.
 *
 * Each value's printed form is next to its parser (policy_target_text(),
 * policy_publish_text(), policy_rate_text()), so that what the printers
 * write (policy_print.c) reads back as the same value.
 *
 * A command-line rule is TARGET[:PORTS][/PROTO] (policy_parse_rule_arg()):
 * an IPv6 address with ports or a protocol goes in brackets, and a bare
 * IPv6 address whose last group could be read as a port is refused as
 * ambiguous. Domain names are checked and normalised by names.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "policy.h"
#include "policy_int.h"

#define RATE_MAX		10000000000000ULL	/* 10 Tbit/s */
#define RATE_BIT_UNITS		5	/* bit, kbit, mbit, gbit, tbit */

/* ------------------------------------------------------------------------
 * Error reporting shared by the YAML loader and the command line
 */

/**
 * policy_werr() - add an error record at a struct policy_where
 * @w:		location
 * @fmt:	message format
 */
void policy_werr(const struct policy_where *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_vadd(w->el, w->file, w->line, w->col, fmt, ap);
	va_end(ap);
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
		      const struct policy_where *w)
{
	unsigned long v = 0;
	size_t i;

	if (!len) {
		policy_werr(w, "empty port");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			policy_werr(w, "bad port '%.*s': not a decimal number",
				    (int)(len > 64 ? 64 : len), s);
			return -1;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535) {
		policy_werr(w, "port %.*s out of range 1-65535",
			    (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	if (s[0] == '0') {
		policy_werr(w, "bad port '%.*s': leading zeros are not allowed",
			    (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/**
 * policy_parse_port_range() - parse "PORT" or "LO-HI"
 * @s:		text
 * @len:	length of the text
 * @r:		result
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
int policy_parse_port_range(const char *s, size_t len, struct port_range *r,
			    const struct policy_where *w)
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
		policy_werr(w, "bad port range '%.*s' (expected LO-HI)",
			    (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	ret = parse_port(s, (size_t)(dash - s), &r->lo, w);
	ret |= parse_port(dash + 1, len - (size_t)(dash - s) - 1, &r->hi, w);
	if (ret)
		return -1;
	if (r->lo > r->hi) {
		policy_werr(w, "reversed port range %u-%u (write %u-%u)",
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
 * policy_ports_normalise() - sort port ranges, merge overlapping or adjacent
 * ones
 * @ports:	ranges, rewritten in place
 * @n:		number of ranges, updated
 */
void policy_ports_normalise(struct port_range *ports, size_t *n)
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
 * policy_parse_proto() - parse a protocol name
 * @s:		text
 * @pr:		result
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
int policy_parse_proto(const char *s, enum proto *pr,
		       const struct policy_where *w)
{
	int i = policy_name_lookup(policy_proto_names,
				   ARRAY_SIZE(policy_proto_names), s);

	if (i < 0) {
		policy_werr(w, "unknown protocol '%.64s' (expected tcp, udp, icmp or any)",
			    s);
		return -1;
	}
	*pr = (enum proto)i;
	return 0;
}

/* ------------------------------------------------------------------------
 * Rule targets
 */

/**
 * policy_looks_like_address() - tell an attempted address from a domain name
 * @s:		target text
 *
 * Return: true if @s has a ':' or '/' or only digits and dots
 */
bool policy_looks_like_address(const char *s)
{
	if (strpbrk(s, ":/"))
		return true;
	return strspn(s, "0123456789.") == strlen(s);
}

/**
 * policy_parse_link() - parse the NAME of a link target "sandbox:NAME"
 * @name:	text after "sandbox:"
 * @r:		rule to fill (@kind, @domain)
 * @w:		where to report errors
 *
 * A link names exactly one sandbox, by its name as "moat create --name"
 * takes it (1 to MOAT_NAME_MAX of [A-Za-z0-9_.-], a letter or digit
 * first): a group, an address or prefix, or a wildcard in its place is
 * refused, since a link is a consent between two named sandboxes and
 * never a way to open a range of them.
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int policy_parse_link(const char *name, struct rule *r,
			     const struct policy_where *w)
{
	enum addr_group g;
	size_t i, n = strlen(name);

	if (!n) {
		policy_werr(w, "'%s' needs a sandbox name: %sNAME",
			    POLICY_LINK_PREFIX, POLICY_LINK_PREFIX);
		return -1;
	}
	if (strchr(name, '*')) {
		policy_werr(w, "'%s%.64s': a link names one sandbox, not a wildcard",
			    POLICY_LINK_PREFIX, name);
		return -1;
	}
	if (!addr_group_parse(name, &g)) {
		policy_werr(w, "'%s%.64s': a link names one sandbox, not a group of addresses",
			    POLICY_LINK_PREFIX, name);
		return -1;
	}
	if (strpbrk(name, ":/") ||
	    strspn(name, "0123456789.") == n) {
		policy_werr(w, "'%s%.64s': a link names one sandbox, not an address or CIDR",
			    POLICY_LINK_PREFIX, name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			break;
	}
	if (n > MOAT_NAME_MAX || i < n || !isalnum((unsigned char)name[0])) {
		policy_werr(w, "'%s%.64s': not a sandbox name (1 to %d of A-Z, a-z, 0-9, '_', '.', '-', a letter or digit first)",
			    POLICY_LINK_PREFIX, name, MOAT_NAME_MAX);
		return -1;
	}
	r->kind = TARGET_SANDBOX;
	snprintf(r->domain, sizeof(r->domain), "%s%s", POLICY_LINK_PREFIX,
		 name);
	return 0;
}

/**
 * policy_parse_target() - parse a rule target: group, address or CIDR, or
 * domain
 * @s:		text
 * @r:		rule to fill (@kind, @group, @pfx or @domain)
 * @w:		where to report errors
 *
 * Return: 0 on success, -1 after reporting an error
 */
int policy_parse_target(const char *s, struct rule *r,
			const struct policy_where *w)
{
	const char *why;
	char fixed[64];

	if (!*s) {
		policy_werr(w, "empty target");
		return -1;
	}
	if (!strncmp(s, POLICY_LINK_PREFIX, strlen(POLICY_LINK_PREFIX)))
		return policy_parse_link(s + strlen(POLICY_LINK_PREFIX), r, w);
	if (!addr_group_parse(s, &r->group)) {
		r->kind = TARGET_GROUP;
		return 0;
	}
	if (policy_looks_like_address(s)) {
		struct prefix pfx;

		if (!prefix_parse(s, &r->pfx, true)) {
			r->kind = TARGET_CIDR;
			return 0;
		}
		if (!prefix_parse(s, &pfx, false) &&
		    !prefix_format(&pfx, fixed, sizeof(fixed))) {
			policy_werr(w, "host bits set in '%.64s' (did you mean %s?)",
				    s, fixed);
			return -1;
		}
		policy_werr(w, "'%.64s' is not a valid address or CIDR", s);
		return -1;
	}
	if (names_normalise(s, r->domain, sizeof(r->domain), true, &why)) {
		policy_werr(w, "'%.64s' is not a valid domain name: %s", s, why);
		return -1;
	}
	if (!strchr(r->domain, '.')) {
		policy_werr(w, "'%.64s' is neither a group (loopback, private, link-local, metadata, multicast, host, reserved, public) nor a fully qualified domain name",
			    s);
		return -1;
	}
	r->kind = TARGET_DOMAIN;
	return 0;
}

/**
 * policy_pfx_text() - text of a prefix: an address alone for a /32 or /128
 * @pfx:	prefix
 * @buf:	buffer, at least INET6_ADDRSTRLEN + 4 bytes
 * @len:	size of @buf
 *
 * Addresses are written without their length so that the text reads back
 * both as a prefix and as an address (dns.records, dns.upstream, a bind).
 *
 * Return: @buf
 */
const char *policy_pfx_text(const struct prefix *pfx, char *buf, size_t len)
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
 * policy_target_text() - the normalised text of a rule's target
 * @r:		rule
 * @buf:	buffer for addresses
 * @len:	size of @buf
 *
 * Return: the text, in @buf or in @r or static
 */
const char *policy_target_text(const struct rule *r, char *buf, size_t len)
{
	switch (r->kind) {
	case TARGET_CIDR:
		return policy_pfx_text(&r->pfx, buf, len);
	case TARGET_GROUP:
		return addr_group_name(r->group);
	case TARGET_DOMAIN:
	case TARGET_SANDBOX:
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
	struct policy_where w = { el, file, line, col };
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
			policy_werr(&w, "publish '%.64s': protocol must be tcp or udp",
				    arg);
			goto out;
		}
	}

	if (s[0] == '[') {
		char *close = strchr(s, ']');

		if (!close) {
			policy_werr(&w, "publish '%.64s': missing ']'", arg);
			goto out;
		}
		*close = '\0';
		bind = s + 1;
		if (close[1] != ':') {
			policy_werr(&w, "publish '%.64s': expected ':' after ']'", arg);
			goto out;
		}
		ports = close + 2;
		if (!strchr(bind, ':')) {
			policy_werr(&w, "publish '%.64s': brackets are only for IPv6 addresses",
				    arg);
			goto out;
		}
	} else {
		char *c1 = strchr(s, ':'), *c2 = NULL;

		if (c1)
			c2 = strchr(c1 + 1, ':');

		if (!c1) {
			policy_werr(&w, "publish '%.64s': expected [BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]",
				    arg);
			goto out;
		}
		if (c2 && strchr(c2 + 1, ':')) {
			policy_werr(&w, "publish '%.64s': an IPv6 bind address goes in brackets, as in [::1]:8080:80",
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
		policy_werr(&w, "publish '%.64s': expected [BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]",
			    arg);
		goto out;
	}
	*sp++ = '\0';
	if (strchr(hp, '-') || strchr(sp, '-')) {
		policy_werr(&w, "publish '%.64s': port ranges are not supported", arg);
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
			policy_werr(&w, "publish '%.64s': bad bind address '%.64s'",
				    arg, bind);
			ret = -1;
			goto out;
		}
		if (pub.bind.family == AF_INET6 && s[0] != '[') {
			policy_werr(&w, "publish '%.64s': an IPv6 bind address goes in brackets, as in [::1]:8080:80",
				    arg);
			ret = -1;
			goto out;
		}
		if (pub.bind.family == AF_INET && s[0] == '[') {
			policy_werr(&w, "publish '%.64s': brackets are only for IPv6 addresses",
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
 * policy_publish_text() - normalised text of a published port
 * @pub:	published port
 * @buf:	buffer
 * @len:	size of @buf
 *
 * Return: @buf, holding "BIND:HOSTPORT:SANDBOXPORT/PROTO"
 */
const char *policy_publish_text(const struct publish *pub, char *buf,
				size_t len)
{
	char a[64];

	policy_pfx_text(&pub->bind, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u:%u/%s",
		 pub->bind.family == AF_INET6 ? "[" : "", a,
		 pub->bind.family == AF_INET6 ? "]" : "",
		 pub->host_port, pub->sandbox_port, proto_name(pub->proto));
	return buf;
}

/**
 * policy_publish_conflict() - do two published ports compete for one host
 * socket
 * @a:		first
 * @b:		second
 *
 * Return: true for the same protocol and host port, and the same bind
 *	   address or one of them the unspecified address of the same family
 */
bool policy_publish_conflict(const struct publish *a, const struct publish *b)
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

/* bit units first (RATE_BIT_UNITS of them: the printed form), then bytes */
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
 * policy_rate_text() - shortest exact text of a rate, in bit units
 * @bps:	bits per second, 0 for unlimited
 * @buf:	buffer
 * @len:	size of @buf
 *
 * Return: @buf
 */
const char *policy_rate_text(uint64_t bps, char *buf, size_t len)
{
	int i;

	if (!bps) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	for (i = RATE_BIT_UNITS - 1; i > 0; i--) {
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
			   const struct policy_where *w)
{
	struct port_range *ports = NULL;
	size_t n = 0;
	int ret = 0;

	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct port_range pr;

		if (!len) {
			policy_werr(w, "empty port in list");
			ret = -1;
		} else if (policy_parse_port_range(s, len, &pr, w)) {
			ret = -1;
		} else {
			*(struct port_range *)policy_array_add(&ports, &n,
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
 * link_finish() - what a link rule (a TARGET_SANDBOX target) must say
 * @r:		rule, its ports as written
 * @w:		where to report errors
 *
 * A link is always an allow (nothing reaches another sandbox without
 * one, so a deny says nothing), names its ports (at most
 * POLICY_LINK_PORTS_MAX of them, counting every port of a range) and
 * carries TCP, UDP or both, never ICMP.
 *
 * Return: 0 if fine, -1 after reporting an error
 */
static int link_finish(const struct rule *r, const struct policy_where *w)
{
	size_t i, n = 0;

	if (!r->allow) {
		policy_werr(w, "'%s': a deny cannot name a sandbox (nothing reaches another sandbox without a link)",
			    r->domain);
		return -1;
	}
	if (r->proto == PROTO_ICMP) {
		policy_werr(w, "'%s': a link carries tcp, udp or any, not icmp",
			    r->domain);
		return -1;
	}
	if (!r->nports) {
		policy_werr(w, "'%s': a link needs its ports", r->domain);
		return -1;
	}
	for (i = 0; i < r->nports; i++)
		n += (size_t)(r->ports[i].hi - r->ports[i].lo) + 1;
	if (n > POLICY_LINK_PORTS_MAX) {
		policy_werr(w, "'%s': a link opens at most %d ports, this one %zu",
			    r->domain, POLICY_LINK_PORTS_MAX, n);
		return -1;
	}
	return 0;
}

/**
 * policy_rule_finish() - checks on a whole rule, then sort and merge its ports
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
int policy_rule_finish(struct rule *r, const struct policy_where *w)
{
	static const uint16_t i4_ports[] = { 53, 137, 138, 853, 5353, 5355 };
	size_t i, j;

	if (r->kind == TARGET_SANDBOX && link_finish(r, w))
		return -1;
	if (r->proto == PROTO_ICMP && r->nports) {
		policy_werr(w, "ports make no sense with protocol icmp");
		return -1;
	}
	for (i = 0; r->allow && i < r->nports; i++) {
		if (r->ports[i].lo != r->ports[i].hi)
			continue;
		for (j = 0; j < ARRAY_SIZE(i4_ports); j++) {
			if (r->ports[i].lo != i4_ports[j])
				continue;
			policy_werr(w, "port %u is never reachable from a sandbox: DNS goes to moat's interceptor, and DoT, DoQ, NetBIOS, mDNS and LLMNR are always dropped (invariant I4)",
				    r->ports[i].lo);
			return -1;
		}
	}
	policy_ports_normalise(r->ports, &r->nports);
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
static int rule_arg_ambiguous6(const char *s, const struct policy_where *w)
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
	policy_werr(w, "ambiguous: write [%s]:%s for port %s of %s, or [%s] for the address",
		    buf, last + 1, last + 1, buf, s);
	return -1;
}

static int rule_arg(struct policy *p, const char *arg, bool allow,
		    const char *optname, struct errlist *el, bool accept);

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
	return rule_arg(p, arg, allow, optname, el, false);
}

/**
 * policy_parse_accept_arg() - parse an --accept sandbox:NAME:PORTS[/PROTO]
 * and append it to the policy's ingress.accept
 * @p:		policy
 * @arg:	the text, e.g. "sandbox:agent:5432/tcp"
 * @el:		error list
 *
 * Return: 0 on success, -1 after adding errors to @el (@p unchanged)
 */
int policy_parse_accept_arg(struct policy *p, const char *arg,
			    struct errlist *el)
{
	return rule_arg(p, arg, true, "--accept", el, true);
}

/**
 * rule_arg() - parse a --allow / --deny RULE or an --accept LINK
 * @p:		policy to append the rule to
 * @arg:	the text
 * @allow:	true for --allow and --accept, false for --deny
 * @optname:	option name, for the rule's origin and errors
 * @el:		error list
 * @accept:	--accept: @arg must be sandbox:NAME:PORTS[/PROTO], and goes
 *		to the policy's ingress.accept
 *
 * Return: 0 on success, -1 after adding errors to @el (@p unchanged)
 */
static int rule_arg(struct policy *p, const char *arg, bool allow,
		    const char *optname, struct errlist *el, bool accept)
{
	struct rule r = { .allow = allow, .proto = PROTO_ANY };
	char *s = xstrdup(arg), *target = s, *ports = NULL, *proto = NULL;
	char *src = xasprintf("%s '%s'", optname, arg);
	struct policy_where w = { el, src, 0, 0 };
	bool bare6 = false;
	int ret = 0;

	if (!strncmp(s, POLICY_LINK_PREFIX, strlen(POLICY_LINK_PREFIX))) {
		char *name = s + strlen(POLICY_LINK_PREFIX), *slash, *colon;

		slash = strrchr(name, '/');
		if (slash && (!slash[1] ||
			      strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
			      strlen(slash + 1))) {
			*slash = '\0';
			proto = slash + 1;
		}
		colon = strchr(name, ':');
		if (colon) {
			*colon = '\0';
			ports = colon + 1;
		}
	} else if (accept) {
		policy_werr(&w, "expected %sNAME:PORTS[/PROTO]: only a named sandbox can be accepted",
			    POLICY_LINK_PREFIX);
		ret = -1;
		goto out;
	} else if (s[0] == '[') {
		char *close = strchr(s, ']'), *rest;

		if (!close) {
			policy_werr(&w, "missing ']'");
			ret = -1;
			goto out;
		}
		*close = '\0';
		target = s + 1;
		rest = close + 1;
		if (!strchr(target, ':')) {
			policy_werr(&w, "brackets are only for IPv6 addresses");
			ret = -1;
			goto out;
		}
		if (*rest == ':') {
			ports = rest + 1;
		} else if (*rest == '/') {
			*rest = '\0';
			proto = rest + 1;
		} else if (*rest) {
			policy_werr(&w, "unexpected '%.64s' after ']'", rest);
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
				policy_werr(&w, "host bits set (did you mean %s?)",
					    fixed);
			else
				policy_werr(&w, "not a valid IPv6 address or CIDR (with ports or a protocol, use brackets: [2001:db8::1]:443/tcp)");
			ret = -1;
			goto out;
		}
		r.kind = TARGET_CIDR;
		if (rule_arg_ambiguous6(target, &w)) {
			ret = -1;
			goto out;
		}
	} else if (policy_parse_target(target, &r, &w)) {
		ret = -1;
	}
	if (ports && !*ports) {
		policy_werr(&w, "empty port list after ':'");
		ret = -1;
	} else if (ports && parse_port_list(ports, &r, &w)) {
		ret = -1;
	}
	if (proto && !*proto) {
		policy_werr(&w, "empty protocol after '/'");
		ret = -1;
	} else if (proto && policy_parse_proto(proto, &r.proto, &w)) {
		ret = -1;
	}
	if (!ret && policy_rule_finish(&r, &w))
		ret = -1;
	if (ret) {
		free(r.ports);
		goto out;
	}

	r.loc.file = policy_intern(p, optname);
	if (accept)
		*(struct rule *)policy_array_add(&p->accept, &p->naccept,
						 sizeof(r)) = r;
	else
		*(struct rule *)policy_array_add(&p->rules, &p->nrules,
						 sizeof(r)) = r;
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
