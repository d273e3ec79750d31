#!/bin/sh
# bench/snapshot.sh — what a snapshot (S0.1) of a 100k-number database costs
# next to a bare SQLite copy of the same database, measured side by side in
# one hyperfine run each:
#   export:  `enumdr snapshot export DIR` (backup API copy, journal_mode
#            DELETE, fsync + rename, sha256 of the copy, serial file written
#            atomically) vs `sqlite3 DB ".backup FILE"` (the copy alone);
#   import:  `enumdr snapshot import DIR` into a scratch copy of the database
#            (serial file read, size + sha256 + quick_check + description
#            verified, then one transaction replacing every zone, number and
#            parameter) vs `sqlite3 SCRATCH ".restore FILE"` (page copy).
# The database is filled through the real agent: enumdrd on 127.0.0.1,
# listener opened with `enumdr agent open`, 100 POST /v1/batch of 1000
# numbers (each a committed transaction: serial bumps and journal rows as in
# production).  The agent is the database's only writer, so `enumdr
# snapshot export|import` are requests to it (the control socket): the
# export runs against room A's agent with its listener closed (quiescent),
# the import against a scratch agent restarted on a fresh copy before each
# run.  Writes bench/results/snapshot.md.
. "$(dirname "$0")/lib.sh"
bench_init snapshot

N=${BENCH_NUMBERS:-100000}
say "filling $N numbers through enumdrd (POST /v1/batch x $((N / 1000)))"
t0=$(date +%s)
start_agent A "$W/A"
fill_numbers "$N"
t1=$(date +%s)
"$enumdr" -c "$AGENT_CONF" agent close >/dev/null ||
	die "enumdr agent close failed"
db=$AGENT_DB
conf=$AGENT_CONF
count=$(sqlite3 -readonly "$db" "SELECT count(*) FROM number")
serial=$(sqlite3 -readonly "$db" "SELECT serial FROM zone WHERE origin = '$zone'")
jpos=$(sqlite3 -readonly "$db" "SELECT max(seq) FROM journal")
[ "$count" = "$N" ] || die "database holds $count numbers, expected $N"
# One self-contained file of the agent's database (its WAL folded in): the
# baseline's input and the scratch copies' source.
mkdir -p "$W/base"
sqlite3 -readonly "$db" ".backup $W/base/enumdr.db" || die "backup of $db failed"
base=$W/base/enumdr.db
size=$(stat -c %s "$base")
say "$count numbers, zone serial $serial, journal $jpos, $size bytes (filled in $((t1 - t0)) s)"

# --- export vs .backup -----------------------------------------------------
mkdir -p "$W/export" "$W/copy"
run_hyperfine -N --style basic --warmup 2 --runs 15 \
    -n "enumdr snapshot export" "$enumdr -c $conf snapshot export $W/export" \
    -n "sqlite3 .backup (baseline)" "sqlite3 $base \".backup $W/copy/copy.db\""
"$enumdr" -c "$conf" snapshot export "$W/export" >/dev/null ||
	die "snapshot export failed"
snapsize=$(stat -c %s "$W/export/enumdr-snapshot.db")
stop_agent "$W/A"

# --- import vs .restore ------------------------------------------------------
# Each run starts from a fresh copy of the 100k database (its own WAL-less
# file, made by --prepare, not timed, which also restarts the scratch agent
# on it): the import replaces 100k numbers with the snapshot's 100k.
scratch=$W/scratch
mkdir -p "$scratch/db"
free_port s_prov
free_port s_peer
sed "s|^database: .*|database: $scratch/db/enumdr.db|; s|^state_dir: .*|state_dir: $scratch/state|; s|^snapshot_dir: .*|snapshot_dir: $scratch/snapshot|; s|^incoming_dir: .*|incoming_dir: $scratch/incoming|; s|control_socket: .*|control_socket: $scratch/control.sock|; s|provisioning_listen: .*|provisioning_listen: 127.0.0.1:$s_prov|; s|peer_listen: .*|peer_listen: 127.0.0.1:$s_peer|" \
    "$conf" >"$scratch/enumdr.yaml"
mkdir -p "$scratch/state" "$scratch/snapshot" "$scratch/incoming"
cat >"$scratch/prepare.sh" <<EOF
if [ -s $scratch/agent.pid ]; then
	p=\$(cat $scratch/agent.pid)
	kill -TERM "\$p" 2>/dev/null
	i=50; while [ "\$i" -gt 0 ] && kill -0 "\$p" 2>/dev/null; do sleep 0.1; i=\$((i - 1)); done
	kill -KILL "\$p" 2>/dev/null
fi
rm -f $scratch/db/enumdr.db $scratch/db/enumdr.db-wal $scratch/db/enumdr.db-shm
cp $base $scratch/db/enumdr.db
$enumdrd -d -c $scratch/enumdr.yaml 2>>$scratch/agent.log </dev/null >/dev/null &
echo \$! >$scratch/agent.pid
i=100; while [ "\$i" -gt 0 ]; do
	$enumdr -c $scratch/enumdr.yaml agent status >/dev/null 2>&1 && exit 0
	sleep 0.05; i=\$((i - 1))
done
exit 1
EOF
sh "$scratch/prepare.sh" &&
	"$enumdr" -c "$scratch/enumdr.yaml" snapshot import "$W/export" >/dev/null ||
	die "snapshot import into the scratch copy failed"
run_hyperfine -N --style basic --warmup 1 --runs 10 \
    --prepare "sh $scratch/prepare.sh" \
    -n "enumdr snapshot import" "$enumdr -c $scratch/enumdr.yaml snapshot import $W/export" \
    -n "sqlite3 .restore (baseline)" "sqlite3 $scratch/db/enumdr.db \".restore $W/export/enumdr-snapshot.db\""
[ -s "$scratch/agent.pid" ] && _bench_kill "$(cat "$scratch/agent.pid")"
after=$(sqlite3 -readonly "$scratch/db/enumdr.db" "SELECT count(*) FROM number")
[ "$after" = "$N" ] || die "after the last restore the scratch copy holds $after numbers"

r_exp=$(ratio "enumdr snapshot export" "sqlite3 .backup (baseline)")
r_imp=$(ratio "enumdr snapshot import" "sqlite3 .restore (baseline)")
need "$r_exp" "$r_imp"
note "Database: $count numbers in zone $zone (serial $serial, journal $jpos), $size bytes; snapshot file $snapsize bytes. Filled through enumdrd in $((t1 - t0)) s ($((N / 1000)) \`POST /v1/batch\` of 1000 changes, each one committed transaction); the export is a request to the agent with its listener closed, the import one to a scratch agent restarted on a fresh copy before each run (not timed)."
note ""
note "- export: $(ms "enumdr snapshot export") vs $(ms "sqlite3 .backup (baseline)") for the bare copy — ratio $r_exp. The difference is what the snapshot adds to a copy: switching the copy to journal_mode=DELETE, fsync of the file and its directory, the SHA-256 of the whole copy and the serial file (written atomically)."
note "- import: $(ms "enumdr snapshot import") vs $(ms "sqlite3 .restore (baseline)") for a page-by-page restore — ratio $r_imp. The import verifies first (size, SHA-256, \`PRAGMA quick_check\`, schema, uuid, zones and serials against the serial file), then, in one transaction, checks every row by the provisioning rules (lib/rowcheck.c: number syntax and zone, canonical NAPTR text, parameters) and deletes and re-inserts every row (index maintenance, WAL), where .restore copies pages and checks nothing."
write_results "snapshot: export / sqlite3 .backup = $r_exp, import / sqlite3 .restore = $r_imp ($N numbers)"
