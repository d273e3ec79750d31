#!/bin/sh
# bench/checker.sh — what one run of each health checker costs (keepalived
# starts one every second or two in every room), side by side in one
# hyperfine run with the bare HTTP request it makes:
#   baseline:  `curl -s http://127.0.0.1:PORT/v1/heartbeat` (process start,
#              libcurl, one loopback GET of the agent's heartbeat);
#   enumdr-check-service -c CONF  against a running enumdrd (role MASTER,
#              listener open) whose database holds 100k numbers: heartbeat +
#              JSON checks + read-only open of the database + the zone query;
#   enumdr-check-service -c CONF  the same against an agent whose database
#              holds no number: the two rows together show that the cost does
#              not grow with the database;
#   enumdr-check-peer -c CONF  room B's peer checker asking room A's agent
#              (the 100k one): heartbeat + JSON checks + its state file
#              (written atomically: temporary file, fsync, rename, fsync of
#              the directory).
# Writes bench/results/checker.md.
. "$(dirname "$0")/lib.sh"
bench_init checker

N=${BENCH_NUMBERS:-100000}
say "agent A (full): filling $N numbers through enumdrd"
start_agent A "$W/full"
fill_numbers "$N"
full_conf=$AGENT_CONF
full_peer=$AGENT_PEER
count=$(sqlite3 -readonly "$AGENT_DB" "SELECT count(*) FROM number")
[ "$count" = "$N" ] || die "database holds $count numbers, expected $N"

say "agent A (empty): zone only"
start_agent A "$W/empty"
empty_conf=$AGENT_CONF

# Room B's configuration: its peer A is the full agent.
mkdir -p "$W/B"
cat >"$W/B/enumdr.yaml" <<EOF
room: B
database: $W/B/db/enumdr.db
snapshot_dir: $W/B/snapshot
incoming_dir: $W/B/incoming
state_dir: $W/B/state
peers:
  - name: A
    heartbeat_url: $full_peer/v1/heartbeat
    transfer_url: file://$W/A-incoming/
EOF
mkdir -p "$W/B/state"
b_conf=$W/B/enumdr.yaml

for c in "$check_service -c $full_conf" "$check_service -c $empty_conf" \
    "$check_peer -c $b_conf"; do
	$c || die "not healthy before the benchmark: $c"
done

run_hyperfine -N --style basic --warmup 5 --runs 100 \
    -n "curl heartbeat (baseline)" "curl -s $full_peer/v1/heartbeat" \
    -n "enumdr-check-service (no number)" "$check_service -c $empty_conf" \
    -n "enumdr-check-service (100k numbers)" "$check_service -c $full_conf" \
    -n "enumdr-check-peer" "$check_peer -c $b_conf"

base="curl heartbeat (baseline)"
r_svc=$(ratio "enumdr-check-service (100k numbers)" "$base")
r_svc0=$(ratio "enumdr-check-service (no number)" "$base")
r_peer=$(ratio "enumdr-check-peer" "$base")
r_grow=$(ratio "enumdr-check-service (100k numbers)" "enumdr-check-service (no number)")
need "$r_svc" "$r_svc0" "$r_peer" "$r_grow"
note "Two agents run: one whose database holds $count numbers in $zone, one with the zone and no number; both in role MASTER with the provisioning listener open (no load steps, no DNS server, so no \`--dns\`). The peer checker runs with room B's configuration, its peer A being the full agent; its state file is rewritten on every run."
note ""
note "- baseline \`curl\` GET of the heartbeat: $(ms "$base")"
note "- enumdr-check-service, $count numbers: $(ms "enumdr-check-service (100k numbers)") — ratio $r_svc"
note "- enumdr-check-service, no number: $(ms "enumdr-check-service (no number)") — ratio $r_svc0; full / empty = $r_grow (the check reads the zone table only, never the numbers)"
note "- enumdr-check-peer: $(ms "enumdr-check-peer") — ratio $r_peer"
write_results "checker: check-service / curl heartbeat = $r_svc ($count numbers; $r_svc0 with none), check-peer / curl heartbeat = $r_peer"
