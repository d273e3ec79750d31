#!/bin/sh
# switchover.sh — the planned, negotiated switchover (issue 15; S3.2
# request-switch / agree-switch / going-to-switch / switching, S3.3 the
# target delays until it holds every acknowledged change, S1.5 it takes
# over at once).  Real keepalived, enumdrd, Knot DNS and rsyslogd in the
# network namespaces of rooms.sh (room A 192.0.2.1 priority 150, room B
# 192.0.2.2 priority 100, VIP 192.0.2.53, replication async):
#
# 1. Under a continuous provisioning load through the VIP, `enumdr
#    switchover --to B` in room A: exit 0, the VIP on B, B's listener open,
#    A's closed; the time A's listener was closed is printed; every number
#    the load client got 201 for is answered by kdig @VIP; both databases
#    identical.  B keeps the VIP (its preference): A does not preempt.
# 2. A refused switchover: room A says it is not BACKUP (its agent told
#    FAULT): `enumdr switchover --to A` in room B exits 75 naming the step
#    and A's reason; B stays MASTER with its listener open and provisioning
#    works; SWITCHOVER_FAILED (major) is raised in syslog.
# 3. A timed-out switchover: room A's agent stopped (SIGSTOP): the request
#    is not answered in time: exit 69, B stays active.
# 4. Back to A under load: 0 acknowledged numbers lost, SWITCHOVER_FAILED
#    cleared.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_SWITCHOVER_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip curl sqlite3 python3 timeout xargs

make_tmpdir T enumdr-switchover
syslog_receiver "$T"
log="$T/messages"
t_start=$(now_ms)
stamp() { diag "$(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network

# inR R CMD... — in room R's namespace (the CLI reaches the peer from there)
inR() { _r=$1; shift; eval "ip netns exec \$N$_r \"\$@\""; }
switchover() {  # switchover FROM ARGS... — prints its output, returns its exit code
	_f=$1; shift
	inR "$_f" "$bin/enumdr" -c "$T/$_f/enumdr.yaml" switchover "$@" >"$T/sw.out" 2>&1
	_rc=$?
	sed 's/^/#   /' "$T/sw.out"
	return $_rc
}
sw_line() {  # sw_line EVENT R — SWITCHOVER_FAILED lines of room R
	grep "enumdr-alarm v1 id=SWITCHOVER_FAILED event=$1 .*room=$2 " "$log"
}
closed_ms() { sed -n 's/.*listener was closed for \([0-9]*\) ms.*/\1/p' "$T/sw.out"; }

for r in A B; do
	room_files $r
	cat >>"$T/$r/enumdr.yaml" <<EOF_REPL
replication:
  mode: async
  poll_wait_ms: 2000
EOF_REPL
	R $r init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
	ok $? "room $r: database with its zones"
done
grep -q 'track_file' "$T/A/keepalived.conf" &&
    grep -q "file \"$T/A/lib/state/preferred\"" "$T/A/keepalived.conf"
ok $? "room A's keepalived.conf tracks the preference file in its state_dir"
start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open"
start_room B
role_backup() { heartbeat "$1" | grep -q '"role":"BACKUP"'; }
wait_for 20 role_backup B; ok $? "room B is BACKUP"
wait_until 20 in_step B A; ok $? "room B follows room A's journal, in step"
stamp "both rooms up"

# --- 0. wrong use --------------------------------------------------------------------
switchover A --to Z
is $? 64 "switchover --to a room that is no peer: exit 64"
like "$(cat "$T/sw.out")" "room Z is not a peer of room A" "... naming it"
switchover A --timeout 5
is $? 64 "switchover --timeout 5 (below 1000 ms): exit 64"
switchover B --to A
is $? 75 "switchover in room B, the standby: exit 75"
like "$(cat "$T/sw.out")" "room B is BACKUP with its listener closed: run the switchover in the room that holds the VIP" \
    "... saying where to run it"
vip_on A && listener_open A; ok $? "room A still active"

# --- 1. A -> B under load --------------------------------------------------------
load_start +4673 6
sleep 2
stamp "switchover A -> B under load"
switchover A --to B
is $? 0 "enumdr switchover --to B in room A: exit 0"
like "$(cat "$T/sw.out")" "request-switch -> B" "it names request-switch"
like "$(cat "$T/sw.out")" "B: agree-switch" "room B agreed"
like "$(cat "$T/sw.out")" "going-to-switch -> B: this room's listener is closed" "going-to-switch"
like "$(cat "$T/sw.out")" "B: switching" "room B switches"
c1=$(closed_ms)
[ -n "$c1" ]; ok $? "the time room A's listener was closed is printed: ${c1:-?} ms"
vip_on B; ok $? "the VIP is on room B"
listener_open B; ok $? "room B's listener is open"
wait_for 10 role_backup A; ok $? "room A is BACKUP"
listener_open A; ok $((! $?)) "room A's listener is closed"
sleep 1
load_stop +4673
n1=$(wc -l <"$T/acked.+4673" | tr -d ' ')
[ "$n1" -gt 0 ]; ok $? "the load client got $n1 numbers acknowledged across the switchover"
wait_until 20 rows_equal; ok $? "both databases identical (number, number_version)" ||
	diff "$T/rows.A" "$T/rows.B" | head -5 | sed 's/^/#   /'
# the numbers B acknowledged in the last moments reach its DNS server
# with the agent's next DNS group commit: wait for that, bounded
served() { [ "$(naptr_missing "$NC" "$VIP" "$1" "$T/missing")" = 0 ]; }
wait_until 10 served "$T/acked.+4673"
miss=$(wc -l <"$T/missing" | tr -d ' ')
is "$miss" 0 "0 of $n1 acknowledged numbers missing at the VIP after the switchover" ||
	sed 's/^/#   missing: /' "$T/missing" | head -5
like "$(grep 'switchover: room A asks' "$T/B/enumdrd.out")" "going-to-switch .*: switching" \
    "room B's agent logged each request it answered"
sleep 3
vip_on B && ! vip_on A; ok $? "3 s later room B still holds the VIP (its preference; A does not preempt)"
R B agent status --json | json_get "d['preferred']" >"$T/pref" 2>&1
is "$(cat "$T/pref")" true "room B's status: preferred"

# --- 2. refused: the target is not BACKUP ------------------------------------------
R A agent role FAULT >/dev/null; ok $? "room A's agent told FAULT"
switchover B --to A
is $? 75 "enumdr switchover --to A in room B: refused, exit 75"
like "$(cat "$T/sw.out")" "FAILED at request-switch: room A is FAULT, not BACKUP" \
    "the message names the step and room A's reason"
vip_on B && listener_open B; ok $? "room B is still MASTER with its listener open"
code=$(provision +46739990001 sip:+46739990001@ims.example)
is "$code" 201 "provisioning through the VIP still works"
wait_for 10 sw_line raise B; ok $? "SWITCHOVER_FAILED raised by room B (syslog)"
like "$(sw_line raise B | tail -1)" "severity=major .*step=request-switch" "... major, naming the step"
R A agent role BACKUP >/dev/null; ok $? "room A's agent told BACKUP again"

# --- 3. timed out: the target does not answer ---------------------------------------
eval "kill -STOP \$AGENT_A"
on_exit "kill -CONT $(eval echo \$AGENT_A) 2>/dev/null"
t=$(now_ms)
switchover B --to A --timeout 3000
is $? 69 "room A's agent stopped: switchover exits 69 (not answered)"
diag "gave up after $(( $(now_ms) - t )) ms"
like "$(cat "$T/sw.out")" "FAILED at request-switch" "... at request-switch"
vip_on B && listener_open B; ok $? "room B is still MASTER with its listener open"
eval "kill -CONT \$AGENT_A"
wait_until 20 in_step A B; ok $? "room A's agent back, in step with room B"

# --- 4. B -> A under load -------------------------------------------------------------
wait_for 20 role_backup A
load_start +4674 6
sleep 2
switchover B --to A
is $? 0 "enumdr switchover --to A in room B: exit 0"
c2=$(closed_ms)
vip_on A && listener_open A; ok $? "room A holds the VIP with its listener open"
sleep 1
load_stop +4674
cat "$T/acked.+4673" "$T/acked.+4674" >"$T/acked.all"
echo "x +46739990001" >>"$T/acked.all"
wait_until 20 rows_equal; ok $? "both databases identical"
wait_until 10 served "$T/acked.all"
miss=$(wc -l <"$T/missing" | tr -d ' ')
is "$miss" 0 "0 of $(wc -l <"$T/acked.all" | tr -d ' ') acknowledged numbers missing at the VIP" ||
	sed 's/^/#   missing: /' "$T/missing" | head -5
wait_for 10 sw_line clear B; ok $? "SWITCHOVER_FAILED cleared by the switchover that worked"
diag "listener closed during the switchovers: A -> B ${c1:-?} ms, B -> A ${c2:-?} ms"

if [ "$tap_failed" -ne 0 ]; then
	grep -v ' knot\[' "$log" >"$T/messages.enumdr"
	diag_file "$T/messages.enumdr" 60
	diag_file "$T/A/enumdrd.out" 30
	diag_file "$T/B/enumdrd.out" 30
fi
done_testing
