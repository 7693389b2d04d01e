// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * ocihook.c - "moat oci-hook": a container runtime's hook (Podman, CRI-O,
 * runc, any runtime reading hooks.d or config.json hooks)
 *
 * Theory of operation
 * -------------------
 * An OCI runtime runs a hook with the container's state, a JSON object, on
 * standard input: its "id", "status", "pid" (while it has a process) and
 * "annotations". Nothing else in it is read. One hook configuration serves
 * both stages, told apart by the status the runtime reports:
 *
 *   - "creating" (stage createRuntime: the container's namespaces exist,
 *     its process waits, and the hook runs in the runtime's namespaces,
 *     the host's): the container's network namespace, /proc/PID/ns/net,
 *     is attached as sandbox OCIHOOK_PREFIX + the first OCIHOOK_ID_CHARS
 *     characters of the id, the ID "podman ps" shows. The hook execs
 *     "moat attach NAME --pid PID --policy FILE ...", so the runtime sees
 *     attach's exit status: non-zero, and the runtime does not start the
 *     container (fail closed).
 *   - "stopped" (stage poststop): that sandbox is removed if it is still
 *     there (the sandbox removes itself when the namespace ends, so finding
 *     none is success). A sandbox of that name that is not attached is
 *     someone else's, and is left alone.
 *
 * Only containers whose annotations hold OCIHOOK_ANN_POLICY are acted on;
 * for others the hook exits 0 and changes nothing. The annotations it
 * understands (OCIHOOK_ANN_*) become attach's options; any other io.moat.*
 * annotation is refused, so a misspelt one cannot be silently ignored.
 *
 * Whoever can set a container's annotations chooses the policy file, so
 * the file must be trusted as root's: before attaching, its real path
 * (symbolic links resolved) and every directory above it must be owned by
 * root and not writable by group or others (a directory writable by all
 * with the sticky bit, such as /tmp, is accepted: nobody else can replace
 * a root-owned file in it). The resolved path is what attach gets.
 *
 * Errors are one line on stderr (the runtime shows or logs it) with exit
 * status 2 for bad input (state JSON, annotations), 1 for a refused policy
 * file, 125 for a failure; nothing is changed when the hook fails before
 * exec.
 *
 * "moat oci-hook --print-config" prints the hooks.d file (format 1.0.0)
 * for this binary: its absolute path, both stages, the annotation that
 * selects a container, and an environment of PATH plus every MOAT_*
 * variable set when it runs (a runtime gives a hook only the environment
 * its configuration names).
 *
 * "moat oci-runtime [--policy=FILE] [--runc=PATH] RUNC-ARGS..." is an OCI
 * runtime for runtimes that take no hooks.d (Docker: registered in
 * daemon.json's "runtimes"): for runc's "create" and "run" it adds the
 * same hook entry to the bundle's config.json, for both stages, and, with
 * --policy, the annotation io.moat.policy=FILE unless the container has
 * one; then, for every command, it execs runc with RUNC-ARGS unchanged.
 * runc's global options are skipped by name to find its command (those
 * taking a value: OCIHOOK_RUNC_VALUE_OPTS); the bundle is --bundle/-b, or
 * the current directory. config.json is replaced by rename, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"
#include "ocihook.h"
#include "sandbox.h"
#include "state.h"

#define OCIHOOK_PREFIX		"oci-"	/* sandbox name: prefix ... */
#define OCIHOOK_ID_CHARS	12	/* ... then this much of the id */
#define OCIHOOK_STATE_MAX	(1 << 20)	/* bytes of state JSON read */
#define OCIHOOK_ARGS_MAX	64	/* arguments of the attach command */
#define OCIHOOK_LIST_MAX	16	/* items in a comma-separated annotation */

#define OCIHOOK_ANN_PREFIX	"io.moat."
#define OCIHOOK_ANN_POLICY	"io.moat.policy"	/* policy file: selects */
#define OCIHOOK_ANN_ALLOW	"io.moat.allow"		/* --allow, comma list */
#define OCIHOOK_ANN_DENY	"io.moat.deny"		/* --deny, comma list */
#define OCIHOOK_ANN_BANDWIDTH	"io.moat.bandwidth"	/* --bandwidth */
#define OCIHOOK_ANN_IFNAME	"io.moat.ifname"	/* --ifname */

/* runc's global options that take a value */
static const char *const ocihook_runc_value_opts[] = {
	"--root", "--log", "--log-format", "--criu", "--rootless",
};

#define OCIHOOK_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static const char usage_oci_hook[] =
"Usage: moat oci-hook             (run by a container runtime: state JSON on stdin)\n"
"       moat oci-hook --print-config\n"
"\n"
"An OCI hook. For a container annotated io.moat.policy=FILE, at stage\n"
"createRuntime (state \"creating\") attach its network namespace as sandbox\n"
"oci-ID12 (the first 12 characters of the container id) with that policy;\n"
"at poststop (state \"stopped\") remove that sandbox. Containers without\n"
"the annotation are left alone. Other annotations: io.moat.allow=R,R...,\n"
"io.moat.deny=R,R..., io.moat.bandwidth=RATE, io.moat.ifname=IFNAME.\n"
"FILE must be absolute, and it and every directory above it owned by root\n"
"and not writable by group or others.\n"
"\n"
"  --print-config  print the hooks.d JSON for this binary (both stages)\n"
"\n"
"Exit status: 0 done or not moat's container; 1 the policy file or the\n"
"namespace is refused; 2 bad state JSON or annotation; 125 moat failed.\n"
"A non-zero status at createRuntime keeps the container from starting.\n";

/**
 * ocihook_hook() - the hook entry for this binary: path, args, env
 *
 * Return: a new JSON object, NULL after printing why
 */
static json_t *ocihook_hook(void)
{
	char self[PATH_MAX];
	json_t *env;
	ssize_t n;
	char **e;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		msg_err("cannot find this binary's path: %s", strerror(errno));
		return NULL;
	}
	self[n] = '\0';

	env = json_array();
	json_array_append_new(env, json_string(OCIHOOK_PATH));
	for (e = environ; *e; e++)
		if (!strncmp(*e, "MOAT_", 5) && strchr(*e, '='))
			json_array_append_new(env, json_string(*e));
	return json_pack("{s:s, s:[s, s], s:o}", "path", self,
			 "args", "moat", "oci-hook", "env", env);
}

static const char usage_oci_runtime[] =
"Usage: moat oci-runtime [--policy=FILE] [--runc=PATH] RUNC-ARGS...\n"
"\n"
"An OCI runtime that runs runc (or PATH) with RUNC-ARGS unchanged, after\n"
"adding moat's hook (moat oci-hook, stages createRuntime and poststop) to\n"
"the bundle's config.json for 'create' and 'run' of a container annotated\n"
"io.moat.policy=FILE. With --policy, a container without that annotation\n"
"gets io.moat.policy=FILE. For Docker: register it in daemon.json\n"
"\"runtimes\" (see moat-oci-hook(1)) and run 'docker run --runtime moat\n"
"--network none ...'.\n"
"\n"
"Exit status: runc's; 125 if config.json cannot be read or written.\n";

/**
 * ocihook_print_config() - print the hooks.d JSON for this binary
 *
 * Return: exit status
 */
static int ocihook_print_config(void)
{
	json_t *hook = ocihook_hook(), *doc;
	char *out;

	if (!hook)
		return MOAT_EXIT_FAILURE;
	doc = json_pack("{s:s, s:o, s:{s:{s:s}}, s:[s, s]}",
			"version", "1.0.0", "hook", hook,
			"when", "annotations", "^io\\.moat\\.policy$", ".*",
			"stages", "createRuntime", "poststop");
	out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!out) {
		msg_err("cannot build the hook configuration: out of memory");
		return MOAT_EXIT_FAILURE;
	}
	printf("%s\n", out);
	free(out);
	return 0;
}

/**
 * ocihook_read_state() - read and parse the state JSON on standard input
 *
 * Return: the object, NULL after printing why
 */
static json_t *ocihook_read_state(void)
{
	autofree char *buf = malloc(OCIHOOK_STATE_MAX + 1);
	json_error_t jerr;
	size_t len = 0;
	json_t *st;
	ssize_t n;

	if (!buf) {
		msg_err("oci-hook: out of memory");
		return NULL;
	}
	while (len <= OCIHOOK_STATE_MAX) {
		n = read(0, buf + len, OCIHOOK_STATE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			msg_err("oci-hook: cannot read the state on stdin: %s",
				strerror(errno));
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > OCIHOOK_STATE_MAX) {
		msg_err("oci-hook: the state on stdin is larger than %d bytes",
			OCIHOOK_STATE_MAX);
		return NULL;
	}
	st = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!st) {
		msg_err("oci-hook: the state on stdin is not JSON: %s (line %d)",
			jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(st)) {
		msg_err("oci-hook: the state on stdin is not a JSON object");
		json_decref(st);
		return NULL;
	}
	return st;
}

/**
 * ocihook_name() - the sandbox name of a container id
 * @id:		container id from the state
 * @name:	filled in, OCIHOOK_PREFIX + first OCIHOOK_ID_CHARS of @id
 *
 * Return: 0, -1 after printing why
 */
static int ocihook_name(const char *id, char name[MOAT_NAME_MAX + 1])
{
	size_t i, n = strlen(id);

	if (n == 0) {
		msg_err("oci-hook: the state's \"id\" is empty");
		return -1;
	}
	if (n > OCIHOOK_ID_CHARS)
		n = OCIHOOK_ID_CHARS;
	for (i = 0; i < n; i++) {
		char ch = id[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-')) {
			msg_err("oci-hook: container id '%.*s': expected letters, digits, '_', '.' or '-'",
				(int)n, id);
			return -1;
		}
	}
	snprintf(name, MOAT_NAME_MAX + 1, "%s%.*s", OCIHOOK_PREFIX, (int)n, id);
	return 0;
}

/**
 * ocihook_trusted() - check one path component is root's alone
 * @path:	file or directory
 * @what:	"policy file" or "directory", for the message
 * @policy:	the annotation's value, for the message
 *
 * Return: 0 if owned by root and not writable by group or others (a
 *	   sticky directory writable by all accepted), -1 after printing why
 */
static int ocihook_trusted(const char *path, const char *what,
			   const char *policy)
{
	struct stat st;

	if (stat(path, &st)) {
		msg_err("oci-hook: policy file '%s': %s: %s", policy, path,
			strerror(errno));
		return -1;
	}
	if (st.st_uid != 0) {
		msg_err("oci-hook: policy file '%s': %s %s is not owned by root",
			policy, what, path);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
		msg_err("oci-hook: policy file '%s': %s %s is writable by group or others",
			policy, what, path);
		return -1;
	}
	return 0;
}

/**
 * ocihook_policy_path() - resolve and check the policy file of an annotation
 * @policy:	the annotation's value
 * @real:	filled in with the resolved path
 *
 * Return: 0, -1 after printing why
 */
static int ocihook_policy_path(const char *policy, char real[PATH_MAX])
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (policy[0] != '/') {
		msg_err("oci-hook: policy file '%s': expected an absolute path",
			policy);
		return -1;
	}
	if (!realpath(policy, real)) {
		msg_err("oci-hook: policy file '%s': %s", policy,
			strerror(errno));
		return -1;
	}
	if (stat(real, &st) || !S_ISREG(st.st_mode)) {
		msg_err("oci-hook: policy file '%s': not a regular file",
			policy);
		return -1;
	}
	if (ocihook_trusted(real, "policy file", policy))
		return -1;
	snprintf(dir, sizeof(dir), "%s", real);
	while ((slash = strrchr(dir, '/'))) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (ocihook_trusted(dir, "directory", policy))
			return -1;
		if (!strcmp(dir, "/"))
			break;
	}
	return 0;
}

/**
 * ocihook_arg() - append one formatted argument to attach's
 * @argv:	attach's arguments
 * @argc:	their count, updated
 * @fmt:	format
 *
 * Return: 0, -1 after printing why
 */
static int PRINTF_FMT(3, 4) ocihook_arg(char **argv, int *argc,
					const char *fmt, ...)
{
	va_list ap;
	char *a;
	int n;

	if (*argc >= OCIHOOK_ARGS_MAX) {
		msg_err("oci-hook: too many io.moat.* options");
		return -1;
	}
	va_start(ap, fmt);
	n = vasprintf(&a, fmt, ap);
	va_end(ap);
	if (n < 0) {
		msg_err("oci-hook: out of memory");
		return -1;
	}
	argv[(*argc)++] = a;
	return 0;
}

/**
 * ocihook_add_list() - add "--OPT=ITEM" for each item of a comma list
 * @argv:	attach's arguments
 * @argc:	their count, updated
 * @opt:	option name with "--" and "="
 * @ann:	annotation name, for messages
 * @val:	its value, split in place
 *
 * Return: 0, -1 after printing why
 */
static int ocihook_add_list(char **argv, int *argc, const char *opt,
			    const char *ann, char *val)
{
	char *save = NULL, *item;
	int n = 0;

	for (item = strtok_r(val, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		if (++n > OCIHOOK_LIST_MAX) {
			msg_err("oci-hook: annotation %s: more than %d items",
				ann, OCIHOOK_LIST_MAX);
			return -1;
		}
		if (ocihook_arg(argv, argc, "%s%s", opt, item))
			return -1;
	}
	if (!n) {
		msg_err("oci-hook: annotation %s is empty", ann);
		return -1;
	}
	return 0;
}

/**
 * ocihook_attach_args() - attach's options from the state and annotations
 * @st:		state
 * @ann:	its annotations, holding OCIHOOK_ANN_POLICY
 * @argv:	attach's arguments, the first three set
 * @argc:	their count, updated
 *
 * Return: 0, or the exit status after printing why
 */
static int ocihook_attach_args(json_t *st, json_t *ann, char **argv,
			       int *argc)
{
	char real[PATH_MAX];
	json_t *jpid, *v;
	const char *key;
	json_int_t pid;

	jpid = json_object_get(st, "pid");
	if (!json_is_integer(jpid) || (pid = json_integer_value(jpid)) <= 1 ||
	    pid > INT_MAX) {
		msg_err("oci-hook: the state of a creating container has no valid \"pid\"");
		return MOAT_EXIT_USAGE;
	}
	if (ocihook_arg(argv, argc, "--pid=%lld", (long long)pid))
		return MOAT_EXIT_FAILURE;

	json_object_foreach(ann, key, v) {
		autofree char *val = NULL;

		if (strncmp(key, OCIHOOK_ANN_PREFIX, strlen(OCIHOOK_ANN_PREFIX)))
			continue;
		if (!json_is_string(v)) {
			msg_err("oci-hook: annotation %s is not a string", key);
			return MOAT_EXIT_USAGE;
		}
		val = strdup(json_string_value(v));
		if (!val) {
			msg_err("oci-hook: out of memory");
			return MOAT_EXIT_FAILURE;
		}
		if (!strcmp(key, OCIHOOK_ANN_POLICY)) {
			if (ocihook_policy_path(val, real))
				return MOAT_EXIT_POLICY;
			if (ocihook_arg(argv, argc, "--policy=%s", real))
				return MOAT_EXIT_USAGE;
		} else if (!strcmp(key, OCIHOOK_ANN_ALLOW)) {
			if (ocihook_add_list(argv, argc, "--allow=", key, val))
				return MOAT_EXIT_USAGE;
		} else if (!strcmp(key, OCIHOOK_ANN_DENY)) {
			if (ocihook_add_list(argv, argc, "--deny=", key, val))
				return MOAT_EXIT_USAGE;
		} else if (!strcmp(key, OCIHOOK_ANN_BANDWIDTH)) {
			if (ocihook_arg(argv, argc, "--bandwidth=%s", val))
				return MOAT_EXIT_USAGE;
		} else if (!strcmp(key, OCIHOOK_ANN_IFNAME)) {
			if (ocihook_arg(argv, argc, "--ifname=%s", val))
				return MOAT_EXIT_USAGE;
		} else {
			msg_err("oci-hook: unknown annotation %s (known: %s, %s, %s, %s, %s)",
				key, OCIHOOK_ANN_POLICY, OCIHOOK_ANN_ALLOW,
				OCIHOOK_ANN_DENY, OCIHOOK_ANN_BANDWIDTH,
				OCIHOOK_ANN_IFNAME);
			return MOAT_EXIT_USAGE;
		}
	}
	return 0;
}

/**
 * ocihook_attach() - stage createRuntime: exec "moat attach"
 * @st:		state
 * @ann:	its annotations, holding OCIHOOK_ANN_POLICY
 * @name:	sandbox name
 *
 * Return: exit status on failure (on success it does not return)
 */
static int ocihook_attach(json_t *st, json_t *ann, const char *name)
{
	char *argv[OCIHOOK_ARGS_MAX + 1] = { 0 };
	char moat[] = "moat", attach[] = "attach";
	char sbname[MOAT_NAME_MAX + 1];
	int argc = 0, ret, i;

	snprintf(sbname, sizeof(sbname), "%s", name);
	argv[argc++] = moat;
	argv[argc++] = attach;
	argv[argc++] = sbname;
	ret = ocihook_attach_args(st, ann, argv, &argc);
	if (!ret) {
		argv[argc] = NULL;
		/* attach prints the name; the runtime has no use for it */
		if (dup2(2, 1) < 0) {
			msg_err("oci-hook: cannot redirect stdout: %s",
				strerror(errno));
		} else {
			execv("/proc/self/exe", argv);
			msg_err("oci-hook: cannot run moat attach: %s",
				strerror(errno));
		}
		ret = MOAT_EXIT_FAILURE;
	}
	for (i = 3; i < argc; i++)
		free(argv[i]);
	return ret;
}

/**
 * ocihook_remove() - stage poststop: remove the container's sandbox
 * @name:	sandbox name
 *
 * Return: exit status
 */
static int ocihook_remove(const char *name)
{
	struct moat_config c;
	struct sb_state s;
	int ret;

	if ((ret = cli_load_config(&c)))
		return ret;
	ret = state_read(&c, name, &s);
	if (ret == -ENOENT)
		return 0;	/* gone with its namespace, or never made */
	if (!ret && !s.attached) {
		msg_err("oci-hook: sandbox %s is not an attached one: left alone",
			name);
		return MOAT_EXIT_POLICY;
	}
	ret = sandbox_destroy(&c, name, true, false);
	if (ret == 1)
		return 0;	/* removed itself meanwhile */
	return ret ? MOAT_EXIT_FAILURE : 0;
}

/**
 * ocihook_runc_value_opt() - whether a runc global option takes a value
 * @arg:	the argument, "--opt" (the value follows) or "--opt=value"
 *
 * Return: true if the next argument is its value
 */
static bool ocihook_runc_value_opt(const char *arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ocihook_runc_value_opts); i++)
		if (!strcmp(arg, ocihook_runc_value_opts[i]))
			return true;
	return false;
}

/**
 * ocihook_add_hooks() - add moat's hook to a bundle's config.json
 * @bundle:	bundle directory
 * @policy:	default policy file (annotation io.moat.policy if the
 *		container has none), or NULL
 *
 * Return: 0 (also when the container is not moat's: no change), -1 after
 *	   printing why
 */
static int ocihook_add_hooks(const char *bundle, const char *policy)
{
	autofree char *path = NULL, *tmp = NULL;
	static const char *const stages[] = { "createRuntime", "poststop" };
	json_t *cfg, *ann, *hooks, *hook, *st;
	json_error_t jerr;
	size_t i, j;
	int ret = -1;

	if (asprintf(&path, "%s/config.json", bundle) < 0 ||
	    asprintf(&tmp, "%s/.config.json.moat", bundle) < 0) {
		msg_err("oci-runtime: out of memory");
		return -1;
	}
	cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cfg)) {
		msg_err("oci-runtime: %s: %s", path,
			cfg ? "not a JSON object" : jerr.text);
		json_decref(cfg);
		return -1;
	}
	ann = json_object_get(cfg, "annotations");
	if (!ann && policy) {
		ann = json_object();
		json_object_set_new(cfg, "annotations", ann);
	}
	if (!json_is_object(ann) && policy) {
		msg_err("oci-runtime: %s: \"annotations\" is not an object", path);
		goto out;
	}
	if (policy && !json_object_get(ann, OCIHOOK_ANN_POLICY))
		json_object_set_new(ann, OCIHOOK_ANN_POLICY, json_string(policy));
	if (!json_is_object(ann) || !json_object_get(ann, OCIHOOK_ANN_POLICY)) {
		ret = 0;	/* not moat's container */
		goto out;
	}

	hook = ocihook_hook();
	if (!hook)
		goto out;
	hooks = json_object_get(cfg, "hooks");
	if (!hooks) {
		hooks = json_object();
		json_object_set_new(cfg, "hooks", hooks);
	}
	if (!json_is_object(hooks)) {
		msg_err("oci-runtime: %s: \"hooks\" is not an object", path);
		json_decref(hook);
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(stages); i++) {
		bool have = false;

		st = json_object_get(hooks, stages[i]);
		if (!st) {
			st = json_array();
			json_object_set_new(hooks, stages[i], st);
		}
		if (!json_is_array(st)) {
			msg_err("oci-runtime: %s: hooks.%s is not an array",
				path, stages[i]);
			json_decref(hook);
			goto out;
		}
		for (j = 0; j < json_array_size(st); j++)
			if (json_equal(json_array_get(st, j), hook))
				have = true;
		if (!have)
			json_array_append(st, hook);
	}
	json_decref(hook);

	if (json_dump_file(cfg, tmp, JSON_COMPACT) || rename(tmp, path)) {
		msg_err("oci-runtime: cannot write %s: %s", path,
			strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	json_decref(cfg);
	return ret;
}

/**
 * cmd_oci_runtime() - moat oci-runtime [--policy=FILE] [--runc=PATH] ARGS...
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "oci-runtime"
 *
 * Return: exit status on failure (on success it execs runc)
 */
int cmd_oci_runtime(int argc, char **argv)
{
	const char *policy = NULL, *runc = "runc", *bundle = ".", *cmd = NULL;
	char runc_arg0[] = "runc";
	int i, first;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s", usage_oci_runtime);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--policy=", 9))
			policy = argv[i] + 9;
		else if (!strncmp(argv[i], "--runc=", 7))
			runc = argv[i] + 7;
		else
			break;
	}
	first = i;
	if (policy && policy[0] != '/')
		return cli_usage_error("oci-runtime", "--policy '%s': expected an absolute path",
				       policy);

	/* runc's command: the first argument that is no global option */
	for (; i < argc; i++) {
		if (argv[i][0] != '-') {
			cmd = argv[i];
			break;
		}
		if (ocihook_runc_value_opt(argv[i]))
			i++;
	}
	if (cmd && (!strcmp(cmd, "create") || !strcmp(cmd, "run"))) {
		for (i++; i < argc; i++) {
			if (!strcmp(argv[i], "--"))
				break;
			if ((!strcmp(argv[i], "--bundle") || !strcmp(argv[i], "-b")) &&
			    i + 1 < argc)
				bundle = argv[++i];
			else if (!strncmp(argv[i], "--bundle=", 9))
				bundle = argv[i] + 9;
			else if (!strncmp(argv[i], "-b=", 3))
				bundle = argv[i] + 3;
		}
		if (ocihook_add_hooks(bundle, policy))
			return MOAT_EXIT_FAILURE;
	}

	argv[first - 1] = runc_arg0;
	execvp(runc, argv + first - 1);
	msg_err("oci-runtime: cannot run %s: %s", runc, strerror(errno));
	return MOAT_EXIT_FAILURE;
}

/**
 * cmd_oci_hook() - moat oci-hook [--print-config]
 * @argc:	argument count
 * @argv:	arguments, argv[0] = "oci-hook"
 *
 * Return: exit status
 */
int cmd_oci_hook(int argc, char **argv)
{
	char name[MOAT_NAME_MAX + 1];
	json_t *st, *id, *status, *ann, *pol;
	const char *stv;
	int ret;

	if (cli_want_help(argc, argv)) {
		printf("%s", usage_oci_hook);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--print-config"))
		return ocihook_print_config();
	if (argc > 1)
		return argv[1][0] == '-' ? cli_bad_option("oci-hook", argv) :
		       cli_usage_error("oci-hook", "unexpected argument '%s'",
				       argv[1]);

	st = ocihook_read_state();
	if (!st)
		return MOAT_EXIT_USAGE;
	ann = json_object_get(st, "annotations");
	pol = json_is_object(ann) ? json_object_get(ann, OCIHOOK_ANN_POLICY) :
	      NULL;
	if (!pol) {
		json_decref(st);	/* not moat's container */
		return 0;
	}
	id = json_object_get(st, "id");
	status = json_object_get(st, "status");
	if (!json_is_string(id) || !json_is_string(status)) {
		msg_err("oci-hook: the state has no \"id\" or \"status\" string");
		json_decref(st);
		return MOAT_EXIT_USAGE;
	}
	if (ocihook_name(json_string_value(id), name)) {
		json_decref(st);
		return MOAT_EXIT_USAGE;
	}
	stv = json_string_value(status);
	if ((ret = cli_need_root("oci-hook", "it changes the host's network"))) {
		json_decref(st);
		return ret;
	}
	if (!strcmp(stv, "creating"))
		ret = ocihook_attach(st, ann, name);
	else if (!strcmp(stv, "stopped"))
		ret = ocihook_remove(name);
	else {
		msg_err("oci-hook: state status '%s': expected creating (stage createRuntime) or stopped (stage poststop)",
			stv);
		ret = MOAT_EXIT_USAGE;
	}
	json_decref(st);
	return ret;
}
