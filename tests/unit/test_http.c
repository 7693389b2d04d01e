// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_http.c - unit tests of the HTTP request-head parser and the body
 * follower: requests curl sent (fuzz/corpus/http), Host and absolute-form
 * authority per RFC 3986 (userinfo, ports, IPv6 and numeric literals),
 * agreement of the two, smuggling-prone framing refused, every prefix of a
 * head waiting for more, and keep-alive boundaries after Content-Length
 * and chunked bodies, fed whole and byte by byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http.h"

/**
 * head() - parse a NUL-terminated request head
 * @s:		request
 * @req:	results
 *
 * Return: the parser's result
 */
static enum http_result head(const char *s, struct http_request *req)
{
	return http_request_head((const uint8_t *)s, strlen(s), req);
}

/**
 * expect_host() - a request is accepted and names @host:@port
 * @s:		request
 * @host:	expected host
 * @port:	expected port
 */
static void expect_host(const char *s, const char *host, uint16_t port)
{
	struct http_request r;
	size_t i;

	assert_int_equal(head(s, &r), HTTP_OK);
	assert_string_equal(r.host, host);
	assert_int_equal(r.port, port);
	assert_int_equal(r.head_len, strlen(s));
	for (i = 0; i < strlen(s); i++)
		assert_int_equal(http_request_head((const uint8_t *)s, i, &r),
				 HTTP_NEED_MORE);
}

static void test_forms(void **state)
{
	(void)state;
	expect_host("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		    "example.com", 0);
	expect_host("GET /a?b HTTP/1.1\r\nhOsT:   Example.COM.:8080  \r\n\r\n",
		    "example.com", 8080);
	expect_host("GET http://github.com/x HTTP/1.1\r\n\r\n", "github.com", 0);
	expect_host("GET HTTP://github.com:80?q HTTP/1.1\r\nHost: github.com\r\n\r\n",
		    "github.com", 80);
	expect_host("GET https://github.com:443 HTTP/1.1\r\n"
		    "Host: github.com:443\r\n\r\n", "github.com", 443);
	expect_host("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n",
		    "a.example", 0);
	expect_host("\r\n\r\nGET / HTTP/1.0\r\nHost: a.example:\r\n\r\n",
		    "a.example", 0);
	expect_host("POST /p HTTP/1.1\r\nHost: a.example\r\nX-Empty:\r\n"
		    "User-Agent: t\t\r\n\r\n", "a.example", 0);
}

static void test_refusals(void **state)
{
	static const struct { const char *req; enum http_result r; } c[] = {
		{ "GET http://allowed.example@evil.example/ HTTP/1.1\r\n\r\n",
		  HTTP_USERINFO },
		{ "GET http://u:p@allowed.example/ HTTP/1.1\r\n\r\n",
		  HTTP_USERINFO },
		{ "GET / HTTP/1.1\r\nHost: allowed.example@evil.example\r\n\r\n",
		  HTTP_USERINFO },
		{ "GET http://evil.example/ HTTP/1.1\r\nHost: allowed.example\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET http://a.example:81/ HTTP/1.1\r\nHost: a.example:80\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET / HTTP/1.1\r\n\r\n", HTTP_NO_HOST },
		{ "GET / HTTP/1.0\r\n\r\n", HTTP_NO_HOST },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", HTTP_NO_HOST },
		{ "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", HTTP_NO_HOST },
		{ "GET http:///x HTTP/1.1\r\nHost: a.example\r\n\r\n", HTTP_NO_HOST },
		{ "GET / HTTP/1.1\r\nHost: 1.2.3.4\r\n\r\n", HTTP_HOST_IP },
		{ "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", HTTP_HOST_IP },
		{ "GET / HTTP/1.1\r\nHost: 2130706433\r\n\r\n", HTTP_HOST_IP },
		{ "GET http://[2001:db8::1]/ HTTP/1.1\r\n\r\n", HTTP_HOST_IP },
		{ "GET http://0x7f.1/ HTTP/1.1\r\n\r\n", HTTP_HOST_IP },
		{ "GET / HTTP/1.1\r\nHost: -a.example\r\n\r\n", HTTP_HOST_INVALID },
		{ "GET http://a-.example/ HTTP/1.1\r\n\r\n", HTTP_HOST_INVALID },
		/* an address literal names no host: it must not stand beside
		 * a name given in the other place */
		{ "GET http://1.2.3.4/ HTTP/1.1\r\nHost: 1.2.3.4\r\n\r\n",
		  HTTP_HOST_IP },
		{ "GET http://[2001:db8::1]/ HTTP/1.1\r\nHost: 1.2.3.4\r\n\r\n",
		  HTTP_HOST_IP },
		{ "GET http://evil.example/ HTTP/1.1\r\nHost: 1.2.3.4\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET http://1.2.3.4/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET http://[::1]:80/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET http://evil.example/ HTTP/1.1\r\nHost: [::1]\r\n\r\n",
		  HTTP_HOST_MISMATCH },
		{ "GET http://1.2.3.4/ HTTP/1.1\r\nHost: a@evil.example\r\n\r\n",
		  HTTP_USERINFO },
		{ "GET / HTTP/1.1\r\nHost: ev%69l.example\r\n\r\n",
		  HTTP_HOST_INVALID },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP_HOST_INVALID },
		{ "GET / HTTP/1.1\r\nHost: a.example:65536\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example:0\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example:8o\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\n folded\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost : a.example\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1\r\n"
		  "Content-Length: 1\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nContent-Length: -1\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1,1\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\n"
		  "Transfer-Encoding: gzip, chunked\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.0\r\nHost: a.example\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\r\nHost: a.example\r\nX: a\001b\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET  / HTTP/1.1\r\nHost: a.example\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/1.2\r\nHost: a.example\r\n\r\n", HTTP_MALFORMED },
		{ "GET / HTTP/2.0\r\nHost: a.example\r\n\r\n", HTTP_MALFORMED },
		{ "GET a.example HTTP/1.1\r\nHost: a.example\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET * HTTP/1.1\r\nHost: a.example\r\n\r\n", HTTP_MALFORMED },
		{ "GET ftp://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
		  HTTP_MALFORMED },
		{ "GET /\xff HTTP/1.1\r\nHost: a.example\r\n\r\n", HTTP_MALFORMED },
		{ "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example\r\n\r\n",
		  HTTP_CONNECT },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_H2 },
		{ "\x16\x03\x01\x02\x00\x01", HTTP_MALFORMED },
		{ "GET / HTTP/1.1\nHost: a.example\n\n", HTTP_MALFORMED },
		{ " GET / HTTP/1.1\r\n", HTTP_MALFORMED },
	};
	struct http_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		enum http_result got = head(c[i].req, &r);

		if (got != c[i].r)
			fail_msg("case %zu: %s: got %s, want %s", i, c[i].req,
				 http_result_str(got), http_result_str(c[i].r));
	}
}

static void test_too_large(void **state)
{
	struct http_request r;
	char *big = malloc(HTTP_HEAD_MAX + 64);
	size_t n;

	(void)state;
	assert_non_null(big);
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: a.example\r\nX: ");
	memset(big + n, 'a', HTTP_HEAD_MAX + 64 - n);
	assert_int_equal(http_request_head((uint8_t *)big, HTTP_HEAD_MAX - 1, &r),
			 HTTP_NEED_MORE);
	assert_int_equal(http_request_head((uint8_t *)big, HTTP_HEAD_MAX, &r),
			 HTTP_TOO_LARGE);
	assert_int_equal(http_request_head((uint8_t *)big, HTTP_HEAD_MAX + 64,
					   &r), HTTP_TOO_LARGE);
	free(big);
}

static void test_flags(void **state)
{
	struct http_request r;

	(void)state;
	assert_int_equal(head("GET / HTTP/1.1\r\nHost: a.example\r\n"
			      "Connection: keep-alive, Close\r\n\r\n", &r), HTTP_OK);
	assert_true(r.close);
	assert_int_equal(head("GET / HTTP/1.0\r\nHost: a.example\r\n\r\n", &r),
			 HTTP_OK);
	assert_true(r.close);
	assert_int_equal(head("GET / HTTP/1.0\r\nHost: a.example\r\n"
			      "Connection: Keep-Alive\r\n\r\n", &r), HTTP_OK);
	assert_false(r.close);
	assert_int_equal(head("GET /ws HTTP/1.1\r\nHost: a.example\r\n"
			      "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			      &r), HTTP_OK);
	assert_true(r.upgrade);
	assert_false(r.close);
	assert_int_equal(r.body, HTTP_BODY_NONE);
}

/**
 * stream() - walk a keep-alive stream: heads, bodies, hosts in order
 * @s:		the stream
 * @n:		its length
 * @hosts:	NULL-terminated expected hosts
 * @bytewise:	feed bodies one byte at a time
 */
static void stream(const char *s, size_t n, const char *const *hosts,
		   bool bytewise)
{
	struct http_request r;
	struct http_body b;
	size_t off = 0, used, k = 0;

	while (off < n) {
		assert_int_equal(http_request_head((const uint8_t *)s + off,
						   n - off, &r), HTTP_OK);
		assert_non_null(hosts[k]);
		assert_string_equal(r.host, hosts[k++]);
		off += r.head_len;
		http_body_init(&b, &r);
		if (!bytewise) {
			assert_int_equal(http_body_scan(&b, (const uint8_t *)s + off,
							n - off, &used), HTTP_OK);
			off += used;
			continue;
		}
		for (;;) {
			enum http_result res;

			res = http_body_scan(&b, (const uint8_t *)s + off, 1,
					     &used);
			if (res == HTTP_OK && !used)
				break;
			assert_int_equal(used, 1);
			off++;
			if (res == HTTP_OK)
				break;
			assert_int_equal(res, HTTP_NEED_MORE);
		}
	}
	assert_null(hosts[k]);
}

static void test_keepalive(void **state)
{
	static const char s[] =
		"POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 28\r\n\r\n"
		"GET / HTTP/1.1\r\nHost: evil\r\n"	/* body, not a request */
		"POST /b HTTP/1.1\r\nHost: b.example\r\n"
		"Transfer-Encoding: chunked\r\n\r\n"
		"5;ext=1\r\nhello\r\n1B\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
		"\r\n0\r\nTrailer: yes\r\n\r\n"
		"GET /c HTTP/1.1\r\nHost: c.example\r\nContent-Length: 0\r\n\r\n"
		"GET /d HTTP/1.1\r\nHost: d.example\r\n\r\n";
	static const char *const hosts[] = {
		"a.example", "b.example", "c.example", "d.example", NULL,
	};

	(void)state;
	stream(s, sizeof(s) - 1, hosts, false);
	stream(s, sizeof(s) - 1, hosts, true);
}

static void test_chunked_errors(void **state)
{
	static const char *const bad[] = {
		"x\r\n", "\r\n", "5\nhello\r\n", "5\r\nhelloX", "5\r\nhello\r\r",
		"1234567890abcdef\r\n", "0\r\nBad Trailer\r\n\r\n",
		"0\r\n\r\r", "5;\001\r\n",
	};
	struct http_request r = { .body = HTTP_BODY_CHUNKED };
	struct http_body b;
	size_t i, used;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_body_init(&b, &r);
		if (http_body_scan(&b, (const uint8_t *)bad[i], strlen(bad[i]),
				   &used) != HTTP_MALFORMED)
			fail_msg("chunked case %zu accepted", i);
	}

	/* Opaque data is reported so it can be spliced, then skipped */
	http_body_init(&b, &r);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"10\r\n", 4, &used),
			 HTTP_NEED_MORE);
	assert_int_equal(http_body_opaque(&b), 16);
	http_body_skip(&b, 10);
	assert_int_equal(http_body_opaque(&b), 6);
	http_body_skip(&b, 6);
	assert_int_equal(http_body_opaque(&b), 0);
	assert_int_equal(http_body_scan(&b, (const uint8_t *)"\r\n0\r\n\r\nGET",
					10, &used), HTTP_OK);
	assert_int_equal(used, 7);
}

static void test_corpus(void **state)
{
	static const struct { const char *f; const char *host; } c[] = {
		{ "http-get", "example.com" },
		{ "http-post", "example.com" },
		{ "http-proxyform", NULL },
	};
	const char *src = getenv("MOAT_SRCDIR");
	struct http_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char path[4096], buf[4096];
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/fuzz/corpus/http/%s",
			 src ? src : MOAT_SRCDIR, c[i].f);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (c[i].host) {
			assert_int_equal(http_request_head((uint8_t *)buf, n, &r),
					 HTTP_OK);
			assert_string_equal(r.host, c[i].host);
		} else {
			/* curl -x http://user:pw@example.com/: userinfo is
			 * sent as Proxy-Authorization, the target is clean */
			assert_int_equal(http_request_head((uint8_t *)buf, n, &r),
					 HTTP_OK);
			assert_string_equal(r.host, "example.com");
		}
	}
}

/**
 * start() - http_request_start() of a NUL-terminated string
 * @s:		bytes
 *
 * Return: its result
 */
static enum http_result start(const char *s)
{
	return http_request_start((const uint8_t *)s, strlen(s));
}

/**
 * test_request_start() - HTTP told from other protocols by the grammar
 * @state:	unused
 *
 * Every prefix of a request line may still become one; any method token
 * and leading empty lines count; a line ending after its target, or bytes
 * no token starts, are another protocol. What reaches "HTTP/" is then
 * judged by http_request_head(), which names the same host the server
 * will see (the leading empty lines skipped).
 */
static void test_request_start(void **state)
{
	static const char *const req[] = {
		"GET / HTTP/1.1\r\n",
		"PROPFIND /dav HTTP/1.1\r\n",
		"QUERY /q HTTP/1.1\r\n",
		"X-ANY.TOKEN~ * HTTP/1.0\r\n",
		"\r\n\r\nGET / HTTP/1.1\r\n",
		"\nGET / HTTP/1.1\r\n",
		"GET  /\tHTTP/1.1\r\n",		/* lenient servers take it */
		"get / http/9.9\r\n",
		"PRI * HTTP/2.0\r\n",
		"GET /a b HTTP/1.1\r\n",		/* nginx takes it */
		" GET / HTTP/1.1\r\n",		/* so does Python's */
		"GET\x0b/\x0bHTTP/1.1\r\n",
		"GET HTTP/1.1\r\n",
	};
	static const char *const other[] = {
		"EHLO mail.example\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
		"GET /\r\n",			/* HTTP/0.9's form: no Host */
		"\x16\x03\x01",
		"GET / FTP/1.1\r\n",
		"MAIL FROM:<a@b.example> SIZE=100\r\n",
		"a1 LOGIN user secret\r\n",
		"GET(/) HTTP/1.1\r\n",
	};
	struct http_request r;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		const char *s = req[i];
		size_t v = strstr(s, "TTP/") ? (size_t)(strstr(s, "TTP/") - s) + 4
					     : strlen(s);

		if (!strstr(s, "TTP/"))
			v = (size_t)(strstr(s, "ttp/") - s) + 4;
		for (k = 0; k < v; k++)
			assert_int_equal(http_request_start((const uint8_t *)s, k),
					 HTTP_NEED_MORE);
		for (k = v; k <= strlen(s); k++)
			assert_int_equal(http_request_start((const uint8_t *)s, k),
					 HTTP_OK);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(start(other[i]), HTTP_MALFORMED);
	/* PostgreSQL's SSLRequest */
	assert_int_equal(http_request_start((const uint8_t *)"\0\0\0\x08\x04\xd2\x16\x2f",
					    8), HTTP_MALFORMED);

	/* the strict parser then judges the host the server would see */
	expect_host("\r\n\r\nPROPFIND /dav HTTP/1.1\r\nHost: github.com\r\n\r\n",
		    "github.com", 0);
	assert_int_equal(head("\r\nQUERY / HTTP/1.1\r\nHost: evil.example\r\n"
			      "Content-Length: 0\r\n\r\n", &r), HTTP_OK);
	assert_string_equal(r.host, "evil.example");
	assert_int_equal(head("\nGET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
			      &r), HTTP_MALFORMED);
	assert_int_equal(head("GET  / HTTP/1.1\r\nHost: a.example\r\n\r\n",
			      &r), HTTP_MALFORMED);
	assert_int_equal(head("get / http/1.1\r\nHost: a.example\r\n\r\n",
			      &r), HTTP_MALFORMED);
	assert_int_equal(head("GET /a b HTTP/1.1\r\nHost: a.example\r\n\r\n",
			      &r), HTTP_MALFORMED);
	assert_int_equal(head(" GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
			      &r), HTTP_MALFORMED);
	assert_int_equal(head("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r),
			 HTTP_H2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_request_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
