// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_http.c - libFuzzer harness for the HTTP request parser
 *
 * The input is a client's stream on a plain-HTTP port. It is walked the
 * way the proxy walks it: head, body (chunked or Content-Length), next
 * head, until a refusal or the end. Each body is followed twice, in one
 * call and one byte at a time, and both walks must agree. No crash, no
 * overread, accepted hosts are clean names, positions only move forward;
 * a head whose hosts are address literals is walked on like an accepted
 * one (the proxy does where an address rule allows the destination).
 * http_request_start() (HTTP or another protocol, on ports where the
 * server may speak first) is checked on every prefix: a verdict other
 * than "need more" never changes with more bytes, and every complete head
 * http_request_head() judges is recognised as HTTP.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * LLVMFuzzerTestOneInput() - walk one input as a keep-alive stream
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum http_result s, w = http_request_start(data, size);
	struct http_request q;
	size_t off = 0, k;

	for (k = 0; k < size && k < 512; k++) {
		s = http_request_start(data, k);
		if (s != HTTP_NEED_MORE && s != w)
			abort();
	}
	s = http_request_head(data, size, &q);
	if (s != HTTP_NEED_MORE && s != HTTP_MALFORMED && s != HTTP_TOO_LARGE &&
	    w != HTTP_OK)
		abort();

	while (off < size) {
		struct http_request r;
		struct http_body a, b;
		enum http_result ra, rb = HTTP_NEED_MORE;
		size_t used, i, n = 0;

		enum http_result h = http_request_head(data + off, size - off,
						       &r);

		/* an address literal names no host, but the proxy follows
		 * such a request where an address rule allows it */
		if (h != HTTP_OK && h != HTTP_HOST_IP)
			break;
		if (!r.head_len || r.head_len > size - off ||
		    (h == HTTP_OK && !r.host[0]) ||
		    strlen(r.host) > HTTP_NAME_MAX)
			abort();
		(void)http_result_str(HTTP_OK);
		off += r.head_len;

		http_body_init(&a, &r);
		http_body_init(&b, &r);
		ra = http_body_scan(&a, data + off, size - off, &used);
		if (used > size - off)
			abort();
		for (i = off; i < size || rb == HTTP_NEED_MORE; i++) {
			size_t u;

			rb = http_body_scan(&b, data + i, i < size ? 1 : 0, &u);
			n += u;
			if (rb != HTTP_NEED_MORE || i >= size)
				break;
		}
		if (ra != rb || (ra == HTTP_OK && n != used))
			abort();
		if (ra != HTTP_OK)
			break;
		off += used;
	}
	return 0;
}
