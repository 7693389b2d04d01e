// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * fuzz_policy.c - libFuzzer harness for the YAML policy loader
 *
 * The input is a policy file. Whatever it holds, loading must not crash or
 * leak, and must either fail with at least one located error and an empty
 * policy, or succeed; a loaded policy is printed as YAML and as JSON, and
 * the printed YAML must load again and print identically (the fixpoint
 * that "moat policy check" promises).
 */
#include <stdint.h>
#include <string.h>

#include "policy.h"
#include "ptest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/**
 * print_str() - policy_print() into a new string
 * @p:		policy
 * @len:	set to the length
 *
 * Return: the text, to be freed
 */
static char *print_str(const struct policy *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	policy_print(p, f);
	fclose(f);
	return buf;
}

/**
 * LLVMFuzzerTestOneInput() - load one input as a policy
 * @data:	input
 * @size:	input length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist el = { 0 };
	struct policy p, q;
	char *a, *b, *s;
	size_t alen, blen;
	FILE *devnull;
	json_t *o;

	policy_init(&p);
	policy_init(&q);

	if (policy_load_buf(&p, "fuzz.yaml", (const char *)data, size, &el)) {
		if (!el.n || p.nrules || p.nstrings || p.npublish)
			abort();	/* failed without a reason, or half */
		devnull = fopen("/dev/null", "w");
		if (devnull) {
			errlist_print(&el, devnull);
			fclose(devnull);
		}
		errlist_free(&el);
		policy_free(&p);
		return 0;
	}

	a = print_str(&p, &alen);
	if (policy_load_buf(&q, "printed.yaml", a, alen, &el)) {
		fprintf(stderr, "printed policy does not load:\n%s", a);
		errlist_print(&el, stderr);
		abort();
	}
	b = print_str(&q, &blen);
	if (alen != blen || memcmp(a, b, alen)) {
		fprintf(stderr, "not a fixpoint:\n%s---\n%s", a, b);
		abort();
	}

	o = policy_to_json(&p);
	s = json_dumps(o, JSON_COMPACT);
	if (!s)
		abort();
	free(s);
	json_decref(o);

	policy_check_supported(&p, &el);
	policy_lint(&p, &el);
	devnull = fopen("/dev/null", "w");
	if (devnull) {
		static const char *const dests[] = {
			"a.example.com:443", "example.com:22", "10.0.0.1:22",
			"[2001:db8::1]:80", "host:11434", "1.1.1.1:53/udp",
		};
		struct ptest_dest d;
		size_t i;

		for (i = 0; i < sizeof(dests) / sizeof(dests[0]); i++) {
			if (ptest_parse_dest(dests[i], &d, &el))
				abort();
			ptest_decide(&p, &d, NULL, 0, devnull);
		}
		fclose(devnull);
	}
	policy_prepend_rules(&q, p.rules, p.nrules);

	free(a);
	free(b);
	errlist_free(&el);
	policy_free(&p);
	policy_free(&q);
	return 0;
}
