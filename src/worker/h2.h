/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * h2.h - HTTP/2 between an intercepted client and its server (libnghttp2):
 * each request checked and rewritten as h1.c rewrites HTTP/1.1
 */
#ifndef MOAT_H2_H
#define MOAT_H2_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "h1.h"

#define H2_STREAMS_MAX		100	/* concurrent streams of a client */
#define H2_FIELDS_MAX		16384	/* bytes of one request's header fields */
#define H2_QUEUE_MAX		(1 << 20)	/* bytes queued in a stream, each way */

struct h2_stream;	/* one request: h2.c's own */

/**
 * struct h2 - the HTTP/2 relay of one intercepted connection
 * @s:		the session with the client (nghttp2, server side)
 * @u:		the session with the server (nghttp2, client side)
 * @sec:	the secrets as this connection sees them
 * @nsec:	their number
 * @host:	the connection's name (its SNI)
 * @st:		the streams
 * @injected:	per secret: requests it was put into
 * @leaked:	per secret: requests refused for carrying its placeholder
 * @refused:	other requests refused (Host, malformed, too large)
 * @requests:	requests relayed
 * @masked:	secrets' values overwritten in responses
 * @on_refuse:	called for each refused request: its reason (enum
 *		proxy_reason), the secret of a secret-leak (else -1), the
 *		rewriter's result
 * @arg:	passed to @on_refuse
 */
struct h2 {
	void *s;
	void *u;
	const struct h1_secret *sec;
	size_t nsec;
	char host[HTTP_NAME_MAX + 1];
	struct h2_stream *st;
	uint64_t injected[POLICY_SECRETS_MAX];
	uint64_t leaked[POLICY_SECRETS_MAX];
	uint64_t refused;
	uint64_t requests;
	uint64_t masked;
	void (*on_refuse)(void *arg, int reason, int secret, int result);
	void *arg;
};

int h2_init(struct h2 *h, const struct h1_secret *sec, size_t nsec,
	    const char *host);
void h2_free(struct h2 *h);
int h2_from_client(struct h2 *h, const uint8_t *p, size_t n);
int h2_from_server(struct h2 *h, const uint8_t *p, size_t n);
int h2_to_client(struct h2 *h, struct h1_buf *out);
int h2_to_server(struct h2 *h, struct h1_buf *out);
bool h2_done(const struct h2 *h);
size_t h2_queued(const struct h2 *h);

#endif /* MOAT_H2_H */
