// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * proxy.c - transparent egress proxy: decisions and their counters
 *
 * Theory of operation
 * -------------------
 * Pinning alone cannot tell two names on one address apart (CDNs, shared
 * hosting). When a policy has domain rules, TCP 80, 443 and every port a
 * domain rule names are redirected to the sandbox's supervisor, which reads
 * the name the client asked for (the TLS SNI, tls.c, or the Host of every
 * HTTP request, http.c), decides here, and then gets out of the way.
 *
 * The connection the supervisor opens to the original destination leaves
 * from the host, not through the sandbox's forward chain. The kernel
 * judges it all the same: its socket carries the sandbox's mark, and the
 * output hook sends it through the sandbox's own chains (nft.c,
 * nft_out_chain_text(): loopback, then the input chain for whatever the
 * kernel routes as local at connect time, else the forward chain with the
 * policy's rules in order). A connection the kernel refuses there fails
 * with ICMP administratively prohibited, and is refused to the client as
 * PROXY_DENY_KERNEL (fwd_proxy.c). The decision here can only narrow
 * that:
 *
 *   1. a destination in the sandbox pools (I1), or a loopback or
 *      unspecified address in any form (0.0.0.0, ::, ::ffff:127.0.0.2,
 *      which the host's connect() delivers to its own loopback: I2), is
 *      refused whatever the name;
 *   2. the parser's refusals: an invalid name, a malformed, oversized
 *      or non-TLS hello; for HTTP no Host, userinfo, Host and authority
 *      that disagree (an address literal beside a name included),
 *      CONNECT, HTTP/2 prior knowledge;
 *   3. the rules in policy order, first match wins across domain and
 *      address rules, as in the forward chain (proxy_decide_rules()): an
 *      address (CIDR or group) rule matches the destination and port,
 *      a domain rule only the name the client gave (no SNI, or an
 *      address literal as SNI or Host, is no name): a deny rule the name,
 *      an allow rule the name where the destination is pinned for it
 *      (dns_pinned(): returned to this sandbox in an answer for it,
 *      within the TTL), as its pin sets do in the forward chain. So
 *      "deny: ADDR" before "allow: NAME" refuses; "deny: NAME" before
 *      "allow: ADDR" refuses that name at the address, and only that
 *      name: an address rule that allows the destination allows it
 *      whatever name it carries, or none;
 *   4. what no rule matches: a name that a domain allow rule covers but
 *      that is not pinned here is refused as a forged resolution ("curl
 *      --resolve allowed:443:OTHER"); another name is judged by
 *      egress.default as the forward chain judges it; a connection
 *      without a name is refused (no-sni, sni-ip-literal,
 *      host-ip-literal) whatever the default: only an explicit address
 *      rule lets a client skip the name.
 *
 * On 80 and 443 the client must speak first. On the other ports a domain
 * rule names, it may not (SMTP, databases): there the connection is
 * decided on its destination alone when it is accepted
 * (proxy_decide_addr(): pinned for a name a domain rule allows on that
 * port, or the address rules: what the kernel decides without a proxy),
 * and the client's first bytes are judged as above if they are a
 * ClientHello or can start an HTTP request line by its grammar
 * (http_request_start(): any method, empty lines first); only bytes that
 * cannot (another protocol) pass.
 *
 * A TLS connection is followed past its first ClientHello (fwd_proxy.c):
 * a second one, which a server acts on after a HelloRetryRequest, is
 * judged like the first and refused as sni-changed if it names another
 * host (a name after a first hello without one included).
 *
 * Two reasons are intercept.c's, for names whose TLS it terminates:
 * secret-leak (a request carries a secret's placeholder to a host that may
 * not receive it; also a plain-HTTP head that carries one) and
 * upstream-certificate (the server failed verification).
 *
 * Every decision is counted by reason (struct proxy_counters, shown by
 * "moat inspect"); a refused HTTP request gets a 403 whose X-Moat-Denied
 * header carries the reason, a refused TLS connection a fatal
 * access_denied alert (proxy_tls_alert()) and a close, so that the
 * client's TLS library names the cause.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "dns.h"
#include "err.h"
#include "proxy.h"

static const char *const proxy_reasons[PROXY_REASON_COUNT] = {
	[PROXY_ALLOW_NAME]		= "allowed-name",
	[PROXY_ALLOW_ADDR]		= "allowed-address",
	[PROXY_ALLOW_PIN]		= "allowed-pinned-address",
	[PROXY_DENY_NAME]		= "name-denied",
	[PROXY_DENY_NOT_PINNED]		= "not-pinned",
	[PROXY_DENY_NOT_ALLOWED]	= "not-allowed",
	[PROXY_DENY_SANDBOX]		= "sandbox",
	[PROXY_DENY_HOST]		= "host",
	[PROXY_DENY_KERNEL]		= "kernel-denied",
	[PROXY_DENY_NO_SNI]		= "no-sni",
	[PROXY_DENY_SNI_IP]		= "sni-ip-literal",
	[PROXY_DENY_SNI_INVALID]	= "sni-invalid",
	[PROXY_DENY_TLS_MALFORMED]	= "tls-malformed",
	[PROXY_DENY_TLS_TOO_LARGE]	= "tls-too-large",
	[PROXY_DENY_NOT_TLS]		= "not-tls",
	[PROXY_DENY_HTTP_MALFORMED]	= "http-malformed",
	[PROXY_DENY_HTTP_TOO_LARGE]	= "http-too-large",
	[PROXY_DENY_NO_HOST]		= "no-host",
	[PROXY_DENY_HOST_MISMATCH]	= "host-mismatch",
	[PROXY_DENY_HOST_IP]		= "host-ip-literal",
	[PROXY_DENY_HOST_INVALID]	= "host-invalid",
	[PROXY_DENY_USERINFO]		= "userinfo",
	[PROXY_DENY_CONNECT_METHOD]	= "connect-method",
	[PROXY_DENY_HTTP2]		= "http2-prior-knowledge",
	[PROXY_DENY_SNI_CHANGED]	= "sni-changed",
	[PROXY_DENY_SECRET_LEAK]	= "secret-leak",
	[PROXY_DENY_UPSTREAM_CERT]	= "upstream-certificate",
	[PROXY_DENY_LIMIT]		= "connection-limit",
	[PROXY_DENY_TIMEOUT]		= "timeout",
	[PROXY_FAIL_CONNECT]		= "connect-failed",
	[PROXY_CLOSED_EARLY]		= "closed-before-first-byte",
};

/**
 * proxy_port_matches() - does a rule's protocol and ports cover TCP @port
 * @r:		rule
 * @port:	destination port
 *
 * Return: true if it does
 */
static bool proxy_port_matches(const struct rule *r, uint16_t port)
{
	size_t i;

	if (r->proto != PROTO_ANY && r->proto != PROTO_TCP)
		return false;
	if (!r->nports)
		return true;
	for (i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

/**
 * proxy_domain_rule() - the first domain rule covering a name and TCP port
 * @p:		effective policy
 * @name:	SNI or Host (any case, trailing dot allowed)
 * @port:	destination port
 * @v:		set to its verdict, PROXY_NAME_NONE if there is none
 *
 * Domain rules are matched as the DNS interceptor matches them
 * (names_match(): "github.com" is not "evilgithub.com" nor
 * "github.com.evil.example"), in policy order, first match wins; a rule
 * whose ports or protocol do not cover TCP @port is skipped. A name that
 * does not normalise never matches.
 *
 * Return: the rule's 0-based index, or @p->nrules if none matches
 */
size_t proxy_domain_rule(const struct policy *p, const char *name,
			 uint16_t port, enum proxy_name_verdict *v)
{
	char n[POLICY_DOMAIN_MAX + 2];
	size_t k;

	*v = PROXY_NAME_NONE;
	if (names_fold(name, n, sizeof(n)))
		return p->nrules;
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN || !proxy_port_matches(r, port) ||
		    !names_match(r->domain, n))
			continue;
		*v = r->allow ? PROXY_NAME_ALLOW : PROXY_NAME_DENY;
		return k;
	}
	return p->nrules;
}

/**
 * proxy_domain_verdict() - what the first domain rule covering a name and
 * TCP port says
 * @p:		effective policy
 * @name:	SNI or Host (any case, trailing dot allowed)
 * @port:	destination port
 *
 * See proxy_domain_rule().
 *
 * Return: PROXY_NAME_ALLOW, PROXY_NAME_DENY, or PROXY_NAME_NONE
 */
enum proxy_name_verdict proxy_domain_verdict(const struct policy *p,
					     const char *name, uint16_t port)
{
	enum proxy_name_verdict v;

	proxy_domain_rule(p, name, port, &v);
	return v;
}

/**
 * proxy_embedded4() - the IPv4 address an IPv6 address carries, if any
 * @dst:	IPv6 address
 * @v4:		set to the IPv4 address (::ffff:0:0/96, 64:ff9b::/96)
 *
 * Return: true if @dst is IPv4-mapped or NAT64
 */
static bool proxy_embedded4(const struct prefix *dst, struct prefix *v4)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };

	if (dst->family != AF_INET6 || (memcmp(dst->addr, mapped, 12) &&
					memcmp(dst->addr, nat64, 12)))
		return false;
	memset(v4, 0, sizeof(*v4));
	v4->family = AF_INET;
	v4->plen = 32;
	memcpy(v4->addr, dst->addr + 12, 4);
	return true;
}

/**
 * proxy_cidr_matches() - does a CIDR rule cover a destination, as nft.c
 * @r:		rule
 * @dst:	destination (/32 or /128)
 *
 * An IPv4 rule also covers the IPv4-mapped and NAT64 forms (nft_embed4()).
 *
 * Return: true if it does
 */
static bool proxy_cidr_matches(const struct rule *r, const struct prefix *dst)
{
	struct prefix v4;

	if (r->pfx.family == dst->family)
		return prefix_contains(&r->pfx, dst);
	if (r->pfx.family == AF_INET && proxy_embedded4(dst, &v4))
		return prefix_contains(&r->pfx, &v4);
	return false;
}

/**
 * proxy_group() - the group of a destination, by the address it carries
 * @dst:	destination
 *
 * The host's own addresses are not known here: the kernel tells them at
 * connect time (the sandbox's output chain, nft.c), so no address is
 * "host" for this classification.
 *
 * Return: its group (SPEC §4)
 */
static enum addr_group proxy_group(const struct prefix *dst)
{
	return addr_classify(dst->family, dst->addr, NULL, 0);
}

/**
 * proxy_addr_rule() - the first address rule covering a TCP destination
 * @pp:		decision context
 * @dst:	destination (/32 or /128)
 * @port:	destination port
 *
 * CIDR and group rules, in policy order, as the sandbox's forward chain
 * matches them; "host" never matches (it is not forwarded).
 *
 * Return: the rule's 0-based index, or the number of rules if none
 */
static size_t proxy_addr_rule(const struct proxy_policy *pp,
			      const struct prefix *dst, uint16_t port)
{
	const struct policy *p = pp->pol;
	enum addr_group g = proxy_group(dst);
	size_t k;

	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (!proxy_port_matches(r, port))
			continue;
		if (r->kind == TARGET_CIDR && proxy_cidr_matches(r, dst))
			return k;
		if (r->kind == TARGET_GROUP && r->group != GROUP_HOST &&
		    r->group == g)
			return k;
	}
	return p->nrules;
}

/**
 * proxy_addr_allowed() - the address rules' verdict on a TCP destination
 * @pp:		decision context
 * @dst:	destination (/32 or /128)
 * @port:	destination port
 *
 * Mirrors the sandbox's forward chain without its domain rules: CIDR and
 * group rules in order (first match wins; "host" never matches, it is
 * not forwarded), then egress.default.
 *
 * Return: true if allowed
 */
bool proxy_addr_allowed(const struct proxy_policy *pp, const struct prefix *dst,
			uint16_t port)
{
	const struct policy *p = pp->pol;
	size_t k;

	if (p->mode != NET_FILTERED)
		return false;
	k = proxy_addr_rule(pp, dst, port);
	if (k < p->nrules)
		return p->rules[k].allow;
	switch (p->egress_default) {
	case EGRESS_ALLOW:
		return true;
	case EGRESS_PUBLIC:
		return proxy_group(dst) == GROUP_PUBLIC;
	case EGRESS_DENY:
		break;
	}
	return false;
}

/**
 * proxy_decide_never() - refusals whatever the name (steps 1 of the top)
 * @pp:		decision context
 * @dst:	original destination
 *
 * Return: PROXY_DENY_SANDBOX, PROXY_DENY_HOST (a loopback or unspecified
 *	   address, in any form), PROXY_DENY_NOT_ALLOWED (not a filtered
 *	   sandbox), or PROXY_REASON_COUNT if none applies
 */
static enum proxy_reason proxy_decide_never(const struct proxy_policy *pp,
					    const struct prefix *dst)
{
	struct prefix v4;

	if ((dst->family == AF_INET && prefix_contains(&pp->pool4, dst)) ||
	    (dst->family == AF_INET6 && pp->pool6.family == AF_INET6 &&
	     prefix_contains(&pp->pool6, dst)) ||
	    (proxy_embedded4(dst, &v4) && prefix_contains(&pp->pool4, &v4)))
		return PROXY_DENY_SANDBOX;
	if (proxy_group(dst) == GROUP_LOOPBACK)
		return PROXY_DENY_HOST;
	if (pp->pol->mode != NET_FILTERED)
		return PROXY_DENY_NOT_ALLOWED;
	return PROXY_REASON_COUNT;
}

/**
 * proxy_decide_addr() - decide a connection before any name is seen
 * @pp:		decision context
 * @dst:	original destination
 * @port:	original destination port
 *
 * For a port other than 80 and 443 that a domain rule names, the client
 * may wait for the server to speak first (SMTP, many databases): the
 * connection is decided on its destination as the kernel would without
 * the proxy: an address pinned for a name some domain rule allows on this
 * port, or the address rules. The client's first bytes are still judged
 * by name if they are a ClientHello or an HTTP request (fwd_proxy.c).
 *
 * Return: PROXY_ALLOW_PIN, PROXY_ALLOW_ADDR, or the reason for refusal
 */
enum proxy_reason proxy_decide_addr(const struct proxy_policy *pp,
				    const struct prefix *dst, uint16_t port)
{
	enum proxy_reason r = proxy_decide_never(pp, dst);

	if (r != PROXY_REASON_COUNT)
		return r;
	if (pp->oracle.pinned_any &&
	    pp->oracle.pinned_any(pp->oracle.ctx, dst->family, dst->addr, port))
		return PROXY_ALLOW_PIN;
	return proxy_addr_allowed(pp, dst, port) ? PROXY_ALLOW_ADDR
						 : PROXY_DENY_NOT_ALLOWED;
}

/**
 * proxy_name_denied() - does a domain deny rule in a range of rules match
 * a name on TCP @port
 * @p:		effective policy
 * @name:	SNI or Host
 * @port:	destination port
 * @from:	first rule to look at (0-based)
 * @to:		rule to stop before
 *
 * Return: true if one does
 */
static bool proxy_name_denied(const struct policy *p, const char *name,
			      uint16_t port, size_t from, size_t to)
{
	char n[POLICY_DOMAIN_MAX + 2];
	size_t k;

	if (names_fold(name, n, sizeof(n)))
		return false;
	for (k = from; k < to && k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind == TARGET_DOMAIN && !r->allow &&
		    proxy_port_matches(r, port) && names_match(r->domain, n))
			return true;
	}
	return false;
}

/**
 * proxy_decide_rules() - decide a connection by the rules, with or without
 * a name
 * @pp:		decision context
 * @name:	normalised name (SNI or Host), or NULL if the client gave
 *		none (no SNI, an address literal)
 * @unnamed:	the reason to refuse a connection without a name that no
 *		address rule covers (no-sni, sni-ip-literal, host-ip-literal)
 * @dst:	original destination (/32 or /128)
 * @port:	original destination port
 *
 * The rules in policy order, first match wins, as in the forward chain: an
 * address (CIDR or group) rule matches on the destination and port, a
 * domain rule only on a name: a deny matches the name, an allow matches
 * it where the destination is pinned for it (the forward chain's rule
 * holds the pins). So an address rule decides whatever the name, or
 * without one, unless a domain rule before it matched the name first
 * ("deny: NAME" before "allow: ADDR" refuses the name at that address,
 * and only the name). What no rule matches takes the default: a name
 * by the address rules' default (a name that a domain allow rule covers
 * must still be pinned), a connection without a name is refused as
 * @unnamed, whatever egress.default says.
 *
 * Return: PROXY_ALLOW_NAME, PROXY_ALLOW_ADDR, or the reason for refusal
 */
static enum proxy_reason proxy_decide_rules(const struct proxy_policy *pp,
					    const char *name,
					    enum proxy_reason unnamed,
					    const struct prefix *dst,
					    uint16_t port)
{
	enum proxy_reason r = proxy_decide_never(pp, dst);
	enum proxy_name_verdict v = PROXY_NAME_NONE;
	size_t n = pp->pol->nrules, kd = n, ka;

	if (r != PROXY_REASON_COUNT)
		return r;
	if (name)
		v = pp->oracle.name_verdict(pp->oracle.ctx, name, port, &kd);
	ka = proxy_addr_rule(pp, dst, port);
	/* an address rule before the name's first domain rule decides:
	 * "deny: ADDR" before "allow: NAME" refuses, "allow: ADDR" allows
	 * whatever the name, or none */
	if (ka < kd && ka < n)
		return pp->pol->rules[ka].allow ? PROXY_ALLOW_ADDR
						: PROXY_DENY_NOT_ALLOWED;
	switch (v) {
	case PROXY_NAME_DENY:
		return PROXY_DENY_NAME;
	case PROXY_NAME_ALLOW:
		/* pins are kept as the DNS answer carried them */
		if (pp->oracle.pinned(pp->oracle.ctx, name, dst->family,
				      dst->addr))
			return PROXY_ALLOW_NAME;
		/* not pinned here: the domain rule does not match this
		 * address; a later address rule may, unless a deny of the
		 * name comes between */
		if (ka < n && proxy_name_denied(pp->pol, name, port, kd + 1, ka))
			return PROXY_DENY_NAME;
		if (ka < n && pp->pol->rules[ka].allow)
			return PROXY_ALLOW_ADDR;
		return PROXY_DENY_NOT_PINNED;
	case PROXY_NAME_NONE:
		break;
	}
	if (!name)
		return unnamed;
	return proxy_addr_allowed(pp, dst, port) ? PROXY_ALLOW_ADDR
						 : PROXY_DENY_NOT_ALLOWED;
}

/**
 * proxy_decide_name() - decide a connection on a name the client gave
 * @pp:		decision context
 * @name:	normalised name (SNI or Host), or NULL for none
 * @dst:	original destination (/32 or /128)
 * @port:	original destination port
 *
 * See proxy_decide_rules(); without a name, what no address rule allows
 * is refused as not-allowed.
 *
 * Return: PROXY_ALLOW_NAME, PROXY_ALLOW_ADDR, or the reason for refusal
 */
enum proxy_reason proxy_decide_name(const struct proxy_policy *pp,
				    const char *name,
				    const struct prefix *dst, uint16_t port)
{
	return proxy_decide_rules(pp, name, PROXY_DENY_NOT_ALLOWED, dst, port);
}

/**
 * proxy_decide_tls() - decide a TLS connection on its ClientHello
 * @pp:		decision context
 * @r:		tls_client_hello() result (not TLS_NEED_MORE)
 * @h:		what it found
 * @dst:	original destination
 * @port:	original destination port
 *
 * No SNI, or an address literal as SNI, is a connection without a name:
 * an address rule may allow it (proxy_decide_rules()).
 *
 * Return: PROXY_ALLOW_* or the reason for refusal
 */
enum proxy_reason proxy_decide_tls(const struct proxy_policy *pp,
				   enum tls_result r, const struct tls_hello *h,
				   const struct prefix *dst, uint16_t port)
{
	switch (r) {
	case TLS_OK:
		return proxy_decide_name(pp, h->sni, dst, port);
	case TLS_NEED_MORE:
		return PROXY_DENY_TIMEOUT;
	case TLS_NOT_TLS:
		return PROXY_DENY_NOT_TLS;
	case TLS_MALFORMED:
		return PROXY_DENY_TLS_MALFORMED;
	case TLS_TOO_LARGE:
		return PROXY_DENY_TLS_TOO_LARGE;
	case TLS_NO_SNI:
		return proxy_decide_rules(pp, NULL, PROXY_DENY_NO_SNI, dst, port);
	case TLS_SNI_IP:
		return proxy_decide_rules(pp, NULL, PROXY_DENY_SNI_IP, dst, port);
	case TLS_SNI_INVALID:
		return PROXY_DENY_SNI_INVALID;
	}
	return PROXY_DENY_TLS_MALFORMED;
}

/**
 * proxy_decide_http() - decide one HTTP request on its head
 * @pp:		decision context
 * @r:		http_request_head() result (not HTTP_NEED_MORE)
 * @req:	what it found
 * @dst:	original destination
 * @port:	original destination port
 *
 * Called for every request of a keep-alive connection. A request whose
 * hosts are all address literals names none (http_request_head() refuses
 * a literal beside a name): an address rule may allow it
 * (proxy_decide_rules()). One without any Host is refused.
 *
 * Return: PROXY_ALLOW_* or the reason for refusal
 */
enum proxy_reason proxy_decide_http(const struct proxy_policy *pp,
				    enum http_result r,
				    const struct http_request *req,
				    const struct prefix *dst, uint16_t port)
{
	switch (r) {
	case HTTP_OK:
		return proxy_decide_name(pp, req->host, dst, port);
	case HTTP_NEED_MORE:
		return PROXY_DENY_TIMEOUT;
	case HTTP_MALFORMED:
		return PROXY_DENY_HTTP_MALFORMED;
	case HTTP_TOO_LARGE:
		return PROXY_DENY_HTTP_TOO_LARGE;
	case HTTP_NO_HOST:
		return PROXY_DENY_NO_HOST;
	case HTTP_HOST_MISMATCH:
		return PROXY_DENY_HOST_MISMATCH;
	case HTTP_HOST_IP:
		return proxy_decide_rules(pp, NULL, PROXY_DENY_HOST_IP, dst,
					  port);
	case HTTP_HOST_INVALID:
		return PROXY_DENY_HOST_INVALID;
	case HTTP_USERINFO:
		return PROXY_DENY_USERINFO;
	case HTTP_CONNECT:
		return PROXY_DENY_CONNECT_METHOD;
	case HTTP_H2:
		return PROXY_DENY_HTTP2;
	}
	return PROXY_DENY_HTTP_MALFORMED;
}

/**
 * proxy_reason_allows() - is a reason an allowed connection
 * @r:		reason
 *
 * Return: true for PROXY_ALLOW_*
 */
bool proxy_reason_allows(enum proxy_reason r)
{
	return r == PROXY_ALLOW_NAME || r == PROXY_ALLOW_ADDR ||
	       r == PROXY_ALLOW_PIN;
}

/**
 * proxy_reason_refuses() - is a reason a refused connection
 * @r:		reason
 *
 * Return: true for every reason but PROXY_ALLOW_* and PROXY_CLOSED_EARLY
 */
bool proxy_reason_refuses(enum proxy_reason r)
{
	return !proxy_reason_allows(r) && r != PROXY_CLOSED_EARLY;
}

/**
 * proxy_reason_str() - the reason as written in X-Moat-Denied and counters
 * @r:		reason
 *
 * Return: a static string
 */
const char *proxy_reason_str(enum proxy_reason r)
{
	if ((unsigned)r >= PROXY_REASON_COUNT)
		return "unknown";
	return proxy_reasons[r];
}

/**
 * proxy_http_403() - the response to a refused HTTP request
 * @r:		reason
 * @name:	the host the request named, or NULL/empty if none was read
 * @buf:	output
 * @len:	its size
 *
 * One line of body an agent can act on; the connection is closed after.
 *
 * Return: bytes written, or -1 if @buf is too small
 */
int proxy_http_403(enum proxy_reason r, const char *name, char *buf,
		   size_t len)
{
	char body[384];
	int n, b;

	if (name && *name)
		b = snprintf(body, sizeof(body),
			     "moat: request to %s refused by the sandbox's network policy (%s)\n",
			     name, proxy_reason_str(r));
	else
		b = snprintf(body, sizeof(body),
			     "moat: request refused by the sandbox's network policy (%s)\n",
			     proxy_reason_str(r));
	if (b < 0 || (size_t)b >= sizeof(body))
		return -1;
	n = snprintf(buf, len,
		     "HTTP/1.1 403 Forbidden\r\n"
		     "X-Moat-Denied: %s\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %d\r\n"
		     "Connection: close\r\n"
		     "\r\n%s", proxy_reason_str(r), b, body);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

/**
 * proxy_tls_alert() - the alert record refusing a TLS connection
 * @hello:	what the client sent (its first record's header), or NULL
 * @len:	bytes of it
 * @buf:	output, PROXY_TLS_ALERT_LEN bytes
 *
 * A fatal access_denied alert (RFC 8446 6.2, "a valid certificate or PSK
 * was received, but when access control was applied, the sender decided
 * not to proceed"), in the record-layer version the client's first record
 * carried, so that its TLS library reports "access denied" rather than a
 * reset. The alert is in clear: nothing was negotiated yet.
 *
 * Return: PROXY_TLS_ALERT_LEN, or 0 if the client's bytes are no TLS
 *	   record (then there is no alert it would understand)
 */
int proxy_tls_alert(const uint8_t *hello, size_t len, uint8_t *buf)
{
	if (!hello || len < 3 || hello[0] != PROXY_TLS_HANDSHAKE ||
	    hello[1] != 3 || hello[2] > 4)
		return 0;
	buf[0] = PROXY_TLS_CT_ALERT;
	buf[1] = hello[1];
	buf[2] = hello[2];
	buf[3] = 0;
	buf[4] = 2;				/* length of the alert */
	buf[5] = PROXY_TLS_ALERT_FATAL;
	buf[6] = PROXY_TLS_ACCESS_DENIED;
	return PROXY_TLS_ALERT_LEN;
}

/**
 * proxy_counters_json() - decisions by reason, for "moat inspect"
 * @c:		counters
 *
 * Return: {"allowed": N, "refused": N, "by_reason": {reason: N, ...}},
 *	   reasons with a zero count left out
 */
json_t *proxy_counters_json(const struct proxy_counters *c)
{
	json_t *o = json_object(), *by = json_object();
	uint64_t allowed = 0, refused = 0;
	size_t k;

	if (!o || !by)
		die_oom();
	for (k = 0; k < PROXY_REASON_COUNT; k++) {
		if (proxy_reason_allows((enum proxy_reason)k))
			allowed += c->n[k];
		else if (proxy_reason_refuses((enum proxy_reason)k))
			refused += c->n[k];
		if (c->n[k])
			json_object_set_new(by, proxy_reasons[k],
					    json_integer((json_int_t)c->n[k]));
	}
	json_object_set_new(o, "allowed", json_integer((json_int_t)allowed));
	json_object_set_new(o, "refused", json_integer((json_int_t)refused));
	json_object_set_new(o, "by_reason", by);
	return o;
}

/* #syscalls:worker socket setsockopt bind listen close */
/**
 * proxy_listen() - the proxy's listening socket on a gateway address
 * @gw:		gateway address (/32 or /128), on the sandbox's host interface
 * @port:	port (NFT_PROXY_PORT)
 * @err:	set to a message on failure
 *
 * Return: a non-blocking listening socket, or -1
 */
int proxy_listen(const struct prefix *gw, uint16_t port, char **err)
{
	struct sockaddr_storage sa = { 0 };
	char buf[INET6_ADDRSTRLEN + 4];
	socklen_t len;
	int fd, one = 1;

	if (gw->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, gw->addr, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, gw->addr, 16);
		len = sizeof(*in6);
	}
	fd = socket(gw->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the gateway address may still be tentative (IPv6 DAD) */
	setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if (gw->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 128))
		goto fail;
	return fd;
fail:
	prefix_format(gw, buf, sizeof(buf));
	*err = xasprintf("cannot listen for the proxy on %s%s%s:%u: %s",
			 gw->family == AF_INET6 ? "[" : "", buf,
			 gw->family == AF_INET6 ? "]" : "", port,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* #syscalls:worker getsockname getsockopt */
/**
 * proxy_original_dst() - where a redirected connection was going
 * @fd:		accepted connection
 * @dst:	set to the original destination address (/32 or /128)
 * @port:	set to the original destination port
 *
 * The nat "redirect" rewrote the destination to the proxy; conntrack keeps
 * the original, which SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST
 * return. A connection that was not redirected gets its own destination
 * back, the gateway: the decision then refuses it as the host (I2).
 *
 * Return: 0, or -errno
 */
int proxy_original_dst(int fd, struct prefix *dst, uint16_t *port)
{
	struct sockaddr_storage sa = { 0 };
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		return -errno;
	len = sizeof(sa);
	memset(dst, 0, sizeof(*dst));
	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, in, &len))
			return -errno;
		dst->family = AF_INET;
		dst->plen = 32;
		memcpy(dst->addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, in6, &len))
			return -errno;
		dst->family = AF_INET6;
		dst->plen = 128;
		memcpy(dst->addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/**
 * proxy_port_named() - whether a port's protocol is known in advance
 * @port:	original destination port
 *
 * Return: true for 80 and 443, where the client always speaks first and
 *	   must send an HTTP request or a TLS ClientHello
 */
bool proxy_port_named(uint16_t port)
{
	return port == 80 || port == 443;
}

/**
 * proxy_is_http() - whether first bytes start, or may start, an HTTP/1
 * request
 * @buf:	first bytes from the client
 * @len:	their number
 *
 * On a port other than 80 and 443 whatever can be the start of a request
 * line by its grammar (http_request_start(): any method token, empty lines
 * before it) is judged as HTTP; only bytes that cannot be are another
 * protocol.
 *
 * Return: true if @buf starts, or may still start, like a request line
 */
bool proxy_is_http(const uint8_t *buf, size_t len)
{
	return http_request_start(buf, len) != HTTP_MALFORMED;
}

/**
 * proxy_is_tls() - tell TLS from HTTP on a proxied port by the first byte
 * @buf:	first bytes from the client (at least one)
 * @len:	their number
 *
 * Return: true for a TLS handshake record (0x16), which no HTTP method
 *	   starts with
 */
bool proxy_is_tls(const uint8_t *buf, size_t len)
{
	return len && buf[0] == 0x16;
}
