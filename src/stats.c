// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * stats.c - "moat stats": what each sandbox was allowed and denied
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
 * One JSON document holds both (--json prints it). The text table and
 * the Prometheus text exposition format (version 0.0.4) are made from it.
 * Prometheus families are grouped (every sample of a metric follows its
 * HELP and TYPE lines, as the format requires), label values escaped.
 * Supervisor numbers become moat_<service>_<key>: a counter if the key
 * ends in "_total", else untyped.
 *
 * "--listen ADDR:PORT" serves the same text at /metrics, in two processes.
 * The root parent binds the address and forks; the child drops to
 * STATS_UID:STATS_GID without supplementary groups or any capability
 * (bounding set included), with no_new_privs, not dumpable
 * (stats_drop()), under an allow-list seccomp filter (stats_seccomp()),
 * and is the HTTP server: one poll loop, up to
 * STATS_CONN_MAX connections at once, each with its own
 * deadline: a request of at most STATS_REQ_MAX bytes read within
 * STATS_IO_TIMEOUT_S seconds, the reply sent within as long again, then
 * closed. When every slot is taken, the idle client nearest its deadline
 * makes room for a new one, so idle clients cannot keep a scrape out.
 * For each /metrics it writes STATS_IPC_REQ (one byte) on a socket pair
 * and reads the answer: a 32-bit length (host order, at most
 * STATS_IPC_MAX) and the text. The parent keeps no network socket: it
 * collects as root (the counters need CAP_NET_ADMIN, the supervisors'
 * control sockets root) and answers, and parses nothing else (any other
 * byte ends both). The child's death ends the parent (status
 * MOAT_EXIT_FAILURE), the parent's the child (hang-up on the pair, and
 * SIGTERM as parent-death signal); SIGINT or SIGTERM to the parent ends
 * both with status 0. It refuses an address other than loopback unless
 * --allow-remote is given: the metrics name the sandboxes and what they
 * tried to reach.
 */
#include <errno.h>
#include <getopt.h>
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

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <nftables/libnftables.h>
#include <seccomp.h>

#include "err.h"
#include "exec.h"
#include "guard.h"
#include "nft.h"
#include "state.h"
#include "stats.h"
#include "svctl.h"

#define STATS_REQ_MAX		8192
#define STATS_IO_TIMEOUT_S	2
#define STATS_CONN_MAX		32	/* --listen: connections served at once */
#define STATS_DEPTH_MAX		3
#define STATS_UID		65534	/* --listen's server: nobody */
#define STATS_GID		65534	/* and nogroup */
#define STATS_IPC_REQ		'M'	/* server to parent: "the metrics" */
#define STATS_IPC_MAX		(64U << 20)	/* longest answer, bytes */

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
	char buf[32768] __attribute__((aligned(8)));
	json_t *res = json_object();
	struct mnl_socket *nl;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid;
	ssize_t n;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return res;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		mnl_socket_close(nl);
		return res;
	}
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
static int stats_collect(const struct moat_config *c, const char *only,
			 json_t **doc)
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

/* ---- Prometheus text exposition ---------------------------------------- */

/**
 * struct stats_fam - one metric family being built
 * @name:	metric name
 * @help:	HELP text
 * @type:	"counter", "gauge" or "untyped"
 * @buf:	sample lines
 * @len:	their length
 * @f:		stream writing @buf
 */
struct stats_fam {
	char *name;
	char *help;
	const char *type;
	char *buf;
	size_t len;
	FILE *f;
};

/**
 * struct stats_prom - families in the order they first appear
 * @fam:	families, each allocated on its own (their streams hold
 *		pointers into them)
 * @n:		their number
 */
struct stats_prom {
	struct stats_fam **fam;
	size_t n;
};

/**
 * stats_fam() - find or add a family
 * @p:		families
 * @name:	metric name
 * @help:	HELP text, used if the family is new
 * @type:	TYPE, used if the family is new
 *
 * Return: the family's stream
 */
static FILE *stats_fam(struct stats_prom *p, const char *name,
		       const char *help, const char *type)
{
	struct stats_fam *f;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->fam[i]->name, name))
			return p->fam[i]->f;
	p->fam = xrealloc(p->fam, (p->n + 1) * sizeof(*p->fam));
	f = xcalloc(1, sizeof(*f));
	p->fam[p->n++] = f;
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->f = open_memstream(&f->buf, &f->len);
	if (!f->f)
		die_oom();
	return f->f;
}

/**
 * stats_label() - print a label value, escaped as the format requires
 * @f:		output
 * @s:		value
 */
static void stats_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/**
 * stats_help_escape() - print HELP text, escaped as the format requires
 * @f:		output
 * @s:		text
 */
static void stats_help_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/**
 * stats_metric_name() - a valid metric name from parts
 * @out:	buffer
 * @len:	its size
 * @prefix:	"moat_<service>"
 * @key:	key path, '.'-separated
 *
 * Characters outside [a-zA-Z0-9_] become '_'.
 */
static void stats_metric_name(char *out, size_t len, const char *prefix,
			      const char *key)
{
	char *c;

	snprintf(out, len, "%s_%s", prefix, key);
	for (c = out; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
}

/**
 * stats_prom_value() - print a sample value
 * @f:		output
 * @v:		JSON number
 */
static void stats_prom_value(FILE *f, json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	else
		fprintf(f, "%.17g\n", json_real_value(v));
}

/**
 * stats_prom_service() - supervisor numbers of one service, recursively
 * @p:		families
 * @sandbox:	label value
 * @prefix:	metric name so far ("moat_dns")
 * @path:	key path so far, for HELP ("dns")
 * @o:		object
 * @depth:	nesting depth
 */
static void stats_prom_service(struct stats_prom *p, const char *sandbox,
			       const char *prefix, const char *path, json_t *o,
			       int depth)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char name[256], help[384], sub[256];
		size_t kl = strlen(key);
		bool total;
		FILE *f;

		if (!*key)
			continue;
		stats_metric_name(name, sizeof(name), prefix, key);
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (json_is_object(v) && depth < STATS_DEPTH_MAX) {
			stats_prom_service(p, sandbox, name, sub, v, depth + 1);
			continue;
		}
		if (!json_is_number(v))
			continue;
		total = kl > 6 && !strcmp(key + kl - 6, "_total");
		snprintf(help, sizeof(help),
			 "Supervisor status value %s (moat inspect NAME).", sub);
		f = stats_fam(p, name, help, total ? "counter" : "untyped");
		fprintf(f, "%s{sandbox=\"", name);
		stats_label(f, sandbox);
		fprintf(f, "\"} ");
		stats_prom_value(f, v);
	}
}

/**
 * stats_prom_traffic() - a sandbox's link counters
 * @p:		families
 * @sandbox:	label value
 * @t:		its "traffic" object, or null
 */
static void stats_prom_traffic(struct stats_prom *p, const char *sandbox,
			       json_t *t)
{
	static const char *const dirs[] = { "egress", "ingress" };
	static const char *const what[] = { "packets", "bytes" };
	size_t d, k;

	if (!json_is_object(t))
		return;
	for (k = 0; k < 2; k++) {
		char fname[64];
		FILE *o;

		snprintf(fname, sizeof(fname), "moat_traffic_%s_total", what[k]);
		o = stats_fam(p, fname, "", "counter");
		for (d = 0; d < 2; d++) {
			char key[32];

			snprintf(key, sizeof(key), "%s_%s", dirs[d], what[k]);
			fprintf(o, "%s{sandbox=\"", fname);
			stats_label(o, sandbox);
			fprintf(o, "\",direction=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
				dirs[d], json_integer_value(json_object_get(t, key)));
		}
	}
}

/**
 * stats_prometheus() - the document in the Prometheus text format
 * @doc:	from stats_collect()
 * @f:		output
 *
 * Return: 0
 */
int stats_prometheus(json_t *doc, FILE *f)
{
	static const char *const reserved[] = { "moat_sandbox", "moat_denied",
						"moat_allowed", "moat_supervisor",
						"moat_traffic" };
	struct stats_prom p = { 0 };
	json_t *sb, *c, *sv;
	size_t i, j, k;

	/* fixed families first, so that they exist even without sandboxes */
	stats_fam(&p, "moat_sandbox_up",
		  "Whether the sandbox's supervisor runs (1) or not (0).", "gauge");
	stats_fam(&p, "moat_denied_packets_total",
		  "Packets moat dropped or rejected, by reason (I1-I5, I9: the invariant; rule: a deny rule of the policy) and direction.",
		  "counter");
	stats_fam(&p, "moat_denied_bytes_total",
		  "Bytes moat dropped or rejected, by reason and direction.",
		  "counter");
	stats_fam(&p, "moat_allowed_flows_total",
		  "New flows the sandbox's policy accepted (their first packet), by reason (rule or default) and direction.",
		  "counter");
	stats_fam(&p, "moat_traffic_packets_total",
		  "Packets on the sandbox's link, denied ones included: egress sent by the sandbox, ingress delivered to it.",
		  "counter");
	stats_fam(&p, "moat_traffic_bytes_total",
		  "Bytes on the sandbox's link, denied ones included, by direction.",
		  "counter");
	stats_fam(&p, "moat_supervisor_start_time_seconds",
		  "When the sandbox's supervisor started, seconds since the epoch.",
		  "gauge");

	json_array_foreach(json_object_get(doc, "sandboxes"), i, sb) {
		const char *name = json_string_value(json_object_get(sb, "name"));
		FILE *o;

		if (!name)
			continue;
		sv = json_object_get(sb, "supervisor");
		o = stats_fam(&p, "moat_sandbox_up", "", "gauge");
		fprintf(o, "moat_sandbox_up{sandbox=\"");
		stats_label(o, name);
		fprintf(o, "\"} %d\n", json_is_object(sv) ? 1 : 0);

		json_array_foreach(json_object_get(sb, "counters"), j, c) {
			const char *verdict = json_string_value(json_object_get(c, "verdict"));
			const char *reason = json_string_value(json_object_get(c, "reason"));
			const char *dir = json_string_value(json_object_get(c, "direction"));
			static const char *const what[] = { "packets", "bytes" };

			if (!verdict || !reason || !dir)
				continue;
			for (k = 0; k < 2; k++) {
				char fname[64];

				if (!strcmp(verdict, "allowed") && k == 1)
					continue;	/* first packets only */
				if (!strcmp(verdict, "allowed"))
					snprintf(fname, sizeof(fname), "moat_allowed_flows_total");
				else
					snprintf(fname, sizeof(fname), "moat_denied_%s_total", what[k]);
				o = stats_fam(&p, fname, "", "counter");
				fprintf(o, "%s{sandbox=\"", fname);
				stats_label(o, name);
				fprintf(o, "\",reason=\"");
				stats_label(o, reason);
				fprintf(o, "\",direction=\"");
				stats_label(o, dir);
				fprintf(o, "\"} %" JSON_INTEGER_FORMAT "\n",
					json_integer_value(json_object_get(c, what[k])));
			}
		}

		stats_prom_traffic(&p, name, json_object_get(sb, "traffic"));
		if (!json_is_object(sv))
			continue;
		if (json_is_integer(json_object_get(sv, "started"))) {
			o = stats_fam(&p, "moat_supervisor_start_time_seconds", "", "gauge");
			fprintf(o, "moat_supervisor_start_time_seconds{sandbox=\"");
			stats_label(o, name);
			fprintf(o, "\"} ");
			stats_prom_value(o, json_object_get(sv, "started"));
		}
		{
			const char *key;
			json_t *v;

			json_object_foreach(sv, key, v) {
				char prefix[128];
				bool skip = false;

				if (!json_is_object(v))
					continue;
				stats_metric_name(prefix, sizeof(prefix), "moat", key);
				for (k = 0; k < ARRAY_SIZE(reserved); k++)
					skip |= !strncmp(prefix, reserved[k],
							 strlen(reserved[k]));
				if (!skip)
					stats_prom_service(&p, name, prefix, key, v, 1);
			}
		}
	}

	for (i = 0; i < p.n; i++) {
		struct stats_fam *fam = p.fam[i];

		fclose(fam->f);
		fprintf(f, "# HELP %s ", fam->name);
		stats_help_escape(f, fam->help);
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type);
		if (fam->len)
			fwrite(fam->buf, 1, fam->len, f);
		free(fam->buf);
		free(fam->name);
		free(fam->help);
		free(fam);
	}
	free(p.fam);
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

/* ---- the command ---------------------------------------------------------- */

static volatile sig_atomic_t stats_stop;

/**
 * stats_on_signal() - end the /metrics server
 * @sig:	signal
 */
static void stats_on_signal(int sig)
{
	(void)sig;
	stats_stop = 1;
}

/**
 * stats_parse_listen() - parse ADDR:PORT or [ADDR6]:PORT
 * @s:		text
 * @ss:		filled in
 * @sl:		set to the address length
 * @loopback:	set if the address is a loopback address
 *
 * Return: 0, or -1 if @s is not an address and port
 */
static int stats_parse_listen(const char *s, struct sockaddr_storage *ss,
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
 * struct stats_conn - one /metrics client of --listen
 * @fd:		connection, or -1 for a free slot
 * @len:	bytes of the request read so far
 * @req:	the request, NUL-terminated
 * @out:	the whole reply once the request is complete, else NULL
 * @out_len:	its length
 * @out_off:	bytes of it sent
 * @deadline:	CLOCK_MONOTONIC time by which the request must be read, or
 *		(once answering) the reply sent; the connection is closed then
 */
struct stats_conn {
	int fd;
	size_t len;
	char req[STATS_REQ_MAX + 1];
	char *out;
	size_t out_len, out_off;
	struct timespec deadline;
};

/**
 * stats_ms_until() - milliseconds from now to a deadline
 * @t:		deadline (CLOCK_MONOTONIC)
 *
 * Return: milliseconds, 0 if it has passed
 */
static long stats_ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (t->tv_sec - now.tv_sec) * 1000L +
	     (t->tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? ms : 0;
}

/**
 * stats_conn_deadline() - give a connection STATS_IO_TIMEOUT_S from now
 * @sc:		connection
 */
static void stats_conn_deadline(struct stats_conn *sc)
{
	clock_gettime(CLOCK_MONOTONIC, &sc->deadline);
	sc->deadline.tv_sec += STATS_IO_TIMEOUT_S;
}

/**
 * stats_conn_close() - close a connection and free its slot
 * @sc:		connection
 */
static void stats_conn_close(struct stats_conn *sc)
{
	if (sc->fd >= 0)
		close(sc->fd);
	free(sc->out);
	sc->out = NULL;
	sc->fd = -1;
}

/**
 * stats_conn_reply() - prepare a whole reply and start sending it
 * @sc:		connection, its request complete (or bad)
 * @status:	status line after "HTTP/1.1 "
 * @body:	body
 * @len:	its length
 */
static void stats_conn_reply(struct stats_conn *sc, const char *status,
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
	stats_conn_deadline(sc);
}

/**
 * stats_read_full() - read exactly a buffer's length
 * @fd:		descriptor
 * @buf:	buffer
 * @len:	bytes to read
 *
 * Return: 0, or -1 on error or end of file
 */
static int stats_read_full(int fd, void *buf, size_t len)
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
 * stats_ipc_fetch() - ask the privileged parent for the Prometheus text
 * @ipc:	socket to the parent
 * @len:	set to the text's length
 *
 * Sends the one request byte (STATS_IPC_REQ) and reads the answer: a
 * 32-bit length in host byte order, at most STATS_IPC_MAX, then that many
 * bytes. Blocks, as the collection did when the server collected itself.
 *
 * Return: the text (malloc'd; NULL with @len 0 if the parent answered
 *	   nothing), or NULL with @len set to SIZE_MAX if the parent is gone
 *	   or broke the protocol
 */
static char *stats_ipc_fetch(int ipc, size_t *len)
{
	char req = STATS_IPC_REQ, *buf;
	uint32_t n;

	*len = SIZE_MAX;
	if (write(ipc, &req, 1) != 1 || stats_read_full(ipc, &n, sizeof(n)) ||
	    n > STATS_IPC_MAX)
		return NULL;
	buf = xcalloc(1, (size_t)n + 1);
	if (stats_read_full(ipc, buf, n)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/**
 * stats_conn_answer() - answer a complete (or failed) request
 * @ipc:	socket to the privileged parent
 * @sc:		connection
 *
 * Return: 0, or -1 if the parent is gone (the server must end)
 */
static int stats_conn_answer(int ipc, struct stats_conn *sc)
{
	const char *req = sc->req;
	size_t blen;
	char *buf;

	if (!strstr(req, "\r\n\r\n") && !strstr(req, "\n\n")) {
		static const char b[] = "request too large or incomplete\n";

		stats_conn_reply(sc, "400 Bad Request", b, sizeof(b) - 1);
		return 0;
	}
	if (strncmp(req, "GET ", 4)) {
		static const char b[] = "only GET is served\n";

		stats_conn_reply(sc, "405 Method Not Allowed", b, sizeof(b) - 1);
		return 0;
	}
	if (strncmp(req + 4, "/metrics ", 9) && strncmp(req + 4, "/metrics?", 9)) {
		static const char b[] = "not found: try /metrics\n";

		stats_conn_reply(sc, "404 Not Found", b, sizeof(b) - 1);
		return 0;
	}
	buf = stats_ipc_fetch(ipc, &blen);
	if (blen == SIZE_MAX)
		return -1;
	if (blen)
		stats_conn_reply(sc, "200 OK", buf, blen);
	else
		stats_conn_reply(sc, "503 Service Unavailable",
				 "cannot read the sandboxes\n", 26);
	free(buf);
	return 0;
}

/**
 * stats_conn_io() - read a connection's request or send its reply
 * @ipc:	socket to the privileged parent
 * @sc:		connection, ready for its next step
 *
 * Return: 0, or -1 if the parent is gone
 */
static int stats_conn_io(int ipc, struct stats_conn *sc)
{
	ssize_t n;

	if (sc->out) {
		n = send(sc->fd, sc->out + sc->out_off,
			 sc->out_len - sc->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0 || (sc->out_off += (size_t)n) == sc->out_len)
			stats_conn_close(sc);
		return 0;
	}
	n = recv(sc->fd, sc->req + sc->len, STATS_REQ_MAX - sc->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		stats_conn_close(sc);
		return 0;
	}
	sc->len += (size_t)n;
	sc->req[sc->len] = '\0';
	if (strstr(sc->req, "\r\n\r\n") || strstr(sc->req, "\n\n") ||
	    sc->len == STATS_REQ_MAX)
		return stats_conn_answer(ipc, sc);
	return 0;
}

/**
 * stats_conn_slot() - a free slot for a new connection
 * @conns:	the table
 *
 * When every slot is taken, the connection still sending its request
 * with the nearest deadline is closed for the new one: idle clients
 * cannot keep a scrape out, they only shorten each other's time.
 *
 * Return: a free slot, or NULL if every slot is answering
 */
static struct stats_conn *stats_conn_slot(struct stats_conn *conns)
{
	struct stats_conn *old = NULL;
	int i;

	for (i = 0; i < STATS_CONN_MAX; i++) {
		struct stats_conn *sc = &conns[i];

		if (sc->fd < 0)
			return sc;
		if (!sc->out && (!old ||
		    sc->deadline.tv_sec < old->deadline.tv_sec ||
		    (sc->deadline.tv_sec == old->deadline.tv_sec &&
		     sc->deadline.tv_nsec < old->deadline.tv_nsec)))
			old = sc;
	}
	if (old)
		stats_conn_close(old);
	return old;
}

/**
 * stats_http() - the unprivileged /metrics server's loop, until a signal
 * @fd:		listening socket
 * @ipc:	socket to the privileged parent
 * @mask:	signal mask while waiting (SIGINT and SIGTERM are blocked
 *		otherwise, so that neither is lost between its check and
 *		the wait)
 *
 * One poll loop over the listener, the parent's socket and up to
 * STATS_CONN_MAX connections, each with its own deadline
 * (STATS_IO_TIMEOUT_S to send its request, the same again to take the
 * reply), so a slow or idle client delays no other. The parent never
 * writes unasked: anything readable on @ipc between requests, or its
 * hang-up, means it is gone, and the server ends.
 */
static void stats_http(int fd, int ipc, const sigset_t *mask)
{
	struct stats_conn *conns;
	int i;

	conns = xcalloc(STATS_CONN_MAX, sizeof(*conns));
	for (i = 0; i < STATS_CONN_MAX; i++)
		conns[i].fd = -1;
	while (!stats_stop) {
		struct pollfd p[STATS_CONN_MAX + 2];
		struct stats_conn *who[STATS_CONN_MAX + 2];
		struct timespec ts;
		long timeout = -1;
		int n = 0, r;

		p[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
		who[n++] = NULL;
		p[n] = (struct pollfd){ .fd = ipc, .events = POLLIN };
		who[n++] = NULL;
		for (i = 0; i < STATS_CONN_MAX; i++) {
			struct stats_conn *sc = &conns[i];
			long ms;

			if (sc->fd < 0)
				continue;
			ms = stats_ms_until(&sc->deadline);
			if (!ms) {
				stats_conn_close(sc);
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
			if (p[i].revents && stats_conn_io(ipc, who[i]))
				goto out;
		if (p[0].revents & POLLIN) {
			struct stats_conn *sc = stats_conn_slot(conns);
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
			stats_conn_deadline(sc);
		}
	}
out:
	for (i = 0; i < STATS_CONN_MAX; i++)
		stats_conn_close(&conns[i]);
	free(conns);
}

/**
 * stats_drop() - the server's identity: STATS_UID:STATS_GID, nothing more
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
static int stats_drop(pid_t parent)
{
	const struct exec_user u = { .uid = STATS_UID, .gid = STATS_GID };

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
 * stats_seccomp() - the /metrics server's system calls, nothing else
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
static int stats_seccomp(void)
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
 * stats_write_full() - write all of a buffer
 * @fd:		descriptor
 * @buf:	data
 * @len:	its length
 *
 * Return: 0, or -1 on error
 */
static int stats_write_full(int fd, const void *buf, size_t len)
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
 * stats_feed() - the privileged parent: answer the server's requests
 * @c:		settings
 * @only:	sandbox filter, or NULL
 * @ipc:	socket to the server
 * @child:	the server's PID
 * @mask:	signal mask while waiting (as for stats_http())
 *
 * Reads one byte at a time: STATS_IPC_REQ is answered with the
 * Prometheus text (32-bit length, host byte order, then the text; length
 * 0 if the sandboxes cannot be read); anything else, the server's exit or
 * its hang-up ends both. SIGINT or SIGTERM ends the server with SIGTERM.
 *
 * Return: 0 after a signal or the server's clean exit, else
 *	   MOAT_EXIT_FAILURE
 */
static int stats_feed(const struct moat_config *c, const char *only,
		      int ipc, pid_t child, const sigset_t *mask)
{
	bool eof = false;
	int st = 0;
	char req;

	while (!stats_stop) {
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
		if (r != 1 || req != STATS_IPC_REQ) {
			eof = r == 0;
			break;
		}
		f = open_memstream(&buf, &blen);
		if (!f)
			die_oom();
		if (stats_collect(c, only, &doc) == 0)
			stats_prometheus(doc, f);
		fclose(f);
		json_decref(doc);
		if (blen > STATS_IPC_MAX)
			blen = 0;
		n = (uint32_t)blen;
		r = stats_write_full(ipc, &n, sizeof(n)) ||
		    stats_write_full(ipc, buf, blen);
		free(buf);
		if (r)
			break;
	}
	if (!eof)
		kill(child, SIGTERM);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (stats_stop)
		return 0;
	if (eof && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;	/* it ended on a signal of its own (^C) */
	msg_err("stats: the /metrics server ended (%s %d)",
		WIFSIGNALED(st) ? "signal" : "status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return MOAT_EXIT_FAILURE;
}

/**
 * stats_serve() - serve /metrics until SIGINT or SIGTERM
 * @c:		settings
 * @only:	sandbox filter, or NULL
 * @addr:	ADDR:PORT
 * @remote:	non-loopback addresses allowed
 *
 * Binds as root, then forks: the child (stats_drop(), stats_seccomp(),
 * stats_http()) parses
 * HTTP from the network as STATS_UID:STATS_GID without any capability; the
 * parent closes the listener, stays root and only answers the child's
 * one-byte requests on a socket pair (stats_feed()). Either one's end
 * ends the other.
 *
 * Return: exit status
 */
static int stats_serve(const struct moat_config *c, const char *only,
		       const char *addr, bool remote)
{
	struct sigaction sa = { .sa_handler = stats_on_signal };
	struct sockaddr_storage ss;
	sigset_t block, old, waitmask;
	autoclose int fd = -1;
	pid_t parent, child;
	int one = 1, sp[2];
	bool loopback;
	socklen_t sl;

	if (stats_parse_listen(addr, &ss, &sl, &loopback)) {
		fprintf(stderr, "moat stats: --listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464 (see 'moat stats --help')\n",
			addr);
		return MOAT_EXIT_USAGE;
	}
	if (!loopback && !remote) {
		fprintf(stderr, "moat stats: --listen '%s' is not a loopback address: the metrics name sandboxes and what they tried to reach; add --allow-remote to serve them there (see 'moat stats --help')\n",
			addr);
		return MOAT_EXIT_USAGE;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		msg_err("stats: socket: %s", strerror(errno));
		return MOAT_EXIT_FAILURE;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
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
		char ready[128];
		int len;

		close(sp[0]);
		if (stats_drop(parent) || stats_seccomp())
			_exit(MOAT_EXIT_FAILURE);
		/* stdio's first use of stdout would fstat() it: write(2) */
		len = snprintf(ready, sizeof(ready),
			       "serving http://%s/metrics\n", addr);
		if (len < 0 || (size_t)len >= sizeof(ready))
			_exit(MOAT_EXIT_FAILURE);	/* stats_parse_listen() bounds it */
		if (stats_write_full(STDOUT_FILENO, ready, (size_t)len))
			_exit(MOAT_EXIT_FAILURE);
		stats_http(fd, sp[1], &waitmask);
		_exit(0);
	}
	close(sp[1]);
	close(fd);
	fd = -1;
	one = stats_feed(c, only, sp[0], child, &waitmask);
	close(sp[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return one;
}

static const char usage_stats[] =
"Usage: moat stats [NAME] [--json|--prometheus]\n"
"       moat stats [NAME] --listen ADDR:PORT [--allow-remote]\n"
"\n"
"Show what each sandbox (or NAME) was denied, by reason (I1-I5, I9: the\n"
"invariant; rule: a deny rule of its policy) and direction (egress, host,\n"
"any: before routing), in packets and bytes; the new flows its policy\n"
"allowed, by rule or default; and the counters of its supervisor's\n"
"services (published ports, log, DNS, proxy).\n"
"\n"
"  --json            one JSON document\n"
"  --prometheus      Prometheus text exposition format (metrics moat_*)\n"
"  --listen ADDR:PORT  serve the Prometheus text at http://ADDR:PORT/metrics\n"
"                    until interrupted; ADDR must be a loopback address\n"
"  --allow-remote    let --listen use any address\n";

/**
 * stats_command() - moat stats
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "stats"
 *
 * Return: exit status
 */
int stats_command(int argc, char **argv)
{
	enum { O_JSON = 256, O_PROM, O_LISTEN, O_REMOTE, O_HELP };
	static const struct option lo[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "prometheus", no_argument, NULL, O_PROM },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "allow-remote", no_argument, NULL, O_REMOTE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *listen_addr = NULL;
	bool json = false, prom = false, remote = false;
	struct moat_config c;
	json_t *doc;
	char *err;
	int opt, ret;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_JSON:
			json = true;
			break;
		case O_PROM:
			prom = true;
			break;
		case O_LISTEN:
			listen_addr = optarg;
			break;
		case O_REMOTE:
			remote = true;
			break;
		case O_HELP:
		case 'h':
			printf("%s", usage_stats);
			return 0;
		default:
			fprintf(stderr, "moat stats: option '%s' is not valid here or lacks its argument (see 'moat stats --help')\n",
				argv[optind - 1]);
			return MOAT_EXIT_USAGE;
		}
	}
	if (optind < argc)
		only = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "moat stats: unexpected argument '%s' (see 'moat stats --help')\n",
			argv[optind]);
		return MOAT_EXIT_USAGE;
	}
	if (json + prom + !!listen_addr > 1) {
		fprintf(stderr, "moat stats: --json, --prometheus and --listen exclude each other (see 'moat stats --help')\n");
		return MOAT_EXIT_USAGE;
	}
	if (remote && !listen_addr) {
		fprintf(stderr, "moat stats: --allow-remote goes with --listen (see 'moat stats --help')\n");
		return MOAT_EXIT_USAGE;
	}
	if (only && !state_name_valid(only)) {
		fprintf(stderr, "moat stats: '%s' is not a sandbox name (see 'moat stats --help')\n",
			only);
		return MOAT_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		msg_err("stats: must be run as root: it reads the host's nftables counters");
		return MOAT_EXIT_FAILURE;
	}
	if (state_config_load(&c, &err)) {
		msg_err("%s", err);
		free(err);
		return MOAT_EXIT_FAILURE;
	}
	if (listen_addr)
		return stats_serve(&c, only, listen_addr, remote);

	ret = stats_collect(&c, only, &doc);
	if (ret == 1) {
		msg_err("no such sandbox: %s", only);
		return MOAT_EXIT_POLICY;
	}
	if (ret) {
		msg_err("cannot list %s: %s", c.run_dir, strerror(-ret));
		return MOAT_EXIT_FAILURE;
	}
	if (json) {
		char *out = json_dumps(doc, JSON_INDENT(2));

		if (out)
			printf("%s\n", out);
		free(out);
	} else if (prom) {
		stats_prometheus(doc, stdout);
	} else {
		stats_text(doc, stdout);
	}
	json_decref(doc);
	return 0;
}
