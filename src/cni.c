// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * cni.c - moat as a CNI plugin
 *
 * Theory of operation
 * -------------------
 * A container runtime that speaks CNI (containerd, and through it the
 * kubelet; Podman's CNI backend) runs a plugin executable named by the
 * network configuration's "type" from its CNI bin directory, with the
 * command in CNI_COMMAND and the network configuration as JSON on
 * standard input. Installed there as "moat" (a link to, or copy of, this
 * binary), moat is that plugin: main() hands over to cni_main() whenever
 * CNI_COMMAND is set, before looking at its arguments.
 *
 * ADD is "moat attach": the namespace CNI_NETNS, holding nothing but lo,
 * becomes the inside of a sandbox named "cni-" followed by the first 44
 * characters of CNI_CONTAINERID (CNI's container IDs use the characters
 * of moat's names), with moat's interface inside named CNI_IFNAME. Its
 * policy (cni_policy()) is a policy file, the first that exists of, with
 * "policyDir" set: DIR/NAME.yaml for a name the runtime passed (CNI_ARGS
 * MOAT_POLICY=NAME, or the pod annotation io.moat.policy that containerd
 * passes in runtimeConfig), DIR/NAMESPACE/POD.yaml and DIR/NAMESPACE.yaml
 * for CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME, DIR/default.yaml; else
 * the configuration's "policy" file; else moat's default policy. The
 * configuration's "allow" and "deny" lists go in front of the file's rules,
 * as --allow/--deny do, and "default_egress" replaces the file's default.
 * The result names both ends of the link (the host's, and CNI_IFNAME in
 * CNI_NETNS), the sandbox's addresses with the gateway, a default route
 * and the gateway as the nameserver; moat answers DNS there. An ADD for a
 * container whose namespace is already its sandbox's inside, with the
 * same interface, prints the same result again; anything else already
 * there is refused. A prevResult (moat after another plugin in a chain) is
 * extended with moat's interfaces and addresses; a plugin before moat
 * must not have given the namespace an interface, or moat refuses it, as
 * "moat attach" does.
 *
 * DEL removes the sandbox ("moat rm -f"), and succeeds when there is none
 * (or when the sandbox of that name is not an attached one: not the
 * plugin's).
 * CHECK verifies the sandbox exists and runs, that CNI_NETNS is its inside,
 * that its host interface is there and that CNI_IFNAME inside has the
 * recorded addresses, as does the prevResult if one is given. VERSION
 * prints the versions understood.
 *
 * Errors are CNI's error object on standard output and exit status 1. The
 * messages moat prints while attaching (its standard error) are copied
 * into "details" as well as to standard error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <jansson.h>

#include "cni.h"
#include "common.h"
#include "err.h"
#include "netns.h"
#include "policy.h"
#include "sandbox.h"
#include "state.h"

/* CNI's error codes (spec 1.0.0) and moat's own (100 and up) */
#define CNI_ERR_VERSION		1	/* incompatible CNI version */
#define CNI_ERR_ENV		4	/* invalid necessary environment variables */
#define CNI_ERR_IO		5	/* I/O failure */
#define CNI_ERR_DECODE		6	/* failed to decode content */
#define CNI_ERR_CONFIG		7	/* invalid network config */
#define CNI_ERR_REFUSED		100	/* moat refused the namespace or policy */
#define CNI_ERR_FAILED		101	/* moat failed */
#define CNI_ERR_NO_SANDBOX	102	/* CHECK: no sandbox for the container */
#define CNI_ERR_NOT_RUNNING	103	/* CHECK: the sandbox is not running */
#define CNI_ERR_MISMATCH	104	/* CHECK: interface or address not as recorded */
#define CNI_ERR_EXISTS		105	/* ADD: the container has another sandbox */

#define CNI_NAME_PREFIX		"cni-"
#define CNI_POLICY_NAME_MAX	128

static const char *const cni_versions[] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0",
};

/**
 * struct cni_ctx - one invocation
 * @cmd:	CNI_COMMAND
 * @version:	the configuration's cniVersion, used in what is printed
 * @conf:	the network configuration
 * @id:		CNI_CONTAINERID
 * @netns:	CNI_NETNS
 * @ifname:	CNI_IFNAME
 * @args:	CNI_ARGS
 * @name:	the sandbox's name
 * @errfd:	memfd collecting standard error while attaching, or -1
 * @saved_err:	the real standard error while @errfd is in its place
 */
struct cni_ctx {
	const char *cmd;
	const char *version;
	json_t *conf;
	const char *id;
	const char *netns;
	const char *ifname;
	const char *args;
	char name[MOAT_NAME_MAX + 1];
	int errfd;
	int saved_err;
};

/**
 * cni_capture_end() - put standard error back, return what was written
 * @x:		invocation
 *
 * Return: new string (possibly empty), copied to the real standard error
 */
static char *cni_capture_end(struct cni_ctx *x)
{
	char *buf;
	off_t n;

	fflush(stderr);
	if (x->errfd < 0)
		return xstrdup("");
	n = lseek(x->errfd, 0, SEEK_END);
	if (n < 0)
		n = 0;
	if (n > 8192)
		n = 8192;
	buf = xmalloc((size_t)n + 1);
	if (pread(x->errfd, buf, (size_t)n, 0) != n)
		n = 0;
	buf[n] = '\0';
	dup2(x->saved_err, STDERR_FILENO);
	close(x->saved_err);
	close(x->errfd);
	x->errfd = -1;
	if (n && write(STDERR_FILENO, buf, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

/**
 * cni_capture_begin() - collect standard error, to report it as "details"
 * @x:		invocation
 */
static void cni_capture_begin(struct cni_ctx *x)
{
	fflush(stderr);
	x->errfd = memfd_create("moat-cni-stderr", MFD_CLOEXEC);
	if (x->errfd < 0)
		return;
	x->saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (x->saved_err < 0 || dup2(x->errfd, STDERR_FILENO) < 0) {
		if (x->saved_err >= 0)
			close(x->saved_err);
		close(x->errfd);
		x->errfd = -1;
	}
}

/**
 * cni_error() - print CNI's error object
 * @x:		invocation (standard error captured, if it is)
 * @code:	error code
 * @details:	details, or NULL for what standard error said, if captured
 * @fmt:	message
 *
 * Return: 1, the plugin's exit status
 */
static int PRINTF_FMT(4, 5) cni_error(struct cni_ctx *x, int code,
				      const char *details, const char *fmt, ...)
{
	autofree char *captured = cni_capture_end(x);
	char msg[1024];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!details)
		details = captured;
	o = json_pack("{s:s, s:i, s:s}", "cniVersion",
		      x->version ? x->version : "1.0.0", "code", code,
		      "msg", msg);
	if (o && *details)
		json_object_set_new(o, "details", json_string(details));
	if (o)
		json_dumpf(o, stdout, JSON_INDENT(2));
	printf("\n");
	fflush(stdout);
	json_decref(o);
	fprintf(stderr, "moat: CNI %s: %s\n", x->cmd, msg);
	return 1;
}

/**
 * cni_version_known() - is a cniVersion one moat speaks
 * @v:		version
 *
 * Return: true if listed in cni_versions
 */
static bool cni_version_known(const char *v)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cni_versions); i++)
		if (!strcmp(v, cni_versions[i]))
			return true;
	return false;
}

/**
 * cni_arg() - one KEY=VALUE of CNI_ARGS ("K1=V1;K2=V2")
 * @args:	CNI_ARGS, or NULL
 * @key:	key
 * @buf:	value, NUL-terminated
 * @len:	size of @buf
 *
 * Return: true if present and it fits
 */
static bool cni_arg(const char *args, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	const char *p = args;

	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			if (n - kl - 1 >= len)
				return false;
			memcpy(buf, p + kl + 1, n - kl - 1);
			buf[n - kl - 1] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/**
 * cni_policy_name_ok() - a name that may only select a file in policyDir
 * @s:		name
 *
 * Return: true for 1 to CNI_POLICY_NAME_MAX characters of [A-Za-z0-9_.-],
 *	   not starting with a dot
 */
static bool cni_policy_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > CNI_POLICY_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/**
 * cni_policy_file() - which policy file applies to this container
 * @x:		invocation
 * @path:	set to the file, empty for moat's default policy
 *
 * Return: 0, or a CNI error code after cni_error()
 */
static int cni_policy_file(struct cni_ctx *x, char *path)
{
	const char *dir = json_string_value(json_object_get(x->conf, "policyDir"));
	const char *file = json_string_value(json_object_get(x->conf, "policy"));
	char chosen[CNI_POLICY_NAME_MAX + 1] = "", ns[256], pod[256];
	const char *ann;
	json_t *rc;

	path[0] = '\0';
	if (json_object_get(x->conf, "policyDir") && !dir)
		return cni_error(x, CNI_ERR_CONFIG, "", "\"policyDir\" is not a string");
	if (json_object_get(x->conf, "policy") && !file)
		return cni_error(x, CNI_ERR_CONFIG, "", "\"policy\" is not a string");

	rc = json_object_get(x->conf, "runtimeConfig");
	ann = json_string_value(json_object_get(json_object_get(rc,
			"io.kubernetes.cri.pod-annotations"), "io.moat.policy"));
	if (cni_arg(x->args, "MOAT_POLICY", chosen, sizeof(chosen)) || ann) {
		if (!*chosen)
			snprintf(chosen, sizeof(chosen), "%s", ann);
		if (!dir)
			return cni_error(x, CNI_ERR_CONFIG, "",
					 "policy '%s' asked for, but the network configuration has no \"policyDir\"",
					 chosen);
		if (!cni_policy_name_ok(chosen))
			return cni_error(x, CNI_ERR_CONFIG, "",
					 "policy name '%.64s' is not a name of [A-Za-z0-9_.-]",
					 chosen);
		snprintf(path, PATH_MAX, "%s/%s.yaml", dir, chosen);
		if (access(path, F_OK))
			return cni_error(x, CNI_ERR_CONFIG, "",
					 "policy '%s' asked for: no %s", chosen, path);
		return 0;
	}
	if (dir) {
		bool k8s = cni_arg(x->args, "K8S_POD_NAMESPACE", ns, sizeof(ns)) &&
			   cni_policy_name_ok(ns);

		if (k8s && cni_arg(x->args, "K8S_POD_NAME", pod, sizeof(pod)) &&
		    cni_policy_name_ok(pod)) {
			snprintf(path, PATH_MAX, "%s/%s/%s.yaml", dir, ns, pod);
			if (!access(path, F_OK))
				return 0;
		}
		if (k8s) {
			snprintf(path, PATH_MAX, "%s/%s.yaml", dir, ns);
			if (!access(path, F_OK))
				return 0;
		}
		snprintf(path, PATH_MAX, "%s/default.yaml", dir);
		if (!access(path, F_OK))
			return 0;
		path[0] = '\0';
	}
	if (file)
		snprintf(path, PATH_MAX, "%s", file);
	return 0;
}

/**
 * cni_policy() - the container's effective policy
 * @x:		invocation
 * @p:		initialised policy, filled in
 *
 * Return: 0, or the plugin's exit status after cni_error()
 */
static int cni_policy(struct cni_ctx *x, struct policy *p)
{
	static const char *const keys[] = { "allow", "deny" };
	struct errlist el = { 0 };
	char path[PATH_MAX], *buf = NULL;
	const char *eg;
	struct policy cli;
	size_t i, k, blen = 0;
	json_t *v;
	FILE *f;
	int ret = 0;

	if (cni_policy_file(x, path))
		return 1;
	if (*path && policy_load_file(p, path, &el))
		goto bad;
	policy_init(&cli);
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		json_t *list = json_object_get(x->conf, keys[k]);

		if (list && !json_is_array(list)) {
			policy_free(&cli);
			return cni_error(x, CNI_ERR_CONFIG, "",
					 "\"%s\" is not a list of rules", keys[k]);
		}
		json_array_foreach(list, i, v) {
			char opt[32];

			snprintf(opt, sizeof(opt), "\"%s\"", keys[k]);
			if (!json_is_string(v))
				errlist_add(&el, "network configuration", 0, 0,
					    "%s: item %zu is not a string", keys[k], i);
			else
				policy_parse_rule_arg(&cli, json_string_value(v),
						      k == 0, opt, &el);
		}
	}
	if (!el.n && cli.nrules && policy_prepend_rules(p, cli.rules, cli.nrules))
		errlist_add(&el, "network configuration", 0, 0,
			    "cannot combine the rules with the policy");
	policy_free(&cli);
	eg = json_string_value(json_object_get(x->conf, "default_egress"));
	if (json_object_get(x->conf, "default_egress") && !eg)
		eg = "";
	if (eg && !strcmp(eg, "public"))
		p->egress_default = EGRESS_PUBLIC;
	else if (eg && !strcmp(eg, "deny"))
		p->egress_default = EGRESS_DENY;
	else if (eg && !strcmp(eg, "allow"))
		p->egress_default = EGRESS_ALLOW;
	else if (eg)
		errlist_add(&el, "network configuration", 0, 0,
			    "default_egress: '%s' is not public, deny or allow", eg);
	if (!el.n && p->mode == NET_NONE)
		errlist_add(&el, *path ? path : "policy", 0, 0,
			    "network none: an attached namespace gets moat's network, and none has none");
	if (!el.n)
		policy_check_supported(p, &el);
	if (!el.n)
		return 0;
bad:
	f = open_memstream(&buf, &blen);
	if (f) {
		errlist_print(&el, f);
		fclose(f);
	}
	while (blen && buf[blen - 1] == '\n')
		buf[--blen] = '\0';
	ret = cni_error(x, CNI_ERR_CONFIG, buf ? buf : "",
			"the policy%s%s is refused", *path ? " " : "", path);
	free(buf);
	errlist_free(&el);
	return ret;
}

/**
 * struct cni_link - what cni_link_read() finds of one interface
 * @ifname:	interface name
 * @mac:	its MAC address, text, empty if not found
 * @addrs:	with @want, set if these addresses are on it
 * @want:	addresses to look for (NULL-terminated by family 0), or NULL
 * @found:	set if the interface exists
 * @nfound:	how many of @want were found
 */
struct cni_link {
	const char *ifname;
	char mac[18];
	const struct prefix *want;
	bool found;
	size_t nfound;
};

/**
 * cni_link_read() - an interface's MAC and addresses, in the namespace of
 * the calling thread
 * @arg:	struct cni_link
 *
 * Return: 0
 */
static int cni_link_read(void *arg)
{
	struct cni_link *l = arg;
	struct ifaddrs *ifa, *i;
	struct ifreq ifr = { 0 };
	autoclose int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	size_t w;

	l->mac[0] = '\0';
	l->found = false;
	l->nfound = 0;
	if (s < 0 || strlen(l->ifname) >= IFNAMSIZ)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", l->ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr))
		return 0;
	l->found = true;
	addr_mac_format((const uint8_t *)ifr.ifr_hwaddr.sa_data, l->mac);
	if (!l->want || getifaddrs(&ifa))
		return 0;
	for (w = 0; l->want[w].family; w++) {
		for (i = ifa; i; i = i->ifa_next) {
			const void *a;

			if (!i->ifa_addr || strcmp(i->ifa_name, l->ifname) ||
			    i->ifa_addr->sa_family != l->want[w].family)
				continue;
			a = l->want[w].family == AF_INET ?
			    (const void *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr :
			    (const void *)&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
			if (!memcmp(a, l->want[w].addr,
				    l->want[w].family == AF_INET ? 4 : 16)) {
				l->nfound++;
				break;
			}
		}
	}
	freeifaddrs(ifa);
	return 0;
}

/**
 * cni_addr_text() - an address without its length, or with the length it
 * has on the sandbox's link (/30 and /64, as sandbox.c adds them)
 * @p:		prefix
 * @with_len:	"ADDR/LEN" rather than "ADDR"
 * @buf:	output, INET6_ADDRSTRLEN + 4 bytes
 *
 * Return: @buf
 */
static const char *cni_addr_text(const struct prefix *p, bool with_len,
				 char *buf)
{
	inet_ntop(p->family, p->addr, buf, INET6_ADDRSTRLEN);
	if (with_len)
		strcat(buf, p->family == AF_INET ? "/30" : "/64");
	return buf;
}

/**
 * cni_result() - the result of ADD for a sandbox, chained after prevResult
 * @x:		invocation
 * @s:		the sandbox's record
 * @nsfd:	its namespace
 *
 * Return: new JSON object
 */
static json_t *cni_result(struct cni_ctx *x, const struct sb_state *s,
			  int nsfd)
{
	json_t *prev = json_object_get(x->conf, "prevResult");
	json_t *r = json_is_object(prev) ? json_deep_copy(prev) : json_object();
	struct cni_link host = { .ifname = s->ifname };
	struct cni_link in = { .ifname = s->inner };
	const struct prefix *addr[2] = { &s->addr4, &s->addr6 };
	const struct prefix *gw[2] = { &s->gw4, &s->gw6 };
	json_t *ifs, *ips, *routes, *dns, *ns;
	char a[INET6_ADDRSTRLEN + 4], g[INET6_ADDRSTRLEN + 4];
	bool v1 = !strcmp(x->version, "1.0.0");
	size_t base, k;

	cni_link_read(&host);
	netns_run_in(nsfd, cni_link_read, &in);
	json_object_set_new(r, "cniVersion", json_string(x->version));
	ifs = json_object_get(r, "interfaces");
	if (!json_is_array(ifs)) {
		ifs = json_array();
		json_object_set_new(r, "interfaces", ifs);
	}
	ips = json_object_get(r, "ips");
	if (!json_is_array(ips)) {
		ips = json_array();
		json_object_set_new(r, "ips", ips);
	}
	routes = json_object_get(r, "routes");
	if (!json_is_array(routes)) {
		routes = json_array();
		json_object_set_new(r, "routes", routes);
	}
	json_array_append_new(ifs, json_pack("{s:s, s:s}", "name", s->ifname,
					     "mac", host.mac));
	base = json_array_size(ifs);
	json_array_append_new(ifs, json_pack("{s:s, s:s, s:s}", "name", s->inner,
					     "mac", in.mac, "sandbox", x->netns));
	for (k = 0; k < 2; k++) {
		json_t *ip;

		if (!addr[k]->family || (k == 1 && !s->has_v6))
			continue;
		ip = json_pack("{s:s, s:s, s:i}",
			       "address", cni_addr_text(addr[k], true, a),
			       "gateway", cni_addr_text(gw[k], false, g),
			       "interface", (int)base);
		if (!v1)
			json_object_set_new(ip, "version", json_string(k ? "6" : "4"));
		json_array_append_new(ips, ip);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst",
				      k ? "::/0" : "0.0.0.0/0", "gw",
				      cni_addr_text(gw[k], false, a)));
	}
	dns = json_object_get(r, "dns");
	ns = json_object_get(dns, "nameservers");
	if (!json_is_array(ns) || !json_array_size(ns)) {
		if (!json_is_object(dns)) {
			dns = json_object();
			json_object_set_new(r, "dns", dns);
		}
		json_object_set_new(dns, "nameservers",
				    json_pack("[s]", cni_addr_text(&s->gw4, false, a)));
	}
	return r;
}

/**
 * cni_print() - print a result
 * @r:		result (reference taken)
 *
 * Return: 0
 */
static int cni_print(json_t *r)
{
	json_dumpf(r, stdout, JSON_INDENT(2));
	printf("\n");
	fflush(stdout);
	json_decref(r);
	return 0;
}

/**
 * cni_add() - ADD: attach CNI_NETNS as the container's sandbox
 * @x:		invocation
 * @c:		settings
 *
 * Return: exit status
 */
static int cni_add(struct cni_ctx *x, const struct moat_config *c)
{
	struct sb_attach at = { .nsfd = -1 };
	char other[MOAT_NAME_MAX + 1];
	struct sb_opts o = { 0 };
	struct sb_state s;
	struct policy p;
	int ret, nsfd;

	cni_capture_begin(x);
	if (!sandbox_ifname_valid(x->ifname))
		return cni_error(x, CNI_ERR_ENV, "",
				 "CNI_IFNAME '%.32s' is not an interface name moat can give", x->ifname);
	nsfd = netns_open_net(x->netns);
	if (nsfd < 0)
		return cni_error(x, nsfd == -ENOENT || nsfd == -EINVAL ?
				 CNI_ERR_ENV : CNI_ERR_IO, "",
				 "CNI_NETNS %s: %s", x->netns,
				 nsfd == -EINVAL ? "not a network namespace" :
				 strerror(-nsfd));
	/* the same ADD again: the same answer */
	if (sandbox_attached_to(c, nsfd, other, sizeof(other)) == 1) {
		if (strcmp(other, x->name)) {
			ret = cni_error(x, CNI_ERR_EXISTS, "",
					"%s is already the inside of sandbox '%s'",
					x->netns, other);
		} else if (state_read(c, x->name, &s) || strcmp(s.inner, x->ifname)) {
			ret = cni_error(x, CNI_ERR_EXISTS, "",
					"the container has sandbox '%s' already, with another interface",
					x->name);
		} else {
			free(cni_capture_end(x));
			ret = cni_print(cni_result(x, &s, nsfd));
		}
		close(nsfd);
		return ret;
	}
	policy_init(&p);
	if (cni_policy(x, &p)) {
		policy_free(&p);
		close(nsfd);
		return 1;
	}
	at.nsfd = nsfd;
	at.path = x->netns;
	at.ifname = x->ifname;
	o.name = x->name;
	o.pol = &p;
	o.attach = &at;
	ret = sandbox_create(c, &o, &s);
	policy_free(&p);
	if (ret) {
		close(nsfd);
		return cni_error(x, ret == SANDBOX_REFUSED ? CNI_ERR_REFUSED :
				 CNI_ERR_FAILED, NULL,
				 "moat could not attach %s as sandbox '%s'",
				 x->netns, x->name);
	}
	free(cni_capture_end(x));
	ret = cni_print(cni_result(x, &s, nsfd));
	close(nsfd);
	return ret;
}

/**
 * cni_del() - DEL: remove the container's sandbox, if there is one
 * @x:		invocation
 * @c:		settings
 *
 * Return: exit status
 */
static int cni_del(struct cni_ctx *x, const struct moat_config *c)
{
	int ret;

	struct sb_state s;

	/* a sandbox of that name that "moat create" made is not the plugin's */
	if (!state_read(c, x->name, &s) && !s.attached)
		return 0;
	cni_capture_begin(x);
	ret = sandbox_destroy(c, x->name, true, false);
	if (ret < 0)
		return cni_error(x, CNI_ERR_FAILED, NULL,
				 "moat could not remove sandbox '%s'", x->name);
	free(cni_capture_end(x));
	return 0;
}

/**
 * cni_check_prev() - does the prevResult name the sandbox's addresses
 * @x:		invocation
 * @s:		the sandbox's record
 *
 * Return: NULL if so (or if there is none), else the address missing
 */
static const struct prefix *cni_check_prev(struct cni_ctx *x,
					   const struct sb_state *s)
{
	json_t *ips = json_object_get(json_object_get(x->conf, "prevResult"), "ips");
	const struct prefix *want[2] = { &s->addr4, &s->addr6 };
	char a[INET6_ADDRSTRLEN + 4];
	size_t i, k;
	json_t *v;

	if (!json_object_get(x->conf, "prevResult"))
		return NULL;
	for (k = 0; k < 2; k++) {
		bool seen = false;

		if (!want[k]->family || (k == 1 && !s->has_v6))
			continue;
		cni_addr_text(want[k], true, a);
		json_array_foreach(ips, i, v) {
			const char *t = json_string_value(json_object_get(v, "address"));

			if (t && !strcmp(t, a))
				seen = true;
		}
		if (!seen)
			return want[k];
	}
	return NULL;
}

/**
 * cni_check() - CHECK: the sandbox is there, runs, and is as recorded
 * @x:		invocation
 * @c:		settings
 *
 * Return: exit status
 */
static int cni_check(struct cni_ctx *x, const struct moat_config *c)
{
	struct prefix want[3] = { { 0 } };
	struct cni_link host, in = { 0 };
	char other[MOAT_NAME_MAX + 1], st[STATE_STATUS_TEXT_LEN];
	char a[INET6_ADDRSTRLEN + 4];
	const struct prefix *miss;
	enum sb_status status;
	struct sb_state s;
	autoclose int nsfd = -1;
	size_t nwant = 0;
	int err;

	err = state_read(c, x->name, &s);
	if (err == -ENOENT)
		return cni_error(x, CNI_ERR_NO_SANDBOX, "",
				 "no sandbox '%s' for container %s", x->name, x->id);
	if (err)
		return cni_error(x, CNI_ERR_IO, "",
				 "the record of sandbox '%s' is unreadable", x->name);
	state_status_text(&s, &status, st, sizeof(st));
	if (status != SB_RUNNING)
		return cni_error(x, CNI_ERR_NOT_RUNNING, "",
				 "sandbox '%s' is %s", x->name, st);
	nsfd = netns_open_net(x->netns);
	if (nsfd < 0 || sandbox_attached_to(c, nsfd, other, sizeof(other)) != 1 ||
	    strcmp(other, x->name))
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "%s is not the inside of sandbox '%s'", x->netns, x->name);
	if (strcmp(s.inner, x->ifname))
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "sandbox '%s' has interface %s inside, not %s",
				 x->name, s.inner, x->ifname);
	host = (struct cni_link){ .ifname = s.ifname };
	cni_link_read(&host);
	if (!host.found)
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "sandbox '%s': its host interface %s is gone", x->name, s.ifname);
	if (s.addr4.family)
		want[nwant++] = s.addr4;
	if (s.has_v6 && s.addr6.family)
		want[nwant++] = s.addr6;
	in.ifname = s.inner;
	in.want = want;
	err = netns_run_in(nsfd, cni_link_read, &in);
	if (err || !in.found)
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "sandbox '%s': no interface %s in %s", x->name, s.inner, x->netns);
	if (in.nfound != nwant)
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "sandbox '%s': %s in %s lacks its address %s", x->name, s.inner,
				 x->netns, cni_addr_text(&s.addr4, true, a));
	miss = cni_check_prev(x, &s);
	if (miss)
		return cni_error(x, CNI_ERR_MISMATCH, "",
				 "the prevResult lacks the sandbox's address %s",
				 cni_addr_text(miss, true, a));
	return 0;
}

/**
 * cni_env() - take a CNI variable out of the environment
 * @key:	its name
 *
 * The processes moat starts (a sandbox's supervisor is this binary again)
 * must not find themselves plugins.
 *
 * Return: its value (a copy, kept to the end), or NULL if unset
 */
static const char *cni_env(const char *key)
{
	const char *v = getenv(key);
	char *copy = v ? xstrdup(v) : NULL;

	unsetenv(key);
	return copy;
}

/**
 * cni_env_free() - free the copies cni_env() made
 * @x:		context
 */
static void cni_env_free(struct cni_ctx *x)
{
	free((char *)x->cmd);
	free((char *)x->id);
	free((char *)x->netns);
	free((char *)x->ifname);
	free((char *)x->args);
	x->cmd = x->id = x->netns = x->ifname = x->args = NULL;
}

/**
 * cni_main() - run as a CNI plugin (CNI_COMMAND is set)
 *
 * Return: exit status: 0, or 1 after printing CNI's error object
 */
int cni_main(void)
{
	struct cni_ctx x = { .errfd = -1, .saved_err = -1 };
	struct moat_config c;
	json_error_t jerr;
	const char *v;
	char *err = NULL;
	int ret;

	x.cmd = cni_env("CNI_COMMAND");
	x.id = cni_env("CNI_CONTAINERID");
	x.netns = cni_env("CNI_NETNS");
	x.ifname = cni_env("CNI_IFNAME");
	x.args = cni_env("CNI_ARGS");
	unsetenv("CNI_PATH");
	msg_prog = "moat";
	if (!strcmp(x.cmd, "VERSION")) {
		json_t *r = json_pack("{s:s, s:[s,s,s,s]}", "cniVersion", "1.0.0",
				      "supportedVersions", cni_versions[0],
				      cni_versions[1], cni_versions[2],
				      cni_versions[3]);

		cni_env_free(&x);
		return cni_print(r);
	}
	x.conf = json_loadf(stdin, 0, &jerr);
	if (!json_is_object(x.conf)) {
		ret = cni_error(&x, CNI_ERR_DECODE, jerr.text,
				"the network configuration on standard input is not a JSON object");
		goto out;
	}
	v = json_string_value(json_object_get(x.conf, "cniVersion"));
	if (!v)
		ret = cni_error(&x, CNI_ERR_CONFIG, "",
				"the network configuration has no \"cniVersion\"");
	else if (!cni_version_known(v))
		ret = cni_error(&x, CNI_ERR_VERSION, "",
				"cniVersion %.32s is not one moat speaks (0.3.0 to 1.0.0)", v);
	else
		ret = -1;
	if (ret >= 0)
		goto out;
	x.version = v;
	if (strcmp(x.cmd, "ADD") && strcmp(x.cmd, "DEL") && strcmp(x.cmd, "CHECK")) {
		ret = cni_error(&x, CNI_ERR_ENV, "",
				"CNI_COMMAND '%.32s' is not ADD, DEL, CHECK or VERSION", x.cmd);
		goto out;
	}
	if (!strcmp(x.cmd, "CHECK") && strncmp(v, "0.3.", 4) == 0) {
		ret = cni_error(&x, CNI_ERR_VERSION, "",
				"CHECK needs cniVersion 0.4.0 or later, not %s", v);
		goto out;
	}
	if (!x.id || !*x.id || !x.ifname || !*x.ifname ||
	    (strcmp(x.cmd, "DEL") && (!x.netns || !*x.netns))) {
		ret = cni_error(&x, CNI_ERR_ENV, "",
				"CNI_CONTAINERID, CNI_IFNAME%s must be set",
				strcmp(x.cmd, "DEL") ? " and CNI_NETNS" : "");
		goto out;
	}
	snprintf(x.name, sizeof(x.name), CNI_NAME_PREFIX "%.44s", x.id);
	if (!state_name_valid(x.name)) {
		ret = cni_error(&x, CNI_ERR_ENV, "",
				"CNI_CONTAINERID '%.64s' is not of [A-Za-z0-9_.-]", x.id);
		goto out;
	}
	if (geteuid()) {
		ret = cni_error(&x, CNI_ERR_FAILED, "",
				"moat must run as root: it changes the host's network");
		goto out;
	}
	if (state_config_load(&c, &err)) {
		ret = cni_error(&x, CNI_ERR_CONFIG, "", "moat's settings: %s",
				err ? err : "unreadable");
		free(err);
		goto out;
	}
	if (!strcmp(x.cmd, "ADD"))
		ret = cni_add(&x, &c);
	else if (!strcmp(x.cmd, "DEL"))
		ret = cni_del(&x, &c);
	else
		ret = cni_check(&x, &c);
out:
	json_decref(x.conf);
	cni_env_free(&x);
	return ret;
}
