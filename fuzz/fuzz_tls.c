// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_tls.c - libFuzzer harness for the TLS ClientHello parser
 *
 * The input is what a sandboxed client sends first. It is parsed whole,
 * then every prefix at a few cut points (the proxy parses again as TCP
 * segments arrive): no crash, no overread, an accepted name is a clean
 * lower-case host name, and a prefix of an accepted hello is never judged
 * differently than "need more" or the same result.
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
	return 0;
}
