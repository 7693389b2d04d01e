// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_nftx.c - the one-batch set-up produces what the text path produces
 *
 * Theory of operation: for every golden policy (tests/golden/NAME.yaml,
 * the fixed sandbox of test_nft.c, with a TAP and IPv6 as the file name
 * says), two private network namespaces get the base table and another
 * sandbox's chains; then the golden sandbox goes into the first through
 * the text path (libnftables, then nft_dispatch_set()) and into the second
 * through nftx_sandbox_add(); "nft list table inet moat" of the two must
 * be identical, and the one-batch path must have been taken. A last test
 * checks that a batch the kernel refuses leaves nothing behind. Needs
 * root (CAP_NET_ADMIN, CAP_SYS_ADMIN): skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "netns.h"
#include "nft.h"
#include "nftx.h"

#ifndef MOAT_SRCDIR
#define MOAT_SRCDIR "."
#endif

static const uint8_t test_guest_mac[6] = { 0x02, 0x6d, 0x5e, 0xed, 0x00, 0x07 };

/**
 * struct world - the test's namespaces and run directory
 * @run_dir:	a temporary directory (names the scratch namespace)
 * @path:	the two namespaces' files
 * @fd:		their descriptors
 * @b:		the base table's parameters
 */
struct world {
	char run_dir[64];
	char path[2][64];
	int fd[2];
	struct nft_base b;
};

static int world_n;		/* worlds made: each has names of its own */
static struct world *world_live;	/* the one to remove if a test fails */

/**
 * srcdir() - the source tree, from the environment or the build
 *
 * Return: path
 */
static const char *srcdir(void)
{
	const char *s = getenv("MOAT_SRCDIR");

	return s && *s ? s : MOAT_SRCDIR;
}

/**
 * read_all() - whole file into a string
 * @path:	file
 *
 * Return: contents (caller frees)
 */
static char *read_all(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re"), *o = open_memstream(&buf, &len);
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, o);
	fclose(f);
	fclose(o);
	return buf;
}

/**
 * sandbox_for() - a sandbox of the golden files' kind
 * @s:		filled in
 * @pol:	its policy
 * @ifname:	its interface
 * @n:		its index (addresses, instance)
 * @v6:		with IPv6
 * @tap:	with a TAP device
 */
static void sandbox_for(struct nft_sandbox *s, const struct policy *pol,
			const char *ifname, int n, bool v6, bool tap)
{
	char a[64];

	memset(s, 0, sizeof(*s));
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	snprintf(a, sizeof(a), "10.231.0.%d", 4 * n + 2);
	assert_int_equal(addr_parse(a, &s->addr4), 0);
	snprintf(a, sizeof(a), "10.231.0.%d", 4 * n + 1);
	assert_int_equal(addr_parse(a, &s->gw4), 0);
	s->has_v6 = v6;
	if (v6) {
		snprintf(a, sizeof(a), "fd6d:6f61:7400:%x::2", n);
		assert_int_equal(addr_parse(a, &s->addr6), 0);
		snprintf(a, sizeof(a), "fd6d:6f61:7400:%x::1", n);
		assert_int_equal(addr_parse(a, &s->gw6), 0);
	}
	s->pol = pol;
	s->instance = 0x5eed0000u | (uint32_t)n;
	if (tap) {
		s->tap = true;
		memcpy(s->guest_mac, test_guest_mac, 6);
		if (v6)
			addr_eui64(s->addr6.addr, test_guest_mac, &s->addr6);
	}
}

/**
 * text_of() - a sandbox's script, with the base table first if asked
 * @b:		base parameters, or NULL
 * @s:		sandbox, or NULL
 *
 * Return: the script (caller frees)
 */
static char *text_of(const struct nft_base *b, const struct nft_sandbox *s)
{
	struct errlist el = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (b)
		assert_int_equal(nft_base_text(f, b), 0);
	if (s)
		assert_int_equal(nft_sandbox_add_text(f, s, &el), 0);
	fclose(f);
	errlist_free(&el);
	return buf;
}

/**
 * run_in() - a script into one of the namespaces, which must take it
 * @w:		world
 * @k:		which namespace
 * @text:	script
 */
static void run_in(struct world *w, int k, const char *text)
{
	char *err = NULL;

	if (nft_run_in(w->fd[k], text, &err))
		fail_msg("nft refused: %s", err ? err : "?");
	free(err);
}

/**
 * dispatch_cb() - nft_dispatch_set() for the interface in @arg
 * @arg:	interface name
 *
 * Return: nft_dispatch_set()'s
 */
static int dispatch_cb(void *arg)
{
	return nft_dispatch_set(arg, true);
}

/**
 * struct nftx_arg - nftx_cb()'s arguments
 * @w:		world
 * @s:		sandbox
 * @text:	its script
 */
struct nftx_arg {
	struct world *w;
	const struct nft_sandbox *s;
	const char *text;
};

/**
 * nftx_cb() - nftx_sandbox_add() in the namespace entered
 * @arg:	struct nftx_arg
 *
 * Return: nftx_sandbox_add()'s
 */
static int nftx_cb(void *arg)
{
	struct nftx_arg *a = arg;

	return nftx_sandbox_add(a->w->run_dir, &a->w->b, a->s, a->text);
}

/**
 * list_cb() - nft_list_table() into the string pointer @arg
 * @arg:	char **
 *
 * Return: nft_list_table()'s
 */
static int list_cb(void *arg)
{
	return nft_list_table(arg);
}

/**
 * listing() - "nft list table inet moat" of one namespace
 * @w:		world
 * @k:		which namespace
 *
 * Return: the listing (caller frees)
 */
static char *listing(struct world *w, int k)
{
	char *out = NULL;

	assert_int_equal(netns_run_in(w->fd[k], list_cb, &out), 0);
	assert_non_null(out);
	return out;
}

/**
 * world_up() - two namespaces with the base table and sandbox moat8
 * @w:		filled in
 * @other:	moat8's policy
 */
static void world_up(struct world *w, const struct policy *other)
{
	char moat8[] = "moat8";
	struct nft_sandbox s8;
	char *t;
	int k;

	memset(w, 0, sizeof(*w));
	snprintf(w->run_dir, sizeof(w->run_dir), "/tmp/moat-test-nftx-XXXXXX");
	assert_non_null(mkdtemp(w->run_dir));
	assert_int_equal(prefix_parse("10.231.0.0/16", &w->b.pool4, true), 0);
	assert_int_equal(prefix_parse("fd6d:6f61:7400::/48", &w->b.pool6, true), 0);
	sandbox_for(&s8, other, "moat8", 8, true, false);
	t = text_of(&w->b, &s8);
	for (k = 0; k < 2; k++) {
		snprintf(w->path[k], sizeof(w->path[k]),
			 NETNS_RUN_DIR "/moat-test-nftx-%d-%d-%d", (int)getpid(),
			 ++world_n, k);
		assert_int_equal(netns_create(w->path[k]), 0);
		w->fd[k] = netns_open_net(w->path[k]);
		assert_true(w->fd[k] >= 0);
	}
	world_live = w;
	for (k = 0; k < 2; k++) {
		run_in(w, k, t);
		assert_int_equal(netns_run_in(w->fd[k], dispatch_cb, moat8), 0);
	}
	free(t);
}

/**
 * world_down() - remove the namespaces, the scratch one and the directory
 * @w:		world
 */
static void world_down(struct world *w)
{
	char *mark = xasprintf("%s/scratch", w->run_dir);
	int k;

	world_live = NULL;
	for (k = 0; k < 2; k++) {
		close(w->fd[k]);
		netns_remove(w->path[k]);
	}
	nftx_scratch_remove(w->run_dir);
	assert_int_equal(access(mark, F_OK), -1);
	free(mark);
	rmdir(w->run_dir);
}

/**
 * scratch_clean() - the scratch namespace keeps nothing of moat7
 * @w:		world
 */
static void scratch_clean(struct world *w)
{
	char *mark = xasprintf("%s/scratch", w->run_dir), *line, *out = NULL;
	int fd;

	line = read_all(mark);
	*strchrnul(line, ' ') = '\0';
	fd = netns_open_net(line);
	assert_true(fd >= 0);
	assert_int_equal(netns_run_in(fd, list_cb, &out), 0);
	assert_non_null(out);
	assert_non_null(strstr(out, "pre_dispatch"));
	assert_null(strstr(out, "moat7"));
	close(fd);
	free(out);
	free(line);
	free(mark);
}

/**
 * load_policy() - a policy from text
 * @p:		initialised and filled
 * @yaml:	its text
 */
static void load_policy(struct policy *p, const char *yaml)
{
	struct errlist el = { 0 };

	policy_init(p);
	if (policy_load_buf(p, "test.yaml", yaml, strlen(yaml), &el)) {
		errlist_print(&el, stderr);
		fail_msg("policy did not load");
	}
}

/**
 * test_both_paths() - every golden policy: text path and one batch agree
 * @state:	unused
 */
static void test_both_paths(void **state)
{
	char *dir = xasprintf("%s/tests/golden", srcdir());
	char *other_yaml = xasprintf("%s/default-v6.yaml", dir);
	char *oy = read_all(other_yaml);
	struct policy other;
	struct dirent *de;
	int n = 0;
	DIR *d;

	(void)state;
	if (geteuid() != 0)
		skip();
	load_policy(&other, oy);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct nft_sandbox s;
		struct nftx_arg a;
		static struct world w;	/* teardown() may remove it */
		struct policy p;
		char *path, *yaml, *text, *l0, *l1;
		int ret;

		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		yaml = read_all(path);
		load_policy(&p, yaml);
		sandbox_for(&s, &p, "moat7", 7, strstr(de->d_name, "-v6") != NULL,
			    !strncmp(de->d_name, "tap", 3));
		text = text_of(NULL, &s);
		world_up(&w, &other);

		run_in(&w, 0, text);
		assert_int_equal(netns_run_in(w.fd[0], dispatch_cb, s.ifname), 0);
		a = (struct nftx_arg){ .w = &w, .s = &s, .text = text };
		ret = netns_run_in(w.fd[1], nftx_cb, &a);
		if (ret)
			fail_msg("%s: the one-batch path failed: %s", de->d_name,
				 strerror(-ret));
		l0 = listing(&w, 0);
		l1 = listing(&w, 1);
		if (strcmp(l0, l1)) {
			fprintf(stderr, "%s: text path:\n%s\none batch:\n%s\n",
				de->d_name, l0, l1);
			fail_msg("%s: the two paths differ", de->d_name);
		}
		scratch_clean(&w);
		world_down(&w);
		free(l0);
		free(l1);
		free(text);
		policy_free(&p);
		free(yaml);
		free(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
	policy_free(&other);
	free(oy);
	free(other_yaml);
	free(dir);
}

/**
 * test_refused_leaves_nothing() - a refused batch changes nothing
 * @state:	unused
 *
 * A chain of the sandbox already there (an interrupted set-up) makes
 * the batch fail (its chains are created exclusively); the table must
 * then be exactly as before: no chain, set, object or dispatch entry of
 * the sandbox.
 */
static void test_refused_leaves_nothing(void **state)
{
	char *path = xasprintf("%s/tests/golden/domains.yaml", srcdir());
	char *yaml = read_all(path), *text, *before, *after;
	struct nft_sandbox s;
	struct nftx_arg a;
	static struct world w;	/* teardown() may remove it */
	struct policy p;

	(void)state;
	if (geteuid() != 0)
		skip();
	load_policy(&p, yaml);
	sandbox_for(&s, &p, "moat7", 7, true, false);
	text = text_of(NULL, &s);
	world_up(&w, &p);
	run_in(&w, 1, "add chain inet moat moat7_rep\n");
	before = listing(&w, 1);
	a = (struct nftx_arg){ .w = &w, .s = &s, .text = text };
	assert_int_not_equal(netns_run_in(w.fd[1], nftx_cb, &a), 0);
	after = listing(&w, 1);
	assert_string_equal(before, after);
	world_down(&w);
	free(before);
	free(after);
	free(text);
	policy_free(&p);
	free(yaml);
	free(path);
}

/**
 * teardown() - remove what a failed test left
 * @state:	unused
 *
 * Return: 0
 */
static int teardown(void **state)
{
	(void)state;
	if (world_live)
		world_down(world_live);
	return 0;
}

/**
 * test_interrupted_compile() - what a crashed compile left is not carried
 * @state:	unused
 *
 * The scratch namespace holds moat7 compiled with limits.flows 7, and
 * scratch.dirty names it, as a compile interrupted before its clean-up
 * leaves them. moat7 with the default flows must still come out exactly
 * as the text path makes it (the named limits' rates included), and the
 * file must be gone.
 */
static void test_interrupted_compile(void **state)
{
	static struct world w;	/* teardown() may remove it */
	char *dirty, *mark, *line, *t9, *tl, *t7, *l0, *l1, *err = NULL;
	struct nft_sandbox s9, sl, s7;
	struct policy p, low;
	struct nftx_arg a;
	FILE *f;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	load_policy(&p, "version: 1\n");
	load_policy(&low, "version: 1\nlimits:\n  flows: 7\n");
	world_up(&w, &p);
	/* moat9 both ways: the scratch namespace is made */
	sandbox_for(&s9, &p, "moat9", 9, false, false);
	t9 = text_of(NULL, &s9);
	run_in(&w, 0, t9);
	assert_int_equal(netns_run_in(w.fd[0], dispatch_cb, s9.ifname), 0);
	a = (struct nftx_arg){ .w = &w, .s = &s9, .text = t9 };
	assert_int_equal(netns_run_in(w.fd[1], nftx_cb, &a), 0);
	/* the leftovers */
	sandbox_for(&sl, &low, "moat7", 7, false, false);
	tl = text_of(NULL, &sl);
	mark = xasprintf("%s/scratch", w.run_dir);
	line = read_all(mark);
	*strchrnul(line, ' ') = '\0';
	fd = netns_open_net(line);
	assert_true(fd >= 0);
	if (nft_run_in(fd, tl, &err))
		fail_msg("scratch: %s", err);
	close(fd);
	dirty = xasprintf("%s/scratch.dirty", w.run_dir);
	f = fopen(dirty, "we");
	assert_non_null(f);
	fputs("moat7\n", f);
	fclose(f);
	/* moat7, default flows, both ways */
	sandbox_for(&s7, &p, "moat7", 7, false, false);
	t7 = text_of(NULL, &s7);
	run_in(&w, 0, t7);
	assert_int_equal(netns_run_in(w.fd[0], dispatch_cb, s7.ifname), 0);
	a = (struct nftx_arg){ .w = &w, .s = &s7, .text = t7 };
	assert_int_equal(netns_run_in(w.fd[1], nftx_cb, &a), 0);
	l0 = listing(&w, 0);
	l1 = listing(&w, 1);
	assert_string_equal(l0, l1);
	assert_int_equal(access(dirty, F_OK), -1);
	scratch_clean(&w);
	world_down(&w);
	free(l0);
	free(l1);
	free(t7);
	free(tl);
	free(t9);
	free(line);
	free(mark);
	free(dirty);
	policy_free(&low);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_both_paths, teardown),
		cmocka_unit_test_teardown(test_refused_leaves_nothing, teardown),
		cmocka_unit_test_teardown(test_interrupted_compile, teardown),
	};

	msg_verbose = getenv("MOAT_TEST_VERBOSE") != NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
