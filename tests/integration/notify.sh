#!/bin/sh
# notify.sh — enumdr-notify (issue 4) end to end on loopback, against a real
# room agent enumdrd and a real rsyslogd that receives what the notify
# program and the agent write to syslog (alarm lines and the log lines that
# say what was done or abandoned).
#
#  1. FIFO mode (keepalived's notify_fifo_script): MASTER -> the load steps
#     in order, listener open, role MASTER, provisioning accepted; lines to
#     ignore (MASTER_RX_LOWER_PRI, VS/RS, another instance, garbage, an
#     overlong line) change nothing and are logged; BACKUP -> closed, role
#     BACKUP, snapshot exported and pushed; MASTER+BACKUP in one burst and
#     BACKUP during a slow load step -> never open (the heartbeat is polled
#     all along), final closed/BACKUP; SIGTERM followed by keepalived's STOP
#     line -> closed, role STOP, exit.
#  2. Args mode (notify / notify_*): MASTER, BACKUP; usage errors exit 64
#     and change nothing, a missing configuration exits 78; concurrent runs
#     (MASTER with a slow step, a second MASTER, then BACKUP) end closed/BACKUP.
#  3. S0.6 failure path: a failing step and a step past its timeout_ms ->
#     LOAD_STEP raised (critical, naming the step), listener closed, role
#     MASTER-FAILED, `enumdr alarms` lists it; the next good takeover clears it.
#  4. S0.2 sync at takeover: the peer down -> JOURNAL_POSITION (minor) and
#     the peer's pushed snapshot imported from incoming_dir; the peer alive
#     with its listener open (failback, S0.7) -> wait for it to stand down,
#     then import its newer data; JOURNAL_POSITION cleared.
#  5. A peer that answers with no valid heartbeat (issue 13, S0.7; a
#     python3 http.server on B's peer port serving a heartbeat without
#     "journal"): not "unreachable" — PEER_PROTOCOL (major) names the
#     member, the takeover fails at step sync, the listener stays closed;
#     once the heartbeat is whole again the takeover opens and clears it.
#
# The syslog receiver is set up as in alarm-syslog.sh: the script re-runs
# itself in a private mount namespace with an overlay over /dev, so that a
# private rsyslogd owns /dev/log there.  Needs root; otherwise skipped (a
# failure under CI=true).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
notify="$top_builddir/notify/enumdr-notify"
enumdrd="$top_builddir/plugin/enumdrd"
enumdr="$top_builddir/src/enumdr"

if [ "${ENUMDR_NOTIFY_NS:-}" != 1 ]; then
	need_root
	need_cmd rsyslogd unshare mount umount curl ss mkfifo python3
	need_built "$notify" "$enumdrd" "$enumdr"
fi
reexec_private_mount_ns ENUMDR_NOTIFY_NS "$0" "$@"

# --- in the private mount namespace from here on -----------------------------
t_start=$(now_ms)
make_tmpdir T enumdr-notify
syslog_receiver "$T"
ok 0 "private rsyslogd receives syslog(3) lines on /dev/log"
: >"$T/messages"

# --- two rooms' configurations ---------------------------------------------
zone=6.4.e164.arpa
pick_port a_prov
pick_port a_peer
pick_port b_prov
pick_port b_peer
mkdir -p "$T/A" "$T/B/incoming" "$T/ctl"
confA=$T/A/enumdr.yaml
confB=$T/B/enumdr.yaml
room_conf() {  # room_conf ROOM PROV PEER  (common part)
	cat <<EOF
room: $1
database: $T/$1/db/enumdr.db
snapshot_dir: $T/$1/snapshot
incoming_dir: $T/$1/incoming
state_dir: $T/$1/state
alarm:
  facility: local3
timeouts:
  connect_ms: 500
  transfer_ms: 6000
agent:
  provisioning_listen: 127.0.0.1:$2
  peer_listen: 127.0.0.1:$3
  control_socket: $T/$1/state/control.sock
  snapshot_interval_s: 0
replication:
  # this test is about the snapshot sync of S0.2/S0.7 (replication-kill.sh
  # and partition.sh test the journal following of issue 14)
  mode: off
EOF
}
# Room A: peer B's agent is not started before section 4 (peer down until
# then); snapshots reach B's fixed directory through file://.
{ room_conf A "$a_prov" "$a_peer"; cat <<EOF; } >"$confA"
peers:
  - name: B
    heartbeat_url: http://127.0.0.1:$b_peer/v1/heartbeat
    transfer_url: file://$T/B/incoming/
    fetch_url: http://127.0.0.1:$b_peer/v1/snapshot/
load:
  - name: zonefiles
    argv: [$enumdr, -c, $confA, zonefiles, $T/A/zones]
    timeout_ms: 10000
  - name: foreground
    argv: [/bin/sh, $T/step.sh, foreground]
    timeout_ms: 8000
  - name: background
    argv: [/bin/sh, $T/step.sh, background]
    timeout_ms: 1500
EOF
{ room_conf B "$b_prov" "$b_peer"; cat <<EOF; } >"$confB"
peers:
  - name: A
    heartbeat_url: http://127.0.0.1:$a_peer/v1/heartbeat
    transfer_url: http://127.0.0.1:$a_peer/v1/incoming/
    fetch_url: http://127.0.0.1:$a_peer/v1/snapshot/
EOF
# A load step the test steers through files in $T/ctl: NAME.sleep (seconds
# to sleep), NAME.fail (fail with that message, exit 3).
cat >"$T/step.sh" <<'EOF'
d=$(dirname "$0")
echo "$1" >>"$d/steps.log"
[ -f "$d/ctl/$1.sleep" ] && sleep "$(cat "$d/ctl/$1.sleep")"
if [ -f "$d/ctl/$1.fail" ]; then
	echo "$1: $(cat "$d/ctl/$1.fail")" >&2
	exit 3
fi
echo "$1 loaded"
EOF
: >"$T/steps.log"

A() { "$enumdr" -c "$confA" "$@"; }
B() { "$enumdr" -c "$confB" "$@"; }
nfyA() { "$notify" -c "$confA" "$@"; }
A init --zone $zone:100 >/dev/null && B init --zone $zone:100 >/dev/null
ok $? "rooms A and B: databases with zone $zone (serial 100)"

heartbeat() { curl -s --max-time 2 "http://127.0.0.1:$1/v1/heartbeat"; }
state() {  # "ROLE listener" of room A, from its heartbeat
	heartbeat "$a_peer" |
	    sed -n 's/.*"role":"\([A-Z-]*\)","listener":"\([a-z]*\)".*/\1 \2/p'
}
state_is() { [ "$(state)" = "$1" ]; }
steps() { tr '\n' ' ' <"$T/steps.log" | sed 's/ $//'; }
nsteps() { wc -l <"$T/steps.log" | tr -d ' '; }
mark() { mark=$(wc -l <"$T/messages" | tr -d ' '); }
since() { tail -n +"$((mark + 1))" "$T/messages"; }
logged() { since | grep -Eq -- "$1"; }
wait_log() { wait_for "$1" logged "$2"; }  # wait_log SECS ERE (since mark)
provision() {  # provision PORT NUMBER — HTTP status of a POST
	curl -s -o "$T/post.out" -w '%{http_code}' --max-time 5 -X POST \
	    -H 'Content-Type: application/json' --data-binary \
	    "{\"e164\":\"$2\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$2@ims.example!\",\"replacement\":\".\"}]}" \
	    "http://127.0.0.1:$1/v1/numbers"
}
# Poll room A's heartbeat in a tight loop; "open" must never show.
poller() { while :; do state; done >>"$T/poll.log" 2>/dev/null; }
poll_start() { : >"$T/poll.log"; poller & poll_pid=$!; on_exit "kill_pid $poll_pid"; }
poll_stop() { kill "$poll_pid" 2>/dev/null; wait "$poll_pid" 2>/dev/null; }
polled() { wc -l <"$T/poll.log" | tr -d ' '; }
opened() { grep -c ' open' "$T/poll.log"; }

bg_start agentA "$enumdrd" -d -c "$confA" 2>>"$T/agentA.log"
wait_for 10 curl -sf "http://127.0.0.1:$a_peer/v1/heartbeat"
ok $? "room A's agent answers its heartbeat"
is "$(state)" "UNKNOWN closed" "room A starts closed (S0.5)"

# === 1. FIFO mode ===========================================================
mkfifo "$T/fifo"
exec 3<>"$T/fifo"	# hold a writer end, as keepalived does (O_RDWR)
send() { printf '%s\n' "$@" >&3; }
mark
bg_start nfy "$notify" -c "$confA" --instance VI_1 --fifo "$T/fifo"
wait_log 5 'enumdr-notify\[[0-9]+\]: reading keepalived events from'
ok $? "fifo: enumdr-notify reads the FIFO (logs through syslog, ident enumdr-notify)"

mark
t0=$(now_ms)
send 'INSTANCE "VI_1" MASTER 100'
wait_for 10 state_is "MASTER open"
ok $? "fifo: MASTER -> listener open, role MASTER"
diag "fifo: MASTER to listener open in $(($(now_ms) - t0)) ms"
is "$(steps)" "foreground background" "fifo: the load steps ran in order"
[ -n "$(ls "$T/A/zones" 2>/dev/null)" ]
ok $? "fifo: the zonefiles step wrote the zone files (S0.6 foreground)"
is "$(provision "$a_prov" +46701)" 201 "fifo: provisioning accepted after the takeover"
# The agent applies the change to the DNS server with the same load steps
# (no dns.server here: doc/dns.md).
dns_updated() { [ "$(steps)" = "foreground background foreground background" ]; }
wait_for 5 dns_updated
ok $? "fifo: the agent ran the load steps again for the change (its DNS job)"
wait_log 5 'enumdr-notify\[[0-9]+\]: -> MASTER done in [0-9]+ ms: listener open'
ok $? "fifo: the takeover is logged"
like "$(since)" 'id=JOURNAL_POSITION event=raise severity=minor room=A instance=VI_1 .*peer=B' \
	"fifo: peer B down -> JOURNAL_POSITION raised (S0.7), takeover went on"

# Lines to ignore: state and load steps untouched, each line logged.
mark
n0=$(nsteps)
send 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100' \
     'VS [192.168.201.15]:tcp:80 UP' \
     'RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN' \
     'INSTANCE "VI_OTHER" BACKUP 50' \
     'hello' \
     'INSTANCE "VI_1 BACKUP 90'
printf '\001\002\377 \000junk\n' >&3
head -c 5000 /dev/zero | tr '\0' x >&3
send '' 'GROUP "G1" FROBNICATE 1'
wait_log 5 'FROBNICATE'
ok $? "fifo: every ignored line reaches the log"
is "$(since | grep -c 'not a state change, ignored')" 4 \
	"fifo: MASTER_RX_LOWER_PRI, VS, RS and an unknown state logged as ignored"
is "$(since | grep -c 'line not understood, ignored')" 2 "fifo: garbage logged as not understood"
like "$(since)" 'event of INSTANCE VI_OTHER ignored \(--instance VI_1\)' "fifo: another instance's event ignored"
like "$(since)" 'line of [0-9]+ bytes with a NUL byte ignored' "fifo: a line with a NUL byte ignored"
like "$(since)" 'line longer than 4095 bytes ignored' "fifo: an overlong line ignored"
sleep 0.3
is "$(state)" "MASTER open" "fifo: ignored lines changed nothing (still MASTER, open)"
is "$(nsteps)" "$n0" "fifo: ignored lines started no takeover"

mark
send 'INSTANCE "VI_1" BACKUP 90'
wait_for 10 state_is "BACKUP closed"
ok $? "fifo: BACKUP -> listener closed, role BACKUP"
wait_log 10 '-> BACKUP done: listener closed, snapshot pushed'
ok $? "fifo: stand-down logged"
[ -s "$T/A/snapshot/enumdr-serials" ] && [ -s "$T/B/incoming/enumdr-serials" ]
ok $? "fifo: snapshot exported and pushed to peer B's fixed directory (S0.7)"
is "$(provision "$a_prov" +46702)" 503 "fifo: provisioning refused after the stand-down"

# Quick succession: MASTER and BACKUP in one write.
mark
n0=$(nsteps)
poll_start
printf 'INSTANCE "VI_1" MASTER 100\nINSTANCE "VI_1" BACKUP 90\n' >&3
wait_log 10 '-> BACKUP done'
ok $? "fifo burst: the BACKUP ran"
sleep 0.2
poll_stop
is "$(opened)" 0 "fifo burst: the listener was never open ($(polled) heartbeats polled)"
is "$(state)" "BACKUP closed" "fifo burst: final state closed, role BACKUP"
like "$(since)" 'event INSTANCE VI_1 BACKUP 90; supersedes MASTER' "fifo burst: the BACKUP superseded the MASTER"
if [ "$(nsteps)" = "$n0" ]; then r=0; else logged 'takeover abandoned'; r=$?; fi
ok $r "fifo burst: the MASTER takeover never started or was abandoned"

# A BACKUP while a slow load step runs.
mark
echo 2 >"$T/ctl/foreground.sleep"
n0=$(nsteps)
poll_start
send 'INSTANCE "VI_1" MASTER 100'
steps_grew() { [ "$(nsteps)" -gt "$n0" ]; }
wait_for 10 steps_grew
ok $? "fifo slow step: the takeover reached the foreground step"
send 'INSTANCE "VI_1" BACKUP 90'
wait_log 10 '-> BACKUP done'
ok $? "fifo slow step: the BACKUP ran"
sleep 0.2
poll_stop
rm -f "$T/ctl/foreground.sleep"
is "$(opened)" 0 "fifo slow step: the listener was never open ($(polled) heartbeats polled)"
is "$(state)" "BACKUP closed" "fifo slow step: final state closed, role BACKUP"
like "$(since)" 'takeover abandoned before step background: a newer event arrived' \
	"fifo slow step: takeover abandoned after the running step"
is "$(tail -n 1 "$T/steps.log")" foreground "fifo slow step: the background step never ran"

# keepalived stopping: SIGTERM to its FIFO script, then the STOP lines.
mark
send 'INSTANCE "VI_1" MASTER 100'
wait_for 10 state_is "MASTER open"
ok $? "fifo: MASTER again -> open"
kill -TERM "$nfy"
send 'INSTANCE "VI_1" STOP 100'
nfy_gone() { ! pid_alive "$nfy"; }
wait_for 5 nfy_gone
ok $? "fifo: SIGTERM -> enumdr-notify exits"
wait "$nfy" 2>/dev/null
is $? 0 "fifo: exit status 0"
is "$(state)" "STOP closed" "fifo: the STOP line after SIGTERM closed the listener, role STOP"
exec 3>&-

# keepalived gone without a word (its parent died): the reader exits, so
# that the next keepalived's reader is the FIFO's only one.
mkfifo "$T/fifo2"
mark
sh -c '"$1" -c "$2" --fifo "$3" & echo $! >"$4"; sleep 1' sh \
	"$notify" "$confA" "$T/fifo2" "$T/orphan.pid"
orphan=$(cat "$T/orphan.pid")
on_exit "kill_pid $orphan"
orphan_gone() { ! pid_alive "$orphan"; }
wait_for 5 orphan_gone
ok $? "fifo: the reader exits when its parent (keepalived) has gone"
like "$(since)" "keepalived \\(pid [0-9]+\\) has gone: exiting" "fifo: and says so"
is "$(state)" "STOP closed" "fifo: that changed nothing else"

# === 2. Args mode ===========================================================
mark
nfyA INSTANCE VI_1 MASTER 100
is $? 0 "args: MASTER exits 0 when done"
is "$(state)" "MASTER open" "args: MASTER -> listener open, role MASTER"
n0=$(nsteps)
nfyA 2>/dev/null;                         is $? 64 "args: no arguments -> 64"
nfyA INSTANCE VI_1 2>/dev/null;           is $? 64 "args: missing STATE -> 64"
nfyA INSTANCE VI_1 BOGUS 1 2>"$T/err";    is $? 64 "args: INSTANCE VI_1 BOGUS 1 -> 64"
like "$(cat "$T/err")" 'STATE must be MASTER, BACKUP, FAULT or STOP' "args: the usage error says why"
nfyA WHATEVER VI_1 MASTER 1 2>/dev/null;  is $? 64 "args: WHATEVER VI_1 MASTER 1 -> 64"
nfyA INSTANCE VI_1 BACKUP high 2>/dev/null; is $? 64 "args: a priority that is not a number -> 64"
nfyA INSTANCE VI_1 BACKUP 1 extra 2>/dev/null; is $? 64 "args: too many arguments -> 64"
"$notify" -c "$T/missing.yaml" WHATEVER VI_1 BACKUP 1 2>/dev/null
is $? 64 "args: usage is checked before the configuration"
"$notify" -c "$T/missing.yaml" INSTANCE VI_1 BACKUP 1 2>"$T/err"
is $? 78 "args: a missing configuration file -> 78"
like "$(cat "$T/err")" 'missing.yaml' "args: the configuration error names the file"
nfyA --fifo "$T/steps.log" 2>/dev/null;   is $? 66 "fifo: a path that is not a FIFO -> 66"
is "$(state) $(nsteps)" "MASTER open $n0" "args: after the errors nothing changed (still MASTER, open; no step ran)"

nfyA INSTANCE VI_1 BACKUP 90
is $? 0 "args: BACKUP exits 0"
is "$(state)" "BACKUP closed" "args: BACKUP -> listener closed, role BACKUP"

# Concurrent runs: MASTER (slow step), a second MASTER, then BACKUP.
mark
echo 2 >"$T/ctl/foreground.sleep"
n0=$(nsteps)
poll_start
nfyA INSTANCE VI_1 MASTER 100 & m1=$!
wait_for 10 steps_grew
ok $? "args: the first MASTER reached the foreground step"
ngen() { since | grep -c '(generation [0-9]*)'; }
nfyA INSTANCE VI_1 MASTER 100 & m2=$!
gen2() { [ "$(ngen)" -ge 2 ]; }
wait_for 5 gen2
ok $? "args: the second MASTER recorded its event"
nfyA INSTANCE VI_1 BACKUP 90 & b1=$!
wait "$m1"; r1=$?
wait "$m2"; r2=$?
wait "$b1"; r3=$?
sleep 0.2
poll_stop
rm -f "$T/ctl/foreground.sleep"
is "$r1 $r2 $r3" "0 0 0" "args: the three runs exit 0"
is "$(opened)" 0 "args: the listener was never open ($(polled) heartbeats polled)"
is "$(state)" "BACKUP closed" "args: final state closed, role BACKUP"
like "$(since)" 'takeover abandoned before step background: a newer event arrived' \
	"args: the running takeover abandoned after its step"
like "$(since)" 'takeover abandoned before it started: MASTER event \(generation [0-9]+\) superseded' \
	"args: the waiting MASTER never started"
is "$(tail -n 1 "$T/steps.log")" foreground "args: no background step ran"

# === 3. Failure path (S0.6) ===================================================
mark
echo "cannot reload the zones" >"$T/ctl/background.fail"
nfyA INSTANCE VI_1 MASTER 100
is $? 1 "failure: MASTER with a failing background step exits 1"
is "$(state)" "MASTER-FAILED closed" "failure: listener stays closed, role MASTER-FAILED"
wait_log 5 'id=LOAD_STEP event=raise'
like "$(since | grep 'id=LOAD_STEP')" '^local3\.crit enumdr\[[0-9]+\]: enumdr-alarm v1 id=LOAD_STEP event=raise severity=critical room=A instance=VI_1 what=".*exited 3: background: cannot reload the zones" step=background$' \
	"failure: rsyslog got the LOAD_STEP alarm naming the step and its message"
like "$(A alarms)" 'LOAD_STEP' "failure: enumdr alarms lists LOAD_STEP"
rm -f "$T/ctl/background.fail"
mark
nfyA INSTANCE VI_1 MASTER 100
is $? 0 "failure: the next MASTER succeeds"
is "$(state)" "MASTER open" "failure: listener open after the good takeover"
wait_log 5 'id=LOAD_STEP event=clear'
like "$(since | grep 'id=LOAD_STEP')" '^local3\.notice enumdr\[[0-9]+\]: enumdr-alarm v1 id=LOAD_STEP event=clear severity=critical room=A instance=VI_1 ' \
	"failure: the good takeover cleared LOAD_STEP"
A alarms | grep -q LOAD_STEP; is $? 1 "failure: LOAD_STEP no longer active"

mark
echo 10 >"$T/ctl/background.sleep"
t0=$(now_ms)
nfyA INSTANCE VI_1 MASTER 100
r=$?
dt=$(($(now_ms) - t0))
is "$r" 1 "timeout: a step past its timeout_ms (1500) fails the takeover"
[ "$dt" -lt 6000 ]; ok $? "timeout: the step was killed ($dt ms for the takeover)"
is "$(state)" "MASTER-FAILED closed" "timeout: listener closed, role MASTER-FAILED"
wait_log 5 'id=LOAD_STEP event=raise'
like "$(since | grep 'id=LOAD_STEP')" 'event=raise severity=critical room=A instance=VI_1 what="load step background .* timed out after 1500 ms.*" step=background$' \
	"timeout: LOAD_STEP names the step and the timeout"
rm -f "$T/ctl/background.sleep"
mark
nfyA INSTANCE VI_1 MASTER 100 && state_is "MASTER open"
ok $? "timeout: the next takeover opens"
wait_log 5 'id=LOAD_STEP event=clear'
ok $? "timeout: and clears LOAD_STEP"

# === 4. Sync at takeover (S0.2, S0.7) =========================================
nfyA INSTANCE VI_1 BACKUP 90 && state_is "BACKUP closed"
ok $? "sync: room A stands down (its snapshot pushed to B's fixed directory)"
# Room B starts from A's data and gets a newer change while A is standby
# (through B's agent, the only writer of B's database; then it goes down).
agent_start agentB0 "$confB" "$T/agentB.log" &&
	B snapshot import "$T/B/incoming" >/dev/null &&
	B agent open >/dev/null &&
	B provision add +46703 --sip sip:b3@ims.example >/dev/null &&
	B snapshot export "$T/A/incoming" >/dev/null
ok $? "sync: room B imports A's snapshot, adds +46703, pushes its snapshot to A's incoming_dir"
kill_pid "$agentB0"
mark
agentA_lines=$(wc -l <"$T/agentA.log" | tr -d ' ')
nfyA INSTANCE VI_1 MASTER 100
is $? 0 "sync, peer down: MASTER exits 0"
is "$(state)" "MASTER open" "sync, peer down: the takeover went on, listener open"
like "$(since)" 'id=JOURNAL_POSITION event=raise severity=minor room=A' \
	"sync, peer down: JOURNAL_POSITION (minor) raised (S0.7: alarm and continue)"
like "$(since)" "sync with B \\($T/A/incoming\\): peer-newer, imported" \
	"sync, peer down: B's pushed snapshot imported from incoming_dir"
like "$(tail -n +"$((agentA_lines + 1))" "$T/agentA.log")" \
	"control: sync from $T/A/incoming: peer-newer, imported" \
	"sync, peer down: the import was room A's agent's (a control request), not the notify program's"
like "$(since)" "peer-newer, imported \(by the agent\)" "sync, peer down: enumdr-notify says the agent imported"
A provision show +46703 >"$T/show.out" 2>&1
ok $? "sync, peer down: room A has B's number +46703"
A provision show +46701 >/dev/null 2>&1
ok $? "sync, peer down: and kept its own +46701"

# Failback with a live peer: B active with its listener open, A takes over.
nfyA INSTANCE VI_1 BACKUP 90 && state_is "BACKUP closed"
ok $? "failback: room A stands down"
bg_start agentB "$enumdrd" -d -c "$confB" 2>>"$T/agentB.log"
wait_for 10 curl -sf "http://127.0.0.1:$b_peer/v1/heartbeat"
ok $? "failback: room B's agent answers"
B agent open >/dev/null && B agent role MASTER >/dev/null
ok $? "failback: room B active (listener open)"
is "$(provision "$b_prov" +46704)" 201 "failback: room B accepts +46704"
mark
t0=$(now_ms)
nfyA INSTANCE VI_1 MASTER 150 & ma=$!
waiting() { logged 'peer B still has its listener open: waiting'; }
wait_for 5 waiting
ok $? "failback: A waits for B to stand down"
sleep 0.5
is "$(state)" "MASTER-LOADING closed" "failback: A stays closed meanwhile (role MASTER-LOADING)"
"$notify" -c "$confB" INSTANCE VI_1 BACKUP 100
is $? 0 "failback: B's enumdr-notify BACKUP: closes, pushes its snapshot"
wait "$ma"
is $? 0 "failback: A's takeover exits 0"
diag "failback: A's takeover took $(($(now_ms) - t0)) ms"
is "$(state)" "MASTER open" "failback: A open, role MASTER"
like "$(heartbeat "$b_peer")" '"role":"BACKUP","listener":"closed"' "failback: B closed, role BACKUP"
like "$(since)" 'sync with B \(.*\): peer-newer, imported' "failback: A imported B's newer data (S0.2)"
A provision show +46704 >/dev/null 2>&1
ok $? "failback: room A has +46704, acknowledged by B"
like "$(since)" 'id=JOURNAL_POSITION event=clear severity=minor room=A' \
	"failback: B answered -> JOURNAL_POSITION cleared"

# === 5. A peer whose heartbeat lacks "journal" (issue 13, S0.7) ===============
nfyA INSTANCE VI_1 BACKUP 90 && state_is "BACKUP closed"
ok $? "protocol: room A stands down"
kill_pid "$agentB"
mkdir -p "$T/fakeB/v1"
fake_heartbeat() {  # fake_heartbeat [MEMBER TO LEAVE OUT]
	python3 - "$T/fakeB/v1/heartbeat.tmp" "${1:-}" "$zone" <<'PY'
import json, sys
path, drop, zone = sys.argv[1:4]
hb = {"v": 1, "room": "B", "role": "BACKUP", "listener": "closed",
      "journal": 0, "zones": [{"origin": zone, "serial": 100}],
      "snapshot": None, "alarms": 0, "storage": "ok",
      "storage_error": None, "time": "2026-12-02T04:20:31Z"}
hb.pop(drop, None)
open(path, "w").write(json.dumps(hb))
PY
	mv "$T/fakeB/v1/heartbeat.tmp" "$T/fakeB/v1/heartbeat"
}
fake_heartbeat journal
bg_start fakeB python3 -m http.server --bind 127.0.0.1 "$b_peer" \
	--directory "$T/fakeB" >>"$T/fakeB.log" 2>&1
wait_for 10 curl -sf "http://127.0.0.1:$b_peer/v1/heartbeat"
ok $? "protocol: a fake peer B serves a heartbeat without \"journal\""
mark
nfyA INSTANCE VI_1 MASTER 100
is $? 1 "protocol: the takeover exits 1 (not a peer that is down)"
is "$(state)" "MASTER-FAILED closed" "protocol: listener stays closed, role MASTER-FAILED"
wait_log 5 'id=PEER_PROTOCOL event=raise'
like "$(since | grep 'id=PEER_PROTOCOL')" '^local3\.err enumdr\[[0-9]+\]: enumdr-alarm v1 id=PEER_PROTOCOL event=raise severity=major room=A instance=VI_1 what="heartbeat from http://127\.0\.0\.1:'"$b_peer"'/v1/heartbeat: member \\"journal\\" missing" peer=B$' \
	"protocol: rsyslog got PEER_PROTOCOL naming the member"
like "$(since | grep 'id=LOAD_STEP')" 'event=raise severity=critical .*member \\"journal\\" missing" step=sync$' \
	"protocol: the takeover failed at step sync"
since | grep -q 'id=JOURNAL_POSITION event=raise'
is $? 1 "protocol: not taken for an unreachable peer (no JOURNAL_POSITION)"
like "$(since)" 'takeover failed at step sync: peer B: heartbeat from .*member "journal" missing' \
	"protocol: enumdr-notify logs the failed step"
fake_heartbeat
mark
nfyA INSTANCE VI_1 MASTER 100
is $? 0 "protocol: with a whole heartbeat (journal 0) the takeover succeeds"
is "$(state)" "MASTER open" "protocol: listener open"
wait_log 5 'id=PEER_PROTOCOL event=clear'
ok $? "protocol: PEER_PROTOCOL cleared"
kill_pid "$fakeB"

diag "notify.sh ran in $(($(now_ms) - t_start)) ms"
if [ "$tap_failed" -ne 0 ]; then
	diag_file "$T/messages" 60
	diag_file "$T/agentA.log" 10
fi
done_testing
