// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * stats.c - what each sandbox was allowed and denied: the counters,
 * collected into one JSON document, and its text table
 *
 * Theory of operation
 * -------------------
 * Three sources, read fresh at every call (moat keeps no daemon):
 *
 *  - the kernel: every sandbox has a fixed set of named nftables
 *    counters (nft.c, enum nft_ctr): packets and bytes denied by reason
 *    (invariant I1..I5 or I9, or a policy rule) and direction (egress: to be
 *    forwarded; host: to the host itself; any: dropped before routing),
 *    and new flows allowed by a rule or by the default. Established
 *    traffic is accepted before a sandbox's chains, so the allowed
 *    counters count flows (their first packet), while every denied packet
 *    is counted. All of them are read with one libnftables "list
 *    counters" in JSON.
 *  - the link: packets and bytes on the host side of the sandbox's veth
 *    (one RTM_GETLINK dump with libmnl), all traffic, denied included:
 *    what the sandbox sent (egress) and what was delivered to it
 *    (ingress);
 *  - the supervisor: its "status" answer on the control socket. Each
 *    service reports an object of numbers there ("publish", "log", and the
 *    DNS interceptor's and proxy's when they exist); they are passed on
 *    as they are, so a service that adds a key needs no change here.
 *
 * stats_collect() puts them in one JSON document ("moat stats --json"
 * prints it), which the text table (stats_text()) and the Prometheus text
 * (prom.c, also served by statsd.c) are made from.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <nftables/libnftables.h>

#include "err.h"
#include "guard.h"
#include "nft.h"
#include "nl.h"
#include "state.h"
#include "stats.h"
#include "svctl.h"

#define STATS_DUMP_BUF	32768	/* one datagram of the link dump */

/**
 * stats_nft_counters() - every named counter of the moat table
 *
 * Return: object { "<name>": { "packets": N, "bytes": N } }, empty if the
 *	   table does not exist or cannot be read
 */
static json_t *stats_nft_counters(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	json_t *res = json_object(), *doc, *arr, *item;
	size_t i;

	if (!ctx)
		die_oom();
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (nft_run_cmd_from_buffer(ctx, "list counters table inet " NFT_TABLE)) {
		nft_ctx_free(ctx);
		return res;
	}
	doc = json_loads(nft_ctx_get_output_buffer(ctx), 0, NULL);
	nft_ctx_free(ctx);
	arr = doc ? json_object_get(doc, "nftables") : NULL;
	json_array_foreach(arr, i, item) {
		json_t *c = json_object_get(item, "counter");
		const char *name = json_string_value(json_object_get(c, "name"));

		if (!name)
			continue;
		json_object_set_new(res, name, json_pack("{s:I,s:I}",
			"packets", json_integer_value(json_object_get(c, "packets")),
			"bytes", json_integer_value(json_object_get(c, "bytes"))));
	}
	json_decref(doc);
	return res;
}

/**
 * stats_link_cb() - one link of the dump (mnl_cb_run() callback)
 * @nlh:	RTM_NEWLINK message
 * @data:	object to add "<ifname>": { rx/tx packets and bytes } to
 *
 * Return: MNL_CB_OK
 */
static int stats_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr, *name = NULL, *st = NULL;
	struct rtnl_link_stats64 s;
	const char *ifname;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    !mnl_attr_validate(attr, MNL_TYPE_NUL_STRING))
			name = attr;
		else if (mnl_attr_get_type(attr) == IFLA_STATS64 &&
			 mnl_attr_get_payload_len(attr) >= sizeof(s))
			st = attr;
	}
	if (!name || !st)
		return MNL_CB_OK;
	ifname = mnl_attr_get_str(name);
	if (strncmp(ifname, NFT_IFPREFIX, strlen(NFT_IFPREFIX)))
		return MNL_CB_OK;
	memcpy(&s, mnl_attr_get_payload(st), sizeof(s));
	/* the host side: what it receives, the sandbox sent */
	json_object_set_new(data, ifname, json_pack("{s:I,s:I,s:I,s:I}",
		"egress_packets", (json_int_t)s.rx_packets,
		"egress_bytes", (json_int_t)s.rx_bytes,
		"ingress_packets", (json_int_t)s.tx_packets,
		"ingress_bytes", (json_int_t)s.tx_bytes));
	return MNL_CB_OK;
}

/**
 * stats_links() - traffic counters of the host side of every sandbox link
 *
 * One RTM_GETLINK dump over route netlink.
 *
 * Return: object { "<ifname>": { egress_packets, egress_bytes,
 *	   ingress_packets, ingress_bytes } }, empty on error
 */
static json_t *stats_links(void)
{
	char buf[STATS_DUMP_BUF] __attribute__((aligned(8)));
	json_t *res = json_object();
	struct mnl_socket *nl;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	ssize_t n;
	int ret;

	nl = nl_open(NETLINK_ROUTE, NL_TIMEOUT_S);
	if (!nl)
		return res;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		mnl_socket_close(nl);
		return res;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			break;
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, stats_link_cb, res);
	} while (ret > MNL_CB_STOP);
	mnl_socket_close(nl);
	return res;
}

/**
 * stats_sandbox() - one sandbox's entry of the document
 * @c:		settings
 * @name:	sandbox
 * @ctrs:	from stats_nft_counters()
 * @links:	from stats_links()
 * @base:	guard_intact_base(), or -1 if not asked
 *
 * Return: new object, or NULL if the sandbox's record cannot be read
 */
static json_t *stats_sandbox(const struct moat_config *c, const char *name,
			     json_t *ctrs, json_t *links, int base)
{
	json_t *o, *arr, *sv = NULL;
	struct sb_state s;
	enum sb_status st;
	const char *why;
	size_t k;

	if (state_read(c, name, &s))
		return NULL;
	st = guard_status(c, &s, base, &why);
	o = json_pack("{s:s,s:s,s:s?,s:s?}", "name", s.name,
		      "status", state_status_name(st),
		      "reason", why,
		      "interface", s.has_net ? s.ifname : NULL);
	arr = json_array();
	for (k = 0; s.has_net && k < NFT_CTR_COUNT; k++) {
		char cname[64];
		json_t *v;

		snprintf(cname, sizeof(cname), "%s_%s", s.ifname, nft_ctrs[k].name);
		v = json_object_get(ctrs, cname);
		if (!v)
			continue;	/* a sandbox made by an older moat */
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:O,s:O}",
			"verdict", nft_ctrs[k].verdict,
			"reason", nft_ctrs[k].reason,
			"direction", nft_ctrs[k].direction,
			"packets", json_object_get(v, "packets"),
			"bytes", json_object_get(v, "bytes")));
	}
	json_object_set_new(o, "counters", arr);
	if (s.has_net && json_object_get(links, s.ifname))
		json_object_set(o, "traffic", json_object_get(links, s.ifname));
	else
		json_object_set_new(o, "traffic", json_null());
	if (state_supervisor_alive(&s) &&
	    svctl_request(c, name, "status", &sv) == 0 &&
	    json_is_object(sv)) {
		json_object_del(sv, "name");
		json_object_set_new(o, "supervisor", sv);
	} else {
		json_decref(sv);
		json_object_set_new(o, "supervisor", json_null());
	}
	return o;
}

/**
 * stats_collect() - the document: { "sandboxes": [ ... ] }
 * @c:		settings
 * @only:	one sandbox, or NULL for all
 * @doc:	set to the document
 *
 * Return: 0, 1 if @only does not exist, or -errno
 */
int stats_collect(const struct moat_config *c, const char *only, json_t **doc)
{
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	json_t *ctrs, *links, *arr = json_array(), *o;
	size_t n = 0, i;
	int ret, base;

	*doc = NULL;
	ret = state_list(c, &names, &n);
	if (ret) {
		free(names);
		json_decref(arr);
		return ret;
	}
	ctrs = stats_nft_counters();
	links = stats_links();
	/* as "moat ls": degraded also before a supervisor has noticed */
	base = n && geteuid() == 0 ? guard_intact_base() : -1;
	for (i = 0; i < n; i++) {
		if (only && strcmp(only, names[i]))
			continue;
		o = stats_sandbox(c, names[i], ctrs, links, base);
		if (o)
			json_array_append_new(arr, o);
	}
	json_decref(ctrs);
	json_decref(links);
	free(names);
	if (only && !json_array_size(arr)) {
		json_decref(arr);
		return 1;
	}
	*doc = json_pack("{s:o}", "sandboxes", arr);
	return 0;
}

/* ---- text ---------------------------------------------------------------- */

/**
 * stats_text_service() - supervisor numbers as "service.key value" lines
 * @f:		output
 * @path:	key path so far
 * @o:		object
 * @depth:	nesting depth
 */
static void stats_text_service(FILE *f, const char *path, json_t *o, int depth)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char sub[256];
		int n = snprintf(sub, sizeof(sub), "%s.%s", path, key);

		if (n < 0 || (size_t)n >= sizeof(sub))
			continue;	/* a key path this long is not ours */
		if (json_is_object(v) && depth < STATS_DEPTH_MAX)
			stats_text_service(f, sub, v, depth + 1);
		else if (json_is_integer(v))
			fprintf(f, "  %-40s %" JSON_INTEGER_FORMAT "\n", sub,
				json_integer_value(v));
		else if (json_is_real(v))
			fprintf(f, "  %-40s %g\n", sub, json_real_value(v));
	}
}

/**
 * stats_text() - the document as a table per sandbox
 * @doc:	from stats_collect()
 * @f:		output
 */
void stats_text(json_t *doc, FILE *f)
{
	json_t *sb, *c, *sv, *t;
	size_t i, j;

	json_array_foreach(json_object_get(doc, "sandboxes"), i, sb) {
		const char *why = json_string_value(json_object_get(sb, "reason"));
		const char *key;
		json_t *v;

		fprintf(f, "%s%s (%s%s%s, %s)\n", i ? "\n" : "",
			json_string_value(json_object_get(sb, "name")),
			json_string_value(json_object_get(sb, "status")),
			why ? ": " : "", why ? why : "",
			json_is_string(json_object_get(sb, "interface")) ?
			json_string_value(json_object_get(sb, "interface")) :
			"no interface");
		if (json_array_size(json_object_get(sb, "counters")) ||
		    json_is_object(json_object_get(sb, "traffic")))
			fprintf(f, "  %-8s %-8s %-9s %12s %14s\n", "VERDICT",
				"REASON", "DIRECTION", "PACKETS", "BYTES");
		json_array_foreach(json_object_get(sb, "counters"), j, c) {
			fprintf(f, "  %-8s %-8s %-9s %12" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n",
				json_string_value(json_object_get(c, "verdict")),
				json_string_value(json_object_get(c, "reason")),
				json_string_value(json_object_get(c, "direction")),
				json_integer_value(json_object_get(c, "packets")),
				json_integer_value(json_object_get(c, "bytes")));
		}
		t = json_object_get(sb, "traffic");
		if (json_is_object(t))
			fprintf(f, "  %-8s %-8s %-9s %12" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n"
				   "  %-8s %-8s %-9s %12" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n",
				"link", "-", "egress",
				json_integer_value(json_object_get(t, "egress_packets")),
				json_integer_value(json_object_get(t, "egress_bytes")),
				"link", "-", "ingress",
				json_integer_value(json_object_get(t, "ingress_packets")),
				json_integer_value(json_object_get(t, "ingress_bytes")));
		sv = json_object_get(sb, "supervisor");
		if (!json_is_object(sv)) {
			fprintf(f, "  supervisor: not running\n");
			continue;
		}
		json_object_foreach(sv, key, v)
			if (json_is_object(v))
				stats_text_service(f, key, v, 1);
	}
}
