#!/bin/sh
# bench/dns.sh — provision -> answered (issue 16, doc/dns.md): from the start
# of a change's request to the first DNS answer that carries it, at 10k,
# 100k and 1M numbers in all, idle and under a background load of 1000
# changes/s, next to Knot's own incremental update in the same run.
#
# For each size N: a fresh Knot on 127.0.0.1 (conf/knot.conf's templates:
# catalog, ZONEMD generation, journal) and one enumdrd with dns: set
# (incremental DNS UPDATEs, the catalog) and its listener open.  The N
# numbers go in through the agent (POST /v1/batch of 1000, each batch one
# commit, fed to Knot as it goes), in zones of Z numbers (BENCH_ZONE_SIZE,
# default 100000: the size doc/dns.md recommends): N <= Z is one zone,
# 1M is 10 zones of 100k.  Then bench/dnslat.py measures, S samples each
# (BENCH_SAMPLES, default 200):
#   enumdr idle    POST one new number to the agent, ask Knot over UDP every
#                  ms until it answers the number's NAPTR;
#   enumdr loaded  the same while 1000 changes/s (BENCH_RATE) are POSTed to
#                  every zone in turn;
# then the agent is stopped and the same Knot with the same zones is fed
# directly, the baseline:
#   knot idle      one TSIG-signed DNS UPDATE of the same change (dnspython),
#                  then asked the same way;
#   knot loaded    the same while 1000 changes/s go to Knot as UPDATEs.
# Percentiles are nearest-rank over the S samples.  The ratio is enumdr's
# p99 over the baseline's.  Writes bench/results/dns.md.  BENCH_SIZES
# (default "10000 100000 1000000") changes the sizes.
. "$(dirname "$0")/lib.sh"
bench_init dns

SIZES=${BENCH_SIZES:-10000 100000 1000000}
Z=${BENCH_ZONE_SIZE:-100000}
S=${BENCH_SAMPLES:-200}
RATE=${BENCH_RATE:-1000}
PY=/usr/bin/python3
for _c in knotd keymgr; do
	command -v "$_c" >/dev/null 2>&1 || die "needs $_c (apt-get install knot)"
done
"$PY" -c 'import dns.update' 2>/dev/null ||
	die "needs dnspython for $PY (apt-get install python3-dnspython)"
cp "$bench_dir/dnslat.py" "$W/bin/" || die "cannot copy dnslat.py"
case $Z in 10000|100000|1000000) ;; *) die "BENCH_ZONE_SIZE must be 10000, 100000 or 1000000" ;; esac

# start_size N — Knot and the agent for N numbers; sets KDIR, KPORT, ZONES
start_size() {
	_n=$1
	KDIR=$W/n$_n
	mkdir -p "$KDIR/zones" "$KDIR/knotdb" "$KDIR/run"
	free_port KPORT
	keymgr -t enumdr hmac-sha256 >"$KDIR/tsig.key" || die "keymgr -t failed"
	sed -e "s#/run/knot#$KDIR/run#g" -e "s#/var/lib/knot#$KDIR/knotdb#g" \
	    -e "s#/var/lib/enumdr/zones#$KDIR/zones#g" \
	    -e "s#/etc/enumdr/tsig.key#$KDIR/tsig.key#g" \
	    -e "s#listen: .*#listen: [ 127.0.0.1@$KPORT ]#" \
	    "$top/conf/knot.conf" >"$KDIR/knot.conf"
	knotd -c "$KDIR/knot.conf" >"$KDIR/knotd.log" 2>&1 &
	_kpid=$!
	echo "$_kpid" >"$KDIR/knotd.pid"
	_bench_pids="$_bench_pids $_kpid"
	# zones of Z numbers: +46700 followed by one digit per 100k ...
	ZONES=
	_zargs=
	case $Z in
	10000) _digits=2 ;; 100000) _digits=1 ;; *) _digits=0 ;; esac
	_k=0
	while [ $((_k * Z)) -lt "$_n" ]; do
		if [ $_digits = 0 ]; then _p=46700
		else _p=46700$(printf "%0${_digits}d" $_k); fi
		ZONES="${ZONES:+$ZONES,}$_p"
		_zargs="$_zargs --zone $(echo "$_p" | awk '{ for (i = length($0); i > 0; i--) printf "%s.", substr($0, i, 1); print "e164.arpa" }'):1"
		_k=$((_k + 1))
	done
	start_agent A "$KDIR" "dns:
  server: 127.0.0.1:$KPORT
  tsig_key: $KDIR/tsig.key
  control_socket: $KDIR/run/knot.sock
  zone_dir: $KDIR/zones
  catalog: catalog.enumdr" "$_zargs"
	"$enumdr" -c "$AGENT_CONF" dns-sync --timeout 60000 >/dev/null ||
		die "the agent could not bring Knot in step (see $KDIR/agent.log)"
}

# lat NAME ARGS... — one dnslat.py run; its JSON line into $W/NAME.json
lat() {
	_name=$1
	shift
	_bench_cmds="${_bench_cmds}$PY bench/dnslat.py $*
"
	say "$_name: dnslat.py $*"
	"$PY" "$W/bin/dnslat.py" "$@" >"$W/$_name.json" ||
		die "$_name: dnslat.py failed: $(cat "$W/$_name.json")"
	say "$_name: $(cat "$W/$_name.json")"
}
field() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$W/$1.json" "$2"; }

rows=
title=
for N in $SIZES; do
	start_size "$N"
	t0=$(date +%s)
	fill_numbers "$N"
	"$enumdr" -c "$AGENT_CONF" dns-sync --timeout 600000 >/dev/null ||
		die "Knot not in step after the fill (see $KDIR/agent.log)"
	fill_s=$(( $(date +%s) - t0 ))
	count=$(sqlite3 -readonly "$AGENT_DB" "SELECT count(*) FROM number")
	[ "$count" = "$N" ] || die "the database holds $count numbers, not $N"
	nz=$(echo "$ZONES" | tr , '\n' | grep -c .)
	say "$N numbers in $nz zone(s), fed to Knot in ${fill_s}s"
	dns=127.0.0.1:$KPORT
	lat "e-idle-$N" enumdr --url "$AGENT_PROV" --dns "$dns" --zones "$ZONES" --samples "$S" --tag 1
	lat "e-load-$N" enumdr --url "$AGENT_PROV" --dns "$dns" --zones "$ZONES" --samples "$S" --rate "$RATE" --tag 2
	_bench_kill "$(cat "$KDIR/agent.pid")"
	lat "k-idle-$N" knot --key "$KDIR/tsig.key" --dns "$dns" --zones "$ZONES" --samples "$S" --tag 3
	lat "k-load-$N" knot --key "$KDIR/tsig.key" --dns "$dns" --zones "$ZONES" --samples "$S" --rate "$RATE" --tag 4
	_bench_kill "$(cat "$KDIR/knotd.pid")"
	for load in idle load; do
		e=e-$load-$N k=k-$load-$N
		r=$(awk -v a="$(field "$e" p99_ms)" -v b="$(field "$k" p99_ms)" 'BEGIN { printf "%.2f", a / b }')
		bg=
		[ $load = load ] && bg=" ($(field "$e" background_rate) / $(field "$k" background_rate) changes/s)"
		rows="${rows}| $N in $nz zone(s) | $load$bg | $(field "$e" p50_ms) / $(field "$e" p99_ms) / $(field "$e" max_ms) | $(field "$k" p50_ms) / $(field "$k" p99_ms) / $(field "$k" max_ms) | $r |
"
		title="${title:+$title, }$N $load p99 $(field "$e" p99_ms) ms ($r x)"
	done
	rm -rf "$KDIR"
done

note "Provision -> answered, in ms (p50 / p99 / max over $S samples each; nearest rank). enumdr: POST /v1/numbers to enumdrd, which commits and sends the change to Knot as a DNS UPDATE; Knot's own: the same change sent straight to the same Knot and zones as one TSIG-signed DNS UPDATE (the baseline). Both asked over UDP every ms until the answer holds the number. Zones of $Z numbers (BENCH_ZONE_SIZE); Knot generates ZONEMD on every update (conf/knot.conf)."
note ""
note "| numbers | load | enumdr p50 / p99 / max | Knot's own update p50 / p99 / max | p99 ratio |"
note "| --- | --- | --- | --- | --- |"
note "$(printf '%s' "$rows")"
write_results "dns: provision -> answered, enumdr vs Knot's own update: $title"
