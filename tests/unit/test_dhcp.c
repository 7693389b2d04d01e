// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_dhcp.c - unit tests of a guest's DHCP server and router
 * advertisements: the seeds of fuzz/corpus/dhcp parsed and answered (an
 * OFFER and ACKs with the lease's options, a NAK for another address,
 * nothing for another MAC, server, relay or a reply), every truncation of
 * a request refused, and the advertisement's layout; plus the EUI-64
 * address a MAC gives itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "addr.h"
#include "dhcp.h"
#include "ra.h"

/* the lease of the seeds (tests/unit/test_nft.c's fixed sandbox) */
static const struct dhcp_lease lease = {
	.mac = { 0x02, 0x6d, 0x5e, 0xed, 0x00, 0x07 },
	.addr = { 10, 231, 0, 30 },
	.gw = { 10, 231, 0, 29 },
	.dns = true,
	.mtu = 1500,
};

/**
 * load() - read a seed file of fuzz/corpus/dhcp
 * @name:	file name
 * @len:	its length
 *
 * Return: the bytes, malloc()ed
 */
static uint8_t *load(const char *name, size_t *len)
{
	const char *src = getenv("MOAT_SRCDIR");
	char path[4096];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/dhcp/%s",
		 src ? src : MOAT_SRCDIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/**
 * answer() - parse a seed and answer it
 * @name:	seed
 * @r:		set to the answer, parsed (zeroed if none)
 * @bcast:	set as dhcp_answer() sets it
 * @opts:	set to the answer's bytes, DHCP_REPLY_MAX
 *
 * Return: the answer's length, 0 if none
 */
static size_t answer(const char *name, struct dhcp_msg *r, bool *bcast,
		     uint8_t *opts)
{
	struct dhcp_msg q;
	size_t len, n;
	uint8_t *buf = load(name, &len);

	assert_int_equal(dhcp_parse(buf, len, &q), DHCP_OK);
	n = dhcp_answer(&q, &lease, opts, bcast);
	memset(r, 0, sizeof(*r));
	if (n) {
		assert_int_equal(dhcp_parse(opts, n, r), DHCP_OK);
		assert_int_equal(r->op, 2);
		assert_int_equal(r->xid, q.xid);
		assert_memory_equal(r->chaddr, lease.mac, 6);
		assert_memory_equal(r->server_id, lease.gw, 4);
	}
	free(buf);
	return n;
}

/**
 * has_option() - tell if an answer carries an option with this value
 * @out:	answer
 * @n:		its length
 * @code:	option
 * @v:		value
 * @len:	its length
 *
 * Return: true if it does
 */
static bool has_option(const uint8_t *out, size_t n, uint8_t code,
		       const void *v, uint8_t len)
{
	size_t i = DHCP_MIN_LEN;

	while (i + 1 < n && out[i] != 255) {
		if (out[i] == 0) {
			i++;
			continue;
		}
		if (out[i] == code && out[i + 1] == len && i + 2 + len <= n &&
		    !memcmp(out + i + 2, v, len))
			return true;
		i += 2 + (size_t)out[i + 1];
	}
	return false;
}

/**
 * test_offer_ack() - the answers a guest needs, with its configuration
 * @state:	unused
 */
static void test_offer_ack(void **state)
{
	static const uint8_t mask[4] = { 255, 255, 255, 252 };
	static const uint8_t bc[4] = { 10, 231, 0, 31 };
	static const uint8_t mtu[2] = { 0x05, 0xdc };
	static const uint8_t zero[4];
	uint8_t out[DHCP_REPLY_MAX];
	struct dhcp_msg r;
	bool bcast;
	size_t n;

	(void)state;
	n = answer("discover", &r, &bcast, out);
	assert_true(n >= DHCP_BOOTP_MIN && n <= DHCP_REPLY_MAX);
	assert_int_equal(r.type, DHCP_OFFER);
	assert_memory_equal(r.yiaddr, lease.addr, 4);
	assert_int_equal(r.lease, DHCP_LEASE_S);
	assert_true(bcast);
	assert_true(has_option(out, n, 1, mask, 4));
	assert_true(has_option(out, n, 3, lease.gw, 4));
	assert_true(has_option(out, n, 6, lease.gw, 4));
	assert_true(has_option(out, n, 28, bc, 4));
	assert_true(has_option(out, n, 26, mtu, 2));

	assert_true(answer("request-selecting", &r, &bcast, out));
	assert_int_equal(r.type, DHCP_ACK);
	assert_memory_equal(r.yiaddr, lease.addr, 4);
	assert_true(bcast);
	assert_true(answer("request-init-reboot", &r, &bcast, out));
	assert_int_equal(r.type, DHCP_ACK);
	/* renewing: to the address it has, not broadcast */
	assert_true(answer("request-renewing", &r, &bcast, out));
	assert_int_equal(r.type, DHCP_ACK);
	assert_memory_equal(r.ciaddr, lease.addr, 4);
	assert_false(bcast);
	/* INFORM: the configuration, no address and no lease */
	n = answer("inform", &r, &bcast, out);
	assert_int_equal(r.type, DHCP_ACK);
	assert_memory_equal(r.yiaddr, zero, 4);
	assert_int_equal(r.lease, 0);
	assert_true(has_option(out, n, 3, lease.gw, 4));
}

/**
 * test_refused() - another address is refused, the rest unanswered
 * @state:	unused
 */
static void test_refused(void **state)
{
	static const char *const none[] = {
		"request-other-server", "decline", "release", "other-mac",
		"relayed", "bootp-reply",
	};
	static const uint8_t zero[4];
	uint8_t out[DHCP_REPLY_MAX];
	struct dhcp_msg r;
	bool bcast;
	size_t i;

	(void)state;
	assert_true(answer("request-wrong-address", &r, &bcast, out));
	assert_int_equal(r.type, DHCP_NAK);
	assert_memory_equal(r.yiaddr, zero, 4);
	assert_true(bcast);
	for (i = 0; i < ARRAY_SIZE(none); i++)
		assert_int_equal(answer(none[i], &r, &bcast, out), 0);
	/* no DNS option outside network "filtered" */
	{
		struct dhcp_lease l = lease;
		struct dhcp_msg q;
		size_t len, n;
		uint8_t *buf = load("discover", &len);

		l.dns = false;
		assert_int_equal(dhcp_parse(buf, len, &q), DHCP_OK);
		n = dhcp_answer(&q, &l, out, &bcast);
		assert_false(has_option(out, n, 6, lease.gw, 4));
		free(buf);
	}
}

/**
 * test_malformed() - what the parser refuses, and every truncation
 * @state:	unused
 */
static void test_malformed(void **state)
{
	static const struct {
		const char *name;
		enum dhcp_result want;
	} t[] = {
		{ "short", DHCP_SHORT },
		{ "not-ether", DHCP_NOT_ETHER },
		{ "no-cookie", DHCP_COOKIE },
		{ "bad-option-length", DHCP_BAD_OPTION },
		{ "duplicate-type", DHCP_BAD_OPTION },
		{ "option-past-end", DHCP_BAD_OPTION },
		{ "no-end", DHCP_BAD_OPTION },
		{ "overload", DHCP_NO_TYPE },
		{ "pads", DHCP_OK },
	};
	struct dhcp_msg m;
	size_t i, len, k;
	uint8_t *buf;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		buf = load(t[i].name, &len);
		assert_int_equal(dhcp_parse(buf, len, &m), t[i].want);
		free(buf);
	}
	/* cut anywhere before its end option, a request is refused */
	buf = load("request-selecting", &len);
	for (k = 0; k < len; k++)
		assert_int_not_equal(dhcp_parse(buf, k, &m), DHCP_OK);
	assert_int_equal(dhcp_parse(buf, len, &m), DHCP_OK);
	free(buf);
}

/**
 * test_ra() - the router advertisement's layout, and EUI-64
 * @state:	unused
 */
static void test_ra(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x6d, 0x5e, 0xed, 0x00, 0x07 };
	static const uint8_t rmac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	uint8_t out[RA_LEN_MAX], dns[16], pfx[8];
	struct prefix p, want;
	size_t n;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "fd6d:6f61:7400:7::1", dns), 1);
	memcpy(pfx, dns, 8);
	n = ra_build(out, rmac, 1500, pfx, dns);
	assert_int_equal(n, 16 + 8 + 8 + 32 + 24);
	assert_int_equal(out[0], 134);			/* router advertisement */
	assert_int_equal(out[5], 0);			/* no DHCPv6 */
	assert_int_equal(out[6] << 8 | out[7], RA_ROUTER_LIFETIME_S);
	assert_int_equal(out[16], 1);			/* its link-layer address */
	assert_memory_equal(out + 18, rmac, 6);
	assert_int_equal(out[24], 5);			/* MTU */
	assert_int_equal(out[30] << 8 | out[31], 1500);
	assert_int_equal(out[32], 3);			/* the prefix, /64, L and A */
	assert_int_equal(out[34], 64);
	assert_int_equal(out[35], 0xc0);
	assert_memory_equal(out + 48, pfx, 8);
	assert_int_equal(out[64], 25);			/* RDNSS */
	assert_memory_equal(out + 72, dns, 16);
	assert_int_equal(ra_build(out, rmac, 0, pfx, NULL), 16 + 8 + 32);

	addr_eui64(NULL, mac, &p);
	assert_int_equal(prefix_parse("fe80::6d:5eff:feed:7", &want, false), 0);
	assert_true(prefix_equal(&p, &want));
	addr_eui64(pfx, mac, &p);
	assert_int_equal(prefix_parse("fd6d:6f61:7400:7:6d:5eff:feed:7", &want, false), 0);
	assert_true(prefix_equal(&p, &want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_ack),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ra),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
