// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * secrets.c - a sandbox's secrets at run time: values, placeholders, its
 * certificate authority and the trust store of its upstream connections
 *
 * Theory of operation
 * -------------------
 * A policy's secrets section (policy.h, struct secret) names each secret,
 * where its value is (a file, or a variable of moat's caller's
 * environment) and who may receive it. The value is read here, by the
 * sandbox's supervisor when it starts (secrets_start(), before it forks
 * its worker): the supervisor is started with the environment of "moat
 * create" (or "moat run", or "moat adopt"), so a from_env variable is
 * that caller's. The value is copied into memory locked against swap
 * (mlock), the variable is wiped and removed from the supervisor's
 * environment, and the process is made non-dumpable with no core file:
 * the value is in no file moat writes, no log, no core dump. The worker,
 * forked from the supervisor, has its copy (the fork's) and is made
 * non-dumpable too (isolate.c). secrets_free() wipes the values.
 *
 * What a command in the sandbox gets instead is a placeholder per secret,
 * "moat-secret-NAME-" and 32 hexadecimal digits from getrandom(2): 128
 * random bits, recognisable in a log, different in every sandbox. The
 * placeholders are made once, at creation, and kept in the sandbox's
 * state directory (SECRETS_ENV_FILE, 0600, root's), where "moat run" and
 * "moat exec" read them (secrets_exec_env()) and "moat adopt" finds them
 * again.
 *
 * The sandbox's certificate authority is made at creation too: an ECDSA
 * P-256 key and a self-signed certificate, valid for ten years, CA:TRUE
 * with path length 0, and name constraints that permit only the names the
 * policy intercepts (a secret's hosts, the intercept list), so that even
 * its key could vouch for nothing else. The key is written only to the
 * state directory (SECRETS_CA_KEY_FILE, 0600, in a directory only root
 * may enter, and which "moat run"/"moat exec" cover in their command's
 * mount namespace), so that "moat adopt" keeps the same CA; the
 * certificate (SECRETS_CA_FILE) and a bundle of the host's trust store
 * followed by it (SECRETS_BUNDLE_FILE) are 0644. "moat run" and "moat
 * exec" show the bundle to their command at SECRETS_BUNDLE_INSIDE
 * (exec.c) and point the usual variables at it.
 *
 * The trust store for the worker's upstream connections is the host's
 * (OpenSSL's default certificate file), or the file MOAT_UPSTREAM_CA
 * names (a private CA; the tests' world CA). It is loaded here, into an
 * X509_STORE, before the worker's isolation takes its file system away.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "secrets.h"

#define SECRETS_CA_DAYS		3650
#define SECRETS_FILE_MAX	(1 << 20)	/* trust store, key files */

/**
 * secrets_wanted() - does a policy make moat intercept anything
 * @p:		policy
 *
 * Return: true if it has secrets or intercepted names
 */
bool secrets_wanted(const struct policy *p)
{
	return p->nsecrets || p->nintercept;
}

/**
 * secrets_trust_file() - the file of the host's trust store
 *
 * Return: MOAT_UPSTREAM_CA if set, else OpenSSL's default certificate file
 *	   (Debian: /usr/lib/ssl/cert.pem, a link to ca-certificates')
 */
const char *secrets_trust_file(void)
{
	const char *env = getenv("MOAT_UPSTREAM_CA");

	if (env && *env)
		return env;
	return X509_get_default_cert_file();
}

/**
 * secrets_ssl_err() - the last OpenSSL error as text
 * @buf:	buffer
 * @len:	its size
 *
 * Return: @buf
 */
static const char *secrets_ssl_err(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/**
 * secrets_value_ok() - may a value go into a request's header
 * @v:		value
 * @len:	its length
 *
 * Return: NULL if it may, else why not
 */
static const char *secrets_value_ok(const uint8_t *v, size_t len)
{
	size_t i;

	if (!len)
		return "it is empty";
	if (len > SECRET_VALUE_MAX)
		return "it is longer than 8192 bytes";
	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return "it holds a control character";
	return NULL;
}

/**
 * secrets_read_value() - read one secret's value into locked memory
 * @sec:	the policy's secret
 * @rt:		its run-time entry, whose @value and @vlen are set
 * @err:	set to an allocated message on failure (never the value)
 *
 * Return: 0, or -1 with @err set
 */
static int secrets_read_value(const struct secret *sec, struct secret_rt *rt,
			      char **err)
{
	const char *why;
	size_t len = 0;

	rt->value = mmap(NULL, SECRET_VALUE_MAX + 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rt->value == MAP_FAILED) {
		rt->value = NULL;
		*err = xasprintf("secret %s: cannot allocate: %s", sec->name,
				 strerror(errno));
		return -1;
	}
	mlock(rt->value, SECRET_VALUE_MAX + 2);	/* best effort */
	madvise(rt->value, SECRET_VALUE_MAX + 2, MADV_DONTDUMP);

	if (sec->from_env) {
		char *v = getenv(sec->source);

		if (!v) {
			*err = xasprintf("secret %s: the variable %s is not set in moat's environment",
					 sec->name, sec->source);
			return -1;
		}
		len = strlen(v);
		if (len <= SECRET_VALUE_MAX + 1)
			memcpy(rt->value, v, len);
		explicit_bzero(v, len);
		unsetenv(sec->source);
	} else {
		autoclose int fd = open(sec->source, O_RDONLY | O_CLOEXEC |
					O_NOCTTY | O_NONBLOCK);
		struct stat st;
		ssize_t n;

		if (fd < 0 || fstat(fd, &st)) {
			*err = xasprintf("secret %s: cannot read %s: %s",
					 sec->name, sec->source, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			*err = xasprintf("secret %s: %s is not a regular file",
					 sec->name, sec->source);
			return -1;
		}
		while (len < SECRET_VALUE_MAX + 2) {
			n = read(fd, rt->value + len, SECRET_VALUE_MAX + 2 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				*err = xasprintf("secret %s: cannot read %s: %s",
						 sec->name, sec->source,
						 strerror(errno));
				return -1;
			}
			if (!n)
				break;
			len += (size_t)n;
		}
		/* one line: its end is not part of the value */
		if (len && rt->value[len - 1] == '\n')
			len--;
		if (len && rt->value[len - 1] == '\r')
			len--;
	}
	why = len > SECRET_VALUE_MAX ? "it is longer than 8192 bytes" :
	      secrets_value_ok(rt->value, len);
	if (why) {
		explicit_bzero(rt->value, SECRET_VALUE_MAX + 2);
		*err = xasprintf("secret %s: the value of %s %s cannot be used: %s",
				 sec->name, sec->from_env ? "variable" : "file",
				 sec->source, why);
		return -1;
	}
	rt->vlen = len;
	return 0;
}

/**
 * secrets_placeholder_valid() - is a string a placeholder of a secret
 * @ph:		string
 * @name:	the secret's name
 *
 * Return: 1 if @ph is "moat-secret-NAME-" and 32 lower-case hex digits,
 *	   else 0
 */
int secrets_placeholder_valid(const char *ph, const char *name)
{
	size_t pl = strlen(SECRETS_PH_PREFIX), nl = strlen(name);

	if (strncmp(ph, SECRETS_PH_PREFIX, pl) || strncmp(ph + pl, name, nl) ||
	    ph[pl + nl] != '-')
		return 0;
	ph += pl + nl + 1;
	return strlen(ph) == SECRETS_PH_RANDOM &&
	       strspn(ph, "0123456789abcdef") == SECRETS_PH_RANDOM;
}

/**
 * secrets_write_file() - write a file whole, atomically, with a mode
 * @path:	file
 * @buf:	contents
 * @len:	their length
 * @mode:	its mode
 *
 * Return: 0, or -errno (nothing left behind)
 */
static int secrets_write_file(const char *path, const void *buf, size_t len,
			      mode_t mode)
{
	autofree char *tmp = xasprintf("%s.tmp", path);
	const uint8_t *p = buf;
	int fd, e = 0;
	ssize_t n;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode))
		e = -errno;
	while (!e && len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!e && fsync(fd))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	if (!e && rename(tmp, path))
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

/**
 * secrets_placeholders() - the sandbox's placeholders: read back, or made
 * @c:		settings
 * @name:	sandbox
 * @p:		policy
 * @sc:		secrets, whose names and placeholders are set
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
static int secrets_placeholders(const struct moat_config *c, const char *name,
				const struct policy *p, struct secrets *sc,
				char **err)
{
	autofree char *path = state_path(c, name, SECRETS_ENV_FILE);
	autofclose FILE *f = fopen(path, "re");
	char line[SECRET_NAME_MAX + SECRETS_PH_MAX + 8], *buf = NULL;
	size_t i, len = 0;
	FILE *m;
	int e;

	for (i = 0; i < p->nsecrets; i++)
		snprintf(sc->s[i].name, sizeof(sc->s[i].name), "%s",
			 p->secrets[i].name);
	sc->n = p->nsecrets;
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *eq = strchr(line, '=');

			line[strcspn(line, "\n")] = '\0';
			if (!eq)
				continue;
			*eq = '\0';
			for (i = 0; i < sc->n; i++) {
				if (!strcmp(sc->s[i].name, line) &&
				    secrets_placeholder_valid(eq + 1, line)) {
					snprintf(sc->s[i].ph, sizeof(sc->s[i].ph),
						 "%s", eq + 1);
					sc->s[i].phlen = strlen(sc->s[i].ph);
				}
			}
		}
		for (i = 0; i < sc->n; i++)
			if (!sc->s[i].phlen)
				break;
		if (i == sc->n)
			return 0;
	}

	/* made now: at creation (or a record without them, made anew) */
	m = open_memstream(&buf, &len);
	for (i = 0; i < sc->n; i++) {
		uint8_t rnd[SECRETS_PH_RANDOM / 2];
		char hex[SECRETS_PH_RANDOM + 1], ph[SECRETS_PH_MAX + 1];
		size_t k;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			*err = xasprintf("getrandom: %s", strerror(errno));
			fclose(m);
			free(buf);
			return -1;
		}
		for (k = 0; k < sizeof(rnd); k++)
			snprintf(hex + 2 * k, 3, "%02x", rnd[k]);
		snprintf(ph, sizeof(ph), "%s%s-%s", SECRETS_PH_PREFIX,
			 sc->s[i].name, hex);
		memcpy(sc->s[i].ph, ph, sizeof(ph));
		sc->s[i].phlen = strlen(ph);
		fprintf(m, "%s=%s\n", sc->s[i].name, sc->s[i].ph);
	}
	fclose(m);
	e = secrets_write_file(path, buf, len, 0600);
	free(buf);
	if (e) {
		*err = xasprintf("cannot write %s: %s", path, strerror(-e));
		return -1;
	}
	return 0;
}

/**
 * secrets_add_ext() - add an extension to a certificate by its text form
 * @x:		certificate
 * @issuer:	its issuer (itself for the CA)
 * @nid:	extension
 * @value:	as in openssl x509v3_config(5)
 *
 * Return: 0, or -1
 */
static int secrets_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/**
 * secrets_constraints() - the CA's name constraints: the intercepted names
 * @p:		policy
 *
 * A wildcard "*.example.com" permits "example.com" and its subdomains
 * (name constraints have no narrower form).
 *
 * Return: an allocated "critical,permitted;DNS:..." text
 */
static char *secrets_constraints(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0, i, j;
	FILE *m = open_memstream(&buf, &len);

	fputs("critical", m);
	for (i = 0; i < p->nsecrets; i++)
		for (j = 0; j < p->secrets[i].nhosts; j++) {
			const char *h = p->secrets[i].hosts[j];

			fprintf(m, ",permitted;DNS:%s", h[0] == '*' ? h + 2 : h);
		}
	for (i = 0; i < p->nintercept; i++) {
		const char *h = p->intercept[i];

		fprintf(m, ",permitted;DNS:%s", h[0] == '*' ? h + 2 : h);
	}
	fclose(m);
	return buf;
}

/**
 * secrets_ca_make() - a new certificate authority for a sandbox
 * @name:	sandbox
 * @p:		policy (its intercepted names constrain the CA)
 * @sc:		secrets, whose @ca_key and @ca are set
 *
 * Return: 0, or -1 (OpenSSL's error queue says why)
 */
static int secrets_ca_make(const char *name, const struct policy *p,
			   struct secrets *sc)
{
	autofree char *cn = xasprintf("moat sandbox %s CA", name);
	autofree char *nc = secrets_constraints(p);
	X509_NAME *subj;
	BIGNUM *bn = BN_new();
	X509 *x = X509_new();
	EVP_PKEY *key = EVP_EC_gen("P-256");
	int ok = bn && x && key;

	ok = ok && X509_set_version(x, 2) &&
	     BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)SECRETS_CA_DAYS * 86400) &&
	     X509_set_pubkey(x, key);
	if (ok) {
		subj = X509_get_subject_name(x);
		ok = X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
						(const unsigned char *)"moat",
						-1, -1, 0) &&
		     X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
						(const unsigned char *)cn,
						-1, -1, 0) &&
		     X509_set_issuer_name(x, subj);
	}
	ok = ok &&
	     !secrets_add_ext(x, x, NID_basic_constraints,
			      "critical,CA:TRUE,pathlen:0") &&
	     !secrets_add_ext(x, x, NID_key_usage,
			      "critical,keyCertSign,cRLSign") &&
	     !secrets_add_ext(x, x, NID_subject_key_identifier, "hash") &&
	     (!strcmp(nc, "critical") ||
	      !secrets_add_ext(x, x, NID_name_constraints, nc)) &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		EVP_PKEY_free(key);
		return -1;
	}
	sc->ca = x;
	sc->ca_key = key;
	return 0;
}

/**
 * secrets_pem() - a key or a certificate in PEM, in memory
 * @key:	key, or NULL
 * @x:		certificate, or NULL
 * @len:	set to the length
 *
 * Return: allocated text (the caller wipes a key's), or NULL
 */
static char *secrets_pem(EVP_PKEY *key, X509 *x, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (!b)
		return NULL;
	if ((key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) :
		   PEM_write_bio_X509(b, x)) &&
	    (n = BIO_get_mem_data(b, &data)) > 0) {
		out = xmalloc((size_t)n + 1);
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
		OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(b);
	return out;
}

/**
 * secrets_read_all() - a whole small file
 * @path:	file
 * @len:	set to its length
 *
 * Return: allocated contents (NUL-terminated), or NULL with errno set
 */
static char *secrets_read_all(const char *path, size_t *len)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return NULL;
	buf = xmalloc(SECRETS_FILE_MAX + 1);
	for (;;) {
		n = read(fd, buf + *len, SECRETS_FILE_MAX - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (!n || *len + (size_t)n == SECRETS_FILE_MAX) {
			*len += (size_t)n;
			break;
		}
		*len += (size_t)n;
	}
	if (*len == SECRETS_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/**
 * secrets_ca() - the sandbox's CA: read back, or made and written
 * @c:		settings
 * @name:	sandbox
 * @p:		policy
 * @sc:		secrets, whose @ca_key and @ca are set
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
static int secrets_ca(const struct moat_config *c, const char *name,
		      const struct policy *p, struct secrets *sc, char **err)
{
	autofree char *kpath = state_path(c, name, SECRETS_CA_KEY_FILE);
	autofree char *cpath = state_path(c, name, SECRETS_CA_FILE);
	char ebuf[160], *kpem, *cpem;
	size_t klen, clen;
	BIO *b;
	int e;

	kpem = secrets_read_all(kpath, &klen);
	cpem = secrets_read_all(cpath, &clen);
	if (kpem && cpem) {
		b = BIO_new_mem_buf(kpem, (int)klen);
		sc->ca_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) :
			     NULL;
		BIO_free(b);
		b = BIO_new_mem_buf(cpem, (int)clen);
		sc->ca = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		OPENSSL_cleanse(kpem, klen);
		free(kpem);
		free(cpem);
		if (!sc->ca_key || !sc->ca ||
		    X509_check_private_key(sc->ca, sc->ca_key) != 1) {
			*err = xasprintf("cannot read the sandbox's CA (%s): %s",
					 kpath, secrets_ssl_err(ebuf, sizeof(ebuf)));
			return -1;
		}
		return 0;
	}
	if (kpem)
		OPENSSL_cleanse(kpem, klen);
	free(kpem);
	free(cpem);

	if (secrets_ca_make(name, p, sc)) {
		*err = xasprintf("cannot make the sandbox's CA: %s",
				 secrets_ssl_err(ebuf, sizeof(ebuf)));
		return -1;
	}
	kpem = secrets_pem(sc->ca_key, NULL, &klen);
	cpem = secrets_pem(NULL, sc->ca, &clen);
	e = kpem && cpem ? 0 : -ENOMEM;
	if (!e)
		e = secrets_write_file(kpath, kpem, klen, 0600);
	if (!e)
		e = secrets_write_file(cpath, cpem, clen, 0644);
	if (kpem) {
		OPENSSL_cleanse(kpem, klen);
		free(kpem);
	}
	free(cpem);
	if (e) {
		*err = xasprintf("cannot write the sandbox's CA: %s",
				 strerror(-e));
		return -1;
	}
	return 0;
}

/**
 * secrets_trust() - load the trust store, and write the sandbox's bundle
 * @c:		settings
 * @name:	sandbox
 * @sc:		secrets, whose @trust is set
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
static int secrets_trust(const struct moat_config *c, const char *name,
			 struct secrets *sc, char **err)
{
	autofree char *bpath = state_path(c, name, SECRETS_BUNDLE_FILE);
	const char *tf = secrets_trust_file();
	autofree char *trust = NULL, *ca = NULL, *all = NULL;
	size_t tlen, clen;
	char ebuf[160];
	int e;

	snprintf(sc->trust_file, sizeof(sc->trust_file), "%s", tf);
	sc->trust = X509_STORE_new();
	if (!sc->trust || !X509_STORE_load_file(sc->trust, tf)) {
		*err = xasprintf("cannot load the trust store %s: %s", tf,
				 secrets_ssl_err(ebuf, sizeof(ebuf)));
		return -1;
	}
	trust = secrets_read_all(tf, &tlen);
	ca = secrets_pem(NULL, sc->ca, &clen);
	if (!trust || !ca) {
		*err = xasprintf("cannot read the trust store %s: %s", tf,
				 strerror(errno));
		return -1;
	}
	all = xasprintf("%s%s# moat: the certificate authority of sandbox %s\n%s",
			trust, tlen && trust[tlen - 1] != '\n' ? "\n" : "",
			name, ca);
	e = secrets_write_file(bpath, all, strlen(all), 0644);
	if (e) {
		*err = xasprintf("cannot write %s: %s", bpath, strerror(-e));
		return -1;
	}
	return 0;
}

/**
 * secrets_start() - a sandbox's secrets, for its supervisor and worker
 * @c:		settings
 * @name:	sandbox
 * @p:		policy
 * @out:	filled in (zeroed first); secrets_free() releases it
 * @err:	set to an allocated message on failure (naming the secret and
 *		its source, never its value)
 *
 * Called by the supervisor before it starts its worker; nothing is done
 * unless the policy intercepts something. The process is made
 * non-dumpable, without core files, first.
 *
 * Return: 0, or -1 with @err set (@out released)
 */
int secrets_start(const struct moat_config *c, const char *name,
		  const struct policy *p, struct secrets *out, char **err)
{
	struct rlimit nocore = { 0, 0 };
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!secrets_wanted(p))
		return 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
	    setrlimit(RLIMIT_CORE, &nocore)) {
		*err = xasprintf("cannot forbid core dumps: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < p->nsecrets; i++)
		if (secrets_read_value(&p->secrets[i], &out->s[i], err))
			goto fail;
	out->n = p->nsecrets;
	if (secrets_placeholders(c, name, p, out, err) ||
	    secrets_ca(c, name, p, out, err) ||
	    secrets_trust(c, name, out, err))
		goto fail;
	return 0;
fail:
	out->n = POLICY_SECRETS_MAX;	/* wipe whatever was read */
	secrets_free(out);
	return -1;
}

/**
 * secrets_free() - wipe and release a sandbox's secrets
 * @sc:		secrets
 */
void secrets_free(struct secrets *sc)
{
	size_t i;

	for (i = 0; i < POLICY_SECRETS_MAX; i++) {
		if (!sc->s[i].value)
			continue;
		explicit_bzero(sc->s[i].value, SECRET_VALUE_MAX + 2);
		munmap(sc->s[i].value, SECRET_VALUE_MAX + 2);
	}
	EVP_PKEY_free(sc->ca_key);
	X509_free(sc->ca);
	X509_STORE_free(sc->trust);
	explicit_bzero(sc, sizeof(*sc));
}

/**
 * secrets_exec_env() - the environment of a command "moat run" or "moat
 * exec" starts in a sandbox with secrets
 * @c:		settings
 * @name:	sandbox
 * @p:		its policy
 * @bundle:	set to the host path of the sandbox's CA bundle (to be
 *		freed), or NULL when the policy intercepts nothing
 *
 * In moat's own environment, which the command inherits: each from_env
 * variable is removed (the command must not inherit the value moat's
 * caller had), then each secret's name is set to its placeholder, and
 * SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS
 * and GIT_SSL_CAINFO to SECRETS_BUNDLE_INSIDE, where exec.c shows the
 * bundle.
 *
 * Return: 0, or -1 after printing why
 */
int secrets_exec_env(const struct moat_config *c, const char *name,
		     const struct policy *p, char **bundle)
{
	static const char *const vars[] = {
		"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
		"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
	};
	autofree char *path = NULL;
	autofclose FILE *f = NULL;
	char line[SECRET_NAME_MAX + SECRETS_PH_MAX + 8];
	size_t i, found = 0;

	*bundle = NULL;
	if (!secrets_wanted(p))
		return 0;
	for (i = 0; i < p->nsecrets; i++)
		if (p->secrets[i].from_env)
			unsetenv(p->secrets[i].source);
	path = state_path(c, name, SECRETS_ENV_FILE);
	f = fopen(path, "re");
	if (!f && p->nsecrets) {
		msg_err("cannot read the placeholders of '%s' (%s): %s", name,
			path, strerror(errno));
		return -1;
	}
	while (f && fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		line[strcspn(line, "\n")] = '\0';
		if (!eq)
			continue;
		*eq = '\0';
		for (i = 0; i < p->nsecrets; i++) {
			if (strcmp(p->secrets[i].name, line) ||
			    !secrets_placeholder_valid(eq + 1, line))
				continue;
			setenv(line, eq + 1, 1);
			found++;
		}
	}
	if (found != p->nsecrets) {
		msg_err("the placeholders of '%s' (%s) do not match its policy",
			name, path);
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(vars); i++)
		setenv(vars[i], SECRETS_BUNDLE_INSIDE, 1);
	*bundle = state_path(c, name, SECRETS_BUNDLE_FILE);
	return 0;
}
