// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * verify.c - "moat verify": the isolation canary
 *
 * Theory of operation
 * -------------------
 * Isolation is not trusted to be configured; it is shown. One run:
 *
 *   1. two canary sandboxes, "verify-XXXXXXXX-a" and "-b", are created by
 *      moat's own code (sandbox_create(), exactly as "moat run" does; their
 *      supervisors watch this process and remove them if it dies). Live,
 *      both have the canary policy: egress default deny, plus one allowed
 *      name (so its DNS is judged and its TCP 80/443 go through the
 *      proxy). Under --simulate, canary a has the
 *      default policy plus one LAN port, so that allowed probes show the
 *      policy is not simply "nothing works".
 *   2. probes, from root inside the canaries (probe.c), each with the
 *      result it must have:
 *        - every address of the host (every interface, v4 and v6,
 *          link-local, each sandbox gateway; loopback is left to the
 *          martian tests) on every TCP and UDP port the host listens on,
 *          read from the kernel (/proc/net/{tcp,udp}{,6}), plus TCP 22,
 *          2375, 2376, 6443 and 10250, and an ICMP echo (I2); port 53 is
 *          DNS, probed below;
 *        - the other canary, both ways, TCP, UDP and ICMP echo, v4 and
 *          v6 (I1);
 *        - the canaries' link, the one exception to I1: canary a allows
 *          sandbox:b on TCP VERIFY_LINK and canary b accepts sandbox:a
 *          there, so a reaches b on that port (a reset from b's own
 *          stack: nothing listens), v4 and v6, and on nothing else: UDP
 *          to that port, and b to a, are blocked;
 *        - every metadata address of SPEC §4, TCP 80 (I3);
 *        - a DNS query for a random name that no rule allows, over UDP
 *          and TCP: NXDOMAIN from moat's interceptor, never forwarded (I4);
 *        - TCP 80 and 443 through a canary's proxy carry one HTTP request:
 *          the proxy's 403 is "refused by proxy", not a reach (probe.c);
 *        - DoT (TCP 853) to the gateway, and to --probe-target's address;
 *        - a direct connection to --probe-target ADDR:PORT, if given (I3).
 *      and the allowed paths, that must work, so that "isolation holds"
 *      never hides "nothing works":
 *        - a TCP connection from canary a to --probe-allow ADDR:PORT (its
 *          policy then allows that and no name: forwarded, not proxied);
 *        - a DNS query for --probe-dns NAME (allowed to canary b) through
 *          its interceptor: an answer with rcode NOERROR.
 *      Live, probes only ever go to the host's own addresses, the
 *      canaries, metadata addresses, and the operator's targets.
 *   3. the ruleset audit (audit.c), with the canaries in place, and the
 *      other tables' forward chains that drop (hostfw.c);
 *   4. the canaries are removed; a table (probe, expected, observed,
 *      verdict) or one JSON document is printed; the exit status is 1 if
 *      anything did not match.
 *
 * --simulate (world.c) first builds a throwaway world and runs all of
 * this inside its host namespace, with more probes into its LAN and
 * "internet" that must succeed or fail by the policy. --interval repeats
 * a live run, and --on-fail CMD gets the JSON report of every failed run
 * on its standard input.
 *
 * SIGINT, SIGTERM and SIGHUP stop a run between steps: the canaries and
 * the world are removed before moat exits (status 128 + signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/wait.h>

#include "audit.h"
#include "cli.h"
#include "err.h"
#include "netns.h"
#include "nft.h"
#include "policy.h"
#include "probe.h"
#include "report.h"
#include "sandbox.h"
#include "verify.h"
#include "world.h"

#define VERIFY_TIMEOUT_MS	1000	/* per probe */
#define VERIFY_PORTS_MAX	1024	/* listening ports per protocol */
#define VERIFY_ADDRS_MAX	512	/* host addresses */
#define VERIFY_FIXED_TCP	{ 22, 2375, 2376, 6443, 10250 }
#define VERIFY_DISCARD		9	/* port probed on the other canary */
#define VERIFY_LINK		7U	/* the canaries' link, a to b, TCP */
#define VERIFY_PROXY_HOSTS	32	/* host IPv4 addresses via the proxy */

static const char usage_verify[] =
"Usage: moat verify [--simulate] [--json] [--probe-target ADDR:PORT]\n"
"                   [--probe-allow ADDR:PORT] [--probe-dns NAME]\n"
"                   [--interval DURATION] [--on-fail CMD]\n"
"\n"
"Prove isolation: create two canary sandboxes, probe from root inside them\n"
"everything they must not reach (the host's addresses on every port it\n"
"listens on, each other, cloud metadata, DNS and DoT), audit the live\n"
"nftables ruleset, remove the canaries, and print a table (probe, expected,\n"
"observed, verdict). Exit status 1 if anything did not match.\n"
"\n"
"  --simulate                build a throwaway world of network namespaces\n"
"                            (host, LAN, metadata, \"internet\") and verify in\n"
"                            it; no packet leaves the machine\n"
"  --json                    print one JSON document per run instead\n"
"  --probe-target ADDR:PORT  also try a direct TCP connection to this\n"
"                            internet address (and DoT to ADDR:853); without\n"
"                            it no probe leaves the host\n"
"  --probe-allow ADDR:PORT   a canary whose policy allows this TCP destination\n"
"                            must connect to it (forwarded, not proxied):\n"
"                            isolation holding does not hide nothing working\n"
"  --probe-dns NAME          a canary whose policy allows NAME must get it\n"
"                            resolved by its DNS interceptor (NOERROR)\n"
"  --interval DURATION       repeat every DURATION (30s, 5m, 1h) until\n"
"                            SIGINT/SIGTERM\n"
"  --on-fail CMD             run CMD (sh -c) after a failed run, with the JSON\n"
"                            report on its standard input\n";

/* the cloud metadata addresses of SPEC §4 */
static const char *const verify_meta[] = {
	"169.254.169.254", "169.254.170.2", "169.254.169.253",
	"169.254.169.123", "fd00:ec2::254", "100.100.100.200",
	"192.0.0.192", "168.63.129.16",
};

static volatile int verify_stop;

/**
 * struct verify_targets - the operator's targets of a live run
 * @target:	--probe-target (must be blocked), or NULL
 * @tport:	its port
 * @allow:	--probe-allow (must connect from canary a), or NULL
 * @aport:	its port
 * @dns:	--probe-dns NAME (canary b's allowed name, must resolve), or
 *		NULL
 */
struct verify_targets {
	const struct prefix *target;
	uint16_t tport;
	const struct prefix *allow;
	uint16_t aport;
	const char *dns;
};

/**
 * verify_signal() - note a termination signal; the run stops between steps
 * @sig:	signal
 */
static void verify_signal(int sig)
{
	verify_stop = sig;
}

/**
 * enum vexp - what a probe must observe
 */
enum vexp {
	EXP_BLOCKED,	/* rejected, dropped, or no route */
	EXP_REACHED,	/* connected or answered */
	EXP_LINKED,	/* over a link: connected, or reset by the peer's
			 * own stack (nothing listens there) */
	EXP_NXDOMAIN,	/* NXDOMAIN (from moat's interceptor) */
	EXP_RESOLVED,	/* a DNS answer with rcode NOERROR */
};

/**
 * struct vprobe - a probe with its place in the report
 * @p:		the probe
 * @from:	canary index (0: a, 1: b)
 * @check:	its description
 * @inv:	invariant
 * @exp:	expected result
 */
struct vprobe {
	struct probe p;
	int from;
	char check[160];
	const char *inv;
	enum vexp exp;
};

/**
 * struct vplan - the probes of one run
 * @v:		probes
 * @n:		their number
 * @cap:	allocated
 * @rewrite:	nft script for canary b's own namespace (verify_plan_proxy()),
 *		or NULL
 */
struct vplan {
	struct vprobe *v;
	size_t n;
	size_t cap;
	char *rewrite;
};

/**
 * vplan_add() - add a probe
 * @pl:		plan
 * @from:	canary index
 * @kind:	probe kind
 * @family:	AF_INET or AF_INET6
 * @addr:	destination address, network order
 * @port:	port (host order)
 * @inv:	invariant
 * @exp:	expected result
 * @what:	description prefix ("host", "sandbox b", ...)
 *
 * Return: the probe, to set a DNS name on
 */
static struct vprobe *vplan_add(struct vplan *pl, int from, enum probe_kind kind,
				int family, const void *addr, uint16_t port,
				const char *inv, enum vexp exp, const char *what)
{
	static const char *const kinds[] = { "tcp", "udp", "icmp", "dns",
					     "dns-tcp", "tcp" };
	char a[INET6_ADDRSTRLEN];
	struct vprobe *v;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 256;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	v = &pl->v[pl->n++];
	memset(v, 0, sizeof(*v));
	probe_set_dst(&v->p, family, addr, port);
	v->p.kind = kind;
	v->from = from;
	v->inv = inv;
	v->exp = exp;
	inet_ntop(family, addr, a, sizeof(a));
	if (kind == PROBE_ICMP)
		snprintf(v->check, sizeof(v->check), "%s %s icmp", what, a);
	else if (family == AF_INET6)
		snprintf(v->check, sizeof(v->check), "%s [%s]:%u/%s", what, a,
			 port, kinds[kind]);
	else
		snprintf(v->check, sizeof(v->check), "%s %s:%u/%s", what, a,
			 port, kinds[kind]);
	return v;
}

/**
 * vplan_add_str() - add a probe to a literal address
 * @pl:		plan
 * @from:	canary index
 * @kind:	probe kind
 * @addr:	address text
 * @port:	port
 * @inv:	invariant
 * @exp:	expected result
 * @what:	description prefix
 *
 * Return: the probe, or NULL for a bad address
 */
static struct vprobe *vplan_add_str(struct vplan *pl, int from,
				    enum probe_kind kind, const char *addr,
				    uint16_t port, const char *inv,
				    enum vexp exp, const char *what)
{
	struct prefix p;

	if (addr_parse(addr, &p))
		return NULL;
	return vplan_add(pl, from, kind, p.family, p.addr, port, inv, exp, what);
}

/**
 * verify_ports() - ports the host listens on, read from the kernel
 * @tcp:	TCP (else UDP)
 * @ports:	output, sorted, unique, without 53
 * @max:	capacity
 *
 * Listening TCP sockets (state 0A) and bound, unconnected UDP sockets
 * (state 07 with no remote port) of the current network namespace.
 *
 * Return: number of ports
 */
static size_t verify_ports(bool tcp, uint16_t *ports, size_t max)
{
	static const char *const tf[] = { "/proc/self/net/tcp", "/proc/self/net/tcp6" };
	static const char *const uf[] = { "/proc/self/net/udp", "/proc/self/net/udp6" };
	static bool seen[65536];
	size_t n = 0, k;
	unsigned p;

	memset(seen, 0, sizeof(seen));
	if (tcp) {
		static const uint16_t fixed[] = VERIFY_FIXED_TCP;

		for (k = 0; k < ARRAY_SIZE(fixed); k++)
			seen[fixed[k]] = true;
	}
	for (k = 0; k < 2; k++) {
		FILE *f = fopen(tcp ? tf[k] : uf[k], "re");
		char line[512];

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char la[64], ra[64];
			unsigned lp, rp, st;

			if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x",
				   la, &lp, ra, &rp, &st) != 5)
				continue;
			if (tcp ? st != 0x0A : (st != 0x07 || rp != 0))
				continue;
			seen[lp & 0xffff] = true;
		}
		fclose(f);
	}
	seen[53] = false;	/* DNS: intercepted by design, probed apart */
	for (p = 1; p < 65536 && n < max; p++)
		if (seen[p])
			ports[n++] = (uint16_t)p;
	return n;
}

/**
 * struct canary - one canary sandbox
 * @name:	its name
 * @s:		its record
 * @made:	created (to be removed)
 */
struct canary {
	char name[MOAT_NAME_MAX + 1];
	struct sb_state s;
	bool made;
};

/**
 * verify_canary_policy() - the policy of a canary
 * @p:		initialised policy to fill
 * @simulate:	--simulate
 * @simulate_a:	canary a of --simulate: default public plus one LAN port
 * @host4:	canary b: the host's IPv4 addresses its rules allow on TCP 80
 *		and 443, with 0.0.0.0 (verify_plan_proxy()); NULL otherwise
 * @nhost4:	their number
 * @t:		the operator's targets (live), or NULL
 * @k:		canary index
 * @peer:	the other canary's name: a link from a to b on TCP
 *		VERIFY_LINK (a allows it, b accepts it)
 *
 * The deny canary has one allowed name, so that its DNS is judged and its
 * TCP 443 goes through the proxy; simulated, its upstream is the world's
 * resolver, which counts what reaches it. Live, with --probe-allow,
 * canary a allows that address and port instead of the name (no proxy:
 * its connection is forwarded, as a sandbox's allowed traffic is); with
 * --probe-dns, canary b allows that name too.
 *
 * Return: 0, or -1 after printing why
 */
static int verify_canary_policy(struct policy *p, bool simulate, bool simulate_a,
				const struct prefix *host4, size_t nhost4,
				const struct verify_targets *t, int k_canary,
				const char *peer)
{
	char rule[INET6_ADDRSTRLEN + 300], a[INET6_ADDRSTRLEN];
	struct errlist el = { 0 };
	int ret = 0;
	size_t k;

	if (simulate_a) {
		p->egress_default = EGRESS_PUBLIC;
		ret = policy_parse_rule_arg(p, WORLD_LANSVC4 ":5432/tcp", true,
					    "canary", &el);
	} else if (t && t->allow && k_canary == 0) {
		p->egress_default = EGRESS_DENY;
		inet_ntop(t->allow->family, t->allow->addr, a, sizeof(a));
		snprintf(rule, sizeof(rule), t->allow->family == AF_INET6 ?
			 "[%s]:%u/tcp" : "%s:%u/tcp", a, t->aport);
		ret = policy_parse_rule_arg(p, rule, true, "canary", &el);
	} else {
		p->egress_default = EGRESS_DENY;
		ret = policy_parse_rule_arg(p, "example.com:443/tcp", true,
					    "canary", &el);
	}
	if (!ret) {
		snprintf(rule, sizeof(rule), POLICY_LINK_PREFIX "%.*s:%u/tcp",
			 MOAT_NAME_MAX, peer, VERIFY_LINK);
		ret = k_canary ? policy_parse_accept_arg(p, rule, &el) :
				 policy_parse_rule_arg(p, rule, true, "canary", &el);
	}
	if (!ret && t && t->dns && k_canary == 1) {
		snprintf(rule, sizeof(rule), "%s:443/tcp", t->dns);
		ret = policy_parse_rule_arg(p, rule, true, "canary", &el);
	}
	/* the proxied path to the host (verify_plan_proxy()): the rules
	 * allow it, only the kernel's judgement of the proxy's connection
	 * stands in the way (the host is never forwarded: nothing leaves) */
	for (k = 0; !ret && k <= nhost4; k++) {
		if (k == nhost4)
			snprintf(a, sizeof(a), "0.0.0.0");
		else
			inet_ntop(AF_INET, host4[k].addr, a, sizeof(a));
		snprintf(rule, sizeof(rule), "%s:80,443/tcp", a);
		ret = policy_parse_rule_arg(p, rule, true, "canary", &el);
	}
	if (!ret && simulate) {
		p->dns_upstream = xcalloc(1, sizeof(*p->dns_upstream));
		p->ndns_upstream = 1;
		p->loc_dns_upstream = (struct srcloc){ "canary", 0, 0 };
		ret = addr_parse(WORLD_DNS4, &p->dns_upstream[0]);
	}
	if (!ret)
		ret = policy_check_supported(p, &el);
	if (ret) {
		errlist_print(&el, stderr);
		ret = -1;
	}
	errlist_free(&el);
	return ret;
}

/**
 * verify_canaries_make() - create the two canaries
 * @c:		settings
 * @cn:		canaries, names filled in here
 * @w:		the simulated world, or NULL
 * @host4:	the host's IPv4 addresses, for canary b (verify_canary_policy())
 * @nhost4:	their number
 * @t:		the operator's targets (live), or NULL
 *
 * Return: 0, or -1 after printing why (what was made is in @cn)
 */
static int verify_canaries_make(const struct moat_config *c, struct canary *cn,
				const struct world *w, const struct prefix *host4,
				size_t nhost4, const struct verify_targets *t)
{
	bool simulate = w != NULL;
	char sfx[16];
	uint32_t r;
	int k;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	/* simulated: named after the world, whose warden knows them */
	snprintf(sfx, sizeof(sfx), "%08x", r);
	if (w)
		snprintf(sfx, sizeof(sfx), "%s", w->sfx);
	for (k = 0; k < 2; k++)
		snprintf(cn[k].name, sizeof(cn[k].name), WORLD_CANARY_FMT, sfx,
			 'a' + k);
	for (k = 0; k < 2; k++) {
		struct sb_opts o = { 0 };
		struct policy p;
		int ret;

		if (verify_stop)
			return -1;
		policy_init(&p);
		if (verify_canary_policy(&p, simulate, simulate && k == 0,
					 k ? host4 : NULL, k ? nhost4 : 0, t, k,
					 cn[!k].name)) {
			policy_free(&p);
			return -1;
		}
		o.name = cn[k].name;
		o.pol = &p;
		o.run_mode = true;	/* removed by its supervisor if we die */
		o.watch_pid = getpid();
		/* a foreign drop is the audit's finding, not a reason to stop */
		o.allow_foreign_drop = true;
		ret = sandbox_create(c, &o, &cn[k].s);
		policy_free(&p);
		if (ret) {
			msg_err("verify: cannot create the canary sandbox %s",
				cn[k].name);
			return -1;
		}
		cn[k].made = true;
	}
	return 0;
}

/**
 * verify_canaries_remove() - remove the canaries that were made
 * @c:		settings
 * @cn:		canaries
 *
 * Return: 0, or -1 if one could not be removed
 */
static int verify_canaries_remove(const struct moat_config *c, struct canary *cn)
{
	int k, ret = 0;

	for (k = 0; k < 2; k++) {
		if (!cn[k].made)
			continue;
		if (sandbox_destroy(c, cn[k].name, true, false) < 0)
			ret = -1;
		cn[k].made = false;
	}
	return ret;
}

/**
 * verify_plan_host() - probes of every host address on every listening
 * port, from canary a
 * @pl:		plan
 */
static void verify_plan_host(struct vplan *pl)
{
	static uint16_t tports[VERIFY_PORTS_MAX], uports[VERIFY_PORTS_MAX];
	size_t nt = verify_ports(true, tports, VERIFY_PORTS_MAX);
	size_t nu = verify_ports(false, uports, VERIFY_PORTS_MAX);
	struct ifaddrs *ifa, *i;
	size_t naddr = 0, k;

	if (getifaddrs(&ifa)) {
		msg_warn("verify: cannot list the host's addresses: %s", strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		const void *a;
		int fam;
		char what[64];

		if (!i->ifa_addr)
			continue;
		fam = i->ifa_addr->sa_family;
		if (fam == AF_INET) {
			a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			if (((const uint8_t *)a)[0] == 127)
				continue;	/* the sandbox's own lo */
		} else if (fam == AF_INET6) {
			a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LOOPBACK(a))
				continue;
		} else {
			continue;
		}
		if (++naddr > VERIFY_ADDRS_MAX)
			continue;
		snprintf(what, sizeof(what), "host %s", i->ifa_name);
		for (k = 0; k < nt; k++)
			vplan_add(pl, 0, PROBE_TCP, fam, a, tports[k], "I2",
				  EXP_BLOCKED, what);
		for (k = 0; k < nu; k++)
			vplan_add(pl, 0, PROBE_UDP, fam, a, uports[k], "I2",
				  EXP_BLOCKED, what);
		vplan_add(pl, 0, PROBE_ICMP, fam, a, 0, "I2", EXP_BLOCKED, what);
	}
	freeifaddrs(ifa);
	if (naddr > VERIFY_ADDRS_MAX)
		msg_warn("verify: the host has %zu addresses; probing the first %d",
			 naddr, VERIFY_ADDRS_MAX);
	if (nt == VERIFY_PORTS_MAX || nu == VERIFY_PORTS_MAX)
		msg_warn("verify: probing the first %d listening ports of each protocol",
			 VERIFY_PORTS_MAX);
}

/**
 * verify_plan_world() - the probes into the simulated world's LAN and
 * internet: what the policies allow must work, the rest must not
 * @pl:		plan
 * @cn:		canaries (a: default public plus one LAN port; b: deny)
 */
static void verify_plan_world(struct vplan *pl, const struct canary *cn)
{
	size_t k;

	vplan_add_str(pl, 0, PROBE_TCP, WORLD_PUBLIC4, 80, "I3", EXP_REACHED, "public");
	vplan_add_str(pl, 0, PROBE_TCP, WORLD_PUBLIC4, 443, "I3", EXP_REACHED, "public");
	vplan_add_str(pl, 0, PROBE_UDP, WORLD_PUBLIC4, 9999, "I3", EXP_REACHED, "public");
	if (cn[0].s.has_v6)
		vplan_add_str(pl, 0, PROBE_TCP, WORLD_PUBLIC6, 80, "I3", EXP_REACHED, "public");
	vplan_add_str(pl, 0, PROBE_TCP, WORLD_LANSVC4, 5432, "I3", EXP_REACHED,
		      "allowed LAN");
	vplan_add_str(pl, 0, PROBE_TCP, WORLD_LANSVC4, 80, "I3", EXP_BLOCKED, "LAN");
	vplan_add_str(pl, 0, PROBE_TCP, "10.0.0.5", 80, "I3", EXP_BLOCKED, "private");
	vplan_add_str(pl, 0, PROBE_TCP, "100.64.0.1", 80, "I3", EXP_BLOCKED, "CGN");
	vplan_add_str(pl, 0, PROBE_TCP, "fd12:3456::5", 80, "I3", EXP_BLOCKED, "ULA");
	vplan_add_str(pl, 0, PROBE_TCP, "169.254.1.1", 80, "I3", EXP_BLOCKED, "link-local");
	for (k = 0; k < ARRAY_SIZE(verify_meta); k++)
		vplan_add_str(pl, 0, PROBE_TCP, verify_meta[k], 80, "I3", EXP_BLOCKED,
			      "metadata");
	/* port 22: the canary's domain rule (443) may bring a proxy on 443 */
	vplan_add_str(pl, 1, PROBE_TCP, WORLD_PUBLIC4, 22, "I3", EXP_BLOCKED,
		      "direct internet");
	vplan_add_str(pl, 1, PROBE_UDP, WORLD_PUBLIC4, 9999, "I3", EXP_BLOCKED,
		      "direct internet");
}

/**
 * verify_host4() - the host's IPv4 addresses, but loopback and the pool
 * @c:		settings (the pool)
 * @h:		output
 * @max:	its room
 *
 * Return: number of addresses
 */
static size_t verify_host4(const struct moat_config *c, struct prefix *h,
			   size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0, k;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct prefix p = { .family = AF_INET, .plen = 32 };

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		memcpy(p.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		if (p.addr[0] == 127 || prefix_contains(&c->pool4, &p))
			continue;
		for (k = 0; k < n && memcmp(h[k].addr, p.addr, 4); k++)
			;
		if (k == n)
			h[n++] = p;
	}
	freeifaddrs(ifa);
	return n;
}

/**
 * verify_decoy() - an address in the pool, outside every canary's /30 or
 * /64, that a rewritten probe is addressed to
 * @c:		settings
 * @family:	AF_INET or AF_INET6
 * @k:		which one (0-based)
 * @out:	the address
 *
 * Counted down from the end of the pool. Were the rewrite missing, the
 * probe would still only meet moat: the proxy refuses a sandbox
 * destination, and the forward chains drop the pool (I1).
 */
static void verify_decoy(const struct moat_config *c, int family, unsigned k,
			 struct prefix *out)
{
	unsigned b;

	*out = family == AF_INET ? c->pool4 : c->pool6;
	if (family == AF_INET) {
		uint32_t v;

		memcpy(&v, out->addr, 4);
		v = htonl(ntohl(v) + (uint32_t)((1ULL << (32 - out->plen)) - 2 - 4 * k));
		memcpy(out->addr, &v, 4);
		out->plen = 32;
		return;
	}
	for (b = out->plen; b < 64; b++)	/* the pool's last /64 */
		out->addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	out->addr[14] = (uint8_t)((k + 2) >> 8);
	out->addr[15] = (uint8_t)(k + 2);
	out->plen = 128;
}

/**
 * verify_plan_proxy() - the proxied path to the host, from canary b
 * @pl:		plan (its rewrite script is set here)
 * @c:		settings
 * @cn:		canaries
 * @host4:	the host's IPv4 addresses (canary b's rules allow them on
 *		TCP 80 and 443, and 0.0.0.0)
 * @nhost4:	their number
 *
 * The proxy connects to the original destination from the host's own
 * stack, where 0.0.0.0, :: and ::ffff:127.0.0.1 are its loopback and
 * ::ffff:ADDR one of its addresses. Root in a sandbox can give the proxy
 * any such destination by rewriting its own packets as they leave; so
 * does this plan, from inside canary b: a netdev egress chain rewrites
 * TCP 80 and 443 to one decoy address per target into the target, and an
 * ingress chain rewrites the replies back. Each must be refused (the
 * proxy's 403), by the proxy's own checks or, where canary b's rules
 * allow the address, by the kernel's judgement of the proxy's connection
 * (the sandbox's output chain).
 */
static void verify_plan_proxy(struct vplan *pl, const struct moat_config *c,
			      const struct canary *cn, const struct prefix *host4,
			      size_t nhost4)
{
	static const char *const v6[] = { "::", "::ffff:0.0.0.0", "::ffff:127.0.0.1" };
	char d[INET6_ADDRSTRLEN + 4], t[INET6_ADDRSTRLEN + 4], *eg = NULL, *in = NULL;
	size_t le = 0, li = 0, k, nt;
	FILE *fe, *fi, *f;
	unsigned port;

	if (!cn[1].s.proxy)
		return;
	fe = open_memstream(&eg, &le);
	fi = open_memstream(&in, &li);
	if (!fe || !fi)
		die_oom();
	nt = 1 + (cn[1].s.has_v6 ? ARRAY_SIZE(v6) + nhost4 : 0);
	for (k = 0; k < nt; k++) {
		struct prefix dec, tg;
		const char *ip;
		struct vprobe *v;

		if (k == 0) {
			addr_parse("0.0.0.0", &tg);
		} else if (k - 1 < ARRAY_SIZE(v6)) {
			addr_parse(v6[k - 1], &tg);
		} else {
			memset(&tg, 0, sizeof(tg));
			tg.family = AF_INET6;
			tg.plen = 128;
			tg.addr[10] = tg.addr[11] = 0xff;
			memcpy(tg.addr + 12, host4[k - 1 - ARRAY_SIZE(v6)].addr, 4);
		}
		verify_decoy(c, tg.family, (unsigned)k, &dec);
		ip = tg.family == AF_INET ? "ip" : "ip6";
		inet_ntop(dec.family, dec.addr, d, sizeof(d));
		inet_ntop(tg.family, tg.addr, t, sizeof(t));
		fprintf(fe, "%s daddr %s tcp dport { 80, 443 } %s daddr set %s\n",
			ip, d, ip, t);
		fprintf(fi, "%s saddr %s tcp sport { 80, 443 } %s saddr set %s\n",
			ip, t, ip, d);
		for (port = 80; port <= 443; port += 443 - 80) {
			v = vplan_add(pl, 1, PROBE_TCP, dec.family, dec.addr,
				      (uint16_t)port, "I2", EXP_BLOCKED, "host");
			snprintf(v->check, sizeof(v->check),
				 "host via proxy %s%s%s:%u/tcp",
				 tg.family == AF_INET6 ? "[" : "", t,
				 tg.family == AF_INET6 ? "]" : "", port);
		}
	}
	fclose(fe);
	fclose(fi);
	f = open_memstream(&pl->rewrite, &le);
	if (!f)
		die_oom();
	fprintf(f, "table netdev moat_verify\n"
		   "delete table netdev moat_verify\n"
		   "table netdev moat_verify {\n"
		   " chain eg {\n"
		   "  type filter hook egress device \"eth0\" priority 0; policy accept;\n"
		   "%s }\n"
		   " chain ing {\n"
		   "  type filter hook ingress device \"eth0\" priority 0; policy accept;\n"
		   "%s }\n"
		   "}\n", eg, in);
	fclose(f);
	free(eg);
	free(in);
}

/**
 * verify_rewrite() - apply the plan's rewrite inside canary b
 * @cn:		canary b
 * @script:	nft script (verify_plan_proxy())
 *
 * A child joins the canary's network namespace and applies it there, as
 * root in a sandbox could.
 *
 * Return: 0, or -1 (the probes then meet the proxy's refusal of a sandbox
 *	   destination, and say nothing of the host)
 */
static int verify_rewrite(const struct canary *cn, const char *script)
{
	int status, fd;
	pid_t pid;

	fd = netns_open(cn->s.netns);
	if (fd < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		char *err = NULL;

		if (setns(fd, CLONE_NEWNET) || nft_run(script, &err)) {
			msg_warn("verify: cannot rewrite inside %s: %s", cn->name,
				 err ? err : strerror(errno));
			_exit(1);
		}
		_exit(0);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

/**
 * verify_plan() - every probe of one run
 * @pl:		plan
 * @c:		settings
 * @cn:		canaries
 * @simulate:	--simulate
 * @t:		the operator's targets (live), or NULL
 * @host4:	the host's IPv4 addresses (verify_plan_proxy())
 * @nhost4:	their number
 */
static void verify_plan(struct vplan *pl, const struct moat_config *c,
			const struct canary *cn, bool simulate,
			const struct verify_targets *t,
			const struct prefix *host4, size_t nhost4)
{
	enum probe_kind pk[] = { PROBE_TCP, PROBE_UDP, PROBE_ICMP };
	char what[96], qname[64];
	struct vprobe *v;
	uint32_t r;
	size_t k;
	int from;

	if (simulate)
		verify_plan_world(pl, cn);
	verify_plan_host(pl);
	verify_plan_proxy(pl, c, cn, host4, nhost4);

	/* each canary against the other, both ways (I1) */
	for (from = 0; from < 2; from++) {
		const struct sb_state *to = &cn[!from].s;

		snprintf(what, sizeof(what), "sandbox %s", to->name);
		for (k = 0; k < ARRAY_SIZE(pk); k++) {
			vplan_add(pl, from, pk[k], AF_INET, to->addr4.addr,
				  VERIFY_DISCARD, "I1", EXP_BLOCKED, what);
			if (to->has_v6)
				vplan_add(pl, from, pk[k], AF_INET6, to->addr6.addr,
					  VERIFY_DISCARD, "I1", EXP_BLOCKED, what);
		}
	}

	/* their link: a to b on TCP VERIFY_LINK, and nothing else */
	for (k = 0; k < 2; k++) {
		int af = k ? AF_INET6 : AF_INET;
		const struct sb_state *a = &cn[0].s, *b = &cn[1].s;

		if (k && (!a->has_v6 || !b->has_v6))
			continue;
		snprintf(what, sizeof(what), "sandbox %s, linked,", b->name);
		vplan_add(pl, 0, PROBE_TCP, af, k ? b->addr6.addr : b->addr4.addr,
			  VERIFY_LINK, "I1", EXP_LINKED, what);
		vplan_add(pl, 0, PROBE_UDP, af, k ? b->addr6.addr : b->addr4.addr,
			  VERIFY_LINK, "I1", EXP_BLOCKED, what);
		snprintf(what, sizeof(what), "sandbox %s, linked,", a->name);
		vplan_add(pl, 1, PROBE_TCP, af, k ? a->addr6.addr : a->addr4.addr,
			  VERIFY_LINK, "I1", EXP_BLOCKED, what);
	}

	/* cloud metadata (I3): a connect, no request */
	for (k = 0; k < ARRAY_SIZE(verify_meta); k++)
		vplan_add_str(pl, 1, PROBE_TCP, verify_meta[k], 80, "I3", EXP_BLOCKED,
			      "metadata");

	/* DNS of a name no rule allows, DoT, DoQ (I4) */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL);
	snprintf(qname, sizeof(qname), "moat-verify-%08x.example", r);
	/* over UDP and TCP: I4 covers port 53 in both protocols */
	for (k = 0; k < 2; k++) {
		enum probe_kind kind = k ? PROBE_DNS_TCP : PROBE_DNS;

		if (simulate)
			v = vplan_add_str(pl, 1, kind, WORLD_DNS4, 53, "I4",
					  EXP_NXDOMAIN, "DNS via");
		else
			v = vplan_add(pl, 1, kind, AF_INET, cn[1].s.gw4.addr, 53,
				      "I4", EXP_NXDOMAIN, "DNS via");
		if (v) {
			snprintf(v->p.qname, sizeof(v->p.qname), "%s", qname);
			snprintf(v->check, sizeof(v->check), "DNS%s %s via %s",
				 k ? "/tcp" : "", qname,
				 simulate ? WORLD_DNS4 : "gateway");
		}
	}
	if (simulate) {
		vplan_add_str(pl, 1, PROBE_TCP, WORLD_DOT4, 853, "I4", EXP_BLOCKED, "DoT");
		vplan_add_str(pl, 1, PROBE_UDP, WORLD_DOT4, 853, "I4", EXP_BLOCKED, "DoQ");
		vplan_add_str(pl, 0, PROBE_TCP, WORLD_DOT4, 853, "I4", EXP_BLOCKED, "DoT");
	} else {
		vplan_add(pl, 1, PROBE_TCP, AF_INET, cn[1].s.gw4.addr, 853, "I4",
			  EXP_BLOCKED, "DoT gateway");
	}
	if (t && t->target) {
		vplan_add(pl, 1, PROBE_TCP, t->target->family, t->target->addr,
			  t->tport, "I3", EXP_BLOCKED, "direct internet");
		vplan_add(pl, 1, PROBE_TCP, t->target->family, t->target->addr,
			  853, "I4", EXP_BLOCKED, "DoT");
	}
	/* allowed paths: isolation holding must not hide nothing working */
	if (t && t->allow)
		vplan_add(pl, 0, PROBE_TCP, t->allow->family, t->allow->addr,
			  t->aport, "-", EXP_REACHED, "allowed path");
	if (t && t->dns) {
		v = vplan_add(pl, 1, PROBE_DNS, AF_INET, cn[1].s.gw4.addr, 53,
			      "-", EXP_RESOLVED, "DNS via");
		if (v) {
			snprintf(v->p.qname, sizeof(v->p.qname), "%s", t->dns);
			snprintf(v->check, sizeof(v->check),
				 "allowed DNS %s via gateway", t->dns);
		}
	}
}

/**
 * verify_exp_name() - an expectation in words
 * @e:		expectation
 *
 * Return: static string
 */
static const char *verify_exp_name(enum vexp e)
{
	return e == EXP_REACHED || e == EXP_LINKED ? "reached" :
	       e == EXP_NXDOMAIN ? "NXDOMAIN" :
	       e == EXP_RESOLVED ? "resolved" :
	       "blocked";
}

/**
 * verify_match() - whether a probe's result is what it must be
 * @v:		probe
 *
 * Return: true if it matched
 */
static bool verify_match(const struct vprobe *v)
{
	enum probe_obs o = v->p.obs;

	switch (v->exp) {
	case EXP_REACHED:
		return o == OBS_CONNECTED || o == OBS_ANSWERED;
	case EXP_LINKED:
		return o == OBS_CONNECTED || o == OBS_RESET;
	case EXP_NXDOMAIN:
		return o == OBS_NXDOMAIN;
	case EXP_RESOLVED:
		return o == OBS_DNS_OTHER && !v->p.rcode;
	case EXP_BLOCKED:
		return o == OBS_REJECTED || o == OBS_TIMEOUT || o == OBS_NOROUTE ||
		       o == OBS_PROXY_REFUSED;
	}
	return false;
}

/**
 * verify_port() - a probe's destination port
 * @p:		probe
 *
 * Return: port, host order
 */
static uint16_t verify_port(const struct probe *p)
{
	if (p->dst.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&p->dst)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&p->dst)->sin6_port);
}

/**
 * verify_once() - one run: canaries, probes, audit, canaries removed
 * @c:		settings
 * @r:		report to fill
 * @w:		the simulated world, or NULL for a live run
 * @t:		the operator's targets (live), or NULL
 *
 * Return: 0 when the run completed (its verdict is in @r), -1 if it could
 *	   not (moat failed, or a signal stopped it)
 */
static int verify_once(const struct moat_config *c, struct report *r,
		       const struct world *w, const struct verify_targets *t)
{
	struct probe *batch[2] = { NULL, NULL };
	size_t *idx[2] = { NULL, NULL }, nb[2] = { 0, 0 };
	struct probe_run run[2];
	struct canary cn[2];
	struct vplan pl = { 0 };
	struct prefix host4[VERIFY_PROXY_HOSTS];
	size_t nhost4 = verify_host4(c, host4, VERIFY_PROXY_HOSTS);
	int rc[2] = { 0, 0 };
	unsigned q0 = w && w->dns_queries ? *w->dns_queries : 0;
	int ret = -1, k;
	size_t i;

	memset(cn, 0, sizeof(cn));
	r->mode = w ? "simulate" : "live";
	if (verify_canaries_make(c, cn, w, host4, nhost4, t))
		goto out;

	verify_plan(&pl, c, cn, w != NULL, t, host4, nhost4);
	if (pl.rewrite && verify_rewrite(&cn[1], pl.rewrite)) {
		/* not probed, rather than probed for nothing */
		msg_warn("verify: the proxied path to the host is not probed (no netdev egress hook?)");
		for (i = k = 0; i < pl.n; i++)
			if (strncmp(pl.v[i].check, "host via proxy ", 15))
				pl.v[k++] = pl.v[i];
		pl.n = (size_t)k;
	}
	/* both canaries probe at once, each from its own namespace */
	for (k = 0; k < 2; k++) {
		int fd;

		batch[k] = xcalloc(pl.n ? pl.n : 1, sizeof(*batch[k]));
		idx[k] = xcalloc(pl.n ? pl.n : 1, sizeof(*idx[k]));
		for (i = 0; i < pl.n; i++) {
			if (pl.v[i].from != k)
				continue;
			idx[k][nb[k]] = i;
			batch[k][nb[k]] = pl.v[i].p;
			/* through the canary's proxy, a handshake is no reach */
			if (cn[k].s.proxy && pl.v[i].p.kind == PROBE_TCP &&
			    (verify_port(&pl.v[i].p) == 80 ||
			     verify_port(&pl.v[i].p) == 443))
				batch[k][nb[k]].kind = PROBE_TCP_HTTP;
			nb[k]++;
		}
		fd = netns_open(cn[k].s.netns);
		rc[k] = fd < 0 ? fd : probe_start_in_ns(fd, batch[k], nb[k],
							VERIFY_TIMEOUT_MS,
							&verify_stop, &run[k]);
		if (fd >= 0)
			close(fd);
		if (rc[k])
			run[k].n = 0;
	}
	for (k = 0; k < 2; k++) {
		if (!rc[k])
			rc[k] = probe_wait(&run[k], batch[k]);
		for (i = 0; i < nb[k]; i++)
			pl.v[idx[k][i]].p = batch[k][i];
		if (rc[k])
			msg_err("verify: cannot probe from %s: %s", cn[k].name,
				strerror(-rc[k]));
	}
	if (rc[0] || rc[1])
		goto out;
	if (verify_stop)
		goto out;
	for (i = 0; i < pl.n; i++) {
		const struct vprobe *v = &pl.v[i];
		const char *obs = probe_obs_name(v->p.obs);

		report_add(r, verify_match(v), v->inv, cn[v->from].name, v->check,
			   verify_exp_name(v->exp), "%s", obs);
	}
	if (w && w->dns_queries) {
		unsigned q = *w->dns_queries - q0;

		report_add(r, q == 0, "I4", "world", "queries reaching the upstream resolver",
			   "0", "%u", q);
	}
	if (audit_ruleset(c, r))
		goto out;
	ret = 0;
out:
	for (k = 0; k < 2; k++) {
		free(batch[k]);
		free(idx[k]);
	}
	free(pl.v);
	free(pl.rewrite);
	if (verify_canaries_remove(c, cn))
		ret = -1;
	return ret;
}

/**
 * verify_on_fail() - run the --on-fail command with the report on stdin
 * @cmd:	shell command
 * @doc:	report
 */
static void verify_on_fail(const char *cmd, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	int pfd[2], status;
	pid_t pid;

	if (!s || pipe2(pfd, O_CLOEXEC)) {
		free(s);
		msg_err("verify: cannot run --on-fail");
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[0], 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	if (pid > 0) {
		size_t len = strlen(s), off = 0;
		struct sigaction sa = { .sa_handler = SIG_IGN }, old;

		sigaction(SIGPIPE, &sa, &old);
		while (off < len) {
			ssize_t n = write(pfd[1], s + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		/* the command may not read it all */
		(void)!write(pfd[1], "\n", 1);
		close(pfd[1]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		sigaction(SIGPIPE, &old, NULL);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			msg_warn("verify: --on-fail command failed (status %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		close(pfd[1]);
		msg_err("verify: fork: %s", strerror(errno));
	}
	free(s);
}

/**
 * verify_parse_duration() - "30s", "5m", "1h", or plain seconds
 * @s:		text
 * @secs:	result
 *
 * Return: 0, or -1 if malformed or not between 1 s and 1 week
 */
static int verify_parse_duration(const char *s, unsigned long *secs)
{
	unsigned long mul = 1, v;
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno)
		return -1;
	if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (*end && strcmp(end, "s"))
		return -1;
	if (!v || v > 604800 / mul)
		return -1;
	*secs = v * mul;
	return 0;
}

/**
 * verify_parse_target() - "ADDR:PORT" or "[V6]:PORT"
 * @s:		text
 * @p:		address
 * @port:	port
 *
 * Return: 0, or -1 if malformed
 */
static int verify_parse_target(const char *s, struct prefix *p, uint16_t *port)
{
	char buf[INET6_ADDRSTRLEN + 8], *colon, *a = buf, *end;
	unsigned long v;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	if (*a == '[') {
		size_t l = strlen(a);

		if (l < 2 || a[l - 1] != ']')
			return -1;
		a[l - 1] = '\0';
		a++;
	} else if (strchr(a, ':')) {
		return -1;	/* IPv6 needs brackets */
	}
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || !v || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return addr_parse(a, p) ? -1 : 0;
}

/**
 * verify_emit() - print a run's report, run --on-fail if it failed
 * @r:		report
 * @json:	--json
 * @on_fail:	--on-fail command, or NULL
 */
static void verify_emit(const struct report *r, bool json, const char *on_fail)
{
	json_t *doc = report_json(r);

	if (json) {
		json_dumpf(doc, stdout, JSON_COMPACT);
		printf("\n");
	} else {
		report_print(r, stdout);
	}
	fflush(stdout);
	if (on_fail && report_breaches(r))
		verify_on_fail(on_fail, doc);
	json_decref(doc);
}

/**
 * verify_simulate() - --simulate: the world, one run inside it, no world
 * @json:	--json
 * @on_fail:	--on-fail command
 *
 * Return: exit status
 */
static int verify_simulate(bool json, const char *on_fail)
{
	struct report r = { 0 };
	struct moat_config c;
	struct world w;
	int orig, ret = MOAT_EXIT_FAILURE;

	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0) {
		msg_err("verify: cannot open my network namespace: %s", strerror(errno));
		return MOAT_EXIT_FAILURE;
	}
	if (world_create(&w, &verify_stop))
		goto out;
	/* from here on moat runs in the world's host, never in ours */
	if (netns_enter(w.nsfd[WORLD_HOST])) {
		msg_err("verify: cannot enter the simulated host");
		goto out;
	}
	setenv("MOAT_RUN_DIR", w.run_dir, 1);
	unsetenv("MOAT_POOL4");
	unsetenv("MOAT_POOL6");
	if (cli_load_config(&c))
		goto out;
	if (verify_once(&c, &r, &w, NULL))
		goto out;
	verify_emit(&r, json, on_fail);
	ret = report_breaches(&r) ? MOAT_EXIT_POLICY : MOAT_EXIT_OK;
out:
	if (netns_enter(orig))
		msg_err("verify: cannot return to my network namespace");
	close(orig);
	world_destroy(&w);
	report_free(&r);
	if (verify_stop)
		return 128 + verify_stop;
	return ret;
}

/**
 * cmd_verify() - "moat verify"
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "verify"
 *
 * Return: exit status: 0 all matched, 1 a breach, 2 usage, 125 failure
 */
int cmd_verify(int argc, char **argv)
{
	enum { O_SIM = 256, O_JSON, O_TARGET, O_INTERVAL, O_ONFAIL, O_HELP,
	       O_ALLOW, O_DNS };
	static const struct option lo[] = {
		{ "simulate", no_argument, NULL, O_SIM },
		{ "json", no_argument, NULL, O_JSON },
		{ "probe-target", required_argument, NULL, O_TARGET },
		{ "probe-allow", required_argument, NULL, O_ALLOW },
		{ "probe-dns", required_argument, NULL, O_DNS },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "on-fail", required_argument, NULL, O_ONFAIL },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	struct sigaction sa = { .sa_handler = verify_signal };
	const char *on_fail = NULL;
	bool simulate = false, json = false, have_target = false;
	unsigned long interval = 0, runs = 0;
	struct prefix target, allow;
	struct verify_targets t = { 0 };
	struct moat_config c;
	int opt, ret = MOAT_EXIT_OK;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (opt) {
		case O_SIM:
			simulate = true;
			break;
		case O_JSON:
			json = true;
			break;
		case O_TARGET:
			if (verify_parse_target(optarg, &target, &t.tport))
				return cli_usage_error("verify", "--probe-target '%s': use ADDR:PORT or [V6ADDR]:PORT",
						       optarg);
			t.target = &target;
			have_target = true;
			break;
		case O_ALLOW:
			if (verify_parse_target(optarg, &allow, &t.aport))
				return cli_usage_error("verify", "--probe-allow '%s': use ADDR:PORT or [V6ADDR]:PORT",
						       optarg);
			t.allow = &allow;
			have_target = true;
			break;
		case O_DNS:
			if (!*optarg || strlen(optarg) > 253 || strchr(optarg, '*') ||
			    strchr(optarg, ':') || strchr(optarg, '/'))
				return cli_usage_error("verify", "--probe-dns '%s': use a domain name",
						       optarg);
			t.dns = optarg;
			have_target = true;
			break;
		case O_INTERVAL:
			if (verify_parse_duration(optarg, &interval))
				return cli_usage_error("verify", "--interval '%s': use a duration such as 30s, 5m or 1h (1s to 1 week)",
						       optarg);
			break;
		case O_ONFAIL:
			on_fail = optarg;
			break;
		case 'h':
		case O_HELP:
			printf("%s", usage_verify);
			return 0;
		default:
			return cli_bad_option("verify", argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("verify", "unexpected argument '%s'",
				       argv[optind]);
	if (simulate && (interval || have_target))
		return cli_usage_error("verify", "--simulate runs once, in its own world: no --interval, --probe-target, --probe-allow or --probe-dns");
	if ((ret = cli_need_root("verify", "it creates sandboxes")))
		return ret;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (simulate)
		return verify_simulate(json, on_fail);

	if ((ret = cli_load_config(&c)))
		return ret;
	do {
		struct report r = { 0 };
		struct timespec ts;

		if (verify_once(&c, &r, NULL, &t)) {
			report_free(&r);
			if (verify_stop)	/* the last complete run counts */
				break;
			ret = MOAT_EXIT_FAILURE;
			if (!interval)
				break;
		} else {
			verify_emit(&r, json, on_fail);
			ret = report_breaches(&r) ? MOAT_EXIT_POLICY : MOAT_EXIT_OK;
			runs++;
			report_free(&r);
		}
		if (!interval)
			break;
		ts.tv_sec = (time_t)interval;
		ts.tv_nsec = 0;
		while (!verify_stop && nanosleep(&ts, &ts) && errno == EINTR)
			;
	} while (!verify_stop);
	if (verify_stop && !runs)
		return 128 + verify_stop;
	return ret;
}
