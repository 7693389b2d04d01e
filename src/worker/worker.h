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
#include "ra.h"
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
 * enum wk_msg_type - messages between a core and its worker
 * @WK_PIN_ADD:	worker -> core: pin addresses (struct wk_pin entries)
 * @WK_PIN_DEL:	worker -> core: unpin them
 * @WK_REPLY:	either way: the answer to a request, by its sequence number
 * @WK_STATUS:	core -> worker: refresh the gauges in struct wk_shared
 * @WK_PROXY:	core -> worker: start the proxy's listeners (status 1), or
 *		close them (0)
 * @WK_POLICY:	core -> worker: the new policy (a memfd), re-judge relays
 */
enum wk_msg_type {
	WK_PIN_ADD = 1,
	WK_PIN_DEL,
	WK_REPLY,
	WK_STATUS,
	WK_PROXY,
	WK_POLICY,
};

/**
 * struct wk_pin - one pin of a WK_PIN_ADD or WK_PIN_DEL request
 * @rule:	1-based index of the domain allow rule whose set it goes into
 * @af:		AF_INET or AF_INET6
 * @namelen:	length of @name
 * @timeout:	seconds (WK_PIN_ADD)
 * @addr:	address, network order
 * @name:	the name it was resolved for, normalised, NUL-terminated
 */
struct wk_pin {
	uint16_t rule;
	uint8_t af;
	uint8_t namelen;
	uint32_t timeout;
	uint8_t addr[16];
	char name[256];
};

/**
 * struct wk_hdr - every message's header
 * @type:	enum wk_msg_type
 * @n:		entries that follow (pins), or 0
 * @seq:	sequence number; a reply carries its request's
 * @status:	in a reply: 0 or -errno (or a count, for WK_POLICY); in
 *		WK_PROXY, what to do
 */
struct wk_hdr {
	uint16_t type;
	uint16_t n;
	uint32_t seq;
	int32_t status;
};

#define WK_MSG_MAX	(sizeof(struct wk_hdr) + NFT_PIN_BATCH_MAX * sizeof(struct wk_pin))

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
 */
struct wk_spec {
	const struct moat_config *c;
	const struct sb_state *s;
	const struct policy *pol;
	const struct dns *pins;
	struct wk_shared *sh;
	bool has_dns;
	bool proxy;
};

struct wk_shared *worker_shared_map(void);
void worker_shared_unmap(struct wk_shared *sh);
int worker_start(const struct wk_spec *ws, struct wk_handle *h, char **err);
void worker_stop(struct wk_handle *h);
void worker_close(struct wk_handle *h);
int worker_request(struct wk_handle *h, uint16_t type, int32_t arg32, int fd,
		   void (*serve)(void *arg), void *arg, int timeout_ms,
		   int32_t *status);
ssize_t worker_pins_recv(int fd, struct wk_hdr *hdr, struct nft_pin *pins,
			 char (*names)[256]);
void worker_reply(int fd, uint32_t seq, int32_t status);
json_t *worker_status(const struct wk_shared *sh, const struct sb_state *s,
		      bool has_dns, json_t *log);

#endif /* MOAT_WORKER_H */
