// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * test_log.c - the decision log: NFLOG parsing (on the fuzzing seeds, which
 * are real message layouts), record formatting, the file cap and rotation,
 * the event rate limit; and the Prometheus text of "moat stats"
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "log.h"
#include "logs.h"
#include "nflog.h"
#include "state.h"
#include "prom.h"
#include "stats.h"

#ifndef MOAT_SRCDIR
#define MOAT_SRCDIR "."
#endif

/**
 * seed() - a file of fuzz/corpus/nflog
 * @name:	file name
 * @len:	set to its length
 *
 * Return: contents (caller frees)
 */
static uint8_t *seed(const char *name, size_t *len)
{
	const char *src = getenv("MOAT_SRCDIR");
	char *path = xasprintf("%s/fuzz/corpus/nflog/%s",
			       src && *src ? src : MOAT_SRCDIR, name);
	FILE *f = fopen(path, "re");
	uint8_t *buf = xmalloc(65536);

	assert_non_null(f);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	free(path);
	return buf;
}

/**
 * struct got - packets collected by collect()
 * @p:		packets
 * @n:		their number
 */
struct got {
	struct nflog_pkt p[4];
	size_t n;
};

/**
 * collect() - nflog_parse() callback
 * @opaque:	struct got
 * @p:		packet
 */
static void collect(void *opaque, const struct nflog_pkt *p)
{
	struct got *g = opaque;

	if (g->n < ARRAY_SIZE(g->p))
		g->p[g->n] = *p;
	g->n++;
}

/**
 * addr() - a parsed address as text
 * @p:		packet
 * @dst:	destination rather than source
 * @buf:	buffer of INET6_ADDRSTRLEN bytes
 *
 * Return: @buf
 */
static const char *addr(const struct nflog_pkt *p, bool dst, char *buf)
{
	return inet_ntop(p->family, dst ? p->dst : p->src, buf, INET6_ADDRSTRLEN);
}

/**
 * parse_seed() - parse one seed
 * @name:	file name
 * @g:		filled in
 */
static void parse_seed(const char *name, struct got *g)
{
	size_t len, n;
	uint8_t *buf = seed(name, &len);

	memset(g, 0, sizeof(*g));
	n = nflog_parse(buf, len, collect, g);
	assert_int_equal(n, g->n);
	free(buf);
}

/**
 * test_nflog_parse() - messages and packets from the seeds
 * @state:	unused
 */
static void test_nflog_parse(void **state)
{
	char b[INET6_ADDRSTRLEN];
	struct got g;

	parse_seed("tcp4-host.bin", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.p[0].family, AF_INET);
	assert_int_equal(g.p[0].proto, 6);
	assert_string_equal(addr(&g.p[0], false, b), "10.231.0.2");
	assert_string_equal(addr(&g.p[0], true, b), "192.168.77.2");
	assert_true(g.p[0].has_ports);
	assert_int_equal(g.p[0].sport, 40000);
	assert_int_equal(g.p[0].dport, 22);
	assert_string_equal(g.p[0].reason, "I2:host");
	assert_int_equal(g.p[0].ts.tv_sec, 1795414000);
	assert_int_equal(g.p[0].ts.tv_nsec, 123456000);

	parse_seed("udp6-dns.bin", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.p[0].family, AF_INET6);
	assert_string_equal(addr(&g.p[0], true, b), "2606:2800:220:1::1");
	assert_int_equal(g.p[0].dport, 53);
	assert_string_equal(g.p[0].reason, "I4:dns");

	parse_seed("udp6-ext.bin", &g);	/* behind a hop-by-hop header */
	assert_int_equal(g.n, 1);
	assert_int_equal(g.p[0].proto, 17);
	assert_int_equal(g.p[0].dport, 53);
	assert_string_equal(g.p[0].reason, "rule:3");

	parse_seed("frag6.bin", &g);	/* a later fragment: no ports */
	assert_int_equal(g.n, 1);
	assert_int_equal(g.p[0].proto, 6);
	assert_false(g.p[0].has_ports);

	parse_seed("truncated.bin", &g);	/* 2 bytes of TCP: no ports */
	assert_int_equal(g.n, 1);
	assert_false(g.p[0].has_ports);

	parse_seed("two-msgs.bin", &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.p[0].reason, "rule:1");
	assert_int_equal(g.p[0].proto, 1);
	assert_int_equal(g.p[0].sport, 8);	/* ICMP echo request */
	assert_string_equal(g.p[1].reason, "I1:sandbox");

	parse_seed("noprefix.bin", &g);	/* not moat's */
	assert_int_equal(g.n, 0);
}

/**
 * test_format() - "moat logs" lines: columns, extra keys, escaping
 * @state:	unused
 */
static void test_format(void **state)
{
	json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}",
				"time", "2026-11-23T06:08:15.424Z", "kind", "dns",
				"proto", "udp", "src", "10.231.0.2",
				"dst", "10.231.0.1", "port", 53,
				"reason", "rule:2", "name", "evil\x1b[31m.example");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	logs_format_text(rec, f);
	fclose(f);
	assert_string_equal(buf, "2026-11-23T06:08:15.424Z dns   udp    10.231.0.2      "
			    "10.231.0.1      53    rule:2 name=evil\\x1b[31m.example\n");
	free(buf);
	json_decref(rec);
}

/**
 * file_size() - size of a file, -1 if absent
 * @path:	file
 *
 * Return: size
 */
static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

/**
 * test_cap_and_rate() - two files of at most the cap; events rate-limited
 * @state:	unused
 */
static void test_cap_and_rate(void **state)
{
	char dir[] = "/tmp/moat-test-log.XXXXXX";
	char *cur, *old;
	struct log lg;
	int i;

	assert_non_null(mkdtemp(dir));
	setenv("MOAT_LOG_MAX_BYTES", "2048", 1);
	assert_int_equal(log_open(&lg, dir, 0), 0);
	unsetenv("MOAT_LOG_MAX_BYTES");
	cur = xasprintf("%s/%s", dir, LOG_FILE);
	old = xasprintf("%s/%s", dir, LOG_FILE_OLD);
	for (i = 0; i < 300; i++)
		log_event(&lg, "dns", "name", "example.com", "port", "53",
			  "action", "nxdomain", NULL);
	/* burst LOG_EVENT_BURST, then LOG_EVENT_RATE a second */
	assert_true(lg.records >= LOG_EVENT_BURST);
	assert_true(lg.records < 300);
	assert_int_equal(lg.records + lg.suppressed, 300);
	assert_true(lg.rotations >= 1);
	assert_true(file_size(cur) > 0 && file_size(cur) <= 2048);
	assert_true(file_size(old) > 0 && file_size(old) <= 2048);
	{
		json_t *st = log_stats(&lg);

		assert_int_equal(json_integer_value(json_object_get(st, "records_total")),
				 (json_int_t)lg.records);
		assert_non_null(json_object_get(st, "nflog_error"));
		json_decref(st);
	}
	log_close(&lg);
	unlink(cur);
	unlink(old);
	rmdir(dir);
	free(cur);
	free(old);
}

/**
 * put_file() - write a file
 * @path:	path
 * @text:	contents
 */
static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/**
 * test_summary() - denials grouped by destination and reason, bounded
 * @state:	unused
 */
static void test_summary(void **state)
{
	char dir[] = "/tmp/moat-test-sum.XXXXXX";
	char *cur, *out = NULL;
	size_t olen = 0;
	FILE *f;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cur = xasprintf("%s/%s", dir, LOG_FILE);
	f = fopen(cur, "w");
	assert_non_null(f);
	for (i = 0; i < 3; i++)
		fputs("{\"kind\":\"deny\",\"proto\":\"tcp\",\"dst\":\"10.9.0.1\",\"port\":22,\"reason\":\"I3:lan\"}\n", f);
	fputs("{\"kind\":\"deny\",\"proto\":\"icmp\",\"dst\":\"2001:db8::1\",\"reason\":\"rule:2\"}\n", f);
	fputs("{\"kind\":\"dns\",\"name\":\"evil.example\",\"action\":\"nxdomain\",\"reason\":\"rule:1\"}\n", f);
	fputs("{\"kind\":\"dns\",\"name\":\"ok.example\",\"action\":\"answer\",\"reason\":\"\"}\n", f);
	fputs("{\"kind\":\"proxy\",\"dst\":\"192.0.2.7\",\"port\":443,\"name\":\"x.example\",\"action\":\"deny\",\"reason\":\"name-denied\"}\n", f);
	fputs("{\"kind\":\"proxy\",\"dst\":\"192.0.2.7\",\"port\":443,\"name\":\"y.example\",\"action\":\"allow\",\"reason\":\"allowed-name\"}\n", f);
	fputs("{\"kind\":\"deny\",\"proto\":\"icmpv6\",\"dst\":\"ff02::16\",\"reason\":\"I5:spoof\"}\n", f);
	fputs("not json\n", f);
	fclose(f);

	f = open_memstream(&out, &olen);
	assert_int_equal(logs_summary(dir, "sb", f), 6);
	fclose(f);
	assert_string_equal(out,
		"moat: sandbox sb denied 6 flows or queries (all of them: moat logs sb):\n"
		"moat:       3x 10.9.0.1:22/tcp (I3:lan)\n"
		"moat:       1x 2001:db8::1/icmp (rule:2)\n"
		"moat:       1x DNS name evil.example (rule:1)\n"
		"moat:       1x x.example at 192.0.2.7:443/tcp (name-denied)\n");
	free(out);

	/* bounded: LOG_SUMMARY_LINES lines, then how many more */
	f = fopen(cur, "w");
	for (i = 0; i < 25; i++)
		fprintf(f, "{\"kind\":\"deny\",\"proto\":\"udp\",\"dst\":\"10.9.0.%d\",\"port\":53,\"reason\":\"I3:lan\"}\n", i);
	fclose(f);
	f = open_memstream(&out, &olen);
	assert_int_equal(logs_summary(dir, "sb", f), 25);
	fclose(f);
	{
		int lines = 0;
		char *c;

		for (c = out; *c; c++)
			lines += *c == '\n';
		assert_int_equal(lines, 1 + LOG_SUMMARY_LINES + 1);
	}
	assert_non_null(strstr(out, "moat:   ... and 15 more to 15 other destinations\n"));
	free(out);

	/* nothing denied: nothing printed */
	put_file(cur, "{\"kind\":\"dns\",\"action\":\"answer\"}\n");
	f = open_memstream(&out, &olen);
	assert_int_equal(logs_summary(dir, "sb", f), 0);
	fclose(f);
	assert_int_equal(olen, 0);
	free(out);

	unlink(cur);
	rmdir(dir);
	free(cur);
}

/**
 * test_archive() - a removed sandbox's log is kept, within age and size
 * @state:	unused
 */
static void test_archive(void **state)
{
	char run[] = "/tmp/moat-test-arch.XXXXXX";
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	struct moat_config c = { 0 };
	char *p, *q;
	int i;

	(void)state;
	assert_non_null(mkdtemp(run));
	strcpy(c.run_dir, run);
	p = xasprintf("%s/sandboxes", run);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	for (i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "sb%d", i);
		p = state_dir(&c, name);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
		p = state_path(&c, name, LOG_FILE);
		put_file(p, "{\"kind\":\"deny\"}\n");
		free(p);
		setenv("MOAT_LOG_ARCHIVE_MAX_BYTES", "1000000", 1);
		log_archive(&c, name);
		p = state_path(&c, name, LOG_FILE);
		assert_int_not_equal(access(p, F_OK), 0);	/* moved */
		free(p);
		q = log_archive_dir(&c, name);
		p = xasprintf("%s/%s", q, LOG_FILE);
		assert_int_equal(access(p, F_OK), 0);
		free(p);
		if (i == 0)	/* an old one */
			assert_int_equal(utimensat(AT_FDCWD, q, old, 0), 0);
		free(q);
		p = state_dir(&c, name);
		rmdir(p);
		free(p);
	}
	/* sb0 was too old: gone at the next archiving */
	q = log_archive_dir(&c, "sb0");
	assert_int_not_equal(access(q, F_OK), 0);
	free(q);
	/* over the size: the oldest goes, the newest stays */
	setenv("MOAT_LOG_ARCHIVE_MAX_BYTES", "20", 1);
	log_archive_prune(&c, "sb2");
	q = log_archive_dir(&c, "sb1");
	assert_int_not_equal(access(q, F_OK), 0);
	free(q);
	q = log_archive_dir(&c, "sb2");
	assert_int_equal(access(q, F_OK), 0);
	setenv("MOAT_LOG_ARCHIVE_MAX_BYTES", "0", 1);
	log_archive_prune(&c, "sb2");
	assert_int_equal(access(q, F_OK), 0);		/* kept: the newest */
	log_archive_prune(&c, NULL);
	assert_int_not_equal(access(q, F_OK), 0);
	free(q);
	unsetenv("MOAT_LOG_ARCHIVE_MAX_BYTES");
	p = log_archive_dir(&c, NULL);
	rmdir(p);
	free(p);
	p = xasprintf("%s/sandboxes", run);
	rmdir(p);
	free(p);
	assert_int_equal(rmdir(run), 0);
}

/**
 * test_prometheus() - families grouped, labels escaped, services passed on
 * @state:	unused
 */
static void test_prometheus(void **state)
{
	json_t *doc = json_loads(
		"{\"sandboxes\": ["
		" {\"name\": \"a\", \"counters\": ["
		"   {\"verdict\": \"denied\", \"reason\": \"I2\", \"direction\": \"host\", \"packets\": 3, \"bytes\": 180},"
		"   {\"verdict\": \"allowed\", \"reason\": \"default\", \"direction\": \"egress\", \"packets\": 5, \"bytes\": 300}],"
		"  \"traffic\": {\"egress_packets\": 20, \"egress_bytes\": 1500, \"ingress_packets\": 9, \"ingress_bytes\": 700},"
		"  \"supervisor\": {\"started\": 7, \"dns\": {\"queries_total\": 4, \"pins\": 2, \"x\": \"s\"},"
		"   \"proxy\": {\"intercept\": {\"leaks_refused_total\": 3, \"secrets\": {"
		"     \"API_KEY_injected_total\": 11, \"API_KEY_leaks_refused_total\": 2,"
		"     \"TOKEN_injected_total\": 1, \"TOKEN_leaks_refused_total\": 0}}}}},"
		" {\"name\": \"b\\\"q\", \"counters\": ["
		"   {\"verdict\": \"denied\", \"reason\": \"I2\", \"direction\": \"host\", \"packets\": 1, \"bytes\": 60}],"
		"  \"supervisor\": null}]}", 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *a, *b;

	assert_non_null(doc);
	prom_text(doc, f);
	fclose(f);
	a = strstr(buf, "moat_denied_packets_total{sandbox=\"a\",reason=\"I2\",direction=\"host\"} 3\n");
	b = strstr(buf, "moat_denied_packets_total{sandbox=\"b\\\"q\",reason=\"I2\",direction=\"host\"} 1\n");
	assert_non_null(a);
	assert_non_null(b);
	/* one family: nothing else between the samples of both sandboxes */
	assert_ptr_equal(a + strlen("moat_denied_packets_total{sandbox=\"a\",reason=\"I2\",direction=\"host\"} 3\n"), b);
	assert_non_null(strstr(buf, "moat_allowed_flows_total{sandbox=\"a\",reason=\"default\",direction=\"egress\"} 5\n"));
	assert_non_null(strstr(buf, "# TYPE moat_dns_queries_total counter\nmoat_dns_queries_total{sandbox=\"a\"} 4\n"));
	assert_non_null(strstr(buf, "# TYPE moat_dns_pins untyped\nmoat_dns_pins{sandbox=\"a\"} 2\n"));
	assert_null(strstr(buf, "moat_dns_x"));
	assert_non_null(strstr(buf, "moat_traffic_bytes_total{sandbox=\"a\",direction=\"egress\"} 1500\n"
				    "moat_traffic_bytes_total{sandbox=\"a\",direction=\"ingress\"} 700\n"));
	assert_non_null(strstr(buf, "moat_sandbox_up{sandbox=\"a\"} 1\nmoat_sandbox_up{sandbox=\"b\\\"q\"} 0\n"));
	/* per-secret counters: one family each, the secret's name a label */
	assert_non_null(strstr(buf, "# TYPE moat_proxy_intercept_leaks_refused_total counter\n"
				    "moat_proxy_intercept_leaks_refused_total{sandbox=\"a\"} 3\n"));
	assert_non_null(strstr(buf, "# TYPE moat_proxy_intercept_secret_injected_total counter\n"
				    "moat_proxy_intercept_secret_injected_total{sandbox=\"a\",secret=\"API_KEY\"} 11\n"
				    "moat_proxy_intercept_secret_injected_total{sandbox=\"a\",secret=\"TOKEN\"} 1\n"));
	assert_non_null(strstr(buf, "# TYPE moat_proxy_intercept_secret_leaks_refused_total counter\n"
				    "moat_proxy_intercept_secret_leaks_refused_total{sandbox=\"a\",secret=\"API_KEY\"} 2\n"
				    "moat_proxy_intercept_secret_leaks_refused_total{sandbox=\"a\",secret=\"TOKEN\"} 0\n"));
	assert_null(strstr(buf, "API_KEY_"));
	assert_null(strstr(buf, "TOKEN_"));
	free(buf);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nflog_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_cap_and_rate),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_archive),
		cmocka_unit_test(test_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
