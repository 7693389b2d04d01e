/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * log.h - a sandbox's decision log: denied flows from NFLOG, events from
 * the supervisor's services, a bounded file, the archive of removed ones
 *
 * For the DNS interceptor and the proxy (or anything else in the
 * supervisor) that wants a decision in "moat logs":
 *
 *	log_event(&sv->log, "dns", "name", qname, "qtype", "AAAA",
 *		  "action", "nxdomain", "reason", "rule:3", NULL);
 *	log_event(&sv->log, "proxy", "proto", "tcp", "src", "10.231.0.2",
 *		  "dst", "151.101.1.1", "port", "443", "name", sni,
 *		  "action", "refused", "reason", "sni-not-pinned", NULL);
 *
 * Arguments after @kind are key/value string pairs ending with NULL. Well
 * known keys, shown in columns by "moat logs": "proto", "src", "dst",
 * "port" (decimal; stored as a number), "reason"; every other pair is
 * printed after them as key=value, and all go to --json unchanged. The
 * time is added. Values may hold any bytes (they are escaped on output).
 * Events are rate-limited (LOG_EVENT_RATE a second, burst LOG_EVENT_BURST;
 * the excess is counted as "suppressed" in the status), and never block.
 */
#ifndef MOAT_LOG_H
#define MOAT_LOG_H

#include <time.h>
#include <netinet/in.h>

#include <jansson.h>

#include "common.h"

#define LOG_FILE		"log.jsonl"	/* in the sandbox's state dir */
#define LOG_FILE_OLD		"log.jsonl.1"	/* the previous one */
#define LOG_MAX_BYTES_DEFAULT	(1024 * 1024)	/* each of the two files */
#define LOG_MAX_BYTES_MIN	1024
#define LOG_EVENT_RATE		50
#define LOG_EVENT_BURST		100
#define LOG_TIME_LEN		64	/* log_time_str()'s buffer */
#define LOG_RECORD_MAX		8192	/* one record's line: the most a worker
					 * may hand its core */

/* logs of removed sandboxes: RUN_DIR/LOG_ARCHIVE_DIR/NAME/ */
#define LOG_ARCHIVE_DIR		"logs"
#define LOG_ARCHIVE_MAX_BYTES_DEFAULT	(16ULL * 1024 * 1024)
#define LOG_ARCHIVE_MAX_AGE_DEFAULT	(7ULL * 24 * 3600)	/* seconds */

/**
 * struct log - a sandbox's log, owned by its supervisor
 * @path:	current file
 * @path_old:	rotated file
 * @fd:		current file, O_APPEND, or -1
 * @size:	its size
 * @max:	size at which it is rotated
 * @nl:		NFLOG socket (struct mnl_socket), or NULL
 * @nl_fd:	its descriptor, or -1
 * @group:	NFLOG group, 0 if none
 * @nl_err:	why NFLOG is not read, "" if it is
 * @tokens:	event bucket
 * @last:	last refill, CLOCK_MONOTONIC
 * @records:	records written
 * @denials:	NFLOG denials received
 * @suppressed:	events over the rate, dropped
 * @lost:	NFLOG messages the kernel could not queue (ENOBUFS)
 * @rotations:	files rotated
 * @errors:	write errors
 * @sink:	a worker's log: @fd is the socket to its core
 */
struct log {
	char *path;
	char *path_old;
	int fd;
	off_t size;
	off_t max;
	void *nl;
	int nl_fd;
	unsigned group;
	char nl_err[128];
	double tokens;
	struct timespec last;
	uint64_t records;
	uint64_t denials;
	uint64_t suppressed;
	uint64_t lost;
	uint64_t rotations;
	uint64_t errors;
	bool sink;
};

int log_open(struct log *lg, const char *dir, unsigned group);
int log_open_sink(struct log *lg, int fd, unsigned group);
void log_write_line(struct log *lg, const char *line, size_t len);
void log_close(struct log *lg);
void log_event(struct log *lg, const char *kind, ...)
	__attribute__((sentinel));
void log_nflog_input(struct log *lg);
json_t *log_stats(const struct log *lg);

const char *log_proto_name(uint8_t proto, char *buf, size_t len);
const char *log_time_str(const struct timespec *ts, char *buf);

struct moat_config;
char *log_archive_dir(const struct moat_config *c, const char *name);
void log_archive(const struct moat_config *c, const char *name);
void log_archive_prune(const struct moat_config *c, const char *keep);

#endif /* MOAT_LOG_H */
