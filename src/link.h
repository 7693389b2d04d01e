/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * link.h - links, addresses, routes and queueing disciplines over route
 * netlink (libnl-route-3), each call bound to one network namespace.
 */
#ifndef MOAT_LINK_H
#define MOAT_LINK_H

#include "addr.h"

struct link_ctx;

/**
 * struct link_route - one route read from the kernel
 * @dst:	destination prefix (0/0 for a default route)
 * @ifname:	output interface name, "" if none
 * @table:	routing table id
 * @type:	RTN_* route type
 */
struct link_route {
	struct prefix dst;
	char ifname[16];
	uint32_t table;
	uint8_t type;
};

/**
 * struct link_addr - one interface address read from the kernel
 * @addr:	the address, with the prefix length it was configured with
 *		(host bits kept)
 * @ifname:	interface name
 * @scope:	RT_SCOPE_*
 */
struct link_addr {
	struct prefix addr;
	char ifname[16];
	uint8_t scope;
};

struct link_ctx *link_open(int nsfd);
void link_close(struct link_ctx *l);
void link_names_hold(struct link_ctx *l, bool on);

int link_veth_add(struct link_ctx *l, const char *name, int peer_nsfd,
		  const char *peer_name);
int link_del(struct link_ctx *l, const char *name);
int link_exists(struct link_ctx *l, const char *name);
int link_up(struct link_ctx *l, const char *name);
int link_addr_add(struct link_ctx *l, const char *name,
		  const struct prefix *addr, bool nodad);
int link_route_add(struct link_ctx *l, const struct prefix *dst,
		   const char *dev, const struct prefix *via);
int link_route_add_local(struct link_ctx *l, const struct prefix *dst,
			 const char *dev, uint32_t metric);
int link_routes(struct link_ctx *l, int family, struct link_route **out,
		size_t *n);
int link_addrs(struct link_ctx *l, int family, struct link_addr **out,
	       size_t *n);
int link_list_names(struct link_ctx *l, const char *prefix, char (**out)[16],
		    size_t *n);
int link_tap_add(int nsfd, const char *name, uid_t owner);
int link_wire(struct link_ctx *l, const char *a, const char *b);
int link_shape(struct link_ctx *l, const char *name, const char *ifb,
	       uint64_t egress_bps, uint64_t ingress_bps);
int link_watch_open(unsigned ifindex);
int link_watch_read(int fd, unsigned ifindex);

#endif /* MOAT_LINK_H */
