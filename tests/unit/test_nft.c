// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_nft.c - the ruleset compiler: golden files and structural checks
 *
 * Every tests/golden/NAME.yaml is a policy; the compiler's output for a
 * fixed sandbox must equal tests/golden/NAME.nft byte for byte, and the
 * base table tests/golden/base.nft. Run with MOAT_REGEN_GOLDEN=1 to
 * rewrite the golden files after an intended change, then review the diff.
 * The structural tests check properties the security of the table rests
 * on, whatever the golden files say.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "nft.h"

#ifndef MOAT_SRCDIR
#define MOAT_SRCDIR "."
#endif

/**
 * srcdir() - the source tree, from the environment or the build
 *
 * Return: path
 */
static const char *srcdir(void)
{
	const char *s = getenv("MOAT_SRCDIR");

	return s && *s ? s : MOAT_SRCDIR;
}

/**
 * read_file() - whole file into a string
 * @path:	file
 *
 * Return: contents (caller frees), NULL if unreadable
 */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc(n + 1);
	if (fread(buf, 1, n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/**
 * check_golden() - compare text with a golden file, or regenerate it
 * @name:	file name under tests/golden
 * @text:	compiler output
 */
static void check_golden(const char *name, const char *text)
{
	char *path = xasprintf("%s/tests/golden/%s", srcdir(), name);
	const char *regen = getenv("MOAT_REGEN_GOLDEN");
	char *want;

	if (regen && *regen == '1') {
		FILE *f = fopen(path, "we");

		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		free(path);
		return;
	}
	want = read_file(path);
	if (!want)
		fail_msg("missing golden file %s (run with MOAT_REGEN_GOLDEN=1)", path);
	if (strcmp(want, text)) {
		fprintf(stderr, "--- %s differs; got:\n%s\n", path, text);
		fail_msg("output differs from %s (MOAT_REGEN_GOLDEN=1 rewrites it)", path);
	}
	free(want);
	free(path);
}

/* the guest MAC of the fixed sandbox, with a TAP */
static const uint8_t test_guest_mac[6] = { 0x02, 0x6d, 0x5e, 0xed, 0x00, 0x07 };

/**
 * test_sandbox() - a fixed sandbox for the golden files
 * @s:		filled in
 * @pol:	its policy
 * @v6:		with IPv6
 */
static void test_sandbox(struct nft_sandbox *s, const struct policy *pol,
			 bool v6)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->ifname, "moat7");
	assert_int_equal(addr_parse("10.231.0.30", &s->addr4), 0);
	assert_int_equal(addr_parse("10.231.0.29", &s->gw4), 0);
	s->has_v6 = v6;
	if (v6) {
		assert_int_equal(addr_parse("fd6d:6f61:7400:7::2", &s->addr6), 0);
		assert_int_equal(addr_parse("fd6d:6f61:7400:7::1", &s->gw6), 0);
	}
	s->pol = pol;
	s->instance = 0x5eed0007;
}

/**
 * compile_sb() - compile a policy text for the fixed sandbox
 * @yaml:	policy
 * @v6:		with IPv6
 * @tap:	with a TAP device (a guest owns its addresses: the IPv6 one
 *		is then the EUI-64 address of test_guest_mac)
 * @ok:		expected to compile
 *
 * Return: compiler output (caller frees)
 */
static char *compile_sb(const char *yaml, bool v6, bool tap, bool ok)
{
	struct errlist el = { 0 };
	struct nft_sandbox s;
	struct policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	policy_init(&p);
	if (policy_load_buf(&p, "test.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy did not load");
	}
	test_sandbox(&s, &p, v6);
	if (tap) {
		s.tap = true;
		memcpy(s.guest_mac, test_guest_mac, 6);
		if (v6)
			addr_eui64(s.addr6.addr, test_guest_mac, &s.addr6);
	}
	f = open_memstream(&buf, &len);
	ret = nft_sandbox_add_text(f, &s, &el);
	/* then, in a second transaction (libnftnl), the dispatch entries */
	nft_dispatch_text(f, s.ifname, true);
	fclose(f);
	assert_int_equal(ret, ok ? 0 : -1);
	errlist_free(&el);
	policy_free(&p);
	return buf;
}

/**
 * compile() - compile_sb() for a sandbox without a TAP
 * @yaml:	policy
 * @v6:		with IPv6
 * @ok:		expected to compile
 *
 * Return: compiler output (caller frees)
 */
static char *compile(const char *yaml, bool v6, bool ok)
{
	return compile_sb(yaml, v6, false, ok);
}

static size_t pos(const char *hay, const char *needle);

/**
 * test_golden_base() - the base table
 * @state:	unused
 */
static void test_golden_base(void **state)
{
	struct nft_base b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(prefix_parse("10.231.0.0/16", &b.pool4, true), 0);
	assert_int_equal(prefix_parse("fd6d:6f61:7400::/48", &b.pool6, true), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(nft_base_text(f, &b), 0);
	fclose(f);
	check_golden("base.nft", buf);

	/* never the owner flag: rules must outlive moat (I6) */
	assert_null(strstr(buf, "owner"));
	/* fail closed after every dispatch */
	assert_non_null(strstr(buf, "prerouting iifname \"moat*\" counter drop"));
	assert_non_null(strstr(buf, "input iifname \"moat*\" counter drop"));
	assert_non_null(strstr(buf, "forward iifname \"moat*\" counter drop"));
	/* nothing new into a sandbox */
	assert_non_null(strstr(buf, "forward oifname \"moat*\" counter drop"));
	/* the I1 log dispatch comes right before that drop */
	assert_true(pos(buf, "forward oifname \"moat*\" iifname \"moat*\" iifname vmap @i1_dispatch\n"
			"add rule inet moat forward oifname \"moat*\" counter drop") > 0);
	assert_int_not_equal(nft_base_hash(&b), 0);
	free(buf);
}

/**
 * test_golden_policies() - every tests/golden/NAME.yaml
 * @state:	unused
 */
static void test_golden_policies(void **state)
{
	char *dir = xasprintf("%s/tests/golden", srcdir());
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *path, *yaml, *out, *gname;
		bool v6;

		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		yaml = read_file(path);
		assert_non_null(yaml);
		v6 = strstr(de->d_name, "-v6") != NULL;
		out = compile_sb(yaml, v6, !strncmp(de->d_name, "tap", 3), true);
		gname = xasprintf("%.*s.nft", (int)(l - 5), de->d_name);
		check_golden(gname, out);
		free(gname);
		free(out);
		free(yaml);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n >= 5);
}

/**
 * pos() - offset of a needle, failing if absent
 * @hay:	text
 * @needle:	what to find
 *
 * Return: offset
 */
static size_t pos(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("'%s' not found in:\n%s", needle, hay);
	return (size_t)(p - hay);
}

/**
 * test_invariants_before_rules() - I1 and I4 drops precede the policy
 * @state:	unused
 */
static void test_invariants_before_rules(void **state)
{
	char *out = compile("version: 1\negress:\n  default: allow\n  rules:\n"
			    "    - allow: 0.0.0.0/0\n    - allow: ::/0\n", true, true);
	size_t first_rule = pos(out, "ip daddr 0.0.0.0/0 counter name \"moat7_a_rule_egress\" counter accept");

	assert_true(pos(out, "ip daddr @pool4 counter name \"moat7_d_i1_egress\" counter drop") < first_rule);
	assert_true(pos(out, "th dport { 53, 137-138, 853, 5353, 5355 } counter name \"moat7_d_i4_egress\" counter drop") < first_rule);
	assert_true(pos(out, "ip daddr @g4_multicast counter name \"moat7_d_i4_egress\" counter drop") < first_rule);
	assert_true(pos(out, "ip6 daddr @g6_multicast counter name \"moat7_d_i4_egress\" counter drop") < first_rule);
	/* default allow still only in forward: the host stays closed */
	assert_null(strstr(out, "moat7_in counter name \"moat7_a_default_egress\""));
	assert_true(pos(out, "moat7_in fib daddr type local counter name \"moat7_d_i2_host\" counter reject") > 0);
	free(out);
}

/**
 * compile_any_proxy() - compile a policy whatever the compiler thinks of it
 * @yaml:	policy
 * @proxy:	the sandbox's supervisor runs the proxy
 *
 * Domain rules compile only with the DNS interceptor; the text around
 * them is emitted either way, which is what the QUIC tests look at.
 *
 * Return: compiler output (caller frees)
 */
static char *compile_any_proxy(const char *yaml, bool proxy)
{
	struct errlist el = { 0 };
	struct nft_sandbox s;
	struct policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	policy_init(&p);
	if (policy_load_buf(&p, "test.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy did not load");
	}
	test_sandbox(&s, &p, true);
	s.proxy = proxy;
	f = open_memstream(&buf, &len);
	nft_sandbox_add_text(f, &s, &el);
	fclose(f);
	errlist_free(&el);
	policy_free(&p);
	return buf;
}

/**
 * compile_any() - compile_any_proxy() for a sandbox without the proxy
 * @yaml:	policy
 *
 * Return: compiler output (caller frees)
 */
static char *compile_any(const char *yaml)
{
	return compile_any_proxy(yaml, false);
}

/**
 * test_quic_drop() - UDP 443 and domain-rule ports dropped with domain rules
 * @state:	unused
 */
static void test_quic_drop(void **state)
{
	const char *quic = "QUIC: names are judged on TCP";
	char *out;

	(void)state;
	/* no domain rule: QUIC is as free as the rest of UDP */
	out = compile("version: 1\negress:\n  rules:\n"
		      "    - allow: 1.1.1.1\n      ports: [443]\n", true, true);
	assert_null(strstr(out, quic));
	free(out);

	out = compile_any("version: 1\negress:\n  default: deny\n  rules:\n"
			  "    - allow: github.com\n      ports: [443, 8443]\n"
			  "    - allow: \"*.example.org\"\n"
			  "      ports: [\"8000-8100\", 444, 442, 8443]\n"
			  "      protocol: tcp\n"
			  "    - deny: evil.example\n"
			  "    - allow: 1.1.1.1\n      ports: [53000]\n"
			  "    - allow: 0.0.0.0/0\n");
	assert_non_null(strstr(out, "moat7_fwd udp dport { 442-444, 8000-8100, 8443 }"
				    " counter name \"moat7_d_i3_egress\" counter drop"
				    " comment \"QUIC: names are judged on TCP\""));
	assert_non_null(strstr(out, "moat7_fwd udp dport { 442-444, 8000-8100, 8443 }"
				    " limit name \"moat7_log\" log prefix \"moat:I3:quic\""));
	/* before the policy's own rules, after the invariants */
	assert_true(pos(out, quic) < pos(out, "ip daddr 0.0.0.0/0 counter name"));
	assert_true(pos(out, quic) > pos(out, "fib daddr type broadcast"));
	free(out);

	/* a deny rule alone is a domain rule too; 443 always */
	out = compile_any("version: 1\negress:\n  rules:\n"
			  "    - deny: evil.example\n");
	assert_non_null(strstr(out, "moat7_fwd udp dport { 443 } counter name"));
	free(out);

	/* many disjoint ports: split into rules of at most 30 ranges, none
	 * lost (the match of one rule is bounded) */
	{
		char yaml[4096], want[32];
		size_t n = 0;
		unsigned k;
		const char *q;

		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "version: 1\negress:\n  rules:\n"
				      "    - allow: a.example\n      ports: [");
		for (k = 0; k < 100; k++)
			n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
					      "%s%u", k ? ", " : "", 10000 + 2 * k);
		snprintf(yaml + n, sizeof(yaml) - n, "]\n");
		out = compile_any(yaml);
		for (k = 0; k < 100; k++) {
			snprintf(want, sizeof(want), " %u%s", 10000 + 2 * k,
				 k % 30 == 28 || k == 99 ? " }" : ",");
			if (!strstr(out, want))
				fail_msg("port %u missing (%s)", 10000 + 2 * k, want);
		}
		for (k = 0, q = out; (q = strstr(q, "counter drop comment \"QUIC")); q++)
			k++;
		assert_int_equal(k, 4);		/* 101 ranges with 443 */
		free(out);
	}
}

/**
 * test_proxy_redirect() - TCP 80, 443 and domain-rule ports marked for the
 * proxy, and only redirected connections let in to it, with domain rules
 * @state:	unused
 */
static void test_proxy_redirect(void **state)
{
	char *out;

	(void)state;
	out = compile("version: 1\negress:\n  rules:\n"
		      "    - allow: 1.1.1.1\n      ports: [443]\n", true, true);
	assert_null(strstr(out, "to the proxy"));
	assert_null(strstr(out, "15001"));
	free(out);

	/* without the proxy running, nothing is redirected (QUIC still goes) */
	out = compile_any("version: 1\negress:\n  rules:\n"
			  "    - allow: github.com\n      ports: [443]\n");
	assert_null(strstr(out, "to the proxy"));
	assert_null(strstr(out, "15001"));
	assert_non_null(strstr(out, "QUIC"));
	free(out);

	out = compile_any_proxy("version: 1\negress:\n  default: deny\n  rules:\n"
			  "    - allow: github.com\n      ports: [443, 8443]\n"
			  "    - allow: dns.example\n      ports: [5000]\n"
			  "      protocol: udp\n"
			  "    - deny: evil.example\n", true);
	/* udp-only domain ports are not redirected, only dropped for QUIC */
	assert_non_null(strstr(out, "add rule inet moat moat7_pre tcp dport { 80, 443, 8443 }"
				    " fib daddr type != local meta mark set meta mark | 0x00100000"
				    " comment \"to the proxy\""));
	assert_non_null(strstr(out, "moat7_fwd udp dport { 443, 5000, 8443 }"));
	/* marked after the anti-spoofing drops, before the chain accepts */
	assert_true(pos(out, "to the proxy") > pos(out, "ip saddr != 10.231.0.30"));
	assert_true(pos(out, "to the proxy") < pos(out, "add rule inet moat moat7_pre accept"));
	assert_non_null(strstr(out, "add rule inet moat moat7_in ip daddr 10.231.0.29"
				    " tcp dport 15001 ct status dnat accept"));
	assert_non_null(strstr(out, "add rule inet moat moat7_in ip6 daddr fd6d:6f61:7400:7::1"
				    " tcp dport 15001 ct status dnat accept"));
	assert_true(pos(out, "tcp dport 15001") < pos(out, "fib daddr type local"));
	/* a proxied port that reaches forward lost its mark: reset, before
	 * the policy's rules could accept it by address or pin */
	assert_non_null(strstr(out, "add rule inet moat moat7_fwd iifname \"moat7\" tcp dport { 80, 443, 8443 }"
				    " counter name \"moat7_d_i3_egress\" counter reject with icmpx admin-prohibited"
				    " comment \"proxied port, not redirected: fail closed\""));
	assert_true(pos(out, "fail closed") < pos(out, "moat7_fwd ip daddr @moat7_"));
	free(out);

	/* no proxy: nothing refused for it */
	out = compile_any("version: 1\negress:\n  rules:\n"
			  "    - allow: github.com\n      ports: [443]\n");
	assert_null(strstr(out, "proxy-bypass"));
	free(out);

	out = compile_any_proxy("version: 1\nnetwork: restricted\negress:\n  rules:\n"
				"    - allow: github.com\n", true);
	assert_null(strstr(out, "to the proxy"));
	assert_null(strstr(out, "15001"));
	free(out);
}

/**
 * test_links() - a sender's link rules, and the link sets' elements
 * @state:	unused
 */
static void test_links(void **state)
{
	static const struct nft_link l[] = {
		{ NFT_LINK_LIVE, "moat7", "moat9", IPPROTO_TCP, 5432 },
		{ NFT_LINK_LIVE, "moat7", "moat9", IPPROTO_UDP, 5432 },
		{ NFT_LINK_NOSELF, "moat3", "moat9", IPPROTO_TCP, 6000 },
	};
	char *out, *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	/* links never go through the proxy: the pools are left unmarked */
	out = compile_any_proxy("version: 1\negress:\n  default: deny\n  rules:\n"
				"    - allow: sandbox:db\n      ports: [443]\n"
				"    - allow: github.com\n      ports: [443]\n", true);
	assert_non_null(strstr(out, "add rule inet moat moat7_pre ip daddr @pool4 accept"));
	assert_non_null(strstr(out, "add rule inet moat moat7_pre ip6 daddr @pool6 accept"));
	assert_true(pos(out, "moat7_pre ip daddr @pool4 accept") < pos(out, "to the proxy"));
	assert_true(pos(out, "moat7_pre ip daddr @pool4 accept") > pos(out, "ip saddr != 10.231.0.30"));
	/* a new connection on a live link: bounded, accepted, before I1 */
	assert_non_null(strstr(out, "add rule inet moat moat7_fwd oifname \"moat*\" ct state new"
				    " iifname . oifname . meta l4proto . th dport @links goto moat7_lk"));
	assert_true(pos(out, "goto moat7_lk") < pos(out, "ip daddr @pool4 limit"));
	assert_true(pos(out, "goto moat7_lk") > pos(out, "moat7_fwd ct state new ct mark set"));
	assert_true(pos(out, "moat7_lk iifname \"moat7\" ct state new add @moat7_flows") <
		    pos(out, "moat7_lk counter name \"moat7_a_rule_egress\" counter accept"));
	free(out);

	/* without link rules: none of it (an accept alone needs nothing of
	 * the receiver's chains) */
	out = compile_any_proxy("version: 1\negress:\n  rules:\n"
				"    - allow: github.com\n      ports: [443]\n"
				"ingress:\n  accept: [{from: sandbox:a, ports: [80]}]\n",
				true);
	assert_null(strstr(out, "@links"));
	assert_null(strstr(out, "_lk"));
	assert_null(strstr(out, "@pool4 accept"));
	free(out);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	nft_links_text(f, l, ARRAY_SIZE(l));
	fclose(f);
	assert_non_null(strstr(buf, "flush set inet moat links\n"
				    "add element inet moat links { \"moat7\" . \"moat9\" . tcp . 5432,"
				    " \"moat7\" . \"moat9\" . udp . 5432 }\n"));
	assert_non_null(strstr(buf, "flush set inet moat link_nopeer\n"
				    "flush set inet moat link_noself\n"
				    "add element inet moat link_noself { \"moat3\" . \"moat9\" . tcp . 6000 }\n"));
	assert_true(pos(buf, "add set inet moat links") < pos(buf, "flush set inet moat links"));
	free(buf);
}

/**
 * test_host_only_by_allow_host() - a CIDR allow never opens the host (I2)
 * @state:	unused
 */
static void test_host_only_by_allow_host(void **state)
{
	char *out = compile("version: 1\negress:\n  rules:\n"
			    "    - allow: 0.0.0.0/0\n    - deny: 192.168.0.0/16\n"
			    "    - allow: host\n      ports: [11434]\n      protocol: tcp\n",
			    false, true);
	size_t deny = pos(out, "moat7_in ip daddr 192.168.0.0/16 counter name \"moat7_d_rule_host\" counter reject");
	size_t allow = pos(out, "moat7_in fib daddr type local tcp dport { 11434 } counter name \"moat7_a_rule_host\" counter accept");

	assert_true(deny < allow);
	assert_null(strstr(out, "moat7_in ip daddr 0.0.0.0/0"));
	free(out);
}

/**
 * test_modes() - restricted and none forward nothing
 * @state:	unused
 */
static void test_modes(void **state)
{
	char *out = compile("version: 1\nnetwork: restricted\negress:\n  default: allow\n",
			    false, true);

	assert_non_null(strstr(out, "moat7_fwd counter name \"moat7_d_i3_egress\" counter drop comment \"network restricted\""));
	assert_null(strstr(out, "accept comment \"default"));
	free(out);
}

/**
 * test_antispoof() - sources other than the sandbox's are dropped (I5)
 * @state:	unused
 */
static void test_antispoof(void **state)
{
	char *v4 = compile("version: 1\n", false, true);
	char *v6 = compile("version: 1\n", true, true);

	assert_non_null(strstr(v4, "moat7_pre ip saddr != 10.231.0.30 counter name \"moat7_d_i5_any\" counter drop"));
	assert_non_null(strstr(v4, "moat7_pre meta nfproto ipv6 drop"));
	assert_non_null(strstr(v6, "moat7_pre ip6 saddr != fd6d:6f61:7400:7::2 counter name \"moat7_d_i5_any\" counter drop"));
	/* neighbour discovery: only from its own addresses, rate-limited,
	 * before the general spoofing rule (which would pass its own address
	 * unlimited); never from any other fe80::/10 source */
	assert_true(pos(v6, "nd-router-advert") < pos(v6, "ip6 saddr != { ::, fe80::2, fd6d:6f61:7400:7::2 } counter name \"moat7_d_i5_any\" counter drop"));
	assert_true(pos(v6, "ip6 saddr != { ::, fe80::2,") <
		    pos(v6, "ip6 hoplimit 255 limit name \"moat7_nd\" accept"));
	assert_true(pos(v6, "limit name \"moat7_nd\" accept") <
		    pos(v6, "nd-neighbor-advert } counter name \"moat7_d_i5_any\" counter drop"));
	assert_true(pos(v6, "nd-neighbor-advert } counter name \"moat7_d_i5_any\" counter drop") <
		    pos(v6, "moat7_pre ip6 saddr != fd6d:6f61:7400:7::2 counter"));
	assert_null(strstr(v6, "fe80::/10"));
	assert_non_null(strstr(v6, "add limit inet moat moat7_nd { rate 50/second burst 100 packets }"));
	free(v4);
	free(v6);
}

/**
 * test_housekeeping() - a sandbox's own RS and MLD reports: quiet drops
 * @state:	unused
 *
 * Exactly those, before the I5 rules that log and count, without a log or
 * a counter of their own; nothing of the kind without IPv6.
 */
static void test_housekeeping(void **state)
{
	char *v4 = compile("version: 1\n", false, true);
	char *v6 = compile("version: 1\n", true, true);
	const char *rs = "moat7_pre ip6 saddr { ::, fe80::2 } ip6 daddr ff02::/16 icmpv6 type nd-router-solicit ip6 hoplimit 255 drop comment";
	const char *mld = "moat7_pre ip6 saddr { ::, fe80::2 } ip6 daddr ff02::/16 icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } ip6 hoplimit 1 drop comment";

	assert_non_null(strstr(v6, rs));
	assert_non_null(strstr(v6, mld));
	assert_true(pos(v6, rs) < pos(v6, "log prefix \"moat:I5:"));
	assert_true(pos(v6, mld) < pos(v6, "log prefix \"moat:I5:"));
	assert_null(strstr(v4, "housekeeping"));
	free(v4);
	free(v6);
}

/**
 * test_flows() - limits.flows bounds what conntrack holds for a sandbox
 * @state:	unused
 *
 * One count, shared by the forward and input chains, evaluated once per
 * new connection (in a rule of its own, not repeated by a log rule), ahead
 * of every accept; beyond it the connection jumps to the logging,
 * counting, rejecting chain.
 */
static void test_flows(void **state)
{
	char *def = compile("version: 1\n", true, true);
	char *low = compile("version: 1\nlimits:\n  flows: 64\n", false, true);
	static const char rule[] = "iifname \"moat7\" ct state new add @moat7_flows { 10.231.0.30 ct count over 64 } jump moat7_i9";
	const char *p;
	int n = 0;

	assert_non_null(strstr(def, "{ 10.231.0.30 ct count over 256 }"));
	for (p = low; (p = strstr(p, " ct count over ")); p++)
		n++;
	assert_int_equal(n, 2);
	assert_true(pos(low, "add rule inet moat moat7_fwd iifname \"moat7\" ct state new add @moat7_flows { 10.231.0.30 ct count over 64 } jump moat7_i9") <
		    pos(low, "moat7_fwd ip daddr @g4_public"));
	assert_true(pos(low, "moat7_in ct state invalid drop") <
		    pos(low, "moat7_in iifname \"moat7\" ct state new add @moat7_flows"));
	assert_non_null(strstr(low, rule));
	assert_true(pos(low, "add set inet moat moat7_flows { type ipv4_addr; size 1; flags dynamic; }") <
		    pos(low, rule));
	assert_non_null(strstr(low, "moat7_i9 limit name \"moat7_log\" log prefix \"moat:I9:flows\""));
	assert_non_null(strstr(low, "moat7_i9 counter name \"moat7_d_i9_any\" counter reject with icmpx admin-prohibited"));
	/* new TCP connections and DNS messages are paced: F at once, then F
	 * every 2 s; DNS 4F at once, then F every 10 s, first thing in the input chain, established flows
	 * included (one flow of queries makes the interceptor open many) */
	assert_non_null(strstr(low, "add limit inet moat moat7_new { rate over 1920/minute burst 64 packets }"));
	assert_non_null(strstr(low, "add limit inet moat moat7_dns { rate over 384/minute burst 256 packets }"));
	assert_true(pos(low, "moat7_in meta l4proto { tcp, udp } th dport 53 limit name \"moat7_dns\" jump moat7_i9") <
		    pos(low, "moat7_in ct state established ct mark 0x5eed0007 accept"));
	assert_true(pos(low, "moat7_fwd iifname \"moat7\" meta l4proto tcp ct state new limit name \"moat7_new\" jump moat7_i9") <
		    pos(low, "moat7_fwd iifname \"moat7\" ct state new add @moat7_flows"));
	assert_true(pos(low, "moat7_in iifname \"moat7\" meta l4proto tcp ct state new limit name \"moat7_new\" jump moat7_i9") <
		    pos(low, "moat7_in iifname \"moat7\" ct state new add @moat7_flows"));
	assert_true(pos(low, "DNS interceptor (I4)") <
		    pos(low, "moat7_in iifname \"moat7\" meta l4proto tcp ct state new limit name \"moat7_new\""));
	/* closed TCP connections leave the count: they leave conntrack soon */
	assert_non_null(strstr(low, "add ct timeout inet moat moat7_tcp { protocol tcp; l3proto ip; policy = { time_wait: 2, close: 2 }; }"));
	assert_true(pos(low, "moat7_fwd meta l4proto tcp ct state new ct timeout set \"moat7_tcp\"") <
		    pos(low, "moat7_fwd iifname \"moat7\" ct state new add @moat7_flows"));
	/* a DNS query is a UDP flow of its own: short-lived in conntrack */
	assert_non_null(strstr(low, "add ct timeout inet moat moat7_udp { protocol udp; l3proto ip; policy = { unreplied: 10, replied: 10 }; }"));
	assert_true(pos(low, "moat7_in udp dport 53 ct state new ct timeout set \"moat7_udp\"") <
		    pos(low, "DNS interceptor (I4)"));
	/* ... and bounded by the pace of DNS messages, not by the count */
	assert_true(pos(low, "DNS interceptor (I4)") <
		    pos(low, "moat7_in iifname \"moat7\" ct state new add @moat7_flows"));
	assert_null(strstr(low, "moat7_fwd udp dport 53 ct state new ct timeout"));
	/* the count is never flushed: it counts what conntrack holds */
	assert_null(strstr(low, "flush set inet moat moat7_flows"));
	free(def);
	free(low);
}

/**
 * test_delete_text() - removal is idempotent and ordered
 * @state:	unused
 */
static void test_delete_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	/* the dispatch entries go first (libnftnl), then the chains */
	nft_dispatch_text(f, "moat7", false);
	nft_sandbox_del_text(f, "moat7", NULL);
	fclose(f);
	check_golden("delete.nft", buf);
	assert_true(pos(buf, "delete element inet moat fwd_dispatch") <
		    pos(buf, "add chain inet moat moat7_fwd"));
	assert_true(pos(buf, "delete element inet moat i1_dispatch") <
		    pos(buf, "delete chain inet moat moat7_i1"));
	assert_true(pos(buf, "add chain inet moat moat7_fwd") <
		    pos(buf, "delete chain inet moat moat7_fwd"));
	free(buf);
}

/**
 * destroy_for() - nft_sandbox_destroy_text() for the fixed sandbox
 * @yaml:	its policy
 *
 * Return: text (caller frees)
 */
static char *destroy_for(const char *yaml)
{
	struct errlist el = { 0 };
	struct policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	policy_init(&p);
	assert_int_equal(policy_load_buf(&p, "test.yaml", yaml, strlen(yaml),
					 &el), 0);
	f = open_memstream(&buf, &len);
	nft_sandbox_destroy_text(f, "moat7", &p);
	fclose(f);
	policy_free(&p);
	return buf;
}

/**
 * test_destroy_covers_add() - the one-batch removal names every object
 * that creation makes, entries first, chains in an order they can go
 * @state:	unused
 *
 * For every golden policy (domain rules' pin sets included): each
 * "add chain|set|counter|limit|ct timeout" of the sandbox's own objects
 * in the compiler's output has its "destroy" line. An object added to
 * the compiler but not to nft_sandbox_objects() would outlive "moat rm".
 */
static void test_destroy_covers_add(void **state)
{
	static const char *const kinds[] = {
		"chain", "set", "counter", "limit", "ct timeout",
	};
	char *dir = xasprintf("%s/tests/golden", srcdir());
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), k;
		char *path, *yaml, *add, *del, *line;
		bool v6 = strstr(de->d_name, "-v6") != NULL;

		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		yaml = read_file(path);
		assert_non_null(yaml);
		add = compile_sb(yaml, v6, !strncmp(de->d_name, "tap", 3), true);
		del = destroy_for(yaml);
		for (line = add; line && *line; line = strchr(line, '\n'),
		     line = line ? line + 1 : NULL) {
			for (k = 0; k < ARRAY_SIZE(kinds); k++) {
				char *pfx = xasprintf("add %s inet moat moat7_",
						      kinds[k]);
				size_t pl = strlen(pfx), nl;
				char *want;

				if (strncmp(line, pfx, pl)) {
					free(pfx);
					continue;
				}
				nl = strcspn(line + pl, " \n");
				want = xasprintf("destroy %s inet moat moat7_%.*s\n",
						 kinds[k], (int)nl, line + pl);
				if (!strstr(del, want))
					fail_msg("%s: no '%.*s' in the removal batch",
						 de->d_name, (int)strlen(want) - 1,
						 want);
				free(want);
				free(pfx);
			}
		}
		/* nothing leads to a chain once it goes: entries first; out
		 * jumps to in and fwd, which jump to i9 */
		assert_true(pos(del, "delete element inet moat fwd_dispatch") <
			    pos(del, "destroy chain inet moat moat7_out\n"));
		assert_true(pos(del, "destroy chain inet moat moat7_out\n") <
			    pos(del, "destroy chain inet moat moat7_in\n"));
		assert_true(pos(del, "destroy chain inet moat moat7_fwd\n") <
			    pos(del, "destroy chain inet moat moat7_i9\n"));
		assert_true(pos(del, "destroy chain inet moat moat7_i9\n") <
			    pos(del, "destroy set inet moat moat7_flows\n"));
		free(add);
		free(del);
		free(yaml);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n >= 5);
}

/**
 * test_inner_dns() - the table inside an attached sandbox's namespace
 * @state:	unused
 *
 * Only NAT of port 53 to loopback and of loopback sources leaving moat's
 * interface: it filters nothing (the host's table does), and without
 * IPv6 leaves ::1 alone.
 */
static void test_inner_dns(void **state)
{
	struct prefix gw4, gw6;
	char *buf = NULL, *b4 = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(prefix_parse("10.231.0.29/32", &gw4, false), 0);
	assert_int_equal(prefix_parse("fd6d:6f61:7400:7::1/128", &gw6, false), 0);
	f = open_memstream(&buf, &len);
	nft_inner_dns_del_text(f);
	nft_inner_dns_text(f, "eth0", &gw4, &gw6);
	fclose(f);
	check_golden("inner-dns.nft", buf);
	assert_non_null(strstr(buf, "ip daddr 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 dnat ip to 10.231.0.29\n"));
	assert_non_null(strstr(buf, "dnat ip6 to fd6d:6f61:7400:7::1\n"));
	assert_non_null(strstr(buf, "oifname \"eth0\" ip saddr 127.0.0.0/8 masquerade"));
	assert_null(strstr(buf, "drop"));
	assert_null(strstr(buf, "reject"));
	assert_null(strstr(buf, "type filter"));
	assert_true(pos(buf, "delete table inet " NFT_INNER_TABLE) <
		    pos(buf, "table inet " NFT_INNER_TABLE " {"));

	len = 0;
	f = open_memstream(&b4, &len);
	nft_inner_dns_text(f, "ceth0", &gw4, NULL);
	fclose(f);
	assert_null(strstr(b4, "::1"));
	assert_null(strstr(b4, "ip6"));
	assert_non_null(strstr(b4, "oifname \"ceth0\""));
	free(b4);
	free(buf);
}

/**
 * test_logged_denials() - every counted denial is logged first, rate-limited
 * @state:	unused
 *
 * For each rule that drops or rejects with a named counter, the rule just
 * before it has the same match and logs to the sandbox's group with the
 * shared limit; allowed flows are never logged.
 */
static void test_logged_denials(void **state)
{
	char *out = compile("version: 1\negress:\n  default: deny\n  rules:\n"
			    "    - allow: 140.82.112.0/20\n      ports: [22]\n"
			    "    - deny: metadata\n    - deny: host\n", true, true);
	char *save = NULL, *line, *prev = NULL;
	int denials = 0;

	assert_int_equal(nft_log_group("moat7"), NFT_LOG_GROUP_BASE + 7);
	assert_int_equal(nft_log_group("moat"), 0);
	assert_int_equal(nft_log_group("moat70000"), 0);
	assert_int_equal(nft_log_group("eth0"), 0);
	assert_non_null(strstr(out, "add limit inet moat moat7_log { rate"));
	for (line = strtok_r(out, "\n", &save); line;
	     prev = line, line = strtok_r(NULL, "\n", &save)) {
		const char *c = strstr(line, " counter name \"moat7_d_");
		const char *l;

		if (strstr(line, "log prefix"))
			assert_non_null(strstr(line, " limit name \"moat7_log\" log prefix \"moat:"));
		if (strstr(line, "accept"))
			assert_null(strstr(line, " log "));
		if (!c)
			continue;
		denials++;
		assert_non_null(prev);
		l = strstr(prev, " limit name \"moat7_log\" log prefix");
		assert_non_null(l);
		/* same rule head and match */
		assert_int_equal(l - prev, c - line);
		assert_memory_equal(prev, line, (size_t)(c - line));
		assert_non_null(strstr(prev, "group 16391"));
	}
	assert_true(denials >= 12);
	free(out);
	/* the I1 log chain never decides: the base chain's drop does */
	out = compile("version: 1\negress:\n  default: allow\n", false, true);
	{
		const char *c = strstr(out, "add chain inet moat moat7_i1\n");
		const char *e = strstr(out, "add element inet moat i1_dispatch");

		assert_non_null(c);
		assert_non_null(e);
		for (line = strstr(c, "add rule inet moat moat7_i1"); line && line < e;
		     line = strstr(line + 1, "add rule inet moat moat7_i1")) {
			const char *nl = strchr(line, '\n');
			char *r = strndup(line, (size_t)(nl - line));

			assert_null(strstr(r, "accept"));
			assert_null(strstr(r, "drop"));
			assert_null(strstr(r, "reject"));
			assert_null(strstr(r, "jump"));
			assert_null(strstr(r, "goto"));
			free(r);
		}
	}
	free(out);
	out = compile("version: 1\negress:\n  rules:\n    - deny: metadata\n"
		      "    - deny: host\n", false, true);
	assert_non_null(strstr(out, "moat7_fwd ip daddr @g4_metadata limit name \"moat7_log\" log prefix \"moat:rule:1\""));
	assert_non_null(strstr(out, "moat7_in fib daddr type local limit name \"moat7_log\" log prefix \"moat:rule:2\""));
	assert_non_null(strstr(out, "moat7_fwd limit name \"moat7_log\" log prefix \"moat:I3:default\""));
	free(out);
}

/**
 * test_out_chain() - a supervisor's onward connections meet the sandbox's
 * own chains, found by socket mark
 * @state:	unused
 */
static void test_out_chain(void **state)
{
	char *out = compile("version: 1\negress:\n  rules:\n"
			    "    - deny: 140.82.112.3\n"
			    "    - allow: github.com\n", false, true);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	/* DNS upstream first, loopback, then local to _in, the rest to _fwd */
	assert_true(pos(out, "moat7_out meta mark & 0x40000000 == 0x40000000 meta l4proto { tcp, udp } th dport 53 accept") <
		    pos(out, "moat7_out ip daddr 127.0.0.0/8 counter"));
	assert_true(pos(out, "moat7_out ip6 daddr ::1 counter") <
		    pos(out, "moat7_out fib daddr type local goto moat7_in"));
	assert_true(pos(out, "moat7_out fib daddr type local goto moat7_in") <
		    pos(out, "moat7_out goto moat7_fwd"));
	/* the chains it goes to exist first */
	assert_true(pos(out, "add chain inet moat moat7_fwd") <
		    pos(out, "add chain inet moat moat7_out"));
	free(out);

	assert_int_equal(nft_out_mark("moat7"), 0x80000007);
	assert_int_equal(nft_out_mark("moat65534"), 0x8000fffe);
	assert_int_equal(nft_out_mark("moat65535"), NFT_OUT_NONE);
	assert_int_equal(nft_out_mark("moat"), NFT_OUT_NONE);
	assert_int_equal(nft_out_mark("eth0"), NFT_OUT_NONE);
	/* an index without a mark of its own has no entry: its sockets are
	 * dropped by the base chain */
	f = open_memstream(&buf, &len);
	nft_dispatch_text(f, "moat70000", true);
	fclose(f);
	assert_null(strstr(buf, "out_dispatch"));
	assert_non_null(strstr(buf, "fwd_dispatch"));
	free(buf);
}

/**
 * test_tap() - a guest behind a TAP: its MAC only, DHCP and router
 * solicitations to moat's servers and nowhere else of the host
 * @state:	unused
 */
static void test_tap(void **state)
{
	const char *mac = "moat7_pre ether saddr != 02:6d:5e:ed:00:07 counter name \"moat7_d_i5_any\" counter drop";
	const char *dhcp0 = "moat7_pre ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept";
	const char *rs = "moat7_pre ip6 saddr { ::, fe80::6d:5eff:feed:7 } ip6 daddr ff02::2 icmpv6 type nd-router-solicit ip6 hoplimit 255 limit name \"moat7_nd\" accept";
	const char *dhcp = "moat7_in ip daddr { 255.255.255.255, 10.231.0.29 } udp sport 68 udp dport 67 accept";
	const char *ra = "moat7_in ip6 daddr ff02::2 icmpv6 type nd-router-solicit ip6 hoplimit 255 accept";
	char *out = compile_sb("version: 1\n", true, true, true);

	(void)state;
	/* the MAC first: nothing a guest sends is looked at before it */
	assert_true(pos(out, mac) < pos(out, dhcp0));
	assert_true(pos(out, mac) < pos(out, "router solicitation (housekeeping)"));
	assert_true(pos(out, mac) < pos(out, "moat7_pre ip saddr != 10.231.0.30"));
	/* DHCP from 0.0.0.0 is let through only there, before the source
	 * check; the router solicitation before the drops of RA/RS */
	assert_true(pos(out, dhcp0) < pos(out, "moat7_pre ip saddr != 10.231.0.30"));
	assert_true(pos(out, rs) < pos(out, "router solicitation (housekeeping)"));
	assert_true(pos(out, rs) < pos(out, "icmpv6 type { nd-router-advert, nd-redirect, nd-router-solicit }"));
	/* the guest's link-local and SLAAC addresses, not the namespace's */
	assert_null(strstr(out, "fe80::2 "));
	assert_non_null(strstr(out, "ip6 saddr != { ::, fe80::6d:5eff:feed:7, fd6d:6f61:7400:7:6d:5eff:feed:7 }"));
	assert_non_null(strstr(out, "ip6 saddr != fd6d:6f61:7400:7:6d:5eff:feed:7 "));
	assert_non_null(strstr(out, "ip6 saddr { ::, fe80::6d:5eff:feed:7 } ip6 daddr ff02::/16 icmpv6 type { mld-listener-report"));
	/* the host: port 67 on the gateway or broadcast, before the host
	 * is refused */
	assert_true(pos(out, dhcp) < pos(out, "moat7_in fib daddr type local"));
	assert_true(pos(out, ra) < pos(out, "moat7_in fib daddr type local"));
	assert_true(pos(out, "moat7_in ct state invalid drop") < pos(out, dhcp));
	free(out);

	/* without IPv6: no router solicitations at all */
	out = compile_sb("version: 1\n", false, true, true);
	assert_non_null(strstr(out, dhcp0));
	assert_null(strstr(out, "nd-router-solicit ip6 hoplimit 255 limit"));
	assert_null(strstr(out, ra));
	free(out);

	/* a sandbox without a TAP has none of it */
	out = compile("version: 1\n", true, true);
	assert_null(strstr(out, "ether saddr"));
	assert_null(strstr(out, "udp dport 67"));
	assert_null(strstr(out, ra));
	assert_non_null(strstr(out, "ip6 saddr != { ::, fe80::2, fd6d:6f61:7400:7::2 }"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_base),
		cmocka_unit_test(test_golden_policies),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_invariants_before_rules),
		cmocka_unit_test(test_host_only_by_allow_host),
		cmocka_unit_test(test_quic_drop),
		cmocka_unit_test(test_proxy_redirect),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_antispoof),
		cmocka_unit_test(test_flows),
		cmocka_unit_test(test_housekeeping),
		cmocka_unit_test(test_delete_text),
		cmocka_unit_test(test_destroy_covers_add),
		cmocka_unit_test(test_inner_dns),
		cmocka_unit_test(test_logged_denials),
		cmocka_unit_test(test_out_chain),
		cmocka_unit_test(test_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
