// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_tls.c - libFuzzer harness for the TLS ClientHello parser
 *
 * The input is what a sandboxed client sends first. It is parsed whole,
 * then every prefix at a few cut points (the proxy parses again as TCP
 * segments arrive): no crash, no overread, an accepted name is a clean
 * lower-case host name, and a prefix of an accepted hello is never judged
 * differently than "need more" or the same result. The same input, read
 * as a server's stream by tls_server_hello() whole and byte by byte, gets
 * the same verdict both ways; tls_record() reads its first header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * LLVMFuzzerTestOneInput() - parse one input as a client's first bytes
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_hello h, p;
	enum tls_result r, q;
	size_t i, cut;

	r = tls_client_hello(data, size, &h);
	if (r == TLS_OK) {
		size_t n = strlen(h.sni);

		if (!n || n > TLS_NAME_MAX || h.consumed > size)
			abort();
		for (i = 0; i < n; i++)
			if (h.sni[i] >= 'A' && h.sni[i] <= 'Z')
				abort();
		for (cut = 1; cut < 8; cut++) {
			q = tls_client_hello(data, h.consumed * cut / 8, &p);
			if (q != TLS_NEED_MORE && q != TLS_OK)
				abort();
		}
	}
	(void)tls_result_str(r);

	{
		struct tls_server_scan a = { 0 }, b = { 0 };
		enum tls_server_first ra, rb = TLS_SERVER_NEED_MORE;
		uint8_t type;
		size_t rlen;

		ra = tls_server_hello(&a, data, size);
		for (i = 0; i < size && rb == TLS_SERVER_NEED_MORE; i++)
			rb = tls_server_hello(&b, data + i, 1);
		if (ra != rb)
			abort();
		if (tls_record(data, size, &type, &rlen) == TLS_OK &&
		    (type != data[0] || !rlen || rlen > 16384 + 256))
			abort();
	}
	return 0;
}
