// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * state.c - moat's state on the host: run directory, lock, sandbox records
 *
 * Theory of operation
 * -------------------
 * There is no daemon. What moat knows of its sandboxes lives in a run
 * directory (/run/moat by default, a tmpfs: state does not survive a
 * reboot, and neither do namespaces or nftables rules):
 *
 *   /run/moat/lock                      flock(2): serialises allocation,
 *                                       set-up and tear-down bookkeeping
 *   /run/moat/next-index                where the next allocation starts
 *   /run/moat/sandboxes/NAME/state.json the record (struct sb_state)
 *   /run/moat/sandboxes/NAME/policy.yaml the effective, normalised policy
 *   /run/moat/sandboxes/NAME/ctl.sock   the supervisor's control socket
 *   /run/moat/sandboxes/NAME/degraded   present while moat's rules for it
 *                                       are absent (a firewall reload) and
 *                                       its supervisor restores them
 *
 * The namespace of a sandbox "moat create" made is its own, at
 * /run/netns/moat-NAME. That of an attached sandbox ("moat attach") is
 * someone else's: the record names the path it was given (the first place
 * to look for it again) and its identity (device and inode), and marks it
 * "attached", which tear-down reads as "leave the namespace alone".
 *
 * A record is written, atomically by rename(2), before anything is set up,
 * with "complete": false; so whatever happens to the process creating it,
 * "moat rm -f" knows what to remove. Addresses are derived from the index:
 * sandbox N owns the N-th /30 of the IPv4 pool (gateway .1, sandbox .2) and
 * the N-th /64 of the IPv6 pool (gateway ::1, sandbox ::2). An index is
 * free when no record holds it; allocation happens under the lock, round
 * the pool (state_alloc_index()).
 *
 * So that allocation does not read every record (a creation with 1000
 * sandboxes present would read 1000 files), the run directory also keeps
 * which record holds which index:
 *
 *   /run/moat/index/N                   symlink to NAME: the record of
 *                                       NAME holds index N
 *
 * state_write() makes the link for a record with a network,
 * state_remove() takes it away. The directory is built once from all
 * records, when allocation finds it missing (a run directory of an older
 * moat), and made visible whole by rename(2). A link is a hint that the
 * allocator checks against the record it names (stale ones, of a record
 * gone or rewritten, are ignored and removed); a missing link means free.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/magic.h>

#include <jansson.h>

#include "err.h"
#include "state.h"

static int state_lock_op(const struct moat_config *c, int op);
static void state_index_clear(const char *dir);

/**
 * mkdir_p() - create a directory and its parents, mode 0755
 * @path:	directory
 *
 * Return: 0 or -errno
 */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/**
 * state_config_load() - read host-wide settings from the environment
 * @c:		filled in
 * @err:	set to a message (caller frees) on failure
 *
 * MOAT_RUN_DIR, MOAT_POOL4 and MOAT_POOL6 override the defaults.
 *
 * Return: 0, or -1 with @err set
 */
int state_config_load(struct moat_config *c, char **err)
{
	const char *rd = getenv("MOAT_RUN_DIR");
	const char *p4 = getenv("MOAT_POOL4");
	const char *p6 = getenv("MOAT_POOL6");

	*err = NULL;
	memset(c, 0, sizeof(*c));
	if (!rd || !*rd)
		rd = STATE_RUN_DIR_DEFAULT;
	if (rd[0] != '/' || strlen(rd) >= sizeof(c->run_dir) - 64) {
		*err = xasprintf("MOAT_RUN_DIR '%s': must be an absolute path "
				 "shorter than %zu characters", rd,
				 sizeof(c->run_dir) - 64);
		return -1;
	}
	strcpy(c->run_dir, rd);

	if (!p4 || !*p4)
		p4 = STATE_POOL4_DEFAULT;
	if (prefix_parse(p4, &c->pool4, true) || c->pool4.family != AF_INET ||
	    c->pool4.plen > 30 || c->pool4.plen < 8) {
		*err = xasprintf("MOAT_POOL4 '%s': expected an IPv4 prefix "
				 "between /8 and /30 with no host bits set", p4);
		return -1;
	}
	if (!p6 || !*p6)
		p6 = STATE_POOL6_DEFAULT;
	if (prefix_parse(p6, &c->pool6, true) || c->pool6.family != AF_INET6 ||
	    c->pool6.plen > 64 || c->pool6.plen < 32) {
		*err = xasprintf("MOAT_POOL6 '%s': expected an IPv6 prefix "
				 "between /32 and /64 with no host bits set", p6);
		return -1;
	}
	return 0;
}

/**
 * state_lock() - take the global lock, creating the run directory
 * @c:		settings
 *
 * Return: the lock descriptor (release with state_unlock()), or -errno
 */
int state_lock(const struct moat_config *c)
{
	return state_lock_op(c, LOCK_EX);
}

/**
 * state_trylock() - take the global lock if it is free
 * @c:		settings
 *
 * For a supervisor, which must not block its event loop (nor a "moat rm"
 * that holds the lock while it stops that supervisor).
 *
 * Return: descriptor to pass to state_unlock(), -EWOULDBLOCK if another
 *	   process holds the lock, or another -errno
 */
int state_trylock(const struct moat_config *c)
{
	return state_lock_op(c, LOCK_EX | LOCK_NB);
}

/**
 * state_lock_op() - open the lock file and flock(2) it
 * @c:		settings
 * @op:		LOCK_EX, with LOCK_NB or not
 *
 * Return: descriptor, or -errno
 */
static int state_lock_op(const struct moat_config *c, int op)
{
	char path[PATH_MAX];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/sandboxes", c->run_dir);
	ret = mkdir_p(path);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/lock", c->run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, op)) {
		if (errno == EINTR)
			continue;
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/**
 * state_unlock() - release the global lock
 * @fd:		descriptor from state_lock(), ignored if negative
 */
void state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/**
 * state_dir() - directory of a sandbox's record
 * @c:		settings
 * @name:	sandbox name
 *
 * Return: path, to be freed by the caller
 */
char *state_dir(const struct moat_config *c, const char *name)
{
	return xasprintf("%s/sandboxes/%s", c->run_dir, name);
}

/**
 * state_path() - path of a file in a sandbox's directory
 * @c:		settings
 * @name:	sandbox name
 * @file:	file name
 *
 * Return: path, to be freed by the caller
 */
char *state_path(const struct moat_config *c, const char *name,
		 const char *file)
{
	return xasprintf("%s/sandboxes/%s/%s", c->run_dir, name, file);
}

/**
 * state_name_valid() - check a sandbox name
 * @name:	name
 *
 * Names are 1 to MOAT_NAME_MAX characters of [A-Za-z0-9_.-], starting
 * with a letter or digit, so they are safe as file and namespace names.
 *
 * Return: true if valid
 */
bool state_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > MOAT_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = name[i];

		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return false;
	}
	return true;
}

/**
 * pfx_json() - a prefix as a JSON string without its length, or null
 * @p:		prefix (family 0: none)
 *
 * Return: new JSON value
 */
static json_t *pfx_json(const struct prefix *p)
{
	char buf[INET6_ADDRSTRLEN];

	if (!p->family || !inet_ntop(p->family, p->addr, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

/**
 * state_tap_json() - a sandbox's TAP device and its guest, or null
 * @s:		record
 *
 * Return: new JSON value: {"name", "owner_uid", "guest_mac",
 *	   "guest_ipv4", "guest_ipv6"} (the guest's addresses are the
 *	   sandbox's), or null without a TAP
 */
static json_t *state_tap_json(const struct sb_state *s)
{
	char mac[ADDR_MAC_STRLEN];

	if (!*s->tap)
		return json_null();
	return json_pack("{s:s,s:I,s:s,s:o,s:o}", "name", s->tap,
			 "owner_uid", (json_int_t)s->tap_owner,
			 "guest_mac", addr_mac_format(s->guest_mac, mac),
			 "guest_ipv4", pfx_json(&s->addr4),
			 "guest_ipv6", s->has_v6 ? pfx_json(&s->addr6) : json_null());
}

/**
 * state_tap_read() - read the "tap" field of a record
 * @o:		record
 * @s:		its @tap, @tap_owner and @guest_mac set (left empty if null)
 *
 * Return: 0, or -1 if malformed
 */
static int state_tap_read(json_t *o, struct sb_state *s)
{
	json_t *t = json_object_get(o, "tap"), *v;
	const char *str;

	if (!t || json_is_null(t))
		return 0;
	str = json_string_value(json_object_get(t, "name"));
	v = json_object_get(t, "owner_uid");
	if (!str || !*str || strlen(str) >= sizeof(s->tap) || !json_is_integer(v) ||
	    json_integer_value(v) < 0 || json_integer_value(v) >= (uid_t)-1)
		return -1;
	strcpy(s->tap, str);
	s->tap_owner = (uid_t)json_integer_value(v);
	str = json_string_value(json_object_get(t, "guest_mac"));
	if (!str || addr_mac_parse(str, s->guest_mac))
		return -1;
	return 0;
}

/**
 * state_to_json() - a record as the JSON object moat stores and prints
 * @s:		record
 *
 * Return: new JSON object
 */
json_t *state_to_json(const struct sb_state *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "index", json_integer(s->idx));
	json_object_set_new(o, "instance", json_integer(s->instance));
	json_object_set_new(o, "netns", json_string(s->netns));
	json_object_set_new(o, "network", json_string(s->mode));
	json_object_set_new(o, "host_interface",
			    s->has_net ? json_string(s->ifname) : json_null());
	json_object_set_new(o, "ipv4", s->has_net ? pfx_json(&s->addr4) : json_null());
	json_object_set_new(o, "gateway4", s->has_net ? pfx_json(&s->gw4) : json_null());
	json_object_set_new(o, "ipv6", s->has_v6 ? pfx_json(&s->addr6) : json_null());
	json_object_set_new(o, "gateway6", s->has_v6 ? pfx_json(&s->gw6) : json_null());
	json_object_set_new(o, "supervisor_pid", json_integer(s->supervisor_pid));
	json_object_set_new(o, "supervisor_start",
			    json_integer((json_int_t)s->supervisor_start));
	json_object_set_new(o, "adoptions", json_integer(s->adoptions));
	json_object_set_new(o, "run_pid", json_integer(s->run_pid));
	json_object_set_new(o, "run_start",
			    json_integer((json_int_t)s->run_start));
	json_object_set_new(o, "created", json_integer(s->created));
	json_object_set_new(o, "complete", json_boolean(s->complete));
	json_object_set_new(o, "run_mode", json_boolean(s->run_mode));
	json_object_set_new(o, "proxy", json_boolean(s->proxy));
	json_object_set_new(o, "attached", json_boolean(s->attached));
	json_object_set_new(o, "inside_interface",
			    s->has_net ? json_string(s->inner) : json_null());
	json_object_set_new(o, "netns_dev", s->attached ?
			    json_integer((json_int_t)s->netns_dev) : json_null());
	json_object_set_new(o, "netns_inode", s->attached ?
			    json_integer((json_int_t)s->netns_ino) : json_null());
	json_object_set_new(o, "tap", state_tap_json(s));
	return o;
}

/**
 * state_index_link() - record that sandbox @name holds index @idx
 * @c:		settings
 * @dir:	directory in the run directory (STATE_INDEX_DIR, or the one
 *		being built)
 * @idx:	index
 * @name:	sandbox name
 *
 * Nothing is done while the directory does not exist: allocation builds
 * it from the records when it first needs it.
 *
 * Return: 0 or -errno
 */
static int state_index_link(const struct moat_config *c, const char *dir,
			    unsigned idx, const char *name)
{
	autofree char *p = xasprintf("%s/%s/%u", c->run_dir, dir, idx);
	autofree char *tmp = xasprintf("%s.tmp", p);
	char cur[MOAT_NAME_MAX + 2];
	ssize_t n = readlink(p, cur, sizeof(cur) - 1);

	if (n > 0 && (size_t)n == strlen(name) && !memcmp(cur, name, (size_t)n))
		return 0;
	unlink(tmp);
	if (symlink(name, tmp))
		return errno == ENOENT ? 0 : -errno;
	if (rename(tmp, p)) {
		int e = -errno;

		unlink(tmp);
		return e;
	}
	return 0;
}

/**
 * state_index_holder() - which record the link of index @idx names
 * @c:		settings
 * @idx:	index
 * @name:	set to the name, if any
 *
 * Return: true if a record with that name exists and holds @idx (a stale
 *	   link is removed)
 */
static bool state_index_holder(const struct moat_config *c, unsigned idx,
			       char name[MOAT_NAME_MAX + 1])
{
	autofree char *p = xasprintf("%s/%s/%u", c->run_dir, STATE_INDEX_DIR,
				     idx);
	ssize_t n = readlink(p, name, MOAT_NAME_MAX);
	struct sb_state s;

	if (n <= 0)
		return false;
	name[n] = 0;
	if (state_name_valid(name) && !state_read(c, name, &s) &&
	    s.has_net && s.idx == idx)
		return true;
	unlink(p);
	return false;
}

/**
 * state_index_build() - build the index links from every record, once
 * @c:		settings
 * @size:	pool size
 *
 * Return: 0 if the directory exists (now), or -errno
 */
static int state_index_build(const struct moat_config *c, unsigned size)
{
	autofree char *dir = xasprintf("%s/%s", c->run_dir, STATE_INDEX_DIR);
	autofree char *tmp = xasprintf("%s.new", dir);
	char (*names)[MOAT_NAME_MAX + 1];
	struct stat st;
	size_t n, k;
	int ret;

	if (!stat(dir, &st))
		return 0;
	ret = state_list(c, &names, &n);
	if (!ret) {
		state_index_clear(tmp);
		if (mkdir(tmp, 0700) && errno != EEXIST)
			ret = -errno;
	}
	for (k = 0; !ret && k < n; k++) {
		struct sb_state s;

		if (state_read(c, names[k], &s) || !s.has_net || s.idx >= size)
			continue;
		ret = state_index_link(c, STATE_INDEX_DIR ".new", s.idx,
				       names[k]);
	}
	free(names);
	if (!ret && rename(tmp, dir))
		ret = -errno;
	return ret;
}

/**
 * state_write() - store a record atomically
 * @c:		settings
 * @s:		record
 *
 * Return: 0 or -errno
 */
int state_write(const struct moat_config *c, const struct sb_state *s)
{
	autofree char *dir = state_dir(c, s->name);
	autofree char *tmp = state_path(c, s->name, "state.json.tmp");
	autofree char *path = state_path(c, s->name, "state.json");
	json_t *o = state_to_json(s);
	int ret;

	ret = mkdir_p(dir);
	if (ret) {
		json_decref(o);
		return ret;
	}
	ret = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (ret)
		return -EIO;
	if (rename(tmp, path))
		return -errno;
	return s->has_net ? state_index_link(c, STATE_INDEX_DIR, s->idx,
					     s->name) : 0;
}

/**
 * json_pfx() - read an address field of a record
 * @o:		object
 * @key:	field
 * @family:	AF_INET or AF_INET6
 * @p:		set to the address (full-length prefix), zeroed if null
 *
 * Return: 0, or -1 if malformed
 */
static int json_pfx(json_t *o, const char *key, int family, struct prefix *p)
{
	json_t *v = json_object_get(o, key);

	memset(p, 0, sizeof(*p));
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || addr_parse(json_string_value(v), p) ||
	    p->family != family)
		return -1;
	return 0;
}

/**
 * state_read() - load a record
 * @c:		settings
 * @name:	sandbox name
 * @s:		filled in
 *
 * Return: 0, -ENOENT if there is no such sandbox, -EINVAL if the record
 *	   is unreadable
 */
int state_read(const struct moat_config *c, const char *name,
	       struct sb_state *s)
{
	autofree char *path = state_path(c, name, "state.json");
	json_t *o, *v;
	const char *str;
	int ret = -EINVAL;

	memset(s, 0, sizeof(*s));
	if (!state_name_valid(name))
		return -ENOENT;
	if (access(path, F_OK))
		return -errno == -ENOENT ? -ENOENT : -errno;
	o = json_load_file(path, 0, NULL);
	if (!o)
		return -EINVAL;

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->idx = json_integer_value(json_object_get(o, "index"));
	s->instance = (uint32_t)json_integer_value(json_object_get(o, "instance"));
	str = json_string_value(json_object_get(o, "netns"));
	if (!str || strlen(str) >= sizeof(s->netns))
		goto out;
	strcpy(s->netns, str);
	str = json_string_value(json_object_get(o, "network"));
	snprintf(s->mode, sizeof(s->mode), "%s", str ? str : "filtered");
	v = json_object_get(o, "host_interface");
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) >= sizeof(s->ifname))
			goto out;
		strcpy(s->ifname, json_string_value(v));
		s->has_net = true;
	}
	if (json_pfx(o, "ipv4", AF_INET, &s->addr4) ||
	    json_pfx(o, "gateway4", AF_INET, &s->gw4) ||
	    json_pfx(o, "ipv6", AF_INET6, &s->addr6) ||
	    json_pfx(o, "gateway6", AF_INET6, &s->gw6))
		goto out;
	s->has_v6 = s->addr6.family == AF_INET6;
	s->supervisor_pid = json_integer_value(json_object_get(o, "supervisor_pid"));
	s->supervisor_start = json_integer_value(json_object_get(o, "supervisor_start"));
	s->adoptions = (unsigned)json_integer_value(json_object_get(o, "adoptions"));
	s->run_pid = (pid_t)json_integer_value(json_object_get(o, "run_pid"));
	s->run_start = json_integer_value(json_object_get(o, "run_start"));
	s->created = json_integer_value(json_object_get(o, "created"));
	s->complete = json_is_true(json_object_get(o, "complete"));
	s->run_mode = json_is_true(json_object_get(o, "run_mode"));
	s->proxy = json_is_true(json_object_get(o, "proxy"));
	s->attached = json_is_true(json_object_get(o, "attached"));
	str = json_string_value(json_object_get(o, "inside_interface"));
	if (str && (!*str || strlen(str) >= sizeof(s->inner)))
		goto out;
	snprintf(s->inner, sizeof(s->inner), "%s", str ? str : STATE_INNER_DEFAULT);
	s->netns_dev = (unsigned long long)json_integer_value(json_object_get(o, "netns_dev"));
	s->netns_ino = (unsigned long long)json_integer_value(json_object_get(o, "netns_inode"));
	if (state_tap_read(o, s))
		goto out;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

/**
 * name_cmp() - qsort() comparator for sandbox names
 * @a:		name
 * @b:		name
 *
 * Return: strcmp() order
 */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/**
 * state_list() - names of every sandbox with a directory, sorted
 * @c:		settings
 * @names:	set to an array the caller frees
 * @n:		set to the number of names
 *
 * Return: 0 or -errno
 */
int state_list(const struct moat_config *c, char (**names)[MOAT_NAME_MAX + 1],
	       size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t cap = 16;
	DIR *d;

	*n = 0;
	*names = xcalloc(cap, sizeof(**names));
	snprintf(path, sizeof(path), "%s/sandboxes", c->run_dir);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!state_name_valid(de->d_name))
			continue;
		if (*n == cap) {
			cap *= 2;
			*names = xrealloc(*names, cap * sizeof(**names));
		}
		/* state_name_valid() bounded the length */
		memcpy((*names)[(*n)++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
}

/**
 * state_remove() - delete a sandbox's directory and what it holds
 * @c:		settings
 * @name:	sandbox name
 *
 * Return: 0 or -errno (a missing directory is not an error)
 */
int state_remove(const struct moat_config *c, const char *name)
{
	autofree char *dir = state_dir(c, name);
	struct dirent *de;
	struct sb_state s;
	bool had_net = !state_read(c, name, &s) && s.has_net;
	DIR *d;
	int ret = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (unlink(p) && errno != ENOENT)
			ret = -errno;
		free(p);
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		ret = -errno;
	if (!ret && had_net) {
		char holder[MOAT_NAME_MAX + 1];

		state_index_holder(c, s.idx, holder);	/* now stale: unlinked */
	}
	return ret;
}

/**
 * state_index_clear() - remove a directory of index links, if any
 * @dir:	its path
 */
static void state_index_clear(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

/**
 * state_pool_size() - number of sandbox slots in the pools
 * @c:		settings
 *
 * Return: slots, the smaller of the IPv4 /30s and IPv6 /64s, capped
 */
static unsigned state_pool_size(const struct moat_config *c)
{
	unsigned long long n4 = 1ULL << (32 - c->pool4.plen - 2);
	unsigned long long n6 = 1ULL << (64 - c->pool6.plen);
	unsigned long long n = n4 < n6 ? n4 : n6;

	return n > 1000000 ? 1000000 : (unsigned)n;
}

/**
 * state_alloc_index() - find a free index; call under the lock
 * @c:		settings
 * @idx:	set to the index
 *
 * Indexes are handed out round the pool, from the one after the last
 * allocated (STATE_NEXT_FILE in the run directory), not lowest first: a
 * just-freed address and interface name go to a new sandbox only once
 * the rest of the pool has been used. (A connection of the sandbox that
 * had them would not serve the new one anyway: see nft.c's instance
 * marks.)
 *
 * Return: 0, or -ENOSPC if the pool is exhausted, or -errno
 */
int state_alloc_index(const struct moat_config *c, unsigned *idx)
{
	unsigned size = state_pool_size(c), i, start = 0;
	autofree char *next = xasprintf("%s/%s", c->run_dir, STATE_NEXT_FILE);
	char holder[MOAT_NAME_MAX + 1];
	int ret;

	ret = state_index_build(c, size);
	if (ret)
		return ret;
	{
		autofclose FILE *f = fopen(next, "re");

		if (f && fscanf(f, "%u", &start) != 1)
			start = 0;
		if (start >= size)
			start = 0;
	}
	ret = -ENOSPC;
	for (i = 0; i < size; i++) {
		unsigned j = (start + i) % size;

		if (!state_index_holder(c, j, holder)) {
			*idx = j;
			ret = 0;
			break;
		}
	}
	if (!ret) {
		autofree char *tmp = xasprintf("%s.tmp", next);
		autofclose FILE *f = fopen(tmp, "we");

		/* best effort: losing it only means starting again at 0 */
		if (f && fprintf(f, "%u\n", (*idx + 1) % size) > 0 &&
		    !fflush(f))
			rename(tmp, next);
	}
	return ret;
}

/**
 * state_addresses() - derive a sandbox's addresses from its index
 * @c:		settings
 * @s:		record with @idx set; addresses are filled in
 */
void state_addresses(const struct moat_config *c, struct sb_state *s)
{
	uint32_t base, net;
	unsigned shift, k;
	uint64_t sub;

	memcpy(&base, c->pool4.addr, 4);
	net = ntohl(base) + 4 * s->idx;
	memset(&s->gw4, 0, sizeof(s->gw4));
	s->gw4.family = AF_INET;
	s->gw4.plen = 32;
	s->addr4 = s->gw4;
	base = htonl(net + 1);
	memcpy(s->gw4.addr, &base, 4);
	base = htonl(net + 2);
	memcpy(s->addr4.addr, &base, 4);

	/* the index fills bits plen..63 of the IPv6 pool */
	memset(&s->gw6, 0, sizeof(s->gw6));
	s->gw6.family = AF_INET6;
	s->gw6.plen = 128;
	memcpy(s->gw6.addr, c->pool6.addr, 8);
	shift = 64 - c->pool6.plen;
	sub = 0;
	for (k = 0; k < 8; k++)
		sub = (sub << 8) | s->gw6.addr[k];
	sub |= (uint64_t)s->idx & ((shift >= 64) ? ~0ULL : ((1ULL << shift) - 1));
	for (k = 0; k < 8; k++)
		s->gw6.addr[7 - k] = (sub >> (8 * k)) & 0xff;
	s->addr6 = s->gw6;
	s->gw6.addr[15] = 1;
	s->addr6.addr[15] = 2;
}

/**
 * state_proc_stat() - state and start time of a process, from /proc/PID/stat
 * @pid:	process
 * @state:	set to field 3 ('R', 'S', ..., 'Z' for a zombie), or NULL
 * @start:	set to field 22, clock ticks since boot
 *
 * Return: 0, or -errno (-ENOENT if there is no such process)
 */
static int state_proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024];
	autoclose int fd = -1;
	ssize_t n;
	char *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	if (state)
		*state = p[2];
	/* after ") " comes field 3 (state); start time is field 22 */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	*start = strtoull(p + 1, NULL, 10);
	return 0;
}

/**
 * state_proc_starttime() - start time of a process, from /proc/PID/stat
 * @pid:	process
 * @start:	set to field 22, clock ticks since boot
 *
 * Return: 0, or -errno (-ENOENT if there is no such process)
 */
int state_proc_starttime(pid_t pid, unsigned long long *start)
{
	return state_proc_stat(pid, NULL, start);
}

/**
 * state_proc_alive() - whether a process is the one a record names
 * @pid:	process ID, 0 or less for none
 * @start:	its start time as recorded (state_proc_starttime())
 *
 * A zombie is not alive: a supervisor killed while "moat run", its
 * parent, waits for its command stays one until moat run exits.
 *
 * Return: true if @pid runs and started at @start (not a reused PID)
 */
bool state_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long st;
	char state;

	return pid > 0 && !state_proc_stat(pid, &state, &st) && st == start &&
	       state != 'Z' && state != 'X';
}

/**
 * state_supervisor_alive() - whether a sandbox's supervisor runs
 * @s:		record
 *
 * Return: true if the process the record names runs
 */
bool state_supervisor_alive(const struct sb_state *s)
{
	return state_proc_alive(s->supervisor_pid, s->supervisor_start);
}

/**
 * state_netns_gone() - whether a sandbox's named network namespace is gone
 * @s:		record
 *
 * Return: true if @s->netns is not a namespace (nsfs) mount any more
 */
static bool state_netns_gone(const struct sb_state *s)
{
	struct statfs sf;

	return statfs(s->netns, &sf) || sf.f_type != NSFS_MAGIC;
}

/**
 * state_status_why() - a sandbox's status from its record and processes
 * @s:		record
 * @why:	set to the reason for degraded or dead (SB_WHY_*), else NULL;
 *		may be NULL
 *
 * Creating while the record is not complete; running while its
 * supervisor runs; degraded when it does not ("moat adopt" gives it a
 * new one); dead when, besides, its network namespace or its host
 * interface (looked up in the caller's network namespace: moat's) is
 * gone. An attached sandbox's namespace is not looked at: the path it
 * was named by may be a process's that has ended while others hold the
 * namespace; its interface lives exactly as long as the namespace (or
 * until someone deletes it). Whether moat's rules are present is
 * guard_status()'s part.
 *
 * Return: status
 */
enum sb_status state_status_why(const struct sb_state *s, const char **why)
{
	const char *w = NULL;
	enum sb_status st;

	if (!s->complete)
		st = SB_CREATING;
	else if (state_supervisor_alive(s))
		st = SB_RUNNING;
	else if (!s->attached && state_netns_gone(s))
		st = SB_DEAD, w = SB_WHY_NETNS;
	else if (s->has_net && *s->ifname && !if_nametoindex(s->ifname))
		st = SB_DEAD, w = SB_WHY_LINK;
	else
		st = SB_DEGRADED, w = SB_WHY_SUPERVISOR;
	if (why)
		*why = w;
	return st;
}

/**
 * state_status() - a sandbox's status, without its reason
 * @s:		record
 *
 * Return: state_status_why()
 */
enum sb_status state_status(const struct sb_state *s)
{
	return state_status_why(s, NULL);
}

/**
 * state_status_text() - a status with its reason, for messages
 * @s:		record
 * @st:		set to its status (state_status_why())
 * @buf:	output
 * @len:	its size
 *
 * Return: @buf: "running", "creating", "degraded (supervisor not running)",
 *	   "dead (supervisor not running, network namespace gone)", ...
 */
const char *state_status_text(const struct sb_state *s, enum sb_status *st,
			      char *buf, size_t len)
{
	const char *why;

	*st = state_status_why(s, &why);
	snprintf(buf, len, "%s%s%s%s", state_status_name(*st),
		 why ? " (" : "", why ? why : "", why ? ")" : "");
	return buf;
}

/**
 * state_status_name() - name of a status for moat ls
 * @st:		status
 *
 * Return: "running", "degraded", "dead" or "creating"
 */
const char *state_status_name(enum sb_status st)
{
	switch (st) {
	case SB_RUNNING:
		return "running";
	case SB_DEAD:
		return "dead";
	case SB_CREATING:
		return "creating";
	case SB_DEGRADED:
		return "degraded";
	}
	return "unknown";
}

/**
 * state_degraded_set() - say whether a sandbox's rules are absent
 * @c:		settings
 * @name:	sandbox
 * @on:		absent (its supervisor is restoring them), or back
 *
 * The supervisor keeps the file "degraded" in the sandbox's directory
 * while it restores moat's rules after a firewall reload (guard.c).
 *
 * Return: 0, or -errno
 */
int state_degraded_set(const struct moat_config *c, const char *name, bool on)
{
	autofree char *path = state_path(c, name, "degraded");
	int fd;

	if (!on)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/**
 * state_degraded() - whether a sandbox's supervisor says its rules are absent
 * @c:		settings
 * @name:	sandbox
 *
 * Return: true while state_degraded_set() says so
 */
bool state_degraded(const struct moat_config *c, const char *name)
{
	autofree char *path = state_path(c, name, "degraded");

	return !access(path, F_OK);
}
