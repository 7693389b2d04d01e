// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_proxy.c - unit tests of the proxy's decisions: against a fake
 * oracle (domain verdicts and pins as the DNS interceptor will give them),
 * real policies from YAML: allowed and pinned names, forged resolutions,
 * domain fronting on a shared address, deny rules, names no rule matches
 * falling back to the address rules and the default, address rules that
 * allow a connection whatever its name or without one (unless a deny of
 * the name comes first), sandboxes and the host never reachable, every parser refusal mapped to its reason, the 403
 * response, and the counters' JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sched.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "nft.h"
#include "proxy.h"

/* The fake DNS state: names with their rule verdict and one pinned address */
static const struct {
	const char *name;
	enum proxy_name_verdict v;
	const char *pin;
} names[] = {
	{ "github.com", PROXY_NAME_ALLOW, "140.82.112.3" },
	{ "api.github.com", PROXY_NAME_ALLOW, "2606:2800:220:1::1" },
	{ "unpinned.example", PROXY_NAME_ALLOW, NULL },
	{ "evil.example", PROXY_NAME_DENY, "140.82.112.3" },
};

/**
 * fake_verdict() - what the policy's domain rules say of a name
 * @ctx:	unused
 * @name:	name
 * @port:	port: the fake's rules name 443 and 80 only
 * @rule:	set to 0: the fake's rules come first
 *
 * Return: verdict
 */
static enum proxy_name_verdict fake_verdict(const void *ctx, const char *name,
					    uint16_t port, size_t *rule)
{
	size_t i;

	(void)ctx;
	if (port != 443 && port != 80)
		return PROXY_NAME_NONE;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name))
			continue;
		*rule = 0;	/* the fake's rules come before the policy's */
		return names[i].v;
	}
	return PROXY_NAME_NONE;
}

/**
 * fake_pinned() - is an address pinned for a name
 * @ctx:	unused
 * @name:	name
 * @af:		family
 * @addr:	address bytes
 *
 * Return: true if pinned
 */
static bool fake_pinned(const void *ctx, const char *name, int af,
			const void *addr)
{
	struct prefix p;
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) || !names[i].pin)
			continue;
		assert_int_equal(addr_parse(names[i].pin, &p), 0);
		if (p.family == af &&
		    !memcmp(p.addr, addr, af == AF_INET ? 4 : 16))
			return true;
	}
	return false;
}

/**
 * setup_pp() - a decision context for a policy text
 * @pp:		filled in
 * @pol:	policy, loaded from @yaml
 * @yaml:	policy text
 * @host:	one host address
 */
static void setup_pp(struct proxy_policy *pp, struct policy *pol,
		     const char *yaml, struct prefix *host)
{
	struct errlist el = { 0 };

	policy_init(pol);
	if (policy_load_buf(pol, "t.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy did not load");
	}
	memset(pp, 0, sizeof(*pp));
	pp->pol = pol;
	assert_int_equal(prefix_parse("10.231.0.0/16", &pp->pool4, true), 0);
	assert_int_equal(prefix_parse("fd6d:6f61:7400::/48", &pp->pool6, true), 0);
	/* the host's addresses are the kernel's to judge (nft.c, "_out") */
	assert_int_equal(addr_parse("192.168.77.2", host), 0);
	pp->oracle.name_verdict = fake_verdict;
	pp->oracle.pinned = fake_pinned;
}

/**
 * decide() - decide a name towards a textual destination
 * @pp:		context
 * @name:	name
 * @dst:	address text
 * @port:	port
 *
 * Return: the reason
 */
static enum proxy_reason decide(const struct proxy_policy *pp, const char *name,
				const char *dst, uint16_t port)
{
	struct prefix d;

	assert_int_equal(addr_parse(dst, &d), 0);
	return proxy_decide_name(pp, name, &d, port);
}

static void test_names_default_deny(void **state)
{
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host;

	(void)state;
	setup_pp(&pp, &pol, "version: 1\negress:\n  default: deny\n  rules:\n"
		 "    - allow: 1.1.1.1\n      ports: [443]\n"
		 "    - deny: 9.9.9.0/24\n", &host);
	assert_int_equal(decide(&pp, "github.com", "140.82.112.3", 443),
			 PROXY_ALLOW_NAME);
	assert_int_equal(decide(&pp, "api.github.com", "2606:2800:220:1::1", 443),
			 PROXY_ALLOW_NAME);
	/* forged resolution: allowed name, another address */
	assert_int_equal(decide(&pp, "github.com", "151.101.1.1", 443),
			 PROXY_DENY_NOT_PINNED);
	assert_int_equal(decide(&pp, "unpinned.example", "151.101.1.1", 443),
			 PROXY_DENY_NOT_PINNED);
	/* domain fronting: github.com's address, a name no rule allows */
	assert_int_equal(decide(&pp, "other.example", "140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "github.com.evil.example", "140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "evilgithub.com", "140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	/* a deny rule wins even on a pinned address */
	assert_int_equal(decide(&pp, "evil.example", "140.82.112.3", 443),
			 PROXY_DENY_NAME);
	/* no domain rule: the address rules decide */
	assert_int_equal(decide(&pp, "one.example", "1.1.1.1", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "one.example", "::ffff:1.1.1.1", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "one.example", "64:ff9b::1.1.1.1", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "one.example", "1.1.1.1", 80),
			 PROXY_DENY_NOT_ALLOWED);
	/* sandboxes and the host, whatever the name */
	assert_int_equal(decide(&pp, "github.com", "10.231.0.6", 443),
			 PROXY_DENY_SANDBOX);
	assert_int_equal(decide(&pp, "github.com", "::ffff:10.231.0.6", 443),
			 PROXY_DENY_SANDBOX);
	assert_int_equal(decide(&pp, "github.com", "fd6d:6f61:7400:3::2", 443),
			 PROXY_DENY_SANDBOX);
	/* the host's own addresses are refused by the kernel (the sandbox's
	 * output chain), here only by the rules; its loopback, in every form
	 * the host's connect() takes there, whatever the name */
	assert_int_equal(decide(&pp, "other.example", "192.168.77.2", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "github.com", "127.0.0.1", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "0.0.0.0", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "::", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "::1", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "::ffff:127.0.0.2", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "::ffff:0.0.0.0", 443),
			 PROXY_DENY_HOST);
	assert_int_equal(decide(&pp, "github.com", "64:ff9b::7f00:1", 443),
			 PROXY_DENY_HOST);
	policy_free(&pol);
}

static void test_default_public(void **state)
{
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host;

	(void)state;
	setup_pp(&pp, &pol, "version: 1\negress:\n  rules:\n"
		 "    - deny: 151.101.0.0/16\n"
		 "    - allow: private\n      ports: [80]\n", &host);
	assert_int_equal(decide(&pp, "any.example", "93.184.216.34", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "any.example", "151.101.1.1", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "any.example", "169.254.169.254", 80),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "any.example", "10.0.0.5", 80),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "any.example", "10.0.0.5", 443),
			 PROXY_DENY_NOT_ALLOWED);
	/* the pin is required even where the default would allow */
	assert_int_equal(decide(&pp, "github.com", "93.184.216.34", 443),
			 PROXY_DENY_NOT_PINNED);
	policy_free(&pol);

	setup_pp(&pp, &pol, "version: 1\nnetwork: restricted\n", &host);
	assert_int_equal(decide(&pp, "github.com", "140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	policy_free(&pol);

	setup_pp(&pp, &pol, "version: 1\negress:\n  default: allow\n", &host);
	assert_int_equal(decide(&pp, "any.example", "10.0.0.5", 22),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "any.example", "10.231.0.2", 22),
			 PROXY_DENY_SANDBOX);
	policy_free(&pol);
}

static void test_parser_results(void **state)
{
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host, d;
	struct tls_hello h = { .sni = "github.com" };
	struct http_request req = { .host = "github.com" };

	(void)state;
	setup_pp(&pp, &pol, "version: 1\negress:\n  default: deny\n", &host);
	assert_int_equal(addr_parse("140.82.112.3", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_OK, &h, &d, 443), PROXY_ALLOW_NAME);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443), PROXY_DENY_NO_SNI);
	assert_int_equal(proxy_decide_tls(&pp, TLS_SNI_IP, &h, &d, 443), PROXY_DENY_SNI_IP);
	assert_int_equal(proxy_decide_tls(&pp, TLS_SNI_INVALID, &h, &d, 443), PROXY_DENY_SNI_INVALID);
	assert_int_equal(proxy_decide_tls(&pp, TLS_MALFORMED, &h, &d, 443), PROXY_DENY_TLS_MALFORMED);
	assert_int_equal(proxy_decide_tls(&pp, TLS_TOO_LARGE, &h, &d, 443), PROXY_DENY_TLS_TOO_LARGE);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NOT_TLS, &h, &d, 443), PROXY_DENY_NOT_TLS);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NEED_MORE, &h, &d, 443), PROXY_DENY_TIMEOUT);

	assert_int_equal(proxy_decide_http(&pp, HTTP_OK, &req, &d, 80), PROXY_ALLOW_NAME);
	assert_int_equal(proxy_decide_http(&pp, HTTP_USERINFO, &req, &d, 80), PROXY_DENY_USERINFO);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_MISMATCH, &req, &d, 80), PROXY_DENY_HOST_MISMATCH);
	assert_int_equal(proxy_decide_http(&pp, HTTP_NO_HOST, &req, &d, 80), PROXY_DENY_NO_HOST);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_IP, &req, &d, 80), PROXY_DENY_HOST_IP);
	assert_int_equal(proxy_decide_http(&pp, HTTP_CONNECT, &req, &d, 80), PROXY_DENY_CONNECT_METHOD);
	assert_int_equal(proxy_decide_http(&pp, HTTP_H2, &req, &d, 80), PROXY_DENY_HTTP2);
	assert_int_equal(proxy_decide_http(&pp, HTTP_MALFORMED, &req, &d, 80), PROXY_DENY_HTTP_MALFORMED);
	assert_int_equal(proxy_decide_http(&pp, HTTP_TOO_LARGE, &req, &d, 80), PROXY_DENY_HTTP_TOO_LARGE);
	strcpy(req.host, "other.example");
	assert_int_equal(proxy_decide_http(&pp, HTTP_OK, &req, &d, 80), PROXY_DENY_NOT_ALLOWED);
	policy_free(&pol);
}

static void test_403_and_counters(void **state)
{
	struct proxy_counters c = { 0 };
	char buf[1024], *body;
	json_t *j;
	char *s;
	int n;
	size_t k;

	(void)state;
	n = proxy_http_403(PROXY_DENY_NOT_PINNED, "github.com", buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 403 Forbidden\r\n"));
	assert_non_null(strstr(buf, "\r\nX-Moat-Denied: not-pinned\r\n"));
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
	body = strstr(buf, "\r\n\r\n") + 4;
	assert_string_equal(body, "moat: request to github.com refused by the sandbox's network policy (not-pinned)\n");
	assert_non_null(strstr(buf, "Content-Length: 81\r\n"));
	assert_int_equal(strlen(body), 81);
	assert_int_equal(proxy_http_403(PROXY_DENY_NO_HOST, NULL, buf, 40), -1);
	assert_true(proxy_http_403(PROXY_DENY_NO_HOST, "", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "moat: request refused"));

	/* a refused ClientHello: a fatal access_denied alert, in the
	 * record version the client used */
	{
		static const uint8_t hello10[] = { 0x16, 3, 1, 0, 200, 1 };
		static const uint8_t hello12[] = { 0x16, 3, 3, 0, 200, 1 };
		static const uint8_t want[] = { 0x15, 3, 1, 0, 2, 2, 49 };
		uint8_t a[PROXY_TLS_ALERT_LEN];

		assert_int_equal(proxy_tls_alert(hello10, sizeof(hello10), a), 7);
		assert_memory_equal(a, want, sizeof(want));
		assert_int_equal(proxy_tls_alert(hello12, sizeof(hello12), a), 7);
		assert_int_equal(a[2], 3);
		assert_int_equal(proxy_tls_alert(hello12, 2, a), 0);
		assert_int_equal(proxy_tls_alert((const uint8_t *)"GET /", 5, a), 0);
		assert_int_equal(proxy_tls_alert(NULL, 0, a), 0);
	}

	for (k = 0; k < PROXY_REASON_COUNT; k++)
		assert_string_not_equal(proxy_reason_str((enum proxy_reason)k), "unknown");
	assert_string_equal(proxy_reason_str(PROXY_REASON_COUNT), "unknown");

	c.n[PROXY_ALLOW_NAME] = 3;
	c.n[PROXY_ALLOW_ADDR] = 1;
	c.n[PROXY_DENY_NO_SNI] = 2;
	c.n[PROXY_DENY_LIMIT] = 5;
	j = proxy_counters_json(&c);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"allowed\":4,\"by_reason\":{\"allowed-address\":1,"
			    "\"allowed-name\":3,\"connection-limit\":5,\"no-sni\":2},"
			    "\"refused\":7}");
	free(s);
	json_decref(j);
}

/**
 * redirected() - connect through a redirect and check what the proxy sees
 * @lfd:	the proxy's listener
 * @family:	AF_INET or AF_INET6
 * @to:		address the client connects to
 * @port:	port it connects to
 * @want:	original destination the proxy must recover
 * @wport:	its port
 *
 * Return: 0 if the proxy recovered @want:@wport, else a line number
 */
static int redirected(int lfd, int family, const char *to, uint16_t port,
		      const char *want, uint16_t wport)
{
	struct sockaddr_storage sa = { 0 };
	struct prefix dst, w;
	uint16_t got = 0;
	socklen_t len;
	int c, a, i;

	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, to, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, to, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	c = socket(family, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, len))
		return __LINE__;
	for (i = 0, a = -1; i < 1000 && a < 0; i++) {
		a = accept(lfd, NULL, NULL);
		if (a < 0)
			usleep(1000);	/* the listener is non-blocking */
	}
	if (a < 0)
		return __LINE__;
	if (proxy_original_dst(a, &dst, &got))
		return __LINE__;
	if (addr_parse(want, &w) || w.family != dst.family ||
	    memcmp(w.addr, dst.addr, family == AF_INET ? 4 : 16) ||
	    got != wport)
		return __LINE__;
	close(a);
	close(c);
	return 0;
}

/**
 * original_dst_child() - the SO_ORIGINAL_DST check, in a private netns
 *
 * Return: exit status: 0, 77 to skip, or the failing line
 */
static int original_dst_child(void)
{
	struct prefix lo4, lo6;
	char *err = NULL;
	int l4, l6, r;

	if (unshare(CLONE_NEWNET))
		return 77;
	if (system("ip link set lo up"))
		return 77;
	if (nft_run("add table inet t\n"
		    "add chain inet t out { type nat hook output priority -100; }\n"
		    "add rule inet t out ip daddr 127.0.0.2 tcp dport 9999 redirect to :15001\n"
		    "add rule inet t out ip6 daddr ::1 tcp dport 9999 redirect to :15001\n",
		    &err))
		return 77;
	if (addr_parse("127.0.0.1", &lo4) || addr_parse("::1", &lo6))
		return __LINE__;
	l4 = proxy_listen(&lo4, 15001, &err);
	l6 = proxy_listen(&lo6, 15001, &err);
	if (l4 < 0 || l6 < 0)
		return __LINE__;
	if ((r = redirected(l4, AF_INET, "127.0.0.2", 9999, "127.0.0.2", 9999)) ||
	    (r = redirected(l6, AF_INET6, "::1", 9999, "::1", 9999)) ||
	    /* not redirected: its own destination, which is refused (host) */
	    (r = redirected(l4, AF_INET, "127.0.0.1", 15001, "127.0.0.1", 15001)))
		return r;
	/* the port is taken: a clear error */
	if (proxy_listen(&lo4, 15001, &err) >= 0 || !err ||
	    !strstr(err, "cannot listen for the proxy on 127.0.0.1:15001"))
		return __LINE__;
	return 0;
}

static void test_original_dst(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int r = original_dst_child();

		if (r && r != 77)
			fprintf(stderr, "failed at test_proxy.c:%d\n", r);
		_exit(r == 77 ? 77 : !!r);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	if (WEXITSTATUS(st))
		fail_msg("SO_ORIGINAL_DST check failed (line above)");
}

static void test_is_tls(void **state)
{
	(void)state;
	assert_true(proxy_is_tls((const uint8_t *)"\x16\x03\x01", 3));
	assert_false(proxy_is_tls((const uint8_t *)"GET / HTTP/1.1", 14));
	assert_false(proxy_is_tls((const uint8_t *)"", 0));
}

/**
 * fake_pinned_any() - pinned for an allowed name on the port
 * @ctx:	passed on to fake_verdict() and fake_pinned()
 * @af:		family
 * @addr:	address bytes
 * @port:	port
 *
 * Return: true for the pins of allowed names, on 443 and 80
 */
static bool fake_pinned_any(const void *ctx, int af, const void *addr,
			    uint16_t port)
{
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fake_verdict(ctx, names[i].name, port, &k) == PROXY_NAME_ALLOW &&
		    fake_pinned(ctx, names[i].name, af, addr))
			return true;
	return false;
}

/**
 * test_domain_verdict() - the policy's domain rules on a name and a port
 * @state:	unused
 */
static void test_domain_verdict(void **state)
{
	struct errlist el = { 0 };
	struct policy p;
	static const char yaml[] =
		"version: 1\n"
		"egress:\n"
		"  default: deny\n"
		"  rules:\n"
		"    - deny: evil.github.com\n"
		"    - allow: github.com\n"
		"      ports: [443, 9999]\n"
		"    - allow: \"*.githubusercontent.com\"\n"
		"      ports: [443]\n"
		"      protocol: udp\n"
		"    - allow: \"*.github.com\"\n";

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_load_buf(&p, "t.yaml", yaml, strlen(yaml), &el), 0);
	assert_int_equal(proxy_domain_verdict(&p, "github.com", 443), PROXY_NAME_ALLOW);
	assert_int_equal(proxy_domain_verdict(&p, "GitHub.COM.", 9999), PROXY_NAME_ALLOW);
	assert_int_equal(proxy_domain_verdict(&p, "github.com", 80), PROXY_NAME_NONE);
	assert_int_equal(proxy_domain_verdict(&p, "evilgithub.com", 443), PROXY_NAME_NONE);
	assert_int_equal(proxy_domain_verdict(&p, "github.com.evil.example", 443), PROXY_NAME_NONE);
	assert_int_equal(proxy_domain_verdict(&p, "evil.github.com", 443), PROXY_NAME_DENY);
	assert_int_equal(proxy_domain_verdict(&p, "api.github.com", 22), PROXY_NAME_ALLOW);
	/* a udp-only rule never covers the proxy's TCP */
	assert_int_equal(proxy_domain_verdict(&p, "raw.githubusercontent.com", 443), PROXY_NAME_NONE);
	assert_int_equal(proxy_domain_verdict(&p, "bad\\name.github.com", 443), PROXY_NAME_NONE);
	policy_free(&p);
	errlist_free(&el);
}

/**
 * policy_verdict() - the real oracle's domain verdict (as fwd_proxy.c wires it)
 * @ctx:	the policy
 * @name:	name
 * @port:	port
 * @rule:	set to the deciding rule's index, if any
 *
 * Return: verdict
 */
static enum proxy_name_verdict policy_verdict(const void *ctx, const char *name,
					      uint16_t port, size_t *rule)
{
	enum proxy_name_verdict v;
	size_t k = proxy_domain_rule(ctx, name, port, &v);

	if (v != PROXY_NAME_NONE)
		*rule = k;
	return v;
}

/**
 * pinned_all() - every address is pinned for every name
 * @ctx:	unused
 * @name:	unused
 * @af:		unused
 * @addr:	unused
 *
 * Return: true
 */
static bool pinned_all(const void *ctx, const char *name, int af,
		       const void *addr)
{
	(void)ctx;
	(void)name;
	(void)af;
	(void)addr;
	return true;
}

/**
 * test_rule_order() - first match wins across address and domain rules
 * @state:	unused
 */
static void test_rule_order(void **state)
{
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host;

	(void)state;
	setup_pp(&pp, &pol, "version: 1\negress:\n  rules:\n"
		 "    - deny: 140.82.112.3\n"
		 "    - allow: github.com\n      ports: [443]\n"
		 "    - allow: 151.101.1.1\n      ports: [443]\n"
		 "    - deny: cdn.example\n"
		 "    - deny: evil.example\n"
		 "    - deny: 151.101.0.0/16\n", &host);
	pp.oracle.name_verdict = policy_verdict;
	pp.oracle.pinned = pinned_all;
	pp.oracle.ctx = &pol;
	/* deny ADDR before allow NAME: refused, pinned or not */
	assert_int_equal(decide(&pp, "github.com", "140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "github.com", "::ffff:140.82.112.3", 443),
			 PROXY_DENY_NOT_ALLOWED);
	/* another address of the allowed name: the domain rule decides */
	assert_int_equal(decide(&pp, "github.com", "93.184.216.34", 443),
			 PROXY_ALLOW_NAME);
	/* allow ADDR before deny NAME: the address rule comes first */
	assert_int_equal(decide(&pp, "cdn.example", "151.101.1.1", 443),
			 PROXY_ALLOW_ADDR);
	/* deny NAME before deny ADDR, and on a port the allow does not name */
	assert_int_equal(decide(&pp, "evil.example", "151.101.2.2", 443),
			 PROXY_DENY_NAME);
	assert_int_equal(decide(&pp, "cdn.example", "151.101.1.1", 80),
			 PROXY_DENY_NAME);
	/* no domain rule: the address rules, then the default */
	assert_int_equal(decide(&pp, "other.example", "151.101.2.2", 443),
			 PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(decide(&pp, "other.example", "93.184.216.34", 443),
			 PROXY_ALLOW_ADDR);
	assert_string_equal(proxy_reason_str(PROXY_DENY_KERNEL), "kernel-denied");
	assert_true(proxy_reason_refuses(PROXY_DENY_KERNEL));
	policy_free(&pol);
}

/**
 * test_explicit_address() - an address rule allows a connection whatever
 * its name, unless an earlier rule denied the name; a connection without a
 * name that no address rule covers is refused as before
 * @state:	unused
 */
static void test_explicit_address(void **state)
{
	struct http_request req = { .host = "" };
	struct tls_hello h = { .sni = "" };
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host, d;

	(void)state;
	/* as "--deny example.com --allow 93.184.216.34:443/tcp ..." give it */
	setup_pp(&pp, &pol, "version: 1\negress:\n  rules:\n"
		 "    - deny: example.com\n"
		 "    - allow: 93.184.216.34\n      ports: [443]\n      protocol: tcp\n"
		 "    - deny: 9.9.9.9\n"
		 "    - allow: github.com\n      ports: [443]\n"
		 "    - allow: 1.1.1.1\n      ports: [443]\n"
		 "    - deny: evil.example\n"
		 "    - allow: private\n      ports: [443]\n", &host);
	pp.oracle.name_verdict = policy_verdict;
	pp.oracle.ctx = &pol;

	/* an earlier deny of the name matches first */
	assert_int_equal(decide(&pp, "example.com", "93.184.216.34", 443),
			 PROXY_DENY_NAME);
	assert_int_equal(decide(&pp, "www.example.com", "93.184.216.34", 443),
			 PROXY_ALLOW_ADDR);
	/* another name at that address: the address rule */
	assert_int_equal(decide(&pp, "other.example", "93.184.216.34", 443),
			 PROXY_ALLOW_ADDR);
	/* no name: no SNI, an IP literal as SNI or Host */
	assert_int_equal(addr_parse("93.184.216.34", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_ALLOW_ADDR);
	strcpy(h.sni, "93.184.216.34");
	assert_int_equal(proxy_decide_tls(&pp, TLS_SNI_IP, &h, &d, 443),
			 PROXY_ALLOW_ADDR);
	strcpy(req.host, "93.184.216.34");
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_IP, &req, &d, 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(addr_parse("::ffff:93.184.216.34", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_ALLOW_ADDR);
	/* what no address rule covers keeps the checks of default: public:
	 * port 80 at that address, a public address no rule names */
	assert_int_equal(addr_parse("93.184.216.34", &d), 0);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_IP, &req, &d, 80),
			 PROXY_DENY_HOST_IP);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 80),
			 PROXY_DENY_NO_SNI);
	assert_int_equal(addr_parse("151.101.1.1", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_DENY_NO_SNI);
	assert_int_equal(proxy_decide_tls(&pp, TLS_SNI_IP, &h, &d, 443),
			 PROXY_DENY_SNI_IP);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_IP, &req, &d, 443),
			 PROXY_DENY_HOST_IP);
	assert_int_equal(decide(&pp, "github.com", "151.101.1.1", 443),
			 PROXY_DENY_NOT_PINNED);
	/* what the parsers refuse stays refused at an allowed address */
	assert_int_equal(addr_parse("93.184.216.34", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_SNI_INVALID, &h, &d, 443),
			 PROXY_DENY_SNI_INVALID);
	assert_int_equal(proxy_decide_tls(&pp, TLS_MALFORMED, &h, &d, 443),
			 PROXY_DENY_TLS_MALFORMED);
	assert_int_equal(proxy_decide_http(&pp, HTTP_NO_HOST, &req, &d, 443),
			 PROXY_DENY_NO_HOST);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_MISMATCH, &req, &d, 443),
			 PROXY_DENY_HOST_MISMATCH);
	/* a deny address rule refuses a nameless connection by the rules */
	assert_int_equal(addr_parse("9.9.9.9", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_DENY_NOT_ALLOWED);
	/* an allowed name not pinned at an address a later rule allows: the
	 * domain rule does not match there (its pin set does not hold the
	 * address), the address rule does, as in the forward chain */
	assert_int_equal(decide(&pp, "github.com", "140.82.112.3", 443),
			 PROXY_ALLOW_NAME);
	assert_int_equal(decide(&pp, "github.com", "1.1.1.1", 443),
			 PROXY_ALLOW_ADDR);
	/* allow ADDR before deny NAME */
	assert_int_equal(decide(&pp, "evil.example", "1.1.1.1", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "evil.example", "151.101.1.1", 443),
			 PROXY_DENY_NAME);
	assert_int_equal(addr_parse("1.1.1.1", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 80),
			 PROXY_DENY_NO_SNI);
	/* sandboxes and the host stay refused, whatever the rules cover */
	assert_int_equal(addr_parse("10.231.0.6", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_DENY_SANDBOX);
	assert_int_equal(addr_parse("10.0.0.5", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(addr_parse("::ffff:127.0.0.1", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_DENY_HOST);
	policy_free(&pol);

	/* an unpinned name falls through its allow rule, but not past a
	 * later deny of it that comes before the address rule */
	setup_pp(&pp, &pol, "version: 1\negress:\n  rules:\n"
		 "    - allow: github.com\n      ports: [443]\n"
		 "    - deny: github.com\n"
		 "    - allow: 1.1.1.1\n"
		 "    - allow: unpinned.example\n"
		 "    - allow: 9.9.9.9\n", &host);
	pp.oracle.name_verdict = policy_verdict;
	pp.oracle.ctx = &pol;
	assert_int_equal(decide(&pp, "github.com", "140.82.112.3", 443),
			 PROXY_ALLOW_NAME);
	assert_int_equal(decide(&pp, "github.com", "1.1.1.1", 443),
			 PROXY_DENY_NAME);
	assert_int_equal(decide(&pp, "unpinned.example", "9.9.9.9", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "unpinned.example", "151.101.1.1", 443),
			 PROXY_DENY_NOT_PINNED);
	policy_free(&pol);

	/* default: allow: a name no rule matches is allowed, a connection
	 * without one still needs an address rule */
	setup_pp(&pp, &pol, "version: 1\negress:\n  default: allow\n  rules:\n"
		 "    - deny: example.com\n", &host);
	pp.oracle.name_verdict = policy_verdict;
	pp.oracle.ctx = &pol;
	assert_int_equal(decide(&pp, "other.example", "151.101.1.1", 443),
			 PROXY_ALLOW_ADDR);
	assert_int_equal(decide(&pp, "example.com", "151.101.1.1", 443),
			 PROXY_DENY_NAME);
	assert_int_equal(addr_parse("151.101.1.1", &d), 0);
	assert_int_equal(proxy_decide_tls(&pp, TLS_NO_SNI, &h, &d, 443),
			 PROXY_DENY_NO_SNI);
	assert_int_equal(proxy_decide_http(&pp, HTTP_HOST_IP, &req, &d, 80),
			 PROXY_DENY_HOST_IP);
	policy_free(&pol);
}

/**
 * test_decide_addr() - a connection decided before any name is seen
 * @state:	unused
 */
static void test_decide_addr(void **state)
{
	struct proxy_policy pp;
	struct policy pol;
	struct prefix host, d;

	(void)state;
	setup_pp(&pp, &pol, "version: 1\negress:\n  default: deny\n  rules:\n"
		 "    - allow: 93.184.216.34\n", &host);
	pp.oracle.pinned_any = fake_pinned_any;
	assert_int_equal(addr_parse("140.82.112.3", &d), 0);
	assert_int_equal(proxy_decide_addr(&pp, &d, 443), PROXY_ALLOW_PIN);
	assert_int_equal(proxy_decide_addr(&pp, &d, 5432), PROXY_DENY_NOT_ALLOWED);
	assert_int_equal(addr_parse("93.184.216.34", &d), 0);
	assert_int_equal(proxy_decide_addr(&pp, &d, 5432), PROXY_ALLOW_ADDR);
	assert_int_equal(addr_parse("::ffff:127.0.0.1", &d), 0);
	assert_int_equal(proxy_decide_addr(&pp, &d, 443), PROXY_DENY_HOST);
	assert_int_equal(addr_parse("0.0.0.0", &d), 0);
	assert_int_equal(proxy_decide_addr(&pp, &d, 443), PROXY_DENY_HOST);
	assert_int_equal(addr_parse("10.231.0.6", &d), 0);
	assert_int_equal(proxy_decide_addr(&pp, &d, 443), PROXY_DENY_SANDBOX);
	assert_true(proxy_reason_allows(PROXY_ALLOW_PIN));
	assert_string_equal(proxy_reason_str(PROXY_ALLOW_PIN), "allowed-pinned-address");
	assert_string_equal(proxy_reason_str(PROXY_DENY_SNI_CHANGED), "sni-changed");
	assert_true(proxy_reason_refuses(PROXY_DENY_SNI_CHANGED));
	policy_free(&pol);
}

/**
 * test_is_http() - what starts like an HTTP request on other ports
 * @state:	unused
 */
static void test_is_http(void **state)
{
	(void)state;
	assert_true(proxy_is_http((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
	assert_true(proxy_is_http((const uint8_t *)"PO", 2));	/* maybe POST */
	assert_true(proxy_is_http((const uint8_t *)"PRI * HTTP/2.0", 14));
	/* by the grammar, not a list: any method, empty lines first */
	assert_true(proxy_is_http((const uint8_t *)"PROPFIND / HTTP/1.1", 19));
	assert_true(proxy_is_http((const uint8_t *)"QUERY / HTTP/1.1", 16));
	assert_true(proxy_is_http((const uint8_t *)"\r\nGET / HTTP/1.1", 16));
	assert_true(proxy_is_http((const uint8_t *)"GETX", 4));	/* a token */
	assert_false(proxy_is_http((const uint8_t *)"SSH-2.0-OpenSSH_9.2\r\n", 21));
	assert_false(proxy_is_http((const uint8_t *)"EHLO x\r\n", 8));
	assert_false(proxy_is_http((const uint8_t *)"\x00\x00\x00\x08", 4));
	assert_true(proxy_port_named(80));
	assert_true(proxy_port_named(443));
	assert_false(proxy_port_named(8443));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_default_deny),
		cmocka_unit_test(test_default_public),
		cmocka_unit_test(test_parser_results),
		cmocka_unit_test(test_403_and_counters),
		cmocka_unit_test(test_original_dst),
		cmocka_unit_test(test_is_tls),
		cmocka_unit_test(test_domain_verdict),
		cmocka_unit_test(test_decide_addr),
		cmocka_unit_test(test_rule_order),
		cmocka_unit_test(test_explicit_address),
		cmocka_unit_test(test_is_http),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
