#!/bin/sh
# checkers.sh — enumdr-check-service and enumdr-check-peer end to end
# (S0.3, S0.4, S4.1, S4.4; doc/checkers.md), against real servers on
# loopback:
#  - the agents' heartbeats: python3's http.server serving a static
#    DIR/v1/heartbeat that the test rewrites (role, listener, room), one for
#    the own room A and one for the peer room B (the real enumdrd is tested
#    in the two-room test);
#  - the DNS server: a real Knot DNS (knotd with its own config, rundir and
#    storage in the temp dir) loading the zone files `enumdr zonefiles`
#    writes.
# Covers every verdict of check-service (agent down, roles, listener,
# database unreadable, served serial equal / within grace / too old, DNS
# down, the overall --timeout), the counts of check-peer (n consecutive
# misses, recovery, M failures within T, corrupt and unusable state
# files), and the usage/configuration exit codes.  Needs python3 and knot;
# skipped without them (a failure under CI=true).  Everything started here
# is killed by pid at exit.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
need_cmd python3 knotd knotc ss
enumdr="$top_builddir/src/enumdr"
svc="$top_builddir/checkers/enumdr-check-service"
chkpeer="$top_builddir/checkers/enumdr-check-peer"
need_built "$enumdr" "$svc" "$chkpeer" "$top_builddir/plugin/enumdrd"
# Loopback heartbeats must not go through a proxy from the environment.

make_tmpdir T enumdr-checkers
pick_port agent_port
pick_port peer_port
pick_port dns_port
pick_port dead_port	# nothing ever listens here
pick_port mute_port	# accepts connections, never answers
zone=6.4.e164.arpa

mkdir -p "$T/A" "$T/agent/v1" "$T/peer/v1" "$T/zones"
cat >"$T/A/enumdr.yaml" <<EOF
room: A
database: $T/A/enumdr.db
snapshot_dir: $T/A/snapshot
incoming_dir: $T/A/incoming
state_dir: $T/A/state
agent:
  peer_listen: 0.0.0.0:$agent_port
peers:
  - name: B
    heartbeat_url: http://127.0.0.1:$peer_port/v1/heartbeat
    transfer_url: file://$T/B/incoming/
  - name: C
    heartbeat_url: http://127.0.0.1:$dead_port/v1/heartbeat
    transfer_url: file://$T/C/incoming/
EOF
conf=$T/A/enumdr.yaml
A() { "$enumdr" -c "$conf" "$@"; }
# The room's data is written by a real enumdrd (the database's only writer),
# started only while it writes, on ports of its own: the heartbeats the
# checkers read here are the static ones above.
pick_port writer_prov
pick_port writer_peer
sed -e "s#peer_listen: .*#peer_listen: 127.0.0.1:$writer_peer\\
  provisioning_listen: 127.0.0.1:$writer_prov\\
  control_socket: $T/writer.sock\\
  snapshot_interval_s: 0#" "$conf" >"$T/writer.yaml"
W() { "$enumdr" -c "$T/writer.yaml" "$@"; }
writer_provision() {  # writer_provision NUMBER URI — through a short-lived agent
	agent_start writer_pid "$T/writer.yaml" "$T/writer.log" &&
	W agent open >/dev/null &&
	W provision add "$1" --sip "$2" >/dev/null
	_rc=$?
	kill_pid "$writer_pid"
	return $_rc
}

# run_svc ARGS... / run_peer ARGS...: rc, out (stdout) and err (stderr).
run_svc() {
	"$svc" -c "$conf" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
run_peer() {
	"$chkpeer" -c "$conf" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# heartbeat DIR ROOM ROLE LISTENER [DROP]: (re)write an agent's heartbeat
# atomically, every member of peer protocol 1 (doc/peer-protocol.md); DROP
# names a member to leave out.
heartbeat() {
	python3 - "$1/v1/heartbeat.tmp" "$2" "$3" "$4" "${5:-}" "$zone" <<'PY'
import json, sys
path, room, role, listener, drop, zone = sys.argv[1:7]
hb = {"v": 1, "room": room, "role": role, "listener": listener,
      "journal": 1, "zones": [{"origin": zone, "serial": 1}],
      "snapshot": None, "alarms": 0, "storage": "ok",
      "storage_error": None, "time": "2026-11-29T15:34:26Z"}
hb.pop(drop, None)
open(path, "w").write(json.dumps(hb))
PY
	mv "$1/v1/heartbeat.tmp" "$1/v1/heartbeat"
}

# start_http PIDVAR PORT DIR: a real HTTP server on 127.0.0.1:PORT.
start_http() {
	bg_start "$1" python3 -m http.server --bind 127.0.0.1 "$2" \
		--directory "$3" >>"$T/http-$2.log" 2>&1
	wait_for 10 port_listening "$2" ||
		{ diag_file "$T/http-$2.log"; echo "Bail out! http.server on $2 did not start"; exit 1; }
}

# --- usage and configuration errors ------------------------------------------
"$svc" --help >"$T/out"; ok $? "check-service --help exits 0"
like "$(cat "$T/out")" "usage: enumdr-check-service" "--help shows the synopsis"
"$chkpeer" --help >"$T/out"; ok $? "check-peer --help exits 0"
run_svc --bogus; is $rc 64 "check-service: unknown option: 64"
like "$err" "unknown option --bogus" "... and says which"
run_svc --timeout 0; is $rc 64 "check-service: --timeout 0: 64"
run_svc --grace -1; is $rc 64 "check-service: --grace -1: 64"
run_svc --dns ns1.example; is $rc 64 "check-service: --dns with a name, not an address: 64"
run_svc extra; is $rc 64 "check-service: a stray argument: 64"
run_peer --misses 0; is $rc 64 "check-peer: --misses 0: 64"
run_peer --window; is $rc 64 "check-peer: --window without a value: 64"
"$svc" -c "$T/nonexistent.yaml" 2>"$T/err"; is $? 78 "check-service: missing config: 78"
like "$(cat "$T/err")" "nonexistent.yaml" "... naming the file"
ENUMDR_CONFIG=$T/nonexistent.yaml "$chkpeer" 2>/dev/null
is $? 78 "check-peer: \$ENUMDR_CONFIG is read (missing: 78)"
run_peer --peer Z; is $rc 78 "check-peer: --peer not in the config: 78"
like "$err" 'no peer named "Z"' "... naming the peer"

# --- the room's data and its DNS server ----------------------------------------
A init --zone $zone:100 >/dev/null &&
writer_provision +4681234567 sip:+4681234567@ims.a.example &&
A zonefiles "$T/zones" >/dev/null || { echo "Bail out! cannot set up room A's data"; exit 1; }

knot_start "$T" "$T/zones" "$dns_port" $zone
if ! A dns-wait "127.0.0.1:$dns_port" --timeout 10000 >/dev/null 2>"$T/err"; then
	diag_file "$T/knot.log"
	diag_file "$T/err"
	echo "Bail out! knotd does not serve $zone"
	exit 1
fi
dns=127.0.0.1:$dns_port
agent_url="http://127.0.0.1:$agent_port/v1/heartbeat"

# --- check-service: the agent ---------------------------------------------------
run_svc; is $rc 1 "agent down: unhealthy"
like "$err" "^enumdr-check-service: agent down: .*$agent_url" "... one line naming the URL (0.0.0.0 asked on 127.0.0.1)"
is "$(printf '%s\n' "$err" | wc -l)" 1 "... exactly one line on stderr"
is "$out" "" "... nothing on stdout"

heartbeat "$T/agent" A BACKUP closed
start_http agent_pid "$agent_port" "$T/agent"
run_svc; is $rc 0 "BACKUP, database readable: healthy"
is "$err$out" "" "... silently"
run_svc --dns "$dns"; is $rc 0 "BACKUP with --dns: healthy"

heartbeat "$T/agent" A MASTER closed
run_svc; is $rc 1 "MASTER with the listener closed: unhealthy"
like "$err" "role MASTER but the provisioning listener is closed" "... says so"
heartbeat "$T/agent" A MASTER open
run_svc --dns "$dns"; is $rc 0 "MASTER, listener open, DNS current: healthy"
heartbeat "$T/agent" A MASTER-FAILED closed
run_svc; is $rc 1 "MASTER-FAILED: unhealthy"
like "$err" "takeover failed" "... 'takeover failed'"
heartbeat "$T/agent" A MASTER-LOADING closed
run_svc; is $rc 0 "MASTER-LOADING: healthy (the takeover runs)"
heartbeat "$T/agent" A INIT closed
run_svc; is $rc 0 "INIT (nothing said yet): healthy"
heartbeat "$T/agent" A UNKNOWN closed
run_svc; is $rc 0 "UNKNOWN (the agent's word for INIT): healthy"
heartbeat "$T/agent" A FAULT closed
run_svc; is $rc 0 "FAULT: healthy (the room can serve again once keepalived lets it)"
heartbeat "$T/agent" A SOMETHING closed
run_svc; is $rc 1 "an unknown role: unhealthy"
like "$err" 'unknown role "SOMETHING"' "... naming it"
heartbeat "$T/agent" B BACKUP closed
run_svc; is $rc 1 "a heartbeat of another room on peer_listen: unhealthy"
like "$err" 'room "B", not this room "A"' "... naming both rooms"
printf 'not json' >"$T/agent/v1/heartbeat"
run_svc; is $rc 1 "a heartbeat that is not JSON: unhealthy"
like "$err" "agent unusable: heartbeat from .*: not JSON" "... says so"
heartbeat "$T/agent" A BACKUP closed storage
run_svc; is $rc 1 "a heartbeat without \"storage\": unhealthy (strict, peer protocol 1)"
like "$err" 'member "storage" missing' "... naming the member"
heartbeat "$T/agent" A MASTER open listener
run_svc; is $rc 1 "a heartbeat without \"listener\": unhealthy"
like "$err" 'member "listener" missing' "... naming the member"
heartbeat "$T/agent" A BACKUP closed
sed 's/"v": 1/"v": 2/' "$T/agent/v1/heartbeat" >"$T/agent/v1/heartbeat.tmp" &&
	mv "$T/agent/v1/heartbeat.tmp" "$T/agent/v1/heartbeat"
run_svc; is $rc 1 "a heartbeat of protocol version 2: unhealthy"
like "$err" 'protocol version 2 .member "v".; this program speaks version 1' "... saying so"
heartbeat "$T/agent" A BACKUP closed v
run_svc; is $rc 1 "a heartbeat without \"v\" (an agent before peer protocol 1): unhealthy"
like "$err" 'member "v" missing: no protocol version' "... saying so"
rm -f "$T/agent/v1/heartbeat"
run_svc; is $rc 1 "heartbeat 404: unhealthy"
like "$err" "HTTP status 404" "... naming the status"
heartbeat "$T/agent" A BACKUP closed

# --- check-service: the database -------------------------------------------------
db=$T/A/enumdr.db
mv "$db" "$db.saved"
run_svc; is $rc 1 "database missing: unhealthy"
like "$err" "database unreadable: .*$db" "... naming the database"
head -c 8192 /dev/urandom >"$db"
run_svc; is $rc 1 "database corrupt: unhealthy"
like "$err" "database unreadable: .*$db" "... naming the database"
rm -f "$db" "$db-wal" "$db-shm"
mv "$db.saved" "$db"
if [ "$(id -u)" -ne 0 ]; then
	chmod 000 "$db"
	run_svc; is $rc 1 "database not readable (mode 000): unhealthy"
	like "$err" "database unreadable" "... says so"
	chmod 600 "$db"
fi
run_svc; is $rc 0 "database back: healthy"

# --- check-service: the served serial ------------------------------------------
writer_provision +4681234568 sip:+4681234568@ims.a.example
db_serial=$(A --json serials | sed -n 's/.*"serial":\([0-9]*\).*/\1/p')
is "$db_serial" 102 "the database serial moved to 102; the DNS server still has 101"
run_svc --dns "$dns" --grace 0; is $rc 0 "BACKUP with a stale DNS server: healthy (a standby loads at takeover, S0.6)"
heartbeat "$T/agent" A MASTER open
run_svc --dns "$dns"; is $rc 0 "served serial older, zone changed just now: healthy (grace)"
run_svc --dns "$dns" --grace 0; is $rc 1 "the same with --grace 0: unhealthy"
like "$err" "serves zone $zone serial 101, the database has 102" "... naming the zone and both serials"
sleep 1.1
run_svc --dns "$dns" --grace 1; is $rc 1 "--grace 1, a second after the change: unhealthy (grace over)"
like "$err" "grace 1 s" "... naming the grace"
heartbeat "$T/agent" A MASTER-LOADING closed
run_svc --dns "$dns" --grace 0; is $rc 0 "MASTER-LOADING skips the DNS comparison"
heartbeat "$T/agent" A MASTER open
A zonefiles "$T/zones" >/dev/null && knotc -c "$T/knot.conf" zone-reload $zone >/dev/null &&
A dns-wait "$dns" --timeout 10000 >/dev/null
ok $? "zone files rewritten, Knot reloaded and serving 102"
run_svc --dns "$dns" --grace 0; is $rc 0 "served serial equal again: healthy with --grace 0"
run_svc --dns "127.0.0.1:$dead_port" --timeout 300; is $rc 1 "no DNS server: unhealthy"
like "$err" "DNS server 127.0.0.1:$dead_port: " "... naming the server"

# --- check-service: bounded by --timeout -------------------------------------------
# A server that accepts the connection (kernel backlog) and never answers.
bg_start mute_pid python3 -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $mute_port)); s.listen(8); time.sleep(120)"
wait_for 10 port_listening "$mute_port"
sed "s/0.0.0.0:$agent_port/127.0.0.1:$mute_port/" "$conf" >"$T/A/mute.yaml"
t0=$(now_ms)
"$svc" -c "$T/A/mute.yaml" --timeout 300 2>"$T/err"
rc=$?
elapsed=$(($(now_ms) - t0))
is $rc 1 "an agent that never answers: unhealthy"
like "$(cat "$T/err")" "agent down: .*127.0.0.1:$mute_port.*[Tt]imeout" "... a timeout naming the URL"
[ "$elapsed" -lt 1500 ]; ok $? "... within the 300 ms limit (took $elapsed ms with process start)"

# --- check-peer: n consecutive misses (S0.3), recovery (S0.4) ---------------------
state=$T/A/state/checker-peer-B.state
heartbeat "$T/peer" B BACKUP closed
start_http peer_http_pid "$peer_port" "$T/peer"
run_peer; is $rc 0 "peer B answers: alive"
is "$err$out" "" "... silently"
like "$(cat "$state" 2>/dev/null)" "^enumdr-check-peer-state 1" "state file STATE_DIR/checker-peer-B.state written"
like "$(cat "$state")" "misses 0" "... with no misses"

kill_pid "$peer_http_pid"
run_peer; is $rc 0 "peer B down once: still alive (1 miss of 3)"
like "$err" "peer B: miss 1 of 3" "... says it counts the miss"
like "$err" "127.0.0.1:$peer_port" "... and names the URL"
run_peer; is $rc 0 "2 consecutive misses: still alive"
[ ! -e "$T/A/state/alarms/PEER_DOWN" ]
ok $? "... no PEER_DOWN alarm while the peer is only missing probes"
run_peer; is $rc 1 "3 consecutive misses: down"
like "$err" "peer B down: 3 consecutive misses" "... says why"
like "$(sed -n 3p "$T/A/state/alarms/PEER_DOWN" 2>/dev/null)" \
	'id=PEER_DOWN event=raise severity=major room=A .*peer=B misses=3' \
	"... PEER_DOWN (major) raised, naming the peer and the misses"
raised_at=$(sed -n 2p "$T/A/state/alarms/PEER_DOWN" 2>/dev/null)
sleep 1
run_peer; is $rc 1 "4 misses: still down"
like "$(sed -n 3p "$T/A/state/alarms/PEER_DOWN" 2>/dev/null)" 'misses=3' \
	"... PEER_DOWN not sent again every interval (still the first line)"
is "$(sed -n 2p "$T/A/state/alarms/PEER_DOWN" 2>/dev/null)" "$raised_at" \
	"... raised at the first miss that declared it down"
start_http peer_http_pid "$peer_port" "$T/peer"
run_peer; is $rc 0 "peer B answers again: alive (S0.4 recovery)"
like "$(cat "$state")" "misses 0" "... consecutive misses reset"
[ ! -e "$T/A/state/alarms/PEER_DOWN" ]
ok $? "... PEER_DOWN cleared"

# --- check-peer: what counts as a response ---------------------------------------
rm -f "$state"	# the window still holds the outage's failures
heartbeat "$T/peer" X BACKUP closed
run_peer; is $rc 0 "a heartbeat naming another room: a miss (1 of 3)"
like "$err" 'answers for room "X", not "B"' "... says so"
rm -f "$T/peer/v1/heartbeat"
run_peer; is $rc 0 "HTTP 404: a miss (2 of 3)"
like "$err" "HTTP status 404" "... says so"
heartbeat "$T/peer" B MASTER open
run_peer; is $rc 0 "answers again: alive"
heartbeat "$T/peer" B BACKUP closed journal
run_peer --misses 100 --failures 100
is $rc 0 "a heartbeat without \"journal\": a miss"
like "$err" 'peer B: miss 1 of 100 .*member "journal" missing' "... naming the member"
heartbeat "$T/peer" B MASTER open

# --- check-peer: M failures within T seconds (S4.4) -------------------------------
rm -f "$state"
m_in_t() { run_peer --misses 100 --failures 2 --window 2; }
heartbeat "$T/peer" X BACKUP closed
m_in_t; is $rc 0 "M-in-T (M=2, T=2 s): failure 1: alive"
heartbeat "$T/peer" B BACKUP closed
m_in_t; is $rc 0 "... a response between: alive"
heartbeat "$T/peer" X BACKUP closed
m_in_t; is $rc 1 "... failure 2 in the window, though not consecutive: down"
like "$err" "peer B down: 2 failures within 2 s" "... says why"
sleep 2.2
m_in_t; is $rc 0 "... next window: the count restarted, failure 1: alive"
like "$(cat "$state")" "failures 1" "... state holds 1 failure in the window"

# --- check-peer: the state file ------------------------------------------------
heartbeat "$T/peer" B BACKUP closed
printf 'enumdr-check-peer-state 1\npeer B\nmisses banana\n' >"$state"
run_peer; is $rc 0 "corrupt state file: runs, peer alive"
like "$err" "state file .*checker-peer-B.state is corrupt.*starting fresh" "... says it starts fresh"
like "$(cat "$state")" "misses 0" "... and writes a good one"
head -c 100 /dev/urandom >"$state"
run_peer; is $rc 0 "state file of random bytes: runs"
like "$err" "corrupt" "... says so"
rm -f "$state"
mkdir "$state"
run_peer; is $rc 0 "state file that is a directory: runs"
like "$err" "cannot read state" "... says it cannot read it"
like "$err" "cannot save state" "... nor save it"
rmdir "$state"

# --- check-peer: --peer selects, each peer has its own counts -------------------------
run_peer --peer C; is $rc 0 "--peer C (nothing listens): first miss, alive"
like "$err" "peer C: miss 1 of 3" "... counted for C"
test -f "$T/A/state/checker-peer-C.state"; ok $? "... in C's own state file"
run_peer --peer C --misses 2; is $rc 1 "--peer C --misses 2: second miss, down"

# --- the cost of one run (for the record) ---------------------------------------------
t0=$(now_ms)
i=0
while [ $i -lt 20 ]; do
	"$svc" -c "$conf" --dns "$dns" 2>/dev/null || break
	i=$((i + 1))
done
is $i 20 "20 healthy check-service runs in a row"
diag "check-service --dns: $(( ($(now_ms) - t0) / 20 )) ms per run (with process start)"

done_testing
