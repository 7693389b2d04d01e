// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_hostfw.c - unit tests of the judgement of other tables' forward
 * chains (hostfw.c), on listings as libnftables prints them: which chains
 * drop moat's allowed traffic (policy drop, a final unconditional drop or
 * reject) and which let it through (moat's accepts in the chain, a chain
 * it jumps to, or DOCKER-USER), through the rows hostfw_audit() reports
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "hostfw.h"
#include "report.h"

/* rule expressions, as "nft -j list ruleset" prints them */
#define IIF_MOAT	"{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"iifname\"}}, \"right\": \"moat*\"}}"
#define OIF_MOAT	"{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"oifname\"}}, \"right\": \"moat*\"}}"
#define CT_EST		"{\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\": \"state\"}}, \"right\": [\"established\", \"related\"]}}"
#define XT_CT		"{\"xt\": {\"type\": \"match\", \"name\": \"conntrack\"}}"
#define SADDR		"{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}}, \"right\": \"10.0.0.1\"}}"
#define COUNTER		"{\"counter\": {\"packets\": 0, \"bytes\": 0}}"
#define ACCEPT		"{\"accept\": null}"
#define DROP		"{\"drop\": null}"
#define REJECT		"{\"reject\": {\"type\": \"icmpx\", \"expr\": \"admin-prohibited\"}}"
#define JUMP(c)		"{\"jump\": {\"target\": \"" c "\"}}"

/* a base chain, and a rule, of table FAM TAB */
#define CHAIN(fam, tab, name, hook, policy) \
	"{\"chain\": {\"family\": \"" fam "\", \"table\": \"" tab "\", \"name\": \"" name \
	"\", \"type\": \"filter\", \"hook\": \"" hook "\", \"prio\": 0, \"policy\": \"" policy "\"}}"
#define PLAIN(fam, tab, name) \
	"{\"chain\": {\"family\": \"" fam "\", \"table\": \"" tab "\", \"name\": \"" name "\"}}"
#define RULE(fam, tab, chain, ...) \
	"{\"rule\": {\"family\": \"" fam "\", \"table\": \"" tab "\", \"chain\": \"" chain \
	"\", \"expr\": [" __VA_ARGS__ "]}}"

/**
 * audit() - hostfw_audit() on a listing
 * @items:	the items of "nftables", comma separated
 * @fail:	set to the failed rows' checks and observations, "; " separated
 * @len:	its size
 *
 * Return: number of failures reported
 */
static size_t audit(const char *items, char *fail, size_t len)
{
	char text[8192];
	struct report r = { 0 };
	json_t *doc;
	size_t n, i, used = 0;

	snprintf(text, sizeof(text), "{\"nftables\": [%s]}", items);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	n = hostfw_audit(&r, doc);
	fail[0] = '\0';
	for (i = 0; i < r.n; i++)
		if (!r.rows[i].ok && used < len)
			used += (size_t)snprintf(fail + used, len - used, "%s: %s; ",
						 r.rows[i].check, r.rows[i].observed);
	assert_int_equal(r.n, n ? n : 1);
	report_free(&r);
	json_decref(doc);
	return n;
}

/**
 * test_drops() - what counts as dropping moat's forwarded traffic
 * @state:	unused
 */
static void test_drops(void **state)
{
	char f[1024];

	(void)state;
	/* policy drop, any family of IP */
	assert_int_equal(audit(CHAIN("inet", "ufw", "forward", "forward", "drop"), f, sizeof(f)), 1);
	assert_non_null(strstr(f, "table inet ufw chain forward: hook forward with policy drop"));
	assert_int_equal(audit(CHAIN("ip6", "filter", "FORWARD", "forward", "drop"), f, sizeof(f)), 1);
	/* a final unconditional reject or drop (counters aside) */
	assert_int_equal(audit(CHAIN("inet", "firewalld", "filter_FORWARD", "forward", "accept") ","
			       RULE("inet", "firewalld", "filter_FORWARD", CT_EST "," ACCEPT) ","
			       RULE("inet", "firewalld", "filter_FORWARD", REJECT), f, sizeof(f)), 1);
	assert_non_null(strstr(f, "a final reject"));
	assert_int_equal(audit(CHAIN("ip", "t", "f", "forward", "accept") ","
			       RULE("ip", "t", "f", COUNTER "," DROP), f, sizeof(f)), 1);
	assert_non_null(strstr(f, "a final drop"));
	/* not dropping: a conditional last drop, an accept policy, other
	 * hooks and families, moat's own table */
	assert_int_equal(audit(CHAIN("ip", "t", "f", "forward", "accept") ","
			       RULE("ip", "t", "f", SADDR "," DROP), f, sizeof(f)), 0);
	assert_int_equal(audit(CHAIN("ip", "t", "f", "forward", "accept"), f, sizeof(f)), 0);
	assert_int_equal(audit(CHAIN("ip", "t", "in", "input", "drop"), f, sizeof(f)), 0);
	assert_int_equal(audit(CHAIN("bridge", "t", "f", "forward", "drop"), f, sizeof(f)), 0);
	assert_int_equal(audit(CHAIN("inet", "moat", "forward", "forward", "drop"), f, sizeof(f)), 0);
}

/**
 * test_let_through() - a dropping chain that accepts moat's interfaces
 * @state:	unused
 */
static void test_let_through(void **state)
{
	char f[1024];

	(void)state;
	/* both accepts in the chain itself */
	assert_int_equal(audit(CHAIN("inet", "ufw", "forward", "forward", "drop") ","
			       RULE("inet", "ufw", "forward", IIF_MOAT "," ACCEPT) ","
			       RULE("inet", "ufw", "forward", OIF_MOAT "," COUNTER "," ACCEPT),
			       f, sizeof(f)), 0);
	/* replies by conntrack state, native or iptables', in a jumped-to chain */
	assert_int_equal(audit(CHAIN("ip", "filter", "FORWARD", "forward", "drop") ","
			       RULE("ip", "filter", "FORWARD", JUMP("ufw-before-forward")) ","
			       PLAIN("ip", "filter", "ufw-before-forward") ","
			       RULE("ip", "filter", "ufw-before-forward", XT_CT "," COUNTER "," ACCEPT) ","
			       RULE("ip", "filter", "ufw-before-forward", IIF_MOAT "," COUNTER "," ACCEPT),
			       f, sizeof(f)), 0);
	assert_int_equal(audit(CHAIN("inet", "t", "f", "forward", "drop") ","
			       RULE("inet", "t", "f", CT_EST "," ACCEPT) ","
			       RULE("inet", "t", "f", IIF_MOAT "," ACCEPT), f, sizeof(f)), 0);
	/* one direction only: still dropping */
	assert_int_equal(audit(CHAIN("inet", "t", "f", "forward", "drop") ","
			       RULE("inet", "t", "f", IIF_MOAT "," ACCEPT), f, sizeof(f)), 1);
	/* a match besides the interface: not moat's accept */
	assert_int_equal(audit(CHAIN("inet", "t", "f", "forward", "drop") ","
			       RULE("inet", "t", "f", IIF_MOAT "," SADDR "," ACCEPT) ","
			       RULE("inet", "t", "f", OIF_MOAT "," ACCEPT), f, sizeof(f)), 1);
}

/**
 * test_docker() - Docker's FORWARD: dropping until DOCKER-USER holds
 * moat's accepts
 * @state:	unused
 */
static void test_docker(void **state)
{
#define DOCKER(user_rules) \
	CHAIN("ip", "filter", "FORWARD", "forward", "drop") "," \
	RULE("ip", "filter", "FORWARD", COUNTER "," JUMP("DOCKER-USER")) "," \
	PLAIN("ip", "filter", "DOCKER-USER") user_rules
	char f[1024];

	(void)state;
	assert_int_equal(audit(DOCKER("," RULE("ip", "filter", "DOCKER-USER", COUNTER ", {\"return\": null}")),
			       f, sizeof(f)), 1);
	assert_non_null(strstr(f, "table ip filter chain FORWARD: hook forward with policy drop"));
	assert_non_null(strstr(f, "not accepted in DOCKER-USER"));
	assert_int_equal(audit(DOCKER("," RULE("ip", "filter", "DOCKER-USER", IIF_MOAT "," ACCEPT)
				      "," RULE("ip", "filter", "DOCKER-USER", OIF_MOAT "," ACCEPT)
				      "," RULE("ip", "filter", "DOCKER-USER", "{\"return\": null}")),
			       f, sizeof(f)), 0);
#undef DOCKER
}

/**
 * main() - run the tests
 *
 * Return: number of failed tests
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_let_through),
		cmocka_unit_test(test_docker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
