/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * logs.h - reading a sandbox's log: "moat logs" and the summary of "moat run"
 */
#ifndef MOAT_LOGS_H
#define MOAT_LOGS_H

#include <jansson.h>

#include "common.h"

#define LOG_SUMMARY_LINES	10	/* destinations "moat run" lists */
#define LOG_SUMMARY_KEYS	4096	/* destinations it counts apart */

void logs_format_text(json_t *rec, FILE *f);
unsigned long logs_summary(const char *dir, const char *name, FILE *f);
int cmd_logs(int argc, char **argv);

#endif /* MOAT_LOGS_H */
