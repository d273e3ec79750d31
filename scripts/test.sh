#!/bin/sh
# scripts/test.sh — the whole test suite, as the README and .ci/run run it:
#   1. install dependencies (Debian 12, root);
#   2. build with -Wall -Wextra -Werror and run every test (unit + integration);
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and run
#      every test there again (unit and integration: the daemons, the notify
#      program and the checkers run instrumented);
#   4. cppcheck over every C folder;
#   5. make distcheck (the tarball: build, install, unit tests).
# Under CI=true a skipped test is a failure (tests/tap.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n=== %s ===\n' "$*"; }

step "bootstrap"
autoreconf -fi

step "build (-Werror) and make check"
rm -rf _build && mkdir _build
(cd _build && ../configure --enable-werror --quiet &&
	make -j"$jobs" && make -j"$jobs" check) || {
	cat _build/tests/*/*.log 2>/dev/null | tail -200; exit 1; }

step "every test again under ASan + UBSan"
rm -rf _build-san && mkdir _build-san
(cd _build-san && ../configure --enable-werror --enable-sanitizers --quiet &&
	make -j"$jobs" &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	make -j"$jobs" check TESTS='$(UNIT_TESTS) $(INTEGRATION_TESTS)') || {
	cat _build-san/tests/unit/*.log _build-san/tests/integration/*.log \
	    2>/dev/null | tail -200; exit 1; }

step "cppcheck"
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	--inline-suppr -I lib -I plugin -I checkers \
	lib src plugin checkers notify tests/unit

step "make distcheck"
# The packaging check: the tarball builds, installs and passes the unit
# tests (the integration tests ran twice above, in both builds).
(cd _build && make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
	TESTS='$(UNIT_TESTS)' >distcheck.log 2>&1) || { tail -100 _build/distcheck.log; exit 1; }
grep -A3 'archives ready' _build/distcheck.log || true

step "summary"
# automake's harness counts the TAP results of every test program and
# script; add up both runs (the -Werror build and the sanitizer build).
count() { sed -n "s/^# $1: *//p" _build/test-suite.log _build-san/test-suite.log |
	awk '{ s += $1 } END { print s + 0 }'; }
pass=$(count PASS); skip=$(count SKIP)
fail=$(( $(count FAIL) + $(count XPASS) + $(count ERROR) ))
if [ "${CI:-}" = "true" ] && [ "$skip" -ne 0 ]; then
	echo "$skip test(s) skipped under CI=true: that is a failure"
	fail=$((fail + skip))
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
