// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * logs.c - reading a sandbox's log: "moat logs" and the summary of "moat run"
 *
 * Theory of operation
 * -------------------
 * A sandbox's log is JSON lines in LOG_FILE and LOG_FILE_OLD in its state
 * directory (log.c writes them), or, once the sandbox is removed, in its
 * archive, RUN_DIR/logs/NAME/ (log_archive()).
 *
 * "moat logs NAME" prints the old file, then the current one: a table
 * (logs_format_text(): time, kind, protocol, source, destination, port,
 * reason, then every other key as key=value, control characters escaped,
 * since names come from DNS) or JSON. It reads the archive when no sandbox
 * has that name, or with --previous. --follow then waits with inotify on
 * the state directory, reads what is appended, notices a rotation by the
 * inode of LOG_FILE changing, and ends when the sandbox is removed (seen
 * by inotify, or by a check once a second: the open file can keep the
 * directory's removal from being reported).
 *
 * "moat run" prints logs_summary() of the archived log after its command:
 * the denials grouped by destination and reason, at most LOG_SUMMARY_LINES
 * lines, counted apart for at most LOG_SUMMARY_KEYS destinations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "logs.h"
#include "state.h"

#define LOGS_READ_MAX		65536	/* bytes of a log file per read */
#define LOGS_INOTIFY_BUF	4096	/* bytes of inotify events per read */
#define LOGS_GONE_CHECK_MS	1000	/* look for the sandbox's removal */

/**
 * logs_put_safe() - print a string with control characters escaped
 * @s:		string from a record (names come from DNS, i.e. anyone)
 * @f:		output
 */
static void logs_put_safe(const char *s, FILE *f)
{
	const unsigned char *c;

	for (c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\x%02x", *c);
		else
			fputc(*c, f);
	}
}

/**
 * logs_field() - a record's value for a column, as text
 * @rec:	record
 * @key:	key
 * @buf:	buffer for numbers
 * @len:	its size
 *
 * Return: the value, "-" if absent
 */
static const char *logs_field(json_t *rec, const char *key, char *buf,
			      size_t len)
{
	json_t *v = json_object_get(rec, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return "-";
}

/**
 * logs_format_text() - one record as a line of "moat logs"
 * @rec:	record
 * @f:		output
 *
 * Columns: time, kind, protocol, source, destination, port, reason; then
 * every other key as key=value.
 */
void logs_format_text(json_t *rec, FILE *f)
{
	static const char *const cols[] = { "time", "kind", "proto", "src",
					    "dst", "port", "reason" };
	static const int widths[] = { 24, 5, 6, 15, 15, 5, 0 };
	char buf[32];
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cols); i++) {
		const char *s = logs_field(rec, cols[i], buf, sizeof(buf));

		if (i)
			fputc(' ', f);
		logs_put_safe(s, f);
		if (widths[i] && (int)strlen(s) < widths[i])
			fprintf(f, "%*s", widths[i] - (int)strlen(s), "");
	}
	json_object_foreach(rec, key, v) {
		bool col = false;

		for (i = 0; i < ARRAY_SIZE(cols); i++)
			col |= !strcmp(key, cols[i]);
		if (col)
			continue;
		fputc(' ', f);
		logs_put_safe(key, f);
		fputc('=', f);
		if (json_is_string(v)) {
			logs_put_safe(json_string_value(v), f);
		} else {
			char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			logs_put_safe(d ? d : "?", f);
			free(d);
		}
	}
	fputc('\n', f);
}

/* ---- the summary of "moat run" ------------------------------------------ */

/**
 * struct logs_sum_ent - denials of one destination for one reason
 * @what:	destination as shown
 * @reason:	reason
 * @count:	records
 */
struct logs_sum_ent {
	char *what;
	char *reason;
	unsigned long count;
};

/**
 * struct logs_sum - what logs_summary_add() gathers
 * @e:		entries, in order of first appearance
 * @n:		their number
 * @cap:	allocated
 * @total:	denial records
 * @over:	records not kept as entries (over LOG_SUMMARY_KEYS)
 */
struct logs_sum {
	struct logs_sum_ent *e;
	size_t n;
	size_t cap;
	unsigned long total;
	unsigned long over;
};

/**
 * logs_str() - a string value of a record
 * @rec:	record
 * @key:	key
 *
 * Return: the value, "" if absent or not a string
 */
static const char *logs_str(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "";
}

/**
 * logs_dst_port() - "ADDR:PORT/PROTO" of a record ("[ADDR]" for IPv6)
 * @rec:	record
 * @proto:	protocol name
 *
 * Return: new string
 */
static char *logs_dst_port(json_t *rec, const char *proto)
{
	const char *dst = logs_str(rec, "dst");
	json_t *port = json_object_get(rec, "port");
	bool v6 = strchr(dst, ':');

	if (!json_is_integer(port))
		return xasprintf("%s/%s", dst, proto);
	return xasprintf("%s%s%s:%" JSON_INTEGER_FORMAT "/%s", v6 ? "[" : "",
			 dst, v6 ? "]" : "", json_integer_value(port), proto);
}

/**
 * logs_summary_add() - count one record, if it is a denial
 * @s:		summary
 * @rec:	record
 */
static void logs_summary_add(struct logs_sum *s, json_t *rec)
{
	const char *kind = logs_str(rec, "kind"), *reason = logs_str(rec, "reason");
	const char *action = logs_str(rec, "action");
	char *what;
	size_t i;

	if (!strcmp(kind, "deny")) {
		/* the sandbox kernel's own link chatter (MLD reports, router
		 * solicitations to ff02::), not the command's doing */
		if (!strcmp(logs_str(rec, "proto"), "icmpv6") &&
		    !strncmp(logs_str(rec, "dst"), "ff02:", 5))
			return;
		what = logs_dst_port(rec, logs_str(rec, "proto"));
	} else if (!strcmp(kind, "dns") && !strcmp(action, "nxdomain")) {
		what = xasprintf("DNS name %s", logs_str(rec, "name"));
	} else if (!strcmp(kind, "proxy") && !strcmp(action, "deny")) {
		autofree char *dp = logs_dst_port(rec, "tcp");
		const char *name = logs_str(rec, "name");

		what = *name ? xasprintf("%s at %s", name, dp) : xstrdup(dp);
	} else {
		return;
	}
	s->total++;
	for (i = 0; i < s->n; i++) {
		if (!strcmp(s->e[i].what, what) && !strcmp(s->e[i].reason, reason)) {
			s->e[i].count++;
			free(what);
			return;
		}
	}
	if (s->n == LOG_SUMMARY_KEYS) {
		s->over++;
		free(what);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
	}
	s->e[s->n].what = what;
	s->e[s->n].reason = xstrdup(reason);
	s->e[s->n].count = 1;
	s->n++;
}

/**
 * logs_summary_file() - count the denials of one log file
 * @s:		summary
 * @path:	file
 */
static void logs_summary_file(struct logs_sum *s, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		json_t *rec = json_loads(line, 0, NULL);

		if (json_is_object(rec))
			logs_summary_add(s, rec);
		json_decref(rec);
	}
	free(line);
	fclose(f);
}

/**
 * logs_put_short() - print a string escaped, cut at @max characters
 * @s:		string
 * @max:	most characters printed
 * @f:		output
 */
static void logs_put_short(const char *s, size_t max, FILE *f)
{
	autofree char *c = xstrdup(s);

	if (strlen(c) > max)
		strcpy(c + max - 3, "...");
	logs_put_safe(c, f);
}

/**
 * logs_summary() - print what a sandbox's log denied, bounded
 * @dir:	directory of the log files
 * @name:	sandbox name, for the pointer to "moat logs"
 * @f:		output
 *
 * One line per destination and reason, most denied first, at most
 * LOG_SUMMARY_LINES of them, then how many more; nothing if nothing was
 * denied. Kernel denials ("deny"), DNS names answered NXDOMAIN by the
 * policy and refused proxy connections count; ICMPv6 to link-local
 * multicast (the sandbox kernel's MLD and router solicitations) does not.
 *
 * Return: the number of denial records seen
 */
unsigned long logs_summary(const char *dir, const char *name, FILE *f)
{
	autofree char *cur = xasprintf("%s/%s", dir, LOG_FILE);
	autofree char *old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
	struct logs_sum s = { 0 };
	unsigned long total;
	size_t i, j;

	logs_summary_file(&s, old);
	logs_summary_file(&s, cur);
	/* a stable sort by count: insertion, the list is bounded */
	for (i = 1; i < s.n; i++) {
		struct logs_sum_ent t = s.e[i];

		for (j = i; j > 0 && s.e[j - 1].count < t.count; j--)
			s.e[j] = s.e[j - 1];
		s.e[j] = t;
	}
	if (s.total) {
		fprintf(f, "moat: sandbox %s denied %lu flow%s or quer%s (all of them: moat logs %s):\n",
			name, s.total, s.total == 1 ? "" : "s",
			s.total == 1 ? "y" : "ies", name);
	}
	for (i = 0; i < s.n && i < LOG_SUMMARY_LINES; i++) {
		fprintf(f, "moat:   %5lux ", s.e[i].count);
		logs_put_short(s.e[i].what, 100, f);
		fputs(" (", f);
		logs_put_short(s.e[i].reason, 40, f);
		fputs(")\n", f);
	}
	if (i < s.n || s.over) {
		unsigned long rest = s.over;

		for (j = i; j < s.n; j++)
			rest += s.e[j].count;
		fprintf(f, "moat:   ... and %lu more to %s%zu other destination%s\n",
			rest, s.over ? "over " : "", s.n - i,
			s.n - i == 1 && !s.over ? "" : "s");
	}
	for (i = 0; i < s.n; i++) {
		free(s.e[i].what);
		free(s.e[i].reason);
	}
	free(s.e);
	total = s.total;
	return total;
}

/**
 * struct logs_reader - "moat logs" state
 * @json:	--json
 * @follow:	--follow
 * @first:	no record printed yet (JSON array punctuation)
 * @partial:	bytes of an incomplete last line
 */
struct logs_reader {
	bool json;
	bool follow;
	bool first;
	char *partial;
};

/**
 * logs_print_line() - print one line of a log file
 * @r:		reader
 * @line:	the line, without newline
 */
static void logs_print_line(struct logs_reader *r, const char *line)
{
	json_t *rec = json_loads(line, 0, NULL);
	char *out;

	if (!json_is_object(rec)) {
		json_decref(rec);
		return;		/* a line cut by a full disk: skip it */
	}
	if (!r->json) {
		logs_format_text(rec, stdout);
	} else {
		out = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (r->follow)
			printf("%s\n", out);
		else
			printf("%s\n  %s", r->first ? "" : ",", out);
		free(out);
	}
	r->first = false;
	json_decref(rec);
}

/**
 * logs_print_fd() - print the complete lines readable from a descriptor
 * @r:		reader
 * @fd:		file, read from its current offset to its end
 */
static void logs_print_fd(struct logs_reader *r, int fd)
{
	char buf[LOGS_READ_MAX];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t plen = r->partial ? strlen(r->partial) : 0;
		char *all = xmalloc(plen + (size_t)n + 1), *line, *nl;

		if (plen)
			memcpy(all, r->partial, plen);
		memcpy(all + plen, buf, (size_t)n);
		all[plen + (size_t)n] = '\0';
		free(r->partial);
		r->partial = NULL;
		for (line = all; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			logs_print_line(r, line);
		}
		if (*line)
			r->partial = xstrdup(line);
		free(all);
	}
	fflush(stdout);
}

/**
 * logs_follow() - wait for new records until the sandbox goes away
 * @r:		reader
 * @dir:	the sandbox's state directory
 * @fd:		current file, read to its end, or -1 if it did not exist
 *
 * Return: exit status
 */
static int logs_follow(struct logs_reader *r, const char *dir, int fd)
{
	autofree char *path = xasprintf("%s/%s", dir, LOG_FILE);
	autoclose int in = inotify_init1(IN_CLOEXEC);
	char ev[LOGS_INOTIFY_BUF] __attribute__((aligned(8)));
	struct stat st, cur;

	if (in < 0 || inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE |
					IN_MOVED_TO | IN_MOVED_FROM |
					IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		msg_err("cannot watch %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return MOAT_EXIT_FAILURE;
	}
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		bool gone = false;
		ssize_t n;

		/* a rotation between our last read and the watch */
		if (fd >= 0 && !stat(path, &cur) && !fstat(fd, &st) &&
		    (cur.st_ino != st.st_ino || cur.st_dev != st.st_dev)) {
			logs_print_fd(r, fd);
			close(fd);
			fd = -1;
			free(r->partial);
			r->partial = NULL;
		}
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			logs_print_fd(r, fd);
		/* the directory's removal is not always reported (our open
		 * file pins it): look for it once a second as well
		 */
		n = poll(&p, 1, LOGS_GONE_CHECK_MS);
		if (n < 0 && errno != EINTR)
			break;
		n = n > 0 ? read(in, ev, sizeof(ev)) : 0;
		if (n > 0) {
			char *e = ev;

			while (e < ev + n) {
				struct inotify_event *ie = (struct inotify_event *)e;

				if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
						IN_IGNORED))
					gone = true;
				e += sizeof(*ie) + ie->len;
			}
		}
		if (gone || access(dir, F_OK))
			break;
	}
	if (fd >= 0) {
		logs_print_fd(r, fd);
		close(fd);
	}
	return 0;
}

static const char usage_logs[] =
"Usage: moat logs NAME [--follow] [--json] [--previous]\n"
"\n"
"Print a sandbox's log: flows its rules denied (time, protocol, source,\n"
"destination, port and the reason: the invariant, e.g. I2:host, or the\n"
"policy rule, e.g. rule:3), the decisions of its DNS interceptor (with the\n"
"addresses each answer gave) and of its proxy (with the name asked for).\n"
"Denials are logged at most 20 a second per sandbox (counters in\n"
"'moat stats' count them all); the log keeps at most two files of\n"
"MOAT_LOG_MAX_BYTES (default 1 MiB) each.\n"
"\n"
"A removed sandbox's log is kept (MOAT_LOG_ARCHIVE_MAX_BYTES, default\n"
"16 MiB for all of them, MOAT_LOG_ARCHIVE_MAX_AGE, default 7 days): for a\n"
"name no sandbox has now, that log is printed (and a note on stderr).\n"
"\n"
"  -f, --follow   keep printing new records until the sandbox is removed\n"
"  --json         a JSON array of records; with --follow, one JSON object\n"
"                 per line\n"
"  -p, --previous the log of the last removed sandbox of this name, even\n"
"                 if a sandbox of that name exists now\n";

/**
 * cmd_logs() - moat logs NAME [--follow] [--json] [--previous]
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "logs"
 *
 * Return: exit status
 */
int cmd_logs(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "previous", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct logs_reader r = { .first = true };
	autofree char *dir = NULL, *cur = NULL, *old = NULL;
	struct moat_config c;
	bool previous = false, gone = false;
	const char *name;
	struct stat st;
	int opt, fd, ret = 0;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "fhp", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			r.follow = true;
			break;
		case 'p':
			previous = true;
			break;
		case 'j':
			r.json = true;
			break;
		case 'h':
			printf("%s", usage_logs);
			return 0;
		default:
			return cli_bad_option("logs", argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("logs", "%s", optind >= argc ?
				       "missing the sandbox name" :
				       "expected exactly one sandbox name");
	name = argv[optind];
	if ((ret = cli_sandbox_name("logs", name)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	dir = state_dir(&c, name);
	if (previous || stat(dir, &st)) {
		int e = errno;

		/* gone (or asked for): the archived log of that name */
		free(dir);
		dir = log_archive_dir(&c, name);
		if (!previous && e != ENOENT) {
			msg_err("%s: %s", dir, strerror(e));
			return MOAT_EXIT_FAILURE;
		}
		if (stat(dir, &st)) {
			if (errno != ENOENT) {
				msg_err("%s: %s", dir, strerror(errno));
				return MOAT_EXIT_FAILURE;
			}
			if (previous)
				msg_err("no log of a removed sandbox named %s", name);
			else
				msg_err("no such sandbox: %s", name);
			return MOAT_EXIT_POLICY;
		}
		if (!previous) {
			char tbuf[LOG_TIME_LEN];
			struct timespec ts = { .tv_sec = st.st_mtime };

			fprintf(stderr, "moat logs: sandbox %s is gone (removed %s): its kept log follows\n",
				name, log_time_str(&ts, tbuf));
		}
		gone = true;	/* --follow: nothing more will come */
	}
	old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
	cur = xasprintf("%s/%s", dir, LOG_FILE);
	if (access(cur, R_OK) && errno == EACCES) {
		msg_err("logs: cannot read %s: must be run as root", cur);
		return MOAT_EXIT_FAILURE;
	}
	if (r.json && !r.follow)
		printf("[");
	fd = open(old, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		logs_print_fd(&r, fd);
		close(fd);
		free(r.partial);	/* the old file ends where it was cut */
		r.partial = NULL;
	}
	fd = open(cur, O_RDONLY | O_CLOEXEC);
	if (r.follow && !gone) {
		if (fd >= 0)
			logs_print_fd(&r, fd);
		ret = logs_follow(&r, dir, fd);
	} else if (fd >= 0) {
		logs_print_fd(&r, fd);
		close(fd);
	}
	if (r.json && !r.follow)
		printf("%s]\n", r.first ? "" : "\n");
	free(r.partial);
	return ret;
}
