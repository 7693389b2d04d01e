/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * audit.h - the ruleset audit of "moat verify"
 */
#ifndef MOAT_AUDIT_H
#define MOAT_AUDIT_H

#include "report.h"
#include "state.h"

int audit_ruleset(const struct moat_config *c, struct report *r);

#endif /* MOAT_AUDIT_H */
