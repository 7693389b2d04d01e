/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * err.h - located error records (collected, then printed together, as
 * nftables does) and one-line diagnostics on stderr.
 */
#ifndef MOAT_ERR_H
#define MOAT_ERR_H

#include <stdarg.h>

#include "common.h"

/**
 * struct errrec - one located error
 * @file:	file name, or a pseudo-source such as "--allow"; may be NULL
 * @line:	1-based line, 0 if not applicable
 * @col:	1-based column, 0 if not applicable
 * @msg:	message, without location and without trailing newline
 */
struct errrec {
	char *file;
	unsigned line;
	unsigned col;
	char *msg;
};

/**
 * struct errlist - errors collected while parsing or compiling
 * @recs:	records, in the order they were found
 * @n:		number of records
 * @cap:	allocated records
 */
struct errlist {
	struct errrec *recs;
	size_t n;
	size_t cap;
};

void errlist_add(struct errlist *el, const char *file, unsigned line,
		 unsigned col, const char *fmt, ...) PRINTF_FMT(5, 6);
void errlist_vadd(struct errlist *el, const char *file, unsigned line,
		  unsigned col, const char *fmt, va_list ap) PRINTF_FMT(5, 0);
void errlist_print(const struct errlist *el, FILE *f);
void errlist_free(struct errlist *el);

void msg_err(const char *fmt, ...) PRINTF_FMT(1, 2);
void msg_warn(const char *fmt, ...) PRINTF_FMT(1, 2);
void msg_debug(const char *fmt, ...) PRINTF_FMT(1, 2);
void msg_debug_step(const char *what);

extern bool msg_verbose;
extern const char *msg_prog;

#endif /* MOAT_ERR_H */
