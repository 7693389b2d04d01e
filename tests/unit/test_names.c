// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_names.c - unit tests of the host-name rule (names.c) as each place
 * applies it: a policy's names and patterns (normalisation, IDN, wildcard
 * limits), a client's SNI or Host (address literals told apart), a DNS
 * question (folded, matching no pattern unless valid), and matching
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "names.h"

static const struct {
	const char *in;
	const char *out;	/* NULL: refused */
	bool wildcard;
} domains[] = {
	{ "example.com", "example.com", false },
	{ "Example.COM", "example.com", false },
	{ "example.com.", "example.com", false },
	{ "EXAMPLE.com.", "example.com", false },
	{ "bücher.example", "xn--bcher-kva.example", false },
	{ "BÜCHER.example.", "xn--bcher-kva.example", false },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", false },
	{ "straße.de", "xn--strae-oqa.de", false },
	{ "日本語.jp", "xn--wgv71a119e.jp", false },
	{ "*.bücher.example", "*.xn--bcher-kva.example", true },
	{ "*.GitHubUserContent.com.", "*.githubusercontent.com", true },
	{ "_sip._tcp.example.com", "_sip._tcp.example.com", false },
	{ "a-b.c-d.e", "a-b.c-d.e", false },
	{ "localhost", "localhost", false },
	{ "1a.example", "1a.example", false },
	{ "a.0x1f", NULL, false },
	{ "a.0x", "a.0x", false },
	{ "0xbeef.com", "0xbeef.com", false },
	{ "*.example.com", NULL, false },
	{ "*.com", NULL, true },
	{ "*", NULL, true },
	{ "*.", NULL, true },
	{ "**.example.com", NULL, true },
	{ "*.*.example.com", NULL, true },
	{ "a*.example.com", NULL, true },
	{ "x.*.com", NULL, true },
	{ "", NULL, false },
	{ ".", NULL, false },
	{ ".example.com", NULL, false },
	{ "example..com", NULL, false },
	{ "example.com..", NULL, false },
	{ "-example.com", NULL, false },
	{ "example-.com", NULL, false },
	{ "exa mple.com", NULL, false },
	{ "example.com/x", NULL, false },
	{ "1.2.3.4", NULL, false },
	{ "\xff.example", NULL, false },
	{ "a.b\xc3", NULL, false },
	{ "xn--zz.com", NULL, false },
	{ "xn--.com", NULL, false },
	{ "\xcc\x81" "a.com", NULL, false },
	{ "ex\xe2\x80\x8d" "ample.com", NULL, false },
	{ "\xe2\x93\x90.com", "a.com", false },
	{ "a\xe3\x80\x82" "b.com", "a.b.com", false },
	{ "XN--BCHER-KVA.example", "xn--bcher-kva.example", false },
	{ "ab--c.xn--bcher-kva.example", "ab--c.xn--bcher-kva.example", false },
	{ "fu\xc3\x9f" "ball.de", "xn--fuball-cta.de", false },
};

/**
 * test_domains() - case, trailing dot, IDN to punycode, wildcards, labels
 * @state:	unused
 */
static void test_domains(void **state)
{
	char out[NAMES_MAX + 3], name[300];
	const char *why;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(domains); i++) {
		rc = names_normalise(domains[i].in, out, sizeof(out),
				     domains[i].wildcard, &why);
		if (!domains[i].out) {
			if (rc != -1)
				fprintf(stderr, "'%s' accepted as '%s'\n",
					domains[i].in, out);
			assert_int_equal(rc, -1);
			assert_non_null(why);
		} else {
			if (rc)
				fprintf(stderr, "'%s': %s\n", domains[i].in, why);
			assert_int_equal(rc, 0);
			assert_string_equal(out, domains[i].out);
		}
	}

	/* 63-character labels, 253 characters in all */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example");
	assert_int_equal(names_normalise(name, out, sizeof(out), false,
					 &why), 0);
	name[63] = 'a';
	strcpy(name + 64, ".example");
	assert_int_equal(names_normalise(name, out, sizeof(out), false,
					 &why), -1);
	for (i = 0; i < 4; i++) {
		memset(name + i * 64, 'a', 63);
		name[i * 64 + 63] = '.';
	}
	name[253] = '\0';	/* 4 * 64 - 3: last label is 61 characters */
	assert_int_equal(strlen(name), 253);
	assert_int_equal(names_normalise(name, out, sizeof(out), false,
					 &why), 0);
	strcpy(name + 253, ".");	/* a trailing dot does not count */
	assert_int_equal(names_normalise(name, out, sizeof(out), false,
					 &why), 0);
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(names_normalise(name, out, sizeof(out), false,
					 &why), -1);
	/* "*." counts: *.  + 251 is the longest wildcard */
	memcpy(name, "*.", 2);
	name[253] = '\0';
	assert_int_equal(names_normalise(name, out, sizeof(out), true,
					 &why), 0);
	name[253] = 'a';
	assert_int_equal(names_normalise(name, out, sizeof(out), true,
					 &why), -1);

	/* a short output buffer is refused, not overrun */
	assert_int_equal(names_normalise("example.com", out, 11, false,
					 &why), -1);
	assert_int_equal(names_normalise("example.com", out, 12, false,
					 &why), 0);
}

/**
 * test_match() - whole labels, wildcards cover subdomains only
 * @state:	unused
 */
static void test_match(void **state)
{
	(void)state;
	assert_true(names_match("github.com", "github.com"));
	assert_false(names_match("github.com", "evilgithub.com"));
	assert_false(names_match("github.com", "github.com.evil.net"));
	assert_false(names_match("github.com", "api.github.com"));
	assert_false(names_match("github.com", "com"));
	assert_true(names_match("*.github.com", "api.github.com"));
	assert_true(names_match("*.github.com", "a.b.github.com"));
	assert_false(names_match("*.github.com", "github.com"));
	assert_false(names_match("*.github.com", "evilgithub.com"));
	assert_false(names_match("*.github.com", "xgithub.com"));
}

/**
 * test_fold() - a DNS question: case, trailing dot, escapes, length
 * @state:	unused
 */
static void test_fold(void **state)
{
	char out[NAMES_MAX + 2], big[300];

	(void)state;
	assert_int_equal(names_fold("GitHub.COM.", out, sizeof(out)), 0);
	assert_string_equal(out, "github.com");
	assert_int_equal(names_fold("xn--bcher-kva.example", out, sizeof(out)), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(names_fold(".", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(names_fold("a\\.b.example.", out, sizeof(out)), -1);
	assert_int_equal(names_fold("a\\000.example.", out, sizeof(out)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(names_fold(big, out, sizeof(out)), -1);
}

/**
 * host() - names_host() on a C string
 * @s:		name
 * @out:	NAMES_MAX + 1 bytes
 *
 * Return: what names_host() returns
 */
static enum names_kind host(const char *s, char *out)
{
	return names_host((const uint8_t *)s, strlen(s), out, NAMES_MAX + 1);
}

/**
 * test_host() - SNI and Host: valid names, address literals, the rest
 * @state:	unused
 */
static void test_host(void **state)
{
	static const char *const addresses[] = {
		"1.2.3.4", "127.0.0.1", "2130706433", "0x7f.1", "0x7F000001",
		"10.1", "::1", "[::1]", "example.com:443", "1.2.3.4.",
		"example.0x1f",
	};
	static const char *const invalid[] = {
		"", ".", "..", "a..b", ".example.com", "exa mple.com",
		"example.com..", "ex\xc3\xa4mple.com", "-a.example.com",
		"a-.example.com", "a.-b.example", "xn--zz.example",
		"*.example.com", "a*.example.com",
	};
	char out[NAMES_MAX + 1], big[NAMES_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(addresses); i++)
		assert_int_equal(host(addresses[i], out), NAMES_ADDRESS);
	for (i = 0; i < ARRAY_SIZE(invalid); i++) {
		if (host(invalid[i], out) != NAMES_INVALID)
			fprintf(stderr, "'%s' not refused\n", invalid[i]);
		assert_int_equal(host(invalid[i], out), NAMES_INVALID);
	}
	assert_int_equal(names_host((const uint8_t *)"a\0b.com", 7, out,
				    sizeof(out)), NAMES_INVALID);

	assert_int_equal(host("GitHub.COM.", out), NAMES_HOST);
	assert_string_equal(out, "github.com");
	assert_int_equal(host("xn--bcher-kva.example", out), NAMES_HOST);
	assert_int_equal(host("_acme.1a.example", out), NAMES_HOST);
	assert_int_equal(host("a--b.example", out), NAMES_HOST);
	assert_int_equal(host("localhost", out), NAMES_HOST);

	/* 253 characters, 63 a label; a short buffer is refused, not overrun */
	for (i = 0; i < NAMES_MAX; i++)
		big[i] = (i % 50 == 49) ? '.' : 'b';
	big[NAMES_MAX] = '\0';
	assert_int_equal(host(big, out), NAMES_HOST);
	big[NAMES_MAX] = 'b';
	big[NAMES_MAX + 1] = '\0';
	assert_int_equal(host(big, out), NAMES_INVALID);
	assert_int_equal(names_host((const uint8_t *)"example.com", 11, out, 11),
			 NAMES_INVALID);
	assert_int_equal(names_host((const uint8_t *)"example.com", 11, out, 12),
			 NAMES_HOST);
}

/**
 * test_one_rule() - the policy, the wire and DNS agree on every ASCII name
 * @state:	unused
 *
 * A name the policy accepts is a host on the wire, and one it refuses is
 * an address literal or invalid there; as the first labels of a DNS
 * question under a wildcard, a name matches exactly when it is valid (a
 * number only makes an address of the last label).
 */
static void test_one_rule(void **state)
{
	static const char *const names[] = {
		"example.com", "a-b.c-d.e", "_sip._tcp.example.com",
		"xn--bcher-kva.example", "a--b.example", "localhost",
		"-a.example.com", "a-.example.com", "a_.example.com",
		"xn--zz.example.com", "xn--.example.com", "a.1", "a.0x1",
		"a.0x", "1a.example", "exa mple.com", "a..example.com",
		"ex*ample.com",
	};
	char pol[NAMES_MAX + 3], wire[NAMES_MAX + 1], q[NAMES_MAX + 2];
	char folded[NAMES_MAX + 2];
	enum names_kind kind;
	const char *why;
	size_t i;
	bool valid;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		valid = !names_normalise(names[i], pol, sizeof(pol), false, &why);
		kind = host(names[i], wire);
		if (valid != (kind == NAMES_HOST))
			fprintf(stderr, "'%s': policy and wire disagree\n",
				names[i]);
		assert_int_equal(valid, kind == NAMES_HOST);
		if (kind == NAMES_ADDRESS)
			continue;

		snprintf(q, sizeof(q), "%s.x.example.", names[i]);
		assert_int_equal(names_fold(q, folded, sizeof(folded)), 0);
		assert_int_equal(names_match("*.x.example", folded), valid);
	}
}

/**
 * test_match_invalid() - a name that is not a valid host name matches no
 * pattern; the pattern's own labels are trusted
 * @state:	unused
 */
static void test_match_invalid(void **state)
{
	(void)state;
	assert_true(names_match("*.example.com", "a_b.example.com"));
	assert_true(names_match("*.example.com", "xn--bcher-kva.example.com"));
	assert_false(names_match("*.example.com", "-a.example.com"));
	assert_false(names_match("*.example.com", "a-.b.example.com"));
	assert_false(names_match("*.example.com", "b.-a.example.com"));
	assert_false(names_match("*.example.com", "xn--zz.example.com"));
	assert_false(names_match("*.example.com", ".example.com"));
	assert_false(names_match("*.example.com", "a..example.com"));
	assert_false(names_match("*.example.com", "a b.example.com"));
	assert_false(names_match("*.example.com", "\\escaped"));
}

/**
 * test_covers() - a pattern covering another, for shadowing warnings
 * @state:	unused
 */
static void test_covers(void **state)
{
	(void)state;
	assert_true(names_covers("example.com", "example.com"));
	assert_true(names_covers("*.example.com", "a.example.com"));
	assert_true(names_covers("*.example.com", "*.a.example.com"));
	assert_true(names_covers("*.example.com", "*.example.com"));
	assert_false(names_covers("*.example.com", "example.com"));
	assert_false(names_covers("*.example.com", "evilexample.com"));
	assert_false(names_covers("a.example.com", "*.example.com"));
	assert_false(names_covers("example.com", "a.example.com"));
}

/**
 * main() - run the tests
 *
 * Return: number of failed tests
 */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_one_rule),
		cmocka_unit_test(test_match_invalid),
		cmocka_unit_test(test_covers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
