/* SPDX-License-Identifier: GPL-2.0-or-later
 * moat - per-sandbox networks enforced by the host kernel
 *
 * policy_int.h - what the policy_*.c files share with each other, and
 * nothing else should use: storage helpers, the value parsers' location,
 * the printed forms of values
 */
#ifndef MOAT_POLICY_INT_H
#define MOAT_POLICY_INT_H

#include "policy.h"

/**
 * struct policy_where - where the text being parsed came from
 * @el:		error list
 * @file:	file name or pseudo-source such as "--allow 'x'"
 * @line:	1-based line, 0 for command-line items
 * @col:	1-based column, 0 for command-line items
 */
struct policy_where {
	struct errlist *el;
	const char *file;
	unsigned line;
	unsigned col;
};

/* policy.c: names as a policy writes them, indexed by enum value */
extern const char *const policy_net_mode_names[NET_NONE + 1];
extern const char *const policy_egress_default_names[EGRESS_ALLOW + 1];
extern const char *const policy_proto_names[PROTO_ICMP + 1];

int policy_name_lookup(const char *const *names, size_t n, const char *s);
const char *policy_intern(struct policy *p, const char *s);
void *policy_array_add(void *arr, size_t *n, size_t size);

/* policy_value.c */
void policy_werr(const struct policy_where *w, const char *fmt, ...)
	PRINTF_FMT(2, 3);
int policy_parse_port_range(const char *s, size_t len, struct port_range *r,
			    const struct policy_where *w);
void policy_ports_normalise(struct port_range *ports, size_t *n);
int policy_parse_proto(const char *s, enum proto *pr,
		       const struct policy_where *w);
bool policy_looks_like_address(const char *s);
int policy_parse_target(const char *s, struct rule *r,
			const struct policy_where *w);
int policy_rule_finish(struct rule *r, const struct policy_where *w);
bool policy_publish_conflict(const struct publish *a,
			     const struct publish *b);
const char *policy_pfx_text(const struct prefix *pfx, char *buf, size_t len);
const char *policy_target_text(const struct rule *r, char *buf, size_t len);
const char *policy_publish_text(const struct publish *pub, char *buf,
				size_t len);
const char *policy_rate_text(uint64_t bps, char *buf, size_t len);

#endif /* MOAT_POLICY_INT_H */
