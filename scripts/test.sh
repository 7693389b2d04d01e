#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# scripts/test.sh - moat's whole test suite, as the README and CI run it:
#
#   sudo ./scripts/test.sh
#
# 1. installs the Debian packages it needs (scripts/install-deps.sh)
# 2. builds moat (build/), an ASan+UBSan build (build-asan/) and a release
#    build (build-release/, which must compile without a warning)
# 3. static analysis, one counted check each: shellcheck on every shell
#    script (tests/, scripts/, bench/, completions/; settings in
#    .shellcheckrc) and cppcheck on src/ with the build's own defines and
#    include paths (build/compile_commands.json; scripts/cppcheck/ has the
#    library macros and the justified suppressions); any finding fails
# 4. runs the unit tests (cmocka) in both builds
# 5. runs the integration tests (tests/integration/) against the
#    ASan+UBSan binary, each in a throwaway world of network namespaces,
#    several at once (tests/run-integration.sh, MOAT_TEST_JOBS)
# 6. builds the libFuzzer harnesses with clang and runs each briefly
#
# and ends with one line "N passed, N failed". Exit status 0 only if
# nothing failed.
#
# Environment: MOAT_TEST_FILTER=REGEX runs only the integration tests whose
# file name matches; MOAT_FUZZ_SECONDS (default 20) per harness;
# MOAT_SKIP_FUZZ=1 and MOAT_SKIP_ASAN=1 skip those stages (for a quick
# local loop; CI runs everything).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 125

if [ "$(id -u)" != 0 ]; then
	echo "scripts/test.sh: run as root (the tests build network namespaces)" >&2
	exit 125
fi

passed=0
failed=0

# count NAME OUTPUT: add a cmocka binary's results to the totals
count_cmocka() {
	local out=$1 p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ -z "$p$f" ]; then
		failed=$((failed + 1))	# crashed before cmocka's summary
	fi
}

stage() { printf '\n=== %s\n' "$*"; }

stage "installing dependencies"
"$top/scripts/install-deps.sh" || { echo "0 passed, 1 failed"; exit 1; }

stage "building"
build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; return 1; }
}
mkdir -p build
build build || { echo "0 passed, 1 failed"; exit 1; }
moat_bin=$top/build/moat
if [ "${MOAT_SKIP_ASAN:-0}" != 1 ]; then
	# with the test-only attack modes (a compromised worker, say) that
	# the integration tests use; never in build/ or a release build
	build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug -Dtest_hooks=true || { echo "0 passed, 1 failed"; exit 1; }
	moat_bin=$top/build-asan/moat
fi

# the optimiser sees more (format truncation, say): the release build that
# bench/ and packagers use must compile warning-free too
if build build-release -Dbuildtype=release; then
	echo "ok - release build (-O3) compiles without warnings"
	passed=$((passed + 1))
else
	echo "not ok - release build (-O3) does not compile without warnings"
	failed=$((failed + 1))
fi

stage "static analysis"
# check NAME CMD...: one counted check, its output shown if it fails
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name: $(grep -c . <<<"$out") findings"
		printf '%s\n' "$out" | head -n 200 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}
mapfile -t shell_files < <(find tests scripts bench completions -type f \
	\( -name '*.sh' -o -name '*.bash' \) | sort)
check shellcheck shellcheck -f gcc "${shell_files[@]}"
check cppcheck cppcheck --project=build/compile_commands.json --file-filter='src/*' \
	--library=scripts/cppcheck/moat.cfg \
	--suppress-xml=scripts/cppcheck/suppressions.xml \
	--enable=warning,performance,portability --inline-suppr \
	--error-exitcode=1 -q -j "$(nproc)" \
	--template='{file}:{line}: {severity}: {message} [{id}]'

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
export MOAT_SRCDIR=$top

for dir in build build-asan; do
	[ -d "$dir" ] && [ -f "$dir/build.ninja" ] || continue
	[ "$dir" = build-asan ] && [ "${MOAT_SKIP_ASAN:-0}" = 1 ] && continue
	stage "unit tests ($dir)"
	for t in "$dir"/tests/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$t" 2>&1)
		echo "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|^\[  FAILED|ERROR|runtime error|Sanitizer' | sed "s|^|$(basename "$t"): |"
		count_cmocka "$out"
	done
done

stage "integration tests ($moat_bin)"
out=$(MOAT="$moat_bin" "$top/tests/run-integration.sh" 2>&1)
echo "$out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
if [ -n "$line" ]; then
	passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
	failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
else
	failed=$((failed + 1))
fi

if [ "${MOAT_SKIP_FUZZ:-0}" != 1 ]; then
	stage "fuzzing (${MOAT_FUZZ_SECONDS:-20}s per harness)"
	if CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link \
		-Dbuildtype=debug; then
		for h in build-fuzz/fuzz/fuzz_*; do
			[ -f "$h" ] && [ -x "$h" ] || continue
			name=${h##*/fuzz_}
			corpus=$(mktemp -d)
			cp -r "fuzz/corpus/$name/." "$corpus/" 2>/dev/null
			if "$h" -max_total_time="${MOAT_FUZZ_SECONDS:-20}" \
				-timeout=10 -rss_limit_mb=2048 "$corpus" \
				>"build-fuzz/$name.log" 2>&1; then
				echo "ok - fuzz_$name: $(grep -c . <<<"$(ls "$corpus")") inputs, no crash"
				passed=$((passed + 1))
			else
				echo "not ok - fuzz_$name crashed:"
				tail -n 40 "build-fuzz/$name.log"
				failed=$((failed + 1))
			fi
			rm -rf "$corpus"
		done
	else
		failed=$((failed + 1))
	fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
