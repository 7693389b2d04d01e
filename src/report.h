/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * report.h - the report of "moat verify": one row per probe or audit check
 */
#ifndef MOAT_REPORT_H
#define MOAT_REPORT_H

#include <jansson.h>

#include "common.h"

/**
 * struct report_row - one line of the report: a probe or an audit check
 * @check:	what was checked ("host 10.0.0.1 tcp/22", "ruleset: ...")
 * @from:	where from: a canary's name, or "ruleset"
 * @inv:	the invariant it checks, "I1".."I10", or "-"
 * @expected:	what it should observe ("blocked", "reached", ...)
 * @observed:	what it observed
 * @ok:		whether that matches
 * @warn:	a warning: not a breach (@ok is true), but worth the
 *		operator's attention (report_warn())
 */
struct report_row {
	char check[160];
	char from[64];
	char inv[8];
	char expected[32];
	char observed[200];
	bool ok;
	bool warn;
};

/**
 * struct report - the whole report
 * @rows:	lines, in order
 * @n:		their number
 * @cap:	allocated
 * @mode:	"live" or "simulate"
 */
struct report {
	struct report_row *rows;
	size_t n;
	size_t cap;
	const char *mode;
};

void report_add(struct report *r, bool ok, const char *inv,
		const char *from, const char *check, const char *expected,
		const char *fmt, ...) PRINTF_FMT(7, 8);
void report_warn(struct report *r, const char *inv, const char *from,
		 const char *check, const char *expected,
		 const char *fmt, ...) PRINTF_FMT(6, 7);
size_t report_breaches(const struct report *r);
size_t report_warnings(const struct report *r);
json_t *report_json(const struct report *r);
void report_print(const struct report *r, FILE *f);
void report_free(struct report *r);

#endif /* MOAT_REPORT_H */
