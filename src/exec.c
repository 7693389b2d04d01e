// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * exec.c - running a command inside a sandbox, without privileges
 *
 * Theory of operation
 * -------------------
 * A command is started in the sandbox's network namespace and sees the
 * host's file system, as with "ip netns exec" (runtimes that want more
 * isolation bring their own namespaces and hand moat their network
 * namespace instead). Before exec(), in this order:
 *
 *   1. setns() into the sandbox's network namespace, then a private mount
 *      namespace (mounts propagate from the host into it, never back) in
 *      which /sys is a fresh sysfs, so that /sys/class/net shows the
 *      sandbox's interfaces and not the host's, and /etc/resolv.conf is
 *      the sandbox's own, naming its DNS interceptor on the gateway (the
 *      host's may name a loopback resolver such as 127.0.0.53, which the
 *      sandbox's own loopback does not have);
 *   2. the capability bounding set and the ambient set are emptied, so
 *      nothing exec'd later can regain a capability, even a set-uid binary;
 *   3. supplementary groups, then GID, then UID are set to the target user
 *      (--user, else the user who ran sudo, else the caller);
 *   4. for a target of UID 0, the securebits NOROOT and NO_SETUID_FIXUP are
 *      set and locked, and every capability set is cleared: root keeps its
 *      UID (file ownership) but no capability in the host user namespace;
 *   5. no_new_privs is set (I7);
 *   6. every descriptor above 2 is closed on exec.
 *
 * Any failure is fatal before exec(): the command never runs with more
 * than it should.
 */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <pwd.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/securebits.h>
#include <sys/capability.h>

#include "err.h"
#include "exec.h"
#include "netns.h"

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

/**
 * exec_drop_privileges() - steps 2 to 6 of the theory of operation
 * @u:		target user
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
	if (*u->name && !u->explicit_gid) {
		if (initgroups(u->name, u->gid)) {
			msg_err("cannot set the groups of %s: %s", u->name,
				strerror(errno));
			return -1;
		}
	} else if (setgroups(0, NULL)) {
		msg_err("cannot drop supplementary groups: %s", strerror(errno));
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
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) && errno != EINVAL) {
		msg_err("close_range: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/**
 * exec_mount_ns() - private mount namespace with the sandbox's /sys
 * @resolv:	file to bind-mount on /etc/resolv.conf, or NULL
 *
 * Must run after setns() into the network namespace: a sysfs mount shows
 * the network namespace of the process that mounts it.
 *
 * Return: 0, or -1 after printing what failed
 */
static int exec_mount_ns(const char *resolv)
{
	if (unshare(CLONE_NEWNS)) {
		msg_err("cannot create a mount namespace: %s", strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL)) {
		msg_err("cannot make / a slave mount: %s", strerror(errno));
		return -1;
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
	if (resolv && mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL)) {
		msg_err("cannot mount the sandbox's resolv.conf: %s",
			strerror(errno));
		return -1;
	}
	return 0;
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

/**
 * exec_enter() - run a command in a sandbox; returns only on failure
 * @netns:	path of the sandbox's network namespace
 * @resolv:	the sandbox's resolv.conf (exec_write_resolv_conf()), or NULL
 * @u:		target user
 * @argv:	command and arguments
 *
 * Return: exit status for moat when the command could not be started:
 *	   125 if moat failed, 126 if the command is not executable, 127 if
 *	   it was not found (as Podman and env(1) do)
 */
int exec_enter(const char *netns, const char *resolv,
	       const struct exec_user *u, char *const argv[])
{
	int fd, err;

	fd = netns_open(netns);
	if (fd < 0) {
		msg_err("cannot open %s: %s", netns, strerror(-fd));
		return MOAT_EXIT_FAILURE;
	}
	err = netns_enter(fd);
	close(fd);
	if (err) {
		msg_err("cannot enter %s: %s", netns, strerror(-err));
		return MOAT_EXIT_FAILURE;
	}
	if (exec_mount_ns(resolv) || exec_drop_privileges(u))
		return MOAT_EXIT_FAILURE;
	execvp(argv[0], argv);
	err = errno;
	msg_err("%s: %s", argv[0], strerror(err));
	return err == ENOENT ? 127 : 126;
}
