// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_addr.c - unit tests of addresses, prefixes and address groups:
 * every row of the group table with the groups of its first and last
 * address and of its two neighbours (an independent copy of SPEC §4 and the
 * IANA registries, in text), IPv4-mapped and NAT64 unwrapping, host
 * addresses, the parser's accepted and refused inputs, the printer, and a
 * property test tying addr_classify() to the nftables sets of
 * addr_group_nft_elements(): exact tiling of both address spaces, then
 * agreement on random addresses biased to block boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "addr.h"

typedef unsigned __int128 u128;

#define NA		(-1)	/* no such neighbour: edge of the space */
#define ELEMENTS_MAX	4096	/* as src/nft.c */
#define RANDOM_ADDRS	20000	/* per family */

/**
 * struct row_case - expected row of the group table
 * @pfx:	the block, as text
 * @group:	its group
 * @rep:	a representative address inside, of group @group
 * @first:	group of the first address of the block
 * @last:	group of the last address of the block
 * @before:	group of the address just before the block, or NA
 * @after:	group of the address just after the block, or NA
 */
struct row_case {
	const char *pfx;
	int group;
	const char *rep;
	int first;
	int last;
	int before;
	int after;
};

#define LO	GROUP_LOOPBACK
#define PRIV	GROUP_PRIVATE
#define LL	GROUP_LINK_LOCAL
#define META	GROUP_METADATA
#define MC	GROUP_MULTICAST
#define RSV	GROUP_RESERVED
#define PUB	GROUP_PUBLIC

static const struct row_case row_cases[] = {
	/* prefix, group, representative, first, last, before, after */
	{ "127.0.0.0/8", LO, "127.0.0.1", LO, LO, PUB, PUB },
	{ "::1", LO, "::1", LO, LO, LO, RSV },

	{ "10.0.0.0/8", PRIV, "10.1.2.3", PRIV, PRIV, PUB, PUB },
	{ "172.16.0.0/12", PRIV, "172.20.1.1", PRIV, PRIV, PUB, PUB },
	{ "192.168.0.0/16", PRIV, "192.168.1.1", PRIV, PRIV, PUB, PUB },
	{ "100.64.0.0/10", PRIV, "100.100.1.1", PRIV, PRIV, PUB, PUB },
	{ "fc00::/7", PRIV, "fd12:3456::1", PRIV, PRIV, RSV, RSV },

	{ "169.254.0.0/16", LL, "169.254.1.1", LL, LL, PUB, PUB },
	{ "fe80::/10", LL, "fe80::1", LL, LL, RSV, RSV },

	{ "169.254.169.254", META, "169.254.169.254", META, META, META, LL },
	{ "169.254.170.2", META, "169.254.170.2", META, META, LL, LL },
	{ "169.254.169.253", META, "169.254.169.253", META, META, LL, META },
	{ "169.254.169.123", META, "169.254.169.123", META, META, LL, LL },
	{ "fd00:ec2::254", META, "fd00:ec2::254", META, META, PRIV, PRIV },
	{ "100.100.100.200", META, "100.100.100.200", META, META, PRIV, PRIV },
	{ "192.0.0.192", META, "192.0.0.192", META, META, RSV, RSV },
	{ "168.63.129.16", META, "168.63.129.16", META, META, PUB, PUB },

	{ "224.0.0.0/4", MC, "239.255.255.250", MC, MC, PUB, RSV },
	{ "255.255.255.255", MC, "255.255.255.255", MC, MC, RSV, NA },
	{ "ff00::/8", MC, "ff02::1", MC, MC, RSV, NA },

	{ "0.0.0.0/8", RSV, "0.1.2.3", LO, RSV, NA, PUB },
	{ "0.0.0.0", LO, "0.0.0.0", LO, LO, NA, RSV },
	{ "192.0.0.0/24", RSV, "192.0.0.170", RSV, RSV, PUB, PUB },
	{ "192.0.0.9", PUB, "192.0.0.9", PUB, PUB, RSV, PUB },
	{ "192.0.0.10", PUB, "192.0.0.10", PUB, PUB, PUB, RSV },
	{ "192.0.2.0/24", RSV, "192.0.2.1", RSV, RSV, PUB, PUB },
	{ "192.88.99.0/24", RSV, "192.88.99.1", RSV, RSV, PUB, PUB },
	{ "192.88.99.2", RSV, "192.88.99.2", RSV, RSV, RSV, RSV },
	{ "198.18.0.0/15", RSV, "198.19.1.1", RSV, RSV, PUB, PUB },
	{ "198.51.100.0/24", RSV, "198.51.100.7", RSV, RSV, PUB, PUB },
	{ "203.0.113.0/24", RSV, "203.0.113.7", RSV, RSV, PUB, PUB },
	{ "240.0.0.0/4", RSV, "250.1.2.3", RSV, MC, MC, NA },

	{ "::/3", RSV, "1000::1", LO, RSV, NA, PUB },
	{ "4000::/2", RSV, "4000::1", RSV, RSV, PUB, RSV },
	{ "8000::/1", RSV, "a000::1", RSV, MC, RSV, NA },
	{ "::", LO, "::", LO, LO, NA, LO },
	{ "64:ff9b:1::/48", RSV, "64:ff9b:1::1", RSV, RSV, RSV, RSV },
	{ "100::/64", RSV, "100::1", RSV, RSV, RSV, RSV },
	{ "100:0:0:1::/64", RSV, "100:0:0:1::1", RSV, RSV, RSV, RSV },
	{ "5f00::/16", RSV, "5f00:1::1", RSV, RSV, RSV, RSV },
	{ "fec0::/10", RSV, "fec0::1", RSV, RSV, LL, MC },

	{ "2001::/23", RSV, "2001:100::1", RSV, RSV, PUB, PUB },
	{ "2001::/32", RSV, "2001:0:4136:e378::1", RSV, RSV, PUB, RSV },
	{ "2001:1::1", PUB, "2001:1::1", PUB, PUB, RSV, PUB },
	{ "2001:1::2", PUB, "2001:1::2", PUB, PUB, PUB, PUB },
	{ "2001:1::3", PUB, "2001:1::3", PUB, PUB, PUB, RSV },
	{ "2001:2::/48", RSV, "2001:2::1", RSV, RSV, RSV, RSV },
	{ "2001:3::/32", PUB, "2001:3::1", PUB, PUB, RSV, RSV },
	{ "2001:4:112::/48", PUB, "2001:4:112::1", PUB, PUB, RSV, RSV },
	{ "2001:10::/28", RSV, "2001:10::1", RSV, RSV, RSV, PUB },
	{ "2001:20::/28", PUB, "2001:20::1", PUB, PUB, RSV, PUB },
	{ "2001:30::/28", PUB, "2001:30::1", PUB, PUB, PUB, RSV },
	{ "2001:db8::/32", RSV, "2001:db8::1", RSV, RSV, PUB, PUB },
	{ "2002::/16", RSV, "2002:c000:204::1", RSV, RSV, PUB, PUB },
	{ "3fff::/20", RSV, "3fff::1", RSV, RSV, PUB, PUB },
};

/**
 * struct addr_case - an address and its expected group
 * @addr:	address, as text
 * @group:	expected group, without host addresses
 */
struct addr_case {
	const char *addr;
	int group;
};

/* Addresses outside the table rows, or carried by IPv6 */
static const struct addr_case addr_cases[] = {
	/* globally reachable in the IANA registries: public, no row */
	{ "192.31.196.1",		PUB },
	{ "192.52.193.1",		PUB },
	{ "192.175.48.1",		PUB },
	{ "2620:4f:8000::1",		PUB },
	{ "64:ff9b::808:808",		PUB },
	/* ordinary public addresses */
	{ "1.1.1.1",			PUB },
	{ "8.8.8.8",			PUB },
	{ "223.255.255.255",		PUB },
	{ "2000::",			PUB },
	{ "2a00:1450:4001::200e",	PUB },
	{ "3fff:1000::1",		PUB },
	{ "3ffe::1",			PUB },
	/* IPv4-mapped */
	{ "::ffff:10.0.0.1",		PRIV },
	{ "::ffff:127.0.0.1",		LO },
	{ "::ffff:169.254.169.254",	META },
	{ "::ffff:169.254.1.1",		LL },
	{ "::ffff:224.0.0.251",		MC },
	{ "::ffff:255.255.255.255",	MC },
	{ "::ffff:0.0.0.1",		RSV },
	{ "::ffff:0.0.0.0",		LO },
	{ "::ffff:192.0.0.9",		PUB },
	{ "::ffff:8.8.8.8",		PUB },
	{ "::ffff:100.100.100.200",	META },
	/* NAT64, RFC 6052 well-known prefix */
	{ "64:ff9b::a00:1",		PRIV },
	{ "64:ff9b::7f00:1",		LO },
	{ "64:ff9b::a9fe:a9fe",		META },
	{ "64:ff9b::a9fe:101",		LL },
	{ "64:ff9b::e000:fb",		MC },
	{ "64:ff9b::ffff:ffff",		MC },
	{ "64:ff9b::c000:9",		PUB },
	{ "64:ff9b::c000:201",		RSV },
	{ "64:ff9b::",			LO },
	{ "64:ff9b::a83f:8110",		META },
	/* near the wrappers, not inside: not unwrapped */
	{ "64:ff9b::1:0:0",		RSV },
	{ "64:ff9b:0:0:1::808:808",	RSV },
	{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", RSV },
	{ "::fffe:808:808",		RSV },
	{ "::1:ffff:808:808",		RSV },
	{ "::808:808",			RSV },	/* IPv4-compatible */
	{ "::ffff:0:808:808",		RSV },	/* IPv4-translated, RFC 2765 */
	/* 6to4 and Teredo carry IPv4 too, but are reserved (SPEC §4) */
	{ "2002:808:808::1",		RSV },
	{ "2001:0:808:808::1",		RSV },
};

#undef LO
#undef PRIV
#undef LL
#undef META
#undef MC
#undef RSV
#undef PUB

/**
 * bits_of() - address length in bits of a family
 * @family:	AF_INET or AF_INET6
 *
 * Return: 32 or 128
 */
static unsigned bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

/**
 * low_ones() - a number with its low @k bits set
 * @k:		0..128
 *
 * Return: 2^@k - 1
 */
static u128 low_ones(unsigned k)
{
	return k >= 128 ? ~(u128)0 : ((u128)1 << k) - 1;
}

/**
 * num_of() - an address as a number
 * @family:	AF_INET or AF_INET6
 * @a:		bytes
 *
 * Return: the number (IPv4 in the low 32 bits)
 */
static u128 num_of(int family, const uint8_t *a)
{
	unsigned i, n = family == AF_INET ? 4 : 16;
	u128 v = 0;

	for (i = 0; i < n; i++)
		v = (v << 8) | a[i];
	return v;
}

/**
 * bytes_of() - a number as address bytes
 * @family:	AF_INET or AF_INET6
 * @v:		number
 * @a:		16 bytes, zero past the address
 */
static void bytes_of(int family, u128 v, uint8_t *a)
{
	unsigned i, n = family == AF_INET ? 4 : 16;

	memset(a, 0, 16);
	for (i = 0; i < n; i++)
		a[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/**
 * num_str() - an address number as text, for failure messages
 * @family:	AF_INET or AF_INET6
 * @v:		number
 * @buf:	output, INET6_ADDRSTRLEN bytes
 *
 * Return: @buf
 */
static const char *num_str(int family, u128 v, char *buf)
{
	uint8_t a[16];

	bytes_of(family, v, a);
	if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

/**
 * classify_num() - addr_classify() of a number, no host addresses
 * @family:	AF_INET or AF_INET6
 * @v:		address
 *
 * Return: the group
 */
static enum addr_group classify_num(int family, u128 v)
{
	uint8_t a[16];

	bytes_of(family, v, a);
	return addr_classify(family, a, NULL, 0);
}

/**
 * classify_str() - addr_classify() of an address given as text
 * @s:		address
 * @hosts:	host addresses
 * @nhost:	their number
 *
 * Return: the group
 */
static enum addr_group classify_str(const char *s, const struct prefix *hosts,
				    size_t nhost)
{
	struct prefix p;

	if (addr_parse(s, &p))
		fail_msg("cannot parse address '%s'", s);
	return addr_classify(p.family, p.addr, hosts, nhost);
}

/**
 * check_group() - assert the group of one address
 * @family:	AF_INET or AF_INET6
 * @v:		address
 * @want:	expected group
 * @what:	which address of the row, for the message
 * @row:	the row, for the message
 */
static void check_group(int family, u128 v, int want, const char *what,
			const char *row)
{
	enum addr_group got = classify_num(family, v);

	if ((int)got != want) {
		char buf[INET6_ADDRSTRLEN];

		fail_msg("%s: %s address %s is %s, expected %s", row, what,
			 num_str(family, v, buf), addr_group_name(got),
			 addr_group_name((enum addr_group)want));
	}
}

/**
 * test_group_names() - names and parsing of groups are inverse
 * @state:	unused
 */
static void test_group_names(void **state)
{
	static const char *const names[GROUP_COUNT] = {
		"loopback", "private", "link-local", "metadata", "multicast",
		"host", "reserved", "public",
	};
	static const char *const bad[] = {
		"", "Public", "PUBLIC", "publicx", " public", "public ",
		"linklocal", "link_local", "lan", "any", "?",
	};
	enum addr_group g;
	unsigned i;

	for (i = 0; i < GROUP_COUNT; i++) {
		assert_string_equal(addr_group_name((enum addr_group)i),
				    names[i]);
		g = GROUP_COUNT;
		assert_int_equal(addr_group_parse(names[i], &g), 0);
		assert_int_equal(g, i);
	}
	assert_string_equal(addr_group_name(GROUP_COUNT), "?");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		g = GROUP_COUNT;
		assert_int_equal(addr_group_parse(bad[i], &g), -1);
		assert_int_equal(g, GROUP_COUNT);
	}
}

/**
 * test_table_rows() - the table is exactly row_cases[], row by row
 * @state:	unused
 */
static void test_table_rows(void **state)
{
	const struct addr_block *b;
	size_t n, i, j;

	b = addr_blocks(&n);
	assert_int_equal(n, ARRAY_SIZE(row_cases));

	for (i = 0; i < ARRAY_SIZE(row_cases); i++) {
		struct prefix p;
		bool found = false;

		if (prefix_parse(row_cases[i].pfx, &p, true))
			fail_msg("bad row case '%s'", row_cases[i].pfx);
		for (j = 0; j < n; j++) {
			if (b[j].pfx.family != p.family ||
			    b[j].pfx.plen != p.plen ||
			    memcmp(b[j].pfx.addr, p.addr, sizeof(p.addr)))
				continue;
			if (found)
				fail_msg("%s: duplicate row", row_cases[i].pfx);
			found = true;
			if ((int)b[j].group != row_cases[i].group)
				fail_msg("%s: row is %s, expected %s",
					 row_cases[i].pfx,
					 addr_group_name(b[j].group),
					 addr_group_name((enum addr_group)
							 row_cases[i].group));
		}
		if (!found)
			fail_msg("%s: no such row in the table",
				 row_cases[i].pfx);
	}

	/* rows are valid prefixes with host bits clear */
	for (j = 0; j < n; j++) {
		char buf[INET6_ADDRSTRLEN + 4];
		struct prefix q;

		assert_int_equal(prefix_format(&b[j].pfx, buf, sizeof(buf)), 0);
		assert_int_equal(prefix_parse(buf, &q, true), 0);
		assert_memory_equal(&q, &b[j].pfx, sizeof(q));
		assert_true(b[j].group != GROUP_HOST &&
			    b[j].group < GROUP_COUNT);
	}
}

/**
 * test_table_boundaries() - representative, first, last and neighbours of
 *			     every row
 * @state:	unused
 */
static void test_table_boundaries(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(row_cases); i++) {
		const struct row_case *c = &row_cases[i];
		struct prefix p, r;
		u128 first, last, max;
		unsigned hb;

		assert_int_equal(prefix_parse(c->pfx, &p, true), 0);
		hb = bits_of(p.family) - p.plen;
		max = low_ones(bits_of(p.family));
		first = num_of(p.family, p.addr);
		last = first + low_ones(hb);

		assert_int_equal(addr_parse(c->rep, &r), 0);
		if (!prefix_contains(&p, &r))
			fail_msg("%s: %s is not inside", c->pfx, c->rep);
		check_group(r.family, num_of(r.family, r.addr), c->group,
			    "representative", c->pfx);

		check_group(p.family, first, c->first, "first", c->pfx);
		check_group(p.family, last, c->last, "last", c->pfx);

		if ((c->before == NA) != (first == 0))
			fail_msg("%s: 'before' case wrong", c->pfx);
		if (first)
			check_group(p.family, first - 1, c->before, "before",
				    c->pfx);

		if ((c->after == NA) != (last == max))
			fail_msg("%s: 'after' case wrong", c->pfx);
		if (last != max)
			check_group(p.family, last + 1, c->after, "after",
				    c->pfx);
	}
}

/**
 * test_addresses() - groups of addresses without rows, and unwrapping
 * @state:	unused
 */
static void test_addresses(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		enum addr_group g = classify_str(addr_cases[i].addr, NULL, 0);

		if ((int)g != addr_cases[i].group)
			fail_msg("%s is %s, expected %s", addr_cases[i].addr,
				 addr_group_name(g),
				 addr_group_name((enum addr_group)
						 addr_cases[i].group));
	}
}

/**
 * test_unwrap_all_rows() - every IPv4 row keeps its group when mapped or
 *			    translated (NAT64)
 * @state:	unused
 */
static void test_unwrap_all_rows(void **state)
{
	static const uint8_t wrap[2][12] = {
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
		{ 0x00, 0x64, 0xff, 0x9b },
	};
	size_t i, w;

	for (i = 0; i < ARRAY_SIZE(row_cases); i++) {
		const struct row_case *c = &row_cases[i];
		struct prefix p, r;
		u128 first, last;

		assert_int_equal(prefix_parse(c->pfx, &p, true), 0);
		if (p.family != AF_INET)
			continue;
		assert_int_equal(addr_parse(c->rep, &r), 0);
		first = num_of(AF_INET, p.addr);
		last = first + low_ones(32 - p.plen);

		for (w = 0; w < 2; w++) {
			uint8_t hi[16] = { 0 };
			u128 base;

			memcpy(hi, wrap[w], 12);
			base = num_of(AF_INET6, hi);
			check_group(AF_INET6, base | num_of(AF_INET, r.addr),
				    c->group, "wrapped representative", c->pfx);
			check_group(AF_INET6, base | first, c->first,
				    "wrapped first", c->pfx);
			check_group(AF_INET6, base | last, c->last,
				    "wrapped last", c->pfx);
			if (c->before != NA)
				check_group(AF_INET6, base | (first - 1),
					    c->before, "wrapped before",
					    c->pfx);
			if (c->after != NA)
				check_group(AF_INET6, base | (last + 1),
					    c->after, "wrapped after", c->pfx);
		}
	}
}

/**
 * test_host() - host addresses win over every block, in any disguise
 * @state:	unused
 */
static void test_host(void **state)
{
	static const char *const host_txt[] = {
		"10.231.0.1", "192.168.1.10", "fd6d:6f61:7400::1",
		"::ffff:192.0.2.5", "198.51.100.0/24", "fe80::1",
		"169.254.169.254", "8.8.4.4",
	};
	static const struct addr_case cases[] = {
		{ "10.231.0.1",			GROUP_HOST },
		{ "10.231.0.2",			GROUP_PRIVATE },
		{ "10.231.0.0",			GROUP_PRIVATE },
		{ "::ffff:10.231.0.1",		GROUP_HOST },
		{ "64:ff9b::ae7:1",		GROUP_HOST },
		{ "192.168.1.10",		GROUP_HOST },
		{ "192.168.1.11",		GROUP_PRIVATE },
		{ "fd6d:6f61:7400::1",		GROUP_HOST },
		{ "fd6d:6f61:7400::2",		GROUP_PRIVATE },
		{ "192.0.2.5",			GROUP_HOST },	/* as mapped */
		{ "::ffff:192.0.2.5",		GROUP_HOST },
		{ "192.0.2.6",			GROUP_RESERVED },
		{ "198.51.100.0",		GROUP_HOST },	/* no plen */
		{ "198.51.100.1",		GROUP_RESERVED },
		{ "fe80::1",			GROUP_HOST },
		{ "fe80::2",			GROUP_LINK_LOCAL },
		{ "169.254.169.254",		GROUP_HOST },
		{ "8.8.4.4",			GROUP_HOST },
		{ "8.8.8.8",			GROUP_PUBLIC },
		{ "::a00:1",			GROUP_RESERVED },
		{ "2002:ae7:1::1",		GROUP_RESERVED },
	};
	struct prefix hosts[ARRAY_SIZE(host_txt)] = { 0 };
	struct prefix junk = { .family = AF_UNIX };
	uint8_t a[16] = { 10, 231, 0, 1 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(host_txt); i++)
		assert_int_equal(prefix_parse(host_txt[i], &hosts[i], true), 0);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum addr_group g = classify_str(cases[i].addr, hosts,
						 ARRAY_SIZE(hosts));

		if ((int)g != cases[i].group)
			fail_msg("%s is %s, expected %s", cases[i].addr,
				 addr_group_name(g),
				 addr_group_name((enum addr_group)
						 cases[i].group));
	}

	/* no hosts, and entries of unknown family, are ignored */
	assert_int_equal(addr_classify(AF_INET, a, NULL, 0), GROUP_PRIVATE);
	assert_int_equal(addr_classify(AF_INET, a, &junk, 1), GROUP_PRIVATE);
	assert_int_equal(addr_classify(AF_INET, a, hosts, 1), GROUP_HOST);
	assert_int_equal(addr_classify(AF_INET, a, hosts + 1, 1),
			 GROUP_PRIVATE);
	/* unknown family: fail closed, never public */
	assert_int_equal(addr_classify(AF_UNIX, a, NULL, 0), GROUP_RESERVED);
}

/**
 * struct parse_case - an input prefix_parse() accepts
 * @in:		text
 * @strict:	strict_host_bits argument
 * @out:	expected prefix_format() output
 * @family:	expected family
 * @plen:	expected prefix length
 */
struct parse_case {
	const char *in;
	bool strict;
	const char *out;
	int family;
	unsigned plen;
};

/**
 * test_parse_good() - accepted inputs, normalised, and their round trips
 * @state:	unused
 */
static void test_parse_good(void **state)
{
	static const struct parse_case cases[] = {
		{ "10.0.0.0/8", true, "10.0.0.0/8", AF_INET, 8 },
		{ "10.0.0.1", true, "10.0.0.1", AF_INET, 32 },
		{ "10.0.0.1/32", true, "10.0.0.1", AF_INET, 32 },
		{ "0.0.0.0/0", true, "0.0.0.0/0", AF_INET, 0 },
		{ "0.0.0.0", true, "0.0.0.0", AF_INET, 32 },
		{ "255.255.255.255/32", true, "255.255.255.255", AF_INET, 32 },
		{ "1.2.3.4/31", true, "1.2.3.4/31", AF_INET, 31 },
		{ "100.64.0.0/10", true, "100.64.0.0/10", AF_INET, 10 },
		{ "::", true, "::", AF_INET6, 128 },
		{ "::/0", true, "::/0", AF_INET6, 0 },
		{ "::1", true, "::1", AF_INET6, 128 },
		{ "::1/128", true, "::1", AF_INET6, 128 },
		{ "2001:db8::/32", true, "2001:db8::/32", AF_INET6, 32 },
		{ "2001:DB8::1", true, "2001:db8::1", AF_INET6, 128 },
		{ "2001:0db8:0000::/48", true, "2001:db8::/48", AF_INET6, 48 },
		{ "fe80::/10", true, "fe80::/10", AF_INET6, 10 },
		{ "::ffff:10.0.0.1", true, "::ffff:10.0.0.1", AF_INET6, 128 },
		{ "::ffff:10.0.0.0/104", true, "::ffff:10.0.0.0/104",
		  AF_INET6, 104 },
		{ "1:2:3:4:5:6:7:8", true, "1:2:3:4:5:6:7:8", AF_INET6, 128 },
		{ "8000::/1", true, "8000::/1", AF_INET6, 1 },
		/* host bits cleared when not strict */
		{ "10.0.0.1/8", false, "10.0.0.0/8", AF_INET, 8 },
		{ "1.2.3.5/31", false, "1.2.3.4/31", AF_INET, 31 },
		{ "192.168.1.77/0", false, "0.0.0.0/0", AF_INET, 0 },
		{ "10.0.0.1", false, "10.0.0.1", AF_INET, 32 },
		{ "2001:db8::1/32", false, "2001:db8::/32", AF_INET6, 32 },
		{ "ffff::1/1", false, "8000::/1", AF_INET6, 1 },
		{ "::1/0", false, "::/0", AF_INET6, 0 },
		{ "fe80::1:2:3:4/127", false, "fe80::1:2:3:4/127",
		  AF_INET6, 127 },
		{ "fe80::1:2:3:5/127", false, "fe80::1:2:3:4/127",
		  AF_INET6, 127 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[INET6_ADDRSTRLEN + 4];
		struct prefix p, q;

		if (prefix_parse(cases[i].in, &p, cases[i].strict))
			fail_msg("'%s' refused", cases[i].in);
		assert_int_equal(p.family, cases[i].family);
		assert_int_equal(p.plen, cases[i].plen);
		assert_int_equal(prefix_format(&p, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].out);

		/* the printed form parses back, strictly, to the same */
		assert_int_equal(prefix_parse(buf, &q, true), 0);
		assert_memory_equal(&p, &q, sizeof(p));
	}

	/* the host-bit cases, explicitly */
	{
		static const char *const hostbits[] = {
			"10.0.0.1/8", "1.2.3.5/31", "192.168.1.77/0",
			"2001:db8::1/32", "ffff::1/1", "::1/0",
			"fe80::1:2:3:5/127",
		};
		struct prefix p;

		for (i = 0; i < ARRAY_SIZE(hostbits); i++) {
			assert_int_equal(prefix_parse(hostbits[i], &p, true),
					 -1);
			assert_int_equal(prefix_parse(hostbits[i], &p, false),
					 0);
		}
	}
}

/**
 * test_parse_bad() - malformed inputs are refused, strict or not
 * @state:	unused
 */
static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129",
		"10.0.0.0/-1", "10.0.0.0/ 8", "10.0.0.0/8 ", " 10.0.0.0",
		"10.0.0.0 /8", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8",
		"10.0.0.0/1000", "10.0.0.0/8x", "10.0.0.0/0x8", "10.0.0.0/8.0",
		"1.2.3.4/32/", "010.0.0.1", "1.2.3.04", "10.0.0.256",
		"10.0.0", "10.0.0.0.0", "10.0.0.0x", "1.2.3.4a", "0x0a.0.0.1",
		"10..0.1", "1.2.3.4:80", "10.0.0.0\n", "[::1]", "[::1]/128",
		"::1%eth0", "fe80::1%1/64", ":::", "1::2::3", "12345::",
		"g::1", "::ffff:1.2.3.256", "::ffff:010.1.1.1", "2001:db8::/",
		"2001:db8::/1e2", "1:2:3:4:5:6:7:8:9", "localhost", "*",
		"0.0.0.0/00", "::/0128",
		"11111111111111111111111111111111111111111111111111111111",
		"1111:1111:1111:1111:1111:1111:1111:1111:1111:1111:1111/64",
	};
	struct prefix p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&p, 0xa5, sizeof(p));
		if (prefix_parse(bad[i], &p, true) != -1)
			fail_msg("'%s' accepted (strict)", bad[i]);
		if (prefix_parse(bad[i], &p, false) != -1)
			fail_msg("'%s' accepted", bad[i]);
		if (addr_parse(bad[i], &p) != -1)
			fail_msg("'%s' accepted as address", bad[i]);
		assert_int_equal(p.family, 0);
		assert_int_equal(p.plen, 0);
	}
}

/**
 * test_addr_parse() - single addresses only
 * @state:	unused
 */
static void test_addr_parse(void **state)
{
	static const char *const bad[] = {
		"1.2.3.4/32", "1.2.3.4/8", "::/0", "::1/128", "10.0.0.0/8", "",
	};
	struct prefix p;
	size_t i;

	assert_int_equal(addr_parse("1.2.3.4", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 32);
	assert_memory_equal(p.addr, "\x01\x02\x03\x04", 4);

	assert_int_equal(addr_parse("fd00:ec2::254", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.plen, 128);
	assert_int_equal(p.addr[0], 0xfd);
	assert_int_equal(p.addr[15], 0x54);

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (addr_parse(bad[i], &p) != -1)
			fail_msg("'%s' accepted as address", bad[i]);
}

/**
 * test_format() - buffer sizes and invalid prefixes
 * @state:	unused
 */
static void test_format(void **state)
{
	char buf[INET6_ADDRSTRLEN + 4];
	struct prefix p;

	assert_int_equal(prefix_parse("255.255.255.255", &p, true), 0);
	assert_int_equal(prefix_format(&p, buf, 16), 0);
	assert_string_equal(buf, "255.255.255.255");
	assert_int_equal(prefix_format(&p, buf, 15), -1);
	assert_string_equal(buf, "");
	assert_int_equal(prefix_format(&p, buf, 0), -1);

	assert_int_equal(prefix_parse("100.64.0.0/10", &p, true), 0);
	assert_int_equal(prefix_format(&p, buf, 14), 0);
	assert_string_equal(buf, "100.64.0.0/10");
	assert_int_equal(prefix_format(&p, buf, 13), -1);

	assert_int_equal(prefix_parse(
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", &p, true), 0);
	assert_int_equal(prefix_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");

	p.plen = 129;
	assert_int_equal(prefix_format(&p, buf, sizeof(buf)), -1);
	p.family = AF_INET;
	p.plen = 33;
	assert_int_equal(prefix_format(&p, buf, sizeof(buf)), -1);
	p.family = AF_UNIX;
	p.plen = 8;
	assert_int_equal(prefix_format(&p, buf, sizeof(buf)), -1);
}

/**
 * struct rel_case - a relation between two prefixes
 * @a:		prefix, as text
 * @b:		prefix, as text
 * @a_has_b:	whether @a contains @b
 * @b_has_a:	whether @b contains @a
 */
struct rel_case {
	const char *a;
	const char *b;
	bool a_has_b;
	bool b_has_a;
};

/**
 * test_contains_overlaps() - prefix_contains() and prefix_overlaps()
 * @state:	unused
 */
static void test_contains_overlaps(void **state)
{
	static const struct rel_case cases[] = {
		{ "10.0.0.0/8", "10.1.0.0/16", true, false },
		{ "10.0.0.0/8", "10.0.0.0/8", true, true },
		{ "10.0.0.0/8", "11.0.0.0/8", false, false },
		{ "10.0.0.0/8", "10.255.255.255", true, false },
		{ "10.0.0.0/8", "9.255.255.255", false, false },
		{ "10.0.0.0/8", "11.0.0.0", false, false },
		{ "0.0.0.0/0", "255.255.255.255", true, false },
		{ "0.0.0.0/0", "0.0.0.0/0", true, true },
		{ "1.2.3.4", "1.2.3.4", true, true },
		{ "1.2.3.4", "1.2.3.5", false, false },
		{ "1.2.3.4/31", "1.2.3.5", true, false },
		{ "10.231.0.0/16", "10.0.0.0/8", false, true },
		{ "::/0", "::ffff:10.0.0.1", true, false },
		{ "2001:db8::/32", "2001:db8:ffff:ffff::/64", true, false },
		{ "2001:db9::/32", "2001:db8:ffff:ffff::/64", false, false },
		{ "fc00::/7", "fd00:ec2::254", true, false },
		{ "fe80::/10", "fec0::/10", false, false },
		{ "8000::/1", "::/1", false, false },
		/* different families never relate */
		{ "0.0.0.0/0", "::/0", false, false },
		{ "10.0.0.0/8", "::ffff:10.0.0.0/104", false, false },
		{ "0.0.0.0", "::", false, false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prefix a, b;

		assert_int_equal(prefix_parse(cases[i].a, &a, true), 0);
		assert_int_equal(prefix_parse(cases[i].b, &b, true), 0);
		if (prefix_contains(&a, &b) != cases[i].a_has_b ||
		    prefix_contains(&b, &a) != cases[i].b_has_a)
			fail_msg("contains(%s, %s) wrong", cases[i].a,
				 cases[i].b);
		if (prefix_overlaps(&a, &b) !=
		    (cases[i].a_has_b || cases[i].b_has_a) ||
		    prefix_overlaps(&b, &a) != prefix_overlaps(&a, &b))
			fail_msg("overlaps(%s, %s) wrong", cases[i].a,
				 cases[i].b);
	}
}

/**
 * struct elements - one group's nftables elements, as ranges
 * @n:		number of elements
 * @lo:		first address of each
 * @hi:		last address of each
 */
struct elements {
	size_t n;
	u128 lo[ELEMENTS_MAX];
	u128 hi[ELEMENTS_MAX];
};

/**
 * struct family_sets - the elements of every group in one family
 * @family:	AF_INET or AF_INET6
 * @g:		elements of each group
 */
struct family_sets {
	int family;
	struct elements g[GROUP_COUNT];
};

/**
 * load_sets() - get and check the elements of every group of a family
 * @fs:		filled in
 * @family:	AF_INET or AF_INET6
 *
 * Checks: the host group is empty, elements are valid prefixes of @family
 * with clear host bits, sorted and disjoint, and tile the whole address
 * space together, each address in exactly one group.
 */
static void load_sets(struct family_sets *fs, int family)
{
	struct prefix *el = test_calloc(ELEMENTS_MAX, sizeof(*el));
	unsigned bits = bits_of(family);
	u128 next = 0;
	bool done = false;
	size_t i, idx[GROUP_COUNT] = { 0 };

	fs->family = family;
	for (i = 0; i < GROUP_COUNT; i++) {
		struct elements *e = &fs->g[i];
		size_t n, j;

		n = addr_group_nft_elements((enum addr_group)i, family, el,
					    ELEMENTS_MAX);
		assert_true(n != (size_t)-1);
		if (i == GROUP_HOST)
			assert_int_equal(n, 0);
		else
			assert_true(n > 0);
		e->n = n;
		for (j = 0; j < n; j++) {
			u128 v = num_of(family, el[j].addr);

			assert_int_equal(el[j].family, family);
			assert_true(el[j].plen <= bits);
			assert_true((v & low_ones(bits - el[j].plen)) == 0);
			e->lo[j] = v;
			e->hi[j] = v + low_ones(bits - el[j].plen);
			if (j)
				assert_true(e->lo[j] > e->hi[j - 1]);
		}
	}
	test_free(el);

	/* merge by lowest start: the elements must tile [0, max] exactly */
	while (!done) {
		int best = -1;

		for (i = 0; i < GROUP_COUNT; i++) {
			const struct elements *e = &fs->g[i];

			if (idx[i] < e->n &&
			    (best < 0 || e->lo[idx[i]] <
					 fs->g[best].lo[idx[best]]))
				best = (int)i;
		}
		if (best < 0) {
			fail_msg("elements end before the end of the space");
			return;
		}
		if (fs->g[best].lo[idx[best]] != next) {
			char buf[INET6_ADDRSTRLEN];

			fail_msg("%s space: gap or overlap at %s",
				 family == AF_INET ? "IPv4" : "IPv6",
				 num_str(family, next, buf));
		}
		if (fs->g[best].hi[idx[best]] == low_ones(bits))
			done = true;
		next = fs->g[best].hi[idx[best]] + 1;
		idx[best]++;
	}
	for (i = 0; i < GROUP_COUNT; i++)
		assert_int_equal(idx[i], fs->g[i].n);
}

/**
 * in_elements() - whether an address is in a group's elements
 * @e:		elements, sorted
 * @v:		address
 *
 * Return: true if so
 */
static bool in_elements(const struct elements *e, u128 v)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < e->lo[mid])
			hi = mid;
		else if (v > e->hi[mid])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/**
 * check_sets() - the one group whose elements hold @v is its class
 * @fs:		elements of the family
 * @v:		address
 */
static void check_sets(const struct family_sets *fs, u128 v)
{
	enum addr_group want = classify_num(fs->family, v);
	char buf[INET6_ADDRSTRLEN];
	unsigned i, hits = 0;

	for (i = 0; i < GROUP_COUNT; i++) {
		bool in = in_elements(&fs->g[i], v);

		hits += in;
		if (in != (i == want))
			fail_msg("%s is %s, but %s the %s set",
				 num_str(fs->family, v, buf),
				 addr_group_name(want), in ? "in" : "not in",
				 addr_group_name((enum addr_group)i));
	}
	assert_int_equal(hits, 1);
}

/**
 * rnd() - xorshift64* pseudo-random numbers, fixed seed
 *
 * Return: the next number
 */
static uint64_t rnd(void)
{
	static uint64_t s = 0x6d6f61742d616464ULL;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dULL;
}

/**
 * rnd128() - 128 random bits
 *
 * Return: the number
 */
static u128 rnd128(void)
{
	return ((u128)rnd() << 64) | rnd();
}

/**
 * random_addr() - a random address, biased to interesting places
 * @family:	AF_INET or AF_INET6
 *
 * Return: fully random, or inside a random table block (for IPv6, IPv4
 *	   blocks under a random wrapper), or near a block's edge
 */
static u128 random_addr(int family)
{
	const struct addr_block *b;
	u128 max = low_ones(bits_of(family)), v, start, last;
	unsigned hb;
	size_t n;

	switch (rnd() % 4) {
	case 0:
		return rnd128() & max;
	case 1:
		if (family == AF_INET6) {
			v = (rnd() & 1) ? (u128)0xffff << 32 :
					  (u128)0x0064ff9b << 96;
			return v | (rnd() & 0xffffffff);
		}
		return rnd128() & max;
	default:
		break;
	}

	b = addr_blocks(&n);
	b += rnd() % n;
	if (b->pfx.family != family && family == AF_INET)
		return rnd128() & max;
	hb = bits_of(b->pfx.family) - b->pfx.plen;
	start = num_of(b->pfx.family, b->pfx.addr);
	last = start + low_ones(hb);
	if (rnd() & 1)
		v = start + (rnd128() & low_ones(hb));
	else
		v = ((rnd() & 1) ? start : last) + (u128)(rnd() % 5) - 2;

	if (b->pfx.family == AF_INET) {
		v &= 0xffffffff;
		if (family == AF_INET6) {
			unsigned wrap = rnd() % 3;

			if (wrap == 0)
				v |= (u128)0xffff << 32;
			else if (wrap == 1)
				v |= (u128)0x0064ff9b << 96;
			/* else: IPv4-compatible, reserved */
		}
	}
	return v & max;
}

/**
 * test_nft_elements_property() - sets and classifier agree
 * @state:	unused
 */
static void test_nft_elements_property(void **state)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct family_sets *fs = test_malloc(sizeof(*fs));
	size_t f, i, j;

	for (f = 0; f < ARRAY_SIZE(families); f++) {
		int family = families[f];
		u128 max = low_ones(bits_of(family));
		size_t checked = 0;

		load_sets(fs, family);

		/* edges of every element of every group */
		for (i = 0; i < GROUP_COUNT; i++) {
			for (j = 0; j < fs->g[i].n; j++) {
				u128 lo = fs->g[i].lo[j], hi = fs->g[i].hi[j];

				check_sets(fs, lo);
				check_sets(fs, hi);
				if (lo)
					check_sets(fs, lo - 1);
				if (hi != max)
					check_sets(fs, hi + 1);
				checked += 4;
			}
		}
		for (i = 0; i < RANDOM_ADDRS; i++, checked++)
			check_sets(fs, random_addr(family));
		print_message("%s: %zu addresses checked, elements:",
			      family == AF_INET ? "IPv4" : "IPv6", checked);
		for (i = 0; i < GROUP_COUNT; i++)
			print_message(" %s %zu",
				      addr_group_name((enum addr_group)i),
				      fs->g[i].n);
		print_message("\n");
	}
	test_free(fs);
}

/**
 * elements_str() - a group's elements as one comma-separated string
 * @g:		group
 * @family:	AF_INET or AF_INET6
 * @buf:	output
 * @len:	its size
 *
 * Return: @buf
 */
static const char *elements_str(enum addr_group g, int family, char *buf,
				size_t len)
{
	struct prefix *el = test_calloc(ELEMENTS_MAX, sizeof(*el));
	size_t n, i, off = 0;

	n = addr_group_nft_elements(g, family, el, ELEMENTS_MAX);
	assert_true(n != (size_t)-1);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		char one[INET6_ADDRSTRLEN + 4];

		assert_int_equal(prefix_format(&el[i], one, sizeof(one)), 0);
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "," : "", one);
		assert_true(off < len);
	}
	test_free(el);
	return buf;
}

/**
 * test_nft_elements_exact() - small groups, element by element, and sizes
 * @state:	unused
 */
static void test_nft_elements_exact(void **state)
{
	static const char meta4[] =
		"100.100.100.200,168.63.129.16,169.254.169.123,"
		"169.254.169.253,169.254.169.254,169.254.170.2,192.0.0.192";
	static const char meta6[] =
		"::ffff:100.100.100.200,::ffff:168.63.129.16,"
		"::ffff:169.254.169.123,::ffff:169.254.169.253,"
		"::ffff:169.254.169.254,"
		"::ffff:169.254.170.2,::ffff:192.0.0.192,"
		"64:ff9b::6464:64c8,64:ff9b::a83f:8110,64:ff9b::a9fe:a97b,"
		"64:ff9b::a9fe:a9fd,64:ff9b::a9fe:a9fe,64:ff9b::a9fe:aa02,"
		"64:ff9b::c000:c0,"
		"fd00:ec2::254";
	struct prefix *el = test_calloc(ELEMENTS_MAX, sizeof(*el));
	char *buf = test_malloc(65536);
	size_t n;

	assert_string_equal(elements_str(GROUP_LOOPBACK, AF_INET, buf, 65536),
			    "0.0.0.0,127.0.0.0/8");
	assert_string_equal(elements_str(GROUP_LOOPBACK, AF_INET6, buf, 65536),
			    "::/127,::ffff:0.0.0.0,::ffff:127.0.0.0/104,64:ff9b::,64:ff9b::7f00:0/104");
	assert_string_equal(elements_str(GROUP_MULTICAST, AF_INET, buf, 65536),
			    "224.0.0.0/4,255.255.255.255");
	assert_string_equal(elements_str(GROUP_METADATA, AF_INET, buf, 65536),
			    meta4);
	assert_string_equal(elements_str(GROUP_METADATA, AF_INET6, buf, 65536),
			    meta6);
	assert_string_equal(elements_str(GROUP_HOST, AF_INET6, buf, 65536), "");

	elements_str(GROUP_PRIVATE, AF_INET6, buf, 65536);
	assert_non_null(strstr(buf, "::ffff:10.0.0.0/104,"));
	assert_non_null(strstr(buf, ",64:ff9b::a00:0/104,"));
	assert_non_null(strstr(buf, ",fc00::/8,"));

	elements_str(GROUP_PUBLIC, AF_INET6, buf, 65536);
	assert_non_null(strstr(buf, "::ffff:1.0.0.0/104,"));
	assert_non_null(strstr(buf, "::ffff:8.0.0.0/103,"));
	assert_non_null(strstr(buf, ",2001:1::1,2001:1::2/127,"));
	assert_null(strstr(buf, "2001:db8::"));

	/* too little room: (size_t)-1, exactly enough: the count */
	n = addr_group_nft_elements(GROUP_PUBLIC, AF_INET6, el, ELEMENTS_MAX);
	assert_true(n != (size_t)-1 && n > 1);
	assert_true(addr_group_nft_elements(GROUP_PUBLIC, AF_INET6, el,
					    n - 1) == (size_t)-1);
	assert_int_equal(addr_group_nft_elements(GROUP_PUBLIC, AF_INET6, el, n),
			 n);
	assert_true(addr_group_nft_elements(GROUP_LOOPBACK, AF_INET, el, 0) ==
		    (size_t)-1);

	/* nothing for bad arguments */
	assert_int_equal(addr_group_nft_elements(GROUP_COUNT, AF_INET, el,
						 ELEMENTS_MAX), 0);
	assert_int_equal(addr_group_nft_elements(GROUP_PUBLIC, AF_UNIX, el,
						 ELEMENTS_MAX), 0);

	test_free(buf);
	test_free(el);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_names),
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_table_boundaries),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_unwrap_all_rows),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_contains_overlaps),
		cmocka_unit_test(test_nft_elements_exact),
		cmocka_unit_test(test_nft_elements_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
