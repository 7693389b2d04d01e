// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * addr.c - addresses, prefixes and the address groups of SPEC §4
 *
 * Theory of operation
 * -------------------
 * Every destination belongs to exactly one group. The groups are defined by
 * one constant table of blocks (addr_table[]): the most specific block
 * containing an address decides (longest prefix wins), and an address in no
 * block is public. Rows of group public inside a reserved block are the
 * registries' "globally reachable" exceptions. Before the table is consulted:
 *
 *   - IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses are
 *     replaced by the IPv4 address they carry, so that no IPv4 group can be
 *     reached under an IPv6 disguise;
 *   - the host's own addresses (interfaces and sandbox gateways, which the
 *     caller passes) are "host", whatever block they are in: an exact
 *     address is more specific than any block. An IPv4 host address also
 *     matches its IPv4-mapped and NAT64 forms, by the rule above.
 *
 * The same table produces the nftables interval sets the ruleset matches
 * groups with (addr_group_nft_elements()). The address space of a family is
 * cut at the first address of every block and just past its last one (for
 * IPv6 also at the IPv4 blocks placed inside ::ffff:0:0/96 and 64:ff9b::/96,
 * and at those two /96 themselves). No block starts or ends strictly inside
 * one of the elementary intervals this gives, so all addresses of one
 * interval are in the same blocks and share a group: the interval is
 * classified by its first address with addr_classify() itself. Neighbouring
 * intervals of the same group are merged into ranges, and each range of the
 * requested group is written as the minimal list of aligned prefixes
 * covering it. The sets are therefore exactly the classifier, disjoint and
 * sorted, and the unit tests check both on random addresses.
 *
 * Numbers: addresses are handled as unsigned 128-bit integers (IPv4 in the
 * low 32 bits) for comparisons and arithmetic, and as network-order bytes
 * in struct prefix.
 */
#include <ctype.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

typedef unsigned __int128 u128;

/* Table rows, in readable form: an IPv4 block from its four octets... */
#define B4(a, b, c, d, len, g)						\
	{ .pfx = { .family = AF_INET, .plen = (len),			\
		   .addr = { (a), (b), (c), (d) } },			\
	  .group = (g) }

/* ...and an IPv6 block from its eight 16-bit groups */
#define W16(x)		(((x) >> 8) & 0xff), ((x) & 0xff)
#define B6(h0, h1, h2, h3, h4, h5, h6, h7, len, g)			\
	{ .pfx = { .family = AF_INET6, .plen = (len),			\
		   .addr = { W16(h0), W16(h1), W16(h2), W16(h3),	\
			     W16(h4), W16(h5), W16(h6), W16(h7) } },	\
	  .group = (g) }

#define LO	GROUP_LOOPBACK
#define PRIV	GROUP_PRIVATE
#define LL	GROUP_LINK_LOCAL
#define META	GROUP_METADATA
#define MC	GROUP_MULTICAST
#define RSV	GROUP_RESERVED
#define PUB	GROUP_PUBLIC

/*
 * Sources: SPEC §4; the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890 and the RFCs that updated them). The unit test holds
 * the same table in text form, with the group of each block's first and
 * last address and of its two neighbours, and fails on any difference.
 */
static const struct addr_block addr_table[] = {
	/* loopback */
	B4(127, 0, 0, 0, 8, LO),		/* RFC 1122 */
	B6(0, 0, 0, 0, 0, 0, 0, 1, 128, LO),	/* ::1, RFC 4291 */
	/* the unspecified addresses: connect() to 0.0.0.0 or :: reaches the
	 * host's own loopback (the kernel turns them into 127.0.0.1 and ::1) */
	B4(0, 0, 0, 0, 32, LO),
	B6(0, 0, 0, 0, 0, 0, 0, 0, 128, LO),

	/* private */
	B4(10, 0, 0, 0, 8, PRIV),		/* RFC 1918 */
	B4(172, 16, 0, 0, 12, PRIV),		/* RFC 1918 */
	B4(192, 168, 0, 0, 16, PRIV),		/* RFC 1918 */
	B4(100, 64, 0, 0, 10, PRIV),		/* RFC 6598, CGN shared */
	B6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7, PRIV),	/* fc00::/7, RFC 4193 */

	/* link-local */
	B4(169, 254, 0, 0, 16, LL),		/* RFC 3927 */
	B6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10, LL), /* fe80::/10, RFC 4291 */

	/* metadata services, inside the blocks above by longest prefix */
	B4(169, 254, 169, 254, 32, META),	/* AWS, GCP, Azure, OpenStack */
	B4(169, 254, 170, 2, 32, META),		/* AWS ECS task metadata */
	B4(169, 254, 169, 253, 32, META),	/* AWS VPC DNS resolver */
	B4(169, 254, 169, 123, 32, META),	/* AWS time sync */
	/* fd00:ec2::254, AWS IMDS over IPv6 */
	B6(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254, 128, META),
	B4(100, 100, 100, 200, 32, META),	/* Alibaba Cloud */
	B4(192, 0, 0, 192, 32, META),		/* Oracle Cloud */
	B4(168, 63, 129, 16, 32, META),		/* Azure wire server */

	/* multicast and limited broadcast */
	B4(224, 0, 0, 0, 4, MC),		/* RFC 5771 */
	B4(255, 255, 255, 255, 32, MC),		/* RFC 919, RFC 8190 */
	B6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8, MC),	/* ff00::/8, RFC 4291 */

	/* reserved IPv4: not globally reachable in the registry */
	B4(0, 0, 0, 0, 8, RSV),			/* RFC 791, "this network"
						 * (0.0.0.0 itself: loopback) */
	B4(192, 0, 0, 0, 24, RSV),		/* RFC 6890, IETF protocol
						 * assignments: DS-Lite /29,
						 * dummy .8, NAT64 discovery
						 * .170 and .171 */
	B4(192, 0, 0, 9, 32, PUB),		/* RFC 7723, PCP anycast */
	B4(192, 0, 0, 10, 32, PUB),		/* RFC 8155, TURN anycast */
	B4(192, 0, 2, 0, 24, RSV),		/* RFC 5737, TEST-NET-1 */
	B4(192, 88, 99, 0, 24, RSV),		/* RFC 7526, deprecated 6to4
						 * relay anycast */
	B4(192, 88, 99, 2, 32, RSV),		/* RFC 6751, 6a44 relay */
	B4(198, 18, 0, 0, 15, RSV),		/* RFC 2544, benchmarking */
	B4(198, 51, 100, 0, 24, RSV),		/* RFC 5737, TEST-NET-2 */
	B4(203, 0, 113, 0, 24, RSV),		/* RFC 5737, TEST-NET-3 */
	B4(240, 0, 0, 0, 4, RSV),		/* RFC 1112, reserved */
	/* 192.31.196.0/24 (AS112-v4), 192.52.193.0/24 (AMT) and
	 * 192.175.48.0/24 (AS112 direct delegation) are globally reachable:
	 * public, no row needed */

	/* reserved IPv6: everything outside 2000::/3 (SPEC §4), as the three
	 * prefixes covering it; the rows above and below are more specific */
	B6(0x0000, 0, 0, 0, 0, 0, 0, 0, 3, RSV),	/* ::/3 */
	B6(0x4000, 0, 0, 0, 0, 0, 0, 0, 2, RSV),	/* 4000::/2 */
	B6(0x8000, 0, 0, 0, 0, 0, 0, 0, 1, RSV),	/* 8000::/1 */
	/* ...with the registry's rows there, listed for completeness
	 * (::/128, unspecified, is loopback above): 64:ff9b:1::/48 local-use
	 * NAT64 (RFC 8215); 100::/64 discard-only (RFC 6666); 100:0:0:1::/64
	 * dummy prefix (RFC 9780); 5f00::/16 SRv6 SIDs (RFC 9602); fec0::/10
	 * deprecated site-local (RFC 3879) */
	B6(0x0064, 0xff9b, 1, 0, 0, 0, 0, 0, 48, RSV),
	B6(0x0100, 0, 0, 0, 0, 0, 0, 0, 64, RSV),
	B6(0x0100, 0, 0, 1, 0, 0, 0, 0, 64, RSV),
	B6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16, RSV),
	B6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10, RSV),
	/* ::ffff:0:0/96 (RFC 4291) and 64:ff9b::/96 (RFC 6052) have no row:
	 * their addresses are classified by the IPv4 address they carry */

	/* reserved IPv6 inside 2000::/3, with the globally reachable
	 * exceptions of 2001::/23 as public rows */
	B6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23, RSV),	/* RFC 2928, IETF */
	B6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32, RSV),	/* RFC 4380, Teredo
							 * (SPEC §4) */
	B6(0x2001, 1, 0, 0, 0, 0, 0, 1, 128, PUB),	/* RFC 7723, PCP */
	B6(0x2001, 1, 0, 0, 0, 0, 0, 2, 128, PUB),	/* RFC 8155, TURN */
	B6(0x2001, 1, 0, 0, 0, 0, 0, 3, 128, PUB),	/* RFC 9665, SRP */
	B6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48, RSV),	/* RFC 5180, bench */
	B6(0x2001, 3, 0, 0, 0, 0, 0, 0, 32, PUB),	/* RFC 7450, AMT */
	B6(0x2001, 4, 0x112, 0, 0, 0, 0, 0, 48, PUB),	/* RFC 7535, AS112-v6 */
	B6(0x2001, 0x10, 0, 0, 0, 0, 0, 0, 28, RSV),	/* RFC 4843, ORCHID,
							 * deprecated */
	B6(0x2001, 0x20, 0, 0, 0, 0, 0, 0, 28, PUB),	/* RFC 7343, ORCHIDv2 */
	B6(0x2001, 0x30, 0, 0, 0, 0, 0, 0, 28, PUB),	/* RFC 9374, DRIP DET */
	B6(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0, 32, RSV),	/* RFC 3849, docs */
	B6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16, RSV),	/* RFC 3056, 6to4
							 * (SPEC §4) */
	B6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20, RSV),	/* RFC 9637, docs */
	/* 2620:4f:8000::/48 (AS112 direct delegation) is globally reachable:
	 * public, no row needed */
};

#undef LO
#undef PRIV
#undef LL
#undef META
#undef MC
#undef RSV
#undef PUB

/* Cut points addr_group_nft_elements() may need: two per row, twice more
 * for IPv4 rows placed in IPv6, the two /96 wrappers, and the origin */
#define ADDR_CUTS_MAX		(ARRAY_SIZE(addr_table) * 4 + 4 + 1)

/* ::ffff:0:0/96 and 64:ff9b::/96, compared on their first 12 bytes */
static const uint8_t addr_mapped_pfx[16] = { [10] = 0xff, [11] = 0xff };
static const uint8_t addr_nat64_pfx[16] = { 0x00, 0x64, 0xff, 0x9b };

static const char *const addr_group_names[GROUP_COUNT] = {
	[GROUP_LOOPBACK]	= "loopback",
	[GROUP_PRIVATE]		= "private",
	[GROUP_LINK_LOCAL]	= "link-local",
	[GROUP_METADATA]	= "metadata",
	[GROUP_MULTICAST]	= "multicast",
	[GROUP_HOST]		= "host",
	[GROUP_RESERVED]	= "reserved",
	[GROUP_PUBLIC]		= "public",
};

/**
 * addr_group_name() - name of a group, as written in policies
 * @g:		group
 *
 * Return: the name, "?" if @g is out of range
 */
const char *addr_group_name(enum addr_group g)
{
	if ((unsigned)g >= GROUP_COUNT)
		return "?";
	return addr_group_names[g];
}

/**
 * addr_group_parse() - group from its name
 * @s:		name, exactly as addr_group_name() gives it
 * @g:		set to the group on success
 *
 * Return: 0, or -1 if @s names no group
 */
int addr_group_parse(const char *s, enum addr_group *g)
{
	unsigned i;

	for (i = 0; i < GROUP_COUNT; i++) {
		if (!strcmp(s, addr_group_names[i])) {
			*g = (enum addr_group)i;
			return 0;
		}
	}
	return -1;
}

/**
 * addr_bits() - length in bits of the addresses of a family
 * @family:	AF_INET or AF_INET6
 *
 * Return: 32 for AF_INET, 128 otherwise
 */
static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/**
 * addr_len() - length in bytes of the addresses of a family
 * @family:	AF_INET or AF_INET6
 *
 * Return: 4 for AF_INET, 16 otherwise
 */
static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/**
 * ones() - a number with its low @k bits set
 * @k:		0..128
 *
 * Return: 2^@k - 1
 */
static u128 ones(unsigned k)
{
	return k >= 128 ? ~(u128)0 : ((u128)1 << k) - 1;
}

/**
 * addr_max() - the highest address of a family, as a number
 * @family:	AF_INET or AF_INET6
 *
 * Return: 2^32 - 1 or 2^128 - 1
 */
static u128 addr_max(int family)
{
	return ones(addr_bits(family));
}

/**
 * to_u128() - an address as a number (IPv4 in the low 32 bits)
 * @family:	AF_INET or AF_INET6
 * @a:		address bytes, network order
 *
 * Return: the number
 */
static u128 to_u128(int family, const uint8_t *a)
{
	size_t n = addr_len(family), i;
	u128 v = 0;

	for (i = 0; i < n; i++)
		v = (v << 8) | a[i];
	return v;
}

/**
 * from_u128() - a number back into address bytes
 * @family:	AF_INET or AF_INET6
 * @v:		number
 * @a:		16 bytes to fill, zeroed past the address
 */
static void from_u128(int family, u128 v, uint8_t *a)
{
	size_t n = addr_len(family), i;

	memset(a, 0, 16);
	for (i = 0; i < n; i++)
		a[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/**
 * mask_of() - network mask of a prefix length
 * @family:	AF_INET or AF_INET6
 * @plen:	prefix length, at most addr_bits(@family)
 *
 * Return: the mask, as a number
 */
static u128 mask_of(int family, unsigned plen)
{
	unsigned bits = addr_bits(family);

	return ones(bits) & ~ones(bits - plen);
}

/**
 * parse_plen() - a prefix length: decimal digits only, no leading zero
 * @s:		text, up to its end
 * @max:	largest value accepted
 * @out:	set to the value on success
 *
 * Return: 0, or -1 if malformed or above @max
 */
static int parse_plen(const char *s, unsigned max, uint8_t *out)
{
	size_t i, n = strlen(s);
	unsigned v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

/**
 * prefix_parse() - parse "ADDR" or "ADDR/LEN", IPv4 or IPv6
 * @s:		text, without brackets or zone; anything else is refused
 * @p:		filled in on success; host bits are cleared
 * @strict_host_bits: refuse a prefix with host bits set, as 10.0.0.1/8,
 *		instead of clearing them
 *
 * An address without a length is a full-length prefix (32 or 128). IPv4
 * octets with leading zeros are refused (inet_pton() does), so are lengths
 * with a sign, spaces or leading zeros.
 *
 * Return: 0, or -1 if malformed (@p is then zeroed)
 */
int prefix_parse(const char *s, struct prefix *p, bool strict_host_bits)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash;
	u128 v, m;
	size_t alen;

	memset(p, 0, sizeof(*p));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	p->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, buf, p->addr) != 1)
		goto bad;

	p->plen = (uint8_t)addr_bits(p->family);
	if (slash && parse_plen(slash + 1, addr_bits(p->family), &p->plen))
		goto bad;

	v = to_u128(p->family, p->addr);
	m = mask_of(p->family, p->plen);
	if ((v & ~m) && strict_host_bits)
		goto bad;
	from_u128(p->family, v & m, p->addr);
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return -1;
}

/**
 * addr_parse() - parse a single address, IPv4 or IPv6
 * @s:		text: no prefix length, no brackets, no zone
 * @p:		filled in on success, as a full-length prefix
 *
 * Return: 0, or -1 if malformed (@p is then zeroed)
 */
int addr_parse(const char *s, struct prefix *p)
{
	if (strchr(s, '/')) {
		memset(p, 0, sizeof(*p));
		return -1;
	}
	return prefix_parse(s, p, true);
}

/**
 * prefix_format() - print a prefix, "ADDR/LEN", or "ADDR" if full-length
 * @p:		prefix
 * @buf:	output, always NUL-terminated if @len is not zero
 * @len:	size of @buf
 *
 * Return: 0, or -1 if it does not fit or @p is not a valid prefix
 */
int prefix_format(const struct prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (len)
		buf[0] = '\0';
	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    p->plen > addr_bits(p->family) ||
	    !inet_ntop(p->family, p->addr, a, sizeof(a)))
		return -1;

	if (p->plen == addr_bits(p->family))
		n = snprintf(buf, len, "%s", a);
	else
		n = snprintf(buf, len, "%s/%u", a, (unsigned)p->plen);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

/**
 * prefix_contains() - whether @inner lies entirely inside @outer
 * @outer:	prefix
 * @inner:	prefix
 *
 * Return: true if so; false for different families
 */
bool prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	u128 m;

	if (outer->family != inner->family ||
	    (outer->family != AF_INET && outer->family != AF_INET6) ||
	    inner->plen < outer->plen || outer->plen > addr_bits(outer->family))
		return false;
	m = mask_of(outer->family, outer->plen);
	return (to_u128(outer->family, outer->addr) & m) ==
	       (to_u128(inner->family, inner->addr) & m);
}

/**
 * prefix_overlaps() - whether two prefixes share at least one address
 * @a:		prefix
 * @b:		prefix
 *
 * Two prefixes either are disjoint or one contains the other.
 *
 * Return: true if so; false for different families
 */
bool prefix_overlaps(const struct prefix *a, const struct prefix *b)
{
	return prefix_contains(a, b) || prefix_contains(b, a);
}

/**
 * addr_blocks() - the group table, for documentation and tests
 * @n:		set to the number of rows
 *
 * Return: the rows, constant, in no particular order
 */
const struct addr_block *addr_blocks(size_t *n)
{
	*n = ARRAY_SIZE(addr_table);
	return addr_table;
}

/**
 * addr_unwrap() - the IPv4 address an IPv4-mapped or NAT64 address carries
 * @family:	in: family of @a; out: AF_INET if @a was unwrapped
 * @a:		in: address, 16 bytes; out: the IPv4 address if unwrapped,
 *		zero-padded
 */
static void addr_unwrap(int *family, uint8_t *a)
{
	if (*family != AF_INET6)
		return;
	if (memcmp(a, addr_mapped_pfx, 12) && memcmp(a, addr_nat64_pfx, 12))
		return;
	memmove(a, a + 12, 4);
	memset(a + 4, 0, 12);
	*family = AF_INET;
}

/**
 * addr_classify_table() - group of an address by the table alone
 * @family:	AF_INET or AF_INET6
 * @a:		address, already unwrapped
 *
 * Return: the group of the longest row containing @a, public if none
 */
static enum addr_group addr_classify_table(int family, const uint8_t *a)
{
	enum addr_group g = GROUP_PUBLIC;
	u128 v = to_u128(family, a);
	int best = -1;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(addr_table); i++) {
		const struct prefix *p = &addr_table[i].pfx;
		u128 m;

		if (p->family != family || (int)p->plen <= best)
			continue;
		m = mask_of(family, p->plen);
		if ((v & m) == to_u128(family, p->addr)) {
			best = p->plen;
			g = addr_table[i].group;
		}
	}
	return g;
}

/**
 * addr_classify() - the group of a destination address (SPEC §4)
 * @family:	AF_INET or AF_INET6
 * @addr:	address bytes, network order (4 or 16)
 * @host_addrs:	addresses of the host (interfaces, sandbox gateways); only
 *		their addresses count, not their prefix lengths. May be NULL
 *		if @nhost is 0
 * @nhost:	number of @host_addrs
 *
 * IPv4-mapped and NAT64 addresses are classified by the IPv4 address they
 * carry, host addresses included.
 *
 * Return: the group; reserved for an unknown @family
 */
enum addr_group addr_classify(int family, const uint8_t *addr,
			      const struct prefix *host_addrs, size_t nhost)
{
	uint8_t a[16] = { 0 };
	size_t i;

	if (family != AF_INET && family != AF_INET6)
		return GROUP_RESERVED;
	memcpy(a, addr, addr_len(family));
	addr_unwrap(&family, a);

	for (i = 0; i < nhost; i++) {
		int hf = host_addrs[i].family;
		uint8_t h[16];

		if (hf != AF_INET && hf != AF_INET6)
			continue;
		memcpy(h, host_addrs[i].addr, 16);
		addr_unwrap(&hf, h);
		if (hf == family && !memcmp(h, a, addr_len(family)))
			return GROUP_HOST;
	}

	return addr_classify_table(family, a);
}

/**
 * u128_cmp() - qsort() comparator for numbers
 * @a:		number
 * @b:		number
 *
 * Return: negative, zero or positive as for strcmp()
 */
static int u128_cmp(const void *a, const void *b)
{
	u128 x = *(const u128 *)a, y = *(const u128 *)b;

	return (x > y) - (x < y);
}

/**
 * add_cuts() - add the cut points of one block: its start and past its end
 * @cuts:	cut list
 * @n:		its length, updated
 * @start:	first address of the block
 * @hostbits:	number of host bits of the block
 * @max:	highest address of the family
 */
static void add_cuts(u128 *cuts, size_t *n, u128 start, unsigned hostbits,
		     u128 max)
{
	u128 last = start + ones(hostbits);

	cuts[(*n)++] = start;
	if (last != max)
		cuts[(*n)++] = last + 1;
}

/**
 * emit_range() - write a range of addresses as minimal aligned prefixes
 * @family:	AF_INET or AF_INET6
 * @lo:		first address
 * @hi:		last address, at least @lo
 * @out:	prefixes
 * @nout:	prefixes already in @out, updated
 * @max:	room in @out
 *
 * Return: 0, or -1 if @out is full
 */
static int emit_range(int family, u128 lo, u128 hi, struct prefix *out,
		      size_t *nout, size_t max)
{
	unsigned bits = addr_bits(family);

	for (;;) {
		unsigned k = 0;

		/* the largest aligned block starting at @lo, within @hi */
		while (k < bits && !((lo >> k) & 1))
			k++;
		while (ones(k) > hi - lo)
			k--;

		if (*nout >= max)
			return -1;
		out[*nout].family = family;
		out[*nout].plen = (uint8_t)(bits - k);
		from_u128(family, lo, out[*nout].addr);
		(*nout)++;

		if (ones(k) == hi - lo)
			return 0;
		lo += ones(k) + 1;
	}
}

/**
 * addr_group_nft_elements() - the prefixes making up a group, for nftables
 * @g:		group
 * @family:	AF_INET or AF_INET6
 * @out:	filled with the prefixes: sorted, disjoint, host bits clear
 * @max:	room in @out
 *
 * The prefixes hold exactly the addresses of @family that addr_classify()
 * puts in @g with no host addresses. For AF_INET6 they include the
 * IPv4-mapped and NAT64 forms of the group's IPv4 addresses. The host group
 * is dynamic and has no elements here; public is the exact complement of
 * the other groups.
 *
 * Return: number of prefixes written (0 for the host group, an unknown
 *	   group or family), or (size_t)-1 if @max is too small
 */
size_t addr_group_nft_elements(enum addr_group g, int family,
			       struct prefix *out, size_t max)
{
	u128 cuts[ADDR_CUTS_MAX], max_addr, lo = 0, hi = 0;
	bool open = false;
	size_t ncuts = 0, nout = 0, i;

	if (g == GROUP_HOST || (unsigned)g >= GROUP_COUNT ||
	    (family != AF_INET && family != AF_INET6))
		return 0;
	max_addr = addr_max(family);

	cuts[ncuts++] = 0;
	for (i = 0; i < ARRAY_SIZE(addr_table); i++) {
		const struct prefix *p = &addr_table[i].pfx;
		u128 v = to_u128(p->family, p->addr);
		unsigned hb = addr_bits(p->family) - p->plen;

		if (p->family == family) {
			add_cuts(cuts, &ncuts, v, hb, max_addr);
		} else if (family == AF_INET6) {
			/* the IPv4 block under its two IPv6 disguises */
			add_cuts(cuts, &ncuts,
				 to_u128(AF_INET6, addr_mapped_pfx) | v,
				 hb, max_addr);
			add_cuts(cuts, &ncuts,
				 to_u128(AF_INET6, addr_nat64_pfx) | v,
				 hb, max_addr);
		}
	}
	if (family == AF_INET6) {
		add_cuts(cuts, &ncuts, to_u128(AF_INET6, addr_mapped_pfx), 32,
			 max_addr);
		add_cuts(cuts, &ncuts, to_u128(AF_INET6, addr_nat64_pfx), 32,
			 max_addr);
	}
	qsort(cuts, ncuts, sizeof(cuts[0]), u128_cmp);

	for (i = 0; i < ncuts; i++) {
		u128 start = cuts[i], end;
		enum addr_group cg;
		uint8_t a[16];

		if (i && cuts[i] == cuts[i - 1])
			continue;
		while (i + 1 < ncuts && cuts[i + 1] == start)
			i++;
		end = i + 1 < ncuts ? cuts[i + 1] - 1 : max_addr;

		from_u128(family, start, a);
		cg = addr_classify(family, a, NULL, 0);
		if (cg == g) {
			if (!open)
				lo = start;
			open = true;
			hi = end;
		} else if (open) {
			if (emit_range(family, lo, hi, out, &nout, max))
				return (size_t)-1;
			open = false;
		}
	}
	if (open && emit_range(family, lo, hi, out, &nout, max))
		return (size_t)-1;

	return nout;
}

/**
 * prefix_equal() - compare two prefixes
 * @a:		first
 * @b:		second
 *
 * Return: true if family, length and address match
 */
bool prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/**
 * prefix_is_any() - tell the unspecified address (0.0.0.0 or ::)
 * @p:		prefix
 *
 * Return: true if every address byte is zero
 */
bool prefix_is_any(const struct prefix *p)
{
	static const uint8_t zero[16];

	return !memcmp(p->addr, zero, sizeof(zero));
}

/**
 * addr_eui64() - the address a MAC gives itself in a /64 (SLAAC, EUI-64)
 * @prefix:	the /64's first 8 bytes, or NULL for the link-local fe80::/64
 * @mac:	48-bit MAC
 * @out:	set to the /128 address
 *
 * RFC 4291, appendix A: the MAC's two halves around ff:fe, the
 * universal/local bit inverted. What a Linux guest takes by default
 * (addr_gen_mode 0) from a router advertisement, and as its link-local
 * address.
 */
void addr_eui64(const uint8_t *prefix, const uint8_t mac[6],
		struct prefix *out)
{
	static const uint8_t ll[8] = { 0xfe, 0x80 };
	uint8_t pfx[8];

	memcpy(pfx, prefix ? prefix : ll, 8);	/* @prefix may be in @out */
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->plen = 128;
	memcpy(out->addr, pfx, 8);
	out->addr[8] = mac[0] ^ 0x02;
	out->addr[9] = mac[1];
	out->addr[10] = mac[2];
	out->addr[11] = 0xff;
	out->addr[12] = 0xfe;
	out->addr[13] = mac[3];
	out->addr[14] = mac[4];
	out->addr[15] = mac[5];
}

/**
 * addr_mac_format() - a MAC as "02:6d:00:11:22:33"
 * @mac:	48-bit MAC
 * @buf:	at least ADDR_MAC_STRLEN bytes
 *
 * Return: @buf
 */
char *addr_mac_format(const uint8_t mac[6], char *buf)
{
	snprintf(buf, ADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/**
 * addr_mac_parse() - read a MAC written as addr_mac_format() writes it
 * @s:		text: six pairs of hexadecimal digits separated by ':'
 * @mac:	set to the MAC
 *
 * Return: 0, or -1 if @s is anything else
 */
int addr_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	int n = 0, k;

	if (strlen(s) != ADDR_MAC_STRLEN - 1 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &n) != 6 || n != ADDR_MAC_STRLEN - 1)
		return -1;
	for (k = 0; k < 6; k++) {
		if (!isxdigit((unsigned char)s[3 * k]) ||
		    !isxdigit((unsigned char)s[3 * k + 1]))
			return -1;
		mac[k] = (uint8_t)v[k];
	}
	return 0;
}
