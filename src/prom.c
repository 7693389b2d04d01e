// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * prom.c - the stats document in the Prometheus text exposition format
 *
 * Theory of operation
 * -------------------
 * prom_text() writes the document stats_collect() builds in the text
 * exposition format, version 0.0.4, for "moat stats --prometheus" and the
 * /metrics of "moat stats --listen". The format wants every sample of a
 * metric right after its HELP and TYPE lines, while the document is
 * walked sandbox by sandbox: each family (struct prom_fam) collects its
 * samples in a memory stream of its own, in the order families first
 * appear, and the families are printed one after another at the end. The
 * fixed families (sandbox up, denied packets and bytes, allowed flows,
 * link traffic, supervisor start time) come first, so that they exist
 * even without sandboxes. Label values and HELP texts are escaped as the
 * format requires; metric names keep [a-zA-Z0-9_], anything else becomes
 * '_'.
 *
 * Supervisor numbers become moat_<service>_<key> (nested objects join
 * their keys with '_', at most STATS_DEPTH_MAX deep): a counter if the key
 * ends in "_total", else untyped. A service whose name would fall into
 * one of the fixed families is skipped.
 */
#include <string.h>

#include "err.h"
#include "prom.h"
#include "stats.h"

/**
 * struct prom_fam - one metric family being built
 * @name:	metric name
 * @help:	HELP text
 * @type:	"counter", "gauge" or "untyped"
 * @buf:	sample lines
 * @len:	their length
 * @f:		stream writing @buf
 */
struct prom_fam {
	char *name;
	char *help;
	const char *type;
	char *buf;
	size_t len;
	FILE *f;
};

/**
 * struct prom - families in the order they first appear
 * @fam:	families, each allocated on its own (their streams hold
 *		pointers into them)
 * @n:		their number
 */
struct prom {
	struct prom_fam **fam;
	size_t n;
};

/**
 * prom_fam() - find or add a family
 * @p:		families
 * @name:	metric name
 * @help:	HELP text, used if the family is new
 * @type:	TYPE, used if the family is new
 *
 * Return: the family's stream
 */
static FILE *prom_fam(struct prom *p, const char *name,
		      const char *help, const char *type)
{
	struct prom_fam *f;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->fam[i]->name, name))
			return p->fam[i]->f;
	p->fam = xrealloc(p->fam, (p->n + 1) * sizeof(*p->fam));
	f = xcalloc(1, sizeof(*f));
	p->fam[p->n++] = f;
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	f->f = open_memstream(&f->buf, &f->len);
	if (!f->f)
		die_oom();
	return f->f;
}

/**
 * prom_label() - print a label value, escaped as the format requires
 * @f:		output
 * @s:		value
 */
static void prom_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/**
 * prom_help_escape() - print HELP text, escaped as the format requires
 * @f:		output
 * @s:		text
 */
static void prom_help_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/**
 * prom_metric_name() - a valid metric name from parts
 * @out:	buffer
 * @len:	its size
 * @prefix:	"moat_<service>"
 * @key:	key path, '.'-separated
 *
 * Characters outside [a-zA-Z0-9_] become '_'.
 */
static void prom_metric_name(char *out, size_t len, const char *prefix,
			     const char *key)
{
	char *c;

	snprintf(out, len, "%s_%s", prefix, key);
	for (c = out; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
}

/**
 * prom_value() - print a sample value
 * @f:		output
 * @v:		JSON number
 */
static void prom_value(FILE *f, json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	else
		fprintf(f, "%.17g\n", json_real_value(v));
}

/**
 * prom_secrets() - per-secret counters, the secret's name as a label
 * @p:		families
 * @sandbox:	label value
 * @prefix:	metric name of the object ("moat_proxy_intercept_secrets")
 * @o:		the object: NAME_<counter>_total keys
 */
static void prom_secrets(struct prom *p, const char *sandbox,
			 const char *prefix, json_t *o)
{
	static const struct {
		const char *suffix;
		const char *help;
	} ctr[] = {
		{ "_leaks_refused_total",
		  "Requests refused for carrying the secret's placeholder to another host, per secret." },
		{ "_injected_total",
		  "Requests the secret was put into, per secret." },
	};
	size_t plen = strlen(prefix), k;
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t kl = strlen(key);

		if (!json_is_number(v))
			continue;
		for (k = 0; k < ARRAY_SIZE(ctr); k++) {
			size_t sl = strlen(ctr[k].suffix);
			char name[256], secret[256];
			FILE *f;

			if (kl <= sl || strcmp(key + kl - sl, ctr[k].suffix))
				continue;
			/* moat_proxy_intercept_secrets -> ..._secret<suffix> */
			snprintf(name, sizeof(name), "%.*s%s", (int)(plen - 1),
				 prefix, ctr[k].suffix);
			f = prom_fam(p, name, ctr[k].help, "counter");
			fprintf(f, "%s{sandbox=\"", name);
			prom_label(f, sandbox);
			snprintf(secret, sizeof(secret), "%.*s", (int)(kl - sl), key);
			fprintf(f, "\",secret=\"");
			prom_label(f, secret);
			fprintf(f, "\"} ");
			prom_value(f, v);
			break;
		}
	}
}

/**
 * prom_service() - supervisor numbers of one service, recursively
 * @p:		families
 * @sandbox:	label value
 * @prefix:	metric name so far ("moat_dns")
 * @path:	key path so far, for HELP ("dns")
 * @o:		object
 * @depth:	nesting depth
 */
static void prom_service(struct prom *p, const char *sandbox,
			 const char *prefix, const char *path, json_t *o,
			 int depth)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char name[256], help[384], sub[256];
		size_t kl = strlen(key);
		bool total;
		FILE *f;

		if (!*key)
			continue;
		prom_metric_name(name, sizeof(name), prefix, key);
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		if (json_is_object(v) && !strcmp(sub, "proxy.intercept.secrets")) {
			prom_secrets(p, sandbox, name, v);
			continue;
		}
		if (json_is_object(v) && depth < STATS_DEPTH_MAX) {
			prom_service(p, sandbox, name, sub, v, depth + 1);
			continue;
		}
		if (!json_is_number(v))
			continue;
		total = kl > 6 && !strcmp(key + kl - 6, "_total");
		snprintf(help, sizeof(help),
			 "Supervisor status value %s (moat inspect NAME).", sub);
		f = prom_fam(p, name, help, total ? "counter" : "untyped");
		fprintf(f, "%s{sandbox=\"", name);
		prom_label(f, sandbox);
		fprintf(f, "\"} ");
		prom_value(f, v);
	}
}

/**
 * prom_traffic() - a sandbox's link counters
 * @p:		families
 * @sandbox:	label value
 * @t:		its "traffic" object, or null
 */
static void prom_traffic(struct prom *p, const char *sandbox,
			 json_t *t)
{
	static const char *const dirs[] = { "egress", "ingress" };
	static const char *const what[] = { "packets", "bytes" };
	size_t d, k;

	if (!json_is_object(t))
		return;
	for (k = 0; k < 2; k++) {
		char fname[64];
		FILE *o;

		snprintf(fname, sizeof(fname), "moat_traffic_%s_total", what[k]);
		o = prom_fam(p, fname, "", "counter");
		for (d = 0; d < 2; d++) {
			char key[32];

			snprintf(key, sizeof(key), "%s_%s", dirs[d], what[k]);
			fprintf(o, "%s{sandbox=\"", fname);
			prom_label(o, sandbox);
			fprintf(o, "\",direction=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
				dirs[d], json_integer_value(json_object_get(t, key)));
		}
	}
}

/**
 * prom_text() - the document in the Prometheus text format
 * @doc:	from stats_collect()
 * @f:		output
 *
 * Return: 0
 */
int prom_text(json_t *doc, FILE *f)
{
	static const char *const reserved[] = { "moat_sandbox", "moat_denied",
						"moat_allowed", "moat_supervisor",
						"moat_traffic" };
	struct prom p = { 0 };
	json_t *sb, *c, *sv;
	size_t i, j, k;

	/* fixed families first, so that they exist even without sandboxes */
	prom_fam(&p, "moat_sandbox_up",
		 "Whether the sandbox's supervisor runs (1) or not (0).", "gauge");
	prom_fam(&p, "moat_denied_packets_total",
		 "Packets moat dropped or rejected, by reason (I1-I5, I9: the invariant; rule: a deny rule of the policy) and direction.",
		 "counter");
	prom_fam(&p, "moat_denied_bytes_total",
		 "Bytes moat dropped or rejected, by reason and direction.",
		 "counter");
	prom_fam(&p, "moat_allowed_flows_total",
		 "New flows the sandbox's policy accepted (their first packet), by reason (rule or default) and direction.",
		 "counter");
	prom_fam(&p, "moat_traffic_packets_total",
		 "Packets on the sandbox's link, denied ones included: egress sent by the sandbox, ingress delivered to it.",
		 "counter");
	prom_fam(&p, "moat_traffic_bytes_total",
		 "Bytes on the sandbox's link, denied ones included, by direction.",
		 "counter");
	prom_fam(&p, "moat_supervisor_start_time_seconds",
		 "When the sandbox's supervisor started, seconds since the epoch.",
		 "gauge");

	json_array_foreach(json_object_get(doc, "sandboxes"), i, sb) {
		const char *name = json_string_value(json_object_get(sb, "name"));
		FILE *o;

		if (!name)
			continue;
		sv = json_object_get(sb, "supervisor");
		o = prom_fam(&p, "moat_sandbox_up", "", "gauge");
		fprintf(o, "moat_sandbox_up{sandbox=\"");
		prom_label(o, name);
		fprintf(o, "\"} %d\n", json_is_object(sv) ? 1 : 0);

		json_array_foreach(json_object_get(sb, "counters"), j, c) {
			const char *verdict = json_string_value(json_object_get(c, "verdict"));
			const char *reason = json_string_value(json_object_get(c, "reason"));
			const char *dir = json_string_value(json_object_get(c, "direction"));
			static const char *const what[] = { "packets", "bytes" };

			if (!verdict || !reason || !dir)
				continue;
			for (k = 0; k < 2; k++) {
				char fname[64];

				if (!strcmp(verdict, "allowed") && k == 1)
					continue;	/* first packets only */
				if (!strcmp(verdict, "allowed"))
					snprintf(fname, sizeof(fname), "moat_allowed_flows_total");
				else
					snprintf(fname, sizeof(fname), "moat_denied_%s_total", what[k]);
				o = prom_fam(&p, fname, "", "counter");
				fprintf(o, "%s{sandbox=\"", fname);
				prom_label(o, name);
				fprintf(o, "\",reason=\"");
				prom_label(o, reason);
				fprintf(o, "\",direction=\"");
				prom_label(o, dir);
				fprintf(o, "\"} %" JSON_INTEGER_FORMAT "\n",
					json_integer_value(json_object_get(c, what[k])));
			}
		}

		prom_traffic(&p, name, json_object_get(sb, "traffic"));
		if (!json_is_object(sv))
			continue;
		if (json_is_integer(json_object_get(sv, "started"))) {
			o = prom_fam(&p, "moat_supervisor_start_time_seconds", "", "gauge");
			fprintf(o, "moat_supervisor_start_time_seconds{sandbox=\"");
			prom_label(o, name);
			fprintf(o, "\"} ");
			prom_value(o, json_object_get(sv, "started"));
		}
		{
			const char *key;
			json_t *v;

			json_object_foreach(sv, key, v) {
				char prefix[128];
				bool skip = false;

				if (!json_is_object(v))
					continue;
				prom_metric_name(prefix, sizeof(prefix), "moat", key);
				for (k = 0; k < ARRAY_SIZE(reserved); k++)
					skip |= !strncmp(prefix, reserved[k],
							 strlen(reserved[k]));
				if (!skip)
					prom_service(&p, name, prefix, key, v, 1);
			}
		}
	}

	for (i = 0; i < p.n; i++) {
		struct prom_fam *fam = p.fam[i];

		fclose(fam->f);
		fprintf(f, "# HELP %s ", fam->name);
		prom_help_escape(f, fam->help);
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type);
		if (fam->len)
			fwrite(fam->buf, 1, fam->len, f);
		free(fam->buf);
		free(fam->name);
		free(fam->help);
		free(fam);
	}
	free(p.fam);
	return 0;
}
