/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * stats.h - what each sandbox was allowed and denied: the counters in one
 * JSON document, and its text table
 */
#ifndef MOAT_STATS_H
#define MOAT_STATS_H

#include <jansson.h>

#include "common.h"
#include "state.h"

#define STATS_DEPTH_MAX		3	/* supervisor numbers: nesting shown */

int stats_collect(const struct moat_config *c, const char *only, json_t **doc);
void stats_text(json_t *doc, FILE *f);

#endif /* MOAT_STATS_H */
