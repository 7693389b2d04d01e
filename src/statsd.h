/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * statsd.h - "moat stats --listen": /metrics served by an unprivileged
 * process, collected by its root parent
 */
#ifndef MOAT_STATSD_H
#define MOAT_STATSD_H

#include <sys/socket.h>

#include "common.h"
#include "state.h"

int statsd_parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *sl, bool *loopback);
int statsd_serve(const struct moat_config *c, const char *only,
		 const char *addr, const struct sockaddr_storage *ss,
		 socklen_t sl);

#endif /* MOAT_STATSD_H */
