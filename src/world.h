/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * world.h - the throwaway world of "moat verify --simulate"
 */
#ifndef MOAT_WORLD_H
#define MOAT_WORLD_H

#include <limits.h>
#include <sys/types.h>

#include "common.h"

enum { WORLD_HOST = 0, WORLD_LAN, WORLD_INET, WORLD_NS };

/**
 * struct world - a world of three network namespaces with servers
 * @sfx:	random suffix of every name
 * @path:	/run/netns/moatv-{host,lan,inet}-SFX
 * @nsfd:	descriptors of the namespaces
 * @made:	which namespaces exist
 * @srv:	server process of each namespace, 0 if none
 * @run_dir:	moat's run directory for this world
 * @dns_queries: shared counter: datagrams the "internet" resolver received
 * @warden:	process that removes the world if moat dies without doing it
 * @warden_fd:	write end of its pipe: it acts when the pipe closes
 */
struct world {
	char sfx[9];
	char path[WORLD_NS][64];
	int nsfd[WORLD_NS];
	bool made[WORLD_NS];
	pid_t srv[WORLD_NS];
	char run_dir[PATH_MAX];
	volatile unsigned *dns_queries;
	pid_t warden;
	int warden_fd;
};

/* addresses the probes of --simulate use */
#define WORLD_HOST4		"192.168.77.2"
#define WORLD_LANSVC4		"192.168.77.10"
#define WORLD_PUBLIC4		"93.184.216.34"
#define WORLD_PUBLIC6		"2606:2800:220:1::1"
#define WORLD_DNS4		"8.8.8.8"
#define WORLD_DOT4		"1.1.1.1"

/* the canaries of a simulated run: verify-SFX-a and verify-SFX-b */
#define WORLD_CANARY_FMT	"verify-%s-%c"

int world_create(struct world *w, volatile const int *stop);
void world_destroy(struct world *w);

#endif /* MOAT_WORLD_H */
