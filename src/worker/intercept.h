/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * intercept.h - TLS interception of the names a policy lists: the
 * sandbox's CA, upstream verification, the request rewriter (h1.c)
 */
#ifndef MOAT_INTERCEPT_H
#define MOAT_INTERCEPT_H

#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "addr.h"
#include "log.h"
#include "policy.h"

struct secrets;
struct icpt;	/* the engine: intercept.c's own */

/**
 * struct icpt_counters - interception's counters (in the region the
 * worker shares with its core: numbers only)
 * @intercepted:	connections whose TLS moat terminated
 * @requests:		requests rewritten
 * @leaks:		requests refused as secret-leak
 * @upstream_cert:	upstream certificates that failed verification
 * @client_tls:		client handshakes that failed (a client that does
 *			not trust the sandbox's CA, or gave up)
 * @upstream_tls:	upstream handshakes that failed otherwise
 * @refused:		other requests refused (Host not the name, malformed)
 * @leaf_minted:	leaf certificates made (each name once, while cached)
 * @masked:		secrets' values overwritten in responses
 * @resumed:		upstream connections that resumed a session
 * @injected:		per secret (policy order): requests it was put into
 * @leaked:		per secret: requests refused for carrying its
 *			placeholder elsewhere
 */
struct icpt_counters {
	uint64_t intercepted;
	uint64_t requests;
	uint64_t leaks;
	uint64_t upstream_cert;
	uint64_t client_tls;
	uint64_t upstream_tls;
	uint64_t refused;
	uint64_t leaf_minted;
	uint64_t masked;
	uint64_t resumed;
	uint64_t injected[POLICY_SECRETS_MAX];
	uint64_t leaked[POLICY_SECRETS_MAX];
};

struct icpt *intercept_init(int epfd, const struct secrets *sec,
			    const struct policy *pol, size_t max,
			    struct log *log, struct icpt_counters *cnt,
			    char **err);
bool intercept_wanted(const struct icpt *ic, const char *name);
int intercept_take(struct icpt *ic, int fd, const struct prefix *dst,
		   uint16_t port, const char *name, const uint8_t *hello,
		   size_t len);
int intercept_leak_scan(const struct icpt *ic, const uint8_t *buf,
			size_t len);
const char *intercept_secret_name(const struct icpt *ic, int idx);
struct h1;
struct http_body;
struct h1 *intercept_body_scan_new(const struct icpt *ic);
int intercept_body_scan(struct h1 *h, const struct http_body *from,
			const uint8_t *buf, size_t len, size_t *keep,
			struct http_body *keep_from);
void intercept_body_scan_free(struct h1 *h);
void intercept_event(struct icpt *ic, unsigned idx, unsigned side, int fd,
		     uint32_t events);
void intercept_timer(struct icpt *ic, time_t now);
size_t intercept_active(const struct icpt *ic);
void intercept_close(struct icpt *ic);
json_t *intercept_stats(const struct icpt_counters *c,
			const struct policy *pol);

#endif /* MOAT_INTERCEPT_H */
