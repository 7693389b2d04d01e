// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * http.c - HTTP/1.x request-head parser: Host, authority, body framing
 *
 * Theory of operation
 * -------------------
 * On plain-HTTP ports the transparent proxy must judge the host name of
 * every request on a keep-alive connection, not just the first: a client
 * may switch Host on one connection to reach another virtual host behind
 * a shared address. So the proxy parses each request head, decides, and
 * then lets the body through, knowing exactly where the next head starts.
 *
 * http_request_head() is stateless, called on what has arrived so far
 * (bounded by HTTP_HEAD_MAX). It is strict where leniency lets a proxy
 * and a server see different requests (request smuggling): lines end in
 * CRLF, no obsolete line folding, no whitespace before a header's colon,
 * one Host, one Content-Length, Transfer-Encoding only as "chunked" and
 * never with Content-Length (RFC 9112 §6.3), HTTP/1.0 and 1.1 only.
 *
 * The host a request names is its Host header and, for an absolute-form
 * target, the target's authority, parsed per RFC 3986 §3.2: userinfo
 * ("http://allowed@evil/" names evil) is refused outright, as RFC 9110
 * §4.2.4 says to treat it as an error; an IP literal ("[::1]", or a
 * numeric last label) names no host and is reported as HTTP_HOST_IP (the
 * proxy refuses it unless an address rule allows the destination); when
 * both Host and an authority are present they must agree, and a literal
 * beside a name is a disagreement. CONNECT (a tunnel) and HTTP/2 prior knowledge
 * (several authorities multiplexed) are refused: neither can be judged
 * request by request here.
 *
 * On ports where the server may speak first, http_request_start() tells
 * HTTP from another protocol by the request-line grammar, never by a list
 * of methods: empty lines, any method token, a target, "HTTP/". It reads
 * the line more leniently than http_request_head() does, so that whatever
 * some server could take for a request is judged (and refused if it is
 * not strictly well-formed) rather than passed as another protocol.
 *
 * The body is then followed with struct http_body: Content-Length bytes,
 * or chunks (size line, data, CRLF, ..., last chunk, trailers). The data
 * inside a body is opaque: http_body_opaque() says how many bytes may be
 * passed on without looking (spliced), and only the chunk framing is read.
 */
#include <string.h>

#include "http.h"
#include "names.h"

#define HTTP_CHUNK_DIGITS	15	/* keeps sizes below 2^60 */
#define B_CHUNKED		(1u << 31)	/* http_body.digits flags */
#define B_COLON			(1u << 30)

enum {
	B_DATA,		/* @left opaque bytes, then B_DATA_CR or done */
	B_SIZE,		/* chunk size hex digits */
	B_EXT,		/* chunk extension, until CR */
	B_SIZE_LF,
	B_DATA_CR,	/* CRLF after chunk data */
	B_DATA_LF,
	B_TRAILER,	/* start of a trailer line, or the final CRLF */
	B_TRAILER_LINE,
	B_TRAILER_LF,
	B_FINAL_LF,
	B_DONE,
};

/**
 * http_tchar() - is a byte a token character (RFC 9110 §5.6.2)
 * @c:		byte
 *
 * Return: true if it is
 */
static bool http_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/**
 * http_ieq() - compare a byte range with a lower-case string, ignoring case
 * @p:		bytes
 * @n:		their number
 * @s:		lower-case string
 *
 * Return: true if equal
 */
static bool http_ieq(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	if (n != strlen(s))
		return false;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)s[i])
			return false;
	}
	return true;
}

/**
 * http_has_token() - does a comma-separated header value list a token
 * @p:		value
 * @n:		length
 * @tok:	lower-case token
 *
 * Return: true if it does
 */
static bool http_has_token(const uint8_t *p, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		s = i;
		while (i < n && p[i] != ',')
			i++;
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (http_ieq(p + s, e - s, tok))
			return true;
	}
	return false;
}

/**
 * http_authority() - parse host[:port] of an authority or Host value
 * @s:		bytes
 * @len:	their number
 * @host:	HTTP_NAME_MAX + 1 bytes, normalised name
 * @port:	port, 0 if none
 *
 * Return: HTTP_OK, HTTP_USERINFO, HTTP_HOST_IP, HTTP_HOST_INVALID,
 *	   HTTP_NO_HOST or HTTP_MALFORMED (bad port)
 */
enum http_result http_authority(const uint8_t *s, size_t len, char *host,
				uint16_t *port)
{
	const uint8_t *colon;
	size_t hlen = len, i;
	uint32_t v = 0;

	*port = 0;
	if (!len)
		return HTTP_NO_HOST;
	if (memchr(s, '@', len))
		return HTTP_USERINFO;
	if (s[0] == '[')
		return HTTP_HOST_IP;
	colon = memrchr(s, ':', len);
	if (colon) {
		hlen = (size_t)(colon - s);
		for (i = hlen + 1; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return HTTP_MALFORMED;
			v = v * 10 + (uint32_t)(s[i] - '0');
			if (v > 65535)
				return HTTP_MALFORMED;
		}
		if (hlen + 1 < len && !v)
			return HTTP_MALFORMED;
		*port = (uint16_t)v;
	}
	if (!hlen)
		return HTTP_NO_HOST;
	switch (names_host(s, hlen, host, HTTP_NAME_MAX + 1)) {
	case NAMES_HOST:
		return HTTP_OK;
	case NAMES_ADDRESS:
		return HTTP_HOST_IP;
	default:
		return HTTP_HOST_INVALID;
	}
}

/**
 * http_target_authority() - find the authority of an absolute-form target
 * @t:		target
 * @n:		its length
 * @a:		start of the authority
 * @alen:	its length
 *
 * Return: true for an http/https absolute-form target
 */
static bool http_target_authority(const uint8_t *t, size_t n,
				  const uint8_t **a, size_t *alen)
{
	size_t i, skip;

	if (n > 7 && http_ieq(t, 7, "http://"))
		skip = 7;
	else if (n > 8 && http_ieq(t, 8, "https://"))
		skip = 8;
	else
		return false;
	for (i = skip; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
		;
	*a = t + skip;
	*alen = i - skip;
	return true;
}

/**
 * http_ws() - is a byte whitespace to some server's request-line parser
 * @c:		byte
 *
 * SP and HTAB (RFC 9112 §3), and what splitting a line on whitespace also
 * takes for it (Python's str.split(): VT, FF, 0x1c..0x1f, and 0x85, 0xa0
 * of Latin-1).
 *
 * Return: true if it is
 */
static bool http_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' ||
	       (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0;
}

/**
 * http_request_start() - can bytes be the start of an HTTP/1 request line
 * @buf:	a client's first bytes
 * @len:	their number
 *
 * Tells HTTP from another protocol by the request-line grammar of RFC 9112
 * §3, read as leniently as servers read it, so that whatever one could
 * take for a request is judged as one: empty lines and whitespace first,
 * a method token of any name, whitespace, then anywhere on the rest of
 * the line whitespace followed by "HTTP/" in any case (a target may hold
 * spaces: nginx takes "GET /a b HTTP/1.1"). Whatever reaches "HTTP/" is a
 * request (http_request_head() then judges it strictly, and refuses every
 * variant it does not accept); bytes whose first line has not ended may
 * still become one. A first line that ends without "HTTP/" (HTTP/0.9's
 * form, and that of many other protocols: "EHLO x") is not a request, nor
 * are bytes that do not start with a token and whitespace.
 *
 * Return: HTTP_OK for the start of a request line, HTTP_NEED_MORE while
 *	   the bytes may still become one, HTTP_MALFORMED for bytes that
 *	   cannot (another protocol)
 */
enum http_result http_request_start(const uint8_t *buf, size_t len)
{
	size_t i = 0, s, j, k;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n' || http_ws(buf[i])))
		i++;				/* empty lines (RFC 9112 §2.2) */
	for (s = i; i < len && http_tchar(buf[i]); i++)
		;				/* method */
	if (i == len)
		return HTTP_NEED_MORE;
	if (i == s || !http_ws(buf[i]))
		return HTTP_MALFORMED;
	for (; i < len && buf[i] != '\r' && buf[i] != '\n'; i++) {
		if (!http_ws(buf[i]))
			continue;
		for (j = i + 1; j < len && http_ws(buf[j]); j++)
			;
		for (k = 0; k < 5 && j + k < len; k++) {
			uint8_t c = buf[j + k];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (c != (uint8_t)"http/"[k])
				break;
		}
		if (k == 5)
			return HTTP_OK;		/* HTTP-version: HTTP-name "/" */
	}
	return i == len ? HTTP_NEED_MORE : HTTP_MALFORMED;
}

/**
 * http_request_head() - parse the head of the next request
 * @buf:	bytes from the start of the request
 * @len:	their number
 * @out:	results (valid on HTTP_OK, and on HTTP_HOST_IP with @host
 *		the IPv4 literal or empty; @head_len also on other refusals
 *		of a complete head)
 *
 * Return: HTTP_OK, HTTP_NEED_MORE, or why the request must be refused
 */
enum http_result http_request_head(const uint8_t *buf, size_t len,
				   struct http_request *out)
{
	const uint8_t *end, *line, *sp1, *sp2, *eol, *auth = NULL;
	bool absolute = false, te = false, cl = false, v10, keepalive = false;
	char ahost[HTTP_NAME_MAX + 1] = "";
	enum http_result r = HTTP_OK, ra = HTTP_OK;
	size_t alen = 0, i, start = 0, limit;
	const uint8_t *hostv = NULL;
	size_t hostn = 0, nhost = 0;
	uint16_t aport = 0;

	memset(out, 0, sizeof(out[0]));
	if (!buf || !len)
		return HTTP_NEED_MORE;

	/* RFC 9112 §2.2: empty lines before a request are ignored */
	while (len - start >= 2 && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	if (len - start == 1 && buf[start] == '\r')
		return HTTP_NEED_MORE;

	/* Refuse what cannot be a request early: method token, then SP */
	for (i = start; i < limit && buf[i] != ' '; i++)
		if (!http_tchar(buf[i]))
			return HTTP_MALFORMED;
	if (i == start && i < limit)
		return HTTP_MALFORMED;

	end = start < limit ? memmem(buf + start, limit - start, "\r\n\r\n", 4)
			    : NULL;
	if (!end) {
		if (start < limit && memchr(buf + start, '\n', limit - start) &&
		    !memmem(buf + start, limit - start, "\r\n", 2))
			return HTTP_MALFORMED;	/* bare LF line ends */
		return len >= HTTP_HEAD_MAX ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
	}
	out->head_len = (size_t)(end - buf) + 4;
	end += 2;			/* include the last header's CRLF */

	/* Request line */
	line = buf + start;
	eol = memmem(line, (size_t)(end - line), "\r\n", 2);
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	if (!sp1 || sp1 == line)
		return HTTP_MALFORMED;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return HTTP_MALFORMED;
	for (i = 0; line + i < eol; i++)
		if (line[i] < 0x21 && line + i != sp1 && line + i != sp2)
			return HTTP_MALFORMED;
		else if (line[i] == 0x7f || line[i] >= 0x80)
			return HTTP_MALFORMED;
	if (http_ieq(line, (size_t)(sp1 - line), "pri") &&
	    sp2 - sp1 == 2 && sp1[1] == '*' &&
	    (size_t)(eol - sp2 - 1) == 8 && !memcmp(sp2 + 1, "HTTP/2.0", 8))
		return HTTP_H2;
	if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return HTTP_MALFORMED;
	v10 = sp2[8] == '0';
	if ((size_t)(sp1 - line) == 7 && !memcmp(line, "CONNECT", 7))
		return HTTP_CONNECT;
	if (sp1[1] == '/') {
		;				/* origin-form */
	} else if (sp2 - sp1 == 2 && sp1[1] == '*') {
		if ((size_t)(sp1 - line) != 7 || memcmp(line, "OPTIONS", 7))
			return HTTP_MALFORMED;
	} else if (http_target_authority(sp1 + 1, (size_t)(sp2 - sp1 - 1),
					 &auth, &alen)) {
		absolute = true;
	} else {
		return HTTP_MALFORMED;
	}

	/* Header fields */
	for (line = eol + 2; line < end; line = eol + 2) {
		const uint8_t *colon, *v, *ve;

		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (line[0] == ' ' || line[0] == '\t')
			return HTTP_MALFORMED;	/* obsolete line folding */
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line)
			return HTTP_MALFORMED;
		for (i = 0; line + i < colon; i++)
			if (!http_tchar(line[i]))
				return HTTP_MALFORMED;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		for (i = 0; v + i < ve; i++)
			if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f ||
			    v[i] == '\r' || v[i] == '\n')
				return HTTP_MALFORMED;

		if (http_ieq(line, (size_t)(colon - line), "host")) {
			hostv = v;
			hostn = (size_t)(ve - v);
			nhost++;
		} else if (http_ieq(line, (size_t)(colon - line),
				    "content-length")) {
			uint64_t n = 0;

			if (cl || v == ve)
				return HTTP_MALFORMED;
			for (i = 0; v + i < ve; i++) {
				if (v[i] < '0' || v[i] > '9' ||
				    n > (UINT64_MAX >> 4))
					return HTTP_MALFORMED;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			cl = true;
			out->length = n;
		} else if (http_ieq(line, (size_t)(colon - line),
				    "transfer-encoding")) {
			if (te || !http_ieq(v, (size_t)(ve - v), "chunked"))
				return HTTP_MALFORMED;
			te = true;
		} else if (http_ieq(line, (size_t)(colon - line),
				    "connection")) {
			if (http_has_token(v, (size_t)(ve - v), "close"))
				out->close = true;
			if (http_has_token(v, (size_t)(ve - v), "keep-alive"))
				keepalive = true;
		} else if (http_ieq(line, (size_t)(colon - line), "upgrade")) {
			out->upgrade = true;
		}
	}
	if ((te && cl) || (te && v10) || nhost > 1)
		return HTTP_MALFORMED;
	if (v10 && !keepalive)
		out->close = true;
	out->body = te ? HTTP_BODY_CHUNKED
		       : (cl && out->length) ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;

	/* The host the request names. An address literal names none (a
	 * proxy decides such a request on its destination): beside a name
	 * in the other place it is a disagreement, not a way to hide one. */
	if (absolute) {
		ra = http_authority(auth, alen, ahost, &aport);
		if (ra != HTTP_OK && ra != HTTP_HOST_IP)
			return ra;
	}
	if (nhost) {
		r = http_authority(hostv, hostn, out->host, &out->port);
		if (r != HTTP_OK && r != HTTP_HOST_IP)
			return r;
		if (absolute && (ra != r ||
				 (r == HTTP_OK && strcmp(ahost, out->host)) ||
				 (aport && out->port && aport != out->port)))
			return HTTP_HOST_MISMATCH;
		if (absolute && !out->port)
			out->port = aport;
		return r;
	}
	if (!absolute)
		return HTTP_NO_HOST;
	memcpy(out->host, ahost, sizeof(ahost));
	out->port = aport;
	return ra;
}

/**
 * http_body_init() - start following the body of a request
 * @b:		state
 * @req:	the request whose head was parsed
 */
void http_body_init(struct http_body *b, const struct http_request *req)
{
	memset(b, 0, sizeof(*b));
	switch (req->body) {
	case HTTP_BODY_NONE:
		b->state = B_DONE;
		break;
	case HTTP_BODY_LENGTH:
		b->state = B_DATA;
		b->left = req->length;
		break;
	case HTTP_BODY_CHUNKED:
		b->state = B_SIZE;
		b->left = 0;
		b->digits = 0;
		b->digits |= B_CHUNKED;
		break;
	}
}

/**
 * http_body_opaque() - body bytes that may be passed on without reading
 * @b:		state
 *
 * Return: the number of opaque data bytes next in the stream
 */
uint64_t http_body_opaque(const struct http_body *b)
{
	return b->state == B_DATA ? b->left : 0;
}

/**
 * http_body_skip() - account for opaque bytes passed on (spliced)
 * @b:		state
 * @n:		bytes, at most http_body_opaque()
 */
void http_body_skip(struct http_body *b, uint64_t n)
{
	if (b->state != B_DATA || n > b->left)
		return;
	b->left -= n;
	if (!b->left)
		b->state = (b->digits & B_CHUNKED) ? B_DATA_CR : B_DONE;
}

/**
 * http_body_scan() - follow a body through the next bytes of the stream
 * @b:		state
 * @buf:	bytes
 * @len:	their number
 * @used:	bytes that belong to the body (all of them on HTTP_NEED_MORE,
 *		0 on HTTP_MALFORMED)
 *
 * Return: HTTP_OK at the end of the body, HTTP_NEED_MORE, HTTP_MALFORMED
 */
enum http_result http_body_scan(struct http_body *b, const uint8_t *buf,
				size_t len, size_t *used)
{
	size_t i = 0;

	*used = 0;
	while (b->state != B_DONE) {
		uint8_t c;

		if (b->state == B_DATA) {
			uint64_t n = len - i < b->left ? len - i : b->left;

			i += n;
			http_body_skip(b, n);
			if (b->state == B_DATA)
				break;		/* need more */
			continue;
		}
		if (i == len)
			break;
		c = buf[i++];
		switch (b->state) {
		case B_SIZE: {
			int d = (c >= '0' && c <= '9') ? c - '0' :
				(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
				(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
			unsigned nd = b->digits & 0xff;

			if (d >= 0) {
				if (nd == HTTP_CHUNK_DIGITS)
					return HTTP_MALFORMED;
				b->left = (b->left << 4) | (uint64_t)d;
				b->digits++;
			} else if (!nd) {
				return HTTP_MALFORMED;
			} else if (c == ';' || c == ' ' || c == '\t') {
				b->state = B_EXT;
			} else if (c == '\r') {
				b->state = B_SIZE_LF;
			} else {
				return HTTP_MALFORMED;
			}
			break;
		}
		case B_EXT:
			if (c == '\r')
				b->state = B_SIZE_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return HTTP_MALFORMED;
			break;
		case B_SIZE_LF:
			if (c != '\n')
				return HTTP_MALFORMED;
			b->digits &= ~0xffu;
			b->state = b->left ? B_DATA : B_TRAILER;
			b->left = b->left ? b->left : 0;
			break;
		case B_DATA_CR:
			if (c != '\r')
				return HTTP_MALFORMED;
			b->state = B_DATA_LF;
			break;
		case B_DATA_LF:
			if (c != '\n')
				return HTTP_MALFORMED;
			b->state = B_SIZE;
			b->left = 0;
			break;
		case B_TRAILER:
			if (c == '\r') {
				b->state = B_FINAL_LF;
				break;
			}
			if (!http_tchar(c))
				return HTTP_MALFORMED;
			b->digits &= ~B_COLON;
			b->state = B_TRAILER_LINE;
			/* fall through */
		case B_TRAILER_LINE:
			/* field-name ":" field-value, bounded in all */
			if (++b->left > HTTP_HEAD_MAX)
				return HTTP_MALFORMED;
			if (c == '\r' && (b->digits & B_COLON))
				b->state = B_TRAILER_LF;
			else if (!(b->digits & B_COLON) && c == ':')
				b->digits |= B_COLON;
			else if (!(b->digits & B_COLON) && !http_tchar(c))
				return HTTP_MALFORMED;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return HTTP_MALFORMED;
			break;
		case B_TRAILER_LF:
			if (c != '\n')
				return HTTP_MALFORMED;
			b->state = B_TRAILER;
			break;
		case B_FINAL_LF:
			if (c != '\n')
				return HTTP_MALFORMED;
			b->state = B_DONE;
			break;
		}
	}
	*used = i;
	return b->state == B_DONE ? HTTP_OK : HTTP_NEED_MORE;
}

/**
 * http_result_str() - short reason for a result, as in X-Moat-Denied
 * @r:		result
 *
 * Return: a static string
 */
const char *http_result_str(enum http_result r)
{
	switch (r) {
	case HTTP_OK:		return "ok";
	case HTTP_NEED_MORE:	return "incomplete";
	case HTTP_MALFORMED:	return "http-malformed";
	case HTTP_TOO_LARGE:	return "http-too-large";
	case HTTP_NO_HOST:	return "no-host";
	case HTTP_HOST_MISMATCH: return "host-mismatch";
	case HTTP_HOST_IP:	return "host-ip-literal";
	case HTTP_HOST_INVALID:	return "host-invalid";
	case HTTP_USERINFO:	return "userinfo";
	case HTTP_CONNECT:	return "connect-method";
	case HTTP_H2:		return "http2-prior-knowledge";
	}
	return "unknown";
}
