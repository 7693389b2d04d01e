/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * svctl.h - client of a supervisor's control socket
 */
#ifndef MOAT_SVCTL_H
#define MOAT_SVCTL_H

#include <sys/un.h>

#include <jansson.h>

#include "state.h"

int svctl_addr(const struct moat_config *c, const char *name,
	       struct sockaddr_un *sun);
int svctl_request(const struct moat_config *c, const char *name,
		  const char *req, json_t **resp);

#endif /* MOAT_SVCTL_H */
