#!/bin/sh
# disk-full.sh — a full disk is not refused silently (issue 12, defect 5;
# S0.5, S0.6; doc/alarms.md STORAGE_FULL, doc/checkers.md).  The room's
# data (database, state_dir, snapshot and incoming directories, as under
# /var/lib/enumdr) lives on a small tmpfs the test mounts in a private
# mount namespace; a real enumdrd with its listener open takes adds from
# curl, and a filler file (dd until ENOSPC) fills the filesystem.  Each
# fill/free cycle checks:
#  - a change answers 507 with a JSON error;
#  - `enumdr-alarm v1 id=STORAGE_FULL event=raise` reaches a real rsyslogd
#    (severity critical while the listener is open, major while closed);
#  - enumdr-check-service exits 1, "unhealthy: cannot write ...";
#  - the heartbeat and the control socket's status say "storage":"full";
#  - every number answered 201 is in the database, integrity_check ok;
#  - once the filler is removed: the clear line, the checker healthy
#    again, the heartbeat "ok", a new add 201.
# The cycles fill at different moments: after a random number of adds,
# in the middle of a stream of adds (freed while it still runs), with the
# listener closed in the meantime, across a restart of the agent on the
# full disk, and in a standby that makes no change at all (its failed
# snapshot export asks for the probe).  The seed is printed (DISKFULL_SEED=N repeats a run).
# Needs root (mounts), curl, sqlite3, rsyslogd; skipped without them (a
# failure under CI=true).  Everything started is killed by pid and
# everything mounted is unmounted at exit.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
svc="$top_builddir/checkers/enumdr-check-service"

if [ "${ENUMDR_DISKFULL_NS:-}" != 1 ]; then
	need_root
	need_cmd curl sqlite3 ss dd
	need_built "$enumdr" "$enumdrd" "$svc"
fi
reexec_private_mount_ns ENUMDR_DISKFULL_NS "$0" "$@"

# --- in the private mount namespace from here on -----------------------------
make_tmpdir T enumdr-disk-full
syslog_receiver "$T"
data=$T/A
mkdir -p "$data"
mount -t tmpfs -o size=8m,mode=0755 enumdr-disk-full "$data" ||
	skip_all "cannot mount a tmpfs"
on_exit "umount $(shquote "$data")"
ok 0 "rsyslogd on a private /dev/log, the room's data on an 8 MiB tmpfs"

seed=${DISKFULL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
diag "seed $seed (DISKFULL_SEED=$seed repeats this run)"
# rnd K MIN MAX — the K-th pseudo-random number of this seed, MIN..MAX
rnd() {
	awk -v s="$seed" -v k="$1" -v lo="$2" -v hi="$3" \
	    'BEGIN { srand(s * 131 + k); print lo + int(rand() * (hi - lo + 1)) }'
}

pick_port prov_port
pick_port peer_port
zone=6.4.e164.arpa
prov=http://127.0.0.1:$prov_port
peer=http://127.0.0.1:$peer_port
conf=$T/enumdr.yaml
cat >"$conf" <<EOF
room: A
database: $data/enumdr.db
snapshot_dir: $data/snapshot
incoming_dir: $data/incoming
state_dir: $data/state
agent:
  provisioning_listen: 127.0.0.1:$prov_port
  peer_listen: 127.0.0.1:$peer_port
  control_socket: $T/control.sock
  snapshot_interval_s: 0
EOF
A() { "$enumdr" -c "$conf" "$@"; }
db() { sqlite3 -readonly "$data/enumdr.db" "$@"; }
heartbeat() { curl -s -m 2 "$peer/v1/heartbeat"; }
raises() { grep -c 'enumdr-alarm v1 id=STORAGE_FULL event=raise' "$T/messages"; }
clears() { grep -c 'enumdr-alarm v1 id=STORAGE_FULL event=clear' "$T/messages"; }
more_than() { [ "$($1)" -gt "$2" ]; }
last_line() { grep "enumdr-alarm v1 id=STORAGE_FULL event=$1" "$T/messages" | tail -n1; }

start_agent() {
	bg_start agent "$enumdrd" -d -c "$conf" 2>>"$T/agent.log"
	wait_for 10 curl -sf "$peer/v1/heartbeat"
}

# add NUMBER FILE — one add; "CODE NUMBER" appended to FILE, $code, $body
add() {
	code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
	    -X POST -H 'Content-Type: application/json' --data-binary \
	    "{\"e164\":\"$1\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$1@ims.example.net!\",\"replacement\":\".\"}]}" \
	    "$prov/v1/numbers")
	body=$(cat "$T/body")
	echo "$code $1" >>"$2"
}
num() { printf '+4681%d%06d' "$1" "$2"; }	# num CYCLE I
# adds CYCLE FROM N FILE — N adds in a row (stops at the first non-201)
adds() {
	_i=$2
	while [ "$_i" -lt $(($2 + $3)) ]; do
		add "$(num "$1" "$_i")" "$4"
		_i=$((_i + 1))
		[ "$code" = 201 ] || return 1
	done
}
# until_full CYCLE FROM FILE — add until an answer is not 201 (at most 3000)
until_full() {
	_i=$2
	while [ "$_i" -lt $(($2 + 3000)) ]; do
		add "$(num "$1" "$_i")" "$3"
		_i=$((_i + 1))
		[ "$code" = 201 ] || return 0
	done
	return 1
}
# stream CYCLE FILE — adds until $T/stop exists, whatever they answer
stream() {
	_j=500000
	while [ ! -e "$T/stop" ] && [ "$_j" -lt 510000 ]; do
		add "$(num "$1" "$_j")" "$2" 2>/dev/null
		_j=$((_j + 1))
	done
}
count() { grep -c "^$1 " "$2" 2>/dev/null || echo 0; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

# Every number ever acknowledged (all cycles) is in the database.
missing() {
	cat "$T"/acked.* 2>/dev/null | grep '^201 ' | cut -d' ' -f2 | sort -u >"$T/acked"
	db "SELECT e164 FROM number" | sort >"$T/present"
	comm -23 "$T/acked" "$T/present"
}

fill() {  # dd until ENOSPC
	dd if=/dev/zero of="$data/filler" bs=64k 2>/dev/null
	[ "$(df -P "$data" | awk 'NR == 2 { print $4 }')" -eq 0 ]
}
free_space() { rm -f "$data/filler"; }

svc_check() {  # $svc_rc, $svc_err
	"$svc" -c "$conf" --timeout 3000 >/dev/null 2>"$T/svc.err"
	svc_rc=$?
	svc_err=$(cat "$T/svc.err")
}
svc_healthy() { "$svc" -c "$conf" >/dev/null 2>&1; }
storage_ok() { heartbeat | grep -q '"storage":"ok"'; }

# full_checks CYCLE SEVERITY — the room while the disk is full
full_checks() {
	wait_for 5 more_than raises "$r0"
	ok $? "cycle $1: STORAGE_FULL raise reaches syslog"
	like "$(last_line raise)" "^local3\.crit enumdr\[[0-9]+\]: enumdr-alarm v1 id=STORAGE_FULL event=raise severity=$2 room=A instance=- what=\"the database cannot be written \(disk full\)" \
		"cycle $1: ... local3.crit, severity $2, room A, what says disk full"
	svc_check
	is "$svc_rc" 1 "cycle $1: enumdr-check-service exits 1"
	like "$svc_err" "^enumdr-check-service: unhealthy: cannot write the database \(the agent reports storage \"full\": .*(full|No space left)" \
		"cycle $1: ... \"unhealthy: cannot write\", naming the agent's reason"
	like "$(heartbeat)" '"storage":"full","storage_error":"[^"]+"' \
		"cycle $1: heartbeat: storage full, with the error"
	like "$(A --json agent status)" '"storage":"full".*"storage_since":"[0-9T:Z-]+"' \
		"cycle $1: control socket status: storage full, since when"
	is "$(missing)" "" "cycle $1: every acknowledged number is in the database"
	is "$(db 'PRAGMA integrity_check')" ok "cycle $1: integrity_check ok"
}

# free_checks CYCLE — after the filler is gone
free_checks() {
	wait_for 6 more_than clears "$c0"
	ok $? "cycle $1: STORAGE_FULL clear reaches syslog"
	like "$(last_line clear)" "^local3\.notice enumdr\[[0-9]+\]: enumdr-alarm v1 id=STORAGE_FULL event=clear severity=(critical|major) room=A" \
		"cycle $1: ... local3.notice, the raise's severity"
	wait_for 3 svc_healthy
	svc_check
	is "$svc_rc:$svc_err" "0:" "cycle $1: enumdr-check-service healthy again, silently"
	like "$(heartbeat)" '"storage":"ok","storage_error":null' "cycle $1: heartbeat: storage ok"
	add "$(num "$1" 900000)" "$T/acked.$1"
	is "$code" 201 "cycle $1: a new add answers 201"
}

# --- the room ---------------------------------------------------------------
A init --zone $zone:1000 >/dev/null
ok $? "room A: database and zone $zone on the tmpfs"
start_agent; ok $? "enumdrd answers its heartbeat"
A agent open >/dev/null && A agent role MASTER >/dev/null
ok $? "listener open, role MASTER"
svc_check
is "$svc_rc:$svc_err" "0:" "before any fill: enumdr-check-service healthy"
like "$(heartbeat)" '"storage":"ok","storage_error":null' "heartbeat: storage ok"
is "$(raises)" 0 "no STORAGE_FULL alarm yet"

# --- cycle 1: a random number of adds, then the filler ---------------------
n=$(rnd 1 5 60)
adds 1 0 "$n" "$T/acked.1"; ok $? "cycle 1: $n adds acknowledged"
r0=$(raises); c0=$(clears)
fill; ok $? "cycle 1: filesystem full (dd until ENOSPC)"
until_full 1 "$n" "$T/acked.1"; ok $? "cycle 1: adds until one is refused"
diag "cycle 1: $(count 201 "$T/acked.1") adds acknowledged in all, then $code"
is "$code" 507 "cycle 1: the refused add answers 507"
like "$body" '^\{"error":"[^"]*full[^"]*"' "cycle 1: ... with a JSON error saying full"
full_checks 1 critical
add "$(num 1 800000)" "$T/acked.1"
is "$code" 507 "cycle 1: still 507 while full"
is "$(raises)" "$((r0 + 1))" "cycle 1: one raise line for the condition, not one per refused change"
free_space
free_checks 1

# --- cycle 2: filled in the middle of a stream, freed while it runs --------
k=$(rnd 2 1 40)
rm -f "$T/stop"
stream 2 "$T/acked.2" &
spid=$!
on_exit "touch $(shquote "$T/stop"); kill $spid"
wait_for 20 at_least 201 "$T/acked.2" "$k"; ok $? "cycle 2: $k adds of a stream acknowledged"
r0=$(raises); c0=$(clears)
fill; ok $? "cycle 2: filesystem filled while the stream runs"
wait_for 30 at_least 507 "$T/acked.2" 1; ok $? "cycle 2: the stream gets 507"
full_checks 2 critical
free_space
wait_for 10 at_least 201 "$T/acked.2" "$(($(count 201 "$T/acked.2") + 5))"
ok $? "cycle 2: the stream gets 201 again once space is back"
touch "$T/stop"
wait "$spid"
diag "cycle 2: $(count 201 "$T/acked.2") adds acknowledged, $(count 507 "$T/acked.2") refused with 507, others: $(grep -cv '^201 \|^507 ' "$T/acked.2")"
is "$(grep -cv '^201 \|^507 ' "$T/acked.2")" 0 "cycle 2: every answer was 201 or 507"
free_checks 2

# --- cycle 3: full, then the listener closes (standby) and opens again -----
n=$(rnd 3 1 30)
adds 3 0 "$n" "$T/acked.3"; ok $? "cycle 3: $n adds acknowledged"
r0=$(raises); c0=$(clears)
fill; ok $? "cycle 3: filesystem full"
until_full 3 "$n" "$T/acked.3"; is "$code" 507 "cycle 3: adds until 507"
full_checks 3 critical
r0=$(raises)
A agent close >/dev/null; ok $? "cycle 3: listener closed while full"
wait_for 5 more_than raises "$r0"
like "$(last_line raise)" "^local3\.err .*id=STORAGE_FULL event=raise severity=major .*listener=closed" \
	"cycle 3: re-raised as major while the listener is closed"
A agent open >/dev/null
r0=$(raises)
wait_for 5 more_than raises "$r0"
like "$(last_line raise)" "^local3\.crit .*id=STORAGE_FULL event=raise severity=critical .*listener=open" \
	"cycle 3: critical again once it opens"
free_space
free_checks 3

# --- cycle 4: the agent restarts on the full disk --------------------------
n=$(rnd 4 1 30)
adds 4 0 "$n" "$T/acked.4"; ok $? "cycle 4: $n adds acknowledged"
r0=$(raises); c0=$(clears)
fill; ok $? "cycle 4: filesystem full"
kill -TERM "$agent"; wait "$agent"; is $? 0 "cycle 4: SIGTERM on the full disk: exit 0"
is "$(missing)" "" "cycle 4: every acknowledged number is in the database after the stop"
# The stop's checkpoint may have removed the WAL: fill what that freed.
fill; ok $? "cycle 4: filesystem still full before the restart"
start_agent; ok $? "cycle 4: enumdrd restarts on the full disk"
wait_for 5 more_than raises "$r0"
ok $? "cycle 4: the restarted agent's probe raises STORAGE_FULL"
like "$(last_line raise)" "severity=major .*source=probe.*listener=closed" \
	"cycle 4: ... major (listener closed after a restart), found by the probe"
svc_check
like "$svc_err" "unhealthy: cannot write" "cycle 4: enumdr-check-service: cannot write"
A agent open >/dev/null
until_full 4 800000 "$T/acked.4"; is "$code" 507 "cycle 4: adds until 507"
full_checks 4 critical
free_space
free_checks 4

# --- cycle 5: a standby's failed snapshot export finds the full disk -------
A agent close >/dev/null && A agent role BACKUP >/dev/null
ok $? "cycle 5: standby (listener closed, role BACKUP)"
r0=$(raises); c0=$(clears)
fill; ok $? "cycle 5: filesystem full, no change refused (none is made)"
A agent snapshot >/dev/null 2>&1; ok $((! $?)) "cycle 5: the snapshot export into the full disk fails"
wait_for 5 more_than raises "$r0"
ok $? "cycle 5: the probe it asks for raises STORAGE_FULL"
like "$(last_line raise)" "^local3\.err .*severity=major .*source=probe listener=closed" \
	"cycle 5: ... major in a standby, found by the probe"
svc_check
like "$svc_rc:$svc_err" '^1:.*unhealthy: cannot write the database \(the agent reports storage "full": probe: write 64 KiB' \
	"cycle 5: enumdr-check-service: a standby that cannot write is unhealthy"
free_space
wait_for 6 more_than clears "$c0"
ok $? "cycle 5: cleared once space is back"
wait_for 3 svc_healthy; ok $? "cycle 5: enumdr-check-service healthy again"
A agent snapshot >/dev/null; ok $? "cycle 5: the snapshot export works again"

# --- the end ----------------------------------------------------------------
is "$(missing)" "" "every number acknowledged in every cycle is in the database"
is "$(db 'PRAGMA integrity_check')" ok "integrity_check ok"
is "$(db "SELECT serial - 1000 = (SELECT count(*) FROM number) FROM zone")" 1 \
	"zone serial moved by exactly the numbers present"
kill -TERM "$agent"; wait "$agent"; is $? 0 "SIGTERM: exit 0"
if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$T/agent.log"; then
	diag_file "$T/agent.log" 40
	ok 1 "no sanitizer report from enumdrd"
else
	ok 0 "no sanitizer report from enumdrd"
fi
done_testing
