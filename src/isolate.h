/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * isolate.h - self-isolation of a sandbox's worker and core (see isolate.c)
 */
#ifndef MOAT_ISOLATE_H
#define MOAT_ISOLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nft.h"

/* Worker identities: sandbox N (interface moatN) runs its worker as
 * MOAT_WORKER_UID_BASE + 2N and opens its DNS upstream sockets as
 * MOAT_WORKER_UID_BASE + 2N + 1 (user and group IDs alike):
 * isolate_worker_ids(). systemd leaves 0x70000000-0x7fffffff unallocated;
 * moat takes 0x7e000000 up, MOAT_WORKER_UID_SPAN IDs.
 */
#define MOAT_WORKER_UID_BASE	NFT_WORKER_UID_BASE	/* nft.h */
#define MOAT_WORKER_UID_SPAN	0x20000U	/* 2 per index, 0..0xffff */

/**
 * struct isolate_worker_cfg - who a worker becomes
 * @uid:	its user ID (W): real, effective and filesystem
 * @gid:	its group ID
 * @dns_uid:	the saved user ID (D): setfsuid(@dns_uid) before socket(2)
 *		gives a socket that owner, setfsuid(@uid) returns
 * @dns_gid:	the saved group ID, for setfsgid() alike
 * @bind_tcp_port: the one TCP port the worker may still bind(2) once
 *		isolated (the proxy, started by a policy update), 0 for none:
 *		enforced by Landlock from ABI 4, else not at all
 */
struct isolate_worker_cfg {
	uid_t uid;
	gid_t gid;
	uid_t dns_uid;
	gid_t dns_gid;
	uint16_t bind_tcp_port;
};

/**
 * struct isolate_report - what the isolation could use on this kernel
 * @landlock_abi:	Landlock ABI version, 0 if Landlock is unavailable
 * @landlock_fs:	filesystem access denied by Landlock
 * @landlock_net:	TCP bind restricted by Landlock (ABI >= 4)
 * @landlock_scoped:	abstract unix sockets and signals scoped (ABI >= 6)
 * @syscalls:		system calls the seccomp filter allows
 * @unknown:		names in the allow-list this architecture lacks
 */
struct isolate_report {
	int landlock_abi;
	bool landlock_fs;
	bool landlock_net;
	bool landlock_scoped;
	unsigned syscalls;
	unsigned unknown;
};

void isolate_worker_ids(unsigned index, struct isolate_worker_cfg *c);
int isolate_worker(const struct isolate_worker_cfg *c,
		   struct isolate_report *r, const char **why);
int isolate_worker_root(const char **why);
int isolate_worker_creds(const struct isolate_worker_cfg *c,
			 const char **why);
int isolate_landlock(const struct isolate_worker_cfg *c,
		     struct isolate_report *r, const char **why);
int isolate_worker_seccomp(struct isolate_report *r, const char **why);
size_t isolate_worker_syscalls(const char *const **names);
const char *isolate_missing(const struct isolate_report *r, char *buf,
			    size_t len);

int isolate_core(const char **why);
uint64_t isolate_core_caps(void);

#endif /* MOAT_ISOLATE_H */
