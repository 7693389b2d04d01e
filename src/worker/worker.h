/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * worker.h - a sandbox's unprivileged worker: DNS, proxy, relays, NFLOG
 */
#ifndef MOAT_WORKER_H
#define MOAT_WORKER_H

#include <sys/types.h>

#include "dhcp.h"
#include "dns.h"
#include "fwd.h"
#include "log.h"
#include "policy.h"
#include "privop.h"
#include "ra.h"
#include "secrets.h"
#include "state.h"

/**
 * struct wk_shared - what a worker shares with its core
 * @fwd:	its published ports and proxy (counters read by the core)
 * @dns:	its DNS interceptor (counters read by the core)
 * @log:	its log intake (counters read by the core)
 * @dhcp:	its guest's DHCP server, with a TAP (counters read by the core)
 * @ra:		its guest's router advertisements, with a TAP and IPv6
 *		(counters read by the core)
 * @active:	relayed connections open, as of the core's last "status"
 *
 * A MAP_SHARED region the core maps before it starts the first worker: a
 * worker that dies leaves its counters there, and the next one carries
 * them on (worker_main()). The core only ever copies numbers out of it and
 * bounds them (worker_status()); it follows no pointer a worker wrote.
 */
struct wk_shared {
	struct fwd fwd;
	struct dns dns;
	struct log log;
	struct dhcp dhcp;
	struct ra ra;
	uint64_t active;
};

/**
 * struct wk_handle - a core's view of its worker
 * @pid:	the worker's PID, 0 if none runs
 * @pidfd:	pidfd of it, -1 if none
 * @req:	socket of the worker's requests (pins), -1 if none
 * @ctl:	socket of the core's requests (status, policy), -1 if none
 * @log:	socket of the worker's log records, -1 if none
 * @seq:	sequence number of the core's next request
 */
struct wk_handle {
	pid_t pid;
	int pidfd;
	int req;
	int ctl;
	int log;
	uint32_t seq;
};

/**
 * struct wk_spec - what a worker is started with
 * @c:		settings
 * @s:		the sandbox's record
 * @pol:	its policy (the core's; the worker works on its own copy)
 * @pins:	the core's record of the sandbox's pins (carried over into the
 *		worker's interceptor), or NULL
 * @sh:		the shared region
 * @has_dns:	run the DNS interceptor
 * @proxy:	run the transparent proxy
 * @sec:	the sandbox's secrets and CA, for TLS interception, or NULL
 */
struct wk_spec {
	const struct moat_config *c;
	const struct sb_state *s;
	const struct policy *pol;
	const struct dns *pins;
	struct wk_shared *sh;
	bool has_dns;
	bool proxy;
	const struct secrets *sec;
};

struct wk_shared *worker_shared_map(void);
void worker_shared_unmap(struct wk_shared *sh);
int worker_start(const struct wk_spec *ws, struct wk_handle *h, char **err);
void worker_stop(struct wk_handle *h);
void worker_close(struct wk_handle *h);
int worker_request(struct wk_handle *h, struct privop_msg *m, int fd,
		   void (*serve)(void *arg), void *arg, int timeout_ms,
		   int32_t *status);
json_t *worker_status(const struct wk_shared *sh, const struct sb_state *s,
		      bool has_dns, json_t *log);

#endif /* MOAT_WORKER_H */
