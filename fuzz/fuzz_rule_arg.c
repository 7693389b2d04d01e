// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_rule_arg.c - libFuzzer harness for the command-line syntaxes
 *
 * The input, as a NUL-terminated string, is given to every parser a
 * command-line argument reaches: --allow / --deny RULE, --accept LINK,
 * --publish SPEC, --bandwidth RATE and the domain normaliser. None may
 * crash or leak; an accepted rule or link must print as a policy that
 * loads again.
 */
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * LLVMFuzzerTestOneInput() - parse one input as every command-line value
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[POLICY_DOMAIN_MAX + 3];
	struct errlist el = { 0 };
	struct policy p, q;
	struct publish pub;
	const char *why;
	char *s, *buf = NULL;
	size_t len = 0, n;
	uint64_t bps;
	FILE *f;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	policy_init(&p);
	policy_init(&q);
	n = policy_parse_rule_arg(&p, s, size & 1, "--allow", &el) ? 0 : 1;
	if (p.nrules != n || (!n && !el.n))
		abort();
	n = policy_parse_accept_arg(&p, s, &el) ? 0 : 1;
	if (p.naccept != n || (!n && !el.n) ||
	    (n && p.accept[0].kind != TARGET_SANDBOX))
		abort();
	policy_parse_publish(s, &pub, "--publish", 0, 0, &el);
	policy_parse_rate(s, &bps);
	names_normalise(s, out, sizeof(out), true, &why);
	names_normalise(s, out, sizeof(out), false, &why);

	f = open_memstream(&buf, &len);
	if (!f)
		abort();
	policy_print(&p, f);
	fclose(f);
	if (policy_load_buf(&q, "printed.yaml", buf, len, &el)) {
		fprintf(stderr, "printed policy does not load:\n%s", buf);
		errlist_print(&el, stderr);
		abort();
	}

	free(buf);
	free(s);
	errlist_free(&el);
	policy_free(&p);
	policy_free(&q);
	return 0;
}
