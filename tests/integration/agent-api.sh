#!/bin/sh
# agent-api.sh — the room agent enumdrd end to end on loopback (issue 3;
# S0.5 listener open only while active, S1.4 reads while closed, S0.7
# journal position): the real enumdrd driven with curl and `enumdr agent`.
#  - closed at start: every change 503 naming the room, database unchanged;
#    reads served;
#  - the control socket refuses a user who is not root nor the agent's
#    (socket permissions, and SO_PEERCRED when the socket lets them in);
#  - open: add / replace / remove / batch / read; every acknowledged change
#    is in the database, the zone serial moved by exactly the number of
#    changes, the journal rows are in order (GET /v1/journal, read by the
#    strict journal client too: lib/peerproto.c);
#  - bad input (malformed JSON, invalid E.164, bad NAPTR field, unknown
#    zone, oversized body, unknown field, failing batch): a 4xx naming the
#    problem, serial and journal position unchanged;
#  - peer API: heartbeat, journal arguments and limits, upload names and
#    size limits;
#  - the control socket's writing requests: bounded bodies, the HTTP API's
#    parser and messages; no poll of the database (a sqlite3 change is not
#    published);
#  - the journal's long-poll (issue 14): answered empty after wait_ms,
#    at once by a commit, and at SIGTERM;
#  - SIGTERM: exit 0, control socket removed.
# Needs root (setpriv to another uid), curl, sqlite3.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

need_root
need_cmd curl sqlite3 setpriv ss python3
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
client="$top_builddir/tests/unit/transfer_client"
need_built "$enumdr" "$enumdrd" "$client"

make_tmpdir T enumdr-agent-api
chmod 0711 "$T"		# the other uid must reach the config and socket
pick_port prov_port
pick_port peer_port
zone=6.4.e164.arpa
prov=http://127.0.0.1:$prov_port
peer=http://127.0.0.1:$peer_port
mkdir -p "$T/A" "$T/ctl"
chmod 0755 "$T/A" "$T/ctl"
conf=$T/A/enumdr.yaml
cat >"$conf" <<EOF
room: A
database: $T/A/db/enumdr.db
snapshot_dir: $T/A/snapshot
incoming_dir: $T/A/incoming
state_dir: $T/A/state
agent:
  provisioning_listen: 127.0.0.1:$prov_port
  peer_listen: 127.0.0.1:$peer_port
  control_socket: $T/ctl/control.sock
  snapshot_interval_s: 0
EOF
chmod 0644 "$conf"
A() { "$enumdr" -c "$conf" "$@"; }
db() { sqlite3 -readonly "$T/A/db/enumdr.db" "$@"; }
serial() { db "SELECT serial FROM zone WHERE origin = '$zone'"; }
jpos() { db "SELECT coalesce(max(seq), 0) FROM journal"; }
nnumbers() { db "SELECT count(*) FROM number"; }

req() {  # req METHOD PATH [BODY] — sets $code and $body
	if [ $# -ge 3 ]; then
		code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$1" \
		    -H 'Content-Type: application/json' --data-binary "$3" \
		    "$prov$2")
	else
		code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$1" "$prov$2")
	fi
	body=$(cat "$T/body")
}
naptr() {  # naptr USER — one E2U+sip record as JSON
	printf '[{"order":100,"preference":10,"flags":"u","service":"E2U+sip","regexp":"!^.*$!sip:%s@ims.example!","replacement":"."}]' "$1"
}
heartbeat() { curl -s "$peer/v1/heartbeat"; }
journal() { "$client" journal "$peer/v1/journal" "$@"; }  # ROOM AFTER LIMIT WAIT_MS [POLLS]

A init --zone $zone:1000 >/dev/null
ok $? "room A: database and zone $zone (serial 1000)"

out=$("$enumdrd" -n -c "$conf"); ok $? "enumdrd -n: configuration OK"
like "$out" "configuration OK" "enumdrd -n says so"
"$enumdrd" -x 2>/dev/null; is $? 64 "enumdrd: unknown option exits 64"

bg_start agent "$enumdrd" -d -c "$conf" 2>>"$T/agent.log"
wait_for 10 curl -sf "$peer/v1/heartbeat"; ok $? "agent answers its heartbeat"
"$enumdrd" -d -c "$conf" 2>"$T/second.log"
is $? 69 "a second agent for the same room refuses to start (exit 69)"
like "$(cat "$T/second.log")" "control socket .* is in use: another enumdrd runs" "it says why"
sed "s|$T/A/db/enumdr.db|$T/A/db/missing.db|; s|$T/ctl/control.sock|$T/ctl/other.sock|" "$conf" >"$T/missing.yaml"
"$enumdrd" -d -c "$T/missing.yaml" 2>"$T/second.log"
is $? 74 "a missing database: exit 74"
like "$(cat "$T/second.log")" "does not exist: create it with .enumdr init. first" "it says what to do"
hb=$(heartbeat)
like "$hb" '"room":"A","role":"UNKNOWN","listener":"closed"' "starts closed (S0.5), role unknown"
like "$hb" "\"zones\":\\[\\{\"origin\":\"$zone\",\"serial\":1000\\}\\]" "heartbeat carries the zone serial"
like "$hb" '"journal":0,' "heartbeat carries the journal position"
like "$hb" '"snapshot":null' "no snapshot yet"

# --- closed: changes refused, reads served --------------------------------
req POST /v1/numbers "{\"e164\":\"+46701\",\"naptr\":$(naptr a)}"
is "$code" 503 "closed: add answers 503"
like "$body" '"error":"provisioning closed in room A"' "closed: the error names the room"
req PUT /v1/numbers/+46701 "{\"naptr\":$(naptr a)}"
is "$code" 503 "closed: replace answers 503"
req DELETE /v1/numbers/+46701
is "$code" 503 "closed: remove answers 503"
req POST /v1/batch "{\"changes\":[{\"op\":\"add\",\"e164\":\"+46702\",\"naptr\":$(naptr b)}]}"
is "$code" 503 "closed: batch answers 503"
req POST /v1/numbers '{"e164":"+46abc"'
is "$code" 503 "closed: even a malformed change answers 503"
req GET /v1/numbers/+46701
is "$code" 404 "closed: reads are served (S1.4): unknown number 404"
is "$(serial) $(jpos) $(nnumbers)" "1000 0 0" "closed: database unchanged"

# --- the control socket refuses other users --------------------------------
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody "$enumdr" -c "$conf" agent open 2>"$T/err"
is $? 77 "uid 65534 without access to the socket: refused (exit 77)"
like "$(cat "$T/err")" "Permission denied" "the refusal says why"
chgrp 65534 "$T/ctl/control.sock"	# let the group in: SO_PEERCRED decides
nobody "$enumdr" -c "$conf" agent open 2>"$T/err"
is $? 77 "uid 65534 through the socket: refused by the agent (exit 77)"
like "$(cat "$T/err")" "permission denied for uid 65534" "the agent names the uid"
like "$(heartbeat)" '"listener":"closed"' "listener still closed after the refused open"
like "$(cat "$T/agent.log")" 'request "open" of uid 65534 .*refused' "the agent logs the refusal"

# --- open ----------------------------------------------------------------
out=$(A agent open); ok $? "enumdr agent open"
like "$out" "room A: provisioning listener open" "open: says so"
like "$(heartbeat)" '"listener":"open"' "heartbeat: listener open"
A agent role MASTER-LOADING >/dev/null; ok $? "role MASTER-LOADING (a takeover step enumdr-notify reports)"
like "$(heartbeat)" '"role":"MASTER-LOADING"' "heartbeat: role MASTER-LOADING"
A agent role master >/dev/null; ok $? "enumdr agent role master (case-insensitive)"
like "$(heartbeat)" '"role":"MASTER"' "heartbeat: role MASTER"
A agent role PRIMARY 2>/dev/null; is $? 1 "role PRIMARY: refused by the agent (exit 1)"
A agent frobnicate 2>/dev/null; is $? 64 "agent frobnicate: usage (exit 64)"

req POST /v1/numbers "{\"e164\":\"+46701\",\"naptr\":$(naptr a)}"
is "$code" 201 "add +46701: 201"
is "$body" "{\"e164\":\"+46701\",\"zone\":\"$zone\",\"serial\":1001,\"journal\":1}" "add: zone, serial, journal position"
req POST /v1/numbers "{\"e164\":\"+46702\",\"naptr\":$(naptr b)}"
is "$code" 201 "add +46702: 201"
req POST /v1/numbers "{\"e164\":\"+46703\",\"naptr\":$(naptr c)}"
is "$code" 201 "add +46703: 201"
req PUT /v1/numbers/+46702 "{\"naptr\":$(naptr b2)}"
is "$code" 200 "replace +46702: 200"
like "$body" '"serial":1004,"journal":4' "replace: serial 1004, journal 4"
req DELETE /v1/numbers/%2B46703
is "$code" 200 "remove +46703 (path %2B-encoded): 200"
req POST /v1/batch "{\"changes\":[{\"op\":\"add\",\"e164\":\"+46704\",\"naptr\":$(naptr d)},{\"op\":\"add\",\"e164\":\"+46705\",\"naptr\":$(naptr e)},{\"op\":\"replace\",\"e164\":\"+46701\",\"naptr\":$(naptr a2)}]}"
is "$code" 200 "batch of 3: 200"
like "$body" '"changes":3,"journal":8' "batch: 3 changes, journal 8"
like "$body" '"op":"replace","e164":"\+46701","zone":"6.4.e164.arpa","serial":1008,"journal":8' "batch: per-change results"
req GET /v1/numbers/+46701
is "$code" 200 "read +46701: 200"
like "$body" 'sip:a2@ims.example' "read shows the replaced record"
req GET /v1/numbers/+46703
is "$code" 404 "read removed +46703: 404"

# 8 acknowledged changes: every one in the database, serial +8, journal 1..8
is "$(serial) $(jpos)" "1008 8" "zone serial moved by exactly 8, journal position 8"
is "$(db "SELECT group_concat(e164, ' ') FROM (SELECT e164 FROM number ORDER BY e164)")" \
	"+46701 +46702 +46704 +46705" "the database holds exactly the acknowledged numbers"
like "$(A provision show +46702)" 'sip:b2@ims.example' "enumdr provision show: the replaced record"
j=$(curl -s "$peer/v1/journal?after=0")
is "$(printf '%s' "$j" | grep -o '"seq":[0-9]*,"txn":[0-9]*,"at":"[^"]*","op":"[a-z]*","e164":"[^"]*"' |
	sed 's/"seq":\([0-9]*\),"txn":[0-9]*,"at":"[^"]*","op":"\([a-z]*\)","e164":"\([^"]*\)"/\1:\2:\3/' | tr '\n' ' ')" \
	"1:add:+46701 2:add:+46702 3:add:+46703 4:replace:+46702 5:remove:+46703 6:add:+46704 7:add:+46705 8:replace:+46701 " \
	"GET /v1/journal: the 8 changes in order"
like "$j" '^\{"v":1,"room":"A","database":"[0-9a-f]{32}","after":0,"first":1,"last":8,"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z","changes":\[' \
	"journal: version, room, database, after, first, last, time"
like "$j" "\"database\":\"$(db "SELECT uuid FROM database_identity")\"" "journal: the database's uuid"
j=$(curl -s "$peer/v1/journal?after=3&limit=2")
is "$(printf '%s' "$j" | grep -o '"seq":[0-9]*,"txn":[0-9]*' | tr '\n' ' ')" '"seq":4,"txn":4 "seq":5,"txn":5 ' \
	"journal after=3 limit=2: changes 4 and 5, each its own transaction"
j=$(curl -s "$peer/v1/journal?after=5&limit=2")
like "$j" '"after":5,"first":1,"last":8,' "journal after=5 limit=2: the bounds"
is "$(printf '%s' "$j" | grep -o '"seq":[0-9]*,"txn":[0-9]*' | tr '\n' ' ')" '"seq":6,"txn":6 "seq":7,"txn":6 "seq":8,"txn":6 ' \
	"... changes 6 and 7, and 8: an answer ends at a transaction boundary (the batch)"
like "$j" "\"origin\":\"$(db "SELECT uuid FROM database_identity")\",\"oseq\":6,\"hlc\":[1-9][0-9]*,\"room\":\"A\"" \
	"... each change with its identity: this database, oseq, hlc, room A"
out=$(journal B 0 1000 0); ok $? "the strict journal client (peerproto_journal_get) reads the answer"
like "$out" '^after=0 first=1 last=8 rows=8 ms=[0-9]+ 1:add:\+46701:[0-9a-f]{32} 2:add:\+46702:[0-9a-f]{32} 3:add:\+46703:[0-9a-f]{32} 4:replace:\+46702:[0-9a-f]{32} 5:remove:\+46703:[0-9a-f]{32} ' \
	"... every change, in order"
out=$(journal B 3 2 0 3); ok $? "three polls on one client (its handle, and so its connection, kept between them)"
is "$(printf '%s\n' "$out" | sed 's/ ms=[0-9]*//; s/:[^ ]*//g')" "after=3 first=1 last=8 rows=2 4 5
after=5 first=1 last=8 rows=3 6 7 8
after=8 first=1 last=8 rows=0" "... each after the last change the one before got (limit 2 completes the batch)"
out=$(journal B 8 100 1000); ok $? "a long-poll with nothing new"
like "$out" '^after=8 first=1 last=8 rows=0 ms=[12][0-9]{3}$' "... answers empty once wait_ms (1 s) is over"
out=$(journal B 2 100 1000); ok $? "a long-poll with news"
like "$out" '^after=2 first=1 last=8 rows=6 ms=[0-9]{1,3} ' "... answers at once"
for q in after=-1:after after=x:after limit=0:limit wait_ms=25001:wait_ms \
    wait_ms=-5:wait_ms wait_ms=1.5:wait_ms room=a%20b:room room=:room \
    "room=$(printf '%064d' 0):room" colour=red:query; do
	code=$(curl -s -o "$T/body" -w '%{http_code}' "$peer/v1/journal?${q%:*}")
	is "$code" 400 "journal ${q%:*}: 400"
	like "$(cat "$T/body")" "\"field\":\"${q##*:}\"" "... naming ${q##*:}"
done
like "$(cat "$T/body")" 'allowed: after, limit, wait_ms, room' "an unknown parameter: the allowed ones named"
code=$(curl -s -o "$T/body" -w '%{http_code}' "$peer/v1/journal?after=0&limit=1&wait_ms=0&room=Z")
is "$code" 200 "a room that is no peer of ours: answered (no acknowledgement)"
like "$(heartbeat)" "\"journal\":8,\"zones\":\\[\\{\"origin\":\"$zone\",\"serial\":1008\\}" "heartbeat: serial 1008, journal 8"

# --- bad input: a 4xx naming the problem, nothing written -----------------
req POST /v1/numbers '{"e164":"+46709",'
is "$code" 400 "malformed JSON: 400"
like "$body" 'malformed JSON at line 1, column [0-9]+' "malformed JSON: line and column"
req POST /v1/numbers "{\"e164\":\"+46abc\",\"naptr\":$(naptr x)}"
is "$code" 400 "invalid E.164: 400"
like "$body" '"field":"e164"' "invalid E.164: names the field"
like "$body" 'invalid E.164 number' "invalid E.164: says so"
req POST /v1/numbers "{\"e164\":\"+3312345\",\"naptr\":$(naptr x)}"
is "$code" 422 "unknown zone: 422"
like "$body" 'no zone covers \+3312345' "unknown zone: names the number"
req POST /v1/numbers "{\"e164\":\"+46709\",\"naptr\":$(naptr x),\"colour\":\"red\"}"
is "$code" 400 "unknown field: 400"
like "$body" 'unknown field \\"colour\\".*"field":"colour"' "unknown field: named"
req POST /v1/numbers '{"e164":"+46709","naptr":[{"order":100,"preference":10,"flags":"u","service":"E2U+sip","regexp":"no-delims"}]}'
is "$code" 400 "bad NAPTR regexp: 400"
like "$body" '"field":"naptr\[0\]\.regexp"' "bad NAPTR regexp: names naptr[0].regexp"
req POST /v1/numbers '{"e164":"+46709","naptr":[{"order":70000,"preference":10,"service":"E2U+sip","regexp":"!^.*$!sip:x@y!"}]}'
is "$code" 400 "NAPTR order out of range: 400"
like "$body" '"field":"naptr\[0\]\.order"' "order out of range: names naptr[0].order"
head -c 1100000 /dev/zero | tr '\0' 'x' >"$T/big"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST --data-binary @"$T/big" "$prov/v1/numbers")
is "$code" 413 "body over 1 MiB: 413"
like "$(cat "$T/body")" 'limit of 1048576 bytes' "oversized: names the limit"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/big" "$prov/v1/numbers")
is "$code" 413 "chunked body over 1 MiB: 413"
req POST /v1/numbers "{\"e164\":\"+46701\",\"naptr\":$(naptr x)}"
is "$code" 409 "add of an existing number: 409"
req PUT /v1/numbers/+46799 "{\"naptr\":$(naptr x)}"
is "$code" 404 "replace of a missing number: 404"
req PUT /v1/numbers/+46701 "{\"e164\":\"+46702\",\"naptr\":$(naptr x)}"
is "$code" 400 "replace: body naming another number: 400"
req POST /v1/batch "{\"changes\":[{\"op\":\"add\",\"e164\":\"+46710\",\"naptr\":$(naptr x)},{\"op\":\"add\",\"e164\":\"+3399\",\"naptr\":$(naptr y)}]}"
is "$code" 422 "batch with an uncovered number: 422"
like "$body" '"field":"changes\[1\]\.e164","index":1' "batch error names changes[1]"
req GET /v1/numbers/+46710
is "$code" 404 "batch is all or none: its first change is not there"
req POST /v1/batch '{"changes":[{"op":"move","e164":"+46711"}]}'
is "$code" 400 "batch: unknown op: 400"
like "$body" '"field":"changes\[0\]\.op"' "unknown op: names changes[0].op"
req GET /v1/batch
is "$code" 405 "GET /v1/batch: 405"
req GET /v1/nothing
is "$code" 404 "unknown resource: 404"
is "$(serial) $(jpos) $(nnumbers)" "1008 8 4" "after every bad request: serial, journal and numbers unchanged"

# --- peer API limits ---------------------------------------------------------
code=$(curl -s -o "$T/body" -w '%{http_code}' "$peer/v1/journal?limit=20000")
is "$code" 400 "journal limit over 10000: 400"
code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is -T "$conf" "$peer/v1/incoming/../enumdr.yaml")
is "$code" 404 "upload outside the two names (../): 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$conf" "$peer/v1/incoming/other-name")
is "$code" 404 "upload of another name: 404"
code=$(curl -s -o "$T/body" -w '%{http_code}' -T "$T/big" "$peer/v1/incoming/enumdr-serials")
is "$code" 413 "serial file upload over 1 MiB: 413"
test ! -e "$T/A/incoming/enumdr-serials" && test -z "$(ls "$T/A/incoming")"
ok $? "refused uploads leave nothing in incoming_dir"
printf 'hello\n' >"$T/small"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$T/small" "$peer/v1/incoming/enumdr-serials")
is "$code" 201 "serial file upload: 201"
is "$(cat "$T/A/incoming/enumdr-serials")" hello "the upload arrived whole under its name"
code=$(curl -s -o /dev/null -w '%{http_code}' "$peer/v1/snapshot/enumdr-serials")
is "$code" 404 "no snapshot exported yet: 404"
out=$(A agent snapshot); ok $? "enumdr agent snapshot (no peers): export"
like "$out" "journal 8" "snapshot: journal 8"
curl -s -o "$T/fetched" "$peer/v1/snapshot/enumdr-serials"
like "$(cat "$T/fetched")" "zone $zone 1008" "GET /v1/snapshot/enumdr-serials: serial 1008"
like "$(heartbeat)" '"snapshot":\{"created":"[^"]*","journal":8,' "heartbeat names the snapshot"

# --- close again, status, SIGTERM ---------------------------------------------
A agent close >/dev/null; ok $? "enumdr agent close"
req POST /v1/numbers "{\"e164\":\"+46720\",\"naptr\":$(naptr z)}"
is "$code" 503 "closed again: add refused"
out=$(A agent status); ok $? "enumdr agent status"
like "$out" "listener   closed" "status: listener closed"
like "$out" "role       MASTER" "status: role"
like "$out" "zone       $zone +serial +1008" "status: zone serial"
like "$out" "journal    8" "status: journal position"
like "$(A --json agent status)" '"ok":true,"room":"A"|"room":"A"' "status --json: the agent's JSON"
# --- the control socket's writing requests (issue 13: the only writer) -----------
ctl() {  # ctl LINE [BODY] — the raw reply of one control request (python3)
	python3 - "$T/ctl/control.sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n" + (sys.argv[3].encode() if len(sys.argv) > 3 else b""))
if len(sys.argv) > 4:   # announced more than sent: keep the connection half-open
	s.shutdown(socket.SHUT_WR)
out = b""
while True:
	b = s.recv(65536)
	if not b:
		break
	out += b
print(out.decode().strip())
PY
}
like "$(ctl 'provision 0')" '"ok":false,"error":"provision: LEN must be 1 to 1048576' "control: provision 0 refused"
like "$(ctl 'provision 2000000')" '"status":400' "control: a body over 1 MiB refused before it is read"
like "$(ctl 'provision 50' '{"changes":[]}' short)" '"error":"request body shorter than announced"' \
	"control: a body shorter than announced refused"
like "$(ctl 'provision 9' '{"changes')" '"error":"malformed JSON at line 1' "control: malformed body: the HTTP API's parser's message"
b='{"changes":[{"op":"add","e164":"+46x"}]}'
like "$(ctl "provision ${#b}" "$b")" \
	'"field":"changes\[0\].e164"' "control: an invalid number names the field as the HTTP API does"
like "$(ctl 'open' 'junk')" '"error":"only provision takes a body"' "control: a body on another request refused"
like "$(ctl 'import /nonexistent')" '"status":400' "control: import of a missing directory refused (closed)"
is "$(serial) $(jpos) $(nnumbers)" "1008 8 4" "control: refused requests changed nothing"

# --- no poll: a change made past the agent is not seen (unsupported) ------------
sqlite3 "$T/A/db/enumdr.db" "UPDATE zone SET serial = 4242 WHERE origin = '$zone'"
sleep 2.5
like "$(heartbeat)" "\"origin\":\"$zone\",\"serial\":1008" \
	"no poll: a change made with sqlite3 past the agent is not published (2.5 s later)"
sqlite3 "$T/A/db/enumdr.db" "UPDATE zone SET serial = 1008 WHERE origin = '$zone'"

# --- the journal's long-poll: a commit answers it at once, SIGTERM too --------
A agent open >/dev/null; ok $? "open again"
journal B 8 100 20000 >"$T/poll" 2>&1 &
poller=$!
sleep 0.5
req POST /v1/numbers "{\"e164\":\"+46721\",\"naptr\":$(naptr p)}"
is "$code" 201 "an add while a peer long-polls"
wait $poller; ok $? "the long-poll answered"
like "$(cat "$T/poll")" '^after=8 first=1 last=9 rows=1 ms=[0-9]+ 9:add:\+46721:[0-9a-f]{32}$' "... with the new change"
ms=$(sed -n 's/.* ms=\([0-9]*\) .*/\1/p' "$T/poll")
[ "${ms:-0}" -ge 300 ] && [ "${ms:-0}" -lt 5000 ]
ok $? "... woken by the commit (${ms} ms, not the 20 s wait)"
journal B 9 100 20000 >"$T/poll" 2>&1 &
poller=$!
sleep 0.5

t0=$(date +%s)
kill -TERM "$agent"
wait "$agent"; is $? 0 "SIGTERM: exit 0"
wait $poller
[ $(($(date +%s) - t0)) -lt 8 ]; ok $? "SIGTERM with a long-poll pending: no wait for it (repl_wake)"
like "$(cat "$T/agent.log")" "room A: agent stopped" "logs its stop"
test ! -e "$T/ctl/control.sock"; ok $? "control socket removed"
A agent status 2>/dev/null; is $? 69 "agent status with no agent: exit 69"
is "$(serial) $(jpos) $(nnumbers)" "1009 9 5" "database intact after the stop"
done_testing
