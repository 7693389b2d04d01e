// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_privop.c - unit tests of the core/worker request set: messages
 * through a real socket pair (sizes, truncation, descriptors, types each
 * side accepts), and the core's checks of a worker's pins and log records
 * against policies loaded from YAML: each check refuses what it must, and
 * the same entry with only that field corrected is accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "privop.h"

/* rules, 0-based: the comments give each one's index */
static const char pol_yaml[] =
	"version: 1\n"
	"egress:\n"
	"  default: deny\n"
	"  rules:\n"
	"    - deny: bad.example.com\n"		/* 0 */
	"    - allow: \"*.example.com\"\n"	/* 1 */
	"      ports: [443]\n"
	"    - allow: github.com\n"		/* 2 */
	"    - allow: 10.0.0.0/8\n"		/* 3 */
	"    - deny: \"*.evil.org\"\n"		/* 4 */
	"    - allow: x.evil.org\n"		/* 5 */
	"    - allow: \"*.github.com\"\n"	/* 6 */
	"dns:\n"
	"  rebind_protection: true\n"
	"  ttl: {min: 5, max: 60}\n";

static const char norebind_yaml[] =
	"version: 1\n"
	"egress:\n"
	"  rules:\n"
	"    - allow: \"*.example.com\"\n"
	"dns:\n"
	"  rebind_protection: false\n";

/**
 * load() - a policy from YAML text
 * @p:		policy to fill
 * @yaml:	text
 */
static void load(struct policy *p, const char *yaml)
{
	struct errlist el = { 0 };

	policy_init(p);
	if (policy_load_buf(p, "test.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy does not load");
	}
	errlist_free(&el);
}

/**
 * pin() - a pin for privop_add_pin()
 * @rule:	0-based rule index (the wire's)
 * @addr:	address text, v4 or v6
 * @timeout:	seconds
 *
 * Return: the pin
 */
static struct nft_pin pin(size_t rule, const char *addr, uint32_t timeout)
{
	struct nft_pin p = { .rule = rule + 1, .timeout = timeout };

	p.af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.af, addr, p.addr), 1);
	return p;
}

/**
 * check1() - privop_check_pins() on a one-pin PRIVOP_PIN_ADD or _DEL
 * @p:		policy
 * @has_v6:	the sandbox has IPv6
 * @type:	PRIVOP_PIN_ADD or PRIVOP_PIN_DEL
 * @rule:	0-based rule index
 * @name:	name
 * @addr:	address text
 * @timeout:	seconds
 * @why:	set to the reason on refusal
 *
 * Return: privop_check_pins()'s
 */
static int check1(const struct policy *p, bool has_v6, enum privop_type type,
		  size_t rule, const char *name, const char *addr,
		  uint32_t timeout, const char **why)
{
	struct nft_pin out[NFT_PIN_BATCH_MAX], in = pin(rule, addr, timeout);
	static struct privop_msg m;
	size_t n = 99;
	int ret;

	privop_init(&m, type, 7);
	assert_int_equal(privop_add_pin(&m, &in, name), 0);
	*why = NULL;
	ret = privop_check_pins(p, has_v6, privop_ttl_bound(p), &m, out, &n, why);
	if (!ret) {
		assert_int_equal(n, 1);
		assert_int_equal(out[0].rule, rule + 1);
		assert_int_equal(out[0].af, in.af);
		assert_memory_equal(out[0].addr, in.addr, 16);
		assert_int_equal(out[0].timeout, timeout);
	} else {
		assert_int_equal(ret, -EINVAL);
		assert_int_equal(n, 0);
		assert_non_null(*why);
	}
	return ret;
}

/**
 * add_ok() - assert that a one-pin PRIVOP_PIN_ADD is accepted
 * @p:		policy
 * @rule:	0-based rule index
 * @name:	name
 * @addr:	address
 * @timeout:	seconds
 */
static void add_ok(const struct policy *p, size_t rule, const char *name,
		   const char *addr, uint32_t timeout)
{
	const char *why;

	if (check1(p, true, PRIVOP_PIN_ADD, rule, name, addr, timeout, &why))
		fail_msg("rule %zu %s %s %u refused: %s", rule, name, addr,
			 timeout, why ? why : "(no reason)");
}

/**
 * add_bad() - assert that a one-pin PRIVOP_PIN_ADD is refused, for a reason
 * @p:		policy
 * @rule:	0-based rule index
 * @name:	name
 * @addr:	address
 * @timeout:	seconds
 * @reason:	a word of the expected reason
 */
static void add_bad(const struct policy *p, size_t rule, const char *name,
		    const char *addr, uint32_t timeout, const char *reason)
{
	const char *why;

	if (!check1(p, true, PRIVOP_PIN_ADD, rule, name, addr, timeout, &why))
		fail_msg("rule %zu %s %s %u accepted", rule, name, addr, timeout);
	if (!why || !strstr(why, reason))
		fail_msg("rule %zu %s %s %u refused for '%s', not '%s'", rule,
			 name, addr, timeout, why ? why : "(no reason)", reason);
}

/**
 * test_layout() - the wire structs have the sizes the peer expects
 * @state:	unused
 */
static void test_layout(void **state)
{
	struct privop_msg m;

	(void)state;
	assert_int_equal(sizeof(struct privop_hdr), 8);
	assert_int_equal(sizeof(struct privop_pin), 280);
	assert_int_equal(PRIVOP_MSG_MAX, 8 + 64 * 280);
	privop_init(&m, PRIVOP_REPLY, 1);
	assert_int_equal(privop_len(&m), 12);
	privop_init(&m, PRIVOP_POLICY, 1);
	assert_int_equal(privop_len(&m), 16);
	privop_init(&m, PRIVOP_PIN_ADD, 1);
	m.hdr.n = 3;
	assert_int_equal(privop_len(&m), 8 + 3 * 280);
	privop_init(&m, PRIVOP_TYPE_END, 1);
	assert_int_equal(privop_len(&m), 0);
}

/**
 * test_encoders() - what the encoders refuse, and what they fill in
 * @state:	unused
 */
static void test_encoders(void **state)
{
	static struct privop_msg m;
	char longname[POLICY_DOMAIN_MAX + 2];
	struct nft_pin p = pin(1, "192.0.2.1", 30), out;
	char name[POLICY_DOMAIN_MAX + 1];
	const char *why;
	size_t i;

	(void)state;
	privop_init(&m, PRIVOP_PIN_ADD, 5);
	for (i = 0; i < NFT_PIN_BATCH_MAX; i++)
		assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), 0);
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), -ENOSPC);
	assert_int_equal(m.hdr.n, NFT_PIN_BATCH_MAX);

	privop_init(&m, PRIVOP_PIN_ADD, 5);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(privop_add_pin(&m, &p, longname), -EINVAL);
	assert_int_equal(privop_add_pin(&m, &p, ""), -EINVAL);
	p.rule = 0;
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), -EINVAL);
	p.rule = 2;
	p.af = AF_UNIX;
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), -EINVAL);
	assert_int_equal(m.hdr.n, 0);

	/* the entry: 0-based rule, zero padding, decoded back */
	p = pin(1, "192.0.2.1", 30);
	memset(m.pin, 0xa5, sizeof(m.pin[0]));
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), 0);
	assert_int_equal(m.pin[0].rule, 1);
	assert_int_equal(m.pin[0].namelen, 13);
	for (i = 4; i < 16; i++)
		assert_int_equal(m.pin[0].addr[i], 0);
	for (i = 13; i < PRIVOP_NAME_MAX; i++)
		assert_int_equal(m.pin[0].name[i], 0);
	assert_int_equal(privop_pin_decode(&m.pin[0], &out, name, sizeof(name),
					   &why), 0);
	assert_int_equal(out.rule, 2);
	assert_string_equal(name, "a.example.com");
	assert_int_equal(privop_pin_decode(&m.pin[0], &out, name, 13, &why),
			 -EINVAL);

	assert_int_equal(privop_log_encode(&m, 1, "{}", 2), 0);
	assert_int_equal(privop_len(&m), 10);
	assert_int_equal(privop_log_encode(&m, 1, "{\n}", 3), -EINVAL);
	assert_int_equal(privop_log_encode(&m, 1, "", 0), -EINVAL);
}

/**
 * raw_send() - send bytes, maybe with descriptors, bypassing privop_send()
 * @fd:		socket
 * @buf:	bytes
 * @len:	length
 * @fds:	descriptors to pass, or NULL
 * @nfds:	their number
 */
static void raw_send(int fd, const void *buf, size_t len, const int *fds,
		     size_t nfds)
{
	union {
		char b[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/**
 * lowest_free_fd() - the descriptor number the kernel would give next
 *
 * Return: the number
 */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/**
 * refused() - assert that the next message is refused, its descriptors closed
 * @fd:		receiving end
 * @accept:	types accepted
 * @reason:	a word of the expected reason
 */
static void refused(int fd, unsigned accept, const char *reason)
{
	static struct privop_msg m;
	int free_before = lowest_free_fd(), passed = 12345;
	const char *why = NULL;

	assert_int_equal(privop_recv(fd, &m, accept, &passed, &why), -EINVAL);
	assert_int_equal(passed, -1);
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("refused for '%s', not '%s'", why, reason);
	assert_int_equal(lowest_free_fd(), free_before);	/* none leaked */
}

/**
 * test_channel() - messages through a real socket pair
 * @state:	unused
 */
static void test_channel(void **state)
{
	static struct privop_msg m, r;
	struct nft_pin p = pin(1, "192.0.2.1", 30);
	int sv[2], passed, mfd, two[2];
	const char *why;
	char buf[64];

	(void)state;
	assert_int_equal(privop_pair(sv), 0);

	/* a pin request, as the worker sends it */
	privop_init(&m, PRIVOP_PIN_ADD, 42);
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), 0);
	assert_int_equal(privop_add_pin(&m, &p, "b.example.com"), 0);
	assert_int_equal(privop_send(sv[1], &m, -1), 0);
	assert_int_equal(privop_recv(sv[0], &r, PRIVOP_FROM_WORKER, NULL, &why),
			 8 + 2 * 280);
	assert_int_equal(r.hdr.seq, 42);
	assert_int_equal(r.hdr.n, 2);
	assert_memory_equal(&r, &m, 8 + 2 * 280);

	/* a log record; a reply */
	assert_int_equal(privop_log_encode(&m, 43, "{\"kind\":\"dns\"}", 14), 0);
	assert_int_equal(privop_send(sv[1], &m, -1), 0);
	assert_int_equal(privop_recv(sv[0], &r, PRIVOP_FROM_WORKER, NULL, &why), 22);
	assert_int_equal(privop_check_log(&r, &why), 0);
	privop_reply_encode(&m, 42, -EPERM);
	assert_int_equal(privop_send(sv[0], &m, -1), 0);
	assert_int_equal(privop_recv(sv[1], &r, PRIVOP_FROM_CORE, &passed, &why), 12);
	assert_int_equal(r.reply.status, -EPERM);
	assert_int_equal(passed, -1);

	/* a policy in a memfd, close-on-exec on arrival */
	mfd = memfd_create("policy", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(write(mfd, "version: 1\n", 11), 11);
	privop_policy_encode(&m, 44, 11);
	assert_int_equal(privop_send(sv[0], &m, -1), -EINVAL);	/* needs its fd */
	assert_int_equal(privop_send(sv[0], &m, mfd), 0);
	assert_int_equal(privop_recv(sv[1], &r, PRIVOP_FROM_CORE, &passed, &why), 16);
	assert_true(passed >= 0 && passed != mfd);
	assert_int_equal(r.policy.len, 11);
	assert_true(fcntl(passed, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pread(passed, buf, sizeof(buf), 0), 11);
	assert_memory_equal(buf, "version: 1\n", 11);
	close(passed);
	privop_reply_encode(&m, 44, 0);
	assert_int_equal(privop_send(sv[0], &m, mfd), -EINVAL);	/* only a policy */

	/* each side accepts only the other's types */
	privop_reply_encode(&m, 1, 0);
	assert_int_equal(privop_send(sv[1], &m, -1), 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "type");
	assert_int_equal(privop_log_encode(&m, 1, "{}", 2), 0);
	assert_int_equal(privop_send(sv[0], &m, -1), 0);
	refused(sv[1], PRIVOP_FROM_CORE, "type");

	/* malformed datagrams from a worker */
	raw_send(sv[1], "\1\0\1\0", 4, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "shorter");
	privop_init(&m, 0, 1);
	raw_send(sv[1], &m, 8, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "type");
	privop_init(&m, 99, 1);
	raw_send(sv[1], &m, 8, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "type");
	privop_init(&m, PRIVOP_PIN_ADD, 1);
	raw_send(sv[1], &m, 8, NULL, 0);			/* n = 0 */
	refused(sv[0], PRIVOP_FROM_WORKER, "count");
	assert_int_equal(privop_add_pin(&m, &p, "a.example.com"), 0);
	m.hdr.n = NFT_PIN_BATCH_MAX + 1;
	raw_send(sv[1], &m, sizeof(m), NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "count");
	m.hdr.n = 2;						/* one entry sent */
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "size");
	m.hdr.n = 1;						/* a byte too many */
	raw_send(sv[1], &m, 8 + 281, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "size");
	{
		static char big[PRIVOP_MSG_MAX + 100];

		memcpy(big, &m, 8);
		raw_send(sv[1], big, sizeof(big), NULL, 0);
		refused(sv[0], PRIVOP_FROM_WORKER, "truncated");
	}
	m.pin[0].af = 3;
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "family");
	m.pin[0].af = AF_INET;
	m.pin[0].addr[4] = 1;
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "stray");
	m.pin[0].addr[4] = 0;
	m.pin[0].namelen = 0;
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "length");
	m.pin[0].namelen = POLICY_DOMAIN_MAX + 1;
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "length");
	m.pin[0].namelen = 13;
	m.pin[0].name[3] = '\0';
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "NUL");
	m.pin[0].name[3] = 'x';
	m.pin[0].name[200] = 'y';
	raw_send(sv[1], &m, 8 + 280, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "after the name");
	m.pin[0].name[200] = '\0';
	raw_send(sv[1], &m, 8 + 280, NULL, 0);			/* control */
	assert_int_equal(privop_recv(sv[0], &r, PRIVOP_FROM_WORKER, NULL, &why),
			 8 + 280);

	/* descriptors: only beside a policy, one */
	mfd = memfd_create("x", MFD_CLOEXEC);
	raw_send(sv[1], &m, 8 + 280, &mfd, 1);
	refused(sv[0], PRIVOP_FROM_WORKER, "descriptor");
	privop_policy_encode(&m, 3, 11);
	raw_send(sv[0], &m, 16, NULL, 0);
	refused(sv[1], PRIVOP_FROM_CORE, "descriptor");
	two[0] = two[1] = mfd;
	raw_send(sv[0], &m, 16, two, 2);
	refused(sv[1], PRIVOP_FROM_CORE, "descriptor");
	m.policy.len = 0;
	raw_send(sv[0], &m, 16, &mfd, 1);
	refused(sv[1], PRIVOP_FROM_CORE, "policy length");
	m.policy.len = POLICY_FILE_MAX + 1ULL;
	raw_send(sv[0], &m, 16, &mfd, 1);
	refused(sv[1], PRIVOP_FROM_CORE, "policy length");
	close(mfd);

	/* log records: one JSON object, one line, bounded */
	privop_init(&m, PRIVOP_LOG, 1);
	memcpy(m.log, "{\"a\":\"b\nc\"}", 11);
	m.hdr.n = 11;
	raw_send(sv[1], &m, 8 + 11, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "control byte");
	m.log[5] = '\0';
	raw_send(sv[1], &m, 8 + 11, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "control byte");
	m.log[5] = '\033';
	raw_send(sv[1], &m, 8 + 11, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "control byte");
	memcpy(m.log, "[1,2]", 5);
	m.hdr.n = 5;
	raw_send(sv[1], &m, 8 + 5, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "object");
	m.hdr.n = LOG_RECORD_MAX + 1;
	raw_send(sv[1], &m, 8 + LOG_RECORD_MAX + 1, NULL, 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "length");
	memset(m.log, 'x', LOG_RECORD_MAX);			/* the longest */
	m.log[0] = '{';
	m.log[LOG_RECORD_MAX - 1] = '}';
	m.hdr.n = LOG_RECORD_MAX;
	assert_int_equal(privop_send(sv[1], &m, -1), 0);
	assert_int_equal(privop_recv(sv[0], &r, PRIVOP_FROM_WORKER, NULL, &why),
			 8 + LOG_RECORD_MAX);
	assert_int_equal(privop_check_log(&r, &why), 0);

	/* the peer gone: 0 */
	close(sv[1]);
	assert_int_equal(privop_recv(sv[0], &r, PRIVOP_FROM_WORKER, NULL, &why), 0);
	close(sv[0]);
}

/**
 * test_peers() - PRIVOP_PEERS: the linked sandboxes, well formed or refused
 * @state:	unused
 */
static void test_peers(void **state)
{
	static const uint8_t a4[4] = { 10, 231, 0, 2 };
	static const uint8_t a6[16] = { 0xfd, 0x6d, 0x6f, 0x61, 0x74, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 2 };
	static struct privop_msg m, r;
	char longname[MOAT_NAME_MAX + 2];
	const char *why;
	int sv[2], passed, i;

	(void)state;
	assert_int_equal(privop_pair(sv), 0);

	/* none (every link closed), then two */
	privop_init(&m, PRIVOP_PEERS, 7);
	assert_int_equal(privop_send(sv[0], &m, -1), 0);
	assert_int_equal(privop_recv(sv[1], &r, PRIVOP_FROM_CORE, &passed, &why), 8);
	assert_int_equal(r.hdr.n, 0);
	assert_int_equal(privop_add_peer(&m, "db", a4, a6), 0);
	assert_int_equal(privop_add_peer(&m, "Cache_1.x-y", a4, NULL), 0);
	assert_int_equal(privop_send(sv[0], &m, -1), 0);
	assert_int_equal(privop_recv(sv[1], &r, PRIVOP_FROM_CORE, &passed, &why),
			 8 + 2 * 80);
	assert_int_equal(r.hdr.n, 2);
	assert_int_equal(r.peer[0].namelen, 2);
	assert_memory_equal(r.peer[0].name, "db", 2);
	assert_int_equal(r.peer[0].has6, 1);
	assert_memory_equal(r.peer[0].addr6, a6, 16);
	assert_int_equal(r.peer[1].has6, 0);

	/* the encoder's bounds */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(privop_add_peer(&m, longname, a4, NULL), -EINVAL);
	assert_int_equal(privop_add_peer(&m, "", a4, NULL), -EINVAL);
	privop_init(&m, PRIVOP_PEERS, 8);
	for (i = 0; i < PRIVOP_PEERS_MAX; i++)
		assert_int_equal(privop_add_peer(&m, "p", a4, NULL), 0);
	assert_int_equal(privop_add_peer(&m, "p", a4, NULL), -E2BIG);

	/* what a core may not say: a worker refuses it, and the worker
	 * never sends peers */
	privop_init(&m, PRIVOP_PEERS, 9);
	assert_int_equal(privop_add_peer(&m, "db", a4, NULL), 0);
	assert_int_equal(privop_send(sv[1], &m, -1), 0);
	refused(sv[0], PRIVOP_FROM_WORKER, "type");
	m.peer[0].name[0] = '-';
	assert_int_equal(privop_send(sv[0], &m, -1), -EINVAL);
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), -EINVAL);
	assert_non_null(strstr(why, "not a sandbox name"));
	m.peer[0].name[0] = 'd';
	m.peer[0].name[5] = 'x';	/* past its length */
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), -EINVAL);
	assert_non_null(strstr(why, "not zero"));
	m.peer[0].name[5] = '\0';
	m.peer[0].addr6[3] = 1;		/* an address without has6 */
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), -EINVAL);
	m.peer[0].addr6[3] = 0;
	m.peer[0].has6 = 2;
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), -EINVAL);
	m.peer[0].has6 = 0;
	m.peer[0].namelen = 0;
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), -EINVAL);
	assert_non_null(strstr(why, "length"));
	m.peer[0].namelen = 2;
	assert_int_equal(privop_decode(&m, 8 + 80, PRIVOP_FROM_CORE, &why), 0);
	assert_int_equal(privop_decode(&m, 8 + 79, PRIVOP_FROM_CORE, &why), -EINVAL);
	m.hdr.n = PRIVOP_PEERS_MAX + 1;
	assert_int_equal(privop_decode(&m, 8 + 80 * (PRIVOP_PEERS_MAX + 1),
				       PRIVOP_FROM_CORE, &why), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

/**
 * test_policy_memfd() - a policy through a sealed memfd, as an update
 * sends it: the worker reads it all, from offset 0; nobody writes it
 * @state:	unused
 */
static void test_policy_memfd(void **state)
{
	static const char text[] = "version: 1\negress:\n  default: deny\n";
	static struct privop_msg m, r;
	int sv[2], fd, passed;
	const char *why;
	struct policy p;
	char *got;

	(void)state;
	assert_int_equal(privop_policy_memfd(text, 0), -EINVAL);
	fd = privop_policy_memfd(text, sizeof(text) - 1);
	assert_true(fd >= 0);
	assert_true(write(fd, "x", 1) < 0 && errno == EPERM);	/* sealed */
	assert_true(ftruncate(fd, 1) < 0 && errno == EPERM);

	assert_int_equal(privop_pair(sv), 0);
	privop_policy_encode(&m, 9, sizeof(text) - 1);
	assert_int_equal(privop_send(sv[0], &m, fd), 0);
	close(fd);
	assert_int_equal(privop_recv(sv[1], &r, PRIVOP_FROM_CORE, &passed, &why), 16);
	assert_int_equal(privop_policy_read(passed, r.policy.len, &got), 0);
	assert_string_equal(got, text);
	load(&p, got);
	assert_int_equal(p.egress_default, EGRESS_DENY);
	policy_free(&p);
	free(got);
	/* a length past what the memfd holds */
	assert_int_equal(privop_policy_read(passed, r.policy.len + 1, &got), -EIO);
	assert_null(got);
	close(passed);
	close(sv[0]);
	close(sv[1]);
}

/**
 * test_rules() - the rule index, the rule's kind and its pattern
 * @state:	unused
 */
static void test_rules(void **state)
{
	struct policy p;

	(void)state;
	load(&p, pol_yaml);
	assert_int_equal(p.nrules, 7);
	add_ok(&p, 1, "a.example.com", "93.184.216.34", 60);
	add_ok(&p, 1, "a.b.example.com", "93.184.216.34", 60);
	add_ok(&p, 2, "github.com", "140.82.112.3", 60);
	add_ok(&p, 6, "api.github.com", "140.82.112.3", 60);
	add_bad(&p, 7, "a.example.com", "93.184.216.34", 60, "out of range");
	add_bad(&p, 65535, "a.example.com", "93.184.216.34", 60, "out of range");
	add_bad(&p, 0, "bad.example.com", "93.184.216.34", 60, "domain allow");
	add_bad(&p, 3, "a.example.com", "93.184.216.34", 60, "domain allow");
	add_bad(&p, 4, "a.evil.org", "93.184.216.34", 60, "domain allow");
	/* the pattern: whole labels, a wildcard only below its suffix */
	add_bad(&p, 1, "example.com", "93.184.216.34", 60, "does not match");
	add_bad(&p, 1, "evilexample.com", "93.184.216.34", 60, "does not match");
	add_bad(&p, 2, "api.github.com", "140.82.112.3", 60, "does not match");
	add_bad(&p, 6, "github.com", "140.82.112.3", 60, "does not match");
	add_bad(&p, 2, "a.example.com", "140.82.112.3", 60, "does not match");
	/* up to the first deny that matches, never past it */
	add_bad(&p, 1, "bad.example.com", "93.184.216.34", 60, "earlier deny");
	add_bad(&p, 5, "x.evil.org", "93.184.216.34", 60, "earlier deny");
	policy_free(&p);
}

/**
 * test_names() - only valid host names, in the form rules are kept in
 * @state:	unused
 */
static void test_names(void **state)
{
	static const char *const bad[] = {
		"A.example.com", "a.example.com.", "-a.example.com",
		"a-.example.com", "a..example.com", "a b.example.com",
		"*.example.com", "a*.example.com", "xn--zz.example.com",
		"a/b.example.com", "\xc3\xa9.example.com",
	};
	struct policy p;
	size_t i;

	(void)state;
	load(&p, pol_yaml);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		add_bad(&p, 1, bad[i], "93.184.216.34", 60, "");
	add_ok(&p, 1, "a_b.example.com", "93.184.216.34", 60);
	add_ok(&p, 1, "xn--bcher-kva.example.com", "93.184.216.34", 60);
	add_ok(&p, 1, "1.example.com", "93.184.216.34", 60);
	assert_int_equal(privop_name_ok("a.example.com", &(const char *){ 0 }), 0);
	policy_free(&p);
}

/**
 * test_family_timeout() - IPv6 only with IPv6; timeouts 1..the bound
 * @state:	unused
 */
static void test_family_timeout(void **state)
{
	struct policy p, d;
	const char *why;

	(void)state;
	load(&p, pol_yaml);
	assert_int_equal(privop_ttl_bound(&p), 60);
	assert_int_equal(check1(&p, true, PRIVOP_PIN_ADD, 1, "a.example.com",
				"2606:2800:220:1::1", 60, &why), 0);
	assert_int_equal(check1(&p, false, PRIVOP_PIN_ADD, 1, "a.example.com",
				"2606:2800:220:1::1", 60, &why), -EINVAL);
	assert_non_null(strstr(why, "IPv6"));
	assert_int_equal(check1(&p, false, PRIVOP_PIN_ADD, 1, "a.example.com",
				"93.184.216.34", 60, &why), 0);
	assert_int_equal(check1(&p, false, PRIVOP_PIN_DEL, 1, "a.example.com",
				"2606:2800:220:1::1", 0, &why), -EINVAL);

	add_ok(&p, 1, "a.example.com", "93.184.216.34", 1);
	add_bad(&p, 1, "a.example.com", "93.184.216.34", 0, "timeout");
	add_bad(&p, 1, "a.example.com", "93.184.216.34", 61, "timeout");
	add_bad(&p, 1, "a.example.com", "93.184.216.34", UINT32_MAX, "timeout");

	load(&d, norebind_yaml);		/* defaults: 300 */
	assert_int_equal(privop_ttl_bound(&d), POLICY_TTL_MAX_DEFAULT);
	add_ok(&d, 0, "a.example.com", "93.184.216.34", 300);
	add_bad(&d, 0, "a.example.com", "93.184.216.34", 301, "timeout");
	policy_free(&d);
	load(&d, "version: 1\negress:\n  rules:\n    - allow: a.example.com\n"
		 "dns:\n  ttl: {min: 0, max: 0}\n");
	assert_int_equal(privop_ttl_bound(&d), 1);	/* a pin always expires */
	add_ok(&d, 0, "a.example.com", "93.184.216.34", 1);
	add_bad(&d, 0, "a.example.com", "93.184.216.34", 2, "timeout");
	policy_free(&d);
	policy_free(&p);
}

/**
 * test_addresses() - what no pin may open, and rebind protection
 * @state:	unused
 */
static void test_addresses(void **state)
{
	static const char *const never[] = {
		"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1",
		"224.0.0.251", "239.1.2.3", "ff02::fb", "0.0.0.0", "::",
		"::ffff:0.0.0.0",
	};
	struct policy p, n;
	const char *why;
	size_t i;

	(void)state;
	load(&p, pol_yaml);
	load(&n, norebind_yaml);
	for (i = 0; i < ARRAY_SIZE(never); i++) {
		add_bad(&p, 1, "a.example.com", never[i], 60, "");
		add_bad(&n, 0, "a.example.com", never[i], 60, "");
	}
	/* rebind protection: public, or what an address rule allows */
	add_ok(&p, 1, "a.example.com", "10.1.2.3", 60);		/* rule 3 */
	add_bad(&p, 1, "a.example.com", "192.168.1.1", 60, "rebind");
	add_bad(&p, 1, "a.example.com", "169.254.169.254", 60, "rebind");
	add_bad(&p, 1, "a.example.com", "fd00::1", 60, "rebind");
	add_bad(&p, 1, "a.example.com", "::ffff:192.168.1.1", 60, "rebind");
	/* without it, what the interceptor would pass */
	add_ok(&n, 0, "a.example.com", "192.168.1.1", 60);
	add_ok(&n, 0, "a.example.com", "169.254.169.254", 60);
	add_ok(&n, 0, "a.example.com", "fd00::1", 60);

	/* a deletion only closes: its address and timeout are not judged,
	 * its rule and name are */
	assert_int_equal(check1(&p, true, PRIVOP_PIN_DEL, 1, "a.example.com",
				"192.168.1.1", 0, &why), 0);
	assert_int_equal(check1(&p, true, PRIVOP_PIN_DEL, 1, "a.example.com",
				"127.0.0.1", 0, &why), 0);
	assert_int_equal(check1(&p, true, PRIVOP_PIN_DEL, 0, "bad.example.com",
				"93.184.216.34", 0, &why), -EINVAL);
	assert_int_equal(check1(&p, true, PRIVOP_PIN_DEL, 1, "example.com",
				"93.184.216.34", 0, &why), -EINVAL);
	policy_free(&n);
	policy_free(&p);
}

/**
 * test_batch() - all or nothing; the refused entry's index; the type
 * @state:	unused
 */
static void test_batch(void **state)
{
	struct nft_pin out[NFT_PIN_BATCH_MAX], a = pin(1, "93.184.216.34", 60);
	struct nft_pin b = pin(2, "140.82.112.3", 30);
	static struct privop_msg m;
	const char *why;
	struct policy p;
	size_t n, i;

	(void)state;
	load(&p, pol_yaml);
	privop_init(&m, PRIVOP_PIN_ADD, 1);
	for (i = 0; i < NFT_PIN_BATCH_MAX - 1; i++)
		assert_int_equal(privop_add_pin(&m, &a, "a.example.com"), 0);
	assert_int_equal(privop_add_pin(&m, &b, "github.com"), 0);
	assert_int_equal(privop_check_pins(&p, true, 60, &m, out, &n, &why), 0);
	assert_int_equal(n, NFT_PIN_BATCH_MAX);
	assert_int_equal(out[0].rule, 2);
	assert_int_equal(out[NFT_PIN_BATCH_MAX - 1].rule, 3);
	assert_int_equal(out[NFT_PIN_BATCH_MAX - 1].timeout, 30);

	m.pin[NFT_PIN_BATCH_MAX - 1].timeout = 61;		/* the last one */
	assert_int_equal(privop_check_pins(&p, true, 60, &m, out, &n, &why),
			 -EINVAL);
	assert_int_equal(n, NFT_PIN_BATCH_MAX - 1);
	/* the caller's bound, not the policy's, is the one applied */
	assert_int_equal(privop_check_pins(&p, true, 61, &m, out, &n, &why), 0);

	m.pin[3].af = 7;					/* structure */
	assert_int_equal(privop_check_pins(&p, true, 61, &m, out, &n, &why),
			 -EINVAL);
	assert_int_equal(n, 3);
	m.hdr.n = 0;
	assert_int_equal(privop_check_pins(&p, true, 61, &m, out, &n, &why),
			 -EINVAL);
	m.hdr.n = NFT_PIN_BATCH_MAX + 1;
	assert_int_equal(privop_check_pins(&p, true, 61, &m, out, &n, &why),
			 -EINVAL);
	assert_int_equal(privop_log_encode(&m, 1, "{}", 2), 0);
	assert_int_equal(privop_check_pins(&p, true, 61, &m, out, &n, &why),
			 -EINVAL);
	privop_reply_encode(&m, 1, 0);
	assert_int_equal(privop_check_log(&m, &why), -EINVAL);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_encoders),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_policy_memfd),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_family_timeout),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
