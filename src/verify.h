/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * verify.h - "moat verify": the isolation canary and the ruleset audit
 */
#ifndef MOAT_VERIFY_H
#define MOAT_VERIFY_H

#include <jansson.h>

#include "common.h"
#include "state.h"

/**
 * struct vrow - one line of the report: a probe or an audit check
 * @check:	what was checked ("host 10.0.0.1 tcp/22", "ruleset: ...")
 * @from:	where from: a canary's name, or "ruleset"
 * @inv:	the invariant it checks (SPEC §2), "I1".."I7", or "-"
 * @expected:	what it should observe ("blocked", "reached", ...)
 * @observed:	what it observed
 * @ok:		whether that matches
 * @warn:	a warning: not a breach (@ok is true), but worth the
 *		operator's attention (vreport_warn())
 */
struct vrow {
	char check[160];
	char from[64];
	char inv[8];
	char expected[32];
	char observed[200];
	bool ok;
	bool warn;
};

/**
 * struct vreport - the whole report
 * @rows:	lines, in order
 * @n:		their number
 * @cap:	allocated
 * @mode:	"live" or "simulate"
 */
struct vreport {
	struct vrow *rows;
	size_t n;
	size_t cap;
	const char *mode;
};

void vreport_add(struct vreport *r, bool ok, const char *inv,
		 const char *from, const char *check, const char *expected,
		 const char *fmt, ...) PRINTF_FMT(7, 8);
void vreport_warn(struct vreport *r, const char *inv, const char *from,
		  const char *check, const char *expected,
		  const char *fmt, ...) PRINTF_FMT(6, 7);
size_t vreport_breaches(const struct vreport *r);
size_t vreport_warnings(const struct vreport *r);
json_t *vreport_json(const struct vreport *r);
void vreport_free(struct vreport *r);

int audit_ruleset(const struct moat_config *c, struct vreport *r);

int verify_main(int argc, char **argv);

#endif /* MOAT_VERIFY_H */
