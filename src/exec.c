// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * exec.c - running a command inside a sandbox, contained and unprivileged
 *
 * Theory of operation
 * -------------------
 * "moat run" and "moat exec" start the command in the sandbox's network
 * namespace and, so that it cannot step out through the host's processes,
 * files or control sockets, in a PID, a mount and a user namespace of its
 * own. Three processes:
 *
 *   moat (P0, host root)   unshare(CLONE_NEWPID) for its children only,
 *     |                    fork(), back to its own PID namespace; then it
 *     |                    passes exec_fwd_sigs on to init and waits for
 *     |                    the command's status on a pipe
 *   init (P1, PID 1)       still host root: setns() into the sandbox's
 *     |                    network namespace; private IPC and mount
 *     |                    namespaces (owned by the host's user namespace,
 *     |                    so that nothing inside can undo its mounts), see
 *     |                    exec_mount_ns(); forks the command, writes its
 *     |                    user namespace's ID maps, then keeps only
 *     |                    CAP_KILL (to pass signals on to the command),
 *     |                    reaps every process and passes the command's
 *     |                    status to P0
 *   command (P2, PID 2)    supplementary groups (as host root), then
 *                          unshare(CLONE_NEWUSER) and wait for its maps;
 *                          then, in its user namespace,
 *                          exec_drop_privileges() and exec()
 *
 * The user namespace maps one UID and one GID: the command's own (--user,
 * else the user who ran sudo, else the caller) to the same on the host,
 * except 0, which maps to the user who ran sudo (SUDO_UID/SUDO_GID, when
 * not 0) or else to 65534 (nobody/nogroup): root inside is never root on
 * the host, and files the host's root owns are not its own
 * (exec_outside_ids()). In that namespace the command has no capability
 * either: the bounding and ambient sets are emptied, every set cleared,
 * NOROOT securebits locked for UID 0, no_new_privs set, a seccomp filter
 * refuses the ioctls that type into a terminal (TIOCSTI, TIOCLINUX: the
 * command shares moat's terminal), descriptors above 2 closed on exec. It
 * may still create nested user namespaces (and network, mount, PID
 * namespaces in them), as bubblewrap or "unshare -Urn" do; the kernel
 * refuses only a nested map of its own UID 0 (that takes CAP_SETFCAP).
 *
 * With the command's exit, "moat run" (and init: the kernel kills the rest
 * of the PID namespace with it) ends; for "moat exec", init reports the
 * status, moat exec exits with it, and init stays, detached, until the
 * command's background processes have exited too (or "moat rm -f" kills
 * them), as they did before they had a PID namespace of their own. If moat
 * is killed while the command runs, init gets SIGKILL (PR_SET_PDEATHSIG),
 * and with it everything in its PID namespace.
 *
 * Any failure before exec() is fatal: the command never runs with more than
 * it should. Exit statuses: the command's own, 128 + N if signal N killed
 * it, 125 if moat failed, 126 if the command is not executable, 127 if it
 * was not found (as Podman and env(1) do).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <seccomp.h>

#include "err.h"
#include "exec.h"
#include "secrets.h"

/**
 * exec_parse_user() - parse --user UID[:GID] (numbers or names)
 * @s:		argument
 * @u:		filled in
 *
 * Return: 0, or -1 after printing what is wrong
 */
int exec_parse_user(const char *s, struct exec_user *u)
{
	autofree char *dup = xstrdup(s);
	char *colon = strchr(dup, ':'), *end;
	struct passwd *pw;
	struct group *gr;
	unsigned long v;

	memset(u, 0, sizeof(*u));
	if (colon)
		*colon = '\0';
	if (!*dup) {
		msg_err("--user '%s': missing user", s);
		return -1;
	}
	errno = 0;
	v = strtoul(dup, &end, 10);
	if (!*end && !errno && v < (uid_t)-1 && *dup != '-') {
		u->uid = (uid_t)v;
		pw = getpwuid(u->uid);
	} else {
		pw = getpwnam(dup);
		if (!pw) {
			msg_err("--user '%s': no such user", s);
			return -1;
		}
		u->uid = pw->pw_uid;
	}
	if (pw) {
		snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
		u->gid = pw->pw_gid;
	} else {
		u->gid = u->uid;	/* numeric UID without an entry */
	}
	if (colon) {
		const char *g = colon + 1;

		if (!*g) {
			msg_err("--user '%s': missing group after ':'", s);
			return -1;
		}
		errno = 0;
		v = strtoul(g, &end, 10);
		if (!*end && !errno && v < (gid_t)-1 && *g != '-') {
			u->gid = (gid_t)v;
		} else {
			gr = getgrnam(g);
			if (!gr) {
				msg_err("--user '%s': no such group", s);
				return -1;
			}
			u->gid = gr->gr_gid;
		}
		u->explicit_gid = true;
	}
	return 0;
}

/**
 * exec_default_user() - the user a sandboxed command runs as by default
 * @u:		filled in
 *
 * Return: 0, or -1 after printing what is wrong
 */
int exec_default_user(struct exec_user *u)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (getuid() == 0 && su && *su) {
		char *end;
		unsigned long v = strtoul(su, &end, 10);

		if (*end || v >= (uid_t)-1) {
			msg_err("SUDO_UID '%s' is not a user ID", su);
			return -1;
		}
		u->uid = (uid_t)v;
		u->gid = u->uid;
		if (sg && *sg) {
			v = strtoul(sg, &end, 10);
			if (*end || v >= (gid_t)-1) {
				msg_err("SUDO_GID '%s' is not a group ID", sg);
				return -1;
			}
			u->gid = (gid_t)v;
		}
	} else {
		u->uid = getuid();
		u->gid = getgid();
	}
	pw = getpwuid(u->uid);
	if (pw)
		snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	return 0;
}

#define EXEC_NOBODY	65534	/* the overflow UID and GID: nobody, nogroup */

/* What the command does not see: each an empty tmpfs of this mode, after
 * moat's run directory (read-only). Paths that are symbolic links (/var/run
 * to /run, say) are covered through what they name.
 */
static const struct {
	const char *path;
	mode_t mode;
} exec_covers[] = {
	{ "/run", 0755 },	/* control sockets: D-Bus, systemd, the user's
				 * session (/run/user), container engines,
				 * nscd, /run/netns */
	{ "/var/run", 0755 },
	{ "/tmp", 01777 },	/* X11, tmux, screen, ssh-agent sockets */
	{ "/var/tmp", 01777 },
	{ "/dev/shm", 01777 },	/* shared memory of host processes */
};

/* signals passed on to the command, as if it had been sent them itself */
static const int exec_fwd_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				     SIGUSR1, SIGUSR2 };

/* the process they are passed on to (moat: init; init: the command) */
static volatile pid_t exec_fwd_pid;
static bool exec_in_init;

/**
 * struct exec_ctx - what the three processes of exec_run() share
 * @nsfd:	the sandbox's network namespace
 * @resolv:	its resolv.conf, or NULL
 * @ca_bundle:	its CA bundle (secrets.c), or NULL
 * @run_dir:	moat's run directory, to cover
 * @u:		target user, inside the user namespace
 * @out_uid:	host UID that @u->uid maps to
 * @out_gid:	host GID that @u->gid maps to
 * @argv:	command and arguments
 * @linger:	init stays for background processes (moat exec)
 * @status_fd:	init: write end of the status pipe to moat
 * @oldmask:	signal mask to restore in the command
 */
struct exec_ctx {
	int nsfd;
	const char *resolv;
	const char *ca_bundle;
	const char *run_dir;
	const struct exec_user *u;
	uid_t out_uid;
	gid_t out_gid;
	char *const *argv;
	bool linger;
	int status_fd;
	sigset_t oldmask;
};

/**
 * exec_sudo_id() - SUDO_UID or SUDO_GID, if moat runs as root under sudo
 * @var:	"SUDO_UID" or "SUDO_GID"
 *
 * Return: the ID, or 0 if unset, malformed or 0 itself
 */
static unsigned long exec_sudo_id(const char *var)
{
	const char *s = getenv(var);
	unsigned long v;
	char *end;

	if (getuid() != 0 || !s || !*s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v >= (uid_t)-1)
		return 0;
	return v;
}

/**
 * exec_outside_ids() - the host's UID and GID for the command's
 * @u:		target user, inside the command's user namespace
 * @uid:	set to the host UID that @u->uid maps to
 * @gid:	set to the host GID that @u->gid maps to
 *
 * Every ID maps to itself but 0, which maps to the user who ran sudo, else
 * to 65534 (nobody, nogroup): never to the host's root.
 */
void exec_outside_ids(const struct exec_user *u, uid_t *uid, gid_t *gid)
{
	*uid = u->uid;
	*gid = u->gid;
	if (!*uid)
		*uid = exec_sudo_id("SUDO_UID") ? : EXEC_NOBODY;
	if (!*gid)
		*gid = exec_sudo_id("SUDO_GID") ? : EXEC_NOBODY;
}

/**
 * exec_set_groups() - supplementary groups, set while still host root
 * @u:		target user
 *
 * The user's groups for a named user without an explicit group, else none
 * (and none for UID 0 or GID 0, whose host groups are root's). A new user
 * namespace keeps them; unmapped, they show as 65534 inside but still
 * count for access to the host's files.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_set_groups(const struct exec_user *u)
{
	if (u->uid && u->gid && *u->name && !u->explicit_gid) {
		if (initgroups(u->name, u->gid)) {
			msg_err("cannot set the groups of %s: %s", u->name,
				strerror(errno));
			return -1;
		}
	} else if (setgroups(0, NULL)) {
		msg_err("cannot drop supplementary groups: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_seccomp() - refuse the ioctls that type into the terminal
 *
 * TIOCSTI pushes characters into a terminal's input, TIOCLINUX (on a
 * virtual console) pastes its selection: with the terminal moat was started
 * from, the command could type a command line into the user's shell, to run
 * outside the sandbox once moat has exited. Both fail with EPERM, whatever
 * the ABI (32-bit x86 too) and the upper bits of the request number.
 * Everything else is allowed; the filter holds for everything the command
 * starts, nested namespaces included.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_seccomp(void)
{
	static const unsigned long reqs[] = { TIOCSTI, TIOCLINUX };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ret = -ENOMEM;
	size_t i;

	if (!ctx)
		goto out;
#if defined(__x86_64__)
	if ((ret = seccomp_arch_add(ctx, SCMP_ARCH_X86)) && ret != -EEXIST)
		goto out;
	if ((ret = seccomp_arch_add(ctx, SCMP_ARCH_X32)) && ret != -EEXIST)
		goto out;
#elif defined(__aarch64__)
	if ((ret = seccomp_arch_add(ctx, SCMP_ARCH_ARM)) && ret != -EEXIST)
		goto out;
#endif
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				       SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
					       (scmp_datum_t)reqs[i]));
		if (ret)
			goto out;
	}
	ret = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	if (ret) {
		msg_err("cannot install the seccomp filter: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/**
 * exec_drop_privileges() - the command's last steps before exec()
 * @u:		target user, inside its user namespace
 *
 * In the command's user namespace, with its maps written: the capability
 * bounding and ambient sets emptied (nothing exec'd later regains a
 * capability, not even a set-uid binary), NOROOT securebits locked for
 * UID 0, GID and UID set, every capability cleared, no_new_privs set,
 * exec_seccomp()'s filter, descriptors above 2 closed on exec.
 *
 * Return: 0, or -1 after printing which step failed
 */
int exec_drop_privileges(const struct exec_user *u)
{
	cap_t none;
	int c;

	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
			msg_err("cannot drop capability %d from the bounding set: %s",
				c, strerror(errno));
			return -1;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL) {
		msg_err("cannot clear ambient capabilities: %s", strerror(errno));
		return -1;
	}
	if (u->uid == 0 &&
	    prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		  SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0)) {
		msg_err("cannot set securebits: %s", strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid)) {
		msg_err("cannot switch to %u:%u: %s", (unsigned)u->uid,
			(unsigned)u->gid, strerror(errno));
		return -1;
	}
	none = cap_init();
	if (!none || cap_set_proc(none)) {
		msg_err("cannot clear capabilities: %s", strerror(errno));
		cap_free(none);
		return -1;
	}
	cap_free(none);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		msg_err("cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (exec_seccomp())
		return -1;
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) && errno != EINVAL) {
		msg_err("close_range: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_cover() - hide a directory under an empty tmpfs
 * @path:	directory; nothing is done if it does not exist
 * @mode:	mode of the tmpfs's root
 * @ro:		read-only (and noexec)
 *
 * Return: 0, or -1 after printing why
 */
static int exec_cover(const char *path, mode_t mode, bool ro)
{
	unsigned long fl = MS_NOSUID | MS_NODEV;
	char opts[32];
	struct stat st;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return 0;
	if (ro)
		fl |= MS_RDONLY | MS_NOEXEC;
	snprintf(opts, sizeof(opts), "mode=%04o", (unsigned)mode);
	if (mount("tmpfs", path, "tmpfs", fl, opts)) {
		msg_err("cannot cover %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_mkfile() - create a file and its missing parents (mode 0755)
 * @path:	absolute path
 *
 * Return: 0, or -1 with errno set
 */
static int exec_mkfile(const char *path)
{
	char buf[PATH_MAX];
	char *p;
	int fd;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/**
 * exec_normalise() - remove ".", ".." and repeated slashes from a path
 * @path:	absolute path, changed in place
 */
static void exec_normalise(char *path)
{
	char *out = path, *in = path, *seg;
	size_t len;

	while (*in) {
		while (*in == '/')
			in++;
		seg = in;
		while (*in && *in != '/')
			in++;
		len = (size_t)(in - seg);
		if (!len || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/**
 * exec_covered() - whether a path lies in a directory exec_covers hides
 * @path:	normalised absolute path
 *
 * Return: true if it does
 */
static bool exec_covered(const char *path)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(exec_covers); i++) {
		n = strlen(exec_covers[i].path);
		if (!strncmp(path, exec_covers[i].path, n) && path[n] == '/')
			return true;
	}
	return false;
}

/**
 * exec_resolv() - show the sandbox's resolv.conf at /etc/resolv.conf
 * @fd:		O_PATH descriptor of the file
 *
 * Where /etc/resolv.conf links into a covered directory (systemd-resolved's
 * /run/systemd/resolve/stub-resolv.conf), the file it names is created in
 * the cover first; a dangling link elsewhere is an error.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_resolv(int fd)
{
	char src[32], link[PATH_MAX], target[PATH_MAX + 8];
	ssize_t n;

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (!mount(src, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		return 0;
	if (errno != ENOENT)
		goto fail;
	n = readlink("/etc/resolv.conf", link, sizeof(link) - 1);
	if (n <= 0) {
		errno = ENOENT;
		goto fail;
	}
	link[n] = '\0';
	snprintf(target, sizeof(target), "%s%s", link[0] == '/' ? "" : "/etc/",
		 link);
	exec_normalise(target);
	/* never create anything on the host's own file systems */
	if (!exec_covered(target)) {
		errno = ENOENT;
		goto fail;
	}
	if (exec_mkfile(target) ||
	    mount(src, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		goto fail;
	return 0;
fail:
	msg_err("cannot mount the sandbox's resolv.conf: %s", strerror(errno));
	return -1;
}

/**
 * exec_ca_bundle() - show the sandbox's CA bundle at SECRETS_BUNDLE_INSIDE
 * @fd:		O_PATH descriptor of the file
 *
 * In the tmpfs that covers /run (so nothing is created on the host's own
 * file systems), read-only.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_ca_bundle(int fd)
{
	char src[32];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (exec_mkfile(SECRETS_BUNDLE_INSIDE) ||
	    mount(src, SECRETS_BUNDLE_INSIDE, NULL, MS_BIND, NULL) ||
	    mount(NULL, SECRETS_BUNDLE_INSIDE, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL)) {
		msg_err("cannot show the sandbox's CA bundle at %s: %s",
			SECRETS_BUNDLE_INSIDE, strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_mqueue() - POSIX message queues of the new IPC namespace
 *
 * Where the host mounts an mqueue file system (/dev/mqueue), it shows the
 * host's queues: a fresh one, mounted from the new IPC namespace, shows
 * the command's own.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_mqueue(void)
{
	struct stat st;

	if (stat("/dev/mqueue", &st) || !S_ISDIR(st.st_mode))
		return 0;
	if (mount("mqueue", "/dev/mqueue", "mqueue",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		msg_err("cannot mount /dev/mqueue: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_nosuid() - no set-uid bit or file capability in the mount namespace
 *
 * no_new_privs already keeps them from granting anything; but a binary
 * with effective file capabilities (ping's cap_net_raw=ep on Debian and
 * Fedora) does not even start when those are outside the (empty) bounding
 * set: execve() fails with EPERM. On a nosuid mount the kernel ignores
 * them, and the binary runs as the command's user: ping then uses its
 * ICMP echo socket (net.ipv4.ping_group_range, set for every group in a
 * sandbox). Applied to every mount present now, at once
 * (mount_setattr(2), Linux 5.12); where that is missing, nothing changes.
 *
 * Return: 0 (a failure is only reported: it takes nothing away)
 */
static int exec_nosuid(void)
{
#ifdef MOUNT_ATTR_NOSUID
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID };

	if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &a,
		    sizeof(a)) && errno != ENOSYS)
		msg_warn("cannot make the command's mounts nosuid: %s",
			 strerror(errno));
#endif
	return 0;
}

/**
 * exec_mount_ns() - the command's mount namespace
 * @x:		context
 *
 * Called by init, as host root, in the sandbox's network namespace and its
 * own PID namespace. With the mount namespace comes an IPC namespace: no
 * System V IPC object or POSIX message queue of the host is reachable
 * either (/dev/mqueue, if present, is remounted for it). The new mount
 * namespace belongs to the host's user
 * namespace, so the command, in a user namespace of its own, can neither
 * unmount nor move anything in it; nested mount namespaces it creates get
 * these mounts locked together. Mounts propagate from the host into it,
 * never back. In it:
 *   - /sys is a fresh sysfs: /sys/class/net shows the sandbox's interfaces;
 *   - /proc is a fresh procfs of the new PID namespace: no host process;
 *   - moat's run directory is an empty read-only tmpfs, then /run,
 *     /var/run, /tmp, /var/tmp and /dev/shm are empty tmpfs (exec_covers);
 *   - /etc/resolv.conf is the sandbox's, naming its DNS interceptor (the
 *     host's may name a loopback resolver such as 127.0.0.53, which the
 *     sandbox's own loopback does not have);
 *   - the working directory is looked up again, so that it is not a way
 *     into a covered directory; where it is covered, the command starts
 *     in /;
 *   - every mount is nosuid (exec_nosuid()): binaries with file
 *     capabilities, such as ping, run without them instead of failing.
 *
 * Return: 0, or -1 after printing what failed
 */
static int exec_mount_ns(const struct exec_ctx *x)
{
	autoclose int rfd = -1, cfd = -1;
	char cwd[PATH_MAX];
	bool have_cwd;
	size_t i;

	have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC)) {
		msg_err("cannot create a mount and an IPC namespace: %s",
			strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL)) {
		msg_err("cannot make / a slave mount: %s", strerror(errno));
		return -1;
	}
	/* in this namespace (a bind mount's source must be), before the
	 * run directory it lives in is covered */
	if (x->resolv) {
		rfd = open(x->resolv, O_PATH | O_CLOEXEC);
		if (rfd < 0) {
			msg_err("cannot open %s: %s", x->resolv, strerror(errno));
			return -1;
		}
	}
	if (x->ca_bundle) {
		cfd = open(x->ca_bundle, O_PATH | O_CLOEXEC);
		if (cfd < 0) {
			msg_err("cannot open %s: %s", x->ca_bundle,
				strerror(errno));
			return -1;
		}
	}
	if (umount2("/sys", MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
		msg_err("cannot unmount /sys: %s", strerror(errno));
		return -1;
	}
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL)) {
		msg_err("cannot mount the sandbox's /sys: %s", strerror(errno));
		return -1;
	}
	if (umount2("/proc", MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
		msg_err("cannot unmount /proc: %s", strerror(errno));
		return -1;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL)) {
		msg_err("cannot mount /proc for the command's PID namespace: %s",
			strerror(errno));
		return -1;
	}
	if (exec_mqueue())
		return -1;
	if (exec_cover(x->run_dir, 0755, true))
		return -1;
	for (i = 0; i < ARRAY_SIZE(exec_covers); i++)
		if (exec_cover(exec_covers[i].path, exec_covers[i].mode, false))
			return -1;
	if (rfd >= 0 && exec_resolv(rfd))
		return -1;
	if (cfd >= 0 && exec_ca_bundle(cfd))
		return -1;
	if (exec_nosuid())
		return -1;
	if (have_cwd && chdir(cwd)) {
		msg_warn("the working directory %s is hidden in the sandbox; "
			 "starting in /", cwd);
		if (chdir("/")) {
			msg_err("cannot change to /: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/**
 * exec_forward() - pass a termination signal on to exec_fwd_pid
 * @sig:	signal
 * @si:		its origin
 * @uc:	unused
 *
 * In init, a signal the kernel sent (the terminal's SIGINT to the
 * foreground process group) already reached the command, which is in the
 * same group, and is not sent again.
 */
static void exec_forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (exec_in_init && si && si->si_code == SI_KERNEL)
		return;
	if (exec_fwd_pid > 0)
		kill(exec_fwd_pid, sig);
}

/**
 * exec_forward_signals() - install exec_forward() for exec_fwd_sigs
 */
static void exec_forward_signals(void)
{
	struct sigaction sa = { .sa_sigaction = exec_forward,
				.sa_flags = SA_RESTART | SA_SIGINFO };
	size_t i;

	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(exec_fwd_sigs); i++)
		sigaction(exec_fwd_sigs[i], &sa, NULL);
}

/**
 * exec_write_map() - write one line of a user namespace's ID map
 * @pid:	process in the user namespace
 * @file:	"uid_map" or "gid_map"
 * @in:		ID inside
 * @out:	ID on the host
 *
 * Return: 0, or -1 after printing why
 */
static int exec_write_map(pid_t pid, const char *file, unsigned in,
			  unsigned out)
{
	char path[64], line[64];
	int fd, n, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(line, sizeof(line), "%u %u 1\n", in, out);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ok = fd >= 0 && write(fd, line, n) == n;
	if (!ok)
		msg_err("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/**
 * exec_init_drop() - init keeps UID 0 and CAP_KILL only
 *
 * UID 0 so that the command (never UID 0 on the host) can neither signal
 * nor ptrace it; CAP_KILL to pass signals on to the command. Not dumpable,
 * no_new_privs.
 *
 * Return: 0, or -1 after printing why
 */
static int exec_init_drop(void)
{
	cap_value_t keep = CAP_KILL;
	cap_t caps;
	int c, ret;

	for (c = 0; c <= CAP_LAST_CAP; c++) {
		if (c != CAP_KILL && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) &&
		    errno != EINVAL) {
			msg_err("init: cannot drop capability %d: %s", c,
				strerror(errno));
			return -1;
		}
	}
	caps = cap_init();
	if (!caps)
		return -1;
	ret = cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) ||
	      cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) ||
	      cap_set_proc(caps);
	cap_free(caps);
	if (ret || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		msg_err("init: cannot drop privileges: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_command() - the command's process: user namespace, then exec()
 * @x:		context
 * @up:		pipe to init: "the user namespace exists"
 * @down:	pipe from init: "its maps are written"
 */
static __attribute__((noreturn)) void exec_command(const struct exec_ctx *x,
						   int up, int down)
{
	char c;
	int err;

	if (exec_set_groups(x->u))
		_exit(MOAT_EXIT_FAILURE);
	if (unshare(CLONE_NEWUSER)) {
		msg_err("cannot create a user namespace: %s", strerror(errno));
		_exit(MOAT_EXIT_FAILURE);
	}
	if (write(up, "u", 1) != 1 || read(down, &c, 1) != 1)
		_exit(MOAT_EXIT_FAILURE);
	close(up);
	close(down);
	if (exec_drop_privileges(x->u))
		_exit(MOAT_EXIT_FAILURE);
	sigprocmask(SIG_SETMASK, &x->oldmask, NULL);
	execvp(x->argv[0], x->argv);
	err = errno;
	msg_err("%s: %s", x->argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/**
 * exec_status() - exit status for a wait status
 * @st:		from waitpid()
 *
 * Return: the exit status, or 128 + the signal that killed the process
 */
static int exec_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return MOAT_EXIT_FAILURE;
}

/**
 * exec_init() - PID 1 of the command's PID namespace
 * @x:		context
 */
static __attribute__((noreturn)) void exec_init(const struct exec_ctx *x)
{
	int up[2], down[2], st, code, nul;
	pid_t cmd, p;
	char c;

	exec_in_init = true;
	prctl(PR_SET_NAME, "moat-init");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL)) {
		msg_err("init: PR_SET_PDEATHSIG: %s", strerror(errno));
		_exit(MOAT_EXIT_FAILURE);
	}
	if (setns(x->nsfd, CLONE_NEWNET)) {
		msg_err("cannot enter the sandbox's network namespace: %s",
			strerror(errno));
		_exit(MOAT_EXIT_FAILURE);
	}
	close(x->nsfd);
	if (exec_mount_ns(x))
		_exit(MOAT_EXIT_FAILURE);
	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) {
		msg_err("pipe: %s", strerror(errno));
		_exit(MOAT_EXIT_FAILURE);
	}
	cmd = fork();
	if (cmd == 0) {
		close(x->status_fd);
		close(up[0]);
		close(down[1]);
		exec_command(x, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	if (cmd < 0) {
		msg_err("fork: %s", strerror(errno));
		_exit(MOAT_EXIT_FAILURE);
	}
	if (read(up[0], &c, 1) == 1) {
		if (exec_write_map(cmd, "uid_map", x->u->uid, x->out_uid) ||
		    exec_write_map(cmd, "gid_map", x->u->gid, x->out_gid) ||
		    exec_init_drop()) {
			kill(cmd, SIGKILL);
			_exit(MOAT_EXIT_FAILURE);
		}
		if (write(down[1], "m", 1) != 1)
			kill(cmd, SIGKILL);
	}
	close(up[0]);
	close(down[1]);
	/* init holds no terminal or pipe open for its caller */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		close(nul);
	}
	exec_fwd_pid = cmd;
	exec_forward_signals();
	sigprocmask(SIG_SETMASK, &x->oldmask, NULL);
	for (;;) {
		p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (p != cmd)
			continue;
		code = exec_status(st);
		exec_fwd_pid = 0;
		if (x->linger)
			prctl(PR_SET_PDEATHSIG, 0);
		if (write(x->status_fd, &code, sizeof(code)) != sizeof(code))
			_exit(code);
		close(x->status_fd);
		if (!x->linger)
			_exit(code);
	}
	_exit(0);
}

/**
 * exec_run() - run a command in a sandbox, contained, and wait for it
 * @nsfd:	the sandbox's network namespace (sandbox_netns_open()); the
 *		caller closes it
 * @resolv:	the sandbox's resolv.conf (exec_write_resolv_conf()), or NULL
 * @ca_bundle:	the sandbox's CA bundle (secrets_exec_env()), shown at
 *		SECRETS_BUNDLE_INSIDE, or NULL
 * @run_dir:	moat's run directory, hidden from the command
 * @u:		target user
 * @argv:	command and arguments
 * @linger:	let the command's background processes outlive it (moat exec;
 *		moat run removes the sandbox, and them, afterwards)
 *
 * See the theory of operation. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1
 * and SIGUSR2 are passed on to the command.
 *
 * Return: the command's exit status, 128 + N if signal N killed it, or,
 *	   when it could not be started: 125 if moat failed, 126 if the
 *	   command is not executable, 127 if it was not found
 */
int exec_run(int nsfd, const char *resolv, const char *ca_bundle,
	     const char *run_dir, const struct exec_user *u,
	     char *const argv[], bool linger)
{
	struct exec_ctx x = { .resolv = resolv, .ca_bundle = ca_bundle,
			      .run_dir = run_dir, .u = u,
			      .argv = argv, .linger = linger, .nsfd = nsfd };
	int sfd[2], pidns, code, st, ret = MOAT_EXIT_FAILURE;
	sigset_t block;
	size_t i;
	ssize_t n;
	pid_t init;

	exec_outside_ids(u, &x.out_uid, &x.out_gid);
	pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (pidns < 0 || pipe2(sfd, O_CLOEXEC)) {
		msg_err("cannot prepare the PID namespace: %s", strerror(errno));
		if (pidns >= 0)
			close(pidns);
		return ret;
	}
	/* blocked until each process has its handler: none is lost */
	sigemptyset(&block);
	for (i = 0; i < ARRAY_SIZE(exec_fwd_sigs); i++)
		sigaddset(&block, exec_fwd_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &x.oldmask);
	if (unshare(CLONE_NEWPID)) {
		msg_err("cannot create a PID namespace: %s", strerror(errno));
		init = -1;
	} else {
		init = fork();
		if (init == 0) {
			close(pidns);
			close(sfd[0]);
			x.status_fd = sfd[1];
			exec_init(&x);
		}
		if (init < 0)
			msg_err("fork: %s", strerror(errno));
		/* moat's own later children stay in its PID namespace */
		if (setns(pidns, CLONE_NEWPID))
			msg_warn("cannot return to the PID namespace: %s",
				 strerror(errno));
	}
	close(pidns);
	close(sfd[1]);
	exec_fwd_pid = init;
	exec_forward_signals();
	sigprocmask(SIG_SETMASK, &x.oldmask, NULL);
	if (init < 0) {
		close(sfd[0]);
		return ret;
	}
	do
		n = read(sfd[0], &code, sizeof(code));
	while (n < 0 && errno == EINTR);
	close(sfd[0]);
	if (n == sizeof(code)) {
		ret = code;
		if (!linger)
			while (waitpid(init, &st, 0) < 0 && errno == EINTR)
				;
	} else {
		/* init failed before the command ran, or was killed */
		while ((n = waitpid(init, &st, 0)) < 0 && errno == EINTR)
			;
		if (n == init && WIFEXITED(st))
			ret = WEXITSTATUS(st);
	}
	exec_fwd_pid = 0;
	return ret;
}
/**
 * exec_write_resolv_conf() - write a resolv.conf naming the interceptor
 * @path:	file to (re)write, mode 0644
 * @gw4:	IPv4 gateway
 * @gw6:	IPv6 gateway, or NULL
 *
 * Return: 0, or -1 after printing why
 */
int exec_write_resolv_conf(const char *path, const struct prefix *gw4,
			   const struct prefix *gw6)
{
	char a4[INET6_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	autofclose FILE *f = NULL;

	if (!inet_ntop(AF_INET, gw4->addr, a4, sizeof(a4)) ||
	    (gw6 && !inet_ntop(AF_INET6, gw6->addr, a6, sizeof(a6))))
		return -1;
	f = fopen(path, "we");
	if (!f) {
		msg_err("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fchmod(fileno(f), 0644);
	fprintf(f, "# written by moat: DNS is answered by the sandbox's interceptor\n"
		   "nameserver %s\n", a4);
	if (gw6)
		fprintf(f, "nameserver %s\n", a6);
	fprintf(f, "options edns0\n");
	if (fflush(f)) {
		msg_err("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

