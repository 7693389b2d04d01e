/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * tls.h - bounded TLS ClientHello parser: server name (SNI) extraction
 */
#ifndef MOAT_TLS_H
#define MOAT_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "names.h"

#define TLS_HELLO_MAX		16384	/* ClientHello handshake body bound */
#define TLS_NAME_MAX		NAMES_MAX	/* without dot/NUL */
#define TLS_REC_HDR		5	/* record header: type, version, length */

/**
 * enum tls_result - outcome of tls_client_hello()
 * @TLS_OK:		a complete ClientHello with a usable host name
 * @TLS_NEED_MORE:	well-formed so far, more bytes are needed
 * @TLS_NOT_TLS:	the first record is not a TLS handshake record
 * @TLS_MALFORMED:	lengths or structure are inconsistent
 * @TLS_TOO_LARGE:	the ClientHello exceeds TLS_HELLO_MAX
 * @TLS_NO_SNI:		no server_name extension, or no host_name entry
 * @TLS_SNI_IP:		the server name is an IPv4 or IPv6 literal
 * @TLS_SNI_INVALID:	the server name is not a valid DNS host name
 */
enum tls_result {
	TLS_OK = 0,
	TLS_NEED_MORE,
	TLS_NOT_TLS,
	TLS_MALFORMED,
	TLS_TOO_LARGE,
	TLS_NO_SNI,
	TLS_SNI_IP,
	TLS_SNI_INVALID,
};

/**
 * struct tls_hello - what tls_client_hello() found
 * @sni:	server name, lower case, without trailing dot, NUL-terminated
 * @ech:	an encrypted_client_hello extension was present (@sni is the
 *		outer, public name: the only one moat judges)
 * @consumed:	bytes of input the records holding the ClientHello take
 */
struct tls_hello {
	char sni[TLS_NAME_MAX + 1];
	bool ech;
	size_t consumed;
};

/**
 * enum tls_server_first - what a server's first handshake message is
 * @TLS_SERVER_NEED_MORE:	not known yet
 * @TLS_SERVER_HRR:		a HelloRetryRequest: the client's next
 *				ClientHello is the one the server acts on
 * @TLS_SERVER_OTHER:		anything else (a ServerHello, an alert, not
 *				TLS): the server takes no other ClientHello
 */
enum tls_server_first {
	TLS_SERVER_NEED_MORE = 0,
	TLS_SERVER_HRR,
	TLS_SERVER_OTHER,
};

#define TLS_SERVER_SCAN_MSG	38	/* handshake header, version, random */

/**
 * struct tls_server_scan - state of tls_server_hello() across reads
 * @hdr:	header of the current record
 * @nhdr:	bytes of it seen
 * @left:	bytes of the current record's body still to come
 * @msg:	first bytes of the first handshake message
 * @nmsg:	bytes of it seen
 */
struct tls_server_scan {
	uint8_t hdr[TLS_REC_HDR];
	unsigned nhdr;
	size_t left;
	uint8_t msg[TLS_SERVER_SCAN_MSG];
	unsigned nmsg;
};

enum tls_result tls_client_hello(const uint8_t *buf, size_t len,
				 struct tls_hello *out);
enum tls_result tls_record(const uint8_t *buf, size_t len, uint8_t *type,
			   size_t *rlen);
enum tls_server_first tls_server_hello(struct tls_server_scan *s,
				       const uint8_t *buf, size_t len);
const char *tls_result_str(enum tls_result r);

#endif /* MOAT_TLS_H */
