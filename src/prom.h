/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * prom.h - the stats document in the Prometheus text exposition format
 */
#ifndef MOAT_PROM_H
#define MOAT_PROM_H

#include <jansson.h>

#include "common.h"

int prom_text(json_t *doc, FILE *f);

#endif /* MOAT_PROM_H */
