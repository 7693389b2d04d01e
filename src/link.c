// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * link.c - links, addresses and routes over route netlink (libnl-route-3)
 *
 * Theory of operation
 * ===================
 *
 * Every operation goes through a struct link_ctx, which wraps one
 * NETLINK_ROUTE socket. A netlink socket belongs, for its whole life, to
 * the network namespace of the task that created it, whatever namespace
 * that task moves to later: link_open() enters the requested namespace
 * just long enough to create and connect the socket, then returns to the
 * original one. From then on the same process can configure the host
 * namespace and any number of sandbox namespaces side by side, through
 * different contexts, without ever switching namespace again. An open
 * context keeps its namespace alive: close it before expecting the
 * namespace to go away.
 *
 * A sandbox link is a veth pair created with one RTM_NEWLINK message: the
 * host end in the context's namespace, the peer (IFLA_NET_NS_FD in the
 * VETH_INFO_PEER attributes) directly in the sandbox namespace, under its
 * final name. Either both ends exist, or neither does; deleting either end
 * deletes both.
 *
 * Requests (creation, deletion, addresses, routes) use libnl-route objects.
 * Reads (links, addresses, routes) are plain dumps parsed here instead of
 * libnl caches: caches merge objects with the same identity, and routes
 * that differ only in output interface (fe80::/64 on each link, say) would
 * come back as one. Dumps interrupted by a concurrent change
 * (NLM_F_DUMP_INTR) are retried from scratch.
 *
 * Bandwidth limits (link_shape()) are token bucket filters on the host
 * end: its own egress, traffic towards the sandbox, is shaped by a TBF
 * root qdisc; its ingress, traffic from the sandbox, is redirected by a
 * match-all u32 filter on the ingress qdisc to an IFB device shaped the same
 * way, which hands packets back to the receive path of the original
 * device, so netfilter still sees them arrive on it. Packets are queued,
 * not dropped, up to LINK_SHAPE_LATENCY_US of delay.
 *
 * The end of a link (link_watch_open(), link_watch_read()): a supervisor
 * whose sandbox's namespace belongs to someone else (moat attach) learns
 * that the namespace ended from the kernel deleting its veth, which takes
 * the host end with it. It listens to route netlink's link group with a
 * classic BPF socket filter that passes only RTM_DELLINK of the one
 * interface index it watches (family AF_UNSPEC: a bridge's AF_BRIDGE
 * message for a port leaving it is no deletion), so that the links other
 * sandboxes add and remove never wake it.
 *
 * A guest's TAP device (link_tap_add()) is made the way "ip tuntap add"
 * makes one: /dev/net/tun opened from inside the sandbox namespace (a TUN
 * device is created in its opener's namespace), TUNSETIFF, an owner, and
 * TUNSETPERSIST, so that it outlives the descriptor and its owner's VMM,
 * without any capability, attaches to it by name. link_wire() joins it to
 * the namespace's eth0 with two of the same match-all redirects, one each
 * way: a wire, not a bridge (nothing learnt, no spanning tree, no
 * bridge netfilter), the way Kata Containers' "tcfilter" joins a VM's TAP
 * to a container's veth.
 *
 * Errors: libnl folds kernel error codes into its own NLE_* codes, losing
 * some on the way (ENETUNREACH becomes "unspecific failure"). The context
 * therefore records the errno of the last netlink error message it saw,
 * and functions return that, or an errno mapped back from libnl's code
 * when the failure did not come from the kernel. Nothing here prints:
 * callers decide what to say.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_addr.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/tc.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/action.h>
#include <netlink/route/act/mirred.h>
#include <sys/ioctl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>

#include "link.h"
#include "nl.h"
#include "netns.h"

#define LINK_DUMP_TRIES		8	/* attempts for an interrupted dump */

#define LINK_TBF_HANDLE		TC_H_MAKE(1U << 16, 0)		/* 1: */
#define LINK_INGRESS_HANDLE	TC_H_MAKE(0xffffU << 16, 0)	/* ffff: */
#define LINK_SHAPE_LATENCY_US	50000	/* longest a packet waits in TBF */
#define LINK_SHAPE_BURST_MIN	16384	/* bytes: well above one frame */
#define LINK_SHAPE_BURST_DIV	100	/* burst: 10 ms of traffic at rate */

/**
 * struct link_name - interface index and name, from a link dump
 * @index:	interface index
 * @name:	interface name
 */
struct link_name {
	int index;
	char name[IFNAMSIZ];
};

/**
 * struct link_names - all interfaces of a namespace
 * @v:		entries, sorted by index once the dump is complete
 * @n:		number of entries
 * @cap:	allocated entries
 */
struct link_names {
	struct link_name *v;
	size_t n;
	size_t cap;
};

/**
 * struct link_ctx - a route netlink socket bound to one network namespace
 * @sk:		libnl socket, connected
 * @syserr:	errno (negative) of the last netlink error message, 0 if none
 * @hold:	link_names_hold() is on: the interfaces' names are dumped
 *		once and @held answers every later lookup
 * @held:	those names (@held.v NULL until the first dump)
 */
struct link_ctx {
	struct nl_sock *sk;
	int syserr;
	bool hold;
	struct link_names held;
};

/**
 * link_nlerr() - map a libnl error code to an errno
 * @nlerr:	libnl error code, positive or negative
 *
 * Return: corresponding positive errno
 */
static int link_nlerr(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_INTR:			return EINTR;
	case NLE_BAD_SOCK:		return EBADF;
	case NLE_AGAIN:			return EAGAIN;
	case NLE_NOMEM:			return ENOMEM;
	case NLE_EXIST:			return EEXIST;
	case NLE_INVAL:			return EINVAL;
	case NLE_RANGE:			return ERANGE;
	case NLE_MSGSIZE:		return EMSGSIZE;
	case NLE_OPNOTSUPP:		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:		return EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:		return ENODEV;
	case NLE_NOATTR:		return EINVAL;
	case NLE_MISSING_ATTR:		return EINVAL;
	case NLE_AF_MISMATCH:		return EINVAL;
	case NLE_SEQ_MISMATCH:		return EPROTO;
	case NLE_MSG_OVERFLOW:		return EOVERFLOW;
	case NLE_MSG_TRUNC:		return EMSGSIZE;
	case NLE_NOADDR:		return EADDRNOTAVAIL;
	case NLE_SRCRT_NOSUPPORT:	return EOPNOTSUPP;
	case NLE_MSG_TOOSHORT:		return EPROTO;
	case NLE_MSGTYPE_NOSUPPORT:	return EOPNOTSUPP;
	case NLE_OBJ_MISMATCH:		return EINVAL;
	case NLE_BUSY:			return EBUSY;
	case NLE_PROTO_MISMATCH:	return EPROTONOSUPPORT;
	case NLE_NOACCESS:		return EACCES;
	case NLE_PERM:			return EPERM;
	case NLE_PARSE_ERR:		return EPROTO;
	case NLE_NODEV:			return ENODEV;
	case NLE_IMMUTABLE:		return EPERM;
	case NLE_DUMP_INTR:		return EAGAIN;
	case NLE_ATTRSIZE:		return EINVAL;
	default:			return EIO;
	}
}

/**
 * link_err() - turn the result of a libnl call into 0 or -errno
 * @l:		context, whose @syserr is used if the kernel reported an error
 * @rc:		return value of the libnl call
 *
 * Return: 0 if @rc is not negative, -errno otherwise
 */
static int link_err(const struct link_ctx *l, int rc)
{
	if (rc >= 0)
		return 0;
	if (l->syserr < 0)
		return l->syserr;
	return -link_nlerr(rc);
}

/**
 * link_err_cb() - libnl callback for netlink error messages: keep errno
 * @nla:	sender address, unused
 * @e:		the error message
 * @arg:	struct link_ctx
 *
 * Return: NL_STOP, so that libnl ends the receive loop with an error
 */
static int link_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct link_ctx *l = arg;

	l->syserr = e->error < 0 ? e->error : -e->error;
	return NL_STOP;
}

/**
 * link_name_ok() - check an interface name before handing it to libnl
 * @name:	interface name
 *
 * libnl silently truncates names to IFNAMSIZ - 1 characters: refuse
 * longer ones instead of acting on another interface.
 *
 * Return: true if @name is a valid interface name
 */
static bool link_name_ok(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	return len && len < IFNAMSIZ && !strchr(name, '/');
}

/**
 * link_prefix_ok() - check a struct prefix passed by the caller
 * @p:		prefix
 *
 * Return: true if the family is AF_INET or AF_INET6 and the length fits
 */
static bool link_prefix_ok(const struct prefix *p)
{
	if (!p)
		return false;
	if (p->family == AF_INET)
		return p->plen <= 32;
	if (p->family == AF_INET6)
		return p->plen <= 128;
	return false;
}

/**
 * link_nladdr() - build a libnl address from a struct prefix
 * @p:		prefix, checked by link_prefix_ok()
 *
 * Return: new libnl address with the prefix length of @p, NULL if out of
 * memory
 */
static struct nl_addr *link_nladdr(const struct prefix *p)
{
	size_t alen = p->family == AF_INET ? 4 : 16;
	struct nl_addr *a;

	a = nl_addr_build(p->family, p->addr, alen);
	if (a)
		nl_addr_set_prefixlen(a, p->plen);
	return a;
}

/**
 * link_open() - open a route netlink context bound to a network namespace
 * @nsfd:	namespace descriptor, -1 for the current namespace
 *
 * The calling thread returns to its own namespace before this returns (or
 * the process aborts, see netns.c).
 *
 * Return: new context, NULL with errno set on failure
 */
struct link_ctx *link_open(int nsfd)
{
	autoclose int orig = -1;
	struct link_ctx *l;
	int rc = 0;

	l = xcalloc(1, sizeof(*l));
	l->sk = nl_socket_alloc();
	if (!l->sk) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}

	if (nsfd >= 0) {
		orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (orig < 0 || setns(nsfd, CLONE_NEWNET)) {
			rc = -errno;
			goto fail;
		}
	}

	rc = nl_connect(l->sk, NETLINK_ROUTE);

	if (nsfd >= 0 && setns(orig, CLONE_NEWNET))
		abort();	/* see netns_return() */

	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto fail;
	}

	nl_socket_modify_err_cb(l->sk, NL_CB_CUSTOM, link_err_cb, l);
	return l;

fail:
	nl_socket_free(l->sk);
	free(l);
	errno = -rc;
	return NULL;
}

/**
 * link_close() - close a context opened by link_open()
 * @l:		context, may be NULL
 */
void link_close(struct link_ctx *l)
{
	if (!l)
		return;
	link_names_hold(l, false);
	nl_socket_free(l->sk);
	free(l);
}

/**
 * link_names_hold() - dump the interfaces' names once for several lookups
 * @l:		context
 * @on:		start holding them, or stop and forget them
 *
 * Route and address listings (link_routes(), link_addrs()) name each
 * entry's interface from a dump of all interfaces: with 1000 sandboxes,
 * 2000 interfaces and their statistics per listing. A caller that makes
 * several listings and changes no interface in between holds the names:
 * one dump answers them all. Only for read-only stretches: a name held
 * does not follow a change.
 */
void link_names_hold(struct link_ctx *l, bool on)
{
	if (!on) {
		free(l->held.v);
		memset(&l->held, 0, sizeof(l->held));
	}
	l->hold = on;
}

/**
 * link_index() - look up the index of an interface by name
 * @l:		context
 * @name:	interface name
 *
 * Return: interface index, -ENODEV if there is no such interface, other
 * -errno on failure
 */
static int link_index(struct link_ctx *l, const char *name)
{
	struct rtnl_link *link = NULL;
	int rc;

	if (!link_name_ok(name))
		return -EINVAL;

	l->syserr = 0;
	rc = rtnl_link_get_kernel(l->sk, 0, name, &link);
	if (rc < 0)
		return link_err(l, rc);
	if (!link)
		return -ENODEV;

	rc = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return rc > 0 ? rc : -ENODEV;
}

/**
 * link_veth_add() - create a veth pair with its peer in another namespace
 * @l:		context: the namespace of the first end
 * @name:	name of the first end
 * @peer_nsfd:	namespace descriptor for the peer, -1 for the same as @l's
 * @peer_name:	name of the peer, inside its namespace
 *
 * Both ends are created down, in one RTM_NEWLINK request.
 *
 * Return: 0 on success, -EEXIST if @name (or @peer_name in its
 * namespace) exists, another -errno on failure
 */
int link_veth_add(struct link_ctx *l, const char *name, int peer_nsfd,
		  const char *peer_name)
{
	struct rtnl_link *veth, *peer;
	int rc;

	if (!link_name_ok(name) || !link_name_ok(peer_name))
		return -EINVAL;

	veth = rtnl_link_veth_alloc();
	if (!veth)
		return -ENOMEM;
	rtnl_link_set_name(veth, name);

	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(peer, peer_name);
	if (peer_nsfd >= 0)
		rtnl_link_set_ns_fd(peer, peer_nsfd);
	rtnl_link_put(peer);

	l->syserr = 0;
	rc = rtnl_link_add(l->sk, veth, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(veth);

	return link_err(l, rc);
}

/**
 * link_del() - delete an interface (both ends, for a veth)
 * @l:		context
 * @name:	interface name
 *
 * Return: 0 on success, -ENODEV if there is no such interface, other
 * -errno on failure
 */
int link_del(struct link_ctx *l, const char *name)
{
	struct rtnl_link *link;
	int rc;

	if (!link_name_ok(name))
		return -EINVAL;

	link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);

	l->syserr = 0;
	rc = rtnl_link_delete(l->sk, link);
	rtnl_link_put(link);

	return link_err(l, rc);
}

/**
 * link_exists() - tell whether an interface exists
 * @l:		context
 * @name:	interface name
 *
 * Return: 1 if it exists, 0 if not, -errno on failure
 */
int link_exists(struct link_ctx *l, const char *name)
{
	int rc = link_index(l, name);

	if (rc == -ENODEV)
		return 0;
	return rc < 0 ? rc : 1;
}

/**
 * link_up() - set an interface administratively up
 * @l:		context
 * @name:	interface name
 *
 * The request names the interface (IFLA_IFNAME, no index) and only
 * changes IFF_UP, so no lookup is needed.
 *
 * Return: 0 on success, -ENODEV if there is no such interface, other
 * -errno on failure
 */
int link_up(struct link_ctx *l, const char *name)
{
	struct ifinfomsg ifi = {
		.ifi_family	= AF_UNSPEC,
		.ifi_flags	= IFF_UP,
		.ifi_change	= IFF_UP,
	};
	struct nl_msg *msg;
	int rc;

	if (!link_name_ok(name))
		return -EINVAL;

	msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, name) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}

	l->syserr = 0;
	rc = nl_send_sync(l->sk, msg);		/* frees msg */
	return link_err(l, rc);
}

/**
 * link_addr_add() - add an address to an interface
 * @l:		context
 * @name:	interface name
 * @addr:	address, with the prefix length of the subnet it is on
 * @nodad:	for IPv6, skip duplicate address detection (IFA_F_NODAD), so
 *		that the address is usable at once
 *
 * Return: 0 on success, -EEXIST if the address is already there, other
 * -errno on failure
 */
int link_addr_add(struct link_ctx *l, const char *name,
		  const struct prefix *addr, bool nodad)
{
	struct rtnl_addr *a;
	struct nl_addr *local;
	int idx, rc;

	if (!link_prefix_ok(addr))
		return -EINVAL;

	idx = link_index(l, name);
	if (idx < 0)
		return idx;

	a = rtnl_addr_alloc();
	local = link_nladdr(addr);
	if (!a || !local) {
		rc = -ENOMEM;
		goto out;
	}

	rtnl_addr_set_ifindex(a, idx);
	rtnl_addr_set_family(a, addr->family);
	rc = rtnl_addr_set_local(a, local);
	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto out;
	}
	rtnl_addr_set_prefixlen(a, addr->plen);
	if (nodad && addr->family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);

	l->syserr = 0;
	rc = link_err(l, rtnl_addr_add(l->sk, a, NLM_F_EXCL));
out:
	nl_addr_put(local);
	rtnl_addr_put(a);
	return rc;
}

/**
 * link_route_add_in() - add a route
 * @l:		context
 * @dst:	destination, length 0 for a default route
 * @dev:	output interface, may be NULL if @via is given
 * @via:	gateway, or NULL
 * @table:	RT_TABLE_*
 * @type:	RTN_*
 * @metric:	priority, 0 for the kernel's default
 *
 * Return: 0 on success, -EEXIST if the route exists, other negative
 * error code on failure
 */
static int link_route_add_in(struct link_ctx *l, const struct prefix *dst,
			     const char *dev, const struct prefix *via,
			     uint32_t table, uint8_t type, uint32_t metric)
{
	struct nl_addr *d = NULL, *gw = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *r;
	int idx = 0, rc;

	if (!link_prefix_ok(dst) || (!dev && !via))
		return -EINVAL;
	if (via && (!link_prefix_ok(via) || via->family != dst->family))
		return -EINVAL;

	if (dev) {
		idx = link_index(l, dev);
		if (idx < 0)
			return idx;
	}

	r = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	d = link_nladdr(dst);
	if (via) {
		struct prefix g = *via;

		g.plen = g.family == AF_INET ? 32 : 128;
		gw = link_nladdr(&g);
	}
	if (!r || !nh || !d || (via && !gw)) {
		rc = -ENOMEM;
		goto out;
	}

	rtnl_route_set_family(r, dst->family);
	rtnl_route_set_table(r, table);
	rtnl_route_set_type(r, type);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	if (metric)
		rtnl_route_set_priority(r, metric);
	rc = rtnl_route_set_dst(r, d);
	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto out;
	}

	if (idx)
		rtnl_route_nh_set_ifindex(nh, idx);
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(r, nh);
	nh = NULL;			/* owned by the route now */

	l->syserr = 0;
	rc = link_err(l, rtnl_route_add(l->sk, r, NLM_F_EXCL));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(gw);
	nl_addr_put(d);
	rtnl_route_put(r);
	return rc;
}

/**
 * link_route_add() - add a unicast route to the main table
 * @l:		context
 * @dst:	destination, length 0 for a default route
 * @dev:	output interface, may be NULL if @via is given
 * @via:	gateway, NULL for a directly connected destination; an IPv6
 *		link-local gateway needs @dev
 *
 * Return: 0 on success, -EEXIST if the route exists, other negative
 * error code on failure (-ENETUNREACH for an unreachable gateway)
 */
int link_route_add(struct link_ctx *l, const struct prefix *dst,
		   const char *dev, const struct prefix *via)
{
	return link_route_add_in(l, dst, dev, via, RT_TABLE_MAIN, RTN_UNICAST, 0);
}

/**
 * link_route_add_local() - add a local route through an interface
 * @l:		context
 * @dst:	destination delivered locally when it arrives on @dev
 * @dev:	the interface
 * @metric:	priority, behind the kernel's own local routes (metric 0),
 *		so that what the host sends itself still takes those
 *
 * The route is in the local table and goes with @dev.
 *
 * Return: 0 on success, -EEXIST if the route exists, other negative
 * error code on failure
 */
int link_route_add_local(struct link_ctx *l, const struct prefix *dst,
			 const char *dev, uint32_t metric)
{
	if (!dev)
		return -EINVAL;
	return link_route_add_in(l, dst, dev, NULL, RT_TABLE_LOCAL, RTN_LOCAL,
				 metric);
}

/**
 * link_dump() - send a dump request and feed every answer to a callback
 * @l:		context
 * @type:	RTM_GETLINK, RTM_GETADDR or RTM_GETROUTE
 * @hdr:	family header (struct ifinfomsg, ifaddrmsg, rtmsg)
 * @hlen:	size of @hdr
 * @fn:		called for each message; must not fail (return NL_OK)
 * @arg:	passed to @fn
 * @reset:	called with @arg before each attempt, to forget what an
 *		interrupted attempt collected
 *
 * Return: 0 on success, -errno on failure
 */
static int link_dump(struct link_ctx *l, int type, const void *hdr,
		     size_t hlen, nl_recvmsg_msg_cb_t fn, void *arg,
		     void (*reset)(void *arg))
{
	struct nl_cb *cb, *sk_cb;
	int rc = -NLE_DUMP_INTR;
	int i;

	sk_cb = nl_socket_get_cb(l->sk);
	cb = nl_cb_clone(sk_cb);
	nl_cb_put(sk_cb);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, fn, arg);

	for (i = 0; i < LINK_DUMP_TRIES && rc == -NLE_DUMP_INTR; i++) {
		reset(arg);
		l->syserr = 0;
		rc = nl_send_simple(l->sk, type, NLM_F_DUMP, (void *)hdr, hlen);
		if (rc < 0)
			break;
		rc = nl_recvmsgs(l->sk, cb);
	}

	nl_cb_put(cb);
	return link_err(l, rc);
}

/**
 * link_names_reset() - forget the entries of a struct link_names
 * @arg:	struct link_names
 */
static void link_names_reset(void *arg)
{
	struct link_names *ln = arg;

	ln->n = 0;
}

/**
 * link_names_cb() - collect index and name from one RTM_NEWLINK message
 * @msg:	message
 * @arg:	struct link_names
 *
 * Return: NL_OK
 */
static int link_names_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct link_names *ln = arg;
	struct ifinfomsg *ifi;
	struct link_name *e;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0 ||
	    !tb[IFLA_IFNAME])
		return NL_OK;
	ifi = nlmsg_data(nlh);

	if (ln->n == ln->cap) {
		ln->cap = ln->cap ? ln->cap * 2 : 16;
		ln->v = xrealloc(ln->v, ln->cap * sizeof(*ln->v));
	}
	e = &ln->v[ln->n++];
	e->index = ifi->ifi_index;
	nla_strlcpy(e->name, tb[IFLA_IFNAME], sizeof(e->name));

	return NL_OK;
}

/**
 * link_name_cmp() - order struct link_name entries by index, for qsort()
 * @a:		first entry
 * @b:		second entry
 *
 * Return: negative, zero or positive as for strcmp()
 */
static int link_name_cmp(const void *a, const void *b)
{
	const struct link_name *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/**
 * link_names_get() - dump all interfaces of the context's namespace
 * @l:		context
 * @ln:		filled with the interfaces, sorted by index; free ln->v
 *
 * Return: 0 on success, -errno on failure (ln->v is then
 * freed)
 */
static int link_names_get(struct link_ctx *l, struct link_names *ln)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	int rc;

	memset(ln, 0, sizeof(*ln));
	if (l->hold && l->held.v) {
		ln->v = xmalloc(l->held.n * sizeof(*ln->v) + 1);
		memcpy(ln->v, l->held.v, l->held.n * sizeof(*ln->v));
		ln->n = ln->cap = l->held.n;
		return 0;
	}
	rc = link_dump(l, RTM_GETLINK, &ifi, sizeof(ifi), link_names_cb, ln,
		       link_names_reset);
	if (rc) {
		free(ln->v);
		ln->v = NULL;
		return rc;
	}

	qsort(ln->v, ln->n, sizeof(*ln->v), link_name_cmp);
	if (l->hold) {
		l->held.v = xmalloc(ln->n * sizeof(*ln->v) + 1);
		memcpy(l->held.v, ln->v, ln->n * sizeof(*ln->v));
		l->held.n = l->held.cap = ln->n;
	}
	return 0;
}

/**
 * link_name_of() - copy the name of an interface, by index
 * @ln:		interfaces from link_names_get()
 * @index:	interface index
 * @buf:	IFNAMSIZ bytes, set to "" if @index is not known (or 0)
 */
static void link_name_of(const struct link_names *ln, int index, char *buf)
{
	struct link_name key = { .index = index };
	const struct link_name *e = NULL;

	if (index > 0 && ln->n)
		e = bsearch(&key, ln->v, ln->n, sizeof(*ln->v), link_name_cmp);
	if (e)
		memcpy(buf, e->name, IFNAMSIZ);
	else
		buf[0] = '\0';
}

/**
 * link_nla_prefix() - fill a struct prefix from an address attribute
 * @nla:	attribute holding a 4 or 16 byte address, may be NULL
 * @family:	AF_INET or AF_INET6
 * @plen:	prefix length
 * @p:		filled; the address is all zeroes if @nla is NULL
 *
 * Return: true on success, false if the attribute length does not match
 */
static bool link_nla_prefix(const struct nlattr *nla, int family, int plen,
			    struct prefix *p)
{
	size_t alen = family == AF_INET ? 4 : 16;

	memset(p, 0, sizeof(*p));
	p->family = family;
	p->plen = plen;
	if (!nla)
		return true;
	if ((size_t)nla_len(nla) != alen)
		return false;
	memcpy(p->addr, nla_data(nla), alen);
	return true;
}

/**
 * struct link_route_dump - state of link_routes() while dumping
 * @family:	AF_INET, AF_INET6, or AF_UNSPEC for both
 * @v:		collected routes, output interface index in @oif
 * @oif:	output interface index of each route
 * @n:		number of routes
 * @cap:	allocated routes
 */
struct link_route_dump {
	int family;
	struct link_route *v;
	int *oif;
	size_t n;
	size_t cap;
};

/**
 * link_routes_reset() - forget the routes collected by an attempt
 * @arg:	struct link_route_dump
 */
static void link_routes_reset(void *arg)
{
	struct link_route_dump *rd = arg;

	rd->n = 0;
}

/**
 * link_routes_cb() - collect one route from an RTM_NEWROUTE message
 * @msg:	message
 * @arg:	struct link_route_dump
 *
 * Kernel bookkeeping routes (broadcast, multicast, anycast) and cached
 * clones are skipped; so are other families (such as RTNL_FAMILY_IPMR).
 *
 * Return: NL_OK
 */
static int link_routes_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct link_route_dump *rd = arg;
	struct nlattr *tb[RTA_MAX + 1];
	struct link_route *e;
	struct rtmsg *rtm;
	struct prefix dst;
	int oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return NL_OK;
	rtm = nlmsg_data(nlh);

	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return NL_OK;
	if (rd->family != AF_UNSPEC && rtm->rtm_family != rd->family)
		return NL_OK;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return NL_OK;
	if (rtm->rtm_type == RTN_BROADCAST || rtm->rtm_type == RTN_MULTICAST ||
	    rtm->rtm_type == RTN_ANYCAST)
		return NL_OK;
	if (!link_nla_prefix(tb[RTA_DST], rtm->rtm_family, rtm->rtm_dst_len,
			     &dst))
		return NL_OK;

	if (tb[RTA_OIF]) {
		oif = nla_get_u32(tb[RTA_OIF]);
	} else if (tb[RTA_MULTIPATH]) {
		struct nlattr *mp = tb[RTA_MULTIPATH];

		if (nla_len(mp) >= (int)sizeof(struct rtnexthop))
			oif = ((struct rtnexthop *)nla_data(mp))->rtnh_ifindex;
	}

	if (rd->n == rd->cap) {
		rd->cap = rd->cap ? rd->cap * 2 : 16;
		rd->v = xrealloc(rd->v, rd->cap * sizeof(*rd->v));
		rd->oif = xrealloc(rd->oif, rd->cap * sizeof(*rd->oif));
	}
	e = &rd->v[rd->n];
	memset(e, 0, sizeof(*e));
	e->dst = dst;
	e->table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	e->type = rtm->rtm_type;
	rd->oif[rd->n++] = oif;

	return NL_OK;
}

/**
 * link_routes() - read the routes of all routing tables
 * @l:		context
 * @family:	AF_INET, AF_INET6, or AF_UNSPEC for both
 * @out:	set to an array of routes, to be freed with free()
 * @n:		set to the number of routes
 *
 * Returned are routes of every table (main, local, and any other) that
 * steer unicast traffic: type RTN_UNICAST, but also RTN_LOCAL (addresses
 * of the namespace itself), RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT,
 * RTN_THROW: callers filter on @type. Broadcast, multicast and anycast
 * entries and cached clones are left out. For a multipath route, @ifname
 * is the output interface of the first next hop.
 *
 * Return: 0 on success, -errno on failure (*@out is then
 * NULL)
 */
int link_routes(struct link_ctx *l, int family, struct link_route **out,
		size_t *n)
{
	struct link_route_dump rd = { .family = family };
	struct rtmsg rtm = { .rtm_family = family };
	struct link_names ln;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;

	rc = link_dump(l, RTM_GETROUTE, &rtm, sizeof(rtm), link_routes_cb, &rd,
		       link_routes_reset);
	if (!rc)
		rc = link_names_get(l, &ln);
	if (rc) {
		free(rd.v);
		free(rd.oif);
		return rc;
	}

	for (i = 0; i < rd.n; i++)
		link_name_of(&ln, rd.oif[i], rd.v[i].ifname);

	free(ln.v);
	free(rd.oif);
	*out = rd.v;
	*n = rd.n;
	return 0;
}

/**
 * struct link_addr_dump - state of link_addrs() while dumping
 * @family:	AF_INET, AF_INET6, or AF_UNSPEC for both
 * @v:		collected addresses
 * @index:	interface index of each address
 * @n:		number of addresses
 * @cap:	allocated addresses
 */
struct link_addr_dump {
	int family;
	struct link_addr *v;
	int *index;
	size_t n;
	size_t cap;
};

/**
 * link_addrs_reset() - forget the addresses collected by an attempt
 * @arg:	struct link_addr_dump
 */
static void link_addrs_reset(void *arg)
{
	struct link_addr_dump *ad = arg;

	ad->n = 0;
}

/**
 * link_addrs_cb() - collect one address from an RTM_NEWADDR message
 * @msg:	message
 * @arg:	struct link_addr_dump
 *
 * The local address is IFA_LOCAL where present (IPv4, and point-to-point
 * configurations, where IFA_ADDRESS is the peer), IFA_ADDRESS otherwise.
 *
 * Return: NL_OK
 */
static int link_addrs_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct link_addr_dump *ad = arg;
	struct nlattr *tb[IFA_MAX + 1];
	struct ifaddrmsg *ifa;
	struct link_addr *e;
	struct prefix a;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return NL_OK;
	ifa = nlmsg_data(nlh);

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return NL_OK;
	if (ad->family != AF_UNSPEC && ifa->ifa_family != ad->family)
		return NL_OK;
	if (!tb[IFA_LOCAL] && !tb[IFA_ADDRESS])
		return NL_OK;
	if (!link_nla_prefix(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS],
			     ifa->ifa_family, ifa->ifa_prefixlen, &a))
		return NL_OK;

	if (ad->n == ad->cap) {
		ad->cap = ad->cap ? ad->cap * 2 : 16;
		ad->v = xrealloc(ad->v, ad->cap * sizeof(*ad->v));
		ad->index = xrealloc(ad->index, ad->cap * sizeof(*ad->index));
	}
	e = &ad->v[ad->n];
	memset(e, 0, sizeof(*e));
	e->addr = a;
	e->scope = ifa->ifa_scope;
	ad->index[ad->n++] = ifa->ifa_index;

	return NL_OK;
}

/**
 * link_addrs() - read the addresses of all interfaces
 * @l:		context
 * @family:	AF_INET, AF_INET6, or AF_UNSPEC for both
 * @out:	set to an array of addresses, to be freed with free()
 * @n:		set to the number of addresses
 *
 * Return: 0 on success, -errno on failure (*@out is then
 * NULL)
 */
int link_addrs(struct link_ctx *l, int family, struct link_addr **out,
	       size_t *n)
{
	struct link_addr_dump ad = { .family = family };
	struct ifaddrmsg ifa = { .ifa_family = family };
	struct link_names ln;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;

	rc = link_dump(l, RTM_GETADDR, &ifa, sizeof(ifa), link_addrs_cb, &ad,
		       link_addrs_reset);
	if (!rc)
		rc = link_names_get(l, &ln);
	if (rc) {
		free(ad.v);
		free(ad.index);
		return rc;
	}

	for (i = 0; i < ad.n; i++)
		link_name_of(&ln, ad.index[i], ad.v[i].ifname);

	free(ln.v);
	free(ad.index);
	*out = ad.v;
	*n = ad.n;
	return 0;
}

/**
 * link_list_names() - list interfaces whose name starts with a prefix
 * @l:		context
 * @prefix:	name prefix, NULL or "" for all interfaces
 * @out:	set to an array of names, to be freed with free()
 * @n:		set to the number of names
 *
 * Return: 0 on success, -errno on failure (*@out is then
 * NULL)
 */
int link_list_names(struct link_ctx *l, const char *prefix, char (**out)[16],
		    size_t *n)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	struct link_names ln;
	char (*v)[16];
	size_t i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;

	rc = link_names_get(l, &ln);
	if (rc)
		return rc;

	v = xcalloc(ln.n ? ln.n : 1, sizeof(*v));
	for (i = 0; i < ln.n; i++) {
		if (strncmp(ln.v[i].name, prefix ? prefix : "", plen))
			continue;
		memcpy(v[k++], ln.v[i].name, sizeof(*v));
	}

	free(ln.v);
	*out = v;
	*n = k;
	return 0;
}

/**
 * link_tbf() - set a token bucket filter as root qdisc of an interface
 * @l:		context
 * @idx:	interface index
 * @bps:	rate, bits per second
 *
 * The bucket holds 10 ms of traffic (LINK_SHAPE_BURST_MIN bytes at
 * least), the queue LINK_SHAPE_LATENCY_US of it. An existing root qdisc
 * is replaced.
 *
 * Return: 0 on success, -ERANGE if @bps is beyond what libnl can express
 * (32-bit bytes per second), another -errno on failure
 */
static int link_tbf(struct link_ctx *l, int idx, uint64_t bps)
{
	uint64_t rate = bps / 8, burst;
	struct rtnl_qdisc *q;
	int rc;

	if (!rate || rate > INT32_MAX)
		return -ERANGE;
	burst = rate / LINK_SHAPE_BURST_DIV;
	if (burst < LINK_SHAPE_BURST_MIN)
		burst = LINK_SHAPE_BURST_MIN;

	q = rtnl_qdisc_alloc();
	if (!q)
		return -ENOMEM;

	rtnl_tc_set_ifindex(TC_CAST(q), idx);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), LINK_TBF_HANDLE);
	rc = rtnl_tc_set_kind(TC_CAST(q), "tbf");
	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto out;
	}
	rtnl_qdisc_tbf_set_rate(q, (int)rate, (int)burst, 0);
	rc = rtnl_qdisc_tbf_set_limit_by_latency(q, LINK_SHAPE_LATENCY_US);
	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto out;
	}

	l->syserr = 0;
	rc = link_err(l, rtnl_qdisc_add(l->sk, q,
					NLM_F_CREATE | NLM_F_REPLACE));
out:
	rtnl_qdisc_put(q);
	return rc;
}

/**
 * link_qdisc_del() - delete a qdisc, ignoring errors
 * @l:		context
 * @idx:	interface index
 * @parent:	TC_H_ROOT or TC_H_INGRESS
 */
static void link_qdisc_del(struct link_ctx *l, int idx, uint32_t parent)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();

	if (!q)
		return;
	rtnl_tc_set_ifindex(TC_CAST(q), idx);
	rtnl_tc_set_parent(TC_CAST(q), parent);
	rtnl_qdisc_delete(l->sk, q);
	rtnl_qdisc_put(q);
}

/**
 * link_redirect() - redirect all ingress traffic of an interface to another
 * @l:		context
 * @idx:	index of the interface whose ingress is redirected
 * @to:		index of the interface (an IFB, or the other end of a wire:
 *		link_wire()) receiving it as egress
 *
 * Adds an ingress qdisc (or uses the one a sandbox's interface has for
 * guard.c's marking filter) and, on it, a match-all u32 filter at
 * priority 2 with a mirred "egress redirect" action, as "tc filter add
 * dev X ingress prio 2 protocol all u32 match u32 0 0 action mirred
 * egress redirect dev IFB". (u32 rather
 * than matchall: some kernels, such as the test machines', lack
 * cls_matchall, and u32 is as old as tc.)
 *
 * Return: 0 on success, another -errno on failure (the ingress
 * qdisc is then not left behind, unless it was there before)
 */
static int link_redirect(struct link_ctx *l, int idx, int to)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	struct rtnl_cls *cls = rtnl_cls_alloc();
	struct rtnl_act *act = rtnl_act_alloc();
	bool had_qdisc = false;
	int rc;

	if (!q || !cls || !act) {
		rc = -ENOMEM;
		goto out;
	}

	rtnl_tc_set_ifindex(TC_CAST(q), idx);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	rtnl_tc_set_handle(TC_CAST(q), LINK_INGRESS_HANDLE);
	rc = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (rc < 0) {
		rc = -link_nlerr(rc);
		goto out;
	}
	l->syserr = 0;
	rc = link_err(l, rtnl_qdisc_add(l->sk, q,
					NLM_F_CREATE | NLM_F_EXCL));
	if (rc == -EEXIST)	/* a sandbox's: guard.c's filter is on it */
		had_qdisc = true;
	else if (rc)
		goto out;

	rc = rtnl_tc_set_kind(TC_CAST(act), "mirred");
	if (rc >= 0)
		rc = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
	if (rc >= 0)
		rc = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
	if (rc >= 0)
		rc = rtnl_mirred_set_ifindex(act, to);

	rtnl_tc_set_ifindex(TC_CAST(cls), idx);
	rtnl_tc_set_parent(TC_CAST(cls), LINK_INGRESS_HANDLE);
	rtnl_cls_set_protocol(cls, ETH_P_ALL);
	rtnl_cls_set_prio(cls, 2);	/* after guard.c's marking filter (1) */
	if (rc >= 0)
		rc = rtnl_tc_set_kind(TC_CAST(cls), "u32");
	if (rc >= 0)
		rc = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
	if (rc >= 0)
		rc = rtnl_u32_set_cls_terminal(cls);
	if (rc >= 0)
		rc = rtnl_u32_add_action(cls, act);
	if (rc < 0) {
		rc = -link_nlerr(rc);
		if (!had_qdisc)
			link_qdisc_del(l, idx, TC_H_INGRESS);
		goto out;
	}

	l->syserr = 0;
	rc = link_err(l, rtnl_cls_add(l->sk, cls, NLM_F_CREATE | NLM_F_EXCL));
	if (rc && !had_qdisc)
		link_qdisc_del(l, idx, TC_H_INGRESS);
out:
	if (act)
		rtnl_act_put(act);
	if (cls)
		rtnl_cls_put(cls);
	if (q)
		rtnl_qdisc_put(q);
	return rc;
}

/**
 * link_shape() - limit the bandwidth of an interface in both directions
 * @l:		context
 * @name:	interface, typically the host end of a sandbox veth
 * @ifb:	name of the IFB device to create for @ingress_bps; it does
 *		not go away with @name: delete it with link_del() too, after
 *		@name (if the IFB goes first, what @name receives is
 *		redirected to a missing device, that is, dropped). Unused,
 *		may be NULL, if @ingress_bps is 0
 * @egress_bps:	limit of what @name sends (towards the sandbox, for a host
 *		end), bits per second, 0 for none
 * @ingress_bps: limit of what @name receives (from the sandbox), bits per
 *		second, 0 for none
 *
 * Meant for a freshly created interface: an existing root qdisc is
 * replaced, an existing ingress qdisc or IFB device is an error. On
 * failure, whatever this call set up is removed again.
 *
 * Return: 0 on success, -EEXIST if @ifb exists, -ERANGE for a rate above
 * about 17 Gbit/s, another -errno on failure
 */
int link_shape(struct link_ctx *l, const char *name, const char *ifb,
	       uint64_t egress_bps, uint64_t ingress_bps)
{
	struct rtnl_link *link;
	int idx, ifb_idx, rc;

	if ((egress_bps && (egress_bps < 8 || egress_bps / 8 > INT32_MAX)) ||
	    (ingress_bps && (ingress_bps < 8 || ingress_bps / 8 > INT32_MAX)))
		return -ERANGE;
	if (ingress_bps && !link_name_ok(ifb))
		return -EINVAL;

	idx = link_index(l, name);
	if (idx < 0)
		return idx;

	/* Ingress first: its failures (-EEXIST) leave nothing changed */
	if (ingress_bps) {
		link = rtnl_link_alloc();
		if (!link)
			return -ENOMEM;
		rtnl_link_set_name(link, ifb);
		rc = rtnl_link_set_type(link, "ifb");
		if (rc < 0) {
			rtnl_link_put(link);
			return -link_nlerr(rc);
		}
		l->syserr = 0;
		rc = link_err(l, rtnl_link_add(l->sk, link,
					       NLM_F_CREATE | NLM_F_EXCL));
		rtnl_link_put(link);
		if (rc)
			return rc;

		rc = link_up(l, ifb);
		if (!rc) {
			ifb_idx = link_index(l, ifb);
			rc = ifb_idx < 0 ? ifb_idx : 0;
		}
		if (!rc)
			rc = link_tbf(l, ifb_idx, ingress_bps);
		if (!rc)
			rc = link_redirect(l, idx, ifb_idx);
		if (rc) {
			link_del(l, ifb);
			return rc;
		}
	}

	if (egress_bps) {
		rc = link_tbf(l, idx, egress_bps);
		if (rc) {
			if (ingress_bps) {
				link_qdisc_del(l, idx, TC_H_INGRESS);
				link_del(l, ifb);
			}
			return rc;
		}
	}

	return 0;
}

/**
 * link_watch_open() - a socket told when one interface is deleted
 * @ifindex:	the interface, in the caller's network namespace
 *
 * Return: non-blocking descriptor for link_watch_read(), or -errno
 */
int link_watch_open(unsigned ifindex)
{
	const uint32_t off_type = offsetof(struct nlmsghdr, nlmsg_type);
	const uint32_t off_ifi = NLMSG_LENGTH(0);
	struct sock_filter code[] = {
		/* classic BPF loads are big-endian: compare with htons/htonl */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, off_type),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELLINK), 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS,
			 off_ifi + offsetof(struct ifinfomsg, ifi_family)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNSPEC, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 off_ifi + offsetof(struct ifinfomsg, ifi_index)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(ifindex), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),	/* pass */
		BPF_STMT(BPF_RET | BPF_K, 0),		/* drop */
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };

	if (!ifindex)
		return -EINVAL;
	return nl_watch_open(NETLINK_ROUTE, RTNLGRP_LINK, &prog);
}

/**
 * link_watch_read() - drain a socket of link_watch_open()
 * @fd:		the socket
 * @ifindex:	the interface it watches
 *
 * Messages lost to a full socket buffer (ENOBUFS) are made up for by
 * asking whether the interface still exists.
 *
 * Return: 1 if the interface was deleted, 0 if not, -errno on another
 * error
 */
int link_watch_read(int fd, unsigned ifindex)
{
	char buf[4096], name[IF_NAMESIZE];
	int gone = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		size_t left = n > 0 ? (size_t)n : 0;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return gone;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				if (!if_indextoname(ifindex, name))
					gone = 1;
				continue;
			}
			return -errno;
		}
		for (; NLMSG_OK(nlh, left); nlh = NLMSG_NEXT(nlh, left)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type == RTM_DELLINK &&
			    nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) &&
			    ifi->ifi_family == AF_UNSPEC &&
			    ifi->ifi_index == (int)ifindex)
				gone = 1;
		}
	}
}

/**
 * link_tap_add() - create a persistent TAP device in a namespace
 * @nsfd:	the namespace
 * @name:	its name there
 * @owner:	the host UID that may attach to it (TUNSETOWNER); no group
 *		is set, as the kernel would then require both
 *
 * The device carries Ethernet frames without packet information (IFF_TAP,
 * IFF_NO_PI) and one queue, as QEMU's "-netdev tap" and Firecracker open
 * it; an existing device of that name is an error (IFF_TUN_EXCL). Until
 * TUNSETPERSIST it lives only as long as our descriptor: if a step fails,
 * closing it removes the device again.
 *
 * Return: 0, -EEXIST if @name exists, another -errno on failure
 */
int link_tap_add(int nsfd, const char *name, uid_t owner)
{
	struct ifreq ifr;
	autoclose int fd = -1;

	if (!link_name_ok(name))
		return -EINVAL;
	fd = netns_open_in(nsfd, "/dev/net/tun", O_RDWR);
	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr))
		return errno == EBUSY ? -EEXIST : -errno;
	if (ioctl(fd, TUNSETOWNER, (unsigned long)owner) ||
	    ioctl(fd, TUNSETPERSIST, 1UL))
		return -errno;
	return 0;
}

/**
 * link_wire() - join two interfaces as if by a cable
 * @l:		context (their namespace)
 * @a:		one interface (a sandbox's eth0)
 * @b:		the other (its TAP device)
 *
 * What arrives on either leaves by the other, frames unchanged, through a
 * match-all redirect on each one's ingress (link_redirect()); neither
 * end's own stack sees anything. On failure nothing is left.
 *
 * Return: 0, or -errno
 */
int link_wire(struct link_ctx *l, const char *a, const char *b)
{
	int ia = link_index(l, a), ib = link_index(l, b), rc;

	if (ia < 0 || ib < 0)
		return ia < 0 ? ia : ib;
	rc = link_redirect(l, ia, ib);
	if (rc)
		return rc;
	rc = link_redirect(l, ib, ia);
	if (rc)
		link_qdisc_del(l, ia, TC_H_INGRESS);
	return rc;
}
