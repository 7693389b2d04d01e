// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * nftx.c - a sandbox's objects in one libnftnl transaction, compiled by
 * libnftables elsewhere ("compile and transplant")
 *
 * Theory of operation
 * -------------------
 * nft.c's compiler writes a sandbox's chains as nft(8) script text, and
 * that text is what the golden files pin. libnftables turns it into
 * netlink messages, but before it does, it asks the kernel for every
 * chain, set and named object of the namespace (its cache), and the
 * kernel validates the jump graph of the whole table at every commit
 * that adds a jump: with 1000 sandboxes a create spent about 300 ms in
 * those two, in two commits (chains, then dispatch entries).
 *
 * Here the same text is compiled by libnftables in a scratch network
 * namespace of moat's own, which holds the base table only (written from
 * nft_base_text(), kept in step with nft_base_hash() through
 * "<run dir>/scratch"): there the cache is a few dozen objects. What the
 * kernel made of the text is then read back with libnftnl (the
 * sandbox's chains, rules, named sets and objects, and the anonymous sets
 * its rules look up, with their elements) and sent, in one batch, into
 * the real table together with the sandbox's dispatch entries. So:
 *
 *   - one compiler, whose output is what the kernel itself parsed: no
 *     second, hand-written libnftnl builder to keep in step with it;
 *   - one kernel transaction, all or nothing: no state with the chains
 *     but without their entries, and one validation of the table where
 *     there were two;
 *   - no libnftables cache of the real table.
 *
 * In the batch, handles are dropped (the kernel gives new ones), rules
 * are appended in the order they were read (the order of each chain),
 * and each anonymous set is created as "__set%d" (or "__map%d") with a
 * batch-local ID, which the lookup, dynset and objref expressions that
 * used its scratch name now carry instead: the kernel resolves an unknown
 * name through that ID. Chains, named sets and objects are created with
 * NLM_F_EXCL: an object of the sandbox left in the real table (a set-up
 * interrupted by a crash) makes the batch fail as a whole, and the caller
 * then takes the text path, whose "add" and "flush" reuse what is there.
 * The scratch namespace is emptied of the sandbox after use, by
 * nft_sandbox_destroy(), whose socket stays open until moat exits: the
 * kernel releases what a transaction removed after an RCU grace period,
 * and closing a netfilter socket waits for that; by the time "moat
 * create" exits (after the supervisor's start) it is done. A file in the
 * run directory, "scratch.dirty", names the sandbox between its compile
 * and that clean-up, so that what a compile interrupted by a crash left
 * goes before the next one (a named limit "add" finds is kept as it is,
 * and the transplant would carry its old rate).
 *
 * The text path (nft_run() of the text, then nft_dispatch_set()) stays
 * for everything this cannot do: a base table that must be written
 * (libnftables writes it with the sandbox's chains, as before), a kernel
 * without "destroy" messages (before 6.3), an expression libnftnl cannot
 * parse, a scratch namespace that cannot be made, or any refusal of the
 * batch. The caller logs why at debug level. A supervisor restoring its
 * rules never comes here (it may neither make nor enter a namespace), nor
 * does "moat update", which rewrites a live sandbox's chains in place and
 * must keep its counters, its flow count and its pins.
 *
 * Why this rather than a libnftnl builder for every rule form the
 * compiler emits: such a builder would be a second compiler (payload
 * offsets, dependencies, byte order, anonymous sets, concatenations) to
 * keep in step with the first, and a mistake in it would be a hole in
 * enforcement; here the kernel's own representation of the one compiler's
 * output is carried over, and tests/unit/test_nftx.c checks, for every
 * golden policy, that the table comes out identical either way. What is
 * left of a create's cost with many sandboxes is the kernel's (its
 * search of the table's sets by name, its validation of the table at
 * commit): docs/BENCHMARKS.md.
 *
 * The scratch namespace is /run/netns/moat+scratch-<hash of the run
 * directory> ("+" is not allowed in sandbox names, so it cannot meet a
 * sandbox's "moat-NAME"); it has no interface but loopback, and nothing
 * enters it. It is made by the first create that needs it and removed
 * with the last sandbox (nftx_scratch_remove()). The caller holds the
 * global lock, so one create at a time uses it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"
#include "nft.h"
#include "nftx.h"
#include "nl.h"

/* after <netinet/in.h> (from nft.h): the kernel headers defer to it */
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <net/if.h>

#define NFTX_DUMP_BUF	65536		/* one read of a dump */
#define NFTX_BATCH_MAX	(4u << 20)	/* a sandbox's batch, at most */

/**
 * struct nftx_dump - what was read back from the scratch namespace
 * @pfx:	"<ifname>_": the names of the sandbox's objects start so
 * @chains:	its chains
 * @nchains:	their number
 * @rules:	its rules, in the order read
 * @nrules:	their number
 * @sets:	its named sets, and every anonymous set of the table
 * @nsets:	their number
 * @setid:	per anonymous set: 0 if not sent, else its ID in the batch
 * @lastid:	the last set ID given
 * @names:	per set: its name in the scratch table (nftx_build() renames
 *		anonymous sets)
 * @objs:	its named objects
 * @nobjs:	their number
 * @err:	set when an answer could not be parsed
 */
struct nftx_dump {
	char pfx[IFNAMSIZ + 2];
	struct nftnl_chain **chains;
	size_t nchains;
	struct nftnl_rule **rules;
	size_t nrules;
	struct nftnl_set **sets;
	size_t nsets;
	uint32_t *setid;
	uint32_t lastid;
	char **names;
	struct nftnl_obj **objs;
	size_t nobjs;
	bool err;
};

/**
 * nftx_push() - append a pointer to a growing array
 * @arr:	array (realloc'd)
 * @n:		its length, incremented
 * @p:		pointer
 */
static void nftx_push(void *arr, size_t *n, void *p)
{
	void ***a = arr;

	*a = xrealloc(*a, (*n + 1) * sizeof(**a));
	(*a)[(*n)++] = p;
}

/**
 * nftx_ours() - whether a name is one of the sandbox's objects
 * @d:		dump (its prefix)
 * @name:	name, or NULL
 *
 * Return: true if @name starts with "<ifname>_"
 */
static bool nftx_ours(const struct nftx_dump *d, const char *name)
{
	return name && !strncmp(name, d->pfx, strlen(d->pfx));
}

/**
 * nftx_chain_cb() - keep one dumped chain if it is the sandbox's
 * @nlh:	message
 * @data:	struct nftx_dump
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if it cannot be parsed
 */
static int nftx_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftx_dump *d = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		die_oom();
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		d->err = true;
		return MNL_CB_ERROR;
	}
	if (nftx_ours(d, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)))
		nftx_push(&d->chains, &d->nchains, c);
	else
		nftnl_chain_free(c);
	return MNL_CB_OK;
}

/**
 * nftx_rule_cb() - keep one dumped rule if it is in a sandbox's chain
 * @nlh:	message
 * @data:	struct nftx_dump
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if it cannot be parsed (an
 *	   expression this libnftnl does not know)
 */
static int nftx_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftx_dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		die_oom();
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		d->err = true;
		return MNL_CB_ERROR;
	}
	if (nftx_ours(d, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)))
		nftx_push(&d->rules, &d->nrules, r);
	else
		nftnl_rule_free(r);
	return MNL_CB_OK;
}

/**
 * nftx_set_cb() - keep one dumped set if it is the sandbox's or anonymous
 * @nlh:	message
 * @data:	struct nftx_dump
 *
 * Which anonymous sets the sandbox's rules use is known once the rules
 * are read (nftx_anon_ids()).
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if it cannot be parsed
 */
static int nftx_set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftx_dump *d = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		die_oom();
	if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		d->err = true;
		return MNL_CB_ERROR;
	}
	if (nftx_ours(d, nftnl_set_get_str(s, NFTNL_SET_NAME)) ||
	    (nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
		nftx_push(&d->sets, &d->nsets, s);
	else
		nftnl_set_free(s);
	return MNL_CB_OK;
}

/**
 * nftx_obj_cb() - keep one dumped named object if it is the sandbox's
 * @nlh:	message
 * @data:	struct nftx_dump
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if it cannot be parsed
 */
static int nftx_obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftx_dump *d = data;
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		die_oom();
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0) {
		nftnl_obj_free(o);
		d->err = true;
		return MNL_CB_ERROR;
	}
	if (nftx_ours(d, nftnl_obj_get_str(o, NFTNL_OBJ_NAME)))
		nftx_push(&d->objs, &d->nobjs, o);
	else
		nftnl_obj_free(o);
	return MNL_CB_OK;
}

/**
 * nftx_elems_cb() - the elements of one dumped set, into it
 * @nlh:	message
 * @data:	struct nftnl_set
 *
 * Return: MNL_CB_OK, or MNL_CB_ERROR if they cannot be parsed
 */
static int nftx_elems_cb(const struct nlmsghdr *nlh, void *data)
{
	return nftnl_set_elems_nlmsg_parse(nlh, data) < 0 ? MNL_CB_ERROR :
							    MNL_CB_OK;
}

/**
 * nftx_dump() - one dump request on the scratch table, answers to @cb
 * @nl:		netfilter socket in the scratch namespace
 * @type:	NFT_MSG_GET*
 * @set:	for NFT_MSG_GETSETELEM, the set's name; else NULL
 * @cb:		called for each answer
 * @data:	passed to @cb
 *
 * Return: 0, or -errno
 */
static int nftx_dump(struct mnl_socket *nl, uint16_t type, const char *set,
		     mnl_cb_t cb, void *data)
{
	unsigned int seq = (unsigned int)time(NULL),
		     portid = mnl_socket_get_portid(nl);
	char *buf = xmalloc(NFTX_DUMP_BUF);
	struct nlmsghdr *nlh;
	uint16_t attr;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP, seq);
	switch (type) {
	case NFT_MSG_GETCHAIN:
		attr = NFTA_CHAIN_TABLE;
		break;
	case NFT_MSG_GETRULE:
		attr = NFTA_RULE_TABLE;
		break;
	case NFT_MSG_GETSET:
		attr = NFTA_SET_TABLE;
		break;
	case NFT_MSG_GETOBJ:
		attr = NFTA_OBJ_TABLE;
		break;
	default:
		attr = NFTA_SET_ELEM_LIST_TABLE;
		break;
	}
	mnl_attr_put_strz(nlh, attr, NFT_TABLE);
	if (set)
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NFTX_DUMP_BUF);

		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0)
			ret = errno ? -errno : -EPROTO;
	} while (ret > 0);
	free(buf);
	return ret < 0 ? ret : 0;
}

/* the expressions that name a set, with libnftnl's attribute for the name
 * and the kernel's attributes for the name and a batch-local ID */
static const struct {
	const char *kind;
	uint16_t name_attr;
	uint16_t nla_name;
	uint16_t nla_id;
} nftx_refs[] = {
	{ "lookup", NFTNL_EXPR_LOOKUP_SET, NFTA_LOOKUP_SET, NFTA_LOOKUP_SET_ID },
	{ "dynset", NFTNL_EXPR_DYNSET_SET_NAME, NFTA_DYNSET_SET_NAME,
	  NFTA_DYNSET_SET_ID },
	{ "objref", NFTNL_EXPR_OBJREF_SET_NAME, NFTA_OBJREF_SET_NAME,
	  NFTA_OBJREF_SET_ID },
};

/**
 * nftx_anon_set() - the anonymous set an expression names, if any
 * @d:		dump
 * @e:		expression
 * @ref:	set to its index into nftx_refs[]
 *
 * Return: the set's index in @d->sets, or -1
 */
static ssize_t nftx_anon_set(const struct nftx_dump *d,
			     const struct nftnl_expr *e, size_t *ref)
{
	const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME), *name;
	size_t k, j;

	for (j = 0; kind && j < ARRAY_SIZE(nftx_refs); j++) {
		if (strcmp(kind, nftx_refs[j].kind) ||
		    !nftnl_expr_is_set(e, nftx_refs[j].name_attr))
			continue;
		name = nftnl_expr_get_str(e, nftx_refs[j].name_attr);
		for (k = 0; k < d->nsets; k++)
			if ((nftnl_set_get_u32(d->sets[k], NFTNL_SET_FLAGS) &
			     NFT_SET_ANONYMOUS) && !strcmp(d->names[k], name)) {
				*ref = j;
				return (ssize_t)k;
			}
	}
	return -1;
}

/**
 * nftx_anon_pattern() - the name to create an anonymous set under
 * @name:	its name in the scratch table, "__set12"
 * @buf:	set to "__set%d": the kernel picks the number
 * @len:	its size
 */
static void nftx_anon_pattern(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%.*s%%d", (int)strcspn(name, "0123456789"), name);
}

/**
 * nftx_anon_ids() - number the anonymous sets the sandbox's rules use
 * @d:		dump
 *
 * An anonymous set that no rule of the sandbox uses (one of the base
 * chains') keeps ID 0 and is not sent; named sets are found by name.
 */
static void nftx_anon_ids(struct nftx_dump *d)
{
	size_t k, ref;

	d->setid = xcalloc(d->nsets + 1, sizeof(*d->setid));
	d->names = xcalloc(d->nsets + 1, sizeof(*d->names));
	for (k = 0; k < d->nsets; k++)
		d->names[k] = xstrdup(nftnl_set_get_str(d->sets[k], NFTNL_SET_NAME));
	for (k = 0; k < d->nrules; k++) {
		struct nftnl_expr_iter *it = nftnl_expr_iter_create(d->rules[k]);
		struct nftnl_expr *e;
		ssize_t i;

		if (!it)
			die_oom();
		while ((e = nftnl_expr_iter_next(it)))
			if ((i = nftx_anon_set(d, e, &ref)) >= 0 && !d->setid[i])
				d->setid[i] = ++d->lastid;
		nftnl_expr_iter_destroy(it);
	}
}

/**
 * nftx_read() - read the sandbox's objects back from the scratch table
 * @nl:		netfilter socket in the scratch namespace
 * @d:		filled in (its prefix set by the caller)
 *
 * Return: 0, -EOPNOTSUPP if something could not be parsed, or -errno
 */
static int nftx_read(struct mnl_socket *nl, struct nftx_dump *d)
{
	size_t k;
	int ret;

	if ((ret = nftx_dump(nl, NFT_MSG_GETCHAIN, NULL, nftx_chain_cb, d)) ||
	    (ret = nftx_dump(nl, NFT_MSG_GETSET, NULL, nftx_set_cb, d)) ||
	    (ret = nftx_dump(nl, NFT_MSG_GETOBJ, NULL, nftx_obj_cb, d)) ||
	    (ret = nftx_dump(nl, NFT_MSG_GETRULE, NULL, nftx_rule_cb, d)))
		return d->err ? -EOPNOTSUPP : ret;
	nftx_anon_ids(d);
	for (k = 0; k < d->nsets; k++) {
		struct nftnl_set *s = d->sets[k];

		if (!d->setid[k] && !nftx_ours(d, nftnl_set_get_str(s, NFTNL_SET_NAME)))
			continue;
		ret = nftx_dump(nl, NFT_MSG_GETSETELEM,
				nftnl_set_get_str(s, NFTNL_SET_NAME),
				nftx_elems_cb, s);
		if (ret)
			return ret == -EPROTO ? -EOPNOTSUPP : ret;
	}
	return 0;
}

/**
 * nftx_dump_free() - free what nftx_read() read
 * @d:		dump
 */
static void nftx_dump_free(struct nftx_dump *d)
{
	size_t k;

	for (k = 0; k < d->nchains; k++)
		nftnl_chain_free(d->chains[k]);
	for (k = 0; k < d->nrules; k++)
		nftnl_rule_free(d->rules[k]);
	for (k = 0; k < d->nsets; k++) {
		nftnl_set_free(d->sets[k]);
		if (d->names)
			free(d->names[k]);
	}
	free(d->names);
	for (k = 0; k < d->nobjs; k++)
		nftnl_obj_free(d->objs[k]);
	free(d->chains);
	free(d->rules);
	free(d->sets);
	free(d->setid);
	free(d->objs);
}

/**
 * struct nftx_batch - the batch for the real table, being built
 * @b:		the batch
 * @seq:	next sequence number
 * @nmsg:	messages asking for an acknowledgement
 * @full:	a message did not fit
 */
struct nftx_batch {
	struct mnl_nlmsg_batch *b;
	unsigned int seq;
	unsigned int nmsg;
	bool full;
};

/**
 * nftx_hdr() - start one message of the batch
 * @x:		batch
 * @type:	NFT_MSG_NEW*
 * @flags:	NLM_F_* besides NLM_F_ACK
 *
 * Return: the message's header, its payload to follow
 */
static struct nlmsghdr *nftx_hdr(struct nftx_batch *x, uint16_t type,
				 uint16_t flags)
{
	x->nmsg++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(x->b), type,
				     NFPROTO_INET, flags | NLM_F_ACK, x->seq++);
}

/**
 * nftx_next() - close the message just built
 * @x:		batch
 */
static void nftx_next(struct nftx_batch *x)
{
	if (!mnl_nlmsg_batch_next(x->b))
		x->full = true;
}

/**
 * nftx_count_elem() - count one element of a set
 * @e:		element
 * @data:	counter (size_t)
 *
 * Return: 0
 */
static int nftx_count_elem(struct nftnl_set_elem *e, void *data)
{
	(void)e;
	++*(size_t *)data;
	return 0;
}

/**
 * nftx_data() - the data of an expression built into a message
 * @elem:	the expression's list element, closed
 *
 * Return: its NFTA_EXPR_DATA, the last attribute of the message
 */
static struct nlattr *nftx_data(struct nlattr *elem)
{
	struct nlattr *a, *data = NULL;

	mnl_attr_for_each_nested(a, elem)
		if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	return data;
}

/**
 * nftx_data_drop() - remove one attribute of the last expression's data
 * @nlh:	the rule's message
 * @elem:	the expression's list element
 * @data:	its data
 * @a:		the attribute, in @data
 */
static void nftx_data_drop(struct nlmsghdr *nlh, struct nlattr *elem,
			   struct nlattr *data, struct nlattr *a)
{
	char *tail = (char *)nlh + nlh->nlmsg_len, *next;
	uint16_t size = MNL_ALIGN(a->nla_len);

	next = (char *)a + size;
	memmove(a, next, (size_t)(tail - next));
	data->nla_len -= size;
	elem->nla_len -= size;
	nlh->nlmsg_len -= size;
}

/**
 * nftx_expr_fix() - what the real table needs of an expression as read
 * @d:		dump (the anonymous sets' IDs)
 * @nlh:	the rule's message, the expression last in it
 * @elem:	the expression's list element, closed
 * @e:		the expression
 *
 * A reference to an anonymous set gets the set's pattern name and its
 * batch-local ID instead of its name in the scratch table (which may
 * name another set in the real one). A dynset's zero timeout goes: the
 * kernel dumps one even when there is none, and refuses it on a set
 * without timeouts. Done on the message: libnftnl 1.2.4 leaks the name an
 * expression's set name replaces.
 */
static void nftx_expr_fix(const struct nftx_dump *d, struct nlmsghdr *nlh,
			  struct nlattr *elem, const struct nftnl_expr *e)
{
	struct nlattr *data = nftx_data(elem), *a;
	size_t ref = 0;
	ssize_t set;
	bool dynset;

	if (!data)
		return;
	set = nftx_anon_set(d, e, &ref);
	dynset = !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "dynset");
again:
	mnl_attr_for_each_nested(a, data) {
		uint16_t type = mnl_attr_get_type(a);

		if ((set >= 0 && type == nftx_refs[ref].nla_name) ||
		    (dynset && type == NFTA_DYNSET_TIMEOUT &&
		     mnl_attr_get_payload_len(a) == sizeof(uint64_t) &&
		     mnl_attr_get_u64(a) == 0)) {
			nftx_data_drop(nlh, elem, data, a);
			goto again;	/* the attributes after it moved */
		}
	}
	if (set >= 0) {
		uint32_t before = nlh->nlmsg_len;
		char name[32];

		nftx_anon_pattern(d->names[set], name, sizeof(name));
		mnl_attr_put_strz(nlh, nftx_refs[ref].nla_name, name);
		mnl_attr_put_u32(nlh, nftx_refs[ref].nla_id, htonl(d->setid[set]));
		data->nla_len += nlh->nlmsg_len - before;
		elem->nla_len += nlh->nlmsg_len - before;
	}
}

/**
 * nftx_rule_msg() - one rule, appended to its chain, as read back
 * @x:		batch
 * @d:		dump
 * @r:		the rule
 *
 * What nftnl_rule_nlmsg_build_payload() would write without the handle,
 * each expression as read, then edited by nftx_expr_fix().
 */
static void nftx_rule_msg(struct nftx_batch *x, const struct nftx_dump *d,
			  struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = nftx_hdr(x, NFT_MSG_NEWRULE,
					NLM_F_CREATE | NLM_F_APPEND);
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nlattr *list, *elem;
	struct nftnl_expr *e;

	if (!it)
		die_oom();
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE,
			  nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN,
			  nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		uint32_t len = 0;
		const void *u = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

		mnl_attr_put(nlh, NFTA_RULE_USERDATA, len, u);
	}
	list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	while ((e = nftnl_expr_iter_next(it))) {
		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		nftnl_expr_build_payload(nlh, e);
		mnl_attr_nest_end(nlh, elem);
		nftx_expr_fix(d, nlh, elem, e);
	}
	mnl_attr_nest_end(nlh, list);
	nftnl_expr_iter_destroy(it);
}

/**
 * nftx_build() - the sandbox's objects as messages for the real table
 * @x:		batch
 * @d:		what was read from the scratch table
 *
 * Objects first (rules refer to them), then chains (rules jump between
 * them), sets with their elements, rules in their order.
 */
static void nftx_build(struct nftx_batch *x, struct nftx_dump *d)
{
	const uint16_t excl = NLM_F_CREATE | NLM_F_EXCL;
	char name[32];
	size_t k, n;

	for (k = 0; k < d->nobjs && !x->full; k++) {
		/* its handle, if sent, is ignored: objects go by name */
		nftnl_obj_nlmsg_build_payload(nftx_hdr(x, NFT_MSG_NEWOBJ, excl),
					      d->objs[k]);
		nftx_next(x);
	}
	for (k = 0; k < d->nchains && !x->full; k++) {
		nftnl_chain_unset(d->chains[k], NFTNL_CHAIN_HANDLE);
		nftnl_chain_unset(d->chains[k], NFTNL_CHAIN_USE);
		nftnl_chain_nlmsg_build_payload(nftx_hdr(x, NFT_MSG_NEWCHAIN, excl),
						d->chains[k]);
		nftx_next(x);
	}
	for (k = 0; k < d->nsets && !x->full; k++) {
		struct nftnl_set *s = d->sets[k];

		if (!d->setid[k] && !nftx_ours(d, nftnl_set_get_str(s, NFTNL_SET_NAME)))
			continue;
		n = 0;
		nftnl_set_unset(s, NFTNL_SET_HANDLE);
		if (d->setid[k]) {
			nftx_anon_pattern(nftnl_set_get_str(s, NFTNL_SET_NAME),
					  name, sizeof(name));
			nftnl_set_set_str(s, NFTNL_SET_NAME, name);
			nftnl_set_set_u32(s, NFTNL_SET_ID, d->setid[k]);
		} else {	/* the kernel wants one for every new set */
			nftnl_set_set_u32(s, NFTNL_SET_ID, ++d->lastid);
		}
		nftnl_set_nlmsg_build_payload(nftx_hdr(x, NFT_MSG_NEWSET, excl), s);
		nftx_next(x);
		if (x->full || nftnl_set_elem_foreach(s, nftx_count_elem, &n) ||
		    !n)
			continue;
		nftnl_set_elems_nlmsg_build_payload(
			nftx_hdr(x, NFT_MSG_NEWSETELEM, excl), s);
		nftx_next(x);
	}
	for (k = 0; k < d->nrules && !x->full; k++) {
		nftx_rule_msg(x, d, d->rules[k]);
		nftx_next(x);
	}
}

/**
 * struct nftx_scratch_arg - nftx_scratch_cb()'s work
 * @text:	the sandbox's nft script
 * @ifname:	its interface
 * @pol:	its policy
 * @d:		filled in
 * @err:	libnftables' error, to free
 * @dirty:	file naming the sandbox compiled and not yet removed
 */
struct nftx_scratch_arg {
	const char *dirty;
	const char *text;
	const char *ifname;
	const struct policy *pol;
	struct nftx_dump *d;
	char *err;
};

/**
 * nftx_scratch_cb() - in the scratch namespace: compile, read, empty
 * @arg:	struct nftx_scratch_arg
 *
 * What an earlier compile left (moat died before the clean-up) goes
 * first, then the sandbox is compiled, read back, and removed; the file
 * @a->dirty names it in between.
 *
 * Return: 0, or -errno (-EINVAL: the kernel has no destroy messages)
 */
static int nftx_scratch_cb(void *arg)
{
	struct nftx_scratch_arg *a = arg;
	char left[IFNAMSIZ + 2] = "";
	struct mnl_socket *nl;
	FILE *f;
	int ret;

	/* a compile interrupted before its clean-up left that sandbox's
	 * objects, whose named ones "add" would keep as they are */
	f = fopen(a->dirty, "re");
	if (f) {
		if (fgets(left, sizeof(left), f))
			left[strcspn(left, "\n")] = '\0';
		fclose(f);
		if (*left && (ret = nft_sandbox_destroy(left, NULL)))
			return ret;
	}
	f = fopen(a->dirty, "we");
	if (!f)
		return -errno;
	ret = fprintf(f, "%s\n", a->ifname) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)	/* closed whatever it returns */
		ret = -EIO;
	if (ret)
		return ret;
	if (nft_run(a->text, &a->err))
		return -EPROTO;
	nl = nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (!nl)
		return -errno;
	ret = nftx_read(nl, a->d);
	mnl_socket_close(nl);
	/* empty again; the socket stays open until moat exits (or the next
	 * nft_destroy_settle()), by when the kernel has released what this
	 * removed: its close does not wait */
	if (nft_sandbox_destroy(a->ifname, a->pol))
		msg_debug("cannot empty the scratch table of %s", a->ifname);
	else
		unlink(a->dirty);
	return ret;
}

/**
 * nftx_scratch_path() - the scratch namespace of a run directory
 * @run_dir:	moat's run directory
 * @buf:	filled in
 * @len:	its size
 */
static void nftx_scratch_path(const char *run_dir, char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = run_dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	snprintf(buf, len, NETNS_RUN_DIR "/moat+scratch-%016" PRIx64, h);
}

/**
 * nftx_scratch_open() - the scratch namespace, made and with its base
 * table up to date
 * @run_dir:	moat's run directory
 * @b:		the base table's parameters
 *
 * Return: its descriptor, or -errno
 */
static int nftx_scratch_open(const char *run_dir, const struct nft_base *b)
{
	autofree char *mark = xasprintf("%s/scratch", run_dir);
	char path[PATH_MAX], line[PATH_MAX + 32], want[PATH_MAX + 32];
	char *text = NULL, *err = NULL;
	bool made = false;
	size_t len = 0;
	FILE *f;
	int fd, ret;

	nftx_scratch_path(run_dir, path, sizeof(path));
	snprintf(want, sizeof(want), "%s %016llx\n", path,
		 (unsigned long long)nft_base_hash(b));
	fd = netns_open_net(path);
	if (fd == -EINVAL)	/* a file left by a failed mount */
		netns_remove(path);
	if (fd == -ENOENT || fd == -EINVAL) {
		if ((ret = netns_create(path)))
			return ret;
		made = true;
		fd = netns_open_net(path);
	}
	if (fd < 0)
		return fd;
	f = made ? NULL : fopen(mark, "re");
	if (f && fgets(line, sizeof(line), f) && !strcmp(line, want)) {
		fclose(f);
		return fd;
	}
	if (f)
		fclose(f);

	/* the base table, alone: made again from nothing */
	f = open_memstream(&text, &len);
	if (!f)
		die_oom();
	fprintf(f, "add table inet %s\ndelete table inet %s\n", NFT_TABLE,
		NFT_TABLE);
	ret = nft_base_text(f, b);
	fclose(f);
	if (!ret && nft_run_in(fd, text, &err)) {
		msg_debug("scratch namespace: base table refused: %s",
			  err ? err : "?");
		ret = -EPROTO;
	}
	free(text);
	free(err);
	if (!ret) {
		autofree char *dirty = xasprintf("%s/scratch.dirty", run_dir);

		unlink(dirty);	/* the table was made again: nothing left */
		f = fopen(mark, "we");
		if (!f || fputs(want, f) < 0)
			ret = -errno;
		if (f && fclose(f) && !ret)
			ret = -errno;
	}
	if (ret) {
		close(fd);
		return ret < 0 ? ret : -EPROTO;
	}
	return fd;
}

/**
 * nftx_scratch_remove() - remove a run directory's scratch namespace
 * @run_dir:	moat's run directory
 *
 * Called when its last sandbox is gone; harmless if there is none.
 */
void nftx_scratch_remove(const char *run_dir)
{
	autofree char *mark = xasprintf("%s/scratch", run_dir);
	autofree char *dirty = xasprintf("%s/scratch.dirty", run_dir);
	char path[PATH_MAX];

	nftx_scratch_path(run_dir, path, sizeof(path));
	if (access(path, F_OK) == 0)
		netns_remove(path);
	unlink(mark);
	unlink(dirty);
}

/**
 * nftx_sandbox_add() - a sandbox's objects and dispatch entries in one
 * transaction (see the theory of operation)
 * @run_dir:	moat's run directory (names the scratch namespace)
 * @b:		the base table's parameters; the real table must have that
 *		base table already
 * @s:		the sandbox
 * @text:	its script, nft_sandbox_add_text()'s output
 *
 * Nothing of the sandbox is in the real table on failure.
 *
 * Return: 0, or -errno: the caller then takes the text path
 */
int nftx_sandbox_add(const char *run_dir, const struct nft_base *b,
		     const struct nft_sandbox *s, const char *text)
{
	struct nftx_dump d = { 0 };
	autofree char *dirty = xasprintf("%s/scratch.dirty", run_dir);
	struct nftx_scratch_arg a = { .dirty = dirty, .text = text,
				      .ifname = s->ifname, .pol = s->pol,
				      .d = &d };
	struct nftx_batch x = { 0 };
	struct mnl_socket *nl;
	unsigned int first;
	char *buf;
	int fd, ret;

	snprintf(d.pfx, sizeof(d.pfx), "%s_", s->ifname);
	fd = nftx_scratch_open(run_dir, b);
	if (fd < 0)
		return fd;
	ret = netns_run_in(fd, nftx_scratch_cb, &a);
	close(fd);
	/* with --verbose: what is left of "create: rules" is the real
	 * table's one transaction */
	msg_debug_step("create: rules compiled aside");
	if (ret) {
		msg_debug("scratch namespace: %s: %s", strerror(-ret),
			  a.err ? a.err : "");
		free(a.err);
		nftx_dump_free(&d);
		return ret;
	}

	buf = xmalloc(2 * NFTX_BATCH_MAX);
	x.seq = (unsigned int)time(NULL);
	x.b = mnl_nlmsg_batch_start(buf, NFTX_BATCH_MAX);
	nftnl_batch_begin(mnl_nlmsg_batch_current(x.b), x.seq++);
	mnl_nlmsg_batch_next(x.b);
	first = x.seq;
	nftx_build(&x, &d);
	/* the way in, last: nothing jumps to a chain before it is whole */
	x.nmsg += nft_dispatch_msgs(x.b, &x.seq, s->ifname, true, -1);
	nftnl_batch_end(mnl_nlmsg_batch_current(x.b), x.seq++);
	if (!mnl_nlmsg_batch_next(x.b))
		x.full = true;
	nftx_dump_free(&d);

	nl = x.full ? NULL : nl_open(NETLINK_NETFILTER, NL_TIMEOUT_S);
	if (x.full)
		ret = -E2BIG;
	else if (!nl)
		ret = -errno;
	else
		ret = nft_batch_send(nl, mnl_socket_get_portid(nl), x.b, first,
				     x.seq, x.nmsg, buf, 2 * NFTX_BATCH_MAX);
	if (ret)
		msg_debug("the kernel refused the batch of %s: %s", s->ifname,
			  strerror(-ret));
	if (nl)
		mnl_socket_close(nl);
	mnl_nlmsg_batch_stop(x.b);
	free(buf);
	return ret;
}
