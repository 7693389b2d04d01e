/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * common.h - small helpers shared by every file: cleanup attributes for
 * file descriptors and heap memory, array sizing, exit statuses.
 */
#ifndef MOAT_COMMON_H
#define MOAT_COMMON_H

#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit statuses (SPEC §6), documented in moat(1) */
#define MOAT_EXIT_OK		0
#define MOAT_EXIT_POLICY	1	/* policy or verification failure */
#define MOAT_EXIT_USAGE		2	/* bad command line */
#define MOAT_EXIT_FAILURE	125	/* moat itself failed */

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define MOAT_NAME_MAX		48	/* sandbox name length, without NUL */

/**
 * cleanup_freep() - free() the pointer a cleanup variable points to
 * @p:		address of the pointer
 */
static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

/**
 * cleanup_closep() - close() a file descriptor held by a cleanup variable
 * @fd:		address of the descriptor, ignored if negative
 */
static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/**
 * cleanup_fclosep() - fclose() a stream held by a cleanup variable
 * @f:		address of the stream pointer, ignored if NULL
 */
static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define autofree	__attribute__((cleanup(cleanup_freep)))
#define autoclose	__attribute__((cleanup(cleanup_closep)))
#define autofclose	__attribute__((cleanup(cleanup_fclosep)))

/**
 * steal_fd() - take ownership of a descriptor out of an autoclose variable
 * @fd:		address of the descriptor
 *
 * Return: the descriptor; *@fd is set to -1
 */
static inline int steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/**
 * steal_ptr() - take ownership of a pointer out of an autofree variable
 * @pp:		address of the pointer
 *
 * Return: the pointer; *@pp is set to NULL
 */
static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;

	*p = NULL;
	return r;
}

#define PRINTF_FMT(a, b)	__attribute__((format(printf, a, b)))

void die_oom(void) __attribute__((noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF_FMT(1, 2);

#endif /* MOAT_COMMON_H */
