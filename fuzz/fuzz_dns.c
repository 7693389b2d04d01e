// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_dns.c - libFuzzer harness for the DNS interceptor's message handling
 *
 * The first byte picks the direction; the rest is one DNS message:
 *   even: a query from the sandbox (dns_client_msg()), over UDP
 *   odd:  an answer from upstream (dns_upstream_msg()) for an outstanding
 *         query with the same ID and question, so that the answer checks
 *         (rebind protection, pinning, TTL clamping, truncation) run
 * Nothing leaves the process: there is no upstream (forwarded queries get
 * SERVFAIL), no pinner (pins fail closed), and the "client" is one end of
 * a socketpair. The policy has domain allow and deny rules, a block list,
 * records and an address allow, so that every decision is reachable.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_policy[] =
	"version: 1\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - deny: evil.example.com\n"
	"    - allow: \"*.example.com\"\n"
	"      ports: [443]\n"
	"    - allow: example.com\n"
	"    - allow: 10.0.0.0/8\n"
	"dns:\n"
	"  block: [\"*.tracker.example\"]\n"
	"  records: {db.internal: 10.0.0.5, db6.internal: \"fd00::5\"}\n"
	"  ttl: {min: 5, max: 60}\n";

/**
 * LLVMFuzzerTestOneInput() - one message, from the sandbox or upstream
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy pol;
	static struct sb_state s;
	static struct dns *d;
	static int sp[2] = { -1, -1 }, epfd = -1;
	struct sockaddr_storage none = { 0 };
	uint8_t buf[DNS_MSG_MAX];

	if (!d) {
		struct errlist el = { 0 };

		policy_init(&pol);
		if (policy_load_buf(&pol, "fuzz.yaml", fuzz_policy,
				    strlen(fuzz_policy), &el))
			abort();
		s.has_v6 = false;
		snprintf(s.ifname, sizeof(s.ifname), "moat9");
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sp))
			abort();
		epfd = epoll_create1(0);
		d = calloc(1, sizeof(*d));
		if (!d || epfd < 0)
			abort();
		dns_init_state(d, epfd, &pol, &s, NULL);
	}
	if (size < 1 + 12)
		return 0;
	if (!(data[0] & 1)) {
		dns_client_msg(d, data + 1, size - 1, sp[0], &none, 0, -1);
	} else {
		ldns_pkt *a = NULL, *q;
		struct dns_q *dq = &d->q[0];

		if (ldns_wire2pkt(&a, data + 1, size - 1) != LDNS_STATUS_OK)
			return 0;
		if (ldns_rr_list_rr_count(ldns_pkt_question(a)) == 1) {
			ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(a), 0);
			char *name = ldns_rdf2str(ldns_rr_owner(qrr));

			q = ldns_pkt_new();
			if (!q || !name)
				abort();
			ldns_pkt_set_id(q, ldns_pkt_id(a));
			ldns_rr_list_deep_free(ldns_pkt_question(q));
			ldns_pkt_set_question(q, ldns_rr_list_clone(ldns_pkt_question(a)));
			ldns_pkt_set_qdcount(q, 1);
			memset(dq, 0, sizeof(*dq));
			dq->fd = -1;
			dq->id = ldns_pkt_id(a);
			dq->cid = 1;
			dq->lfd = sp[0];
			dq->maxlen = (data[0] & 2) ? 512 : 4096;
			dq->qtype = (uint16_t)ldns_rr_get_type(qrr);
			if (names_fold(name, dq->qname, sizeof(dq->qname)))
				snprintf(dq->qname, sizeof(dq->qname), "x");
			if (ldns_pkt2wire(&dq->msg, q, &dq->len) == LDNS_STATUS_OK)
				dns_upstream_msg(d, 0, data + 1, size - 1);
			free(dq->msg);		/* if it was not answered */
			dq->msg = NULL;
			free(name);
			ldns_pkt_free(q);
		}
		ldns_pkt_free(a);
	}
	/* every reply must parse */
	for (;;) {
		ldns_pkt *r = NULL;
		ssize_t n = recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		if (ldns_wire2pkt(&r, buf, (size_t)n) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_free(r);
	}
	return 0;
}
