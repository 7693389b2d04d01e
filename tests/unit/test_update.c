// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_update.c - unit tests of a live policy change: what cannot change
 * live, the replacing transaction (pins carried into the new rules' sets,
 * unused sets deleted), and the judge of established connections against
 * real policies from YAML: the sandbox's own connections judged as its
 * chains judge new ones, redirected ones and others' left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "update.h"

/**
 * load() - a policy from YAML text
 * @p:		initialised policy to fill
 * @yaml:	text
 */
static void load(struct policy *p, const char *yaml)
{
	struct errlist el = { 0 };

	policy_init(p);
	if (policy_load_buf(p, "test.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy does not load");
	}
	errlist_free(&el);
}

/**
 * pfx() - a host prefix from text
 * @s:		address
 *
 * Return: the prefix
 */
static struct prefix pfx(const char *s)
{
	struct prefix p;

	assert_int_equal(addr_parse(s, &p), 0);
	return p;
}

/**
 * test_fixed() - what cannot change on a running sandbox is refused
 * @state:	unused
 */
static void test_fixed(void **state)
{
	static const char base[] = "version: 1\ningress:\n  publish: [\"8080:80\"]\n";
	struct policy a, b;

	(void)state;
	load(&a, base);
	load(&b, "version: 1\ningress:\n  publish: [\"8080:80\"]\n"
		 "egress:\n  default: deny\n  rules:\n    - allow: github.com\n");
	assert_int_equal(update_fixed_check(&a, &b), 0);	/* rules: live */
	policy_free(&b);
	load(&b, "version: 1\n");
	assert_int_equal(update_fixed_check(&a, &b), 1);	/* publish */
	policy_free(&b);
	load(&b, "version: 1\nnetwork: restricted\ningress:\n  publish: [\"8080:80\"]\n"
		 "limits:\n  bandwidth: 10mbit\n");
	assert_int_equal(update_fixed_check(&a, &b), 2);	/* mode, bandwidth */
	policy_free(&b);
	load(&b, "version: 1\ningress:\n  publish: [\"8080:80\"]\n"
		 "dns:\n  upstream: [9.9.9.9]\n");
	assert_int_equal(update_fixed_check(&a, &b), 1);	/* upstream */
	policy_free(&b);
	policy_free(&a);
}

/**
 * test_nft_text() - chains refilled, pins carried over, unused sets gone
 * @state:	unused
 */
static void test_nft_text(void **state)
{
	struct nft_sandbox ns = { 0 };
	struct errlist el = { 0 };
	struct nft_pin pin = { .rule = 2, .af = AF_INET, .timeout = 30 };
	struct policy old, p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	load(&old, "version: 1\negress:\n  rules:\n    - allow: a.example\n"
		   "    - allow: b.example\n");
	load(&p, "version: 1\negress:\n  rules:\n    - allow: 1.1.1.1\n"
		 "    - allow: a.example\n");
	snprintf(ns.ifname, sizeof(ns.ifname), "moat7");
	ns.addr4 = pfx("10.231.0.30");
	ns.gw4 = pfx("10.231.0.29");
	ns.pol = &p;
	ns.proxy = true;
	ns.instance = 0x1234;
	inet_pton(AF_INET, "93.184.216.34", pin.addr);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(update_nft_text(f, &ns, &old, &pin, 1, &el), 0);
	fclose(f);
	/* the chains are flushed and refilled, the instance kept */
	assert_non_null(strstr(buf, "flush chain inet moat moat7_fwd\n"));
	assert_non_null(strstr(buf, "ct mark 0x00001234 accept"));
	/* rule 2's sets declared and emptied, then the pin put back */
	assert_non_null(strstr(buf, "flush set inet moat moat7_d2_4\n"));
	assert_non_null(strstr(buf, "add element inet moat moat7_d2_4 { 93.184.216.34 timeout 30s }\n"));
	assert_true(strstr(buf, "flush set inet moat moat7_d2_4\n") <
		    strstr(buf, "add element inet moat moat7_d2_4"));
	/* rule 1 is an address rule now: its old sets go, after the chains */
	assert_non_null(strstr(buf, "delete set inet moat moat7_d1_4\n"));
	assert_non_null(strstr(buf, "delete set inet moat moat7_d1_6\n"));
	assert_true(strstr(buf, "delete set inet moat moat7_d1_4") >
		    strstr(buf, "flush chain inet moat moat7_out"));
	assert_null(strstr(buf, "delete set inet moat moat7_d2_"));
	free(buf);
	policy_free(&p);
	policy_free(&old);
}

/**
 * keep() - judge one flow from the test sandbox
 * @pol:	new policy
 * @proto:	IPPROTO_*
 * @src:	original source
 * @dst:	original destination
 * @dport:	destination port
 * @rsrc:	reply source (NULL: @dst, not redirected)
 *
 * Return: update_keep_flow()'s verdict
 */
static bool keep(const struct policy *pol, uint8_t proto, const char *src,
		 const char *dst, uint16_t dport, const char *rsrc)
{
	struct sb_state s = { 0 };
	struct update_judge j = { 0 };
	struct conntrack_flow fl = { 0 };

	s.addr4 = pfx("10.231.0.30");
	s.gw4 = pfx("10.231.0.29");
	s.has_v6 = true;
	s.addr6 = pfx("fd6d:6f61:7400:7::2");
	s.gw6 = pfx("fd6d:6f61:7400:7::1");
	j.s = &s;
	j.pol = pol;
	j.pool4 = pfx("10.231.0.0");
	j.pool4.plen = 16;
	j.pool6 = pfx("fd6d:6f61:7400::");
	j.pool6.plen = 48;
	fl.src = pfx(src);
	fl.dst = pfx(dst);
	fl.rsrc = pfx(rsrc ? rsrc : dst);
	fl.proto = proto;
	fl.sport = 40000;
	fl.dport = dport;
	return update_keep_flow(&fl, &j);
}

/**
 * test_nft_text_names() - a pin keeps its name as the element's comment,
 * only when it is made of host-name characters
 * @state:	unused
 */
static void test_nft_text_names(void **state)
{
	static const char *const names[] = {
		"a.example",
		"x\" } ; flush ruleset ; add element inet moat moat7_d1_4 { 1.2.3.4",
		"b_c-d.example",
		"\\(.example",
		"",
	};
	struct nft_pin pins[ARRAY_SIZE(names)];
	struct nft_sandbox ns = { 0 };
	struct errlist el = { 0 };
	struct policy p;
	char *buf = NULL, *line;
	size_t len = 0, i, n = 0;
	FILE *f;

	(void)state;
	load(&p, "version: 1\negress:\n  rules:\n    - allow: '*.moat.example'\n");
	snprintf(ns.ifname, sizeof(ns.ifname), "moat7");
	ns.addr4 = pfx("10.231.0.30");
	ns.gw4 = pfx("10.231.0.29");
	ns.pol = &p;
	ns.instance = 0x1234;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		pins[i] = (struct nft_pin){ .rule = 1, .af = AF_INET,
					    .timeout = 30, .name = names[i] };
		pins[i].addr[0] = 192;
		pins[i].addr[3] = (uint8_t)(i + 1);
	}
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(update_nft_text(f, &ns, &p, pins, ARRAY_SIZE(pins), &el), 0);
	fclose(f);
	assert_non_null(strstr(buf, "add element inet moat moat7_d1_4 { 192.0.0.1 timeout 30s comment \"a.example\" }\n"));
	assert_non_null(strstr(buf, "add element inet moat moat7_d1_4 { 192.0.0.2 timeout 30s }\n"));
	assert_non_null(strstr(buf, "add element inet moat moat7_d1_4 { 192.0.0.3 timeout 30s comment \"b_c-d.example\" }\n"));
	assert_non_null(strstr(buf, "add element inet moat moat7_d1_4 { 192.0.0.4 timeout 30s }\n"));
	assert_non_null(strstr(buf, "add element inet moat moat7_d1_4 { 192.0.0.5 timeout 30s }\n"));
	/* nothing of the hostile name reached the script */
	assert_null(strstr(buf, "flush ruleset"));
	for (line = buf; (line = strstr(line, "add element")); line++)
		n++;
	assert_int_equal(n, ARRAY_SIZE(names));
	assert_true(nft_pin_name_ok("a.example"));
	assert_false(nft_pin_name_ok(NULL));
	assert_false(nft_pin_name_ok("*.example"));
	free(buf);
	policy_free(&p);
}

/**
 * test_judge() - established connections judged as new ones would be
 * @state:	unused
 */
static void test_judge(void **state)
{
	const char *me = "10.231.0.30", *me6 = "fd6d:6f61:7400:7::2";
	struct policy p;

	(void)state;
	load(&p, "version: 1\negress:\n  default: deny\n  rules:\n"
		 "    - allow: 93.184.216.34\n      ports: [22]\n      protocol: tcp\n"
		 "    - deny: 10.1.0.0/16\n"
		 "    - allow: 10.0.0.0/8\n"
		 "    - allow: 1.1.1.1\n      protocol: icmp\n"
		 "    - allow: host\n      ports: [11434]\n      protocol: tcp\n"
		 "    - allow: github.com\n");
	assert_true(keep(&p, IPPROTO_TCP, me, "93.184.216.34", 22, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me, "93.184.216.34", 80, NULL));
	assert_false(keep(&p, IPPROTO_UDP, me, "93.184.216.34", 22, NULL));
	/* first match wins; v4-mapped forms match IPv4 rules */
	assert_false(keep(&p, IPPROTO_TCP, me, "10.1.2.3", 5432, NULL));
	assert_true(keep(&p, IPPROTO_TCP, me, "10.2.3.4", 5432, NULL));
	assert_true(keep(&p, IPPROTO_TCP, me6, "::ffff:10.2.3.4", 5432, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me6, "::ffff:10.1.2.3", 5432, NULL));
	/* ICMP rules, ports only for TCP and UDP */
	assert_true(keep(&p, IPPROTO_ICMP, me, "1.1.1.1", 0, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me, "1.1.1.1", 443, NULL));
	/* never: other sandboxes, DNS bypasses, multicast */
	assert_false(keep(&p, IPPROTO_TCP, me, "10.231.0.34", 22, NULL));
	assert_false(keep(&p, IPPROTO_UDP, me, "10.2.3.4", 53, NULL));
	assert_false(keep(&p, IPPROTO_UDP, me, "10.2.3.4", 853, NULL));
	assert_false(keep(&p, IPPROTO_UDP, me, "224.0.0.251", 5000, NULL));
	/* the host: only "allow: host" (127.0.0.1 is one of its addresses) */
	assert_true(keep(&p, IPPROTO_TCP, me, "127.0.0.1", 11434, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me, "127.0.0.1", 22, NULL));
	/* the interceptor asked directly, and the redirected: kept */
	assert_true(keep(&p, IPPROTO_UDP, me, "10.231.0.29", 53, NULL));
	assert_true(keep(&p, IPPROTO_TCP, me6, "fd6d:6f61:7400:7::1", 53, NULL));
	assert_true(keep(&p, IPPROTO_UDP, me, "8.8.8.8", 53, "10.231.0.29"));
	assert_true(keep(&p, IPPROTO_TCP, me, "140.82.112.3", 443, "10.231.0.29"));
	/* a domain rule without the interceptor's pins allows nothing */
	assert_false(keep(&p, IPPROTO_TCP, me, "140.82.112.3", 22, NULL));
	/* with domain rules, UDP to 443 may be QUIC: dropped */
	assert_true(keep(&p, IPPROTO_TCP, me, "10.2.3.4", 443, NULL));
	assert_false(keep(&p, IPPROTO_UDP, me, "10.2.3.4", 443, NULL));
	/* not the sandbox's: a published port's relay, the proxy's own */
	assert_true(keep(&p, IPPROTO_TCP, "10.231.0.29", me, 80, NULL));
	assert_true(keep(&p, IPPROTO_TCP, "192.168.77.2", "140.82.112.3", 443, NULL));
	policy_free(&p);

	load(&p, "version: 1\n");	/* the default: public */
	assert_true(keep(&p, IPPROTO_TCP, me, "93.184.216.34", 80, NULL));
	assert_true(keep(&p, IPPROTO_TCP, me6, "2606:2800:220:1::1", 80, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me, "10.0.0.5", 80, NULL));
	assert_false(keep(&p, IPPROTO_TCP, me, "169.254.169.254", 80, NULL));
	policy_free(&p);

	load(&p, "version: 1\nnetwork: restricted\n");
	assert_false(keep(&p, IPPROTO_TCP, me, "93.184.216.34", 80, NULL));
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_nft_text),
		cmocka_unit_test(test_nft_text_names),
		cmocka_unit_test(test_judge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
