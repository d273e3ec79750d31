#!/bin/sh
# bench/provision.sh — provisioning throughput through enumdrd: what a
# committed change costs on top of the HTTP request that carries it.
# enumdrd runs on 127.0.0.1 with the listener open, no peers and no load
# steps (no DNS server), so a POST /v1/numbers costs the request, the JSON
# checks and one SQLite transaction (number, zone serial bump, journal row)
# committed with synchronous=FULL (fsync'd) before the 201.
# Two pairs, each side by side in one hyperfine run:
#   one curl per request:  a shell loop of P (200) sequential `curl` POSTs of
#       one new number each (every answer must be 201) vs the same loop of P
#       `curl` GETs of the heartbeat (every answer 200): the same process and
#       HTTP cost without the commit;
#   one keep-alive connection:  one `curl -K CONFIG` sending the P POSTs one
#       after the other on one connection vs the same for P heartbeat GETs:
#       the process start is paid once, so the ratio isolates the commit.
# Every run provisions numbers nobody provisioned before (a counter file).
# Writes bench/results/provision.md.
. "$(dirname "$0")/lib.sh"
bench_init provision

P=${BENCH_POSTS:-200}
start_agent A "$W/A"
prov=$AGENT_PROV
peer=$AGENT_PEER
echo 0 >"$W/next"

# The loop scripts read their settings from $W/params (one small file).
cat >"$W/params" <<EOF
W=$W
P=$P
prov=$prov
peer=$peer
EOF

# --- one curl process per request --------------------------------------------
# Each iteration forks exactly one process, curl; the answer codes are
# collected in a file and counted once at the end.  Number i is
# +4680(1000000 + i).
cat >"$W/post-loop.sh" <<'EOF'
# P sequential POST /v1/numbers, one curl each, numbers from the counter.
. "$(dirname "$0")/params"
n=$(cat "$W/next"); echo $((n + P)) >"$W/next"
: >"$W/codes"
i=$n
while [ $i -lt $((n + P)) ]; do
	e=+4680$((1000000 + i))
	curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
	    --data-binary "{\"e164\":\"$e\",\"naptr\":[{\"order\":100,\"preference\":10,\"flags\":\"u\",\"service\":\"E2U+sip\",\"regexp\":\"!^.*\$!sip:$e@ims.example.net!\",\"replacement\":\".\"}]}" \
	    "$prov/v1/numbers" >>"$W/codes"
	i=$((i + 1))
done
ok=$(grep -c '^201$' "$W/codes")
[ "$ok" = "$P" ] || { echo "POSTs: $ok of $P answered 201" >&2; exit 1; }
EOF
cat >"$W/get-loop.sh" <<'EOF'
# P sequential GET /v1/heartbeat, one curl each (the same shell work).
. "$(dirname "$0")/params"
n=$(cat "$W/next"); echo $n >"$W/next.get"
: >"$W/codes"
i=$n
while [ $i -lt $((n + P)) ]; do
	e=+4680$((1000000 + i))
	curl -s -o /dev/null -w '%{http_code}\n' -H "X-Number: $e" \
	    "$peer/v1/heartbeat" >>"$W/codes"
	i=$((i + 1))
done
ok=$(grep -c '^200$' "$W/codes")
[ "$ok" = "$P" ] || { echo "GETs: $ok of $P answered 200" >&2; exit 1; }
EOF

# --- one curl process, one keep-alive connection ------------------------------
# A curl config of P requests separated by "next", written by one awk (the
# same for both sides), then one curl; every status must be the expected one.
cat >"$W/post-keepalive.sh" <<'EOF'
. "$(dirname "$0")/params"
n=$(cat "$W/next"); echo $((n + P)) >"$W/next"
awk -v n="$n" -v p="$P" -v url="$prov/v1/numbers" 'BEGIN {
	q = "\\\""	# a quote inside a quoted config value
	for (i = n; i < n + p; i++) {
		e = sprintf("+4680%d", 1000000 + i)
		if (i > n) print "next"
		print "url = \"" url "\""
		print "header = \"Content-Type: application/json\""
		print "data-binary = \"{" q "e164" q ":" q e q "," q "naptr" q ":[{" \
		    q "order" q ":100," q "preference" q ":10," q "flags" q ":" q "u" q "," \
		    q "service" q ":" q "E2U+sip" q "," q "regexp" q ":" q "!^.*$!sip:" e \
		    "@ims.example.net!" q "," q "replacement" q ":" q "." q "}]}\""
		print "output = \"/dev/null\""
		print "write-out = \"%{http_code}\\n\""
	}
}' >"$W/post.cfg"
ok=$(curl -s -K "$W/post.cfg" | grep -c '^201$')
[ "$ok" = "$P" ] || { echo "keep-alive POSTs: $ok of $P answered 201" >&2; exit 1; }
EOF
cat >"$W/get-keepalive.sh" <<'EOF'
. "$(dirname "$0")/params"
n=$(cat "$W/next"); echo $n >"$W/next.get"
awk -v n="$n" -v p="$P" -v url="$peer/v1/heartbeat" 'BEGIN {
	for (i = n; i < n + p; i++) {
		e = sprintf("+4680%d", 1000000 + i)
		if (i > n) print "next"
		print "url = \"" url "\""
		print "header = \"X-Number: " e "\""
		print "output = \"/dev/null\""
		print "write-out = \"%{http_code}\\n\""
	}
}' >"$W/get.cfg"
ok=$(curl -s -K "$W/get.cfg" | grep -c '^200$')
[ "$ok" = "$P" ] || { echo "keep-alive GETs: $ok of $P answered 200" >&2; exit 1; }
EOF

# Every script must work before anything is measured.
for s in post-loop get-loop post-keepalive get-keepalive; do
	sh "$W/$s.sh" || die "$s.sh failed"
done
count=$(sqlite3 -readonly "$AGENT_DB" "SELECT count(*) FROM number")
[ "$count" = $((2 * P)) ] ||
	die "after the trial runs the database holds $count numbers, expected $((2 * P))"
e=+4680$((1000000 + P))
naptr=$(sqlite3 -readonly "$AGENT_DB" "SELECT naptr FROM number WHERE e164 = '$e'")
case $naptr in
*"sip:$e@ims.example.net"*) ;;
*) die "keep-alive POST of $e stored an unexpected record: $naptr" ;;
esac

a1="$P POSTs, one curl each"
b1="$P heartbeat GETs, one curl each (baseline)"
a2="$P POSTs, one keep-alive curl"
b2="$P heartbeat GETs, one keep-alive curl (baseline)"
run_hyperfine -N --style basic --warmup 1 --runs 3 \
    -n "$a1" "sh $W/post-loop.sh" \
    -n "$b1" "sh $W/get-loop.sh"
run_hyperfine -N --style basic --warmup 1 --runs 10 \
    -n "$a2" "sh $W/post-keepalive.sh" \
    -n "$b2" "sh $W/get-keepalive.sh"

total=$(cat "$W/next")
count=$(sqlite3 -readonly "$AGENT_DB" "SELECT count(*) FROM number")
serial=$(sqlite3 -readonly "$AGENT_DB" "SELECT serial FROM zone WHERE origin = '$zone'")
jpos=$(sqlite3 -readonly "$AGENT_DB" "SELECT max(seq) FROM journal")
[ "$count" = "$total" ] && [ "$serial" = $((total + 1)) ] && [ "$jpos" = "$total" ] ||
	die "database: $count numbers, serial $serial, journal $jpos; expected $total, $((total + 1)), $total"

r1=$(ratio "$a1" "$b1")
r2=$(ratio "$a2" "$b2")
need "$r1" "$r2"
per() {  # per A B — (mean A - mean B) / P in ms, and P / mean A per second
	awk -v a="$(mean "$1")" -v b="$(mean "$2")" -v p="$P" \
	    'BEGIN { printf "%.2f ms more per change, %.0f changes/s", (a - b) * 1000 / p, p / a }'
}
note "enumdrd with an empty zone at the start, listener open, no peers, no load steps. Each run adds $P new numbers; after all runs (trial, warmup, measured) the database held $count numbers, zone serial $serial, journal $jpos — every POST answered 201 and committed exactly one change."
note ""
note "- one curl per request: $(ms "$a1") vs $(ms "$b1") for $P heartbeat GETs — ratio $r1 ($(per "$a1" "$b1"))"
note "- one keep-alive connection: $(ms "$a2") vs $(ms "$b2") — ratio $r2 ($(per "$a2" "$b2"))"
note ""
note "The extra time per change is the JSON checks and the SQLite transaction committed with synchronous=FULL (WAL fsync) before the answer; the keep-alive pair shows it without the cost of starting a curl process per request."
write_results "provision: $P POSTs / $P heartbeat GETs = $r1 (one curl each), $r2 (one keep-alive connection)"
