/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * secrets.h - a sandbox's secrets at run time: values, placeholders, its
 * certificate authority, the upstream trust store
 */
#ifndef MOAT_SECRETS_H
#define MOAT_SECRETS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy.h"
#include "state.h"

#define SECRETS_PH_PREFIX	"moat-secret-"
#define SECRETS_PH_RANDOM	32	/* hex digits of a placeholder */
#define SECRETS_PH_MAX		(sizeof(SECRETS_PH_PREFIX) - 1 + \
				 SECRET_NAME_MAX + 1 + SECRETS_PH_RANDOM)
#define SECRETS_ENV_FILE	"secrets.env"	/* placeholders, 0600 */
#define SECRETS_CA_KEY_FILE	"ca.key"	/* the CA's key, 0600 */
#define SECRETS_CA_FILE		"ca.pem"	/* the CA's certificate */
#define SECRETS_BUNDLE_FILE	"ca-bundle.pem"	/* trust store + ca.pem */
/* where "moat run" and "moat exec" show the bundle to their command */
#define SECRETS_BUNDLE_INSIDE	"/run/moat/ca-bundle.pem"

/**
 * struct secret_rt - one secret at run time
 * @name:	its name (the policy's)
 * @ph:		its placeholder, "moat-secret-NAME-<32 hex digits>"
 * @phlen:	length of @ph
 * @value:	the real value (locked in memory, wiped by secrets_free())
 * @vlen:	its length
 */
struct secret_rt {
	char name[SECRET_NAME_MAX + 1];
	char ph[SECRETS_PH_MAX + 1];
	size_t phlen;
	uint8_t *value;
	size_t vlen;
};

/**
 * struct secrets - a sandbox's secrets, in its supervisor and worker
 * @n:		number of secrets (the policy's, in its order)
 * @s:		the secrets
 * @ca_key:	the sandbox's CA's private key
 * @ca:		its certificate
 * @trust:	the host's trust store, for upstream certificates (loaded
 *		before the worker gives up its file system)
 * @trust_file:	the file it was loaded from
 */
struct secrets {
	size_t n;
	struct secret_rt s[POLICY_SECRETS_MAX];
	EVP_PKEY *ca_key;
	X509 *ca;
	X509_STORE *trust;
	char trust_file[256];
};

bool secrets_wanted(const struct policy *p);
int secrets_start(const struct moat_config *c, const char *name,
		  const struct policy *p, struct secrets *out, char **err);
void secrets_free(struct secrets *sc);
const char *secrets_trust_file(void);
int secrets_exec_env(const struct moat_config *c, const char *name,
		     const struct policy *p, char **bundle);
int secrets_placeholder_valid(const char *ph, const char *name);

#endif /* MOAT_SECRETS_H */
