/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * adopt.h - a new supervisor for a sandbox whose supervisor died (adopt.c)
 */
#ifndef MOAT_ADOPT_H
#define MOAT_ADOPT_H

#include "state.h"

#define ADOPT_RESTORE_WAIT_MS	5000	/* for the new supervisor's guard */

/**
 * enum adopt_result - what became of one sandbox
 */
enum adopt_result {
	ADOPT_DONE = 0,		/* it has a new supervisor */
	ADOPT_NONE,		/* with --all: its supervisor runs (again) */
	ADOPT_REFUSED,		/* not adoptable as it is; nothing changed */
	ADOPT_FAILED,		/* the supervisor did not start, or its record
				 * could not be written; nothing changed */
};

enum adopt_result adopt_one(const struct moat_config *c, const char *name,
			    bool all);

#endif /* MOAT_ADOPT_H */
