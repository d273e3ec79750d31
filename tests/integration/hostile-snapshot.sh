#!/bin/sh
# hostile-snapshot.sh — a peer's snapshot is untrusted input (issue 12,
# defects 1 and 2; S0.2 step 4, S0.6).  The test plays the attacker who can
# reach the peer port: it takes a real export of a peer room, adds one
# invalid row with sqlite3 and reseals the serial file (size, SHA-256,
# checksum: every file-level check passes), for each row kind:
#   number     150 digits (overflowed the zone-file writer's stack buffer),
#              "+46*" (a wildcard owner), "+4" in 6.4.e164.arpa
#   zone       an origin that is not digit labels under e164.arpa
#   NAPTR      a text ending in "(" (the zone would not load), a second raw
#              line holding an A record
#   parameter  dns.soa_rname with a newline and a record after it
#   version    a number_version row whose origin is a path, not a uuid
# and checks what a user would check:
#   - `enumdr sync --from DIR` refuses it: exit 65 (66 for the zone, which
#     the serial file already refuses), the error names the row, the alarm
#     line (SNAPSHOT_INVALID, critical, row=..., or SYNC_READ) reaches a
#     real syslog, and the room's database is exactly as before;
#   - a takeover (enumdr-notify MASTER, the peer down) with the snapshot
#     PUT into incoming_dir through the agent's peer API refuses it, raises
#     SNAPSHOT_INVALID naming the row, goes on with the room's own data, and
#     the real Knot DNS serves exactly the room's own data: the room's
#     numbers answer, the injected owner and records do not, the SOA is
#     the room's;
#   - a snapshot of schema 1 (exported before the upgrade) is refused by
#     the sync and the import, saying "export it again with the upgraded
#     agent", the database unchanged;
#   - a valid snapshot afterwards is imported and clears the alarm.
# Needs root (private mount namespace for the syslog receiver), knotd,
# kdig, sqlite3, curl; skipped otherwise (a failure under CI=true).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

PATH=$PATH:/usr/sbin:/sbin
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
notify="$top_builddir/notify/enumdr-notify"

if [ "${ENUMDR_HOSTILE_NS:-}" != 1 ]; then
	need_root
	need_cmd rsyslogd knotd knotc kdig sqlite3 sha256sum curl
	need_built "$enumdr" "$enumdrd" "$notify"
fi
reexec_private_mount_ns ENUMDR_HOSTILE_NS "$0" "$@"

make_tmpdir T enumdr-hostile
syslog_receiver "$T"
zone=6.4.e164.arpa
pick_port a_prov
pick_port a_peer
pick_port dns_port
pick_port dead_port	# the peer's agent: nothing listens there
mkdir -p "$T/A" "$T/P" "$T/A/zones"

# --- room A (the room under attack) and the peer room P whose export is
# the raw material --------------------------------------------------------
cat >"$T/A/enumdr.yaml" <<EOF
room: A
database: $T/A/db/enumdr.db
snapshot_dir: $T/A/snapshot
incoming_dir: $T/A/incoming
state_dir: $T/A/state
alarm:
  facility: local3
timeouts:
  connect_ms: 300
  transfer_ms: 3000
agent:
  provisioning_listen: 127.0.0.1:$a_prov
  peer_listen: 127.0.0.1:$a_peer
  control_socket: $T/A/state/control.sock
  snapshot_interval_s: 0
peers:
  - name: P
    heartbeat_url: http://127.0.0.1:$dead_port/v1/heartbeat
    transfer_url: http://127.0.0.1:$dead_port/v1/incoming/
load:
  - name: foreground
    argv: [$enumdr, -c, $T/A/enumdr.yaml, zonefiles, $T/A/zones]
    timeout_ms: 10000
  - name: background
    argv: [$(command -v knotc), -c, $T/knot.conf, -t, "5", zone-reload]
    timeout_ms: 10000
EOF
pick_port p_prov
pick_port p_peer
cat >"$T/P/enumdr.yaml" <<EOF
room: P
database: $T/P/db/enumdr.db
snapshot_dir: $T/P/snapshot
incoming_dir: $T/P/incoming
state_dir: $T/P/state
agent:
  provisioning_listen: 127.0.0.1:$p_prov
  peer_listen: 127.0.0.1:$p_peer
  control_socket: $T/P/state/control.sock
  snapshot_interval_s: 0
EOF
A() { "$enumdr" -c "$T/A/enumdr.yaml" "$@"; }
P() { "$enumdr" -c "$T/P/enumdr.yaml" "$@"; }
# Every write goes through the room's agent (the database's only writer):
# P's runs throughout, A's for the syncs of section 1 (listener closed).
P init --zone $zone:100 >/dev/null && A init >/dev/null &&
	agent_start p_agent "$T/P/enumdr.yaml" "$T/P/agent.log" &&
	P agent open >/dev/null &&
	P provision add +46701 --sip sip:+46701@ims.p.example >/dev/null &&
	P snapshot export >/dev/null &&
	agent_start a_agent0 "$T/A/enumdr.yaml" "$T/agent.log" &&
	A snapshot import "$T/P/snapshot" >/dev/null
ok $? "room A starts as a copy of peer P (zone $zone, +46701)"
# P goes on: its snapshot is newer than A's data, so a sync imports it.
P provision add +46702 --sip sip:+46702@ims.p.example >/dev/null &&
	P snapshot export >/dev/null
ok $? "peer P provisions +46702 and exports: P is newer than A"

A zonefiles "$T/A/zones" >/dev/null
knot_start "$T" "$T/A/zones" "$dns_port" $zone
if ! A dns-wait "127.0.0.1:$dns_port" --timeout 10000 >/dev/null 2>"$T/err"; then
	diag_file "$T/knot.log"
	diag_file "$T/err"
	echo "Bail out! knotd does not serve $zone"
	exit 1
fi
ok 0 "a real Knot DNS serves room A's zone on 127.0.0.1:$dns_port"

# --- what a user checks -----------------------------------------------------
dig() { kdig @127.0.0.1 -p "$dns_port" +time=2 +retry=0 "$@"; }
rcode() { dig "$@" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -n 1; }
answers() { dig +short "$@"; }
db_state() {  # every user-visible row of room A's database
	sqlite3 -readonly "$T/A/db/enumdr.db" \
	    "SELECT origin, prefix, serial FROM zone ORDER BY 1;
	     SELECT e164, zone, naptr FROM number ORDER BY 1;
	     SELECT name, value FROM parameter ORDER BY 1;
	     SELECT zone, actor, changes FROM zone_history ORDER BY 1, 2;
	     SELECT e164, zone, origin, oseq, hlc, room, removed FROM number_version ORDER BY 1;
	     SELECT origin, room, oseq, hlc FROM origin_seen ORDER BY 1;"
}
served_state() {  # what Knot answers: SOA, the numbers, the probes
	answers SOA $zone
	answers NAPTR 1.0.7.6.4.e164.arpa
	answers NAPTR 2.0.7.6.4.e164.arpa
	rcode NAPTR 9.9.9.6.4.e164.arpa
	rcode A x.6.4.e164.arpa
	answers NAPTR $zone
}
has() {  # has GOT FIXED-STRING WHAT — like, without regular expressions
	printf '%s' "$1" | grep -Fq -- "$2"
	_rc=$?
	ok $_rc "$3"
	[ $_rc -eq 0 ] || { printf '%s\n' "$1" | head -5 | sed 's/^/#   got: /'
		echo "#   want: $2"; }
}
mark() { mark=$(wc -l <"$T/messages" | tr -d ' '); }
since() { tail -n +"$((mark + 1))" "$T/messages"; }
logged() { since | grep -Eq -- "$1"; }

# craft NAME SQL — a copy of P's snapshot with SQL applied, resealed.
# The serial file is rewritten the way an attacker would: the database's
# size and SHA-256, then the checksum line over every line above it.
craft() {
	d=$T/crafted/$1
	rm -rf "$d" && mkdir -p "$d" &&
	cp "$T/P/snapshot/enumdr-snapshot.db" "$T/P/snapshot/enumdr-serials" "$d/" &&
	sqlite3 "$d/enumdr-snapshot.db" "PRAGMA ignore_check_constraints=ON; $2" &&
	size=$(stat -c %s "$d/enumdr-snapshot.db") &&
	sha=$(sha256sum "$d/enumdr-snapshot.db" | cut -d' ' -f1) &&
	sed -e '/^checksum /d' \
	    -e "s/^snapshot enumdr-snapshot.db .*/snapshot enumdr-snapshot.db $size $sha/" \
	    "$d/enumdr-serials" >"$d/lines" &&
	{ [ -z "$3" ] || echo "$3" >>"$d/lines"; } &&
	{ cat "$d/lines"; echo "checksum $(sha256sum <"$d/lines" | cut -d' ' -f1)"; } \
	    >"$d/enumdr-serials" && rm -f "$d/lines"
}

NAPTR='100 10 "u" "E2U+sip" "!^.*$!sip:x@evil.example!" .'
NOW=2026-12-02T00:00:00Z
digits150=$(printf '%0150d' 0 | tr 0 7)
# kind ~ name ~ SQL ~ a line added to the serial file ~ table ~ key ~ exit
cases="number~long~INSERT INTO number VALUES ('+46$digits150', '$zone', '$NAPTR', '$NOW')~~number~+467777~65
number~wildcard~INSERT INTO number VALUES ('+46*', '$zone', '$NAPTR', '$NOW')~~number~+46*~65
number~short~INSERT INTO number VALUES ('+4', '$zone', '$NAPTR', '$NOW')~~number~+4~65
zone~badzone~INSERT INTO zone VALUES ('x.e164.arpa', 'x', 1, '$NOW')~zone x.e164.arpa 1~zone~x.e164.arpa~66
naptr~paren~UPDATE number SET naptr = naptr || ' (' WHERE e164 = '+46702'~~number~+46702~65
naptr~inject~UPDATE number SET naptr = naptr || char(10) || 'x A 6.6.6.6' WHERE e164 = '+46702'~~number~+46702~65
parameter~rname~INSERT INTO parameter VALUES ('dns.soa_rname', 'h.example.' || char(10) || 'x  A  6.6.6.6')~~parameter~dns.soa_rname~65
version~origin~INSERT INTO number_version VALUES ('+46709', '$zone', '../../etc', 1, 1, 'P', 1, '$NOW')~~number_version~+46709~65"

db0=$(db_state)
dns0=$(served_state)
has "$dns0" 'sip:+46701@ims.p.example' "before: Knot answers +46701"

# === 1. enumdr sync --from DIR ===============================================
while IFS='~' read -r kind name sql line table key code; do
	craft "$name" "$sql" "$line" || { ok 1 "$kind/$name: craft the snapshot"; continue; }
	mark
	A sync --from "$T/crafted/$name" >"$T/out" 2>"$T/err"
	is $? "$code" "sync, $kind ($name): refused, exit $code"
	if [ "$code" = 65 ]; then
		has "$(cat "$T/err")" "$table row \"$key" "sync, $kind ($name): the error names the row"
	else
		has "$(cat "$T/err")" "\"$key\"" "sync, $kind ($name): the error names the zone"
	fi
	is "$(db_state)" "$db0" "sync, $kind ($name): room A's database unchanged"
	if [ "$code" = 65 ]; then
		wait_for 5 logged "id=SNAPSHOT_INVALID event=raise severity=critical room=A "
		ok $? "sync, $kind ($name): SNAPSHOT_INVALID (critical) raised"
		has "$(since | grep SNAPSHOT_INVALID)" "row=\"$table \\\"$key" \
			"sync, $kind ($name): the alarm line names the row"
	else
		wait_for 5 logged "id=SYNC_READ event=raise severity=major room=A .*x\\.e164\\.arpa"
		ok $? "sync, $kind ($name): SYNC_READ (major) raised, naming the zone"
	fi
	# the foreground step on what the database now holds still works
	A zonefiles "$T/A/zones" >/dev/null && knotc -c "$T/knot.conf" zone-reload >/dev/null
	ok $? "sync, $kind ($name): the foreground load still writes the zone"
	is "$(served_state)" "$dns0" "sync, $kind ($name): Knot serves what it served"
done <<EOF_CASES
$cases
EOF_CASES

# a snapshot of schema 1 (exported by an agent before the upgrade): refused
# saying what to do, nothing changed
craft schema1 "DROP TABLE number_version; DROP TABLE origin_seen;
	DROP TABLE peer_cursor; DROP TABLE conflict;
	ALTER TABLE journal DROP COLUMN txn; ALTER TABLE journal DROP COLUMN origin;
	ALTER TABLE journal DROP COLUMN oseq; ALTER TABLE journal DROP COLUMN hlc;
	ALTER TABLE journal DROP COLUMN room; ALTER TABLE journal DROP COLUMN prev_origin;
	ALTER TABLE journal DROP COLUMN prev_oseq; ALTER TABLE journal DROP COLUMN flags;
	UPDATE database_identity SET schema_version = 1" "" ||
	ok 1 "schema 1: craft the snapshot"
A sync --from "$T/crafted/schema1" >"$T/out" 2>"$T/err"
is $? 74 "sync, schema 1 snapshot: refused, exit 74"
has "$(cat "$T/err")" "snapshot of schema 1, this program reads schema 2: export it again with the upgraded agent" \
	"sync, schema 1 snapshot: the error says so and what to do"
! A snapshot import "$T/crafted/schema1" >"$T/out" 2>"$T/err"
ok $? "snapshot import, schema 1 snapshot: refused"
has "$(cat "$T/err")" "snapshot of schema 1, this program reads schema 2" \
	"snapshot import, schema 1 snapshot: the error says so"
is "$(db_state)" "$db0" "schema 1 snapshot: room A's database unchanged"

# === 2. a takeover with the snapshot PUT into incoming_dir ==================
kill_pid "$a_agent0"	# restarted below, after the crash's leftovers
# what a crashed upload (the agent's NAME.part.XXXXXX) and a crashed
# export (NAME.tmp.PID of a process that is gone) leave behind
mkdir -p "$T/A/incoming" "$T/A/snapshot"
dead=$(sh -c 'echo $$')
: >"$T/A/incoming/enumdr-snapshot.db.part.Qx7b2K"
: >"$T/A/snapshot/enumdr-snapshot.db.tmp.$dead"
bg_start agent_pid "$enumdrd" -d -c "$T/A/enumdr.yaml" 2>>"$T/agent.log"
wait_for 10 curl -sf "http://127.0.0.1:$a_peer/v1/heartbeat" >/dev/null
ok $? "room A's agent answers its heartbeat"
[ ! -e "$T/A/incoming/enumdr-snapshot.db.part.Qx7b2K" ] &&
	[ ! -e "$T/A/snapshot/enumdr-snapshot.db.tmp.$dead" ]
ok $? "the agent removed the temporaries a crash left (an upload's part file, a dead export's copy)"
put() {  # put DIR — both files through the peer API, database first
	c1=$(curl -s -o /dev/null -w '%{http_code}' -T "$1/enumdr-snapshot.db" \
	    "http://127.0.0.1:$a_peer/v1/incoming/enumdr-snapshot.db")
	c2=$(curl -s -o /dev/null -w '%{http_code}' -T "$1/enumdr-serials" \
	    "http://127.0.0.1:$a_peer/v1/incoming/enumdr-serials")
	case "$c1$c2" in 2??2??) return 0 ;; esac
	diag "PUT answered $c1 and $c2"
	return 1
}
state() {
	curl -s --max-time 2 "http://127.0.0.1:$a_peer/v1/heartbeat" |
	    sed -n 's/.*"role":"\([A-Z-]*\)","listener":"\([a-z]*\)".*/\1 \2/p'
}
for name in long wildcard inject rname origin; do
	put "$T/crafted/$name"
	ok $? "takeover ($name): crafted snapshot PUT into A's incoming_dir"
	mark
	"$notify" -c "$T/A/enumdr.yaml" INSTANCE VI_1 MASTER 100 2>>"$T/notify.err"
	is $? 0 "takeover ($name): enumdr-notify MASTER exits 0"
	is "$(state)" "MASTER open" "takeover ($name): went on with A's own data, listener open"
	wait_for 5 logged "id=SNAPSHOT_INVALID event=raise severity=critical room=A instance=VI_1 .*row="
	ok $? "takeover ($name): SNAPSHOT_INVALID raised, naming the row"
	is "$(db_state)" "$db0" "takeover ($name): room A's database unchanged"
	is "$(served_state)" "$dns0" "takeover ($name): Knot serves A's own data, nothing injected"
	"$notify" -c "$T/A/enumdr.yaml" INSTANCE VI_1 BACKUP 90 2>>"$T/notify.err"
	is "$(state)" "BACKUP closed" "takeover ($name): BACKUP closes again"
done

# === 3. a valid snapshot is imported and clears the alarm ==================
put "$T/P/snapshot"
mark
"$notify" -c "$T/A/enumdr.yaml" INSTANCE VI_1 MASTER 100 2>>"$T/notify.err"
is "$(state)" "MASTER open" "valid snapshot: takeover done"
is "$(answers NAPTR 2.0.7.6.4.e164.arpa)" '100 10 "u" "E2U+sip" "!^.*$!sip:+46702@ims.p.example!" .' \
	"valid snapshot: P's +46702 imported and served"
wait_for 5 logged "id=SNAPSHOT_INVALID event=clear"
ok $? "valid snapshot: SNAPSHOT_INVALID cleared"
A alarms >"$T/alarms"
! grep -q SNAPSHOT_INVALID "$T/alarms"
ok $? "valid snapshot: no longer listed by enumdr alarms"
diag_file "$T/notify.err" 5
done_testing
