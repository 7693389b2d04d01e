/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * stats.h - "moat stats": counters by reason, supervisor counters,
 * Prometheus text exposition, a /metrics endpoint
 */
#ifndef MOAT_STATS_H
#define MOAT_STATS_H

#include <jansson.h>

#include "common.h"

int stats_prometheus(json_t *doc, FILE *f);
void stats_text(json_t *doc, FILE *f);
int stats_command(int argc, char **argv);

#endif /* MOAT_STATS_H */
