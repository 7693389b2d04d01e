// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * worker.c - a sandbox's unprivileged worker
 *
 * Theory of operation
 * -------------------
 * Everything a sandbox's supervisor does with bytes the sandbox or the
 * internet chose runs here, in a process of its own without privilege:
 * the DNS interceptor (dns.c), the transparent proxy's decisions and
 * relays and the published ports' relays (fwd.c, fwd_proxy.c, proxy.c,
 * tls.c, http.c), the reading of NFLOG denials (log.c) and, for a guest
 * behind a TAP device, its DHCP server and router advertisements (dhcp.c,
 * ra.c). Its core
 * (supervisor.c), the privileged half, starts it with fork() and watches
 * it with a pidfd.
 *
 * Start-up (worker_main()), still as root: it closes every descriptor it
 * inherited but its own four, binds its sockets (published ports, which
 * may be below 1024; port 53 on the gateway addresses; the proxy; the
 * NFLOG group, which needs CAP_NET_ADMIN; DHCP's port 67 and the raw
 * ICMPv6 socket of router solicitations, bound to the sandbox's
 * interface, which need root), carries on the counters of the
 * worker before it (they live in struct wk_shared, a MAP_SHARED region of
 * the core's) and the core's record of the sandbox's DNS pins, then drops
 * everything (worker_drop()): it becomes the sandbox's own UID
 * (nft_worker_uid(): NFT_WORKER_UID_BASE + 2 * index), with the next UID as
 * its saved one, so that it may open its DNS upstream sockets as that UID
 * by switching its file system UID alone (dns_up_socket()); no
 * capability, not even in its bounding set; no_new_privs; not dumpable;
 * an empty root, Landlock and a seccomp allow-list (isolate.c). Then it
 * says "OK" on its ready pipe and runs its own epoll loop.
 *
 * The kernel knows a socket's owner, so the worker's own connections (the
 * proxy's onward connections, DNS upstream queries, the relays into the
 * sandbox) are judged by the sandbox's chains (nft.c, wk_dispatch and
 * "<if>_out"): never a local address, never another sandbox, only what
 * the sandbox itself may reach; its DNS UID also port 53. A worker
 * without such a UID does not start, and fwd_proxy.c refuses to connect
 * as root.
 *
 * It talks to its core over three SOCK_SEQPACKET socket pairs, in the
 * fixed messages of privop.c (struct privop_hdr, then a body of a fixed
 * layout; each side accepts only its own set of types, checked whole):
 *   req  worker -> core: PRIVOP_PIN_ADD / PRIVOP_PIN_DEL, each answered
 *        PRIVOP_REPLY. The interceptor waits for the answer
 *        (dns_pin_batch()): an answer is released only once the kernel
 *        holds its pins. The core checks every entry against its own copy
 *        of the policy (privop_check_pins()).
 *   ctl  core -> worker: PRIVOP_STATUS (refresh the gauges the core
 *        reads), PRIVOP_PROXY (open the proxy's listeners, or close them
 *        again), PRIVOP_PEERS (the linked sandboxes whose names the DNS
 *        interceptor answers), PRIVOP_POLICY (a live policy change: the new policy in a
 *        sealed memfd; the worker re-judges its relays and answers how
 *        many it cut), each answered PRIVOP_REPLY.
 *   log  worker -> core: PRIVOP_LOG, one record each; the core, which
 *        owns the log file (and its rotation), checks and appends it.
 * If the core goes away, the worker sees its control socket close and
 * exits (a parent-death signal is set too, but every setfsuid(2) clears
 * it): the sandbox stays closed, as its rules are in the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "isolate.h"
#include "nft.h"
#include "update.h"
#include "worker.h"

#define WK_MAX_EVENTS		64
#define WK_PIN_WAIT_MS		5000	/* a pin request's answer */
#define WK_STOP_WAIT_MS		2000	/* SIGTERM, then SIGKILL */
#define WK_FD_READY		3	/* the worker's descriptors, in order */
#define WK_FD_REQ		4
#define WK_FD_CTL		5
#define WK_FD_LOG		6

/**
 * struct wk - the worker's own state
 * @ws:		what it was started with (the core's memory, copied by fork)
 * @sh:		the shared region: its services live there
 * @pol:	its copy of the policy, replaced by PRIVOP_POLICY
 * @epfd:	its epoll instance
 * @tfd:	once-a-second timer for expiry work
 * @sfd:	signalfd: SIGTERM ends it
 * @timer_on:	@tfd is armed
 * @has_dns:	the interceptor runs
 * @has_dhcp:	the guest's DHCP server runs
 * @has_ra:	its router advertisements run
 * @quit:	leave the loop
 * @seq:	sequence number of its next request
 */
struct wk {
	const struct wk_spec *ws;
	struct wk_shared *sh;
	struct policy pol;
	int epfd;
	int tfd;
	int sfd;
	bool timer_on;
	bool has_dns;
	bool has_dhcp;
	bool has_ra;
	bool quit;
	uint32_t seq;
};

/**
 * worker_shared_map() - map the region a core shares with its workers
 *
 * Return: zeroed region; dies if it cannot be mapped
 */
struct wk_shared *worker_shared_map(void)
{
	void *m = mmap(NULL, sizeof(struct wk_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		die_oom();
	return m;
}

/**
 * worker_shared_zero() - zero a part of the shared region, leaving its
 * whole pages out of memory
 * @p:		start
 * @n:		length
 *
 * The region is shared anonymous memory, which a write of zeros would
 * fill page by page: struct dns alone is 1.3 MiB, nearly all of it the pin
 * ring and the query slots that an idle sandbox never uses. The whole
 * pages inside [@p, @p + @n) are given back instead (MADV_REMOVE: read
 * again, they are zero, and take no memory until written), the partial
 * ones at either end are written. A region that cannot be given back is
 * written whole.
 */
static void worker_shared_zero(void *p, size_t n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(pg - 1);

	if (b <= a || madvise((void *)a, b - a, MADV_REMOVE)) {
		memset(p, 0, n);
		return;
	}
	memset(p, 0, a - (uintptr_t)p);
	memset((void *)b, 0, (uintptr_t)p + n - b);
}

/**
 * worker_shared_unmap() - unmap it
 * @sh:		region, or NULL
 */
void worker_shared_unmap(struct wk_shared *sh)
{
	if (sh)
		munmap(sh, sizeof(*sh));
}

/**
 * worker_ms_left() - what is left of a wait
 * @t0:		when it started (CLOCK_MONOTONIC)
 * @timeout_ms:	how long it may take
 *
 * Return: milliseconds left, 0 or less once it is over
 */
static long worker_ms_left(const struct timespec *t0, int timeout_ms)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return timeout_ms - ((t1.tv_sec - t0->tv_sec) * 1000 +
			     (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/**
 * worker_pin_request() - the interceptor's pinner in a worker: ask the core
 * @ctx:	the worker
 * @pins:	addresses, each into its rule's set
 * @n:		number of them, at most NFT_PIN_BATCH_MAX
 * @del:	unpin them
 *
 * Waits for the core's answer, at most WK_PIN_WAIT_MS: meanwhile nothing
 * else of the worker runs, as when it pinned with nftables itself.
 *
 * Return: 0 once the kernel holds the pins, or -errno
 */
static int worker_pin_request(void *ctx, const struct nft_pin *pins, size_t n,
			      bool del)
{
	static struct privop_msg m, r;
	struct wk *w = ctx;
	struct pollfd pfd = { .fd = WK_FD_REQ, .events = POLLIN };
	uint32_t seq = ++w->seq;
	struct timespec t0;
	const char *why;
	size_t i;
	int ret;

	privop_init(&m, del ? PRIVOP_PIN_DEL : PRIVOP_PIN_ADD, seq);
	for (i = 0; i < n; i++) {
		ret = privop_add_pin(&m, &pins[i], pins[i].name ? pins[i].name : "");
		if (ret)
			return ret;
	}
	ret = privop_send(WK_FD_REQ, &m, -1);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms = worker_ms_left(&t0, WK_PIN_WAIT_MS);

		if (ms <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)ms);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return ret ? -errno : -ETIMEDOUT;
		ret = privop_recv(WK_FD_REQ, &r, PRIVOP_BIT(PRIVOP_REPLY), NULL, &why);
		if (ret == -EINVAL || ret == -EAGAIN)
			continue;
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		if (r.hdr.seq == seq)
			return r.reply.status > 0 ? -EPROTO : r.reply.status;
	}
}

/* #syscalls:worker poll ppoll read fcntl */
/**
 * worker_drop() - give up every privilege, and say what the kernel allowed
 * @w:		worker, its sockets bound
 *
 * isolate_worker(): an empty root in a mount namespace of its own, the
 * sandbox's two UIDs (nft_worker_uid(): real and effective its own, saved
 * its DNS UID), no capability (bounding set included), no_new_privs, not
 * dumpable, no core file, Landlock (no file system, only the proxy's port
 * to bind, signals and abstract sockets scoped), and the seccomp
 * allow-list collected from the "#syscalls:worker" comments of the code
 * it runs. A layer this kernel lacks is named in the log; the others
 * still apply. The core notices its worker's death by its pidfd, and the
 * worker its core's by the control socket's end.
 *
 * Return: 0, or -1 after printing which step failed
 */
static int worker_drop(struct wk *w)
{
	const struct sb_state *s = w->ws->s;
	struct isolate_worker_cfg cfg = {
		.uid = nft_worker_uid(s->ifname, false),
		.gid = nft_worker_uid(s->ifname, false),
		.dns_uid = nft_worker_uid(s->ifname, true),
		.dns_gid = nft_worker_uid(s->ifname, true),
		.bind_tcp_port = NFT_PROXY_PORT,
	};
	struct isolate_report rep;
	struct rlimit nocore = { 0, 0 };
	const char *why = NULL;
	char miss[128];

	if (!cfg.uid) {
		msg_err("interface '%s' gives no worker UID", s->ifname);
		return -1;
	}
	if (setrlimit(RLIMIT_CORE, &nocore) ||
	    isolate_worker(&cfg, &rep, &why)) {
		msg_err("cannot isolate the worker: %s", why ? why : strerror(errno));
		return -1;
	}
	if (isolate_missing(&rep, miss, sizeof(miss)))
		log_event(&w->sh->log, "worker", "isolation", "partial",
			  "missing", miss, NULL);
	return 0;
}

/**
 * worker_timer_arm() - arm or disarm the once-a-second expiry timer
 * @w:		worker
 * @on:		arm it (else disarm it)
 */
static void worker_timer_arm(struct wk *w, bool on)
{
	struct itimerspec its = { 0 };

	if (w->timer_on == on)
		return;
	if (on)
		its.it_interval.tv_sec = its.it_value.tv_sec = 1;
	if (!timerfd_settime(w->tfd, 0, &its, NULL))
		w->timer_on = on;
}

/**
 * worker_add() - register a descriptor with the worker's loop
 * @w:		worker
 * @type:	SV_REF_*
 * @fd:		descriptor
 *
 * Return: 0, or -1 with errno set
 */
static int worker_add(struct wk *w, enum sv_ref_type type, int fd)
{
	union sv_ref ref = { .type = type, .fd = fd };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ref.u64 };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/**
 * worker_policy() - PRIVOP_POLICY: take the new policy, re-judge the relays
 * @w:		worker
 * @mfd:	memfd holding the policy as the core stored it
 * @len:	its length
 *
 * Return: proxied connections cut, or -errno
 */
static int worker_policy(struct wk *w, int mfd, uint64_t len)
{
	struct update_judge j = { 0 };
	struct errlist el = { 0 };
	struct policy p, old;
	char *buf = NULL;
	int ret;

	ret = privop_policy_read(mfd, len, &buf);
	if (ret)
		return ret;
	policy_init(&p);
	ret = policy_load_buf(&p, "policy", buf, (size_t)len, &el);
	free(buf);
	errlist_free(&el);
	if (ret) {
		policy_free(&p);
		return -EINVAL;
	}
	old = w->pol;
	w->pol = p;		/* same address: dns.c and fwd.c point here */
	policy_free(&old);
	j.s = w->ws->s;
	j.pol = &w->pol;
	j.dns = w->has_dns ? &w->sh->dns : NULL;
	j.pool4 = w->ws->c->pool4;
	j.pool6 = w->ws->c->pool6;
	return (int)fwd_policy_update(&w->sh->fwd, &w->pol, update_keep_relay, &j);
}

/**
 * worker_ctl() - serve one request of the core
 * @w:		worker
 */
static void worker_ctl(struct wk *w)
{
	static struct privop_msg m, r;
	const char *why;
	char *err = NULL;
	int mfd, ret;

	ret = privop_recv(WK_FD_CTL, &m, PRIVOP_BIT(PRIVOP_STATUS) |
			  PRIVOP_BIT(PRIVOP_PROXY) | PRIVOP_BIT(PRIVOP_POLICY) |
			  PRIVOP_BIT(PRIVOP_PEERS), &mfd, &why);
	if (ret == -EAGAIN)
		return;
	if (ret <= 0) {
		/* the core is gone (0), or says what it may not (-EINVAL):
		 * either way this worker has no core to serve */
		w->quit = true;
		return;
	}
	switch (m.hdr.type) {
	case PRIVOP_STATUS:
		w->sh->active = fwd_active(&w->sh->fwd);
		ret = 0;
		break;
	case PRIVOP_PROXY:
		if (m.proxy.open) {
			ret = fwd_proxy_init(&w->sh->fwd, &w->pol, w->ws->s,
					     &w->ws->c->pool4, &w->ws->c->pool6,
					     w->has_dns ? &w->sh->dns : NULL,
					     &w->sh->log, &err) ? -EADDRINUSE : 0;
			if (ret)
				log_event(&w->sh->log, "proxy", "proxy", "not-started",
					  "error", err ? err : "?", NULL);
			free(err);
		} else {
			fwd_proxy_close(&w->sh->fwd);
			ret = 0;
		}
		break;
	case PRIVOP_PEERS:
		if (w->has_dns)
			dns_set_peers(&w->sh->dns, &m);
		ret = 0;
		break;
	default:	/* PRIVOP_POLICY, with its memfd */
		ret = worker_policy(w, mfd, m.policy.len);
		break;
	}
	if (mfd >= 0)
		close(mfd);
	privop_reply_encode(&r, m.hdr.seq, ret);
	privop_send(WK_FD_CTL, &r, -1);
}

/**
 * worker_loop() - the worker's event loop
 * @w:		worker
 */
static void worker_loop(struct wk *w)
{
	struct epoll_event ev[WK_MAX_EVENTS];
	struct wk_shared *sh = w->sh;
	int n, i;

	while (!w->quit) {
		n = epoll_wait(w->epfd, ev, WK_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < n && !w->quit; i++) {
			union sv_ref ref = { .u64 = ev[i].data.u64 };

			switch (ref.type) {
			case SV_REF_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(w->sfd, &si, sizeof(si)) == sizeof(si))
					w->quit = true;
				break;
			}
			case SV_REF_TIMER: {
				uint64_t exp;

				if (read(w->tfd, &exp, sizeof(exp)) == sizeof(exp)) {
					fwd_timer(&sh->fwd, time(NULL));
					if (w->has_dns)
						dns_timer(&sh->dns);
				}
				if (!fwd_active(&sh->fwd) &&
				    !(w->has_dns && dns_busy(&sh->dns)))
					worker_timer_arm(w, false);
				break;
			}
			case SV_REF_CORE:
				worker_ctl(w);
				break;
			case SV_REF_NFLOG:
				log_nflog_input(&sh->log);
				break;
			case SV_REF_DHCP:
				if (w->has_dhcp)
					dhcp_input(&sh->dhcp);
				break;
			case SV_REF_RA:
				if (w->has_ra)
					ra_input(&sh->ra);
				break;
			case SV_REF_RA_TIMER:
				if (w->has_ra)
					ra_timer(&sh->ra);
				break;
			case SV_REF_DNS_UDP:
			case SV_REF_DNS_TCPL:
			case SV_REF_DNS_TCP:
			case SV_REF_DNS_UP:
				if (w->has_dns) {
					dns_event(&sh->dns, ref, ev[i].events);
					worker_timer_arm(w, true);
				}
				break;
			default:
				fwd_event(&sh->fwd, ref, ev[i].events);
				worker_timer_arm(w, true);
				break;
			}
		}
	}
}

/**
 * struct wk_carry - counters carried from one worker to the next
 * @fwd:	published ports' counters
 * @pstats:	the proxy's byte counters
 * @pc:		its decisions
 * @icc:	its TLS interception's counters
 * @dns:	the interceptor's counters
 * @log:	log intake: records, denials, suppressed, lost, errors
 * @dhcp:	the guest's DHCP server's counters
 * @ra:		its router advertisements' counters
 */
struct wk_carry {
	__typeof__(((struct fwd *)0)->stats) fwd;
	__typeof__(((struct fwd *)0)->pstats) pstats;
	struct proxy_counters pc;
	struct icpt_counters icc;
	uint64_t dns[DNS_C_COUNT];
	uint64_t log[5];
	uint64_t dhcp[DHCP_C_COUNT];
	uint64_t ra[RA_C_COUNT];
};

/**
 * worker_carry() - take the counters out of the shared region, or put
 * them back
 * @sh:		region
 * @k:		the counters
 * @put:	put them back (else take them)
 */
static void worker_carry(struct wk_shared *sh, struct wk_carry *k, bool put)
{
	uint64_t *lg[5] = { &sh->log.records, &sh->log.denials,
			    &sh->log.suppressed, &sh->log.lost, &sh->log.errors };
	size_t i;

	if (put) {
		sh->fwd.stats = k->fwd;
		sh->fwd.pstats = k->pstats;
		sh->fwd.pc = k->pc;
		sh->fwd.icc = k->icc;
		memcpy(sh->dns.ctr, k->dns, sizeof(k->dns));
		memcpy(sh->dhcp.ctr, k->dhcp, sizeof(k->dhcp));
		memcpy(sh->ra.ctr, k->ra, sizeof(k->ra));
		for (i = 0; i < 5; i++)
			*lg[i] = k->log[i];
		return;
	}
	k->fwd = sh->fwd.stats;
	k->pstats = sh->fwd.pstats;
	k->pc = sh->fwd.pc;
	k->icc = sh->fwd.icc;
	memcpy(k->dns, sh->dns.ctr, sizeof(k->dns));
	memcpy(k->dhcp, sh->dhcp.ctr, sizeof(k->dhcp));
	memcpy(k->ra, sh->ra.ctr, sizeof(k->ra));
	for (i = 0; i < 5; i++)
		k->log[i] = *lg[i];
}

/**
 * worker_setup() - start the worker's services, still privileged
 * @w:		worker
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
static int worker_setup(struct wk *w, char **err)
{
	const struct wk_spec *ws = w->ws;
	struct wk_shared *sh = w->sh;
	struct wk_carry carry = { 0 };
	sigset_t mask;

	worker_carry(sh, &carry, false);
	memset(&sh->fwd, 0, sizeof(sh->fwd));
	worker_shared_zero(&sh->dns, sizeof(sh->dns));
	memset(&sh->log, 0, sizeof(sh->log));
	memset(&sh->dhcp, 0, sizeof(sh->dhcp));
	memset(&sh->ra, 0, sizeof(sh->ra));
	sh->dhcp.fd = sh->ra.fd = sh->ra.tfd = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->sfd < 0 || w->tfd < 0 ||
	    worker_add(w, SV_REF_SIGNAL, w->sfd) ||
	    worker_add(w, SV_REF_TIMER, w->tfd) ||
	    worker_add(w, SV_REF_CORE, WK_FD_CTL)) {
		*err = xasprintf("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	/* a record the core cannot take at once is dropped, not waited for */
	fcntl(WK_FD_LOG, F_SETFL, fcntl(WK_FD_LOG, F_GETFL) | O_NONBLOCK);
	log_open_sink(&sh->log, WK_FD_LOG,
		      ws->s->has_net ? nft_log_group(ws->s->ifname) : 0);
	if (sh->log.nl_fd >= 0 && worker_add(w, SV_REF_NFLOG, sh->log.nl_fd))
		snprintf(sh->log.nl_err, sizeof(sh->log.nl_err), "epoll: %s",
			 strerror(errno));
	if (fwd_init(&sh->fwd, w->epfd, &w->pol, ws->s, &ws->c->pool4,
		     &ws->c->pool6, err))
		return -1;
	if (ws->has_dns) {
		if (dns_init(&sh->dns, w->epfd, &w->pol, ws->s, &sh->log, err))
			return -1;
		sh->dns.pin = worker_pin_request;
		sh->dns.pin_ctx = w;
		sh->dns.uid = nft_worker_uid(ws->s->ifname, false);
		sh->dns.up_uid = nft_worker_uid(ws->s->ifname, true);
		if (ws->pins)
			dns_pins_carry(&sh->dns, ws->pins);
		w->has_dns = true;
	}
	if (ws->proxy &&
	    fwd_proxy_init(&sh->fwd, &w->pol, ws->s, &ws->c->pool4,
			   &ws->c->pool6, w->has_dns ? &sh->dns : NULL,
			   &sh->log, err))
		return -1;
	/* OpenSSL's set-up reads files: before the isolation */
	if (ws->proxy && ws->sec) {
		sh->fwd.ic = intercept_init(w->epfd, ws->sec, &w->pol,
					    sh->fwd.max, &sh->log,
					    &sh->fwd.icc, err);
		if (!sh->fwd.ic)
			return -1;
	}
	if (ws->s->has_net && *ws->s->tap) {
		if (dhcp_init(&sh->dhcp, w->epfd, ws->s, &w->pol, &sh->log, err))
			return -1;
		w->has_dhcp = true;
		if (ws->s->has_v6) {
			if (ra_init(&sh->ra, w->epfd, ws->s, &w->pol, err))
				return -1;
			w->has_ra = true;
		}
	}
	worker_carry(sh, &carry, true);
	return 0;
}

#ifdef MOAT_TEST_HOOKS
/**
 * worker_evil_send() - test hooks: send raw bytes as a request, wait for
 * the answer
 * @w:		worker
 * @buf:	message
 * @len:	its length
 *
 * Return: the core's status, or -errno if none came
 */
static int worker_evil_send(struct wk *w, const void *buf, size_t len)
{
	static struct privop_msg r;
	struct pollfd pfd = { .fd = WK_FD_REQ, .events = POLLIN };
	const struct privop_hdr *q = buf;
	const char *why;
	int ret;

	if (send(WK_FD_REQ, buf, len, MSG_NOSIGNAL) < 0)
		return -errno;
	while (poll(&pfd, 1, WK_PIN_WAIT_MS) == 1) {
		ret = privop_recv(WK_FD_REQ, &r, PRIVOP_BIT(PRIVOP_REPLY), NULL, &why);
		if (ret > 0 && r.hdr.seq == (len < sizeof(*q) ? 0 : q->seq))
			return r.reply.status;
		if (ret == 0 || (ret < 0 && ret != -EINVAL && ret != -EAGAIN))
			return -EPIPE;
	}
	return -ETIMEDOUT;
}

/**
 * worker_evil() - test hooks: act as a compromised worker would
 * @w:		worker, isolated already
 *
 * Only in builds with -Dtest_hooks=true, and only when the environment
 * the supervisor was started with says MOAT_TEST_WORKER=evil: every
 * request a worker could forge that its core must refuse, each logged as
 * a "test" record with the core's answer, then the one kind of pin the
 * core must accept (so that "refused" is not "broken"). With
 * MOAT_TEST_WORKER=evil-syscall it then makes a call its filter forbids.
 */
static void worker_evil(struct wk *w)
{
	const char *mode = getenv("MOAT_TEST_WORKER");
	struct {
		struct privop_hdr h;
		struct privop_pin p[NFT_PIN_BATCH_MAX + 1];
	} m;
	const struct policy *p = &w->pol;
	size_t dom = 0, other = 0, k;
	static const uint8_t meta[4] = { 169, 254, 169, 254 };
	static const uint8_t pub[4] = { 140, 82, 112, 99 };
	/* @rule: the wire's 0-based index, or SIZE_MAX for the domain rule,
	 * SIZE_MAX - 1 for the address rule */
	struct {
		const char *name;
		size_t rule;
		const char *host;
		int af;
		uint32_t timeout;
		const uint8_t *addr;
		uint16_t n;
		size_t len;
		uint16_t type;
	} t[] = {
		{ "rule-past-end", p->nrules, NULL, AF_INET, 60, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "address-rule", SIZE_MAX - 1, NULL, AF_INET, 60, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "name-not-the-rule's", SIZE_MAX, "evil.example", AF_INET, 60, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "name-not-normalised", SIZE_MAX, "GitHub.com.", AF_INET, 60, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "timeout-0", SIZE_MAX, NULL, AF_INET, 0, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "timeout-over-bound", SIZE_MAX, NULL, AF_INET, p->ttl_max + 1, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "metadata-address", SIZE_MAX, NULL, AF_INET, 60, meta, 1, 0, PRIVOP_PIN_ADD },
		{ "delete-address-rule", SIZE_MAX - 1, NULL, AF_INET, 60, pub, 1, 0, PRIVOP_PIN_DEL },
		{ "family-99", SIZE_MAX, NULL, 99, 60, pub, 1, 0, PRIVOP_PIN_ADD },
		{ "too-many-entries", SIZE_MAX, NULL, AF_INET, 60, pub, NFT_PIN_BATCH_MAX + 1, 0, PRIVOP_PIN_ADD },
		{ "short-message", SIZE_MAX, NULL, AF_INET, 60, pub, 1, 7, PRIVOP_PIN_ADD },
		{ "length-not-entries", SIZE_MAX, NULL, AF_INET, 60, pub, 1, sizeof(struct privop_hdr) + 9, PRIVOP_PIN_ADD },
		{ "unknown-type", SIZE_MAX, NULL, AF_INET, 60, pub, 1, 0, 77 },
		{ "a-reply", SIZE_MAX, NULL, AF_INET, 60, pub, 0, sizeof(struct privop_hdr) + 4, PRIVOP_REPLY },
		{ "allowed-pin", SIZE_MAX, NULL, AF_INET, 60, pub, 1, 0, PRIVOP_PIN_ADD },
	};
	size_t i;

	if (!mode || strncmp(mode, "evil", 4))
		return;
	for (k = 0; k < p->nrules; k++) {
		if (!dom && p->rules[k].allow && p->rules[k].kind == TARGET_DOMAIN &&
		    p->rules[k].domain[0] != '*')
			dom = k + 1;
		if (!other && p->rules[k].kind != TARGET_DOMAIN)
			other = k + 1;
	}
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		const char *res;
		size_t len, j;
		int st;

		memset(&m, 0, sizeof(m));
		m.h.type = t[i].type;
		m.h.n = t[i].n;
		m.h.seq = ++w->seq;
		for (j = 0; j < t[i].n && j <= NFT_PIN_BATCH_MAX; j++) {
			const char *host = t[i].host ? t[i].host :
					   dom ? p->rules[dom - 1].domain : "x";
			struct privop_pin *e = &m.p[j];
			size_t r = t[i].rule == SIZE_MAX ? dom - 1 :
				   t[i].rule == SIZE_MAX - 1 ? other - 1 : t[i].rule;

			e->rule = (uint16_t)r;
			e->af = (uint8_t)t[i].af;
			e->timeout = t[i].timeout;
			memcpy(e->addr, t[i].addr, 4);
			e->namelen = (uint8_t)strlen(host);
			memcpy(e->name, host, e->namelen);
		}
		len = t[i].len ? t[i].len :
		      sizeof(m.h) + (size_t)t[i].n * sizeof(struct privop_pin);
		st = worker_evil_send(w, &m, len);
		res = st == 0 ? "accepted" : st == -EPERM ? "refused" :
		      st == -EBADMSG ? "malformed" : "error";
		log_event(&w->sh->log, "test", "attack", t[i].name,
			  "result", res, "status", st ? strerror(-st) : "0", NULL);
	}
	if (!strcmp(mode, "evil-syscall")) {
		log_event(&w->sh->log, "test", "attack", "forbidden-syscall",
			  "result", "trying", NULL);
		/* not in the allow-list: the filter kills the process */
		syscall(SYS_ptrace, 0, 0, 0, 0);
		log_event(&w->sh->log, "test", "attack", "forbidden-syscall",
			  "result", "survived", NULL);
	}
}
#endif /* MOAT_TEST_HOOKS */

/**
 * worker_main() - the worker's body, in the child of worker_start()
 * @ws:		what it is started with
 * @core:	the core's PID
 *
 * Its descriptors are WK_FD_READY to WK_FD_LOG; every other is closed.
 * Never returns.
 */
static void __attribute__((noreturn)) worker_main(const struct wk_spec *ws,
						  pid_t core)
{
	struct wk *w = xcalloc(1, sizeof(*w));
	char *err = NULL;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != core)
		_exit(MOAT_EXIT_FAILURE);
	prctl(PR_SET_NAME, "moat-worker");
	msg_prog = "moat-worker";
	w->ws = ws;
	w->sh = ws->sh;
	w->pol = *ws->pol;	/* the fork's copy: this process's own */
	if (worker_setup(w, &err)) {
		dprintf(WK_FD_READY, "%s\n", err ? err : "cannot start");
		_exit(MOAT_EXIT_FAILURE);
	}
	if (worker_drop(w)) {
		dprintf(WK_FD_READY, "cannot drop the worker's privileges\n");
		_exit(MOAT_EXIT_FAILURE);
	}
	/* write(2), not stdio: stdio would fstat(2) the descriptor, which
	 * the isolated worker may not */
	if (write(WK_FD_READY, "OK\n", 3) != 3)
		_exit(MOAT_EXIT_FAILURE);
	close(WK_FD_READY);
#ifdef MOAT_TEST_HOOKS
	worker_evil(w);
#endif

	worker_loop(w);

	if (w->has_dns)
		dns_close(&w->sh->dns);
	dhcp_close(&w->sh->dhcp);
	ra_close(&w->sh->ra);
	fwd_close(&w->sh->fwd);
	log_close(&w->sh->log);
	_exit(MOAT_EXIT_OK);
}

/**
 * worker_fds() - in the child: the worker's descriptors at their numbers,
 * every other closed
 * @fds:	ready pipe, req, ctl, log (the worker's ends)
 *
 * Return: 0, or -1
 */
static int worker_fds(const int fds[4])
{
	int tmp[4], k;

	/* out of the way first: a descriptor may sit where another goes */
	for (k = 0; k < 4; k++) {
		tmp[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, 64);
		if (tmp[k] < 0)
			return -1;
	}
	for (k = 0; k < 4; k++)
		if (dup3(tmp[k], WK_FD_READY + k, O_CLOEXEC) < 0)
			return -1;
	if (syscall(SYS_close_range, WK_FD_LOG + 1, ~0U, 0))
		return -1;
	return 0;
}

/**
 * worker_start() - start a sandbox's worker and wait until it is ready
 * @ws:		what it is started with
 * @h:		filled in: its PID, pidfd and the core's ends of its sockets
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set (nothing left running)
 */
int worker_start(const struct wk_spec *ws, struct wk_handle *h, char **err)
{
	int rdy[2], sp[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	char buf[512];
	ssize_t n, len = 0;
	pid_t core = getpid(), child;
	int k;

	memset(h, 0, sizeof(*h));
	h->pidfd = h->req = h->ctl = h->log = -1;
	if (pipe2(rdy, O_CLOEXEC)) {
		*err = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	for (k = 0; k < 3; k++) {
		int e = privop_pair(sp[k]);

		if (e) {
			*err = xasprintf("socketpair: %s", strerror(-e));
			goto fail;
		}
	}
	child = fork();
	if (child < 0) {
		*err = xasprintf("fork: %s", strerror(errno));
		goto fail;
	}
	if (child == 0) {
		int fds[4] = { rdy[1], sp[0][1], sp[1][1], sp[2][1] };

		if (worker_fds(fds))
			_exit(127);
		worker_main(ws, core);
	}
	close(rdy[1]);
	rdy[1] = -1;
	for (k = 0; k < 3; k++) {
		close(sp[k][1]);
		sp[k][1] = -1;
	}
	while (len < (ssize_t)sizeof(buf) - 1) {
		n = read(rdy[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (buf[len - 1] == '\n')
			break;
	}
	close(rdy[0]);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	h->pid = child;
	h->pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	h->req = sp[0][0];
	h->ctl = sp[1][0];
	h->log = sp[2][0];
	/* the core reads what is queued, never waits on its worker */
	fcntl(h->req, F_SETFL, fcntl(h->req, F_GETFL) | O_NONBLOCK);
	fcntl(h->log, F_SETFL, fcntl(h->log, F_GETFL) | O_NONBLOCK);
	if (strcmp(buf, "OK") || h->pidfd < 0) {
		*err = xasprintf("%s", *buf ? buf : "the worker exited without saying why");
		worker_stop(h);
		worker_close(h);
		return -1;
	}
	return 0;
fail:
	close(rdy[0]);
	close(rdy[1]);
	for (k = 0; k < 3; k++) {
		if (sp[k][0] >= 0)
			close(sp[k][0]);
		if (sp[k][1] >= 0)
			close(sp[k][1]);
	}
	return -1;
}

/**
 * worker_stop() - stop a worker: SIGTERM, then SIGKILL, and reap it
 * @h:		its handle (@pid cleared)
 */
void worker_stop(struct wk_handle *h)
{
	struct pollfd pfd = { .fd = h->pidfd, .events = POLLIN };
	int status;

	if (h->pid <= 0)
		return;
	if (h->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, h->pidfd, SIGTERM, NULL, 0);
		if (poll(&pfd, 1, WK_STOP_WAIT_MS) <= 0)
			syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
	} else {
		kill(h->pid, SIGKILL);
	}
	waitpid(h->pid, &status, 0);
	h->pid = 0;
}

/**
 * worker_close() - close the core's ends of a stopped worker's sockets
 * @h:		its handle
 */
void worker_close(struct wk_handle *h)
{
	int *fds[4] = { &h->pidfd, &h->req, &h->ctl, &h->log };
	int k;

	for (k = 0; k < 4; k++) {
		if (*fds[k] >= 0)
			close(*fds[k]);
		*fds[k] = -1;
	}
}

/**
 * worker_request() - send the worker a request and wait for its answer
 * @h:		its handle
 * @m:		PRIVOP_STATUS, PRIVOP_PROXY or PRIVOP_POLICY (its sequence
 *		number set here)
 * @fd:		PRIVOP_POLICY: the memfd to pass, else -1
 * @serve:	called when the worker's request socket is readable while
 *		waiting (the worker may be waiting for a pin itself)
 * @arg:	passed to @serve
 * @timeout_ms:	how long to wait
 * @status:	set to the answer's status
 *
 * Return: 0 with @status set, or -errno (-ETIMEDOUT, -EPIPE)
 */
int worker_request(struct wk_handle *h, struct privop_msg *m, int fd,
		   void (*serve)(void *arg), void *arg, int timeout_ms,
		   int32_t *status)
{
	struct pollfd pfd[2] = { { .fd = h->ctl, .events = POLLIN },
				 { .fd = h->req, .events = POLLIN } };
	static struct privop_msg r;
	uint32_t seq = m->hdr.seq = ++h->seq;
	struct timespec t0;
	const char *why;
	int ret;

	if (h->ctl < 0)
		return -EPIPE;
	ret = privop_send(h->ctl, m, fd);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long ms = worker_ms_left(&t0, timeout_ms);

		if (ms <= 0)
			return -ETIMEDOUT;
		ret = poll(pfd, 2, (int)ms);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (pfd[1].revents && serve)
			serve(arg);
		if (!pfd[0].revents)
			continue;
		ret = privop_recv(h->ctl, &r, PRIVOP_BIT(PRIVOP_REPLY), NULL, &why);
		if (ret == -EAGAIN || ret == -EINVAL)
			continue;	/* a refused message: not the answer */
		if (ret <= 0)
			return -EPIPE;
		if (r.hdr.seq == seq) {
			*status = r.reply.status;
			return 0;
		}
	}
}

/**
 * worker_status() - a worker's counters, as the core answers "status"
 * @sh:		the shared region
 * @s:		the sandbox (a TAP adds "dhcp" and, with IPv6, "ra")
 * @has_dns:	the sandbox has an interceptor
 * @log:	the core's log's counters (log_stats()), taken over
 *
 * Everything is copied out of the region into zeroed structures of the
 * core's own, counts bounded by their arrays and strings terminated, and
 * then printed by the modules' own functions: a worker that wrote
 * nonsense there can make the numbers wrong, nothing more.
 *
 * Return: new JSON object {publish, proxy, log, dns?, dhcp?, ra?}
 */
json_t *worker_status(const struct wk_shared *sh, const struct sb_state *s,
		      bool has_dns, json_t *log)
{
	struct fwd *f = xcalloc(1, sizeof(*f));
	char nl_err[sizeof(sh->log.nl_err)];
	json_t *o;
	size_t i;

	f->max = sh->fwd.max;
	f->stats = sh->fwd.stats;
	f->pstats = sh->fwd.pstats;
	f->pc = sh->fwd.pc;
	f->plst[0] = sh->fwd.plst[0] >= 0 ? 0 : -1;
	f->plst[1] = sh->fwd.plst[1] >= 0 ? 0 : -1;
	o = json_pack("{s:o,s:o}", "publish", fwd_stats(f, (size_t)sh->active),
		      "proxy", fwd_proxy_stats(f));
	free(f);
	json_object_set_new(log, "denials_total",
			    json_integer((json_int_t)sh->log.denials));
	json_object_set_new(log, "suppressed_total",
			    json_integer((json_int_t)sh->log.suppressed));
	json_object_set_new(log, "lost_total",
			    json_integer((json_int_t)sh->log.lost));
	json_object_set_new(log, "nflog_group",
			    json_integer((json_int_t)sh->log.group));
	memcpy(nl_err, sh->log.nl_err, sizeof(nl_err));
	nl_err[sizeof(nl_err) - 1] = '\0';
	for (i = 0; nl_err[i]; i++)
		if ((unsigned char)nl_err[i] < 0x20 || (unsigned char)nl_err[i] > 0x7e)
			nl_err[i] = '?';
	json_object_del(log, "nflog_error");
	if (*nl_err)
		json_object_set_new(log, "nflog_error", json_string(nl_err));
	json_object_set_new(o, "log", log);
	if (has_dns) {
		struct dns *d = xcalloc(1, sizeof(*d));

		memcpy(d->ctr, sh->dns.ctr, sizeof(d->ctr));
		d->nup = sh->dns.nup < DNS_UP_MAX ? sh->dns.nup : DNS_UP_MAX;
		memcpy(d->up, sh->dns.up, sizeof(d->up));
		d->nlat = sh->dns.nlat < DNS_LAT_N ? sh->dns.nlat : DNS_LAT_N;
		memcpy(d->lat, sh->dns.lat, sizeof(d->lat));
		json_object_set_new(o, "dns", dns_stats(d));
		free(d);
	}
	if (s->has_net && *s->tap) {
		struct dhcp dh = { .fd = -1 };
		struct ra r = { .fd = -1 };

		memcpy(dh.ctr, sh->dhcp.ctr, sizeof(dh.ctr));
		json_object_set_new(o, "dhcp", dhcp_stats(&dh));
		if (s->has_v6) {
			memcpy(r.ctr, sh->ra.ctr, sizeof(r.ctr));
			json_object_set_new(o, "ra", ra_stats(&r));
		}
	}
	return o;
}
