// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * policy_print.c - the normalised policy, as YAML and as JSON
 *
 * Theory of operation
 * -------------------
 * The printers write the normalised policy, every key explicit and in a
 * fixed order, as YAML the loader accepts again (load(print(p)) prints the
 * same text: "moat policy check" shows what is in force) and as a JSON
 * object with the same field names ("moat inspect --json"). Values are
 * written in the printed forms of policy_value.c; a string is written as
 * a plain YAML scalar only where it cannot read back as anything else
 * (a number, a boolean, null), and quoted otherwise.
 */
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "policy.h"
#include "policy_int.h"

/* ------------------------------------------------------------------------
 * Printers
 */

/**
 * yaml_plain_ok() - tell if a string can be written as a plain scalar
 * @s:		string
 *
 * Return: true if @s reads back as the same string, not a number, boolean
 *	   or null, in any YAML parser
 */
static bool yaml_plain_ok(const char *s)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	const char *c;

	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	if (strspn(s, "0123456789") == strlen(s))
		return false;
	for (c = s; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '-' || *c == '_' || *c == '/'))
			return false;
	}
	return policy_name_lookup(words, ARRAY_SIZE(words), s) < 0;
}

/**
 * yaml_put_str() - write a string scalar, quoted if needed
 * @f:		stream
 * @s:		string
 */
static void yaml_put_str(FILE *f, const char *s)
{
	if (yaml_plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/**
 * yaml_put_ports() - write a port list in flow style
 * @f:		stream
 * @r:		rule
 */
static void yaml_put_ports(FILE *f, const struct rule *r)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < r->nports; i++) {
		if (i)
			fputs(", ", f);
		if (r->ports[i].lo == r->ports[i].hi)
			fprintf(f, "%u", r->ports[i].lo);
		else
			fprintf(f, "\"%u-%u\"", r->ports[i].lo,
				r->ports[i].hi);
	}
	fputc(']', f);
}

/**
 * policy_print() - write the normalised policy as YAML
 * @p:		policy
 * @f:		stream
 *
 * Every key is written, defaults included, in a fixed order; the output
 * loads again into the same policy and prints identically.
 */
void policy_print(const struct policy *p, FILE *f)
{
	char buf[128];
	size_t i, j, k;

	fprintf(f, "version: 1\n");
	fprintf(f, "network: %s\n", net_mode_name(p->mode));

	fprintf(f, "egress:\n");
	fprintf(f, "  default: %s\n", egress_default_name(p->egress_default));
	fprintf(f, "  rules:%s\n", p->nrules ? "" : " []");
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		fprintf(f, "    - %s: ", r->allow ? "allow" : "deny");
		yaml_put_str(f, policy_target_text(r, buf, sizeof(buf)));
		fputc('\n', f);
		if (r->nports) {
			fprintf(f, "      ports: ");
			yaml_put_ports(f, r);
			fputc('\n', f);
		}
		fprintf(f, "      protocol: %s\n", proto_name(r->proto));
	}

	fprintf(f, "ingress:\n");
	fprintf(f, "  publish:%s\n", p->npublish ? "" : " []");
	for (i = 0; i < p->npublish; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, policy_publish_text(&p->publish[i], buf,
						    sizeof(buf)));
		fputc('\n', f);
	}
	fprintf(f, "  allow_from:%s\n", p->nallow_from ? "" : " []");
	for (i = 0; i < p->nallow_from; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, policy_pfx_text(&p->allow_from[i], buf,
						sizeof(buf)));
		fputc('\n', f);
	}

	fprintf(f, "  accept:%s\n", p->naccept ? "" : " []");
	for (i = 0; i < p->naccept; i++) {
		const struct rule *r = &p->accept[i];

		fprintf(f, "    - from: ");
		yaml_put_str(f, r->domain);
		fprintf(f, "\n      ports: ");
		yaml_put_ports(f, r);
		fprintf(f, "\n      protocol: %s\n", proto_name(r->proto));
	}

	fprintf(f, "dns:\n");
	fprintf(f, "  rebind_protection: %s\n",
		p->rebind_protection ? "true" : "false");
	fprintf(f, "  block:%s\n", p->ndns_block ? "" : " []");
	for (i = 0; i < p->ndns_block; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, p->dns_block[i]);
		fputc('\n', f);
	}
	fprintf(f, "  records:%s\n", p->ndns_records ? "" : " {}");
	for (i = 0; i < p->ndns_records; i = j) {
		for (j = i + 1; j < p->ndns_records; j++) {
			if (strcmp(p->dns_records[i].name,
				   p->dns_records[j].name))
				break;
		}
		fprintf(f, "    ");
		yaml_put_str(f, p->dns_records[i].name);
		fprintf(f, ": ");
		if (j - i > 1)
			fputc('[', f);
		for (k = i; k < j; k++) {
			if (k > i)
				fputs(", ", f);
			yaml_put_str(f, policy_pfx_text(&p->dns_records[k].addr,
							buf, sizeof(buf)));
		}
		if (j - i > 1)
			fputc(']', f);
		fputc('\n', f);
	}
	fprintf(f, "  upstream:%s\n", p->ndns_upstream ? "" : " []");
	for (i = 0; i < p->ndns_upstream; i++) {
		fprintf(f, "    - ");
		yaml_put_str(f, policy_pfx_text(&p->dns_upstream[i], buf,
						sizeof(buf)));
		fputc('\n', f);
	}
	fprintf(f, "  ttl:\n");
	fprintf(f, "    min: %u\n", p->ttl_min);
	fprintf(f, "    max: %u\n", p->ttl_max);

	fprintf(f, "limits:\n");
	fprintf(f, "  bandwidth: %s\n",
		policy_rate_text(p->bandwidth_bps, buf, sizeof(buf)));
	fprintf(f, "  connections: %u\n",
		p->connections ? p->connections : POLICY_CONNECTIONS_DEFAULT);
	fprintf(f, "  flows: %u\n", p->flows ? p->flows : POLICY_FLOWS_DEFAULT);

	fprintf(f, "secrets:%s\n", p->nsecrets ? "" : " []");
	for (i = 0; i < p->nsecrets; i++) {
		const struct secret *sec = &p->secrets[i];

		fprintf(f, "  - name: ");
		yaml_put_str(f, sec->name);
		fputc('\n', f);
		fprintf(f, "    %s: ", sec->from_env ? "from_env" : "from_file");
		yaml_put_str(f, sec->source);
		fprintf(f, "\n    hosts:\n");
		for (j = 0; j < sec->nhosts; j++) {
			fprintf(f, "      - ");
			yaml_put_str(f, sec->hosts[j]);
			fputc('\n', f);
		}
		if (sec->set_header) {
			autofree char *line = xasprintf("%s: %s",
							sec->set_header,
							sec->set_value);

			fprintf(f, "    set: ");
			yaml_put_str(f, line);
			fputc('\n', f);
		} else {
			fprintf(f, "    replace_in: [%s%s%s%s%s]\n",
				sec->replace_in & SECRET_IN_HEADERS ?
				"headers" : "",
				(sec->replace_in & SECRET_IN_HEADERS) &&
				(sec->replace_in & ~SECRET_IN_HEADERS) ?
				", " : "",
				sec->replace_in & SECRET_IN_QUERY ? "query" : "",
				(sec->replace_in & SECRET_IN_QUERY) &&
				(sec->replace_in & SECRET_IN_BODY) ? ", " : "",
				sec->replace_in & SECRET_IN_BODY ? "body" : "");
		}
	}
	fprintf(f, "intercept:%s\n", p->nintercept ? "" : " []");
	for (i = 0; i < p->nintercept; i++) {
		fprintf(f, "  - ");
		yaml_put_str(f, p->intercept[i]);
		fputc('\n', f);
	}
}

/**
 * json_prefix() - a prefix as a JSON string
 * @pfx:	prefix
 *
 * Return: new reference
 */
static json_t *json_prefix(const struct prefix *pfx)
{
	char buf[64];

	return json_string(policy_pfx_text(pfx, buf, sizeof(buf)));
}

/**
 * json_ports() - a rule's ports as a JSON array: numbers, "LO-HI" ranges
 * @r:		rule
 *
 * Return: new reference
 */
static json_t *json_ports(const struct rule *r)
{
	json_t *jp = json_array();
	char buf[16];
	size_t j;

	for (j = 0; j < r->nports; j++) {
		if (r->ports[j].lo == r->ports[j].hi) {
			json_array_append_new(jp, json_integer(r->ports[j].lo));
		} else {
			snprintf(buf, sizeof(buf), "%u-%u", r->ports[j].lo,
				 r->ports[j].hi);
			json_array_append_new(jp, json_string(buf));
		}
	}
	return jp;
}

/**
 * policy_to_json() - the normalised policy as a JSON object
 * @p:		policy
 *
 * The content and field names are those of policy_print().
 *
 * Return: new reference
 */
json_t *policy_to_json(const struct policy *p)
{
	json_t *o = json_object(), *eg, *in, *dns, *lim, *a, *ttl, *rec;
	const char *s;
	char buf[128];
	size_t i, j, k;

	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "network", json_string(net_mode_name(p->mode)));

	eg = json_object();
	s = egress_default_name(p->egress_default);
	json_object_set_new(eg, "default", json_string(s));
	a = json_array();
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		json_t *jr = json_object();

		json_object_set_new(jr, r->allow ? "allow" : "deny",
				    json_string(policy_target_text(r, buf,
								   sizeof(buf))));
		if (r->nports)
			json_object_set_new(jr, "ports", json_ports(r));
		json_object_set_new(jr, "protocol",
				    json_string(proto_name(r->proto)));
		json_array_append_new(a, jr);
	}
	json_object_set_new(eg, "rules", a);
	json_object_set_new(o, "egress", eg);

	in = json_object();
	a = json_array();
	for (i = 0; i < p->npublish; i++)
		json_array_append_new(a, json_string(policy_publish_text(
			&p->publish[i], buf, sizeof(buf))));
	json_object_set_new(in, "publish", a);
	a = json_array();
	for (i = 0; i < p->nallow_from; i++)
		json_array_append_new(a, json_prefix(&p->allow_from[i]));
	json_object_set_new(in, "allow_from", a);
	a = json_array();
	for (i = 0; i < p->naccept; i++) {
		json_t *jr = json_object();

		json_object_set_new(jr, "from", json_string(p->accept[i].domain));
		json_object_set_new(jr, "ports", json_ports(&p->accept[i]));
		json_object_set_new(jr, "protocol",
				    json_string(proto_name(p->accept[i].proto)));
		json_array_append_new(a, jr);
	}
	json_object_set_new(in, "accept", a);
	json_object_set_new(o, "ingress", in);

	dns = json_object();
	json_object_set_new(dns, "rebind_protection",
			    json_boolean(p->rebind_protection));
	a = json_array();
	for (i = 0; i < p->ndns_block; i++)
		json_array_append_new(a, json_string(p->dns_block[i]));
	json_object_set_new(dns, "block", a);
	rec = json_object();
	for (i = 0; i < p->ndns_records; i = j) {
		for (j = i + 1; j < p->ndns_records; j++) {
			if (strcmp(p->dns_records[i].name,
				   p->dns_records[j].name))
				break;
		}
		if (j - i == 1) {
			a = json_prefix(&p->dns_records[i].addr);
			json_object_set_new(rec, p->dns_records[i].name, a);
		} else {
			a = json_array();
			for (k = i; k < j; k++)
				json_array_append_new(a,
					json_prefix(&p->dns_records[k].addr));
			json_object_set_new(rec, p->dns_records[i].name, a);
		}
	}
	json_object_set_new(dns, "records", rec);
	a = json_array();
	for (i = 0; i < p->ndns_upstream; i++)
		json_array_append_new(a, json_prefix(&p->dns_upstream[i]));
	json_object_set_new(dns, "upstream", a);
	ttl = json_object();
	json_object_set_new(ttl, "min", json_integer(p->ttl_min));
	json_object_set_new(ttl, "max", json_integer(p->ttl_max));
	json_object_set_new(dns, "ttl", ttl);
	json_object_set_new(o, "dns", dns);

	lim = json_object();
	json_object_set_new(lim, "bandwidth", json_string(
		policy_rate_text(p->bandwidth_bps, buf, sizeof(buf))));
	json_object_set_new(lim, "connections", json_integer(
		p->connections ? p->connections : POLICY_CONNECTIONS_DEFAULT));
	json_object_set_new(lim, "flows", json_integer(
		p->flows ? p->flows : POLICY_FLOWS_DEFAULT));
	json_object_set_new(o, "limits", lim);

	a = json_array();
	for (i = 0; i < p->nsecrets; i++) {
		const struct secret *sec = &p->secrets[i];
		json_t *js = json_object(), *jh = json_array(), *jw;

		json_object_set_new(js, "name", json_string(sec->name));
		json_object_set_new(js, sec->from_env ? "from_env" : "from_file",
				    json_string(sec->source));
		for (j = 0; j < sec->nhosts; j++)
			json_array_append_new(jh, json_string(sec->hosts[j]));
		json_object_set_new(js, "hosts", jh);
		if (sec->set_header) {
			autofree char *line = xasprintf("%s: %s",
							sec->set_header,
							sec->set_value);

			json_object_set_new(js, "set", json_string(line));
		} else {
			jw = json_array();
			if (sec->replace_in & SECRET_IN_HEADERS)
				json_array_append_new(jw, json_string("headers"));
			if (sec->replace_in & SECRET_IN_QUERY)
				json_array_append_new(jw, json_string("query"));
			if (sec->replace_in & SECRET_IN_BODY)
				json_array_append_new(jw, json_string("body"));
			json_object_set_new(js, "replace_in", jw);
		}
		json_array_append_new(a, js);
	}
	json_object_set_new(o, "secrets", a);
	a = json_array();
	for (i = 0; i < p->nintercept; i++)
		json_array_append_new(a, json_string(p->intercept[i]));
	json_object_set_new(o, "intercept", a);

	return o;
}
