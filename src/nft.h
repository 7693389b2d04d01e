/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * nft.h - the "inet moat" table: ruleset compiler and transactions
 */
#ifndef MOAT_NFT_H
#define MOAT_NFT_H

#include "policy.h"

#define NFT_TABLE	"moat"
#define NFT_IFPREFIX	"moat"		/* every host-side interface */
#define NFT_PROXY_PORT	15001U		/* the proxy, on each gateway address */
#define NFT_PROXY_MARK	0x00100000	/* packet mark: redirect to the proxy */
#define NFT_PASSED_MARK	0x00200000	/* packet mark: seen by this table (guard.c) */
#define NFT_INNER_TABLE	"moat_dns"	/* in an attached sandbox's namespace */

/* Socket marks (SO_MARK) of the connections a supervisor opens on its
 * sandbox's behalf: judged by the sandbox's "<if>_out" chain, found in
 * out_dispatch by NFT_OUT_MARK | index (nft_out_mark()). DNS upstream
 * sockets also carry NFT_OUT_DNS. A marked socket whose index has no
 * entry (NFT_OUT_NONE: an index past NFT_OUT_INDEX_MAX) is dropped.
 */
#define NFT_OUT_MARK		0x80000000
#define NFT_OUT_MASK		0x8000ffff	/* the dispatch key */
#define NFT_OUT_DNS		0x40000000
#define NFT_OUT_KEEP		0x3fff0000	/* other tables' bits, kept */
#define NFT_OUT_INDEX_MAX	0xfffe
#define NFT_OUT_NONE		(NFT_OUT_MARK | 0xffff)

/* Each sandbox's unprivileged worker (src/worker/worker.c) runs as its own
 * UID, NFT_WORKER_UID_BASE + 2 * index, and opens its DNS upstream sockets
 * as the next one (nft_worker_uid()): the kernel knows a socket's owner
 * (meta skuid) where a process without CAP_NET_ADMIN cannot set a mark.
 * The output chain gives such a socket's packets the sandbox's mark
 * through wk_dispatch; a UID of the range without an entry is dropped.
 * systemd leaves 0x70000000-0x7fffffff unused on every distribution.
 */
#define NFT_WORKER_UID_BASE	0x7e000000U
#define NFT_WORKER_UID_LAST	(NFT_WORKER_UID_BASE + 2 * NFT_OUT_INDEX_MAX + 1)

/**
 * struct nft_base - host-wide parameters of the table
 * @pool4:	IPv4 sandbox pool
 * @pool6:	IPv6 (ULA) sandbox pool
 */
struct nft_base {
	struct prefix pool4;
	struct prefix pool6;
};

/**
 * struct nft_sandbox - what the compiler needs to know of one sandbox
 * @ifname:	host-side interface, also the stem of its chain names
 * @addr4:	sandbox IPv4 address (/32)
 * @gw4:	gateway IPv4 address (/32), on @ifname
 * @has_v6:	whether the sandbox has IPv6
 * @addr6:	sandbox IPv6 address (/128), if @has_v6
 * @gw6:	gateway IPv6 address (/128), if @has_v6
 * @pol:	effective policy
 * @proxy:	its supervisor runs the transparent proxy: redirect TCP to it
 *		(only policies with domain rules; nft_domain_ports())
 * @instance:	this sandbox's instance, non-zero and unlike any earlier one:
 *		the conntrack mark of its connections (nft_sandbox_add_text())
 * @tap:	a guest behind a TAP device owns the sandbox's addresses
 *		(nft_tap_rules()): only @guest_mac may send, its link-local
 *		address is the EUI-64 one of @guest_mac, and DHCP and router
 *		solicitations reach the worker's servers
 * @guest_mac:	with @tap, the guest's MAC
 */
struct nft_sandbox {
	char ifname[16];
	struct prefix addr4;
	struct prefix gw4;
	bool has_v6;
	struct prefix addr6;
	struct prefix gw6;
	const struct policy *pol;
	bool proxy;
	uint32_t instance;
	bool tap;
	uint8_t guest_mac[6];
};

/* Denial logs (docs/ARCHITECTURE.md, "Logs and counters"): sandbox N logs
 * to NFLOG group NFT_LOG_GROUP_BASE + N, with prefix "moat:<reason>", at
 * most NFT_LOG_RATE packets a second (burst NFT_LOG_BURST) per sandbox
 */
#define NFT_LOG_GROUP_BASE	16384
#define NFT_LOG_GROUP_MAX	65535
#define NFT_LOG_PREFIX		"moat:"
#define NFT_LOG_RATE		20U
#define NFT_LOG_BURST		40U

/* Neighbour discovery a sandbox may send to the host (nft.c,
 * nft_nd_rules()): from its own link-local address NFT_SANDBOX_LL (set on
 * its eth0 at creation; a guest's is the EUI-64 address of its MAC), its
 * own address, or "::" (duplicate address detection), at most NFT_ND_RATE
 * messages a second (burst NFT_ND_BURST)
 */
#define NFT_SANDBOX_LL		"fe80::2"
#define NFT_ND_RATE		50U
#define NFT_ND_BURST		100U

/* TIME_WAIT and CLOSE timeout of a sandbox's TCP connections, seconds
 * (nft.c, nft_flows_text()): closed connections are not in its count, and
 * limits.flows new ones may open every NFT_CT_CLOSED_TIMEOUT seconds */
#define NFT_CT_CLOSED_TIMEOUT	2U

/* conntrack timeout of a sandbox's UDP flows to its DNS interceptor,
 * seconds: each query is a flow of its own (nft.c, nft_flows_rules()) */
#define NFT_CT_DNS_TIMEOUT	10U

/**
 * enum nft_ctr - a sandbox's named counters, "<ifname>_<nft_ctrs[].name>"
 */
enum nft_ctr {
	NFT_CTR_D_I1_EGRESS,	/* to other sandboxes */
	NFT_CTR_D_I2_HOST,	/* to the host, martian loopback */
	NFT_CTR_D_I3_EGRESS,	/* the policy's default, network modes */
	NFT_CTR_D_I4_EGRESS,	/* DNS bypasses, multicast, forwarded */
	NFT_CTR_D_I4_HOST,	/* the same towards the host */
	NFT_CTR_D_I5_ANY,	/* spoofing, RA, redirects */
	NFT_CTR_D_RULE_EGRESS,	/* a deny rule, forwarded */
	NFT_CTR_D_RULE_HOST,	/* a deny rule covering the host */
	NFT_CTR_A_RULE_EGRESS,	/* new flows an allow rule accepted */
	NFT_CTR_A_RULE_HOST,	/* new flows "allow: host" accepted */
	NFT_CTR_A_DEFAULT_EGRESS, /* new flows the default accepted */
	NFT_CTR_D_I9_ANY,	/* new flows beyond limits.flows */
	NFT_CTR_COUNT,
};

/**
 * struct nft_ctr_desc - what one named counter counts
 * @name:	suffix of the counter's name
 * @verdict:	"denied" or "allowed"
 * @reason:	"I1".."I5", "rule" or "default"
 * @direction:	"egress" (forwarded), "host" (to the host itself) or "any"
 *		(before routing)
 */
struct nft_ctr_desc {
	const char *name;
	const char *verdict;
	const char *reason;
	const char *direction;
};

extern const struct nft_ctr_desc nft_ctrs[NFT_CTR_COUNT];

unsigned nft_log_group(const char *ifname);
int nft_base_text(FILE *f, const struct nft_base *b);
int nft_sandbox_add_text(FILE *f, const struct nft_sandbox *s,
			 struct errlist *el);
void nft_sandbox_ll(const struct nft_sandbox *s, struct prefix *ll);
void nft_sandbox_del_text(FILE *f, const char *ifname,
			  const struct policy *pol);

/* pin sets of domain allow rules (nft.c, filled by dns.c) */
#define NFT_DOM_SET_LEN		48
#define NFT_DOM_SET_SIZE	4096U
void nft_dom_set_name(char *buf, const char *ifname, size_t idx, int af);

/* a pin's element carries the name it was answered for as its comment
 * (nft list shows it; nft_pins_read() reads it back), up to nft's limit
 * for comments: a longer name is not kept */
#define NFT_PIN_NAME_MAX	128

/**
 * struct nft_pin - one address to pin for a domain allow rule
 * @rule:	1-based index of the rule in the effective policy
 * @af:		AF_INET or AF_INET6
 * @addr:	address, network order (4 or 16 bytes)
 * @timeout:	seconds
 * @name:	the normalised name it was answered for, or NULL (kept
 *		only if nft_pin_name_ok())
 */
struct nft_pin {
	size_t rule;
	int af;
	uint8_t addr[16];
	uint32_t timeout;
	const char *name;
};

/**
 * struct nft_live_pin - a pin as nft_pins_read() finds it in the kernel
 * @pin:	rule, family, address, and in @pin.timeout the whole seconds
 *		it has left (@pin.name is NULL)
 * @name:	the name its element carries, "" if none
 */
struct nft_live_pin {
	struct nft_pin pin;
	char name[POLICY_DOMAIN_MAX + 3];	/* as struct rule's domain */
};

#define NFT_PIN_BATCH_MAX	64
struct nft_pinner;
struct nft_pinner *nft_pinner_open(const char *ifname);
void nft_pinner_close(struct nft_pinner *np);
int nft_pinner_add(struct nft_pinner *np, const struct nft_pin *pins, size_t n);
int nft_pinner_del(struct nft_pinner *np, const struct nft_pin *pins, size_t n);
bool nft_pin_name_ok(const char *name);
int nft_pins_read(const char *ifname, const struct policy *p,
		  struct nft_live_pin **out, size_t *n);

/* dispatch entries: i1, pre, in, fwd, rep, host by interface, out by socket
 * mark, wk by the worker's two UIDs (see nft.c) */
/**
 * enum nft_link_kind - the link sets (nft.c, "Links between sandboxes")
 * @NFT_LINK_LIVE:	both sides consent: "links"
 * @NFT_LINK_NOPEER:	the sender allows the peer, which does not accept
 *			it: "link_nopeer" (the log's reason)
 * @NFT_LINK_NOSELF:	the peer accepts the sender, whose policy has no
 *			link rule for it: "link_noself"
 * @NFT_LINK_KINDS:	number of sets
 */
enum nft_link_kind {
	NFT_LINK_LIVE,
	NFT_LINK_NOPEER,
	NFT_LINK_NOSELF,
	NFT_LINK_KINDS,
};

/**
 * struct nft_link - one element of a link set
 * @kind:	which set
 * @from:	host interface of the sandbox that connects
 * @to:		host interface of the sandbox it connects to
 * @l4:		IPPROTO_TCP or IPPROTO_UDP
 * @port:	destination port
 */
struct nft_link {
	enum nft_link_kind kind;
	char from[16];
	char to[16];
	uint8_t l4;
	uint16_t port;
};

#define NFT_LINKS_MAX	65536U	/* elements of each link set */
void nft_links_text(FILE *f, const struct nft_link *l, size_t n);

#define NFT_DISPATCH_N	9
uint32_t nft_out_mark(const char *ifname);
uint32_t nft_worker_uid(const char *ifname, bool dns);
void nft_dispatch_text(FILE *f, const char *ifname, bool add);
int nft_dispatch_set(const char *ifname, bool add);
int nft_sandbox_destroy(const char *ifname, const struct policy *pol);
void nft_destroy_settle(void);
void nft_sandbox_destroy_text(FILE *f, const char *ifname,
			      const struct policy *pol);
uint64_t nft_base_hash(const struct nft_base *b);

/* libnftnl batches (libmnl), for nftx.c */
struct mnl_nlmsg_batch;
struct mnl_socket;
unsigned int nft_dispatch_msgs(struct mnl_nlmsg_batch *b, unsigned int *seq,
			       const char *ifname, bool add, int only);
int nft_batch_send(struct mnl_socket *nl, unsigned int portid,
		   struct mnl_nlmsg_batch *b, unsigned int first,
		   unsigned int end, unsigned int nmsg, void *buf, size_t len);

int nft_run(const char *cmds, char **err);
int nft_run_in(int nsfd, const char *cmds, char **err);
void nft_inner_dns_text(FILE *f, const char *inner, const struct prefix *gw4,
			const struct prefix *gw6);
void nft_inner_dns_del_text(FILE *f);
int nft_list_table(char **out);
json_t *nft_list_json(const char *cmd);
int nft_counters_json(const char *ifname, json_t **out);

#endif /* MOAT_NFT_H */
