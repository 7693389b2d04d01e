// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * tls.c - bounded TLS ClientHello parser: server name (SNI) extraction
 *
 * Theory of operation
 * -------------------
 * The transparent proxy decides a TLS connection on the name the client
 * asked for, before a single byte reaches the destination. It accumulates
 * what the client sent so far and calls tls_client_hello() on the whole
 * prefix each time more arrives; the parser is stateless, so a ClientHello
 * split across TCP segments is simply parsed again once more bytes are in.
 *
 * The ClientHello may also be split across TLS records (RFC 8446 §5.1
 * allows a handshake message to span records, and post-quantum key shares
 * make hellos larger than one packet, often than one small record): every
 * record must be a handshake record (type 22, version 3.x, 1..2^14 bytes
 * long); their fragments are concatenated, up to the length the handshake
 * header announces. That length is bounded by TLS_HELLO_MAX (16 KiB):
 * anything larger is refused as TLS_TOO_LARGE, never buffered.
 *
 * The hello is then walked field by field, each length checked against
 * what contains it: session id, cipher suites, compression methods,
 * extensions. A repeated extension is malformed (RFC 8446 §4.2). The
 * server_name extension (RFC 6066 §3) must hold exactly one host_name; it
 * is judged by the host-name rule of names.c (names_host(): labels of
 * letters, digits, '-' and '_', 1..63 bytes, not starting or ending with
 * '-', 253 in all, one trailing dot tolerated and removed): a valid name
 * is accepted, an address literal (':' or '[', or a numeric last label:
 * the WHATWG rule that makes "1.2.3.4", "0x7f.1" and "2130706433" IPv4)
 * is TLS_SNI_IP, anything else TLS_SNI_INVALID.
 *
 * A TLS 1.3 server that answers with a HelloRetryRequest acts on the
 * client's second ClientHello, so the proxy follows the connection past
 * the first: tls_record() reads the headers of the client's next records,
 * tls_client_hello() judges a second hello the same way, and
 * tls_server_hello() reads the server's stream, across reads and records,
 * only as far as its first handshake message's type and random, which
 * tell a HelloRetryRequest (RFC 8446 §4.1.3) from anything else.
 *
 * Encrypted Client Hello (encrypted_client_hello, 0xfe0d): the inner hello
 * is unreadable by design; moat judges the outer SNI only, reports that
 * ECH was offered, and the policy applies to the outer (public) name. As
 * the DNS interceptor answers HTTPS/SVCB queries empty, clients do not get
 * ECH configurations through moat in the first place.
 */
#include <string.h>

#include "names.h"
#include "tls.h"

#define TLS_REC_HANDSHAKE	22
#define TLS_REC_MAX		16384	/* RFC 8446 §5.1 plaintext bound */
#define TLS_HS_CLIENT_HELLO	1
#define TLS_HS_HDR		4
#define TLS_EXT_SERVER_NAME	0x0000
#define TLS_EXT_ECH		0xfe0d
#define TLS_EXT_SEEN_MAX	128	/* distinct extensions we track */

/**
 * struct tls_cur - a bounded reader over a byte range
 * @p:		next byte
 * @n:		bytes left
 */
struct tls_cur {
	const uint8_t *p;
	size_t n;
};

/**
 * tls_get() - read a big-endian integer of 1 to 3 bytes
 * @c:		reader
 * @bytes:	width
 * @v:		value read
 *
 * Return: false if the range is too short
 */
static bool tls_get(struct tls_cur *c, unsigned bytes, size_t *v)
{
	unsigned i;

	if (c->n < bytes)
		return false;
	*v = 0;
	for (i = 0; i < bytes; i++)
		*v = (*v << 8) | c->p[i];
	c->p += bytes;
	c->n -= bytes;
	return true;
}

/**
 * tls_sub() - take a length-prefixed sub-range
 * @c:		reader, advanced past the sub-range
 * @lenbytes:	width of the length prefix
 * @sub:	the sub-range
 *
 * Return: false if the prefix or the range is too short
 */
static bool tls_sub(struct tls_cur *c, unsigned lenbytes, struct tls_cur *sub)
{
	size_t len;

	if (!tls_get(c, lenbytes, &len) || len > c->n)
		return false;
	sub->p = c->p;
	sub->n = len;
	c->p += len;
	c->n -= len;
	return true;
}

/**
 * tls_server_name() - parse the server_name extension
 * @c:		extension data
 * @out:	name written here
 *
 * Return: TLS_OK, TLS_NO_SNI, TLS_SNI_IP, TLS_SNI_INVALID or TLS_MALFORMED
 */
static enum tls_result tls_server_name(struct tls_cur c, char *out)
{
	enum tls_result r = TLS_NO_SNI;
	struct tls_cur list, name;
	bool seen = false;
	size_t type;

	if (!tls_sub(&c, 2, &list) || c.n || !list.n)
		return TLS_MALFORMED;
	while (list.n) {
		if (!tls_get(&list, 1, &type) || !tls_sub(&list, 2, &name))
			return TLS_MALFORMED;
		if (type != 0)		/* only host_name (0) is defined */
			continue;
		if (seen)		/* RFC 6066: one name per type */
			return TLS_MALFORMED;
		seen = true;
		switch (names_host(name.p, name.n, out, TLS_NAME_MAX + 1)) {
		case NAMES_HOST:
			r = TLS_OK;
			break;
		case NAMES_ADDRESS:
			r = TLS_SNI_IP;
			break;
		default:
			r = TLS_SNI_INVALID;
		}
	}
	return r;
}

/**
 * tls_hello_body() - walk a complete ClientHello body
 * @c:		the body, after the handshake header
 * @out:	results
 *
 * Return: TLS_OK or the reason the hello is refused
 */
static enum tls_result tls_hello_body(struct tls_cur c, struct tls_hello *out)
{
	uint16_t seen[TLS_EXT_SEEN_MAX];
	enum tls_result sni = TLS_NO_SNI;
	struct tls_cur sid, cs, comp, exts, data;
	size_t ver, type, nseen = 0, i;

	if (!tls_get(&c, 2, &ver) || (ver >> 8) != 3)
		return TLS_MALFORMED;
	if (c.n < 32)
		return TLS_MALFORMED;
	c.p += 32;				/* random */
	c.n -= 32;
	if (!tls_sub(&c, 1, &sid) || sid.n > 32)
		return TLS_MALFORMED;
	if (!tls_sub(&c, 2, &cs) || cs.n < 2 || cs.n % 2)
		return TLS_MALFORMED;
	if (!tls_sub(&c, 1, &comp) || comp.n < 1)
		return TLS_MALFORMED;
	if (!c.n)				/* no extensions at all */
		return TLS_NO_SNI;
	if (!tls_sub(&c, 2, &exts) || c.n)
		return TLS_MALFORMED;

	while (exts.n) {
		if (!tls_get(&exts, 2, &type) || !tls_sub(&exts, 2, &data))
			return TLS_MALFORMED;
		for (i = 0; i < nseen; i++)
			if (seen[i] == type)
				return TLS_MALFORMED;
		if (nseen == TLS_EXT_SEEN_MAX)
			return TLS_MALFORMED;
		seen[nseen++] = (uint16_t)type;

		if (type == TLS_EXT_SERVER_NAME)
			sni = tls_server_name(data, out->sni);
		else if (type == TLS_EXT_ECH)
			out->ech = true;
	}
	return sni;
}

/**
 * tls_client_hello() - parse the start of a client's TLS stream
 * @buf:	bytes the client sent so far
 * @len:	their number
 * @out:	results, valid when TLS_OK is returned (@out->ech and
 *		@out->consumed also for the other complete-hello results)
 *
 * Return: TLS_OK, TLS_NEED_MORE, or why the connection must be refused
 */
enum tls_result tls_client_hello(const uint8_t *buf, size_t len,
				 struct tls_hello *out)
{
	uint8_t hs[TLS_HS_HDR + TLS_HELLO_MAX];
	size_t have = 0, want = 0, off = 0;

	memset(out, 0, sizeof(*out));

	for (;;) {
		size_t rlen, take, before = have;

		if (len - off < TLS_REC_HDR) {
			/* Judge what we have of the header early */
			if (len > off && buf[off] != TLS_REC_HANDSHAKE)
				return off ? TLS_MALFORMED : TLS_NOT_TLS;
			if (len - off > 1 && buf[off + 1] != 3)
				return off ? TLS_MALFORMED : TLS_NOT_TLS;
			return TLS_NEED_MORE;
		}
		if (buf[off] != TLS_REC_HANDSHAKE || buf[off + 1] != 3)
			return off ? TLS_MALFORMED : TLS_NOT_TLS;
		rlen = (size_t)buf[off + 3] << 8 | buf[off + 4];
		if (!rlen || rlen > TLS_REC_MAX)
			return TLS_MALFORMED;

		/* Bytes of this record that belong to the hello */
		take = rlen;
		if (want && take > want - have)
			return TLS_MALFORMED;	/* another message follows */
		if (len - off - TLS_REC_HDR < take)
			take = len - off - TLS_REC_HDR;
		if (have + take > sizeof(hs))
			take = sizeof(hs) - have;
		memcpy(hs + have, buf + off + TLS_REC_HDR, take);
		have += take;

		if (!want && have >= 1 && hs[0] != TLS_HS_CLIENT_HELLO)
			return TLS_MALFORMED;
		if (!want && have >= TLS_HS_HDR) {
			want = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
			if (want > TLS_HELLO_MAX)
				return TLS_TOO_LARGE;
			want += TLS_HS_HDR;
			if (before + rlen > want)
				return TLS_MALFORMED;	/* another message follows */
		}
		if (len - off - TLS_REC_HDR < rlen)
			return TLS_NEED_MORE;	/* record incomplete */
		off += TLS_REC_HDR + rlen;
		if (want && have == want)
			break;
	}

	out->consumed = off;
	return tls_hello_body((struct tls_cur){ hs + TLS_HS_HDR,
						want - TLS_HS_HDR }, out);
}

/**
 * tls_record() - read the header of a record a client sends
 * @buf:	bytes from the start of a record
 * @len:	their number
 * @type:	its content type
 * @rlen:	the length of its body
 *
 * Return: TLS_OK, TLS_NEED_MORE for less than a header, TLS_MALFORMED
 *	   for a version other than 3.x or a length of 0 or beyond what a
 *	   protected record may have (2^14 + 256, RFC 8446 §5.2)
 */
enum tls_result tls_record(const uint8_t *buf, size_t len, uint8_t *type,
			   size_t *rlen)
{
	if (len < TLS_REC_HDR)
		return TLS_NEED_MORE;
	*type = buf[0];
	*rlen = (size_t)buf[3] << 8 | buf[4];
	if (buf[1] != 3 || !*rlen || *rlen > TLS_REC_MAX + 256)
		return TLS_MALFORMED;
	return TLS_OK;
}

/**
 * tls_server_hello() - tell a HelloRetryRequest from the server's stream
 * @s:		state, zeroed before the server's first byte
 * @buf:	the server's next bytes
 * @len:	their number
 *
 * Follows the records of the server's stream, across reads and record
 * boundaries, until the first handshake message has shown its type and
 * random: a ServerHello whose random is the fixed value of RFC 8446 §4.1.3
 * is a HelloRetryRequest. Anything else that comes first (another
 * message, a record of another type) is TLS_SERVER_OTHER. Nothing is
 * buffered beyond TLS_SERVER_SCAN_MSG bytes.
 *
 * Return: TLS_SERVER_NEED_MORE, TLS_SERVER_HRR or TLS_SERVER_OTHER
 */
enum tls_server_first tls_server_hello(struct tls_server_scan *s,
				       const uint8_t *buf, size_t len)
{
	static const uint8_t hrr[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
		0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
		0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	size_t i;

	for (i = 0; i < len; i++) {
		if (s->nhdr < TLS_REC_HDR) {
			s->hdr[s->nhdr++] = buf[i];
			if (s->nhdr < TLS_REC_HDR)
				continue;
			s->left = (size_t)s->hdr[3] << 8 | s->hdr[4];
			if (s->hdr[0] != TLS_REC_HANDSHAKE || s->hdr[1] != 3 ||
			    !s->left)
				return TLS_SERVER_OTHER;
			continue;
		}
		s->msg[s->nmsg++] = buf[i];
		if (--s->left == 0)
			s->nhdr = 0;		/* the message goes on in the next */
		if (s->msg[0] != 2)		/* server_hello */
			return TLS_SERVER_OTHER;
		if (s->nmsg == TLS_SERVER_SCAN_MSG)
			return memcmp(s->msg + TLS_HS_HDR + 2, hrr, sizeof(hrr)) ?
			       TLS_SERVER_OTHER : TLS_SERVER_HRR;
	}
	return TLS_SERVER_NEED_MORE;
}

/**
 * tls_result_str() - short reason for a result, as used in counters
 * @r:		result
 *
 * Return: a static string
 */
const char *tls_result_str(enum tls_result r)
{
	switch (r) {
	case TLS_OK:		return "ok";
	case TLS_NEED_MORE:	return "incomplete";
	case TLS_NOT_TLS:	return "not-tls";
	case TLS_MALFORMED:	return "tls-malformed";
	case TLS_TOO_LARGE:	return "tls-too-large";
	case TLS_NO_SNI:	return "no-sni";
	case TLS_SNI_IP:	return "sni-ip-literal";
	case TLS_SNI_INVALID:	return "sni-invalid";
	}
	return "unknown";
}
