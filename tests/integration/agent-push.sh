#!/bin/sh
# agent-push.sh — the periodic snapshot between two real agents on
# loopback (issue 3; S0.1 timed backup + serial file + transfer to the
# standby's fixed directory, S1.2, S0.2 read by the receiver):
#  - room A pushes over HTTP PUT into room B's agent (/v1/incoming/), room
#    B pushes over file:// into A's incoming_dir, every second;
#  - after provisioning in A, B's incoming_dir holds A's snapshot with A's
#    serials, and `enumdr sync --dry-run` in B reads it as peer-newer;
#  - B stopped: A raises SNAPSHOT_PUSH (peer, url, error); B back: cleared,
#    and the next change arrives;
#  - B's closed listener names the active room A (from A's heartbeat);
#  - `enumdr agent snapshot` pushes at once; a peer can also fetch A's
#    latest snapshot from A's peer API (fetch_url).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

need_cmd curl ss
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
need_built "$enumdr" "$enumdrd"

make_tmpdir T enumdr-agent-push
pick_port prov_a
pick_port peer_a
pick_port prov_b
pick_port peer_b
zone=6.4.e164.arpa
mkdir -p "$T/A" "$T/B"
cat >"$T/A/enumdr.yaml" <<EOF
room: A
database: $T/A/enumdr.db
snapshot_dir: $T/A/snapshot
incoming_dir: $T/A/incoming
state_dir: $T/A/state
timeouts:
  connect_ms: 500
  transfer_ms: 5000
agent:
  provisioning_listen: 127.0.0.1:$prov_a
  peer_listen: 127.0.0.1:$peer_a
  snapshot_interval_s: 1
replication:
  # this test is about the snapshot push (S0.1): no journal following
  mode: off
peers:
  - name: B
    heartbeat_url: http://127.0.0.1:$peer_b/v1/heartbeat
    transfer_url: http://127.0.0.1:$peer_b/v1/incoming/
    fetch_url: http://127.0.0.1:$peer_b/v1/snapshot/
EOF
cat >"$T/B/enumdr.yaml" <<EOF
room: B
database: $T/B/enumdr.db
snapshot_dir: $T/B/snapshot
incoming_dir: $T/B/incoming
state_dir: $T/B/state
timeouts:
  connect_ms: 500
  transfer_ms: 5000
agent:
  provisioning_listen: 127.0.0.1:$prov_b
  peer_listen: 127.0.0.1:$peer_b
  snapshot_interval_s: 1
replication:
  # this test is about the snapshot push (S0.1): no journal following
  mode: off
peers:
  - name: A
    heartbeat_url: http://127.0.0.1:$peer_a/v1/heartbeat
    transfer_url: file://$T/A/incoming/
    fetch_url: http://127.0.0.1:$peer_a/v1/snapshot/
EOF
A() { "$enumdr" -c "$T/A/enumdr.yaml" "$@"; }
B() { "$enumdr" -c "$T/B/enumdr.yaml" "$@"; }
start_a() {
	bg_start agent_a "$enumdrd" -d -c "$T/A/enumdr.yaml" 2>>"$T/A.log"
	wait_for 10 curl -sf "http://127.0.0.1:$peer_a/v1/heartbeat"
}
start_b() {
	bg_start agent_b "$enumdrd" -d -c "$T/B/enumdr.yaml" 2>>"$T/B.log"
	wait_for 10 curl -sf "http://127.0.0.1:$peer_b/v1/heartbeat"
}
add() {  # add NUMBER — via A's provisioning listener, prints the status
	curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary \
	    "{\"e164\":\"$1\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$1@ims.a.example!\"}]}" \
	    "http://127.0.0.1:$prov_a/v1/numbers"
}
has_serial() { grep -qx "zone $zone $2" "$1/enumdr-serials" 2>/dev/null; }
has_alarm() { A alarms | grep -q "$1"; }
no_alarm() { ! has_alarm "$1"; }
b_names_a() {
	curl -s -X POST --data-binary '{}' "http://127.0.0.1:$prov_b/v1/numbers" |
	    grep -q '"active_room":"A"'
}

A init --zone $zone:100 >/dev/null && B init --zone $zone:100 >/dev/null
ok $? "rooms A and B: databases, zone $zone at serial 100"
start_a; ok $? "agent A started"
start_b; ok $? "agent B started"
A agent open >/dev/null; ok $? "A's listener opened"
is "$(add +46700001)$(add +46700002)$(add +46700003)" 201201201 "three numbers provisioned in A"

t0=$(now_ms)
wait_for 15 has_serial "$T/B/incoming" 103
ok $? "A's snapshot arrived in B's incoming_dir over HTTP PUT (serial 103)"
diag "arrived $(( $(now_ms) - t0 )) ms after the last change (interval 1 s)"
like "$(cat "$T/B/incoming/enumdr-serials")" "^enumdr-serials 1
room A" "B holds A's serial file"
is "$(ls "$T/B/incoming" | tr '\n' ' ')" "enumdr-serials enumdr-snapshot.db " \
	"B's incoming_dir: exactly the two files, no part file left"
out=$(B sync --from "$T/B/incoming" --dry-run); ok $? "B: enumdr sync --dry-run from its incoming_dir"
like "$out" "$zone +100 +103 +peer-newer" "B sees A's zone newer: 100 vs 103"
like "$out" "outcome: peer-newer" "dry run: peer-newer (nothing imported)"
wait_for 10 test -s "$T/A/incoming/enumdr-serials"
ok $? "B's snapshot arrived in A's incoming_dir over file://"
like "$(cat "$T/A/incoming/enumdr-serials")" "room B" "A holds B's serial file"
like "$(A agent status)" "last push  20" "A's status shows the last push"
like "$(curl -s "http://127.0.0.1:$peer_a/v1/heartbeat")" '"snapshot":\{"created":"[^"]*","journal":3,' \
	"A's heartbeat names its latest snapshot (journal 3)"

# --- B down: A raises SNAPSHOT_PUSH; B back: cleared -----------------------
kill -TERM "$agent_b"
wait "$agent_b"; is $? 0 "agent B stopped (SIGTERM, exit 0)"
t0=$(now_ms)
wait_for 10 has_alarm SNAPSHOT_PUSH; ok $? "A raised SNAPSHOT_PUSH with B down"
diag "raised $(( $(now_ms) - t0 )) ms after B stopped"
alarm=$(A alarms | grep SNAPSHOT_PUSH)
like "$alarm" "severity=major room=A" "alarm: major, names room A"
like "$alarm" "peer=B url=http://127.0.0.1:$peer_b/v1/incoming/enumdr-snapshot.db error=" \
	"alarm figures: peer, url, error"
like "$(curl -s "http://127.0.0.1:$peer_a/v1/heartbeat")" '"alarms":[1-9]' "A's heartbeat counts the alarm"
like "$(A agent status)" "last attempt failed" "A's status shows the failing push"
is "$(add +46700004)" 201 "A keeps accepting changes while B is down"
start_b; ok $? "agent B restarted"
t0=$(now_ms)
wait_for 15 no_alarm SNAPSHOT_PUSH; ok $? "SNAPSHOT_PUSH cleared once B is back"
diag "cleared $(( $(now_ms) - t0 )) ms after B came back (retry within min(interval, 30 s))"
like "$(cat "$T/A.log")" "event=clear severity=major room=A .*id=SNAPSHOT_PUSH|id=SNAPSHOT_PUSH event=clear" \
	"the clear line was sent"
wait_for 10 has_serial "$T/B/incoming" 104
ok $? "the change made while B was down reached B (serial 104)"

# --- B's closed listener names the active room; push on request; fetch -------
wait_for 12 b_names_a; ok $? "B's closed listener answers 503 naming the active room A"
like "$(B agent status)" "active     room A has its listener open" "B's status names the active room"
is "$(add +46700005)" 201 "one more change in A"
out=$(A agent snapshot); ok $? "enumdr agent snapshot: export and push now"
like "$out" "pushed to B" "snapshot on request: pushed to B"
has_serial "$T/B/incoming" 105; ok $? "B has serial 105 as soon as the request returned"
out=$(B sync --from "http://127.0.0.1:$peer_a/v1/snapshot/" --dry-run)
ok $? "B fetches A's snapshot from A's peer API (fetch_url) and compares"
like "$out" "$zone +100 +105 +peer-newer" "fetched snapshot: A at 105"

# --- SIGHUP: new peers apply at once; a new listen address does not --------
cp "$T/A/enumdr.yaml" "$T/A/enumdr.yaml.orig"
printf 'room: [broken\n' >"$T/A/enumdr.yaml"
kill -HUP "$agent_a"
wait_for 5 grep -q "keeping the running configuration" "$T/A.log"
ok $? "SIGHUP with a broken file: error logged, running configuration kept"
pid_alive "$agent_a"; ok $? "agent A still runs"
mkdir -p "$T/B/dropbox"
sed -e "s|transfer_url: http://127.0.0.1:$peer_b/v1/incoming/|transfer_url: file://$T/B/dropbox/|" \
    -e "s|peer_listen: 127.0.0.1:$peer_a|peer_listen: 127.0.0.1:1|" \
    "$T/A/enumdr.yaml.orig" >"$T/A/enumdr.yaml"
kill -HUP "$agent_a"
wait_for 10 has_serial "$T/B/dropbox" 105
ok $? "after SIGHUP the new transfer_url is used (file://)"
like "$(cat "$T/A.log")" 'reload: agent.peer_listen changed from "127.0.0.1:[0-9]*" to "127.0.0.1:1": not applied' \
	"a new listen address is logged as not applied"
curl -sf "http://127.0.0.1:$peer_a/v1/heartbeat" >/dev/null
ok $? "the peer API still answers on its old address"

kill -TERM "$agent_a"; wait "$agent_a"; is $? 0 "agent A stopped (exit 0)"
kill -TERM "$agent_b"; wait "$agent_b"; is $? 0 "agent B stopped (exit 0)"
done_testing
