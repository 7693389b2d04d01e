// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * supervisor.c - the per-sandbox supervisor process
 *
 * Theory of operation
 * -------------------
 * Every sandbox has one supervisor, the role conmon or pasta play for a
 * Podman container, in the host's network namespace. It is two processes:
 * this one, the core, which keeps what needs privilege, and its worker
 * (src/worker/worker.c), which does everything that reads bytes a sandbox
 * or the internet chose (the DNS interceptor, the proxy, the relays of
 * published ports, NFLOG intake) as a UID of its own without any
 * privilege. The core keeps the control socket, the watch of "moat run",
 * the guard against a firewall reload, the sandbox's log file, live policy
 * changes and teardown, and the nftables transactions of DNS pins: the
 * worker asks for each pin (WK_PIN_ADD) and the core checks it against its
 * own copy of the policy (sv_pins_check()) before the kernel sees it. A
 * compromised worker can therefore pin an address for one of its own
 * sandbox's domain rules, for no longer than the policy's TTL bound, and
 * nothing else: its own connections are judged by the sandbox's rules in
 * the kernel (its UID, nft.c). There is no central daemon: a supervisor
 * that crashes takes only its own sandbox's services with it, and because
 * every rule lives in the kernel, nothing that was closed opens (I6).
 *
 * When the worker dies (a crash, the OOM killer), the core logs and counts
 * it and starts another (sv_worker_exit()), at once the first time and
 * then after a growing pause if it keeps dying right after its start; the
 * new one carries on the counters (struct wk_shared) and the pins the core
 * recorded. Meanwhile the sandbox has no DNS and no proxy: closed, never
 * open.
 *
 * "moat create" starts it with fork() and exec() of its own binary
 * ("moat __supervise NAME"), so its address space holds none of the
 * creating process's state. It reports readiness, or the reason it could
 * not start (a published port already taken, say), on a pipe; creation
 * waits for that and fails as a whole if the supervisor does.
 *
 * Each process has one thread and one epoll loop. Each registered
 * descriptor carries a union sv_ref (type, table index, descriptor) and
 * the loop dispatches on the type. A signalfd ends the loop on SIGTERM;
 * the core has no timer (the worker's ticks once a second for expiry
 * work, only while there is something to expire: an idle supervisor never
 * wakes up; with 1000 sandboxes, a tick each would cost a fifth of a core
 * on a small virtual machine; docs/BENCHMARKS.md). For "moat run", the
 * core also holds a pidfd of the moat process: if that dies before it
 * removed the sandbox (killed, say), the core removes the sandbox itself
 * and exits.
 *
 * The control socket (ctl.sock in the sandbox's state directory, mode 0600
 * in a root-owned directory) takes one line, "status", "stop" or "update"
 * (apply the policy "moat update" stored as policy.next: update.c), and
 * answers with one line of JSON (the client is svctl.c); "status" takes
 * the worker's counters from the region they share (worker_status()). It serves only peers whose UID, as the
 * kernel reports it in this (the host's) user namespace with SO_PEERCRED,
 * is 0: a command that moat starts runs in a user namespace of its own
 * whose UIDs, 0 included, map to unprivileged host UIDs (exec.c), so even
 * if it found the socket it would be refused (and a process of a user
 * namespace whose root is not mapped at all shows as 65534).
 *
 * A firewall reload ("nft flush ruleset") removes moat's table. The
 * sandbox stays closed meanwhile (guard.c: its packets are marked by
 * traffic control, and routing and IPsec policy refuse them unless the
 * table passed them), and the supervisor notices at once: it listens to
 * nftables' events (SV_REF_GUARD, filtered in the kernel so that the
 * removal of other sandboxes and DNS pins do not wake it), then asks
 * the kernel whether the table, its base prerouting rules and the
 * sandbox's own chains are there (guard_intact()). If not, it marks the
 * sandbox degraded (the file "degraded" in its state directory: "moat
 * ls" shows it), logs a "guard" record, and restores under the global
 * lock, taken without blocking (SV_REF_GUARD_TIMER retries after 1 to 8
 * times SV_GUARD_RETRY_MS, jittered): sandbox_nft_restore() writes the
 * base table with every live sandbox's chains when the table is missing
 * (whichever supervisor comes first; the others find their chains there,
 * and a retry first asks the kernel, without the lock), else its own
 * chains if missing, and its dispatch entries; then the DNS interceptor
 * puts its live pins back (dns_repin()). It logs the restoration with the
 * time it took and clears "degraded". (The pins come from the core's own
 * record of them, never from the worker.) A supervisor that reads the event
 * only after another restored everything finds the table intact but with
 * a new kernel handle (guard_table_handle()): its sets are new, so it
 * puts its pins back too.
 * Sandboxes whose supervisor is dead are not restored: they stay closed.
 *
 * An attached sandbox ("moat attach": its namespace is a container's)
 * ends with its namespace. moat holds no reference to that namespace, so
 * when the container's last process ends (and its runtime has removed
 * any mount of it), the kernel destroys it, deleting the veth inside and
 * with it the host end. The core watches for that deletion (SV_REF_LINK:
 * route netlink's RTM_DELLINK for its interface's index, filtered in the
 * kernel, link_watch_open()) and, when it comes, logs why, stops its
 * worker and removes the sandbox as "moat rm" would (rules, connections,
 * record; the log archived), under the global lock, and exits; it does
 * not look for the namespace (it joins none: isolate.c). The same
 * happens if someone deletes the interface by hand: without it the
 * sandbox can carry nothing. A "moat rm" that holds the lock meanwhile
 * stops the core with SIGTERM and removes the sandbox itself
 * (sv_lock_or_stop()).
 *
 * "moat adopt" (adopt.c) starts a new supervisor for a sandbox whose
 * supervisor died: the same start, but the record it reads is complete
 * already (one "moat create" starts finds it incomplete), which tells it
 * so. Before it starts its worker, it reads the sandbox's live pins back
 * from the kernel's sets, with the names they were answered for, into
 * its record of the pins (sv_adopted()), which the worker's interceptor
 * starts from, so that its proxy knows them, and
 * logs an "adopted" record; then its guard finds the rules as they are
 * and restores them if they were damaged meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "err.h"
#include "conntrack.h"
#include "guard.h"
#include "isolate.h"
#include "link.h"
#include "log.h"
#include "nft.h"
#include "sandbox.h"
#include "sblink.h"
#include "supervisor.h"
#include "svctl.h"
#include "update.h"
#include "privop.h"
#include "worker.h"

#define SV_MAX_EVENTS	64
#define SV_STOP_WAIT_MS	3000
#define SV_GUARD_RETRY_MS	20	/* lock busy, or the kernel refused */
#define SV_READY_FD		3	/* the child's ready pipe; above it, nothing */
#define SV_FD_FALLBACK_MAX	1024	/* closed one by one without close_range */
#define SV_STATUS_WAIT_MS	1000	/* the worker's answer to "status" */
#define SV_POLICY_WAIT_MS	10000	/* to a policy change */
#define SV_WK_QUICK_S		1	/* a worker that died sooner ... */
#define SV_WK_PAUSE_MS		100	/* ... is restarted after this, doubled */
#define SV_WK_PAUSE_MAX_MS	10000	/* each time, up to this */
#define SV_WK_LOG_RATE		200	/* worker's records a second, ... */
#define SV_WK_LOG_BURST		400	/* ... and at once */
#define SV_WK_LOG_BATCH		64	/* records read in one wake-up */

/**
 * sv_pidfd_open() - pidfd_open(2), which glibc 2.36 does not wrap portably
 * @pid:	process
 *
 * Return: descriptor, or -1 with errno set
 */
static int sv_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

#ifdef MOAT_TEST_HOOKS
/**
 * supervisor_test_stderr() - in a test build, the supervisor's stderr to a file
 *
 * Only in builds with -Dtest_hooks=true, and only when the environment
 * names a file in MOAT_TEST_SUPERVISOR_STDERR: the supervisor (core and
 * worker, which inherits it) writes its standard error there, appending,
 * instead of to /dev/null, so that the test runner finds what a sanitizer
 * reported in a process nobody else reads the output of. A release build
 * has no such code.
 */
static void supervisor_test_stderr(void)
{
	const char *path = getenv("MOAT_TEST_SUPERVISOR_STDERR");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	dup2(fd, 2);
	close(fd);
}
#endif

/**
 * supervisor_start() - start a sandbox's supervisor and wait until ready
 * @c:		settings
 * @s:		the sandbox (record and policy already stored)
 * @watch:	"moat run" process to watch, 0 for none
 * @pid:	set to the supervisor's PID
 * @start:	set to its start time
 *
 * Return: 0, or -1 after printing why the supervisor could not start
 */
int supervisor_start(const struct moat_config *c, const struct sb_state *s,
		     pid_t watch, pid_t *pid, unsigned long long *start)
{
	char buf[512], wbuf[32];
	int pfd[2], status;
	ssize_t n, len = 0;
	pid_t child;

	if (pipe2(pfd, O_CLOEXEC)) {
		msg_err("pipe: %s", strerror(errno));
		return -1;
	}
	child = fork();
	if (child < 0) {
		msg_err("fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (child == 0) {
		char *argv[] = { (char *)"moat", (char *)"__supervise",
				 (char *)s->name, (char *)"3", wbuf, NULL };
		int nul;

		setsid();
		if (dup2(pfd[1], SV_READY_FD) < 0)	/* argv's "3" */
			_exit(127);
		nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
#ifdef MOAT_TEST_HOOKS
		supervisor_test_stderr();
#endif
		if (syscall(SYS_close_range, SV_READY_FD + 1, ~0U, 0))
			for (n = SV_READY_FD + 1; n < SV_FD_FALLBACK_MAX; n++)
				close((int)n);
		snprintf(wbuf, sizeof(wbuf), "%d", (int)watch);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len < (ssize_t)sizeof(buf) - 1) {
		n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(pfd[0]);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	if (strcmp(buf, "OK")) {
		msg_err("the supervisor of '%s' did not start: %s", s->name,
			*buf ? buf : "it exited without saying why");
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return -1;
	}
	*pid = child;
	if (state_proc_starttime(child, start)) {
		msg_err("the supervisor of '%s' vanished", s->name);
		return -1;
	}
	return 0;
}

/**
 * supervisor_stop() - stop a sandbox's supervisor, if it runs
 * @s:		the sandbox
 *
 * SIGTERM, then SIGKILL if it has not exited after a while. Only a process
 * whose start time matches the record is signalled (no PID reuse).
 */
void supervisor_stop(const struct sb_state *s)
{
	unsigned long long st;
	struct pollfd pfd;
	int fd, status;

	if (s->supervisor_pid <= 0 ||
	    state_proc_starttime(s->supervisor_pid, &st) ||
	    st != s->supervisor_start)
		return;
	fd = sv_pidfd_open(s->supervisor_pid);
	if (fd < 0)
		return;
	syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, SV_STOP_WAIT_MS) <= 0) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		poll(&pfd, 1, SV_STOP_WAIT_MS);
	}
	close(fd);
	waitpid(s->supervisor_pid, &status, WNOHANG);	/* if it is our child */
}

/**
 * struct sv - the core's state
 * @c:		settings
 * @s:		the sandbox's record
 * @pol:	its policy
 * @epfd:	epoll instance
 * @ctl:	listening control socket
 * @watch:	pidfd of the "moat run" process, or -1
 * @log:	the sandbox's log file (the worker's records come through)
 * @pins:	the core's record of the sandbox's DNS pins, and its pinner
 *		(large: the struct sv lives on the heap)
 * @has_dns:	the sandbox has a DNS interceptor (network "filtered")
 * @sh:		the region shared with the worker (its counters)
 * @wk:		the worker
 * @wk_started:	when the worker last started (CLOCK_MONOTONIC)
 * @wk_exits:	workers that died
 * @wk_pause:	pause before the next restart, ms (0: none yet)
 * @wk_tfd:	timerfd of a pending restart, or -1
 * @wk_tokens:	rate limit of the worker's log records
 * @wk_last:	its last refill
 * @wk_refused:	requests of the worker refused, malformed or not
 * @wk_dropped:	its log records dropped (malformed, or over the rate)
 * @started:	start time, seconds since the epoch
 * @quit:	leave the loop
 * @teardown:	remove the sandbox on the way out
 * @guard:	nftables event socket (guard_watch_open()), or -1
 * @guard_tfd:	timerfd retrying a restoration, or -1
 * @degraded:	moat's rules for the sandbox are absent, being restored
 * @lost_at:	when that was noticed (CLOCK_MONOTONIC)
 * @attempts:	restorations tried since
 * @table:	the kernel's handle of moat's table when last seen intact: a
 *		new one means the table was made again, its sets empty
 * @linkw:	for an attached sandbox, the socket told when its interface
 *		is deleted (link_watch_open()), or -1
 * @link_idx:	that interface's index
 */
struct sv {
	const struct moat_config *c;
	struct sb_state s;
	struct policy pol;
	int epfd;
	int ctl;
	int watch;
	struct log log;
	struct dns pins;
	bool has_dns;
	struct wk_shared *sh;
	struct wk_handle wk;
	struct timespec wk_started;
	unsigned wk_exits;
	unsigned wk_pause;
	int wk_tfd;
	double wk_tokens;
	struct timespec wk_last;
	uint64_t wk_refused;
	uint64_t wk_dropped;
	time_t started;
	bool quit;
	bool teardown;
	int guard;
	int guard_tfd;
	bool degraded;
	struct timespec lost_at;
	unsigned attempts;
	uint64_t table;
	int linkw;
	unsigned link_idx;
	struct secrets sec;
};

/**
 * sv_add() - register a descriptor with the loop
 * @sv:		supervisor
 * @type:	SV_REF_*
 * @fd:		descriptor
 * @events:	epoll events
 *
 * Return: 0, or -1 with errno set
 */
static int sv_add(struct sv *sv, enum sv_ref_type type, int fd, uint32_t events)
{
	union sv_ref ref = { .type = type, .fd = fd };
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	return epoll_ctl(sv->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/**
 * sv_serve_req() - serve the worker's requests while the core waits for it
 * @arg:	supervisor
 */
static void sv_serve_req(void *arg);

/**
 * sv_status() - the answer to "status"
 * @sv:		supervisor
 *
 * The worker is asked first to refresh its gauges (connections open);
 * if it does not answer within SV_STATUS_WAIT_MS, or none runs, the
 * counters are still there.
 *
 * Return: new JSON object
 */
static json_t *sv_status(struct sv *sv)
{
	static struct privop_msg m;
	int32_t st = 0;
	json_t *o, *log;
	int ret;

	privop_init(&m, PRIVOP_STATUS, 0);
	ret = sv->wk.pid > 0 ? worker_request(&sv->wk, &m, -1, sv_serve_req, sv,
					      SV_STATUS_WAIT_MS, &st) : -ESRCH;
	o = worker_status(sv->sh, &sv->s, sv->has_dns, log_stats(&sv->log));
	log = json_object_get(o, "log");
	if (secrets_wanted(&sv->pol) && json_object_get(o, "proxy")) {
		struct icpt_counters icc = sv->sh->fwd.icc;	/* numbers only */

		json_object_set_new(json_object_get(o, "proxy"), "intercept",
				    intercept_stats(&icc, &sv->pol));
	}

	json_object_set_new(o, "name", json_string(sv->s.name));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "started", json_integer((json_int_t)sv->started));
	json_object_set_new(o, "worker", json_pack("{s:i,s:s,s:I,s:I,s:I}",
		"pid", (int)sv->wk.pid,
		"state", !sv->s.has_net ? "none" : ret == -ESRCH ? "restarting" :
			 ret ? "not answering" : "running",
		"restarts_total", (json_int_t)sv->wk_exits,
		"refused_total", (json_int_t)sv->wk_refused,
		"records_dropped_total", (json_int_t)sv->wk_dropped));
	if (log) {
		json_object_set_new(log, "records_total",
				    json_integer((json_int_t)sv->log.records));
		json_object_set_new(log, "errors_total",
				    json_integer((json_int_t)sv->log.errors));
	}
	if (sv->s.has_net)
		json_object_set_new(o, "rules", json_string(sv->degraded ?
							    "absent" : "present"));
	return o;
}

/**
 * sv_worker_proxy() - have the worker open (or close) the proxy's listeners
 * @sv:		supervisor
 * @on:		open them, else close them
 *
 * Return: 0, or -errno
 */
static int sv_worker_proxy(struct sv *sv, bool on)
{
	static struct privop_msg m;
	int32_t st = 0;
	int ret;

	if (sv->wk.pid <= 0)
		return -ESRCH;
	privop_proxy_encode(&m, 0, on);
	ret = worker_request(&sv->wk, &m, -1, sv_serve_req, sv,
			     SV_STATUS_WAIT_MS, &st);
	return ret ? ret : st;
}

/**
 * sv_worker_policy() - give the worker the policy in force
 * @sv:		supervisor
 * @p:		the policy
 *
 * As a sealed memfd holding it as policy_print() stores it: the worker
 * has no file system to read policy.yaml from.
 *
 * Return: proxied connections it cut, or -errno
 */
static int sv_worker_policy(struct sv *sv, const struct policy *p)
{
	static struct privop_msg m;
	char *text = NULL;
	size_t len = 0;
	int32_t st = 0;
	int fd, ret;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f)
		die_oom();
	policy_print(p, f);
	fclose(f);
	fd = privop_policy_memfd(text, len);
	free(text);
	if (fd < 0)
		return fd;
	privop_policy_encode(&m, 0, len);
	ret = sv->wk.pid > 0 ?
	      worker_request(&sv->wk, &m, fd, sv_serve_req, sv,
			     SV_POLICY_WAIT_MS, &st) : -ESRCH;
	close(fd);
	return ret ? ret : st;
}

/**
 * sv_update() - apply the policy "moat update" stored in policy.next
 * @sv:		supervisor
 *
 * The caller of "update" holds the global lock. Steps and guarantees:
 * see update.c. Nothing changes unless the nftables transaction commits.
 *
 * Return: new JSON object: {"ok": true, "cut": N, "kept": N,
 *	   "proxy_cut": N, "proxy_started": B} or {"error": "..."}
 */
static json_t *sv_update(struct sv *sv)
{
	autofree char *next = state_path(sv->c, sv->s.name, UPDATE_NEXT_FILE);
	autofree char *cur = state_path(sv->c, sv->s.name, "policy.yaml");
	struct update_judge j = { 0 };
	struct errlist el = { 0 };
	struct nft_pin *pins = NULL;
	struct nft_sandbox ns = { 0 };
	char *buf = NULL, *err = NULL, nb[3][24];
	size_t len = 0, npins = 0, cut = 0, pcut = 0;
	bool proxy_started = false;
	struct policy p, old;
	struct sb_state rec;
	json_t *resp;
	FILE *f;
	int ret, wret;

	policy_init(&p);
	if (!sv->s.has_net)
		return json_pack("{s:s}", "error", "the sandbox has no network");
	if (sv->degraded)
		return json_pack("{s:s}", "error",
				 "moat's rules for the sandbox are being restored; try again");
	if (sv->wk.pid <= 0)
		return json_pack("{s:s}", "error",
				 "the sandbox's worker is restarting; try again");
	if (policy_load_file(&p, next, &el)) {
		errlist_free(&el);
		policy_free(&p);
		return json_pack("{s:s}", "error", "cannot load the new policy");
	}
	if (update_fixed_check(&sv->pol, &p)) {
		policy_free(&p);
		return json_pack("{s:s}", "error",
				 "the new policy changes what cannot change live");
	}
	/* 1. the proxy, if now needed: listening before anything is
	 * redirected to it */
	if (!sv->s.proxy && sandbox_proxy_wanted(&p)) {
		ret = sv_worker_proxy(sv, true);
		if (ret) {
			policy_free(&p);
			return json_pack("{s:s,s:s}", "error", "cannot start the proxy",
					 "reason", strerror(-ret));
		}
		proxy_started = true;
	}

	/* 2. one transaction: chains, sets, pins carried over */
	if (sv->has_dns)
		npins = dns_pins_for(&sv->pins, &p, &pins);
	sandbox_nft_fill(&ns, &sv->s, &p);
	ns.proxy = sv->s.proxy || proxy_started;
	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	ret = update_nft_text(f, &ns, &sv->pol, pins, npins, &el);
	fclose(f);
	free(pins);
	if (!ret)
		ret = nft_run(buf, &err);
	free(buf);
	if (ret) {
		resp = json_pack("{s:s}", "error", err ? err :
				 "cannot compile the new policy's rules");
		free(err);
		errlist_free(&el);
		policy_free(&p);
		if (proxy_started)
			sv_worker_proxy(sv, false);
		return resp;
	}

	/* 3. the stored policy and the services' view */
	if (rename(next, cur)) {
		/* policy.next gone (its caller gave up waiting): the policy
		 * in force is in memory, stored the same way */
		autofree char *tmp = xasprintf("%s.tmp", cur);
		FILE *pf = fopen(tmp, "we");

		if (pf)
			policy_print(&p, pf);
		if (!pf || fclose(pf) || rename(tmp, cur))
			log_event(&sv->log, "policy", "store", "failed",
				  "error", strerror(errno), NULL);
	}
	if (proxy_started) {
		sv->s.proxy = true;
		if (!state_read(sv->c, sv->s.name, &rec)) {
			rec.proxy = true;
			state_write(sv->c, &rec);
		}
	}
	old = sv->pol;
	sv->pol = p;		/* same address: the pins' record points here */
	policy_free(&old);

	/* 4. connections the new policy refuses: the worker's relays, then
	 * the kernel's */
	wret = sv_worker_policy(sv, &sv->pol);
	if (wret >= 0)
		pcut = (size_t)wret;
	j.s = &sv->s;
	j.pol = &sv->pol;
	j.dns = sv->has_dns ? &sv->pins : NULL;
	j.pool4 = sv->c->pool4;
	j.pool6 = sv->c->pool6;
	/* (a record without an instance mark: its entries cannot be told
	 * from the host's own, unmarked ones; none is judged) */
	ret = sv->s.instance ? conntrack_cut(sv->s.instance, update_keep_flow,
					     &j, &cut) : 0;

	/* 5. said */
	snprintf(nb[0], sizeof(nb[0]), "%zu", cut);
	snprintf(nb[1], sizeof(nb[1]), "%zu", pcut);
	snprintf(nb[2], sizeof(nb[2]), "%zu", sv->pol.nrules);
	log_event(&sv->log, "policy", "policy", "updated",
		  "rules", nb[2],
		  "egress_default", egress_default_name(sv->pol.egress_default),
		  "connections_cut", nb[0], "proxied_cut", nb[1],
		  "proxy", proxy_started ? "started" : sv->s.proxy ? "on" : "off",
		  wret < 0 ? "worker_error" : NULL, wret < 0 ? strerror(-wret) : NULL,
		  ret ? "conntrack_error" : NULL, ret ? strerror(-ret) : NULL,
		  NULL);
	resp = json_pack("{s:b,s:I,s:I,s:I,s:b}", "ok", 1,
			 "cut", (json_int_t)cut, "kept", (json_int_t)j.kept,
			 "proxy_cut", (json_int_t)pcut,
			 "proxy_started", proxy_started);
	if (ret && resp)
		json_object_set_new(resp, "conntrack_error",
				    json_string(strerror(-ret)));
	return resp;
}

/**
 * sv_worker_peers() - give the worker the names of the linked sandboxes
 * @sv:		supervisor
 *
 * The sandboxes this one has a live link to (sblink_peers(), from their
 * records and policies), whose names NAME.moat.internal its DNS
 * interceptor answers. Sent after the worker starts and whenever links
 * change ("links" on the control socket, from sblink_sync()).
 *
 * Return: 0, or -errno
 */
static int sv_worker_peers(struct sv *sv)
{
	static struct sblink_peer peers[SBLINK_PEERS_MAX];
	static struct privop_msg m;
	int32_t st = 0;
	int n, i, ret;

	if (sv->wk.pid <= 0)
		return -ESRCH;
	n = sblink_peers(sv->c, sv->s.name, &sv->pol, peers,
			 SBLINK_PEERS_MAX);
	privop_init(&m, PRIVOP_PEERS, 0);
	for (i = 0; i < n; i++)
		privop_add_peer(&m, peers[i].name, peers[i].addr4.addr,
				peers[i].has_v6 ? peers[i].addr6.addr : NULL);
	ret = worker_request(&sv->wk, &m, -1, sv_serve_req, sv,
			     SV_STATUS_WAIT_MS, &st);
	return ret ? ret : st;
}

/**
 * sv_ctl_conn() - serve one control request
 * @sv:		supervisor
 * @fd:		connection (closed here)
 */
static void sv_ctl_conn(struct sv *sv, int fd)
{
	char buf[64];
	json_t *resp;
	char *out;
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0) {
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!strcmp(buf, "status")) {
		resp = sv_status(sv);
	} else if (!strcmp(buf, "update")) {
		resp = sv_update(sv);
	} else if (!strcmp(buf, "links")) {
		int ret = sv_worker_peers(sv);

		resp = ret ? json_pack("{s:s}", "error", strerror(-ret)) :
			     json_pack("{s:b}", "ok", 1);
	} else if (!strcmp(buf, "stop")) {
		resp = json_pack("{s:b}", "ok", 1);
		sv->quit = true;
	} else {
		resp = json_pack("{s:s}", "error", "unknown command");
	}
	out = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (out) {
		if (send(fd, out, strlen(out), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			msg_debug("control reply: %s", strerror(errno));
		send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(out);
	}
	epoll_ctl(sv->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

/**
 * sv_ctl_peer_ok() - whether a control connection comes from host root
 * @fd:		accepted connection
 *
 * Return: true if the peer's UID is 0 in the supervisor's user namespace
 */
static bool sv_ctl_peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) ||
	    len != sizeof(cr)) {
		msg_debug("control: SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (cr.uid != 0) {
		msg_debug("control: refused peer pid %d uid %u", (int)cr.pid,
			  (unsigned)cr.uid);
		return false;
	}
	return true;
}

/**
 * sv_ctl_open() - create the control socket
 * @sv:		supervisor
 *
 * Return: 0, or -errno
 */
static int sv_ctl_open(struct sv *sv)
{
	struct sockaddr_un sun;
	mode_t old;
	int ret;

	ret = svctl_addr(sv->c, sv->s.name, &sun);
	if (ret)
		return ret;
	unlink(sun.sun_path);
	sv->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sv->ctl < 0)
		return -errno;
	old = umask(0077);
	ret = bind(sv->ctl, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret || listen(sv->ctl, 16))
		return -errno;
	return 0;
}

/**
 * sv_log_open() - open the sandbox's log file
 * @sv:		supervisor
 *
 * The core writes it; the NFLOG group is the worker's to read.
 *
 * Return: 0, or -1 with errno set if the log file cannot be opened
 */
static int sv_log_open(struct sv *sv)
{
	autofree char *dir = state_dir(sv->c, sv->s.name);
	int ret;

	ret = log_open(&sv->log, dir, 0);
	if (ret) {
		errno = -ret;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &sv->wk_last);
	sv->wk_tokens = SV_WK_LOG_BURST;
	return 0;
}

/**
 * sv_serve_req() - serve the worker's pin requests
 * @arg:	supervisor
 *
 * Every queued request: checked (privop_recv(): its form;
 * privop_check_pins(): what it asks, against the core's own copy of the
 * policy), applied by the core's record of the pins in one nftables
 * transaction, answered. A refused one is answered -EPERM, a malformed
 * one -EBADMSG; both are counted and logged.
 */
static void sv_serve_req(void *arg)
{
	static struct nft_pin pins[NFT_PIN_BATCH_MAX];
	static struct privop_msg m, r;
	struct sv *sv = arg;
	const char *why;
	size_t n;
	int ret;

	while (sv->wk.req >= 0) {
		memset(&m.hdr, 0, sizeof(m.hdr));	/* a short one: seq 0 */
		ret = privop_recv(sv->wk.req, &m, PRIVOP_BIT(PRIVOP_PIN_ADD) |
				  PRIVOP_BIT(PRIVOP_PIN_DEL), NULL, &why);
		if (ret == -EAGAIN || ret == 0)
			return;		/* EOF: the pidfd says why */
		if (ret < 0) {
			sv->wk_refused++;
			log_event(&sv->log, "worker", "request", "malformed",
				  "reason", why ? why : strerror(-ret), NULL);
			privop_reply_encode(&r, m.hdr.seq, -EBADMSG);
			privop_send(sv->wk.req, &r, -1);
			continue;
		}
		if (!sv->has_dns)
			ret = -EINVAL, why = "the sandbox has no DNS interceptor";
		else
			ret = privop_check_pins(&sv->pol, sv->s.has_v6,
						privop_ttl_bound(&sv->pol), &m,
						pins, &n, &why);
		if (ret) {
			char rule[24];

			sv->wk_refused++;
			snprintf(rule, sizeof(rule), "%u",
				 m.hdr.n ? m.pin[n < m.hdr.n ? n : 0].rule + 1U : 0U);
			log_event(&sv->log, "worker", "pin", "refused",
				  "reason", why, "rule", rule, NULL);
			privop_reply_encode(&r, m.hdr.seq, -EPERM);
			privop_send(sv->wk.req, &r, -1);
			continue;
		}
		ret = dns_pins_apply(&sv->pins, pins, n,
				     m.hdr.type == PRIVOP_PIN_DEL);
		privop_reply_encode(&r, m.hdr.seq, ret);
		privop_send(sv->wk.req, &r, -1);
	}
}

/**
 * sv_worker_log() - append the worker's log records
 * @sv:		supervisor
 *
 * Each message one record, checked by privop_check_log() and rate-limited
 * (SV_WK_LOG_RATE): a worker cannot make the core spend more than that
 * on its log.
 */
static void sv_worker_log(struct sv *sv)
{
	static char line[LOG_RECORD_MAX + 1];
	static struct privop_msg m;
	struct timespec now;
	const char *why;
	int k, ret;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sv->wk_tokens += ((now.tv_sec - sv->wk_last.tv_sec) +
			  (now.tv_nsec - sv->wk_last.tv_nsec) / 1e9) * SV_WK_LOG_RATE;
	if (sv->wk_tokens > SV_WK_LOG_BURST)
		sv->wk_tokens = SV_WK_LOG_BURST;
	sv->wk_last = now;
	for (k = 0; k < SV_WK_LOG_BATCH; k++) {
		ret = privop_recv(sv->wk.log, &m, PRIVOP_BIT(PRIVOP_LOG), NULL, &why);
		if (ret == 0 || ret == -EAGAIN)
			return;
		if (ret < 0 || privop_check_log(&m, &why) || sv->wk_tokens < 1) {
			sv->wk_dropped++;
			continue;
		}
		sv->wk_tokens -= 1;
		/* checked: no newline in it; the line gets its own */
		memcpy(line, m.log, m.hdr.n);
		line[m.hdr.n] = '\n';
		log_write_line(&sv->log, line, (size_t)m.hdr.n + 1);
	}
}

/**
 * sv_worker_start() - start the worker, and register its sockets
 * @sv:		supervisor
 * @err:	set to an allocated message on failure
 *
 * Return: 0, or -1 with @err set
 */
static int sv_worker_start(struct sv *sv, char **err)
{
	struct wk_spec ws = {
		.c = sv->c, .s = &sv->s, .pol = &sv->pol,
		.pins = sv->has_dns ? &sv->pins : NULL, .sh = sv->sh,
		.has_dns = sv->has_dns, .proxy = sv->s.has_net && sv->s.proxy,
		.sec = secrets_wanted(&sv->pol) ? &sv->sec : NULL,
	};

	if (worker_start(&ws, &sv->wk, err))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &sv->wk_started);
	if (sv_add(sv, SV_REF_WK_REQ, sv->wk.req, EPOLLIN) ||
	    sv_add(sv, SV_REF_WK_LOG, sv->wk.log, EPOLLIN) ||
	    sv_add(sv, SV_REF_WK_EXIT, sv->wk.pidfd, EPOLLIN)) {
		*err = xasprintf("epoll: %s", strerror(errno));
		worker_stop(&sv->wk);
		worker_close(&sv->wk);
		return -1;
	}
	/* a restarted worker, or an adopted sandbox's: its links' names */
	if (sv->has_dns && policy_has_links(&sv->pol))
		sv_worker_peers(sv);
	return 0;
}

/**
 * sv_worker_exit() - the worker died: log it, count it, start another
 * @sv:		supervisor
 *
 * At once, unless it died within SV_WK_QUICK_S of its start: then after a
 * pause that doubles each time (SV_WK_PAUSE_MS up to SV_WK_PAUSE_MAX_MS),
 * so a worker that cannot live does not make its core spin.
 */
static void sv_worker_exit(struct sv *sv)
{
	struct itimerspec its = { 0 };
	char how[48], n[24];
	struct timespec now;
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, (id_t)sv->wk.pidfd, &si, WEXITED | WNOHANG) ||
	    !si.si_pid)
		return;
	if (sv->wk.log >= 0)
		sv_worker_log(sv);	/* what it said last */
	if (si.si_code == CLD_EXITED)
		snprintf(how, sizeof(how), "exit status %d", si.si_status);
	else
		snprintf(how, sizeof(how), "signal %d (%s)", si.si_status,
			 strsignal(si.si_status));
	sv->wk.pid = 0;
	worker_close(&sv->wk);
	sv->wk_exits++;
	snprintf(n, sizeof(n), "%u", sv->wk_exits);
	log_event(&sv->log, "worker", "worker", "died", "how", how,
		  "restarts", n, NULL);
	if (sv->quit)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - sv->wk_started.tv_sec >= SV_WK_QUICK_S) {
		sv->wk_pause = 0;
		its.it_value.tv_nsec = 1;	/* now, from the loop */
	} else {
		sv->wk_pause = sv->wk_pause ? sv->wk_pause * 2 : SV_WK_PAUSE_MS;
		if (sv->wk_pause > SV_WK_PAUSE_MAX_MS)
			sv->wk_pause = SV_WK_PAUSE_MAX_MS;
		its.it_value.tv_sec = sv->wk_pause / 1000;
		its.it_value.tv_nsec = (sv->wk_pause % 1000) * 1000000L;
	}
	timerfd_settime(sv->wk_tfd, 0, &its, NULL);
}

/**
 * sv_worker_restart() - the pause is over: start the worker again
 * @sv:		supervisor
 */
static void sv_worker_restart(struct sv *sv)
{
	struct itimerspec its = { 0 };
	char *err = NULL;
	uint64_t exp;

	if (read(sv->wk_tfd, &exp, sizeof(exp)) != sizeof(exp) || sv->wk.pid > 0)
		return;
	if (sv_worker_start(sv, &err)) {
		log_event(&sv->log, "worker", "worker", "not-started",
			  "error", err ? err : "?", NULL);
		free(err);
		clock_gettime(CLOCK_MONOTONIC, &sv->wk_started);
		sv->wk_pause = sv->wk_pause ? sv->wk_pause * 2 : SV_WK_PAUSE_MS;
		if (sv->wk_pause > SV_WK_PAUSE_MAX_MS)
			sv->wk_pause = SV_WK_PAUSE_MAX_MS;
		its.it_value.tv_sec = sv->wk_pause / 1000;
		its.it_value.tv_nsec = (sv->wk_pause % 1000) * 1000000L;
		timerfd_settime(sv->wk_tfd, 0, &its, NULL);
		return;
	}
	log_event(&sv->log, "worker", "worker", "restarted", NULL);
}

/**
 * sv_guard_retry() - try restoring again in 1 to 8 times SV_GUARD_RETRY_MS
 * @sv:		supervisor
 *
 * Jittered: after a reload every supervisor wants the lock at once, and
 * each holds it for a few milliseconds.
 */
static void sv_guard_retry(struct sv *sv)
{
	struct itimerspec its = { 0 };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	its.it_value.tv_nsec = SV_GUARD_RETRY_MS * 1000000L *
			       (1 + (now.tv_nsec / 1000 + getpid()) % 8);

	timerfd_settime(sv->guard_tfd, 0, &its, NULL);
}

/**
 * sv_guard_ms() - milliseconds since the rules were found absent
 * @sv:		supervisor
 * @buf:	output, 24 bytes
 *
 * Return: @buf
 */
static const char *sv_guard_ms(const struct sv *sv, char *buf)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - sv->lost_at.tv_sec) * 1000LL +
	     (now.tv_nsec - sv->lost_at.tv_nsec) / 1000000L;
	snprintf(buf, 24, "%lld", ms);
	return buf;
}

/**
 * sv_guard_done() - the rules are back: pins, log, no longer degraded
 * @sv:		supervisor
 * @base:	1 if this supervisor wrote the base table, 0 if not, -1 if
 *		another supervisor restored this sandbox
 * @written:	sandboxes whose chains this supervisor wrote
 */
static void sv_guard_done(struct sv *sv, int base, size_t written)
{
	char ms[24], n[24], nsb[24];
	size_t lost = 0;

	if (sv->has_dns)	/* the sets may be new and empty */
		lost = dns_repin(&sv->pins);
	sv->table = guard_table_handle();
	snprintf(n, sizeof(n), "%zu", lost);
	snprintf(nsb, sizeof(nsb), "%zu", written);
	if (base < 0)
		log_event(&sv->log, "guard", "rules", "restored",
			  "by", "another supervisor", "pins_lost", n,
			  "ms", sv_guard_ms(sv, ms), NULL);
	else
		log_event(&sv->log, "guard", "rules", "restored",
			  "base_table", base ? "restored" : "present",
			  "sandboxes_restored", nsb,
			  "pins_lost", n, "ms", sv_guard_ms(sv, ms), NULL);
	sv->degraded = false;
	state_degraded_set(sv->c, sv->s.name, false);
}

/**
 * sv_guard_restore() - restore moat's rules for this sandbox
 * @sv:		supervisor
 *
 * Under the global lock, taken without blocking (retried by timer): the
 * base table if it is missing, the sandbox's chains if they are (the
 * table's removal took them), its dispatch entries, then the
 * interceptor's live pins. Idempotent: when many supervisors restore at
 * once, the first writes the base table and the others find it.
 */
static void sv_guard_restore(struct sv *sv)
{
	size_t written = 0;
	struct sb_state s;
	int lock, base;

	lock = state_trylock(sv->c);
	if (lock < 0) {
		sv_guard_retry(sv);
		return;
	}
	sv->attempts++;
	if (state_read(sv->c, sv->s.name, &s) || s.supervisor_pid != getpid()) {
		/* being removed, or not ours any more: nothing to restore */
		state_unlock(lock);
		return;
	}
	base = sandbox_nft_restore(sv->c, &s, &sv->pol, &written);
	state_unlock(lock);
	if (base < 0 || guard_intact(s.ifname) != 1) {
		if (sv->attempts == 1)
			log_event(&sv->log, "guard", "rules", "restore-failed",
				  "retrying", "yes", NULL);
		sv_guard_retry(sv);
		return;
	}
	sv_guard_done(sv, base, written);
}

/**
 * sv_guard_check() - after an nftables event: are moat's rules intact?
 * @sv:		supervisor
 *
 * Another supervisor may have restored everything before this one read
 * the event: the table's handle then is new, and only the pins are put
 * back.
 */
static void sv_guard_check(struct sv *sv)
{
	uint64_t h;
	int r;

	if (sv->degraded)
		return;		/* being restored already */
	r = guard_intact(sv->s.ifname);
	if (r == 1) {
		h = guard_table_handle();
		if (h && h != sv->table) {
			clock_gettime(CLOCK_MONOTONIC, &sv->lost_at);
			sv_guard_done(sv, -1, 0);
		}
		return;
	}
	if (r != 0)
		return;		/* the kernel cannot be asked */
	clock_gettime(CLOCK_MONOTONIC, &sv->lost_at);
	sv->degraded = true;
	sv->attempts = 0;
	state_degraded_set(sv->c, sv->s.name, true);
	log_event(&sv->log, "guard", "rules", "absent",
		  "action", "restoring; the sandbox's traffic is refused until then",
		  NULL);
	sv_guard_restore(sv);
}

/**
 * sv_guard_open() - start watching for damage to moat's table
 * @sv:		supervisor
 *
 * Only for sandboxes with a network. A failure leaves the sandbox closed
 * on a reload, only not restored: it is not fatal.
 */
static void sv_guard_open(struct sv *sv)
{
	if (!sv->s.has_net)
		return;
	sv->guard = guard_watch_open();
	sv->guard_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sv->guard < 0 || sv->guard_tfd < 0 ||
	    sv_add(sv, SV_REF_GUARD, sv->guard, EPOLLIN) ||
	    sv_add(sv, SV_REF_GUARD_TIMER, sv->guard_tfd, EPOLLIN)) {
		log_event(&sv->log, "guard", "rules", "not-watched",
			  "error", strerror(sv->guard < 0 ? -sv->guard : errno),
			  NULL);
		if (sv->guard >= 0)
			close(sv->guard);
		if (sv->guard_tfd >= 0)
			close(sv->guard_tfd);
		sv->guard = sv->guard_tfd = -1;
		return;
	}
	/* what happened before the socket listened */
	sv->table = guard_table_handle();
	sv_guard_check(sv);
}

/**
 * sv_adopted() - start as the new supervisor of an existing sandbox
 * @sv:		supervisor, its services open, before it says it is ready
 *
 * The previous supervisor died; the kernel kept the sandbox's rules and
 * pins. The core's record of the pins learns them back (nft_pins_read(),
 * dns_restore_pins()) before the worker starts, which carries them on
 * (dns_pins_carry()), so that a client that resolved a name before can
 * still connect through the proxy to the address it got, and the worker's
 * ring renews and evicts them as its own. Logged as an "adopted" record.
 */
static void sv_adopted(struct sv *sv)
{
	char prev[24], cnt[24], nk[24], nu[24];
	struct nft_live_pin *lp = NULL;
	size_t n = 0, kept = 0, unnamed = 0;
	int ret = 0;

	if (sv->has_dns) {
		ret = nft_pins_read(sv->s.ifname, &sv->pol, &lp, &n);
		kept = dns_restore_pins(&sv->pins, lp, n, &unnamed);
		free(lp);
	}
	snprintf(prev, sizeof(prev), "%d", (int)sv->s.supervisor_pid);
	snprintf(cnt, sizeof(cnt), "%u", sv->s.adoptions + 1);
	snprintf(nk, sizeof(nk), "%zu", kept);
	snprintf(nu, sizeof(nu), "%zu", unnamed);
	log_event(&sv->log, "supervisor", "supervisor", "adopted",
		  "previous_pid", prev, "adoptions", cnt, "pins_restored", nk,
		  "pins_unnamed", nu, ret ? "pins_error" : NULL,
		  ret ? strerror(-ret) : NULL, NULL);
}

/**
 * sv_link_open() - watch for the deletion of an attached sandbox's interface
 * @sv:		supervisor
 *
 * Return: 0, or -errno (-ENODEV: it is gone already)
 */
static int sv_link_open(struct sv *sv)
{
	sv->link_idx = if_nametoindex(sv->s.ifname);
	if (!sv->link_idx)
		return -ENODEV;
	sv->linkw = link_watch_open(sv->link_idx);
	if (sv->linkw < 0)
		return sv->linkw;
	if (sv_add(sv, SV_REF_LINK, sv->linkw, EPOLLIN))
		return -errno;
	/* deleted before the socket listened? */
	if (if_nametoindex(sv->s.ifname) != sv->link_idx)
		return -ENODEV;
	return 0;
}

/**
 * sv_link_gone() - an attached sandbox's interface was deleted: its
 * namespace ended (or someone deleted it); remove the sandbox and exit
 * @sv:		supervisor
 */
static void sv_link_gone(struct sv *sv)
{
	log_event(&sv->log, "supervisor", "supervisor", "removing",
		  "reason", "its interface was deleted: the attached namespace "
		  "ended, or someone deleted it", "interface", sv->s.ifname,
		  NULL);
	sv->quit = true;
	sv->teardown = true;
}

/**
 * sv_loop() - the core's event loop
 * @sv:		supervisor
 * @sfd:	signalfd
 */
static void sv_loop(struct sv *sv, int sfd)
{
	struct epoll_event ev[SV_MAX_EVENTS];
	int n, i;

	while (!sv->quit) {
		n = epoll_wait(sv->epfd, ev, SV_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg_err("epoll_wait: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			union sv_ref ref = { .u64 = ev[i].data.u64 };

			switch (ref.type) {
			case SV_REF_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si))
					sv->quit = true;
				break;
			}
			case SV_REF_WATCH:
				sv->quit = true;
				sv->teardown = true;
				break;
			case SV_REF_CTL_LISTEN: {
				int cfd = accept4(sv->ctl, NULL, NULL,
						  SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (cfd >= 0 && (!sv_ctl_peer_ok(cfd) ||
				    sv_add(sv, SV_REF_CTL_CONN, cfd, EPOLLIN)))
					close(cfd);
				break;
			}
			case SV_REF_CTL_CONN:
				sv_ctl_conn(sv, ref.fd);
				break;
			case SV_REF_WK_REQ:
				if (ref.fd == sv->wk.req)
					sv_serve_req(sv);
				break;
			case SV_REF_WK_LOG:
				if (ref.fd == sv->wk.log)
					sv_worker_log(sv);
				break;
			case SV_REF_WK_EXIT:
				if (ref.fd == sv->wk.pidfd)
					sv_worker_exit(sv);
				break;
			case SV_REF_WK_RESTART:
				sv_worker_restart(sv);
				break;
			case SV_REF_LINK:
				if (link_watch_read(sv->linkw, sv->link_idx) > 0)
					sv_link_gone(sv);
				break;
			case SV_REF_GUARD:
				if (guard_watch_read(sv->guard, sv->s.ifname) > 0)
					sv_guard_check(sv);
				break;
			case SV_REF_GUARD_TIMER: {
				uint64_t exp;

				if (read(sv->guard_tfd, &exp, sizeof(exp)) !=
				    sizeof(exp) || !sv->degraded)
					break;
				/* another supervisor may have restored it all */
				if (guard_intact(sv->s.ifname) == 1)
					sv_guard_done(sv, -1, 0);
				else
					sv_guard_restore(sv);
				break;
			}
			default:
				break;
			}
		}
	}
}

/**
 * sv_lock_or_stop() - take the global lock, unless told to stop first
 * @sv:		supervisor
 * @sfd:	its signalfd
 *
 * A "moat rm" holding the lock is stopping this supervisor: blocking on
 * the lock would keep it waiting (then killing us). So the lock is
 * tried every SV_GUARD_RETRY_MS, watching for SIGTERM meanwhile.
 *
 * Return: the lock descriptor, or -1 (told to stop, or the lock failed)
 */
static int sv_lock_or_stop(struct sv *sv, int sfd)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	int lock;

	for (;;) {
		lock = state_trylock(sv->c);
		if (lock != -EWOULDBLOCK)
			return lock < 0 ? -1 : lock;
		if (poll(&pfd, 1, SV_GUARD_RETRY_MS) > 0)
			return -1;
	}
}

/**
 * sv_teardown() - remove the sandbox: "moat run" died, or an attached
 * sandbox's namespace ended
 * @sv:		supervisor
 * @sfd:	its signalfd
 *
 * The record may already be gone (moat run finished its own clean-up
 * between our wake-up and now), or name another supervisor: then there
 * is nothing to do. The processes of a "moat run" sandbox are killed;
 * those of an attached one are its container's, and stay, and its
 * namespace, which this core may not enter, is not looked at
 * (sandbox_teardown_ended()).
 */
static void sv_teardown(struct sv *sv, int sfd)
{
	struct sb_state s;
	pid_t *pids = NULL;
	size_t n = 0, i;
	int lock;

	lock = sv_lock_or_stop(sv, sfd);
	if (lock < 0)
		return;
	if (state_read(sv->c, sv->s.name, &s) == 0 &&
	    s.supervisor_pid == getpid()) {
		if (!s.attached && sandbox_processes(&s, &pids, &n) == 0)
			for (i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
		free(pids);
		if (s.attached)
			sandbox_teardown_ended(sv->c, &s);
		else
			sandbox_teardown(sv->c, &s);
	}
	state_unlock(lock);
}

/**
 * sv_raise_nofile() - raise the descriptor limit to its hard maximum
 *
 * A relayed connection costs six descriptors (two sockets, two pipes).
 */
static void sv_raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/**
 * supervisor_main() - body of "moat __supervise NAME READY_FD WATCH_PID"
 * @c:		settings
 * @name:	sandbox
 * @ready_fd:	pipe to report "OK" or the reason for failing on
 * @watch:	"moat run" process to watch, 0 for none
 *
 * Return: exit status
 */
int supervisor_main(const struct moat_config *c, const char *name,
		    int ready_fd, pid_t watch)
{
	const char *why = NULL;
	autoclose int sfd = -1;
	struct sv *sv = xcalloc(1, sizeof(*sv));
	bool dns_ready = false, log_ready = false;
	char *err = NULL;
	sigset_t mask;
	int ret;

	sv->c = c;
	sv->ctl = -1;
	sv->watch = -1;
	sv->guard = sv->guard_tfd = -1;
	sv->linkw = -1;
	sv->wk.pidfd = sv->wk.req = sv->wk.ctl = sv->wk.log = -1;
	sv->epfd = sv->wk_tfd = -1;
	prctl(PR_SET_NAME, "moat-supervise");
	msg_prog = "moat-supervise";
	sv->started = time(NULL);
	policy_init(&sv->pol);

	if (state_read(c, name, &sv->s)) {
		dprintf(ready_fd, "cannot read the record of '%s'\n", name);
		goto fail;
	}
	if (sandbox_load_policy(c, name, &sv->pol)) {
		dprintf(ready_fd, "cannot load the policy of '%s'\n", name);
		goto fail;
	}
	sv_raise_nofile();

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sv->wk_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sv->epfd < 0 || sfd < 0 || sv->wk_tfd < 0 ||
	    sv_add(sv, SV_REF_SIGNAL, sfd, EPOLLIN) ||
	    sv_add(sv, SV_REF_WK_RESTART, sv->wk_tfd, EPOLLIN)) {
		dprintf(ready_fd, "cannot set up the event loop: %s\n",
			strerror(errno));
		goto fail;
	}
	if (watch > 0) {
		sv->watch = sv_pidfd_open(watch);
		if (sv->watch < 0 || sv_add(sv, SV_REF_WATCH, sv->watch, EPOLLIN)) {
			dprintf(ready_fd, "cannot watch process %d: %s\n",
				(int)watch, strerror(errno));
			goto fail;
		}
	}
	if ((ret = sv_ctl_open(sv)) || sv_add(sv, SV_REF_CTL_LISTEN, sv->ctl, EPOLLIN)) {
		dprintf(ready_fd, "cannot open the control socket: %s\n",
			strerror(ret ? -ret : errno));
		goto fail;
	}
	if (sv_log_open(sv)) {
		dprintf(ready_fd, "cannot open the log: %s\n", strerror(errno));
		goto fail;
	}
	log_ready = true;
	if (sv->s.attached && sv->s.has_net && (ret = sv_link_open(sv))) {
		if (ret == -ENODEV)
			dprintf(ready_fd, "the sandbox's interface is gone "
				"(its namespace ended?)\n");
		else
			dprintf(ready_fd, "cannot watch the sandbox's interface: %s\n",
				strerror(-ret));
		goto fail;
	}
	sv->has_dns = sv->s.has_net && sv->pol.mode == NET_FILTERED;
	dns_init_state(&sv->pins, -1, &sv->pol, &sv->s, &sv->log);
	dns_ready = true;
	if (sv->has_dns && (ret = dns_pinner_open(&sv->pins))) {
		dprintf(ready_fd, "DNS: cannot open a netfilter socket: %s\n",
			strerror(-ret));
		goto fail;
	}
	/* values, placeholders, the CA: before the worker, forked with them */
	if (sv->s.has_net && secrets_start(c, name, &sv->pol, &sv->sec, &err)) {
		dprintf(ready_fd, "%s\n", err);
		free(err);
		goto fail;
	}
	if (sv->s.complete)	/* "moat adopt": the sandbox is older */
		sv_adopted(sv);
	sv->sh = worker_shared_map();
	/* a sandbox without a network has nothing for a worker to do */
	if (sv->s.has_net && sv_worker_start(sv, &err)) {
		dprintf(ready_fd, "%s\n", err);
		free(err);
		goto fail;
	}

	/* what the core keeps of root: isolate.c, "The core" */
	if ((ret = isolate_core(&why))) {
		dprintf(ready_fd, "cannot confine the supervisor: %s: %s\n",
			why ? why : "?", strerror(-ret));
		goto fail;
	}
	dprintf(ready_fd, "OK\n");
	close(ready_fd);
	sv_guard_open(sv);

	sv_loop(sv, sfd);

	sv->quit = true;
	if (sv->wk.pid > 0)
		worker_stop(&sv->wk);
	if (sv->wk.log >= 0)
		sv_worker_log(sv);	/* what it said last */
	worker_close(&sv->wk);
	worker_shared_unmap(sv->sh);
	dns_close(&sv->pins);
	if (sv->guard >= 0)
		close(sv->guard);
	if (sv->guard_tfd >= 0)
		close(sv->guard_tfd);
	close(sv->wk_tfd);
	if (sv->degraded)
		state_degraded_set(sv->c, sv->s.name, false);
	log_close(&sv->log);
	close(sv->ctl);
	if (sv->watch >= 0)
		close(sv->watch);
	close(sv->epfd);
	if (sv->linkw >= 0)
		close(sv->linkw);
	if (sv->teardown)
		sv_teardown(sv, sfd);
	policy_free(&sv->pol);
	secrets_free(&sv->sec);
	free(sv);
	return MOAT_EXIT_OK;

fail:
	/* nothing is running yet but, perhaps, the worker */
	if (sv->wk.pid > 0)
		worker_stop(&sv->wk);
	worker_close(&sv->wk);
	if (sv->sh)
		worker_shared_unmap(sv->sh);
	if (dns_ready)
		dns_close(&sv->pins);
	if (log_ready)
		log_close(&sv->log);
	if (sv->ctl >= 0)
		close(sv->ctl);
	if (sv->watch >= 0)
		close(sv->watch);
	if (sv->linkw >= 0)
		close(sv->linkw);
	if (sv->wk_tfd >= 0)
		close(sv->wk_tfd);
	if (sv->epfd >= 0)
		close(sv->epfd);
	policy_free(&sv->pol);
	secrets_free(&sv->sec);
	free(sv);
	return MOAT_EXIT_FAILURE;
}
