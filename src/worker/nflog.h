/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * nflog.h - a sandbox's NFLOG group: binding it, reading and parsing the
 * packets nftables logs there
 */
#ifndef MOAT_NFLOG_H
#define MOAT_NFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NFLOG_COPY		128	/* bytes of each packet copied */

struct mnl_socket;

/**
 * struct nflog_pkt - what a logged packet said
 * @family:	AF_INET or AF_INET6, 0 if the packet could not be parsed
 * @proto:	IP protocol number
 * @src:	source address
 * @dst:	destination address
 * @sport:	source port (TCP, UDP), or ICMP type
 * @dport:	destination port (TCP, UDP), or ICMP code
 * @has_ports:	@sport and @dport are meaningful
 * @reason:	the rule's log prefix without "moat:" ("I2:host", "rule:3")
 * @ts:		when it was logged, 0 if the kernel did not say
 */
struct nflog_pkt {
	int family;
	uint8_t proto;
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	bool has_ports;
	char reason[64];
	struct timespec ts;
};

typedef void (*nflog_pkt_fn)(void *opaque, const struct nflog_pkt *p);

struct mnl_socket *nflog_bind(unsigned group, int *fd, char *err,
			      size_t errlen);
void nflog_close(struct mnl_socket *nl);
void nflog_read(int fd, nflog_pkt_fn fn, void *opaque, uint64_t *lost);
size_t nflog_parse(const void *buf, size_t len, nflog_pkt_fn fn,
		   void *opaque);
int nflog_packet_parse(const uint8_t *pkt, size_t len, struct nflog_pkt *p);

#endif /* MOAT_NFLOG_H */
