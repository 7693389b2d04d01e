// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_h1.c - libFuzzer harness for the HTTP/1.1 request rewriter of
 * intercepted connections
 *
 * The first byte of the input chooses the connection's name (the host of
 * secret A, of secret B, or another) and the size of the pieces the rest
 * is fed in; the rest is what a client sends. It is rewritten twice, whole
 * and in pieces (the client idle after each: h1_idle()), and both must end
 * the same way (H1_OK or the same
 * refusal). Whatever comes out never holds the placeholder of a secret
 * the name may not receive, nor its value unless the client wrote it, and no crash, overread or leak of
 * memory happens (the build has ASan and UBSan). The same bytes are then
 * a plain-HTTP request body (chunked or Content-Length, by the first
 * byte) searched as the proxy does, in the same pieces, kept-back bytes
 * given again first (intercept_body_scan()): what it lets go never holds
 * a placeholder, and a body that holds one whole is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1.h"
#include "intercept.h"

#define PH_A	"moat-secret-A-0123456789abcdef0123456789abcdef"
#define PH_B	"moat-secret-B-fedcba9876543210fedcba9876543210"
#define VAL_A	"VALUE-OF-A"
#define VAL_B	"VALUE-OF-B"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * fuzz_h1_run() - rewrite a stream in pieces
 * @sec:	the secrets
 * @host:	the connection's name
 * @in:		stream
 * @len:	its length
 * @step:	piece size, 0 for whole
 * @out:	output
 *
 * Return: the first result that is not H1_OK, or H1_OK
 */
static enum h1_result fuzz_h1_run(const struct h1_secret *sec,
				  const char *host, const uint8_t *in,
				  size_t len, size_t step, struct h1_buf *out)
{
	enum h1_result r = H1_OK;
	size_t i, k;
	struct h1 h;

	if (h1_init(&h, sec, 2, host))
		abort();
	for (i = 0; i < len && r == H1_OK; i += k) {
		k = step && len - i > step ? step : len - i;
		r = h1_feed(&h, in + i, k, out);
		/* in pieces, the client goes idle after each */
		if (r == H1_OK && step)
			r = h1_idle(&h, out);
	}
	if (r == H1_LEAK && h.leak >= 2)
		abort();
	h1_free(&h);
	return r;
}

/**
 * fuzz_h1_clean() - output holds nothing of a secret the name may not get
 * @sec:	the secrets
 * @in:		the input (a value the client wrote itself may pass)
 * @len:	its length
 * @out:	output
 */
static void fuzz_h1_clean(const struct h1_secret *sec, const uint8_t *in,
			  size_t len, const struct h1_buf *out)
{
	size_t j;

	for (j = 0; j < 2; j++) {
		if (sec[j].allowed || !out->len)
			continue;
		if (memmem(out->p, out->len, sec[j].ph, sec[j].phlen))
			abort();
		if (!memmem(in, len, sec[j].val, sec[j].vlen) &&
		    memmem(out->p, out->len, sec[j].val, sec[j].vlen))
			abort();
	}
}

/**
 * fuzz_h1_plain() - a plain-HTTP body searched in pieces, as the proxy
 * does
 * @sec:	the secrets (both refused here)
 * @chunked:	chunked framing, else Content-Length (@len)
 * @in:		the body as sent
 * @len:	its length
 * @step:	piece size
 */
static void fuzz_h1_plain(const struct h1_secret *sec, bool chunked,
			  const uint8_t *in, size_t len, size_t step)
{
	struct h1_secret plain[2] = { { sec[0].ph, sec[0].phlen, NULL, 0, false, 0, NULL, NULL },
				      { sec[1].ph, sec[1].phlen, NULL, 0, false, 0, NULL, NULL } };
	struct http_body b = { 0 }, start, from, kfrom = { 0 };
	struct http_request req = { 0 };
	struct h1_buf sent = { 0 };
	size_t i, n, hl = 0, used, keep;
	uint8_t *cb = malloc(len + 2048), held[2048];
	int k = -1;
	struct h1 h;

	if (!cb || h1_init(&h, plain, 2, ""))
		abort();
	req.body = chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_LENGTH;
	req.length = chunked ? 0 : len;
	http_body_init(&b, &req);
	for (i = 0; i < len && k < 0; i += n) {
		n = len - i > step ? step : len - i;
		start = b;
		from = hl ? kfrom : start;
		memcpy(cb, held, hl);
		memcpy(cb + hl, in + i, n);
		if (http_body_scan(&b, cb + hl, n, &used) == HTTP_MALFORMED)
			break;
		k = intercept_body_scan(&h, &from, cb, hl + used, &keep, &kfrom);
		if (k >= 0)
			break;
		if (keep > sizeof(held) || keep > hl + used)
			abort();
		if (h1_buf_put(&sent, cb, hl + used - keep))
			abort();
		memcpy(held, cb + hl + used - keep, keep);
		hl = keep;
		if (used < n)
			break;		/* the body ended */
	}
	for (i = 0; i < 2; i++)
		if (sent.len && memmem(sent.p, sent.len, sec[i].ph, sec[i].phlen))
			abort();
	if (!chunked && k < 0 && (memmem(in, len, sec[0].ph, sec[0].phlen) ||
				  memmem(in, len, sec[1].ph, sec[1].phlen)))
		abort();
	h1_buf_free(&sent);
	h1_free(&h);
	free(cb);
}

/**
 * LLVMFuzzerTestOneInput() - rewrite one input whole and in pieces
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "api.test", "b.test", "other.test" };
	struct h1_secret sec[2] = {
		{ (const uint8_t *)PH_A, sizeof(PH_A) - 1, (const uint8_t *)VAL_A,
		  sizeof(VAL_A) - 1, false,
		  SECRET_IN_HEADERS | SECRET_IN_QUERY | SECRET_IN_BODY, NULL, NULL },
		{ (const uint8_t *)PH_B, sizeof(PH_B) - 1, (const uint8_t *)VAL_B,
		  sizeof(VAL_B) - 1, false, 0, "Authorization", "Bearer {secret}" },
	};
	struct h1_buf a = { 0 }, b = { 0 };
	enum h1_result ra, rb;
	const char *host;
	size_t step;

	if (!size)
		return 0;
	host = hosts[data[0] % 3];
	step = 1 + (data[0] >> 2) % 64;
	sec[0].allowed = data[0] % 3 == 0;
	sec[1].allowed = data[0] % 3 == 1;
	data++;
	size--;

	ra = fuzz_h1_run(sec, host, data, size, 0, &a);
	rb = fuzz_h1_run(sec, host, data, size, step, &b);
	if (ra != rb)
		abort();
	(void)h1_result_str(ra);
	if (ra == H1_OK) {
		fuzz_h1_clean(sec, data, size, &a);
		fuzz_h1_clean(sec, data, size, &b);
	}
	h1_buf_free(&a);
	h1_buf_free(&b);
	fuzz_h1_plain(sec, data[-1] & 2, data, size, step);
	return 0;
}
