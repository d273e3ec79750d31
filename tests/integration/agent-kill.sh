#!/bin/sh
# agent-kill.sh — no acknowledged change is lost when the agent dies
# (issue 3; S0.8 "no data is lost"; DESIGN.md: acknowledge only after
# COMMIT, synchronous=FULL).  A stream of adds runs from a curl loop; the
# agent is killed with SIGKILL in the middle of it and restarted:
#  - every number answered 201 is in the database;
#  - the zone serial is the initial one plus the number of rows present
#    (an add that was in flight may or may not be there, but never half);
#  - the journal has one row per change, the database passes
#    integrity_check;
#  - the listener is closed after the restart (S0.5), the stale control
#    socket is replaced.
# Then the same with SIGTERM: exit 0, nothing torn.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

need_cmd curl sqlite3 ss
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
need_built "$enumdr" "$enumdrd"

make_tmpdir T enumdr-agent-kill
pick_port prov_port
pick_port peer_port
zone=6.4.e164.arpa
prov=http://127.0.0.1:$prov_port
peer=http://127.0.0.1:$peer_port
mkdir -p "$T/A"
conf=$T/A/enumdr.yaml
cat >"$conf" <<EOF
room: A
database: $T/A/enumdr.db
snapshot_dir: $T/A/snapshot
incoming_dir: $T/A/incoming
state_dir: $T/A/state
agent:
  provisioning_listen: 127.0.0.1:$prov_port
  peer_listen: 127.0.0.1:$peer_port
  snapshot_interval_s: 0
EOF
A() { "$enumdr" -c "$conf" "$@"; }
db() { sqlite3 -readonly "$T/A/enumdr.db" "$@"; }
serial() { db "SELECT serial FROM zone WHERE origin = '$zone'"; }
nrows() { db "SELECT count(*) FROM number"; }
jpos() { db "SELECT coalesce(max(seq), 0) FROM journal"; }

start_agent() {
	bg_start agent "$enumdrd" -d -c "$conf" 2>>"$T/agent.log"
	wait_for 10 curl -sf "$peer/v1/heartbeat"
}

# stream PREFIX N FILE — up to N adds, one curl each, "CODE NUMBER" per
# line; stops at the first answer that is not 201 (the agent went away)
stream() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		_i=$((_i + 1))
		_n=$(printf '+4681%s%05d' "$1" "$_i")
		_c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		    -X POST --data-binary "{\"e164\":\"$_n\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$_i@ims.example!\",\"replacement\":\".\"}]}" \
		    "$prov/v1/numbers")
		echo "$_c $_n" >>"$3"
		[ "$_c" = 201 ] || break
	done
}
acked_count() { grep -c '^201 ' "$1" 2>/dev/null || echo 0; }
at_least() { [ "$(acked_count "$1")" -ge "$2" ]; }

# Every acknowledged number of FILE is in the database (prints the missing).
missing() {
	grep '^201 ' "$1" | cut -d' ' -f2 | sort >"$T/acked"
	db "SELECT e164 FROM number" | sort >"$T/present"
	comm -23 "$T/acked" "$T/present"
}

A init --zone $zone:5000 >/dev/null
ok $? "room A: database and zone (serial 5000)"

# --- SIGKILL in the middle of a stream ----------------------------------------
start_agent; ok $? "agent started"
A agent open >/dev/null; ok $? "listener opened"
stream 1 500 "$T/stream1" &
spid=$!
on_exit "kill $spid"
wait_for 30 at_least "$T/stream1" 150; ok $? "150 adds acknowledged while streaming"
t0=$(now_ms)
kill -KILL "$agent"
wait "$agent"; is $? 137 "agent killed with SIGKILL mid-stream"
wait "$spid"
acked=$(acked_count "$T/stream1")
diag "stream 1: $acked of 500 adds acknowledged before the kill, then: $(grep -v '^201 ' "$T/stream1" | head -n1)"
test -S "$T/A/state/control.sock"; ok $? "SIGKILL left the control socket behind"

start_agent; ok $? "agent restarted over the stale control socket"
diag "restart answered its heartbeat $(( $(now_ms) - t0 )) ms after the kill"
like "$(curl -s "$peer/v1/heartbeat")" '"listener":"closed"' "after the restart the listener is closed (S0.5)"
is "$(missing "$T/stream1")" "" "every acknowledged number is in the database"
rows=$(nrows)
ok $(( rows >= acked && rows <= acked + 1 ? 0 : 1 )) "rows $rows = acknowledged $acked (+ at most the one in flight)"
is "$(serial)" $((5000 + rows)) "zone serial = 5000 + rows present ($rows)"
is "$(jpos)" "$rows" "one journal row per row present"
is "$(db "SELECT count(*) FROM number WHERE e164 NOT IN (SELECT e164 FROM journal)")" 0 \
	"every number has its journal row (no torn transaction)"
is "$(db "PRAGMA integrity_check")" ok "database integrity_check ok"
like "$(curl -s "$peer/v1/heartbeat")" "\"serial\":$((5000 + rows))" "heartbeat publishes the recovered serial"
last=$(grep '^201 ' "$T/stream1" | tail -n1 | cut -d' ' -f2)
code=$(curl -s -o /dev/null -w '%{http_code}' "$prov/v1/numbers/$last")
is "$code" 200 "the last acknowledged number reads back"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{}' "$prov/v1/numbers")
is "$code" 503 "changes refused until told to open"

# --- SIGTERM in the middle of a stream: exit 0, nothing torn ------------------
base=$(serial)
A agent open >/dev/null; ok $? "listener opened again"
stream 2 300 "$T/stream2" &
spid=$!
on_exit "kill $spid"
wait_for 30 at_least "$T/stream2" 50; ok $? "50 adds acknowledged in the second stream"
kill -TERM "$agent"
wait "$agent"; is $? 0 "SIGTERM mid-stream: exit 0"
wait "$spid"
acked2=$(acked_count "$T/stream2")
diag "stream 2: $acked2 of 300 adds acknowledged before SIGTERM, then: $(grep -v '^201 ' "$T/stream2" | head -n1)"
is "$(missing "$T/stream2")" "" "every acknowledged number of stream 2 is in the database"
rows2=$(db "SELECT count(*) FROM number WHERE e164 LIKE '+46812%'")
is "$rows2" "$acked2" "SIGTERM drains: every add that committed was also acknowledged"
is "$(serial)" $((base + rows2)) "zone serial moved by exactly the rows added"
is "$(db "PRAGMA integrity_check")" ok "database integrity_check ok after SIGTERM"
like "$(cat "$T/agent.log")" "SIGTERM: stopping" "the agent logged the SIGTERM"
done_testing
