#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_contain.sh - a command started by "moat run"/"moat exec" cannot step
# out through the host's processes, files or control sockets.
#
#   [sandbox v: victim, moat create]   [HOST: moat, state in $WORLD_DIR/run]
#   [moat run / moat exec: attacker]    victim process of the test user,
#                                       holding a socket of HOST's network
#
# The attacker is the command itself, run as the test user (TU, uid 65534,
# "the user who ran sudo") or as root (moat run by root without sudo, or
# --user 0). From there it tries to:
#   - see, signal, ptrace, pidfd_getfd a host process of its own user, and
#     send through that process's socket to the LAN the policy denies;
#   - write moat's run directory (another sandbox's state), take moat's
#     global lock, talk to another sandbox's supervisor ("stop"), SIGKILL
#     that supervisor, write a root-owned host directory.
# Every attack is paired with a positive control: the same probe run
# outside the sandbox (host root, or the test user in the host's PID
# namespace) succeeds, so "blocked" is not "broken". Then what must keep
# working: the internet the policy allows, the command's own processes,
# /tmp and a directory of its user, a nested user+network namespace,
# exit statuses, signals, stdin/stdout, exec's background processes.
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"

t_world
RUN=$MOAT_RUN_DIR
TU=65534
PY=$WORLD_PYTHON
# as root without sudo (the command's default user is root) / as if the
# test user had run sudo
m_root() { in_host env -u SUDO_UID -u SUDO_GID "$MOAT" "$@"; }
m_user() { in_host env SUDO_UID=$TU SUDO_GID=$TU "$MOAT" "$@"; }

# a root-owned directory of the host outside /tmp (which the command does
# not see), mode 755, with a directory of the test user in it
RD=$(mktemp -d /var/lib/moat-contain.XXXXXX) || { echo "not ok - mktemp"; exit 1; }
chmod 755 "$RD"
mkdir "$RD/home" && chown "$TU:$TU" "$RD/home"
world_on_destroy rm -rf "$RD"

# python snippets (passed with -c: the command does not see $WORLD_DIR)
PY_GETFD='
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
pfd = libc.syscall(434, pid, 0)			# pidfd_open
if pfd < 0:
    sys.exit("pidfd_open: " + os.strerror(ctypes.get_errno()))
fd = libc.syscall(438, pfd, int(sys.argv[2]), 0)	# pidfd_getfd
if fd < 0:
    sys.exit("pidfd_getfd: " + os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)
s.settimeout(2)
s.connect(("192.168.77.10", 80))
print("connected to the LAN")
'
PY_PTRACE='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
if libc.ptrace(16, pid, 0, 0):			# PTRACE_ATTACH
    sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
os.waitpid(pid, 0x40000000)			# __WALL
libc.ptrace(17, pid, 0, 0)			# PTRACE_DETACH
print("attached")
'
PY_CTL='
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
r = s.recv(65536).decode().strip()
print(r)
sys.exit(1 if "error" in json.loads(r) else 0)
'

# blocked DESC WHO [MOAT_ARGS...] -- CMD...: CMD ran inside (it printed its
# marker first, so a moat that failed to start it does not count) and failed
blocked() {
	local desc=$1 who=$2 out rc=0 pre=()
	shift 2
	while [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	out=$($who "${pre[@]}" -- sh -c 'echo RAN; "$@"' sh "$@" 2>&1) || rc=$?
	if [ "$rc" != 0 ] && [ "${out%%$'\n'*}" = RAN ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $rc" "$out"
	fi
}

# type into a terminal: the command's controlling terminal is moat's
# caller's, whose shell reads what TIOCSTI pushes once moat has exited
PY_TIOCSTI='
import fcntl, os, pty, sys, termios
if os.fork():
    sys.exit(os.wait()[1] >> 8)
m, s = pty.openpty()
os.setsid()
fcntl.ioctl(s, termios.TIOCSCTTY, 0)
try:
    fcntl.ioctl(s, termios.TIOCSTI, b"x")
except OSError as e:
    sys.exit("TIOCSTI: " + e.strerror)
print("typed into the terminal")
'

# the victim sandbox: another sandbox's state, lock and supervisor
t_begin "set-up"
assert_ok -m "victim sandbox created" m create "v-$S"
SV=$(in_host "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor_pid"])' "$RUN/sandboxes/v-$S/state.json" 2>/dev/null)
CTL=$RUN/sandboxes/v-$S/ctl.sock
assert_ok -m "victim supervisor runs ($SV)" kill -0 "${SV:-0}"
# a process of the test user on the host, in HOST's network namespace,
# holding TCP sockets not yet connected (fds 10 to 15, one per attempt)
in_host setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c '
import os, socket, time
keep = [socket.socket() for fd in range(10, 16)]
for fd, s in zip(range(10, 16), keep):
    os.dup2(s.fileno(), fd)
print(os.getpid(), flush=True)
time.sleep(240)' >"$WORLD_DIR/victim.pid" &
VPID_BG=$!
wait_for 10 test -s "$WORLD_DIR/victim.pid"
VPID=$(cat "$WORLD_DIR/victim.pid")
world_on_destroy kill ${VPID:+"$VPID"} "$VPID_BG"
assert_ok -m "victim process of uid $TU runs ($VPID)" kill -0 "${VPID:-0}"
# the LAN service 192.168.77.10:80 is what the default policy denies
assert_fail -m "the sandbox's policy denies the LAN" probe_tcp "moat-v-$S" 192.168.77.10 80

t_begin "host processes, as the user who ran sudo"
assert_ok -m "control: uid $TU outside sees the victim" \
	setpriv --reuid=$TU --regid=$TU --clear-groups kill -0 "$VPID"
out=$(in_host setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c "$PY_GETFD" "$VPID" 10 2>&1)
assert_match "$out" "connected to the LAN" "control: pidfd_getfd of the victim's socket reaches the LAN from outside"
out=$(setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c "$PY_PTRACE" "$VPID" 2>&1)
assert_eq "$out" attached "control: uid $TU outside can ptrace the victim"
blocked "the victim is not in the command's /proc" m_user run -- test -e "/proc/$VPID"
blocked "kill -0 of the victim fails" m_user run -- kill -0 "$VPID"
blocked "pidfd_getfd of the victim's socket does not reach the LAN" m_user run -- "$PY" -c "$PY_GETFD" "$VPID" 11
blocked "ptrace of the victim fails" m_user run -- "$PY" -c "$PY_PTRACE" "$VPID"
blocked "exec: kill -0 of the victim fails" m_user exec "v-$S" -- kill -0 "$VPID"
blocked "exec: pidfd_getfd does not reach the LAN" m_user exec "v-$S" -- "$PY" -c "$PY_GETFD" "$VPID" 12
blocked "exec: ptrace of the victim fails" m_user exec "v-$S" -- "$PY" -c "$PY_PTRACE" "$VPID"
blocked "--user 0: ptrace of the victim fails" m_user run --user 0 -- "$PY" -c "$PY_PTRACE" "$VPID"
assert_ok -m "the victim still runs" proc_alive "$VPID"
# System V shared memory of a host process of the same user
shm=$(setpriv --reuid=$TU --regid=$TU --clear-groups ipcmk -M 4096 2>/dev/null | grep -o '[0-9]*$')
if [ -n "$shm" ]; then
	world_on_destroy ipcrm -m "$shm"
	assert_ok -m "control: its shared memory segment exists outside" sh -c "ipcs -m -i $shm | grep -q shmid=$shm"
	blocked "a host shared memory segment is not visible" m_user run -- sh -c "ipcs -m -i $shm | grep shmid=$shm"
	blocked "exec: a host shared memory segment is not visible" m_user exec "v-$S" -- sh -c "ipcs -m -i $shm | grep shmid=$shm"
else
	not_ok "control: ipcmk creates a shared memory segment"
fi
out=$(setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c "$PY_TIOCSTI" 2>&1)
if [ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ]; then
	assert_eq "$out" "typed into the terminal" "control: uid $TU outside can TIOCSTI its terminal"
fi
blocked "TIOCSTI into its terminal fails" m_user run -- "$PY" -c "$PY_TIOCSTI"
blocked "exec: TIOCSTI into its terminal fails" m_user exec "v-$S" -- "$PY" -c "$PY_TIOCSTI"

t_begin "moat's state and processes, as root inside"
assert_eq "$(m_root run -- id -u)" 0 "control: the command is uid 0 inside"
assert_ok -m "control: host root writes the run directory" sh -c "touch '$RUN/sandboxes/v-$S/probe' && rm '$RUN/sandboxes/v-$S/probe'"
blocked "root inside cannot write another sandbox's state" m_root run -- sh -c "echo x >'$RUN/sandboxes/v-$S/pwned'"
blocked "root inside cannot remove another sandbox's policy" m_root run -- sh -c "mv '$RUN/sandboxes/v-$S/policy.yaml' '$RUN/sandboxes/v-$S/policy.old'"
assert_fail -m "no file appeared in the victim's state" test -e "$RUN/sandboxes/v-$S/pwned"
assert_ok -m "control: host root can take the global lock" flock -n -x "$RUN/lock" true
blocked "root inside cannot take the global lock" m_root run -- flock -n -x "$RUN/lock" true
out=$(in_host "$PY" -c "$PY_CTL" "$CTL" status 2>&1)
assert_match "$out" "\"name\"" "control: host root talks to the victim's supervisor"
blocked "root inside cannot talk to the victim's supervisor" m_root run -- "$PY" -c "$PY_CTL" "$CTL" status
assert_ok -m "control: host root may signal the supervisor (kill -0)" kill -0 "$SV"
blocked "root inside does not see the supervisor" m_root run -- test -e "/proc/$SV"
blocked "root inside cannot SIGKILL the victim's supervisor" m_root run -- kill -9 "$SV"
blocked "exec: root inside cannot SIGKILL the victim's supervisor" m_root exec "v-$S" -- kill -9 "$SV"
blocked "root inside cannot stop the victim's supervisor" m_root run -- "$PY" -c "$PY_CTL" "$CTL" stop
# a SIGKILL that got through shows a moment later: this wait running out
# is the expected outcome
wait_for 1 eval '! proc_alive "$SV"'
assert_ok -m "the victim's supervisor survived" proc_alive "$SV"
assert_match "$(m ls)" "v-$S +running" "the victim sandbox is still running"
assert_ok -m "control: host root writes the root-owned directory" sh -c "touch '$RD/probe' && rm '$RD/probe'"
blocked "root inside cannot write a root-owned host directory" m_root run -- touch "$RD/pwned"
blocked "--user 0 cannot write a root-owned host directory" m_user run --user 0 -- touch "$RD/pwned"
blocked "exec --user 0 cannot write a root-owned host directory" m_root exec "v-$S" --user 0 -- touch "$RD/pwned"
assert_fail -m "nothing was written" test -e "$RD/pwned"
blocked "/run/netns is absent inside" m_root run -- test -e "/run/netns/moat-v-$S"
assert_eq "$(m_root run -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 65534 1" "root inside is uid 65534 outside (no sudo)"
assert_eq "$(m_user run --user 0 -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 $TU 1" "--user 0 under sudo is the sudo user outside"

t_begin "the supervisor checks its peer"
# a sandbox of its own, whatever the attacks above did to the victim
m create "p-$S" >/dev/null
PCTL=$RUN/sandboxes/p-$S/ctl.sock
PSV=$(in_host "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["supervisor_pid"])' "$RUN/sandboxes/p-$S/state.json" 2>/dev/null)
chmod 711 "$RUN" "$RUN/sandboxes" "$RUN/sandboxes/p-$S" "$WORLD_DIR"
chmod 666 "$PCTL"
out=$(setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c "$PY_CTL" "$PCTL" status 2>&1)
assert_no_match "$out" "\"name\"" "a non-root peer is refused even when the socket's mode lets it connect"
setpriv --reuid=$TU --regid=$TU --clear-groups "$PY" -c "$PY_CTL" "$PCTL" stop >/dev/null 2>&1
chmod 600 "$PCTL"
chmod 700 "$WORLD_DIR"
# the stop was read (its client got an answer or was cut off); a
# supervisor that obeyed it would answer nothing after it
out=$(in_host "$PY" -c "$PY_CTL" "$PCTL" status 2>&1)
assert_match "$out" "\"name\"" "host root is still answered after the non-root stop"
assert_ok -m "the supervisor survived it" proc_alive "${PSV:-0}"
m rm -f "p-$S" >/dev/null

t_begin "what keeps working"
out=$(m_user run -- curl -s --max-time 5 http://93.184.216.34/ 2>&1)
assert_match "$out" "INET 93.184.216.34" "the internet the policy allows"
assert_ok -m "its own processes are visible and signalable" m_user run -- sh -c 'sleep 5 & p=$!; test -e /proc/$p && kill $p'
assert_eq "$(m_user run -- sh -c 'echo $$')" 2 "the command is PID 2, under a small init"
assert_ok -m "writes its /tmp" m_user run -- sh -c 'echo x >/tmp/f && test -s /tmp/f'
assert_ok -m "writes a directory of its user" m_user run -- touch "$RD/home/f1"
assert_ok -m "--user 0 under sudo writes the sudo user's directory" m_user run --user 0 -- touch "$RD/home/f2"
assert_eq "$(stat -c %u "$RD/home/f2" 2>/dev/null)" "$TU" "the file is the sudo user's on the host"
assert_eq "$(m_user run -- unshare -Urn sh -c 'id -u; ip -o link show | wc -l' | tr '\n' ' ')" "0 1 " "a nested user+network namespace works"
# root inside may not map its own UID 0 into a nested namespace (the
# kernel asks for CAP_SETFCAP for that), but may nest without mapping it
assert_eq "$(m_root run -- unshare -Un sh -c 'ip -o link show | wc -l')" 1 "nested namespaces work as root inside"
assert_eq "$(m_user exec "v-$S" -- unshare -Urn true && echo ok)" ok "exec: nested namespaces work"
assert_eq "$(echo hello | m_user run -- cat)" hello "stdin and stdout"
assert_eq "$(cd "$RD/home" && m_user run -- pwd)" "$RD/home" "the working directory is kept"
out=$(cd "$WORLD_DIR" && m_user run -- pwd 2>"$WORLD_DIR/cwd.err")
assert_eq "$out" / "a working directory under a covered one is replaced by /"
assert_match "$(cat "$WORLD_DIR/cwd.err")" "hidden in the sandbox" "with a warning"
assert_status -m "run: the command's status" 3 m_user run -- sh -c 'exit 3'
assert_status -m "exec: the command's status" 5 m_user exec "v-$S" -- sh -c 'exit 5'
assert_status -m "run: killed command is 128+signal" 137 m_user run -- sh -c 'kill -9 $$'
assert_status -m "exec: missing command is 127" 127 m_user exec "v-$S" -- /nonexistent/cmd
(exec nsenter --net="$HOST_NETNS" env SUDO_UID=$TU SUDO_GID=$TU "$MOAT" run -- sh -c 'trap "exit 43" USR1; echo ready; while :; do sleep 0.1; done' >"$WORLD_DIR/sig.out" 2>&1) &
p=$!
wait_for 5 grep -q ready "$WORLD_DIR/sig.out"
kill -USR1 "$p"
wait "$p"; rc=$?
assert_eq "$rc" 43 "run: SIGUSR1 reaches the command"
rm -f "$WORLD_DIR/sig.out"
for cmd in run "exec v-$S"; do
	# shellcheck disable=SC2086 # $cmd is two words for exec
	(exec nsenter --net="$HOST_NETNS" env SUDO_UID=$TU SUDO_GID=$TU "$MOAT" $cmd -- sh -c 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done' >"$WORLD_DIR/sig.out" 2>&1) &
	p=$!
	wait_for 5 grep -q ready "$WORLD_DIR/sig.out"
	kill -TERM "$p"
	wait "$p"; rc=$?
	assert_eq "$rc" 42 "${cmd%% *}: SIGTERM reaches the command"
	rm -f "$WORLD_DIR/sig.out"
done
# /etc/resolv.conf as systemd-resolved leaves it: a link into /run, which
# the command does not see; moat creates the file it names in the cover
mkdir -p "$WORLD_DIR/ovl/u" "$WORLD_DIR/ovl/w"
out=$(in_host unshare -m --propagation slave sh -c '
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/u,workdir=$1/w" /etc || exit 99
	ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
	shift; exec "$@"' sh "$WORLD_DIR/ovl" env SUDO_UID=$TU SUDO_GID=$TU "$MOAT" run -- sh -c 'readlink /etc/resolv.conf; cat /etc/resolv.conf' 2>&1); rc=$?
if [ "$rc" = 99 ]; then
	ok "resolv.conf linked into /run (skipped: no overlayfs here)"
else
	assert_match "$out" "stub-resolv.conf.*written by moat" "resolv.conf linked into /run names the interceptor"
fi
t0=$EPOCHREALTIME
m_user exec "v-$S" -- sh -c 'sleep 30 >/dev/null 2>&1 &'
d=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print (b-a < 10) ? "fast" : "slow"}')
assert_eq "$d" fast "exec returns when its command exits, background processes left"
assert_status -m "exec's background process is still inside (rm refuses)" 125 m rm "v-$S"
assert_ok -m "rm -f removes the victim and what is inside" m rm -f "v-$S"

t_end
