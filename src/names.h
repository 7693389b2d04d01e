/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * names.h - host names and domain patterns: one rule for what a name is,
 * normalisation, matching
 */
#ifndef MOAT_NAMES_H
#define MOAT_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAMES_MAX	253	/* presentation length, no trailing dot */
#define NAMES_LABEL_MAX	63	/* bytes in one label */

/**
 * enum names_kind - what a name received from a client is
 * @NAMES_HOST:		a valid host name
 * @NAMES_ADDRESS:	an address literal: holds ':' or '[', or its last
 *			label is a number ("1.2.3.4", "0x7f.1", "2130706433")
 * @NAMES_INVALID:	neither
 */
enum names_kind {
	NAMES_HOST = 0,
	NAMES_ADDRESS,
	NAMES_INVALID,
};

int names_normalise(const char *in, char *out, size_t outlen,
		    bool allow_wildcard, const char **why);
enum names_kind names_host(const uint8_t *p, size_t len, char *out,
			   size_t outlen);
int names_fold(const char *in, char *out, size_t outlen);
bool names_match(const char *pattern, const char *name);
bool names_covers(const char *a, const char *b);

#endif /* MOAT_NAMES_H */
