// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * nft.c - the "inet moat" table: ruleset compiler and transactions
 *
 * Theory of operation
 * -------------------
 * All enforcement lives in one nftables table, "inet moat", in the network
 * namespace moat runs in. Only moat writes it. Every sandbox has one
 * host-side interface called "moat<N>"; base chains match those by the
 * wildcard "moat*" and dispatch to the sandbox's own chains through
 * verdict maps keyed by interface name (a hash lookup: the cost per packet
 * does not grow with the number of sandboxes):
 *
 *   prerouting (raw, before conntrack)   pre_dispatch  -> <if>_pre
 *	anti-spoofing (I5), RA/redirects, neighbour discovery from its own
 *	addresses only, martian loopback destinations
 *   input (filter)                       in_dispatch   -> <if>_in
 *	the host (I2): only replies, neighbour discovery and host ports
 *	the policy opens with "allow: host"; DNS paced and new connections
 *	bounded (I9, "What a sandbox may take of what the host shares")
 *   forward (filter)                     fwd_dispatch  -> <if>_fwd
 *	nothing new ever enters a sandbox (I1); DNS and its bypasses and
 *	multicast are dropped (I4); new connections bounded (I9); then the
 *	policy's rules in order and its default (I3)
 *   forward (filter), into a sandbox     rep_dispatch  -> <if>_rep
 *	replies of this sandbox instance's own connections, nothing else
 *   output (filter)                      host_dispatch -> <if>_host
 *	the host's own new connections into a sandbox (published ports)
 *	take that sandbox's instance mark
 *   postrouting (nat)                    masquerade sandbox traffic
 *   proxy (nat prerouting, dstnat)       redirect connections a sandbox's
 *	prerouting chain marked (only policies with domain rules mark: TCP
 *	80, 443 and domain-rule ports) to NFT_PROXY_PORT on its gateway;
 *	one another table's mark rewrite kept from the proxy reaches <if>_fwd
 *	and is refused there (fail closed, nft_domain_ports())
 *   output (filter)                      wk_dispatch   -> <if>_wk
 *	a packet of a socket owned by a sandbox's worker (its UID, or its
 *	DNS UID: nft_worker_uid()) takes the sandbox's mark, DNS upstream
 *	with NFT_OUT_DNS; a UID of the workers' range without an entry is
 *	dropped
 *   output (filter)                      out_dispatch  -> <if>_out
 *	connections a worker opens on its sandbox's behalf (the proxy's,
 *	DNS upstream, relays into the sandbox), found by that mark (or a
 *	socket mark NFT_OUT_MARK | index, copied back from the socket in
 *	case another table rewrote it), judged by the sandbox's own chains:
 *	into its own sandbox accepted, into another refused (I1), loopback
 *	refused, local destinations to <if>_in, the rest to <if>_fwd (I8;
 *	nft_out_chain_text())
 *
 * Connections belong to a sandbox instance, not to an address or an
 * interface name, both of which a later sandbox may reuse: every new
 * connection of sandbox instance I gets conntrack mark I (its own chains
 * set it before any verdict), and established traffic passes only where
 * the mark is the instance's own (<if>_fwd, <if>_in, <if>_rep). A related
 * connection (a conntrack helper's expectation: FTP data, say) is judged
 * by the policy like a new one; only ICMP errors about a connection of the
 * instance pass as related.
 *
 * A sandbox with a TAP device ("moat create --tap", docs/VM.md) has a
 * guest behind it, which owns the sandbox's addresses. Its chains are
 * those of any sandbox, with a few rules more (nft_tap_pre(),
 * nft_tap_in()): only the guest's MAC may send, and the DHCP requests and
 * router solicitations of a guest without an address yet reach its
 * worker's servers on the gateway, and nothing else of the host.
 *
 * Links between sandboxes (a policy's "allow: sandbox:NAME" and the
 * peer's "ingress.accept") are the one exception to I1, and they live in
 * three table-wide sets keyed by the two host interfaces, the protocol
 * and the destination port ("moatA" . "moatB" . tcp . 5432): "links"
 * holds the live ones (both sides consent), "link_nopeer" and
 * "link_noself" the ones only one side wants, for the log's reason.
 * sblink.c computes their elements from both sides' policies, under the
 * global lock, whenever a sandbox is created, updated or removed, and
 * replaces them in one transaction (nft_links_text()). The base forward
 * chain, before the I1 drop, sends a packet from one sandbox to another
 * whose key is in "links" to the sender's forward chain (fwd_dispatch),
 * where established traffic passes only with the sender's instance mark,
 * as ever, and a new connection takes that mark and, after the sender's
 * flow bounds (I9), is accepted by "<if>_lk" (nft_link_rules(); only a
 * policy with link rules has it); everything else meets I1 as before.
 * Replies come back as the sender's established traffic, through the
 * sender's own "<if>_rep", which the reply's output interface selects;
 * the peer never opens anything back unless its own policy links the
 * other way, with the first sandbox's consent. A key holds interface
 * names, which a later sandbox may reuse: sblink.c removes a sandbox's
 * elements when it goes, and cuts the conntrack entries of links that
 * close (a link's connections carry the sender's instance mark). Spoofing
 * is still stopped in prerouting (I5), before any of this. One hash
 * lookup per packet between sandboxes, whatever the number of sandboxes
 * or links.
 *
 * Every denial is logged first (NFLOG, rate-limited per sandbox) and
 * counted by reason in named counters; see "Observability" below. A
 * fourth map, i1_dispatch, lets the base forward chain log and count a
 * packet from one sandbox to another for its sender before dropping it.
 *
 * The table fails closed by construction: a packet from a moat interface
 * that has no dispatch entry, or that returns from its sandbox chain
 * without a verdict (a chain flushed by mistake, say), meets the "drop"
 * that follows the dispatch rule. The table never carries the "owner"
 * flag, so rules outlive moat's processes (I6).
 *
 * A sandbox is added in one transaction when the base table is in place:
 * nftx.c compiles nft_sandbox_add_text()'s script with libnftables in a
 * scratch namespace and carries what the kernel made of it, with the
 * dispatch entries, into this table in one libnftnl batch. Otherwise (the
 * base table to write, and every case nftx.c cannot handle) in two
 * transactions, each all or nothing: first one
 * libnftables transaction with the base table (idempotent: base chains
 * are flushed and refilled, maps keep their entries) and the sandbox's
 * chains and objects; then one libnftnl batch with its dispatch entries
 * (six by interface name, one by mark, two by its worker's UIDs), the only
 * way in to those chains. Removal runs the other way
 * round. Until the entries exist, and once they are gone, the sandbox's
 * traffic meets the fail-closed drops, so no state in between is more
 * open than the policy. (The entries do not go through libnftables
 * because any change to a map's elements makes it fetch every element of
 * every set first: a second per change with 1000 sandboxes; see
 * nft_dispatch_set().) The compiler emits nft(8) script text, which is
 * also what the golden files under tests/golden/ pin, with the dispatch
 * entries written in nft syntax too (nft_dispatch_text()).
 *
 * One small table lives elsewhere: in the network namespace of a sandbox
 * moat attached to (a container's, "moat attach"), "inet moat_dns"
 * (NFT_INNER_TABLE, nft_inner_dns_text()) sends DNS to a loopback
 * resolver (127.0.0.53 of systemd-resolved, copied into a container's
 * resolv.conf) to the sandbox's gateway, where every DNS message meets
 * the interceptor: a DNAT at the output hook for UDP and TCP port 53 to
 * 127.0.0.0/8 (and ::1 when the sandbox has IPv6), and a masquerade of
 * what then leaves with a loopback source. The replies come back to a
 * loopback address on the sandbox's interface, which the kernel accepts
 * only with route_localnet on that interface (IPv4) and a local route
 * for ::1 through it (IPv6, where a loopback address is otherwise only
 * reachable through lo): sandbox.c sets both, on that interface alone,
 * so they go with it. nft_run_in() runs a script in such a namespace.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <nftables/libnftables.h>

#include "netns.h"
#include "nft.h"
#include "nl.h"

/* after <netinet/in.h> (from nft.h): the kernel headers defer to it */
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#define NFT_PINS_DUMP_BUF	65536	/* a set dump's messages (32 KiB at most) */

/* Ports of name services that must never leave a sandbox directly (I4):
 * DNS (until intercepted), DoT/DoQ, mDNS, LLMNR, NetBIOS name/datagram
 */
#define NFT_I4_PORTS	"53, 137-138, 853, 5353, 5355"

/**
 * pfx_str() - format a prefix for nft, into a caller-provided buffer
 * @p:		prefix
 * @buf:	buffer of at least INET6_ADDRSTRLEN + 4 bytes
 *
 * Return: @buf
 */
static const char *pfx_str(const struct prefix *p, char *buf)
{
	if (prefix_format(p, buf, INET6_ADDRSTRLEN + 4))
		strcpy(buf, "invalid");
	return buf;
}

/**
 * nft_group_set() - emit one named interval set holding an address group
 * @f:		output
 * @g:		group
 * @family:	AF_INET or AF_INET6
 *
 * Return: 0, or -1 if the group table could not be expanded
 */
static int nft_group_set(FILE *f, enum addr_group g, int family)
{
	char buf[INET6_ADDRSTRLEN + 4];
	struct prefix *el;
	size_t n, i;
	const char *fam = family == AF_INET ? "4" : "6";

	el = xcalloc(4096, sizeof(*el));
	n = addr_group_nft_elements(g, family, el, 4096);
	if (n == (size_t)-1) {
		free(el);
		return -1;
	}
	fprintf(f, "add set inet %s g%s_%s { type %s; flags interval; }\n",
		NFT_TABLE, fam, addr_group_name(g),
		family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	fprintf(f, "flush set inet %s g%s_%s\n", NFT_TABLE, fam,
		addr_group_name(g));
	if (n) {
		fprintf(f, "add element inet %s g%s_%s {", NFT_TABLE, fam,
			addr_group_name(g));
		for (i = 0; i < n; i++)
			fprintf(f, "%s %s", i ? "," : "", pfx_str(&el[i], buf));
		fprintf(f, " }\n");
	}
	free(el);
	return 0;
}

/**
 * nft_group_needs_set() - whether a group is matched through a named set
 * @g:		group
 *
 * Return: true for every group except host, which is matched by route
 *	   type ("fib daddr type local") because the host's addresses change
 */
static bool nft_group_needs_set(enum addr_group g)
{
	return g != GROUP_HOST;
}

/**
 * nft_obs_base_map() - the map of the sandboxes' I1 log chains
 * @f:		output
 *
 * Sandbox-to-sandbox traffic is dropped by the base forward chain
 * ("nothing new enters a sandbox") before the sender's chain is reached.
 * To log and count that denial for the sender, the base chain first
 * jumps, by the input interface, to the sender's "<if>_i1" chain, which
 * holds only a log rule and a counter and returns (no verdict: the drop
 * stays the base chain's).
 */
static void nft_obs_base_map(FILE *f)
{
	fprintf(f, "add map inet %s i1_dispatch { type ifname : verdict; }\n",
		NFT_TABLE);
}

/**
 * nft_obs_base_rule() - the base forward rule jumping to the I1 log chains
 *
 * Return: the rule, a line of nft script
 */
static const char *nft_obs_base_rule(void)
{
	return "add rule inet " NFT_TABLE " forward oifname \"" NFT_IFPREFIX
	       "*\" iifname \"" NFT_IFPREFIX "*\" iifname vmap @i1_dispatch\n";
}

/**
 * nft_out_base_text() - the output hook: workers' onward connections
 * @f:		output
 *
 * A connection a sandbox's worker opens on its behalf (the proxy's to the
 * original destination, the DNS interceptor's to its upstreams, the
 * relays of published ports into it) leaves from the host's own stack,
 * where the sandbox's forward and input chains never see it. The worker
 * runs as a UID of the sandbox's own (nft_worker_uid()), which the kernel
 * knows for every socket ("meta skuid": no table can change it, and the
 * worker no privilege to set a mark), so the second rule gives every
 * packet of such a socket the sandbox's mark NFT_OUT_MARK | index, with
 * NFT_OUT_DNS for its DNS UID (wk_dispatch -> "<if>_wk"), overwriting
 * whatever a table before rewrote; a UID of the range with no entry is
 * dropped. (The first rule does the same for a socket that carries the
 * mark itself, "socket mark": no moat process sets one today, and it
 * keeps such a socket's packets judged.) Then new connections with that
 * bit are dispatched by the mark to the sandbox's "<if>_out" chain
 * (nft_out_chain_text()), and one with no entry is dropped. Established
 * ones are accepted first, as in the forward hook, and ICMP errors about
 * them; a related connection (a conntrack helper's expectation) is
 * judged like a new one. Unmarked traffic, the host's own, is not
 * touched, except that new connections into a sandbox (the published-port
 * relays) first take that sandbox's instance mark (<if>_host), so that
 * the replies pass its input chain.
 */
static void nft_out_base_text(FILE *f)
{
	const char *t = NFT_TABLE;

	fprintf(f,
		"add map inet %s out_dispatch { type mark : verdict; }\n"
		"add map inet %s wk_dispatch { type uid : verdict; }\n"
		"add chain inet %s output { type filter hook output priority filter; policy accept; }\n"
		"flush chain inet %s output\n"
		"add rule inet %s output socket mark & 0x%08x == 0x%08x meta mark set socket mark comment \"the socket's mark, whatever tables before rewrote\"\n"
		"add rule inet %s output meta skuid %u-%u meta skuid vmap @wk_dispatch comment \"a sandbox's worker: its sandbox's mark\"\n"
		"add rule inet %s output meta skuid %u-%u meta mark & 0x%08x != 0x%08x counter drop comment \"a worker UID without its sandbox: fail closed\"\n"
		"add rule inet %s output oifname \"%s*\" ct state new oifname vmap @host_dispatch\n"
		"add rule inet %s output meta mark & 0x%08x == 0x%08x ct state established accept\n"
		"add rule inet %s output meta mark & 0x%08x == 0x%08x ct state related meta l4proto { icmp, ipv6-icmp } accept\n"
		"add rule inet %s output meta mark & 0x%08x == 0x%08x ct state invalid drop\n"
		"add rule inet %s output meta mark & 0x%08x == 0x%08x meta mark & 0x%08x vmap @out_dispatch\n"
		"add rule inet %s output meta mark & 0x%08x == 0x%08x counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, t, t, NFT_OUT_MARK, NFT_OUT_MARK,
		t, NFT_WORKER_UID_BASE, NFT_WORKER_UID_LAST,
		t, NFT_WORKER_UID_BASE, NFT_WORKER_UID_LAST, NFT_OUT_MARK, NFT_OUT_MARK,
		t, NFT_IFPREFIX,
		t, NFT_OUT_MARK, NFT_OUT_MARK,
		t, NFT_OUT_MARK, NFT_OUT_MARK,
		t, NFT_OUT_MARK, NFT_OUT_MARK,
		t, NFT_OUT_MARK, NFT_OUT_MARK, NFT_OUT_MASK,
		t, NFT_OUT_MARK, NFT_OUT_MARK);
}

/* the link sets, by enum nft_link_kind */
static const char *const nft_link_sets[NFT_LINK_KINDS] = {
	[NFT_LINK_LIVE]		= "links",
	[NFT_LINK_NOPEER]	= "link_nopeer",
	[NFT_LINK_NOSELF]	= "link_noself",
};

/**
 * nft_links_base() - declare the link sets (see the theory of operation)
 * @f:		output
 *
 * "add" keeps a set's elements: the base table may be written again while
 * links are live.
 */
static void nft_links_base(FILE *f)
{
	size_t k;

	for (k = 0; k < NFT_LINK_KINDS; k++)
		fprintf(f, "add set inet %s %s { type ifname . ifname . inet_proto . inet_service; size %u; }\n",
			NFT_TABLE, nft_link_sets[k], NFT_LINKS_MAX);
}

/**
 * nft_links_text() - replace the elements of the link sets
 * @f:		output
 * @l:		every element of every set
 * @n:		number of them, at most NFT_LINKS_MAX of each kind
 *
 * Run as one transaction: the sets flushed and filled again, so that no
 * packet sees a state in between. The sets are declared first, so that
 * this also works on a table an older moat made.
 */
void nft_links_text(FILE *f, const struct nft_link *l, size_t n)
{
	size_t k, i, m;

	nft_links_base(f);
	for (k = 0; k < NFT_LINK_KINDS; k++) {
		fprintf(f, "flush set inet %s %s\n", NFT_TABLE,
			nft_link_sets[k]);
		for (i = 0, m = 0; i < n; i++) {
			if (l[i].kind != k)
				continue;
			if (!m)
				fprintf(f, "add element inet %s %s {", NFT_TABLE,
					nft_link_sets[k]);
			fprintf(f, "%s \"%s\" . \"%s\" . %s . %u", m ? "," : "",
				l[i].from, l[i].to,
				l[i].l4 == IPPROTO_TCP ? "tcp" : "udp", l[i].port);
			m++;
		}
		if (m)
			fprintf(f, " }\n");
	}
}

/**
 * nft_base_text() - emit the base table, idempotently
 * @f:		output
 * @b:		host-wide parameters
 *
 * The script creates what is missing, refills base chains and static sets,
 * and leaves dispatch maps and sandbox chains as they are.
 *
 * Return: 0, or -1 on an internal error
 */
int nft_base_text(FILE *f, const struct nft_base *b)
{
	char p4[INET6_ADDRSTRLEN + 4], p6[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	int g;

	fprintf(f, "add table inet %s\n", t);

	for (g = 0; g < GROUP_COUNT; g++) {
		if (!nft_group_needs_set(g))
			continue;
		if (nft_group_set(f, g, AF_INET) ||
		    nft_group_set(f, g, AF_INET6))
			return -1;
	}

	fprintf(f, "add set inet %s pool4 { type ipv4_addr; flags interval; }\n"
		   "flush set inet %s pool4\n"
		   "add element inet %s pool4 { %s }\n",
		t, t, t, pfx_str(&b->pool4, p4));
	fprintf(f, "add set inet %s pool6 { type ipv6_addr; flags interval; }\n"
		   "flush set inet %s pool6\n"
		   "add element inet %s pool6 { %s }\n",
		t, t, t, pfx_str(&b->pool6, p6));

	nft_links_base(f);
	fprintf(f, "add map inet %s pre_dispatch { type ifname : verdict; }\n"
		   "add map inet %s in_dispatch { type ifname : verdict; }\n"
		   "add map inet %s fwd_dispatch { type ifname : verdict; }\n"
		   "add map inet %s rep_dispatch { type ifname : verdict; }\n"
		   "add map inet %s host_dispatch { type ifname : verdict; }\n",
		t, t, t, t, t);
	nft_obs_base_map(f);

	/* prerouting, raw priority: before conntrack sees spoofed packets;
	 * what a sandbox sends is routed only with NFT_PASSED_MARK (guard.c)
	 */
	fprintf(f,
		"add chain inet %s prerouting { type filter hook prerouting priority raw; policy accept; }\n"
		"flush chain inet %s prerouting\n"
		"add rule inet %s prerouting iifname \"%s*\" meta mark set meta mark | 0x%08x comment \"passed moat's table (routing needs it)\"\n"
		"add rule inet %s prerouting iifname \"%s*\" iifname vmap @pre_dispatch\n"
		"add rule inet %s prerouting iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, NFT_PASSED_MARK, t, NFT_IFPREFIX, t,
		NFT_IFPREFIX);

	/* DNS interception (I4): every DNS message from a sandbox, to any
	 * address, goes to the interceptor on its own gateway address (the
	 * primary address of the interface it came in on); its input chain
	 * accepts exactly that, and only when its supervisor serves DNS
	 */
	fprintf(f,
		"add chain inet %s dns_redirect { type nat hook prerouting priority dstnat; policy accept; }\n"
		"flush chain inet %s dns_redirect\n"
		"add rule inet %s dns_redirect iifname \"%s*\" meta l4proto { tcp, udp } th dport 53 redirect to :53 comment \"DNS to the interceptor (I4)\"\n",
		t, t, t, NFT_IFPREFIX);

	fprintf(f,
		"add chain inet %s input { type filter hook input priority filter; policy accept; }\n"
		"flush chain inet %s input\n"
		"add rule inet %s input iifname \"%s*\" iifname vmap @in_dispatch\n"
		"add rule inet %s input iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, t, NFT_IFPREFIX);

	/* into a sandbox: only the replies its own instance owns (<if>_rep
	 * returns the rest here); from it: established traffic is its
	 * instance's, checked in <if>_fwd (nft_sandbox_add_text())
	 */
	fprintf(f,
		"add chain inet %s forward { type filter hook forward priority filter; policy accept; }\n"
		"flush chain inet %s forward\n"
		"add rule inet %s forward oifname \"%s*\" oifname vmap @rep_dispatch\n"
		"add rule inet %s forward oifname \"%s*\" iifname \"%s*\" iifname . oifname . meta l4proto . th dport @links iifname vmap @fwd_dispatch comment \"a live link: the sender's chain\"\n"
		"%s"
		"add rule inet %s forward oifname \"%s*\" counter drop comment \"nothing new enters a sandbox (I1)\"\n"
		"add rule inet %s forward iifname \"%s*\" ct state invalid drop\n"
		"add rule inet %s forward iifname \"%s*\" iifname vmap @fwd_dispatch\n"
		"add rule inet %s forward iifname \"%s*\" counter drop comment \"no dispatch entry: fail closed\"\n",
		t, t, t, NFT_IFPREFIX, t, NFT_IFPREFIX, NFT_IFPREFIX,
		nft_obs_base_rule(), t, NFT_IFPREFIX,
		t, NFT_IFPREFIX, t, NFT_IFPREFIX, t, NFT_IFPREFIX);

	fprintf(f,
		"add chain inet %s postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
		"flush chain inet %s postrouting\n"
		"add rule inet %s postrouting iifname \"%s*\" oifname != \"%s*\" masquerade\n",
		t, t, t, NFT_IFPREFIX, NFT_IFPREFIX);

	/* the proxy: what a sandbox's prerouting chain marked (nft_domain_ports()) */
	fprintf(f,
		"add chain inet %s proxy { type nat hook prerouting priority dstnat; policy accept; }\n"
		"flush chain inet %s proxy\n"
		"add rule inet %s proxy iifname \"%s*\" meta l4proto tcp meta mark & 0x%08x == 0x%08x redirect to :%u\n",
		t, t, t, NFT_IFPREFIX, NFT_PROXY_MARK, NFT_PROXY_MARK,
		NFT_PROXY_PORT);
	nft_out_base_text(f);
	return 0;
}

/**
 * nft_base_hash() - fingerprint of the base table's script
 * @b:		host-wide parameters
 *
 * Return: FNV-1a hash of nft_base_text() output, 0 on error
 */
uint64_t nft_base_hash(const struct nft_base *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		die_oom();
	if (nft_base_text(f, b)) {
		fclose(f);
		free(buf);
		return 0;
	}
	fclose(f);
	for (i = 0; i < len; i++) {
		h ^= (uint8_t)buf[i];
		h *= 0x100000001b3ULL;
	}
	free(buf);
	return h;
}

/**
 * nft_ports() - emit the protocol and port match of a rule
 * @f:		output
 * @r:		rule
 */
static void nft_ports(FILE *f, const struct rule *r)
{
	size_t i;

	if (r->proto == PROTO_ICMP) {
		fprintf(f, " meta l4proto { icmp, ipv6-icmp }");
		return;
	}
	if (!r->nports) {
		if (r->proto == PROTO_TCP)
			fprintf(f, " meta l4proto tcp");
		else if (r->proto == PROTO_UDP)
			fprintf(f, " meta l4proto udp");
		return;
	}
	if (r->proto == PROTO_TCP)
		fprintf(f, " tcp dport");
	else if (r->proto == PROTO_UDP)
		fprintf(f, " udp dport");
	else
		fprintf(f, " meta l4proto { tcp, udp } th dport");

	fprintf(f, " {");
	for (i = 0; i < r->nports; i++) {
		const struct port_range *pr = &r->ports[i];

		if (pr->lo == pr->hi)
			fprintf(f, "%s %u", i ? "," : "", pr->lo);
		else
			fprintf(f, "%s %u-%u", i ? "," : "", pr->lo, pr->hi);
	}
	fprintf(f, " }");
}

/**
 * nft_embed4() - IPv6 forms that carry an IPv4 prefix (mapped, NAT64)
 * @v4:		IPv4 prefix
 * @mapped:	set to ::ffff:a.b.c.d/(96 + plen)
 * @nat64:	set to 64:ff9b::a.b.c.d/(96 + plen)
 */
static void nft_embed4(const struct prefix *v4, struct prefix *mapped,
		       struct prefix *nat64)
{
	static const uint8_t m[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t n[12] = { 0, 0x64, 0xff, 0x9b };

	memset(mapped, 0, sizeof(*mapped));
	mapped->family = AF_INET6;
	mapped->plen = 96 + v4->plen;
	memcpy(mapped->addr, m, 12);
	memcpy(mapped->addr + 12, v4->addr, 4);
	*nat64 = *mapped;
	memcpy(nat64->addr, n, 12);
}

/**
 * nft_verdict() - the verdict statement for an allow or deny
 * @allow:	allow
 *
 * Denials are rejected, not dropped, so that a client fails at once with
 * "administratively prohibited" instead of waiting for a timeout.
 *
 * Return: statement text
 */
static const char *nft_verdict(bool allow)
{
	return allow ? "accept" : "reject with icmpx admin-prohibited";
}

/**
 * nft_fwd_rule() - emit one policy rule into a sandbox's forward chain
 * @f:		output
 * @ifname:	host-side interface (names the pin sets of domain rules)
 * @chain:	chain name
 * @r:		rule
 * @idx:	1-based index of the rule in the effective policy
 *
 * A domain allow rule matches the addresses the interceptor pinned for it
 * in its own sets (nft_dom_set_name()); a domain deny rule acts at DNS
 * (and in the proxy) and compiles to nothing here.
 *
 * Return: 0, or -1 if the rule cannot be compiled
 */
static int nft_fwd_rule(FILE *f, const char *ifname, const char *chain,
			const struct rule *r, size_t idx)
{
	char b1[INET6_ADDRSTRLEN + 4], b2[INET6_ADDRSTRLEN + 4],
	     b3[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix mapped, nat64;

	switch (r->kind) {
	case TARGET_CIDR:
		if (r->pfx.family == AF_INET) {
			fprintf(f, "add rule inet %s %s ip daddr %s", t, chain,
				pfx_str(&r->pfx, b1));
			nft_ports(f, r);
			fprintf(f, " %s\n", nft_verdict(r->allow));
			nft_embed4(&r->pfx, &mapped, &nat64);
			fprintf(f, "add rule inet %s %s ip6 daddr { %s, %s }",
				t, chain, pfx_str(&mapped, b2),
				pfx_str(&nat64, b3));
		} else {
			fprintf(f, "add rule inet %s %s ip6 daddr %s", t, chain,
				pfx_str(&r->pfx, b1));
		}
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return 0;
	case TARGET_GROUP:
		if (r->group == GROUP_HOST)	/* local: never forwarded */
			return 0;
		fprintf(f, "add rule inet %s %s ip daddr @g4_%s", t, chain,
			addr_group_name(r->group));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		fprintf(f, "add rule inet %s %s ip6 daddr @g6_%s", t, chain,
			addr_group_name(r->group));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return 0;
	case TARGET_SANDBOX:	/* links: the base forward chain's */
		return 0;
	case TARGET_DOMAIN: {
		char set[NFT_DOM_SET_LEN];

		if (!r->allow)
			return 0;
		nft_dom_set_name(set, ifname, idx, AF_INET);
		fprintf(f, "add rule inet %s %s ip daddr @%s", t, chain, set);
		nft_ports(f, r);
		fprintf(f, " accept\n");
		nft_dom_set_name(set, ifname, idx, AF_INET6);
		fprintf(f, "add rule inet %s %s ip6 daddr @%s", t, chain, set);
		nft_ports(f, r);
		fprintf(f, " accept\n");
		return 0;
	}
	}
	return -1;
}

/**
 * nft_in_rule() - emit one policy rule into a sandbox's input chain
 * @f:		output
 * @chain:	chain name
 * @r:		rule
 *
 * Only "allow: host" opens anything on the host (I2). A deny whose CIDR
 * covers a host address, or "deny: host", closes what a later rule would
 * open; CIDR allows and every other group never match the host.
 */
static void nft_in_rule(FILE *f, const char *chain, const struct rule *r)
{
	char b1[INET6_ADDRSTRLEN + 4], b2[INET6_ADDRSTRLEN + 4],
	     b3[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix mapped, nat64;

	if (r->kind == TARGET_GROUP && r->group == GROUP_HOST) {
		fprintf(f, "add rule inet %s %s fib daddr type local", t, chain);
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(r->allow));
		return;
	}
	if (r->kind != TARGET_CIDR || r->allow)
		return;
	if (r->pfx.family == AF_INET) {
		fprintf(f, "add rule inet %s %s ip daddr %s", t, chain,
			pfx_str(&r->pfx, b1));
		nft_ports(f, r);
		fprintf(f, " %s\n", nft_verdict(false));
		nft_embed4(&r->pfx, &mapped, &nat64);
		fprintf(f, "add rule inet %s %s ip6 daddr { %s, %s }", t, chain,
			pfx_str(&mapped, b2), pfx_str(&nat64, b3));
	} else {
		fprintf(f, "add rule inet %s %s ip6 daddr %s", t, chain,
			pfx_str(&r->pfx, b1));
	}
	nft_ports(f, r);
	fprintf(f, " %s\n", nft_verdict(false));
}

/*
 * Observability: denial logs and counters by reason
 * -------------------------------------------------
 * Every denial in a sandbox's chains is emitted by nft_deny() as two rules
 * with the same match: the first sends the packet to the sandbox's NFLOG
 * group ("log group G", G = NFT_LOG_GROUP_BASE + the interface's index)
 * with a prefix naming the reason ("moat:I2:host", "moat:rule:3"), behind
 * the sandbox's named limit "<if>_log", so that a flood reaches userspace
 * at a bounded rate; the second counts the packet in one of the sandbox's
 * named counters (a fixed set, enum nft_ctr) and applies the verdict.
 * Policy rules, compiled by nft_fwd_rule() and nft_in_rule(), are passed
 * through nft_obs_policy_rule(), which does the same to their lines and
 * counts allowed ones. The supervisor reads the group (worker/nflog.c);
 * "moat stats" reads the counters (stats.c).
 */

/* Counter suffixes, indexed by enum nft_ctr: see nft.h */
const struct nft_ctr_desc nft_ctrs[NFT_CTR_COUNT] = {
	[NFT_CTR_D_I1_EGRESS]	= { "d_i1_egress", "denied", "I1", "egress" },
	[NFT_CTR_D_I2_HOST]	= { "d_i2_host", "denied", "I2", "host" },
	[NFT_CTR_D_I3_EGRESS]	= { "d_i3_egress", "denied", "I3", "egress" },
	[NFT_CTR_D_I4_EGRESS]	= { "d_i4_egress", "denied", "I4", "egress" },
	[NFT_CTR_D_I4_HOST]	= { "d_i4_host", "denied", "I4", "host" },
	[NFT_CTR_D_I5_ANY]	= { "d_i5_any", "denied", "I5", "any" },
	[NFT_CTR_D_RULE_EGRESS]	= { "d_rule_egress", "denied", "rule", "egress" },
	[NFT_CTR_D_RULE_HOST]	= { "d_rule_host", "denied", "rule", "host" },
	[NFT_CTR_A_RULE_EGRESS]	= { "a_rule_egress", "allowed", "rule", "egress" },
	[NFT_CTR_A_RULE_HOST]	= { "a_rule_host", "allowed", "rule", "host" },
	[NFT_CTR_A_DEFAULT_EGRESS] = { "a_default_egress", "allowed", "default", "egress" },
	[NFT_CTR_D_I9_ANY]	= { "d_i9_any", "denied", "I9", "any" },
};

/**
 * nft_log_group() - the NFLOG group of a sandbox's denials
 * @ifname:	host-side interface, "moat<N>"
 *
 * Return: NFT_LOG_GROUP_BASE + N, or 0 (no logging) if @ifname has no
 *	   index or the index is past the 16-bit group space
 */
unsigned nft_log_group(const char *ifname)
{
	size_t l = strlen(NFT_IFPREFIX);
	unsigned long n;
	char *end;

	if (strncmp(ifname, NFT_IFPREFIX, l) || !ifname[l] ||
	    ifname[l] < '0' || ifname[l] > '9')
		return 0;
	errno = 0;
	n = strtoul(ifname + l, &end, 10);
	if (*end || errno || n > NFT_LOG_GROUP_MAX - NFT_LOG_GROUP_BASE)
		return 0;
	return NFT_LOG_GROUP_BASE + (unsigned)n;
}

/**
 * nft_obs_objects_text() - a sandbox's named counters and log limit
 * @f:		output
 * @ifname:	host-side interface
 */
static void nft_obs_objects_text(FILE *f, const char *ifname)
{
	size_t k;

	for (k = 0; k < NFT_CTR_COUNT; k++)
		fprintf(f, "add counter inet %s %s_%s\n", NFT_TABLE, ifname,
			nft_ctrs[k].name);
	fprintf(f, "add limit inet %s %s_log { rate %u/second burst %u packets }\n",
		NFT_TABLE, ifname, NFT_LOG_RATE, NFT_LOG_BURST);
	fprintf(f, "add limit inet %s %s_nd { rate %u/second burst %u packets }\n",
		NFT_TABLE, ifname, NFT_ND_RATE, NFT_ND_BURST);
}

/**
 * nft_obs_del_text() - remove a sandbox's named counters and log limit
 * @f:		output
 * @ifname:	host-side interface
 *
 * Emitted after the chains that use them are deleted; the "add" first
 * makes the removal succeed whether or not they exist.
 */
static void nft_obs_del_text(FILE *f, const char *ifname)
{
	size_t k;

	/* a table made by an older moat may lack the map */
	nft_obs_base_map(f);
	fprintf(f, "add chain inet %s %s_i1\n", NFT_TABLE, ifname);
	fprintf(f, "flush chain inet %s %s_i1\n", NFT_TABLE, ifname);
	fprintf(f, "delete chain inet %s %s_i1\n", NFT_TABLE, ifname);
	nft_obs_objects_text(f, ifname);
	for (k = 0; k < NFT_CTR_COUNT; k++)
		fprintf(f, "delete counter inet %s %s_%s\n", NFT_TABLE, ifname,
			nft_ctrs[k].name);
	fprintf(f, "delete limit inet %s %s_log\n", NFT_TABLE, ifname);
	fprintf(f, "delete limit inet %s %s_nd\n", NFT_TABLE, ifname);
}

/**
 * nft_log_stmt() - the rate-limited log statement of a denial
 * @f:		output
 * @ifname:	host-side interface
 * @reason:	reason, after "moat:" in the prefix ("I2:host", "rule:3")
 */
static void nft_log_stmt(FILE *f, const char *ifname, const char *reason)
{
	fprintf(f, " limit name \"%s_log\" log prefix \"%s%s\" group %u\n",
		ifname, NFT_LOG_PREFIX, reason, nft_log_group(ifname));
}

/**
 * nft_deny() - emit a denial: its log rule, then its counted verdict rule
 * @f:		output
 * @ifname:	host-side interface
 * @chain:	chain name
 * @ctr:	counter the denial is counted in
 * @reason:	log prefix after "moat:", e.g. "I2:host"
 * @verdict:	"drop" or a reject statement
 * @comment:	rule comment
 * @fmt:	the match, printf-style
 */
static void nft_deny(FILE *f, const char *ifname, const char *chain,
		     enum nft_ctr ctr, const char *reason, const char *verdict,
		     const char *comment, const char *fmt, ...) PRINTF_FMT(8, 9);
static void nft_deny(FILE *f, const char *ifname, const char *chain,
		     enum nft_ctr ctr, const char *reason, const char *verdict,
		     const char *comment, const char *fmt, ...)
{
	char match[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(match, sizeof(match), fmt, ap);
	va_end(ap);

	if (nft_log_group(ifname)) {
		fprintf(f, "add rule inet %s %s%s%s", NFT_TABLE, chain,
			*match ? " " : "", match);
		nft_log_stmt(f, ifname, reason);
	}
	fprintf(f, "add rule inet %s %s%s%s counter name \"%s_%s\" counter %s comment \"%s\"\n",
		NFT_TABLE, chain, *match ? " " : "", match, ifname,
		nft_ctrs[ctr].name, verdict, comment);
}

#define NFT_PORT_RANGES	30	/* port ranges in one rule (nft_deny()) */

/**
 * enum nft_dport_use - what the ports domain rules name are used for
 * @NFT_DPORT_QUIC:	UDP to them dropped (with 443)
 * @NFT_DPORT_PROXY:	TCP to them redirected to the proxy (with 80, 443)
 * @NFT_DPORT_BYPASS:	TCP to them that was not redirected refused
 */
enum nft_dport_use {
	NFT_DPORT_QUIC,
	NFT_DPORT_PROXY,
	NFT_DPORT_BYPASS,
};

/**
 * nft_dport_flush() - emit one rule for the port ranges collected
 * @f:		output
 * @ifname:	host-side interface
 * @chain:	chain
 * @use:	which rule
 * @pf:		stream collecting the ranges, closed and set to NULL
 * @ports:	its buffer, freed and set to NULL
 * @n:		number of ranges in it, reset to 0
 */
static void nft_dport_flush(FILE *f, const char *ifname, const char *chain,
			    enum nft_dport_use use, FILE **pf, char **ports,
			    size_t *n)
{
	if (!*pf)
		return;
	fclose(*pf);
	*pf = NULL;
	if (*n && use == NFT_DPORT_QUIC)
		nft_deny(f, ifname, chain, NFT_CTR_D_I3_EGRESS, "I3:quic",
			 "drop", "QUIC: names are judged on TCP",
			 "udp dport { %s }", *ports);
	else if (*n && use == NFT_DPORT_BYPASS)
		nft_deny(f, ifname, chain, NFT_CTR_D_I3_EGRESS, "I3:proxy-bypass",
			 "reject with icmpx admin-prohibited",
			 "proxied port, not redirected: fail closed",
			 "iifname \"%s\" tcp dport { %s }", ifname, *ports);
	else if (*n)
		fprintf(f, "add rule inet %s %s tcp dport { %s } fib daddr type != local meta mark set meta mark | 0x%08x comment \"to the proxy\"\n",
			NFT_TABLE, chain, *ports, NFT_PROXY_MARK);
	free(*ports);
	*ports = NULL;
	*n = 0;
}

/**
 * nft_domain_ports() - rules on the ports domain rules name
 * @f:		output
 * @ifname:	host-side interface
 * @chain:	chain the rules go in
 * @p:		policy
 * @use:	NFT_DPORT_QUIC or NFT_DPORT_PROXY
 *
 * Names are judged on TCP only, where the proxy reads the SNI or Host.
 * With NFT_DPORT_PROXY (when the supervisor runs the proxy,
 * nft_sandbox.proxy), in the sandbox's prerouting chain: TCP to 80, 443
 * and every port a tcp (or any) domain rule names, not addressed to the
 * host, is marked with NFT_PROXY_MARK, and the base "proxy" chain
 * redirects marked connections to NFT_PROXY_PORT on the sandbox's gateway
 * address, where its supervisor listens. With NFT_DPORT_QUIC, in the
 * forward chain before the policy's rules: QUIC's hello is encrypted with
 * keys derived from the connection ID, so UDP to 443 and to every port a
 * domain rule names is dropped (logged, counted as an I3 denial with
 * reason "quic"), and clients fall back to TCP. Nothing is emitted for
 * QUIC in a policy without domain rules. With NFT_DPORT_BYPASS, in the
 * forward chain when the proxy runs, on the ports NFT_DPORT_PROXY marks:
 * the redirect depends on the mark surviving from moat's prerouting chain
 * (priority raw) to its proxy chain (dstnat), and a table of the host's
 * in between (at mangle priority, say) may rewrite the packet mark. Such a
 * connection is not redirected and would be judged by the address rules
 * alone, domain pins included, without its SNI or Host: it is refused
 * instead (logged, counted as an I3 denial with reason "proxy-bypass"). No
 * redirected connection ever reaches the forward hook (its destination is
 * the gateway), so this refuses nothing else; the proxy's own onward
 * connections, judged by the same chain from the output hook
 * (nft_out_chain_text()), have no input interface. Ports are merged through a bitmap (nft
 * refuses overlapping intervals in one set) and emitted NFT_PORT_RANGES
 * ranges a rule.
 */
static void nft_domain_ports(FILE *f, const char *ifname, const char *chain,
			     const struct policy *p, enum nft_dport_use use)
{
	uint8_t bits[65536 / 8];
	char *ports = NULL;
	unsigned port, lo;
	size_t k, j, len = 0, n = 0;
	FILE *pf = NULL;

	/* the proxy may also run without domain rules (MOAT_PROXY=all,
	 * sandbox_proxy_wanted()): then TCP 80 and 443 only */
	if (use == NFT_DPORT_QUIC && !policy_has_domain_rules(p))
		return;
	memset(bits, 0, sizeof(bits));
	bits[443 / 8] |= 1 << (443 % 8);
	if (use != NFT_DPORT_QUIC)
		bits[80 / 8] |= 1 << (80 % 8);
	for (k = 0; k < p->nrules; k++) {
		const struct rule *r = &p->rules[k];

		if (r->kind != TARGET_DOMAIN)
			continue;
		if (use != NFT_DPORT_QUIC && r->proto != PROTO_ANY &&
		    r->proto != PROTO_TCP)
			continue;
		for (j = 0; j < r->nports; j++)
			for (port = r->ports[j].lo; port <= r->ports[j].hi; port++)
				bits[port / 8] |= (uint8_t)(1 << (port % 8));
	}

	for (port = 0; port < 65536; port++) {
		if (!(bits[port / 8] & (1 << (port % 8))))
			continue;
		if (!pf) {
			pf = open_memstream(&ports, &len);
			if (!pf)
				die_oom();
		}
		for (lo = port; port + 1 < 65536 &&
		     (bits[(port + 1) / 8] & (1 << ((port + 1) % 8))); port++)
			;
		if (lo == port)
			fprintf(pf, "%s%u", n ? ", " : "", lo);
		else
			fprintf(pf, "%s%u-%u", n ? ", " : "", lo, port);
		if (++n == NFT_PORT_RANGES || port == 65535)
			nft_dport_flush(f, ifname, chain, use, &pf, &ports, &n);
	}
	nft_dport_flush(f, ifname, chain, use, &pf, &ports, &n);
}

/**
 * nft_proxy_input() - let redirected connections reach the proxy (I2)
 * @f:		output
 * @s:		the sandbox
 * @chain:	its input chain
 *
 * Only connections the "proxy" chain redirected (conntrack status dnat)
 * to NFT_PROXY_PORT on the sandbox's own gateway address; a connection
 * made to that port directly is refused like any other to the host.
 */
static void nft_proxy_input(FILE *f, const struct nft_sandbox *s,
			    const char *chain)
{
	char g[INET6_ADDRSTRLEN + 4];

	if (!s->proxy || s->pol->mode != NET_FILTERED)
		return;
	fprintf(f, "add rule inet %s %s ip daddr %s tcp dport %u ct status dnat accept comment \"the proxy\"\n",
		NFT_TABLE, chain, pfx_str(&s->gw4, g), NFT_PROXY_PORT);
	if (s->has_v6)
		fprintf(f, "add rule inet %s %s ip6 daddr %s tcp dport %u ct status dnat accept comment \"the proxy\"\n",
			NFT_TABLE, chain, pfx_str(&s->gw6, g), NFT_PROXY_PORT);
}

/**
 * nft_obs_i1_chain() - a sandbox's I1 log chain and its dispatch entry
 * @f:		output
 * @ifname:	host-side interface
 *
 * See nft_obs_base_map(): log and count, no verdict. A packet whose key
 * is in a link set only one side consents to (nft_links_text()) is
 * logged with that reason instead: "I1:link-nopeer", this sandbox allows
 * the peer but the peer does not accept it; "I1:link-noself", the peer
 * accepts this sandbox but its own policy has no link rule for it.
 */
static void nft_obs_i1_chain(FILE *f, const char *ifname)
{
	static const char *const why[][2] = {
		{ "link_nopeer", "I1:link-nopeer" },
		{ "link_noself", "I1:link-noself" },
	};
	const char *t = NFT_TABLE;
	size_t k;

	fprintf(f, "add chain inet %s %s_i1\n", t, ifname);
	fprintf(f, "flush chain inet %s %s_i1\n", t, ifname);
	for (k = 0; k < ARRAY_SIZE(why); k++) {
		const char *m = "iifname . oifname . meta l4proto . th dport";

		if (nft_log_group(ifname)) {
			fprintf(f, "add rule inet %s %s_i1 %s @%s", t, ifname,
				m, why[k][0]);
			nft_log_stmt(f, ifname, why[k][1]);
		}
		fprintf(f, "add rule inet %s %s_i1 %s @%s counter name \"%s_%s\" return comment \"a link only one side wants (I1)\"\n",
			t, ifname, m, why[k][0], ifname,
			nft_ctrs[NFT_CTR_D_I1_EGRESS].name);
	}
	if (nft_log_group(ifname)) {
		fprintf(f, "add rule inet %s %s_i1", t, ifname);
		nft_log_stmt(f, ifname, "I1:sandbox");
	}
	fprintf(f, "add rule inet %s %s_i1 counter name \"%s_%s\" comment \"other sandboxes (I1), counted for the sender\"\n",
		t, ifname, ifname, nft_ctrs[NFT_CTR_D_I1_EGRESS].name);
}

/**
 * nft_obs_policy_rule() - log and count the lines of one compiled rule
 * @f:		output
 * @ifname:	host-side interface
 * @idx:	1-based index of the rule in the effective policy
 * @host:	the lines are for the input chain (the host), not forward
 * @text:	lines from nft_fwd_rule() or nft_in_rule(), each ending in its
 *		verdict ("accept" or "reject ...")
 *
 * An allowed line gets a counter before "accept"; a denied line becomes a
 * log rule and a counted reject, as nft_deny() emits them.
 */
static void nft_obs_policy_rule(FILE *f, const char *ifname, size_t idx,
				bool host, const char *text)
{
	static const char acc[] = " accept", rej[] = " reject with icmpx admin-prohibited";
	const char *line = text, *nl;
	char reason[32];

	snprintf(reason, sizeof(reason), "rule:%zu", idx);
	for (; *line; line = nl + 1) {
		size_t len;

		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line);
		len = (size_t)(nl - line);
		if (len > strlen(acc) &&
		    !strncmp(nl - strlen(acc), acc, strlen(acc))) {
			fprintf(f, "%.*s counter name \"%s_%s\" counter accept\n",
				(int)(len - strlen(acc)), line, ifname,
				nft_ctrs[host ? NFT_CTR_A_RULE_HOST :
					       NFT_CTR_A_RULE_EGRESS].name);
		} else if (len > strlen(rej) &&
			   !strncmp(nl - strlen(rej), rej, strlen(rej))) {
			int mlen = (int)(len - strlen(rej));

			if (nft_log_group(ifname)) {
				fprintf(f, "%.*s", mlen, line);
				nft_log_stmt(f, ifname, reason);
			}
			fprintf(f, "%.*s counter name \"%s_%s\" counter%s\n",
				mlen, line, ifname,
				nft_ctrs[host ? NFT_CTR_D_RULE_HOST :
					       NFT_CTR_D_RULE_EGRESS].name, rej);
		} else if (len) {
			fprintf(f, "%.*s\n", (int)len, line);
		}
		if (!*nl)
			break;
	}
}

/**
 * nft_rule_decorated() - compile one policy rule through nft_obs_policy_rule()
 * @f:		output
 * @s:		the sandbox
 * @chain:	chain name
 * @k:		0-based index of the rule
 * @host:	input chain (nft_in_rule()) rather than forward (nft_fwd_rule())
 *
 * Return: 0, or -1 if the rule cannot be compiled
 */
static int nft_rule_decorated(FILE *f, const struct nft_sandbox *s,
			      const char *chain, size_t k, bool host)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ret = 0;

	m = open_memstream(&buf, &len);
	if (!m)
		die_oom();
	if (host)
		nft_in_rule(m, chain, &s->pol->rules[k]);
	else
		ret = nft_fwd_rule(m, s->ifname, chain, &s->pol->rules[k], k + 1);
	fclose(m);
	nft_obs_policy_rule(f, s->ifname, k + 1, host, buf);
	free(buf);
	return ret;
}

/**
 * addr_only() - format a prefix's address without its length
 * @p:		prefix
 * @buf:	buffer of at least INET6_ADDRSTRLEN + 4 bytes
 *
 * Return: @buf
 */
static const char *addr_only(const struct prefix *p, char *buf)
{
	if (!inet_ntop(p->family, p->addr, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "invalid");
	return buf;
}

/**
 * nft_dom_set_name() - name of a domain allow rule's pin set
 * @buf:	output, NFT_DOM_SET_LEN bytes
 * @ifname:	host-side interface
 * @idx:	1-based index of the rule in the effective policy
 * @af:		AF_INET or AF_INET6
 */
void nft_dom_set_name(char *buf, const char *ifname, size_t idx, int af)
{
	snprintf(buf, NFT_DOM_SET_LEN, "%s_d%zu_%c", ifname, idx,
		 af == AF_INET ? '4' : '6');
}

/**
 * nft_dom_sets_text() - declare (and empty) or delete a sandbox's pin sets
 * @f:		output
 * @ifname:	host-side interface
 * @p:		policy: one pair of sets per domain allow rule
 * @add:	declare and flush them (else make sure they exist, then
 *		delete them, as nft_sandbox_del_text() does with chains)
 *
 * Pins are per sandbox and per rule: an address answered to this sandbox
 * for a name of this rule, with the answer's TTL as timeout (dns.c). The
 * sets are bounded (NFT_DOM_SET_SIZE elements each).
 */
static void nft_dom_sets_text(FILE *f, const char *ifname,
			      const struct policy *p, bool add)
{
	char set[NFT_DOM_SET_LEN];
	size_t k;
	int fam;

	for (k = 0; k < p->nrules; k++) {
		if (p->rules[k].kind != TARGET_DOMAIN || !p->rules[k].allow)
			continue;
		for (fam = 0; fam < 2; fam++) {
			int af = fam ? AF_INET6 : AF_INET;

			nft_dom_set_name(set, ifname, k + 1, af);
			fprintf(f, "add set inet %s %s { type %s; flags timeout; size %u; }\n",
				NFT_TABLE, set,
				af == AF_INET ? "ipv4_addr" : "ipv6_addr",
				NFT_DOM_SET_SIZE);
			fprintf(f, "%s set inet %s %s\n", add ? "flush" : "delete",
				NFT_TABLE, set);
		}
	}
}

/*
 * What a sandbox may take of what the host shares
 * -----------------------------------------------
 * Connection tracking: the host's conntrack table (nf_conntrack_max
 * entries for the whole network namespace, an established TCP entry
 * living five days by default) holds every connection a sandbox opens,
 * forwarded or to moat's services on its gateway (DNS interceptor,
 * proxy, "allow: host" ports). With F = limits.flows
 * (POLICY_FLOWS_DEFAULT), the forward and input chains, before anything
 * they accept, send the first packet of a new connection to "<if>_i9"
 * (which logs it, "moat:I9:flows", counts it in "<if>_d_i9_any" and
 * rejects it before conntrack confirms it: a refused connection never
 * takes an entry) when:
 *
 *   - it is TCP and the sandbox opened F new TCP connections in the last
 *     NFT_CT_CLOSED_TIMEOUT (2) seconds beyond a burst of F (named limit
 *     "<if>_new", F/2 a second);
 *   - F connections the host still tracks for the sandbox are open: set
 *     "<if>_flows" has one dynamic element (keyed by the sandbox's IPv4
 *     address, a constant) carrying a "ct count" (nf_conncount), to
 *     which every new connection
 *     the chains go on to judge is added. A connection leaves the count
 *     when conntrack forgets it, or sees it closed (TCP TIME_WAIT or
 *     CLOSE). One rule evaluates the count, so that a connection is
 *     counted once (a log rule before it would count it again).
 *
 * What the count does not see, TCP connections closed but still tracked,
 * is what the rate and a shorter timeout bound: the sandbox's TCP entries
 * get the ct timeout policy "<if>_tcp", TIME_WAIT and CLOSE two seconds
 * (the kernel's default TIME_WAIT is 120 s, CLOSE 10 s). In two seconds at
 * most F open connections close, and 2F more open and close, so a sandbox
 * holds at most about 4F entries. Conntrack forgetting a closed connection
 * early costs little: a late segment of it is answered by the host with a
 * reset, and the sandbox's own stack keeps its TIME_WAIT. The 5-day
 * timeout of an established connection is kept: a sandbox's own
 * connections may idle, and the count, not the timeout, is what protects
 * the others.
 *
 * A DNS query to the interceptor is a UDP flow of its own (resolvers use
 * a fresh socket each time), tracked 30 s by default although answered
 * at once: a script resolving a name before each of hundreds of requests
 * would use up the count. So the interceptor's flows are accepted before
 * the count, bounded instead by the pace of DNS messages (below), and
 * their UDP entries get the policy "<if>_udp", NFT_CT_DNS_TIMEOUT seconds
 * (answered or not: Linux keeps the "unreplied" timeout for a flow
 * answered once; resolvers give up after about 5 s, and the interceptor
 * answers within DNS_UP_TIMEOUT per upstream it tries); TCP ones get
 * "<if>_tcp" like any other.
 *
 * The DNS interceptor forwards queries from sockets of random source
 * ports, each asking at most 32 queries within a second: one flow of the
 * sandbox's can still make it open many upstream flows a second, each
 * tracked for 30 s. So DNS messages (UDP
 * and TCP port 53, all of which the interceptor receives) are paced: 4F
 * at once (a script resolving before each of hundreds of requests), then
 * F every 10 s (named limit "<if>_dns", first thing in the input chain,
 * established flows included): the interceptor's upstream flows for the
 * sandbox stay near 7F per upstream resolver, the sandbox's own flows to
 * the interceptor near 5F. All told, about 16F entries at worst.
 *
 * Neighbour discovery: the host's IPv6 neighbour table is shared by every
 * interface (its gc_thresh3 is machine-wide), and a neighbour solicitation
 * creates an entry for its source. A sandbox may send neighbour
 * solicitations and advertisements only from its own link-local address
 * (NFT_SANDBOX_LL, which sandbox.c sets on its eth0, or a guest's EUI-64
 * one: nft_sandbox_ll()), its own address, or
 * "::" (duplicate address detection), at most NFT_ND_RATE a second
 * (named limit "<if>_nd"); anything else is dropped before conntrack and
 * counted as spoofing (I5). So a sandbox owns at most two entries there.
 */

/**
 * nft_flows_text() - declare or delete a sandbox's flow bounds and chain
 * @f:		output
 * @ifname:	host-side interface
 * @flows:	limits.flows (declaring), 0 when deleting
 *
 * When deleting, every object is first made sure to exist, then deleted
 * (the chains that refer to them must be deleted first). The set is not
 * flushed when the sandbox's rules are written again: its count must go
 * on counting what conntrack already holds.
 */
static void nft_flows_text(FILE *f, const char *ifname, uint32_t flows)
{
	const char *t = NFT_TABLE;
	uint32_t burst = flows ? flows : 1;

	fprintf(f, "add set inet %s %s_flows { type ipv4_addr; size 1; flags dynamic; }\n",
		t, ifname);
	fprintf(f, "add limit inet %s %s_new { rate over %llu/minute burst %u packets }\n",
		t, ifname, (unsigned long long)burst * 60 / NFT_CT_CLOSED_TIMEOUT,
		burst);
	fprintf(f, "add limit inet %s %s_dns { rate over %llu/minute burst %llu packets }\n",
		t, ifname, (unsigned long long)burst * 6,
		(unsigned long long)burst * 4);
	fprintf(f, "add ct timeout inet %s %s_tcp { protocol tcp; l3proto ip; policy = { time_wait: %u, close: %u }; }\n",
		t, ifname, NFT_CT_CLOSED_TIMEOUT, NFT_CT_CLOSED_TIMEOUT);
	fprintf(f, "add ct timeout inet %s %s_udp { protocol udp; l3proto ip; policy = { unreplied: %u, replied: %u }; }\n",
		t, ifname, NFT_CT_DNS_TIMEOUT, NFT_CT_DNS_TIMEOUT);
	fprintf(f, "add chain inet %s %s_i9\n", t, ifname);
	fprintf(f, "flush chain inet %s %s_i9\n", t, ifname);
	if (!flows) {
		fprintf(f, "delete chain inet %s %s_i9\n", t, ifname);
		fprintf(f, "delete set inet %s %s_flows\n", t, ifname);
		fprintf(f, "delete limit inet %s %s_new\n", t, ifname);
		fprintf(f, "delete limit inet %s %s_dns\n", t, ifname);
		fprintf(f, "delete ct timeout inet %s %s_tcp\n", t, ifname);
		fprintf(f, "delete ct timeout inet %s %s_udp\n", t, ifname);
		return;
	}
	if (nft_log_group(ifname)) {
		fprintf(f, "add rule inet %s %s_i9", t, ifname);
		nft_log_stmt(f, ifname, "I9:flows");
	}
	fprintf(f, "add rule inet %s %s_i9 counter name \"%s_%s\" counter %s comment \"beyond limits.flows (I9)\"\n",
		t, ifname, ifname, nft_ctrs[NFT_CTR_D_I9_ANY].name,
		nft_verdict(false));
}

/**
 * nft_flows_rules() - bound a sandbox's new connections (see above)
 * @f:		output
 * @s:		the sandbox
 * @chain:	its forward or input chain
 * @in:		it is the input chain: then also the DNS interceptor's
 *		accept, ahead of the count
 */
static void nft_flows_rules(FILE *f, const struct nft_sandbox *s,
			    const char *chain, bool in)
{
	const char *t = NFT_TABLE, *i = s->ifname;
	char a[INET6_ADDRSTRLEN + 4];

	fprintf(f, "add rule inet %s %s meta l4proto tcp ct state new ct timeout set \"%s_tcp\"\n",
		t, chain, i);
	if (in) {
		/* the interceptor, where nft_base_text() redirects DNS to:
		 * its flows are bounded by the pace of DNS messages */
		fprintf(f, "add rule inet %s %s udp dport 53 ct state new ct timeout set \"%s_udp\"\n",
			t, chain, i);
		fprintf(f, "add rule inet %s %s ip daddr %s meta l4proto { tcp, udp } th dport 53 accept comment \"DNS interceptor (I4)\"\n",
			t, chain, addr_only(&s->gw4, a));
		if (s->has_v6)
			fprintf(f, "add rule inet %s %s ip6 daddr %s meta l4proto { tcp, udp } th dport 53 accept comment \"DNS interceptor (I4)\"\n",
				t, chain, addr_only(&s->gw6, a));
	}
	/* only what the sandbox sends: its supervisor's onward connections
	 * (moatN_out goes to these chains from the output hook) are each the
	 * twin of a connection of the sandbox's to the proxy or the DNS
	 * interceptor, paced and counted here in the input chain already */
	fprintf(f, "add rule inet %s %s iifname \"%s\" meta l4proto tcp ct state new limit name \"%s_new\" jump %s_i9\n",
		t, chain, i, i, i);
	fprintf(f, "add rule inet %s %s iifname \"%s\" ct state new add @%s_flows { %s ct count over %u } jump %s_i9\n",
		t, chain, i, i, addr_only(&s->addr4, a),
		s->pol->flows ? s->pol->flows : POLICY_FLOWS_DEFAULT, i);
}

/**
 * nft_nd_rules() - neighbour discovery from the sandbox (see above)
 * @f:		output
 * @s:		the sandbox (with IPv6)
 * @chain:	its prerouting chain
 */
static void nft_nd_rules(FILE *f, const struct nft_sandbox *s,
			 const char *chain)
{
	static const char nd[] = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }";
	char a6[INET6_ADDRSTRLEN + 4], l6[INET6_ADDRSTRLEN + 4];
	struct prefix ll;

	nft_sandbox_ll(s, &ll);
	nft_deny(f, s->ifname, chain, NFT_CTR_D_I5_ANY, "I5:spoof", "drop",
		 "neighbour discovery from another source (I5)",
		 "%s ip6 saddr != { ::, %s, %s }", nd, addr_only(&ll, l6),
		 addr_only(&s->addr6, a6));
	fprintf(f, "add rule inet %s %s %s ip6 hoplimit 255 limit name \"%s_nd\" accept comment \"neighbour discovery\"\n",
		NFT_TABLE, chain, nd, s->ifname);
	nft_deny(f, s->ifname, chain, NFT_CTR_D_I5_ANY, "I5:nd", "drop",
		 "neighbour discovery beyond its rate (I5)", "%s", nd);
}

/**
 * nft_instance_rules() - the head of a sandbox's input and forward chains
 * @f:		output
 * @s:		the sandbox
 * @chain:	"<if>_in" or "<if>_fwd"
 *
 * Established traffic passes only when its connection is this instance's
 * (conntrack mark), ICMP errors about such a connection too; another
 * related connection (a conntrack helper's expectation) goes on to the
 * policy like a new one. A new connection takes the instance's mark here,
 * before any verdict (a dropped one never enters the conntrack table).
 * A connection a removed sandbox left behind, with an address or an
 * interface name a new sandbox reuses, is therefore not the new one's:
 * its packets are judged as new traffic, and its replies never enter.
 */
static void nft_instance_rules(FILE *f, const struct nft_sandbox *s,
			       const char *chain)
{
	const char *t = NFT_TABLE;

	fprintf(f, "add rule inet %s %s ct state established ct mark 0x%08" PRIx32 " accept\n",
		t, chain, s->instance);
	fprintf(f, "add rule inet %s %s ct state related ct mark 0x%08" PRIx32 " meta l4proto { icmp, ipv6-icmp } accept comment \"ICMP errors about its connections\"\n",
		t, chain, s->instance);
	fprintf(f, "add rule inet %s %s ct state new ct mark set 0x%08" PRIx32 "\n",
		t, chain, s->instance);
}

/**
 * nft_out_chain_text() - a sandbox's chain for its supervisor's onward
 * connections
 * @f:		output
 * @s:		the sandbox
 *
 * Reached from the output hook by the socket's mark (nft_out_base_text()).
 * A connection the supervisor opens on the sandbox's behalf is judged by
 * the very chains that judge the sandbox's own packets, in the same order:
 * a loopback destination is refused, as the prerouting chain drops one as
 * martian; a destination the kernel routes as local ("fib daddr type
 * local", decided at connect time: addresses and local routes the host
 * gains later included) goes to the sandbox's input chain, where only
 * "allow: host" opens anything; everything else to its forward chain:
 * other sandboxes, DNS and its bypasses, multicast, then the policy's
 * rules in order, domain pins included, and the default. What they refuse
 * the proxy sees refused (ICMP administratively prohibited) and refuses
 * in turn.
 *
 * The only exception comes first: a DNS interceptor's upstream socket
 * (NFT_OUT_DNS) may reach port 53, the operator's resolvers (dns.upstream,
 * or the host's resolv.conf, never a sandbox's choice), which the sandbox's
 * own rules refuse by design (I4; 127.0.0.53 is the host).
 */
static void nft_out_chain_text(FILE *f, const struct nft_sandbox *s)
{
	const char *t = NFT_TABLE, *i = s->ifname;
	char out[32];

	snprintf(out, sizeof(out), "%s_out", i);
	fprintf(f, "add chain inet %s %s\n", t, out);
	fprintf(f, "flush chain inet %s %s\n", t, out);
	fprintf(f, "add rule inet %s %s oifname \"%s\" accept comment \"into its own sandbox: published ports\"\n",
		t, out, i);
	nft_deny(f, i, out, NFT_CTR_D_I1_EGRESS, "I1:sandbox",
		 "reject with icmpx admin-prohibited", "another sandbox (I1)",
		 "oifname \"%s*\"", NFT_IFPREFIX);
	if (s->pol->mode == NET_FILTERED)
		fprintf(f, "add rule inet %s %s meta mark & 0x%08x == 0x%08x meta l4proto { tcp, udp } th dport 53 accept comment \"DNS upstream\"\n",
			t, out, NFT_OUT_DNS, NFT_OUT_DNS);
	nft_deny(f, i, out, NFT_CTR_D_I2_HOST, "I2:loopback",
		 "reject with icmpx admin-prohibited", "loopback (I2)",
		 "ip daddr 127.0.0.0/8");
	nft_deny(f, i, out, NFT_CTR_D_I2_HOST, "I2:loopback",
		 "reject with icmpx admin-prohibited", "loopback (I2)",
		 "ip6 daddr ::1");
	fprintf(f, "add rule inet %s %s fib daddr type local goto %s_in\n",
		t, out, i);
	fprintf(f, "add rule inet %s %s goto %s_fwd\n", t, out, i);
}

/**
 * nft_housekeeping() - drop a sandbox's own IPv6 link housekeeping quietly
 * @f:		output
 * @chain:	the sandbox's prerouting chain
 *
 * A sandbox's kernel, on its own, sends router solicitations and MLD
 * listener reports (joining the solicited-node and all-nodes groups, also
 * for duplicate address detection, from the unspecified address) as soon
 * as its interface comes up. They are expected, carry nothing for anyone
 * (no router answers on a moat link, and multicast never leaves a
 * sandbox), and must not count as attacks: these rules, ahead of the I5
 * rules that log and count, drop them without a log or a counter.
 *
 * Exactly, and nothing else: a router solicitation (hop limit 255, as RFC
 * 4861 requires) and MLD reports and dones (MLDv1 131 and 132, MLDv2 143;
 * hop limit 1, as RFC 2710/3810 require) from the unspecified address or
 * its own link-local address (nft_sandbox_ll()), to a link-scope
 * multicast group (ff02::/16). A packet
 * with any other source, destination, type or hop limit, a forged one
 * included, still meets the I5 rules below and is logged and counted.
 * (Neighbour discovery from these sources, duplicate address detection
 * included, is accepted separately: the host answers it. A guest's router
 * solicitations are accepted before these rules: nft_tap_pre().)
 */
static void nft_housekeeping(FILE *f, const struct nft_sandbox *s,
			     const char *chain)
{
	char l6[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix ll;

	nft_sandbox_ll(s, &ll);
	addr_only(&ll, l6);
	fprintf(f, "add rule inet %s %s ip6 saddr { ::, %s } ip6 daddr ff02::/16 icmpv6 type nd-router-solicit ip6 hoplimit 255 drop comment \"router solicitation (housekeeping)\"\n",
		t, chain, l6);
	fprintf(f, "add rule inet %s %s ip6 saddr { ::, %s } ip6 daddr ff02::/16 icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } ip6 hoplimit 1 drop comment \"MLD report (housekeeping)\"\n",
		t, chain, l6);
}

/**
 * nft_sandbox_ll() - the link-local address a sandbox sends from
 * @s:		the sandbox
 * @ll:		set to NFT_SANDBOX_LL, or for a guest behind a TAP the
 *		EUI-64 address of its MAC (what its kernel takes by default)
 */
void nft_sandbox_ll(const struct nft_sandbox *s, struct prefix *ll)
{
	if (s->tap)
		addr_eui64(NULL, s->guest_mac, ll);
	else if (prefix_parse(NFT_SANDBOX_LL, ll, false))
		memset(ll, 0, sizeof(*ll));	/* never: a constant */
}

/**
 * nft_tap_pre() - a guest's prerouting rules, first in the chain
 * @f:		output
 * @s:		the sandbox, with a TAP
 * @chain:	its prerouting chain
 *
 * The guest sends through the TAP device and the namespace's eth0 (a
 * wire of two tc redirects, sandbox.c): its frames arrive here with its
 * own MAC. Any other source MAC is dropped and counted as spoofing (I5),
 * whatever the addresses, before anything else: the namespace's own stack
 * (eth0's MAC) included. Then the two things a guest without an address
 * yet must send: a DHCP request from 0.0.0.0 to the broadcast address,
 * port 67 (the worker's server, dhcp.c), which the source check below
 * would refuse; and, with IPv6, a router solicitation to all routers from
 * "::" or its link-local address (the worker's advertisements, ra.c),
 * within the sandbox's neighbour discovery rate, ahead of the
 * housekeeping rule that drops a sandbox kernel's own solicitations.
 */
static void nft_tap_pre(FILE *f, const struct nft_sandbox *s,
			const char *chain)
{
	char mac[ADDR_MAC_STRLEN], l6[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;
	struct prefix ll;

	nft_deny(f, s->ifname, chain, NFT_CTR_D_I5_ANY, "I5:spoof", "drop",
		 "another source MAC than the guest's (I5)", "ether saddr != %s",
		 addr_mac_format(s->guest_mac, mac));
	fprintf(f, "add rule inet %s %s ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment \"DHCP from the guest, before it has an address\"\n",
		t, chain);
	if (!s->has_v6)
		return;
	nft_sandbox_ll(s, &ll);
	fprintf(f, "add rule inet %s %s ip6 saddr { ::, %s } ip6 daddr ff02::2 icmpv6 type nd-router-solicit ip6 hoplimit 255 limit name \"%s_nd\" accept comment \"router solicitation from the guest\"\n",
		t, chain, addr_only(&ll, l6), s->ifname);
}

/**
 * nft_tap_in() - a guest's way to moat's DHCP server and router
 * advertisements, in the sandbox's input chain
 * @f:		output
 * @s:		the sandbox, with a TAP
 * @chain:	its input chain
 *
 * DHCP only to the gateway's address or the broadcast address (never
 * port 67 of another address of the host's); router solicitations only
 * to all routers (their sources were checked in prerouting).
 */
static void nft_tap_in(FILE *f, const struct nft_sandbox *s, const char *chain)
{
	char a4[INET6_ADDRSTRLEN + 4];
	const char *t = NFT_TABLE;

	fprintf(f, "add rule inet %s %s ip daddr { 255.255.255.255, %s } udp sport 68 udp dport 67 accept comment \"DHCP server (the guest)\"\n",
		t, chain, addr_only(&s->gw4, a4));
	if (s->has_v6)
		fprintf(f, "add rule inet %s %s ip6 daddr ff02::2 icmpv6 type nd-router-solicit ip6 hoplimit 255 accept comment \"router advertisements (the guest)\"\n",
			t, chain);
}

/**
 * nft_link_rules() - a sender's rules for its live links
 * @f:		output
 * @s:		the sandbox, whose policy has link rules
 * @fwd:	its forward chain, right after nft_instance_rules()
 *
 * A new connection on a live link (set "links", keyed by this interface,
 * the peer's, the protocol and the port: the base forward chain sent it
 * here for that) goes to "<if>_lk", which bounds it like any other new
 * connection of the sandbox (I9, nft_flows_rules()) and accepts it; its
 * instance mark was set just before. Nothing else a sandbox sends ever
 * matches: the set holds only keys of live links.
 */
static void nft_link_rules(FILE *f, const struct nft_sandbox *s,
			   const char *fwd)
{
	const char *t = NFT_TABLE, *i = s->ifname;
	char lk[32];

	snprintf(lk, sizeof(lk), "%s_lk", i);
	fprintf(f, "add chain inet %s %s\n", t, lk);
	fprintf(f, "flush chain inet %s %s\n", t, lk);
	nft_flows_rules(f, s, lk, false);
	fprintf(f, "add rule inet %s %s counter name \"%s_%s\" counter accept comment \"a live link: both sides consent\"\n",
		t, lk, i, nft_ctrs[NFT_CTR_A_RULE_EGRESS].name);
	fprintf(f, "add rule inet %s %s oifname \"%s*\" ct state new iifname . oifname . meta l4proto . th dport @links goto %s\n",
		t, fwd, NFT_IFPREFIX, lk);
}

/**
 * nft_link_pre() - keep a linked sandbox's traffic away from the proxy
 * @f:		output
 * @s:		the sandbox, whose policy has link rules
 * @pre:	its prerouting chain, before nft_domain_ports()
 *
 * The proxy's onward connections never reach another sandbox (I1,
 * nft_out_chain_text()), so a link on port 80, 443 or a domain rule's
 * port must not be redirected to it: what goes to the pools is left
 * unmarked, for the forward chains to judge (a link, or I1).
 */
static void nft_link_pre(FILE *f, const struct nft_sandbox *s,
			 const char *pre)
{
	fprintf(f, "add rule inet %s %s ip daddr @pool4 accept comment \"other sandboxes: links or I1, never the proxy\"\n",
		NFT_TABLE, pre);
	if (s->has_v6)
		fprintf(f, "add rule inet %s %s ip6 daddr @pool6 accept comment \"other sandboxes: links or I1, never the proxy\"\n",
			NFT_TABLE, pre);
}

/**
 * nft_sandbox_add_text() - emit a sandbox's chains and dispatch entries
 * @f:		output
 * @s:		the sandbox
 * @el:		errors
 *
 * Return: 0, or -1 with records in @el
 */
int nft_sandbox_add_text(FILE *f, const struct nft_sandbox *s,
			 struct errlist *el)
{
	char a4[INET6_ADDRSTRLEN + 4], a6[INET6_ADDRSTRLEN + 4];
	const struct policy *p = s->pol;
	const char *t = NFT_TABLE, *i = s->ifname;
	char pre[32], in[32], fwd[32];
	size_t k;
	int ret = 0;

	snprintf(pre, sizeof(pre), "%s_pre", i);
	snprintf(in, sizeof(in), "%s_in", i);
	snprintf(fwd, sizeof(fwd), "%s_fwd", i);

	nft_dom_sets_text(f, i, p, true);

	/* prerouting: I5 anti-spoofing and martians */
	fprintf(f, "add chain inet %s %s\n", t, pre);
	fprintf(f, "flush chain inet %s %s\n", t, pre);
	nft_obs_objects_text(f, i);
	nft_flows_text(f, i, p->flows ? p->flows : POLICY_FLOWS_DEFAULT);
	if (s->tap)
		nft_tap_pre(f, s, pre);
	if (s->has_v6)
		nft_housekeeping(f, s, pre);
	nft_deny(f, i, pre, NFT_CTR_D_I5_ANY, "I5:redirect", "drop",
		 "redirects (I5)", "icmp type redirect");
	nft_deny(f, i, pre, NFT_CTR_D_I5_ANY, "I5:ra", "drop",
		 "router advertisements and redirects (I5)",
		 "icmpv6 type { nd-router-advert, nd-redirect, nd-router-solicit }");
	if (s->has_v6) {
		nft_nd_rules(f, s, pre);
		nft_deny(f, i, pre, NFT_CTR_D_I5_ANY, "I5:spoof", "drop",
			 "spoofed source (I5)", "ip6 saddr != %s",
			 pfx_str(&s->addr6, a6));
		nft_deny(f, i, pre, NFT_CTR_D_I2_HOST, "I2:loopback", "drop",
			 "martian loopback", "ip6 daddr ::1");
	} else {
		fprintf(f, "add rule inet %s %s meta nfproto ipv6 drop comment \"no IPv6 in this sandbox\"\n",
			t, pre);
	}
	nft_deny(f, i, pre, NFT_CTR_D_I5_ANY, "I5:spoof", "drop",
		 "spoofed source (I5)", "ip saddr != %s", pfx_str(&s->addr4, a4));
	nft_deny(f, i, pre, NFT_CTR_D_I2_HOST, "I2:loopback", "drop",
		 "martian loopback", "ip daddr 127.0.0.0/8");
	if (p->mode == NET_FILTERED && s->proxy) {
		if (policy_has_link_rules(p))
			nft_link_pre(f, s, pre);
		nft_domain_ports(f, i, pre, p, NFT_DPORT_PROXY);
	}
	fprintf(f, "add rule inet %s %s accept\n", t, pre);

	/* input: the host (I2) */
	fprintf(f, "add chain inet %s %s\n", t, in);
	fprintf(f, "flush chain inet %s %s\n", t, in);
	if (p->mode == NET_FILTERED)
		fprintf(f, "add rule inet %s %s meta l4proto { tcp, udp } th dport 53 limit name \"%s_dns\" jump %s_i9 comment \"DNS messages beyond limits.flows every 10 s (I9)\"\n",
			t, in, i, i);
	nft_instance_rules(f, s, in);
	fprintf(f, "add rule inet %s %s ct state invalid drop\n", t, in);
	if (s->has_v6)
		fprintf(f, "add rule inet %s %s icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n",
			t, in);
	if (s->tap)
		nft_tap_in(f, s, in);
	if (p->mode == NET_FILTERED)
		nft_flows_rules(f, s, in, true);
	nft_proxy_input(f, s, in);
	if (p->mode == NET_FILTERED) {
		/* "allow: host" must not open the host's resolver (I4) */
		nft_deny(f, i, in, NFT_CTR_D_I4_HOST, "I4:dns", "drop",
			 "DNS and its bypasses (I4)",
			 "meta l4proto { tcp, udp } th dport { " NFT_I4_PORTS " }");
		for (k = 0; k < p->nrules; k++)
			nft_rule_decorated(f, s, in, k, true);
	}
	nft_deny(f, i, in, NFT_CTR_D_I2_HOST, "I2:host",
		 "reject with icmpx admin-prohibited", "the host (I2)",
		 "fib daddr type local");
	nft_deny(f, i, in, NFT_CTR_D_I4_HOST, "I4:multicast", "drop",
		 "broadcast and multicast to the host (I4)", "%s", "");

	/* forward: I1, I4, then the policy (I3) */
	fprintf(f, "add chain inet %s %s\n", t, fwd);
	fprintf(f, "flush chain inet %s %s\n", t, fwd);
	nft_instance_rules(f, s, fwd);
	if (p->mode == NET_FILTERED && policy_has_link_rules(p))
		nft_link_rules(f, s, fwd);
	if (p->mode != NET_FILTERED) {
		char why[32], cmt[32];

		snprintf(why, sizeof(why), "I3:%s", net_mode_name(p->mode));
		snprintf(cmt, sizeof(cmt), "network %s", net_mode_name(p->mode));
		nft_deny(f, i, fwd, NFT_CTR_D_I3_EGRESS, why, "drop", cmt,
			 "%s", "");
	} else {
		nft_deny(f, i, fwd, NFT_CTR_D_I1_EGRESS, "I1:sandbox", "drop",
			 "other sandboxes (I1)", "ip daddr @pool4");
		nft_deny(f, i, fwd, NFT_CTR_D_I1_EGRESS, "I1:sandbox", "drop",
			 "other sandboxes (I1)", "ip6 daddr @pool6");
		nft_deny(f, i, fwd, NFT_CTR_D_I4_EGRESS, "I4:dns", "drop",
			 "DNS and its bypasses (I4)",
			 "meta l4proto { tcp, udp } th dport { " NFT_I4_PORTS " }");
		nft_deny(f, i, fwd, NFT_CTR_D_I4_EGRESS, "I4:multicast", "drop",
			 "multicast and broadcast (I4)", "ip daddr @g4_multicast");
		nft_deny(f, i, fwd, NFT_CTR_D_I4_EGRESS, "I4:multicast", "drop",
			 "multicast (I4)", "ip6 daddr @g6_multicast");
		nft_deny(f, i, fwd, NFT_CTR_D_I4_EGRESS, "I4:multicast", "drop",
			 "broadcast (I4)", "fib daddr type broadcast");
		if (s->proxy)
			nft_domain_ports(f, i, fwd, p, NFT_DPORT_BYPASS);
		nft_flows_rules(f, s, fwd, false);
		nft_domain_ports(f, i, fwd, p, NFT_DPORT_QUIC);
		for (k = 0; k < p->nrules; k++) {
			const struct srcloc *loc = &p->rules[k].loc;

			if (!nft_rule_decorated(f, s, fwd, k, false))
				continue;
			errlist_add(el, loc->file, loc->line, loc->col,
				    "rule %zu: its target cannot be compiled",
				    k + 1);
			ret = -1;
		}
		switch (p->egress_default) {
		case EGRESS_PUBLIC:
			fprintf(f, "add rule inet %s %s ip daddr @g4_public counter name \"%s_%s\" counter accept comment \"default: public\"\n",
				t, fwd, i, nft_ctrs[NFT_CTR_A_DEFAULT_EGRESS].name);
			fprintf(f, "add rule inet %s %s ip6 daddr @g6_public counter name \"%s_%s\" counter accept comment \"default: public\"\n",
				t, fwd, i, nft_ctrs[NFT_CTR_A_DEFAULT_EGRESS].name);
			break;
		case EGRESS_ALLOW:
			fprintf(f, "add rule inet %s %s counter name \"%s_%s\" counter accept comment \"default: allow\"\n",
				t, fwd, i, nft_ctrs[NFT_CTR_A_DEFAULT_EGRESS].name);
			break;
		case EGRESS_DENY:
			break;
		}
		nft_deny(f, i, fwd, NFT_CTR_D_I3_EGRESS, "I3:default",
			 "reject with icmpx admin-prohibited",
			 "not allowed by the policy (I3)", "%s", "");
	}
	fprintf(f, "add rule inet %s %s drop\n", t, fwd);

	/* into the sandbox: replies of its own instance's connections */
	fprintf(f, "add chain inet %s %s_rep\n", t, i);
	fprintf(f, "flush chain inet %s %s_rep\n", t, i);
	fprintf(f, "add rule inet %s %s_rep ct state established ct mark 0x%08" PRIx32 " accept\n",
		t, i, s->instance);
	fprintf(f, "add rule inet %s %s_rep ct state related ct mark 0x%08" PRIx32 " meta l4proto { icmp, ipv6-icmp } accept comment \"ICMP errors about its connections\"\n",
		t, i, s->instance);
	/* the host's own new connections into it */
	fprintf(f, "add chain inet %s %s_host\n", t, i);
	fprintf(f, "flush chain inet %s %s_host\n", t, i);
	fprintf(f, "add rule inet %s %s_host ct mark set 0x%08" PRIx32 "\n",
		t, i, s->instance);

	/* its worker's sockets: the sandbox's mark (nft_worker_uid()) */
	fprintf(f, "add chain inet %s %s_wk\n", t, i);
	fprintf(f, "flush chain inet %s %s_wk\n", t, i);
	if (nft_worker_uid(i, false)) {
		uint32_t mark = nft_out_mark(i);

		fprintf(f, "add rule inet %s %s_wk meta skuid %u meta mark set meta mark & 0x%08x | 0x%08x\n",
			t, i, nft_worker_uid(i, false), NFT_OUT_KEEP, mark);
		fprintf(f, "add rule inet %s %s_wk meta skuid %u meta mark set meta mark & 0x%08x | 0x%08x\n",
			t, i, nft_worker_uid(i, true), NFT_OUT_KEEP,
			mark | NFT_OUT_DNS);
	}

	nft_obs_i1_chain(f, i);
	nft_out_chain_text(f, s);
	return ret;
}

/**
 * nft_sandbox_del_text() - emit the removal of a sandbox's objects
 * @f:		output
 * @ifname:	host-side interface
 * @pol:	its policy (names the pin sets), or NULL if it cannot be read:
 *		the sets are then left behind, empty of meaning (no chain
 *		refers to them) and flushed by the next sandbox that reuses
 *		the interface name (nft_dom_sets_text())
 *
 * Its dispatch entries must be gone already (nft_dispatch_set()), so that
 * nothing jumps to the chains removed here. The removal must succeed
 * whatever is left of the sandbox (an interrupted set-up, a chain deleted
 * by hand), and nftables has no "delete if it exists" before version
 * 1.0.8. So the same transaction first makes sure every object exists
 * ("add" of an existing chain is a no-op), then deletes them.
 */
void nft_sandbox_del_text(FILE *f, const char *ifname,
			  const struct policy *pol)
{
	/* out first: its rules refer to in and fwd */
	static const char *const kinds[] = { "out", "pre", "in", "fwd", "rep", "host", "wk", "lk" };
	const char *t = NFT_TABLE;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		fprintf(f, "add chain inet %s %s_%s\n", t, ifname, kinds[k]);
	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		fprintf(f, "flush chain inet %s %s_%s\n", t, ifname, kinds[k]);
		fprintf(f, "delete chain inet %s %s_%s\n", t, ifname, kinds[k]);
	}
	if (pol)
		nft_dom_sets_text(f, ifname, pol, false);
	nft_flows_text(f, ifname, 0);
	nft_obs_del_text(f, ifname);
}

/* The dispatch entries and the chain each one jumps to, by suffix; keyed by
 * interface name, by socket mark (nft_out_mark()), or by the UIDs of the
 * sandbox's worker (nft_worker_uid()) */
enum nft_key {
	NFT_KEY_IF,
	NFT_KEY_MARK,
	NFT_KEY_UID,
	NFT_KEY_UID_DNS,
};
static const struct {
	const char *map;
	const char *suffix;
	enum nft_key key;
} nft_dispatch_maps[NFT_DISPATCH_N] = {
	{ "i1_dispatch",  "i1",  NFT_KEY_IF },
	{ "pre_dispatch", "pre", NFT_KEY_IF },
	{ "in_dispatch",  "in",  NFT_KEY_IF },
	{ "fwd_dispatch", "fwd", NFT_KEY_IF },
	{ "rep_dispatch", "rep", NFT_KEY_IF },
	{ "host_dispatch", "host", NFT_KEY_IF },
	{ "out_dispatch", "out", NFT_KEY_MARK },
	{ "wk_dispatch", "wk", NFT_KEY_UID },
	{ "wk_dispatch", "wk", NFT_KEY_UID_DNS },
};

/**
 * nft_out_mark() - the socket mark of a sandbox's onward connections
 * @ifname:	host-side interface, "moat<N>"
 *
 * Return: NFT_OUT_MARK | N, or NFT_OUT_NONE (no dispatch entry: such a
 *	   socket's packets are dropped) if @ifname has no index or the index
 *	   is past NFT_OUT_INDEX_MAX
 */
uint32_t nft_out_mark(const char *ifname)
{
	size_t l = strlen(NFT_IFPREFIX);
	unsigned long n;
	char *end;

	if (strncmp(ifname, NFT_IFPREFIX, l) || ifname[l] < '0' ||
	    ifname[l] > '9')
		return NFT_OUT_NONE;
	errno = 0;
	n = strtoul(ifname + l, &end, 10);
	if (*end || errno || n > NFT_OUT_INDEX_MAX)
		return NFT_OUT_NONE;
	return NFT_OUT_MARK | (uint32_t)n;
}

/**
 * nft_worker_uid() - the UID of a sandbox's worker
 * @ifname:	host-side interface, "moat<N>"
 * @dns:	the UID of its DNS upstream sockets instead
 *
 * Return: NFT_WORKER_UID_BASE + 2N (+ 1 for @dns), or 0 if @ifname has no
 *	   index within NFT_OUT_INDEX_MAX (such a sandbox has no worker UID,
 *	   and its worker does not start)
 */
uint32_t nft_worker_uid(const char *ifname, bool dns)
{
	uint32_t mark = nft_out_mark(ifname);

	if (mark == NFT_OUT_NONE)
		return 0;
	return NFT_WORKER_UID_BASE + 2 * (mark & ~NFT_OUT_MARK) + (dns ? 1 : 0);
}

/**
 * nft_dispatch_key() - the key of one of a sandbox's dispatch entries
 * @ifname:	host-side interface
 * @k:		index into nft_dispatch_maps[]
 * @num:	set to the key if it is a number (mark, UID)
 *
 * Return: false if the entry does not exist for this sandbox (an index
 *	   past NFT_OUT_INDEX_MAX: its marked sockets and its worker's are
 *	   dropped)
 */
static bool nft_dispatch_key(const char *ifname, size_t k, uint32_t *num)
{
	switch (nft_dispatch_maps[k].key) {
	case NFT_KEY_IF:
		return true;
	case NFT_KEY_MARK:
		*num = nft_out_mark(ifname);
		return *num != NFT_OUT_NONE;
	case NFT_KEY_UID:
	case NFT_KEY_UID_DNS:
		*num = nft_worker_uid(ifname,
				      nft_dispatch_maps[k].key == NFT_KEY_UID_DNS);
		return *num != 0;
	}
	return false;
}

/**
 * nft_dispatch_text() - a sandbox's dispatch entries as nft script text
 * @f:		output
 * @ifname:	host-side interface
 * @add:	add them (else delete them)
 *
 * What nft_dispatch_set() sends, in nft(8) syntax: for the golden files
 * and for reading.
 */
void nft_dispatch_text(FILE *f, const char *ifname, bool add)
{
	char key[32];
	uint32_t num;
	size_t k;

	for (k = 0; k < NFT_DISPATCH_N; k++) {
		if (!nft_dispatch_key(ifname, k, &num))
			continue;
		if (nft_dispatch_maps[k].key == NFT_KEY_IF)
			snprintf(key, sizeof(key), "\"%s\"", ifname);
		else if (nft_dispatch_maps[k].key == NFT_KEY_MARK)
			snprintf(key, sizeof(key), "0x%08x", num);
		else
			snprintf(key, sizeof(key), "%u", num);
		if (add)
			fprintf(f, "add element inet %s %s { %s : jump %s_%s }\n",
				NFT_TABLE, nft_dispatch_maps[k].map, key,
				ifname, nft_dispatch_maps[k].suffix);
		else
			fprintf(f, "delete element inet %s %s { %s }\n",
				NFT_TABLE, nft_dispatch_maps[k].map, key);
	}
}

/**
 * nft_batch_send() - send a libnftnl batch and wait for every answer
 * @nl:		netfilter socket (with a receive timeout)
 * @portid:	its port ID
 * @b:		the batch, begin and end messages included
 * @first:	sequence number of the batch's first message with NLM_F_ACK
 * @end:	one past the last one
 * @nmsg:	number of those messages: one answer comes for each, an ACK
 *		or the error that aborted the batch (the kernel answers every
 *		message of an aborted batch)
 * @buf:	receive buffer (may be the batch's own, sent by then)
 * @len:	its size
 *
 * Return: 0 once every message is acknowledged, or the first -errno
 */
int nft_batch_send(struct mnl_socket *nl, unsigned int portid,
		   struct mnl_nlmsg_batch *b, unsigned int first,
		   unsigned int end, unsigned int nmsg, void *buf, size_t len)
{
	unsigned int nack = 0;
	int ret = 0;

	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0)
		return -errno;
	while (nack < nmsg) {
		ssize_t r = mnl_socket_recvfrom(nl, buf, len);
		const struct nlmsghdr *nlh = buf;
		int left = (int)r;

		if (r < 0)
			return ret ? ret : (errno == EAGAIN ? -ETIMEDOUT : -errno);
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *err;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_pid != portid ||
			    nlh->nlmsg_seq < first || nlh->nlmsg_seq >= end)
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			if (err->error && !ret)
				ret = err->error;
			nack++;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * nft_dispatch_elem() - a sandbox's element of one dispatch map, unsent
 * @k:		index into nft_dispatch_maps[]
 * @key:	its interface name, zero-padded (the maps keyed by name)
 * @num:	its number from nft_dispatch_key() (the maps keyed by one)
 * @e:		set to the element, keyed, not in the set yet: the caller
 *		adds a verdict if it needs one, then nftnl_set_elem_add()
 *
 * Return: the map (table and name set), to free with nftnl_set_free()
 */
static struct nftnl_set *nft_dispatch_elem(size_t k, const char key[IFNAMSIZ],
					   uint32_t num,
					   struct nftnl_set_elem **e)
{
	struct nftnl_set *set = nftnl_set_alloc();

	*e = nftnl_set_elem_alloc();
	if (!set || !*e)
		die_oom();
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, nft_dispatch_maps[k].map);
	if (nft_dispatch_maps[k].key != NFT_KEY_IF)
		nftnl_set_elem_set(*e, NFTNL_SET_ELEM_KEY, &num, sizeof(num));
	else
		nftnl_set_elem_set(*e, NFTNL_SET_ELEM_KEY, key, IFNAMSIZ);
	return set;
}

/**
 * nft_dispatch_msgs() - append a sandbox's dispatch entries to a batch
 * @b:		the batch
 * @seq:	next sequence number, advanced past the messages
 * @ifname:	host-side interface
 * @add:	add (NEWSETELEM) or delete (DELSETELEM)
 * @only:	index into nft_dispatch_maps[] of the one entry to send, or
 *		-1 for all of them
 *
 * Every message asks for an acknowledgement (nft_batch_send()).
 *
 * Return: the number of messages appended
 */
unsigned int nft_dispatch_msgs(struct mnl_nlmsg_batch *b, unsigned int *seq,
			       const char *ifname, bool add, int only)
{
	char key[IFNAMSIZ] = { 0 }, chain[64];
	unsigned int nmsg = 0;
	size_t k;

	memcpy(key, ifname, strnlen(ifname, IFNAMSIZ - 1));
	for (k = 0; k < NFT_DISPATCH_N; k++) {
		struct nftnl_set_elem *e;
		struct nftnl_set *set;
		struct nlmsghdr *nlh;
		uint32_t num = 0;

		if (only >= 0 && (size_t)only != k)
			continue;
		if (!nft_dispatch_key(ifname, k, &num))
			continue;	/* no entry: its sockets are dropped */
		set = nft_dispatch_elem(k, key, num, &e);
		if (add) {
			snprintf(chain, sizeof(chain), "%s_%s", ifname,
				 nft_dispatch_maps[k].suffix);
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
			nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
		}
		nftnl_set_elem_add(set, e);
		nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
					    add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
					    NFPROTO_INET,
					    (add ? NLM_F_CREATE : 0) | NLM_F_ACK, (*seq)++);
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
		nftnl_set_free(set);
		mnl_nlmsg_batch_next(b);
		nmsg++;
	}
	return nmsg;
}

/**
 * nft_dispatch_batch() - send dispatch entries in one nfnetlink batch
 * @ifname:	host-side interface
 * @add:	add (NEWSETELEM) or delete (DELSETELEM)
 * @only:	index into nft_dispatch_maps[] of the one entry to send, or
 *		-1 for all of them
 *
 * One batch is one kernel transaction: all entries apply, or none.
 *
 * Return: 0, or -errno of the first message the kernel refused
 */
static int nft_dispatch_batch(const char *ifname, bool add, int only)
{
	char buf[NL_BUF];
	struct mnl_nlmsg_batch *b;
	struct mnl_socket *nl;
	unsigned int seq = (unsigned int)time(NULL), portid, nmsg, first;
	int ret = 0;

	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);

	b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	first = seq;
	nmsg = nft_dispatch_msgs(b, &seq, ifname, add, only);
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);

	ret = nft_batch_send(nl, portid, b, first, seq, nmsg, buf, sizeof(buf));
	mnl_nlmsg_batch_stop(b);
	mnl_socket_close(nl);
	return ret;
}

/**
 * nft_dispatch_set() - add or remove a sandbox's dispatch entries
 * @ifname:	host-side interface
 * @add:	add them (else remove them)
 *
 * The entries go through libnftnl rather than libnftables: before any
 * change to a map's elements, libnftables fetches every set element of
 * the table, and the kernel's set dump restarts its walk for each
 * message, so that with 1000 sandboxes one "add element" took a second.
 * A sandbox's chains are added before its entries and removed after them:
 * in between, its traffic meets the base chains' fail-closed drop.
 *
 * Adding is one transaction (all entries or none), and adding an
 * entry that exists is not an error. Removing tolerates entries that are
 * already gone: if the batch fails, each entry is removed on its own.
 *
 * Return: 0, or -errno
 */
int nft_dispatch_set(const char *ifname, bool add)
{
	int ret, k;

	ret = nft_dispatch_batch(ifname, add, -1);
	if (add || ret != -ENOENT)
		return ret;
	for (k = 0; k < NFT_DISPATCH_N; k++) {
		ret = nft_dispatch_batch(ifname, false, k);
		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}

/*
 * Removing a sandbox in one batch
 * -------------------------------
 * nft_sandbox_del_text() removes a sandbox through libnftables, which
 * first builds its cache of every chain, set and object of the table (the
 * cost grows with the number of sandboxes), and it can only do so after
 * the dispatch entries went in a transaction of their own. Kernels since
 * 6.3 have "destroy" messages, a delete that is not an error when the
 * object is already gone: with them the whole removal is one libnftnl
 * batch that names every object of the sandbox, its dispatch entries
 * first, then its chains ("out" first: its rules jump to "in" and "fwd";
 * "i9" last: "in", "fwd" and "lk" jump to it; deleting a chain deletes its
 * rules), then the sets and the named objects those rules used. One
 * batch is one transaction: the kernel applies all of it or nothing, so
 * no state between "entries gone" and "chains gone" is ever visible, and
 * nothing the table validates grows with the other sandboxes.
 *
 * A kernel without destroy messages refuses the batch (EINVAL, unknown
 * message type) and changes nothing; the caller then removes the sandbox
 * the older way.
 *
 * The kernel frees what a transaction removed after an RCU grace period,
 * in a work queue, and the close of any netfilter socket waits for that
 * work to finish (a release notifier of nf_tables): 5-15 ms on an
 * otherwise quick removal. So the socket of the batch stays open
 * (nft_destroy_settle() closes it) while the caller deletes the
 * sandbox's link, whose own grace periods then cover that wait.
 */

/* enum nf_tables_msg_types, Linux 6.3; the userspace headers this is
 * built with may be older */
#define NFT_DESTROY_CHAIN	27
#define NFT_DESTROY_SET		29
#define NFT_DESTROY_SETELEM	30
#define NFT_DESTROY_OBJ		31

/* the chains of a sandbox, in the order they can go (see above) */
static const char *const nft_sandbox_chains[] = {
	"out", "pre", "in", "fwd",
	"lk",	/* a sender's live links (nft_link_rules()): "fwd" jumps to
		 * it, and it to "i9" */
	"rep", "host", "wk", "i1", "i9",
};

/* its named objects other than the counters (nft_obs_objects_text(),
 * nft_flows_text()) */
static const struct {
	const char *suffix;
	uint32_t type;
} nft_sandbox_objs[] = {
	{ "log", NFT_OBJECT_LIMIT },
	{ "nd",  NFT_OBJECT_LIMIT },
	{ "new", NFT_OBJECT_LIMIT },
	{ "dns", NFT_OBJECT_LIMIT },
	{ "tcp", NFT_OBJECT_CT_TIMEOUT },
	{ "udp", NFT_OBJECT_CT_TIMEOUT },
};

/**
 * struct nft_del_batch - a removal batch being built
 * @b:		the batch
 * @seq:	next sequence number
 * @nmsg:	messages in it that ask for an acknowledgement
 */
struct nft_del_batch {
	struct mnl_nlmsg_batch *b;
	unsigned int seq;
	unsigned int nmsg;
};

/**
 * nft_del_hdr() - start one destroy message in the batch
 * @d:		batch
 * @type:	NFT_DESTROY_*
 *
 * Return: the message's header, with its nfgenmsg, attributes to follow
 */
static struct nlmsghdr *nft_del_hdr(struct nft_del_batch *d, uint16_t type)
{
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(d->b), type,
				    NFPROTO_INET, NLM_F_ACK, d->seq++);
	d->nmsg++;
	return nlh;
}

/**
 * nft_del_named() - a destroy message naming one object of the table
 * @arg:	batch (struct nft_del_batch)
 * @type:	NFT_DESTROY_CHAIN, _SET or _OBJ
 * @name:	its name
 * @objtype:	NFT_OBJECT_* for _OBJ, else ignored
 */
static void nft_del_named(void *arg, uint16_t type, const char *name,
			  uint32_t objtype)
{
	struct nft_del_batch *d = arg;
	struct nlmsghdr *nlh = nft_del_hdr(d, type);

	switch (type) {
	case NFT_DESTROY_CHAIN:
		mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, name);
		break;
	case NFT_DESTROY_SET:
		mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
		break;
	default:
		mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, name);
		mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(objtype));
		break;
	}
	mnl_nlmsg_batch_next(d->b);
}

/**
 * nft_sandbox_objects() - every chain, set and named object of a sandbox,
 * in the order they can be removed (see "Removing a sandbox in one batch")
 * @ifname:	host-side interface
 * @pol:	its policy (names its pin sets), or NULL
 * @cb:		called with @arg, NFT_DESTROY_CHAIN, _SET or _OBJ, the name
 *		and, for _OBJ, its NFT_OBJECT_* type
 * @arg:	passed to @cb
 *
 * Its dispatch entries are not included: they go first.
 */
static void nft_sandbox_objects(const char *ifname, const struct policy *pol,
				void (*cb)(void *arg, uint16_t type,
					   const char *name, uint32_t objtype),
				void *arg)
{
	char name[NFT_DOM_SET_LEN + 8];
	size_t k;

	for (k = 0; k < ARRAY_SIZE(nft_sandbox_chains); k++) {
		snprintf(name, sizeof(name), "%s_%s", ifname,
			 nft_sandbox_chains[k]);
		cb(arg, NFT_DESTROY_CHAIN, name, 0);
	}
	for (k = 0; pol && k < pol->nrules; k++) {
		if (pol->rules[k].kind != TARGET_DOMAIN || !pol->rules[k].allow)
			continue;
		nft_dom_set_name(name, ifname, k + 1, AF_INET);
		cb(arg, NFT_DESTROY_SET, name, 0);
		nft_dom_set_name(name, ifname, k + 1, AF_INET6);
		cb(arg, NFT_DESTROY_SET, name, 0);
	}
	snprintf(name, sizeof(name), "%s_flows", ifname);
	cb(arg, NFT_DESTROY_SET, name, 0);
	for (k = 0; k < NFT_CTR_COUNT; k++) {
		snprintf(name, sizeof(name), "%s_%s", ifname, nft_ctrs[k].name);
		cb(arg, NFT_DESTROY_OBJ, name, NFT_OBJECT_COUNTER);
	}
	for (k = 0; k < ARRAY_SIZE(nft_sandbox_objs); k++) {
		snprintf(name, sizeof(name), "%s_%s", ifname,
			 nft_sandbox_objs[k].suffix);
		cb(arg, NFT_DESTROY_OBJ, name, nft_sandbox_objs[k].type);
	}
}

/**
 * nft_destroy_line() - one object's destroy in nft(8) syntax
 * @arg:	output (FILE *)
 * @type:	NFT_DESTROY_CHAIN, _SET or _OBJ
 * @name:	its name
 * @objtype:	NFT_OBJECT_* for _OBJ
 */
static void nft_destroy_line(void *arg, uint16_t type, const char *name,
			     uint32_t objtype)
{
	const char *kind = type == NFT_DESTROY_CHAIN ? "chain" :
			   type == NFT_DESTROY_SET ? "set" :
			   objtype == NFT_OBJECT_COUNTER ? "counter" :
			   objtype == NFT_OBJECT_LIMIT ? "limit" : "ct timeout";

	fprintf(arg, "destroy %s inet %s %s\n", kind, NFT_TABLE, name);
}

/**
 * nft_sandbox_destroy_text() - what nft_sandbox_destroy() sends, as text
 * @f:		output
 * @ifname:	host-side interface
 * @pol:	its policy, or NULL
 *
 * In nft(8) syntax (its "destroy" needs nftables 1.0.8): for the tests,
 * which check that it names every object nft_sandbox_add_text() makes.
 */
void nft_sandbox_destroy_text(FILE *f, const char *ifname,
			      const struct policy *pol)
{
	nft_dispatch_text(f, ifname, false);
	nft_sandbox_objects(ifname, pol, nft_destroy_line, f);
}

/**
 * nft_del_entries() - destroy messages for a sandbox's dispatch entries
 * @d:		batch
 * @ifname:	host-side interface
 */
static void nft_del_entries(struct nft_del_batch *d, const char *ifname)
{
	char key[IFNAMSIZ] = { 0 };
	size_t k;

	memcpy(key, ifname, strnlen(ifname, IFNAMSIZ - 1));
	for (k = 0; k < NFT_DISPATCH_N; k++) {
		struct nftnl_set_elem *e;
		struct nftnl_set *set;
		uint32_t num = 0;

		if (!nft_dispatch_key(ifname, k, &num))
			continue;
		set = nft_dispatch_elem(k, key, num, &e);
		nftnl_set_elem_add(set, e);
		nftnl_set_elems_nlmsg_build_payload(
			nft_del_hdr(d, NFT_DESTROY_SETELEM), set);
		nftnl_set_free(set);
		mnl_nlmsg_batch_next(d->b);
	}
}

/* the socket of the last removal batch, until nft_destroy_settle() */
static struct mnl_socket *nft_destroy_sock;

/**
 * nft_destroy_settle() - close the socket nft_sandbox_destroy() kept open
 *
 * Waits, in the kernel, until what the removal freed is released (see
 * "Removing a sandbox in one batch"). Process exit does the same.
 */
void nft_destroy_settle(void)
{
	if (nft_destroy_sock)
		mnl_socket_close(nft_destroy_sock);
	nft_destroy_sock = NULL;
}

/**
 * nft_sandbox_destroy() - remove all of a sandbox's objects in one batch
 * @ifname:	host-side interface
 * @pol:	its policy (names its pin sets), or NULL if it cannot be read
 *		(the pin sets are then left, as nft_sandbox_del_text() does)
 *
 * See "Removing a sandbox in one batch" above. Objects already gone are
 * not an error. The batch's socket is left open for nft_destroy_settle().
 *
 * Return: 0, -EINVAL if the kernel has no destroy messages (nothing was
 *	   changed), or another -errno (nothing was changed either)
 */
int nft_sandbox_destroy(const char *ifname, const struct policy *pol)
{
	size_t nsets = pol ? pol->nrules * 2 : 0, len;
	struct nft_del_batch d = { 0 };
	unsigned int portid, first;
	struct mnl_socket *nl;
	void *buf;
	int ret;

	/* every message is well under 256 bytes */
	len = (NFT_DISPATCH_N + ARRAY_SIZE(nft_sandbox_chains) + nsets + 1 +
	       NFT_CTR_COUNT + ARRAY_SIZE(nft_sandbox_objs) + 2) * 256;
	if (len < NL_BUF)
		len = NL_BUF;
	buf = xmalloc(len);
	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl) {
		ret = -errno;
		free(buf);
		return ret;
	}
	portid = mnl_socket_get_portid(nl);
	d.seq = (unsigned int)time(NULL);
	d.b = mnl_nlmsg_batch_start(buf, len);
	nftnl_batch_begin(mnl_nlmsg_batch_current(d.b), d.seq++);
	mnl_nlmsg_batch_next(d.b);
	first = d.seq;

	nft_del_entries(&d, ifname);
	nft_sandbox_objects(ifname, pol, nft_del_named, &d);
	nftnl_batch_end(mnl_nlmsg_batch_current(d.b), d.seq++);
	mnl_nlmsg_batch_next(d.b);

	ret = nft_batch_send(nl, portid, d.b, first, d.seq, d.nmsg, buf, len);
	mnl_nlmsg_batch_stop(d.b);
	nft_destroy_settle();
	nft_destroy_sock = nl;
	free(buf);
	return ret;
}

/* the DNS interceptor holds an answer until its pins are acknowledged */
#define NFT_PIN_TIMEOUT_S	1

/**
 * struct nft_pinner - a netfilter socket for pinning, kept open
 * @nl:		socket
 * @portid:	its port
 * @seq:	next sequence number
 * @ifname:	host-side interface of the sandbox
 */
struct nft_pinner {
	struct mnl_socket *nl;
	unsigned int portid;
	unsigned int seq;
	char ifname[IFNAMSIZ];
};

/**
 * nft_pinner_open() - open the socket the interceptor pins addresses with
 * @ifname:	host-side interface of the sandbox
 *
 * Return: new pinner, or NULL with errno set
 */
struct nft_pinner *nft_pinner_open(const char *ifname)
{
	struct nft_pinner *np = xcalloc(1, sizeof(*np));

	np->nl = nl_open(NETLINK_NETFILTER, NFT_PIN_TIMEOUT_S);
	if (!np->nl) {
		int e = errno;

		free(np);
		errno = e;
		return NULL;
	}
	np->portid = mnl_socket_get_portid(np->nl);
	np->seq = (unsigned int)time(NULL);
	snprintf(np->ifname, sizeof(np->ifname), "%s", ifname);
	return np;
}

/**
 * nft_pinner_close() - close a pinner
 * @np:		pinner, or NULL
 */
void nft_pinner_close(struct nft_pinner *np)
{
	if (!np)
		return;
	mnl_socket_close(np->nl);
	free(np);
}

/**
 * nft_pin_name_ok() - whether a pin's name is kept in its element
 * @name:	normalised name, or NULL
 *
 * Host-name characters only (letters, digits, '-', '_', '.'), at most
 * NFT_PIN_NAME_MAX of them: the names come from DNS answers to the
 * sandbox, and update.c writes them into nft script text, quoted.
 *
 * Return: true if @name can be an element's comment
 */
bool nft_pin_name_ok(const char *name)
{
	size_t i;

	if (!name || !*name)
		return false;
	for (i = 0; name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (i == NFT_PIN_NAME_MAX ||
		    !(isalnum(ch) || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/**
 * nft_pin_udata() - give a pin's element the name it was answered for
 * @e:		element
 * @name:	normalised name, or NULL
 *
 * As its comment (NFTNL_UDATA_SET_ELEM_COMMENT, what "nft list" prints):
 * a new supervisor of the sandbox reads it back (nft_pins_read()), so that
 * its proxy knows which name each live pin serves. Only names
 * nft_pin_name_ok() accepts are kept (NFT_PIN_NAME_MAX is nft's limit
 * for comments).
 */
static void nft_pin_udata(struct nftnl_set_elem *e, const char *name)
{
	struct nftnl_udata_buf *ud;

	if (!nft_pin_name_ok(name))
		return;
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	if (!ud)
		die_oom();
	if (nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, name))
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA,
				   nftnl_udata_buf_data(ud),
				   nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
}

/**
 * nft_pinner_batch() - pin or unpin addresses in one transaction, waiting
 * for the ACK
 * @np:		pinner
 * @pins:	addresses, each into its rule's set
 * @n:		number of them, at most NFT_PIN_BATCH_MAX
 * @remove:	unpin: NEWSETELEM (1 s), DELSETELEM for each
 *
 * The hot path of the interceptor: one libnftnl batch, one kernel
 * transaction. Adding an element that exists does not refresh its timeout
 * (it would expire on its first schedule, possibly right after the answer
 * is released), and deleting one that does not exist aborts the batch, so
 * each pin is three messages: NEWSETELEM (make sure it exists), DELSETELEM,
 * NEWSETELEM with the new timeout and, as its comment, the name it was
 * answered for (nft_pin_udata()). The transaction applies atomically: no
 * packet sees the element missing in between. libnftables is not used
 * here: it fetches the whole table's sets before changing any element (see
 * nft_dispatch_set()).
 *
 * Return: 0 once the kernel has acknowledged every element, or -errno
 */
static int nft_pinner_batch(struct nft_pinner *np, const struct nft_pin *pins,
			    size_t n, bool remove)
{
	/* a message is at most about 110 bytes, and its comment's 130 */
	static char buf[NFT_PIN_BATCH_MAX * 3 * 384 + 1024];
	char set_name[NFT_DOM_SET_LEN];
	struct mnl_nlmsg_batch *b;
	unsigned int nmsg = 0, first;
	size_t per = remove ? 2 : 3;
	int ret = 0;
	size_t k;

	if (!n)
		return 0;
	if (n > NFT_PIN_BATCH_MAX)
		return -E2BIG;
	b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), np->seq++);
	mnl_nlmsg_batch_next(b);
	first = np->seq;
	for (k = 0; k < n * per; k++) {
		const struct nft_pin *p = &pins[k / per];
		bool del = k % per == 1;
		/* never 0: nftables takes it as "never expires" */
		uint64_t timeout = remove || !p->timeout ? 1000 :
				   (uint64_t)p->timeout * 1000;
		struct nftnl_set_elem *e;
		struct nftnl_set *set;
		struct nlmsghdr *nlh;

		set = nftnl_set_alloc();
		e = nftnl_set_elem_alloc();
		if (!set || !e)
			die_oom();
		nft_dom_set_name(set_name, np->ifname, p->rule, p->af);
		nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_TABLE);
		nftnl_set_set_str(set, NFTNL_SET_NAME, set_name);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, p->addr,
				   p->af == AF_INET ? 4 : 16);
		if (!del)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout);
		if (!remove && k % per == 2)
			nft_pin_udata(e, p->name);
		nftnl_set_elem_add(set, e);
		nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
					    del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
					    NFPROTO_INET,
					    (del ? 0 : NLM_F_CREATE) | NLM_F_ACK,
					    np->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, set);
		nftnl_set_free(set);
		mnl_nlmsg_batch_next(b);
		nmsg++;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), np->seq++);
	mnl_nlmsg_batch_next(b);

	ret = nft_batch_send(np->nl, np->portid, b, first, np->seq, nmsg, buf,
			     sizeof(buf));
	mnl_nlmsg_batch_stop(b);
	return ret;
}

/**
 * nft_pinner_add() - pin addresses (see nft_pinner_batch())
 * @np:		pinner
 * @pins:	addresses, each into its rule's set with its timeout
 * @n:		number of them, at most NFT_PIN_BATCH_MAX
 *
 * Return: 0 once the kernel has acknowledged every element, or -errno
 */
int nft_pinner_add(struct nft_pinner *np, const struct nft_pin *pins, size_t n)
{
	return nft_pinner_batch(np, pins, n, false);
}

/**
 * nft_pinner_del() - remove pins, whether or not they are still there
 * @np:		pinner
 * @pins:	addresses, each from its rule's set (timeouts unused)
 * @n:		number of them, at most NFT_PIN_BATCH_MAX
 *
 * Deleting an element that has expired would abort the batch, so each is
 * first made sure to exist (with a 1 s timeout) and then deleted, in one
 * transaction.
 *
 * Return: 0 once the kernel has acknowledged every element, or -errno
 */
int nft_pinner_del(struct nft_pinner *np, const struct nft_pin *pins, size_t n)
{
	return nft_pinner_batch(np, pins, n, true);
}

/**
 * struct nft_pins_rd - what nft_pins_read()'s dump callback fills
 * @rule:	1-based rule of the set being read
 * @af:		its family
 * @out:	pins read so far
 * @n:		their number
 * @cap:	room in @out
 */
struct nft_pins_rd {
	size_t rule;
	int af;
	struct nft_live_pin *out;
	size_t n;
	size_t cap;
};

/**
 * nft_pin_comment_cb() - nftnl_udata_parse() callback: keep the comment
 * @attr:	one attribute of an element's user data
 * @data:	const struct nftnl_udata *[NFTNL_UDATA_SET_ELEM_MAX + 1]
 *
 * Return: 0
 */
static int nft_pin_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;
	uint8_t type = nftnl_udata_type(attr);

	if (type <= NFTNL_UDATA_SET_ELEM_MAX)
		tb[type] = attr;
	return 0;
}

/**
 * nft_pins_read_elem() - keep one element of a pin set
 * @e:		element
 * @data:	struct nft_pins_rd
 *
 * Return: 0
 */
static int nft_pins_read_elem(struct nftnl_set_elem *e, void *data)
{
	const struct nftnl_udata *tb[NFTNL_UDATA_SET_ELEM_MAX + 1] = { 0 };
	struct nft_pins_rd *rd = data;
	uint32_t klen = 0, ulen = 0;
	struct nft_live_pin *lp;
	const void *key, *ud;
	uint64_t left;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	if (!key || klen != (rd->af == AF_INET ? 4U : 16U) ||
	    !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		return 0;
	left = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION) / 1000;
	if (!left)
		return 0;	/* gone within the second */
	if (rd->n == rd->cap) {
		rd->cap = rd->cap ? rd->cap * 2 : 64;
		rd->out = xrealloc(rd->out, rd->cap * sizeof(*rd->out));
	}
	lp = &rd->out[rd->n++];
	memset(lp, 0, sizeof(*lp));
	lp->pin.rule = rd->rule;
	lp->pin.af = rd->af;
	memcpy(lp->pin.addr, key, klen);
	lp->pin.timeout = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ulen);
	if (ud && nftnl_udata_parse(ud, ulen, nft_pin_comment_cb, tb) >= 0 &&
	    tb[NFTNL_UDATA_SET_ELEM_COMMENT]) {
		const struct nftnl_udata *c = tb[NFTNL_UDATA_SET_ELEM_COMMENT];
		size_t len = strnlen(nftnl_udata_get(c), nftnl_udata_len(c));

		if (len <= NFT_PIN_NAME_MAX)
			memcpy(lp->name, nftnl_udata_get(c), len);
		if (!nft_pin_name_ok(lp->name))
			lp->name[0] = '\0';
	}
	return 0;
}

/**
 * nft_pins_read_cb() - mnl_cb_run() callback: the elements of one message
 * @nlh:	message of the dump
 * @data:	struct nft_pins_rd
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if the message cannot be parsed
 */
static int nft_pins_read_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *set = nftnl_set_alloc();
	int ret = MNL_CB_OK;

	if (!set)
		die_oom();
	if (nftnl_set_elems_nlmsg_parse(nlh, set) < 0) {
		errno = EINVAL;
		ret = MNL_CB_ERROR;
	} else {
		nftnl_set_elem_foreach(set, nft_pins_read_elem, data);
	}
	nftnl_set_free(set);
	return ret;
}

/**
 * nft_pins_read() - the live pins of a sandbox, from the kernel's sets
 * @ifname:	host-side interface
 * @p:		its policy: one pair of pin sets per domain allow rule
 * @out:	set to the pins found (the caller frees it), NULL if none
 * @n:		set to their number
 *
 * One dump of each set (NFT_MSG_GETSETELEM), with the time each element
 * has left (rounded down to whole seconds; one with less than a second
 * left is skipped) and the name its comment carries (nft_pin_udata()).
 * For a new supervisor of a sandbox whose previous one died: the kernel
 * kept the pins, and its proxy must know which names they serve. A set
 * that does not exist (the table was removed meanwhile) holds no pins.
 *
 * Return: 0, or -errno (the pins read until then are in @out)
 */
int nft_pins_read(const char *ifname, const struct policy *p,
		  struct nft_live_pin **out, size_t *n)
{
	struct nft_pins_rd rd = { 0 };
	char set_name[NFT_DOM_SET_LEN];
	struct mnl_socket *nl;
	unsigned int portid, seq = (unsigned int)time(NULL);
	autofree char *buf = xmalloc(NFT_PINS_DUMP_BUF);
	size_t k;
	int ret = 0, fam;

	*out = NULL;
	*n = 0;
	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	for (k = 0; k < p->nrules && !ret; k++) {
		if (p->rules[k].kind != TARGET_DOMAIN || !p->rules[k].allow)
			continue;
		for (fam = 0; fam < 2 && !ret; fam++) {
			struct nftnl_set *set = nftnl_set_alloc();
			struct nlmsghdr *nlh;
			ssize_t r;

			if (!set)
				die_oom();
			rd.rule = k + 1;
			rd.af = fam ? AF_INET6 : AF_INET;
			nft_dom_set_name(set_name, ifname, k + 1, rd.af);
			nftnl_set_set_str(set, NFTNL_SET_TABLE, NFT_TABLE);
			nftnl_set_set_str(set, NFTNL_SET_NAME, set_name);
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM,
						    NFPROTO_INET,
						    NLM_F_DUMP, ++seq);
			nftnl_set_elems_nlmsg_build_payload(nlh, set);
			nftnl_set_free(set);
			if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
				ret = -errno;
				break;
			}
			do {
				r = mnl_socket_recvfrom(nl, buf, NFT_PINS_DUMP_BUF);
				if (r < 0) {
					ret = -errno;
					break;
				}
				r = mnl_cb_run(buf, (size_t)r, seq, portid,
					       nft_pins_read_cb, &rd);
			} while (r > MNL_CB_STOP);
			if (!ret && r < 0 && errno != ENOENT)
				ret = -errno;
		}
	}
	mnl_socket_close(nl);
	*out = rd.out;
	*n = rd.n;
	return ret;
}

/**
 * nft_ctx_new_quiet() - a libnftables context with its output buffered
 *
 * Return: context; dies on allocation failure
 */
static struct nft_ctx *nft_ctx_new_quiet(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		die_oom();
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return ctx;
}

/**
 * nft_run() - run an nft script as one atomic transaction
 * @cmds:	script
 * @err:	set to the first line of libnftables' error, or NULL; to be
 *		freed by the caller
 *
 * Return: 0 on success, -1 if the kernel refused it (nothing was applied)
 */
int nft_run(const char *cmds, char **err)
{
	struct nft_ctx *ctx = nft_ctx_new_quiet();
	int ret;

	*err = NULL;
	ret = nft_run_cmd_from_buffer(ctx, cmds);
	if (ret) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		const char *nl;

		if (!e || !*e)
			e = "nftables refused the transaction";
		nl = strchr(e, '\n');
		*err = nl ? strndup(e, nl - e) : xstrdup(e);
		if (!*err)
			die_oom();
		ret = -1;
	}
	nft_ctx_free(ctx);
	return ret;
}

/**
 * nft_run_arg() - nft_run()'s arguments, for netns_run_in()
 * @cmds:	script
 * @err:	its error, as nft_run()'s
 * @ran:	set once inside the namespace
 */
struct nft_run_arg {
	const char *cmds;
	char **err;
	bool ran;
};

/**
 * nft_run_cb() - nft_run() called through netns_run_in()
 * @arg:	struct nft_run_arg
 *
 * Return: nft_run()'s
 */
static int nft_run_cb(void *arg)
{
	struct nft_run_arg *a = arg;

	a->ran = true;
	return nft_run(a->cmds, a->err);
}

/**
 * nft_run_in() - run an nft script as one transaction in another namespace
 * @nsfd:	network namespace
 * @cmds:	script
 * @err:	set to libnftables' error (or why the namespace could not be
 *		entered), or NULL; to be freed by the caller
 *
 * libnftables talks to the kernel on a socket of the namespace its
 * context is made in: the calling thread stays in @nsfd's namespace from
 * making the context to freeing it.
 *
 * Return: 0 on success, -1 if nothing was applied
 */
int nft_run_in(int nsfd, const char *cmds, char **err)
{
	struct nft_run_arg a = { .cmds = cmds, .err = err };
	int ret;

	*err = NULL;
	ret = netns_run_in(nsfd, nft_run_cb, &a);
	if (!a.ran) {
		*err = xasprintf("cannot enter the namespace: %s", strerror(-ret));
		ret = -1;
	}
	return ret;
}

/**
 * nft_inner_dns_text() - the table inside an attached sandbox's namespace
 * that sends DNS for a loopback resolver to the sandbox's gateway
 * @f:		output
 * @inner:	the sandbox's interface inside the namespace
 * @gw4:	its IPv4 gateway
 * @gw6:	its IPv6 gateway, or NULL (::1 is then left alone)
 *
 * See the theory of operation. Idempotent with nft_inner_dns_del_text()
 * before it.
 */
void nft_inner_dns_text(FILE *f, const char *inner, const struct prefix *gw4,
			const struct prefix *gw6)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, gw4->addr, a, sizeof(a));
	fprintf(f, "table inet " NFT_INNER_TABLE " {\n"
		"\tcomment \"moat: DNS to a loopback resolver goes to the sandbox's interceptor\"\n"
		"\tchain output {\n"
		"\t\ttype nat hook output priority -100; policy accept;\n"
		"\t\tip daddr 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 dnat ip to %s\n", a);
	if (gw6) {
		inet_ntop(AF_INET6, gw6->addr, a, sizeof(a));
		fprintf(f, "\t\tip6 daddr ::1 meta l4proto { tcp, udp } th dport 53 dnat ip6 to %s\n", a);
	}
	fprintf(f, "\t}\n"
		"\tchain postrouting {\n"
		"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\toifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", inner);
	if (gw6)
		fprintf(f, "\t\toifname \"%s\" ip6 saddr ::1 masquerade\n", inner);
	fprintf(f, "\t}\n}\n");
}

/**
 * nft_inner_dns_del_text() - remove that table, whether it exists or not
 * @f:		output
 */
void nft_inner_dns_del_text(FILE *f)
{
	fprintf(f, "add table inet " NFT_INNER_TABLE "\n"
		"delete table inet " NFT_INNER_TABLE "\n");
}

/**
 * nft_list_table() - the live "inet moat" table as nft text
 * @out:	set to the listing (caller frees), NULL if the table is absent
 *
 * Return: 0 if listed, -ENOENT if there is no table
 */
int nft_list_table(char **out)
{
	struct nft_ctx *ctx = nft_ctx_new_quiet();
	int ret;

	*out = NULL;
	ret = nft_run_cmd_from_buffer(ctx, "list table inet " NFT_TABLE);
	if (ret == 0)
		*out = xstrdup(nft_ctx_get_output_buffer(ctx));
	nft_ctx_free(ctx);
	return ret ? -ENOENT : 0;
}

/**
 * nft_counters_json() - packet and byte counters of a sandbox's chains
 * @ifname:	host-side interface
 * @out:	set to an object { "<chain>": { "<comment>": {packets, bytes} } }
 *
 * Reads the sandbox's three chains with their rule counters through the
 * libnftables JSON output and keeps the counted rules that carry a
 * comment (those are the ones the compiler labels).
 *
 * Return: 0, or -ENOENT if the chains do not exist
 */
int nft_counters_json(const char *ifname, json_t **out)
{
	static const char *const kinds[] = { "pre", "in", "fwd" };
	json_t *res = json_object();
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct nft_ctx *ctx = nft_ctx_new_quiet();
		json_t *doc, *arr, *item, *chain = json_object();
		char cmd[96];
		size_t i;

		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
		snprintf(cmd, sizeof(cmd), "list chain inet %s %s_%s",
			 NFT_TABLE, ifname, kinds[k]);
		if (nft_run_cmd_from_buffer(ctx, cmd)) {
			nft_ctx_free(ctx);
			json_decref(chain);
			json_decref(res);
			return -ENOENT;
		}
		doc = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
		nft_ctx_free(ctx);
		arr = doc ? json_object_get(doc, "nftables") : NULL;
		json_array_foreach(arr, i, item) {
			json_t *rule = json_object_get(item, "rule");
			json_t *expr, *e;
			const char *comment;
			size_t j;

			if (!rule)
				continue;
			comment = json_string_value(json_object_get(rule, "comment"));
			if (!comment)
				continue;
			expr = json_object_get(rule, "expr");
			json_array_foreach(expr, j, e) {
				json_t *c = json_object_get(e, "counter");
				json_t *prev;
				json_int_t pk, by;

				if (!c)
					continue;
				pk = json_integer_value(json_object_get(c, "packets"));
				by = json_integer_value(json_object_get(c, "bytes"));
				prev = json_object_get(chain, comment);
				if (prev) {
					pk += json_integer_value(json_object_get(prev, "packets"));
					by += json_integer_value(json_object_get(prev, "bytes"));
				}
				json_object_set_new(chain, comment,
						    json_pack("{s:I,s:I}", "packets", pk,
							      "bytes", by));
			}
		}
		json_decref(doc);
		json_object_set_new(res, kinds[k], chain);
	}
	*out = res;
	return 0;
}

/**
 * nft_list_json() - the JSON listing of a libnftables list command, in this
 * network namespace
 * @cmd:	"list ruleset", "list chains", "list table inet moat"...
 *
 * Return: parsed document (the caller's to json_decref()), NULL if the
 *	   command failed
 */
json_t *nft_list_json(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	json_t *doc = NULL;

	if (!ctx)
		die_oom();
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (!nft_run_cmd_from_buffer(ctx, cmd))
		doc = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
	nft_ctx_free(ctx);
	return doc;
}
