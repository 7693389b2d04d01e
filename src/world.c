// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * world.c - the throwaway world of "moat verify --simulate"
 *
 * Theory of operation
 * -------------------
 * "moat verify --simulate" shows moat at work on a machine without any
 * network, and without touching the machine's own: it builds three
 * network namespaces (random suffix, /run/netns/moatv-*-SFX), runs moat
 * in the first as if it were the host, and removes everything on exit,
 * on failure and on SIGINT/SIGTERM. The topology mirrors the test world
 * (tests/lib/world.sh), smaller:
 *
 *   HOST  moatv-host-SFX   lan0 192.168.77.2/24, 2001:678:1234:77::2/64
 *         servers: tcp *:22, *:8022, 127.0.0.1:8000; udp *:8022
 *         default routes via the LAN router; moat's sandboxes hang here
 *     | veth
 *   LAN   moatv-lan-SFX    router: lan0 .1/24 and 192.168.77.10,
 *         wan0 172.31.255.1/30; on lo: private 10.0.0.5, 100.64.0.1,
 *         fd12:3456::5, link-local 169.254.1.1 and every metadata
 *         address of SPEC §4; servers: tcp *:80, *:5432
 *     | veth
 *   INET  moatv-inet-SFX   "the internet": wan0 172.31.255.2/30; on lo
 *         93.184.216.34, 8.8.8.8, 1.1.1.1, 2606:2800:220:1::1;
 *         servers: tcp *:22, *:80, *:443, *:853; tcp 53 on 8.8.8.8 and
 *         udp 53 on 8.8.8.8 and 1.1.1.1 (count queries and connections,
 *         never answer); udp 853 on 8.8.8.8 and 1.1.1.1, udp
 *         9999 on 93.184.216.34 and 2606:2800:220:1::1; routes back
 *         only to the LAN
 *
 * A warden process, forked first, waits on a pipe: when moat is gone,
 * even killed with SIGKILL, the pipe closes and the warden removes the
 * namespaces, the run directory and the canaries' namespace mounts
 * (named after the world's suffix; their supervisors, which watch the
 * process that made them, remove the rest, and their interfaces go with
 * the world's host namespace).
 *
 * Each namespace's servers are one forked process (setns(2) into it, its
 * own process group so a terminal's ^C reaches only moat, killed by
 * PR_SET_PDEATHSIG if moat dies): a poll(2) loop that answers every TCP
 * connection and every datagram with a short token. The resolver on the
 * "internet" only counts what reaches it, in a shared page: a DNS probe
 * must never get there.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "addr.h"
#include "err.h"
#include "link.h"
#include "netns.h"
#include "probe.h"
#include "world.h"

#define WORLD_SRV_MAX	24	/* sockets one namespace's test server listens on */
#define WORLD_READ_MAX	1500	/* one datagram or read of a test server */

static const char *const world_ns_names[WORLD_NS] = { "host", "lan", "inet" };

/**
 * struct world_srv - one socket a server opens
 * @tcp:	TCP (else UDP)
 * @addr:	address to bind
 * @port:	port
 */
struct world_srv {
	bool tcp;
	const char *addr;
	uint16_t port;
};

static const struct world_srv world_srv_host[] = {
	{ true, "0.0.0.0", 22 }, { true, "::", 22 },
	{ true, "0.0.0.0", 8022 }, { true, "::", 8022 },
	{ true, "127.0.0.1", 8000 },
	{ false, "0.0.0.0", 8022 }, { false, "::", 8022 },
	{ 0 },
};
static const struct world_srv world_srv_lan[] = {
	{ true, "0.0.0.0", 80 }, { true, "::", 80 }, { true, "0.0.0.0", 5432 },
	{ 0 },
};
static const struct world_srv world_srv_inet[] = {
	{ true, "0.0.0.0", 22 }, { true, "::", 22 },
	{ true, "0.0.0.0", 80 }, { true, "::", 80 },
	{ true, "0.0.0.0", 443 }, { true, "::", 443 },
	{ true, "0.0.0.0", 853 }, { true, "::", 853 },
	{ true, WORLD_DNS4, 53 },
	/* UDP on each address: a wildcard socket would answer from wan0's */
	{ false, WORLD_DNS4, 53 }, { false, WORLD_DOT4, 53 },
	{ false, WORLD_DOT4, 853 }, { false, WORLD_DNS4, 853 },
	{ false, WORLD_PUBLIC4, 9999 }, { false, WORLD_PUBLIC6, 9999 },
	{ 0 },
};

/**
 * world_serve() - body of a server process: bind, report ready, answer
 * @spec:	sockets to open, terminated by a zero port
 * @ready:	pipe to write one byte to when every socket is bound
 * @dns:	counter of datagrams to port 53
 */
static void __attribute__((noreturn))
world_serve(const struct world_srv *spec, int ready, volatile unsigned *dns)
{
	struct pollfd pfd[WORLD_SRV_MAX];
	uint16_t port[WORLD_SRV_MAX];
	bool tcp[WORLD_SRV_MAX];
	size_t n = 0, i;
	int one = 1;

	for (; spec->port && n < WORLD_SRV_MAX; spec++, n++) {
		struct sockaddr_storage ss = { 0 };
		socklen_t sl;
		int fam = strchr(spec->addr, ':') ? AF_INET6 : AF_INET;
		int fd = socket(fam, (spec->tcp ? SOCK_STREAM : SOCK_DGRAM) |
				SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (fd < 0)
			_exit(2);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fam == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(spec->port);
			inet_pton(AF_INET6, spec->addr, &s6->sin6_addr);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(spec->port);
			inet_pton(AF_INET, spec->addr, &s4->sin_addr);
			sl = sizeof(*s4);
		}
		if (bind(fd, (struct sockaddr *)&ss, sl))
			_exit(3);
		if (spec->tcp && listen(fd, 64))
			_exit(4);
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		port[n] = spec->port;
		tcp[n] = spec->tcp;
	}
	if (write(ready, "", 1) != 1)
		_exit(5);
	close(ready);

	for (;;) {
		if (poll(pfd, n, -1) < 0)
			continue;
		for (i = 0; i < n; i++) {
			char buf[WORLD_READ_MAX], tok[32];
			struct sockaddr_storage peer;
			socklen_t pl = sizeof(peer);
			ssize_t r;
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			snprintf(tok, sizeof(tok), "MOAT-WORLD-%u\n", port[i]);
			if (tcp[i]) {
				c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
				if (c < 0)
					continue;
				if (port[i] == 53) {
					/* counted, never answered */
					__atomic_add_fetch(dns, 1, __ATOMIC_SEQ_CST);
					close(c);
					continue;
				}
				/* the peer may be gone: nothing to do */
				(void)!write(c, tok, strlen(tok));
				close(c);
				continue;
			}
			r = recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&peer, &pl);
			if (r < 0)
				continue;
			if (port[i] == 53) {
				__atomic_add_fetch(dns, 1, __ATOMIC_SEQ_CST);
				continue;	/* counted, never answered */
			}
			sendto(pfd[i].fd, tok, strlen(tok), 0,
			       (struct sockaddr *)&peer, pl);
		}
	}
}

/**
 * world_spawn() - start the servers of one namespace
 * @w:		world
 * @k:		namespace
 * @spec:	sockets
 *
 * Return: 0 once every socket is bound, -1 after printing why not
 */
static int world_spawn(struct world *w, int k, const struct world_srv *spec)
{
	int pfd[2], ret;
	char c;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		close(pfd[0]);
		if (netns_enter(w->nsfd[k]))
			_exit(1);
		world_serve(spec, pfd[1], w->dns_queries);
	}
	close(pfd[1]);
	w->srv[k] = pid;
	do {
		ret = (int)read(pfd[0], &c, 1);
	} while (ret < 0 && errno == EINTR);
	close(pfd[0]);
	if (ret != 1) {
		msg_err("verify --simulate: the %s servers did not start",
			world_ns_names[k]);
		return -1;
	}
	return 0;
}

/**
 * world_pfx() - parse a literal prefix (the world's own constants)
 * @s:		"ADDR/LEN"
 *
 * Return: the prefix
 */
static struct prefix world_pfx(const char *s)
{
	struct prefix p;

	if (prefix_parse(s, &p, false)) {
		msg_err("verify --simulate: bad built-in prefix %s", s);
		memset(&p, 0, sizeof(p));
	}
	return p;
}

/**
 * world_addrs() - add addresses to an interface of a namespace
 * @l:		route netlink context
 * @dev:	interface
 * @list:	"ADDR/LEN" (host bits kept: an interface address), NULL-terminated
 *
 * Return: 0, or -errno
 */
static int world_addrs(struct link_ctx *l, const char *dev,
		       const char *const *list)
{
	int rc;

	for (; *list; list++) {
		char buf[INET6_ADDRSTRLEN + 4], *slash;
		struct prefix p;

		snprintf(buf, sizeof(buf), "%s", *list);
		slash = strchr(buf, '/');
		if (!slash)
			return -EINVAL;
		*slash = '\0';
		if (addr_parse(buf, &p))
			return -EINVAL;
		p.plen = (uint8_t)atoi(slash + 1);
		rc = link_addr_add(l, dev, &p, true);
		if (rc && rc != -EEXIST)
			return rc;
	}
	return 0;
}

/**
 * world_route() - add a route "DST via GW"
 * @l:		route netlink context
 * @dst:	destination prefix
 * @gw:		gateway address
 *
 * Return: 0, or -errno
 */
static int world_route(struct link_ctx *l, const char *dst, const char *gw)
{
	struct prefix d = world_pfx(dst), g;

	if (addr_parse(gw, &g))
		return -EINVAL;
	return link_route_add(l, &d, NULL, &g);
}

/**
 * world_links() - interfaces, addresses and routes of the three namespaces
 * @w:		world
 *
 * Return: 0, or -errno
 */
static int world_links(struct world *w)
{
	static const char *const host_lan0[] = {
		WORLD_HOST4 "/24", "2001:678:1234:77::2/64", NULL };
	static const char *const lan_lan0[] = {
		"192.168.77.1/24", WORLD_LANSVC4 "/24",
		"2001:678:1234:77::1/64", NULL };
	static const char *const lan_wan0[] = {
		"172.31.255.1/30", "2001:678:1234:ff::1/64", NULL };
	static const char *const lan_lo[] = {
		"10.0.0.5/32", "100.64.0.1/32", "172.16.0.1/32",
		"169.254.1.1/32", "169.254.169.254/32", "169.254.170.2/32",
		"169.254.169.253/32", "169.254.169.123/32",
		"100.100.100.200/32", "192.0.0.192/32", "168.63.129.16/32",
		"fd12:3456::5/128", "fd00:ec2::254/128", NULL };
	static const char *const inet_wan0[] = {
		"172.31.255.2/30", "2001:678:1234:ff::2/64", NULL };
	static const char *const inet_lo[] = {
		WORLD_PUBLIC4 "/32", WORLD_DNS4 "/32", WORLD_DOT4 "/32",
		WORLD_PUBLIC6 "/128", NULL };
	struct link_ctx *l[WORLD_NS] = { 0 };
	int k, rc = -ENOMEM;

	for (k = 0; k < WORLD_NS; k++) {
		l[k] = link_open(w->nsfd[k]);
		if (!l[k])
			goto out;
	}
	if ((rc = link_veth_add(l[WORLD_HOST], "lan0", w->nsfd[WORLD_LAN], "lan0")) ||
	    (rc = link_veth_add(l[WORLD_LAN], "wan0", w->nsfd[WORLD_INET], "wan0")))
		goto out;
	if ((rc = world_addrs(l[WORLD_HOST], "lan0", host_lan0)) ||
	    (rc = world_addrs(l[WORLD_LAN], "lan0", lan_lan0)) ||
	    (rc = world_addrs(l[WORLD_LAN], "wan0", lan_wan0)) ||
	    (rc = world_addrs(l[WORLD_LAN], "lo", lan_lo)) ||
	    (rc = world_addrs(l[WORLD_INET], "wan0", inet_wan0)) ||
	    (rc = world_addrs(l[WORLD_INET], "lo", inet_lo)))
		goto out;
	for (k = 0; k < WORLD_NS; k++)
		if ((rc = link_up(l[k], "lo")))
			goto out;
	if ((rc = link_up(l[WORLD_HOST], "lan0")) ||
	    (rc = link_up(l[WORLD_LAN], "lan0")) ||
	    (rc = link_up(l[WORLD_LAN], "wan0")) ||
	    (rc = link_up(l[WORLD_INET], "wan0")))
		goto out;
	if ((rc = world_route(l[WORLD_LAN], "0.0.0.0/0", "172.31.255.2")) ||
	    (rc = world_route(l[WORLD_LAN], "::/0", "2001:678:1234:ff::2")) ||
	    (rc = world_route(l[WORLD_INET], "192.168.77.0/24", "172.31.255.1")) ||
	    (rc = world_route(l[WORLD_INET], "2001:678:1234:77::/64", "2001:678:1234:ff::1")) ||
	    (rc = world_route(l[WORLD_HOST], "0.0.0.0/0", "192.168.77.1")) ||
	    (rc = world_route(l[WORLD_HOST], "::/0", "2001:678:1234:77::1")))
		goto out;
	rc = 0;
out:
	for (k = 0; k < WORLD_NS; k++)
		if (l[k])
			link_close(l[k]);
	return rc;
}

/**
 * world_wait_path() - wait until HOST reaches the internet, v4 and v6
 * @w:		world
 * @stop:	set to give up
 *
 * Return: 0, or -1 if the world's own paths do not work after 10 s
 */
static int world_wait_path(struct world *w, volatile const int *stop)
{
	struct probe p[2] = { 0 };
	struct prefix a4, a6;
	int i;

	addr_parse(WORLD_PUBLIC4, &a4);
	addr_parse(WORLD_PUBLIC6, &a6);
	for (i = 0; i < 40 && !(stop && *stop); i++) {
		probe_set_dst(&p[0], AF_INET, a4.addr, 22);
		probe_set_dst(&p[1], AF_INET6, a6.addr, 22);
		p[0].obs = p[1].obs = OBS_NONE;
		if (probe_run_in_ns(w->nsfd[WORLD_HOST], p, 2, 250, stop))
			return -1;
		if (p[0].obs == OBS_CONNECTED && p[1].obs == OBS_CONNECTED)
			return 0;
		usleep(10000);
	}
	if (stop && *stop)
		return -1;
	msg_err("verify --simulate: the simulated world does not route (v4: %s, v6: %s)",
		probe_obs_name(p[0].obs), probe_obs_name(p[1].obs));
	return -1;
}

/**
 * world_rm() - nftw() callback removing one entry
 * @path:	entry
 * @st:		unused
 * @flag:	unused
 * @ftw:	unused
 *
 * Return: 0
 */
static int world_rm(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/**
 * world_warden() - fork the process that removes the world if moat dies
 * @w:		world, with its paths and run directory set
 *
 * Return: 0, or -1 if it cannot be started
 */
static int world_warden(struct world *w)
{
	int pfd[2], k;
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	w->warden = fork();
	if (w->warden < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (w->warden == 0) {
		struct sigaction sa = { .sa_handler = SIG_IGN };

		/* not in moat's process group: a terminal's ^C is moat's */
		setpgid(0, 0);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		/* EOF: moat is gone; whatever world_destroy() left goes now */
		for (k = 0; k < WORLD_NS; k++)
			netns_remove(w->path[k]);
		/* canaries being created had no supervisor to remove them */
		for (k = 0; k < 2; k++) {
			char cp[96];

			snprintf(cp, sizeof(cp), NETNS_RUN_DIR "/moat-" WORLD_CANARY_FMT,
				 w->sfx, 'a' + k);
			netns_remove(cp);
		}
		nftw(w->run_dir, world_rm, 16, FTW_DEPTH | FTW_PHYS);
		_exit(0);
	}
	close(pfd[0]);
	w->warden_fd = pfd[1];
	return 0;
}

/**
 * world_create() - build the world
 * @w:		filled in; world_destroy() must be called whatever this returns
 * @stop:	set (by a signal handler) to give up
 *
 * Return: 0, or -1 after printing why
 */
int world_create(struct world *w, volatile const int *stop)
{
	static const struct world_srv *const specs[WORLD_NS] = {
		world_srv_host, world_srv_lan, world_srv_inet };
	uint32_t r;
	int k, rc;

	memset(w, 0, sizeof(*w));
	w->warden_fd = -1;
	for (k = 0; k < WORLD_NS; k++)
		w->nsfd[k] = -1;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	snprintf(w->sfx, sizeof(w->sfx), "%08x", r);
	w->dns_queries = mmap(NULL, sizeof(unsigned), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->dns_queries == MAP_FAILED) {
		w->dns_queries = NULL;
		return -1;
	}
	snprintf(w->run_dir, sizeof(w->run_dir), "/tmp/moatv-%s.XXXXXX", w->sfx);
	if (!mkdtemp(w->run_dir)) {
		msg_err("verify --simulate: mkdtemp: %s", strerror(errno));
		w->run_dir[0] = '\0';
		return -1;
	}

	for (k = 0; k < WORLD_NS; k++)
		snprintf(w->path[k], sizeof(w->path[k]), NETNS_RUN_DIR "/moatv-%s-%s",
			 world_ns_names[k], w->sfx);
	fprintf(stderr, "moat verify: building a simulated world (host, LAN, metadata, internet) in network namespaces moatv-{host,lan,inet}-%s\n",
		w->sfx);
	if (world_warden(w)) {
		msg_err("verify --simulate: cannot start the world's warden: %s",
			strerror(errno));
		return -1;
	}
	for (k = 0; k < WORLD_NS; k++) {
		rc = netns_create(w->path[k]);
		if (rc) {
			msg_err("verify --simulate: cannot create %s: %s",
				w->path[k], strerror(-rc));
			return -1;
		}
		w->made[k] = true;
		w->nsfd[k] = netns_open(w->path[k]);
		if (w->nsfd[k] < 0) {
			msg_err("verify --simulate: cannot open %s", w->path[k]);
			return -1;
		}
		/* no DAD on the world's own links: ND would stall a second */
		if (netns_sysctl(w->nsfd[k], "net.ipv6.conf.default.accept_dad", "0") ||
		    netns_sysctl(w->nsfd[k], "net.ipv6.conf.all.accept_dad", "0")) {
			msg_err("verify --simulate: cannot configure IPv6 in %s", w->path[k]);
			return -1;
		}
	}
	if (netns_sysctl(w->nsfd[WORLD_LAN], "net.ipv4.ip_forward", "1") ||
	    netns_sysctl(w->nsfd[WORLD_LAN], "net.ipv6.conf.all.forwarding", "1") ||
	    netns_sysctl(w->nsfd[WORLD_HOST], "net.ipv4.ip_forward", "0")) {
		msg_err("verify --simulate: cannot make the LAN a router");
		return -1;
	}
	rc = world_links(w);
	if (rc) {
		msg_err("verify --simulate: cannot build the world's links: %s",
			strerror(-rc));
		return -1;
	}
	/* moat's own interfaces, later, get the kernel's defaults again */
	netns_sysctl(w->nsfd[WORLD_HOST], "net.ipv6.conf.default.accept_dad", "1");
	for (k = 0; k < WORLD_NS; k++)
		if (world_spawn(w, k, specs[k]))
			return -1;
	return world_wait_path(w, stop);
}

/**
 * world_destroy() - remove everything world_create() made; idempotent
 * @w:		world
 */
void world_destroy(struct world *w)
{
	int k;

	for (k = 0; k < WORLD_NS; k++) {
		if (w->srv[k] > 0) {
			kill(w->srv[k], SIGKILL);
			while (waitpid(w->srv[k], NULL, 0) < 0 && errno == EINTR)
				;
			w->srv[k] = 0;
		}
	}
	for (k = 0; k < WORLD_NS; k++) {
		if (w->nsfd[k] >= 0)
			close(w->nsfd[k]);
		w->nsfd[k] = -1;
		if (w->made[k])
			netns_remove(w->path[k]);
		w->made[k] = false;
	}
	if (w->run_dir[0]) {
		nftw(w->run_dir, world_rm, 16, FTW_DEPTH | FTW_PHYS);
		w->run_dir[0] = '\0';
	}
	if (w->dns_queries) {
		munmap((void *)w->dns_queries, sizeof(unsigned));
		w->dns_queries = NULL;
	}
	if (w->warden_fd >= 0) {
		close(w->warden_fd);	/* the warden finds nothing left */
		w->warden_fd = -1;
		while (waitpid(w->warden, NULL, 0) < 0 && errno == EINTR)
			;
		w->warden = 0;
	}
}
