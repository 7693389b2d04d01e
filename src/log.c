// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * log.c - writing a sandbox's decision log: records, rotation, counters,
 * and the archive of removed sandboxes' logs
 *
 * Theory of operation
 * -------------------
 * A sandbox's log has two ends, each a struct log. Records are made in
 * its supervisor's worker: the denials nftables logs to the sandbox's
 * NFLOG group (bound, read and parsed by worker/nflog.c; log_nflog_input()
 * makes a "deny" record of each packet), and the decisions of the DNS
 * interceptor and the proxy, added with log_event() (see log.h), which has
 * its own token bucket (LOG_EVENT_RATE a second, burst LOG_EVENT_BURST).
 * The worker's log is a sink (log_open_sink()): each record goes to the
 * core as one PRIVOP_LOG message (privop.c), dropped and counted as an
 * error rather than waited for when the core is behind. The core
 * (log_open()) checks each (privop_check_log(): one JSON object's braces,
 * at most LOG_RECORD_MAX bytes, no control character, so that a worker
 * cannot split or forge a line) and appends it (log_write_line()).
 *
 * Records are JSON lines in LOG_FILE in the sandbox's state directory,
 * appended with one write(2) each. When the file would grow past its cap
 * (MOAT_LOG_MAX_BYTES, default 1 MiB), it is renamed to LOG_FILE_OLD
 * (replacing the previous one) and a new one is started: a sandbox's log
 * never takes more than twice the cap, whatever it does. The counters
 * (records, denials, suppressed and lost messages, rotations, errors) are
 * in the supervisor's status (log_stats()).
 *
 * When the sandbox is removed, log_archive() moves its files to
 * RUN_DIR/logs/NAME/ (replacing an earlier sandbox's of that name), and
 * log_archive_prune() keeps that archive within an age
 * (MOAT_LOG_ARCHIVE_MAX_AGE seconds, default 7 days) and a total size
 * (MOAT_LOG_ARCHIVE_MAX_BYTES, default 16 MiB), oldest first, the log just
 * archived always kept. Reading a log ("moat logs", the summary of "moat
 * run") is logs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>

#include "err.h"
#include "log.h"
#include "privop.h"
#include "nflog.h"
#include "state.h"

/**
 * log_now() - monotonic time
 * @ts:		filled in
 */
static void log_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* #syscalls:worker clock_gettime */
/**
 * log_time_str() - a wall-clock time as ISO 8601 UTC with milliseconds
 * @ts:		time, or 0 for now
 * @buf:	buffer of LOG_TIME_LEN bytes
 *
 * Return: @buf
 */
const char *log_time_str(const struct timespec *ts, char *buf)
{
	struct timespec now;
	struct tm tm;

	if (!ts || !ts->tv_sec) {
		clock_gettime(CLOCK_REALTIME, &now);
		ts = &now;
	}
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, LOG_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
	return buf;
}

/**
 * log_max_bytes() - the cap of each log file
 *
 * Return: MOAT_LOG_MAX_BYTES if set and sane, else LOG_MAX_BYTES_DEFAULT
 */
static off_t log_max_bytes(void)
{
	const char *e = getenv("MOAT_LOG_MAX_BYTES");
	unsigned long long v;
	char *end;

	if (!e || !*e)
		return LOG_MAX_BYTES_DEFAULT;
	errno = 0;
	v = strtoull(e, &end, 10);
	if (*end || errno || v < LOG_MAX_BYTES_MIN || v > (1ULL << 40))
		return LOG_MAX_BYTES_DEFAULT;
	return (off_t)v;
}

/**
 * log_file_open() - open (create) the current file for appending
 * @lg:		log
 *
 * Return: 0, or -errno
 */
static int log_file_open(struct log *lg)
{
	struct stat st;

	lg->fd = open(lg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		      O_NOFOLLOW, 0600);
	if (lg->fd < 0)
		return -errno;
	lg->size = fstat(lg->fd, &st) ? 0 : st.st_size;
	return 0;
}

/**
 * log_open() - open a sandbox's log in its supervisor
 * @lg:		log to set up
 * @dir:	the sandbox's state directory
 * @group:	its NFLOG group, 0 for none
 *
 * A failure to bind the NFLOG group is not fatal (see @lg->nl_err).
 *
 * Return: 0, or -errno if the log file cannot be opened
 */
int log_open(struct log *lg, const char *dir, unsigned group)
{
	memset(lg, 0, sizeof(*lg));
	lg->fd = -1;
	lg->nl_fd = -1;
	lg->group = group;
	lg->max = log_max_bytes();
	lg->tokens = LOG_EVENT_BURST;
	log_now(&lg->last);
	lg->path = xasprintf("%s/%s", dir, LOG_FILE);
	lg->path_old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
	if (log_file_open(lg))
		return -errno;
	if (!group) {
		snprintf(lg->nl_err, sizeof(lg->nl_err),
			 "no NFLOG group for this sandbox");
		return 0;
	}
	lg->nl = nflog_bind(group, &lg->nl_fd, lg->nl_err, sizeof(lg->nl_err));
	return 0;
}

/**
 * log_open_sink() - a worker's log: records go to its core
 * @lg:		log to set up
 * @fd:		the worker's end of the log socket (SOCK_SEQPACKET): one
 *		record a datagram
 * @group:	the sandbox's NFLOG group, 0 for none (bound here: the
 *		worker still has the privilege when it calls this)
 *
 * Return: 0
 */
int log_open_sink(struct log *lg, int fd, unsigned group)
{
	memset(lg, 0, sizeof(*lg));
	lg->fd = fd;
	lg->nl_fd = -1;
	lg->group = group;
	lg->sink = true;
	lg->max = LOG_RECORD_MAX;
	lg->tokens = LOG_EVENT_BURST;
	log_now(&lg->last);
	lg->path = xasprintf("(core)");
	if (!group)
		snprintf(lg->nl_err, sizeof(lg->nl_err),
			 "no NFLOG group for this sandbox");
	else
		lg->nl = nflog_bind(group, &lg->nl_fd, lg->nl_err,
				    sizeof(lg->nl_err));
	return 0;
}

/**
 * log_close() - close a log
 * @lg:		log
 */
void log_close(struct log *lg)
{
	/* what the kernel queued before the supervisor stopped */
	if (lg->nl && lg->fd >= 0)
		log_nflog_input(lg);
	nflog_close(lg->nl);
	lg->nl = NULL;
	lg->nl_fd = -1;
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
	free(lg->path);
	free(lg->path_old);
	lg->path = lg->path_old = NULL;
}

/**
 * log_write_line() - append one record line, rotating first if it would
 * not fit
 * @lg:		log
 * @line:	the record and its newline
 * @len:	its length
 *
 * In a worker (log_open_sink()), the line goes to its core as one
 * datagram instead; the core checks it and appends it here.
 */
void log_write_line(struct log *lg, const char *line, size_t len)
{
	ssize_t n;

	if (lg->sink) {
		static struct privop_msg m;

		/* one PRIVOP_LOG, its newline left to the core */
		if (!privop_log_encode(&m, 0, line, len - 1) &&
		    !privop_send(lg->fd, &m, -1))
			lg->records++;
		else
			lg->errors++;
		return;
	}
	if (lg->fd >= 0 && lg->size && lg->size + (off_t)len > lg->max) {
		close(lg->fd);
		lg->fd = -1;
		if (rename(lg->path, lg->path_old))
			unlink(lg->path);
		lg->rotations++;
		if (log_file_open(lg))
			lg->errors++;
	}
	if (lg->fd < 0 || (off_t)len > lg->max) {
		lg->errors++;
		return;
	}
	n = write(lg->fd, line, len);
	if (n != (ssize_t)len) {
		lg->errors++;
		if (n > 0)
			lg->size += n;
	} else {
		lg->size += n;
		lg->records++;
	}
}

/**
 * log_write() - append one record
 * @lg:		log
 * @rec:	record (a JSON object)
 */
static void log_write(struct log *lg, json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len;

	if (!line)
		die_oom();
	len = strlen(line);
	line[len++] = '\n';	/* replaces the NUL: written by length */
	if (len <= LOG_RECORD_MAX)
		log_write_line(lg, line, len);
	else
		lg->errors++;
	free(line);
}

/**
 * log_take_token() - the rate limit of log_event()
 * @lg:		log
 *
 * Return: true if an event may be written now
 */
static bool log_take_token(struct log *lg)
{
	struct timespec now;
	double dt;

	log_now(&now);
	dt = (double)(now.tv_sec - lg->last.tv_sec) +
	     (double)(now.tv_nsec - lg->last.tv_nsec) / 1e9;
	lg->last = now;
	lg->tokens += dt * LOG_EVENT_RATE;
	if (lg->tokens > LOG_EVENT_BURST)
		lg->tokens = LOG_EVENT_BURST;
	if (lg->tokens < 1) {
		lg->suppressed++;
		return false;
	}
	lg->tokens -= 1;
	return true;
}

/**
 * log_set_value() - one key of a record; "port" becomes a number
 * @rec:	record
 * @key:	key
 * @val:	value
 */
static void log_set_value(json_t *rec, const char *key, const char *val)
{
	char *end;
	unsigned long v;

	if (!strcmp(key, "port") && *val) {
		errno = 0;
		v = strtoul(val, &end, 10);
		if (!*end && !errno && v <= 65535) {
			json_object_set_new(rec, key, json_integer((json_int_t)v));
			return;
		}
	}
	/* not valid UTF-8: keep it, escaped byte by byte */
	if (!json_object_set_new(rec, key, json_string(val))) {
		char *esc = xmalloc(strlen(val) * 4 + 1), *o = esc;
		const unsigned char *c;

		for (c = (const unsigned char *)val; *c; c++) {
			if (*c >= 0x20 && *c < 0x7f)
				*o++ = (char)*c;
			else
				o += sprintf(o, "\\x%02x", *c);
		}
		*o = '\0';
		json_object_set_new(rec, key, json_string(esc));
		free(esc);
	}
}

/**
 * log_event() - add a decision of a supervisor service to the log
 * @lg:		log
 * @kind:	"dns", "proxy", ...
 * @...:	key, value string pairs, then NULL (see log.h)
 */
void log_event(struct log *lg, const char *kind, ...)
{
	char tbuf[LOG_TIME_LEN];
	const char *k, *v;
	json_t *rec;
	va_list ap;

	if (!lg || !lg->path || !log_take_token(lg))
		return;
	rec = json_object();
	json_object_set_new(rec, "time", json_string(log_time_str(NULL, tbuf)));
	json_object_set_new(rec, "kind", json_string(kind));
	va_start(ap, kind);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!v)
			break;
		if (strcmp(k, "time") && strcmp(k, "kind"))
			log_set_value(rec, k, v);
	}
	va_end(ap);
	log_write(lg, rec);
	json_decref(rec);
}

/**
 * log_proto_name() - a protocol's name for display
 * @proto:	IP protocol number
 * @buf:	buffer for unknown numbers
 * @len:	its size
 *
 * Return: name
 */
const char *log_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_ICMP:	return "icmp";
	case IPPROTO_ICMPV6:	return "icmpv6";
	case IPPROTO_SCTP:	return "sctp";
	case IPPROTO_UDPLITE:	return "udplite";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

/**
 * log_pkt_record() - write one denied packet as a record
 * @opaque:	struct log
 * @p:		the packet
 */
static void log_pkt_record(void *opaque, const struct nflog_pkt *p)
{
	char tbuf[LOG_TIME_LEN], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pb[8];
	struct log *lg = opaque;
	json_t *rec;

	lg->denials++;
	inet_ntop(p->family, p->src, src, sizeof(src));
	inet_ntop(p->family, p->dst, dst, sizeof(dst));
	rec = json_object();
	json_object_set_new(rec, "time", json_string(log_time_str(&p->ts, tbuf)));
	json_object_set_new(rec, "kind", json_string("deny"));
	json_object_set_new(rec, "proto",
			    json_string(log_proto_name(p->proto, pb, sizeof(pb))));
	json_object_set_new(rec, "src", json_string(src));
	json_object_set_new(rec, "dst", json_string(dst));
	if (p->has_ports && (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)) {
		json_object_set_new(rec, "icmp_type", json_integer(p->sport));
		json_object_set_new(rec, "icmp_code", json_integer(p->dport));
	} else if (p->has_ports) {
		json_object_set_new(rec, "sport", json_integer(p->sport));
		json_object_set_new(rec, "port", json_integer(p->dport));
	}
	json_object_set_new(rec, "reason", json_string(p->reason));
	/* a link only one side wants (nft.c, nft_obs_i1_chain()) */
	if (!strcmp(p->reason, "I1:link-nopeer"))
		json_object_set_new(rec, "why",
				    json_string("no consent from the peer"));
	else if (!strcmp(p->reason, "I1:link-noself"))
		json_object_set_new(rec, "why",
				    json_string("no rule on this side"));
	log_write(lg, rec);
	json_decref(rec);
}

/* #syscalls:worker recvfrom */
/**
 * log_nflog_input() - record the denials the NFLOG socket holds (EPOLLIN)
 * @lg:		log
 */
void log_nflog_input(struct log *lg)
{
	if (lg->nl)
		nflog_read(lg->nl_fd, log_pkt_record, lg, &lg->lost);
}

/**
 * log_stats() - the log's counters for the supervisor's status
 * @lg:		log
 *
 * Return: new JSON object
 */
json_t *log_stats(const struct log *lg)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			      "records_total", (json_int_t)lg->records,
			      "denials_total", (json_int_t)lg->denials,
			      "suppressed_total", (json_int_t)lg->suppressed,
			      "lost_total", (json_int_t)lg->lost,
			      "rotations_total", (json_int_t)lg->rotations,
			      "errors_total", (json_int_t)lg->errors,
			      "file_bytes", (json_int_t)lg->size,
			      "max_file_bytes", (json_int_t)lg->max);

	json_object_set_new(o, "nflog_group", json_integer(lg->group));
	if (*lg->nl_err)
		json_object_set_new(o, "nflog_error", json_string(lg->nl_err));
	return o;
}

/* ---- the archive of removed sandboxes' logs ---------------------------- */

/**
 * log_env_ull() - a non-negative integer from the environment
 * @name:	variable
 * @def:	default, if unset or not a number
 *
 * Return: the value
 */
static unsigned long long log_env_ull(const char *name, unsigned long long def)
{
	const char *e = getenv(name);
	unsigned long long v;
	char *end;

	if (!e || !*e)
		return def;
	errno = 0;
	v = strtoull(e, &end, 10);
	if (*end || errno || *e == '-')
		return def;
	return v;
}

/**
 * log_archive_dir() - where a removed sandbox's log is kept
 * @c:		settings
 * @name:	sandbox name, or NULL for the archive itself
 *
 * Return: new string
 */
char *log_archive_dir(const struct moat_config *c, const char *name)
{
	if (!name)
		return xasprintf("%s/%s", c->run_dir, LOG_ARCHIVE_DIR);
	return xasprintf("%s/%s/%s", c->run_dir, LOG_ARCHIVE_DIR, name);
}

/**
 * log_archive_remove() - delete one archived log
 * @dir:	its directory
 */
static void log_archive_remove(const char *dir)
{
	autofree char *cur = xasprintf("%s/%s", dir, LOG_FILE);
	autofree char *old = xasprintf("%s/%s", dir, LOG_FILE_OLD);

	unlink(cur);
	unlink(old);
	rmdir(dir);
}

/**
 * struct log_arch_ent - one archived log, for pruning
 * @name:	sandbox name
 * @mtime:	when it was archived
 * @bytes:	size of its files
 */
struct log_arch_ent {
	char name[MOAT_NAME_MAX + 1];
	time_t mtime;
	off_t bytes;
};

/**
 * log_arch_cmp() - oldest first
 * @a:		entry
 * @b:		entry
 *
 * Return: <0, 0, >0
 */
static int log_arch_cmp(const void *a, const void *b)
{
	const struct log_arch_ent *x = a, *y = b;

	return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/**
 * log_archive_prune() - apply the archive's limits of age and size
 * @c:		settings
 * @keep:	the log just archived: always kept, or NULL
 *
 * Logs older than MOAT_LOG_ARCHIVE_MAX_AGE seconds go first, then the
 * oldest until the archive holds at most MOAT_LOG_ARCHIVE_MAX_BYTES.
 */
void log_archive_prune(const struct moat_config *c, const char *keep)
{
	unsigned long long max_bytes = log_env_ull("MOAT_LOG_ARCHIVE_MAX_BYTES",
						   LOG_ARCHIVE_MAX_BYTES_DEFAULT);
	unsigned long long max_age = log_env_ull("MOAT_LOG_ARCHIVE_MAX_AGE",
						 LOG_ARCHIVE_MAX_AGE_DEFAULT);
	/* beyond 100 years: no limit of age */
	time_t age_limit = max_age > 100ULL * 365 * 24 * 3600 ?
			   (time_t)-1 : (time_t)max_age;
	autofree char *top = log_archive_dir(c, NULL);
	struct log_arch_ent *e = NULL;
	unsigned long long total = 0;
	size_t n = 0, cap = 0, i;
	time_t now = time(NULL);
	struct dirent *de;
	DIR *d;

	d = opendir(top);
	if (!d)
		return;
	while ((de = readdir(d))) {
		autofree char *dir = NULL, *cur = NULL, *old = NULL;
		struct stat st;

		/* state_name_valid() bounds the length */
		if (!state_name_valid(de->d_name))
			continue;
		dir = xasprintf("%s/%s", top, de->d_name);
		if (lstat(dir, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			e = xrealloc(e, cap * sizeof(*e));
		}
		memcpy(e[n].name, de->d_name, strlen(de->d_name) + 1);
		e[n].mtime = st.st_mtime;
		e[n].bytes = 0;
		cur = xasprintf("%s/%s", dir, LOG_FILE);
		old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
		if (!stat(cur, &st))
			e[n].bytes += st.st_size;
		if (!stat(old, &st))
			e[n].bytes += st.st_size;
		n++;
	}
	closedir(d);
	if (n)
		qsort(e, n, sizeof(*e), log_arch_cmp);
	for (i = 0; i < n; i++)
		total += (unsigned long long)e[i].bytes;
	for (i = 0; i < n; i++) {
		bool old = age_limit >= 0 && now - e[i].mtime > age_limit;

		if (keep && !strcmp(e[i].name, keep))
			continue;
		if (!old && total <= max_bytes)
			continue;
		{
			autofree char *dir = log_archive_dir(c, e[i].name);

			log_archive_remove(dir);
		}
		total -= (unsigned long long)e[i].bytes;
	}
	free(e);
}

/**
 * log_archive() - keep a sandbox's log as it is removed
 * @c:		settings
 * @name:	sandbox, whose state directory still exists
 *
 * Its files move to the archive (a rename: the same file system), where
 * "moat logs NAME" finds them once the sandbox is gone; an earlier
 * archived log of the same name is replaced. Best effort: a sandbox is
 * removed whether or not its log can be kept.
 */
void log_archive(const struct moat_config *c, const char *name)
{
	autofree char *top = log_archive_dir(c, NULL);
	autofree char *dir = log_archive_dir(c, name);
	autofree char *sdir = state_dir(c, name);
	static const char *const files[] = { LOG_FILE_OLD, LOG_FILE };
	bool made = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		autofree char *from = xasprintf("%s/%s", sdir, files[i]);
		autofree char *to = xasprintf("%s/%s", dir, files[i]);

		if (access(from, F_OK))
			continue;
		if (!made) {
			log_archive_remove(dir);
			if (mkdir(top, 0700) && errno != EEXIST)
				return;
			if (mkdir(dir, 0700) && errno != EEXIST)
				return;
			made = true;
		}
		if (rename(from, to))
			msg_warn("cannot keep the log of '%s': %s", name,
				 strerror(errno));
	}
	if (made) {
		utimensat(AT_FDCWD, dir, NULL, 0);
		log_archive_prune(c, name);
	}
}
