// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_tls.c - unit tests of the ClientHello parser: real hellos captured
 * from openssl s_client and curl (fuzz/corpus/tls), every split of them
 * into two TCP segments, hellos split across records, a post-quantum-sized
 * hello, ECH, the 16 KiB bound, malformed structures, and the server-name
 * checks (IP literals in all their forms, invalid names).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tls.h"

/**
 * load() - read a seed file of fuzz/corpus/tls
 * @name:	file name
 * @len:	its length
 *
 * Return: the bytes, malloc()ed
 */
static uint8_t *load(const char *name, size_t *len)
{
	const char *src = getenv("MOAT_SRCDIR");
	char path[4096];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/tls/%s",
		 src ? src : MOAT_SRCDIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 64);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/**
 * expect_file() - parse a seed, check result and name, and every prefix
 * @name:	seed file
 * @res:	expected result on the whole file
 * @sni:	expected name if @res is TLS_OK
 */
static void expect_file(const char *name, enum tls_result res, const char *sni)
{
	struct tls_hello h;
	size_t len, i;
	uint8_t *buf = load(name, &len);

	assert_int_equal(tls_client_hello(buf, len, &h), res);
	if (res == TLS_OK) {
		assert_string_equal(h.sni, sni);
		assert_int_equal(h.consumed, len);
	}
	/* Every strict prefix (a hello cut between TCP segments) waits */
	for (i = 0; i < len; i++)
		assert_int_equal(tls_client_hello(buf, i, &h), TLS_NEED_MORE);
	free(buf);
}

static void test_captured(void **state)
{
	(void)state;
	expect_file("openssl-tls13", TLS_OK, "example.com");
	expect_file("openssl-tls12", TLS_OK, "github.com");
	expect_file("openssl-groups", TLS_OK, "api.github.com");
	expect_file("openssl-nosni", TLS_NO_SNI, NULL);
	expect_file("curl-https", TLS_OK, "www.example.org");
	expect_file("curl-trailing-dot", TLS_OK, "example.com");
}

static void test_captured_iplit(void **state)
{
	struct tls_hello h;
	size_t len;
	uint8_t *buf = load("curl-iplit", &len);

	(void)state;
	/* curl sends no SNI for an IP literal (RFC 6066) */
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_NO_SNI);
	free(buf);
}

static void test_synthetic(void **state)
{
	struct tls_hello h;
	uint8_t *buf;
	size_t len;

	(void)state;
	expect_file("synth-pq", TLS_OK, "pq.example.com");
	expect_file("synth-pq-3records", TLS_OK, "pq.example.com");
	expect_file("synth-near-max", TLS_OK, "big.example");
	expect_file("synth-two-names", TLS_MALFORMED, NULL);
	expect_file("synth-dup-ext", TLS_MALFORMED, NULL);

	buf = load("synth-ech", &len);
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_OK);
	assert_string_equal(h.sni, "public.example.net");
	assert_true(h.ech);
	free(buf);

	buf = load("synth-pq", &len);
	assert_true(len > 1400);
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_OK);
	assert_false(h.ech);
	free(buf);
}

/**
 * resplit() - re-frame a one-record hello into records of @n bytes
 * @in:		one-record hello
 * @len:	its length
 * @n:		fragment size
 * @outlen:	length of the result
 *
 * Return: the new bytes, malloc()ed
 */
static uint8_t *resplit(const uint8_t *in, size_t len, size_t n,
			size_t *outlen)
{
	size_t body = len - 5, i, o = 0;
	uint8_t *out = malloc(body + (body / n + 1) * 5);

	assert_non_null(out);
	for (i = 0; i < body; i += n) {
		size_t f = body - i < n ? body - i : n;

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(f >> 8);
		out[o++] = (uint8_t)f;
		memcpy(out + o, in + 5 + i, f);
		o += f;
	}
	*outlen = o;
	return out;
}

static void test_record_splits(void **state)
{
	size_t len, slen, n, i;
	struct tls_hello h;
	uint8_t *buf = load("openssl-tls13", &len);

	(void)state;
	for (n = 1; n <= len - 5; n += (n < 8 ? 1 : 37)) {
		uint8_t *s = resplit(buf, len, n, &slen);

		assert_int_equal(tls_client_hello(s, slen, &h), TLS_OK);
		assert_string_equal(h.sni, "example.com");
		assert_int_equal(h.consumed, slen);
		if (n == 1 || n == 100)
			for (i = 0; i < slen; i++)
				assert_int_equal(tls_client_hello(s, i, &h),
						 TLS_NEED_MORE);
		free(s);
	}
	free(buf);
}

static void test_trailing_data(void **state)
{
	struct tls_hello h;
	size_t len;
	uint8_t *buf = load("curl-https", &len);

	(void)state;
	/* A record after the hello (early data) is not the parser's business */
	memcpy(buf + len, "\x17\x03\x03\x00\x05hello", 10);
	assert_int_equal(tls_client_hello(buf, len + 10, &h), TLS_OK);
	assert_int_equal(h.consumed, len);
	free(buf);
}

static void test_bad_framing(void **state)
{
	struct tls_hello h;
	size_t len;
	uint8_t *buf = load("openssl-tls13", &len);

	(void)state;
	assert_int_equal(tls_client_hello((const uint8_t *)"GET / HTTP/1.1\r\n",
					  16, &h), TLS_NOT_TLS);
	assert_int_equal(tls_client_hello((const uint8_t *)"\x16\x01", 2, &h),
			 TLS_NOT_TLS);
	assert_int_equal(tls_client_hello((const uint8_t *)"\x16", 1, &h),
			 TLS_NEED_MORE);
	assert_int_equal(tls_client_hello((const uint8_t *)"", 0, &h),
			 TLS_NEED_MORE);
	/* zero-length and oversized records */
	assert_int_equal(tls_client_hello((const uint8_t *)"\x16\x03\x01\x00\x00",
					  5, &h), TLS_MALFORMED);
	assert_int_equal(tls_client_hello((const uint8_t *)"\x16\x03\x01\x40\x01",
					  5, &h), TLS_MALFORMED);
	/* not a ClientHello (ServerHello) */
	buf[5] = 2;
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_MALFORMED);
	buf[5] = 1;
	/* handshake longer than 16 KiB: refused at once, not buffered */
	buf[6] = 0x00; buf[7] = 0x40; buf[8] = 0x01;
	assert_int_equal(tls_client_hello(buf, 9, &h), TLS_TOO_LARGE);
	buf[6] = 0xff;
	assert_int_equal(tls_client_hello(buf, 9, &h), TLS_TOO_LARGE);
	/* handshake shorter than its record: a second message follows */
	buf[6] = 0; buf[7] = 0; buf[8] = 10;
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_MALFORMED);
	free(buf);

	/* a second record of another type in the middle of the hello */
	buf = load("synth-pq-3records", &len);
	buf[5 + (buf[3] << 8 | buf[4])] = 23;
	assert_int_equal(tls_client_hello(buf, len, &h), TLS_MALFORMED);
	free(buf);
}

static void test_inner_lengths(void **state)
{
	struct tls_hello h;
	size_t len, i;
	uint8_t *buf = load("openssl-tls13", &len);
	uint8_t *m = malloc(len);

	(void)state;
	assert_non_null(m);
	/* Flipping any byte after the record header never overreads (run
	 * under ASan) and never yields a name outside the hello */
	for (i = 5; i < len; i++) {
		unsigned v;

		for (v = 0; v < 256; v += 51) {
			enum tls_result r;

			memcpy(m, buf, len);
			m[i] ^= (uint8_t)(v | 1);
			r = tls_client_hello(m, len, &h);
			if (r == TLS_OK)
				assert_true(strlen(h.sni) <= TLS_NAME_MAX);
		}
	}
	free(m);
	free(buf);
}

/**
 * with_name() - parse a hello carrying @name as its host_name
 * @name:	bytes of the name
 * @n:		their number
 * @out:	results
 *
 * Return: the parser's result
 */
static enum tls_result with_name(const char *name, size_t n,
				 struct tls_hello *out)
{
	uint8_t buf[600], *p = buf + 9;
	size_t ext = n + 5, exts = ext + 4, body = 2 + 32 + 1 + 4 + 2 + 2 + exts;

	memset(buf, 0, sizeof(buf));
	buf[0] = 22; buf[1] = 3; buf[2] = 1;
	buf[3] = (uint8_t)((body + 4) >> 8); buf[4] = (uint8_t)(body + 4);
	buf[5] = 1; buf[7] = (uint8_t)(body >> 8); buf[8] = (uint8_t)body;
	*p++ = 3; *p++ = 3; p += 32;
	*p++ = 0;				/* session id */
	*p++ = 0; *p++ = 2; *p++ = 0x13; *p++ = 1;	/* cipher suites */
	*p++ = 1; *p++ = 0;				/* compression */
	*p++ = (uint8_t)(exts >> 8); *p++ = (uint8_t)exts;
	*p++ = 0; *p++ = 0;				/* server_name */
	*p++ = (uint8_t)(ext >> 8); *p++ = (uint8_t)ext;
	*p++ = (uint8_t)((n + 3) >> 8); *p++ = (uint8_t)(n + 3);
	*p++ = 0; *p++ = (uint8_t)(n >> 8); *p++ = (uint8_t)n;
	memcpy(p, name, n);
	return tls_client_hello(buf, 9 + body, out);
}

static void test_names(void **state)
{
	static const char *const ips[] = {
		"1.2.3.4", "127.0.0.1", "2130706433", "0x7f.1", "0x7F000001",
		"10.1", "::1", "[::1]", "2001:db8::1", "example.com:443",
		"1.2.3.4.", "example.0x1f",
	};
	static const char *const invalid[] = {
		"", ".", "..", "a..b", ".example.com", "exa mple.com",
		"exa/mple.com", "example.com..", "ex\xc3\xa4mple.com",
		"evil.com\\@good.com", "-a.example.com", "a-.example.com",
		"xn--zz.example",
	};
	struct tls_hello h;
	char l63[64], l64[65], big[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		assert_int_equal(with_name(ips[i], strlen(ips[i]), &h),
				 TLS_SNI_IP);
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		assert_int_equal(with_name(invalid[i], strlen(invalid[i]), &h),
				 TLS_SNI_INVALID);
	assert_int_equal(with_name("a\0b.com", 7, &h), TLS_SNI_INVALID);

	assert_int_equal(with_name("GitHub.COM", 10, &h), TLS_OK);
	assert_string_equal(h.sni, "github.com");
	assert_int_equal(with_name("xn--bcher-kva.example", 21, &h), TLS_OK);
	assert_int_equal(with_name("_acme.1a.example", 16, &h), TLS_OK);
	assert_int_equal(with_name("1.2.3.example", 13, &h), TLS_OK);
	assert_int_equal(with_name("0xbeef.com", 10, &h), TLS_OK);
	assert_int_equal(with_name("localhost", 9, &h), TLS_OK);

	memset(l63, 'a', 63);
	l63[63] = '\0';
	assert_int_equal(with_name(l63, 63, &h), TLS_OK);
	memset(l64, 'a', 64);
	l64[64] = '\0';
	assert_int_equal(with_name(l64, 64, &h), TLS_SNI_INVALID);
	/* 253 bytes accepted, 254 refused (plus a tolerated trailing dot) */
	for (i = 0; i < 253; i++)
		big[i] = (i % 50 == 49) ? '.' : 'b';
	assert_int_equal(with_name(big, 253, &h), TLS_OK);
	assert_int_equal(strlen(h.sni), 253);
	big[253] = '.';
	assert_int_equal(with_name(big, 254, &h), TLS_OK);
	big[253] = 'b';
	assert_int_equal(with_name(big, 254, &h), TLS_SNI_INVALID);
}

static void test_result_str(void **state)
{
	(void)state;
	assert_string_equal(tls_result_str(TLS_NO_SNI), "no-sni");
	assert_string_equal(tls_result_str(TLS_SNI_IP), "sni-ip-literal");
	assert_string_equal(tls_result_str(TLS_TOO_LARGE), "tls-too-large");
}

/**
 * scan() - feed a server's stream to tls_server_hello() in pieces
 * @buf:	the stream
 * @len:	its length
 * @step:	bytes per call
 *
 * Return: the first result other than TLS_SERVER_NEED_MORE, or that
 */
static enum tls_server_first scan(const uint8_t *buf, size_t len, size_t step)
{
	struct tls_server_scan s = { 0 };
	enum tls_server_first r = TLS_SERVER_NEED_MORE;
	size_t i;

	for (i = 0; i < len && r == TLS_SERVER_NEED_MORE; i += step)
		r = tls_server_hello(&s, buf + i, len - i < step ? len - i : step);
	return r;
}

/**
 * test_server_first() - a HelloRetryRequest told from a ServerHello
 * @state:	unused
 *
 * Whole, byte by byte and split across records; a ServerHello with any
 * other random, an alert, or bytes that are not TLS are "other".
 */
static void test_server_first(void **state)
{
	static const uint8_t hrr_random[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
		0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
		0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	uint8_t rec[5 + 4 + 2 + 32 + 16], split[sizeof(rec) + 5];
	size_t i;

	(void)state;
	memcpy(rec, "\x16\x03\x03\x00\x36\x02\x00\x00\x32\x03\x03", 11);
	memcpy(rec + 11, hrr_random, 32);
	memset(rec + 43, 0, sizeof(rec) - 43);
	for (i = 1; i <= sizeof(rec); i++)
		assert_int_equal(scan(rec, sizeof(rec), i), TLS_SERVER_HRR);
	/* the message split across two records after 20 bytes */
	memcpy(split, rec, 5 + 20);
	split[4] = 20;
	memcpy(split + 25, "\x16\x03\x03\x00\x22", 5);
	memcpy(split + 30, rec + 25, sizeof(rec) - 25);
	for (i = 1; i <= sizeof(split); i++)
		assert_int_equal(scan(split, sizeof(split), i), TLS_SERVER_HRR);
	/* ... but not interleaved with another record type */
	split[25] = 21;
	assert_int_equal(scan(split, sizeof(split), 1), TLS_SERVER_OTHER);
	/* not enough yet */
	assert_int_equal(scan(rec, 42, 1), TLS_SERVER_NEED_MORE);
	/* any other random: a ServerHello */
	rec[42] ^= 1;
	assert_int_equal(scan(rec, sizeof(rec), 7), TLS_SERVER_OTHER);
	rec[42] ^= 1;
	/* another message, an alert, not TLS */
	rec[5] = 11;
	assert_int_equal(scan(rec, 6, 1), TLS_SERVER_OTHER);
	assert_int_equal(scan((const uint8_t *)"\x15\x03\x03\x00\x02\x02\x28", 7, 1),
			 TLS_SERVER_OTHER);
	assert_int_equal(scan((const uint8_t *)"220 smtp ready\r\n", 16, 3),
			 TLS_SERVER_OTHER);
}

/**
 * test_record() - record headers a followed client sends
 * @state:	unused
 */
static void test_record(void **state)
{
	uint8_t type = 0;
	size_t len = 0;

	(void)state;
	assert_int_equal(tls_record((const uint8_t *)"\x14\x03\x03\x00", 4,
				    &type, &len), TLS_NEED_MORE);
	assert_int_equal(tls_record((const uint8_t *)"\x14\x03\x03\x00\x01", 5,
				    &type, &len), TLS_OK);
	assert_int_equal(type, 20);
	assert_int_equal(len, 1);
	assert_int_equal(tls_record((const uint8_t *)"\x17\x03\x03\x41\x00", 5,
				    &type, &len), TLS_OK);
	assert_int_equal(len, 16384 + 256);
	assert_int_equal(tls_record((const uint8_t *)"\x17\x03\x03\x41\x01", 5,
				    &type, &len), TLS_MALFORMED);
	assert_int_equal(tls_record((const uint8_t *)"\x16\x03\x03\x00\x00", 5,
				    &type, &len), TLS_MALFORMED);
	assert_int_equal(tls_record((const uint8_t *)"\x16\x02\x03\x00\x01", 5,
				    &type, &len), TLS_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured),
		cmocka_unit_test(test_captured_iplit),
		cmocka_unit_test(test_synthetic),
		cmocka_unit_test(test_record_splits),
		cmocka_unit_test(test_trailing_data),
		cmocka_unit_test(test_bad_framing),
		cmocka_unit_test(test_inner_lengths),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_result_str),
		cmocka_unit_test(test_server_first),
		cmocka_unit_test(test_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
