#!/bin/sh
# dns.sh — the DNS side of issue 16 (doc/dns.md), as an operator sees it:
# real keepalived, enumdrd and Knot in the rooms' namespaces (conf/A,
# conf/B, conf/knot.conf), and a secondary Knot (conf/knot-secondary.conf)
# in a namespace of its own at 192.0.2.60.
#
# 1. conf/knot.conf names no ENUM zone: each room's agent puts the
#    database's zones into the catalog zone that its Knot interprets.
# 2. Every number provisioned through the VIP is answered at the VIP and by
#    the standby's Knot (hot standby, the same incremental path), and the
#    active room loads no zone whole for it (DNS UPDATE, not a reload).
# 3. `enumdr zone add` on the active room: the VIP answers the new zone's
#    SOA, and so do the standby and the secondary, knot.conf untouched.
# 4. The active room's Knot is killed and restarted: the agent sees its
#    old serials and loads it whole again; every number is answered.
# 5. The secondary follows the catalog (NOTIFY, IXFR): it answers a newly
#    provisioned number, and its copy of each zone passes a ZONEMD check
#    (Knot's own zonemd-verify, and ldns-verify-zone -Z on an AXFR).
# 6. Room A dies; room B takes over and serves every zone and number.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_DNS_NS "$0" "$@"
need_cmd keepalived knotd kdig keymgr ip curl ldns-verify-zone sqlite3

make_tmpdir T enumdr-dns
syslog_receiver "$T"
log="$T/messages"

. "$top_srcdir/tests/integration/rooms.sh"
ROOMS_SECONDARY=1
rooms_bin
rooms_network
# the secondary's namespace on the bridge
NS2=enumdrS$$
netns_create "$NS2"
ip link add eth0 netns "$NS2" type veth peer name toS netns "$NC" &&
ip -n "$NC" link set toS master br0 up &&
ip -n "$NS2" addr add 192.0.2.60/24 dev eth0 &&
ip -n "$NS2" link set eth0 up || { echo "Bail out! veth for the secondary"; exit 1; }

room_files A
room_files B
R A init --zone 6.4.e164.arpa:2026120200 >/dev/null
ok $? "room A: database with zone 6.4.e164.arpa"
knot_sum=$(cksum <"$T/A/knot.conf")
grep -v '^ *#' "$top_srcdir/conf/knot.conf" | grep -q 'e164'
ok $((! $?)) "conf/knot.conf names no ENUM zone (S: zones Knot learns by itself)"

start_room A
wait_for 30 vip_on A; ok $? "room A holds the VIP"
wait_for 30 listener_open A; ok $? "room A's listener is open"
start_room B
wait_for 20 role_is B BACKUP; ok $? "room B is the standby"
wait_for 20 in_step B A; ok $? "room B follows room A's journal"

# the secondary Knot
mkdir -p "$T/S/run" "$T/S/db"
sed -e "s#/run/knot#$T/S/run#g" -e "s#/var/lib/knot#$T/S/db#g" \
    "$top_srcdir/conf/knot-secondary.conf" >"$T/S/knot.conf"
ip netns exec "$NS2" knotd -c "$T/S/knot.conf" >>"$T/S/knotd.out" 2>&1 &
KNOT_S=$!
on_exit "kill -KILL $KNOT_S 2>/dev/null"

soa_at() {  # soa_at NS SERVER ZONE — the served SOA serial
	ip netns exec "$1" kdig +short +time=1 +retry=0 @"$2" SOA "$3" 2>/dev/null |
	    awk '{ print $3 }'
}
db_serial() {  # db_serial R ZONE
	sqlite3 "$T/$1/lib/enumdr.db" "SELECT serial FROM zone WHERE origin = '$2'"
}
served_at() {  # served_at NS SERVER NUMBER TEXT
	ip netns exec "$1" kdig +short +time=1 +retry=0 @"$2" NAPTR \
	    "$(domain_of "$3")" 2>/dev/null | grep -q "$4"
}
whole_loads() { grep -c 'loaded whole' "$T/A/enumdrd.out"; }
unanswered_at_vip() {  # how many of the 40 numbers the VIP does not answer
	_n=0 _u=0
	while [ $_n -lt 40 ]; do
		_n=$((_n + 1))
		_num=$(printf '+4670000%04d' $_n)
		answers "$_num" "sip:$_num@" || _u=$((_u + 1))
	done
	echo $_u
}

# --- 2. provisioning reaches Knot incrementally ----------------------------
loads0=$(whole_loads)
n=0 bad=0 unanswered=0 standby=0
while [ $n -lt 40 ]; do
	n=$((n + 1))
	num=$(printf '+4670000%04d' $n)
	code=$(provision "$num" "sip:$num@ims.a.example")
	[ "$code" = 201 ] || { bad=$((bad + 1)); diag "provision $num: HTTP $code"; }
done
is $bad 0 "40 numbers provisioned through the VIP (201 each)"
n=0
while [ $n -lt 40 ]; do
	n=$((n + 1))
	num=$(printf '+4670000%04d' $n)
	wait_for 5 answers "$num" "sip:$num@" || unanswered=$((unanswered + 1))
	wait_for 5 served_at "$NB" 127.0.0.1 "$num" "sip:$num@" || standby=$((standby + 1))
done
is $unanswered 0 "every acknowledged number is answered at the VIP"
is $standby 0 "every acknowledged number is answered by the standby's Knot (hot standby)"
is "$(soa_at "$NC" "$VIP" 6.4.e164.arpa)" "$(db_serial A 6.4.e164.arpa)" \
	"the VIP's SOA serial is room A's database serial"
is "$(whole_loads)" "$loads0" "room A loaded no zone whole for them (DNS UPDATE)"
like "$(grep -c 'DDNS, finished' "$T/A/knotd.out")" '^[1-9]' "room A's Knot logged DNS UPDATEs"

# --- 3. a zone added through the agent -------------------------------------
R A zone add 7.4.e164.arpa --serial 7000 >/dev/null
ok $? "enumdr zone add 7.4.e164.arpa on room A"
vip_soa7() { [ "$(soa_at "$NC" "$VIP" 7.4.e164.arpa)" = 7000 ]; }
wait_for 10 vip_soa7; ok $? "the VIP answers the new zone's SOA (serial 7000)"
b_soa7() { [ -n "$(soa_at "$NB" 127.0.0.1 7.4.e164.arpa)" ]; }
wait_for 25 b_soa7; ok $? "room B's Knot serves the new zone too"
is "$(cksum <"$T/A/knot.conf")" "$knot_sum" "knot.conf was not touched"
code=$(provision +4720000001 sip:+4720000001@ims.a.example)
is "$code" 201 "a number in the new zone is provisioned"
wait_for 10 answers +4720000001 "sip:+4720000001@"; ok $? "... and answered at the VIP"

# --- 4. the active room's Knot restarts -------------------------------------
kill -KILL "$KNOT_A"
wait "$KNOT_A" 2>/dev/null   # reaped: Knot refuses to start beside its old pid
ip netns exec "$NA" knotd -c "$T/A/knot.conf" >>"$T/A/knotd.out" 2>&1 &
KNOT_A=$!
on_exit "kill -KILL $KNOT_A 2>/dev/null"
a_back() {
	[ "$(soa_at "$NA" 127.0.0.1 6.4.e164.arpa)" = "$(db_serial A 6.4.e164.arpa)" ] &&
	    [ "$(soa_at "$NA" 127.0.0.1 7.4.e164.arpa)" = "$(db_serial A 7.4.e164.arpa)" ]
}
wait_for 20 a_back
ok $? "room A's restarted Knot serves both zones at the database's serials again"
like "$(grep 'loading again\|loaded whole' "$T/A/enumdrd.out" | tail -3)" 'loaded whole' \
	"room A's agent noticed and loaded the zones whole"
is "$(unanswered_at_vip)" 0 "every number is answered at the VIP after the restart"

# --- 5. the secondary follows the catalog -----------------------------------
code=$(provision +4670009999 sip:+4670009999@ims.a.example)
is "$code" 201 "one more number provisioned"
sec_has() { served_at "$NS2" 192.0.2.60 +4670009999 "sip:+4670009999@"; }
wait_for 20 sec_has; ok $? "the secondary answers the newly provisioned number"
sec_soa() { [ "$(soa_at "$NS2" 192.0.2.60 "$1")" = "$(db_serial A "$1")" ]; }
wait_for 10 sec_soa 6.4.e164.arpa; ok $? "the secondary serves 6.4.e164.arpa at room A's serial"
wait_for 10 sec_soa 7.4.e164.arpa; ok $? "the secondary serves 7.4.e164.arpa (learned from the catalog)"
grep -q 'ZONEMD, verification failed\|ZONEMD.*fail' "$T/S/knotd.out"
ok $((! $?)) "the secondary's zonemd-verify never failed"
for z in 6.4.e164.arpa 7.4.e164.arpa; do
	ip netns exec "$NS2" kdig +nocomments +nostats +time=2 @127.0.0.1 AXFR "$z" \
	    >"$T/S/$z.axfr" 2>&1
	ldns-verify-zone -Z "$T/S/$z.axfr" >"$T/S/$z.verify" 2>&1
	ok $? "ZONEMD of $z as the secondary holds it verifies (ldns-verify-zone -Z: an unsigned zone's ZONEMD)" ||
		diag_file "$T/S/$z.verify"
done

# --- 6. room A dies; B serves every zone ------------------------------------
kill_room A
wait_for 30 vip_on B; ok $? "room B holds the VIP"
wait_for 40 listener_open B; ok $? "room B's listener is open (takeover done)"
for z in 6.4.e164.arpa 7.4.e164.arpa; do
	is "$(soa_at "$NC" "$VIP" "$z")" "$(db_serial B "$z")" "the VIP (room B) serves $z at B's serial"
done
is "$(unanswered_at_vip)" 0 "every number acknowledged by room A is answered at the VIP (room B)"
grep -q 'id=LOAD_STEP event=raise' "$log"
ok $((! $?)) "no LOAD_STEP alarm"
for r in A B; do
	raised=$(grep -c "id=DNS_UPDATE event=raise .*room=$r " "$log")
	cleared=$(grep -c "id=DNS_UPDATE event=clear .*room=$r " "$log")
	is "$cleared" "$raised" "room $r: every DNS_UPDATE alarm raised ($raised: Knot's restart) was cleared"
done
[ "$tap_failed" -eq 0 ] || { diag_file "$T/A/enumdrd.out" 40; diag_file "$T/B/enumdrd.out" 40; diag_file "$T/S/knotd.out" 30; }
done_testing
