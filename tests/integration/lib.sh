# tests/integration/lib.sh — shared helpers for the integration scripts
# (sourced after tests/tap.sh; POSIX sh, runs under dash).
#
#   on_exit 'CMD'               run CMD at exit (last registered runs first)
#   make_tmpdir VAR [PREFIX]    VAR=<new temp dir>, removed at exit
#                               (kept for debugging when KEEP_TMPDIR is set)
#   need_root; need_cmd CMD...  skip_all unless root / the commands exist
#   need_built PROG...          bail out unless the programs are built
#   wait_for SECS CMD [ARG...]  poll CMD every 0.1 s, at most SECS seconds
#   pick_port VAR               VAR=a free loopback TCP port (remembered,
#                               so later picks never return it again)
#   pick_port_range VAR N       VAR=first of N consecutive free ports
#   free_port, free_port_range N  the same, printed (for $(...); not
#                               remembered)
#   port_listening PORT         true when something listens on TCP PORT
#   pid_alive PID               true while PID runs (zombies count as gone)
#   kill_pid PID [SECS]         TERM, wait up to SECS (5), then KILL
#   kill_pidfile FILE [SECS]    kill_pid on the pid in FILE
#   bg_start PIDVAR CMD [ARG...] start CMD in the background, PIDVAR=pid,
#                               killed at exit
#   agent_start PIDVAR CONF [LOG]  the room agent enumdrd -d on CONF (stderr
#                               appended to LOG), killed at exit; waits
#                               (10 s) until its control socket answers.
#                               The agent is the database's only writer:
#                               `enumdr zone add|provision|sync|snapshot`
#                               need it (`enumdr init --zone` does not)
#   now_ms                      milliseconds since the epoch
#   diag_file FILE [LINES]      show the last LINES (20) of FILE as TAP diag
#   knot_start DIR ZONEDIR PORT ZONE...  knotd on 127.0.0.1:PORT for the
#                               zones' files in ZONEDIR (knot_pid; DIR/knot.conf)
#   netns_create NAME           network namespace with lo up, deleted at exit
#   veth_pair NS1 IP1 NS2 IP2   veth between two namespaces ("-" = this one),
#                               IPs as A.B.C.D[/LEN] (default /24); sets
#                               VETH1 and VETH2 to the interface names
#
# Every helper that creates something registers its removal, so a test
# only has to create things.  Cleanup runs on normal exit and on
# INT/TERM/HUP; it never removes what the test did not create.

# Tests talk to loopback and their own namespaces only: no proxy, and no
# configuration from the caller's environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ENUMDR_CONFIG

_lib_cleanup_cmds=
_lib_ports_taken=
_lib_veth_n=0

# Quote $1 for safe use inside an eval'd command line.
shquote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

on_exit() {  # on_exit 'CMD' — newest first, like a stack
	_lib_cleanup_cmds="$1
$_lib_cleanup_cmds"
}

_lib_run_cleanup() {
	_lib_rc=$?
	trap - EXIT INT TERM HUP
	_lib_cmds=$_lib_cleanup_cmds
	_lib_cleanup_cmds=
	_lib_ifs=$IFS
	IFS='
'
	set -f		# split the list on newlines only, no globbing
	for _lib_cmd in $_lib_cmds; do
		IFS=$_lib_ifs
		set +f
		eval "$_lib_cmd" >/dev/null 2>&1 || :
	done
	IFS=$_lib_ifs
	set +f
	exit "$_lib_rc"
}
trap _lib_run_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE	# a reader that went away (| head): still clean up

make_tmpdir() {  # make_tmpdir VAR [PREFIX]
	_lib_d=$(mktemp -d "${TMPDIR:-/tmp}/${2:-enumdr-test}.XXXXXX") ||
		{ echo "Bail out! mktemp -d failed"; exit 1; }
	if [ -n "${KEEP_TMPDIR:-}" ]; then
		echo "# KEEP_TMPDIR set: leaving $_lib_d"
	else
		on_exit "rm -rf $(shquote "$_lib_d")"
	fi
	eval "$1=\$_lib_d"
}

need_built() {  # need_built PROG... — a missing build is a failure, not a skip
	for _lib_p in "$@"; do
		[ -x "$_lib_p" ] || { echo "Bail out! $_lib_p is not built"; exit 1; }
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
}

need_cmd() {  # need_cmd CMD... (a name on PATH or an absolute path)
	for _lib_c in "$@"; do
		command -v "$_lib_c" >/dev/null 2>&1 ||
			skip_all "$_lib_c is not installed"
	done
}

wait_for() {  # wait_for SECS CMD [ARG...] — 0 once CMD succeeds, 1 on timeout
	_lib_tries=$(($1 * 10))
	shift
	while [ "$_lib_tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_lib_tries=$((_lib_tries - 1))
	done
	"$@" >/dev/null 2>&1
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

port_listening() {  # port_listening PORT
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

_lib_port_free() {  # free for TCP and UDP, and not handed out by us yet
	case " $_lib_ports_taken " in *" $1 "*) return 1 ;; esac
	[ -z "$(ss -Htuan "sport = :$1" 2>/dev/null)" ]
}

# Ports below the kernel's ephemeral range, so that no outgoing connection
# holds them; random, so that parallel tests rarely try the same one.
_lib_random_port() {
	_lib_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${_lib_lo:-0}" -gt 12000 ] || _lib_lo=32768
	_lib_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((10000 + _lib_r % (_lib_lo - 10000 - 100)))
}

free_port_range() {  # free_port_range N — print the first of N free ports
	_lib_tries=200
	while [ "$_lib_tries" -gt 0 ]; do
		_lib_tries=$((_lib_tries - 1))
		_lib_base=$(_lib_random_port)
		_lib_i=0
		while [ "$_lib_i" -lt "$1" ] &&
		    _lib_port_free $((_lib_base + _lib_i)); do
			_lib_i=$((_lib_i + 1))
		done
		if [ "$_lib_i" -eq "$1" ]; then
			echo "$_lib_base"
			return 0
		fi
	done
	echo "Bail out! no $1 free consecutive ports found" >&2
	return 1
}

free_port() {  # print one free port (pick_port also remembers it)
	free_port_range 1
}

# pick_port and pick_port_range run in the test's own shell (not in $(...))
# so that the ports they hand out are remembered and never handed out
# twice; they set the variable named by $1.
pick_port_range() {  # pick_port_range VAR N
	_lib_p=$(free_port_range "$2") || exit 1
	_lib_i=0
	while [ "$_lib_i" -lt "$2" ]; do
		_lib_ports_taken="$_lib_ports_taken $((_lib_p + _lib_i))"
		_lib_i=$((_lib_i + 1))
	done
	eval "$1=\$_lib_p"
}

pick_port() {  # pick_port VAR
	pick_port_range "$1" 1
}

pid_alive() {  # pid_alive PID — false for a zombie (exited, not reaped)
	kill -0 "$1" 2>/dev/null || return 1
	_lib_state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_lib_state" ] && [ "$_lib_state" != Z ]
}

kill_pid() {  # kill_pid PID [SECS]
	[ -n "$1" ] || return 0
	pid_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	kill -CONT "$1" 2>/dev/null	# a stopped process gets TERM only now
	if ! wait_for "${2:-5}" _lib_gone "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait_for 5 _lib_gone "$1"
	fi
	return 0
}

_lib_gone() {
	! pid_alive "$1"
}

kill_pidfile() {  # kill_pidfile FILE [SECS]
	[ -s "$1" ] || return 0
	kill_pid "$(head -n1 "$1" | tr -dc 0-9)" "${2:-5}"
}

bg_start() {  # bg_start PIDVAR CMD [ARG...] — output goes where the caller sends it
	_lib_var=$1
	shift
	"$@" &
	eval "$_lib_var=\$!"
	on_exit "kill_pid $!"
}

agent_start() {  # agent_start PIDVAR CONF [LOG]
	bg_start "$1" "$top_builddir/plugin/enumdrd" -d -c "$2" \
	    2>>"${3:-/dev/null}"
	wait_for 10 "$top_builddir/src/enumdr" -c "$2" agent status
}

knot_start() {  # knot_start DIR ZONEDIR PORT ZONE... — knotd on 127.0.0.1:PORT
	# serving ZONEDIR/ZONE.zone for each ZONE; its config, rundir, database
	# and log (knot.log) under DIR; knot_pid set, killed at exit
	_lib_kdir=$1 _lib_kzones=$2 _lib_kport=$3
	shift 3
	mkdir -p "$_lib_kdir/knot/db"
	{
		cat <<EOF_KNOT
server:
    listen: 127.0.0.1@$_lib_kport
    rundir: "$_lib_kdir/knot"
database:
    storage: "$_lib_kdir/knot/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$_lib_kzones"
    file: "%s.zone"
zone:
EOF_KNOT
		for _lib_kz in "$@"; do
			echo "  - domain: $_lib_kz"
		done
	} >"$_lib_kdir/knot.conf"
	bg_start knot_pid knotd -c "$_lib_kdir/knot.conf" \
	    >>"$_lib_kdir/knot.log" 2>&1
}

diag_file() {  # diag_file FILE [LINES]
	[ -f "$1" ] || return 0
	echo "# --- last ${2:-20} lines of $1"
	tail -n "${2:-20}" "$1" | sed 's/^/#   /'
}

netns_create() {  # netns_create NAME
	ip netns add "$1" || { echo "Bail out! ip netns add $1 failed"; exit 1; }
	on_exit "netns_delete $(shquote "$1")"
	ip -n "$1" link set lo up
}

netns_delete() {  # kill what still runs in namespace NAME, then delete it
	for _lib_p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$_lib_p" 2>/dev/null
	done
	ip netns delete "$1" 2>/dev/null
}

_lib_ip() {  # _lib_ip NS ARGS... — ip in namespace NS ("-" = this one)
	_lib_ns=$1
	shift
	if [ "$_lib_ns" = "-" ]; then
		ip "$@"
	else
		ip -n "$_lib_ns" "$@"
	fi
}

veth_pair() {  # veth_pair NS1 IP1 NS2 IP2
	_lib_veth_n=$((_lib_veth_n + 1))
	VETH1="ve$$x${_lib_veth_n}a"
	VETH2="ve$$x${_lib_veth_n}b"
	ip link add "$VETH1" type veth peer name "$VETH2" ||
		{ echo "Bail out! ip link add $VETH1 failed"; exit 1; }
	# Deleting one end deletes both; a namespace's deletion does it too.
	if [ "$1" = "-" ]; then
		on_exit "ip link del $(shquote "$VETH1")"
	else
		on_exit "ip -n $(shquote "$1") link del $(shquote "$VETH1")"
	fi
	[ "$1" = "-" ] || ip link set "$VETH1" netns "$1"
	[ "$3" = "-" ] || ip link set "$VETH2" netns "$3"
	_lib_veth_up "$1" "$VETH1" "$2"
	_lib_veth_up "$3" "$VETH2" "$4"
}

_lib_veth_up() {  # _lib_veth_up NS IF IP
	case $3 in */*) _lib_a=$3 ;; *) _lib_a=$3/24 ;; esac
	if ! _lib_ip "$1" addr add "$_lib_a" dev "$2" ||
	    ! _lib_ip "$1" link set "$2" up; then
		echo "Bail out! cannot configure $2 in $1"
		exit 1
	fi
}

# --- a private syslog receiver ------------------------------------------------
# syslog(3) writes to /dev/log, which network namespaces do not separate and
# which may belong to the machine's own syslog daemon.  A test that wants
# to read what its programs send to syslog (alarm lines above all) re-runs
# itself in a private mount namespace, mounts an overlay over /dev there
# (lower layer: the real /dev; upper layer: a tmpfs of its own) and lets a
# private rsyslogd own /dev/log inside it.  Nothing outside the namespace
# sees any of it.
#
#   reexec_private_mount_ns GUARDVAR "$0" "$@"   (once, at the top)
#   syslog_receiver DIR    rsyslogd writing "facility.severity tag msg"
#                          lines to DIR/messages, and the same lines with
#                          an RFC 3339 time first to DIR/messages.ts;
#                          killed and unmounted at exit
reexec_private_mount_ns() {  # reexec_private_mount_ns GUARDVAR SCRIPT [ARGS]
	_lib_guard=$1
	shift
	eval "[ \"\${$_lib_guard:-}\" = 1 ]" && return 0
	need_root
	need_cmd unshare mount umount rsyslogd
	unshare --mount --propagation private true 2>/dev/null ||
		skip_all "cannot create a private mount namespace"
	export "$_lib_guard=1"
	exec unshare --mount --propagation private /bin/sh "$@"
}

syslog_receiver() {  # syslog_receiver DIR
	mkdir -p "$1/ovl"
	mount -t tmpfs -o size=1m,mode=0700 enumdr-syslog "$1/ovl" ||
		skip_all "cannot mount a tmpfs"
	on_exit "umount $(shquote "$1/ovl")"
	mkdir "$1/ovl/upper" "$1/ovl/work"
	mount -t overlay enumdr-syslog-dev \
	    -o "lowerdir=/dev,upperdir=$1/ovl/upper,workdir=$1/ovl/work" /dev ||
		skip_all "cannot mount an overlay over /dev"
	on_exit "umount /dev"
	rm -f /dev/log		# only a whiteout in the overlay's upper layer
	cat >"$1/rsyslog.conf" <<EOF_RSYSLOG
global(workDirectory="$1")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="/dev/log" RateLimit.Interval="0")
template(name="enumdrtest" type="string"
    string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
template(name="enumdrtest_ts" type="string"
    string="%timegenerated:::date-rfc3339% %syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
*.* action(type="omfile" file="$1/messages" template="enumdrtest")
*.* action(type="omfile" file="$1/messages.ts" template="enumdrtest_ts")
EOF_RSYSLOG
	bg_start _lib_rsyslog_pid rsyslogd -n -f "$1/rsyslog.conf" \
	    -i "$1/rsyslogd.pid" >"$1/rsyslogd.out" 2>&1
	if ! wait_for 5 test -S /dev/log; then
		echo "Bail out! rsyslogd did not create /dev/log"
		diag_file "$1/rsyslogd.out"
		exit 1
	fi
	: >>"$1/messages"
	: >>"$1/messages.ts"
}

# --- replication tests (issue 14) -----------------------------------------------
#   wait_until SECS CMD [ARG...]  like wait_for, but SECS of wall-clock
#                               time (for a CMD that itself takes a while:
#                               a status query, a database comparison)
#   json_get EXPR               the value of the Python expression EXPR over
#                               the JSON document on stdin (bound to d), a
#                               string as it is, anything else as JSON;
#                               exit 1 (nothing printed) when it fails
#   naptr_missing NS SERVER NUMBERS OUT  ask kdig @SERVER (run in network
#                               namespace NS, "-" = this one) for the NAPTR
#                               records of every number in file NUMBERS
#                               (first "+digits" field of each line), many
#                               names per kdig run; the numbers without a
#                               record naming them (sip:NUMBER@) go to OUT,
#                               their count is printed
#   db_rows DB                  the rows two rooms' databases must agree on:
#                               number (e164, zone, naptr) and
#                               number_version (e164, origin, oseq, hlc,
#                               room, removed), sorted, read-only
wait_until() {  # wait_until SECS CMD [ARG...]
	_lib_deadline=$(($(now_ms) + $1 * 1000))
	shift
	while [ "$(now_ms)" -lt "$_lib_deadline" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

json_get() {  # json_get EXPR <JSON
	python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    v = eval(sys.argv[1], {"__builtins__": {"len": len, "max": max,
        "min": min, "sum": sum, "int": int, "str": str}}, {"d": d})
except Exception:
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

naptr_missing() {  # naptr_missing NS SERVER NUMBERS OUT
	_lib_nm=$4.names
	awk '{ n = $0; sub(/^[^+]*/, "", n); sub(/[^+0-9].*$/, "", n)
	    if (n == "") next; n = substr(n, 2); d = ""
	    for (i = length(n); i > 0; i--) d = d substr(n, i, 1) "."
	    print d "e164.arpa." }' "$3" >"$_lib_nm"
	if [ "$1" = "-" ]; then
		set -- "$2" "$3" "$4"
	else
		set -- "$2" "$3" "$4" ip netns exec "$1"
	fi
	_lib_ns_srv=$1 _lib_ns_in=$2 _lib_ns_out=$3
	shift 3
	# Names answered with a NAPTR record that names their number.
	"$@" timeout 300 xargs -n 400 kdig @"$_lib_ns_srv" +noall +answer \
	    +time=1 +retry=1 -t NAPTR <"$_lib_nm" 2>/dev/null |
	    awk '$4 == "NAPTR" { o = $1; sub(/\.e164\.arpa\.$/, "", o)
		k = split(o, p, "."); n = "+"
		for (i = k; i > 0; i--) n = n p[i]
		if (index($0, "!sip:" n "@") > 0) print n }' |
	    LC_ALL=C sort -u >"$_lib_ns_out.found"
	awk '{ n = $0; sub(/^[^+]*/, "", n); sub(/[^+0-9].*$/, "", n)
	    if (n != "") print n }' "$_lib_ns_in" | LC_ALL=C sort -u |
	    LC_ALL=C comm -23 - "$_lib_ns_out.found" >"$_lib_ns_out"
	rm -f "$_lib_nm" "$_lib_ns_out.found"
	wc -l <"$_lib_ns_out" | tr -d ' '
}

db_rows() {  # db_rows DB
	sqlite3 -readonly -batch "$1" \
	    "SELECT 'number', e164, zone, naptr FROM number ORDER BY e164;
	     SELECT 'number_version', e164, origin, oseq, hlc, room, removed
	       FROM number_version ORDER BY e164;"
}
