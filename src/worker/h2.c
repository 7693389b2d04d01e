// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * h2.c - HTTP/2 between an intercepted client and its server
 *
 * Theory of operation
 * -------------------
 * When a client of an intercepted name offers "h2" and the name's server
 * accepts it too (intercept.c holds the client's handshake until its own
 * with the server is done, so that it knows), the connection is relayed
 * here, with Debian's libnghttp2 doing the framing, HPACK and flow
 * control: one session as the server of the client (@s), one as the
 * client of the server (@u), each request a stream on both.
 *
 * A request's header fields are checked and rewritten by the very code
 * that rewrites HTTP/1.1 (h1.c): they are written as an HTTP/1.1 head
 * (":method :path HTTP/1.1", "Host: :authority", the fields; a request
 * with a body announces none there), given to a fresh rewriter, and its
 * output read back into fields. So the checks are the same: the authority
 * must be the connection's name, a placeholder of a secret the name may
 * not receive anywhere (a field, the path also percent-decoded, Basic
 * credentials) refuses the request, and placeholders are replaced or
 * headers set as for HTTP/1.1. A refused request gets a 403 on its stream
 * ("x-moat-denied: secret-leak", ...) and never reaches the server; the
 * connection's other streams go on.
 *
 * A request's DATA pass through h1_body(): the same search with the bytes
 * kept back at the end of each frame, the same seam check, so a
 * placeholder split across frames is seen whole; a leak there resets both
 * streams (what went before the placeholder may have left). Where a
 * placeholder in a body is replaced, the request's content-length is
 * dropped (HTTP/2 frames bodies itself). Responses pass as they come, a
 * secret's value in a field or a DATA frame overwritten with '*'.
 *
 * Bounds: H2_STREAMS_MAX concurrent streams (announced to the client),
 * H2_FIELDS_MAX bytes of fields per request, H2_QUEUE_MAX bytes queued in
 * a stream each way (beyond, both streams are reset); nghttp2's own
 * limits for the rest.
 */
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "common.h"
#include "h2.h"
#include "proxy.h"

/**
 * struct h2_field - a header field
 * @name:	name (lower case)
 * @value:	value
 * @nlen:	length of @name
 * @vlen:	length of @value
 */
struct h2_field {
	char *name;
	char *value;
	size_t nlen;
	size_t vlen;
};

/**
 * struct h2_stream - one request on both sessions
 * @used:	slot in use
 * @cid:	its stream on the client's session
 * @uid:	its stream on the server's session, 0 before it is sent
 * @req:	the request's fields, as received
 * @nreq:	their number
 * @reqbytes:	their size
 * @resp:	the response's fields, as received (or its trailers)
 * @nresp:	their number
 * @respbytes:	their size
 * @trailers:	@resp holds trailers to send after the body
 * @body:	the rewriter of the request's DATA
 * @up:		request body waiting for the server's session
 * @up_off:	bytes of @up taken
 * @up_eof:	the request body ended
 * @down:	response body waiting for the client's session
 * @down_off:	bytes of @down taken
 * @down_eof:	the response body ended
 * @answered:	a response (or a refusal) was submitted to the client
 * @refused:	the request was refused: its DATA are dropped
 */
struct h2_stream {
	bool used;
	int32_t cid;
	int32_t uid;
	struct h2_field *req;
	size_t nreq;
	size_t reqbytes;
	struct h2_field *resp;
	size_t nresp;
	size_t respbytes;
	bool trailers;
	struct h1 body;
	struct h1_buf up;
	size_t up_off;
	bool up_eof;
	struct h1_buf down;
	size_t down_off;
	bool down_eof;
	bool answered;
	bool refused;
};

/**
 * h2_fields_free() - release a list of fields
 * @f:		fields
 * @n:		their number
 */
static void h2_fields_free(struct h2_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		explicit_bzero(f[i].value, f[i].vlen);
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
}

/**
 * h2_field_add() - append a field to a list
 * @f:		list
 * @n:		its length
 * @bytes:	its size, bounded by H2_FIELDS_MAX
 * @name:	name
 * @nlen:	its length
 * @value:	value
 * @vlen:	its length
 *
 * Return: 0, or -1 past H2_FIELDS_MAX
 */
static int h2_field_add(struct h2_field **f, size_t *n, size_t *bytes,
			const uint8_t *name, size_t nlen, const uint8_t *value,
			size_t vlen)
{
	struct h2_field *e;

	if (nlen + vlen + 32 > H2_FIELDS_MAX - *bytes)
		return -1;
	*bytes += nlen + vlen + 32;
	*f = xrealloc(*f, (*n + 1) * sizeof(**f));
	e = &(*f)[(*n)++];
	e->name = xmalloc(nlen + 1);
	memcpy(e->name, name, nlen);
	e->name[nlen] = '\0';
	e->value = xmalloc(vlen + 1);
	memcpy(e->value, value, vlen);
	e->value[vlen] = '\0';
	e->nlen = nlen;
	e->vlen = vlen;
	return 0;
}

/**
 * h2_stream_free() - release a stream's slot
 * @st:		stream
 */
static void h2_stream_free(struct h2_stream *st)
{
	h2_fields_free(st->req, st->nreq);
	h2_fields_free(st->resp, st->nresp);
	h1_free(&st->body);
	h1_buf_free(&st->up);
	h1_buf_free(&st->down);
	memset(st, 0, sizeof(*st));
}

/**
 * h2_compact() - drop what was taken from the front of a queue
 * @b:		queue
 * @off:	bytes of it taken, reset
 */
static void h2_compact(struct h1_buf *b, size_t *off)
{
	if (!*off)
		return;
	memmove(b->p, b->p + *off, b->len - *off);
	b->len -= *off;
	*off = 0;
}

/**
 * h2_mask() - overwrite every secret's value in a buffer with '*'
 * @h:		relay
 * @p:		bytes
 * @n:		their number
 */
static void h2_mask(struct h2 *h, uint8_t *p, size_t n)
{
	uint8_t *m;
	size_t j;

	for (j = 0; j < h->nsec; j++) {
		size_t i = 0;

		while (i < n && h->sec[j].vlen &&
		       (m = memmem(p + i, n - i, h->sec[j].val, h->sec[j].vlen))) {
			memset(m, '*', h->sec[j].vlen);
			h->masked++;
			i = (size_t)(m - p) + h->sec[j].vlen;
		}
	}
}

/**
 * h2_refuse() - answer a request with a 403, never sending it on
 * @h:		relay
 * @st:		its stream
 * @r:		reason (enum proxy_reason)
 * @secret:	the secret of a secret-leak, or -1
 * @res:	the rewriter's result
 */
static void h2_refuse(struct h2 *h, struct h2_stream *st, enum proxy_reason r,
		      int secret, enum h1_result res)
{
	const char *reason = proxy_reason_str(r);
	nghttp2_nv nv[] = {
		{ (uint8_t *)":status", (uint8_t *)"403", 7, 3,
		  NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"x-moat-denied", (uint8_t *)reason, 13,
		  strlen(reason), NGHTTP2_NV_FLAG_NONE },
	};

	if (secret >= 0 && (size_t)secret < h->nsec)
		h->leaked[secret]++;
	else
		h->refused++;
	if (h->on_refuse)
		h->on_refuse(h->arg, r, secret, res);
	st->refused = true;
	if (st->uid > 0)
		nghttp2_submit_rst_stream(h->u, NGHTTP2_FLAG_NONE, st->uid,
					  NGHTTP2_CANCEL);
	if (!st->answered) {
		st->answered = true;
		nghttp2_submit_response(h->s, st->cid, nv, ARRAY_SIZE(nv), NULL);
	} else {
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->cid,
					  NGHTTP2_CANCEL);
	}
}

/**
 * h2_reason() - the proxy's reason for a rewriter's refusal
 * @r:		result
 *
 * Return: enum proxy_reason
 */
static enum proxy_reason h2_reason(enum h1_result r)
{
	return r == H1_LEAK ? PROXY_DENY_SECRET_LEAK :
	       r == H1_HOST_MISMATCH ? PROXY_DENY_HOST_MISMATCH :
	       r == H1_TOO_LARGE ? PROXY_DENY_HTTP_TOO_LARGE :
	       PROXY_DENY_HTTP_MALFORMED;
}

/**
 * h2_up_read() - nghttp2 takes request body bytes for the server
 * @session:	the server's session
 * @stream_id:	its stream
 * @buf:	where to copy
 * @length:	room
 * @flags:	NGHTTP2_DATA_FLAG_EOF at the end
 * @source:	the stream
 * @user_data:	relay
 *
 * Return: bytes, or NGHTTP2_ERR_DEFERRED while none wait
 */
static ssize_t h2_up_read(nghttp2_session *session, int32_t stream_id,
			  uint8_t *buf, size_t length, uint32_t *flags,
			  nghttp2_data_source *source, void *user_data)
{
	struct h2_stream *st = source->ptr;
	size_t n = st->up.len - st->up_off;

	(void)session;
	(void)stream_id;
	(void)user_data;
	if (n > length)
		n = length;
	if (n)
		memcpy(buf, st->up.p + st->up_off, n);
	st->up_off += n;
	if (st->up_off == st->up.len) {
		if (st->up.p)
			explicit_bzero(st->up.p, st->up.len);
		st->up.len = st->up_off = 0;
		if (st->up_eof)
			*flags |= NGHTTP2_DATA_FLAG_EOF;
		else if (!n)
			return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/**
 * h2_nv() - nghttp2 name/value pairs for fields
 * @f:		fields
 * @n:		their number
 *
 * Return: an allocated array (the strings are @f's)
 */
static nghttp2_nv *h2_nv(const struct h2_field *f, size_t n)
{
	nghttp2_nv *nv = xcalloc(n ? n : 1, sizeof(*nv));
	size_t i;

	for (i = 0; i < n; i++) {
		nv[i].name = (uint8_t *)f[i].name;
		nv[i].value = (uint8_t *)f[i].value;
		nv[i].namelen = f[i].nlen;
		nv[i].valuelen = f[i].vlen;
		nv[i].flags = NGHTTP2_NV_FLAG_NONE;
	}
	return nv;
}

/**
 * h2_forbidden() - a field HTTP/2 does not carry (connection-specific)
 * @name:	lower-case name
 *
 * Return: true for connection, keep-alive, proxy-connection,
 *	   transfer-encoding, upgrade, host (the authority carries it)
 */
static bool h2_forbidden(const char *name)
{
	static const char *const no[] = {
		"connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "host",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(no); i++)
		if (!strcmp(name, no[i]))
			return true;
	return false;
}

/**
 * h2_request() - a request's fields are complete: check, rewrite, send on
 * @h:		relay
 * @st:		its stream
 * @body:	DATA follow
 */
static void h2_request(struct h2 *h, struct h2_stream *st, bool body)
{
	const char *method = NULL, *path = NULL, *auth = NULL, *scheme = NULL;
	struct h1_buf head = { 0 }, out = { 0 };
	struct h2_field *f = NULL;
	size_t nf = 0, bytes = 0, i, j;
	bool replace = false;
	nghttp2_data_provider prd;
	nghttp2_nv *nv;
	enum h1_result r;
	struct h1 rw;
	const uint8_t *p, *end, *nl;
	int32_t id;

	for (i = 0; i < st->nreq; i++) {
		const struct h2_field *e = &st->req[i];

		if (!strcmp(e->name, ":method"))
			method = e->value;
		else if (!strcmp(e->name, ":path"))
			path = e->value;
		else if (!strcmp(e->name, ":authority"))
			auth = e->value;
		else if (!strcmp(e->name, ":scheme"))
			scheme = e->value;
	}
	if (!method || !path || !scheme || !strcmp(method, "CONNECT")) {
		h2_refuse(h, st, PROXY_DENY_HTTP_MALFORMED, -1, H1_MALFORMED);
		return;
	}
	for (j = 0; j < h->nsec; j++)
		if (h->sec[j].allowed && (h->sec[j].replace_in & SECRET_IN_BODY))
			replace = true;

	/* the request as an HTTP/1.1 head, for h1.c's checks */
	h1_buf_put(&head, method, strlen(method));
	h1_buf_put(&head, " ", 1);
	h1_buf_put(&head, path, strlen(path));
	h1_buf_put(&head, " HTTP/1.1\r\n", 11);
	for (i = 0; i < st->nreq; i++) {
		const struct h2_field *e = &st->req[i];

		if (e->name[0] == ':') {
			if (strcmp(e->name, ":authority"))
				continue;
			h1_buf_put(&head, "Host: ", 6);
		} else if (!strcmp(e->name, "host")) {
			if (auth)
				continue;	/* the authority is the host */
			h1_buf_put(&head, "Host: ", 6);
		} else if (!strcmp(e->name, "content-length") ||
			   h2_forbidden(e->name)) {
			continue;	/* no body in this head */
		} else {
			h1_buf_put(&head, e->name, e->nlen);
			h1_buf_put(&head, ": ", 2);
		}
		h1_buf_put(&head, e->value, e->vlen);
		h1_buf_put(&head, "\r\n", 2);
	}
	h1_buf_put(&head, "\r\n", 2);

	if (h1_init(&rw, h->sec, h->nsec, h->host)) {
		h1_buf_free(&head);
		h2_refuse(h, st, PROXY_DENY_HTTP_MALFORMED, -1, H1_MALFORMED);
		return;
	}
	r = h1_feed(&rw, head.p, head.len, &out);
	if (r == H1_OK && rw.st != 0)	/* the whole head, and nothing more */
		r = H1_MALFORMED;
	for (j = 0; j < h->nsec; j++)
		h->injected[j] += rw.injected[j];
	if (r != H1_OK) {
		h2_refuse(h, st, h2_reason(r), r == H1_LEAK ? (int)rw.leak : -1, r);
		goto out;
	}

	/* and back into fields: the pseudo-headers first */
	p = out.p;
	end = out.p + out.len;
	nl = memchr(p, '\n', (size_t)(end - p));
	{
		const uint8_t *sp1 = memchr(p, ' ', (size_t)(nl - p));
		const uint8_t *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) :
				     NULL;

		if (!sp2) {
			h2_refuse(h, st, PROXY_DENY_HTTP_MALFORMED, -1, H1_MALFORMED);
			goto out;
		}
		h2_field_add(&f, &nf, &bytes, (const uint8_t *)":method", 7, p,
			     (size_t)(sp1 - p));
		h2_field_add(&f, &nf, &bytes, (const uint8_t *)":scheme", 7,
			     (const uint8_t *)scheme, strlen(scheme));
		h2_field_add(&f, &nf, &bytes, (const uint8_t *)":authority", 10,
			     (const uint8_t *)h->host, strlen(h->host));
		h2_field_add(&f, &nf, &bytes, (const uint8_t *)":path", 5,
			     sp1 + 1, (size_t)(sp2 - sp1 - 1));
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		const uint8_t *colon, *v;
		size_t len, k;
		char name[256];

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (!len)
			break;
		colon = memchr(p, ':', len);
		if (!colon || colon == p || (size_t)(colon - p) >= sizeof(name))
			continue;
		for (k = 0; k < (size_t)(colon - p); k++)
			name[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
		name[k] = '\0';
		if (h2_forbidden(name))
			continue;
		for (v = colon + 1; v < p + len && (*v == ' ' || *v == '\t'); v++)
			;
		if (h2_field_add(&f, &nf, &bytes, (const uint8_t *)name, k, v,
				 (size_t)(p + len - v))) {
			h2_refuse(h, st, PROXY_DENY_HTTP_TOO_LARGE, -1, H1_TOO_LARGE);
			goto out;
		}
	}
	/* HTTP/2 frames the body: a length the replacements would falsify
	 * is dropped, another kept */
	for (i = 0; body && !replace && i < st->nreq; i++)
		if (!strcmp(st->req[i].name, "content-length"))
			h2_field_add(&f, &nf, &bytes, (const uint8_t *)"content-length",
				     14, (const uint8_t *)st->req[i].value,
				     st->req[i].vlen);

	if (h1_init(&st->body, h->sec, h->nsec, h->host)) {
		h2_refuse(h, st, PROXY_DENY_HTTP_MALFORMED, -1, H1_MALFORMED);
		goto out;
	}
	nv = h2_nv(f, nf);
	prd.source.ptr = st;
	prd.read_callback = h2_up_read;
	id = nghttp2_submit_request(h->u, NULL, nv, nf, body ? &prd : NULL, st);
	free(nv);
	if (id < 0) {
		h2_refuse(h, st, PROXY_FAIL_CONNECT, -1, H1_MALFORMED);
		goto out;
	}
	st->uid = id;
	st->up_eof = !body;
	h->requests++;
out:
	h2_fields_free(f, nf);
	h2_fields_free(st->req, st->nreq);
	st->req = NULL;
	st->nreq = 0;
	h1_free(&rw);
	h1_buf_free(&head);
	h1_buf_free(&out);
}

/**
 * h2_by_cid() - the stream of a client's stream id
 * @h:		relay
 * @id:		its id
 *
 * Return: the stream, or NULL
 */
static struct h2_stream *h2_by_cid(struct h2 *h, int32_t id)
{
	size_t i;

	for (i = 0; i < H2_STREAMS_MAX; i++)
		if (h->st[i].used && h->st[i].cid == id)
			return &h->st[i];
	return NULL;
}

/* ------------------------------------------------------------------------
 * The client's session
 */

static int h2_s_begin_headers(nghttp2_session *session,
			      const nghttp2_frame *frame, void *user_data)
{
	struct h2 *h = user_data;
	size_t i;

	(void)session;
	if (frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	for (i = 0; i < H2_STREAMS_MAX; i++)
		if (!h->st[i].used)
			break;
	if (i == H2_STREAMS_MAX) {
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE,
					  frame->hd.stream_id,
					  NGHTTP2_REFUSED_STREAM);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	memset(&h->st[i], 0, sizeof(h->st[i]));
	h->st[i].used = true;
	h->st[i].cid = frame->hd.stream_id;
	return 0;
}

static int h2_s_header(nghttp2_session *session, const nghttp2_frame *frame,
		       const uint8_t *name, size_t namelen,
		       const uint8_t *value, size_t valuelen, uint8_t flags,
		       void *user_data)
{
	struct h2 *h = user_data;
	struct h2_stream *st = h2_by_cid(h, frame->hd.stream_id);

	(void)session;
	(void)flags;
	if (!st || st->refused)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
		/* request trailers: searched, then dropped */
		struct h1_buf o = { 0 };
		uint8_t tr[2 * 1024];
		size_t n = valuelen < sizeof(tr) ? valuelen : sizeof(tr);

		memcpy(tr, value, n);
		if (h1_body(&st->body, tr, n, false, &o) == H1_LEAK)
			h2_refuse(h, st, PROXY_DENY_SECRET_LEAK,
				  (int)st->body.leak, H1_LEAK);
		h1_buf_free(&o);
		return 0;
	}
	if (h2_field_add(&st->req, &st->nreq, &st->reqbytes, name, namelen,
			 value, valuelen))
		h2_refuse(h, st, PROXY_DENY_HTTP_TOO_LARGE, -1, H1_TOO_LARGE);
	return 0;
}

static int h2_s_data(nghttp2_session *session, uint8_t flags,
		     int32_t stream_id, const uint8_t *data, size_t len,
		     void *user_data)
{
	struct h2 *h = user_data;
	struct h2_stream *st = h2_by_cid(h, stream_id);
	enum h1_result r;

	(void)session;
	(void)flags;
	if (!st || st->refused || st->uid <= 0)
		return 0;
	h2_compact(&st->up, &st->up_off);
	r = h1_body(&st->body, data, len, false, &st->up);
	if (r == H1_OK && st->up.len > H2_QUEUE_MAX)
		r = H1_TOO_LARGE;
	if (r != H1_OK) {
		h2_refuse(h, st, h2_reason(r),
			  r == H1_LEAK ? (int)st->body.leak : -1, r);
		return 0;
	}
	nghttp2_session_resume_data(h->u, st->uid);
	return 0;
}

static int h2_s_frame(nghttp2_session *session, const nghttp2_frame *frame,
		      void *user_data)
{
	struct h2 *h = user_data;
	struct h2_stream *st = h2_by_cid(h, frame->hd.stream_id);
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;

	(void)session;
	if (!st || st->refused)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_REQUEST)
		h2_request(h, st, !end);
	else if (end && (frame->hd.type == NGHTTP2_DATA ||
			 frame->hd.type == NGHTTP2_HEADERS) && st->uid > 0) {
		enum h1_result r = h1_body(&st->body, NULL, 0, true, &st->up);

		if (r != H1_OK) {
			h2_refuse(h, st, h2_reason(r),
				  r == H1_LEAK ? (int)st->body.leak : -1, r);
			return 0;
		}
		st->up_eof = true;
		nghttp2_session_resume_data(h->u, st->uid);
	}
	return 0;
}

static int h2_s_close(nghttp2_session *session, int32_t stream_id,
		      uint32_t error_code, void *user_data)
{
	struct h2 *h = user_data;
	struct h2_stream *st = h2_by_cid(h, stream_id);

	(void)session;
	(void)error_code;
	if (!st)
		return 0;
	if (st->uid > 0 &&
	    nghttp2_session_get_stream_user_data(h->u, st->uid) == st) {
		nghttp2_session_set_stream_user_data(h->u, st->uid, NULL);
		nghttp2_submit_rst_stream(h->u, NGHTTP2_FLAG_NONE, st->uid,
					  NGHTTP2_CANCEL);
	}
	h2_stream_free(st);
	return 0;
}

/* ------------------------------------------------------------------------
 * The server's session
 */

/**
 * h2_down_read() - nghttp2 takes response body bytes for the client
 * @session:	the client's session
 * @stream_id:	its stream
 * @buf:	where to copy
 * @length:	room
 * @flags:	NGHTTP2_DATA_FLAG_EOF at the end (and NO_END_STREAM before
 *		trailers)
 * @source:	the stream
 * @user_data:	relay
 *
 * Return: bytes, or NGHTTP2_ERR_DEFERRED while none wait
 */
static ssize_t h2_down_read(nghttp2_session *session, int32_t stream_id,
			    uint8_t *buf, size_t length, uint32_t *flags,
			    nghttp2_data_source *source, void *user_data)
{
	struct h2_stream *st = source->ptr;
	size_t n = st->down.len - st->down_off;

	(void)user_data;
	if (n > length)
		n = length;
	if (n)
		memcpy(buf, st->down.p + st->down_off, n);
	st->down_off += n;
	if (st->down_off == st->down.len) {
		st->down.len = st->down_off = 0;
		if (st->down_eof) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (st->trailers && st->nresp) {
				nghttp2_nv *nv = h2_nv(st->resp, st->nresp);

				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
				nghttp2_submit_trailer(session, stream_id, nv,
						       st->nresp);
				free(nv);
			}
		} else if (!n) {
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

static int h2_u_header(nghttp2_session *session, const nghttp2_frame *frame,
		       const uint8_t *name, size_t namelen,
		       const uint8_t *value, size_t valuelen, uint8_t flags,
		       void *user_data)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session,
						frame->hd.stream_id);
	struct h2 *h = user_data;

	(void)flags;
	if (!st || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && !st->trailers) {
		/* trailers: the fields collected so far were sent */
		h2_fields_free(st->resp, st->nresp);
		st->resp = NULL;
		st->nresp = st->respbytes = 0;
		st->trailers = true;
	}
	if (h2_field_add(&st->resp, &st->nresp, &st->respbytes, name, namelen,
			 value, valuelen))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	h2_mask(h, (uint8_t *)st->resp[st->nresp - 1].value, valuelen);
	return 0;
}

static int h2_u_data(nghttp2_session *session, uint8_t flags,
		     int32_t stream_id, const uint8_t *data, size_t len,
		     void *user_data)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session,
								    stream_id);
	struct h2 *h = user_data;
	size_t at;

	(void)flags;
	if (!st)
		return 0;
	h2_compact(&st->down, &st->down_off);
	if (st->down.len + len > H2_QUEUE_MAX) {
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id,
					  NGHTTP2_CANCEL);
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->cid,
					  NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	at = st->down.len;
	h1_buf_put(&st->down, data, len);
	h2_mask(h, st->down.p + at, len);
	nghttp2_session_resume_data(h->s, st->cid);
	return 0;
}

static int h2_u_frame(nghttp2_session *session, const nghttp2_frame *frame,
		      void *user_data)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session,
						frame->hd.stream_id);
	struct h2 *h = user_data;
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
	nghttp2_data_provider prd;
	nghttp2_nv *nv;
	size_t i;

	if (!st)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS &&
	    frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
		/* an interim response (1xx) is not passed on */
		for (i = 0; i < st->nresp; i++)
			if (!strcmp(st->resp[i].name, ":status") &&
			    st->resp[i].value[0] == '1') {
				h2_fields_free(st->resp, st->nresp);
				st->resp = NULL;
				st->nresp = st->respbytes = 0;
				return 0;
			}
		if (st->answered)
			return 0;
		st->answered = true;
		nv = h2_nv(st->resp, st->nresp);
		prd.source.ptr = st;
		prd.read_callback = h2_down_read;
		nghttp2_submit_response(h->s, st->cid, nv, st->nresp,
					end ? NULL : &prd);
		free(nv);
		h2_fields_free(st->resp, st->nresp);
		st->resp = NULL;
		st->nresp = st->respbytes = 0;
	}
	if (end && (frame->hd.type == NGHTTP2_DATA ||
		    frame->hd.type == NGHTTP2_HEADERS)) {
		st->down_eof = true;
		nghttp2_session_resume_data(h->s, st->cid);
	}
	return 0;
}

static int h2_u_close(nghttp2_session *session, int32_t stream_id,
		      uint32_t error_code, void *user_data)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(session,
								    stream_id);
	struct h2 *h = user_data;

	if (!st)
		return 0;
	/* a stream moat reset itself (a refusal) was answered already */
	if (error_code != NGHTTP2_NO_ERROR && !st->down_eof && !st->refused)
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->cid,
					  error_code);
	nghttp2_session_set_stream_user_data(session, stream_id, NULL);
	st->uid = -1;
	return 0;
}

/* ------------------------------------------------------------------------
 * The relay
 */

/**
 * h2_init() - the HTTP/2 relay of one connection
 * @h:		relay
 * @sec:	the secrets as this connection sees them (kept)
 * @nsec:	their number
 * @host:	the connection's name
 *
 * Return: 0, or -1
 */
int h2_init(struct h2 *h, const struct h1_secret *sec, size_t nsec,
	    const char *host)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_STREAMS_MAX },
	};
	nghttp2_session_callbacks *cs = NULL, *cu = NULL;
	nghttp2_session *s = NULL, *u = NULL;
	int ret = -1;

	memset(h, 0, sizeof(*h));
	h->sec = sec;
	h->nsec = nsec;
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->st = xcalloc(H2_STREAMS_MAX, sizeof(*h->st));
	if (nghttp2_session_callbacks_new(&cs) ||
	    nghttp2_session_callbacks_new(&cu))
		goto out;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cs, h2_s_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cs, h2_s_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cs, h2_s_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cs, h2_s_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cs, h2_s_close);
	nghttp2_session_callbacks_set_on_header_callback(cu, h2_u_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cu, h2_u_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cu, h2_u_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cu, h2_u_close);
	if (nghttp2_session_server_new(&s, cs, h) ||
	    nghttp2_session_client_new(&u, cu, h) ||
	    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, ARRAY_SIZE(iv)) ||
	    nghttp2_submit_settings(u, NGHTTP2_FLAG_NONE, NULL, 0))
		goto out;
	h->s = s;
	h->u = u;
	s = u = NULL;
	ret = 0;
out:
	nghttp2_session_del(s);
	nghttp2_session_del(u);
	nghttp2_session_callbacks_del(cs);
	nghttp2_session_callbacks_del(cu);
	if (ret) {
		free(h->st);
		h->st = NULL;
	}
	return ret;
}

/**
 * h2_free() - release the relay
 * @h:		relay
 */
void h2_free(struct h2 *h)
{
	size_t i;

	nghttp2_session_del(h->s);
	nghttp2_session_del(h->u);
	for (i = 0; h->st && i < H2_STREAMS_MAX; i++)
		if (h->st[i].used)
			h2_stream_free(&h->st[i]);
	free(h->st);
	memset(h, 0, sizeof(*h));
}

/**
 * h2_from_client() - bytes the client sent (decrypted)
 * @h:		relay
 * @p:		bytes
 * @n:		their number
 *
 * Return: 0, or -1 if the client broke the protocol (the connection ends)
 */
int h2_from_client(struct h2 *h, const uint8_t *p, size_t n)
{
	return nghttp2_session_mem_recv(h->s, p, n) < 0 ? -1 : 0;
}

/**
 * h2_from_server() - bytes the server sent (decrypted)
 * @h:		relay
 * @p:		bytes
 * @n:		their number
 *
 * Return: 0, or -1 if the server broke the protocol
 */
int h2_from_server(struct h2 *h, const uint8_t *p, size_t n)
{
	return nghttp2_session_mem_recv(h->u, p, n) < 0 ? -1 : 0;
}

/**
 * h2_send() - what a session has to send
 * @s:		session
 * @out:	appended to
 *
 * Return: 0, or -1
 */
static int h2_send(nghttp2_session *s, struct h1_buf *out)
{
	const uint8_t *d;
	ssize_t n;

	while ((n = nghttp2_session_mem_send(s, &d)) > 0)
		if (h1_buf_put(out, d, (size_t)n))
			return -1;
	return n < 0 ? -1 : 0;
}

/**
 * h2_to_client() - frames for the client
 * @h:		relay
 * @out:	appended to
 *
 * Return: 0, or -1
 */
int h2_to_client(struct h2 *h, struct h1_buf *out)
{
	return h2_send(h->s, out);
}

/**
 * h2_to_server() - frames for the server
 * @h:		relay
 * @out:	appended to
 *
 * Return: 0, or -1
 */
int h2_to_server(struct h2 *h, struct h1_buf *out)
{
	return h2_send(h->u, out);
}

/**
 * h2_done() - neither session wants anything more
 * @h:		relay
 *
 * Return: true once both are over (a GOAWAY each way, or an error)
 */
bool h2_done(const struct h2 *h)
{
	return (!nghttp2_session_want_read(h->s) &&
		!nghttp2_session_want_write(h->s)) ||
	       (!nghttp2_session_want_read(h->u) &&
		!nghttp2_session_want_write(h->u));
}

/**
 * h2_queued() - body bytes waiting in the streams, either way
 * @h:		relay
 *
 * Return: bytes
 */
size_t h2_queued(const struct h2 *h)
{
	size_t i, n = 0;

	for (i = 0; i < H2_STREAMS_MAX; i++)
		if (h->st[i].used)
			n += h->st[i].up.len - h->st[i].up_off +
			     h->st[i].down.len - h->st[i].down_off;
	return n;
}
