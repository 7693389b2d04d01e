// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * netns.c - named network namespaces (/run/netns/NAME, as ip-netns(8))
 *
 * Theory of operation
 * ===================
 *
 * A network namespace lives as long as something refers to it: a task, an
 * open descriptor, or a bind mount of its nsfs inode. moat keeps every
 * sandbox namespace alive with a bind mount at /run/netns/moat-NAME, exactly
 * as "ip netns add" does, so that ip-netns(8), nsenter(1) and container
 * tooling all see and can enter it, and so that it survives moat itself.
 *
 * netns_create() follows iproute2 step by step:
 *
 *   1. make sure the directory holding the namespace file exists, and that
 *      it is a mount point with shared propagation (MS_SHARED | MS_REC),
 *      bind-mounting it onto itself first if it is not a mount point yet.
 *      Shared propagation makes the bind mounts below, and their removal,
 *      visible in every mount namespace that is a peer of ours (for
 *      example the one of a runtime that later enters the sandbox), and
 *      lets an unmount here free the namespace everywhere;
 *   2. create the (empty) mount target with O_EXCL, so that an existing
 *      namespace is never replaced: -EEXIST;
 *   3. unshare(CLONE_NEWNET) in the calling thread, bind-mount
 *      /proc/thread-self/ns/net onto the target, and setns() straight back
 *      to the namespace saved before unsharing.
 *
 * Doing this in-process rather than in a forked child keeps creation cheap
 * (no fork of a possibly large process, no synchronisation) and needs
 * nothing but CAP_SYS_ADMIN, which moat has anyway. Only the calling thread
 * changes namespace (setns() and unshare() of CLONE_NEWNET are per-thread),
 * which is also why the saved and mounted descriptors are those of
 * /proc/thread-self, not /proc/self (the thread-group leader). Failing to
 * return to the original namespace would leave moat configuring the wrong
 * network, silently: that cannot happen short of a kernel bug, and if it
 * does we abort() rather than carry on. On any other failure, everything
 * done so far is undone and the target file removed.
 *
 * Mount namespaces: moat runs in, and mounts into, the mount namespace of
 * its caller. Tools such as "ip netns exec" run their command in a private
 * mount namespace (to remount /sys), where the bind mounts made here would
 * be invisible to everybody else and vanish with the command: moat must not
 * be run under "ip netns exec". Entering only a network namespace, as
 * "nsenter --net=/run/netns/X" does, is fine.
 *
 * Sysctls: the files under /proc/sys/net belong to the network namespace of
 * the task that opens them, and stay bound to it once open. netns_sysctl()
 * and netns_sysctl_read() therefore setns() into the target namespace, open
 * the file, setns() back, and only then read or write it (netns_open_in(),
 * which also opens /dev/net/tun for a sandbox's TAP device: link.c).
 * For many writes at once (a sandbox's creation), netns_sysctl_root() gives
 * the sys directory of a proc instance of moat's own, and netns_sysctl_at()
 * writes below it as the calling thread's current namespace sees it: the
 * shared proc mount's lookups of net/ipv4 grow with the number of
 * namespaces on the machine, a private instance's do not.
 *
 * Namespaces made by others ("moat attach": a container's): moat keeps
 * no reference to them, neither a descriptor nor a mount, so that such a
 * namespace ends when its owner is done with it. What stays known of one
 * is its identity, the device and inode of its nsfs file (struct
 * netns_ident, what "ip netns identify" compares), and the path it was
 * named by. netns_find() opens it again from that: the path first, if it
 * still leads to the same namespace, else the namespace of any process
 * (/proc/PID/ns/net) or any mount under /run/netns that has that
 * identity. An inode number is reused once its namespace is gone, and
 * soon (the kernel hands out the lowest free one): callers trust an
 * identity only while something else says the namespace lives (the
 * sandbox's interface in it). netns_run_in() runs a function with the
 * calling thread inside a namespace, for the libraries that open their
 * own sockets (libnftables).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/mount.h>
#include <linux/nsfs.h>

#include "netns.h"

#define NETNS_SELF	"/proc/thread-self/ns/net"
#define SYSCTL_ROOT	"/proc/sys/"

/**
 * netns_return() - go back to a saved network namespace, or abort
 * @orig:	descriptor of the namespace to return to
 *
 * Staying in another namespace would have every following operation of
 * moat act on the wrong network, without any sign of it: there is no way
 * to recover safely, so this aborts. It cannot fail unless the kernel
 * does, as we just left @orig with the same privileges.
 */
static void netns_return(int orig)
{
	if (setns(orig, CLONE_NEWNET))
		abort();
}

/**
 * netns_run_dir() - make a directory an existing, shared mount point
 * @dir:	directory, created with mode 0755 if missing (one level only)
 *
 * Return: 0 on success, -errno on failure
 */
static int netns_run_dir(const char *dir)
{
	bool bound = false;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;

	/* As ip-netns(8): mount --make-rshared DIR, upgrading DIR to a mount
	 * point with a recursive bind mount onto itself if it is not one
	 * (EINVAL).
	 */
	while (mount("", dir, "none", MS_SHARED | MS_REC, NULL)) {
		if (errno != EINVAL || bound)
			return -errno;
		if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL))
			return -errno;
		bound = true;
	}

	return 0;
}

/**
 * netns_create() - create a network namespace kept alive by a bind mount
 * @path:	mount target to create, such as /run/netns/moat-NAME: an
 *		absolute path, not directly under /
 *
 * The caller's own network namespace is unchanged on return. The new
 * namespace has only a loopback interface, down.
 *
 * Return: 0 on success, -EEXIST if @path exists, another -errno
 * on failure (nothing is left behind)
 */
int netns_create(const char *path)
{
	autoclose int orig = -1, fd = -1;
	char dir[PATH_MAX];
	char *slash;
	int rc;

	if (!path || !*path)
		return -EINVAL;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir || !slash[1] || dir[0] != '/')
		return -EINVAL;		/* never make "/" or "." rshared */
	*slash = '\0';

	rc = netns_run_dir(dir);
	if (rc)
		return rc;

	orig = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(steal_fd(&fd));

	if (unshare(CLONE_NEWNET)) {
		rc = -errno;
		goto undo;
	}

	rc = mount(NETNS_SELF, path, "none", MS_BIND, NULL) ? -errno : 0;
	netns_return(orig);
	if (rc)
		goto undo;

	return 0;

undo:
	unlink(path);
	return rc;
}

/**
 * netns_remove() - unmount and remove a namespace created by netns_create()
 * @path:	mount target
 *
 * The namespace itself goes away once no task, descriptor or other mount
 * refers to it any more. A missing @path, or a @path that is no longer a
 * mount point (a leftover of an interrupted creation), is not an error.
 *
 * Return: 0 on success, -errno on failure
 */
int netns_remove(const char *path)
{
	if (!path || !*path)
		return -EINVAL;

	if (umount2(path, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		return -errno;

	if (unlink(path) && errno != ENOENT)
		return -errno;

	return 0;
}

/**
 * netns_open() - open a network namespace for netns_enter() or setns()
 * @path:	namespace file, such as /run/netns/moat-NAME or /proc/PID/ns/net
 *
 * Return: close-on-exec descriptor, -errno on failure
 */
int netns_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/**
 * netns_enter() - move the calling thread into a network namespace
 * @nsfd:	descriptor from netns_open()
 *
 * Return: 0 on success, -errno on failure
 */
int netns_enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET) ? -errno : 0;
}

/**
 * netns_sysctl_path() - build the /proc/sys path of a sysctl key
 * @key:	"net/ipv4/ip_forward" (taken as a path as soon as it holds a
 *		'/': interface names may contain dots) or "net.ipv4.ip_forward"
 * @buf:	path buffer
 * @len:	size of @buf
 *
 * Return: 0 on success, -EINVAL for an empty, absolute or ".." key,
 * -ENAMETOOLONG if @buf is too small
 */
static int netns_sysctl_path(const char *key, char *buf, size_t len)
{
	bool slashes = strchr(key, '/');
	char *p;

	if (!*key || *key == '/' || *key == '.' || strstr(key, "..") ||
	    strstr(key, "//"))
		return -EINVAL;

	if (snprintf(buf, len, SYSCTL_ROOT "%s", key) >= (int)len)
		return -ENAMETOOLONG;

	if (!slashes) {
		for (p = buf + strlen(SYSCTL_ROOT); *p; p++) {
			if (*p == '.')
				*p = '/';
		}
	}

	return 0;
}

/**
 * netns_open_in() - open a file from inside a network namespace
 * @nsfd:	namespace descriptor, -1 for the current namespace
 * @path:	the file: one that belongs to the namespace of the task opening
 *		it, as /proc/sys/net files do, and /dev/net/tun, whose
 *		devices are created in the opener's namespace
 * @flags:	open(2) flags, O_CLOEXEC is added
 *
 * Return: descriptor on success, -errno on failure
 */
int netns_open_in(int nsfd, const char *path, int flags)
{
	autoclose int orig = -1;
	int fd, rc;

	if (nsfd < 0) {
		fd = open(path, flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}

	orig = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;

	if (setns(nsfd, CLONE_NEWNET))
		return -errno;

	fd = open(path, flags | O_CLOEXEC);
	rc = fd < 0 ? -errno : fd;
	netns_return(orig);

	return rc;
}

/**
 * netns_sysctl_open() - open a sysctl file as seen from a network namespace
 * @nsfd:	namespace descriptor, -1 for the current namespace
 * @key:	sysctl key, see netns_sysctl_path()
 * @flags:	open(2) flags, O_CLOEXEC is added
 *
 * Return: descriptor on success, -errno on failure
 */
static int netns_sysctl_open(int nsfd, const char *key, int flags)
{
	char path[PATH_MAX];
	int rc;

	rc = netns_sysctl_path(key, path, sizeof(path));
	if (rc)
		return rc;
	return netns_open_in(nsfd, path, flags);
}

/**
 * netns_sysctl_put() - write a value at the start of an open sysctl file
 * @fd:		the file
 * @val:	value, without trailing newline
 *
 * Return: 0 on success, -errno on failure (the kernel's error for a
 * rejected value, -EIO for a short write)
 */
static int netns_sysctl_put(int fd, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;

	n = pwrite(fd, val, len, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/**
 * netns_sysctl() - write a sysctl of a network namespace
 * @nsfd:	namespace descriptor, -1 for the current namespace
 * @key:	"net/ipv6/conf/all/disable_ipv6" or "net.ipv4.ip_forward": see
 *		netns_sysctl_path()
 * @val:	value to write, without trailing newline
 *
 * Return: 0 on success, -errno on failure (-ENOENT for an
 * unknown key, the kernel's error for a rejected value)
 */
int netns_sysctl(int nsfd, const char *key, const char *val)
{
	autoclose int fd = -1;

	fd = netns_sysctl_open(nsfd, key, O_WRONLY);
	if (fd < 0)
		return fd;
	return netns_sysctl_put(fd, val);
}

/**
 * netns_sysctl_root() - a /proc/sys of moat's own, for several writes
 *
 * Every network namespace that ever looked at its /proc/sys/net/ipv4 (or
 * ipv6) leaves a dentry of that name under the one /proc/sys/net of the
 * proc mount, all in the same hash chain, and each lookup of the name
 * walks the chain comparing every entry against the caller's namespace
 * (proc_sys_compare()): with a thousand sandboxes a path through
 * /proc/sys/net/ipv4 costs 0.1-0.9 ms. A proc instance of our own (a
 * detached mount: fsopen(), fsmount(); since Linux 5.8 each is a new
 * superblock with its own dentries) holds only what its user looked up,
 * at a constant 0.1 ms for the mount. Falls back to /proc/sys where the
 * mount is refused (no capability, older kernels, a seccomp filter). The
 * mount goes with the last descriptor; the lookups below the one
 * returned are made as the calling thread's current namespace sees them,
 * as with /proc/sys itself.
 *
 * Return: descriptor of the sys directory on success, -errno on failure
 */
int netns_sysctl_root(void)
{
	autoclose int fs = -1, mnt = -1;
	int fd;

	fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs >= 0 &&
	    !syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	fd = mnt >= 0 ? openat(mnt, "sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		      : -1;
	if (fd < 0)
		fd = open(SYSCTL_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/**
 * netns_sysctl_at() - write a sysctl under an open directory
 * @dirfd:	netns_sysctl_root(); the key is looked up as the calling
 *		thread's current namespace sees it
 * @key:	path below @dirfd, "net/ipv4/conf/eth0/rp_filter"
 * @val:	value to write, without trailing newline
 * @if_differs:	read first, and write only if the value is not @val
 *		already (for the settings whose every write costs the
 *		kernel a walk of all interfaces, changed or not)
 *
 * Return: 0 on success, -errno on failure (-ENOENT for an unknown key)
 */
int netns_sysctl_at(int dirfd, const char *key, const char *val,
		    bool if_differs)
{
	autoclose int fd = -1;
	size_t len = strlen(val);
	char cur[64];
	ssize_t n;

	if (*key == '/' || strstr(key, ".."))
		return -EINVAL;
	fd = openat(dirfd, key, (if_differs ? O_RDWR : O_WRONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (if_differs && len < sizeof(cur) - 1) {
		n = read(fd, cur, sizeof(cur) - 1);
		if (n < 0)
			return -errno;
		cur[n] = 0;
		if ((size_t)n == len + 1 && cur[len] == '\n' &&
		    !strncmp(cur, val, len))
			return 0;
	}
	return netns_sysctl_put(fd, val);
}

/**
 * netns_sysctl_read() - read a sysctl of a network namespace
 * @nsfd:	namespace descriptor, -1 for the current namespace
 * @key:	sysctl key, see netns_sysctl_path()
 * @buf:	buffer for the value, NUL-terminated, trailing newline removed
 * @len:	size of @buf
 *
 * Return: 0 on success, -EOVERFLOW if the value does not fit in @buf,
 * another -errno on failure
 */
int netns_sysctl_read(int nsfd, const char *key, char *buf, size_t len)
{
	autoclose int fd = -1;
	size_t got = 0;
	ssize_t n;

	if (!len)
		return -EINVAL;

	fd = netns_sysctl_open(nsfd, key, O_RDONLY);
	if (fd < 0)
		return fd;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			break;
		got += n;
	}

	if (got == len) {
		buf[0] = '\0';
		return -EOVERFLOW;
	}

	buf[got] = '\0';
	while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';

	return 0;
}

/**
 * netns_open_net() - open a file that must be a network namespace
 * @path:	/proc/PID/ns/net, a bind mount such as /run/netns/NAME, or any
 *		other nsfs file
 *
 * Return: close-on-exec descriptor, -EINVAL if @path is not a network
 * namespace, another -errno (-ENOENT: no such file or process)
 */
int netns_open_net(const char *path)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	int type;

	if (fd < 0)
		return -errno;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return errno == ENOTTY ? -EINVAL : -errno;
	if (type != CLONE_NEWNET)
		return -EINVAL;
	return steal_fd(&fd);
}

/**
 * netns_ident_fd() - identity of an open namespace
 * @fd:		namespace descriptor
 * @id:		filled in
 *
 * Return: 0, or -errno
 */
int netns_ident_fd(int fd, struct netns_ident *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	return 0;
}

/**
 * netns_ident_path() - identity of a namespace file
 * @path:	namespace file, NULL for the calling thread's own namespace
 * @id:		filled in
 *
 * Return: 0, or -errno
 */
int netns_ident_path(const char *path, struct netns_ident *id)
{
	struct stat st;

	if (stat(path ? path : NETNS_SELF, &st))
		return -errno;
	id->dev = (unsigned long long)st.st_dev;
	id->ino = (unsigned long long)st.st_ino;
	return 0;
}

/**
 * netns_ident_eq() - whether two identities are the same namespace's
 * @a:		identity
 * @b:		identity
 *
 * Return: true if they are, false if not (or if either is unset)
 */
bool netns_ident_eq(const struct netns_ident *a, const struct netns_ident *b)
{
	return a->ino && a->dev == b->dev && a->ino == b->ino;
}

/**
 * netns_try() - open a namespace file if it has the given identity
 * @path:	file
 * @id:		identity wanted
 *
 * Return: descriptor, or -ENOENT if @path is not (or no longer) that
 * namespace
 */
static int netns_try(const char *path, const struct netns_ident *id)
{
	struct netns_ident got;
	autoclose int fd = -1;

	if (netns_ident_path(path, &got) || !netns_ident_eq(id, &got))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* the file may have changed between stat() and open() */
	if (fd < 0 || netns_ident_fd(fd, &got) || !netns_ident_eq(id, &got))
		return -ENOENT;
	return steal_fd(&fd);
}

/**
 * netns_find() - open a namespace again by its identity
 * @hint:	where it was last seen (a path), or NULL
 * @id:		its identity
 *
 * Looks at @hint, then at the mounts in NETNS_RUN_DIR, then at every
 * process's /proc/PID/ns/net. The descriptor returned keeps the namespace
 * alive: close it when done.
 *
 * Return: close-on-exec descriptor, or -ENOENT if no file of that
 * identity is found (the namespace is gone, or only a mount elsewhere or
 * a descriptor holds it), another -errno
 */
int netns_find(const char *hint, const struct netns_ident *id)
{
	static const char *const dirs[] = { NETNS_RUN_DIR, "/proc" };
	char path[PATH_MAX];
	struct dirent *de;
	size_t k;
	int fd;

	if (!id->ino)
		return -ENOENT;
	if (hint && *hint && (fd = netns_try(hint, id)) >= 0)
		return fd;
	for (k = 0; k < ARRAY_SIZE(dirs); k++) {
		DIR *d = opendir(dirs[k]);

		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' ||
			    (k == 1 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
				continue;
			if (k)
				snprintf(path, sizeof(path), "/proc/%s/ns/net",
					 de->d_name);
			else
				snprintf(path, sizeof(path), "%s/%s", dirs[k],
					 de->d_name);
			fd = netns_try(path, id);
			if (fd >= 0) {
				closedir(d);
				return fd;
			}
		}
		closedir(d);
	}
	return -ENOENT;
}

/**
 * netns_run_in() - call a function with the calling thread in a namespace
 * @nsfd:	namespace descriptor
 * @fn:		function; whatever sockets it opens belong to @nsfd's namespace
 * @arg:	its argument
 *
 * Return: @fn's return value, or -errno if the namespace cannot be entered
 */
int netns_run_in(int nsfd, int (*fn)(void *), void *arg)
{
	autoclose int orig = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
	int ret;

	if (orig < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET))
		return -errno;
	ret = fn(arg);
	netns_return(orig);
	return ret;
}
