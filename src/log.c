// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * log.c - a sandbox's decision log and "moat logs"
 *
 * Theory of operation
 * -------------------
 * Every denial in a sandbox's chains is preceded by a rule that logs the
 * packet to the sandbox's NFLOG group (nft.c: group 16384 + the index of
 * its interface, prefix "moat:<reason>", behind one named limit of 20
 * packets a second, burst 40, per sandbox), so a flood reaches userspace
 * at a bounded rate whatever the sandbox sends. The counters behind the
 * verdicts count every packet; the log shows a sample when it floods.
 *
 * The supervisor binds that group on a netfilter netlink socket (libmnl:
 * the few messages of nfnetlink_log are simpler to build than to wrap,
 * and libmnl is already a dependency), asking for the first
 * LOG_NFLOG_COPY bytes of each packet, and registers the socket with its
 * epoll loop. log_nflog_input() reads what is queued (a bounded number of
 * datagrams per wake-up), log_nflog_parse() walks the messages and
 * log_packet_parse() the IP and transport headers; both take bytes the
 * sandbox chose, so they are bounds-checked and fuzzed
 * (fuzz/fuzz_nflog.c). If the group cannot be bound (another process
 * holds it), the supervisor runs without denial logs and says why in its
 * status.
 *
 * Records are JSON lines in LOG_FILE in the sandbox's state directory,
 * appended with one write(2) each. When the file would grow past its cap
 * (MOAT_LOG_MAX_BYTES, default 1 MiB), it is renamed to LOG_FILE_OLD
 * (replacing the previous one) and a new one is started: a sandbox's log
 * never takes more than twice the cap, whatever it does.
 *
 * When the sandbox is removed, log_archive() moves its files to
 * RUN_DIR/logs/NAME/ (replacing an earlier sandbox's of that name), and
 * log_archive_prune() keeps that archive within an age
 * (MOAT_LOG_ARCHIVE_MAX_AGE seconds, default 7 days) and a total size
 * (MOAT_LOG_ARCHIVE_MAX_BYTES, default 16 MiB), oldest first, the log just
 * archived always kept. "moat logs NAME" reads it when no sandbox has that
 * name (or with --previous), and "moat run" prints log_summary() of it: its
 * denials grouped by destination and reason, bounded.
 *
 * Other services of the supervisor (DNS interceptor, proxy) add their
 * decisions with log_event() (see log.h), which has its own token bucket.
 *
 * "moat logs NAME" prints the old file, then the current one; --follow
 * then waits with inotify on the state directory, reads what is appended,
 * notices a rotation by the inode of LOG_FILE changing, and ends when the
 * sandbox is removed (seen by inotify, or by a check once a second:
 * the open file can keep the directory's removal from being reported).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "err.h"
#include "log.h"
#include "nft.h"
#include "state.h"

#define LOG_TIME_LEN	64
#define LOG_NFLOG_BATCH	64		/* datagrams per wake-up */
#define LOG_NFLOG_RCVBUF (256 * 1024)

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
static const char *log_time_str(const struct timespec *ts, char *buf)
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
 * log_nflog_cfg() - send one configuration message for a group, with ack
 * @lg:		log
 * @family:	nfgen_family
 * @group:	group (res_id)
 * @type:	NFULA_CFG_CMD or NFULA_CFG_MODE
 * @data:	attribute payload
 * @len:	its length
 *
 * Return: 0, or -errno
 */
static int log_nflog_cfg(struct log *lg, uint8_t family, uint16_t group,
			 uint16_t type, const void *data, size_t len)
{
	char buf[8192];
	struct mnl_socket *nl = lg->nl;
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	uint32_t seq = (uint32_t)time(NULL) + type;
	ssize_t n;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	mnl_attr_put(nlh, type, len, data);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

/**
 * log_nflog_open() - bind the sandbox's NFLOG group
 * @lg:		log, with @group set
 *
 * Return: 0, or -errno (the reason is also in @lg->nl_err)
 */
static int log_nflog_open(struct log *lg)
{
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(LOG_NFLOG_COPY),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	uint32_t qthresh = htonl(1);
	int rcvbuf = LOG_NFLOG_RCVBUF, ret;
	struct mnl_socket *nl;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		ret = -errno;
		if (nl)
			mnl_socket_close(nl);
		snprintf(lg->nl_err, sizeof(lg->nl_err),
			 "netfilter netlink socket: %s", strerror(-ret));
		return ret;
	}
	lg->nl = nl;
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		   sizeof(rcvbuf));
	ret = log_nflog_cfg(lg, AF_UNSPEC, (uint16_t)lg->group, NFULA_CFG_CMD,
			    &cmd, sizeof(cmd));
	if (!ret)
		ret = log_nflog_cfg(lg, AF_UNSPEC, (uint16_t)lg->group,
				    NFULA_CFG_MODE, &mode, sizeof(mode));
	/* one message per packet, at once: no batching delay */
	if (!ret)
		ret = log_nflog_cfg(lg, AF_UNSPEC, (uint16_t)lg->group,
				    NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh));
	if (ret) {
		snprintf(lg->nl_err, sizeof(lg->nl_err),
			 "cannot bind NFLOG group %u: %s", lg->group,
			 strerror(-ret));
		mnl_socket_close(nl);
		lg->nl = NULL;
		return ret;
	}
	lg->nl_fd = mnl_socket_get_fd(nl);
	fcntl(lg->nl_fd, F_SETFL, fcntl(lg->nl_fd, F_GETFL) | O_NONBLOCK);
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
	if (!group)
		snprintf(lg->nl_err, sizeof(lg->nl_err),
			 "no NFLOG group for this sandbox");
	else
		log_nflog_open(lg);
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
	if (lg->nl)
		mnl_socket_close(lg->nl);
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
 * log_write() - append one record, rotating first if it would not fit
 * @lg:		log
 * @rec:	record (a JSON object)
 */
static void log_write(struct log *lg, json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len;
	ssize_t n;

	if (!line)
		die_oom();
	len = strlen(line);
	line[len++] = '\n';	/* replaces the NUL: written by length */
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
		free(line);
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
 * log_l4_parse() - ports (or ICMP type and code) of a transport header
 * @l4:		transport header
 * @len:	bytes available
 * @p:		packet, @proto set; ports filled in
 */
static void log_l4_parse(const uint8_t *l4, size_t len, struct log_pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (len < 4)
			return;
		p->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		p->dport = (uint16_t)(l4[2] << 8 | l4[3]);
		p->has_ports = true;
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < 2)
			return;
		p->sport = l4[0];
		p->dport = l4[1];
		p->has_ports = true;
		return;
	}
}

/**
 * log_packet_parse() - addresses and ports of a logged packet
 * @pkt:	network header onwards (NFULA_PAYLOAD), chosen by the sandbox
 * @len:	its length (at most LOG_NFLOG_COPY of the packet)
 * @p:		filled in (family 0 if not IPv4 or IPv6)
 *
 * IPv6 extension headers (hop-by-hop, routing, destination options,
 * fragment) are skipped, at most eight of them; a non-first fragment has
 * no ports.
 *
 * Return: 0, or -1 if there is no valid IP header
 */
int log_packet_parse(const uint8_t *pkt, size_t len, struct log_pkt *p)
{
	size_t off;
	int i;

	p->family = 0;
	p->has_ports = false;
	p->sport = p->dport = 0;
	if (len < 1)
		return -1;
	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		uint16_t frag;

		if (len < 20 || ihl < 20 || ihl > len)
			return -1;
		p->family = AF_INET;
		p->proto = pkt[9];
		memset(p->src, 0, sizeof(p->src));
		memset(p->dst, 0, sizeof(p->dst));
		memcpy(p->src, pkt + 12, 4);
		memcpy(p->dst, pkt + 16, 4);
		frag = (uint16_t)((pkt[6] & 0x1f) << 8 | pkt[7]);
		if (!frag)
			log_l4_parse(pkt + ihl, len - ihl, p);
		return 0;
	}
	if ((pkt[0] >> 4) != 6 || len < 40)
		return -1;
	p->family = AF_INET6;
	memcpy(p->src, pkt + 8, 16);
	memcpy(p->dst, pkt + 24, 16);
	p->proto = pkt[6];
	off = 40;
	for (i = 0; i < 8; i++) {
		switch (p->proto) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			if (off + 8 > len)
				return 0;
			p->proto = pkt[off];
			off += ((size_t)pkt[off + 1] + 1) * 8;
			continue;
		case 44:	/* fragment */
			if (off + 8 > len)
				return 0;
			p->proto = pkt[off];
			if ((pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8)
				return 0;	/* not the first fragment */
			off += 8;
			continue;
		}
		break;
	}
	if (off < len)
		log_l4_parse(pkt + off, len - off, p);
	return 0;
}

/**
 * struct log_attrs - attributes of one NFLOG packet message
 * @tb:		by type, NULL if absent
 */
struct log_attrs {
	const struct nlattr *tb[NFULA_MAX + 1];
};

/**
 * log_attr_cb() - collect one attribute (mnl_attr_parse() callback)
 * @attr:	attribute
 * @data:	struct log_attrs
 *
 * Return: MNL_CB_OK
 */
static int log_attr_cb(const struct nlattr *attr, void *data)
{
	struct log_attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= NFULA_MAX)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

/**
 * log_nflog_parse() - walk a datagram of NFLOG messages
 * @buf:	datagram from the netfilter netlink socket
 * @len:	its length
 * @fn:		called for each packet message whose prefix starts "moat:"
 * @opaque:	passed to @fn
 *
 * Return: number of packets passed to @fn
 */
size_t log_nflog_parse(const void *buf, size_t len, log_pkt_fn fn,
		       void *opaque)
{
	size_t n = 0, off = 0;

	/* not mnl_nlmsg_ok(): libmnl 1.0.4 compares the length as an int, so
	 * a length over 2^31 would pass it
	 */
	for (; off <= len && len - off >= sizeof(struct nlmsghdr);
	     off += NLMSG_ALIGN(((const struct nlmsghdr *)
				 ((const char *)buf + off))->nlmsg_len)) {
		const struct nlmsghdr *nlh = (const void *)((const char *)buf + off);
		struct log_attrs a = { 0 };
		struct log_pkt p = { 0 };
		const char *prefix;
		uint16_t plen;

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			break;
		if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
			continue;
		if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), log_attr_cb,
				   &a) < 0)
			continue;
		if (!a.tb[NFULA_PREFIX] || !a.tb[NFULA_PAYLOAD])
			continue;
		prefix = mnl_attr_get_payload(a.tb[NFULA_PREFIX]);
		plen = mnl_attr_get_payload_len(a.tb[NFULA_PREFIX]);
		if (plen < sizeof(NFT_LOG_PREFIX) - 1 ||
		    memcmp(prefix, NFT_LOG_PREFIX, sizeof(NFT_LOG_PREFIX) - 1))
			continue;
		prefix += sizeof(NFT_LOG_PREFIX) - 1;
		plen -= sizeof(NFT_LOG_PREFIX) - 1;
		plen = (uint16_t)strnlen(prefix, plen);
		if (plen >= sizeof(p.reason))
			plen = sizeof(p.reason) - 1;
		memcpy(p.reason, prefix, plen);
		p.reason[plen] = '\0';
		if (log_packet_parse(mnl_attr_get_payload(a.tb[NFULA_PAYLOAD]),
				     mnl_attr_get_payload_len(a.tb[NFULA_PAYLOAD]),
				     &p))
			continue;
		if (a.tb[NFULA_TIMESTAMP] &&
		    mnl_attr_get_payload_len(a.tb[NFULA_TIMESTAMP]) >=
		    sizeof(struct nfulnl_msg_packet_timestamp)) {
			struct nfulnl_msg_packet_timestamp t;

			memcpy(&t, mnl_attr_get_payload(a.tb[NFULA_TIMESTAMP]),
			       sizeof(t));
			p.ts.tv_sec = (time_t)be64toh(t.sec);
			p.ts.tv_nsec = (long)(be64toh(t.usec) % 1000000) * 1000;
		}
		fn(opaque, &p);
		n++;
	}
	return n;
}

/**
 * log_pkt_record() - write one denied packet as a record
 * @opaque:	struct log
 * @p:		the packet
 */
static void log_pkt_record(void *opaque, const struct log_pkt *p)
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
	log_write(lg, rec);
	json_decref(rec);
}

/* #syscalls:worker recvfrom */
/**
 * log_nflog_input() - read what the NFLOG socket holds (EPOLLIN)
 * @lg:		log
 */
void log_nflog_input(struct log *lg)
{
	char buf[65536] __attribute__((aligned(8)));
	ssize_t n;
	int i;

	if (!lg->nl)
		return;
	for (i = 0; i < LOG_NFLOG_BATCH; i++) {
		n = recv(lg->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS) {
				lg->lost++;
				continue;
			}
			return;		/* EAGAIN, or nothing we can do */
		}
		if (n == 0)
			return;
		log_nflog_parse(buf, (size_t)n, log_pkt_record, lg);
	}
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

/* ---- moat logs ---------------------------------------------------------- */

/**
 * log_put_safe() - print a string with control characters escaped
 * @s:		string from a record (names come from DNS, i.e. anyone)
 * @f:		output
 */
static void log_put_safe(const char *s, FILE *f)
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
 * log_field() - a record's value for a column, as text
 * @rec:	record
 * @key:	key
 * @buf:	buffer for numbers
 * @len:	its size
 *
 * Return: the value, "-" if absent
 */
static const char *log_field(json_t *rec, const char *key, char *buf,
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
 * log_format_text() - one record as a line of "moat logs"
 * @rec:	record
 * @f:		output
 *
 * Columns: time, kind, protocol, source, destination, port, reason; then
 * every other key as key=value.
 */
void log_format_text(json_t *rec, FILE *f)
{
	static const char *const cols[] = { "time", "kind", "proto", "src",
					    "dst", "port", "reason" };
	static const int widths[] = { 24, 5, 6, 15, 15, 5, 0 };
	char buf[32];
	const char *key;
	json_t *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cols); i++) {
		const char *s = log_field(rec, cols[i], buf, sizeof(buf));

		if (i)
			fputc(' ', f);
		log_put_safe(s, f);
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
		log_put_safe(key, f);
		fputc('=', f);
		if (json_is_string(v)) {
			log_put_safe(json_string_value(v), f);
		} else {
			char *d = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			log_put_safe(d ? d : "?", f);
			free(d);
		}
	}
	fputc('\n', f);
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

/* ---- the summary of "moat run" ------------------------------------------ */

/**
 * struct log_sum_ent - denials of one destination for one reason
 * @what:	destination as shown
 * @reason:	reason
 * @count:	records
 */
struct log_sum_ent {
	char *what;
	char *reason;
	unsigned long count;
};

/**
 * struct log_sum - what log_summary_line() gathers
 * @e:		entries, in order of first appearance
 * @n:		their number
 * @cap:	allocated
 * @total:	denial records
 * @over:	records not kept as entries (over LOG_SUMMARY_KEYS)
 */
struct log_sum {
	struct log_sum_ent *e;
	size_t n;
	size_t cap;
	unsigned long total;
	unsigned long over;
};

/**
 * log_str() - a string value of a record
 * @rec:	record
 * @key:	key
 *
 * Return: the value, "" if absent or not a string
 */
static const char *log_str(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "";
}

/**
 * log_dst_port() - "ADDR:PORT/PROTO" of a record ("[ADDR]" for IPv6)
 * @rec:	record
 * @proto:	protocol name
 *
 * Return: new string
 */
static char *log_dst_port(json_t *rec, const char *proto)
{
	const char *dst = log_str(rec, "dst");
	json_t *port = json_object_get(rec, "port");
	bool v6 = strchr(dst, ':');

	if (!json_is_integer(port))
		return xasprintf("%s/%s", dst, proto);
	return xasprintf("%s%s%s:%" JSON_INTEGER_FORMAT "/%s", v6 ? "[" : "",
			 dst, v6 ? "]" : "", json_integer_value(port), proto);
}

/**
 * log_summary_add() - count one record, if it is a denial
 * @s:		summary
 * @rec:	record
 */
static void log_summary_add(struct log_sum *s, json_t *rec)
{
	const char *kind = log_str(rec, "kind"), *reason = log_str(rec, "reason");
	const char *action = log_str(rec, "action");
	char *what;
	size_t i;

	if (!strcmp(kind, "deny")) {
		/* the sandbox kernel's own link chatter (MLD reports, router
		 * solicitations to ff02::), not the command's doing */
		if (!strcmp(log_str(rec, "proto"), "icmpv6") &&
		    !strncmp(log_str(rec, "dst"), "ff02:", 5))
			return;
		what = log_dst_port(rec, log_str(rec, "proto"));
	} else if (!strcmp(kind, "dns") && !strcmp(action, "nxdomain")) {
		what = xasprintf("DNS name %s", log_str(rec, "name"));
	} else if (!strcmp(kind, "proxy") && !strcmp(action, "deny")) {
		autofree char *dp = log_dst_port(rec, "tcp");
		const char *name = log_str(rec, "name");

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
 * log_summary_file() - count the denials of one log file
 * @s:		summary
 * @path:	file
 */
static void log_summary_file(struct log_sum *s, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		json_t *rec = json_loads(line, 0, NULL);

		if (json_is_object(rec))
			log_summary_add(s, rec);
		json_decref(rec);
	}
	free(line);
	fclose(f);
}

/**
 * log_put_short() - print a string escaped, cut at @max characters
 * @s:		string
 * @max:	most characters printed
 * @f:		output
 */
static void log_put_short(const char *s, size_t max, FILE *f)
{
	autofree char *c = xstrdup(s);

	if (strlen(c) > max)
		strcpy(c + max - 3, "...");
	log_put_safe(c, f);
}

/**
 * log_summary() - print what a sandbox's log denied, bounded
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
unsigned long log_summary(const char *dir, const char *name, FILE *f)
{
	autofree char *cur = xasprintf("%s/%s", dir, LOG_FILE);
	autofree char *old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
	struct log_sum s = { 0 };
	unsigned long total;
	size_t i, j;

	log_summary_file(&s, old);
	log_summary_file(&s, cur);
	/* a stable sort by count: insertion, the list is bounded */
	for (i = 1; i < s.n; i++) {
		struct log_sum_ent t = s.e[i];

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
		log_put_short(s.e[i].what, 100, f);
		fputs(" (", f);
		log_put_short(s.e[i].reason, 40, f);
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
 * struct log_reader - "moat logs" state
 * @json:	--json
 * @follow:	--follow
 * @first:	no record printed yet (JSON array punctuation)
 * @partial:	bytes of an incomplete last line
 */
struct log_reader {
	bool json;
	bool follow;
	bool first;
	char *partial;
};

/**
 * log_print_line() - print one line of a log file
 * @r:		reader
 * @line:	the line, without newline
 */
static void log_print_line(struct log_reader *r, const char *line)
{
	json_t *rec = json_loads(line, 0, NULL);
	char *out;

	if (!json_is_object(rec)) {
		json_decref(rec);
		return;		/* a line cut by a full disk: skip it */
	}
	if (!r->json) {
		log_format_text(rec, stdout);
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
 * log_print_fd() - print the complete lines readable from a descriptor
 * @r:		reader
 * @fd:		file, read from its current offset to its end
 */
static void log_print_fd(struct log_reader *r, int fd)
{
	char buf[65536];
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
			log_print_line(r, line);
		}
		if (*line)
			r->partial = xstrdup(line);
		free(all);
	}
	fflush(stdout);
}

/**
 * log_follow() - wait for new records until the sandbox goes away
 * @r:		reader
 * @dir:	the sandbox's state directory
 * @fd:		current file, read to its end, or -1 if it did not exist
 *
 * Return: exit status
 */
static int log_follow(struct log_reader *r, const char *dir, int fd)
{
	autofree char *path = xasprintf("%s/%s", dir, LOG_FILE);
	autoclose int in = inotify_init1(IN_CLOEXEC);
	char ev[4096] __attribute__((aligned(8)));
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
			log_print_fd(r, fd);
			close(fd);
			fd = -1;
			free(r->partial);
			r->partial = NULL;
		}
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			log_print_fd(r, fd);
		/* the directory's removal is not always reported (our open
		 * file pins it): look for it once a second as well
		 */
		n = poll(&p, 1, 1000);
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
		log_print_fd(r, fd);
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
 * logs_command() - moat logs NAME [--follow] [--json] [--previous]
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "logs"
 *
 * Return: exit status
 */
int logs_command(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "previous", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct log_reader r = { .first = true };
	autofree char *dir = NULL, *cur = NULL, *old = NULL;
	struct moat_config c;
	bool previous = false, gone = false;
	const char *name;
	struct stat st;
	char *err;
	int opt, fd, ret = 0;

	optind = 1;
	opterr = 0;
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
			fprintf(stderr, "moat logs: option '%s' is not valid here (see 'moat logs --help')\n",
				argv[optind - 1]);
			return MOAT_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "moat logs: %s (see 'moat logs --help')\n",
			optind >= argc ? "missing the sandbox name" :
			"expected exactly one sandbox name");
		return MOAT_EXIT_USAGE;
	}
	name = argv[optind];
	if (!state_name_valid(name)) {
		fprintf(stderr, "moat logs: '%s' is not a sandbox name (see 'moat logs --help')\n",
			name);
		return MOAT_EXIT_USAGE;
	}
	if (state_config_load(&c, &err)) {
		msg_err("%s", err);
		free(err);
		return MOAT_EXIT_FAILURE;
	}
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
		log_print_fd(&r, fd);
		close(fd);
		free(r.partial);	/* the old file ends where it was cut */
		r.partial = NULL;
	}
	fd = open(cur, O_RDONLY | O_CLOEXEC);
	if (r.follow && !gone) {
		if (fd >= 0)
			log_print_fd(&r, fd);
		ret = log_follow(&r, dir, fd);
	} else if (fd >= 0) {
		log_print_fd(&r, fd);
		close(fd);
	}
	if (r.json && !r.follow)
		printf("%s]\n", r.first ? "" : "\n");
	free(r.partial);
	return ret;
}
