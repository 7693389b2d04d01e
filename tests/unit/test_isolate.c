// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_isolate.c - unit tests of the worker's and the core's
 * self-isolation, in forked children (each isolates itself, never the test
 * process): what an isolated worker tries and must not do kills it
 * (SIGSYS) or fails, with a positive control beside each refusal (the
 * same kind of call allowed, or the same call without the layer that
 * refuses it); its IDs, capabilities and empty root; the owner nftables
 * sees for its sockets (in a network namespace of the test's own); and
 * the core's bounds. Runs as root; skips, saying why, otherwise or when
 * the kernel lacks a feature. Packets stay in network namespaces the
 * children create.
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
#include <dirent.h>
#include <grp.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <jansson.h>
#include <nftables/libnftables.h>
#include <seccomp.h>

#include "common.h"
#include "isolate.h"
#include "privop.h"

/* the highest sandbox index: IDs no live sandbox uses */
#define W	(MOAT_WORKER_UID_BASE + 2 * 0xfffeU)
#define D	(W + 1)
#define BIND_PORT	15001
#define CHILD_TIMEOUT	60	/* seconds */

static const struct isolate_worker_cfg cfg = {
	.uid = W, .gid = W, .dns_uid = D, .dns_gid = D,
	.bind_tcp_port = BIND_PORT,
};

/* in a child: on failure, say where and exit 1 */
#define CHECK(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s (errno: %s)\n",	\
				__FILE__, __LINE__, #c, strerror(errno)); \
			_exit(1);					\
		}							\
	} while (0)

/**
 * run() - run a function in a forked child
 * @fn:		function; its return value is the child's exit status
 * @arg:	its argument
 *
 * Return: the child's wait status
 */
static int run(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p;

	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (!p) {
		alarm(CHILD_TIMEOUT);		/* SIGALRM: a hung child fails */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	return st;
}

/**
 * assert_exit0() - a child exited 0
 * @st:		wait status
 */
static void assert_exit0(int st)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("child %s %d", WIFEXITED(st) ? "exited" : "killed by",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/**
 * assert_sigsys() - a child was killed by SIGSYS (seccomp)
 * @st:		wait status
 * @what:	what it tried, for the message
 */
static void assert_sigsys(int st, const char *what)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: child %s %d, not killed by SIGSYS", what,
			 WIFEXITED(st) ? "exited" : "killed by",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/**
 * landlock_abi() - the running kernel's Landlock ABI
 *
 * Return: version, 0 without Landlock
 */
static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U);

	return v > 0 ? (int)v : 0;
}

/**
 * setup() - skip everything unless root
 * @state:	unused
 *
 * Return: 0
 */
static int setup(void **state)
{
	(void)state;
	if (geteuid()) {
		fprintf(stderr, "test_isolate: skipped: needs root\n");
		exit(77);
	}
	return 0;
}

/**
 * lo_up() - in a child's own network namespace: loopback up
 *
 * Return: 0, or -1
 */
static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		return -1;
	close(fd);
	return 0;
}

/**
 * worker() - isolate the calling child completely, or exit 2
 */
static void worker(void)
{
	struct isolate_report r;
	const char *why = NULL;
	int ret = isolate_worker(&cfg, &r, &why);

	if (ret) {
		fprintf(stderr, "isolate_worker: %s: %s\n", why, strerror(-ret));
		_exit(2);
	}
}

/* ------------------------------------------------------------------------
 * The worker: what kills it
 */

/**
 * struct forbidden - a call an isolated worker must not make
 * @what:	description
 * @fn:		makes it (returns only if not killed)
 */
struct forbidden {
	const char *what;
	void (*fn)(void);
};

#ifndef MOAT_SANITIZE
static void f_openat(void)
{
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
}
#endif

static void f_execve(void)
{
	char *argv[] = { (char *)"true", NULL };

	syscall(SYS_execve, "/bin/true", argv, argv + 1);
}

static void f_ptrace(void)
{
	syscall(SYS_ptrace, PTRACE_ATTACH, getppid(), 0, 0);
}

static void f_unix(void)
{
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}

static void f_netlink(void)
{
	syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0);
}

static void f_packet(void)
{
	syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
}

static void f_socketpair(void)
{
	int sv[2];

	syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
}

static void f_fork(void)
{
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

static void f_kill(void)
{
	syscall(SYS_kill, getppid(), 0);
}

static void f_mount(void)
{
	syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL);
}

static void f_exec_mem(void)
{
	syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void f_mprotect_exec(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	syscall(SYS_mprotect, page, sizeof(page), PROT_READ | PROT_EXEC);
}

static void f_ioctl(void)
{
	char c = 'x';

	syscall(SYS_ioctl, 0, TIOCSTI, &c);
}

static void f_setuid(void)
{
	syscall(SYS_setresuid, 0, 0, 0);
}

static void f_prctl(void)
{
	syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
}

#ifdef __x86_64__
static void f_int80(void)
{
	long ret;

	/* i386 getpid(), through the 32-bit entry */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
}
#endif

static const struct forbidden exec_call = { "execve", f_execve };

static const struct forbidden forbidden[] = {
#ifndef MOAT_SANITIZE	/* the sanitizers' reports open files */
	{ "openat", f_openat },
#endif
	{ "execve", f_execve },
	{ "ptrace", f_ptrace },
	{ "socket(AF_UNIX)", f_unix },
	{ "socket(AF_NETLINK)", f_netlink },
	{ "socket(AF_PACKET)", f_packet },
	{ "socketpair", f_socketpair },
	{ "clone", f_fork },
	{ "kill", f_kill },
	{ "mount", f_mount },
	{ "mmap(PROT_EXEC)", f_exec_mem },
	{ "mprotect(PROT_EXEC)", f_mprotect_exec },
	{ "ioctl(TIOCSTI)", f_ioctl },
	{ "setresuid", f_setuid },
	{ "prctl", f_prctl },
#ifdef __x86_64__
	{ "int 0x80 (another architecture)", f_int80 },
#endif
};

/**
 * forbidden_child() - isolate, then make one forbidden call
 * @arg:	struct forbidden
 *
 * Return: 0 if the call returned (it should kill)
 */
static int forbidden_child(void *arg)
{
	const struct forbidden *f = arg;

	worker();
	f->fn();
	return 0;
}

/**
 * test_worker_forbidden() - each forbidden call kills the worker
 * @state:	unused
 */
static void test_worker_forbidden(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(forbidden); i++)
		assert_sigsys(run(forbidden_child, (void *)&forbidden[i]),
			      forbidden[i].what);
}

/**
 * allowed_child() - the calls a worker makes, after isolation
 * @arg:	unused
 *
 * In a network namespace of its own: a listener made before isolation
 * (as the worker's are), then TCP over loopback, UDP, IPv6 sockets,
 * epoll, memory, randomness, time, the allowed ioctl, the proxy's port
 * bound and another refused by Landlock.
 *
 * Return: 0
 */
static int allowed_child(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l, c, s, u, e, m, one = 1, n, p[2], abi = landlock_abi();
	struct epoll_event ev = { .events = EPOLLIN }, out;
	socklen_t alen = sizeof(a);
	struct timespec ts;
	char buf[8], *text;
	void *big;

	(void)arg;
	CHECK(!unshare(CLONE_NEWNET));
	CHECK(!lo_up());
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0);
	CHECK(!bind(l, (struct sockaddr *)&a, sizeof(a)));
	CHECK(!listen(l, 4));
	CHECK(!getsockname(l, (struct sockaddr *)&a, &alen));
	e = epoll_create1(EPOLL_CLOEXEC);	/* made before, as the loop's */
	CHECK(e >= 0);
	m = privop_policy_memfd("version: 1\n", 11);	/* as an update's */
	CHECK(m >= 0);

	worker();

	CHECK(!privop_policy_read(m, 11, &text) && !strcmp(text, "version: 1\n"));
	free(text);

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK(!setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one)));
	CHECK(!connect(c, (struct sockaddr *)&a, sizeof(a)));
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(s >= 0);
	CHECK(send(s, "hello", 5, MSG_NOSIGNAL) == 5);
	ev.data.fd = c;
	CHECK(!epoll_ctl(e, EPOLL_CTL_ADD, c, &ev));
	CHECK(epoll_wait(e, &out, 1, 1000) == 1 && out.data.fd == c);
	CHECK(recv(c, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "hello", 5));
	CHECK(!ioctl(c, FIONREAD, &n) && n == 0);
	u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(u >= 0);
	CHECK(!close(u));
	CHECK(getrandom(buf, sizeof(buf), 0) == sizeof(buf));
	CHECK(!clock_gettime(CLOCK_REALTIME, &ts));
	big = malloc(64 << 20);		/* mmap */
	CHECK(big);
	memset(big, 1, 64 << 20);
	free(big);
	CHECK(!pipe2(p, O_CLOEXEC | O_NONBLOCK));
	CHECK(write(p[1], "x", 1) == 1 && read(p[0], buf, 1) == 1);

	/* what log records and the policy's JSON need, first used here:
	 * the time zone and jansson's hash seed were loaded before */
	{
		time_t t = 0;
		struct tm tm;
		json_t *o = json_object();

		CHECK(gmtime_r(&t, &tm) && tm.tm_year == 70);
		CHECK(o && !json_object_set_new(o, "k", json_string("v")));
		json_decref(o);
	}

	/* Landlock: the proxy's port binds, another does not */
	u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons(BIND_PORT);
	CHECK(!bind(u, (struct sockaddr *)&a, sizeof(a)));
	close(u);
	u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons(BIND_PORT + 1);
	if (abi >= 4)
		CHECK(bind(u, (struct sockaddr *)&a, sizeof(a)) && errno == EACCES);
	close(u);

	/* the DNS identity: its filesystem UID, and back */
	CHECK((unsigned)setfsuid(D) == W);
	CHECK((unsigned)setfsuid(W) == D);
	CHECK((unsigned)setfsuid(0) == W);	/* refused: stays W */
	CHECK((unsigned)setfsuid(-1) == W);
	return 0;
}

/**
 * test_worker_allowed() - positive control: what a worker needs works
 * @state:	unused
 */
static void test_worker_allowed(void **state)
{
	(void)state;
	assert_exit0(run(allowed_child, NULL));
}

/**
 * epoll_child() - epoll_create1 is not in the allow-list (made before)
 * @arg:	unused
 *
 * Return: 0 if not killed
 */
static int epoll_child(void *arg)
{
	int e;

	(void)arg;
	worker();
	e = epoll_create1(0);
	return e < 0;
}

/**
 * report_child() - the report of a full isolation
 * @arg:	unused
 *
 * Return: 0 if it says what the kernel has
 */
static int report_child(void *arg)
{
	int abi = landlock_abi();
	struct isolate_report r;
	const char *why = NULL;
	const char *const *names;
	size_t n = isolate_worker_syscalls(&names);

	(void)arg;
	CHECK(n > 20);
	CHECK(!isolate_worker(&cfg, &r, &why));
	CHECK(r.landlock_abi == abi);
	CHECK(r.landlock_fs == (abi >= 1));
	CHECK(r.landlock_net == (abi >= 4));
	CHECK(r.landlock_scoped == (abi >= 6));
	CHECK(r.syscalls >= n - r.unknown);
	return 0;
}

/**
 * nolandlock_child() - a kernel without Landlock (its calls fail ENOSYS):
 * the other layers still apply, and the report says what is missing
 * @arg:	unused
 *
 * Return: 0
 */
static int nolandlock_child(void *arg)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct isolate_report r;
	const char *why, *miss;
	char buf[256];

	(void)arg;
	CHECK(ctx);
	CHECK(!seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				SCMP_SYS(landlock_create_ruleset), 0));
	CHECK(!seccomp_load(ctx));
	seccomp_release(ctx);
	CHECK(landlock_abi() == 0);

	CHECK(!isolate_worker(&cfg, &r, &why));
	CHECK(r.landlock_abi == 0 && !r.landlock_fs && !r.landlock_scoped);
	miss = isolate_missing(&r, buf, sizeof(buf));
	CHECK(miss && strstr(miss, "ABI 0") && strstr(miss, "not scoped"));
	f_unix();			/* the seccomp layer: killed here */
	return 0;
}

/**
 * test_worker_no_landlock() - without Landlock, the rest holds
 * @state:	unused
 */
static void test_worker_no_landlock(void **state)
{
	struct isolate_report r = { .landlock_abi = 7, .landlock_fs = true,
				    .landlock_net = true,
				    .landlock_scoped = true };
	char buf[256];

	(void)state;
	assert_null(isolate_missing(&r, buf, sizeof(buf)));
	r.landlock_scoped = false;
	assert_non_null(strstr(isolate_missing(&r, buf, sizeof(buf)),
			       "ABI 7: signals"));
	assert_sigsys(run(nolandlock_child, NULL), "socket(AF_UNIX), no Landlock");
}

/**
 * test_worker_report() - what the isolation reports; epoll_create1 kills
 * @state:	unused
 */
static void test_worker_report(void **state)
{
	(void)state;
	assert_exit0(run(report_child, NULL));
	assert_sigsys(run(epoll_child, NULL), "epoll_create1");
}

/* ------------------------------------------------------------------------
 * The worker: its IDs, capabilities, root, Landlock
 */

/**
 * creds_child() - stages 1-3, then every credential checked
 * @arg:	unused
 *
 * Return: 0
 */
static int creds_child(void *arg)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct isolate_report r;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	const char *why;
	struct rlimit rl;
	int c;

	struct rlimit core_on = { 1 << 20, RLIM_INFINITY };

	(void)arg;
	/* what an unclean parent might leave: an inheritable capability,
	 * an ambient one, core dumps on */
	h.pid = 0;
	CHECK(!syscall(SYS_capget, &h, d));
	d[0].inheritable = d[0].permitted & (1U << CAP_NET_BIND_SERVICE);
	CHECK(d[0].inheritable && !syscall(SYS_capset, &h, d));
	CHECK(!prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE,
		     0, 0));
	CHECK(!setrlimit(RLIMIT_CORE, &core_on));

	CHECK(!isolate_worker_root(&why));
	CHECK(!isolate_worker_creds(&cfg, &why));
	CHECK(!isolate_landlock(&cfg, &r, &why));

	CHECK(!getresuid(&ru, &eu, &su));
	CHECK(ru == W && eu == W && su == D);
	CHECK(!getresgid(&rg, &eg, &sg));
	CHECK(rg == W && eg == W && sg == D);
	CHECK(getgroups(0, NULL) == 0);
	CHECK(!syscall(SYS_capget, &h, d));
	CHECK(!d[0].permitted && !d[0].effective && !d[0].inheritable);
	CHECK(!d[1].permitted && !d[1].effective && !d[1].inheritable);
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		CHECK(prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0);
		CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 0);
	}
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHECK(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECBIT_NOROOT_LOCKED);
	CHECK(!getrlimit(RLIMIT_CORE, &rl) && rl.rlim_cur == 0 && rl.rlim_max == 0);
	/* and no way back */
	CHECK(setresuid(0, 0, 0) == -1 && errno == EPERM);
	CHECK(setuid(0) == -1 && errno == EPERM);
	CHECK(setgroups(0, NULL) == -1 && errno == EPERM);
	return 0;
}

/**
 * test_worker_creds() - IDs (W, W, D), no capability anywhere, no way back
 * @state:	unused
 */
static void test_worker_creds(void **state)
{
	(void)state;
	assert_exit0(run(creds_child, NULL));
}

/**
 * root_child() - the empty root alone (still root, no Landlock, no
 * seccomp): no file is there to open, and nothing can be made
 * @arg:	unused
 *
 * Return: 0
 */
static int root_child(void *arg)
{
	struct dirent *de;
	const char *why;
	int n = 0;
	DIR *d;

	(void)arg;
	CHECK(open("/etc/passwd", O_RDONLY) >= 0);	/* control */
	CHECK(!isolate_worker_root(&why));
	CHECK(open("/etc/passwd", O_RDONLY) < 0 && errno == ENOENT);
	CHECK(open("/proc/self/status", O_RDONLY) < 0 && errno == ENOENT);
	CHECK(open("/../../etc/passwd", O_RDONLY) < 0 && errno == ENOENT);
	CHECK(open("/x", O_CREAT | O_WRONLY, 0600) < 0 && errno == EROFS);
	CHECK(mkdir("/x", 0700) < 0 && errno == EROFS);
	d = opendir("/");
	CHECK(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	CHECK(n == 0);
	return 0;
}

/**
 * landlock_child() - the same root with Landlock: not even "/" reads
 * @arg:	unused
 *
 * Return: 0
 */
static int landlock_child(void *arg)
{
	struct isolate_report r;
	const char *why;

	(void)arg;
	CHECK(!isolate_worker_root(&why));
	CHECK(open("/", O_RDONLY | O_DIRECTORY) >= 0);	/* control */
	CHECK(!isolate_worker_creds(&cfg, &why));
	CHECK(!isolate_landlock(&cfg, &r, &why));
	CHECK(open("/", O_RDONLY | O_DIRECTORY) < 0 && errno == EACCES);
	return 0;
}

/**
 * test_worker_root() - the empty root: nothing visible, nothing made
 * @state:	unused
 */
static void test_worker_root(void **state)
{
	(void)state;
	assert_exit0(run(root_child, NULL));
	if (landlock_abi() < 1) {
		fprintf(stderr, "test_worker_root: Landlock part skipped: "
			"the kernel has no Landlock\n");
		return;
	}
	assert_exit0(run(landlock_child, NULL));
}

/**
 * sleeper_child() - a process of the worker's UID that waits to be killed
 * @arg:	pointer to the write end of a pipe, written once the UID is W
 *
 * Return: never
 */
static int sleeper_child(void *arg)
{
	int *ready = arg;
	const char *why;

	CHECK(!isolate_worker_creds(&cfg, &why));
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* cleared by the ID change */
	CHECK(write(*ready, "r", 1) == 1);
	for (;;)
		pause();
}

/**
 * struct scope_arg - a signal or connection target, and which layers
 * @pid:	process to signal
 * @sun:	abstract socket to connect to
 * @landlock:	apply Landlock
 */
struct scope_arg {
	pid_t pid;
	struct sockaddr_un sun;
	bool landlock;
};

/**
 * scope_child() - signal a same-UID process and the test, connect to the
 * test's abstract socket
 * @arg:	struct scope_arg
 *
 * Return: 0 if the signal to the test fails (another UID), and the
 *	   same-UID signal and the connection fail exactly under Landlock
 */
static int scope_child(void *arg)
{
	const struct scope_arg *s = arg;
	struct isolate_report r;
	const char *why;
	int fd, ret;

	CHECK(!isolate_worker_root(&why));
	CHECK(!isolate_worker_creds(&cfg, &why));
	if (s->landlock) {
		CHECK(!isolate_landlock(&cfg, &r, &why));
		CHECK(r.landlock_scoped);
	}
	CHECK(kill(getppid(), 0) < 0 && errno == EPERM);	/* another UID */
	ret = kill(s->pid, 0);
	CHECK(s->landlock ? ret < 0 && errno == EPERM : ret == 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	ret = connect(fd, (const struct sockaddr *)&s->sun,
		      offsetof(struct sockaddr_un, sun_path) + 1 +
		      strlen(s->sun.sun_path + 1));
	CHECK(s->landlock ? ret < 0 && errno == EPERM : ret == 0);
	return 0;
}

/**
 * test_worker_scope() - signals and abstract unix sockets stay inside
 * @state:	unused
 */
static void test_worker_scope(void **state)
{
	struct scope_arg s = { .sun.sun_family = AF_UNIX };
	int l, st, ready[2];
	socklen_t len;
	char c;

	(void)state;
	if (landlock_abi() < 6) {
		fprintf(stderr, "test_worker_scope: skipped: Landlock ABI %d "
			"has no scoping (6)\n", landlock_abi());
		skip();
	}
	snprintf(s.sun.sun_path + 1, sizeof(s.sun.sun_path) - 1,
		 "moat-test-isolate-%d", (int)getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 +
	      strlen(s.sun.sun_path + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&s.sun, len), 0);
	assert_int_equal(listen(l, 8), 0);

	assert_int_equal(pipe(ready), 0);
	fflush(NULL);
	s.pid = fork();
	assert_true(s.pid >= 0);
	if (!s.pid)
		_exit(sleeper_child(&ready[1]));
	assert_int_equal(read(ready[0], &c, 1), 1);	/* it is W's now */
	close(ready[0]);
	close(ready[1]);
	s.landlock = false;			/* control */
	assert_exit0(run(scope_child, &s));
	s.landlock = true;
	assert_exit0(run(scope_child, &s));
	kill(s.pid, SIGKILL);
	waitpid(s.pid, &st, 0);
	close(l);
}

/* ------------------------------------------------------------------------
 * The worker's sockets, as nftables sees them
 */

/**
 * counter() - a counter's packets, by its rule's comment
 * @nft:	context, output buffered
 * @comment:	comment
 *
 * Return: packets, or -1
 */
static long counter(struct nft_ctx *nft, const char *comment)
{
	char key[64];
	const char *out, *c, *pk;

	if (nft_run_cmd_from_buffer(nft, "list chain inet moattest o"))
		return -1;
	out = nft_ctx_get_output_buffer(nft);
	snprintf(key, sizeof(key), "comment \"%s\"", comment);
	c = strstr(out, key);
	if (!c)
		return -1;
	while (c > out && c[-1] != '\n')
		c--;
	pk = strstr(c, "packets ");
	return pk ? strtol(pk + 8, NULL, 10) : -1;
}

/**
 * owner_worker() - the isolated worker's sockets: D's, then W's, then D's
 * socket again after switching back
 * @arg:	unused
 *
 * Return: 0
 */
static int owner_worker(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int sd, sw;

	(void)arg;
	worker();
	setfsuid(D);
	sd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(sd >= 0);
	a.sin_port = htons(9);
	CHECK(sendto(sd, "d", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1);
	setfsuid(W);
	sw = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(sw >= 0);
	CHECK(sendto(sw, "w", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1);
	a.sin_port = htons(10);
	CHECK(sendto(sd, "d", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1);
	return 0;
}

/**
 * owner_child() - in a new network namespace: count by socket owner
 * @arg:	unused
 *
 * Return: 0 if each packet was counted under the owner expected
 */
static int owner_child(void *arg)
{
	char rules[1024];
	struct nft_ctx *nft;

	(void)arg;
	CHECK(!unshare(CLONE_NEWNET));
	CHECK(!lo_up());
	snprintf(rules, sizeof(rules),
		 "table inet moattest {\n"
		 " chain o { type filter hook output priority 0;\n"
		 "  meta skuid %u udp dport 9 counter comment \"w9\"\n"
		 "  meta skuid %u udp dport 9 counter comment \"d9\"\n"
		 "  meta skuid %u udp dport 10 counter comment \"w10\"\n"
		 "  meta skuid %u udp dport 10 counter comment \"d10\"\n"
		 " }\n}\n", W, D, W, D);
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	CHECK(nft);
	CHECK(!nft_ctx_buffer_output(nft) && !nft_ctx_buffer_error(nft));
	CHECK(!nft_run_cmd_from_buffer(nft, rules));
	CHECK(counter(nft, "d9") == 0);
	{
		int st = run(owner_worker, NULL);

		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK(counter(nft, "d9") == 1);		/* made after setfsuid(D) */
	CHECK(counter(nft, "w9") == 1);		/* after setfsuid(W) */
	CHECK(counter(nft, "d10") == 1);	/* D's, whoever sends */
	CHECK(counter(nft, "w10") == 0);
	nft_ctx_free(nft);
	return 0;
}

/**
 * test_worker_socket_owner() - meta skuid is the fsuid at socket(2)
 * @state:	unused
 */
static void test_worker_socket_owner(void **state)
{
	(void)state;
	assert_exit0(run(owner_child, NULL));
}

/* ------------------------------------------------------------------------
 * The core
 */

/**
 * core() - isolate the calling child as a core, or exit 2
 */
static void core(void)
{
	const char *why = NULL;
	int ret = isolate_core(&why);

	if (ret) {
		fprintf(stderr, "isolate_core: %s: %s\n", why, strerror(-ret));
		_exit(2);
	}
}

/**
 * core_bounds_child() - the bounding, permitted and effective sets
 * @arg:	unused
 *
 * Return: 0
 */
static int core_bounds_child(void *arg)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uint64_t keep = isolate_core_caps(), perm;
	char path[64];
	int c;

	(void)arg;
	/* control: the test process's memory, before */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
	c = open(path, O_RDWR);
	CHECK(c >= 0);
	close(c);

	core();
	for (c = 0; c <= CAP_LAST_CAP; c++)
		CHECK(prctl(PR_CAPBSET_READ, c, 0, 0, 0) == !!(keep & (1ULL << c)));
	CHECK(!syscall(SYS_capget, &h, d));
	perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	CHECK(perm == keep);
	CHECK((d[0].effective | (uint64_t)d[1].effective << 32) == keep);
	CHECK(!d[0].inheritable && !d[1].inheritable);
	CHECK(keep & (1ULL << CAP_NET_ADMIN));
	CHECK(!(keep & (1ULL << CAP_SYS_PTRACE)));
	CHECK(!(keep & (1ULL << CAP_DAC_OVERRIDE)));
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(getuid() == 0);
	/* a fully privileged process's memory: out of reach now */
	CHECK(open(path, O_RDWR) < 0 && (errno == EACCES || errno == EPERM));
	return 0;
}

/**
 * core_mount_child() - in a private mount namespace: only a worker's mounts
 * @arg:	unused
 *
 * Return: 0
 */
static int core_mount_child(void *arg)
{
	(void)arg;
	core();
	CHECK(!unshare(CLONE_NEWNS));
	CHECK(!mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) && errno == EPERM);
	CHECK(mount("/etc", "/tmp", NULL, MS_BIND, NULL) && errno == EPERM);
	CHECK(mount("/etc", "/tmp", "none", MS_BIND | MS_RDONLY, NULL) &&
	      errno == EPERM);
	CHECK(mount("none", "/tmp", "tmpfs", 0, NULL) && errno == EPERM);
	CHECK(mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) &&
	      errno == EPERM);
	CHECK(syscall(SYS_fsopen, "tmpfs", 0) < 0 && errno == EPERM);
	CHECK(syscall(SYS_open_tree, AT_FDCWD, "/etc", 1 /* CLONE */) < 0 &&
	      errno == EPERM);
	CHECK(setns(0, 0) < 0 && errno == EPERM);
	CHECK(!mount("none", "/tmp", "tmpfs",
		     MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RDONLY, NULL));
	CHECK(!umount2("/tmp", MNT_DETACH));
	return 0;
}

/**
 * core_worker_child() - a worker forked from an isolated core isolates
 * @arg:	unused
 *
 * Return: 0
 */
static int core_worker_child(void *arg)
{
	int st;

	(void)arg;
	core();
	st = run(allowed_child, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = run(forbidden_child, (void *)&exec_call);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	return 0;
}

static void c_execve(void)
{
	f_execve();
}

#ifndef MOAT_SANITIZE
static void c_ptrace(void)
{
	f_ptrace();
}
#endif

static void c_bpf(void)
{
	syscall(SYS_bpf, 0, NULL, 0);
}

static void c_module(void)
{
	syscall(SYS_finit_module, -1, "", 0);
}

static void c_kexec(void)
{
	syscall(SYS_kexec_load, 0, 0, NULL, 0);
}

static void c_keyctl(void)
{
	syscall(SYS_keyctl, 0, 0, 0, 0, 0);
}

static void c_userfaultfd(void)
{
	syscall(SYS_userfaultfd, 0);
}

static void c_vm_read(void)
{
	syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0);
}

static void c_settime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
}

static const struct forbidden core_forbidden[] = {
	{ "execve", c_execve },
#ifndef MOAT_SANITIZE	/* the leak check at exit ptraces */
	{ "ptrace", c_ptrace },
#endif
	{ "bpf", c_bpf },
	{ "finit_module", c_module },
	{ "kexec_load", c_kexec },
	{ "keyctl", c_keyctl },
	{ "userfaultfd", c_userfaultfd },
	{ "process_vm_readv", c_vm_read },
	{ "clock_settime", c_settime },
#ifdef __x86_64__
	{ "int 0x80 (another architecture)", f_int80 },
#endif
};

/**
 * core_forbidden_child() - isolate as a core, then make one forbidden call
 * @arg:	struct forbidden
 *
 * Return: 0 if the call returned
 */
static int core_forbidden_child(void *arg)
{
	const struct forbidden *f = arg;

	core();
	f->fn();
	return 0;
}

/**
 * test_core() - the core's bounds, mounts, deny-list, and its worker
 * @state:	unused
 */
static void test_core(void **state)
{
	size_t i;

	(void)state;
	assert_exit0(run(core_bounds_child, NULL));
	assert_exit0(run(core_mount_child, NULL));
	for (i = 0; i < ARRAY_SIZE(core_forbidden); i++)
		assert_sigsys(run(core_forbidden_child, (void *)&core_forbidden[i]),
			      core_forbidden[i].what);
	assert_exit0(run(core_worker_child, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_forbidden),
		cmocka_unit_test(test_worker_allowed),
		cmocka_unit_test(test_worker_report),
		cmocka_unit_test(test_worker_no_landlock),
		cmocka_unit_test(test_worker_creds),
		cmocka_unit_test(test_worker_root),
		cmocka_unit_test(test_worker_scope),
		cmocka_unit_test(test_worker_socket_owner),
		cmocka_unit_test(test_core),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
