# tests/tap.sh — TAP helpers for shell tests (sourced).
#   ok COND_EXIT_STATUS "what"; is "$got" "$want" "what"; skip_all "why"; done_testing
# A skip is allowed on a machine without root or a server, but never with
# CI=true: there it is a failure (the brief's rule).
tap_n=0
tap_failed=0

ok() {  # ok STATUS WHAT
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $2"
	fi
}

is() {  # is GOT WANT WHAT
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $3"
		echo "#   got:  '$1'"
		echo "#   want: '$2'"
	fi
}

like() {  # like GOT REGEX WHAT
	tap_n=$((tap_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $tap_n - $3"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $3"
		printf '%s\n' "$1" | head -20 | sed 's/^/#   got: /'
		echo "#   want match: $2"
	fi
}

unlike() {  # unlike GOT REGEX WHAT
	tap_n=$((tap_n + 1))
	if ! printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $tap_n - $3"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $3"
		printf '%s\n' "$1" | grep -E -- "$2" | head -5 | sed 's/^/#   got: /'
		echo "#   want no match: $2"
	fi
}

diag() { echo "# $*"; }

skip_all() {  # skip_all WHY — exit 77 style, but a failure under CI=true
	if [ "${CI:-}" = "true" ]; then
		echo "1..1"
		echo "not ok 1 - cannot run under CI=true: $*"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}
