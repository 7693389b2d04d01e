// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_privop.c - libFuzzer harness for what a sandbox's core reads from
 * its worker
 *
 * The worker parses what the sandbox and the network send, so the core
 * must assume it runs an attacker's code: every datagram on the channel
 * is chosen by the attacker. The input is one such datagram. It goes
 * through a real SOCK_SEQPACKET pair into privop_recv() as the core
 * receives it (oversized inputs are truncated, and refused), then, if
 * accepted, through privop_check_pins() against two policies (with and
 * without rebind protection, with and without IPv6) or privop_check_log().
 * Properties: a refusal always has a reason; an accepted message has
 * exactly the size its type and count give; every pin that passes names a
 * domain allow rule in range whose pattern matches the entry's name, with
 * a timeout from 1 to the bound, an address family the sandbox has, and
 * an address that is neither loopback nor multicast; an accepted log
 * record is a single line. The same bytes are also decoded as the worker
 * decodes the core's messages: an accepted PRIVOP_PEERS names sandboxes
 * only.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "privop.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_pol_a[] =
	"version: 1\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - deny: bad.example.com\n"
	"    - allow: \"*.example.com\"\n"
	"    - allow: github.com\n"
	"    - allow: 10.0.0.0/8\n"
	"    - deny: \"*.evil.org\"\n"
	"    - allow: x.evil.org\n"
	"dns:\n"
	"  rebind_protection: true\n"
	"  ttl: {min: 5, max: 60}\n";

static const char fuzz_pol_b[] =
	"version: 1\n"
	"egress:\n"
	"  rules:\n"
	"    - allow: \"*.example.net\"\n"
	"    - allow: private\n"
	"dns:\n"
	"  rebind_protection: false\n";

static struct policy fuzz_pols[2];
static int fuzz_sv[2] = { -1, -1 };

/**
 * fuzz_init() - the policies and the channel, once
 */
static void fuzz_init(void)
{
	const char *yaml[2] = { fuzz_pol_a, fuzz_pol_b };
	struct errlist el = { 0 };
	int i, sz = 4 << 20;

	for (i = 0; i < 2; i++) {
		policy_init(&fuzz_pols[i]);
		if (policy_load_buf(&fuzz_pols[i], "fuzz.yaml", yaml[i],
				    strlen(yaml[i]), &el)) {
			errlist_print(&el, stderr);
			abort();
		}
	}
	if (privop_pair(fuzz_sv))
		abort();
	setsockopt(fuzz_sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fuzz_sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/**
 * fuzz_check_pins() - the core's checks, and what an acceptance promises
 * @m:		an accepted pin request
 * @p:		policy
 * @has_v6:	the sandbox has IPv6
 */
static void fuzz_check_pins(const struct privop_msg *m, const struct policy *p,
			    bool has_v6)
{
	struct nft_pin out[NFT_PIN_BATCH_MAX];
	uint32_t bound = privop_ttl_bound(p);
	const char *why = NULL;
	size_t n, i;

	if (privop_check_pins(p, has_v6, bound, m, out, &n, &why)) {
		if (!why || n >= m->hdr.n)
			abort();
		return;
	}
	if (n != m->hdr.n)
		abort();
	for (i = 0; i < n; i++) {
		const struct privop_pin *e = &m->pin[i];
		const struct rule *r;
		char name[PRIVOP_NAME_MAX + 1];
		enum addr_group g;

		if (!out[i].rule || out[i].rule > p->nrules ||
		    out[i].rule != (size_t)e->rule + 1)
			abort();
		r = &p->rules[out[i].rule - 1];
		if (!r->allow || r->kind != TARGET_DOMAIN)
			abort();
		memcpy(name, e->name, e->namelen);
		name[e->namelen] = '\0';
		if (strlen(name) != e->namelen || !names_match(r->domain, name))
			abort();
		if (out[i].af != AF_INET && !(out[i].af == AF_INET6 && has_v6))
			abort();
		if (m->hdr.type != PRIVOP_PIN_ADD)
			continue;
		if (!out[i].timeout || out[i].timeout > bound)
			abort();
		g = addr_classify(out[i].af, out[i].addr, NULL, 0);
		if (g == GROUP_LOOPBACK || g == GROUP_MULTICAST)
			abort();
		if (p->rebind_protection && g != GROUP_PUBLIC &&
		    (g != GROUP_PRIVATE || out[i].af != AF_INET))
			abort();	/* only 10/8 is allowed by a rule */
	}
}

/**
 * fuzz_check_peers() - what the worker's acceptance of PRIVOP_PEERS promises
 * @m:		an accepted message
 *
 * At most PRIVOP_PEERS_MAX entries, each a sandbox name (what dns.c makes
 * NAME.moat.internal of) with nothing after it, and an IPv6 address only
 * with @has6.
 */
static void fuzz_check_peers(const struct privop_msg *m)
{
	size_t i, k;

	if (m->hdr.n > PRIVOP_PEERS_MAX)
		abort();
	for (i = 0; i < m->hdr.n; i++) {
		const struct privop_peer *e = &m->peer[i];
		char name[PRIVOP_PEER_NAME + 1];

		if (!e->namelen || e->namelen > MOAT_NAME_MAX || e->has6 > 1)
			abort();
		memcpy(name, e->name, PRIVOP_PEER_NAME);
		name[PRIVOP_PEER_NAME] = '\0';
		if (strlen(name) != e->namelen || !state_name_valid(name))
			abort();
		for (k = 0; !e->has6 && k < 16; k++)
			if (e->addr6[k])
				abort();
	}
}

/**
 * LLVMFuzzerTestOneInput() - one datagram from a worker, as the core reads it
 * @data:	the datagram
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct privop_msg m;
	const char *why = NULL;
	int ret;

	if (fuzz_sv[0] < 0)
		fuzz_init();
	if (!size)
		return 0;	/* an empty datagram reads as the peer gone */

	/* through the socket, as the core receives it */
	if (send(fuzz_sv[1], data, size, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)size)
		return 0;	/* larger than the socket takes */
	memset(&m, 0, sizeof(m));
	ret = privop_recv(fuzz_sv[0], &m, PRIVOP_FROM_WORKER, NULL, &why);
	if (ret < 0) {
		if (ret != -EINVAL || !why)
			abort();
	} else {
		if ((size_t)ret != size || size > PRIVOP_MSG_MAX ||
		    (size_t)ret != privop_len(&m))
			abort();
		switch (m.hdr.type) {
		case PRIVOP_PIN_ADD:
		case PRIVOP_PIN_DEL:
			fuzz_check_pins(&m, &fuzz_pols[0], true);
			fuzz_check_pins(&m, &fuzz_pols[0], false);
			fuzz_check_pins(&m, &fuzz_pols[1], true);
			break;
		case PRIVOP_LOG:
			if (privop_check_log(&m, &why) ||
			    memchr(m.log, '\n', m.hdr.n) ||
			    memchr(m.log, '\0', m.hdr.n))
				abort();
			break;
		default:
			abort();	/* not a worker's type */
		}
	}

	/* the same bytes as the worker reads the core's messages */
	if (size <= PRIVOP_MSG_MAX) {
		memset(&m, 0, sizeof(m));
		memcpy(&m, data, size);
		if (!privop_decode(&m, size, PRIVOP_FROM_CORE, &why)) {
			if (m.hdr.type != PRIVOP_REPLY &&
			    m.hdr.type != PRIVOP_PINS_SYNC &&
			    m.hdr.type != PRIVOP_POLICY &&
			    m.hdr.type != PRIVOP_STATUS &&
			    m.hdr.type != PRIVOP_PEERS &&
			    (m.hdr.type != PRIVOP_PROXY ||
			     (m.proxy.open != 0 && m.proxy.open != 1)))
				abort();
			if (m.hdr.type == PRIVOP_PEERS)
				fuzz_check_peers(&m);
		} else if (!why) {
			abort();
		}
	}
	return 0;
}
