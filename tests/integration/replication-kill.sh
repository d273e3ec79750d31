#!/bin/sh
# replication-kill.sh — no acknowledged change lost when the active room dies
# under load and comes back (issue 14, "Done when"): real keepalived, enumdrd,
# Knot DNS and rsyslogd in the network namespaces of rooms.sh.
#
#   client namespace C: bridge br0 (192.0.2.100), the load client, kdig
#   room A: 192.0.2.1, priority 150      room B: 192.0.2.2, priority 100
#   VIP 192.0.2.53: DNS (Knot, 53) and provisioning (enumdrd, 8053); keepalived
#   as conf/A, conf/B (VRRP advert_int 1, preempt: A takes the VIP back)
#
# The whole sequence runs once per replication mode (ENUMDR_REPL_MODES,
# default "async sync"), each on fresh databases, with ENUMDR_MOMENTS (5)
# moments per mode.  At each moment:
#
# 1. The load client (provision-load.py, one keep-alive connection) posts
#    distinct numbers through the VIP (room A) and logs every 201.  At a
#    random moment 0.5-3 s after it started (seeded: the seed is printed,
#    ENUMDR_SEED=N replays it), the standby's replication status is read
#    (lag_p99_ms) and EVERY process of room A is SIGKILLed by pid
#    (keepalived, its VRRP child, the notify reader, checkers, enumdrd,
#    knotd: all pids of A's namespace), and its link goes down.
# 2. Takeover (S1.5, hot standby): B holds the VIP and its listener opens.
#    Every number acknowledged so far is asked with kdig @VIP.
#      async (S1.3): missing <= lag_p99_ms x measured ack rate + slack;
#      sync: 0 missing (S0.8: a 201 means a standby had applied it).
# 3. The load resumes through the VIP (now room B); 0.5-3 s later room A is
#    started again on its old database.  It catches up from B's journal and
#    takes the VIP back (failback, S3.3, S4.3: it merges before it opens, its
#    checker keeps it from the VIP while it is behind); the load runs on
#    through the failback and one more second.
# 4. Every number acknowledged so far (in this mode) is asked at the VIP
#    again: 0 missing in both modes (S0.8); both rooms' databases are
#    compared row by row (number; number_version) and must be identical.
#
# A table per mode is printed at the end (# summary lines).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_REPL_KILL_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip curl sqlite3 python3 timeout xargs

make_tmpdir T enumdr-replkill
syslog_receiver "$T"
log="$T/messages"
t_start=$(now_ms)
stamp() { diag "$(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network

modes=${ENUMDR_REPL_MODES:-async sync}
moments=${ENUMDR_MOMENTS:-5}
slack=${ENUMDR_LAG_SLACK:-10}	# the async bound's constant (changes)
seed=${ENUMDR_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
diag "seed $seed (replay: ENUMDR_SEED=$seed); modes: $modes; $moments moments each"
rng=$((seed % 2147483648))
rnd_delay() {  # rnd_delay VAR — VAR = 500..3000 ms, from the seeded generator
	rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
	eval "$1=$((500 + (rng / 65536) % 2501))"
}
ms_sleep() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

A() { "$bin/enumdr" -c "$T/A/enumdr.yaml" "$@"; }
B() { "$bin/enumdr" -c "$T/B/enumdr.yaml" "$@"; }
other_of() { [ "$1" = A ] && echo B || echo A; }


# kill_all R — SIGKILL every process of room R (every pid in its network
# namespace, and the pids this test started there), then its link down: a
# room that died with power off (a killed keepalived leaves its VIP on the
# interface; a dead room takes it off the network)
ns_pids() { eval "ip netns pids \$N$1" 2>/dev/null; }
kill_all() {
	_pids="$(ns_pids "$1") $(cat "$T/$1/run/vrrp.pid" "$T/$1/run/keepalived.pid" 2>/dev/null)"
	eval "_pids=\"\$_pids \$KA_$1 \$AGENT_$1 \$KNOT_$1\""
	_pids=$(printf '%s\n' $_pids | sort -un | tr '\n' ' ')
	killed=
	for _p in $_pids; do
		pid_alive "$_p" || continue
		killed="$killed $(cat "/proc/$_p/comm" 2>/dev/null)/$_p"
	done
	# shellcheck disable=SC2086
	kill -KILL $_pids 2>/dev/null
	eval "ip -n \$N$1 link set eth0 down"
	# keepalived may have started a script between the list and the kill
	_n=0
	while [ -n "$(ns_pids "$1")" ] && [ $_n -lt 50 ]; do
		# shellcheck disable=SC2046
		kill -KILL $(ns_pids "$1") 2>/dev/null
		sleep 0.1
		_n=$((_n + 1))
	done
}
no_pids() { [ -z "$(ns_pids "$1")" ]; }

# reset_rooms MODE — both rooms stopped, fresh databases for MODE
reset_rooms() {
	for r in A B; do
		eval "ns=\$N$r"
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		wait_for 5 no_pids $r
		ip -n "$ns" addr del "$VIP/24" dev eth0 2>/dev/null
		ip -n "$ns" link set eth0 up
		rm -rf "${T:?}/$r"
		room_files $r
		# Replication is what this test is about: the periodic snapshot
		# (the gap healer, S1.2) pushes only every 5 minutes here.
		sed -i 's/^\(  snapshot_interval_s:\).*/\1 300/' "$T/$r/enumdr.yaml"
		cat >>"$T/$r/enumdr.yaml" <<EOF_REPL
replication:
  mode: $1
  sync_timeout_ms: 2000
  max_lag_ms: 5000
  poll_wait_ms: 2000
EOF_REPL
		R $r init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null ||
			{ echo "Bail out! enumdr init in room $r"; exit 1; }
	done
}

# load_start PREFIX (rooms.sh) — the load client through the VIP
# acked FILE... — the acknowledged numbers of these logs
acked_count() { cat "$@" 2>/dev/null | wc -l | tr -d ' '; }

# in_db R FILE — how many numbers of FILE room R's database holds
in_db() {
	awk '{ print $1 }' "$2" | sort -u >"$T/in_db.want"
	sqlite3 -readonly -batch "$T/$1/lib/enumdr.db" 'SELECT e164 FROM number' |
	    sort -u | comm -12 - "$T/in_db.want" | wc -l | tr -d ' '
}

summary=$T/summary
: >"$summary"
mode_i=0
for mode in $modes; do
	mode_i=$((mode_i + 1))
	stamp "=== mode $mode: fresh databases, both rooms start"
	reset_rooms "$mode"
	like "$(sed -n '/^replication:/,$p' "$T/A/enumdr.yaml" | tr '\n' ' ')" "mode: $mode" \
	    "$mode: both rooms configured with replication.mode $mode"
	start_room A
	wait_for 30 vip_on A; ok $? "$mode: room A holds the VIP"
	wait_for 30 listener_open A; ok $? "$mode: room A's listener is open"
	start_room B
	role_backup() { heartbeat B | grep -q '"role":"BACKUP"'; }
	wait_for 20 role_backup; ok $? "$mode: room B is BACKUP"
	wait_until 20 following B A
	ok $? "$mode: room B follows room A's journal (state following)" ||
		diag "room B's status: $(B agent status --json 2>&1 | head -c 600)"
	stamp "$mode: both rooms up"
	all=$T/acked.all.$mode
	: >"$all"

	k=0
	while [ $k -lt "$moments" ]; do
		k=$((k + 1))
		tag="$mode #$k"
		vip_on A || wait_for 30 vip_on A
		wait_until 20 in_step B A
		ok $? "$tag: room B follows room A and is in step before the load" ||
			diag "room B's status: $(B agent status --json 2>&1 | head -c 800)"

		# --- 1. load through the VIP (room A), A killed at a random moment
		p1=$(printf '+467%d%02d1' $mode_i $k)
		p2=$(printf '+467%d%02d2' $mode_i $k)
		rnd_delay d1
		load_start "$p1"
		ms_sleep "$d1"
		# the standby's lag as last seen before the kill: one status
		# read and one parse (each python start competes with the
		# standby for the 2 cores right before the kill)
		set -- $(B agent status --json 2>/dev/null | json_get "' '.join(str(p[k]) for p in d['replication']['peers'] if p['name'] == 'A' for k in ('lag_p50_ms', 'lag_p99_ms', 'behind'))")
		p50=${1:-} p99=${2:-} behind=${3:-}
		t_probe=$(now_ms)
		kill_all A
		t_kill=$(now_ms)
		kill -TERM "$load_pid" 2>/dev/null
		stamp "$tag: room A killed $d1 ms after the load started:$killed"
		no_pids A; ok $? "$tag: no process left in room A's namespace"

		# --- 2. takeover
		wait_for 30 vip_on B; ok $? "$tag: room B holds the VIP"
		t_vip=$(now_ms)
		wait_for 40 listener_open B; ok $? "$tag: room B's listener is open"
		t_open=$(now_ms)
		load_stop "$p1"
		cat "$T/acked.$p1" >>"$all"
		n1=$(acked_count "$T/acked.$p1")
		first=$(head -n1 "$T/acked.$p1" | cut -d' ' -f1)
		# the ack rate the load reached against room A (per second)
		if [ -n "$first" ] && [ "$t_kill" -gt "$first" ]; then
			rate=$((n1 * 1000 / (t_kill - first)))
		else
			rate=0
		fi
		miss_t=$(naptr_missing "$NC" "$VIP" "$all" "$T/missing.t")
		miss_t_db=$(( $(wc -l <"$T/missing.t") - $(in_db B "$T/missing.t") ))
		diag "takeover: VIP on B $((t_vip - t_kill)) ms, listener open $((t_open - t_kill)) ms after the kill"
		diag "$tag: acked by A $n1 ($rate/s); standby lag p50 ${p50:-?} ms p99 ${p99:-?} ms, behind ${behind:-?}; missing at the VIP after the takeover: $miss_t of $(wc -l <"$all") (not in B's database: $miss_t_db)"
		if [ "$miss_t" -gt 0 ]; then
			# how long before the kill the missing ones were acknowledged
			oldest=$(awk -v k="$t_kill" 'FNR == NR { m[$1] = 1; next }
			    ($2 in m) && (o == "" || k - $1 > o) { o = k - $1 }
			    END { print o }' "$T/missing.t" "$all")
			diag "$tag: the oldest missing number was acknowledged $oldest ms before the kill"
		fi
		case $mode in
		async)
			case $p99 in ''|*[!0-9]*)
				ok 1 "$tag: standby's lag_p99_ms readable before the kill (got '$p99')"
				bound=$slack ;;
			*)	bound=$(( (p99 * rate + 999) / 1000 + slack )) ;;
			esac
			diag "$tag: async bound = lag_p99 ${p99:-?} ms x $rate/s + $slack = $bound (lag read $((t_kill - t_probe)) ms before the kill was done)"
			[ "$miss_t" -le "$bound" ]
			ok $? "$tag: async: missing after the takeover ($miss_t) <= bound ($bound)"
			;;
		*)	bound=0
			is "$miss_t" 0 "$tag: $mode: 0 acknowledged numbers missing after the takeover"
			;;
		esac
		[ "$miss_t" -eq 0 ] || sed 's/^/#   missing: /' "$T/missing.t" | head -5

		# --- 3. load through room B; room A comes back: failback
		rnd_delay d2
		load_start "$p2"
		ms_sleep "$d2"
		t_back=$(now_ms)
		revive_room A
		stamp "$tag: room A restarted $d2 ms after the load resumed"
		a_back() { vip_on A && listener_open A; }
		wait_for 60 a_back; ok $? "$tag: room A holds the VIP again, listener open (failback)"
		t_fb=$(now_ms)
		sleep 1
		load_stop "$p2"
		cat "$T/acked.$p2" >>"$all"
		n2=$(acked_count "$T/acked.$p2")
		listener_open B; ok $((! $?)) "$tag: room B's listener is closed"
		diag "failback: room A open $((t_fb - t_back)) ms after its restart"

		# --- 4. every acknowledged number, both databases
		wait_until 20 rows_equal
		eq=$?
		ok $eq "$tag: both rooms' databases identical (number, number_version)" || {
			cat "$T/rows.err" | sed 's/^/#   /'
			diff "$T/rows.A" "$T/rows.B" | head -10 | sed 's/^/#   /'
			diag "rows: A $(wc -l <"$T/rows.A"), B $(wc -l <"$T/rows.B")"
		}
		no_missing() { [ "$(naptr_missing "$NC" "$VIP" "$all" "$T/missing.f")" = 0 ]; }
		wait_until 10 no_missing
		miss_f=$(wc -l <"$T/missing.f" | tr -d ' ')
		is "$miss_f" 0 "$tag: 0 of $(wc -l <"$all") acknowledged numbers missing at the VIP after the failback"
		[ "$miss_f" -eq 0 ] || {
			sed 's/^/#   missing: /' "$T/missing.f" | head -5
			diag "of them not in A's database: $(( miss_f - $(in_db A "$T/missing.f") ))"
		}
		[ $eq -eq 0 ] && eqs=yes || eqs=NO
		printf '%-6s %2d %6d %6d %8s %6s %5s %6d %7d %8d %4s\n' "$mode" "$k" "$d1" \
		    "$((n1 + n2))" "${p99:-?}" "$rate" "$bound" "$miss_t" "$miss_f" \
		    "$((t_open - t_kill))" "$eqs" >>"$summary"
	done
	stamp "=== mode $mode done: $(wc -l <"$all") numbers acknowledged"
done

diag "summary (seed $seed): acked = by A before the kill + by B/A through the failback;"
diag "missing counted over every number acknowledged so far in the mode"
diag "mode    # kill@ms  acked p99(ms) rate/s bound miss@to miss@fb open(ms) rows="
sed 's/^/# /' "$summary"
grep 'enumdr-alarm v1' "$log" | grep -E 'REPLICATION|CONFLICT|LOAD_STEP' |
    sed 's/^/# alarm: /' | head -40
if [ "$tap_failed" -ne 0 ]; then
	grep -v ' knot\[' "$log" >"$T/messages.enumdr"
	diag_file "$T/messages.enumdr" 60
	diag_file "$T/A/enumdrd.out" 30
	diag_file "$T/B/enumdrd.out" 30
fi
done_testing
