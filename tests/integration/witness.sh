#!/bin/sh
# witness.sh — a witness against two writers (issue 15, doc/witness.md).
# Two rooms (rooms.sh: A 192.0.2.1 priority 150, B 192.0.2.2 100, VIP
# 192.0.2.53) with quorum.mode majority and a witness, enumdr-witness on
# 192.0.2.99:8055 (a third site: on the client's bridge, its own address).
# Real keepalived, enumdrd, Knot DNS and rsyslogd in network namespaces.
#
# 1. Both rooms up, A active; the witness has heard from both.
# 2. The cut: the rooms' link cut (bridge ports isolated: VRRP adverts, the
#    heartbeats and the journal no longer pass) and room B cut from the
#    witness too (a blackhole route in B); the client still reaches both
#    rooms.  VRRP has no quorum: B becomes MASTER.  B reaches 1 of 3 votes:
#    its takeover may not open the listener, ISOLATED (critical) says why;
#    A reaches 2 of 3 (itself and the witness) and keeps accepting.  So only
#    one room accepts changes: 10 numbers posted to A are acknowledged,
#    every post to B is refused (503).
# 3. The cut healed: ISOLATED cleared, A keeps the VIP, B is BACKUP and holds
#    A's numbers; kdig @VIP answers all of them.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_WITNESS_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip bridge curl sqlite3 python3 timeout xargs
need_built "$top_builddir/src/enumdr-witness"

make_tmpdir T enumdr-witness
syslog_receiver "$T"
log="$T/messages"
t_start=$(now_ms)
stamp() { diag "$(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network
W=192.0.2.99
ip -n "$NC" addr add "$W/24" dev br0 || { echo "Bail out! witness address"; exit 1; }
ip netns exec "$NC" "$top_builddir/src/enumdr-witness" --listen "$W:8055" --name W \
    >"$T/witness.out" 2>&1 &
WPID=$!
on_exit "kill_pid $WPID"
wait_for 10 inC curl -sf -m 1 "http://$W:8055/v1/witness?room=test" >/dev/null
ok $? "enumdr-witness answers on $W:8055"
like "$(inC curl -s -m 1 "http://$W:8055/v1/witness?room=test")" '"witness":"W"' "... with its name"

post_at() {  # post_at R NUMBER — POST through R's own address; prints the status
	inC curl -s -m 5 -o "$T/post.out" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' "http://$(addr_of "$1"):8053/v1/numbers" \
	    -d "{\"e164\":\"$2\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$2@ims.$1.example!\",\"replacement\":\".\"}]}"
}
iso_line() { grep "enumdr-alarm v1 id=ISOLATED event=$1 .*room=$2 " "$log"; }
in_db() { [ -n "$(sqlite3 -readonly -batch "$T/$1/lib/enumdr.db" "SELECT 1 FROM number WHERE e164 = '$2'")" ]; }

for r in A B; do
	room_files $r
	cat >>"$T/$r/enumdr.yaml" <<EOF_Q
replication:
  mode: async
  poll_wait_ms: 2000
quorum:
  mode: majority
  witness_url: http://$W:8055/v1/witness
  stand_down_ms: 2000
EOF_Q
	R $r init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
	ok $? "room $r: database, quorum.mode majority with the witness"
done

# --- 1. up ------------------------------------------------------------------------
start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open (it reaches itself and the witness: 2 of 3)"
start_room B
wait_for 20 role_is B BACKUP; ok $? "room B is BACKUP"
wait_for 10 grep -q "room B asks" "$T/witness.out"; ok $? "the witness has heard from room B"
stamp "both rooms up"

# --- 2. the cut -------------------------------------------------------------------------
inC bridge link set dev toA isolated on && inC bridge link set dev toB isolated on &&
    ip -n "$NB" route add blackhole "$W/32"
ok $? "cut: the rooms' link (isolated bridge ports), and room B from the witness (blackhole route)"
stamp "cut"
wait_for 30 vip_on B; ok $? "room B becomes MASTER too (VRRP has no quorum)"
wait_for 30 iso_line raise B; ok $? "room B raises ISOLATED"
like "$(iso_line raise B | tail -1)" "severity=critical .*reaches only 1 of 3 votes \\(missing: room A, the witness" \
    "... critical, saying it reaches 1 of 3 votes, missing room A and the witness"
sleep 2
listener_open B; ok $((! $?)) "room B's listener stays closed"
listener_open A && vip_on A; ok $? "room A still MASTER with its listener open"
iso_line raise A >/dev/null; ok $((! $?)) "room A raises no ISOLATED (2 of 3 votes)"
acc_a=0 acc_b=0
for i in 0 1 2 3 4 5 6 7 8 9; do
	[ "$(post_at A +4677100000$i)" = 201 ] && acc_a=$((acc_a + 1))
	[ "$(post_at B +4677200000$i)" = 201 ] && acc_b=$((acc_b + 1))
done
is "$acc_a" 10 "room A acknowledged 10 of 10 numbers during the cut"
is "$acc_b" 0 "room B acknowledged none of 10 (only one room accepts changes)"
like "$(cat "$T/post.out")" "closed|not the active|503|listener" "room B's refusal says its listener is closed"

# --- 3. healed ----------------------------------------------------------------------------
inC bridge link set dev toA isolated off && inC bridge link set dev toB isolated off &&
    ip -n "$NB" route del blackhole "$W/32"
ok $? "the cut healed"
stamp "healed"
wait_for 30 iso_line clear B; ok $? "room B clears ISOLATED"
one_vip() { vip_on A && ! vip_on B; }
wait_for 30 one_vip; ok $? "room A alone holds the VIP"
wait_for 30 role_is B BACKUP; ok $? "room B is BACKUP again"
b_has() { in_db B +46771000009; }
wait_for 20 b_has; ok $? "room B holds room A's numbers"
for i in 0 1 2 3 4 5 6 7 8 9; do echo "x +4677100000$i"; done >"$T/acked"
is "$(naptr_missing "$NC" "$VIP" "$T/acked" "$T/missing")" 0 "kdig @VIP answers all 10 numbers room A acknowledged"
grep 'enumdr-alarm v1 id=ISOLATED' "$log" | sed 's/^/# alarm: /'

if [ "$tap_failed" -ne 0 ]; then
	grep -v ' knot\[' "$log" >"$T/messages.enumdr"
	diag_file "$T/messages.enumdr" 60
	diag_file "$T/A/enumdrd.out" 20
	diag_file "$T/B/enumdrd.out" 30
fi
done_testing
