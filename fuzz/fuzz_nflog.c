// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_nflog.c - libFuzzer harness for the NFLOG message and packet parsers
 *
 * The input is a datagram as read from the netfilter netlink socket: its
 * messages, attributes and the logged packet's headers are all chosen by
 * the sandbox (the packet) or could be malformed (the rest). Parsing must
 * stay in bounds, report only IPv4 or IPv6 packets with a NUL-terminated
 * reason, and the records made from them must print. The same bytes are
 * also parsed as a bare packet, and, if they are a JSON object, printed
 * as a "moat logs" line.
 */
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "log.h"
#include "logs.h"
#include "nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * check_pkt() - invariants of one parsed packet
 * @opaque:	output stream
 * @p:		packet
 */
static void check_pkt(void *opaque, const struct nflog_pkt *p)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[8];

	if (p->family != AF_INET && p->family != AF_INET6)
		abort();
	if (strnlen(p->reason, sizeof(p->reason)) >= sizeof(p->reason))
		abort();
	if (!inet_ntop(p->family, p->src, src, sizeof(src)) ||
	    !inet_ntop(p->family, p->dst, dst, sizeof(dst)))
		abort();
	fprintf(opaque, "%s %s %s %u %u %s\n",
		log_proto_name(p->proto, pb, sizeof(pb)), src, dst, p->sport,
		p->dport, p->reason);
}

/**
 * LLVMFuzzerTestOneInput() - parse one input as NFLOG datagram and packet
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *devnull = fopen("/dev/null", "w");
	uint8_t *copy = malloc(size + 1);
	struct nflog_pkt p;
	json_t *rec;

	if (!devnull || !copy)
		abort();
	/* an aligned copy, as the datagram is in the reader */
	memcpy(copy, data, size);
	nflog_parse(copy, size, check_pkt, devnull);
	if (nflog_packet_parse(copy, size, &p) == 0) {
		if (p.family != AF_INET && p.family != AF_INET6)
			abort();
	}
	copy[size] = '\0';
	rec = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_object(rec))
		logs_format_text(rec, devnull);
	json_decref(rec);
	free(copy);
	fclose(devnull);
	return 0;
}
