#!/bin/sh
# three-rooms.sh — three rooms (issue 15; S2.1-S2.4): conf/three-rooms,
# room A 192.0.2.1 priority 150, B 192.0.2.2 100, C 192.0.2.3 50, each
# keepalived with the two others as unicast peers, each agent following
# both other rooms' journals.  Real keepalived, enumdrd, Knot DNS and
# rsyslogd in network namespaces (rooms.sh).
#
# 1. A holds the VIP; B and C follow A's journal.
# 2. Under a continuous provisioning load through the VIP, A is SIGKILLed
#    at a random moment (seeded; ENUMDR_SEED replays it).  keepalived
#    elects B (the higher priority of the two left, S2.3, S2.4); B's
#    takeover catches up with C's journal too, so every number C holds is
#    answered at the VIP (the newest data of every reachable room); the
#    missing count over all acknowledged numbers is printed.  C follows B.
# 3. Load through B; A comes back: it catches up before it can take the VIP
#    back (its checker keeps it away while it is behind), then A holds the
#    VIP: 0 acknowledged numbers missing at kdig @VIP, the three databases
#    identical row by row.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_THREE_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip curl sqlite3 python3 timeout xargs

make_tmpdir T enumdr-three
syslog_receiver "$T"
log="$T/messages"
seed=${ENUMDR_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
diag "seed $seed (ENUMDR_SEED=$seed replays it)"
t_start=$(now_ms)
stamp() { diag "$(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

ROOMS="A B C"
ROOMS_CONF=conf/three-rooms
. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network

db_of() { echo "$T/$1/lib/enumdr.db"; }
in_db_file() {  # in_db_file R FILE OUT — the numbers of FILE that R's database holds
	awk '{ print $2 }' "$2" | LC_ALL=C sort -u >"$T/want"
	sqlite3 -readonly -batch "$(db_of "$1")" 'SELECT e164 FROM number' |
	    LC_ALL=C sort -u | LC_ALL=C comm -12 - "$T/want" >"$3"
}

for r in A B C; do
	room_files $r
	cat >>"$T/$r/enumdr.yaml" <<EOF_REPL
replication:
  mode: async
  poll_wait_ms: 2000
EOF_REPL
	R $r init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
	ok $? "room $r: database with its zones"
	ip netns exec "$(room_ns $r)" keepalived -t -f "$T/$r/keepalived.conf" >"$T/kt.out" 2>&1
	ok $? "keepalived -t accepts room $r's keepalived.conf (conf/three-rooms)" || diag_file "$T/kt.out"
done

# --- 1. three rooms up ----------------------------------------------------------
start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open"
start_room B
start_room C
wait_for 20 role_is B BACKUP && wait_for 20 role_is C BACKUP
ok $? "rooms B and C are BACKUP"
wait_until 30 in_step B A && wait_until 30 in_step C A
ok $? "rooms B and C follow room A's journal, in step"
following B C && following C B; ok $? "B and C follow each other's journals too"
stamp "three rooms up"

# --- 2. A killed under load ---------------------------------------------------------
d1=$(( 1000 + seed % 2000 ))
load_start +4675 6
ms=$d1; sleep "$(( ms / 1000 )).$(( ms % 1000 / 100 ))"
kill_room A
t_kill=$(now_ms)
stamp "room A killed $d1 ms into the load"
wait_for 30 vip_on B; ok $? "keepalived elects room B (priority 100 > 50)"
vip_on C; ok $((! $?)) "room C does not take the VIP"
wait_for 40 listener_open B; ok $? "room B's listener is open"
t_open=$(now_ms)
diag "room B open $((t_open - t_kill)) ms after the kill"
load_stop +4675
n1=$(wc -l <"$T/acked.+4675" | tr -d ' ')
# what room A acknowledged before it died (the load went on through B
# once B opened: those are B's own, the DNS job's to publish)
awk -v k="$t_kill" '$1 < k' "$T/acked.+4675" >"$T/acked.byA"
n1a=$(wc -l <"$T/acked.byA" | tr -d ' ')
in_db_file C "$T/acked.byA" "$T/held.C"
held_c=$(wc -l <"$T/held.C" | tr -d ' ')
sed 's/^/x /' "$T/held.C" >"$T/held.C.log"
miss_c=$(naptr_missing "$NC" "$VIP" "$T/held.C.log" "$T/missing.c")
is "$miss_c" 0 "every one of the $held_c numbers acknowledged by A that room C holds is answered at the VIP (B took the newest data)" ||
	sed 's/^/#   missing: /' "$T/missing.c" | head -5
miss_t=$(naptr_missing "$NC" "$VIP" "$T/acked.byA" "$T/missing.t")
diag "acknowledged by A: $n1a (by A and then B: $n1); missing at the VIP after the takeover: $miss_t of A's (neither B nor C had them: A died first)"
[ "$miss_t" -le 50 ]; ok $? "at most the last replication round-trip's changes are missing ($miss_t)"
wait_until 20 following C B; ok $? "room C follows room B, the new active room"

# --- 3. load through B; A comes back --------------------------------------------------
load_start +4676 6
sleep 1
revive_room A
t_back=$(now_ms)
stamp "room A restarted"
a_back() { vip_on A && listener_open A; }
wait_for 60 a_back; ok $? "room A holds the VIP again, listener open (failback)"
diag "failback: room A open $(( $(now_ms) - t_back )) ms after its restart"
grep -q "caught up with peer B's journal" "$log"
ok $? "room A's takeover caught up with room B's journal first"
sleep 1
load_stop +4676
cat "$T/acked.+4675" "$T/acked.+4676" >"$T/acked.all"
wait_until 30 rows_equal
ok $? "the three databases identical (number, number_version)" || {
	diag "rows: A $(wc -l <"$T/rows.A") B $(wc -l <"$T/rows.B") C $(wc -l <"$T/rows.C")"
	diff "$T/rows.A" "$T/rows.B" | head -5 | sed 's/^/#   A-B /'
	diff "$T/rows.A" "$T/rows.C" | head -5 | sed 's/^/#   A-C /'
}
no_missing() { [ "$(naptr_missing "$NC" "$VIP" "$T/acked.all" "$T/missing.f")" = 0 ]; }
wait_until 20 no_missing
is "$(wc -l <"$T/missing.f" | tr -d ' ')" 0 "0 of $(wc -l <"$T/acked.all" | tr -d ' ') acknowledged numbers missing at the VIP after the failback" ||
	sed 's/^/#   missing: /' "$T/missing.f" | head -5
vip_on B || vip_on C; ok $((! $?)) "neither B nor C holds the VIP"

if [ "$tap_failed" -ne 0 ]; then
	grep -v ' knot\[' "$log" >"$T/messages.enumdr"
	diag_file "$T/messages.enumdr" 80
	for r in A B C; do diag_file "$T/$r/enumdrd.out" 20; done
fi
done_testing
