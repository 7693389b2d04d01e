// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * probe.c - connection probes run from inside a network namespace
 *
 * Theory of operation
 * -------------------
 * "moat verify" asks, from inside a canary sandbox, whether a destination
 * can be reached. probe_run_in_ns() forks a child that joins the sandbox's
 * network namespace (setns(2): the child is root in it, as an attacker
 * would be) and runs every probe of a batch concurrently, at most
 * PROBE_PARALLEL at a time, from one poll(2) loop; results go back through
 * a shared anonymous mapping. Nothing but the probes runs in the child.
 *
 * What each probe sends, and how the answer is read:
 *
 *   TCP   non-blocking connect(2). Completed: CONNECTED. ECONNREFUSED is a
 *         reset from the target's own stack: it was RESET (reached, nothing
 *         listening). EHOSTUNREACH/EACCES (ICMP administratively
 *         prohibited, moat's "reject"): REJECTED. No answer: TIMEOUT.
 *   UDP   one datagram on a connected socket; any datagram back: ANSWERED;
 *         ICMP port unreachable (ECONNREFUSED): RESET; as TCP otherwise.
 *   ICMP  one echo request on a raw socket; echo reply with our id:
 *         ANSWERED; destination unreachable from the target: REJECTED.
 *   DNS   one query (type A) over UDP; NXDOMAIN, another rcode, or a
 *         datagram that is no response to our query (ANSWERED: something
 *         that is not a resolver was reached). Over TCP: the connection
 *         is classified as a TCP probe's; once connected, the query goes
 *         out with its two-byte length, and a connection that answers
 *         nothing (or closes) is CONNECTED: a listener was reached.
 *
 *   TCP through the proxy (PROBE_TCP_HTTP): where moat's transparent
 *         proxy takes the sandbox's TCP 80 and 443, the kernel completes
 *         the handshake with the proxy whatever the destination, so a
 *         completed connect says nothing. Once connected, one HTTP request
 *         (Host "moat-verify.invalid") goes out: an answer carrying
 *         X-Moat-Denied is the proxy's refusal, PROXY_REFUSED; anything
 *         else (another answer, a close, a reset) stays CONNECTED: the
 *         verdict errs on the side of "reached".
 *
 * Probes carry no payload beyond a fixed token ("moat-verify"), a DNS
 * query or that HTTP request: they are connection attempts, not requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "err.h"
#include "netns.h"
#include "probe.h"

#define PROBE_PARALLEL	512		/* sockets open at once (< 1024) */
#define PROBE_QUERY_MAX	512		/* a probe's request: a DNS query fits */
#define PROBE_READ_MAX	1500		/* one answer read, a packet's worth */
#define PROBE_TOKEN	"moat-verify"
#define PROBE_HTTP_REQ	"GET / HTTP/1.1\r\nHost: moat-verify.invalid\r\n" \
			"Connection: close\r\n\r\n"

/**
 * struct probe_slot - engine state of one probe in flight
 * @idx:	index of the probe in the batch
 * @fd:		its socket
 * @id:		ICMP echo identifier or DNS query id
 * @deadline:	CLOCK_MONOTONIC milliseconds
 * @sent:	PROBE_DNS_TCP, PROBE_TCP_HTTP: connected, query or request
 *		sent, waiting for the answer
 */
struct probe_slot {
	size_t idx;
	int fd;
	uint16_t id;
	long long deadline;
	bool sent;
};

/**
 * probe_now_ms() - monotonic clock in milliseconds
 *
 * Return: milliseconds
 */
static long long probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * probe_set_dst() - set a probe's destination
 * @p:		probe
 * @family:	AF_INET or AF_INET6
 * @addr:	4 or 16 bytes, network order
 * @port:	port, host order
 *
 * Return: 0, or -EAFNOSUPPORT
 */
int probe_set_dst(struct probe *p, int family, const void *addr, uint16_t port)
{
	memset(&p->dst, 0, sizeof(p->dst));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&p->dst;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, addr, 4);
		p->dstlen = sizeof(*s);
		return 0;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&p->dst;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, addr, 16);
		p->dstlen = sizeof(*s);
		p->scope_eth0 = IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/**
 * probe_obs_name() - a result in words
 * @o:		result
 *
 * Return: static string
 */
const char *probe_obs_name(enum probe_obs o)
{
	static const char *const names[] = {
		[OBS_NONE] = "not run",
		[OBS_CONNECTED] = "connected",
		[OBS_ANSWERED] = "answered",
		[OBS_RESET] = "reached (reset)",
		[OBS_REJECTED] = "rejected",
		[OBS_TIMEOUT] = "no answer",
		[OBS_NOROUTE] = "no route",
		[OBS_NXDOMAIN] = "NXDOMAIN",
		[OBS_DNS_OTHER] = "DNS answer",
		[OBS_ERROR] = "error",
		[OBS_PROXY_REFUSED] = "refused by proxy",
	};

	return (unsigned)o < ARRAY_SIZE(names) ? names[o] : "?";
}

/**
 * probe_obs_reached() - whether a result means the target was reached
 * @o:		result
 *
 * Return: true for a connection, an answer or the target's own refusal
 */
bool probe_obs_reached(enum probe_obs o)
{
	return o == OBS_CONNECTED || o == OBS_ANSWERED || o == OBS_RESET ||
	       o == OBS_NXDOMAIN || o == OBS_DNS_OTHER;
}

/**
 * probe_errno_obs() - classify a socket error
 * @e:		errno value
 *
 * Return: result
 */
static enum probe_obs probe_errno_obs(int e)
{
	switch (e) {
	case 0:
		return OBS_CONNECTED;
	case ECONNREFUSED:
		return OBS_RESET;
	case EHOSTUNREACH:
	case EACCES:
	case EPERM:
		return OBS_REJECTED;
	case ETIMEDOUT:
		return OBS_TIMEOUT;
	case ENETUNREACH:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return OBS_NOROUTE;
	default:
		return OBS_ERROR;
	}
}

/**
 * probe_dns_query() - build a DNS query for one name, type A, class IN
 * @buf:	output
 * @len:	its size
 * @id:		query id
 * @name:	dotted name, labels of at most 63 bytes
 *
 * Return: length of the query, 0 if it does not fit or the name is bad
 */
size_t probe_dns_query(uint8_t *buf, size_t len, uint16_t id, const char *name)
{
	size_t o = 12, nl = strlen(name);
	const char *s = name;

	if (len < 12 + nl + 2 + 4 || nl > 253)
		return 0;
	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = 0x01;			/* RD */
	buf[5] = 1;			/* QDCOUNT */
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		if (!l || l > 63)
			return 0;
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, s, l);
		o += l;
		s += l;
		if (*s == '.')
			s++;
	}
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = 1;			/* A */
	buf[o++] = 0;
	buf[o++] = 1;			/* IN */
	return o;
}

/**
 * probe_cksum() - the Internet checksum
 * @data:	bytes
 * @len:	their number
 *
 * Return: checksum, network order
 */
static uint16_t probe_cksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/**
 * probe_start() - open a probe's socket and send what it sends
 * @p:		probe
 * @s:		slot to fill
 *
 * Return: true if the probe is in flight, false if it finished at once
 */
static bool probe_start(struct probe *p, struct probe_slot *s)
{
	int fam = p->dst.ss_family, type = SOCK_DGRAM, proto = 0;
	uint8_t buf[PROBE_QUERY_MAX];
	size_t len = 0;

	if (p->scope_eth0) {
		unsigned ifi = if_nametoindex("eth0");

		if (!ifi) {
			p->obs = OBS_NOROUTE;
			p->err = ENODEV;
			return false;
		}
		((struct sockaddr_in6 *)&p->dst)->sin6_scope_id = ifi;
	}
	if (p->kind == PROBE_TCP || p->kind == PROBE_DNS_TCP ||
	    p->kind == PROBE_TCP_HTTP)
		type = SOCK_STREAM;
	s->sent = false;
	if (p->kind == PROBE_ICMP) {
		type = SOCK_RAW;
		proto = fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	}
	if (getrandom(&s->id, sizeof(s->id), 0) != sizeof(s->id))
		s->id = (uint16_t)getpid();
	s->fd = socket(fam, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (s->fd < 0) {
		p->err = errno;
		p->obs = probe_errno_obs(errno);
		if (p->obs == OBS_CONNECTED)
			p->obs = OBS_ERROR;
		return false;
	}
	if (connect(s->fd, (struct sockaddr *)&p->dst, p->dstlen) &&
	    errno != EINPROGRESS) {
		p->err = errno;
		p->obs = probe_errno_obs(errno);
		goto done;
	}
	if (type == SOCK_STREAM)
		return true;

	if (p->kind == PROBE_UDP) {
		len = sizeof(PROBE_TOKEN) - 1;
		memcpy(buf, PROBE_TOKEN, len);
	} else if (p->kind == PROBE_DNS) {
		len = probe_dns_query(buf, sizeof(buf), s->id, p->qname);
		if (!len) {
			p->obs = OBS_ERROR;
			p->err = EINVAL;
			goto done;
		}
	} else if (fam == AF_INET) {
		struct icmphdr *h = (struct icmphdr *)buf;

		memset(buf, 0, 64);
		h->type = ICMP_ECHO;
		h->un.echo.id = s->id;
		h->un.echo.sequence = htons(1);
		memcpy(buf + sizeof(*h), PROBE_TOKEN, sizeof(PROBE_TOKEN) - 1);
		len = 64;
		h->checksum = probe_cksum(buf, len);
	} else {
		struct icmp6_hdr *h = (struct icmp6_hdr *)buf;

		memset(buf, 0, 64);
		h->icmp6_type = ICMP6_ECHO_REQUEST;
		h->icmp6_id = s->id;
		h->icmp6_seq = htons(1);
		memcpy(buf + sizeof(*h), PROBE_TOKEN, sizeof(PROBE_TOKEN) - 1);
		len = 64;		/* the kernel sums ICMPv6 */
	}
	if (send(s->fd, buf, len, 0) < 0) {
		p->err = errno;
		p->obs = probe_errno_obs(errno);
		if (p->obs == OBS_CONNECTED)
			p->obs = OBS_ERROR;
		goto done;
	}
	return true;
done:
	close(s->fd);
	s->fd = -1;
	return false;
}

/**
 * probe_event() - read what came back for a probe in flight
 * @p:		probe
 * @s:		its slot
 *
 * Return: true if the probe finished
 */
static bool probe_event(struct probe *p, struct probe_slot *s)
{
	uint8_t buf[PROBE_READ_MAX];
	socklen_t sl = sizeof(int);
	ssize_t n;
	int e = 0;

	if (p->kind == PROBE_TCP ||
	    ((p->kind == PROBE_DNS_TCP || p->kind == PROBE_TCP_HTTP) && !s->sent)) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &sl))
			e = errno;
		p->err = e;
		p->obs = probe_errno_obs(e);
		if (p->kind == PROBE_TCP || e)
			return true;
		if (p->kind == PROBE_TCP_HTTP) {
			n = sizeof(PROBE_HTTP_REQ) - 1;
			if (send(s->fd, PROBE_HTTP_REQ, (size_t)n, MSG_NOSIGNAL) != n)
				return true;	/* connected, and that is all */
			s->sent = true;
			return false;
		}
		/* connected: the query, behind its length */
		n = (ssize_t)probe_dns_query(buf + 2, sizeof(buf) - 2, s->id, p->qname);
		if (!n) {
			p->obs = OBS_ERROR;
			p->err = EINVAL;
			return true;
		}
		buf[0] = (uint8_t)(n >> 8);
		buf[1] = (uint8_t)n;
		if (send(s->fd, buf, (size_t)n + 2, MSG_NOSIGNAL) != n + 2)
			return true;	/* connected, and that is all */
		s->sent = true;
		return false;
	}
	n = recv(s->fd, buf, sizeof(buf) - 1, 0);
	if (p->kind == PROBE_TCP_HTTP) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (n > 0) {
			buf[n] = '\0';
			if (memmem(buf, (size_t)n, "\r\nX-Moat-Denied:", 16))
				p->obs = OBS_PROXY_REFUSED;
		}
		return true;
	}
	if (p->kind == PROBE_DNS_TCP) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		/* a close or a reset after connecting: reached, no answer */
		if (n >= 14 && (buf[2] << 8 | buf[3]) == s->id && (buf[4] & 0x80)) {
			p->rcode = buf[5] & 0x0f;
			p->obs = p->rcode == 3 ? OBS_NXDOMAIN : OBS_DNS_OTHER;
		} else if (n > 0) {
			p->obs = OBS_ANSWERED;
		}
		return true;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return false;
		p->err = errno;
		p->obs = probe_errno_obs(errno);
		if (p->obs == OBS_CONNECTED)
			p->obs = OBS_ERROR;
		return true;
	}
	if (p->kind == PROBE_UDP) {
		p->obs = OBS_ANSWERED;
		return true;
	}
	if (p->kind == PROBE_DNS) {
		if (n >= 12 && (buf[0] << 8 | buf[1]) == s->id && (buf[2] & 0x80)) {
			p->rcode = buf[3] & 0x0f;
			p->obs = p->rcode == 3 ? OBS_NXDOMAIN : OBS_DNS_OTHER;
		} else {
			p->obs = OBS_ANSWERED;
		}
		return true;
	}
	if (p->dst.ss_family == AF_INET) {
		const struct iphdr *ip = (const struct iphdr *)buf;
		size_t hl = (size_t)ip->ihl * 4;
		const struct icmphdr *h = (const struct icmphdr *)(buf + hl);

		if (n < (ssize_t)(hl + sizeof(*h)))
			return false;
		if (h->type == ICMP_ECHOREPLY && h->un.echo.id == s->id) {
			p->obs = OBS_ANSWERED;
			return true;
		}
		if (h->type == ICMP_DEST_UNREACH) {
			p->obs = OBS_REJECTED;
			return true;
		}
		return false;
	} else {
		const struct icmp6_hdr *h = (const struct icmp6_hdr *)buf;

		if (n < (ssize_t)sizeof(*h))
			return false;
		if (h->icmp6_type == ICMP6_ECHO_REPLY && h->icmp6_id == s->id) {
			p->obs = OBS_ANSWERED;
			return true;
		}
		if (h->icmp6_type == ICMP6_DST_UNREACH) {
			p->obs = OBS_REJECTED;
			return true;
		}
		return false;
	}
}

/**
 * probe_engine() - run a batch of probes in the current namespace
 * @p:		probes
 * @n:		their number
 * @timeout_ms:	how long each may wait for an answer
 * @stop:	set (by a signal handler) to give up; may be NULL
 */
static void probe_engine(struct probe *p, size_t n, int timeout_ms,
			 volatile const int *stop)
{
	struct probe_slot slot[PROBE_PARALLEL];
	struct pollfd pfd[PROBE_PARALLEL];
	size_t next = 0, active = 0, i;

	while (next < n || active) {
		long long now, wait = timeout_ms;

		if (stop && *stop)
			break;
		while (next < n && active < PROBE_PARALLEL) {
			struct probe_slot *s = &slot[active];

			s->idx = next;
			s->fd = -1;
			s->deadline = probe_now_ms() + timeout_ms;
			if (probe_start(&p[next], s))
				active++;
			next++;
		}
		if (!active)
			continue;
		now = probe_now_ms();
		for (i = 0; i < active; i++) {
			pfd[i].fd = slot[i].fd;
			enum probe_kind kd = p[slot[i].idx].kind;

			pfd[i].events = kd == PROBE_TCP ||
					((kd == PROBE_DNS_TCP ||
					  kd == PROBE_TCP_HTTP) && !slot[i].sent) ?
					POLLOUT : POLLIN;
			pfd[i].revents = 0;
			if (slot[i].deadline - now < wait)
				wait = slot[i].deadline - now;
		}
		if (wait < 0)
			wait = 0;
		if (poll(pfd, active, (int)wait) < 0 && errno != EINTR)
			break;
		now = probe_now_ms();
		for (i = 0; i < active; ) {
			struct probe *q = &p[slot[i].idx];
			bool done = false;

			if (pfd[i].revents)
				done = probe_event(q, &slot[i]);
			if (!done && now >= slot[i].deadline) {
				/* connected but silent is still reached */
				q->obs = slot[i].sent ? OBS_CONNECTED : OBS_TIMEOUT;
				done = true;
			}
			if (done) {
				close(slot[i].fd);
				active--;
				slot[i] = slot[active];
				pfd[i] = pfd[active];
				continue;
			}
			i++;
		}
	}
	for (i = 0; i < active; i++)
		close(slot[i].fd);
}

/**
 * probe_start_in_ns() - start running probes from inside a network namespace
 * @nsfd:	namespace descriptor
 * @p:		probes (copied)
 * @n:		their number
 * @timeout_ms:	how long each may wait for an answer
 * @stop:	set to give up early (probes not run stay OBS_NONE); or NULL
 * @run:	filled in, for probe_wait()
 *
 * Return: 0, or -errno if the probes could not start
 */
int probe_start_in_ns(int nsfd, const struct probe *p, size_t n,
		      int timeout_ms, volatile const int *stop,
		      struct probe_run *run)
{
	run->n = n;
	run->pid = 0;
	run->shared = NULL;
	if (!n)
		return 0;
	run->shared = mmap(NULL, n * sizeof(*p), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (run->shared == MAP_FAILED) {
		run->shared = NULL;
		return -errno;
	}
	memcpy(run->shared, p, n * sizeof(*p));
	run->pid = fork();
	if (run->pid < 0) {
		int e = errno;

		munmap(run->shared, n * sizeof(*p));
		run->shared = NULL;
		return -e;
	}
	if (run->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (netns_enter(nsfd))
			_exit(125);
		probe_engine(run->shared, n, timeout_ms, stop);
		_exit(0);
	}
	return 0;
}

/**
 * probe_wait() - wait for probes started by probe_start_in_ns()
 * @run:	started run
 * @p:		where to copy the results (the probes given to it)
 *
 * Return: 0, or -errno if the probes could not run
 */
int probe_wait(struct probe_run *run, struct probe *p)
{
	int status, ret = 0;

	if (!run->n || !run->shared)
		return 0;
	while (waitpid(run->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = -ECHILD;
		goto out;
	}
	memcpy(p, run->shared, run->n * sizeof(*p));
out:
	munmap(run->shared, run->n * sizeof(*p));
	run->shared = NULL;
	return ret;
}

/**
 * probe_run_in_ns() - run probes from inside a network namespace
 * @nsfd:	namespace descriptor
 * @p:		probes; results are filled in
 * @n:		their number
 * @timeout_ms:	how long each may wait for an answer
 * @stop:	set to give up early (probes not run stay OBS_NONE); or NULL
 *
 * Return: 0, or -errno if the probes could not run
 */
int probe_run_in_ns(int nsfd, struct probe *p, size_t n, int timeout_ms,
		    volatile const int *stop)
{
	struct probe_run run;
	int ret;

	ret = probe_start_in_ns(nsfd, p, n, timeout_ms, stop, &run);
	if (ret)
		return ret;
	return probe_wait(&run, p);
}
