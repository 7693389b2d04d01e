#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test_docs.sh - the documentation says what the code does: every example
# policy passes "moat policy check" without a warning, so does the policy
# in README.md, every "moat COMMAND" in README.md's command blocks exists
# ("moat COMMAND --help" exits 0), "moat help COMMAND" is "moat
# COMMAND --help", and the documentation refers to nothing outside the
# repository nor describes an earlier version. Nothing here needs root or creates anything: only
# --help and "policy check" run.
# shellcheck source=../lib/preamble.sh
. "$(dirname "$0")/../lib/preamble.sh"
top=$MOAT_SRCDIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t_begin "example policies"
n=0
for f in "$top"/examples/*.yaml; do
	n=$((n + 1))
	if "$MOAT" policy check "$f" >/dev/null 2>"$tmp/err"; then
		if [ -s "$tmp/err" ]; then
			not_ok "$(basename "$f"): no warnings" "$(cat "$tmp/err")"
		else
			ok "$(basename "$f"): valid, no warnings"
		fi
	else
		not_ok "$(basename "$f"): valid" "$(cat "$tmp/err")"
	fi
done
if [ "$n" -gt 0 ]; then ok "$n example policies checked"; else not_ok "no example policies found"; fi

t_begin "README.md"
# each yaml block, a policy of its own
awk -v d="$tmp" '/^```yaml/ { y = 1; n++; next } /^```/ { y = 0 } y { print > (d "/readme-" n ".yaml") }' "$top/README.md"
for f in "$tmp"/readme-*.yaml; do
	assert_ok -m "its policy $(basename "$f") passes moat policy check" "$MOAT" policy check "$f"
done
# every "moat SUBCOMMAND" at the start of a command in a plain ``` block
# (a fence with a language, such as ```yaml, opens a block that is not one)
awk '/^```/ { if (b) b = 0; else { b = 1; plain = ($0 == "```") }; next } b && plain' \
	"$top/README.md" | tr ';' '\n' |
	sed -E 's/^[[:space:]]*(sudo[[:space:]]+)?//; s|^\./build/moat|moat|' |
	awk '$1 == "moat" && $2 !~ /^-/ { print $2 }' | sort -u >"$tmp/cmds"
if [ -s "$tmp/cmds" ]; then ok "$(wc -l <"$tmp/cmds") commands named"; else not_ok "no commands found in README.md"; fi
while read -r c; do
	assert_status 0 "$MOAT" "$c" --help
done <"$tmp/cmds"

t_begin "documentation stands alone and is current"
# references to texts outside the repository, and lines that described an
# earlier version (each was once true of main)
docs=("$top"/README.md "$top"/SECURITY.md "$top"/docs/*.md "$top"/man/*.[15] "$top"/examples/*.yaml)
for pat in 'SPEC( |§|section)' 'seed 0' 'the brief' 'brief is silent' 'spec is silent' \
	'a later version' 'later moat' 'will live here' 'not in this version' \
	'not enforced (by this moat )?yet' 'domain rules are refused'; do
	hits=$(grep -nE "$pat" "${docs[@]}" 2>/dev/null | sed "s|$top/||")
	if [ -z "$hits" ]; then ok "no '$pat'"; else not_ok "no '$pat'" "$hits"; fi
done

t_begin "help"
for c in run create attach exec update adopt rm ls inspect policy logs stats verify; do
	assert_eq "$("$MOAT" help "$c" 2>&1; echo "status $?")" "$("$MOAT" "$c" --help 2>&1; echo "status $?")" "moat help $c is moat $c --help"
done
assert_status 0 "$MOAT" help
assert_status 2 "$MOAT" help nosuchcommand

t_end
