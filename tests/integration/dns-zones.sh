#!/bin/sh
# dns-zones.sh — a room whose zones differ from its peer's still takes over
# (issue 16, doc/dns.md).  Before, knot.conf listed the zones by hand and a
# takeover failed at its background step ("operation failed for some
# zones") when the database had one zone more or one fewer than that list.
#
# Both rooms with replication.mode off (snapshots only, S0.1), so that
# nothing keeps room B's zones or its Knot in step before the takeover:
#   room A: zones 6.4.e164.arpa, then 7.4.e164.arpa added while it serves;
#   room B: zones 6.4.e164.arpa and 9.9.e164.arpa (one A never had), its
#           Knot fed nothing yet (no catalog, no zone).
# Room A dies; B's takeover imports A's snapshot (S0.2) and its foreground
# step (enumdr dns-sync) loads every zone of its database into Knot through
# the catalog.  The VIP then answers every zone's SOA at B's database
# serial and every number A acknowledged before its last snapshot; no
# LOAD_STEP alarm.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_DNS_ZONES_NS "$0" "$@"
need_cmd keepalived knotd kdig keymgr ip curl sqlite3

make_tmpdir T enumdr-dnszones
syslog_receiver "$T"
log="$T/messages"

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network
room_files A
room_files B
for r in A B; do
	printf 'replication:\n  mode: off\n' >>"$T/$r/enumdr.yaml"
done
R A init --zone 6.4.e164.arpa:100 >/dev/null &&
R B init --zone 6.4.e164.arpa:100 --zone 9.9.e164.arpa:900 >/dev/null
ok $? "room A: zone 6.4.e164.arpa; room B: 6.4.e164.arpa and 9.9.e164.arpa"

soa_at() {  # soa_at NS SERVER ZONE — the served SOA serial
	ip netns exec "$1" kdig +short +time=1 +retry=0 @"$2" SOA "$3" 2>/dev/null |
	    awk '{ print $3 }'
}
db_serial() {  # db_serial R ZONE
	sqlite3 "$T/$1/lib/enumdr.db" "SELECT serial FROM zone WHERE origin = '$2'"
}

start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open"
start_room B
wait_for 20 role_is B BACKUP; ok $? "room B is the standby"
R A zone add 7.4.e164.arpa --serial 700 >/dev/null
ok $? "room A adds zone 7.4.e164.arpa while it serves"
bad=0
for num in +46811110001 +46811110002 +4721110001 +4721110002; do
	code=$(provision "$num" "sip:$num@ims.a.example")
	[ "$code" = 201 ] || { bad=$((bad + 1)); diag "provision $num: HTTP $code"; }
done
is $bad 0 "numbers provisioned in both zones of room A"
is "$(soa_at "$NB" 127.0.0.1 7.4.e164.arpa)" "" "room B's Knot does not serve 7.4.e164.arpa (nothing feeds it)"
ja=$(journal_of A)
incoming_caught_up() { [ "$(incoming_journal B)" = "$ja" ]; }
wait_for 20 incoming_caught_up
ok $? "room A's snapshot (journal $ja) reached room B (S0.1)"

kill_room A
wait_for 30 vip_on B; ok $? "room B holds the VIP"
wait_for 40 listener_open B; ok $? "room B's takeover completed: listener open"
for z in 6.4.e164.arpa 7.4.e164.arpa; do
	want=$(db_serial B "$z")
	[ -n "$want" ]; ok $? "room B's database holds $z after the import"
	is "$(soa_at "$NC" "$VIP" "$z")" "$want" "the VIP answers $z's SOA at room B's serial"
done
if [ -n "$(db_serial B 9.9.e164.arpa)" ]; then
	is "$(soa_at "$NC" "$VIP" 9.9.e164.arpa)" "$(db_serial B 9.9.e164.arpa)" \
	    "the VIP answers 9.9.e164.arpa (room B's own zone) at its serial"
else
	is "$(soa_at "$NC" "$VIP" 9.9.e164.arpa)" "" \
	    "9.9.e164.arpa, gone from room B's database with the import, is not served"
fi
unanswered=0
for num in +46811110001 +46811110002 +4721110001 +4721110002; do
	wait_for 5 answers "$num" "sip:$num@" || unanswered=$((unanswered + 1))
done
is $unanswered 0 "every number room A acknowledged before its snapshot is answered at the VIP"
grep -q 'id=LOAD_STEP event=raise' "$log"
ok $((! $?)) "no LOAD_STEP alarm: the zones' lists differing did not stop the takeover"
[ "$tap_failed" -eq 0 ] || { diag_file "$T/B/enumdrd.out" 40; grep enumdr-notify "$log" | tail -20 | sed 's/^/# /'; }
done_testing
