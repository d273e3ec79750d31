#!/bin/sh
# two-rooms.sh — the whole service in two rooms, as an operator would see it
# (issue 4): real keepalived, enumdrd, Knot DNS and rsyslogd in network
# namespaces that this test creates, configured from conf/A and conf/B.
#
#   client namespace C: bridge br0 (192.0.2.100) joining the rooms' eth0
#   room A: 192.0.2.1, priority 150      room B: 192.0.2.2, priority 100
#   VIP 192.0.2.53: DNS (Knot, 53) and provisioning (enumdrd, 8053)
#
# 1. A takes the VIP, loads Knot and opens its listener (S0.6); numbers
#    provisioned through the VIP are answered by kdig @VIP.
# 2. A's periodic snapshot reaches B (S0.1).  Room A dies: SIGKILL of its
#    keepalived, agent and Knot, its link down (a killed keepalived leaves
#    its VIP behind; a dead room takes it off the network).  B takes the VIP,
#    syncs from A's last snapshot (S0.2; JOURNAL_POSITION alarm: A cannot be
#    asked, S0.7), loads, opens, serves every number A acknowledged before
#    that snapshot, and accepts provisioning.  The times from the kill to
#    (a) VIP on B, (b) B's listener open, (c) kdig @VIP answering the newest
#    number are printed as "# takeover:" lines.
# 3. A comes back: failback (S0.7, S4.3) — B stands down and pushes its
#    snapshot, A imports B's changes, loads and opens; kdig @VIP shows them.
# 4. B's Knot is down and A dies again: B's foreground load (dns-sync) fails, the alarm
#    line LOAD_STEP names the step, the listener stays closed (S0.6).
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_TWO_ROOMS_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip curl

make_tmpdir T enumdr-2rooms
syslog_receiver "$T"
log="$T/messages"
t_start=$(now_ms)
stamp() { echo "# $(( ($(now_ms) - t_start) / 1000 )).$(( ($(now_ms) - t_start) % 1000 / 100 ))s $*"; }

. "$top_srcdir/tests/integration/rooms.sh"
rooms_bin
rooms_network

room_files A
room_files B
A() { "$bin/enumdr" -c "$T/A/enumdr.yaml" "$@"; }
B() { "$bin/enumdr" -c "$T/B/enumdr.yaml" "$@"; }
A init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
ok $? "room A: database with zones 6.4.e164.arpa and 1.e164.arpa"
ip netns exec "$NA" keepalived -t -f "$T/A/keepalived.conf" >"$T/kt.out" 2>&1
ok $? "keepalived -t accepts room A's keepalived.conf" || diag_file "$T/kt.out"
ip netns exec "$NB" keepalived -t -f "$T/B/keepalived.conf" >"$T/kt.out" 2>&1
ok $? "keepalived -t accepts room B's keepalived.conf" || diag_file "$T/kt.out"

# --- 1. room A starts and takes the VIP (S0.6) ---------------------------------
start_room A
stamp "room A started"
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's provisioning listener is open (takeover done)"
stamp "room A active"
like "$(heartbeat A)" '"role":"MASTER"' "room A's agent reports role MASTER"
start_room B
stamp "room B started"
role_backup() { heartbeat B | grep -q '"role":"BACKUP"'; }
wait_for 20 role_backup
ok $? "room B's notify program ran the BACKUP sequence (role BACKUP)"
vip_on B; ok $((! $?)) "room B does not hold the VIP"
listener_open B; ok $((! $?)) "room B's listener is closed (S0.5)"

n=0 all_ok=0
while [ $n -lt 20 ]; do
	n=$((n + 1))
	num=$(printf '+46812345%02d' $n)
	code=$(provision "$num" "sip:$num@ims.a.example")
	[ "$code" = 201 ] || { all_ok=1; diag "provision $num: HTTP $code $(cat "$T/prov.out")"; }
done
ok $all_ok "20 numbers provisioned through the VIP (201 each)"
newest=+4681234520
wait_for 20 answers "$newest" "sip:$newest@ims.a.example"
ok $? "kdig @VIP answers the newest number (DNS group commit)"
like "$(dig_vip +4681234501)" '100 10 "u" "E2U\+sip" "!\^\.\*\$!sip:\+4681234501@ims.a.example!" \.' \
	"kdig @VIP shows the NAPTR record as provisioned"
ja=$(journal_of A)
is "$ja" 20 "room A's journal position is 20"
incoming_caught_up() { [ "$(incoming_journal B)" = "$ja" ]; }
wait_for 20 incoming_caught_up
ok $? "room A's periodic snapshot (journal $ja) reached room B's incoming directory (S0.1)"
stamp "snapshot of journal $ja in room B"

check_A() { ip netns exec "$NA" "$bin/enumdr-check-service" -c "$T/A/enumdr.yaml" --dns 127.0.0.1:53 --timeout 900; }
check_A 2>"$T/check.err"; ok $? "room A's service checker reports healthy (S4.1)" || diag_file "$T/check.err"
vip_on A; ok $? "room A still holds the VIP before it dies"

# --- 2. room A dies; room B takes over --------------------------------------------
kill_room A
t_kill=$(now_ms)
stamp "room A killed (keepalived, enumdrd, knotd: SIGKILL; link down)"
wait_for 30 vip_on B; ok $? "room B holds the VIP"
t_vip=$(now_ms)
wait_for 40 listener_open B; ok $? "room B's listener is open"
t_open=$(now_ms)
wait_for 20 answers "$newest" "sip:$newest@ims.a.example"
ok $? "kdig @VIP (room B) answers the newest number acknowledged by A"
t_dig=$(now_ms)
diag "takeover: VIP on B $((t_vip - t_kill)) ms after the kill"
diag "takeover: B's listener open $((t_open - t_kill)) ms after the kill"
diag "takeover: kdig @VIP answers the newest number $((t_dig - t_kill)) ms after the kill"
missing=0
n=0
while [ $n -lt 20 ]; do
	n=$((n + 1))
	num=$(printf '+46812345%02d' $n)
	B provision show "$num" >/dev/null 2>&1 || missing=$((missing + 1))
done
is $missing 0 "room B's database holds all 20 numbers acknowledged by A"
like "$(grep 'enumdr-alarm v1 id=JOURNAL_POSITION event=raise' "$log")" "room=B" \
	"alarm line: B could not ask A's journal position and continued (S0.7)"
code=$(provision +4687000001 sip:+4687000001@ims.b.example)
is "$code" 201 "room B accepts provisioning through the VIP"
wait_for 20 answers +4687000001 "ims.b.example"
ok $? "kdig @VIP answers room B's new number"
stamp "room B active"

# --- 3. room A comes back: failback (S0.7, S4.3) ---------------------------------------
t_back=$(now_ms)
revive_room A
stamp "room A restarted"
wait_for 60 vip_on A; ok $? "room A holds the VIP again"
wait_for 60 listener_open A; ok $? "room A's listener is open again"
t_reopen=$(now_ms)
listener_open B; ok $((! $?)) "room B's listener is closed (it stood down)"
A provision show +4687000001 >/dev/null 2>&1
ok $? "room A's database has room B's change (replicated, S1.3)"
wait_for 20 answers +4687000001 "ims.b.example"
ok $? "kdig @VIP (room A) answers room B's change"
like "$(grep 'enumdr-notify' "$log" | grep 'caught up with peer B')" \
	"caught up with peer B's journal at [0-9]+ in [0-9]+ ms: nothing to import" \
	"room A's takeover log: caught up with B's journal (issue 14), nothing imported"
diag "failback: room A open again $((t_reopen - t_back)) ms after its restart"
code=$(provision +4687000002 sip:+4687000002@ims.a.example)
is "$code" 201 "room A accepts provisioning after failback"

# --- 4. a failing background load (S0.6) ---------------------------------------------------
kill -KILL "$KNOT_B"
kill_room A
stamp "room B's Knot killed, then room A killed again"
wait_for 30 vip_on B; ok $? "room B holds the VIP"
load_alarm() { grep -q 'enumdr-alarm v1 id=LOAD_STEP event=raise severity=critical room=B .*step=foreground' "$log"; }
wait_for 40 load_alarm
ok $? "alarm line LOAD_STEP (critical) names room B and the foreground step (the agent cannot feed Knot)"
like "$(heartbeat B)" '"role":"MASTER-FAILED"' "room B's role is MASTER-FAILED (its checker reports unhealthy)"
listener_open B; ok $((! $?)) "room B's listener stays closed"
code=$(provision +4687000003 sip:+4687000003@ims.b.example)
is "$code" 503 "provisioning through the VIP is refused (503)"
stamp "done"
grep 'enumdr-alarm v1' "$log" | sed 's/^/# alarm: /'
[ "$tap_failed" -eq 0 ] || { diag_file "$log" 80; diag_file "$T/B/enumdrd.out"; }
done_testing
