// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * h1.c - the HTTP/1.1 request rewriter of intercepted connections
 *
 * Theory of operation
 * -------------------
 * On a connection whose TLS the proxy terminates (intercept.c), every
 * byte the client sends passes through h1_feed() before it is encrypted
 * again towards the server. The rewriter follows the requests one after
 * the other (keep-alive, pipelining) and, in each:
 *
 *   - reads the head whole (at most HTTP_HEAD_MAX) and has http.c parse
 *     it: what the proxy refuses on plain HTTP is refused here too, and
 *     the Host (or absolute-form authority) must be the connection's name
 *     (its SNI, which the server's certificate was verified for): a
 *     request cannot carry a secret to another virtual host of the same
 *     server;
 *   - looks for every secret's placeholder in the head as sent, in the
 *     request target percent-decoded, and in the credentials of a Basic
 *     Authorization header base64-decoded. A placeholder of a secret the
 *     connection's name may not receive is a leak: H1_LEAK, and the
 *     caller refuses the request (403, "X-Moat-Denied: secret-leak")
 *     without sending any of it;
 *   - for a secret the name may receive, replaces its placeholder by its
 *     value where the policy says (replace_in: header values, Basic
 *     credentials decoded and encoded again; the request target; the
 *     body), or sets its header (set), removing any header of that name
 *     the client sent;
 *   - follows the body by its framing. A Content-Length body in which
 *     placeholders are to be replaced is buffered whole (at most
 *     H1_BODY_MAX; "Expect: 100-continue" is dropped, as moat answers no
 *     interim response) and sent with its new length after the head; any
 *     other body is streamed: a chunked one is decoded and sent in
 *     chunks of moat's own, so that a placeholder split across chunks is
 *     seen whole, its trailer section searched like a head. A streamed
 *     body keeps its last bytes back (@carry: one placeholder's length
 *     less one) until more come or it ends, so that a placeholder split
 *     across TCP segments, TLS records or reads is seen whole and never
 *     half sent;
 *   - after a request that asks for an upgrade (WebSocket), the bytes
 *     are no longer HTTP: they pass as they come, searched for leaks
 *     alone; what is kept back goes when the client is idle (h1_idle()),
 *     so that a message does not wait for the next one.
 *
 * Whatever was kept back, h1_seam() searches what is sent with the tail
 * of what was sent before: a placeholder is never completed in the
 * server's stream across two parts, two requests, or a pause.
 *
 * Placeholders are searched as bytes ("moat-secret-NAME-" and 32 hex
 * digits): in plain text, percent-encoded in the target, base64-encoded
 * in Basic credentials. Any other encoding the client chooses (a
 * compressed or base64 body) is not decoded; the leak check is a net for
 * the routes a prompt injection takes, the values themselves never being
 * in the sandbox is the guarantee.
 *
 * Its streamed-body path (h1_body()) also searches the bodies of the
 * proxy's plain-HTTP requests, with every secret refused
 * (intercept_body_scan()).
 *
 * The rewriter is pure: no I/O, no allocation beyond its own buffers
 * (bounded), fuzzed (fuzz/fuzz_h1.c).
 */
#include <string.h>
#include <strings.h>

#include "common.h"
#include "h1.h"

enum {
	H1_ST_HEAD = 0,		/* reading a request head */
	H1_ST_LENGTH,		/* streaming a Content-Length body */
	H1_ST_BUFFER,		/* buffering a Content-Length body */
	H1_ST_CHUNKED,		/* decoding a chunked body */
	H1_ST_RAW,		/* after an upgrade */
};

enum {
	H1_CS_SIZE = 0,		/* hex digits of a chunk size */
	H1_CS_EXT,		/* a chunk extension, up to CR */
	H1_CS_SIZE_LF,		/* the LF after the size line */
	H1_CS_DATA,		/* chunk data */
	H1_CS_DATA_CR,		/* the CR after chunk data */
	H1_CS_DATA_LF,		/* the LF after that */
	H1_CS_TRAILER,		/* the trailer section, up to CRLF CRLF */
};

/* what one rewriter may hold or produce in one buffer: a buffered body
 * whose placeholders become longer values may grow, up to this */
#define H1_OUT_MAX	(2 * H1_BODY_MAX)

static const char h1_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * h1_buf_put() - append bytes to a buffer
 * @b:		buffer
 * @d:		bytes
 * @n:		their number
 *
 * Return: 0, or -1 if the buffer would pass H1_OUT_MAX
 */
int h1_buf_put(struct h1_buf *b, const void *d, size_t n)
{
	size_t cap;

	if (!n)
		return 0;
	if (n > H1_OUT_MAX - b->len)
		return -1;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

/**
 * h1_buf_free() - release a buffer
 * @b:		buffer
 */
void h1_buf_free(struct h1_buf *b)
{
	if (b->p)
		explicit_bzero(b->p, b->cap);	/* it held a secret */
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/**
 * h1_b64_decode() - decode standard base64 (padding optional)
 * @in:		text
 * @len:	its length
 * @out:	at least @len * 3 / 4 + 3 bytes
 *
 * Return: bytes written, or SIZE_MAX if @in is not base64
 */
size_t h1_b64_decode(const uint8_t *in, size_t len, uint8_t *out)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	unsigned bits = 0;
	const char *c;

	while (len && in[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		if (!in[i] || !(c = strchr(h1_b64, in[i])))
			return SIZE_MAX;
		acc = (acc << 6) | (uint32_t)(c - h1_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/**
 * h1_b64_encode() - encode in standard base64, padded
 * @in:		bytes
 * @len:	their number
 * @out:	at least (@len + 2) / 3 * 4 + 1 bytes
 *
 * Return: characters written (NUL-terminated)
 */
size_t h1_b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i, n = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[n++] = h1_b64[in[i] >> 2];
		out[n++] = h1_b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[n++] = h1_b64[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[n++] = h1_b64[in[i + 2] & 63];
	}
	if (i < len) {
		out[n++] = h1_b64[in[i] >> 2];
		if (i + 1 < len) {
			out[n++] = h1_b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			out[n++] = h1_b64[(in[i + 1] & 15) << 2];
		} else {
			out[n++] = h1_b64[(in[i] & 3) << 4];
			out[n++] = '=';
		}
		out[n++] = '=';
	}
	out[n] = '\0';
	return n;
}

/**
 * h1_result_str() - a result's name
 * @r:		result
 *
 * Return: a static string
 */
const char *h1_result_str(enum h1_result r)
{
	static const char *const names[] = {
		[H1_OK] = "ok", [H1_LEAK] = "secret-leak",
		[H1_MALFORMED] = "malformed", [H1_TOO_LARGE] = "too-large",
		[H1_HOST_MISMATCH] = "host-mismatch",
		[H1_REFUSED] = "refused",
	};

	if ((unsigned)r >= ARRAY_SIZE(names))
		return "?";
	return names[r];
}

/**
 * h1_init() - a rewriter for one connection
 * @h:		rewriter
 * @sec:	the secrets as this connection sees them (kept, not copied)
 * @nsec:	their number (at most POLICY_SECRETS_MAX)
 * @host:	the connection's name (normalised SNI)
 *
 * Return: 0, or -1 if a placeholder is longer than H1_PH_MAX or there are
 *	   too many secrets
 */
int h1_init(struct h1 *h, const struct h1_secret *sec, size_t nsec,
	    const char *host)
{
	size_t i;

	memset(h, 0, sizeof(*h));
	if (nsec > POLICY_SECRETS_MAX)
		return -1;
	for (i = 0; i < nsec; i++) {
		if (!sec[i].phlen || sec[i].phlen > H1_PH_MAX)
			return -1;
		if (sec[i].phlen > h->phmax)
			h->phmax = sec[i].phlen;
	}
	h->first = nsec ? sec[0].ph[0] : -1;
	for (i = 1; i < nsec; i++)
		if (sec[i].ph[0] != sec[0].ph[0])
			h->first = -1;
	h->sec = sec;
	h->nsec = nsec;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->head = xmalloc(HTTP_HEAD_MAX);
	return 0;
}

/**
 * h1_free() - release a rewriter's buffers
 * @h:		rewriter
 */
void h1_free(struct h1 *h)
{
	h1_buf_free(&h->held);
	h1_buf_free(&h->body);
	h1_buf_free(&h->trailer);
	free(h->head);
	h->head = NULL;
}

/**
 * h1_match() - which secret's placeholder starts at a position
 * @h:		rewriter
 * @p:		bytes from the position on
 * @n:		their number
 *
 * Return: the secret's index, or -1
 */
static int h1_match(const struct h1 *h, const uint8_t *p, size_t n)
{
	size_t j;

	for (j = 0; j < h->nsec; j++)
		if (h->sec[j].phlen <= n &&
		    !memcmp(p, h->sec[j].ph, h->sec[j].phlen))
			return (int)j;
	return -1;
}

/**
 * h1_leak_in() - does a text hold the placeholder of a secret the
 * connection's name may not receive
 * @h:		rewriter; @leak set on a find
 * @p:		text
 * @n:		its length
 *
 * Return: true if it does
 */
static bool h1_leak_in(struct h1 *h, const uint8_t *p, size_t n)
{
	size_t j;

	for (j = 0; j < h->nsec; j++) {
		if (h->sec[j].allowed)
			continue;
		if (memmem(p, n, h->sec[j].ph, h->sec[j].phlen)) {
			h->leak = j;
			return true;
		}
	}
	return false;
}

/**
 * h1_subst() - copy text to output, replacing placeholders
 * @h:		rewriter
 * @p:		text
 * @n:		its length
 * @upto:	only placeholders starting before this offset are handled;
 *		the bytes from where handling stopped are not copied
 * @part:	SECRET_IN_* the text is (0: none, placeholders are kept)
 * @out:	output
 * @done:	set to the bytes of @p consumed (copied or replaced)
 * @hits:	bit j set when secret j was put in
 *
 * A placeholder of a secret the name may receive is replaced by its value
 * where the secret's replace_in has @part, else kept; of another secret,
 * it is a leak.
 *
 * Return: H1_OK, H1_LEAK or H1_TOO_LARGE
 */
static enum h1_result h1_subst(struct h1 *h, const uint8_t *p, size_t n,
			       size_t upto, unsigned part, struct h1_buf *out,
			       size_t *done, uint64_t *hits)
{
	size_t i = 0, last = 0;
	const uint8_t *m;
	int j;

	while (i < upto && h->nsec &&
	       (m = h->first >= 0 ? memchr(p + i, h->first, upto - i) :
		    p + i)) {
		i = (size_t)(m - p);
		j = h1_match(h, m, n - i);
		if (j < 0) {
			i++;
			continue;
		}
		if (!h->sec[j].allowed) {
			h->leak = (size_t)j;
			return H1_LEAK;
		}
		if (!(h->sec[j].replace_in & part)) {
			i += h->sec[j].phlen;
			continue;
		}
		if (h1_buf_put(out, p + last, i - last) ||
		    h1_buf_put(out, h->sec[j].val, h->sec[j].vlen))
			return H1_TOO_LARGE;
		*hits |= 1ULL << j;
		i += h->sec[j].phlen;
		last = i;
	}
	if (i < upto)
		i = upto;
	if (h1_buf_put(out, p + last, i - last))
		return H1_TOO_LARGE;
	*done = i;
	return H1_OK;
}

/**
 * h1_keep_from() - where the bytes to keep back start
 * @h:		rewriter
 * @p:		bytes
 * @n:		their number
 *
 * Only a tail that is the start of some placeholder is kept back (at most
 * phmax - 1 bytes): small messages after an upgrade are not delayed.
 *
 * Return: the offset of the first byte to keep, @n if none
 */
static size_t h1_keep_from(const struct h1 *h, const uint8_t *p, size_t n)
{
	size_t i = n > h->phmax - 1 ? n - (h->phmax - 1) : 0, j;

	if (!h->nsec)
		return n;
	for (; i < n; i++)
		for (j = 0; j < h->nsec; j++)
			if (n - i < h->sec[j].phlen &&
			    !memcmp(p + i, h->sec[j].ph, n - i))
				return i;
	return n;
}

/**
 * h1_stream() - a piece of a streamed body (or upgraded bytes), with the
 * bytes kept back from the last piece
 * @h:		rewriter
 * @p:		bytes
 * @n:		their number
 * @part:	SECRET_IN_BODY where placeholders are replaced, or 0
 * @final:	the body ends here: nothing is kept back
 * @out:	output
 * @hits:	as for h1_subst()
 *
 * Every placeholder that starts before the bytes kept back
 * (h1_keep_from()) lies whole in carry + @p; those bytes, at most
 * phmax - 1, wait for the next piece.
 *
 * Return: H1_OK, H1_LEAK or H1_TOO_LARGE
 */
static enum h1_result h1_stream(struct h1 *h, const uint8_t *p, size_t n,
				unsigned part, bool final, struct h1_buf *out,
				uint64_t *hits)
{
	size_t len = h->clen + n, cut, done = 0;
	enum h1_result r;
	uint8_t *tmp;

	if (!len)
		return H1_OK;
	tmp = xmalloc(len);
	memcpy(tmp, h->carry, h->clen);
	if (n)
		memcpy(tmp + h->clen, p, n);
	cut = final ? len : h1_keep_from(h, tmp, len);
	r = h1_subst(h, tmp, len, cut, part, out, &done, hits);
	if (r == H1_OK) {
		h->clen = len - done;
		if (h->clen > sizeof(h->carry))	/* cannot be: phmax - 1 */
			r = H1_MALFORMED;
		else
			memcpy(h->carry, tmp + done, h->clen);
	}
	explicit_bzero(tmp, len);
	free(tmp);
	return r;
}

/**
 * h1_pct_decode() - percent-decode a request target
 * @in:		target
 * @len:	its length
 * @out:	at least @len bytes
 *
 * Return: bytes written (a malformed escape is copied as it is)
 */
static size_t h1_pct_decode(const uint8_t *in, size_t len, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";
	const char *a, *b;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '%' && i + 2 < len && in[i + 1] && in[i + 2] &&
		    (a = strchr(hex, in[i + 1])) && (b = strchr(hex, in[i + 2]))) {
			out[n++] = (uint8_t)((((a - hex) & 15) << 4) |
					     ((b - hex) & 15));
			i += 2;
			continue;
		}
		out[n++] = in[i];
	}
	return n;
}

/**
 * h1_is() - is a header line's name this one
 * @line:	the line
 * @len:	its length
 * @name:	header name
 *
 * Return: true if @line is "NAME:" (any case)
 */
static bool h1_is(const uint8_t *line, size_t len, const char *name)
{
	size_t nl = strlen(name);

	return len > nl && line[nl] == ':' &&
	       !strncasecmp((const char *)line, name, nl);
}

/**
 * h1_basic() - an Authorization header with Basic credentials
 * @h:		rewriter
 * @line:	the header line, without its CRLF
 * @len:	its length
 * @out:	output: the line, credentials replaced, and CRLF
 * @hits:	as for h1_subst()
 *
 * Return: H1_OK, H1_LEAK, H1_TOO_LARGE; or H1_MALFORMED when the line is
 *	   not Basic credentials in base64 (the caller handles it as any
 *	   other header)
 */
static enum h1_result h1_basic(struct h1 *h, const uint8_t *line, size_t len,
			       struct h1_buf *out, uint64_t *hits)
{
	const uint8_t *v = line + strlen("Authorization:");
	const uint8_t *end = line + len;
	struct h1_buf dec = { 0 };
	uint8_t *raw = NULL;
	enum h1_result r;
	char *enc = NULL;
	size_t n, done;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	if (end - v < 6 || strncasecmp((const char *)v, "basic ", 6))
		return H1_MALFORMED;
	v += 6;
	while (v < end && *v == ' ')
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	raw = xmalloc((size_t)(end - v) + 4);
	n = h1_b64_decode(v, (size_t)(end - v), raw);
	if (n == SIZE_MAX) {
		free(raw);
		return H1_MALFORMED;
	}
	r = h1_subst(h, raw, n, n, SECRET_IN_HEADERS, &dec, &done, hits);
	if (r == H1_OK) {
		enc = xmalloc((dec.len + 2) / 3 * 4 + 1);
		h1_b64_encode(dec.p ? dec.p : (const uint8_t *)"", dec.len, enc);
		if (h1_buf_put(out, "Authorization: Basic ", 21) ||
		    h1_buf_put(out, enc, strlen(enc)) ||
		    h1_buf_put(out, "\r\n", 2))
			r = H1_TOO_LARGE;
		explicit_bzero(enc, strlen(enc));
	}
	explicit_bzero(raw, (size_t)(end - v) + 4);
	free(raw);
	free(enc);
	h1_buf_free(&dec);
	return r;
}

/**
 * h1_set_line() - the header a "set" secret puts on a request
 * @s:		secret
 * @out:	output
 *
 * Return: 0, or -1 if the output is full
 */
static int h1_set_line(const struct h1_secret *s, struct h1_buf *out)
{
	const char *at = strstr(s->set_value, "{secret}");

	if (!at)
		return -1;
	return h1_buf_put(out, s->set_header, strlen(s->set_header)) ||
	       h1_buf_put(out, ": ", 2) ||
	       h1_buf_put(out, s->set_value, (size_t)(at - s->set_value)) ||
	       h1_buf_put(out, s->val, s->vlen) ||
	       h1_buf_put(out, at + 8, strlen(at + 8)) ||
	       h1_buf_put(out, "\r\n", 2) ? -1 : 0;
}

/**
 * h1_count() - count the secrets put into one request
 * @h:		rewriter
 * @hits:	bit j for secret j
 */
static void h1_count(struct h1 *h, uint64_t hits)
{
	size_t j;

	for (j = 0; j < h->nsec; j++)
		if (hits & (1ULL << j))
			h->injected[j]++;
}

/**
 * h1_head() - a complete request head: checked, rewritten, and the body
 * that follows set up
 * @h:		rewriter, @head holding the head (@hlen bytes)
 * @out:	output (the head goes to @held instead while its body is
 *		buffered)
 *
 * Return: H1_OK or why the request is refused
 */
static enum h1_result h1_head(struct h1 *h, struct h1_buf *out)
{
	const uint8_t *p = h->head, *end = h->head + h->req.head_len;
	const uint8_t *sp1, *sp2, *eol;
	uint8_t *dec;
	bool replace = false, scan = false, buffer;
	struct h1_buf *dst;
	uint64_t hits = 0;
	enum h1_result r;
	size_t j, n, done;

	for (j = 0; j < h->nsec; j++) {
		if (h->sec[j].allowed && (h->sec[j].replace_in & SECRET_IN_BODY))
			replace = true;
		if (!h->sec[j].allowed)
			scan = true;
	}
	/* the head as sent, the target decoded */
	if (h1_leak_in(h, p, (size_t)(end - p)))
		return H1_LEAK;
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol)
		eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		return H1_MALFORMED;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp2)
		return H1_MALFORMED;
	dec = xmalloc((size_t)(sp2 - sp1));
	n = h1_pct_decode(sp1 + 1, (size_t)(sp2 - sp1 - 1), dec);
	r = h1_leak_in(h, dec, n) ? H1_LEAK : H1_OK;
	free(dec);
	if (r)
		return r;

	buffer = replace && h->req.body == HTTP_BODY_LENGTH;
	if (buffer && h->req.length > H1_BODY_MAX)
		return H1_TOO_LARGE;
	dst = buffer ? &h->held : out;

	/* the request line: the target is the query's part */
	r = h1_subst(h, p, (size_t)(eol - p), (size_t)(eol - p),
		     SECRET_IN_QUERY, dst, &done, &hits);
	if (r)
		return r;
	if (h1_buf_put(dst, "\r\n", 2))
		return H1_TOO_LARGE;
	p = *eol == '\r' ? eol + 2 : eol + 1;

	/* the header lines, up to the empty one */
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len, skip = 0;

		if (!nl)
			return H1_MALFORMED;
		len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (!len)
			break;
		for (j = 0; j < h->nsec; j++)
			if (h->sec[j].allowed && h->sec[j].set_header &&
			    h1_is(p, len, h->sec[j].set_header))
				skip = 1;
		if (buffer && (h1_is(p, len, "content-length") ||
			       h1_is(p, len, "expect")))
			skip = 1;
		if (!skip && h1_is(p, len, "authorization")) {
			r = h1_basic(h, p, len, dst, &hits);
			if (r == H1_OK)
				skip = 1;
			else if (r != H1_MALFORMED)
				return r;
		}
		if (!skip) {
			r = h1_subst(h, p, len, len, SECRET_IN_HEADERS, dst,
				     &done, &hits);
			if (r)
				return r;
			if (h1_buf_put(dst, "\r\n", 2))
				return H1_TOO_LARGE;
		}
		p = nl + 1;
	}
	for (j = 0; j < h->nsec; j++) {
		if (!h->sec[j].allowed || !h->sec[j].set_header)
			continue;
		if (h1_set_line(&h->sec[j], dst))
			return H1_TOO_LARGE;
		hits |= 1ULL << j;
	}
	h1_count(h, hits);
	h->requests++;
	h->replace = replace;
	h->scan = scan;
	h->clen = 0;
	if (!buffer && h1_buf_put(out, "\r\n", 2))
		return H1_TOO_LARGE;

	switch (h->req.body) {
	case HTTP_BODY_NONE:
		h->st = h->req.upgrade ? H1_ST_RAW : H1_ST_HEAD;
		break;
	case HTTP_BODY_LENGTH:
		h->left = h->req.length;
		h->st = buffer ? H1_ST_BUFFER : H1_ST_LENGTH;
		break;
	case HTTP_BODY_CHUNKED:
		h->cst = H1_CS_SIZE;
		h->csize = 0;
		h->cdigits = 0;
		h->st = H1_ST_CHUNKED;
		break;
	}
	return H1_OK;
}

/**
 * h1_body_done() - a body ended: the next request, or raw after an upgrade
 * @h:		rewriter
 */
static void h1_body_done(struct h1 *h)
{
	h->st = h->req.upgrade ? H1_ST_RAW : H1_ST_HEAD;
	h->clen = 0;
}

/**
 * h1_buffered() - a buffered body is complete: send head, length, body
 * @h:		rewriter
 * @out:	output
 *
 * Return: H1_OK, H1_LEAK or H1_TOO_LARGE
 */
static enum h1_result h1_buffered(struct h1 *h, struct h1_buf *out)
{
	struct h1_buf body = { 0 };
	uint64_t hits = 0;
	enum h1_result r;
	char cl[48];
	size_t done;

	r = h1_subst(h, h->body.p ? h->body.p : (const uint8_t *)"",
		     h->body.len, h->body.len, SECRET_IN_BODY, &body, &done,
		     &hits);
	if (r == H1_OK) {
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n",
			 body.len);
		if (h1_buf_put(out, h->held.p, h->held.len) ||
		    h1_buf_put(out, cl, strlen(cl)) ||
		    h1_buf_put(out, body.p, body.len))
			r = H1_TOO_LARGE;
	}
	h1_count(h, hits);
	h1_buf_free(&body);
	h1_buf_free(&h->held);
	h1_buf_free(&h->body);
	h1_body_done(h);
	return r;
}

/**
 * h1_chunk_out() - send streamed body bytes as one chunk of moat's own
 * @out:	output
 * @from:	where the bytes start in @out (already appended)
 *
 * The bytes were appended at @from; a size line goes in front, CRLF after.
 *
 * Return: 0, or -1 if the output is full
 */
static int h1_chunk_out(struct h1_buf *out, size_t from)
{
	size_t n = out->len - from;
	char line[24];
	int k;

	if (!n)
		return 0;
	k = snprintf(line, sizeof(line), "%zx\r\n", n);
	if (h1_buf_put(out, line, (size_t)k))	/* room; then move */
		return -1;
	memmove(out->p + from + k, out->p + from, n);
	memcpy(out->p + from, line, (size_t)k);
	return h1_buf_put(out, "\r\n", 2);
}

/**
 * h1_chunked() - bytes of a chunked body
 * @h:		rewriter
 * @in:		bytes
 * @len:	their number
 * @used:	set to the bytes taken (the body may end before @len)
 * @out:	output
 *
 * Return: H1_OK or why the request is refused
 */
static enum h1_result h1_chunked(struct h1 *h, const uint8_t *in, size_t len,
				 size_t *used, struct h1_buf *out)
{
	unsigned part = h->replace ? SECRET_IN_BODY : 0;
	uint64_t hits = 0;
	enum h1_result r;
	size_t i = 0, from, k;
	const char *c;

	while (i < len) {
		uint8_t b = in[i];

		switch (h->cst) {
		case H1_CS_SIZE:
			c = b ? strchr("0123456789abcdefABCDEF", b) : NULL;
			if (c) {
				if (++h->cdigits > 15)
					return H1_MALFORMED;
				h->csize = h->csize * 16 +
					   (uint64_t)(b <= '9' ? b - '0' :
						      (b | 0x20) - 'a' + 10);
			} else if (!h->cdigits) {
				return H1_MALFORMED;
			} else if (b == ';' || b == ' ' || b == '\t') {
				h->cst = H1_CS_EXT;
			} else if (b == '\r') {
				h->cst = H1_CS_SIZE_LF;
			} else {
				return H1_MALFORMED;
			}
			i++;
			break;
		case H1_CS_EXT:
			if (b == '\r')
				h->cst = H1_CS_SIZE_LF;
			else if (b == '\n' || b < 0x09)
				return H1_MALFORMED;
			i++;
			break;
		case H1_CS_SIZE_LF:
			if (b != '\n')
				return H1_MALFORMED;
			i++;
			if (h->csize) {
				h->left = h->csize;
				h->cst = H1_CS_DATA;
				break;
			}
			/* the last chunk: what is kept back goes, then the
			 * trailer section */
			from = out->len;
			r = h1_stream(h, NULL, 0, part, true, out, &hits);
			h1_count(h, hits);
			hits = 0;
			if (r)
				return r;
			if (h1_chunk_out(out, from))
				return H1_TOO_LARGE;
			h->cst = H1_CS_TRAILER;
			h->trailer.len = 0;
			break;
		case H1_CS_DATA:
			k = len - i < h->left ? len - i : (size_t)h->left;
			from = out->len;
			r = h1_stream(h, in + i, k, part, false, out, &hits);
			if (r)
				return r;
			if (h1_chunk_out(out, from))
				return H1_TOO_LARGE;
			i += k;
			h->left -= k;
			if (!h->left)
				h->cst = H1_CS_DATA_CR;
			break;
		case H1_CS_DATA_CR:
			if (b != '\r')
				return H1_MALFORMED;
			h->cst = H1_CS_DATA_LF;
			i++;
			break;
		case H1_CS_DATA_LF:
			if (b != '\n')
				return H1_MALFORMED;
			h->cst = H1_CS_SIZE;
			h->csize = 0;
			h->cdigits = 0;
			i++;
			break;
		case H1_CS_TRAILER:
			if (h->trailer.len >= H1_TRAILER_MAX)
				return H1_TOO_LARGE;
			h1_buf_put(&h->trailer, &b, 1);
			i++;
			k = h->trailer.len;
			if ((k == 2 && !memcmp(h->trailer.p, "\r\n", 2)) ||
			    (k >= 4 && !memcmp(h->trailer.p + k - 4,
					       "\r\n\r\n", 4))) {
				if (h1_leak_in(h, h->trailer.p, k))
					return H1_LEAK;
				if (h1_buf_put(out, "0\r\n", 3) ||
				    h1_buf_put(out, h->trailer.p, k))
					return H1_TOO_LARGE;
				h1_buf_free(&h->trailer);
				h1_count(h, hits);
				*used = i;
				h1_body_done(h);
				return H1_OK;
			}
			break;
		}
	}
	h1_count(h, hits);
	*used = i;
	return H1_OK;
}

/**
 * h1_head_end() - judge the head being read at each place it may end
 * @h:		rewriter; @hscan: where the next place is looked for
 * @len:	bytes in @head
 *
 * http_request_head() is asked about the bytes up to each empty line in
 * turn (leading empty lines aside), and at HTTP_HEAD_MAX: the verdict
 * does not depend on how the bytes came.
 *
 * Return: its first verdict other than HTTP_NEED_MORE, or HTTP_NEED_MORE
 */
static enum http_result h1_head_end(struct h1 *h, size_t len)
{
	enum http_result hr;
	size_t i = h->hscan, start = 0;

	while (start < len && (h->head[start] == '\r' || h->head[start] == '\n'))
		start++;
	if (i < start)
		i = start;
	for (; i < len; i++) {
		size_t end;

		if (h->head[i] != '\n')
			continue;
		if (i + 1 < len && h->head[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < len && h->head[i + 1] == '\r' &&
			 h->head[i + 2] == '\n')
			end = i + 3;
		else if (i + 2 >= len)
			break;	/* may be one: wait for its bytes */
		else
			continue;
		hr = http_request_head(h->head, end, &h->req);
		if (hr != HTTP_NEED_MORE)
			return hr;
	}
	h->hscan = i;
	if (len == HTTP_HEAD_MAX)
		return http_request_head(h->head, len, &h->req);
	return HTTP_NEED_MORE;
}

static enum h1_result h1_seam(struct h1 *h, const struct h1_buf *out,
			      size_t start);
static enum h1_result h1_feed_one(struct h1 *h, const uint8_t *in, size_t len,
				  struct h1_buf *out);

/**
 * h1_feed() - rewrite bytes the client sent
 * @h:		rewriter
 * @in:		bytes, as they came
 * @len:	their number
 * @out:	what goes to the server is appended (possibly nothing yet:
 *		a head, a buffered body, a tail kept back)
 *
 * On anything but H1_OK the connection's client direction is over: the
 * caller refuses the request and sends nothing more (what this call
 * appended to @out included).
 *
 * Return: H1_OK, or why the request is refused
 */
enum h1_result h1_feed(struct h1 *h, const uint8_t *in, size_t len,
		       struct h1_buf *out)
{
	size_t start = out->len;
	enum h1_result r;

	r = h1_feed_one(h, in, len, out);
	if (r == H1_OK)
		r = h1_seam(h, out, start);
	return r;
}

/**
 * h1_body() - a piece of a body framed elsewhere (an HTTP/2 stream's DATA)
 * @h:		rewriter used for that body alone
 * @in:		bytes
 * @len:	their number
 * @final:	the body ends here: nothing is kept back
 * @out:	output
 *
 * As a streamed HTTP/1.1 body: a secret's placeholder becomes its value
 * where the name may receive it and its replace_in has the body, another
 * secret's is a leak; a tail that may start a placeholder is kept back,
 * and what is sent is searched across the seam.
 *
 * Return: H1_OK, H1_LEAK or H1_TOO_LARGE
 */
enum h1_result h1_body(struct h1 *h, const uint8_t *in, size_t len,
		       bool final, struct h1_buf *out)
{
	size_t start = out->len;
	uint64_t hits = 0;
	enum h1_result r;

	r = h1_stream(h, in, len, SECRET_IN_BODY, final, out, &hits);
	h1_count(h, hits);
	if (r == H1_OK)
		r = h1_seam(h, out, start);
	return r;
}

/**
 * h1_idle() - the client has nothing more to send for now
 * @h:		rewriter
 * @out:	output
 *
 * After an upgrade, the bytes kept back (the start of what may be a
 * placeholder) go now: a message must not wait for the next one. A
 * placeholder completed later is still refused, across the seam
 * (h1_seam()). In a body, the framing says when it ends: nothing is done.
 *
 * Return: H1_OK, or H1_LEAK
 */
enum h1_result h1_idle(struct h1 *h, struct h1_buf *out)
{
	size_t start = out->len;
	uint64_t hits = 0;
	enum h1_result r;

	if (h->st != H1_ST_RAW || !h->clen)
		return H1_OK;
	r = h1_stream(h, NULL, 0, 0, true, out, &hits);
	if (r == H1_OK)
		r = h1_seam(h, out, start);
	return r;
}

/**
 * h1_seam() - no placeholder across what was sent before and now
 * @h:		rewriter; @tail: the last bytes it sent
 * @out:	output
 * @start:	where this call's bytes start in @out
 *
 * Each part of a request is searched on its own; a body that ends with
 * the start of a placeholder and a next request (or upgraded bytes) that
 * starts with its rest would put it whole into the server's stream. The
 * bytes sent are searched again here, with the tail of the ones before.
 *
 * Return: H1_OK, or H1_LEAK
 */
static enum h1_result h1_seam(struct h1 *h, const struct h1_buf *out,
			      size_t start)
{
	uint8_t j[2 * H1_PH_MAX];
	size_t n = out->len - start, k, keep;

	if (!n || !h->nsec)
		return H1_OK;
	k = n < h->phmax ? n : h->phmax;
	memcpy(j, h->tail, h->tlen);
	memcpy(j + h->tlen, out->p + start, k);
	if (h1_leak_in(h, j, h->tlen + k) ||
	    h1_leak_in(h, out->p + start, n))
		return H1_LEAK;
	keep = h->phmax - 1;
	if (n >= keep) {
		memcpy(h->tail, out->p + out->len - keep, keep);
		h->tlen = keep;
	} else {
		size_t old = h->tlen + n > keep ? keep - n : h->tlen;

		memmove(h->tail, h->tail + h->tlen - old, old);
		memcpy(h->tail + old, out->p + start, n);
		h->tlen = old + n;
	}
	return H1_OK;
}

/**
 * h1_feed_one() - the body of h1_feed()
 * @h:		rewriter
 * @in:		bytes
 * @len:	their number
 * @out:	output
 *
 * Return: H1_OK, or why the request is refused
 */
static enum h1_result h1_feed_one(struct h1 *h, const uint8_t *in, size_t len,
				  struct h1_buf *out)
{
	uint64_t hits = 0;
	enum h1_result r;
	size_t i = 0, k, used;

	while (i < len) {
		switch (h->st) {
		case H1_ST_HEAD: {
			enum http_result hr;

			k = len - i;
			if (k > HTTP_HEAD_MAX - h->hlen)
				k = HTTP_HEAD_MAX - h->hlen;
			memcpy(h->head + h->hlen, in + i, k);
			hr = h1_head_end(h, h->hlen + k);
			if (hr == HTTP_NEED_MORE) {
				h->hlen += k;
				i += k;
				if (h->hlen == HTTP_HEAD_MAX)
					return H1_TOO_LARGE;
				break;
			}
			if (hr == HTTP_TOO_LARGE)
				return H1_TOO_LARGE;
			if (hr == HTTP_MALFORMED)
				return H1_MALFORMED;
			if (hr == HTTP_HOST_MISMATCH)
				return H1_HOST_MISMATCH;
			if (hr != HTTP_OK)
				return H1_REFUSED;
			if (strcmp(h->req.host, h->host))
				return H1_HOST_MISMATCH;
			/* the bytes of this head in this piece */
			if (h->req.head_len <= h->hlen ||
			    h->req.head_len > h->hlen + k)
				return H1_MALFORMED;
			i += h->req.head_len - h->hlen;
			h->hlen = 0;
			h->hscan = 0;
			r = h1_head(h, out);
			if (r)
				return r;
			break;
		}
		case H1_ST_LENGTH:
			k = len - i < h->left ? len - i : (size_t)h->left;
			if (h->scan) {
				r = h1_stream(h, in + i, k, 0, k == h->left,
					      out, &hits);
				if (r)
					return r;
			} else if (h1_buf_put(out, in + i, k)) {
				return H1_TOO_LARGE;
			}
			i += k;
			h->left -= k;
			if (!h->left)
				h1_body_done(h);
			break;
		case H1_ST_BUFFER:
			k = len - i < h->left ? len - i : (size_t)h->left;
			if (h1_buf_put(&h->body, in + i, k))
				return H1_TOO_LARGE;
			i += k;
			h->left -= k;
			if (!h->left) {
				r = h1_buffered(h, out);
				if (r)
					return r;
			}
			break;
		case H1_ST_CHUNKED:
			r = h1_chunked(h, in + i, len - i, &used, out);
			if (r)
				return r;
			i += used;
			break;
		case H1_ST_RAW:
			r = h1_stream(h, in + i, len - i, 0, false, out, &hits);
			if (r)
				return r;
			i = len;
			break;
		default:
			return H1_MALFORMED;
		}
	}
	return H1_OK;
}
