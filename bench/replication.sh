#!/bin/sh
# bench/replication.sh — continuous replication (issue 14, doc/replication.md):
# how far behind the standby is, and what synchronous mode costs.
#
# Two agents on 127.0.0.1, A and B, each the other's peer (B follows A's
# journal, A follows B's), each with its own database holding the zone
# 6.4.e164.arpa (enumdr init --zone); A's listener open, B's closed.  A load
# client (bench/load.py: Python's http.client, one keep-alive connection)
# posts distinct new numbers to A (POST /v1/numbers, one number each).
#
#   lag:   a fresh pair per rate (asynchronous mode); C changes (default
#          3000) at 100/s, at 1000/s (paced, open loop as far as one
#          connection allows), and as fast as the client goes.  Then the
#          script waits until B holds A's whole journal (behind 0, cursor at
#          A's journal), and reads B's lag_p50_ms / lag_p99_ms from `enumdr
#          agent status --json`: commit at A to commit at B, by the HLC's
#          wall-clock part (one machine, one clock).  B takes one sample per
#          batch it applies (one poll's answer, one transaction): the lag of
#          the batch's newest change; lag_samples says how many, over the
#          last 4096 batches — with C <= 4096 and a fresh pair, exactly that
#          phase's.
#   sync:  three fresh pairs side by side, in mode sync, async and off (no
#          replication: A commits alone); the same client posts P (default
#          1000) numbers to each pair's A as fast as it goes, R (default 5)
#          rounds, the pairs in turn (the order rotated each round), after a
#          warmup run each, timed by the client (first send to last answer).
#          sync/async = the sync changes/s over the async changes/s (the
#          issue's figure); async/off = what being followed costs A when B
#          shares this machine.  Not hyperfine: it runs every run of one
#          command before the next command, so the drift of a shared
#          machine's load would go into the ratios.  Afterwards the sync pair
#          must still be synchronous (replication.degraded false): a
#          fallback to asynchronous would measure the wrong thing.
#   client ceiling:  the same client sending heartbeat GETs to A, so that a
#          reader sees how far below its own limit the client ran.
#
# Writes bench/results/replication.md.  BENCH_CHANGES (C), BENCH_SYNC_POSTS
# (P), BENCH_ROUNDS (R), BENCH_RATES (default "100 1000 max") change the
# sizes.
. "$(dirname "$0")/lib.sh"
bench_init replication

C=${BENCH_CHANGES:-3000}
P=${BENCH_SYNC_POSTS:-1000}
ROUNDS=${BENCH_ROUNDS:-5}
RATES=${BENCH_RATES:-100 1000 max}
[ "$C" -ge 1 ] && [ "$C" -le 4096 ] ||
	die "BENCH_CHANGES must be 1..4096 (the agent keeps the lag of its last 4096 batches: at most one per change)"
[ "$C" -ge 2000 ] || say "BENCH_CHANGES=$C: fewer than the 2000 changes per phase the results should rest on"
command -v python3 >/dev/null 2>&1 || die "needs python3 (the load client bench/load.py)"
cp "$bench_dir/load.py" "$W/bin/load.py" || die "cannot copy load.py"
load="python3 $W/bin/load.py"

# jget FILE PATH — one value of a JSON document; PATH is dot-separated keys,
# a list element chosen by [KEY=VALUE] (replication.peers[name=A].behind).
# Prints nothing (status 1) when the path is not there; booleans as
# true/false, null as null.
jget() {
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
try:
    v = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(1)
for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", sys.argv[2]):
    if part.startswith("["):
        k, _, want = part[1:-1].partition("=")
        v = next((e for e in v if isinstance(e, dict) and str(e.get(k)) == want), None) \
            if isinstance(v, list) else None
    else:
        v = v.get(part) if isinstance(v, dict) else None
    if v is None:
        sys.exit(1)
print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)
EOF
}

# record CMD — a command line for the results file's Commands section
record() {
	_bench_cmds="${_bench_cmds}${1}
"
}

# start_pair DIR MODE — agents A (DIR/A, listener open, role MASTER) and B
# (DIR/B, listener closed, role BACKUP), each the other's peer, replication
# mode MODE in both (off: B follows nothing, A commits alone).  Sets A_CONF B_CONF A_PROV A_PEER A_DB B_DB.
start_pair() {
	_pd=$1 _mode=$2
	for _r in A B; do
		free_port _pp
		free_port _peerp
		eval "_prov_$_r=\$_pp _peer_$_r=\$_peerp"
	done
	for _r in A B; do
		case $_r in A) _o=B ;; B) _o=A ;; esac
		eval "_pp=\$_prov_$_r _peerp=\$_peer_$_r _opeer=\$_peer_$_o"
		mkdir -p "$_pd/$_r"
		cat >"$_pd/$_r/enumdr.yaml" <<EOF
room: $_r
database: $_pd/$_r/db/enumdr.db
snapshot_dir: $_pd/$_r/snapshot
incoming_dir: $_pd/$_r/incoming
state_dir: $_pd/$_r/state
agent:
  provisioning_listen: 127.0.0.1:$_pp
  peer_listen: 127.0.0.1:$_peerp
  control_socket: $_pd/$_r/control.sock
  snapshot_interval_s: 0
replication:
  mode: $_mode
peers:
  - name: $_o
    heartbeat_url: http://127.0.0.1:$_opeer/v1/heartbeat
    transfer_url: file://$_pd/$_o/incoming/
EOF
		"$enumdr" -c "$_pd/$_r/enumdr.yaml" init --zone "$zone" >/dev/null ||
			die "enumdr init --zone failed ($_pd/$_r)"
	done
	for _r in A B; do
		"$enumdrd" -d -c "$_pd/$_r/enumdr.yaml" 2>>"$_pd/$_r/agent.log" &
		_apid=$!
		echo "$_apid" >"$_pd/$_r/agent.pid"
		_bench_pids="$_bench_pids $_apid"
	done
	for _r in A B; do
		eval "_peerp=\$_peer_$_r"
		wait_for 10 curl -sf "http://127.0.0.1:$_peerp/v1/heartbeat" ||
			die "enumdrd $_r did not answer its heartbeat (see $_pd/$_r/agent.log)"
	done
	A_CONF=$_pd/A/enumdr.yaml B_CONF=$_pd/B/enumdr.yaml
	A_DB=$_pd/A/db/enumdr.db B_DB=$_pd/B/db/enumdr.db
	A_PROV=http://127.0.0.1:$_prov_A
	A_PEER=http://127.0.0.1:$_peer_A
	"$enumdr" -c "$A_CONF" agent open >/dev/null &&
	"$enumdr" -c "$A_CONF" agent role MASTER >/dev/null &&
	"$enumdr" -c "$B_CONF" agent role BACKUP >/dev/null ||
		die "enumdr agent open / role failed"
	# Both followers connected before the clock starts: the first changes'
	# lag must not include a connection backoff.
	if [ "$_mode" != off ]; then
		wait_following "$_pd" B A || die "$_pd: B does not follow A: $(cat "$_pd/status.B")"
		wait_following "$_pd" A B || die "$_pd: A does not follow B: $(cat "$_pd/status.A")"
	else
		status "$_pd" A || die "enumdr agent status A failed"
	fi
	_m=$(jget "$_pd/status.A" replication.mode)
	[ "$_m" = "$_mode" ] || die "$_pd: A runs replication mode '$_m', configured $_mode"
}

status() {  # status DIR ROOM — DIR/status.ROOM: `enumdr agent status --json`
	"$enumdr" -c "$1/$2/enumdr.yaml" agent status --json >"$1/status.$2.tmp" 2>&1 &&
	mv "$1/status.$2.tmp" "$1/status.$2"
}

wait_following() {  # wait_following DIR ROOM PEER — ROOM follows PEER (30 s)
	_n=300
	while [ "$_n" -gt 0 ]; do
		if status "$1" "$2"; then
			_st=$(jget "$1/status.$2" "replication.peers[name=$3].state")
			[ "$_st" = following ] && return 0
			if [ -z "$_st" ] && ! jget "$1/status.$2" replication >/dev/null; then
				die "the agent's status has no \"replication\" member: this build has no continuous replication (issue 14)"
			fi
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# caught_up DIR — B holds A's whole journal: A's journal position J, and B's
# follower of A at cursor >= J with behind 0.  Waits up to 120 s.
caught_up() {
	status "$1" A || die "enumdr agent status A failed: $(cat "$1/status.A.tmp")"
	_j=$(jget "$1/status.A" journal) || die "A's status has no journal position"
	_n=1200
	while [ "$_n" -gt 0 ]; do
		if status "$1" B; then
			_c=$(jget "$1/status.B" "replication.peers[name=A].cursor")
			_b=$(jget "$1/status.B" "replication.peers[name=A].behind")
			[ -n "$_c" ] && [ "$_c" -ge "$_j" ] && [ "$_b" = 0 ] && return 0
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	die "B did not catch up with A's journal $_j within 120 s: $(cat "$1/status.B")"
}

stop_pair() {  # stop_pair DIR
	stop_agent "$1/A"
	stop_agent "$1/B"
}

count_numbers() {  # count_numbers DB
	sqlite3 -readonly "$1" "SELECT count(*) FROM number"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

note "Load average (1, 5, 15 min) at the start: $(loadavg)."
note ""

# --- lag at fixed rates and at the client's maximum -------------------------
summary=
raw=
for rate in $RATES; do
	case $rate in
	max) r=0 label="max" ;;
	*[!0-9]*|'') die "BENCH_RATES: '$rate' is neither a number nor max" ;;
	*) r=$rate label="$rate/s" ;;
	esac
	d=$W/lag-$rate
	say "lag at $label: a fresh pair, $C changes"
	start_pair "$d" async
	cmd="$load --url $A_PROV --count $C --rate $r --start 0"
	record "$cmd    # lag at $label (B follows A, mode async)"
	$cmd >"$d/load.json" || die "load at $label failed: $(cat "$d/load.json")"
	caught_up "$d"
	nb=$(count_numbers "$B_DB")
	[ "$nb" = "$C" ] || die "after the $label phase B holds $nb numbers, A acknowledged $C"
	p50=$(jget "$d/status.B" "replication.peers[name=A].lag_p50_ms")
	p99=$(jget "$d/status.B" "replication.peers[name=A].lag_p99_ms")
	ns=$(jget "$d/status.B" "replication.peers[name=A].lag_samples")
	reached=$(jget "$d/load.json" rate)
	need "$p50" "$p99" "$reached"
	case $rate in
	max) summary="$summary${summary:+, }$p50/$p99 ms at the maximum, ${reached}/s" ;;
	*) summary="$summary${summary:+, }$p50/$p99 ms at $label (${reached}/s reached)" ;;
	esac
	note "- **$label**: client $(jget "$d/load.json" ok) changes in $(jget "$d/load.json" elapsed_s) s = **${reached}/s** (late: $(jget "$d/load.json" late); answer p50 $(jget "$d/load.json" latency_p50_ms) ms, p99 $(jget "$d/load.json" latency_p99_ms) ms); B: lag p50 **$p50 ms**, p99 **$p99 ms** over ${ns:-?} samples (batches), $nb numbers"
	raw="$raw
### $label

\`load.py\` (its JSON line):

\`\`\`json
$(cat "$d/load.json")
\`\`\`

B's \`replication\` (\`enumdr -c B/enumdr.yaml agent status --json\`, once caught up):

\`\`\`json
$(jget "$d/status.B" replication)
\`\`\`
"
	stop_pair "$d"
done
note ""
note "B takes one lag sample per batch it applies (one poll's answer, one transaction): the lag of the batch's newest change, commit at A to commit at B by the HLC's wall-clock part (ms). The older changes of a batch waited longer than its sample, by up to the time between the batch's first and last commit at A."
note ""
note "Load average after the lag phases: $(loadavg)."

# --- synchronous vs asynchronous throughput, side by side --------------------
# Three fresh pairs: sync, async, and off (no replication: A commits alone,
# the reference for what asynchronous replication costs A when both agents
# share this machine).  The runs rotate between the pairs (round 1: off
# async sync, round 2: async sync off, ...): on a shared machine the load of
# other programs drifts over a minute, and hyperfine, which runs all runs of
# one command before the next command, would put that drift into the ratio.
# Timed by the client itself (first send to last answer; no process start,
# no connect).
say "sync vs async vs off: three fresh pairs, $ROUNDS rounds of $P posts per pair"
for p in off async sync; do
	start_pair "$W/$p" "$p"
	eval "prov_$p=\$A_PROV"
	echo 0 >"$W/$p/next"
	eval "u=\$prov_$p"
	$load --url "$u" --count "$P" --counter "$W/$p/next" --log "$W/$p/warmup.json" >/dev/null ||
		die "warmup POSTs ($p) failed: $(tail -n1 "$W/$p/warmup.json")"
	record "$load --url $u --count $P --counter $W/$p/next --log $W/$p/runs.json    # the $p pair's A"
done
y_peer=$A_PEER
record "# the three above in turn, $ROUNDS rounds (the order rotated each round), after one warmup run each"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	case $((i % 3)) in 1) order="off async sync" ;; 2) order="async sync off" ;; 0) order="sync off async" ;; esac
	for p in $order; do
		eval "u=\$prov_$p"
		$load --url "$u" --count "$P" --counter "$W/$p/next" --log "$W/$p/runs.json" >/dev/null ||
			die "round $i, $p: $(tail -n1 "$W/$p/runs.json")"
	done
	i=$((i + 1))
done
for p in off async sync; do
	status "$W/$p" A
	m=$(jget "$W/$p/status.A" replication.mode)
	[ "$m" = "$p" ] || die "the $p pair's A runs mode '$m'"
done
deg=$(jget "$W/sync/status.A" replication.degraded)
[ "$deg" = false ] ||
	die "the sync pair's A is degraded ('$deg'): it fell back to asynchronous, the figure would be wrong ($(cat "$W/sync/status.A"))"
for p in off async sync; do
	t=$(cat "$W/$p/next")
	na_=$(count_numbers "$W/$p/A/db/enumdr.db")
	[ "$na_" = "$t" ] || die "$p pair: A holds $na_ numbers, the client posted $t"
	[ "$p" = off ] && continue
	caught_up "$W/$p"
	nb_=$(count_numbers "$W/$p/B/db/enumdr.db")
	[ "$nb_" = "$t" ] || die "$p pair: B holds $nb_ numbers, A $na_"
done
# Per mode all measured changes / their time; sync/async and async/off from
# those, and each round's ratios for the spread.
python3 - "$W/off/runs.json" "$W/async/runs.json" "$W/sync/runs.json" >"$W/ratio.txt" <<'PYEOF' ||
import json, sys
runs = [[json.loads(l) for l in open(f) if l.strip()] for f in sys.argv[1:4]]
rate = [sum(r["ok"] for r in m) / sum(r["elapsed_s"] for r in m) for m in runs]
def spread(x, y):
    per = sorted(b["rate"] / a["rate"] for a, b in zip(runs[x], runs[y]))
    return "%.2f %.2f %.2f" % (per[len(per) // 2], per[0], per[-1])
print("%.0f %.0f %.0f %.2f %s %.2f %s" % (rate[0], rate[1], rate[2],
      rate[2] / rate[1], spread(1, 2), rate[1] / rate[0], spread(0, 1)))
for m in runs:
    print(" ".join("%g" % r["rate"] for r in m))
PYEOF
	die "cannot compute the ratios"
read -r o_rate y_rate s_rate sr sr_med sr_min sr_max yr yr_med yr_min yr_max <"$W/ratio.txt"
o_runs=$(sed -n 2p "$W/ratio.txt")
y_runs=$(sed -n 3p "$W/ratio.txt")
s_runs=$(sed -n 4p "$W/ratio.txt")
need "$sr" "$yr"
note ""
note "Throughput by mode ($ROUNDS rounds of $P POSTs to each pair's A, the pairs in turn; the client's own timers):"
note ""
note "- off (no replication, the reference): **${o_rate} changes/s** (runs: $o_runs)"
note "- async: **${y_rate} changes/s** (runs: $y_runs)"
note "- sync: **${s_rate} changes/s** (runs: $s_runs); afterwards mode sync, degraded $deg"
note "- **sync/async throughput = $sr** (the rounds' ratios: median $sr_med, $sr_min..$sr_max)"
note "- async/off throughput = $yr (median $yr_med, $yr_min..$yr_max): A's cost of being followed, with B on the same 2 cores and disk"
raw="$raw
### the throughput pairs after the runs

A's \`replication\` in the sync pair:

\`\`\`json
$(jget "$W/sync/status.A" replication)
\`\`\`

B's \`replication\` in the sync pair (lag over its last 4096 batches):

\`\`\`json
$(jget "$W/sync/status.B" replication)
\`\`\`

B's \`replication\` in the async pair:

\`\`\`json
$(jget "$W/async/status.B" replication)
\`\`\`

A's \`replication\` in the off pair:

\`\`\`json
$(jget "$W/off/status.A" replication)
\`\`\`
"

# --- the client's own ceiling ------------------------------------------------
cmd="$load --url $y_peer --count $C --heartbeat"
record "$cmd    # the client's ceiling: heartbeat GETs to the sync pair's A, no commit"
$cmd >"$W/ceiling.json" || die "heartbeat GETs failed: $(cat "$W/ceiling.json")"
ceiling=$(jget "$W/ceiling.json" rate)
for p in off async sync; do
	stop_pair "$W/$p"
done
note ""
note "The client's ceiling: $C \`GET /v1/heartbeat\` on one keep-alive connection to A (no commit) at ${ceiling}/s; Python $(python3 -c 'import platform; print(platform.python_version())')."
note "Load average at the end: $(loadavg)."

cfg=$(sed "s#$W#\$W#g" "$W/lag-$(echo "$RATES" | cut -d' ' -f1)/A/enumdr.yaml")
note ""
note "A's configuration (B's is the mirror image; the throughput pairs have \`mode: off\`, \`async\`, \`sync\`; \$W the work directory):"
note ""
note '```yaml'
note "$cfg"
note '```'
note ""
note "## Raw figures"
note "$(printf '%s' "$raw")"

write_results "replication: lag p50/p99 $summary; sync/async throughput $sr (${s_rate} vs ${y_rate} changes/s; async/off $yr)"
# No hyperfine here (above): drop write_results' empty section of its tables.
sed -i '/^## Raw hyperfine tables$/,$d' "$results_dir/$BENCH.md" &&
sed -i '${/^$/d}' "$results_dir/$BENCH.md"
