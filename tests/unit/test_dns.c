// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_dns.c - the DNS interceptor without a network: resolv.conf
 * parsing, and the decisions on queries and answers, read back from a
 * socketpair standing in for the client
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "dns.h"

/**
 * test_resolv_conf() - nameservers, v4 and v6, scoped ones skipped
 * @state:	unused
 */
static void test_resolv_conf(void **state)
{
	char path[] = "/tmp/moat-test-resolv-XXXXXX";
	struct sockaddr_storage up[3];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	{
		static const char text[] =
			"# comment\nsearch example\nnameserver 127.0.0.53\n"
			"nameserver fe80::1%eth0\nnameserver 2001:db8::53\n"
			"nameserver bogus\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n";

		assert_int_equal(write(fd, text, sizeof(text) - 1),
				 (ssize_t)sizeof(text) - 1);
	}
	close(fd);
	assert_int_equal(dns_resolv_conf_upstreams(path, up, 3), 3);
	assert_int_equal(up[0].ss_family, AF_INET);
	assert_int_equal(up[1].ss_family, AF_INET6);
	assert_int_equal(up[2].ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&up[0])->sin_port), 53);
	unlink(path);
	assert_int_equal(dns_resolv_conf_upstreams(path, up, 3), 0);
}

/**
 * struct env - an interceptor and the client's end of a socketpair
 */
struct env {
	struct policy pol;
	struct sb_state s;
	struct dns *d;
	int sp[2];
	int epfd;
};

/**
 * env_new() - set up an interceptor with a policy
 * @yaml:	policy text
 * @v6:		the sandbox has IPv6
 *
 * Return: environment
 */
static struct env *env_new(const char *yaml, bool v6)
{
	struct env *e = calloc(1, sizeof(*e));
	struct errlist el = { 0 };

	assert_non_null(e);
	policy_init(&e->pol);
	assert_int_equal(policy_load_buf(&e->pol, "t.yaml", yaml, strlen(yaml), &el), 0);
	e->s.has_v6 = v6;
	snprintf(e->s.ifname, sizeof(e->s.ifname), "moat9");
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, e->sp), 0);
	e->epfd = epoll_create1(0);
	e->d = calloc(1, sizeof(*e->d));
	assert_non_null(e->d);
	dns_init_state(e->d, e->epfd, &e->pol, &e->s, NULL);
	return e;
}

/**
 * env_free() - tear an environment down
 * @e:		environment
 */
static void env_free(struct env *e)
{
	dns_close(e->d);
	free(e->d);
	close(e->sp[0]);
	close(e->sp[1]);
	close(e->epfd);
	policy_free(&e->pol);
	free(e);
}

/**
 * ask() - send a query from the client, read the answer
 * @e:		environment
 * @name:	question name
 * @type:	question type
 *
 * Return: the parsed answer (caller frees), or NULL if none came
 */
static ldns_pkt *ask(struct env *e, const char *name, ldns_rr_type type)
{
	struct sockaddr_storage none = { 0 };
	uint8_t *wire = NULL, buf[4096];
	ldns_pkt *q = NULL, *r = NULL;
	size_t len;
	ssize_t n;

	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type,
						    LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 4242);
	assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
	dns_client_msg(e->d, wire, len, e->sp[0], &none, 0, -1);
	free(wire);
	ldns_pkt_free(q);
	n = recv(e->sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	if (n <= 0)
		return NULL;
	assert_int_equal(ldns_wire2pkt(&r, buf, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 4242);
	return r;
}

/**
 * rcode_of() - rcode of an answer, freeing it
 * @r:		answer
 *
 * Return: rcode, or -1 for no answer
 */
static int rcode_of(ldns_pkt *r)
{
	int rc;

	if (!r)
		return -1;
	rc = ldns_pkt_get_rcode(r);
	ldns_pkt_free(r);
	return rc;
}

static const char pol_deny[] =
	"version: 1\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - deny: evil.github.com\n"
	"    - allow: \"*.github.com\"\n"
	"    - allow: github.com\n"
	"      ports: [443]\n"
	"dns:\n"
	"  block: [\"*.tracker.example\"]\n"
	"  records: {db.internal: 10.0.0.5}\n";

/**
 * test_decisions() - what is answered without asking upstream
 * @state:	unused
 */
static void test_decisions(void **state)
{
	struct env *e = env_new(pol_deny, false);
	ldns_pkt *r;

	(void)state;
	/* dns.records */
	r = ask(e, "DB.internal.", LDNS_RR_TYPE_A);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	ldns_pkt_free(r);
	r = ask(e, "db.internal.", LDNS_RR_TYPE_AAAA);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	/* block list, deny rule, default deny: NXDOMAIN with an EDE */
	r = ask(e, "a.tracker.example.", LDNS_RR_TYPE_A);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
	assert_non_null(ldns_pkt_edns_get_option_list(r));
	{
		/* EDE 15 (Blocked), its text naming moat's policy */
		ldns_edns_option *o = ldns_edns_option_list_get_option(
			ldns_pkt_edns_get_option_list(r), 0);
		const uint8_t *d = ldns_edns_get_data(o);
		size_t n = ldns_edns_get_size(o);
		static const char want[] = "blocked by moat's network policy: dns.block ";

		assert_int_equal(ldns_edns_get_code(o), 15);
		assert_true(n > 2 + sizeof(want) - 1);
		assert_int_equal(d[0] << 8 | d[1], 15);
		assert_memory_equal(d + 2, want, sizeof(want) - 1);
	}
	ldns_pkt_free(r);
	assert_int_equal(rcode_of(ask(e, "evil.github.com.", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(ask(e, "evilgithub.com.", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(ask(e, "example.com.", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->d->ctr[DNS_C_B_DENY_RULE], 1);
	assert_int_equal(e->d->ctr[DNS_C_B_DEFAULT_DENY], 2);
	assert_int_equal(e->d->ctr[DNS_C_B_BLOCKLIST], 1);
	/* a name that is not a valid host name matches no rule: refused
	 * as such, never forwarded */
	assert_int_equal(rcode_of(ask(e, "-x.github.com.", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->d->ctr[DNS_C_B_INVALID], 1);
	assert_int_equal(e->d->ctr[DNS_C_B_DEFAULT_DENY], 2);
	assert_int_equal(e->d->ctr[DNS_C_B_DENY_RULE], 1);
	/* HTTPS and, without IPv6, AAAA: empty */
	r = ask(e, "api.github.com.", 65);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	r = ask(e, "api.github.com.", LDNS_RR_TYPE_AAAA);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	/* allowed names are forwarded: no upstream here, so SERVFAIL */
	assert_int_equal(rcode_of(ask(e, "GitHub.com", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->d->ctr[DNS_C_FORWARDED], 0);
	/* upstreams that fail at once (no socket can reach them: AF_UNIX
	 * addresses of nothing, so no packet is sent anywhere): each is
	 * tried once, then SERVFAIL, never a loop
	 */
	e->d->nup = 2;
	e->d->up[0].ss_family = AF_UNIX;
	e->d->up[1].ss_family = AF_UNIX;
	assert_int_equal(rcode_of(ask(e, "github.com", LDNS_RR_TYPE_A)),
			 LDNS_RCODE_SERVFAIL);
	assert_int_equal(e->d->ctr[DNS_C_FORWARDED], 1);
	assert_null(e->d->q[0].msg);
	e->d->nup = 0;
	/* garbage gets nothing; a response gets nothing */
	{
		struct sockaddr_storage none = { 0 };
		uint8_t junk[5] = { 1, 2, 3, 4, 5 };

		dns_client_msg(e->d, junk, sizeof(junk), e->sp[0], &none, 0, -1);
		assert_int_equal(e->d->ctr[DNS_C_MALFORMED], 1);
	}
	env_free(e);
}

/**
 * outstanding() - make query 0 one the interceptor forwarded: NAME A IN,
 * ID 777, from client ID 4242 over UDP (e->sp[0])
 * @e:		environment
 * @name:	question
 *
 * Return: the query as a packet (the caller frees it); its wire form is
 *	   query 0's message
 */
static ldns_pkt *outstanding(struct env *e, const char *name)
{
	struct dns_q *dq = &e->d->q[0];
	ldns_pkt *q = NULL;

	assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_A,
						    LDNS_RR_CLASS_IN, LDNS_RD),
			 LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 777);
	memset(dq, 0, sizeof(*dq));
	dq->fd = -1;
	dq->id = 777;
	dq->cid = 4242;
	dq->lfd = e->sp[0];
	dq->maxlen = 512;
	dq->qtype = LDNS_RR_TYPE_A;
	assert_int_equal(names_fold(name, dq->qname, sizeof(dq->qname)), 0);
	assert_int_equal(ldns_pkt2wire(&dq->msg, q, &dq->len), LDNS_STATUS_OK);
	return q;
}

/**
 * answer_for() - make an upstream answer for outstanding query 0
 * @e:		environment
 * @name:	question
 * @rrs:	answer records, presentation form, NULL-terminated
 *
 * Return: the client's parsed answer (caller frees), or NULL
 */
static ldns_pkt *answer_for(struct env *e, const char *name, const char *const *rrs)
{
	/* the query as the interceptor would have forwarded it */
	ldns_pkt *q = outstanding(e, name), *a, *r = NULL;
	uint8_t *wire = NULL, buf[8192];
	struct dns_q *dq = &e->d->q[0];
	size_t len;
	ssize_t n;

	a = ldns_pkt_clone(q);
	ldns_pkt_set_qr(a, true);
	for (; *rrs; rrs++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, *rrs, 300, NULL, NULL),
				 LDNS_STATUS_OK);
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, a, &len), LDNS_STATUS_OK);
	dns_upstream_msg(e->d, 0, wire, len);
	free(wire);
	ldns_pkt_free(q);
	ldns_pkt_free(a);
	assert_null(dq->msg);		/* the query is done */
	n = recv(e->sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	if (n <= 0)
		return NULL;
	assert_int_equal(ldns_wire2pkt(&r, buf, (size_t)n), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(r), 4242);
	return r;
}

/**
 * test_answer_match() - an upstream answer counts only for its own query
 * @state:	unused
 *
 * Query 0 is "GitHub.com A IN", ID 777 (as dns_forward() would have sent
 * it). Answers with another ID, another name, another type, another
 * class, a compressed question name or a question cut short are dropped
 * (counted malformed, the query still waits); the same question in
 * another letter case is the answer.
 */
static void test_answer_match(void **state)
{
	struct env *e = env_new("version: 1\n", true);
	struct dns_q *dq = &e->d->q[0];
	ldns_pkt *q;
	uint8_t *qw, a[512], buf[512];
	size_t qlen;
	ssize_t n;
	/* offsets in the wire form: name at 12, "\6GitHub\3com\0", then
	 * type (12 + 12) and class (12 + 14)
	 */
	const size_t type_at = 12 + 12, class_at = 12 + 14;
	struct { size_t at; uint8_t v; } bad[] = {
		{ 1, 0x10 },		/* ID 777 + 16 */
		{ 12 + 1, 'X' },	/* XitHub.com */
		{ type_at + 1, 28 },	/* AAAA */
		{ class_at + 1, 3 },	/* class CH */
		{ 12, 0xc0 },		/* a compression pointer */
	};
	size_t i;

	(void)state;
	q = outstanding(e, "GitHub.com");
	qw = dq->msg;
	qlen = dq->len;
	assert_int_equal(qlen, 12 + 16);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(a, qw, qlen);
		a[2] |= 0x80;			/* QR */
		a[bad[i].at] = bad[i].v;
		dns_upstream_msg(e->d, 0, a, qlen);
		assert_ptr_equal(dq->msg, qw);	/* still waiting */
		assert_int_equal(recv(e->sp[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	}
	/* ldns parsed the pointer's answer as no message at all: not counted */
	assert_int_equal(e->d->ctr[DNS_C_MALFORMED], 4);
	/* not an answer (QR clear) */
	memcpy(a, qw, qlen);
	dns_upstream_msg(e->d, 0, a, qlen);
	assert_ptr_equal(dq->msg, qw);
	/* the question in other letters: the answer */
	memcpy(a, qw, qlen);
	a[2] |= 0x80;
	a[12 + 1] = 'g';
	a[12 + 8] = 'C';
	dns_upstream_msg(e->d, 0, a, qlen);
	assert_null(dq->msg);
	n = recv(e->sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n >= 12);
	assert_int_equal(buf[0] << 8 | buf[1], 4242);
	ldns_pkt_free(q);
	env_free(e);
}

/**
 * test_answers() - rebind protection and pinning, fail closed
 * @state:	unused
 */
static void test_answers(void **state)
{
	static const char *const pub[] = { "x.example. 3600 IN A 93.184.216.34", NULL };
	static const char *const mixed[] = {
		"x.example. 60 IN A 93.184.216.34",
		"x.example. 60 IN A 10.0.0.5", NULL };
	static const char *const cname[] = {
		"x.example. 60 IN CNAME y.example.",
		"y.example. 60 IN A 169.254.169.254", NULL };
	static const char *const mapped[] = {
		"x.example. 60 IN AAAA ::ffff:127.0.0.1", NULL };
	static const char *const gh[] = { "api.github.com. 60 IN A 140.82.112.3", NULL };
	struct env *e = env_new("version: 1\n"
				"egress: {rules: [{allow: 10.0.0.0/8}, {allow: \"*.github.com\"}]}\n",
				true);
	ldns_pkt *r;

	(void)state;
	r = answer_for(e, "x.example.", pub);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	/* not pinned: TTL untouched */
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), 3600);
	ldns_pkt_free(r);
	/* 10.0.0.5 is private but explicitly allowed by rule 1 */
	assert_int_equal(rcode_of(answer_for(e, "x.example.", mixed)), LDNS_RCODE_NOERROR);
	assert_int_equal(rcode_of(answer_for(e, "x.example.", cname)), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(rcode_of(answer_for(e, "x.example.", mapped)), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(e->d->ctr[DNS_C_B_REBIND], 2);
	/* a name to pin, and no pinner: SERVFAIL, never the address */
	r = answer_for(e, "api.github.com.", gh);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
	assert_int_equal(ldns_pkt_ancount(r), 0);
	ldns_pkt_free(r);
	assert_int_equal(e->d->ctr[DNS_C_PIN_FAILED], 1);
	assert_false(dns_pinned(e->d, "api.github.com", AF_INET, "\x8c\x52\x70\x03"));
	/* the same name's pin, made a moment ago: still fresh, so released
	 * without a kernel transaction (none could be made here), its TTL no
	 * longer than the pin has left */
	dns_remember_pin(e->d, "api.github.com", AF_INET,
			 (const uint8_t *)"\x8c\x52\x70\x03", 120);
	r = answer_for(e, "api.github.com.", gh);
	assert_non_null(r);
	assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r), 1);
	assert_true(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)) <= 60);
	ldns_pkt_free(r);
	assert_int_equal(e->d->ctr[DNS_C_PIN_FRESH], 1);
	assert_int_equal(e->d->ctr[DNS_C_PIN_FAILED], 1);
	env_free(e);
}

/**
 * name_is() - dns_pinned_for() callback: accept one name
 * @name:	pinned name
 * @arg:	the name to accept
 *
 * Return: true if they are the same
 */
static bool name_is(const char *name, const void *arg)
{
	return !strcmp(name, arg);
}

/**
 * live() - a pin as nft_pins_read() returns it
 * @rule:	1-based rule
 * @a:		IPv4 address
 * @left:	seconds left
 * @name:	its element's comment, "" for none
 *
 * Return: the pin
 */
static struct nft_live_pin live(size_t rule, const uint8_t *a, uint32_t left,
				const char *name)
{
	struct nft_live_pin lp;

	memset(&lp, 0, sizeof(lp));
	lp.pin.rule = rule;
	lp.pin.af = AF_INET;
	memcpy(lp.pin.addr, a, 4);
	lp.pin.timeout = left;
	snprintf(lp.name, sizeof(lp.name), "%s", name);
	return lp;
}

/**
 * test_restore_pins() - the pins a new supervisor reads back from the
 * kernel: once per name and address, only names their rule matches, an
 * exact rule's name for an element without one
 * @state:	unused
 */
static void test_restore_pins(void **state)
{
	struct env *e = env_new("version: 1\negress:\n  rules:\n"
				"    - allow: '*.gh.example'\n"
				"    - allow: 'raw.gh.example'\n"
				"    - allow: 1.1.1.1\n"
				"    - allow: github.com\n", false);
	static const uint8_t a1[4] = { 151, 101, 1, 1 }, a2[4] = { 140, 82, 112, 3 };
	static const uint8_t a3[4] = { 151, 101, 1, 2 };
	struct nft_live_pin lp[7];
	size_t unnamed, n;

	(void)state;
	/* raw.gh.example is in the sets of rules 1 and 2 */
	lp[0] = live(1, a1, 100, "raw.gh.example");
	lp[1] = live(2, a1, 90, "raw.gh.example");
	lp[2] = live(1, a1, 50, "objects.gh.example");
	lp[3] = live(4, a2, 200, "");		/* exact rule: its name */
	lp[4] = live(1, a3, 60, "");		/* wildcard: no name to give */
	lp[5] = live(1, a3, 60, "evil.example");	/* not rule 1's */
	lp[6] = live(3, a3, 60, "x.gh.example");	/* not a domain rule */
	n = dns_restore_pins(e->d, lp, 7, &unnamed);
	assert_int_equal(n, 3);
	assert_int_equal(unnamed, 2);
	assert_int_equal(e->d->npins, 3);
	assert_true(dns_pinned(e->d, "raw.gh.example", AF_INET, a1));
	assert_true(dns_pinned(e->d, "objects.gh.example", AF_INET, a1));
	assert_false(dns_pinned(e->d, "cdn.gh.example", AF_INET, a1));
	assert_true(dns_pinned(e->d, "github.com", AF_INET, a2));
	assert_false(dns_pinned(e->d, "evil.example", AF_INET, a3));
	assert_false(dns_pinned(e->d, "x.gh.example", AF_INET, a3));
	/* shortest-lived first in the ring, each with its longest time */
	assert_string_equal(e->d->pins[0].name, "objects.gh.example");
	assert_string_equal(e->d->pins[1].name, "raw.gh.example");
	assert_true(e->d->pins[1].expires - e->d->pins[0].expires >= 49);
	assert_string_equal(e->d->pins[2].name, "github.com");
	env_free(e);
}

/**
 * test_pins_and_busy() - the pin ring as the proxy reads it; the timer's
 * question
 * @state:	unused
 */
static void test_pins_and_busy(void **state)
{
	struct env *e = env_new("version: 1\negress:\n  rules:\n    - allow: github.com\n", false);
	static const uint8_t a1[4] = { 140, 82, 112, 3 }, a2[4] = { 140, 82, 112, 4 };
	static const uint8_t a6[16] = { 140, 82, 112, 3 };	/* same bytes, v6 */
	struct dns_pinrec *p = &e->d->pins[0];

	(void)state;
	assert_int_equal(e->d->pin_cap, DNS_PIN_MAX);
	assert_false(dns_busy(e->d));
	dns_remember_pin(e->d, "github.com", AF_INET, a1, 3600);
	assert_int_equal(e->d->npins, 1);
	assert_true(dns_pinned(e->d, "GitHub.com.", AF_INET, a1));
	assert_false(dns_pinned(e->d, "github.com", AF_INET, a2));
	assert_false(dns_pinned(e->d, "api.github.com", AF_INET, a1));
	assert_true(dns_pinned_for(e->d, AF_INET, a1, name_is, "github.com"));
	assert_false(dns_pinned_for(e->d, AF_INET, a1, name_is, "evil.example"));
	assert_false(dns_pinned_for(e->d, AF_INET6, a6, name_is, "github.com"));
	p->expires = 0;				/* expired */
	assert_false(dns_pinned(e->d, "github.com", AF_INET, a1));
	assert_false(dns_pinned_for(e->d, AF_INET, a1, name_is, "github.com"));
	/* a query waiting for upstream keeps the timer running (slots
	 * below nq are set up, their sockets -1 when none)
	 */
	assert_false(dns_busy(e->d));
	for (e->d->nq = 0; e->d->nq < 4; e->d->nq++)
		e->d->q[e->d->nq].fd = -1;
	e->d->q[3].msg = malloc(1);
	assert_true(dns_busy(e->d));
	free(e->d->q[3].msg);
	e->d->q[3].msg = NULL;
	assert_false(dns_busy(e->d));
	env_free(e);
}

/**
 * test_upstream_query() - only the question and moat's own EDNS go upstream
 * @state:	unused
 *
 * A client query with every header bit it may set, an additional record,
 * and an OPT record with a large UDP size, odd Z bits and options (client
 * subnet, an unassigned code carrying data) becomes, byte for byte, a
 * query holding its question (letter case kept), RD/CD/AD, and moat's
 * OPT record: UDP size 1232 (4096 for a TCP client), DO kept, no option.
 */
static void test_upstream_query(void **state)
{
	static const uint8_t q[] = {
		0x12, 0x34, 0x05, 0x70, 0, 1, 0, 0, 0, 0, 0, 2,
		/* question: GiThUb.CoM A IN */
		6, 'G', 'i', 'T', 'h', 'U', 'b', 3, 'C', 'o', 'M', 0, 0, 1, 0, 1,
		/* additional: x. A 10.1.2.3, TTL 0x01020304 */
		1, 'x', 0, 0, 1, 0, 1, 1, 2, 3, 4, 0, 4, 10, 1, 2, 3,
		/* OPT: size 4096, DO and Z 0x1234, ECS and 65001 */
		0, 0, 41, 0x10, 0, 0, 0, 0x92, 0x34, 0, 16,
		0, 8, 0, 4, 0, 1, 24, 0,
		0xfd, 0xe9, 0, 4, 0xde, 0xad, 0xbe, 0xef,
	};
	static const uint8_t want[] = {
		0xbe, 0xef, 0x01, 0x30, 0, 1, 0, 0, 0, 0, 0, 1,
		6, 'G', 'i', 'T', 'h', 'U', 'b', 3, 'C', 'o', 'M', 0, 0, 1, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,
	};
	ldns_pkt *req = NULL, *up;
	uint8_t *wire = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ldns_wire2pkt(&req, q, sizeof(q)), LDNS_STATUS_OK);
	up = (ldns_pkt *)dns_upstream_query(req, false, 0xbeef);
	assert_non_null(up);
	assert_int_equal(ldns_pkt2wire(&wire, up, &len), LDNS_STATUS_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(wire, want, sizeof(want));
	free(wire);
	ldns_pkt_free(up);

	/* over TCP: 4096 */
	up = (ldns_pkt *)dns_upstream_query(req, true, 0xbeef);
	assert_non_null(up);
	assert_int_equal(ldns_pkt2wire(&wire, up, &len), LDNS_STATUS_OK);
	assert_int_equal(len, sizeof(want));
	assert_int_equal(wire[sizeof(want) - 8], 0x10);
	assert_int_equal(wire[sizeof(want) - 7], 0x00);
	free(wire);
	ldns_pkt_free(up);
	ldns_pkt_free(req);

	/* without EDNS over UDP, none is added: the question alone */
	{
		uint8_t q2[12 + 16];

		memcpy(q2, q, sizeof(q2));
		q2[11] = 0;		/* ARCOUNT 0 */
		req = NULL;
		assert_int_equal(ldns_wire2pkt(&req, q2, sizeof(q2)),
				 LDNS_STATUS_OK);
		up = (ldns_pkt *)dns_upstream_query(req, false, 0xbeef);
		assert_non_null(up);
		assert_int_equal(ldns_pkt2wire(&wire, up, &len), LDNS_STATUS_OK);
		assert_int_equal(len, 12 + 16);
		assert_memory_equal(wire + 2, want + 2, 9);
		assert_int_equal(wire[11], 0);
		assert_memory_equal(wire + 12, q2 + 12, 16);
		free(wire);
		ldns_pkt_free(up);
		ldns_pkt_free(req);
	}
}

/**
 * test_pin_timeout() - every pin expires, whatever dns.ttl says
 * @state:	unused
 *
 * nftables takes a timeout of 0 as "never": with dns.ttl.min 0 a TTL-0
 * answer would open its address for good, and enough of them would fill
 * the set.
 */
static void test_pin_timeout(void **state)
{
	struct env *e = env_new("version: 1\ndns:\n  ttl: {min: 0, max: 0}\n", false);
	struct env *z = env_new("version: 1\ndns:\n  ttl: {min: 0, max: 300}\n", false);
	struct env *def = env_new("version: 1\n", false);

	(void)state;
	assert_int_equal(dns_pin_timeout(e->d, 0), DNS_PIN_TIMEOUT_MIN);
	assert_int_equal(dns_pin_timeout(e->d, 3600), DNS_PIN_TIMEOUT_MIN);
	assert_int_equal(dns_pin_timeout(z->d, 0), DNS_PIN_TIMEOUT_MIN);
	assert_int_equal(dns_pin_timeout(z->d, 1), 1);
	assert_int_equal(dns_pin_timeout(z->d, 42), 42);
	assert_int_equal(dns_pin_timeout(z->d, 86400), 300);
	assert_int_equal(dns_pin_timeout(def->d, 0), POLICY_TTL_MIN_DEFAULT);
	assert_int_equal(DNS_PIN_TIMEOUT_MIN, 1);
	env_free(e);
	env_free(z);
	env_free(def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_answer_match),
		cmocka_unit_test(test_pins_and_busy),
		cmocka_unit_test(test_restore_pins),
		cmocka_unit_test(test_upstream_query),
		cmocka_unit_test(test_pin_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
