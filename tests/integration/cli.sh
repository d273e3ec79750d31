#!/bin/sh
# cli.sh — the `enumdr` admin command end to end, two rooms on one machine
# (no keepalived yet): provisioning, serials, snapshot export/import and the
# serial-compare sync (S0.1, S0.2) with every outcome, exit codes and the
# data each room holds afterwards.  Every write goes through the room's
# agent enumdrd (the database's only writer, issue 13): without one the
# command says so (exit 69); a change while the listener is closed is
# refused with the provisioning API's 503 reason (exit 75), a sync or an
# import while it is open too.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
need_built "$enumdr" "$enumdrd"
need_cmd sqlite3
make_tmpdir tmp enumdr-cli

room_conf() {  # room_conf NAME
	mkdir -p "$tmp/$1"
	pick_port _prov
	pick_port _peer
	cat >"$tmp/$1/enumdr.yaml" <<EOC
room: $1
database: $tmp/$1/enumdr.db
snapshot_dir: $tmp/$1/snapshot
incoming_dir: $tmp/$1/incoming
state_dir: $tmp/$1/state
agent:
  provisioning_listen: 127.0.0.1:$_prov
  peer_listen: 127.0.0.1:$_peer
  control_socket: $tmp/$1/control.sock
  snapshot_interval_s: 0
EOC
}
A() { "$enumdr" -c "$tmp/A/enumdr.yaml" "$@"; }
B() { "$enumdr" -c "$tmp/B/enumdr.yaml" "$@"; }
room_conf A
room_conf B
open_room() { "$1" agent open >/dev/null; }    # open_room A — provisioning
close_room() { "$1" agent close >/dev/null; }  # close_room A — sync, import

out=$("$enumdr" --help); ok $? "--help exits 0"
like "$out" "provision add NUMBER" "--help shows the synopsis"
like "$("$enumdr" --version)" "^enumdr [0-9]" "--version"
"$enumdr" -c "$tmp/A/enumdr.yaml" frobnicate 2>/dev/null; is $? 64 "unknown command: exit 64"
"$enumdr" -c "$tmp/nonexistent.yaml" zones 2>"$tmp/err"; is $? 78 "missing config: exit 78"
like "$(cat "$tmp/err")" "nonexistent.yaml" "config error names the file"

A init >/dev/null; ok $? "room A init"
B init >/dev/null; ok $? "room B init"

# No agent: every command that writes says so, exit 69, nothing written.
A zone add 6.4.e164.arpa 2>"$tmp/err"; is $? 69 "zone add without an agent: exit 69"
like "$(cat "$tmp/err")" "the room agent enumdrd is not running \(control socket $tmp/A/control.sock" \
	"the message names the agent and its control socket"
A provision add +4681234567 --sip sip:x@y 2>"$tmp/err"; is $? 69 "provision without an agent: exit 69"
like "$(cat "$tmp/err")" "enumdrd is not running" "provision says the agent is not running"
A sync --from "$tmp/B/snapshot" 2>"$tmp/err"; is $? 69 "sync without an agent: exit 69"
is "$(sqlite3 -readonly "$tmp/A/enumdr.db" 'SELECT count(*) FROM zone')" 0 "nothing written without the agent"
like "$(A zones)" "^ZONE" "read-only commands work without the agent"

agent_start agentA "$tmp/A/enumdr.yaml" "$tmp/A/agent.log"; ok $? "room A's agent runs"
agent_start agentB "$tmp/B/enumdr.yaml" "$tmp/B/agent.log"; ok $? "room B's agent runs"
A zone add 6.4.e164.arpa --serial 2026112900 >/dev/null; ok $? "A: add zone 6.4.e164.arpa (listener closed)"
A zone add 1.e164.arpa >/dev/null; ok $? "A: add zone 1.e164.arpa"
A zone add 1.e164.arpa 2>/dev/null; is $? 1 "adding an existing zone fails (exit 1)"
like "$(A agent status)" "zone +6.4.e164.arpa +serial 2026112900" "the agent publishes the zone it added"

# Listener closed: refused with the provisioning API's 503 reason, exit 75.
A provision add +4681234567 --sip sip:+4681234567@ims.a.example 2>"$tmp/err"
is $? 75 "provision add with the listener closed: exit 75"
like "$(cat "$tmp/err")" "provisioning closed in room A" "the refusal is the HTTP API's 503 reason"
is "$(sqlite3 -readonly "$tmp/A/enumdr.db" 'SELECT count(*) FROM number')" 0 "closed: no number written"
is "$(sqlite3 -readonly "$tmp/A/enumdr.db" 'SELECT coalesce(max(seq), 0) FROM journal')" 0 "closed: no journal row"
like "$(A --json serials)" '"serial":2026112900,' "closed: the serial did not move"

open_room A
A provision add +4681234567 --sip sip:+4681234567@ims.a.example >"$tmp/out"
ok $? "A: provision add (listener open)"
is "$(cat "$tmp/out")" "add +4681234567: zone 6.4.e164.arpa serial 2026112901 journal 1" \
	"the output names zone, serial (+1) and journal row"
is "$(sqlite3 -readonly "$tmp/A/enumdr.db" 'SELECT e164, op FROM journal WHERE seq = 1')" "+4681234567|add" \
	"the journal row of the change"
A provision add +15550100 --naptr '100 10 "u" "E2U+sip" "!^\\+1(.*)$!sip:\\1@ims.a.example!" .' \
	--naptr '102 10 "u" "E2U+tel" "!^(.*)$!tel:\1!" .' >/dev/null
ok $? "A: provision add with two NAPTR records"
A provision add +4681234567 --sip sip:x@y 2>"$tmp/err"; is $? 1 "adding an existing number fails"
A provision add +46abc --sip sip:x@y 2>"$tmp/err"; is $? 65 "invalid number: exit 65"
like "$(cat "$tmp/err")" 'invalid E.164 number "\+46abc"' "error names the number"
A provision add +4699 --naptr '100 10 "u" "E2U+sip" "no-delims" .' 2>"$tmp/err"; is $? 65 "invalid NAPTR: exit 65"
like "$(cat "$tmp/err")" "regexp" "error names the NAPTR field"
A provision add +3312345 --sip sip:x@y.example 2>"$tmp/err"; is $? 65 "number without zone: exit 65"
like "$(cat "$tmp/err")" "no zone covers \+3312345" "error names the uncovered number"
A provision remove +4600000000 2>"$tmp/err"; is $? 1 "removing a number that does not exist: exit 1"
like "$(A provision show +15550100)" 'E2U\+tel' "show prints the records"
A sync --from "$tmp/B/snapshot" 2>"$tmp/err"; is $? 75 "sync while the listener is open: exit 75"
like "$(cat "$tmp/err")" "listener of room A is open" "the refusal says why"

serials=$(A --json serials)
like "$serials" '"origin":"6.4.e164.arpa","prefix":"\+46","serial":2026112901,"numbers":1' "6.4 serial moved by one"
like "$serials" '"origin":"1.e164.arpa","prefix":"\+1","serial":2,"numbers":1' "1. serial moved by one"
like "$serials" '"journal":2' "journal position 2"

# Room A exports; room B (empty) syncs from it: peer newer -> import (S0.2 step 4).
A snapshot export >/dev/null; ok $? "A: snapshot export"
test -s "$tmp/A/snapshot/enumdr-serials" && test -s "$tmp/A/snapshot/enumdr-snapshot.db"
ok $? "snapshot directory holds the database and the serial file"
out=$(B sync --from "$tmp/A/snapshot"); is $? 0 "B: sync from A's snapshot"
like "$out" "outcome: peer-newer \(imported\)" "B imported A's data"
like "$(B provision show +4681234567)" "ims.a.example" "B now serves A's number"
like "$(cat "$tmp/B/agent.log")" "control: sync from $tmp/A/snapshot: peer-newer, imported" \
	"the import went through B's agent"
like "$(B agent status)" "zone +6.4.e164.arpa +serial 2026112901" "B's agent publishes the imported serial"
zones_only() { sed 's/"room":"[A-Z]*",//; s/"journal":[0-9]*,//'; }
is "$(B --json serials | zones_only)" "$(A --json serials | zones_only)" \
	"B's zones and serials equal A's (journal aside)"

# Same again: equal -> nothing to do.
out=$(B sync --from "$tmp/A/snapshot"); is $? 0 "second sync exits 0"
like "$out" "outcome: equal" "equal serials: nothing imported"
like "$(B --json sync --from "$tmp/A/snapshot")" '^\{"room":"B","from":"[^"]*","peer":"A","outcome":"equal","imported":false,"zones":\[\{"origin":"1.e164.arpa","own":2,"peer":2,"verdict":"same"\}' \
	"sync --json: the report as before"

# B changes (it took over); A syncs from B: own older -> import.
open_room B
B provision add +4687654321 --sip sip:+4687654321@ims.b.example >/dev/null
B snapshot export >/dev/null
close_room A
out=$(A sync --from "$tmp/B/snapshot"); is $? 0 "A: sync from B"
like "$out" "outcome: peer-newer" "A imports B's newer zone"
like "$(A provision show +4687654321)" "ims.b.example" "A has B's change (failback, S0.7)"

# A newer than B's snapshot: own newer -> nothing.
open_room A
A provision add +4611111111 --sip sip:a@ims.a.example >/dev/null
close_room A
out=$(A sync --from "$tmp/B/snapshot"); is $? 0 "own newer exits 0"
like "$out" "outcome: own-newer" "own newer: nothing imported"
A provision show +4611111111 >/dev/null; ok $? "A's newer number still there"

# Split brain: A newer in 6.4, B newer in 1. -> diverged; the default
# policy (sync.on_diverged: merge, issue 14) merges number by number:
# nothing dropped, both rooms' changes served, exit 0.
B provision add +15550199 --sip sip:b@ims.b.example >/dev/null
B snapshot export >/dev/null
out=$(A sync --from "$tmp/B/snapshot" 2>&1); is $? 0 "diverged and merged: exit 0" || diag "$out"
like "$out" "outcome: diverged" "report says diverged"
like "$out" "merged number by number: 1 versions taken, [0-9]+ kept as newer here, 0 conflicts" \
    "report says what the merge took"
A provision show +4611111111 >/dev/null; ok $? "A's own change kept"
like "$(A provision show +15550199)" "ims.b.example" "B's change merged into A"
kept=$(ls -d "$tmp"/A/state/diverged/B-* 2>/dev/null | head -1)
test -s "$kept/enumdr-snapshot.db" && test -s "$kept/enumdr-serials"
ok $? "B's snapshot kept aside in the quarantine directory all the same"
unlike "$(A alarms)" "id=SYNC_DIVERGED event=raise" "no SYNC_DIVERGED alarm: the merge resolved it"

# Unreadable serial file: clear error, exit 66, data untouched.
mkdir -p "$tmp/empty"
A sync --from "$tmp/empty" 2>"$tmp/err"; is $? 66 "missing serial file: exit 66"
like "$(cat "$tmp/err")" "read peer serial file" "error names the step"
A provision show +4611111111 >/dev/null; ok $? "data untouched after failed sync"

# Corrupted snapshot: refused, live data intact.
cp -r "$tmp/B/snapshot" "$tmp/bad"
printf 'X' | dd of="$tmp/bad/enumdr-snapshot.db" bs=1 seek=5000 conv=notrunc 2>/dev/null
B snapshot import "$tmp/bad" 2>"$tmp/err"; is $? 75 "import while B's listener is open: exit 75"
close_room B
B snapshot import "$tmp/bad" 2>"$tmp/err"; is $? 65 "bit-flipped snapshot refused"
like "$(cat "$tmp/err")" "checksum|sha256" "error names the checksum"
B provision show +15550199 >/dev/null; ok $? "B's data intact"

# The same zone changed in both rooms since they last agreed (room C died
# with a change it had not pushed; room D took over and changed the zone):
# the serials are equal (3 and 3), the zone histories tell (S0.2, S0.8).
room_conf C
room_conf D
C() { "$enumdr" -c "$tmp/C/enumdr.yaml" "$@"; }
D() { "$enumdr" -c "$tmp/D/enumdr.yaml" "$@"; }
C init --zone 6.4.e164.arpa >"$tmp/out" && D init >/dev/null
ok $? "room C created with its zone by init --zone, room D empty"
like "$(cat "$tmp/out")" "zone 6.4.e164.arpa added, serial 1" "init --zone says what it added"
agent_start agentC "$tmp/C/enumdr.yaml" "$tmp/C/agent.log" &&
agent_start agentD "$tmp/D/enumdr.yaml" "$tmp/D/agent.log"; ok $? "rooms C and D have agents"
C init --zone 1.e164.arpa 2>"$tmp/err"; is $? 1 "init --zone while the agent runs: refused"
like "$(cat "$tmp/err")" "add zones through it" "... and says to use the agent"
open_room C && C provision add +4650000001 --sip sip:one@ims.c.example >/dev/null &&
C snapshot export >/dev/null && D sync --from "$tmp/C/snapshot" >/dev/null
ok $? "rooms C and D agree (D imported C's snapshot)"
C provision add +4650000002 --sip sip:unpushed@ims.c.example >/dev/null
open_room D
D provision add +4650000003 --sip sip:takeover@ims.d.example >/dev/null
D snapshot export >/dev/null
is "$(C --json serials | sed -n 's/.*"serial":\([0-9]*\).*/\1/p')" \
   "$(D --json serials | sed -n 's/.*"serial":\([0-9]*\).*/\1/p')" "both rooms' zone serials are equal"
close_room C
out=$(C sync --from "$tmp/D/snapshot" 2>&1); is $? 0 "same zone changed in both rooms: merged, exit 0" ||
	diag "$out"
like "$out" "6.4.e164.arpa +3 +3  diverged" "the zone's verdict is diverged (equal serials)"
like "$out" "outcome: diverged" "outcome diverged"
like "$out" "merged number by number: 1 versions taken" "D's one change taken by the merge"
C provision show +4650000002 >/dev/null; ok $? "C keeps its own unpushed change"
like "$(C provision show +4650000003 2>&1)" "ims.d.example" "D's change merged into C (not dropped)"
kept=$(ls -d "$tmp"/C/state/diverged/D-* 2>/dev/null | head -1)
like "$(sqlite3 "$kept/enumdr-snapshot.db" "SELECT e164 FROM number" 2>&1)" "\+4650000003" \
	"D's copy is kept aside too"
unlike "$(C alarms)" "id=SYNC_DIVERGED event=raise" "no SYNC_DIVERGED alarm for room C: merged"

# Status, human and JSON.
like "$(A status)" "room +A" "status names the room"
like "$(A --json status)" '"database_ok":true' "status --json"
# --json is built by jansson: text from the database, a file or a peer is
# escaped, and bytes that are not UTF-8 are replaced (a " , a tab, a
# control character and a 0xff byte in an alarm's URL figure).
json_get() {  # json_get EXPR < JSON: a strict parse, then EXPR of it (d)
	python3 -c 'import json, sys
d = json.loads(sys.stdin.buffer.read().decode("utf-8"))
print(eval(sys.argv[1]))' "$1"
}
if command -v python3 >/dev/null 2>&1; then
	A sync --from "$(printf 'http://127.0.0.1:1/q"t\tc\001x\377y')" 2>/dev/null
	is $? 69 "sync from an unfetchable URL: exit 69"
	like "$(A --json alarms | json_get '[a["line"] for a in d if a["id"] == "TRANSFER"][0]')" 'id=TRANSFER .*url="http://127.0.0.1:1/q\\"t\\x09c\\x01x\?y"' \
		"alarms --json: the alarm line with \", control characters and a non-UTF-8 byte is valid JSON"
	is "$(A --json status | json_get '"TRANSFER" in [a["id"] for a in d["alarms"]]')" "True" \
		"status --json with that alarm is valid JSON"
	is "$(A --json serials | json_get 'd["zones"][0]["prefix"]')" "+1" "serials --json: the prefix member"
	is "$(A --json status | json_get 'd["database"]')" "$tmp/A/enumdr.db" "status --json: the database member"
fi
done_testing
