#!/bin/sh
# http-hostile.sh — the two HTTP APIs of enumdrd against a hostile client
# (issue 12, defects 3 and 4), on loopback only: the real enumdrd, curl,
# and small python3 clients that send what curl will not.
#  - request targets that decode to a NUL byte, a control byte, a bad
#    %-escape, or carry a raw NUL or control byte: 400 with the JSON error
#    naming the problem, on the provisioning API and on the peer API; the
#    number stays, zone serial and journal position unchanged, nothing
#    arrives in incoming_dir;
#  - slowloris: ~100 connections to each port that send a partial request
#    and one header line every 2 s (and reconnect when dropped), from
#    other loopback addresses (127.0.0.2 ...): meanwhile the room's own
#    checker keeps exiting 0, a heartbeat from the local address gets 200,
#    a provisioning POST from loopback gets 201, the control socket
#    answers, a client over its per-address cap or over the connection
#    limit gets a 503 (JSON, Retry-After) instead of an empty reply, and
#    the slow connections are closed by the server at the header deadline
#    (10 s); the refusals are logged in rate-limited summary lines.
# Needs root (like every agent test), curl, sqlite3, python3.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/lib.sh"

need_root
need_cmd curl sqlite3 python3 ss
enumdr="$top_builddir/src/enumdr"
enumdrd="$top_builddir/plugin/enumdrd"
svc="$top_builddir/checkers/enumdr-check-service"
need_built "$enumdr" "$enumdrd" "$svc"

make_tmpdir T enumdr-http-hostile
pick_port prov_port
pick_port peer_port
zone=6.4.e164.arpa
num=+4681234590
prov=http://127.0.0.1:$prov_port
peer=http://127.0.0.1:$peer_port
mkdir -p "$T/A"
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
  control_socket: $T/A/control.sock
  snapshot_interval_s: 0
EOF
A() { "$enumdr" -c "$conf" "$@"; }
db() { sqlite3 -readonly "$T/A/db/enumdr.db" "$@"; }
state() {  # zone serial, journal position, the number's records
	db "SELECT (SELECT serial FROM zone WHERE origin = '$zone') || ' ' ||
	    (SELECT coalesce(max(seq), 0) FROM journal) || ' ' ||
	    coalesce((SELECT naptr FROM number WHERE e164 = '$num'), 'MISSING')"
}
naptr() {
	printf '[{"order":100,"preference":10,"flags":"u","service":"E2U+sip","regexp":"!^.*$!sip:%s@ims.example!","replacement":"."}]' "$1"
}
# req METHOD URL [BODY]: $code and $body (the request target as given)
req() {
	if [ $# -ge 3 ]; then
		code=$(curl -s -o "$T/body" -w '%{http_code}' --path-as-is \
		    -X "$1" -H 'Content-Type: application/json' \
		    --data-binary "$3" "$2")
	else
		code=$(curl -s -o "$T/body" -w '%{http_code}' --path-as-is \
		    -X "$1" "$2")
	fi
	body=$(cat "$T/body")
}
# The body in $T/body is a JSON object with a string "error".
json_error() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if isinstance(d, dict) and isinstance(d.get("error"), str) else 1)' \
	    "$T/body" 2>/dev/null
}

# raw.py PORT REQUEST: send REQUEST (Python escapes: \x00, \r, \n) as
# bytes, print the status code (000 for none); the body goes to $T/body.
cat >"$T/raw.py" <<'EOF'
import socket, sys
req = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(req)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError:
    pass
head, _, body = data.partition(b"\r\n\r\n")
open(sys.argv[3], "wb").write(body)
parts = head.split(b" ")
print(parts[1].decode() if len(parts) > 1 and head.startswith(b"HTTP/") else "000")
EOF
raw() { code=$(python3 "$T/raw.py" "$1" "$2" "$T/body"); body=$(cat "$T/body"); }

# slowloris.py PORT SECONDS SRC:N...: N connections from each SRC (in
# order), each sending a request line and a Host line, then one header
# line every 2 s, never the end of the headers; a connection the server
# closes is replaced 2 s later.  At the end one line per connection:
#   conn SRC OPENED HELD FATE   (FATE: the status line's code, "closed" for
#   an empty reply, "reset", or "open" when still held at the end)
cat >"$T/slowloris.py" <<'EOF'
import selectors, socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
plan = [(p.split(":")[0], int(p.split(":")[1])) for p in sys.argv[3:]]
sel = selectors.DefaultSelector()
t0 = time.monotonic()
now = lambda: time.monotonic() - t0
conns, reopen = [], []

def start(src):
    c = {"src": src, "opened": now(), "end": None, "data": b"", "fate": None}
    conns.append(c)
    s = socket.socket()
    try:
        s.bind((src, 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /v1/heartbeat HTTP/1.1\r\nHost: slow\r\n")
    except OSError as e:
        s.close()
        finish(c, None, "connect-error")
        return
    s.setblocking(False)
    c["sock"] = s
    sel.register(s, selectors.EVENT_READ, c)

def finish(c, s, fate):
    c["end"] = now()
    if fate is None:
        fate = "closed"
        if c["data"].startswith(b"HTTP/1.1 ") or c["data"].startswith(b"HTTP/1.0 "):
            fate = c["data"][9:12].decode()
    c["fate"] = fate
    if s is not None:
        sel.unregister(s)
        s.close()
    reopen.append((now() + 2, c["src"]))

for src, n in plan:
    for _ in range(n):
        start(src)
last_tick = now()
while now() < secs:
    for key, _ in sel.select(timeout=0.2):
        c, s = key.data, key.fileobj
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            finish(c, s, "reset" if not c["data"] else None)
            continue
        except BlockingIOError:
            continue
        if b:
            c["data"] += b
        else:
            finish(c, s, None)
    if now() - last_tick >= 2:
        last_tick = now()
        for key in list(sel.get_map().values()):
            try:
                key.fileobj.send(b"X-Slow: %d\r\n" % int(now()))
            except OSError:
                pass
    due = [r for r in reopen if r[0] <= now()]
    for r in due:
        reopen.remove(r)
        if now() < secs - 1:
            start(r[1])
for c in conns:
    if c["fate"] is None:
        c["fate"], c["end"] = "open", now()
    print("conn %s %.1f %.1f %s" % (c["src"], c["opened"], c["end"] - c["opened"], c["fate"]))
    sys.stdout.flush()
for fate in ("503", "408"):
    for c in conns:
        if c["fate"] == fate and b"\r\n\r\n" in c["data"]:
            print("sample %s %s" % (fate, c["data"].replace(b"\r\n", b"|").decode("latin-1")))
            break
EOF

A init --zone $zone:1000 >/dev/null
ok $? "room A: database and zone $zone (serial 1000)"
bg_start agent "$enumdrd" -d -c "$conf" 2>>"$T/agent.log"
wait_for 10 curl -sf "$peer/v1/heartbeat"; ok $? "the agent answers its heartbeat"
A agent open >/dev/null && A agent role MASTER >/dev/null
ok $? "listener open, role MASTER"
req POST "$prov/v1/numbers" "{\"e164\":\"$num\",\"naptr\":$(naptr orig)}"
is "$code" 201 "add $num: 201"
before=$(state)
like "$before" "^1001 1 .*sip:orig@ims.example" "serial 1001, journal 1, the number's records"

# --- defect 3: what a request target decodes to --------------------------------
req DELETE "$prov/v1/numbers/%2B4681234590%00garbage"
is "$code" 400 "DELETE .../%2B4681234590%00garbage: 400"
like "$body" '"error":"path: .*NUL' "... the error names the NUL byte"
like "$body" '"field":"path"' "... and the path as the field"
json_error; ok $? "... a JSON object with an \"error\" string"
is "$(state)" "$before" "... the number is still there, serial and journal unchanged"

req PUT "$prov/v1/numbers/%2B4681234590%00zzz" "{\"naptr\":$(naptr evil)}"
is "$code" 400 "PUT .../%2B4681234590%00zzz: 400"
like "$body" 'NUL' "... names the NUL byte"
json_error; ok $? "... JSON error"
is "$(state)" "$before" "... the records are not replaced"

req PUT "$prov/v1/numbers/%2B4681234590%0a" "{\"naptr\":$(naptr evil)}"
is "$code" 400 "PUT .../%2B4681234590%0a: 400"
like "$body" 'control byte 0x0a' "... names the control byte"
json_error; ok $? "... JSON error"

req PUT "$prov/v1/numbers/%2B46812345%zz90" "{\"naptr\":$(naptr evil)}"
is "$code" 400 "PUT with a bad escape %zz: 400"
like "$body" '\\"%zz\\".* not a percent-escape' "... names the bad escape"
json_error; ok $? "... JSON error"

req DELETE "$prov/v1/numbers/%2B4681234590?force=%00"
is "$code" 400 "DELETE with a query that decodes to NUL: 400"
like "$body" '"field":"force"' "... names the query parameter"
json_error; ok $? "... JSON error"
req DELETE "$prov/v1/numbers/%2B4681234590?force=1"
is "$code" 400 "DELETE with a query parameter the API does not take: 400"
like "$body" 'no query parameters' "... says the API takes none"
req DELETE "$prov/v1/numbers/+46812345x0"
is "$code" 400 "DELETE of a path segment that is no E.164 number: 400"
like "$body" '"field":"e164"' "... names e164"

raw "$prov_port" 'DELETE /v1/numbers/+4681234590\x00garbage HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
is "$code" 400 "DELETE with a raw NUL byte in the target: 400"
like "$body" 'NUL' "... names the NUL byte"
json_error; ok $? "... JSON error"
raw "$prov_port" 'DELETE /v1/numbers/+4681234590\x01 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
is "$code" 400 "DELETE with a raw control byte in the target: 400"
like "$body" 'raw byte 0x01' "... names the byte"
is "$(state)" "$before" "after every bad target: the number, serial and journal unchanged"

req GET "$peer/v1/snapshot/enumdr-snapshot.db%00x"
is "$code" 400 "peer API: /v1/snapshot/enumdr-snapshot.db%00x: 400"
like "$body" '"error":"path: .*NUL' "... names the NUL byte"
json_error; ok $? "... JSON error"
req GET "$peer/v1/journal?after=1%00"
is "$code" 400 "peer API: /v1/journal?after=1%00: 400"
like "$body" '"field":"after"' "... names the parameter after"
json_error; ok $? "... JSON error"
req GET "$peer/v1/journal?after=0&colour=red"
is "$code" 400 "peer API: an unknown query parameter: 400"
like "$body" 'colour' "... named"
req GET "$peer/v1/journal?after"
is "$code" 400 "peer API: a query parameter without a value: 400"
printf 'x\n' >"$T/small"
code=$(curl -s -o "$T/body" -w '%{http_code}' -T "$T/small" "$peer/v1/incoming/enumdr-serials%00x")
is "$code" 400 "peer API: upload to enumdr-serials%00x: 400"
test -z "$(ls -A "$T/A/incoming" 2>/dev/null)"; ok $? "... nothing arrived in incoming_dir"
raw "$peer_port" 'GET /v1/heartbeat\x00x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
is "$code" 400 "peer API: a raw NUL byte in the target: 400"
json_error; ok $? "... JSON error"
req GET "$peer/v1/journal?after=0&limit=5"
is "$code" 200 "peer API: a good journal request still answers 200"
req GET "$peer/v1/heartbeat"
is "$code" 200 "peer API: the heartbeat still answers 200"

# --- defect 4: slow clients ------------------------------------------------------
# From 127.0.0.2: 12 connections (the per-address cap is 8); from
# 127.0.0.3 ... 127.0.0.22: 5 each, 100 in all, to each port.
plan="127.0.0.2:12"
i=3
while [ $i -le 22 ]; do plan="$plan 127.0.0.$i:5"; i=$((i + 1)); done
attack=19
t_attack=$(now_ms)
# shellcheck disable=SC2086
bg_start slow_peer python3 "$T/slowloris.py" "$peer_port" $attack $plan >"$T/slow-peer.out"
# shellcheck disable=SC2086
bg_start slow_prov python3 "$T/slowloris.py" "$prov_port" $attack $plan >"$T/slow-prov.out"
sleep 2
nheld=$(ss -Htn state established "sport = :$peer_port" | wc -l)
ok $([ "$nheld" -ge 28 ]; echo $?) "peer port: the slow clients hold their connections ($nheld)"

fails=0 runs=0
check_room() {  # the room's own checker, as keepalived runs it
	runs=$((runs + 1))
	if ! "$svc" -c "$conf" 2>>"$T/checker.err"; then
		fails=$((fails + 1))
	fi
}
check_room
code=$(curl -s -o "$T/body" -w '%{http_code}' -m 3 "$peer/v1/heartbeat")
is "$code" 200 "during the attack: the heartbeat from the local address: 200"
like "$(cat "$T/body")" '"room":"A"' "... a heartbeat"
code=$(curl -s -D "$T/headers" -o "$T/body" -w '%{http_code}' -m 3 --interface 127.0.0.2 "$peer/v1/heartbeat")
is "$code" 503 "during the attack: a client over its per-address cap gets 503"
json_error; ok $? "... with a JSON error"
like "$(cat "$T/body")" 'from one address' "... naming the per-address cap"
like "$(cat "$T/headers")" 'Retry-After: [0-9]+' "... and Retry-After"
like "$(cat "$T/headers")" '[Cc]onnection: close' "... and Connection: close"
check_room
code=$(curl -s -o "$T/body" -w '%{http_code}' -m 3 --interface 127.0.0.99 "$peer/v1/heartbeat")
is "$code" 503 "during the attack: another host over the connection limit gets 503"
json_error; ok $? "... with a JSON error"
like "$(cat "$T/body")" 'connection limit' "... naming the connection limit"
code=$(curl -s -o "$T/body" -w '%{http_code}' -m 3 --interface 127.0.0.99 "$prov/v1/numbers/+46701")
is "$code" 503 "during the attack: the provisioning port refuses another host with 503"
json_error; ok $? "... with a JSON error"
check_room
req POST "$prov/v1/numbers" "{\"e164\":\"+4681234591\",\"naptr\":$(naptr during)}"
is "$code" 201 "during the attack: a provisioning POST from loopback: 201"
out=$(A agent status 2>&1); ok $? "during the attack: the control socket answers (enumdr agent status)"
like "$out" "listener   open" "... the listener is open"
# Keep checking until the attack ends; the first slow connections are
# closed at 10 s and their replacements come in.
while [ $(($(now_ms) - t_attack)) -lt $(((attack - 1) * 1000)) ]; do
	check_room
	sleep 0.5
done
is "$fails/$runs" "0/$runs" "enumdr-check-service exited 0 every time it ran during the attack"
[ "$fails" -eq 0 ] || diag_file "$T/checker.err" 5
wait "$slow_peer"
wait "$slow_prov"

# What the slow clients saw.  A connection the server closes at the header
# deadline is answered 408 after about 10 s; refused ones get 503 at once;
# nothing is held past the deadline, nothing gets an empty reply.
report() {  # report FILE: cut refused other long
	awk '
	$1 == "conn" {
		if (($5 == "408" || $5 == "closed" || $5 == "reset") && $4 >= 9.5 && $4 <= 12.5) cut++
		else if ($5 == "503" && $4 <= 2) refused++
		else if ($5 == "open" && $4 <= 12.5) young++
		else other++
		if ($5 == "open" && $4 > 12.5) long++
	}
	END { printf "%d %d %d %d\n", cut, refused, other, long }' "$1"
}
for port in peer prov; do
	set -- $(report "$T/slow-$port.out")
	case $port in peer) cap=28 ;; prov) cap=60 ;; esac
	ok $([ "$1" -ge "$cap" ]; echo $?) "$port port: at least $cap slow connections closed by the server at the header deadline ($1)"
	ok $([ "$2" -ge 30 ]; echo $?) "$port port: the slow connections over the limits were refused with 503 at once ($2)"
	is "$3" 0 "$port port: no slow connection got an empty reply or was held otherwise"
	is "$4" 0 "$port port: no slow connection was held past the header deadline"
	if [ "$3" -ne 0 ] || [ "$4" -ne 0 ]; then
		awk '$1 == "conn" && !(($5 == "408" || $5 == "closed") && $4 >= 9.5 && $4 <= 12.5) && !($5 == "503" && $4 <= 2) && !($5 == "open" && $4 <= 12.5)' \
		    "$T/slow-$port.out" | head -5 | sed 's/^/#   /'
	fi
done
sample=$(grep '^sample 503' "$T/slow-peer.out")
like "$sample" 'HTTP/1.1 503 .*Retry-After: [0-9]+.*\|\|\{"error":"' "a refused slow client got a full 503 with a JSON error"
sample=$(grep '^sample 408' "$T/slow-peer.out")
like "$sample" 'HTTP/1.1 408 .*\|\|\{"error":"' "a slow client cut at the deadline got a 408 with a JSON error"

# The agent said so, a few summary lines per listener rather than one per
# connection.
like "$(cat "$T/agent.log")" 'peer API: .*over the per-address limit' "the log names the per-address refusals"
like "$(cat "$T/agent.log")" 'provisioning listener: .*headers not complete within 10 s' "the log names the header deadline"
nlines=$(grep -c 'peer API: .*in the last' "$T/agent.log")
ok $([ "$nlines" -ge 1 ] && [ "$nlines" -le 5 ]; echo $?) "the peer API's log is rate-limited: $nlines summary lines for the whole attack"

wait_for 5 curl -sf -o /dev/null -m 3 --interface 127.0.0.2 "$peer/v1/heartbeat"
ok $? "after the attack: the attacker's address is served again"
is "$(db "SELECT count(*) FROM number")" 2 "the database holds the two acknowledged numbers"
kill -TERM "$agent"
wait "$agent"; is $? 0 "SIGTERM: the agent exits 0"

# --- body deadline and transfer rate: the agent again, with short limits ------
# trickle.py PORT RATE SECONDS HEAD: send HEAD (Python escapes), then a
# body of 'x' at RATE bytes/s for at most SECONDS; print "status CODE T"
# when an answer came, "closed T" when the server closed without one.
cat >"$T/trickle.py" <<'EOF'
import select, socket, sys, time
port, rate, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
head = sys.argv[4].encode().decode("unicode_escape").encode("latin-1")
length = int(head.split(b"Content-Length: ")[1].split(b"\r")[0])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
t0 = time.monotonic()
s.sendall(head)
sent, data = 0, b""
while time.monotonic() - t0 < secs:
    r, _, _ = select.select([s], [], [], 0.25)
    if r:
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        if not b:
            break
        data += b
        if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.1 100"):
            break
        continue
    n = min(rate // 4, length - sent)
    if n > 0:
        try:
            s.sendall(b"x" * n)
        except OSError:
            break
        sent += n
t = time.monotonic() - t0
if data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 100"):
    print("status %s %.1f" % (data[9:12].decode(), t))
else:
    print("closed %.1f" % t)
EOF
conf2=$T/A/enumdr-short.yaml
cat "$conf" - >"$conf2" <<EOF
  body_timeout_s: 2
  transfer_min_bytes_per_s: 2000
EOF
bg_start agent "$enumdrd" -d -c "$conf2" 2>>"$T/agent2.log"
wait_for 10 curl -sf "$peer/v1/heartbeat"
ok $? "the agent again, with body_timeout_s 2 and transfer_min_bytes_per_s 2000"
A agent open >/dev/null
python3 "$T/trickle.py" "$prov_port" 10 8 'POST /v1/numbers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n' >"$T/trickle-prov" &
p1=$!
python3 "$T/trickle.py" "$peer_port" 500 16 'PUT /v1/incoming/enumdr-snapshot.db HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n' >"$T/trickle-slow" &
p2=$!
python3 "$T/trickle.py" "$peer_port" 5000 16 'PUT /v1/incoming/enumdr-serials HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n' >"$T/trickle-fast" &
p3=$!
on_exit "kill $p1 $p2 $p3"
wait $p1 $p2 $p3
out=$(cat "$T/trickle-prov")
like "$out" '^closed ([2-4]\.|1\.[5-9])' "a provisioning body that does not arrive within 2 s: closed at about 2 s ($out)"
out=$(cat "$T/trickle-slow")
like "$out" '^closed (9\.|1[0-2]\.)' "a snapshot upload at 500 bytes/s: closed after the first 10 s window ($out)"
test -z "$(ls "$T/A/incoming" | grep 'enumdr-snapshot')"
ok $? "... and no part of it is left in incoming_dir"
out=$(cat "$T/trickle-fast")
like "$out" '^status 201 1[1-4]\.' "an upload at 5000 bytes/s that takes 12 s completes: 201 ($out)"
is "$(wc -c <"$T/A/incoming/enumdr-serials" 2>/dev/null)" 60000 "... the whole file arrived"
like "$(cat "$T/agent2.log")" 'peer API: .*transfer slower than 2000 bytes/s' "the log names the slow transfer"
like "$(cat "$T/agent2.log")" 'provisioning listener: .*body and answer not complete within 2 s' "the log names the body deadline"
kill -TERM "$agent"
wait "$agent"; is $? 0 "SIGTERM: the agent exits 0"
# Under the sanitizer build (--enable-sanitizers) a report lands there.
if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' \
    "$T/agent.log" "$T/agent2.log" "$T/checker.err"; then
	diag_file "$T/agent.log" 40
	diag_file "$T/agent2.log" 40
	ok 1 "no sanitizer report from enumdrd or the checker"
else
	ok 0 "no sanitizer report from enumdrd or the checker"
fi
done_testing
