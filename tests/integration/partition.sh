#!/bin/sh
# partition.sh — a partition between the rooms, changes on both sides, the
# link healed: nothing dropped, the doubly-changed number served as its
# winner and reported as a conflict until an operator decides (issue 14,
# "Done when"; S0.8 no acknowledged change lost, S1.3 replication, S3.3/S4.3
# the rooms meet again).  Real keepalived, enumdrd, Knot DNS and rsyslogd in
# the network namespaces of rooms.sh:
#
#   client namespace C: bridge br0 (192.0.2.100) with ports toA and toB
#   room A: 192.0.2.1, priority 150      room B: 192.0.2.2, priority 100
#   VIP 192.0.2.53; replication.mode async
#
# The cut: both bridge ports are made "isolated" (bridge link set ...
# isolated on): the rooms no longer reach each other — VRRP adverts, the
# heartbeat and the journal long-polls are lost — while the client, on the
# bridge itself, still reaches each room at its own address.  VRRP has no
# quorum, so both rooms become MASTER and both open their listeners.
#
# 1. Both rooms up and in step; number X provisioned through the VIP
#    (sip:X@ims.orig.example) and replicated to B.
# 2. Cut.  Both MASTER.  150 new numbers into A (192.0.2.1:8053), 20 into B
#    (192.0.2.2:8053); X replaced in A (ims.a.example), 1 s later in B
#    (ims.b.example): B's version has the newer HLC, it is the winner.
#    A keeps 100 journal rows (journal_keep): its journal is trimmed past
#    B's cursor, so B meets a gap at the heal.
# 3. Heal.  One room keeps the VIP (A, the higher priority; it never left
#    MASTER, so only replication can bring it B's changes).  Then:
#    B heals the gap from A's snapshot (a merge: REPLICATION_GAP raised
#    and cleared), A follows B's journal; every one of the 170 numbers
#    answered by kdig @VIP; X answered with
#    B's version; `enumdr conflicts list --json` in both rooms shows X's
#    conflict open, served = B's version, other = A's; the CONFLICT alarm
#    raised (critical) in the syslog receiver; both databases identical.
# 4. `enumdr conflicts keep ID other` in the VIP room: A's version is served
#    at the VIP, the conflict is closed in both rooms, the alarm cleared in
#    both (clear lines), both databases identical.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_PARTITION_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip bridge curl sqlite3 python3 timeout xargs

make_tmpdir T enumdr-partition
syslog_receiver "$T"
log="$T/messages"
LOAD=$top_srcdir/tests/integration/provision-load.py
[ -f "$LOAD" ] || { echo "Bail out! $LOAD missing"; exit 1; }
PY=$(python3 -c 'import sys; print(sys.executable)')
t_start=$(now_ms)
stamp() { diag "$(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network

A() { "$bin/enumdr" -c "$T/A/enumdr.yaml" "$@"; }
B() { "$bin/enumdr" -c "$T/B/enumdr.yaml" "$@"; }
addr_of() { [ "$1" = A ] && echo 192.0.2.1 || echo 192.0.2.2; }

show_rows_diff() {
	sed 's/^/#   /' "$T/rows.err"
	diag "rows: A $(wc -l <"$T/rows.A"), B $(wc -l <"$T/rows.B")"
	diff "$T/rows.A" "$T/rows.B" | head -10 | sed 's/^/#   /'
}
in_db() {  # in_db R NUMBER
	[ -n "$(sqlite3 -readonly -batch "$T/$1/lib/enumdr.db" \
	    "SELECT 1 FROM number WHERE e164 = '$2'")" ]
}
naptr_body() {  # naptr_body URI — the PUT body of one sip record
	printf '{"naptr":[{"order":100,"preference":10,"flags":"u","service":"E2U+sip","regexp":"!^.*$!%s!","replacement":"."}]}' "$1"
}
replace_at() {  # replace_at R NUMBER URI — PUT through R's own address; prints the status
	inC curl -s -m 10 -o "$T/put.out" -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/json' \
	    "http://$(addr_of "$1"):8053/v1/numbers/$2" -d "$(naptr_body "$3")"
}
provision_into() {  # provision_into R PREFIX COUNT — the load client, COUNT numbers into R
	ip netns exec "$NC" "$PY" "$LOAD" --url "http://$(addr_of "$1"):8053" \
	    --prefix "$2" --digits 6 --count "$3" --timeout 5 \
	    --domain "ims.$1.example" --log "$T/acked.$1" >"$T/load.$1.out" 2>&1
	diag "room $1: $(cat "$T/load.$1.out")"
}
conflicts_json() { R "$1" conflicts list --json 2>"$T/conflicts.err"; }
# conflict_field R EXPR — EXPR over X's open conflict in R (c), e.g. c['id']
conflict_field() {
	conflicts_json "$1" | json_get "[c for c in d['conflicts'] if c['e164'] == '$X' and c['open']][0]$2"
}
open_conflicts() {  # open_conflicts R — how many conflicts of X are open in R
	conflicts_json "$1" | json_get "len([c for c in d['conflicts'] if c['e164'] == '$X' and c['open']])"
}
alarm_lines() {  # alarm_lines EVENT R — CONFLICT alarm lines of R
	grep "enumdr-alarm v1 id=CONFLICT event=$1 .*room=$2 " "$log"
}
have_alarm() { [ -n "$(alarm_lines "$1" "$2")" ]; }

# Room A provisions more during the cut than its journal keeps
# (replication.journal_keep), so that room B meets a gap when the link
# heals and heals it from A's snapshot, merged number by number (S1.2;
# doc/replication.md "Gaps").
KEEP=100
NA_COUNT=150

# --- 1. both rooms up, in step --------------------------------------------------
for r in A B; do
	room_files $r
	cat >>"$T/$r/enumdr.yaml" <<EOF_REPL
replication:
  mode: async
  poll_wait_ms: 2000
  journal_keep: $KEEP
EOF_REPL
	R $r init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
	ok $? "room $r: database with zones 6.4.e164.arpa and 1.e164.arpa"
done
start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open"
start_room B
role_backup() { heartbeat B | grep -q '"role":"BACKUP"'; }
wait_for 20 role_backup; ok $? "room B is BACKUP"
X=+46720000001
code=$(provision "$X" "sip:$X@ims.orig.example")
is "$code" 201 "number $X provisioned through the VIP"
wait_until 20 in_step B A
ok $? "room B follows room A's journal and is in step" ||
	diag "room B's status: $(B agent status --json 2>&1 | head -c 800)"
in_db B "$X"; ok $? "room B's database holds $X (replicated)"
stamp "both rooms up and in step"

# --- 2. the cut -------------------------------------------------------------------
cut() {  # cut on|off
	inC bridge link set dev toA isolated "$1" &&
	inC bridge link set dev toB isolated "$1"
}
cut on; ok $? "the rooms' link is cut (bridge ports isolated)"
stamp "link cut"
[ -n "$(heartbeat A)" ] && [ -n "$(heartbeat B)" ]
ok $? "the client still reaches both rooms (their heartbeats answer)"
ip netns exec "$NA" curl -s -m 1 -o /dev/null http://192.0.2.2:8054/v1/heartbeat
ok $((! $?)) "room A no longer reaches room B's peer API"
wait_for 30 vip_on B; ok $? "room B becomes MASTER too (VIP on B)"
wait_for 40 listener_open B; ok $? "room B's listener is open"
vip_on A && listener_open A; ok $? "room A is still MASTER with its listener open"
stamp "both rooms MASTER"

provision_into A +467211 $NA_COUNT
is "$(wc -l <"$T/acked.A" | tr -d ' ')" $NA_COUNT "$NA_COUNT numbers acknowledged by room A (through 192.0.2.1)"
provision_into B +467212 20
is "$(wc -l <"$T/acked.B" | tr -d ' ')" 20 "20 numbers acknowledged by room B (through 192.0.2.2)"
code=$(replace_at A "$X" "sip:$X@ims.a.example")
is "$code" 200 "$X replaced in room A (ims.a.example)" || diag "$(cat "$T/put.out")"
sleep 1
code=$(replace_at B "$X" "sip:$X@ims.b.example")
is "$code" 200 "$X replaced in room B 1 s later (ims.b.example): the newer version" ||
	diag "$(cat "$T/put.out")"
in_db A +467212000000; ok $((! $?)) "room A does not have room B's numbers while cut"
b_cursor=$(repl_peer B A cursor)
a_first() { sqlite3 -readonly -batch "$T/A/lib/enumdr.db" "SELECT min(seq) FROM journal"; }
trimmed() { [ "$(a_first)" -gt $(( ${b_cursor:-0} + 1 )) ] 2>/dev/null; }
wait_until 20 trimmed
ok $? "room A's journal trimmed past room B's cursor (first row $(a_first), B's cursor $b_cursor, journal_keep $KEEP)"

# --- 3. heal ------------------------------------------------------------------------
cut off; ok $? "the rooms' link is healed"
t_heal=$(now_ms)
stamp "link healed"
one_vip() { { vip_on A && ! vip_on B; } || { vip_on B && ! vip_on A; }; }
wait_for 30 one_vip; ok $? "one room holds the VIP"
vip_on A && H=A || H=B
O=$([ $H = A ] && echo B || echo A)
is "$H" A "room A (priority 150) kept the VIP"
wait_for 30 listener_open "$H"; ok $? "room $H's listener is open"
wait_for 30 role_backup; ok $? "room B stood down (BACKUP)"
stamp "room $H holds the VIP"

cat "$T/acked.A" "$T/acked.B" >"$T/acked.all"
merged() { in_step A B && in_step B A && rows_equal; }
wait_until 40 merged
ok $? "both rooms follow each other, in step, databases identical (number, number_version)" || {
	show_rows_diff
	diag "A: $(A agent status --json 2>&1 | json_get "d['replication']" 2>&1 | head -c 600)"
	diag "B: $(B agent status --json 2>&1 | json_get "d['replication']" 2>&1 | head -c 600)"
}
diag "merged $(( $(now_ms) - t_heal )) ms after the heal"
like "$(cat "$T/B/enumdrd.out")" "replication from A: merged its snapshot" \
    "room B healed the gap in A's journal from A's snapshot (merged, not imported)"
gap_line() { grep "enumdr-alarm v1 id=REPLICATION_GAP event=$1 .*room=B " "$log"; }
[ -n "$(gap_line raise)" ]; ok $? "room B: REPLICATION_GAP raised (critical) when it met the gap" ||
	grep 'replication from A' "$T/B/enumdrd.out" | head -5 | sed 's/^/#   /'
wait_for 20 gap_line clear; ok $? "room B: REPLICATION_GAP cleared once it follows A again"
no_missing() { [ "$(naptr_missing "$NC" "$VIP" "$T/acked.all" "$T/missing")" = 0 ]; }
wait_until 20 no_missing
is "$(wc -l <"$T/missing" | tr -d ' ')" 0 "all $(wc -l <"$T/acked.all" | tr -d ' ') numbers provisioned during the partition answered by kdig @VIP" ||
	sed 's/^/#   missing: /' "$T/missing" | head -10
wait_until 10 answers "$X" "ims.b.example"
ok $? "kdig @VIP answers $X with the winner, room B's version (newer HLC)" ||
	diag "answer: $(dig_vip "$X")"
answers "$X" "ims.a.example"; ok $((! $?)) "kdig @VIP does not answer $X with room A's version"

for r in A B; do
	has_open() { [ "$(open_conflicts "$1")" = 1 ]; }
	wait_until 20 has_open $r
	ok $? "room $r: enumdr conflicts list --json shows $X's conflict open" || {
		diag "$(conflicts_json $r | head -c 800)"; diag_file "$T/conflicts.err"; }
	is "$(conflict_field $r "['served']['room']")" B "room $r: the served version is room B's"
	like "$(conflict_field $r "['served']['records']")" "ims\.b\.example" \
	    "room $r: the served version's records are B's (ims.b.example)"
	is "$(conflict_field $r "['other']['room']")" A "room $r: the other version is room A's"
	like "$(conflict_field $r "['other']['records']")" "ims\.a\.example" \
	    "room $r: the other version's records are A's (ims.a.example)"
	hs=$(conflict_field $r "['served']['hlc']") ho=$(conflict_field $r "['other']['hlc']")
	[ -n "$hs" ] && [ -n "$ho" ] && [ "$hs" -gt "$ho" ]
	ok $? "room $r: served hlc $hs > other hlc $ho"
	wait_for 20 have_alarm raise $r
	like "$(alarm_lines raise $r)" "severity=critical" "room $r: CONFLICT alarm raised, critical"
done

# --- 4. the operator decides -------------------------------------------------------
id=$(conflict_field "$H" "['id']")
R "$H" conflicts keep "$id" other >"$T/keep.out" 2>&1
ok $? "enumdr conflicts keep $id other (in room $H, the VIP room)" || diag_file "$T/keep.out"
wait_until 20 answers "$X" "ims.a.example"
ok $? "kdig @VIP answers $X with the decided version (room A's, ims.a.example)" ||
	diag "answer: $(dig_vip "$X")"
for r in A B; do
	no_open() { [ "$(open_conflicts "$1")" = 0 ]; }
	wait_until 20 no_open $r
	ok $? "room $r: no open conflict of $X any more" || diag "$(conflicts_json $r | head -c 800)"
	wait_for 20 have_alarm clear $r
	ok $? "room $r: CONFLICT alarm cleared (clear line)"
done
wait_until 20 rows_equal
ok $? "both databases identical after the decision (number, number_version)" || show_rows_diff
like "$(sqlite3 -readonly "$T/$O/lib/enumdr.db" "SELECT naptr FROM number WHERE e164 = '$X'")" \
    "ims\.a\.example" "room $O's database holds the decided version of $X"

grep 'enumdr-alarm v1' "$log" | sed 's/^/# alarm: /' | head -40
if [ "$tap_failed" -ne 0 ]; then
	grep -v ' knot\[' "$log" >"$T/messages.enumdr"
	diag_file "$T/messages.enumdr" 60
	diag_file "$T/A/enumdrd.out" 30
	diag_file "$T/B/enumdrd.out" 30
fi
done_testing
