/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * fwd_internal.h - what the relays (fwd.c) and the transparent proxy's
 * connections (fwd_proxy.c) share, beyond fwd.h: each file's functions the
 * other calls, documented where they are defined
 */
#ifndef MOAT_FWD_INTERNAL_H
#define MOAT_FWD_INTERNAL_H

#include <sys/socket.h>

#include "fwd.h"

/* fwd.c: the relay machinery */
socklen_t fwd_sockaddr(const struct prefix *p, uint16_t port,
		       struct sockaddr_storage *sa);
uint64_t fwd_ref(enum sv_ref_type type, unsigned idx, unsigned side, int fd);
void fwd_tcp_bufs(int fd);
void fwd_reset(int fd);
int fwd_pipe_get(struct fwd *f, int p[2]);
struct fwd_tcp *fwd_slot(struct fwd *f, unsigned *idx);
uint32_t fwd_tcp_want(const struct fwd_tcp *t, int k);
void fwd_tcp_events(struct fwd *f, struct fwd_tcp *t, unsigned idx);
void fwd_tcp_close(struct fwd *f, struct fwd_tcp *t);

/* fwd_proxy.c: where a proxied connection differs */
void fwd_proxy_accept(struct fwd *f, unsigned k);
int fwd_proxy_sniff(struct fwd *f, struct fwd_tcp *t, unsigned idx);
int fwd_proxy_flush(struct fwd *f, struct fwd_tcp *t);
bool fwd_proxy_follows(struct fwd_tcp *t, int from);
ssize_t fwd_proxy_read(struct fwd *f, int from, struct fwd_dir *d,
		       struct fwd_tcp *t);
void fwd_proxy_count(struct fwd *f, struct fwd_tcp *t, enum proxy_reason r,
		     const char *name);
void fwd_proxy_refuse(struct fwd *f, struct fwd_tcp *t, enum proxy_reason r,
		      const char *name);
void fwd_proxy_recverr(int fd, int family, bool on);
void fwd_proxy_connect_failed(struct fwd *f, struct fwd_tcp *t);
size_t fwd_proxy_policy_update(struct fwd *f,
			       bool (*keep)(const struct prefix *dst,
					    uint16_t port, void *arg),
			       void *arg);

#endif /* MOAT_FWD_INTERNAL_H */
