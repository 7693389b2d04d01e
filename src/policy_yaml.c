// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy_yaml.c - the strict YAML loader of policy files
 *
 * Theory of operation
 * -------------------
 * Loading is two passes over a small tree of our own.
 *
 * First, libyaml's event parser is turned into a tree of struct ynode, each
 * node carrying the 1-based line and column of its first character. The
 * event API, rather than libyaml's document loader, lets us refuse anchors,
 * aliases and tags where they appear (the document loader silently shares
 * aliased nodes, which is how "billion laughs" documents explode), stop at a
 * second document, and bound the nesting depth (YAML_DEPTH_MAX) so that
 * nothing afterwards needs an unbounded recursion. A syntax error ends this
 * pass: libyaml cannot resynchronise, and its problem mark is the error
 * reported.
 *
 * Second, the tree is checked and converted. A generic walk refuses
 * non-scalar and duplicate keys in every map, at any level, known or not.
 * Then one function per section of the format reads the keys it knows,
 * reports every other key, and converts values with small, strict helpers
 * (integers are decimal and plain, booleans are exactly true or false;
 * targets, ports, published ports and rates with the parsers of
 * policy_value.c). Every problem becomes one record in the caller's struct
 * errlist and the walk goes on, so that one run reports as many mistakes
 * as possible. The result is built in a private struct policy that
 * replaces the caller's only if no error at all was found: nothing is ever
 * half applied.
 *
 * The loader accepts everything the format describes, including what this
 * version cannot enforce: policy_check_supported() (policy_check.c)
 * refuses that separately, at the place it was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "policy.h"
#include "policy_int.h"

#define YAML_DEPTH_MAX		16		/* the format needs 5 */
#define TTL_LIMIT		86400		/* dns.ttl bounds, seconds */
#define LIST_MAX		16384		/* per list or map */

/* ------------------------------------------------------------------------
 * YAML tree
 */

enum ytype {
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
	Y_BAD,		/* refused (alias, NUL byte), already reported */
};

/**
 * struct ynode - a node of the YAML tree
 * @type:	kind of node
 * @line:	1-based line of its first character
 * @col:	1-based column of its first character
 * @str:	Y_SCALAR: value, NUL-terminated
 * @plain:	Y_SCALAR: written without quotes
 * @kids:	Y_SEQ: items; Y_MAP: key, value, key, value...
 * @n:		number of @kids
 * @dup_of:	a key repeating an earlier one: that earlier key
 */
struct ynode {
	enum ytype type;
	unsigned line;
	unsigned col;
	char *str;
	bool plain;
	struct ynode **kids;
	size_t n;
	const struct ynode *dup_of;
};

/**
 * struct loader - state of one load
 * @p:		policy being built
 * @el:		error list
 * @file:	file name, owned by @p
 * @nerr:	errors in @el before this load started
 */
struct loader {
	struct policy *p;
	struct errlist *el;
	const char *file;
	size_t nerr;
};

/**
 * ynode_new() - allocate a node
 * @type:	kind
 * @m:		libyaml mark of its first character (0-based)
 *
 * Return: the node
 */
static struct ynode *ynode_new(enum ytype type, const yaml_mark_t *m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

/**
 * ynode_free() - free a node and its descendants
 * @n:		node, or NULL
 *
 * The recursion is bounded by YAML_DEPTH_MAX.
 */
static void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/**
 * ynode_add() - append a child to a sequence or mapping node
 * @parent:	sequence or mapping
 * @kid:	new child
 */
static void ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (!(parent->n & (parent->n - 1)))
		parent->kids = xrealloc(parent->kids, (parent->n ? parent->n * 2
							      : 1) *
					sizeof(*parent->kids));
	parent->kids[parent->n++] = kid;
}

static void lerr(const struct loader *ld, const struct ynode *n,
		 const char *fmt, ...) PRINTF_FMT(3, 4);

/**
 * lerr() - add an error record at a node
 * @ld:		loader
 * @n:		node
 * @fmt:	message format
 */
static void lerr(const struct loader *ld, const struct ynode *n,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_vadd(ld->el, ld->file, n->line, n->col, fmt, ap);
	va_end(ap);
}

/**
 * lerr_mark() - add an error record at a libyaml mark
 * @ld:		loader
 * @m:		mark (0-based)
 * @msg:	message
 */
static void lerr_mark(const struct loader *ld, const yaml_mark_t *m,
		      const char *msg)
{
	errlist_add(ld->el, ld->file, (unsigned)m->line + 1,
		    (unsigned)m->column + 1, "%s", msg);
}

/**
 * offset_linecol() - line and column of a byte offset in the input
 * @buf:	input
 * @len:	input length
 * @off:	byte offset
 * @line:	1-based line
 * @col:	1-based column, counting UTF-8 characters
 */
static void offset_linecol(const char *buf, size_t len, size_t off,
			   unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/**
 * yaml_report() - report a libyaml parser failure
 * @ld:		loader
 * @ps:		parser in error state
 * @buf:	input
 * @len:	input length
 */
static void yaml_report(const struct loader *ld, const yaml_parser_t *ps,
			const char *buf, size_t len)
{
	const char *problem = ps->problem ? ps->problem : "unknown problem";
	unsigned line, col;

	switch (ps->error) {
	case YAML_MEMORY_ERROR:
		die_oom();
		break;
	case YAML_READER_ERROR:
		offset_linecol(buf, len, ps->problem_offset, &line, &col);
		if (ps->problem_value != -1)
			errlist_add(ld->el, ld->file, line, col,
				    "invalid input: %s (#x%X)", problem,
				    (unsigned)ps->problem_value);
		else
			errlist_add(ld->el, ld->file, line, col,
				    "invalid input: %s", problem);
		break;
	default:
		line = (unsigned)ps->problem_mark.line + 1;
		col = (unsigned)ps->problem_mark.column + 1;
		if (ps->context)
			errlist_add(ld->el, ld->file, line, col,
				    "syntax error: %s (%s started at %zu:%zu)",
				    problem, ps->context,
				    ps->context_mark.line + 1,
				    ps->context_mark.column + 1);
		else
			errlist_add(ld->el, ld->file, line, col,
				    "syntax error: %s", problem);
		break;
	}
}

/**
 * yaml_build() - parse YAML text into a tree of struct ynode
 * @ld:		loader
 * @buf:	input
 * @len:	input length
 * @root:	set to the root of the first document, or NULL if none
 *
 * Anchors, aliases and tags are reported and the walk goes on; a syntax
 * error, too deep a nesting or a second document ends it.
 *
 * Return: 0 if a tree could be built (it may hold refused nodes), -1 if
 *	   not (nothing to free)
 */
static int yaml_build(const struct loader *ld, const char *buf, size_t len,
		      struct ynode **root)
{
	struct ynode *stack[YAML_DEPTH_MAX];
	yaml_parser_t ps;
	size_t depth = 0;
	int ndocs = 0, ret = 0;
	bool done = false;

	*root = NULL;
	if (!yaml_parser_initialize(&ps))
		die_oom();
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);

	while (!done) {
		struct ynode *n = NULL;
		yaml_event_t ev;

		if (!yaml_parser_parse(&ps, &ev)) {
			yaml_report(ld, &ps, buf, len);
			ret = -1;
			break;
		}

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				lerr_mark(ld, &ev.start_mark,
					  "multiple YAML documents are not supported");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			lerr_mark(ld, &ev.start_mark,
				  "aliases are not supported");
			n = ynode_new(Y_BAD, &ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			n = ynode_new(Y_SCALAR, &ev.start_mark);
			if (memchr(ev.data.scalar.value, '\0',
				   ev.data.scalar.length)) {
				lerr(ld, n, "NUL character in a string");
				n->type = Y_BAD;
				break;
			}
			n->str = xstrdup((const char *)ev.data.scalar.value);
			n->plain = ev.data.scalar.style ==
				   YAML_PLAIN_SCALAR_STYLE;
			if (ev.data.scalar.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.scalar.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_SEQUENCE_START_EVENT:
			n = ynode_new(Y_SEQ, &ev.start_mark);
			if (ev.data.sequence_start.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.sequence_start.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_MAPPING_START_EVENT:
			n = ynode_new(Y_MAP, &ev.start_mark);
			if (ev.data.mapping_start.anchor)
				lerr(ld, n, "anchors are not supported (aliases are not supported)");
			if (ev.data.mapping_start.tag)
				lerr(ld, n, "tags are not supported");
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}

		if (n && !depth && *root) {
			ynode_free(n);	/* cannot happen: one document */
			n = NULL;
		}
		if (n) {
			if (depth)
				ynode_add(stack[depth - 1], n);
			else
				*root = n;

			if (n->type == Y_SEQ || n->type == Y_MAP) {
				if (depth == YAML_DEPTH_MAX) {
					lerr(ld, n, "nesting deeper than %d levels",
					     YAML_DEPTH_MAX);
					ret = -1;
					done = true;
				} else {
					stack[depth++] = n;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);

	if (ret) {
		ynode_free(*root);
		*root = NULL;
	}
	return ret;
}

/**
 * ykey_cmp() - qsort() comparison of key nodes: by text, then position
 * @a:		pointer to first node pointer
 * @b:		pointer to second node pointer
 *
 * Return: <0, 0 or >0
 */
static int ykey_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a;
	const struct ynode *y = *(struct ynode *const *)b;
	int c = strcmp(x->str, y->str);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->col > y->col) - (x->col < y->col);
}

/**
 * ycheck_keys() - refuse non-scalar and duplicate keys, at every level
 * @ld:		loader
 * @n:		node to check with all its descendants
 */
static void ycheck_keys(const struct loader *ld, struct ynode *n)
{
	struct ynode **keys;
	size_t i, nk = 0;

	if (n->type == Y_SEQ) {
		for (i = 0; i < n->n; i++)
			ycheck_keys(ld, n->kids[i]);
		return;
	}
	if (n->type != Y_MAP)
		return;

	keys = xcalloc(n->n / 2 + 1, sizeof(*keys));
	for (i = 0; i + 1 < n->n; i += 2) {
		struct ynode *k = n->kids[i];

		if (k->type == Y_SEQ || k->type == Y_MAP)
			lerr(ld, k, "keys must be plain strings, not %s",
			     k->type == Y_SEQ ? "lists" : "maps");
		else if (k->type == Y_SCALAR)
			keys[nk++] = k;
	}
	qsort(keys, nk, sizeof(*keys), ykey_cmp);
	for (i = 1; i < nk; i++) {
		if (!strcmp(keys[i]->str, keys[i - 1]->str))
			keys[i]->dup_of = keys[i - 1]->dup_of ?
					  keys[i - 1]->dup_of : keys[i - 1];
	}
	free(keys);

	for (i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i];

		if (k->dup_of)
			lerr(ld, k, "duplicate key '%.64s' (first at %u:%u)",
			     k->str, k->dup_of->line, k->dup_of->col);
		ycheck_keys(ld, n->kids[i + 1]);
	}
}

/**
 * yis_null() - tell a YAML null (empty value, "~" or "null")
 * @n:		node
 *
 * Return: true for a plain scalar that YAML reads as null
 */
static bool yis_null(const struct ynode *n)
{
	return n->type == Y_SCALAR && n->plain &&
	       (!*n->str || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
		!strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

/**
 * ytype_fail() - report a node of the wrong type
 * @ld:		loader
 * @n:		node
 * @path:	key path, such as "egress.rules"
 * @expected:	what was expected, such as "a list"
 */
static void ytype_fail(const struct loader *ld, const struct ynode *n,
		       const char *path, const char *expected)
{
	if (n->type == Y_BAD)
		return;
	if (n->type == Y_SEQ)
		lerr(ld, n, "%s: expected %s, found a list", path, expected);
	else if (n->type == Y_MAP)
		lerr(ld, n, "%s: expected %s, found a map", path, expected);
	else if (yis_null(n))
		lerr(ld, n, "%s: expected %s, found an empty value", path,
		     expected);
	else
		lerr(ld, n, "%s: expected %s, found '%.64s'", path, expected,
		     n->str);
}

/**
 * yexpect() - check the type of a node, reporting a mismatch
 * @ld:		loader
 * @n:		node
 * @type:	expected type
 * @path:	key path for the message
 *
 * Return: true if @n has type @type
 */
static bool yexpect(const struct loader *ld, const struct ynode *n,
		    enum ytype type, const char *path)
{
	static const char *const what[] = {
		[Y_SCALAR] = "a string",
		[Y_SEQ] = "a list",
		[Y_MAP] = "a map",
		[Y_BAD] = "?",
	};

	if (n->type == type && !(type == Y_SCALAR && yis_null(n)))
		return true;
	if (type == Y_SEQ && yis_null(n)) {
		lerr(ld, n, "%s: expected a list, found an empty value (write [] for none)",
		     path);
		return false;
	}
	if (type == Y_MAP && yis_null(n)) {
		lerr(ld, n, "%s: expected a map, found an empty value (write {} for none)",
		     path);
		return false;
	}
	ytype_fail(ld, n, path, what[type]);
	return false;
}

/**
 * ylist() - check that a node is a list of a sensible length
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 *
 * Return: true if @n is a list of at most LIST_MAX entries
 */
static bool ylist(const struct loader *ld, const struct ynode *n,
		  const char *path)
{
	if (!yexpect(ld, n, Y_SEQ, path))
		return false;
	if (n->n > LIST_MAX) {
		lerr(ld, n, "%s: more than %d entries", path, LIST_MAX);
		return false;
	}
	return true;
}

/**
 * ymap_get() - read the known keys of a map, reporting unknown ones
 * @ld:		loader
 * @map:	node that should be a map
 * @path:	key path of the map, "" at top level
 * @names:	known keys
 * @n:		number of known keys
 * @vals:	set to the value node of each known key, or NULL if absent
 *
 * Return: true if @map is a map
 */
static bool ymap_get(const struct loader *ld, const struct ynode *map,
		     const char *path, const char *const *names, size_t n,
		     const struct ynode **vals)
{
	size_t i, j;

	for (j = 0; j < n; j++)
		vals[j] = NULL;
	if (!yexpect(ld, map, Y_MAP, *path ? path : "policy"))
		return false;

	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i];

		if (k->type != Y_SCALAR || k->dup_of)
			continue;	/* reported by ycheck_keys() */
		for (j = 0; j < n; j++) {
			if (!strcmp(k->str, names[j]))
				break;
		}
		if (j < n) {
			vals[j] = map->kids[i + 1];
			continue;
		}

		{
			char list[256] = "";
			size_t len = 0;

			for (j = 0; j < n && len < sizeof(list); j++)
				len += (size_t)snprintf(list + len,
							sizeof(list) - len,
							"%s%s", j ? ", " : "",
							names[j]);
			if (*path)
				lerr(ld, k, "unknown key '%.64s' in %s (expected %s)",
				     k->str, path, list);
			else
				lerr(ld, k, "unknown key '%.64s' (expected %s)",
				     k->str, list);
		}
	}
	return true;
}

/**
 * ystr() - the text of a non-empty scalar, reporting anything else
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 *
 * Return: the text, or NULL after reporting an error
 */
static const char *ystr(const struct loader *ld, const struct ynode *n,
			const char *path)
{
	if (!yexpect(ld, n, Y_SCALAR, path))
		return NULL;
	return n->str;
}

/**
 * yint() - a plain decimal integer in a range
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @min:	smallest value allowed
 * @max:	largest value allowed
 * @out:	result
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int yint(const struct loader *ld, const struct ynode *n,
		const char *path, long long min, long long max, long long *out)
{
	const char *s, *d;
	long long v = 0;
	bool neg;

	if (!yexpect(ld, n, Y_SCALAR, path))
		return -1;
	s = n->str;
	neg = *s == '-';
	d = neg ? s + 1 : s;
	if (!n->plain || !*d || strspn(d, "0123456789") != strlen(d)) {
		if (n->plain)
			lerr(ld, n, "%s: expected a decimal integer, found '%.64s'",
			     path, s);
		else
			lerr(ld, n, "%s: expected an integer, found the quoted string '%.64s'",
			     path, s);
		return -1;
	}
	if (d[0] == '0' && d[1]) {
		lerr(ld, n, "%s: leading zeros are not allowed in '%.64s' (octal in YAML 1.1)",
		     path, s);
		return -1;
	}
	for (; *d; d++) {
		if (v > max + 1LL || v > LLONG_MAX / 20)
			break;
		v = v * 10 + (*d - '0');
	}
	if (neg)
		v = -v;
	if (*d || v < min || v > max) {
		lerr(ld, n, "%s: %.64s out of range %lld-%lld", path, s, min,
		     max);
		return -1;
	}
	*out = v;
	return 0;
}

/**
 * ybool() - exactly true or false, plain
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @out:	result
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int ybool(const struct loader *ld, const struct ynode *n,
		 const char *path, bool *out)
{
	static const char *const yaml11[] = {
		"yes", "no", "on", "off", "y", "n", "True", "False", "TRUE",
		"FALSE", "Yes", "No", "YES", "NO", "On", "Off", "ON", "OFF",
		"Y", "N",
	};

	if (!yexpect(ld, n, Y_SCALAR, path))
		return -1;
	if (n->plain && !strcmp(n->str, "true")) {
		*out = true;
		return 0;
	}
	if (n->plain && !strcmp(n->str, "false")) {
		*out = false;
		return 0;
	}
	if (n->plain && policy_name_lookup(yaml11, ARRAY_SIZE(yaml11), n->str) >= 0)
		lerr(ld, n, "%s: expected true or false, found '%s' (YAML 1.1 booleans are not accepted)",
		     path, n->str);
	else
		lerr(ld, n, "%s: expected true or false, found '%.64s'", path,
		     n->str);
	return -1;
}

/**
 * yenum() - one of a table of names
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @names:	table of names
 * @count:	entries in @names
 * @expected:	the names, for the message
 *
 * Return: index in @names, or -1 after reporting an error
 */
static int yenum(const struct loader *ld, const struct ynode *n,
		 const char *path, const char *const *names, size_t count,
		 const char *expected)
{
	const char *s = ystr(ld, n, path);
	int i;

	if (!s)
		return -1;
	i = policy_name_lookup(names, count, s);
	if (i < 0)
		lerr(ld, n, "%s: unknown value '%.64s' (expected %s)", path, s,
		     expected);
	return i;
}

/**
 * ywhere() - a struct policy_where for a node
 * @ld:		loader
 * @n:		node
 *
 * Return: the location
 */
static struct policy_where ywhere(const struct loader *ld,
				  const struct ynode *n)
{
	struct policy_where w = { ld->el, ld->file, n->line, n->col };

	return w;
}

/**
 * yloc() - a struct srcloc for a node
 * @ld:		loader
 * @n:		node
 *
 * Return: the location, with a file name owned by the policy
 */
static struct srcloc yloc(const struct loader *ld, const struct ynode *n)
{
	struct srcloc l = { ld->file, n->line, n->col };

	return l;
}

/* ------------------------------------------------------------------------
 * Sections of the policy
 */

/**
 * yports() - a rule's ports: a list of ports and "LO-HI" ranges
 * @ld:		loader
 * @n:		node
 * @r:		rule whose @ports and @nports are set, sorted and merged
 *
 * Return: 0 on success, -1 after reporting errors (nothing allocated)
 */
static int yports(const struct loader *ld, const struct ynode *n,
		  struct rule *r)
{
	struct port_range *ports = NULL;
	size_t i, np = 0;
	int ret = 0;

	if (n->type == Y_SCALAR && !yis_null(n)) {
		lerr(ld, n, "ports: expected a list, such as [%.64s]", n->str);
		return -1;
	}
	if (!yexpect(ld, n, Y_SEQ, "ports"))
		return -1;
	if (!n->n) {
		lerr(ld, n, "ports: empty list (leave ports out for all ports)");
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct policy_where w = ywhere(ld, it);
		struct port_range pr;

		if (it->type != Y_SCALAR || yis_null(it)) {
			ytype_fail(ld, it, "ports", "a port or a \"LO-HI\" range");
			ret = -1;
			continue;
		}
		if (policy_parse_port_range(it->str, strlen(it->str), &pr, &w)) {
			ret = -1;
			continue;
		}
		*(struct port_range *)policy_array_add(&ports, &np,
						       sizeof(*ports)) = pr;
	}
	if (ret) {
		free(ports);
		return -1;
	}
	r->ports = ports;
	r->nports = np;
	return 0;
}

/**
 * yrule() - one egress rule
 * @ld:		loader
 * @n:		node, should be a map
 */
static void yrule(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "allow", "deny", "ports",
					    "protocol" };
	struct rule r = { .proto = PROTO_ANY };
	const struct ynode *v[ARRAY_SIZE(keys)], *t;
	struct policy_where w;
	int ret = 0;

	if (!ymap_get(ld, n, "egress.rules item", keys, ARRAY_SIZE(keys),
		      v))
		return;

	if (v[0] && v[1]) {
		t = (v[0]->line > v[1]->line ||
		     (v[0]->line == v[1]->line && v[0]->col > v[1]->col)) ?
		    v[0] : v[1];
		lerr(ld, t, "a rule has either 'allow' or 'deny', not both; write two rules");
		return;
	}
	if (!v[0] && !v[1]) {
		lerr(ld, n, "a rule needs 'allow' or 'deny'");
		return;
	}
	t = v[0] ? v[0] : v[1];
	r.allow = !!v[0];
	w = ywhere(ld, t);
	if (!ystr(ld, t, r.allow ? "allow" : "deny") ||
	    policy_parse_target(t->str, &r, &w))
		ret = -1;
	r.loc = yloc(ld, t);

	if (v[3]) {
		int pr = yenum(ld, v[3], "protocol", policy_proto_names,
			       ARRAY_SIZE(policy_proto_names),
			       "tcp, udp, icmp or any");

		if (pr < 0)
			ret = -1;
		else
			r.proto = (enum proto)pr;
	}
	if (v[2] && yports(ld, v[2], &r))
		ret = -1;
	if (!ret) {
		w = ywhere(ld, v[2] ? v[2] : t);
		if (policy_rule_finish(&r, &w))
			ret = -1;
	}
	if (ret) {
		free(r.ports);
		return;
	}
	*(struct rule *)policy_array_add(&ld->p->rules, &ld->p->nrules,
					 sizeof(r)) = r;
}

/**
 * yegress() - the egress section
 * @ld:		loader
 * @n:		node
 */
static void yegress(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "default", "rules" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	size_t i;
	int d;

	if (!ymap_get(ld, n, "egress", keys, ARRAY_SIZE(keys), v))
		return;
	if (v[0]) {
		d = yenum(ld, v[0], "egress.default", policy_egress_default_names,
			  ARRAY_SIZE(policy_egress_default_names),
			  "public, deny or allow");
		if (d >= 0)
			ld->p->egress_default = (enum egress_default)d;
		ld->p->loc_default = yloc(ld, v[0]);
	}
	if (v[1] && ylist(ld, v[1], "egress.rules")) {
		for (i = 0; i < v[1]->n; i++)
			yrule(ld, v[1]->kids[i]);
	}
}

/**
 * yaccept() - one ingress.accept entry: a sandbox allowed to connect in
 * @ld:		loader
 * @n:		node, should be a map {from: sandbox:NAME, ports, protocol}
 *
 * Checked as a link rule is (policy_rule_finish()): one named sandbox,
 * its ports, tcp, udp or any.
 */
static void yaccept(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "from", "ports", "protocol" };
	struct rule r = { .allow = true, .proto = PROTO_ANY };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct policy_where w;
	int ret = 0;

	if (!ymap_get(ld, n, "ingress.accept item", keys, ARRAY_SIZE(keys),
		      v))
		return;
	if (!v[0]) {
		lerr(ld, n, "ingress.accept: an entry needs 'from: %sNAME'",
		     POLICY_LINK_PREFIX);
		return;
	}
	if (!ystr(ld, v[0], "ingress.accept.from"))
		return;
	w = ywhere(ld, v[0]);
	if (strncmp(v[0]->str, POLICY_LINK_PREFIX, strlen(POLICY_LINK_PREFIX))) {
		lerr(ld, v[0], "ingress.accept: from '%.64s' is not %sNAME: only a named sandbox can be accepted, never a group, an address or a wildcard",
		     v[0]->str, POLICY_LINK_PREFIX);
		return;
	}
	if (policy_parse_target(v[0]->str, &r, &w))
		ret = -1;
	r.loc = yloc(ld, v[0]);
	if (v[2]) {
		int pr = yenum(ld, v[2], "protocol", policy_proto_names,
			       ARRAY_SIZE(policy_proto_names),
			       "tcp, udp or any");

		if (pr < 0)
			ret = -1;
		else
			r.proto = (enum proto)pr;
	}
	if (v[1] && yports(ld, v[1], &r))
		ret = -1;
	if (!ret) {
		w = ywhere(ld, v[1] ? v[1] : v[0]);
		if (policy_rule_finish(&r, &w))
			ret = -1;
	}
	if (ret) {
		free(r.ports);
		return;
	}
	*(struct rule *)policy_array_add(&ld->p->accept, &ld->p->naccept,
					 sizeof(r)) = r;
}

/**
 * yingress() - the ingress section
 * @ld:		loader
 * @n:		node
 */
static void yingress(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "publish", "allow_from",
					    "accept" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct policy *p = ld->p;
	size_t i, j;

	if (!ymap_get(ld, n, "ingress", keys, ARRAY_SIZE(keys), v))
		return;

	if (v[0] && ylist(ld, v[0], "ingress.publish")) {
		const struct ynode **at = xcalloc(v[0]->n + 1, sizeof(*at));

		for (i = 0; i < v[0]->n; i++) {
			const struct ynode *it = v[0]->kids[i];
			struct publish pub;
			char buf[96];

			if (!ystr(ld, it, "ingress.publish"))
				continue;
			if (policy_parse_publish(it->str, &pub, ld->file,
						 it->line, it->col, ld->el))
				continue;
			for (j = 0; j < p->npublish; j++) {
				if (policy_publish_conflict(&p->publish[j], &pub))
					break;
			}
			if (j < p->npublish) {
				lerr(ld, it, "ingress.publish: '%s' %s '%s' at %u:%u",
				     policy_publish_text(&pub, buf, sizeof(buf)),
				     prefix_equal(&pub.bind,
						  &p->publish[j].bind) ?
				     "duplicates" : "conflicts with",
				     at[j]->str, at[j]->line, at[j]->col);
				continue;
			}
			at[p->npublish] = it;
			*(struct publish *)policy_array_add(&p->publish,
							    &p->npublish,
							    sizeof(pub)) = pub;
		}
		free(at);
	}

	if (v[1] && ylist(ld, v[1], "ingress.allow_from")) {
		for (i = 0; i < v[1]->n; i++) {
			const struct ynode *it = v[1]->kids[i];
			struct rule r = { 0 };
			struct policy_where w = ywhere(ld, it);

			if (!ystr(ld, it, "ingress.allow_from"))
				continue;
			if (!policy_looks_like_address(it->str)) {
				lerr(ld, it, "ingress.allow_from: '%.64s' is not an address or CIDR",
				     it->str);
				continue;
			}
			if (policy_parse_target(it->str, &r, &w))
				continue;
			for (j = 0; j < p->nallow_from; j++) {
				if (prefix_equal(&p->allow_from[j], &r.pfx))
					break;
			}
			if (j < p->nallow_from) {
				lerr(ld, it, "ingress.allow_from: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			*(struct prefix *)policy_array_add(&p->allow_from,
							   &p->nallow_from,
							   sizeof(r.pfx)) = r.pfx;
		}
	}
	if (v[2] && ylist(ld, v[2], "ingress.accept")) {
		for (i = 0; i < v[2]->n; i++)
			yaccept(ld, v[2]->kids[i]);
	}
}

/**
 * yaddress() - a single address, v4 or v6, no prefix length, no port
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @out:	result (/32 or /128)
 *
 * Return: 0 on success, -1 after reporting an error
 */
static int yaddress(const struct loader *ld, const struct ynode *n,
		    const char *path, struct prefix *out)
{
	const char *s = ystr(ld, n, path);

	if (!s)
		return -1;
	if (addr_parse(s, out)) {
		lerr(ld, n, "%s: '%.64s' is not an IPv4 or IPv6 address", path,
		     s);
		return -1;
	}
	return 0;
}

/**
 * ydns_records() - dns.records: name to address, or to a list of them
 * @ld:		loader
 * @n:		node
 */
static void ydns_records(const struct loader *ld, const struct ynode *n)
{
	struct policy *p = ld->p;
	size_t i, j, k;

	if (!yexpect(ld, n, Y_MAP, "dns.records"))
		return;
	if (n->n / 2 > LIST_MAX) {
		lerr(ld, n, "dns.records: more than %d entries", LIST_MAX);
		return;
	}
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *key = n->kids[i], *val = n->kids[i + 1];
		char name[POLICY_DOMAIN_MAX + 1];
		const char *why;
		size_t first;

		if (key->type != Y_SCALAR || key->dup_of)
			continue;
		if (names_normalise(key->str, name, sizeof(name), false, &why)) {
			lerr(ld, key, "dns.records: '%.64s' is not a valid domain name: %s",
			     key->str, why);
			continue;
		}
		for (j = 0; j < p->ndns_records; j++) {
			if (!strcmp(p->dns_records[j].name, name))
				break;
		}
		if (j < p->ndns_records) {
			lerr(ld, key, "dns.records: '%.64s' is the same name as an earlier record",
			     key->str);
			continue;
		}

		first = p->ndns_records;
		if (val->type == Y_SEQ) {
			if (!val->n || val->n > LIST_MAX) {
				lerr(ld, val, "dns.records: '%.64s' has %s list of addresses",
				     key->str, val->n ? "too long a" : "an empty");
				continue;
			}
			for (j = 0; j < val->n; j++) {
				struct dns_record rec;

				if (yaddress(ld, val->kids[j], "dns.records",
					     &rec.addr))
					continue;
				for (k = first; k < p->ndns_records; k++) {
					const struct dns_record *o;

					o = &p->dns_records[k];
					if (prefix_equal(&o->addr, &rec.addr))
						break;
				}
				if (k < p->ndns_records) {
					lerr(ld, val->kids[j], "dns.records: duplicate address '%.64s'",
					     val->kids[j]->str);
					continue;
				}
				memcpy(rec.name, name, sizeof(name));
				*(struct dns_record *)policy_array_add(&p->dns_records,
					&p->ndns_records, sizeof(rec)) = rec;
			}
		} else {
			struct dns_record rec;

			if (yaddress(ld, val, "dns.records", &rec.addr))
				continue;
			memcpy(rec.name, name, sizeof(name));
			*(struct dns_record *)policy_array_add(&p->dns_records,
				&p->ndns_records, sizeof(rec)) = rec;
		}
	}
	if (p->ndns_records)
		p->loc_dns_records = yloc(ld, n);
}

/**
 * ydns() - the dns section
 * @ld:		loader
 * @n:		node
 */
static void ydns(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "rebind_protection", "block",
					    "records", "upstream", "ttl" };
	static const char *const ttl_keys[] = { "min", "max" };
	const struct ynode *v[ARRAY_SIZE(keys)], *tv[ARRAY_SIZE(ttl_keys)];
	struct policy *p = ld->p;
	size_t i, j;

	if (!ymap_get(ld, n, "dns", keys, ARRAY_SIZE(keys), v))
		return;

	if (v[0])
		ybool(ld, v[0], "dns.rebind_protection", &p->rebind_protection);

	if (v[1] && ylist(ld, v[1], "dns.block")) {
		for (i = 0; i < v[1]->n; i++) {
			const struct ynode *it = v[1]->kids[i];
			char name[POLICY_DOMAIN_MAX + 3];
			const char *why;

			if (!ystr(ld, it, "dns.block"))
				continue;
			if (names_normalise(it->str, name, sizeof(name), true,
					    &why)) {
				lerr(ld, it, "dns.block: '%.64s' is not a valid domain name: %s",
				     it->str, why);
				continue;
			}
			for (j = 0; j < p->ndns_block; j++) {
				if (!strcmp(p->dns_block[j], name))
					break;
			}
			if (j < p->ndns_block) {
				lerr(ld, it, "dns.block: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			memcpy(policy_array_add(&p->dns_block, &p->ndns_block,
						sizeof(*p->dns_block)),
			       name, sizeof(name));
		}
		if (p->ndns_block)
			p->loc_dns_block = yloc(ld, v[1]);
	}

	if (v[2])
		ydns_records(ld, v[2]);

	if (v[3] && ylist(ld, v[3], "dns.upstream")) {
		for (i = 0; i < v[3]->n; i++) {
			const struct ynode *it = v[3]->kids[i];
			struct prefix a;

			if (yaddress(ld, it, "dns.upstream", &a))
				continue;
			for (j = 0; j < p->ndns_upstream; j++) {
				if (prefix_equal(&p->dns_upstream[j], &a))
					break;
			}
			if (j < p->ndns_upstream) {
				lerr(ld, it, "dns.upstream: duplicate entry '%.64s'",
				     it->str);
				continue;
			}
			*(struct prefix *)policy_array_add(&p->dns_upstream,
							   &p->ndns_upstream,
							   sizeof(a)) = a;
		}
		if (p->ndns_upstream)
			p->loc_dns_upstream = yloc(ld, v[3]);
	}

	if (v[4] && ymap_get(ld, v[4], "dns.ttl", ttl_keys,
			     ARRAY_SIZE(ttl_keys), tv)) {
		long long min = p->ttl_min, max = p->ttl_max;
		int ret = 0;

		if (tv[0])
			ret |= yint(ld, tv[0], "dns.ttl.min", 0, TTL_LIMIT,
				    &min);
		if (tv[1])
			ret |= yint(ld, tv[1], "dns.ttl.max", 0, TTL_LIMIT,
				    &max);
		if (!ret && min > max) {
			lerr(ld, tv[1] ? tv[1] : tv[0],
			     "dns.ttl: min %lld is greater than max %lld", min,
			     max);
		} else if (!ret) {
			p->ttl_min = (uint32_t)min;
			p->ttl_max = (uint32_t)max;
		}
	}
}

/**
 * ylimits() - the limits section
 * @ld:		loader
 * @n:		node
 */
static void ylimits(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "bandwidth", "connections",
					    "flows" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct policy *p = ld->p;
	long long c;

	if (!ymap_get(ld, n, "limits", keys, ARRAY_SIZE(keys), v))
		return;
	if (v[0] && ystr(ld, v[0], "limits.bandwidth")) {
		if (policy_parse_rate(v[0]->str, &p->bandwidth_bps))
			lerr(ld, v[0], "limits.bandwidth: bad rate '%.64s' (expected a number and a unit: bit, kbit, mbit, gbit, bps, kbps, mbps, gbps, as in 100mbit; or unlimited)",
			     v[0]->str);
		else if (p->bandwidth_bps)
			p->loc_bandwidth = yloc(ld, v[0]);
	}
	if (v[1] && !yint(ld, v[1], "limits.connections", 1, 65535, &c))
		p->connections = (uint32_t)c;
	if (v[2] && !yint(ld, v[2], "limits.flows", 1, POLICY_FLOWS_MAX, &c))
		p->flows = (uint32_t)c;
}

/**
 * ynames() - a list of host names and "*.suffix" patterns, no duplicates
 * @ld:		loader
 * @n:		node
 * @path:	key path for the message
 * @max:	most entries allowed
 * @out:	array the names are added to
 * @nout:	entries in @out
 *
 * Return: 0, or -1 after reporting errors (names that were good are kept)
 */
static int ynames(const struct loader *ld, const struct ynode *n,
		  const char *path, size_t max,
		  char (**out)[POLICY_DOMAIN_MAX + 3], size_t *nout)
{
	int ret = 0;
	size_t i, j;

	if (!ylist(ld, n, path))
		return -1;
	if (n->n > max) {
		lerr(ld, n, "%s: more than %zu names", path, max);
		return -1;
	}
	for (i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		char name[POLICY_DOMAIN_MAX + 3];
		const char *why;

		if (!ystr(ld, it, path)) {
			ret = -1;
			continue;
		}
		if (policy_looks_like_address(it->str)) {
			lerr(ld, it, "%s: '%.64s' is an address; moat intercepts names only",
			     path, it->str);
			ret = -1;
			continue;
		}
		if (names_normalise(it->str, name, sizeof(name), true, &why)) {
			lerr(ld, it, "%s: '%.64s' is not a valid domain name: %s",
			     path, it->str, why);
			ret = -1;
			continue;
		}
		for (j = 0; j < *nout; j++) {
			if (!strcmp((*out)[j], name))
				break;
		}
		if (j < *nout) {
			lerr(ld, it, "%s: duplicate entry '%.64s'", path,
			     it->str);
			ret = -1;
			continue;
		}
		memcpy(policy_array_add(out, nout, sizeof(**out)), name,
		       sizeof(name));
	}
	return ret;
}

/**
 * ysecret_name_ok() - a secret's name: an environment variable's name
 * @s:		name
 *
 * Return: true for [A-Za-z_][A-Za-z0-9_]*, at most SECRET_NAME_MAX bytes
 */
static bool ysecret_name_ok(const char *s)
{
	static const char first[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
	size_t len = strlen(s);

	if (!len || len > SECRET_NAME_MAX || !strchr(first, s[0]))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_") == len;
}

/**
 * ysecret_set() - a secret's "set": "Header-Name: text {secret} text"
 * @ld:		loader
 * @n:		node
 * @sec:	secret whose @set_header and @set_value are set
 *
 * Return: 0, or -1 after reporting an error
 */
static int ysecret_set(const struct loader *ld, const struct ynode *n,
		       struct secret *sec)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const char *s = ystr(ld, n, "secrets.set"), *colon, *v, *c, *at;
	autofree char *hdr = NULL;

	if (!s)
		return -1;
	if (strlen(s) > SECRET_SET_MAX) {
		lerr(ld, n, "secrets.set: longer than %d bytes", SECRET_SET_MAX);
		return -1;
	}
	colon = strchr(s, ':');
	if (!colon || colon == s || strspn(s, tchar) != (size_t)(colon - s)) {
		lerr(ld, n, "secrets.set: expected 'Header-Name: value with {secret}', found '%.64s'",
		     s);
		return -1;
	}
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (c = v; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			lerr(ld, n, "secrets.set: control characters are not allowed in a header's value");
			return -1;
		}
	}
	at = strstr(v, "{secret}");
	if (!at || strstr(at + 1, "{secret}")) {
		lerr(ld, n, "secrets.set: the value must hold '{secret}' exactly once, where moat puts the secret");
		return -1;
	}
	hdr = xasprintf("%.*s", (int)(colon - s), s);
	if (!strcasecmp(hdr, "host") || !strcasecmp(hdr, "content-length") ||
	    !strcasecmp(hdr, "transfer-encoding") ||
	    !strcasecmp(hdr, "connection")) {
		lerr(ld, n, "secrets.set: moat does not set '%s' (it frames or routes the request)",
		     hdr);
		return -1;
	}
	sec->set_header = policy_intern(ld->p, hdr);
	sec->set_value = policy_intern(ld->p, v);
	return 0;
}

/**
 * ysecret() - one entry of the secrets section
 * @ld:		loader
 * @n:		node, should be a map
 */
static void ysecret(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "name", "from_file", "from_env",
					    "hosts", "replace_in", "set" };
	static const char *const where[] = { "headers", "query", "body" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	struct secret sec = { .replace_in = SECRET_IN_HEADERS };
	struct policy *p = ld->p;
	int ret = 0;
	size_t i;

	if (!ymap_get(ld, n, "secrets item", keys, ARRAY_SIZE(keys), v))
		return;
	sec.loc = yloc(ld, n);

	if (!v[0]) {
		lerr(ld, n, "a secret needs a 'name'");
		ret = -1;
	} else if (ystr(ld, v[0], "secrets.name")) {
		if (!ysecret_name_ok(v[0]->str)) {
			lerr(ld, v[0], "secrets.name: '%.64s' is not a valid name (letters, digits and '_', not starting with a digit, at most %d: it names an environment variable)",
			     v[0]->str, SECRET_NAME_MAX);
			ret = -1;
		} else {
			for (i = 0; i < p->nsecrets; i++) {
				if (!strcmp(p->secrets[i].name, v[0]->str))
					break;
			}
			if (i < p->nsecrets) {
				lerr(ld, v[0], "secrets.name: '%s' is the name of an earlier secret",
				     v[0]->str);
				ret = -1;
			}
			snprintf(sec.name, sizeof(sec.name), "%s", v[0]->str);
		}
	} else {
		ret = -1;
	}

	if (v[1] && v[2]) {
		lerr(ld, v[2], "a secret has either 'from_file' or 'from_env', not both");
		ret = -1;
	} else if (!v[1] && !v[2]) {
		lerr(ld, n, "a secret needs 'from_file' (a file holding it) or 'from_env' (a variable of moat's environment); its value never goes in the policy");
		ret = -1;
	} else if (v[1]) {
		if (!ystr(ld, v[1], "secrets.from_file")) {
			ret = -1;
		} else if (v[1]->str[0] != '/' || strlen(v[1]->str) >= PATH_MAX) {
			lerr(ld, v[1], "secrets.from_file: '%.64s' is not an absolute path",
			     v[1]->str);
			ret = -1;
		} else {
			sec.source = policy_intern(p, v[1]->str);
		}
	} else {
		if (!ystr(ld, v[2], "secrets.from_env")) {
			ret = -1;
		} else if (!ysecret_name_ok(v[2]->str)) {
			lerr(ld, v[2], "secrets.from_env: '%.64s' is not an environment variable's name",
			     v[2]->str);
			ret = -1;
		} else {
			sec.from_env = true;
			sec.source = policy_intern(p, v[2]->str);
		}
	}

	if (!v[3]) {
		lerr(ld, n, "a secret needs 'hosts': the names allowed to receive it");
		ret = -1;
	} else if (ynames(ld, v[3], "secrets.hosts", SECRET_HOSTS_MAX,
			  &sec.hosts, &sec.nhosts)) {
		ret = -1;
	} else if (!sec.nhosts) {
		lerr(ld, v[3], "secrets.hosts: empty list (a secret nobody may receive is useless)");
		ret = -1;
	}

	if (v[4] && v[5]) {
		lerr(ld, v[5], "a secret has either 'replace_in' (its placeholder is replaced) or 'set' (moat sets a header), not both");
		ret = -1;
	} else if (v[4] && ylist(ld, v[4], "secrets.replace_in")) {
		sec.replace_in = 0;
		if (!v[4]->n) {
			lerr(ld, v[4], "secrets.replace_in: empty list (headers, query, body)");
			ret = -1;
		}
		for (i = 0; i < v[4]->n; i++) {
			int w = yenum(ld, v[4]->kids[i], "secrets.replace_in",
				      where, ARRAY_SIZE(where),
				      "headers, query or body");

			if (w < 0) {
				ret = -1;
			} else if (sec.replace_in & (1U << w)) {
				lerr(ld, v[4]->kids[i], "secrets.replace_in: duplicate entry '%s'",
				     where[w]);
				ret = -1;
			}
			if (w >= 0)
				sec.replace_in |= 1U << w;
		}
	} else if (v[4]) {
		ret = -1;
	} else if (v[5]) {
		sec.replace_in = 0;
		if (ysecret_set(ld, v[5], &sec))
			ret = -1;
	}

	if (ret) {
		free(sec.hosts);
		return;
	}
	*(struct secret *)policy_array_add(&p->secrets, &p->nsecrets,
					   sizeof(sec)) = sec;
}

/**
 * ysecrets() - the secrets section: a list of secrets
 * @ld:		loader
 * @n:		node
 */
static void ysecrets(const struct loader *ld, const struct ynode *n)
{
	size_t i;

	if (!ylist(ld, n, "secrets"))
		return;
	if (n->n > POLICY_SECRETS_MAX) {
		lerr(ld, n, "secrets: more than %d secrets", POLICY_SECRETS_MAX);
		return;
	}
	for (i = 0; i < n->n; i++)
		ysecret(ld, n->kids[i]);
}

/**
 * ytop() - the whole policy
 * @ld:		loader
 * @n:		root node
 */
static void ytop(const struct loader *ld, const struct ynode *n)
{
	static const char *const keys[] = { "version", "network", "egress",
					    "ingress", "dns", "limits",
					    "secrets", "intercept" };
	const struct ynode *v[ARRAY_SIZE(keys)];
	long long ver;
	int m;

	if (yis_null(n)) {
		lerr(ld, n, "the policy is empty (it needs at least 'version: 1')");
		return;
	}
	if (!ymap_get(ld, n, "", keys, ARRAY_SIZE(keys), v))
		return;

	if (!v[0])
		lerr(ld, n, "missing required key 'version' (add 'version: 1')");
	else if (!yint(ld, v[0], "version", 0, INT_MAX, &ver) && ver != 1)
		lerr(ld, v[0], "unsupported version %lld (this moat reads version 1)",
		     ver);

	if (v[1]) {
		m = yenum(ld, v[1], "network", policy_net_mode_names,
			  ARRAY_SIZE(policy_net_mode_names),
			  "none, restricted or filtered");
		if (m >= 0)
			ld->p->mode = (enum net_mode)m;
	}
	if (v[2])
		yegress(ld, v[2]);
	if (v[3])
		yingress(ld, v[3]);
	if (v[4])
		ydns(ld, v[4]);
	if (v[5])
		ylimits(ld, v[5]);
	if (v[6])
		ysecrets(ld, v[6]);
	if (v[7])
		ynames(ld, v[7], "intercept", LIST_MAX, &ld->p->intercept,
		       &ld->p->nintercept);
	if (ld->p->nsecrets && ld->p->mode != NET_FILTERED)
		lerr(ld, v[6], "secrets need network: filtered (moat's proxy puts them in)");

	if (ld->p->mode == NET_NONE && ld->p->npublish)
		lerr(ld, v[3], "ingress.publish needs a network interface, and network: none has none (use network: restricted)");
	if (ld->p->mode == NET_NONE && policy_has_links(ld->p)) {
		const struct rule *r = ld->p->naccept ? &ld->p->accept[0] : NULL;
		size_t k;

		for (k = 0; !r && k < ld->p->nrules; k++)
			if (ld->p->rules[k].kind == TARGET_SANDBOX)
				r = &ld->p->rules[k];
		if (r)
			errlist_add(ld->el, r->loc.file, r->loc.line,
				    r->loc.col,
				    "'%s': a link needs a network interface, and network: none has none",
				    r->domain);
	}
}

/**
 * policy_load_buf() - load a policy from YAML text
 * @p:		policy, initialised; its previous contents are released
 * @name:	file name for error locations
 * @buf:	YAML text
 * @len:	length of @buf
 * @el:		error list, each problem is added as FILE:LINE:COL
 *
 * Return: 0 on success, -1 if any error was found; @p is then empty
 *	   (policy_init() state) and owns nothing
 */
int policy_load_buf(struct policy *p, const char *name, const char *buf,
		    size_t len, struct errlist *el)
{
	struct loader ld = { .el = el, .nerr = el->n };
	struct ynode *root;
	struct policy tmp;

	policy_free(p);
	policy_init(&tmp);
	ld.p = &tmp;
	ld.file = policy_intern(&tmp, name ? name : "<policy>");

	if (!yaml_build(&ld, buf, len, &root)) {
		if (!root) {
			errlist_add(el, ld.file, 1, 1,
				    "the policy is empty (it needs at least 'version: 1')");
		} else {
			ycheck_keys(&ld, root);
			ytop(&ld, root);
		}
		ynode_free(root);
	}

	if (el->n != ld.nerr) {
		policy_free(&tmp);
		return -1;
	}
	*p = tmp;
	return 0;
}

/**
 * policy_load_file() - load a policy from a YAML file
 * @p:		policy, initialised; its previous contents are released
 * @path:	file name
 * @el:		error list
 *
 * Return: 0 on success, -1 if the file cannot be read or has errors
 */
int policy_load_file(struct policy *p, const char *path, struct errlist *el)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	autofree char *buf = NULL;
	size_t len = 0;
	struct stat st;

	policy_free(p);
	if (fd < 0 || fstat(fd, &st)) {
		errlist_add(el, path, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
	    !S_ISCHR(st.st_mode)) {
		errlist_add(el, path, 0, 0, "not a regular file");
		return -1;
	}

	buf = xmalloc(POLICY_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, POLICY_FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errlist_add(el, path, 0, 0, "cannot read: %s",
				    strerror(errno));
			return -1;
		}
		if (!r)
			break;
		len += (size_t)r;
		if (len > POLICY_FILE_MAX) {
			errlist_add(el, path, 0, 0,
				    "larger than %d bytes, not a policy",
				    POLICY_FILE_MAX);
			return -1;
		}
	}
	return policy_load_buf(p, path, buf, len, el);
}
