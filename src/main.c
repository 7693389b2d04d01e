// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * main.c - the command line
 *
 * Theory of operation
 * -------------------
 * "moat COMMAND [OPTIONS] [ARGS]": each command is one function,
 * cmd_COMMAND(), taking argc/argv after the command name; those of "moat
 * logs" and "moat verify" live with what they do (logs.c, verify.c), the
 * others here, and cli.c has what they all share (usage errors, help, root
 * and configuration checks). Options are parsed with getopt_long; the
 * sandbox options shared by run, create and attach build one effective
 * policy: the --policy file, with rules from --allow/--deny in front of
 * the file's (command-line rules are evaluated first), then the
 * overrides. Every
 * error is one line on stderr, and the exit status says what kind it was
 * (SPEC §6): 0 success, 1 policy failure, 2 usage, 125 moat failed, or the
 * command's own status for run and exec. The help texts here and the man
 * pages under man/ say the same thing; keep them in step.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "adopt.h"
#include "cli.h"
#include "cni.h"
#include "err.h"
#include "exec.h"
#include "guard.h"
#include "log.h"
#include "logs.h"
#include "netns.h"
#include "nft.h"
#include "ocihook.h"
#include "policy.h"
#include "sblink.h"
#include "prom.h"
#include "ptest.h"
#include "sandbox.h"
#include "secrets.h"
#include "state.h"
#include "stats.h"
#include "statsd.h"
#include "supervisor.h"
#include "svctl.h"
#include "update.h"
#include "verify.h"

/* why the commands that create, change and remove sandboxes need root */
#define MAIN_ROOT_WHY	"it changes the host's network"

#define MAIN_PUBLISH_MAX	64	/* --publish options on one command line */

static const char usage_main[] =
"Usage: moat [--verbose] COMMAND [OPTIONS] [ARGS]\n"
"\n"
"Give a sandbox its own network and enforce, on the host, what it may reach.\n"
"\n"
"Commands:\n"
"  run [OPTIONS] -- CMD [ARG...]   create a sandbox, run CMD inside, remove it\n"
"  create NAME [OPTIONS]           create a sandbox and leave it running\n"
"  attach NAME --netns PATH|--pid PID [OPTIONS]\n"
"                                  make a container's network namespace a\n"
"                                  sandbox's inside\n"
"  oci-hook [--print-config]       a container runtime's hook: attach a\n"
"                                  container annotated io.moat.policy=FILE\n"
"  oci-runtime [--policy=FILE] RUNC-ARGS...\n"
"                                  runc with moat's hook added (Docker)\n"
"  exec NAME [--user U] -- CMD     run CMD inside an existing sandbox\n"
"  update NAME [OPTIONS]           replace a running sandbox's policy\n"
"  adopt NAME... | --all           give sandboxes whose supervisor died a new one\n"
"  rm [-f] NAME...                 remove sandboxes\n"
"  ls [--json]                     list sandboxes\n"
"  inspect NAME [--json]           show a sandbox's addresses, policy, counters\n"
"  policy check FILE               validate a policy and print it normalised\n"
"  policy test FILE DEST[:PORT][/PROTO]\n"
"                                  what the policy does with one destination\n"
"  logs NAME [--follow] [--json]   denied flows and DNS/proxy decisions\n"
"  stats [NAME] [--json|--prometheus|--listen ADDR:PORT]\n"
"                                  allowed and denied traffic by reason\n"
"  verify [--simulate] [--json]    prove isolation with canary sandboxes and a\n"
"                                  ruleset audit; exit 1 on a breach\n"
"                                  (--simulate: offline, in a throwaway world)\n"
"\n"
"Run 'moat COMMAND --help' or 'moat help COMMAND' for a command's options;\n"
"see moat(1).\n"
"Exit status: 0 success, 1 policy failure, 2 usage, 125 moat failed;\n"
"run and exec return the command's own status.\n";

static const char usage_sandbox_opts[] =
"Sandbox options:\n"
"  --policy FILE             load a policy file (see moat.policy(5))\n"
"  --name NAME               sandbox name (run: default run-XXXXXXXX)\n"
"  --allow RULE              allow a destination, before the file's rules\n"
"  --deny RULE               deny a destination, before the file's rules\n"
"  --accept sandbox:NAME:PORTS[/PROTO]\n"
"                            let sandbox NAME connect in on PORTS, when its\n"
"                            policy allows sandbox:THIS on them too (a link)\n"
"  --default-egress public|deny|allow\n"
"                            what no rule matches (default: public)\n"
"  --no-net                  network none: only lo inside\n"
"  --restricted              network restricted: nothing out, published ports work\n"
"  --publish [BIND:]HOSTPORT:SANDBOXPORT[/tcp|/udp]\n"
"                            serve a sandbox port on the host (BIND 127.0.0.1)\n"
"  --dns-upstream ADDR       resolver the sandbox's DNS interceptor forwards to\n"
"                            (repeatable; default: /etc/resolv.conf's)\n"
"  --no-rebind-protection    let DNS answers carry non-public addresses\n"
"  --bandwidth RATE          limit each direction, e.g. 100mbit, at most\n"
"                            17gbit (tc on the host end of the link)\n"
"  --tap[=IFNAME]            a TAP device (default tap0) for a VM guest, which\n"
"                            gets the sandbox's address by DHCP (docs/VM.md)\n"
"  --tap-owner USER          who may open it (default: the host user the\n"
"                            command of run, or of exec, runs as)\n"
"  --allow-foreign-drop      create it even if another table's forward chain\n"
"                            would drop its traffic (docs/HOST.md)\n"
"RULE: TARGET[:PORTS][/PROTO], e.g. 10.0.0.0/8:5432/tcp, [2001:db8::1]:443\n"
"      (IPv6 with a port in brackets), 2001:db8::/32,\n"
"      host:11434, metadata, 140.82.112.0/20:22,443/tcp, github.com:443,\n"
"      *.githubusercontent.com:443 (a domain allows only the addresses moat's\n"
"      DNS answered this sandbox for it; a domain deny answers NXDOMAIN),\n"
"      sandbox:db:5432/tcp (a link: sandbox db must --accept this one too;\n"
"      inside, db.moat.internal is its address)\n";

static const char usage_run[] =
"Usage: moat run [OPTIONS] -- CMD [ARG...]\n"
"\n"
"Create a sandbox, run CMD inside it as an unprivileged user, remove the\n"
"sandbox when CMD exits, and exit with CMD's status. CMD has its own PID,\n"
"user and mount namespaces: no host process, no capability, its root (if\n"
"any) not the host's, moat's run directory, /run, /tmp, /var/tmp and\n"
"/dev/shm empty (see moat-run(1)).\n"
"\n"
"  --user UID[:GID]          run CMD as this user (default: the user who ran\n"
"                            sudo, else the caller); UID 0 maps to the user\n"
"                            who ran sudo, else to 65534, on the host\n"
"  -q, --quiet               no summary of what the sandbox was denied (by\n"
"                            default printed to stderr when CMD exits, at\n"
"                            most 10 destinations; all: moat logs NAME)\n";

static const char usage_create[] =
"Usage: moat create NAME [OPTIONS]\n"
"\n"
"Create a sandbox and leave it running under its supervisor; print its name.\n"
"\n";

static const char usage_attach[] =
"Usage: moat attach NAME (--netns PATH | --pid PID) [--ifname IFNAME] [OPTIONS]\n"
"\n"
"Make a sandbox whose inside is a network namespace someone else made, a\n"
"container's, holding nothing but lo: moat adds its interface, addresses,\n"
"routes and rules as 'moat create' does, and starts its supervisor. The\n"
"sandbox is listed, inspected, logged, updated and removed like any other,\n"
"and ends by itself when the namespace does (the container stopped). DNS to\n"
"any resolver, 127.0.0.53 included, is answered by moat. Prints its name.\n"
"\n"
"  --netns PATH              the namespace by a path: /run/netns/NAME,\n"
"                            /proc/PID/ns/net, a runtime's namespace file\n"
"  --pid PID                 the namespace of process PID\n"
"  --ifname IFNAME           moat's interface inside (default eth0)\n"
"\n"
"Exit status: 0 attached; 1 the namespace is refused (the host's own,\n"
"another sandbox's, one with interfaces besides lo, not a network namespace,\n"
"no such process or file) or the policy is; 2 usage; 125 moat failed, and\n"
"the namespace is as it was (see moat-attach(1)).\n"
"\n";

static const char usage_update[] =
"Usage: moat update NAME [--policy FILE] [--allow RULE]... [--deny RULE]...\n"
"                        [--accept sandbox:NAME:PORTS[/PROTO]]...\n"
"                        [--default-egress public|deny|allow]\n"
"                        [--no-rebind-protection]\n"
"\n"
"Replace a running sandbox's policy at once, without recreating it: its\n"
"address, interface, log and the connections the new policy allows stay;\n"
"the connections it refuses are cut. With --policy the file replaces the\n"
"policy; without it the current policy is kept and changed by the options.\n"
"--allow/--deny rules go in front (first match wins), --accept links too;\n"
"links to and from other sandboxes open and close at once. The network mode,\n"
"published ports, bandwidth, DNS upstreams and connection limit cannot\n"
"change live. An invalid policy changes nothing (exit 1; see moat-update(1)).\n"
"\n"
"  --policy FILE             the new policy (see moat.policy(5))\n"
"  --allow RULE              allow a destination, before the other rules\n"
"  --deny RULE               deny a destination, before the other rules\n"
"  --accept sandbox:NAME:PORTS[/PROTO]\n"
"                            let sandbox NAME connect in on PORTS (a link)\n"
"  --default-egress public|deny|allow\n"
"                            what no rule matches\n"
"  --no-rebind-protection    let DNS answers carry non-public addresses\n";

static const char usage_exec[] =
"Usage: moat exec NAME [--user UID[:GID]] -- CMD [ARG...]\n"
"\n"
"Run CMD inside an existing sandbox, as an unprivileged user, and exit with\n"
"its status. CMD has its own PID, user and mount namespaces, as with\n"
"'moat run' (see moat-exec(1)).\n"
"\n"
"  --user UID[:GID]          run CMD as this user (default: the user who ran\n"
"                            sudo, else the caller); UID 0 maps to the user\n"
"                            who ran sudo, else to 65534, on the host\n";

static const char usage_adopt[] =
"Usage: moat adopt NAME...\n"
"       moat adopt --all\n"
"\n"
"Give a sandbox whose supervisor is not running (killed, or crashed: 'moat\n"
"ls' shows it degraded, supervisor not running) a new supervisor, without\n"
"recreating it: its DNS, proxy, published ports and log work again, the\n"
"pins its DNS answers made are kept, and rules damaged meanwhile (a\n"
"firewall reload) are restored. Prints the name of each sandbox adopted.\n"
"\n"
"  --all                     every sandbox whose supervisor is not running\n"
"\n"
"Exit status: 0 adopted; 1 no such sandbox, or one that cannot be adopted\n"
"(its supervisor runs, it is dead or being created, or its 'moat run' has\n"
"ended); 2 usage; 125 the new supervisor did not start (see moat-adopt(1)).\n";

static const char usage_rm[] =
"Usage: moat rm [-f|--force] NAME...\n"
"\n"
"Remove sandboxes: interface, rules, namespace and state. Without --force a\n"
"sandbox that still has processes inside, or whose supervisor is dead, is\n"
"refused; with it, those processes are killed and whatever is left removed.\n"
"An attached sandbox's namespace and processes are its container's: they\n"
"stay, with lo alone (no network). Exit status 1 if a sandbox does not exist.\n";

static const char usage_ls[] =
"Usage: moat ls [--json]\n"
"\n"
"List sandboxes: name, status, network, address, interface, supervisor and\n"
"the reason for a status other than running. Every sandbox stays closed by\n"
"the kernel's rules; the status says which of moat's services it has:\n"
"  running    supervisor running, rules in place\n"
"  degraded   closed, a service missing: 'rules absent' (a firewall reload;\n"
"             its supervisor restores them) or 'supervisor not running'\n"
"             (no DNS, proxy or published ports; 'moat adopt' gives it a\n"
"             new supervisor), or both\n"
"  dead       supervisor not running and its network namespace or host\n"
"             interface gone: 'moat rm -f' removes the rest\n"
"  creating   being set up, or its set-up was interrupted\n"
"  broken     its record cannot be read\n";

static const char usage_inspect[] =
"Usage: moat inspect NAME [--json]\n"
"\n"
"Show a sandbox: name, netns path (for an attached sandbox, the path it was\n"
"attached by, and the namespace's identity), addresses, gateway, host and\n"
"inside interfaces, supervisor pid, effective policy, counters.\n";

static const char usage_policy[] =
"Usage: moat policy check FILE\n"
"       moat policy test FILE DEST[:PORT][/PROTO]\n"
"\n"
"check: validate a policy file and print it normalised. Errors are printed\n"
"as FILE:LINE:COL: message; the exit status is then 1. Warnings, for what\n"
"loads but cannot work as written (a rule shadowed by an earlier one, a\n"
"duplicate, default deny with no name allowed while addresses are), are\n"
"printed as FILE:LINE:COL: warning: message and leave the status 0.\n"
"\n"
"test: what the policy does with traffic to DEST: a name, an address\n"
"([2001:db8::1]:443 with a port) or 'host'; PORT defaults to 443, PROTO\n"
"(tcp, udp, icmp) to tcp. Prints the verdict, the rule that decides\n"
"(number and FILE:LINE:COL) and the path (dns, proxy, kernel). Exit status\n"
"0 allowed, 1 denied (or an invalid policy), 2 usage.\n";

enum {
	OPT_POLICY = 256, OPT_NAME, OPT_ALLOW, OPT_DENY, OPT_ACCEPT,
	OPT_DEFAULT_EGRESS,
	OPT_NO_NET, OPT_RESTRICTED, OPT_PUBLISH, OPT_DNS_UPSTREAM,
	OPT_NO_REBIND, OPT_USER, OPT_BANDWIDTH, OPT_JSON, OPT_HELP, OPT_QUIET,
	OPT_NETNS, OPT_PID, OPT_IFNAME, OPT_TAP, OPT_TAP_OWNER,
	OPT_ALLOW_FOREIGN_DROP,
};

/* what parse_sb_args() takes beyond the sandbox options */
#define SB_ARGS_RUN	0x1	/* --user, --quiet (moat run) */
#define SB_ARGS_ATTACH	0x2	/* --netns, --pid, --ifname (moat attach) */

/**
 * struct sb_args - sandbox options as given
 * @policy_file:	--policy
 * @name:		--name or the positional name
 * @user:		--user
 * @cli:		rules from --allow/--deny, in order, and --accept links
 * @default_egress:	--default-egress, or -1
 * @no_net:		--no-net
 * @restricted:		--restricted
 * @publish:		--publish specs
 * @npublish:		their number
 * @upstream:		--dns-upstream addresses
 * @nupstream:		their number
 * @no_rebind:		--no-rebind-protection
 * @bandwidth:		--bandwidth, or NULL
 * @quiet:		--quiet (run: no summary of denials)
 * @netns:		--netns (attach)
 * @pid:		--pid (attach), 0 if not given
 * @ifname:		--ifname (attach)
 * @tap:		--tap[=IFNAME], or NULL
 * @tap_owner:		--tap-owner, or -1: the host UID of the command's user
 * @allow_foreign_drop:	--allow-foreign-drop (not update)
 */
struct sb_args {
	const char *policy_file;
	const char *name;
	const char *user;
	struct policy cli;
	int default_egress;
	bool no_net;
	bool restricted;
	struct publish publish[MAIN_PUBLISH_MAX];
	size_t npublish;
	struct prefix upstream[POLICY_UPSTREAM_MAX];
	size_t nupstream;
	bool no_rebind;
	const char *bandwidth;
	bool quiet;
	const char *netns;
	pid_t pid;
	const char *ifname;
	const char *tap;
	long long tap_owner;
	bool allow_foreign_drop;
};

static const struct option sb_longopts[] = {
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "accept", required_argument, NULL, OPT_ACCEPT },
	{ "default-egress", required_argument, NULL, OPT_DEFAULT_EGRESS },
	{ "no-net", no_argument, NULL, OPT_NO_NET },
	{ "restricted", no_argument, NULL, OPT_RESTRICTED },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM },
	{ "no-rebind-protection", no_argument, NULL, OPT_NO_REBIND },
	{ "user", required_argument, NULL, OPT_USER },
	{ "bandwidth", required_argument, NULL, OPT_BANDWIDTH },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "ifname", required_argument, NULL, OPT_IFNAME },
	{ "tap", optional_argument, NULL, OPT_TAP },
	{ "tap-owner", required_argument, NULL, OPT_TAP_OWNER },
	{ "allow-foreign-drop", no_argument, NULL, OPT_ALLOW_FOREIGN_DROP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/**
 * parse_tap_arg() - --tap[=IFNAME] or --tap-owner USER
 * @a:		options so far
 * @owner:	it is --tap-owner
 * @arg:	its value (NULL for a bare --tap)
 *
 * Return: 0, or -1 if @arg is not a TAP device name or a user
 */
static int parse_tap_arg(struct sb_args *a, bool owner, const char *arg)
{
	struct exec_user u;

	if (!owner) {
		a->tap = arg ? arg : SANDBOX_TAP_DEFAULT;
		return sandbox_tap_name_ok(a->tap) ? 0 : -1;
	}
	if (exec_parse_user(arg, &u))
		return -1;
	a->tap_owner = u.uid;
	return 0;
}

/**
 * parse_sb_args() - parse the sandbox options of run, create, attach and
 * update
 * @cmd:	command name, for messages
 * @argc:	argument count (argv[0] is the command)
 * @argv:	arguments
 * @a:		filled in
 * @extra:	SB_ARGS_RUN, SB_ARGS_ATTACH: the command's own options
 *
 * Return: 0, or an exit status after printing the error
 */
static int parse_sb_args(const char *cmd, int argc, char **argv,
			 struct sb_args *a, unsigned extra)
{
	bool with_user = extra & SB_ARGS_RUN;
	struct errlist el = { 0 };
	int opt, li = 0;

	memset(a, 0, sizeof(*a));
	policy_init(&a->cli);
	a->default_egress = -1;
	a->tap_owner = -1;
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "+q", sb_longopts, &li)) != -1) {
		if (opt != '?' && optarg && !strcmp(optarg, "--"))
			return cli_usage_error(cmd, "--%s needs a value before '--'",
					       sb_longopts[li].name);
		switch (opt) {
		case OPT_POLICY:
			a->policy_file = optarg;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_ALLOW:
		case OPT_DENY:
			if (policy_parse_rule_arg(&a->cli, optarg, opt == OPT_ALLOW,
						  opt == OPT_ALLOW ? "--allow" : "--deny",
						  &el)) {
				errlist_print(&el, stderr);
				errlist_free(&el);
				return MOAT_EXIT_USAGE;
			}
			break;
		case OPT_ACCEPT:
			if (policy_parse_accept_arg(&a->cli, optarg, &el)) {
				errlist_print(&el, stderr);
				errlist_free(&el);
				return MOAT_EXIT_USAGE;
			}
			break;
		case OPT_DEFAULT_EGRESS:
			if (!strcmp(optarg, "public"))
				a->default_egress = EGRESS_PUBLIC;
			else if (!strcmp(optarg, "deny"))
				a->default_egress = EGRESS_DENY;
			else if (!strcmp(optarg, "allow"))
				a->default_egress = EGRESS_ALLOW;
			else
				return cli_usage_error(cmd, "--default-egress '%s': expected public, deny or allow",
						       optarg);
			break;
		case OPT_NO_NET:
			a->no_net = true;
			break;
		case OPT_RESTRICTED:
			a->restricted = true;
			break;
		case OPT_PUBLISH:
			if (a->npublish == ARRAY_SIZE(a->publish))
				return cli_usage_error(cmd, "too many --publish options (at most %zu)",
						       ARRAY_SIZE(a->publish));
			if (policy_parse_publish(optarg, &a->publish[a->npublish],
						 "--publish", 0, 0, &el)) {
				errlist_print(&el, stderr);
				errlist_free(&el);
				return MOAT_EXIT_USAGE;
			}
			a->npublish++;
			break;
		case OPT_DNS_UPSTREAM:
			if (a->nupstream == ARRAY_SIZE(a->upstream))
				return cli_usage_error(cmd, "too many --dns-upstream options (at most %zu)",
						       ARRAY_SIZE(a->upstream));
			if (addr_parse(optarg, &a->upstream[a->nupstream]))
				return cli_usage_error(cmd, "--dns-upstream '%s': not an IPv4 or IPv6 address",
						       optarg);
			a->nupstream++;
			break;
		case OPT_NO_REBIND:
			a->no_rebind = true;
			break;
		case OPT_USER:
			if (!with_user)
				return cli_usage_error(cmd, "unknown option '--user'");
			a->user = optarg;
			break;
		case OPT_QUIET:
		case 'q':
			if (!with_user)
				return cli_usage_error(cmd, "unknown option '--quiet'");
			a->quiet = true;
			break;
		case OPT_NETNS:
		case OPT_PID:
		case OPT_IFNAME: {
			char *end;
			long v;

			if (!(extra & SB_ARGS_ATTACH))
				return cli_usage_error(cmd, "unknown option '--%s'",
						       sb_longopts[li].name);
			if (opt == OPT_NETNS) {
				a->netns = optarg;
				break;
			}
			if (opt == OPT_IFNAME) {
				if (!sandbox_ifname_valid(optarg))
					return cli_usage_error(cmd, "--ifname '%s': use 1 to 15 letters, digits, '_', '.' or '-', not lo",
							       optarg);
				a->ifname = optarg;
				break;
			}
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0 || v > INT32_MAX)
				return cli_usage_error(cmd, "--pid '%s': expected a process ID",
						       optarg);
			a->pid = (pid_t)v;
			break;
		}
		case OPT_BANDWIDTH: {
			uint64_t bps;

			if (policy_parse_rate(optarg, &bps))
				return cli_usage_error(cmd, "--bandwidth '%s': expected a rate such as 100mbit",
						       optarg);
			if (bps && (bps < POLICY_BANDWIDTH_MIN ||
				    bps > POLICY_BANDWIDTH_MAX))
				return cli_usage_error(cmd, "--bandwidth '%s': beyond what tc can shape (8bit to %llubit, about 17gbit)",
						       optarg, POLICY_BANDWIDTH_MAX);
			a->bandwidth = optarg;
			break;
		}
		case OPT_TAP:
		case OPT_TAP_OWNER:
			if (parse_tap_arg(a, opt == OPT_TAP_OWNER, optarg))
				return cli_usage_error(cmd, opt == OPT_TAP ?
						       "--tap=%s: not an interface name for a TAP device (not lo or eth0)" :
						       "--tap-owner '%s': not a user", optarg);
			break;
		case OPT_ALLOW_FOREIGN_DROP:
			if (!strcmp(cmd, "update"))
				return cli_usage_error(cmd, "unknown option '--allow-foreign-drop'");
			a->allow_foreign_drop = true;
			break;
		case OPT_HELP:
			return MOAT_EXIT_USAGE;
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	if (a->tap_owner >= 0 && !a->tap)
		return cli_usage_error(cmd, "--tap-owner without --tap");
	if (a->tap && a->no_net)
		return cli_usage_error(cmd, "--tap and --no-net exclude each other: a TAP device needs a network");
	if (a->no_net && a->restricted)
		return cli_usage_error(cmd, "--no-net and --restricted exclude each other");
	if (a->name && !state_name_valid(a->name))
		return cli_usage_error(cmd, "name '%s': use 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit",
				       a->name, MOAT_NAME_MAX);
	return 0;
}

/**
 * build_policy() - the effective policy from a file and the options
 * @a:		parsed options
 * @p:		initialised policy to fill
 *
 * Return: 0, or an exit status after printing the errors
 */
static int build_policy(struct sb_args *a, struct policy *p)
{
	struct errlist el = { 0 };
	size_t i;

	if (a->policy_file && policy_load_file(p, a->policy_file, &el)) {
		errlist_print(&el, stderr);
		errlist_free(&el);
		return MOAT_EXIT_POLICY;
	}
	if (a->cli.nrules && policy_prepend_rules(p, a->cli.rules, a->cli.nrules)) {
		msg_err("cannot combine the command-line rules with the policy");
		return MOAT_EXIT_FAILURE;
	}
	if (a->cli.naccept && policy_prepend_accept(p, a->cli.accept,
						    a->cli.naccept)) {
		msg_err("cannot combine --accept with the policy");
		return MOAT_EXIT_FAILURE;
	}
	if (a->default_egress >= 0)
		p->egress_default = a->default_egress;
	if (a->no_net)
		p->mode = NET_NONE;
	if (a->restricted)
		p->mode = NET_RESTRICTED;
	if (a->npublish) {
		p->publish = xrealloc(p->publish, (p->npublish + a->npublish) *
				      sizeof(*p->publish));
		for (i = 0; i < a->npublish; i++)
			p->publish[p->npublish++] = a->publish[i];
	}
	if (a->nupstream) {
		p->loc_dns_upstream = (struct srcloc){ "--dns-upstream", 0, 0 };
		p->dns_upstream = xrealloc(p->dns_upstream,
					   (p->ndns_upstream + a->nupstream) *
					   sizeof(*p->dns_upstream));
		for (i = 0; i < a->nupstream; i++)
			p->dns_upstream[p->ndns_upstream++] = a->upstream[i];
	}
	if (a->no_rebind)
		p->rebind_protection = false;
	if (a->bandwidth)
		p->loc_bandwidth = (struct srcloc){ "--bandwidth", 0, 0 };
	if (a->bandwidth)
		policy_parse_rate(a->bandwidth, &p->bandwidth_bps);

	for (i = 0; i < p->npublish; i++) {
		size_t j;

		for (j = 0; j < i; j++) {
			if (p->publish[i].host_port == p->publish[j].host_port &&
			    p->publish[i].proto == p->publish[j].proto &&
			    !memcmp(&p->publish[i].bind, &p->publish[j].bind,
				    sizeof(p->publish[i].bind))) {
				msg_err("host port %u/%s is published twice",
					p->publish[i].host_port,
					proto_name(p->publish[i].proto));
				return MOAT_EXIT_POLICY;
			}
		}
	}
	if (p->mode == NET_NONE && p->npublish) {
		msg_err("ports cannot be published with network none: the "
			"sandbox has no interface; use --restricted");
		return MOAT_EXIT_POLICY;
	}
	if (policy_check_supported(p, &el)) {
		errlist_print(&el, stderr);
		errlist_free(&el);
		return MOAT_EXIT_POLICY;
	}
	return 0;
}

/**
 * random_name() - a name for a "moat run" sandbox without --name
 * @buf:	output, at least 16 bytes
 */
static void random_name(char *buf)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(buf, 16, "run-%08x", r);
}

/**
 * sandbox_resolv() - the resolv.conf to give a sandbox's processes
 * @c:		settings
 * @s:		the sandbox
 *
 * For network "filtered", a file in the sandbox's state directory that
 * names its DNS interceptor (rewritten each time: cheap, and always
 * current); otherwise none, and the host's stays.
 *
 * Return: path (static storage), or NULL
 */
static const char *sandbox_resolv(const struct moat_config *c,
				  const struct sb_state *s)
{
	static char path[PATH_MAX];
	autofree char *p = NULL;

	if (!s->has_net || strcmp(s->mode, net_mode_name(NET_FILTERED)))
		return NULL;
	p = state_path(c, s->name, "resolv.conf");
	snprintf(path, sizeof(path), "%s", p);
	if (exec_write_resolv_conf(path, &s->gw4, s->has_v6 ? &s->gw6 : NULL))
		return NULL;
	return path;
}

/**
 * tap_opts() - a TAP device and its owner for sandbox_create()
 * @a:		parsed options
 * @u:		the user the command runs as (unused without --tap)
 * @o:		its @tap and @tap_owner set: --tap-owner, or the host UID @u
 *		maps to (exec_outside_ids()), which a VMM run by "moat exec"
 *		or "moat run" as @u has
 */
static void tap_opts(const struct sb_args *a, const struct exec_user *u,
		     struct sb_opts *o)
{
	gid_t gid;
	uid_t uid;

	o->tap = a->tap;
	if (!a->tap)
		return;
	exec_outside_ids(u, &uid, &gid);
	o->tap_owner = a->tap_owner >= 0 ? (uid_t)a->tap_owner : uid;
}

/**
 * cmd_run() - moat run
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "run"
 *
 * Return: the command's exit status, or moat's
 */
static int cmd_run(int argc, char **argv)
{
	autofree char *bundle = NULL;
	struct moat_config c;
	struct exec_user u;
	struct sb_args a;
	struct sb_state s;
	struct policy p;
	char name[16];
	struct sb_opts o = { 0 };
	int ret, nsfd;
	bool gone;

	if (cli_want_help(argc, argv)) {
		printf("%s\n%s", usage_run, usage_sandbox_opts);
		return 0;
	}
	ret = parse_sb_args("run", argc, argv, &a, SB_ARGS_RUN);
	if (ret)
		goto out_args;
	if (optind >= argc) {
		ret = cli_usage_error("run", "missing the command to run (moat run [OPTIONS] -- CMD)");
		goto out_args;
	}
	if (a.user ? exec_parse_user(a.user, &u) : exec_default_user(&u)) {
		ret = MOAT_EXIT_USAGE;
		goto out_args;
	}
	if ((ret = cli_need_root("run", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		goto out_args;
	policy_init(&p);
	ret = build_policy(&a, &p);
	if (ret)
		goto out;
	if (!a.name)
		random_name(name);
	o.name = a.name ? a.name : name;
	o.pol = &p;
	o.run_mode = true;
	o.watch_pid = getpid();
	tap_opts(&a, &u, &o);
	o.allow_foreign_drop = a.allow_foreign_drop;
	if (sandbox_create(&c, &o, &s)) {
		ret = MOAT_EXIT_FAILURE;
		goto out;
	}
	sandbox_tap_env(&s);

	nsfd = sandbox_netns_open(&s);
	if (nsfd < 0) {
		msg_err("cannot open %s: %s", s.netns, strerror(-nsfd));
		ret = MOAT_EXIT_FAILURE;
	} else if (secrets_exec_env(&c, s.name, &p, &bundle)) {
		ret = MOAT_EXIT_FAILURE;
		close(nsfd);
	} else {
		ret = exec_run(nsfd, sandbox_resolv(&c, &s), bundle, c.run_dir,
			       &u, argv + optind, false);
		close(nsfd);
	}
	gone = !sandbox_destroy(&c, s.name, true, false);
	if (!gone && ret == 0)
		ret = MOAT_EXIT_FAILURE;
	if (gone && !a.quiet) {
		/* what it was denied, from the log teardown kept */
		autofree char *kept = log_archive_dir(&c, s.name);

		logs_summary(kept, s.name, stderr);
	}
out:
	policy_free(&p);
out_args:
	policy_free(&a.cli);
	return ret;
}

/**
 * parse_named_sb_args() - the arguments of "moat create|attach NAME [OPTIONS]"
 * @cmd:	command name
 * @argc:	argument count
 * @argv:	arguments, argv[0] = @cmd
 * @a:		filled in (the name from the argument or --name)
 * @extra:	as parse_sb_args()'s
 *
 * Return: 0, or an exit status after printing the error
 */
static int parse_named_sb_args(const char *cmd, int argc, char **argv,
			       struct sb_args *a, unsigned extra)
{
	int ret;

	/* NAME may come first: "moat create NAME [OPTIONS]" */
	if (argc > 1 && argv[1][0] != '-') {
		const char *name = argv[1];

		argv[1] = argv[0];
		ret = parse_sb_args(cmd, argc - 1, argv + 1, a, extra);
		if (!ret && a->name && strcmp(a->name, name))
			ret = cli_usage_error(cmd, "two names given: '%s' and '%s'",
					      name, a->name);
		if (!ret && !state_name_valid(name))
			ret = cli_usage_error(cmd, "name '%s': use 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit",
					      name, MOAT_NAME_MAX);
		a->name = name;
		argc--;
		argv++;
	} else {
		ret = parse_sb_args(cmd, argc, argv, a, extra);
	}
	if (ret)
		return ret;
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!a->name)
		return cli_usage_error(cmd, "missing the sandbox name");
	return 0;
}

/**
 * cmd_create() - moat create
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "create"
 *
 * Return: exit status
 */
static int cmd_create(int argc, char **argv)
{
	struct moat_config c;
	struct exec_user u;
	struct sb_args a;
	struct sb_state s;
	struct policy p;
	struct sb_opts o = { 0 };
	int ret;

	if (cli_want_help(argc, argv)) {
		printf("%s%s", usage_create, usage_sandbox_opts);
		return 0;
	}
	ret = parse_named_sb_args("create", argc, argv, &a, 0);
	if (ret)
		goto out_args;
	if ((ret = cli_need_root("create", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		goto out_args;
	policy_init(&p);
	ret = build_policy(&a, &p);
	if (ret)
		goto out;
	o.name = a.name;
	o.pol = &p;
	if (a.tap && exec_default_user(&u)) {
		ret = MOAT_EXIT_USAGE;
		goto out;
	}
	tap_opts(&a, &u, &o);
	o.allow_foreign_drop = a.allow_foreign_drop;
	ret = sandbox_create(&c, &o, &s);
	if (ret) {
		ret = ret == SANDBOX_REFUSED ? MOAT_EXIT_POLICY : MOAT_EXIT_FAILURE;
		goto out;
	}
	printf("%s\n", s.name);
	if (*s.tap) {
		char t[SANDBOX_TAP_TEXT_LEN];

		fflush(stdout);
		fprintf(stderr, "TAP %s\n", sandbox_tap_text(&s, t, sizeof(t)));
	}
out:
	policy_free(&p);
out_args:
	policy_free(&a.cli);
	return ret;
}

/**
 * attach_open() - open the namespace "moat attach" was given
 * @a:		parsed options (--netns or --pid)
 * @path:	set to the path to record (absolute), PATH_MAX bytes
 *
 * Return: descriptor, or an exit status (negated) after printing why
 */
static int attach_open(const struct sb_args *a, char *path)
{
	char cwd[PATH_MAX];
	int fd;

	if (a->pid)
		snprintf(path, PATH_MAX, "/proc/%d/ns/net", (int)a->pid);
	else if (a->netns[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(path, PATH_MAX, "%s", a->netns);
	else if (snprintf(path, PATH_MAX, "%s/%s", cwd, a->netns) >= PATH_MAX)
		snprintf(path, PATH_MAX, "%s", a->netns);
	fd = netns_open_net(path);
	if (fd >= 0)
		return fd;
	if (fd == -ENOENT && a->pid)
		msg_err("no process %d", (int)a->pid);
	else if (fd == -ENOENT)
		msg_err("%s: no such file", path);
	else if (fd == -EINVAL)
		msg_err("%s is not a network namespace", path);
	else
		msg_err("cannot open %s: %s", path, strerror(-fd));
	return fd == -ENOENT || fd == -EINVAL ? -MOAT_EXIT_POLICY :
	       -MOAT_EXIT_FAILURE;
}

/**
 * cmd_attach() - moat attach
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "attach"
 *
 * Return: 0, 1 if the namespace or the policy is refused, 2 on usage
 *	   errors, 125 if moat failed
 */
static int cmd_attach(int argc, char **argv)
{
	struct sb_attach at = { .nsfd = -1 };
	char path[PATH_MAX];
	struct moat_config c;
	struct sb_args a;
	struct sb_state s;
	struct policy p;
	struct sb_opts o = { 0 };
	int ret;

	if (cli_want_help(argc, argv)) {
		printf("%s%s", usage_attach, usage_sandbox_opts);
		return 0;
	}
	ret = parse_named_sb_args("attach", argc, argv, &a, SB_ARGS_ATTACH);
	if (!ret && !a.netns == !a.pid)
		ret = cli_usage_error("attach", a.netns ?
				      "--netns and --pid exclude each other" :
				      "missing the namespace: --netns PATH or --pid PID");
	if (!ret && a.no_net)
		ret = cli_usage_error("attach", "--no-net: an attached namespace gets moat's network, and none has none");
	if (!ret && a.tap)
		ret = cli_usage_error("attach", "--tap: a TAP device is for a sandbox moat makes; an attached namespace is its container's");
	if (ret)
		goto out_args;
	if ((ret = cli_need_root("attach", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		goto out_args;
	policy_init(&p);
	ret = build_policy(&a, &p);
	if (ret)
		goto out;
	if (p.mode == NET_NONE) {
		msg_err("the policy's network is none: an attached namespace gets moat's network, and none has none");
		ret = MOAT_EXIT_POLICY;
		goto out;
	}
	at.nsfd = attach_open(&a, path);
	if (at.nsfd < 0) {
		ret = -at.nsfd;
		goto out;
	}
	at.path = path;
	at.ifname = a.ifname;
	o.name = a.name;
	o.pol = &p;
	o.attach = &at;
	o.allow_foreign_drop = a.allow_foreign_drop;
	ret = sandbox_create(&c, &o, &s);
	close(at.nsfd);
	if (ret) {
		ret = ret == SANDBOX_REFUSED ? MOAT_EXIT_POLICY : MOAT_EXIT_FAILURE;
		goto out;
	}
	printf("%s\n", s.name);
out:
	policy_free(&p);
out_args:
	policy_free(&a.cli);
	return ret;
}

/**
 * cmd_update() - moat update
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "update"
 *
 * Return: exit status
 */
static int cmd_update(int argc, char **argv)
{
	autofree char *next = NULL;
	struct moat_config c;
	char stbuf[STATE_STATUS_TEXT_LEN];
	struct policy p, cur;
	json_t *resp = NULL;
	const char *name;
	enum sb_status st;
	struct sb_state s;
	struct sb_args a;
	int ret, lock, err;
	FILE *f;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_update);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error("update", "missing the sandbox name");
	name = argv[1];
	argv[1] = argv[0];
	ret = parse_sb_args("update", argc - 1, argv + 1, &a, 0);
	if (ret)
		goto out_args;
	if (a.name && strcmp(a.name, name))
		ret = cli_usage_error("update", "two names given: '%s' and '%s'",
				      name, a.name);
	else if (!state_name_valid(name))
		ret = cli_sandbox_name("update", name);
	else if (optind < argc - 1)
		ret = cli_usage_error("update", "unexpected argument '%s'",
				      argv[optind + 1]);
	else if (a.no_net || a.restricted)
		ret = cli_usage_error("update", "the network mode cannot change on a running sandbox");
	else if (a.npublish)
		ret = cli_usage_error("update", "published ports cannot change on a running sandbox");
	else if (a.bandwidth)
		ret = cli_usage_error("update", "the bandwidth limit cannot change on a running sandbox");
	else if (a.nupstream)
		ret = cli_usage_error("update", "DNS upstreams cannot change on a running sandbox");
	else if (a.tap)
		ret = cli_usage_error("update", "a TAP device cannot be added to a running sandbox");
	if (ret || (ret = cli_need_root("update", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		goto out_args;

	policy_init(&p);
	policy_init(&cur);
	lock = state_lock(&c);
	if (lock < 0) {
		msg_err("cannot lock %s: %s", c.run_dir, strerror(-lock));
		ret = MOAT_EXIT_FAILURE;
		goto out;
	}
	err = state_read(&c, name, &s);
	if (err == -ENOENT) {
		msg_err("no such sandbox: %s", name);
		ret = MOAT_EXIT_POLICY;
		goto out_lock;
	}
	if (err) {
		msg_err("the record of sandbox '%s' is unreadable", name);
		ret = MOAT_EXIT_FAILURE;
		goto out_lock;
	}
	state_status_text(&s, &st, stbuf, sizeof(stbuf));
	if (st != SB_RUNNING) {
		msg_err("sandbox '%s' is %s: its policy cannot change now%s%s%s",
			name, stbuf, st == SB_DEGRADED ?
			"; give it a supervisor again with 'moat adopt " : "",
			st == SB_DEGRADED ? name : "",
			st == SB_DEGRADED ? "'" : "");
		ret = MOAT_EXIT_FAILURE;
		goto out_lock;
	}
	if (sandbox_load_policy(&c, name, &cur)) {
		ret = MOAT_EXIT_FAILURE;
		goto out_lock;
	}
	if (!s.has_net) {
		msg_err("sandbox '%s' has network none: it has no policy to change",
			name);
		ret = MOAT_EXIT_POLICY;
		goto out_lock;
	}
	/* without --policy the current policy is the base */
	if (!a.policy_file && sandbox_load_policy(&c, name, &p)) {
		ret = MOAT_EXIT_FAILURE;
		goto out_lock;
	}
	if ((ret = build_policy(&a, &p)))
		goto out_lock;
	if (update_fixed_check(&cur, &p)) {
		ret = MOAT_EXIT_POLICY;
		goto out_lock;
	}
	next = state_path(&c, name, UPDATE_NEXT_FILE);
	f = fopen(next, "we");
	if (f)
		policy_print(&p, f);
	if (!f || fclose(f)) {
		msg_err("cannot write %s: %s", next, strerror(errno));
		ret = MOAT_EXIT_FAILURE;
		goto out_next;
	}
	err = svctl_request(&c, name, "update", &resp);
	if (err) {
		msg_err("the supervisor of '%s' did not answer: %s", name,
			strerror(-err));
		ret = MOAT_EXIT_FAILURE;
	} else if (!json_is_true(json_object_get(resp, "ok"))) {
		msg_err("the policy of '%s' was not changed: %s", name,
			json_string_value(json_object_get(resp, "error")) ?:
			"the supervisor refused");
		ret = MOAT_EXIT_FAILURE;
	} else {
		printf("%s: policy updated; %" JSON_INTEGER_FORMAT
		       " connection(s) cut, %" JSON_INTEGER_FORMAT " kept\n",
		       name,
		       json_integer_value(json_object_get(resp, "cut")) +
		       json_integer_value(json_object_get(resp, "proxy_cut")),
		       json_integer_value(json_object_get(resp, "kept")));
		if (json_object_get(resp, "conntrack_error"))
			msg_warn("cannot read the connection-tracking table: "
				 "established connections were not judged: %s",
				 json_string_value(json_object_get(resp,
							"conntrack_error")));
		/* links to and from it follow the new policy (sblink.c) */
		if (sblink_concerns(&c, name, &cur, &p) &&
		    sblink_sync(&c, NULL, NULL))
			ret = MOAT_EXIT_FAILURE;
	}
	json_decref(resp);
out_next:
	if (next)
		unlink(next);	/* the supervisor renamed it on success */
out_lock:
	state_unlock(lock);
out:
	policy_free(&cur);
	policy_free(&p);
out_args:
	policy_free(&a.cli);
	return ret;
}

/**
 * cmd_exec() - moat exec
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "exec"
 *
 * Return: the command's exit status, or moat's
 */
static int cmd_exec(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "user", required_argument, NULL, OPT_USER },
		{ NULL, 0, NULL, 0 },
	};
	char stbuf[STATE_STATUS_TEXT_LEN];
	const char *user = NULL, *name;
	autofree char *bundle = NULL;
	struct moat_config c;
	struct exec_user u;
	struct sb_state s;
	struct policy pol;
	enum sb_status st;
	int opt, ret, nsfd;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_exec);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error("exec", "missing the sandbox name");
	name = argv[1];
	argv[1] = argv[0];
	argc--;
	argv++;
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		if (opt != OPT_USER)
			return cli_bad_option("exec", argv);
		user = optarg;
	}
	if (optind >= argc)
		return cli_usage_error("exec", "missing the command to run (moat exec NAME -- CMD)");
	if (user ? exec_parse_user(user, &u) : exec_default_user(&u))
		return MOAT_EXIT_USAGE;
	if ((ret = cli_need_root("exec", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	ret = state_read(&c, name, &s);
	if (ret == -ENOENT) {
		msg_err("no such sandbox: %s", name);
		return MOAT_EXIT_POLICY;
	}
	if (ret) {
		msg_err("the record of sandbox '%s' is unreadable", name);
		return MOAT_EXIT_FAILURE;
	}
	state_status_text(&s, &st, stbuf, sizeof(stbuf));
	if (st == SB_DEGRADED) {
		msg_err("sandbox '%s' is %s; give it a supervisor again with "
			"'moat adopt %s', or remove it with 'moat rm -f %s'",
			name, stbuf, name, name);
		return MOAT_EXIT_FAILURE;
	}
	if (st != SB_RUNNING) {
		msg_err("sandbox '%s' is %s; remove it with 'moat rm -f %s'",
			name, stbuf, name);
		return MOAT_EXIT_FAILURE;
	}
	sandbox_tap_env(&s);
	policy_init(&pol);
	if (sandbox_load_policy(&c, name, &pol) ||
	    secrets_exec_env(&c, name, &pol, &bundle)) {
		policy_free(&pol);
		return MOAT_EXIT_FAILURE;
	}
	policy_free(&pol);
	nsfd = sandbox_netns_open(&s);
	if (nsfd < 0) {
		msg_err("cannot open the network namespace of '%s' (%s): %s",
			name, s.netns, strerror(-nsfd));
		return MOAT_EXIT_FAILURE;
	}
	ret = exec_run(nsfd, sandbox_resolv(&c, &s), bundle, c.run_dir, &u,
		       argv + optind, true);
	close(nsfd);
	return ret;
}

/**
 * cmd_rm() - moat rm
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "rm"
 *
 * Return: 0, 1 if a sandbox did not exist, 125 if one could not be removed
 */
static int cmd_rm(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct moat_config c;
	bool force = false;
	int opt, ret = 0, r, i;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_rm);
		return 0;
	}
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "f", lo, NULL)) != -1) {
		if (opt != 'f')
			return cli_bad_option("rm", argv);
		force = true;
	}
	if (optind >= argc)
		return cli_usage_error("rm", "missing the sandbox name");
	for (i = optind; i < argc; i++)
		if ((ret = cli_sandbox_name("rm", argv[i])))
			return ret;
	if ((ret = cli_need_root("rm", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	for (i = optind; i < argc; i++) {
		r = sandbox_destroy(&c, argv[i], force, false);
		if (r == 1 && ret == 0)
			ret = MOAT_EXIT_POLICY;
		else if (r < 0)
			ret = MOAT_EXIT_FAILURE;
	}
	return ret;
}

/**
 * cmd_adopt() - moat adopt
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "adopt"
 *
 * Return: 0 if every sandbox was adopted, 1 if one does not exist or
 *	   cannot be adopted, 125 if a supervisor did not start (the worst)
 */
static int cmd_adopt(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	bool all = false, failed = false, refused = false;
	struct moat_config c;
	size_t n = 0, i;
	int opt, ret;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_adopt);
		return 0;
	}
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt != 'a')
			return cli_bad_option("adopt", argv);
		all = true;
	}
	if (all && optind < argc)
		return cli_usage_error("adopt", "--all takes no sandbox name");
	if (!all && optind >= argc)
		return cli_usage_error("adopt", "missing the sandbox name (or --all)");
	for (i = optind; i < (size_t)argc; i++)
		if ((ret = cli_sandbox_name("adopt", argv[i])))
			return ret;
	if ((ret = cli_need_root("adopt", MAIN_ROOT_WHY)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	if (all && (ret = state_list(&c, &names, &n))) {
		msg_err("cannot list %s: %s", c.run_dir, strerror(-ret));
		free(names);
		return MOAT_EXIT_FAILURE;
	}
	for (i = 0; i < (all ? n : (size_t)(argc - optind)); i++) {
		const char *name = all ? names[i] : argv[optind + i];
		struct sb_state s;

		/* --all: only those whose supervisor is not running */
		if (all && (state_read(&c, name, &s) ||
			    state_status(&s) == SB_RUNNING ||
			    state_status(&s) == SB_CREATING))
			continue;
		switch (adopt_one(&c, name, all)) {
		case ADOPT_DONE:
		case ADOPT_NONE:
			break;
		case ADOPT_REFUSED:
			refused = true;
			break;
		case ADOPT_FAILED:
			failed = true;
			break;
		}
	}
	free(names);
	return failed ? MOAT_EXIT_FAILURE : refused ? MOAT_EXIT_POLICY : 0;
}

/**
 * json_opt() - parse a lone --json option
 * @cmd:	command name
 * @argc:	argument count
 * @argv:	arguments
 * @json:	set if --json was given
 * @npos:	number of positional arguments expected
 * @pos:	set to the positional arguments
 *
 * Return: 0, or an exit status after printing the error
 */
static int json_opt(const char *cmd, int argc, char **argv, bool *json,
		    int npos, char **pos)
{
	int i, n = 0;

	*json = false;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(cmd, "option '%s' is not valid here",
					       argv[i]);
		else if (n < npos)
			pos[n++] = argv[i];
		else
			return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
	}
	if (n < npos)
		return cli_usage_error(cmd, "missing the sandbox name");
	return 0;
}

/**
 * addr_str() - an address for display
 * @p:		address (family 0: none)
 * @buf:	buffer of INET6_ADDRSTRLEN bytes
 *
 * Return: @buf, or "-" if there is no address
 */
static const char *addr_str(const struct prefix *p, char *buf)
{
	if (!p->family || !inet_ntop(p->family, p->addr, buf, INET6_ADDRSTRLEN))
		return "-";
	return buf;
}

/**
 * cmd_ls() - moat ls
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "ls"
 *
 * Return: exit status
 */
static int cmd_ls(int argc, char **argv)
{
	char (*names)[MOAT_NAME_MAX + 1] = NULL;
	struct moat_config c;
	json_t *arr = NULL;
	size_t n = 0, i;
	int ret, base = -1;
	bool json;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_ls);
		return 0;
	}
	if ((ret = json_opt("ls", argc, argv, &json, 0, NULL)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	if ((ret = state_list(&c, &names, &n))) {
		msg_err("cannot list %s: %s", c.run_dir, strerror(-ret));
		free(names);
		return MOAT_EXIT_FAILURE;
	}
	if (n && geteuid() == 0)
		base = guard_intact_base();
	if (json)
		arr = json_array();
	else
		printf("%-24s %-9s %-10s %-15s %-10s %-10s %s\n", "NAME",
		       "STATUS", "NETWORK", "IPV4", "INTERFACE", "SUPERVISOR",
		       "REASON");
	for (i = 0; i < n; i++) {
		char b4[INET6_ADDRSTRLEN];
		const char *st, *why;
		struct sb_state s;

		if (state_read(&c, names[i], &s)) {
			if (json)
				json_array_append_new(arr, json_pack("{s:s,s:s}",
					"name", names[i], "status", "broken"));
			else
				printf("%-24s %-9s\n", names[i], "broken");
			continue;
		}
		st = state_status_name(guard_status(&c, &s, base, &why));
		if (json) {
			json_t *o = state_to_json(&s);

			json_object_set_new(o, "status", json_string(st));
			json_object_set_new(o, "reason", why ? json_string(why) :
					    json_null());
			json_array_append_new(arr, o);
		} else {
			printf("%-24s %-9s %-10s %-15s %-10s %-10d %s\n", s.name,
			       st, s.mode,
			       s.has_net ? addr_str(&s.addr4, b4) : "-",
			       s.has_net ? s.ifname : "-", (int)s.supervisor_pid,
			       why ? why : "-");
		}
	}
	if (json) {
		char *out = json_dumps(arr, JSON_INDENT(2));

		if (out)
			printf("%s\n", out);
		free(out);
		json_decref(arr);
	}
	free(names);
	return 0;
}

/**
 * inspect_links_text() - the "links:" lines of "moat inspect"
 * @links:	array from sblink_status()
 */
static void inspect_links_text(json_t *links)
{
	json_t *l;
	size_t i;

	printf("links:           %s\n", json_array_size(links) ? "" : "none");
	json_array_foreach(links, i, l) {
		const char *why = json_string_value(json_object_get(l, "why"));
		const char *dn = json_string_value(json_object_get(l, "name"));

		printf("  %-3s %s %s %s: %s%s%s\n",
		       json_string_value(json_object_get(l, "direction")),
		       !strcmp(json_string_value(json_object_get(l, "direction")),
			       "in") ? "from" : "to",
		       json_string_value(json_object_get(l, "peer")),
		       json_string_value(json_object_get(l, "ports")),
		       why ? "not live, " : "live",
		       why ? why : dn ? ", " : "", why ? "" : dn ? dn : "");
	}
}

/**
 * cmd_inspect() - moat inspect
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "inspect"
 *
 * Return: exit status
 */
static int cmd_inspect(int argc, char **argv)
{
	json_t *o, *counters = NULL, *sv = NULL;
	struct moat_config c;
	const char *why;
	enum sb_status st;
	struct sb_state s;
	struct policy p;
	char *name = NULL;
	bool json;
	int ret;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_inspect);
		return 0;
	}
	if ((ret = json_opt("inspect", argc, argv, &json, 1, &name)) ||
	    (ret = cli_load_config(&c)))
		return ret;
	if ((ret = cli_sandbox_name("inspect", name)))
		return ret;
	ret = state_read(&c, name, &s);
	if (ret == -ENOENT) {
		msg_err("no such sandbox: %s", name);
		return MOAT_EXIT_POLICY;
	}
	if (ret) {
		msg_err("the record of sandbox '%s' is unreadable", name);
		return MOAT_EXIT_FAILURE;
	}
	o = state_to_json(&s);
	st = guard_status(&c, &s, s.has_net && geteuid() == 0 ?
			  guard_intact(s.ifname) : -1, &why);
	json_object_set_new(o, "status", json_string(state_status_name(st)));
	json_object_set_new(o, "reason", why ? json_string(why) : json_null());
	policy_init(&p);
	if (sandbox_load_policy(&c, name, &p) == 0) {
		json_object_set_new(o, "policy", policy_to_json(&p));
		json_object_set_new(o, "links", sblink_status(&c, name, &p));
	} else {
		json_object_set_new(o, "policy", json_null());
		json_object_set_new(o, "links", json_array());
	}
	policy_free(&p);
	if (s.has_net && geteuid() == 0 && nft_counters_json(s.ifname, &counters) == 0)
		json_object_set_new(o, "counters", counters);
	else
		json_object_set_new(o, "counters", json_null());
	if (state_supervisor_alive(&s) &&
	    svctl_request(&c, name, "status", &sv) == 0)
		json_object_set_new(o, "supervisor", sv);
	else
		json_object_set_new(o, "supervisor", json_null());

	if (json) {
		char *out = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (out)
			printf("%s\n", out);
		free(out);
	} else {
		char b[INET6_ADDRSTRLEN];
		char *pol;

		printf("name:            %s\n", s.name);
		printf("status:          %s%s%s%s\n", state_status_name(st),
		       why ? " (" : "", why ? why : "", why ? ")" : "");
		printf("network:         %s\n", s.mode);
		printf("netns:           %s\n", s.netns);
		if (s.attached)
			printf("attached:        yes (namespace dev %llu inode %llu)\n",
			       s.netns_dev, s.netns_ino);
		else
			printf("attached:        no\n");
		printf("host_interface:  %s\n", s.has_net ? s.ifname : "-");
		printf("inside_interface: %s\n", s.has_net ? s.inner : "-");
		printf("ipv4:            %s\n", s.has_net ? addr_str(&s.addr4, b) : "-");
		printf("gateway4:        %s\n", s.has_net ? addr_str(&s.gw4, b) : "-");
		printf("ipv6:            %s\n", addr_str(&s.addr6, b));
		printf("gateway6:        %s\n", addr_str(&s.gw6, b));
		if (*s.tap) {
			char t[SANDBOX_TAP_TEXT_LEN];

			printf("tap:             %s\n",
			       sandbox_tap_text(&s, t, sizeof(t)));
		}
		printf("supervisor_pid:  %d\n", (int)s.supervisor_pid);
		printf("adoptions:       %u\n", s.adoptions);
		inspect_links_text(json_object_get(o, "links"));
		pol = json_dumps(json_object_get(o, "counters"), JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("counters:        %s\n", pol ? pol : "null");
		free(pol);
		pol = json_dumps(json_object_get(o, "supervisor"), JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("supervisor:      %s\n", pol ? pol : "null");
		free(pol);
		pol = json_dumps(json_object_get(o, "policy"), JSON_INDENT(2));
		printf("policy:          %s\n", pol ? pol : "null");
		free(pol);
	}
	json_decref(o);
	return 0;
}

/**
 * cmd_policy_test() - moat policy test FILE DEST[:PORT][/PROTO]
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "policy", argv[1] = "test"
 *
 * Return: 0 if allowed, 1 if denied or the policy is invalid, 2 on usage
 *	   errors
 */
static int cmd_policy_test(int argc, char **argv)
{
	struct errlist el = { 0 };
	struct ptest_dest d;
	struct moat_config c;
	struct policy p;
	int ret;

	if (argc != 4)
		return cli_usage_error("policy", argc < 4 ?
				       "expected 'test FILE DEST[:PORT][/PROTO]'" :
				       "expected one policy file and one destination");
	if (ptest_parse_dest(argv[3], &d, &el)) {
		errlist_print(&el, stderr);
		errlist_free(&el);
		return cli_usage_error("policy", "DEST is a name, an address or 'host', then an optional :PORT and /tcp, /udp or /icmp");
	}
	if ((ret = cli_load_config(&c)))
		return ret;
	policy_init(&p);
	if (policy_load_file(&p, argv[2], &el) ||
	    policy_check_supported(&p, &el)) {
		errlist_print(&el, stderr);
		ret = MOAT_EXIT_POLICY;
	} else {
		struct prefix pools[2] = { c.pool4, c.pool6 };

		ret = ptest_decide(&p, &d, pools, 2, stdout) ? 0 :
		      MOAT_EXIT_POLICY;
	}
	errlist_free(&el);
	policy_free(&p);
	return ret;
}

/**
 * cmd_policy() - moat policy check FILE, moat policy test FILE DEST
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "policy"
 *
 * Return: 0 if the policy is valid (warnings or not), 1 if not, 2 on
 *	   usage errors; for test, see cmd_policy_test()
 */
static int cmd_policy(int argc, char **argv)
{
	struct errlist el = { 0 };
	struct policy p;
	int ret = 0;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_policy);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "test"))
		return cmd_policy_test(argc, argv);
	if (argc < 2 || strcmp(argv[1], "check"))
		return cli_usage_error("policy", "expected 'check FILE' or 'test FILE DEST'");
	if (argc != 3)
		return cli_usage_error("policy", argc < 3 ? "missing the policy file" :
				       "expected exactly one policy file");
	policy_init(&p);
	if (policy_load_file(&p, argv[2], &el) || policy_check_supported(&p, &el)) {
		errlist_print(&el, stderr);
		ret = MOAT_EXIT_POLICY;
	} else {
		policy_print(&p, stdout);
		fflush(stdout);
		policy_lint(&p, &el);
		errlist_print(&el, stderr);
	}
	errlist_free(&el);
	policy_free(&p);
	return ret;
}

static const char usage_stats[] =
"Usage: moat stats [NAME] [--json|--prometheus]\n"
"       moat stats [NAME] --listen ADDR:PORT [--allow-remote]\n"
"\n"
"Show what each sandbox (or NAME) was denied, by reason (I1-I5, I9: the\n"
"invariant; rule: a deny rule of its policy) and direction (egress, host,\n"
"any: before routing), in packets and bytes; the new flows its policy\n"
"allowed, by rule or default; and the counters of its supervisor's\n"
"services (published ports, log, DNS, proxy).\n"
"\n"
"  --json            one JSON document\n"
"  --prometheus      Prometheus text exposition format (metrics moat_*)\n"
"  --listen ADDR:PORT  serve the Prometheus text at http://ADDR:PORT/metrics\n"
"                    until interrupted; ADDR must be a loopback address\n"
"  --allow-remote    let --listen use any address\n";

/**
 * cmd_stats() - moat stats [NAME] [--json|--prometheus|--listen ADDR:PORT]
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "stats"
 *
 * The counters come from stats_collect(), printed as its text table, as
 * JSON or as Prometheus text (prom.c), or served at /metrics (statsd.c).
 *
 * Return: exit status
 */
static int cmd_stats(int argc, char **argv)
{
	enum { O_JSON = 256, O_PROM, O_LISTEN, O_REMOTE, O_HELP };
	static const struct option lo[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "prometheus", no_argument, NULL, O_PROM },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "allow-remote", no_argument, NULL, O_REMOTE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *listen_addr = NULL;
	bool json = false, prom = false, remote = false, loopback;
	struct sockaddr_storage ss;
	struct moat_config c;
	socklen_t sl;
	json_t *doc;
	int opt, ret;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_JSON:
			json = true;
			break;
		case O_PROM:
			prom = true;
			break;
		case O_LISTEN:
			listen_addr = optarg;
			break;
		case O_REMOTE:
			remote = true;
			break;
		case O_HELP:
		case 'h':
			printf("%s", usage_stats);
			return 0;
		default:
			return cli_bad_option("stats", argv);
		}
	}
	if (optind < argc)
		only = argv[optind++];
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s'",
				       argv[optind]);
	if (json + prom + !!listen_addr > 1)
		return cli_usage_error("stats", "--json, --prometheus and --listen exclude each other");
	if (remote && !listen_addr)
		return cli_usage_error("stats", "--allow-remote goes with --listen");
	if (only && (ret = cli_sandbox_name("stats", only)))
		return ret;
	if (listen_addr &&
	    statsd_parse_listen(listen_addr, &ss, &sl, &loopback))
		return cli_usage_error("stats", "--listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464",
				       listen_addr);
	if (listen_addr && !loopback && !remote)
		return cli_usage_error("stats", "--listen '%s' is not a loopback address: the metrics name sandboxes and what they tried to reach; add --allow-remote to serve them there",
				       listen_addr);
	if ((ret = cli_need_root("stats",
				 "it reads the host's nftables counters")) ||
	    (ret = cli_load_config(&c)))
		return ret;
	if (listen_addr)
		return statsd_serve(&c, only, listen_addr, &ss, sl);

	ret = stats_collect(&c, only, &doc);
	if (ret == 1) {
		msg_err("no such sandbox: %s", only);
		return MOAT_EXIT_POLICY;
	}
	if (ret) {
		msg_err("cannot list %s: %s", c.run_dir, strerror(-ret));
		return MOAT_EXIT_FAILURE;
	}
	if (json) {
		char *out = json_dumps(doc, JSON_INDENT(2));

		if (out)
			printf("%s\n", out);
		free(out);
	} else if (prom) {
		prom_text(doc, stdout);
	} else {
		stats_text(doc, stdout);
	}
	json_decref(doc);
	return 0;
}

/**
 * cmd_supervise() - hidden: "moat __supervise NAME READY_FD WATCH_PID"
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: exit status
 */
static int cmd_supervise(int argc, char **argv)
{
	struct moat_config c;
	int ret;

	if (argc != 4)
		return MOAT_EXIT_USAGE;
	if ((ret = cli_load_config(&c)))
		return ret;
	return supervisor_main(&c, argv[1], atoi(argv[2]), (pid_t)atoi(argv[3]));
}

/**
 * main() - dispatch to a command
 * @argc:	argument count
 * @argv:	arguments
 *
 * Return: exit status
 */
int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", cmd_run }, { "create", cmd_create },
		{ "attach", cmd_attach }, { "exec", cmd_exec },
		{ "rm", cmd_rm }, { "ls", cmd_ls }, { "inspect", cmd_inspect },
		{ "update", cmd_update }, { "adopt", cmd_adopt },
		{ "policy", cmd_policy }, { "__supervise", cmd_supervise },
		{ "logs", cmd_logs }, { "stats", cmd_stats },
		{ "verify", cmd_verify }, { "oci-hook", cmd_oci_hook },
		{ "oci-runtime", cmd_oci_runtime },
	};
	size_t i;

	if (getenv("CNI_COMMAND"))	/* a CNI runtime runs us as its plugin */
		return cni_main();
	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			printf("%s", usage_main);
			return 0;
		}
		if (!strcmp(argv[1], "--version")) {
#ifdef MOAT_TEST_HOOKS
			printf("moat %s (test hooks: not for production)\n", MOAT_VERSION);
#else
			printf("moat %s\n", MOAT_VERSION);
#endif
			return 0;
		}
		if (!strcmp(argv[1], "--verbose") || !strcmp(argv[1], "-v")) {
			msg_verbose = true;
			argc--;
			argv++;
			continue;
		}
		fprintf(stderr, "moat: unknown option '%s' (see 'moat --help')\n",
			argv[1]);
		return MOAT_EXIT_USAGE;
	}
	if (argc < 2) {
		fprintf(stderr, "%s", usage_main);
		return MOAT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help")) {
		char help[] = "--help";

		if (argc < 3) {
			printf("%s", usage_main);
			return 0;
		}
		for (i = 0; i < ARRAY_SIZE(cmds); i++) {
			char *hv[] = { argv[2], help, NULL };

			if (!strcmp(argv[2], cmds[i].name) && argv[2][0] != '_')
				return cmds[i].fn(2, hv);
		}
		fprintf(stderr, "moat: unknown command '%s' (see 'moat --help')\n",
			argv[2]);
		return MOAT_EXIT_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "moat: unknown command '%s' (see 'moat --help')\n", argv[1]);
	return MOAT_EXIT_USAGE;
}
