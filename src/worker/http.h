/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * http.h - HTTP/1.x request-head parser: Host, authority, body framing
 */
#ifndef MOAT_HTTP_H
#define MOAT_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "names.h"

#define HTTP_HEAD_MAX		16384	/* request line and headers */
#define HTTP_NAME_MAX		NAMES_MAX

/**
 * enum http_result - outcome of http_request_head() and http_body_scan()
 * @HTTP_OK:		a complete, acceptable request head (or body end)
 * @HTTP_NEED_MORE:	well-formed so far, more bytes are needed
 * @HTTP_MALFORMED:	not an HTTP/1.x request, or ambiguous framing
 * @HTTP_TOO_LARGE:	no end of head within HTTP_HEAD_MAX
 * @HTTP_NO_HOST:	no Host header and no absolute-form authority
 * @HTTP_HOST_MISMATCH:	Host and the absolute-form authority differ
 * @HTTP_HOST_IP:	the host is an address literal
 * @HTTP_HOST_INVALID:	the host is not a valid DNS host name
 * @HTTP_USERINFO:	userinfo ("user@") in the authority (RFC 9110 §4.2.4)
 * @HTTP_CONNECT:	CONNECT method (a tunnel inside the connection)
 * @HTTP_H2:		HTTP/2 with prior knowledge (not inspectable here)
 */
enum http_result {
	HTTP_OK = 0,
	HTTP_NEED_MORE,
	HTTP_MALFORMED,
	HTTP_TOO_LARGE,
	HTTP_NO_HOST,
	HTTP_HOST_MISMATCH,
	HTTP_HOST_IP,
	HTTP_HOST_INVALID,
	HTTP_USERINFO,
	HTTP_CONNECT,
	HTTP_H2,
};

/**
 * enum http_body_kind - how the request body is framed
 * @HTTP_BODY_NONE:	no body
 * @HTTP_BODY_LENGTH:	Content-Length bytes
 * @HTTP_BODY_CHUNKED:	Transfer-Encoding: chunked
 */
enum http_body_kind {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,
	HTTP_BODY_CHUNKED,
};

/**
 * struct http_request - what http_request_head() found
 * @host:	host name, lower case, without trailing dot
 * @port:	port given with the host, 0 if none
 * @head_len:	bytes of request line and headers, final CRLF included
 * @body:	body framing
 * @length:	Content-Length, for HTTP_BODY_LENGTH
 * @upgrade:	the request asks for a protocol upgrade (Upgrade header)
 * @close:	"Connection: close" or HTTP/1.0 without keep-alive
 */
struct http_request {
	char host[HTTP_NAME_MAX + 1];
	uint16_t port;
	size_t head_len;
	enum http_body_kind body;
	uint64_t length;
	bool upgrade;
	bool close;
};

/**
 * struct http_body - state of a body being skipped
 * @state:	internal state of the chunked decoder
 * @left:	opaque data bytes left in the current chunk (or body)
 * @digits:	hex digits seen in the current chunk size
 */
struct http_body {
	int state;
	uint64_t left;
	unsigned digits;
};

enum http_result http_request_start(const uint8_t *buf, size_t len);
enum http_result http_request_head(const uint8_t *buf, size_t len,
				   struct http_request *out);
void http_body_init(struct http_body *b, const struct http_request *req);
enum http_result http_body_scan(struct http_body *b, const uint8_t *buf,
				size_t len, size_t *used);
uint64_t http_body_opaque(const struct http_body *b);
void http_body_skip(struct http_body *b, uint64_t n);
const char *http_result_str(enum http_result r);
enum http_result http_authority(const uint8_t *s, size_t len, char *host,
				uint16_t *port);

#endif /* MOAT_HTTP_H */
