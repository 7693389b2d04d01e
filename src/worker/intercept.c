// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * intercept.c - TLS interception of the names a policy lists, and the
 * secrets put into their requests
 *
 * Theory of operation
 * -------------------
 * Interception is opt-in per name: the names of a secret's hosts and of
 * the policy's intercept list (policy_intercepts()). Every other TLS
 * connection keeps the proxy's SNI-only path (fwd_proxy.c), its bytes
 * spliced untouched. For a listed name, once the proxy has judged the
 * ClientHello as for any other connection (the domain rules, the pins),
 * fwd_proxy_sniff() hands the client's socket and the bytes it read over
 * to intercept_take(), and the connection becomes one of this file's (a
 * table of its own, of limits.connections slots but at most
 * ICPT_CONNS_MAX: the proxy's slot is released at the hand-over; beyond
 * them a connection is reset, logged and counted). The bound is the
 * worker's memory: unlike a spliced connection, an intercepted one holds
 * its bytes in the worker, at most about 4 MiB each (see "Memory" below),
 * so 16 of them hold at most about 64 MiB, whatever the sandbox does:
 *
 *   - towards the client, moat completes the handshake with a leaf
 *     certificate for the SNI, signed by the sandbox's CA (secrets.c):
 *     made once per name (ECDSA P-256, one key for all leaves of the
 *     worker, valid 30 days), kept in a cache of ICPT_CACHE names;
 *   - towards the original destination, the worker connects (as its own
 *     UID: the kernel judges the connection by the sandbox's rules, as
 *     the proxy's) and makes a TLS connection with the same SNI,
 *     verifying the server's certificate against the host's trust store
 *     (loaded before the worker lost its file system: secrets.c) and the
 *     name (SSL_set1_host()). A failure refuses the request: the client
 *     gets a 403 with "X-Moat-Denied: upstream-certificate", the log the
 *     verification's reason, the counters one more;
 *   - between the two, the client's bytes go through the request
 *     rewriter (h1.c), which puts secrets into requests to their hosts
 *     and refuses any request that carries a placeholder anywhere else
 *     (403, "X-Moat-Denied: secret-leak", the log naming the secret,
 *     never its value); the server's bytes pass as they come, but for
 *     any secret's value in them, overwritten with '*' byte for byte
 *     (icpt_mask(): a server that echoes what it received does not hand
 *     the value to the sandbox; the framing stays right);
 *   - HTTP/2: a client that offers "h2" has its handshake held
 *     (icpt_hello()) until moat's with the server is done; if the server
 *     took "h2", the client gets it too and the bytes go through h2.c
 *     (icpt_h2_relay()), else both speak HTTP/1.1.
 *
 * OpenSSL reads and writes memory BIOs only: the worker moves the bytes
 * between them and the sockets itself, with recv(2) and send(2), so that
 * TLS needs no system call the worker's seccomp filter would not allow,
 * and back-pressure is in one place: a side is read only while what goes
 * to the other side (ICPT_PENDING_MAX) has room. Everything OpenSSL needs
 * from the file system (its configuration, the trust store, random
 * seeding) happens in intercept_init(), before the worker's isolation.
 *
 * Memory: each connection's buffers are bounded, so the table's size
 * bounds the whole. Per connection, at most ICPT_PENDING_MAX plus a read
 * (ICPT_READ) of ciphertext waiting each way in OpenSSL's memory BIOs and
 * as much queued for each socket (about 1.1 MiB), the rewritten requests
 * waiting for the destination (ICPT_PENDING_MAX), the rewriter's head
 * (HTTP_HEAD_MAX) and a Content-Length body buffered to replace in it
 * (H1_BODY_MAX, growing to at most twice that with its replacements,
 * beyond which the request is refused); over HTTP/2, h2.c's own bounds
 * (streams, fields, queued bodies), about as much. That is about 4 MiB,
 * and ICPT_CONNS_MAX of them about 64 MiB per worker. A budget shared by
 * all connections would let more of them be open at once, but a
 * connection waiting for memory another holds can wait for ever (two
 * requests each half buffered); a fixed number of slots, each with its
 * worst case reserved, cannot deadlock, and the connections beyond it
 * are refused at once, where the client sees it, rather than stalled.
 *
 * A secret's value is in the worker's memory only: the connection's
 * buffers that held it are wiped when freed (h1.c), the worker is not
 * dumpable and has no core file (isolate.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "fwd_internal.h"
#include "h1.h"
#include "h2.h"
#include "intercept.h"
#include "proxy.h"
#include "secrets.h"

/* #syscalls:worker socket setsockopt getsockopt connect epoll_ctl close
 * #syscalls:worker recvfrom sendto shutdown getrandom getpid */

#define ICPT_CACHE		64		/* leaf certificates kept */
#define ICPT_LEAF_DAYS		30
#define ICPT_READ		16384		/* bytes read at once */
#define ICPT_PENDING_MAX	(1 << 18)	/* bytes queued towards a side */
#define ICPT_HANDSHAKE_TIMEOUT	10		/* seconds */
#define ICPT_ROUNDS		64		/* relay rounds per event */
#define ICPT_CONNS_MAX		16		/* intercepted at once, at most */

/**
 * struct icpt_leaf - a cached leaf certificate, and the name's upstream
 * TLS session
 * @name:	the name it is for
 * @x:		the certificate
 * @up:		the last session the name's server gave (a ticket), to
 *		resume the next connection with (NULL if none)
 * @used:	when it was last handed out (least recently used goes)
 */
struct icpt_leaf {
	char name[NAMES_MAX + 1];
	X509 *x;
	SSL_SESSION *up;
	time_t used;
};

/**
 * struct icpt_conn - one intercepted connection
 * @used:	slot in use
 * @fd:		[0] the sandbox's client, [1] the original destination
 * @ssl:	TLS towards each
 * @rb:		what came from each socket, for OpenSSL to read
 * @wb:		what OpenSSL wrote, for each socket
 * @out:	ciphertext waiting for each socket
 * @off:	bytes of @out sent
 * @events:	epoll events registered for each descriptor
 * @connected:	the connection to the destination is established
 * @hs:		each handshake is done
 * @eof:	each side's TCP ended (or its TLS closed)
 * @writable:	the destination's socket was writable once (connected)
 * @shut_up:	the client ended: the destination's side ends when the
 *		requests before are sent
 * @shut_tls:	close_notify was sent to the destination
 * @closing:	close once @out[0] is sent
 * @deny:	a refusal to send the client once its handshake is done, or
 *		-1
 * @deny_secret: the secret of a secret-leak refusal, or -1
 * @since:	when it was taken
 * @last:	last progress
 * @name:	its name (SNI)
 * @dst:	the original destination
 * @dport:	its port
 * @h1:		the request rewriter
 * @sec:	the secrets as this connection sees them
 * @plain:	rewritten requests waiting to be encrypted to the destination
 * @plain_off:	bytes of @plain encrypted
 * @seen:	per secret: injections already counted
 * @seen_req:	requests already counted
 * @moved:	bytes moved so far (any step: the relay's rounds stop when
 *		a round moves none)
 * @rcarry:	the destination's bytes kept back (icpt_mask()), or NULL
 * @rclen:	bytes in @rcarry
 * @client_h2:	the client offers HTTP/2 (ALPN "h2")
 * @up_h2:	the destination accepted HTTP/2
 * @h2:		the HTTP/2 relay once both speak it (h2.c), else NULL
 * @h2seen:	its counters already added to the engine's
 * @ic:		the engine (for h2.c's refusals)
 * @proto_known: the protocol between the two was settled
 */
struct icpt_conn {
	bool used;
	int fd[2];
	SSL *ssl[2];
	BIO *rb[2];
	BIO *wb[2];
	struct h1_buf out[2];
	size_t off[2];
	uint32_t events[2];
	bool connected;
	bool hs[2];
	bool eof[2];
	bool writable;
	bool shut_up;
	bool shut_tls;
	bool closing;
	int deny;
	int deny_secret;
	time_t since;
	time_t last;
	char name[NAMES_MAX + 1];
	struct prefix dst;
	uint16_t dport;
	struct h1 h1;
	struct h1_secret sec[POLICY_SECRETS_MAX];
	struct h1_buf plain;
	size_t plain_off;
	uint64_t seen[POLICY_SECRETS_MAX];
	uint64_t seen_req;
	uint64_t moved;
	uint8_t *rcarry;
	size_t rclen;
	bool client_h2;
	bool up_h2;
	struct h2 *h2;
	struct h2 h2seen;
	struct icpt *ic;
	bool proto_known;
};

/**
 * struct icpt - the interception engine of one worker
 * @epfd:	the worker's epoll instance
 * @sec:	the sandbox's secrets (the worker's copy)
 * @pol:	its policy (which names are intercepted, who gets a secret)
 * @log:	the sandbox's log
 * @cnt:	counters (shared with the core)
 * @srv:	TLS context towards clients
 * @cli:	TLS context towards destinations (the trust store)
 * @leaf_key:	the key of every leaf certificate
 * @cache:	leaf certificates by name
 * @c:		connections
 * @max:	slots in @c
 * @plain:	the secrets as plain HTTP sees them: no host may receive any
 */
struct icpt {
	int epfd;
	const struct secrets *sec;
	const struct policy *pol;
	struct log *log;
	struct icpt_counters *cnt;
	SSL_CTX *srv;
	SSL_CTX *cli;
	EVP_PKEY *leaf_key;
	struct icpt_leaf cache[ICPT_CACHE];
	struct icpt_conn *c;
	size_t max;
	struct h1_secret plain[POLICY_SECRETS_MAX];
};

static void icpt_conn_close(struct icpt *ic, struct icpt_conn *c);
static void icpt_pump(struct icpt *ic, struct icpt_conn *c, unsigned idx);

/**
 * icpt_alpn() - pick the client's protocol: HTTP/2 where it offers it and
 * the destination accepted it, else HTTP/1.1
 * @ssl:	connection
 * @out:	set to the protocol chosen
 * @outlen:	its length
 * @in:		the client's list
 * @inlen:	its length
 * @arg:	unused
 *
 * Return: SSL_TLSEXT_ERR_OK, or SSL_TLSEXT_ERR_NOACK (no ALPN: the client
 *	   speaks HTTP/1.1, or fails)
 */
static int icpt_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		     const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1", h2[] = "\x02h2";
	const struct icpt_conn *c = SSL_get_app_data(ssl);
	unsigned char *sel;

	(void)arg;
	if (c && c->up_h2 && c->deny < 0 &&
	    SSL_select_next_proto(&sel, outlen, h2, sizeof(h2) - 1, in,
				  inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/**
 * icpt_hello() - a client's hello: hold it while the destination's
 * protocol is not known, if the client offers HTTP/2
 * @ssl:	connection
 * @al:		alert (unused)
 * @arg:	unused
 *
 * A client that offers "h2" gets it only if the destination accepts it
 * too, which the destination's handshake says: until that is done (or
 * has failed), the client's handshake waits here.
 *
 * Return: SSL_CLIENT_HELLO_SUCCESS, or SSL_CLIENT_HELLO_RETRY to wait
 */
static int icpt_hello(SSL *ssl, int *al, void *arg)
{
	struct icpt_conn *c = SSL_get_app_data(ssl);
	const unsigned char *p;
	size_t len, i;

	(void)al;
	(void)arg;
	if (!c)
		return SSL_CLIENT_HELLO_SUCCESS;
	if (!c->client_h2 &&
	    SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation,
				      &p, &len) && len > 2) {
		for (i = 2; i < len; i += 1 + (size_t)p[i])
			if (p[i] == 2 && i + 2 < len && !memcmp(p + i + 1, "h2", 2))
				c->client_h2 = true;
	}
	if (c->client_h2 && !c->hs[1] && c->deny < 0 && c->fd[1] >= 0)
		return SSL_CLIENT_HELLO_RETRY;
	return SSL_CLIENT_HELLO_SUCCESS;
}

/**
 * icpt_ssl_err() - the last OpenSSL error as text, and the queue cleared
 * @buf:	buffer
 * @len:	its size
 *
 * Return: @buf
 */
static const char *icpt_ssl_err(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "connection closed");
	ERR_clear_error();
	return buf;
}

/**
 * icpt_leaf_find() - the cache entry of a name
 * @ic:		engine
 * @name:	the name
 *
 * Return: the entry, or NULL
 */
static struct icpt_leaf *icpt_leaf_find(struct icpt *ic, const char *name)
{
	size_t i;

	for (i = 0; name && i < ICPT_CACHE; i++)
		if (ic->cache[i].x && !strcmp(ic->cache[i].name, name))
			return &ic->cache[i];
	return NULL;
}

/**
 * icpt_new_session() - a server gave a session: keep it for its name
 * @ssl:	the upstream connection
 * @sess:	the session (a reference that is now ours)
 *
 * The next connection to the name resumes it: no certificate to send,
 * sign and verify again (it was verified for this name when the session
 * was made).
 *
 * Return: 1 (the reference is kept), or 0 (not kept)
 */
static int icpt_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct icpt *ic = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct icpt_leaf *l;

	if (!ic || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	l = icpt_leaf_find(ic, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	if (!l)
		return 0;
	SSL_SESSION_free(l->up);
	l->up = sess;
	return 1;
}

/**
 * intercept_init() - the engine, before the worker's isolation
 * @epfd:	the worker's epoll instance
 * @sec:	the sandbox's secrets and CA (secrets_start())
 * @pol:	the worker's policy
 * @max:	connections at once (limits.connections; at most
 *		ICPT_CONNS_MAX are taken)
 * @log:	the sandbox's log
 * @cnt:	counters (in the shared region)
 * @err:	set to an allocated message on failure
 *
 * Return: the engine, or NULL with @err set
 */
struct icpt *intercept_init(int epfd, const struct secrets *sec,
			    const struct policy *pol, size_t max,
			    struct log *log, struct icpt_counters *cnt,
			    char **err)
{
	struct icpt *ic = xcalloc(1, sizeof(*ic));
	char ebuf[160];
	size_t i;

	ic->epfd = epfd;
	ic->sec = sec;
	ic->pol = pol;
	ic->log = log;
	ic->cnt = cnt;
	ic->max = max < ICPT_CONNS_MAX ? max : ICPT_CONNS_MAX;
	max = ic->max;
	ic->c = xcalloc(max, sizeof(*ic->c));
	for (i = 0; i < max; i++)
		ic->c[i].fd[0] = ic->c[i].fd[1] = -1;
	for (i = 0; i < sec->n && i < POLICY_SECRETS_MAX; i++) {
		ic->plain[i].ph = (const uint8_t *)sec->s[i].ph;
		ic->plain[i].phlen = sec->s[i].phlen;
	}

	ic->srv = SSL_CTX_new(TLS_server_method());
	ic->cli = SSL_CTX_new(TLS_client_method());
	ic->leaf_key = EVP_EC_gen("P-256");
	if (!ic->srv || !ic->cli || !ic->leaf_key || !sec->trust ||
	    !SSL_CTX_set_min_proto_version(ic->srv, TLS1_2_VERSION) ||
	    !SSL_CTX_set_min_proto_version(ic->cli, TLS1_2_VERSION) ||
	    SSL_CTX_set_alpn_protos(ic->cli,
				    (const unsigned char *)"\x08http/1.1", 9)) {
		*err = xasprintf("TLS interception: %s",
				 icpt_ssl_err(ebuf, sizeof(ebuf)));
		intercept_close(ic);
		return NULL;
	}
	SSL_CTX_set1_cert_store(ic->cli, sec->trust);
	SSL_CTX_set_verify(ic->cli, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_select_cb(ic->srv, icpt_alpn, NULL);
	SSL_CTX_set_client_hello_cb(ic->srv, icpt_hello, NULL);
	SSL_CTX_set_options(ic->srv, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_options(ic->cli, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ic->srv, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_cache_mode(ic->cli, SSL_SESS_CACHE_CLIENT |
				       SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ic->cli, icpt_new_session);
	SSL_CTX_set_app_data(ic->cli, ic);
	return ic;
}

/**
 * intercept_wanted() - is a name intercepted
 * @ic:		engine, or NULL
 * @name:	normalised name (SNI)
 *
 * Return: true if the policy lists it (a secret's host, intercept)
 */
bool intercept_wanted(const struct icpt *ic, const char *name)
{
	return ic && name && *name && policy_intercepts(ic->pol, name);
}

/**
 * intercept_secret_name() - a secret's name by index
 * @ic:		engine
 * @idx:	index
 *
 * Return: its name, or "?"
 */
const char *intercept_secret_name(const struct icpt *ic, int idx)
{
	if (!ic || idx < 0 || (size_t)idx >= ic->sec->n)
		return "?";
	return ic->sec->s[idx].name;
}

/**
 * intercept_leak_scan() - does plain HTTP carry a placeholder
 * @ic:		engine, or NULL
 * @buf:	bytes (a request head on a plain-HTTP connection)
 * @len:	their number
 *
 * No secret is ever put into plain HTTP: its placeholder there, to any
 * host, is a leak.
 *
 * Return: the index of the secret, or -1
 */
int intercept_leak_scan(const struct icpt *ic, const uint8_t *buf, size_t len)
{
	size_t j;

	if (!ic)
		return -1;
	for (j = 0; j < ic->sec->n; j++)
		if (memmem(buf, len, ic->sec->s[j].ph, ic->sec->s[j].phlen))
			return (int)j;
	return -1;
}

/**
 * intercept_body_scan_new() - a searcher of plain-HTTP request bodies
 * @ic:		engine, or NULL
 *
 * No secret is ever put into plain HTTP: its placeholder in a body, to
 * any host, is a leak as in a head. The searcher is h1.c's streamed-body
 * path (h1_body()) with every secret refused: a placeholder split across
 * reads, TCP segments or chunks is seen whole.
 *
 * Return: the searcher (intercept_body_scan_free()), or NULL if the
 *	   sandbox has no secrets
 */
struct h1 *intercept_body_scan_new(const struct icpt *ic)
{
	struct h1 *h;

	if (!ic || !ic->sec->n)
		return NULL;
	h = xmalloc(sizeof(*h));
	if (h1_init(h, ic->plain, ic->sec->n, "")) {
		free(h);
		return NULL;
	}
	return h;
}

/**
 * intercept_body_scan() - search the next bytes of a plain-HTTP request
 * body for placeholders, and say which of them to keep back
 * @h:		searcher (intercept_body_scan_new())
 * @from:	the body's framing state before @buf (http.c)
 * @buf:	bytes of the body, as they come (chunk framing included): the
 *		ones kept back last time, then the new ones
 * @len:	their number
 * @keep:	set to the number of bytes at the end of @buf not to send yet
 *		(they may start a placeholder: 0 once the body ends)
 * @keep_from:	set to the framing state before those bytes
 *
 * The body's data is searched chunk by chunk as one stream (the framing
 * is followed on a copy of @from), and the bytes as sent (framing too:
 * chunk extensions, trailers) are searched whole. What may be the start
 * of a placeholder (h1.c's carry: at most a placeholder's length less one
 * of data, and the framing among and after it; or a tail of the bytes as
 * sent) is kept back by the caller and given again, first, with the next
 * bytes: a placeholder is never half sent.
 *
 * Return: the index of the secret whose placeholder the body carries, or
 *	   -1
 */
int intercept_body_scan(struct h1 *h, const struct http_body *from,
			const uint8_t *buf, size_t len, size_t *keep,
			struct http_body *keep_from)
{
	size_t pos[H1_PH_MAX], npos = 0, i = 0, used, off, j;
	struct http_body b = *from;
	struct h1_buf out = { 0 };
	enum h1_result r = H1_OK;
	bool done = false;
	uint64_t op;

	h->clen = 0;		/* what it held is in @buf again */
	while (i < len && r == H1_OK) {
		op = http_body_opaque(&b);
		if (op) {
			size_t n = op < len - i ? (size_t)op : len - i, q;

			for (q = n > H1_PH_MAX ? n - H1_PH_MAX : 0; q < n; q++)
				pos[npos++ % H1_PH_MAX] = i + q;
			http_body_skip(&b, n);
			r = h1_body(h, buf + i, n, false, &out);
			i += n;
		} else if (http_body_scan(&b, buf + i, 1, &used) == HTTP_OK) {
			done = true;
			break;
		} else {
			i++;	/* framing (a malformed one: the caller's) */
		}
		out.len = 0;	/* what is sent is the client's own bytes */
	}
	if (r == H1_OK && (done || http_body_scan(&b, buf, 0, &used) == HTTP_OK)) {
		done = true;
		r = h1_body(h, NULL, 0, true, &out);
	}
	h1_buf_free(&out);
	/* the bytes as sent, framing too (a chunk extension, a trailer),
	 * whole: what may start a placeholder was kept back and is here */
	for (j = 0; r == H1_OK && j < h->nsec; j++) {
		if (memmem(buf, len, h->sec[j].ph, h->sec[j].phlen)) {
			h->leak = j;
			r = H1_LEAK;
		}
	}
	*keep = 0;
	*keep_from = b;
	if (r != H1_OK || done)
		return r == H1_LEAK ? (int)h->leak : -1;
	off = len;
	if (h->clen && h->clen <= npos && h->clen <= H1_PH_MAX)
		off = pos[(npos - h->clen) % H1_PH_MAX];
	for (i = len > h->phmax ? len - h->phmax : 0; i < off; i++)
		for (j = 0; j < h->nsec; j++)
			if (len - i < h->sec[j].phlen &&
			    !memcmp(buf + i, h->sec[j].ph, len - i)) {
				off = i;
				break;
			}
	if (off < len) {
		*keep = len - off;
		*keep_from = *from;
		for (i = 0; i < off; ) {
			op = http_body_opaque(keep_from);
			if (op) {
				size_t n = op < off - i ? (size_t)op : off - i;

				http_body_skip(keep_from, n);
				i += n;
			} else {
				http_body_scan(keep_from, buf + i, 1, &used);
				i++;
			}
		}
	}
	return r == H1_LEAK ? (int)h->leak : -1;
}

/**
 * intercept_body_scan_free() - release a searcher
 * @h:		searcher, or NULL
 */
void intercept_body_scan_free(struct h1 *h)
{
	if (!h)
		return;
	h1_free(h);
	free(h);
}

/**
 * icpt_mint() - a leaf certificate for a name, signed by the sandbox's CA
 * @ic:		engine
 * @name:	the name
 *
 * Return: the certificate (owned by the cache), or NULL
 */
static X509 *icpt_mint(struct icpt *ic, const char *name)
{
	struct icpt_leaf *slot = &ic->cache[0];
	time_t now = time(NULL);
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	BIGNUM *bn;
	X509 *x;
	char san[NAMES_MAX + 8];
	size_t i;
	int ok;
	static const struct {
		int nid;
		const char *v;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_authority_key_identifier, "keyid" },
	};

	for (i = 0; i < ICPT_CACHE; i++) {
		if (ic->cache[i].x && !strcmp(ic->cache[i].name, name)) {
			ic->cache[i].used = now;
			return ic->cache[i].x;
		}
		if (!ic->cache[i].x || ic->cache[i].used < slot->used)
			slot = &ic->cache[i];
		if (!ic->cache[i].x)
			break;
	}
	x = X509_new();
	bn = BN_new();
	ok = x && bn && X509_set_version(x, 2) &&
	     BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)ICPT_LEAF_DAYS * 86400) &&
	     X509_set_pubkey(x, ic->leaf_key) &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					MBSTRING_ASC,
					(const unsigned char *)name, -1, -1, 0) &&
	     X509_set_issuer_name(x, X509_get_subject_name(ic->sec->ca));
	BN_free(bn);
	X509V3_set_ctx(&ctx, ic->sec->ca, x, NULL, NULL, 0);
	for (i = 0; ok && i < ARRAY_SIZE(exts); i++) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].v);
		ok = ext && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	snprintf(san, sizeof(san), "DNS:%s", name);
	if (ok) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		ok = ext && X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!ok || X509_sign(x, ic->sec->ca_key, EVP_sha256()) <= 0) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	X509_free(slot->x);
	SSL_SESSION_free(slot->up);
	slot->up = NULL;
	snprintf(slot->name, sizeof(slot->name), "%s", name);
	slot->x = x;
	slot->used = now;
	ic->cnt->leaf_minted++;
	return x;
}

/**
 * icpt_ref() - the epoll data of one side of a connection
 * @idx:	its slot
 * @side:	0 the client, 1 the destination
 * @fd:		descriptor
 *
 * Return: the packed value
 */
static uint64_t icpt_ref(unsigned idx, unsigned side, int fd)
{
	union sv_ref ref = { .type = SV_REF_ICPT, .idx = idx, .side = side,
			     .fd = fd };

	return ref.u64;
}

/**
 * icpt_log() - a decision on an intercepted connection, in the sandbox's log
 * @ic:		engine
 * @c:		connection
 * @r:		reason (PROXY_*)
 * @secret:	the secret of a secret-leak, or NULL
 * @why:	more (a verification error), or NULL
 */
static void icpt_log(struct icpt *ic, const struct icpt_conn *c,
		     enum proxy_reason r, const char *secret, const char *why)
{
	char dst[INET6_ADDRSTRLEN] = "", port[8];

	if (!ic->log)
		return;
	inet_ntop(c->dst.family, c->dst.addr, dst, sizeof(dst));
	snprintf(port, sizeof(port), "%u", c->dport);
	log_event(ic->log, "proxy", "proto", "tls", "dst", dst, "port", port,
		  "name", c->name, "action",
		  proxy_reason_allows(r) ? "allow" : "deny",
		  "reason", proxy_reason_str(r), "secret", secret ? secret : "",
		  "why", why ? why : "", NULL);
}

/**
 * intercept_take() - take over a TLS connection to an intercepted name
 * @ic:		engine
 * @fd:		the client's socket (taken: closed here on failure)
 * @dst:	its original destination
 * @port:	its port
 * @name:	the name its ClientHello gave, allowed by the policy
 * @hello:	the bytes read from it so far (its ClientHello, and more)
 * @len:	their number
 *
 * Return: 0, or -1 if it could not be taken (no slot, no memory: reset)
 */
int intercept_take(struct icpt *ic, int fd, const struct prefix *dst,
		   uint16_t port, const char *name, const uint8_t *hello,
		   size_t len)
{
	struct epoll_event ev = { .events = 0 };
	struct sockaddr_storage sa;
	struct icpt_conn *c = NULL;
	socklen_t salen;
	unsigned idx;
	size_t j;
	int one = 1;
	X509 *leaf;

	for (idx = 0; idx < ic->max; idx++)
		if (!ic->c[idx].used) {
			c = &ic->c[idx];
			break;
		}
	if (!c)
		goto fail;
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->fd[0] = fd;
	c->fd[1] = -1;
	c->deny = c->deny_secret = -1;
	c->since = c->last = time(NULL);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dst = *dst;
	c->dport = port;

	for (j = 0; j < ic->sec->n; j++) {
		const struct secret *ps = &ic->pol->secrets[j];

		c->sec[j].ph = (const uint8_t *)ic->sec->s[j].ph;
		c->sec[j].phlen = ic->sec->s[j].phlen;
		c->sec[j].val = ic->sec->s[j].value;
		c->sec[j].vlen = ic->sec->s[j].vlen;
		c->sec[j].allowed = policy_secret_for(ps, name);
		c->sec[j].replace_in = ps->replace_in;
		c->sec[j].set_header = ps->set_header;
		c->sec[j].set_value = ps->set_value;
	}
	if (h1_init(&c->h1, c->sec, ic->sec->n, name))
		goto fail_conn;

	leaf = icpt_mint(ic, name);
	for (j = 0; j < 2; j++) {
		c->rb[j] = BIO_new(BIO_s_mem());
		c->wb[j] = BIO_new(BIO_s_mem());
		if (!c->rb[j] || !c->wb[j])
			goto fail_conn;
		BIO_set_mem_eof_return(c->rb[j], -1);
	}
	c->ssl[0] = leaf ? SSL_new(ic->srv) : NULL;
	if (!c->ssl[0])
		goto fail_conn;
	SSL_set_bio(c->ssl[0], c->rb[0], c->wb[0]);	/* freed with it */
	SSL_set_app_data(c->ssl[0], c);
	c->ic = ic;
	if (SSL_use_certificate(c->ssl[0], leaf) != 1 ||
	    SSL_use_PrivateKey(c->ssl[0], ic->leaf_key) != 1)
		goto fail_conn;
	SSL_set_accept_state(c->ssl[0]);
	BIO_write(c->rb[0], hello, (int)len);

	c->fd[1] = socket(dst->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd[1] < 0)
		goto fail_conn;
	setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	salen = fwd_sockaddr(dst, port, &sa);
	if (connect(c->fd[1], (struct sockaddr *)&sa, salen) && errno != EINPROGRESS)
		goto fail_conn;
	ev.data.u64 = icpt_ref(idx, 0, c->fd[0]);
	if (epoll_ctl(ic->epfd, EPOLL_CTL_MOD, c->fd[0], &ev))
		goto fail_conn;
	ev.data.u64 = icpt_ref(idx, 1, c->fd[1]);
	if (epoll_ctl(ic->epfd, EPOLL_CTL_ADD, c->fd[1], &ev))
		goto fail_conn;
	ic->cnt->intercepted++;
	icpt_pump(ic, c, idx);
	return 0;

fail_conn:
	icpt_conn_close(ic, c);
	return -1;
fail:
	/* every slot taken: refused, as the proxy refuses beyond its own */
	ic->cnt->refused++;
	if (ic->log)
		log_event(ic->log, "proxy", "proto", "tls", "name", name,
			  "action", "deny", "reason",
			  proxy_reason_str(PROXY_DENY_LIMIT), NULL);
	fwd_reset(fd);
	close(fd);
	return -1;
}

/**
 * icpt_conn_close() - end a connection, release everything
 * @ic:		engine
 * @c:		connection
 */
static void icpt_conn_close(struct icpt *ic, struct icpt_conn *c)
{
	int k;

	(void)ic;
	for (k = 0; k < 2; k++) {
		if (c->ssl[k]) {
			SSL_free(c->ssl[k]);	/* its BIOs with it */
		} else {
			BIO_free(c->rb[k]);
			BIO_free(c->wb[k]);
		}
		if (c->fd[k] >= 0)
			close(c->fd[k]);
		h1_buf_free(&c->out[k]);
	}
	h1_free(&c->h1);
	h1_buf_free(&c->plain);
	if (c->h2) {
		h2_free(c->h2);
		free(c->h2);
	}
	if (c->rcarry) {
		explicit_bzero(c->rcarry, SECRET_VALUE_MAX);
		free(c->rcarry);
	}
	explicit_bzero(c, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
}

/**
 * icpt_recv() - read what a socket has into its read BIO
 * @c:		connection
 * @k:		side
 */
static void icpt_recv(struct icpt_conn *c, int k)
{
	uint8_t buf[ICPT_READ];
	ssize_t n;

	while (!c->eof[k] && BIO_ctrl_pending(c->rb[k]) < ICPT_PENDING_MAX) {
		n = recv(c->fd[k], buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			c->eof[k] = true;
			BIO_set_mem_eof_return(c->rb[k], 0);
			return;
		}
		BIO_write(c->rb[k], buf, (int)n);
		c->moved += (uint64_t)n;
		c->last = time(NULL);
	}
}

/**
 * icpt_send() - move OpenSSL's output to a socket
 * @c:		connection
 * @k:		side
 *
 * Return: 0, or -1 if the socket failed
 */
static int icpt_send(struct icpt_conn *c, int k)
{
	uint8_t buf[ICPT_READ];
	ssize_t n;
	char *p;
	long len;
	int r;

	/* nothing queued: straight from OpenSSL's buffer, what is left
	 * queued (one copy less for most bytes) */
	if (c->off[k] == c->out[k].len && (k == 0 || c->connected) &&
	    (len = BIO_get_mem_data(c->wb[k], &p)) > 0) {
		do
			n = send(c->fd[k], p, (size_t)len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN)
			return -1;
		if (n > 0) {
			c->moved += (uint64_t)n;
			c->last = time(NULL);
		}
		n = n < 0 ? 0 : n;
		c->out[k].len = c->off[k] = 0;
		if (h1_buf_put(&c->out[k], p + n, (size_t)(len - n)))
			return -1;
		BIO_reset(c->wb[k]);
	}
	/* what was sent goes: the queue never holds more than it must */
	if (c->off[k]) {
		memmove(c->out[k].p, c->out[k].p + c->off[k],
			c->out[k].len - c->off[k]);
		c->out[k].len -= c->off[k];
		c->off[k] = 0;
	}
	while ((r = BIO_read(c->wb[k], buf, sizeof(buf))) > 0)
		if (h1_buf_put(&c->out[k], buf, (size_t)r))
			return -1;
	while (c->off[k] < c->out[k].len) {
		if (k == 1 && !c->connected)
			return 0;
		n = send(c->fd[k], c->out[k].p + c->off[k],
			 c->out[k].len - c->off[k], MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->off[k] += (size_t)n;
		c->moved += (uint64_t)n;
		c->last = time(NULL);
	}
	c->out[k].len = c->off[k] = 0;
	return 0;
}

/**
 * icpt_pending() - ciphertext queued towards a side
 * @c:		connection
 * @k:		side
 *
 * Return: bytes
 */
static size_t icpt_pending(const struct icpt_conn *c, int k)
{
	return c->out[k].len - c->off[k] + BIO_ctrl_pending(c->wb[k]);
}

/**
 * icpt_refuse() - refuse the client's request: a 403 over its TLS, close
 * @ic:		engine
 * @c:		connection, its client handshake done
 * @r:		reason
 */
static void icpt_refuse(struct icpt *ic, struct icpt_conn *c,
			enum proxy_reason r)
{
	char resp[1024];
	int n = proxy_http_403(r, c->name, resp, sizeof(resp));

	(void)ic;
	if (n > 0)
		SSL_write(c->ssl[0], resp, n);
	SSL_shutdown(c->ssl[0]);
	c->closing = true;
	/* nothing of the refused request reaches the destination */
	if (c->fd[1] >= 0) {
		fwd_reset(c->fd[1]);
		close(c->fd[1]);
		c->fd[1] = -1;
	}
	h1_buf_free(&c->plain);
	c->plain_off = 0;
}

/**
 * icpt_upstream() - the connection to the destination: connected, TLS
 * @ic:		engine
 * @c:		connection
 *
 * Return: 0, or -1 after setting @c->deny
 */
static int icpt_upstream(struct icpt *ic, struct icpt_conn *c)
{
	struct icpt_leaf *l;
	char ebuf[160];
	long vr;
	int r, e;

	if (c->fd[1] < 0 || c->deny >= 0)
		return 0;
	if (!c->connected) {
		socklen_t el = sizeof(e);

		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &el) || e) {
			c->deny = (e == EHOSTUNREACH || e == EACCES ||
				   e == EPERM) ? PROXY_DENY_KERNEL :
				  PROXY_FAIL_CONNECT;
			icpt_log(ic, c, (enum proxy_reason)c->deny, NULL,
				 strerror(e ? e : errno));
			return -1;
		}
		/* writable means connected; before that, SO_ERROR is 0 too */
		if (!c->writable)
			return 0;
		c->connected = true;
		c->ssl[1] = SSL_new(ic->cli);
		if (c->ssl[1])	/* its BIOs are freed with it from now on */
			SSL_set_bio(c->ssl[1], c->rb[1], c->wb[1]);
		if (!c->ssl[1] || !SSL_set_tlsext_host_name(c->ssl[1], c->name) ||
		    !SSL_set1_host(c->ssl[1], c->name)) {
			c->deny = PROXY_FAIL_CONNECT;
			return -1;
		}
		SSL_set_connect_state(c->ssl[1]);
		if (c->client_h2)
			SSL_set_alpn_protos(c->ssl[1],
				(const unsigned char *)"\x02h2\x08http/1.1", 12);
		else
			SSL_set_alpn_protos(c->ssl[1],
				(const unsigned char *)"\x08http/1.1", 9);
		l = icpt_leaf_find(ic, c->name);
		if (l && l->up && SSL_SESSION_is_resumable(l->up))
			SSL_set_session(c->ssl[1], l->up);
	}
	if (c->hs[1])
		return 0;
	r = SSL_do_handshake(c->ssl[1]);
	if (r == 1) {
		const unsigned char *a;
		unsigned int alen;

		c->hs[1] = true;
		if (SSL_session_reused(c->ssl[1]))
			ic->cnt->resumed++;
		SSL_get0_alpn_selected(c->ssl[1], &a, &alen);
		c->up_h2 = alen == 2 && !memcmp(a, "h2", 2);
		return 0;
	}
	e = SSL_get_error(c->ssl[1], r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		if (c->eof[1])
			goto fail;
		return 0;
	}
fail:
	vr = SSL_get_verify_result(c->ssl[1]);
	if (vr != X509_V_OK) {
		c->deny = PROXY_DENY_UPSTREAM_CERT;
		ic->cnt->upstream_cert++;
		icpt_log(ic, c, PROXY_DENY_UPSTREAM_CERT, NULL,
			 X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else {
		c->deny = PROXY_FAIL_CONNECT;
		ic->cnt->upstream_tls++;
		icpt_log(ic, c, PROXY_FAIL_CONNECT, NULL,
			 icpt_ssl_err(ebuf, sizeof(ebuf)));
	}
	return -1;
}

/**
 * icpt_requests() - the client's bytes through the rewriter to the
 * destination
 * @ic:		engine
 * @c:		connection, both handshakes done
 *
 * Return: 0, or -1 after a refusal
 */
static int icpt_requests(struct icpt *ic, struct icpt_conn *c)
{
	uint8_t buf[ICPT_READ];
	enum proxy_reason pr;
	enum h1_result hr;
	size_t j;
	int n, e;

	while (!c->shut_up && c->plain.len - c->plain_off < ICPT_PENDING_MAX &&
	       icpt_pending(c, 1) < ICPT_PENDING_MAX) {
		n = SSL_read(c->ssl[0], buf, sizeof(buf));
		if (n <= 0) {
			e = SSL_get_error(c->ssl[0], n);
			/* nothing more for now: after an upgrade, what the
			 * rewriter kept back goes */
			hr = h1_idle(&c->h1, &c->plain);
			if (hr != H1_OK) {
				n = 0;
				goto refuse;
			}
			if (e == SSL_ERROR_WANT_READ && !c->eof[0])
				break;
			c->shut_up = true;	/* the client is done */
			ERR_clear_error();
			break;
		}
		c->moved += (uint64_t)n;
		hr = h1_feed(&c->h1, buf, (size_t)n, &c->plain);
		explicit_bzero(buf, (size_t)n);
		for (j = 0; j < ic->sec->n; j++) {
			ic->cnt->injected[j] += c->h1.injected[j] - c->seen[j];
			c->seen[j] = c->h1.injected[j];
		}
		ic->cnt->requests += c->h1.requests - c->seen_req;
		c->seen_req = c->h1.requests;
		if (hr == H1_OK)
			continue;
refuse:
		pr = hr == H1_LEAK ? PROXY_DENY_SECRET_LEAK :
		     hr == H1_HOST_MISMATCH ? PROXY_DENY_HOST_MISMATCH :
		     hr == H1_TOO_LARGE ? PROXY_DENY_HTTP_TOO_LARGE :
		     PROXY_DENY_HTTP_MALFORMED;
		if (hr == H1_LEAK) {
			ic->cnt->leaks++;
			if (c->h1.leak < POLICY_SECRETS_MAX)
				ic->cnt->leaked[c->h1.leak]++;
			icpt_log(ic, c, pr,
				 intercept_secret_name(ic, (int)c->h1.leak),
				 NULL);
		} else {
			ic->cnt->refused++;
			icpt_log(ic, c, pr, NULL, h1_result_str(hr));
		}
		icpt_refuse(ic, c, pr);
		return -1;
	}
	while (c->plain_off < c->plain.len) {
		size_t k = c->plain.len - c->plain_off;

		n = SSL_write(c->ssl[1], c->plain.p + c->plain_off,
			      (int)(k > ICPT_READ ? ICPT_READ : k));
		if (n <= 0)
			break;
		c->plain_off += (size_t)n;
	}
	if (c->plain_off == c->plain.len) {
		if (c->plain.p)
			explicit_bzero(c->plain.p, c->plain.len);
		c->plain.len = c->plain_off = 0;
		if (c->shut_up && !c->eof[1] && !c->shut_tls) {
			SSL_shutdown(c->ssl[1]);
			c->shut_tls = true;
		}
	}
	return 0;
}

/**
 * icpt_mask() - the destination's bytes to the client, any secret's value
 * in them masked
 * @ic:		engine
 * @c:		connection
 * @p:		bytes (NULL with @n 0 to flush what is kept back)
 * @n:		their number
 * @flush:	send what is kept back too
 *
 * A server may echo what it received (an error message quoting the key,
 * an echo endpoint): each secret's value in the response is overwritten
 * with '*', byte for byte, so that the framing (Content-Length, chunk
 * sizes) stays right. A tail that may be the start of a value is kept
 * back until more bytes come, or until the destination has nothing more
 * to send for now (@flush).
 */
static void icpt_mask(struct icpt *ic, struct icpt_conn *c, const uint8_t *p,
		      size_t n, bool flush)
{
	size_t len = c->rclen + n, cut = len, i, j, maxv = 0;
	uint8_t *tmp, *m;

	if (!len)
		return;
	if (!ic->sec->n) {
		SSL_write(c->ssl[0], p, (int)n);
		return;
	}
	tmp = xmalloc(len);
	if (c->rclen)
		memcpy(tmp, c->rcarry, c->rclen);
	if (n)
		memcpy(tmp + c->rclen, p, n);
	for (j = 0; j < ic->sec->n; j++) {
		const struct secret_rt *sr = &ic->sec->s[j];

		if (sr->vlen > maxv)
			maxv = sr->vlen;
		i = 0;
		while (i < len &&
		       (m = memmem(tmp + i, len - i, sr->value, sr->vlen))) {
			memset(m, '*', sr->vlen);
			ic->cnt->masked++;
			i = (size_t)(m - tmp) + sr->vlen;
		}
	}
	if (!flush) {
		/* the earliest tail that is the start of some value */
		for (i = len > maxv - 1 ? len - (maxv - 1) : 0; i < len && cut == len; i++)
			for (j = 0; j < ic->sec->n; j++) {
				const struct secret_rt *sr = &ic->sec->s[j];

				if (len - i < sr->vlen &&
				    !memcmp(tmp + i, sr->value, len - i)) {
					cut = i;
					break;
				}
			}
	}
	if (cut)
		SSL_write(c->ssl[0], tmp, (int)cut);
	c->rclen = len - cut;
	if (c->rclen) {
		if (!c->rcarry)
			c->rcarry = xmalloc(SECRET_VALUE_MAX);
		memcpy(c->rcarry, tmp + cut, c->rclen);
	}
	explicit_bzero(tmp, len);
	free(tmp);
}

/**
 * icpt_responses() - the destination's bytes to the client
 * @ic:		engine
 * @c:		connection, both handshakes done
 */
static void icpt_responses(struct icpt *ic, struct icpt_conn *c)
{
	uint8_t buf[ICPT_READ];
	int n, e;

	while (icpt_pending(c, 0) < ICPT_PENDING_MAX) {
		n = SSL_read(c->ssl[1], buf, sizeof(buf));
		if (n <= 0) {
			e = SSL_get_error(c->ssl[1], n);
			/* nothing more for now: what was kept back goes */
			icpt_mask(ic, c, NULL, 0, true);
			if (e == SSL_ERROR_WANT_READ && !c->eof[1])
				break;
			/* the destination is done: so is the connection */
			if (e != SSL_ERROR_ZERO_RETURN && !c->eof[1]) {
				char ebuf[160];

				icpt_log(ic, c, PROXY_FAIL_CONNECT, NULL,
					 icpt_ssl_err(ebuf, sizeof(ebuf)));
			}
			ERR_clear_error();
			SSL_shutdown(c->ssl[0]);
			c->closing = true;
			break;
		}
		icpt_mask(ic, c, buf, (size_t)n, false);
		explicit_bzero(buf, (size_t)n);
		c->moved += (uint64_t)n;
	}
}

/**
 * icpt_h2_refused() - h2.c refused a request: count it, log it
 * @arg:	the connection
 * @reason:	enum proxy_reason
 * @secret:	the secret of a secret-leak, or -1
 * @result:	the rewriter's result
 */
static void icpt_h2_refused(void *arg, int reason, int secret, int result)
{
	struct icpt_conn *c = arg;
	struct icpt *ic = c->ic;

	if (reason == PROXY_DENY_SECRET_LEAK) {
		ic->cnt->leaks++;
		if (secret >= 0 && secret < POLICY_SECRETS_MAX)
			ic->cnt->leaked[secret]++;
	} else {
		ic->cnt->refused++;
	}
	icpt_log(ic, c, (enum proxy_reason)reason,
		 secret >= 0 ? intercept_secret_name(ic, secret) : NULL,
		 secret >= 0 ? "http2" : h1_result_str((enum h1_result)result));
}

/**
 * icpt_h2_start() - HTTP/2 between the two, if the client was given it
 * @ic:		engine
 * @c:		connection, both handshakes done
 *
 * Return: 0, or -1 if the relay could not be made
 */
static int icpt_h2_start(struct icpt *ic, struct icpt_conn *c)
{
	const unsigned char *a;
	unsigned int alen;

	SSL_get0_alpn_selected(c->ssl[0], &a, &alen);
	if (alen != 2 || memcmp(a, "h2", 2))
		return 0;
	c->h2 = xcalloc(1, sizeof(*c->h2));
	if (h2_init(c->h2, c->sec, ic->sec->n, c->name)) {
		free(c->h2);
		c->h2 = NULL;
		return -1;
	}
	c->h2->on_refuse = icpt_h2_refused;
	c->h2->arg = c;
	return 0;
}

/**
 * icpt_h2_write() - frames to one side's TLS
 * @c:		connection
 * @k:		side
 * @o:		frames
 */
static void icpt_h2_write(struct icpt_conn *c, int k, const struct h1_buf *o)
{
	size_t off = 0, n;

	while (off < o->len) {
		n = o->len - off > ICPT_READ ? ICPT_READ : o->len - off;
		if (SSL_write(c->ssl[k], o->p + off, (int)n) <= 0)
			break;
		off += n;
	}
	c->moved += off;
}

/**
 * icpt_h2_relay() - move HTTP/2 both ways through h2.c
 * @ic:		engine
 * @c:		connection, @h2 set
 */
static void icpt_h2_relay(struct icpt *ic, struct icpt_conn *c)
{
	uint8_t buf[ICPT_READ];
	struct h1_buf o = { 0 };
	size_t j;
	int k, n, e;

	for (k = 0; k < 2 && !c->closing; k++) {
		while (icpt_pending(c, !k) < ICPT_PENDING_MAX &&
		       h2_queued(c->h2) < ICPT_PENDING_MAX) {
			n = SSL_read(c->ssl[k], buf, sizeof(buf));
			if (n <= 0) {
				e = SSL_get_error(c->ssl[k], n);
				if (e == SSL_ERROR_WANT_READ && !c->eof[k])
					break;
				ERR_clear_error();
				c->closing = true;	/* one side is done */
				break;
			}
			c->moved += (uint64_t)n;
			if (k ? h2_from_server(c->h2, buf, (size_t)n) :
				h2_from_client(c->h2, buf, (size_t)n)) {
				c->closing = true;
				break;
			}
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (!h2_to_server(c->h2, &o))
		icpt_h2_write(c, 1, &o);
	h1_buf_free(&o);
	if (!h2_to_client(c->h2, &o))
		icpt_h2_write(c, 0, &o);
	h1_buf_free(&o);
	for (j = 0; j < ic->sec->n; j++) {
		ic->cnt->injected[j] += c->h2->injected[j] - c->h2seen.injected[j];
		c->h2seen.injected[j] = c->h2->injected[j];
	}
	ic->cnt->requests += c->h2->requests - c->h2seen.requests;
	c->h2seen.requests = c->h2->requests;
	ic->cnt->masked += c->h2->masked - c->h2seen.masked;
	c->h2seen.masked = c->h2->masked;
	if (h2_done(c->h2))
		c->closing = true;
	if (c->closing)
		SSL_shutdown(c->ssl[0]);
}

/**
 * icpt_events() - register the events a connection waits for now
 * @ic:		engine
 * @c:		connection
 * @idx:	its slot
 */
static void icpt_events(struct icpt *ic, struct icpt_conn *c, unsigned idx)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct epoll_event ev = { 0 };

		if (c->fd[k] < 0)
			continue;
		if (!c->eof[k] && !c->closing &&
		    BIO_ctrl_pending(c->rb[k]) < ICPT_PENDING_MAX &&
		    icpt_pending(c, !k) < ICPT_PENDING_MAX)
			ev.events |= EPOLLIN;
		if (c->off[k] < c->out[k].len || (k == 1 && !c->connected))
			ev.events |= EPOLLOUT;
		if (ev.events == c->events[k])
			continue;
		ev.data.u64 = icpt_ref(idx, (unsigned)k, c->fd[k]);
		if (!epoll_ctl(ic->epfd, EPOLL_CTL_MOD, c->fd[k], &ev))
			c->events[k] = ev.events;
	}
}

/**
 * icpt_pump() - move a connection as far as it can go now
 * @ic:		engine
 * @c:		connection
 * @idx:	its slot
 */
static void icpt_pump(struct icpt *ic, struct icpt_conn *c, unsigned idx)
{
	int r, e, rounds;

	/* until a round moves nothing: what a round reads into a BIO wakes
	 * no epoll event later, so every step runs again on it */
	for (rounds = 0; rounds < ICPT_ROUNDS; rounds++) {
		uint64_t before = c->moved;

		icpt_recv(c, 0);
		if (c->fd[1] >= 0 && c->connected)
			icpt_recv(c, 1);
		if (!c->hs[0]) {
			r = SSL_do_handshake(c->ssl[0]);
			if (r == 1) {
				c->hs[0] = true;
			} else {
				e = SSL_get_error(c->ssl[0], r);
				if ((e != SSL_ERROR_WANT_READ &&
				     e != SSL_ERROR_WANT_WRITE &&
				     e != SSL_ERROR_WANT_CLIENT_HELLO_CB) ||
				    c->eof[0]) {
					char ebuf[160];

					ic->cnt->client_tls++;
					icpt_log(ic, c, PROXY_CLOSED_EARLY, NULL,
						 icpt_ssl_err(ebuf, sizeof(ebuf)));
					icpt_send(c, 0);	/* its alert */
					icpt_conn_close(ic, c);
					return;
				}
			}
		}
		icpt_upstream(ic, c);
		if (c->deny >= 0 && c->hs[0] && !c->closing)
			icpt_refuse(ic, c, (enum proxy_reason)c->deny);
		if (c->hs[0] && c->hs[1] && !c->closing && !c->proto_known) {
			c->proto_known = true;
			if (icpt_h2_start(ic, c))
				c->closing = true;
		}
		if (c->hs[0] && c->hs[1] && !c->closing && c->h2) {
			icpt_h2_relay(ic, c);
		} else if (c->hs[0] && c->hs[1] && !c->closing) {
			icpt_requests(ic, c);
			if (!c->closing)
				icpt_responses(ic, c);
		}
		if ((c->fd[1] >= 0 && icpt_send(c, 1)) || icpt_send(c, 0) ||
		    (c->closing && !icpt_pending(c, 0)) ||
		    (c->eof[0] && c->eof[1]) ||
		    (c->eof[0] && !c->hs[0])) {
			icpt_conn_close(ic, c);
			return;
		}
		if (c->moved == before)
			break;
	}
	if (c->shut_up && c->hs[1] && !icpt_pending(c, 1) && c->fd[1] >= 0)
		shutdown(c->fd[1], SHUT_WR);
	icpt_events(ic, c, idx);
}

/**
 * intercept_event() - an event on one side of an intercepted connection
 * @ic:		engine
 * @idx:	slot
 * @side:	0 the client, 1 the destination
 * @fd:		the descriptor the event is for
 * @events:	epoll events
 */
void intercept_event(struct icpt *ic, unsigned idx, unsigned side, int fd,
		     uint32_t events)
{
	struct icpt_conn *c;

	if (!ic || idx >= ic->max || !ic->c[idx].used || side > 1)
		return;
	c = &ic->c[idx];
	/* an event of a descriptor closed earlier in the same batch */
	if (c->fd[side] != fd)
		return;
	if (side == 1 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		c->writable = true;	/* connected (or failed), if not before */
	icpt_pump(ic, c, idx);
}

/**
 * intercept_timer() - give up handshakes that take too long, idle
 * connections
 * @ic:		engine, or NULL
 * @now:	current time
 */
void intercept_timer(struct icpt *ic, time_t now)
{
	size_t i;

	if (!ic)
		return;
	for (i = 0; i < ic->max; i++) {
		struct icpt_conn *c = &ic->c[i];

		if (!c->used)
			continue;
		if ((!(c->hs[0] && c->hs[1]) &&
		     now - c->since > ICPT_HANDSHAKE_TIMEOUT) ||
		    now - c->last > FWD_PROXY_IDLE) {
			char why[160];

			snprintf(why, sizeof(why),
				 "%s (sent %zu/%zu to it, %zu/%zu to the client, %zu and %zu in, events %x %x, ends %d %d)",
				 !c->hs[0] ? "client handshake" :
				 !c->connected ? "connect" :
				 !c->hs[1] ? "server handshake" : "idle",
				 c->off[1], c->out[1].len, c->off[0], c->out[0].len,
				 (size_t)BIO_ctrl_pending(c->rb[0]),
				 (size_t)BIO_ctrl_pending(c->rb[1]),
				 c->events[0], c->events[1], c->eof[0], c->eof[1]);
			icpt_log(ic, c, PROXY_DENY_TIMEOUT, NULL, why);
			if (c->fd[0] >= 0)
				fwd_reset(c->fd[0]);
			icpt_conn_close(ic, c);
		}
	}
}

/**
 * intercept_active() - connections open
 * @ic:		engine, or NULL
 *
 * Return: their number
 */
size_t intercept_active(const struct icpt *ic)
{
	size_t i, n = 0;

	for (i = 0; ic && i < ic->max; i++)
		n += ic->c[i].used;
	return n;
}

/**
 * intercept_close() - close every connection and free the engine
 * @ic:		engine, or NULL
 */
void intercept_close(struct icpt *ic)
{
	size_t i;

	if (!ic)
		return;
	for (i = 0; ic->c && i < ic->max; i++)
		if (ic->c[i].used)
			icpt_conn_close(ic, &ic->c[i]);
	for (i = 0; i < ICPT_CACHE; i++) {
		X509_free(ic->cache[i].x);
		SSL_SESSION_free(ic->cache[i].up);
	}
	SSL_CTX_free(ic->srv);
	SSL_CTX_free(ic->cli);
	EVP_PKEY_free(ic->leaf_key);
	free(ic->c);
	free(ic);
}

/**
 * intercept_stats() - interception's counters as JSON, secrets by name
 * @c:		counters (copied out of the shared region)
 * @pol:	the core's policy (the secrets' names)
 *
 * Return: new reference
 */
json_t *intercept_stats(const struct icpt_counters *c, const struct policy *pol)
{
	json_t *o = json_object(), *s = json_object();
	size_t j;

	json_object_set_new(o, "connections_total", json_integer((json_int_t)c->intercepted));
	json_object_set_new(o, "requests_total", json_integer((json_int_t)c->requests));
	json_object_set_new(o, "leaks_refused_total", json_integer((json_int_t)c->leaks));
	json_object_set_new(o, "upstream_verify_failed_total",
			    json_integer((json_int_t)c->upstream_cert));
	json_object_set_new(o, "upstream_tls_failed_total",
			    json_integer((json_int_t)c->upstream_tls));
	json_object_set_new(o, "client_tls_failed_total",
			    json_integer((json_int_t)c->client_tls));
	json_object_set_new(o, "refused_total", json_integer((json_int_t)c->refused));
	json_object_set_new(o, "upstream_resumed_total",
			    json_integer((json_int_t)c->resumed));
	json_object_set_new(o, "values_masked_total",
			    json_integer((json_int_t)c->masked));
	json_object_set_new(o, "certificates_minted_total",
			    json_integer((json_int_t)c->leaf_minted));
	/* flat (NAME_injected_total); prom.c makes NAME a label */
	for (j = 0; pol && j < pol->nsecrets; j++) {
		char k[SECRET_NAME_MAX + 32];

		snprintf(k, sizeof(k), "%s_injected_total", pol->secrets[j].name);
		json_object_set_new(s, k, json_integer((json_int_t)c->injected[j]));
		snprintf(k, sizeof(k), "%s_leaks_refused_total",
			 pol->secrets[j].name);
		json_object_set_new(s, k, json_integer((json_int_t)c->leaked[j]));
	}
	json_object_set_new(o, "secrets", s);
	return o;
}
