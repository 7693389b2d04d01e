/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * hostfw.h - the host's other firewalls: forward chains that drop
 */
#ifndef MOAT_HOSTFW_H
#define MOAT_HOSTFW_H

#include <jansson.h>

#include "report.h"

/* hostfw_prepare()'s answer when a foreign chain would drop the traffic */
#define HOSTFW_REFUSED	1

int hostfw_prepare(bool allow_foreign_drop);
size_t hostfw_audit(struct report *r, json_t *doc);

#endif /* MOAT_HOSTFW_H */
