// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_dhcp.c - libFuzzer harness for the guest's DHCP server
 *
 * The input is a UDP payload as the guest sends it to port 67: every byte
 * is its choice. It is parsed (dhcp_parse()) and answered (dhcp_answer())
 * twice: as it is, and with the lease's MAC written into its client
 * hardware address, so that mutations reach the answers. Parsing must
 * stay in bounds; an answer must exist only for the lease's MAC, fit
 * DHCP_REPLY_MAX, parse back as a reply to the same transaction and
 * client, from the gateway, and never give an address but the lease's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the lease of tests/unit/test_nft.c's fixed sandbox */
static const struct dhcp_lease fuzz_lease = {
	.mac = { 0x02, 0x6d, 0x5e, 0xed, 0x00, 0x07 },
	.addr = { 10, 231, 0, 30 },
	.gw = { 10, 231, 0, 29 },
	.dns = true,
	.mtu = 1500,
};

/**
 * check_answer() - parse and answer one message, checking the answer
 * @buf:	message
 * @len:	its length
 */
static void check_answer(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	const struct dhcp_lease *l = &fuzz_lease;
	uint8_t out[DHCP_REPLY_MAX + 16];
	struct dhcp_msg q, r;
	bool bcast;
	size_t n;

	memset(out, 0xa5, sizeof(out));
	if (dhcp_parse(buf, len, &q) != DHCP_OK)
		return;
	n = dhcp_answer(&q, l, out, &bcast);
	if (!n)
		return;
	if (q.op != 1 || memcmp(q.chaddr, l->mac, 6) || memcmp(q.giaddr, zero, 4))
		abort();	/* answered a reply, another MAC, a relay */
	if (n > DHCP_REPLY_MAX || n < DHCP_BOOTP_MIN || out[DHCP_REPLY_MAX] != 0xa5)
		abort();
	if (dhcp_parse(out, n, &r) != DHCP_OK || r.op != 2 || r.xid != q.xid ||
	    memcmp(r.chaddr, q.chaddr, 6) || memcmp(r.server_id, l->gw, 4))
		abort();
	switch (r.type) {
	case DHCP_OFFER:
		if (memcmp(r.yiaddr, l->addr, 4) || r.lease != DHCP_LEASE_S)
			abort();
		break;
	case DHCP_ACK:
		if (memcmp(r.yiaddr, q.type == DHCP_INFORM ? zero : l->addr, 4))
			abort();
		break;
	case DHCP_NAK:
		if (memcmp(r.yiaddr, zero, 4) || !bcast)
			abort();
		break;
	default:
		abort();
	}
	if (!bcast && !memcmp(q.ciaddr, zero, 4))
		abort();	/* unicast to no address */
}

/**
 * LLVMFuzzerTestOneInput() - one datagram from the guest
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	memcpy(copy, data, size);
	check_answer(copy, size);
	if (size >= 34) {
		memcpy(copy + 28, fuzz_lease.mac, 6);
		check_answer(copy, size);
	}
	free(copy);
	return 0;
}
