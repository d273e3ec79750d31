# bench/lib.sh — shared by the benchmark scripts (sourced by them, not run).
#
#   bench_init NAME         work dir $W (removed at exit), programs, results
#   start_agent ROOM DIR [YAML [INIT_ARGS]]  an enumdrd for room ROOM in DIR
#                           (YAML: more configuration keys; INIT_ARGS: enumdr
#                           init's, default --zone $zone) (database, config,
#                           listener open, role MASTER), killed at exit;
#                           sets AGENT_CONF, AGENT_DB, AGENT_PROV, AGENT_PEER
#   stop_agent DIR          SIGTERM to the agent of DIR, waits for its exit
#   fill_numbers N          N numbers into the open agent's zone, 1000 per
#                           POST /v1/batch (each batch one committed transaction)
#   run_hyperfine ARG...    hyperfine ARG... with markdown + CSV export; the
#                           exact command line is kept for the results file
#   mean NAME               mean seconds of the command named NAME (-n)
#   ratio NAME BASE         mean(NAME) / mean(BASE), 2 decimals
#   write_results TITLE     bench/results/$BENCH.md: TITLE line (the ratio),
#                           date, machine, commands, raw hyperfine tables
#
# Environment: ENUMDR_BUILD (default TOP/_build when the programs are
# there, else /tmp/bench-build; copied into the work dir), BENCH_TMPDIR (default
# /var/tmp: a disk, so that fsync costs what it costs in production; /tmp
# may be tmpfs), KEEP_TMPDIR=1 keeps the work dir.
set -u
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset ENUMDR_CONFIG

bench_dir=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$bench_dir/.." && pwd)
results_dir=$bench_dir/results
_bench_progs="src/enumdr plugin/enumdrd checkers/enumdr-check-service checkers/enumdr-check-peer"
_bench_built() {  # _bench_built DIR — every program is there
	for _p in $_bench_progs; do
		[ -x "$1/$_p" ] || return 1
	done
}
if [ -n "${ENUMDR_BUILD:-}" ]; then
	build=$ENUMDR_BUILD
elif _bench_built "$top/_build"; then
	build=$top/_build
else
	build=/tmp/bench-build
fi
zone=6.4.e164.arpa

_bench_pids=
_bench_cleanup() {
	for _p in $_bench_pids; do
		_bench_kill "$_p"
	done
	if [ -n "${W:-}" ] && [ -d "$W" ]; then
		if [ -n "${KEEP_TMPDIR:-}" ]; then
			echo "KEEP_TMPDIR set: leaving $W" >&2
		else
			rm -rf "$W"
		fi
	fi
}
_bench_kill() {  # TERM, up to 5 s, then KILL — only our own pid
	kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	_i=50
	while [ "$_i" -gt 0 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		_i=$((_i - 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

die() { echo "bench/$BENCH: $*" >&2; exit 1; }
say() { echo "bench/$BENCH: $*" >&2; }

shquote() {  # one word, quoted for sh when it needs it
	case $1 in
	''|*[!A-Za-z0-9_./:=@%+,-]*)
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
	*)	printf '%s' "$1" ;;
	esac
}

bench_init() {  # bench_init NAME
	BENCH=$1
	trap _bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for _c in hyperfine curl sqlite3 ss awk; do
		command -v "$_c" >/dev/null 2>&1 ||
			die "needs $_c (apt-get install hyperfine curl sqlite3 iproute2 gawk)"
	done
	_bench_built "$build" || die "the programs are not built in $build; build out of tree:
  mkdir -p /tmp/bench-build && cd /tmp/bench-build && $top/configure --quiet && make -j2
(then sh bench/run.sh finds them there, or set ENUMDR_BUILD=DIR)"
	W=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/enumdr-bench-$BENCH.XXXXXX") ||
		die "mktemp -d failed"
	chmod 0755 "$W"
	# Run private copies: a rebuild of the build tree during the run
	# must neither remove nor change the programs being measured.
	mkdir -p "$W/bin"
	for _p in $_bench_progs; do
		cp "$build/$_p" "$W/bin/" || die "cannot copy $build/$_p"
	done
	enumdr=$W/bin/enumdr
	enumdrd=$W/bin/enumdrd
	check_service=$W/bin/enumdr-check-service
	check_peer=$W/bin/enumdr-check-peer
	_bench_built_at=$(date -u -r "$build/src/enumdr" '+%Y-%m-%dT%H:%M:%SZ')
	mkdir -p "$results_dir"
	_bench_cmds=
	_bench_tables=
	_bench_notes=
}

_ports_taken=
free_port() {  # free_port VAR — a loopback TCP port nothing listens on
	_try=0
	while [ "$_try" -lt 200 ]; do
		_port=$(( 20000 + ($(od -An -N2 -tu2 /dev/urandom) % 30000) ))
		case " $_ports_taken " in *" $_port "*) _try=$((_try + 1)); continue ;; esac
		if ! ss -Htln "sport = :$_port" | grep -q .; then
			_ports_taken="$_ports_taken $_port"
			eval "$1=\$_port"
			return 0
		fi
		_try=$((_try + 1))
	done
	die "no free port found"
}

wait_for() {  # wait_for SECS CMD... — 0 once CMD succeeds
	_n=$(($1 * 10))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@" >/dev/null 2>&1
}

start_agent() {  # start_agent ROOM DIR [YAML [INIT_ARGS]] — YAML: more keys
	_room=$1 _dir=$2 _more=${3:-} _init=${4:---zone $zone}
	mkdir -p "$_dir"
	free_port _pp
	free_port _peerp
	cat >"$_dir/enumdr.yaml" <<EOF
room: $_room
database: $_dir/db/enumdr.db
snapshot_dir: $_dir/snapshot
incoming_dir: $_dir/incoming
state_dir: $_dir/state
agent:
  provisioning_listen: 127.0.0.1:$_pp
  peer_listen: 127.0.0.1:$_peerp
  control_socket: $_dir/control.sock
  snapshot_interval_s: 0
EOF
	[ -z "$_more" ] || printf '%s\n' "$_more" >>"$_dir/enumdr.yaml"
	# no peers, no load steps: no DNS server unless YAML names one (dns:)
	AGENT_CONF=$_dir/enumdr.yaml
	AGENT_DB=$_dir/db/enumdr.db
	AGENT_PROV=http://127.0.0.1:$_pp
	AGENT_PEER=http://127.0.0.1:$_peerp
	if [ ! -f "$AGENT_DB" ]; then
		# shellcheck disable=SC2086
		"$enumdr" -c "$AGENT_CONF" init $_init >/dev/null ||
			die "enumdr init $_init failed"
	fi
	"$enumdrd" -d -c "$AGENT_CONF" 2>>"$_dir/agent.log" &
	_apid=$!
	echo "$_apid" >"$_dir/agent.pid"
	_bench_pids="$_bench_pids $_apid"
	wait_for 10 curl -sf "$AGENT_PEER/v1/heartbeat" ||
		die "enumdrd did not answer its heartbeat (see $_dir/agent.log)"
	"$enumdr" -c "$AGENT_CONF" agent open >/dev/null &&
	"$enumdr" -c "$AGENT_CONF" agent role MASTER >/dev/null ||
		die "enumdr agent open / role MASTER failed"
}

stop_agent() {  # stop_agent DIR — SIGTERM, wait (the database is closed)
	_apid=$(cat "$1/agent.pid")
	_bench_kill "$_apid"
}

fill_numbers() {  # fill_numbers N — N numbers, +46700000000 upwards
	_n=$1
	mkdir -p "$W/batches"
	# one JSON file per 1000 numbers, written by a single awk
	awk -v n="$_n" -v dir="$W/batches" 'BEGIN {
		for (b = 0; b * 1000 < n; b++) {
			f = sprintf("%s/%04d.json", dir, b)
			printf "{\"changes\":[" >f
			for (i = b * 1000; i < n && i < (b + 1) * 1000; i++) {
				e = sprintf("+467%08d", i)
				printf "%s{\"op\":\"add\",\"e164\":\"%s\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*$!sip:%s@ims.example.net!\",\"replacement\":\".\"}]}", (i > b * 1000 ? "," : ""), e, e >f
			}
			printf "]}" >f
			close(f)
		}
	}'
	for _f in "$W"/batches/*.json; do
		_code=$(curl -s -o "$W/batch.out" -w '%{http_code}' \
		    -H 'Content-Type: application/json' \
		    --data-binary "@$_f" "$AGENT_PROV/v1/batch")
		[ "$_code" = 200 ] ||
			die "POST /v1/batch $_f: HTTP $_code $(head -c 300 "$W/batch.out")"
	done
	rm -rf "$W/batches" "$W/batch.out"
	# let the kernel write back what the fill dirtied, so that the first
	# measured command does not pay for it
	sync
	sleep 2
}

run_hyperfine() {  # run_hyperfine ARG... (no --export-*: added here)
	_k=$(( $(printf '%s\n' $_bench_tables | grep -c . ) + 1 ))
	_md=$W/hf-$_k.md
	_csv=$W/hf-$_k.csv
	_line=hyperfine
	for _a in "$@"; do
		_line="$_line $(shquote "$_a")"
	done
	_line="$_line --export-markdown $(shquote "$_md") --export-csv $(shquote "$_csv")"
	_bench_cmds="${_bench_cmds}${_line}
"
	_bench_tables="$_bench_tables $_md"
	_bench_csvs="${_bench_csvs:-} $_csv"
	say "running: $_line"
	hyperfine "$@" --export-markdown "$_md" --export-csv "$_csv" ||
		die "hyperfine failed"
}

mean() {  # mean NAME — from the CSVs written so far (command,mean,...)
	for _csv in $_bench_csvs; do
		# the name may hold commas (a quoted field): it is everything
		# before the last 7 fields (mean,stddev,median,user,system,min,max)
		awk -F, -v name="$1" 'NR > 1 {
			c = $1
			for (i = 2; i <= NF - 7; i++)
				c = c "," $i
			gsub(/"/, "", c)
			if (c == name) { print $(NF - 6); exit }
		}' "$_csv"
	done | head -n1
}

ratio() {  # ratio NAME BASE (in $(...): the caller checks it is not empty)
	_a=$(mean "$1") _b=$(mean "$2")
	[ -n "$_a" ] && [ -n "$_b" ] || die "no result for $1 or $2"
	awk -v a="$_a" -v b="$_b" 'BEGIN { printf "%.2f", a / b }'
}

need() {  # need VALUE... — die when one is empty (a ratio that failed)
	for _v in "$@"; do
		[ -n "$_v" ] || die "a result is missing (see the messages above)"
	done
}

ms() {  # ms NAME — mean in milliseconds, 1 decimal
	awk -v a="$(mean "$1")" 'BEGIN { printf "%.1f ms", a * 1000 }'
}

note() {  # note TEXT — a line for the results file's notes
	_bench_notes="${_bench_notes}${1}
"
}

write_results() {  # write_results TITLE
	_out=$results_dir/$BENCH.md
	_fs=$(df -PT "$W" | awk 'NR == 2 { print $2 }')
	_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	_rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
	_dirty=$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ", working tree modified")
	{
		echo "# $1"
		echo
		echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
		echo "- machine: nproc $(nproc), kernel $(uname -r) ($(uname -m)), CPU ${_cpu:-unknown}, $(awk '/^MemTotal/ { printf "%d MiB RAM", $2 / 1024 }' /proc/meminfo)"
		echo "- work dir: $(dirname "$W") on ${_fs:-unknown}"
		echo "- software: $(hyperfine --version), $(curl --version | head -n1 | cut -d' ' -f1-2), sqlite3 $(sqlite3 --version | cut -d' ' -f1)"
		echo "- programs: copied from $build at the start (built $_bench_built_at; source at commit ${_rev}${_dirty})"
		echo "- script: \`sh bench/$BENCH.sh\` (\`sh bench/run.sh\` runs every benchmark)"
		if [ -n "$_bench_notes" ]; then
			echo
			printf '%s' "$_bench_notes"
		fi
		echo
		echo "## Commands"
		echo
		echo "The temporary paths are the ones of this run; the script creates and removes them."
		echo
		echo '```sh'
		printf '%s' "$_bench_cmds"
		echo '```'
		echo
		echo "## Raw hyperfine tables"
		for _t in $_bench_tables; do
			echo
			cat "$_t"
		done
	} >"$_out.tmp" && mv "$_out.tmp" "$_out"
	say "wrote $_out"
	say "$1"
}
