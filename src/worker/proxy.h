/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * proxy.h - transparent egress proxy: decisions and their counters
 */
#ifndef MOAT_PROXY_H
#define MOAT_PROXY_H

#include <jansson.h>

#include "addr.h"
#include "http.h"
#include "policy.h"
#include "tls.h"

/**
 * enum proxy_name_verdict - what the policy's domain rules say of a name
 * @PROXY_NAME_NONE:	no domain rule matches the name (and port)
 * @PROXY_NAME_ALLOW:	the first matching domain rule allows it
 * @PROXY_NAME_DENY:	the first matching domain rule denies it
 */
enum proxy_name_verdict {
	PROXY_NAME_NONE = 0,
	PROXY_NAME_ALLOW,
	PROXY_NAME_DENY,
};

/**
 * struct proxy_oracle - the DNS interceptor's and policy's answers
 * @name_verdict:	what the first domain rule covering a name on TCP
 *			@port says (proxy_domain_rule()), and that rule's
 *			0-based index in @rule (left alone if none)
 * @pinned:		dns_pinned() (dns.h): @addr was answered to this
 *			sandbox for @name and the pin is live
 * @pinned_any:	@addr was answered to this sandbox, its pin is live, for
 *			some name a domain rule allows on TCP @port
 * @ctx:		passed to all three (the supervisor's forwarder)
 */
struct proxy_oracle {
	enum proxy_name_verdict (*name_verdict)(const void *ctx,
						const char *name,
						uint16_t port, size_t *rule);
	bool (*pinned)(const void *ctx, const char *name, int af,
		       const void *addr);
	bool (*pinned_any)(const void *ctx, int af, const void *addr,
			   uint16_t port);
	const void *ctx;
};

/**
 * enum proxy_reason - outcome of one decision, each counted
 */
enum proxy_reason {
	PROXY_ALLOW_NAME = 0,	/* name allowed by a domain rule, pinned */
	PROXY_ALLOW_ADDR,	/* an address rule allows (whatever the
				 * name, or none), or the default a name
				 * no domain rule covers */
	PROXY_ALLOW_PIN,	/* no name seen: address pinned for an
				 * allowed name (proxy_decide_addr()) */
	PROXY_DENY_NAME,	/* a domain deny rule matches the name */
	PROXY_DENY_NOT_PINNED,	/* allowed name, destination not its pin */
	PROXY_DENY_NOT_ALLOWED,	/* no rule allows name or address */
	PROXY_DENY_SANDBOX,	/* destination is a sandbox (I1) */
	PROXY_DENY_HOST,	/* destination is the host's loopback (I2) */
	PROXY_DENY_KERNEL,	/* the kernel refused the onward connection:
				 * the sandbox's own rules (nft.c, "_out") */
	PROXY_DENY_NO_SNI,
	PROXY_DENY_SNI_IP,
	PROXY_DENY_SNI_INVALID,
	PROXY_DENY_TLS_MALFORMED,
	PROXY_DENY_TLS_TOO_LARGE,
	PROXY_DENY_NOT_TLS,
	PROXY_DENY_HTTP_MALFORMED,
	PROXY_DENY_HTTP_TOO_LARGE,
	PROXY_DENY_NO_HOST,
	PROXY_DENY_HOST_MISMATCH,
	PROXY_DENY_HOST_IP,
	PROXY_DENY_HOST_INVALID,
	PROXY_DENY_USERINFO,
	PROXY_DENY_CONNECT_METHOD,
	PROXY_DENY_HTTP2,
	PROXY_DENY_SNI_CHANGED,	/* a second ClientHello (after a
				 * HelloRetryRequest) names another host */
	PROXY_DENY_SECRET_LEAK,	/* an intercepted request carries a secret's
				 * placeholder to a host not its own
				 * (intercept.c) */
	PROXY_DENY_UPSTREAM_CERT, /* an intercepted connection's server
				 * failed verification (intercept.c) */
	PROXY_DENY_LIMIT,	/* limits.connections reached */
	PROXY_DENY_TIMEOUT,	/* no complete hello/head in time */
	PROXY_FAIL_CONNECT,	/* the destination did not answer */
	PROXY_CLOSED_EARLY,	/* the client closed before its first byte:
				 * neither allowed nor refused */
	PROXY_REASON_COUNT
};

/**
 * struct proxy_policy - what decisions are taken against
 * @pol:	effective policy
 * @pool4:	IPv4 sandbox pool (never reachable, I1)
 * @pool6:	IPv6 sandbox pool
 * @oracle:	domain verdicts and pins
 *
 * The host's own addresses are not here: the kernel judges them when the
 * proxy connects (the sandbox's output chain, nft.c).
 */
struct proxy_policy {
	const struct policy *pol;
	struct prefix pool4;
	struct prefix pool6;
	struct proxy_oracle oracle;
};

/**
 * struct proxy_counters - decisions of one sandbox's proxy, by reason
 * @n:		count per enum proxy_reason
 */
struct proxy_counters {
	uint64_t n[PROXY_REASON_COUNT];
};

size_t proxy_domain_rule(const struct policy *p, const char *name,
			 uint16_t port, enum proxy_name_verdict *v);
enum proxy_name_verdict proxy_domain_verdict(const struct policy *p,
					     const char *name, uint16_t port);
bool proxy_addr_allowed(const struct proxy_policy *pp, const struct prefix *dst,
			uint16_t port);
enum proxy_reason proxy_decide_name(const struct proxy_policy *pp,
				    const char *name,
				    const struct prefix *dst, uint16_t port);
enum proxy_reason proxy_decide_addr(const struct proxy_policy *pp,
				    const struct prefix *dst, uint16_t port);
enum proxy_reason proxy_decide_tls(const struct proxy_policy *pp,
				   enum tls_result r, const struct tls_hello *h,
				   const struct prefix *dst, uint16_t port);
enum proxy_reason proxy_decide_http(const struct proxy_policy *pp,
				    enum http_result r,
				    const struct http_request *req,
				    const struct prefix *dst, uint16_t port);
bool proxy_reason_allows(enum proxy_reason r);
bool proxy_reason_refuses(enum proxy_reason r);
const char *proxy_reason_str(enum proxy_reason r);
#define PROXY_TLS_ALERT_LEN	7	/* record header and a two-byte alert */
#define PROXY_TLS_HANDSHAKE	22	/* record content types */
#define PROXY_TLS_CT_ALERT	21
#define PROXY_TLS_ALERT_FATAL	2
#define PROXY_TLS_ACCESS_DENIED	49

int proxy_tls_alert(const uint8_t *hello, size_t len, uint8_t *buf);
int proxy_http_403(enum proxy_reason r, const char *name, char *buf,
		   size_t len);
json_t *proxy_counters_json(const struct proxy_counters *c);
int proxy_listen(const struct prefix *gw, uint16_t port, char **err);
int proxy_original_dst(int fd, struct prefix *dst, uint16_t *port);
bool proxy_is_tls(const uint8_t *buf, size_t len);
bool proxy_port_named(uint16_t port);
bool proxy_is_http(const uint8_t *buf, size_t len);

#endif /* MOAT_PROXY_H */
