#!/bin/sh
# bench/run.sh — run every benchmark of bench/ (see bench/README.md), one
# after the other; each writes bench/results/NAME.md (date, machine, exact
# commands, raw hyperfine tables, and on its first line the ratio to its
# baseline).  Prints those first lines at the end.  Exit 0 when every
# benchmark ran, 1 otherwise.
#
#   sh bench/run.sh [NAME...]      NAME: snapshot checker provision (default all)
#
# Uses the programs of TOP/_build (else /tmp/bench-build, or ENUMDR_BUILD);
# the scripts say how to build them when they are missing.
bench_dir=$(cd "$(dirname "$0")" && pwd)
names=${*:-snapshot checker provision replication dns}
failed=
for name in $names; do
	[ -f "$bench_dir/$name.sh" ] || { echo "bench/run.sh: no benchmark $name" >&2; exit 64; }
done
for name in $names; do
	echo "=== bench/$name.sh" >&2
	if ! sh "$bench_dir/$name.sh"; then
		echo "bench/run.sh: $name FAILED" >&2
		failed="$failed $name"
	fi
done
echo
echo "Results (bench/results/):"
for name in $names; do
	case " $failed " in
	*" $name "*) echo "  $name: FAILED (no new results)" ;;
	*) echo "  $name.md: $(head -n1 "$bench_dir/results/$name.md" | sed 's/^# //')" ;;
	esac
done
[ -z "$failed" ]
