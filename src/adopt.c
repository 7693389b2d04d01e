// SPDX-License-Identifier: GPL-2.0-or-later
/* moat - per-sandbox networks enforced by the host kernel
 *
 * adopt.c - a new supervisor for a sandbox whose supervisor died
 *
 * Theory of operation
 * -------------------
 * A supervisor killed (SIGKILL, the out-of-memory killer) or crashed
 * leaves its sandbox closed: every rule, and every pin its DNS
 * interceptor made, lives in the kernel. What goes is userspace: the
 * interceptor (names stop resolving), the transparent proxy (connections
 * the rules redirect to it find nothing listening), the published ports,
 * the log intake and the guard (nobody restores the sandbox's rules after
 * a firewall reload). "moat ls" shows the sandbox degraded, "supervisor
 * not running" (state_status_why()).
 *
 * "moat adopt NAME" gives such a sandbox a new supervisor without
 * recreating it: same namespace, interface, addresses, instance mark,
 * log and policy. Under the global lock it re-reads the record and
 * refuses what cannot be adopted as it is (no such sandbox, a supervisor
 * that runs, a creation that did not finish, a namespace or interface
 * gone, a "moat run" sandbox whose moat run process has exited: its
 * supervisor would have removed it). Then it removes a "degraded" file
 * the dead supervisor may have left, starts a supervisor for the stored
 * record and policy (supervisor_start(), exactly as "moat create" does;
 * for a "moat run" sandbox, watching that moat run process again, which
 * the record names with its start time), and records the new
 * supervisor's PID and start time and one more adoption. The supervisor
 * knows it adopts by the record being complete already: it reads the
 * live pins back from the kernel into its interceptor before it says it
 * is ready (supervisor.c, sv_adopted()), and logs an "adopted" record.
 * Its guard then checks the rules as at any start: if they were damaged
 * while nobody supervised (a firewall reload), it restores them, which
 * needs the lock, so "moat adopt" releases it and waits (at most
 * ADOPT_RESTORE_WAIT_MS) until the kernel has them and the supervisor has
 * said so.
 *
 * A failed start changes nothing: the sandbox stays closed, its record
 * names the dead supervisor, and "moat adopt" may be tried again. The
 * new supervisor's counters start from zero (the kernel's, which "moat
 * stats" shows, go on); its start time says so.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "adopt.h"
#include "err.h"
#include "guard.h"
#include "policy.h"
#include "sandbox.h"
#include "supervisor.h"

#define ADOPT_POLL_MS	10

/**
 * adopt_check() - whether a sandbox can be adopted as it is
 * @s:		its record, read under the lock
 * @all:	for --all: a supervisor that runs is no error
 * @watch:	set to the "moat run" process to watch, 0 for none
 *
 * Return: ADOPT_DONE if it can, else ADOPT_NONE or ADOPT_REFUSED after
 *	   printing why
 */
static enum adopt_result adopt_check(const struct sb_state *s, bool all,
				     pid_t *watch)
{
	char st[STATE_STATUS_TEXT_LEN];
	enum sb_status status;

	*watch = 0;
	state_status_text(s, &status, st, sizeof(st));
	switch (status) {
	case SB_RUNNING:
		if (all)
			return ADOPT_NONE;
		msg_err("the supervisor of '%s' is running (PID %d): nothing to adopt",
			s->name, (int)s->supervisor_pid);
		return ADOPT_REFUSED;
	case SB_CREATING:
		msg_err("sandbox '%s' is %s: its creation did not finish; "
			"remove it with 'moat rm -f %s'", s->name, st, s->name);
		return ADOPT_REFUSED;
	case SB_DEAD:
		msg_err("sandbox '%s' is %s: nothing left to supervise; "
			"remove it with 'moat rm -f %s'", s->name, st, s->name);
		return ADOPT_REFUSED;
	case SB_DEGRADED:
		break;
	}
	if (!s->run_mode)
		return ADOPT_DONE;
	if (!s->run_pid) {
		msg_warn("sandbox '%s' was made by 'moat run', and its record "
			 "does not name that process (an older moat wrote it): "
			 "its new supervisor cannot watch it; moat run still "
			 "removes the sandbox when its command ends, but if it "
			 "is killed, 'moat rm -f %s' does", s->name, s->name);
		return ADOPT_DONE;
	}
	if (!state_proc_alive(s->run_pid, s->run_start)) {
		msg_err("sandbox '%s' belongs to a 'moat run' (PID %d) that has "
			"ended: its supervisor would have removed it; remove "
			"it with 'moat rm -f %s'", s->name, (int)s->run_pid,
			s->name);
		return ADOPT_REFUSED;
	}
	*watch = s->run_pid;
	return ADOPT_DONE;
}

/**
 * adopt_ms() - monotonic milliseconds
 *
 * Return: milliseconds
 */
static long long adopt_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * adopt_wait_rules() - wait for the new supervisor's guard
 * @c:		settings
 * @s:		the sandbox, adopted
 *
 * Until the kernel has the sandbox's rules (guard_intact()) and the
 * supervisor has said they are back (no "degraded" file: it restores, and
 * puts its pins back, before removing it), at most ADOPT_RESTORE_WAIT_MS.
 *
 * Return: true once both hold, false on timeout
 */
static bool adopt_wait_rules(const struct moat_config *c,
			     const struct sb_state *s)
{
	long long end = adopt_ms() + ADOPT_RESTORE_WAIT_MS;
	struct timespec ts = { 0, ADOPT_POLL_MS * 1000000L };

	if (!s->has_net)
		return true;
	for (;;) {
		if (guard_intact(s->ifname) == 1 && !state_degraded(c, s->name))
			return true;
		if (adopt_ms() >= end)
			return false;
		nanosleep(&ts, NULL);
	}
}

/**
 * adopt_one() - give a sandbox a new supervisor
 * @c:		settings
 * @name:	sandbox (a valid name)
 * @all:	for --all: no sandbox, or a supervisor that runs, is no error
 *		and says nothing
 *
 * Return: ADOPT_DONE (its name printed on stdout), ADOPT_NONE, or
 *	   ADOPT_REFUSED or ADOPT_FAILED after printing why
 */
enum adopt_result adopt_one(const struct moat_config *c, const char *name,
			    bool all)
{
	enum adopt_result r;
	struct sb_state s;
	unsigned long long start;
	struct policy p;
	pid_t watch, pid;
	int lock, err;

	lock = state_lock(c);
	if (lock < 0) {
		msg_err("cannot lock %s: %s", c->run_dir, strerror(-lock));
		return ADOPT_FAILED;
	}
	policy_init(&p);
	err = state_read(c, name, &s);
	if (err == -ENOENT) {
		if (!all)
			msg_err("no such sandbox: %s", name);
		r = all ? ADOPT_NONE : ADOPT_REFUSED;
		goto out;
	}
	if (err) {
		msg_err("the record of sandbox '%s' is unreadable; remove what "
			"is left with 'moat rm -f %s'", name, name);
		r = ADOPT_REFUSED;
		goto out;
	}
	r = adopt_check(&s, all, &watch);
	if (r != ADOPT_DONE)
		goto out;
	if (sandbox_load_policy(c, name, &p)) {
		r = ADOPT_FAILED;
		goto out;
	}
	/* left by the dead supervisor: the new one sets it again if the
	 * rules are absent, and removes it once they are back */
	state_degraded_set(c, name, false);
	if (supervisor_start(c, &s, watch, &pid, &start)) {
		r = ADOPT_FAILED;
		goto out;
	}
	if (watch && !state_proc_alive(s.run_pid, s.run_start)) {
		/* moat run ended before the supervisor watched it: its PID
		 * may be another process's now */
		s.supervisor_pid = pid;
		s.supervisor_start = start;
		supervisor_stop(&s);
		msg_err("sandbox '%s' belongs to a 'moat run' (PID %d) that "
			"ended just now: remove it with 'moat rm -f %s'", name,
			(int)s.run_pid, name);
		r = ADOPT_REFUSED;
		goto out;
	}
	s.supervisor_pid = pid;
	s.supervisor_start = start;
	s.adoptions++;
	err = state_write(c, &s);
	if (err) {
		msg_err("cannot write the state of sandbox '%s': %s", name,
			strerror(-err));
		supervisor_stop(&s);
		r = ADOPT_FAILED;
		goto out;
	}
	state_unlock(lock);
	lock = -1;
	if (!adopt_wait_rules(c, &s))
		msg_warn("the rules of '%s' are not back yet: its supervisor "
			 "(PID %d) goes on restoring them, and 'moat ls' shows "
			 "it degraded until then", name, (int)pid);
	printf("%s\n", name);
	fflush(stdout);
out:
	policy_free(&p);
	if (lock >= 0)
		state_unlock(lock);
	return r;
}
