#!/bin/sh
# scripts/demo.sh — the README's main command: two rooms of an ENUM-DNS
# service on this machine, each in its own network namespace with real
# keepalived, enumdrd, Knot DNS, and one rsyslogd receiving every room's
# alarm lines.  It shows, step by step with timestamps, which room holds the
# virtual IP, the zone serials, the loading steps of each takeover and the
# alarm lines, while it provisions numbers, kills the main room under a
# continuous provisioning load, lets the standby take over (S0.6), and
# brings the main room back (failback, S0.7), counting the acknowledged
# numbers and those the VIP answers after each move (S0.8).
# Debian 12, as root.  Everything it starts is stopped at the end.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if [ "${ENUMDR_DEMO_NS:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "demo: run me as root" >&2; exit 1; }
	sh scripts/deps.sh || exit 1
	echo "demo: building enumdr in _build (log: /tmp/enumdr-demo-build.log) ..."
	{ { [ -x configure ] || autoreconf -fi; } && mkdir -p _build && cd _build &&
	  { [ -f Makefile ] || ../configure --quiet; } && make -j"$(nproc)"; } \
	    >/tmp/enumdr-demo-build.log 2>&1 ||
		{ tail -30 /tmp/enumdr-demo-build.log; exit 1; }
	cd "$top" || exit 1
fi

top_srcdir=$top
top_builddir=$top/_build
skip_all() { echo "demo: cannot run: $*" >&2; exit 1; }
diag() { echo "  $*"; }
. "$top/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
reexec_private_mount_ns ENUMDR_DEMO_NS "$0" "$@"
need_cmd keepalived knotd knotc kdig ip curl python3 sqlite3 xargs

make_tmpdir T enumdr-demo
syslog_receiver "$T"
log=$T/messages.ts
. "$top/tests/integration/rooms.sh"
rooms_bin
rooms_network

ts() { date -u +%H:%M:%S.%3N; }
say() { printf '\n%s  == %s\n' "$(ts)" "$*"; }
shown=0
events() {  # the syslog lines of interest that arrived since last time
	total=$(wc -l <"$log")
	tail -n "+$((shown + 1))" "$log" | head -n "$((total - shown))" |
	    grep -E 'enumdr-notify|enumdr-alarm|Entering (MASTER|BACKUP|FAULT)' |
	    sed -E 's/^[0-9-]+T([0-9:.]{12})[0-9]*\+00:00 [a-z0-9]+\.[a-z]+ /\1  /;
		s/Keepalived_vrrp_enumdr([AB])[0-9]+\[[0-9]+\]: \(ENUM\)/keepalived room \1:/' |
	    sed 's/^/  /'
	shown=$total
}
room_line() {  # room_line R — what R's agent says of itself
	hb=$(heartbeat "$1" 2>/dev/null)
	if [ -z "$hb" ]; then
		echo "room $1: down"
		return
	fi
	role=$(printf '%s' "$hb" | sed -n 's/.*"role":"\([^"]*\)".*/\1/p')
	lst=$(printf '%s' "$hb" | sed -n 's/.*"listener":"\([^"]*\)".*/\1/p')
	zones=$(printf '%s' "$hb" | grep -o '"origin":"[^"]*","serial":[0-9]*' |
	    sed 's/"origin":"\([^"]*\)","serial":/\1=/' | tr '\n' ' ')
	echo "room $1: $role, listener $lst, journal $(journal_of "$1"), serials ${zones:-none}"
}
state() {
	holder=none
	vip_on A && holder=A
	vip_on B && holder=B
	printf '%s  VIP %s on room %s\n' "$(ts)" "$VIP" "$holder"
	printf '              %s\n' "$(room_line A)" "$(room_line B)"
}

say "rooms A (192.0.2.1, main, priority 150) and B (192.0.2.2, standby, 100); files in $T"
room_files A
room_files B
A() { "$bin/enumdr" -c "$T/A/enumdr.yaml" "$@"; }
B() { "$bin/enumdr" -c "$T/B/enumdr.yaml" "$@"; }
A init --zone 6.4.e164.arpa:2026112900 --zone 1.e164.arpa:1 >/dev/null
say "start room A: Knot, enumdrd, keepalived; A takes the VIP and runs its takeover (S0.6)"
start_room A
wait_for 30 listener_open A
events
state
say "start room B: it stays BACKUP with its provisioning listener closed (S0.5)"
start_room B
sleep 2
events
state

say "provision 5 numbers through the VIP (HTTP POST to $VIP:8053)"
for n in 1 2 3 4 5; do
	num=+468123456$n
	printf '  POST %s -> HTTP %s\n' "$num" "$(provision "$num" "sip:$num@ims.a.example")"
done
wait_for 20 answers +4681234565 ims.a.example
printf '  kdig @%s NAPTR %s:\n' "$VIP" "$(domain_of +4681234565)"
dig_vip +4681234565 | sed 's/^/    /'
ja=$(journal_of A)
incoming_caught_up() { [ "$(incoming_journal B)" = "$ja" ]; }
wait_for 20 incoming_caught_up &&
	printf '%s  room A'"'"'s periodic snapshot (journal %s) is in room B (S0.1)\n' "$(ts)" "$ja"
events
state

count() { wc -l <"$1" | tr -d ' '; }
served() {  # served FILE — how many of FILE's numbers kdig @VIP answers (from the client side)
	m=$(naptr_missing "$NC" "$VIP" "$1" "$T/missing")
	echo $(( $(count "$1") - m ))
}

say "a client provisions distinct numbers through the VIP without pause (tests/integration/provision-load.py)"
load_start +46820 5
sleep 3
say "room A dies under load: SIGKILL of its keepalived, enumdrd and Knot, link down"
kill_room A
t0=$(now_ms)
wait_for 30 vip_on B && printf '%s  VIP on room B after %s ms\n' "$(ts)" $(($(now_ms) - t0))
wait_for 40 listener_open B && printf '%s  room B listener open after %s ms\n' "$(ts)" $(($(now_ms) - t0))
load_stop +46820
n1=$(count "$T/acked.+46820")
s1=$(served "$T/acked.+46820")
printf '%s  acknowledged by room A before it died: %s; answered by kdig @VIP (room B) after the takeover: %s\n' \
    "$(ts)" "$n1" "$s1"
[ "$s1" -lt "$n1" ] &&
	echo "              (asynchronous replication: the missing ones were acknowledged in A's last replication round-trip; they come back with A)"
events
state

say "room B takes provisioning under load; room A comes back meanwhile (failback, S0.7)"
load_start +46830 5
sleep 3
revive_room A
t0=$(now_ms)
wait_for 60 listener_open A && printf '%s  room A listener open after %s ms (it caught up with B'"'"'s journal first)\n' \
    "$(ts)" $(($(now_ms) - t0))
sleep 1
load_stop +46830
cat "$T/acked.+46820" "$T/acked.+46830" >"$T/acked.all"
wait_for 20 rows_equal && printf '%s  both rooms'"'"' databases identical, row by row (number, number_version)\n' "$(ts)"
nall=$(count "$T/acked.all")
sall=$(served "$T/acked.all")
printf '%s  acknowledged in all (by A, then B, then A): %s; answered by kdig @VIP after the failback: %s\n' \
    "$(ts)" "$nall" "$sall"
printf '  kdig @%s NAPTR %s (acknowledged by room B, served by A):\n' "$VIP" "$(domain_of "$(head -n1 "$T/acked.+46830" | cut -d' ' -f2)")"
dig_vip "$(head -n1 "$T/acked.+46830" | cut -d' ' -f2)" | sed 's/^/    /'
events
state

say "alarm lines seen by syslog"
grep 'enumdr-alarm v1' "$log" | sed -E 's/^[0-9-]+T([0-9:.]{12})[0-9]*\+00:00 [a-z0-9]+\.([a-z]+) [^ ]+ /\1  \2  /' | sed 's/^/  /'
say "done; stopping everything"
