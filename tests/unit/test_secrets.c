// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_secrets.c - a sandbox's secrets at run time (secrets.c): values
 * read from a file and from the environment (the variable wiped and
 * removed), placeholders made once and read back, the CA made once (key
 * 0600) and read back, the bundle; refusals that name the source, never
 * the value
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "secrets.h"

/**
 * struct fixture - a run directory with one sandbox's state directory
 * @dir:	the run directory
 * @c:		settings naming it
 * @ca:		a trust store file (one self-signed certificate)
 */
struct fixture {
	char dir[64];
	struct moat_config c;
	char ca[96];
};

/**
 * write_file() - a file with some contents
 * @path:	file
 * @s:		contents
 */
static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

/**
 * setup() - the run directory, the sandbox "sb", a trust store
 * @state:	set to the fixture
 *
 * Return: 0
 */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	char path[160];
	FILE *f;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/moat-test-secrets.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->c.run_dir, sizeof(fx->c.run_dir), "%s", fx->dir);
	snprintf(path, sizeof(path), "%s/sandboxes", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sandboxes/sb", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"test trust", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(fx->ca, sizeof(fx->ca), "%s/trust.pem", fx->dir);
	f = fopen(fx->ca, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	setenv("MOAT_UPSTREAM_CA", fx->ca, 1);
	*state = fx;
	return 0;
}

/**
 * teardown() - remove the run directory
 * @state:	the fixture
 *
 * Return: 0
 */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("MOAT_UPSTREAM_CA");
	free(fx);
	return 0;
}

/**
 * load() - a policy with two secrets, the file one's path given
 * @p:		initialised policy
 * @file:	the from_file path
 */
static void load(struct policy *p, const char *file)
{
	struct errlist el = { 0 };
	char yaml[512];

	snprintf(yaml, sizeof(yaml),
		 "version: 1\n"
		 "secrets:\n"
		 "  - {name: FROM_FILE, from_file: %s, hosts: [api.test]}\n"
		 "  - {name: FROM_ENV, from_env: MOAT_TEST_SECRET, hosts: ['*.b.test']}\n",
		 file);
	if (policy_load_buf(p, "t.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail();
	}
	errlist_free(&el);
}

/**
 * test_start() - values, placeholders, CA, bundle; the second start reads
 * the same placeholders and CA back
 * @state:	the fixture
 */
static void test_start(void **state)
{
	struct fixture *fx = *state;
	struct secrets a, b;
	struct policy p;
	char path[192], *env, *err = NULL;
	unsigned char fa[32], fb[32];
	unsigned int n;
	struct stat st;

	snprintf(path, sizeof(path), "%s/value", fx->dir);
	write_file(path, "file-value\n");
	policy_init(&p);
	load(&p, path);
	setenv("MOAT_TEST_SECRET", "env-value", 1);
	env = getenv("MOAT_TEST_SECRET");

	if (secrets_start(&fx->c, "sb", &p, &a, &err))
		fail_msg("%s", err);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.s[0].vlen, strlen("file-value"));
	assert_memory_equal(a.s[0].value, "file-value", a.s[0].vlen);
	assert_memory_equal(a.s[1].value, "env-value", a.s[1].vlen);
	assert_null(getenv("MOAT_TEST_SECRET"));
	assert_int_equal(env[0], '\0');		/* wiped where it was */
	assert_true(secrets_placeholder_valid(a.s[0].ph, "FROM_FILE"));
	assert_true(secrets_placeholder_valid(a.s[1].ph, "FROM_ENV"));
	assert_false(secrets_placeholder_valid(a.s[1].ph, "FROM_FILE"));
	assert_string_not_equal(a.s[0].ph + 22, a.s[1].ph + 21);
	assert_non_null(a.ca_key);
	assert_non_null(a.trust);

	snprintf(path, sizeof(path), "%s/sandboxes/sb/ca.key", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/sandboxes/sb/secrets.env", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/sandboxes/sb/ca-bundle.pem", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(X509_check_ca(a.ca), 1);
	assert_true(X509_get_ext_by_NID(a.ca, NID_name_constraints, -1) >= 0);

	/* a second start (moat adopt): the same placeholders and CA */
	setenv("MOAT_TEST_SECRET", "env-value", 1);
	if (secrets_start(&fx->c, "sb", &p, &b, &err))
		fail_msg("%s", err);
	assert_string_equal(a.s[0].ph, b.s[0].ph);
	assert_string_equal(a.s[1].ph, b.s[1].ph);
	X509_digest(a.ca, EVP_sha256(), fa, &n);
	X509_digest(b.ca, EVP_sha256(), fb, &n);
	assert_memory_equal(fa, fb, sizeof(fa));
	secrets_free(&a);
	secrets_free(&b);
	assert_null(a.s[0].value);	/* wiped and released */
	policy_free(&p);
}

/**
 * test_refusals() - a missing variable, a missing file, an empty value,
 * a control character: each refused naming the secret and its source,
 * never the value
 * @state:	the fixture
 */
static void test_refusals(void **state)
{
	static const struct {
		const char *file;	/* contents, NULL: no file */
		const char *env;	/* NULL: unset */
		const char *msg;
	} cases[] = {
		{ "v", NULL, "secret FROM_ENV: the variable MOAT_TEST_SECRET is not set in moat's environment" },
		{ NULL, "v", "secret FROM_FILE: cannot read" },
		{ "\n", "v", "secret FROM_FILE: the value of file" },
		{ "v", "bad\tvalue-1234", "it holds a control character" },
	};
	struct fixture *fx = *state;
	char path[192], *err;
	struct secrets s;
	struct policy p;
	size_t i;

	snprintf(path, sizeof(path), "%s/value2", fx->dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(path);
		if (cases[i].file)
			write_file(path, cases[i].file);
		if (cases[i].env)
			setenv("MOAT_TEST_SECRET", cases[i].env, 1);
		else
			unsetenv("MOAT_TEST_SECRET");
		policy_init(&p);
		load(&p, path);
		err = NULL;
		assert_int_equal(secrets_start(&fx->c, "sb", &p, &s, &err), -1);
		assert_non_null(err);
		if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: %s", i, err);
		assert_null(strstr(err, "value-1234"));
		free(err);
		policy_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
