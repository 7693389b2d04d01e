// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * names.c - host names and domain patterns: what a valid name is, its
 * normal form, and matching a name against a policy's pattern
 *
 * Theory of operation
 * -------------------
 * Names reach moat from four places: the domain rules and dns section of
 * a policy (policy loader and command line: any case, UTF-8), the
 * questions a sandbox sends its DNS interceptor (worker/dns.c), the SNI of
 * a TLS ClientHello (worker/tls.c) and the Host of an HTTP request
 * (worker/http.c). All four are judged by one rule, here:
 *
 *   a host name is 1 to NAMES_MAX (253) characters, without its trailing
 *   dot; its labels are 1 to NAMES_LABEL_MAX (63) characters of a-z, 0-9,
 *   '-' and '_' that do not start or end with '-' (RFC 1123 host names,
 *   plus the '_' of service names such as _dmarc or _sip._tcp); a label
 *   "xn--..." is punycode that decodes to a label IDNA2008 allows; the
 *   last label is not a number (decimal digits, or "0x" and hex digits):
 *   resolvers and browsers read "1.2.3.4", "0x7f.1" and "2130706433" as
 *   IPv4 addresses.
 *
 * Its normal form is lower case, without the trailing dot, non-ASCII
 * labels in punycode. Each place applies the rule as its input needs:
 *
 *   - names_normalise(), for the policy: UTF-8 in, non-ASCII names
 *     converted by libidn2 (IDNA2008 lookup rules, UTS #46 non-transitional
 *     mapping, as browsers do), "*.suffix" patterns where the caller allows
 *     them; a name that fails is an error, with the reason;
 *   - names_host(), for SNI and Host: bytes from the network, ASCII only;
 *     an address literal is told apart (the proxy judges it as no name,
 *     by its address rules), anything else that fails is invalid (the
 *     proxy refuses it);
 *   - names_fold(), for DNS questions: case and trailing dot only, so that
 *     every question is answered as before (a name with escaped bytes, or
 *     too long, fails here, and the interceptor treats it as a name no
 *     rule can match); names_match() then matches no pattern with a name
 *     that is not a valid host name.
 *
 * Matching is on whole labels: "github.com" matches only itself,
 * "*.github.com" a name ending in ".github.com" with at least one label
 * more, never "github.com" nor "evilgithub.com". A pattern was checked
 * when it was loaded, so a name equal to it is valid; a name a wildcard
 * matches has its own leading labels checked. names_covers() compares two
 * patterns, for the policy's warnings about shadowed rules.
 */
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "names.h"

#define NAMES_INPUT_MAX		1024	/* bytes of UTF-8 a policy may write */
#define NAMES_ACE		"xn--"	/* the prefix of a punycode label */
#define NAMES_ACE_LEN		4
#define NAMES_IDN_FLAGS		(IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

/**
 * names_lower() - ASCII lower case of a byte, other bytes unchanged
 * @c:		byte
 *
 * Return: the byte, 'A'..'Z' as 'a'..'z'
 */
static char names_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/**
 * names_alabel_bad() - check that a punycode label decodes and is allowed
 * @l:		label, "xn--..." in lower case
 * @len:	its length, at most NAMES_LABEL_MAX
 *
 * Each label is checked on its own, so that a name mixing an A-label with
 * ASCII labels that IDNA would refuse but DNS allows ("a--b") still passes.
 *
 * Return: NULL if it is valid, or a static reason
 */
static const char *names_alabel_bad(const char *l, size_t len)
{
	char buf[NAMES_LABEL_MAX + 1];
	uint8_t *out = NULL;
	int rc;

	memcpy(buf, l, len);
	buf[len] = '\0';
	rc = idn2_lookup_u8((const uint8_t *)buf, &out, NAMES_IDN_FLAGS);
	idn2_free(out);
	return rc == IDN2_OK ? NULL : idn2_strerror(rc);
}

/**
 * names_label_bad() - check one label of a name in normal form
 * @l:		label (not terminated)
 * @len:	its length
 *
 * Return: NULL if it is valid, or a static reason
 */
static const char *names_label_bad(const char *l, size_t len)
{
	size_t i;

	if (!len)
		return "empty label";
	if (len > NAMES_LABEL_MAX)
		return "label longer than 63 characters";
	for (i = 0; i < len; i++) {
		char c = l[i];

		if (c == '*')
			return "'*' is only allowed as the whole leftmost label, as in *.example.com";
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return "invalid character (allowed: letters, digits, '-', '_')";
	}
	if (l[0] == '-' || l[len - 1] == '-')
		return "label starts or ends with '-'";
	if (len >= NAMES_ACE_LEN && !memcmp(l, NAMES_ACE, NAMES_ACE_LEN))
		return names_alabel_bad(l, len);
	return NULL;
}

/**
 * names_labels_bad() - check every label of a name or of its first labels
 * @name:	lower-case ASCII (not terminated)
 * @len:	its length
 * @last:	set to the start of the last label
 *
 * Return: NULL if every label is valid, or a static reason
 */
static const char *names_labels_bad(const char *name, size_t len,
				    const char **last)
{
	const char *label = name, *end = name + len, *dot, *why;

	for (;;) {
		dot = memchr(label, '.', (size_t)(end - label));
		why = names_label_bad(label, (size_t)((dot ? dot : end) - label));
		if (why || !dot)
			break;
		label = dot + 1;
	}
	*last = label;
	return why;
}

/**
 * names_is_number() - tell if a label reads as a number
 * @l:		lower-case label (not terminated)
 * @len:	its length, at least 1
 *
 * Return: true for decimal digits, or "0x" and at least one hex digit
 */
static bool names_is_number(const char *l, size_t len)
{
	bool hex = len > 2 && l[0] == '0' && l[1] == 'x';
	size_t i;

	for (i = hex ? 2 : 0; i < len; i++) {
		if (!((l[i] >= '0' && l[i] <= '9') ||
		      (hex && l[i] >= 'a' && l[i] <= 'f')))
			return false;
	}
	return true;
}

/**
 * names_check() - apply the rule to a name in normal form
 * @name:	lower-case ASCII, no trailing dot, no wildcard (not terminated:
 *		a NUL byte in it is an invalid character)
 * @len:	its length
 * @why:	set to a static reason unless the name is valid
 *
 * Return: NAMES_HOST, NAMES_ADDRESS (the last label is a number) or
 *	   NAMES_INVALID
 */
static enum names_kind names_check(const char *name, size_t len,
				   const char **why)
{
	const char *last;

	if (len > NAMES_MAX) {
		*why = "name longer than 253 characters";
		return NAMES_INVALID;
	}
	*why = names_labels_bad(name, len, &last);
	if (*why)
		return NAMES_INVALID;
	if (names_is_number(last, (size_t)(name + len - last))) {
		*why = "the last label is numeric";
		return NAMES_ADDRESS;
	}
	return NAMES_HOST;
}

/**
 * names_idn() - convert a lower-case name with non-ASCII labels to punycode
 * @name:	NUL-terminated UTF-8, in a buffer of NAMES_INPUT_MAX + 1 bytes;
 *		replaced by its punycode form, lower case, no trailing dot
 * @why:	set to a static reason on failure
 *
 * Return: the new length, or -1
 */
static int names_idn(char *name, const char **why)
{
	uint8_t *puny = NULL;
	size_t len, i;
	int rc;

	rc = idn2_lookup_u8((const uint8_t *)name, &puny, NAMES_IDN_FLAGS);
	if (rc != IDN2_OK) {
		*why = idn2_strerror(rc);
		return -1;
	}
	len = strlen((char *)puny);
	if (len > NAMES_MAX) {
		idn2_free(puny);
		*why = "name longer than 253 characters";
		return -1;
	}
	memcpy(name, puny, len + 1);
	idn2_free(puny);
	for (i = 0; i < len; i++)
		name[i] = names_lower(name[i]);
	if (len && name[len - 1] == '.')
		name[--len] = '\0';
	return (int)len;
}

/**
 * names_normalise() - validate and normalise a name or pattern of a policy
 * @in:		name as written: any case, optional trailing dot, UTF-8
 * @out:	buffer for the normalised name
 * @outlen:	size of @out
 * @allow_wildcard:	accept "*.suffix", suffix of at least two labels
 * @why:	set to a static reason on failure
 *
 * The result is lower case, has no trailing dot, and has its non-ASCII
 * labels converted to punycode ("xn--..."); it follows the rule of this
 * file's theory of operation, and the whole name, "*." included, is at
 * most NAMES_MAX characters.
 *
 * Return: 0 on success, -1 with *@why set
 */
int names_normalise(const char *in, char *out, size_t outlen,
		    bool allow_wildcard, const char **why)
{
	char buf[NAMES_INPUT_MAX + 1];
	bool wild = false, ascii = true;
	size_t len, i, nlabels;
	char *name;
	int n;

	*why = NULL;
	len = strlen(in);
	if (!len) {
		*why = "empty name";
		return -1;
	}
	if (len > NAMES_INPUT_MAX) {
		*why = "name too long";
		return -1;
	}
	memcpy(buf, in, len + 1);

	if (buf[0] == '*' && (buf[1] == '.' || !buf[1])) {
		if (!allow_wildcard) {
			*why = "wildcards are not allowed here";
			return -1;
		}
		if (!buf[1]) {
			*why = "a lone '*' matches everything; use egress.default";
			return -1;
		}
		wild = true;
	}
	name = wild ? buf + 2 : buf;
	len = strlen(name);
	if (len && name[len - 1] == '.')
		name[--len] = '\0';
	if (!len) {
		*why = "empty name";
		return -1;
	}

	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] >= 0x80)
			ascii = false;
		else
			name[i] = names_lower(name[i]);
	}
	if (!ascii) {
		n = names_idn(name, why);
		if (n < 0)
			return -1;
		len = (size_t)n;
	}

	if (names_check(name, len, why) != NAMES_HOST)
		return -1;
	for (i = 0, nlabels = 1; i < len; i++)
		nlabels += name[i] == '.';
	if (wild && nlabels < 2) {
		*why = "a wildcard needs at least two labels after '*.' (it would cover a whole top-level domain)";
		return -1;
	}
	if (len + (wild ? 2 : 0) > NAMES_MAX) {
		*why = "name longer than 253 characters";
		return -1;
	}
	if (len + (wild ? 2 : 0) + 1 > outlen) {
		*why = "name too long";
		return -1;
	}
	snprintf(out, outlen, "%s%s", wild ? "*." : "", name);
	return 0;
}

/**
 * names_host() - judge and normalise a name a client sent (SNI, Host)
 * @p:		name bytes (not terminated)
 * @len:	their number
 * @out:	the name in lower case, without its trailing dot: written
 *		unless the bytes hold ':' or '[' or are empty or too long
 * @outlen:	size of @out, NAMES_MAX + 1 for any valid name
 *
 * One trailing dot is tolerated and removed. An address literal holds ':'
 * or '[' (IPv6, or a port left in), or has a number as its last label.
 *
 * Return: NAMES_HOST, NAMES_ADDRESS or NAMES_INVALID
 */
enum names_kind names_host(const uint8_t *p, size_t len, char *out,
			   size_t outlen)
{
	const char *why;
	size_t i;

	if (memchr(p, ':', len) || memchr(p, '[', len))
		return NAMES_ADDRESS;
	if (len && p[len - 1] == '.')
		len--;
	if (!len || len > NAMES_MAX || len >= outlen)
		return NAMES_INVALID;
	for (i = 0; i < len; i++)
		out[i] = names_lower((char)p[i]);
	out[len] = '\0';
	return names_check(out, len, &why);
}

/**
 * names_fold() - a DNS question's name in normal form, valid or not
 * @in:		presentation form (ldns_rdf2str()), maybe with a trailing dot
 * @out:	lower case, no trailing dot ("" for the root)
 * @outlen:	size of @out
 *
 * Names on the wire are already ASCII (IDN as punycode). A name with
 * escaped bytes (anything ldns writes with "\\") is refused; any other is
 * folded whether it is a valid host name or not (names_match() tells).
 *
 * Return: 0, or -1 if the name is too long or holds escapes
 */
int names_fold(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), i;

	if (n && in[n - 1] == '.')
		n--;
	if (n >= outlen || n > NAMES_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (in[i] == '\\')
			return -1;
		out[i] = names_lower(in[i]);
	}
	out[n] = '\0';
	return 0;
}

/**
 * names_match() - tell if a name matches a pattern
 * @pattern:	normalised pattern (names_normalise()): exact or "*.suffix"
 * @name:	name in normal form (names_host(), names_fold())
 *
 * Whole labels only: "*.github.com" matches "a.github.com" but neither
 * "github.com" nor "evilgithub.com"; "github.com" matches only itself. A
 * name that is not a valid host name matches nothing.
 *
 * Return: true if it matches
 */
bool names_match(const char *pattern, const char *name)
{
	const char *last;
	size_t pl, nl;

	if (pattern[0] != '*' || pattern[1] != '.')
		return !strcmp(pattern, name);
	pattern++;			/* ".suffix" */
	pl = strlen(pattern);
	nl = strlen(name);
	if (nl <= pl || nl > NAMES_MAX || strcmp(name + nl - pl, pattern))
		return false;
	return !names_labels_bad(name, nl - pl, &last);
}

/**
 * names_covers() - tell if a pattern matches every name another one does
 * @a:		normalised pattern, exact or "*.suffix"
 * @b:		normalised pattern, exact or "*.suffix"
 *
 * "*.x" covers "a.x" and "*.a.x"; a pattern covers itself.
 *
 * Return: true if every name @b matches is matched by @a
 */
bool names_covers(const char *a, const char *b)
{
	size_t al, bl;

	if (!strcmp(a, b))
		return true;
	if (a[0] != '*')
		return false;
	a++;				/* ".suffix" */
	al = strlen(a);
	bl = strlen(b);
	return bl > al && !strcmp(b + bl - al, a);
}
