// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_h1.c - the HTTP/1.1 request rewriter of intercepted connections:
 * secrets put in where allowed, placeholders elsewhere refused by every
 * route (headers, Basic credentials, query, percent-encoding, bodies of
 * both framings, split at every byte)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "h1.h"
#include "intercept.h"

#define PH_A	"moat-secret-A-0123456789abcdef0123456789abcdef"
#define PH_B	"moat-secret-B-fedcba9876543210fedcba9876543210"
#define VAL_A	"sk-real-A"
#define VAL_B	"real-B-longer-than-its-placeholder-is-not-but-fine"

/**
 * secrets() - two secrets: A for api.test (headers, query, body), B for
 * b.test (set Authorization)
 * @sec:	filled in
 * @host:	the connection's name
 */
static void secrets(struct h1_secret sec[2], const char *host)
{
	memset(sec, 0, 2 * sizeof(*sec));
	sec[0].ph = (const uint8_t *)PH_A;
	sec[0].phlen = strlen(PH_A);
	sec[0].val = (const uint8_t *)VAL_A;
	sec[0].vlen = strlen(VAL_A);
	sec[0].allowed = !strcmp(host, "api.test");
	sec[0].replace_in = SECRET_IN_HEADERS | SECRET_IN_QUERY | SECRET_IN_BODY;
	sec[1].ph = (const uint8_t *)PH_B;
	sec[1].phlen = strlen(PH_B);
	sec[1].val = (const uint8_t *)VAL_B;
	sec[1].vlen = strlen(VAL_B);
	sec[1].allowed = !strcmp(host, "b.test");
	sec[1].set_header = "Authorization";
	sec[1].set_value = "Bearer {secret}";
}

/**
 * run() - feed a request in pieces of @step bytes (0: whole)
 * @host:	the connection's name
 * @req:	the request bytes
 * @step:	piece size
 * @out:	set to the output (to be freed), NUL-terminated
 * @h_out:	if not NULL, the rewriter's counters are copied here
 *
 * Return: the first result that is not H1_OK, or H1_OK
 */
static enum h1_result run(const char *host, const char *req, size_t step,
			  char **out, struct h1 *h_out)
{
	struct h1_secret sec[2];
	struct h1_buf o = { 0 };
	size_t len = strlen(req), i, k;
	enum h1_result r = H1_OK;
	struct h1 h;

	secrets(sec, host);
	assert_int_equal(h1_init(&h, sec, 2, host), 0);
	for (i = 0; i < len && r == H1_OK; i += k) {
		k = step && len - i > step ? step : len - i;
		r = h1_feed(&h, (const uint8_t *)req + i, k, &o);
	}
	*out = malloc(o.len + 1);
	memcpy(*out, o.p ? o.p : (uint8_t *)"", o.len);
	(*out)[o.len] = '\0';
	if (h_out)
		*h_out = h;
	else
		h1_free(&h);
	h1_buf_free(&o);
	return r;
}

/**
 * every_split() - a request gives the same result and output whole and in
 * pieces of every size from 1 byte
 * @host:	name
 * @req:	request
 * @want:	expected result
 * @want_out:	expected output for H1_OK, else NULL
 */
static void every_split(const char *host, const char *req, enum h1_result want,
			const char *want_out)
{
	size_t step, len = strlen(req);
	char *out;

	for (step = 0; step <= len; step++) {
		enum h1_result r = run(host, req, step, &out, NULL);

		if (r != want || (want_out && strcmp(out, want_out))) {
			fprintf(stderr, "step %zu: %s, output:\n%s\n", step,
				h1_result_str(r), out);
			fail();
		}
		if (want != H1_OK)	/* the placeholder never went out */
			assert_null(strstr(out, "moat-secret-"));
		free(out);
	}
}

/**
 * test_headers() - a placeholder in a header to its own host becomes the
 * value; Basic credentials too; "set" replaces the client's header
 * @state:	unused
 */
static void test_headers(void **state)
{
	struct h1 h;
	char *out;

	every_split("api.test",
		    "GET /x HTTP/1.1\r\nHost: api.test\r\nX-Key: " PH_A "\r\n\r\n",
		    H1_OK,
		    "GET /x HTTP/1.1\r\nHost: api.test\r\nX-Key: " VAL_A "\r\n\r\n");
	/* user:PH_A in base64, and user:VAL_A back */
	every_split("api.test",
		    "GET / HTTP/1.1\r\nHost: api.test\r\nAuthorization: Basic "
		    "dXNlcjptb2F0LXNlY3JldC1BLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm"
		    "\r\n\r\n",
		    H1_OK,
		    "GET / HTTP/1.1\r\nHost: api.test\r\nAuthorization: Basic dXNlcjpzay1yZWFsLUE=\r\n\r\n");
	every_split("b.test",
		    "GET / HTTP/1.1\r\nHost: b.test\r\nauthorization: Bearer whatever\r\n\r\n",
		    H1_OK,
		    "GET / HTTP/1.1\r\nHost: b.test\r\nAuthorization: Bearer " VAL_B "\r\n\r\n");
	/* its own placeholder to b.test stays (set does not replace) */
	assert_int_equal(run("b.test", "GET /?k=" PH_B " HTTP/1.1\r\nHost: b.test\r\n\r\n",
			     0, &out, &h), H1_OK);
	assert_non_null(strstr(out, "GET /?k=" PH_B " HTTP/1.1"));
	assert_int_equal(h.injected[1], 1);
	assert_int_equal(h.injected[0], 0);
	h1_free(&h);
	free(out);
	/* query */
	every_split("api.test",
		    "GET /v1?key=" PH_A "&x=1 HTTP/1.1\r\nHost: api.test\r\n\r\n",
		    H1_OK,
		    "GET /v1?key=" VAL_A "&x=1 HTTP/1.1\r\nHost: api.test\r\n\r\n");
}

/**
 * test_leaks() - a placeholder to another host is refused by every route,
 * at every split
 * @state:	unused
 */
static void test_leaks(void **state)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.1\r\nHost: other.test\r\nX-Key: " PH_A "\r\n\r\n",
		"GET /?k=" PH_A " HTTP/1.1\r\nHost: other.test\r\n\r\n",
		"GET /?k=moat%2dsecret%2DA-0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: other.test\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: other.test\r\nAuthorization: Basic "
		"dXNlcjptb2F0LXNlY3JldC1BLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVm\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: other.test\r\nCookie: a=" PH_B "\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: other.test\r\nContent-Length: 52\r\n\r\nxxxxx" PH_A "x",
		"POST / HTTP/1.1\r\nHost: other.test\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nmoat-\r\n3\r\nsec\r\n26\r\nret-A-0123456789abcdef0123456789abcdef\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: other.test\r\nTransfer-Encoding: chunked\r\n\r\n"
		"0\r\nX-Trailer: " PH_A "\r\n\r\n",
		/* a second request on the same connection */
		"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n"
		"GET / HTTP/1.1\r\nHost: other.test\r\nX: " PH_A "\r\n\r\n",
		/* to the host of B, A's placeholder */
		"GET / HTTP/1.1\r\nHost: b.test\r\nX-Key: " PH_A "\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		const char *host = strstr(reqs[i], "b.test") ? "b.test" :
				   "other.test";
		struct h1 h;
		char *out;

		every_split(host, reqs[i], H1_LEAK, NULL);
		assert_int_equal(run(host, reqs[i], 0, &out, &h), H1_LEAK);
		assert_int_equal(h.leak, strstr(reqs[i], "Cookie") ? 1 : 0);
		h1_free(&h);
		free(out);
	}
	/* the same placeholder to its own host is no leak */
	every_split("api.test",
		    "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "5\r\nmoat-\r\n3\r\nsec\r\n26\r\nret-A-0123456789abcdef0123456789abcdef\r\n0\r\n\r\n",
		    H1_OK, NULL);
}

/**
 * test_bodies() - replacement in a Content-Length body (buffered, its
 * length recomputed) and a chunked one (re-chunked)
 * @state:	unused
 */
static void test_bodies(void **state)
{
	char *out;

	every_split("api.test",
		    "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 54\r\nExpect: 100-continue\r\n\r\n"
		    "{\"k\":\"" PH_A "\"}",
		    H1_OK,
		    "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 17\r\n\r\n"
		    "{\"k\":\"" VAL_A "\"}");
	assert_int_equal(run("api.test",
			     "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "2e\r\n" PH_A "\r\n0\r\n\r\n", 0, &out, NULL), H1_OK);
	assert_string_equal(out,
			    "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n"
			    "9\r\n" VAL_A "\r\n0\r\n\r\n");
	free(out);
	/* a body too large to buffer for replacement */
	assert_int_equal(run("api.test",
			     "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 99999999\r\n\r\n",
			     0, &out, NULL), H1_TOO_LARGE);
	free(out);
}

/**
 * test_refusals() - the Host must be the connection's name; what http.c
 * refuses is refused; garbage is malformed
 * @state:	unused
 */
static void test_refusals(void **state)
{
	char *out;

	assert_int_equal(run("api.test", "GET / HTTP/1.1\r\nHost: other.test\r\nX: " PH_A "\r\n\r\n",
			     0, &out, NULL), H1_HOST_MISMATCH);
	assert_null(strstr(out, VAL_A));
	free(out);
	assert_int_equal(run("api.test", "GET http://other.test/ HTTP/1.1\r\nHost: api.test\r\n\r\n",
			     0, &out, NULL), H1_HOST_MISMATCH);
	free(out);
	assert_int_equal(run("api.test", "GET / HTTP/1.1\r\n\r\n", 0, &out, NULL),
			 H1_REFUSED);
	free(out);
	assert_int_equal(run("api.test", "\x16\x03\x01garbage\r\n\r\n", 0, &out, NULL),
			 H1_MALFORMED);
	free(out);
	assert_int_equal(run("api.test",
			     "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
			     0, &out, NULL), H1_MALFORMED);
	free(out);
}

/**
 * test_upgrade() - after an upgrade, bytes pass as they come: a tail that
 * may start a placeholder is kept back until the client is idle
 * (h1_idle()), and a placeholder completed across that seam is refused
 * @state:	unused
 */
static void test_upgrade(void **state)
{
	static const char head[] =
		"GET /ws HTTP/1.1\r\nHost: other.test\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n\r\n";
	struct h1_secret sec[2];
	struct h1_buf o = { 0 };
	struct h1 h;

	secrets(sec, "other.test");
	assert_int_equal(h1_init(&h, sec, 2, "other.test"), 0);
	assert_int_equal(h1_feed(&h, (const uint8_t *)head, strlen(head), &o), H1_OK);
	assert_int_equal(h1_feed(&h, (const uint8_t *)"hello moat-sec", 14, &o), H1_OK);
	assert_int_equal(o.len, strlen(head) + 6);	/* "moat-sec" kept back */
	assert_int_equal(h1_idle(&h, &o), H1_OK);
	assert_int_equal(o.len, strlen(head) + 14);	/* idle: it goes */
	assert_int_equal(h1_feed(&h, (const uint8_t *)"ret-A-0123456789abcdef0123456789abcdef",
				 38, &o), H1_LEAK);	/* completed across the seam */
	h1_free(&h);
	h1_buf_free(&o);
}

/**
 * test_b64() - the base64 helpers
 * @state:	unused
 */
static void test_b64(void **state)
{
	uint8_t dec[16];
	char enc[16];

	assert_int_equal(h1_b64_encode((const uint8_t *)"ab", 2, enc), 4);
	assert_string_equal(enc, "YWI=");
	assert_int_equal(h1_b64_decode((const uint8_t *)"YWI=", 4, dec), 2);
	assert_memory_equal(dec, "ab", 2);
	assert_int_equal(h1_b64_decode((const uint8_t *)"Y!", 2, dec), SIZE_MAX);
}

/**
 * plain_body() - a plain-HTTP body through intercept_body_scan() in
 * pieces of @step bytes, as fwd_proxy.c reads it: kept-back bytes given
 * again first, the rest "sent"
 * @h:		searcher (every secret refused)
 * @chunked:	chunked framing, else Content-Length
 * @body:	the body's data
 * @step:	bytes per read
 * @sent:	set to what was sent (NUL-terminated, 1024 bytes)
 *
 * Return: the secret found, or -1
 */
static int plain_body(struct h1 *h, bool chunked, const char *body,
		      size_t step, char *sent)
{
	char head[128], raw[512];
	uint8_t held[1024], cb[2048];
	struct http_body b, start, from, kfrom;
	struct http_request req;
	size_t rlen, i, hl = 0, flen = 0, used, keep, half = strlen(body) / 2;
	int k = -1;

	if (chunked) {
		snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
		snprintf(raw, sizeof(raw), "%zx\r\n%.*s\r\n%zx;ext=1\r\n%s\r\n0\r\nT: x\r\n\r\n",
			 half, (int)half, body, strlen(body) - half, body + half);
	} else {
		snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n",
			 strlen(body));
		snprintf(raw, sizeof(raw), "%s", body);
	}
	assert_int_equal(http_request_head((const uint8_t *)head, strlen(head), &req), HTTP_OK);
	http_body_init(&b, &req);
	rlen = strlen(raw);
	for (i = 0; i < rlen && k < 0; i += step) {
		size_t n = rlen - i < step ? rlen - i : step;

		start = b;
		from = hl ? kfrom : start;
		memcpy(cb, held, hl);
		memcpy(cb + hl, raw + i, n);
		http_body_scan(&b, cb + hl, n, &used);
		assert_int_equal(used, n);
		k = intercept_body_scan(h, &from, cb, hl + used, &keep, &kfrom);
		if (k >= 0)
			break;
		memcpy(sent + flen, cb, hl + used - keep);
		flen += hl + used - keep;
		memcpy(held, cb + hl + used - keep, keep);
		hl = keep;
	}
	sent[flen] = '\0';
	return k;
}

/**
 * test_plain_bodies() - plain HTTP: a placeholder in a body, split at any
 * byte, in either framing, is found, and never sent whole or in part; a
 * body without one goes whole
 * @state:	unused
 */
static void test_plain_bodies(void **state)
{
	static const char ph[] = "moat-secret-API_KEY-0123456789abcdef0123456789abcdef";
	struct h1_secret sec[1] = { { .ph = (const uint8_t *)ph, .phlen = sizeof(ph) - 1 } };
	char body[256], sent[1024];
	struct h1 h;
	size_t step;
	int chunked;

	(void)state;
	snprintf(body, sizeof(body), "xxxxxxxxxxxxxx%sxyz", ph);
	for (chunked = 0; chunked < 2; chunked++) {
		for (step = 1; step <= strlen(body) + 40; step++) {
			assert_int_equal(h1_init(&h, sec, 1, ""), 0);
			assert_int_equal(plain_body(&h, chunked, body, step, sent), 0);
			assert_null(strstr(sent, "moat-"));
			h1_free(&h);
			/* control: the same body with the placeholder's
			 * start but not all of it goes whole */
			assert_int_equal(h1_init(&h, sec, 1, ""), 0);
			assert_int_equal(plain_body(&h, chunked, "xxmoat-secret-API_KEY-01yy", step, sent), -1);
			if (!chunked)
				assert_string_equal(sent, "xxmoat-secret-API_KEY-01yy");
			else
				assert_non_null(strstr(sent, "T: x\r\n\r\n"));
			h1_free(&h);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_leaks),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_plain_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
