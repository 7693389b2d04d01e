// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * err.c - located error records and diagnostics
 *
 * Parsers and compilers never print: they append records to a struct
 * errlist with the place the problem was found, keep going to find the
 * next one, and the caller prints them all at once as
 * "FILE:LINE:COL: message" lines before failing as a whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "err.h"

#define ERRLIST_FIRST	8	/* records allocated at the first one */

bool msg_verbose;
const char *msg_prog = "moat";

/**
 * die_oom() - report memory exhaustion and exit with the failure status
 */
void die_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", msg_prog);
	exit(MOAT_EXIT_FAILURE);
}

/**
 * xmalloc() - malloc() that never returns NULL
 * @n:		bytes
 *
 * Return: the allocation
 */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom();
	return p;
}

/**
 * xcalloc() - calloc() that never returns NULL
 * @n:		members
 * @size:	size of one member
 *
 * Return: the zeroed allocation
 */
void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die_oom();
	return p;
}

/**
 * xrealloc() - realloc() that never returns NULL
 * @p:		previous allocation or NULL
 * @n:		new size in bytes
 *
 * Return: the allocation
 */
void *xrealloc(void *p, size_t n)
{
	void *r = realloc(p, n ? n : 1);

	if (!r)
		die_oom();
	return r;
}

/**
 * xstrdup() - strdup() that never returns NULL
 * @s:		string to copy
 *
 * Return: the copy
 */
char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		die_oom();
	return r;
}

/**
 * xasprintf() - vasprintf() into a new string that never fails
 * @fmt:	format
 *
 * Return: the formatted string, to be freed by the caller
 */
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	return s;
}

/**
 * errlist_add() - append a located error record
 * @el:		list to append to
 * @file:	source name, or NULL
 * @line:	1-based line, or 0
 * @col:	1-based column, or 0
 * @fmt:	message format
 */
void errlist_add(struct errlist *el, const char *file, unsigned line,
		 unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_vadd(el, file, line, col, fmt, ap);
	va_end(ap);
}

/**
 * errlist_vadd() - append a located error record, its message from a va_list
 * @el:		list to append to
 * @file:	source name, or NULL
 * @line:	1-based line, or 0
 * @col:	1-based column, or 0
 * @fmt:	message format
 * @ap:		its arguments
 */
void errlist_vadd(struct errlist *el, const char *file, unsigned line,
		  unsigned col, const char *fmt, va_list ap)
{
	struct errrec *r;

	if (el->n == el->cap) {
		el->cap = el->cap ? el->cap * 2 : ERRLIST_FIRST;
		el->recs = xrealloc(el->recs, el->cap * sizeof(*el->recs));
	}
	r = &el->recs[el->n++];
	r->file = file ? xstrdup(file) : NULL;
	r->line = line;
	r->col = col;
	if (vasprintf(&r->msg, fmt, ap) < 0)
		die_oom();
}

/**
 * errlist_print() - print every record, one line each
 * @el:		list
 * @f:		stream, normally stderr
 */
void errlist_print(const struct errlist *el, FILE *f)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		const struct errrec *r = &el->recs[i];

		if (r->file && r->line)
			fprintf(f, "%s:%u:%u: %s\n", r->file, r->line,
				r->col, r->msg);
		else if (r->file)
			fprintf(f, "%s: %s: %s\n", msg_prog, r->file, r->msg);
		else
			fprintf(f, "%s: %s\n", msg_prog, r->msg);
	}
}

/**
 * errlist_free() - release every record and reset the list
 * @el:		list
 */
void errlist_free(struct errlist *el)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		free(el->recs[i].file);
		free(el->recs[i].msg);
	}
	free(el->recs);
	el->recs = NULL;
	el->n = el->cap = 0;
}

/**
 * msg_vprint() - print one diagnostic line with the program prefix
 * @kind:	"error", "warning" or NULL for none
 * @fmt:	format
 * @ap:		arguments
 */
static __attribute__((format(printf, 2, 0))) void msg_vprint(const char *kind, const char *fmt, va_list ap)
{
	int saved = errno;

	fprintf(stderr, "%s: ", msg_prog);
	if (kind)
		fprintf(stderr, "%s: ", kind);
	errno = saved;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/**
 * msg_err() - print an error line on stderr
 * @fmt:	format, may use %m
 */
void msg_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(NULL, fmt, ap);
	va_end(ap);
}

/**
 * msg_warn() - print a warning line on stderr
 * @fmt:	format, may use %m
 */
void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint("warning", fmt, ap);
	va_end(ap);
}

/**
 * msg_debug() - print a debugging line on stderr when verbose
 * @fmt:	format, may use %m
 */
void msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (!msg_verbose)
		return;
	va_start(ap, fmt);
	msg_vprint("debug", fmt, ap);
	va_end(ap);
}

/**
 * msg_debug_step() - when verbose, print how long the step just done took
 * @what:	the step ("create: netns", say)
 *
 * The first call of a process measures from its first call, so callers
 * make one with what == NULL to start the clock.
 */
void msg_debug_step(const char *what)
{
	static struct timespec last;
	struct timespec now;

	if (!msg_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (what && last.tv_sec)
		msg_debug("%s: %.2f ms", what,
			  (double)(now.tv_sec - last.tv_sec) * 1e3 +
			  (double)(now.tv_nsec - last.tv_nsec) / 1e6);
	last = now;
}
