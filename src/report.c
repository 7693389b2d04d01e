// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * report.c - the report of "moat verify": rows, verdict, table and JSON
 *
 * Theory of operation
 * -------------------
 * Both halves of a verification write into one struct report: the probes
 * from the canaries (verify.c) and the checks of the ruleset audit
 * (audit.c). A row says what was checked, from where, which invariant it
 * is about, what was expected and what was observed, and whether that
 * matched; a warning (report_warn()) is a row that matched but that the
 * operator should read. Rows are fixed-size records (long texts are cut)
 * in an array that doubles as it grows.
 *
 * The verdict is the number of rows that did not match (breaches);
 * warnings never change it. The report is printed either as a table with
 * a count by invariant and a last line ("isolation holds" or "ISOLATION
 * BREACHED"), or as one JSON document (mode, time, counts, rows), which
 * is also what --on-fail commands read.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "report.h"

#define REPORT_ROWS_FIRST	64	/* rows allocated at the first one */

/**
 * report_add() - add a line to a report
 * @r:		report
 * @ok:		whether it matched
 * @inv:	invariant
 * @from:	where from
 * @check:	what
 * @expected:	expected result
 * @fmt:	observed result
 */
void report_add(struct report *r, bool ok, const char *inv, const char *from,
		const char *check, const char *expected, const char *fmt, ...)
{
	struct report_row *row;
	va_list ap;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : REPORT_ROWS_FIRST;
		r->rows = xrealloc(r->rows, r->cap * sizeof(*r->rows));
	}
	row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->ok = ok;
	snprintf(row->inv, sizeof(row->inv), "%s", inv);
	snprintf(row->from, sizeof(row->from), "%s", from);
	snprintf(row->check, sizeof(row->check), "%s", check);
	snprintf(row->expected, sizeof(row->expected), "%s", expected);
	va_start(ap, fmt);
	vsnprintf(row->observed, sizeof(row->observed), fmt, ap);
	va_end(ap);
}

/**
 * report_warn() - add a warning to a report: a line that is not a breach
 * @r:		report
 * @inv:	invariant
 * @from:	where from
 * @check:	what
 * @expected:	expected result
 * @fmt:	observed result
 */
void report_warn(struct report *r, const char *inv, const char *from,
		 const char *check, const char *expected, const char *fmt, ...)
{
	struct report_row *row;
	va_list ap;

	report_add(r, true, inv, from, check, expected, "%s", "");
	row = &r->rows[r->n - 1];
	row->warn = true;
	va_start(ap, fmt);
	vsnprintf(row->observed, sizeof(row->observed), fmt, ap);
	va_end(ap);
}

/**
 * report_warnings() - lines that are warnings
 * @r:		report
 *
 * Return: their number
 */
size_t report_warnings(const struct report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->rows[i].warn;
	return n;
}

/**
 * report_breaches() - lines that did not match
 * @r:		report
 *
 * Return: their number
 */
size_t report_breaches(const struct report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += !r->rows[i].ok;
	return n;
}

/**
 * report_json() - the report as one JSON document
 * @r:		report
 *
 * Return: new reference
 */
json_t *report_json(const struct report *r)
{
	json_t *rows = json_array();
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < r->n; i++) {
		const struct report_row *w = &r->rows[i];

		json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}",
			"check", w->check, "from", w->from, "invariant", w->inv,
			"expected", w->expected, "observed", w->observed,
			"ok", w->ok, "warning", w->warn));
	}
	return json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:o}", "mode", r->mode,
			 "time", ts, "ok", report_breaches(r) == 0,
			 "checks", (json_int_t)r->n,
			 "breaches", (json_int_t)report_breaches(r),
			 "warnings", (json_int_t)report_warnings(r), "rows", rows);
}

/**
 * report_free() - release a report's lines
 * @r:		report
 */
void report_free(struct report *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = r->cap = 0;
}

/**
 * report_print() - the report as a table, then a count by invariant
 * @r:		report
 * @f:		output
 */
void report_print(const struct report *r, FILE *f)
{
	static const char *const invs[] = { "I1", "I2", "I3", "I4", "I5",
					    "I6", "I7", "-" };
	int wc = 5, wf = 4, we = 8, wo = 8;
	size_t i, k, bad = report_breaches(r);

	for (i = 0; i < r->n; i++) {
		const struct report_row *w = &r->rows[i];

		if ((int)strlen(w->check) > wc)
			wc = (int)strlen(w->check);
		if ((int)strlen(w->from) > wf)
			wf = (int)strlen(w->from);
		if ((int)strlen(w->expected) > we)
			we = (int)strlen(w->expected);
		if ((int)strlen(w->observed) > wo && strlen(w->observed) < 24)
			wo = (int)strlen(w->observed);
	}
	fprintf(f, "%-*s  %-*s  %-3s  %-*s  %-*s  %s\n", wc, "PROBE", wf, "FROM",
		"INV", we, "EXPECTED", wo, "OBSERVED", "VERDICT");
	for (i = 0; i < r->n; i++) {
		const struct report_row *w = &r->rows[i];

		fprintf(f, "%-*s  %-*s  %-3s  %-*s  %-*s  %s\n", wc, w->check,
			wf, w->from, w->inv, we, w->expected, wo, w->observed,
			!w->ok ? "BREACH" : w->warn ? "WARNING" : "ok");
	}
	fprintf(f, "\nby invariant:");
	for (k = 0; k < ARRAY_SIZE(invs); k++) {
		size_t n = 0, okn = 0;

		for (i = 0; i < r->n; i++) {
			if (strcmp(r->rows[i].inv, invs[k]))
				continue;
			n++;
			okn += r->rows[i].ok;
		}
		if (n)
			fprintf(f, " %s %zu/%zu", strcmp(invs[k], "-") ? invs[k] :
				"ruleset", okn, n);
	}
	if (report_warnings(r))
		fprintf(f, "\n%zu checks, %zu breaches, %zu warnings: %s\n",
			r->n, bad, report_warnings(r),
			bad ? "ISOLATION BREACHED" : "isolation holds");
	else
		fprintf(f, "\n%zu checks, %zu breaches: %s\n", r->n, bad,
			bad ? "ISOLATION BREACHED" : "isolation holds");
}
