// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_probe.c - unit tests of the pieces of "moat verify" that need no
 * namespace: the DNS query a probe sends (byte for byte, and the names it
 * refuses), probe destinations (link-local scope), which results count as
 * reaching the target, and the report (breach count, JSON fields).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "probe.h"
#include "report.h"

/**
 * test_dns_query() - a query for a.example, type A, class IN, RD set
 * @state:	unused
 */
static void test_dns_query(void **state)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1,
	};
	uint8_t buf[512];
	size_t n;

	(void)state;
	n = probe_dns_query(buf, sizeof(buf), 0x1234, "a.example");
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* a trailing dot is the root label, already implied */
	assert_int_equal(probe_dns_query(buf, sizeof(buf), 1, "a.example."),
			 sizeof(want));
}

/**
 * test_dns_query_refused() - names and buffers a query cannot be built for
 * @state:	unused
 */
static void test_dns_query_refused(void **state)
{
	char label[80], name[300];
	uint8_t buf[512];

	(void)state;
	assert_int_equal(probe_dns_query(buf, sizeof(buf), 1, "a..example"), 0);
	assert_int_equal(probe_dns_query(buf, sizeof(buf), 1, ".example"), 0);
	memset(label, 'x', 64);
	label[64] = '\0';
	assert_int_equal(probe_dns_query(buf, sizeof(buf), 1, label), 0);
	label[63] = '\0';
	assert_int_not_equal(probe_dns_query(buf, sizeof(buf), 1, label), 0);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(probe_dns_query(buf, sizeof(buf), 1, name), 0);
	assert_int_equal(probe_dns_query(buf, 16, 1, "a.example"), 0);
}

/**
 * test_dst() - destinations: ports in network order, link-local scope
 * @state:	unused
 */
static void test_dst(void **state)
{
	struct probe p = { 0 };
	uint8_t a6[16], a4[4];

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", a4);
	assert_int_equal(probe_set_dst(&p, AF_INET, a4, 853), 0);
	assert_int_equal(((struct sockaddr_in *)&p.dst)->sin_port, htons(853));
	assert_int_equal(p.dstlen, sizeof(struct sockaddr_in));
	assert_false(p.scope_eth0);

	inet_pton(AF_INET6, "fe80::1", a6);
	assert_int_equal(probe_set_dst(&p, AF_INET6, a6, 22), 0);
	assert_true(p.scope_eth0);
	inet_pton(AF_INET6, "2001:db8::1", a6);
	assert_int_equal(probe_set_dst(&p, AF_INET6, a6, 22), 0);
	assert_false(p.scope_eth0);
	assert_int_equal(probe_set_dst(&p, AF_UNIX, a6, 22), -EAFNOSUPPORT);
}

/**
 * test_reached() - a reset or port unreachable means the packet got there
 * @state:	unused
 */
static void test_reached(void **state)
{
	(void)state;
	assert_true(probe_obs_reached(OBS_CONNECTED));
	assert_true(probe_obs_reached(OBS_ANSWERED));
	assert_true(probe_obs_reached(OBS_RESET));
	assert_true(probe_obs_reached(OBS_NXDOMAIN));
	assert_false(probe_obs_reached(OBS_REJECTED));
	assert_false(probe_obs_reached(OBS_TIMEOUT));
	assert_false(probe_obs_reached(OBS_NOROUTE));
	assert_false(probe_obs_reached(OBS_ERROR));
	assert_string_equal(probe_obs_name(OBS_RESET), "reached (reset)");
}

/**
 * test_report() - breach count and the JSON document's fields
 * @state:	unused
 */
static void test_report(void **state)
{
	struct report r = { .mode = "live" };
	json_t *doc, *row;
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		report_add(&r, i != 42, "I2", "verify-x-a", "host", "blocked",
			   "%s", i == 42 ? "connected" : "rejected");
	assert_int_equal(report_breaches(&r), 1);
	doc = report_json(&r);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "mode")), "live");
	assert_true(json_is_false(json_object_get(doc, "ok")));
	assert_int_equal(json_integer_value(json_object_get(doc, "checks")), 100);
	assert_int_equal(json_integer_value(json_object_get(doc, "breaches")), 1);
	row = json_array_get(json_object_get(doc, "rows"), 42);
	assert_string_equal(json_string_value(json_object_get(row, "observed")), "connected");
	assert_string_equal(json_string_value(json_object_get(row, "invariant")), "I2");
	assert_true(json_is_false(json_object_get(row, "ok")));
	json_decref(doc);
	report_free(&r);
	assert_int_equal(r.n, 0);
}

/**
 * main() - run the tests
 *
 * Return: number of failures
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_query),
		cmocka_unit_test(test_dns_query_refused),
		cmocka_unit_test(test_dst),
		cmocka_unit_test(test_reached),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
