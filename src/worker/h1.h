/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * h1.h - the HTTP/1.1 request rewriter of intercepted connections:
 * secrets put in, placeholders sent elsewhere refused
 */
#ifndef MOAT_H1_H
#define MOAT_H1_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "http.h"
#include "policy.h"

#define H1_BODY_MAX	(1 << 20)	/* a body buffered to replace in it */
#define H1_TRAILER_MAX	HTTP_HEAD_MAX	/* a chunked body's trailer section */
#define H1_PH_MAX	128		/* bytes of a placeholder, at most */

/**
 * struct h1_secret - a secret as the rewriter of one connection sees it
 * @ph:		its placeholder
 * @phlen:	length of @ph (at most H1_PH_MAX)
 * @val:	its value
 * @vlen:	length of @val
 * @allowed:	the connection's host is one of the secret's hosts
 * @replace_in:	SECRET_IN_* where its placeholder is replaced (0 with @set)
 * @set_header:	header set on every request to its hosts, or NULL
 * @set_value:	that header's value, around one "{secret}"
 */
struct h1_secret {
	const uint8_t *ph;
	size_t phlen;
	const uint8_t *val;
	size_t vlen;
	bool allowed;
	unsigned replace_in;
	const char *set_header;
	const char *set_value;
};

/**
 * enum h1_result - outcome of h1_feed()
 * @H1_OK:		the input was taken; output may have been added
 * @H1_LEAK:		a request carries the placeholder of a secret its
 *			host may not receive (h1.leak says which)
 * @H1_MALFORMED:	not HTTP/1.x, or framing moat cannot follow
 * @H1_TOO_LARGE:	a head, trailer section or body to rewrite too large
 * @H1_HOST_MISMATCH:	a request's Host is not the connection's name
 * @H1_REFUSED:		a request http.c refuses (no Host, CONNECT, ...)
 */
enum h1_result {
	H1_OK = 0,
	H1_LEAK,
	H1_MALFORMED,
	H1_TOO_LARGE,
	H1_HOST_MISMATCH,
	H1_REFUSED,
};

/**
 * struct h1_buf - a growing output buffer
 * @p:		bytes
 * @len:	bytes used
 * @cap:	bytes allocated
 */
struct h1_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/**
 * struct h1 - the rewriter of one intercepted connection's requests
 * @sec:	the sandbox's secrets, as this connection sees them
 * @nsec:	number of @sec
 * @host:	the connection's name (its SNI): every request's Host
 * @st:		where in a request the next byte is (H1_ST_*, h1.c)
 * @head:	the request head being read (HTTP_HEAD_MAX)
 * @hlen:	bytes in @head
 * @hscan:	where in @head the next place it may end is looked for
 * @req:	the current request, as http.c parsed it
 * @left:	bytes of body (or of the current chunk) still to come
 * @cst:	chunk framing state
 * @csize:	the chunk size being read
 * @cdigits:	its hex digits so far
 * @replace:	the current body has placeholders to replace
 * @scan:	the current body must be searched for others' placeholders
 * @held:	the rewritten head, held until a buffered body is complete
 * @body:	a Content-Length body being buffered (@replace)
 * @trailer:	a chunked body's trailer section being read
 * @carry:	the last bytes of a body streamed so far, kept back so that
 *		a placeholder split across reads is seen whole
 * @clen:	bytes in @carry
 * @tail:	the last bytes sent (phmax - 1 at most): no placeholder may
 *		form across them and the next ones (h1_seam())
 * @tlen:	bytes in @tail
 * @phmax:	the longest placeholder
 * @first:	the first byte of every placeholder, -1 if they differ
 * @injected:	per secret: requests it was put into
 * @leak:	after H1_LEAK: the index of the secret
 * @requests:	requests rewritten
 */
struct h1 {
	const struct h1_secret *sec;
	size_t nsec;
	char host[HTTP_NAME_MAX + 1];
	int st;
	uint8_t *head;
	size_t hlen;
	size_t hscan;
	struct http_request req;
	uint64_t left;
	int cst;
	uint64_t csize;
	unsigned cdigits;
	bool replace;
	bool scan;
	struct h1_buf held;
	struct h1_buf body;
	struct h1_buf trailer;
	uint8_t carry[H1_PH_MAX];
	size_t clen;
	uint8_t tail[H1_PH_MAX];
	size_t tlen;
	size_t phmax;
	int first;
	uint64_t injected[POLICY_SECRETS_MAX];
	size_t leak;
	uint64_t requests;
};

int h1_init(struct h1 *h, const struct h1_secret *sec, size_t nsec,
	    const char *host);
void h1_free(struct h1 *h);
enum h1_result h1_idle(struct h1 *h, struct h1_buf *out);
enum h1_result h1_body(struct h1 *h, const uint8_t *in, size_t len,
		       bool final, struct h1_buf *out);
enum h1_result h1_feed(struct h1 *h, const uint8_t *in, size_t len,
		       struct h1_buf *out);
int h1_buf_put(struct h1_buf *b, const void *d, size_t n);
void h1_buf_free(struct h1_buf *b);
const char *h1_result_str(enum h1_result r);
size_t h1_b64_decode(const uint8_t *in, size_t len, uint8_t *out);
size_t h1_b64_encode(const uint8_t *in, size_t len, char *out);

#endif /* MOAT_H1_H */
