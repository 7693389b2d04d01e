// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * isolate.c - self-isolation of a sandbox's worker and core
 *
 * Theory of operation
 * -------------------
 * A sandbox's services run as two processes (privop.c): the core, which
 * keeps the privileges moat's kernel state needs, and the worker, which
 * parses everything the sandbox and the network send and needs none. Each
 * confines itself once it has what it needs, in the manner of passt's
 * isolation.c and bubblewrap: layers that each hold on their own.
 *
 * The worker (isolate_worker()), forked from the core, still root, with
 * its sockets already made (listeners bound, the NFLOG socket bound, the
 * channel to the core), in this order:
 *
 *   0. what the C library and jansson read from files once, on first
 *      use, is read now: the time zone (gmtime_r() of the first log
 *      record opens /etc/localtime) and jansson's hash seed
 *      (/dev/urandom). Found under strace: both would kill the worker
 *      at its first record;
 *   1. isolate_worker_root(): new mount, IPC and UTS namespaces; every
 *      mount made private (nothing propagates back to the host); an
 *      empty, read-only tmpfs (mode 0500, one inode) mounted on /tmp,
 *      entered, made the root with pivot_root(".", "."), the old root
 *      detached. No file system is left: no path resolves to anything
 *      but that empty directory, whatever the later layers allow.
 *   2. isolate_worker_creds(): the capability bounding set emptied
 *      (before the UID changes: dropping needs CAP_SETPCAP), the ambient
 *      set cleared, the securebits locked (no root magic on exec, no
 *      capability kept or raised on a UID change), no supplementary
 *      group, then setresgid(W, W, D) and setresuid(W, W, D): W is the
 *      worker's own per-sandbox ID, D, its DNS ID, only the saved one.
 *      Unprivileged, the worker may then switch its filesystem UID
 *      between the two (setfsuid(2)), nothing else. Permitted,
 *      effective and inheritable capabilities are cleared (the UID
 *      change cleared the first two, not the third); no_new_privs;
 *      not dumpable (no core, no ptrace by its own UID, /proc entries
 *      owned by root); RLIMIT_CORE 0.
 *   3. isolate_landlock(): a ruleset that handles every filesystem access
 *      right the running ABI knows, with no rule (nothing allowed: a
 *      second wall around the empty root); from ABI 4, TCP bind(2)
 *      handled, with one rule for the proxy's port if any (the proxy a
 *      policy update starts binds after isolation); from ABI 6, abstract
 *      unix sockets and signals scoped to the worker's own domain.
 *      Without Landlock, or with an older ABI, the layers it lacks are
 *      reported (struct isolate_report) for the caller to log, and the
 *      others still apply.
 *   4. isolate_worker_seccomp(): an allow-list, every other call killing
 *      the process (SCMP_ACT_KILL_PROCESS; another architecture's calls
 *      too). The names come from "#syscalls:worker" comments next to the
 *      code that makes the calls (src/worker/, log.c, privop.c, this
 *      file), collected at build time by scripts/seccomp-gen.py into
 *      isolate_syscalls.h and resolved here by libseccomp: a name this
 *      architecture lacks is skipped. A few calls are allowed only with
 *      certain arguments: socket(2) for AF_INET and AF_INET6 only (no
 *      netlink, no unix socket, no packet socket: the worker's other
 *      sockets exist already), ioctl(2) for FIONREAD only, mmap(2) and
 *      mprotect(2) never with PROT_EXEC (no new code). There is no exec,
 *      no fork, no open, no kill, no ptrace, no mount.
 *
 * A socket's owner, which nftables matches as "meta skuid", is the
 * filesystem UID of the task at socket(2) (the socket's inode takes it),
 * fixed for the socket's life. Measured on Linux 6.18 with nftables
 * counters: a UDP socket made after setfsuid(D) is D's, one made after
 * setfsuid(W) is W's, a socket made as D stays D's after the task
 * switches back; an accepted TCP connection is owned by the filesystem
 * UID of the task at accept(2) (its handshake, sent before, by the
 * listener's owner). Two side effects of every change of filesystem UID
 * (commit_creds()): the parent-death signal is cleared, and the dumpable
 * flag is reset to fs.suid_dumpable (0 by default): a worker that
 * switches should not count on PR_SET_PDEATHSIG, and learns of its core's
 * death from the channel's end of file instead.
 *
 * In builds with sanitizers (MOAT_SANITIZE: meson's b_sanitize), the
 * filter also allows what their runtime needs
 * ("#syscalls:sanitizer", in this file), and the leak check at exit is
 * skipped in an isolated worker (__lsan_is_turned_off()): it would stop
 * the world with ptrace(2) and read /proc/self/maps, which the worker has
 * neither of.
 *
 * The core (isolate_core()), after start-up, keeps the privileges its
 * work needs and loses the others:
 *
 *   - capabilities, bounding, permitted and effective sets alike
 *     (isolate_core_caps()):
 *       CAP_NET_ADMIN   nftables (pins, updates, restoration), conntrack
 *                       cuts and flushes, routing rules and IPsec policies
 *                       (guard.c), link deletion at teardown, a new
 *                       worker's NFLOG socket;
 *       CAP_SYS_ADMIN   unmounting the sandbox's network namespace at
 *                       teardown (netns.c), a new worker's mount namespace
 *                       and pivot_root;
 *       CAP_NET_BIND_SERVICE  a new worker's DNS listeners (port 53) and
 *                       published ports under 1024;
 *       CAP_SETUID, CAP_SETGID, CAP_SETPCAP  a new worker's identity, its
 *                       bounding set and securebits;
 *       CAP_KILL        signals to the worker (another UID) and to the
 *                       sandbox's processes at teardown.
 *     Dropped among others: CAP_SYS_PTRACE (without it, and with a
 *     permitted set that is not a superset of theirs, the core can
 *     neither ptrace nor open /proc/PID/mem of a fully privileged
 *     process, and a process in the sandbox's network namespace that
 *     runs as another user outside a user namespace moat made is not
 *     seen at teardown: it loses its network with the interface),
 *     CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN (the
 *     core's files are root's own), CAP_SYS_MODULE, CAP_SYS_RAWIO,
 *     CAP_SYS_BOOT, CAP_SYS_TIME, CAP_BPF, CAP_PERFMON (the guard's BPF
 *     program is attached at creation and survives a firewall reload:
 *     restoration loads none), CAP_MKNOD, CAP_NET_RAW;
 *   - the same locked securebits as the worker; no_new_privs; not
 *     dumpable;
 *   - a seccomp deny-list (default: allow). Calls only an attacker
 *     makes kill the process (the sandbox stays closed: its rules are in
 *     the kernel): execve, execveat (the core never executes anything
 *     after start-up); ptrace, process_vm_readv, process_vm_writev,
 *     pidfd_getfd (other processes' memory and descriptors); kexec_load,
 *     kexec_file_load, init_module, finit_module, delete_module, reboot,
 *     swapon, swapoff, acct, iopl, ioperm (the machine); bpf,
 *     perf_event_open, userfaultfd (the usual exploit helpers);
 *     keyctl, add_key, request_key (kernel keyrings); open_by_handle_at,
 *     name_to_handle_at (files by handle, past any mount); clock_settime,
 *     clock_adjtime, settimeofday, adjtimex (the clock). Calls whose
 *     refusal a mistaken path would survive fail with EPERM: setns (the
 *     core joins no namespace after start-up), the new mount API
 *     (fsopen, fsconfig, fsmount, fspick, move_mount, open_tree,
 *     mount_setattr), and mount(2) itself except for the two mounts a
 *     new worker makes: a propagation change with no file system type
 *     and flags MS_REC | MS_PRIVATE exactly, and a new file system with
 *     flags MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RDONLY exactly (no bind
 *     mount, no move, no remount). umount2 stays (teardown), unshare and
 *     pivot_root too (a new worker). In sanitizer builds ptrace is
 *     allowed: the leak check at exit needs it.
 *
 * The worker inherits the core's filter when it is forked, and adds its
 * own: both apply, the stricter action winning.
 *
 * What the core cannot shed: with CAP_SYS_ADMIN and CAP_NET_ADMIN it
 * remains root-equivalent for an attacker who takes it over, through
 * other means than the calls denied here (loop devices and a read-only
 * file system mounted over configuration, say). These layers remove the
 * direct paths (exec, ptrace, modules, bind mounts); the core's small
 * input (privop.c, checked as a possibly compromised worker's) is what
 * keeps it from being taken over.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include <jansson.h>
#include <seccomp.h>

#include "common.h"
#include "isolate.h"
#include "isolate_syscalls.h"

/* what the worker's own code needs, beyond the files that declare theirs:
 * its event loop, time, memory, exit
 * #syscalls:worker epoll_wait epoll_pwait epoll_ctl timerfd_settime read
 * #syscalls:worker clock_gettime gettimeofday time getrandom
 * #syscalls:worker brk mmap munmap mremap madvise mprotect
 * #syscalls:worker close exit exit_group rt_sigreturn restart_syscall
 * #syscalls:worker setfsuid setfsgid
 *
 * what the sanitizers' runtime needs in a build with b_sanitize, found by
 * making an isolated worker report a heap overflow and an integer
 * overflow under strace: its spin locks and mutexes, the alternate
 * signal stack it checks, its own PID in every line, and the files it
 * tries for symbols (/proc/self/exe, /proc/self/maps: EACCES here, so
 * frames print as module+offset). Also isatty(2) (ioctl TCGETS) for
 * colours, added in isolate_worker_seccomp().
 * #syscalls:sanitizer sched_yield futex sigaltstack getpid
 * #syscalls:sanitizer readlink readlinkat open openat
 */

/* where the empty root is mounted before it becomes the root: any
 * directory that exists (it is hidden in the worker's namespace only) */
#define ISOLATE_EMPTY_DIR	"/tmp"
#define ISOLATE_EMPTY_FLAGS	(MS_NODEV | MS_NOEXEC | MS_NOSUID | MS_RDONLY)
#define ISOLATE_PRIVATE_FLAGS	(MS_REC | MS_PRIVATE)

/* securebits of both processes: no capabilities from executing as root,
 * none kept or raised across UID changes; all locked */
#define ISOLATE_SECBITS	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | \
			 SECBIT_NO_SETUID_FIXUP_LOCKED | \
			 SECBIT_KEEP_CAPS_LOCKED | \
			 SECBIT_NO_CAP_AMBIENT_RAISE | \
			 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* Landlock beyond what older headers define (ABI 3 to 6) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)
#endif
#define ISOLATE_LL_NET_BIND_TCP			(1ULL << 0)
#define ISOLATE_LL_SCOPE_ABSTRACT_UNIX		(1ULL << 0)
#define ISOLATE_LL_SCOPE_SIGNAL			(1ULL << 1)
#define ISOLATE_LL_RULE_NET_PORT		2

/**
 * struct isolate_ll_ruleset - struct landlock_ruleset_attr, ABI 6
 * @fs:		handled filesystem access rights
 * @net:	handled network access rights (ABI 4)
 * @scoped:	scoped IPC (ABI 6)
 */
struct isolate_ll_ruleset {
	uint64_t fs;
	uint64_t net;
	uint64_t scoped;
};

/**
 * struct isolate_ll_port - struct landlock_net_port_attr
 * @allowed:	allowed access
 * @port:	port, host order
 */
struct isolate_ll_port {
	uint64_t allowed;
	uint64_t port;
} __attribute__((packed));

#ifdef MOAT_SANITIZE
static bool isolate_worker_done;

/**
 * __lsan_is_turned_off() - LeakSanitizer's hook: skip the check at exit?
 *
 * An isolated worker can neither ptrace nor read /proc/self/maps, which
 * the check needs; everywhere else it runs.
 *
 * Return: 1 in an isolated worker, else 0
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return isolate_worker_done;
}
#endif

/**
 * isolate_worker_ids() - the IDs of a sandbox's worker
 * @index:	the sandbox's index (its interface moatN: N), 0..0xffff
 * @c:		@uid, @gid set to W, @dns_uid, @dns_gid to D; the rest kept
 */
void isolate_worker_ids(unsigned index, struct isolate_worker_cfg *c)
{
	uint32_t w = MOAT_WORKER_UID_BASE + 2 * (index & 0xffff);

	c->uid = c->gid = w;
	c->dns_uid = c->dns_gid = w + 1;
}

/**
 * isolate_worker_root() - namespaces, and an empty read-only root
 * @why:	set to the step that failed
 *
 * Needs CAP_SYS_ADMIN. The calling process's views only: the host keeps
 * its mounts, nothing propagates either way.
 *
 * Return: 0, or -errno
 */
int isolate_worker_root(const char **why)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)) {
		*why = "unshare";
		return -errno;
	}
	if (mount(NULL, "/", NULL, ISOLATE_PRIVATE_FLAGS, NULL)) {
		*why = "making mounts private";
		return -errno;
	}
	if (mount("moat-empty", ISOLATE_EMPTY_DIR, "tmpfs", ISOLATE_EMPTY_FLAGS,
		  "nr_inodes=1,mode=0500")) {
		*why = "mounting the empty root";
		return -errno;
	}
	if (chdir(ISOLATE_EMPTY_DIR) || syscall(SYS_pivot_root, ".", ".")) {
		*why = "pivot_root";
		return -errno;
	}
	if (umount2(".", MNT_DETACH)) {
		*why = "detaching the old root";
		return -errno;
	}
	if (chdir("/")) {
		*why = "chdir";
		return -errno;
	}
	return 0;
}

/**
 * isolate_capset() - set the permitted, effective and inheritable sets
 * @keep:	capabilities for permitted and effective (bit N: capability
 *		N), inheritable empty
 *
 * Return: 0, or -errno
 */
static int isolate_capset(uint64_t keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	d[0].permitted = d[0].effective = (uint32_t)keep;
	d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/**
 * isolate_bound() - reduce the capability bounding set, clear ambient ones
 * @keep:	capabilities to keep in the bounding set
 *
 * Needs CAP_SETPCAP while anything is dropped.
 *
 * Return: 0, or -errno
 */
static int isolate_bound(uint64_t keep)
{
	unsigned c;

	for (c = 0; c < 64; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0)) {
			if (errno == EINVAL)
				break;		/* past the kernel's last */
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		return -errno;
	return 0;
}

/**
 * isolate_worker_creds() - the worker's IDs, no capability, no privilege
 * @c:		IDs
 * @why:	set to the step that failed
 *
 * Return: 0, or -errno (-EINVAL for an ID 0)
 */
int isolate_worker_creds(const struct isolate_worker_cfg *c, const char **why)
{
	struct rlimit no_core = { 0, 0 };
	int ret;

	if (!c->uid || !c->gid || !c->dns_uid || !c->dns_gid) {
		*why = "a worker ID is 0";
		return -EINVAL;
	}
	if ((ret = isolate_bound(0))) {
		*why = "emptying the bounding set";
		return ret;
	}
	if (prctl(PR_SET_SECUREBITS, ISOLATE_SECBITS, 0, 0, 0)) {
		*why = "securebits";
		return -errno;
	}
	if (setgroups(0, NULL)) {
		*why = "setgroups";
		return -errno;
	}
	if (setresgid(c->gid, c->gid, c->dns_gid) ||
	    setresuid(c->uid, c->uid, c->dns_uid)) {
		*why = "setresuid";
		return -errno;
	}
	if ((ret = isolate_capset(0))) {
		*why = "clearing capabilities";
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		*why = "prctl";
		return -errno;
	}
	if (setrlimit(RLIMIT_CORE, &no_core)) {
		*why = "RLIMIT_CORE";
		return -errno;
	}
	return 0;
}

/**
 * isolate_landlock() - no file system access; TCP binds and IPC scoped
 * @c:		configuration (@c->bind_tcp_port)
 * @r:		set to what the running kernel could enforce
 * @why:	set to the step that failed
 *
 * Needs no_new_privs (or CAP_SYS_ADMIN). Without Landlock, returns 0 with
 * @r->landlock_abi 0.
 *
 * Return: 0, or -errno if Landlock exists but refused the ruleset
 */
int isolate_landlock(const struct isolate_worker_cfg *c,
		     struct isolate_report *r, const char **why)
{
	struct isolate_ll_ruleset rs = { 0 };
	struct isolate_ll_port port;
	size_t size = sizeof(rs.fs);
	int abi, fd;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	r->landlock_abi = abi > 0 ? abi : 0;
	r->landlock_fs = r->landlock_net = r->landlock_scoped = false;
	if (abi <= 0)
		return 0;

	rs.fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		rs.fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rs.fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		rs.fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 4) {
		rs.net = ISOLATE_LL_NET_BIND_TCP;
		size = offsetof(struct isolate_ll_ruleset, scoped);
	}
	if (abi >= 6) {
		rs.scoped = ISOLATE_LL_SCOPE_ABSTRACT_UNIX |
			    ISOLATE_LL_SCOPE_SIGNAL;
		size = sizeof(rs);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &rs, size, 0);
	if (fd < 0) {
		*why = "landlock_create_ruleset";
		return -errno;
	}
	if (rs.net && c->bind_tcp_port) {
		port.allowed = ISOLATE_LL_NET_BIND_TCP;
		port.port = c->bind_tcp_port;
		if (syscall(SYS_landlock_add_rule, fd, ISOLATE_LL_RULE_NET_PORT,
			    &port, 0)) {
			*why = "landlock_add_rule";
			close(fd);
			return -errno;
		}
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0)) {
		*why = "landlock_restrict_self";
		close(fd);
		return -errno;
	}
	close(fd);
	r->landlock_fs = true;
	r->landlock_net = !!rs.net;
	r->landlock_scoped = !!rs.scoped;
	return 0;
}

/**
 * isolate_missing() - what the running kernel could not enforce, for a log
 * @r:		report of isolate_worker()
 * @buf:	buffer for the text
 * @len:	its size
 *
 * Return: @buf, "landlock ABI N: ..." naming each layer missing, or NULL
 *	   if every layer applies
 */
const char *isolate_missing(const struct isolate_report *r, char *buf,
			    size_t len)
{
	if (r->landlock_fs && r->landlock_net && r->landlock_scoped)
		return NULL;
	snprintf(buf, len, "landlock ABI %d: %s%s%s", r->landlock_abi,
		 r->landlock_fs ? "" : "no file system access rules (the empty root remains); ",
		 r->landlock_net ? "" : "TCP bind not restricted (ABI 4); ",
		 r->landlock_scoped ? "" : "signals and abstract unix sockets not scoped (ABI 6)");
	return buf;
}

/**
 * isolate_worker_syscalls() - the names of the worker's allow-list
 * @names:	set to the array (isolate_syscalls.h)
 *
 * Return: its length
 */
size_t isolate_worker_syscalls(const char *const **names)
{
	*names = ISOLATE_WORKER_SYSCALLS;
	return sizeof(ISOLATE_WORKER_SYSCALLS) / sizeof(ISOLATE_WORKER_SYSCALLS[0]);
}

/**
 * isolate_special() - the calls allowed only with some arguments
 * @ctx:	filter
 * @name:	a name from the allow-list
 *
 * Return: 1 if @name was handled here, 0 if not, -errno on failure
 */
static int isolate_special(scmp_filter_ctx ctx, const char *name)
{
	int ret = 0;

	if (!strcmp(name, "socket")) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_INET));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
					       SCMP_SYS(socket), 1,
					       SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	} else if (!strcmp(name, "ioctl")) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
					       FIONREAD));
	} else if (!strcmp(name, "mmap") || !strcmp(name, "mprotect")) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				       seccomp_syscall_resolve_name(name), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	} else {
		return 0;
	}
	return ret ? ret : 1;
}

/**
 * isolate_allow() - add names to an allow-list filter
 * @ctx:	filter
 * @names:	names
 * @n:		their number
 * @r:		counts updated
 *
 * Return: 0, or -errno
 */
static int isolate_allow(scmp_filter_ctx ctx, const char *const *names,
			 size_t n, struct isolate_report *r)
{
	size_t i;
	int ret, nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr < 0) {		/* unknown, or not on this architecture */
			r->unknown++;
			continue;
		}
		ret = isolate_special(ctx, names[i]);
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret < 0 && ret != -EEXIST)
			return ret;
		r->syscalls++;
	}
	return 0;
}

/**
 * isolate_worker_seccomp() - the allow-list filter, other calls kill
 * @r:		syscall counts set
 * @why:	set to the step that failed
 *
 * Needs no_new_privs (or CAP_SYS_ADMIN).
 *
 * Return: 0, or -errno
 */
int isolate_worker_seccomp(struct isolate_report *r, const char **why)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret;

	r->syscalls = r->unknown = 0;
	if (!ctx) {
		*why = "seccomp_init";
		return -ENOMEM;
	}
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			       SCMP_ACT_KILL_PROCESS);
	if (!ret)
		ret = isolate_allow(ctx, ISOLATE_WORKER_SYSCALLS,
				    sizeof(ISOLATE_WORKER_SYSCALLS) /
				    sizeof(ISOLATE_WORKER_SYSCALLS[0]), r);
#ifdef MOAT_SANITIZE
	if (!ret)
		ret = isolate_allow(ctx, ISOLATE_SANITIZER_SYSCALLS,
				    sizeof(ISOLATE_SANITIZER_SYSCALLS) /
				    sizeof(ISOLATE_SANITIZER_SYSCALLS[0]), r);
	if (!ret)	/* isatty(2): does a report use colours? */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
					       TCGETS));
#endif
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		*why = "seccomp";
		return ret;
	}
	return 0;
}

/**
 * isolate_worker() - confine a freshly forked worker, all layers
 * @c:		its IDs
 * @r:		set to what this kernel could enforce (Landlock's ABI, the
 *		size of the allow-list): for the caller to log
 * @why:	set to the step that failed
 *
 * The caller is a single-threaded child, still root, that made every
 * socket it needs but the ones isolation allows later (TCP and UDP
 * sockets of its own). On failure the caller must exit: the process is
 * half-confined.
 *
 * Return: 0, or -errno
 */
int isolate_worker(const struct isolate_worker_cfg *c,
		   struct isolate_report *r, const char **why)
{
	int ret;

	memset(r, 0, sizeof(*r));
	/* what the C library and jansson read from files once, on first
	 * use: before the file system goes. gmtime_r() (log records) loads
	 * the time zone (/etc/localtime) the first time; jansson seeds its
	 * hash tables from /dev/urandom */
	tzset();
	json_object_seed(0);
	if ((ret = isolate_worker_root(why)) ||
	    (ret = isolate_worker_creds(c, why)) ||
	    (ret = isolate_landlock(c, r, why)) ||
	    (ret = isolate_worker_seccomp(r, why)))
		return ret;
#ifdef MOAT_SANITIZE
	isolate_worker_done = true;
#endif
	return 0;
}

/* ------------------------------------------------------------------------
 * The core
 */

#define ISOLATE_CORE_CAPS	((1ULL << CAP_NET_ADMIN) | \
				 (1ULL << CAP_SYS_ADMIN) | \
				 (1ULL << CAP_NET_BIND_SERVICE) | \
				 (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) | \
				 (1ULL << CAP_SETPCAP) | (1ULL << CAP_KILL))

/**
 * isolate_core_caps() - the capabilities the core keeps
 *
 * Return: bit N set for capability N
 */
uint64_t isolate_core_caps(void)
{
	return ISOLATE_CORE_CAPS;
}

/**
 * struct isolate_deny - one call of the core's deny-list
 * @name:	system call
 * @kill:	kill the process (else fail with EPERM)
 */
struct isolate_deny {
	const char *name;
	bool kill;
};

static const struct isolate_deny isolate_core_deny[] = {
	{ "execve", true }, { "execveat", true },
#ifndef MOAT_SANITIZE
	{ "ptrace", true },
#endif
	{ "process_vm_readv", true }, { "process_vm_writev", true },
	{ "pidfd_getfd", true },
	{ "kexec_load", true }, { "kexec_file_load", true },
	{ "init_module", true }, { "finit_module", true },
	{ "delete_module", true }, { "reboot", true },
	{ "swapon", true }, { "swapoff", true }, { "acct", true },
	{ "iopl", true }, { "ioperm", true },
	{ "bpf", true }, { "perf_event_open", true }, { "userfaultfd", true },
	{ "keyctl", true }, { "add_key", true }, { "request_key", true },
	{ "open_by_handle_at", true }, { "name_to_handle_at", true },
	{ "clock_settime", true }, { "clock_adjtime", true },
	{ "settimeofday", true }, { "adjtimex", true },
	{ "setns", false },
	{ "fsopen", false }, { "fsconfig", false }, { "fsmount", false },
	{ "fspick", false }, { "move_mount", false }, { "open_tree", false },
	{ "mount_setattr", false },
};

/**
 * isolate_core_seccomp() - the core's deny-list
 *
 * Return: 0, or -errno
 */
static int isolate_core_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	size_t i;
	int ret, nr;

	if (!ctx)
		return -ENOMEM;
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			       SCMP_ACT_KILL_PROCESS);
	for (i = 0; !ret && i < ARRAY_SIZE(isolate_core_deny); i++) {
		nr = seccomp_syscall_resolve_name(isolate_core_deny[i].name);
		if (nr < 0)
			continue;
		ret = seccomp_rule_add(ctx, isolate_core_deny[i].kill ?
				       SCMP_ACT_KILL_PROCESS :
				       SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* mount(2): only a new worker's two mounts (see above) */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mount),
				       2, SCMP_A2(SCMP_CMP_EQ, 0),
				       SCMP_A3(SCMP_CMP_NE, ISOLATE_PRIVATE_FLAGS));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mount),
				       2, SCMP_A2(SCMP_CMP_NE, 0),
				       SCMP_A3(SCMP_CMP_NE, ISOLATE_EMPTY_FLAGS));
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

/**
 * isolate_core() - confine the core once it has started
 * @why:	set to the step that failed
 *
 * Return: 0, or -errno
 */
int isolate_core(const char **why)
{
	int ret;

	if ((ret = isolate_bound(ISOLATE_CORE_CAPS))) {
		*why = "reducing the bounding set";
		return ret;
	}
	if ((ret = isolate_capset(ISOLATE_CORE_CAPS))) {
		*why = "reducing the capabilities";
		return ret;
	}
	if (prctl(PR_SET_SECUREBITS, ISOLATE_SECBITS, 0, 0, 0)) {
		*why = "securebits";
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		*why = "prctl";
		return -errno;
	}
	if ((ret = isolate_core_seccomp())) {
		*why = "seccomp";
		return ret;
	}
	return 0;
}
