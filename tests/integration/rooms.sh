# tests/integration/rooms.sh — enumdr rooms in network namespaces, for
# two-rooms.sh, scripts/demo.sh and the tests that start rooms (sourced
# after lib.sh; needs T, top_srcdir, top_builddir).  Room A 192.0.2.1
# (priority 150), room B 192.0.2.2 (100), the VIP 192.0.2.53, a client
# namespace with the bridge.  ROOMS="A B C" and ROOMS_CONF=conf/three-rooms
# (set before rooms_network) add room C 192.0.2.3 (50).
# keepalived's enable_script_security refuses scripts below a directory a
# non-root user may write (/tmp): rooms_bin copies the programs to /run.
VIP=192.0.2.53
rooms_bin() {  # copy the programs to $bin, a root-only directory
	bin=$(mktemp -d /run/enumdr-rooms.XXXXXX) || exit 1
	on_exit "rm -rf $(shquote "$bin")"
	chmod 755 "$bin"
	for p in src/enumdr plugin/enumdrd notify/enumdr-notify \
	    checkers/enumdr-check-service; do
		need_built "$top_builddir/$p"
		cp "$top_builddir/$p" "$bin/" || exit 1
	done
}

# The network: namespaces NA, NB (the rooms, eth0 each) and NC (a client
# with the bridge br0 that joins them).
ROOMS=${ROOMS:-A B}
ROOMS_CONF=${ROOMS_CONF:-conf}
room_ns() {  # room_ns R — the room's namespace (NC is the client's)
	case $1 in A) echo "$NA" ;; B) echo "$NB" ;; *) echo "$NR3" ;; esac
}
addr_of() {  # addr_of R — the room's own address
	case $1 in A) echo 192.0.2.1 ;; B) echo 192.0.2.2 ;; *) echo 192.0.2.3 ;; esac
}
rooms_network() {
	# NC is the client; room C's namespace, when there is one, is NR3
	NA=enumdrA$$ NB=enumdrB$$ NC=enumdrC$$ NR3=enumdrR3$$
	for r in $ROOMS; do
		netns_create "$(room_ns "$r")"
	done
	netns_create "$NC"
	ip -n "$NC" link add br0 type bridge &&
	ip -n "$NC" link set br0 up &&
	ip -n "$NC" addr add 192.0.2.100/24 dev br0 ||
		{ echo "Bail out! bridge"; exit 1; }
	for r in $ROOMS; do
		ns=$(room_ns "$r")
		addr=$(addr_of "$r")
		ip link add eth0 netns "$ns" type veth peer name "to$r" \
		    netns "$NC" &&
		ip -n "$NC" link set "to$r" master br0 up &&
		ip -n "$ns" addr add "$addr/24" dev eth0 &&
		ip -n "$ns" link set eth0 up ||
			{ echo "Bail out! veth for $r"; exit 1; }
	done
}
inC() { ip netns exec "$NC" "$@"; }

# The rooms' files, from conf/A, conf/B and conf/knot.conf, with the paths
# moved into $T/R and the programs into $bin.
room_files() {  # room_files R
	d=$T/$1
	mkdir -p "$d/lib/zones" "$d/run" "$d/knot" "$d/knotdb"
	# the room's TSIG key, shared by its agent and its Knot (doc/dns.md)
	keymgr -t enumdr hmac-sha256 >"$d/tsig.key" && chmod 600 "$d/tsig.key" ||
		{ echo "Bail out! keymgr -t"; exit 1; }
	sed -e "s#/var/lib/enumdr#$d/lib#g" -e "s#/run/enumdr#$d/run#g" \
	    -e "s#/etc/enumdr/enumdr.yaml#$d/enumdr.yaml#g" \
	    -e "s#/etc/enumdr/tsig.key#$d/tsig.key#g" \
	    -e "s#/usr/bin/enumdr#$bin/enumdr#g" \
	    -e "s#/run/knot/knot.sock#$d/knot/knot.sock#g" \
	    -e "s#snapshot_interval_s: 60#snapshot_interval_s: 2#" \
	    "$top_srcdir/$ROOMS_CONF/$1/enumdr.yaml" >"$d/enumdr.yaml"
	sed -e "s#/etc/enumdr/enumdr.yaml#$d/enumdr.yaml#g" \
	    -e "s#/run/enumdr#$d/run#g" -e "s#/var/lib/enumdr#$d/lib#g" \
	    -e "s#/usr/sbin/enumdr-notify#$bin/enumdr-notify#g" \
	    -e "s#/usr/bin/enumdr-check-service#$bin/enumdr-check-service#g" \
	    -e "s#script_user enumdr#script_user root#" \
	    "$top_srcdir/$ROOMS_CONF/$1/keepalived.conf" >"$d/keepalived.conf"
	# ROOMS_SECONDARY=1: Knot notifies and serves the secondary
	# (tests/integration/secondary.sh)
	if [ "${ROOMS_SECONDARY:-0}" = 1 ]; then
		second="-e /#.no.secondary\$/d -e s/^#secondary.//"
	else
		second=
	fi
	# shellcheck disable=SC2086
	sed -e "s#/run/knot#$d/knot#g" -e "s#/var/lib/knot#$d/knotdb#g" \
	    -e "s#/var/lib/enumdr/zones#$d/lib/zones#g" \
	    -e "s#/etc/enumdr/tsig.key#$d/tsig.key#g" $second \
	    "$top_srcdir/conf/knot.conf" >"$d/knot.conf"
	"$bin/enumdr" -c "$d/enumdr.yaml" init >/dev/null
}
start_room() {  # start_room R — Knot, enumdrd, keepalived in R's namespace
	ns=$(room_ns "$1")
	d=$T/$1
	ip netns exec "$ns" knotd -c "$d/knot.conf" >>"$d/knotd.out" 2>&1 &
	eval "KNOT_$1=$!"
	on_exit "kill -KILL $! 2>/dev/null"
	ip netns exec "$ns" "$bin/enumdrd" -c "$d/enumdr.yaml" -d \
	    >>"$d/enumdrd.out" 2>&1 &
	eval "AGENT_$1=$!"
	on_exit "kill_pid $!"
	wait_for 10 "$bin/enumdr" -c "$d/enumdr.yaml" agent status >/dev/null 2>&1 ||
		{ echo "Bail out! enumdrd of room $1 did not start"; diag_file "$d/enumdrd.out"; exit 1; }
	keepalived -s "$ns" -n -P -D -f "$d/keepalived.conf" -p "$d/run/keepalived.pid" \
	    -r "$d/run/vrrp.pid" >>"$d/keepalived.out" 2>&1 &
	eval "KA_$1=$!"
	on_exit "kill -KILL \$(cat $(shquote "$d/run/vrrp.pid") 2>/dev/null) 2>/dev/null; kill_pid $!"
}

vip_on() {  # vip_on R
	ip -n "$(room_ns "$1")" -4 addr show dev eth0 | grep -q "inet $VIP/"
}
heartbeat() {  # heartbeat R — the agent's heartbeat JSON, from the client side
	inC curl -s -m 2 "http://$(addr_of "$1"):8054/v1/heartbeat"
}
listener_open() { heartbeat "$1" | grep -q '"listener":"open"'; }
domain_of() {  # +4681234567 -> 7.6.5.4.3.2.1.8.6.4.e164.arpa
	printf '%s\n' "${1#+}" | awk '{ for (i = length($0); i > 0; i--)
		printf "%s.", substr($0, i, 1); print "e164.arpa" }'
}
dig_vip() {  # dig_vip NUMBER — the NAPTR answers for NUMBER at the VIP
	inC kdig +short +time=1 +retry=0 @"$VIP" NAPTR "$(domain_of "$1")" 2>/dev/null
}
answers() { dig_vip "$1" | grep -q "$2"; }
provision() {  # provision NUMBER URI — POST through the VIP; prints the HTTP status
	inC curl -s -m 5 -o "$T/prov.out" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' "http://$VIP:8053/v1/numbers" \
	    -d "{\"e164\":\"$1\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!$2!\",\"replacement\":\".\"}]}"
}
journal_of() { heartbeat "$1" | sed -n 's/^{[^{]*"journal":\([0-9]*\).*/\1/p'; }
incoming_journal() {  # the journal position of the snapshot in R's incoming dir
	sed -n 's/^journal //p' "$T/$1/lib/incoming/enumdr-serials" 2>/dev/null
}

kill_room() {  # kill_room R — SIGKILL keepalived, enumdrd and Knot; link down
	eval "kill -KILL \$(cat '$T/$1/run/vrrp.pid' 2>/dev/null) \$KA_$1 \$AGENT_$1 \$KNOT_$1" 2>/dev/null
	ip -n "$(room_ns "$1")" link set eth0 down
}

revive_room() {  # revive_room R — link up without the stale VIP, start it
	ip -n "$(room_ns "$1")" addr del "$VIP/24" dev eth0 2>/dev/null
	ip -n "$(room_ns "$1")" link set eth0 up
	start_room "$1"
}

# The provisioning load client (provision-load.py: one keep-alive
# connection, distinct numbers, a log line per acknowledged number) through
# the VIP from the client namespace, in the background.  PY is the
# interpreter itself (not a wrapper script), so that SIGTERM reaches the
# client's own pid.
load_start() {  # load_start PREFIX [DIGITS] — load_pid, load_log, load_t0
	_rl_load=$top_srcdir/tests/integration/provision-load.py
	[ -f "$_rl_load" ] || { echo "Bail out! $_rl_load missing"; exit 1; }
	_rl_py=$(python3 -c 'import sys; print(sys.executable)')
	load_log=$T/acked.$1
	: >"$load_log"
	ip netns exec "$NC" "$_rl_py" "$_rl_load" --url "http://$VIP:8053" \
	    --prefix "$1" --log "$load_log" --timeout 5 --digits "${2:-6}" \
	    >"$T/load.$1.out" 2>&1 &
	load_pid=$!
	on_exit "kill -KILL $load_pid 2>/dev/null"
	load_t0=$(now_ms)
}

# The helpers the room tests share (after rooms_network).
R() { _r=$1; shift; "$bin/enumdr" -c "$T/$_r/enumdr.yaml" "$@"; }  # R ROOM ARGS — enumdr in ROOM
repl_peer() {  # repl_peer R PEER FIELD — FIELD of R's replication status for PEER
	R "$1" agent status --json 2>/dev/null |
	    json_get "[p for p in d['replication']['peers'] if p['name'] == '$2'][0]['$3']"
}
following() { [ "$(repl_peer "$1" "$2" state)" = following ]; }
in_step() { following "$1" "$2" && [ "$(repl_peer "$1" "$2" behind)" = 0 ]; }  # following, not behind
role_is() { heartbeat "$1" | grep -q "\"role\":\"$2\""; }  # role_is R ROLE
rows_equal() {  # every room's number and number_version rows the same, row by row (rows.R, rows.err)
	: >"$T/rows.err"
	_re_first=
	for _re_r in $ROOMS; do
		db_rows "$T/$_re_r/lib/enumdr.db" >"$T/rows.$_re_r" 2>>"$T/rows.err" || return 1
		if [ -z "$_re_first" ]; then
			_re_first=$_re_r
		elif ! cmp -s "$T/rows.$_re_first" "$T/rows.$_re_r"; then
			return 1
		fi
	done
}
load_stop() {  # load_stop PREFIX — SIGTERM: the client finishes the request in flight (<= 5 s)
	kill -TERM "$load_pid" 2>/dev/null
	wait "$load_pid" 2>/dev/null
	diag "$(cat "$T/load.$1.out")"
}
