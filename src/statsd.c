// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * statsd.c - "moat stats --listen": the Prometheus text over HTTP, parsed
 * by an unprivileged process
 *
 * Theory of operation
 * -------------------
 * "--listen ADDR:PORT" serves the text of prom.c at /metrics, in two
 * processes. The root parent binds the address and forks; the child drops
 * to STATSD_UID:STATSD_GID without supplementary groups or any capability
 * (bounding set included), with no_new_privs, not dumpable
 * (statsd_drop()), under an allow-list seccomp filter (statsd_seccomp()),
 * and is the HTTP server: one poll loop, up to STATSD_CONN_MAX
 * connections at once, each with its own deadline: a request of at most
 * STATSD_REQ_MAX bytes read within STATSD_IO_TIMEOUT_S seconds, the reply
 * sent within as long again, then closed. When every slot is taken, the
 * idle client nearest its deadline makes room for a new one, so idle
 * clients cannot keep a scrape out.
 *
 * For each /metrics it writes STATSD_IPC_REQ (one byte) on a socket pair
 * and reads the answer: a 32-bit length (host order, at most
 * STATSD_IPC_MAX) and the text. The parent keeps no network socket: it
 * collects as root (stats_collect(): the counters need CAP_NET_ADMIN, the
 * supervisors' control sockets root) and answers, and parses nothing else
 * (any other byte ends both). The child's death ends the parent (status
 * MOAT_EXIT_FAILURE), the parent's the child (hang-up on the pair, and
 * SIGTERM as parent-death signal); SIGINT or SIGTERM to the parent ends
 * both with status 0. The command refuses an address other than loopback
 * unless --allow-remote is given: the metrics name the sandboxes and what
 * they tried to reach.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <seccomp.h>

#include "err.h"
#include "exec.h"
#include "prom.h"
#include "stats.h"
#include "statsd.h"

#define STATSD_REQ_MAX		8192	/* bytes of a request */
#define STATSD_IO_TIMEOUT_S	2	/* to read a request, to send a reply */
#define STATSD_CONN_MAX		32	/* connections served at once */
#define STATSD_BACKLOG		64	/* listen(2) backlog */
#define STATSD_UID		65534	/* the server: nobody */
#define STATSD_GID		65534	/* and nogroup */
#define STATSD_IPC_REQ		'M'	/* server to parent: "the metrics" */
#define STATSD_IPC_MAX		(64U << 20)	/* longest answer, bytes */
#define STATSD_READY_MAX	128	/* the "serving http://..." line */

static volatile sig_atomic_t statsd_stop;

/**
 * statsd_on_signal() - end the /metrics server
 * @sig:	signal
 */
static void statsd_on_signal(int sig)
{
	(void)sig;
	statsd_stop = 1;
}

/**
 * statsd_parse_listen() - parse ADDR:PORT or [ADDR6]:PORT
 * @s:		text
 * @ss:		filled in
 * @sl:		set to the address length
 * @loopback:	set if the address is a loopback address
 *
 * Return: 0, or -1 if @s is not an address and port
 */
int statsd_parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *sl, bool *loopback)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t hl;
	char *end;

	if (!colon || colon == s)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port == 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*sl = sizeof(*s4);
	*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

/**
 * struct statsd_conn - one /metrics client of --listen
 * @fd:		connection, or -1 for a free slot
 * @len:	bytes of the request read so far
 * @req:	the request, NUL-terminated
 * @out:	the whole reply once the request is complete, else NULL
 * @out_len:	its length
 * @out_off:	bytes of it sent
 * @deadline:	CLOCK_MONOTONIC time by which the request must be read, or
 *		(once answering) the reply sent; the connection is closed then
 */
struct statsd_conn {
	int fd;
	size_t len;
	char req[STATSD_REQ_MAX + 1];
	char *out;
	size_t out_len, out_off;
	struct timespec deadline;
};

/**
 * statsd_ms_until() - milliseconds from now to a deadline
 * @t:		deadline (CLOCK_MONOTONIC)
 *
 * Return: milliseconds, 0 if it has passed
 */
static long statsd_ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (t->tv_sec - now.tv_sec) * 1000L +
	     (t->tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? ms : 0;
}

/**
 * statsd_conn_deadline() - give a connection STATSD_IO_TIMEOUT_S from now
 * @sc:		connection
 */
static void statsd_conn_deadline(struct statsd_conn *sc)
{
	clock_gettime(CLOCK_MONOTONIC, &sc->deadline);
	sc->deadline.tv_sec += STATSD_IO_TIMEOUT_S;
}

/**
 * statsd_conn_close() - close a connection and free its slot
 * @sc:		connection
 */
static void statsd_conn_close(struct statsd_conn *sc)
{
	if (sc->fd >= 0)
		close(sc->fd);
	free(sc->out);
	sc->out = NULL;
	sc->fd = -1;
}

/**
 * statsd_conn_reply() - prepare a whole reply and start sending it
 * @sc:		connection, its request complete (or bad)
 * @status:	status line after "HTTP/1.1 "
 * @body:	body
 * @len:	its length
 */
static void statsd_conn_reply(struct statsd_conn *sc, const char *status,
			      const char *body, size_t len)
{
	FILE *f = open_memstream(&sc->out, &sc->out_len);

	if (!f)
		die_oom();
	fprintf(f, "HTTP/1.1 %s\r\n"
		   "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		   "Content-Length: %zu\r\n"
		   "Connection: close\r\n\r\n", status, len);
	fwrite(body, 1, len, f);
	fclose(f);
	sc->out_off = 0;
	statsd_conn_deadline(sc);
}

/**
 * statsd_read_full() - read exactly a buffer's length
 * @fd:		descriptor
 * @buf:	buffer
 * @len:	bytes to read
 *
 * Return: 0, or -1 on error or end of file
 */
static int statsd_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/**
 * statsd_ipc_fetch() - ask the privileged parent for the Prometheus text
 * @ipc:	socket to the parent
 * @len:	set to the text's length
 *
 * Sends the one request byte (STATSD_IPC_REQ) and reads the answer: a
 * 32-bit length in host byte order, at most STATSD_IPC_MAX, then that many
 * bytes. Blocks, as the collection did when the server collected itself.
 *
 * Return: the text (malloc'd; NULL with @len 0 if the parent answered
 *	   nothing), or NULL with @len set to SIZE_MAX if the parent is gone
 *	   or broke the protocol
 */
static char *statsd_ipc_fetch(int ipc, size_t *len)
{
	char req = STATSD_IPC_REQ, *buf;
	uint32_t n;

	*len = SIZE_MAX;
	if (write(ipc, &req, 1) != 1 || statsd_read_full(ipc, &n, sizeof(n)) ||
	    n > STATSD_IPC_MAX)
		return NULL;
	buf = xcalloc(1, (size_t)n + 1);
	if (statsd_read_full(ipc, buf, n)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/**
 * statsd_conn_answer() - answer a complete (or failed) request
 * @ipc:	socket to the privileged parent
 * @sc:		connection
 *
 * Return: 0, or -1 if the parent is gone (the server must end)
 */
static int statsd_conn_answer(int ipc, struct statsd_conn *sc)
{
	const char *req = sc->req;
	size_t blen;
	char *buf;

	if (!strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
		static const char b[] = "request too large or incomplete\n";

		statsd_conn_reply(sc, "400 Bad Request", b, sizeof(b) - 1);
		return 0;
	}
	if (strncmp(req, "GET ", 4)) {
		static const char b[] = "only GET is served\n";

		statsd_conn_reply(sc, "405 Method Not Allowed", b, sizeof(b) - 1);
		return 0;
	}
	if (strncmp(req + 4, "/metrics ", 9) && strncmp(req + 4, "/metrics?", 9)) {
		static const char b[] = "not found: try /metrics\n";

		statsd_conn_reply(sc, "404 Not Found", b, sizeof(b) - 1);
		return 0;
	}
	buf = statsd_ipc_fetch(ipc, &blen);
	if (blen == SIZE_MAX)
		return -1;
	if (blen)
		statsd_conn_reply(sc, "200 OK", buf, blen);
	else
		statsd_conn_reply(sc, "503 Service Unavailable",
				  "cannot read the sandboxes\n", 26);
	free(buf);
	return 0;
}

/**
 * statsd_conn_io() - read a connection's request or send its reply
 * @ipc:	socket to the privileged parent
 * @sc:		connection, ready for its next step
 *
 * Return: 0, or -1 if the parent is gone
 */
static int statsd_conn_io(int ipc, struct statsd_conn *sc)
{
	ssize_t n;

	if (sc->out) {
		n = send(sc->fd, sc->out + sc->out_off,
			 sc->out_len - sc->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0 || (sc->out_off += (size_t)n) == sc->out_len)
			statsd_conn_close(sc);
		return 0;
	}
	n = recv(sc->fd, sc->req + sc->len, STATSD_REQ_MAX - sc->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		statsd_conn_close(sc);
		return 0;
	}
	sc->len += (size_t)n;
	sc->req[sc->len] = '\0';
	if (strstr(sc->req, "\r\n\r\n") || strstr(sc->req, "\n\n") ||
	    sc->len == STATSD_REQ_MAX)
		return statsd_conn_answer(ipc, sc);
	return 0;
}

/**
 * statsd_conn_slot() - a free slot for a new connection
 * @conns:	the table
 *
 * When every slot is taken, the connection still sending its request
 * with the nearest deadline is closed for the new one: idle clients
 * cannot keep a scrape out, they only shorten each other's time.
 *
 * Return: a free slot, or NULL if every slot is answering
 */
static struct statsd_conn *statsd_conn_slot(struct statsd_conn *conns)
{
	struct statsd_conn *old = NULL;
	int i;

	for (i = 0; i < STATSD_CONN_MAX; i++) {
		struct statsd_conn *sc = &conns[i];

		if (sc->fd < 0)
			return sc;
		if (!sc->out && (!old ||
		    sc->deadline.tv_sec < old->deadline.tv_sec ||
		    (sc->deadline.tv_sec == old->deadline.tv_sec &&
		     sc->deadline.tv_nsec < old->deadline.tv_nsec)))
			old = sc;
	}
	if (old)
		statsd_conn_close(old);
	return old;
}

/**
 * statsd_http() - the unprivileged /metrics server's loop, until a signal
 * @fd:		listening socket
 * @ipc:	socket to the privileged parent
 * @mask:	signal mask while waiting (SIGINT and SIGTERM are blocked
 *		otherwise, so that neither is lost between its check and
 *		the wait)
 *
 * One poll loop over the listener, the parent's socket and up to
 * STATSD_CONN_MAX connections, each with its own deadline
 * (STATSD_IO_TIMEOUT_S to send its request, the same again to take the
 * reply), so a slow or idle client delays no other. The parent never
 * writes unasked: anything readable on @ipc between requests, or its
 * hang-up, means it is gone, and the server ends.
 */
static void statsd_http(int fd, int ipc, const sigset_t *mask)
{
	struct statsd_conn *conns;
	int i;

	conns = xcalloc(STATSD_CONN_MAX, sizeof(*conns));
	for (i = 0; i < STATSD_CONN_MAX; i++)
		conns[i].fd = -1;
	while (!statsd_stop) {
		struct pollfd p[STATSD_CONN_MAX + 2];
		struct statsd_conn *who[STATSD_CONN_MAX + 2];
		struct timespec ts;
		long timeout = -1;
		int n = 0, r;

		p[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
		who[n++] = NULL;
		p[n] = (struct pollfd){ .fd = ipc, .events = POLLIN };
		who[n++] = NULL;
		for (i = 0; i < STATSD_CONN_MAX; i++) {
			struct statsd_conn *sc = &conns[i];
			long ms;

			if (sc->fd < 0)
				continue;
			ms = statsd_ms_until(&sc->deadline);
			if (!ms) {
				statsd_conn_close(sc);
				continue;
			}
			if (timeout < 0 || ms < timeout)
				timeout = ms;
			p[n] = (struct pollfd){ .fd = sc->fd,
				.events = sc->out ? POLLOUT : POLLIN };
			who[n++] = sc;
		}
		if (timeout >= 0)
			ts = (struct timespec){ .tv_sec = timeout / 1000,
				.tv_nsec = (timeout % 1000) * 1000000L };
		r = ppoll(p, (nfds_t)n, timeout >= 0 ? &ts : NULL, mask);
		if (r <= 0)
			continue;
		if (p[1].revents)
			break;			/* the parent is gone */
		for (i = 2; i < n; i++)
			if (p[i].revents && statsd_conn_io(ipc, who[i]))
				goto out;
		if (p[0].revents & POLLIN) {
			struct statsd_conn *sc = statsd_conn_slot(conns);
			int cfd;

			if (!sc)
				continue;
			cfd = accept4(fd, NULL, NULL,
				      SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (cfd < 0)
				continue;
			sc->fd = cfd;
			sc->len = 0;
			sc->req[0] = '\0';
			statsd_conn_deadline(sc);
		}
	}
out:
	for (i = 0; i < STATSD_CONN_MAX; i++)
		statsd_conn_close(&conns[i]);
	free(conns);
}

/**
 * statsd_drop() - the server's identity: STATSD_UID:STATSD_GID, nothing more
 * @parent:	PID of the privileged parent, to notice it is already gone
 *
 * No supplementary groups, then exec_drop_privileges() (bounding and
 * ambient sets emptied, UID and GID switched, every capability cleared,
 * no_new_privs); not dumpable, so that other processes of the same user
 * cannot trace it; SIGTERM when the parent dies (set after the switch,
 * which clears it).
 *
 * Return: 0, or -1 after printing which step failed
 */
static int statsd_drop(pid_t parent)
{
	const struct exec_user u = { .uid = STATSD_UID, .gid = STATSD_GID };

	if (setgroups(0, NULL)) {
		msg_err("stats: cannot drop supplementary groups: %s",
			strerror(errno));
		return -1;
	}
	if (exec_drop_privileges(&u))
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0)) {
		msg_err("stats: prctl: %s", strerror(errno));
		return -1;
	}
	if (getppid() != parent)
		return -1;
	return 0;
}

/**
 * statsd_seccomp() - the /metrics server's system calls, nothing else
 *
 * What the poll loop, its connections, the requests to the parent, the
 * allocator and signal handlers use; anything else (open, socket,
 * connect, execve, ptrace, ...) kills the process, and with it the
 * service (its parent exits). System calls of other ABIs (32-bit x86)
 * match nothing and kill too. A few calls that only sanitizers' runtimes
 * make (sigaltstack, sched_yield, gettid) are allowed so that the
 * test builds run the same filter.
 *
 * Return: 0, or -1 after printing why
 */
static int statsd_seccomp(void)
{
	static const int allow[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(close),
		SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept4),
		SCMP_SYS(recvfrom), SCMP_SYS(sendto),
		SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
		SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(mprotect),
		SCMP_SYS(futex), SCMP_SYS(getrandom),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(restart_syscall), SCMP_SYS(exit),
		SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret = -ENOMEM;
	size_t i;

	if (!ctx)
		goto out;
	for (i = 0; i < ARRAY_SIZE(allow); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0);
		if (ret)
			goto out;
	}
	ret = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	if (ret) {
		msg_err("stats: cannot install the seccomp filter: %s",
			strerror(-ret));
		return -1;
	}
	return 0;
}

/**
 * statsd_write_full() - write all of a buffer
 * @fd:		descriptor
 * @buf:	data
 * @len:	its length
 *
 * Return: 0, or -1 on error
 */
static int statsd_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/**
 * statsd_feed() - the privileged parent: answer the server's requests
 * @c:		settings
 * @only:	sandbox filter, or NULL
 * @ipc:	socket to the server
 * @child:	the server's PID
 * @mask:	signal mask while waiting (as for statsd_http())
 *
 * Reads one byte at a time: STATSD_IPC_REQ is answered with the
 * Prometheus text (32-bit length, host byte order, then the text; length
 * 0 if the sandboxes cannot be read); anything else, the server's exit or
 * its hang-up ends both. SIGINT or SIGTERM ends the server with SIGTERM.
 *
 * Return: 0 after a signal or the server's clean exit, else
 *	   MOAT_EXIT_FAILURE
 */
static int statsd_feed(const struct moat_config *c, const char *only,
		       int ipc, pid_t child, const sigset_t *mask)
{
	bool eof = false;
	int st = 0;
	char req;

	while (!statsd_stop) {
		struct pollfd p = { .fd = ipc, .events = POLLIN };
		json_t *doc = NULL;
		char *buf = NULL;
		size_t blen = 0;
		uint32_t n;
		ssize_t r;
		FILE *f;

		if (ppoll(&p, 1, NULL, mask) < 0)
			continue;		/* EINTR: a signal */
		r = read(ipc, &req, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1 || req != STATSD_IPC_REQ) {
			eof = r == 0;
			break;
		}
		f = open_memstream(&buf, &blen);
		if (!f)
			die_oom();
		if (stats_collect(c, only, &doc) == 0)
			prom_text(doc, f);
		fclose(f);
		json_decref(doc);
		if (blen > STATSD_IPC_MAX)
			blen = 0;
		n = (uint32_t)blen;
		r = statsd_write_full(ipc, &n, sizeof(n)) ||
		    statsd_write_full(ipc, buf, blen);
		free(buf);
		if (r)
			break;
	}
	if (!eof)
		kill(child, SIGTERM);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (statsd_stop)
		return 0;
	if (eof && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;	/* it ended on a signal of its own (^C) */
	msg_err("stats: the /metrics server ended (%s %d)",
		WIFSIGNALED(st) ? "signal" : "status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return MOAT_EXIT_FAILURE;
}

/**
 * statsd_serve() - serve /metrics until SIGINT or SIGTERM
 * @c:		settings
 * @only:	sandbox filter, or NULL
 * @addr:	ADDR:PORT as given, for the "serving" line
 * @ss:		that address, from statsd_parse_listen()
 * @sl:		its length
 *
 * Binds as root, then forks: the child (statsd_drop(), statsd_seccomp(),
 * statsd_http()) parses HTTP from the network as STATSD_UID:STATSD_GID
 * without any capability; the parent closes the listener, stays root and
 * only answers the child's one-byte requests on a socket pair
 * (statsd_feed()). Either one's end ends the other.
 *
 * Return: exit status
 */
int statsd_serve(const struct moat_config *c, const char *only,
		 const char *addr, const struct sockaddr_storage *ss,
		 socklen_t sl)
{
	struct sigaction sa = { .sa_handler = statsd_on_signal };
	sigset_t block, old, waitmask;
	autoclose int fd = -1;
	pid_t parent, child;
	int one = 1, sp[2];

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		msg_err("stats: socket: %s", strerror(errno));
		return MOAT_EXIT_FAILURE;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) ||
	    listen(fd, STATSD_BACKLOG)) {
		msg_err("stats: cannot listen on %s: %s", addr, strerror(errno));
		return MOAT_EXIT_FAILURE;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		msg_err("stats: socketpair: %s", strerror(errno));
		return MOAT_EXIT_FAILURE;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	child = fork();
	if (child < 0) {
		msg_err("stats: fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return MOAT_EXIT_FAILURE;
	}
	if (child == 0) {
		char ready[STATSD_READY_MAX];
		int len;

		close(sp[0]);
		if (statsd_drop(parent) || statsd_seccomp())
			_exit(MOAT_EXIT_FAILURE);
		/* stdio's first use of stdout would fstat() it: write(2) */
		len = snprintf(ready, sizeof(ready),
			       "serving http://%s/metrics\n", addr);
		if (len < 0 || (size_t)len >= sizeof(ready))
			_exit(MOAT_EXIT_FAILURE);	/* statsd_parse_listen() bounds it */
		if (statsd_write_full(STDOUT_FILENO, ready, (size_t)len))
			_exit(MOAT_EXIT_FAILURE);
		statsd_http(fd, sp[1], &waitmask);
		_exit(0);
	}
	close(sp[1]);
	close(fd);
	fd = -1;
	one = statsd_feed(c, only, sp[0], child, &waitmask);
	close(sp[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return one;
}
